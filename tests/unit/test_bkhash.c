/* SHA-256 on a worker thread (src/backup/bkhash.h): the digest equals one
 * EVP context fed the same bytes whatever the piece sizes (under one slot,
 * exactly the ring, across slot edges), and abandoning a hash midway
 * (a failure or a cancel) joins the worker and frees everything (LSan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bkhash.h"
#include "bkutil.h"
#include "util.h"

#define MiB ((size_t)1 << 20)

/* Deterministic bytes, different at every offset. */
static unsigned char *pattern(size_t n)
{
	unsigned char *p = xmalloc(n ? n : 1);
	uint32_t x = 2463534242u;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
	return p;
}

static void reference(const unsigned char *p, size_t n, char out[65])
{
	EVP_MD_CTX *c = bk_sha_new();

	EVP_DigestUpdate(c, p, n);
	bk_sha_hex(c, out);
}

/* Feeds n bytes in pieces of sizes cycling through steps[]. */
static void threaded(const unsigned char *p, size_t n, const size_t *steps, size_t nsteps, char out[65])
{
	struct bk_hash *h = bk_hash_new();
	size_t off = 0;

	for (size_t i = 0; off < n; i++) {
		size_t k = steps[i % nsteps];

		if (k > n - off)
			k = n - off;
		bk_hash_update(h, p + off, k);
		off += k;
	}
	bk_hash_hex(h, out);
}

static void check(size_t n, const size_t *steps, size_t nsteps)
{
	unsigned char *p = pattern(n);
	char want[65], got[65];

	reference(p, n, want);
	threaded(p, n, steps, nsteps, got);
	assert_string_equal(got, want);
	free(p);
}

static void test_empty(void **state)
{
	static const size_t steps[] = {1};
	(void)state;
	check(0, steps, 1);
	/* the well-known digest of nothing */
	{
		struct bk_hash *h = bk_hash_new();
		char out[65];

		bk_hash_hex(h, out);
		assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	}
}

static void test_small(void **state)
{
	static const size_t steps[] = {1, 7, 4096, 65536};
	(void)state;
	check(1, steps, 4);
	check(100000, steps, 4);
	check(MiB - 1, steps, 4);
}

static void test_slot_edges(void **state)
{
	static const size_t whole[] = {MiB};
	static const size_t odd[] = {MiB + 1, 3, MiB - 3, 65536, 2 * MiB + 17};
	static const size_t big[] = {5 * MiB + 11};
	(void)state;
	check(MiB, whole, 1);
	check(4 * MiB, whole, 1);          /* exactly the ring */
	check(4 * MiB + 1, whole, 1);
	check(13 * MiB + 12345, odd, 5);
	check(23 * MiB + 1, big, 1);       /* one piece larger than the ring */
}

static void test_many_hashes(void **state)
{
	static const size_t steps[] = {256 * 1024 + 5};
	(void)state;
	/* each starts and joins its own worker */
	for (int i = 0; i < 20; i++)
		check((size_t)i * MiB / 2 + (size_t)i, steps, 1);
}

static void test_abandon(void **state)
{
	unsigned char *p = pattern(9 * MiB + 3);
	(void)state;
	bk_hash_free(NULL);
	/* never started, started with slots queued, and started then drained */
	bk_hash_free(bk_hash_new());
	{
		struct bk_hash *h = bk_hash_new();
		bk_hash_update(h, p, 100);
		bk_hash_free(h);
	}
	{
		struct bk_hash *h = bk_hash_new();
		bk_hash_update(h, p, 9 * MiB + 3);
		bk_hash_free(h);
	}
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_small),
		cmocka_unit_test(test_slot_edges),
		cmocka_unit_test(test_many_hashes),
		cmocka_unit_test(test_abandon),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
