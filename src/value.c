#include "value.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "util.h"

static struct xv *xv_new(enum xv_type t)
{
	struct xv *v = xcalloc(1, sizeof(*v));

	v->type = t;
	return v;
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
	v->u.str.s = (char *)(v + 1);
	memcpy(v->u.str.s, s, n);
	v->u.str.s[n] = '\0';
	v->u.str.len = n;
	return v;
}

struct xv *xv_string(const char *s)
{
	return xv_string_n(s, strlen(s));
}

struct xv *xv_string_take(char *s)
{
	struct xv *v = xv_new(XV_STRING);

	v->u.str.s = s;
	v->u.str.len = strlen(s);
	return v;
}

struct xv *xv_string_borrowed(const char *s, size_t n)
{
	struct xv *v = xv_new(XV_STRING);

	v->u.str.s = (char *)s;
	v->u.str.len = n;
	v->borrowed_text = true;
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
	if (a->u.arr.n == a->u.arr.cap) {
		a->u.arr.cap = a->u.arr.cap ? a->u.arr.cap * 2 : 4;
		a->u.arr.v = xrealloc(a->u.arr.v, a->u.arr.cap * sizeof(*a->u.arr.v));
	}
	a->u.arr.v[a->u.arr.n++] = item;
}

static void struct_grow(struct xv *s)
{
	if (s->u.st.n < s->u.st.cap)
		return;
	s->u.st.cap = s->u.st.cap ? s->u.st.cap * 2 : 4;
	s->u.st.k = xrealloc(s->u.st.k, s->u.st.cap * sizeof(*s->u.st.k));
	s->u.st.v = xrealloc(s->u.st.v, s->u.st.cap * sizeof(*s->u.st.v));
	if (s->u.st.borrowed)
		s->u.st.borrowed = xrealloc(s->u.st.borrowed, s->u.st.cap);
}

void xv_struct_add(struct xv *s, const char *key, struct xv *v)
{
	struct_grow(s);
	if (s->u.st.borrowed)
		s->u.st.borrowed[s->u.st.n] = 0;
	s->u.st.k[s->u.st.n] = xstrdup(key);
	s->u.st.v[s->u.st.n++] = v;
}

void xv_struct_add_borrowed(struct xv *s, const char *key, struct xv *v)
{
	struct_grow(s);
	if (!s->u.st.borrowed)
		s->u.st.borrowed = xcalloc(s->u.st.cap, 1);
	s->u.st.borrowed[s->u.st.n] = 1;
	s->u.st.k[s->u.st.n] = (char *)key;
	s->u.st.v[s->u.st.n++] = v;
}

static bool key_owned(const struct xv *s, size_t i)
{
	return !s->u.st.borrowed || !s->u.st.borrowed[i];
}

/* Drops member i, handing back its value. */
static struct xv *struct_remove(struct xv *s, size_t i)
{
	struct xv *v = s->u.st.v[i];
	size_t rest = s->u.st.n - i - 1;

	if (key_owned(s, i))
		free(s->u.st.k[i]);
	memmove(&s->u.st.k[i], &s->u.st.k[i + 1], rest * sizeof(char *));
	memmove(&s->u.st.v[i], &s->u.st.v[i + 1], rest * sizeof(struct xv *));
	if (s->u.st.borrowed)
		memmove(&s->u.st.borrowed[i], &s->u.st.borrowed[i + 1], rest);
	s->u.st.n--;
	return v;
}

void xv_struct_filter(struct xv *s, int (*keep)(const char *key, void *ud), void *ud)
{
	size_t k = 0;

	for (size_t i = 0; i < s->u.st.n; i++) {
		if (keep(s->u.st.k[i], ud)) {
			s->u.st.k[k] = s->u.st.k[i];
			s->u.st.v[k] = s->u.st.v[i];
			if (s->u.st.borrowed)
				s->u.st.borrowed[k] = s->u.st.borrowed[i];
			k++;
		} else {
			if (key_owned(s, i))
				free(s->u.st.k[i]);
			xv_free(s->u.st.v[i]);
		}
	}
	s->u.st.n = k;
}

static ssize_t struct_index(const struct xv *s, const char *key)
{
	if (!s || s->type != XV_STRUCT)
		return -1;
	for (size_t i = 0; i < s->u.st.n; i++)
		if (strcmp(s->u.st.k[i], key) == 0)
			return (ssize_t)i;
	return -1;
}

void xv_struct_set(struct xv *s, const char *key, struct xv *v)
{
	ssize_t i = struct_index(s, key);

	if (i < 0) {
		xv_struct_add(s, key, v);
		return;
	}
	xv_free(s->u.st.v[i]);
	s->u.st.v[i] = v;
}

