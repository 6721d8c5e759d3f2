/* The XVA checker on what xapi-sim exports (plain, gzip, zstd), on files
 * recompressed by the gzip and zstd tools, on an older-style XVA with SHA-1
 * .checksum members, and on the same exports cut short or altered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/sha.h>

#include "util.h"
#include "xva.h"

static char dir[256];

static uint8_t *load(const char *name, size_t *n)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	uint8_t *p;
	long len;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = xmalloc((size_t)len + 1);
	assert_int_equal(fread(p, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	free(path);
	*n = (size_t)len;
	return p;
}

/* Feeds n bytes in uneven pieces; true when write and finish both accept. */
static bool check(const uint8_t *p, size_t n, uint64_t *chunks, char **ova, char **err)
{
	struct xva_check *c = xva_check_new();
	size_t at = 0, step = 3;
	bool ok = true;

	while (ok && at < n) {
		size_t k = step < n - at ? step : n - at;
		ok = xva_check_write(c, p + at, k, err);
		at += k;
		step = step * 5 % 300007 + 1;
	}
	if (ok)
		ok = xva_check_finish(c, err);
	if (ok && chunks)
		*chunks = xva_check_chunks(c);
	if (ok && ova)
		*ova = xstrdup(xva_check_ova_xml(c));
	xva_check_free(c);
	return ok;
}

static int setup(void **state)
{
	char *cwd = getcwd(NULL, 0), *cmd;
	int rc;

	snprintf(dir, sizeof(dir), "%s/build/test-logs/xva-%d", cwd, (int)getpid());
	free(cwd);
	cmd = xasprintf("python3 tests/backup/fixtures/sim_exports.py '%s' && gzip -c '%s/vm.xva' > '%s/tool-gzip.xva' && "
			"zstd -q -c '%s/vm.xva' > '%s/tool-zstd.xva'",
			dir, dir, dir, dir, dir);
	rc = system(cmd);
	free(cmd);
	return rc == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	int rc = system(cmd);

	free(cmd);
	return rc == 0 ? 0 : -1;
}

static void test_sim_exports_pass(void **state)
{
	const char *names[] = { "vm.xva", "vm-gzip.xva", "vm-zstd.xva", "tool-gzip.xva", "tool-zstd.xva" };

	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		size_t n;
		uint8_t *p = load(names[i], &n);
		uint64_t chunks = 0;
		char *ova = NULL, *err = NULL;

		if (!check(p, n, &chunks, &ova, &err)) {
			print_error("%s: %s\n", names[i], err);
			free(err);
			free(p);
			fail();
		}
		/* a 6 MiB disk with two all-zero MiB left out, first and last always there */
		assert_true(chunks >= 2 && chunks <= 6);
		assert_non_null(strstr(ova, "<value>"));
		free(ova);
		free(p);
	}
}

static void test_cut_and_altered_fail(void **state)
{
	const char *names[] = { "vm.xva", "vm-gzip.xva", "vm-zstd.xva" };

	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		size_t n, cuts[8];
		uint8_t *p = load(names[i], &n);
		char *err = NULL;

		cuts[0] = 0;
		cuts[1] = 3;
		cuts[2] = 700;
		cuts[3] = n / 3;
		cuts[4] = n / 2 + 1;
		cuts[5] = n - 1024 > 0 ? n - 1024 : 1;
		cuts[6] = n - 513;
		cuts[7] = n - 1;
		for (size_t k = 0; k < 8; k++) {
			assert_false(check(p, cuts[k], NULL, NULL, &err));
			assert_non_null(err);
			free(err);
			err = NULL;
		}
		/* one byte changed in the middle (a disk chunk, or the compressed stream) */
		p[n / 2] ^= 0x40;
		assert_false(check(p, n, NULL, NULL, &err));
		assert_non_null(err);
		free(err);
		free(p);
	}
	{
		uint8_t junk[4096];
		char *err = NULL;
		memset(junk, 'x', sizeof(junk));
		assert_false(check(junk, sizeof(junk), NULL, NULL, &err));
		assert_non_null(strstr(err, "XVA"));
		free(err);
	}
}

