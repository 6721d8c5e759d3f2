/* VDI contents: a seeded sparse base plus copy-on-write 1 MiB blocks that
 * imports wrote. See vdidata.h for the seed rules. */
#include "vdidata.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbtlog.h"
#include "schema.h"
#include "util.h"

/* Written data the simulator keeps at most, all VDIs together. */
#define VDATA_MAX_BLOCKS 2048 /* 2 GiB */

struct bdata {
	atomic_int refs;
	unsigned char b[VDATA_BLOCK];
};

/* A written block that reads as zeros: no memory behind it. */
static char zero_marker;
#define ZERO_BLOCK ((struct bdata *)(void *)&zero_marker)

/* Block index -> data, open addressing; vals[i] == NULL is an empty slot. */
struct bmap {
	uint64_t *keys;
	struct bdata **vals;
	size_t cap, n;
};

struct vdata {
	pthread_mutex_t lock;
	atomic_int refs;
	bool blank;    /* the base is all zeros */
	uint64_t seed; /* else the base comes from this */
	uint64_t every; /* "pattern:EVERY:SEED": data in every EVERY-th block; 0: the usual four */
	struct bmap m;
	/* registry (db lock): VDIs that were written */
	char ref[REF_LEN];
	char uuid[40];
	struct vdata *next;
};

static atomic_int blocks_in_use;
static struct vdata *live, *retired;
static void (*prev_on_delete)(struct obj *o);
static bool hooked;

/* ---- hashing and the synthetic base ------------------------------------ */

static uint64_t splitmix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ULL;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
	return x ^ (x >> 31);
}

static uint64_t seed_of(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return splitmix(h);
}

/* Which 1 MiB blocks of a base hold data: the first (a boot sector), and
 * three more at seed-chosen places in the first 1 GiB. The layout does not
 * depend on the size, so a resized VDI keeps its bytes. */
static bool base_has_data(const struct vdata *d, uint64_t idx)
{
	if (d->blank)
		return false;
	if (d->every)
		return idx % d->every == 0;
	return idx == 0 || idx == 1 + splitmix(d->seed ^ 1) % 8 || idx == 8 + splitmix(d->seed ^ 2) % 56
	       || idx == 64 + splitmix(d->seed ^ 3) % 960;
}

/* The first three quarters of a data block are pseudo-random, the rest zeros
 * (so partly-used blocks exist too). */
#define BASE_DATA (VDATA_BLOCK / 4 * 3)

static void base_fill(const struct vdata *d, uint64_t idx, unsigned char *out)
{
	uint64_t x = splitmix(d->seed ^ (idx * 0x9E3779B97F4A7C15ULL));
	size_t data = BASE_DATA;

	memset(out, 0, VDATA_BLOCK);
	if (!base_has_data(d, idx))
		return;
	for (size_t i = 0; i < data; i += 8) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		uint64_t v = x * 0x2545F4914F6CDD1DULL;
		memcpy(out + i, &v, 8);
	}
	if (idx == 0) {
		out[510] = 0x55;
		out[511] = 0xAA;
	}
}

/* ---- the block map ------------------------------------------------------ */

static size_t slot_of(const struct bmap *m, uint64_t key)
{
	size_t i = (size_t)splitmix(key) & (m->cap - 1);

	while (m->vals[i] && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static struct bdata *bmap_get(const struct bmap *m, uint64_t key)
{
	return m->cap ? m->vals[slot_of(m, key)] : NULL;
}

static void bmap_put(struct bmap *m, uint64_t key, struct bdata *v);

static void bmap_grow(struct bmap *m)
{
	struct bmap n = {xcalloc(m->cap ? m->cap * 2 : 16, sizeof(uint64_t)),
			 xcalloc(m->cap ? m->cap * 2 : 16, sizeof(struct bdata *)), m->cap ? m->cap * 2 : 16, 0};

	for (size_t i = 0; i < m->cap; i++)
		if (m->vals[i])
			bmap_put(&n, m->keys[i], m->vals[i]);
	free(m->keys);
	free(m->vals);
	*m = n;
}

/* Replaces without touching the old value's reference. */
static void bmap_put(struct bmap *m, uint64_t key, struct bdata *v)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap)
		bmap_grow(m);
	i = slot_of(m, key);
	if (!m->vals[i])
		m->n++;
	m->keys[i] = key;
	m->vals[i] = v;
}

static void block_unref(struct bdata *b)
{
	if (b && b != ZERO_BLOCK && atomic_fetch_sub(&b->refs, 1) == 1) {
		free(b);
		atomic_fetch_sub(&blocks_in_use, 1);
	}
}

