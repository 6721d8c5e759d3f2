/* VM.*: the power-state machine and the operations users trigger, with
 * xapi's checks and errors (VM_BAD_POWER_STATE, VM_IS_TEMPLATE, ...). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "guest_agent.h"
#include "ha.h"
#include "implicit.h"
#include "rpc.h"
#include "sim.h"
#include "util.h"
#include "vm.h"

/* The VM the call is about; as xapi_vm_lifecycle.ml checks first, an
 * operation the VM's blocked_operations names is OPERATION_BLOCKED [vm,
 * reason] (XO blocks start while it restores a VM). */
static struct obj *the_vm(struct call *c, struct xv **err)
{
	struct obj *vm = arg_obj(c, 0, "VM", err);
	const char *op = strchr(c->name, '.') ? strchr(c->name, '.') + 1 : c->name;
	const char *why = vm ? db_map_get(vm, "blocked_operations", op) : NULL;

	if (why) {
		*err = err_new("OPERATION_BLOCKED", vm->ref, why, NULL);
		return NULL;
	}
	return vm;
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* VM_BAD_POWER_STATE [vm, expected, actual], states lower-case. */
static bool want_state(struct obj *vm, const char *expected, struct xv **err)
{
	char actual[32], exp[96];
	const char *ps = db_str(vm, "power_state");

	snprintf(exp, sizeof(exp), "%s", expected);
	for (char *tok = exp; *tok;) {
		size_t n = strcspn(tok, ",");
		char one[32];
		snprintf(one, sizeof(one), "%.*s", (int)n, tok);
		if (strcasecmp(one, ps) == 0)
			return true;
		tok += n;
		while (*tok == ',' || *tok == ' ')
			tok++;
	}
	snprintf(actual, sizeof(actual), "%s", ps);
	lower(actual);
	*err = err_new("VM_BAD_POWER_STATE", vm->ref, expected, actual, NULL);
	return false;
}

static bool not_template(struct obj *vm, const char *op, struct xv **err)
{
	if (db_bool(vm, "is_a_template") || db_bool(vm, "is_control_domain")) {
		*err = db_bool(vm, "is_control_domain")
			       ? err_new("OPERATION_NOT_ALLOWED", "This operation is not allowed on the control domain", NULL)
			       : err_new("VM_IS_TEMPLATE", vm->ref, op, NULL);
		return false;
	}
	return true;
}

static struct xv *void_ok(void)
{
	return xv_string("");
}

static bool host_can_run(struct obj *host, struct obj *vm, struct xv **err)
{
	struct obj *m = db_ref(host, "metrics"), *sr;
	int64_t need = db_int(vm, "memory_static_max");
	int64_t free_mem = host_free_memory(host);
	char n[32], a[32];

	if (!db_bool(host, "enabled")) {
		*err = err_new("HOST_DISABLED", host->ref, NULL);
		return false;
	}
	if (m && !db_bool(m, "live")) {
		*err = err_new("HOST_OFFLINE", host->ref, NULL);
		return false;
	}
	/* xapi_vm_helpers.ml assert_can_boot_here: after the host checks,
	 * before memory; assert_can_see_SRs names the first SR missing */
	if ((sr = vm_unseen_sr(vm, host))) {
		*err = err_new("VM_REQUIRES_SR", vm->ref, sr->ref, NULL);
		return false;
	}
	/* a VM already on host counts in its used memory: it needs no more */
	if (db_ref(vm, "resident_on") == host)
		free_mem += need;
	if (need > free_mem) {
		snprintf(n, sizeof(n), "%lld", (long long)need);
		snprintf(a, sizeof(a), "%lld", (long long)free_mem);
		*err = err_new("HOST_NOT_ENOUGH_FREE_MEMORY", n, a, NULL);
		return false;
	}
	return true;
}

/* Picks a host as xapi does: the affinity host if it fits, else the one
 * with the most free memory among those that can see every SR the VM
 * needs (none: NO_HOSTS_AVAILABLE, as Xapi_vm_placement.select_host). */
static struct obj *choose_host(struct obj *vm, struct xv **err)
{
	struct obj *aff = db_ref(vm, "affinity");
	struct obj *best = NULL;
	struct xv *tmp = NULL;

