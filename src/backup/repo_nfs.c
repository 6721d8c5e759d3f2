/* Repositories on an NFS export, through libnfs in user space (no mount, no
 * root): nfs://server[:port]/export/path[?version=4&nfsport=N...]. A file is
 * written as ".tmp-<random>-<name>" beside its final name, fsync'd (COMMIT)
 * and renamed over it; an NFS server makes a RENAME stable before answering,
 * so the folder needs no fsync of its own.
 *
 * Readers of one file share one NFS open: libnfs 4.0 gives every file of a
 * connection the same NFSv4 open owner, so a second OPEN of an open file
 * makes the server merge the two and change the state ID, and reads
 * through the older handle fail (NFS4ERR_BAD_STATEID), then every OPEN
 * after both closes (NFS4ERR_BAD_SEQID). Whatever renames, replaces or
 * removes a path makes its open stop being shared under that path. */
#include "repo_fs.h"
#include "repo_int.h"

#include <errno.h>
#include <fcntl.h>
#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw-nfs.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

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

/* One NFS open of a file, shared by every reader of its path. */
struct nopen {
	struct nopen *next;
	char *full;      /* the path it is shared under; NULL once detached */
	struct nfsfh *fh;
	int refs;        /* readers holding it: closed at 0 */
};

struct nstate {
	struct nfs_context *nfs;
	struct nopen *opens;
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
	struct nopen *o;
	char *rel;
	uint64_t pos;
};

/* A sentence for -errno, with a full export said plainly. detail is
 * libnfs's own words (nfs_get_error), added where errno says little:
 * libnfs 4.0 maps NFSv4 codes through its NFSv3 table, so the ones it does
 * not know come out as ERANGE and only detail names the server's code. */
static char *why(int rc, const char *detail)
{
	int e = rc < 0 ? -rc : rc;
	char *w, *m;

	if (!detail || !*detail || e == ENOSPC || e == EDQUOT || e == ENOENT || e == EEXIST)
		return repo_fs_why(e, "NFS export", "NFS server");
	if (e == ERANGE)
		return xasprintf("the server answered with an error code libnfs has no name for (%s)", detail);
	w = repo_fs_why(e, "NFS export", "NFS server");
	m = xasprintf("%s (%s)", w, detail);
	free(w);
	return m;
}

/* Call right after the failing libnfs call: its words are the context's
 * last error. */
