/* Full backups: a snapshot's XVA streamed to every remote at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bkutil.h"
#include "job.h"
#include "snap.h"
#include "util.h"
#include "xva.h"

struct full {
	struct run_vm *v;
	struct repo_wfile **w;  /* one writer per remote */
	struct xva_check *check;
	struct bk_hash *sha; /* hashed on its own thread */
	uint64_t size;
	uint64_t estimate; /* the disks' used bytes: what the export will about be */
};

/* Every byte from the host goes to the checker, the hash and each remote. */
static bool to_remotes(const void *buf, size_t n, void *ud, char **err)
{
	struct full *f = ud;

	if (run_cancelled()) {
		*err = xstrdup("the backup was stopped");
		return false;
	}
	if (!xva_check_write(f->check, buf, n, err))
		return false;
	bk_hash_update(f->sha, buf, n);
	for (size_t i = 0; i < f->v->nrepos; i++)
		if (!repo_write(f->w[i], buf, n, err))
			return false;
	f->size += n;
	return true;
}

static void on_progress(uint64_t done, uint64_t total, void *ud)
{
	struct full *f = ud;

	if (f->v->progress)
		f->v->progress(f->v, done, total ? total : f->estimate > done ? f->estimate : 0);
}

static const char *compression_arg(const char *c)
{
	return strcmp(c, "zstd") == 0 ? "zstd" : strcmp(c, "gzip") == 0 ? "gzip" : "false";
}

static char *point_json(struct run_vm *v, const struct xv *vm, const struct xv *snap, uint64_t size,
			const char *sha)
{
	struct json_object *o = json_object_new_object(), *ours = json_object_new_object();
	struct json_object *files = json_object_new_object(), *file = json_object_new_object();
	char *xva = xasprintf("./%s.xva", v->ts), *text;

	json_object_object_add(o, "version", json_object_new_string("2.0.0"));
	json_object_object_add(o, "mode", json_object_new_string("full"));
	json_object_object_add(o, "jobId", json_object_new_string(v->job->id));
	json_object_object_add(o, "scheduleId", json_object_new_string(v->job->id));
	json_object_object_add(o, "timestamp", json_object_new_int64(v->now * 1000));
	json_object_object_add(o, "vm", bk_xv_to_json(vm));
	json_object_object_add(o, "vmSnapshot", bk_xv_to_json(snap));
	json_object_object_add(o, "xva", json_object_new_string(xva));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)size));
	json_object_object_add(file, "size", json_object_new_int64((int64_t)size));
	json_object_object_add(file, "sha256", json_object_new_string(sha));
	json_object_object_add(files, xva, file);
	json_object_object_add(ours, "files", files);
	json_object_object_add(ours, "job", json_object_new_string(v->job->name));
	json_object_object_add(o, "xentui", ours);
	text = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	free(xva);
	return text;
}

static bool fail(struct run_vm *v, char *err)
{
	return bk_fail(v, err, NULL);
}

/* Streams the export into the writers; the task's word decides. */
static bool stream(struct full *f, const char *snap_uuid, char **err)
{
	struct run_vm *v = f->v;
	char *task = bx_task_create(v->bx, "xentui backup export", err), *q, *res;
	uint64_t got = 0;
	bool ok;

	if (!task)
		return false;
	q = xasprintf("/export?uuid=%s&use_compression=%s&task_id=%s", snap_uuid, compression_arg(v->job->compression),
		      task);
	bx_on_progress(v->bx, on_progress, f);
	run_step(v, "waiting for the host to start the export");
	ok = bx_get(v->bx, q, to_remotes, f, &got, err);
	bx_on_progress(v->bx, NULL, NULL);
	free(q);
	if (ok && !xva_check_finish(f->check, err))
		ok = false;
	/* xapi sends 200 before it knows: only the task says the export was whole */
	{
		char *why = NULL;
		run_step(v, "host finishing the export");
		res = bx_task_wait(v->bx, task, 600, &why);
		if (ok && !res) {
			*err = xasprintf("the export failed on the host: %s", why ? why : "?");
			ok = false;
		}
		free(why);
	}
	free(res);
	bx_task_destroy(v->bx, task);
	free(task);
	return ok;
}

/* A full run keeps no snapshot: any of this job's on the VM was left by a
 * run that was killed, and goes before the new one is taken. */
