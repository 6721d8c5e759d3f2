/* Networks: every network of every connected pool with its NICs, link
 * state, MTU, VLAN and interfaces, and (Tab) the NICs of every host.
 * New host-internal networks and VLANs are made as Xen Orchestra makes
 * them (network.create, then pool.create_VLAN_from_PIF); a network is
 * destroyed only when no VM uses it. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "dialog.h"
#include "draw.h"
#include "form.h"
#include "keys.h"
#include "model.h"
#include "screens.h"
#include "table.h"
#include "util.h"

enum view { VIEW_NETWORKS, VIEW_NICS, NVIEWS };
static const char *const view_names[NVIEWS] = {"Networks", "NICs"};

enum { N_NAME, N_POOL, N_BRIDGE, N_MTU, N_VLAN, N_NICS, N_LINK, N_VIFS, N_MGMT };
static const struct table_col net_cols[] = {
	[N_NAME] = {"NAME", 16, 3, false, false, 0},
	[N_POOL] = {"POOL", 8, 1, false, false, 0},
	[N_BRIDGE] = {"BRIDGE", 7, 0, false, false, 3},
	[N_MTU] = {"MTU", 5, 0, true, true, 2},
	[N_VLAN] = {"VLAN", 4, 0, true, true, 0},
	[N_NICS] = {"NICS", 12, 1, false, false, 1},
	[N_LINK] = {"LINK", 7, 0, false, false, 0},
	[N_VIFS] = {"VIFS", 4, 0, true, true, 0},
	[N_MGMT] = {"MGMT", 4, 0, false, false, 4},
};

enum { P_HOST, P_POOL, P_DEVICE, P_NETWORK, P_MAC, P_LINK, P_SPEED, P_MTU, P_VLAN, P_IP, P_MGMT };
static const struct table_col nic_cols[] = {
	[P_HOST] = {"HOST", 10, 1, false, false, 0},
	[P_POOL] = {"POOL", 8, 1, false, false, 0},
	[P_DEVICE] = {"DEVICE", 6, 0, false, false, 0},
	[P_NETWORK] = {"NETWORK", 12, 2, false, false, 1},
	[P_MAC] = {"MAC", 17, 0, false, false, 3},
	[P_LINK] = {"LINK", 4, 0, false, false, 0},
	[P_SPEED] = {"SPEED", 8, 0, true, true, 2},
	[P_MTU] = {"MTU", 5, 0, true, true, 4},
	[P_VLAN] = {"VLAN", 4, 0, true, true, 0},
	[P_IP] = {"IP", 15, 1, false, false, 2},
	[P_MGMT] = {"MGMT", 4, 0, false, false, 5},
};

struct networks {
	struct table *tables[NVIEWS];
	enum view view;
};

/* ---- what a network is made of ------------------------------------------------- */

struct net_summary {
	char nics[96];  /* "eth1 (3 hosts)" */
	int npifs, up;
	long long vlan; /* -1: none */
	bool mgmt;
};

static void summarise(const struct cache *c, const struct xv *net, struct net_summary *s)
{
	const struct xv *pifs = rec_field(net, "PIFs");
	size_t used = 0;

	memset(s, 0, sizeof(*s));
	s->vlan = -1;
	for (size_t i = 0; i < xv_len(pifs); i++) {
		const struct xv *pif = cache_get(c, xv_str(xv_at(pifs, i)));
		const struct xv *m;
		const char *dev;
		if (!pif)
			continue;
		s->npifs++;
		m = cache_get(c, rec_str(pif, "metrics"));
		if (m && rec_bool(m, "carrier"))
			s->up++;
		if (rec_int(pif, "VLAN") >= 0)
			s->vlan = rec_int(pif, "VLAN");
		if (rec_bool(pif, "management"))
			s->mgmt = true;
		dev = rec_str(pif, "device");
		/* each device name once: hosts of a pool share them */
		if (!strstr(s->nics, dev) && used < sizeof(s->nics)) {
			int w = snprintf(s->nics + used, sizeof(s->nics) - used, "%s%s", used ? ", " : "", dev);
			if (w > 0)
				used += (size_t)w;
		}
	}
	if (!s->npifs)
		snprintf(s->nics, sizeof(s->nics), "none (internal)");
	else if (used < sizeof(s->nics))
		snprintf(s->nics + used, sizeof(s->nics) - used, " (%d host%s)", s->npifs, s->npifs == 1 ? "" : "s");
}

