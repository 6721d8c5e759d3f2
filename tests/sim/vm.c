#include "vm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cbtlog.h"
#include "sim.h"
#include "util.h"

static struct xv *ops(const char *first, ...)
{
	struct xv *a = xv_array();
	va_list ap;

	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *))
		xv_array_push(a, xv_string(s));
	va_end(ap);
	return a;
}

/* What xapi's allowed_operations shows for each state (the common ones). */
void vm_refresh_ops(struct obj *vm)
{
	const char *ps = db_str(vm, "power_state");
	struct xv *a;

	if (xv_len(db_field(vm, "current_operations")) > 0) {
		a = xv_array();
	} else if (db_bool(vm, "is_control_domain")) {
		a = ops("changing_memory_limits", "metadata_export", NULL);
	} else if (db_bool(vm, "is_a_snapshot")) {
		a = ops("revert", "clone", "copy", "export", "destroy", "metadata_export", "create_template", NULL);
	} else if (db_bool(vm, "is_a_template")) {
		a = ops("clone", "copy", "export", "provision", "destroy", "metadata_export", "changing_VCPUs",
			"changing_memory_limits", "changing_static_range", "changing_dynamic_range", NULL);
	} else if (strcmp(ps, "Halted") == 0) {
		a = ops("start", "start_on", "clone", "copy", "snapshot", "export", "destroy", "provision",
			"changing_VCPUs", "changing_memory_limits", "changing_static_range", "changing_dynamic_range",
			"changing_shadow_memory", "make_into_template", "metadata_export", "migrate_send", NULL);
	} else if (strcmp(ps, "Running") == 0) {
		a = ops("clean_shutdown", "clean_reboot", "hard_shutdown", "hard_reboot", "suspend", "pause",
			"snapshot", "checkpoint", "pool_migrate", "migrate_send", "changing_dynamic_range",
			"changing_VCPUs_live", "metadata_export", "send_sysrq", "send_trigger", NULL);
	} else if (strcmp(ps, "Paused") == 0) {
		a = ops("unpause", "hard_shutdown", "hard_reboot", "snapshot", "metadata_export", NULL);
	} else {
		a = ops("resume", "resume_on", "hard_shutdown", "clone", "copy", "snapshot", "export", "destroy",
			"metadata_export", NULL);
	}
	db_set(vm, "allowed_operations", a);
}

static struct obj *metrics_of(struct obj *vm)
{
	struct obj *m = db_ref(vm, "metrics");

	if (!m) {
		m = db_create_named("VM_metrics");
		db_set_ref(vm, "metrics", m);
		db_set_now(m, "install_time");
		db_set_str(m, "current_domain_type", "unspecified");
		db_set(m, "VCPUs_utilisation", xv_struct());
	}
	return m;
}

static struct obj *console_new(struct obj *vm, struct obj *host)
{
	struct obj *c = db_create_named("console");
	char loc[256];

	db_set_str(c, "protocol", "rfb");
	db_set_ref(c, "VM", vm);
	if (db_bool(vm, "is_control_domain"))
		snprintf(loc, sizeof(loc), "%s://%s/console?ref=%s", sim.tls ? "https" : "http",
			 db_str(host, "address"), c->ref);
	else
		snprintf(loc, sizeof(loc), "%s://%s/console?uuid=%s", sim.tls ? "https" : "http",
			 db_str(host, "address"), db_str(c, "uuid"));
	db_set_str(c, "location", loc);
	return c;
}

static void drop_consoles(struct obj *vm)
{
	struct xv *cs = xv_copy(db_field(vm, "consoles"));

	for (size_t i = 0; i < xv_len(cs); i++) {
		struct obj *c = db_find(xv_str(xv_at(cs, i)));
		if (c)
			db_delete(c);
	}
	xv_free(cs);
}

static void set_devices_attached(struct obj *vm, const char *field, bool attached)
{
	const struct xv *devs = db_field(vm, field);

	for (size_t i = 0; i < xv_len(devs); i++) {
		struct obj *d = db_find(xv_str(xv_at(devs, i)));
		if (d && db_bool(d, "currently_attached") != attached)
			db_set_bool(d, "currently_attached", attached);
	}
}

