#include "value.h"

#include "strpool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "util.h"

#define SLAB_CELLS 4096

struct slab {
	struct slab *next;
	struct xv cells[SLAB_CELLS];
};

static bool use_slab;
static struct slab *slabs;
static struct xv *free_cells; /* linked through u.arr.v */
static size_t carved = SLAB_CELLS;

/* Short strings (uuids, names) as one 64-byte cell each, node and text:
 * 16 bytes less than malloc's chunk for the same, on 50,000 uuids. */
#define STR_CELL 64
#define STR_TEXT (STR_CELL - sizeof(struct xv)) /* room for the text and its NUL */
union str_cell {
	struct xv v;
	char bytes[STR_CELL];
};
struct str_slab {
	struct str_slab *next;
	union str_cell cells[SLAB_CELLS];
};
static struct str_slab *str_slabs;
static struct xv *free_str_cells; /* linked through u.arr.v */
static size_t str_carved = SLAB_CELLS;

void xv_use_slab(void)
{
	use_slab = true;
}

void xv_slab_release(void)
{
	while (slabs) {
		struct slab *s = slabs;
		slabs = s->next;
		free(s);
	}
	free_cells = NULL;
	carved = SLAB_CELLS;
	while (str_slabs) {
		struct str_slab *s = str_slabs;
		str_slabs = s->next;
		free(s);
	}
	free_str_cells = NULL;
	str_carved = SLAB_CELLS;
	use_slab = false;
}

static struct xv *xv_new(enum xv_type t)
{
	struct xv *v;

	if (!use_slab) {
		v = xcalloc(1, sizeof(*v));
	} else if (free_cells) {
		v = free_cells;
		free_cells = (struct xv *)(void *)v->u.arr.v;
		memset(v, 0, sizeof(*v));
		v->slab = 1;
	} else {
		if (carved == SLAB_CELLS) {
			struct slab *s = xmalloc(sizeof(*s));
			s->next = slabs;
			slabs = s;
			carved = 0;
		}
		v = &slabs->cells[carved++];
		memset(v, 0, sizeof(*v));
		v->slab = 1;
	}
	v->type = (uint8_t)t;
	return v;
}

static struct xv *str_cell(void)
{
	struct xv *v;

	if (free_str_cells) {
		v = free_str_cells;
		free_str_cells = (struct xv *)(void *)v->u.arr.v;
	} else {
		if (str_carved == SLAB_CELLS) {
			struct str_slab *s = xmalloc(sizeof(*s));
			s->next = str_slabs;
			str_slabs = s;
			str_carved = 0;
		}
		v = &str_slabs->cells[str_carved++].v;
	}
	memset(v, 0, sizeof(*v));
	v->slab = 2;
	return v;
}

static void node_free(struct xv *v)
{
	if (!v->slab) {
		free(v);
	} else if (v->slab == 2) {
		v->u.arr.v = (struct xv **)(void *)free_str_cells;
		free_str_cells = v;
	} else {
		v->u.arr.v = (struct xv **)(void *)free_cells;
		free_cells = v;
	}
}

struct xv *xv_nil(void)
{
	return xv_new(XV_NIL);
}

/* The text lives in the same allocation as the node: half the mallocs for
 * the millions of small strings a large pool brings. */
struct xv *xv_string_n(const char *s, size_t n)
{
	struct xv *v;

	if (use_slab && n < STR_TEXT) {
		v = str_cell();
	} else {
		v = xmalloc(sizeof(*v) + n + 1);
		memset(v, 0, sizeof(*v));
	}
	v->type = XV_STRING;
	v->u.s = (char *)(v + 1);
	memcpy(v->u.s, s, n);
	v->u.s[n] = '\0';
	v->n = (uint32_t)n;
	return v;
}

struct xv *xv_string(const char *s)
{
	return xv_string_n(s, strlen(s));
}

