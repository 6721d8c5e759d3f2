/* VM, host and storage rules shared by the generator and the calls:
 * power states, allowed operations, memory accounting, devices. */
#ifndef SIM_VM_H
#define SIM_VM_H

#include <stdbool.h>

#include "db.h"

void vm_refresh_ops(struct obj *vm);
/* Moves vm to a power state, resident on host (NULL when not running). */
void vm_set_power(struct obj *vm, const char *state, struct obj *host);
struct obj *vm_add_vbd(struct obj *vm, struct obj *vdi, const char *userdevice, const char *type, const char *mode,
		       bool bootable);
struct obj *vm_add_vif(struct obj *vm, struct obj *net, const char *device, const char *mac);
/* A copy of vif on dst, with its MAC (preserve_mac) or a new one from
 * dst's mac_seed (xapi_vif_helpers.ml's copy). */
struct obj *vif_copy(struct obj *dst, const struct obj *vif, bool preserve_mac);
/* A Halted copy with its own disks (clone, copy; sr NULL: the same SRs). */
struct obj *vm_clone(struct obj *vm, const char *name, struct obj *sr);
/* A snapshot; its disks are copies (copy-on-write) of vm's as they are
 * now, except the VDIs in the ref set ignore (may be NULL), which are left
 * out with their VBDs, as VM.snapshot's ignore_vdis does. */
struct obj *vm_snapshot(struct obj *vm, const char *name, bool with_memory, const struct xv *ignore);
struct obj *vm_make_dom0(struct obj *host);
void vm_destroy(struct obj *vm, bool with_disks);

/* Whether host has a plugged PBD for sr (xapi_vm_helpers.ml's test of
 * whether a host can see an SR). */
bool host_sees_sr(const struct obj *host, const struct obj *sr);
/* The first SR vm needs that host cannot see, or NULL: the SRs of its
 * non-empty VBDs' VDIs, and of its suspend image when Suspended, as
 * xapi_vm_helpers.ml's assert_can_see_SRs gathers them. */
struct obj *vm_unseen_sr(const struct obj *vm, const struct obj *host);
/* The MAC xapi gives a VIF of device dev on a VM whose other_config
 * mac_seed is seed (xapi_vif_helpers.ml's gen_mac). */
void vif_gen_mac(const char *seed, int dev, char out[18]);

int64_t host_free_memory(const struct obj *host);
void host_refresh_memory(struct obj *host);
void sr_refresh_usage(struct obj *sr);

#endif
