#include "cfgread.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

bool cfg_in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

bool cfg_fail(char **err, const char *path, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;
	char *why;

	va_start(ap, fmt);
	why = xvasprintf(fmt, ap);
	va_end(ap);
	*err = xasprintf("%s:%d: %s", path, config_setting_source_line(s), why);
	free(why);
	return false;
}

bool cfg_check_keys(const config_setting_t *g, const char *const *keys, const char *what, const char *path,
		    char **err)
{
	for (int i = 0; i < config_setting_length(g); i++) {
		config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		if (!cfg_in_list(keys, config_setting_name(m)))
			return cfg_fail(err, path, m, "unknown %s setting '%s'", what, config_setting_name(m));
	}
	return true;
}

bool cfg_string(const config_setting_t *g, const char *key, char **out, const char *path, char **err)
{
	config_setting_t *s = config_setting_get_member(g, key);

	if (!s)
		return true;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return cfg_fail(err, path, s, "'%s' must be a string in double quotes", key);
	free(*out);
	*out = xstrdup(config_setting_get_string(s));
	return true;
}

bool cfg_bool(const config_setting_t *g, const char *key, bool *out, const char *path, char **err)
{
	config_setting_t *s = config_setting_get_member(g, key);

	if (!s)
		return true;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return cfg_fail(err, path, s, "'%s' must be true or false", key);
	*out = config_setting_get_bool(s);
	return true;
}

bool cfg_int(const config_setting_t *g, const char *key, int min, int *out, const char *path, char **err)
{
	config_setting_t *s = config_setting_get_member(g, key);
	long long v;

	if (!s)
		return true;
	if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64)
		return cfg_fail(err, path, s, "'%s' must be a whole number", key);
	v = config_setting_get_int64(s);
	if (v < min || v > 1000000000)
		return cfg_fail(err, path, s, "'%s' must be at least %d", key, min);
	*out = (int)v;
	return true;
}
