/* The bytes of every simulated VDI, for the HTTP data handlers (export,
 * import, export_raw_vdi, import_raw_vdi).
 *
 * A VDI reads as a deterministic, sparse "base" (a few MiB of pseudo-random
 * data near the start, zeros elsewhere) chosen by a content seed, overlaid
 * with the 1 MiB blocks written into it by imports, kept in memory.
 *
 * The seed comes from other_config:content_of (vm.c and calls_storage.c set
 * it on copies, so a copy reads the same bytes):
 *   absent        the VDI's own uuid seeds the base
 *   "vdi:UUID"    the bytes of the VDI UUID (base and written blocks); set
 *                 by vdata_prepare_write on a VDI that gets written, so that
 *                 copies made later see what was written
 *   "blank"       zeros (VDIs the import handlers and VDI.create make)
 *   "pattern:EVERY:SEED"  data in every EVERY-th 1 MiB block (from block
 *                 0), zeros between: a large disk full of data that costs
 *                 no memory, for benchmarks. Set it on a VDI that has not
 *                 been written (VDI.create's other_config, or
 *                 remove_from_/add_to_other_config); copies and snapshots inherit it
 *   anything else seeds the base itself (a copy of a never-written VDI)
 * A copy made before its source is written keeps the old bytes: writing a
 * VDI first gives its not-yet-materialised copies their own blocks
 * (copy-on-write, so sharing costs nothing until a block changes).
 *
 * Locking: the functions marked "db locked" need db_lock(); the others only
 * use the vdata's own lock, so transfers stream without holding the
 * database. virtual_size stays in the database: callers bound their reads. */
#ifndef SIM_VDIDATA_H
#define SIM_VDIDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

#define VDATA_BLOCK (1024 * 1024)

struct vdata;

/* A handle on the bytes vdi holds now (db locked). Reading through it
 * after the VDI is deleted or written elsewhere is safe. Release with
 * vdata_put. */
struct vdata *vdata_get(struct obj *vdi);
/* Makes vdi writable: gives it its own store (registered, freed when the
 * VDI is deleted), detaches copies that still share its bytes, and marks it
 * "vdi:UUID" for later copies (db locked). Returns a handle for writing. */
struct vdata *vdata_prepare_write(struct obj *vdi);
/* Marks a VDI the handlers just created as all zeros (db locked). */
void vdata_mark_blank(struct obj *vdi);
void vdata_put(struct vdata *d);

void vdata_read(struct vdata *d, uint64_t off, void *buf, size_t len);
/* False when the simulator's memory budget for written data is spent. */
bool vdata_write(struct vdata *d, uint64_t off, const void *buf, size_t len);
/* True if [off, off+len) reads as zeros (cheap for untouched areas). */
bool vdata_is_zero(struct vdata *d, uint64_t off, uint64_t len);
/* True if the two read the same over [off, off+len) (cheap when both come
 * from the same base and neither wrote there). */
bool vdata_same(struct vdata *a, struct vdata *b, uint64_t off, uint64_t len);

#endif
