/* Operations users trigger: each an Async.* call tracked as a task through
 * the cache's task events (progress, result, error as a sentence), with
 * cancel by task.cancel. */
#ifndef XENTUI_OPS_H
#define XENTUI_OPS_H

#include <stdbool.h>

#include "cache.h"
#include "xapi.h"

enum op_state {
	OP_STARTING, /* the Async call is on its way */
	OP_RUNNING,  /* a task exists */
	OP_DONE,
	OP_FAILED,
	OP_CANCELLED,
};

struct op {
	char *label;     /* "Start VM 'web01'" */
	char *task;      /* task ref, once known */
	enum op_state state;
	double progress; /* 0..1 */
	char *message;   /* the outcome, as a sentence */
	struct xv *result; /* decoded task result on success, or NULL */
	int64_t started_ms;
};

struct ops;
typedef void (*op_fn)(struct ops *ops, struct op *op, void *ud);

struct ops *ops_new(struct xapi *x, struct cache *c);
void ops_free(struct ops *ops);
/* Called on every change of any op (progress, end). */
void ops_on_change(struct ops *ops, op_fn fn, void *ud);

/* Starts Async.<method>(params) (params taken); done is called once at the end. */
struct op *ops_start(struct ops *ops, const char *label, const char *method, struct xv *params, op_fn done, void *ud);
void ops_cancel(struct ops *ops, struct op *op);
int ops_running(const struct ops *ops);
/* Visits ops, newest first. */
void ops_each(const struct ops *ops, void (*fn)(const struct op *op, void *ud), void *ud);

/* Decodes a task's result field: an XML-RPC <value> (or a bare ref). */
struct xv *task_result_decode(const char *text);

#endif