	if (aff && strcmp(aff->cls->name, "host") == 0 && host_can_run(aff, vm, &tmp))
		return aff;
	xv_free(tmp);
	tmp = NULL;
	for (struct obj *h = db_first("host"); h; h = h->cnext) {
		if (!db_bool(h, "enabled") || !db_ref(h, "metrics") || !db_bool(db_ref(h, "metrics"), "live"))
			continue;
		if (vm_unseen_sr(vm, h))
			continue;
		if (!best || host_free_memory(h) > host_free_memory(best))
			best = h;
	}
	if (!best) {
		*err = err_new("NO_HOSTS_AVAILABLE", NULL);
		return NULL;
	}
	return host_can_run(best, vm, err) ? best : NULL;
}

static struct xv *do_start(struct call *c, struct obj *host, bool start_paused, struct xv **err)
{
	struct obj *vm = the_vm(c, err);

	if (!vm || !not_template(vm, "start", err) || !want_state(vm, "halted", err))
		return NULL;
	if (!host && !(host = choose_host(vm, err)))
		return NULL;
	if (host && !host_can_run(host, vm, err))
		return NULL;
	vm_set_power(vm, start_paused ? "Paused" : "Running", host);
	if (!start_paused)
		guest_agent_on_boot(vm);
	return void_ok();
}

static struct xv *vm_start(struct call *c, struct xv **err)
{
	return do_start(c, NULL, arg_bool(c, 1), err);
}

static struct xv *vm_start_on(struct call *c, struct xv **err)
{
	struct obj *host = arg_obj(c, 1, "host", err);

	return host ? do_start(c, host, arg_bool(c, 2), err) : NULL;
}

static struct xv *vm_clean_shutdown(struct call *c, struct xv **err)
{
	struct obj *vm = the_vm(c, err);

	if (!vm || !not_template(vm, "clean_shutdown", err) || !want_state(vm, "running", err))
		return NULL;
	vm_set_power(vm, "Halted", NULL);
	return void_ok();
}

static struct xv *vm_hard_shutdown(struct call *c, struct xv **err)
{
	struct obj *vm = the_vm(c, err);
	struct obj *sv;

	if (!vm || !not_template(vm, "hard_shutdown", err) || !want_state(vm, "running, paused, suspended", err))
		return NULL;
	sv = db_ref(vm, "suspend_VDI");
	if (sv) {
		db_set_ref(vm, "suspend_VDI", NULL);
		db_delete(sv);
	}
	vm_set_power(vm, "Halted", NULL);
	return void_ok();
}

static void reboot(struct obj *vm)
{
	struct obj *host = db_ref(vm, "resident_on");

	vm_set_power(vm, "Halted", NULL);
	vm_set_power(vm, "Running", host);
}

static struct xv *vm_clean_reboot(struct call *c, struct xv **err)
{
	struct obj *vm = the_vm(c, err);

	if (!vm || !not_template(vm, "clean_reboot", err) || !want_state(vm, "running", err))
		return NULL;
	reboot(vm);
	return void_ok();
}

static struct xv *vm_hard_reboot(struct call *c, struct xv **err)
{
	struct obj *vm = the_vm(c, err);

	if (!vm || !not_template(vm, "hard_reboot", err) || !want_state(vm, "running, paused", err))
		return NULL;
	reboot(vm);
	return void_ok();
}

static struct xv *vm_suspend(struct call *c, struct xv **err)
{
	struct obj *vm = the_vm(c, err);
	struct obj *pool = db_first("pool");
	struct obj *sr, *vdi;

	if (!vm || !not_template(vm, "suspend", err) || !want_state(vm, "running", err))
		return NULL;
	sr = pool ? db_ref(pool, "suspend_image_SR") : NULL;
	if (sr) {
		char label[160];
		snprintf(label, sizeof(label), "Suspend image for %s", db_str(vm, "name_label"));
		vdi = db_create_named("VDI");
		db_set_str(vdi, "name_label", label);
		db_set_str(vdi, "type", "suspend");
		db_set_int(vdi, "virtual_size", db_int(vm, "memory_static_max"));
		db_set_ref(vdi, "SR", sr);
		db_set_ref(vm, "suspend_VDI", vdi);
	}
	vm_set_power(vm, "Suspended", NULL);
	return void_ok();
}

static struct xv *do_resume(struct call *c, struct obj *host, bool paused, struct xv **err)
{
	struct obj *vm = the_vm(c, err);
	struct obj *sv;

