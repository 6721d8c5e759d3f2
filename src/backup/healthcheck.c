/* The health check of a new restore point or replica (XO's HealthCheckVmBackup):
 * restore, no network, boot, wait for the guest agent, destroy. */
#include "healthcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bkutil.h"
#include "job.h"
#include "point.h"
#include "run.h"
#include "util.h"

#define HC_KEY "vm-data/xo-backup-health-check"
#define HC_TAG "xo-backup-health-check-xenstore"
#define POLL_MS 500

/* ---- the check ---------------------------------------------------------------------- */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static bool has_tag(const struct xv *tags, const char *tag)
{
	for (size_t i = 0; i < xv_len(tags); i++)
		if (xv_str(xv_at(tags, i)) && strcmp(xv_str(xv_at(tags, i)), tag) == 0)
			return true;
	return false;
}

bool healthcheck_wanted(struct bx *bx, const struct job_cfg *job, const char *vm_ref)
{
	struct xv *tags;
	char *err = NULL;
	bool yes = false;

	if (!job->hc_sr)
		return false;
	if (!job->nhc_tags)
		return true;
	tags = bk_call(bx, "VM.get_tags", &err, vm_ref, (char *)NULL);
	free(err);
	for (size_t i = 0; i < job->nhc_tags; i++)
		yes |= has_tag(tags, job->hc_tags[i]);
	xv_free(tags);
	return yes;
}

/* The SR by UUID, else by name (only one of that name). */
static char *find_sr(struct bx *bx, const char *sr, char **why)
{
	char *e = NULL, *ref = bk_ref_by_uuid(bx, "SR", sr);
	struct xv *v;

	if (ref)
		return ref;
	v = bk_call(bx, "SR.get_by_name_label", &e, sr, (char *)NULL);
	if (!v)
		*why = xasprintf("cannot look the SR '%s' up: %s", sr, e ? e : "?");
	else if (xv_len(v) == 1)
		ref = xstrdup(xv_str(xv_at(v, 0)));
	else
		*why = xv_len(v) ? xasprintf("%zu SRs are named '%s': give its UUID", xv_len(v), sr)
				 : xasprintf("no SR named '%s' (nor with that UUID)", sr);
	free(e);
	xv_free(v);
	return ref;
}

/* The guest metrics' ref and last update, to tell an agent of this boot from
 * what an imported snapshot carried. */
static void metrics_stamp(struct bx *bx, const char *gm, char **ref, char **updated)
{
	char *e = NULL;
	struct xv *rec = bk_is_null(gm) ? NULL : bk_call(bx, "VM_guest_metrics.get_record", &e, gm, (char *)NULL);
	bool pv = false;

	free(e);
	xv_get_bool(xv_struct_get(rec, "PV_drivers_detected"), &pv);
	*ref = xstrdup(rec && pv ? gm : "");
	*updated = xstrdup(rec && pv && bk_field(rec, "last_updated") ? bk_field(rec, "last_updated") : "");
	xv_free(rec);
}

/* No network: the VIFs go before it starts, as XO does. */
static bool remove_vifs(struct bx *bx, const char *vm, char **why)
{
	char *e = NULL;
	struct xv *vifs = bk_call(bx, "VM.get_VIFs", &e, vm, (char *)NULL);
	bool ok = vifs != NULL;

	if (!vifs)
		*why = xasprintf("cannot list the restored VM's network interfaces: %s", e ? e : "?");
	for (size_t i = 0; ok && i < xv_len(vifs); i++) {
		struct xv *r = bk_call(bx, "VIF.destroy", &e, xv_str(xv_at(vifs, i)), (char *)NULL);
		if (!r) {
			*why = xasprintf("cannot remove the restored VM's network interface: %s", e ? e : "?");
			ok = false;
		}
		xv_free(r);
	}
	free(e);
	xv_free(vifs);
	return ok;
}

