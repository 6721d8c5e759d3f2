/* A pool of shared strings: the field names of thousands of records are
 * the same few hundred strings, stored once. Not thread-safe. */
#ifndef XENTUI_STRPOOL_H
#define XENTUI_STRPOOL_H

#include <stddef.h>

struct strpool;

struct strpool *strpool_new(void);
void strpool_free(struct strpool *p);
/* The pooled copy of s[0..n); lives until strpool_free. */
const char *strpool_get(struct strpool *p, const char *s, size_t n);
/* The same, and *slot: one pointer kept with the string for the caller
 * (NULL at first); what it points to is free()d with the pool. */
const char *strpool_get_slot(struct strpool *p, const char *s, size_t n, void ***slot);

#endif
