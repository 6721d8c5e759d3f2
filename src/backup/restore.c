/* Restore: a restore point as a new VM, never replacing one. A full point
 * is an XVA through PUT /import; a delta point is rebuilt as Xen
 * Orchestra does it (VM, VDIs, VBDs, VIFs, then one VHD per disk built
 * from its chain through /import_raw_vdi). Files whose SHA-256 differs
 * from the one recorded are refused, and a failure undoes everything. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bkutil.h"
#include "run.h"
#include "util.h"
#include "vhd.h"
#include "vmrec.h"

#define IMPORTING "[" VMREC_IMPORTING "] "

/* ---- full: an XVA through /import ------------------------------------------- */

/* Reads the file, hashing it; the last bytes go out only once the whole
 * file's SHA-256 is known to match, so a damaged file never imports whole. */
struct xva_src {
	struct repo_rfile *f;
	struct bk_hash *md; /* hashed on its own thread */
	uint64_t left;
	const char *want; /* "" when not recorded */
	bool damaged;
	const char *path;
	const char *repo;
};

static ssize_t xva_read(void *buf, size_t n, void *ud, char **err)
{
	struct xva_src *s = ud;
	ssize_t k;

	if (s->left == 0)
		return 0;
	if ((uint64_t)n > s->left)
		n = (size_t)s->left;
	if (!repo_pread(s->f, repo_rsize(s->f) - s->left, buf, n, err))
		return -1;
	k = (ssize_t)n;
	bk_hash_update(s->md, buf, n);
	s->left -= n;
	if (s->left == 0) {
		char got[65];
		bk_hash_hex(s->md, got);
		s->md = NULL;
		if (*s->want && strcmp(got, s->want) != 0) {
			s->damaged = true;
			*err = xasprintf("%s on %s is damaged: its SHA-256 is not the one recorded when it was written", s->path,
					 s->repo);
			return -1;
		}
	}
	return k;
}

static bool restore_full(struct bx *bx, struct repo *r, const struct point *p, const struct point_file *f,
			 const char *sr_ref, char **vm_ref, char **err)
{
	char *path = bk_vm_path(p->vm_uuid, f->path), *task, *q, *res, *terr = NULL;
	struct xva_src s = {.want = f->sha256, .path = path, .repo = repo_name(r)};
	bool ok;

	if (!(s.f = repo_open_read(r, path, err))) {
		free(path);
		return false;
	}
	s.left = repo_rsize(s.f);
	if (*f->sha256 && f->size && f->size != s.left) {
		*err = xasprintf("%s on %s is damaged: %llu bytes, %llu were written", path, repo_name(r),
				 (unsigned long long)s.left, (unsigned long long)f->size);
		repo_rclose(s.f);
		free(path);
		return false;
	}
	s.md = bk_hash_new();
	if (!(task = bx_task_create(bx, "xentui restore: import a VM", err))) {
		bk_hash_free(s.md);
		repo_rclose(s.f);
		free(path);
		return false;
	}
	q = xasprintf("/import?sr_id=%s&task_id=%s", sr_ref, task);
	ok = bx_put(bx, q, repo_rsize(s.f), xva_read, &s, err);
	free(q);
	res = bx_task_wait(bx, task, 24 * 3600, &terr);
	if (ok && !res) {
		ok = false;
		*err = terr ? terr : xstrdup("the import failed");
		terr = NULL;
	}
	free(terr);
	if (res && *res) {
		/* the task's result: the VM (XML-RPC text may hold more than one ref) */
		char *ref = strstr(res, "OpaqueRef:");
		if (ref) {
			size_t n = strspn(ref, "OpaqueRef:0123456789abcdef-");
			*vm_ref = xstrndup(ref, n);
		}
	}
	if (!ok || s.damaged || !*vm_ref) {
		if (*vm_ref)
			bk_destroy_vm_and_disks(bx, *vm_ref);
		free(*vm_ref);
		*vm_ref = NULL;
		if (ok) {
			ok = false;
			*err = xstrdup("the import did not say which VM it made");
		}
	}
	free(res);
	bx_task_destroy(bx, task);
	free(task);
	bk_hash_free(s.md);
	repo_rclose(s.f);
	free(path);
	return ok;
}

