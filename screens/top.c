/* Top: the running (and paused) VMs of every connected pool sorted by what they use
 * now (CPU, memory, network, disk), like htop's main view. The figures are
 * xcp-rrdd's (every VM of each pool wanted while the screen is drawn), the
 * rows made again when new ones came (every 5 s, no more often); Enter opens the VM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "draw.h"
#include "hmap.h"
#include "keys.h"
#include "loop.h"
#include "metrics_ui.h"
#include "model.h"
#include "screens.h"
#include "table.h"
#include "util.h"

/* Rows made again at most this often: a pool of many hosts answers host by host. */
#define REBUILD_MS 4000
/* Without new figures (a host down), a draw this long after the last keeps them wanted. */
#define RENEW_MS (METRICS_WANT_MS / 2)

enum { COL_NAME, COL_POOL, COL_HOST, COL_CPU, COL_MEM, COL_NET, COL_DISK };

static const struct table_col columns[] = {
	[COL_NAME] = {"NAME", 12, 3, false, false, 0},
	[COL_POOL] = {"POOL", 8, 1, false, false, 0},
	[COL_HOST] = {"HOST", 9, 1, false, false, 2},
	[COL_CPU] = {"CPU", 7, 0, true, true, 0},
	[COL_MEM] = {"MEM USED", 19, 0, true, true, 1},
	[COL_NET] = {"NET", 11, 0, true, true, 0},
	[COL_DISK] = {"DISK", 11, 0, true, true, 0},
};

struct top {
	struct app *app;
	struct table *table;
	struct loop_timer *timer; /* the next draw that no new figures bring */
	int64_t built;            /* loop_now() when the rows were made */
	unsigned long figures;    /* the pools' metrics_rounds then */
	unsigned builds;          /* the first figures after opening are shown at once */
	bool stale;      /* make the rows again at the next draw */
	/* the rows are put again in place every 5 s (thousands: no clearing and regrowing);
	 * each row's key -> the round it was last put in, so the VMs gone are taken out */
	struct hmap rounds;
	unsigned long round;
};

struct seen {
	unsigned long round;
	char key[]; /* the row's */
};

struct put_ctx {
	struct top *t;
	struct pool *p;
	const struct metrics *m;
};

/* "%5.1f%%" (graph_fixed: no float printf for each of thousands of rows a round). */
static void cpu_cell(char *buf, size_t n, double v)
{
	char num[48];
	size_t len, pad;

	graph_fixed(num, sizeof(num), v, 1, "%");
	len = strlen(num);
	pad = len < 6 ? 6 - len : 0; /* the number right-aligned in 5 */
	if (pad + len >= n) {
		snprintf(buf, n, "%5.1f%%", v);
		return;
	}
	memset(buf, ' ', pad);
	memcpy(buf + pad, num, len + 1);
}

