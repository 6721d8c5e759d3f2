/* PUT /import?session_id=&sr_id=|sr_uuid=[&task_id=][&restore=true][&force=true]
 * (ocaml/xapi/import.ml, stream_vdi.ml): reads an XVA (plain or gzip) to
 * EOF or Content-Length, creates the VM, its disks (with the bytes sent),
 * VBDs, VIFs and any missing network, checks every chunk's checksum, and
 * reports through the task: 200 and task-id are sent before the body is
 * read. On failure everything it created is removed again (unless force). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>
#include <zlib.h>
#include <zstd.h>
#include <openssl/sha.h>

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

#define MAX_OVA_XML (64 << 20)

/* ---- the body: plain, gzip or zstd ------------------------------------------------ */

struct xin {
	struct hx *h;
	bool gz, zend;
	z_stream z;
	ZSTD_DStream *zs; /* non-NULL: a zstd stream */
	size_t zs_pos, zs_len; /* the part of raw zstd has not taken yet */
	unsigned char raw[65536];
	unsigned char peek[4];
	size_t npeek, peek_at;
};

static ssize_t raw_read(struct xin *x, void *p, size_t n)
{
	if (x->peek_at < x->npeek) {
		size_t k = x->npeek - x->peek_at < n ? x->npeek - x->peek_at : n;
		memcpy(p, x->peek + x->peek_at, k);
		x->peek_at += k;
		return (ssize_t)k;
	}
	return hx_read(x->h, p, n);
}

/* As xapi's import does, tells gzip and zstd from a plain tar by their
 * magic bytes (1f 8b; 28 b5 2f fd). */
static void xin_start(struct xin *x, struct hx *h)
{
	memset(x, 0, sizeof(*x));
	x->h = h;
	while (x->npeek < sizeof(x->peek)) {
		ssize_t r = hx_read(h, x->peek + x->npeek, sizeof(x->peek) - x->npeek);
		if (r <= 0)
			break;
		x->npeek += (size_t)r;
	}
	if (x->npeek >= 2 && x->peek[0] == 0x1f && x->peek[1] == 0x8b) {
		x->gz = true;
		inflateInit2(&x->z, 15 + 16);
	} else if (x->npeek == 4 && memcmp(x->peek, "\x28\xb5\x2f\xfd", 4) == 0) {
		x->zs = ZSTD_createDStream();
		ZSTD_initDStream(x->zs);
	}
}

static void xin_end(struct xin *x)
{
	if (x->gz)
		inflateEnd(&x->z);
	ZSTD_freeDStream(x->zs);
	x->zs = NULL;
}

/* zstd: 1 filled, 0 the stream ended first, -1 corrupt. */
static int zstd_full(struct xin *x, unsigned char *q, size_t n)
{
	while (n) {
		ZSTD_outBuffer out = {q, n, 0};
		ZSTD_inBuffer in;
		size_t rc;

		if (x->zs_pos == x->zs_len) {
			ssize_t r = raw_read(x, x->raw, sizeof(x->raw));
			if (r <= 0)
				return 0;
			x->zs_pos = 0;
			x->zs_len = (size_t)r;
		}
		in.src = x->raw;
		in.size = x->zs_len;
		in.pos = x->zs_pos;
		rc = ZSTD_decompressStream(x->zs, &out, &in);
		if (ZSTD_isError(rc))
			return -1;
		x->zs_pos = in.pos;
		q += out.pos;
		n -= out.pos;
	}
	return 1;
}

/* 1: filled, 0: the stream ended first, -1: corrupt compression. */
static int xin_full(struct xin *x, void *p, size_t n)
{
	unsigned char *q = p;

	if (x->zs)
		return zstd_full(x, q, n);
	while (n) {
		if (!x->gz) {
			ssize_t r = raw_read(x, q, n);
			if (r <= 0)
				return 0;
			q += r;
			n -= (size_t)r;
			continue;
		}
		if (x->zend)
			return 0;
		if (x->z.avail_in == 0) {
			ssize_t r = raw_read(x, x->raw, sizeof(x->raw));
			if (r <= 0)
				return 0;
			x->z.next_in = x->raw;
			x->z.avail_in = (uInt)r;
		}
		x->z.next_out = q;
		x->z.avail_out = (uInt)(n > (1u << 30) ? (1u << 30) : n);
		{
			uInt before = x->z.avail_out;
			int rc = inflate(&x->z, Z_NO_FLUSH);
			size_t got = before - x->z.avail_out;
			if (rc == Z_STREAM_END)
				x->zend = true;
			else if (rc != Z_OK && rc != Z_BUF_ERROR)
				return -1;
			q += got;
			n -= got;
		}
	}
	return 1;
}

