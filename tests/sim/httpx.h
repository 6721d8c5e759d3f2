/* What xapi's HTTP data handlers (export, import, rrd, raw VDI, db dump)
 * share, as xapi_http.ml does it: credentials (session_id query or cookie,
 * else HTTP Basic, else 401), the task a transfer drives (task_id= or its
 * own), response heads, request bodies, and the slow=BPS fault. */
#ifndef SIM_HTTPX_H
#define SIM_HTTPX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "db.h"
#include "http.h"
#include "value.h"

struct hx {
	struct http_req *r;
	char session[REF_LEN];
	bool temp_session; /* made from Basic credentials: ended by hx_end */
	char task[REF_LEN]; /* "" when the handler has none */
	long long left;     /* request body bytes still to read; -1: until EOF */
	bool eof;
	/* slow=BPS */
	long bps;
	double t0;
	uint64_t moved;
	double last_progress;
	/* cut=BYTES fault (hx_arm_cut): body bytes moved, the limit, whether hit */
	long long cut_at; /* -1: no cut */
	uint64_t body_bytes;
	bool cut;
};

/* Checks credentials; on failure answers 401 (WWW-Authenticate with realm
 * label) and returns false. Takes the database lock itself. */
bool hx_auth(struct hx *h, struct http_req *r, const char *label);
/* Logs out a session made from Basic credentials. */
void hx_end(struct hx *h);

/* Database locked: the task to drive, task_id= if given (NULL if that
 * names no task), else a new one named label, as rpc.c makes them. */
struct obj *hx_task(struct hx *h, const char *label);
/* Database locked: task.cancel on a task an HTTP transfer drives. As xapi
 * cancels an import or export (its handler stops at once, even blocked on
 * a client that sends or reads nothing), the transfer's connection is shut
 * down; the handler then ends the task cancelled (see hx_finish_locked). */
void hx_cancel(const char *task);
/* Sets progress (at most every 200 ms unless force); false once the task
 * is being cancelled. Takes the lock. */
bool hx_progress(struct hx *h, double p, bool force);
/* Completes a pending task: result is XML-RPC encoded into task.result
 * (NULL: left as it is, "" for a new task), or error ([code, params...])
 * into error_info. A task being cancelled that fails, whatever the
 * failure, ends cancelled with TASK_CANCELLED [task] (the handler failed
 * because of the cancel); one that succeeds anyway ends in success, as
 * TaskHelper.complete does for a cancel that came too late. Database
 * locked. */
void hx_finish_locked(struct hx *h, const struct xv *result, const struct xv *error);
void hx_finish(struct hx *h, const struct xv *result, const struct xv *error);

/* "HTTP/<version> <status> <reason>", the given header lines (each ending
 * \r\n), then the blank line. */
bool hx_head(struct hx *h, const char *version, int status, const char *headers);
/* A whole error answer with a small HTML body; the connection closes. */
void hx_error(struct http_req *r, int status, const char *why);

/* Database locked: an object of class cls named by ref or by uuid. */
struct obj *hx_lookup(const char *cls, const char *ref_or_uuid);
/* A query flag (or cookie) that is exactly "true". */
bool hx_flag(struct http_req *r, const char *key);

/* The request body: up to Content-Length, or until EOF without one. */
ssize_t hx_read(struct hx *h, void *p, size_t n);
bool hx_read_full(struct hx *h, void *p, size_t n);
/* Reads and drops what is left of the body. */
void hx_drain(struct hx *h);
/* Writes response bytes (throttled by slow=BPS). */
bool hx_write(struct hx *h, const void *p, size_t n);

/* Applies a cut=BYTES fault rule for this request's path, if one matches
 * (counts the request): after BYTES bytes of body, hx_read and hx_write
 * fail, the connection is dropped once the handler returns, and the task
 * ends failed with hx_cut_error whatever the handler reports. Call it
 * once the transfer is going to start. */
void hx_arm_cut(struct hx *h);
/* The error a cut transfer leaves in its task (NULL if not cut):
 * VDI_IO_ERROR for disk transfers, INTERNAL_ERROR for the database dump. */
struct xv *hx_cut_error(const struct hx *h);

/* printf into a fresh error description: hx_err("IMPORT_ERROR", "text %d", 1). */
struct xv *hx_err(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

double hx_now(void);

#endif