static bool put_vm(const char *ref, const struct xv *vm, void *ud)
{
	struct put_ctx *c = ud;
	const char *uuid, *power = rec_str(vm, "power_state");
	char key[QREF_MAX], cpu[64] = "", mem[72] = "", net[32], disk[32], used[32], total[32];
	double cpu_n = -1, mem_n = -1, net_n, disk_n;
	struct mui_now f;

	/* the power state first: one field read puts the halted (templates too) aside */
	if ((strcmp(power, "Running") != 0 && strcmp(power, "Paused") != 0) || !vm_is_guest(vm))
		return true;
	uuid = rec_str(vm, "uuid");
	/* every figure in one pass over the VM's series: thousands of rows every 5 s */
	mui_now(c->m, uuid, false, &f);
	if (!mui_now_current(&f, c->p->cache, vm))
		memset(&f, 0, sizeof(f)); /* figures from before it started again */
	/* the number alone: a sparkline per row costs too much on a big pool */
	if (f.known[MUI_CPU]) {
		cpu_cell(cpu, sizeof(cpu), f.v[MUI_CPU]);
		cpu_n = f.v[MUI_CPU];
	}
	if (f.known[MUI_MEM] && f.known[MUI_MEM_TOTAL]) {
		graph_format(used, sizeof(used), f.v[MUI_MEM], "B");
		graph_format(total, sizeof(total), f.v[MUI_MEM_TOTAL], "B");
		/* "used / total": both under 32 bytes, mem holds 72 */
		strcpy(mem, used);
		strcat(mem, " / ");
		strcat(mem, total);
		mem_n = f.v[MUI_MEM];
	}
	mui_rate_cells_of(&f, net, sizeof(net), &net_n, disk, sizeof(disk), &disk_n);
	{
		struct table_cell cells[] = {
			[COL_NAME] = {rec_str(vm, "name_label"), 0, -1},
			[COL_POOL] = {c->p->cfg.name, 0, -1},
			[COL_HOST] = {name_of(c->p->cache, rec_str(vm, "resident_on")), 0, -1},
			[COL_CPU] = {cpu, cpu_n, -1},
			[COL_MEM] = {mem, mem_n, -1},
			[COL_NET] = {net, net_n, -1},
			[COL_DISK] = {disk, disk_n, -1},
		};
		table_put(c->t->table, pool_qref(c->p, ref, key, sizeof(key)), cells, ROLE_NORMAL, uuid);
	}
	{
		struct seen *e = hmap_get(&c->t->rounds, key);
		if (!e) {
			e = xmalloc(sizeof(*e) + strlen(key) + 1);
			strcpy(e->key, key);
			hmap_put(&c->t->rounds, e->key, e);
		}
		e->round = c->t->round;
	}
	return true;
}

struct sweep {
	struct top *t;
	struct buf gone; /* the rows not put this round (struct seen *) */
};

static bool find_gone(const char *key, void *value, void *ud)
{
	struct sweep *s = ud;
	struct seen *e = value;

	(void)key;
	if (e->round != s->t->round)
		buf_append(&s->gone, &e, sizeof(e));
	return true;
}

/* Takes out the rows of VMs that stopped, went or whose pool went since the last round. */
static void sweep(struct top *t)
{
	struct sweep s = {t, {0}};

	buf_init(&s.gone);
	hmap_each(&t->rounds, find_gone, &s);
	for (size_t i = 0; i < s.gone.len / sizeof(struct seen *); i++) {
		struct seen *e = ((struct seen **)(void *)s.gone.data)[i];
		table_remove(t->table, e->key);
		hmap_del(&t->rounds, e->key);
		free(e);
	}
	buf_free(&s.gone);
}

static void rebuild(struct app *app, struct top *t)
{
	struct pools *ps = app_pools(app);

	t->round++;
	for (size_t i = 0; i < pools_count(ps); i++) {
		struct put_ctx c = {t, pools_at(ps, i), NULL};
		if (!c.p->cache || !(c.m = mui_metrics(app, c.p)))
			continue;
		cache_each(c.p->cache, "VM", put_vm, &c);
	}
	sweep(t);
	table_show_col(t->table, COL_POOL, app_many_pools(app));
	t->stale = false;
	t->built = loop_now();
	t->builds++;
}

static void on_tick(struct loop *l, void *ud)
{
	struct top *t = ud;

	(void)l;
	t->timer = NULL;
	app_dirty(t->app);
}

/* The one timer: the rows made again once REBUILD_MS allows, or a draw to renew the want. */
static void arm(struct app *app, struct top *t, int64_t delay)
{
	if (t->timer)
		loop_timer_cancel(app_loop(app), t->timer);
	t->timer = loop_timer(app_loop(app), delay < 0 ? 0 : delay, on_tick, t);
}

static void *top_enter(struct app *app, const void *arg)
{
	struct top *t = xcalloc(1, sizeof(*t));

	hmap_init(&t->rounds);
	t->app = app;
	t->table = table_new(columns, (int)(ARRAY_LEN(columns)));
	table_set_noun(t->table, "VM running or paused", "VMs running or paused"); /* a paused one still holds its memory */
	table_sort(t->table, COL_CPU, true);
	t->stale = true;
	return t;
}