static struct bdata *block_new(void)
{
	struct bdata *b;

	if (atomic_fetch_add(&blocks_in_use, 1) >= VDATA_MAX_BLOCKS) {
		atomic_fetch_sub(&blocks_in_use, 1);
		return NULL;
	}
	b = xmalloc(sizeof(*b));
	atomic_init(&b->refs, 1);
	return b;
}

/* ---- handles ------------------------------------------------------------ */

static struct vdata *vdata_new(bool blank, uint64_t seed)
{
	struct vdata *d = xcalloc(1, sizeof(*d));

	pthread_mutex_init(&d->lock, NULL);
	atomic_init(&d->refs, 1);
	d->blank = blank;
	d->seed = seed;
	return d;
}

/* "pattern:EVERY:SEED" (benchmarks: big disks with much data, no memory):
 * a base with data in every EVERY-th 1 MiB block; NULL if c is not one. */
static struct vdata *vdata_pattern(const char *c)
{
	unsigned long long every, seed = 0;
	struct vdata *d;

	if (strncmp(c, "pattern:", 8) != 0 || sscanf(c + 8, "%llu:%llu", &every, &seed) < 1 || every == 0)
		return NULL;
	d = vdata_new(false, splitmix(seed));
	d->every = every;
	return d;
}

/* A private copy sharing the blocks (copy-on-write). */
static struct vdata *vdata_clone(struct vdata *src)
{
	struct vdata *d = vdata_new(src->blank, src->seed);

	d->every = src->every;
	pthread_mutex_lock(&src->lock);
	for (size_t i = 0; i < src->m.cap; i++) {
		struct bdata *b = src->m.vals[i];
		if (!b)
			continue;
		if (b != ZERO_BLOCK)
			atomic_fetch_add(&b->refs, 1);
		bmap_put(&d->m, src->m.keys[i], b);
	}
	pthread_mutex_unlock(&src->lock);
	return d;
}

