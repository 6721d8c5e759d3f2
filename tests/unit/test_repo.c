/* Repositories (src/backup/repo.h): every call on file:// in a temporary
 * folder, then on each URL of REPO_TEST_URLS (space-separated), with
 * user = $REPO_TEST_USER, the secret in the variable named by
 * $REPO_TEST_PASSWORD_ENV (default REPO_TEST_PASSWORD), the S3 endpoint in
 * $REPO_TEST_ENDPOINT; REPO_TEST_ONLY_URLS=1 leaves file:// out. tests/backup/test_repo_s3.py and test_repo_nas.py
 * start the servers and set these. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "repo.h"
#include "util.h"

struct target {
	const char *kind;      /* the scheme: "file", "s3+http", "smb", ... */
	const char *label;     /* what the test names start with */
	struct remote_cfg rc;
	char base[64];         /* this run's folder inside the repository */
	char *tmpdir;          /* file:// only: removed at the end */
};

static struct target *T(void **state)
{
	return *state;
}

static struct repo *open_ok(struct target *t)
{
	char *err = NULL;
	struct repo *r = repo_open(&t->rc, &err);

	if (!r)
		fail_msg("repo_open(%s): %s", t->rc.url, err ? err : "(no error)");
	assert_null(err);
	return r;
}

/* This run's path of a name: "<base>/<name>". */
static char *P(const struct target *t, const char *name)
{
	return xasprintf("%s/%s", t->base, name);
}

static void put_ok(struct repo *r, const char *path, const void *data, size_t n)
{
	char *err = NULL;

	if (!repo_put(r, path, data, n, &err))
		fail_msg("repo_put(%s): %s", path, err);
}

static char *get_ok(struct repo *r, const char *path, size_t *n)
{
	char *err = NULL, *data = NULL;

	if (!repo_get(r, path, 1 << 20, &data, n, &err))
		fail_msg("repo_get(%s): %s", path, err);
	return data;
}

static bool exists(struct repo *r, const char *path, uint64_t *size)
{
	char *err = NULL;
	bool e = true;
	uint64_t sz = 0;

	if (!repo_stat(r, path, &e, &sz, &err))
		fail_msg("repo_stat(%s): %s", path, err);
	if (size)
		*size = sz;
	return e;
}

static void list_ok(struct repo *r, const char *dir, struct repo_entry **e, size_t *n)
{
	char *err = NULL;

	if (!repo_list(r, dir, e, n, &err))
		fail_msg("repo_list(%s): %s", dir, err);
}

/* Deterministic bytes that differ at every offset of a part. */
static void pattern(unsigned char *p, size_t n, uint64_t off, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t x = (off + i) * 0x9E3779B97F4A7C15ull ^ seed;

		p[i] = (unsigned char)(x >> 29 ^ x >> 7);
	}
}

/* The target of the group being run (cmocka's group state is separate
 * from its tests' states). */
static struct target *cur;

static int setup_target(void **state)
{
	struct target *t = cur;
	unsigned rnd = (unsigned)getpid() * 2654435761u ^ (unsigned)time(NULL);

	snprintf(t->base, sizeof(t->base), "t-repo-%d-%08x", (int)getpid(), rnd);
	return 0;
}

/* ---- the tests ----------------------------------------------------------- */

static void test_open_name(void **state)
{
	struct target *t = T(state);
	struct repo *r = open_ok(t);

	assert_string_equal(repo_name(r), t->rc.name);
	repo_close(r);
}

