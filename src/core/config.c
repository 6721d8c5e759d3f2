#include "config.h"

#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "cfgedit.h"
#include "cfgread.h"
#include "keymap.h"
#include "known_hosts.h"
#include "util.h"

char *config_default_path(const char *name)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");

	if (xdg && *xdg)
		return xasprintf("%s/xentui/%s", xdg, name);
	return xasprintf("%s/.config/xentui/%s", home && *home ? home : ".", name);
}

static const char *const server_keys[] = {
	"name", "url", "user", "password_file", "password_env", "password_command", "fingerprint", "insecure",
	"autoconnect", NULL,
};
static const char *const pref_keys[] = {"refresh_ms", "confirm_quit", "confirm_clean_power", "console_escape",
					  "console_scrollback", "console_osc52", "console_keymap", "lock_idle",
					  "lock_url", "lock_fingerprint", "transport", NULL};
static const char *const top_keys[] = {"servers", "theme", "known_hosts", "preferences", "keys", "backups",
					 "remotes", "backup_jobs", "smtp", NULL};

static bool read_server(const config_setting_t *g, struct server_cfg *sv, const char *path, char **err)
{
	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return cfg_fail(err, path, g, "a server is a group in braces: { name = \"...\"; url = \"...\"; }");
	if (!cfg_check_keys(g, server_keys, "server", path, err))
		return false;
	if (!cfg_string(g, "name", &sv->name, path, err) || !cfg_string(g, "url", &sv->url, path, err)
	    || !cfg_string(g, "user", &sv->user, path, err)
	    || !cfg_string(g, "password_file", &sv->password_file, path, err)
	    || !cfg_string(g, "password_env", &sv->password_env, path, err)
	    || !cfg_string(g, "password_command", &sv->password_command, path, err)
	    || !cfg_string(g, "fingerprint", &sv->fingerprint, path, err)
	    || !cfg_bool(g, "insecure", &sv->insecure, path, err)
	    || !cfg_bool(g, "autoconnect", &sv->autoconnect, path, err))
		return false;
	if (!sv->url)
		return cfg_fail(err, path, g, "this server has no url (e.g. url = \"https://192.168.1.10\";)");
	if (strncmp(sv->url, "https://", 8) != 0 && strncmp(sv->url, "http://", 7) != 0
	    && strncmp(sv->url, "unix:", 5) != 0)
		return cfg_fail(err, path, config_setting_get_member(g, "url"),
			       "url '%s' must start with https://, http:// or unix:", sv->url);
	if (!sv->name)
		return cfg_fail(err, path, g, "this server has no name (e.g. name = \"home\";): `xentui NAME` and :servers use it");
	if (!sv->name[0] || strspn(sv->name, " \t") == strlen(sv->name))
		return cfg_fail(err, path, config_setting_get_member(g, "name"), "a server's name cannot be empty");
	if (!sv->user)
		sv->user = xstrdup("root");
	return true;
}

/* The console's escape key as the console reads it: ^ and one of @A-Z[\]^_ (or a-z). */
static bool escape_ok(const char *s)
{
	return s[0] == '^' && s[1] && !s[2] && ((s[1] >= '@' && s[1] <= '_') || (s[1] >= 'a' && s[1] <= 'z'));
}

static void warn(struct config *out, const config_setting_t *s, const char *what)
{
	char *w = xasprintf("%s%s%s:%d: %s", out->warnings ? out->warnings : "", out->warnings ? "\n" : "", out->path,
			    config_setting_source_line(s), what);

	free(out->warnings);
	out->warnings = w;
}