	if (!vm || !not_template(vm, "resume", err) || !want_state(vm, "suspended", err))
		return NULL;
	if (!host && !(host = choose_host(vm, err)))
		return NULL;
	if (!host_can_run(host, vm, err))
		return NULL;
	sv = db_ref(vm, "suspend_VDI");
	if (sv) {
		db_set_ref(vm, "suspend_VDI", NULL);
		db_delete(sv);
	}
	vm_set_power(vm, paused ? "Paused" : "Running", host);
	return void_ok();
}

static struct xv *vm_resume(struct call *c, struct xv **err)
{
	return do_resume(c, NULL, arg_bool(c, 1), err);
}

static struct xv *vm_resume_on(struct call *c, struct xv **err)
{
	struct obj *host = arg_obj(c, 1, "host", err);

	return host ? do_resume(c, host, arg_bool(c, 2), err) : NULL;
}

static struct xv *vm_pause(struct call *c, struct xv **err)
{
	struct obj *vm = the_vm(c, err);

	if (!vm || !not_template(vm, "pause", err) || !want_state(vm, "running", err))
		return NULL;
	vm_set_power(vm, "Paused", db_ref(vm, "resident_on"));
	return void_ok();
}

static struct xv *vm_unpause(struct call *c, struct xv **err)
{
	struct obj *vm = the_vm(c, err);

	if (!vm || !not_template(vm, "unpause", err) || !want_state(vm, "paused", err))
		return NULL;
	vm_set_power(vm, "Running", db_ref(vm, "resident_on"));
	return void_ok();
}

static struct xv *do_clone(struct call *c, struct obj *sr, struct xv **err)
{
	struct obj *vm = the_vm(c, err);

	if (!vm)
		return NULL;
	if (db_bool(vm, "is_control_domain")) {
		*err = err_new("OPERATION_NOT_ALLOWED", "This operation is not allowed on the control domain", NULL);
		return NULL;
	}
	if (!db_bool(vm, "is_a_template") && !want_state(vm, "halted, suspended", err))
		return NULL;
	return xv_string(vm_clone(vm, arg_str(c, 1), sr)->ref);
}

static struct xv *vm_clone_(struct call *c, struct xv **err)
{
	return do_clone(c, NULL, err);
}

static struct xv *vm_copy(struct call *c, struct xv **err)
{
	struct obj *sr = NULL;

	if (strcmp(arg_str(c, 2), "OpaqueRef:NULL") != 0 && !(sr = arg_obj(c, 2, "SR", err)))
		return NULL;
	return do_clone(c, sr, err);
}

static struct xv *snapshot(struct call *c, bool with_memory, struct xv **err)
{
	struct obj *vm = the_vm(c, err);

	if (!vm)
		return NULL;
	if (db_bool(vm, "is_a_template") || db_bool(vm, "is_control_domain")) {
		*err = err_new("VM_IS_TEMPLATE", vm->ref, with_memory ? "checkpoint" : "snapshot", NULL);
		return NULL;
	}
	/* VM.snapshot's ignore_vdis (defaulted to {} when not sent); checkpoint has none */
	return xv_string(vm_snapshot(vm, arg_str(c, 1), with_memory, with_memory ? NULL : arg(c, 2))->ref);
}

static struct xv *vm_snapshot_(struct call *c, struct xv **err)
{
	return snapshot(c, false, err);
}

static struct xv *vm_checkpoint(struct call *c, struct xv **err)
{
	return snapshot(c, true, err);
}

/* Puts the VM back as its snapshot was: settings, disks, power state. */
static struct xv *vm_revert(struct call *c, struct xv **err)
{
	struct obj *snap = the_vm(c, err);
	struct obj *vm;
	struct xv *vbds;
	struct obj *tmp;

