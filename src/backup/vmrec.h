/* New objects built from the records of others, as Xen Orchestra's
 * importDeltaVm does: a VM, its VDIs, VBDs and VIFs made from a snapshot's
 * records (replication, mode_replicate.c) or from a delta point's
 * (restore.c). One list of the fields each constructor takes, one place. */
#ifndef XENTUI_BACKUP_VMREC_H
#define XENTUI_BACKUP_VMREC_H

#include "bxapi.h"
#include "value.h"

#define VMREC_IMPORTING "Importing\xe2\x80\xa6" /* XO's mark while disks are written */

/* other_config of rec without a backup's marks (xo:backup:*, xo:base_delta_vdi). */
struct xv *vmrec_clean_oc(const struct xv *rec);

/* A halted VM from src (a VM record), named label, with other_config oc
 * (taken), its start blocked as XO blocks it during an import; the
 * constructor's own devices removed. Its ref, or NULL with *err. */
char *vmrec_create_vm(struct bx *b, const struct xv *src, const char *label, struct xv *oc, char **err);
/* A VDI on sr from src (a VDI record), with other_config oc (taken). */
char *vmrec_create_vdi(struct bx *b, const struct xv *src, const char *label, const char *sr, struct xv *oc,
		       char **err);
/* vdi attached to vm as src (a VBD record) was to its VM. */
char *vmrec_create_vbd(struct bx *b, const struct xv *src, const char *vm, const char *vdi, char **err);
/* vm's interface on network as src (a VIF record). */
char *vmrec_create_vif(struct bx *b, const struct xv *src, const char *vm, const char *network, char **err);

#endif
