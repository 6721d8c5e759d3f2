/* One VM: General (with PV drivers and management agent as XO shows them),
 * Disks, Network, Snapshots and Console tabs, all live, and the VM's
 * actions. The screen's argument is the VM's qualified ref ("ID/REF"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "backups.h"
#include "detail.h"
#include "draw.h"
#include "keys.h"
#include "model.h"
#include "screens.h"
#include "metrics_tab.h"
#include "table.h"
#include "units.h"
#include "util.h"
#include "vm_actions.h"
#include "vm_file.h"
#include "vm_devices.h"

enum tab { TAB_GENERAL, TAB_DISKS, TAB_NETWORK, TAB_SNAPSHOTS, TAB_CONSOLE, TAB_BACKUPS, TAB_METRICS, NTABS };
static const char *const tab_names[NTABS] = {"General", "Disks", "Network", "Snapshots", "Console", "Backups",
					     "Metrics"};

static const struct table_col disk_cols[] = {
	{"POS", 3, 0, true, true, 0},      {"NAME", 12, 2, false, false, 0}, {"SIZE", 9, 0, true, true, 0},
	{"SR", 10, 1, false, false, 1},    {"MODE", 4, 0, false, false, 3},  {"TYPE", 4, 0, false, false, 2},
	{"ATTACHED", 8, 0, false, false, 4},
};
static const struct table_col net_cols[] = {
	{"DEV", 3, 0, true, true, 0},  {"MAC", 17, 0, false, false, 0}, {"NETWORK", 12, 2, false, false, 0},
	{"IP", 15, 1, false, false, 1}, {"MTU", 5, 0, true, true, 3},    {"ATTACHED", 8, 0, false, false, 2},
	{"TX CSUM", 7, 0, false, false, 4},
};
static const struct table_col snap_cols[] = {
	{"NAME", 16, 2, false, false, 0},
	{"TAKEN", 16, 0, false, false, 0},
	{"DESCRIPTION", 10, 1, false, false, 1},
};

struct vm_screen {
	struct vm_target target; /* first: the VM action keys read it */
	struct vm_devices_view devices; /* second: the device keys read it */
	struct detail d;                /* the VM, its pool, the tab shown */
	struct table *tables[NTABS];
	struct metrics_tab metrics; /* the Metrics tab's span */
};

/* The VM's record and pool (NULL while its pool is away or it is gone). */
static const struct xv *vm_of(struct app *app, struct vm_screen *s, struct pool **p)
{
	return detail_record(app, &s->d, p);
}

static const char *the_vm(struct app *app, void *st)
{
	struct vm_screen *s = st;
	struct pool *p;

	return vm_of(app, s, &p) ? s->d.qref : NULL;
}

static enum vm_devices_tab devices_tab(void *st)
{
	struct vm_screen *s = st;

	return s->d.tab == TAB_DISKS ? VMDEV_DISKS : s->d.tab == TAB_NETWORK ? VMDEV_NETWORK : VMDEV_OTHER;
}

static const char *devices_selected(void *st)
{
	struct vm_screen *s = st;

	return s->d.tab == TAB_DISKS || s->d.tab == TAB_NETWORK ? table_selected(s->tables[s->d.tab]) : NULL;
}

static void *vm_enter(struct app *app, const void *arg)
{
	struct vm_screen *s = xcalloc(1, sizeof(*s));

	s->target.ref = the_vm;
	s->devices.tab = devices_tab;
	s->devices.selected = devices_selected;
	detail_init(&s->d, app, arg, "VM", "VM", tab_names, NTABS);
	s->tables[TAB_DISKS] = table_new(disk_cols, (int)(ARRAY_LEN(disk_cols)));
	s->tables[TAB_NETWORK] = table_new(net_cols, (int)(ARRAY_LEN(net_cols)));
	s->tables[TAB_SNAPSHOTS] = table_new(snap_cols, (int)(ARRAY_LEN(snap_cols)));
	table_sort(s->tables[TAB_SNAPSHOTS], 1, true); /* newest first */
	table_set_noun(s->tables[TAB_DISKS], "drive", "drives");
	table_set_noun(s->tables[TAB_NETWORK], "interface", "interfaces");
	table_set_noun(s->tables[TAB_SNAPSHOTS], "snapshot", "snapshots");
	s->tables[TAB_BACKUPS] = backup_vm_table(); /* its restore points in every repository */
	return s;
}