	if (!snap)
		return NULL;
	if (!db_bool(snap, "is_a_snapshot")) {
		*err = err_new("OPERATION_NOT_ALLOWED", "Only a snapshot can be reverted to", NULL);
		return NULL;
	}
	vm = db_ref(snap, "snapshot_of");
	if (!vm) {
		*err = err_new("VM_REVERT_FAILED", snap->ref, "OpaqueRef:NULL", NULL);
		return NULL;
	}
	if (strcmp(db_str(vm, "power_state"), "Halted") != 0)
		vm_set_power(vm, "Halted", NULL);
	/* replace the VM's disks by copies of the snapshot's */
	vbds = xv_copy(db_field(vm, "VBDs"));
	for (size_t i = 0; i < xv_len(vbds); i++) {
		struct obj *vbd = db_find(xv_str(xv_at(vbds, i)));
		struct obj *vdi = vbd ? db_ref(vbd, "VDI") : NULL;
		if (vbd && vdi && strcmp(db_str(vbd, "type"), "Disk") == 0) {
			db_delete(vbd);
			if (xv_len(db_field(vdi, "VBDs")) == 0) {
				struct obj *sr = db_ref(vdi, "SR");
				db_delete(vdi);
				sr_refresh_usage(sr);
			}
		}
	}
	xv_free(vbds);
	tmp = vm_clone(snap, db_str(vm, "name_label"), NULL);
	vbds = xv_copy(db_field(tmp, "VBDs"));
	for (size_t i = 0; i < xv_len(vbds); i++) {
		struct obj *vbd = db_find(xv_str(xv_at(vbds, i)));
		if (vbd && strcmp(db_str(vbd, "type"), "Disk") == 0)
			db_set_ref(vbd, "VM", vm);
	}
	xv_free(vbds);
	{
		static const char *const fields[] = {
			"VCPUs_max", "VCPUs_at_startup", "memory_static_max", "memory_dynamic_max",
			"memory_dynamic_min", "memory_static_min", "memory_target", "HVM_boot_params", "platform",
			"name_description",
		};
		for (size_t i = 0; i < ARRAY_LEN(fields); i++)
			db_set(vm, fields[i], xv_copy(db_field(snap, fields[i])));
	}
	vm_destroy(tmp, false);
	/* xapi_vm_snapshot.ml: the VM's VIFs give way to copies of the
	 * snapshot's, with the snapshot's MACs */
	for (int pass = 0; pass < 2; pass++) {
		struct xv *vifs = xv_copy(db_field(pass ? snap : vm, "VIFs"));
		for (size_t i = 0; i < xv_len(vifs); i++) {
			struct obj *vif = db_find(xv_str(xv_at(vifs, i)));
			if (vif && pass)
				vif_copy(vm, vif, true);
			else if (vif)
				db_delete(vif);
		}
		xv_free(vifs);
	}
	db_set_ref(vm, "parent", snap);
	if (strcmp(db_str(snap, "power_state"), "Suspended") == 0) {
		struct xv *e = NULL;
		struct obj *h = choose_host(vm, &e);
		xv_free(e);
		if (h)
			vm_set_power(vm, "Running", h);
	}
	vm_refresh_ops(vm);
	return void_ok();
}

static struct xv *vm_destroy_(struct call *c, struct xv **err)
{
	struct obj *vm = the_vm(c, err);

	if (!vm)
		return NULL;
	if (db_bool(vm, "is_control_domain")) {
		*err = err_new("OPERATION_NOT_ALLOWED", "This operation is not allowed on the control domain", NULL);
		return NULL;
	}
	if (!db_bool(vm, "is_a_template") && !want_state(vm, "halted, suspended", err))
		return NULL;
	/* xapi's VM.destroy keeps the disks; clients destroy the VDIs themselves */
	vm_destroy(vm, false);
	return void_ok();
}

static struct xv *vm_pool_migrate(struct call *c, struct xv **err)
{
	struct obj *vm = the_vm(c, err);
	struct obj *host = arg_obj(c, 1, "host", err);

