/* Live performance data of one pool (issue 13): xcp-rrdd's /rrd_updates,
 * fetched from each host itself (WIRE.md 9) on the core loop, parsed with
 * libxml2's SAX push parser as it arrives, kept in ring buffers per object (host or VM
 * uuid) and series ("cpu_avg", "cpu0", "memory_free_kib", "vif_0_rx", ...,
 * xapi's data-source names). Nothing is fetched unless someone asks: a
 * screen calls metrics_want for what it shows (again on each redraw; a want
 * lapses after METRICS_WANT_MS), and with no wants there is no timer at all. */
#ifndef XENTUI_METRICS_H
#define XENTUI_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "cache.h"
#include "loop.h"
#include "xapi.h"

/* How far back a caller wants to see; each span is one xcp-rrdd archive. */
enum metrics_span {
	METRICS_NOW,   /* the latest value only (lists, /metrics): 5 s archive, no history kept */
	METRICS_10MIN, /* 120 points 5 s apart */
	METRICS_2H,    /* 120 points 1 min apart */
	METRICS_1WEEK, /* 168 points 1 h apart (a day is the last 24) */
};

/* A want not renewed for this long is dropped (and with it the fetching). */
#define METRICS_WANT_MS 15000

struct metrics;
/* Called after new points arrived for at least one wanted object. */
typedef void (*metrics_fn)(struct metrics *m, void *ud);

/* Metrics for the pool behind x and its cache c (both outlive m). */
struct metrics *metrics_new(struct loop *l, struct xapi *x, struct cache *c);
/* Fetches before the cache has loaded, as soon as it holds the pool's hosts (their addresses:
 * all a want_all needs): a one-shot `list` whose fetch then overlaps the VMs' records' download.
 * Wants by name still wait for the VM's record. */
void metrics_set_early(struct metrics *m, bool on);
/* Stops every transfer and frees everything. */
void metrics_free(struct metrics *m);
/* One listener for new points (NULL to stop); it may call metrics_get/metrics_want. */
void metrics_on_update(struct metrics *m, metrics_fn fn, void *ud);

/* Asks for obj (a host or VM uuid) over span for the next METRICS_WANT_MS; fetching starts at once if new. */
void metrics_want(struct metrics *m, const char *obj, enum metrics_span span);
/* Asks for every host and VM of the pool over span (the OpenMetrics endpoint, dump, list). */
void metrics_want_all(struct metrics *m, enum metrics_span span);
/* Of objects wanted through metrics_want_all alone, keeps only these n series (a list reads
 * a few of the ~20 a VM has; "cpu#" is cpu0, cpu1, ...); n 0 keeps every series again.
 * Objects wanted by name keep all. */
void metrics_only(struct metrics *m, const char *const *names, size_t n);
/* Drops obj's want now (a screen closed), and its history. */
void metrics_unwant(struct metrics *m, const char *obj);

/* The latest value of obj's series (*t: its unix time, may be NULL); false if none yet. */
bool metrics_last(const struct metrics *m, const char *obj, const char *series, double *v, long long *t);
/* Copies up to max points of obj's series over span into out, oldest first, NAN where unknown,
 * the newest at unix time *t_end, *step seconds apart; returns how many (0: nothing yet). */
size_t metrics_get(const struct metrics *m, const char *obj, const char *series, enum metrics_span span,
		   double *out, size_t max, long long *t_end, int *step);
/* Calls fn with each series name obj has (in the host's order); stop by returning false. */
void metrics_each_series(const struct metrics *m, const char *obj, bool (*fn)(const char *series, void *ud),
			 void *ud);

/* Calls fn with each series name obj has and its latest value (*t 0 and NAN while none), in
 * the host's order; stop by returning false. One pass: for figures made of many series. */
void metrics_each_last(const struct metrics *m, const char *obj,
		       bool (*fn)(const char *series, double v, long long t, void *ud), void *ud);

/* Fetches every wanted host now (no more than once per host per 5 s step) and calls done once all answered. */
void metrics_refresh(struct metrics *m, void (*done)(struct metrics *m, void *ud), void *ud);
/* The last failure as a sentence ("host1: connection refused"), or NULL when all went well. */
const char *metrics_error(const struct metrics *m);
/* Bytes of /rrd_updates received since metrics_new (for bench/). */
unsigned long long metrics_bytes(const struct metrics *m);
/* Counts the replies that brought points: a screen tells a new round of figures from another redraw. */
unsigned long metrics_rounds(const struct metrics *m);

#endif