struct xv *xv_string_take(char *s)
{
	struct xv *v = xv_new(XV_STRING);

	v->u.s = s;
	v->n = (uint32_t)strlen(s);
	return v;
}

struct xv *xv_string_borrowed(const char *s, size_t n)
{
	struct xv *v = xv_new(XV_STRING);

	v->u.s = (char *)s;
	v->n = (uint32_t)n;
	v->borrowed = 1;
	return v;
}

/* A pool cell holds a node: not from the slab, it lives as long as the pool. */
_Static_assert(sizeof(struct xv) <= STRPOOL_CELL, "a value node fits a string pool's cell");

struct xv *xv_string_shared(void *cell, const char *s, size_t n)
{
	struct xv *v = cell;

	if (!v->shared) { /* a new cell is all zero */
		v->type = XV_STRING;
		v->u.s = (char *)s;
		v->n = (uint32_t)n;
		v->borrowed = 1;
		v->shared = 1;
	}
	return v->type == XV_STRING ? v : NULL;
}

struct xv *xv_int_shared(void *cell, int64_t i)
{
	struct xv *v = cell;

	if (!v->shared) {
		v->type = XV_INT;
		v->u.i = i;
		v->shared = 1;
	}
	return v->type == XV_INT ? v : NULL;
}

/* Never changed (the mutators leave shared nodes alone) and never freed. */
static struct xv empty_struct = {.type = XV_STRUCT, .shared = 1};
static struct xv empty_array = {.type = XV_ARRAY, .shared = 1};

struct xv *xv_empty_shared(enum xv_type t)
{
	return t == XV_STRUCT ? &empty_struct : &empty_array;
}

struct xv *xv_int(int64_t i)
{
	struct xv *v = xv_new(XV_INT);

	v->u.i = i;
	return v;
}

struct xv *xv_i4(int32_t i)
{
	struct xv *v = xv_new(XV_I4);

	v->u.i = i;
	return v;
}

struct xv *xv_double(double d)
{
	struct xv *v = xv_new(XV_DOUBLE);

	v->u.d = d;
	return v;
}

struct xv *xv_bool(bool b)
{
	struct xv *v = xv_new(XV_BOOL);

	v->u.b = b;
	return v;
}

struct xv *xv_datetime(const char *s)
{
	struct xv *v = xv_string(s);

	v->type = XV_DATETIME;
	return v;
}

struct xv *xv_array(void)
{
	return xv_new(XV_ARRAY);
}

struct xv *xv_struct(void)
{
	return xv_new(XV_STRUCT);
}

void xv_array_push(struct xv *a, struct xv *item)
{
	if (a->n == a->u.arr.cap) {
		a->u.arr.cap = a->u.arr.cap ? a->u.arr.cap * 2 : 4;
		a->u.arr.v = xrealloc(a->u.arr.v, a->u.arr.cap * sizeof(*a->u.arr.v));
	}
	a->u.arr.v[a->n++] = item;
}

struct xv *xv_params_ref(const char *ref)
{
	struct xv *p = xv_array();

	xv_array_push(p, xv_string(ref));
	return p;
}

/* Shaped structs (borrowed == 2) keep keys and values apart. */
static const char *skey(const struct xv *s, uint32_t i)
{
	return s->borrowed == 2 ? s->u.sh.k[i] : s->u.st.m[i].k;
}

static struct xv **sval(const struct xv *s, uint32_t i)
{
	return s->borrowed == 2 ? &s->u.sh.v[i] : &s->u.st.m[i].v;
}

/* A shaped struct back to members of its own (before any change). */
static void unshape(struct xv *s)
{
	struct xv_member *m;

	if (s->borrowed != 2)
		return;
	m = s->n ? xmalloc(s->n * sizeof(*m)) : NULL;
	for (uint32_t i = 0; i < s->n; i++) {
		m[i].k = (char *)s->u.sh.k[i];
		m[i].v = s->u.sh.v[i];
	}
	free(s->u.sh.v);
	s->u.st.m = m;
	s->u.st.cap = s->n;
	s->borrowed = 1;
}