static const char *link_text(const struct net_summary *s, char *buf, size_t n, enum role *role)
{
	if (!s->npifs) {
		*role = ROLE_DIM;
		return "-";
	}
	if (s->up == s->npifs) {
		*role = ROLE_GOOD;
		return "up";
	}
	if (!s->up) {
		*role = ROLE_BAD;
		return "down";
	}
	*role = ROLE_WARN;
	snprintf(buf, n, "%d/%d up", s->up, s->npifs);
	return buf;
}

static bool is_system_network(const struct xv *net)
{
	const char *v = rec_map(net, "other_config", "is_host_internal_management_network");

	return v && strcmp(v, "true") == 0;
}

/* ---- the two lists ---------------------------------------------------------------- */

struct fill {
	struct networks *s;
	struct pool *p;
};

static bool put_network(const char *ref, const struct xv *net, void *ud)
{
	struct fill *f = ud;
	struct net_summary sum;
	char mtu[24], vlan[24], vifs[24], link[48], key[QREF_MAX];
	enum role link_role;
	const char *ltext;

	summarise(f->p->cache, net, &sum);
	ltext = link_text(&sum, link, sizeof(link), &link_role);
	snprintf(mtu, sizeof(mtu), "%lld", rec_int(net, "MTU"));
	if (sum.vlan >= 0)
		snprintf(vlan, sizeof(vlan), "%lld", sum.vlan);
	else
		vlan[0] = '\0';
	snprintf(vifs, sizeof(vifs), "%zu", xv_len(rec_field(net, "VIFs")));
	{
		struct table_cell cells[] = {
			[N_NAME] = {rec_str(net, "name_label"), 0, -1},
			[N_POOL] = {f->p->cfg.name, 0, -1},
			[N_BRIDGE] = {rec_str(net, "bridge"), 0, -1},
			[N_MTU] = {mtu, (double)rec_int(net, "MTU"), -1},
			[N_VLAN] = {vlan, (double)sum.vlan, -1},
			[N_NICS] = {sum.nics, 0, -1},
			[N_LINK] = {ltext, 0, (int)link_role},
			[N_VIFS] = {vifs, (double)xv_len(rec_field(net, "VIFs")), -1},
			[N_MGMT] = {sum.mgmt ? "mgmt" : "", 0, -1},
		};
		table_put(f->s->tables[VIEW_NETWORKS], pool_qref(f->p, ref, key, sizeof(key)), cells, ROLE_NORMAL,
			  rec_str(net, "name_description"));
	}
	return true;
}

