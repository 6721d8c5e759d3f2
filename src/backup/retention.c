/* Retention: after a complete new point, removes what interrupted runs
 * left (temporary files, VHDs no point names), finishes a merge cut short,
 * then keeps the job's newest `retention` points of the VM: an old full
 * (XVA) point is deleted, .json first; the oldest delta point is merged
 * into the next one on the repository (merge.c). With long-term retention
 * (ltr.c) a point between two kept ones can go too: the next kept point's
 * VHDs are first rewritten whole (what their chain holds, same UUIDs), so
 * every kept point still restores; then the unkept ones are deleted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "bkutil.h"
#include "ltr.h"
#include "run.h"
#include "util.h"
#include "vhd.h"

static bool is_ts(const char *s)
{
	if (strlen(s) < 16 || s[8] != 'T' || s[15] != 'Z')
		return false;
	for (int i = 0; i < 15; i++)
		if (i != 8 && (s[i] < '0' || s[i] > '9'))
			return false;
	return true;
}

static bool referenced(const struct point *pts, size_t n, const char *rel)
{
	for (size_t i = 0; i < n; i++)
		if (bk_point_file(&pts[i], rel))
			return true;
	return false;
}

static void unlink_quiet(struct repo *r, const char *path)
{
	char *err = NULL;

	repo_unlink(r, path, &err);
	free(err);
}

/* Temporary files of unfinished writes, and this job's VHDs older than the
 * newest point that no point names (a run cut before its .json). */
static bool clean_leftovers(struct repo *r, const char *job_id, const char *vm_uuid, const struct point *pts, size_t n,
			    const char *newest, char **err)
{
	char *vmdir = xasprintf("xo-vm-backups/%s", vm_uuid), *jobdir = xasprintf("%s/vdis/%s", vmdir, job_id);
	struct repo_entry *e = NULL, *d = NULL;
	size_t ne = 0, nd = 0;
	bool ok = false;

	if (!repo_list(r, vmdir, &e, &ne, err))
		goto out;
	for (size_t i = 0; i < ne; i++) {
		const char *nm = e[i].name;
		if (!e[i].is_dir && strncmp(nm, ".tmp-", 5) == 0) {
			/* one with a time stamp in its name goes only when older than the newest point */
			const char *t = nm + 5;
			while (*t && !is_ts(t))
				t++;
			if (!*t || strncmp(t, newest, 16) < 0) {
				char *p = xasprintf("%s/%s", vmdir, nm);
				unlink_quiet(r, p);
				free(p);
			}
		}
	}
	if (!repo_list(r, jobdir, &d, &nd, err))
		goto out;
	for (size_t i = 0; i < nd; i++) {
		char *vdir;
		struct repo_entry *f = NULL;
		size_t nf = 0;
		if (!d[i].is_dir)
			continue;
		vdir = xasprintf("%s/%s", jobdir, d[i].name);
		if (!repo_list(r, vdir, &f, &nf, err)) {
			free(vdir);
			goto out;
		}
		for (size_t j = 0; j < nf; j++) {
			const char *nm = f[j].name;
			char *rel = xasprintf("vdis/%s/%s/%s", job_id, d[i].name, nm), *p = xasprintf("%s/%s", vdir, nm);
			if (!f[j].is_dir && strncmp(nm, ".tmp-", 5) == 0)
				unlink_quiet(r, p);
			else if (!f[j].is_dir && is_ts(nm) && strcmp(nm + 16, ".vhd") == 0 && strncmp(nm, newest, 16) < 0
				 && !referenced(pts, n, rel))
				unlink_quiet(r, p);
			free(rel);
			free(p);
		}
		repo_entries_free(f, nf);
		free(vdir);
	}
	ok = true;
out:
	repo_entries_free(e, ne);
	repo_entries_free(d, nd);
	free(vmdir);
	free(jobdir);
	return ok;
}

/* A merge a run was cut in the middle of: finished now. */
static bool finish_merge(struct repo *r, const char *job_id, const char *vm_uuid, char **err)
{
	char *state = merge_state_path(vm_uuid, job_id), *text = NULL, a[17], b[17];
	size_t n = 0;
	bool exists = false, ok = true;

	if (!repo_stat(r, state, &exists, NULL, err)) {
		free(state);
		return false;
	}
	if (exists && repo_get(r, state, 4096, &text, &n, err)) {
		if (sscanf(text, "%16s %16s", a, b) == 2 && is_ts(a) && is_ts(b))
			ok = merge_points(r, vm_uuid, job_id, a, b, err);
		else
			ok = repo_unlink(r, state, err); /* unreadable: a fresh merge follows */
	} else if (exists) {
		ok = false;
	}
	free(text);
	free(state);
	return ok;
}

static bool has_delta(const struct point *p)
{
	for (size_t i = 0; i < p->nfiles; i++)
		if (p->files[i].differencing)
			return true;
	return false;
}

