/* Changed-block tracking: the write log, and the VDI calls xapi's
 * xapi_vdi.ml checks before handing them to the sm driver. */
#include "cbtlog.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "nbdexport.h"
#include "schema.h"
#include "util.h"

struct cbtrec {
	char uuid[40];
	uint64_t taken;      /* the counter when this snapshot was taken; 0 for a live VDI */
	uint64_t enabled_at; /* the counter when tracking started for this disk's line */
	uint64_t *stamp;     /* per 64 KiB block: the counter at its last write (0: none since enabled) */
	size_t n;
	struct cbtrec *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct cbtrec *recs;
static uint64_t counter;
static atomic_bool any; /* read without the lock: a write path with no CBT anywhere costs nothing */

static struct xv *void_ok(void)
{
	return xv_string("");
}

static struct cbtrec *find(const char *uuid)
{
	for (struct cbtrec *r = recs; r; r = r->next)
		if (strcmp(r->uuid, uuid) == 0)
			return r;
	return NULL;
}

static struct cbtrec *rec_new(const char *uuid)
{
	struct cbtrec *r = xcalloc(1, sizeof(*r));

	snprintf(r->uuid, sizeof(r->uuid), "%s", uuid);
	r->next = recs;
	recs = r;
	atomic_store(&any, true);
	return r;
}

static void rec_drop(const char *uuid)
{
	for (struct cbtrec **p = &recs; *p; p = &(*p)->next)
		if (strcmp((*p)->uuid, uuid) == 0) {
			struct cbtrec *r = *p;
			*p = r->next;
			free(r->stamp);
			free(r);
			return;
		}
}

void cbtlog_note_write(const char *uuid, uint64_t off, size_t len)
{
	struct cbtrec *r;

	if (!atomic_load(&any) || !uuid || !*uuid || !len)
		return;
	pthread_mutex_lock(&lock);
	if ((r = find(uuid)) && !r->taken) {
		uint64_t first = off / CBT_BLOCK, last = (off + len - 1) / CBT_BLOCK, g = ++counter;
		if (last >= r->n) {
			size_t n = (size_t)last + 1;
			r->stamp = xrealloc(r->stamp, n * sizeof(*r->stamp));
			memset(r->stamp + r->n, 0, (n - r->n) * sizeof(*r->stamp));
			r->n = n;
		}
		for (uint64_t i = first; i <= last; i++)
			r->stamp[i] = g;
	}
	pthread_mutex_unlock(&lock);
}

void cbtlog_snapshot(struct obj *src, struct obj *snap)
{
	struct cbtrec *s, *r;

	if (!db_bool(src, "cbt_enabled"))
		return;
	db_set_bool(snap, "cbt_enabled", true);
	pthread_mutex_lock(&lock);
	if (!(s = find(db_str(src, "uuid")))) {
		s = rec_new(db_str(src, "uuid"));
		s->enabled_at = ++counter;
	}
	r = rec_new(db_str(snap, "uuid"));
	r->enabled_at = s->enabled_at;
	r->taken = ++counter;
	if (s->n) {
		r->stamp = xmalloc(s->n * sizeof(*r->stamp));
		memcpy(r->stamp, s->stamp, s->n * sizeof(*r->stamp));
		r->n = s->n;
	}
	pthread_mutex_unlock(&lock);
}

/* ---- the calls ------------------------------------------------------------- */

static bool attached(const struct obj *vdi)
{
	const struct xv *vbds = db_field(vdi, "VBDs");

	for (size_t i = 0; i < xv_len(vbds); i++) {
		struct obj *b = db_find(xv_str(xv_at(vbds, i)));
		if (b && db_bool(b, "currently_attached"))
			return true;
	}
	return false;
}

/* xapi_vdi.ml's check_operation_error for enable_cbt and disable_cbt. */
static struct obj *cbt_target(struct call *c, struct xv **err)
{
	struct obj *vdi = arg_obj(c, 0, "VDI", err);
	const char *type;

	if (!vdi)
		return NULL;
	type = db_str(vdi, "type");
	if (db_bool(vdi, "is_a_snapshot")) {
		char why[128];
		snprintf(why, sizeof(why), "VDI is a snapshot: %s", vdi->ref);
		*err = err_new("OPERATION_NOT_ALLOWED", why, NULL);
		return NULL;
	}
	if (strcmp(type, "user") != 0 && strcmp(type, "system") != 0) {
		*err = err_new("VDI_INCOMPATIBLE_TYPE", vdi->ref, type, NULL);
		return NULL;
	}
	if (strcmp(db_str(vdi, "on_boot"), "reset") == 0) {
		*err = err_new("VDI_ON_BOOT_MODE_INCOMPATIBLE_WITH_OPERATION", NULL);
		return NULL;
	}
	return vdi;
}

struct xv *cbt_enable(struct call *c, struct xv **err)
{
	struct obj *vdi = cbt_target(c, err);

