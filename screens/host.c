/* One host: General, CPUs, Memory, NICs, Storage and its VMs, all live.
 * The screen's argument is the host's qualified ref ("ID/REF"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "detail.h"
#include "draw.h"
#include "hmap.h"
#include "keys.h"
#include "model.h"
#include "pool_join.h"
#include "screens.h"
#include "metrics_tab.h"
#include "table.h"
#include "units.h"
#include "util.h"

enum tab { TAB_GENERAL, TAB_CPUS, TAB_MEMORY, TAB_NICS, TAB_STORAGE, TAB_VMS, TAB_METRICS, NTABS };
static const char *const tab_names[NTABS] = {"General", "CPUs", "Memory", "NICs", "Storage", "VMs", "Metrics"};

static const struct table_col cpu_cols[] = {
	{"CPU", 4, 0, true, true, 0},
	{"MODEL", 16, 2, false, false, 1},
	{"MHZ", 6, 0, true, true, 2},
	{"USE", 18, 1, false, true, 0},
};
static const struct table_col nic_cols[] = {
	{"DEVICE", 6, 0, false, false, 0}, {"MAC", 17, 0, false, false, 2}, {"IP", 15, 0, false, false, 0},
	{"NETWORK", 10, 2, false, false, 1}, {"SPEED", 7, 0, true, true, 3}, {"LINK", 4, 0, false, false, 0},
	{"MGMT", 4, 0, false, false, 4},    {"VLAN", 4, 0, true, true, 5},
};
static const struct table_col sr_cols[] = {
	{"NAME", 12, 2, false, false, 0}, {"TYPE", 5, 0, false, false, 0}, {"SHARED", 6, 0, false, false, 2},
	{"SIZE", 9, 0, true, true, 1},    {"USED", 17, 1, false, true, 0}, {"ATTACHED", 8, 0, false, false, 3},
};
static const struct table_col vm_cols[] = {
	{"NAME", 14, 2, false, false, 0},
	{"POWER", 9, 0, false, false, 0},
	{"VCPUS", 5, 0, true, true, 1},
	{"RAM", 8, 0, true, true, 0},
	{"IP", 15, 1, false, false, 2},
};

struct host_screen {
	struct detail d; /* the host, its pool, the tab shown */
	struct table *tables[NTABS];
	struct metrics_tab metrics; /* the Metrics tab's span */
};

static void *host_enter(struct app *app, const void *arg)
{
	struct host_screen *s = xcalloc(1, sizeof(*s));

	detail_init(&s->d, app, arg, "Host", "host", tab_names, NTABS);
	s->tables[TAB_CPUS] = table_new(cpu_cols, (int)(ARRAY_LEN(cpu_cols)));
	s->tables[TAB_NICS] = table_new(nic_cols, (int)(ARRAY_LEN(nic_cols)));
	s->tables[TAB_STORAGE] = table_new(sr_cols, (int)(ARRAY_LEN(sr_cols)));
	s->tables[TAB_VMS] = table_new(vm_cols, (int)(ARRAY_LEN(vm_cols)));
	/* the Memory tab lists the same VMs, largest first */
	s->tables[TAB_MEMORY] = table_new(vm_cols, (int)(ARRAY_LEN(vm_cols)));
	table_sort(s->tables[TAB_MEMORY], 3, true);
	table_set_noun(s->tables[TAB_CPUS], "CPU", "CPUs");
	table_set_noun(s->tables[TAB_NICS], "NIC", "NICs");
	table_set_noun(s->tables[TAB_STORAGE], "SR", "SRs");
	table_set_noun(s->tables[TAB_VMS], "VM", "VMs");
	return s;
}

static void host_leave(struct app *app, void *st)
{
	struct host_screen *s = st;

	for (int i = 0; i < NTABS; i++)
		table_free(s->tables[i]);
	detail_free(&s->d);
	free(s);
}

static bool is_master(const struct cache *c, const char *ref)
{
	const struct xv *pool = pool_record(c, NULL);

	return pool && strcmp(rec_str(pool, "master"), ref) == 0;
}