/* Deletes a point: its .json first (so it stops existing), then its files. */
static bool drop_point(struct repo *r, const char *vm_uuid, const struct point *o, char **err)
{
	if (!repo_unlink(r, o->json_path, err))
		return false;
	for (size_t i = 0; i < o->nfiles; i++) {
		char *p = bk_vm_path(vm_uuid, o->files[i].path);
		bool ok = repo_unlink(r, p, err);
		free(p);
		if (!ok)
			return false;
	}
	return true;
}

/* Removes the oldest point o of the job, whose next point is nx (or NULL). */
static bool age_out(struct repo *r, const struct job_cfg *job, const char *vm_uuid, const struct point *o,
		    const struct point *nx, char **err)
{
	if (strcmp(o->mode, "delta") == 0 && nx && strcmp(nx->mode, "delta") == 0 && has_delta(nx))
		return merge_points(r, vm_uuid, job->id, o->ts, nx->ts, err);
	/* a full point, or a delta point nothing depends on */
	return drop_point(r, vm_uuid, o, err);
}

static bool list_job(struct repo *r, const struct job_cfg *job, const char *vm_uuid, struct point **all, size_t *nall,
		     size_t **mine, size_t *nmine, char **err)
{
	if (!points_list(r, vm_uuid, all, nall, err))
		return false;
	*mine = xcalloc(*nall + 1, sizeof(**mine));
	*nmine = 0;
	for (size_t i = 0; i < *nall; i++)
		if ((*all)[i].job_id && strcmp((*all)[i].job_id, job->id) == 0)
			(*mine)[(*nmine)++] = i;
	return true;
}

/* ---- long-term retention ------------------------------------------------------------ */

struct rewritten {
	const char *path; /* the point's own file path, relative to the VM folder */
	uint64_t size;
	char sha[65];
};

/* Writes the whole disk of the chain at full over it (under a temporary
 * name, then committed), keeping its footer UUID so children still find it. */
static bool vhd_make_whole(struct repo *r, const char *full, struct rewritten *m, char **err)
{
	struct vhd *h = vhd_open(r, full, err);
	struct vhd_chain *c;
	uint8_t uuid[16];

	if (!h)
		return false;
	memcpy(uuid, vhd_info(h)->uuid, 16);
	vhd_close(h);
	if (!(c = vhd_chain_open(r, full, err)))
		return false;
	return merge_write_whole(r, full, c, uuid, &m->size, m->sha, err);
}

/* The point's .json once its VHDs in m are whole: not differencing, their
 * size and SHA-256, the point's size. */
static bool json_whole(struct repo *r, const struct point *p, const struct rewritten *m, size_t nm, char **err)
{
	struct json_object *root = json_tokener_parse(p->json), *diff, *x, *files;
	const char *text;
	uint64_t total = 0;
	bool ok;

	if (!root) {
		*err = xasprintf("%s on %s cannot be read back", p->json_path, repo_name(r));
		return false;
	}
	if (json_object_object_get_ex(root, "isVhdDifferencing", &diff) && json_object_is_type(diff, json_type_object))
		for (size_t i = 0; i < p->nfiles; i++)
			for (size_t j = 0; j < nm; j++) {
				char *key = p->files[i].vdi ? xasprintf("%s.vhd", p->files[i].vdi) : NULL;
				if (strcmp(m[j].path, p->files[i].path) == 0) {
					if (key && json_object_object_get_ex(diff, key, NULL))
						json_object_object_add(diff, key, json_object_new_boolean(false));
					if (json_object_object_get_ex(diff, p->files[i].path, NULL))
						json_object_object_add(diff, p->files[i].path, json_object_new_boolean(false));
				}
				free(key);
			}
	if (!json_object_object_get_ex(root, "xentui", &x) || !json_object_is_type(x, json_type_object)) {
		x = json_object_new_object();
		json_object_object_add(root, "xentui", x);
	}
	if (!json_object_object_get_ex(x, "files", &files) || !json_object_is_type(files, json_type_object)) {
		files = json_object_new_object();
		json_object_object_add(x, "files", files);
	}
	for (size_t j = 0; j < nm; j++) {
		struct json_object *f = json_object_new_object();
		json_object_object_add(f, "size", json_object_new_int64((int64_t)m[j].size));
		json_object_object_add(f, "sha256", json_object_new_string(m[j].sha));
		json_object_object_add(files, m[j].path, f);
	}
	{
		json_object_object_foreach(files, k, v) {
			struct json_object *sz;
			(void)k;
			if (json_object_object_get_ex(v, "size", &sz))
				total += (uint64_t)json_object_get_int64(sz);
		}
	}
	json_object_object_add(root, "size", json_object_new_int64((int64_t)total));
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	ok = repo_put(r, p->json_path, text, strlen(text), err);
	json_object_put(root);
	return ok;
}

/* Makes point p stand alone: each differencing VHD rewritten whole, then
 * its .json. Done again after a cut, it finishes what is left. */
