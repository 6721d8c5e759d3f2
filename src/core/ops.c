#include "ops.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "util.h"
#include "xmlrpc.h"

struct entry {
	struct op op;
	struct ops *ops;
	op_fn done;
	void *ud;
	bool finished;
	struct entry *next;
};

struct ops {
	struct xapi *x;
	struct cache *c;
	struct entry *list; /* newest first */
	op_fn change;
	void *change_ud;
};

#define KEEP_FINISHED 50

struct xv *task_result_decode(const char *text)
{
	struct xmlrpc_msg m;
	struct xv *v = NULL;
	char *doc;

	if (!text || !*text)
		return xv_string("");
	if (strncmp(text, "OpaqueRef:", 10) == 0)
		return xv_string(text); /* /pool_patch_upload stores a bare ref */
	doc = xasprintf("<methodResponse><params><param>%s</param></params></methodResponse>", text);
	if (xmlrpc_decode(doc, strlen(doc), &m, NULL)) {
		v = xv_copy(xv_at(m.params, 0));
		xmlrpc_msg_free(&m);
	}
	free(doc);
	return v ? v : xv_string(text);
}

static void changed(struct ops *ops, struct entry *e)
{
	if (ops->change)
		ops->change(ops, &e->op, ops->change_ud);
}

static void entry_free(struct entry *e)
{
	free(e->op.label);
	free(e->op.task);
	free(e->op.message);
	xv_free(e->op.result);
	free(e);
}

/* Keeps the newest finished ops for the task screen, drops the rest. */
static void prune(struct ops *ops)
{
	int n = 0;

	for (struct entry **p = &ops->list; *p;) {
		if ((*p)->finished && ++n > KEEP_FINISHED) {
			struct entry *e = *p;
			*p = e->next;
			entry_free(e);
			continue;
		}
		p = &(*p)->next;
	}
}

static void destroy_task_done(struct xapi *x, const struct xapi_result *r, void *ud)
{
}

static void finish(struct ops *ops, struct entry *e, enum op_state st, const char *msg)
{
	if (e->finished)
		return;
	e->finished = true;
	e->op.state = st;
	e->op.progress = 1.0;
	free(e->op.message);
	e->op.message = xstrdup(msg ? msg : "");
	changed(ops, e);
	if (e->done)
		e->done(ops, &e->op, e->ud);
	if (e->op.task) {
		/* finished tasks are ours to clean up, as xapi asks */
		struct xv *p = xv_array();
		xv_array_push(p, xv_string(e->op.task));
		xapi_call(ops->x, "task.destroy", p, destroy_task_done, NULL);
	}
	prune(ops);
}

static void check_task(struct ops *ops, struct entry *e)
{
	const struct xv *t = cache_get(ops->c, e->op.task);
	const char *status;

	if (!t || e->finished)
		return;
	status = rec_str(t, "status");
	e->op.progress = rec_float(t, "progress");
	if (strcmp(status, "success") == 0) {
		e->op.result = task_result_decode(rec_str(t, "result"));
		finish(ops, e, OP_DONE, "done");
	} else if (strcmp(status, "failure") == 0 || strcmp(status, "cancelled") == 0) {
		char *msg = error_sentence(rec_field(t, "error_info"), ops->c);
		finish(ops, e, strcmp(status, "cancelled") == 0 ? OP_CANCELLED : OP_FAILED, msg);
		free(msg);
	} else {
		changed(ops, e);
	}
}

static void on_cache(struct cache *c, enum cache_op op, const char *cls, const char *ref, void *ud)
{
	struct ops *ops = ud;

	if ((op != CACHE_ADD && op != CACHE_MOD) || strcmp(cls, "task") != 0)
		return;
	for (struct entry *e = ops->list; e; e = e->next)
		if (e->op.task && strcmp(e->op.task, ref) == 0) {
			check_task(ops, e);
			return;
		}
}

struct ops *ops_new(struct xapi *x, struct cache *c)
{
	struct ops *ops = xcalloc(1, sizeof(*ops));

	ops->x = x;
	ops->c = c;
	cache_subscribe(c, on_cache, ops);
	return ops;
}

void ops_free(struct ops *ops)
{
	if (!ops)
		return;
	cache_unsubscribe(ops->c, on_cache, ops);
	while (ops->list) {
		struct entry *e = ops->list;
		ops->list = e->next;
		entry_free(e);
	}
	free(ops);
}

void ops_on_change(struct ops *ops, op_fn fn, void *ud)
{
	ops->change = fn;
	ops->change_ud = ud;
}

static struct entry *find(struct ops *ops, const struct op *op)
{
	for (struct entry *e = ops->list; e; e = e->next)
		if (&e->op == op)
			return e;
	return NULL;
}

/* The reply to Async.X: the task ref, or why it could not start. The entry
 * is looked up again since it may have been pruned meanwhile. */
static void on_started(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct entry *target = ud;
	struct ops *ops = target->ops;
	struct entry *e = NULL;

	for (struct entry *i = ops->list; i; i = i->next)
		if (i == target)
			e = i;
	if (!e)
		return;
	if (r->failure == XAPI_API) {
		char *msg = error_sentence(r->error, ops->c);
		finish(ops, e, OP_FAILED, msg);
		free(msg);
		return;
	}
	if (r->failure != XAPI_OK || !xv_str(r->value)) {
		finish(ops, e, OP_FAILED, r->message);
		return;
	}
	e->op.task = xstrdup(xv_str(r->value));
	e->op.state = OP_RUNNING;
	changed(ops, e);
	check_task(ops, e); /* it may have finished already */
}

struct op *ops_start(struct ops *ops, const char *label, const char *method, struct xv *params, op_fn done, void *ud)
{
	struct entry *e = xcalloc(1, sizeof(*e));
	char *async = xasprintf("Async.%s", method);

	e->ops = ops;
	e->op.label = xstrdup(label);
	e->op.state = OP_STARTING;
	e->op.started_ms = loop_now();
	e->done = done;
	e->ud = ud;
	e->next = ops->list;
	ops->list = e;
	changed(ops, e);
	xapi_call(ops->x, async, params, on_started, e);
	free(async);
	return &e->op;
}

static void cancel_done(struct xapi *x, const struct xapi_result *r, void *ud)
{
}

void ops_cancel(struct ops *ops, struct op *op)
{
	struct entry *e = find(ops, op);
	struct xv *p;

	if (!e || e->finished || !e->op.task)
		return;
	p = xv_array();
	xv_array_push(p, xv_string(e->op.task));
	xapi_call(ops->x, "task.cancel", p, cancel_done, NULL);
}

int ops_running(const struct ops *ops)
{
	int n = 0;

	for (const struct entry *e = ops->list; e; e = e->next)
		if (!e->finished)
			n++;
	return n;
}

void ops_each(const struct ops *ops, void (*fn)(const struct op *op, void *ud), void *ud)
{
	for (const struct entry *e = ops->list; e; e = e->next)
		fn(&e->op, ud);
}