static void test_write_read_back(void **state)
{
	struct target *t = T(state);
	struct repo *r = open_ok(t);
	char *path = P(t, "deep/er/small.bin"), *err = NULL;
	size_t n = 100003, off = 0;
	unsigned char *src = xmalloc(n), *back = xmalloc(n + 1);
	struct repo_wfile *w;
	struct repo_rfile *f;
	uint64_t size = 0;
	ssize_t got;

	pattern(src, n, 0, 1);
	w = repo_create(r, path, &err);
	if (!w)
		fail_msg("repo_create: %s", err);
	/* odd-sized writes, as a stream gives them */
	for (size_t i = 0; i < n; i += 4097)
		assert_true(repo_write(w, src + i, n - i < 4097 ? n - i : 4097, &err));
	/* not there before its commit */
	assert_false(exists(r, path, NULL));
	if (!repo_commit(w, &err))
		fail_msg("repo_commit: %s", err);
	assert_true(exists(r, path, &size));
	assert_int_equal(size, n);
	f = repo_open_read(r, path, &err);
	if (!f)
		fail_msg("repo_open_read: %s", err);
	assert_int_equal(repo_rsize(f), n);
	while ((got = repo_read(f, back + off, 1000, &err)) > 0)
		off += (size_t)got;
	assert_int_equal(got, 0);
	assert_int_equal(off, n);
	assert_memory_equal(src, back, n);
	repo_rclose(f);
	/* an empty file is a file too */
	{
		char *e0 = P(t, "empty"), *d;
		size_t dn = 99;

		put_ok(r, e0, "", 0);
		assert_true(exists(r, e0, &size));
		assert_int_equal(size, 0);
		d = get_ok(r, e0, &dn);
		assert_int_equal(dn, 0);
		assert_string_equal(d, "");
		free(d);
		free(e0);
	}
	free(src);
	free(back);
	free(path);
	repo_close(r);
}

static void sha256(EVP_MD_CTX *c, unsigned char out[32])
{
	unsigned int len = 32;

	EVP_DigestFinal_ex(c, out, &len);
	EVP_MD_CTX_free(c);
}

static EVP_MD_CTX *sha_new(void)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	return c;
}

/* 20 MiB: several parts of a multipart upload on S3. */
static void test_large_file(void **state)
{
	struct target *t = T(state);
	struct repo *r = open_ok(t);
	char *path = P(t, "big.vhd"), *err = NULL;
	const size_t total = 20u << 20, chunk = 1000003;
	unsigned char *buf = xmalloc(chunk), *back = xmalloc(chunk);
	unsigned char want[32], got[32];
	EVP_MD_CTX *c = sha_new();
	struct repo_wfile *w = repo_create(r, path, &err);
	struct repo_rfile *f;
	uint64_t off = 0;
	ssize_t n;

	if (!w)
		fail_msg("repo_create: %s", err);
	for (size_t done = 0; done < total; done += chunk) {
		size_t k = total - done < chunk ? total - done : chunk;

		pattern(buf, k, done, 7);
		EVP_DigestUpdate(c, buf, k);
		if (!repo_write(w, buf, k, &err))
			fail_msg("repo_write at %zu: %s", done, err);
	}
	sha256(c, want);
	if (!repo_commit(w, &err))
		fail_msg("repo_commit: %s", err);
	f = repo_open_read(r, path, &err);
	if (!f)
		fail_msg("repo_open_read: %s", err);
	assert_int_equal(repo_rsize(f), total);
	c = sha_new();
	while ((n = repo_read(f, back, 65536, &err)) > 0) {
		EVP_DigestUpdate(c, back, (size_t)n);
		off += (uint64_t)n;
	}
	if (n < 0)
		fail_msg("repo_read: %s", err);
	sha256(c, got);
	assert_int_equal(off, total);
	assert_memory_equal(want, got, 32);
	/* pread across the 8 MiB boundary of S3's parts, and at the end */
	{
		const uint64_t offs[] = {0, (8u << 20) - 1000, (16u << 20) + 5, total - 512};
		const size_t lens[] = {512, 3000, 2u << 20, 512};

		for (size_t i = 0; i < 4; i++) {
			unsigned char *p = xmalloc(lens[i]), *q = xmalloc(lens[i]);

			pattern(q, lens[i], offs[i], 7);
			if (!repo_pread(f, offs[i], p, lens[i], &err))
				fail_msg("repo_pread(%llu): %s", (unsigned long long)offs[i], err);
			assert_memory_equal(p, q, lens[i]);
			free(p);
			free(q);
		}
	}
	repo_rclose(f);
	assert_true(repo_unlink(r, path, &err));
	free(buf);
	free(back);
	free(path);
	repo_close(r);
}

