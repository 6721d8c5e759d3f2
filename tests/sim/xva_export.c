/* GET /export?session_id=&ref=|uuid=[&use_compression=][&preserve_power_state=]
 * (ocaml/xapi/export.ml, stream_vdi.ml): the VM as an XVA, a tar of
 * ova.xml (the VM, its devices, disks, SRs and networks as XML-RPC records
 * with "Ref:N" ids) and each disk in 1 MiB chunks with XXH64 checksums,
 * all-zero chunks left out except the first and the last. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>
#include <zlib.h>
#include <zstd.h>

#include "handlers.h"
#include "httpx.h"
#include "rpc.h"
#include "schema.h"
#include "sim.h"
#include "tar.h"
#include "util.h"
#include "vdidata.h"
#include "vm.h"
#include "xmlrpc.h"

/* xapi numbers ids from a counter that lives as long as the process. */
static atomic_int next_id;

/* ---- the table of exported objects: internal ref -> "Ref:N" ---------------- */

struct table {
	char (*ref)[REF_LEN];
	char (*id)[16];
	size_t n, cap;
};

static const char *t_find(const struct table *t, const char *ref)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->ref[i], ref) == 0)
			return t->id[i];
	return NULL;
}

/* Like xapi, adds whatever it is given, OpaqueRef:NULL included. */
static void t_add(struct table *t, const char *ref)
{
	if (t_find(t, ref))
		return;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->ref = xrealloc(t->ref, t->cap * sizeof(*t->ref));
		t->id = xrealloc(t->id, t->cap * sizeof(*t->id));
	}
	snprintf(t->ref[t->n], REF_LEN, "%s", ref);
	snprintf(t->id[t->n], sizeof(t->id[0]), "Ref:%d", atomic_fetch_add(&next_id, 1));
	t->n++;
}

static void t_free(struct table *t)
{
	free(t->ref);
	free(t->id);
}

static void add_vdi(struct table *t, struct obj *vdi)
{
	t_add(t, vdi->ref);
	t_add(t, db_str(vdi, "SR"));
}

/* export.ml update_table, without snapshots */
static void fill_table(struct table *t, struct obj *vm, bool preserve)
{
	const struct xv *vifs = db_field(vm, "VIFs"), *vbds = db_field(vm, "VBDs");

	t_add(t, vm->ref);
	for (size_t i = 0; i < xv_len(vifs); i++) {
		struct obj *vif = db_find(xv_str(xv_at(vifs, i)));
		if (vif) {
			t_add(t, vif->ref);
			t_add(t, db_str(vif, "network"));
		}
	}
	for (size_t i = 0; i < xv_len(vbds); i++) {
		struct obj *vbd = db_find(xv_str(xv_at(vbds, i)));
		if (!vbd)
			continue;
		t_add(t, vbd->ref);
		if (!db_bool(vbd, "empty") && db_ref(vbd, "VDI"))
			add_vdi(t, db_ref(vbd, "VDI"));
	}
	if (preserve && strcmp(db_str(vm, "power_state"), "Suspended") == 0 && db_ref(vm, "suspend_VDI"))
		add_vdi(t, db_ref(vm, "suspend_VDI"));
	t_add(t, db_str(vm, "guest_metrics"));
	t_add(t, db_str(vm, "resident_on"));
	t_add(t, db_str(vm, "affinity"));
}

/* ---- records as export.ml rewrites them ------------------------------------- */

static struct xv *lookup(const struct table *t, const struct xv *ref)
{
	const char *id = xv_str(ref) ? t_find(t, xv_str(ref)) : NULL;

	return xv_string(id ? id : "OpaqueRef:NULL");
}

static struct xv *filter(const struct table *t, const struct xv *refs)
{
	struct xv *a = xv_array();

	for (size_t i = 0; i < xv_len(refs); i++) {
		const char *id = xv_str(xv_at(refs, i)) ? t_find(t, xv_str(xv_at(refs, i))) : NULL;
		if (id)
			xv_array_push(a, xv_string(id));
	}
	return a;
}

static void set_lookup(struct xv *rec, const struct table *t, const char *f)
{
	xv_struct_set(rec, f, lookup(t, xv_struct_get(rec, f)));
}

static void set_filter(struct xv *rec, const struct table *t, const char *f)
{
	xv_struct_set(rec, f, filter(t, xv_struct_get(rec, f)));
}

static void set_empty(struct xv *rec, const char *f, char kind)
{
	if (!xv_struct_get(rec, f))
		return;
	xv_struct_set(rec, f, kind == 'a' ? xv_array() : kind == 's' ? xv_struct() : kind == 'n' ? xv_string("OpaqueRef:NULL") : xv_string(""));
}

