/* One SR: its fields and its disks (VDIs) with their size, use and the VMs
 * they belong to, live; create, grow, rename and destroy a disk, rescan,
 * upload an ISO. The screen's argument is the SR's qualified ref. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "detail.h"
#include "dialog.h"
#include "draw.h"
#include "form.h"
#include "keys.h"
#include "model.h"
#include "screens.h"
#include "storage.h"
#include "table.h"
#include "units.h"
#include "util.h"

#define GiB (1024LL * 1024 * 1024)
#define MiB (1024LL * 1024)

enum { COL_NAME, COL_SIZE, COL_USED, COL_VMS, COL_MODE, NCOLS };

static const struct table_col columns[] = {
	[COL_NAME] = {"NAME", 16, 3, false, false, 0},
	[COL_SIZE] = {"SIZE", 9, 0, true, true, 0},
	[COL_USED] = {"USED", 9, 0, true, true, 1},
	[COL_VMS] = {"VM", 12, 2, false, false, 0},
	[COL_MODE] = {"MODE", 4, 0, false, false, 2},
};

struct sr_screen {
	struct detail d; /* the SR and its pool (no tabs) */
	struct table *table;
};

/* The VMs that use vdi, joined by ", "; *running says one is attached. */
static void vdi_vms(const struct cache *c, const struct xv *vdi, char *buf, size_t n, bool *attached)
{
	const struct xv *vbds = rec_field(vdi, "VBDs");
	struct buf b;

	buf_init(&b);
	*attached = false;
	for (size_t i = 0; i < xv_len(vbds); i++) {
		const struct xv *vbd = cache_get(c, xv_str(xv_at(vbds, i)));
		const char *name;
		if (!vbd)
			continue;
		if (rec_bool(vbd, "currently_attached"))
			*attached = true;
		name = name_of(c, rec_str(vbd, "VM"));
		buf_sep(&b, ", ");
		buf_puts(&b, *name ? name : "?");
	}
	snprintf(buf, n, "%s", b.data ? b.data : "");
	buf_free(&b);
}

static void rebuild(struct app *app, struct sr_screen *s)
{
	struct pool *p;
	const struct xv *sr = detail_record(app, &s->d, &p);
	const struct xv *vdis = rec_field(sr, "VDIs");

	table_clear(s->table);
	for (size_t i = 0; sr && i < xv_len(vdis); i++) {
		const char *vref = xv_str(xv_at(vdis, i));
		const struct xv *vdi = cache_get(p->cache, vref);
		char size[24], used[24], vms[256], key[QREF_MAX];
		bool attached;
		if (!vdi)
			continue;
		size_format(size, sizeof(size), rec_int(vdi, "virtual_size"));
		size_format(used, sizeof(used), rec_int(vdi, "physical_utilisation"));
		vdi_vms(p->cache, vdi, vms, sizeof(vms), &attached);
		{
			struct table_cell cells[] = {
				[COL_NAME] = {rec_str(vdi, "name_label"), 0, -1},
				[COL_SIZE] = {size, (double)rec_int(vdi, "virtual_size"), -1},
				[COL_USED] = {used, (double)rec_int(vdi, "physical_utilisation"), -1},
				[COL_VMS] = {vms, 0, attached ? (int)ROLE_GOOD : -1},
				[COL_MODE] = {rec_bool(vdi, "read_only") ? "RO" : "RW", 0, -1},
			};
			table_put(s->table, pool_qref(p, vref, key, sizeof(key)), cells,
				  rec_bool(vdi, "is_a_snapshot") ? ROLE_DIM : ROLE_NORMAL, rec_str(vdi, "uuid"));
		}
	}
}

static void *sr_enter(struct app *app, const void *arg)
{
	struct sr_screen *s = xcalloc(1, sizeof(*s));

	detail_init(&s->d, app, arg, "SR", "SR", NULL, 0);
	s->table = table_new(columns, NCOLS);
	table_set_noun(s->table, "disk", "disks");
	rebuild(app, s);
	return s;
}

static void sr_leave(struct app *app, void *st)
{
	struct sr_screen *s = st;

	table_free(s->table);
	detail_free(&s->d);
	free(s);
}

