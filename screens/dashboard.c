/* The start screen: the pool at a glance. Its hosts (state, CPU, memory,
 * guests), the VMs by power state, alerts from xapi's messages, and what
 * is running now. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "draw.h"
#include "hmap.h"
#include "keys.h"
#include "model.h"
#include "ops.h"
#include "progress.h"
#include "screens.h"
#include "table.h"
#include "units.h"
#include "util.h"

static const struct table_col host_cols[] = {
	{"HOST", 12, 2, false, false, 0},  {"STATE", 8, 0, false, false, 0}, {"CPU", 15, 1, false, true, 0},
	{"MEMORY", 26, 1, false, true, 0}, {"VMS", 4, 0, true, true, 0},
};

struct dashboard {
	struct table *hosts;
};

static bool put_host(const char *ref, const struct xv *h, void *ud)
{
	void **ctx = ud;
	struct dashboard *d = ctx[0];
	const struct cache *c = ctx[1];
	struct host_use u;
	char bar[64], cpu[96], mem[128], used[48], vms[16];
	double mem_frac;

	host_use(c, ref, h, ctx[2], &u);
	bar_text(bar, sizeof(bar), u.cpu, 8);
	snprintf(cpu, sizeof(cpu), "%s %3.0f%%", bar, u.cpu * 100);
	mem_frac = u.mem_total ? (double)(u.mem_total - u.mem_free) / (double)u.mem_total : 0;
	bar_text(bar, sizeof(bar), mem_frac, 8);
	used_of_total(used, sizeof(used), u.mem_total - u.mem_free, u.mem_total);
	snprintf(mem, sizeof(mem), "%s %s", bar, used);
	snprintf(vms, sizeof(vms), "%d", u.vms);
	{
		struct table_cell cells[] = {
			{rec_str(h, "name_label"), 0, -1},
			{u.state, 0, (int)u.role},
			{cpu, u.cpu, -1},
			{mem, mem_frac, mem_frac > 0.9 ? (int)ROLE_BAD : -1},
			{vms, u.vms, -1},
		};
		table_put(d->hosts, ref, cells, ROLE_NORMAL, NULL);
	}
	return true;
}

static void rebuild_hosts(struct dashboard *d, struct cache *c)
{
	struct hmap cpus;
	void *ctx[3] = {d, c, &cpus};

	host_cpu_index(c, &cpus);
	table_clear(d->hosts);
	cache_each(c, "host", put_host, ctx);
	host_cpu_index_free(&cpus);
}

static void *dash_enter(struct app *app, const void *arg)
{
	struct dashboard *d = xcalloc(1, sizeof(*d));

	d->hosts = table_new(host_cols, (int)(sizeof(host_cols) / sizeof(host_cols[0])));
	table_set_noun(d->hosts, "host", "hosts");
	rebuild_hosts(d, app_cache(app));
	return d;
}

static void dash_leave(struct app *app, void *st)
{
	struct dashboard *d = st;

	table_free(d->hosts);
	free(d);
}

static void dash_event(struct app *app, void *st, enum cache_op op, const char *cls, const char *ref)
{
	if (op == CACHE_LOADED || (cls && (strcmp(cls, "host") == 0 || strcmp(cls, "host_metrics") == 0
					   || strcmp(cls, "host_cpu") == 0)))
		rebuild_hosts(st, app_cache(app));
}

/* ---- the pool line ---------------------------------------------------------------- */

struct vm_counts {
	int total, running, halted, other;
};

static bool count_vm(const char *ref, const struct xv *vm, void *ud)
{
	struct vm_counts *n = ud;
	const char *p;

	if (!vm_is_guest(vm))
		return true;
	n->total++;
	p = rec_str(vm, "power_state");
	if (strcmp(p, "Running") == 0)
		n->running++;
	else if (strcmp(p, "Halted") == 0)
		n->halted++;
	else
		n->other++;
	return true;
}

static void draw_pool(struct app *app, WINDOW *w, int y, int cols)
{
	const struct cache *c = app_cache(app);
	const struct xv *pool = pool_record(c, NULL);
	struct vm_counts n = {0, 0, 0, 0};
	char line[512];
	int x = 1;

	if (!pool) {
		ui_put(w, y, 1, cols - 2, theme_attr(ROLE_DIM), cache_status(c));
		return;
	}
	cache_each(c, "VM", count_vm, &n);
	x += ui_add(w, y, x, cols - x, theme_attr(ROLE_TITLE), *rec_str(pool, "name_label") ? rec_str(pool, "name_label")
											    : name_of(c, rec_str(pool, "master")));
	snprintf(line, sizeof(line), "  %s  %zu host%s  %s  %d VMs: ", glyph(GLYPH_SEP), cache_count(c, "host"),
		 cache_count(c, "host") == 1 ? "" : "s", glyph(GLYPH_SEP), n.total);
	x += ui_add(w, y, x, cols - x, theme_attr(ROLE_NORMAL), line);
	snprintf(line, sizeof(line), "%d running", n.running);
	x += ui_add(w, y, x, cols - x, theme_attr(ROLE_GOOD), line);
	snprintf(line, sizeof(line), ", %d halted", n.halted);
	x += ui_add(w, y, x, cols - x, theme_attr(ROLE_NORMAL), line);
	if (n.other) {
		snprintf(line, sizeof(line), ", %d suspended or paused", n.other);
		ui_add(w, y, x, cols - x, theme_attr(ROLE_WARN), line);
	}
	ui_put(w, y + 1, 1, cols - 2, theme_attr(ROLE_DIM), rec_str(pool, "name_description"));
}

