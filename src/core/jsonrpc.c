/* The parser is yajl 2.1 (libyajl-dev): the one C JSON parser Debian ships
 * that streams, taking a reply in chunks as they arrive and handing out
 * events (key, string, number, start/end) without ever building a tree, so
 * a 19 MB get_all_records becomes only the fields the cache keeps. The
 * others build a DOM of the whole reply (json-c's tokener is incremental
 * but still returns one tree; jansson, cJSON, json-parser, libfastjson,
 * json-glib) or need the whole text in memory (jsmn); liblaxjson streams
 * but accepts what is not JSON on purpose. yajl is small, has no
 * dependencies, and Debian carries its security fixes (2.1.0-3+deb12u2),
 * though upstream has been quiet since 2.1.0. */
#include "jsonrpc.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "json.h"
#include "strpool.h"
#include "util.h"

/* ---- encoder ---------------------------------------------------------- */

void jsonrpc_encode_call(struct buf *b, const char *method, struct xv *const *params, size_t n, long long id)
{
	buf_puts(b, "{\"jsonrpc\":\"2.0\",\"method\":");
	json_encode_string(b, method, strlen(method));
	buf_puts(b, ",\"params\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_putc(b, ',');
		json_encode_value(b, params[i]);
	}
	buf_printf(b, "],\"id\":%lld}", id);
}

/* ---- decoder ---------------------------------------------------------- */

/* xapi's values nest a handful of levels (envelope, map, record, map): far
 * deeper is an attack on the stack, refused. */
#define MAX_DEPTH 64
/* xapi's numbers are at most 24 characters (%.17g, int64). */
#define MAX_NUMBER 64

/* Yojson writes NaN, Infinity and -Infinity, which JSON (and yajl) lack:
 * the filter in front of yajl turns them into numbers no one sends. */
#define SENTINEL_NAN "0e77777777777777777770"
#define SENTINEL_INF "0e77777777777777777771"

enum { J_OBJECT, J_ARRAY };

/* A member name of an object, as its raw bytes, and the verdict on it. */
struct jname {
	const char *key; /* pooled; NULL: the filter dropped it */
	bool ask;        /* the filter judges it in each object (key is set) */
	uint8_t len;
	char name[KEYCACHE_NAME];
};

struct jframe {
	int kind;
	struct xv *v;     /* the container (NULL: the envelope, built elsewhere) */
	const char *key;  /* objects: the key of the value to come (pooled) */
	bool drop;        /* objects: the filter dropped that value */
	/* the keys seen, pooled pointers (a repeated key is an error) */
	const char **seen;
	uint32_t seen_cap, nseen;
	bool seen_stale;  /* seen still holds the last object's keys */
	uint32_t hint; /* objects: the members of the last one closed at this depth */
	int objects;   /* the objects around a member of this frame, itself included */
	/* A filtered reply's records list their members in one order: the names
	 * of the last object closed at this frame (pred) foretell the next
	 * one's, each checked with one compare of its bytes, no hash, no filter,
	 * no pool, and no repeat check while every name so far came as foretold
	 * (the last object had none). rec learns the current object's names
	 * once it strays. */
	struct jname *pred, *rec;
	uint32_t npred, pred_cap, nrec, rec_cap;
	uint32_t pos;      /* the current object's members so far */
	int pred_objects;  /* the depth pred was learned at */
	bool on_track;     /* every member so far was foretold */
	bool rec_ok;       /* rec holds every member so far */
};

struct jsonrpc_decoder {
	yajl_handle y;
	struct jframe stack[MAX_DEPTH];
	int depth;
	struct jframe *cur; /* stack[depth - 1], or NULL: asked in every callback */
	int skip;          /* > 0: inside a dropped container, this many levels */
	bool root_seen;
	bool done;
	size_t fed;
	size_t parsed;     /* bytes handed to yajl */
	char *error;
	/* the envelope's members */
	struct xv *result, *err;
	bool has_result;
	xmlrpc_member_filter filter;
	void *filter_ud;
	struct strpool *pool;  /* the caller's, or NULL */
	struct strpool *own;   /* keys' identities without the caller's pool */
	bool share_nodes;
	struct buf text;       /* a string with replacements */
	/* the filter in front of yajl (NaN, Infinity) */
	enum { LX_OUT, LX_STR, LX_ESC, LX_LIT } lx;
	const char *lit;       /* LX_LIT: the rest of the literal */
	struct buf fixed;      /* a chunk with replacements */
	struct keycache *kc;   /* recent keys' verdicts (strpool.h), or NULL */
};

static void fail(struct jsonrpc_decoder *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct jsonrpc_decoder *d, const char *fmt, ...)
{
	va_list ap;

	if (d->error)
		return;
	va_start(ap, fmt);
	d->error = xvasprintf(fmt, ap);
	va_end(ap);
}

