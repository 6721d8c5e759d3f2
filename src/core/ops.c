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
	char *task_name;  /* "Async.VM.start": how xapi names the call's task */
	char **before;    /* tasks of that name that existed when it started */
	int nbefore;
	char *lost;       /* the answer to the call was lost: why (it may have run) */
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
	for (int i = 0; i < e->nbefore; i++)
		free(e->before[i]);
	free(e->before);
	free(e->task_name);
	free(e->lost);
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
		char *msg = e->lost ? xasprintf("took effect, though the pool's answer to the call was lost (%s)", e->lost)
				    : xstrdup("done");
		e->op.result = task_result_decode(rec_str(t, "result"));
		finish(ops, e, OP_DONE, msg);
		free(msg);
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

/* The entry if it is still listed (it may have been pruned meanwhile). */
static struct entry *still_there(struct entry *target)
{
	for (struct entry *i = target->ops->list; i; i = i->next)
		if (i == target)
			return i;
	return NULL;
}

static bool owned(const struct ops *ops, const char *task)
{
	for (const struct entry *e = ops->list; e; e = e->next)
		if (e->op.task && strcmp(e->op.task, task) == 0)
			return true;
	return false;
}

static bool existed(const struct entry *e, const char *task)
{
	for (int i = 0; i < e->nbefore; i++)
		if (strcmp(e->before[i], task) == 0)
			return true;
	return false;
}

/* The tasks named like the call's: a new one nobody follows is the call's
 * own, which ran though its answer was lost; follow it as if answered. */
static void on_lost_lookup(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct entry *e = still_there(ud);
	struct ops *ops;

	if (!e || e->finished)
		return;
	ops = e->ops;
	if (r->failure == XAPI_OK)
		for (size_t i = 0; i < xv_len(r->value); i++) {
			const char *task = xv_str(xv_at(r->value, i));
			if (!task || existed(e, task) || owned(ops, task))
				continue;
			e->op.task = xstrdup(task);
			e->op.state = OP_RUNNING;
			changed(ops, e);
			check_task(ops, e); /* or when its record arrives */
			return;
		}
	finish(ops, e, OP_FAILED, e->lost);
}

static bool remember_task(const char *ref, const struct xv *rec, void *ud)
{
	struct entry *e = ud;

	if (strcmp(rec_str(rec, "name_label"), e->task_name) == 0) {
		e->before = xrealloc(e->before, (size_t)(e->nbefore + 1) * sizeof(*e->before));
		e->before[e->nbefore++] = xstrdup(ref);
	}
	return true;
}

/* The reply to Async.X: the task ref, or why it could not start. */
static void on_started(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct entry *e = still_there(ud);
	struct ops *ops;

	if (!e)
		return;
	ops = e->ops;
	if (r->failure == XAPI_TRANSPORT) {
		/* the call may have run (xapi answered 500, the reply was cut):
		 * look for its task before saying it failed */
		struct xv *p = xv_array();
		free(e->lost);
		e->lost = xstrdup(r->message ? r->message : "no answer");
		xv_array_push(p, xv_string(e->task_name));
		xapi_call(ops->x, "task.get_by_name_label", p, on_lost_lookup, e);
		return;
	}
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
	e->task_name = async;
	cache_each(ops->c, "task", remember_task, e);
	e->next = ops->list;
	ops->list = e;
	changed(ops, e);
	xapi_call(ops->x, async, params, on_started, e);
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
