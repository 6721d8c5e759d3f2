/* The pool: its name, master, hosts, default SR and HA state, live, and
 * what is done to a pool as a whole: rename, default SR, add a host, eject
 * one, designate a new master, HA on and off. One pool at a time; Tab
 * shows the next connected one. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "dialog.h"
#include "draw.h"
#include "form.h"
#include "keys.h"
#include "model.h"
#include "pool_join.h"
#include "screens.h"
#include "storage.h"
#include "table.h"
#include "util.h"

enum { COL_NAME, COL_ADDRESS, COL_ROLE, COL_STATE, COL_VMS };

static const struct table_col columns[] = {
	[COL_NAME] = {"NAME", 14, 2, false, false, 0},
	[COL_ADDRESS] = {"ADDRESS", 15, 1, false, false, 0},
	[COL_ROLE] = {"ROLE", 6, 0, false, false, 0},
	[COL_STATE] = {"STATE", 8, 0, false, false, 0},
	[COL_VMS] = {"VMS", 4, 0, true, true, 0},
};

#define HEAD_ROWS 9 /* the key-value lines above the hosts */

struct pool_screen {
	int pool_id; /* the pool shown; 0 until one is connected */
	struct table *hosts;
	bool asking; /* in app_pool, which asks this screen back (pool_pool) */
};

/* The pool shown: the one chosen, else the one the user looks at. */
static struct pool *shown(struct app *app, struct pool_screen *s)
{
	struct pool *p = s->pool_id ? pools_by_id(app_pools(app), s->pool_id) : NULL;

	if (!p || !p->cache) {
		if (s->asking)
			return NULL;
		s->asking = true;
		p = app_pool(app);
		s->asking = false;
		if (!p || !p->cache)
			p = pools_first_active(app_pools(app));
		s->pool_id = p ? p->id : 0;
	}
	return p && p->cache ? p : NULL;
}

static const char *master_ref(const struct cache *c)
{
	const struct xv *pool = pool_record(c, NULL);

	return pool ? rec_str(pool, "master") : "";
}

struct fill {
	struct pool_screen *s;
	struct pool *p;
};

static bool put_host(const char *ref, const struct xv *h, void *ud)
{
	struct fill *f = ud;
	struct host_use u;
	char vms[16], key[QREF_MAX];
	bool master = strcmp(ref, master_ref(f->p->cache)) == 0;

	host_use(f->p->cache, ref, h, NULL, &u);
	snprintf(vms, sizeof(vms), "%d", u.vms);
	{
		struct table_cell cells[] = {
			[COL_NAME] = {rec_str(h, "name_label"), 0, -1},
			[COL_ADDRESS] = {rec_str(h, "address"), 0, -1},
			[COL_ROLE] = {master ? "master" : "member", master ? 0 : 1, -1},
			[COL_STATE] = {u.state, 0, (int)u.role},
			[COL_VMS] = {vms, u.vms, -1},
		};
		table_put(f->s->hosts, pool_qref(f->p, ref, key, sizeof(key)), cells, ROLE_NORMAL, rec_str(h, "uuid"));
	}
	return true;
}

static void rebuild(struct app *app, struct pool_screen *s)
{
	struct pool *p = shown(app, s);
	struct fill f = {s, p};

	table_clear(s->hosts);
	if (p)
		cache_each(p->cache, "host", put_host, &f);
}

static void *pool_enter(struct app *app, const void *arg)
{
	struct pool_screen *s = xcalloc(1, sizeof(*s));

	s->hosts = table_new(columns, (int)(ARRAY_LEN(columns)));
	table_set_noun(s->hosts, "host", "hosts");
	table_sort(s->hosts, COL_ROLE, false); /* the master first */
	rebuild(app, s);
	return s;
}

static void pool_leave(struct app *app, void *st)
{
	struct pool_screen *s = st;

	table_free(s->hosts);
	free(s);
}

static void pool_event(struct app *app, void *st, struct pool *p, enum cache_op op, const char *cls,
		       const char *ref)
{
	if (!p || op == CACHE_LOADED || op == CACHE_STATUS
	    || (cls && (strcmp(cls, "host") == 0 || strcmp(cls, "pool") == 0 || strcmp(cls, "VM") == 0)))
		rebuild(app, st);
}