	if (!vm || !host || !not_template(vm, "pool_migrate", err) || !want_state(vm, "running", err))
		return NULL;
	/* a migration to the VM's own host is a localhost migration in xapi */
	if (db_ref(vm, "resident_on") == host)
		return void_ok();
	if (!host_can_run(host, vm, err))
		return NULL;
	vm_set_power(vm, "Running", host);
	return void_ok();
}

static bool halted_or_template(struct obj *vm, struct xv **err)
{
	return db_bool(vm, "is_a_template") || want_state(vm, "halted", err);
}

static struct xv *vm_set_vcpus_max(struct call *c, struct xv **err)
{
	struct obj *vm = the_vm(c, err);
	int64_t n = arg_int(c, 1);
	char v[32];

	if (!vm || !halted_or_template(vm, err))
		return NULL;
	snprintf(v, sizeof(v), "%lld", (long long)n);
	if (n < 1 || n > 64 || n < db_int(vm, "VCPUs_at_startup")) {
		*err = err_new("INVALID_VALUE", "VCPU values must satisfy: 0 < VCPUs_at_startup <= VCPUs_max", v, NULL);
		return NULL;
	}
	db_set_int(vm, "VCPUs_max", n);
	return void_ok();
}

static struct xv *vm_set_vcpus_at_startup(struct call *c, struct xv **err)
{
	struct obj *vm = the_vm(c, err);
	int64_t n = arg_int(c, 1);
	char v[32];

	if (!vm)
		return NULL;
	snprintf(v, sizeof(v), "%lld", (long long)n);
	if (n < 1 || n > db_int(vm, "VCPUs_max")) {
		*err = err_new("INVALID_VALUE", "VCPU values must satisfy: 0 < VCPUs_at_startup <= VCPUs_max", v, NULL);
		return NULL;
	}
	db_set_int(vm, "VCPUs_at_startup", n);
	return void_ok();
}

static struct xv *vm_set_vcpus_number_live(struct call *c, struct xv **err)
{
	struct obj *vm = the_vm(c, err);

	if (!vm || !want_state(vm, "running", err))
		return NULL;
	if (arg_int(c, 1) < 1 || arg_int(c, 1) > db_int(vm, "VCPUs_max")) {
		*err = err_new("INVALID_VALUE", "nvcpu", arg_str(c, 1), NULL);
		return NULL;
	}
	db_set_int(vm, "VCPUs_at_startup", arg_int(c, 1));
	if (db_ref(vm, "metrics"))
		db_set_int(db_ref(vm, "metrics"), "VCPUs_number", arg_int(c, 1));
	return void_ok();
}

static bool check_memory(int64_t smin, int64_t smax, int64_t dmin, int64_t dmax, struct xv **err)
{
	if (!(smin <= dmin && dmin <= dmax && dmax <= smax) || smin < 0) {
		*err = err_new("MEMORY_CONSTRAINT_VIOLATION",
			       "Memory limits must satisfy: static_min <= dynamic_min <= dynamic_max <= static_max", NULL);
		return false;
	}
	return true;
}

static void set_limits(struct obj *vm, int64_t smin, int64_t smax, int64_t dmin, int64_t dmax)
{
	db_set_int(vm, "memory_static_min", smin);
	db_set_int(vm, "memory_static_max", smax);
	db_set_int(vm, "memory_dynamic_min", dmin);
	db_set_int(vm, "memory_dynamic_max", dmax);
	db_set_int(vm, "memory_target", dmax);
	if (db_ref(vm, "resident_on")) {
		if (db_ref(vm, "metrics"))
			db_set_int(db_ref(vm, "metrics"), "memory_actual", dmax);
		host_refresh_memory(db_ref(vm, "resident_on"));
	}
}

static struct xv *vm_set_memory_limits(struct call *c, struct xv **err)
{
	struct obj *vm = the_vm(c, err);

	if (!vm || !halted_or_template(vm, err)
	    || !check_memory(arg_int(c, 1), arg_int(c, 2), arg_int(c, 3), arg_int(c, 4), err))
		return NULL;
	set_limits(vm, arg_int(c, 1), arg_int(c, 2), arg_int(c, 3), arg_int(c, 4));
	return void_ok();
}

static struct xv *vm_set_memory(struct call *c, struct xv **err)
{
	struct obj *vm = the_vm(c, err);
	int64_t v = arg_int(c, 1);
	int64_t smin;

