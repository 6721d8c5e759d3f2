/* What `xentui backup` keeps between runs, under $XDG_STATE_HOME/xentui/
 * (default ~/.local/state/xentui/): locks/<job>.lock (flock: one run of a
 * job at a time), jobs/<job>.json (first seen, last run), runs.jsonl (one
 * line per run, appended and fsync'd: the Backups screen reads it) and
 * <job>.progress.json while a job runs. */
#ifndef XENTUI_BACKUP_STATE_H
#define XENTUI_BACKUP_STATE_H

#include <stdbool.h>
#include <stdint.h>

/* The folder (made if missing); a new string. */
char *state_dir(void);

/* Takes the job's lock: an fd to keep; -2 with *err "job X is already
 * running (pid N)"; -1 with *err when the lock file could not be made. */
int state_lock(const char *job, char **err);
void state_unlock(int fd);

struct job_state {
	int64_t first_seen;   /* when `due` first saw the job (0: never) */
	int64_t last_start;   /* the last run's start (0: never run) */
	int64_t last_end;
	char result[16];      /* "success", "failure", "" */
};

/* A job never seen reads as zeros. */
bool state_job_read(const char *job, struct job_state *st);
bool state_job_write(const char *job, const struct job_state *st, char **err);

/* Appends one line (a JSON object, no newline) to runs.jsonl, durable. */
bool state_log_run(const char *json, char **err);

/* The live progress file: replaced atomically; removed at the end. */
void state_progress_write(const char *job, const char *json);
void state_progress_remove(const char *job);
/* Where a job's progress file is (a new string), for readers. */
char *state_progress_path(const char *job);

/* When `xentui backup due` last ran (due.json): the Schedules tab says when
 * no timer runs it. 0: never. */
void state_due_mark(int64_t t);
int64_t state_due_last(void);

/* Points checked with verify (verified.json: "remote/vm/ts" -> "ok" or the
 * reason): a new string, or NULL when never verified. */
char *state_verified_get(const char *remote, const char *vm_uuid, const char *ts);
void state_verified_set(const char *remote, const char *vm_uuid, const char *ts, const char *result);

#endif
