/* Servers: the pools xentui knows, as Xen Orchestra's Settings > Servers
 * lists them: label, address, user, where the password comes from, how
 * the certificate is checked, and the state of the connection (with the
 * reason when it failed). Add, edit, remove (asks first), connect,
 * disconnect; every change is saved to the configuration file at once.
 * A password is never written there: the file names a password file or an
 * environment variable, or xentui asks when it connects and keeps what was
 * typed in memory for this run only. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "dialog.h"
#include "draw.h"
#include "form.h"
#include "keys.h"
#include "screens.h"
#include "table.h"
#include "util.h"

enum { COL_NAME, COL_ADDRESS, COL_USER, COL_STATE, COL_PASSWORD, COL_CERT, COL_AUTO };

static const struct table_col columns[] = {
	[COL_NAME] = {"NAME", 10, 1, false, false, 0},
	[COL_ADDRESS] = {"ADDRESS", 24, 2, false, false, 0},
	[COL_USER] = {"USER", 6, 0, false, false, 1},
	[COL_STATE] = {"STATE", 12, 2, false, false, 0},
	[COL_PASSWORD] = {"PASSWORD", 14, 1, false, false, 2},
	[COL_CERT] = {"CERTIFICATE", 11, 0, false, false, 4}, /* also under the list */
	[COL_AUTO] = {"AUTO", 4, 0, false, false, 3},
};

struct servers {
	struct table *table;
};

/* Rows are keyed by the pool's id: names change when edited. */
static struct pool *pool_of_key(struct app *app, const char *key)
{
	return key ? pools_by_id(app_pools(app), atoi(key)) : NULL;
}

static struct pool *selected(struct app *app, void *st)
{
	struct servers *s = st;

	return pool_of_key(app, table_selected(s->table));
}

static const char *password_source(const struct pool *p, char *buf, size_t n)
{
	if (p->demo)
		snprintf(buf, n, "built in");
	else if (p->cfg.password_file)
		snprintf(buf, n, "file %s", p->cfg.password_file);
	else if (p->cfg.password_env)
		snprintf(buf, n, "$%s", p->cfg.password_env);
	else if (p->cfg.password_command)
		snprintf(buf, n, "command");
	else
		snprintf(buf, n, "%s", pool_has_password(p) ? "typed" : "ask");
	return buf;
}

static const char *cert_check(const struct pool *p)
{
	if (p->cfg.insecure)
		return "any";
	if (p->cfg.fingerprint)
		return "pinned";
	return "ask once";
}

static enum role state_role(enum pool_state st)
{
	switch (st) {
	case POOL_CONNECTED: return ROLE_GOOD;
	case POOL_CONNECTING: return ROLE_WARN;
	case POOL_RETRYING: return ROLE_WARN;
	case POOL_FAILED: return ROLE_BAD;
	default: return ROLE_DIM;
	}
}

static void rebuild(struct app *app, struct servers *s)
{
	struct pools *ps = app_pools(app);

	table_clear(s->table);
	for (size_t i = 0; i < pools_count(ps); i++) {
		struct pool *p = pools_at(ps, i);
		const char *why;
		enum pool_state st = pool_state(p, &why);
		char key[16], state[512], password[256], name[128];
		snprintf(key, sizeof(key), "%d", p->id);
		snprintf(state, sizeof(state), "%s%s%s", pool_state_name(st), *why ? ": " : "", why);
		/* what is not in the configuration file says so */
		snprintf(name, sizeof(name), "%s%s", p->cfg.name, p->saved || p->demo ? "" : " (unsaved)");
		{
			struct table_cell cells[] = {
				[COL_NAME] = {name, (double)p->id, -1},
				[COL_ADDRESS] = {p->cfg.url, 0, -1},
				[COL_USER] = {p->cfg.user, 0, -1},
				[COL_STATE] = {state, 0, (int)state_role(st)},
				[COL_PASSWORD] = {password_source(p, password, sizeof(password)), 0, -1},
				[COL_CERT] = {cert_check(p), 0, p->cfg.insecure ? (int)ROLE_WARN : -1},
				[COL_AUTO] = {p->cfg.autoconnect ? "yes" : "no", 0, -1},
			};
			table_put(s->table, key, cells, ROLE_NORMAL, NULL);
		}
	}
}

