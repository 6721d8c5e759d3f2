/* Repositories on a local (or already mounted) folder: file:///abs/path.
 * A file is written as ".tmp-<random>-<name>" beside its final name, then
 * fsync'd, renamed over it and its folder fsync'd, so a crash leaves either
 * the old file or the new one, never half of one. */
#include "repo_fs.h"
#include "repo_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "util.h"

struct fstate {
	char *root; /* absolute, no trailing slash (except "/") */
};

struct fw {
	struct fstate *s;
	int fd;
	char *tmp;    /* absolute path of the temporary file */
	char *final;  /* absolute path it becomes */
	char *rel;    /* the name the caller gave, for messages */
	bool failed;  /* a write failed: commit must not publish a short file */
	uint64_t written; /* bytes written so far */
	uint64_t flushed; /* bytes whose writeback was started */
};

/* Writeback of finished data starts every this many bytes, so the fsync at
 * commit waits for the tail only, not for the whole file. */
#define FLUSH_EVERY ((uint64_t)32 << 20)

struct fr {
	int fd;
	char *rel;
	uint64_t size;
	uint64_t pos;
};

/* A sentence for errno, with the full disk said plainly. */
static char *why(int e)
{
	return repo_fs_why(e, "disk", "disk");
}

static char *fail(const char *what, const char *rel, int e)
{
	char *w = why(e);
	char *s = xasprintf("cannot %s '%s': %s", what, rel, w);

	free(w);
	return s;
}

static char *full_path(const struct fstate *s, const char *rel)
{
	if (!*rel)
		return xstrdup(s->root);
	return xasprintf("%s%s%s", s->root, strcmp(s->root, "/") == 0 ? "" : "/", rel);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* file:///a%20b -> "/a b" (a URL may quote spaces and the like). */
static char *url_path(const char *url)
{
	const char *p = url + strlen("file://");
	size_t n = strlen(p);
	char *out = xmalloc(n + 1), *o = out;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '%' && i + 2 < n && hexval(p[i + 1]) >= 0 && hexval(p[i + 2]) >= 0) {
			*o++ = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
			i += 2;
		} else {
			*o++ = p[i];
		}
	}
	*o = '\0';
	while (o - out > 1 && o[-1] == '/')
		*--o = '\0';
	return out;
}

static int tree_mkdir(void *ctx, const char *path)
{
	(void)ctx;
	return mkdir(path, 0755) == 0 ? 0 : errno;
}

static bool tree_is_dir(void *ctx, const char *path)
{
	struct stat st;

	(void)ctx;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* mkdir -p of an absolute path; true when it is a folder afterwards. */
static bool mkdirs(const char *path, int *e)
{
	struct repo_fs_tree t = {.mkdir = tree_mkdir, .is_dir = tree_is_dir};
	struct stat st;

	*e = repo_fs_mkdirs(&t, path, 1);
	if (*e)
		return false;
	if (stat(path, &st) != 0) {
		*e = errno;
		return false;
	}
	if (!S_ISDIR(st.st_mode)) {
		*e = ENOTDIR;
		return false;
	}
	return true;
}

static char *parent_of(const char *abs)
{
	const char *slash = strrchr(abs, '/');

	if (!slash || slash == abs)
		return xstrdup("/");
	return xstrndup(abs, (size_t)(slash - abs));
}

/* A rename or a new name is durable only once its folder is synced. */
static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return errno;
	if (fsync(fd) != 0 && errno != EINVAL)
		rc = errno;
	close(fd);
	return rc;
}

static bool f_open(struct repo *r, const struct remote_cfg *rc, void **state, char **err)
{
	struct fstate *s;
	int e = 0;
	char *root;

	if (strncasecmp(rc->url, "file:///", 8) != 0) {
		*err = xasprintf("the URL '%s' must be file:// followed by an absolute path (file:///srv/backups)",
				 rc->url);
		return false;
	}
	root = url_path(rc->url);
	/* a fresh repository is a folder that does not exist yet */
	if (!mkdirs(root, &e)) {
		char *w = why(e);

		*err = xasprintf("cannot use the folder %s: %s", root, w);
		free(w);
		free(root);
		return false;
	}
	if (access(root, R_OK | W_OK | X_OK) != 0) {
		*err = xasprintf("cannot use the folder %s: %s", root, strerror(errno));
		free(root);
		return false;
	}
	s = xcalloc(1, sizeof(*s));
	s->root = root;
	*state = s;
	return true;
}

static void f_close(void *state)
{
	struct fstate *s = state;

	if (!s)
		return;
	free(s->root);
	free(s);
}

