/* network, VLAN and the pool's VLAN calls with xapi's checks
 * (xapi_network.ml, xapi_vlan.ml, xapi_pool.ml create_VLAN_from_PIF). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "implicit.h"
#include "rpc.h"
#include "sim.h"
#include "util.h"

static bool bridge_used(const char *bridge)
{
	for (struct obj *n = db_first("network"); n; n = n->cnext)
		if (strcmp(db_str(n, "bridge"), bridge) == 0)
			return true;
	return false;
}

/* network.create: xapi names the bridge itself (xapi0, xapi1, ...) when
 * the caller gives none, and takes an MTU of 0 or less as 1500. */
static struct xv *network_create(struct call *c, struct xv **err)
{
	const struct xv *rec = arg(c, 0);
	const char *bridge = xv_str(xv_struct_get(rec, "bridge"));
	struct obj *n;

	if (bridge && *bridge) {
		if (strlen(bridge) > 15) {
			*err = err_new("INVALID_VALUE", "bridge", "Bridge name too long", NULL);
			return NULL;
		}
		if (bridge_used(bridge)) {
			*err = err_new("BRIDGE_NAME_EXISTS", bridge, NULL);
			return NULL;
		}
	}
	if (!(n = implicit_create(c, rec, err)))
		return NULL;
	if (!*db_str(n, "bridge")) {
		char name[16];
		for (int i = 0;; i++) {
			snprintf(name, sizeof(name), "xapi%d", i);
			if (!bridge_used(name))
				break;
		}
		db_set_str(n, "bridge", name);
	}
	if (db_int(n, "MTU") <= 0)
		db_set_int(n, "MTU", 1500);
	return xv_string(n->ref);
}

/* The refs of a set field whose objects pass keep, as an error's parameters. */
static struct xv *refs_error(const char *code, const struct xv *refs, bool (*keep)(struct obj *o))
{
	struct xv *e = err_new(code, NULL);
	struct xv *list = xv_array();

	for (size_t i = 0; i < xv_len(refs); i++) {
		struct obj *o = db_find(xv_str(xv_at(refs, i)));
		if (o && (!keep || keep(o)))
			xv_array_push(list, xv_string(o->ref));
	}
	/* xapi sends the list as one parameter per ref */
	for (size_t i = 0; i < xv_len(list); i++)
		xv_array_push(e, xv_string(xv_str(xv_at(list, i))));
	xv_free(list);
	return e;
}

static bool vif_in_use(struct obj *vif)
{
	return db_bool(vif, "currently_attached");
}

static struct xv *network_destroy(struct call *c, struct xv **err)
{
	struct obj *n = arg_obj(c, 0, "network", err);
	const struct xv *vifs;
	struct xv *copy;
	const char *internal;

	if (!n)
		return NULL;
	vifs = db_field(n, "VIFs");
	for (size_t i = 0; i < xv_len(vifs); i++) {
		struct obj *vif = db_find(xv_str(xv_at(vifs, i)));
		if (vif && vif_in_use(vif)) {
			*err = refs_error("NETWORK_CONTAINS_VIF", vifs, vif_in_use);
			return NULL;
		}
	}
	if (xv_len(db_field(n, "PIFs"))) {
		*err = refs_error("NETWORK_CONTAINS_PIF", db_field(n, "PIFs"), NULL);
		return NULL;
	}
	internal = db_map_get(n, "other_config", "is_host_internal_management_network");
	if (internal && strcmp(internal, "true") == 0) {
		*err = err_new("CANNOT_DESTROY_SYSTEM_NETWORK", n->ref, NULL);
		return NULL;
	}
	/* unplugged VIFs go with the network, as in xapi */
	copy = xv_copy(vifs);
	for (size_t i = 0; i < xv_len(copy); i++) {
		struct obj *vif = db_find(xv_str(xv_at(copy, i)));
		if (vif)
			db_delete(vif);
	}
	xv_free(copy);
	db_delete(n);
	return xv_string("");
}

/* ---- VLAN ------------------------------------------------------------------ */

static struct obj *pif_on_network(struct obj *host, struct obj *net)
{
	const struct xv *pifs = db_field(host, "PIFs");

	for (size_t i = 0; i < xv_len(pifs); i++) {
		struct obj *p = db_find(xv_str(xv_at(pifs, i)));
		if (p && db_ref(p, "network") == net)
			return p;
	}
	return NULL;
}

static struct obj *vlan_create(struct obj *tagged, int64_t tag, struct obj *net, struct xv **err)
{
	struct obj *host = db_ref(tagged, "host");
	struct obj *other = host ? pif_on_network(host, net) : NULL;
	const struct xv *pifs;
	struct obj *vlan, *pif;