static void test_abort_leaves_nothing(void **state)
{
	struct target *t = T(state);
	struct repo *r = open_ok(t);
	char *dir = P(t, "aborted"), *path = P(t, "aborted/x.json"), *err = NULL;
	unsigned char *buf = xmalloc(1 << 20);
	struct repo_entry *e = NULL;
	size_t n = 0;
	struct repo_wfile *w = repo_create(r, path, &err);

	if (!w)
		fail_msg("repo_create: %s", err);
	pattern(buf, 1 << 20, 0, 3);
	/* past one S3 part, so a multipart upload is under way */
	for (int i = 0; i < 10; i++)
		assert_true(repo_write(w, buf, 1 << 20, &err));
	repo_abort(w);
	assert_false(exists(r, path, NULL));
	list_ok(r, dir, &e, &n);
	for (size_t i = 0; i < n; i++)
		print_message("# left after abort: %s\n", e[i].name);
	assert_int_equal(n, 0);
	repo_entries_free(e, n);
	free(buf);
	free(dir);
	free(path);
	repo_close(r);
}

static void test_commit_replaces(void **state)
{
	struct target *t = T(state);
	struct repo *r = open_ok(t);
	char *path = P(t, "cache.json"), *d;
	const char *v2 = "{\"version\": 2, \"longer\": true}";
	size_t n = 0;

	put_ok(r, path, "{\"version\": 1}", 14);
	put_ok(r, path, v2, strlen(v2));
	d = get_ok(r, path, &n);
	assert_int_equal(n, strlen(v2));
	assert_string_equal(d, v2);
	free(d);
	/* and shorter again: nothing of the older one is left at its end */
	put_ok(r, path, "{}", 2);
	d = get_ok(r, path, &n);
	assert_string_equal(d, "{}");
	free(d);
	free(path);
	repo_close(r);
}

static void test_pread_and_get(void **state)
{
	struct target *t = T(state);
	struct repo *r = open_ok(t);
	char *path = P(t, "p.bin"), *err = NULL, *data = NULL;
	const size_t n = 70000;
	unsigned char *src = xmalloc(n), b[4096];
	struct repo_rfile *f;
	size_t dn = 0;

	pattern(src, n, 0, 11);
	put_ok(r, path, src, n);
	f = repo_open_read(r, path, &err);
	if (!f)
		fail_msg("repo_open_read: %s", err);
	const size_t offs[] = {0, 1, 4095, 33333, n - 4096};
	for (size_t i = 0; i < ARRAY_LEN(offs); i++) {
		if (!repo_pread(f, offs[i], b, sizeof(b), &err))
			fail_msg("repo_pread(%zu): %s", offs[i], err);
		assert_memory_equal(b, src + offs[i], sizeof(b));
	}
	/* pread does not move the position */
	assert_int_equal(repo_read(f, b, 10, &err), 10);
	assert_memory_equal(b, src, 10);
	/* past the end is an error, in a sentence */
	assert_false(repo_pread(f, n - 10, b, 11, &err));
	assert_non_null(err);
	assert_non_null(strstr(err, t->rc.name));
	free(err);
	err = NULL;
	repo_rclose(f);
	/* repo_get refuses more than max */
	assert_false(repo_get(r, path, 1000, &data, &dn, &err));
	assert_non_null(err);
	assert_null(data);
	free(err);
	err = NULL;
	/* a missing file: no such file for stat, an error for open */
	{
		char *m = P(t, "missing.json");

		assert_false(exists(r, m, NULL));
		assert_null(repo_open_read(r, m, &err));
		assert_non_null(err);
		assert_non_null(strstr(err, "missing.json"));
		free(err);
		free(m);
	}
	free(src);
	free(path);
	repo_close(r);
}

static void test_list(void **state)
{
	struct target *t = T(state);
	struct repo *r = open_ok(t);
	char *a = P(t, "l/b.json"), *b = P(t, "l/a.vhd"), *c = P(t, "l/sub/c"), *dir = P(t, "l");
	char *missing = P(t, "nothing/here");
	struct repo_entry *e = NULL;
	size_t n = 0;
	bool found = false;

	put_ok(r, a, "bb", 2);
	put_ok(r, b, "aaaa", 4);
	put_ok(r, c, "c", 1);
	list_ok(r, dir, &e, &n);
	assert_int_equal(n, 3);
	assert_string_equal(e[0].name, "a.vhd");
	assert_false(e[0].is_dir);
	assert_int_equal(e[0].size, 4);
	assert_string_equal(e[1].name, "b.json");
	assert_int_equal(e[1].size, 2);
	assert_string_equal(e[2].name, "sub");
	assert_true(e[2].is_dir);
	repo_entries_free(e, n);
	/* a missing folder is an empty list */
	list_ok(r, missing, &e, &n);
	assert_int_equal(n, 0);
	repo_entries_free(e, n);
	/* the root lists this run's folder */
	list_ok(r, "", &e, &n);
	for (size_t i = 0; i < n; i++)
		found |= e[i].is_dir && strcmp(e[i].name, t->base) == 0;
	assert_true(found);
	repo_entries_free(e, n);
	free(a);
	free(b);
	free(c);
	free(dir);
	free(missing);
	repo_close(r);
}

