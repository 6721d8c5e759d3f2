/* Delta mode, as Xen Orchestra's incremental backup: a snapshot per run,
 * the previous run's snapshot kept as the base, each disk exported as a VHD
 * of only the blocks that changed since the base (a full VHD when there is
 * no usable base), streamed to every remote at once; the .json last. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bkutil.h"
#include "cbt.h"
#include "job.h"
#include "snap.h"
#include "run.h"
#include "util.h"
#include "vhd.h"


struct disk {
	char *vbd;          /* the snapshot's VBD */
	struct xv *vbd_rec;
	char *vdi;          /* the snapshot's VDI (ref) */
	struct xv *rec;     /* its record */
	char *uuid;         /* its uuid: the VHD's footer UUID */
	char *src_uuid;     /* the source VDI's uuid: names the folder */
	char *sr_uuid;
	char *base_vdi;     /* the base snapshot's VDI of the same source, or NULL */
	char *base_uuid;
	char *path;         /* vdis/<job>/<src uuid>/<ts>.vhd, relative to the VM folder */
	char *parent;       /* "<prev ts>.vhd" when a delta */
	uint32_t parent_time;
	uint64_t size;
	char sha[65];
	bool committed;
	/* how it goes (cbt.h): over NBD with CBT when src is set */
	struct nbd_src *src;
	uint8_t *changed;   /* the 64 KiB blocks changed since the base */
	uint64_t nchanged;
	char *way;          /* for the run log and the .json: "nbd+cbt", "vhd delta stream", ... */
};

struct dctx {
	struct run_vm *v;
	const char *job_id;
	char *vmdir;         /* xo-vm-backups/<vm uuid> */
	char *snap;          /* the new snapshot */
	char *base;          /* the previous run's snapshot, or NULL */
	char base_ts[17];
	int base_chain;      /* its deltaChainLength */
	struct xv *old;      /* other snapshots of this job (refs), destroyed after success */
	struct xv *snap_rec;
	struct disk *disks;
	size_t ndisks;
	uint64_t done, total;
	bool json_written;
	bool nbd;            /* the job may use NBD and the pool offers it: CBT is on */
};

static bool fail(struct run_vm *v, char *err)
{
	return bk_fail(v, err, "the backup failed for an unknown reason");
}

/* The marks a snapshot of this job carries; NULL when it is not one. */
static struct xv *job_marks(struct bx *b, const char *snap, const char *job_id, const char *vm_uuid)
{
	char *err = NULL;
	struct xv *oc = bk_call(b, "VM.get_other_config", &err, snap, (char *)NULL);
	const char *j, *vm;

	free(err);
	if (!oc)
		return NULL;
	j = bk_field(oc, "xo:backup:job");
	vm = bk_field(oc, "xo:backup:vm");
	if (!j || strcmp(j, job_id) != 0 || !vm || strcmp(vm, vm_uuid) != 0) {
		xv_free(oc);
		return NULL;
	}
	return oc;
}

/* Finds the previous run's snapshot (the newest exported one of this job)
 * and destroys those a failed run left (marked, never exported). */
static bool find_base(struct dctx *d)
{
	struct run_vm *v = d->v;
	char *err = NULL;
	struct xv *snaps = bk_call(v->bx, "VM.get_snapshots", &err, v->vm_ref, (char *)NULL);

	d->old = xv_array();
	if (!snaps)
		return bk_fail_why(v, xasprintf("cannot list the snapshots of %s", v->vm_name), err);
	for (size_t i = 0; i < xv_len(snaps); i++) {
		const char *s = xv_str(xv_at(snaps, i));
		struct xv *oc = s ? job_marks(v->bx, s, d->job_id, v->vm_uuid) : NULL;
		const char *exp, *dt, *cl;
		if (!oc)
			continue;
		exp = bk_field(oc, "xo:backup:exported");
		dt = bk_field(oc, "xo:backup:datetime");
		cl = bk_field(oc, "xo:backup:deltaChainLength");
		if (!exp || strcmp(exp, "true") != 0 || !dt || strlen(dt) != 16) {
			bk_destroy_vm_and_disks(v->bx, s); /* an interrupted run's */
		} else if (!d->base || strcmp(dt, d->base_ts) > 0) {
			if (d->base)
				xv_array_push(d->old, xv_string_take(d->base));
			d->base = xstrdup(s);
			snprintf(d->base_ts, sizeof(d->base_ts), "%s", dt);
			d->base_chain = cl ? atoi(cl) : 1;
		} else {
			xv_array_push(d->old, xv_string(s));
		}
		xv_free(oc);
	}
	xv_free(snaps);
	return true;
}

