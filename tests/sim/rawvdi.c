/* GET /export_raw_vdi and PUT /import_raw_vdi (ocaml/xapi/export_raw_vdi.ml,
 * import_raw_vdi.ml, vhd-tool): one disk's bytes, raw or as a dynamic VHD.
 *   export: format=raw|vhd, base=VDI gives a VHD of only the 2 MiB blocks
 *           that differ from base (apply it onto a copy of base).
 *   import: format=raw (the body is the disk from offset 0; chunked=true for
 *           xapi's own framing: u64 offset, u32 length, data, ..., 0/0),
 *           or format=vhd (writes the blocks the VHD holds). Without vdi=,
 *           sr_id= or sr_uuid= with format=raw and a Content-Length make a
 *           new VDI of that size, removed again if the upload fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers.h"
#include "httpx.h"
#include "rpc.h"
#include "schema.h"
#include "sim.h"
#include "util.h"
#include "vdidata.h"
#include "vhd.h"
#include "vm.h"

enum fmt { F_RAW, F_VHD, F_UNKNOWN };

static enum fmt format_of(const char *s)
{
	if (!s || strcasecmp(s, "raw") == 0)
		return F_RAW;
	if (strcasecmp(s, "vhd") == 0)
		return F_VHD;
	return F_UNKNOWN;
}

static struct xv *caught(const char *what)
{
	return hx_err("INTERNAL_ERROR", "Caught exception: %s", what);
}

/* ---- export ------------------------------------------------------------------ */

static struct xv *send_raw(struct hx *h, struct vdata *d, uint64_t size)
{
	unsigned char *buf = xmalloc(VDATA_BLOCK);
	struct xv *err = NULL;

	for (uint64_t off = 0; off < size && !err; off += VDATA_BLOCK) {
		size_t n = (size_t)(size - off < VDATA_BLOCK ? size - off : VDATA_BLOCK);
		if (!hx_progress(h, (double)off / (double)size, false))
			err = err_new("TASK_CANCELLED", h->task, NULL);
		else {
			vdata_read(d, off, buf, n);
			if (!hx_write(h, buf, n))
				err = caught("Unix.Unix_error(Unix.EPIPE, \"write\", \"\")");
		}
	}
	free(buf);
	return err;
}

/* "xxxxxxxx-xxxx-..." -> 16 bytes */
static void uuid_bytes(const char *uuid, unsigned char id[16])
{
	memset(id, 0, 16);
	for (int i = 0, k = 0; uuid[i] && k < 32; i++) {
		int c = uuid[i], v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v >= 0) {
			id[k / 2] = (unsigned char)(id[k / 2] | v << (k % 2 ? 0 : 4));
			k++;
		}
	}
}

/* vhd-tool's stream: footer copy, dynamic header at 512, BAT at 2048,
 * blocks with full bitmaps, footer. With base, a differencing disk whose
 * parent is the base VDI (Xen Orchestra tells deltas by this type). */
#define VHD_BAT_AT 2048u

static struct xv *send_vhd(struct hx *h, struct vdata *d, struct vdata *base, uint64_t size, const char *uuid,
			   const char *base_uuid)
{
	uint32_t entries = (uint32_t)((size + VHD_BLOCK - 1) / VHD_BLOCK);
	uint64_t bat_bytes = vhd_bat_bytes(entries), data_at = VHD_BAT_AT + bat_bytes;
	static const unsigned char pad[VHD_BAT_AT - VHD_FOOTER - VHD_DYN_HEADER];
	unsigned char footer[VHD_FOOTER], header[VHD_DYN_HEADER], bitmap[VHD_BITMAP], id[16], pid[16];
	unsigned char *bat = xcalloc(1, (size_t)bat_bytes), *buf = xmalloc(VHD_BLOCK);
	bool *present = xcalloc(entries + 1, sizeof(bool));
	uint32_t next = (uint32_t)(data_at / VHD_SECTOR), allocated = 0;
	struct xv *err = NULL;
	bool ok;

	uuid_bytes(uuid, id);
	memset(bat, 0xFF, (size_t)bat_bytes);
	for (uint32_t b = 0; b < entries; b++) {
		uint64_t off = (uint64_t)b * VHD_BLOCK, len = size - off < VHD_BLOCK ? size - off : VHD_BLOCK;
		present[b] = base ? !vdata_same(d, base, off, len) : !vdata_is_zero(d, off, len);
		if (present[b]) {
			vhd_put32(bat + 4 * b, next);
			next += (VHD_BITMAP + VHD_BLOCK) / VHD_SECTOR;
			allocated++;
		}
	}
	vhd_footer(footer, size, id, base ? VHD_DIFFERENCING : VHD_DYNAMIC);
	vhd_dyn_header(header, entries, VHD_BAT_AT);
	if (base) {
		uuid_bytes(base_uuid, pid);
		vhd_set_parent(header, pid, vhd_be32(footer + 24));
	}
	memset(bitmap, 0xFF, sizeof(bitmap));
	ok = hx_write(h, footer, sizeof(footer)) && hx_write(h, header, sizeof(header)) && hx_write(h, pad, sizeof(pad))
	     && hx_write(h, bat, (size_t)bat_bytes);
	for (uint32_t b = 0, sent = 0; ok && b < entries && !err; b++) {
		uint64_t off = (uint64_t)b * VHD_BLOCK, len = size - off < VHD_BLOCK ? size - off : VHD_BLOCK;
		if (!present[b])
			continue;
		if (!hx_progress(h, allocated ? (double)sent / allocated : 1, false)) {
			err = err_new("TASK_CANCELLED", h->task, NULL);
			break;
		}
		memset(buf, 0, VHD_BLOCK);
		vdata_read(d, off, buf, (size_t)len);
		ok = hx_write(h, bitmap, sizeof(bitmap)) && hx_write(h, buf, VHD_BLOCK);
		sent++;
	}
	if (ok && !err)
		ok = hx_write(h, footer, sizeof(footer));
	if (!ok && !err)
		err = caught("Unix.Unix_error(Unix.EPIPE, \"write\", \"\")");
	free(bat);
	free(buf);
	free(present);
	return err;
}