void jsonrpc_decoder_set_pool(struct jsonrpc_decoder *d, struct strpool *pool, bool share_nodes)
{
	d->pool = pool;
	d->share_nodes = pool && share_nodes;
	keycache_free(d->kc); /* its keys belonged to the old pool */
	d->kc = NULL;
	for (int i = 0; i < MAX_DEPTH; i++)
		d->stack[i].npred = 0;
}

void jsonrpc_decoder_set_filter(struct jsonrpc_decoder *d, xmlrpc_member_filter fn, void *ud)
{
	d->filter = fn;
	d->filter_ud = ud;
	keycache_free(d->kc); /* the verdicts were the old filter's */
	d->kc = NULL;
	for (int i = 0; i < MAX_DEPTH; i++)
		d->stack[i].npred = 0;
}

static int object_depth(const struct jsonrpc_decoder *d)
{
	return d->cur ? d->cur->objects : 0;
}

/* ---- strings ------------------------------------------------------------ */

/* One UTF-8 sequence at p: its length, and *bad when it is not one XML-RPC
 * would carry either (overlong, surrogate, beyond U+10FFFF, U+FFFE/F, cut
 * short), as the XML decoder's filter judges it: one U+FFFD for each. */
static size_t utf8_seq(const unsigned char *p, size_t avail, bool *bad)
{
	size_t need;
	uint32_t c;

	*bad = true;
	if (p[0] >= 0xC2 && p[0] <= 0xDF) {
		need = 2;
		c = p[0] & 0x1F;
	} else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		need = 3;
		c = p[0] & 0x0F;
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		need = 4;
		c = p[0] & 0x07;
	} else {
		return 1; /* a stray continuation byte, or a lead byte UTF-8 never uses */
	}
	for (size_t i = 1; i < need; i++) {
		if (i == avail || (p[i] & 0xC0) != 0x80)
			return i; /* cut short: the byte that cut it is read again */
		c = (c << 6) | (p[i] & 0x3F);
	}
	*bad = (need == 3 && c < 0x800) || (need == 4 && (c < 0x10000 || c > 0x10FFFF)) || (c >= 0xD800 && c <= 0xDFFF)
	       || c == 0xFFFE || c == 0xFFFF;
	return need;
}

/* 8 bytes of ASCII without a control character (tab, CR and LF are fine
 * but not plain: the byte-wise check lets them through). */
static bool plain8(const unsigned char *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	return !((w & 0x8080808080808080ULL) | ((w - 0x2020202020202020ULL) & ~w & 0x8080808080808080ULL));
}

/* The string as the XML-RPC path would hold it: control bytes other than
 * TAB, LF and CR dropped (as xapi's XML writer drops them: a NUL among
 * them, which no C string could carry), and what is not UTF-8 replaced by
 * U+FFFD (as the XML decoder does): pools hold what guests wrote. */
static const char *clean_string(struct jsonrpc_decoder *d, const unsigned char *s, size_t n, size_t *len)
{
	size_t i = 0;

	/* the common case, 8 bytes at a time: ASCII without controls */
	if (n >= 8) {
		while (i + 8 <= n && plain8(s + i))
			i += 8;
		if (i + 8 > n && plain8(s + n - 8)) /* the last bytes, again and the rest */
			i = n;
	}
	/* one compare a byte passes 0x20 to 0x7F; only the rest asks which */
	for (; i < n; i++)
		if ((unsigned char)(s[i] - 0x20) >= 0x60
		    && (s[i] >= 0x80 || (s[i] != '\t' && s[i] != '\n' && s[i] != '\r')))
			break;
	if (i == n) {
		*len = n;
		return (const char *)s;
	}
	buf_reset(&d->text);
	buf_append(&d->text, s, i);
	while (i < n) {
		unsigned char c = s[i];
		size_t k;
		bool bad;

		if (c < 0x80) {
			if (c >= 0x20 || c == '\t' || c == '\n' || c == '\r')
				buf_putc(&d->text, (char)c);
			i++;
			continue;
		}
		k = utf8_seq(s + i, n - i, &bad);
		if (bad)
			buf_puts(&d->text, "\xEF\xBF\xBD");
		else
			buf_append(&d->text, s + i, k);
		i += k;
	}
	buf_putc(&d->text, '\0');
	*len = d->text.len - 1;
	return d->text.data;
}

static struct xv *make_string(struct jsonrpc_decoder *d, const char *s, size_t n)
{
	return xv_pooled_string(d->pool, d->share_nodes, s, n);
}

static struct xv shared_false = {.type = XV_BOOL, .shared = 1, .u.b = false};
static struct xv shared_true = {.type = XV_BOOL, .shared = 1, .u.b = true};

