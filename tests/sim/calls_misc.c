/* message.* (not implicit in the datamodel, but answered the same way). */
#include <string.h>
#include <strings.h>

#include "implicit.h"
#include "rpc.h"
#include "sim.h"
#include "util.h"

static struct xv *message_create(struct call *c, struct xv **err)
{
	struct obj *m = db_create_named("message");
	char now[32];

	now_iso8601(now);
	db_set_str(m, "name", arg_str(c, 0));
	db_set_int(m, "priority", arg_int(c, 1));
	db_set_str(m, "cls", arg_str(c, 2));
	db_set_str(m, "obj_uuid", arg_str(c, 3));
	db_set(m, "timestamp", xv_datetime(now));
	db_set_str(m, "body", arg_str(c, 4));
	return xv_string(m->ref);
}

static struct xv *message_destroy(struct call *c, struct xv **err)
{
	struct obj *m = arg_obj(c, 0, "message", err);

	if (!m)
		return NULL;
	db_delete(m);
	return xv_string("");
}

/* Messages newer than `since` (and of one object, for message.get). */
static struct xv *messages_since(const char *since, const char *cls, const char *uuid)
{
	struct xv *out = xv_struct();

	for (struct obj *m = db_first("message"); m; m = m->cnext) {
		const char *ts = db_str(m, "timestamp");
		if (since && strcmp(ts, since) <= 0)
			continue;
		if (cls && (strcasecmp(db_str(m, "cls"), cls) != 0 || strcmp(db_str(m, "obj_uuid"), uuid) != 0))
			continue;
		xv_struct_add(out, m->ref, db_record(m));
	}
	return out;
}

static struct xv *message_get_since(struct call *c, struct xv **err)
{
	return messages_since(arg_str(c, 0), NULL, NULL);
}

static struct xv *message_get(struct call *c, struct xv **err)
{
	return messages_since(arg_str(c, 2), arg_str(c, 0), arg_str(c, 1));
}

const struct handler calls_misc[] = {
	{"message.create", message_create, 0, 0},
	{"message.destroy", message_destroy, 0, 0},
	{"message.get_since", message_get_since, 0, 0},
	{"message.get", message_get, 0, 0},
	{NULL, NULL, 0, 0},
};