static bool set_other_config(struct bx *b, const char *cls, const char *ref, const char *const *kv, char **err)
{
	char m[64];
	struct xv *oc, *p, *r;

	snprintf(m, sizeof(m), "%s.get_other_config", cls);
	if (!(oc = bk_call(b, m, err, ref, (char *)NULL)))
		return false;
	for (size_t i = 0; kv[i]; i += 2)
		xv_struct_set(oc, kv[i], xv_string(kv[i + 1]));
	p = xv_array();
	xv_array_push(p, xv_string(ref));
	xv_array_push(p, oc);
	snprintf(m, sizeof(m), "%s.set_other_config", cls);
	r = bx_call(b, m, p, err, NULL);
	if (!r)
		return false;
	xv_free(r);
	return true;
}

static bool take_snapshot(struct dctx *d, int chain)
{
	struct run_vm *v = d->v;
	struct xv *ignore = snap_nobak_disks(v->bx, v->vm_ref), *p = xv_array();
	char *name = xasprintf("[xentui backup %s] %s", v->job->name, v->vm_name), *err = NULL, cl[16];

	xv_array_push(p, xv_string(v->vm_ref));
	xv_array_push(p, xv_string_take(name));
	if (xv_len(ignore))
		xv_array_push(p, ignore);
	else
		xv_free(ignore);
	run_step(v, "taking a snapshot");
	d->snap = bx_call_str(v->bx, "VM.snapshot", p, &err);
	if (!d->snap)
		return bk_fail_why(v, xasprintf("cannot snapshot %s", v->vm_name), err);
	snprintf(cl, sizeof(cl), "%d", chain);
	{
		const char *kv[] = {"xo:backup:job", d->job_id, "xo:backup:schedule", d->job_id, "xo:backup:vm", v->vm_uuid,
				    "xo:backup:datetime", v->ts, "xo:backup:deltaChainLength", cl, NULL};
		if (!set_other_config(v->bx, "VM", d->snap, kv, &err)) {
			/* unmarked, a later run could not tell it is ours: remove it now */
			bk_destroy_vm_and_disks(v->bx, d->snap);
			free(d->snap);
			d->snap = NULL;
			return bk_fail_why(v, xasprintf("cannot mark the snapshot of %s", v->vm_name), err);
		}
	}
	return true;
}

/* The base snapshot's VDI that is a snapshot of the same source VDI. */
static void find_base_vdi(struct dctx *d, const char *src_ref, char **ref, char **uuid)
{
	struct bx *b = d->v->bx;
	char *err = NULL;
	struct xv *vbds = bk_call(b, "VM.get_VBDs", &err, d->base, (char *)NULL);

	free(err);
	for (size_t i = 0; i < xv_len(vbds) && !*ref; i++) {
		struct xv *r = NULL, *vr = NULL;
		err = NULL;
		r = bk_call(b, "VBD.get_record", &err, xv_str(xv_at(vbds, i)), (char *)NULL);
		free(err);
		if (r && !bk_is_null(bk_field(r, "VDI"))) {
			err = NULL;
			vr = bk_call(b, "VDI.get_record", &err, bk_field(r, "VDI"), (char *)NULL);
			free(err);
			if (vr && bk_field(vr, "snapshot_of") && strcmp(bk_field(vr, "snapshot_of"), src_ref) == 0) {
				*ref = xstrdup(bk_field(r, "VDI"));
				*uuid = xstrdup(bk_field(vr, "uuid"));
			}
		}
		xv_free(r);
		xv_free(vr);
	}
	xv_free(vbds);
}

/* The previous point's VHD of this disk, on every remote, whole enough to
 * be a parent: its footer UUID is the base VDI's. */
