#include "xmlrpc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>

#include "strpool.h"
#include "util.h"

/* ---- encoder ---------------------------------------------------------- */

/* xapi escapes & < > " and silently drops control bytes other than TAB, LF
 * and CR (they cannot appear in XML 1.0 at all). */
static void put_escaped(struct buf *b, const char *s, size_t n)
{
	size_t run = 0;

	buf_reserve(b, n);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *rep = NULL;

		switch (c) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		default:
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				rep = "";
			break;
		}
		if (!rep) {
			run++;
			continue;
		}
		buf_append(b, s + i - run, run);
		run = 0;
		buf_puts(b, rep);
	}
	buf_append(b, s + n - run, run);
}

static void put_double(struct buf *b, double d)
{
	if (isnan(d))
		buf_puts(b, "nan");
	else if (isinf(d))
		buf_puts(b, d < 0 ? "-inf" : "inf");
	else
		buf_printf(b, "%.16g", d);
}

void xmlrpc_encode_value(struct buf *b, const struct xv *v, enum xmlrpc_names names)
{
	buf_puts(b, "<value>");
	switch (v->type) {
	case XV_NIL:
		buf_puts(b, "<nil/>");
		break;
	case XV_STRING:
		put_escaped(b, v->u.s, v->n);
		break;
	case XV_INT:
		buf_printf(b, "%lld", (long long)v->u.i);
		break;
	case XV_I4:
		buf_printf(b, "<i4>%lld</i4>", (long long)v->u.i);
		break;
	case XV_DOUBLE:
		buf_puts(b, "<double>");
		put_double(b, v->u.d);
		buf_puts(b, "</double>");
		break;
	case XV_BOOL:
		buf_puts(b, v->u.b ? "<boolean>1</boolean>" : "<boolean>0</boolean>");
		break;
	case XV_DATETIME:
		buf_puts(b, "<dateTime.iso8601>");
		put_escaped(b, v->u.s, v->n);
		buf_puts(b, "</dateTime.iso8601>");
		break;
	case XV_ARRAY:
		buf_puts(b, "<array><data>");
		for (size_t i = 0; i < v->n; i++)
			xmlrpc_encode_value(b, v->u.arr.v[i], names);
		buf_puts(b, "</data></array>");
		break;
	case XV_STRUCT:
		buf_puts(b, "<struct>");
		for (size_t i = 0; i < v->n; i++) {
			buf_puts(b, "<member><name>");
			const char *k = xv_key_at(v, i); /* a shaped struct's too */
			if (names == XMLRPC_RAW_NAMES)
				buf_puts(b, k);
			else
				put_escaped(b, k, strlen(k));
			buf_puts(b, "</name>");
			xmlrpc_encode_value(b, xv_value_at(v, i), names);
			buf_puts(b, "</member>");
		}
		buf_puts(b, "</struct>");
		break;
	}
	buf_puts(b, "</value>");
}

void xmlrpc_encode_call(struct buf *b, const char *method, struct xv *const *params, size_t n)
{
	buf_puts(b, "<?xml version=\"1.0\"?><methodCall><methodName>");
	put_escaped(b, method, strlen(method));
	buf_puts(b, "</methodName><params>");
	for (size_t i = 0; i < n; i++) {
		buf_puts(b, "<param>");
		xmlrpc_encode_value(b, params[i], XMLRPC_ESCAPE_NAMES);
		buf_puts(b, "</param>");
	}
	buf_puts(b, "</params></methodCall>");
}

void xmlrpc_encode_response(struct buf *b, const struct xv *v)
{
	buf_puts(b, "<?xml version=\"1.0\"?><methodResponse><params><param>");
	xmlrpc_encode_value(b, v, XMLRPC_RAW_NAMES);
	buf_puts(b, "</param></params></methodResponse>");
}

void xmlrpc_encode_success(struct buf *b, const struct xv *v)
{
	buf_puts(b, "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>"
		    "<member><name>Status</name><value>Success</value></member>"
		    "<member><name>Value</name>");
	xmlrpc_encode_value(b, v, XMLRPC_RAW_NAMES);
	buf_puts(b, "</member></struct></value></param></params></methodResponse>");
}

void xmlrpc_encode_failure(struct buf *b, const struct xv *error_description)
{
	buf_puts(b, "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>"
		    "<member><name>Status</name><value>Failure</value></member>"
		    "<member><name>ErrorDescription</name>");
	xmlrpc_encode_value(b, error_description, XMLRPC_RAW_NAMES);
	buf_puts(b, "</member></struct></value></param></params></methodResponse>");
}

