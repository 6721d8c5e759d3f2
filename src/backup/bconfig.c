/* `remotes` and `backup_jobs` from the configuration file, every key checked. */
#include "bconfig.h"

#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cfgread.h"
#include "config.h"
#include "schedule.h"
#include "util.h"

static const char *const remote_keys[] = {"name", "url", "user", "password_file", "password_env", "password_command",
					  "endpoint", "region", "path_style", NULL};
static const char *const job_keys[] = {"name", "id", "server", "mode", "remotes", "vms", "tags", "exclude_tags",
				       "power_state", "pools", "schedule", "retention", "full_interval",
				       "compression", "concurrency", "offline", "timeout", NULL};
static const char *const schemes[] = {"file://", "nfs://", "smb://", "s3://", "s3+http://", NULL};
static const char *const power_states[] = {"Running", "Halted", "Suspended", "Paused", NULL};
static const char *const mode_names[] = {"snapshot", "full", "delta", "metadata"};

const char *bmode_name(enum bmode m)
{
	return (unsigned)m < 4 ? mode_names[m] : "?";
}

/* A duration: seconds as a number, or "90s", "30m", "2h", "1d". */
static bool get_duration(const config_setting_t *g, const char *key, int *out, const char *path, char **err)
{
	config_setting_t *s = config_setting_get_member(g, key);
	const char *t;
	char *end;
	long v;

	if (!s)
		return true;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return cfg_int(g, key, 0, out, path, err);
	t = config_setting_get_string(s);
	v = strtol(t, &end, 10);
	if (end == t || v < 0 || (*end && end[1]) || !strchr("smhd", *end ? *end : 's'))
		return cfg_fail(err, path, s, "'%s' must be seconds, or a number with s, m, h or d (\"2h\")", key);
	*out = (int)(v * (*end == 'm' ? 60 : *end == 'h' ? 3600 : *end == 'd' ? 86400 : 1));
	return true;
}

/* ["a", "b"], ("a", "b") or "a". */
static bool get_strs(const config_setting_t *g, const char *key, char ***out, size_t *n, const char *path,
		     char **err)
{
	config_setting_t *s = config_setting_get_member(g, key);
	int len;

	if (!s)
		return true;
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		*out = xcalloc(1, sizeof(char *));
		(*out)[0] = xstrdup(config_setting_get_string(s));
		*n = 1;
		return true;
	}
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST)
		return cfg_fail(err, path, s, "'%s' must be a list of strings: %s = [\"a\", \"b\"]", key, key);
	len = config_setting_length(s);
	*out = xcalloc((size_t)len + 1, sizeof(char *));
	for (int i = 0; i < len; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return cfg_fail(err, path, e, "'%s' must be a list of strings in double quotes", key);
		(*out)[(*n)++] = xstrdup(config_setting_get_string(e));
	}
	return true;
}

static void free_strs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* XO's jobs have a UUID: one derived from the name keeps a job's chains
 * (vdis/<job id>/...) the same from run to run. */
static char *uuid_from_name(const char *name)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char *s;

	EVP_Digest(name, strlen(name), md, &mdlen, EVP_sha256(), NULL);
	md[6] = (unsigned char)((md[6] & 0x0f) | 0x40);
	md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
	s = xasprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", md[0], md[1], md[2],
		      md[3], md[4], md[5], md[6], md[7], md[8], md[9], md[10], md[11], md[12], md[13], md[14], md[15]);
	return s;
}

