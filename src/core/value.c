#include "value.h"

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

static void node_free(struct xv *v)
{
	if (!v->slab) {
		free(v);
		return;
	}
	v->u.arr.v = (struct xv **)(void *)free_cells;
	free_cells = v;
}

struct xv *xv_nil(void)
{
	return xv_new(XV_NIL);
}

/* The text lives in the same allocation as the node: half the mallocs for
 * the millions of small strings a large pool brings. */
struct xv *xv_string_n(const char *s, size_t n)
{
	struct xv *v = xmalloc(sizeof(*v) + n + 1);

	memset(v, 0, sizeof(*v));
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

struct xv *xv_string_shared(const char *s, size_t n)
{
	struct xv *v = xcalloc(1, sizeof(*v)); /* not from the slab: it outlives values */

	v->type = XV_STRING;
	v->u.s = (char *)s;
	v->n = (uint32_t)n;
	v->borrowed = 1;
	v->shared = 1;
	return v;
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

static void struct_grow(struct xv *s)
{
	if (s->n < s->u.st.cap)
		return;
	s->u.st.cap = s->u.st.cap ? s->u.st.cap * 2 : 4;
	s->u.st.m = xrealloc(s->u.st.m, s->u.st.cap * sizeof(*s->u.st.m));
}

/* Keys are all pooled or all owned: an owned key joining pooled ones makes
 * the struct own copies of them all (rare: decoded records are not grown). */
static void own_keys(struct xv *s)
{
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
	for (uint32_t i = 0; i < s->n; i++)
		if (strcmp(s->u.st.m[i].k, key) == 0)
			return (ssize_t)i;
	return -1;
}

/* Drops member i, handing back its value. */
static struct xv *struct_remove(struct xv *s, size_t i)
{
	struct xv *v = s->u.st.m[i].v;

	if (!s->borrowed)
		free(s->u.st.m[i].k);
	memmove(&s->u.st.m[i], &s->u.st.m[i + 1], (s->n - i - 1) * sizeof(*s->u.st.m));
	s->n--;
	return v;
}

void xv_struct_filter(struct xv *s, int (*keep)(const char *key, void *ud), void *ud)
{
	uint32_t k = 0;

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
	xv_free(s->u.st.m[i].v);
	s->u.st.m[i].v = v;
}

struct xv *xv_struct_get(const struct xv *s, const char *key)
{
	ssize_t i = struct_index(s, key);

	return i < 0 ? NULL : s->u.st.m[i].v;
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
	if (v->type == XV_ARRAY && v->u.arr.cap > v->n) {
		v->u.arr.cap = v->n;
		if (v->n) {
			v->u.arr.v = xrealloc(v->u.arr.v, v->n * sizeof(*v->u.arr.v));
		} else {
			free(v->u.arr.v);
			v->u.arr.v = NULL;
		}
	} else if (v->type == XV_STRUCT && v->u.st.cap > v->n && v->n) {
		v->u.st.cap = v->n;
		v->u.st.m = xrealloc(v->u.st.m, v->n * sizeof(*v->u.st.m));
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
			xv_struct_add(c, v->u.st.m[i].k, xv_copy(v->u.st.m[i].v));
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
			const struct xv *o = xv_struct_get(b, a->u.st.m[i].k);
			if (!o || !xv_equal(a->u.st.m[i].v, o))
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
	return v->u.st.m[i].k;
}

struct xv *xv_value_at(const struct xv *v, size_t i)
{
	if (!v || v->type != XV_STRUCT || i >= v->n)
		return NULL;
	return v->u.st.m[i].v;
}

const char *xv_type_name(enum xv_type t)
{
	static const char *const names[] = {
		"nil", "string", "int", "i4", "double", "boolean", "dateTime", "array", "struct",
	};
	return (unsigned)t < ARRAY_LEN(names) ? names[t] : "?";
}
