/* A blocking XenAPI session for `xentui backup`: the core's connection
 * (libcurl multi, certificate checks, re-login) with the loop run until
 * each answer comes. It is for the backup process only: the interface
 * never blocks, and starts `xentui backup` as a child to run a job. */
#ifndef XENTUI_BACKUP_BXAPI_H
#define XENTUI_BACKUP_BXAPI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "value.h"
#include "xapi.h"

struct bx;

/* Logs in; NULL with *err (a sentence) when it cannot. o is copied. */
struct bx *bx_connect(const struct xapi_opts *o, char **err);
/* Logs out and frees. */
void bx_close(struct bx *b);
struct xapi *bx_xapi(struct bx *b);

/* method(session, params...): the Value, or NULL with *err (a sentence) and,
 * for an API error, *code (borrowed until the next call; may be NULL). */
struct xv *bx_call(struct bx *b, const char *method, struct xv *params, char **err, const char **code);
/* For calls whose Value is a string (a ref): a copy, or NULL. */
char *bx_call_str(struct bx *b, const char *method, struct xv *params, char **err);
/* Runs "Async.<method>", waits for the task; its result (a ref, or "") or NULL. */
char *bx_call_async(struct bx *b, const char *method, struct xv *params, int timeout_s, char **err);

/* A task for a transfer (task.create), and its outcome once the stream is
 * done: xapi sends 200 before it knows, so only the task says whether an
 * export was whole. Returns the result ("" if none) or NULL with *err. */
char *bx_task_create(struct bx *b, const char *label, char **err);
char *bx_task_wait(struct bx *b, const char *task, int timeout_s, char **err);
void bx_task_destroy(struct bx *b, const char *task);

/* Streams GET path?query&session_id= from the pool into sink (false stops it
 * with *err set by the sink). 200 required. */
typedef bool (*bx_sink_fn)(const void *buf, size_t n, void *ud, char **err);
bool bx_get(struct bx *b, const char *path_query, bx_sink_fn sink, void *ud, uint64_t *bytes, char **err);
/* Streams PUT path?query&session_id= from src (0 = the end, -1 = error with
 * *err). length is the body's size when known, else 0 (XO's large
 * Content-Length, then the connection closed). */
typedef ssize_t (*bx_source_fn)(void *buf, size_t n, void *ud, char **err);
bool bx_put(struct bx *b, const char *path_query, uint64_t length, bx_source_fn src, void *ud, char **err);

/* Progress of the current transfer, called a few times a second. */
typedef void (*bx_progress_fn)(uint64_t done, uint64_t total, void *ud);
void bx_on_progress(struct bx *b, bx_progress_fn fn, void *ud);

#endif
