#include "vm_devices.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialog.h"
#include "errors.h"
#include "form.h"
#include "model.h"
#include "placement.h"
#include "units.h"
#include "util.h"

#define GiB (1024LL * 1024 * 1024)
#define MiB (1024LL * 1024)

/* ---- the screen's side --------------------------------------------------------- */

static const struct vm_devices_head *head(void *st)
{
	return st;
}

static enum vm_devices_tab tab_of(void *st)
{
	return head(st)->devices.tab(st);
}

static const char *selected_of(void *st)
{
	return head(st)->devices.selected(st);
}

bool vm_dev_on_devices(struct app *app, void *st)
{
	return tab_of(st) == VMDEV_DISKS || tab_of(st) == VMDEV_NETWORK;
}

bool vm_dev_on_disks(struct app *app, void *st)
{
	return tab_of(st) == VMDEV_DISKS;
}

bool vm_dev_on_network(struct app *app, void *st)
{
	return tab_of(st) == VMDEV_NETWORK;
}

bool vm_dev_has_selection(struct app *app, void *st)
{
	return vm_dev_on_devices(app, st) && selected_of(st);
}

bool vm_dev_vif_selected(struct app *app, void *st)
{
	return tab_of(st) == VMDEV_NETWORK && selected_of(st);
}

const char *vm_dev_tx_text(const struct xv *vif)
{
	const char *v = rec_map(vif, "other_config", "ethtool-tx");

	return v && (strcmp(v, "off") == 0 || strcmp(v, "false") == 0) ? "off" : "on";
}

static bool is_running(const struct xv *vm)
{
	return strcmp(rec_str(vm, "power_state"), "Running") == 0;
}

/* Running, and the guest does not refuse hot-plugged devices of that kind. */
static bool can_hotplug(const struct cache *c, const struct xv *vm, const char *field)
{
	const struct xv *g = cache_get(c, rec_str(vm, "guest_metrics"));

	return is_running(vm) && (!g || strcmp(rec_str(g, field), "no") != 0);
}

static struct xv *params2(const char *a, const char *b)
{
	struct xv *p = xv_params_ref(a);

	xv_array_push(p, xv_string(b));
	return p;
}

/* ---- jobs: one user action as a chain of calls --------------------------------- */

struct job {
	struct app *app;
	int pool_id;
	char *vm, *vm_name;
	char *vdi, *vbd, *vif, *network, *what;
	bool cd;          /* the drive to make is a DVD drive */
	bool destroy_vdi; /* removing a disk destroys its data too */
	bool tx_off;
};

static void job_free(void *p)
{
	struct job *j = p;

	free(j->vm);
	free(j->vm_name);
	free(j->vdi);
	free(j->vbd);
	free(j->vif);
	free(j->network);
	free(j->what);
	free(j);
}

static struct job *job_new(struct app *app, const struct vm_sel *s)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->app = app;
	j->pool_id = s->p->id;
	j->vm = xstrdup(s->ref);
	j->vm_name = xstrdup(rec_str(s->vm, "name_label"));
	app_keep(app, j, job_free);
	return j;
}

static void job_end(struct job *j)
{
	app_release(j->app, j);
}

/* The pool, if the job can go on (connected, not quitting); else ends it. */
static struct pool *job_pool(struct job *j)
{
	struct pool *p = pools_by_id(app_pools(j->app), j->pool_id);

	if (!p || !p->cache || !p->x || app_quitting(j->app)) {
		job_end(j);
		return NULL;
	}
	return p;
}

static const struct xv *job_vm(struct job *j, struct pool *p)
{
	return cache_get(p->cache, j->vm);
}

/* True when op succeeded; otherwise says why and ends the job. */
static bool step_ok(struct job *j, struct op *op)
{
	if (op->state == OP_DONE)
		return true;
	app_message(j->app, op->state == OP_CANCELLED ? MSG_INFO : MSG_ERROR, "%s: %s", op->label,
		    op->state == OP_CANCELLED ? "cancelled" : op->message ? op->message : "failed");
	job_end(j);
	return false;
}

static void job_op(struct job *j, const char *label, const char *method, struct xv *params, op_fn next)
{
	struct pool *p = job_pool(j);

	if (!p) {
		xv_free(params);
		return;
	}
	if (!app_op_then(j->app, p, label, method, params, next, j))
		job_end(j);
}

static void on_last_step(struct ops *ops, struct op *op, void *ud)
{
	struct job *j = ud;

	if (step_ok(j, op)) {
		app_message(j->app, MSG_INFO, "%s: done", op->label);
		job_end(j);
	}
}

/* ---- making a drive: VM.get_allowed_VBD_devices, VBD.create, VBD.plug ---------- */

/* A created device (its ref in *slot): plugged too when the VM runs and
 * the guest takes hot-plugged devices (hotplug_field of its metrics);
 * else done, said with no_hotplug when the guest sees it only at the next
 * boot. plug_label makes the plug's label. */
