/* :updates — the updates each host of the pool can install, from XCP-ng's
 * updater plugin (host.call_plugin updater.py check_update), and the
 * rolling pool update: one host at a time, master first, evacuate,
 * update, reboot, wait for it, bring its VMs back (host_jobs.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialog.h"
#include "draw.h"
#include "host_jobs.h"
#include "keys.h"
#include "model.h"
#include "screens.h"
#include "table.h"
#include "util.h"

/* What the last check said of one host; kept across visits of the screen
 * (and written by replies that come after the screen has gone). */
enum check_state { CHECK_NONE, CHECK_RUNNING, CHECK_DONE, CHECK_FAILED };

struct check {
	int pool_id;
	char *ref;
	enum check_state state;
	unsigned gen; /* of the call whose answer counts: a later ask overrides an earlier one */
	int count;
	char *names; /* "xapi-core 25.6.1, kernel 4.19.19" */
	char *error;
	struct check *next;
};

/* Every host's last check, owned by the app (app_keep) from the first ask
 * to its end; the static only finds it. */
struct checks {
	struct check *head;
};

static struct checks *checks;

static void checks_free(void *data)
{
	struct checks *cs = data;

	while (cs->head) {
		struct check *c = cs->head;
		cs->head = c->next;
		free(c->ref);
		free(c->names);
		free(c->error);
		free(c);
	}
	free(cs);
	if (checks == cs)
		checks = NULL;
}

/* app is needed only to create. */
static struct check *check_of(struct app *app, int pool_id, const char *ref)
{
	struct check *c;

	for (c = checks ? checks->head : NULL; c; c = c->next)
		if (c->pool_id == pool_id && strcmp(c->ref, ref) == 0)
			return c;
	if (!app)
		return NULL;
	if (!checks) {
		checks = xcalloc(1, sizeof(*checks));
		app_keep(app, checks, checks_free);
	}
	c = xcalloc(1, sizeof(*c));
	c->pool_id = pool_id;
	c->ref = xstrdup(ref);
	c->next = checks->head;
	checks->head = c;
	return c;
}

/* Reads a JSON string value starting at the opening quote; returns the
 * position after the closing one and copies it (escapes kept) into out. */
static const char *json_str(const char *s, char *out, size_t n)
{
	size_t k = 0;

	for (s++; *s && *s != '"'; s++) {
		if (*s == '\\' && s[1])
			s++;
		if (k + 1 < n)
			out[k++] = *s;
	}
	if (n)
		out[k] = '\0';
	return *s ? s + 1 : s;
}

/* The updater's answer is a JSON list of objects, one per package, each
 * with "name" and "version": counts them and lists names and versions. */
static void parse_updates(struct check *c, const char *json)
{
	struct buf b;
	int depth = 0;
	char key[256] = "", name[256] = "", version[256] = "";
	bool want_value = false;

	buf_init(&b);
	c->count = 0;
	for (const char *s = json; s && *s;) {
		if (*s == '"') {
			char text[256];
			s = json_str(s, text, sizeof(text));
			if (depth == 2 && want_value) {
				if (strcmp(key, "name") == 0)
					snprintf(name, sizeof(name), "%s", text);
				else if (strcmp(key, "version") == 0)
					snprintf(version, sizeof(version), "%s", text);
				want_value = false;
			} else if (depth == 2) {
				snprintf(key, sizeof(key), "%s", text);
			}
			continue;
		}
		if (*s == ':')
			want_value = true;
		else if (*s == ',')
			want_value = false;
		else if (*s == '{' || *s == '[') {
			depth++;
			if (depth == 2)
				name[0] = version[0] = '\0';
		} else if (*s == '}' || *s == ']') {
			if (depth == 2 && *s == '}') {
				c->count++;
				buf_sep(&b, ", ");
				buf_puts(&b, name);
				if (*version) {
					buf_putc(&b, ' ');
					buf_puts(&b, version);
				}
			}
			depth--;
			want_value = false;
		}
		s++;
	}
	buf_putc(&b, '\0');
	free(c->names);
	c->names = xstrdup(b.data);
	buf_free(&b);
}

struct check_req {
	struct app *app;
	int pool_id;
	char *ref;
	unsigned gen;
};

static void on_checked(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct check_req *q = ud;
	struct check *c = check_of(q->app, q->pool_id, q->ref);

	if (q->gen != c->gen) {
		/* overtaken by a later ask (after an update): its answer is the one that counts */
		free(q->ref);
		free(q);
		return;
	}
	free(c->error);
	c->error = NULL;
	if (r->failure == XAPI_OK && xv_str(r->value)) {
		c->state = CHECK_DONE;
		parse_updates(c, xv_str(r->value));
	} else {
		c->state = CHECK_FAILED;
		c->error = xstrdup(r->message ? r->message : "no answer");
	}
	app_dirty(q->app);
	free(q->ref);
	free(q);
}