static void sr_event(struct app *app, void *st, struct pool *p, enum cache_op op, const char *cls, const char *ref)
{
	if (!p || op == CACHE_LOADED
	    || (cls && (strcmp(cls, "SR") == 0 || strcmp(cls, "VDI") == 0 || strcmp(cls, "VBD") == 0)))
		rebuild(app, st);
}

/* Where the SR lives, from its PBDs' device_config (never a password). */
static void location_text(const struct cache *c, const struct xv *sr, char *buf, size_t n)
{
	static const char *const keys[] = {"location", "server", "serverpath", "device", "SCSIid", "target"};
	const struct xv *pbds = rec_field(sr, "PBDs");
	const struct xv *pbd = xv_len(pbds) ? cache_get(c, xv_str(xv_at(pbds, 0))) : NULL;
	struct buf b;

	buf_init(&b);
	for (size_t i = 0; pbd && i < ARRAY_LEN(keys); i++) {
		const char *v = rec_map(pbd, "device_config", keys[i]);
		if (v && *v) {
			buf_sep(&b, ", ");
			buf_printf(&b, "%s %s", keys[i], v);
		}
	}
	snprintf(buf, n, "%s", b.len ? b.data : "-");
	buf_free(&b);
}

/* "xcp-ng-01 (attached), xcp-ng-02 (detached)". */
static void hosts_text(const struct cache *c, const struct xv *sr, char *buf, size_t n)
{
	const struct xv *pbds = rec_field(sr, "PBDs");
	struct buf b;

	buf_init(&b);
	for (size_t i = 0; i < xv_len(pbds); i++) {
		const struct xv *pbd = cache_get(c, xv_str(xv_at(pbds, i)));
		if (pbd) {
			buf_sep(&b, ", ");
			buf_printf(&b, "%s%s", name_of(c, rec_str(pbd, "host")),
				   rec_bool(pbd, "currently_attached") ? "" : " (detached)");
		}
	}
	snprintf(buf, n, "%s", b.len ? b.data : "none");
	buf_free(&b);
}

static int draw_fields(struct pool *p, struct sr_screen *s, const struct xv *sr, WINDOW *w, int rows, int cols)
{
	char buf[512], a[24], b[24], bar[96];
	long long total = rec_int(sr, "physical_size"), used = rec_int(sr, "physical_utilisation");
	double frac = total > 0 ? (double)used / (double)total : 0;
	int line = 0, lw = 16, x = 2, cw = cols - 4;
	attr_t normal = theme_attr(ROLE_NORMAL);

#define KV(label, value, attr)                                           \
	do {                                                             \
		if (line < rows)                                         \
			ui_kv(w, line++, x, lw, cw, label, value, attr); \
	} while (0)
	KV("Name", rec_str(sr, "name_label"), theme_attr(ROLE_TITLE));
	KV("Description", rec_str(sr, "name_description"), normal);
	snprintf(buf, sizeof(buf), "%s (%s)%s%s", rec_str(sr, "type"),
		 *rec_str(sr, "content_type") ? rec_str(sr, "content_type") : "no content type",
		 rec_bool(sr, "shared") ? ", shared" : ", local",
		 sr_is_default(p->cache, s->d.ref) ? ", the pool's default SR" : "");
	KV("Type", buf, normal);
	size_format(a, sizeof(a), used);
	size_format(b, sizeof(b), total);
	bar_text(bar, sizeof(bar), frac, 20);
	snprintf(buf, sizeof(buf), "%s %3.0f%%  %s of %s", bar, frac * 100, a, b);
	KV("Used", buf, theme_attr(frac > 0.9 ? ROLE_BAD : ROLE_NORMAL));
	size_format(a, sizeof(a), rec_int(sr, "virtual_allocation"));
	KV("Allocated", a, normal);
	hosts_text(p->cache, sr, buf, sizeof(buf));
	KV("Hosts", buf, normal);
	location_text(p->cache, sr, buf, sizeof(buf));
	KV("Location", buf, normal);
	KV("UUID", rec_str(sr, "uuid"), theme_attr(ROLE_DIM));
#undef KV
	return line;
}

