/* The new-VM chain: one step per call, each started by the previous one's
 * answer (nothing waits on the loop). What each step makes is remembered;
 * on a failure the chain destroys it all, newest first, and says which
 * step failed and why. */
#include "vm_create.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "model.h"
#include "pools.h"
#include "util.h"

enum step {
	ST_CLONE,       /* Async.VM.clone of the template */
	ST_NO_DISKS,    /* drop the template's provision XML: the chain makes the disks */
	ST_PROVISION,   /* Async.VM.provision: no longer a template */
	ST_DESCRIPTION,
	ST_VCPUS_FIRST, /* VCPUs_max before at_startup when growing, after when shrinking */
	ST_VCPUS_SECOND,
	ST_MEMORY,
	ST_BOOT_PARAMS, /* firmware and boot order */
	ST_PLATFORM,    /* device model and secure boot */
	ST_VDI,
	ST_VBD,
	ST_CD,
	ST_VIF,
	ST_START,
};

enum made_kind { MADE_VM, MADE_VDI, MADE_VBD, MADE_VIF };


struct vmc {
	struct app *app;
	int pool_id;
	struct vm_plan *plan;
	char *vm;                      /* the clone, once made */
	char *vdis[PLAN_MAX_DISKS];    /* borrowed from made[] */
	struct {
		enum step step;
		int arg;               /* the disk or network a step is about */
	} *steps;                      /* grown as they are added: none is ever dropped */
	int nsteps, step;
	struct {
		enum made_kind kind;
		char *ref;
	} *made;                       /* grown too: one forgotten would stay on undo */
	int nmade;
	char *failure;                 /* "step 5/12 (creating disk 'x'): why" */
	int undo_left, undo_failed;
};

static void next_step(struct vmc *c);
static void undo_next(struct vmc *c);

void vm_plan_free(struct vm_plan *plan)
{
	if (!plan)
		return;
	free(plan->template_ref);
	free(plan->name);
	free(plan->description);
	free(plan->iso);
	for (int i = 0; i < plan->nnetworks; i++)
		free(plan->networks[i]);
	for (int i = 0; i < plan->ndisks; i++) {
		free(plan->disks[i].name);
		free(plan->disks[i].sr);
	}
	free(plan);
}

static void vmc_free(void *p)
{
	struct vmc *c = p;

	vm_plan_free(c->plan);
	free(c->vm);
	for (int i = 0; i < c->nmade; i++)
		free(c->made[i].ref);
	free(c->made);
	free(c->steps);
	free(c->failure);
	free(c);
}

/* The pool while it can still take calls, else NULL. */
static struct pool *usable_pool(struct vmc *c)
{
	struct pool *p = pools_by_id(app_pools(c->app), c->pool_id);

	return p && p->x && p->cache && !p->closing ? p : NULL;
}

static void finish(struct vmc *c)
{
	app_release(c->app, c); /* frees c */
}

static void remember(struct vmc *c, enum made_kind kind, const char *ref)
{
	if (!ref)
		return;
	c->made = xrealloc(c->made, (size_t)(c->nmade + 1) * sizeof(*c->made));
	c->made[c->nmade].kind = kind;
	c->made[c->nmade].ref = xstrdup(ref);
	c->nmade++;
}

static char *step_text(const struct vmc *c, int i)
{
	const struct vm_plan *pl = c->plan;
	struct pool *p = pools_by_id(app_pools(c->app), c->pool_id);
	int a = c->steps[i].arg;

	switch (c->steps[i].step) {
	case ST_CLONE: return xstrdup("cloning the template");
	case ST_NO_DISKS: return xstrdup("clearing the template's disk list");
	case ST_PROVISION: return xstrdup("provisioning");
	case ST_DESCRIPTION: return xstrdup("setting the description");
	case ST_VCPUS_FIRST:
	case ST_VCPUS_SECOND: return xstrdup("setting the vCPUs");
	case ST_MEMORY: return xstrdup("setting the memory");
	case ST_BOOT_PARAMS:
	case ST_PLATFORM: return xstrdup("setting the boot mode");
	case ST_VDI: return xasprintf("creating disk '%s'", pl->disks[a].name);
	case ST_VBD: return xasprintf("attaching disk '%s'", pl->disks[a].name);
	case ST_CD: return xstrdup(pl->iso ? "inserting the ISO" : "adding the CD drive");
	case ST_VIF:
		return xasprintf("adding network '%s'", p && p->cache ? name_of(p->cache, pl->networks[a]) : "");
	case ST_START: return xstrdup("starting it");
	}
	return xstrdup("");
}