void vm_set_power(struct obj *vm, const char *state, struct obj *host)
{
	struct obj *m = metrics_of(vm);
	struct obj *old_host = db_ref(vm, "resident_on");
	bool live = strcmp(state, "Running") == 0 || strcmp(state, "Paused") == 0;
	bool was_live = old_host != NULL;
	int64_t vcpus = db_int(vm, "VCPUs_at_startup");

	db_set_str(vm, "power_state", state);
	db_set_ref(vm, "resident_on", live ? host : NULL);
	db_set_ref(vm, "scheduled_to_be_resident_on", NULL);
	if (live && !was_live) {
		static int next_domid = 1;
		struct xv *util = xv_struct();
		db_set_int(vm, "domid", next_domid++);
		db_set_now(m, "start_time");
		db_set_int(m, "memory_actual", db_int(vm, "memory_dynamic_max"));
		db_set_int(m, "VCPUs_number", vcpus);
		for (int64_t i = 0; i < vcpus; i++) {
			char k[24];
			snprintf(k, sizeof(k), "%lld", (long long)i);
			xv_struct_add(util, k, xv_double(0.05));
		}
		db_set(m, "VCPUs_utilisation", util);
		db_set_str(m, "current_domain_type", db_str(vm, "domain_type"));
		drop_consoles(vm);
		console_new(vm, host);
	} else if (live && old_host != host) {
		drop_consoles(vm);
		console_new(vm, host);
	}
	if (!live) {
		db_set_int(vm, "domid", -1);
		db_set_int(m, "memory_actual", strcmp(state, "Suspended") == 0 ? db_int(vm, "memory_dynamic_max") : 0);
		db_set_int(m, "VCPUs_number", 0);
		db_set(m, "VCPUs_utilisation", xv_struct());
		db_set_str(m, "current_domain_type", "unspecified");
		drop_consoles(vm);
		if (strcmp(state, "Halted") == 0 && db_ref(vm, "guest_metrics")) {
			struct obj *g = db_ref(vm, "guest_metrics");
			db_set_ref(vm, "guest_metrics", NULL);
			db_delete(g);
		}
	}
	db_set(m, "state", xv_array()); /* a string set, empty as xapi leaves it */
	db_set_now(m, "last_updated");
	set_devices_attached(vm, "VBDs", live);
	set_devices_attached(vm, "VIFs", live);
	vm_refresh_ops(vm);
	if (old_host)
		host_refresh_memory(old_host);
	if (live && host && host != old_host)
		host_refresh_memory(host);
}

struct obj *vm_add_vbd(struct obj *vm, struct obj *vdi, const char *userdevice, const char *type, const char *mode,
		       bool bootable)
{
	struct obj *vbd = db_create_named("VBD");
	bool cd = strcmp(type, "CD") == 0;

	db_set_ref(vbd, "VM", vm);
	db_set_ref(vbd, "VDI", vdi);
	db_set_str(vbd, "userdevice", userdevice);
	db_set_str(vbd, "device", cd ? "xvdd" : strcmp(userdevice, "0") == 0 ? "xvda" : "xvdb");
	db_set_str(vbd, "type", type);
	db_set_str(vbd, "mode", mode);
	db_set_bool(vbd, "bootable", bootable);
	db_set_bool(vbd, "empty", vdi == NULL);
	db_set_bool(vbd, "unpluggable", true);
	db_set_bool(vbd, "storage_lock", false);
	db_set_bool(vbd, "currently_attached", db_ref(vm, "resident_on") != NULL);
	db_set(vbd, "allowed_operations",
	       cd ? ops(vdi ? "eject" : "insert", "attach", "unpause", "pause", NULL) : ops("attach", "unpause", "pause", NULL));
	return vbd;
}

struct obj *vm_add_vif(struct obj *vm, struct obj *net, const char *device, const char *mac)
{
	struct obj *vif = db_create_named("VIF");

