/* A pool of shared strings: the field names of thousands of records are
 * the same few hundred strings, stored once. Not thread-safe. */
#ifndef XENTUI_STRPOOL_H
#define XENTUI_STRPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strpool;

struct strpool *strpool_new(void);
void strpool_free(struct strpool *p);
/* The pooled copy of s[0..n); lives until strpool_free. */
const char *strpool_get(struct strpool *p, const char *s, size_t n);
/* The same, and *cell: STRPOOL_CELL bytes (8-aligned) kept with the string
 * for the caller, all zero when the string is new, gone with the pool:
 * room for the one value node every holder of the string shares, without
 * a malloc of its own. */
#define STRPOOL_CELL 24
const char *strpool_get_cell(struct strpool *p, const char *s, size_t n, void **cell);
/* hmap_hash(pooled) for a string strpool_get returned, kept from its pooling:
 * neither its length nor its hash computed again. */
uint32_t strpool_hash(const char *pooled);

/* A decoder's memory of member names: a record's names repeat in every
 * record, so the filter's verdict and the pooled name of a recent (name,
 * depth) are kept, in a small set-associative table, and most names cost
 * one short hash instead of the filter's and the pool's. Names of
 * KEYCACHE_NAME bytes or more are never kept. */
#define KEYCACHE_NAME 48
struct keycache;
struct keycache_entry {
	const char *key; /* pooled, or NULL */
	bool drop;       /* the filter dropped the member */
};
struct keycache *keycache_new(void);
void keycache_free(struct keycache *kc);
/* What was remembered for name[0..len) at depth, or NULL. */
const struct keycache_entry *keycache_find(struct keycache *kc, const void *name, size_t len, int depth);
/* Remembers it (the oldest of its set goes). */
void keycache_put(struct keycache *kc, const void *name, size_t len, int depth, const char *key, bool drop);

#endif
