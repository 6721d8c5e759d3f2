/* Tasks: what this session started (running and the recent ones, with
 * progress, time left and outcome) and what else the pools are doing;
 * cancel the selected one. A POOL column when there are several. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "dialog.h"
#include "hmap.h"
#include "keys.h"
#include "model.h"
#include "ops.h"
#include "progress.h"
#include "screens.h"
#include "table.h"
#include "util.h"

enum { COL_TASK, COL_STATE, COL_POOL, COL_PROGRESS, COL_TIME, COL_STARTED, COL_OUTCOME };

static const struct table_col columns[] = {
	[COL_TASK] = {"TASK", 16, 3, false, false, 0},
	[COL_STATE] = {"STATE", 9, 0, false, false, 0},
	[COL_POOL] = {"POOL", 8, 1, false, false, 0},
	[COL_PROGRESS] = {"PROGRESS", 15, 0, false, true, 0},
	[COL_TIME] = {"TIME", 10, 0, false, true, 2},
	[COL_STARTED] = {"STARTED", 8, 0, false, true, 3},
	[COL_OUTCOME] = {"OUTCOME", 10, 2, false, false, 1},
};

struct tasks {
	struct table *table;
};

static const char *state_text(enum op_state s, int *role)
{
	switch (s) {
	case OP_STARTING: *role = ROLE_WARN; return "starting";
	case OP_RUNNING: *role = ROLE_WARN; return "running";
	case OP_DONE: *role = ROLE_GOOD; return "done";
	case OP_FAILED: *role = ROLE_BAD; return "failed";
	case OP_CANCELLED: *role = ROLE_DIM; return "cancelled";
	}
	*role = -1;
	return "";
}

static void op_key(const struct op *op, char *buf, size_t n)
{
	snprintf(buf, n, "op:%p", (const void *)op);
}

struct fill {
	struct table *t;
	struct pool *p;
	struct hmap ours;
	int64_t now_mono;
	time_t now_wall;
};

static void progress_cell(char *buf, size_t n, double frac)
{
	char bar[64];

	bar_text(bar, sizeof(bar), frac, 10);
	snprintf(buf, n, "%s %3.0f%%", bar, frac * 100);
}

static void put_op(const struct op *op, void *ud)
{
	struct fill *f = ud;
	char key[32], progress[96], when[32], started[16];
	int role;
	const char *state = state_text(op->state, &role);
	int64_t elapsed = f->now_mono - op->started_ms;
	time_t start_wall = f->now_wall - (time_t)(elapsed / 1000);
	struct tm tm;
	bool active = op->state == OP_STARTING || op->state == OP_RUNNING;

	if (op->task)
		hmap_put(&f->ours, op->task, (void *)op);
	op_key(op, key, sizeof(key));
	/* an op that ended without doing its work has no progress to show (ops marks every end 100 %) */
	if (op->state == OP_CANCELLED || op->state == OP_FAILED)
		snprintf(progress, sizeof(progress), "%s", state);
	else
		progress_cell(progress, sizeof(progress), op->progress);
	if (active)
		progress_eta(when, sizeof(when), op->progress, elapsed);
	else
		when[0] = '\0';
	if (!when[0])
		snprintf(when, sizeof(when), "%llds", (long long)(elapsed / 1000));
	localtime_r(&start_wall, &tm);
	strftime(started, sizeof(started), "%H:%M:%S", &tm);
	{
		struct table_cell cells[] = {
			[COL_TASK] = {op->label, 0, -1},
			[COL_STATE] = {state, 0, role},
			[COL_POOL] = {f->p->cfg.name, 0, -1},
			[COL_PROGRESS] = {progress, op->state == OP_DONE || active ? op->progress : 0, active ? -1 : role},
			[COL_TIME] = {active ? when : "", (double)elapsed, -1},
			[COL_STARTED] = {started, (double)op->started_ms, -1},
			[COL_OUTCOME] = {active ? "" : op->message ? op->message : "", 0,
					 op->state == OP_FAILED ? (int)ROLE_BAD : -1},
		};
		table_put(f->t, key, cells, active ? ROLE_NORMAL : ROLE_DIM, NULL);
	}
}

static bool put_pool_task(const char *ref, const struct xv *task, void *ud)
{
	struct fill *f = ud;
	char progress[96], started[32], key[QREF_MAX];

	/* ours are listed by their op; finished ones of others are not ours to show */
	if (hmap_get(&f->ours, ref) || strcmp(rec_str(task, "status"), "pending") != 0)
		return true;
	progress_cell(progress, sizeof(progress), rec_float(task, "progress"));
	datetime_text(rec_str(task, "created"), started, sizeof(started));
	{
		const char *hhmm = strlen(started) > 11 ? started + 11 : started;
		struct table_cell cells[] = {
			[COL_TASK] = {rec_str(task, "name_label"), 0, -1},
			[COL_STATE] = {"running", 0, ROLE_WARN},
			[COL_POOL] = {f->p->cfg.name, 0, -1},
			[COL_PROGRESS] = {progress, rec_float(task, "progress"), -1},
			[COL_TIME] = {"", 0, -1},
			[COL_STARTED] = {hhmm, 0, -1},
			[COL_OUTCOME] = {"(another client)", 0, ROLE_DIM},
		};
		table_put(f->t, pool_qref(f->p, ref, key, sizeof(key)), cells, ROLE_NORMAL, NULL);
	}
	return true;
}