/* "enabled, tolerates 1 host failure, 1 heartbeat SR" or "disabled". */
static void ha_text(const struct xv *pool, char *buf, size_t n)
{
	long long tolerate = rec_int(pool, "ha_host_failures_to_tolerate");
	size_t srs = xv_len(rec_field(pool, "ha_statefiles"));

	if (!rec_bool(pool, "ha_enabled")) {
		snprintf(buf, n, "disabled");
		return;
	}
	snprintf(buf, n, "enabled, tolerates %lld host failure%s, %zu heartbeat SR%s%s", tolerate,
		 tolerate == 1 ? "" : "s", srs, srs == 1 ? "" : "s",
		 rec_bool(pool, "ha_overcommitted") ? "; overcommitted: the plan no longer covers that many (F)" : "");
}

static void pool_draw(struct app *app, void *st, WINDOW *w, int h, int cols)
{
	struct pool_screen *s = st;
	struct pool *p = shown(app, s);
	const struct xv *pool = p ? pool_record(p->cache, NULL) : NULL;
	const struct xv *master;
	const char *state_why;
	char buf[512];
	int line = 0, lw = 16, x = 2, cw = cols - 4;
	attr_t normal = theme_attr(ROLE_NORMAL);

	if (!pool) {
		ui_put(w, 1, 2, cols - 4, theme_attr(ROLE_WARN),
		       p ? "Loading..." : "No pool is connected (:servers connects one).");
		return;
	}
	master = cache_get(p->cache, rec_str(pool, "master"));
	ui_kv(w, line++, x, lw, cw, "Pool", rec_str(pool, "name_label"), theme_attr(ROLE_TITLE));
	ui_kv(w, line++, x, lw, cw, "Description", rec_str(pool, "name_description"), normal);
	snprintf(buf, sizeof(buf), "%s (%s)", master ? rec_str(master, "name_label") : "?",
		 master ? rec_str(master, "address") : "?");
	ui_kv(w, line++, x, lw, cw, "Master", buf, normal);
	snprintf(buf, sizeof(buf), "%zu", table_count(s->hosts));
	ui_kv(w, line++, x, lw, cw, "Hosts", buf, normal);
	ui_kv(w, line++, x, lw, cw, "Default SR",
	      is_null_ref(rec_str(pool, "default_SR")) ? "(none)" : name_of(p->cache, rec_str(pool, "default_SR")), normal);
	ha_text(pool, buf, sizeof(buf));
	ui_kv(w, line++, x, lw, cw, "HA", buf, normal);
	snprintf(buf, sizeof(buf), "%s via %s (server %s)", pool_state_name(pool_state(p, &state_why)), xapi_url(p->x),
		 p->cfg.name);
	ui_kv(w, line++, x, lw, cw, "Connection", buf, theme_attr(ROLE_DIM));
	line++;
	table_draw(s->hosts, w, HEAD_ROWS, 0, h - HEAD_ROWS, cols, !app_has_dialog(app));
}

static struct table *pool_list(struct app *app, void *st)
{
	return ((struct pool_screen *)st)->hosts;
}

static void pool_describe(struct app *app, void *st, char *buf, size_t n)
{
	struct pool *p = shown(app, st);
	const struct xv *pool = p ? pool_record(p->cache, NULL) : NULL;

	if (pool && pools_active(app_pools(app)) > 1)
		snprintf(buf, n, "Pool %s %s server %s (Tab: next pool)", rec_str(pool, "name_label"), glyph(GLYPH_SEP),
			 p->cfg.name);
	else
		snprintf(buf, n, "Pool %s", pool ? rec_str(pool, "name_label") : "");
}

static struct pool *pool_pool(struct app *app, void *st)
{
	return shown(app, st);
}

/* ---- the selected host -------------------------------------------------------------- */

/* The selected host's record, its pool and own ref; NULL after saying why. */
static const struct xv *selected_host(struct app *app, struct pool_screen *s, struct pool **p, const char **ref)
{
	const char *qref = table_selected(s->hosts);
	const struct xv *h = qref ? app_lookup(app, qref, p, ref) : NULL;

	if (!h)
		app_message(app, MSG_INFO, "No host selected");
	return h;
}

