/* Retention: after a complete new point, removes what interrupted runs
 * left (temporary files, VHDs no point names), finishes a merge cut short,
 * then keeps the job's newest `retention` points of the VM: an old full
 * (XVA) point is deleted, .json first; the oldest delta point is merged
 * into the next one on the repository (merge.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bkutil.h"
#include "run.h"
#include "util.h"

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

/* Removes the oldest point o of the job, whose next point is nx (or NULL). */
static bool age_out(struct repo *r, const struct job_cfg *job, const char *vm_uuid, const struct point *o,
		    const struct point *nx, char **err)
{
	if (strcmp(o->mode, "delta") == 0 && nx && strcmp(nx->mode, "delta") == 0 && has_delta(nx))
		return merge_points(r, vm_uuid, job->id, o->ts, nx->ts, err);
	/* a full point, or a delta point nothing depends on */
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
