/* Storage: every SR of every connected pool with its type, size, use and
 * host (local SRs), the pool's default marked, live; new SR, rescan,
 * default, upload an ISO, forget or destroy. The SR actions live here too:
 * the SR screen (sr.c) offers the same. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "dialog.h"
#include "draw.h"
#include "keys.h"
#include "model.h"
#include "screens.h"
#include "storage.h"
#include "table.h"
#include "units.h"
#include "util.h"

enum { COL_NAME, COL_TYPE, COL_SHARED, COL_SIZE, COL_USED, COL_USE, COL_HOST, COL_POOL, NCOLS };

static const struct table_col columns[] = {
	[COL_NAME] = {"NAME", 14, 3, false, false, 0},
	[COL_TYPE] = {"TYPE", 5, 0, false, false, 0},
	[COL_SHARED] = {"SHARED", 6, 0, false, false, 3},
	[COL_SIZE] = {"SIZE", 9, 0, true, true, 0},
	[COL_USED] = {"USED", 9, 0, true, true, 2},
	[COL_USE] = {"USE", 15, 0, false, true, 0},
	[COL_HOST] = {"HOST", 10, 1, false, false, 1},
	[COL_POOL] = {"POOL", 8, 1, false, false, 0},
};

struct storage {
	struct table *table;
};

/* ---- what the screens say about an SR --------------------------------------------- */

bool sr_is_iso(const struct xv *sr)
{
	return strcmp(rec_str(sr, "content_type"), "iso") == 0 && strcmp(rec_str(sr, "type"), "udev") != 0;
}

bool sr_is_default(const struct cache *c, const char *ref)
{
	const struct xv *pool = pool_record(c, NULL);

	return pool && strcmp(rec_str(pool, "default_SR"), ref) == 0;
}

char *sr_default_refusal(const struct cache *c, const struct xv *sr)
{
	const char *host;

	if (sr_is_iso(sr) || strcmp(rec_str(sr, "type"), "udev") == 0)
		return xasprintf("'%s' holds %s, not virtual disks: it cannot be the default SR",
				 rec_str(sr, "name_label"), sr_is_iso(sr) ? "ISO images" : "removable devices");
	if (!rec_bool(sr, "shared")) {
		host = sr_host_name(c, sr);
		return xasprintf("The default SR must be shared: '%s' is local to %s, and a new VM may start on any "
				 "host",
				 rec_str(sr, "name_label"), *host ? host : "one host");
	}
	return NULL;
}

const char *sr_host_name(const struct cache *c, const struct xv *sr)
{
	const struct xv *pbds = rec_field(sr, "PBDs");
	const struct xv *pbd;

	if (rec_bool(sr, "shared") || xv_len(pbds) != 1 || !(pbd = cache_get(c, xv_str(xv_at(pbds, 0)))))
		return "";
	return name_of(c, rec_str(pbd, "host"));
}

/* ---- the list ------------------------------------------------------------------------- */