static void *servers_enter(struct app *app, const void *arg)
{
	struct servers *s = xcalloc(1, sizeof(*s));

	s->table = table_new(columns, (int)(ARRAY_LEN(columns)));
	table_set_noun(s->table, "server", "servers");
	rebuild(app, s);
	return s;
}

static void servers_leave(struct app *app, void *st)
{
	struct servers *s = st;

	table_free(s->table);
	free(s);
}

static void servers_event(struct app *app, void *st, struct pool *p, enum cache_op op, const char *cls,
			  const char *ref)
{
	/* the objects of a pool are not this screen's business: its state is */
	if (!p || op == CACHE_STATUS || op == CACHE_LOADED)
		rebuild(app, st);
}

static void servers_draw(struct app *app, void *st, WINDOW *w, int h, int cols)
{
	struct servers *s = st;
	struct pool *p = selected(app, st);
	int rows = h - 4;
	const char *why;

	rebuild(app, s); /* states move on their own (connecting, retrying in 4 s) */
	table_draw(s->table, w, 0, 0, rows, cols, !app_has_dialog(app));
	ui_hline(w, rows, 0, cols, theme_attr(ROLE_BORDER));
	if (!p) {
		ui_put(w, rows + 1, 1, cols - 2, theme_attr(ROLE_DIM),
		       "No server yet. a adds one: its address, user, and where its password comes from.");
		return;
	}
	{
		char password[256];
		const char *sep = glyph(GLYPH_SEP);
		ui_addf(w, rows + 1, 1, cols - 2, theme_attr(ROLE_NORMAL), "%s  %s  %s@%s  %s  password: %s  %s  certificate: %s",
			p->cfg.name, sep, p->cfg.user, p->cfg.url, sep, password_source(p, password, sizeof(password)), sep,
			cert_check(p));
	}
	{
		enum pool_state state = pool_state(p, &why);
		char *text = xasprintf("%s%s%s", pool_state_name(state), *why ? ": " : "", why);
		ui_wrap(w, rows + 2, 1, cols - 2, 2, theme_attr(state_role(state)), text);
		free(text);
	}
}

static struct table *servers_list(struct app *app, void *st)
{
	return ((struct servers *)st)->table;
}

static struct pool *servers_pool(struct app *app, void *st)
{
	return selected(app, st);
}

/* ---- connect, disconnect ------------------------------------------------------------- */

static bool is_connected(struct pool *p)
{
	return p && p->x && !p->closing;
}

static bool can_connect(struct app *app, void *st)
{
	struct pool *p = selected(app, st);

	return p && (!is_connected(p) || xapi_state(p->x) == XAPI_FAILED || xapi_state(p->x) == XAPI_RETRY);
}

static bool can_disconnect(struct app *app, void *st)
{
	return is_connected(selected(app, st));
}

static bool has_server(struct app *app, void *st)
{
	return selected(app, st) != NULL;
}

static void connect_key(struct app *app, void *st)
{
	struct pool *p = selected(app, st);

	if (!p)
		app_message(app, MSG_INFO, "No server selected: a adds one");
	else if (!can_connect(app, st))
		app_jump(app, &screen_dashboard, NULL);
	else
		app_connect(app, p, true);
}

static void on_disconnected(struct pool *p, void *ud)
{
	app_message(ud, MSG_INFO, "%s: disconnected", p->cfg.name);
}

static void disconnect_key(struct app *app, void *st)
{
	struct pool *p = selected(app, st);

	if (!is_connected(p)) {
		app_message(app, MSG_INFO, "%s is not connected", p ? p->cfg.name : "No server");
		return;
	}
	app_message(app, MSG_INFO, "%s: logging out", p->cfg.name);
	pool_disconnect(app_pools(app), p, on_disconnected, app);
}