/* ---- an older XVA: SHA-1 .checksum members ----------------------------------------- */

static void tar_member(struct buf *b, const char *name, const void *data, size_t n)
{
	char h[512];
	unsigned sum = 0;
	static const char zero[512];

	memset(h, 0, sizeof(h));
	snprintf(h, 100, "%s", name);
	snprintf(h + 100, 8, "%07o", 0400);
	snprintf(h + 108, 8, "%07o", 0);
	snprintf(h + 116, 8, "%07o", 0);
	snprintf(h + 124, 12, "%011llo", (unsigned long long)n);
	snprintf(h + 136, 12, "%011o", 0);
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
	h[155] = ' ';
	buf_append(b, h, 512);
	buf_append(b, data, n);
	buf_append(b, zero, (512 - n % 512) % 512);
}

static void test_sha1_checksums(void **state)
{
	struct buf b;
	uint8_t chunk[5000], md[20];
	char hex[41], *err = NULL;
	static const char zero[1024];
	uint64_t chunks = 0;

	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (uint8_t)(i * 13);
	SHA1(chunk, sizeof(chunk), md);
	for (int i = 0; i < 20; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	buf_init(&b);
	tar_member(&b, "ova.xml", "<value/>", 8);
	tar_member(&b, "Ref:3/00000000", chunk, sizeof(chunk));
	tar_member(&b, "Ref:3/00000000.checksum", hex, 40);
	buf_append(&b, zero, sizeof(zero));
	if (!check((uint8_t *)b.data, b.len, &chunks, NULL, &err))
		fail_msg("%s", err);
	assert_int_equal(chunks, 1);
	b.data[1536 + 100] ^= 1; /* inside the chunk (after ova.xml and the chunk's header) */
	assert_false(check((uint8_t *)b.data, b.len, NULL, NULL, &err));
	assert_non_null(strstr(err, "Ref:3/00000000"));
	free(err);
	buf_free(&b);

	/* a chunk with no checksum after it */
	buf_init(&b);
	tar_member(&b, "ova.xml", "<value/>", 8);
	tar_member(&b, "Ref:3/00000000", chunk, sizeof(chunk));
	buf_append(&b, zero, sizeof(zero));
	assert_false(check((uint8_t *)b.data, b.len, NULL, NULL, &err));
	free(err);
	buf_free(&b);

	/* ova.xml not first */
	buf_init(&b);
	tar_member(&b, "Ref:3/00000000", chunk, sizeof(chunk));
	tar_member(&b, "ova.xml", "<value/>", 8);
	buf_append(&b, zero, sizeof(zero));
	assert_false(check((uint8_t *)b.data, b.len, NULL, NULL, &err));
	assert_non_null(strstr(err, "ova.xml"));
	free(err);
	buf_free(&b);
}

/* Random damage: a sentence or (in padding) acceptance, never a crash. */
static void test_random_damage(void **state)
{
	const char *names[] = { "vm.xva", "vm-gzip.xva", "vm-zstd.xva" };
	unsigned seed = 3;

	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		size_t n;
		uint8_t *p = load(names[i], &n);

		for (int round = 0; round < 60; round++) {
			size_t at;
			char *err = NULL;

			seed = seed * 1103515245 + 12345;
			/* the first 64 KiB hold ova.xml and the first headers */
			at = (seed >> 4) % 2 ? (seed >> 8) % (n < 65536 ? n : 65536) : (seed >> 8) % n;
			p[at] ^= (uint8_t)(1u << (seed % 8));
			if (!check(p, n, NULL, NULL, &err))
				free(err);
			p[at] ^= (uint8_t)(1u << (seed % 8));
		}
		free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sim_exports_pass),
		cmocka_unit_test(test_cut_and_altered_fail),
		cmocka_unit_test(test_sha1_checksums),
		cmocka_unit_test(test_random_damage),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