void vdata_put(struct vdata *d)
{
	if (!d || atomic_fetch_sub(&d->refs, 1) != 1)
		return;
	for (size_t i = 0; i < d->m.cap; i++)
		block_unref(d->m.vals[i]);
	free(d->m.keys);
	free(d->m.vals);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* ---- the registry (db lock) --------------------------------------------- */

static struct vdata *find_in(struct vdata *list, const char *ref, const char *uuid)
{
	for (struct vdata *d = list; d; d = d->next)
		if ((ref && strcmp(d->ref, ref) == 0) || (uuid && strcmp(d->uuid, uuid) == 0))
			return d;
	return NULL;
}

static void unlink_from(struct vdata **list, struct vdata *d)
{
	for (struct vdata **p = list; *p; p = &(*p)->next)
		if (*p == d) {
			*p = d->next;
			d->next = NULL;
			return;
		}
}

static const char *content_of(const struct obj *vdi)
{
	return db_map_get(vdi, "other_config", "content_of");
}

/* The VDI's bytes as a fresh private handle. */
static struct vdata *resolve(const struct obj *vdi, int depth)
{
	struct vdata *e = find_in(live, vdi->ref, NULL);
	const char *c = content_of(vdi);

	if (e)
		return vdata_clone(e);
	if (!c)
		return vdata_new(false, seed_of(db_str(vdi, "uuid")));
	if (strcmp(c, "blank") == 0)
		return vdata_new(true, 0);
	if ((e = vdata_pattern(c)))
		return e;
	if (strncmp(c, "vdi:", 4) == 0) {
		struct obj *src = db_by_uuid(schema_class("VDI"), c + 4);
		if (src && src != vdi && depth < 8)
			return resolve(src, depth + 1);
		if ((e = find_in(retired, NULL, c + 4)))
			return vdata_clone(e);
		return vdata_new(true, 0); /* its source is gone: nothing to read */
	}
	return vdata_new(false, seed_of(c));
}

static bool refers_to(const struct obj *vdi, const char *uuid)
{
	const char *c = content_of(vdi);

	return c && strncmp(c, "vdi:", 4) == 0 && strcmp(c + 4, uuid) == 0;
}

/* Frees the stores of deleted VDIs no copy reads through any more. */
static void gc_retired(void)
{
	const struct cls *vc = schema_class("VDI");
	struct vdata *d = retired, *next;

	for (; d; d = next) {
		bool used = false;
		next = d->next;
		for (struct obj *o = db.head[vc->idx]; o && !used; o = o->cnext)
			used = !find_in(live, o->ref, NULL) && refers_to(o, d->uuid);
		if (!used) {
			unlink_from(&retired, d);
			vdata_put(d);
		}
	}
}

/* Kept until no copy needs it: copies resolve through it lazily. Only
 * moves a pointer, as db_free calls this for every object. */
static void on_delete(struct obj *o)
{
	struct vdata *d;

	if (strcmp(o->cls->name, "VDI") == 0 && (d = find_in(live, o->ref, NULL))) {
		unlink_from(&live, d);
		d->next = retired;
		retired = d;
	}
	if (prev_on_delete)
		prev_on_delete(o);
}

static void registry_add(struct obj *vdi, struct vdata *d)
{
	char mark[48];

	snprintf(d->ref, sizeof(d->ref), "%s", vdi->ref);
	snprintf(d->uuid, sizeof(d->uuid), "%s", db_str(vdi, "uuid"));
	d->next = live;
	live = d;
	snprintf(mark, sizeof(mark), "vdi:%s", d->uuid);
	db_map_put(vdi, "other_config", "content_of", mark);
}

struct vdata *vdata_get(struct obj *vdi)
{
	return resolve(vdi, 0);
}

struct vdata *vdata_prepare_write(struct obj *vdi)
{
	const struct cls *vc = schema_class("VDI");
	const char *uuid = db_str(vdi, "uuid");
	struct vdata *e;

	if (!hooked) {
		/* chained, so whoever else hooks deletions keeps working */
		prev_on_delete = db_on_delete;
		db_on_delete = on_delete;
		hooked = true;
	}
	gc_retired();
	e = find_in(live, vdi->ref, NULL);
	/* copies that still read through this VDI keep what it holds now */
	for (struct obj *o = db.head[vc->idx]; o; o = o->cnext)
		if (o != vdi && !find_in(live, o->ref, NULL) && refers_to(o, uuid))
			registry_add(o, e ? vdata_clone(e) : resolve(vdi, 0));
	if (!e) {
		e = resolve(vdi, 0);
		registry_add(vdi, e);
	}
	atomic_fetch_add(&e->refs, 1);
	return e;
}

void vdata_mark_blank(struct obj *vdi)
{
	db_map_put(vdi, "other_config", "content_of", "blank");
}

/* ---- reading and writing -------------------------------------------------- */

/* Fills out with block idx (scratch is a VDATA_BLOCK buffer for the base). */
static const unsigned char *block_bytes(struct vdata *d, uint64_t idx, unsigned char *scratch, bool *zero)
{
	struct bdata *b = bmap_get(&d->m, idx);

	*zero = false;
	if (b == ZERO_BLOCK || (!b && !base_has_data(d, idx))) {
		*zero = true;
		return NULL;
	}
	if (b)
		return b->b;
	base_fill(d, idx, scratch);
	return scratch;
}

void vdata_read(struct vdata *d, uint64_t off, void *buf, size_t len)
{
	unsigned char *out = buf, *scratch = NULL;

	pthread_mutex_lock(&d->lock);
	while (len) {
		uint64_t idx = off / VDATA_BLOCK;
		size_t in = (size_t)(off % VDATA_BLOCK), n = VDATA_BLOCK - in;
		const unsigned char *src;
		bool zero;

		if (n > len)
			n = len;
		if (!bmap_get(&d->m, idx) && base_has_data(d, idx) && !scratch)
			scratch = xmalloc(VDATA_BLOCK);
		src = block_bytes(d, idx, scratch, &zero);
		if (zero)
			memset(out, 0, n);
		else
			memcpy(out, src + in, n);
		out += n;
		off += n;
		len -= n;
	}
	pthread_mutex_unlock(&d->lock);
	free(scratch);
}

static bool all_zero(const unsigned char *p, size_t n)
{
	static const unsigned char zeros[4096];

	while (n >= sizeof(zeros)) {
		if (memcmp(p, zeros, sizeof(zeros)) != 0)
			return false;
		p += sizeof(zeros);
		n -= sizeof(zeros);
	}
	return memcmp(p, zeros, n) == 0;
}

bool vdata_write(struct vdata *d, uint64_t off, const void *buf, size_t len)
{
	const unsigned char *in = buf;
	bool ok = true;

	cbtlog_note_write(d->uuid, off, len); /* changed-block tracking, when the VDI has it */
	pthread_mutex_lock(&d->lock);
	while (len) {
		uint64_t idx = off / VDATA_BLOCK;
		size_t at = (size_t)(off % VDATA_BLOCK), n = VDATA_BLOCK - at;
		struct bdata *b = bmap_get(&d->m, idx), *nb;

		if (n > len)
			n = len;
		if (n == VDATA_BLOCK && all_zero(in, n)) {
			/* sparse: a zero block costs nothing */
			if (b || base_has_data(d, idx)) {
				block_unref(b);
				bmap_put(&d->m, idx, ZERO_BLOCK);
			}
		} else if (b && b != ZERO_BLOCK && atomic_load(&b->refs) == 1) {
			memcpy(b->b + at, in, n);
		} else if (!(nb = block_new())) {
			ok = false;
			break;
		} else {
			if (b == ZERO_BLOCK)
				memset(nb->b, 0, VDATA_BLOCK);
			else if (b)
				memcpy(nb->b, b->b, VDATA_BLOCK);
			else
				base_fill(d, idx, nb->b);
			memcpy(nb->b + at, in, n);
			block_unref(b);
			bmap_put(&d->m, idx, nb);
			b = nb;
		}
		b = bmap_get(&d->m, idx);
		/* a block only turns all-zero by being written zeros */
		if (b && b != ZERO_BLOCK && n < VDATA_BLOCK && all_zero(in, n) && all_zero(b->b, VDATA_BLOCK)) {
			block_unref(b);
			bmap_put(&d->m, idx, ZERO_BLOCK);
		}
		in += n;
		off += n;
		len -= n;
	}
	pthread_mutex_unlock(&d->lock);
	return ok;
}

bool vdata_is_zero(struct vdata *d, uint64_t off, uint64_t len)
{
	unsigned char *scratch = NULL;
	bool zero = true;

	pthread_mutex_lock(&d->lock);
	while (len && zero) {
		uint64_t idx = off / VDATA_BLOCK;
		size_t at = (size_t)(off % VDATA_BLOCK), n = VDATA_BLOCK - at;
		struct bdata *b = bmap_get(&d->m, idx);
		const unsigned char *src;
		bool z;

		if (n > len)
			n = (size_t)len;
		if (b && b != ZERO_BLOCK && n == VDATA_BLOCK) {
			zero = false; /* written blocks of zeros became ZERO_BLOCK */
			break;
		}
		if (!b && base_has_data(d, idx) && at + 64 <= BASE_DATA && n >= 64) {
			zero = false; /* 64 pseudo-random bytes are never all zero: no need to make them */
			break;
		}
		if (!b && base_has_data(d, idx) && !scratch)
			scratch = xmalloc(VDATA_BLOCK);
		src = block_bytes(d, idx, scratch, &z);
		if (!z)
			zero = all_zero(src + at, n);
		off += n;
		len -= n;
	}
	pthread_mutex_unlock(&d->lock);
	free(scratch);
	return zero;
}

bool vdata_same(struct vdata *a, struct vdata *b, uint64_t off, uint64_t len)
{
	unsigned char *sa = xmalloc(VDATA_BLOCK), *sb = xmalloc(VDATA_BLOCK);
	bool same = true, same_base = a->blank == b->blank && (a->blank || (a->seed == b->seed && a->every == b->every));

	if (a == b) {
		free(sa);
		free(sb);
		return true;
	}
	/* always in the same order, so two comparisons cannot deadlock */
	pthread_mutex_lock(a < b ? &a->lock : &b->lock);
	pthread_mutex_lock(a < b ? &b->lock : &a->lock);
	while (len && same) {
		uint64_t idx = off / VDATA_BLOCK;
		size_t at = (size_t)(off % VDATA_BLOCK), n = VDATA_BLOCK - at;
		struct bdata *ba = bmap_get(&a->m, idx), *bb = bmap_get(&b->m, idx);
		const unsigned char *pa, *pb;
		bool za, zb;

		if (n > len)
			n = (size_t)len;
		if (ba == bb && (ba || same_base)) {
			/* shared block, or both untouched on the same base */
		} else {
			pa = block_bytes(a, idx, sa, &za);
			pb = block_bytes(b, idx, sb, &zb);
			if (za && zb)
				same = true;
			else if (za)
				same = all_zero(pb + at, n);
			else if (zb)
				same = all_zero(pa + at, n);
			else
				same = memcmp(pa + at, pb + at, n) == 0;
		}
		off += n;
		len -= n;
	}
	pthread_mutex_unlock(&a->lock);
	pthread_mutex_unlock(&b->lock);
	free(sa);
	free(sb);
	return same;
}
