#include "placement.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "storage.h"
#include "units.h"
#include "util.h"

#define MAX_SRS 16 /* distinct SRs of one VM's disks told apart in a sentence */

bool host_sees_sr(const struct cache *c, const char *host, const char *sr)
{
	const struct xv *rec = is_null_ref(sr) ? NULL : cache_get(c, sr);
	const struct xv *pbds = rec_field(rec, "PBDs");

	for (size_t i = 0; host && i < xv_len(pbds); i++) {
		const struct xv *pbd = cache_get(c, xv_str(xv_at(pbds, i)));
		if (pbd && strcmp(rec_str(pbd, "host"), host) == 0 && rec_bool(pbd, "currently_attached"))
			return true;
	}
	return false;
}

/* The SR of the i-th VBD of vm, when a disk or ISO is in it; else NULL. */
static const char *vbd_sr(const struct cache *c, const struct xv *vm, size_t i, bool *disk)
{
	const struct xv *vbd = cache_get(c, xv_str(xv_at(rec_field(vm, "VBDs"), i)));
	const struct xv *vdi;

	if (!vbd || rec_bool(vbd, "empty") || is_null_ref(rec_str(vbd, "VDI")))
		return NULL;
	vdi = cache_get(c, rec_str(vbd, "VDI"));
	if (!vdi || is_null_ref(rec_str(vdi, "SR")))
		return NULL;
	if (disk)
		*disk = strcmp(rec_str(vbd, "type"), "Disk") == 0;
	return rec_str(vdi, "SR");
}

const char *vm_unseen_sr(const struct cache *c, const struct xv *vm, const char *host)
{
	for (size_t i = 0; i < xv_len(rec_field(vm, "VBDs")); i++) {
		const char *sr = vbd_sr(c, vm, i, NULL);
		if (sr && !host_sees_sr(c, host, sr))
			return sr;
	}
	return NULL;
}

struct together {
	const struct cache *c;
	const char *const *srs;
	size_t n;
	bool found;
};

static bool sees_all(const char *ref, const struct xv *host, void *ud)
{
	struct together *t = ud;
	size_t i = 0;

	while (i < t->n && host_sees_sr(t->c, ref, t->srs[i]))
		i++;
	t->found = i == t->n;
	return !t->found;
}

bool srs_seen_together(const struct cache *c, const char *const *srs, size_t n)
{
	struct together t = {c, srs, n, false};

	cache_each(c, "host", sees_all, &t);
	return t.found;
}

static bool host_live(const struct cache *c, const char *host)
{
	const struct xv *h = cache_get(c, host);
	const struct xv *m = h ? cache_get(c, rec_str(h, "metrics")) : NULL;

	return m && rec_bool(m, "live");
}

bool host_takes_vms(const struct cache *c, const char *host)
{
	const struct xv *h = cache_get(c, host);

	return h && rec_bool(h, "enabled") && host_live(c, host);
}

/* The host of an SR local to one host (one PBD, not shared), or NULL. */
static const char *local_host(const struct cache *c, const char *ref)
{
	const struct xv *sr = cache_get(c, ref);
	const struct xv *pbds = rec_field(sr, "PBDs");
	const struct xv *pbd;

	if (!sr || rec_bool(sr, "shared") || xv_len(pbds) != 1 || !(pbd = cache_get(c, xv_str(xv_at(pbds, 0)))))
		return NULL;
	return rec_str(pbd, "host");
}

struct sr_use {
	const struct cache *c;
	const struct xv *vm;
	const char *sr;
	bool found;
};

static bool host_can_hold(const char *ref, const struct xv *host, void *ud)
{
	struct sr_use *u = ud;

	if (host_sees_sr(u->c, ref, u->sr) && !vm_unseen_sr(u->c, u->vm, ref))
		u->found = true;
	return !u->found;
}

bool vm_can_use_sr(const struct cache *c, const struct xv *vm, const char *sr)
{
	const char *home = rec_str(vm, "resident_on");
	struct sr_use u = {c, vm, sr, false};

	/* running or paused: the disk is plugged on the host it is on */
	if (!is_null_ref(home))
		return host_sees_sr(c, home, sr);
	cache_each(c, "host", host_can_hold, &u);
	return u.found;
}

const char *sr_label(const struct cache *c, const char *ref, char *buf, size_t n)
{
	const struct xv *sr = is_null_ref(ref) ? NULL : cache_get(c, ref);
	const char *host = sr ? sr_host_name(c, sr) : "";

	if (*host)
		snprintf(buf, n, "%s (%s)", rec_str(sr, "name_label"), host);
	else
		snprintf(buf, n, "%s", sr ? rec_str(sr, "name_label") : "");
	return buf;
}

/* ---- why nowhere ---------------------------------------------------------------- */

/* The hosts a VM may go to, and what they lack. */
struct candidates {
	const struct cache *c;
	const struct xv *vm;
	const char *except;
	const char *sr;   /* when set: does any candidate see it? */
	int hosts, usable, seeing, roomy;
	bool sr_seen;
	long long need;
};

