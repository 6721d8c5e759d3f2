/* host.*: maintenance (disable, evacuate, enable), reboot and shutdown;
 * the settings, PCI and plugin calls are in host_config.c, pci.c and
 * plugins.c, listed here. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host_extra.h"
#include "pool.h"
#include "rpc.h"
#include "sim.h"
#include "util.h"
#include "vm.h"

static struct xv *void_ok(void)
{
	return xv_string("");
}

static void set_host_ops(struct obj *h)
{
	struct xv *ops = xv_array();

	if (db_bool(h, "enabled")) {
		static const char *const names[] = {"provision", "evacuate", "reboot", "shutdown", "vm_start", "vm_resume", "vm_migrate"};
		for (size_t i = 0; i < ARRAY_LEN(names); i++)
			xv_array_push(ops, xv_string(names[i]));
	} else {
		static const char *const names[] = {"evacuate", "reboot", "shutdown", "enable"};
		for (size_t i = 0; i < ARRAY_LEN(names); i++)
			xv_array_push(ops, xv_string(names[i]));
	}
	db_set(h, "allowed_operations", ops);
}

static struct xv *host_disable(struct call *c, struct xv **err)
{
	struct obj *h = arg_obj(c, 0, "host", err);

	if (!h)
		return NULL;
	db_set_bool(h, "enabled", false);
	set_host_ops(h);
	return void_ok();
}

static struct xv *host_enable(struct call *c, struct xv **err)
{
	struct obj *h = arg_obj(c, 0, "host", err);
	struct obj *m;

	if (!h)
		return NULL;
	m = db_ref(h, "metrics");
	if (m && !db_bool(m, "live")) {
		*err = err_new("HOST_OFFLINE", h->ref, NULL);
		return NULL;
	}
	db_set_bool(h, "enabled", true);
	set_host_ops(h);
	return void_ok();
}

static bool guest(const struct obj *vm)
{
	return !db_bool(vm, "is_control_domain");
}

/* xapi_host.ml's compute_evacuation_plan_no_wlb: for each guest resident
 * on h, either the host it moves to or why it cannot move. */
struct evac_plan {
	size_t n;
	struct obj **vm;
	struct obj **to;   /* NULL when err is set */
	struct xv **err;   /* [code, params...] */
};

static void plan_free(struct evac_plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		xv_free(p->err[i]);
	free(p->vm);
	free(p->to);
	free(p->err);
}

/* The other hosts a guest may go to: enabled and live. */
static bool evac_target(const struct obj *o, const struct obj *h)
{
	struct obj *m = db_ref(o, "metrics");

	return o != h && db_bool(o, "enabled") && (!m || db_bool(m, "live"));
}

/* Locked. Every guest is checked against every target host as
 * assert_can_boot_here does without memory (the first SR a target cannot
 * see: VM_REQUIRES_SR [vm, sr]); those that pass are packed by memory, the
 * host with the most room first; a guest that fits nowhere gets
 * HOST_NOT_ENOUGH_FREE_MEMORY [vm]; no target at all: NO_HOSTS_AVAILABLE [vm]. */
static void plan_compute(struct obj *h, struct evac_plan *p)
{
	const struct xv *rs = db_field(h, "resident_VMs");
	size_t nt = 0, cap = 0;
	struct obj **t = NULL;
	int64_t *room;

	memset(p, 0, sizeof(*p));
	p->vm = xcalloc(xv_len(rs) + 1, sizeof(*p->vm));
	p->to = xcalloc(xv_len(rs) + 1, sizeof(*p->to));
	p->err = xcalloc(xv_len(rs) + 1, sizeof(*p->err));
	for (struct obj *o = db_first("host"); o; o = o->cnext)
		cap++;
	t = xcalloc(cap + 1, sizeof(*t));
	room = xcalloc(cap + 1, sizeof(*room));
	for (struct obj *o = db_first("host"); o; o = o->cnext)
		if (evac_target(o, h)) {
			room[nt] = host_free_memory(o);
			t[nt++] = o;
		}
	for (size_t i = 0; i < xv_len(rs); i++) {
		struct obj *vm = db_find(xv_str(xv_at(rs, i)));
		int64_t need;
		size_t best = nt;
		struct obj *sr = NULL;

		if (!vm || !guest(vm))
			continue;
		p->vm[p->n] = vm;
		if (nt == 0) {
			p->err[p->n++] = err_new("NO_HOSTS_AVAILABLE", vm->ref, NULL);
			continue;
		}
		for (size_t k = 0; k < nt && !sr; k++)
			sr = vm_unseen_sr(vm, t[k]);
		if (sr) {
			p->err[p->n++] = err_new("VM_REQUIRES_SR", vm->ref, sr->ref, NULL);
			continue;
		}
		need = db_int(vm, "memory_static_max");
		for (size_t k = 0; k < nt; k++)
			if (room[k] >= need && (best == nt || room[k] > room[best]))
				best = k;
		if (best == nt) {
			p->err[p->n++] = err_new("HOST_NOT_ENOUGH_FREE_MEMORY", vm->ref, NULL);
			continue;
		}
		room[best] -= need;
		p->to[p->n++] = t[best];
	}
	free(t);
	free(room);
}