static bool put_nic(const char *ref, const struct xv *pif, void *ud)
{
	struct fill *f = ud;
	const struct cache *c = f->p->cache;
	const struct xv *m = cache_get(c, rec_str(pif, "metrics"));
	char mtu[24], vlan[24], speed[32], ip[80], key[QREF_MAX];
	bool up = m && rec_bool(m, "carrier");
	long long mbit = m ? rec_int(m, "speed") : 0;

	snprintf(mtu, sizeof(mtu), "%lld", rec_int(pif, "MTU"));
	if (rec_int(pif, "VLAN") >= 0)
		snprintf(vlan, sizeof(vlan), "%lld", rec_int(pif, "VLAN"));
	else
		vlan[0] = '\0';
	if (!up || mbit <= 0)
		speed[0] = '\0';
	else if (mbit >= 1000 && mbit % 1000 == 0)
		snprintf(speed, sizeof(speed), "%lld Gb/s", mbit / 1000);
	else
		snprintf(speed, sizeof(speed), "%lld Mb/s", mbit);
	if (*rec_str(pif, "IP"))
		snprintf(ip, sizeof(ip), "%s (%s)", rec_str(pif, "IP"), rec_str(pif, "ip_configuration_mode"));
	else
		snprintf(ip, sizeof(ip), "%s", strcmp(rec_str(pif, "ip_configuration_mode"), "None") == 0
						 ? ""
						 : rec_str(pif, "ip_configuration_mode"));
	{
		struct table_cell cells[] = {
			[P_HOST] = {name_of(c, rec_str(pif, "host")), 0, -1},
			[P_POOL] = {f->p->cfg.name, 0, -1},
			[P_DEVICE] = {rec_str(pif, "device"), 0, -1},
			[P_NETWORK] = {name_of(c, rec_str(pif, "network")), 0, -1},
			[P_MAC] = {rec_str(pif, "MAC"), 0, -1},
			[P_LINK] = {up ? "up" : "down", 0, up ? ROLE_GOOD : ROLE_BAD},
			[P_SPEED] = {speed, (double)mbit, -1},
			[P_MTU] = {mtu, (double)rec_int(pif, "MTU"), -1},
			[P_VLAN] = {vlan, (double)rec_int(pif, "VLAN"), -1},
			[P_IP] = {ip, 0, -1},
			[P_MGMT] = {rec_bool(pif, "management") ? "mgmt" : "", 0, -1},
		};
		table_put(f->s->tables[VIEW_NICS], pool_qref(f->p, ref, key, sizeof(key)), cells, ROLE_NORMAL,
			  rec_str(pif, "uuid"));
	}
	return true;
}

static void rebuild(struct app *app, struct networks *s)
{
	struct pools *ps = app_pools(app);

	table_clear(s->tables[VIEW_NETWORKS]);
	table_clear(s->tables[VIEW_NICS]);
	for (size_t i = 0; i < pools_count(ps); i++) {
		struct fill f = {s, pools_at(ps, i)};
		if (!f.p->cache)
			continue;
		cache_each(f.p->cache, "network", put_network, &f);
		cache_each(f.p->cache, "PIF", put_nic, &f);
	}
	table_show_col(s->tables[VIEW_NETWORKS], N_POOL, app_many_pools(app));
	table_show_col(s->tables[VIEW_NICS], P_POOL, app_many_pools(app));
}

static void *networks_enter(struct app *app, const void *arg)
{
	struct networks *s = xcalloc(1, sizeof(*s));

	s->tables[VIEW_NETWORKS] = table_new(net_cols, (int)(ARRAY_LEN(net_cols)));
	s->tables[VIEW_NICS] = table_new(nic_cols, (int)(ARRAY_LEN(nic_cols)));
	table_set_noun(s->tables[VIEW_NETWORKS], "network", "networks");
	table_set_noun(s->tables[VIEW_NICS], "NIC", "NICs");
	table_sort(s->tables[VIEW_NICS], P_HOST, false);
	rebuild(app, s);
	return s;
}

static void networks_leave(struct app *app, void *st)
{
	struct networks *s = st;

	for (int i = 0; i < NVIEWS; i++)
		table_free(s->tables[i]);
	free(s);
}

static void networks_event(struct app *app, void *st, struct pool *p, enum cache_op op, const char *cls,
			   const char *ref)
{
	static const char *const watched[] = {"network", "PIF", "PIF_metrics", "VIF", "host", "VLAN"};

	if (!p || op == CACHE_LOADED) {
		rebuild(app, st);
		return;
	}
	for (size_t i = 0; cls && i < ARRAY_LEN(watched); i++)
		if (strcmp(cls, watched[i]) == 0) {
			rebuild(app, st);
			return;
		}
}

static void networks_draw(struct app *app, void *st, WINDOW *w, int h, int cols)
{
	struct networks *s = st;

	ui_tabs(w, 0, 0, cols, view_names, NVIEWS, (int)s->view);
	table_draw(s->tables[s->view], w, 2, 0, h - 2, cols, !app_has_dialog(app));
}

static struct table *networks_list(struct app *app, void *st)
{
	struct networks *s = st;

	return s->tables[s->view];
}

static struct pool *networks_pool(struct app *app, void *st)
{
	struct networks *s = st;
	const char *ref;