static bool put_sr(const char *ref, const struct xv *sr, void *ud)
{
	void **ctx = ud;
	struct storage *s = ctx[0];
	struct pool *p = ctx[1];
	long long total = rec_int(sr, "physical_size"), used = rec_int(sr, "physical_utilisation");
	double frac = total > 0 ? (double)used / (double)total : 0;
	char size[24], usedt[24], use[64], bar[48], key[QREF_MAX], *name, *extra;
	bool is_default = sr_is_default(p->cache, ref);

	size_format(size, sizeof(size), total);
	size_format(usedt, sizeof(usedt), used);
	bar_text(bar, sizeof(bar), frac, 8);
	snprintf(use, sizeof(use), "%s %3.0f%%", bar, frac * 100);
	/* the pool's default marked beside its name: no column to lose when narrow */
	name = is_default ? xasprintf("%s " DEFAULT_MARK, rec_str(sr, "name_label")) : xstrdup(rec_str(sr, "name_label"));
	/* matched by / but not shown: "/default" finds it */
	extra = xasprintf("%s%s", rec_str(sr, "uuid"), is_default ? " default" : "");
	{
		struct table_cell cells[] = {
			[COL_NAME] = {name, 0, -1},
			[COL_TYPE] = {rec_str(sr, "type"), 0, -1},
			[COL_SHARED] = {rec_bool(sr, "shared") ? "yes" : "no", 0, -1},
			[COL_SIZE] = {size, (double)total, -1},
			[COL_USED] = {usedt, (double)used, -1},
			[COL_USE] = {use, frac, frac > 0.9 ? (int)ROLE_BAD : frac > 0.8 ? (int)ROLE_WARN : -1},
			[COL_HOST] = {sr_host_name(p->cache, sr), 0, -1},
			[COL_POOL] = {p->cfg.name, 0, -1},
		};
		table_put(s->table, pool_qref(p, ref, key, sizeof(key)), cells, ROLE_NORMAL, extra);
	}
	free(name);
	free(extra);
	return true;
}

static void rebuild(struct app *app, struct storage *s)
{
	struct pools *ps = app_pools(app);

	table_clear(s->table);
	for (size_t i = 0; i < pools_count(ps); i++) {
		struct pool *p = pools_at(ps, i);
		void *ctx[2] = {s, p};
		if (p->cache)
			cache_each(p->cache, "SR", put_sr, ctx);
	}
	table_show_col(s->table, COL_POOL, app_many_pools(app));
}

static void *storage_enter(struct app *app, const void *arg)
{
	struct storage *s = xcalloc(1, sizeof(*s));

	s->table = table_new(columns, NCOLS);
	table_set_noun(s->table, "SR", "SRs");
	rebuild(app, s);
	return s;
}

static void storage_leave(struct app *app, void *st)
{
	struct storage *s = st;

	table_free(s->table);
	free(s);
}

static void storage_event(struct app *app, void *st, struct pool *p, enum cache_op op, const char *cls,
			  const char *ref)
{
	/* few SRs; a row reads the pool (default), PBDs and hosts too */
	if (!p || op == CACHE_LOADED
	    || (cls && (strcmp(cls, "SR") == 0 || strcmp(cls, "PBD") == 0 || strcmp(cls, "pool") == 0
			|| strcmp(cls, "host") == 0)))
		rebuild(app, st);
}

static void storage_draw(struct app *app, void *st, WINDOW *w, int h, int cols)
{
	struct storage *s = st;
	int n = sr_uploads_count(-1, NULL), up = n > h / 2 ? h / 2 : n;

	table_draw(s->table, w, 0, 0, h - up, cols, !app_has_dialog(app));
	if (up)
		sr_uploads_draw(app, w, h - up, up, cols, -1, NULL);
}

static void storage_describe(struct app *app, void *st, char *buf, size_t n)
{
	snprintf(buf, n, "Storage (" DEFAULT_MARK " the pool's default SR)");
}

static struct table *storage_list(struct app *app, void *st)
{
	return ((struct storage *)st)->table;
}

static struct pool *storage_pool(struct app *app, void *st)
{
	struct storage *s = st;
	const char *ref;

	return pools_resolve(app_pools(app), table_selected(s->table), &ref);
}

/* The selected SR, or NULL after saying so. */
static const char *selected(struct app *app, struct storage *s)
{
	const char *qref = table_selected(s->table), *ref;
	struct pool *p;

	if (!qref || !app_lookup(app, qref, &p, &ref)) {
		app_message(app, MSG_INFO, "No SR selected");
		return NULL;
	}
	return qref;
}

static void open_sr(struct app *app, void *st)
{
	const char *qref = selected(app, st);

	if (qref)
		app_push(app, &screen_sr, qref);
}