static bool parent_usable(struct dctx *d, struct disk *k)
{
	struct run_vm *v = d->v;
	char *dir = xasprintf("%s/vdis/%s/%s", d->vmdir, d->job_id, k->src_uuid);
	char *pp = xasprintf("%s/%s.vhd", dir, d->base_ts), *jp = xasprintf("%s/%s.json", d->vmdir, d->base_ts);
	uint8_t want[16];
	bool ok = uuid_parse(k->base_uuid, want);

	for (size_t i = 0; ok && i < v->nrepos; i++) {
		bool e1 = false, e2 = false;
		char *err = NULL;
		ok = repo_stat(v->repos[i], pp, &e1, NULL, &err) && repo_stat(v->repos[i], jp, &e2, NULL, &err) && e1 && e2;
		free(err);
		if (ok && i == 0) {
			struct vhd *h = vhd_open(v->repos[i], pp, &err);
			free(err);
			ok = h && memcmp(vhd_info(h)->uuid, want, 16) == 0;
			if (ok)
				k->parent_time = vhd_info(h)->timestamp;
			if (h)
				vhd_close(h);
		}
	}
	if (ok)
		k->parent = xasprintf("%s.vhd", d->base_ts);
	free(dir);
	free(pp);
	free(jp);
	return ok;
}

static char *uuid_of(struct bx *b, const char *cls, const char *ref)
{
	char m[48], *err = NULL, *u;

	if (bk_is_null(ref))
		return xstrdup("");
	snprintf(m, sizeof(m), "%s.get_uuid", cls);
	u = bk_call_str(b, m, &err, ref, (char *)NULL);
	free(err);
	return u ? u : xstrdup("");
}

static void drop_base(struct disk *k)
{
	free(k->base_vdi);
	free(k->base_uuid);
	free(k->parent);
	k->base_vdi = k->base_uuid = k->parent = NULL;
}

static uint64_t disk_size(const struct disk *k)
{
	int64_t vs = 0;

	return xv_get_int64(xv_struct_get(k->rec, "virtual_size"), &vs) && vs > 0 ? (uint64_t)vs : 0;
}

/* The new snapshot's disk over NBD, or NULL with *why. */
static struct nbd_src *open_nbd(struct dctx *d, struct disk *k, char **why)
{
	struct nbd_src *src = nbd_src_open(d->v->bx, k->vdi, why);

	if (src && nbd_src_size(src) < disk_size(k)) {
		nbd_src_close(src);
		*why = xstrdup("the NBD export is smaller than the disk");
		return NULL;
	}
	return src;
}

/* Why the changed blocks cannot go over NBD (NULL: they can, k->src and
 * k->changed set). */
static char *try_cbt(struct dctx *d, struct disk *k, const struct xv *base, const char *base_err)
{
	struct xv *on = base ? xv_struct_get(base, "cbt_enabled") : NULL, *son = xv_struct_get(k->rec, "cbt_enabled");
	bool a = false, c = false;
	char *err = NULL;

	if (!d->nbd)
		return xstrdup(d->v->job->nbd ? "the pool offers no NBD (no network with purpose nbd)" : "the job has nbd = false");
	if (!base)
		return xasprintf("cannot read the base snapshot's disk: %s", base_err ? base_err : "no answer");
	if (!on || !xv_get_bool(on, &a) || !a || !son || !xv_get_bool(son, &c) || !c)
		return xstrdup("changed-block tracking is not on for both snapshots");
	if ((k->changed = cbt_changed_blocks(d->v->bx, k->base_vdi, k->vdi, disk_size(k), &k->nchanged, &err)) &&
	    (k->src = open_nbd(d, k, &err)))
		return NULL;
	free(k->changed);
	k->changed = NULL;
	return err ? err : xstrdup("no answer");
}

/* How a disk goes, as XO falls back: the changed blocks over NBD (CBT on
 * both snapshots), else xapi's VHD stream of a delta; a full (no base, or
 * the base's data destroyed) over NBD, else xapi's VHD stream. */
