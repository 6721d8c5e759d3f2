#include "strpool.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct node {
	struct node *next;
	void *slot; /* the caller's, freed with the pool */
	size_t len;
	char s[]; /* NUL-terminated */
};

struct strpool {
	struct node **b;
	size_t nb, n;
};

static uint64_t hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

struct strpool *strpool_new(void)
{
	struct strpool *p = xcalloc(1, sizeof(*p));

	p->nb = 256;
	p->b = xcalloc(p->nb, sizeof(*p->b));
	return p;
}

void strpool_free(struct strpool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nb; i++) {
		struct node *n = p->b[i], *next;
		for (; n; n = next) {
			next = n->next;
			free(n->slot);
			free(n);
		}
	}
	free(p->b);
	free(p);
}

static void grow(struct strpool *p)
{
	size_t nb = p->nb * 2;
	struct node **b = xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < p->nb; i++) {
		struct node *n = p->b[i], *next;
		for (; n; n = next) {
			size_t k = hash(n->s, n->len) & (nb - 1);
			next = n->next;
			n->next = b[k];
			b[k] = n;
		}
	}
	free(p->b);
	p->b = b;
	p->nb = nb;
}

const char *strpool_get(struct strpool *p, const char *s, size_t len)
{
	void **slot;

	return strpool_get_slot(p, s, len, &slot);
}

const char *strpool_get_slot(struct strpool *p, const char *s, size_t len, void ***slot)
{
	size_t k = hash(s, len) & (p->nb - 1);
	struct node *n;

	for (n = p->b[k]; n; n = n->next)
		if (n->len == len && memcmp(n->s, s, len) == 0) {
			*slot = &n->slot;
			return n->s;
		}
	if (p->n >= p->nb) {
		grow(p);
		k = hash(s, len) & (p->nb - 1);
	}
	n = xmalloc(sizeof(*n) + len + 1);
	n->slot = NULL;
	*slot = &n->slot;
	n->len = len;
	memcpy(n->s, s, len);
	n->s[len] = '\0';
	n->next = p->b[k];
	p->b[k] = n;
	p->n++;
	return n->s;
}