static bool read_remote(const config_setting_t *g, struct remote_cfg *r, const char *path, char **err)
{
	bool ok = false;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return cfg_fail(err, path, g, "a remote is a group in braces: { name = \"nas\"; url = \"file:///srv/backups\"; }");
	if (!cfg_check_keys(g, remote_keys, "remote", path, err) || !cfg_string(g, "name", &r->name, path, err) ||
	    !cfg_string(g, "url", &r->url, path, err) || !cfg_string(g, "user", &r->user, path, err) ||
	    !cfg_string(g, "password_file", &r->password_file, path, err) ||
	    !cfg_string(g, "password_env", &r->password_env, path, err) ||
	    !cfg_string(g, "password_command", &r->password_command, path, err) ||
	    !cfg_string(g, "endpoint", &r->endpoint, path, err) || !cfg_string(g, "region", &r->region, path, err))
		return false;
	if (!r->name || !*r->name)
		return cfg_fail(err, path, g, "this remote has no name");
	if (!r->url)
		return cfg_fail(err, path, g, "the remote '%s' has no url", r->name);
	for (const char *const *s = schemes; *s; s++)
		if (strncasecmp(r->url, *s, strlen(*s)) == 0)
			ok = true;
	if (!ok)
		return cfg_fail(err, path, config_setting_get_member(g, "url"),
			       "the remote '%s': '%s' is not a file://, nfs://, smb://, s3:// or s3+http:// URL", r->name,
			       r->url);
	if (!!r->password_file + !!r->password_env + !!r->password_command > 1)
		return cfg_fail(err, path, g, "the remote '%s': give one of password_file, password_env, password_command",
			       r->name);
	r->path_style = r->endpoint != NULL; /* a custom endpoint (MinIO, s3rver) wants it */
	return cfg_bool(g, "path_style", &r->path_style, path, err);
}

static void remote_free(struct remote_cfg *r)
{
	free(r->name);
	free(r->url);
	free(r->user);
	free(r->password_file);
	free(r->password_env);
	free(r->password_command);
	free(r->endpoint);
	free(r->region);
}