static void say_progress(struct vmc *c)
{
	char *what = step_text(c, c->step);

	app_message(c->app, MSG_INFO, "New VM '%s': %d/%d %s...", c->plan->name, c->step + 1, c->nsteps, what);
	free(what);
}

/* ---- undoing ------------------------------------------------------------------- */

static void undo_done(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct vmc *c = ud;

	if (r->failure != XAPI_OK)
		c->undo_failed++;
	undo_next(c);
}

static void undo_next(struct vmc *c)
{
	static const char *const destroy[] = {
		[MADE_VM] = "VM.destroy", [MADE_VDI] = "VDI.destroy", [MADE_VBD] = "VBD.destroy",
		[MADE_VIF] = "VIF.destroy",
	};
	struct pool *p = usable_pool(c);
	struct xv *params;

	if (c->undo_left > 0 && !p) {
		c->undo_failed += c->undo_left;
		c->undo_left = 0;
	}
	if (c->undo_left == 0) {
		if (c->undo_failed)
			app_message(c->app, MSG_ERROR,
				    "New VM '%s' failed at %s. %d object(s) it made could not be removed.",
				    c->plan->name, c->failure, c->undo_failed);
		else
			app_message(c->app, MSG_ERROR, "New VM '%s' failed at %s. Nothing was left behind.",
				    c->plan->name, c->failure);
		finish(c);
		return;
	}
	c->undo_left--;
	params = xv_array();
	xv_array_push(params, xv_string(c->made[c->undo_left].ref));
	app_query(c->app, p, destroy[c->made[c->undo_left].kind], params, undo_done, c);
}

static void fail(struct vmc *c, const char *why)
{
	char *what = step_text(c, c->step);

	c->failure = xasprintf("%d/%d, %s: %s", c->step + 1, c->nsteps, what, why);
	free(what);
	c->undo_left = c->nmade;
	app_message(c->app, MSG_ERROR, "New VM '%s' failed at %s; removing what was made...", c->plan->name,
		    c->failure);
	undo_next(c);
}

/* ---- the steps ------------------------------------------------------------------ */

static void step_done(struct vmc *c, const struct xv *result)
{
	const char *ref = result ? xv_str(result) : NULL;

	switch (c->steps[c->step].step) {
	case ST_CLONE:
		c->vm = xstrdup(ref ? ref : "");
		remember(c, MADE_VM, ref);
		break;
	case ST_VDI:
		remember(c, MADE_VDI, ref);
		if (ref)
			c->vdis[c->steps[c->step].arg] = c->made[c->nmade - 1].ref;
		break;
	case ST_VBD:
	case ST_CD:
		remember(c, MADE_VBD, ref);
		break;
	case ST_VIF:
		remember(c, MADE_VIF, ref);
		break;
	default:
		break;
	}
	c->step++;
	next_step(c);
}

static void on_call(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct vmc *c = ud;
	struct pool *p = pools_by_id(app_pools(c->app), c->pool_id);

	if (r->failure == XAPI_OK) {
		step_done(c, r->value);
	} else if (c->steps[c->step].step == ST_NO_DISKS && r->failure == XAPI_API) {
		step_done(c, NULL); /* as XO: a template without the key is fine */
	} else if (r->failure == XAPI_API) {
		char *why = error_sentence(r->error, p ? p->cache : NULL);
		fail(c, why);
		free(why);
	} else {
		fail(c, r->message);
	}
}

