/* Repositories on an SMB share, through libsmbclient (no mount, no root):
 * smb://server[:port]/share/path. A file is written as ".tmp-<random>-<name>"
 * beside its final name, closed and renamed over it. libsmbclient has no
 * fsync: a CLOSE is the durability point it offers, and the server decides
 * when data reaches its disk ("strict sync" / "sync always"). Replacing an
 * existing file is not atomic either: libsmbclient removes the old one, then
 * renames. The password comes from repo_secret and reaches libsmbclient only
 * through the authentication callback, never a URL or argv.
 *
 * libsmbclient opens files without FILE_SHARE_DELETE, so while a reader of
 * this process holds a file, the server refuses to replace, rename or
 * remove it. When that is refused, those readers are closed (their next
 * read says why) and the change is tried again: what changes a path wins
 * over who was reading it, as a POSIX reader would see its file go. */
#include "repo_fs.h"
#include "repo_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libsmbclient.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "secret.h"
#include "util.h"

/* Largest read or write handed to libsmbclient at once (it splits further). */
#define SMB_CHUNK (1024 * 1024)
/* A server that does not answer for this long is an error, not a hang. */
#define SMB_TIMEOUT_MS 120000
/* The DOS attribute bit of a folder. */
#define SMB_ATTR_DIRECTORY 0x10

struct sr;

struct sstate {
	SMBCCTX *ctx;
	struct sr *readers; /* the files open for reading, to close if replaced */
	char *server;    /* host[:port], for messages */
	char *share_url; /* "smb://host[:port]/share" */
	char *sub;       /* the repository's folder in the share, as in the URL: "" or "a/b" */
	char *query;     /* "" or "?..." given after the path */
	char *user;
	char *workgroup; /* from "DOMAIN\user", else NULL */
	char *password;  /* NULL: none given */
};

struct sw {
	struct sstate *s;
	SMBCFILE *f;
	char *tmp;   /* URLs */
	char *final;
	char *rel;   /* the name the caller gave, for messages */
	bool failed; /* a write failed: commit must not publish a short file */
};

struct sr {
	struct sr *next;
	struct sstate *s;
	SMBCFILE *f;   /* NULL once closed because its path changed */
	char *rel;
	uint64_t pos;  /* where repo_read goes on */
	uint64_t fpos; /* where libsmbclient's file offset is */
};

/* A sentence for errno, with the usual cases said plainly. */
static char *why(int e)
{
	if (e == EACCES || e == EPERM)
		return xstrdup("the SMB server denied access");
	return repo_fs_why(e, "SMB share", "SMB server");
}

static char *fail(const struct sstate *s, const char *what, const char *rel, int e)
{
	char *w = why(e);
	char *m = xasprintf("cannot %s '%s' on the SMB server %s: %s", what, rel, s->server, w);

	free(w);
	return m;
}

/* Whether the relative path rel is dir or lies under the folder dir (a
 * trailing slash on either tolerated). */
static bool at_or_under(const char *rel, const char *dir)
{
	size_t n = strlen(dir), m = strlen(rel);

	while (n > 0 && dir[n - 1] == '/')
		n--;
	while (m > 0 && rel[m - 1] == '/')
		m--;
	return m >= n && strncmp(rel, dir, n) == 0 && (m == n || rel[n] == '/');
}

/* Closes the readers of rel (or of files under it): the server refuses to
 * change a file they hold. Whether there was any. */
static bool readers_drop(struct sstate *s, const char *rel)
{
	bool any = false;

	for (struct sr *r = s->readers; r; r = r->next)
		if (r->f && at_or_under(r->rel, rel)) {
			smbc_getFunctionClose(s->ctx)(s->ctx, r->f);
			r->f = NULL;
			any = true;
		}
	return any;
}

/* Percent-encodes a relative path for a URL, keeping its slashes (libsmbclient
 * decodes the path, so a '%' or '?' in a name must not be taken as syntax). */
static void put_encoded(struct buf *b, const char *rel, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)rel[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-._~/", c)) {
			buf_putc(b, (char)c);
		} else {
			buf_putc(b, '%');
			buf_putc(b, hex[c >> 4]);
			buf_putc(b, hex[c & 15]);
		}
	}
}

/* The URL of a path relative to the repository ("" is its folder); a
 * trailing slash (tolerated on folders) is dropped. */