static void vm_leave(struct app *app, void *st)
{
	struct vm_screen *s = st;

	for (int i = 0; i < NTABS; i++)
		table_free(s->tables[i]);
	detail_free(&s->d);
	free(s);
}

/* ---- General ------------------------------------------------------------------ */

static void ip_list(const struct cache *c, const struct xv *vm, char *buf, size_t n)
{
	const struct xv *g = cache_get(c, rec_str(vm, "guest_metrics"));
	const struct xv *nets = rec_field(g, "networks");
	struct buf b;

	buf[0] = '\0';
	if (strcmp(rec_str(vm, "power_state"), "Running") != 0)
		return;
	buf_init(&b);
	for (size_t i = 0; i < map_size(nets); i++) {
		const char *ip = xv_str(map_value(nets, i));
		/* "0/ip" repeats "0/ipv4/0": list the numbered forms */
		if (!strstr(map_key(nets, i), "/ipv") || !ip)
			continue;
		buf_sep(&b, ", ");
		buf_puts(&b, ip);
	}
	snprintf(buf, n, "%s", b.data ? b.data : "");
	buf_free(&b);
}

static void draw_general(const struct cache *c, const struct xv *vm, WINDOW *w, int y, int h, int cols)
{
	const struct xv *g = cache_get(c, rec_str(vm, "guest_metrics"));
	const struct xv *m = cache_get(c, rec_str(vm, "metrics"));
	enum role pr;
	const char *power = vm_power_text(vm, &pr);
	char buf[512], a[24], b[24], d[24], version[64];
	bool up_to_date;
	int lw = 18, x = 2, cw = cols - 4, line = y;
	attr_t normal = theme_attr(ROLE_NORMAL);

#define KV(label, value, attr)                                                                \
	do {                                                                                  \
		if (line < y + h)                                                             \
			ui_kv(w, line++, x, lw, cw, label, value, attr);                      \
	} while (0)

	KV("Name", rec_str(vm, "name_label"), theme_attr(ROLE_TITLE));
	KV("Description", rec_str(vm, "name_description"), normal);
	if (strcmp(rec_str(vm, "power_state"), "Running") == 0 && m && *rec_str(m, "start_time")) {
		char since[32];
		datetime_text(rec_str(m, "start_time"), since, sizeof(since));
		snprintf(buf, sizeof(buf), "%s (since %s)", power, since);
		KV("Power state", buf, theme_attr(pr));
	} else {
		KV("Power state", power, theme_attr(pr));
	}
	KV("Host", strcmp(rec_str(vm, "power_state"), "Halted") == 0 ? "-" : name_of(c, rec_str(vm, "resident_on")),
	   normal);
	snprintf(buf, sizeof(buf), "%lld (max %lld)", rec_int(vm, "VCPUs_at_startup"), rec_int(vm, "VCPUs_max"));
	KV("vCPUs", buf, normal);
	size_format(a, sizeof(a), rec_int(vm, "memory_dynamic_min"));
	size_format(b, sizeof(b), rec_int(vm, "memory_dynamic_max"));
	size_format(d, sizeof(d), rec_int(vm, "memory_static_max"));
	if (strcmp(a, b) == 0)
		snprintf(buf, sizeof(buf), "%s (static max %s)", b, d);
	else
		snprintf(buf, sizeof(buf), "%s to %s (static max %s)", a, b, d);
	KV("Memory", buf, normal);
	KV("Operating system", g && strcmp(rec_str(vm, "power_state"), "Running") == 0 && rec_map(g, "os_version", "name")
				       ? rec_map(g, "os_version", "name")
				       : "-",
	   normal);
	ip_list(c, vm, buf, sizeof(buf));
	KV("IP addresses", *buf ? buf : "-", normal);
	if (vm_management_agent(c, vm, version, sizeof(version))) {
		snprintf(buf, sizeof(buf), "detected%s%s", *version ? ", version " : "", version);
		KV("Management agent", buf, theme_attr(ROLE_GOOD));
	} else {
		KV("Management agent", strcmp(rec_str(vm, "power_state"), "Running") == 0 ? "not detected" : "-",
		   theme_attr(ROLE_WARN));
	}
	if (vm_pv_drivers(c, vm, &up_to_date))
		KV("PV drivers", up_to_date ? "detected, up to date" : "detected, out of date",
		   theme_attr(up_to_date ? ROLE_GOOD : ROLE_WARN));
	else
		KV("PV drivers", strcmp(rec_str(vm, "power_state"), "Running") == 0 ? "not detected" : "-",
		   theme_attr(ROLE_WARN));
	{
		const char *firmware = rec_map(vm, "HVM_boot_params", "firmware");
		snprintf(buf, sizeof(buf), "%s%s%s%s", *rec_str(vm, "domain_type") ? rec_str(vm, "domain_type") : "hvm",
			 firmware ? " (" : "", firmware ? firmware : "", firmware ? ")" : "");
	}
	KV("Virtualization", buf, normal);
	tags_text(vm, buf, sizeof(buf));
	KV("Tags", *buf ? buf : "-", normal);
	snprintf(buf, sizeof(buf), "%zu", xv_len(rec_field(vm, "snapshots")));
	KV("Snapshots", buf, normal);
	KV("UUID", rec_str(vm, "uuid"), theme_attr(ROLE_DIM));
#undef KV
}

