/* A replication job's replicas (dr/cr): the VMs on its target pool that carry
 * XO's tag ("Disaster Recovery" / "Continuous Replication") and the job's
 * xo:backup:* marks, newest first; `s` starts one in a disaster as XO's
 * "start replica" does: the blocked start operations removed, then VM.start,
 * after a confirmation that names it and says the source VM is not stopped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "backups.h"
#include "backups_text.h"
#include "cache.h"
#include "dialog.h"
#include "draw.h"
#include "keys.h"
#include "model.h"
#include "ops.h"
#include "pools.h"
#include "screens.h"
#include "table.h"
#include "theme.h"
#include "util.h"
#include "value.h"
#include "xapi.h"

enum { C_NAME, C_SOURCE, C_DATE, C_SR, C_POWER };
static const struct table_col cols[] = {
	[C_NAME] = {"REPLICA", 16, 2, false, false, 0},
	[C_SOURCE] = {"SOURCE VM", 12, 1, false, false, 1},
	[C_DATE] = {"DATE", 16, 0, false, true, 0},
	[C_SR] = {"SR", 10, 1, false, false, 2},
	[C_POWER] = {"POWER", 8, 0, false, false, 0},
};

struct replicas {
	char *job_id, *server, *job;
	struct table *t;
};

/* The pool the replicas are on: the one shown by the server's name. */
static struct pool *target_pool(struct app *app, const char *server)
{
	struct pool *p = server && *server ? pools_by_name(app_pools(app), server) : NULL;

	return p ? p : app_pool(app);
}

static bool has_tag(const struct xv *vm, const char *tag)
{
	const struct xv *tags = rec_field(vm, "tags");

	for (size_t i = 0; i < xv_len(tags); i++)
		if (xv_str(xv_at(tags, i)) && strcmp(xv_str(xv_at(tags, i)), tag) == 0)
			return true;
	return false;
}

/* A replica of this job: XO's tag and the job's marks, not a template or snapshot. */
static bool is_replica(const struct xv *vm, const char *job_id)
{
	const char *j = rec_map(vm, "other_config", "xo:backup:job");

	return !rec_bool(vm, "is_a_template") && !rec_bool(vm, "is_a_snapshot") && j && strcmp(j, job_id) == 0
	       && rec_map(vm, "other_config", "xo:backup:datetime")
	       && (has_tag(vm, "Disaster Recovery") || has_tag(vm, "Continuous Replication"));
}

struct fill_ctx {
	struct replicas *s;
	struct cache *c;
};

static bool put_replica(const char *ref, const struct xv *vm, void *ud)
{
	struct fill_ctx *f = ud;
	const char *src = rec_map(vm, "other_config", "xo:backup:vm"), *sr = rec_map(vm, "other_config", "xo:backup:sr");
	const struct xv *srcvm = src ? cache_by_uuid(f->c, "VM", src, NULL) : NULL;
	const struct xv *srrec = sr ? cache_by_uuid(f->c, "SR", sr, NULL) : NULL;
	int64_t t = datetime_seconds(rec_map(vm, "other_config", "xo:backup:datetime"));
	const char *power = rec_str(vm, "power_state");
	char date[32];

	if (!is_replica(vm, f->s->job_id))
		return true;
	if (t)
		time_words(t, date, sizeof(date));
	else
		snprintf(date, sizeof(date), "being made");
	{
		struct table_cell cells[] = {
			[C_NAME] = {rec_str(vm, "name_label"), 0, -1},
			[C_SOURCE] = {srcvm ? rec_str(srcvm, "name_label") : src ? src : "", 0, -1},
			[C_DATE] = {date, (double)t, t ? -1 : (int)ROLE_WARN},
			[C_SR] = {srrec ? rec_str(srrec, "name_label") : sr ? sr : "", 0, ROLE_DIM},
			[C_POWER] = {power, 0, strcmp(power, "Running") == 0 ? (int)ROLE_GOOD : (int)ROLE_DIM},
		};
		table_put(f->s->t, ref, cells, ROLE_NORMAL, NULL);
	}
	return true;
}

static void *replicas_enter(struct app *app, const void *arg)
{
	struct replicas *s = xcalloc(1, sizeof(*s));
	const char *a = arg, *nl1 = strchr(a, '\n'), *nl2 = nl1 ? strchr(nl1 + 1, '\n') : NULL;

	/* "JOB-ID\nSERVER\nJOB-NAME" (backups.c) */
	s->job_id = nl1 ? xstrndup(a, (size_t)(nl1 - a)) : xstrdup(a);
	s->server = nl2 ? xstrndup(nl1 + 1, (size_t)(nl2 - nl1 - 1)) : xstrdup("");
	s->job = xstrdup(nl2 ? nl2 + 1 : s->job_id);
	s->t = table_new(cols, (int)(ARRAY_LEN(cols)));
	table_set_noun(s->t, "replica", "replicas");
	table_sort(s->t, C_DATE, true);
	return s;
}

static void replicas_leave(struct app *app, void *st)
{
	struct replicas *s = st;

	table_free(s->t);
	free(s->job_id);
	free(s->server);
	free(s->job);
	free(s);
}

