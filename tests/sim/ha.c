/* High availability as xapi_ha.ml, xha_statefile.ml, xha_metadata_vdi.ml and
 * xapi_ha_vm_failover.ml leave it in the database: pool.enable_ha,
 * pool.disable_ha, pool.set_ha_host_failures_to_tolerate and
 * pool.ha_compute_max_host_failures_to_tolerate. There is no heartbeat
 * daemon: what the sim keeps is the records (the statefile and metadata
 * VDIs, the pool's and hosts' ha_* fields). All run with the lock held. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "ha.h"
#include "rpc.h"
#include "sim.h"
#include "util.h"
#include "vm.h"

/* Xha_statefile.minimum_size: a global section and one per host, 64 hosts. */
#define STATEFILE_SIZE ((int64_t)4096 + 64 * (int64_t)4096)
/* Redo_log.minimum_vdi_size */
#define REDO_LOG_SIZE ((int64_t)256 * 1024 * 1024)

static struct xv *strs(const char *first, ...)
{
	struct xv *a = xv_array();
	va_list ap;

	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *))
		xv_array_push(a, xv_string(s));
	va_end(ap);
	return a;
}

static bool host_live(struct obj *h)
{
	struct obj *m = db_ref(h, "metrics");

	return m && db_bool(m, "live");
}

/* Xha_statefile.assert_sr_can_host_statefile: every host has a plugged PBD
 * to the SR, and its driver can attach a VDI offline. The sim's SM records
 * carry no feature list, so the driver is judged by the SR type: the ISO
 * and removable-media drivers lack VDI_GENERATE_CONFIG/VDI_ATTACH_OFFLINE. */
static struct xv *sr_check(struct obj *sr)
{
	const struct xv *pbds = db_field(sr, "PBDs");
	const char *type = db_str(sr, "type");

	for (struct obj *h = db_first("host"); h; h = h->cnext) {
		bool has = false;
		for (size_t i = 0; i < xv_len(pbds) && !has; i++) {
			struct obj *p = db_find(xv_str(xv_at(pbds, i)));
			has = p && db_ref(p, "host") == h;
		}
		if (!has)
			return err_new("SR_HAS_NO_PBDS", sr->ref, NULL);
	}
	for (size_t i = 0; i < xv_len(pbds); i++) {
		struct obj *p = db_find(xv_str(xv_at(pbds, i)));
		if (p && !db_bool(p, "currently_attached"))
			return err_new("SR_HAS_NO_PBDS", sr->ref, NULL);
	}
	if (strcmp(type, "iso") == 0 || strcmp(type, "udev") == 0)
		return err_new("SR_OPERATION_NOT_SUPPORTED", sr->ref, NULL);
	return NULL;
}

/* find_or_create of both modules: an existing VDI of the type and size is
 * reused (xapi keeps them when HA is disabled), else a new one. */
static struct obj *find_or_create(struct obj *sr, const char *type, int64_t size, const char *label, const char *desc)
{
	const struct xv *vdis = db_field(sr, "VDIs");
	struct obj *v;

	for (size_t i = 0; i < xv_len(vdis); i++) {
		v = db_find(xv_str(xv_at(vdis, i)));
		if (v && strcmp(db_str(v, "type"), type) == 0 && db_int(v, "virtual_size") >= size)
			return v;
	}
	v = gen_vdi(sr, label, size, type, false);
	db_set_str(v, "name_description", desc);
	db_set_bool(v, "sharable", true);
	db_set_int(v, "physical_utilisation", size);
	db_set(v, "sm_config", xv_struct());
	db_map_put(v, "sm_config", "type", "raw");
	sr_refresh_usage(sr);
	return v;
}

/* ---- the failover plan ------------------------------------------------------------ */