	if (!vdi)
		return NULL;
	if (!db_bool(vdi, "cbt_enabled")) {
		/* a fresh log: what was written before is not known */
		pthread_mutex_lock(&lock);
		rec_drop(db_str(vdi, "uuid"));
		rec_new(db_str(vdi, "uuid"))->enabled_at = ++counter;
		pthread_mutex_unlock(&lock);
		db_set_bool(vdi, "cbt_enabled", true);
	}
	return void_ok();
}

struct xv *cbt_disable(struct call *c, struct xv **err)
{
	struct obj *vdi = cbt_target(c, err);

	if (!vdi)
		return NULL;
	pthread_mutex_lock(&lock);
	rec_drop(db_str(vdi, "uuid"));
	pthread_mutex_unlock(&lock);
	db_set_bool(vdi, "cbt_enabled", false);
	return void_ok();
}

/* The disk a VDI belongs to: the VDI a snapshot was taken of, or itself. */
static const char *line_of(struct obj *vdi)
{
	struct obj *src = db_bool(vdi, "is_a_snapshot") ? db_ref(vdi, "snapshot_of") : NULL;

	return db_str(src ? src : vdi, "uuid");
}

struct xv *cbt_list_changed_blocks(struct call *c, struct xv **err)
{
	struct obj *from = arg_obj(c, 0, "VDI", err), *to;
	struct cbtrec *rf, *rt;
	uint64_t nblocks, since;
	size_t nbytes;
	unsigned char *map;
	char *b64;

	if (!from || !(to = arg_obj(c, 1, "VDI", err)))
		return NULL;
	if (attached(to)) {
		*err = err_new("VDI_IN_USE", to->ref, "list_changed_blocks", NULL);
		return NULL;
	}
	pthread_mutex_lock(&lock);
	rf = find(db_str(from, "uuid"));
	rt = find(db_str(to, "uuid"));
	if (!rf || !rt || strcmp(line_of(from), line_of(to)) != 0 || rt->enabled_at > (rf->taken ? rf->taken : rf->enabled_at)) {
		/* no log joins the two (another disk, or tracking restarted between them) */
		pthread_mutex_unlock(&lock);
		*err = err_new("VDI_NO_CBT_METADATA", (rf ? to : from)->ref, NULL);
		return NULL;
	}
	since = rf->taken ? rf->taken : rf->enabled_at;
	nblocks = ((uint64_t)db_int(to, "virtual_size") + CBT_BLOCK - 1) / CBT_BLOCK;
	nbytes = (size_t)((nblocks + 7) / 8);
	map = xcalloc(nbytes + 1, 1);
	for (uint64_t i = 0; i < nblocks && i < rt->n; i++)
		if (rt->stamp[i] > since)
			map[i / 8] |= (unsigned char)(0x80u >> (i % 8));
	pthread_mutex_unlock(&lock);
	b64 = xmalloc(4 * ((nbytes + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)b64, map, (int)nbytes);
	free(map);
	return xv_string_take(b64);
}

struct xv *cbt_data_destroy(struct call *c, struct xv **err)
{
	struct obj *vdi = arg_obj(c, 0, "VDI", err);

	if (!vdi)
		return NULL;
	if (strcmp(db_str(vdi, "type"), "cbt_metadata") == 0)
		return void_ok(); /* already only metadata */
	if (!db_bool(vdi, "is_a_snapshot")) {
		char why[128];
		snprintf(why, sizeof(why), "VDI is not a snapshot: %s", vdi->ref);
		*err = err_new("OPERATION_NOT_ALLOWED", why, NULL);
		return NULL;
	}
	if (!db_bool(vdi, "cbt_enabled")) {
		*err = err_new("VDI_NO_CBT_METADATA", vdi->ref, NULL);
		return NULL;
	}
	if (attached(vdi)) {
		*err = err_new("VDI_IN_USE", vdi->ref, "data_destroy", NULL);
		return NULL;
	}
	/* the data goes (nbdexport.c refuses to serve it); the log stays */
	db_set_str(vdi, "type", "cbt_metadata");
	db_set_int(vdi, "physical_utilisation", 0);
	return void_ok();
}

struct xv *cbt_get_nbd_info(struct call *c, struct xv **err)
{
	struct obj *vdi = arg_obj(c, 0, "VDI", err);

	if (!vdi)
		return NULL;
	return nbdexport_info(vdi, c->session, err);
}