/* ---- decoder ---------------------------------------------------------- */

enum frame_kind {
	F_CALL,
	F_RESPONSE,
	F_METHODNAME,
	F_PARAMS,
	F_PARAM,
	F_FAULT,
	F_VALUE,
	F_SCALAR,
	F_ARRAY,
	F_DATA,
	F_STRUCT,
	F_MEMBER,
	F_NAME,
	F_NIL,
	F_SKIP, /* inside a member the filter dropped: parsed, not built */
};

struct frame {
	enum frame_kind kind;
	struct xv *v;    /* F_VALUE: the value once known; F_ARRAY/F_STRUCT: the container */
	char *name;      /* F_MEMBER: its name once seen */
	bool pooled;     /* F_MEMBER: name is from the pool, not ours */
	bool skip;       /* F_MEMBER: the filter dropped it */
	enum xv_type scalar; /* F_SCALAR: the type to convert the text to */
};

#define MAX_DEPTH 256

/* The longest numeric character reference judged ("&#x10FFFF;" is 10). */
#define MAX_REF 12

struct xmlrpc_decoder {
	xmlParserCtxtPtr ctxt;
	/* the filter in front of libxml2 (see filter_span) */
	unsigned char head[256]; /* the start, until its encoding is known */
	size_t nhead;
	bool decided;            /* the encoding is known */
	bool raw;                /* not UTF-8: fed to libxml2 as it comes */
	bool strict;             /* no replacement: a forbidden character is an error */
	unsigned char held[32];  /* an incomplete sequence at the end of the last chunk */
	size_t nheld;
	struct buf fixed;        /* a chunk with replacements */
	struct frame stack[MAX_DEPTH];
	int depth;
	bool root_seen;
	bool done;
	size_t fed;
	struct buf text;
	struct xmlrpc_msg msg;
	char *error;
	struct buf generic; /* libxml2's message outside the parser's handler, in pieces */
	xmlrpc_member_filter filter;
	void *filter_ud;
	struct strpool *pool;
	bool share_nodes;
	bool skipping;
	struct keycache *kc; /* recent names' verdicts (strpool.h), or NULL */
};

void xmlrpc_decoder_set_pool(struct xmlrpc_decoder *d, struct strpool *pool, bool share_nodes)
{
	d->pool = pool;
	d->share_nodes = pool && share_nodes;
	keycache_free(d->kc); /* its names belonged to the old pool */
	d->kc = NULL;
}

void xmlrpc_decoder_set_filter(struct xmlrpc_decoder *d, xmlrpc_member_filter fn, void *ud)
{
	d->filter = fn;
	d->filter_ud = ud;
	keycache_free(d->kc); /* the verdicts were the old filter's */
	d->kc = NULL;
}

static int struct_depth(const struct xmlrpc_decoder *d)
{
	int n = 0;

	for (int i = 0; i < d->depth; i++)
		if (d->stack[i].kind == F_STRUCT)
			n++;
	return n;
}

static void fail(struct xmlrpc_decoder *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct xmlrpc_decoder *d, const char *fmt, ...)
{
	va_list ap;

	if (d->error)
		return;
	va_start(ap, fmt);
	d->error = xvasprintf(fmt, ap);
	va_end(ap);
	if (d->ctxt)
		xmlStopParser(d->ctxt);
}

static struct frame *top(struct xmlrpc_decoder *d)
{
	return d->depth ? &d->stack[d->depth - 1] : NULL;
}

static struct frame *push(struct xmlrpc_decoder *d, enum frame_kind kind)
{
	struct frame *f;

	if (d->depth == MAX_DEPTH) {
		fail(d, "XML-RPC nesting deeper than %d levels", MAX_DEPTH);
		return NULL;
	}
	f = &d->stack[d->depth++];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	return f;
}

static bool scalar_type(const char *name, enum xv_type *t)
{
	static const struct {
		const char *name;
		enum xv_type type;
	} map[] = {
		{"string", XV_STRING}, {"int", XV_INT}, {"i4", XV_INT}, {"i8", XV_INT},
		{"double", XV_DOUBLE}, {"boolean", XV_BOOL}, {"dateTime.iso8601", XV_DATETIME},
		{"base64", XV_STRING},
	};
	for (size_t i = 0; i < ARRAY_LEN(map); i++)
		if (strcmp(name, map[i].name) == 0) {
			*t = map[i].type;
			return true;
		}
	return false;
}

