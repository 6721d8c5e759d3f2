/* src/core/strpool.c and hmap.c as a large pool's load uses them: a pool
 * of 100,000 refs (its table grown many times) gives each text one stable
 * copy and one cell, binary text and "" included, and keeps the hash an
 * hmap gives it; the key cache remembers
 * two names that share a set, forgets the oldest of three, and keeps
 * names apart by depth and length; an hmap's hashed calls agree with its
 * plain ones through growth, replacement and unlinking. AddressSanitizer
 * (make build/san/unit/test_strpool) sees any leak or overrun. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hmap.h"
#include "strpool.h"
#include "util.h"

#define NREFS 100000

static void ref_text(char *out, size_t n, unsigned i)
{
	snprintf(out, n, "OpaqueRef:%08x-1111-4222-8333-%012u", i * 2654435761u, i);
}

static void test_pool_keeps_one_copy(void **state)
{
	struct strpool *p = strpool_new();
	const char **first = xcalloc(NREFS, sizeof(*first));
	char ref[64];
	void *cell;

	(void)state;
	for (unsigned i = 0; i < NREFS; i++) {
		ref_text(ref, sizeof(ref), i);
		first[i] = strpool_get_cell(p, ref, strlen(ref), &cell);
		assert_true((uintptr_t)cell % 8 == 0);
		for (size_t k = 0; k < STRPOOL_CELL; k++)
			assert_int_equal(((unsigned char *)cell)[k], 0);
		memset(cell, 0xA5, STRPOOL_CELL); /* all of it is the caller's: ASan watches */
		memcpy(cell, &i, sizeof(i));
		assert_string_equal(first[i], ref);
	}
	/* after every growth: the same copy, and the same cell as left, for each */
	for (unsigned i = 0; i < NREFS; i++) {
		unsigned back;
		ref_text(ref, sizeof(ref), i);
		assert_ptr_equal(strpool_get_cell(p, ref, strlen(ref), &cell), first[i]);
		/* the hash kept is the one an hmap computes (cache.c's store) */
		assert_int_equal(strpool_hash(first[i]), hmap_hash(ref));
		memcpy(&back, cell, sizeof(back));
		assert_int_equal(back, i);
		assert_int_equal(((unsigned char *)cell)[STRPOOL_CELL - 1], 0xA5);
		assert_string_equal(first[i], ref);
	}
	/* text with a NUL inside, a prefix of it, and the empty string are three */
	{
		const char *a = strpool_get(p, "ab\0cd", 5), *b = strpool_get(p, "ab", 2), *e = strpool_get(p, "", 0);
		assert_true(a != b && b != e && a != e);
		assert_memory_equal(a, "ab\0cd", 6);
		assert_ptr_equal(strpool_get(p, "ab\0cd", 5), a);
		assert_ptr_equal(strpool_get(p, "", 0), e);
		assert_string_equal(e, "");
		assert_int_equal(strpool_hash(e), hmap_hash(""));
		assert_int_equal(strpool_hash(b), hmap_hash("ab"));
	}
	free(first);
	strpool_free(p);
}

static void test_keycache_sets(void **state)
{
	struct keycache *kc = keycache_new();
	const struct keycache_entry *e;
	char name[KEYCACHE_NAME + 8];
	int stored = 0;

	(void)state;
	assert_null(keycache_find(kc, "uuid", 4, 3));
	keycache_put(kc, "uuid", 4, 3, "pooled-uuid", false);
	keycache_put(kc, "PV_args", 7, 3, NULL, true);
	e = keycache_find(kc, "uuid", 4, 3);
	assert_non_null(e);
	assert_string_equal(e->key, "pooled-uuid");
	assert_false(e->drop);
	e = keycache_find(kc, "PV_args", 7, 3);
	assert_non_null(e);
	assert_true(e->drop);
	/* the same name at another depth, or a prefix of it, is another name */
	assert_null(keycache_find(kc, "uuid", 4, 4));
	assert_null(keycache_find(kc, "uui", 3, 3));
	/* too long to keep: never found */
	memset(name, 'x', sizeof(name));
	keycache_put(kc, name, KEYCACHE_NAME, 3, "long", false);
	assert_null(keycache_find(kc, name, KEYCACHE_NAME, 3));
	/* a thousand names at one depth: the newest are all still there */
	for (int i = 0; i < 1000; i++) {
		int n = snprintf(name, sizeof(name), "field_%d", i);
		keycache_put(kc, name, (size_t)n, 3, "k", false);
	}
	for (int i = 990; i < 1000; i++) {
		int n = snprintf(name, sizeof(name), "field_%d", i);
		if (keycache_find(kc, name, (size_t)n, 3))
			stored++;
	}
	assert_int_equal(stored, 10);
	keycache_free(kc);
}