static void new_sr(struct app *app, void *st)
{
	struct pool *p = storage_pool(app, st);

	if (!p)
		p = app_pool(app);
	if (!p || !p->cache) {
		app_message(app, MSG_ERROR, "New SR: no pool is connected (:servers connects one)");
		return;
	}
	sr_new_start(app, p);
}

static void rescan(struct app *app, void *st)
{
	const char *qref = selected(app, st);

	if (qref)
		sr_rescan(app, qref);
}

static void set_default(struct app *app, void *st)
{
	const char *qref = selected(app, st);

	if (qref)
		sr_set_default(app, qref);
}

static void remove_sr(struct app *app, void *st)
{
	const char *qref = selected(app, st);

	if (qref)
		sr_remove(app, qref);
}

static void destroy_sr(struct app *app, void *st)
{
	const char *qref = selected(app, st);

	if (qref)
		sr_destroy(app, qref);
}

static void upload(struct app *app, void *st)
{
	struct storage *s = st;
	const char *qref = table_selected(s->table), *ref;
	struct pool *p = NULL;
	const struct xv *sr = qref ? app_lookup(app, qref, &p, &ref) : NULL;

	if (!p)
		p = app_pool(app);
	if (!p || !p->cache) {
		app_message(app, MSG_ERROR, "Upload: no pool is connected (:servers connects one)");
		return;
	}
	/* on an ISO SR, into it; elsewhere the user picks one */
	sr_upload_start(app, p, sr && sr_is_iso(sr) ? qref : NULL);
}

static void cancel_upload(struct app *app, void *st)
{
	if (!sr_uploads_cancel(-1, NULL))
		app_message(app, MSG_INFO, "No upload is running");
}

static bool uploading(struct app *app, void *st)
{
	return sr_uploads_running(-1, NULL);
}

static const struct screen_key keys[] = {
	{XK_ENTER, "Open", "Open the SR: its details and disks (create, resize, rename, destroy)", open_sr, NULL, true},
	{'n', "New SR", "Make a new SR: ISO library (local, NFS, SMB), NFS disks, local ext or LVM", new_sr, NULL, true},
	{'u', "Upload ISO", "Upload an ISO file from this computer into an ISO SR", upload, NULL, true},
	{'r', "Rescan", "Rescan the SR (SR.scan): find disks and images added behind xapi's back", rescan, NULL, true},
	{SR_DEFAULT_KEY, "Default", "Make the SR its pool's default SR (new VMs' disks go there; shared SRs only; "
				    "marked " DEFAULT_MARK " beside its name)", set_default, NULL, true},
	{'*', "Default", "Make the SR its pool's default SR (as " SR_DEFAULT_KEY_TEXT ")", set_default, NULL, false},
	{'d', "Remove", "Forget or destroy the SR, after typing its name", remove_sr, NULL, true},
	{'D', "Destroy", "Destroy the SR and every disk on it, after typing its name (as on every screen: D destroys)",
	 destroy_sr, NULL, false},
	{'x', "Cancel upload", "Cancel the running ISO uploads (the partly written disk is removed)", cancel_upload,
	 uploading, true},
	{0, NULL, NULL, NULL, NULL, false},
};

const struct screen screen_storage = {
	.name = "storage",
	.title = "Storage",
	.keys = keys,
	.enter = storage_enter,
	.leave = storage_leave,
	.draw = storage_draw,
	.on_cache_event = storage_event,
	.list = storage_list,
	.describe = storage_describe,
	.pool = storage_pool,
	.filter_help = "type:nfs\tthe SR's type (iso, nfs, ext, lvm, udev, ...)\n"
		       "shared:yes\tshared SRs (shared:no: local ones)\n"
		       "host:xcp-ng-02\tlocal SRs of that host\n"
		       "pool:lab\tit is in that pool (with several pools)\n"
		       "default\tthe pool's default SR (marked " DEFAULT_MARK " beside its name)\n"
		       "iso\tother words match anywhere in the row, uuid too",
};

/* ---- SR actions ------------------------------------------------------------------------ */

