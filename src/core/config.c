#include "config.h"

#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "cfgread.h"
#include "keymap.h"
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
static const char *const top_keys[] = {"servers", "theme", "known_hosts", "preferences", "keys", "backups",
					 "remotes", "backup_jobs", NULL};

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
		sv->name = xstrdup(sv->url);
	if (!sv->user)
		sv->user = xstrdup("root");
	return true;
}

bool config_load(const char *path, struct config *out, char **err)
{
	config_t cfg;
	config_setting_t *s;
	bool explicit = path != NULL;
	bool ok = true;

	memset(out, 0, sizeof(*out));
	out->path = path ? xstrdup(path) : config_default_path("config");
	out->theme = xstrdup("classic");
	out->known_hosts = config_default_path("known_hosts");
	out->refresh_ms = 1000;
	out->confirm_quit = true;
	out->confirm_clean_power = true;
	out->console_escape = xstrdup("^]");
	out->console_keymap = xstrdup("us");
	out->console_scrollback = 5000;
	if (!explicit && access(out->path, F_OK) != 0)
		return true;
	config_init(&cfg);
	if (config_read_file(&cfg, out->path) != CONFIG_TRUE) {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
			*err = xasprintf("%s: cannot read it: %s", out->path, strerror(errno));
		else
			*err = xasprintf("%s:%d: %s", out->path, config_error_line(&cfg), config_error_text(&cfg));
		config_destroy(&cfg);
		config_free(out);
		return false;
	}
	s = config_root_setting(&cfg);
	for (int i = 0; ok && i < config_setting_length(s); i++) {
		config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
		if (!cfg_in_list(top_keys, config_setting_name(m)))
			ok = cfg_fail(err, out->path, m, "unknown setting '%s'", config_setting_name(m));
	}
	if (ok && (s = config_lookup(&cfg, "theme"))) {
		free(out->theme);
		out->theme = NULL;
		ok = cfg_string(config_root_setting(&cfg), "theme", &out->theme, out->path, err);
	}
	if (ok && config_lookup(&cfg, "known_hosts")) {
		free(out->known_hosts);
		out->known_hosts = NULL;
		ok = cfg_string(config_root_setting(&cfg), "known_hosts", &out->known_hosts, out->path, err);
	}
	if (ok && (s = config_lookup(&cfg, "preferences"))) {
		int v;
		if (config_setting_lookup_int(s, "refresh_ms", &v))
			out->refresh_ms = v;
		ok = cfg_bool(s, "confirm_quit", &out->confirm_quit, out->path, err);
		ok = ok && cfg_bool(s, "confirm_clean_power", &out->confirm_clean_power, out->path, err);
		if (ok && config_setting_lookup_int(s, "console_scrollback", &v))
			out->console_scrollback = v < 0 ? 0 : v > 1000000 ? 1000000 : v;
		ok = ok && cfg_bool(s, "console_osc52", &out->console_osc52, out->path, err);
		if (ok && config_setting_get_member(s, "console_escape")) {
			free(out->console_escape);
			out->console_escape = NULL;
			ok = cfg_string(s, "console_escape", &out->console_escape, out->path, err);
		}
		if (ok && config_setting_get_member(s, "console_keymap")) {
			config_setting_t *k = config_setting_get_member(s, "console_keymap");

			free(out->console_keymap);
			out->console_keymap = NULL;
			ok = cfg_string(s, "console_keymap", &out->console_keymap, out->path, err);
			if (ok && keymap_by_name(out->console_keymap) < 0)
				ok = cfg_fail(err, out->path, k, "console_keymap must be one of %s (the guest's keyboard layout)",
					     keymap_names());
		}
	}
	if (ok && (s = config_lookup(&cfg, "servers"))) {
		if (config_setting_type(s) != CONFIG_TYPE_LIST && config_setting_type(s) != CONFIG_TYPE_ARRAY) {
			ok = cfg_fail(err, out->path, s, "servers must be a list: servers = ( { ... }, { ... } );");
		} else {
			out->nservers = config_setting_length(s);
			out->servers = xcalloc((size_t)out->nservers, sizeof(*out->servers));
			for (int i = 0; ok && i < out->nservers; i++)
				ok = read_server(config_setting_get_elem(s, (unsigned)i), &out->servers[i], out->path, err);
		}
	}
	config_destroy(&cfg);
	if (!ok) {
		config_free(out);
		return false;
	}
	return true;
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
	memset(c, 0, sizeof(*c));
}

const struct server_cfg *config_server(const struct config *c, const char *name)
{
	for (int i = 0; i < c->nservers; i++)
		if (strcmp(c->servers[i].name, name) == 0)
			return &c->servers[i];
	return NULL;
}

static void add_string(config_setting_t *g, const char *key, const char *v)
{
	if (v)
		config_setting_set_string(config_setting_add(g, key, CONFIG_TYPE_STRING), v);
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

bool config_save(const struct config *c, char **err)
{
	config_t cfg;
	config_setting_t *root, *list;
	bool ok;

	config_init(&cfg);
	/* keep every other setting the user wrote */
	if (access(c->path, F_OK) == 0 && config_read_file(&cfg, c->path) != CONFIG_TRUE) {
		*err = xasprintf("%s:%d: %s", c->path, config_error_line(&cfg), config_error_text(&cfg));
		config_destroy(&cfg);
		return false;
	}
	root = config_root_setting(&cfg);
	if (config_setting_get_member(root, "servers"))
		config_setting_remove(root, "servers");
	list = config_setting_add(root, "servers", CONFIG_TYPE_LIST);
	for (int i = 0; i < c->nservers; i++) {
		const struct server_cfg *s = &c->servers[i];
		config_setting_t *g = config_setting_add(list, NULL, CONFIG_TYPE_GROUP);
		add_string(g, "name", s->name);
		add_string(g, "url", s->url);
		add_string(g, "user", s->user);
		add_string(g, "password_file", s->password_file);
		add_string(g, "password_env", s->password_env);
		add_string(g, "password_command", s->password_command);
		add_string(g, "fingerprint", s->fingerprint);
		if (s->insecure)
			config_setting_set_bool(config_setting_add(g, "insecure", CONFIG_TYPE_BOOL), 1);
		if (s->autoconnect)
			config_setting_set_bool(config_setting_add(g, "autoconnect", CONFIG_TYPE_BOOL), 1);
	}
	/* readable by the user only, durable, never half written */
	ok = config_write_atomic(&cfg, c->path, err);
	config_destroy(&cfg);
	return ok;
}
