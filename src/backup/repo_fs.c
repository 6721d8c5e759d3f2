/* The steps the file system repositories share (see repo_fs.h). */
#include "repo_fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "util.h"

char *repo_fs_temp_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	unsigned char rnd[8] = {0};
	char hex[17];

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		for (size_t i = 0; i < sizeof(rnd); i++)
			rnd[i] = (unsigned char)(rand() ^ (int)time(NULL));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	return xasprintf("%.*s.tmp-%s-%.200s", (int)(name - path), path, hex, name);
}

char *repo_fs_why(int e, const char *where, const char *server)
{
	if (e == ENOSPC || e == EDQUOT)
		return xasprintf("the %s is full (no space left on the device)", where);
	if (e == ETIMEDOUT)
		return xasprintf("the %s did not answer in time", server);
	return xstrdup(strerror(e));
}

ssize_t repo_fs_read(void *f, repo_fs_read_at_fn read_at, uint64_t *pos, void *buf, size_t n, char **err)
{
	ssize_t got = read_at(f, *pos, buf, n, err);

	if (got > 0)
		*pos += (uint64_t)got;
	return got;
}

bool repo_fs_pread(void *f, repo_fs_read_at_fn read_at, const char *rel, uint64_t off, void *buf, size_t n,
		   char **err)
{
	char *p = buf;
	uint64_t end = off + n;

	while (n > 0) {
		ssize_t got = read_at(f, off, p, n, err);

		if (got < 0)
			return false;
		if (got == 0) {
			*err = xasprintf("cannot read '%s': it ends before offset %llu", rel, (unsigned long long)end);
			return false;
		}
		off += (uint64_t)got;
		p += got;
		n -= (size_t)got;
	}
	return true;
}

void repo_fs_entry_add(struct repo_entry **v, size_t *n, size_t *cap, const char *name, bool is_dir,
		       uint64_t size)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = xrealloc(*v, *cap * sizeof(**v));
	}
	(*v)[*n].name = xstrdup(name);
	(*v)[*n].is_dir = is_dir;
	(*v)[*n].size = is_dir ? 0 : size;
	(*n)++;
}

int repo_fs_remove_tree(const struct repo_fs_tree *t, const char *path)
{
	struct repo_entry *e;
	size_t n;
	int rc = t->list(t->ctx, path, &e, &n);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		char *child = xasprintf("%s/%s", path, e[i].name);

		rc = e[i].is_dir ? repo_fs_remove_tree(t, child) : t->unlink(t->ctx, child);
		if (rc == ENOENT)
			rc = 0;
		free(child);
	}
	repo_entries_free(e, n);
	if (rc == 0) {
		rc = t->rmdir(t->ctx, path);
		if (rc == ENOENT)
			rc = 0;
	}
	return rc;
}

int repo_fs_mkdirs(const struct repo_fs_tree *t, const char *path, size_t from)
{
	char *p;
	int rc = 0;

	if (strlen(path) <= from || t->is_dir(t->ctx, path))
		return 0;
	p = xstrdup(path);
	for (char *q = strchr(p + from, '/');; q = strchr(q + 1, '/')) {
		if (q)
			*q = '\0';
		if (*p) {
			rc = t->mkdir(t->ctx, p);
			if (rc == EEXIST)
				rc = 0;
		}
		if (q)
			*q = '/';
		if (rc || !q)
			break;
	}
	free(p);
	return rc;
}
