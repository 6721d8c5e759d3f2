/* Repositories on an NFS export, through libnfs in user space (no mount, no
 * root): nfs://server[:port]/export/path[?version=4&nfsport=N...]. A file is
 * written as ".tmp-<random>-<name>" beside its final name, fsync'd (COMMIT)
 * and renamed over it; an NFS server makes a RENAME stable before answering,
 * so the folder needs no fsync of its own. */
#include "repo_int.h"

#include <errno.h>
#include <fcntl.h>
#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw-nfs.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

/* Largest read or write sent at once: memory stays bounded whatever a
 * caller passes, and servers take this size (it is capped by theirs too). */
#define NFS_CHUNK (1024 * 1024)
/* A server that does not answer for this long is an error, not a hang. */
#define NFS_TIMEOUT_MS 120000
/* libnfs 4.0 encodes an NFSv4 request in a 4 KB buffer: a larger WRITE
 * fails to encode, so NFSv4 writes go in pieces this big. */
#define NFS4_WCHUNK 3072
/* WRITEs in flight at once, and the bytes they may hold together. */
#define NFS_WINDOW 128
#define NFS_WINDOW_BYTES (4 * 1024 * 1024)

struct wbatch;

/* One WRITE in flight: what is left of it to send. */
struct wslot {
	struct wbatch *b;
	uint64_t off;
	const char *p;
	size_t len;
	bool busy;
};

/* The WRITEs of one nfs_repo_write call; owned by the state, so an answer
 * arriving after a failed call still lands in live memory. */
struct wbatch {
	struct nfsfh *fh;
	int pending;
	int err;      /* the first -errno */
	char *detail; /* libnfs's words for it */
	bool active;  /* false: a late short write is not continued */
	struct wslot slot[NFS_WINDOW];
};

struct nstate {
	struct nfs_context *nfs;
	char *server;
	char *base; /* the repository's folder inside the mount: "" or "/a/b" */
	uint64_t rmax;
	size_t wchunk, window; /* WRITE size, and how many in flight */
	struct wbatch *batch;
};

struct nw {
	struct nstate *s;
	struct nfsfh *fh;
	char *tmp;   /* full path inside the mount */
	char *final;
	char *rel;   /* the name the caller gave, for messages */
	uint64_t off;
	bool failed; /* a write failed: commit must not publish a short file */
};

struct nr {
	struct nstate *s;
	struct nfsfh *fh;
	char *rel;
	uint64_t pos;
};

/* A sentence for -errno, with a full export said plainly. */
static char *why(int rc)
{
	int e = rc < 0 ? -rc : rc;

	if (e == ENOSPC || e == EDQUOT)
		return xstrdup("the NFS export is full (no space left on the device)");
	if (e == ETIMEDOUT)
		return xstrdup("the NFS server did not answer in time");
	return xstrdup(strerror(e));
}

static char *fail(const struct nstate *s, const char *what, const char *rel, int rc)
{
	char *w = why(rc);
	char *m = xasprintf("cannot %s '%s' on the NFS server %s: %s", what, rel, s->server, w);

	free(w);
	return m;
}

/* The path inside the mount of a path relative to the repository; a
 * trailing slash (tolerated on folders) is dropped. */
static char *full_path(const struct nstate *s, const char *rel)
{
	size_t n = strlen(rel);

	while (n > 0 && rel[n - 1] == '/')
		n--;
	if (n == 0)
		return xstrdup(*s->base ? s->base : "/");
	return xasprintf("%s/%.*s", s->base, (int)n, rel);
}

/* ".tmp-<16 hex>-<name>" beside full (a path with at least one slash). */
static char *temp_path(const char *full)
{
	const char *slash = strrchr(full, '/');
	unsigned char rnd[8] = {0};
	char hex[17];

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		for (size_t i = 0; i < sizeof(rnd); i++)
			rnd[i] = (unsigned char)(rand() ^ time(NULL));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	return xasprintf("%.*s/.tmp-%s-%s", (int)(slash - full), full, hex, slash + 1);
}

