/* Reading settings out of a libconfig tree with a person's mistakes named:
 * each failure is "FILE:LINE: what is wrong", the line of the setting. The
 * main configuration and the backup part read through the same helpers. */
#ifndef XENTUI_CFGREAD_H
#define XENTUI_CFGREAD_H

#include <libconfig.h>
#include <stdbool.h>

bool cfg_in_list(const char *const *list, const char *s);
/* Sets *err to "path:line: <fmt...>" for setting s; returns false. */
bool cfg_fail(char **err, const char *path, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Every member of group g is one of keys, else "unknown <what> setting". */
bool cfg_check_keys(const config_setting_t *g, const char *const *keys, const char *what, const char *path,
		    char **err);
/* g's member key, when present, into *out (a string replaces the old one);
 * absent is fine; a wrong type is an error naming the line. */
bool cfg_string(const config_setting_t *g, const char *key, char **out, const char *path, char **err);
bool cfg_bool(const config_setting_t *g, const char *key, bool *out, const char *path, char **err);
/* A whole number from min to 1e9. */
bool cfg_int(const config_setting_t *g, const char *key, int min, int *out, const char *path, char **err);

#endif