static void draw_general(const struct cache *c, struct host_screen *s, const struct xv *h, WINDOW *w, int y,
			 int rows, int cols)
{
	struct host_use u;
	char buf[256];
	int line = y, lw = 18, x = 2, cw = cols - 4;
	attr_t normal = theme_attr(ROLE_NORMAL);

	host_use(c, s->d.ref, h, NULL, &u);
#define KV(label, value, attr)                                           \
	do {                                                             \
		if (line < y + rows)                                     \
			ui_kv(w, line++, x, lw, cw, label, value, attr); \
	} while (0)
	KV("Name", rec_str(h, "name_label"), theme_attr(ROLE_TITLE));
	KV("Description", rec_str(h, "name_description"), normal);
	KV("State", u.state, theme_attr(u.role));
	KV("Pool master", is_master(c, s->d.ref) ? "yes" : "no", normal);
	KV("Address", rec_str(h, "address"), normal);
	KV("Hostname", rec_str(h, "hostname"), normal);
	snprintf(buf, sizeof(buf), "%s %s (xapi %lld.%lld)",
		 rec_map(h, "software_version", "product_brand") ? rec_map(h, "software_version", "product_brand") : "",
		 rec_map(h, "software_version", "product_version") ? rec_map(h, "software_version", "product_version")
								    : "",
		 rec_int(h, "API_version_major"), rec_int(h, "API_version_minor"));
	KV("Version", buf, normal);
	snprintf(buf, sizeof(buf), "%d x %s", u.ncpus,
		 rec_map(h, "cpu_info", "modelname") ? rec_map(h, "cpu_info", "modelname") : "CPU");
	KV("CPUs", buf, normal);
	snprintf(buf, sizeof(buf), "%.0f%%", u.cpu * 100);
	KV("CPU use", buf, normal);
	used_of_total(buf, sizeof(buf), u.mem_total - u.mem_free, u.mem_total);
	KV("Memory used", buf, normal);
	snprintf(buf, sizeof(buf), "%d running here", u.vms);
	KV("VMs", buf, normal);
	snprintf(buf, sizeof(buf), "%s %s",
		 rec_map(h, "bios_strings", "system-manufacturer") ? rec_map(h, "bios_strings", "system-manufacturer") : "",
		 rec_map(h, "bios_strings", "system-product-name") ? rec_map(h, "bios_strings", "system-product-name") : "");
	KV("Hardware", buf, normal);
	KV("Edition", rec_str(h, "edition"), normal);
	KV("UUID", rec_str(h, "uuid"), theme_attr(ROLE_DIM));
#undef KV
}

struct fill {
	struct host_screen *s;
	const struct cache *c;
	struct table *t;
	struct pool *p;
};

static bool cpu_row(const char *ref, const struct xv *cpu, void *ud)
{
	struct fill *f = ud;
	char num[16], mhz[16], use[96], bar[64];
	double u = rec_float(cpu, "utilisation");

	if (strcmp(rec_str(cpu, "host"), f->s->d.ref) != 0)
		return true;
	snprintf(num, sizeof(num), "%lld", rec_int(cpu, "number"));
	snprintf(mhz, sizeof(mhz), "%lld", rec_int(cpu, "speed"));
	bar_text(bar, sizeof(bar), u, 10);
	snprintf(use, sizeof(use), "%s %3.0f%%", bar, u * 100);
	{
		struct table_cell cells[] = {
			{num, (double)rec_int(cpu, "number"), -1},
			{rec_str(cpu, "modelname"), 0, -1},
			{mhz, (double)rec_int(cpu, "speed"), -1},
			{use, u, -1},
		};
		table_put(f->t, ref, cells, ROLE_NORMAL, NULL);
	}
	return true;
}

static void fill_nics(struct fill *f, const struct xv *h)
{
	const struct xv *pifs = rec_field(h, "PIFs");

	for (size_t i = 0; i < xv_len(pifs); i++) {
		const char *ref = xv_str(xv_at(pifs, i));
		const struct xv *pif = cache_get(f->c, ref);
		const struct xv *m = pif ? cache_get(f->c, rec_str(pif, "metrics")) : NULL;
		char speed[16], vlan[16];
		if (!pif)
			continue;
		if (rec_int(m, "speed"))
			snprintf(speed, sizeof(speed), "%lld M", rec_int(m, "speed"));
		else
			snprintf(speed, sizeof(speed), "-");
		if (rec_int(pif, "VLAN") >= 0)
			snprintf(vlan, sizeof(vlan), "%lld", rec_int(pif, "VLAN"));
		else
			vlan[0] = '\0';
		{
			struct table_cell cells[] = {
				{rec_str(pif, "device"), 0, -1},
				{rec_str(pif, "MAC"), 0, -1},
				{rec_str(pif, "IP"), 0, -1},
				{name_of(f->c, rec_str(pif, "network")), 0, -1},
				{speed, (double)rec_int(m, "speed"), -1},
				{m ? (rec_bool(m, "carrier") ? "up" : "down") : "", 0,
				 m && rec_bool(m, "carrier") ? -1 : (int)ROLE_WARN},
				{rec_bool(pif, "management") ? "yes" : "", 0, -1},
				{vlan, (double)rec_int(pif, "VLAN"), -1},
			};
			table_put(f->t, ref, cells, ROLE_NORMAL, NULL);
		}
	}
}

