/* Repositories: picks the backend by the URL's scheme, checks paths, words
 * errors so they name the repository, and adds what every backend shares
 * (repo_put, repo_get, repo_selftest). */
#include "repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "repo_int.h"
#include "secret.h"
#include "util.h"

struct repo {
	const struct repo_ops *ops;
	void *state;
	char *name;
};

struct repo_wfile {
	struct repo *r;
	void *h;
	char *path;
};

struct repo_rfile {
	struct repo *r;
	void *h;
	char *path;
	uint64_t size;
};

static const struct repo_ops *const backends[] = {
	&repo_file_ops,
	&repo_nfs_ops,
	&repo_smb_ops,
	&repo_s3_ops,
};

static const struct repo_ops *backend_for(const char *url, const char **scheme_end)
{
	const char *colon = url ? strstr(url, "://") : NULL;
	size_t len;

	if (!colon)
		return NULL;
	len = (size_t)(colon - url);
	*scheme_end = colon;
	for (size_t i = 0; i < ARRAY_LEN(backends); i++) {
		const struct repo_ops *o = backends[i];

		if (strlen(o->scheme) == len && strncasecmp(o->scheme, url, len) == 0)
			return o;
		/* one backend serves both s3:// and s3+http:// */
		if (o == &repo_s3_ops && len == 7 && strncasecmp(url, "s3+http", 7) == 0)
			return o;
	}
	return NULL;
}

/* Prefixes the backend's sentence with the repository's name. */
static void name_error(const struct repo *r, char **err, const char *what)
{
	char *old;

	if (!err)
		return;
	old = *err;
	if (old)
		*err = xasprintf("repository '%s': %s", r->name, old);
	else
		*err = xasprintf("repository '%s': %s failed for an unknown reason", r->name, what);
	free(old);
}

/* Relative, "/"-separated, no "." or ".." parts, no empty part: a backend
 * never leaves its root whatever a caller (or a corrupted JSON) passes. */
static bool path_ok(const struct repo *r, const char *path, bool empty_ok, char **err)
{
	const char *p = path;

	if (!path || (!*path && !empty_ok) || *path == '/')
		goto bad;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			goto bad;
		if (!slash)
			break;
		p = slash + 1;
		if (!*p)
			break; /* a trailing slash on a folder is tolerated */
	}
	return true;
bad:
	*err = xasprintf("repository '%s': '%s' is not a valid path inside a repository", r->name,
			 path ? path : "(null)");
	return false;
}

char *repo_secret(const struct remote_cfg *rc, char **err)
{
	*err = NULL;
	if (rc->password_file && *rc->password_file)
		return secret_from_file(rc->password_file, err);
	if (rc->password_env && *rc->password_env)
		return secret_from_env(rc->password_env, err);
	if (rc->password_command && *rc->password_command)
		return secret_from_command(rc->password_command, err);
	return NULL;
}

struct repo *repo_open(const struct remote_cfg *rc, char **err)
{
	const char *end = NULL;
	const struct repo_ops *ops = backend_for(rc->url, &end);
	struct repo *r;
	char *e = NULL;

	*err = NULL;
	if (!ops) {
		*err = xasprintf("repository '%s': the URL '%s' is not one of file://, nfs://, smb://, s3:// or s3+http://",
				 rc->name ? rc->name : "?", rc->url ? rc->url : "");
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->ops = ops;
	r->name = xstrdup(rc->name && *rc->name ? rc->name : rc->url);
	if (!ops->open(r, rc, &r->state, &e)) {
		*err = e;
		name_error(r, err, "connecting");
		free(r->name);
		free(r);
		return NULL;
	}
	return r;
}

void repo_close(struct repo *r)
{
	if (!r)
		return;
	r->ops->close(r->state);
	free(r->name);
	free(r);
}

const char *repo_name(const struct repo *r)
{
	return r->name;
}

/* ---- writing ------------------------------------------------------------ */

struct repo_wfile *repo_create(struct repo *r, const char *path, char **err)
{
	struct repo_wfile *f;
	void *h;