/* ---- the form: add and edit -------------------------------------------------------------- */

enum source { SRC_ASK, SRC_FILE, SRC_ENV, SRC_COMMAND };

struct server_form {
	struct app *app;
	struct table *table; /* the servers' list: the dialog closes before it can go */
	int pool_id;         /* the pool edited, or 0 for a new one */
	int f_label, f_address, f_user, f_source, f_where, f_password, f_insecure, f_auto;
};

static void server_form_free(void *p)
{
	free(p);
}

/* "host", "host:port" or a URL as xentui wants it: https://host[:port]
 * (or http://, unix:). NULL when it cannot be one; free it. */
static char *normal_url(const char *text)
{
	const char *scheme = "https://", *host = text;
	size_t len;

	while (*host == ' ')
		host++;
	if (strncmp(host, "unix:", 5) == 0)
		return host[5] == '/' ? xstrdup(host) : NULL;
	if (strncmp(host, "https://", 8) == 0) {
		host += 8;
	} else if (strncmp(host, "http://", 7) == 0) {
		scheme = "http://";
		host += 7;
	} else if (strstr(host, "://")) {
		return NULL; /* ftp://, ... */
	}
	len = strcspn(host, "/");
	if (len == 0 || (host[len] && host[len + 1]))
		return NULL; /* no host, or a path after it */
	for (size_t i = 0; i < len; i++)
		if (isspace((unsigned char)host[i]) || (unsigned char)host[i] < 0x20)
			return NULL;
	{
		/* a port, if any, is a number (an IPv6 address is in brackets) */
		const char *colon = memrchr(host, ':', len);
		const char *bracket = memrchr(host, ']', len);
		if (colon && (!bracket || colon > bracket)) {
			char *e;
			long port = strtol(colon + 1, &e, 10);
			if (e != host + len || port < 1 || port > 65535 || colon == host)
				return NULL;
		}
	}
	return xasprintf("%s%.*s", scheme, (int)len, host);
}

static const char *check_label(const struct form *f, int field, const char *text, void *ud)
{
	struct server_form *sf = ud;
	struct pool *other = pools_by_name(app_pools(sf->app), text);

	for (const char *c = text; *c; c++)
		if ((unsigned char)*c < 0x20)
			return "no control characters";
	if (!text[strspn(text, " \t")])
		return "required"; /* blank: the configuration refuses it */
	if (other && other->id != sf->pool_id)
		return "taken by another";
	return NULL;
}

static const char *check_address(const struct form *f, int field, const char *text, void *ud)
{
	char *url = normal_url(text);

	free(url);
	return url ? NULL : "host[:port] or https://...";
}

static const char *check_where(const struct form *f, int field, const char *text, void *ud)
{
	struct server_form *sf = ud;
	int source = form_get_choice(f, sf->f_source);

	if (source == SRC_ASK)
		return NULL;
	if (!*text)
		return source == SRC_FILE ? "the file's path" : source == SRC_ENV ? "the variable's name" : "a command";
	if (source == SRC_ENV) {
		if (!isalpha((unsigned char)text[0]) && text[0] != '_')
			return "a variable's name";
		for (const char *c = text; *c; c++)
			if (!isalnum((unsigned char)*c) && *c != '_')
				return "letters, digits, _";
	}
	return NULL;
}

static void set_source(struct server_cfg *sv, int source, const char *where)
{
	sv->password_file = source == SRC_FILE ? xstrdup(where) : NULL;
	sv->password_env = source == SRC_ENV ? xstrdup(where) : NULL;
	sv->password_command = source == SRC_COMMAND ? xstrdup(where) : NULL;
}

static bool save(struct app *app)
{
	char *err = NULL;

	if (config_save(app_config(app), &err))
		return true;
	app_message(app, MSG_ERROR, "Not saved: %s", err);
	free(err);
	return false;
}

