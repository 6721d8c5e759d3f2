/* Mirror, as Xen Orchestra's mirror backup: the restore points of one
 * repository (source_remote) copied to others (remotes), each then aged by
 * the mirror job's own retention. Only points newer than a target's newest
 * of the same VM and job are copied (a point retention removed there never comes back);
 * on an empty target the copy starts at the source's oldest whole point so
 * every delta has its parent. Each file is checked against the SHA-256 its
 * point recorded while it is copied; the .json goes last, as a run writes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bkutil.h"
#include "run.h"
#include "util.h"

#define PIECE (1024 * 1024)

struct mctx {
	const struct job_cfg *job;
	struct repo *src, *dst;
	uint64_t bytes;
	size_t copied;
	char *warn; /* per VM problems, joined */
};

static void warn_add(struct mctx *m, char *s)
{
	char *old = m->warn;

	m->warn = xasprintf("%s%s%s", old ? old : "", old ? "; " : "", s);
	free(old);
	free(s);
}

static bool wanted(const struct job_cfg *job, const struct point *p)
{
	if (!job->nvms)
		return true;
	for (size_t i = 0; i < job->nvms; i++)
		if (strcmp(job->vms[i], p->vm_uuid) == 0 || (p->vm_name && strcmp(job->vms[i], p->vm_name) == 0))
			return true;
	return false;
}

static bool differencing(const struct point *p)
{
	for (size_t i = 0; i < p->nfiles; i++)
		if (p->files[i].differencing)
			return true;
	return false;
}

/* One file of a point, source to target, its SHA-256 checked when recorded. */
static bool copy_file(struct mctx *m, const struct point *p, const struct point_file *f, char **err)
{
	char *path = bk_vm_path(p->vm_uuid, f->path), *buf = NULL, hex[65];
	struct repo_rfile *in = repo_open_read(m->src, path, err);
	struct repo_wfile *out = NULL;
	EVP_MD_CTX *md = bk_sha_new();
	uint64_t done = 0;
	bool ok = false;

	if (!in)
		goto out;
	if (!(out = repo_create(m->dst, path, err)))
		goto out;
	buf = xmalloc(PIECE);
	for (;;) {
		ssize_t n = repo_read(in, buf, PIECE, err);
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		EVP_DigestUpdate(md, buf, (size_t)n);
		if (!repo_write(out, buf, (size_t)n, err))
			goto out;
		done += (uint64_t)n;
	}
	bk_sha_hex(md, hex);
	md = NULL;
	if (f->sha256[0] && (strcmp(hex, f->sha256) != 0 || done != f->size)) {
		*err = xasprintf("%s on %s is not what its point recorded (damaged): not copied", path, repo_name(m->src));
		goto out;
	}
	if (!repo_commit(out, err)) {
		out = NULL;
		goto out;
	}
	out = NULL;
	m->bytes += done;
	ok = true;
out:
	if (md)
		bk_sha_hex(md, hex);
	if (out)
		repo_abort(out);
	if (in)
		repo_rclose(in);
	free(buf);
	free(path);
	return ok;
}

static bool copy_point(struct mctx *m, const struct point *p, char **err)
{
	for (size_t i = 0; i < p->nfiles; i++)
		if (strstr(p->files[i].path, ".alias.vhd")) {
			*err = xasprintf("the point %s of %s keeps its disks as VHD directories, which mirror cannot copy yet",
					 p->ts, p->vm_name ? p->vm_name : p->vm_uuid);
			return false;
		}
	for (size_t i = 0; i < p->nfiles; i++)
		if (!copy_file(m, p, &p->files[i], err))
			return false;
	/* last: a point without its .json does not exist */
	if (!repo_put(m->dst, p->json_path, p->json, strlen(p->json), err))
		return false;
	m->copied++;
	return true;
}

static bool same_job(const struct point *a, const struct point *b)
{
	return a->job_id && b->job_id ? strcmp(a->job_id, b->job_id) == 0 : a->job_id == b->job_id;
}