/* again: a check under way is overridden (its answer may predate an update) */
static void check_host(struct app *app, struct pool *p, const char *ref, bool again)
{
	struct check *c = check_of(app, p->id, ref);
	struct check_req *q;
	struct xv *params;

	if (c->state == CHECK_RUNNING && !again)
		return;
	c->state = CHECK_RUNNING;
	q = xcalloc(1, sizeof(*q));
	q->app = app;
	q->pool_id = p->id;
	q->ref = xstrdup(ref);
	q->gen = ++c->gen;
	params = xv_array();
	xv_array_push(params, xv_string(ref));
	xv_array_push(params, xv_string("updater.py"));
	xv_array_push(params, xv_string("check_update"));
	xv_array_push(params, xv_struct());
	app_query(app, p, "host.call_plugin", params, on_checked, q);
}

struct updates_screen {
	int pool_id;
	struct table *t;
};

static const struct table_col cols[] = {
	{"HOST", 14, 1, false, false, 0}, {"STATE", 9, 0, false, false, 0}, {"UPDATES", 7, 0, true, true, 0},
	{"XAPI", 8, 0, false, false, 2},  {"PACKAGES", 20, 3, false, false, 1},
};

static struct pool *upd_pool(struct app *app, struct updates_screen *s)
{
	struct pool *p = pools_by_id(app_pools(app), s->pool_id);

	return p && p->cache ? p : NULL;
}

static bool check_each(const char *ref, const struct xv *h, void *ud)
{
	void **args = ud;
	const struct xv *m = cache_get(((struct pool *)args[1])->cache, rec_str(h, "metrics"));

	if (m && rec_bool(m, "live"))
		check_host(args[0], args[1], ref, false);
	return true;
}

void updates_recheck(struct app *app, struct pool *p, const char *host)
{
	const struct xv *h = p && p->x && p->cache ? cache_get(p->cache, host) : NULL;
	const struct xv *m = h ? cache_get(p->cache, rec_str(h, "metrics")) : NULL;

	/* a host down answers nothing: its end of the job asks again */
	if (m && rec_bool(m, "live"))
		check_host(app, p, host, true);
	else if (p) {
		struct check *c = check_of(NULL, p->id, host);
		if (c) {
			/* the list it gave is stale: "?" until asked again */
			c->state = CHECK_NONE;
			c->gen++;
		}
	}
	app_dirty(app);
}

static void check_all(struct app *app, struct pool *p)
{
	void *args[2] = {app, p};

	if (p && p->x)
		cache_each(p->cache, "host", check_each, args);
}

static void *updates_enter(struct app *app, const void *arg)
{
	struct updates_screen *s = xcalloc(1, sizeof(*s));
	struct pool *p = app_pool(app);

	s->pool_id = p ? p->id : -1;
	s->t = table_new(cols, (int)(ARRAY_LEN(cols)));
	table_set_noun(s->t, "host", "hosts");
	if (p && p->cache && cache_loaded(p->cache))
		check_all(app, p);
	return s;
}

static void updates_leave(struct app *app, void *st)
{
	struct updates_screen *s = st;

	table_free(s->t);
	free(s);
}

struct fill {
	struct pool *p;
	struct table *t;
};

static bool host_row(const char *ref, const struct xv *h, void *ud)
{
	struct fill *f = ud;
	struct host_use u;
	const struct check *c = check_of(NULL, f->p->id, ref);
	char count[16];
	const char *pkgs = "";
	int role = -1;

	host_use(f->p->cache, ref, h, NULL, &u);
	if (!c || c->state == CHECK_NONE)
		snprintf(count, sizeof(count), "?");
	else if (c->state == CHECK_RUNNING)
		snprintf(count, sizeof(count), "...");
	else if (c->state == CHECK_FAILED) {
		snprintf(count, sizeof(count), "error");
		pkgs = c->error;
		role = ROLE_BAD;
	} else {
		snprintf(count, sizeof(count), "%d", c->count);
		pkgs = c->count ? c->names : "up to date";
		role = c->count ? ROLE_WARN : ROLE_GOOD;
	}
	{
		const char *xapi = rec_map(h, "software_version", "xapi_build");
		struct table_cell cells[] = {
			{rec_str(h, "name_label"), 0, -1},
			{u.state, 0, (int)u.role},
			{count, c && c->state == CHECK_DONE ? c->count : -1, role},
			{xapi ? xapi : "", 0, -1},
			{pkgs, 0, -1},
		};
		table_put(f->t, ref, cells, ROLE_NORMAL, NULL);
	}
	return true;
}