static struct xv *rewrite(struct obj *o, const struct table *t, bool preserve)
{
	struct xv *rec = db_record(o);
	const char *c = o->cls->name;

	if (strcmp(c, "host") == 0) {
		static const char *const arrays[] = {"PIFs", "PBDs", "PGPUs", "PCIs", "host_CPUs", "patches", "crashdumps",
						     "supported_bootloaders", "capabilities", "ha_statefiles",
						     "ha_network_peers", "tags"};
		static const char *const maps[] = {"license_params", "blobs", "external_auth_configuration", "logging",
						   "cpu_configuration", "other_config", "software_version"};
		for (size_t i = 0; i < ARRAY_LEN(arrays); i++)
			set_empty(rec, arrays[i], 'a');
		for (size_t i = 0; i < ARRAY_LEN(maps); i++)
			set_empty(rec, maps[i], 's');
		set_empty(rec, "external_auth_type", '"');
		set_empty(rec, "external_auth_service_name", '"');
		set_empty(rec, "sched_policy", '"');
		set_empty(rec, "metrics", 'n');
		set_lookup(rec, t, "crash_dump_sr");
		set_lookup(rec, t, "suspend_image_sr");
		set_filter(rec, t, "resident_VMs");
	} else if (strcmp(c, "VM") == 0) {
		if (!preserve) {
			xv_struct_set(rec, "power_state", xv_string("Halted"));
			set_empty(rec, "suspend_VDI", 'n');
		} else {
			set_lookup(rec, t, "suspend_VDI");
		}
		xv_struct_set(rec, "is_a_snapshot", xv_bool(false));
		set_empty(rec, "snapshot_of", 'n');
		set_empty(rec, "snapshots", 'a');
		xv_struct_set(rec, "snapshot_time", xv_datetime("19700101T00:00:00Z"));
		set_empty(rec, "transportable_snapshot_id", '"');
		set_empty(rec, "parent", 'n');
		set_empty(rec, "current_operations", 's');
		set_empty(rec, "allowed_operations", 'a');
		set_filter(rec, t, "VIFs");
		set_filter(rec, t, "VBDs");
		set_filter(rec, t, "VGPUs");
		set_filter(rec, t, "VTPMs");
		set_empty(rec, "crash_dumps", 'a');
		set_lookup(rec, t, "resident_on");
		set_lookup(rec, t, "affinity");
		set_empty(rec, "consoles", 'a');
		set_empty(rec, "metrics", 'n');
		set_lookup(rec, t, "guest_metrics");
		set_empty(rec, "protection_policy", 'n');
		set_empty(rec, "blobs", 's');
	} else if (strcmp(c, "VIF") == 0 || strcmp(c, "VBD") == 0) {
		if (!preserve)
			xv_struct_set(rec, "currently_attached", xv_bool(false));
		set_lookup(rec, t, c[1] == 'I' ? "network" : "VDI");
		set_lookup(rec, t, "VM");
		set_empty(rec, "metrics", 'n');
		set_empty(rec, "current_operations", 's');
		set_empty(rec, "allowed_operations", 'a');
	} else if (strcmp(c, "network") == 0) {
		set_filter(rec, t, "VIFs");
		set_empty(rec, "PIFs", 'a');
		set_empty(rec, "current_operations", 's');
		set_empty(rec, "allowed_operations", 'a');
	} else if (strcmp(c, "VDI") == 0) {
		struct xv *oc = xv_struct_get(rec, "other_config");
		set_filter(rec, t, "VBDs");
		set_empty(rec, "crash_dumps", 'a');
		set_lookup(rec, t, "SR");
		set_empty(rec, "current_operations", 's');
		set_empty(rec, "allowed_operations", 'a');
		if (oc)
			xv_struct_del(oc, "content_of"); /* the simulator's own bookkeeping */
	} else if (strcmp(c, "SR") == 0) {
		set_filter(rec, t, "VDIs");
		set_empty(rec, "PBDs", 'a');
		set_empty(rec, "current_operations", 's');
		set_empty(rec, "allowed_operations", 'a');
	}
	return rec;
}

