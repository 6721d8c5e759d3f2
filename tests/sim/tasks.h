/* Tasks as xapi makes and ends them (taskHelper.ml), for Async calls, HTTP
 * handlers and task.create alike. Call with the database locked. */
#ifndef SIM_TASKS_H
#define SIM_TASKS_H

#include "db.h"

/* A pending task, on this host, listed in session's tasks (session may be NULL). */
struct obj *task_new(const char *label, const char *description, struct obj *session);
/* Ends it: error [code, params...] -> failure (cancelled for TASK_CANCELLED),
 * else success with result stored as its XML-RPC form (result NULL: left as is). */
void task_finish(struct obj *task, const struct xv *result, const struct xv *error);

#endif