/* Two names that land in one set are both kept; a third pushes out the
 * oldest. The set of a name is not visible from here: the names are found
 * by watching which puts push a first name out. */
static void test_keycache_two_ways(void **state)
{
	struct keycache *kc = keycache_new();
	char b[16], c[16], cand[16];
	int j = -1, k = -1;

	(void)state;
	keycache_put(kc, "first", 5, 3, "A", false);
	for (int i = 0; i < 100000 && j < 0; i++) {
		snprintf(cand, sizeof(cand), "n%d", i);
		keycache_put(kc, cand, strlen(cand), 3, "x", false);
		if (!keycache_find(kc, "first", 5, 3))
			j = i; /* the second name of its set */
	}
	assert_true(j > 0);
	snprintf(c, sizeof(c), "n%d", j);
	for (int i = 0; i < j && k < 0; i++) {
		struct keycache *fresh = keycache_new();
		snprintf(cand, sizeof(cand), "n%d", i);
		keycache_put(fresh, "first", 5, 3, "A", false);
		keycache_put(fresh, cand, strlen(cand), 3, "B", false);
		keycache_put(fresh, c, strlen(c), 3, "C", false);
		if (!keycache_find(fresh, "first", 5, 3))
			k = i; /* the first */
		keycache_free(fresh);
	}
	assert_true(k >= 0);
	snprintf(b, sizeof(b), "n%d", k);
	keycache_free(kc);

	kc = keycache_new();
	keycache_put(kc, "first", 5, 3, "A", false);
	keycache_put(kc, b, strlen(b), 3, "B", false);
	/* two in one set: both remembered */
	assert_string_equal(keycache_find(kc, "first", 5, 3)->key, "A");
	assert_string_equal(keycache_find(kc, b, strlen(b), 3)->key, "B");
	/* a third: the oldest goes, the two newest stay */
	keycache_put(kc, c, strlen(c), 3, "C", false);
	assert_null(keycache_find(kc, "first", 5, 3));
	assert_string_equal(keycache_find(kc, b, strlen(b), 3)->key, "B");
	assert_string_equal(keycache_find(kc, c, strlen(c), 3)->key, "C");
	keycache_free(kc);
}

static void test_hmap_hashed(void **state)
{
	struct hmap m;
	struct hmap_node *nodes = xcalloc(NREFS, sizeof(*nodes));
	char **keys = xcalloc(NREFS, sizeof(*keys));
	char ref[64];

	(void)state;
	hmap_init(&m);
	for (unsigned i = 0; i < NREFS; i++) {
		ref_text(ref, sizeof(ref), i);
		keys[i] = xstrdup(ref);
		assert_null(hmap_get_hashed(&m, keys[i], hmap_hash(keys[i])));
		if (i % 2)
			hmap_link_hashed(&m, &nodes[i], keys[i], keys[i], hmap_hash(keys[i]));
		else
			hmap_link(&m, &nodes[i], keys[i], keys[i]);
	}
	assert_int_equal(m.n, NREFS);
	for (unsigned i = 0; i < NREFS; i++) {
		char *copy = xstrdup(keys[i]); /* found by text, not by pointer */
		assert_ptr_equal(hmap_get(&m, copy), keys[i]);
		assert_ptr_equal(hmap_get_hashed(&m, copy, hmap_hash(copy)), keys[i]);
		free(copy);
	}
	for (unsigned i = 0; i < NREFS; i += 3)
		hmap_unlink(&m, &nodes[i]);
	for (unsigned i = 0; i < NREFS; i++)
		assert_true((hmap_get(&m, keys[i]) == NULL) == (i % 3 == 0));
	hmap_clear_embedded(&m);
	/* owned nodes: replacing keeps one entry, deleting finds it by text */
	hmap_init(&m);
	assert_null(hmap_put(&m, keys[1], "one"));
	assert_string_equal(hmap_put(&m, keys[1], "uno"), "one");
	assert_int_equal(m.n, 1);
	ref_text(ref, sizeof(ref), 1);
	assert_string_equal(hmap_del(&m, ref), "uno");
	assert_null(hmap_get(&m, keys[1]));
	hmap_free(&m);
	for (unsigned i = 0; i < NREFS; i++)
		free(keys[i]);
	free(keys);
	free(nodes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_keeps_one_copy),
		cmocka_unit_test(test_keycache_sets),
		cmocka_unit_test(test_keycache_two_ways),
		cmocka_unit_test(test_hmap_hashed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