static int64_t vm_need(const struct obj *vm)
{
	return db_int(vm, "memory_dynamic_max") + db_int(vm, "memory_overhead");
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* How many host failures the protected VMs survive. xapi binary-searches
 * a bin-packing plan (xapi_ha_vm_failover.ml); the sim's approximation:
 * n failures are survivable when the running protected VMs (restart
 * priority "restart") fit, in total memory, in what the n-fewer weakest
 * live hosts have left for them (their free memory plus what protected
 * VMs already use there). No protected VM: live hosts - 1. */
static int64_t max_failures(void)
{
	int nh = 0;
	int64_t need = 0, *room;
	int64_t best = 0;

	for (struct obj *h = db_first("host"); h; h = h->cnext)
		nh++;
	if (!nh)
		return 0;
	room = xcalloc((size_t)nh, sizeof(*room));
	nh = 0;
	for (struct obj *h = db_first("host"); h; h = h->cnext) {
		const struct xv *res = db_field(h, "resident_VMs");
		if (!host_live(h))
			continue;
		room[nh] = host_free_memory(h);
		for (size_t i = 0; i < xv_len(res); i++) {
			struct obj *vm = db_find(xv_str(xv_at(res, i)));
			if (vm && !db_bool(vm, "is_control_domain")
			    && strcmp(db_str(vm, "ha_restart_priority"), "restart") == 0) {
				room[nh] += vm_need(vm);
				need += vm_need(vm);
			}
		}
		nh++;
	}
	qsort(room, (size_t)nh, sizeof(*room), cmp_i64);
	for (int k = nh - 1; k >= 0; k--) {
		int64_t cap = 0;
		for (int i = 0; i < nh - k; i++)
			cap += room[i];
		if (cap >= need) {
			best = k;
			break;
		}
	}
	free(room);
	return best;
}

/* Xapi_ha_vm_failover.update_pool_status: a plan for the configured number
 * of failures, or for as many as possible (overcommitted). */
static void update_pool_status(struct obj *pool)
{
	int64_t to_tolerate = db_int(pool, "ha_host_failures_to_tolerate");
	int64_t max = max_failures();
	int64_t plan = max < to_tolerate ? max : to_tolerate;

	if (db_int(pool, "ha_plan_exists_for") != plan)
		db_set_int(pool, "ha_plan_exists_for", plan);
	if (db_bool(pool, "ha_overcommitted") != (max < to_tolerate))
		db_set_bool(pool, "ha_overcommitted", max < to_tolerate);
}

/* ---- the calls ---------------------------------------------------------------------- */

struct xv *ha_pool_enable(struct call *c, struct xv **err)
{
	struct obj *pool = db_first("pool"), *sr = NULL, *statefile, *meta;
	const struct xv *heartbeat = arg(c, 0);
	struct xv *peers;

	if (!pool) {
		*err = err_new("INTERNAL_ERROR", "no pool object", NULL);
		return NULL;
	}
	if (db_bool(pool, "ha_enabled")) {
		*err = err_new("HA_IS_ENABLED", NULL);
		return NULL;
	}
	for (struct obj *p = db_first("PIF"); p; p = p->cnext)
		if (db_bool(p, "disallow_unplug") && !db_bool(p, "currently_attached")) {
			*err = err_new("REQUIRED_PIF_IS_UNPLUGGED", p->ref, NULL);
			return NULL;
		}
	for (struct obj *h = db_first("host"); h; h = h->cnext)
		if (!host_live(h)) {
			*err = err_new("HOST_OFFLINE", h->ref, NULL);
			return NULL;
		}
	if (xv_len(heartbeat) == 0) {
		/* list_srs_which_can_host_statefile, in database order */
		for (struct obj *s = db_first("SR"); s && !sr; s = s->cnext) {
			struct xv *e = sr_check(s);
			if (!e)
				sr = s;
			xv_free(e);
		}
		if (!sr) {
			*err = err_new("CANNOT_CREATE_STATE_FILE", NULL);
			return NULL;
		}
	} else {
		/* xHA takes one statefile: the first SR given */
		const char *ref = xv_str(xv_at(heartbeat, 0));
		sr = db_get(schema_class("SR"), ref ? ref : "");
		if (!sr) {
			*err = err_new("HANDLE_INVALID", "SR", ref ? ref : "", NULL);
			return NULL;
		}
		if ((*err = sr_check(sr)))
			return NULL;
	}
	db_set_str(pool, "ha_cluster_stack", "xhad");
	statefile = find_or_create(sr, "ha_statefile", STATEFILE_SIZE, "Statefile for HA",
				   "Used for storage heartbeating");
	meta = find_or_create(sr, "redo_log", REDO_LOG_SIZE, "Metadata for HA", "Used for master failover");
	db_set(pool, "ha_statefiles", strs(statefile->ref, NULL));
	db_set(pool, "ha_configuration", xv_copy(arg(c, 1)));
	db_set_int(pool, "ha_plan_exists_for", 0);
	update_pool_status(pool);
	/* Host.preconfigure_ha and the liveset: every host sees the statefile
	 * and all its peers */
	peers = xv_array();
	for (struct obj *h = db_first("host"); h; h = h->cnext)
		xv_array_push(peers, xv_string(db_str(h, "uuid")));
	for (struct obj *h = db_first("host"); h; h = h->cnext) {
		db_set(h, "ha_statefiles", strs(statefile->ref, NULL));
		db_set(h, "ha_network_peers", xv_copy(peers));
	}
	xv_free(peers);
	db_set_bool(pool, "ha_enabled", true);
	/* update_allowed_operations: while HA uses them, the volumes refuse
	 * every operation (HA_IS_ENABLED in Xapi_vdi.check_operation_error) */
	db_set(statefile, "allowed_operations", xv_array());
	db_set(meta, "allowed_operations", xv_array());
	return xv_string("");
}

struct xv *ha_pool_disable(struct call *c, struct xv **err)
{
	struct obj *pool = db_first("pool");
	const struct xv *files;

	if (!pool || !db_bool(pool, "ha_enabled")) {
		*err = err_new("HA_NOT_ENABLED", NULL);
		return NULL;
	}
	db_set_int(pool, "ha_plan_exists_for", 0);
	db_set_bool(pool, "ha_enabled", false);
	/* Host.ha_release_resources on every host */
	for (struct obj *h = db_first("host"); h; h = h->cnext) {
		if (xv_len(db_field(h, "ha_statefiles")))
			db_set(h, "ha_statefiles", xv_array());
		if (xv_len(db_field(h, "ha_network_peers")))
			db_set(h, "ha_network_peers", xv_array());
	}
	/* the volumes stay (the next enable reuses them), usable again */
	files = db_field(pool, "ha_statefiles");
	for (size_t i = 0; i < xv_len(files); i++) {
		struct obj *v = db_find(xv_str(xv_at(files, i)));
		struct obj *sr = v ? db_ref(v, "SR") : NULL;
		const struct xv *vdis = sr ? db_field(sr, "VDIs") : NULL;
		for (size_t j = 0; j < xv_len(vdis); j++) {
			struct obj *d = db_find(xv_str(xv_at(vdis, j)));
			if (d && (strcmp(db_str(d, "type"), "ha_statefile") == 0 || strcmp(db_str(d, "type"), "redo_log") == 0))
				db_set(d, "allowed_operations",
				       strs("clone", "copy", "resize", "destroy", "snapshot", "generate_config", "update",
					    "forget", NULL));
		}
	}
	return xv_string("");
}

struct xv *ha_pool_set_failures_to_tolerate(struct call *c, struct xv **err)
{
	struct obj *pool = arg_obj(c, 0, "pool", err);
	int64_t value = arg_int(c, 1);

	if (!pool)
		return NULL;
	if (value < 0) {
		char s[32];
		snprintf(s, sizeof(s), "%lld", (long long)value);
		*err = err_new("INVALID_VALUE", "ha_host_failures_to_tolerate", s, NULL);
		return NULL;
	}
	/* "Don't block changes if we have no plan at all" (xapi_pool.ml) */
	if (db_int(pool, "ha_plan_exists_for") > 0 && value > max_failures() && !db_bool(pool, "ha_allow_overcommit")) {
		*err = err_new("HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN", NULL);
		return NULL;
	}
	db_set_int(pool, "ha_host_failures_to_tolerate", value);
	update_pool_status(pool);
	return xv_string("");
}

struct xv *ha_pool_compute_max(struct call *c, struct xv **err)
{
	return xv_int(max_failures());
}

/* VM.set_ha_restart_priority as xapi_vm.ml: one of
 * Constants.ha_valid_restart_priorities, and with HA on, a VM newly
 * protected must not break the failover plan (unless overcommit is
 * allowed); the pool's plan is then recomputed. */
struct xv *ha_vm_set_restart_priority(struct call *c, struct xv **err)
{
	struct obj *vm = arg_obj(c, 0, "VM", err);
	const char *value = arg_str(c, 1);
	struct obj *pool = db_first("pool");
	char *was;

	if (!vm)
		return NULL;
	if (strcmp(value, "restart") != 0 && strcmp(value, "best-effort") != 0 && value[0]) {
		*err = err_new("INVALID_VALUE", "ha_restart_priority", value, NULL);
		return NULL;
	}
	was = xstrdup(db_str(vm, "ha_restart_priority"));
	db_set_str(vm, "ha_restart_priority", value);
	if (pool && db_bool(pool, "ha_enabled") && strcmp(value, "restart") == 0 && strcmp(was, "restart") != 0
	    && db_int(pool, "ha_plan_exists_for") > 0 && !db_bool(pool, "ha_allow_overcommit")
	    && max_failures() < db_int(pool, "ha_host_failures_to_tolerate")) {
		db_set_str(vm, "ha_restart_priority", was);
		free(was);
		*err = err_new("HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN", NULL);
		return NULL;
	}
	free(was);
	if (pool && db_bool(pool, "ha_enabled"))
		update_pool_status(pool);
	return xv_string("");
}