static void choose_way(struct dctx *d, struct disk *k)
{
	char *why = NULL, *err = NULL, *nwhy = NULL;
	bool metadata_only = false;

	if (k->base_vdi) {
		struct xv *base = bk_call(d->v->bx, "VDI.get_record", &err, k->base_vdi, (char *)NULL);
		metadata_only = base && bk_field(base, "type") && strcmp(bk_field(base, "type"), "cbt_metadata") == 0;
		why = try_cbt(d, k, base, err);
		free(err);
		xv_free(base);
		if (!why) {
			k->way = xstrdup("nbd+cbt");
			return;
		}
		if (!metadata_only) {
			k->way = xasprintf("vhd delta stream (no NBD+CBT: %s)", why);
			free(why);
			return;
		}
		/* xapi cannot export a delta over a snapshot whose data is gone */
		drop_base(k);
	}
	if (d->nbd && (k->src = open_nbd(d, k, &nwhy)))
		k->way = metadata_only ? xasprintf("nbd full stream (the base snapshot holds only CBT metadata; no NBD+CBT: %s)", why)
				       : xstrdup("nbd full stream");
	else if (metadata_only)
		k->way = xasprintf("vhd full stream (the base snapshot holds only CBT metadata; no NBD+CBT: %s)", why);
	else
		k->way = xasprintf("vhd full stream (no NBD: %s)",
				   nwhy ? nwhy : d->v->job->nbd ? "the pool offers no NBD (no network with purpose nbd)"
								: "the job has nbd = false");
	free(why);
	free(nwhy);
}

/* The snapshot's disks, with their records and what each is exported against. */
static bool collect_disks(struct dctx *d, bool want_delta)
{
	struct run_vm *v = d->v;
	struct xv *vbds = xv_struct_get(d->snap_rec, "VBDs");
	char *err = NULL;

	d->disks = xcalloc(xv_len(vbds) + 1, sizeof(*d->disks));
	for (size_t i = 0; i < xv_len(vbds); i++) {
		const char *vbd = xv_str(xv_at(vbds, i));
		struct xv *r = bk_call(v->bx, "VBD.get_record", &err, vbd, (char *)NULL);
		struct disk *k;
		int64_t vs = 0;
		if (!r)
			return bk_fail_why(v, xasprintf("cannot read a disk of the snapshot of %s", v->vm_name), err);
		if (!bk_field(r, "type") || strcmp(bk_field(r, "type"), "Disk") != 0 || bk_is_null(bk_field(r, "VDI"))) {
			xv_free(r);
			continue;
		}
		k = &d->disks[d->ndisks++];
		k->vbd = xstrdup(vbd);
		k->vbd_rec = r;
		k->vdi = xstrdup(bk_field(r, "VDI"));
		if (!(k->rec = bk_call(v->bx, "VDI.get_record", &err, k->vdi, (char *)NULL)))
			return bk_fail_why(v, xasprintf("cannot read a disk of the snapshot of %s", v->vm_name), err);
		k->uuid = xstrdup(bk_field(k->rec, "uuid") ? bk_field(k->rec, "uuid") : "");
		k->src_uuid = uuid_of(v->bx, "VDI", bk_field(k->rec, "snapshot_of"));
		if (!*k->src_uuid) {
			free(k->src_uuid);
			k->src_uuid = xstrdup(k->uuid);
		}
		k->sr_uuid = uuid_of(v->bx, "SR", bk_field(k->rec, "SR"));
		k->path = xasprintf("vdis/%s/%s/%s.vhd", d->job_id, k->src_uuid, v->ts);
		if (xv_get_int64(xv_struct_get(k->rec, "virtual_size"), &vs) && vs > 0)
			d->total += (uint64_t)vs;
		if (want_delta && !bk_is_null(bk_field(k->rec, "snapshot_of")))
			find_base_vdi(d, bk_field(k->rec, "snapshot_of"), &k->base_vdi, &k->base_uuid);
		if (k->base_vdi && !parent_usable(d, k)) {
			free(k->base_vdi);
			free(k->base_uuid);
			k->base_vdi = k->base_uuid = NULL;
		}
		choose_way(d, k);
	}
	return true;
}

/* ---- streaming one disk ----------------------------------------------------- */

struct sink {
	struct dctx *d;
	struct repo_wfile **w;
	struct bk_hash *md; /* hashed on its own thread */
	uint64_t bytes;
	struct vhd_patch *patch;
};

static bool to_repos(const void *buf, size_t n, void *ud, char **err)
{
	struct sink *s = ud;
	struct run_vm *v = s->d->v;

	for (size_t i = 0; i < v->nrepos; i++)
		if (!repo_write(s->w[i], buf, n, err))
			return false;
	bk_hash_update(s->md, buf, n);
	s->bytes += n;
	s->d->done += n;
	if (v->progress)
		v->progress(v, s->d->done, s->d->total);
	return true;
}