static void on_op(struct ops *ops, struct op *op, void *ud)
{
	struct vmc *c = ud;

	if (op->state == OP_DONE)
		step_done(c, op->result);
	else if (c->steps[c->step].step == ST_START)
	{
		/* the VM is whole: it stays, halted */
		app_message(c->app, MSG_ERROR, "New VM '%s' was created, but it did not start: %s", c->plan->name,
			    op->message ? op->message : "cancelled");
		finish(c);
	} else {
		fail(c, op->state == OP_CANCELLED ? "cancelled" : op->message ? op->message : "failed");
	}
}

static struct xv *vm_params(const struct vmc *c)
{
	struct xv *p = xv_array();

	xv_array_push(p, xv_string(c->vm));
	return p;
}

static struct xv *empty_map(void)
{
	return xv_struct();
}

/* The template's map field with key set to value (value NULL: removed). */
static struct xv *map_with(const struct xv *tmpl, const char *field, const char *key, const char *value)
{
	const struct xv *m = tmpl ? rec_field(tmpl, field) : NULL;
	struct xv *out = m ? xv_copy(m) : xv_struct();

	if (value)
		xv_struct_set(out, key, xv_string(value));
	else
		xv_struct_del(out, key);
	return out;
}

static struct xv *boot_params(const struct vmc *c, const struct xv *tmpl)
{
	const char *order = rec_map(tmpl, "HVM_boot_params", "order");
	struct xv *m = map_with(tmpl, "HVM_boot_params", "firmware", c->plan->boot == BOOT_BIOS ? "bios" : "uefi");

	if (c->plan->network_boot) {
		/* as XO: the network first, then the rest in the template's order */
		char buf[16] = "n";
		size_t n = 1;
		for (const char *o = order ? order : "cd"; *o && n + 1 < sizeof(buf); o++)
			if (*o != 'n')
				buf[n++] = *o;
		buf[n] = '\0';
		xv_struct_set(m, "order", xv_string(buf));
	}
	return m;
}

static struct xv *vdi_record(const struct vmc *c, int i)
{
	const struct vm_plan_disk *d = &c->plan->disks[i];
	struct xv *r = xv_struct();

	xv_struct_add(r, "name_label", xv_string(d->name));
	xv_struct_add(r, "name_description", xv_string("Created by xentui"));
	xv_struct_add(r, "SR", xv_string(d->sr));
	xv_struct_add(r, "virtual_size", xv_int(d->size));
	xv_struct_add(r, "type", xv_string("system"));
	xv_struct_add(r, "sharable", xv_bool(false));
	xv_struct_add(r, "read_only", xv_bool(false));
	xv_struct_add(r, "other_config", empty_map());
	xv_struct_add(r, "xenstore_data", empty_map());
	xv_struct_add(r, "sm_config", empty_map());
	xv_struct_add(r, "tags", xv_array());
	return r;
}

static struct xv *vbd_record(const struct vmc *c, const char *vdi, const char *userdevice, bool cd, bool bootable)
{
	struct xv *r = xv_struct();
	struct xv *oc = xv_struct();

	xv_struct_add(r, "VM", xv_string(c->vm));
	xv_struct_add(r, "VDI", xv_string(vdi ? vdi : "OpaqueRef:NULL"));
	xv_struct_add(r, "userdevice", xv_string(userdevice));
	xv_struct_add(r, "bootable", xv_bool(bootable));
	xv_struct_add(r, "mode", xv_string(cd ? "RO" : "RW"));
	xv_struct_add(r, "type", xv_string(cd ? "CD" : "Disk"));
	xv_struct_add(r, "unpluggable", xv_bool(cd));
	xv_struct_add(r, "empty", xv_bool(vdi == NULL));
	if (!cd)
		xv_struct_add(oc, "owner", xv_string("")); /* xapi's provision marks the disks it makes so */
	xv_struct_add(r, "other_config", oc);
	xv_struct_add(r, "device", xv_string(""));
	xv_struct_add(r, "currently_attached", xv_bool(false));
	xv_struct_add(r, "qos_algorithm_type", xv_string(""));
	xv_struct_add(r, "qos_algorithm_params", empty_map());
	return r;
}