/* ---- import state --------------------------------------------------------------- */

struct idmap {
	char id[64];
	char ref[REF_LEN];
};

struct imp {
	struct hx *h;
	struct xin in;
	bool force, restore;
	char sr[REF_LEN];
	const struct xv *objects;
	struct idmap *map;
	size_t nmap;
	char (*made)[REF_LEN]; /* what to remove if the import fails */
	size_t nmade;
	struct xv *vms;
	int ova_major, ova_minor, vsn;
};

static void map_put(struct imp *m, const char *id, const char *ref)
{
	m->map = xrealloc(m->map, (m->nmap + 1) * sizeof(*m->map));
	snprintf(m->map[m->nmap].id, sizeof(m->map[0].id), "%s", id);
	snprintf(m->map[m->nmap].ref, REF_LEN, "%s", ref);
	m->nmap++;
}

static struct obj *map_get(const struct imp *m, const char *id)
{
	for (size_t i = 0; id && i < m->nmap; i++)
		if (strcmp(m->map[i].id, id) == 0)
			return db_find(m->map[i].ref);
	return NULL;
}

static void made(struct imp *m, const struct obj *o)
{
	m->made = xrealloc(m->made, (m->nmade + 1) * sizeof(*m->made));
	snprintf(m->made[m->nmade++], REF_LEN, "%s", o->ref);
}

static const char *sget(const struct xv *snap, const char *k)
{
	const char *s = xv_str(xv_struct_get(snap, k));

	return s ? s : "";
}

static bool bget(const struct xv *snap, const char *k)
{
	bool b = false;

	xv_get_bool(xv_struct_get(snap, k), &b);
	return b;
}

static const struct xv *find_snapshot(const struct imp *m, const char *id)
{
	for (size_t i = 0; i < xv_len(m->objects); i++) {
		const struct xv *o = xv_at(m->objects, i);
		if (strcmp(sget(o, "id"), id) == 0)
			return xv_struct_get(o, "snapshot");
	}
	return NULL;
}

static bool in_list(const char *f, const char *const *skip)
{
	for (; skip && *skip; skip++)
		if (strcmp(f, *skip) == 0)
			return true;
	return false;
}

/* Copies a record's plain fields; references, the uuid and operations
 * are the importer's business. */
static void set_fields(struct obj *o, const struct xv *snap, const char *const *skip)
{
	if (!snap || snap->type != XV_STRUCT)
		return;
	for (size_t i = 0; i < snap->n; i++) {
		const char *k = snap->u.st.m[i].k;
		int f = schema_field(o->cls, k);
		const struct ty *t;
		const char *why = NULL;
		struct xv *v;

		if (f < 0 || in_list(k, skip) || strcmp(k, "uuid") == 0 || strcmp(k, "allowed_operations") == 0
		    || strcmp(k, "current_operations") == 0)
			continue;
		t = o->cls->ftype[f];
		if (t->kind == TY_REF || ((t->kind == TY_SET || t->kind == TY_OPTION) && t->a->kind == TY_REF)
		    || (t->kind == TY_MAP && (t->a->kind == TY_REF || t->b->kind == TY_REF)))
			continue;
		if ((v = ty_coerce(t, snap->u.st.m[i].v, &why)))
			db_set(o, k, v);
	}
}

static void random_mac(char mac[18])
{
	uint64_t r = db_rand();

	snprintf(mac, 18, "%02x:%02x:%02x:%02x:%02x:%02x", (unsigned)((r & 0xfc) | 2), (unsigned)(r >> 8) & 255,
		 (unsigned)(r >> 16) & 255, (unsigned)(r >> 24) & 255, (unsigned)(r >> 32) & 255,
		 (unsigned)(r >> 40) & 255);
}

/* ---- one handler per class, in import.ml's order ------------------------------------ */

static struct xv *on_host(struct imp *m, const char *id, const struct xv *snap)
{
	struct obj *h = db_by_uuid(schema_class("host"), sget(snap, "uuid"));

