/* Hosts: every host of every connected pool with its state, CPU and
 * memory use and guests, live; a POOL column when there are several. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "hmap.h"
#include "keys.h"
#include "metrics_ui.h"
#include "model.h"
#include "screens.h"
#include "table.h"
#include "units.h"
#include "util.h"

enum { COL_NAME, COL_STATE, COL_POOL, COL_ADDRESS, COL_CPU, COL_CPUS, COL_MEMORY, COL_VMS, COL_VERSION, COL_NET, COL_DISK };

static const struct table_col columns[] = {
	[COL_NAME] = {"NAME", 12, 2, false, false, 0},
	[COL_STATE] = {"STATE", 8, 0, false, false, 0},
	[COL_POOL] = {"POOL", 8, 1, false, false, 0},
	[COL_ADDRESS] = {"ADDRESS", 15, 0, false, false, 2},
	[COL_CPU] = {"CPU", 13, 0, true, true, 0}, /* xcp-rrdd's "12.3% " and a sparkline, else xapi's figure */
	[COL_CPUS] = {"CPUS", 4, 0, true, true, 3},
	[COL_MEMORY] = {"MEMORY", 17, 0, true, true, 0},
	[COL_VMS] = {"VMS", 4, 0, true, true, 0},
	[COL_VERSION] = {"VERSION", 8, 1, false, false, 4},
	[COL_NET] = {"NET", 11, 0, true, true, 5},  /* xcp-rrdd's receive + send of the PIFs, "1.2 MiB/s" */
	[COL_DISK] = {"DISK", 11, 0, true, true, 5}, /* read + write of its SRs */
};

#define RATE_COLS 170 /* from this width on the network and disk rates show */

struct hosts {
	struct table *table;
	bool fresh; /* rebuilt during this draw */
};

static bool put_host(const char *ref, const struct xv *h, void *ud)
{
	void **ctx = ud;
	struct hosts *s = ctx[0];
	struct pool *p = ctx[1];
	const struct cache *c = p->cache;
	const struct hmap *cpus = ctx[2];
	struct host_use u;
	char cpu[64], ncpus[16], mem[48], vms[16], key[QREF_MAX], rmem[64], net[32], disk[32];
	double mem_frac, cpu_n = -1, rmem_n, net_n, disk_n;
	bool live;

	host_use(c, ref, h, cpus, &u);
	cpu[0] = rmem[0] = net[0] = disk[0] = '\0';
	rmem_n = net_n = disk_n = -1;
	/* an offline host shows no figures: what it last said is not what it does now */
	live = strcmp(u.state, "offline") != 0;
	if (live) {
		mui_list_cells(p->metrics, rec_str(h, "uuid"), true, cpu, sizeof(cpu), &cpu_n, rmem, sizeof(rmem),
			       &rmem_n);
		mui_rate_cells(p->metrics, rec_str(h, "uuid"), true, net, sizeof(net), &net_n, disk, sizeof(disk),
			       &disk_n);
	}
	if (cpu_n < 0 && live) {
		snprintf(cpu, sizeof(cpu), "%.0f%%", u.cpu * 100);
		cpu_n = u.cpu * 100;
	}
	snprintf(ncpus, sizeof(ncpus), "%d", u.ncpus);
	used_of_total(mem, sizeof(mem), u.mem_total - u.mem_free, u.mem_total);
	snprintf(vms, sizeof(vms), "%d", u.vms);
	mem_frac = u.mem_total ? (double)(u.mem_total - u.mem_free) / (double)u.mem_total : 0;
	{
		struct table_cell cells[] = {
			[COL_NAME] = {rec_str(h, "name_label"), 0, -1},
			[COL_STATE] = {u.state, 0, (int)u.role},
			[COL_POOL] = {p->cfg.name, 0, -1},
			[COL_ADDRESS] = {rec_str(h, "address"), 0, -1},
			[COL_CPU] = {cpu, cpu_n, -1},
			[COL_CPUS] = {ncpus, u.ncpus, -1},
			[COL_MEMORY] = {mem, mem_frac, -1},
			[COL_VMS] = {vms, u.vms, -1},
			[COL_VERSION] = {rec_map(h, "software_version", "product_version")
						 ? rec_map(h, "software_version", "product_version")
						 : "",
					 0, -1},
			[COL_NET] = {net, net_n, -1},
			[COL_DISK] = {disk, disk_n, -1},
		};
		table_put(s->table, pool_qref(p, ref, key, sizeof(key)), cells, ROLE_NORMAL, rec_str(h, "uuid"));
	}
	return true;
}