static void test_unlink(void **state)
{
	struct target *t = T(state);
	struct repo *r = open_ok(t);
	char *path = P(t, "u/gone.json"), *err = NULL;

	put_ok(r, path, "x", 1);
	assert_true(exists(r, path, NULL));
	assert_true(repo_unlink(r, path, &err));
	assert_false(exists(r, path, NULL));
	/* a missing file is no error */
	assert_true(repo_unlink(r, path, &err));
	assert_null(err);
	free(path);
	repo_close(r);
}

static void test_remove_tree(void **state)
{
	struct target *t = T(state);
	struct repo *r = open_ok(t);
	char *dir = P(t, "tree.vhd"), *err = NULL;
	struct repo_entry *e = NULL;
	size_t n = 0;

	for (int i = 0; i < 5; i++) {
		char *p = xasprintf("%s/blocks/%d/%d", dir, i % 2, i);

		put_ok(r, p, "block", 5);
		free(p);
	}
	{
		char *p = xasprintf("%s/bat", dir);

		put_ok(r, p, "bat", 3);
		free(p);
	}
	if (!repo_remove_tree(r, dir, &err))
		fail_msg("repo_remove_tree: %s", err);
	list_ok(r, dir, &e, &n);
	assert_int_equal(n, 0);
	repo_entries_free(e, n);
	/* the folder is gone from its parent's list too */
	list_ok(r, t->base, &e, &n);
	for (size_t i = 0; i < n; i++)
		assert_string_not_equal(e[i].name, "tree.vhd");
	repo_entries_free(e, n);
	/* missing is no error */
	assert_true(repo_remove_tree(r, dir, &err));
	assert_null(err);
	free(dir);
	repo_close(r);
}

/* More entries than one S3 list page (1000): listed and removed whole. */
static void test_many_files(void **state)
{
	struct target *t = T(state);
	struct repo *r = open_ok(t);
	char *dir = P(t, "many"), *err = NULL;
	struct repo_entry *e = NULL;
	const size_t count = 1005;
	size_t n = 0;

	for (size_t i = 0; i < count; i++) {
		char *p = xasprintf("%s/%05zu", dir, i);

		put_ok(r, p, "b", 1);
		free(p);
	}
	list_ok(r, dir, &e, &n);
	assert_int_equal(n, count);
	for (size_t i = 0; i < n; i++) {
		char want[32];

		snprintf(want, sizeof(want), "%05zu", i);
		assert_string_equal(e[i].name, want);
	}
	repo_entries_free(e, n);
	if (!repo_remove_tree(r, dir, &err))
		fail_msg("repo_remove_tree: %s", err);
	list_ok(r, dir, &e, &n);
	assert_int_equal(n, 0);
	repo_entries_free(e, n);
	free(dir);
	repo_close(r);
}

static void test_rename(void **state)
{
	struct target *t = T(state);
	struct repo *r = open_ok(t);
	char *from = P(t, "r/new.json.tmp"), *to = P(t, "r2/cache.json"), *err = NULL, *d;
	size_t n = 0;

	put_ok(r, to, "old", 3);
	put_ok(r, from, "fresh", 5);
	if (!repo_rename(r, from, to, &err))
		fail_msg("repo_rename: %s", err);
	assert_false(exists(r, from, NULL));
	d = get_ok(r, to, &n);
	assert_string_equal(d, "fresh");
	free(d);
	/* a larger file keeps every byte */
	{
		const size_t big = 50000;
		unsigned char *src = xmalloc(big);

		pattern(src, big, 0, 5);
		put_ok(r, from, src, big);
		if (!repo_rename(r, from, to, &err))
			fail_msg("repo_rename: %s", err);
		d = get_ok(r, to, &n);
		assert_int_equal(n, big);
		assert_memory_equal(d, src, big);
		free(d);
		free(src);
		assert_false(exists(r, from, NULL));
	}
	/* renaming what is not there says so */
	assert_false(repo_rename(r, from, to, &err));
	assert_non_null(err);
	assert_non_null(strstr(err, "new.json.tmp"));
	free(err);
	free(from);
	free(to);
	repo_close(r);
}