	return pools_resolve(app_pools(app), table_selected(s->tables[s->view]), &ref);
}

static void toggle_view(struct app *app, void *st)
{
	struct networks *s = st;

	s->view = (enum view)((s->view + 1) % NVIEWS);
}

/* The selected network (from either view: a NIC names its network). */
static const struct xv *selected_network(struct app *app, struct networks *s, struct pool **p, const char **ref,
					 char *qref, size_t n)
{
	const char *sel = table_selected(s->tables[s->view]);
	const struct xv *rec = sel ? app_lookup(app, sel, p, ref) : NULL;

	if (rec && s->view == VIEW_NICS) {
		*ref = rec_str(rec, "network");
		rec = cache_get((*p)->cache, *ref);
	}
	if (rec)
		pool_qref(*p, *ref, qref, n);
	return rec;
}

/* ---- new: host-internal or VLAN ------------------------------------------------- */

#define INTERNAL_KEY "\001internal" /* the chooser's key for "no NIC": no PIF ref holds one */

struct new_net {
	struct app *app;
	int pool_id;
	char *pif;  /* the base NIC (any host's) for a VLAN, or NULL */
	char *name;
	long long tag;
};

static void new_net_free(void *p)
{
	struct new_net *nn = p;

	free(nn->pif);
	free(nn->name);
	free(nn);
}

struct undo {
	struct app *app;
	int pool_id;
	char *net;
};

static void undo_free(void *p)
{
	struct undo *u = p;

	free(u->net);
	free(u);
}

static void on_vlan_failed_cleanup(struct ops *ops, struct op *op, void *ud)
{
	struct undo *u = ud;

	if (op->state != OP_DONE)
		app_message(u->app, MSG_ERROR, "%s: %s", op->label, op->message ? op->message : "failed");
	app_release(u->app, u);
}

static void on_vlan_result(struct ops *ops, struct op *op, void *ud);

static void on_network_made(struct ops *ops, struct op *op, void *ud)
{
	struct new_net *nn = ud;
	struct app *app = nn->app;
	struct pool *p = pools_by_id(app_pools(app), nn->pool_id);
	const char *net = op->result ? xv_str(op->result) : NULL;
	struct xv *params;
	char *label;

	if (op->state != OP_DONE || !net) {
		app_message(app, MSG_ERROR, "%s: %s", op->label, op->message ? op->message : "failed");
		app_release(app, nn);
		return;
	}
	if (!nn->pif || !p || app_quitting(app)) {
		app_message(app, MSG_INFO, "%s: done", op->label);
		app_release(app, nn);
		return;
	}
	params = xv_params_ref(nn->pif);
	xv_array_push(params, xv_string(net));
	xv_array_push(params, xv_int(nn->tag));
	label = xasprintf("VLAN %lld on %s for '%s'", nn->tag, rec_str(cache_get(p->cache, nn->pif), "device"),
			  nn->name);
	{
		struct undo *u = xcalloc(1, sizeof(*u));
		u->app = app;
		u->pool_id = p->id;
		u->net = xstrdup(net);
		app_keep(app, u, undo_free);
		app_op_then(app, p, label, "pool.create_VLAN_from_PIF", params, on_vlan_result, u);
	}
	free(label);
	app_release(app, nn);
}

/* The VLAN failed: the network made for it goes, as Xen Orchestra does. */
static void on_vlan_result(struct ops *ops, struct op *op, void *ud)
{
	struct undo *u = ud;
	struct app *app = u->app;
	struct pool *p = pools_by_id(app_pools(app), u->pool_id);

	if (op->state == OP_DONE) {
		app_message(app, MSG_INFO, "%s: done", op->label);
		app_release(app, u);
		return;
	}
	app_message(app, MSG_ERROR, "%s: %s", op->label, op->message ? op->message : "failed");
	if (p && !app_quitting(app)) {
		struct undo *again = xcalloc(1, sizeof(*again));
		again->app = app;
		again->pool_id = u->pool_id;
		again->net = xstrdup(u->net);
		app_keep(app, again, undo_free);
		app_op_then(app, p, "Remove the network made for the VLAN", "network.destroy", xv_params_ref(u->net),
			    on_vlan_failed_cleanup, again);
	}
	app_release(app, u);
}