static bool make_whole(struct repo *r, const char *vm_uuid, const struct point *p, char **err)
{
	struct rewritten *m = xcalloc(p->nfiles + 1, sizeof(*m));
	size_t nm = 0;
	bool ok = false;

	for (size_t i = 0; i < p->nfiles; i++) {
		const struct point_file *f = &p->files[i];
		size_t l = strlen(f->path);
		char *full;
		struct vhd *h;
		bool diff;
		if (l < 4 || strcmp(f->path + l - 4, ".vhd") != 0 || (l > 10 && strcmp(f->path + l - 10, ".alias.vhd") == 0)) {
			if (f->differencing) {
				*err = xasprintf("%s on %s is not a plain VHD file: xentui cannot make it whole", f->path,
						 repo_name(r));
				goto out;
			}
			continue;
		}
		full = bk_vm_path(vm_uuid, f->path);
		if (!(h = vhd_open(r, full, err))) {
			free(full);
			goto out;
		}
		diff = vhd_info(h)->differencing;
		vhd_close(h);
		m[nm].path = f->path;
		if (diff) {
			if (!vhd_make_whole(r, full, &m[nm], err)) {
				free(full);
				goto out;
			}
			nm++;
		} else if (f->differencing || !*f->sha256) {
			/* made whole by a run cut short before its .json was rewritten */
			if (!bk_sha256_file(r, full, m[nm].sha, &m[nm].size, err)) {
				free(full);
				goto out;
			}
			nm++;
		}
		free(full);
	}
	ok = !nm || json_whole(r, p, m, nm, err);
out:
	free(m);
	return ok;
}

static int64_t ts_seconds(const char *ts)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (!strptime(ts, "%Y%m%dT%H%M%SZ", &tm))
		return 0;
	return (int64_t)timegm(&tm);
}

/* Keeps what `retention` and `ltr` keep; each run of unkept points goes,
 * after the kept point right after it is made whole if it builds on them. */
static bool apply_ltr(struct repo *r, const struct job_cfg *job, const char *vm_uuid, const struct point *all,
		      const size_t *mine, size_t nmine, char **err)
{
	int64_t *t = xcalloc(nmine + 1, sizeof(*t));
	bool *keep = xcalloc(nmine + 1, sizeof(*keep)), ok = true;
	size_t k = 0;

	for (size_t i = 0; i < nmine; i++)
		t[i] = ts_seconds(all[mine[i]].ts);
	ltr_select(t, nmine, job->retention > 0 ? job->retention : 1, &job->ltr, keep);
	while (ok && k < nmine) {
		size_t a = k;
		if (keep[k]) {
			k++;
			continue;
		}
		while (k < nmine && !keep[k])
			k++;
		if (k == nmine)
			break; /* the newest is always kept: never here */
		if (strcmp(all[mine[k]].mode, "delta") == 0 && has_delta(&all[mine[k]]))
			ok = make_whole(r, vm_uuid, &all[mine[k]], err);
		for (size_t j = a; ok && j < k; j++)
			ok = drop_point(r, vm_uuid, &all[mine[j]], err);
	}
	free(t);
	free(keep);
	return ok;
}

bool retention_apply(struct repo *r, const struct job_cfg *job, const char *vm_uuid, char **err)
{
	struct point *all = NULL;
	size_t nall = 0, *mine = NULL, nmine = 0;
	int keep = job->retention > 0 ? job->retention : 1;
	bool ok = false;

	*err = NULL;
	if (!finish_merge(r, job->id, vm_uuid, err))
		goto fail;
	if (!list_job(r, job, vm_uuid, &all, &nall, &mine, &nmine, err))
		goto fail;
	if (nmine && !clean_leftovers(r, job->id, vm_uuid, all, nall, all[mine[nmine - 1]].ts, err))
		goto fail;
	if (ltr_enabled(&job->ltr)) {
		ok = apply_ltr(r, job, vm_uuid, all, mine, nmine, err);
		goto fail;
	}
	while (nmine > (size_t)keep) {
		size_t before = nmine;
		if (!age_out(r, job, vm_uuid, &all[mine[0]], &all[mine[1]], err))
			goto fail;
		points_free(all, nall);
		free(mine);
		all = NULL;
		mine = NULL;
		if (!list_job(r, job, vm_uuid, &all, &nall, &mine, &nmine, err))
			goto fail;
		if (nmine >= before) {
			*err = xstrdup("the oldest point could not be removed");
			goto fail;
		}
	}
	ok = true;
fail:
	if (!ok && *err) {
		char *e = *err;
		*err = xasprintf("retention of %s on %s: %s", vm_uuid, repo_name(r), e);
		free(e);
	} else if (!ok) {
		*err = xasprintf("retention of %s on %s failed", vm_uuid, repo_name(r));
	}
	points_free(all, nall);
	free(mine);
	return ok;
}