/* The whole of path read through a new handle equals want[0..n). */
static void read_back_ok(struct repo *r, const char *path, const unsigned char *want, size_t n)
{
	char *err = NULL;
	struct repo_rfile *f = repo_open_read(r, path, &err);
	unsigned char *back = xmalloc(n + 1);
	size_t off = 0;
	ssize_t got;

	if (!f)
		fail_msg("repo_open_read(%s): %s", path, err);
	assert_int_equal(repo_rsize(f), n);
	while ((got = repo_read(f, back + off, n + 1 - off, &err)) > 0)
		off += (size_t)got;
	if (got < 0)
		fail_msg("repo_read(%s): %s", path, err);
	assert_int_equal(off, n);
	assert_memory_equal(back, want, n);
	repo_rclose(f);
	free(back);
}

static struct repo_rfile *open_read_ok(struct repo *r, const char *path)
{
	char *err = NULL;
	struct repo_rfile *f = repo_open_read(r, path, &err);

	if (!f)
		fail_msg("repo_open_read(%s): %s", path, err);
	return f;
}

static void pread_ok(struct repo_rfile *f, uint64_t off, const unsigned char *src, size_t n)
{
	char *err = NULL;
	unsigned char *b = xmalloc(n);

	if (!repo_pread(f, off, b, n, &err))
		fail_msg("repo_pread(%llu, %zu): %s", (unsigned long long)off, n, err);
	assert_memory_equal(b, src + off, n);
	free(b);
}

static void read_ok(struct repo_rfile *f, const unsigned char *want, size_t n)
{
	char *err = NULL;
	unsigned char *b = xmalloc(n);
	size_t off = 0;

	while (off < n) {
		ssize_t got = repo_read(f, b + off, n - off, &err);

		if (got <= 0)
			fail_msg("repo_read: %s", got < 0 ? err : "the file ended early");
		off += (size_t)got;
	}
	assert_memory_equal(b, want, n);
	free(b);
}

/* One file open twice for reading, as a VHD chain holding a file while it
 * is opened again to be checked (NFSv4 merges two opens of one file into
 * one state: libnfs's older handle then failed), and in two repositories
 * on one URL (libnfs 4.0 gave both connections one NFSv4 client); paths
 * replaced, renamed or removed while a reader holds them: each new open
 * finds what the path names now, and every open after that still works. */