static void *f_create(void *state, const char *path, char **err)
{
	struct fstate *s = state;
	char *final = full_path(s, path);
	char *dir = parent_of(final);
	struct fw *w;
	int e = 0, fd;
	char *tmp;

	if (!mkdirs(dir, &e)) {
		*err = fail("make the folder for", path, e);
		free(dir);
		free(final);
		return NULL;
	}
	tmp = repo_fs_temp_name(final);
	free(dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		*err = fail("create", path, errno);
		free(tmp);
		free(final);
		return NULL;
	}
	w = xcalloc(1, sizeof(*w));
	w->s = s;
	w->fd = fd;
	w->tmp = tmp;
	w->final = final;
	w->rel = xstrdup(path);
	return w;
}

static void fw_free(struct fw *w)
{
	free(w->tmp);
	free(w->final);
	free(w->rel);
	free(w);
}

static bool f_write(void *wf, const void *buf, size_t n, char **err)
{
	struct fw *w = wf;
	const char *p = buf;

	if (w->failed) {
		*err = xasprintf("cannot write '%s': an earlier write failed", w->rel);
		return false;
	}
	while (n > 0) {
		ssize_t put = write(w->fd, p, n);

		if (put < 0 && errno == EINTR)
			continue;
		if (put <= 0) {
			int e = put < 0 ? errno : ENOSPC;

			w->failed = true;
			/* free the space at once: a full disk must not stay full because of us */
			if (ftruncate(w->fd, 0) != 0) {
				/* the unlink at abort frees it anyway */
			}
			*err = fail("write", w->rel, e);
			return false;
		}
		p += put;
		n -= (size_t)put;
		w->written += (uint64_t)put;
	}
	if (w->written - w->flushed >= FLUSH_EVERY) {
		/* only a start (no wait); an error here shows again at commit's fsync */
		(void)sync_file_range(w->fd, (off_t)w->flushed, (off_t)(w->written - w->flushed), SYNC_FILE_RANGE_WRITE);
		w->flushed = w->written;
	}
	return true;
}

static void f_abort(void *wf)
{
	struct fw *w = wf;

	close(w->fd);
	unlink(w->tmp);
	fw_free(w);
}

static bool f_commit(void *wf, char **err)
{
	struct fw *w = wf;
	char *dir;
	int e;

	if (w->failed) {
		*err = xasprintf("cannot finish '%s': an earlier write failed", w->rel);
		f_abort(w);
		return false;
	}
	if (fsync(w->fd) != 0) {
		*err = fail("write", w->rel, errno);
		f_abort(w);
		return false;
	}
	if (close(w->fd) != 0) {
		w->fd = -1;
		*err = fail("write", w->rel, errno);
		unlink(w->tmp);
		fw_free(w);
		return false;
	}
	if (rename(w->tmp, w->final) != 0) {
		*err = fail("put in place", w->rel, errno);
		unlink(w->tmp);
		fw_free(w);
		return false;
	}
	dir = parent_of(w->final);
	e = fsync_dir(dir);
	free(dir);
	if (e) {
		*err = fail("make durable", w->rel, e);
		fw_free(w);
		return false;
	}
	fw_free(w);
	return true;
}

static bool f_stat(void *state, const char *path, bool *exists, uint64_t *size, char **err)
{
	struct fstate *s = state;
	char *full = full_path(s, path);
	struct stat st;
	int rc = stat(full, &st);
	int e = errno;

	free(full);
	if (rc != 0) {
		if (e == ENOENT || e == ENOTDIR) {
			*exists = false;
			return true;
		}
		*err = fail("look at", path, e);
		return false;
	}
	if (S_ISDIR(st.st_mode)) {
		*err = xasprintf("'%s' is a folder, not a file", path);
		return false;
	}
	*exists = true;
	*size = (uint64_t)st.st_size;
	return true;
}

static void *f_open_read(void *state, const char *path, uint64_t *size, char **err)
{
	struct fstate *s = state;
	char *full = full_path(s, path);
	int fd = open(full, O_RDONLY | O_CLOEXEC);
	struct stat st;
	struct fr *f;

	free(full);
	if (fd < 0) {
		*err = errno == ENOENT ? xasprintf("'%s' does not exist", path) : fail("open", path, errno);
		return NULL;
	}
	if (fstat(fd, &st) != 0) {
		*err = fail("open", path, errno);
		close(fd);
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		*err = xasprintf("'%s' is a folder, not a file", path);
		close(fd);
		return NULL;
	}
	f = xcalloc(1, sizeof(*f));
	f->fd = fd;
	f->rel = xstrdup(path);
	f->size = (uint64_t)st.st_size;
	*size = f->size;
	return f;
}