/* mkdir -p of the folder holding full (a path inside the mount). */
static int mkdir_parents(struct nstate *s, const char *full)
{
	const char *slash = strrchr(full, '/');
	struct nfs_stat_64 st;
	char *dir;
	int rc = 0;

	if (!slash || slash == full)
		return 0;
	dir = xstrndup(full, (size_t)(slash - full));
	/* the usual case, one round trip: the folder is there already */
	if (nfs_stat64(s->nfs, dir, &st) == 0 && S_ISDIR(st.nfs_mode)) {
		free(dir);
		return 0;
	}
	for (char *p = strchr(dir + 1, '/');; p = strchr(p + 1, '/')) {
		if (p)
			*p = '\0';
		rc = nfs_mkdir(s->nfs, dir);
		if (rc == -EEXIST)
			rc = 0;
		if (p)
			*p = '/';
		if (rc < 0 || !p)
			break;
	}
	free(dir);
	return rc;
}

/* ---- connecting --------------------------------------------------------- */

/* Whether the URL asks for NFSv4 (libnfs reads "version=4" from its query). */
static bool url_is_v4(const char *url)
{
	const char *q = strchr(url, '?');

	while (q) {
		q++;
		if (strncmp(q, "version=4", 9) == 0 && (q[9] == '\0' || q[9] == '&' || q[9] == '.'))
			return true;
		q = strchr(q, '&');
	}
	return false;
}

/* A fresh context set from url (libnfs reads ?version=, ?nfsport=...). */
static struct nfs_context *new_context(const char *url, struct nfs_url **u, char **err)
{
	struct nfs_context *nfs = nfs_init_context();

	if (!nfs) {
		*err = xstrdup("cannot start an NFS client (out of memory?)");
		return NULL;
	}
	/* other writers change the repository: never list from a stale cache */
	nfs_set_dircache(nfs, 0);
	nfs_set_timeout(nfs, NFS_TIMEOUT_MS);
	*u = nfs_parse_url_dir(nfs, url);
	if (!*u) {
		*err = xasprintf("the URL '%s' is not an NFS URL libnfs understands (nfs://server/export/path): %s", url,
				 nfs_get_error(nfs));
		nfs_destroy_context(nfs);
		return NULL;
	}
	return nfs;
}

/* Why a mount failed, in words: libnfs's own are terse ("nfs_service failed"). */
static char *mount_error(const char *server, const char *path, int rc, const char *detail)
{
	if (rc == -ENOENT)
		return xasprintf("the NFS server %s has no export or folder '%s'", server, path);
	if (rc == -EACCES || rc == -EPERM)
		return xasprintf("the NFS server %s refuses this client access to '%s'", server, path);
	if (rc == -EIO && detail && strstr(detail, "nfs_service failed"))
		return xasprintf("cannot mount '%s' from the NFS server %s: the server refused the connection or "
				 "closed it (is it running, on the port the URL gives?)", path, server);
	return xasprintf("cannot mount '%s' from the NFS server %s: %s", path, server, detail);
}

/* The export is some leading part of the URL's path: the whole path is
 * mounted if it exists; otherwise its shorter prefixes are tried and the
 * rest (made when first written to) becomes the repository's base. */