static void on_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
		     int nb_namespaces, const xmlChar **namespaces, int nb_attributes, int nb_defaulted,
		     const xmlChar **attributes)
{
	struct xmlrpc_decoder *d = ctx;
	const char *name = (const char *)localname;
	struct frame *t = top(d);
	struct frame *f;
	enum xv_type st;

	(void)prefix, (void)uri, (void)nb_namespaces, (void)namespaces;
	(void)nb_attributes, (void)nb_defaulted, (void)attributes;
	if (d->error)
		return;
	if (d->skipping) {
		push(d, F_SKIP);
		return;
	}
	if (!t) {
		if (d->root_seen) {
			fail(d, "more than one root element");
		} else if (strcmp(name, "methodCall") == 0) {
			d->msg.is_call = true;
			push(d, F_CALL);
		} else if (strcmp(name, "methodResponse") == 0) {
			push(d, F_RESPONSE);
		} else {
			fail(d, "<%s> is not an XML-RPC document", name);
		}
		d->root_seen = true;
		return;
	}
	switch (t->kind) {
	case F_CALL:
		if (strcmp(name, "methodName") == 0) {
			buf_reset(&d->text);
			push(d, F_METHODNAME);
			return;
		}
		if (strcmp(name, "params") == 0 && !d->msg.params) {
			d->msg.params = xv_array();
			push(d, F_PARAMS);
			return;
		}
		break;
	case F_RESPONSE:
		if (strcmp(name, "params") == 0 && !d->msg.params && !d->msg.fault) {
			d->msg.params = xv_array();
			push(d, F_PARAMS);
			return;
		}
		if (strcmp(name, "fault") == 0 && !d->msg.params && !d->msg.fault) {
			push(d, F_FAULT);
			return;
		}
		break;
	case F_PARAMS:
		if (strcmp(name, "param") == 0) {
			push(d, F_PARAM);
			return;
		}
		break;
	case F_MEMBER:
		if (strcmp(name, "name") == 0 && !t->name) {
			buf_reset(&d->text);
			push(d, F_NAME);
			return;
		}
		if (strcmp(name, "value") == 0 && t->skip) {
			d->skipping = true;
			push(d, F_SKIP);
			return;
		}
		/* fall through */
	case F_PARAM:
	case F_FAULT:
	case F_DATA:
		if (strcmp(name, "value") == 0) {
			buf_reset(&d->text);
			push(d, F_VALUE);
			return;
		}
		break;
	case F_VALUE:
		if (t->v)
			break;
		if (scalar_type(name, &st)) {
			buf_reset(&d->text);
			f = push(d, F_SCALAR);
			if (f)
				f->scalar = st;
			return;
		}
		if (strcmp(name, "array") == 0) {
			t->v = xv_array();
			f = push(d, F_ARRAY);
			if (f)
				f->v = t->v;
			return;
		}
		if (strcmp(name, "struct") == 0) {
			t->v = xv_struct();
			f = push(d, F_STRUCT);
			if (f)
				f->v = t->v;
			return;
		}
		if (strcmp(name, "nil") == 0) {
			t->v = xv_nil();
			push(d, F_NIL);
			return;
		}
		break;
	case F_ARRAY:
		if (strcmp(name, "data") == 0) {
			push(d, F_DATA);
			return;
		}
		break;
	case F_STRUCT:
		if (strcmp(name, "member") == 0) {
			push(d, F_MEMBER);
			return;
		}
		break;
	default:
		break;
	}
	fail(d, "unexpected <%s> in XML-RPC", name);
}

static struct xv *make_string(struct xmlrpc_decoder *d, const char *s, size_t n);

/* With shared nodes (one client thread, records kept long), every boolean is
 * one of these two: never changed, never freed. */
static struct xv shared_false = {.type = XV_BOOL, .shared = 1, .u.b = false};
static struct xv shared_true = {.type = XV_BOOL, .shared = 1, .u.b = true};

static struct xv *convert_scalar(struct xmlrpc_decoder *d, enum xv_type t, const char *text)
{
	bool b;

	char *end;
	long long n;
	double x;