/* Moves every guest off h to its planned host; if any guest cannot move,
 * its error and nothing moves, as xapi checks the whole plan first. */
static struct xv *host_evacuate(struct call *c, struct xv **err)
{
	struct obj *h = arg_obj(c, 0, "host", err);
	struct evac_plan p;

	if (!h)
		return NULL;
	if (db_bool(h, "enabled")) {
		*err = err_new("HOST_NOT_DISABLED", NULL);
		return NULL;
	}
	plan_compute(h, &p);
	for (size_t i = 0; i < p.n; i++)
		if (p.err[i]) {
			*err = xv_copy(p.err[i]);
			plan_free(&p);
			return NULL;
		}
	for (size_t i = 0; i < p.n; i++)
		vm_set_power(p.vm[i], db_str(p.vm[i], "power_state"), p.to[i]);
	plan_free(&p);
	return void_ok();
}

/* host.assert_can_evacuate: the plan's errors in one parameter,
 * "code,param,...|code,param,..." (xapi's "Miami style"). */
static struct xv *host_assert_can_evacuate(struct call *c, struct xv **err)
{
	struct obj *h = arg_obj(c, 0, "host", err);
	struct evac_plan p;
	struct buf b;

	if (!h)
		return NULL;
	buf_init(&b);
	plan_compute(h, &p);
	for (size_t i = 0; i < p.n; i++) {
		if (!p.err[i])
			continue;
		buf_sep(&b, "|");
		for (size_t k = 0; k < xv_len(p.err[i]); k++) {
			const char *s = xv_str(xv_at(p.err[i], k));
			if (k)
				buf_putc(&b, ',');
			buf_puts(&b, s ? s : "");
		}
	}
	plan_free(&p);
	if (b.len) {
		*err = err_new("CANNOT_EVACUATE_HOST", b.data, NULL);
		buf_free(&b);
		return NULL;
	}
	buf_free(&b);
	return void_ok();
}

/* host.get_vms_which_prevent_evacuation: VM ref -> [code, params...] for
 * each guest that cannot move; empty when all can. */
static struct xv *host_get_vms_which_prevent_evacuation(struct call *c, struct xv **err)
{
	struct obj *h = arg_obj(c, 0, "host", err);
	struct evac_plan p;
	struct xv *out;

	if (!h)
		return NULL;
	plan_compute(h, &p);
	out = xv_struct();
	for (size_t i = 0; i < p.n; i++)
		if (p.err[i])
			xv_struct_add(out, p.vm[i]->ref, xv_copy(p.err[i]));
	plan_free(&p);
	return out;
}

/* This process's own host is down: xapi answers nothing until it is back. */
static atomic_bool local_booting;

bool sim_local_host_booting(void)
{
	return atomic_load(&local_booting);
}

struct revive {
	char ref[REF_LEN];
	int after_ms;
	/* a member's host on another process: the master waits for it to
	 * answer again and takes what its new boot reports */
	bool remote;
	char address[128], uuid[64];
};

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* The member's own host record once its process answers again, or NULL
 * after a minute. Unlocked. */
static struct xv *wait_for_member(const struct revive *r)
{
	for (int tries = 0; tries < 120; tries++) {
		struct xv *rec = NULL, *e = NULL;
		if (pool_forward(r->address, r->uuid, r->ref, "host.get_record", NULL, 0, &rec, &e))
			return rec;
		xv_free(e);
		sleep_ms(500);
	}
	return NULL;
}

