/* Helpers shared by delta backups, retention, restore and verify. */
#include "bkutil.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"
#include "util.h"
#include "vhd.h"

struct json_object *bk_xv_to_json(const struct xv *v)
{
	struct json_object *o;

	if (!v)
		return NULL;
	switch (v->type) {
	case XV_STRING:
	case XV_DATETIME:
		return json_object_new_string_len(v->u.s ? v->u.s : "", (int)v->n);
	case XV_INT:
	case XV_I4:
		return json_object_new_int64(v->u.i);
	case XV_DOUBLE:
		return json_object_new_double(v->u.d);
	case XV_BOOL:
		return json_object_new_boolean(v->u.b);
	case XV_ARRAY:
		o = json_object_new_array();
		for (size_t i = 0; i < xv_len(v); i++)
			json_object_array_add(o, bk_xv_to_json(xv_at(v, i)));
		return o;
	case XV_STRUCT:
		o = json_object_new_object();
		for (size_t i = 0; i < xv_len(v); i++)
			json_object_object_add(o, xv_key_at(v, i), bk_xv_to_json(xv_value_at(v, i)));
		return o;
	default:
		return NULL;
	}
}

struct xv *bk_json_to_xv(struct json_object *j)
{
	struct xv *v;

	switch (json_object_get_type(j)) {
	case json_type_null:
		return xv_nil();
	case json_type_boolean:
		return xv_bool(json_object_get_boolean(j));
	case json_type_double:
		return xv_double(json_object_get_double(j));
	case json_type_int:
		return xv_int(json_object_get_int64(j));
	case json_type_string:
		return xv_string_n(json_object_get_string(j), (size_t)json_object_get_string_len(j));
	case json_type_array:
		v = xv_array();
		for (size_t i = 0; i < json_object_array_length(j); i++)
			xv_array_push(v, bk_json_to_xv(json_object_array_get_idx(j, i)));
		return v;
	case json_type_object:
		v = xv_struct();
		json_object_object_foreach(j, key, val) xv_struct_add(v, key, bk_json_to_xv(val));
		return v;
	}
	return xv_nil();
}

const char *bk_jstr(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

EVP_MD_CTX *bk_sha_new(void)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		fprintf(stderr, "xentui: out of memory\n");
		abort();
	}
	return c;
}

void bk_sha_hex(EVP_MD_CTX *ctx, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;

	EVP_DigestFinal_ex(ctx, md, &n);
	EVP_MD_CTX_free(ctx);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = 0;
}

bool bk_sha256_file(struct repo *r, const char *path, char out[65], uint64_t *size, char **err)
{
	struct repo_rfile *f = repo_open_read(r, path, err);
	struct bk_hash *c;
	unsigned char *buf;
	uint64_t total = 0;
	ssize_t n;

	if (!f)
		return false;
	c = bk_hash_new();
	buf = xmalloc(1 << 20);
	while ((n = repo_read(f, buf, 1 << 20, err)) > 0) {
		bk_hash_update(c, buf, (size_t)n);
		total += (uint64_t)n;
	}
	free(buf);
	repo_rclose(f);
	if (n < 0) {
		bk_hash_free(c);
		return false;
	}
	bk_hash_hex(c, out);
	if (size)
		*size = total;
	return true;
}

void bk_human(uint64_t n, char out[24])
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double d = (double)n;
	int u = 0;

	while (d >= 1024 && u < 5) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, 24, "%" PRIu64 " B", n);
	else
		snprintf(out, 24, "%.1f %s", d, units[u]);
}

char *bk_vm_path(const char *vm_uuid, const char *rel)
{
	while (rel[0] == '.' && rel[1] == '/')
		rel += 2;
	return xasprintf("xo-vm-backups/%s/%s", vm_uuid, rel);
}

static struct xv *params_v(va_list ap)
{
	struct xv *p = xv_array();
	const char *s;

	while ((s = va_arg(ap, const char *)))
		xv_array_push(p, xv_string(s));
	return p;
}

struct xv *bk_call(struct bx *b, const char *method, char **err, ...)
{
	struct xv *p;
	va_list ap;

	va_start(ap, err);
	p = params_v(ap);
	va_end(ap);
	return bx_call(b, method, p, err, NULL);
}

