/* The database side of pool changes: wiping it (an ejected host, a new
 * master), reloading it from a master's records, and forgetting a host. */
#include <string.h>

#include "pool.h"
#include "schema.h"
#include "sim.h"
#include "util.h"
#include "vm.h"

void pool_db_wipe(void)
{
	for (int i = 0; i < schema_nclasses; i++)
		while (db.head[i])
			db_delete(db.head[i]);
	sim.local_host = NULL;
}

void pool_db_load(struct xv *const *recs)
{
	for (int i = 0; i < schema_nclasses; i++) {
		const struct cls *k = &schema_classes[i];
		const struct xv *m = recs[i];

		if (!m || m->type != XV_STRUCT)
			continue;
		for (size_t j = 0; j < m->n; j++) {
			const char *ref = m->u.st.m[j].k;
			const struct xv *rec = m->u.st.m[j].v;
			struct obj *o;

			if (strlen(ref) >= REF_LEN || db_find(ref) || rec->type != XV_STRUCT)
				continue;
			o = db_create_ref(k, ref);
			/* every field as the master has it, the relations' sets included,
			 * so nothing is recomputed */
			for (int f = 0; f < k->nfields; f++) {
				const struct xv *v = xv_struct_get(rec, k->api->fields[f].name);
				const char *why = NULL;
				struct xv *cv = v ? ty_coerce(k->ftype[f], v, &why) : NULL;

				if (cv)
					db_set(o, k->api->fields[f].name, cv);
			}
		}
	}
}

static bool refers_to(const struct obj *o, const char *field, const struct obj *target)
{
	return strcmp(db_str(o, field), target->ref) == 0;
}

static void delete_refs(const struct xv *refs)
{
	for (size_t i = 0; i < xv_len(refs); i++) {
		struct obj *o = db_find(xv_str(xv_at(refs, i)));
		if (o)
			db_delete(o);
	}
}

/* An SR nobody can reach any more goes, with its disks and their VBDs. */
static void forget_sr(struct obj *sr)
{
	struct xv *vdis = xv_copy(db_field(sr, "VDIs"));
	struct obj *pool = db_first("pool");

	for (size_t i = 0; i < xv_len(vdis); i++) {
		struct obj *vdi = db_find(xv_str(xv_at(vdis, i)));
		struct xv *vbds;
		if (!vdi)
			continue;
		vbds = xv_copy(db_field(vdi, "VBDs"));
		delete_refs(vbds);
		xv_free(vbds);
		db_delete(vdi);
	}
	xv_free(vdis);
	if (pool) {
		static const char *const fields[] = {"default_SR", "suspend_image_SR", "crash_dump_SR"};
		for (size_t i = 0; i < ARRAY_LEN(fields); i++)
			if (refers_to(pool, fields[i], sr))
				db_set_ref(pool, fields[i], NULL);
	}
	db_delete(sr);
}

void pool_db_forget_host(struct obj *h)
{
	const struct cls *vmc = schema_class("VM");
	struct xv *doomed = xv_array(), *srs = xv_array(), *metrics = xv_array();
	struct obj *m = db_ref(h, "metrics");

	/* its control domain goes; guests only lose their affinity */
	for (struct obj *vm = db.head[vmc->idx]; vm; vm = vm->cnext) {
		if (db_bool(vm, "is_control_domain")
		    && (refers_to(vm, "resident_on", h) || refers_to(h, "control_domain", vm)))
			xv_array_push(doomed, xv_string(vm->ref));
		else if (refers_to(vm, "affinity", h))
			db_set_ref(vm, "affinity", NULL);
	}
	for (size_t i = 0; i < xv_len(doomed); i++) {
		struct obj *vm = db_find(xv_str(xv_at(doomed, i)));
		if (vm)
			vm_destroy(vm, false);
	}
	xv_free(doomed);

	/* every object whose host field names it: PIFs, PBDs, CPUs, PCI devices... */
	doomed = xv_array();
	for (int i = 0; i < schema_nclasses; i++) {
		const struct cls *k = &schema_classes[i];
		int f = schema_field(k, "host");

		if (f < 0 || k->ftype[f]->kind != TY_REF || strcmp(k->ftype[f]->name, "host") != 0)
			continue;
		for (struct obj *o = db.head[i]; o; o = o->cnext)
			if (refers_to(o, "host", h))
				xv_array_push(doomed, xv_string(o->ref));
	}
	for (size_t i = 0; i < xv_len(doomed); i++) {
		struct obj *o = db_find(xv_str(xv_at(doomed, i)));
		if (!o)
			continue;
		if (strcmp(o->cls->name, "PIF") == 0 && db_ref(o, "metrics"))
			xv_array_push(metrics, xv_string(db_str(o, "metrics")));
		if (strcmp(o->cls->name, "PBD") == 0)
			xv_array_push(srs, xv_string(db_str(o, "SR")));
		db_delete(o);
	}
	delete_refs(metrics);
	for (size_t i = 0; i < xv_len(srs); i++) {
		struct obj *sr = db_find(xv_str(xv_at(srs, i)));
		if (sr && !db_bool(sr, "shared") && xv_len(db_field(sr, "PBDs")) == 0)
			forget_sr(sr);
	}
	xv_free(doomed);
	xv_free(srs);
	xv_free(metrics);
	if (m)
		db_delete(m);
	db_delete(h);
}
