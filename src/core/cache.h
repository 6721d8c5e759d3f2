/* The live copy of one pool's objects: loaded like xapi's best clients
 * (event.inject for a token, get_all_records of every class in parallel),
 * then kept current by event.from long polls. Subscribers hear which object
 * changed, never "everything changed" except after a full (re)load. */
#ifndef XENTUI_CACHE_H
#define XENTUI_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "loop.h"
#include "value.h"
#include "xapi.h"

enum cache_op {
	CACHE_ADD,
	CACHE_MOD,
	CACHE_DEL,
	CACHE_LOADED, /* a full load finished (first time or after a resync) */
	CACHE_STATUS, /* loading / live / reconnecting changed */
};

struct cache;
/* cls and ref are NULL for CACHE_LOADED and CACHE_STATUS. */
typedef void (*cache_fn)(struct cache *c, enum cache_op op, const char *cls, const char *ref, void *ud);

struct cache *cache_new(struct xapi *x, struct loop *l);
void cache_free(struct cache *c);
void cache_start(struct cache *c);
/* Stops the event long poll (before logging out). */
void cache_stop(struct cache *c);

void cache_subscribe(struct cache *c, cache_fn fn, void *ud);
void cache_unsubscribe(struct cache *c, cache_fn fn, void *ud);

bool cache_loaded(const struct cache *c);
/* "loading 12/20 classes", "live", "reconnecting: ...", or a failure. */
const char *cache_status(const struct cache *c);
/* True after a load failed for good (e.g. a call the server refused). */
bool cache_failed(const struct cache *c);

/* The record of ref (kept fields only), or NULL. */
const struct xv *cache_get(const struct cache *c, const char *ref);
const char *cache_class_of(const struct cache *c, const char *ref);
/* The object of cls with that uuid; *ref gets its ref. */
const struct xv *cache_by_uuid(const struct cache *c, const char *cls, const char *uuid, const char **ref);
size_t cache_count(const struct cache *c, const char *cls);
/* Visits every object of cls in no particular order; stop by returning false. */
void cache_each(const struct cache *c, const char *cls, bool (*fn)(const char *ref, const struct xv *rec, void *ud),
		void *ud);

/* Typed field readers on a record (empty/0/false when absent). */
const char *rec_str(const struct xv *rec, const char *field);
long long rec_int(const struct xv *rec, const char *field);
double rec_float(const struct xv *rec, const char *field);
bool rec_bool(const struct xv *rec, const char *field);
const struct xv *rec_field(const struct xv *rec, const char *field);
/* The value of key in a (string -> string) map field, or NULL. */
const char *rec_map(const struct xv *rec, const char *field, const char *key);

#endif
