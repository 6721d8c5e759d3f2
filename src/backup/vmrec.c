/* The records of new VMs, VDIs, VBDs and VIFs from those of others: what
 * each constructor takes (xapi's *.create), references that cannot travel
 * set to NULL, a backup's marks left behind. */
#include "vmrec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bkutil.h"
#include "util.h"

#define NULLREF "OpaqueRef:NULL"

static const char *const vm_fields[] = {
	"name_description", "user_version", "memory_target", "memory_static_max", "memory_dynamic_max",
	"memory_dynamic_min", "memory_static_min", "VCPUs_params", "VCPUs_max", "VCPUs_at_startup",
	"actions_after_softreboot", "actions_after_shutdown", "actions_after_reboot", "actions_after_crash",
	"PV_bootloader", "PV_kernel", "PV_ramdisk", "PV_args", "PV_bootloader_args", "PV_legacy_args",
	"HVM_boot_policy", "HVM_boot_params", "HVM_shadow_multiplier", "platform", "PCI_bus", "other_config",
	"recommendations", "xenstore_data", "tags", "start_delay", "shutdown_delay", "order", "version",
	"hardware_platform_version", "has_vendor_device", "reference_label", "domain_type", "NVRAM", NULL};
/* references to objects of the source pool: none on the new VM */
static const char *const vm_null[] = {"affinity", "suspend_VDI", "protection_policy", "snapshot_schedule",
				      "appliance", "suspend_SR", NULL};
static const char *const vdi_fields[] = {"name_label", "name_description", "virtual_size", "sharable", "read_only",
					 "other_config", "xenstore_data", "tags", NULL};
static const char *const vbd_fields[] = {"userdevice", "bootable", "mode", "type", "unpluggable",
					 "other_config", "qos_algorithm_type", "qos_algorithm_params", NULL};
static const char *const vif_fields[] = {"device", "MAC", "MTU", "other_config", "qos_algorithm_type",
					 "qos_algorithm_params", "locking_mode", "ipv4_allowed", "ipv6_allowed", NULL};

static struct xv *pick(const struct xv *rec, const char *const *fields)
{
	struct xv *out = xv_struct();

	for (size_t i = 0; fields[i]; i++)
		if (xv_struct_get(rec, fields[i]))
			xv_struct_add(out, fields[i], xv_copy(xv_struct_get(rec, fields[i])));
	return out;
}

static char *create(struct bx *b, const char *cls, struct xv *rec, char **err)
{
	char m[32];
	struct xv *p = xv_array();

	snprintf(m, sizeof(m), "%s.create", cls);
	xv_array_push(p, rec);
	return bx_call_str(b, m, p, err);
}

struct xv *vmrec_clean_oc(const struct xv *rec)
{
	const struct xv *oc = xv_struct_get(rec, "other_config");
	struct xv *out = xv_struct();

	for (size_t i = 0; i < xv_len(oc); i++) {
		const char *k = xv_key_at(oc, i);
		if (k && strncmp(k, "xo:backup:", 10) != 0 && strcmp(k, "xo:base_delta_vdi") != 0)
			xv_struct_add(out, k, xv_copy(xv_value_at(oc, i)));
	}
	return out;
}

char *vmrec_create_vm(struct bx *b, const struct xv *src, const char *label, struct xv *oc, char **err)
{
	struct xv *rec = pick(src, vm_fields), *bo = xv_struct(), *vbds;
	char *vm, *e = NULL;

	xv_struct_set(rec, "other_config", oc);
	for (size_t i = 0; vm_null[i]; i++)
		xv_struct_set(rec, vm_null[i], xv_string(NULLREF));
	xv_struct_set(rec, "name_label", xv_string(label));
	xv_struct_set(rec, "is_a_template", xv_bool(false));
	xv_struct_set(rec, "ha_always_run", xv_bool(false));
	xv_struct_set(rec, "ha_restart_priority", xv_string(""));
	xv_struct_set(rec, "power_state", xv_string("Halted"));
	/* nobody starts it while its disks are being written */
	xv_struct_add(bo, "start", xv_string(VMREC_IMPORTING));
	xv_struct_add(bo, "start_on", xv_string(VMREC_IMPORTING));
	xv_struct_set(rec, "blocked_operations", bo);
	if (!xv_struct_get(rec, "user_version"))
		xv_struct_set(rec, "user_version", xv_int(1));
	if (!(vm = create(b, "VM", rec, err)))
		return NULL;
	/* the constructor may add devices of its own (a template's CD) */
	vbds = bk_call(b, "VM.get_VBDs", &e, vm, (char *)NULL);
	free(e);
	for (size_t i = 0; i < xv_len(vbds); i++)
		bk_call_quiet(b, "VBD.destroy", xv_str(xv_at(vbds, i)), (char *)NULL);
	xv_free(vbds);
	return vm;
}

char *vmrec_create_vdi(struct bx *b, const struct xv *src, const char *label, const char *sr, struct xv *oc,
		       char **err)
{
	struct xv *rec = pick(src, vdi_fields);

	if (label)
		xv_struct_set(rec, "name_label", xv_string(label));
	xv_struct_set(rec, "SR", xv_string(sr));
	xv_struct_set(rec, "type", xv_string("user"));
	xv_struct_set(rec, "other_config", oc);
	return create(b, "VDI", rec, err);
}

char *vmrec_create_vbd(struct bx *b, const struct xv *src, const char *vm, const char *vdi, char **err)
{
	struct xv *rec = pick(src, vbd_fields);

	xv_struct_set(rec, "VM", xv_string(vm));
	xv_struct_set(rec, "VDI", xv_string(vdi));
	xv_struct_set(rec, "empty", xv_bool(false));
	return create(b, "VBD", rec, err);
}

char *vmrec_create_vif(struct bx *b, const struct xv *src, const char *vm, const char *network, char **err)
{
	struct xv *rec = pick(src, vif_fields);

	xv_struct_set(rec, "VM", xv_string(vm));
	xv_struct_set(rec, "network", xv_string(network));
	return create(b, "VIF", rec, err);
}