/* ---- delta: VM, VDIs, VBDs, VIFs, then the disks' content ------------------- */

struct made {
	char *vm;
	struct xv *vdis; /* refs made, destroyed on failure */
};

static bool create_vm(struct bx *bx, struct json_object *vmj, const char *name, struct made *m, char **err)
{
	struct xv *rec = bk_json_to_xv(vmj);
	const char *n = bk_jstr(vmj, "name_label");
	char *label = xasprintf(IMPORTING "%s", name ? name : n ? n : "restored VM");

	m->vm = vmrec_create_vm(bx, rec, label, vmrec_clean_oc(rec), err);
	free(label);
	xv_free(rec);
	return m->vm != NULL;
}

/* Checks every file of the chain against the SHA-256 recorded by the point
 * that wrote it (an XO-written file has none, and is only read). */
static bool check_chain(struct repo *r, const struct point *p, struct vhd_chain *c, char **err)
{
	for (size_t i = 0; i < vhd_chain_length(c); i++) {
		const char *path = vhd_chain_path(c, i), *slash = strrchr(path, '/');
		char ts[17], *jp, *rel, sha[65], *why = NULL;
		struct point owner;
		const struct point_file *f;
		uint64_t size = 0;
		bool ok;

		if (!slash || strlen(slash + 1) < 20)
			continue;
		snprintf(ts, sizeof(ts), "%.16s", slash + 1);
		jp = xasprintf("xo-vm-backups/%s/%s.json", p->vm_uuid, ts);
		ok = point_load(r, jp, &owner, &why);
		free(jp);
		free(why);
		if (!ok)
			continue;
		rel = xasprintf("xo-vm-backups/%s/", p->vm_uuid);
		f = strncmp(path, rel, strlen(rel)) == 0 ? bk_point_file(&owner, path + strlen(rel)) : NULL;
		free(rel);
		if (f && *f->sha256) {
			if (!bk_sha256_file(r, path, sha, &size, err)) {
				point_free(&owner);
				return false;
			}
			if (strcmp(sha, f->sha256) != 0 || size != f->size) {
				*err = xasprintf("%s on %s is damaged: its %s is not the one recorded when it was written", path,
						 repo_name(r), size != f->size ? "size" : "SHA-256");
				point_free(&owner);
				return false;
			}
		}
		point_free(&owner);
	}
	return true;
}

struct vhd_src {
	struct vhd_stream *s;
};

static ssize_t vhd_src_read(void *buf, size_t n, void *ud, char **err)
{
	return vhd_stream_read(((struct vhd_src *)ud)->s, buf, n, err);
}

static bool import_disk(struct bx *bx, struct repo *r, const struct point *p, const char *rel, const char *vdi,
			char **err)
{
	char *path = bk_vm_path(p->vm_uuid, rel), *uuid = NULL, *task = NULL, *q, *res, *terr = NULL;
	struct vhd_chain *c = vhd_chain_open(r, path, err);
	struct vhd_src src = {0};
	uint8_t id[16];
	bool ok = false;

	if (!c)
		goto out;
	if (!check_chain(r, p, c, err))
		goto out;
	if (!(uuid = bk_call_str(bx, "VDI.get_uuid", err, vdi, (char *)NULL)) || !uuid_parse(uuid, id))
		goto out;
	if (!(src.s = vhd_stream_new(c, id, err)))
		goto out;
	if (!(task = bx_task_create(bx, "xentui restore: import a disk", err)))
		goto out;
	q = xasprintf("/import_raw_vdi?vdi=%s&format=vhd&task_id=%s", uuid, task);
	ok = bx_put(bx, q, vhd_stream_length(src.s), vhd_src_read, &src, err);
	free(q);
	res = bx_task_wait(bx, task, 24 * 3600, &terr);
	if (ok && !res) {
		ok = false;
		*err = terr;
		terr = NULL;
	}
	free(terr);
	free(res);
	bx_task_destroy(bx, task);
out:
	if (src.s)
		vhd_stream_free(src.s);
	if (c)
		vhd_chain_close(c);
	free(task);
	free(uuid);
	free(path);
	return ok;
}