/* A rebooted host comes back, enabled, a few seconds later. */
static void *revive_later(void *arg)
{
	struct revive *r = arg;
	struct xv *rec = NULL;
	struct obj *h, *m;

	sleep_ms(r->after_ms);
	if (r->remote && !(rec = wait_for_member(r))) {
		fprintf(stderr, "xapi-sim: host %s at %s did not come back\n", r->uuid, r->address);
		free(r);
		return NULL;
	}
	db_lock();
	h = db_find(r->ref);
	if (h && (m = db_ref(h, "metrics"))) {
		char boot[32];
		const struct xv *sv = rec ? xv_struct_get(rec, "software_version") : NULL;
		snprintf(boot, sizeof(boot), "%lld.", (long long)time(NULL));
		/* what the new boot changed: hidden devices, installed updates (a
		 * member reports its software itself, as dbsync_slave does) */
		pci_on_boot(h);
		if (r->remote) {
			if (sv && sv->type == XV_STRUCT)
				db_set(h, "software_version", xv_copy(sv));
		} else {
			updater_on_boot(h);
		}
		db_map_put(h, "other_config", "boot_time", boot);
		db_map_put(h, "other_config", "agent_start_time", boot);
		db_set_bool(m, "live", true);
		db_set_now(m, "last_updated");
		db_set_bool(h, "enabled", true);
		set_host_ops(h);
		vm_set_power(db_ref(h, "control_domain"), "Running", h);
	}
	if (h == sim.local_host)
		atomic_store(&local_booting, false);
	db_unlock();
	xv_free(rec);
	free(r);
	return NULL;
}

/* Locked. h goes down: its metrics say so, its control domain halts; on a
 * reboot it comes back later (revive_later). remote: it is served by the
 * process at address, which was told already. */
static void go_down(struct obj *h, bool reboot, bool remote, const char *address)
{
	struct obj *m = db_ref(h, "metrics");

	if (m)
		db_set_bool(m, "live", false);
	if (db_ref(h, "control_domain"))
		vm_set_power(db_ref(h, "control_domain"), "Halted", NULL);
	if (h == sim.local_host)
		atomic_store(&local_booting, true);
	if (reboot) {
		struct revive *r = xcalloc(1, sizeof(*r));
		pthread_t th;
		pthread_attr_t attr;

		memcpy(r->ref, h->ref, REF_LEN);
		r->after_ms = 3000;
		r->remote = remote;
		snprintf(r->address, sizeof(r->address), "%s", address);
		snprintf(r->uuid, sizeof(r->uuid), "%s", db_str(h, "uuid"));
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&th, &attr, revive_later, r) != 0)
			free(r);
		pthread_attr_destroy(&attr);
	}
}

/* Unlocked (H_UNLOCKED). The master checks and keeps the records; xapi
 * forwards the call to the host itself, here to the process serving a
 * member's address, whose xapi then answers nothing until it is back. */
static struct xv *host_down(struct call *c, bool reboot, struct xv **err)
{
	struct obj *h;
	const struct xv *vms;
	char address[128], uuid[64], ref[REF_LEN];
	bool remote;

	db_lock();
	h = arg_obj(c, 0, "host", err);
	if (h && sim.is_slave) {
		/* the master forwarded it: this process's host goes down */
		if (h == sim.local_host)
			go_down(h, reboot, false, sim.address);
		db_unlock();
		return void_ok();
	}
	if (!h) {
		db_unlock();
		return NULL;
	}
	if (db_bool(h, "enabled")) {
		db_unlock();
		*err = err_new("HOST_NOT_DISABLED", NULL);
		return NULL;
	}
	vms = db_field(h, "resident_VMs");
	for (size_t i = 0; i < xv_len(vms); i++) {
		struct obj *vm = db_find(xv_str(xv_at(vms, i)));
		if (vm && guest(vm)) {
			*err = err_new("HOST_IN_USE", h->ref, "vm", vm->ref, NULL);
			db_unlock();
			return NULL;
		}
	}
	snprintf(address, sizeof(address), "%s", db_str(h, "address"));
	snprintf(uuid, sizeof(uuid), "%s", db_str(h, "uuid"));
	memcpy(ref, h->ref, REF_LEN);
	remote = strcmp(address, sim.address) != 0;
	db_unlock();
	if (remote && !pool_forward(address, uuid, ref, reboot ? "host.reboot" : "host.shutdown", NULL, 0, NULL, err))
		return NULL;
	db_lock();
	h = db_get(schema_class("host"), ref);
	if (h)
		go_down(h, reboot, remote, address);
	db_unlock();
	return void_ok();
}