static void on_new_form(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	const struct new_net *proto = ud;
	struct new_net *nn;
	struct pool *p = pools_by_id(app_pools(app), proto->pool_id);
	struct xv *rec, *oc, *params;
	char *label;

	if (!r->ok)
		return;
	if (!p || !p->cache) {
		app_message(app, MSG_ERROR, "New network: the pool is no longer connected");
		return;
	}
	nn = xcalloc(1, sizeof(*nn));
	nn->app = app;
	nn->pool_id = proto->pool_id;
	nn->pif = proto->pif ? xstrdup(proto->pif) : NULL;
	nn->name = xstrdup(form_get_text(r->form, 0));
	nn->tag = proto->pif ? strtoll(form_get_text(r->form, 3), NULL, 10) : -1;
	rec = xv_struct();
	xv_struct_add(rec, "name_label", xv_string(nn->name));
	xv_struct_add(rec, "name_description", xv_string(form_get_text(r->form, 1)));
	xv_struct_add(rec, "MTU", xv_int(form_get_number(r->form, 2)));
	/* as XO: "automatic" false keeps XenCenter from adding it to new VMs */
	oc = xv_struct();
	xv_struct_add(oc, "automatic", xv_string("false"));
	xv_struct_add(rec, "other_config", oc);
	params = xv_array();
	xv_array_push(params, rec);
	label = xasprintf("Create network '%s'", nn->name);
	app_keep(app, nn, new_net_free);
	app_op_then(app, p, label, "network.create", params, on_network_made, nn);
	free(label);
}

/* The pool as people call it: its name, else its master's, else the server's. */
static const char *pool_name(const struct pool *p)
{
	const struct xv *pool = pool_record(p->cache, NULL);
	const struct xv *master = pool ? cache_get(p->cache, rec_str(pool, "master")) : NULL;

	if (pool && *rec_str(pool, "name_label"))
		return rec_str(pool, "name_label");
	if (master && *rec_str(master, "name_label"))
		return rec_str(master, "name_label");
	return p->cfg.name;
}

/* A VLAN's tag: 1 to 4094, typed (no default: the switch decides it). */
static const char *check_tag(const struct form *f, int field, const char *text, void *ud)
{
	char *end;
	long long v;

	while (*text == ' ')
		text++;
	if (!*text)
		return "needed: 1 to 4094";
	errno = 0;
	v = strtoll(text, &end, 10);
	while (*end == ' ')
		end++;
	if (errno || *end || end == text)
		return "a number, 1 to 4094";
	if (v < 1 || v > 4094)
		return "1 to 4094 only";
	return NULL;
}

static void open_new_form(struct app *app, struct pool *p, const char *pif)
{
	struct new_net *proto = xcalloc(1, sizeof(*proto));
	struct form *f = form_new();
	struct dialog *d;
	char *text;
	const struct xv *base = pif ? cache_get(p->cache, pif) : NULL;

	proto->pool_id = p->id;
	proto->pif = pif ? xstrdup(pif) : NULL;
	form_text(f, "Name", "", true);
	form_text(f, "Description", "", false);
	form_number(f, "MTU", base ? rec_int(base, "MTU") : 1500, 68, 9216, "bytes");
	if (base) {
		int tag = form_text(f, "VLAN tag", "", false); /* check_tag says what is missing */
		form_set_check(f, tag, check_tag, NULL);
		form_set_hint(f, tag, "1 to 4094");
		text = xasprintf("A VLAN on %s of every host in pool '%s': its tagged traffic becomes this network.",
				 rec_str(base, "device"), pool_name(p));
	} else {
		text = xasprintf("A network inside each host of pool '%s', on no NIC: VMs on the same host reach "
				 "each other through it (a firewall VM's LAN side, for one).",
				 pool_name(p));
	}
	d = dialog_form(base ? "New VLAN network" : "New internal network", text, f);
	dialog_on_done(d, on_new_form, NULL, proto);
	dialog_own_ud(d, new_net_free);
	app_open_dialog(app, d);
	free(text);
}

