/* VHDs on a file:// repository: real qemu-made VHDs read back, a chain (a
 * full and two deltas, one found by its locator, one by UUID) synthesised
 * into one full VHD that qemu-img reads as the expected disk, XO's
 * directory VHDs (brotli) behind an alias, and the patch applied to an
 * export stream (whole: a valid VHD; cut anywhere: refused). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <brotli/encode.h>
#include <json-c/json.h>

#include "repo.h"
#include "util.h"
#include "vhd.h"

#define MiB (1024u * 1024u)
#define BLOCK (2u * MiB)
#define DISK (8u * MiB) /* four blocks */
#define SECTORS_PER_BLOCK (BLOCK / 512u)

static char root[256];
static struct repo *repo;
static bool junk = true; /* sectors a bitmap leaves out hold junk (qemu would read it: it ignores bitmaps) */

/* ---- a tiny VHD writer (the test's own, independent of src/) ------------------------ */

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t sum(const uint8_t *p, size_t n, size_t at)
{
	uint32_t s = 0;

	for (size_t i = 0; i < n; i++)
		if (i < at || i >= at + 4)
			s += p[i];
	return ~s;
}

/* A disk as the test sees it: per block, which sectors a VHD defines, and their bytes. */
struct img {
	uint8_t map[4][SECTORS_PER_BLOCK / 8];
	bool present[4];
	uint8_t *data; /* DISK bytes */
};

static struct img *img_new(void)
{
	struct img *m = calloc(1, sizeof(*m));

	m->data = calloc(1, DISK);
	return m;
}

static void img_free(struct img *m)
{
	free(m->data);
	free(m);
}

/* Sectors [s, e) of the disk get byte pattern seed (varying per sector). */
static void img_write(struct img *m, uint32_t s, uint32_t e, uint8_t seed)
{
	for (uint32_t q = s; q < e; q++) {
		uint32_t b = q / SECTORS_PER_BLOCK, k = q % SECTORS_PER_BLOCK;

		m->present[b] = true;
		m->map[b][k / 8] |= (uint8_t)(0x80 >> (k % 8));
		for (uint32_t i = 0; i < 512; i++)
			m->data[(size_t)q * 512 + i] = (uint8_t)(seed + q * 7 + i);
	}
}

static void u16le(uint8_t *out, const char *s)
{
	for (size_t i = 0; s[i]; i++) {
		out[2 * i] = (uint8_t)s[i];
		out[2 * i + 1] = 0;
	}
}

static void u16be(uint8_t *out, const char *s)
{
	for (size_t i = 0; s[i]; i++) {
		out[2 * i] = 0;
		out[2 * i + 1] = (uint8_t)s[i];
	}
}

static void make_footer(uint8_t *f, int type, const uint8_t uuid[16])
{
	memset(f, 0, 512);
	memcpy(f, "conectix", 8);
	put32(f + 8, 2);
	put32(f + 12, 0x10000);
	put64(f + 16, 512);
	put32(f + 24, 12345);
	memcpy(f + 28, "tap", 4);
	put32(f + 32, 0x10003);
	memcpy(f + 36, "Wi2k", 4);
	put64(f + 40, DISK);
	put64(f + 48, DISK);
	put32(f + 56, 0x00F00411);
	put32(f + 60, (uint32_t)type);
	memcpy(f + 68, uuid, 16);
	put32(f + 64, sum(f, 512, 64));
}

static void make_header(uint8_t *h, uint64_t bat_at, const uint8_t *puuid, const char *pname)
{
	memset(h, 0, 1024);
	memcpy(h, "cxsparse", 8);
	put64(h + 8, ~0ULL);
	put64(h + 16, bat_at);
	put32(h + 24, 0x10000);
	put32(h + 28, 4);
	put32(h + 32, BLOCK);
	if (puuid)
		memcpy(h + 40, puuid, 16);
	put32(h + 56, 777);
	if (pname)
		u16be(h + 64, pname);
}

/* The whole VHD file: footer, header at 512, BAT at bat_at, the locator's
 * sector after it, blocks, footer. */
