/* --local's first screen, at a host's own console in xsconsole's place
 * (issue 17): this host, as xapi knows it (INSTALLATION_UUID in dom0's
 * inventory), through its local socket: name, management address, xapi and
 * the toolstack, CPU and memory, whether changes are locked, and its VMs
 * with the usual VM keys. Esc shows the whole pool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "draw.h"
#include "inventory.h"
#include "keys.h"
#include "lock.h"
#include "model.h"
#include "pools.h"
#include "screens.h"
#include "table.h"
#include "theme.h"
#include "units.h"
#include "util.h"
#include "vm_actions.h"

struct local_screen {
	struct vm_target target; /* first: the VM action keys read it */
	struct app *app;
	char *uuid;        /* this host's, from the inventory; NULL when there is none */
	char qref[QREF_MAX];
	bool found;
	const char *note;  /* how this host was chosen without an inventory */
	struct table *vms;
};

static const struct table_col vm_cols[] = {
	{"NAME", 16, 2, false, false, 0},
	{"POWER", 9, 0, false, false, 0},
	{"VCPUS", 5, 0, true, true, 1},
	{"RAM", 8, 0, true, true, 0},
	{"IP", 15, 1, false, false, 2},
};

/* The pool xapi's local socket serves (else the first one with a cache). */
static struct pool *local_pool(struct app *app)
{
	struct pools *ps = app_pools(app);

	for (size_t i = 0; i < pools_count(ps); i++)
		if (pool_is_local(pools_at(ps, i)))
			return pools_at(ps, i);
	return pools_first_active(ps);
}

/* This host's ref in p, or NULL (not loaded yet). */
static const char *this_host(struct local_screen *s, struct pool *p)
{
	const char *ref = NULL;

	if (!p || !p->cache || !cache_loaded(p->cache))
		return NULL;
	if (s->uuid && cache_by_uuid(p->cache, "host", s->uuid, &ref) && ref)
		return ref;
	/* no inventory (not dom0, or a test): the pool's master stands for it */
	ref = rec_str(pool_record(p->cache, NULL), "master");
	s->note = s->uuid ? "this host's INSTALLATION_UUID is not in the pool: showing the master"
			  : "no /etc/xensource-inventory: showing the pool's master";
	return ref && *ref && cache_get(p->cache, ref) ? ref : NULL;
}

static void look(struct app *app, struct local_screen *s)
{
	struct pool *p = local_pool(app);
	const char *ref;

	if (s->found)
		return;
	ref = this_host(s, p);
	if (!ref)
		return;
	s->found = true;
	pool_qref(p, ref, s->qref, sizeof(s->qref));
	if (app_lock(app))
		lock_set_address(app_lock(app), rec_str(cache_get(p->cache, ref), "address"));
	if (s->note)
		app_message(app, MSG_INFO, "%s", s->note);
}

static const char *selected_vm(struct app *app, void *st)
{
	struct local_screen *s = st;

	return table_selected(s->vms);
}

static void *local_enter(struct app *app, const void *arg)
{
	struct local_screen *s = xcalloc(1, sizeof(*s));

	s->target.ref = selected_vm;
	s->app = app;
	s->uuid = inventory_get("INSTALLATION_UUID");
	s->vms = table_new(vm_cols, (int)(ARRAY_LEN(vm_cols)));
	table_set_noun(s->vms, "VM", "VMs");
	look(app, s);
	return s;
}

static void local_leave(struct app *app, void *st)
{
	struct local_screen *s = st;

	table_free(s->vms);
	free(s->uuid);
	free(s);
}

static void local_event(struct app *app, void *st, struct pool *p, enum cache_op op, const char *cls,
			const char *ref)
{
	struct local_screen *s = st;

	if (op == CACHE_LOADED || op == CACHE_STATUS || (cls && strcmp(cls, "host") == 0))
		look(app, s);
}

struct fill {
	struct local_screen *s;
	struct pool *p;
	const char *host;
};