static struct xv *version_struct(void)
{
	struct obj *h = sim.local_host;
	struct xv *v = xv_struct();
	const char *sv;

#define SV(k, dflt) ((h && (sv = db_map_get(h, "software_version", k))) ? sv : (dflt))
	xv_struct_add(v, "hostname", xv_string(h ? db_str(h, "hostname") : "localhost"));
	xv_struct_add(v, "date", xv_string(SV("date", "2024-10-02")));
	xv_struct_add(v, "product_version", xv_string(SV("product_version", "8.3.0")));
	xv_struct_add(v, "product_brand", xv_string(SV("product_brand", "XCP-ng")));
	xv_struct_add(v, "build_number", xv_string(SV("build_number", "cloud")));
#undef SV
	xv_struct_add(v, "xapi_major", xv_int(h ? db_int(h, "API_version_major") : 2));
	xv_struct_add(v, "xapi_minor", xv_int(h ? db_int(h, "API_version_minor") : 21));
	xv_struct_add(v, "export_vsn", xv_int(2));
	return v;
}

/* export.ml make_all: hosts, VMs, guest metrics, VBDs, VIFs, networks, VDIs, SRs. */
static char *ova_xml(const struct table *t, bool preserve)
{
	static const char *const order[] = {"host", "VM", "VM_guest_metrics", "VBD", "VIF", "network", "VDI", "SR"};
	struct xv *hdr = xv_struct(), *objs = xv_array();
	struct buf b;

	for (size_t k = 0; k < ARRAY_LEN(order); k++)
		for (struct obj *o = db_first(order[k]); o; o = o->cnext) {
			const char *id = t_find(t, o->ref);
			struct xv *e;
			if (!id)
				continue;
			e = xv_struct();
			xv_struct_add(e, "class", xv_string(order[k]));
			xv_struct_add(e, "id", xv_string(id));
			xv_struct_add(e, "snapshot", rewrite(o, t, preserve));
			xv_array_push(objs, e);
		}
	xv_struct_add(hdr, "version", version_struct());
	xv_struct_add(hdr, "objects", objs);
	buf_init(&b);
	xmlrpc_encode_value(&b, hdr, XMLRPC_RAW_NAMES);
	xv_free(hdr);
	return buf_steal(&b);
}

/* ---- the stream ----------------------------------------------------------------- */

struct disk {
	char id[16];
	struct vdata *data;
	uint64_t size;
};

static int disk_cmp(const void *a, const void *b)
{
	return strcmp(((const struct disk *)a)->id, ((const struct disk *)b)->id);
}

/* The response body: plain, gzip or zstd (use_compression=). */
enum comp { C_NONE, C_GZIP, C_ZSTD };

struct out {
	struct hx *h;
	enum comp comp;
	bool gz, failed;
	z_stream z;
	ZSTD_CStream *zs;
	unsigned char zbuf[65536];
};

/* Feeds n bytes to zstd (end: and finishes the frame), writing what comes out. */
static bool zstd_write(struct out *o, const void *p, size_t n, bool end)
{
	ZSTD_inBuffer in = {p, n, 0};
	size_t left;

	do {
		ZSTD_outBuffer zo = {o->zbuf, sizeof(o->zbuf), 0};
		left = ZSTD_compressStream2(o->zs, &zo, &in, end ? ZSTD_e_end : ZSTD_e_continue);
		if (ZSTD_isError(left)) {
			o->failed = true;
			break;
		}
		if (zo.pos)
			o->failed = !hx_write(o->h, o->zbuf, zo.pos);
	} while (!o->failed && (in.pos < in.size || (end && left != 0)));
	return !o->failed;
}

static bool out_write(struct out *o, const void *p, size_t n)
{
	if (o->failed)
		return false;
	if (o->comp == C_ZSTD)
		return zstd_write(o, p, n, false);
	if (!o->gz) {
		o->failed = !hx_write(o->h, p, n);
		return !o->failed;
	}
	o->z.next_in = (unsigned char *)(uintptr_t)p;
	o->z.avail_in = (uInt)n;
	while (o->z.avail_in && !o->failed) {
		o->z.next_out = o->zbuf;
		o->z.avail_out = sizeof(o->zbuf);
		deflate(&o->z, Z_NO_FLUSH);
		if (o->z.avail_out < sizeof(o->zbuf))
			o->failed = !hx_write(o->h, o->zbuf, sizeof(o->zbuf) - o->z.avail_out);
	}
	return !o->failed;
}

static bool out_finish(struct out *o)
{
	int rc = Z_OK;

	if (o->comp == C_ZSTD)
		return !o->failed && zstd_write(o, NULL, 0, true);
	if (!o->gz)
		return !o->failed;
	while (!o->failed && rc != Z_STREAM_END) {
		o->z.next_out = o->zbuf;
		o->z.avail_out = sizeof(o->zbuf);
		rc = deflate(&o->z, Z_FINISH);
		if (o->z.avail_out < sizeof(o->zbuf))
			o->failed = !hx_write(o->h, o->zbuf, sizeof(o->zbuf) - o->z.avail_out);
	}
	return !o->failed;
}

