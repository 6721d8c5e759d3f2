/* Replication as Xen Orchestra does it: disaster recovery (dr) makes a new
 * halted copy of the VM on the target SR each run; continuous replication
 * (cr) makes the same copy from the last replica's disks (VDI.clone) and
 * the blocks that changed since the snapshot the last run kept. Replicas
 * carry XO's name, tags, other_config marks and blocked start; `retention`
 * keeps the newest N. A replica still being written is marked with XO's
 * epoch datetime so a later run removes it if this one is cut short. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bkutil.h"
#include "job.h"
#include "repl.h"
#include "run.h"
#include "snap.h"
#include "util.h"
#include "vhd.h"
#include "vmrec.h"

#define BLOCKED_WHY "Start operation for this vm is blocked, clone it if you want to use it."
#define IMPORTING VMREC_IMPORTING
#define EPOCH_DT "19700101T000000Z" /* XO: a replica whose transfer is not finished */

struct rdisk {
	char *vdi;          /* the new snapshot's VDI */
	struct xv *rec;     /* its record */
	struct xv *vbd_rec; /* the snapshot's VBD to it */
	char *uuid;
	char *base_uuid;    /* cr: the base snapshot's VDI of the same disk */
	char *replica_base; /* cr: the last replica's VDI that holds base_uuid's content */
	char *made;         /* the replica's VDI */
	char *made_uuid;
};

struct replica {
	char *ref;
	char *when; /* xo:backup:datetime */
};

struct rctx {
	struct run_vm *v;
	struct bx *t; /* the target pool */
	bool cr;
	char *sr, *sr_uuid, *sr_name;
	char *snap;
	struct xv *snap_rec;
	char *base; /* cr: the previous run's snapshot */
	char base_ts[17];
	struct xv *old_snaps;
	struct replica *reps; /* whole replicas of this job and VM on the SR, oldest first */
	size_t nreps;
	struct rdisk *d;
	size_t nd;
	char *vm; /* the replica being written */
	uint64_t done, total;
	uint64_t disk_done; /* of the disk being copied */
	size_t ndelta;
};

static bool fail(struct run_vm *v, char *err)
{
	return bk_fail(v, err, "the replication failed for an unknown reason");
}

static const char *oc_get(const struct xv *rec, const char *key)
{
	return bk_field(xv_struct_get(rec, "other_config"), key);
}

/* The target pool as the configuration names it. */
static const char *pool(const struct rctx *c)
{
	return c->v->job->target_server ? c->v->job->target_server : c->v->job->server;
}

static bool same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* ---- the target SR and the replicas already there --------------------------------- */

static bool find_sr(struct rctx *c)
{
	struct run_vm *v = c->v;
	const char *want = v->job->target_sr;
	char *err = NULL;

	if (!(c->sr = bk_ref_by_uuid(c->t, "SR", want))) {
		struct xv *l = bk_call(c->t, "SR.get_by_name_label", &err, want, (char *)NULL);
		if (!l)
			return bk_fail_why(v, xasprintf("cannot look for the SR '%s' on pool '%s'", want, pool(c)), err);
		if (xv_len(l) == 1)
			c->sr = xstrdup(xv_str(xv_at(l, 0)));
		else if (xv_len(l) > 1)
			fail(v, xasprintf("%zu SRs are named '%s' on pool '%s': give target_sr as the SR's uuid",
					  xv_len(l), want, pool(c)));
		else
			fail(v, xasprintf("there is no SR named '%s' on pool '%s'", want, pool(c)));
		xv_free(l);
		if (!c->sr)
			return false;
	}
	if (!(c->sr_uuid = bk_call_str(c->t, "SR.get_uuid", &err, c->sr, (char *)NULL)))
		return bk_fail_why(v, xasprintf("cannot read the SR '%s' of pool '%s'", want, pool(c)), err);
	if (!(c->sr_name = bk_call_str(c->t, "SR.get_name_label", &err, c->sr, (char *)NULL)))
		c->sr_name = xstrdup(want);
	free(err);
	return true;
}