/* ---- Disks, Network, Snapshots: rebuilt from the cache at each draw ------------ */

static void fill_disks(const struct cache *c, struct table *t, const struct xv *vm)
{
	const struct xv *vbds = rec_field(vm, "VBDs");

	table_clear(t);
	for (size_t i = 0; i < xv_len(vbds); i++) {
		const char *ref = xv_str(xv_at(vbds, i));
		const struct xv *vbd = cache_get(c, ref);
		const struct xv *vdi = vbd ? cache_get(c, rec_str(vbd, "VDI")) : NULL;
		char size[24];
		const char *name;
		if (!vbd)
			continue;
		if (vdi)
			size_format(size, sizeof(size), rec_int(vdi, "virtual_size"));
		else
			size[0] = '\0';
		name = vdi ? rec_str(vdi, "name_label") : rec_bool(vbd, "empty") ? "(empty drive)" : "";
		{
			struct table_cell cells[] = {
				{rec_str(vbd, "userdevice"), (double)atoi(rec_str(vbd, "userdevice")), -1},
				{name, 0, -1},
				{size, vdi ? (double)rec_int(vdi, "virtual_size") : 0, -1},
				{vdi ? name_of(c, rec_str(vdi, "SR")) : "", 0, -1},
				{rec_str(vbd, "mode"), 0, -1},
				{rec_str(vbd, "type"), 0, -1},
				{rec_bool(vbd, "currently_attached") ? "yes" : "no", 0, -1},
			};
			table_put(t, ref, cells, ROLE_NORMAL, NULL);
		}
	}
}

static void fill_network(const struct cache *c, struct table *t, const struct xv *vm)
{
	const struct xv *vifs = rec_field(vm, "VIFs");
	const struct xv *g = strcmp(rec_str(vm, "power_state"), "Running") == 0
				     ? cache_get(c, rec_str(vm, "guest_metrics"))
				     : NULL;

	table_clear(t);
	for (size_t i = 0; i < xv_len(vifs); i++) {
		const char *ref = xv_str(xv_at(vifs, i));
		const struct xv *vif = cache_get(c, ref);
		char key[32], mtu[16];
		const char *ip;
		if (!vif)
			continue;
		snprintf(key, sizeof(key), "%s/ipv4/0", rec_str(vif, "device"));
		ip = rec_map(g, "networks", key);
		snprintf(mtu, sizeof(mtu), "%lld", rec_int(vif, "MTU"));
		{
			struct table_cell cells[] = {
				{rec_str(vif, "device"), (double)atoi(rec_str(vif, "device")), -1},
				{rec_str(vif, "MAC"), 0, -1},
				{name_of(c, rec_str(vif, "network")), 0, -1},
				{ip ? ip : "", 0, -1},
				{mtu, (double)rec_int(vif, "MTU"), -1},
				{rec_bool(vif, "currently_attached") ? "yes" : "no", 0, -1},
				{vm_dev_tx_text(vif), 0, -1},
			};
			table_put(t, ref, cells, ROLE_NORMAL, NULL);
		}
	}
}