static bool has_pool(struct app *app, void *st)
{
	return shown(app, st) != NULL;
}

static bool several_pools(struct app *app, void *st)
{
	return pools_active(app_pools(app)) > 1;
}

static void open_host(struct app *app, void *st)
{
	struct pool_screen *s = st;
	const char *qref = table_selected(s->hosts);

	if (qref)
		app_push(app, &screen_host, qref);
}

static void next_pool(struct app *app, void *st)
{
	struct pool_screen *s = st;
	struct pools *ps = app_pools(app);
	size_t n = pools_count(ps), at = 0;

	for (size_t i = 0; i < n; i++)
		if (pools_at(ps, i)->id == s->pool_id)
			at = i;
	for (size_t k = 1; k <= n; k++) {
		struct pool *p = pools_at(ps, (at + k) % n);
		if (p->cache) {
			s->pool_id = p->id;
			break;
		}
	}
	rebuild(app, s);
}

/* ---- rename, default SR -------------------------------------------------------------------- */

static struct xv *params_ref(const char *ref)
{
	struct xv *p = xv_array();

	xv_array_push(p, xv_string(ref));
	return p;
}

static void on_rename(struct app *app, const struct dialog_result *r, const char *id, void *ud)
{
	struct pool *p = pools_by_id(app_pools(app), atoi(id));
	const char *ref;
	struct xv *params;

	if (!r->ok || !p || !p->cache || !pool_record(p->cache, &ref))
		return;
	params = params_ref(ref);
	xv_array_push(params, xv_string(form_get_text(r->form, 0)));
	app_call(app, p, "Rename the pool", "pool.set_name_label", params);
}

static void act_rename(struct app *app, void *st)
{
	struct pool *p = shown(app, st);
	const struct xv *pool = p ? pool_record(p->cache, NULL) : NULL;
	struct form *f;
	struct dialog *d;
	char id[16];

	if (!pool)
		return;
	f = form_new();
	form_text(f, "New name", rec_str(pool, "name_label"), false);
	d = dialog_form("Rename the pool", NULL, f);
	snprintf(id, sizeof(id), "%d", p->id);
	dialog_on_done(d, on_rename, id, NULL);
	app_open_dialog(app, d);
}

struct sr_choice {
	struct dialog *d;
	const struct cache *c;
	int n;
};

static bool add_shared_sr(const char *ref, const struct xv *sr, void *ud)
{
	struct sr_choice *ch = ud;
	char detail[64];

	/* a default SR holds VM disks: shared, and not an ISO library */
	if (!rec_bool(sr, "shared") || strcmp(rec_str(sr, "content_type"), "iso") == 0)
		return true;
	snprintf(detail, sizeof(detail), "%s", rec_str(sr, "type"));
	dialog_add_choice(ch->d, ref, rec_str(sr, "name_label"), detail);
	ch->n++;
	return true;
}

/* The SRs sr_default_refusal accepts (the rule :storage follows too). */
static bool add_default_sr(const char *ref, const struct xv *sr, void *ud)
{
	struct sr_choice *ch = ud;
	char *why = sr_default_refusal(ch->c, sr);

	if (why) {
		free(why);
		return true;
	}
	dialog_add_choice(ch->d, ref, rec_str(sr, "name_label"), rec_str(sr, "type"));
	ch->n++;
	return true;
}

static void on_default_sr(struct app *app, const struct dialog_result *r, const char *id, void *ud)
{
	struct pool *p = pools_by_id(app_pools(app), atoi(id));
	const char *ref;
	struct xv *params;
	char *label;

	if (!r->ok || !p || !p->cache || !pool_record(p->cache, &ref))
		return;
	params = params_ref(ref);
	xv_array_push(params, xv_string(r->choice_key));
	label = xasprintf("Make '%s' the default SR", name_of(p->cache, r->choice_key));
	app_call(app, p, label, "pool.set_default_SR", params);
	free(label);
}

