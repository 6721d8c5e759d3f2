/* The XenAPI value model: what one XML-RPC or JSON-RPC value holds.
 * XML-RPC as xapi speaks it sends ints, refs and enums as bare strings, so
 * readers go through the xv_get_* helpers, which accept both forms. */
#ifndef XENTUI_VALUE_H
#define XENTUI_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum xv_type {
	XV_NIL,
	XV_STRING,
	XV_INT,      /* 64-bit; XML-RPC sends it bare, JSON as a number */
	XV_I4,       /* only event.from's valid_ref_counts: <i4> */
	XV_DOUBLE,
	XV_BOOL,
	XV_DATETIME, /* text as on the wire, e.g. 20250319T04:16:24Z */
	XV_ARRAY,
	XV_STRUCT,
};

/* 24 bytes: a pool of 5,000 VMs is millions of these. */
struct xv_member {
	char *k;
	struct xv *v;
};

struct xv {
	uint8_t type;     /* enum xv_type */
	uint8_t borrowed; /* strings: the text is pooled; structs: every key is */
	uint8_t slab;     /* 0: malloc; 1: a node slab cell; 2: a string cell (node and text) */
	uint8_t shared;   /* one node many containers point to: xv_free skips it */
	uint32_t n;       /* string length, or array/struct member count */
	union {
		char *s; /* STRING, DATETIME (NUL-terminated) */
		int64_t i;
		double d;
		bool b;
		struct {
			struct xv **v;
			uint32_t cap;
		} arr;
		struct {
			struct xv_member *m;
			uint32_t cap;
		} st;
		/* a struct with borrowed == 2 (xv_struct_shape): its values, and
		 * its keys in a vector many records of one shape share */
		struct {
			struct xv **v;
			const char *const *k;
		} sh;
	} u;
};

/* A single-threaded program with many values (the client) may take nodes
 * from slabs of fixed cells: no malloc header or rounding on each. Call it
 * before making any value; xv_slab_release at the end, once all are freed. */
void xv_use_slab(void);
void xv_slab_release(void);

struct xv *xv_nil(void);
struct xv *xv_string(const char *s);
struct xv *xv_string_n(const char *s, size_t n);
struct xv *xv_string_take(char *s);
/* A string whose text lives in a pool that outlives it (refs, enums). */
struct xv *xv_string_borrowed(const char *s, size_t n);
/* The same as one node for every container that holds this text: a pooled
 * string's node, made in its pool cell (strpool_get_cell) the first time
 * and returned as it is after (NULL if the cell holds another type). Never
 * changed and never freed by xv_free. */
struct xv *xv_string_shared(void *cell, const char *s, size_t n);
/* A string as both decoders keep it: refs and short strings (enums, flags,
 * "") repeat across thousands of records, so with a pool they are stored once
 * (with share_nodes, one node for all holders); uuids and MACs are one per
 * object and are not pooled. pool may be NULL. */
struct strpool;
struct xv *xv_pooled_string(struct strpool *pool, bool share_nodes, const char *s, size_t n);
struct xv *xv_int(int64_t i);
/* An int node to share as xv_string_shared's, in a pool cell; NULL if the
 * cell holds something else. */
struct xv *xv_int_shared(void *cell, int64_t i);
/* The one empty struct or array every decoded record may point to: never
 * changed (do not add to it) and never freed. */
struct xv *xv_empty_shared(enum xv_type t);
struct xv *xv_i4(int32_t i);
struct xv *xv_double(double d);
struct xv *xv_bool(bool b);
struct xv *xv_datetime(const char *s);
struct xv *xv_array(void);
struct xv *xv_struct(void);

/* Containers take ownership of what is added. */
void xv_array_push(struct xv *a, struct xv *item);
/* [ref]: the parameters of the many calls that take one object. */
struct xv *xv_params_ref(const char *ref);
/* Appends without looking for an existing key (building records). */
void xv_struct_add(struct xv *s, const char *key, struct xv *v);
/* Appends with a key the struct does not own (a pooled string that
 * outlives it): thousands of records share their field names. */
void xv_struct_add_borrowed(struct xv *s, const char *key, struct xv *v);
/* Removes key and hands its value to the caller (NULL if absent). */
struct xv *xv_struct_take(struct xv *s, const char *key);
/* Keeps only the members keep() accepts, in place. */
void xv_struct_filter(struct xv *s, int (*keep)(const char *key, void *ud), void *ud);
/* Replaces the value of an existing key, or appends. */
void xv_struct_set(struct xv *s, const char *key, struct xv *v);
struct xv *xv_struct_get(const struct xv *s, const char *key);
bool xv_struct_del(struct xv *s, const char *key);

/* Gives back the spare capacity of an array or struct (after decoding). */
void xv_shrink(struct xv *v);
/* Room for n members in struct s before they are added (a decoder that has
 * seen the same record shape before): no regrowth on each. */
void xv_struct_reserve(struct xv *s, size_t n);
/* Half a struct's size: its keys become keys[0..n), a vector that the caller
 * keeps alive as long as s and whose strings are s's own keys, in order
 * (pooled: s->borrowed). Reads are unchanged; a change to its members first
 * gives it its own keys again. Only the xv_* functions may read such a
 * struct's members (not u.st). False (and s unchanged) if it cannot. */
bool xv_struct_shape(struct xv *s, const char *const *keys);

struct xv *xv_copy(const struct xv *v);
void xv_free(struct xv *v);
bool xv_equal(const struct xv *a, const struct xv *b);

/* Readers: NULL or false when the value has another type. */
const char *xv_str(const struct xv *v);            /* STRING or DATETIME */
bool xv_get_int64(const struct xv *v, int64_t *out); /* INT, I4 or decimal string */
bool xv_get_double(const struct xv *v, double *out); /* DOUBLE, INT or string */
bool xv_get_bool(const struct xv *v, bool *out);     /* BOOL only, as xapi */
size_t xv_len(const struct xv *v);                  /* array or struct size */
struct xv *xv_at(const struct xv *v, size_t i);     /* array item */
const char *xv_key_at(const struct xv *v, size_t i); /* struct member name, or NULL */
struct xv *xv_value_at(const struct xv *v, size_t i); /* struct member value, or NULL */

const char *xv_type_name(enum xv_type t);

#endif