static void plug_created(struct job *j, struct op *op, char **slot, const char *hotplug_field,
			 const char *no_hotplug, const char *plug_method, char *(*plug_label)(struct job *, struct pool *))
{
	struct pool *p;
	const struct xv *vm;
	char *label;

	if (!step_ok(j, op))
		return;
	if (!(p = job_pool(j)))
		return;
	free(*slot);
	*slot = xstrdup(op->result && xv_str(op->result) ? xv_str(op->result) : "");
	vm = job_vm(j, p);
	if (!vm || !is_running(vm)) {
		app_message(j->app, MSG_INFO, "%s: done", op->label);
		job_end(j);
		return;
	}
	if (!can_hotplug(p->cache, vm, hotplug_field)) {
		app_message(j->app, MSG_INFO, "%s: done; the guest takes no hot-plugged %s, it sees it at the next boot",
			    op->label, no_hotplug);
		job_end(j);
		return;
	}
	label = plug_label(j, p);
	job_op(j, label, plug_method, xv_params_ref(*slot), on_last_step);
	free(label);
}

static char *vbd_plug_label(struct job *j, struct pool *p)
{
	return xasprintf("Plug %s into '%s'", j->what, j->vm_name);
}

static void on_vbd_created(struct ops *ops, struct op *op, void *ud)
{
	struct job *j = ud;

	plug_created(j, op, &j->vbd, "can_use_hotplug_vbd", "drive", "VBD.plug", vbd_plug_label);
}

/* Xen Orchestra's choice: a DVD drive at position 3 when free; a disk at
 * the first free position, avoiding 3 (where guests expect the DVD). */
static const char *pick_userdevice(const struct xv *allowed, bool cd)
{
	const char *first = xv_len(allowed) ? xv_str(xv_at(allowed, 0)) : NULL;

	for (size_t i = 0; i < xv_len(allowed); i++) {
		const char *d = xv_str(xv_at(allowed, i));
		if (d && cd && strcmp(d, "3") == 0)
			return d;
		if (d && !cd && strcmp(d, "3") != 0)
			return d;
	}
	return first;
}

/* False (said, job ended) when asking for the free device positions
 * failed; what is the device being added. */
static bool allowed_ok(struct job *j, struct pool *p, const struct xapi_result *r, const char *what)
{
	char *why;

	if (r->failure == XAPI_OK)
		return true;
	why = r->failure == XAPI_API ? error_sentence(r->error, p->cache) : xstrdup(r->message);
	app_message(j->app, MSG_ERROR, "Add %s to '%s': %s", what, j->vm_name, why);
	free(why);
	job_end(j);
	return false;
}

/* Creates a VBD or VIF from rec (given), with the fields both take last. */
static void create_device(struct job *j, struct xv *rec, const char *label, const char *method, op_fn next)
{
	struct xv *params = xv_array();

	xv_struct_add(rec, "other_config", xv_struct());
	xv_struct_add(rec, "qos_algorithm_type", xv_string(""));
	xv_struct_add(rec, "qos_algorithm_params", xv_struct());
	xv_array_push(params, rec);
	job_op(j, label, method, params, next);
}

static void on_allowed_vbd(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct job *j = ud;
	struct pool *p = job_pool(j);
	struct xv *rec;
	const char *dev;
	char *label;

	if (!p || !allowed_ok(j, p, r, j->what))
		return;
	if (!(dev = pick_userdevice(r->value, j->cd))) {
		app_message(j->app, MSG_ERROR, "Add %s to '%s': the VM has no free drive position left", j->what,
			    j->vm_name);
		job_end(j);
		return;
	}
	rec = xv_struct();
	xv_struct_add(rec, "VM", xv_string(j->vm));
	xv_struct_add(rec, "VDI", xv_string(j->vdi ? j->vdi : "OpaqueRef:NULL"));
	xv_struct_add(rec, "userdevice", xv_string(dev));
	xv_struct_add(rec, "bootable", xv_bool(false));
	xv_struct_add(rec, "mode", xv_string(j->cd ? "RO" : "RW"));
	xv_struct_add(rec, "type", xv_string(j->cd ? "CD" : "Disk"));
	xv_struct_add(rec, "unpluggable", xv_bool(true));
	xv_struct_add(rec, "empty", xv_bool(j->vdi == NULL));
	label = xasprintf("Add %s to '%s'", j->what, j->vm_name);
	create_device(j, rec, label, "VBD.create", on_vbd_created);
	free(label);
}

static void make_drive(struct job *j)
{
	struct pool *p = job_pool(j);

	if (p)
		app_query(j->app, p, "VM.get_allowed_VBD_devices", xv_params_ref(j->vm), on_allowed_vbd, j);
}

/* ---- the DVD drive -------------------------------------------------------------- */