bool handle_export_raw_vdi(struct http_req *r)
{
	struct hx h;
	char *vdi_s = http_param(r, "vdi"), *base_s = http_param(r, "base"), *fmt_s = http_param(r, "format");
	enum fmt fmt = format_of(fmt_s);
	struct vdata *d = NULL, *base = NULL;
	struct xv *err = NULL;
	uint64_t size = 0;
	char uuid[40] = "", base_uuid[40] = "", *head;
	int status = 200;

	if (!hx_auth(&h, r, "VDI.export_raw"))
		goto out_noauth;
	db_lock();
	{
		struct obj *vdi = hx_lookup("VDI", vdi_s), *bvdi = base_s ? hx_lookup("VDI", base_s) : NULL;
		if (!vdi_s) {
			status = 400;
		} else if (!vdi) {
			status = 500; /* get_by_uuid failed: UUID_INVALID */
		} else if (base_s && !bvdi) {
			status = 500;
		} else if (!hx_task(&h, "Exporting raw VDI")) {
			status = 500;
		} else if (fmt == F_UNKNOWN) {
			err = hx_err("INTERNAL_ERROR", "Unknown format %s", fmt_s);
			status = 404;
		} else if (fmt == F_VHD && (uint64_t)db_int(vdi, "virtual_size") > VHD_MAX_SIZE) {
			char max[32];
			snprintf(max, sizeof(max), "%llu", (unsigned long long)VHD_MAX_SIZE);
			err = err_new("VDI_TOO_LARGE", vdi->ref, max, NULL);
			status = 500;
		} else {
			size = db_int(vdi, "virtual_size") > 0 ? (uint64_t)db_int(vdi, "virtual_size") : 0;
			snprintf(uuid, sizeof(uuid), "%s", db_str(vdi, "uuid"));
			d = vdata_get(vdi);
			base = bvdi && fmt == F_VHD ? vdata_get(bvdi) : NULL;
			if (base)
				snprintf(base_uuid, sizeof(base_uuid), "%s", db_str(bvdi, "uuid"));
		}
		if (err)
			hx_finish_locked(&h, NULL, err);
	}
	db_unlock();
	if (status != 200) {
		hx_error(r, status, status == 400 ? "vdi is required" : err ? xv_str(xv_at(err, 0)) : "No such VDI or task");
		goto out;
	}
	hx_arm_cut(&h);
	head = xasprintf("Connection: close\r\nCache-Control: no-cache, no-store\r\ntask-id:%s\r\ncontent-type:%s\r\n"
			 "Content-Disposition: attachment; filename=\"%s.%s\"\r\n",
			 h.task, fmt == F_VHD ? "application/vhd" : "application/octet-stream", uuid,
			 fmt == F_VHD ? "vhd" : "raw");
	if (!hx_head(&h, "1.1", 200, head))
		err = caught("Unix.Unix_error(Unix.EPIPE, \"write\", \"\")");
	free(head);
	if (!err)
		err = fmt == F_VHD ? send_vhd(&h, d, base, size, uuid, base_uuid) : send_raw(&h, d, size);
	hx_finish(&h, NULL, err);
out:
	hx_end(&h);
out_noauth:
	vdata_put(d);
	vdata_put(base);
	xv_free(err);
	free(vdi_s);
	free(base_s);
	free(fmt_s);
	return false;
}