static char *url_of(const struct sstate *s, const char *rel)
{
	struct buf b;
	size_t n = strlen(rel);

	while (n > 0 && rel[n - 1] == '/')
		n--;
	buf_init(&b);
	buf_puts(&b, s->share_url);
	if (*s->sub) {
		buf_putc(&b, '/');
		buf_puts(&b, s->sub);
	}
	if (n) {
		buf_putc(&b, '/');
		put_encoded(&b, rel, n);
	}
	buf_puts(&b, s->query);
	return buf_steal(&b);
}

/* ---- the folders, for repo_fs (errno > 0) -------------------------------- */

/* The entries of the folder at url ("." and ".." left out); a missing
 * folder is an empty list. */
static int read_folder(struct sstate *s, const char *url, struct repo_entry **out, size_t *n)
{
	SMBCCTX *ctx = s->ctx;
	SMBCFILE *d = smbc_getFunctionOpendir(ctx)(ctx, url);
	const struct libsmb_file_info *fi;
	struct stat st;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : errno;
	while ((fi = smbc_getFunctionReaddirPlus2(ctx)(ctx, d, &st)) != NULL)
		if (fi->name && strcmp(fi->name, ".") != 0 && strcmp(fi->name, "..") != 0)
			repo_fs_entry_add(out, n, &cap, fi->name,
					  S_ISDIR(st.st_mode) || (fi->attrs & SMB_ATTR_DIRECTORY), fi->size);
	smbc_getFunctionClosedir(ctx)(ctx, d);
	return 0;
}

/* Paths relative to the repository, for removing a tree. */
static int rel_list(void *ctx, const char *rel, struct repo_entry **e, size_t *n)
{
	char *url = url_of(ctx, rel);
	int rc = read_folder(ctx, url, e, n);

	free(url);
	return rc;
}

static int rel_unlink(void *ctx, const char *rel)
{
	struct sstate *s = ctx;
	char *url = url_of(s, rel);
	int e = smbc_getFunctionUnlink(s->ctx)(s->ctx, url) < 0 ? errno : 0;

	free(url);
	return e;
}

static int rel_rmdir(void *ctx, const char *rel)
{
	struct sstate *s = ctx;
	char *url = url_of(s, rel);
	int e = smbc_getFunctionRmdir(s->ctx)(s->ctx, url) < 0 ? errno : 0;

	free(url);
	return e;
}

/* Encoded paths inside the share (the repository's own folder made too). */
static int share_mkdir(void *ctx, const char *p)
{
	struct sstate *s = ctx;
	char *url = xasprintf("%s/%s%s", s->share_url, p, s->query);
	int e = smbc_getFunctionMkdir(s->ctx)(s->ctx, url, 0750) < 0 ? errno : 0;

	free(url);
	return e;
}

static bool share_is_dir(void *ctx, const char *p)
{
	struct sstate *s = ctx;
	char *url = xasprintf("%s/%s%s", s->share_url, p, s->query);
	struct stat st;
	bool dir = smbc_getFunctionStat(s->ctx)(s->ctx, url, &st) == 0 && S_ISDIR(st.st_mode);

	free(url);
	return dir;
}

/* mkdir -p, inside the share, of the repository's folder and of the folders
 * of rel; 0 or an errno. */
static int mkdir_parents(struct sstate *s, const char *rel)
{
	const char *slash = strrchr(rel, '/');
	struct repo_fs_tree t = {.ctx = s, .mkdir = share_mkdir, .is_dir = share_is_dir};
	struct buf b;
	int e;

	/* the whole path inside the share, encoded */
	buf_init(&b);
	buf_puts(&b, s->sub);
	if (slash) {
		if (b.len)
			buf_putc(&b, '/');
		put_encoded(&b, rel, (size_t)(slash - rel));
	}
	e = b.data ? repo_fs_mkdirs(&t, b.data, 0) : 0;
	buf_free(&b);
	return e;
}

/* ---- connecting --------------------------------------------------------- */

/* libsmbclient asks for credentials through this, per server and share. */
static void auth_data(SMBCCTX *c, const char *srv, const char *shr, char *wg, int wglen, char *un, int unlen,
		      char *pw, int pwlen)
{
	struct sstate *s = smbc_getOptionUserData(c);

	(void)srv;
	(void)shr;
	if (s->workgroup && wglen > 0)
		snprintf(wg, (size_t)wglen, "%s", s->workgroup);
	if (unlen > 0)
		snprintf(un, (size_t)unlen, "%s", s->user);
	if (pwlen > 0)
		snprintf(pw, (size_t)pwlen, "%s", s->password ? s->password : "");
}