	db_set_str(vif, "device", device);
	db_set_ref(vif, "network", net);
	db_set_ref(vif, "VM", vm);
	db_set_str(vif, "MAC", mac);
	db_set_int(vif, "MTU", 1500);
	db_set_bool(vif, "MAC_autogenerated", true);
	db_set_bool(vif, "currently_attached", db_ref(vm, "resident_on") != NULL);
	db_set_str(vif, "locking_mode", "network_default");
	db_set(vif, "allowed_operations", ops("attach", "unplug", NULL));
	return vif;
}

/* What xapi_vm_clone.ml's copy_vm_record keeps of the VM record for a
 * clone, copy or snapshot; blocked_operations, ha_always_run, appliance,
 * protection policy and start order start empty, as there. */
static void copy_settings(struct obj *dst, const struct obj *src)
{
	static const char *const fields[] = {
		"name_description", "VCPUs_max", "VCPUs_at_startup", "VCPUs_params", "memory_static_max",
		"memory_dynamic_max", "memory_dynamic_min", "memory_static_min", "memory_target", "memory_overhead",
		"HVM_boot_policy", "HVM_boot_params", "HVM_shadow_multiplier", "platform", "other_config",
		"domain_type", "actions_after_shutdown", "actions_after_reboot", "actions_after_crash",
		"actions_after_softreboot", "user_version", "recommendations", "has_vendor_device", "tags",
		"PV_kernel", "PV_ramdisk", "PV_args", "PV_bootloader", "PV_bootloader_args", "PV_legacy_args",
		"PCI_bus", "NVRAM", "hardware_platform_version", "xenstore_data", "last_boot_CPU_flags",
		"last_booted_record", "ha_restart_priority", "bios_strings", "reference_label",
		"secureboot_certificates_state",
	};
	for (size_t i = 0; i < ARRAY_LEN(fields); i++)
		db_set(dst, fields[i], xv_copy(db_field(src, fields[i])));
	db_set_ref(dst, "affinity", db_ref(src, "affinity"));
	db_set_bool(dst, "is_default_template", false);
	db_set_bool(dst, "ha_always_run", false);
	/* other_config: never a default or internal template's marks; a
	 * template's copy remembers the template's name */
	db_map_del(dst, "other_config", "default_template");
	db_map_del(dst, "other_config", "xensource_internal");
	if (db_bool(src, "is_a_template") && !db_map_get(dst, "other_config", "base_template_name"))
		db_map_put(dst, "other_config", "base_template_name", db_str(src, "name_label"));
}

static struct obj *vdi_copy(struct obj *vdi, struct obj *sr, const char *suffix, bool as_snapshot)
{
	struct obj *n = db_create_named("VDI");
	char label[256];

	snprintf(label, sizeof(label), "%s%s", db_str(vdi, "name_label"), suffix);
	db_set_str(n, "name_label", label);
	db_set_str(n, "name_description", db_str(vdi, "name_description"));
	db_set_ref(n, "SR", sr ? sr : db_ref(vdi, "SR"));
	db_set_int(n, "virtual_size", db_int(vdi, "virtual_size"));
	db_set_int(n, "physical_utilisation", db_int(vdi, "physical_utilisation"));
	db_set_str(n, "type", db_str(vdi, "type"));
	db_set_bool(n, "read_only", db_bool(vdi, "read_only"));
	db_set_bool(n, "managed", true);
	db_set(n, "sm_config", xv_copy(db_field(vdi, "sm_config")));
	db_set(n, "allowed_operations", xv_copy(db_field(vdi, "allowed_operations")));
	db_set_str(n, "location", db_str(n, "uuid"));
	if (as_snapshot) {
		db_set_bool(n, "is_a_snapshot", true);
		db_set_ref(n, "snapshot_of", vdi);
		db_set_now(n, "snapshot_time");
		cbtlog_snapshot(vdi, n);
	}
	/* the copy starts with the same bytes */
	db_map_put(n, "other_config", "content_of", db_map_get(vdi, "other_config", "content_of")
							     ? db_map_get(vdi, "other_config", "content_of")
							     : db_str(vdi, "uuid"));
	sr_refresh_usage(db_ref(n, "SR"));
	return n;
}