	switch (t) {
	case XV_INT:
		errno = 0;
		n = strtoll(text, &end, 10);
		while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
			end++;
		if (errno || end == text || *end) {
			fail(d, "bad integer '%.40s'", text);
			return NULL;
		}
		return xv_int(n);
	case XV_DOUBLE:
		x = strtod(text, &end);
		while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
			end++;
		if (end == text || *end) {
			fail(d, "bad double '%.40s'", text);
			return NULL;
		}
		return xv_double(x);
	case XV_BOOL:
		/* xapi's parser: "1" is true, anything else false */
		while (*text == ' ' || *text == '\n' || *text == '\t' || *text == '\r')
			text++;
		b = text[0] == '1' && (text[1] == '\0' || text[1] == ' ' || text[1] == '\n');
		if (d->share_nodes)
			return b ? &shared_true : &shared_false;
		return xv_bool(b);
	case XV_DATETIME:
		return xv_datetime(text);
	default:
		return make_string(d, text, strlen(text));
	}
}

static struct xv *make_string(struct xmlrpc_decoder *d, const char *s, size_t n)
{
	return xv_pooled_string(d->pool, d->share_nodes, s, n);
}

/* Hands a finished value to whatever contains it. */
static void attach(struct xmlrpc_decoder *d, struct xv *v)
{
	struct frame *p = top(d);

	switch (p->kind) {
	case F_PARAM:
		xv_array_push(d->msg.params, v);
		return;
	case F_FAULT:
		if (d->msg.fault) {
			xv_free(v);
			fail(d, "two values in <fault>");
			return;
		}
		d->msg.fault = v;
		return;
	case F_DATA:
		xv_array_push(d->stack[d->depth - 2].v, v);
		return;
	case F_MEMBER:
		if (p->v) {
			xv_free(v);
			fail(d, "two values in one <member>");
			return;
		}
		p->v = v;
		return;
	default:
		xv_free(v);
		fail(d, "misplaced <value>");
	}
}

static void on_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
	struct xmlrpc_decoder *d = ctx;
	struct frame *f = top(d);
	struct frame *p;
	struct xv *v;

	(void)localname, (void)prefix, (void)uri;
	if (d->error || !f)
		return;
	d->depth--;
	p = top(d);
	switch (f->kind) {
	case F_CALL:
	case F_RESPONSE:
		d->done = true;
		return;
	case F_METHODNAME:
		free(d->msg.method);
		d->msg.method = xstrndup(d->text.data ? d->text.data : "", d->text.len);
		return;
	case F_SCALAR:
		v = convert_scalar(d, f->scalar, d->text.data ? d->text.data : "");
		if (v)
			p->v = v;
		return;
	case F_VALUE:
		v = f->v;
		if (!v)
			v = make_string(d, d->text.data ? d->text.data : "", d->text.len);
		attach(d, v);
		return;
	case F_NAME: {
		const char *text = d->text.data ? d->text.data : "";
		size_t len = d->text.len;
		int depth = struct_depth(d);
		/* a record's names repeat: their pooled copy and verdict are remembered */
		bool remember = d->pool && d->filter && !(len > 10 && memcmp(text, "OpaqueRef:", 10) == 0);
		if (remember) {
			const struct keycache_entry *e;
			if (!d->kc)
				d->kc = keycache_new();
			if ((e = keycache_find(d->kc, text, len, depth))) {
				p->name = (char *)e->key;
				p->pooled = true;
				p->skip = e->drop;
				return;
			}
		}
		if (d->pool) {
			p->name = (char *)strpool_get(d->pool, text, len);
			p->pooled = true;
		} else {
			p->name = xstrndup(text, len);
		}
		/* the name comes first: a dropped member's value is never built */
		if (d->filter) {
			/* <struct><member><value><struct><member><name>: the member's
			 * struct two frames down, the one around it five */
			const struct frame *s = d->depth >= 2 ? &d->stack[d->depth - 2] : NULL;
			const struct frame *in = d->depth >= 5 ? &d->stack[d->depth - 4] : NULL;
			struct xmlrpc_at at = {s && s->kind == F_STRUCT ? s->v : NULL, NULL, NULL};
			int verdict;

			if (at.obj && in && in->kind == F_MEMBER && d->stack[d->depth - 5].kind == F_STRUCT) {
				at.obj_name = in->name;
				at.outer = d->stack[d->depth - 5].v;
			}
			verdict = d->filter(d->filter_ud, depth, p->name, &at);
			p->skip = !(verdict & XMLRPC_KEEP);
			if (verdict & XMLRPC_ASK)
				remember = false;
		}
		if (remember)
			keycache_put(d->kc, text, len, depth, p->name, p->skip);
		return;
	}
	case F_SKIP:
		if (p && p->kind == F_MEMBER)
			d->skipping = false;
		return;
	case F_MEMBER:
		if (!f->name || (!f->v && !f->skip)) {
			if (!f->pooled)
				free(f->name);
			xv_free(f->v);
			fail(d, "<member> without a name or a value");
			return;
		}
		if (f->skip)
			xv_free(f->v);
		else if (f->pooled) /* xapi never repeats a key: no duplicate check */
			xv_struct_add_borrowed(p->v, f->name, f->v);
		else
			xv_struct_add(p->v, f->name, f->v);
		if (!f->pooled)
			free(f->name);
		return;
	case F_ARRAY:
	case F_STRUCT:
		if (f->v->n == 0 && d->share_nodes && d->filter && p && p->kind == F_VALUE && p->v == f->v) {
			/* a record's empty map or list (the cache's, which never changes them) */
			p->v = xv_empty_shared((enum xv_type)f->v->type);
			xv_free(f->v);
			return;
		}
		xv_shrink(f->v);
		return;
	case F_PARAM:
	case F_FAULT:
	case F_PARAMS:
	case F_DATA:
	case F_NIL:
		return;
	}
}