/* Splits smb://host[:port]/share[/sub][?query]; false if there is no share. */
static bool split_url(struct sstate *s, const char *url)
{
	const char *p = url + strlen("smb://"), *host_end, *share, *share_end, *q;
	size_t sub_len;

	if (strncasecmp(url, "smb://", 6) != 0)
		return false;
	q = strchr(p, '?');
	if (!q)
		q = p + strlen(p);
	host_end = memchr(p, '/', (size_t)(q - p));
	if (!host_end || host_end == p)
		return false;
	share = host_end + 1;
	share_end = memchr(share, '/', (size_t)(q - share));
	if (!share_end)
		share_end = q;
	if (share_end == share)
		return false;
	{
		/* host[:port] without any "user:password@" given in the URL */
		const char *at = memchr(p, '@', (size_t)(host_end - p));
		const char *h = at ? at + 1 : p;

		s->server = xstrndup(h, (size_t)(host_end - h));
	}
	s->share_url = xstrndup(url, (size_t)(share_end - url));
	p = share_end;
	while (p < q && *p == '/')
		p++;
	sub_len = (size_t)(q - p);
	while (sub_len > 0 && p[sub_len - 1] == '/')
		sub_len--;
	s->sub = xstrndup(p, sub_len);
	s->query = xstrdup(q);
	return true;
}

static void sstate_free(struct sstate *s)
{
	if (!s)
		return;
	if (s->ctx)
		smbc_free_context(s->ctx, 1);
	free(s->server);
	free(s->share_url);
	free(s->sub);
	free(s->query);
	free(s->user);
	free(s->workgroup);
	secret_free(s->password);
	free(s);
}

/* libsmbclient sets itself up with the first context and tears down with
 * the last, leaking a little each cycle: one idle context, reachable for
 * the process's life, keeps it set up once. */
static SMBCCTX *keeper;

static void keep_module(void)
{
	SMBCCTX *c;

	if (keeper)
		return;
	c = smbc_new_context();
	if (!c)
		return;
	smbc_setDebug(c, 0);
	keeper = smbc_init_context(c);
	if (!keeper)
		smbc_free_context(c, 1);
}

/* Whether the user may log in at all (the share aside): listing the
 * server's shares needs a session but no share. Only a refused session
 * gives EACCES or EPERM here; other errors (no share listing service) do
 * not mean the password is wrong. */
static bool logon_ok(struct sstate *s)
{
	const char *p = s->share_url + strlen("smb://");
	char *url = xasprintf("smb://%.*s/%s", (int)(strchr(p, '/') - p), p, s->query);
	SMBCFILE *d = smbc_getFunctionOpendir(s->ctx)(s->ctx, url);
	int en = errno;

	free(url);
	if (d) {
		smbc_getFunctionClosedir(s->ctx)(s->ctx, d);
		return true;
	}
	return en != EACCES && en != EPERM;
}