bool xv_struct_shape(struct xv *s, const char *const *keys)
{
	struct xv **v;

	if (!s || s->type != XV_STRUCT || s->shared || s->borrowed != 1 || !s->n)
		return false;
	for (uint32_t i = 0; i < s->n; i++)
		if (s->u.st.m[i].k != keys[i])
			return false;
	v = xmalloc(s->n * sizeof(*v));
	for (uint32_t i = 0; i < s->n; i++)
		v[i] = s->u.st.m[i].v;
	free(s->u.st.m);
	s->u.sh.v = v;
	s->u.sh.k = keys;
	s->borrowed = 2;
	return true;
}

void xv_struct_reserve(struct xv *s, size_t n)
{
	if (!s || s->type != XV_STRUCT || s->shared || s->borrowed == 2 || n <= s->u.st.cap || n > UINT32_MAX)
		return;
	s->u.st.m = xrealloc(s->u.st.m, n * sizeof(*s->u.st.m));
	s->u.st.cap = (uint32_t)n;
}

static void struct_grow(struct xv *s)
{
	unshape(s);
	if (s->n < s->u.st.cap)
		return;
	s->u.st.cap = s->u.st.cap ? s->u.st.cap * 2 : 4;
	s->u.st.m = xrealloc(s->u.st.m, s->u.st.cap * sizeof(*s->u.st.m));
}

/* Keys are all pooled or all owned: an owned key joining pooled ones makes
 * the struct own copies of them all (rare: decoded records are not grown). */
static void own_keys(struct xv *s)
{
	unshape(s);
	if (!s->borrowed)
		return;
	for (uint32_t i = 0; i < s->n; i++)
		s->u.st.m[i].k = xstrdup(s->u.st.m[i].k);
	s->borrowed = 0;
}

void xv_struct_add(struct xv *s, const char *key, struct xv *v)
{
	own_keys(s);
	struct_grow(s);
	s->u.st.m[s->n].k = xstrdup(key);
	s->u.st.m[s->n++].v = v;
}

void xv_struct_add_borrowed(struct xv *s, const char *key, struct xv *v)
{
	if (s->n == 0)
		s->borrowed = 1;
	if (!s->borrowed) {
		xv_struct_add(s, key, v);
		return;
	}
	struct_grow(s);
	s->u.st.m[s->n].k = (char *)key;
	s->u.st.m[s->n++].v = v;
}

static ssize_t struct_index(const struct xv *s, const char *key)
{
	if (!s || s->type != XV_STRUCT)
		return -1;
	for (uint32_t i = 0; i < s->n; i++) {
		const char *k = skey(s, i);
		/* the first byte tells most names apart, without a call */
		if (k[0] == key[0] && strcmp(k, key) == 0)
			return (ssize_t)i;
	}
	return -1;
}

/* Drops member i, handing back its value. */
static struct xv *struct_remove(struct xv *s, size_t i)
{
	struct xv *v;

	unshape(s);
	v = s->u.st.m[i].v;
	if (!s->borrowed)
		free(s->u.st.m[i].k);
	memmove(&s->u.st.m[i], &s->u.st.m[i + 1], (s->n - i - 1) * sizeof(*s->u.st.m));
	s->n--;
	return v;
}

void xv_struct_filter(struct xv *s, int (*keep)(const char *key, void *ud), void *ud)
{
	uint32_t k = 0;

	if (s->shared)
		return;
	unshape(s);
	for (uint32_t i = 0; i < s->n; i++) {
		if (keep(s->u.st.m[i].k, ud)) {
			s->u.st.m[k++] = s->u.st.m[i];
		} else {
			if (!s->borrowed)
				free(s->u.st.m[i].k);
			xv_free(s->u.st.m[i].v);
		}
	}
	s->n = k;
}

