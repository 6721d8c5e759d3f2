#include "strpool.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strhash.h"
#include "util.h"

struct node {
	uint32_t len;
	uint32_t h; /* the hash's low half, kept: growing never rehashes a string */
	char s[]; /* NUL-terminated, then the caller's cell (8-aligned) */
};

/* The cell after the text: a lookup reads the node's head and text only. */
static size_t cell_offset(size_t len)
{
	return (offsetof(struct node, s) + len + 1 + 7) & ~(size_t)7;
}

/* Strings are never freed one by one: they are carved from chunks, without
 * malloc's header and rounding on each of 50,000 refs. Chunks double from
 * 1 KiB (a decoder's own pool of a small reply's keys stays small). */
#define CHUNK_MIN 1024u
#define CHUNK (64u << 10)

struct chunk {
	struct chunk *next;
	size_t used, size;
	char mem[];
};

/* Open addressing (linear probing), each slot a node's address with 16 bits
 * of its hash above it (user addresses fit in 48 bits on Linux's 64-bit
 * ports): a probe reads nodes only when the tag matches, so a lookup costs
 * about one cache miss in the table and one in the node it finds, not a
 * chain's worth (50,000 refs make both far larger than the caches). */
#define ADDR_BITS 48
#define ADDR_MASK ((UINT64_C(1) << ADDR_BITS) - 1)
struct strpool {
	uint64_t *t;
	size_t nb, n; /* slots (a power of two), strings */
	struct chunk *chunks; /* the newest first: the one carved from */
};

/* The tag: bits of h other than the low ones that pick the slot. */
static uint64_t tag_of(uint32_t h)
{
	return (uint64_t)((h * 2654435761u) >> 16) << ADDR_BITS;
}

static struct node *node_at(uint64_t e)
{
	return (struct node *)(uintptr_t)(e & ADDR_MASK);
}

uint32_t strpool_hash(const char *pooled)
{
	return ((const struct node *)(pooled - offsetof(struct node, s)))->h;
}

struct strpool *strpool_new(void)
{
	struct strpool *p = xcalloc(1, sizeof(*p));

	p->nb = 256;
	p->t = xcalloc(p->nb, sizeof(*p->t));
	return p;
}

void strpool_free(struct strpool *p)
{
	if (!p)
		return;
	while (p->chunks) {
		struct chunk *c = p->chunks;
		p->chunks = c->next;
		free(c);
	}
	free(p->t);
	free(p);
}

static void grow(struct strpool *p)
{
	size_t nb = p->nb * 2, mask = nb - 1;
	uint64_t *t = xcalloc(nb, sizeof(*t));

	for (size_t i = 0; i < p->nb; i++) {
		size_t k;
		if (!p->t[i])
			continue;
		k = node_at(p->t[i])->h & mask;
		while (t[k])
			k = (k + 1) & mask;
		t[k] = p->t[i];
	}
	free(p->t);
	p->t = t;
	p->nb = nb;
}

/* size bytes, 8-aligned, that live until strpool_free. */
static void *carve(struct strpool *p, size_t size)
{
	struct chunk *c = p->chunks;

	size = (size + 7) & ~(size_t)7;
	if (size > CHUNK / 4) {
		/* a long string: a chunk of its own, behind the current one */
		c = xmalloc(sizeof(*c) + size);
		c->used = c->size = size; /* full */
		if (p->chunks) {
			c->next = p->chunks->next;
			p->chunks->next = c;
		} else {
			c->next = NULL;
			p->chunks = c;
		}
		return c->mem;
	}
	if (!c || c->used + size > c->size) {
		size_t want = c && c->size < CHUNK ? c->size * 2 : c ? CHUNK : CHUNK_MIN;
		while (want < size)
			want *= 2;
		c = xmalloc(sizeof(*c) + want);
		c->used = 0;
		c->size = want;
		c->next = p->chunks;
		p->chunks = c;
	}
	c->used += size;
	return c->mem + c->used - size;
}

const char *strpool_get(struct strpool *p, const char *s, size_t len)
{
	void *cell;

	return strpool_get_cell(p, s, len, &cell);
}