static void sr_draw(struct app *app, void *st, WINDOW *w, int h, int cols)
{
	struct sr_screen *s = st;
	struct pool *p;
	const struct xv *sr = detail_record(app, &s->d, &p);
	int top, up;

	detail_draw_head(&s->d, sr, p, w, cols);
	if (!sr)
		return;
	up = sr_uploads_count(p->id, s->d.ref);
	if (up > 3)
		up = 3;
	top = draw_fields(p, s, sr, w, h / 2, cols);
	ui_put(w, top++, 2, cols - 4, theme_attr(ROLE_HEADER), "Disks:");
	table_draw(s->table, w, top, 0, h - top - up, cols, !app_has_dialog(app));
	if (up)
		sr_uploads_draw(app, w, h - up, up, cols, p->id, s->d.ref);
}

static struct table *sr_list(struct app *app, void *st)
{
	return ((struct sr_screen *)st)->table;
}

static void sr_describe(struct app *app, void *st, char *buf, size_t n)
{
	detail_describe(app, &((struct sr_screen *)st)->d, NULL, buf, n);
}

static struct pool *sr_pool(struct app *app, void *st)
{
	return detail_pool(app, &((struct sr_screen *)st)->d);
}

/* ---- disk actions ---------------------------------------------------------------------- */

struct vdi_sel {
	struct pool *p;
	const char *ref;
	const struct xv *vdi;
};

static bool lookup_vdi(struct app *app, const char *qref, struct vdi_sel *v)
{
	memset(v, 0, sizeof(*v));
	v->vdi = qref ? app_lookup(app, qref, &v->p, &v->ref) : NULL;
	return v->vdi && v->p && v->p->cache;
}

/* The selected disk, or false after saying so. */
static bool selected_vdi(struct app *app, struct sr_screen *s, struct vdi_sel *v)
{
	if (lookup_vdi(app, table_selected(s->table), v))
		return true;
	app_message(app, MSG_INFO, "No disk selected");
	return false;
}

static void on_new_disk(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct pool *p;
	const char *sr_ref;
	struct xv *rec, *params;
	char *label;

	if (!r->ok || !app_lookup(app, qref, &p, &sr_ref))
		return;
	rec = xv_struct();
	xv_struct_set(rec, "name_label", xv_string(form_get_text(r->form, 0)));
	xv_struct_set(rec, "name_description", xv_string(form_get_text(r->form, 1)));
	xv_struct_set(rec, "SR", xv_string(sr_ref));
	xv_struct_set(rec, "virtual_size", xv_int(form_get_number(r->form, 2)));
	xv_struct_set(rec, "type", xv_string("user"));
	xv_struct_set(rec, "sharable", xv_bool(false));
	xv_struct_set(rec, "read_only", xv_bool(false));
	xv_struct_set(rec, "other_config", xv_struct());
	xv_struct_set(rec, "xenstore_data", xv_struct());
	xv_struct_set(rec, "sm_config", xv_struct());
	xv_struct_set(rec, "tags", xv_array());
	params = xv_array();
	xv_array_push(params, rec);
	label = xasprintf("Create disk '%s'", form_get_text(r->form, 0));
	app_op(app, p, label, "VDI.create", params);
	free(label);
}

static void new_disk(struct app *app, void *st)
{
	struct sr_screen *s = st;
	struct pool *p;
	const struct xv *sr = detail_record(app, &s->d, &p);
	struct form *f;
	struct dialog *d;
	char *text, free_text[24];

	if (!sr) {
		app_message(app, MSG_INFO, "The SR is not loaded");
		return;
	}
	if (sr_is_iso(sr)) {
		app_message(app, MSG_INFO, "'%s' is an ISO library: u uploads an ISO into it", rec_str(sr, "name_label"));
		return;
	}
	f = form_new();
	form_text(f, "Name", "New disk", true);
	form_text(f, "Description", "", false);
	form_size(f, "Size", 10 * GiB, MiB, 2040 * GiB, GiB);
	form_set_hint(f, 2, "or 512M, 1.5T");
	size_format(free_text, sizeof(free_text), rec_int(sr, "physical_size") - rec_int(sr, "physical_utilisation"));
	text = xasprintf("A new empty disk on '%s' (%s free). Attach it to a VM from the VM's Disks tab.",
			 rec_str(sr, "name_label"), free_text);
	d = dialog_form("New disk", text, f);
	dialog_on_done(d, on_new_disk, s->d.qref, NULL);
	app_open_dialog(app, d);
	free(text);
}