static bool read_preferences(const config_setting_t *s, struct config *out, char **err)
{
	const char *path = out->path;
	config_setting_t *m;
	bool ok;

	if (config_setting_type(s) != CONFIG_TYPE_GROUP)
		return cfg_fail(err, path, s, "preferences is a group in braces: preferences = { confirm_quit = true; };");
	if (!cfg_check_keys(s, pref_keys, "preferences", path, err))
		return false;
	if ((m = config_setting_get_member(s, "refresh_ms")))
		warn(out, m, "refresh_ms is no longer used (screens refresh as the pool's events arrive): remove it");
	ok = cfg_bool(s, "confirm_quit", &out->confirm_quit, path, err);
	ok = ok && cfg_bool(s, "confirm_clean_power", &out->confirm_clean_power, path, err);
	ok = ok && cfg_int(s, "console_scrollback", 0, &out->console_scrollback, path, err);
	if (ok && out->console_scrollback > 1000000)
		ok = cfg_fail(err, path, config_setting_get_member(s, "console_scrollback"),
			      "console_scrollback must be at most 1000000 lines");
	ok = ok && cfg_bool(s, "console_osc52", &out->console_osc52, path, err);
	/* the lock at a host's own console (xentui --local) */
	ok = ok && cfg_int(s, "lock_idle", 0, &out->lock_idle, path, err);
	ok = ok && cfg_string(s, "lock_url", &out->lock_url, path, err);
	ok = ok && cfg_string(s, "lock_fingerprint", &out->lock_fingerprint, path, err);
	if (ok && (m = config_setting_get_member(s, "console_escape"))) {
		ok = cfg_string(s, "console_escape", &out->console_escape, path, err);
		if (ok && !escape_ok(out->console_escape))
			ok = cfg_fail(err, path, m,
				      "console_escape '%s' must be ^ and one letter or one of @[\\]^_ (e.g. \"^]\" for Ctrl-])",
				      out->console_escape);
	}
	if (ok && (m = config_setting_get_member(s, "transport"))) {
		ok = cfg_string(s, "transport", &out->transport, path, err);
		if (ok && strcmp(out->transport, "xml") != 0 && strcmp(out->transport, "json") != 0
		    && strcmp(out->transport, "auto") != 0)
			ok = cfg_fail(err, path, m,
				      "transport must be \"json\", \"xml\" or \"auto\" (JSON-RPC where the pool answers it)");
	}
	if (ok && (m = config_setting_get_member(s, "console_keymap"))) {
		ok = cfg_string(s, "console_keymap", &out->console_keymap, path, err);
		if (ok && keymap_by_name(out->console_keymap) < 0)
			ok = cfg_fail(err, path, m, "console_keymap must be one of %s (the guest's keyboard layout)",
				      keymap_names());
	}
	return ok;
}

static bool read_servers(const config_setting_t *s, struct config *out, char **err)
{
	if (config_setting_type(s) != CONFIG_TYPE_LIST && config_setting_type(s) != CONFIG_TYPE_ARRAY)
		return cfg_fail(err, out->path, s, "servers must be a list: servers = ( { ... }, { ... } );");
	out->nservers = config_setting_length(s);
	out->servers = xcalloc((size_t)out->nservers, sizeof(*out->servers));
	for (int i = 0; i < out->nservers; i++) {
		config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
		if (!read_server(g, &out->servers[i], out->path, err))
			return false;
		for (int j = 0; j < i; j++)
			if (strcmp(out->servers[j].name, out->servers[i].name) == 0)
				return cfg_fail(err, out->path, config_setting_get_member(g, "name"),
						"a second server named '%s' (the first is at line %d): names must differ",
						out->servers[i].name,
						config_setting_source_line(config_setting_get_elem(s, (unsigned)j)));
	}
	return true;
}

/* libconfig resolves @include from this folder: the configuration's own. */
static void include_beside(config_t *cfg, const char *path, char **dir)
{
	const char *slash = strrchr(path, '/');

	*dir = slash ? xstrndup(path, (size_t)(slash - path + (slash == path))) : xstrdup(".");
	config_set_include_dir(cfg, *dir);
}

/* A known_hosts that does not parse trusts nothing: stop until it is fixed. */
static bool known_hosts_ok(struct config *out, char **err)
{
	if (known_hosts_check(out->known_hosts, err))
		return true;
	config_free(out);
	return false;
}