char *bk_call_str(struct bx *b, const char *method, char **err, ...)
{
	struct xv *p;
	va_list ap;

	va_start(ap, err);
	p = params_v(ap);
	va_end(ap);
	return bx_call_str(b, method, p, err);
}

void bk_call_quiet(struct bx *b, const char *method, ...)
{
	struct xv *p, *v;
	char *err = NULL;
	va_list ap;

	va_start(ap, method);
	p = params_v(ap);
	va_end(ap);
	v = bx_call(b, method, p, &err, NULL);
	xv_free(v);
	free(err);
}

const char *bk_field(const struct xv *rec, const char *key)
{
	return xv_str(xv_struct_get(rec, key));
}

void bk_destroy_vm_and_disks(struct bx *b, const char *vm_ref)
{
	char *err = NULL;
	struct xv *vbds = bk_call(b, "VM.get_VBDs", &err, vm_ref, (char *)NULL);
	struct xv *vdis = xv_array();

	free(err);
	for (size_t i = 0; i < xv_len(vbds); i++) {
		const char *vbd = xv_str(xv_at(vbds, i));
		struct xv *rec;
		err = NULL;
		rec = vbd ? bk_call(b, "VBD.get_record", &err, vbd, (char *)NULL) : NULL;
		free(err);
		if (rec && bk_field(rec, "type") && strcmp(bk_field(rec, "type"), "Disk") == 0 && bk_field(rec, "VDI")
		    && !bk_is_null(bk_field(rec, "VDI")))
			xv_array_push(vdis, xv_string(bk_field(rec, "VDI")));
		xv_free(rec);
	}
	xv_free(vbds);
	bk_call_quiet(b, "VM.destroy", vm_ref, (char *)NULL);
	for (size_t i = 0; i < xv_len(vdis); i++)
		bk_call_quiet(b, "VDI.destroy", xv_str(xv_at(vdis, i)), (char *)NULL);
	xv_free(vdis);
}

const struct point_file *bk_point_file(const struct point *p, const char *path)
{
	const char *a = path;

	while (a[0] == '.' && a[1] == '/')
		a += 2;
	for (size_t i = 0; i < p->nfiles; i++) {
		const char *b = p->files[i].path;
		while (b[0] == '.' && b[1] == '/')
			b += 2;
		if (strcmp(a, b) == 0)
			return &p->files[i];
	}
	return NULL;
}

bool bk_is_null(const char *ref)
{
	return !ref || !*ref || strcmp(ref, "OpaqueRef:NULL") == 0;
}

bool bk_fail(struct run_vm *v, char *err, const char *fallback)
{
	if (!v->error)
		v->error = err ? err : fallback ? xstrdup(fallback) : NULL;
	else
		free(err);
	return false;
}

bool bk_fail_why(struct run_vm *v, char *what, char *why)
{
	bk_fail(v, xasprintf("%s: %s", what, why ? why : "no reason given"), NULL);
	free(what);
	free(why);
	return false;
}

uint64_t bk_disks_used(struct bx *b, const struct xv *vbds, bool or_size)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < xv_len(vbds); i++) {
		char *err = NULL, *vdi = bk_call_str(b, "VBD.get_VDI", &err, xv_str(xv_at(vbds, i)), (char *)NULL);
		struct xv *used = NULL;
		int64_t n = 0;
		free(err);
		err = NULL;
		if (!bk_is_null(vdi))
			used = bk_call(b, "VDI.get_physical_utilisation", &err, vdi, (char *)NULL);
		if (or_size && used && (!xv_get_int64(used, &n) || n <= 0)) {
			xv_free(used);
			free(err);
			err = NULL;
			used = bk_call(b, "VDI.get_virtual_size", &err, vdi, (char *)NULL);
		}
		if (used && xv_get_int64(used, &n) && n > 0)
			sum += (uint64_t)n;
		xv_free(used);
		free(vdi);
		free(err);
	}
	return sum;
}

char *bk_ref_by_uuid(struct bx *b, const char *cls, const char *what)
{
	uint8_t u[16];
	char m[64], *err = NULL, *ref;

	if (!what || strlen(what) != 36 || !uuid_parse(what, u))
		return NULL;
	snprintf(m, sizeof(m), "%s.get_by_uuid", cls);
	ref = bk_call_str(b, m, &err, what, (char *)NULL);
	free(err);
	return ref;
}
