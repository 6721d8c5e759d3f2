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
#include "healthcheck.h"
#include "schedule.h"
#include "util.h"

static const char *const remote_keys[] = {"name", "url", "user", "password_file", "password_env", "password_command",
					  "endpoint", "region", "path_style", NULL};
static const char *const job_keys[] = {"name", "id", "server", "mode", "remotes", "vms", "tags", "exclude_tags",
				       "power_state", "pools", "schedule", "retention", "full_interval",
				       "compression", "concurrency", "offline", "timeout", "target_server", "target_sr", "source_remote", "report", "ltr", "health_check",
				       "nbd", "purge_snapshot_data", NULL};
static const char *const schemes[] = {"file://", "nfs://", "smb://", "s3://", "s3+http://", NULL};
static const char *const power_states[] = {"Running", "Halted", "Suspended", "Paused", NULL};
static const char *const mode_names[] = {"snapshot", "full", "delta", "metadata", "dr", "cr", "mirror"};
#define NMODES (int)(ARRAY_LEN(mode_names))

const char *bmode_name(enum bmode m)
{
	return (int)m >= 0 && (int)m < NMODES ? mode_names[m] : "?";
}

/* A duration: seconds as a number, or "90s", "30m", "2h", "1d". */
static bool get_duration(const config_setting_t *g, const char *key, int *out, const char *path, char **err)
{
	config_setting_t *s = config_setting_get_member(g, key);
	const char *t;
	char *end;
	long v, unit;

	if (!s)
		return true;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return cfg_int(g, key, 0, out, path, err);
	t = config_setting_get_string(s);
	errno = 0;
	v = strtol(t, &end, 10);
	if (end == t || v < 0 || (*end && end[1]) || !strchr("smhd", *end ? *end : 's'))
		return cfg_fail(err, path, s, "'%s' must be seconds, or a number with s, m, h or d (\"2h\")", key);
	unit = *end == 'm' ? 60 : *end == 'h' ? 3600 : *end == 'd' ? 86400 : 1;
	/* at most about 31 years, the same bound as a plain number's */
	if (errno == ERANGE || v > 1000000000L / unit)
		return cfg_fail(err, path, s, "'%s' is too long (at most 1000000000 seconds)", key);
	*out = (int)(v * unit);
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

/* dr/cr: target_sr is needed; target_server, when given, is a `servers` entry. */
static bool read_replication(const config_setting_t *g, const struct job_cfg *j, const config_setting_t *servers,
			     const char *path, char **err)
{
	bool found = false;

	if (!j->target_sr || !*j->target_sr)
		return cfg_fail(err, path, g, "the backup job '%s' (%s) needs target_sr = \"<an SR's name or uuid>\"",
				j->name, bmode_name(j->mode));
	if (!j->target_server)
		return true;
	for (int i = 0; servers && i < config_setting_length(servers); i++) {
		const char *n = NULL;
		if (config_setting_lookup_string(config_setting_get_elem(servers, (unsigned)i), "name", &n) && n &&
		    strcmp(n, j->target_server) == 0)
			found = true;
	}
	if (!found)
		return cfg_fail(err, path, config_setting_get_member(g, "target_server"),
				"the backup job '%s': no server named '%s' in servers", j->name, j->target_server);
	return true;
}

static const char *const smtp_keys[] = {"url", "user", "password_file", "password_env", "password_command",
					"from", "to", "ca_file", "security", NULL};
static const char *const ltr_keys[] = {"daily", "weekly", "monthly", "yearly", NULL};

/* The job's `report` and `ltr`; reports need an `smtp` group. */
static bool read_report_ltr(const config_setting_t *g, struct job_cfg *j, const struct backup_cfg *c,
			    const char *path, char **err)
{
	config_setting_t *s = config_setting_get_member(g, "report"), *l = config_setting_get_member(g, "ltr");
	const char *v;

	j->report = c->smtp ? BREPORT_FAILURE : BREPORT_NEVER;
	if (s) {
		v = config_setting_type(s) == CONFIG_TYPE_STRING ? config_setting_get_string(s) : "";
		if (strcmp(v, "always") == 0)
			j->report = BREPORT_ALWAYS;
		else if (strcmp(v, "failure") == 0)
			j->report = BREPORT_FAILURE;
		else if (strcmp(v, "never") == 0)
			j->report = BREPORT_NEVER;
		else
			return cfg_fail(err, path, s, "the backup job '%s': report must be \"always\", \"failure\" or \"never\"",
					j->name);
		if (j->report != BREPORT_NEVER && !c->smtp)
			return cfg_fail(err, path, s, "the backup job '%s': a report needs an smtp = { url = ...; from = ...; to = [...]; } group",
					j->name);
	}
	if (!l)
		return true;
	if (config_setting_type(l) != CONFIG_TYPE_GROUP)
		return cfg_fail(err, path, l, "ltr is a group: ltr = { daily = 7; weekly = 4; monthly = 12; yearly = 2; };");
	if (!cfg_check_keys(l, ltr_keys, "ltr", path, err) || !cfg_int(l, "daily", 0, &j->ltr.daily, path, err) ||
	    !cfg_int(l, "weekly", 0, &j->ltr.weekly, path, err) || !cfg_int(l, "monthly", 0, &j->ltr.monthly, path, err) ||
	    !cfg_int(l, "yearly", 0, &j->ltr.yearly, path, err))
		return false;
	if (j->mode != BMODE_FULL && j->mode != BMODE_DELTA)
		return cfg_fail(err, path, l, "the backup job '%s': ltr keeps points on remotes, so only full and delta jobs take it",
				j->name);
	return true;
}

static void smtp_free(struct smtp_cfg *m)
{
	if (!m)
		return;
	free(m->url);
	free(m->user);
	free(m->password_file);
	free(m->password_env);
	free(m->password_command);
	free(m->from);
	free_strs(m->to, m->nto);
	free(m->ca_file);
	free(m);
}

/* smtp's `security`: "starttls" (smtp://), "tls" (smtps://) or "none": a
 * relay that speaks no TLS, taken only without a login (no password in clear). */
static bool read_smtp_security(const config_setting_t *g, struct smtp_cfg *m, const char *path, char **err)
{
	config_setting_t *s = config_setting_get_member(g, "security");
	bool smtps = strncasecmp(m->url, "smtps://", 8) == 0;
	const char *v;

	if (!s)
		return true;
	v = config_setting_type(s) == CONFIG_TYPE_STRING ? config_setting_get_string(s) : "";
	if (strcmp(v, "starttls") == 0 && !smtps)
		return true;
	if (strcmp(v, "tls") == 0 && smtps)
		return true;
	if (strcmp(v, "none") == 0 && !smtps) {
		if (m->user)
			return cfg_fail(err, path, s, "smtp: security = \"none\" sends everything in clear, so it takes no user "
				       "or password (use STARTTLS or smtps:// to log in)");
		m->plain = true;
		return true;
	}
	if (strcmp(v, "starttls") == 0 || strcmp(v, "tls") == 0 || strcmp(v, "none") == 0)
		return cfg_fail(err, path, s, "smtp: security = \"%s\" does not go with %s (starttls and none: smtp://, tls: smtps://)",
			       v, m->url);
	return cfg_fail(err, path, s, "smtp: security must be \"starttls\", \"tls\" or \"none\"");
}

/* `smtp = { url = "smtp://mail:587"; user; password_*; from; to = [...]; ca_file; security; }` */
static bool read_smtp(const config_setting_t *g, struct backup_cfg *c, const char *path, char **err)
{
	struct smtp_cfg *m = c->smtp = xcalloc(1, sizeof(*m));
	config_setting_t *u;

	m->line = config_setting_source_line(g);
	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return cfg_fail(err, path, g, "smtp is a group: smtp = { url = \"smtp://mail.example.com:587\"; from = ...; to = [...]; };");
	if (!cfg_check_keys(g, smtp_keys, "smtp", path, err) || !cfg_string(g, "url", &m->url, path, err) ||
	    !cfg_string(g, "user", &m->user, path, err) || !cfg_string(g, "password_file", &m->password_file, path, err) ||
	    !cfg_string(g, "password_env", &m->password_env, path, err) ||
	    !cfg_string(g, "password_command", &m->password_command, path, err) ||
	    !cfg_string(g, "from", &m->from, path, err) || !get_strs(g, "to", &m->to, &m->nto, path, err) ||
	    !cfg_string(g, "ca_file", &m->ca_file, path, err))
		return false;
	u = config_setting_get_member(g, "url");
	if (!m->url)
		return cfg_fail(err, path, g, "smtp needs url = \"smtp://host:587\" (STARTTLS) or \"smtps://host:465\"");
	if (strncasecmp(m->url, "smtp://", 7) != 0 && strncasecmp(m->url, "smtps://", 8) != 0)
		return cfg_fail(err, path, u, "smtp: '%s' is not an smtp:// or smtps:// URL", m->url);
	if (!m->from || !strchr(m->from, '@'))
		return cfg_fail(err, path, config_setting_get_member(g, "from") ? config_setting_get_member(g, "from") : g,
				"smtp needs from = \"<an e-mail address>\"");
	if (!m->nto)
		return cfg_fail(err, path, g, "smtp needs to = [\"<an e-mail address>\", ...]");
	for (size_t i = 0; i < m->nto; i++)
		if (!strchr(m->to[i], '@') || strpbrk(m->to[i], "\r\n<>"))
			return cfg_fail(err, path, config_setting_get_member(g, "to"), "smtp: '%s' is not an e-mail address",
					m->to[i]);
	if (strpbrk(m->from, "\r\n<>"))
		return cfg_fail(err, path, config_setting_get_member(g, "from"), "smtp: '%s' is not an e-mail address", m->from);
	if (!!m->password_file + !!m->password_env + !!m->password_command > 1)
		return cfg_fail(err, path, g, "smtp: give one of password_file, password_env, password_command");
	if ((m->password_file || m->password_env || m->password_command) && !m->user)
		return cfg_fail(err, path, g, "smtp: a password needs user = \"...\"");
	return read_smtp_security(g, m, path, err);
}

/* mirror: source_remote is a `remotes` entry, and not one of the targets. */
static bool read_mirror(const config_setting_t *g, const struct job_cfg *j, const struct backup_cfg *c,
			const char *path, char **err)
{
	const config_setting_t *s = config_setting_get_member(g, "source_remote");

	if (!j->source_remote || !*j->source_remote)
		return cfg_fail(err, path, g, "the backup job '%s' (mirror) needs source_remote = \"<a remotes entry>\"",
				j->name);
	if (!backup_cfg_remote(c, j->source_remote))
		return cfg_fail(err, path, s, "the backup job '%s': no remote named '%s' in remotes", j->name,
				j->source_remote);
	for (size_t i = 0; i < j->nremotes; i++)
		if (strcmp(j->remotes[i], j->source_remote) == 0)
			return cfg_fail(err, path, s, "the backup job '%s': '%s' cannot be both the source and a target",
					j->name, j->source_remote);
	return true;
}

static bool read_job(const config_setting_t *g, struct job_cfg *j, const struct backup_cfg *c,
		     const config_setting_t *servers, const char *path, char **err)
{
	char *mode = NULL;
	config_setting_t *s;
	bool ok;

	j->retention = 7;
	j->concurrency = 2;
	j->nbd = true;
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
	    !cfg_bool(g, "nbd", &j->nbd, path, err) ||
	    !cfg_bool(g, "purge_snapshot_data", &j->purge_snapshot_data, path, err) ||
	    !get_duration(g, "timeout", &j->timeout_s, path, err) ||
	    !cfg_string(g, "target_server", &j->target_server, path, err) ||
	    !cfg_string(g, "target_sr", &j->target_sr, path, err) ||
	    !cfg_string(g, "source_remote", &j->source_remote, path, err)) {
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
	for (int m = 0; mode && m < NMODES; m++)
		if (strcmp(mode, mode_names[m]) == 0) {
			j->mode = (enum bmode)m;
			ok = true;
		}
	if (!ok) {
		s = config_setting_get_member(g, "mode");
		ok = cfg_fail(err, path, s ? s : g,
			      "the backup job '%s': mode must be snapshot, full, delta or metadata (or dr, cr, mirror)%s%s%s",
			     j->name, mode ? " (not '" : "", mode ? mode : "", mode ? "')" : "");
		free(mode);
		return ok;
	}
	free(mode);
	if (!healthcheck_cfg_read(g, j, path, err))
		return false;
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
	if ((j->mode == BMODE_DR || j->mode == BMODE_CR) && !read_replication(g, j, servers, path, err))
		return false;
	s = config_setting_get_member(g, "remotes");
	if (j->mode != BMODE_SNAPSHOT && j->mode != BMODE_DR && j->mode != BMODE_CR && !j->nremotes)
		return cfg_fail(err, path, s ? s : g, "the backup job '%s' (%s) needs remotes = [\"<a remotes entry>\"]",
			       j->name, bmode_name(j->mode));
	if (j->mode == BMODE_MIRROR && !read_mirror(g, j, c, path, err))
		return false;
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
	return read_report_ltr(g, j, c, path, err);
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
	healthcheck_cfg_free(j);
	free(j->target_server);
	free(j->target_sr);
	free(j->source_remote);
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
	if (ok && (s = config_lookup(&cfg, "smtp")))
		ok = read_smtp(s, out, out->path, err);
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
	smtp_free(c->smtp);
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