static struct buf vhd_bytes(const struct img *m, int type, const uint8_t uuid[16], const uint8_t *puuid,
			    const char *locator, const char *pname, uint64_t bat_at)
{
	struct buf b;
	uint8_t f[512], h[1024], bat[512];
	uint64_t at = bat_at + 512;
	uint64_t loc_at = 0;

	buf_init(&b);
	make_footer(f, type, uuid);
	make_header(h, bat_at, puuid, pname);
	if (locator) {
		loc_at = at;
		at += 512;
		put32(h + 576, 0x57326b75);
		put32(h + 580, 1);
		put32(h + 584, (uint32_t)strlen(locator) * 2);
		put64(h + 592, loc_at);
	}
	put32(h + 36, sum(h, 1024, 36));
	memset(bat, 0xFF, sizeof(bat));
	for (int i = 0; i < 4; i++)
		if (m->present[i]) {
			put32(bat + 4 * i, (uint32_t)(at / 512));
			at += 512 + BLOCK;
		}
	buf_append(&b, f, 512);
	buf_append(&b, h, 1024);
	while (b.len < bat_at)
		buf_putc(&b, 0);
	buf_append(&b, bat, 512);
	if (locator) {
		uint8_t loc[512] = { 0 };
		u16le(loc, locator);
		buf_append(&b, loc, 512);
	}
	for (int i = 0; i < 4; i++)
		if (m->present[i]) {
			uint8_t map[512] = { 0 };
			memcpy(map, m->map[i], sizeof(m->map[i]));
			buf_append(&b, map, 512);
			/* sectors the bitmap leaves out hold junk: a reader must ignore it */
			for (uint32_t q = 0; q < SECTORS_PER_BLOCK; q++) {
				if (m->map[i][q / 8] & (0x80 >> (q % 8))) {
					buf_append(&b, m->data + (size_t)i * BLOCK + (size_t)q * 512, 512);
				} else {
					uint8_t fill[512];
					memset(fill, junk ? 0x5A : 0, sizeof(fill));
					buf_append(&b, fill, 512);
				}
			}
		}
	buf_append(&b, f, 512);
	return b;
}

/* ---- files ------------------------------------------------------------------------- */

static char *full(const char *rel)
{
	return xasprintf("%s/%s", root, rel);
}