static int by_when(const void *a, const void *b)
{
	return strcmp(((const struct replica *)a)->when, ((const struct replica *)b)->when);
}

/* This job's replicas of the VM on the target: cut-short ones (epoch
 * datetime, or never given their SR) destroyed, whole ones on our SR kept
 * in c->reps, oldest first. */
static bool list_replicas(struct rctx *c)
{
	struct run_vm *v = c->v;
	char *err = NULL;
	struct xv *all = bk_call(c->t, "VM.get_all_records", &err, (char *)NULL);

	if (!all)
		return bk_fail_why(v, xasprintf("cannot list the VMs of pool '%s'", pool(c)), err);
	c->reps = xcalloc(xv_len(all) + 1, sizeof(*c->reps));
	for (size_t i = 0; i < xv_len(all); i++) {
		const struct xv *r = xv_value_at(all, i);
		const char *dt = oc_get(r, "xo:backup:datetime"), *sr = oc_get(r, "xo:backup:sr");
		bool tmpl = false, snap = false;
		xv_get_bool(xv_struct_get(r, "is_a_template"), &tmpl);
		xv_get_bool(xv_struct_get(r, "is_a_snapshot"), &snap);
		if (tmpl || snap || !same(oc_get(r, "xo:backup:job"), v->job->id) ||
		    !same(oc_get(r, "xo:backup:vm"), v->vm_uuid) || !xv_struct_get(xv_struct_get(r, "blocked_operations"), "start"))
			continue;
		if (!dt || !sr || strcmp(dt, EPOCH_DT) == 0)
			bk_destroy_vm_and_disks(c->t, xv_key_at(all, i)); /* an interrupted run's */
		else if (strcmp(sr, c->sr_uuid) == 0) {
			c->reps[c->nreps].ref = xstrdup(xv_key_at(all, i));
			c->reps[c->nreps++].when = xstrdup(dt);
		}
	}
	xv_free(all);
	qsort(c->reps, c->nreps, sizeof(*c->reps), by_when);
	return true;
}

/* ---- the source's snapshots (cr keeps the last one as the next base) -------------- */

static bool find_base(struct rctx *c)
{
	struct run_vm *v = c->v;
	char *err = NULL;
	struct xv *snaps = bk_call(v->bx, "VM.get_snapshots", &err, v->vm_ref, (char *)NULL);

	c->old_snaps = xv_array();
	if (!snaps)
		return bk_fail_why(v, xasprintf("cannot list the snapshots of %s", v->vm_name), err);
	for (size_t i = 0; i < xv_len(snaps); i++) {
		const char *s = xv_str(xv_at(snaps, i));
		struct xv *oc;
		const char *dt;
		err = NULL;
		oc = s ? bk_call(v->bx, "VM.get_other_config", &err, s, (char *)NULL) : NULL;
		free(err);
		if (!oc || !same(bk_field(oc, "xo:backup:job"), v->job->id) || !same(bk_field(oc, "xo:backup:vm"), v->vm_uuid)) {
			xv_free(oc);
			continue;
		}
		dt = bk_field(oc, "xo:backup:datetime");
		if (!same(bk_field(oc, "xo:backup:exported"), "true") || !dt || strlen(dt) != 16) {
			bk_destroy_vm_and_disks(v->bx, s); /* an interrupted run's */
		} else if (c->cr && (!c->base || strcmp(dt, c->base_ts) > 0)) {
			if (c->base)
				xv_array_push(c->old_snaps, xv_string_take(c->base));
			c->base = xstrdup(s);
			snprintf(c->base_ts, sizeof(c->base_ts), "%s", dt);
		} else {
			xv_array_push(c->old_snaps, xv_string(s));
		}
		xv_free(oc);
	}
	xv_free(snaps);
	return true;
}