/* The points of one job and VM (src[0..n), oldest first) the target lacks. */
static void mirror_vm(struct mctx *m, const struct point *src, size_t n)
{
	const char *vm = src[0].vm_uuid, *name = src[0].vm_name ? src[0].vm_name : src[0].vm_uuid;
	struct point *have = NULL;
	size_t nhave = 0, from = 0, done = 0;
	char *err = NULL, newest[17] = "";

	if (!points_list(m->dst, vm, &have, &nhave, &err)) {
		warn_add(m, xasprintf("%s: cannot list its points on %s: %s", name, repo_name(m->dst), err));
		free(err);
		return;
	}
	/* this job's newest there (have is oldest first) */
	for (size_t i = 0; i < nhave; i++)
		if (same_job(&have[i], &src[0]))
			snprintf(newest, sizeof(newest), "%s", have[i].ts);
	points_free(have, nhave);
	while (from < n && strcmp(src[from].ts, newest) <= 0)
		from++;
	/* an empty target: from the oldest point every later delta builds on */
	if (!*newest)
		while (from < n && differencing(&src[from]))
			from++;
	if (from < n && *newest && differencing(&src[from]) && (from == 0 || strcmp(src[from - 1].ts, newest) != 0)) {
		warn_add(m, xasprintf("%s: the point %s is a delta over one %s no longer has: nothing copied", name,
				      src[from].ts, repo_name(m->dst)));
		return;
	}
	for (size_t i = from; i < n; i++) {
		if (!copy_point(m, &src[i], &err)) {
			warn_add(m, xasprintf("%s: the point %s was not copied to %s: %s", name, src[i].ts, repo_name(m->dst),
					      err));
			free(err);
			return;
		}
		done++;
	}
	/* the mirror's own retention for this job's points there */
	if (done && src[0].job_id) {
		struct job_cfg jc = *m->job;
		jc.id = src[0].job_id;
		if (!retention_apply(m->dst, &jc, vm, &err)) {
			warn_add(m, xasprintf("%s: retention on %s: %s", name, repo_name(m->dst), err ? err : "?"));
			free(err);
		}
	}
}

/* by VM, then job, then time */
static int by_vm_job(const void *a, const void *b)
{
	const struct point *x = a, *y = b;
	int c = strcmp(x->vm_uuid, y->vm_uuid);

	if (!c)
		c = strcmp(x->job_id ? x->job_id : "", y->job_id ? y->job_id : "");
	return c ? c : strcmp(x->ts, y->ts);
}

bool mode_mirror(const struct backup_cfg *bc, const struct job_cfg *job, uint64_t *bytes, size_t *copied, char **err)
{
	struct mctx m = {.job = job};
	struct point *pts = NULL;
	size_t n = 0, k = 0;
	bool ok = false;

	*err = NULL;
	*bytes = 0;
	*copied = 0;
	if (!(m.src = repo_open(backup_cfg_remote(bc, job->source_remote), err)))
		return false;
	if (!points_list(m.src, NULL, &pts, &n, err))
		goto out;
	/* keep only the wanted ones, grouped by VM */
	for (size_t i = 0; i < n; i++) {
		if (!wanted(job, &pts[i])) {
			point_free(&pts[i]);
			continue;
		}
		if (k != i)
			pts[k] = pts[i];
		k++;
	}
	n = k;
	qsort(pts, n, sizeof(*pts), by_vm_job);
	for (size_t r = 0; r < job->nremotes; r++) {
		if (!(m.dst = repo_open(backup_cfg_remote(bc, job->remotes[r]), err)))
			goto out;
		for (size_t i = 0, j; i < n; i = j) {
			for (j = i + 1; j < n && strcmp(pts[j].vm_uuid, pts[i].vm_uuid) == 0 && same_job(&pts[j], &pts[i]); j++)
				;
			mirror_vm(&m, &pts[i], j - i);
		}
		repo_close(m.dst);
		m.dst = NULL;
	}
	ok = !m.warn;
	if (m.warn) {
		*err = m.warn;
		m.warn = NULL;
	}
out:
	*bytes = m.bytes;
	*copied = m.copied;
	points_free(pts, n);
	if (m.dst)
		repo_close(m.dst);
	repo_close(m.src);
	free(m.warn);
	return ok;
}