static void mkdirs(const char *abs_dir)
{
	char *cmd = xasprintf("mkdir -p '%s'", abs_dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static void put_file(const char *rel, const void *p, size_t n)
{
	char *path = full(rel), *slash = strrchr(path, '/');
	FILE *f;

	*slash = '\0';
	mkdirs(path);
	*slash = '/';
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
	free(path);
}

static uint8_t *get_file(const char *abs, size_t *n)
{
	FILE *f = fopen(abs, "rb");
	uint8_t *p;
	long len;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)len + 1);
	assert_int_equal(fread(p, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	*n = (size_t)len;
	return p;
}

static int run(const char *cmd)
{
	char *c = xasprintf("( %s ) >/dev/null 2>&1", cmd);
	int rc = system(c);

	free(c);
	return rc;
}

/* What qemu-img reads from a VHD file, as raw bytes (its size taken from the
 * footer, as xapi does, whatever the creator application). */
static uint8_t *qemu_raw(const char *abs_vhd, size_t *n)
{
	char *raw = xasprintf("%s.raw", abs_vhd), *cmd = xasprintf("qemu-img convert --image-opts -O raw "
						      "'driver=vpc,force_size_calc=current_size,file.filename=%s' '%s'",
						      abs_vhd, raw);
	uint8_t *p;

	assert_int_equal(run(cmd), 0);
	p = get_file(raw, n);
	unlink(raw);
	free(raw);
	free(cmd);
	return p;
}

/* The disk as vhd.c reads it (one VHD, no parents). */
static uint8_t *read_disk(struct vhd *v)
{
	const struct vhd_info *in = vhd_info(v);
	uint8_t *disk = calloc(1, (size_t)in->nblocks * in->block_size), *map = malloc(in->block_size / 4096);
	char *err = NULL;

	for (uint32_t i = 0; i < in->nblocks; i++) {
		uint8_t *data = disk + (size_t)i * in->block_size;
		if (!vhd_has_block(v, i))
			continue;
		assert_true(vhd_read_block(v, i, map, data, &err));
		for (uint32_t q = 0; q < in->block_size / 512; q++)
			if (!(map[q / 8] & (0x80 >> (q % 8))))
				memset(data + (size_t)q * 512, 0, 512);
	}
	free(map);
	return disk;
}

/* ---- setup --------------------------------------------------------------------------- */

static int setup(void **state)
{
	struct remote_cfg rc = { 0 };
	char *url, *err = NULL;

	{
		char *cwd = getcwd(NULL, 0);
		snprintf(root, sizeof(root), "%s/build/test-logs/vhd-%d", cwd, (int)getpid());
		free(cwd);
	}
	mkdirs(root);
	url = xasprintf("file://%s", root);
	rc.name = "t";
	rc.url = url;
	repo = repo_open(&rc, &err);
	if (!repo)
		fprintf(stderr, "%s\n", err);
	free(url);
	return repo ? 0 : -1;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", root);

	repo_close(repo);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	free(cmd);
	return 0;
}

static const uint8_t U_BASE[16] = { 0xb0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
static const uint8_t U_D1[16] = { 0xd1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
static const uint8_t U_D2[16] = { 0xd2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
static const uint8_t U_DECOY[16] = { 0xde, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
static const uint8_t U_OUT[16] = { 0x0a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

/* ---- tests ----------------------------------------------------------------------------- */

static void test_uuid(void **state)
{
	uint8_t u[16];
	char s[37];

	assert_true(uuid_parse("0123abcd-4567-89ef-0011-2233445566FF", u));
	uuid_format(u, s);
	assert_string_equal(s, "0123abcd-4567-89ef-0011-2233445566ff");
	assert_false(uuid_parse("0123abcd-4567-89ef-0011-2233445566", u));
	assert_false(uuid_parse("0123abcd+4567-89ef-0011-2233445566ff", u));
	assert_false(uuid_parse("0123abcd-4567-89ef-0011-2233445566ffa", u));
}

/* qemu-img makes a real dynamic VHD; what vhd.c reads equals what qemu reads. */
static void test_qemu_vhd(void **state)
{
	char *abs = full("q/disk.vhd"), *dir = full("q"), *cmd, *err = NULL;
	struct vhd *v;
	uint8_t *want, *got;
	size_t n;

	mkdirs(dir);
	cmd = xasprintf("qemu-img create -f vpc -o subformat=dynamic '%s' 8M && qemu-io -f vpc -c 'write -P 0xab 0 1M' "
			"-c 'write -P 0xcd 3M 512' -c 'write -P 0x11 5M 4k' -c 'write -P 0x22 8100k 4k' '%s'",
			abs, abs);
	assert_int_equal(run(cmd), 0);
	free(cmd);
	want = qemu_raw(abs, &n);
	v = vhd_open(repo, "q/disk.vhd", &err);
	if (!v)
		fail_msg("%s", err);
	assert_true(vhd_check(v, &err));
	assert_false(vhd_info(v)->differencing);
	assert_true(vhd_info(v)->size >= n - 512 && vhd_info(v)->size <= n + 512);
	got = read_disk(v);
	assert_memory_equal(got, want, n < vhd_info(v)->size ? n : vhd_info(v)->size);
	assert_true(vhd_has_block(v, 0));
	vhd_close(v);
	free(got);
	free(want);

	/* a file that is not a VHD: a sentence, no crash */
	put_file("q/junk.vhd", "hello, not a disk", 17);
	assert_null(vhd_open(repo, "q/junk.vhd", &err));
	assert_non_null(strstr(err, "q/junk.vhd"));
	free(err);
	free(abs);
	free(dir);
}

/* The chain full <- d1 (by locator) <- d2 (by UUID, past a decoy) as one full VHD. */
static void test_chain_stream(void **state)
{
	struct img *base = img_new(), *d1 = img_new(), *d2 = img_new(), *decoy = img_new();
	uint8_t *expect = calloc(1, DISK), *got, *buf = malloc(100000);
	struct buf b;
	struct vhd_chain *c;
	struct vhd_stream *s;
	char *err = NULL, *out_abs;
	FILE *out;
	uint64_t total = 0;
	size_t n;
	ssize_t k;

	img_write(base, 0, 2 * SECTORS_PER_BLOCK, 1);                       /* blocks 0, 1 */
	img_write(base, 3 * SECTORS_PER_BLOCK + 5, 3 * SECTORS_PER_BLOCK + 9, 2); /* a bit of block 3 */
	img_write(d1, SECTORS_PER_BLOCK, SECTORS_PER_BLOCK + 100, 3);         /* part of block 1 */
	img_write(d1, 2 * SECTORS_PER_BLOCK + 10, 2 * SECTORS_PER_BLOCK + 21, 4); /* block 2, new */
	img_write(d2, SECTORS_PER_BLOCK + 50, SECTORS_PER_BLOCK + 150, 5);    /* overlaps d1's */
	img_write(d2, 4 * SECTORS_PER_BLOCK - 1, 4 * SECTORS_PER_BLOCK, 6);   /* the last sector */
	img_write(decoy, 0, 8, 9);
	/* expected: newest wins, sector by sector */
	for (uint32_t q = 0; q < DISK / 512; q++) {
		struct img *order[3] = { d2, d1, base };
		for (int k2 = 0; k2 < 3; k2++) {
			uint32_t bl = q / SECTORS_PER_BLOCK, s2 = q % SECTORS_PER_BLOCK;
			if (order[k2]->map[bl][s2 / 8] & (0x80 >> (s2 % 8))) {
				memcpy(expect + (size_t)q * 512, order[k2]->data + (size_t)q * 512, 512);
				break;
			}
		}
	}
	b = vhd_bytes(base, 3, U_BASE, NULL, NULL, NULL, 1536);
	put_file("c/20240101T000000Z.vhd", b.data, b.len);
	buf_free(&b);
	b = vhd_bytes(d1, 4, U_D1, U_BASE, "./20240101T000000Z.vhd", NULL, 2048);
	put_file("c/20240102T000000Z.vhd", b.data, b.len);
	buf_free(&b);
	b = vhd_bytes(decoy, 3, U_DECOY, NULL, NULL, NULL, 1536);
	put_file("c/20240102T120000Z.vhd", b.data, b.len);
	buf_free(&b);
	b = vhd_bytes(d2, 4, U_D2, U_D1, NULL, NULL, 1536);
	put_file("c/20240103T000000Z.vhd", b.data, b.len);
	buf_free(&b);

	c = vhd_chain_open(repo, "c/20240103T000000Z.vhd", &err);
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(vhd_chain_length(c), 3);
	assert_string_equal(vhd_chain_path(c, 1), "c/20240102T000000Z.vhd");
	assert_string_equal(vhd_chain_path(c, 2), "c/20240101T000000Z.vhd");
	s = vhd_stream_new(c, U_OUT, &err);
	assert_non_null(s);
	out_abs = full("c/out.vhd");
	out = fopen(out_abs, "wb");
	/* odd read sizes cross every boundary */
	while ((k = vhd_stream_read(s, buf, 99999, &err)) > 0) {
		assert_int_equal(fwrite(buf, 1, (size_t)k, out), (size_t)k);
		total += (uint64_t)k;
	}
	assert_int_equal(k, 0);
	fclose(out);
	assert_int_equal(total, vhd_stream_length(s));
	vhd_stream_free(s);
	vhd_chain_close(c);

	got = qemu_raw(out_abs, &n);
	assert_int_equal(n, DISK);
	assert_memory_equal(got, expect, DISK);
	free(got);
	{
		struct vhd *v = vhd_open(repo, "c/out.vhd", &err);
		uint8_t *d;
		assert_non_null(v);
		assert_true(vhd_check(v, &err));
		assert_memory_equal(vhd_info(v)->uuid, U_OUT, 16);
		assert_false(vhd_info(v)->differencing);
		d = read_disk(v);
		assert_memory_equal(d, expect, DISK);
		free(d);
		vhd_close(v);
	}

	/* without its parent, a delta's chain is a sentence naming what is missing */
	{
		char *from = full("c/20240101T000000Z.vhd"), *to = full("c/gone");
		assert_int_equal(rename(from, to), 0);
		free(from);
		free(to);
	}
	assert_null(vhd_chain_open(repo, "c/20240103T000000Z.vhd", &err));
	assert_non_null(strstr(err, "missing"));
	free(err);

	free(out_abs);
	free(buf);
	free(expect);
	img_free(base);
	img_free(d1);
	img_free(d2);
	img_free(decoy);
}

/* ---- XO's directory VHDs ---------------------------------------------------------------- */

static void put_chunk(const char *rel, const uint8_t *p, size_t n, bool brotli)
{
	if (!brotli) {
		put_file(rel, p, n);
		return;
	}
	{
		size_t cap = BrotliEncoderMaxCompressedSize(n) + 64, len = cap;
		uint8_t *z = malloc(cap);
		assert_true(BrotliEncoderCompress(1, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, n, p, &len, z));
		put_file(rel, z, len);
		free(z);
	}
}

/* Writes m as a directory VHD data/<name>.vhd under folder, and its alias. */
static void put_dir_vhd(const char *folder, const char *name, const struct img *m, int type, const uint8_t uuid[16],
			const uint8_t *puuid, const char *pname, bool brotli)
{
	uint8_t f[512], h[1024], bat[4] = { 0 };
	char *rel = xasprintf("%s/data/%s.vhd", folder, name), *p, *alias = xasprintf("data/%s.vhd", name);

	make_footer(f, type, uuid);
	make_header(h, 0, puuid, pname);
	put32(h + 36, sum(h, 1024, 36));
	p = xasprintf("%s/chunk-filters.json", rel);
	put_file(p, brotli ? "[\"brotli\"]" : "[]", brotli ? 10 : 2);
	free(p);
	p = xasprintf("%s/footer", rel);
	put_chunk(p, f, 512, brotli);
	free(p);
	p = xasprintf("%s/header", rel);
	put_chunk(p, h, 1024, brotli);
	free(p);
	for (int i = 0; i < 4; i++) {
		uint8_t *blk;
		if (!m->present[i])
			continue;
		bat[0] |= (uint8_t)(0x80 >> i);
		blk = calloc(1, 512 + BLOCK);
		memcpy(blk, m->map[i], sizeof(m->map[i]));
		memcpy(blk + 512, m->data + (size_t)i * BLOCK, BLOCK);
		p = xasprintf("%s/blocks/0/%d", rel, i);
		put_chunk(p, blk, 512 + BLOCK, brotli);
		free(p);
		free(blk);
	}
	p = xasprintf("%s/bat", rel);
	put_chunk(p, bat, sizeof(bat), brotli);
	free(p);
	p = xasprintf("%s/%s.alias.vhd", folder, name);
	put_file(p, alias, strlen(alias));
	free(p);
	free(alias);
	free(rel);
}

static void test_dir_vhd(void **state)
{
	struct img *base = img_new(), *delta = img_new();
	uint8_t *expect = calloc(1, DISK), *d, *buf = malloc(65536);
	struct buf b;
	struct vhd *v;
	struct vhd_chain *c;
	struct vhd_stream *s;
	char *err = NULL, *out_abs = full("x/out.vhd");
	FILE *out;
	ssize_t k;
	size_t n;

	img_write(base, 0, SECTORS_PER_BLOCK + 17, 11);
	img_write(delta, 10, 20, 12);
	img_write(delta, 3 * SECTORS_PER_BLOCK, 3 * SECTORS_PER_BLOCK + 1, 13);
	memcpy(expect, base->data, DISK);
	for (uint32_t q = 0; q < DISK / 512; q++) {
		uint32_t bl = q / SECTORS_PER_BLOCK, s2 = q % SECTORS_PER_BLOCK;
		if (delta->map[bl][s2 / 8] & (0x80 >> (s2 % 8)))
			memcpy(expect + (size_t)q * 512, delta->data + (size_t)q * 512, 512);
	}
	/* the full as a plain directory VHD, the delta brotli'd and naming its parent XO's way */
	put_dir_vhd("x", "20240101T000000Z", base, 3, U_BASE, NULL, NULL, false);
	put_dir_vhd("x", "20240102T000000Z", delta, 4, U_D1, U_BASE, "20240101T000000Z.alias.vhd", true);

	v = vhd_open(repo, "x/20240101T000000Z.alias.vhd", &err);
	if (!v)
		fail_msg("%s", err);
	assert_true(vhd_check(v, &err));
	d = read_disk(v);
	assert_memory_equal(d, base->data, DISK);
	free(d);
	vhd_close(v);

	v = vhd_open(repo, "x/20240102T000000Z.alias.vhd", &err);
	if (!v)
		fail_msg("%s", err);
	assert_true(vhd_info(v)->differencing);
	assert_string_equal(vhd_info(v)->parent_path, "20240101T000000Z.alias.vhd");
	assert_true(vhd_has_block(v, 0) && !vhd_has_block(v, 1) && vhd_has_block(v, 3));
	vhd_close(v);

	c = vhd_chain_open(repo, "x/20240102T000000Z.alias.vhd", &err);
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(vhd_chain_length(c), 2);
	s = vhd_stream_new(c, U_OUT, &err);
	out = fopen(out_abs, "wb");
	while ((k = vhd_stream_read(s, buf, 65536, &err)) > 0)
		fwrite(buf, 1, (size_t)k, out);
	fclose(out);
	vhd_stream_free(s);
	vhd_chain_close(c);
	d = qemu_raw(out_abs, &n);
	assert_int_equal(n, DISK);
	assert_memory_equal(d, expect, DISK);
	free(d);

	/* a damaged block is a sentence */
	put_file("x/data/20240102T000000Z.vhd/blocks/0/3", "garbage", 7);
	v = vhd_open(repo, "x/20240102T000000Z.alias.vhd", &err);
	assert_non_null(v);
	assert_false(vhd_check(v, &err));
	assert_non_null(strstr(err, "blocks/0/3"));
	free(err);
	vhd_close(v);

	(void)b;
	free(out_abs);
	free(buf);
	free(expect);
	img_free(base);
	img_free(delta);
}

/* ---- the export patch -------------------------------------------------------------------- */

static bool to_buf(const void *p, size_t n, void *ud, char **err)
{
	buf_append(ud, p, n);
	return true;
}

/* Feeds len bytes of in through a patch in uneven pieces; the finish's answer. */
static bool patch_run(const uint8_t *in, size_t len, const uint8_t *uuid, const uint8_t *puuid, const char *ppath, struct buf *out,
		      char **err)
{
	struct vhd_patch *p = vhd_patch_new(uuid, puuid, 4242, ppath, to_buf, out);
	size_t at = 0, step = 1;
	bool ok = true;

	while (ok && at < len) {
		size_t k = step < len - at ? step : len - at;
		ok = vhd_patch_write(p, in + at, k, err);
		at += k;
		step = step * 3 + 17; /* 1, 20, 77, ... then large */
	}
	if (ok)
		ok = vhd_patch_finish(p, err);
	vhd_patch_free(p);
	return ok;
}

static void test_patch(void **state)
{
	struct img *m = img_new();
	struct buf in, out;
	char *err = NULL, *abs;
	uint8_t *raw, *d;
	size_t n;
	struct vhd *v;

	img_write(m, 0, SECTORS_PER_BLOCK, 21);
	img_write(m, 2 * SECTORS_PER_BLOCK + 3, 2 * SECTORS_PER_BLOCK + 4, 22);
	/* xapi's layout: header at 512, BAT at 2048, so 512 bytes free for the locator */
	junk = false;
	in = vhd_bytes(m, 3, U_BASE, NULL, NULL, NULL, 2048);

	/* uuid only: qemu reads the same disk, the footers carry the new UUID */
	buf_init(&out);
	if (!patch_run((uint8_t *)in.data, in.len, U_OUT, NULL, NULL, &out, &err))
		fail_msg("%s", err);
	assert_int_equal(out.len, in.len);
	put_file("p/full.vhd", out.data, out.len);
	abs = full("p/full.vhd");
	raw = qemu_raw(abs, &n);
	assert_memory_equal(raw, m->data, DISK);
	free(raw);
	free(abs);
	v = vhd_open(repo, "p/full.vhd", &err);
	assert_non_null(v);
	assert_true(vhd_check(v, &err));
	assert_memory_equal(vhd_info(v)->uuid, U_OUT, 16);
	vhd_close(v);
	assert_memory_equal(out.data, out.data + out.len - 512, 512);
	buf_free(&out);

	/* a delta: differencing, parent UUID, time stamp and locator read back */
	buf_init(&out);
	if (!patch_run((uint8_t *)in.data, in.len, U_OUT, U_D1, "20240101T000000Z.vhd", &out, &err))
		fail_msg("%s", err);
	put_file("p/delta.vhd", out.data, out.len);
	v = vhd_open(repo, "p/delta.vhd", &err);
	assert_non_null(v);
	assert_true(vhd_check(v, &err));
	assert_true(vhd_info(v)->differencing);
	assert_memory_equal(vhd_info(v)->parent_uuid, U_D1, 16);
	assert_string_equal(vhd_info(v)->parent_path, "20240101T000000Z.vhd");
	assert_int_equal(get32((uint8_t *)out.data + 512 + 56), 4242);
	assert_int_equal(get32((uint8_t *)out.data + 512 + 576), 0x57326b75); /* W2KU in locator 0 */
	d = read_disk(v);
	assert_memory_equal(d, m->data, DISK);
	free(d);
	vhd_close(v);
	buf_free(&out);

	/* a name beyond ASCII survives the UTF-16 locator and header name */
	buf_init(&out);
	assert_true(patch_run((uint8_t *)in.data, in.len, U_OUT, U_D1, "d\xc3\xa9j\xc3\xa0/\xf0\x9f\x98\x80.vhd", &out, &err));
	put_file("p/delta-utf.vhd", out.data, out.len);
	v = vhd_open(repo, "p/delta-utf.vhd", &err);
	assert_non_null(v);
	assert_string_equal(vhd_info(v)->parent_path, "d\xc3\xa9j\xc3\xa0/\xf0\x9f\x98\x80.vhd");
	vhd_close(v);
	buf_free(&out);

	/* cut anywhere: refused */
	{
		size_t cuts[] = { 0, 1, 511, 512, 1000, 1535, 1536, 2047, 2048, 2559, 2560, 3000, 2560 + 512 + 100000,
				  in.len - 513, in.len - 512, in.len - 100, in.len - 1 };
		for (size_t i = 0; i < ARRAY_LEN(cuts); i++) {
			buf_init(&out);
			assert_false(patch_run((uint8_t *)in.data, cuts[i], U_OUT, U_D1, "p.vhd", &out, &err));
			assert_non_null(err);
			free(err);
			err = NULL;
			assert_true(out.len < in.len);
			buf_free(&out);
		}
	}
	/* more than one VHD, or a damaged end footer: refused */
	buf_init(&out);
	buf_append(&in, "x", 1);
	assert_false(patch_run((uint8_t *)in.data, in.len, U_OUT, NULL, NULL, &out, &err));
	free(err);
	in.len--;
	in.data[in.len - 10] ^= 1;
	buf_reset(&out);
	assert_false(patch_run((uint8_t *)in.data, in.len, U_OUT, NULL, NULL, &out, &err));
	free(err);
	buf_free(&out);
	buf_free(&in);

	/* the sim's layout (BAT right after the header): no room, so no locator, the name still says */
	in = vhd_bytes(m, 3, U_BASE, NULL, NULL, NULL, 1536);
	buf_init(&out);
	assert_true(patch_run((uint8_t *)in.data, in.len, U_OUT, U_D1, "20240101T000000Z.vhd", &out, &err));
	put_file("p/delta2.vhd", out.data, out.len);
	v = vhd_open(repo, "p/delta2.vhd", &err);
	assert_non_null(v);
	assert_true(vhd_check(v, &err));
	assert_string_equal(vhd_info(v)->parent_path, "20240101T000000Z.vhd");
	assert_int_equal(get32((uint8_t *)out.data + 512 + 576), 0);
	vhd_close(v);
	buf_free(&out);
	buf_free(&in);

	/* a qemu-made VHD passes too and reads the same */
	{
		char *q = full("p/q.vhd"), *cmd = xasprintf("qemu-img create -f vpc -o subformat=dynamic '%s' 6M && "
							    "qemu-io -f vpc -c 'write -P 0x77 1M 2M' '%s'", q, q);
		uint8_t *qin, *want;
		size_t qn, wn;
		assert_int_equal(run(cmd), 0);
		qin = get_file(q, &qn);
		want = qemu_raw(q, &wn);
		buf_init(&out);
		if (!patch_run(qin, qn, U_OUT, NULL, NULL, &out, &err))
			fail_msg("%s", err);
		put_file("p/q2.vhd", out.data, out.len);
		free(q);
		q = full("p/q2.vhd");
		raw = qemu_raw(q, &n);
		assert_int_equal(n, wn);
		assert_memory_equal(raw, want, n);
		free(raw);
		free(want);
		free(qin);
		free(q);
		free(cmd);
		buf_free(&out);
	}
	img_free(m);
}

/* What the sim exports (a full and a delta), patched as they are written,
 * chained and synthesised: qemu-img reads the disk's bytes now. */
static void test_sim_exports(void **state)
{
	char *fx = full("fx"), *cmd = xasprintf("python3 tests/backup/fixtures/sim_exports.py '%s'", fx), *err = NULL;
	char *path;
	uint8_t *in, *want, *got, *buf = malloc(1 << 20);
	size_t n, wn, gn;
	struct buf out;
	struct vhd_chain *c;
	struct vhd_stream *s;
	FILE *f;
	ssize_t k;

	assert_int_equal(run(cmd), 0);
	free(cmd);
	path = xasprintf("%s/disk.vhd", fx);
	in = get_file(path, &n);
	free(path);
	buf_init(&out);
	if (!patch_run(in, n, U_D1, NULL, NULL, &out, &err))
		fail_msg("%s", err);
	put_file("s/20240101T000000Z.vhd", out.data, out.len);
	free(in);
	buf_free(&out);

	path = xasprintf("%s/delta.vhd", fx);
	in = get_file(path, &n);
	free(path);
	buf_init(&out);
	if (!patch_run(in, n, U_D2, U_D1, "20240101T000000Z.vhd", &out, &err))
		fail_msg("%s", err);
	put_file("s/20240102T000000Z.vhd", out.data, out.len);
	free(in);
	buf_free(&out);

	c = vhd_chain_open(repo, "s/20240102T000000Z.vhd", &err);
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(vhd_chain_length(c), 2);
	s = vhd_stream_new(c, U_BASE, &err);
	path = full("s/restore.vhd");
	f = fopen(path, "wb");
	while ((k = vhd_stream_read(s, buf, 1 << 20, &err)) > 0)
		fwrite(buf, 1, (size_t)k, f);
	fclose(f);
	vhd_stream_free(s);
	vhd_chain_close(c);
	got = qemu_raw(path, &gn);
	free(path);
	path = xasprintf("%s/disk.raw", fx);
	want = get_file(path, &wn);
	assert_int_equal(gn, wn);
	assert_memory_equal(got, want, wn);
	free(path);
	free(got);

	/* libvhdi, another reader, takes the patched delta with its parent for the same disk */
	path = full("s/vhdi.raw");
	cmd = xasprintf("python3 tests/backup/fixtures/vhdi_read.py '%s/s/20240102T000000Z.vhd' '%s'", root, path);
	assert_int_equal(run(cmd), 0);
	got = get_file(path, &gn);
	assert_int_equal(gn, wn);
	assert_memory_equal(got, want, wn);
	free(cmd);
	free(path);
	free(got);
	free(want);
	free(buf);
	free(fx);
}

/* The XO-style repository of tests/backup/fixtures/make_xo_repo.py (its own
 * writer): every disk of every point, chain synthesised, equals the
 * expected bytes. */
static void test_xo_fixture(void **state)
{
	char *fx = full("xo"), *cmd = xasprintf("python3 tests/backup/fixtures/make_xo_repo.py '%s'", fx), *err = NULL;
	char *path = xasprintf("%s/fixture.json", fx), *url = xasprintf("file://%s/repo", fx);
	struct json_object *j, *points;
	struct remote_cfg rc = { .name = "xo", .url = url };
	struct repo *xo;
	uint8_t *buf = malloc(1 << 20);
	int checked = 0;

	assert_int_equal(run(cmd), 0);
	j = json_object_from_file(path);
	assert_non_null(j);
	xo = repo_open(&rc, &err);
	assert_non_null(xo);
	points = json_object_object_get(j, "points");
	for (size_t i = 0; i < json_object_array_length(points); i++) {
		struct json_object *pt = json_object_array_get_idx(points, i);
		const char *ts = json_object_get_string(json_object_object_get(pt, "ts"));
		const char *vm = json_object_get_string(json_object_object_get(j, "vm"));
		json_object_object_foreach(json_object_object_get(pt, "disks"), src, d)
		{
			const char *rel = json_object_get_string(json_object_object_get(d, "path"));
			char *vpath = xasprintf("xo-vm-backups/%s/%s", vm, rel), *out = xasprintf("%s/out-%s-%s.vhd", fx, ts, src);
			char *exp_path = xasprintf("%s/expected/%s/%s.raw", fx, ts, src);
			struct vhd_chain *c = vhd_chain_open(xo, vpath, &err);
			struct vhd_stream *st;
			uint8_t *got, *want;
			size_t gn, wn;
			ssize_t k;
			FILE *f;

			if (!c)
				fail_msg("%s", err);
			assert_int_equal(vhd_chain_length(c), i + 1);
			{
				struct vhd *v = vhd_open(xo, vpath, &err);
				assert_non_null(v);
				if (!vhd_check(v, &err))
					fail_msg("%s", err);
				vhd_close(v);
			}
			st = vhd_stream_new(c, U_OUT, &err);
			f = fopen(out, "wb");
			while ((k = vhd_stream_read(st, buf, 1 << 20, &err)) > 0)
				fwrite(buf, 1, (size_t)k, f);
			assert_int_equal(k, 0);
			fclose(f);
			vhd_stream_free(st);
			vhd_chain_close(c);
			got = qemu_raw(out, &gn);
			want = get_file(exp_path, &wn);
			assert_int_equal(gn, wn);
			assert_memory_equal(got, want, wn);
			free(got);
			free(want);
			free(exp_path);
			free(out);
			free(vpath);
			checked++;
		}
	}
	assert_int_equal(checked, 6);
	repo_close(xo);
	json_object_put(j);
	free(buf);
	free(url);
	free(path);
	free(cmd);
	free(fx);
}

/* Damaged files and streams: sentences, never a crash (ASan watches). */
static void test_damaged(void **state)
{
	struct img *m = img_new();
	struct buf in, out;
	uint8_t *bm = malloc(512), *data = malloc(BLOCK);
	unsigned seed = 7;

	junk = false;
	img_write(m, 0, 10, 31);
	img_write(m, 3 * SECTORS_PER_BLOCK, 3 * SECTORS_PER_BLOCK + 1, 32);
	in = vhd_bytes(m, 4, U_D1, U_BASE, "./x.vhd", "x.vhd", 2048);
	for (int round = 0; round < 300; round++) {
		uint8_t *copy = malloc(in.len);
		size_t at;
		char *err = NULL;
		struct vhd *v;

		memcpy(copy, in.data, in.len);
		for (int k = 0; k < 1 + round % 3; k++) {
			seed = seed * 1103515245 + 12345;
			/* mostly the metadata: footer copy, header, BAT, locator; sometimes the end footer */
			at = (seed >> 8) % 4 == 0 ? in.len - 512 + (seed >> 12) % 512 : (seed >> 12) % 3072;
			copy[at] ^= (uint8_t)(1u << ((seed >> 20) % 8));
			if (round % 5 == 0) /* and checksums made right again, so the parser sees the damage */
				put32(copy + 512 + 36, sum(copy + 512, 1024, 36));
		}
		put_file("d/x.vhd", copy, in.len);
		v = vhd_open(repo, "d/x.vhd", &err);
		if (v) {
			(void)vhd_check(v, &err);
			free(err);
			err = NULL;
			for (uint32_t i = 0; i < vhd_info(v)->nblocks && i < 8; i++) {
				if (vhd_info(v)->block_size == BLOCK && !vhd_read_block(v, i, bm, data, &err)) {
					free(err);
					err = NULL;
				}
			}
			vhd_close(v);
		} else {
			assert_non_null(err);
			free(err);
		}
		buf_init(&out);
		if (!patch_run(copy, in.len, U_OUT, U_BASE, "y.vhd", &out, &err))
			free(err);
		buf_free(&out);
		free(copy);
	}
	buf_free(&in);
	free(bm);
	free(data);
	img_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_qemu_vhd),
		cmocka_unit_test(test_chain_stream),
		cmocka_unit_test(test_dir_vhd),
		cmocka_unit_test(test_patch),
		cmocka_unit_test(test_sim_exports),
		cmocka_unit_test(test_xo_fixture),
		cmocka_unit_test(test_damaged),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