static void put_vm(struct fill *f, const char *ref, const struct xv *vm)
{
	enum role pr;
	const char *power = vm_power_text(vm, &pr);
	char vcpus[16], ram[24], key[QREF_MAX];
	struct table_cell cells[] = {
		{rec_str(vm, "name_label"), 0, -1},
		{power, 0, (int)pr},
		{vcpus, (double)rec_int(vm, "VCPUs_at_startup"), -1},
		{ram, (double)rec_int(vm, "memory_dynamic_max"), -1},
		{vm_ip(f->p->cache, vm), 0, -1},
	};

	snprintf(vcpus, sizeof(vcpus), "%lld", rec_int(vm, "VCPUs_at_startup"));
	size_format(ram, sizeof(ram), rec_int(vm, "memory_dynamic_max"));
	table_put(f->s->vms, pool_qref(f->p, ref, key, sizeof(key)), cells, ROLE_NORMAL, NULL);
}

/* Its VMs: those running here, and halted ones whose home (affinity) it is. */
static bool fill_vm(const char *ref, const struct xv *vm, void *ud)
{
	struct fill *f = ud;

	if (vm_is_guest(vm) && (strcmp(rec_str(vm, "resident_on"), f->host) == 0 ||
				(strcmp(rec_str(vm, "power_state"), "Running") != 0 &&
				 strcmp(rec_str(vm, "affinity"), f->host) == 0)))
		put_vm(f, ref, vm);
	return true;
}

static void kv(WINDOW *w, int *y, int cols, const char *label, attr_t a, const char *value)
{
	ui_kv(w, (*y)++, 1, 12, cols - 2, label, value, a);
}

static void draw_waiting(struct app *app, struct pool *p, WINDOW *w, int cols)
{
	const char *why = NULL;
	enum pool_state ps = p ? pool_state(p, &why) : POOL_DISCONNECTED;
	char line[512];
	int y = 1;

	if (!p) {
		ui_put(w, y, 2, cols - 4, theme_attr(ROLE_BAD), "No pool: xentui --local reads unix:/var/lib/xcp/xapi");
		return;
	}
	snprintf(line, sizeof(line), "This host's xapi: %s", p->cfg.url);
	ui_put(w, y++, 2, cols - 4, theme_attr(ROLE_NORMAL), line);
	snprintf(line, sizeof(line), "%s%s%s", pool_state_name(ps), why && *why ? ": " : "", why ? why : "");
	ui_wrap(w, y, 2, cols - 4, 4, theme_attr(ps == POOL_FAILED ? ROLE_BAD : ROLE_DIM), line);
}

