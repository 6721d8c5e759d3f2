/* One network: its settings (General), its interface on each host (NICs)
 * and the VMs' interfaces on it (VIFs), all live. Rename and destroy are
 * the list's (networks.c). The screen's argument is the network's
 * qualified ref ("ID/REF"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "detail.h"
#include "draw.h"
#include "keys.h"
#include "model.h"
#include "screens.h"
#include "table.h"
#include "util.h"
#include "vm_devices.h"

enum tab { TAB_GENERAL, TAB_NICS, TAB_VIFS, NTABS };
static const char *const tab_names[NTABS] = {"General", "NICs", "VIFs"};

static const struct table_col nic_cols[] = {
	{"HOST", 10, 2, false, false, 0}, {"DEVICE", 6, 0, false, false, 0}, {"LINK", 4, 0, false, false, 0},
	{"IP", 15, 1, false, false, 1},   {"MODE", 6, 0, false, false, 3},   {"MAC", 17, 0, false, false, 2},
	{"MTU", 5, 0, true, true, 4},     {"VLAN", 4, 0, true, true, 0},     {"MGMT", 4, 0, false, false, 5},
};
enum { V_VM, V_DEVICE, V_MAC, V_ATTACHED, V_TX, V_POWER };
static const struct table_col vif_cols[] = {
	[V_VM] = {"VM", 14, 2, false, false, 0},         [V_DEVICE] = {"DEVICE", 6, 0, true, true, 0},
	[V_MAC] = {"MAC", 17, 0, false, false, 1},       [V_ATTACHED] = {"ATTACHED", 8, 0, false, false, 0},
	[V_TX] = {"TX OFFLOAD", 10, 0, false, false, 2}, [V_POWER] = {"POWER", 9, 0, false, false, 3},
};

struct network_screen {
	struct detail d; /* the network, its pool, the tab shown */
	struct table *tables[NTABS];
};

static void *network_enter(struct app *app, const void *arg)
{
	struct network_screen *s = xcalloc(1, sizeof(*s));

	detail_init(&s->d, app, arg, "Network", "network", tab_names, NTABS);
	s->tables[TAB_NICS] = table_new(nic_cols, (int)(ARRAY_LEN(nic_cols)));
	s->tables[TAB_VIFS] = table_new(vif_cols, (int)(ARRAY_LEN(vif_cols)));
	table_set_noun(s->tables[TAB_NICS], "NIC", "NICs");
	table_set_noun(s->tables[TAB_VIFS], "VIF", "VIFs");
	return s;
}

static void network_leave(struct app *app, void *st)
{
	struct network_screen *s = st;

	for (int i = 0; i < NTABS; i++)
		table_free(s->tables[i]);
	detail_free(&s->d);
	free(s);
}

/* other_config's keys as "automatic=false, foo=bar" (sanitised when drawn). */
static void config_text(const struct xv *net, char *buf, size_t n)
{
	const struct xv *oc = rec_field(net, "other_config");
	struct buf b;

	buf_init(&b);
	for (size_t i = 0; oc && i < xv_len(oc); i++) {
		const char *k = xv_key_at(oc, i);
		const struct xv *v = xv_value_at(oc, i);
		buf_sep(&b, ", ");
		buf_printf(&b, "%s=%s", k ? k : "", v && xv_str(v) ? xv_str(v) : "");
	}
	snprintf(buf, n, "%s", b.len ? b.data : "(none)");
	buf_free(&b);
}

