#include "db.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hmap.h"
#include "util.h"

struct db db;
void (*db_on_delete)(struct obj *o);

/* Objects by ref and by uuid; the keys live in the objects. */
static struct hmap by_ref, by_uuid;

/* Drops key only if it still names o (a uuid may have moved on). */
static void index_del(struct hmap *m, const char *key, const struct obj *o)
{
	if (hmap_get(m, key) == o)
		hmap_del(m, key);
}

/* ---- identifiers ----------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	/* splitmix64: small, good enough, deterministic for a seed */
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static void format_uuid(char out[37], uint64_t hi, uint64_t lo)
{
	/* version 4, variant 1, as xapi's uuids are */
	hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;
	lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;
	snprintf(out, 37, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(hi >> 32), (unsigned)((hi >> 16) & 0xFFFF),
		 (unsigned)(hi & 0xFFFF), (unsigned)(lo >> 48), (unsigned long long)(lo & 0xFFFFFFFFFFFFULL));
}

uint64_t db_rand(void)
{
	return rng_next();
}

void db_new_uuid(char out[37])
{
	uint64_t hi = rng_next();
	uint64_t lo = rng_next();

	format_uuid(out, hi, lo);
}

void db_secret_ref(char out[REF_LEN])
{
	uint64_t r[2] = {0, 0};
	char u[37];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, r, sizeof(r)) != (ssize_t)sizeof(r)) {
		r[0] = rng_next() ^ (uint64_t)time(NULL);
		r[1] = rng_next();
	}
	if (fd >= 0)
		close(fd);
	format_uuid(u, r[0], r[1]);
	snprintf(out, REF_LEN, "OpaqueRef:%s", u);
}

void now_iso8601(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y%m%dT%H:%M:%SZ", &tm);
}

/* ---- lifecycle ------------------------------------------------------- */

void db_init(uint64_t seed)
{
	pthread_mutex_init(&db.lock, NULL);
	pthread_cond_init(&db.changed, NULL);
	db.head = xcalloc((size_t)schema_nclasses, sizeof(*db.head));
	db.tail = xcalloc((size_t)schema_nclasses, sizeof(*db.tail));
	db.count = xcalloc((size_t)schema_nclasses, sizeof(*db.count));
	rng_state = seed * 0x2545F4914F6CDD1DULL + 1;
}

static void obj_free(struct obj *o)
{
	for (int f = 0; f < o->cls->nfields; f++)
		xv_free(o->f[f]);
	free(o->f);
	free(o);
}

void db_free(void)
{
	struct obj *o, *next;
	struct tomb *t, *tn;

	for (o = db.mhead; o; o = next) {
		next = o->mnext;
		if (db_on_delete)
			db_on_delete(o);
		obj_free(o);
	}
	for (t = db.tombs; t; t = tn) {
		tn = t->next;
		free(t);
	}
	hmap_free(&by_ref);
	hmap_free(&by_uuid);
	free(db.head);
	free(db.tail);
	free(db.count);
	memset(&db, 0, sizeof(db));
}

void db_lock(void)
{
	pthread_mutex_lock(&db.lock);
}

void db_unlock(void)
{
	pthread_mutex_unlock(&db.lock);
}

static void mlist_unlink(struct obj *o)
{
	if (o->mprev)
		o->mprev->mnext = o->mnext;
	else
		db.mhead = o->mnext;
	if (o->mnext)
		o->mnext->mprev = o->mprev;
	else
		db.mtail = o->mprev;
	o->mnext = o->mprev = NULL;
}

static void mlist_append(struct obj *o)
{
	o->mprev = db.mtail;
	o->mnext = NULL;
	if (db.mtail)
		db.mtail->mnext = o;
	else
		db.mhead = o;
	db.mtail = o;
}

void db_touch(struct obj *o)
{
	o->mtime = ++db.gen;
	mlist_unlink(o);
	mlist_append(o);
	pthread_cond_broadcast(&db.changed);
}

struct obj *db_create(const struct cls *c)
{
	return db_create_ref(c, NULL);
}

struct obj *db_create_ref(const struct cls *c, const char *ref)
{
	struct obj *o = xcalloc(1, sizeof(*o));
	char uuid[37];

	o->cls = c;
	o->f = xcalloc((size_t)c->nfields, sizeof(*o->f));
	for (int f = 0; f < c->nfields; f++)
		o->f[f] = schema_default(c, f);
	db_new_uuid(uuid);
	if (ref)
		snprintf(o->ref, REF_LEN, "%s", ref);
	else
		snprintf(o->ref, REF_LEN, "OpaqueRef:%s", uuid);
	if (c->f_uuid >= 0) {
		/* the ref's uuid and the object's uuid differ in xapi */
		db_new_uuid(uuid);
		xv_free(o->f[c->f_uuid]);
		o->f[c->f_uuid] = xv_string(uuid);
		hmap_put(&by_uuid, xv_str(o->f[c->f_uuid]), o);
	}
	hmap_put(&by_ref, o->ref, o);
	o->cprev = db.tail[c->idx];
	if (o->cprev)
		o->cprev->cnext = o;
	else
		db.head[c->idx] = o;
	db.tail[c->idx] = o;
	db.count[c->idx]++;
	o->ctime = o->mtime = ++db.gen;
	mlist_append(o);
	pthread_cond_broadcast(&db.changed);
	return o;
}