struct sr_sel {
	struct pool *p;
	const char *ref;
	const struct xv *sr;
};

static bool lookup(struct app *app, const char *qref, struct sr_sel *s)
{
	memset(s, 0, sizeof(*s));
	s->sr = qref ? app_lookup(app, qref, &s->p, &s->ref) : NULL;
	return s->sr && s->p && s->p->cache;
}

void sr_rescan(struct app *app, const char *qref)
{
	struct sr_sel s;
	char *label;

	if (!lookup(app, qref, &s))
		return;
	label = xasprintf("Rescan SR '%s'", rec_str(s.sr, "name_label"));
	app_op(app, s.p, label, "SR.scan", xv_params_ref(s.ref));
	free(label);
}

void sr_set_default(struct app *app, const char *qref)
{
	struct sr_sel s;
	const char *pool_ref = NULL;
	struct xv *params;
	char *label, *why;

	if (!lookup(app, qref, &s))
		return;
	if ((why = sr_default_refusal(s.p->cache, s.sr))) {
		app_message(app, MSG_ERROR, "%s", why);
		free(why);
		return;
	}
	if (sr_is_default(s.p->cache, s.ref)) {
		app_message(app, MSG_INFO, "'%s' is already the default SR", rec_str(s.sr, "name_label"));
		return;
	}
	if (!pool_record(s.p->cache, &pool_ref)) {
		app_message(app, MSG_ERROR, "The pool's record is not loaded yet");
		return;
	}
	params = xv_params_ref(pool_ref);
	xv_array_push(params, xv_string(s.ref));
	label = xasprintf("Make '%s' the default SR", rec_str(s.sr, "name_label"));
	app_call(app, s.p, label, "pool.set_default_SR", params);
	free(label);
}

/* Forget or destroy: the PBDs are unplugged first (xapi refuses while any
 * is attached: SR_HAS_PBD), as Xen Orchestra does. */
struct removal {
	char *qref;
	bool destroy;
	int waiting; /* PBD.unplug answers still to come */
	bool failed;
};

static void removal_free(struct removal *r)
{
	free(r->qref);
	free(r);
}

static void remove_now(struct app *app, struct removal *r)
{
	struct sr_sel s;
	char *label;

	if (!r->failed && lookup(app, r->qref, &s)) {
		label = xasprintf("%s SR '%s'", r->destroy ? "Destroy" : "Forget", rec_str(s.sr, "name_label"));
		app_op(app, s.p, label, r->destroy ? "SR.destroy" : "SR.forget", xv_params_ref(s.ref));
		free(label);
	}
	removal_free(r);
}

static void on_unplugged(struct app *app, struct pool *p, bool ok, void *ud)
{
	struct removal *r = ud;

	if (!ok)
		r->failed = true;
	if (--r->waiting == 0)
		remove_now(app, r);
}

static void on_remove_typed(struct app *app, const struct dialog_result *res, const char *qref, void *ud)
{
	struct removal *r;
	struct sr_sel s;
	const struct xv *pbds;

	if (!res->ok || !lookup(app, qref, &s))
		return;
	r = xcalloc(1, sizeof(*r));
	r->qref = xstrdup(qref);
	r->destroy = ud != NULL;
	pbds = rec_field(s.sr, "PBDs");
	r->waiting = 1; /* held until every unplug is sent */
	for (size_t i = 0; i < xv_len(pbds); i++) {
		const char *pref = xv_str(xv_at(pbds, i));
		const struct xv *pbd = cache_get(s.p->cache, pref);
		char *label;
		if (!pbd || !rec_bool(pbd, "currently_attached"))
			continue;
		label = xasprintf("Detach SR '%s' from %s", rec_str(s.sr, "name_label"),
				  name_of(s.p->cache, rec_str(pbd, "host")));
		r->waiting++;
		app_call_then(app, s.p, label, "PBD.unplug", xv_params_ref(pref), on_unplugged, r);
		free(label);
	}
	on_unplugged(app, s.p, true, r);
}