/* The Disk VDIs of vm as {VDI ref: VDI record}. */
static struct xv *disks_of(struct bx *b, const char *vm)
{
	char *err = NULL;
	struct xv *vbds = bk_call(b, "VM.get_VBDs", &err, vm, (char *)NULL), *out = xv_struct();

	free(err);
	for (size_t i = 0; i < xv_len(vbds); i++) {
		struct xv *r, *vr = NULL;
		err = NULL;
		r = bk_call(b, "VBD.get_record", &err, xv_str(xv_at(vbds, i)), (char *)NULL);
		free(err);
		if (r && same(bk_field(r, "type"), "Disk") && !bk_is_null(bk_field(r, "VDI"))) {
			err = NULL;
			vr = bk_call(b, "VDI.get_record", &err, bk_field(r, "VDI"), (char *)NULL);
			free(err);
			if (vr)
				xv_struct_set(out, bk_field(r, "VDI"), vr);
		}
		xv_free(r);
	}
	xv_free(vbds);
	return out;
}

static bool same_size(const struct xv *a, const struct xv *b)
{
	int64_t x = -1, y = -2;

	xv_get_int64(xv_struct_get(a, "virtual_size"), &x);
	xv_get_int64(xv_struct_get(b, "virtual_size"), &y);
	return x == y;
}

/* cr: for each disk, the base snapshot's VDI of the same source disk and
 * the newest replica's VDI made from it; a disk without both goes full. */
static void find_delta_bases(struct rctx *c)
{
	struct xv *base, *rep;

	if (!c->cr || !c->base || !c->nreps)
		return;
	base = disks_of(c->v->bx, c->base);
	rep = disks_of(c->t, c->reps[c->nreps - 1].ref);
	for (size_t k = 0; k < c->nd; k++) {
		struct rdisk *d = &c->d[k];
		const char *src = bk_field(d->rec, "snapshot_of");
		for (size_t i = 0; !d->base_uuid && !bk_is_null(src) && i < xv_len(base); i++)
			if (same(bk_field(xv_value_at(base, i), "snapshot_of"), src))
				d->base_uuid = xstrdup(bk_field(xv_value_at(base, i), "uuid"));
		for (size_t i = 0; d->base_uuid && !d->replica_base && i < xv_len(rep); i++) {
			const struct xv *r = xv_value_at(rep, i);
			/* a disk resized since goes full: a clone keeps the old size */
			if (same(oc_get(r, "xo:copy_of"), d->base_uuid) && same(bk_field(r, "SR"), c->sr) &&
			    same_size(r, d->rec))
				d->replica_base = xstrdup(xv_key_at(rep, i));
		}
		if (!d->replica_base) {
			free(d->base_uuid);
			d->base_uuid = NULL;
		}
	}
	xv_free(base);
	xv_free(rep);
}

static bool collect_disks(struct rctx *c)
{
	struct run_vm *v = c->v;
	const struct xv *vbds = xv_struct_get(c->snap_rec, "VBDs");
	char *err = NULL;

	c->d = xcalloc(xv_len(vbds) + 1, sizeof(*c->d));
	for (size_t i = 0; i < xv_len(vbds); i++) {
		struct xv *r = bk_call(v->bx, "VBD.get_record", &err, xv_str(xv_at(vbds, i)), (char *)NULL);
		struct rdisk *d;
		int64_t size = 0;
		if (!r)
			return bk_fail_why(v, xasprintf("cannot read a disk of the snapshot of %s", v->vm_name), err);
		if (!same(bk_field(r, "type"), "Disk") || bk_is_null(bk_field(r, "VDI"))) {
			xv_free(r);
			continue;
		}
		d = &c->d[c->nd++];
		d->vbd_rec = r;
		d->vdi = xstrdup(bk_field(r, "VDI"));
		if (!(d->rec = bk_call(v->bx, "VDI.get_record", &err, d->vdi, (char *)NULL)))
			return bk_fail_why(v, xasprintf("cannot read a disk of the snapshot of %s", v->vm_name), err);
		d->uuid = xstrdup(bk_field(d->rec, "uuid") ? bk_field(d->rec, "uuid") : "");
		if (xv_get_int64(xv_struct_get(d->rec, "virtual_size"), &size) && size > 0)
			c->total += (uint64_t)size;
	}
	find_delta_bases(c);
	return true;
}