static bool nfs_repo_open(struct repo *r, const struct remote_cfg *rc, void **state, char **err)
{
	struct nstate *s;
	struct nfs_url *u = NULL;
	struct nfs_context *nfs = new_context(rc->url, &u, err);
	char *path, *error = NULL;
	size_t len;

	(void)r;
	*state = NULL;
	if (!nfs)
		return false;
	s = xcalloc(1, sizeof(*s));
	s->server = xstrdup(u->server);
	path = xstrdup(u->path && *u->path ? u->path : "/");
	len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
	for (;;) {
		int rc2 = nfs_mount(nfs, s->server, path);
		char *slash;

		if (rc2 == 0)
			break;
		free(error);
		error = mount_error(s->server, path, rc2, nfs_get_error(nfs));
		nfs_destroy_context(nfs);
		nfs_destroy_url(u);
		nfs = NULL;
		u = NULL;
		/* only a missing folder makes a shorter path worth trying; never
		 * "/" alone: on NFSv4 it is the pseudo-root every server has */
		slash = strrchr(path, '/');
		if (rc2 != -ENOENT || !slash || slash == path)
			break;
		*slash = '\0';
		len = (size_t)(slash - path);
		nfs = new_context(rc->url, &u, err);
		if (!nfs)
			break;
	}
	if (!nfs) {
		if (error) {
			free(*err);
			*err = error;
		}
		free(path);
		free(s->server);
		free(s);
		return false;
	}
	free(error);
	s->nfs = nfs;
	s->base = xstrdup(u->path && strlen(u->path) > len ? u->path + (len > 1 ? len : 0) : "");
	{
		size_t bl = strlen(s->base);

		while (bl > 0 && s->base[bl - 1] == '/')
			s->base[--bl] = '\0';
	}
	nfs_destroy_url(u);
	free(path);
	s->wchunk = (size_t)nfs_get_writemax(nfs);
	s->rmax = nfs_get_readmax(nfs);
	if (s->wchunk == 0 || s->wchunk > NFS_CHUNK)
		s->wchunk = NFS_CHUNK;
	if (url_is_v4(rc->url) && s->wchunk > NFS4_WCHUNK)
		s->wchunk = NFS4_WCHUNK;
	s->window = NFS_WINDOW_BYTES / s->wchunk;
	if (s->window > NFS_WINDOW)
		s->window = NFS_WINDOW;
	if (s->window == 0)
		s->window = 1;
	s->batch = xcalloc(1, sizeof(*s->batch));
	if (s->rmax == 0 || s->rmax > NFS_CHUNK)
		s->rmax = NFS_CHUNK;
	*state = s;
	return true;
}

static void nfs_repo_close(void *state)
{
	struct nstate *s = state;

	if (!s)
		return;
	nfs_destroy_context(s->nfs);
	if (s->batch)
		free(s->batch->detail);
	free(s->batch);
	free(s->server);
	free(s->base);
	free(s);
}

/* ---- writing ------------------------------------------------------------ */

static void *nfs_repo_create(void *state, const char *path, char **err)
{
	struct nstate *s = state;
	struct nw *w = xcalloc(1, sizeof(*w));
	int rc;

	w->s = s;
	w->rel = xstrdup(path);
	w->final = full_path(s, path);
	w->tmp = temp_path(w->final);
	rc = mkdir_parents(s, w->final);
	if (rc < 0) {
		*err = fail(s, "make the folders of", path, rc);
		goto bad;
	}
	rc = nfs_create(s->nfs, w->tmp, O_WRONLY | O_EXCL, 0640, &w->fh);
	if (rc < 0) {
		*err = fail(s, "create a temporary file for", path, rc);
		goto bad;
	}
	return w;
bad:
	free(w->rel);
	free(w->final);
	free(w->tmp);
	free(w);
	return NULL;
}

/* Called by libnfs when one WRITE is answered: a short write sends the
 * rest, an error is kept (the first one) for nfs_repo_write to report. */
static void write_done(int status, struct nfs_context *nfs, void *data, void *priv)
{
	struct wslot *sl = priv;
	struct wbatch *b = sl->b;

	if (status > 0 && (size_t)status < sl->len && b->active && !b->err) {
		sl->off += (uint64_t)status;
		sl->p += status;
		sl->len -= (size_t)status;
		if (nfs_pwrite_async(nfs, b->fh, sl->off, sl->len, sl->p, write_done, sl) == 0)
			return;
		status = -EIO;
	}
	if (status == 0)
		status = -EIO; /* no progress at all: never loop on it */
	if (status < 0 && !b->err) {
		b->err = status;
		b->detail = xstrdup(data ? (const char *)data : "");
	}
	sl->busy = false;
	b->pending--;
}

/* Sends n bytes as WRITEs of at most wchunk bytes, up to NFS_WINDOW of them
 * in flight (one at a time would pay a round trip per few KB on NFSv4). */
