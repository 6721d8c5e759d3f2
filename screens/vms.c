/* VMs: every VM of the pool (not templates, snapshots or dom0), live; the
 * selection stays on its VM whatever changes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "draw.h"
#include "hmap.h"
#include "keys.h"
#include "model.h"
#include "screens.h"
#include "table.h"
#include "units.h"
#include "util.h"
#include "vm_actions.h"

enum { COL_NAME, COL_POWER, COL_HOST, COL_VCPUS, COL_RAM, COL_IP, COL_TOOLS };

static const struct table_col columns[] = {
	[COL_NAME] = {"NAME", 12, 3, false, false, 0},
	[COL_POWER] = {"POWER", 9, 0, false, false, 0},
	[COL_HOST] = {"HOST", 9, 1, false, false, 0},
	[COL_VCPUS] = {"VCPUS", 5, 0, true, true, 2},
	[COL_RAM] = {"RAM", 8, 0, true, true, 3},
	[COL_IP] = {"IP", 15, 0, false, false, 1},
	[COL_TOOLS] = {"TOOLS", 8, 0, false, false, 4},
};

struct vms {
	struct vm_target target; /* first: the VM action keys read it */
	struct table *table;
	struct hmap guest_owner; /* VM_guest_metrics ref -> VM ref (both owned by the entry) */
	struct hmap host_names;  /* host ref -> struct host_name: its name when the rows were made */
};

struct owner {
	char *metrics, *vm;
};

static const char *selected_vm(struct app *app, void *st)
{
	struct vms *v = st;

	return table_selected(v->table);
}

static void forget_owner(struct vms *v, const char *metrics)
{
	struct owner *o = hmap_del(&v->guest_owner, metrics);

	if (o) {
		free(o->metrics);
		free(o->vm);
		free(o);
	}
}

static void remember_owner(struct vms *v, const char *metrics, const char *vm)
{
	struct owner *o;

	if (is_null_ref(metrics))
		return;
	o = hmap_get(&v->guest_owner, metrics);
	if (o && strcmp(o->vm, vm) == 0)
		return;
	forget_owner(v, metrics);
	o = xcalloc(1, sizeof(*o));
	o->metrics = xstrdup(metrics);
	o->vm = xstrdup(vm);
	hmap_put(&v->guest_owner, o->metrics, o);
}

static void put_vm(struct vms *v, struct cache *c, const char *ref, const struct xv *vm)
{
	enum role power_role_;
	int tools_role;
	const char *power, *tools, *host = "";
	char vcpus[16], ram[24], tags[256], *extra;

	if (!vm_is_guest(vm)) {
		table_remove(v->table, ref);
		return;
	}
	power = vm_power_text(vm, &power_role_);
	tools = vm_tools(c, vm, &tools_role);
	if (strcmp(rec_str(vm, "power_state"), "Halted") != 0)
		host = name_of(c, rec_str(vm, "resident_on"));
	snprintf(vcpus, sizeof(vcpus), "%lld", rec_int(vm, "VCPUs_at_startup"));
	size_format(ram, sizeof(ram), rec_int(vm, "memory_dynamic_max"));
	tags_text(vm, tags, sizeof(tags));
	/* the filter also finds tags and uuids, which have no column */
	extra = xasprintf("%s %s", tags, rec_str(vm, "uuid"));
	{
		struct table_cell cells[] = {
			[COL_NAME] = {rec_str(vm, "name_label"), 0, -1},
			[COL_POWER] = {power, 0, (int)power_role_},
			[COL_HOST] = {host, 0, -1},
			[COL_VCPUS] = {vcpus, (double)rec_int(vm, "VCPUs_at_startup"), -1},
			[COL_RAM] = {ram, (double)rec_int(vm, "memory_dynamic_max"), -1},
			[COL_IP] = {vm_ip(c, vm), 0, -1},
			[COL_TOOLS] = {tools, 0, tools_role},
		};
		table_put(v->table, ref, cells, strcmp(rec_str(vm, "power_state"), "Halted") == 0 ? ROLE_DIM : ROLE_NORMAL,
			  extra);
	}
	free(extra);
	remember_owner(v, rec_str(vm, "guest_metrics"), ref);
}

static bool put_cb(const char *ref, const struct xv *vm, void *ud)
{
	void **ctx = ud;

	put_vm(ctx[0], ctx[1], ref, vm);
	return true;
}

static bool free_owner_cb(const char *key, void *value, void *ud)
{
	struct owner *o = value;

	free(o->metrics);
	free(o->vm);
	free(o);
	return true;
}