	if (h)
		map_put(m, id, h->ref);
	return NULL;
}

static struct xv *on_sr(struct imp *m, const char *id, const struct xv *snap)
{
	if (strcmp(sget(snap, "content_type"), "iso") != 0)
		map_put(m, id, m->sr);
	return NULL;
}

static bool sr_is_iso(const struct imp *m, const char *id)
{
	const struct xv *sr = find_snapshot(m, id);

	return sr && strcmp(sget(sr, "content_type"), "iso") == 0;
}

static struct xv *on_vdi(struct imp *m, const char *id, const struct xv *snap)
{
	struct obj *sr, *vdi;
	int64_t size = 0;

	if (sr_is_iso(m, sget(snap, "SR"))) {
		/* best effort: the same ISO in one of our ISO libraries */
		for (struct obj *o = db_first("VDI"); o; o = o->cnext) {
			struct obj *osr = db_ref(o, "SR");
			if (osr && strcmp(db_str(osr, "content_type"), "iso") == 0 && strcmp(db_str(osr, "type"), "udev") != 0
			    && strcmp(db_str(o, "location"), sget(snap, "location")) == 0) {
				map_put(m, id, o->ref);
				break;
			}
		}
		return NULL;
	}
	if (!(sr = map_get(m, sget(snap, "SR"))))
		return err_new("IMPORT_ERROR_FAILED_TO_FIND_OBJECT", sget(snap, "SR"), NULL);
	xv_get_int64(xv_struct_get(snap, "virtual_size"), &size);
	if (size < 0)
		return err_new("INVALID_VALUE", "virtual_size", sget(snap, "virtual_size"), NULL);
	if (db_int(sr, "physical_size") > 0 && db_int(sr, "physical_utilisation") + size / 4 > db_int(sr, "physical_size"))
		return err_new("SR_BACKEND_FAILURE_44", "", "There is insufficient space", NULL);
	vdi = db_create_named("VDI");
	made(m, vdi);
	set_fields(vdi, snap, (const char *const[]){"location", "physical_utilisation", "managed", "missing",
						    "storage_lock", "is_tools_iso", "sm_config", NULL});
	db_set_ref(vdi, "SR", sr);
	db_set_str(vdi, "location", db_str(vdi, "uuid"));
	db_set_bool(vdi, "managed", true);
	db_set_int(vdi, "physical_utilisation", 0);
	{
		/* xapi tells the SM backend it is an import */
		struct xv *smc = xv_struct_get(snap, "sm_config") ? xv_copy(xv_struct_get(snap, "sm_config")) : xv_struct();
		if (smc->type != XV_STRUCT) {
			xv_free(smc);
			smc = xv_struct();
		}
		xv_struct_del(smc, "import_task");
		xv_struct_add(smc, "import_task", xv_string(m->h->task));
		db_set(vdi, "sm_config", smc);
	}
	db_map_del(vdi, "other_config", "content_of");
	vdata_mark_blank(vdi);
	{
		struct xv *ops = xv_array();
		static const char *const names[] = {"clone", "copy", "resize", "destroy", "snapshot", "update", "forget"};
		for (size_t i = 0; i < ARRAY_LEN(names); i++)
			xv_array_push(ops, xv_string(names[i]));
		db_set(vdi, "allowed_operations", ops);
	}
	sr_refresh_usage(sr);
	map_put(m, id, vdi->ref);
	return NULL;
}

static struct xv *on_guest_metrics(struct imp *m, const char *id, const struct xv *snap)
{
	struct obj *g = db_create_named("VM_guest_metrics");

	made(m, g);
	set_fields(g, snap, NULL);
	map_put(m, id, g->ref);
	return NULL;
}

static struct xv *on_vm(struct imp *m, const char *id, const struct xv *snap)
{
	struct obj *vm, *o;
	int64_t version = 0;

