/* The dispatcher between the wire (XML-RPC, JSON-RPC) and the handlers:
 * method lookup, parameter count and types, session, Async tasks, errors,
 * in the order xapi checks them (WIRE.md section 4). */
#ifndef SIM_RPC_H
#define SIM_RPC_H

#include <stdbool.h>

#include "db.h"
#include "value.h"

struct call {
	const char *name;        /* "VM.start", without Async. */
	const struct cls *cls;
	const struct api_message *msg;
	struct obj *session;     /* NULL for no_session calls */
	struct xv *args;         /* coerced, session removed, defaults filled */
	struct obj *task;        /* the task of an Async call, else NULL */
	bool json;               /* came in over JSON-RPC */
};

/* A handler runs with the database locked, unless H_UNLOCKED. It returns
 * the result, or NULL with *err set to [code, params...]. */
typedef struct xv *(*handler_fn)(struct call *c, struct xv **err);

enum {
	H_UNLOCKED = 1, /* talks to the network (pool.join): takes the lock itself */
};

struct handler {
	const char *name;
	handler_fn fn;
	int async_ms; /* how long the Async form takes, progress advancing */
	int flags;
};

/* Handler tables, each ends with {NULL}. */
extern const struct handler calls_session[], calls_event[], calls_vm[], calls_storage[],
	calls_host[], calls_pool[], calls_task[], calls_misc[], calls_network[];

/* The result of one call: exactly one of value or error is set. The caller
 * frees both. raw means "no Status envelope" (system.listMethods). */
struct rpc_result {
	struct xv *value;
	struct xv *error;
	bool raw;
};

void rpc_init(void);
void rpc_free(void);
void rpc_dispatch(const char *method, const struct xv *params, bool json, struct rpc_result *out);

/* Builds an error description: err_new("HANDLE_INVALID", "VM", ref, NULL). */
struct xv *err_new(const char *code, ...);
struct xv *err_handle(const char *cls, const char *ref);

/* Helpers for handlers: fetch a typed argument. */
const char *arg_str(const struct call *c, int i);
int64_t arg_int(const struct call *c, int i);
double arg_float(const struct call *c, int i);
bool arg_bool(const struct call *c, int i);
const struct xv *arg(const struct call *c, int i);
/* The object an argument refers to, or NULL with *err = HANDLE_INVALID. */
struct obj *arg_obj(const struct call *c, int i, const char *cls, struct xv **err);

/* Session checks used by the HTTP handlers too. */
struct obj *session_check(const char *ref, struct xv **err);
/* Refreshes last_active as xapi does: at most every 10 minutes. */
void session_mark_active(struct obj *s);

#endif