static void draw_general(const struct cache *c, const struct xv *net, WINDOW *w, int y, int rows, int cols)
{
	const struct xv *pifs = rec_field(net, "PIFs");
	const char *automatic = rec_map(net, "other_config", "automatic");
	char buf[1024];
	long long vlan = -1;
	int line = y, lw = 18, x = 2, cw = cols - 4, up = 0;
	attr_t normal = theme_attr(ROLE_NORMAL);

	for (size_t i = 0; i < xv_len(pifs); i++) {
		const struct xv *pif = cache_get(c, xv_str(xv_at(pifs, i)));
		const struct xv *m = pif ? cache_get(c, rec_str(pif, "metrics")) : NULL;
		if (pif && rec_int(pif, "VLAN") >= 0)
			vlan = rec_int(pif, "VLAN");
		if (m && rec_bool(m, "carrier"))
			up++;
	}
#define KV(label, value, attr)                                           \
	do {                                                             \
		if (line < y + rows)                                     \
			ui_kv(w, line++, x, lw, cw, label, value, attr); \
	} while (0)
	KV("Name", rec_str(net, "name_label"), theme_attr(ROLE_TITLE));
	KV("Description", rec_str(net, "name_description"), normal);
	KV("Bridge", rec_str(net, "bridge"), normal);
	snprintf(buf, sizeof(buf), "%lld", rec_int(net, "MTU"));
	KV("MTU", buf, normal);
	if (vlan >= 0)
		snprintf(buf, sizeof(buf), "%lld", vlan);
	else
		snprintf(buf, sizeof(buf), "none");
	KV("VLAN tag", buf, normal);
	KV("Managed", rec_bool(net, "managed") ? "yes (xapi made its bridge)" : "no (a bridge xapi does not manage)",
	   normal);
	/* XenCenter adds networks with automatic unset or true to new VMs */
	KV("Automatic", automatic && strcmp(automatic, "false") == 0 ? "no (not added to new VMs)"
		       : "yes (added to new VMs)",
	   normal);
	if (xv_len(pifs))
		snprintf(buf, sizeof(buf), "%zu host%s, %d with link up", xv_len(pifs), xv_len(pifs) == 1 ? "" : "s",
			 up);
	else
		snprintf(buf, sizeof(buf), "none: internal to each host");
	KV("NICs", buf, normal);
	snprintf(buf, sizeof(buf), "%zu", xv_len(rec_field(net, "VIFs")));
	KV("VM interfaces", buf, normal);
	config_text(net, buf, sizeof(buf));
	KV("other_config", buf, normal);
	KV("UUID", rec_str(net, "uuid"), theme_attr(ROLE_DIM));
#undef KV
}

static void fill_nics(struct pool *p, struct table *t, const struct xv *net)
{
	const struct cache *c = p->cache;
	const struct xv *pifs = rec_field(net, "PIFs");

	table_clear(t);
	for (size_t i = 0; i < xv_len(pifs); i++) {
		const char *ref = xv_str(xv_at(pifs, i));
		const struct xv *pif = cache_get(c, ref);
		const struct xv *m = pif ? cache_get(c, rec_str(pif, "metrics")) : NULL;
		bool up = m && rec_bool(m, "carrier");
		char mtu[24], vlan[24], key[QREF_MAX];
		if (!pif)
			continue;
		snprintf(mtu, sizeof(mtu), "%lld", rec_int(pif, "MTU"));
		if (rec_int(pif, "VLAN") >= 0)
			snprintf(vlan, sizeof(vlan), "%lld", rec_int(pif, "VLAN"));
		else
			vlan[0] = '\0';
		{
			struct table_cell cells[] = {
				{name_of(c, rec_str(pif, "host")), 0, -1},
				{rec_str(pif, "device"), 0, -1},
				{up ? "up" : "down", 0, up ? ROLE_GOOD : ROLE_BAD},
				{rec_str(pif, "IP"), 0, -1},
				{rec_str(pif, "ip_configuration_mode"), 0, -1},
				{rec_str(pif, "MAC"), 0, -1},
				{mtu, (double)rec_int(pif, "MTU"), -1},
				{vlan, (double)rec_int(pif, "VLAN"), -1},
				{rec_bool(pif, "management") ? "mgmt" : "", 0, -1},
			};
			table_put(t, pool_qref(p, ref, key, sizeof(key)), cells, ROLE_NORMAL, rec_str(pif, "uuid"));
		}
	}
}