static void test_open_twice(void **state)
{
	struct target *t = T(state);
	struct repo *r = open_ok(t);
	char *path = P(t, "twice/a.vhd"), *moved = P(t, "twice/b.vhd"), *dir = P(t, "twice/dir");
	char *inner = P(t, "twice/dir/c.vhd"), *err = NULL;
	const size_t n = 300000, n2 = 70001;
	unsigned char *src = xmalloc(n), *src2 = xmalloc(n2);
	struct repo_rfile *f1, *f2, *f3;

	pattern(src, n, 0, 21);
	pattern(src2, n2, 0, 22);
	put_ok(r, path, src, n);

	/* two readers, each at its own position */
	f1 = open_read_ok(r, path);
	f2 = open_read_ok(r, path);
	assert_int_equal(repo_rsize(f2), n);
	read_ok(f1, src, 1000);
	pread_ok(f2, 5000, src, 4096);
	read_ok(f2, src, 1000);
	read_ok(f1, src + 1000, 1000);
	pread_ok(f1, n - 4096, src, 4096);
	/* one closed: the other reads on, and a third opens beside it */
	repo_rclose(f2);
	pread_ok(f1, 123457, src, 60000);
	read_ok(f1, src + 2000, 3000);
	f3 = open_read_ok(r, path);
	read_ok(f3, src, 5000);
	repo_rclose(f1);
	pread_ok(f3, 200000, src, 100000);
	repo_rclose(f3);
	/* all closed: opening again, and opening another file, still work */
	read_back_ok(r, path, src, n);
	put_ok(r, moved, src2, n2);
	read_back_ok(r, moved, src2, n2);
	assert_true(repo_unlink(r, moved, &err));
	/* two repositories on one URL (two connections) read it at once */
	{
		struct repo *r2 = open_ok(t);

		f1 = open_read_ok(r, path);
		f2 = open_read_ok(r2, path);
		read_ok(f1, src, 2000);
		read_ok(f2, src, 2000);
		pread_ok(f1, 250000, src, 50000);
		repo_rclose(f1);
		pread_ok(f2, 100000, src, 50000);
		repo_rclose(f2);
		read_back_ok(r, path, src, n);
		read_back_ok(r2, path, src, n);
		repo_close(r2);
		read_back_ok(r, path, src, n);
	}

	/* replaced while open: a new open reads the new file */
	f1 = open_read_ok(r, path);
	read_ok(f1, src, 100);
	put_ok(r, path, src2, n2);
	read_back_ok(r, path, src2, n2);
	repo_rclose(f1);
	read_back_ok(r, path, src2, n2);

	/* renamed while open: the new name reads it, the old one names a new file */
	f1 = open_read_ok(r, path);
	read_ok(f1, src2, 100);
	if (!repo_rename(r, path, moved, &err))
		fail_msg("repo_rename with a reader open: %s", err);
	read_back_ok(r, moved, src2, n2);
	put_ok(r, path, src, n);
	read_back_ok(r, path, src, n);
	repo_rclose(f1);
	read_back_ok(r, moved, src2, n2);

	/* removed while open (retention deleting a point just read) */
	f1 = open_read_ok(r, moved);
	if (!repo_unlink(r, moved, &err))
		fail_msg("repo_unlink with a reader open: %s", err);
	assert_false(exists(r, moved, NULL));
	put_ok(r, moved, src, n);
	read_back_ok(r, moved, src, n);
	repo_rclose(f1);
	put_ok(r, inner, src2, n2);
	f1 = open_read_ok(r, inner);
	if (!repo_remove_tree(r, dir, &err))
		fail_msg("repo_remove_tree with a reader open: %s", err);
	put_ok(r, inner, src, n);
	read_back_ok(r, inner, src, n);
	repo_rclose(f1);
	read_back_ok(r, inner, src, n);
	read_back_ok(r, path, src, n);
	free(src);
	free(src2);
	free(path);
	free(moved);
	free(dir);
	free(inner);
	repo_close(r);
}

static void test_bad_paths(void **state)
{
	struct target *t = T(state);
	struct repo *r = open_ok(t);
	const char *bad[] = {"../escape", "/abs", "a/../../b", "a//b", ""};
	char *err = NULL;

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		assert_false(repo_put(r, bad[i], "x", 1, &err));
		assert_non_null(err);
		free(err);
		err = NULL;
	}
	repo_close(r);
}

static void test_space(void **state)
{
	struct target *t = T(state);
	struct repo *r = open_ok(t);
	uint64_t total = 0, avail = 0;

	/* file:// always knows; the others may not */
	if (repo_space(r, &total, &avail)) {
		assert_true(total > 0);
		assert_true(avail <= total);
	} else {
		assert_string_not_equal(t->kind, "file");
	}
	repo_close(r);
}

static void test_selftest(void **state)
{
	struct target *t = T(state);
	char *err = NULL;

	if (!repo_selftest(&t->rc, &err))
		fail_msg("repo_selftest: %s", err);
	assert_null(err);
}