	*err = NULL;
	if (!path_ok(r, path, false, err))
		return NULL;
	h = r->ops->create(r->state, path, err);
	if (!h) {
		name_error(r, err, "creating a file");
		return NULL;
	}
	f = xcalloc(1, sizeof(*f));
	f->r = r;
	f->h = h;
	f->path = xstrdup(path);
	return f;
}

bool repo_write(struct repo_wfile *f, const void *buf, size_t n, char **err)
{
	*err = NULL;
	if (n == 0)
		return true;
	if (f->r->ops->write(f->h, buf, n, err))
		return true;
	name_error(f->r, err, "writing");
	return false;
}

bool repo_commit(struct repo_wfile *f, char **err)
{
	bool ok;

	*err = NULL;
	ok = f->r->ops->commit(f->h, err);
	if (!ok)
		name_error(f->r, err, "finishing a file");
	free(f->path);
	free(f);
	return ok;
}

void repo_abort(struct repo_wfile *f)
{
	if (!f)
		return;
	f->r->ops->abort(f->h);
	free(f->path);
	free(f);
}

bool repo_put(struct repo *r, const char *path, const void *data, size_t n, char **err)
{
	struct repo_wfile *f = repo_create(r, path, err);

	if (!f)
		return false;
	if (!repo_write(f, data, n, err)) {
		repo_abort(f);
		return false;
	}
	return repo_commit(f, err);
}

/* ---- reading ------------------------------------------------------------ */

bool repo_stat(struct repo *r, const char *path, bool *exists, uint64_t *size, char **err)
{
	uint64_t sz = 0;

	*err = NULL;
	*exists = false;
	if (!path_ok(r, path, false, err))
		return false;
	if (!r->ops->stat(r->state, path, exists, &sz, err)) {
		name_error(r, err, "looking at a file");
		return false;
	}
	if (size)
		*size = *exists ? sz : 0;
	return true;
}

struct repo_rfile *repo_open_read(struct repo *r, const char *path, char **err)
{
	struct repo_rfile *f;
	uint64_t size = 0;
	void *h;

	*err = NULL;
	if (!path_ok(r, path, false, err))
		return NULL;
	h = r->ops->open_read(r->state, path, &size, err);
	if (!h) {
		name_error(r, err, "opening a file");
		return NULL;
	}
	f = xcalloc(1, sizeof(*f));
	f->r = r;
	f->h = h;
	f->path = xstrdup(path);
	f->size = size;
	return f;
}

uint64_t repo_rsize(const struct repo_rfile *f)
{
	return f->size;
}

ssize_t repo_read(struct repo_rfile *f, void *buf, size_t n, char **err)
{
	ssize_t got;

	*err = NULL;
	if (n == 0)
		return 0;
	got = f->r->ops->read(f->h, buf, n, err);
	if (got < 0)
		name_error(f->r, err, "reading");
	return got;
}

bool repo_pread(struct repo_rfile *f, uint64_t off, void *buf, size_t n, char **err)
{
	*err = NULL;
	if (off > f->size || n > f->size - off) {
		*err = xasprintf("repository '%s': cannot read %zu bytes at offset %llu of '%s': the file has only %llu bytes",
				 f->r->name, n, (unsigned long long)off, f->path, (unsigned long long)f->size);
		return false;
	}
	if (n == 0)
		return true;
	if (f->r->ops->pread(f->h, off, buf, n, err))
		return true;
	name_error(f->r, err, "reading");
	return false;
}

void repo_rclose(struct repo_rfile *f)
{
	if (!f)
		return;
	f->r->ops->rclose(f->h);
	free(f->path);
	free(f);
}

bool repo_get(struct repo *r, const char *path, size_t max, char **data, size_t *n, char **err)
{
	struct repo_rfile *f = repo_open_read(r, path, err);
	size_t len = 0;
	char *p;

	*data = NULL;
	*n = 0;
	if (!f)
		return false;
	if (f->size > max) {
		*err = xasprintf("repository '%s': '%s' is %llu bytes, more than the %zu expected of it", r->name, path,
				 (unsigned long long)f->size, max);
		repo_rclose(f);
		return false;
	}
	p = xmalloc((size_t)f->size + 1);
	while (len < f->size) {
		ssize_t got = repo_read(f, p + len, (size_t)f->size - len, err);

		if (got < 0) {
			free(p);
			repo_rclose(f);
			return false;
		}
		if (got == 0)
			break; /* shorter than announced: return what is there */
		len += (size_t)got;
	}
	p[len] = '\0';
	repo_rclose(f);
	*data = p;
	*n = len;
	return true;
}

/* ---- the tree ----------------------------------------------------------- */

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct repo_entry *)a)->name, ((const struct repo_entry *)b)->name);
}