	if (!vm || !halted_or_template(vm, err))
		return NULL;
	smin = db_int(vm, "memory_static_min");
	if (smin > v)
		smin = v;
	if (!check_memory(smin, v, v, v, err))
		return NULL;
	set_limits(vm, smin, v, v, v);
	return void_ok();
}

static struct xv *vm_set_memory_static_range(struct call *c, struct xv **err)
{
	struct obj *vm = the_vm(c, err);

	if (!vm || !halted_or_template(vm, err)
	    || !check_memory(arg_int(c, 1), arg_int(c, 2), db_int(vm, "memory_dynamic_min"),
			     db_int(vm, "memory_dynamic_max"), err))
		return NULL;
	set_limits(vm, arg_int(c, 1), arg_int(c, 2), db_int(vm, "memory_dynamic_min"), db_int(vm, "memory_dynamic_max"));
	return void_ok();
}

static struct xv *vm_set_memory_dynamic_range(struct call *c, struct xv **err)
{
	struct obj *vm = the_vm(c, err);

	if (!vm || !check_memory(db_int(vm, "memory_static_min"), db_int(vm, "memory_static_max"), arg_int(c, 1),
				 arg_int(c, 2), err))
		return NULL;
	set_limits(vm, db_int(vm, "memory_static_min"), db_int(vm, "memory_static_max"), arg_int(c, 1), arg_int(c, 2));
	return void_ok();
}

static struct xv *vm_set_memory_static_max(struct call *c, struct xv **err)
{
	struct obj *vm = the_vm(c, err);

	if (!vm || !halted_or_template(vm, err)
	    || !check_memory(db_int(vm, "memory_static_min"), arg_int(c, 1), db_int(vm, "memory_dynamic_min"),
			     db_int(vm, "memory_dynamic_max"), err))
		return NULL;
	db_set_int(vm, "memory_static_max", arg_int(c, 1));
	return void_ok();
}

/* The value of attribute name in one <disk .../> element (up to end), or "". */
static void disk_attr(const char *p, const char *end, const char *name, char *out, size_t n)
{
	char key[32];
	const char *a;

	snprintf(key, sizeof(key), " %s=\"", name);
	a = strstr(p, key);
	if (!a || a > end) {
		*out = '\0';
		return;
	}
	a += strlen(key);
	snprintf(out, n, "%.*s", (int)strcspn(a, "\""), a);
}

/* xapi's provision (xapi_vm.ml, xapi_templates.ml): the VM stops being a
 * template first, then each disk of other_config "disks" becomes a VDI
 * (named after its userdevice) on the SR whose uuid the disk names (an
 * empty or unknown one is UUID_INVALID: clients put the default SR's uuid
 * there) and a VBD; then "disks" goes. A failing disk stops it there: the
 * disks made so far stay, as in xapi. */
static struct xv *vm_provision(struct call *c, struct xv **err)
{
	struct obj *vm = the_vm(c, err);
	const char *disks;

	if (!vm || !halted_or_template(vm, err))
		return NULL;
	db_set_bool(vm, "is_a_template", false);
	disks = db_map_get(vm, "other_config", "disks");
	for (const char *p = disks ? strstr(disks, "<disk ") : NULL; p; p = strstr(p + 1, "<disk ")) {
		const char *end = strstr(p, "/>");
		char dev[16], size[32], uuid[64], boot[8], type[16];
		struct obj *sr, *vdi, *vbd;
		int64_t bytes;

		if (!end)
			end = p + strlen(p);
		disk_attr(p, end, "device", dev, sizeof(dev));
		disk_attr(p, end, "size", size, sizeof(size));
		disk_attr(p, end, "sr", uuid, sizeof(uuid));
		disk_attr(p, end, "bootable", boot, sizeof(boot));
		disk_attr(p, end, "type", type, sizeof(type));
		if (!*type)
			snprintf(type, sizeof(type), "system");
		if (!(sr = db_by_uuid(schema_class("SR"), uuid))) {
			*err = err_new("UUID_INVALID", "sr", uuid, NULL);
			return NULL;
		}
		bytes = strtoll(size, NULL, 10);
		/* VDI.create's own check (calls_storage.c), as provision goes through it */
		if (db_int(sr, "physical_size") > 0 && strcmp(db_str(sr, "content_type"), "iso") != 0
		    && db_int(sr, "physical_utilisation") + bytes / 4 > db_int(sr, "physical_size")) {
			*err = err_new("SR_BACKEND_FAILURE_44", "", "There is insufficient space", NULL);
			return NULL;
		}
		vdi = db_create_named("VDI");
		db_set_str(vdi, "name_label", dev);
		db_set_str(vdi, "name_description", "Created by template provisioner");
		db_set_ref(vdi, "SR", sr);
		db_set_int(vdi, "virtual_size", bytes);
		db_set_str(vdi, "type", type);
		db_set_bool(vdi, "managed", true);
		db_set_str(vdi, "location", db_str(vdi, "uuid"));
		db_map_put(vdi, "sm_config", "vmhint", db_str(vm, "uuid"));
		db_set(vdi, "allowed_operations", xv_copy(db_field(vdi, "allowed_operations")));
		sr_refresh_usage(sr);
		vbd = vm_add_vbd(vm, vdi, dev, "Disk", "RW", strcmp(boot, "true") == 0);
		db_set_bool(vbd, "unpluggable", strcmp(type, "system") != 0);
		db_map_put(vbd, "other_config", "owner", "");
	}
	db_map_del(vm, "other_config", "disks");
	return void_ok();
}

static struct xv *vm_allowed_devices(struct call *c, const char *field, int max, struct xv **err)
{
	struct obj *vm = the_vm(c, err);
	struct xv *out;
	const struct xv *devs;