static bool nfs_repo_write(void *wf, const void *buf, size_t n, char **err)
{
	struct nw *w = wf;
	struct nstate *s = w->s;
	struct wbatch *b = s->batch;
	const char *p = buf;
	size_t pos = 0, window = s->window;
	struct timespec last, now;

	if (w->failed) {
		*err = xasprintf("cannot write '%s': an earlier write to it failed", w->rel);
		return false;
	}
	b->fh = w->fh;
	b->err = 0;
	b->pending = 0;
	b->active = true;
	clock_gettime(CLOCK_MONOTONIC, &last);
	while ((pos < n && !b->err) || b->pending > 0) {
		struct pollfd pfd;

		for (size_t i = 0; i < window && pos < n && !b->err; i++) {
			struct wslot *sl = &b->slot[i];

			if (sl->busy)
				continue;
			sl->b = b;
			sl->off = w->off + pos;
			sl->p = p + pos;
			sl->len = n - pos < s->wchunk ? n - pos : s->wchunk;
			if (nfs_pwrite_async(s->nfs, w->fh, sl->off, sl->len, sl->p, write_done, sl) != 0) {
				b->err = -EIO;
				b->detail = xstrdup(nfs_get_error(s->nfs));
				break;
			}
			sl->busy = true;
			b->pending++;
			pos += sl->len;
		}
		if (b->pending == 0)
			break;
		pfd.fd = nfs_get_fd(s->nfs);
		pfd.events = (short)nfs_which_events(s->nfs);
		pfd.revents = 0;
		if (poll(&pfd, 1, 100) < 0 && errno != EINTR)
			pfd.revents = 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (pfd.revents)
			last = now;
		/* also with no event: libnfs times requests out from here */
		if (nfs_service(s->nfs, pfd.revents) < 0 ||
		    (now.tv_sec - last.tv_sec) * 1000 > NFS_TIMEOUT_MS + 10000) {
			if (!b->err) {
				b->err = -ETIMEDOUT;
				b->detail = xstrdup(nfs_get_error(s->nfs));
			}
			break; /* the connection is gone: late answers only touch s->batch */
		}
	}
	b->active = false;
	if (b->err) {
		char *wy = why(b->err);

		w->failed = true;
		/* libnfs's own words only where errno says little */
		bool detail = b->detail && *b->detail && (b->err == -EIO || b->err == -ETIMEDOUT);

		*err = xasprintf("cannot write '%s' on the NFS server %s: %s%s%s%s", w->rel, s->server, wy,
				 detail ? " (" : "", detail ? b->detail : "", detail ? ")" : "");
		free(wy);
		free(b->detail);
		b->detail = NULL;
		return false;
	}
	w->off += n;
	return true;
}

static void nw_free(struct nw *w)
{
	free(w->rel);
	free(w->final);
	free(w->tmp);
	free(w);
}

static void nfs_repo_abort(void *wf)
{
	struct nw *w = wf;

	if (!w)
		return;
	if (w->fh)
		nfs_close(w->s->nfs, w->fh);
	nfs_unlink(w->s->nfs, w->tmp);
	nw_free(w);
}

static bool nfs_repo_commit(void *wf, char **err)
{
	struct nw *w = wf;
	struct nfsfh *fh = w->fh;
	int rc;

	if (w->failed) {
		*err = xasprintf("cannot finish '%s': an earlier write to it failed", w->rel);
		nfs_repo_abort(w);
		return false;
	}
	rc = nfs_fsync(w->s->nfs, fh);
	if (rc < 0) {
		*err = fail(w->s, "save (fsync)", w->rel, rc);
		nfs_repo_abort(w);
		return false;
	}
	w->fh = NULL;
	rc = nfs_close(w->s->nfs, fh);
	if (rc < 0) {
		*err = fail(w->s, "close", w->rel, rc);
		nfs_repo_abort(w);
		return false;
	}
	rc = nfs_rename(w->s->nfs, w->tmp, w->final);
	if (rc < 0) {
		*err = fail(w->s, "rename the temporary file to", w->rel, rc);
		nfs_repo_abort(w);
		return false;
	}
	nw_free(w);
	return true;
}