	if (bget(snap, "is_default_template")) {
		/* a default template: the one of that name here */
		for (o = db_first("VM"); o; o = o->cnext)
			if (db_bool(o, "is_default_template") && strcmp(db_str(o, "name_label"), sget(snap, "name_label")) == 0)
				break;
		map_put(m, id, o ? o->ref : "OpaqueRef:NULL");
		return NULL;
	}
	vm = db_create_named("VM");
	made(m, vm);
	set_fields(vm, snap, (const char *const[]){"power_state", "domid", "version", "is_control_domain", "domarch",
						   "is_default_template", NULL});
	db_map_del(vm, "other_config", "grant_api_access");
	if (!m->restore) {
		char seed[37];
		db_new_uuid(seed);
		db_map_put(vm, "other_config", "mac_seed", seed);
	}
	db_map_put(vm, "other_config", "import_task", m->h->task);
	xv_get_int64(xv_struct_get(snap, "version"), &version);
	db_set_int(vm, "version", m->restore ? version + 1 : 0);
	vm_set_power(vm, "Halted", NULL);
	if ((o = map_get(m, sget(snap, "affinity"))) && strcmp(o->cls->name, "host") == 0)
		db_set_ref(vm, "affinity", o);
	if ((o = map_get(m, sget(snap, "guest_metrics"))) && strcmp(o->cls->name, "VM_guest_metrics") == 0)
		db_set_ref(vm, "guest_metrics", o);
	if (!m->force)
		db_map_put(vm, "current_operations", m->h->task, "import");
	vm_refresh_ops(vm);
	map_put(m, id, vm->ref);
	if (!db_bool(vm, "is_a_snapshot"))
		xv_array_push(m->vms, xv_string(vm->ref));
	return NULL;
}

/* By name, then by bridge, as import.ml: networks are the user's to match. */
static struct xv *on_network(struct imp *m, const char *id, const struct xv *snap)
{
	struct obj *n;

	for (n = db_first("network"); n; n = n->cnext)
		if (strcmp(db_str(n, "name_label"), sget(snap, "name_label")) == 0)
			break;
	for (struct obj *o = db_first("network"); !n && o; o = o->cnext)
		if (strcmp(db_str(o, "bridge"), sget(snap, "bridge")) == 0)
			n = o;
	if (!n) {
		n = db_create_named("network");
		made(m, n);
		set_fields(n, snap, NULL);
		db_map_put(n, "other_config", "import_task", m->h->task);
	}
	map_put(m, id, n->ref);
	return NULL;
}

static struct xv *on_vbd(struct imp *m, const char *id, const struct xv *snap)
{
	struct obj *vm = map_get(m, sget(snap, "VM")), *vdi = map_get(m, sget(snap, "VDI")), *vbd;
	const char *type = sget(snap, "type");
	bool disk = strcasecmp(type, "Disk") == 0;

	if (!vm || strcmp(vm->cls->name, "VM") != 0)
		return err_new("IMPORT_ERROR_FAILED_TO_FIND_OBJECT", sget(snap, "VM"), NULL);
	if (vdi && strcmp(vdi->cls->name, "VDI") != 0)
		vdi = NULL;
	if (!vdi && bget(snap, "currently_attached") && disk)
		return err_new("IMPORT_ERROR_ATTACHED_DISKS_NOT_FOUND", NULL);
	if (!vdi && disk)
		return NULL; /* an ISO attached as a disk: left out */
	vbd = vm_add_vbd(vm, vdi, sget(snap, "userdevice"), disk ? "Disk" : type, sget(snap, "mode"), bget(snap, "bootable"));
	made(m, vbd);
	set_fields(vbd, snap, (const char *const[]){"empty", "currently_attached", NULL});
	db_set_bool(vbd, "empty", vdi == NULL);
	db_set_bool(vbd, "currently_attached", false);
	map_put(m, id, vbd->ref);
	return NULL;
}

static struct xv *on_vif(struct imp *m, const char *id, const struct xv *snap)
{
	struct obj *vm = map_get(m, sget(snap, "VM")), *net = map_get(m, sget(snap, "network")), *vif;
	char mac[18];

	if (!vm || strcmp(vm->cls->name, "VM") != 0)
		return err_new("IMPORT_ERROR_FAILED_TO_FIND_OBJECT", sget(snap, "VM"), NULL);
	if (!net || strcmp(net->cls->name, "network") != 0)
		return err_new("IMPORT_ERROR_FAILED_TO_FIND_OBJECT", sget(snap, "network"), NULL);
	/* a new VM gets new MACs; a restore keeps them. import.ml blanks the
	 * MAC, so VIF.create derives it from the VM's (new) mac_seed */
	if (m->restore && *sget(snap, "MAC"))
		snprintf(mac, sizeof(mac), "%s", sget(snap, "MAC"));
	else if (db_map_get(vm, "other_config", "mac_seed"))
		vif_gen_mac(db_map_get(vm, "other_config", "mac_seed"), atoi(sget(snap, "device")), mac);
	else
		random_mac(mac);
	vif = vm_add_vif(vm, net, sget(snap, "device"), mac);
	made(m, vif);
	set_fields(vif, snap, (const char *const[]){"MAC", "MAC_autogenerated", "currently_attached", NULL});
	db_set_bool(vif, "MAC_autogenerated", !(m->restore && *sget(snap, "MAC")) || bget(snap, "MAC_autogenerated"));
	db_set_bool(vif, "currently_attached", false);
	map_put(m, id, vif->ref);
	return NULL;
}