static void act_default_sr(struct app *app, void *st)
{
	struct pool *p = shown(app, st);
	struct sr_choice ch = {NULL, NULL, 0};
	char id[16];

	if (!p)
		return;
	ch.d = dialog_choose("Default SR", "Where new VM disks go by default (shared SRs only: a local SR is "
					   "seen by one host, and a new VM may start on any):");
	ch.c = p->cache;
	cache_each(p->cache, "SR", add_default_sr, &ch);
	if (!ch.n) {
		dialog_free(ch.d);
		app_message(app, MSG_ERROR, "The pool has no shared SR for VM disks");
		return;
	}
	snprintf(id, sizeof(id), "%d", p->id);
	dialog_on_done(ch.d, on_default_sr, id, NULL);
	app_open_dialog(app, ch.d);
}

/* ---- hosts: add, eject, new master ------------------------------------------------------- */

static void act_add_host(struct app *app, void *st)
{
	pool_join_add_host(app, shown(app, st));
}

/* An answered dialog about a host: method(host) with a label from
 * label_fmt (its name), as a task (app_op) or a plain call. */
static void on_host_answer(struct app *app, const struct dialog_result *r, const char *qref, const char *label_fmt,
			   const char *method, bool task)
{
	struct pool *p;
	const char *ref;
	const struct xv *h;
	char *label;

	if (!r->ok || !(h = app_lookup(app, qref, &p, &ref)))
		return;
	label = xasprintf(label_fmt, rec_str(h, "name_label"));
	if (task)
		app_op(app, p, label, method, params_ref(ref));
	else
		app_call(app, p, label, method, params_ref(ref));
	free(label);
}

/* The selected host unless it is the master, which is said instead
 * (level, master_fmt with its name); NULL then. */
static const struct xv *selected_member(struct app *app, struct pool_screen *s, struct pool **p, const char **ref,
					enum msg_level level, const char *master_fmt)
{
	const struct xv *h = selected_host(app, s, p, ref);

	if (h && strcmp(*ref, master_ref((*p)->cache)) == 0) {
		app_message(app, level, master_fmt, rec_str(h, "name_label"));
		return NULL;
	}
	return h;
}

static void on_eject(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	on_host_answer(app, r, qref, "Eject host '%s'", "pool.eject", true);
}

static void act_eject(struct app *app, void *st)
{
	struct pool_screen *s = st;
	struct pool *p;
	const char *ref;
	const struct xv *h = selected_member(app, s, &p, &ref, MSG_ERROR,
					     "'%s' is the master: designate another master first (M)");
	struct dialog *d;
	char *text;

	if (!h)
		return;
	text = xasprintf("Eject '%s' from the pool? The host leaves the pool, wipes its database and reboots as a "
			 "standalone host. Its local VMs and local storage are LOST: the pool forgets them and the "
			 "host comes back without them. Shut its VMs down or move them first.",
			 rec_str(h, "name_label"));
	d = dialog_type_name("Eject host", text, rec_str(h, "name_label"));
	dialog_on_done(d, on_eject, table_selected(s->hosts), NULL);
	app_open_dialog(app, d);
	free(text);
}

static void on_new_master(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	/* a plain call: the task would stay behind on the old master */
	on_host_answer(app, r, qref, "Make '%s' the pool master", "pool.designate_new_master", false);
}

static void act_new_master(struct app *app, void *st)
{
	struct pool_screen *s = st;
	struct pool *p;
	const char *ref;
	const struct xv *h = selected_member(app, s, &p, &ref, MSG_INFO, "'%s' is the master already");
	struct dialog *d;
	char *text;

	if (!h)
		return;
	text = xasprintf("Make '%s' (%s) the pool master? The current master becomes a member; the pool's "
			 "clients reconnect to the new master (xentui does by itself). VMs keep running.",
			 rec_str(h, "name_label"), rec_str(h, "address"));
	d = dialog_confirm("New pool master", text, "Designate", "Cancel", false);
	dialog_on_done(d, on_new_master, table_selected(s->hosts), NULL);
	app_open_dialog(app, d);
	free(text);
}

/* ---- HA ------------------------------------------------------------------------------------- */