struct obj *db_create_named(const char *cls)
{
	const struct cls *c = schema_class(cls);

	if (!c) {
		fprintf(stderr, "xapi-sim: no class %s in the datamodel\n", cls);
		abort();
	}
	return db_create(c);
}

/* One-to-many relations xapi's database keeps in step: setting the child's
 * ref field updates the parent's set field. */
static const struct relation {
	const char *child, *field, *parent, *set;
} relations[] = {
	{"VBD", "VM", "VM", "VBDs"},
	{"VBD", "VDI", "VDI", "VBDs"},
	{"VIF", "VM", "VM", "VIFs"},
	{"VIF", "network", "network", "VIFs"},
	{"PIF", "host", "host", "PIFs"},
	{"PIF", "network", "network", "PIFs"},
	{"PBD", "host", "host", "PBDs"},
	{"PBD", "SR", "SR", "PBDs"},
	{"VDI", "SR", "SR", "VDIs"},
	{"VDI", "snapshot_of", "VDI", "snapshots"},
	{"console", "VM", "VM", "consoles"},
	{"VM", "resident_on", "host", "resident_VMs"},
	{"VM", "snapshot_of", "VM", "snapshots"},
	{"VM", "parent", "VM", "children"},
	{"VM", "appliance", "VM_appliance", "VMs"},
	{"host_cpu", "host", "host", "host_CPUs"},
	{"PCI", "host", "host", "PCIs"},
	{"PGPU", "host", "host", "PGPUs"},
	{"crashdump", "VM", "VM", "crash_dumps"},
	{"host_crashdump", "host", "host", "crashdumps"},
	{"VTPM", "VM", "VM", "VTPMs"},
	{"VGPU", "VM", "VM", "VGPUs"},
	{"VUSB", "VM", "VM", "VUSBs"},
	{"task", "subtask_of", "task", "subtasks"},
	{"Cluster_host", "cluster", "Cluster", "cluster_hosts"},
	{"VLAN", "tagged_PIF", "PIF", "VLAN_slave_of"},
};

static const struct relation *relation_of(const struct cls *c, const char *field)
{
	for (size_t i = 0; i < ARRAY_LEN(relations); i++)
		if (strcmp(relations[i].child, c->name) == 0 && strcmp(relations[i].field, field) == 0)
			return &relations[i];
	return NULL;
}

static void relation_unlink(struct obj *o, const struct relation *r)
{
	struct obj *parent = db_find(db_str(o, r->field));

	if (parent && strcmp(parent->cls->name, r->parent) == 0)
		db_set_remove(parent, r->set, o->ref);
}

void db_delete(struct obj *o)
{
	const struct cls *c = o->cls;
	struct tomb *t;

	for (size_t i = 0; i < ARRAY_LEN(relations); i++)
		if (strcmp(relations[i].child, c->name) == 0)
			relation_unlink(o, &relations[i]);
	if (db_on_delete)
		db_on_delete(o);
	index_del(&by_ref, o->ref, o);
	if (c->f_uuid >= 0)
		index_del(&by_uuid, xv_str(o->f[c->f_uuid]), o);
	if (o->cprev)
		o->cprev->cnext = o->cnext;
	else
		db.head[c->idx] = o->cnext;
	if (o->cnext)
		o->cnext->cprev = o->cprev;
	else
		db.tail[c->idx] = o->cprev;
	db.count[c->idx]--;
	mlist_unlink(o);
	t = xcalloc(1, sizeof(*t));
	t->cls = c;
	memcpy(t->ref, o->ref, REF_LEN);
	t->ctime = o->ctime;
	t->dtime = ++db.gen;
	t->next = db.tombs;
	db.tombs = t;
	obj_free(o);
	pthread_cond_broadcast(&db.changed);
}

struct obj *db_find(const char *ref)
{
	return ref ? hmap_get(&by_ref, ref) : NULL;
}

struct obj *db_get(const struct cls *c, const char *ref)
{
	struct obj *o = db_find(ref);

	return o && o->cls == c ? o : NULL;
}

struct obj *db_by_uuid(const struct cls *c, const char *uuid)
{
	struct obj *o = hmap_get(&by_uuid, uuid);

	return o && (!c || o->cls == c) ? o : NULL;
}

