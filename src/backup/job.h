/* A backup job's run as `xentui backup run` and `due` drive it: the lock,
 * the VMs chosen, one child process per VM (concurrency at once), the run
 * log, the live progress file and the summary line. */
#ifndef XENTUI_BACKUP_JOB_H
#define XENTUI_BACKUP_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "bconfig.h"
#include "xapi.h"

#define JOB_LOCKED 3 /* job_run: another run of the job holds its lock */

struct job_run_opts {
	const struct backup_cfg *bc;
	const struct job_cfg *job;
	const struct xapi_opts *xo; /* the job's server, password included */
	const struct xapi_opts *target_xo; /* dr/cr: job->target_server's, or NULL (the same pool) */
	bool show_progress;         /* per VM progress on stderr (a terminal) */
};

/* Runs the job under its lock; prints the summary line on stdout and
 * appends the run to the run log. 0 when every VM succeeded, 1 when any
 * failed (or the job could not start: *err says why), JOB_LOCKED. */
int job_run(const struct job_run_opts *o, char **err);
/* The job's schedule came between its last run (or when it was first
 * seen: recorded now if never) and now. */
bool job_due(const struct job_cfg *job, int64_t now);
/* Set in a VM's process when it must stop (its timeout): transfers check it. */
bool run_cancelled(void);
/* What the last mode_metadata wrote to each remote, in bytes. */
uint64_t metadata_last_bytes(void);

#endif