static void on_ha_disable(struct app *app, const struct dialog_result *r, const char *id, void *ud)
{
	struct pool *p = pools_by_id(app_pools(app), atoi(id));

	if (r->ok && p && p->cache)
		app_op(app, p, "Disable HA", "pool.disable_ha", xv_array());
}

/* Failures to tolerate: asked when HA is turned on (then enabled with that
 * number, as XenCenter does: pool.set_ha_host_failures_to_tolerate, then
 * pool.enable_ha) and changed later with F; the most offered is xapi's own
 * plan, pool.ha_compute_max_host_failures_to_tolerate. */
struct ha_ask {
	struct app *app;
	int pool_id;
	char *sr; /* the heartbeat SR when enabling; NULL when changing */
};

static void ha_ask_free(void *ud)
{
	struct ha_ask *q = ud;

	free(q->sr);
	free(q);
}

static void on_failures_set(struct app *app, struct pool *p, bool ok, void *ud)
{
	struct ha_ask *q = ud;
	struct xv *params, *srs;
	char *label;

	if (ok && q->sr && p && p->cache && !app_quitting(app)) {
		params = xv_array();
		srs = xv_array();
		xv_array_push(srs, xv_string(q->sr));
		xv_array_push(params, srs);
		xv_array_push(params, xv_struct());
		label = xasprintf("Enable HA (heartbeat on '%s')", name_of(p->cache, q->sr));
		app_op(app, p, label, "pool.enable_ha", params);
		free(label);
	}
	app_release(app, q);
}

static void on_failures_form(struct app *app, const struct dialog_result *r, const char *id, void *ud)
{
	const struct ha_ask *proto = ud;
	struct pool *p = pools_by_id(app_pools(app), proto->pool_id);
	struct ha_ask *q;
	const char *ref;
	struct xv *params;
	long long n;
	char *label;

	if (!r->ok || !p || !p->cache || !pool_record(p->cache, &ref))
		return;
	n = form_get_number(r->form, 0);
	q = xcalloc(1, sizeof(*q));
	q->pool_id = proto->pool_id;
	q->sr = proto->sr ? xstrdup(proto->sr) : NULL;
	app_keep(app, q, ha_ask_free);
	params = params_ref(ref);
	xv_array_push(params, xv_int(n));
	label = xasprintf("HA: tolerate %lld host failure%s", n, n == 1 ? "" : "s");
	app_call_then(app, p, label, "pool.set_ha_host_failures_to_tolerate", params, on_failures_set, q);
	free(label);
}

static void on_max_failures(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct ha_ask *q = ud;
	struct app *app = q->app;
	struct pool *p = pools_by_id(app_pools(app), q->pool_id);
	const struct xv *pool = p && p->cache ? pool_record(p->cache, NULL) : NULL;
	int64_t max = -1;
	long long hosts, now;
	struct form *f;
	struct dialog *d;
	char *text, hint[64];

	if (!pool || app_quitting(app)) {
		ha_ask_free(q);
		return;
	}
	hosts = (long long)cache_count(p->cache, "host");
	if (r->failure != XAPI_OK || !xv_get_int64(r->value, &max) || max < 0) {
		app_message(app, MSG_ERROR, "HA: xapi did not say how many host failures its plan covers: %s",
			    r->message ? r->message : "no answer");
		ha_ask_free(q);
		return;
	}
	now = rec_int(pool, "ha_host_failures_to_tolerate");
	f = form_new();
	/* enabling: xapi's maximum to start with; changing: the number set */
	form_number(f, "Failures to tolerate", q->sr || now > max ? max : now, 0, max, max == 1 ? "host" : "hosts");
	snprintf(hint, sizeof(hint), "xapi: at most %lld", (long long)max);
	form_set_hint(f, 0, hint);
	text = xasprintf("How many of the %lld hosts may fail at once with every protected VM (restart priority "
			 "'restart'; H on :vms sets it) restarted on the others. xapi's plan covers at most %lld "
			 "with the VMs protected now%s.",
			 hosts, (long long)max,
			 max == 0 ? ": protect fewer VMs or free memory for more" : "");
	d = dialog_form(q->sr ? "Enable HA: failures to tolerate" : "HA: failures to tolerate", text, f);
	dialog_on_done(d, on_failures_form, NULL, q);
	dialog_own_ud(d, ha_ask_free);
	app_open_dialog(app, d);
	free(text);
}