static int count_vdis(const struct cache *c, const struct xv *sr, int *in_use)
{
	const struct xv *vdis = rec_field(sr, "VDIs");
	int n = 0;

	*in_use = 0;
	for (size_t i = 0; i < xv_len(vdis); i++) {
		const struct xv *vdi = cache_get(c, xv_str(xv_at(vdis, i)));
		if (!vdi)
			continue;
		n++;
		if (xv_len(rec_field(vdi, "VBDs")))
			(*in_use)++;
	}
	return n;
}

/* Said first when the SR to remove is the pool's default. */
#define DEFAULT_GOES "It is the pool's default SR: new VMs and disks will have no default. "

/* The typed-name question for forgetting or destroying the SR. */
static void ask_removal(struct app *app, const char *qref, bool destroy)
{
	struct sr_sel s;
	struct dialog *d;
	int n, in_use;
	char *text;

	if (!lookup(app, qref, &s))
		return;
	n = count_vdis(s.p->cache, s.sr, &in_use);
	if (destroy)
		text = xasprintf("Destroy '%s'? %sIts %d disk%s and what they hold are deleted for good%s. "
				 "Type the SR's name to confirm.",
				 rec_str(s.sr, "name_label"), sr_is_default(s.p->cache, s.ref) ? DEFAULT_GOES : "", n,
				 n == 1 ? "" : "s", in_use ? " (xapi refuses while VMs use some)" : "");
	else
		text = xasprintf("Forget '%s'? %sIt is detached and leaves the pool with its %d disk record%s "
				 "(names, and which VM uses which); the data stays on the storage and can be "
				 "attached again. Type the SR's name to confirm.",
				 rec_str(s.sr, "name_label"), sr_is_default(s.p->cache, s.ref) ? DEFAULT_GOES : "", n,
				 n == 1 ? "" : "s");
	d = dialog_type_name(destroy ? "Destroy SR" : "Forget SR", text, rec_str(s.sr, "name_label"));
	dialog_on_done(d, on_remove_typed, qref, destroy ? (void *)1 : NULL);
	app_open_dialog(app, d);
	free(text);
}

static void on_remove_kind(struct app *app, const struct dialog_result *res, const char *qref, void *ud)
{
	if (res->ok)
		ask_removal(app, qref, strcmp(res->choice_key, "destroy") == 0);
}

/* Refuses (saying why) an SR that belongs to the host's own setup. */
static bool removable(struct app *app, const struct sr_sel *s)
{
	if (strcmp(rec_str(s->sr, "type"), "udev") == 0 || rec_bool(s->sr, "is_tools_sr")) {
		app_message(app, MSG_ERROR, "'%s' belongs to the host's own setup; it cannot be removed",
			    rec_str(s->sr, "name_label"));
		return false;
	}
	return true;
}

void sr_destroy(struct app *app, const char *qref)
{
	struct sr_sel s;

	if (lookup(app, qref, &s) && removable(app, &s))
		ask_removal(app, qref, true);
}

void sr_remove(struct app *app, const char *qref)
{
	struct sr_sel s;
	struct dialog *d;
	char *text;

	if (!lookup(app, qref, &s) || !removable(app, &s))
		return;
	text = xasprintf("Remove '%s' from the pool how?%s", rec_str(s.sr, "name_label"),
			 sr_is_default(s.p->cache, s.ref) ? " " DEFAULT_GOES : "");
	d = dialog_choose("Remove SR", text);
	dialog_add_choice(d, "forget", "Forget", "the pool lets go of it; the data stays on the storage");
	dialog_add_choice(d, "destroy", "Destroy", sr_is_iso(s.sr) ? "the SR's records go; ISO files stay on the share"
								    : "every disk on it is deleted");
	dialog_on_done(d, on_remove_kind, qref, NULL);
	app_open_dialog(app, d);
	free(text);
}
