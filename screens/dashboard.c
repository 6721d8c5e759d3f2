/* The start screen: every pool at a glance. Each pool's line (its VMs by
 * power state, or why it is not connected), the hosts (state, CPU, memory,
 * guests), alerts from xapi's messages and what is running now, of every
 * connected pool, with the pool named when there are several. */
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

enum { COL_HOST, COL_POOL, COL_STATE, COL_CPU, COL_MEMORY, COL_VMS };

static const struct table_col host_cols[] = {
	[COL_HOST] = {"HOST", 12, 2, false, false, 0},  [COL_POOL] = {"POOL", 8, 1, false, false, 0},
	[COL_STATE] = {"STATE", 8, 0, false, false, 0}, [COL_CPU] = {"CPU", 15, 1, false, true, 0},
	[COL_MEMORY] = {"MEMORY", 26, 1, false, true, 0}, [COL_VMS] = {"VMS", 4, 0, true, true, 0},
};

struct dashboard {
	struct table *hosts;
	bool many; /* several pools: the hosts grouped by pool */
};

static bool put_host(const char *ref, const struct xv *h, void *ud)
{
	void **ctx = ud;
	struct dashboard *d = ctx[0];
	struct pool *p = ctx[1];
	const struct cache *c = p->cache;
	struct host_use u;
	char bar[64], cpu[96], mem[128], used[48], vms[16], key[QREF_MAX];
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
			[COL_HOST] = {rec_str(h, "name_label"), 0, -1},
			[COL_POOL] = {p->cfg.name, 0, -1},
			[COL_STATE] = {u.state, 0, (int)u.role},
			[COL_CPU] = {cpu, u.cpu, -1},
			[COL_MEMORY] = {mem, mem_frac, mem_frac > 0.9 ? (int)ROLE_BAD : -1},
			[COL_VMS] = {vms, u.vms, -1},
		};
		table_put(d->hosts, pool_qref(p, ref, key, sizeof(key)), cells, ROLE_NORMAL, NULL);
	}
	return true;
}

static void rebuild_hosts(struct app *app, struct dashboard *d)
{
	struct pools *ps = app_pools(app);

	table_clear(d->hosts);
	for (size_t i = 0; i < pools_count(ps); i++) {
		struct pool *p = pools_at(ps, i);
		struct hmap cpus;
		void *ctx[3] = {d, p, &cpus};
		if (!p->cache)
			continue;
		host_cpu_index(p->cache, &cpus);
		cache_each(p->cache, "host", put_host, ctx);
		host_cpu_index_free(&cpus);
	}
	table_show_col(d->hosts, COL_POOL, app_many_pools(app));
	if (d->many != app_many_pools(app)) {
		/* grouped by pool, then by name (the table's tie-break) */
		d->many = app_many_pools(app);
		table_sort(d->hosts, d->many ? COL_POOL : COL_HOST, false);
	}
}

static void *dash_enter(struct app *app, const void *arg)
{
	struct dashboard *d = xcalloc(1, sizeof(*d));

	d->hosts = table_new(host_cols, (int)(ARRAY_LEN(host_cols)));
	table_set_noun(d->hosts, "host", "hosts");
	rebuild_hosts(app, d);
	return d;
}

static void dash_leave(struct app *app, void *st)
{
	struct dashboard *d = st;

	table_free(d->hosts);
	free(d);
}

static void dash_event(struct app *app, void *st, struct pool *p, enum cache_op op, const char *cls,
		       const char *ref)
{
	if (!p || op == CACHE_LOADED || (cls && (strcmp(cls, "host") == 0 || strcmp(cls, "host_metrics") == 0
						 || strcmp(cls, "host_cpu") == 0)))
		rebuild_hosts(app, st);
}

/* ---- the pools' lines -------------------------------------------------------------- */

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

/* "Name  │  3 hosts  │  20 VMs: 12 running, 8 halted" from x on line y; *x after it. */
static void pool_counts(WINDOW *w, int y, int *x, int cols, const struct pool *p, const struct xv *pool)
{
	const struct cache *c = p->cache;
	struct vm_counts n = {0, 0, 0, 0};
	char line[512];

	cache_each(c, "VM", count_vm, &n);
	*x += ui_add(w, y, *x, cols - *x, theme_attr(ROLE_TITLE),
		     *rec_str(pool, "name_label") ? rec_str(pool, "name_label") : name_of(c, rec_str(pool, "master")));
	snprintf(line, sizeof(line), "  %s  %zu host%s  %s  %d VMs: ", glyph(GLYPH_SEP), cache_count(c, "host"),
		 cache_count(c, "host") == 1 ? "" : "s", glyph(GLYPH_SEP), n.total);
	*x += ui_add(w, y, *x, cols - *x, theme_attr(ROLE_NORMAL), line);
	snprintf(line, sizeof(line), "%d running", n.running);
	*x += ui_add(w, y, *x, cols - *x, theme_attr(ROLE_GOOD), line);
	snprintf(line, sizeof(line), ", %d halted", n.halted);
	*x += ui_add(w, y, *x, cols - *x, theme_attr(ROLE_NORMAL), line);
	if (n.other) {
		snprintf(line, sizeof(line), ", %d suspended or paused", n.other);
		*x += ui_add(w, y, *x, cols - *x, theme_attr(ROLE_WARN), line);
	}
}