static bool read_job(const config_setting_t *g, struct job_cfg *j, const struct backup_cfg *c,
		     const config_setting_t *servers, const char *path, char **err)
{
	char *mode = NULL;
	config_setting_t *s;
	bool ok;

	j->retention = 7;
	j->concurrency = 2;
	j->compression = xstrdup("zstd");
	j->line = config_setting_source_line(g);
	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return cfg_fail(err, path, g, "a backup job is a group in braces: { name = \"nightly\"; mode = \"full\"; ... }");
	if (!cfg_check_keys(g, job_keys, "backup job", path, err) || !cfg_string(g, "name", &j->name, path, err) ||
	    !cfg_string(g, "id", &j->id, path, err) || !cfg_string(g, "server", &j->server, path, err) ||
	    !cfg_string(g, "mode", &mode, path, err) || !get_strs(g, "remotes", &j->remotes, &j->nremotes, path, err) ||
	    !get_strs(g, "vms", &j->vms, &j->nvms, path, err) || !get_strs(g, "tags", &j->tags, &j->ntags, path, err) ||
	    !get_strs(g, "exclude_tags", &j->exclude_tags, &j->nexclude_tags, path, err) ||
	    !cfg_string(g, "power_state", &j->power_state, path, err) ||
	    !get_strs(g, "pools", &j->pools, &j->npools, path, err) || !cfg_string(g, "schedule", &j->schedule, path, err) ||
	    !cfg_int(g, "retention", 1, &j->retention, path, err) ||
	    !cfg_int(g, "full_interval", 0, &j->full_interval, path, err) ||
	    !cfg_string(g, "compression", &j->compression, path, err) ||
	    !cfg_int(g, "concurrency", 1, &j->concurrency, path, err) || !cfg_bool(g, "offline", &j->offline, path, err) ||
	    !get_duration(g, "timeout", &j->timeout_s, path, err)) {
		free(mode);
		return false;
	}
	if (!j->name || !*j->name) {
		free(mode);
		return cfg_fail(err, path, g, "this backup job has no name");
	}
	if (strchr(j->name, '/')) {
		free(mode);
		return cfg_fail(err, path, g, "the backup job '%s': a name cannot hold '/'", j->name);
	}
	ok = false;
	for (int m = 0; mode && m < 4; m++)
		if (strcmp(mode, mode_names[m]) == 0) {
			j->mode = (enum bmode)m;
			ok = true;
		}
	if (!ok) {
		s = config_setting_get_member(g, "mode");
		ok = cfg_fail(err, path, s ? s : g, "the backup job '%s': mode must be snapshot, full, delta or metadata%s%s%s",
			     j->name, mode ? " (not '" : "", mode ? mode : "", mode ? "')" : "");
		free(mode);
		return ok;
	}
	free(mode);
	if (!j->id)
		j->id = uuid_from_name(j->name);
	/* the server: a `servers` entry; the only one when not said */
	if (!j->server) {
		if (!servers || config_setting_length(servers) != 1)
			return cfg_fail(err, path, g, "the backup job '%s' needs server = \"<a servers entry>\"", j->name);
		if (config_setting_lookup_string(config_setting_get_elem(servers, 0), "name", (const char **)&mode))
			j->server = xstrdup(mode);
	} else {
		bool found = false;
		for (int i = 0; servers && i < config_setting_length(servers); i++) {
			const char *n = NULL;
			if (config_setting_lookup_string(config_setting_get_elem(servers, (unsigned)i), "name", &n) && n &&
			    strcmp(n, j->server) == 0)
				found = true;
		}
		if (!found)
			return cfg_fail(err, path, config_setting_get_member(g, "server"),
				       "the backup job '%s': no server named '%s' in servers", j->name, j->server);
	}
	if (!j->server)
		return cfg_fail(err, path, g, "the backup job '%s' needs server = \"<a servers entry>\"", j->name);
	s = config_setting_get_member(g, "remotes");
	if (j->mode != BMODE_SNAPSHOT && !j->nremotes)
		return cfg_fail(err, path, s ? s : g, "the backup job '%s' (%s) needs remotes = [\"<a remotes entry>\"]",
			       j->name, bmode_name(j->mode));
	for (size_t i = 0; i < j->nremotes; i++)
		if (!backup_cfg_remote(c, j->remotes[i]))
			return cfg_fail(err, path, s, "the backup job '%s': no remote named '%s' in remotes", j->name,
				       j->remotes[i]);
	if (j->schedule) {
		struct cron cr;
		char *why = NULL;
		if (!cron_parse(j->schedule, &cr, &why)) {
			ok = cfg_fail(err, path, config_setting_get_member(g, "schedule"), "the backup job '%s': %s", j->name, why);
			free(why);
			return ok;
		}
	}
	if (strcmp(j->compression, "zstd") != 0 && strcmp(j->compression, "gzip") != 0 &&
	    strcmp(j->compression, "none") != 0)
		return cfg_fail(err, path, config_setting_get_member(g, "compression"),
			       "the backup job '%s': compression must be zstd, gzip or none", j->name);
	if (j->power_state) {
		bool known = false;
		for (const char *const *p = power_states; *p; p++)
			if (strcasecmp(*p, j->power_state) == 0) {
				free(j->power_state);
				j->power_state = xstrdup(*p);
				known = true;
				break;
			}
		if (!known)
			return cfg_fail(err, path, config_setting_get_member(g, "power_state"),
				       "the backup job '%s': power_state must be Running, Halted, Suspended or Paused",
				       j->name);
	}
	if (j->nvms && (j->ntags || j->nexclude_tags || j->power_state || j->npools))
		return cfg_fail(err, path, config_setting_get_member(g, "vms"),
			       "the backup job '%s': give either vms, or tags/exclude_tags/power_state/pools, not both",
			       j->name);
	return true;
}

static void job_free(struct job_cfg *j)
{
	free(j->name);
	free(j->id);
	free(j->server);
	free_strs(j->remotes, j->nremotes);
	free_strs(j->vms, j->nvms);
	free_strs(j->tags, j->ntags);
	free_strs(j->exclude_tags, j->nexclude_tags);
	free(j->power_state);
	free_strs(j->pools, j->npools);
	free(j->schedule);
	free(j->compression);
}