/* A network's VLAN: its first PIF's, -1 when it has none (internal). */
static int64_t network_vlan(struct bx *bx, const struct xv *net)
{
	const struct xv *pifs = xv_struct_get(net, "PIFs");
	struct xv *vl;
	char *err = NULL;
	int64_t vlan = -1;

	if (!xv_len(pifs) || !xv_str(xv_at(pifs, 0)))
		return -1;
	vl = bk_call(bx, "PIF.get_VLAN", &err, xv_str(xv_at(pifs, 0)), (char *)NULL);
	free(err);
	if (!xv_get_int64(vl, &vlan))
		vlan = -1;
	xv_free(vl);
	return vlan;
}

/* As XO does: the network of the same uuid, else the same name and VLAN,
 * else the same VLAN, else one with a physical interface, else any. */
static char *find_network(struct bx *bx, struct json_object *vif)
{
	const char *nu = bk_jstr(vif, "$network$uuid"), *nn = bk_jstr(vif, "$network$name_label");
	struct json_object *jv;
	int64_t want = -1;
	char *err = NULL, *ref = NULL;
	struct xv *all;
	int64_t *vlans;
	size_t n;

	if (nu && (ref = bk_call_str(bx, "network.get_by_uuid", &err, nu, (char *)NULL)))
		return ref;
	free(err);
	err = NULL;
	if (json_object_object_get_ex(vif, "$network$VLAN", &jv))
		want = json_object_get_int64(jv);
	all = bk_call(bx, "network.get_all_records", &err, (char *)NULL);
	free(err);
	n = xv_len(all);
	vlans = xcalloc(n + 1, sizeof(*vlans));
	for (size_t i = 0; i < n; i++)
		vlans[i] = network_vlan(bx, xv_value_at(all, i));
	for (size_t i = 0; nn && i < n && !ref; i++) {
		const char *l = bk_field(xv_value_at(all, i), "name_label");
		if (l && strcmp(l, nn) == 0 && vlans[i] == want)
			ref = xstrdup(xv_key_at(all, i));
	}
	for (size_t i = 0; want >= 0 && i < n && !ref; i++)
		if (vlans[i] == want)
			ref = xstrdup(xv_key_at(all, i));
	for (size_t i = 0; i < n && !ref; i++)
		if (xv_len(xv_struct_get(xv_value_at(all, i), "PIFs")))
			ref = xstrdup(xv_key_at(all, i));
	for (size_t i = 0; i < n && !ref; i++) {
		const char *b = bk_field(xv_value_at(all, i), "bridge");
		/* not the host-internal management network */
		if (!b || strcmp(b, "xenapi") != 0)
			ref = xstrdup(xv_key_at(all, i));
	}
	free(vlans);
	xv_free(all);
	return ref;
}

static void undo(struct bx *bx, struct made *m)
{
	if (m->vm)
		bk_call_quiet(bx, "VM.destroy", m->vm, (char *)NULL);
	for (size_t i = 0; i < xv_len(m->vdis); i++)
		bk_call_quiet(bx, "VDI.destroy", xv_str(xv_at(m->vdis, i)), (char *)NULL);
}