static struct xv *vif_record(const struct vmc *c, struct pool *p, int i)
{
	const char *net = c->plan->networks[i];
	const struct xv *n = cache_get(p->cache, net);
	struct xv *r = xv_struct();
	char device[8];

	snprintf(device, sizeof(device), "%d", i);
	xv_struct_add(r, "device", xv_string(device));
	xv_struct_add(r, "network", xv_string(net));
	xv_struct_add(r, "VM", xv_string(c->vm));
	xv_struct_add(r, "MAC", xv_string("")); /* xapi makes one from the VM's mac_seed */
	xv_struct_add(r, "MTU", xv_int(n && rec_int(n, "MTU") ? rec_int(n, "MTU") : 1500));
	xv_struct_add(r, "other_config", empty_map());
	xv_struct_add(r, "currently_attached", xv_bool(false));
	xv_struct_add(r, "qos_algorithm_type", xv_string(""));
	xv_struct_add(r, "qos_algorithm_params", empty_map());
	xv_struct_add(r, "locking_mode", xv_string("network_default"));
	xv_struct_add(r, "ipv4_allowed", xv_array());
	xv_struct_add(r, "ipv6_allowed", xv_array());
	return r;
}

static void call(struct vmc *c, struct pool *p, const char *method, struct xv *params)
{
	app_query(c->app, p, method, params, on_call, c);
}

static void async(struct vmc *c, struct pool *p, const char *label, const char *method, struct xv *params)
{
	if (!app_op_then(c->app, p, label, method, params, on_op, c))
		fail(c, "the pool is not connected");
}