/* Starts vm and waits for its agent (and script); *secs from start to answer. */
static bool boot_and_wait(struct bx *bx, const struct job_cfg *job, const char *vm, int64_t *secs, char **why)
{
	char *e = NULL, *gm0 = NULL, *lu0 = NULL, *res;
	struct xv *tags, *p;
	bool script, agent = false, ok = false;
	int64_t t0, deadline;

	if (!remove_vifs(bx, vm, why))
		return false;
	tags = bk_call(bx, "VM.get_tags", &e, vm, (char *)NULL);
	script = has_tag(tags, HC_TAG);
	xv_free(tags);
	free(e);
	e = NULL;
	if (script) {
		struct xv *r;
		bk_call_quiet(bx, "VM.remove_from_xenstore_data", vm, HC_KEY, (char *)NULL);
		if (!(r = bk_call(bx, "VM.add_to_xenstore_data", &e, vm, HC_KEY, "planned", (char *)NULL))) {
			*why = xasprintf("cannot plan the guest's health check script in xenstore: %s", e ? e : "?");
			free(e);
			return false;
		}
		xv_free(r);
	}
	{
		char *gm = bk_call_str(bx, "VM.get_guest_metrics", &e, vm, (char *)NULL);
		free(e);
		e = NULL;
		metrics_stamp(bx, gm ? gm : "", &gm0, &lu0);
		free(gm);
	}
	t0 = mono_ms();
	deadline = t0 + (int64_t)job->hc_timeout_s * 1000;
	p = xv_array();
	xv_array_push(p, xv_string(vm));
	xv_array_push(p, xv_bool(false)); /* not paused */
	xv_array_push(p, xv_bool(false)); /* pre-boot checks */
	if (!(res = bx_call_async(bx, "VM.start", p, job->hc_timeout_s, &e))) {
		*why = xasprintf("the restored VM did not start: %s", e ? e : "?");
		goto out;
	}
	free(res);
	for (;;) {
		struct xv *rec = bk_call(bx, "VM.get_record", &e, vm, (char *)NULL);
		const char *ps = rec ? bk_field(rec, "power_state") : NULL;
		if (!rec) {
			*why = xasprintf("cannot read the restored VM: %s", e ? e : "?");
			break;
		}
		if (!ps || strcmp(ps, "Running") != 0) {
			*why = xasprintf("the restored VM stopped (%s) before its guest agent answered", ps ? ps : "?");
			xv_free(rec);
			break;
		}
		if (!agent) {
			char *gm = NULL, *lu = NULL;
			metrics_stamp(bx, bk_field(rec, "guest_metrics") ? bk_field(rec, "guest_metrics") : "", &gm, &lu);
			agent = *gm && (strcmp(gm, gm0) != 0 || strcmp(lu, lu0) != 0);
			free(gm);
			free(lu);
		}
		if (agent && script) {
			const struct xv *xs = xv_struct_get(rec, "xenstore_data");
			const char *st = xv_str(xv_struct_get(xs, HC_KEY));
			if (st && strcmp(st, "failure") == 0) {
				const char *msg = xv_str(xv_struct_get(xs, HC_KEY "-error"));
				*why = xasprintf("the guest's health check script reported a failure%s%s", msg ? ": " : "",
						 msg ? msg : "");
				xv_free(rec);
				break;
			}
			ok = st && strcmp(st, "success") == 0;
		} else {
			ok = agent;
		}
		xv_free(rec);
		if (ok)
			break;
		if (mono_ms() >= deadline) {
			*why = agent ? xasprintf("the guest's health check script did not report within %d s", job->hc_timeout_s)
				     : xasprintf("the guest agent did not answer within %d s", job->hc_timeout_s);
			break;
		}
		if (run_cancelled()) {
			*why = xstrdup("the backup was stopped during the check");
			break;
		}
		sleep_ms(POLL_MS);
	}
	*secs = (mono_ms() - t0 + 500) / 1000;
out:
	free(e);
	free(gm0);
	free(lu0);
	return ok;
}

