/* get_all_records written straight from the objects (see fastenc.h). The
 * bytes are exactly what the general path (implicit_all_records, then the
 * XML-RPC or JSON encoder) produces; only the intermediate copy is gone. */
#include "fastenc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "db.h"
#include "implicit.h"
#include "json.h"
#include "rpc.h"
#include "xmlrpc.h"
#include "util.h"

static const char SUFFIX[] = ".get_all_records";

static bool has_explicit_handler(const char *method)
{
	const struct handler *const tables[] = {
		calls_session, calls_event, calls_vm, calls_storage, calls_host, calls_pool, calls_task, calls_misc,
	};

	for (size_t t = 0; t < ARRAY_LEN(tables); t++)
		for (const struct handler *h = tables[t]; h->name; h++)
			if (strcmp(h->name, method) == 0)
				return true;
	return false;
}

/* The class whose records the call asks for, if the fast path applies:
 * the exact wire name (no Async., no underscore alias), a message that is
 * neither removed nor explicitly handled, and one string parameter. */
static const struct cls *fast_class(const char *method, const struct xv *params)
{
	size_t n = strlen(method), k = sizeof(SUFFIX) - 1;
	const struct cls *c;
	const struct api_message *m;
	struct call call;
	char *cname;

	if (n <= k || strcmp(method + n - k, SUFFIX) != 0 || strncmp(method, "Async.", 6) == 0)
		return NULL;
	if (xv_len(params) != 1 || xv_at(params, 0)->type != XV_STRING)
		return NULL;
	cname = xstrndup(method, n - k);
	c = schema_class(cname);
	free(cname);
	if (!c || !(m = schema_message(c, "get_all_records")) || m->nparams != 1 || strstr(m->flags, "removed"))
		return NULL;
	memset(&call, 0, sizeof(call));
	call.cls = c;
	call.msg = m;
	if (!implicit_handles(&call) || has_explicit_handler(method))
		return NULL;
	return c;
}

/* Locks the database and checks the session as the dispatcher does; on
 * success the lock stays held. */
static bool lock_with_session(const struct xv *params)
{
	struct xv *err = NULL;
	struct obj *s;

	db_lock();
	s = session_check(xv_str(xv_at(params, 0)), &err);
	if (!s) {
		xv_free(err);
		db_unlock();
		return false;
	}
	session_mark_active(s);
	return true;
}

static void xml_record(struct buf *b, const struct obj *o)
{
	const struct api_field *fields = o->cls->api->fields;

	buf_puts(b, "<member><name>");
	buf_puts(b, o->ref);
	buf_puts(b, "</name><value><struct>");
	for (int f = 0; f < o->cls->nfields; f++) {
		buf_puts(b, "<member><name>");
		buf_puts(b, fields[f].name);
		buf_puts(b, "</name>");
		xmlrpc_encode_value(b, o->f[f], XMLRPC_RAW_NAMES);
		buf_puts(b, "</member>");
	}
	buf_puts(b, "</struct></value></member>");
}

static void json_record(struct buf *b, const struct obj *o)
{
	const struct api_field *fields = o->cls->api->fields;

	json_encode_string(b, o->ref, strlen(o->ref));
	buf_puts(b, ":{");
	for (int f = 0; f < o->cls->nfields; f++) {
		if (f)
			buf_putc(b, ',');
		json_encode_string(b, fields[f].name, strlen(fields[f].name));
		buf_putc(b, ':');
		json_encode_value(b, o->f[f]);
	}
	buf_putc(b, '}');
}

/* Tens of megabytes written once: with 4 KiB pages, faulting them in costs
 * about a quarter of the time; ask for transparent huge pages instead. */
static void hugepages(struct buf *b)
{
	const uintptr_t huge = 2u << 20;
	uintptr_t lo = ((uintptr_t)b->data + b->len + huge - 1) & ~(huge - 1);
	uintptr_t hi = ((uintptr_t)b->data + b->cap) & ~(huge - 1);

	if (hi > lo)
		madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
}

/* Appends every record of c, growing out once from the first record's size
 * rather than doubling through tens of megabytes. */
static void records(struct buf *out, const struct cls *c, bool json)
{
	bool first = true;

	buf_puts(out, json ? "{" : "<value><struct>");
	for (const struct obj *o = db.head[c->idx]; o; o = o->cnext) {
		size_t before = out->len;
		if (json && !first)
			buf_putc(out, ',');
		if (json)
			json_record(out, o);
		else
			xml_record(out, o);
		if (first) {
			buf_reserve(out, (out->len - before) * (size_t)db.count[c->idx] * 9 / 8);
			hugepages(out);
		}
		first = false;
	}
	buf_puts(out, json ? "}" : "</struct></value>");
}

bool fastenc_xml_response(const char *method, const struct xv *params, struct buf *out)
{
	const struct cls *c = fast_class(method, params);
	struct buf env;
	struct xv *nil;
	const char *hole;

	if (!c || !lock_with_session(params))
		return false;
	/* the envelope is whatever the general encoder writes around a value */
	buf_init(&env);
	nil = xv_nil();
	xmlrpc_encode_success(&env, nil);
	xv_free(nil);
	hole = strstr(env.data, "<value><nil/></value>");
	buf_append(out, env.data, (size_t)(hole - env.data));
	records(out, c, false);
	buf_puts(out, hole + strlen("<value><nil/></value>"));
	db_unlock();
	buf_free(&env);
	return true;
}

bool fastenc_json_result(const char *method, const struct xv *params, struct buf *out)
{
	const struct cls *c = fast_class(method, params);

	if (!c || !lock_with_session(params))
		return false;
	records(out, c, true);
	db_unlock();
	return true;
}