/* ---- the replica ------------------------------------------------------------------ */

/* other_config without a backup's marks, plus this replica's (datetime
 * still the epoch: the transfer is not finished). */
static struct xv *marked_oc(const struct rctx *c, const struct xv *rec, const char *copy_of)
{
	struct xv *out = vmrec_clean_oc(rec);

	xv_struct_set(out, "xo:copy_of", xv_string(copy_of));
	xv_struct_set(out, "xo:backup:job", xv_string(c->v->job->id));
	xv_struct_set(out, "xo:backup:schedule", xv_string(c->v->job->id));
	xv_struct_set(out, "xo:backup:vm", xv_string(c->v->vm_uuid));
	xv_struct_set(out, "xo:backup:datetime", xv_string(EPOCH_DT));
	return out;
}

static char *replica_name(const struct rctx *c)
{
	return xasprintf("%s - %s - (%s)", c->v->vm_name, c->v->job->name, c->v->ts);
}

static bool create_vm(struct rctx *c)
{
	struct run_vm *v = c->v;
	char *err = NULL, *name = replica_name(c), *label = xasprintf("[" IMPORTING "] %s", name);

	c->vm = vmrec_create_vm(c->t, c->snap_rec, label, marked_oc(c, c->snap_rec, bk_field(c->snap_rec, "uuid")), &err);
	free(label);
	free(name);
	if (!c->vm)
		return bk_fail_why(v, xasprintf("cannot create the replica of %s on pool '%s'", v->vm_name, pool(c)), err);
	return true;
}

static bool set_map(struct bx *b, const char *method, const char *ref, struct xv *map, char **err)
{
	struct xv *p = xv_array(), *r;

	xv_array_push(p, xv_string(ref));
	xv_array_push(p, map);
	if (!(r = bx_call(b, method, p, err, NULL)))
		return false;
	xv_free(r);
	return true;
}

static bool set_oc_key(struct bx *b, const char *cls, const char *ref, const char *k, const char *val, char **err)
{
	char m[64];
	struct xv *r;

	snprintf(m, sizeof(m), "%s.remove_from_other_config", cls);
	bk_call_quiet(b, m, ref, k, (char *)NULL);
	snprintf(m, sizeof(m), "%s.add_to_other_config", cls);
	if (!(r = bk_call(b, m, err, ref, k, val, (char *)NULL)))
		return false;
	xv_free(r);
	return true;
}

static bool mark_clone(struct rctx *c, struct rdisk *d, char **err)
{
	const char *kv[] = {"xo:copy_of", d->uuid, "xo:backup:job", c->v->job->id, "xo:backup:schedule", c->v->job->id,
			    "xo:backup:vm", c->v->vm_uuid, "xo:backup:datetime", EPOCH_DT, NULL};

	/* the last replica's sr mark goes until this one is whole */
	bk_call_quiet(c->t, "VDI.remove_from_other_config", d->made, "xo:backup:sr", (char *)NULL);
	for (size_t i = 0; kv[i]; i += 2)
		if (!set_oc_key(c->t, "VDI", d->made, kv[i], kv[i + 1], err))
			return false;
	return true;
}

/* The replica's VDI: a clone of the last replica's (cr, then only the
 * changed blocks go over) or a new empty one on the SR. */