static bool is_list(const config_setting_t *s)
{
	return config_setting_type(s) == CONFIG_TYPE_LIST || config_setting_type(s) == CONFIG_TYPE_ARRAY;
}

bool backup_cfg_load(const char *path, struct backup_cfg *out, char **err)
{
	config_t cfg;
	config_setting_t *s, *servers;
	bool ok = true;

	memset(out, 0, sizeof(*out));
	*err = NULL;
	out->path = path ? xstrdup(path) : config_default_path("config");
	if (!path && access(out->path, F_OK) != 0)
		return true; /* no file: no jobs */
	config_init(&cfg);
	if (config_read_file(&cfg, out->path) != CONFIG_TRUE) {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
			*err = xasprintf("%s: cannot read it: %s", out->path, strerror(errno));
		else
			*err = xasprintf("%s:%d: %s", out->path, config_error_line(&cfg), config_error_text(&cfg));
		config_destroy(&cfg);
		backup_cfg_free(out);
		return false;
	}
	servers = config_lookup(&cfg, "servers");
	if (servers && !is_list(servers))
		servers = NULL; /* config.c says what is wrong with it */
	if ((s = config_lookup(&cfg, "remotes"))) {
		if (!is_list(s)) {
			ok = cfg_fail(err, out->path, s, "remotes must be a list: remotes = ( { name = ...; url = ...; } );");
		} else {
			out->remotes = xcalloc((size_t)config_setting_length(s) + 1, sizeof(*out->remotes));
			for (int i = 0; ok && i < config_setting_length(s); i++) {
				config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
				struct remote_cfg *r = &out->remotes[out->nremotes++];
				ok = read_remote(g, r, out->path, err);
				for (size_t k = 0; ok && k + 1 < out->nremotes; k++)
					if (strcmp(out->remotes[k].name, r->name) == 0)
						ok = cfg_fail(err, out->path, g, "two remotes are named '%s'", r->name);
			}
		}
	}
	if (ok && (s = config_lookup(&cfg, "backup_jobs"))) {
		if (!is_list(s)) {
			ok = cfg_fail(err, out->path, s, "backup_jobs must be a list: backup_jobs = ( { name = ...; } );");
		} else {
			out->jobs = xcalloc((size_t)config_setting_length(s) + 1, sizeof(*out->jobs));
			for (int i = 0; ok && i < config_setting_length(s); i++) {
				config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
				struct job_cfg *j = &out->jobs[out->njobs++];
				ok = read_job(g, j, out, servers, out->path, err);
				for (size_t k = 0; ok && k + 1 < out->njobs; k++) {
					if (strcmp(out->jobs[k].name, j->name) == 0)
						ok = cfg_fail(err, out->path, g, "two backup jobs are named '%s'", j->name);
					else if (strcmp(out->jobs[k].id, j->id) == 0)
						ok = cfg_fail(err, out->path, g, "two backup jobs have the id '%s'", j->id);
				}
			}
		}
	}
	config_destroy(&cfg);
	if (!ok) {
		backup_cfg_free(out);
		return false;
	}
	return true;
}

void backup_cfg_free(struct backup_cfg *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nremotes; i++)
		remote_free(&c->remotes[i]);
	for (size_t i = 0; i < c->njobs; i++)
		job_free(&c->jobs[i]);
	free(c->remotes);
	free(c->jobs);
	free(c->path);
	memset(c, 0, sizeof(*c));
}

const struct remote_cfg *backup_cfg_remote(const struct backup_cfg *c, const char *name)
{
	for (size_t i = 0; i < c->nremotes; i++)
		if (strcmp(c->remotes[i].name, name) == 0)
			return &c->remotes[i];
	return NULL;
}

const struct job_cfg *backup_cfg_job(const struct backup_cfg *c, const char *name)
{
	for (size_t i = 0; i < c->njobs; i++)
		if (strcmp(c->jobs[i].name, name) == 0)
			return &c->jobs[i];
	return NULL;
}