static void fill(struct app *app, struct tasks *s)
{
	struct pools *ps = app_pools(app);
	struct fill f;

	f.t = s->table;
	f.now_mono = loop_now();
	f.now_wall = time(NULL);
	table_clear(s->table);
	for (size_t i = 0; i < pools_count(ps); i++) {
		f.p = pools_at(ps, i);
		if (!f.p->cache)
			continue;
		hmap_init(&f.ours);
		ops_each(f.p->ops, put_op, &f);
		cache_each(f.p->cache, "task", put_pool_task, &f);
		hmap_free(&f.ours);
	}
	table_show_col(s->table, COL_POOL, app_many_pools(app));
}

static void *tasks_enter(struct app *app, const void *arg)
{
	struct tasks *s = xcalloc(1, sizeof(*s));

	s->table = table_new(columns, (int)(ARRAY_LEN(columns)));
	table_set_noun(s->table, "task", "tasks");
	table_sort(s->table, COL_STARTED, true);
	return s;
}

static void tasks_leave(struct app *app, void *st)
{
	struct tasks *s = st;

	table_free(s->table);
	free(s);
}

static void tasks_draw(struct app *app, void *st, WINDOW *w, int h, int cols)
{
	struct tasks *s = st;

	fill(app, s);
	table_draw(s->table, w, 0, 0, h, cols, !app_has_dialog(app));
}

static struct table *tasks_list(struct app *app, void *st)
{
	return ((struct tasks *)st)->table;
}

struct find {
	const char *key;
	const struct op *found;
	struct pool *p, *found_in;
};

static void find_op(const struct op *op, void *ud)
{
	struct find *f = ud;
	char key[32];

	op_key(op, key, sizeof(key));
	if (strcmp(key, f->key) == 0) {
		f->found = op;
		f->found_in = f->p;
	}
}

/* The selected row: one of our ops, or another client's task (*task_ref);
 * *p its pool. */
static const struct op *selected_op(struct app *app, struct tasks *s, struct pool **p, const char **task_ref)
{
	struct pools *ps = app_pools(app);
	struct find f = {table_selected(s->table), NULL, NULL, NULL};

	*task_ref = NULL;
	*p = NULL;
	if (!f.key)
		return NULL;
	if (strncmp(f.key, "op:", 3) != 0) {
		*p = pools_resolve(ps, f.key, task_ref);
		if (!*p || !(*p)->cache)
			*task_ref = NULL;
		return NULL;
	}
	for (size_t i = 0; i < pools_count(ps) && !f.found; i++) {
		f.p = pools_at(ps, i);
		if (f.p->ops)
			ops_each(f.p->ops, find_op, &f);
	}
	*p = f.found_in;
	return f.found;
}

static void cancel_task(struct app *app, void *st)
{
	const char *task_ref;
	struct pool *p;
	const struct op *op = selected_op(app, st, &p, &task_ref);

	if (op) {
		if (op->state != OP_RUNNING && op->state != OP_STARTING) {
			app_message(app, MSG_INFO, "'%s' has already ended", op->label);
			return;
		}
		if (!op->task) {
			app_message(app, MSG_INFO, "'%s' has no task yet: try again in a moment", op->label);
			return;
		}
		app_message(app, MSG_INFO, "Cancelling '%s'", op->label);
		ops_cancel(p->ops, (struct op *)op);
	} else if (task_ref) {
		struct xv *params = xv_array();
		char *label = xasprintf("Cancel task '%s'", name_of(p->cache, task_ref));
		xv_array_push(params, xv_string(task_ref));
		app_call(app, p, label, "task.cancel", params);
		free(label);
	}
}

static void show_task(struct app *app, void *st)
{
	const char *task_ref;
	struct pool *p;
	const struct op *op = selected_op(app, st, &p, &task_ref);
	char *text;

	if (op) {
		int role;
		char pct[16] = "";
		if (op->state != OP_CANCELLED && op->state != OP_FAILED)
			snprintf(pct, sizeof(pct), ", %.0f%%", op->progress * 100);
		text = xasprintf("%s\n\nState: %s%s\n%s%s", op->label, state_text(op->state, &role), pct,
				 op->message && *op->message ? "Outcome: " : "", op->message ? op->message : "");
	} else if (task_ref && cache_get(p->cache, task_ref)) {
		const struct xv *t = cache_get(p->cache, task_ref);
		text = xasprintf("%s\n\nStarted by another client.\nStatus: %s, %.0f%%", rec_str(t, "name_label"),
				 rec_str(t, "status"), rec_float(t, "progress") * 100);
	} else {
		return;
	}
	app_open_dialog(app, dialog_message("Task", text));
	free(text);
}

static bool running_selected(struct app *app, void *st)
{
	const char *task_ref;
	struct pool *p;
	const struct op *op = selected_op(app, st, &p, &task_ref);

	return op ? op->state == OP_RUNNING : task_ref != NULL;
}

static struct pool *tasks_pool(struct app *app, void *st)
{
	const char *task_ref;
	struct pool *p;

	selected_op(app, st, &p, &task_ref);
	return p;
}

static const struct screen_key keys[] = {
	{XK_ENTER, "Details", "Show the selected task in full", show_task, NULL, true},
	{'c', "Cancel", "Cancel the selected task (xapi stops it if it can)", cancel_task, running_selected, true},
	{0, NULL, NULL, NULL, NULL, false},
};

const struct screen screen_tasks = {
	.name = "tasks",
	.title = "Tasks",
	.keys = keys,
	.enter = tasks_enter,
	.leave = tasks_leave,
	.draw = tasks_draw,
	.list = tasks_list,
	.pool = tasks_pool,
};