/* Memory sizes, vCPU counts, MTUs: a few hundred values in 60,000 fields,
 * one shared node each (small or whole-MiB values only: the rest drift). */
static struct xv *make_int(struct jsonrpc_decoder *d, long long i)
{
	char key[1 + sizeof(i)];
	void *cell;
	struct xv *v;

	if (!d->share_nodes || !((i >= -1 && i <= 65536) || i % (1 << 20) == 0))
		return xv_int(i);
	/* a control byte first: apart from the strings, which never hold one */
	key[0] = '\001';
	memcpy(key + 1, &i, sizeof(i));
	strpool_get_cell(d->pool, key, sizeof(key), &cell);
	v = xv_int_shared(cell, i);
	return v ? v : xv_int(i);
}

/* ---- building ----------------------------------------------------------- */

static struct jframe *top(struct jsonrpc_decoder *d)
{
	return d->cur;
}

/* Whether the value about to start is dropped (and so not built). */
static bool dropping(struct jsonrpc_decoder *d)
{
	struct jframe *t = top(d);

	return d->skip > 0 || (t && t->kind == J_OBJECT && t->drop);
}

/* Hands a finished value to whatever contains it (takes it). */
static int attach(struct jsonrpc_decoder *d, struct xv *v)
{
	struct jframe *t = top(d);

	if (!t) {
		xv_free(v);
		fail(d, "a JSON-RPC reply is an object, not a lone value");
		return 0;
	}
	if (t->kind == J_ARRAY) {
		xv_array_push(t->v, v);
		return 1;
	}
	if (!t->key) {
		xv_free(v);
		fail(d, "a value without a key in a JSON object");
		return 0;
	}
	if (!t->v) {
		/* the envelope: result, error; anything else is not kept */
		if (strcmp(t->key, "result") == 0) {
			d->result = v;
			d->has_result = true;
		} else if (strcmp(t->key, "error") == 0) {
			d->err = v;
		} else {
			xv_free(v);
		}
	} else if (d->pool) {
		xv_struct_add_borrowed(t->v, t->key, v);
	} else {
		xv_struct_add(t->v, t->key, v);
	}
	t->key = NULL;
	return 1;
}

/* A scalar: built and attached, or ignored inside what the filter dropped. */
static int scalar(struct jsonrpc_decoder *d, struct xv *v)
{
	struct jframe *t = top(d);

	if (d->skip > 0)
		return 1;
	if (t && t->kind == J_OBJECT && t->drop) {
		t->drop = false;
		t->key = NULL;
		return 1;
	}
	return attach(d, v);
}

static int on_null(void *ctx)
{
	struct jsonrpc_decoder *d = ctx;

	return dropping(d) ? scalar(d, NULL) : scalar(d, xv_nil());
}

static int on_bool(void *ctx, int b)
{
	struct jsonrpc_decoder *d = ctx;

	if (dropping(d))
		return scalar(d, NULL);
	if (d->share_nodes)
		return scalar(d, b ? &shared_true : &shared_false);
	return scalar(d, xv_bool(b));
}

/* "NaN", "Infinity", "-Infinity" as the filter rewrote them. */
static bool sentinel(const char *s, double *out)
{
	bool neg = *s == '-';

	if (neg)
		s++;
	if (strcmp(s, SENTINEL_NAN) == 0) {
		*out = NAN;
		return true;
	}
	if (strcmp(s, SENTINEL_INF) == 0) {
		*out = neg ? -INFINITY : INFINITY;
		return true;
	}
	return false;
}

/* An integer of at most 18 digits (no overflow), as most of a reply's are,
 * without a copy and strtoll. yajl has checked the syntax. */
static bool small_int(const char *s, size_t n, long long *out)
{
	size_t i = n && s[0] == '-';
	long long v = 0;

	if (n == i || n - i > 18)
		return false;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = s[0] == '-' ? -v : v;
	return true;
}

static int on_number(void *ctx, const char *s, size_t n)
{
	struct jsonrpc_decoder *d = ctx;
	char text[MAX_NUMBER + 1];
	char *end;
	double x;
	long long small;

	if (dropping(d))
		return scalar(d, NULL);
	if (small_int(s, n, &small))
		return scalar(d, make_int(d, small));
	if (n > MAX_NUMBER) {
		fail(d, "a number of %zu digits in a JSON-RPC reply (xapi's have at most 24)", n);
		return 0;
	}
	memcpy(text, s, n);
	text[n] = '\0';
	if (sentinel(text, &x))
		return scalar(d, xv_double(x));
	errno = 0;
	if (!memchr(text, '.', n) && !memchr(text, 'e', n) && !memchr(text, 'E', n)) {
		long long i = strtoll(text, &end, 10);
		if (errno || *end) {
			fail(d, "the integer %s does not fit in 64 bits", text);
			return 0;
		}
		return scalar(d, make_int(d, i));
	}
	x = strtod(text, &end);
	if (*end || (errno == ERANGE && isinf(x))) {
		fail(d, "the number %s is out of range", text);
		return 0;
	}
	return scalar(d, xv_double(x));
}