static void next_step(struct vmc *c)
{
	struct pool *p = usable_pool(c);
	const struct vm_plan *pl = c->plan;
	const struct xv *tmpl;
	struct xv *params;
	int a;

	if (c->step == c->nsteps) {
		app_message(c->app, MSG_INFO, "New VM '%s': created%s", pl->name, pl->start ? " and started" : "");
		finish(c);
		return;
	}
	if (!p) {
		fail(c, "the pool is no longer connected");
		return;
	}
	tmpl = cache_get(p->cache, pl->template_ref);
	a = c->steps[c->step].arg;
	say_progress(c);
	switch (c->steps[c->step].step) {
	case ST_CLONE: {
		char *label = xasprintf("Clone template '%s' as '%s'", tmpl ? rec_str(tmpl, "name_label") : "?", pl->name);
		params = xv_array();
		xv_array_push(params, xv_string(pl->template_ref));
		xv_array_push(params, xv_string(pl->name));
		async(c, p, label, "VM.clone", params);
		free(label);
		return;
	}
	case ST_NO_DISKS:
		params = vm_params(c);
		xv_array_push(params, xv_string("disks"));
		call(c, p, "VM.remove_from_other_config", params);
		return;
	case ST_PROVISION: {
		char *label = xasprintf("Provision VM '%s'", pl->name);
		async(c, p, label, "VM.provision", vm_params(c));
		free(label);
		return;
	}
	case ST_DESCRIPTION:
		params = vm_params(c);
		xv_array_push(params, xv_string(pl->description));
		call(c, p, "VM.set_name_description", params);
		return;
	case ST_VCPUS_FIRST:
	case ST_VCPUS_SECOND: {
		bool grow = pl->vcpus > (tmpl ? rec_int(tmpl, "VCPUs_max") : 1);
		bool max_now = (c->steps[c->step].step == ST_VCPUS_FIRST) == grow;
		params = vm_params(c);
		xv_array_push(params, xv_int(pl->vcpus));
		call(c, p, max_now ? "VM.set_VCPUs_max" : "VM.set_VCPUs_at_startup", params);
		return;
	}
	case ST_MEMORY: {
		long long smin = tmpl ? rec_int(tmpl, "memory_static_min") : pl->memory;
		params = vm_params(c);
		/* a fixed size, as XO sets it: static min kept where it fits */
		xv_array_push(params, xv_int(smin && smin <= pl->memory ? smin : pl->memory));
		for (int i = 0; i < 3; i++)
			xv_array_push(params, xv_int(pl->memory));
		call(c, p, "VM.set_memory_limits", params);
		return;
	}
	case ST_BOOT_PARAMS:
		params = vm_params(c);
		xv_array_push(params, boot_params(c, tmpl));
		call(c, p, "VM.set_HVM_boot_params", params);
		return;
	case ST_PLATFORM: {
		/* as XO's hvmBootFirmware and secureBoot settings */
		struct xv *m = map_with(tmpl, "platform", "device-model",
					pl->boot == BOOT_BIOS ? "qemu-upstream-compat" : "qemu-upstream-uefi");
		xv_struct_set(m, "secureboot", xv_string(pl->boot == BOOT_UEFI_SECURE ? "true" : "false"));
		params = vm_params(c);
		xv_array_push(params, m);
		call(c, p, "VM.set_platform", params);
		return;
	}
	case ST_VDI:
		params = xv_array();
		xv_array_push(params, vdi_record(c, a));
		call(c, p, "VDI.create", params);
		return;
	case ST_VBD: {
		char dev[8];
		snprintf(dev, sizeof(dev), "%d", a);
		params = xv_array();
		/* the first disk boots unless a CD does (PV guests care) */
		xv_array_push(params, vbd_record(c, c->vdis[a], dev, false, a == 0 && !pl->iso));
		call(c, p, "VBD.create", params);
		return;
	}
	case ST_CD:
		params = xv_array();
		xv_array_push(params, vbd_record(c, pl->iso, "3", true, true));
		call(c, p, "VBD.create", params);
		return;
	case ST_VIF:
		params = xv_array();
		xv_array_push(params, vif_record(c, p, a));
		call(c, p, "VIF.create", params);
		return;
	case ST_START: {
		char *label = xasprintf("Start VM '%s'", pl->name);
		params = vm_params(c);
		xv_array_push(params, xv_bool(false)); /* start_paused */
		xv_array_push(params, xv_bool(false)); /* force */
		async(c, p, label, "VM.start", params);
		free(label);
		return;
	}
	}
}

static void add_step(struct vmc *c, enum step s, int arg)
{
	c->steps = xrealloc(c->steps, (size_t)(c->nsteps + 1) * sizeof(*c->steps));
	c->steps[c->nsteps].step = s;
	c->steps[c->nsteps].arg = arg;
	c->nsteps++;
}

void vm_create_start(struct app *app, struct pool *p, struct vm_plan *plan)
{
	struct vmc *c = xcalloc(1, sizeof(*c));

	c->app = app;
	c->pool_id = p->id;
	c->plan = plan;
	/* freed when the chain ends, or at the end of the run if its pool goes quiet */
	app_keep(app, c, vmc_free);
	add_step(c, ST_CLONE, 0);
	add_step(c, ST_NO_DISKS, 0);
	add_step(c, ST_PROVISION, 0);
	add_step(c, ST_DESCRIPTION, 0);
	add_step(c, ST_VCPUS_FIRST, 0);
	add_step(c, ST_VCPUS_SECOND, 0);
	add_step(c, ST_MEMORY, 0);
	if (plan->hvm) {
		add_step(c, ST_BOOT_PARAMS, 0);
		add_step(c, ST_PLATFORM, 0);
	}
	for (int i = 0; i < plan->ndisks; i++) {
		add_step(c, ST_VDI, i);
		add_step(c, ST_VBD, i);
	}
	add_step(c, ST_CD, 0);
	for (int i = 0; i < plan->nnetworks; i++)
		add_step(c, ST_VIF, i);
	if (plan->start)
		add_step(c, ST_START, 0);
	next_step(c);
}