static void remove_leftovers(struct run_vm *v)
{
	char *err = NULL;
	struct xv *snaps = bk_call(v->bx, "VM.get_snapshots", &err, v->vm_ref, (char *)NULL);

	free(err);
	for (size_t i = 0; i < xv_len(snaps); i++) {
		const char *ref = xv_str(xv_at(snaps, i));
		struct xv *oc;
		err = NULL;
		oc = ref ? bk_call(v->bx, "VM.get_other_config", &err, ref, (char *)NULL) : NULL;
		free(err);
		if (bk_field(oc, "xo:backup:job") && strcmp(bk_field(oc, "xo:backup:job"), v->job->id) == 0)
			bk_destroy_vm_and_disks(v->bx, ref);
		xv_free(oc);
	}
	xv_free(snaps);
}

bool mode_full_vm(struct run_vm *v)
{
	struct full f;
	char *err = NULL, *snap = NULL, *json = NULL, sha[65] = "";
	struct xv *vm_rec = NULL, *snap_rec = NULL;
	char *xva_path = xasprintf("xo-vm-backups/%s/%s.xva", v->vm_uuid, v->ts);
	char *json_path = xasprintf("xo-vm-backups/%s/%s.json", v->vm_uuid, v->ts);
	size_t committed = 0;
	bool ok = false;

	memset(&f, 0, sizeof(f));
	f.v = v;
	if (!(vm_rec = bk_call(v->bx, "VM.get_record", &err, v->vm_ref, (char *)NULL))) {
		fail(v, xasprintf("cannot read the VM %s: %s", v->vm_name, err));
		goto out;
	}
	remove_leftovers(v);
	if (!(snap = snap_take(v, &err))) {
		fail(v, err);
		err = NULL;
		goto out;
	}
	if (!(snap_rec = bk_call(v->bx, "VM.get_record", &err, snap, (char *)NULL))) {
		fail(v, xasprintf("cannot read the snapshot of %s: %s", v->vm_name, err));
		goto destroy;
	}
	f.w = xcalloc(v->nrepos + 1, sizeof(*f.w));
	for (size_t i = 0; i < v->nrepos; i++)
		if (!(f.w[i] = repo_create(v->repos[i], xva_path, &err))) {
			fail(v, err);
			err = NULL;
			goto abort;
		}
	f.estimate = bk_disks_used(v->bx, xv_struct_get(snap_rec, "VBDs"), false);
	f.check = xva_check_new();
	f.sha = bk_hash_new();
	if (!stream(&f, bk_field(snap_rec, "uuid"), &err)) {
		fail(v, xstrdup(err ? err : "the export failed"));
		goto abort;
	}
	bk_hash_hex(f.sha, sha);
	f.sha = NULL;
	run_step(v, "saving to the remotes");
	for (; committed < v->nrepos; committed++) {
		bool c = repo_commit(f.w[committed], &err);
		f.w[committed] = NULL; /* freed whatever happened */
		if (!c) {
			fail(v, err);
			err = NULL;
			committed++;
			goto abort;
		}
	}
	/* the .json last: without it the point does not exist */
	json = point_json(v, vm_rec, snap_rec, f.size, sha);
	for (size_t i = 0; i < v->nrepos; i++)
		if (!repo_put(v->repos[i], json_path, json, strlen(json), &err)) {
			fail(v, err);
			err = NULL;
			for (size_t k = 0; k < i; k++) {
				char *e2 = NULL;
				repo_unlink(v->repos[k], json_path, &e2);
				free(e2);
			}
			goto abort;
		}
	v->bytes = f.size;
	v->note = xstrdup("full");
	ok = true;
	goto destroy;
abort:
	for (size_t i = 0; i < v->nrepos && f.w; i++)
		if (f.w[i])
			repo_abort(f.w[i]);
	/* an .xva without its .json is no point: take it away too */
	for (size_t i = 0; i < committed; i++) {
		char *e2 = NULL;
		repo_unlink(v->repos[i], xva_path, &e2);
		free(e2);
	}
destroy:
	/* the snapshot goes whatever happened: a failed run leaves none behind */
	run_step(v, "removing the snapshot");
	bk_destroy_vm_and_disks(v->bx, snap);
	free(snap);
out:
	bk_hash_free(f.sha);
	xva_check_free(f.check);
	free(f.w);
	xv_free(vm_rec);
	xv_free(snap_rec);
	free(json);
	free(err);
	free(xva_path);
	free(json_path);
	return ok;
}