static struct xv *create_objects(struct imp *m)
{
	static const struct {
		const char *cls;
		struct xv *(*fn)(struct imp *, const char *, const struct xv *);
	} handlers[] = {
		{"host", on_host},	   {"SR", on_sr},	    {"VDI", on_vdi}, {"VM_guest_metrics", on_guest_metrics},
		{"VM", on_vm},		   {"network", on_network}, {"VBD", on_vbd}, {"VIF", on_vif},
	};
	for (size_t k = 0; k < ARRAY_LEN(handlers); k++)
		for (size_t i = 0; i < xv_len(m->objects); i++) {
			const struct xv *o = xv_at(m->objects, i), *snap = xv_struct_get(o, "snapshot");
			struct xv *err;
			if (strcmp(sget(o, "class"), handlers[k].cls) != 0)
				continue;
			if (!snap || snap->type != XV_STRUCT)
				return err_new("IMPORT_ERROR", "Invalid XVA file: an object has no snapshot", NULL);
			if ((err = handlers[k].fn(m, sget(o, "id"), snap)))
				return err;
		}
	return NULL;
}

/* Undoes create_objects, newest first (database locked). */
static void cleanup(struct imp *m)
{
	for (size_t i = m->nmade; i-- > 0;) {
		struct obj *o = db_find(m->made[i]);
		struct obj *sr;
		if (!o)
			continue;
		if (strcmp(o->cls->name, "VM") == 0) {
			db_map_del(o, "current_operations", m->h->task);
			vm_destroy(o, false);
		} else if (strcmp(o->cls->name, "VDI") == 0) {
			sr = db_ref(o, "SR");
			db_delete(o);
			if (sr)
				sr_refresh_usage(sr);
		} else {
			db_delete(o);
		}
	}
}

/* ---- the archive ------------------------------------------------------------------- */

/* 1: a member header; 0: premature end; -1 (with *err): unreadable. */
static int next_header(struct imp *m, char *name, size_t namelen, uint64_t *size, struct xv **err)
{
	unsigned char hdr[TAR_BLOCK];
	int rc = xin_full(&m->in, hdr, sizeof(hdr));

	if (rc <= 0) {
		*err = rc < 0 ? err_new("IMPORT_ERROR", "The compressed stream is corrupt", NULL)
			      : err_new("IMPORT_ERROR_PREMATURE_EOF", NULL);
		return -1;
	}
	switch (tar_parse(hdr, name, namelen, size)) {
	case TAR_FILE:
		return 1;
	case TAR_END:
		*err = err_new("IMPORT_ERROR_PREMATURE_EOF", NULL);
		return 0;
	default:
		*err = err_new("IMPORT_ERROR", "Invalid XVA file: bad tar header", NULL);
		return -1;
	}
}

static struct xv *skip_bytes(struct imp *m, uint64_t n)
{
	unsigned char buf[TAR_BLOCK];

	while (n) {
		size_t k = n < sizeof(buf) ? (size_t)n : sizeof(buf);
		int rc = xin_full(&m->in, buf, k);
		if (rc <= 0)
			return rc < 0 ? err_new("IMPORT_ERROR", "The compressed stream is corrupt", NULL)
				      : err_new("IMPORT_ERROR_PREMATURE_EOF", NULL);
		n -= k;
	}
	return NULL;
}

static struct xv *read_member(struct imp *m, void *p, uint64_t size)
{
	int rc = xin_full(&m->in, p, (size_t)size);

	if (rc <= 0)
		return rc < 0 ? err_new("IMPORT_ERROR", "The compressed stream is corrupt", NULL)
			      : err_new("IMPORT_ERROR_PREMATURE_EOF", NULL);
	return skip_bytes(m, tar_padding(size));
}