static void test_wrong_secret(void **state)
{
	struct target *t = T(state);
	struct remote_cfg rc = t->rc;
	const char *right = rc.password_env ? getenv(rc.password_env) : NULL;
	char *wrong, *err = NULL;
	struct repo *r;

	assert_non_null(right); /* else main skips this test */
	wrong = xasprintf("%sWRONG", right);
	setenv("REPO_TEST_WRONG_PASSWORD", wrong, 1);
	rc.password_env = "REPO_TEST_WRONG_PASSWORD";
	r = repo_open(&rc, &err);
	if (r) {
		repo_close(r);
		fail_msg("a wrong secret was accepted by %s", rc.url);
	}
	assert_non_null(err);
	print_message("# %s\n", err);
	assert_non_null(strstr(err, rc.name));
	if (strncmp(rc.url, "s3", 2) == 0)
		assert_non_null(strstr(err, "secret access key is wrong"));
	free(err);
	err = NULL;
	if (strncmp(rc.url, "s3", 2) == 0) {
		struct remote_cfg other = t->rc;

		/* an unknown access key id, a missing bucket: each said as such */
		other.user = "NOSUCHKEYID";
		assert_null(repo_open(&other, &err));
		print_message("# %s\n", err);
		assert_non_null(strstr(err, "NOSUCHKEYID"));
		free(err);
		other.user = t->rc.user;
		other.url = "s3+http://no-such-bucket-xentui/p";
		assert_null(repo_open(&other, &err));
		print_message("# %s\n", err);
		assert_non_null(strstr(err, "no-such-bucket-xentui' does not exist"));
		free(err);
		err = NULL;
	}
	/* the self-test says which step failed */
	assert_false(repo_selftest(&rc, &err));
	assert_non_null(strstr(err, "connecting failed"));
	free(err);
	/* and a missing secret is said plainly */
	rc.password_env = "REPO_TEST_NO_SUCH_VARIABLE";
	unsetenv("REPO_TEST_NO_SUCH_VARIABLE");
	assert_null(repo_open(&rc, &err));
	assert_non_null(strstr(err, "REPO_TEST_NO_SUCH_VARIABLE"));
	free(err);
	free(wrong);
}

/* The tmpfs of test_disk_full, unmounted by the teardown if it failed. */
static char full_mnt[64];

/* file:// on a 1 MiB tmpfs: a full disk is a sentence and leaves nothing. */
static void test_disk_full(void **state)
{
	char *mnt = full_mnt;
	struct remote_cfg rc = {0};
	struct repo_entry *e = NULL;
	unsigned char *buf = xcalloc(1, 65536);
	char *err = NULL;
	struct repo *r;
	struct repo_wfile *w;
	bool failed = false;
	size_t n = 0;

	snprintf(full_mnt, sizeof(full_mnt), "/tmp/repo-full-XXXXXX");
	assert_non_null(mkdtemp(mnt));
	/* main skips this test where a tmpfs cannot be mounted */
	assert_int_equal(mount("tmpfs", mnt, "tmpfs", 0, "size=1m"), 0);
	rc.name = "tiny";
	rc.url = xasprintf("file://%s", mnt);
	r = repo_open(&rc, &err);
	assert_non_null(r);
	w = repo_create(r, "full/x.xva", &err);
	assert_non_null(w);
	for (int i = 0; i < 64 && !failed; i++)
		failed = !repo_write(w, buf, 65536, &err);
	if (!failed)
		failed = !repo_commit(w, &err);
	else
		repo_abort(w);
	assert_true(failed);
	print_message("# %s\n", err);
	assert_non_null(strstr(err, "'tiny'"));
	assert_non_null(strstr(err, "disk is full"));
	free(err);
	list_ok(r, "full", &e, &n);
	assert_int_equal(n, 0);
	repo_entries_free(e, n);
	repo_close(r);
	free((char *)rc.url);
	umount(mnt);
	rmdir(mnt);
	full_mnt[0] = '\0';
	free(buf);
}

static int teardown_target(void **state)
{
	struct target *t = cur;
	char *err = NULL;
	struct repo *r = repo_open(&t->rc, &err);

	if (full_mnt[0]) {
		umount(full_mnt);
		rmdir(full_mnt);
		full_mnt[0] = '\0';
	}
	/* this run's folder goes, whatever the tests left */
	if (r) {
		if (!repo_remove_tree(r, t->base, &err))
			free(err);
		repo_close(r);
	} else {
		free(err);
	}
	return 0;
}

/* ---- targets --------------------------------------------------------------- */

/* Why a test does not apply to t (a TAP "# SKIP" reason), or NULL. */
static const char *no_secret(const struct target *t)
{
	if (strcmp(t->kind, "file") == 0 || strcmp(t->kind, "nfs") == 0)
		return "file:// and nfs:// take no secret";
	return t->rc.password_env && getenv(t->rc.password_env) ? NULL : "no secret given for this repository";
}

static const char *no_tmpfs(const struct target *t)
{
	char mnt[] = "/tmp/repo-probe-XXXXXX";
	bool ok;

	if (strcmp(t->kind, "file") != 0)
		return "only file:// can be made full here";
	if (!mkdtemp(mnt))
		return "no temporary folder";
	ok = mount("tmpfs", mnt, "tmpfs", 0, "size=1m") == 0;
	if (ok)
		umount(mnt);
	rmdir(mnt);
	return ok ? NULL : "cannot mount a small tmpfs (needs root)";
}