static bool from_xapi(const void *buf, size_t n, void *ud, char **err)
{
	struct sink *s = ud;

	/* the job's timeout or an interrupt: stop now, the failure path cleans up */
	if (run_cancelled()) {
		*err = xstrdup("the backup was stopped");
		return false;
	}
	return vhd_patch_write(s->patch, buf, n, err);
}

static bool export_disk(struct dctx *d, struct disk *k)
{
	struct run_vm *v = d->v;
	struct sink s = {.d = d};
	char *err = NULL, *task, *q, *full, *res;
	uint8_t id[16], pid[16];
	bool ok = true;

	if (!uuid_parse(k->uuid, id))
		return fail(v, xasprintf("the disk %s of %s has no usable uuid", k->vdi, v->vm_name));
	if (k->base_uuid && !uuid_parse(k->base_uuid, pid))
		return fail(v, xasprintf("the base of disk %s of %s has no usable uuid", k->uuid, v->vm_name));
	full = xasprintf("%s/%s", d->vmdir, k->path);
	s.w = xcalloc(v->nrepos, sizeof(*s.w));
	for (size_t i = 0; ok && i < v->nrepos; i++)
		ok = (s.w[i] = repo_create(v->repos[i], full, &err)) != NULL;
	if (!ok) {
		for (size_t i = 0; i < v->nrepos; i++)
			if (s.w[i])
				repo_abort(s.w[i]);
		free(s.w);
		free(full);
		return fail(v, err);
	}
	s.md = bk_hash_new();
	s.patch = vhd_patch_new(id, k->base_uuid ? pid : NULL, k->parent_time, k->parent, to_repos, &s);
	if (k->src) {
		/* over NBD (the changed blocks, or all), through the same patch and writers */
		ok = (k->changed ? cbt_vhd_stream(k->src, k->changed, disk_size(k), from_xapi, &s, &err)
				 : cbt_vhd_full_stream(k->src, disk_size(k), from_xapi, &s, &err)) &&
		     vhd_patch_finish(s.patch, &err);
	} else if (!(task = bx_task_create(v->bx, "xentui backup: export a disk", &err))) {
		ok = false;
	} else {
		q = xasprintf("/export_raw_vdi?vdi=%s&format=vhd%s%s&task_id=%s", k->uuid, k->base_uuid ? "&base=" : "",
			      k->base_uuid ? k->base_uuid : "", task);
		run_step(v, "waiting for the host to start the export");
		ok = bx_get(v->bx, q, from_xapi, &s, NULL, &err) && vhd_patch_finish(s.patch, &err);
		free(q);
		/* xapi sent 200 before it knew: only the task says the export was whole */
		{
			char *terr = NULL;
			run_step(v, "host finishing the export");
			res = bx_task_wait(v->bx, task, v->job->timeout_s > 0 ? v->job->timeout_s : 3600, &terr);
			if (!res && ok) {
				ok = false;
				err = terr;
			} else {
				free(terr);
			}
			free(res);
		}
		bx_task_destroy(v->bx, task);
		free(task);
	}
	vhd_patch_free(s.patch);
	if (ok)
		bk_hash_hex(s.md, k->sha);
	else
		bk_hash_free(s.md);
	k->size = s.bytes;
	if (ok)
		run_step(v, "saving to the remotes");
	for (size_t i = 0; i < v->nrepos; i++) {
		if (!ok) {
			repo_abort(s.w[i]);
			continue;
		}
		ok = repo_commit(s.w[i], &err);
		if (ok)
			k->committed = true;
	}
	free(s.w);
	free(full);
	if (!ok)
		return bk_fail_why(v, xasprintf("the export of disk %s of %s failed", k->uuid, v->vm_name), err);
	v->bytes += k->size;
	return true;
}

/* ---- the .json --------------------------------------------------------------- */

static void jset(struct json_object *o, const char *k, struct json_object *v)
{
	json_object_object_add(o, k, v);
}

static struct json_object *record_json(const struct xv *rec)
{
	struct json_object *j = bk_xv_to_json(rec);

	return j ? j : json_object_new_object();
}