static const char *check_grow(const struct form *f, int field, const char *text, void *ud)
{
	const long long *current = ud;
	long long v;
	const char *why;

	if (!size_parse(text, GiB, &v, &why))
		return why;
	if (v < *current)
		return "disks only grow";
	return NULL;
}

static void on_resize(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct vdi_sel v;
	struct xv *params;
	char *label, size[24];

	if (!r->ok || !lookup_vdi(app, qref, &v))
		return;
	if (form_get_number(r->form, 0) == rec_int(v.vdi, "virtual_size")) {
		app_message(app, MSG_INFO, "'%s' keeps its size", rec_str(v.vdi, "name_label"));
		return;
	}
	params = xv_params_ref(v.ref);
	xv_array_push(params, xv_int(form_get_number(r->form, 0)));
	size_format(size, sizeof(size), form_get_number(r->form, 0));
	label = xasprintf("Grow disk '%s' to %s", rec_str(v.vdi, "name_label"), size);
	app_op(app, v.p, label, "VDI.resize", params);
	free(label);
}

static void resize_disk(struct app *app, void *st)
{
	struct vdi_sel v;
	struct form *f;
	struct dialog *d;
	long long *current;
	char *text, size[24];

	if (!selected_vdi(app, st, &v))
		return;
	current = xmalloc(sizeof(*current));
	*current = rec_int(v.vdi, "virtual_size");
	f = form_new();
	form_size(f, "New size", *current, *current, 2040 * GiB, GiB);
	form_set_check(f, 0, check_grow, current);
	size_format(size, sizeof(size), *current);
	text = xasprintf("Grow '%s' (now %s). A disk only grows; the guest must then grow its partition.",
			 rec_str(v.vdi, "name_label"), size);
	d = dialog_form("Grow disk", text, f);
	dialog_on_done(d, on_resize, table_selected(((struct sr_screen *)st)->table), current);
	dialog_own_ud(d, free);
	app_open_dialog(app, d);
	free(text);
}

static void on_rename(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct vdi_sel v;
	struct xv *params;
	char *label;

	if (!r->ok || !lookup_vdi(app, qref, &v))
		return;
	params = xv_params_ref(v.ref);
	xv_array_push(params, xv_string(form_get_text(r->form, 0)));
	label = xasprintf("Rename disk '%s' to '%s'", rec_str(v.vdi, "name_label"), form_get_text(r->form, 0));
	app_call(app, v.p, label, "VDI.set_name_label", params);
	free(label);
}

static void rename_disk(struct app *app, void *st)
{
	struct vdi_sel v;
	struct form *f;
	struct dialog *d;

	if (!selected_vdi(app, st, &v))
		return;
	f = form_new();
	form_text(f, "Name", rec_str(v.vdi, "name_label"), true);
	d = dialog_form("Rename disk", "The disk's new name:", f);
	dialog_on_done(d, on_rename, table_selected(((struct sr_screen *)st)->table), NULL);
	app_open_dialog(app, d);
}

static void on_destroy_typed(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct vdi_sel v;
	char *label;

	if (!r->ok || !lookup_vdi(app, qref, &v))
		return;
	label = xasprintf("Destroy disk '%s'", rec_str(v.vdi, "name_label"));
	app_op(app, v.p, label, "VDI.destroy", xv_params_ref(v.ref));
	free(label);
}

static void destroy_disk(struct app *app, void *st)
{
	struct vdi_sel v;
	struct dialog *d;
	char vms[256], size[24], *text;
	bool attached;

	if (!selected_vdi(app, st, &v))
		return;
	vdi_vms(v.p->cache, v.vdi, vms, sizeof(vms), &attached);
	if (attached) {
		app_message(app, MSG_ERROR, "'%s' is attached to running VM %s: shut the VM down or detach the disk first",
			    rec_str(v.vdi, "name_label"), vms);
		return;
	}
	size_format(size, sizeof(size), rec_int(v.vdi, "virtual_size"));
	if (*vms)
		text = xasprintf("Destroy '%s' (%s)? Its data is deleted for good and VM %s loses this disk. "
				 "Type the disk's name to confirm.",
				 rec_str(v.vdi, "name_label"), size, vms);
	else
		text = xasprintf("Destroy '%s' (%s)? Its data is deleted for good. Type the disk's name to confirm.",
				 rec_str(v.vdi, "name_label"), size);
	d = dialog_type_name("Destroy disk", text, rec_str(v.vdi, "name_label"));
	dialog_on_done(d, on_destroy_typed, table_selected(((struct sr_screen *)st)->table), NULL);
	app_open_dialog(app, d);
	free(text);
}