	if (!vm)
		return NULL;
	out = xv_array();
	devs = db_field(vm, field);
	for (int d = 0; d < max; d++) {
		char n[12];
		bool used = false;
		snprintf(n, sizeof(n), "%d", d);
		for (size_t i = 0; i < xv_len(devs); i++) {
			struct obj *o = db_find(xv_str(xv_at(devs, i)));
			if (o && strcmp(db_str(o, strcmp(field, "VBDs") == 0 ? "userdevice" : "device"), n) == 0)
				used = true;
		}
		if (!used)
			xv_array_push(out, xv_string(n));
	}
	return out;
}

static struct xv *vm_allowed_vbd_devices(struct call *c, struct xv **err)
{
	return vm_allowed_devices(c, "VBDs", 16, err);
}

static struct xv *vm_allowed_vif_devices(struct call *c, struct xv **err)
{
	return vm_allowed_devices(c, "VIFs", 7, err);
}

static struct xv *vm_set_is_a_template(struct call *c, struct xv **err)
{
	struct obj *vm = the_vm(c, err);

	if (!vm)
		return NULL;
	if (arg_bool(c, 1) && !want_state(vm, "halted", err))
		return NULL;
	db_set_bool(vm, "is_a_template", arg_bool(c, 1));
	vm_refresh_ops(vm);
	return void_ok();
}

static struct xv *vm_query_services(struct call *c, struct xv **err)
{
	struct obj *vm = the_vm(c, err);
	struct xv *m;

	if (!vm)
		return NULL;
	m = xv_struct();
	xv_struct_add(m, "sshd", xv_string("OpenSSH server"));
	return m;
}

/* VM.assert_can_boot_here (xapi_vm.ml): host_can_run's checks, in xapi's
 * order (host enabled and live, the VM's SRs, memory). */
static struct xv *vm_assert_can_boot_here(struct call *c, struct xv **err)
{
	struct obj *vm = arg_obj(c, 0, "VM", err);
	struct obj *host = vm ? arg_obj(c, 1, "host", err) : NULL;

	return host && host_can_run(host, vm, err) ? void_ok() : NULL;
}

/* VM.get_possible_hosts (get_possible_hosts_for_vm): every host the VM
 * could boot on now; its scheduled host alone if it has one. */
static struct xv *vm_get_possible_hosts(struct call *c, struct xv **err)
{
	struct obj *vm = arg_obj(c, 0, "VM", err);
	struct obj *sched;
	struct xv *out;