static void fill_vifs(struct pool *p, struct table *t, const struct xv *net)
{
	const struct cache *c = p->cache;
	const struct xv *vifs = rec_field(net, "VIFs");

	table_clear(t);
	for (size_t i = 0; i < xv_len(vifs); i++) {
		const char *ref = xv_str(xv_at(vifs, i));
		const struct xv *vif = cache_get(c, ref);
		const struct xv *vm = vif ? cache_get(c, rec_str(vif, "VM")) : NULL;
		bool attached = vif && rec_bool(vif, "currently_attached");
		const char *tx, *power;
		enum role pr = ROLE_NORMAL;
		char key[QREF_MAX];
		if (!vif)
			continue;
		tx = vm_dev_tx_text(vif);
		power = vm ? vm_power_text(vm, &pr) : "";
		{
			struct table_cell cells[] = {
				[V_VM] = {vm ? rec_str(vm, "name_label") : "(unknown VM)", 0, -1},
				[V_DEVICE] = {rec_str(vif, "device"), (double)atoi(rec_str(vif, "device")), -1},
				[V_MAC] = {rec_str(vif, "MAC"), 0, -1},
				[V_ATTACHED] = {attached ? "yes" : "no", 0, attached ? -1 : (int)ROLE_DIM},
				[V_TX] = {tx, 0, strcmp(tx, "off") == 0 ? (int)ROLE_WARN : -1},
				[V_POWER] = {power, 0, (int)pr},
			};
			table_put(t, pool_qref(p, ref, key, sizeof(key)), cells, ROLE_NORMAL, rec_str(vif, "uuid"));
		}
	}
}

static void network_draw(struct app *app, void *st, WINDOW *w, int h, int cols)
{
	struct network_screen *s = st;
	struct pool *p;
	const struct xv *net = detail_record(app, &s->d, &p);

	detail_draw_head(&s->d, net, p, w, cols);
	if (!net)
		return;
	switch (s->d.tab) {
	case TAB_GENERAL:
		draw_general(p->cache, net, w, 2, h - 2, cols);
		return;
	case TAB_NICS:
		fill_nics(p, s->tables[TAB_NICS], net);
		break;
	case TAB_VIFS:
		fill_vifs(p, s->tables[TAB_VIFS], net);
		break;
	default:
		return;
	}
	table_draw(s->tables[s->d.tab], w, 2, 0, h - 2, cols, !app_has_dialog(app));
}

static struct table *network_list(struct app *app, void *st)
{
	struct network_screen *s = st;

	return s->d.tab == TAB_GENERAL ? NULL : s->tables[s->d.tab];
}

static void network_describe(struct app *app, void *st, char *buf, size_t n)
{
	detail_describe(app, &((struct network_screen *)st)->d, NULL, buf, n);
}

static struct pool *network_pool(struct app *app, void *st)
{
	return detail_pool(app, &((struct network_screen *)st)->d);
}

static int network_key(struct app *app, void *st, int key)
{
	return detail_key(&((struct network_screen *)st)->d, key) ? EV_HANDLED : EV_IGNORED;
}

static bool on_vifs(struct app *app, void *st)
{
	struct network_screen *s = st;

	return s->d.tab == TAB_VIFS;
}

/* Enter on a VIF opens its VM. */
static void open_vm(struct app *app, void *st)
{
	struct network_screen *s = st;
	const char *sel = s->d.tab == TAB_VIFS ? table_selected(s->tables[TAB_VIFS]) : NULL;
	struct pool *p;
	const char *ref;
	const struct xv *vif = sel ? app_lookup(app, sel, &p, &ref) : NULL;
	char key[QREF_MAX];

	if (!vif || !cache_get(p->cache, rec_str(vif, "VM"))) {
		app_message(app, MSG_INFO, "No VM interface selected");
		return;
	}
	app_push(app, &screen_vm, pool_qref(p, rec_str(vif, "VM"), key, sizeof(key)));
}

static void act_rename(struct app *app, void *st)
{
	struct network_screen *s = st;

	network_rename(app, s->d.qref);
}

static void act_destroy(struct app *app, void *st)
{
	struct network_screen *s = st;

	network_destroy(app, s->d.qref);
}

static const struct screen_key keys[] = {
	DETAIL_TAB_KEYS(true),
	{XK_ENTER, "Open VM", "Open the VM of the selected interface", open_vm, on_vifs, true},
	{'e', "Rename", "Rename the network", act_rename, NULL, true},
	{'d', "Destroy", "Destroy the network when no VM uses it (type its name)", act_destroy, NULL, true},
	{'D', "Destroy", "Destroy the network (as d: D destroys on every screen)", act_destroy, NULL, false},
	{0, NULL, NULL, NULL, NULL, false},
};

const struct screen screen_network = {
	.name = "network",
	.title = "Network",
	.keys = keys,
	.enter = network_enter,
	.leave = network_leave,
	.draw = network_draw,
	.key = network_key,
	.list = network_list,
	.describe = network_describe,
	.pool = network_pool,
	.filter_help = "off\tan interface with TX offload off\n"
		       "web\tother words match anywhere in the row",
};