const char *strpool_get_cell(struct strpool *p, const char *s, size_t len, void **cell)
{
	uint32_t h = strhash(s, len);
	uint64_t tag = tag_of(h);
	size_t mask = p->nb - 1, k = h & mask;
	struct node *n;

	for (; p->t[k]; k = (k + 1) & mask) {
		if ((p->t[k] & ~ADDR_MASK) != tag)
			continue;
		n = node_at(p->t[k]);
		if (n->h == h && n->len == len && memcmp(n->s, s, len) == 0) {
			*cell = (char *)n + cell_offset(len);
			return n->s;
		}
	}
	n = carve(p, cell_offset(len) + STRPOOL_CELL);
	if ((uintptr_t)n & ~(uintptr_t)ADDR_MASK) {
		/* as xmalloc's failure: no Linux malloc hands out such an address */
		fprintf(stderr, "out of memory (a string pool's address past 48 bits)\n");
		abort();
	}
	*cell = (char *)n + cell_offset(len);
	memset(*cell, 0, STRPOOL_CELL);
	n->len = (uint32_t)len;
	n->h = h;
	memcpy(n->s, s, len);
	n->s[len] = '\0';
	p->t[k] = tag | (uint64_t)(uintptr_t)n;
	/* at most 3/4 full: probes stay short */
	if (++p->n * 4 >= p->nb * 3)
		grow(p);
	return n->s;
}

/* ---- the key cache ------------------------------------------------------ */

/* 1,024 slots in sets of 2: with 256 direct-mapped, some 40 of a VM's
 * hundred fields shared a slot in pairs and missed on every record. */
#define KC_BITS 10
#define KC_WAYS 2

struct kc_slot {
	struct keycache_entry e;
	uint8_t len, depth, used;
	char name[KEYCACHE_NAME];
};

struct keycache {
	struct kc_slot s[1u << KC_BITS];
};

struct keycache *keycache_new(void)
{
	return xcalloc(1, sizeof(struct keycache));
}

void keycache_free(struct keycache *kc)
{
	free(kc);
}

/* The set of (name, depth): a hash of the length and the first and last 8
 * bytes (a record's names differ there: memory_static_max and _min), which
 * is all a cache needs (a collision only costs a miss). */
static struct kc_slot *kc_set(struct keycache *kc, const unsigned char *name, size_t len, int depth)
{
	uint64_t a = 0, b = 0;

	if (len >= 8) {
		memcpy(&a, name, 8);
		memcpy(&b, name + len - 8, 8);
	} else if (len >= 4) {
		uint32_t x, y;
		memcpy(&x, name, 4);
		memcpy(&y, name + len - 4, 4);
		a = x;
		b = y;
	} else if (len) {
		a = name[0] | (uint64_t)name[len / 2] << 8 | (uint64_t)name[len - 1] << 16;
	}
	a = (a ^ (b << 29 | b >> 35) ^ ((uint64_t)len << 56) ^ (uint64_t)(unsigned)depth << 48) * 0x9E3779B97F4A7C15ULL;
	return &kc->s[(a >> (64 - KC_BITS)) & ~(uint64_t)(KC_WAYS - 1)];
}

const struct keycache_entry *keycache_find(struct keycache *kc, const void *name, size_t len, int depth)
{
	struct kc_slot *s;

	if (len >= KEYCACHE_NAME || depth < 0 || depth > 255)
		return NULL;
	s = kc_set(kc, name, len, depth);
	for (int way = 0; way < KC_WAYS; way++, s++)
		if (s->used && s->len == len && s->depth == depth && memcmp(s->name, name, len) == 0)
			return &s->e;
	return NULL;
}

void keycache_put(struct keycache *kc, const void *name, size_t len, int depth, const char *key, bool drop)
{
	struct kc_slot *s;

	if (len >= KEYCACHE_NAME || depth < 0 || depth > 255)
		return;
	s = kc_set(kc, name, len, depth);
	memmove(s + 1, s, (KC_WAYS - 1) * sizeof(*s)); /* the newest first, the oldest out */
	s->e.key = key;
	s->e.drop = drop;
	s->len = (uint8_t)len;
	s->depth = (uint8_t)depth;
	s->used = 1;
	memcpy(s->name, name, len);
}