/* One pread at off: >=0 bytes, -1 with *err. */
static ssize_t read_at(void *rf, uint64_t off, void *buf, size_t n, char **err)
{
	struct fr *f = rf;

	for (;;) {
		ssize_t got = pread(f->fd, buf, n, (off_t)off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			*err = fail("read", f->rel, errno);
		return got;
	}
}

static ssize_t f_read(void *rf, void *buf, size_t n, char **err)
{
	return repo_fs_read(rf, read_at, &((struct fr *)rf)->pos, buf, n, err);
}

static bool f_pread(void *rf, uint64_t off, void *buf, size_t n, char **err)
{
	return repo_fs_pread(rf, read_at, ((struct fr *)rf)->rel, off, buf, n, err);
}

static void f_rclose(void *rf)
{
	struct fr *f = rf;

	close(f->fd);
	free(f->rel);
	free(f);
}

static bool f_list(void *state, const char *dir, struct repo_entry **out, size_t *n, char **err)
{
	struct fstate *s = state;
	char *full = full_path(s, dir);
	DIR *d = opendir(full);
	struct repo_entry *v = NULL;
	size_t len = 0, cap = 0;
	struct dirent *de;

	free(full);
	if (!d) {
		if (errno == ENOENT)
			return true;
		*err = fail("list the folder", dir, errno);
		return false;
	}
	while ((errno = 0, de = readdir(d))) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		/* a file removed meanwhile is simply not listed */
		if (fstatat(dirfd(d), de->d_name, &st, 0) != 0)
			continue;
		repo_fs_entry_add(&v, &len, &cap, de->d_name, S_ISDIR(st.st_mode), (uint64_t)st.st_size);
	}
	if (errno) {
		*err = fail("list the folder", dir, errno);
		closedir(d);
		repo_entries_free(v, len);
		return false;
	}
	closedir(d);
	*out = v;
	*n = len;
	return true;
}

static bool f_unlink(void *state, const char *path, char **err)
{
	struct fstate *s = state;
	char *full = full_path(s, path);
	int rc = unlink(full);
	int e = errno;

	free(full);
	if (rc != 0 && e != ENOENT) {
		*err = fail("remove", path, e);
		return false;
	}
	return true;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP || flag == FTW_D)
		return rmdir(path) == 0 || errno == ENOENT ? 0 : errno;
	return unlink(path) == 0 || errno == ENOENT ? 0 : errno;
}

static bool f_remove_tree(void *state, const char *dir, char **err)
{
	struct fstate *s = state;
	char *full = full_path(s, dir);
	struct stat st;
	int rc;

	if (lstat(full, &st) != 0) {
		int e = errno;

		free(full);
		if (e == ENOENT || e == ENOTDIR)
			return true;
		*err = fail("remove", dir, e);
		return false;
	}
	/* FTW_PHYS: a symbolic link is removed, never followed out of the repository */
	rc = nftw(full, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(full);
	if (rc != 0) {
		*err = fail("remove the folder", dir, rc > 0 ? rc : errno);
		return false;
	}
	return true;
}

static bool f_rename(void *state, const char *from, const char *to, char **err)
{
	struct fstate *s = state;
	char *src = full_path(s, from), *dst = full_path(s, to);
	char *sdir = parent_of(src), *ddir = parent_of(dst);
	bool ok = false;
	int e = 0;

	if (!mkdirs(ddir, &e)) {
		*err = fail("make the folder for", to, e);
	} else if (rename(src, dst) != 0) {
		e = errno;
		*err = e == ENOENT ? xasprintf("cannot rename '%s' to '%s': '%s' does not exist", from, to, from)
				   : xasprintf("cannot rename '%s' to '%s': %s", from, to, strerror(e));
	} else if ((e = fsync_dir(ddir)) != 0 || (strcmp(sdir, ddir) != 0 && (e = fsync_dir(sdir)) != 0)) {
		*err = fail("make durable the rename to", to, e);
	} else {
		ok = true;
	}
	free(src);
	free(dst);
	free(sdir);
	free(ddir);
	return ok;
}

static bool f_space(void *state, uint64_t *total, uint64_t *avail)
{
	struct fstate *s = state;
	struct statvfs v;

	if (statvfs(s->root, &v) != 0)
		return false;
	*total = (uint64_t)v.f_blocks * v.f_frsize;
	*avail = (uint64_t)v.f_bavail * v.f_frsize;
	return true;
}

const struct repo_ops repo_file_ops = {
	.scheme = "file",
	.open = f_open,
	.close = f_close,
	.create = f_create,
	.write = f_write,
	.commit = f_commit,
	.abort = f_abort,
	.stat = f_stat,
	.open_read = f_open_read,
	.read = f_read,
	.pread = f_pread,
	.rclose = f_rclose,
	.list = f_list,
	.unlink = f_unlink,
	.remove_tree = f_remove_tree,
	.rename = f_rename,
	.space = f_space,
};