static bool in_refs(const struct xv *refs, const struct obj *o)
{
	for (size_t i = 0; o && i < xv_len(refs); i++)
		if (xv_str(xv_at(refs, i)) && strcmp(xv_str(xv_at(refs, i)), o->ref) == 0)
			return true;
	return false;
}

/* xapi_vif_helpers.ml's copy: a snapshot (and a revert) keeps the MAC
 * (preserve_mac_address, as xapi_vm_clone.ml and xapi_vm_snapshot.ml ask);
 * a clone or copy passes "" and VIF.create derives a new one from the new
 * VM's mac_seed, so MAC_autogenerated is true only then. */
struct obj *vif_copy(struct obj *dst, const struct obj *vif, bool preserve_mac)
{
	static const char *const fields[] = {
		"MTU", "other_config", "qos_algorithm_type", "qos_algorithm_params", "locking_mode", "ipv4_allowed",
		"ipv6_allowed", "ipv4_configuration_mode", "ipv4_addresses", "ipv4_gateway", "ipv6_configuration_mode",
		"ipv6_addresses", "ipv6_gateway", "trunks",
	};
	const char *seed = db_map_get(dst, "other_config", "mac_seed");
	char mac[18];
	struct obj *n;

	if (preserve_mac || !seed)
		snprintf(mac, sizeof(mac), "%s", db_str(vif, "MAC"));
	else
		vif_gen_mac(seed, atoi(db_str(vif, "device")), mac);
	n = vm_add_vif(dst, db_ref(vif, "network"), db_str(vif, "device"), mac);
	for (size_t i = 0; i < ARRAY_LEN(fields); i++)
		db_set(n, fields[i], xv_copy(db_field(vif, fields[i])));
	db_set_bool(n, "MAC_autogenerated", !preserve_mac && seed);
	db_set_bool(n, "currently_attached", false);
	return n;
}

/* Clones vm's disks and devices onto dst (a clone, copy or snapshot),
 * leaving out the disks in ignore. */
static void copy_devices(struct obj *dst, struct obj *src, struct obj *sr, bool snapshot, const struct xv *ignore)
{
	struct xv *vbds = xv_copy(db_field(src, "VBDs"));
	struct xv *vifs = xv_copy(db_field(src, "VIFs"));

	for (size_t i = 0; i < xv_len(vbds); i++) {
		struct obj *vbd = db_find(xv_str(xv_at(vbds, i)));
		struct obj *vdi = vbd ? db_ref(vbd, "VDI") : NULL;
		bool cd = vbd && strcmp(db_str(vbd, "type"), "CD") == 0;
		struct obj *nv = NULL;

		if (!vbd || (vdi && !cd && in_refs(ignore, vdi)))
			continue;
		if (vdi && !cd)
			nv = vdi_copy(vdi, sr, snapshot ? "" : "", snapshot);
		else if (vdi)
			nv = vdi; /* an ISO stays the same ISO */
		{
			struct obj *n = vm_add_vbd(dst, nv, db_str(vbd, "userdevice"), db_str(vbd, "type"),
						   db_str(vbd, "mode"), db_bool(vbd, "bootable"));
			db_set_str(n, "device", db_str(vbd, "device"));
			db_set_bool(n, "currently_attached", false);
			db_set_bool(n, "unpluggable", db_bool(vbd, "unpluggable"));
			db_set(n, "other_config", xv_copy(db_field(vbd, "other_config")));
			db_set_str(n, "qos_algorithm_type", db_str(vbd, "qos_algorithm_type"));
			db_set(n, "qos_algorithm_params", xv_copy(db_field(vbd, "qos_algorithm_params")));
			/* xapi_vm_clone.ml (CA-58405): the new VM owns its disks */
			if (!cd && !db_map_get(n, "other_config", "owner"))
				db_map_put(n, "other_config", "owner", "");
		}
	}
	for (size_t i = 0; i < xv_len(vifs); i++) {
		struct obj *vif = db_find(xv_str(xv_at(vifs, i)));
		if (vif)
			vif_copy(dst, vif, snapshot);
	}
	xv_free(vbds);
	xv_free(vifs);
}