static struct xv *host_reboot(struct call *c, struct xv **err)
{
	return host_down(c, true, err);
}

static struct xv *host_shutdown(struct call *c, struct xv **err)
{
	return host_down(c, false, err);
}

static struct xv *host_get_servertime(struct call *c, struct xv **err)
{
	char now[32];

	if (!arg_obj(c, 0, "host", err))
		return NULL;
	now_iso8601(now);
	return xv_datetime(now);
}

static struct xv *host_get_management_interface(struct call *c, struct xv **err)
{
	struct obj *h = arg_obj(c, 0, "host", err);
	const struct xv *pifs;

	if (!h)
		return NULL;
	pifs = db_field(h, "PIFs");
	for (size_t i = 0; i < xv_len(pifs); i++) {
		struct obj *p = db_find(xv_str(xv_at(pifs, i)));
		if (p && db_bool(p, "management"))
			return xv_string(p->ref);
	}
	*err = err_new("PIF_HAS_NO_NETWORK_CONFIGURATION", "OpaqueRef:NULL", NULL);
	return NULL;
}

static struct xv *host_destroy(struct call *c, struct xv **err)
{
	struct obj *h = arg_obj(c, 0, "host", err);
	struct obj *m;

	if (!h)
		return NULL;
	if (h == sim.local_host) {
		*err = err_new("HOST_CANNOT_DESTROY_SELF", h->ref, NULL);
		return NULL;
	}
	m = db_ref(h, "metrics");
	if (m && db_bool(m, "live")) {
		*err = err_new("HOST_IS_LIVE", h->ref, NULL);
		return NULL;
	}
	db_delete(h);
	return void_ok();
}

const struct handler calls_host[] = {
	{"host.disable", host_disable, 300, 0},
	{"host.enable", host_enable, 300, 0},
	{"host.evacuate", host_evacuate, 3000, 0},
	{"host.assert_can_evacuate", host_assert_can_evacuate, 300, 0},
	{"host.get_vms_which_prevent_evacuation", host_get_vms_which_prevent_evacuation, 300, 0},
	{"host.reboot", host_reboot, 1000, H_UNLOCKED},
	{"host.shutdown", host_shutdown, 1000, H_UNLOCKED},
	{"host.get_servertime", host_get_servertime, 0, 0},
	{"host.get_management_interface", host_get_management_interface, 0, 0},
	{"host.set_hostname_live", host_set_hostname_live, 0, 0},
	{"host.destroy", host_destroy, 300, 0},
	{"host.enable_ssh", host_enable_ssh, 500, 0},
	{"host.disable_ssh", host_disable_ssh, 500, 0},
	{"host.syslog_reconfigure", host_syslog_reconfigure, 500, 0},
	{"host.set_ntp_mode", host_set_ntp_mode, 500, 0},
	{"host.set_ntp_custom_servers", host_set_ntp_custom_servers, 500, 0},
	{"host.get_ntp_servers_status", host_get_ntp_servers_status, 300, 0},
	{"host.get_ntp_synchronized", host_get_ntp_synchronized, 300, 0},
	{"host.set_timezone", host_set_timezone, 500, 0},
	{"host.list_timezones", host_list_timezones, 300, 0},
	{"host.management_reconfigure", host_management_reconfigure, 2000, 0},
	{"host.call_plugin", host_call_plugin, 2000, H_UNLOCKED},
	{"PIF.reconfigure_ip", pif_reconfigure_ip, 2000, 0},
	{"PIF.reconfigure_ipv6", pif_reconfigure_ipv6, 2000, 0},
	{"PCI.disable_dom0_access", pci_disable_dom0_access, 500, 0},
	{"PCI.enable_dom0_access", pci_enable_dom0_access, 500, 0},
	{"PCI.get_dom0_access_status", pci_get_dom0_access_status, 300, 0},
	{NULL, NULL, 0, 0},
};