static bool restore_delta(struct bx *bx, struct repo *r, const struct point *p, const char *sr_ref, const char *name,
			  char **vm_ref, char **err)
{
	struct json_object *root = json_tokener_parse(p->json), *vmj, *vdis, *vbds, *vifs, *vhds;
	struct made m = {.vdis = xv_array()};
	struct xv *map = xv_struct(); /* snapshot VDI ref -> new VDI ref */
	bool ok = false;

	if (!root || !json_object_object_get_ex(root, "vm", &vmj) || !json_object_object_get_ex(root, "vdis", &vdis)
	    || !json_object_object_get_ex(root, "vbds", &vbds) || !json_object_object_get_ex(root, "vhds", &vhds)) {
		*err = xasprintf("%s on %s is not a whole delta point (vm, vdis, vbds or vhds missing)", p->json_path,
				 repo_name(r));
		goto out;
	}
	if (!json_object_object_get_ex(root, "vifs", &vifs))
		vifs = NULL;
	if (!create_vm(bx, vmj, name, &m, err))
		goto fail;
	{
		json_object_object_foreach(vdis, ref, rec) {
			struct xv *x = bk_json_to_xv(rec);
			char *nv = vmrec_create_vdi(bx, x, NULL, sr_ref, vmrec_clean_oc(x), err);
			xv_free(x);
			if (!nv)
				goto fail;
			xv_array_push(m.vdis, xv_string(nv));
			xv_struct_add(map, ref, xv_string_take(nv));
		}
	}
	{
		json_object_object_foreach(vbds, ref, rec) {
			const char *old = bk_jstr(rec, "VDI");
			const char *nv = old ? xv_str(xv_struct_get(map, old)) : NULL;
			struct xv *x;
			char *vbd;
			(void)ref;
			if (!nv)
				continue; /* a CD or a disk left out ([NOBAK]) */
			x = bk_json_to_xv(rec);
			vbd = vmrec_create_vbd(bx, x, m.vm, nv, err);
			xv_free(x);
			if (!vbd)
				goto fail;
			free(vbd);
		}
	}
	{
		json_object_object_foreach(vhds, ref, path) {
			const char *nv = xv_str(xv_struct_get(map, ref));
			if (!json_object_is_type(path, json_type_string) || !nv)
				continue;
			if (!import_disk(bx, r, p, json_object_get_string(path), nv, err))
				goto fail;
		}
	}
	if (vifs) {
		json_object_object_foreach(vifs, ref, rec) {
			char *net = find_network(bx, rec), *vif;
			struct xv *x;
			(void)ref;
			if (!net)
				continue; /* a pool without networks: the VM restores unplugged */
			x = bk_json_to_xv(rec);
			vif = vmrec_create_vif(bx, x, m.vm, net, err);
			xv_free(x);
			free(net);
			if (!vif)
				goto fail;
			free(vif);
		}
	}
	*vm_ref = xstrdup(m.vm);
	ok = true;
	goto out;
fail:
	undo(bx, &m);
out:
	free(m.vm);
	xv_free(m.vdis);
	xv_free(map);
	json_object_put(root);
	return ok;
}

/* ---- the point ---------------------------------------------------------------- */

bool restore_point(struct bx *bx, struct repo *r, const struct point *p, const char *sr_ref, const char *name,
		   bool start, char **new_vm, char **err)
{
	char *vm = NULL, *label;
	const struct point_file *xva = NULL;
	bool ok;

	*err = NULL;
	*new_vm = NULL;
	for (size_t i = 0; i < p->nfiles; i++) {
		size_t l = strlen(p->files[i].path);
		if (l > 4 && strcmp(p->files[i].path + l - 4, ".xva") == 0)
			xva = &p->files[i];
	}
	if (p->mode && strcmp(p->mode, "full") == 0) {
		if (!xva) {
			*err = xasprintf("the point %s of %s names no .xva", p->ts, p->vm_uuid);
			return false;
		}
		ok = restore_full(bx, r, p, xva, sr_ref, &vm, err);
	} else if (p->mode && strcmp(p->mode, "delta") == 0) {
		ok = restore_delta(bx, r, p, sr_ref, name, &vm, err);
	} else {
		*err = xasprintf("the point %s of %s is of mode \"%s\", which cannot be restored", p->ts, p->vm_uuid,
				 p->mode ? p->mode : "");
		return false;
	}
	if (!ok) {
		if (!*err)
			*err = xstrdup("the restore failed");
		return false;
	}
	/* its own name, and startable */
	label = xstrdup(name ? name : p->vm_name && *p->vm_name ? p->vm_name : "restored VM");
	bk_call_quiet(bx, "VM.set_name_label", vm, label, (char *)NULL);
	bk_call_quiet(bx, "VM.remove_from_blocked_operations", vm, "start", (char *)NULL);
	bk_call_quiet(bx, "VM.remove_from_blocked_operations", vm, "start_on", (char *)NULL);
	free(label);
	/* an exported snapshot imports as a template; the job's marks stay behind */
	{
		struct xv *pr = xv_array(), *v;
		char *e = NULL;
		xv_array_push(pr, xv_string(vm));
		xv_array_push(pr, xv_bool(false));
		xv_free(bx_call(bx, "VM.set_is_a_template", pr, &e, NULL));
		free(e);
		e = NULL;
		v = bk_call(bx, "VM.get_other_config", &e, vm, (char *)NULL);
		free(e);
		for (size_t i = 0; i < xv_len(v); i++) {
			const char *k = xv_key_at(v, i);
			if (k && strncmp(k, "xo:backup:", 10) == 0)
				bk_call_quiet(bx, "VM.remove_from_other_config", vm, k, (char *)NULL);
		}
		xv_free(v);
	}
	if (start) {
		struct xv *pr = xv_array(), *v;
		xv_array_push(pr, xv_string(vm));
		xv_array_push(pr, xv_bool(false));
		xv_array_push(pr, xv_bool(false));
		if (!(v = bx_call(bx, "VM.start", pr, err, NULL))) {
			char *e = *err;
			*err = xasprintf("the VM was restored but did not start: %s", e ? e : "?");
			free(e);
			e = NULL;
			*new_vm = bk_call_str(bx, "VM.get_uuid", &e, vm, (char *)NULL);
			free(e);
			free(vm);
			return false;
		}
		xv_free(v);
	}
	{
		char *e = NULL;
		*new_vm = bk_call_str(bx, "VM.get_uuid", &e, vm, (char *)NULL);
		if (!*new_vm) {
			*new_vm = xstrdup(vm);
			free(e);
		}
	}
	free(vm);
	return true;
}

