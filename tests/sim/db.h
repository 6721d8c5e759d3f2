/* xapi-sim's database: every object of the pool, indexed by ref and uuid,
 * with the generation counters event.from needs. One lock guards it all;
 * handlers run with it held. */
#ifndef SIM_DB_H
#define SIM_DB_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "schema.h"
#include "value.h"

#define REF_LEN 64

struct obj {
	const struct cls *cls;
	char ref[REF_LEN];
	struct xv **f;          /* one value per field of the class */
	uint64_t ctime, mtime;  /* generations of creation and last change */
	struct obj *cnext, *cprev; /* the class's objects, in creation order */
	struct obj *mnext, *mprev; /* every object, by mtime */
	void *priv;             /* simulator-only state (owner frees in db_on_delete) */
};

struct tomb {
	const struct cls *cls;
	char ref[REF_LEN];
	uint64_t ctime, dtime;
	struct tomb *next; /* newest first */
};

struct db {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	uint64_t gen;
	struct obj **head, **tail; /* per class */
	int *count;                /* per class */
	struct obj *mhead, *mtail;
	struct tomb *tombs;
};

extern struct db db;

void db_init(uint64_t seed);
void db_free(void);
void db_lock(void);
void db_unlock(void);

/* The seeded generator itself, for the pool's contents. */
uint64_t db_rand(void);
/* A fresh ref/uuid from the seeded generator (deterministic for a seed). */
void db_new_uuid(char out[37]);
/* A session-style ref from /dev/urandom. */
void db_secret_ref(char out[REF_LEN]);

struct obj *db_create(const struct cls *c);
/* With a given ref (sessions' secret refs, records copied from a master). */
struct obj *db_create_ref(const struct cls *c, const char *ref);
struct obj *db_create_named(const char *cls);
void db_delete(struct obj *o);
struct obj *db_find(const char *ref);
struct obj *db_get(const struct cls *c, const char *ref);
struct obj *db_by_uuid(const struct cls *c, const char *uuid);
struct obj *db_first(const char *cls);
int db_count(const struct cls *c);

/* Marks o changed (a mod event) without touching a field. */
void db_touch(struct obj *o);

/* Field access by name; the setters take ownership and touch the object. */
struct xv *db_field(const struct obj *o, const char *field);
void db_set(struct obj *o, const char *field, struct xv *v);
const char *db_str(const struct obj *o, const char *field);
int64_t db_int(const struct obj *o, const char *field);
double db_float(const struct obj *o, const char *field);
bool db_bool(const struct obj *o, const char *field);
void db_set_str(struct obj *o, const char *field, const char *s);
void db_set_int(struct obj *o, const char *field, int64_t i);
void db_set_float(struct obj *o, const char *field, double d);
void db_set_bool(struct obj *o, const char *field, bool b);
void db_set_now(struct obj *o, const char *field);
/* Sets a ref field and keeps the other side of the relation (e.g. VBD.VM and
 * VM.VBDs) in step, as xapi's database does. target may be NULL. */
void db_set_ref(struct obj *o, const char *field, const struct obj *target);
struct obj *db_ref(const struct obj *o, const char *field);

bool db_set_has(const struct obj *o, const char *field, const char *item);
void db_set_add(struct obj *o, const char *field, const char *item);
void db_set_remove(struct obj *o, const char *field, const char *item);
const char *db_map_get(const struct obj *o, const char *field, const char *key);
void db_map_put(struct obj *o, const char *field, const char *key, const char *value);
void db_map_del(struct obj *o, const char *field, const char *key);

/* The object's record as get_record returns it (a new value). */
struct xv *db_record(const struct obj *o);

/* Called when an object goes away, for simulator-private state. */
extern void (*db_on_delete)(struct obj *o);

void now_iso8601(char out[32]);

#endif