static void test_skipped(void **state)
{
}

static const struct {
	const char *name;
	CMUnitTestFunction fn;
	const char *(*skip_why)(const struct target *t);
} cases[] = {
	{"open and name", test_open_name, NULL},
	{"write, commit, read back", test_write_read_back, NULL},
	{"20 MiB in parts, same SHA-256, pread across parts", test_large_file, NULL},
	{"abort leaves nothing", test_abort_leaves_nothing, NULL},
	{"commit replaces an older file", test_commit_replaces, NULL},
	{"pread at offsets, get's limit, missing file", test_pread_and_get, NULL},
	{"list files and folders, missing folder empty", test_list, NULL},
	{"unlink", test_unlink, NULL},
	{"remove_tree", test_remove_tree, NULL},
	{"rename replaces", test_rename, NULL},
	{"one file open twice, in two connections too; replaced, renamed, removed while open", test_open_twice, NULL},
	{"1005 files listed and removed (S3 pages)", test_many_files, NULL},
	{"paths outside the repository refused", test_bad_paths, NULL},
	{"space", test_space, NULL},
	{"selftest", test_selftest, NULL},
	{"wrong secret is a clear error", test_wrong_secret, no_secret},
	{"full disk is a sentence, leaves nothing", test_disk_full, no_tmpfs},
};
#define NCASES (ARRAY_LEN(cases))

static int run_target(struct target *t)
{
	struct CMUnitTest tests[NCASES];
	char *names[NCASES];
	char *group = xasprintf("repo %s", t->rc.url);
	int rc;

	for (size_t i = 0; i < NCASES; i++) {
		const char *why = cases[i].skip_why ? cases[i].skip_why(t) : NULL;

		/* "ok N - name # SKIP why": cmocka's own skip() prints "not ok" */
		if (why)
			names[i] = xasprintf("%s: %s # SKIP %s", t->label, cases[i].name, why);
		else
			names[i] = xasprintf("%s: %s", t->label, cases[i].name);
		tests[i] = (struct CMUnitTest){names[i], why ? test_skipped : cases[i].fn, NULL, NULL, t};
	}
	cur = t;
	rc = _cmocka_run_group_tests(group, tests, NCASES, setup_target, teardown_target);
	for (size_t i = 0; i < NCASES; i++)
		free(names[i]);
	free(group);
	return rc;
}

int main(void)
{
	char tmpl[] = "/tmp/test-repo-XXXXXX";
	struct target file = {0};
	const char *urls = getenv("REPO_TEST_URLS");
	const char *pwenv = getenv("REPO_TEST_PASSWORD_ENV");
	int failed = 0;

	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		return 1;
	}
	file.kind = "file";
	file.label = "file";
	file.rc.name = "local";
	file.rc.url = xasprintf("file://%s/repo", tmpl);
	file.tmpdir = tmpl;
	/* the servers' scripts set it: file:// already ran in unit/test_repo */
	if (!getenv("REPO_TEST_ONLY_URLS"))
		failed += run_target(&file);
	free(file.rc.url);
	{
		char *cmd = xasprintf("rm -rf '%s'", tmpl);

		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpl);
		free(cmd);
	}

	if (urls && *urls) {
		char *copy = xstrdup(urls), *save = NULL;

		for (char *u = strtok_r(copy, " \t\n", &save); u; u = strtok_r(NULL, " \t\n", &save)) {
			struct target t = {0};
			char *colon = strstr(u, "://");

			t.kind = colon ? xstrndup(u, (size_t)(colon - u)) : xstrdup(u);
			t.rc.name = xasprintf("test-%s", t.kind);
			t.rc.url = u;
			t.label = u;
			t.rc.user = getenv("REPO_TEST_USER");
			t.rc.password_env = (char *)(pwenv && *pwenv ? pwenv : "REPO_TEST_PASSWORD");
			if (!getenv(t.rc.password_env))
				t.rc.password_env = NULL; /* a guest share */
			t.rc.endpoint = getenv("REPO_TEST_ENDPOINT");
			failed += run_target(&t);
			free((char *)t.kind);
			free(t.rc.name);
		}
		free(copy);
	}
	return failed ? 1 : 0;
}