/* Reads ova.xml into the header value *out. */
static struct xv *read_ova(struct imp *m, struct xv **out)
{
	char name[256];
	uint64_t size;
	struct xv *err = NULL;
	char *xml;
	struct buf b;
	struct xmlrpc_msg msg;
	char *why = NULL;
	const char *start;

	if (next_header(m, name, sizeof(name), &size, &err) <= 0)
		return err;
	if (strcmp(name, "ova.xml") != 0)
		return err_new("IMPORT_ERROR_UNEXPECTED_FILE", "ova.xml", name, NULL);
	if (size > MAX_OVA_XML)
		return err_new("IMPORT_ERROR", "ova.xml is too large", NULL);
	xml = xmalloc((size_t)size + 1);
	if ((err = read_member(m, xml, size))) {
		free(xml);
		return err;
	}
	xml[size] = '\0';
	start = xml;
	if (strncmp(start, "<?xml", 5) == 0 && strstr(start, "?>"))
		start = strstr(start, "?>") + 2;
	/* ova.xml is one bare <value>: decode it as a response's parameter */
	buf_init(&b);
	buf_puts(&b, "<?xml version=\"1.0\"?><methodResponse><params><param>");
	buf_puts(&b, start);
	buf_puts(&b, "</param></params></methodResponse>");
	free(xml);
	if (!xmlrpc_decode(b.data, b.len, &msg, &why)) {
		err = hx_err("IMPORT_ERROR", "Invalid XVA file: ova.xml: %s", why ? why : "not XML-RPC");
		free(why);
		buf_free(&b);
		return err;
	}
	buf_free(&b);
	if (msg.params && xv_len(msg.params) == 1) {
		*out = xv_copy(xv_at(msg.params, 0));
	}
	xmlrpc_msg_free(&msg);
	if (!*out || (*out)->type != XV_STRUCT || !xv_struct_get(*out, "objects")
	    || xv_struct_get(*out, "objects")->type != XV_ARRAY || !xv_struct_get(*out, "version")) {
		xv_free(*out);
		*out = NULL;
		return err_new("IMPORT_ERROR", "Invalid XVA file: ova.xml has no version and objects", NULL);
	}
	return NULL;
}

struct disk {
	char id[64];
	struct vdata *data;
	uint64_t size;
};

static int disk_cmp(const void *a, const void *b)
{
	return strcmp(((const struct disk *)a)->id, ((const struct disk *)b)->id);
}

/* stream_vdi.ml recv_all: the disks' chunks, in the order of their ids. */
static struct xv *recv_disks(struct imp *m, struct disk *d, size_t nd)
{
	unsigned char *buf = xmalloc(VDATA_BLOCK);
	uint64_t total = 0, done = 0;
	int64_t first_len = -1;
	struct xv *err = NULL;