struct xv *xv_struct_get(const struct xv *s, const char *key)
{
	ssize_t i = struct_index(s, key);

	return i < 0 ? NULL : s->u.st.v[i];
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
	if (v->type == XV_ARRAY && v->u.arr.cap > v->u.arr.n) {
		v->u.arr.cap = v->u.arr.n;
		v->u.arr.v = v->u.arr.n ? xrealloc(v->u.arr.v, v->u.arr.n * sizeof(*v->u.arr.v)) : (free(v->u.arr.v), NULL);
	} else if (v->type == XV_STRUCT && v->u.st.cap > v->u.st.n && v->u.st.n) {
		v->u.st.cap = v->u.st.n;
		v->u.st.k = xrealloc(v->u.st.k, v->u.st.n * sizeof(*v->u.st.k));
		v->u.st.v = xrealloc(v->u.st.v, v->u.st.n * sizeof(*v->u.st.v));
		if (v->u.st.borrowed)
			v->u.st.borrowed = xrealloc(v->u.st.borrowed, v->u.st.n);
	}
}

struct xv *xv_copy(const struct xv *v)
{
	struct xv *c;

	switch (v->type) {
	case XV_STRING:
	case XV_DATETIME:
		c = xv_string_n(v->u.str.s, v->u.str.len);
		c->type = v->type;
		return c;
	case XV_ARRAY:
		c = xv_array();
		for (size_t i = 0; i < v->u.arr.n; i++)
			xv_array_push(c, xv_copy(v->u.arr.v[i]));
		return c;
	case XV_STRUCT:
		c = xv_struct();
		for (size_t i = 0; i < v->u.st.n; i++)
			xv_struct_add(c, v->u.st.k[i], xv_copy(v->u.st.v[i]));
		return c;
	default:
		c = xv_new(v->type);
		c->u = v->u;
		return c;
	}
}

void xv_free(struct xv *v)
{
	if (!v)
		return;
	switch (v->type) {
	case XV_STRING:
	case XV_DATETIME:
		if (v->u.str.s != (char *)(v + 1) && !v->borrowed_text)
			free(v->u.str.s);
		break;
	case XV_ARRAY:
		for (size_t i = 0; i < v->u.arr.n; i++)
			xv_free(v->u.arr.v[i]);
		free(v->u.arr.v);
		break;
	case XV_STRUCT:
		for (size_t i = 0; i < v->u.st.n; i++) {
			if (key_owned(v, i))
				free(v->u.st.k[i]);
			xv_free(v->u.st.v[i]);
		}
		free(v->u.st.k);
		free(v->u.st.v);
		free(v->u.st.borrowed);
		break;
	default:
		break;
	}
	free(v);
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
		return a->u.str.len == b->u.str.len && memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
	case XV_INT:
	case XV_I4:
		return a->u.i == b->u.i;
	case XV_DOUBLE:
		return a->u.d == b->u.d || (a->u.d != a->u.d && b->u.d != b->u.d);
	case XV_BOOL:
		return a->u.b == b->u.b;
	case XV_ARRAY:
		if (a->u.arr.n != b->u.arr.n)
			return false;
		for (size_t i = 0; i < a->u.arr.n; i++)
			if (!xv_equal(a->u.arr.v[i], b->u.arr.v[i]))
				return false;
		return true;
	case XV_STRUCT:
		if (a->u.st.n != b->u.st.n)
			return false;
		for (size_t i = 0; i < a->u.st.n; i++) {
			const struct xv *o = xv_struct_get(b, a->u.st.k[i]);
			if (!o || !xv_equal(a->u.st.v[i], o))
				return false;
		}
		return true;
	}
	return false;
}

const char *xv_str(const struct xv *v)
{
	if (v && (v->type == XV_STRING || v->type == XV_DATETIME))
		return v->u.str.s;
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
	if (v->type != XV_STRING || v->u.str.len == 0)
		return false;
	errno = 0;
	n = strtoll(v->u.str.s, &end, 10);
	if (errno || *end != '\0' || end != v->u.str.s + v->u.str.len)
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
	if (v->type != XV_STRING || v->u.str.len == 0)
		return false;
	d = strtod(v->u.str.s, &end);
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
	if (!v)
		return 0;
	if (v->type == XV_ARRAY)
		return v->u.arr.n;
	if (v->type == XV_STRUCT)
		return v->u.st.n;
	return 0;
}

struct xv *xv_at(const struct xv *v, size_t i)
{
	if (!v || v->type != XV_ARRAY || i >= v->u.arr.n)
		return NULL;
	return v->u.arr.v[i];
}

const char *xv_type_name(enum xv_type t)
{
	static const char *const names[] = {
		"nil", "string", "int", "i4", "double", "boolean", "dateTime", "array", "struct",
	};
	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}
