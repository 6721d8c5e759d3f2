/* Metadata backups as XO lays them out: the pool database (GET
 * /pool/xmldbdump) and xentui's own configuration file, kept by count. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bkutil.h"
#include "job.h"
#include "run.h"
#include "util.h"

#define CONFIG_MAX (16u << 20)

struct dump {
	struct repo_wfile **w;
	size_t n;
	EVP_MD_CTX *sha;
	uint64_t size;
};

static bool to_remotes(const void *buf, size_t n, void *ud, char **err)
{
	struct dump *d = ud;

	if (run_cancelled()) {
		*err = xstrdup("the backup was stopped");
		return false;
	}
	EVP_DigestUpdate(d->sha, buf, n);
	for (size_t i = 0; i < d->n; i++)
		if (!repo_write(d->w[i], buf, n, err))
			return false;
	d->size += n;
	return true;
}

static struct json_object *files_entry(const char *name, uint64_t size, const char *sha)
{
	struct json_object *files = json_object_new_object(), *f = json_object_new_object();

	json_object_object_add(f, "size", json_object_new_int64((int64_t)size));
	json_object_object_add(f, "sha256", json_object_new_string(sha));
	json_object_object_add(files, name, f);
	return files;
}

static struct json_object *common(const struct job_cfg *job, int64_t now)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "jobId", json_object_new_string(job->id));
	json_object_object_add(o, "jobName", json_object_new_string(job->name));
	json_object_object_add(o, "scheduleId", json_object_new_string(job->id));
	json_object_object_add(o, "scheduleName", json_object_new_string(job->schedule ? job->schedule : ""));
	json_object_object_add(o, "timestamp", json_object_new_int64(now * 1000));
	return o;
}

static bool put_all(struct repo **repos, size_t n, const char *path, const char *data, size_t len, char **err)
{
	for (size_t i = 0; i < n; i++)
		if (!repo_put(repos[i], path, data, len, err))
			return false;
	return true;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct repo_entry *)a)->name, ((const struct repo_entry *)b)->name);
}

/* Keeps the newest `keep` complete points (folders with metadata.json)
 * under dir; removes older ones and older unfinished ones. */
static void keep_newest(struct repo *r, const char *dir, int keep, const char *current)
{
	struct repo_entry *e = NULL;
	size_t n = 0, complete = 0;
	char *err = NULL;

	if (!repo_list(r, dir, &e, &n, &err)) {
		free(err);
		return;
	}
	qsort(e, n, sizeof(*e), by_name);
	for (size_t i = n; i-- > 0;) {
		char *meta, *sub;
		bool exists = false;
		if (!e[i].is_dir || e[i].name[0] == '.')
			continue;
		sub = xasprintf("%s/%s", dir, e[i].name);
		meta = xasprintf("%s/metadata.json", sub);
		if (repo_stat(r, meta, &exists, NULL, &err) && exists)
			complete++;
		free(err);
		err = NULL;
		if ((exists && complete > (size_t)keep) || (!exists && strcmp(e[i].name, current) < 0)) {
			/* the metadata first: a half-removed point no longer looks whole */
			repo_unlink(r, meta, &err);
			free(err);
			err = NULL;
			repo_remove_tree(r, sub, &err);
			free(err);
			err = NULL;
		}
		free(meta);
		free(sub);
	}
	repo_entries_free(e, n);
}

