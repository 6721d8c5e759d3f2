/* task.*: create, cancel, destroy, and the setters HTTP-handler clients use. */
#include <string.h>

#include "httpx.h"
#include "rpc.h"
#include "sim.h"
#include "tasks.h"
#include "util.h"

static struct xv *task_create(struct call *c, struct xv **err)
{
	return xv_string(task_new(arg_str(c, 0), arg_str(c, 1), c->session)->ref);
}

static struct xv *task_cancel(struct call *c, struct xv **err)
{
	struct obj *t = arg_obj(c, 0, "task", err);

	if (!t)
		return NULL;
	if (strcmp(db_str(t, "status"), "pending") != 0) {
		*err = err_new("OPERATION_NOT_ALLOWED", "The task is not pending", NULL);
		return NULL;
	}
	db_set_str(t, "status", "cancelling");
	/* an import or export under way stops now, not at its next byte */
	hx_cancel(t->ref);
	return xv_string("");
}

static struct xv *task_destroy(struct call *c, struct xv **err)
{
	struct obj *t = arg_obj(c, 0, "task", err);

	if (!t)
		return NULL;
	db_delete(t);
	return xv_string("");
}

const struct handler calls_task[] = {
	{"task.create", task_create, 0, 0},
	{"task.cancel", task_cancel, 100, 0},
	{"task.destroy", task_destroy, 0, 0},
	{NULL, NULL, 0, 0},
};