static bool out_member(struct out *o, const char *name, const void *data, size_t len)
{
	unsigned char hdr[TAR_BLOCK];
	static const unsigned char zeros[TAR_BLOCK];

	tar_header(hdr, name, len);
	return out_write(o, hdr, sizeof(hdr)) && out_write(o, data, len) && out_write(o, zeros, tar_padding(len));
}

/* Streams the disks; NULL or the error that stopped it. */
static struct xv *send_disks(struct hx *h, struct out *o, struct disk *d, size_t nd)
{
	unsigned char *buf = xmalloc(VDATA_BLOCK);
	uint64_t total = 0, done = 0;
	struct xv *err = NULL;

	for (size_t i = 0; i < nd; i++)
		total += d[i].size;
	for (size_t i = 0; i < nd && !err; i++) {
		uint64_t chunks = (d[i].size + VDATA_BLOCK - 1) / VDATA_BLOCK;
		for (uint64_t c = 0; c < chunks && !err; c++) {
			uint64_t off = c * VDATA_BLOCK;
			size_t len = (size_t)(d[i].size - off < VDATA_BLOCK ? d[i].size - off : VDATA_BLOCK);
			char name[64], sum[24];

			done += len;
			if (!hx_progress(h, total ? (double)done / (double)total : 1, false)) {
				err = err_new("TASK_CANCELLED", h->task, NULL);
				break;
			}
			if (c != 0 && c != chunks - 1 && vdata_is_zero(d[i].data, off, len))
				continue;
			vdata_read(d[i].data, off, buf, len);
			snprintf(sum, sizeof(sum), "%016llX", (unsigned long long)XXH64(buf, len, 0));
			snprintf(name, sizeof(name), "%s/%08llu", d[i].id, (unsigned long long)c);
			if (!out_member(o, name, buf, len))
				break;
			strcat(name, ".xxhash");
			if (!out_member(o, name, sum, 16))
				break;
		}
	}
	if (!err && o->failed)
		err = err_new("CLIENT_ERROR", "The client closed the connection during the export", NULL);
	free(buf);
	return err;
}

/* ---- the handler ------------------------------------------------------------------ */