struct host_name {
	char *ref, *name;
};

static bool free_name_cb(const char *key, void *value, void *ud)
{
	struct host_name *h = value;

	free(h->ref);
	free(h->name);
	free(h);
	return true;
}

static bool note_host_cb(const char *ref, const struct xv *host, void *ud)
{
	struct vms *v = ud;
	struct host_name *h = hmap_get(&v->host_names, ref);

	if (!h) {
		h = xcalloc(1, sizeof(*h));
		h->ref = xstrdup(ref);
		hmap_put(&v->host_names, h->ref, h);
	}
	free(h->name);
	h->name = xstrdup(rec_str(host, "name_label"));
	return true;
}

static void rebuild(struct vms *v, struct cache *c)
{
	void *ctx[2] = {v, c};

	table_clear(v->table);
	hmap_each(&v->guest_owner, free_owner_cb, NULL);
	hmap_free(&v->guest_owner);
	hmap_init(&v->guest_owner);
	cache_each(c, "VM", put_cb, ctx);
	cache_each(c, "host", note_host_cb, v);
}

static void *vms_enter(struct app *app, const void *arg)
{
	struct vms *v = xcalloc(1, sizeof(*v));

	v->target.ref = selected_vm;
	v->table = table_new(columns, (int)(sizeof(columns) / sizeof(columns[0])));
	table_set_noun(v->table, "VM", "VMs");
	hmap_init(&v->guest_owner);
	hmap_init(&v->host_names);
	rebuild(v, app_cache(app));
	return v;
}

static void vms_leave(struct app *app, void *st)
{
	struct vms *v = st;

	table_free(v->table);
	hmap_each(&v->guest_owner, free_owner_cb, NULL);
	hmap_free(&v->guest_owner);
	hmap_each(&v->host_names, free_name_cb, NULL);
	hmap_free(&v->host_names);
	free(v);
}

/* Rows of VMs on a host change only if the host's name did. */
static void host_changed(struct vms *v, struct cache *c, const char *ref)
{
	const struct host_name *before = hmap_get(&v->host_names, ref);
	const struct xv *host = cache_get(c, ref);

	if (host && before && strcmp(before->name, rec_str(host, "name_label")) == 0)
		return;
	rebuild(v, c);
}

static void vms_event(struct app *app, void *st, enum cache_op op, const char *cls, const char *ref)
{
	struct vms *v = st;
	struct cache *c = app_cache(app);

	if (op == CACHE_LOADED) {
		rebuild(v, c);
		return;
	}
	if (!cls)
		return;
	if (strcmp(cls, "VM") == 0) {
		if (op == CACHE_DEL)
			table_remove(v->table, ref);
		else
			put_vm(v, c, ref, cache_get(c, ref));
	} else if (strcmp(cls, "VM_guest_metrics") == 0) {
		struct owner *o = hmap_get(&v->guest_owner, ref);
		if (o && cache_get(c, o->vm))
			put_vm(v, c, o->vm, cache_get(c, o->vm));
	} else if (strcmp(cls, "host") == 0) {
		host_changed(v, c, ref);
	}
}

static void vms_draw(struct app *app, void *st, WINDOW *w, int h, int cols)
{
	struct vms *v = st;

	if (!cache_loaded(app_cache(app)) && table_count(v->table) == 0) {
		ui_put(w, 1, 2, cols - 4, theme_attr(ROLE_DIM), cache_status(app_cache(app)));
		return;
	}
	table_draw(v->table, w, 0, 0, h, cols, !app_has_dialog(app));
}

static struct table *vms_list(struct app *app, void *st)
{
	return ((struct vms *)st)->table;
}

static int open_vm(struct app *app, void *st)
{
	const char *ref = selected_vm(app, st);

	if (ref)
		app_push(app, &screen_vm, ref);
	return EV_HANDLED;
}

static void vms_describe(struct app *app, void *st, char *buf, size_t n)
{
	snprintf(buf, n, "VMs");
}

static const struct screen_key keys[] = {
	{XK_ENTER, "Open", "Open the VM: details, disks, network, snapshots", open_vm, NULL, true},
	{0, NULL, NULL, NULL, NULL, false},
};

const struct screen screen_vms = {
	.name = "vms",
	.title = "VMs",
	.keys = keys,
	.shared_keys = vm_action_keys,
	.enter = vms_enter,
	.leave = vms_leave,
	.draw = vms_draw,
	.on_cache_event = vms_event,
	.list = vms_list,
	.describe = vms_describe,
};