struct nic_choice {
	struct dialog *d;
	const struct cache *c;
	char seen[32][16];
	int nseen;
};

/* One choice per NIC device name that can carry a VLAN (a physical NIC or
 * a bond, not a VLAN itself): xapi makes the VLAN on that device of every host. */
static bool add_nic_choice(const char *ref, const struct xv *pif, void *ud)
{
	struct nic_choice *nc = ud;
	const char *dev = rec_str(pif, "device");
	char detail[128];

	if (rec_int(pif, "VLAN") >= 0 || (!rec_bool(pif, "physical") && !xv_len(rec_field(pif, "bond_master_of"))))
		return true;
	for (int i = 0; i < nc->nseen; i++)
		if (strcmp(nc->seen[i], dev) == 0)
			return true;
	if (nc->nseen < 32)
		snprintf(nc->seen[nc->nseen++], sizeof(nc->seen[0]), "%s", dev);
	snprintf(detail, sizeof(detail), "network %s", name_of(nc->c, rec_str(pif, "network")));
	{
		char *label = xasprintf("VLAN on %s", dev);
		dialog_add_choice(nc->d, ref, label, detail);
		free(label);
	}
	return true;
}

static void on_kind_choice(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	int pool_id = (int)(intptr_t)ud;
	struct pool *p = pools_by_id(app_pools(app), pool_id);

	if (!r->ok || !p || !p->cache)
		return;
	open_new_form(app, p, strcmp(r->choice_key, INTERNAL_KEY) == 0 ? NULL : r->choice_key);
}

static void act_new(struct app *app, void *st)
{
	struct pool *p = app_pool(app);
	struct nic_choice nc;
	char *text;

	if (!p || !p->cache || !cache_loaded(p->cache)) {
		app_message(app, MSG_ERROR, "New network: no pool is connected");
		return;
	}
	text = xasprintf("What kind of network in pool '%s'?", pool_name(p));
	memset(&nc, 0, sizeof(nc));
	nc.d = dialog_choose("New network", text);
	nc.c = p->cache;
	dialog_add_choice(nc.d, INTERNAL_KEY, "Internal network", "no NIC, VMs of one host");
	cache_each(p->cache, "PIF", add_nic_choice, &nc);
	dialog_on_done(nc.d, on_kind_choice, NULL, (void *)(intptr_t)p->id);
	app_open_dialog(app, nc.d);
	free(text);
}

/* ---- rename ----------------------------------------------------------------------- */

static void on_rename_form(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct pool *p;
	const char *ref;
	const struct xv *net;
	struct xv *params;
	char *label;

	if (!r->ok || !(net = app_lookup(app, qref, &p, &ref)))
		return;
	params = xv_params_ref(ref);
	xv_array_push(params, xv_string(form_get_text(r->form, 0)));
	label = xasprintf("Rename network '%s' to '%s'", rec_str(net, "name_label"), form_get_text(r->form, 0));
	app_call(app, p, label, "network.set_name_label", params);
	free(label);
}

void network_rename(struct app *app, const char *qref)
{
	struct pool *p;
	const char *ref;
	const struct xv *net = qref ? app_lookup(app, qref, &p, &ref) : NULL;
	struct form *f;
	struct dialog *d;

	if (!net) {
		app_message(app, MSG_INFO, "No network selected");
		return;
	}
	f = form_new();
	form_text(f, "New name", rec_str(net, "name_label"), true);
	d = dialog_form("Rename network", NULL, f);
	dialog_on_done(d, on_rename_form, qref, NULL);
	app_open_dialog(app, d);
}

static void act_rename(struct app *app, void *st)
{
	struct pool *p;
	const char *ref;
	char qref[QREF_MAX];
	const struct xv *net = selected_network(app, st, &p, &ref, qref, sizeof(qref));

	network_rename(app, net ? qref : NULL);
}

/* ---- destroy ------------------------------------------------------------------------ */