static struct json_object *vif_json(struct bx *b, const char *vif)
{
	char *err = NULL;
	struct xv *r = bk_call(b, "VIF.get_record", &err, vif, (char *)NULL), *net = NULL;
	struct json_object *j;
	int64_t vlan = -1;

	free(err);
	if (!r)
		return NULL;
	j = record_json(r);
	err = NULL;
	if (!bk_is_null(bk_field(r, "network")))
		net = bk_call(b, "network.get_record", &err, bk_field(r, "network"), (char *)NULL);
	free(err);
	if (net) {
		struct xv *pifs = xv_struct_get(net, "PIFs");
		if (xv_len(pifs)) {
			struct xv *vl;
			err = NULL;
			vl = bk_call(b, "PIF.get_VLAN", &err, xv_str(xv_at(pifs, 0)), (char *)NULL);
			free(err);
			if (!xv_get_int64(vl, &vlan))
				vlan = -1;
			xv_free(vl);
		}
		jset(j, "$network$uuid", json_object_new_string(bk_field(net, "uuid") ? bk_field(net, "uuid") : ""));
		jset(j, "$network$name_label",
		     json_object_new_string(bk_field(net, "name_label") ? bk_field(net, "name_label") : ""));
		jset(j, "$network$VLAN", json_object_new_int64(vlan));
	}
	xv_free(net);
	xv_free(r);
	return j;
}

static char *build_json(struct dctx *d)
{
	struct run_vm *v = d->v;
	struct json_object *root = json_object_new_object(), *vm, *vdis = json_object_new_object(),
			   *vbds = json_object_new_object(), *vifs = json_object_new_object(),
			   *vhds = json_object_new_object(), *diff = json_object_new_object(),
			   *files = json_object_new_object(), *x = json_object_new_object();
	struct xv *vif_refs = xv_struct_get(d->snap_rec, "VIFs");
	uint64_t size = 0;
	char *out;

	jset(root, "version", json_object_new_string("2.0.0"));
	jset(root, "mode", json_object_new_string("delta"));
	jset(root, "jobId", json_object_new_string(d->job_id));
	jset(root, "scheduleId", json_object_new_string(d->job_id));
	jset(root, "timestamp", json_object_new_int64(v->now * 1000));
	/* the VM's own record, as XO keeps it (the snapshot's if it cannot be read) */
	{
		char *e = NULL;
		struct xv *rec = bk_call(v->bx, "VM.get_record", &e, v->vm_ref, (char *)NULL);
		free(e);
		vm = record_json(rec ? rec : d->snap_rec);
		xv_free(rec);
	}
	jset(vm, "name_label", json_object_new_string(v->vm_name));
	jset(vm, "uuid", json_object_new_string(v->vm_uuid));
	jset(root, "vm", vm);
	jset(root, "vmSnapshot", record_json(d->snap_rec));
	for (size_t i = 0; i < d->ndisks; i++) {
		struct disk *k = &d->disks[i];
		struct json_object *r = record_json(k->rec), *oc;
		char key[160];
		jset(r, "$snapshot_of$uuid", json_object_new_string(k->src_uuid));
		jset(r, "$SR$uuid", json_object_new_string(k->sr_uuid));
		if (!json_object_object_get_ex(r, "other_config", &oc) || !json_object_is_type(oc, json_type_object)) {
			oc = json_object_new_object();
			jset(r, "other_config", oc);
		}
		if (k->base_uuid)
			jset(oc, "xo:base_delta_vdi", json_object_new_string(k->base_uuid));
		jset(oc, "xo:backup:vm", json_object_new_string(v->vm_uuid));
		jset(vdis, k->vdi, r);
		jset(vbds, k->vbd, record_json(k->vbd_rec));
		jset(vhds, k->vdi, json_object_new_string(k->path));
		snprintf(key, sizeof(key), "%s.vhd", k->vdi);
		jset(diff, key, json_object_new_boolean(k->base_uuid != NULL));
		{
			struct json_object *f = json_object_new_object();
			jset(f, "size", json_object_new_int64((int64_t)k->size));
			jset(f, "sha256", json_object_new_string(k->sha));
			jset(files, k->path, f);
		}
		size += k->size;
	}
	for (size_t i = 0; i < xv_len(vif_refs); i++) {
		const char *ref = xv_str(xv_at(vif_refs, i));
		struct json_object *j = ref ? vif_json(v->bx, ref) : NULL;
		if (j)
			jset(vifs, ref, j);
	}
	jset(root, "vdis", vdis);
	jset(root, "vbds", vbds);
	jset(root, "vifs", vifs);
	jset(root, "vtpms", json_object_new_array());
	jset(root, "vhds", vhds);
	jset(root, "isVhdDifferencing", diff);
	jset(root, "size", json_object_new_int64((int64_t)size));
	jset(x, "files", files);
	{
		/* which way each disk went (cbt.h), as the run log says it */
		struct json_object *ways = json_object_new_object();
		for (size_t i = 0; i < d->ndisks; i++) {
			struct disk *k = &d->disks[i];
			struct json_object *w = json_object_new_object();
			jset(w, "way", json_object_new_string(k->way ? k->way : "vhd stream"));
			if (k->changed)
				jset(w, "changedBlocks", json_object_new_int64((int64_t)k->nchanged));
			if (k->src) {
				jset(w, "nbdBytes", json_object_new_int64((int64_t)nbd_src_bytes(k->src)));
			}
			jset(ways, k->path, w);
		}
		jset(x, "transfer", ways);
	}
	jset(x, "job", json_object_new_string(v->job->name));
	jset(root, "xentui", x);
	out = xstrdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return out;
}