bool config_load(const char *path, struct config *out, char **err)
{
	config_t cfg;
	config_setting_t *s;
	struct stat st;
	char *dir = NULL;
	bool explicit = path != NULL;
	bool ok = true;

	memset(out, 0, sizeof(*out));
	out->path = path ? xstrdup(path) : config_default_path("config");
	out->theme = xstrdup("classic");
	out->known_hosts = config_default_path("known_hosts");
	out->confirm_quit = true;
	out->confirm_clean_power = true;
	out->console_escape = xstrdup("^]");
	out->console_keymap = xstrdup("us");
	out->console_scrollback = 5000;
	out->lock_idle = 300;
	if (!explicit && access(out->path, F_OK) != 0)
		return known_hosts_ok(out, err);
	if (stat(out->path, &st) == 0 && S_ISDIR(st.st_mode)) {
		*err = xasprintf("%s is a directory, not a configuration file (e.g. %s/config)", out->path, out->path);
		config_free(out);
		return false;
	}
	config_init(&cfg);
	include_beside(&cfg, out->path, &dir);
	if (config_read_file(&cfg, out->path) != CONFIG_TRUE) {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
			*err = xasprintf("%s: cannot read it: %s", out->path, strerror(errno));
		else
			*err = xasprintf("%s:%d: %s", config_error_file(&cfg) ? config_error_file(&cfg) : out->path,
					 config_error_line(&cfg), config_error_text(&cfg));
		config_destroy(&cfg);
		free(dir);
		config_free(out);
		return false;
	}
	s = config_root_setting(&cfg);
	for (int i = 0; ok && i < config_setting_length(s); i++) {
		config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
		if (!cfg_in_list(top_keys, config_setting_name(m)))
			ok = cfg_fail(err, out->path, m, "unknown setting '%s'", config_setting_name(m));
	}
	if (ok && (s = config_lookup(&cfg, "theme")))
		ok = cfg_string(config_root_setting(&cfg), "theme", &out->theme, out->path, err);
	if (ok && config_lookup(&cfg, "known_hosts"))
		ok = cfg_string(config_root_setting(&cfg), "known_hosts", &out->known_hosts, out->path, err);
	if (ok && (s = config_lookup(&cfg, "preferences")))
		ok = read_preferences(s, out, err);
	if (ok && (s = config_lookup(&cfg, "servers")))
		ok = read_servers(s, out, err);
	config_destroy(&cfg);
	free(dir);
	if (!ok) {
		config_free(out);
		return false;
	}
	return known_hosts_ok(out, err);
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void server_cfg_copy(struct server_cfg *dst, const struct server_cfg *src)
{
	dst->name = dup_or_null(src->name);
	dst->url = dup_or_null(src->url);
	dst->user = dup_or_null(src->user);
	dst->password_file = dup_or_null(src->password_file);
	dst->password_env = dup_or_null(src->password_env);
	dst->password_command = dup_or_null(src->password_command);
	dst->fingerprint = dup_or_null(src->fingerprint);
	dst->insecure = src->insecure;
	dst->autoconnect = src->autoconnect;
}

void server_cfg_free(struct server_cfg *s)
{
	free(s->name);
	free(s->url);
	free(s->user);
	free(s->password_file);
	free(s->password_env);
	free(s->password_command);
	free(s->fingerprint);
	memset(s, 0, sizeof(*s));
}

void config_put_server(struct config *c, const char *old_name, const struct server_cfg *sv)
{
	struct server_cfg copy;

	server_cfg_copy(&copy, sv);
	for (int i = 0; old_name && i < c->nservers; i++)
		if (strcmp(c->servers[i].name, old_name) == 0) {
			server_cfg_free(&c->servers[i]);
			c->servers[i] = copy;
			return;
		}
	c->servers = xrealloc(c->servers, (size_t)(c->nservers + 1) * sizeof(*c->servers));
	c->servers[c->nservers++] = copy;
}

bool config_remove_server(struct config *c, const char *name)
{
	for (int i = 0; i < c->nservers; i++)
		if (strcmp(c->servers[i].name, name) == 0) {
			server_cfg_free(&c->servers[i]);
			memmove(&c->servers[i], &c->servers[i + 1], (size_t)(c->nservers - i - 1) * sizeof(*c->servers));
			c->nservers--;
			return true;
		}
	return false;
}

void config_print_warnings(const struct config *c, FILE *f)
{
	for (const char *w = c->warnings; w && *w;) {
		size_t n = strcspn(w, "\n");
		fprintf(f, "xentui: warning: %.*s\n", (int)n, w);
		w += n + (w[n] == '\n');
	}
}

void config_free(struct config *c)
{
	for (int i = 0; i < c->nservers; i++)
		server_cfg_free(&c->servers[i]);
	free(c->servers);
	free(c->path);
	free(c->theme);
	free(c->known_hosts);
	free(c->console_escape);
	free(c->console_keymap);
	free(c->transport);
	free(c->lock_url);
	free(c->lock_fingerprint);
	free(c->warnings);
	memset(c, 0, sizeof(*c));
}

const struct server_cfg *config_server(const struct config *c, const char *name)
{
	for (int i = 0; i < c->nservers; i++)
		if (strcmp(c->servers[i].name, name) == 0)
			return &c->servers[i];
	return NULL;
}

bool config_write_atomic(config_t *cfg, const char *path, char **err)
{
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);
	bool ok;

	if (!f) {
		*err = xasprintf("cannot write %s: %s", path, strerror(errno));
		return false;
	}
	config_write(cfg, f);
	fclose(f);
	ok = atomic_write(path, text, n, err);
	free(text);
	return ok;
}