static bool pool_dump(struct bx *bx, const struct job_cfg *job, struct repo **repos, size_t nrepos, int64_t now,
		      const char *ts, uint64_t *bytes, char **err)
{
	struct xv *pools = bk_call(bx, "pool.get_all", err, (char *)NULL), *pool = NULL, *master = NULL;
	const char *pref = pools ? xv_str(xv_at(pools, 0)) : NULL;
	char *dir = NULL, *path = NULL, *mpath = NULL, sha[65];
	struct dump d;
	struct json_object *o;
	const char *text;
	bool ok = false;

	memset(&d, 0, sizeof(d));
	if (!pref || !(pool = bk_call(bx, "pool.get_record", err, pref, (char *)NULL)))
		goto out;
	master = bk_call(bx, "host.get_record", err, bk_field(pool, "master"), (char *)NULL);
	free(*err);
	*err = NULL;
	dir = xasprintf("xo-pool-metadata-backups/%s/%s", job->id, bk_field(pool, "uuid"));
	path = xasprintf("%s/%s/data", dir, ts);
	mpath = xasprintf("%s/%s/metadata.json", dir, ts);
	d.w = xcalloc(nrepos + 1, sizeof(*d.w));
	d.n = nrepos;
	for (size_t i = 0; i < nrepos; i++)
		if (!(d.w[i] = repo_create(repos[i], path, err)))
			goto out;
	d.sha = bk_sha_new();
	if (!bx_get(bx, "/pool/xmldbdump", to_remotes, &d, NULL, err)) {
		char *why = *err;
		*err = xasprintf("the pool database: %s", why);
		free(why);
		goto out;
	}
	bk_sha_hex(d.sha, sha);
	d.sha = NULL;
	for (size_t i = 0; i < nrepos; i++) {
		bool c = repo_commit(d.w[i], err);
		d.w[i] = NULL;
		if (!c)
			goto out;
	}
	o = common(job, now);
	json_object_object_add(o, "pool", bk_xv_to_json(pool));
	if (master)
		json_object_object_add(o, "poolMaster", bk_xv_to_json(master));
	json_object_object_add(o, "xentui", files_entry("data", d.size, sha));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	ok = put_all(repos, nrepos, mpath, text, strlen(text), err);
	json_object_put(o);
	if (ok) {
		*bytes += d.size;
		for (size_t i = 0; i < nrepos; i++)
			keep_newest(repos[i], dir, job->retention, ts);
	}
out:
	for (size_t i = 0; d.w && i < nrepos; i++)
		if (d.w[i])
			repo_abort(d.w[i]);
	if (d.sha)
		bk_sha_hex(d.sha, sha);
	free(d.w);
	free(dir);
	free(path);
	free(mpath);
	xv_free(pools);
	xv_free(pool);
	xv_free(master);
	return ok;
}

static bool config_copy(const struct job_cfg *job, struct repo **repos, size_t nrepos, const char *config_path,
			int64_t now, const char *ts, uint64_t *bytes, char **err)
{
	FILE *f = config_path ? fopen(config_path, "rb") : NULL;
	struct buf b;
	char chunk[8192], sha[65], *dir, *path, *mpath;
	size_t n;
	EVP_MD_CTX *c;
	struct json_object *o, *ours;
	const char *text;
	bool ok;

	if (!f)
		return true; /* no file: nothing of ours to keep */
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len <= CONFIG_MAX)
		buf_append(&b, chunk, n);
	ok = !ferror(f) && b.len <= CONFIG_MAX;
	fclose(f);
	if (!ok) {
		/* never a copy cut short that looks whole */
		*err = b.len > CONFIG_MAX ? xasprintf("%s is larger than %u MiB: not a configuration file to keep a copy of",
						      config_path, CONFIG_MAX >> 20)
					  : xasprintf("cannot read %s", config_path);
		buf_free(&b);
		return false;
	}
	c = bk_sha_new();
	EVP_DigestUpdate(c, b.data ? b.data : "", b.len);
	bk_sha_hex(c, sha);
	dir = xasprintf("xo-config-backups/%s", job->id);
	path = xasprintf("%s/%s/data.json", dir, ts);
	mpath = xasprintf("%s/%s/metadata.json", dir, ts);
	ok = put_all(repos, nrepos, path, b.data ? b.data : "", b.len, err);
	if (ok) {
		o = common(job, now);
		ours = json_object_new_object();
		json_object_object_add(ours, "what",
				       json_object_new_string("data.json holds xentui's configuration file as it was "
							      "(libconfig text), not Xen Orchestra's JSON"));
		json_object_object_add(ours, "source", json_object_new_string(config_path));
		json_object_object_add(ours, "files", files_entry("data.json", b.len, sha));
		json_object_object_add(o, "xentui", ours);
		text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		ok = put_all(repos, nrepos, mpath, text, strlen(text), err);
		json_object_put(o);
	}
	if (ok) {
		*bytes += b.len;
		for (size_t i = 0; i < nrepos; i++)
			keep_newest(repos[i], dir, job->retention, ts);
	}
	buf_free(&b);
	free(dir);
	free(path);
	free(mpath);
	return ok;
}

static uint64_t last_bytes;

uint64_t metadata_last_bytes(void)
{
	return last_bytes;
}

bool mode_metadata(struct bx *bx, const struct job_cfg *job, struct repo **repos, size_t nrepos,
		   const char *config_path, int64_t now, char **err)
{
	char ts[17];
	uint64_t bytes = 0;

	*err = NULL;
	point_ts(now, ts);
	last_bytes = 0;
	if (!pool_dump(bx, job, repos, nrepos, now, ts, &bytes, err))
		return false;
	if (!config_copy(job, repos, nrepos, config_path, now, ts, &bytes, err))
		return false;
	last_bytes = bytes;
	return true;
}