static bool make_vdi(struct rctx *c, struct rdisk *d)
{
	struct run_vm *v = c->v;
	const char *label = bk_field(d->rec, "name_label") ? bk_field(d->rec, "name_label") : d->uuid;
	char *err = NULL;

	if (d->replica_base) {
		struct xv *p = xv_array();
		xv_array_push(p, xv_string(d->replica_base));
		xv_array_push(p, xv_struct());
		if (!(d->made = bx_call_str(c->t, "VDI.clone", p, &err)))
			return bk_fail_why(v, xasprintf("cannot clone the last replica's disk '%s' on SR '%s'", label, c->sr_name),
					err);
		/* key by key, as XO does: the clone keeps the rest of its other_config */
		if (!mark_clone(c, d, &err))
			return bk_fail_why(v, xasprintf("cannot mark the replica's disk '%s'", label), err);
		bk_call_quiet(c->t, "VDI.set_name_label", d->made, label, (char *)NULL);
	} else {
		if (!(d->made = vmrec_create_vdi(c->t, d->rec, label, c->sr, marked_oc(c, d->rec, d->uuid), &err))) {
			int64_t size = 0;
			char h[24];
			xv_get_int64(xv_struct_get(d->rec, "virtual_size"), &size);
			bk_human(size > 0 ? (uint64_t)size : 0, h);
			return bk_fail_why(v, xasprintf("cannot make the %s disk '%s' on SR '%s' of pool '%s'", h, label,
						     c->sr_name, pool(c)), err);
		}
	}
	if (!(d->made_uuid = bk_call_str(c->t, "VDI.get_uuid", &err, d->made, (char *)NULL)))
		return bk_fail_why(v, xasprintf("cannot read the replica's disk '%s'", label), err);
	{
		char *vbd = vmrec_create_vbd(c->t, d->vbd_rec, c->vm, d->made, &err);
		if (!vbd)
			return bk_fail_why(v, xasprintf("cannot attach the disk '%s' to the replica", label), err);
		free(vbd);
	}
	return true;
}

static bool tick(uint64_t bytes, void *ud, char **err)
{
	struct rctx *c = ud;

	c->done += bytes - c->disk_done;
	c->disk_done = bytes;
	if (run_cancelled()) {
		*err = xstrdup("the replication was stopped");
		return false;
	}
	if (c->v->progress)
		c->v->progress(c->v, c->done, c->total);
	return true;
}

static bool copy_disk(struct rctx *c, struct rdisk *d)
{
	struct run_vm *v = c->v;
	uint64_t bytes = 0;
	char *err = NULL;
	int timeout = v->job->timeout_s > 0 ? v->job->timeout_s : 24 * 3600;

	c->disk_done = 0;
	run_step(v, "waiting for the hosts to start the copy");
	if (!repl_copy_disk(v->bx, d->uuid, d->replica_base ? d->base_uuid : NULL, c->t, d->made_uuid, timeout, tick, c,
			    &bytes, &err))
		return bk_fail_why(v, xasprintf("the copy of disk '%s' of %s failed",
					     bk_field(d->rec, "name_label") ? bk_field(d->rec, "name_label") : d->uuid,
					     v->vm_name),
				err);
	v->bytes += bytes;
	if (d->replica_base)
		c->ndelta++;
	return true;
}

/* The snapshot's network by uuid on the target (the same pool), else by name. */
static char *target_network(struct rctx *c, const char *src_net)
{
	char *err = NULL, *uuid, *name, *net = NULL;
	struct xv *l;

	uuid = bk_call_str(c->v->bx, "network.get_uuid", &err, src_net, (char *)NULL);
	free(err);
	err = NULL;
	if (uuid)
		net = bk_call_str(c->t, "network.get_by_uuid", &err, uuid, (char *)NULL);
	free(err);
	err = NULL;
	free(uuid);
	if (net)
		return net;
	name = bk_call_str(c->v->bx, "network.get_name_label", &err, src_net, (char *)NULL);
	free(err);
	err = NULL;
	l = name ? bk_call(c->t, "network.get_by_name_label", &err, name, (char *)NULL) : NULL;
	free(err);
	if (xv_len(l))
		net = xstrdup(xv_str(xv_at(l, 0)));
	xv_free(l);
	free(name);
	return net;
}