static void fill_storage(struct fill *f, const struct xv *h)
{
	const struct xv *pbds = rec_field(h, "PBDs");

	for (size_t i = 0; i < xv_len(pbds); i++) {
		const struct xv *pbd = cache_get(f->c, xv_str(xv_at(pbds, i)));
		const char *sr_ref = rec_str(pbd, "SR");
		const struct xv *sr = pbd ? cache_get(f->c, sr_ref) : NULL;
		char size[24], used[96], bar[64];
		long long total, use;
		double frac;
		if (!sr)
			continue;
		total = rec_int(sr, "physical_size");
		use = rec_int(sr, "physical_utilisation");
		frac = total ? (double)use / (double)total : 0;
		size_format(size, sizeof(size), total);
		bar_text(bar, sizeof(bar), frac, 8);
		snprintf(used, sizeof(used), "%s %3.0f%%", bar, frac * 100);
		{
			struct table_cell cells[] = {
				{rec_str(sr, "name_label"), 0, -1},
				{rec_str(sr, "type"), 0, -1},
				{rec_bool(sr, "shared") ? "yes" : "no", 0, -1},
				{size, (double)total, -1},
				{used, frac, frac > 0.9 ? (int)ROLE_BAD : -1},
				{rec_bool(pbd, "currently_attached") ? "yes" : "no", 0,
				 rec_bool(pbd, "currently_attached") ? -1 : (int)ROLE_WARN},
			};
			table_put(f->t, sr_ref, cells, ROLE_NORMAL, NULL);
		}
	}
}

static void fill_vms(struct fill *f, const struct xv *h)
{
	const struct xv *vms = rec_field(h, "resident_VMs");

	for (size_t i = 0; i < xv_len(vms); i++) {
		const char *ref = xv_str(xv_at(vms, i));
		const struct xv *vm = cache_get(f->c, ref);
		enum role pr;
		const char *power;
		char vcpus[16], ram[24], key[QREF_MAX];
		if (!vm_is_guest(vm))
			continue;
		power = vm_power_text(vm, &pr);
		snprintf(vcpus, sizeof(vcpus), "%lld", rec_int(vm, "VCPUs_at_startup"));
		size_format(ram, sizeof(ram), rec_int(vm, "memory_dynamic_max"));
		{
			struct table_cell cells[] = {
				{rec_str(vm, "name_label"), 0, -1},
				{power, 0, (int)pr},
				{vcpus, (double)rec_int(vm, "VCPUs_at_startup"), -1},
				{ram, (double)rec_int(vm, "memory_dynamic_max"), -1},
				{vm_ip(f->c, vm), 0, -1},
			};
			table_put(f->t, pool_qref(f->p, ref, key, sizeof(key)), cells, ROLE_NORMAL, NULL);
		}
	}
}

static void draw_memory(struct pool *p, struct host_screen *s, const struct xv *h, WINDOW *w, int y, int rows,
			int cols)
{
	const struct cache *c = p->cache;
	struct host_use u;
	struct fill f = {s, c, s->tables[TAB_MEMORY], p};
	char buf[96], bar[128];
	long long used;
	double frac;
	int line = y;

	host_use(c, s->d.ref, h, NULL, &u);
	used = u.mem_total - u.mem_free;
	frac = u.mem_total ? (double)used / (double)u.mem_total : 0;
	size_format(buf, sizeof(buf), u.mem_total);
	ui_kv(w, line++, 2, 18, cols - 4, "Total", buf, theme_attr(ROLE_NORMAL));
	size_format(buf, sizeof(buf), u.mem_free);
	ui_kv(w, line++, 2, 18, cols - 4, "Free", buf, theme_attr(ROLE_NORMAL));
	bar_text(bar, sizeof(bar), frac, 30);
	snprintf(buf, sizeof(buf), "%.0f%% ", frac * 100);
	ui_kv(w, line, 2, 18, 24, "Used", buf, theme_attr(ROLE_NORMAL));
	ui_put(w, line++, 26, cols - 28, theme_attr(frac > 0.9 ? ROLE_BAD : ROLE_PROGRESS), bar);
	size_format(buf, sizeof(buf), rec_int(h, "memory_overhead"));
	ui_kv(w, line++, 2, 18, cols - 4, "Host overhead", buf, theme_attr(ROLE_NORMAL));
	line++;
	ui_put(w, line++, 2, cols - 4, theme_attr(ROLE_HEADER), "Running here, largest first:");
	table_clear(f.t);
	fill_vms(&f, h);
	table_draw(f.t, w, line, 0, rows - (line - y), cols, false);
}

