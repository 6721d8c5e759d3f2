/* Restore points as Xen Orchestra lays them out on a repository:
 *   xo-vm-backups/<vm uuid>/<ts>.json   (ts: YYYYMMDDTHHmmssZ, UTC)
 *   xo-vm-backups/<vm uuid>/<ts>.xva    (full)
 *   xo-vm-backups/<vm uuid>/vdis/<job id>/<vdi uuid>/<ts>.vhd (delta; or
 *   <ts>.alias.vhd naming a directory VHD under data/)
 * The .json is XO's own (version 2.0.0, mode, jobId, scheduleId, timestamp,
 * vm, vmSnapshot, xva | vdis, vbds, vifs, vhds, isVhdDifferencing, size),
 * plus "xentui": { "files": { "<path relative to the VM folder>":
 * { "size": N, "sha256": "hex" } }, "job": "<job name>" }, a key XO ignores.
 * The .json is written last: a point without one does not exist. */
#ifndef XENTUI_BACKUP_POINT_H
#define XENTUI_BACKUP_POINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "repo.h"

struct point_file {
	char *path;       /* relative to the VM folder: "./<ts>.xva", "vdis/<job>/<vdi>/<ts>.vhd" */
	uint64_t size;
	char sha256[65];  /* "" when the point was not written by xentui */
	char *vdi;        /* delta: the snapshot VDI's ref (the key in vdis/vhds) */
	bool differencing;
};

struct point {
	char *vm_uuid;
	char *vm_name;
	char ts[17];          /* "20261206T203500Z" */
	int64_t timestamp_ms;
	char *mode;           /* "full" or "delta" */
	char *job_id;
	char *job_name;       /* xentui's, or NULL */
	uint64_t size;
	char *json_path;      /* xo-vm-backups/<vm>/<ts>.json */
	struct point_file *files;
	size_t nfiles;
	char *json;           /* the whole .json text (restore reads the records from it) */
};

/* Every point of one VM (vm_uuid) or of all (NULL), oldest first. */
bool points_list(struct repo *r, const char *vm_uuid, struct point **out, size_t *n, char **err);
/* One point's .json at json_path. */
bool point_load(struct repo *r, const char *json_path, struct point *out, char **err);
void point_free(struct point *p);
void points_free(struct point *p, size_t n);
/* The UTC time t as a file name's timestamp: YYYYMMDDTHHmmssZ. */
void point_ts(int64_t t_seconds, char out[17]);

#endif