/* ---- alerts: xapi's messages, most urgent first ---------------------------------------- */

struct alert {
	const char *ref;
	const struct xv *rec;
};

struct alerts {
	struct alert *a;
	size_t n, cap;
};

static bool collect_alert(const char *ref, const struct xv *m, void *ud)
{
	struct alerts *al = ud;

	if (al->n == al->cap) {
		al->cap = al->cap ? al->cap * 2 : 16;
		al->a = xrealloc(al->a, al->cap * sizeof(*al->a));
	}
	al->a[al->n++] = (struct alert){ref, m};
	return true;
}

static int compare_alerts(const void *a, const void *b)
{
	const struct xv *ma = ((const struct alert *)a)->rec, *mb = ((const struct alert *)b)->rec;
	long long pa = rec_int(ma, "priority"), pb = rec_int(mb, "priority");
	int t;

	if (pa != pb)
		return pa < pb ? -1 : 1;
	t = strcmp(rec_str(mb, "timestamp"), rec_str(ma, "timestamp"));
	return t ? t : strcmp(((const struct alert *)a)->ref, ((const struct alert *)b)->ref);
}

/* ALARM bodies are XML: <variable><name value="cpu_usage"/><value value="0.92"/></variable> */
static void alert_text(const char *body, char *buf, size_t n)
{
	const char *name = strstr(body, "<name value=\"");
	const char *value = strstr(body, "<value value=\"");

	if (strncmp(body, "<variable>", 10) == 0 && name && value) {
		name += 13;
		value += 14;
		snprintf(buf, n, "%.*s is %.*s", (int)strcspn(name, "\""), name, (int)strcspn(value, "\""), value);
		return;
	}
	snprintf(buf, n, "%.*s", (int)strcspn(body, "\n"), body);
}

static int draw_alerts(struct app *app, WINDOW *w, int y, int rows, int cols)
{
	const struct cache *c = app_cache(app);
	struct alerts al = {NULL, 0, 0};
	char title[64];
	int line = 0;

	cache_each(c, "message", collect_alert, &al);
	if (al.n > 1)
		qsort(al.a, al.n, sizeof(*al.a), compare_alerts);
	snprintf(title, sizeof(title), "ALERTS (%zu)", al.n);
	ui_put(w, y, 1, cols - 2, theme_attr(ROLE_HEADER), title);
	for (size_t i = 0; i < al.n && line < rows - 1; i++, line++) {
		const struct xv *m = al.a[i].rec;
		long long prio = rec_int(m, "priority");
		enum role r = prio <= 2 ? ROLE_BAD : prio == 3 ? ROLE_WARN : ROLE_DIM;
		const struct xv *obj = cache_by_uuid(c, NULL, rec_str(m, "obj_uuid"), NULL);
		char text[256], when[32];
		int row = y + 1 + line;

		alert_text(rec_str(m, "body"), text, sizeof(text));
		datetime_text(rec_str(m, "timestamp"), when, sizeof(when));
		ui_put(w, row, 1, 2, theme_attr(r), glyph(GLYPH_BULLET));
		ui_put(w, row, 3, 24, theme_attr(r), rec_str(m, "name"));
		ui_put(w, row, 28, 12, theme_attr(ROLE_NORMAL), obj ? rec_str(obj, "name_label") : "");
		ui_put(w, row, 41, cols - 42 - 17, theme_attr(ROLE_NORMAL), text);
		ui_put_right(w, row, cols - 17, 16, theme_attr(ROLE_DIM), when);
	}
	if (!al.n)
		ui_put(w, y + 1, 3, cols - 4, theme_attr(ROLE_DIM), "No alerts");
	free(al.a);
	return 1 + (line ? line : 1);
}

/* ---- tasks running now ------------------------------------------------------------------ */

struct task_rows {
	WINDOW *w;
	int y, rows, cols, line;
	int64_t now;
	const struct cache *c;
	struct hmap ours; /* task refs of our ops */
};