/* The check's VM goes whatever happened: stopped, then with its disks. */
static void discard(struct bx *bx, const char *vm)
{
	char *e = NULL, *ps = bk_call_str(bx, "VM.get_power_state", &e, vm, (char *)NULL);

	free(e);
	if (ps && strcmp(ps, "Halted") != 0) {
		struct xv *p = xv_array();
		char *r;
		e = NULL;
		xv_array_push(p, xv_string(vm));
		r = bx_call_async(bx, "VM.hard_shutdown", p, 600, &e);
		free(r);
		free(e);
	}
	free(ps);
	bk_destroy_vm_and_disks(bx, vm);
}

bool healthcheck_run(struct bx *bx, const struct job_cfg *job, struct repo *r, const char *vm_uuid,
		     const char *vm_name, char **result)
{
	struct point *pts = NULL;
	size_t n = 0;
	char *err = NULL, *why = NULL, *sr = NULL, *uuid = NULL, *vm = NULL;
	int64_t secs = 0;
	bool ok = false;

	if (!points_list(r, vm_uuid, &pts, &n, &err)) {
		why = xasprintf("cannot list the restore points on %s: %s", repo_name(r), err ? err : "?");
	} else if (!n) {
		why = xasprintf("no restore point of the VM on %s", repo_name(r));
	} else if ((sr = find_sr(bx, job->hc_sr, &why))) {
		/* oldest first: the last is the point just made */
		char *name = xasprintf("%s [health check %s]", vm_name, pts[n - 1].ts);
		if (!restore_point(bx, r, &pts[n - 1], sr, name, false, &uuid, &err)) {
			why = xasprintf("the restore failed: %s", err ? err : "?");
		} else {
			free(err);
			err = NULL;
			if (!(vm = bk_call_str(bx, "VM.get_by_uuid", &err, uuid, (char *)NULL)))
				why = xasprintf("cannot find the restored VM %s: %s", uuid, err ? err : "?");
			else {
				ok = boot_and_wait(bx, job, vm, &secs, &why);
				discard(bx, vm);
			}
		}
		free(name);
	}
	*result = ok ? xasprintf("passed in %lld s", (long long)secs) : xasprintf("failed: %s", why ? why : "?");
	free(err);
	free(why);
	free(sr);
	free(uuid);
	free(vm);
	points_free(pts, n);
	return ok;
}

/* ---- replication: the newest replica, cloned ----------------------------------------- */

#define EPOCH_DT "19700101T000000Z" /* mode_replicate.c: a replica still being written */

static const char *oc_get(const struct xv *rec, const char *key)
{
	return bk_field(xv_struct_get(rec, "other_config"), key);
}

static bool same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* The newest whole replica of vm_uuid that job made on t (its marks, as
 * mode_replicate.c leaves them), *when its datetime; NULL with *why. */
static char *newest_replica(struct bx *t, const struct job_cfg *job, const char *vm_uuid, char **when, char **why)
{
	char *e = NULL, *ref = NULL;
	struct xv *all = bk_call(t, "VM.get_all_records", &e, (char *)NULL);
	const char *best = NULL;

	if (!all) {
		*why = xasprintf("cannot list the VMs of the target pool: %s", e ? e : "?");
		free(e);
		return NULL;
	}
	for (size_t i = 0; i < xv_len(all); i++) {
		const struct xv *r = xv_value_at(all, i);
		const char *dt = oc_get(r, "xo:backup:datetime");
		bool tmpl = false, snap = false;
		xv_get_bool(xv_struct_get(r, "is_a_template"), &tmpl);
		xv_get_bool(xv_struct_get(r, "is_a_snapshot"), &snap);
		if (tmpl || snap || !same(oc_get(r, "xo:backup:job"), job->id) || !same(oc_get(r, "xo:backup:vm"), vm_uuid) ||
		    !dt || !oc_get(r, "xo:backup:sr") || strcmp(dt, EPOCH_DT) == 0)
			continue;
		if (!best || strcmp(dt, best) > 0) {
			best = dt;
			free(ref);
			ref = xstrdup(xv_key_at(all, i));
		}
	}
	if (ref)
		*when = xstrdup(best);
	else
		*why = xstrdup("no replica of the VM on the target pool");
	xv_free(all);
	return ref;
}

