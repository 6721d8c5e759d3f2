/* One run of a backup job, and what each mode does for one VM. run.c drives
 * a job (VM selection, concurrency, the run log); mode_*.c back up one VM;
 * retention.c ages points out after a new one is complete. */
#ifndef XENTUI_BACKUP_RUN_H
#define XENTUI_BACKUP_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bconfig.h"
#include "bxapi.h"
#include "point.h"
#include "repo.h"

struct run_vm {
	/* given */
	struct bx *bx;
	const struct job_cfg *job;
	struct repo **repos;      /* the job's remotes, open; one per job->remotes */
	size_t nrepos;
	const char *vm_ref;
	const char *vm_uuid;
	const char *vm_name;
	int64_t now;              /* the run's time (seconds, UTC; XENTUI_NOW overrides it in tests) */
	char ts[17];              /* the run's point name: point_ts(now) */
	struct bx *target;        /* dr/cr: the pool the replicas go to (may be bx) */
	/* progress: bytes moved so far of an expected total (0 = unknown) */
	void (*progress)(struct run_vm *v, uint64_t done, uint64_t total);
	/* what it waits on while no bytes move ("taking a snapshot", "host
	 * finishing the export"): said until the next step or the next bytes */
	void (*step)(struct run_vm *v, const char *what);
	void *progress_ud;
	/* results */
	uint64_t bytes;           /* written to each repository */
	char *error;              /* a sentence, when the VM failed */
	char *note;               /* e.g. "full (no base)" / "delta" */
};

/* Says what v waits on now (run_vm.step), if anyone listens. */
void run_step(struct run_vm *v, const char *what);

bool mode_snapshot_vm(struct run_vm *v);
bool mode_full_vm(struct run_vm *v);
bool mode_delta_vm(struct run_vm *v);
/* dr/cr: a halted copy of the VM on job->target_sr of v->target, refreshed
 * (cr: by deltas against the last replicated snapshot); keeps job->retention
 * replicas. */
bool mode_replicate_vm(struct run_vm *v);
/* mirror: job->source_remote's points copied to each of job->remotes, then
 * that remote's retention; *bytes and *copied (points) say what moved. */
bool mode_mirror(const struct backup_cfg *bc, const struct job_cfg *job, uint64_t *bytes, size_t *copied,
		 char **err);
bool mode_metadata(struct bx *bx, const struct job_cfg *job, struct repo **repos, size_t nrepos,
		   const char *config_path, int64_t now, char **err);

/* After a complete new point of vm_uuid on r: keeps job->retention points of
 * this job for the VM (deletes or merges older ones), crash-safe and
 * resumable; also removes the temporary files an interrupted run left. */
bool retention_apply(struct repo *r, const struct job_cfg *job, const char *vm_uuid, char **err);

/* A restore point as a new VM on sr_ref; *new_vm (uuid) on success. */
bool restore_point(struct bx *bx, struct repo *r, const struct point *p, const char *sr_ref, const char *name,
		   bool start, char **new_vm, char **err);
/* One disk of a point (disk: its device number, "0", or its name) as a new
 * VDI on sr_ref, named name (NULL: as it was); *new_vdi (uuid) on success. */
bool restore_disk(struct bx *bx, struct repo *r, const struct point *p, const char *disk, const char *sr_ref,
		  const char *name, char **new_vdi, char **err);
/* Checks points of vm_uuid (NULL: all) on r, one line each to out; *bad
 * counts the points that failed. false only when r could not be read. */
bool verify_points(struct repo *r, const char *vm_uuid, FILE *out, int *bad, char **err);

/* The run's time: now, or XENTUI_NOW (seconds since the epoch) when set. */
int64_t run_now(void);

#endif