static void on_text(void *ctx, const xmlChar *ch, int len)
{
	struct xmlrpc_decoder *d = ctx;
	struct frame *t = top(d);

	if (d->error || !t || t->kind == F_SKIP)
		return;
	switch (t->kind) {
	case F_VALUE:
		if (t->v)
			return; /* whitespace around a typed child */
		/* fall through */
	case F_SCALAR:
	case F_NAME:
	case F_METHODNAME:
		buf_append(&d->text, ch, (size_t)len);
		return;
	default:
		for (int i = 0; i < len; i++)
			if (ch[i] != ' ' && ch[i] != '\t' && ch[i] != '\n' && ch[i] != '\r') {
				fail(d, "unexpected text in XML-RPC");
				return;
			}
	}
}

/* A DOCTYPE could declare entities (and expand them a billion times). */
static void on_doctype(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
	(void)name, (void)ext, (void)sys;
	fail(ctx, "DOCTYPE is not allowed in XML-RPC");
}

static void on_xml_error(void *ctx, const xmlError *e)
{
	struct xmlrpc_decoder *d = ctx;
	char msg[200];
	size_t n;

	if (!e || e->level < XML_ERR_ERROR)
		return;
	snprintf(msg, sizeof(msg), "%s", e->message ? e->message : "error");
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	/* libxml2 puts details on a line of their own ("...\nBytes: 0xE9"):
	 * one error is one line, wherever it is shown */
	for (char *p = msg; *p; p++)
		if (*p == '\n')
			*p = ' ';
		else if ((unsigned char)*p < 0x20)
			*p = ' ';
	fail(d, "malformed XML at line %d: %s", e->line, msg);
}

/* libxml2 2.12 made the structured handler's error const. */
#if LIBXML_VERSION >= 21200
static void on_xml_error_cb(void *ctx, const xmlError *e)
#else
static void on_xml_error_cb(void *ctx, xmlErrorPtr e)
#endif
{
	on_xml_error(ctx, e);
}

struct xmlrpc_decoder *xmlrpc_decoder_new(void)
{
	struct xmlrpc_decoder *d = xcalloc(1, sizeof(*d));
	xmlSAXHandler sax;

	memset(&sax, 0, sizeof(sax));
	sax.initialized = XML_SAX2_MAGIC;
	sax.startElementNs = on_start;
	sax.endElementNs = on_end;
	sax.characters = on_text;
	sax.cdataBlock = on_text;
	sax.internalSubset = on_doctype;
	sax.serror = on_xml_error_cb;
	buf_init(&d->text);
	buf_init(&d->fixed);
	buf_init(&d->generic);
	d->ctxt = xmlCreatePushParserCtxt(&sax, d, NULL, 0, NULL);
	if (!d->ctxt) {
		fail(d, "cannot create an XML parser");
		return d;
	}
	xmlCtxtUseOptions(d->ctxt, XML_PARSE_NONET);
	return d;
}

void xmlrpc_decoder_free(struct xmlrpc_decoder *d)
{
	if (!d)
		return;
	/* open value frames own their value, open members their name and value;
	 * array and struct frames only point at their value frame's container */
	for (int i = 0; i < d->depth; i++) {
		struct frame *f = &d->stack[i];
		if (f->kind == F_VALUE || f->kind == F_MEMBER)
			xv_free(f->v);
		if (f->kind == F_MEMBER && !f->pooled)
			free(f->name);
	}
	if (d->ctxt)
		xmlFreeParserCtxt(d->ctxt);
	xmlrpc_msg_free(&d->msg);
	buf_free(&d->text);
	buf_free(&d->fixed);
	buf_free(&d->generic);
	keycache_free(d->kc);
	free(d->error);
	free(d);
}