static bool write_json(struct dctx *d)
{
	struct run_vm *v = d->v;
	char *text = build_json(d), *path = xasprintf("%s/%s.json", d->vmdir, v->ts), *err = NULL;
	bool ok = true;

	for (size_t i = 0; ok && i < v->nrepos; i++) {
		ok = repo_put(v->repos[i], path, text, strlen(text), &err);
		if (i == 0 && ok)
			d->json_written = true;
	}
	free(text);
	free(path);
	if (!ok)
		return fail(v, err);
	return true;
}

/* ---- the run ---------------------------------------------------------------- */

/* The note says which way each disk went. */
static void add_ways(struct dctx *d)
{
	struct run_vm *v = d->v;

	for (size_t i = 0; i < d->ndisks; i++) {
		struct disk *k = &d->disks[i];
		const char *dev = bk_field(k->vbd_rec, "userdevice");
		char *n;
		if (k->changed)
			n = xasprintf("%s; disk %s: nbd+cbt, %" PRIu64 " changed blocks of 64 KiB, %" PRIu64 " bytes read over NBD",
				      v->note, dev ? dev : "?", k->nchanged, nbd_src_bytes(k->src));
		else if (k->src)
			n = xasprintf("%s; disk %s: %s, %" PRIu64 " bytes read over NBD", v->note, dev ? dev : "?", k->way,
				      nbd_src_bytes(k->src));
		else
			n = xasprintf("%s; disk %s: %s", v->note, dev ? dev : "?", k->way ? k->way : "vhd stream");
		free(v->note);
		v->note = n;
	}
}

/* purge_snapshot_data: only the CBT log of the kept snapshot stays on the
 * SR (VDI.data_destroy); the next run reads the changes over NBD. */
static void purge_data(struct dctx *d)
{
	struct run_vm *v = d->v;

	for (size_t i = 0; i < d->ndisks; i++) {
		struct disk *k = &d->disks[i];
		char *err = NULL, *n;
		struct xv *r;
		bool on = false;
		if (!xv_get_bool(xv_struct_get(k->rec, "cbt_enabled"), &on) || !on)
			continue;
		if ((r = bk_call(v->bx, "VDI.data_destroy", &err, k->vdi, (char *)NULL))) {
			xv_free(r);
			continue;
		}
		n = xasprintf("%s; the snapshot's data of disk %s was kept: %s", v->note, k->uuid, err ? err : "no answer");
		free(v->note);
		v->note = n;
		free(err);
	}
}


/* Undoes what a failed run made: files, .json, the new snapshot. */
static void undo(struct dctx *d)
{
	struct run_vm *v = d->v;
	char *err = NULL;

	for (size_t i = 0; i < v->nrepos; i++) {
		if (d->json_written) {
			char *p = xasprintf("%s/%s.json", d->vmdir, v->ts);
			repo_unlink(v->repos[i], p, &err);
			free(err);
			err = NULL;
			free(p);
		}
		for (size_t j = 0; j < d->ndisks; j++)
			if (d->disks[j].committed) {
				char *p = xasprintf("%s/%s", d->vmdir, d->disks[j].path);
				repo_unlink(v->repos[i], p, &err);
				free(err);
				err = NULL;
				free(p);
			}
	}
	if (d->snap)
		bk_destroy_vm_and_disks(v->bx, d->snap);
}