/* ---- SR actions ------------------------------------------------------------------------ */

static void rescan(struct app *app, void *st)
{
	sr_rescan(app, ((struct sr_screen *)st)->d.qref);
}

static void set_default(struct app *app, void *st)
{
	sr_set_default(app, ((struct sr_screen *)st)->d.qref);
}

static void remove_sr(struct app *app, void *st)
{
	sr_remove(app, ((struct sr_screen *)st)->d.qref);
}

static void destroy_sr(struct app *app, void *st)
{
	sr_destroy(app, ((struct sr_screen *)st)->d.qref);
}

static bool is_iso(struct app *app, void *st)
{
	struct sr_screen *s = st;
	struct pool *p;
	const struct xv *sr = detail_record(app, &s->d, &p);

	return sr && sr_is_iso(sr);
}

static bool holds_disks(struct app *app, void *st)
{
	struct sr_screen *s = st;
	struct pool *p;
	const struct xv *sr = detail_record(app, &s->d, &p);

	return sr && !sr_is_iso(sr);
}

static void upload(struct app *app, void *st)
{
	struct sr_screen *s = st;
	struct pool *p = detail_connected(app, &s->d);

	if (!p) {
		app_message(app, MSG_ERROR, "Upload: the SR's pool is not connected");
		return;
	}
	if (!is_iso(app, st)) {
		app_message(app, MSG_INFO, "ISOs go into an ISO library, and this SR holds virtual disks");
		return;
	}
	sr_upload_start(app, p, s->d.qref);
}

static void cancel_upload(struct app *app, void *st)
{
	struct sr_screen *s = st;
	struct pool *p = detail_connected(app, &s->d);

	if (!p || !sr_uploads_cancel(p->id, s->d.ref))
		app_message(app, MSG_INFO, "No upload is running into this SR");
}

static bool uploading(struct app *app, void *st)
{
	struct sr_screen *s = st;
	struct pool *p = detail_connected(app, &s->d);

	return p && sr_uploads_running(p->id, s->d.ref);
}

static const struct screen_key keys[] = {
	{'n', "New disk", "Create an empty disk on this SR (name, size)", new_disk, holds_disks, true},
	{'u', "Upload ISO", "Upload an ISO file from this computer into this ISO library", upload, is_iso, true},
	{'+', "Grow", "Grow the selected disk (VDI.resize; disks only grow)", resize_disk, NULL, true},
	{'e', "Rename", "Rename the selected disk", rename_disk, NULL, true},
	{'d', "Destroy", "Destroy the selected disk after typing its name (not while a running VM uses it)",
	 destroy_disk, NULL, true},
	{'r', "Rescan", "Rescan the SR (SR.scan)", rescan, NULL, true},
	{SR_DEFAULT_KEY, "Default", "Make this SR the pool's default SR (shared SRs only)", set_default, holds_disks,
	 false},
	{'*', "Default", "Make this SR the pool's default SR (as " SR_DEFAULT_KEY_TEXT ")", set_default, holds_disks,
	 false},
	{'x', "Cancel upload", "Cancel the uploads running into this SR (the partly written disk is removed)",
	 cancel_upload, uploading, true},
	{'R', "Remove SR", "Forget or destroy this SR, after typing its name", remove_sr, NULL, false},
	{'D', "Destroy SR", "Destroy this SR and every disk on it, after typing its name", destroy_sr, NULL, false},
	{0, NULL, NULL, NULL, NULL, false},
};

const struct screen screen_sr = {
	.name = "sr",
	.title = "SR",
	.keys = keys,
	.enter = sr_enter,
	.leave = sr_leave,
	.draw = sr_draw,
	.on_cache_event = sr_event,
	.list = sr_list,
	.describe = sr_describe,
	.pool = sr_pool,
};
