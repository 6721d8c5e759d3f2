#include "tasks.h"

#include <string.h>

#include "sim.h"
#include "util.h"
#include "xmlrpc.h"

struct obj *task_new(const char *label, const char *description, struct obj *session)
{
	struct obj *t = db_create_named("task");
	struct xv *ops = xv_array();
	char now[32];

	now_iso8601(now);
	db_set_str(t, "name_label", label);
	db_set_str(t, "name_description", description ? description : "");
	db_set(t, "created", xv_datetime(now));
	db_set_str(t, "status", "pending");
	db_set_str(t, "type", "<none/>");
	xv_array_push(ops, xv_string("cancel"));
	db_set(t, "allowed_operations", ops);
	if (sim.local_host)
		db_set_ref(t, "resident_on", sim.local_host);
	if (session)
		db_set_add(session, "tasks", t->ref);
	return t;
}

void task_finish(struct obj *task, const struct xv *result, const struct xv *error)
{
	char now[32];

	now_iso8601(now);
	db_set_float(task, "progress", 1.0);
	db_set(task, "finished", xv_datetime(now));
	db_set(task, "allowed_operations", xv_array());
	if (error) {
		const char *code = xv_str(xv_at(error, 0));
		struct xv *info = xv_array();
		for (size_t i = 0; i < xv_len(error); i++)
			xv_array_push(info, xv_string(xv_str(xv_at(error, i)) ? xv_str(xv_at(error, i)) : ""));
		db_set(task, "error_info", info);
		db_set_str(task, "status", code && strcmp(code, "TASK_CANCELLED") == 0 ? "cancelled" : "failure");
		return;
	}
	if (result) {
		struct buf b;
		buf_init(&b);
		/* the XML-RPC serialisation, even for JSON-RPC clients */
		xmlrpc_encode_value(&b, result, XMLRPC_RAW_NAMES);
		db_set_str(task, "result", b.data);
		buf_free(&b);
	}
	db_set_str(task, "status", "success");
}