	if (!db_bool(net, "managed")) {
		*err = err_new("NETWORK_UNMANAGED", net->ref, NULL);
		return NULL;
	}
	if (other) {
		*err = err_new("NETWORK_ALREADY_CONNECTED", net->ref, other->ref, NULL);
		return NULL;
	}
	if (db_int(tagged, "VLAN") >= 0) {
		*err = err_new("PIF_IS_VLAN", tagged->ref, NULL);
		return NULL;
	}
	if (tag < 0 || tag > 4094) {
		char t[24];
		snprintf(t, sizeof(t), "%lld", (long long)tag);
		*err = err_new("VLAN_TAG_INVALID", t, NULL);
		return NULL;
	}
	pifs = host ? db_field(host, "PIFs") : NULL;
	for (size_t i = 0; i < xv_len(pifs); i++) {
		struct obj *p = db_find(xv_str(xv_at(pifs, i)));
		if (p && db_int(p, "VLAN") == tag && strcmp(db_str(p, "device"), db_str(tagged, "device")) == 0) {
			*err = err_new("PIF_VLAN_EXISTS", db_str(tagged, "device"), NULL);
			return NULL;
		}
	}
	vlan = db_create_named("VLAN");
	db_set_ref(vlan, "tagged_PIF", tagged);
	db_set_int(vlan, "tag", tag);
	db_set(vlan, "other_config", xv_struct());
	/* the VLAN interface: the base NIC's device, MAC, MTU and metrics */
	pif = db_create_named("PIF");
	db_set_str(pif, "device", db_str(tagged, "device"));
	db_set_ref(pif, "network", net);
	db_set_ref(pif, "host", host);
	db_set_str(pif, "MAC", db_str(tagged, "MAC"));
	db_set_int(pif, "MTU", db_int(tagged, "MTU"));
	db_set_int(pif, "VLAN", tag);
	db_set_str(pif, "metrics", db_str(tagged, "metrics"));
	db_set_bool(pif, "physical", false);
	db_set_bool(pif, "currently_attached", true);
	db_set_bool(pif, "managed", true);
	db_set_str(pif, "ip_configuration_mode", "None");
	db_set_str(pif, "primary_address_type", "IPv4");
	db_set_str(pif, "VLAN_master_of", vlan->ref);
	db_set_ref(vlan, "untagged_PIF", pif);
	return vlan;
}

static struct xv *vlan_create_call(struct call *c, struct xv **err)
{
	struct obj *tagged = arg_obj(c, 0, "PIF", err);
	struct obj *net = tagged ? arg_obj(c, 2, "network", err) : NULL;
	struct obj *vlan;

	if (!net || !(vlan = vlan_create(tagged, arg_int(c, 1), net, err)))
		return NULL;
	return xv_string(vlan->ref);
}

static bool vlan_destroy(struct obj *vlan, struct xv **err)
{
	struct obj *pif = db_ref(vlan, "untagged_PIF");

	if (pif) {
		if (db_bool(pif, "management")) {
			*err = err_new("PIF_IS_MANAGEMENT_INTERFACE", pif->ref, NULL);
			return false;
		}
		db_delete(pif);
	}
	db_delete(vlan);
	return true;
}

static struct xv *vlan_destroy_call(struct call *c, struct xv **err)
{
	struct obj *vlan = arg_obj(c, 0, "VLAN", err);

	if (!vlan || !vlan_destroy(vlan, err))
		return NULL;
	return xv_string("");
}

/* A VLAN on every host that has a NIC on the base PIF's network; all or
 * none: what was made is undone on an error. */
static struct xv *create_vlans(struct obj **bases, size_t n, struct obj *net, int64_t tag, struct xv **err)
{
	struct obj **made = xcalloc(n + 1, sizeof(*made));
	struct xv *out = xv_array();
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		struct obj *vlan = vlan_create(bases[i], tag, net, err);
		if (!vlan) {
			struct xv *ignored = NULL;
			while (k-- > 0) {
				vlan_destroy(made[k], &ignored);
				xv_free(ignored);
				ignored = NULL;
			}
			free(made);
			xv_free(out);
			return NULL;
		}
		made[k++] = vlan;
		xv_array_push(out, xv_string(db_str(vlan, "untagged_PIF")));
	}
	free(made);
	return out;
}

static struct xv *create_vlan_from_pif(struct call *c, struct xv **err)
{
	struct obj *pif = arg_obj(c, 0, "PIF", err);
	struct obj *net = pif ? arg_obj(c, 1, "network", err) : NULL;
	struct obj *base_net = pif ? db_ref(pif, "network") : NULL;
	const struct xv *pifs;
	struct obj **bases;
	size_t n = 0;
	struct xv *out;

	if (!net)
		return NULL;
	pifs = base_net ? db_field(base_net, "PIFs") : NULL;
	bases = xcalloc(xv_len(pifs) + 1, sizeof(*bases));
	for (size_t i = 0; i < xv_len(pifs); i++) {
		struct obj *p = db_find(xv_str(xv_at(pifs, i)));
		if (p)
			bases[n++] = p;
	}
	if (!n)
		bases[n++] = pif;
	out = create_vlans(bases, n, net, arg_int(c, 2), err);
	free(bases);
	return out;
}

/* The deprecated form: by device name, the physical NIC of every host. */
static struct xv *create_vlan_by_device(struct call *c, struct xv **err)
{
	const char *device = arg_str(c, 0);
	struct obj *net = arg_obj(c, 1, "network", err);
	struct obj **bases;
	size_t n = 0, cap = 8;
	struct xv *out;

	if (!net)
		return NULL;
	bases = xcalloc(cap, sizeof(*bases));
	for (struct obj *p = db_first("PIF"); p; p = p->cnext) {
		if (strcmp(db_str(p, "device"), device) != 0 || db_int(p, "VLAN") >= 0)
			continue;
		if (n == cap) {
			cap *= 2;
			bases = xrealloc(bases, cap * sizeof(*bases));
		}
		bases[n++] = p;
	}
	out = create_vlans(bases, n, net, arg_int(c, 2), err);
	free(bases);
	return out;
}

const struct handler calls_network[] = {
	{"network.create", network_create, 300, 0},
	{"network.destroy", network_destroy, 300, 0},
	{"VLAN.create", vlan_create_call, 500, 0},
	{"VLAN.destroy", vlan_destroy_call, 500, 0},
	{"pool.create_VLAN_from_PIF", create_vlan_from_pif, 800, 0},
	{"pool.create_VLAN", create_vlan_by_device, 800, 0},
	{NULL, NULL, 0, 0},
};
