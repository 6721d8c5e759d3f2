#include "strpool.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "util.h"

struct node {
	struct node *next;
	void *slot; /* the caller's, freed with the pool */
	uint32_t len;
	uint32_t h; /* the hash's low half, kept: growing never rehashes a string */
	char s[]; /* NUL-terminated */
};

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

/* Chained: a bucket a string at most, and the hash in the node (in what was
 * padding) so that growing relinks nodes without rehashing a string. */
struct strpool {
	struct node **t;
	size_t nb, n;
	struct chunk *chunks; /* the newest first: the one carved from */
};

static uint32_t hash(const char *s, size_t n)
{
	return (uint32_t)XXH3_64bits(s, n);
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
	for (size_t i = 0; i < p->nb; i++)
		for (struct node *n = p->t[i]; n; n = n->next)
			free(n->slot);
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
	struct node **t = xcalloc(nb, sizeof(*t));

	for (size_t i = 0; i < p->nb; i++) {
		struct node *n = p->t[i], *next;
		for (; n; n = next) {
			size_t k = n->h & mask;
			next = n->next;
			n->next = t[k];
			t[k] = n;
		}
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
	void **slot;

	return strpool_get_slot(p, s, len, &slot);
}

const char *strpool_get_slot(struct strpool *p, const char *s, size_t len, void ***slot)
{
	uint32_t h = hash(s, len);
	size_t mask = p->nb - 1, k = h & mask;
	struct node *n;

	for (n = p->t[k]; n; n = n->next) {
		if (n->h == h && n->len == len && memcmp(n->s, s, len) == 0) {
			*slot = &n->slot;
			return n->s;
		}
	}
	if (p->n >= p->nb) {
		grow(p);
		k = h & (p->nb - 1);
	}
	n = carve(p, offsetof(struct node, s) + len + 1);
	n->slot = NULL;
	*slot = &n->slot;
	n->len = (uint32_t)len;
	n->h = h;
	memcpy(n->s, s, len);
	n->s[len] = '\0';
	n->next = p->t[k];
	p->t[k] = n;
	p->n++;
	return n->s;
}