/* Destroying a VLAN network: each VLAN (and so its interface on each host)
 * first, then the network once the last has gone, as XO does. */
struct destroy {
	struct app *app;
	int pool_id;
	char *net, *name;
	int pending;
	bool failed;
};

static void destroy_free(void *p)
{
	struct destroy *d = p;

	free(d->net);
	free(d->name);
	free(d);
}

static void on_network_destroyed(struct ops *ops, struct op *op, void *ud)
{
	struct destroy *d = ud;

	if (op->state == OP_DONE)
		app_message(d->app, MSG_INFO, "%s: done", op->label);
	else
		app_message(d->app, MSG_ERROR, "%s: %s", op->label, op->message ? op->message : "failed");
	app_release(d->app, d);
}

static void destroy_network_now(struct destroy *d)
{
	struct pool *p = pools_by_id(app_pools(d->app), d->pool_id);
	char *label = xasprintf("Destroy network '%s'", d->name);

	if (p && !app_quitting(d->app))
		app_op_then(d->app, p, label, "network.destroy", xv_params_ref(d->net), on_network_destroyed, d);
	else
		app_release(d->app, d);
	free(label);
}

static void on_vlan_destroyed(struct ops *ops, struct op *op, void *ud)
{
	struct destroy *d = ud;

	if (op->state != OP_DONE) {
		app_message(d->app, MSG_ERROR, "%s: %s", op->label, op->message ? op->message : "failed");
		d->failed = true;
	}
	if (--d->pending > 0)
		return;
	if (d->failed)
		app_release(d->app, d);
	else
		destroy_network_now(d);
}

static void on_destroy_answer(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct pool *p;
	const char *ref;
	const struct xv *net;
	const struct xv *pifs;
	struct destroy *d;

	if (!r->ok || !(net = app_lookup(app, qref, &p, &ref)))
		return;
	d = xcalloc(1, sizeof(*d));
	d->app = app;
	d->pool_id = p->id;
	d->net = xstrdup(ref);
	d->name = xstrdup(rec_str(net, "name_label"));
	app_keep(app, d, destroy_free);
	pifs = rec_field(net, "PIFs");
	for (size_t i = 0; i < xv_len(pifs); i++) {
		const struct xv *pif = cache_get(p->cache, xv_str(xv_at(pifs, i)));
		const char *vlan = rec_str(pif, "VLAN_master_of");
		char *label;
		if (!pif || is_null_ref(vlan))
			continue;
		label = xasprintf("Destroy VLAN %lld on %s of %s", rec_int(pif, "VLAN"), rec_str(pif, "device"),
				  name_of(p->cache, rec_str(pif, "host")));
		d->pending++;
		if (!app_op_then(app, p, label, "VLAN.destroy", xv_params_ref(vlan), on_vlan_destroyed, d))
			d->pending--;
		free(label);
	}
	if (!d->pending)
		destroy_network_now(d);
}

/* Who uses a network: "web01, db02 and 3 more". */
static void users_text(const struct cache *c, const struct xv *net, char *buf, size_t n)
{
	const struct xv *vifs = rec_field(net, "VIFs");
	size_t shown = 0, total = xv_len(vifs);
	struct buf b;

	buf_init(&b);
	for (size_t i = 0; i < total && shown < 2; i++) {
		const struct xv *vif = cache_get(c, xv_str(xv_at(vifs, i)));
		const char *vm = vif ? name_of(c, rec_str(vif, "VM")) : "";
		if (!*vm)
			continue;
		buf_sep(&b, ", ");
		buf_puts(&b, vm);
		shown++;
	}
	if (total > shown)
		buf_printf(&b, " and %zu more", total - shown);
	snprintf(buf, n, "%s", b.data ? b.data : "");
	buf_free(&b);
}