/* The VM's DVD drive (the first CD VBD), or NULL. */
static const char *cd_drive(const struct cache *c, const struct xv *vm, const struct xv **vbd)
{
	const struct xv *vbds = rec_field(vm, "VBDs");

	for (size_t i = 0; i < xv_len(vbds); i++) {
		const char *ref = xv_str(xv_at(vbds, i));
		const struct xv *r = cache_get(c, ref);
		if (r && strcmp(rec_str(r, "type"), "CD") == 0) {
			if (vbd)
				*vbd = r;
			return ref;
		}
	}
	return NULL;
}

static void insert_now(struct job *j)
{
	char *label = xasprintf("Insert %s into '%s'", j->what, j->vm_name);

	job_op(j, label, "VBD.insert", params2(j->vbd, j->vdi), on_last_step);
	free(label);
}

static void on_ejected_for_insert(struct ops *ops, struct op *op, void *ud)
{
	struct job *j = ud;

	if (step_ok(j, op))
		insert_now(j);
}

/* Puts vdi in the VM's DVD drive: ejects what is there first, and makes a
 * drive holding it when the VM has none, as XO does. */
static void insert_iso(struct app *app, const struct vm_sel *s, const char *vdi)
{
	const struct xv *vbd = NULL;
	const char *cd = cd_drive(s->p->cache, s->vm, &vbd);
	const char *iso = name_of(s->p->cache, vdi);
	struct job *j;

	if (cd && !rec_bool(vbd, "empty") && strcmp(rec_str(vbd, "VDI"), vdi) == 0) {
		app_message(app, MSG_INFO, "'%s' is already in the DVD drive of '%s'", iso, rec_str(s->vm, "name_label"));
		return;
	}
	j = job_new(app, s);
	j->vdi = xstrdup(vdi);
	j->what = xasprintf("'%s'", *iso ? iso : "the ISO");
	j->cd = true;
	if (!cd) {
		free(j->what);
		j->what = xasprintf("a DVD drive with '%s'", *iso ? iso : "the ISO");
		make_drive(j);
		return;
	}
	j->vbd = xstrdup(cd);
	if (!rec_bool(vbd, "empty")) {
		char *label = xasprintf("Eject '%s' from '%s'", name_of(s->p->cache, rec_str(vbd, "VDI")), j->vm_name);
		job_op(j, label, "VBD.eject", xv_params_ref(cd), on_ejected_for_insert);
		free(label);
		return;
	}
	insert_now(j);
}

struct iso_item {
	const char *ref, *name, *sr;
	long long size;
};

struct iso_list {
	const struct cache *c;
	struct iso_item *items;
	size_t n, cap;
};

static bool collect_iso(const char *ref, const struct xv *vdi, void *ud)
{
	struct iso_list *l = ud;
	const struct xv *sr = cache_get(l->c, rec_str(vdi, "SR"));

	if (!sr || strcmp(rec_str(sr, "content_type"), "iso") != 0 || rec_bool(vdi, "is_a_snapshot"))
		return true;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->items = xrealloc(l->items, l->cap * sizeof(*l->items));
	}
	l->items[l->n++] = (struct iso_item){ref, rec_str(vdi, "name_label"), rec_str(sr, "name_label"),
					     rec_int(vdi, "virtual_size")};
	return true;
}

static int compare_isos(const void *a, const void *b)
{
	const struct iso_item *x = a, *y = b;
	int c = strcmp(x->sr, y->sr);

	return c ? c : strcmp(x->name, y->name);
}

static void on_iso_choice(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct vm_sel s;

	if (r->ok && vm_sel_lookup(app, qref, &s))
		insert_iso(app, &s, r->choice_key);
}

void vm_dev_insert(struct app *app, void *st)
{
	struct vm_sel s;
	struct iso_list l;
	struct dialog *d;
	char *text;

	if (!vm_sel_of(app, st, &s)) {
		app_message(app, MSG_INFO, "No VM");
		return;
	}
	memset(&l, 0, sizeof(l));
	l.c = s.p->cache;
	cache_each(s.p->cache, "VDI", collect_iso, &l);
	if (!l.n) {
		app_message(app, MSG_ERROR, "No ISO in any ISO library of this pool (:storage to add one)");
		return;
	}
	if (l.n > 1)
		qsort(l.items, l.n, sizeof(*l.items), compare_isos);
	text = xasprintf("Which ISO goes into the DVD drive of '%s'?", rec_str(s.vm, "name_label"));
	d = dialog_choose("Insert an ISO", text);
	for (size_t i = 0; i < l.n; i++) {
		char size[24], detail[160];
		size_format(size, sizeof(size), l.items[i].size);
		snprintf(detail, sizeof(detail), "%s, %s", l.items[i].sr, size);
		dialog_add_choice(d, l.items[i].ref, l.items[i].name, detail);
	}
	dialog_on_done(d, on_iso_choice, s.qref, NULL);
	app_open_dialog(app, d);
	free(l.items);
	free(text);
}

struct find_tools {
	const struct cache *c;
	const char *ref;
};