void xv_struct_set(struct xv *s, const char *key, struct xv *v)
{
	ssize_t i = struct_index(s, key);

	if (i < 0) {
		xv_struct_add(s, key, v);
		return;
	}
	xv_free(*sval(s, (uint32_t)i));
	*sval(s, (uint32_t)i) = v;
}

struct xv *xv_struct_get(const struct xv *s, const char *key)
{
	ssize_t i = struct_index(s, key);

	return i < 0 ? NULL : *sval(s, (uint32_t)i);
}

bool xv_struct_del(struct xv *s, const char *key)
{
	ssize_t i = struct_index(s, key);

	if (i < 0)
		return false;
	xv_free(struct_remove(s, (size_t)i));
	return true;
}

struct xv *xv_struct_take(struct xv *s, const char *key)
{
	ssize_t i = struct_index(s, key);

	return i < 0 ? NULL : struct_remove(s, (size_t)i);
}

void xv_shrink(struct xv *v)
{
	if (v->shared || (v->type == XV_STRUCT && v->borrowed == 2))
		return;
	if (v->type == XV_ARRAY && v->u.arr.cap > v->n) {
		v->u.arr.cap = v->n;
		if (v->n) {
			v->u.arr.v = xrealloc(v->u.arr.v, v->n * sizeof(*v->u.arr.v));
		} else {
			free(v->u.arr.v);
			v->u.arr.v = NULL;
		}
	} else if (v->type == XV_STRUCT && v->u.st.cap > v->n) {
		v->u.st.cap = v->n;
		if (v->n) {
			v->u.st.m = xrealloc(v->u.st.m, v->n * sizeof(*v->u.st.m));
		} else {
			free(v->u.st.m);
			v->u.st.m = NULL;
		}
	}
}

struct xv *xv_copy(const struct xv *v)
{
	struct xv *c;

	switch (v->type) {
	case XV_STRING:
	case XV_DATETIME:
		c = xv_string_n(v->u.s, v->n);
		c->type = v->type;
		return c;
	case XV_ARRAY:
		c = xv_array();
		for (uint32_t i = 0; i < v->n; i++)
			xv_array_push(c, xv_copy(v->u.arr.v[i]));
		return c;
	case XV_STRUCT:
		c = xv_struct();
		for (uint32_t i = 0; i < v->n; i++)
			xv_struct_add(c, skey(v, i), xv_copy(*sval(v, i)));
		return c;
	default:
		c = xv_new(v->type);
		c->u = v->u;
		return c;
	}
}

void xv_free(struct xv *v)
{
	if (!v || v->shared)
		return;
	switch (v->type) {
	case XV_STRING:
	case XV_DATETIME:
		if (v->u.s != (char *)(v + 1) && !v->borrowed)
			free(v->u.s);
		break;
	case XV_ARRAY:
		for (uint32_t i = 0; i < v->n; i++)
			xv_free(v->u.arr.v[i]);
		free(v->u.arr.v);
		break;
	case XV_STRUCT:
		if (v->borrowed == 2) {
			for (uint32_t i = 0; i < v->n; i++)
				xv_free(v->u.sh.v[i]);
			free(v->u.sh.v);
			break;
		}
		for (uint32_t i = 0; i < v->n; i++) {
			if (!v->borrowed)
				free(v->u.st.m[i].k);
			xv_free(v->u.st.m[i].v);
		}
		free(v->u.st.m);
		break;
	default:
		break;
	}
	node_free(v);
}