/* ---- reading ------------------------------------------------------------ */

static bool nfs_repo_stat(void *state, const char *path, bool *exists, uint64_t *size, char **err)
{
	struct nstate *s = state;
	struct nfs_stat_64 st;
	char *full = full_path(s, path);
	int rc = nfs_stat64(s->nfs, full, &st);

	free(full);
	if (rc == -ENOENT || rc == -ENOTDIR) {
		*exists = false;
		return true;
	}
	if (rc < 0) {
		*err = fail(s, "look at", path, rc);
		return false;
	}
	*exists = true;
	*size = S_ISDIR(st.nfs_mode) ? 0 : st.nfs_size;
	return true;
}

static void *nfs_repo_open_read(void *state, const char *path, uint64_t *size, char **err)
{
	struct nstate *s = state;
	struct nfs_stat_64 st;
	struct nr *f = xcalloc(1, sizeof(*f));
	char *full = full_path(s, path);
	int rc = nfs_open(s->nfs, full, O_RDONLY, &f->fh);

	free(full);
	if (rc < 0) {
		*err = rc == -ENOENT ? xasprintf("cannot open '%s': there is no such file", path)
				     : fail(s, "open", path, rc);
		free(f);
		return NULL;
	}
	rc = nfs_fstat64(s->nfs, f->fh, &st);
	if (rc < 0 || S_ISDIR(st.nfs_mode)) {
		*err = rc < 0 ? fail(s, "look at", path, rc) : xasprintf("cannot read '%s': it is a folder", path);
		nfs_close(s->nfs, f->fh);
		free(f);
		return NULL;
	}
	f->s = s;
	f->rel = xstrdup(path);
	*size = st.nfs_size;
	return f;
}

/* One READ of at most rmax bytes at off: >=0 bytes, -1 with *err. */
static ssize_t read_at(struct nr *f, uint64_t off, void *buf, size_t n, char **err)
{
	uint64_t count = n < f->s->rmax ? n : f->s->rmax;
	int rc = nfs_pread(f->s->nfs, f->fh, off, count, buf);

	if (rc < 0) {
		*err = fail(f->s, "read", f->rel, rc);
		return -1;
	}
	return rc;
}

static ssize_t nfs_repo_read(void *rf, void *buf, size_t n, char **err)
{
	struct nr *f = rf;
	ssize_t got = read_at(f, f->pos, buf, n, err);

	if (got > 0)
		f->pos += (uint64_t)got;
	return got;
}

static bool nfs_repo_pread(void *rf, uint64_t off, void *buf, size_t n, char **err)
{
	struct nr *f = rf;
	char *p = buf;

	while (n > 0) {
		ssize_t got = read_at(f, off, p, n, err);

		if (got < 0)
			return false;
		if (got == 0) {
			*err = xasprintf("cannot read '%s' at offset %llu: the file ends before", f->rel,
					 (unsigned long long)off);
			return false;
		}
		off += (uint64_t)got;
		p += got;
		n -= (size_t)got;
	}
	return true;
}

static void nfs_repo_rclose(void *rf)
{
	struct nr *f = rf;

	if (!f)
		return;
	nfs_close(f->s->nfs, f->fh);
	free(f->rel);
	free(f);
}

/* ---- the tree ----------------------------------------------------------- */

static bool is_dir_entry(const struct nfsdirent *d)
{
	return d->type == NF3DIR || S_ISDIR(d->mode);
}

/* The entries of the folder full ("." and ".." left out); a missing folder
 * is an empty list (returns 0), else -errno. */
static int read_folder(struct nstate *s, const char *full, struct repo_entry **out, size_t *n)
{
	struct nfsdir *dir = NULL;
	struct nfsdirent *d;
	size_t cap = 0;
	int rc = nfs_opendir(s->nfs, full, &dir);

	*out = NULL;
	*n = 0;
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	while ((d = nfs_readdir(s->nfs, dir)) != NULL) {
		if (strcmp(d->name, ".") == 0 || strcmp(d->name, "..") == 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*out = xrealloc(*out, cap * sizeof(**out));
		}
		(*out)[*n].name = xstrdup(d->name);
		(*out)[*n].is_dir = is_dir_entry(d);
		(*out)[*n].size = (*out)[*n].is_dir ? 0 : d->size;
		(*n)++;
	}
	nfs_closedir(s->nfs, dir);
	return 0;
}