/* Whether every disk of vm is on sr: then a clone is enough (XO's check). */
static bool disks_on(struct bx *t, const char *vm, const char *sr)
{
	char *e = NULL;
	struct xv *vbds = bk_call(t, "VM.get_VBDs", &e, vm, (char *)NULL);
	bool all = vbds != NULL;

	free(e);
	for (size_t i = 0; all && i < xv_len(vbds); i++) {
		struct xv *r = bk_call(t, "VBD.get_record", &e, xv_str(xv_at(vbds, i)), (char *)NULL);
		const char *vdi = bk_field(r, "VDI");
		free(e);
		e = NULL;
		if (r && same(bk_field(r, "type"), "Disk") && !bk_is_null(vdi)) {
			char *vsr = bk_call_str(t, "VDI.get_SR", &e, vdi, (char *)NULL);
			free(e);
			e = NULL;
			all = same(vsr, sr);
			free(vsr);
		}
		xv_free(r);
	}
	xv_free(vbds);
	return all;
}

/* The check's copy of the replica: a clone on the replica's own SR, else a
 * copy to sr; its start unblocked and the job's marks removed, so that it
 * never counts as a replica. Its ref, or NULL with *why. */
static char *clone_replica(struct bx *t, const char *rep, const char *sr, const char *name, char **why)
{
	struct xv *p = xv_array(), *oc;
	bool clone = disks_on(t, rep, sr);
	char *e = NULL, *res, *vm = NULL, *at;

	xv_array_push(p, xv_string(rep));
	xv_array_push(p, xv_string(name));
	if (!clone)
		xv_array_push(p, xv_string(sr));
	if (!(res = bx_call_async(t, clone ? "VM.clone" : "VM.copy", p, 24 * 3600, &e))) {
		*why = xasprintf("cannot %s the replica: %s", clone ? "clone" : "copy", e ? e : "?");
		free(e);
		return NULL;
	}
	/* the task's result: the new VM (as XML-RPC text on some versions) */
	if ((at = strstr(res, "OpaqueRef:")))
		vm = xstrndup(at, strspn(at, "OpaqueRef:0123456789abcdef-"));
	free(res);
	if (!vm) {
		*why = xasprintf("the replica's %s did not say which VM it made", clone ? "clone" : "copy");
		return NULL;
	}
	bk_call_quiet(t, "VM.remove_from_blocked_operations", vm, "start", (char *)NULL);
	bk_call_quiet(t, "VM.remove_from_blocked_operations", vm, "start_on", (char *)NULL);
	oc = bk_call(t, "VM.get_other_config", &e, vm, (char *)NULL);
	free(e);
	for (size_t i = 0; i < xv_len(oc); i++) {
		const char *k = xv_key_at(oc, i);
		if (k && strncmp(k, "xo:backup:", 10) == 0)
			bk_call_quiet(t, "VM.remove_from_other_config", vm, k, (char *)NULL);
	}
	xv_free(oc);
	bk_call_quiet(t, "VM.add_tags", vm, "xo-backup-health-check", (char *)NULL);
	return vm;
}

bool healthcheck_replica(struct bx *t, const struct job_cfg *job, const char *vm_uuid, const char *vm_name,
			 char **result)
{
	char *why = NULL, *sr = NULL, *rep = NULL, *when = NULL, *vm = NULL;
	int64_t secs = 0;
	bool ok = false;

	if ((sr = find_sr(t, job->hc_sr, &why)) && (rep = newest_replica(t, job, vm_uuid, &when, &why))) {
		char *name = xasprintf("%s [health check %s]", vm_name, when);
		if ((vm = clone_replica(t, rep, sr, name, &why))) {
			ok = boot_and_wait(t, job, vm, &secs, &why);
			discard(t, vm);
		}
		free(name);
	}
	*result = ok ? xasprintf("passed in %lld s", (long long)secs) : xasprintf("failed: %s", why ? why : "?");
	free(why);
	free(sr);
	free(rep);
	free(when);
	free(vm);
	return ok;
}