/* ---- import ------------------------------------------------------------------ */

static struct xv *write_at(struct vdata *d, uint64_t size, uint64_t off, const void *p, size_t n)
{
	if (off + n > size || off + n < off)
		return hx_err("INTERNAL_ERROR", "Caught exception: write at %llu goes past the end of the disk (%llu bytes)",
			      (unsigned long long)off, (unsigned long long)size);
	if (!vdata_write(d, off, p, n))
		return err_new("SR_BACKEND_FAILURE_44", "", "There is insufficient space", NULL);
	return NULL;
}

static struct xv *recv_raw(struct hx *h, struct vdata *d, uint64_t size)
{
	unsigned char *buf = xmalloc(VDATA_BLOCK);
	long long expected = h->left;
	uint64_t off = 0;
	struct xv *err = NULL;

	for (;;) {
		size_t n = 0;
		/* whole blocks, so zero blocks stay sparse */
		while (n < VDATA_BLOCK) {
			ssize_t k = hx_read(h, buf + n, VDATA_BLOCK - n);
			if (k <= 0)
				break;
			n += (size_t)k;
		}
		if (n == 0)
			break;
		if ((err = write_at(d, size, off, buf, n)))
			break;
		off += n;
		if (!hx_progress(h, size ? (double)off / (double)size : 1, false)) {
			err = err_new("TASK_CANCELLED", h->task, NULL);
			break;
		}
	}
	if (!err && expected >= 0 && off < (uint64_t)expected)
		err = caught("End_of_file");
	free(buf);
	return err;
}

/* xapi's chunked=true: records of u64 offset, u32 length (little-endian)
 * and the data, ended by 0/0. */
static struct xv *recv_chunked(struct hx *h, struct vdata *d, uint64_t size)
{
	unsigned char hdr[12], *buf = xmalloc(VDATA_BLOCK);
	struct xv *err = NULL;
	uint64_t got = 0;

	for (;;) {
		uint64_t off = 0;
		uint32_t len = 0;
		if (!hx_read_full(h, hdr, sizeof(hdr))) {
			err = caught("End_of_file");
			break;
		}
		for (int i = 7; i >= 0; i--)
			off = off << 8 | hdr[i];
		for (int i = 11; i >= 8; i--)
			len = len << 8 | hdr[i];
		if (off == 0 && len == 0)
			break;
		while (len && !err) {
			size_t n = len < VDATA_BLOCK ? len : VDATA_BLOCK;
			if (!hx_read_full(h, buf, n))
				err = caught("End_of_file");
			else
				err = write_at(d, size, off, buf, n);
			off += n;
			len -= (uint32_t)n;
			got += n;
		}
		if (err)
			break;
		if (!hx_progress(h, size ? (double)got / (double)size : 1, false)) {
			err = err_new("TASK_CANCELLED", h->task, NULL);
			break;
		}
	}
	free(buf);
	return err;
}

struct batent {
	uint32_t block, sector;
};

static int batent_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct batent *)a)->sector, y = ((const struct batent *)b)->sector;

	return x < y ? -1 : x > y;
}

/* Skips forward in the body to absolute offset to. */
static bool seek_to(struct hx *h, uint64_t *pos, uint64_t to)
{
	unsigned char buf[4096];

	while (*pos < to) {
		size_t n = to - *pos < sizeof(buf) ? (size_t)(to - *pos) : sizeof(buf);
		if (!hx_read_full(h, buf, n))
			return false;
		*pos += n;
	}
	return *pos == to;
}