struct obj *vm_clone(struct obj *vm, const char *name, struct obj *sr)
{
	struct obj *n = db_create_named("VM");
	struct obj *sv = db_ref(vm, "suspend_VDI");
	/* xapi_vm.ml: a suspended VM's clone or copy stays suspended (its
	 * memory image copied too); a snapshot's comes out halted */
	bool suspended = !db_bool(vm, "is_a_snapshot") && strcmp(db_str(vm, "power_state"), "Suspended") == 0;

	db_set_str(n, "name_label", name);
	copy_settings(n, vm);
	/* is_a_template as the source's: a clone of a snapshot is a template */
	db_set_bool(n, "is_a_template", db_bool(vm, "is_a_template"));
	db_set_str(n, "power_state", suspended ? "Suspended" : "Halted");
	db_set_int(n, "domid", -1);
	db_map_put(n, "other_config", "mac_seed", db_str(n, "uuid"));
	metrics_of(n);
	copy_devices(n, vm, sr, false, NULL);
	if (suspended && sv)
		db_set_ref(n, "suspend_VDI", vdi_copy(sv, sr, "", false));
	vm_refresh_ops(n);
	return n;
}

struct obj *vm_snapshot(struct obj *vm, const char *name, bool with_memory, const struct xv *ignore)
{
	struct obj *s = db_create_named("VM");
	const char *was = db_str(vm, "power_state");
	struct xv *info = xv_struct();

	db_set_str(s, "name_label", name);
	copy_settings(s, vm);
	db_set_bool(s, "is_a_template", true);
	db_set_bool(s, "is_a_snapshot", true);
	db_set_ref(s, "snapshot_of", vm);
	db_set_now(s, "snapshot_time");
	db_set_str(s, "power_state",
		   with_memory && (strcmp(was, "Running") == 0 || strcmp(was, "Suspended") == 0) ? "Suspended" : "Halted");
	db_set_int(s, "domid", -1);
	db_set_str(s, "transportable_snapshot_id", "");
	/* xapi_vm_clone.ml's snapshot_info */
	xv_struct_add(info, "disk-snapshot-type", xv_string("crash_consistent"));
	xv_struct_add(info, "power-state-at-snapshot", xv_string(was));
	db_set(s, "snapshot_info", info);
	metrics_of(s);
	copy_devices(s, vm, NULL, true, ignore);
	/* the snapshot tree: the new snapshot takes the VM's parent and
	 * becomes the VM's parent (copy_vm_record, then VM.set_parent) */
	db_set_ref(s, "parent", db_ref(vm, "parent"));
	db_set_ref(vm, "parent", s);
	vm_refresh_ops(s);
	db_touch(vm);
	return s;
}

struct obj *vm_make_dom0(struct obj *host)
{
	struct obj *vm = db_create_named("VM");
	char name[128];

	snprintf(name, sizeof(name), "Control domain on host: %s", db_str(host, "name_label"));
	db_set_str(vm, "name_label", name);
	db_set_str(vm, "name_description", "The domain which manages physical devices and manages other domains");
	db_set_bool(vm, "is_control_domain", true);
	db_set_int(vm, "VCPUs_max", 16);
	db_set_int(vm, "VCPUs_at_startup", 16);
	db_set_int(vm, "memory_static_max", 8LL << 30);
	db_set_int(vm, "memory_dynamic_max", 8LL << 30);
	db_set_int(vm, "memory_dynamic_min", 8LL << 30);
	db_set_int(vm, "memory_static_min", 4LL << 30);
	db_set_int(vm, "memory_target", 8LL << 30);
	db_set_str(vm, "domain_type", "pv");
	db_set_str(vm, "actions_after_shutdown", "destroy");
	db_set_str(vm, "actions_after_reboot", "restart");
	db_set_str(vm, "actions_after_crash", "restart");
	db_set(vm, "other_config", xv_struct());
	db_set_ref(host, "control_domain", vm);
	vm_set_power(vm, "Running", host);
	db_set_int(vm, "domid", 0);
	return vm;
}