static bool free_seen(const char *key, void *value, void *ud)
{
	(void)key;
	(void)ud;
	free(value);
	return true;
}

static void top_leave(struct app *app, void *st)
{
	struct top *t = st;

	if (t->timer)
		loop_timer_cancel(app_loop(app), t->timer);
	table_free(t->table);
	hmap_each(&t->rounds, free_seen, NULL);
	hmap_free(&t->rounds);
	free(t);
}

static void top_event(struct app *app, void *st, struct pool *p, enum cache_op op, const char *cls, const char *ref)
{
	struct top *t = st;

	/* a VM started, stopped or moved: its row at the next draw */
	if (!p || op == CACHE_LOADED || (cls && (strcmp(cls, "VM") == 0 || strcmp(cls, "host") == 0)))
		t->stale = true;
}

static void top_draw(struct app *app, void *st, WINDOW *w, int h, int cols)
{
	struct top *t = st;
	struct pools *ps = app_pools(app);
	bool none = true;
	unsigned long figures = 0;
	int64_t now = loop_now();

	/* every VM wanted: the order needs all of their figures */
	for (size_t i = 0; i < pools_count(ps); i++) {
		struct metrics *m = mui_metrics(app, pools_at(ps, i));
		if (m) {
			metrics_want_all(m, METRICS_NOW);
			figures += metrics_rounds(m);
			none = false;
		}
	}
	if (none) {
		ui_put(w, 1, 2, cols - 4, theme_attr(ROLE_DIM), "No pool connected: :servers connects one.");
		return;
	}
	/* new figures, or a VM that changed: thousands of rows, so not on other redraws */
	if (t->stale || table_count(t->table) == 0
	    || (figures != t->figures && (now - t->built >= REBUILD_MS || t->builds < 2))) {
		rebuild(app, t);
		t->figures = figures;
	}
	table_draw(t->table, w, 0, 0, h, cols, !app_has_dialog(app));
	arm(app, t, figures != t->figures ? t->built + REBUILD_MS - now : RENEW_MS);
}

static struct table *top_list(struct app *app, void *st)
{
	return ((struct top *)st)->table;
}

static struct pool *top_pool(struct app *app, void *st)
{
	const char *ref;

	return pools_resolve(app_pools(app), table_selected(((struct top *)st)->table), &ref);
}

static void open_vm(struct app *app, void *st)
{
	const char *ref = table_selected(((struct top *)st)->table);

	if (ref)
		app_push(app, &screen_vm, ref);
}

static void sort_by(struct top *t, int col)
{
	table_sort(t->table, col, true);
}

static void by_cpu(struct app *app, void *st)
{
	sort_by(st, COL_CPU);
	return;
}

static void by_mem(struct app *app, void *st)
{
	sort_by(st, COL_MEM);
	return;
}

static void by_net(struct app *app, void *st)
{
	sort_by(st, COL_NET);
	return;
}

static void by_disk(struct app *app, void *st)
{
	sort_by(st, COL_DISK);
	return;
}

static const struct screen_key keys[] = {
	{XK_ENTER, "Open", "Open the VM", open_vm, NULL, true},
	{'c', "CPU", "Sort by CPU use, the busiest first", by_cpu, NULL, true},
	{'m', "Memory", "Sort by memory in use, the largest first", by_mem, NULL, true},
	{'n', "Network", "Sort by network traffic (receive and send), the busiest first", by_net, NULL, true},
	{'d', "Disk", "Sort by disk traffic (read and write), the busiest first", by_disk, NULL, true},
	{0, NULL, NULL, NULL, NULL, false},
};

const struct screen screen_top = {
	.name = "top",
	.title = "Top",
	.keys = keys,
	.enter = top_enter,
	.leave = top_leave,
	.draw = top_draw,
	.on_cache_event = top_event,
	.list = top_list,
	.pool = top_pool,
	.filter_help = "pool:lab\tits pool is lab (with several pools)\n"
		       "host:xcp-ng-02\tit runs on that host\n"
		       "web\tother words match anywhere in the row, uuid too",
};
