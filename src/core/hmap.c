#include "hmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strhash.h"
#include "util.h"

static uint32_t hash(const char *s)
{
	return strhash(s, strlen(s));
}

uint32_t hmap_hash(const char *key)
{
	return hash(key);
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

static void resize(struct hmap *m, size_t nb)
{
	struct hmap_node **b = xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < m->nb; i++) {
		struct hmap_node *n = m->b[i], *next;
		for (; n; n = next) {
			size_t k = n->h & (nb - 1);
			next = n->next;
			n->next = b[k];
			b[k] = n;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
}

static void grow(struct hmap *m)
{
	resize(m, m->nb ? m->nb * 2 : 64);
}

void hmap_reserve(struct hmap *m, size_t n)
{
	size_t nb = m->nb ? m->nb : 64;

	while (nb < n)
		nb *= 2;
	if (nb > m->nb)
		resize(m, nb);
}

static struct hmap_node *find(const struct hmap *m, const char *key, uint32_t h)
{
	for (struct hmap_node *n = m->b[h & (m->nb - 1)]; n; n = n->next)
		if (n->h == h && (n->key == key || strcmp(n->key, key) == 0))
			return n;
	return NULL;
}

void *hmap_get_hashed(const struct hmap *m, const char *key, uint32_t h)
{
	struct hmap_node *n;

	if (!m->nb)
		return NULL;
	n = find(m, key, h);
	return n ? n->value : NULL;
}

void *hmap_get(const struct hmap *m, const char *key)
{
	return m->nb ? hmap_get_hashed(m, key, hash(key)) : NULL;
}

static void link_node(struct hmap *m, struct hmap_node *n, uint32_t h)
{
	size_t k;

	if (m->n >= m->nb)
		grow(m);
	k = h & (m->nb - 1);
	n->h = h;
	n->next = m->b[k];
	m->b[k] = n;
	m->n++;
}

void *hmap_put(struct hmap *m, const char *key, void *value)
{
	uint32_t h = hash(key);
	struct hmap_node *n = m->nb ? find(m, key, h) : NULL;

	if (n) {
		void *old = n->value;
		n->key = key;
		n->value = value;
		return old;
	}
	n = xmalloc(sizeof(*n));
	n->key = key;
	n->value = value;
	link_node(m, n, h);
	return NULL;
}

void *hmap_del(struct hmap *m, const char *key)
{
	uint32_t h;

	if (!m->nb)
		return NULL;
	h = hash(key);
	for (struct hmap_node **p = &m->b[h & (m->nb - 1)]; *p; p = &(*p)->next)
		if ((*p)->h == h && strcmp((*p)->key, key) == 0) {
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
	n->key = key;
	n->value = value;
	link_node(m, n, hash(key));
}

void hmap_link_hashed(struct hmap *m, struct hmap_node *n, const char *key, void *value, uint32_t h)
{
	n->key = key;
	n->value = value;
	link_node(m, n, h);
}

void hmap_unlink(struct hmap *m, struct hmap_node *n)
{
	if (!m->nb)
		return;
	for (struct hmap_node **p = &m->b[n->h & (m->nb - 1)]; *p; p = &(*p)->next)
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