static int on_string(void *ctx, const unsigned char *s, size_t n)
{
	struct jsonrpc_decoder *d = ctx;
	const char *t;
	size_t len;

	if (dropping(d))
		return scalar(d, NULL);
	t = clean_string(d, s, n, &len);
	return scalar(d, make_string(d, t, len));
}

static int open_container(struct jsonrpc_decoder *d, int kind)
{
	struct jframe *f;
	struct xv *v = NULL;

	if (d->depth + d->skip >= MAX_DEPTH) {
		fail(d, "JSON nested deeper than %d levels", MAX_DEPTH);
		return 0;
	}
	if (dropping(d)) {
		struct jframe *t = top(d);
		if (d->skip == 0 && t) {
			t->drop = false;
			t->key = NULL;
		}
		d->skip++;
		return 1;
	}
	if (!d->depth) {
		if (d->root_seen || kind != J_OBJECT) {
			fail(d, "a JSON-RPC reply is one object");
			return 0;
		}
		d->root_seen = true;
	} else {
		v = kind == J_OBJECT ? xv_struct() : xv_array();
	}
	f = &d->stack[d->depth];
	f->objects = object_depth(d) + (kind == J_OBJECT);
	d->depth++;
	d->cur = f;
	if (v && kind == J_OBJECT && f->hint) /* records in a row have the same members */
		xv_struct_reserve(v, f->hint);
	f->kind = kind;
	f->v = v;
	f->key = NULL;
	f->drop = false;
	f->nseen = 0;
	f->seen_stale = true; /* cleared when first needed: on track, never */
	f->pos = 0;
	f->nrec = 0;
	f->on_track = f->npred > 0 && f->pred_objects == f->objects;
	f->rec_ok = !f->on_track;
	return 1;
}

static int close_container(struct jsonrpc_decoder *d)
{
	struct jframe *f;

	if (d->skip > 0) {
		d->skip--;
		return 1;
	}
	f = top(d);
	if (!f)
		return 1; /* yajl balances them: not reached */
	d->depth--;
	d->cur = d->depth ? f - 1 : NULL;
	if (!f->v) {
		d->done = true;
		return 1;
	}
	if (f->kind == J_OBJECT) {
		f->hint = f->v->n;
		if (d->filter && !f->on_track) {
			/* the next object at this frame is foretold by this one */
			struct jname *p = f->pred;
			uint32_t cap = f->pred_cap;
			if (f->rec_ok && f->nrec) {
				f->pred = f->rec;
				f->pred_cap = f->rec_cap;
				f->npred = f->nrec;
				f->rec = p;
				f->rec_cap = cap;
				f->pred_objects = f->objects;
			} else {
				f->npred = 0;
			}
		}
	}
	if (f->v->n == 0 && d->share_nodes && d->filter) {
		/* a record's empty map or list (the cache's, which never changes them) */
		enum xv_type t = (enum xv_type)f->v->type;
		xv_free(f->v);
		return attach(d, xv_empty_shared(t));
	}
	xv_shrink(f->v);
	return attach(d, f->v);
}

static int on_start_map(void *ctx)
{
	return open_container(ctx, J_OBJECT);
}

static int on_start_array(void *ctx)
{
	return open_container(ctx, J_ARRAY);
}

static int on_end(void *ctx)
{
	return close_container(ctx);
}

/* Adds key (pooled) to the object's keys seen; false if already there. */
static bool first_time(struct jframe *f, const char *key)
{
	uint32_t h, mask;

	if (f->seen_stale) {
		if (f->seen)
			memset(f->seen, 0, f->seen_cap * sizeof(*f->seen));
		f->seen_stale = false;
	}
	if (f->nseen * 2 >= f->seen_cap) {
		uint32_t cap = f->seen_cap ? f->seen_cap * 2 : 32;
		const char **old = f->seen;
		uint32_t oldcap = f->seen_cap;
		f->seen = xcalloc(cap, sizeof(*f->seen));
		f->seen_cap = cap;
		for (uint32_t i = 0; i < oldcap; i++)
			if (old[i]) {
				h = (uint32_t)(((uintptr_t)old[i] >> 3) * 2654435761u) & (cap - 1);
				while (f->seen[h])
					h = (h + 1) & (cap - 1);
				f->seen[h] = old[i];
			}
		free(old);
	}
	mask = f->seen_cap - 1;
	h = (uint32_t)(((uintptr_t)key >> 3) * 2654435761u) & mask;
	while (f->seen[h]) {
		if (f->seen[h] == key)
			return false;
		h = (h + 1) & mask;
	}
	f->seen[h] = key;
	f->nseen++;
	return true;
}