static bool smb_repo_open(struct repo *r, const struct remote_cfg *rc, void **state, char **err)
{
	struct sstate *s = xcalloc(1, sizeof(*s));
	const char *user = rc->user && *rc->user ? rc->user : "guest";
	const char *bs = strchr(user, '\\');
	char *e = NULL, *root;
	SMBCFILE *d;
	int en;

	(void)r;
	*state = NULL;
	if (!split_url(s, rc->url)) {
		*err = xasprintf("the URL '%s' is not an SMB share URL (smb://server[:port]/share/path)", rc->url);
		sstate_free(s);
		return false;
	}
	if (bs) {
		s->workgroup = xstrndup(user, (size_t)(bs - user));
		s->user = xstrdup(bs + 1);
	} else {
		s->user = xstrdup(user);
	}
	s->password = repo_secret(rc, &e);
	if (e) {
		*err = xasprintf("cannot get the SMB password of user '%s': %s", s->user, e);
		free(e);
		sstate_free(s);
		return false;
	}
	keep_module();
	s->ctx = smbc_new_context();
	if (!s->ctx) {
		*err = xasprintf("cannot start an SMB client: %s", strerror(errno));
		sstate_free(s);
		return false;
	}
	smbc_setDebug(s->ctx, 0);
	smbc_setTimeout(s->ctx, SMB_TIMEOUT_MS);
	smbc_setOptionUserData(s->ctx, s);
	smbc_setFunctionAuthDataWithContext(s->ctx, auth_data);
	smbc_setOptionUseKerberos(s->ctx, false);
	smbc_setOptionFallbackAfterKerberos(s->ctx, true);
	/* a refused password must be an error, not a silent guest session */
	smbc_setOptionNoAutoAnonymousLogin(s->ctx, strcmp(s->user, "guest") != 0 || s->password != NULL);
	if (!smbc_init_context(s->ctx)) {
		*err = xasprintf("cannot start an SMB client: %s", strerror(errno));
		smbc_free_context(s->ctx, 1);
		s->ctx = NULL;
		sstate_free(s);
		return false;
	}
	/* connect and log in now: a bad address or password is an error here */
	root = xasprintf("%s%s", s->share_url, s->query);
	d = smbc_getFunctionOpendir(s->ctx)(s->ctx, root);
	en = errno;
	free(root);
	if (!d) {
		if ((en == EACCES || en == EPERM) && !logon_ok(s))
			*err = xasprintf("the SMB server refused user '%s': wrong user name or password (server %s)",
					 s->user, s->server);
		else if (en == EACCES || en == EPERM)
			*err = xasprintf("the SMB server %s does not let user '%s' use the share '%s'", s->server,
					 s->user, strrchr(s->share_url, '/') + 1);
		else if (en == ENOENT || en == ENODEV)
			*err = xasprintf("the SMB server %s has no share '%s'", s->server,
					 strrchr(s->share_url, '/') + 1);
		else
			*err = xasprintf("cannot reach the share '%s' of the SMB server %s: %s",
					 strrchr(s->share_url, '/') + 1, s->server, strerror(en));
		sstate_free(s);
		return false;
	}
	smbc_getFunctionClosedir(s->ctx)(s->ctx, d);
	*state = s;
	return true;
}

static void smb_repo_close(void *state)
{
	sstate_free(state);
}

/* ---- writing ------------------------------------------------------------ */

static void sw_free(struct sw *w)
{
	free(w->tmp);
	free(w->final);
	free(w->rel);
	free(w);
}

static void *smb_repo_create(void *state, const char *path, char **err)
{
	struct sstate *s = state;
	struct sw *w = xcalloc(1, sizeof(*w));
	char *tmp = repo_fs_temp_name(path);
	int e = mkdir_parents(s, path);

	w->s = s;
	w->rel = xstrdup(path);
	w->final = url_of(s, path);
	w->tmp = url_of(s, tmp);
	free(tmp);
	if (e) {
		*err = fail(s, "make the folders of", path, e);
		sw_free(w);
		return NULL;
	}
	w->f = smbc_getFunctionOpen(s->ctx)(s->ctx, w->tmp, O_WRONLY | O_CREAT | O_EXCL, 0640);
	if (!w->f) {
		*err = fail(s, "create a temporary file for", path, errno);
		sw_free(w);
		return NULL;
	}
	return w;
}

static bool smb_repo_write(void *wf, const void *buf, size_t n, char **err)
{
	struct sw *w = wf;
	const char *p = buf;

	if (w->failed) {
		*err = xasprintf("cannot write '%s': an earlier write to it failed", w->rel);
		return false;
	}
	while (n > 0) {
		size_t count = n < SMB_CHUNK ? n : SMB_CHUNK;
		ssize_t k = smbc_getFunctionWrite(w->s->ctx)(w->s->ctx, w->f, p, count);

		if (k <= 0) {
			w->failed = true;
			*err = fail(w->s, "write", w->rel, k < 0 ? errno : EIO);
			return false;
		}
		p += k;
		n -= (size_t)k;
	}
	return true;
}

static void smb_repo_abort(void *wf)
{
	struct sw *w = wf;

	if (!w)
		return;
	if (w->f)
		smbc_getFunctionClose(w->s->ctx)(w->s->ctx, w->f);
	smbc_getFunctionUnlink(w->s->ctx)(w->s->ctx, w->tmp);
	sw_free(w);
}

static bool smb_repo_commit(void *wf, char **err)
{
	struct sw *w = wf;
	SMBCFILE *f = w->f;
	SMBCCTX *ctx = w->s->ctx;

	if (w->failed) {
		*err = xasprintf("cannot finish '%s': an earlier write to it failed", w->rel);
		smb_repo_abort(w);
		return false;
	}
	w->f = NULL;
	if (smbc_getFunctionClose(ctx)(ctx, f) < 0) {
		*err = fail(w->s, "close", w->rel, errno);
		smb_repo_abort(w);
		return false;
	}
	if (smbc_getFunctionRename(ctx)(ctx, w->tmp, ctx, w->final) < 0 &&
	    (!readers_drop(w->s, w->rel) || smbc_getFunctionRename(ctx)(ctx, w->tmp, ctx, w->final) < 0)) {
		*err = fail(w->s, "rename the temporary file to", w->rel, errno);
		smb_repo_abort(w);
		return false;
	}
	sw_free(w);
	return true;
}

