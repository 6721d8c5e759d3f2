/* A backup job's health check, as Xen Orchestra does it: after a VM's new
 * point is complete, restore it (dr, cr: clone the new replica) on a
 * chosen SR, remove its VIFs (it boots without network), start it, wait
 * for its guest agent (and, when the VM is tagged
 * xo-backup-health-check-xenstore, for its startup script to write
 * success under xenstore vm-data/xo-backup-health-check), then destroy it
 * and its disks whatever happened. */
#ifndef XENTUI_BACKUP_HEALTHCHECK_H
#define XENTUI_BACKUP_HEALTHCHECK_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

#include "bconfig.h"
#include "bxapi.h"
#include "repo.h"

#define HEALTHCHECK_TIMEOUT_S 600 /* XO's: 10 minutes */

/* The job's `health_check = { sr = "..."; tags = [...]; timeout = 600; }`
 * into j (absent: none); mistakes named with file:line. */
bool healthcheck_cfg_read(const config_setting_t *job, struct job_cfg *j, const char *path, char **err);
void healthcheck_cfg_free(struct job_cfg *j);

/* Whether the job checks the VM vm_ref (its tags against the job's). */
bool healthcheck_wanted(struct bx *bx, const struct job_cfg *job, const char *vm_ref);

/* Checks the newest point of vm_uuid on r. *result is what the run log
 * says: "passed in 12 s" or "failed: <reason>"; true when passed. */
bool healthcheck_run(struct bx *bx, const struct job_cfg *job, struct repo *r, const char *vm_uuid,
		     const char *vm_name, char **result);
/* dr/cr: checks the newest replica of vm_uuid that job made on t (the
 * target pool): cloned on the check's SR (copied there when its disks are
 * elsewhere), then booted and destroyed as above; *result likewise. */
bool healthcheck_replica(struct bx *t, const struct job_cfg *job, const char *vm_uuid, const char *vm_name,
			 char **result);

#endif