static void updates_draw(struct app *app, void *st, WINDOW *w, int h, int cols_)
{
	struct updates_screen *s = st;
	struct pool *p = upd_pool(app, s);
	struct fill f = {p, s->t};
	int rows;

	if (!p) {
		ui_put(w, 1, 2, cols_ - 4, theme_attr(ROLE_WARN), "No pool is connected (Esc goes back).");
		return;
	}
	table_clear(s->t);
	cache_each(p->cache, "host", host_row, &f);
	rows = (int)table_count(s->t) + 2;
	if (rows > h / 2)
		rows = h / 2;
	table_draw(s->t, w, 0, 0, rows, cols_, !app_has_dialog(app));
	host_jobs_draw(w, rows + 1, h - rows - 1, cols_);
}

static struct table *updates_list(struct app *app, void *st)
{
	return ((struct updates_screen *)st)->t;
}

static void act_recheck(struct app *app, void *st)
{
	struct updates_screen *s = st;
	struct pool *p = upd_pool(app, s);

	check_all(app, p);
	app_message(app, MSG_INFO, "Checking every host for updates");
}

struct order {
	const char **refs;
	size_t n;
	const char *master;
};

static bool add_member(const char *ref, const struct xv *h, void *ud)
{
	struct order *o = ud;

	if (strcmp(ref, o->master) != 0)
		o->refs[o->n++] = ref;
	return true;
}

static void on_rolling_answer(struct app *app, const struct dialog_result *r, const char *ref, void *ud)
{
	struct updates_screen *s = ud;
	struct pool *p = pools_by_id(app_pools(app), atoi(ref));
	const struct xv *pool;
	struct order o;

	if (!r->ok || !p || !p->cache || !(pool = pool_record(p->cache, NULL)))
		return;
	(void)s;
	/* the master first, as XO does: members must not run newer software than it */
	o.master = rec_str(pool, "master");
	o.refs = xcalloc(cache_count(p->cache, "host") + 1, sizeof(*o.refs));
	o.refs[0] = o.master;
	o.n = 1;
	cache_each(p->cache, "host", add_member, &o);
	host_job_start(app, p, JOB_ROLLING, o.refs, o.n);
	free(o.refs);
}

static void act_rolling(struct app *app, void *st)
{
	struct updates_screen *s = st;
	struct pool *p = upd_pool(app, s);
	struct dialog *d;
	char *text, id[16];
	size_t n;

	if (!p || !cache_loaded(p->cache)) {
		app_message(app, MSG_INFO, "The pool is not connected");
		return;
	}
	n = cache_count(p->cache, "host");
	text = xasprintf("Update the %zu host%s one at a time, the master first: each is evacuated, updated and "
			 "rebooted, then its VMs come back. While the master reboots the pool cannot be managed and "
			 "the connection drops for a while; xentui reconnects and goes on.",
			 n, n == 1 ? "" : "s");
	d = dialog_confirm("Rolling pool update", text, "Update the pool", "Cancel", true);
	snprintf(id, sizeof(id), "%d", p->id);
	dialog_on_done(d, on_rolling_answer, id, s);
	app_open_dialog(app, d);
	free(text);
}

static void act_details(struct app *app, void *st)
{
	struct updates_screen *s = st;
	struct pool *p = upd_pool(app, s);
	const char *ref = table_selected(s->t);
	const struct check *c = p && ref ? check_of(NULL, p->id, ref) : NULL;
	char *text;

	if (!c || c->state != CHECK_DONE) {
		app_message(app, MSG_INFO, "No list for this host yet (r checks again)");
		return;
	}
	text = xasprintf("%d update%s: %s", c->count, c->count == 1 ? "" : "s", c->count ? c->names : "none");
	app_open_dialog(app, dialog_message(name_of(p->cache, ref), text));
	free(text);
}

static const struct screen_key keys[] = {
	{XK_ENTER, "Details", "The packages the selected host would update", act_details, NULL, true},
	{'r', "Check again", "Ask every host's updater for its list again", act_recheck, NULL, true},
	{'U', "Rolling update", "Update every host, one at a time, master first, VMs moved away and back", act_rolling,
	 NULL, true},
	{'c', "Cancel", "Cancel the running rolling update (or other host operation): it stops after the step under "
			"way and says what state the hosts are left in",
	 host_jobs_cancel, host_jobs_running, true},
	{0, NULL, NULL, NULL, NULL, false},
};

static struct pool *updates_pool(struct app *app, void *st)
{
	return upd_pool(app, st);
}

const struct screen screen_updates = {
	.name = "updates",
	.title = "Updates",
	.keys = keys,
	.enter = updates_enter,
	.leave = updates_leave,
	.draw = updates_draw,
	.list = updates_list,
	.pool = updates_pool,
};