/* ---- one disk only, as a new VDI (XO #4606) ------------------------------------ */

/* Whether a disk (userdevice, or VDI name) is the one asked for. */
static bool disk_is(const char *want, const char *userdevice, const char *vdi_name)
{
	return (userdevice && strcmp(want, userdevice) == 0) || (vdi_name && strcmp(want, vdi_name) == 0);
}

/* A delta point: the VDI made from its record, then its VHD chain streamed in. */
static bool disk_from_delta(struct bx *bx, struct repo *r, const struct point *p, const char *want,
			    const char *sr_ref, char **vdi_ref, char **err)
{
	struct json_object *root = json_tokener_parse(p->json), *vdis, *vbds, *vhds, *rec, *path;
	const char *old = NULL;
	struct xv *x;
	bool ok = false;

	if (!root || !json_object_object_get_ex(root, "vdis", &vdis) || !json_object_object_get_ex(root, "vbds", &vbds)
	    || !json_object_object_get_ex(root, "vhds", &vhds)) {
		*err = xasprintf("%s on %s is not a whole delta point (vdis, vbds or vhds missing)", p->json_path,
				 repo_name(r));
		goto out;
	}
	{
		json_object_object_foreach(vbds, ref, vbd) {
			const char *v = bk_jstr(vbd, "VDI");
			struct json_object *vr;
			(void)ref;
			if (!v || !json_object_object_get_ex(vdis, v, &vr))
				continue;
			if (!old && disk_is(want, bk_jstr(vbd, "userdevice"), bk_jstr(vr, "name_label")))
				old = v;
		}
	}
	if (!old || !json_object_object_get_ex(vdis, old, &rec) || !json_object_object_get_ex(vhds, old, &path)
	    || !json_object_is_type(path, json_type_string)) {
		*err = xasprintf("the point %s of %s has no disk \"%s\" (a device number or a disk's name)", p->ts,
				 p->vm_uuid, want);
		goto out;
	}
	x = bk_json_to_xv(rec);
	*vdi_ref = vmrec_create_vdi(bx, x, NULL, sr_ref, vmrec_clean_oc(x), err);
	xv_free(x);
	if (!*vdi_ref)
		goto out;
	if (!(ok = import_disk(bx, r, p, json_object_get_string(path), *vdi_ref, err))) {
		bk_call_quiet(bx, "VDI.destroy", *vdi_ref, (char *)NULL);
		free(*vdi_ref);
		*vdi_ref = NULL;
	}
out:
	json_object_put(root);
	return ok;
}

/* A full point: an XVA holds every disk in one stream, so the VM is imported
 * as restore does, the one disk kept and the VM and the other disks destroyed. */