void vm_destroy(struct obj *vm, bool with_disks)
{
	struct xv *vbds = xv_copy(db_field(vm, "VBDs"));
	struct xv *vifs = xv_copy(db_field(vm, "VIFs"));
	struct xv *snaps = xv_copy(db_field(vm, "snapshots"));
	struct obj *m = db_ref(vm, "metrics"), *g = db_ref(vm, "guest_metrics");

	for (size_t i = 0; i < xv_len(vbds); i++) {
		struct obj *vbd = db_find(xv_str(xv_at(vbds, i)));
		struct obj *vdi = vbd ? db_ref(vbd, "VDI") : NULL;
		bool cd;
		if (!vbd)
			continue;
		cd = strcmp(db_str(vbd, "type"), "CD") == 0;
		db_delete(vbd);
		/* an ISO in the drive is not the VM's disk */
		if (with_disks && vdi && !cd && xv_len(db_field(vdi, "VBDs")) == 0) {
			struct obj *sr = db_ref(vdi, "SR");
			db_delete(vdi);
			if (sr)
				sr_refresh_usage(sr);
		}
	}
	for (size_t i = 0; i < xv_len(vifs); i++) {
		struct obj *vif = db_find(xv_str(xv_at(vifs, i)));
		if (vif)
			db_delete(vif);
	}
	/* snapshots outlive their VM in xapi; they just lose snapshot_of */
	for (size_t i = 0; i < xv_len(snaps); i++) {
		struct obj *s = db_find(xv_str(xv_at(snaps, i)));
		if (s)
			db_set_ref(s, "snapshot_of", NULL);
	}
	drop_consoles(vm);
	db_delete(vm);
	if (m)
		db_delete(m);
	if (g)
		db_delete(g);
	xv_free(vbds);
	xv_free(vifs);
	xv_free(snaps);
}

bool host_sees_sr(const struct obj *host, const struct obj *sr)
{
	const struct xv *pbds = db_field(host, "PBDs");

	for (size_t i = 0; sr && i < xv_len(pbds); i++) {
		struct obj *pbd = db_find(xv_str(xv_at(pbds, i)));
		if (pbd && db_ref(pbd, "SR") == sr && db_bool(pbd, "currently_attached"))
			return true;
	}
	return false;
}

struct obj *vm_unseen_sr(const struct obj *vm, const struct obj *host)
{
	const struct xv *vbds = db_field(vm, "VBDs");
	struct obj *sv;

	for (size_t i = 0; i < xv_len(vbds); i++) {
		struct obj *vbd = db_find(xv_str(xv_at(vbds, i)));
		struct obj *vdi = vbd && !db_bool(vbd, "empty") ? db_ref(vbd, "VDI") : NULL;
		struct obj *sr = vdi ? db_ref(vdi, "SR") : NULL;
		if (sr && !host_sees_sr(host, sr))
			return sr;
	}
	sv = strcmp(db_str(vm, "power_state"), "Suspended") == 0 ? db_ref(vm, "suspend_VDI") : NULL;
	if (sv && db_ref(sv, "SR") && !host_sees_sr(host, db_ref(sv, "SR")))
		return db_ref(sv, "SR");
	return NULL;
}

/* MD5, as OCaml's Digest.string. */
static void md5(const void *p, size_t n, unsigned char out[16])
{
	unsigned int len = 16;

	EVP_Digest(p, n, out, &len, EVP_md5(), NULL);
}

void vif_gen_mac(const char *seed, int dev, char out[18])
{
	unsigned char h[16], h2[16];

	/* chain (dev * 2) hash seed: MD5 applied dev*2 times, then once more */
	md5(seed, strlen(seed), h);
	for (int i = 0; i < dev * 2; i++)
		md5(h, sizeof(h), h);
	md5(h, sizeof(h), h2);
	/* Record_util.mac_from_int_array: locally administered, unicast */
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", (unsigned)((h[0] | 0x2) & ~0x1u), h[1], h[2], h[3], h2[1], h2[2]);
}