static bool nfs_repo_list(void *state, const char *dir, struct repo_entry **out, size_t *n, char **err)
{
	struct nstate *s = state;
	char *full = full_path(s, dir);
	int rc = read_folder(s, full, out, n);

	free(full);
	if (rc < 0) {
		*err = fail(s, "list the folder", *dir ? dir : "/", rc);
		return false;
	}
	return true;
}

static bool nfs_repo_unlink(void *state, const char *path, char **err)
{
	struct nstate *s = state;
	char *full = full_path(s, path);
	int rc = nfs_unlink(s->nfs, full);

	free(full);
	if (rc < 0 && rc != -ENOENT) {
		*err = fail(s, "remove", path, rc);
		return false;
	}
	return true;
}

/* rm -r of full; the depth is the tree's, one listing held per level. */
static int remove_full(struct nstate *s, const char *full)
{
	struct repo_entry *e;
	size_t n;
	int rc = read_folder(s, full, &e, &n);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		char *child = xasprintf("%s/%s", full, e[i].name);

		rc = e[i].is_dir ? remove_full(s, child) : nfs_unlink(s->nfs, child);
		if (rc == -ENOENT)
			rc = 0;
		free(child);
	}
	repo_entries_free(e, n);
	if (rc == 0) {
		rc = nfs_rmdir(s->nfs, full);
		if (rc == -ENOENT)
			rc = 0;
	}
	return rc;
}

static bool nfs_repo_remove_tree(void *state, const char *dir, char **err)
{
	struct nstate *s = state;
	char *full = full_path(s, dir);
	struct nfs_stat_64 st;
	int rc = nfs_stat64(s->nfs, full, &st);

	if (rc == 0)
		rc = S_ISDIR(st.nfs_mode) ? remove_full(s, full) : nfs_unlink(s->nfs, full);
	free(full);
	if (rc < 0 && rc != -ENOENT) {
		*err = fail(s, "remove the folder", dir, rc);
		return false;
	}
	return true;
}

static bool nfs_repo_rename(void *state, const char *from, const char *to, char **err)
{
	struct nstate *s = state;
	char *f = full_path(s, from), *t = full_path(s, to);
	int rc = mkdir_parents(s, t);

	if (rc == 0)
		rc = nfs_rename(s->nfs, f, t);
	free(f);
	free(t);
	if (rc < 0) {
		char *w = why(rc);

		*err = xasprintf("cannot rename '%s' to '%s' on the NFS server %s: %s", from, to, s->server, w);
		free(w);
		return false;
	}
	return true;
}

static bool nfs_repo_space(void *state, uint64_t *total, uint64_t *avail)
{
	struct nstate *s = state;
	struct nfs_statvfs_64 v;

	/* the base may not exist yet; the mount's root is on the same file system */
	if (nfs_statvfs64(s->nfs, "/", &v) < 0)
		return false;
	{
		uint64_t unit = v.f_frsize ? v.f_frsize : v.f_bsize;

		*total = v.f_blocks * unit;
		*avail = v.f_bavail * unit;
	}
	return true;
}

const struct repo_ops repo_nfs_ops = {
	.scheme = "nfs",
	.open = nfs_repo_open,
	.close = nfs_repo_close,
	.create = nfs_repo_create,
	.write = nfs_repo_write,
	.commit = nfs_repo_commit,
	.abort = nfs_repo_abort,
	.stat = nfs_repo_stat,
	.open_read = nfs_repo_open_read,
	.read = nfs_repo_read,
	.pread = nfs_repo_pread,
	.rclose = nfs_repo_rclose,
	.list = nfs_repo_list,
	.unlink = nfs_repo_unlink,
	.remove_tree = nfs_repo_remove_tree,
	.rename = nfs_repo_rename,
	.space = nfs_repo_space,
};