static bool disk_from_full(struct bx *bx, struct repo *r, const struct point *p, const struct point_file *xva,
			   const char *want, const char *sr_ref, char **vdi_ref, char **err)
{
	char *vm = NULL, *e = NULL;
	struct xv *vbds;

	if (!restore_full(bx, r, p, xva, sr_ref, &vm, err))
		return false;
	vbds = bk_call(bx, "VM.get_VBDs", &e, vm, (char *)NULL);
	free(e);
	for (size_t i = 0; i < xv_len(vbds) && !*vdi_ref; i++) {
		struct xv *rec = bk_call(bx, "VBD.get_record", &e, xv_str(xv_at(vbds, i)), (char *)NULL);
		const char *vdi = bk_field(rec, "VDI"), *type = bk_field(rec, "type");
		char *vname = NULL;
		free(e);
		e = NULL;
		if (!bk_is_null(vdi) && (!type || strcmp(type, "Disk") == 0)) {
			vname = bk_call_str(bx, "VDI.get_name_label", &e, vdi, (char *)NULL);
			free(e);
			e = NULL;
			if (disk_is(want, bk_field(rec, "userdevice"), vname))
				*vdi_ref = xstrdup(vdi);
		}
		free(vname);
		xv_free(rec);
	}
	/* the kept disk first leaves the VM, so destroying the VM's disks spares it */
	for (size_t i = 0; i < xv_len(vbds) && *vdi_ref; i++) {
		struct xv *rec = bk_call(bx, "VBD.get_record", &e, xv_str(xv_at(vbds, i)), (char *)NULL);
		const char *vdi = bk_field(rec, "VDI");
		free(e);
		e = NULL;
		if (vdi && strcmp(vdi, *vdi_ref) == 0)
			bk_call_quiet(bx, "VBD.destroy", xv_str(xv_at(vbds, i)), (char *)NULL);
		xv_free(rec);
	}
	xv_free(vbds);
	bk_destroy_vm_and_disks(bx, vm);
	free(vm);
	if (!*vdi_ref) {
		*err = xasprintf("the point %s of %s has no disk \"%s\" (a device number or a disk's name)", p->ts,
				 p->vm_uuid, want);
		return false;
	}
	return true;
}

bool restore_disk(struct bx *bx, struct repo *r, const struct point *p, const char *disk, const char *sr_ref,
		  const char *name, char **new_vdi, char **err)
{
	const struct point_file *xva = NULL;
	char *vdi = NULL, *e = NULL;
	bool ok;

	*err = NULL;
	*new_vdi = NULL;
	for (size_t i = 0; i < p->nfiles; i++) {
		size_t l = strlen(p->files[i].path);
		if (l > 4 && strcmp(p->files[i].path + l - 4, ".xva") == 0)
			xva = &p->files[i];
	}
	if (p->mode && strcmp(p->mode, "full") == 0 && !xva) {
		*err = xasprintf("the point %s of %s names no .xva", p->ts, p->vm_uuid);
		return false;
	}
	if (p->mode && strcmp(p->mode, "full") == 0)
		ok = disk_from_full(bx, r, p, xva, disk, sr_ref, &vdi, err);
	else if (p->mode && strcmp(p->mode, "delta") == 0)
		ok = disk_from_delta(bx, r, p, disk, sr_ref, &vdi, err);
	else {
		*err = xasprintf("the point %s of %s is of mode \"%s\", whose disks cannot be restored", p->ts,
				 p->vm_uuid, p->mode ? p->mode : "");
		return false;
	}
	if (!ok) {
		if (!*err)
			*err = xstrdup("the disk's restore failed");
		return false;
	}
	if (name && *name)
		bk_call_quiet(bx, "VDI.set_name_label", vdi, name, (char *)NULL);
	{
		struct xv *oc = bk_call(bx, "VDI.get_other_config", &e, vdi, (char *)NULL);
		free(e);
		e = NULL;
		for (size_t i = 0; i < xv_len(oc); i++) {
			const char *k = xv_key_at(oc, i);
			if (k && (strncmp(k, "xo:backup:", 10) == 0 || strcmp(k, "xo:base_delta_vdi") == 0))
				bk_call_quiet(bx, "VDI.remove_from_other_config", vdi, k, (char *)NULL);
		}
		xv_free(oc);
	}
	if (!(*new_vdi = bk_call_str(bx, "VDI.get_uuid", &e, vdi, (char *)NULL)))
		*new_vdi = xstrdup(vdi);
	free(e);
	free(vdi);
	return true;
}