static void replicas_draw(struct app *app, void *st, WINDOW *w, int h, int cols_)
{
	struct replicas *s = st;
	struct pool *p = target_pool(app, s->server);
	struct fill_ctx f = {s, p ? p->cache : NULL};

	table_clear(s->t);
	if (!p || !p->cache || !cache_loaded(p->cache)) {
		ui_addf(w, 1, 2, cols_ - 4, theme_attr(ROLE_DIM), "The replicas are on %s, which is not connected (:servers).",
			*s->server ? s->server : "the job's pool");
		return;
	}
	cache_each(p->cache, "VM", put_replica, &f);
	table_draw(s->t, w, 0, 0, h, cols_, !app_has_dialog(app));
}

static struct table *replicas_list(struct app *app, void *st)
{
	return ((struct replicas *)st)->t;
}

static void replicas_describe(struct app *app, void *st, char *buf, size_t n)
{
	struct replicas *s = st;

	snprintf(buf, n, "Backups %s replicas of %s", glyph(GLYPH_SEP), s->job);
}

/* ---- start a replica ------------------------------------------------------------ */

struct start_req {
	struct app *app;
	int pool_id;
	char *ref, *name;
	int step; /* 0: start unblocked, 1: start_on unblocked, 2: started */
};

static void start_free(struct start_req *q)
{
	free(q->ref);
	free(q->name);
	free(q);
}

static void start_step(struct start_req *q);

static void on_step(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct start_req *q = ud;

	if (r->failure && q->step >= 2) {
		app_message(q->app, MSG_ERROR, "Cannot start replica '%s': %s", q->name, r->message);
		start_free(q);
		return;
	}
	/* start_on may not be blocked (an older replica): going on is right */
	if (q->step >= 2) {
		app_message(q->app, MSG_INFO, "Started replica '%s'", q->name);
		start_free(q);
		return;
	}
	q->step++;
	start_step(q);
}

static void start_step(struct start_req *q)
{
	struct pool *p = pools_by_id(app_pools(q->app), q->pool_id);
	struct xv *params = xv_params_ref(q->ref);

	if (!p || !p->x) {
		app_message(q->app, MSG_ERROR, "Cannot start replica '%s': its pool is no longer connected", q->name);
		xv_free(params);
		start_free(q);
		return;
	}
	if (q->step == 0) {
		xv_array_push(params, xv_string("start"));
		app_query(q->app, p, "VM.remove_from_blocked_operations", params, on_step, q);
	} else if (q->step == 1) {
		xv_array_push(params, xv_string("start_on"));
		app_query(q->app, p, "VM.remove_from_blocked_operations", params, on_step, q);
	} else {
		xv_array_push(params, xv_bool(false));
		xv_array_push(params, xv_bool(false));
		app_query(q->app, p, "VM.start", params, on_step, q);
	}
}

static void start_free_ud(void *ud)
{
	start_free(ud);
}

static void start_confirmed(struct app *app, const struct dialog_result *res, const char *ref, void *ud)
{
	const struct start_req *asked = ud; /* the dialog's, freed with it */
	struct start_req *q;

	if (!res->ok)
		return;
	q = xcalloc(1, sizeof(*q));
	q->app = asked->app;
	q->pool_id = asked->pool_id;
	q->ref = xstrdup(asked->ref);
	q->name = xstrdup(asked->name);
	app_message(app, MSG_INFO, "Starting replica '%s'", q->name);
	start_step(q);
}

static void k_start(struct app *app, void *st)
{
	struct replicas *s = st;
	struct pool *p = target_pool(app, s->server);
	const char *ref = table_selected(s->t), *src;
	const struct xv *vm = ref && p && p->cache ? cache_get(p->cache, ref) : NULL, *srcvm;
	struct start_req *q;
	struct dialog *d;
	char *text;

	if (!vm || !is_replica(vm, s->job_id))
		return;
	if (strcmp(rec_str(vm, "power_state"), "Halted") != 0) {
		app_message(app, MSG_ERROR, "Replica '%s' is %s, not halted", rec_str(vm, "name_label"),
			    rec_str(vm, "power_state"));
		return;
	}
	src = rec_map(vm, "other_config", "xo:backup:vm");
	srcvm = src ? cache_by_uuid(p->cache, "VM", src, NULL) : NULL;
	q = xcalloc(1, sizeof(*q));
	q->app = app;
	q->pool_id = p->id;
	q->ref = xstrdup(ref);
	q->name = xstrdup(rec_str(vm, "name_label"));
	text = xasprintf("Start replica '%s', the copy of %s as it was at its date? The source VM is not stopped: "
			 "if it still runs, two copies of it run at once, with the same addresses.",
			 q->name, srcvm ? rec_str(srcvm, "name_label") : src ? src : "the source VM");
	d = dialog_confirm("Start replica", text, "Start it", "Cancel", true);
	dialog_on_done(d, start_confirmed, NULL, q);
	dialog_own_ud(d, start_free_ud);
	app_open_dialog(app, d);
	free(text);
}

static bool has_selection(struct app *app, void *st)
{
	return table_selected(((struct replicas *)st)->t) != NULL;
}

static const struct screen_key keys[] = {
	{'s', "Start", "Start the selected replica (in a disaster; the source VM is not stopped)", k_start,
	 has_selection, true},
	{0, NULL, NULL, NULL, NULL, false},
};

const struct screen screen_backup_replicas = {
	.name = "backup-replicas",
	.title = "Replicas",
	.keys = keys,
	.enter = replicas_enter,
	.leave = replicas_leave,
	.draw = replicas_draw,
	.list = replicas_list,
	.describe = replicas_describe,
};
