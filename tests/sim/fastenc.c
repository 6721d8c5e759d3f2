/* get_all_records written straight from the objects (see fastenc.h). The
 * bytes are exactly what the general path (implicit_all_records, then the
 * XML-RPC or JSON encoder) produces; only the intermediate copy is gone. */
#include "fastenc.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "db.h"
#include "implicit.h"
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

/* ---- JSON, written straight into the buffer ------------------------------
 * The bytes are json_encode_value's (src/core/json.c, the unsafe form), but
 * runs of plain bytes are copied at once and numbers formatted by hand, not
 * byte by byte through buf_putc and printf. */

/* What a byte becomes inside a JSON string: 0 itself, 'u' \u00XX, else a
 * backslash and that letter. */
static const char JSON_ESC[256] = {
	'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
	'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
	0, 0, '"', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '\\', 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'u',
};

/* Room for n more bytes at the end of b (and its NUL). */
static char *room(struct buf *b, size_t n)
{
	if (b->len + n + 1 > b->cap)
		buf_reserve(b, n);
	return b->data + b->len;
}

static void put_lit(struct buf *b, const char *s, size_t n)
{
	memcpy(room(b, n), s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void json_string(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	char *w = room(b, n * 6 + 2); /* \u00XX is the longest a byte grows */
	size_t i = 0;

	*w++ = '"';
	while (i < n) {
		size_t run = i;
		while (run < n && !JSON_ESC[p[run]])
			run++;
		memcpy(w, p + i, run - i);
		w += run - i;
		if (run == n)
			break;
		*w++ = '\\';
		*w = JSON_ESC[p[run]];
		if (*w++ == 'u') {
			memcpy(w, "00", 2);
			w[2] = hex[p[run] >> 4];
			w[3] = hex[p[run] & 15];
			w += 4;
		}
		i = run + 1;
	}
	*w++ = '"';
	b->len = (size_t)(w - b->data);
	*w = '\0';
}

static void json_int(struct buf *b, int64_t v)
{
	char tmp[24], *e = tmp + sizeof(tmp), *q = e;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do
		*--q = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--q = '-';
	put_lit(b, q, (size_t)(e - q));
}

static void json_double(struct buf *b, double d)
{
	char tmp[40];
	int n;

	if (isnan(d))
		n = snprintf(tmp, sizeof(tmp), "NaN");
	else if (isinf(d))
		n = snprintf(tmp, sizeof(tmp), "%s", d < 0 ? "-Infinity" : "Infinity");
	else if (d == floor(d) && fabs(d) < 1e15)
		n = snprintf(tmp, sizeof(tmp), "%.1f", d);
	else
		n = snprintf(tmp, sizeof(tmp), "%.17g", d);
	put_lit(b, tmp, (size_t)n);
}

void fastenc_json_value(struct buf *b, const struct xv *v)
{
	switch (v->type) {
	case XV_NIL:
		put_lit(b, "null", 4);
		break;
	case XV_STRING:
	case XV_DATETIME:
		json_string(b, v->u.s, v->n);
		break;
	case XV_INT:
	case XV_I4:
		json_int(b, v->u.i);
		break;
	case XV_DOUBLE:
		json_double(b, v->u.d);
		break;
	case XV_BOOL:
		if (v->u.b)
			put_lit(b, "true", 4);
		else
			put_lit(b, "false", 5);
		break;
	case XV_ARRAY:
		put_lit(b, "[", 1);
		for (size_t i = 0; i < v->n; i++) {
			if (i)
				put_lit(b, ",", 1);
			fastenc_json_value(b, v->u.arr.v[i]);
		}
		put_lit(b, "]", 1);
		break;
	case XV_STRUCT:
		put_lit(b, "{", 1);
		for (size_t i = 0; i < v->n; i++) {
			if (i)
				put_lit(b, ",", 1);
			json_string(b, v->u.st.m[i].k, strlen(v->u.st.m[i].k));
			put_lit(b, ":", 1);
			fastenc_json_value(b, v->u.st.m[i].v);
		}
		put_lit(b, "}", 1);
		break;
	}
}

/* A class's field names once, as they go before each value: "name": and,
 * from the second on, ,"name": (at[f] .. at[f+1] in keys). */
struct json_keys {
	struct buf keys;
	size_t *at;
};

static void json_keys_init(struct json_keys *k, const struct cls *c)
{
	const struct api_field *fields = c->api->fields;

	buf_init(&k->keys);
	k->at = xmalloc(((size_t)c->nfields + 1) * sizeof(*k->at));
	for (int f = 0; f < c->nfields; f++) {
		k->at[f] = k->keys.len;
		if (f)
			put_lit(&k->keys, ",", 1);
		json_string(&k->keys, fields[f].name, strlen(fields[f].name));
		put_lit(&k->keys, ":", 1);
	}
	k->at[c->nfields] = k->keys.len;
}

static void json_keys_free(struct json_keys *k)
{
	buf_free(&k->keys);
	free(k->at);
}

static void json_record(struct buf *b, const struct obj *o, const struct json_keys *k)
{
	json_string(b, o->ref, strlen(o->ref));
	put_lit(b, ":{", 2);
	for (int f = 0; f < o->cls->nfields; f++) {
		put_lit(b, k->keys.data + k->at[f], k->at[f + 1] - k->at[f]);
		fastenc_json_value(b, o->f[f]);
	}
	put_lit(b, "}", 1);
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
	struct json_keys keys;

	if (json)
		json_keys_init(&keys, c);
	buf_puts(out, json ? "{" : "<value><struct>");
	for (const struct obj *o = db.head[c->idx]; o; o = o->cnext) {
		size_t before = out->len;
		if (json && !first)
			buf_putc(out, ',');
		if (json)
			json_record(out, o, &keys);
		else
			xml_record(out, o);
		if (first) {
			buf_reserve(out, (out->len - before) * (size_t)db.count[c->idx] * 9 / 8);
			hugepages(out);
		}
		first = false;
	}
	buf_puts(out, json ? "}" : "</struct></value>");
	if (json)
		json_keys_free(&keys);
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