static void dctx_free(struct dctx *d)
{
	for (size_t i = 0; i < d->ndisks; i++) {
		struct disk *k = &d->disks[i];
		free(k->vbd);
		xv_free(k->vbd_rec);
		free(k->vdi);
		xv_free(k->rec);
		free(k->uuid);
		free(k->src_uuid);
		free(k->sr_uuid);
		free(k->base_vdi);
		free(k->base_uuid);
		free(k->path);
		free(k->parent);
		nbd_src_close(k->src);
		free(k->changed);
		free(k->way);
	}
	free(d->disks);
	free(d->vmdir);
	free(d->snap);
	free(d->base);
	xv_free(d->old);
	xv_free(d->snap_rec);
}

bool mode_delta_vm(struct run_vm *v)
{
	struct dctx d = {.v = v, .job_id = v->job->id};
	bool want_delta, ok = false, any_delta = false;
	char *err = NULL;

	d.vmdir = xasprintf("xo-vm-backups/%s", v->vm_uuid);
	if (!find_base(&d))
		goto out;
	want_delta = d.base != NULL;
	if (want_delta && v->job->full_interval > 0 && d.base_chain >= v->job->full_interval)
		want_delta = false;
	/* CBT on the VM's disks before the snapshot, so that it carries the log */
	d.nbd = v->job->nbd && cbt_pool_offers_nbd(v->bx);
	if (d.nbd)
		cbt_enable_vm_disks(v->bx, v->vm_ref);
	if (!take_snapshot(&d, want_delta ? d.base_chain + 1 : 1))
		goto out;
	if (!(d.snap_rec = bk_call(v->bx, "VM.get_record", &err, d.snap, (char *)NULL))) {
		bk_fail_why(v, xasprintf("cannot read the snapshot of %s", v->vm_name), err);
		goto undo;
	}
	if (!collect_disks(&d, want_delta))
		goto undo;
	for (size_t i = 0; i < d.ndisks; i++)
		any_delta |= d.disks[i].base_uuid != NULL;
	if (any_delta)
		d.total = 0; /* a delta's size is not known before it is read */
	if (want_delta && !any_delta && d.ndisks) {
		/* the chain is broken: record it so the next run counts from here */
		char cl[] = "1";
		const char *kv[] = {"xo:backup:deltaChainLength", cl, NULL};
		err = NULL;
		set_other_config(v->bx, "VM", d.snap, kv, &err);
		free(err);
	}
	for (size_t i = 0; i < d.ndisks; i++)
		if (!export_disk(&d, &d.disks[i]))
			goto undo;
	if (run_cancelled()) {
		fail(v, xstrdup("the backup was stopped"));
		goto undo;
	}
	if (!write_json(&d))
		goto undo;
	free(v->note);
	v->note = xstrdup(any_delta		   ? "delta"
			  : !d.base		   ? "full (no base)"
			  : !want_delta		   ? "full (full_interval)"
						   : "full (base gone)");
	add_ways(&d);
	if (v->job->purge_snapshot_data && d.nbd)
		purge_data(&d); /* without NBD the next run could only make a full */
	{
		const char *kv[] = {"xo:backup:exported", "true", NULL};
		err = NULL;
		/* the point is complete either way; unmarked, the next run is a full */
		set_other_config(v->bx, "VM", d.snap, kv, &err);
		free(err);
	}
	/* keep only the new base: the old one and any other of this job's */
	if (d.base)
		xv_array_push(d.old, xv_string(d.base));
	for (size_t i = 0; i < xv_len(d.old); i++) {
		const char *s = xv_str(xv_at(d.old, i));
		struct xv *oc = job_marks(v->bx, s, d.job_id, v->vm_uuid);
		if (oc)
			bk_destroy_vm_and_disks(v->bx, s);
		xv_free(oc);
	}
	ok = true;
	goto out;
undo:
	undo(&d);
out:
	dctx_free(&d);
	return ok;
}