static void on_server_form(struct app *app, const struct dialog_result *r, const char *ref, void *ud)
{
	struct server_form *sf = ud;
	struct pool *p = sf->pool_id ? pools_by_id(app_pools(app), sf->pool_id) : NULL;
	const struct form *f = r->form;
	const char *typed = form_get_text(f, sf->f_password);
	struct server_cfg sv;
	char *url;

	if (!r->ok || (sf->pool_id && !p))
		return;
	url = normal_url(form_get_text(f, sf->f_address));
	if (!url)
		return; /* the form checked it */
	memset(&sv, 0, sizeof(sv));
	sv.name = xstrdup(form_get_text(f, sf->f_label));
	sv.url = url;
	sv.user = xstrdup(*form_get_text(f, sf->f_user) ? form_get_text(f, sf->f_user) : "root");
	set_source(&sv, form_get_choice(f, sf->f_source), form_get_text(f, sf->f_where));
	sv.insecure = form_get_toggle(f, sf->f_insecure);
	sv.autoconnect = form_get_toggle(f, sf->f_auto);
	/* a pinned certificate stays pinned while the address does */
	if (p && p->cfg.fingerprint && strcmp(p->cfg.url, sv.url) == 0)
		sv.fingerprint = xstrdup(p->cfg.fingerprint);
	config_put_server(app_config(app), p && p->saved ? p->cfg.name : NULL, &sv);
	if (p) {
		pool_set_cfg(p, &sv);
		p->saved = true;
	} else {
		char key[16];
		p = pools_add(app_pools(app), &sv, true);
		snprintf(key, sizeof(key), "%d", p->id);
		table_select(sf->table, key);
	}
	/* typed: for this run only; a source named instead wins from now on */
	if (*typed)
		pool_set_password(p, typed);
	else if (!pool_needs_password(p) && (sv.password_file || sv.password_env || sv.password_command))
		pool_set_password(p, NULL);
	/* the file's path is in the title line */
	if (save(app))
		app_message(app, MSG_INFO, "%s saved%s", sv.name,
			    is_connected(p) ? "; it applies at the next connection" : ": Enter connects");
	server_cfg_free(&sv);
}

static void open_form(struct app *app, struct servers *s, struct pool *p)
{
	static const char *const sources[] = {"ask when connecting", "a file", "an environment variable", "a command"};
	struct server_form *sf = xcalloc(1, sizeof(*sf));
	struct form *f = form_new();
	struct dialog *d;
	int source = SRC_ASK;
	const char *where = "";

	sf->app = app;
	sf->table = s->table;
	sf->pool_id = p ? p->id : 0;
	if (p && p->cfg.password_file) {
		source = SRC_FILE;
		where = p->cfg.password_file;
	} else if (p && p->cfg.password_env) {
		source = SRC_ENV;
		where = p->cfg.password_env;
	} else if (p && p->cfg.password_command) {
		source = SRC_COMMAND;
		where = p->cfg.password_command;
	}
	sf->f_label = form_text(f, "Label", p ? p->cfg.name : "", true);
	form_set_check(f, sf->f_label, check_label, sf);
	form_set_hint(f, sf->f_label, "e.g. home, lab");
	sf->f_address = form_text(f, "Address", p ? p->cfg.url : "", true);
	form_set_check(f, sf->f_address, check_address, sf);
	form_set_hint(f, sf->f_address, "host[:port]");
	sf->f_user = form_text(f, "User", p ? p->cfg.user : "root", true);
	/* "a command" only for a server the file already gives one */
	sf->f_source = form_choice(f, "Password from", sources, source == SRC_COMMAND ? 4 : 3, source);
	sf->f_where = form_text(f, "File/variable", where, false);
	form_set_check(f, sf->f_where, check_where, sf);
	form_set_hint(f, sf->f_where, "path, or NAME");
	sf->f_password = form_password(f, "Password", false);
	form_set_hint(f, sf->f_password, "this run only");
	sf->f_insecure = form_toggle(f, "Any certificate", p && p->cfg.insecure);
	form_set_hint(f, sf->f_insecure, "off: ask once");
	sf->f_auto = form_toggle(f, "Connect at start", p ? p->cfg.autoconnect : true);
	d = dialog_form(p ? "Edit server" : "Add server",
			"The password is never written to the configuration: name a file (chmod 600) or an "
			"environment variable holding it, or type it when connecting (kept in memory until xentui "
			"exits). Left/Right change a choice, Space a toggle.",
			f);
	dialog_on_done(d, on_server_form, NULL, sf);
	dialog_own_ud(d, server_form_free);
	app_open_dialog(app, d);
}

