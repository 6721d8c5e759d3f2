/* A backup job's `health_check` group, read with the rest of the job
 * (bconfig.c); apart from the check itself so the configuration loader
 * links without the engine. */
#include <stdlib.h>

#include "cfgread.h"
#include "healthcheck.h"
#include "util.h"

static const char *const hc_keys[] = {"sr", "tags", "timeout", NULL};

static bool read_tags(const config_setting_t *g, struct job_cfg *j, const char *path, char **err)
{
	config_setting_t *s = config_setting_get_member(g, "tags");
	int len;

	if (!s)
		return true;
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		j->hc_tags = xcalloc(1, sizeof(char *));
		j->hc_tags[j->nhc_tags++] = xstrdup(config_setting_get_string(s));
		return true;
	}
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST)
		return cfg_fail(err, path, s, "health_check's tags must be a list of strings: tags = [\"a\", \"b\"]");
	len = config_setting_length(s);
	j->hc_tags = xcalloc((size_t)len + 1, sizeof(char *));
	for (int i = 0; i < len; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return cfg_fail(err, path, e, "health_check's tags must be strings in double quotes");
		j->hc_tags[j->nhc_tags++] = xstrdup(config_setting_get_string(e));
	}
	return true;
}

bool healthcheck_cfg_read(const config_setting_t *job, struct job_cfg *j, const char *path, char **err)
{
	config_setting_t *g = config_setting_get_member(job, "health_check");

	j->hc_timeout_s = HEALTHCHECK_TIMEOUT_S;
	if (!g)
		return true;
	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return cfg_fail(err, path, g, "health_check is a group in braces: health_check = { sr = \"Local storage\"; };");
	if (!cfg_check_keys(g, hc_keys, "health_check", path, err) || !cfg_string(g, "sr", &j->hc_sr, path, err) ||
	    !cfg_int(g, "timeout", 1, &j->hc_timeout_s, path, err) || !read_tags(g, j, path, err))
		return false;
	if (!j->hc_sr || !*j->hc_sr)
		return cfg_fail(err, path, g,
			       "the backup job '%s': health_check needs sr = \"<an SR's name or UUID>\", where it restores the VM",
			       j->name);
	if (j->mode != BMODE_FULL && j->mode != BMODE_DELTA && j->mode != BMODE_DR && j->mode != BMODE_CR)
		return cfg_fail(err, path, g,
			       "the backup job '%s': a health check boots the new point or replica, so it needs a full, "
			       "delta, dr or cr job",
			       j->name);
	return true;
}

void healthcheck_cfg_free(struct job_cfg *j)
{
	free(j->hc_sr);
	for (size_t i = 0; i < j->nhc_tags; i++)
		free(j->hc_tags[i]);
	free(j->hc_tags);
}