/* ---- the filter in front of libxml2 ------------------------------------
 * XML 1.0 forbids C0 controls but TAB, LF and CR, U+FFFE, U+FFFF,
 * surrogates and malformed UTF-8, and libxml2 stops at the first one (its
 * RECOVER option would go on, but it also accepts mismatched tags and
 * drops or truncates the rest of a text node, so it cannot tell a damaged
 * reply from a bad string). Pools hold such strings (guests write them), so
 * each is replaced by U+FFFD, as the screen would show it anyway, before
 * the bytes reach the parser; numeric references to them (&#xFFFE;) too.
 * Streaming: a sequence cut by a chunk's end waits for the next chunk. */

#define REPLACEMENT "\xEF\xBF\xBD"

static bool xml_char(uint32_t c)
{
	return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD)
	       || (c >= 0x10000 && c <= 0x10FFFF);
}

/* "&#...;" at p: its length, 0 when more bytes are needed, and *bad when
 * it names a character XML forbids. Anything else is left to libxml2. */
static size_t char_ref(const unsigned char *p, size_t avail, bool final, bool *bad)
{
	bool hex;
	size_t i, digits = 0;
	uint32_t v = 0;

	if (avail < 3)
		return final || (avail == 2 && p[1] != '#') ? 1 : 0;
	if (p[1] != '#')
		return 1;
	hex = p[2] == 'x';
	for (i = hex ? 3 : 2; i < avail && i < MAX_REF; i++) {
		unsigned d;
		if (p[i] == ';')
			break;
		if (p[i] >= '0' && p[i] <= '9')
			d = p[i] - '0';
		else if (hex && ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'f'))
			d = (p[i] | 0x20) - 'a' + 10;
		else
			return 1;
		v = v * (hex ? 16 : 10) + d;
		if (v > 0x110000)
			v = 0x110000; /* out of range, and no overflow */
		digits++;
	}
	if (i == avail && i < MAX_REF)
		return final ? 1 : 0;
	if (i == MAX_REF || !digits)
		return 1;
	*bad = !xml_char(v);
	return i + 1;
}

/* One character at p (a byte, a UTF-8 sequence or a character reference):
 * its length, 0 when it continues in the next chunk; *bad when it must go. */