static void local_draw(struct app *app, void *st, WINDOW *w, int h, int cols)
{
	struct local_screen *s = st;
	struct pool *p = local_pool(app);
	const char *ref = NULL, *why = NULL;
	const struct xv *h_rec = s->found ? app_lookup(app, s->qref, &p, &ref) : NULL;
	const struct xv *pool;
	struct host_use u;
	struct fill f;
	char buf[320], bar[64];
	const char *master;
	enum pool_state ps;
	int y = 0;

	if (!h_rec) {
		draw_waiting(app, p, w, cols);
		return;
	}
	pool = pool_record(p->cache, NULL);
	master = rec_str(pool, "master");
	snprintf(buf, sizeof(buf), "%s  (%s of pool %s)", rec_str(h_rec, "name_label"),
		 strcmp(master, ref) == 0 ? "master" : "member", rec_str(pool, "name_label"));
	kv(w, &y, cols, "Host", theme_attr(ROLE_TITLE), buf);
	snprintf(buf, sizeof(buf), "%s  (hostname %s)", rec_str(h_rec, "address"), rec_str(h_rec, "hostname"));
	kv(w, &y, cols, "Address", theme_attr(ROLE_NORMAL), buf);
	host_use(p->cache, ref, h_rec, NULL, &u);
	ps = pool_state(p, &why);
	snprintf(buf, sizeof(buf), "xapi %s, host %s, %s %s (xapi %s)", ps == POOL_CONNECTED ? "answering" : pool_state_name(ps),
		 u.state, rec_map(h_rec, "software_version", "product_brand") ? rec_map(h_rec, "software_version", "product_brand") : "",
		 rec_map(h_rec, "software_version", "product_version") ? rec_map(h_rec, "software_version", "product_version") : "",
		 rec_map(h_rec, "software_version", "xapi") ? rec_map(h_rec, "software_version", "xapi") : "?");
	kv(w, &y, cols, "Toolstack", theme_attr(ps == POOL_CONNECTED ? u.role : ROLE_BAD), buf);
	bar_text(bar, sizeof(bar), u.cpu, 10);
	snprintf(buf, sizeof(buf), "%s %3.0f%%  %d x %s", bar, u.cpu * 100, u.ncpus,
		 rec_map(h_rec, "cpu_info", "modelname") ? rec_map(h_rec, "cpu_info", "modelname") : "CPU");
	kv(w, &y, cols, "CPU", theme_attr(ROLE_NORMAL), buf);
	{
		long long used = u.mem_total - u.mem_free;
		char use[96];
		double frac = u.mem_total ? (double)used / (double)u.mem_total : 0;
		used_of_total(use, sizeof(use), used, u.mem_total);
		bar_text(bar, sizeof(bar), frac, 10);
		snprintf(buf, sizeof(buf), "%s %3.0f%%  %s", bar, frac * 100, use);
		kv(w, &y, cols, "Memory", theme_attr(frac > 0.9 ? ROLE_BAD : ROLE_NORMAL), buf);
	}
	if (app_lock(app))
		kv(w, &y, cols, "Changes", theme_attr(lock_locked(app_lock(app)) ? ROLE_WARN : ROLE_GOOD),
		   lock_locked(app_lock(app)) ? "locked: a change asks for root's password" : "unlocked (Ctrl-L locks)");
	y++;
	f.s = s;
	f.p = p;
	f.host = ref;
	table_clear(s->vms);
	cache_each(p->cache, "VM", fill_vm, &f);
	if (y < h - 1)
		table_draw(s->vms, w, y, 0, h - y, cols, !app_has_dialog(app));
}

static void open_vm(struct app *app, void *st)
{
	struct local_screen *s = st;
	const char *qref = table_selected(s->vms);

	if (qref)
		app_push(app, &screen_vm, qref);
}

static void open_host(struct app *app, void *st)
{
	struct local_screen *s = st;

	if (!s->found)
		app_message(app, MSG_INFO, "This host is not loaded yet");
	else
		app_push(app, &screen_host, s->qref);
}

static bool has_vm(struct app *app, void *st)
{
	return table_selected(((struct local_screen *)st)->vms) != NULL;
}

static struct table *local_list(struct app *app, void *st)
{
	struct local_screen *s = st;

	return s->found ? s->vms : NULL;
}

static void local_describe(struct app *app, void *st, char *buf, size_t n)
{
	struct local_screen *s = st;
	struct pool *p;
	const char *ref;
	const struct xv *h = s->found ? app_lookup(app, s->qref, &p, &ref) : NULL;

	snprintf(buf, n, "This host%s%s", h ? " " : "", h ? rec_str(h, "name_label") : "");
}

static struct pool *local_pool_of(struct app *app, void *st)
{
	return local_pool(app);
}

static const struct screen_key keys[] = {
	{XK_ENTER, "Open VM", "Open the selected VM", open_vm, has_vm, true},
	{'h', "Host", "This host's details: CPUs, memory, NICs, storage, metrics", open_host, NULL, true},
	{0, NULL, NULL, NULL, NULL, false},
};

const struct screen screen_local = {
	.name = "local",
	.title = "This host",
	.keys = keys,
	.shared_keys = vm_action_keys,
	.enter = local_enter,
	.leave = local_leave,
	.draw = local_draw,
	.on_cache_event = local_event,
	.list = local_list,
	.describe = local_describe,
	.pool = local_pool_of,
};
