/* Changed-block tracking as xapi and the sm drivers offer it: VDI.enable_cbt,
 * disable_cbt, list_changed_blocks (a base64 bitmap, one bit per 64 KiB,
 * most significant bit first), data_destroy (the snapshot becomes
 * cbt_metadata), and get_nbd_info (nbdexport.c serves the data).
 *
 * The log: a write counter; each CBT-enabled VDI keeps, per 64 KiB block,
 * the counter's value at its last write. A snapshot of such a VDI copies
 * that map and records the counter (when it was taken), so the blocks
 * changed between snapshot A and a later B of the same disk are those B's
 * map stamps after A was taken, even once A's data is destroyed. */
#ifndef SIM_CBTLOG_H
#define SIM_CBTLOG_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "rpc.h"

#define CBT_BLOCK (64 * 1024)

/* vdidata.c: bytes [off, off+len) of the VDI uuid were written (no db lock needed). */
void cbtlog_note_write(const char *uuid, uint64_t off, size_t len);
/* snap was just made as a snapshot of src (db locked): it inherits CBT. */
void cbtlog_snapshot(struct obj *src, struct obj *snap);

/* The handlers (calls_storage.c's table names them). */
struct xv *cbt_enable(struct call *c, struct xv **err);
struct xv *cbt_disable(struct call *c, struct xv **err);
struct xv *cbt_list_changed_blocks(struct call *c, struct xv **err);
struct xv *cbt_data_destroy(struct call *c, struct xv **err);
struct xv *cbt_get_nbd_info(struct call *c, struct xv **err);

#endif