static bool find_tools_iso(const char *ref, const struct xv *vdi, void *ud)
{
	struct find_tools *f = ud;
	const struct xv *sr = cache_get(f->c, rec_str(vdi, "SR"));

	/* is_tools_iso marks it; the tools SR (is_tools_sr) holds it */
	if (rec_bool(vdi, "is_tools_iso") || (sr && rec_bool(sr, "is_tools_sr") && !f->ref)) {
		f->ref = ref;
		return !rec_bool(vdi, "is_tools_iso");
	}
	return true;
}

void vm_dev_guest_tools(struct app *app, void *st)
{
	struct vm_sel s;
	struct find_tools f;

	if (!vm_sel_of(app, st, &s)) {
		app_message(app, MSG_INFO, "No VM");
		return;
	}
	f.c = s.p->cache;
	f.ref = NULL;
	cache_each(s.p->cache, "VDI", find_tools_iso, &f);
	if (!f.ref) {
		app_message(app, MSG_ERROR, "This pool has no guest tools ISO (no 'XCP-ng Tools' SR)");
		return;
	}
	insert_iso(app, &s, f.ref);
}

void vm_dev_eject(struct app *app, void *st)
{
	struct vm_sel s;
	const struct xv *vbd = NULL;
	const char *cd;
	struct job *j;
	char *label;

	if (!vm_sel_of(app, st, &s)) {
		app_message(app, MSG_INFO, "No VM");
		return;
	}
	if (!(cd = cd_drive(s.p->cache, s.vm, &vbd))) {
		app_message(app, MSG_INFO, "'%s' has no DVD drive (i inserts an ISO and makes one)",
			    rec_str(s.vm, "name_label"));
		return;
	}
	if (rec_bool(vbd, "empty")) {
		app_message(app, MSG_INFO, "The DVD drive of '%s' is already empty", rec_str(s.vm, "name_label"));
		return;
	}
	j = job_new(app, &s);
	label = xasprintf("Eject '%s' from '%s'", name_of(s.p->cache, rec_str(vbd, "VDI")), j->vm_name);
	job_op(j, label, "VBD.eject", xv_params_ref(cd), on_last_step);
	free(label);
}

/* ---- disks: new, attach, remove ----------------------------------------------- */

/* The SRs a new disk can go on, for the form's choice field. */
struct sr_choices {
	char **refs;
	char **labels;
	int n, cap, preferred;
	const char *default_sr;
	const struct cache *c; /* while collecting */
	const struct xv *vm;   /* only SRs a host that runs it sees (while collecting) */
	int unreachable;       /* SRs left out for that */
};

static void sr_choices_free(void *p)
{
	struct sr_choices *c = p;

	for (int i = 0; i < c->n; i++) {
		free(c->refs[i]);
		free(c->labels[i]);
	}
	free(c->refs);
	free(c->labels);
	free(c);
}

static bool collect_sr(const char *ref, const struct xv *sr, void *ud)
{
	struct sr_choices *c = ud;
	char space[24], name[200];

	if (!sr_takes_new_disks(sr))
		return true;
	if (!vm_can_use_sr(c->c, c->vm, ref)) {
		c->unreachable++;
		return true;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 8;
		c->refs = xrealloc(c->refs, (size_t)c->cap * sizeof(char *));
		c->labels = xrealloc(c->labels, (size_t)c->cap * sizeof(char *));
	}
	size_format(space, sizeof(space), rec_int(sr, "physical_size") - rec_int(sr, "physical_utilisation"));
	if (c->default_sr && strcmp(ref, c->default_sr) == 0)
		c->preferred = c->n;
	c->refs[c->n] = xstrdup(ref);
	c->labels[c->n++] = xasprintf("%s, %s free", sr_label(c->c, ref, name, sizeof(name)), space);
	return true;
}

static void on_vdi_created(struct ops *ops, struct op *op, void *ud)
{
	struct job *j = ud;

	if (!step_ok(j, op))
		return;
	free(j->vdi);
	j->vdi = xstrdup(op->result && xv_str(op->result) ? xv_str(op->result) : "OpaqueRef:NULL");
	make_drive(j);
}

static void on_new_disk_form(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct sr_choices *c = ud;
	struct vm_sel s;
	struct job *j;
	struct xv *rec, *params;
	const char *name, *sr;
	long long size;
	char sz[24], *label, where[200];

	if (!r->ok || !vm_sel_lookup(app, qref, &s))
		return;
	name = form_get_text(r->form, 0);
	size = form_get_number(r->form, 1);
	sr = c->refs[form_get_choice(r->form, 2)];
	size_format(sz, sizeof(sz), size);
	j = job_new(app, &s);
	j->what = xasprintf("disk '%s'", name);
	rec = xv_struct();
	xv_struct_add(rec, "name_label", xv_string(name));
	xv_struct_add(rec, "name_description", xv_string(""));
	xv_struct_add(rec, "SR", xv_string(sr));
	xv_struct_add(rec, "virtual_size", xv_int(size));
	xv_struct_add(rec, "type", xv_string("user"));
	xv_struct_add(rec, "sharable", xv_bool(false));
	xv_struct_add(rec, "read_only", xv_bool(false));
	xv_struct_add(rec, "other_config", xv_struct());
	params = xv_array();
	xv_array_push(params, rec);
	label = xasprintf("Create disk '%s' (%s) on %s", name, sz, sr_label(s.p->cache, sr, where, sizeof(where)));
	job_op(j, label, "VDI.create", params, on_vdi_created);
	free(label);
}