static void fill_snapshots(struct pool *p, struct table *t, const struct xv *vm)
{
	const struct cache *c = p->cache;
	const struct xv *snaps = rec_field(vm, "snapshots");

	table_clear(t);
	for (size_t i = 0; i < xv_len(snaps); i++) {
		const char *ref = xv_str(xv_at(snaps, i));
		const struct xv *snap = cache_get(c, ref);
		char when[32], key[QREF_MAX];
		if (!snap)
			continue;
		datetime_text(rec_str(snap, "snapshot_time"), when, sizeof(when));
		/* qualified: the revert key hands it to the VM actions */
		pool_qref(p, ref, key, sizeof(key));
		{
			/* the raw datetime sorts in time order */
			struct table_cell cells[] = {
				{rec_str(snap, "name_label"), 0, -1},
				{when, 0, -1},
				{rec_str(snap, "name_description"), 0, -1},
			};
			table_put(t, key, cells, ROLE_NORMAL, NULL);
		}
	}
}

/* The console opens as its own screen (screens/console.c): Enter. */
static void draw_console(const struct xv *vm, WINDOW *w, int y, int h, int cols)
{
	const char *power = rec_str(vm, "power_state");
	int line = y;

	if (strcmp(power, "Running") != 0) {
		ui_wrap(w, line, 2, cols - 4, h, theme_attr(ROLE_DIM),
			"This VM is not running, so it has no console now (s starts it).");
		return;
	}
	line += ui_wrap(w, line, 2, cols - 4, h, theme_attr(ROLE_NORMAL),
			"Enter opens the VM's console as terminal text (also :console NAME). Every key then goes "
			"to the guest; Ctrl-] opens the console menu (back, Ctrl-Alt-Del, reconnect).");
}

static void vm_draw(struct app *app, void *st, WINDOW *w, int h, int cols)
{
	struct vm_screen *s = st;
	struct pool *p;
	const struct xv *vm = vm_of(app, s, &p);

	detail_draw_head(&s->d, vm, p, w, cols);
	if (!vm)
		return;
	switch (s->d.tab) {
	case TAB_GENERAL:
		draw_general(p->cache, vm, w, 2, h - 2, cols);
		return;
	case TAB_CONSOLE:
		draw_console(vm, w, 2, h - 2, cols);
		return;
	case TAB_METRICS:
		metrics_tab_draw(app, &s->metrics, p, rec_str(vm, "uuid"), false,
				 strcmp(rec_str(vm, "power_state"), "Running") == 0
					 || strcmp(rec_str(vm, "power_state"), "Paused") == 0,
				 w, 2, h - 2, cols);
		return;
	case TAB_DISKS:
		fill_disks(p->cache, s->tables[TAB_DISKS], vm);
		break;
	case TAB_NETWORK:
		fill_network(p->cache, s->tables[TAB_NETWORK], vm);
		break;
	case TAB_SNAPSHOTS:
		fill_snapshots(p, s->tables[TAB_SNAPSHOTS], vm);
		break;
	case TAB_BACKUPS:
		backup_vm_fill(app, s->tables[TAB_BACKUPS], rec_str(vm, "uuid"));
		break;
	default:
		return;
	}
	table_draw(s->tables[s->d.tab], w, 2, 0, h - 2, cols, !app_has_dialog(app));
}