static void ask_failures(struct app *app, struct pool *p, const char *sr)
{
	struct ha_ask *q = xcalloc(1, sizeof(*q));

	q->app = app;
	q->pool_id = p->id;
	q->sr = sr ? xstrdup(sr) : NULL;
	app_query(app, p, "pool.ha_compute_max_host_failures_to_tolerate", xv_array(), on_max_failures, q);
}

static void on_ha_enable(struct app *app, const struct dialog_result *r, const char *id, void *ud)
{
	struct pool *p = pools_by_id(app_pools(app), atoi(id));

	if (r->ok && p && p->cache)
		ask_failures(app, p, r->choice_key);
}

static void act_ha_failures(struct app *app, void *st)
{
	struct pool *p = shown(app, st);
	const struct xv *pool = p ? pool_record(p->cache, NULL) : NULL;

	if (!pool)
		return;
	if (!rec_bool(pool, "ha_enabled")) {
		app_message(app, MSG_INFO, "HA is off: H turns it on and asks how many host failures to tolerate");
		return;
	}
	ask_failures(app, p, NULL);
}

static void act_ha(struct app *app, void *st)
{
	struct pool *p = shown(app, st);
	const struct xv *pool = p ? pool_record(p->cache, NULL) : NULL;
	struct sr_choice ch = {NULL, NULL, 0};
	struct dialog *d;
	char id[16];

	if (!pool)
		return;
	snprintf(id, sizeof(id), "%d", p->id);
	if (rec_bool(pool, "ha_enabled")) {
		d = dialog_confirm("Disable HA",
				   "Disable high availability? VMs are no longer restarted elsewhere when a host fails.",
				   "Disable", "Cancel", true);
		dialog_on_done(d, on_ha_disable, id, NULL);
		app_open_dialog(app, d);
		return;
	}
	ch.d = dialog_choose("Enable HA", "High availability restarts protected VMs on other hosts when a host "
					  "fails. Its heartbeat needs a shared SR every host sees:");
	ch.c = p->cache;
	cache_each(p->cache, "SR", add_shared_sr, &ch);
	if (!ch.n) {
		dialog_free(ch.d);
		app_message(app, MSG_ERROR, "HA needs a shared SR for its heartbeat; the pool has none");
		return;
	}
	dialog_on_done(ch.d, on_ha_enable, id, NULL);
	app_open_dialog(app, ch.d);
}

static const struct screen_key keys[] = {
	{XK_ENTER, "Open", "Open the selected host", open_host, has_pool, true},
	{'a', "Add host", "Add a host to the pool: its address and credentials (pool.join on it)", act_add_host,
	 has_pool, true},
	{'E', "Eject", "Eject the selected host (type its name; its local VMs and storage are lost)", act_eject,
	 has_pool, true},
	{'M', "Make master", "Designate the selected host as the new pool master", act_new_master, has_pool, true},
	{'e', "Rename", "Rename the pool", act_rename, has_pool, true},
	{SR_DEFAULT_KEY, "Default SR", "Choose the pool's default SR among its shared SRs", act_default_sr, has_pool,
	 true},
	{'H', "HA", "Enable high availability (its heartbeat SR, then how many host failures to tolerate), or "
		    "disable it", act_ha, has_pool, false},
	{'F', "HA failures", "HA on: change how many host failures it tolerates (up to xapi's plan)", act_ha_failures,
	 has_pool, false},
	{XK_TAB, "Next pool", "Show the next connected pool", next_pool, several_pools, true},
	{0, NULL, NULL, NULL, NULL, false},
};

const struct screen screen_pool = {
	.name = "pool",
	.title = "Pool",
	.keys = keys,
	.enter = pool_enter,
	.leave = pool_leave,
	.draw = pool_draw,
	.on_cache_event = pool_event,
	.list = pool_list,
	.describe = pool_describe,
	.pool = pool_pool,
	.filter_help = "member\tthe members (master: the master)\n"
		       "xcp 02\twords match anywhere in the row, uuid too",
};