/* Why no SR can take a new disk of vm: each is out of its hosts' sight. */
static char *no_sr_text(const struct cache *c, const struct xv *vm)
{
	const char *home = rec_str(vm, "resident_on");

	if (!is_null_ref(home))
		return xasprintf("No SR that can hold a new disk is attached to %s, where '%s' runs", name_of(c, home),
				 rec_str(vm, "name_label"));
	return xasprintf("No SR that can hold a new disk is seen by a host that can run '%s' (one that sees all "
			 "its disks)",
			 rec_str(vm, "name_label"));
}

static void add_disk(struct app *app, const struct vm_sel *s)
{
	struct sr_choices *c = xcalloc(1, sizeof(*c));
	const char *pool_ref;
	const struct xv *pool = pool_record(s->p->cache, &pool_ref);
	struct form *f;
	struct dialog *d;
	char *name, *text;

	c->default_sr = pool ? rec_str(pool, "default_SR") : NULL;
	c->c = s->p->cache;
	c->vm = s->vm;
	cache_each(s->p->cache, "SR", collect_sr, c);
	c->c = NULL; /* the cache changes while the form is open: only refs are kept */
	c->vm = NULL;
	if (!c->n) {
		if (c->unreachable) {
			text = no_sr_text(s->p->cache, s->vm);
			app_open_dialog(app, dialog_message("New disk", text));
			free(text);
		} else {
			app_message(app, MSG_ERROR, "No SR of this pool can hold a new disk");
		}
		sr_choices_free(c);
		return;
	}
	name = xasprintf("%s disk %zu", rec_str(s->vm, "name_label"), xv_len(rec_field(s->vm, "VBDs")));
	f = form_new();
	form_text(f, "Name", name, true);
	form_size(f, "Size", 10 * GiB, 1 * MiB, 2040 * GiB, GiB);
	form_choice(f, "SR", (const char *const *)c->labels, c->n, c->preferred);
	text = xasprintf("A new empty disk for '%s'. Size in GiB, or with its unit (512M, 1.5T); "
			 "Left/Right changes the SR%s.",
			 rec_str(s->vm, "name_label"), c->unreachable ? " (only those its host can see)" : "");
	d = dialog_form("New disk", text, f);
	dialog_on_done(d, on_new_disk_form, s->qref, c);
	dialog_own_ud(d, sr_choices_free);
	app_open_dialog(app, d);
	free(name);
	free(text);
}

struct vdi_list {
	const struct cache *c;
	const struct xv *vm;
	struct dialog *d;
	int n, unreachable;
};

/* Disks no VM uses, on SRs that hold VM disks. */
static bool add_free_vdi(const char *ref, const struct xv *vdi, void *ud)
{
	struct vdi_list *l = ud;
	const struct xv *sr = cache_get(l->c, rec_str(vdi, "SR"));
	char size[24], detail[260], where[200];

	if (!sr || strcmp(rec_str(sr, "content_type"), "iso") == 0 || strcmp(rec_str(sr, "type"), "udev") == 0
	    || rec_bool(vdi, "is_a_snapshot") || xv_len(rec_field(vdi, "VBDs"))
	    || strcmp(rec_str(vdi, "type"), "user") != 0)
		return true;
	if (!vm_can_use_sr(l->c, l->vm, rec_str(vdi, "SR"))) {
		l->unreachable++; /* on storage the VM's host cannot see */
		return true;
	}
	size_format(size, sizeof(size), rec_int(vdi, "virtual_size"));
	snprintf(detail, sizeof(detail), "%s, %s", sr_label(l->c, rec_str(vdi, "SR"), where, sizeof(where)), size);
	dialog_add_choice(l->d, ref, rec_str(vdi, "name_label"), detail);
	l->n++;
	return true;
}

static void on_attach_choice(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct vm_sel s;
	struct job *j;

	if (!r->ok || !vm_sel_lookup(app, qref, &s))
		return;
	j = job_new(app, &s);
	j->vdi = xstrdup(r->choice_key);
	j->what = xasprintf("disk '%s'", name_of(s.p->cache, r->choice_key));
	make_drive(j);
}