static void op_row(const struct op *op, void *ud)
{
	struct task_rows *t = ud;

	if (op->state != OP_STARTING && op->state != OP_RUNNING)
		return;
	if (op->task)
		hmap_put(&t->ours, op->task, (void *)op);
	if (t->line >= t->rows)
		return;
	ui_put(t->w, t->y + t->line, 3, t->cols / 2 - 4, theme_attr(ROLE_NORMAL), op->label);
	progress_draw(t->w, t->y + t->line, t->cols / 2, t->cols / 2 - 1, op->progress, t->now - op->started_ms,
		      theme_attr(ROLE_NORMAL));
	t->line++;
}

static bool pool_task_row(const char *ref, const struct xv *task, void *ud)
{
	struct task_rows *t = ud;

	if (strcmp(rec_str(task, "status"), "pending") != 0 || hmap_get(&t->ours, ref))
		return true;
	if (t->line >= t->rows)
		return true;
	/* someone else's: no start time we trust, so no estimate */
	ui_put(t->w, t->y + t->line, 3, t->cols / 2 - 4, theme_attr(ROLE_DIM), rec_str(task, "name_label"));
	progress_draw(t->w, t->y + t->line, t->cols / 2, t->cols / 2 - 1, rec_float(task, "progress"), 0,
		      theme_attr(ROLE_DIM));
	t->line++;
	return true;
}

static void draw_tasks(struct app *app, WINDOW *w, int y, int rows, int cols)
{
	struct task_rows t;

	memset(&t, 0, sizeof(t));
	t.w = w;
	t.y = y + 1;
	t.rows = rows - 1;
	t.cols = cols;
	t.now = loop_now();
	t.c = app_cache(app);
	hmap_init(&t.ours);
	ui_put(w, y, 1, cols - 2, theme_attr(ROLE_HEADER), "TASKS RUNNING");
	ops_each(app_ops(app), op_row, &t);
	cache_each(app_cache(app), "task", pool_task_row, &t);
	if (!t.line && rows > 1)
		ui_put(w, y + 1, 3, cols - 4, theme_attr(ROLE_DIM), "Nothing running");
	hmap_free(&t.ours);
}

static void dash_draw(struct app *app, void *st, WINDOW *w, int h, int cols)
{
	struct dashboard *d = st;
	int hosts_rows, y = 0, left;

	draw_pool(app, w, y, cols);
	y += 3;
	/* hosts get what they need up to half the screen; alerts and tasks share the rest */
	hosts_rows = (int)table_count(d->hosts) + 1;
	if (hosts_rows > (h - 3) / 2)
		hosts_rows = (h - 3) / 2;
	if (hosts_rows < 2)
		hosts_rows = 2;
	table_draw(d->hosts, w, y, 0, hosts_rows, cols, !app_has_dialog(app));
	y += hosts_rows + 1;
	left = h - y;
	if (left < 4)
		return;
	y += draw_alerts(app, w, y, left / 2 + (left % 2), cols) + 1;
	if (h - y >= 2)
		draw_tasks(app, w, y, h - y, cols);
}

static struct table *dash_list(struct app *app, void *st)
{
	return ((struct dashboard *)st)->hosts;
}

static int open_host(struct app *app, void *st)
{
	struct dashboard *d = st;
	const char *ref = table_selected(d->hosts);

	if (ref)
		app_push(app, &screen_host, ref);
	return EV_HANDLED;
}

static int go_vms(struct app *app, void *st)
{
	app_push(app, &screen_vms, NULL);
	return EV_HANDLED;
}

static int go_hosts(struct app *app, void *st)
{
	app_push(app, &screen_hosts, NULL);
	return EV_HANDLED;
}

static int go_tasks(struct app *app, void *st)
{
	app_push(app, &screen_tasks, NULL);
	return EV_HANDLED;
}

static void dash_describe(struct app *app, void *st, char *buf, size_t n)
{
	snprintf(buf, n, "Dashboard");
}

static const struct screen_key keys[] = {
	{XK_ENTER, "Host", "Open the selected host", open_host, NULL, true},
	{'v', "VMs", "All the VMs of the pool (also :vms)", go_vms, NULL, true},
	{'h', "Hosts", "The hosts (also :hosts)", go_hosts, NULL, true},
	{'t', "Tasks", "Running and recent tasks (also :tasks)", go_tasks, NULL, true},
	{0, NULL, NULL, NULL, NULL, false},
};

const struct screen screen_dashboard = {
	.name = "dashboard",
	.title = "Dashboard",
	.keys = keys,
	.enter = dash_enter,
	.leave = dash_leave,
	.draw = dash_draw,
	.on_cache_event = dash_event,
	.list = dash_list,
	.describe = dash_describe,
};