static void host_draw(struct app *app, void *st, WINDOW *w, int h, int cols)
{
	struct host_screen *s = st;
	struct pool *p;
	const struct xv *host = detail_record(app, &s->d, &p);
	struct fill f = {s, host ? p->cache : NULL, s->tables[s->d.tab], p};

	detail_draw_head(&s->d, host, p, w, cols);
	if (!host)
		return;
	switch (s->d.tab) {
	case TAB_GENERAL:
		draw_general(p->cache, s, host, w, 2, h - 2, cols);
		return;
	case TAB_MEMORY:
		draw_memory(p, s, host, w, 2, h - 2, cols);
		return;
	case TAB_METRICS:
		metrics_tab_draw(app, &s->metrics, p, rec_str(host, "uuid"), true, true, w, 2, h - 2, cols);
		return;
	case TAB_CPUS:
		table_clear(f.t);
		cache_each(p->cache, "host_cpu", cpu_row, &f);
		break;
	case TAB_NICS:
		table_clear(f.t);
		fill_nics(&f, host);
		break;
	case TAB_STORAGE:
		table_clear(f.t);
		fill_storage(&f, host);
		break;
	case TAB_VMS:
		table_clear(f.t);
		fill_vms(&f, host);
		break;
	default:
		return;
	}
	table_draw(f.t, w, 2, 0, h - 2, cols, !app_has_dialog(app));
}

static struct table *host_list(struct app *app, void *st)
{
	struct host_screen *s = st;

	return s->d.tab == TAB_GENERAL || s->d.tab == TAB_MEMORY ? NULL : s->tables[s->d.tab];
}

static void host_describe(struct app *app, void *st, char *buf, size_t n)
{
	detail_describe(app, &((struct host_screen *)st)->d, NULL, buf, n);
}

static struct pool *host_pool(struct app *app, void *st)
{
	return detail_pool(app, &((struct host_screen *)st)->d);
}

static void open_vm(struct app *app, void *st)
{
	struct host_screen *s = st;
	const char *ref;

	if (s->d.tab == TAB_VMS && (ref = table_selected(s->tables[TAB_VMS])))
		app_push(app, &screen_vm, ref);
}

struct dom0_find {
	const char *host;
	const char *ref;
};

static bool find_dom0(const char *ref, const struct xv *vm, void *ud)
{
	struct dom0_find *f = ud;

	if (rec_bool(vm, "is_control_domain") && strcmp(rec_str(vm, "resident_on"), f->host) == 0) {
		f->ref = ref;
		return false;
	}
	return true;
}

/* The host's console: its control domain's (where xsconsole runs). */
static void open_console(struct app *app, void *st)
{
	struct host_screen *s = st;
	struct pool *p = detail_connected(app, &s->d);
	struct dom0_find f = {s->d.ref, NULL};
	char qref[512];

	if (p)
		cache_each(p->cache, "VM", find_dom0, &f);
	if (!f.ref) {
		app_message(app, MSG_ERROR, "This host's control domain is not known");
		return;
	}
	app_push(app, &screen_console, pool_qref(p, f.ref, qref, sizeof(qref)));
}

static void join_pool(struct app *app, void *st)
{
	pool_join_from_host(app, ((struct host_screen *)st)->d.qref);
}

static bool standalone(struct app *app, void *st)
{
	return pool_join_possible(app, ((struct host_screen *)st)->d.qref);
}

const char *host_screen_qref(void *st)
{
	return ((struct host_screen *)st)->d.qref;
}

static bool on_vms_tab(struct app *app, void *st)
{
	return ((struct host_screen *)st)->d.tab == TAB_VMS;
}

static int host_key(struct app *app, void *st, int key)
{
	struct host_screen *s = st;

	if (detail_key(&s->d, key))
		return EV_HANDLED;
	if (s->d.tab == TAB_METRICS && metrics_tab_key(&s->metrics, key))
		return EV_HANDLED;
	return EV_IGNORED;
}

static const struct screen_key keys[] = {
	DETAIL_TAB_KEYS(true),
	{XK_ENTER, "Open VM", "On the VMs tab: open the selected VM", open_vm, on_vms_tab, true},
	{'c', "Console", "The host's console (its control domain's)", open_console, NULL, true},
	{'J', "Join pool", "Join a resource pool (a standalone host): master address, user, password", join_pool,
	 standalone, true},
	{0, NULL, NULL, NULL, NULL, false},
};

const struct screen screen_host = {
	.name = "host",
	.title = "Host",
	.keys = keys,
	.shared_keys = host_action_keys,
	.enter = host_enter,
	.leave = host_leave,
	.draw = host_draw,
	.key = host_key,
	.list = host_list,
	.describe = host_describe,
	.pool = host_pool,
};