/* A kept key in the object (a repeated one is an error: which would count?). */
static int use_key(struct jsonrpc_decoder *d, struct jframe *t, const char *key)
{
	if (!first_time(t, key)) {
		fail(d, "the key \"%.60s\" appears twice in one JSON object", key);
		return 0;
	}
	t->key = key;
	t->drop = false;
	return 1;
}

/* Appends the current object's next name and verdict to what it teaches
 * the next object at this frame (refs, one of a kind, and long names stop
 * the lesson: the next object is then not foretold). */
static void learn(struct jframe *t, const char *name, size_t len, const char *key, bool ask)
{
	struct jname *r;

	if (!t->rec_ok)
		return;
	if (len >= KEYCACHE_NAME || (len > 10 && memcmp(name, "OpaqueRef:", 10) == 0)) {
		t->rec_ok = false;
		return;
	}
	if (t->nrec == t->rec_cap) {
		t->rec_cap = t->rec_cap ? t->rec_cap * 2 : 32;
		t->rec = xrealloc(t->rec, t->rec_cap * sizeof(*t->rec));
	}
	r = &t->rec[t->nrec++];
	r->key = key;
	r->ask = ask;
	r->len = (uint8_t)len;
	memcpy(r->name, name, len);
}

/* a[0..n) == b[0..n) for a short name, without a call per member */
static bool same_name(const char *a, const unsigned char *b, size_t n)
{
	uint64_t x, y;

	if (n < 8) {
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)a[i] != b[i])
				return false;
		return true;
	}
	for (size_t i = 0; i + 8 < n; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			return false;
	}
	memcpy(&x, a + n - 8, 8); /* the last 8, overlapping what was compared */
	memcpy(&y, b + n - 8, 8);
	return x == y;
}

/* The object strays from the last one's names at member pos: what came so
 * far is checked and learned as it would have been one by one. */
static void leave_track(struct jframe *t)
{
	t->on_track = false;
	t->rec_ok = true;
	t->nrec = 0;
	for (uint32_t i = 0; i < t->pos; i++) {
		if (t->pred[i].key)
			first_time(t, t->pred[i].key); /* distinct: they were checked in the last object */
		learn(t, t->pred[i].name, t->pred[i].len, t->pred[i].key, t->pred[i].ask);
	}
}

/* The filter's verdict on name, a member of the innermost object. */
static int ask_filter(struct jsonrpc_decoder *d, const char *name)
{
	struct jframe *t = top(d), *up = d->depth >= 2 ? t - 1 : NULL;
	struct xmlrpc_at at = {t->v, NULL, NULL};

	if (up && up->kind == J_OBJECT) { /* t's object is the value of up's key */
		at.obj_name = up->key;
		at.outer = up->v;
	}
	return d->filter(d->filter_ud, t->objects, name, &at);
}

