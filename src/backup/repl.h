/* Replication helpers: one disk's VHD streamed from one pool's
 * /export_raw_vdi straight into another's (or the same pool's)
 * /import_raw_vdi, nothing kept on this computer. */
#ifndef XENTUI_BACKUP_REPL_H
#define XENTUI_BACKUP_REPL_H

#include <stdbool.h>
#include <stdint.h>

#include "bxapi.h"

/* Called as bytes pass through; false stops the copy (with *err). */
typedef bool (*repl_tick_fn)(uint64_t bytes, void *ud, char **err);

/* Exports src_vdi (uuid) of src as a VHD (a delta over base_uuid when not
 * NULL) into dst_vdi (uuid) of dst. Both tasks are checked: xapi answers
 * 200 before it knows whether a transfer was whole. *bytes: what passed. */
bool repl_copy_disk(struct bx *src, const char *src_vdi, const char *base_uuid, struct bx *dst, const char *dst_vdi,
		    int timeout_s, repl_tick_fn tick, void *ud, uint64_t *bytes, char **err);

#endif