struct obj *db_first(const char *cls)
{
	const struct cls *c = schema_class(cls);

	return c ? db.head[c->idx] : NULL;
}

int db_count(const struct cls *c)
{
	return db.count[c->idx];
}

/* ---- fields ---------------------------------------------------------- */

static int field_index(const struct obj *o, const char *field)
{
	int f = schema_field(o->cls, field);

	if (f < 0) {
		fprintf(stderr, "xapi-sim: class %s has no field %s\n", o->cls->name, field);
		abort();
	}
	return f;
}

struct xv *db_field(const struct obj *o, const char *field)
{
	return o->f[field_index(o, field)];
}

void db_set(struct obj *o, const char *field, struct xv *v)
{
	int f = field_index(o, field);

	if (f == o->cls->f_uuid) {
		index_del(&by_uuid, xv_str(o->f[f]), o);
		xv_free(o->f[f]);
		o->f[f] = v;
		hmap_put(&by_uuid, xv_str(v), o);
	} else {
		xv_free(o->f[f]);
		o->f[f] = v;
	}
	db_touch(o);
}

const char *db_str(const struct obj *o, const char *field)
{
	const char *s = xv_str(db_field(o, field));

	return s ? s : "";
}

int64_t db_int(const struct obj *o, const char *field)
{
	int64_t i = 0;

	xv_get_int64(db_field(o, field), &i);
	return i;
}

double db_float(const struct obj *o, const char *field)
{
	double d = 0;

	xv_get_double(db_field(o, field), &d);
	return d;
}

bool db_bool(const struct obj *o, const char *field)
{
	bool b = false;

	xv_get_bool(db_field(o, field), &b);
	return b;
}

void db_set_str(struct obj *o, const char *field, const char *s)
{
	db_set(o, field, xv_string(s));
}

void db_set_int(struct obj *o, const char *field, int64_t i)
{
	db_set(o, field, xv_int(i));
}

void db_set_float(struct obj *o, const char *field, double d)
{
	db_set(o, field, xv_double(d));
}

void db_set_bool(struct obj *o, const char *field, bool b)
{
	db_set(o, field, xv_bool(b));
}

void db_set_now(struct obj *o, const char *field)
{
	char now[32];

	now_iso8601(now);
	db_set(o, field, xv_datetime(now));
}

void db_set_ref(struct obj *o, const char *field, const struct obj *target)
{
	const struct relation *r = relation_of(o->cls, field);

	if (r)
		relation_unlink(o, r);
	db_set_str(o, field, target ? target->ref : "OpaqueRef:NULL");
	if (r && target && strcmp(target->cls->name, r->parent) == 0) {
		/* o was just unlinked from wherever it was, so it cannot be in the
		 * set: append without db_set_add's scan, which made building a
		 * network with thousands of VIFs quadratic */
		xv_array_push(db_field(target, r->set), xv_string(o->ref));
		db_touch((struct obj *)target);
	}
}

struct obj *db_ref(const struct obj *o, const char *field)
{
	return db_find(db_str(o, field));
}

bool db_set_has(const struct obj *o, const char *field, const char *item)
{
	const struct xv *s = db_field(o, field);

	for (size_t i = 0; i < xv_len(s); i++)
		if (strcmp(xv_str(xv_at(s, i)) ? xv_str(xv_at(s, i)) : "", item) == 0)
			return true;
	return false;
}

void db_set_add(struct obj *o, const char *field, const char *item)
{
	if (db_set_has(o, field, item))
		return;
	xv_array_push(db_field(o, field), xv_string(item));
	db_touch(o);
}

void db_set_remove(struct obj *o, const char *field, const char *item)
{
	struct xv *s = db_field(o, field);

	for (size_t i = 0; i < s->n; i++) {
		const char *x = xv_str(s->u.arr.v[i]);
		if (x && strcmp(x, item) == 0) {
			xv_free(s->u.arr.v[i]);
			memmove(&s->u.arr.v[i], &s->u.arr.v[i + 1], (s->n - i - 1) * sizeof(struct xv *));
			s->n--;
			db_touch(o);
			return;
		}
	}
}

const char *db_map_get(const struct obj *o, const char *field, const char *key)
{
	return xv_str(xv_struct_get(db_field(o, field), key));
}

void db_map_put(struct obj *o, const char *field, const char *key, const char *value)
{
	xv_struct_set(db_field(o, field), key, xv_string(value));
	db_touch(o);
}

void db_map_del(struct obj *o, const char *field, const char *key)
{
	if (xv_struct_del(db_field(o, field), key))
		db_touch(o);
}

struct xv *db_record(const struct obj *o)
{
	struct xv *r = xv_struct();

	for (int f = 0; f < o->cls->nfields; f++)
		xv_struct_add(r, o->cls->api->fields[f].name, xv_copy(o->f[f]));
	return r;
}