int64_t host_free_memory(const struct obj *host)
{
	struct obj *m = db_ref(host, "metrics");
	int64_t total = m ? db_int(m, "memory_total") : 0;
	int64_t used = db_int(host, "memory_overhead");
	const struct xv *rs = db_field(host, "resident_VMs");

	for (size_t i = 0; i < xv_len(rs); i++) {
		struct obj *vm = db_find(xv_str(xv_at(rs, i)));
		if (vm)
			used += db_int(vm, "memory_dynamic_max") + db_int(vm, "memory_overhead");
	}
	return total > used ? total - used : 0;
}

void host_refresh_memory(struct obj *host)
{
	struct obj *m = db_ref(host, "metrics");

	if (m) {
		db_set_int(m, "memory_free", host_free_memory(host));
		db_set_now(m, "last_updated");
	}
}

/* sr_refresh_usage runs after every VDI made, over every VDI of the SR, so
 * making a pool with thousands of disks was quadratic in ref lookups. Each
 * SR's VDIs set is remembered as (set item -> object): a refresh after an
 * append looks up only the new refs. Any deletion in the database (the
 * tombstone list moves) forgets everything, as an object may be gone. */
struct sr_usage_memo {
	const struct obj *sr;
	const struct xv *set;
	const struct xv **items;
	struct obj **objs;
	size_t n, cap;
};
static struct sr_usage_memo *memos;
static size_t nmemos;
static const struct tomb *memo_tombs;
static uint64_t memo_gen;

static struct sr_usage_memo *memo_of(const struct obj *sr, const struct xv *set)
{
	struct sr_usage_memo *m = NULL;

	/* a generation going back means the database was made anew */
	if (db.tombs != memo_tombs || db.gen < memo_gen) {
		for (size_t i = 0; i < nmemos; i++) {
			free(memos[i].items);
			free(memos[i].objs);
		}
		free(memos);
		memos = NULL;
		nmemos = 0;
		memo_tombs = db.tombs;
	}
	memo_gen = db.gen;
	for (size_t i = 0; i < nmemos && !m; i++)
		if (memos[i].sr == sr)
			m = &memos[i];
	if (!m) {
		memos = xrealloc(memos, (nmemos + 1) * sizeof(*memos));
		m = &memos[nmemos++];
		memset(m, 0, sizeof(*m));
		m->sr = sr;
	}
	if (m->set != set) {
		m->set = set;
		m->n = 0;
	}
	return m;
}

void sr_refresh_usage(struct obj *sr)
{
	const struct xv *vdis = db_field(sr, "VDIs");
	const struct cls *k = schema_class("VDI");
	int fv = schema_field(k, "virtual_size"), fp = schema_field(k, "physical_utilisation");
	struct sr_usage_memo *m = memo_of(sr, vdis);
	size_t n = xv_len(vdis);
	int64_t virt = 0, phys = 0;

	if (n > m->cap) {
		m->cap = n * 2;
		m->items = xrealloc(m->items, m->cap * sizeof(*m->items));
		m->objs = xrealloc(m->objs, m->cap * sizeof(*m->objs));
	}
	for (size_t i = 0; i < n; i++) {
		const struct xv *item = xv_at(vdis, i);
		struct obj *v;
		int64_t n64;
		/* an item freed and its memory reused holds another ref: check it */
		if (i < m->n && m->items[i] == item && m->objs[i] && strcmp(m->objs[i]->ref, xv_str(item)) == 0) {
			v = m->objs[i];
		} else {
			v = db_find(xv_str(item));
			m->items[i] = item;
			m->objs[i] = v;
		}
		if (v && v->cls == k) {
			if (xv_get_int64(v->f[fv], &n64))
				virt += n64;
			if (xv_get_int64(v->f[fp], &n64))
				phys += n64;
		}
	}
	m->n = n;
	db_set_int(sr, "virtual_allocation", virt);
	db_set_int(sr, "physical_utilisation", phys);
}
