#include "hmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

void hmap_init(struct hmap *m)
{
	memset(m, 0, sizeof(*m));
}

void hmap_free(struct hmap *m)
{
	for (size_t i = 0; i < m->nb; i++) {
		struct hmap_node *n = m->b[i], *next;
		for (; n; n = next) {
			next = n->next;
			free(n);
		}
	}
	free(m->b);
	hmap_init(m);
}

static void grow(struct hmap *m)
{
	size_t nb = m->nb ? m->nb * 2 : 64;
	struct hmap_node **b = xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < m->nb; i++) {
		struct hmap_node *n = m->b[i], *next;
		for (; n; n = next) {
			size_t k = hash(n->key) & (nb - 1);
			next = n->next;
			n->next = b[k];
			b[k] = n;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
}

void *hmap_get(const struct hmap *m, const char *key)
{
	if (!m->nb)
		return NULL;
	for (struct hmap_node *n = m->b[hash(key) & (m->nb - 1)]; n; n = n->next)
		if (strcmp(n->key, key) == 0)
			return n->value;
	return NULL;
}

void *hmap_put(struct hmap *m, const char *key, void *value)
{
	struct hmap_node *n;
	size_t k;

	if (m->nb) {
		for (n = m->b[hash(key) & (m->nb - 1)]; n; n = n->next)
			if (strcmp(n->key, key) == 0) {
				void *old = n->value;
				n->key = key;
				n->value = value;
				return old;
			}
	}
	if (m->n >= m->nb)
		grow(m);
	k = hash(key) & (m->nb - 1);
	n = xmalloc(sizeof(*n));
	n->key = key;
	n->value = value;
	n->next = m->b[k];
	m->b[k] = n;
	m->n++;
	return NULL;
}

void *hmap_del(struct hmap *m, const char *key)
{
	if (!m->nb)
		return NULL;
	for (struct hmap_node **p = &m->b[hash(key) & (m->nb - 1)]; *p; p = &(*p)->next)
		if (strcmp((*p)->key, key) == 0) {
			struct hmap_node *n = *p;
			void *v = n->value;
			*p = n->next;
			free(n);
			m->n--;
			return v;
		}
	return NULL;
}

void hmap_each(const struct hmap *m, bool (*fn)(const char *key, void *value, void *ud), void *ud)
{
	for (size_t i = 0; i < m->nb; i++)
		for (struct hmap_node *n = m->b[i]; n; n = n->next)
			if (!fn(n->key, n->value, ud))
				return;
}

void hmap_link(struct hmap *m, struct hmap_node *n, const char *key, void *value)
{
	size_t k;

	if (m->n >= m->nb)
		grow(m);
	k = hash(key) & (m->nb - 1);
	n->key = key;
	n->value = value;
	n->next = m->b[k];
	m->b[k] = n;
	m->n++;
}

void hmap_unlink(struct hmap *m, struct hmap_node *n)
{
	if (!m->nb)
		return;
	for (struct hmap_node **p = &m->b[hash(n->key) & (m->nb - 1)]; *p; p = &(*p)->next)
		if (*p == n) {
			*p = n->next;
			m->n--;
			return;
		}
}

void hmap_clear_embedded(struct hmap *m)
{
	free(m->b);
	hmap_init(m);
}
