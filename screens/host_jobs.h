/* Long host operations that take several calls and must survive the pool
 * master's reboot: maintenance mode (in and out), reboot and shutdown with
 * evacuation, and the rolling pool update. Each runs as a job on the app's
 * loop; screen_host_jobs shows them, step by step. */
#ifndef XENTUI_HOST_JOBS_H
#define XENTUI_HOST_JOBS_H

#include <stdbool.h>
#include <stddef.h>

#include "app.h"

enum host_job_kind {
	JOB_MAINT_ENTER,  /* remember the VMs, disable, evacuate */
	JOB_MAINT_EXIT,   /* enable, bring the remembered VMs back (if asked), forget them */
	JOB_MAINT_LEAVE,  /* enable and forget the VMs without moving them */
	JOB_REBOOT,       /* evacuate, reboot, wait for it, enable, VMs back */
	JOB_SHUTDOWN,     /* evacuate, shut down (it stays in maintenance mode) */
	JOB_ROLLING,      /* per host, master first: evacuate, update, reboot, wait, VMs back */
};

/* Starts a job on hosts (refs of pool p, in order); pushes the jobs screen. */
void host_job_start(struct app *app, struct pool *p, enum host_job_kind kind, const char *const *hosts, size_t n);
/* A job is working on this host now. */
bool host_job_busy(const struct pool *p, const char *host);
/* The cancel key (:jobs, :updates): a running job stops after its step
 * under way; available while one runs. */
void host_jobs_cancel(struct app *app, void *st);
bool host_jobs_running(struct app *app, void *st);
/* Draws every job from line y; returns the next free line. */
int host_jobs_draw(WINDOW *w, int y, int rows, int cols);

/* updates.c: a host's list of updates is stale once the job installed them
 * (or stopped on it): ask its updater again. */
void updates_recheck(struct app *app, struct pool *p, const char *host);

/* The VMs maintenance mode moved off a host, remembered in its other_config
 * as XenCenter does (other clients see them): uuids, comma-separated. */
#define MAINT_KEY "MAINTENANCE_MODE"
#define MAINT_VMS_KEY "MAINTENANCE_MODE_EVACUATED_VMS_MIGRATED"

#endif