	for (size_t i = 0; i < nd; i++)
		total += d[i].size;
	for (size_t i = 0; i < nd && !err; i++) {
		uint64_t offset = 0;
		char last[64] = "-1";
		size_t plen = strlen(d[i].id);

		while (offset < d[i].size && !err) {
			char name[256], csum_name[256], want[128] = "", got[48];
			uint64_t len, clen, skipped;
			const char *suffix;
			long long zeros;

			if (next_header(m, name, sizeof(name), &len, &err) <= 0)
				break;
			if (first_len < 0)
				first_len = (int64_t)len;
			if (strncmp(name, d[i].id, plen) != 0 || name[plen] != '/') {
				err = hx_err("IMPORT_ERROR", "Invalid XVA file: expected a chunk of %s, found %s", d[i].id, name);
				break;
			}
			suffix = name + plen + 1;
			if (strcmp(suffix, last) <= 0 || len > VDATA_BLOCK) {
				err = hx_err("IMPORT_ERROR", "Invalid XVA file: chunk %s out of order", name);
				break;
			}
			zeros = atoll(suffix) - atoll(last) - 1;
			if (zeros > 0 && first_len > 0 && (uint64_t)zeros > d[i].size / (uint64_t)first_len) {
				err = hx_err("IMPORT_ERROR", "Invalid XVA file: %s goes past the end of the disk", name);
				break;
			}
			skipped = zeros > 0 ? (uint64_t)first_len * (uint64_t)zeros : 0;
			if ((err = read_member(m, buf, len)))
				break;
			if (offset + skipped + len > d[i].size) {
				err = hx_err("IMPORT_ERROR", "Invalid XVA file: %s goes past the end of the disk", name);
				break;
			}
			if (!vdata_write(d[i].data, offset + skipped, buf, (size_t)len)) {
				err = err_new("SR_BACKEND_FAILURE_44", "", "There is insufficient space", NULL);
				break;
			}
			if (next_header(m, csum_name, sizeof(csum_name), &clen, &err) <= 0)
				break;
			{
				size_t nl = strlen(name);
				const char *ext = strncmp(csum_name, name, nl) == 0 ? csum_name + nl : "";
				if (strcmp(ext, ".xxhash") == 0) {
					snprintf(got, sizeof(got), "%016llX", (unsigned long long)XXH64(buf, (size_t)len, 0));
				} else if (strcmp(ext, ".checksum") == 0) {
					unsigned char sha[SHA_DIGEST_LENGTH];
					SHA1(buf, (size_t)len, sha);
					for (int k = 0; k < SHA_DIGEST_LENGTH; k++)
						snprintf(got + 2 * k, 3, "%02x", sha[k]);
				} else {
					err = hx_err("IMPORT_ERROR", "Found unsupported checksum file: %s", csum_name);
					break;
				}
			}
			if (clen >= sizeof(want)) {
				err = hx_err("IMPORT_ERROR", "Invalid XVA file: %s is too long", csum_name);
				break;
			}
			if ((err = read_member(m, want, clen)))
				break;
			want[clen] = '\0';
			if (m->vsn > 0 && strcmp(want, got) != 0 && !m->force) {
				err = hx_err("IMPORT_ERROR",
					     "Stream_vdi.Invalid_checksum(\"Block %s checksum failed: original = %s; recomputed = %s\")",
					     name, want, got);
				break;
			}
			offset += skipped + len;
			done += skipped + len;
			snprintf(last, sizeof(last), "%s", suffix);
			if (!hx_progress(m->h, total ? (double)done / (double)total : 1, false)) {
				err = err_new("TASK_CANCELLED", m->h->task, NULL);
				break;
			}
		}
	}
	free(buf);
	return err;
}

/* Everything after the 200: header, objects, disks. NULL on success. */
static struct xv *run_import(struct imp *m)
{
	struct xv *hdr = NULL, *err;
	struct disk *disks = NULL;
	size_t nd = 0;
	int64_t major = 0, minor = 0, vsn = 0;

	if ((err = read_ova(m, &hdr)))
		return err;
	m->objects = xv_struct_get(hdr, "objects");
	xv_get_int64(xv_struct_get(xv_struct_get(hdr, "version"), "xapi_major"), &major);
	xv_get_int64(xv_struct_get(xv_struct_get(hdr, "version"), "xapi_minor"), &minor);
	xv_get_int64(xv_struct_get(xv_struct_get(hdr, "version"), "export_vsn"), &vsn);
	m->vsn = (int)vsn;
	db_lock();
	if (major > 2 || (major == 2 && minor > 21)) {
		err = err_new("IMPORT_INCOMPATIBLE_VERSION", NULL);
	} else if (!db_find(m->sr)) {
		err = err_handle("SR", m->sr);
	} else if (!(err = create_objects(m))) {
		struct obj *t = db_get(schema_class("task"), m->h->task);
		if (t)
			db_map_put(t, "other_config", "object_creation", "complete");
		/* non-CD disks not on ISO SRs (and suspend images) get streamed */
		disks = xcalloc(xv_len(m->objects) + 1, sizeof(*disks));
		for (size_t i = 0; i < xv_len(m->objects); i++) {
			const struct xv *o = xv_at(m->objects, i), *snap = xv_struct_get(o, "snapshot");
			const char *vdi_id = NULL;
			struct obj *vdi;
			if (strcmp(sget(o, "class"), "VBD") == 0 && strcasecmp(sget(snap, "type"), "CD") != 0)
				vdi_id = sget(snap, "VDI");
			else if (strcmp(sget(o, "class"), "VDI") == 0 && strcmp(sget(snap, "type"), "suspend") == 0)
				vdi_id = sget(o, "id");
			if (!vdi_id || !(vdi = map_get(m, vdi_id)) || strcmp(vdi->cls->name, "VDI") != 0)
				continue;
			if (sr_is_iso(m, sget(find_snapshot(m, vdi_id), "SR")))
				continue;
			for (size_t k = 0; k < nd && vdi_id; k++)
				if (strcmp(disks[k].id, vdi_id) == 0)
					vdi_id = NULL;
			if (!vdi_id)
				continue;
			snprintf(disks[nd].id, sizeof(disks[nd].id), "%s", vdi_id);
			disks[nd].size = (uint64_t)(db_int(vdi, "virtual_size") > 0 ? db_int(vdi, "virtual_size") : 0);
			disks[nd++].data = vdata_prepare_write(vdi);
		}
		qsort(disks, nd, sizeof(*disks), disk_cmp);
	}
	db_unlock();
	if (!err)
		err = recv_disks(m, disks, nd);
	for (size_t i = 0; i < nd; i++)
		vdata_put(disks[i].data);
	free(disks);
	xv_free(hdr);
	return err;
}