/* One pool: its counts, or its state when it is not loaded. */
static void pool_line(WINDOW *w, int y, int cols, const struct pool *p, bool named)
{
	const char *why;
	enum pool_state st = pool_state(p, &why);
	const struct xv *pool = p->cache ? pool_record(p->cache, NULL) : NULL;
	int x = 1;

	if (named) {
		char label[96];
		snprintf(label, sizeof(label), "%-10s ", p->cfg.name);
		x += ui_add(w, y, x, cols - x, theme_attr(ROLE_HEADER), label);
	}
	/* counts only once loaded: half a pool would look like a small one */
	if (pool && st != POOL_DISCONNECTED && st != POOL_CONNECTING) {
		pool_counts(w, y, &x, cols - 1, p, pool);
		if (st != POOL_CONNECTED && named)
			ui_addf(w, y, x, cols - 1 - x, theme_attr(ROLE_WARN), "  %s %s", glyph(GLYPH_SEP),
				pool_state_name(st));
		return;
	}
	if (st == POOL_CONNECTING && p->cache)
		ui_add(w, y, x, cols - 1 - x, theme_attr(ROLE_DIM), cache_status(p->cache));
	else
		ui_addf(w, y, x, cols - 1 - x, theme_attr(st == POOL_FAILED || st == POOL_RETRYING ? ROLE_BAD : ROLE_DIM),
			"%s%s%s", pool_state_name(st), *why ? ": " : "", why);
}

/* Returns the lines used. */
static int draw_pools(struct app *app, WINDOW *w, int y, int rows, int cols)
{
	struct pools *ps = app_pools(app);
	size_t n = pools_count(ps);
	int line = 0;

	if (n == 0) {
		ui_put(w, y, 1, cols - 2, theme_attr(ROLE_DIM), "No pool yet: :servers adds one.");
		return 1;
	}
	if (n == 1) {
		/* one pool: its line and its description, as a pool's own page */
		struct pool *p = pools_at(ps, 0);
		const struct xv *pool = p->cache ? pool_record(p->cache, NULL) : NULL;
		pool_line(w, y, cols, p, false);
		if (pool && rows > 1)
			ui_put(w, y + 1, 1, cols - 2, theme_attr(ROLE_DIM), rec_str(pool, "name_description"));
		return 2;
	}
	for (size_t i = 0; i < n && line < rows; i++, line++)
		pool_line(w, y + line, cols, pools_at(ps, i), true);
	return line;
}

/* ---- alerts: xapi's messages, most urgent first ---------------------------------------- */

struct alert {
	struct pool *p;
	const char *ref;
	const struct xv *rec;
};

struct alerts {
	struct pool *p;
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
	al->a[al->n++] = (struct alert){al->p, ref, m};
	return true;
}