static char *lower(const char *s)
{
	char *l = xstrdup(s);

	for (char *p = l; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	return l;
}

/* Why xapi would not export it now (VM_lifecycle's checks), or NULL. */
static struct xv *export_refused(struct obj *vm)
{
	const struct xv *cur = db_field(vm, "current_operations");

	if (db_set_has(vm, "allowed_operations", "export"))
		return NULL;
	if (xv_len(cur) > 0) {
		const char *task = cur->u.st.m[0].k;
		return err_new("OTHER_OPERATION_IN_PROGRESS", "VM", vm->ref, xv_str(cur->u.st.m[0].v), task, NULL);
	}
	if (db_bool(vm, "is_control_domain"))
		return err_new("OPERATION_NOT_ALLOWED", "This operation is not allowed on a control domain", NULL);
	{
		char *actual = lower(db_str(vm, "power_state"));
		struct xv *e = err_new("VM_BAD_POWER_STATE", vm->ref, "halted, suspended", actual, NULL);
		free(actual);
		return e;
	}
}

bool handle_export(struct http_req *r)
{
	struct hx h;
	char *ref = http_param(r, "ref"), *uuid = http_param(r, "uuid"), *comp = http_param(r, "use_compression");
	bool preserve = hx_flag(r, "preserve_power_state");
	bool gz = comp && (strcmp(comp, "true") == 0 || strcmp(comp, "gzip") == 0);
	bool zstd = comp && strcmp(comp, "zstd") == 0;
	struct table t = {NULL, NULL, 0, 0};
	struct disk *disks = NULL;
	size_t nd = 0;
	char *xml = NULL, vm_ref[REF_LEN] = "";
	struct xv *err = NULL;
	struct out *o = NULL;
	int status = 200;
	struct obj *vm;

	if (!hx_auth(&h, r, "VM.export"))
		goto out_noauth;
	db_lock();
	vm = ref ? db_get(schema_class("VM"), ref) : uuid ? db_by_uuid(schema_class("VM"), uuid) : NULL;
	if (!hx_task(&h, "VM.export")) {
		status = 500;
	} else if (!vm) {
		err = ref ? err_handle("VM", ref) : err_new("UUID_INVALID", "VM", uuid ? uuid : "", NULL);
		status = 500;
	} else if ((err = export_refused(vm))) {
		status = 500;
	} else {
		const struct xv *vbds = db_field(vm, "VBDs");
		fill_table(&t, vm, preserve);
		xml = ova_xml(&t, preserve);
		disks = xcalloc(xv_len(vbds) + 1, sizeof(*disks));
		if (preserve && strcmp(db_str(vm, "power_state"), "Suspended") == 0 && db_ref(vm, "suspend_VDI")) {
			struct obj *s = db_ref(vm, "suspend_VDI");
			snprintf(disks[nd].id, sizeof(disks[nd].id), "%s", t_find(&t, s->ref));
			disks[nd].size = (uint64_t)db_int(s, "virtual_size");
			disks[nd++].data = vdata_get(s);
		}
		for (size_t i = 0; i < xv_len(vbds); i++) {
			struct obj *vbd = db_find(xv_str(xv_at(vbds, i)));
			struct obj *vdi = vbd ? db_ref(vbd, "VDI") : NULL;
			struct obj *sr = vdi ? db_ref(vdi, "SR") : NULL;
			bool seen = false;
			if (!vdi || strcmp(db_str(vbd, "type"), "CD") == 0 || (sr && strcmp(db_str(sr, "content_type"), "iso") == 0))
				continue;
			for (size_t k = 0; k < nd; k++)
				seen = seen || strcmp(disks[k].id, t_find(&t, vdi->ref)) == 0;
			if (seen)
				continue; /* the same disk on two VBDs goes once */
			snprintf(disks[nd].id, sizeof(disks[nd].id), "%s", t_find(&t, vdi->ref));
			disks[nd].size = db_int(vdi, "virtual_size") > 0 ? (uint64_t)db_int(vdi, "virtual_size") : 0;
			disks[nd++].data = vdata_get(vdi);
		}
		qsort(disks, nd, sizeof(*disks), disk_cmp);
		/* the VM is busy exporting, as with_vm_locked does */
		db_map_put(vm, "current_operations", h.task, "export");
		vm_refresh_ops(vm);
		snprintf(vm_ref, sizeof(vm_ref), "%s", vm->ref);
		db_set_float(db_get(schema_class("task"), h.task), "progress", 0.0);
	}
	if (status != 200 && err)
		hx_finish_locked(&h, NULL, err);
	db_unlock();
	if (status != 200) {
		hx_error(r, status, err ? xv_str(xv_at(err, 0)) : "No such task");
		goto out;
	}

	{
		char *head = xasprintf("Connection: close\r\nCache-Control: no-cache, no-store\r\ntask-id: %s\r\n"
				       "Server: xapi/25.6\r\ncontent-type: application/octet-stream\r\n"
				       "Content-Disposition: attachment; filename=\"export.xva\"\r\n",
				       h.task);
		static const unsigned char end[2 * TAR_BLOCK];
		bool ok;

		hx_arm_cut(&h);
		ok = hx_head(&h, "1.0", 200, head);

		free(head);
		o = xcalloc(1, sizeof(*o));
		o->h = &h;
		o->gz = gz;
		o->comp = gz ? C_GZIP : zstd ? C_ZSTD : C_NONE;
		o->failed = !ok;
		if (gz)
			deflateInit2(&o->z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
		if (zstd) {
			/* xapi pipes the tar through "zstd" at its default level */
			o->zs = ZSTD_createCStream();
			ZSTD_CCtx_setParameter(o->zs, ZSTD_c_compressionLevel, 3);
		}
		if (out_member(o, "ova.xml", xml, strlen(xml)))
			err = send_disks(&h, o, disks, nd);
		if (!err && !(out_write(o, end, sizeof(end)) && out_finish(o)))
			err = err_new("CLIENT_ERROR", "The client closed the connection during the export", NULL);
		if (gz)
			deflateEnd(&o->z);
		ZSTD_freeCStream(o->zs);
	}
	db_lock();
	vm = db_get(schema_class("VM"), vm_ref);
	if (vm) {
		db_map_del(vm, "current_operations", h.task);
		vm_refresh_ops(vm);
	}
	hx_finish_locked(&h, NULL, err);
	db_unlock();
out:
	hx_end(&h);
out_noauth:
	for (size_t i = 0; i < nd; i++)
		vdata_put(disks[i].data);
	free(disks);
	free(o);
	xv_free(err);
	free(xml);
	t_free(&t);
	free(ref);
	free(uuid);
	free(comp);
	return false;
}
