/* The Backups screens (:backups, a VM's Backups tab) on top of the backup
 * engine, which always runs as a child `xentui backup ...` (its repository
 * calls block; the interface's loop never does). */
#ifndef XENTUI_SCREENS_BACKUPS_H
#define XENTUI_SCREENS_BACKUPS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "screen.h"

struct app;
struct json_object;
struct table;

/* ---- children (backups_proc.c) --------------------------------------------- */
/* Called once when the child ends: its exit status (-1: could not start),
 * what it wrote on stdout and on stderr. */
typedef void (*bproc_done_fn)(struct app *app, int status, const char *out, const char *err, void *ud);
/* Starts `xentui backup ARGS... -c CONFIG` (args ends with NULL); password,
 * when not NULL, is the pool whose typed password reaches it through the
 * environment (pool_child_env: the screen never reads it). ud is
 * freed with free after done. Returns the pid, or -1 with a message said. */
pid_t bproc_start(struct app *app, const char *const *args, const struct pool *password, bproc_done_fn done,
		  void *ud);
/* The pool holding a typed password for the server named server, if it has
 * no source of its own in the configuration (a child cannot ask). */
const struct pool *bproc_password(struct app *app, const char *server);
/* How many children are running now. */
int bproc_count(void);

/* ---- what the children told (backups_model.c) ------------------------------ */
/* The restore points of every remote, as `xentui backup list --json` gives
 * them (an array), or NULL while none was read. Reloads on request. */
void bmodel_load_points(struct app *app, bool force);
const struct json_object *bmodel_points(void);
bool bmodel_points_loading(void);
const char *bmodel_points_error(void);
/* Use and free space of a remote ("12.0 MiB", "3.1 GiB free"), "" unknown. */
void bmodel_load_space(struct app *app, bool force);
const char *bmodel_space(const char *remote, bool free_space);
/* A remote's last test this session: "" (none), "testing...", "ok", or the error. */
const char *bmodel_test(const char *remote);
void bmodel_set_test(const char *remote, const char *text);
/* Whether a point was verified (state: verified.json): "ok", "BAD ...", or "". */
const char *bmodel_verified(const char *remote, const char *vm_uuid, const char *ts);
void bmodel_set_verified(const char *remote, const char *vm_uuid, const char *ts, const char *result);
void bmodel_free(void);

/* ---- screens -------------------------------------------------------------- */
extern const struct screen screen_backups;
extern const struct screen screen_backup_points; /* arg: a remote's name, or NULL for all */
extern const struct screen screen_backup_run;    /* arg: "live:JOB" or "log:N" (runs.jsonl line N) */
extern const struct screen screen_backup_replicas; /* arg: "JOB-ID\nSERVER\nJOB-NAME" */

/* The VM's Backups tab: its restore points across every repository in t
 * (made by backup_vm_table). */
struct table *backup_vm_table(void);
void backup_vm_fill(struct app *app, struct table *t, const char *vm_uuid);
/* Enter on the tab: the selected point's actions. */
void backup_vm_enter(struct app *app, struct table *t);

/* The jobs that cover a VM now (backups_vmjobs.c): by name or uuid, or by
 * their smart-mode rule, on their server; at most max into out (valid until
 * the configuration is read again). */
struct job_cfg;
struct pool;
struct xv;
size_t backup_vm_jobs(struct app *app, const char *vm_uuid, const struct job_cfg **out, size_t max);
bool backup_job_takes_vm(const struct job_cfg *j, const struct pool *p, const struct xv *vm);
void backup_vm_jobs_free(void);

/* Shared with the points screen: the actions on one point (a json object
 * of `backup list --json`). */
void backup_point_actions(struct app *app, const struct json_object *pt);

#endif