static bool count_host(const char *ref, const struct xv *host, void *ud)
{
	struct candidates *k = ud;
	const struct xv *m = cache_get(k->c, rec_str(host, "metrics"));

	if (k->except && strcmp(ref, k->except) == 0)
		return true;
	k->hosts++;
	if (k->sr) {
		k->sr_seen = k->sr_seen || host_sees_sr(k->c, ref, k->sr);
		return true;
	}
	if (!host_takes_vms(k->c, ref))
		return true;
	k->usable++;
	if (vm_unseen_sr(k->c, k->vm, ref))
		return true;
	k->seeing++;
	if (rec_int(m, "memory_free") >= k->need)
		k->roomy++;
	return true;
}

/* Is sr seen by any host but except? */
static bool seen_elsewhere(const struct cache *c, const char *sr, const char *except)
{
	struct candidates k = {.c = c, .except = except, .sr = sr};

	cache_each(c, "host", count_host, &k);
	return k.sr_seen;
}

bool vm_has_a_host(const struct cache *c, const struct xv *vm, const char *except)
{
	struct candidates k = {.c = c, .vm = vm, .except = except};

	cache_each(c, "host", count_host, &k);
	return k.seeing > 0;
}

char *vm_nowhere(const struct cache *c, const struct xv *vm, const char *except)
{
	const char *name = rec_str(vm, "name_label");
	const char *other = except ? "other " : "";
	const char *srs[MAX_SRS];
	int disks[MAX_SRS], nsrs = 0;
	struct candidates k = {.c = c, .vm = vm, .except = except, .need = rec_int(vm, "memory_static_max")};
	char label[200], mem[24];

	/* the SRs of its disks, each once, with how many disks each holds */
	for (size_t i = 0; i < xv_len(rec_field(vm, "VBDs")); i++) {
		bool disk = false;
		const char *sr = vbd_sr(c, vm, i, &disk);
		int j = 0;
		while (sr && j < nsrs && strcmp(srs[j], sr) != 0)
			j++;
		if (!sr || (j == nsrs && nsrs == MAX_SRS))
			continue;
		if (j == nsrs) {
			srs[nsrs] = sr;
			disks[nsrs++] = 0;
		}
		disks[j] += disk;
	}
	/* one SR no other host sees: the disk must move first */
	for (int j = 0; j < nsrs; j++) {
		const struct xv *sr = cache_get(c, srs[j]);
		const char *host = sr ? sr_host_name(c, sr) : "";
		const char *what = disks[j] > 1 ? "disks are" : disks[j] ? "disk is" : "DVD drive's disc is";
		if (seen_elsewhere(c, srs[j], except))
			continue;
		if (*host)
			return xasprintf("%s's %s on %s's local storage: no %shost can run it without moving the %s", name,
					 what, host, other, disks[j] > 1 ? "disks" : disks[j] ? "disk" : "disc");
		return xasprintf("%s's %s on '%s', which no %shost has attached: plug the SR in on :storage, or "
				 "move the %s",
				 name, what, rec_str(sr, "name_label"), other, disks[j] > 1 ? "disks" : "disk");
	}
	/* one SR on a host that takes no VMs now: say which and why */
	for (int j = 0; j < nsrs; j++) {
		const char *home = local_host(c, srs[j]);
		const char *what = disks[j] > 1 ? "disks are" : disks[j] ? "disk is" : "DVD drive's disc is";
		if (home && (!except || strcmp(home, except) != 0) && !host_takes_vms(c, home))
			return xasprintf("%s's %s on %s's local storage, and %s is %s: it can run nowhere else "
					 "without moving the %s",
					 name, what, name_of(c, home), name_of(c, home),
					 host_live(c, home) ? "disabled (maintenance mode?)" : "offline",
					 disks[j] > 1 ? "disks" : "disk");
	}
	cache_each(c, "host", count_host, &k);
	if (!k.hosts)
		return xasprintf("This pool has no %shost to run %s on", other, name);
	if (!k.usable)
		return xasprintf("No %shost is enabled and live: take one out of maintenance mode (:hosts) to run %s", other,
				 name);
	if (!k.seeing && nsrs > 1) {
		char list[400] = "";
		for (int j = 0; j < nsrs; j++) {
			size_t len = strlen(list);
			snprintf(list + len, sizeof(list) - len, "%s%s", j ? (j + 1 == nsrs ? " and " : ", ") : "",
				 sr_label(c, srs[j], label, sizeof(label)));
		}
		return xasprintf("%s's disks are on %s: no %shost that takes VMs sees them all, so one must move first",
				 name, list, other);
	}
	if (!k.seeing)
		return xasprintf("No %shost that takes VMs sees %s's storage (%s)", other, name,
				 sr_label(c, nsrs ? srs[0] : NULL, label, sizeof(label)));
	size_format(mem, sizeof(mem), k.need);
	if (!k.roomy)
		return xasprintf("No %shost that sees %s's disks has the %s of memory it needs free", other, name, mem);
	return xasprintf("xapi says no %shost can run %s now", other, name);
}
