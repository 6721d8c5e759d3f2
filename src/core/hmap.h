/* A string-keyed hash map (chained). Keys are borrowed: the caller keeps
 * them alive as long as the entry (usually they live in the value). */
#ifndef XENTUI_HMAP_H
#define XENTUI_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hmap_node {
	const char *key;
	void *value;
	struct hmap_node *next;
	uint32_t h; /* the key's hash: growing and probing never read a key again */
};

struct hmap {
	struct hmap_node **b;
	size_t nb, n;
};

void hmap_init(struct hmap *m);
void hmap_free(struct hmap *m);
/* Room for n entries without growing (a reply's record count is known). */
void hmap_reserve(struct hmap *m, size_t n);
void *hmap_get(const struct hmap *m, const char *key);
/* Inserts or replaces; returns the old value (or NULL). */
void *hmap_put(struct hmap *m, const char *key, void *value);
void *hmap_del(struct hmap *m, const char *key);
/* The same with a node the caller owns (embedded in its own struct): no
 * allocation per entry. Such nodes are removed with hmap_unlink, and hmap_free
 * must not be called while any is still in (hmap_clear_embedded first). */
void hmap_link(struct hmap *m, struct hmap_node *n, const char *key, void *value);
/* The same two with the key's hash (hmap_hash) computed once for both. */
uint32_t hmap_hash(const char *key);
void *hmap_get_hashed(const struct hmap *m, const char *key, uint32_t h);
void hmap_link_hashed(struct hmap *m, struct hmap_node *n, const char *key, void *value, uint32_t h);
void hmap_unlink(struct hmap *m, struct hmap_node *n);
void hmap_clear_embedded(struct hmap *m);
/* Calls fn for every entry; fn returns false to stop. Do not modify m meanwhile. */
void hmap_each(const struct hmap *m, bool (*fn)(const char *key, void *value, void *ud), void *ud);

#endif