void vm_dev_attach(struct app *app, void *st)
{
	struct vm_sel s;
	struct vdi_list l;
	char *text;

	if (!vm_sel_of(app, st, &s)) {
		app_message(app, MSG_INFO, "No VM");
		return;
	}
	text = xasprintf("Attach which disk to '%s'? (disks no VM uses)", rec_str(s.vm, "name_label"));
	memset(&l, 0, sizeof(l));
	l.c = s.p->cache;
	l.vm = s.vm;
	l.d = dialog_choose("Attach a disk", text);
	cache_each(s.p->cache, "VDI", add_free_vdi, &l);
	free(text);
	if (!l.n) {
		dialog_free(l.d);
		if (l.unreachable)
			app_message(app, MSG_INFO, "The free disks are on storage %s cannot see (a makes a new one)",
				    is_null_ref(rec_str(s.vm, "resident_on")) ? "no host that can run it"
									: name_of(s.p->cache, rec_str(s.vm, "resident_on")));
		else
			app_message(app, MSG_INFO, "No disk is free to attach (a makes a new one)");
		return;
	}
	dialog_on_done(l.d, on_attach_choice, s.qref, NULL);
	app_open_dialog(app, l.d);
}

static void on_vbd_destroyed(struct ops *ops, struct op *op, void *ud)
{
	struct job *j = ud;
	char *label;

	if (!step_ok(j, op))
		return;
	if (!j->destroy_vdi) {
		app_message(j->app, MSG_INFO, "%s: done (the disk is kept: A attaches it again)", op->label);
		job_end(j);
		return;
	}
	label = xasprintf("Destroy %s", j->what);
	job_op(j, label, "VDI.destroy", xv_params_ref(j->vdi), on_last_step);
	free(label);
}

static void destroy_vbd(struct job *j)
{
	char *label = xasprintf("Detach %s from '%s'", j->what, j->vm_name);

	job_op(j, label, "VBD.destroy", xv_params_ref(j->vbd), on_vbd_destroyed);
	free(label);
}

static void on_vbd_unplugged(struct ops *ops, struct op *op, void *ud)
{
	struct job *j = ud;

	if (step_ok(j, op))
		destroy_vbd(j);
}

static void remove_disk_now(struct app *app, const char *vm_qref, const char *vbd_ref, bool destroy)
{
	struct vm_sel s;
	const struct xv *vbd;
	struct job *j;

	if (!vm_sel_lookup(app, vm_qref, &s) || !(vbd = cache_get(s.p->cache, vbd_ref)))
		return;
	j = job_new(app, &s);
	j->vbd = xstrdup(vbd_ref);
	j->vdi = xstrdup(rec_str(vbd, "VDI"));
	j->what = xasprintf("disk '%s'", name_of(s.p->cache, j->vdi));
	j->destroy_vdi = destroy;
	if (rec_bool(vbd, "currently_attached")) {
		char *label = xasprintf("Unplug %s from '%s'", j->what, j->vm_name);
		job_op(j, label, "VBD.unplug", xv_params_ref(j->vbd), on_vbd_unplugged);
		free(label);
		return;
	}
	destroy_vbd(j);
}

static void on_destroy_typed(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	if (r->ok)
		remove_disk_now(app, qref, ud, true);
}

#define KEEP_KEY "keep"
#define DESTROY_KEY "destroy"

static void on_remove_choice(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	const char *vbd_ref = ud;
	struct vm_sel s;
	const struct xv *vbd, *vdi;
	struct dialog *d;
	char *text, size[24];

	if (!r->ok || !vm_sel_lookup(app, qref, &s) || !(vbd = cache_get(s.p->cache, vbd_ref)))
		return;
	if (strcmp(r->choice_key, KEEP_KEY) == 0) {
		remove_disk_now(app, qref, vbd_ref, false);
		return;
	}
	vdi = cache_get(s.p->cache, rec_str(vbd, "VDI"));
	size_format(size, sizeof(size), rec_int(vdi, "virtual_size"));
	text = xasprintf("Destroy the disk '%s' (%s) of '%s' and everything on it? This cannot be undone.",
			 rec_str(vdi, "name_label"), size, rec_str(s.vm, "name_label"));
	d = dialog_type_name("Destroy disk", text, rec_str(vdi, "name_label"));
	dialog_on_done(d, on_destroy_typed, qref, xstrdup(vbd_ref));
	dialog_own_ud(d, free);
	app_open_dialog(app, d);
	free(text);
}

static void remove_disk(struct app *app, const struct vm_sel *s, const char *vbd_ref)
{
	const struct xv *vbd = cache_get(s->p->cache, vbd_ref);
	const struct xv *vdi;
	struct dialog *d;
	char *text;

	if (!vbd)
		return;
	if (strcmp(rec_str(vbd, "type"), "CD") == 0) {
		app_message(app, MSG_INFO, "That is the DVD drive: E ejects its disc, i or g inserts one");
		return;
	}
	vdi = cache_get(s->p->cache, rec_str(vbd, "VDI"));
	if (!vdi) {
		remove_disk_now(app, s->qref, vbd_ref, false);
		return;
	}
	text = xasprintf("Remove the disk '%s' from '%s'%s?", rec_str(vdi, "name_label"), rec_str(s->vm, "name_label"),
			 rec_bool(vbd, "currently_attached") ? " (it is unplugged first)" : "");
	d = dialog_choose("Remove disk", text);
	dialog_add_choice(d, KEEP_KEY, "Detach it, keep the disk", "A can attach it again");
	if (xv_len(rec_field(vdi, "VBDs")) <= 1)
		dialog_add_choice(d, DESTROY_KEY, "Detach and destroy the disk", "its data is lost");
	dialog_on_done(d, on_remove_choice, s->qref, xstrdup(vbd_ref));
	dialog_own_ud(d, free);
	app_open_dialog(app, d);
	free(text);
}