bool xv_equal(const struct xv *a, const struct xv *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case XV_NIL:
		return true;
	case XV_STRING:
	case XV_DATETIME:
		return a->n == b->n && memcmp(a->u.s, b->u.s, a->n) == 0;
	case XV_INT:
	case XV_I4:
		return a->u.i == b->u.i;
	case XV_DOUBLE:
		return a->u.d == b->u.d || (a->u.d != a->u.d && b->u.d != b->u.d);
	case XV_BOOL:
		return a->u.b == b->u.b;
	case XV_ARRAY:
		if (a->n != b->n)
			return false;
		for (uint32_t i = 0; i < a->n; i++)
			if (!xv_equal(a->u.arr.v[i], b->u.arr.v[i]))
				return false;
		return true;
	case XV_STRUCT:
		if (a->n != b->n)
			return false;
		for (uint32_t i = 0; i < a->n; i++) {
			const struct xv *o = xv_struct_get(b, skey(a, i));
			if (!o || !xv_equal(*sval(a, i), o))
				return false;
		}
		return true;
	}
	return false;
}

const char *xv_str(const struct xv *v)
{
	if (v && (v->type == XV_STRING || v->type == XV_DATETIME))
		return v->u.s;
	return NULL;
}

bool xv_get_int64(const struct xv *v, int64_t *out)
{
	char *end;
	long long n;

	if (!v)
		return false;
	if (v->type == XV_INT || v->type == XV_I4) {
		*out = v->u.i;
		return true;
	}
	if (v->type != XV_STRING || v->n == 0)
		return false;
	errno = 0;
	n = strtoll(v->u.s, &end, 10);
	if (errno || *end != '\0' || end != v->u.s + v->n)
		return false;
	*out = n;
	return true;
}

bool xv_get_double(const struct xv *v, double *out)
{
	char *end;
	double d;

	if (!v)
		return false;
	if (v->type == XV_DOUBLE) {
		*out = v->u.d;
		return true;
	}
	if (v->type == XV_INT || v->type == XV_I4) {
		*out = (double)v->u.i;
		return true;
	}
	if (v->type != XV_STRING || v->n == 0)
		return false;
	d = strtod(v->u.s, &end);
	if (*end != '\0')
		return false;
	*out = d;
	return true;
}

bool xv_get_bool(const struct xv *v, bool *out)
{
	if (!v || v->type != XV_BOOL)
		return false;
	*out = v->u.b;
	return true;
}

size_t xv_len(const struct xv *v)
{
	if (!v || (v->type != XV_ARRAY && v->type != XV_STRUCT))
		return 0;
	return v->n;
}

struct xv *xv_at(const struct xv *v, size_t i)
{
	if (!v || v->type != XV_ARRAY || i >= v->n)
		return NULL;
	return v->u.arr.v[i];
}

const char *xv_key_at(const struct xv *v, size_t i)
{
	if (!v || v->type != XV_STRUCT || i >= v->n)
		return NULL;
	return skey(v, (uint32_t)i);
}

struct xv *xv_value_at(const struct xv *v, size_t i)
{
	if (!v || v->type != XV_STRUCT || i >= v->n)
		return NULL;
	return *sval(v, (uint32_t)i);
}

const char *xv_type_name(enum xv_type t)
{
	static const char *const names[] = {
		"nil", "string", "int", "i4", "double", "boolean", "dateTime", "array", "struct",
	};
	return (unsigned)t < ARRAY_LEN(names) ? names[t] : "?";
}

static bool looks_unique(const char *s, size_t n)
{
	return (n == 36 && s[8] == '-' && s[13] == '-') || (n == 17 && s[2] == ':' && s[5] == ':');
}

struct xv *xv_pooled_string(struct strpool *pool, bool share_nodes, const char *s, size_t n)
{
	if (pool && ((n <= 64 && !looks_unique(s, n)) || (n < 80 && strncmp(s, "OpaqueRef:", 10) == 0))) {
		void *cell;
		const char *t = strpool_get_cell(pool, s, n, &cell);
		struct xv *v = share_nodes ? xv_string_shared(cell, t, n) : NULL;

		return v ? v : xv_string_borrowed(t, n);
	}
	return xv_string_n(s, n);
}