static bool zero_tail(const unsigned char *p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* A dynamic (or differencing) VHD, read front to back: its blocks must come
 * after the BAT, as every writer puts them. */
static struct xv *recv_vhd(struct hx *h, struct vdata *d, uint64_t size)
{
	unsigned char footer[VHD_FOOTER], header[VHD_DYN_HEADER], *bat = NULL, *bitmap = NULL, *buf = NULL;
	uint64_t pos = 0, dyn_at, bat_at, vhd_size;
	uint32_t entries, block_size, bitmap_bytes, type;
	struct batent *ents = NULL;
	size_t nents = 0;
	struct xv *err = NULL;

	if (!hx_read_full(h, footer, sizeof(footer)))
		return caught("End_of_file");
	pos = sizeof(footer);
	if (memcmp(footer, "conectix", 8) != 0 || !vhd_checksum_ok(footer, VHD_FOOTER, 64))
		return caught("Failure(\"not a VHD: bad footer\")");
	type = vhd_be32(footer + 60);
	if (type != 3 && type != 4)
		return caught("Failure(\"only dynamic and differencing VHDs can be streamed\")");
	/* may be larger than the VDI (qemu-img rounds to a CHS geometry): only
	 * data past the VDI's end is an error */
	vhd_size = vhd_be64(footer + 48);
	dyn_at = vhd_be64(footer + 16);
	if (!seek_to(h, &pos, dyn_at) || !hx_read_full(h, header, sizeof(header)))
		return caught("End_of_file");
	pos += sizeof(header);
	if (memcmp(header, "cxsparse", 8) != 0 || !vhd_checksum_ok(header, VHD_DYN_HEADER, 36))
		return caught("Failure(\"not a VHD: bad dynamic header\")");
	bat_at = vhd_be64(header + 16);
	entries = vhd_be32(header + 28);
	block_size = vhd_be32(header + 32);
	if (block_size < VHD_SECTOR || block_size > (64u << 20) || block_size % VHD_SECTOR
	    || (uint64_t)entries * block_size < vhd_size || entries > (1u << 24))
		return caught("Failure(\"not a VHD: bad block size or table\")");
	bitmap_bytes = ((block_size / VHD_SECTOR + 7) / 8 + VHD_SECTOR - 1) / VHD_SECTOR * VHD_SECTOR;
	bat = xmalloc((size_t)entries * 4);
	if (!seek_to(h, &pos, bat_at) || !hx_read_full(h, bat, (size_t)entries * 4)) {
		err = caught("End_of_file");
		goto out;
	}
	pos += (uint64_t)entries * 4;
	ents = xcalloc(entries + 1, sizeof(*ents));
	for (uint32_t b = 0; b < entries; b++)
		if (vhd_be32(bat + 4 * b) != VHD_UNUSED) {
			ents[nents].block = b;
			ents[nents++].sector = vhd_be32(bat + 4 * b);
		}
	qsort(ents, nents, sizeof(*ents), batent_cmp);
	bitmap = xmalloc(bitmap_bytes);
	buf = xmalloc(block_size);
	for (size_t i = 0; i < nents && !err; i++) {
		uint64_t at = (uint64_t)ents[i].sector * VHD_SECTOR, base = (uint64_t)ents[i].block * block_size;
		uint32_t nsec = block_size / VHD_SECTOR;
		if (at < pos) {
			err = caught("Failure(\"VHD blocks overlap the headers or each other\")");
			break;
		}
		if (!seek_to(h, &pos, at) || !hx_read_full(h, bitmap, bitmap_bytes) || !hx_read_full(h, buf, block_size)) {
			err = caught("End_of_file");
			break;
		}
		pos += bitmap_bytes + (uint64_t)block_size;
		/* runs of sectors the bitmap says are present */
		for (uint32_t s = 0; s < nsec && !err;) {
			uint32_t e = s;
			if (!(bitmap[s / 8] & (0x80 >> (s % 8)))) {
				s++;
				continue;
			}
			while (e < nsec && (bitmap[e / 8] & (0x80 >> (e % 8))))
				e++;
			{
				uint64_t off = base + (uint64_t)s * VHD_SECTOR, len = (uint64_t)(e - s) * VHD_SECTOR;
				const unsigned char *p = buf + (size_t)s * VHD_SECTOR;
				if (off + len > vhd_size)
					len = off < vhd_size ? vhd_size - off : 0;
				if (off + len > size && off < size && zero_tail(p + (size - off), off + len - size))
					len = size - off;
				else if (off + len > size && off >= size && zero_tail(p, len))
					len = 0;
				if (len)
					err = write_at(d, size, off, p, (size_t)len);
			}
			s = e;
		}
		if (!err && !hx_progress(h, nents ? (double)(i + 1) / (double)nents : 1, false))
			err = err_new("TASK_CANCELLED", h->task, NULL);
	}
out:
	free(bat);
	free(ents);
	free(bitmap);
	free(buf);
	return err;
}

bool handle_import_raw_vdi(struct http_req *r)
{
	struct hx h;
	char *vdi_s = http_param(r, "vdi"), *fmt_s = http_param(r, "format"), *sr_id = http_param(r, "sr_id"),
	     *sr_uuid = http_param(r, "sr_uuid");
	const char *te = http_header(r, "Transfer-Encoding");
	bool chunked = hx_flag(r, "chunked");
	enum fmt fmt = format_of(fmt_s);
	struct vdata *d = NULL;
	struct xv *err = NULL, *result = NULL;
	char vdi_ref[REF_LEN] = "", *head;
	bool created = false;
	uint64_t size = 0;
	int status = 200;

	if (!hx_auth(&h, r, "VDI.import"))
		goto out_noauth;
	db_lock();
	{
		struct obj *vdi = vdi_s ? hx_lookup("VDI", vdi_s) : NULL;
		struct obj *sr = sr_id ? db_get(schema_class("SR"), sr_id) : sr_uuid ? db_by_uuid(schema_class("SR"), sr_uuid) : NULL;

		if (vdi_s && !vdi) {
			status = 500; /* get_by_uuid failed: UUID_INVALID */
		} else if (!vdi && (!sr || fmt != F_RAW || r->content_length < 0 || chunked)) {
			status = 400; /* not enough to make a new VDI */
		} else if (!hx_task(&h, "Importing raw VDI")) {
			status = 500;
		} else if (fmt == F_UNKNOWN) {
			err = hx_err("INTERNAL_ERROR", "Unknown format %s", fmt_s);
			status = 404;
		} else if (te && strcasecmp(te, "identity") != 0) {
			err = hx_err("INTERNAL_ERROR", "Caught exception: Failure(\"import code cannot handle encoding: %s\")", te);
			status = 404;
		} else if (chunked && fmt != F_RAW) {
			err = hx_err("INTERNAL_ERROR", "Caught exception: Failure(\"unable to import a .%s using chunked encoding\")",
				     fmt_s);
			status = 400;
		} else {
			if (!vdi) {
				/* "Imported VDI", of exactly the size sent */
				vdi = db_create_named("VDI");
				created = true;
				db_set_str(vdi, "name_label", "Imported VDI");
				db_set_ref(vdi, "SR", sr);
				db_set_int(vdi, "virtual_size", r->content_length);
				db_set_str(vdi, "type", "user");
				db_set_bool(vdi, "managed", true);
				db_set_str(vdi, "location", db_str(vdi, "uuid"));
				{
					struct xv *ops = xv_array();
					static const char *const names[] = {"clone", "copy", "resize", "destroy", "snapshot", "update", "forget"};
					for (size_t i = 0; i < ARRAY_LEN(names); i++)
						xv_array_push(ops, xv_string(names[i]));
					db_set(vdi, "allowed_operations", ops);
				}
				vdata_mark_blank(vdi);
				sr_refresh_usage(sr);
			}
			snprintf(vdi_ref, sizeof(vdi_ref), "%s", vdi->ref);
			size = db_int(vdi, "virtual_size") > 0 ? (uint64_t)db_int(vdi, "virtual_size") : 0;
			d = vdata_prepare_write(vdi);
			db_set_float(db_get(schema_class("task"), h.task), "progress", 0.0);
		}
		if (err)
			hx_finish_locked(&h, NULL, err);
	}
	db_unlock();
	if (status != 200) {
		hx_error(r, status, status == 400 ? "Insufficient information: vdi=, or sr_id=/sr_uuid= with format=raw and a Content-Length"
						  : err ? xv_str(xv_at(err, 0)) : "No such VDI or task");
		goto out;
	}
	hx_arm_cut(&h);
	head = xasprintf("Connection: close\r\nCache-Control: no-cache, no-store\r\ntask-id:%s\r\n"
			 "content-type: application/octet-stream\r\n",
			 h.task);
	hx_head(&h, "1.1", 200, head);
	free(head);
	err = fmt == F_VHD ? recv_vhd(&h, d, size) : chunked ? recv_chunked(&h, d, size) : recv_raw(&h, d, size);
	if (!err && h.cut)
		err = hx_cut_error(&h); /* a raw body read to EOF ends "fine" at the cut */
	db_lock();
	if (err && created) {
		/* no half VDI left behind */
		struct obj *vdi = db_find(vdi_ref);
		struct obj *sr = vdi ? db_ref(vdi, "SR") : NULL;
		if (vdi)
			db_delete(vdi);
		if (sr)
			sr_refresh_usage(sr);
	}
	if (!err)
		result = xv_string(vdi_ref);
	hx_finish_locked(&h, result, err);
	db_unlock();
	hx_drain(&h);
out:
	hx_end(&h);
out_noauth:
	vdata_put(d);
	xv_free(err);
	xv_free(result);
	free(vdi_s);
	free(fmt_s);
	free(sr_id);
	free(sr_uuid);
	return false;
}
