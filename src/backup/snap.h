/* The snapshot a backup takes of a VM: disks named [NOBAK] left out, marked
 * in other_config as Xen Orchestra marks its own (xo:backup:job, :schedule,
 * :vm, :datetime) so only this job's snapshots are ever removed by it. */
#ifndef XENTUI_BACKUP_SNAP_H
#define XENTUI_BACKUP_SNAP_H

#include "run.h"

/* VM.snapshot of v's VM named "<vm> (<job>) <ts>", marked; its ref, or
 * NULL with *err (a sentence). An unmarked snapshot is removed at once. */
char *snap_take(struct run_vm *v, char **err);
/* The VDIs of vm whose name holds [NOBAK] (an array of refs). */
struct xv *snap_nobak_disks(struct bx *b, const char *vm);

#endif