static int on_key(void *ctx, const unsigned char *s, size_t n)
{
	struct jsonrpc_decoder *d = ctx;
	struct jframe *t = top(d);
	const char *text, *key;
	char name[128];
	size_t len;
	bool remember, filtered;
	int verdict = XMLRPC_KEEP;

	if (d->skip > 0 || !t)
		return 1;
	remember = t->v && d->filter;
	if (remember && t->on_track) {
		/* the raw bytes, as learned: a name is learned as clean text, so
		 * only the same clean name matches it */
		const struct jname *p = t->pos < t->npred ? &t->pred[t->pos] : NULL;
		if (p && p->len == n && same_name(p->name, s, n)) {
			t->pos++;
			t->drop = !p->key
				  || (p->ask && !(ask_filter(d, p->key) & XMLRPC_KEEP));
			t->key = t->drop ? NULL : p->key;
			return 1;
		}
		leave_track(t);
	}
	if (remember) {
		/* the raw bytes first, as above */
		const struct keycache_entry *e;
		if (!d->kc)
			d->kc = keycache_new();
		if ((e = keycache_find(d->kc, s, n, t->objects))) {
			t->pos++;
			learn(t, (const char *)s, n, e->drop ? NULL : e->key, false);
			if (e->drop) {
				t->drop = true;
				t->key = NULL;
				return 1;
			}
			return use_key(d, t, e->key);
		}
		t->pos++;
	}
	text = clean_string(d, s, n, &len);
	/* mended (its raw bytes would never match), or a ref: one of a kind */
	if (text != (const char *)s || (len > 10 && memcmp(text, "OpaqueRef:", 10) == 0))
		remember = false;
	filtered = t->v && d->filter;
	/* the name comes first: a dropped member's value is never built, and
	 * its name never pooled (most of a record's fields, in a cache load) */
	if (filtered && len < sizeof(name)) {
		memcpy(name, text, len);
		name[len] = '\0';
		verdict = ask_filter(d, name);
		if (verdict == XMLRPC_DROP) {
			t->drop = true;
			t->key = NULL;
			if (remember)
				keycache_put(d->kc, text, len, t->objects, NULL, true);
			learn(t, text, len, NULL, false);
			return 1;
		}
	}
	if (!d->pool && !d->own)
		d->own = strpool_new();
	key = strpool_get(d->pool ? d->pool : d->own, text, len);
	if (filtered && len >= sizeof(name))
		verdict = ask_filter(d, key);
	if (!t->v) { /* the envelope keeps result and error only */
		if (!use_key(d, t, key))
			return 0;
		t->drop = strcmp(key, "result") != 0 && strcmp(key, "error") != 0;
		return 1;
	}
	if (verdict & XMLRPC_KEEP) {
		if (!use_key(d, t, key))
			return 0;
	} else {
		t->drop = true;
		t->key = NULL;
	}
	/* the next record's same key skips the filter and the pool, unless
	 * the filter judges it in each record */
	if (remember && !(verdict & XMLRPC_ASK))
		keycache_put(d->kc, text, len, t->objects, t->drop ? NULL : key, t->drop);
	if (filtered)
		learn(t, text, len, t->drop && !(verdict & XMLRPC_ASK) ? NULL : key, verdict & XMLRPC_ASK);
	return 1;
}

static const yajl_callbacks callbacks = {
	.yajl_null = on_null,
	.yajl_boolean = on_bool,
	.yajl_number = on_number,
	.yajl_string = on_string,
	.yajl_start_map = on_start_map,
	.yajl_map_key = on_key,
	.yajl_end_map = on_end,
	.yajl_start_array = on_start_array,
	.yajl_end_array = on_end,
};

struct jsonrpc_decoder *jsonrpc_decoder_new(void)
{
	struct jsonrpc_decoder *d = xcalloc(1, sizeof(*d));

	buf_init(&d->text);
	buf_init(&d->fixed);
	d->y = yajl_alloc(&callbacks, NULL, d);
	if (!d->y) {
		fail(d, "cannot create a JSON parser");
		return d;
	}
	/* strings are checked (and mended) by clean_string, as XML-RPC's are */
	yajl_config(d->y, yajl_dont_validate_strings, 1);
	return d;
}

void jsonrpc_decoder_free(struct jsonrpc_decoder *d)
{
	if (!d)
		return;
	/* open containers are owned by their frame until attached */
	for (int i = 0; i < d->depth; i++)
		xv_free(d->stack[i].v);
	for (int i = 0; i < MAX_DEPTH; i++) {
		free(d->stack[i].seen);
		free(d->stack[i].pred);
		free(d->stack[i].rec);
	}
	if (d->y)
		yajl_free(d->y);
	xv_free(d->result);
	xv_free(d->err);
	strpool_free(d->own);
	keycache_free(d->kc);
	buf_free(&d->text);
	buf_free(&d->fixed);
	free(d->error);
	free(d);
}

/* ---- feeding yajl ------------------------------------------------------- */

/* yajl's own message: one line, nothing of the input in it. */
static void yajl_failed(struct jsonrpc_decoder *d)
{
	unsigned char *e = yajl_get_error(d->y, 0, NULL, 0);
	char msg[200];
	size_t n;

	snprintf(msg, sizeof(msg), "%s", e ? (const char *)e : "error");
	if (e)
		yajl_free_error(d->y, e);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	fail(d, "malformed JSON near byte %zu: %s", d->parsed, msg);
}

static void parse(struct jsonrpc_decoder *d, const char *p, size_t n)
{
	yajl_status st;

	if (d->error || !n)
		return;
	st = yajl_parse(d->y, (const unsigned char *)p, n);
	if (st == yajl_status_error) {
		d->parsed += yajl_get_bytes_consumed(d->y);
		yajl_failed(d);
		return;
	}
	d->parsed += n;
	if (st != yajl_status_ok)
		fail(d, "the JSON parser stopped");
}

#ifdef __SSE2__
/* Bits k of the 64 bytes at p that are a quote (*q), a backslash (*b), or
 * 'N' or 'I' (*l): each 16 bytes loaded once. */
