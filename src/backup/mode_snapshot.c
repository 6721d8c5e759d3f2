/* Rolling snapshots: one marked snapshot per run, `retention` kept per VM. */
#include "snap.h"

#include <stdlib.h>
#include <string.h>

#include "bkutil.h"
#include "util.h"

struct xv *snap_nobak_disks(struct bx *b, const char *vm)
{
	char *err = NULL;
	struct xv *vbds = bk_call(b, "VM.get_VBDs", &err, vm, (char *)NULL), *out = xv_array();

	free(err);
	for (size_t i = 0; i < xv_len(vbds); i++) {
		struct xv *rec;
		const char *vdi;
		err = NULL;
		rec = bk_call(b, "VBD.get_record", &err, xv_str(xv_at(vbds, i)), (char *)NULL);
		free(err);
		vdi = bk_field(rec, "VDI");
		if (rec && !bk_is_null(vdi) && bk_field(rec, "type") && strcmp(bk_field(rec, "type"), "Disk") == 0) {
			char *name;
			err = NULL;
			name = bk_call_str(b, "VDI.get_name_label", &err, vdi, (char *)NULL);
			free(err);
			if (name && strstr(name, "[NOBAK]"))
				xv_array_push(out, xv_string(vdi));
			free(name);
		}
		xv_free(rec);
	}
	xv_free(vbds);
	return out;
}

/* Adds the job's marks to the snapshot's other_config, one key at a time. */
static bool mark(struct bx *b, const char *snap, const struct run_vm *v, char **err)
{
	const char *kv[] = {"xo:backup:job", v->job->id, "xo:backup:schedule", v->job->id, "xo:backup:vm", v->vm_uuid,
			    "xo:backup:datetime", v->ts, NULL};

	for (size_t i = 0; kv[i]; i += 2) {
		struct xv *r;
		bk_call_quiet(b, "VM.remove_from_other_config", snap, kv[i], (char *)NULL);
		if (!(r = bk_call(b, "VM.add_to_other_config", err, snap, kv[i], kv[i + 1], (char *)NULL)))
			return false;
		xv_free(r);
	}
	return true;
}

char *snap_take(struct run_vm *v, char **err)
{
	struct xv *ignore = snap_nobak_disks(v->bx, v->vm_ref), *p = xv_array();
	char *snap, *why = NULL;
	int timeout = v->job->timeout_s > 0 ? v->job->timeout_s : 3600;

	*err = NULL;
	xv_array_push(p, xv_string(v->vm_ref));
	xv_array_push(p, xv_string_take(xasprintf("%s (%s) %s", v->vm_name, v->job->name, v->ts)));
	/* only when needed: xapi before 21.4 knows no ignore_vdis */
	if (xv_len(ignore))
		xv_array_push(p, ignore);
	else
		xv_free(ignore);
	run_step(v, "taking a snapshot");
	snap = bx_call_async(v->bx, "VM.snapshot", p, timeout, &why);
	if (!snap || bk_is_null(snap)) {
		*err = xasprintf("cannot snapshot %s: %s", v->vm_name, why ? why : "no snapshot was made");
		free(why);
		free(snap);
		return NULL;
	}
	if (!mark(v->bx, snap, v, &why)) {
		/* unmarked, no later run could tell it is ours: remove it now */
		bk_destroy_vm_and_disks(v->bx, snap);
		*err = xasprintf("cannot mark the snapshot of %s: %s", v->vm_name, why ? why : "?");
		free(why);
		free(snap);
		return NULL;
	}
	return snap;
}

struct mine {
	char *ref;
	char *when; /* xo:backup:datetime, then snapshot_time: sorts oldest first */
};

static int by_when(const void *a, const void *b)
{
	return strcmp(((const struct mine *)a)->when, ((const struct mine *)b)->when);
}

bool mode_snapshot_vm(struct run_vm *v)
{
	char *err = NULL, *snap = snap_take(v, &err);
	struct xv *snaps;
	struct mine *m;
	size_t n = 0;

	if (!snap) {
		v->error = err;
		return false;
	}
	free(snap);
	if (v->progress)
		v->progress(v, 1, 1);
	/* retention: only snapshots bearing this job's mark for this VM */
	snaps = bk_call(v->bx, "VM.get_snapshots", &err, v->vm_ref, (char *)NULL);
	if (!snaps) {
		v->note = xasprintf("snapshot taken; older ones not checked: %s", err);
		free(err);
		return true;
	}
	m = xcalloc(xv_len(snaps) + 1, sizeof(*m));
	for (size_t i = 0; i < xv_len(snaps); i++) {
		const char *ref = xv_str(xv_at(snaps, i));
		struct xv *oc = ref ? bk_call(v->bx, "VM.get_other_config", &err, ref, (char *)NULL) : NULL;
		const char *job = bk_field(oc, "xo:backup:job"), *vm = bk_field(oc, "xo:backup:vm");
		if (!oc) {
			free(err);
			err = NULL;
			continue;
		}
		if (job && strcmp(job, v->job->id) == 0 && (!vm || strcmp(vm, v->vm_uuid) == 0)) {
			const char *dt = bk_field(oc, "xo:backup:datetime");
			m[n].ref = xstrdup(ref);
			m[n].when = xstrdup(dt ? dt : "");
			n++;
		}
		xv_free(oc);
	}
	xv_free(snaps);
	qsort(m, n, sizeof(*m), by_when);
	for (size_t i = 0; i + (size_t)v->job->retention < n; i++)
		bk_destroy_vm_and_disks(v->bx, m[i].ref);
	v->note = xasprintf("snapshot; %zu kept", n < (size_t)v->job->retention ? n : (size_t)v->job->retention);
	for (size_t i = 0; i < n; i++) {
		free(m[i].ref);
		free(m[i].when);
	}
	free(m);
	return true;
}