static void add_key(struct app *app, void *st)
{
	open_form(app, st, NULL);
}

static void edit_key(struct app *app, void *st)
{
	struct pool *p = selected(app, st);

	if (!p)
		app_message(app, MSG_INFO, "No server selected: a adds one");
	else if (p->demo)
		app_message(app, MSG_INFO, "The demo pool comes with --demo: it is not in the configuration");
	else
		open_form(app, st, p);
}

/* ---- remove ------------------------------------------------------------------------------ */

static void remove_now(struct pool *p, void *ud)
{
	struct app *app = ud;
	char *name = xstrdup(p->cfg.name);

	pools_remove(app_pools(app), p);
	app_message(app, MSG_INFO, "%s removed", name);
	free(name);
}

static void on_remove_answer(struct app *app, const struct dialog_result *r, const char *key, void *ud)
{
	struct pool *p = pool_of_key(app, key);

	if (!r->ok || !p)
		return;
	if (p->saved && config_remove_server(app_config(app), p->cfg.name) && !save(app))
		return;
	if (is_connected(p))
		pool_disconnect(app_pools(app), p, remove_now, app); /* logs out first */
	else
		remove_now(p, app);
}

static void remove_key(struct app *app, void *st)
{
	struct pool *p = selected(app, st);
	struct dialog *d;
	char *text, key[16];

	if (!p) {
		app_message(app, MSG_INFO, "No server selected");
		return;
	}
	if (p->demo) {
		app_message(app, MSG_INFO, "The demo pool goes when xentui does");
		return;
	}
	text = xasprintf("Remove %s (%s) from the servers%s? The pool itself is not touched.%s", p->cfg.name,
			 p->cfg.url, p->saved ? " and the configuration file" : "",
			 is_connected(p) ? " xentui logs out of it first." : "");
	d = dialog_confirm("Remove server", text, "Remove", "Keep", true);
	snprintf(key, sizeof(key), "%d", p->id);
	dialog_on_done(d, on_remove_answer, key, NULL);
	app_open_dialog(app, d);
	free(text);
}

static void servers_describe(struct app *app, void *st, char *buf, size_t n)
{
	snprintf(buf, n, "Servers %s %s", glyph(GLYPH_SEP), app_config(app)->path);
}

static const struct screen_key keys[] = {
	{XK_ENTER, "Connect", "Connect to the selected pool (asks for its password if needed); "
			      "on a connected one, its dashboard",
	 connect_key, NULL, false},
	{'c', "Connect", "Connect to the selected pool", connect_key, can_connect, true},
	{'d', "Disconnect", "Log out of the selected pool", disconnect_key, can_disconnect, true},
	{'a', "Add", "Add a server: label, address, user, password source, certificate", add_key, NULL, true},
	{'e', "Edit", "Edit the selected server (saved to the configuration file)", edit_key, has_server, true},
	{'D', "Remove", "Remove the selected server (asks first; logs out of it)", remove_key, has_server, true},
	{XK_DELETE, "Remove", "Remove the selected server (asks first)", remove_key, has_server, false},
	{0, NULL, NULL, NULL, NULL, false},
};

const struct screen screen_servers = {
	.name = "servers",
	.title = "Servers",
	.keys = keys,
	.enter = servers_enter,
	.leave = servers_leave,
	.draw = servers_draw,
	.on_cache_event = servers_event,
	.list = servers_list,
	.describe = servers_describe,
	.pool = servers_pool,
};