void network_destroy(struct app *app, const char *qref)
{
	struct pool *p;
	const char *ref;
	char users[256];
	const struct xv *net = qref ? app_lookup(app, qref, &p, &ref) : NULL;
	const struct xv *pifs;
	struct dialog *d;
	char *text;

	if (!net) {
		app_message(app, MSG_INFO, "No network selected");
		return;
	}
	if (xv_len(rec_field(net, "VIFs"))) {
		users_text(p->cache, net, users, sizeof(users));
		app_message(app, MSG_ERROR,
			    "'%s' is in use by %zu VM interface%s (%s): remove them first",
			    rec_str(net, "name_label"), xv_len(rec_field(net, "VIFs")),
			    xv_len(rec_field(net, "VIFs")) == 1 ? "" : "s", users);
		return;
	}
	if (is_system_network(net)) {
		app_message(app, MSG_ERROR, "'%s' is the hosts' own management network: xapi keeps it",
			    rec_str(net, "name_label"));
		return;
	}
	pifs = rec_field(net, "PIFs");
	for (size_t i = 0; i < xv_len(pifs); i++) {
		const struct xv *pif = cache_get(p->cache, xv_str(xv_at(pifs, i)));
		if (pif && rec_bool(pif, "management")) {
			app_message(app, MSG_ERROR, "'%s' carries the management interface of %s: it cannot go",
				    rec_str(net, "name_label"), name_of(p->cache, rec_str(pif, "host")));
			return;
		}
		if (pif && is_null_ref(rec_str(pif, "VLAN_master_of"))) {
			app_message(app, MSG_ERROR,
				    "'%s' is on the NIC %s of %s, not a VLAN: only internal and VLAN networks go here",
				    rec_str(net, "name_label"), rec_str(pif, "device"),
				    name_of(p->cache, rec_str(pif, "host")));
			return;
		}
	}
	if (xv_len(pifs))
		text = xasprintf("Destroy network '%s' and its VLAN interfaces on %zu host%s? No VM uses it.",
				 rec_str(net, "name_label"), xv_len(pifs), xv_len(pifs) == 1 ? "" : "s");
	else
		text = xasprintf("Destroy the internal network '%s'? No VM uses it.", rec_str(net, "name_label"));
	d = dialog_type_name("Destroy network", text, rec_str(net, "name_label"));
	dialog_on_done(d, on_destroy_answer, qref, NULL);
	app_open_dialog(app, d);
	free(text);
}

static void act_destroy(struct app *app, void *st)
{
	struct pool *p;
	const char *ref;
	char qref[QREF_MAX];
	const struct xv *net = selected_network(app, st, &p, &ref, qref, sizeof(qref));

	network_destroy(app, net ? qref : NULL);
}

static void act_open(struct app *app, void *st)
{
	struct pool *p;
	const char *ref;
	char qref[QREF_MAX];

	if (selected_network(app, st, &p, &ref, qref, sizeof(qref)))
		app_push(app, &screen_network, qref);
	else
		app_message(app, MSG_INFO, "No network selected");
}

static const struct screen_key keys[] = {
	{XK_ENTER, "Open", "Open the network: its settings, its NICs on each host, the VMs' interfaces on it", act_open,
	 NULL, true},
	{XK_TAB, "NICs", "Switch between the networks and the hosts' NICs", toggle_view, NULL, true},
	{'n', "New", "New network: internal (no NIC) or a VLAN on a NIC of every host", act_new, NULL, true},
	{'e', "Rename", "Rename the selected network", act_rename, NULL, true},
	{'d', "Destroy", "Destroy the selected network when no VM uses it (type its name)", act_destroy, NULL, true},
	{'D', "Destroy", "Destroy the selected network (as d: D destroys on every screen)", act_destroy, NULL, false},
	{0, NULL, NULL, NULL, NULL, false},
};

const struct screen screen_networks = {
	.name = "networks",
	.title = "Networks",
	.keys = keys,
	.enter = networks_enter,
	.leave = networks_leave,
	.draw = networks_draw,
	.on_cache_event = networks_event,
	.list = networks_list,
	.pool = networks_pool,
	.filter_help = "vlan:42\tthe network on VLAN 42\n"
		       "link:down\ta NIC whose cable is out\n"
		       "nics:internal\tnetworks on no NIC\n"
		       "eth1\tother words match anywhere in the row",
};