	if (!vm)
		return NULL;
	out = xv_array();
	sched = db_ref(vm, "scheduled_to_be_resident_on");
	if (sched && strcmp(sched->cls->name, "host") == 0) {
		xv_array_push(out, xv_string(sched->ref));
		return out;
	}
	for (struct obj *h = db_first("host"); h; h = h->cnext) {
		struct xv *e = NULL;
		if (host_can_run(h, vm, &e))
			xv_array_push(out, xv_string(h->ref));
		xv_free(e);
	}
	return out;
}

/* xapi_vm.ml create: the record as given (checked as every create is), then
 * a mac_seed if none, metrics, domid -1, a domain_type derived from
 * HVM_boot_policy when unspecified, Halted (Suspended only with a
 * suspend_VDI, as XO restores a VM with memory), allowed operations. */
static struct xv *vm_create(struct call *c, struct xv **err)
{
	struct obj *vm = implicit_create(c, arg(c, 0), err);
	bool suspended;

	if (!vm)
		return NULL;
	if (!db_map_get(vm, "other_config", "mac_seed")) {
		char seed[37];
		db_new_uuid(seed);
		db_map_put(vm, "other_config", "mac_seed", seed);
	}
	if (strcmp(db_str(vm, "domain_type"), "unspecified") == 0 || !*db_str(vm, "domain_type"))
		db_set_str(vm, "domain_type", *db_str(vm, "HVM_boot_policy") ? "hvm" : "pv");
	suspended = strcmp(db_str(vm, "power_state"), "Suspended") == 0 && db_ref(vm, "suspend_VDI");
	if (!suspended)
		db_set_ref(vm, "suspend_VDI", NULL);
	db_set_int(vm, "domid", -1);
	vm_set_power(vm, suspended ? "Suspended" : "Halted", NULL);
	return xv_string(vm->ref);
}

const struct handler calls_vm[] = {
	{"VM.create", vm_create, 300, 0},
	{"VM.start", vm_start, 1500, 0},
	{"VM.start_on", vm_start_on, 1500, 0},
	{"VM.clean_shutdown", vm_clean_shutdown, 1500, 0},
	{"VM.hard_shutdown", vm_hard_shutdown, 500, 0},
	{"VM.clean_reboot", vm_clean_reboot, 2000, 0},
	{"VM.hard_reboot", vm_hard_reboot, 1000, 0},
	{"VM.suspend", vm_suspend, 1500, 0},
	{"VM.resume", vm_resume, 1500, 0},
	{"VM.resume_on", vm_resume_on, 1500, 0},
	{"VM.pause", vm_pause, 300, 0},
	{"VM.unpause", vm_unpause, 300, 0},
	{"VM.clone", vm_clone_, 800, 0},
	{"VM.copy", vm_copy, 3000, 0},
	{"VM.snapshot", vm_snapshot_, 1000, 0},
	{"VM.checkpoint", vm_checkpoint, 1500, 0},
	{"VM.revert", vm_revert, 1000, 0},
	{"VM.destroy", vm_destroy_, 500, 0},
	{"VM.pool_migrate", vm_pool_migrate, 2500, 0},
	{"VM.set_ha_restart_priority", ha_vm_set_restart_priority, 0, 0},
	{"VM.set_VCPUs_max", vm_set_vcpus_max, 0, 0},
	{"VM.set_VCPUs_at_startup", vm_set_vcpus_at_startup, 0, 0},
	{"VM.set_VCPUs_number_live", vm_set_vcpus_number_live, 500, 0},
	{"VM.set_memory", vm_set_memory, 500, 0},
	{"VM.set_memory_limits", vm_set_memory_limits, 500, 0},
	{"VM.set_memory_static_range", vm_set_memory_static_range, 500, 0},
	{"VM.set_memory_dynamic_range", vm_set_memory_dynamic_range, 500, 0},
	{"VM.set_memory_static_max", vm_set_memory_static_max, 0, 0},
	{"VM.provision", vm_provision, 1000, 0},
	{"VM.get_allowed_VBD_devices", vm_allowed_vbd_devices, 0, 0},
	{"VM.get_allowed_VIF_devices", vm_allowed_vif_devices, 0, 0},
	{"VM.set_is_a_template", vm_set_is_a_template, 0, 0},
	{"VM.query_services", vm_query_services, 500, 0},
	{"VM.assert_can_boot_here", vm_assert_can_boot_here, 0, 0},
	{"VM.get_possible_hosts", vm_get_possible_hosts, 0, 0},
	{NULL, NULL, 0, 0},
};
