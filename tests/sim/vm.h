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
/* A Halted copy with its own disks (clone, copy; sr NULL: the same SRs). */
struct obj *vm_clone(struct obj *vm, const char *name, struct obj *sr);
/* A snapshot; its disks are copies (copy-on-write) of vm's as they are
 * now, except the VDIs in the ref set ignore (may be NULL), which are left
 * out with their VBDs, as VM.snapshot's ignore_vdis does. */
struct obj *vm_snapshot(struct obj *vm, const char *name, bool with_memory, const struct xv *ignore);
struct obj *vm_make_dom0(struct obj *host);
void vm_destroy(struct obj *vm, bool with_disks);

int64_t host_free_memory(const struct obj *host);
void host_refresh_memory(struct obj *host);
void sr_refresh_usage(struct obj *sr);

#endif