static struct table *vm_list(struct app *app, void *st)
{
	struct vm_screen *s = st;
	struct pool *p;

	if (s->d.tab == TAB_GENERAL || s->d.tab == TAB_CONSOLE || !vm_of(app, s, &p))
		return NULL;
	return s->tables[s->d.tab];
}

static struct pool *vm_pool(struct app *app, void *st)
{
	return detail_pool(app, &((struct vm_screen *)st)->d);
}

static void vm_describe(struct app *app, void *st, char *buf, size_t n)
{
	struct vm_screen *s = st;
	struct pool *p;
	const struct xv *vm = vm_of(app, s, &p);
	enum role r;

	detail_describe(app, &s->d, vm ? vm_power_text(vm, &r) : NULL, buf, n);
}

static void revert_key(struct app *app, void *st)
{
	struct vm_screen *s = st;
	const char *snap;

	/* on the Snapshots tab: the selected one; elsewhere: ask which */
	if (s->d.tab == TAB_SNAPSHOTS && (snap = table_selected(s->tables[TAB_SNAPSHOTS])))
		vm_revert_to(app, snap);
	else
		vm_action(app, st, 'v');
}

static void enter_key(struct app *app, void *st)
{
	struct vm_screen *s = st;

	if (s->d.tab == TAB_SNAPSHOTS) {
		revert_key(app, st);
		return;
	}
	if (s->d.tab == TAB_CONSOLE)
		app_push(app, &screen_console, s->d.qref);
	if (s->d.tab == TAB_BACKUPS) {
		backup_vm_enter(app, s->tables[TAB_BACKUPS]);
		return;
	}
}

static int vm_key(struct app *app, void *st, int key)
{
	struct vm_screen *s = st;

	if (s->d.tab == TAB_METRICS && metrics_tab_key(&s->metrics, key))
		return EV_HANDLED;
	return detail_key(&s->d, key) ? EV_HANDLED : EV_IGNORED;
}

static const struct screen_key keys[] = {
	DETAIL_TAB_KEYS(false),
	{'v', "Revert", "Revert to the selected snapshot (Snapshots tab), or choose one", revert_key, NULL, false},
	{XK_ENTER, "Revert", "Snapshots tab: revert to the selected snapshot; Console tab: open the console", enter_key, NULL, false},
	{'a', "Add", "Disks tab: a new disk; Network tab: a new interface", vm_dev_add, vm_dev_on_devices, true},
	{'A', "Attach", "Disks tab: attach a disk no VM uses", vm_dev_attach, vm_dev_on_disks, true},
	{'d', "Remove", "Remove the selected disk (keep or destroy it) or interface", vm_dev_remove, vm_dev_has_selection, true},
	{'i', "Insert ISO", "Insert an ISO into the DVD drive (makes the drive if there is none)", vm_dev_insert, vm_dev_on_disks, true},
	{'g', "Guest tools", "Insert the guest tools ISO (XCP-ng Tools SR) into the DVD drive", vm_dev_guest_tools, vm_dev_on_disks, true},
	{'E', "Eject", "Eject the disc from the DVD drive", vm_dev_eject, vm_dev_on_disks, true},
	{'T', "TX offload", "Network tab: TX checksum offload on/off (firewall VMs such as pfSense/OPNsense need it off)", vm_dev_tx_offload, vm_dev_vif_selected, true},
	{'w', "Export", "Export the VM to an .xva file on this computer (a running one through a snapshot)", vm_file_export_key, NULL, false},
	{'W', "VM files", "The exports and imports of this session: progress, time left, x cancels", vm_file_show_key, NULL, false},
	{0, NULL, NULL, NULL, NULL, false},
};

const struct screen screen_vm = {
	.name = "vm",
	.title = "VM",
	.keys = keys,
	.shared_keys = vm_action_keys,
	.enter = vm_enter,
	.leave = vm_leave,
	.draw = vm_draw,
	.key = vm_key,
	.list = vm_list,
	.describe = vm_describe,
	.pool = vm_pool,
};
