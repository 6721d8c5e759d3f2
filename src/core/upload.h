/* Uploads a local file into a new VDI, as Xen Orchestra uploads an ISO:
 * VDI.create of the file's size, then the file streamed (never read whole)
 * by HTTP PUT to /import_raw_vdi over libcurl multi, with progress; on a
 * failure or a cancel the new VDI is destroyed, so no half disk stays. */
#ifndef XENTUI_UPLOAD_H
#define XENTUI_UPLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "loop.h"
#include "pools.h"

enum upload_state {
	UPLOAD_CREATING,   /* VDI.create on its way */
	UPLOAD_SENDING,    /* the PUT is streaming */
	UPLOAD_CHECKING,   /* sent: reading the import task's outcome */
	UPLOAD_CLEANING,   /* failed or cancelled: destroying the new VDI */
	UPLOAD_DONE,
	UPLOAD_FAILED,
	UPLOAD_CANCELLED,
};

struct upload_req {
	const char *path; /* the local file */
	const char *sr;   /* the SR's ref */
	const char *name; /* the new VDI's name_label */
};

struct upload;
/* Called on progress (a few times a second) and on every change of state. */
typedef void (*upload_fn)(struct upload *u, void *ud);

/* Starts in pool p (connected); NULL with *err (a sentence to free) when
 * the file cannot be read. The pool is looked up again by its id before
 * every later call: it may be disconnected or removed meanwhile. */
struct upload *upload_start(struct pools *ps, struct pool *p, struct loop *l, const struct upload_req *req,
			    upload_fn fn, void *ud, char **err);
/* Stops the transfer and removes the new VDI (fn hears UPLOAD_CANCELLED). */
void upload_cancel(struct upload *u);
/* Frees at once, calling nothing: the owner's end (the app quitting). */
void upload_free(struct upload *u);

enum upload_state upload_state(const struct upload *u);
bool upload_finished(const struct upload *u); /* done, failed or cancelled */
uint64_t upload_sent(const struct upload *u);
uint64_t upload_size(const struct upload *u);
/* Every byte is sent but the host has not answered yet: it is still
 * writing what it took in (a slow disk or link holds many megabytes). */
bool upload_all_sent(const struct upload *u);
/* The import task's own progress (0..1) as the pool reports it, or -1
 * when not known (no task yet, or its record not in the cache). */
double upload_host_progress(const struct upload *u);
/* When the bytes started to flow (loop_now), 0 before. */
int64_t upload_started_ms(const struct upload *u);
/* The outcome as a sentence once finished ("" before). */
const char *upload_message(const struct upload *u);
/* The new VDI's ref once made ("" before). */
const char *upload_vdi(const struct upload *u);
const char *upload_name(const struct upload *u);
const char *upload_sr(const struct upload *u);
int upload_pool_id(const struct upload *u);

#endif