/* ---- network interfaces ------------------------------------------------------------ */

static char *vif_plug_label(struct job *j, struct pool *p)
{
	return xasprintf("Plug the interface on '%s' into '%s'", name_of(p->cache, j->network), j->vm_name);
}

static void on_vif_created(struct ops *ops, struct op *op, void *ud)
{
	struct job *j = ud;

	plug_created(j, op, &j->vif, "can_use_hotplug_vif", "interface", "VIF.plug", vif_plug_label);
}

static void on_allowed_vif(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct job *j = ud;
	struct pool *p = job_pool(j);
	const struct xv *net;
	struct xv *rec;
	const char *dev;
	char *label;

	if (!p || !allowed_ok(j, p, r, "an interface"))
		return;
	dev = xv_len(r->value) ? xv_str(xv_at(r->value, 0)) : NULL;
	if (!dev) {
		app_message(j->app, MSG_ERROR, "Add an interface to '%s': it has no free interface position left",
			    j->vm_name);
		job_end(j);
		return;
	}
	net = cache_get(p->cache, j->network);
	rec = xv_struct();
	xv_struct_add(rec, "device", xv_string(dev));
	xv_struct_add(rec, "network", xv_string(j->network));
	xv_struct_add(rec, "VM", xv_string(j->vm));
	xv_struct_add(rec, "MAC", xv_string("")); /* xapi makes one */
	xv_struct_add(rec, "MTU", xv_int(net && rec_int(net, "MTU") > 0 ? rec_int(net, "MTU") : 1500));
	label = xasprintf("Add an interface on '%s' to '%s'", name_of(p->cache, j->network), j->vm_name);
	create_device(j, rec, label, "VIF.create", on_vif_created);
	free(label);
}

static void on_network_choice(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct vm_sel s;
	struct job *j;

	if (!r->ok || !vm_sel_lookup(app, qref, &s))
		return;
	j = job_new(app, &s);
	j->network = xstrdup(r->choice_key);
	app_query(app, s.p, "VM.get_allowed_VIF_devices", xv_params_ref(j->vm), on_allowed_vif, j);
}

struct net_list {
	const struct cache *c;
	struct dialog *d;
	int n;
};

static bool add_network_choice(const char *ref, const struct xv *net, void *ud)
{
	struct net_list *l = ud;
	const char *internal = rec_map(net, "other_config", "is_host_internal_management_network");
	const struct xv *pifs = rec_field(net, "PIFs");
	char detail[96];

	if (internal && strcmp(internal, "true") == 0)
		return true; /* xapi's own link to the guests, not for VMs' traffic */
	if (!xv_len(pifs)) {
		snprintf(detail, sizeof(detail), "internal, MTU %lld", rec_int(net, "MTU"));
	} else {
		const struct xv *pif = cache_get(l->c, xv_str(xv_at(pifs, 0)));
		if (pif && rec_int(pif, "VLAN") >= 0)
			snprintf(detail, sizeof(detail), "%s VLAN %lld, MTU %lld", rec_str(pif, "device"),
				 rec_int(pif, "VLAN"), rec_int(net, "MTU"));
		else
			snprintf(detail, sizeof(detail), "%s, MTU %lld", pif ? rec_str(pif, "device") : "",
				 rec_int(net, "MTU"));
	}
	dialog_add_choice(l->d, ref, rec_str(net, "name_label"), detail);
	l->n++;
	return true;
}

static void add_vif(struct app *app, const struct vm_sel *s)
{
	struct net_list l;
	char *text = xasprintf("Add an interface to '%s' on which network?", rec_str(s->vm, "name_label"));

	l.c = s->p->cache;
	l.d = dialog_choose("Add an interface", text);
	l.n = 0;
	cache_each(s->p->cache, "network", add_network_choice, &l);
	free(text);
	if (!l.n) {
		dialog_free(l.d);
		app_message(app, MSG_ERROR, "This pool has no network for VMs (:networks makes one)");
		return;
	}
	dialog_on_done(l.d, on_network_choice, s->qref, NULL);
	app_open_dialog(app, l.d);
}

static void destroy_vif(struct job *j)
{
	char *label = xasprintf("Remove %s from '%s'", j->what, j->vm_name);

	job_op(j, label, "VIF.destroy", xv_params_ref(j->vif), on_last_step);
	free(label);
}

static void on_vif_unplugged(struct ops *ops, struct op *op, void *ud)
{
	struct job *j = ud;

	if (step_ok(j, op))
		destroy_vif(j);
}