static char *fail(const struct nstate *s, const char *what, const char *rel, int rc)
{
	char *w = why(rc, nfs_get_error(s->nfs));
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

/* ---- the folders, for repo_fs (paths inside the mount, errno > 0) --------- */

static bool is_dir_entry(const struct nfsdirent *d)
{
	return d->type == NF3DIR || S_ISDIR(d->mode);
}

/* The entries of the folder full ("." and ".." left out); a missing folder
 * is an empty list. */
static int tree_list(void *ctx, const char *full, struct repo_entry **out, size_t *n)
{
	struct nstate *s = ctx;
	struct nfsdir *dir = NULL;
	struct nfsdirent *d;
	size_t cap = 0;
	int rc = nfs_opendir(s->nfs, full, &dir);

	*out = NULL;
	*n = 0;
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return -rc;
	while ((d = nfs_readdir(s->nfs, dir)) != NULL)
		if (strcmp(d->name, ".") != 0 && strcmp(d->name, "..") != 0)
			repo_fs_entry_add(out, n, &cap, d->name, is_dir_entry(d), d->size);
	nfs_closedir(s->nfs, dir);
	return 0;
}

static int tree_unlink(void *ctx, const char *full)
{
	return -nfs_unlink(((struct nstate *)ctx)->nfs, full);
}

static int tree_rmdir(void *ctx, const char *full)
{
	return -nfs_rmdir(((struct nstate *)ctx)->nfs, full);
}

static int tree_mkdir(void *ctx, const char *full)
{
	return -nfs_mkdir(((struct nstate *)ctx)->nfs, full);
}

static bool tree_is_dir(void *ctx, const char *full)
{
	struct nfs_stat_64 st;

	return nfs_stat64(((struct nstate *)ctx)->nfs, full, &st) == 0 && S_ISDIR(st.nfs_mode);
}

static struct repo_fs_tree tree_of(struct nstate *s)
{
	return (struct repo_fs_tree){s, tree_list, tree_unlink, tree_rmdir, tree_mkdir, tree_is_dir};
}

/* mkdir -p of the folder holding full (a path inside the mount); -errno. */
static int mkdir_parents(struct nstate *s, const char *full)
{
	const char *slash = strrchr(full, '/');
	struct repo_fs_tree t = tree_of(s);
	char *dir;
	int rc;

	if (!slash || slash == full)
		return 0;
	dir = xstrndup(full, (size_t)(slash - full));
	rc = repo_fs_mkdirs(&t, dir, 1);
	free(dir);
	return -rc;
}

/* ---- the shared opens ---------------------------------------------------- */

/* Whether full is path or lies under the folder path ("/": the mount's root). */
static bool is_at_or_under(const char *full, const char *path)
{
	size_t n = strlen(path);

	if (strcmp(path, "/") == 0)
		return true;
	return strncmp(full, path, n) == 0 && (full[n] == '\0' || full[n] == '/');
}

/* The path changed what it names (replaced, removed): the opens under it
 * stay with their readers but are no longer shared with new ones. */
static void opens_detach(struct nstate *s, const char *path)
{
	for (struct nopen *o = s->opens; o; o = o->next)
		if (o->full && is_at_or_under(o->full, path)) {
			free(o->full);
			o->full = NULL;
		}
}

/* from was renamed to to: what replaced to is gone from it, and the files
 * open under from are the same files, now under to. */
static void opens_renamed(struct nstate *s, const char *from, const char *to)
{
	size_t n = strlen(from);

	if (strcmp(from, to) == 0)
		return;
	opens_detach(s, to);
	for (struct nopen *o = s->opens; o; o = o->next)
		if (o->full && is_at_or_under(o->full, from)) {
			char *moved = xasprintf("%s%s", to, o->full + n);

			free(o->full);
			o->full = moved;
		}
}

/* The open of full shared with other readers, made if there is none;
 * NULL with -errno in *rc. */
static struct nopen *opens_get(struct nstate *s, const char *full, int *rc)
{
	struct nopen *o;
	struct nfsfh *fh = NULL;

	for (o = s->opens; o; o = o->next)
		if (o->full && strcmp(o->full, full) == 0) {
			o->refs++;
			return o;
		}
	*rc = nfs_open(s->nfs, full, O_RDONLY, &fh);
	if (*rc < 0)
		return NULL;
	o = xcalloc(1, sizeof(*o));
	o->full = xstrdup(full);
	o->fh = fh;
	o->refs = 1;
	o->next = s->opens;
	s->opens = o;
	return o;
}

/* One reader less; the last one closes the NFS open. */
static void opens_put(struct nstate *s, struct nopen *o)
{
	if (--o->refs > 0)
		return;
	for (struct nopen **pp = &s->opens; *pp; pp = &(*pp)->next)
		if (*pp == o) {
			*pp = o->next;
			break;
		}
	nfs_close(s->nfs, o->fh);
	free(o->full);
	free(o);
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

/* The connections open in this process (see new_context). */
static int live_contexts;

/* libnfs 4.0 names the NFSv4 client of a context "Libnfs pid:<pid>
 * <second>": a second context made in the same second as one still open
 * takes its client over, and the first one's state expires
 * (NFS4ERR_EXPIRED). So each context beside another gets a name of its own;
 * libnfs then leaks its default name (it does not free it), 28 bytes that
 * the leak checker of a sanitized build is told to overlook. */
static struct nfs_context *init_context(void)
{
	static unsigned serial;
	struct nfs_context *nfs;
	char name[96];

	if (live_contexts == 0)
		return nfs_init_context();
#if defined(__SANITIZE_ADDRESS__)
	__lsan_disable();
#endif
	nfs = nfs_init_context();
#if defined(__SANITIZE_ADDRESS__)
	__lsan_enable();
#endif
	if (nfs) {
		snprintf(name, sizeof(name), "xentui pid:%d %lld #%u", (int)getpid(), (long long)time(NULL),
			 ++serial);
		nfs4_set_client_name(nfs, name);
	}
	return nfs;
}

/* A fresh context set from url (libnfs reads ?version=, ?nfsport=...). */
static struct nfs_context *new_context(const char *url, struct nfs_url **u, char **err)
{
	struct nfs_context *nfs = init_context();

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
	live_contexts++;
	*state = s;
	return true;
}

static void nfs_repo_close(void *state)
{
	struct nstate *s = state;

	if (!s)
		return;
	/* readers a caller left open: closed with the connection */
	while (s->opens) {
		struct nopen *o = s->opens;

		s->opens = o->next;
		nfs_close(s->nfs, o->fh);
		free(o->full);
		free(o);
	}
	nfs_destroy_context(s->nfs);
	live_contexts--;
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
	w->tmp = repo_fs_temp_name(w->final);
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
		char *wy = why(b->err, b->detail);

		w->failed = true;
		*err = xasprintf("cannot write '%s' on the NFS server %s: %s", w->rel, s->server, wy);
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
	opens_detach(w->s, w->final); /* readers still open have the replaced file */
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
	int rc = 0;

	f->o = opens_get(s, full, &rc);
	free(full);
	if (!f->o) {
		*err = rc == -ENOENT ? xasprintf("cannot open '%s': there is no such file", path)
				     : fail(s, "open", path, rc);
		free(f);
		return NULL;
	}
	rc = nfs_fstat64(s->nfs, f->o->fh, &st);
	if (rc < 0 || S_ISDIR(st.nfs_mode)) {
		*err = rc < 0 ? fail(s, "look at", path, rc) : xasprintf("cannot read '%s': it is a folder", path);
		opens_put(s, f->o);
		free(f);
		return NULL;
	}
	f->s = s;
	f->rel = xstrdup(path);
	*size = st.nfs_size;
	return f;
}

/* One READ of at most rmax bytes at off: >=0 bytes, -1 with *err. */
static ssize_t read_at(void *rf, uint64_t off, void *buf, size_t n, char **err)
{
	struct nr *f = rf;
	uint64_t count = n < f->s->rmax ? n : f->s->rmax;
	int rc = nfs_pread(f->s->nfs, f->o->fh, off, count, buf);

	if (rc < 0) {
		*err = fail(f->s, "read", f->rel, rc);
		return -1;
	}
	return rc;
}

static ssize_t nfs_repo_read(void *rf, void *buf, size_t n, char **err)
{
	return repo_fs_read(rf, read_at, &((struct nr *)rf)->pos, buf, n, err);
}

static bool nfs_repo_pread(void *rf, uint64_t off, void *buf, size_t n, char **err)
{
	return repo_fs_pread(rf, read_at, ((struct nr *)rf)->rel, off, buf, n, err);
}

static void nfs_repo_rclose(void *rf)
{
	struct nr *f = rf;

	if (!f)
		return;
	opens_put(f->s, f->o);
	free(f->rel);
	free(f);
}

/* ---- the tree ----------------------------------------------------------- */

static bool nfs_repo_list(void *state, const char *dir, struct repo_entry **out, size_t *n, char **err)
{
	struct nstate *s = state;
	char *full = full_path(s, dir);
	int rc = -tree_list(s, full, out, n);

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

	if (rc < 0 && rc != -ENOENT) {
		*err = fail(s, "remove", path, rc);
		free(full);
		return false;
	}
	opens_detach(s, full);
	free(full);
	return true;
}

static bool nfs_repo_remove_tree(void *state, const char *dir, char **err)
{
	struct nstate *s = state;
	char *full = full_path(s, dir);
	struct nfs_stat_64 st;
	struct repo_fs_tree t = tree_of(s);
	int rc = nfs_stat64(s->nfs, full, &st);

	if (rc == 0)
		rc = S_ISDIR(st.nfs_mode) ? -repo_fs_remove_tree(&t, full) : nfs_unlink(s->nfs, full);
	/* even cut short, some files under it may be gone */
	opens_detach(s, full);
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
	if (rc == 0)
		opens_renamed(s, f, t);
	free(f);
	free(t);
	if (rc < 0) {
		char *w = why(rc, nfs_get_error(s->nfs));

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