static void copy_vifs(struct rctx *c)
{
	const struct xv *vifs = xv_struct_get(c->snap_rec, "VIFs");

	for (size_t i = 0; i < xv_len(vifs); i++) {
		char *err = NULL, *net, *vif;
		struct xv *r = bk_call(c->v->bx, "VIF.get_record", &err, xv_str(xv_at(vifs, i)), (char *)NULL);
		free(err);
		err = NULL;
		/* a network the target does not have: the replica gets no interface there */
		if (!r || !(net = target_network(c, bk_field(r, "network")))) {
			xv_free(r);
			continue;
		}
		vif = vmrec_create_vif(c->t, r, c->vm, net, &err);
		free(vif);
		free(net);
		free(err);
		xv_free(r);
	}
}

/* The replica is whole: its name, XO's tag, start blocked, and the marks
 * (the VM's datetime last: from then on it counts as a replica). */
static bool finish_vm(struct rctx *c)
{
	struct run_vm *v = c->v;
	char *err = NULL, *name = replica_name(c), dt[24];
	struct xv *bo = xv_struct(), *r;
	struct tm tm;
	time_t now = (time_t)v->now;
	bool ha = bk_field(c->snap_rec, "ha_restart_priority") && *bk_field(c->snap_rec, "ha_restart_priority");

	gmtime_r(&now, &tm);
	strftime(dt, sizeof(dt), "%Y%m%dT%H:%M:%SZ", &tm); /* XO's formatDateTime */
	xv_struct_add(bo, "start", xv_string(BLOCKED_WHY));
	xv_struct_add(bo, "start_on", xv_string(BLOCKED_WHY));
	if (!set_map(c->t, "VM.set_blocked_operations", c->vm, bo, &err))
		goto bad;
	if (!(r = bk_call(c->t, "VM.set_name_label", &err, c->vm, name, (char *)NULL)))
		goto bad;
	xv_free(r);
	if (!(r = bk_call(c->t, "VM.add_tags", &err, c->vm, c->cr ? "Continuous Replication" : "Disaster Recovery",
			  (char *)NULL)))
		goto bad;
	xv_free(r);
	if (ha)
		bk_call_quiet(c->t, "VM.add_tags", c->vm, "HA disabled", (char *)NULL);
	if (c->cr) {
		const char *desc = bk_field(c->snap_rec, "name_description");
		char h[24], *d;
		bk_human(v->bytes, h);
		d = xasprintf("%s -- last replication: %s %s read", desc ? desc : "", v->ts, h);
		bk_call_quiet(c->t, "VM.set_name_description", c->vm, d, (char *)NULL);
		free(d);
	}
	for (size_t k = 0; k < c->nd; k++)
		if (!set_oc_key(c->t, "VDI", c->d[k].made, "xo:backup:sr", c->sr_uuid, &err) ||
		    !set_oc_key(c->t, "VDI", c->d[k].made, "xo:backup:datetime", dt, &err))
			goto bad;
	if (!set_oc_key(c->t, "VM", c->vm, "xo:backup:sr", c->sr_uuid, &err) ||
	    !set_oc_key(c->t, "VM", c->vm, "xo:backup:datetime", dt, &err))
		goto bad;
	free(name);
	return true;
bad:
	free(name);
	return bk_fail_why(v, xasprintf("cannot finish the replica of %s", v->vm_name), err);
}