static void on_remove_vif_answer(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	const char *vif_ref = ud;
	struct vm_sel s;
	const struct xv *vif;
	struct job *j;

	if (!r->ok || !vm_sel_lookup(app, qref, &s) || !(vif = cache_get(s.p->cache, vif_ref)))
		return;
	j = job_new(app, &s);
	j->vif = xstrdup(vif_ref);
	j->what = xasprintf("interface %s (on '%s')", rec_str(vif, "device"),
			    name_of(s.p->cache, rec_str(vif, "network")));
	if (rec_bool(vif, "currently_attached")) {
		char *label = xasprintf("Unplug %s from '%s'", j->what, j->vm_name);
		job_op(j, label, "VIF.unplug", xv_params_ref(j->vif), on_vif_unplugged);
		free(label);
		return;
	}
	destroy_vif(j);
}

static void remove_vif(struct app *app, const struct vm_sel *s, const char *vif_ref)
{
	const struct xv *vif = cache_get(s->p->cache, vif_ref);
	struct dialog *d;
	char *text;

	if (!vif)
		return;
	text = xasprintf("Remove interface %s (MAC %s, on '%s') from '%s'?", rec_str(vif, "device"),
			 rec_str(vif, "MAC"), name_of(s->p->cache, rec_str(vif, "network")),
			 rec_str(s->vm, "name_label"));
	d = dialog_confirm("Remove interface", text, "Remove", "Keep", true);
	dialog_on_done(d, on_remove_vif_answer, s->qref, xstrdup(vif_ref));
	dialog_own_ud(d, free);
	app_open_dialog(app, d);
	free(text);
}

/* TX checksum offload: off is other_config ethtool-tx=off, read when the
 * VIF is plugged; on is the default, so the key goes. */
static void on_tx_set(struct app *app, struct pool *p, bool ok, void *ud)
{
	struct job *j = ud;

	/* read when the VIF is plugged: a running VM sees it after a shutdown and start */
	if (ok)
		app_message(app, MSG_INFO, "TX checksum offload %s on %s: %s. Shut the VM down and start it to apply",
			    j->tx_off ? "off" : "on", j->what,
			    j->tx_off ? "firewall VMs such as pfSense/OPNsense need it off" : "the default");
	job_end(j);
}

static void on_tx_removed(struct app *app, struct pool *p, bool ok, void *ud)
{
	struct job *j = ud;
	struct xv *params;
	char *label;

	if (!ok || !j->tx_off) {
		on_tx_set(app, p, ok, ud);
		return;
	}
	if (!(p = job_pool(j)))
		return;
	params = params2(j->vif, "ethtool-tx");
	xv_array_push(params, xv_string("off"));
	label = xasprintf("Turn TX checksum offload off on %s of '%s'", j->what, j->vm_name);
	app_call_then(app, p, label, "VIF.add_to_other_config", params, on_tx_set, j);
	free(label);
}

void vm_dev_tx_offload(struct app *app, void *st)
{
	struct vm_sel s;
	const char *vif_ref = selected_of(st);
	const struct xv *vif;
	struct job *j;
	char *label;

	if (!vm_sel_of(app, st, &s) || tab_of(st) != VMDEV_NETWORK || !vif_ref
	    || !(vif = cache_get(s.p->cache, vif_ref))) {
		app_message(app, MSG_INFO, "Choose an interface on the Network tab first");
		return;
	}
	j = job_new(app, &s);
	j->vif = xstrdup(vif_ref);
	j->what = xasprintf("interface %s", rec_str(vif, "device"));
	j->tx_off = strcmp(vm_dev_tx_text(vif), "on") == 0;
	label = xasprintf("Turn TX checksum offload %s on %s of '%s'", j->tx_off ? "off" : "on", j->what,
			  j->vm_name);
	/* whatever it was ("true", "false", "on"), it goes first: add fails on a present key */
	app_call_then(app, s.p, label, "VIF.remove_from_other_config", params2(j->vif, "ethtool-tx"), on_tx_removed,
		      j);
	free(label);
}

/* ---- the keys ----------------------------------------------------------------------- */

void vm_dev_add(struct app *app, void *st)
{
	struct vm_sel s;

	if (!vm_sel_of(app, st, &s)) {
		app_message(app, MSG_INFO, "No VM");
		return;
	}
	switch (tab_of(st)) {
	case VMDEV_DISKS:
		add_disk(app, &s);
		return;
	case VMDEV_NETWORK:
		add_vif(app, &s);
		return;
	default:
		app_message(app, MSG_INFO, "a adds a disk on the Disks tab, an interface on the Network tab");
		return;
	}
}

void vm_dev_remove(struct app *app, void *st)
{
	struct vm_sel s;
	const char *sel = selected_of(st);

	if (!vm_sel_of(app, st, &s)) {
		app_message(app, MSG_INFO, "No VM");
		return;
	}
	if (!vm_dev_on_devices(app, st) || !sel) {
		app_message(app, MSG_INFO, "Choose a disk (Disks tab) or an interface (Network tab) first");
		return;
	}
	return tab_of(st) == VMDEV_DISKS ? remove_disk(app, &s, sel) : remove_vif(app, &s, sel);
}