/* The whole of path into *text (empty when absent). */
static bool read_text(const char *path, char **text, size_t *len, char **err)
{
	FILE *f = fopen(path, "r");
	struct buf b;
	char chunk[8192];
	size_t n;

	*text = NULL;
	*len = 0;
	if (!f && errno == ENOENT)
		return true;
	if (!f) {
		*err = xasprintf("cannot read %s: %s", path, strerror(errno));
		return false;
	}
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	if (ferror(f)) {
		*err = xasprintf("cannot read %s: %s", path, strerror(errno));
		fclose(f);
		buf_free(&b);
		return false;
	}
	fclose(f);
	*len = b.len;
	*text = buf_steal(&b);
	return true;
}

/* The servers as the file holds them now (*nold -1 when unreadable). */
static struct server_cfg *servers_in(const config_setting_t *s, const char *path, int *nold)
{
	struct server_cfg *old;
	char *err = NULL;

	*nold = s ? config_setting_length(s) : 0;
	old = xcalloc((size_t)*nold + 1, sizeof(*old));
	for (int i = 0; i < *nold; i++)
		if (!read_server(config_setting_get_elem(s, (unsigned)i), &old[i], path, &err)) {
			free(err);
			err = NULL;
			for (int j = 0; j <= i; j++)
				server_cfg_free(&old[j]);
			*nold = -1;
			break;
		}
	return old;
}

/* The new text must read back as the servers meant, else nothing is written. */
static bool check_text(const char *text, const char *file, const char *dir, int n, char **err)
{
	config_t cfg;
	config_setting_t *s;
	bool ok;

	config_init(&cfg);
	config_set_include_dir(&cfg, dir);
	ok = config_read_string(&cfg, text) == CONFIG_TRUE;
	s = ok ? config_lookup(&cfg, "servers") : NULL;
	if (!ok || !s || config_setting_length(s) != n)
		*err = xasprintf("%s was not changed: the servers list could not be updated in its text%s%s", file,
				 ok ? "" : " (", ok ? "" : config_error_text(&cfg));
	if (*err && !ok) {
		char *e = xasprintf("%s)", *err);
		free(*err);
		*err = e;
	}
	ok = ok && s && config_setting_length(s) == n;
	config_destroy(&cfg);
	return ok;
}

bool config_save(const struct config *c, char **err)
{
	config_t cfg;
	config_setting_t *s = NULL;
	struct server_cfg *old = NULL;
	char *dir = NULL, *file, *text = NULL, *out = NULL;
	size_t len = 0;
	int nold = 0;
	bool ok = true;

	config_init(&cfg);
	include_beside(&cfg, c->path, &dir);
	file = xstrdup(c->path);
	if (access(c->path, F_OK) == 0) {
		if (config_read_file(&cfg, c->path) != CONFIG_TRUE) {
			*err = xasprintf("%s:%d: %s", config_error_file(&cfg) ? config_error_file(&cfg) : c->path,
					 config_error_line(&cfg), config_error_text(&cfg));
			ok = false;
		} else if ((s = config_lookup(&cfg, "servers"))) {
			const char *src = config_setting_source_file(s);
			/* servers kept in an @include'd file are edited there */
			if (src && strcmp(src, c->path) != 0) {
				free(file);
				/* libconfig keeps the name as written, opened from the include folder */
				file = src[0] == '/' ? xstrdup(src) : xasprintf("%s/%s", dir, src);
			}
		}
	}
	if (ok) {
		old = servers_in(s, file, &nold);
		ok = read_text(file, &text, &len, err);
	}
	if (ok) {
		char *why = NULL;
		out = cfgedit_servers(text ? text : "", len, old, nold, c->servers, c->nservers, &why);
		if (!out) {
			*err = xasprintf("%s was not changed: %s", file, why);
			free(why);
			ok = false;
		}
	}
	ok = ok && check_text(out, file, dir, c->nservers, err);
	/* readable by the user only, durable, never half written, through a symlink */
	ok = ok && atomic_write(file, out, strlen(out), err);
	for (int i = 0; i < nold; i++)
		server_cfg_free(&old[i]);
	free(old);
	free(text);
	free(out);
	free(file);
	free(dir);
	config_destroy(&cfg);
	return ok;
}