bool repo_list(struct repo *r, const char *dir, struct repo_entry **out, size_t *n, char **err)
{
	*err = NULL;
	*out = NULL;
	*n = 0;
	if (!path_ok(r, dir, true, err))
		return false;
	if (!r->ops->list(r->state, dir, out, n, err)) {
		name_error(r, err, "listing a folder");
		return false;
	}
	/* every backend is sorted the same way whatever its server returns */
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), entry_cmp);
	return true;
}

void repo_entries_free(struct repo_entry *e, size_t n)
{
	if (!e)
		return;
	for (size_t i = 0; i < n; i++)
		free(e[i].name);
	free(e);
}

bool repo_unlink(struct repo *r, const char *path, char **err)
{
	*err = NULL;
	if (!path_ok(r, path, false, err))
		return false;
	if (r->ops->unlink(r->state, path, err))
		return true;
	name_error(r, err, "removing a file");
	return false;
}

bool repo_remove_tree(struct repo *r, const char *dir, char **err)
{
	*err = NULL;
	/* the root itself is never removed this way */
	if (!path_ok(r, dir, false, err))
		return false;
	if (r->ops->remove_tree(r->state, dir, err))
		return true;
	name_error(r, err, "removing a folder");
	return false;
}

bool repo_rename(struct repo *r, const char *from, const char *to, char **err)
{
	*err = NULL;
	if (!path_ok(r, from, false, err) || !path_ok(r, to, false, err))
		return false;
	if (r->ops->rename(r->state, from, to, err))
		return true;
	name_error(r, err, "renaming a file");
	return false;
}

bool repo_space(struct repo *r, uint64_t *total, uint64_t *avail)
{
	return r->ops->space && r->ops->space(r->state, total, avail);
}

/* ---- the self-test ------------------------------------------------------ */

/* Each failed step says what it was, then why. */
static bool step_failed(char **err, const char *step, char *why)
{
	*err = xasprintf("%s failed: %s", step, why ? why : "no reason given");
	free(why);
	return false;
}

bool repo_selftest(const struct remote_cfg *rc, char **err)
{
	unsigned char rnd[8] = {0};
	char name[64], body[128];
	char *e = NULL, *data = NULL;
	struct repo_entry *ents = NULL;
	size_t nents = 0, len = 0;
	bool found = false, exists = true, ok = false;
	struct repo *r;

	*err = NULL;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		for (size_t i = 0; i < sizeof(rnd); i++)
			rnd[i] = (unsigned char)(rand() ^ time(NULL));
	snprintf(name, sizeof(name), "xentui-selftest-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2],
		 rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	snprintf(body, sizeof(body), "xentui repository self-test %s\n", name);

	r = repo_open(rc, &e);
	if (!r)
		return step_failed(err, "connecting", e);
	if (!repo_put(r, name, body, strlen(body), &e)) {
		step_failed(err, "writing a test file", e);
		goto out;
	}
	if (!repo_get(r, name, 4096, &data, &len, &e)) {
		step_failed(err, "reading the test file back", e);
		goto cleanup;
	}
	if (len != strlen(body) || memcmp(data, body, len) != 0) {
		step_failed(err, "reading the test file back",
			    xasprintf("repository '%s': the file read back differs from the one written", r->name));
		goto cleanup;
	}
	if (!repo_list(r, "", &ents, &nents, &e)) {
		step_failed(err, "listing the repository", e);
		goto cleanup;
	}
	for (size_t i = 0; i < nents; i++)
		if (!ents[i].is_dir && strcmp(ents[i].name, name) == 0)
			found = ents[i].size == len;
	repo_entries_free(ents, nents);
	if (!found) {
		step_failed(err, "listing the repository",
			    xasprintf("repository '%s': the test file '%s' is not listed with its size", r->name, name));
		goto cleanup;
	}
	if (!repo_unlink(r, name, &e)) {
		step_failed(err, "deleting the test file", e);
		goto out;
	}
	if (!repo_stat(r, name, &exists, NULL, &e)) {
		step_failed(err, "checking the test file is gone", e);
		goto out;
	}
	if (exists) {
		step_failed(err, "deleting the test file",
			    xasprintf("repository '%s': '%s' is still there after it was deleted", r->name, name));
		goto out;
	}
	ok = true;
	goto out;
cleanup:
	/* best effort: the step's error is what the user needs */
	if (repo_unlink(r, name, &e) == false)
		free(e);
out:
	free(data);
	repo_close(r);
	return ok;
}