static void rebuild(struct app *app, struct hosts *s)
{
	struct pools *ps = app_pools(app);

	table_clear(s->table);
	for (size_t i = 0; i < pools_count(ps); i++) {
		struct pool *p = pools_at(ps, i);
		struct hmap cpus;
		void *ctx[3] = {s, p, &cpus};
		if (!p->cache)
			continue;
		host_cpu_index(p->cache, &cpus);
		cache_each(p->cache, "host", put_host, ctx);
		host_cpu_index_free(&cpus);
	}
	table_show_col(s->table, COL_POOL, app_many_pools(app));
}

static void *hosts_enter(struct app *app, const void *arg)
{
	struct hosts *s = xcalloc(1, sizeof(*s));

	s->table = table_new(columns, (int)(ARRAY_LEN(columns)));
	table_set_noun(s->table, "host", "hosts");
	rebuild(app, s);
	return s;
}

static void hosts_leave(struct app *app, void *st)
{
	struct hosts *s = st;

	table_free(s->table);
	free(s);
}

static void hosts_event(struct app *app, void *st, struct pool *p, enum cache_op op, const char *cls,
			const char *ref)
{
	/* few hosts, and what their rows show comes from several classes */
	if (!p || op == CACHE_LOADED || (cls && (strcmp(cls, "host") == 0 || strcmp(cls, "host_metrics") == 0
						 || strcmp(cls, "host_cpu") == 0)))
		rebuild(app, st);
}

/* The hosts' rows again with the metrics' latest points (few hosts: all of them). */
static void remetric(struct app *app, const char *key, void *ud)
{
	struct hosts *s = ud;

	if (!s->fresh)
		rebuild(app, s);
	s->fresh = true;
}

static void hosts_draw(struct app *app, void *st, WINDOW *w, int h, int cols)
{
	struct hosts *s = st;

	s->fresh = false;
	table_show_col(s->table, COL_NET, cols >= RATE_COLS);
	table_show_col(s->table, COL_DISK, cols >= RATE_COLS);
	mui_table_draw_rates(app, s->table, COL_CPU, -100 /* memory is xapi's */, COL_NET, COL_DISK, true, w, h, cols,
			     remetric, s);
}

static struct table *hosts_list(struct app *app, void *st)
{
	return ((struct hosts *)st)->table;
}

static void open_host(struct app *app, void *st)
{
	struct hosts *s = st;
	const char *ref = table_selected(s->table);

	if (ref)
		app_push(app, &screen_host, ref);
}

static struct pool *hosts_pool(struct app *app, void *st)
{
	struct hosts *s = st;
	const char *ref;

	return pools_resolve(app_pools(app), table_selected(s->table), &ref);
}

static const struct screen_key keys[] = {
	{XK_ENTER, "Open", "Open the host: CPUs, memory, NICs, storage, its VMs", open_host, NULL, true},
	{0, NULL, NULL, NULL, NULL, false},
};

const struct screen screen_hosts = {
	.name = "hosts",
	.title = "Hosts",
	.keys = keys,
	.enter = hosts_enter,
	.leave = hosts_leave,
	.draw = hosts_draw,
	.on_cache_event = hosts_event,
	.list = hosts_list,
	.pool = hosts_pool,
	.filter_help = "state:enabled\tthe host is enabled (also disabled, offline)\n"
		       "pool:lab\tit is in that pool (with several pools)\n"
		       "state:!enabled\ta ! excludes: every host that is not enabled\n"
		       "xcp 02\tother words match anywhere in the row, uuid too",
};