static void masks64(const unsigned char *p, uint64_t *q, uint64_t *b, uint64_t *l)
{
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	const __m128i nan = _mm_set1_epi8('N'), inf = _mm_set1_epi8('I');

	*q = *b = *l = 0;
	for (int k = 0; k < 4; k++) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
		*q |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)) << (16 * k);
		*b |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, bslash)) << (16 * k);
		*l |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, nan), _mm_cmpeq_epi8(v, inf)))
		      << (16 * k);
	}
}
#endif

/* From p[i] in state d->lx (not LX_LIT): the index of the first 'N' or 'I'
 * outside a string (a NaN or Infinity to rewrite), or n, with d->lx the
 * state there. 64 bytes at a time: without a backslash among them, which
 * bytes are in strings follows from the quotes' bits alone; with one, each
 * quote, backslash and letter in turn. Most chunks have no literal and go
 * to yajl as they are. */
static size_t scan_plain(struct jsonrpc_decoder *d, const unsigned char *p, size_t i, size_t n)
{
#ifdef __SSE2__
	bool in_str = d->lx != LX_OUT;
	size_t skip = d->lx == LX_ESC ? i + 1 : i; /* bytes before it are escaped */

	for (; i < n; i += 64) {
		uint64_t q, b, l, m;

		if (i + 64 <= n) {
			masks64(p + i, &q, &b, &l);
			if (!b && skip <= i) {
				/* no escape: byte k is inside a string when the quotes
				 * before it are odd (a prefix XOR of the quotes' bits) */
				uint64_t x = q;
				x ^= x << 1;
				x ^= x << 2;
				x ^= x << 4;
				x ^= x << 8;
				x ^= x << 16;
				x ^= x << 32;
				if (in_str)
					x = ~x;
				if (l & ~x) {
					d->lx = LX_OUT;
					return i + (size_t)__builtin_ctzll(l & ~x);
				}
				in_str = (x >> 63) & 1; /* the state after the 64 bytes */
				continue;
			}
			m = q | b | l;
		} else {
			m = 0; /* the tail, a byte at a time */
			for (size_t k = i; k < n; k++)
				if (p[k] == '"' || p[k] == '\\' || p[k] == 'N' || p[k] == 'I')
					m |= UINT64_C(1) << (k - i);
		}
		/* escapes: each quote, backslash and letter in turn */
		for (; m; m &= m - 1) {
			size_t k = i + (size_t)__builtin_ctzll(m);

			if (k < skip)
				continue;
			if (p[k] == '"') {
				in_str = !in_str;
			} else if (p[k] == '\\') {
				if (in_str)
					skip = k + 2; /* the next byte is escaped */
			} else if (!in_str) {
				d->lx = LX_OUT;
				return k;
			}
		}
	}
	d->lx = !in_str ? LX_OUT : skip > n ? LX_ESC : LX_STR;
	return n;
#else
	(void)d;
	(void)p;
	(void)n;
	return i; /* the byte-wise filter below does it all */
#endif
}

/* Passes p to yajl with Yojson's NaN, Infinity and -Infinity (outside
 * strings) rewritten as sentinel numbers; a chunk without any goes as it
 * is, uncopied. A literal cut by the chunk's end goes on in the next. */
static void filter_feed(struct jsonrpc_decoder *d, const char *data, size_t n)
{
	const unsigned char *p = (const unsigned char *)data;
	size_t i = 0, clean = 0;
	bool changed = false;

	if (d->lx != LX_LIT) {
		i = scan_plain(d, p, 0, n);
		if (i == n) {
			parse(d, data, n);
			return;
		}
	}
	while (i < n && !d->error) {
		unsigned char c;

		switch (d->lx) {
		case LX_STR:
			/* to the next quote or backslash, 8 bytes at a time */
			while (i + 8 <= n) {
				uint64_t w, q, s;
				memcpy(&w, p + i, 8);
				q = w ^ 0x2222222222222222ULL;
				s = w ^ 0x5C5C5C5C5C5C5C5CULL;
				if (((q - 0x0101010101010101ULL) & ~q & 0x8080808080808080ULL)
				    | ((s - 0x0101010101010101ULL) & ~s & 0x8080808080808080ULL))
					break;
				i += 8;
			}
			for (; i < n; i++)
				if (p[i] == '"' || p[i] == '\\')
					break;
			if (i == n)
				break;
			d->lx = p[i] == '"' ? LX_OUT : LX_ESC;
			i++;
			break;
		case LX_ESC:
			d->lx = LX_STR;
			i++;
			break;
		case LX_LIT:
			if (p[i] != (unsigned char)*d->lit) {
				fail(d, "malformed JSON near byte %zu: a word that is not NaN or Infinity", d->parsed + i);
				return;
			}
			if (!changed)
				buf_reset(&d->fixed);
			changed = true;
			buf_append(&d->fixed, p + clean, i - clean);
			clean = ++i;
			if (!*++d->lit)
				d->lx = LX_OUT;
			break;
		case LX_OUT:
			/* numbers, punctuation and literals up to the next string or NaN/Infinity */
			while (i < n && p[i] != '"' && p[i] != 'N' && p[i] != 'I')
				i++;
			if (i == n)
				break;
			c = p[i];
			if (c == '"') {
				d->lx = LX_STR;
			} else if (c == 'N' || c == 'I') {
				if (!changed)
					buf_reset(&d->fixed);
				changed = true;
				buf_append(&d->fixed, p + clean, i - clean);
				buf_puts(&d->fixed, c == 'N' ? SENTINEL_NAN : SENTINEL_INF);
				d->lit = c == 'N' ? "aN" : "nfinity";
				d->lx = LX_LIT;
				clean = i + 1;
			}
			i++;
			break;
		}
	}
	if (d->error)
		return;
	if (!changed) {
		parse(d, data, n);
		return;
	}
	buf_append(&d->fixed, p + clean, n - clean);
	parse(d, d->fixed.data, d->fixed.len);
	if (d->fixed.cap > (1u << 20)) /* a huge chunk's copy is not kept */
		buf_free(&d->fixed);
}