/* Failure: nothing half made stays on the target; the base snapshot stays. */
static void undo(struct rctx *c)
{
	if (c->vm)
		bk_call_quiet(c->t, "VM.destroy", c->vm, (char *)NULL);
	for (size_t k = 0; k < c->nd; k++)
		if (c->d[k].made)
			bk_call_quiet(c->t, "VDI.destroy", c->d[k].made, (char *)NULL);
	if (c->snap)
		bk_destroy_vm_and_disks(c->v->bx, c->snap);
}

/* retention: the newest job->retention replicas stay (the new one counted). */
static size_t apply_retention(struct rctx *c)
{
	size_t keep_old = c->v->job->retention > 0 ? (size_t)c->v->job->retention - 1 : 0, gone = 0;

	for (size_t i = 0; i + keep_old < c->nreps; i++, gone++)
		bk_destroy_vm_and_disks(c->t, c->reps[i].ref);
	return gone;
}

static void rctx_free(struct rctx *c)
{
	free(c->sr);
	free(c->sr_uuid);
	free(c->sr_name);
	free(c->snap);
	xv_free(c->snap_rec);
	free(c->base);
	xv_free(c->old_snaps);
	for (size_t i = 0; i < c->nreps; i++) {
		free(c->reps[i].ref);
		free(c->reps[i].when);
	}
	free(c->reps);
	for (size_t k = 0; k < c->nd; k++) {
		struct rdisk *d = &c->d[k];
		free(d->vdi);
		xv_free(d->rec);
		xv_free(d->vbd_rec);
		free(d->uuid);
		free(d->base_uuid);
		free(d->replica_base);
		free(d->made);
		free(d->made_uuid);
	}
	free(c->d);
	free(c->vm);
}

bool mode_replicate_vm(struct run_vm *v)
{
	struct rctx c;
	char *err = NULL;
	bool ok = false;
	size_t gone;

	memset(&c, 0, sizeof(c));
	c.v = v;
	c.t = v->target ? v->target : v->bx;
	c.cr = v->job->mode == BMODE_CR;
	/* everything that can be checked first is, before anything is made */
	if (!find_sr(&c) || !list_replicas(&c) || !find_base(&c))
		goto out;
	if (!(c.snap = snap_take(v, &err))) {
		fail(v, err);
		goto out;
	}
	if (!(c.snap_rec = bk_call(v->bx, "VM.get_record", &err, c.snap, (char *)NULL))) {
		bk_fail_why(v, xasprintf("cannot read the snapshot of %s", v->vm_name), err);
		goto bad;
	}
	if (!collect_disks(&c) || !create_vm(&c))
		goto bad;
	for (size_t k = 0; k < c.nd; k++)
		if (!make_vdi(&c, &c.d[k]) || !copy_disk(&c, &c.d[k]))
			goto bad;
	copy_vifs(&c);
	if (!finish_vm(&c))
		goto bad;
	/* the source: cr keeps this snapshot as the next run's base, dr needs none */
	if (c.cr) {
		if (!set_oc_key(v->bx, "VM", c.snap, "xo:backup:exported", "true", &err)) {
			v->note = xasprintf("replicated, but the snapshot could not be kept as the next base: %s", err);
			free(err);
			bk_destroy_vm_and_disks(v->bx, c.snap);
		}
		if (c.base)
			bk_destroy_vm_and_disks(v->bx, c.base);
	} else {
		bk_destroy_vm_and_disks(v->bx, c.snap);
	}
	for (size_t i = 0; i < xv_len(c.old_snaps); i++)
		bk_destroy_vm_and_disks(v->bx, xv_str(xv_at(c.old_snaps, i)));
	gone = apply_retention(&c);
	if (!v->note)
		v->note = gone ? xasprintf("%s to SR '%s', %zu older replica%s removed", c.ndelta ? "delta" : "full",
					   c.sr_name, gone, gone == 1 ? "" : "s")
			       : xasprintf("%s to SR '%s'", c.ndelta ? "delta" : "full", c.sr_name);
	ok = true;
	goto out;
bad:
	undo(&c);
out:
	rctx_free(&c);
	return ok;
}