bool handle_import(struct http_req *r)
{
	struct hx h;
	struct imp m;
	char *sr_id = http_param(r, "sr_id"), *sr_uuid = http_param(r, "sr_uuid");
	const char *te = http_header(r, "Transfer-Encoding");
	struct xv *err = NULL;
	struct obj *sr = NULL, *task;
	int status = 200;

	memset(&m, 0, sizeof(m));
	if (!hx_auth(&h, r, "VM.import"))
		goto out_noauth;
	m.h = &h;
	m.force = hx_flag(r, "force");
	m.restore = hx_flag(r, "restore");
	m.vms = xv_array();
	db_lock();
	if (sr_id) {
		sr = db_get(schema_class("SR"), sr_id);
		if (!sr)
			err = err_handle("SR", sr_id);
	} else if (sr_uuid) {
		sr = db_by_uuid(schema_class("SR"), sr_uuid);
		if (!sr)
			err = err_new("UUID_INVALID", "SR", sr_uuid, NULL);
	} else {
		struct obj *pool = db_first("pool");
		sr = pool ? db_ref(pool, "default_SR") : NULL;
		if (!sr)
			err = err_new("DEFAULT_SR_NOT_FOUND", pool ? db_str(pool, "default_SR") : "OpaqueRef:NULL", NULL);
	}
	task = hx_task(&h, "VM.import");
	if (!task) {
		status = 500;
	} else if (err) {
		status = 500;
	} else if (strcmp(db_str(sr, "content_type"), "iso") == 0) {
		err = err_new("SR_OPERATION_NOT_SUPPORTED", sr->ref, NULL);
		status = 400;
	} else if (te && strcasecmp(te, "identity") != 0) {
		err = err_new("IMPORT_ERROR_CANNOT_HANDLE_CHUNKED", NULL);
		status = 403;
	} else {
		snprintf(m.sr, sizeof(m.sr), "%s", sr->ref);
		db_set_float(task, "progress", 0.0);
	}
	if (status != 200 && task && err)
		hx_finish_locked(&h, NULL, err);
	db_unlock();
	if (status != 200) {
		hx_error(r, status, err ? xv_str(xv_at(err, 0)) : "No such task");
		goto out;
	}
	{
		/* the outcome is only in the task: answer before reading */
		char *head = xasprintf("Connection: close\r\nCache-Control: no-cache, no-store\r\ntask-id:%s\r\n"
				       "content-type: application/octet-stream\r\n",
				       h.task);
		hx_arm_cut(&h);
		hx_head(&h, "1.1", 200, head);
		free(head);
	}
	xin_start(&m.in, &h);
	err = run_import(&m);
	db_lock();
	if (err && !m.force)
		cleanup(&m);
	for (size_t i = 0; i < xv_len(m.vms); i++) {
		struct obj *vm = db_find(xv_str(xv_at(m.vms, i)));
		if (vm) {
			db_map_del(vm, "current_operations", h.task);
			vm_refresh_ops(vm);
		}
	}
	hx_finish_locked(&h, err ? NULL : m.vms, err);
	db_unlock();
	xin_end(&m.in);
	/* take the rest, so the client is not cut off mid-upload */
	hx_drain(&h);
out:
	hx_end(&h);
out_noauth:
	xv_free(err);
	xv_free(m.vms);
	free(m.map);
	free(m.made);
	free(sr_id);
	free(sr_uuid);
	return false;
}