bool jsonrpc_decoder_feed(struct jsonrpc_decoder *d, const char *data, size_t len)
{
	d->fed += len;
	if (!d->error && len)
		filter_feed(d, data, len);
	return !d->error;
}

/* [code, params...] from the error member, in any of xapi's forms. */
static struct xv *error_description(struct jsonrpc_decoder *d, struct xv *e)
{
	struct xv *out, *msg, *data;

	if (e->type == XV_ARRAY) /* v1, and xapi's pre-dispatch quirk */
		return e;
	if (e->type == XV_STRING) {
		out = xv_array();
		xv_array_push(out, e);
		return out;
	}
	msg = e->type == XV_STRUCT ? xv_struct_take(e, "message") : NULL;
	if (!msg || msg->type != XV_STRING) {
		xv_free(msg);
		xv_free(e);
		fail(d, "a JSON-RPC error without a message");
		return NULL;
	}
	out = xv_array();
	xv_array_push(out, msg);
	data = xv_struct_take(e, "data");
	if (data && data->type == XV_ARRAY) {
		for (size_t i = 0; i < xv_len(data); i++)
			xv_array_push(out, xv_copy(xv_at(data, i)));
		xv_free(data);
	} else if (data && data->type != XV_NIL) {
		xv_array_push(out, data);
	} else {
		xv_free(data);
	}
	xv_free(e);
	return out;
}

bool jsonrpc_decoder_finish(struct jsonrpc_decoder *d, struct xmlrpc_msg *out)
{
	struct xv *env;

	memset(out, 0, sizeof(*out));
	if (!d->error && d->fed == 0)
		fail(d, "an empty JSON-RPC reply");
	if (!d->error && d->lx == LX_LIT)
		fail(d, "malformed JSON: it ends inside a word");
	if (!d->error && !d->done)
		fail(d, d->root_seen ? "the JSON-RPC reply ends early" : "an empty JSON-RPC reply");
	if (!d->error && yajl_complete_parse(d->y) != yajl_status_ok)
		yajl_failed(d);
	if (!d->error && !d->has_result && (!d->err || d->err->type == XV_NIL))
		fail(d, "a JSON-RPC reply without a result or an error");
	if (d->error)
		return false;
	env = xv_struct();
	if (d->err && d->err->type != XV_NIL) {
		struct xv *e = error_description(d, d->err);
		d->err = NULL;
		if (!e) {
			xv_free(env);
			return false;
		}
		xv_struct_add(env, "Status", xv_string("Failure"));
		xv_struct_add(env, "ErrorDescription", e);
	} else {
		xv_struct_add(env, "Status", xv_string("Success"));
		xv_struct_add(env, "Value", d->result ? d->result : xv_nil());
		d->result = NULL;
	}
	out->params = xv_array();
	xv_array_push(out->params, env);
	return true;
}

const char *jsonrpc_decoder_error(const struct jsonrpc_decoder *d)
{
	return d->error ? d->error : "no error";
}

bool jsonrpc_decode(const char *data, size_t len, struct xmlrpc_msg *out, char **err)
{
	struct jsonrpc_decoder *d = jsonrpc_decoder_new();
	bool ok = jsonrpc_decoder_feed(d, data, len) && jsonrpc_decoder_finish(d, out);

	if (!ok) {
		memset(out, 0, sizeof(*out));
		if (err)
			*err = xstrdup(jsonrpc_decoder_error(d));
	}
	jsonrpc_decoder_free(d);
	return ok;
}