static size_t token(const unsigned char *p, size_t avail, bool final, bool *bad)
{
	unsigned char c = p[0];
	size_t need;
	uint32_t cp;

	*bad = false;
	if (c < 0x80) {
		if (c == '&')
			return char_ref(p, avail, final, bad);
		*bad = c < 0x20 && c != '\t' && c != '\n' && c != '\r';
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		need = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 4;
		cp = c & 0x07;
	} else {
		*bad = true; /* a stray continuation byte, or a lead byte UTF-8 never uses */
		return 1;
	}
	for (size_t i = 1; i < need; i++) {
		if (i == avail) {
			if (!final)
				return 0;
			*bad = true;
			return avail;
		}
		if ((p[i] & 0xC0) != 0x80) {
			*bad = true; /* cut short: the byte that cut it is read again */
			return i;
		}
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	/* overlong forms, surrogates, beyond U+10FFFF, U+FFFE and U+FFFF */
	*bad = (need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) || !xml_char(cp);
	return need;
}

/* libxml2 reports encoding errors to its generic handler (stderr, over the
 * screen, in several lines): kept here, and made the call's error, on one
 * line, once the parser has returned (stopping it inside would crash it). */
static void on_generic(void *ctx, const char *fmt, ...)
{
	struct xmlrpc_decoder *d = ctx;
	va_list ap;

	if (!d || d->generic.len > 400)
		return;
	va_start(ap, fmt);
	buf_vprintf(&d->generic, fmt, ap);
	va_end(ap);
}

static void quiet(void *ctx, const char *fmt, ...)
{
	(void)ctx, (void)fmt;
}

static void parse_chunk(struct xmlrpc_decoder *d, const char *data, int n, int end)
{
	xmlSetGenericErrorFunc(d, on_generic);
	xmlParseChunk(d->ctxt, data, n, end);
	xmlSetGenericErrorFunc(NULL, quiet);
	if (d->generic.len && !d->error) {
		char *p = d->generic.data, *nl = strchr(p, '\n');
		size_t k;
		if (nl && nl[1]) /* the first message only: libxml2 repeats itself */
			*nl = '\0';
		k = strlen(p);
		while (k && (p[k - 1] == '\n' || p[k - 1] == ' '))
			p[--k] = '\0';
		for (char *q = p; *q; q++)
			if ((unsigned char)*q < 0x20)
				*q = ' ';
		fail(d, "malformed XML: %s", p);
	}
}

static void parse(struct xmlrpc_decoder *d, const char *data, size_t len)
{
	while (!d->error && len) {
		int n = len > (1 << 30) ? 1 << 30 : (int)len;
		parse_chunk(d, data, n, 0);
		data += n;
		len -= (size_t)n;
	}
}

/* Feeds p to the parser with forbidden characters replaced; returns how
 * many bytes it took (the rest is an incomplete sequence). A chunk
 * without any goes to libxml2 as it is, uncopied. */
static size_t filter_span(struct xmlrpc_decoder *d, const unsigned char *p, size_t n, bool final)
{
	size_t i = 0, clean = 0;
	bool changed = false;

	while (i < n) {
		unsigned char c;
		size_t k;
		bool bad;

		/* the common case, 8 bytes at a time: printable ASCII but '&' */
		while (i + 8 <= n) {
			uint64_t w;
			memcpy(&w, p + i, 8);
			if ((w & 0x8080808080808080ULL) | ((w - 0x2020202020202020ULL) & ~w & 0x8080808080808080ULL)
			    | (((w ^ 0x2626262626262626ULL) - 0x0101010101010101ULL) & ~(w ^ 0x2626262626262626ULL)
			       & 0x8080808080808080ULL))
				break;
			i += 8;
		}
		if (i == n)
			break;
		c = p[i];
		if ((c >= 0x20 && c < 0x80 && c != '&') || c == '\n' || c == '\t' || c == '\r') {
			i++;
			continue;
		}
		k = token(p + i, n - i, final, &bad);
		if (!k)
			break;
		if (bad) {
			if (!changed)
				buf_reset(&d->fixed);
			changed = true;
			buf_append(&d->fixed, p + clean, i - clean);
			buf_puts(&d->fixed, REPLACEMENT);
			clean = i + k;
		}
		i += k;
	}
	if (!changed) {
		parse(d, (const char *)p, i);
		return i;
	}
	buf_append(&d->fixed, p + clean, i - clean);
	parse(d, d->fixed.data, d->fixed.len);
	/* a huge chunk's copy is not kept */
	if (d->fixed.cap > (1u << 20))
		buf_free(&d->fixed);
	else
		buf_reset(&d->fixed);
	return i;
}

/* Filters data, keeping what a later chunk completes in held. */
static void feed_filtered(struct xmlrpc_decoder *d, const char *data, size_t len)
{
	const unsigned char *p = (const unsigned char *)data;
	size_t used;

	if (d->raw) {
		parse(d, data, len);
		return;
	}
	/* first the sequence the last chunk cut, completed from this one */
	while (d->nheld && len && !d->error) {
		size_t old = d->nheld, take = len < sizeof(d->held) - old ? len : sizeof(d->held) - old;

		memcpy(d->held + old, p, take);
		used = filter_span(d, d->held, old + take, false);
		if (used >= old) {
			p += used - old;
			len -= used - old;
			d->nheld = 0;
			break;
		}
		memmove(d->held, d->held + used, old + take - used);
		d->nheld = old + take - used;
		p += take;
		len -= take;
	}
	if (!len || d->error)
		return;
	used = filter_span(d, p, len, false);
	/* at most MAX_REF bytes: always fits */
	memcpy(d->held, p + used, len - used);
	d->nheld = len - used;
}

/* A declaration naming another encoding than UTF-8 (or a UTF-16 mark):
 * the filter, which reads UTF-8, stands aside and libxml2 decides. */
static bool other_encoding(const unsigned char *h, size_t n)
{
	const unsigned char *end, *e;
	char name[32];
	size_t k = 0;

	if (n >= 2 && ((h[0] == 0xFE && h[1] == 0xFF) || (h[0] == 0xFF && h[1] == 0xFE) || h[0] == 0))
		return true;
	if (n < 5 || memcmp(h, "<?xml", 5) != 0 || !(end = memmem(h, n, "?>", 2)))
		return false;
	e = memmem(h, (size_t)(end - h), "encoding", 8);
	if (!e)
		return false;
	for (e += 8; e < end && (*e == ' ' || *e == '=' || *e == '"' || *e == '\''); e++)
		;
	while (e < end && *e != '"' && *e != '\'' && k < sizeof(name) - 1)
		name[k++] = (char)*e++;
	name[k] = '\0';
	return strcasecmp(name, "UTF-8") != 0 && strcasecmp(name, "UTF8") != 0;
}

/* The start is enough to know the encoding: all of a declaration, or no
 * declaration at all. */
static bool head_complete(const struct xmlrpc_decoder *d)
{
	size_t k = d->nhead < 5 ? d->nhead : 5;

	return d->nhead == sizeof(d->head) || memcmp(d->head, "<?xml", k) != 0
	       || (d->nhead >= 5 && memmem(d->head, d->nhead, "?>", 2));
}

static void decide_encoding(struct xmlrpc_decoder *d)
{
	d->decided = true;
	d->raw = d->strict || other_encoding(d->head, d->nhead);
	feed_filtered(d, (const char *)d->head, d->nhead);
	d->nhead = 0;
}

bool xmlrpc_decoder_feed(struct xmlrpc_decoder *d, const char *data, size_t len)
{
	d->fed += len;
	if (!d->decided && !d->error) {
		size_t take = len < sizeof(d->head) - d->nhead ? len : sizeof(d->head) - d->nhead;

		memcpy(d->head + d->nhead, data, take);
		d->nhead += take;
		data += take;
		len -= take;
		if (!head_complete(d))
			return !d->error;
		decide_encoding(d);
	}
	if (!d->error && len)
		feed_filtered(d, data, len);
	return !d->error;
}

/* The end of the input: a sequence still cut is replaced too. */
static void flush_filter(struct xmlrpc_decoder *d)
{
	if (!d->decided)
		decide_encoding(d);
	while (!d->error && d->nheld) {
		size_t used = filter_span(d, d->held, d->nheld, true);
		memmove(d->held, d->held + used, d->nheld - used);
		d->nheld -= used;
	}
}

bool xmlrpc_decoder_finish(struct xmlrpc_decoder *d, struct xmlrpc_msg *out)
{
	memset(out, 0, sizeof(*out));
	if (!d->error && d->fed == 0)
		fail(d, "empty XML-RPC document");
	if (!d->error)
		flush_filter(d);
	if (!d->error)
		parse_chunk(d, NULL, 0, 1);
	if (!d->error && !d->done)
		fail(d, d->root_seen ? "XML-RPC document ends early" : "empty XML-RPC document");
	if (!d->error && d->msg.is_call && !d->msg.method)
		fail(d, "<methodCall> without <methodName>");
	if (!d->error && !d->msg.params && !d->msg.fault)
		fail(d, d->msg.is_call ? "<methodCall> without <params>" : "<methodResponse> without <params>");
	if (d->error)
		return false;
	*out = d->msg;
	memset(&d->msg, 0, sizeof(d->msg));
	return true;
}

const char *xmlrpc_decoder_error(const struct xmlrpc_decoder *d)
{
	return d->error ? d->error : "no error";
}

void xmlrpc_msg_free(struct xmlrpc_msg *m)
{
	free(m->method);
	xv_free(m->params);
	xv_free(m->fault);
	memset(m, 0, sizeof(*m));
}

void xmlrpc_decoder_set_strict(struct xmlrpc_decoder *d)
{
	d->strict = true;
}

static bool decode_whole(const char *data, size_t len, struct xmlrpc_msg *out, char **err, bool strict)
{
	struct xmlrpc_decoder *d = xmlrpc_decoder_new();
	bool ok;

	if (strict)
		xmlrpc_decoder_set_strict(d);
	ok = xmlrpc_decoder_feed(d, data, len) && xmlrpc_decoder_finish(d, out);

	if (!ok) {
		memset(out, 0, sizeof(*out));
		if (err)
			*err = xstrdup(xmlrpc_decoder_error(d));
	}
	xmlrpc_decoder_free(d);
	return ok;
}

bool xmlrpc_decode(const char *data, size_t len, struct xmlrpc_msg *out, char **err)
{
	return decode_whole(data, len, out, err, false);
}

bool xmlrpc_decode_strict(const char *data, size_t len, struct xmlrpc_msg *out, char **err)
{
	return decode_whole(data, len, out, err, true);
}