/* ---- reading ------------------------------------------------------------ */

static bool smb_repo_stat(void *state, const char *path, bool *exists, uint64_t *size, char **err)
{
	struct sstate *s = state;
	struct stat st;
	char *url = url_of(s, path);
	int rc = smbc_getFunctionStat(s->ctx)(s->ctx, url, &st);
	int e = errno;

	free(url);
	if (rc < 0 && (e == ENOENT || e == ENOTDIR)) {
		*exists = false;
		return true;
	}
	if (rc < 0) {
		*err = fail(s, "look at", path, e);
		return false;
	}
	*exists = true;
	*size = S_ISDIR(st.st_mode) ? 0 : (uint64_t)st.st_size;
	return true;
}

static void *smb_repo_open_read(void *state, const char *path, uint64_t *size, char **err)
{
	struct sstate *s = state;
	struct stat st;
	char *url = url_of(s, path);
	SMBCFILE *f = smbc_getFunctionOpen(s->ctx)(s->ctx, url, O_RDONLY, 0);
	int e = errno;
	struct sr *r;

	free(url);
	if (!f) {
		*err = e == ENOENT ? xasprintf("cannot open '%s': there is no such file", path)
				   : fail(s, "open", path, e);
		return NULL;
	}
	if (smbc_getFunctionFstat(s->ctx)(s->ctx, f, &st) < 0 || S_ISDIR(st.st_mode)) {
		e = errno;
		*err = S_ISDIR(st.st_mode) ? xasprintf("cannot read '%s': it is a folder", path)
					   : fail(s, "look at", path, e);
		smbc_getFunctionClose(s->ctx)(s->ctx, f);
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->s = s;
	r->f = f;
	r->rel = xstrdup(path);
	r->next = s->readers;
	s->readers = r;
	*size = (uint64_t)st.st_size;
	return r;
}

/* One read of at most SMB_CHUNK bytes at off: >=0 bytes, -1 with *err. */
static ssize_t read_at(void *rf, uint64_t off, void *buf, size_t n, char **err)
{
	struct sr *r = rf;
	SMBCCTX *ctx = r->s->ctx;
	ssize_t k;

	if (!r->f) {
		*err = xasprintf("cannot read '%s' on the SMB server %s: it was replaced or removed while being read",
				 r->rel, r->s->server);
		return -1;
	}
	if (r->fpos != off) {
		if (smbc_getFunctionLseek(ctx)(ctx, r->f, (off_t)off, SEEK_SET) < 0) {
			*err = fail(r->s, "seek in", r->rel, errno);
			return -1;
		}
		r->fpos = off;
	}
	k = smbc_getFunctionRead(ctx)(ctx, r->f, buf, n < SMB_CHUNK ? n : SMB_CHUNK);
	if (k < 0) {
		*err = fail(r->s, "read", r->rel, errno);
		r->fpos = UINT64_MAX; /* unknown: seek before the next read */
		return -1;
	}
	r->fpos += (uint64_t)k;
	return k;
}

static ssize_t smb_repo_read(void *rf, void *buf, size_t n, char **err)
{
	return repo_fs_read(rf, read_at, &((struct sr *)rf)->pos, buf, n, err);
}

static bool smb_repo_pread(void *rf, uint64_t off, void *buf, size_t n, char **err)
{
	return repo_fs_pread(rf, read_at, ((struct sr *)rf)->rel, off, buf, n, err);
}

static void smb_repo_rclose(void *rf)
{
	struct sr *r = rf;

	if (!r)
		return;
	for (struct sr **pp = &r->s->readers; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	if (r->f)
		smbc_getFunctionClose(r->s->ctx)(r->s->ctx, r->f);
	free(r->rel);
	free(r);
}

/* ---- the tree ----------------------------------------------------------- */

static bool smb_repo_list(void *state, const char *dir, struct repo_entry **out, size_t *n, char **err)
{
	struct sstate *s = state;
	char *url = url_of(s, dir);
	int e = read_folder(s, url, out, n);

	free(url);
	if (e) {
		*err = fail(s, "list the folder", *dir ? dir : "/", e);
		return false;
	}
	return true;
}

static bool smb_repo_unlink(void *state, const char *path, char **err)
{
	struct sstate *s = state;
	char *url = url_of(s, path);
	int rc = smbc_getFunctionUnlink(s->ctx)(s->ctx, url);
	int e = errno;

	if (rc < 0 && e != ENOENT && readers_drop(s, path)) {
		rc = smbc_getFunctionUnlink(s->ctx)(s->ctx, url);
		e = errno;
	}
	free(url);
	if (rc < 0 && e != ENOENT) {
		*err = fail(s, "remove", path, e);
		return false;
	}
	return true;
}

static int remove_tree_once(struct sstate *s, const char *dir)
{
	char *url = url_of(s, dir);
	struct stat st;
	int e = 0;

	if (smbc_getFunctionStat(s->ctx)(s->ctx, url, &st) < 0) {
		e = errno == ENOENT || errno == ENOTDIR ? 0 : errno;
	} else if (S_ISDIR(st.st_mode)) {
		struct repo_fs_tree t = {.ctx = s, .list = rel_list, .unlink = rel_unlink, .rmdir = rel_rmdir};
		char *rel = xstrdup(dir);
		size_t n = strlen(rel);

		while (n > 0 && rel[n - 1] == '/')
			rel[--n] = '\0';
		e = repo_fs_remove_tree(&t, rel);
		free(rel);
	} else if (smbc_getFunctionUnlink(s->ctx)(s->ctx, url) < 0 && errno != ENOENT) {
		e = errno;
	}
	free(url);
	return e;
}

static bool smb_repo_remove_tree(void *state, const char *dir, char **err)
{
	struct sstate *s = state;
	int e = remove_tree_once(s, dir);

	if (e && readers_drop(s, dir))
		e = remove_tree_once(s, dir);
	if (e) {
		*err = fail(s, "remove the folder", dir, e);
		return false;
	}
	return true;
}

static bool smb_repo_rename(void *state, const char *from, const char *to, char **err)
{
	struct sstate *s = state;
	char *f = url_of(s, from), *t = url_of(s, to);
	int e = mkdir_parents(s, to);

	if (e == 0 && smbc_getFunctionRename(s->ctx)(s->ctx, f, s->ctx, t) < 0) {
		bool dropped;

		e = errno;
		dropped = readers_drop(s, from);
		dropped |= readers_drop(s, to); /* the readers of both are in the way */
		if (dropped)
			e = smbc_getFunctionRename(s->ctx)(s->ctx, f, s->ctx, t) < 0 ? errno : 0;
	}
	free(f);
	free(t);
	if (e) {
		char *w = why(e);

		*err = xasprintf("cannot rename '%s' to '%s' on the SMB server %s: %s", from, to, s->server, w);
		free(w);
		return false;
	}
	return true;
}

static bool smb_repo_space(void *state, uint64_t *total, uint64_t *avail)
{
	struct sstate *s = state;
	struct statvfs v;
	/* the share's root: the repository's folder may not exist yet */
	char *url = xasprintf("%s%s", s->share_url, s->query);
	int rc = smbc_getFunctionStatVFS(s->ctx)(s->ctx, url, &v);
	uint64_t unit;

	free(url);
	if (rc < 0)
		return false;
	/* over SMB2+ libsmbclient puts the bytes of a sector in f_bsize and
	 * the sectors of an allocation unit (what f_blocks counts) in f_frsize */
	unit = (uint64_t)v.f_bsize * (v.f_frsize ? v.f_frsize : 1);
	*total = (uint64_t)v.f_blocks * unit;
	*avail = (uint64_t)v.f_bavail * unit;
	return *total > 0;
}

const struct repo_ops repo_smb_ops = {
	.scheme = "smb",
	.open = smb_repo_open,
	.close = smb_repo_close,
	.create = smb_repo_create,
	.write = smb_repo_write,
	.commit = smb_repo_commit,
	.abort = smb_repo_abort,
	.stat = smb_repo_stat,
	.open_read = smb_repo_open_read,
	.read = smb_repo_read,
	.pread = smb_repo_pread,
	.rclose = smb_repo_rclose,
	.list = smb_repo_list,
	.unlink = smb_repo_unlink,
	.remove_tree = smb_repo_remove_tree,
	.rename = smb_repo_rename,
	.space = smb_repo_space,
};