static int compare_alerts(const void *a, const void *b)
{
	const struct alert *x = a, *y = b;
	long long pa = rec_int(x->rec, "priority"), pb = rec_int(y->rec, "priority");
	int t;

	if (pa != pb)
		return pa < pb ? -1 : 1;
	t = strcmp(rec_str(y->rec, "timestamp"), rec_str(x->rec, "timestamp"));
	if (t)
		return t;
	if (x->p != y->p)
		return x->p->id - y->p->id;
	return strcmp(x->ref, y->ref);
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
	struct pools *ps = app_pools(app);
	struct alerts al = {NULL, NULL, 0, 0};
	bool many = app_many_pools(app);
	int obj_w = many ? 18 : 12; /* "pool/object" */
	char title[64];
	int line = 0;

	for (size_t i = 0; i < pools_count(ps); i++) {
		al.p = pools_at(ps, i);
		if (al.p->cache)
			cache_each(al.p->cache, "message", collect_alert, &al);
	}
	if (al.n > 1)
		qsort(al.a, al.n, sizeof(*al.a), compare_alerts);
	snprintf(title, sizeof(title), "ALERTS (%zu)", al.n);
	ui_put(w, y, 1, cols - 2, theme_attr(ROLE_HEADER), title);
	for (size_t i = 0; i < al.n && line < rows - 1; i++, line++) {
		const struct xv *m = al.a[i].rec;
		const struct cache *c = al.a[i].p->cache;
		long long prio = rec_int(m, "priority");
		enum role r = prio <= 2 ? ROLE_BAD : prio == 3 ? ROLE_WARN : ROLE_DIM;
		const struct xv *obj = cache_by_uuid(c, NULL, rec_str(m, "obj_uuid"), NULL);
		char text[256], when[32], object[160];
		int row = y + 1 + line;

		alert_text(rec_str(m, "body"), text, sizeof(text));
		datetime_text(rec_str(m, "timestamp"), when, sizeof(when));
		/* with several pools the object is named with its pool */
		snprintf(object, sizeof(object), "%s%s%s", many ? al.a[i].p->cfg.name : "", many ? "/" : "",
			 obj ? rec_str(obj, "name_label") : "");
		ui_put(w, row, 1, 2, theme_attr(r), glyph(GLYPH_BULLET));
		ui_put(w, row, 3, 24, theme_attr(r), rec_str(m, "name"));
		ui_put(w, row, 28, obj_w, theme_attr(ROLE_NORMAL), object);
		ui_put(w, row, 29 + obj_w, cols - 30 - obj_w - 17, theme_attr(ROLE_NORMAL), text);
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
	struct pool *p;
	bool many;
	struct hmap ours; /* task refs of our ops */
};

static void task_row(struct task_rows *t, const char *label, double progress, int64_t elapsed, attr_t a)
{
	char *text = t->many ? xasprintf("%s: %s", t->p->cfg.name, label) : xstrdup(label);

	ui_put(t->w, t->y + t->line, 3, t->cols / 2 - 4, a, text);
	progress_draw(t->w, t->y + t->line, t->cols / 2, t->cols / 2 - 1, progress, elapsed, a);
	t->line++;
	free(text);
}

static void op_row(const struct op *op, void *ud)
{
	struct task_rows *t = ud;

	if (op->state != OP_STARTING && op->state != OP_RUNNING)
		return;
	if (op->task)
		hmap_put(&t->ours, op->task, (void *)op);
	if (t->line < t->rows)
		task_row(t, op->label, op->progress, t->now - op->started_ms, theme_attr(ROLE_NORMAL));
}

static bool pool_task_row(const char *ref, const struct xv *task, void *ud)
{
	struct task_rows *t = ud;

	if (strcmp(rec_str(task, "status"), "pending") != 0 || hmap_get(&t->ours, ref))
		return true;
	/* someone else's: no start time we trust, so no estimate */
	if (t->line < t->rows)
		task_row(t, rec_str(task, "name_label"), rec_float(task, "progress"), 0, theme_attr(ROLE_DIM));
	return true;
}

static void draw_tasks(struct app *app, WINDOW *w, int y, int rows, int cols)
{
	struct pools *ps = app_pools(app);
	struct task_rows t;

	memset(&t, 0, sizeof(t));
	t.w = w;
	t.y = y + 1;
	t.rows = rows - 1;
	t.cols = cols;
	t.now = loop_now();
	t.many = app_many_pools(app);
	ui_put(w, y, 1, cols - 2, theme_attr(ROLE_HEADER), "TASKS RUNNING");
	for (size_t i = 0; i < pools_count(ps); i++) {
		t.p = pools_at(ps, i);
		if (!t.p->cache)
			continue;
		hmap_init(&t.ours);
		ops_each(t.p->ops, op_row, &t);
		cache_each(t.p->cache, "task", pool_task_row, &t);
		hmap_free(&t.ours);
	}
	if (!t.line && rows > 1)
		ui_put(w, y + 1, 3, cols - 4, theme_attr(ROLE_DIM), "Nothing running");
}

static void dash_draw(struct app *app, void *st, WINDOW *w, int h, int cols)
{
	struct dashboard *d = st;
	int hosts_rows, y = 0, left;

	y += draw_pools(app, w, y, h / 4 > 2 ? h / 4 : 2, cols) + 1;
	/* hosts get what they need up to half the screen; alerts and tasks share the rest */
	hosts_rows = (int)table_count(d->hosts) + 1;
	if (hosts_rows > (h - y) / 2)
		hosts_rows = (h - y) / 2;
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

static struct pool *dash_pool(struct app *app, void *st)
{
	struct dashboard *d = st;
	const char *ref;

	return pools_resolve(app_pools(app), table_selected(d->hosts), &ref);
}

static void open_host(struct app *app, void *st)
{
	struct dashboard *d = st;
	const char *ref = table_selected(d->hosts);

	if (ref)
		app_push(app, &screen_host, ref);
}

static void go_vms(struct app *app, void *st)
{
	app_push(app, &screen_vms, NULL);
}

static void go_hosts(struct app *app, void *st)
{
	app_push(app, &screen_hosts, NULL);
}

static void go_tasks(struct app *app, void *st)
{
	app_push(app, &screen_tasks, NULL);
}

static void go_servers(struct app *app, void *st)
{
	app_push(app, &screen_servers, NULL);
}

static void dash_describe(struct app *app, void *st, char *buf, size_t n)
{
	snprintf(buf, n, "Dashboard");
}

static const struct screen_key keys[] = {
	{XK_ENTER, "Host", "Open the selected host", open_host, NULL, true},
	{'v', "VMs", "All the VMs of the pools (also :vms)", go_vms, NULL, true},
	{'h', "Hosts", "The hosts (also :hosts)", go_hosts, NULL, true},
	{'t', "Tasks", "Running and recent tasks (also :tasks)", go_tasks, NULL, true},
	{'S', "Servers", "The configured pools: add, edit, connect (also :servers)", go_servers, NULL, false},
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
	.pool = dash_pool,
};
