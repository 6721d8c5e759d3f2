#include "vm_actions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dialog.h"
#include "draw.h"
#include "form.h"
#include "hmap.h"
#include "keys.h"
#include "model.h"
#include "placement.h"
#include "units.h"
#include "util.h"

/* ---- which VM, in which state ---------------------------------------------------- */

bool vm_sel_lookup(struct app *app, const char *qref, struct vm_sel *s)
{
	memset(s, 0, sizeof(*s));
	s->qref = qref;
	s->vm = qref ? app_lookup(app, qref, &s->p, &s->ref) : NULL;
	return s->vm && s->p && s->p->cache;
}

bool vm_sel_of(struct app *app, void *st, struct vm_sel *s)
{
	const struct vm_target *t = st;

	return vm_sel_lookup(app, t->ref ? t->ref(app, st) : NULL, s);
}

static bool in_state(struct app *app, void *st, const char *power)
{
	struct vm_sel s;

	return vm_sel_of(app, st, &s) && strcmp(rec_str(s.vm, "power_state"), power) == 0;
}

static bool is_halted(struct app *app, void *st)
{
	return in_state(app, st, "Halted");
}

static bool is_running(struct app *app, void *st)
{
	return in_state(app, st, "Running");
}

static bool is_suspended(struct app *app, void *st)
{
	return in_state(app, st, "Suspended");
}

static bool is_running_or_paused(struct app *app, void *st)
{
	return is_running(app, st) || in_state(app, st, "Paused");
}

static bool has_vm(struct app *app, void *st)
{
	struct vm_sel s;

	return vm_sel_of(app, st, &s);
}

static bool has_snapshots(struct app *app, void *st)
{
	struct vm_sel s;

	return vm_sel_of(app, st, &s) && xv_len(rec_field(s.vm, "snapshots")) > 0;
}

/* The VM, or false after saying why nothing happens. */
static bool vm_or_say(struct app *app, void *st, struct vm_sel *s)
{
	if (vm_sel_of(app, st, s))
		return true;
	app_message(app, MSG_INFO, "No VM selected");
	return false;
}

/* True if vm is in one of the states; else says what it is instead. */
static bool require_state(struct app *app, const struct xv *vm, const char *what, const char *s1, const char *s2)
{
	const char *power = rec_str(vm, "power_state");

	if (strcmp(power, s1) == 0 || (s2 && strcmp(power, s2) == 0))
		return true;
	app_message(app, MSG_ERROR, "Cannot %s '%s': it is %s, not %s%s%s", what, rec_str(vm, "name_label"), power, s1,
		    s2 ? " or " : "", s2 ? s2 : "");
	return false;
}

static void simple_op(struct app *app, const struct vm_sel *s, const char *verb, const char *method)
{
	char *label = xasprintf("%s VM '%s'", verb, rec_str(s->vm, "name_label"));

	app_op(app, s->p, label, method, xv_params_ref(s->ref));
	free(label);
}

/* ---- power -------------------------------------------------------------------------- */

static void act_start(struct app *app, void *st)
{
	struct vm_sel s;
	struct xv *p;
	char *label;

	if (!vm_or_say(app, st, &s))
		return;
	if (strcmp(rec_str(s.vm, "power_state"), "Suspended") == 0) {
		app_message(app, MSG_INFO, "'%s' is suspended: u resumes it", rec_str(s.vm, "name_label"));
		return;
	}
	if (strcmp(rec_str(s.vm, "power_state"), "Paused") == 0) {
		app_message(app, MSG_INFO, "'%s' is paused: p unpauses it", rec_str(s.vm, "name_label"));
		return;
	}
	if (!require_state(app, s.vm, "start", "Halted", NULL))
		return;
	if (!vm_has_a_host(s.p->cache, s.vm, NULL)) {
		/* xapi would answer NO_HOSTS_AVAILABLE: say why instead */
		char *why = vm_nowhere(s.p->cache, s.vm, NULL);
		app_open_dialog(app, dialog_message("Start", why));
		free(why);
		return;
	}
	p = xv_params_ref(s.ref);
	xv_array_push(p, xv_bool(false)); /* start_paused */
	xv_array_push(p, xv_bool(false)); /* force */
	label = xasprintf("Start VM '%s'", rec_str(s.vm, "name_label"));
	app_op(app, s.p, label, "VM.start", p);
	free(label);
}

struct host_item {
	const char *ref;
	const char *name;
	long long free_mem;
};

/* The hosts a VM may go to: live and enabled, seeing every SR of its
 * disks, and (when xapi was asked) among those it named. */
struct host_list {
	const struct cache *c;
	struct hmap cpus;
	const struct xv *vm;
	const char *except;        /* the VM's own host */
	const struct xv *possible; /* VM.get_possible_hosts' answer, or NULL */
	struct host_item *items;
	size_t n, cap;
};

static bool in_refs(const struct xv *refs, const char *ref)
{
	for (size_t i = 0; i < xv_len(refs); i++)
		if (xv_str(xv_at(refs, i)) && strcmp(xv_str(xv_at(refs, i)), ref) == 0)
			return true;
	return false;
}

static bool collect_host(const char *ref, const struct xv *host, void *ud)
{
	struct host_list *hl = ud;
	struct host_use u;

	if (hl->except && strcmp(ref, hl->except) == 0)
		return true;
	if (hl->possible && !in_refs(hl->possible, ref))
		return true;
	host_use(hl->c, ref, host, &hl->cpus, &u);
	if (strcmp(u.state, "enabled") != 0)
		return true; /* xapi would refuse a disabled or offline host */
	if (vm_unseen_sr(hl->c, hl->vm, ref))
		return true; /* VM_REQUIRES_SR: the host cannot see one of its disks */
	if (hl->n == hl->cap) {
		hl->cap = hl->cap ? hl->cap * 2 : 8;
		hl->items = xrealloc(hl->items, hl->cap * sizeof(*hl->items));
	}
	hl->items[hl->n++] = (struct host_item){ref, rec_str(host, "name_label"), u.mem_free};
	return true;
}

static int compare_hosts(const void *a, const void *b)
{
	return strcmp(((const struct host_item *)a)->name, ((const struct host_item *)b)->name);
}

/* A choice of the hosts vm can go to (but except), with their free memory;
 * NULL after a message saying why when there is none. */
static struct dialog *host_chooser(struct app *app, const struct cache *c, const struct xv *vm, const char *title,
				   const char *text, const char *except, const struct xv *possible)
{
	struct dialog *d;
	struct host_list hl;

	memset(&hl, 0, sizeof(hl));
	hl.c = c;
	hl.vm = vm;
	hl.except = except;
	hl.possible = possible;
	host_cpu_index(c, &hl.cpus);
	cache_each(c, "host", collect_host, &hl);
	host_cpu_index_free(&hl.cpus);
	if (!hl.n) {
		/* a sentence in a box: the status line would cut it */
		char *why = vm_nowhere(c, vm, except);
		app_open_dialog(app, dialog_message(title, why));
		free(why);
		return NULL;
	}
	if (hl.n > 1)
		qsort(hl.items, hl.n, sizeof(*hl.items), compare_hosts);
	d = dialog_choose(title, text);
	for (size_t i = 0; i < hl.n; i++) {
		char mem[24], need[24], detail[80];
		size_format(mem, sizeof(mem), hl.items[i].free_mem);
		size_format(need, sizeof(need), rec_int(vm, "memory_static_max"));
		if (hl.items[i].free_mem < rec_int(vm, "memory_static_max"))
			snprintf(detail, sizeof(detail), "%s free, it needs %s", mem, need);
		else
			snprintf(detail, sizeof(detail), "%s free", mem);
		dialog_add_choice(d, hl.items[i].ref, hl.items[i].name, detail);
	}
	free(hl.items);
	return d;
}

static void on_start_on_host(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct vm_sel s;
	struct xv *p;
	char *label;

	if (!r->ok || !vm_sel_lookup(app, qref, &s))
		return;
	p = xv_params_ref(s.ref);
	xv_array_push(p, xv_string(r->choice_key));
	xv_array_push(p, xv_bool(false));
	xv_array_push(p, xv_bool(false));
	label = xasprintf("Start VM '%s' on %s", rec_str(s.vm, "name_label"), name_of(s.p->cache, r->choice_key));
	app_op(app, s.p, label, "VM.start_on", p);
	free(label);
}

/* VM.get_possible_hosts is asked first: xapi knows more than the cache
 * (memory, GPUs, networks); the answer arrives after the key. */
struct start_on_req {
	struct app *app;
	char *qref;
};

static void on_possible_hosts(struct xapi *x, const struct xapi_result *res, void *ud)
{
	struct start_on_req *q = ud;
	struct app *app = q->app;
	struct vm_sel s;
	struct dialog *d;
	char *text;

	if (app_quitting(app) || !vm_sel_lookup(app, q->qref, &s) || !s.p->cache)
		goto out;
	if (res->failure != XAPI_OK && res->failure != XAPI_API) {
		app_message(app, MSG_ERROR, "Start '%s' on a host: %s", rec_str(s.vm, "name_label"), res->message);
		goto out;
	}
	if (!require_state(app, s.vm, "start", "Halted", NULL))
		goto out;
	/* an xapi without the call (XAPI_API): the cache's judgement alone */
	text = xasprintf("Start '%s' on which host? (only hosts that can run it)", rec_str(s.vm, "name_label"));
	d = host_chooser(app, s.p->cache, s.vm, "Start on host", text, NULL,
			 res->failure == XAPI_OK ? res->value : NULL);
	if (d) {
		dialog_on_done(d, on_start_on_host, s.qref, NULL);
		app_open_dialog(app, d);
	}
	free(text);
out:
	free(q->qref);
	free(q);
}

static void act_start_on(struct app *app, void *st)
{
	struct vm_sel s;
	struct start_on_req *q;

	if (!vm_or_say(app, st, &s) || !require_state(app, s.vm, "start", "Halted", NULL))
		return;
	q = xcalloc(1, sizeof(*q));
	q->app = app;
	q->qref = xstrdup(s.qref);
	app_query(app, s.p, "VM.get_possible_hosts", xv_params_ref(s.ref), on_possible_hosts, q);
}

/* A power action that stops a running guest: asked first, naming the VM
 * and what stops (as XO asks); the clean ones may skip the question. */
struct power_act {
	const char *verb, *method;
	const char *what;        /* for require_state: "shut down" */
	const char *consequence; /* after "'NAME'? " */
	bool clean;              /* the guest is asked: a preference may skip the question */
	const char *s2;          /* a second state it applies to (Paused), or NULL */
};

static const struct power_act clean_shutdown = {
	"Shut down", "VM.clean_shutdown", "shut down",
	"The guest is asked to shut down: what runs in it stops, and it stays off until started (s).", true, NULL};
static const struct power_act clean_reboot = {
	"Reboot", "VM.clean_reboot", "reboot",
	"The guest is asked to restart: what runs in it stops and its users are cut off meanwhile.", true, NULL};
static const struct power_act suspend = {
	"Suspend", "VM.suspend", "suspend",
	"Its memory is saved to disk and it stops, its network connections with it, until resumed (u).", true, NULL};
static const struct power_act force_shutdown = {
	"Force shut down", "VM.hard_shutdown", "force shut down",
	"Like pulling the power cord: the guest gets no chance to close its files.", false, "Paused"};
static const struct power_act force_reboot = {
	"Force reboot", "VM.hard_reboot", "force reboot",
	"Like pulling the power cord: the guest gets no chance to close its files.", false, "Paused"};

/* preferences.confirm_clean_power = false skips the question for the clean actions. */
static bool confirm_clean_power(struct app *app)
{
	const struct config *cfg = app_config(app);

	return !cfg || cfg->confirm_clean_power;
}

static void on_power_answer(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	const struct power_act *a = ud;
	struct vm_sel s;

	if (r->ok && vm_sel_lookup(app, qref, &s))
		simple_op(app, &s, a->verb, a->method);
}

static void ask_power(struct app *app, void *st, const struct power_act *a)
{
	struct vm_sel s;
	struct dialog *d;
	char *title, *text;

	if (!vm_or_say(app, st, &s) || !require_state(app, s.vm, a->what, "Running", a->s2))
		return;
	if (a->clean && !confirm_clean_power(app)) {
		simple_op(app, &s, a->verb, a->method);
		return;
	}
	title = xasprintf("%s VM", a->verb);
	text = xasprintf("%s '%s'? %s", a->verb, rec_str(s.vm, "name_label"), a->consequence);
	/* the forced ones default to No: they lose data */
	d = dialog_confirm(title, text, a->verb, "Cancel", !a->clean);
	dialog_on_done(d, on_power_answer, s.qref, (void *)a);
	app_open_dialog(app, d);
	free(title);
	free(text);
}

static void act_shutdown(struct app *app, void *st)
{
	ask_power(app, st, &clean_shutdown);
}

static void act_reboot(struct app *app, void *st)
{
	ask_power(app, st, &clean_reboot);
}

static void act_force_shutdown(struct app *app, void *st)
{
	ask_power(app, st, &force_shutdown);
}

static void act_force_reboot(struct app *app, void *st)
{
	ask_power(app, st, &force_reboot);
}

static void act_suspend(struct app *app, void *st)
{
	ask_power(app, st, &suspend);
}

static void act_resume(struct app *app, void *st)
{
	struct vm_sel s;
	struct xv *p;
	char *label;

	if (!vm_or_say(app, st, &s) || !require_state(app, s.vm, "resume", "Suspended", NULL))
		return;
	p = xv_params_ref(s.ref);
	xv_array_push(p, xv_bool(false));
	xv_array_push(p, xv_bool(false));
	label = xasprintf("Resume VM '%s'", rec_str(s.vm, "name_label"));
	app_op(app, s.p, label, "VM.resume", p);
	free(label);
}

static void act_pause(struct app *app, void *st)
{
	struct vm_sel s;

	if (!vm_or_say(app, st, &s))
		return;
	if (strcmp(rec_str(s.vm, "power_state"), "Paused") == 0)
		simple_op(app, &s, "Unpause", "VM.unpause");
	else if (require_state(app, s.vm, "pause", "Running", "Paused"))
		simple_op(app, &s, "Pause", "VM.pause");
}

/* ---- copies --------------------------------------------------------------------------- */

/* Snapshot and clone: the VM and the new name from the form's one field. */
static void op_with_new_name(struct app *app, const struct dialog_result *r, const char *qref, const char *verb,
			     const char *method)
{
	struct vm_sel s;
	struct xv *p;
	char *label;

	if (!r->ok || !vm_sel_lookup(app, qref, &s))
		return;
	p = xv_params_ref(s.ref);
	xv_array_push(p, xv_string(form_get_text(r->form, 0)));
	label = xasprintf("%s VM '%s' as '%s'", verb, rec_str(s.vm, "name_label"), form_get_text(r->form, 0));
	app_op(app, s.p, label, method, p);
	free(label);
}

static void on_snapshot_form(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	op_with_new_name(app, r, qref, "Snapshot", "VM.snapshot");
}

static void act_snapshot(struct app *app, void *st)
{
	struct vm_sel s;
	struct form *f;
	struct dialog *d;
	char name[200], when[32];
	time_t now = time(NULL);
	struct tm tm;

	if (!vm_or_say(app, st, &s))
		return;
	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
	/* XO's default: the VM's name and the time */
	snprintf(name, sizeof(name), "%s_%s", rec_str(s.vm, "name_label"), when);
	f = form_new();
	form_text(f, "Name", name, true);
	d = dialog_form("Snapshot", "A snapshot keeps the VM's disks as they are now.", f);
	dialog_on_done(d, on_snapshot_form, s.qref, NULL);
	app_open_dialog(app, d);
}

static void on_revert_answer(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct vm_sel snap;
	char *label;

	if (!r->ok || !vm_sel_lookup(app, qref, &snap))
		return;
	label = xasprintf("Revert VM '%s' to '%s'", name_of(snap.p->cache, rec_str(snap.vm, "snapshot_of")),
			  rec_str(snap.vm, "name_label"));
	app_op(app, snap.p, label, "VM.revert", xv_params_ref(snap.ref));
	free(label);
}

void vm_revert_to(struct app *app, const char *snapshot)
{
	struct vm_sel snap;
	struct dialog *d;
	char *text, when[32];

	if (!vm_sel_lookup(app, snapshot, &snap) || !rec_bool(snap.vm, "is_a_snapshot")) {
		app_message(app, MSG_INFO, "No snapshot selected");
		return;
	}
	datetime_text(rec_str(snap.vm, "snapshot_time"), when, sizeof(when));
	text = xasprintf("Revert '%s' to its snapshot '%s' of %s? What the VM has written since is lost.",
			 name_of(snap.p->cache, rec_str(snap.vm, "snapshot_of")), rec_str(snap.vm, "name_label"), when);
	d = dialog_confirm("Revert to snapshot", text, "Revert", "Cancel", true);
	dialog_on_done(d, on_revert_answer, snapshot, NULL);
	app_open_dialog(app, d);
	free(text);
}

static void on_revert_choice(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	if (r->ok)
		vm_revert_to(app, r->choice_key);
}

static void act_revert(struct app *app, void *st)
{
	struct vm_sel s;
	const struct xv *snaps;
	struct dialog *d;
	char *text;

	if (!vm_or_say(app, st, &s))
		return;
	snaps = rec_field(s.vm, "snapshots");
	if (!xv_len(snaps)) {
		app_message(app, MSG_INFO, "'%s' has no snapshots (n takes one)", rec_str(s.vm, "name_label"));
		return;
	}
	text = xasprintf("Revert '%s' to which snapshot?", rec_str(s.vm, "name_label"));
	d = dialog_choose("Revert to snapshot", text);
	for (size_t i = xv_len(snaps); i-- > 0;) {
		const char *sref = xv_str(xv_at(snaps, i));
		const struct xv *snap = cache_get(s.p->cache, sref);
		char when[32], key[QREF_MAX];
		if (!snap)
			continue;
		datetime_text(rec_str(snap, "snapshot_time"), when, sizeof(when));
		dialog_add_choice(d, pool_qref(s.p, sref, key, sizeof(key)), rec_str(snap, "name_label"), when);
	}
	dialog_on_done(d, on_revert_choice, s.qref, NULL);
	app_open_dialog(app, d);
	free(text);
}

static void on_clone_form(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	op_with_new_name(app, r, qref, "Clone", "VM.clone");
}

static void act_clone(struct app *app, void *st)
{
	struct vm_sel s;
	struct form *f;
	struct dialog *d;
	char *name;

	if (!vm_or_say(app, st, &s) || !require_state(app, s.vm, "clone", "Halted", NULL))
		return;
	name = xasprintf("%s (clone)", rec_str(s.vm, "name_label"));
	f = form_new();
	form_text(f, "Name", name, true);
	d = dialog_form("Clone", "A fast clone shares the disks' data with the original (copy-on-write).", f);
	dialog_on_done(d, on_clone_form, s.qref, NULL);
	app_open_dialog(app, d);
	free(name);
}

/* Copy: a full copy of the disks onto an SR the user chooses, then a name. */
struct sr_item {
	const char *ref, *name;
	long long free;
	bool shared;
};

struct sr_list {
	const struct cache *c;
	struct sr_item *items;
	char (*names)[200]; /* the items' names, with the host of a local SR */
	size_t n, cap;
};

static bool collect_sr(const char *ref, const struct xv *sr, void *ud)
{
	struct sr_list *l = ud;

	if (!sr_takes_new_disks(sr))
		return true;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->items = xrealloc(l->items, l->cap * sizeof(*l->items));
		l->names = xrealloc(l->names, l->cap * sizeof(*l->names));
	}
	l->items[l->n] = (struct sr_item){ref, NULL, /* a name once names stops moving */
					    rec_int(sr, "physical_size") - rec_int(sr, "physical_utilisation"),
					    rec_bool(sr, "shared")};
	/* "Local storage (xcp-ng-01)": three local SRs told apart */
	sr_label(l->c, ref, l->names[l->n], sizeof(l->names[0]));
	l->n++;
	return true;
}

static int compare_srs(const void *a, const void *b)
{
	return strcmp(((const struct sr_item *)a)->name, ((const struct sr_item *)b)->name);
}

/* A choice of the SRs a disk can be made on, with their free space. */
static struct dialog *sr_chooser(const struct cache *c, const char *title, const char *text, long long need)
{
	struct dialog *d = dialog_choose(title, text);
	struct sr_list l;

	memset(&l, 0, sizeof(l));
	l.c = c;
	cache_each(c, "SR", collect_sr, &l);
	for (size_t i = 0; i < l.n; i++)
		l.items[i].name = l.names[i];
	if (l.n > 1)
		qsort(l.items, l.n, sizeof(*l.items), compare_srs);
	for (size_t i = 0; i < l.n; i++) {
		char space[24], detail[64];
		size_format(space, sizeof(space), l.items[i].free);
		snprintf(detail, sizeof(detail), "%s free%s%s", space, l.items[i].shared ? ", shared" : "",
			 l.items[i].free < need ? ", too small" : "");
		dialog_add_choice(d, l.items[i].ref, l.items[i].name, detail);
	}
	free(l.items);
	free(l.names);
	return d;
}

static void on_copy_form(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	const char *sr = ud;
	struct vm_sel s;
	struct xv *p;
	char *label, where[200];

	if (!r->ok || !vm_sel_lookup(app, qref, &s))
		return;
	p = xv_params_ref(s.ref);
	xv_array_push(p, xv_string(form_get_text(r->form, 0)));
	xv_array_push(p, xv_string(sr));
	label = xasprintf("Copy VM '%s' to '%s' on %s", rec_str(s.vm, "name_label"), form_get_text(r->form, 0),
			  sr_label(s.p->cache, sr, where, sizeof(where)));
	app_op(app, s.p, label, "VM.copy", p);
	free(label);
}

static void on_copy_sr(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct vm_sel s;
	struct form *f;
	struct dialog *d;
	char *name, *text, where[200];

	if (!r->ok || !vm_sel_lookup(app, qref, &s))
		return;
	name = xasprintf("%s (copy)", rec_str(s.vm, "name_label"));
	text = xasprintf("A full copy of '%s' and its disks on %s.", rec_str(s.vm, "name_label"),
			 sr_label(s.p->cache, r->choice_key, where, sizeof(where)));
	f = form_new();
	form_text(f, "Name", name, true);
	d = dialog_form("Copy", text, f);
	dialog_on_done(d, on_copy_form, qref, xstrdup(r->choice_key));
	dialog_own_ud(d, free);
	app_open_dialog(app, d);
	free(name);
	free(text);
}

static long long disks_size(const struct cache *c, const struct xv *vm);

static void act_copy(struct app *app, void *st)
{
	struct vm_sel s;
	struct dialog *d;
	char *text, size[24];
	long long need;

	if (!vm_or_say(app, st, &s) || !require_state(app, s.vm, "copy", "Halted", NULL))
		return;
	need = disks_size(s.p->cache, s.vm);
	size_format(size, sizeof(size), need);
	text = xasprintf("Copy '%s' (disks %s) onto which storage?", rec_str(s.vm, "name_label"), size);
	d = sr_chooser(s.p->cache, "Copy to an SR", text, need);
	dialog_on_done(d, on_copy_sr, s.qref, NULL);
	app_open_dialog(app, d);
	free(text);
}

/* ---- place and name ------------------------------------------------------------------------ */

static void on_migrate_choice(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct vm_sel s;
	struct xv *p, *opts;
	char *label;

	if (!r->ok || !vm_sel_lookup(app, qref, &s))
		return;
	p = xv_params_ref(s.ref);
	xv_array_push(p, xv_string(r->choice_key));
	opts = xv_struct();
	xv_struct_add(opts, "live", xv_string("true"));
	xv_array_push(p, opts);
	label = xasprintf("Migrate VM '%s' to %s", rec_str(s.vm, "name_label"), name_of(s.p->cache, r->choice_key));
	app_op(app, s.p, label, "VM.pool_migrate", p);
	free(label);
}

static void act_migrate(struct app *app, void *st)
{
	struct vm_sel s;
	struct dialog *d;
	char *text;

	if (!vm_or_say(app, st, &s) || !require_state(app, s.vm, "migrate", "Running", NULL))
		return;
	text = xasprintf("Move '%s' (now on %s) live to which host?", rec_str(s.vm, "name_label"),
			 name_of(s.p->cache, rec_str(s.vm, "resident_on")));
	d = host_chooser(app, s.p->cache, s.vm, "Migrate", text, rec_str(s.vm, "resident_on"), NULL);
	if (d) {
		dialog_on_done(d, on_migrate_choice, s.qref, NULL);
		app_open_dialog(app, d);
	}
	free(text);
}

static void on_rename_form(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct vm_sel s;
	struct xv *p;
	char *label;

	if (!r->ok || !vm_sel_lookup(app, qref, &s))
		return;
	p = xv_params_ref(s.ref);
	xv_array_push(p, xv_string(form_get_text(r->form, 0)));
	label = xasprintf("Rename VM '%s' to '%s'", rec_str(s.vm, "name_label"), form_get_text(r->form, 0));
	/* a field setter has no Async form: a plain call */
	app_call(app, s.p, label, "VM.set_name_label", p);
	free(label);
}

static void act_rename(struct app *app, void *st)
{
	struct vm_sel s;
	struct form *f;
	struct dialog *d;

	if (!vm_or_say(app, st, &s))
		return;
	f = form_new();
	form_text(f, "New name", rec_str(s.vm, "name_label"), true);
	d = dialog_form("Rename", NULL, f);
	dialog_on_done(d, on_rename_form, s.qref, NULL);
	app_open_dialog(app, d);
}

/* ---- tags ----------------------------------------------------------------------------------------- */

#define ADD_TAG "\001add" /* the chooser's key for "add a tag": no tag holds a control character */

static void on_tag_add_form(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct vm_sel s;
	struct xv *p;
	char *label;

	if (!r->ok || !vm_sel_lookup(app, qref, &s))
		return;
	p = xv_params_ref(s.ref);
	xv_array_push(p, xv_string(form_get_text(r->form, 0)));
	label = xasprintf("Tag VM '%s' with '%s'", rec_str(s.vm, "name_label"), form_get_text(r->form, 0));
	app_call(app, s.p, label, "VM.add_tags", p);
	free(label);
}

static const char *check_tag(const struct form *f, int field, const char *text, void *ud)
{
	for (const char *c = text; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return "no control characters";
	return NULL;
}

static void on_tag_remove_answer(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	const char *tag = ud;
	struct vm_sel s;
	struct xv *p;
	char *label;

	if (!r->ok || !vm_sel_lookup(app, qref, &s))
		return;
	p = xv_params_ref(s.ref);
	xv_array_push(p, xv_string(tag));
	label = xasprintf("Remove tag '%s' from VM '%s'", tag, rec_str(s.vm, "name_label"));
	app_call(app, s.p, label, "VM.remove_tags", p);
	free(label);
}

static void on_tag_choice(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct vm_sel s;
	struct dialog *d;
	char *text;

	if (!r->ok || !vm_sel_lookup(app, qref, &s))
		return;
	if (strcmp(r->choice_key, ADD_TAG) == 0) {
		struct form *f = form_new();
		int field = form_text(f, "Tag", "", true);
		form_set_check(f, field, check_tag, NULL);
		text = xasprintf("A new tag for '%s' (XO and xe show it too).", rec_str(s.vm, "name_label"));
		d = dialog_form("Add a tag", text, f);
		dialog_on_done(d, on_tag_add_form, qref, NULL);
		app_open_dialog(app, d);
		free(text);
		return;
	}
	text = xasprintf("Remove the tag '%s' from '%s'?", r->choice_key, rec_str(s.vm, "name_label"));
	d = dialog_confirm("Remove a tag", text, "Remove", "Keep", false);
	dialog_on_done(d, on_tag_remove_answer, qref, xstrdup(r->choice_key));
	dialog_own_ud(d, free);
	app_open_dialog(app, d);
	free(text);
}

static void act_tags(struct app *app, void *st)
{
	struct vm_sel s;
	const struct xv *tags;
	struct dialog *d;
	char *text;

	if (!vm_or_say(app, st, &s))
		return;
	tags = rec_field(s.vm, "tags");
	text = xasprintf("Tags of '%s': Enter on a tag removes it.", rec_str(s.vm, "name_label"));
	d = dialog_choose("Tags", text);
	dialog_add_choice(d, ADD_TAG, "+ Add a tag", "");
	for (size_t i = 0; i < xv_len(tags); i++)
		if (xv_str(xv_at(tags, i)))
			dialog_add_choice(d, xv_str(xv_at(tags, i)), xv_str(xv_at(tags, i)), "remove");
	dialog_on_done(d, on_tag_choice, s.qref, NULL);
	app_open_dialog(app, d);
	free(text);
}

/* ---- resources ------------------------------------------------------------------------------- */

#define GiB (1024LL * 1024 * 1024)
#define MiB (1024LL * 1024)

/* vCPUs: VCPUs_max must stay >= VCPUs_at_startup, so the two setters go
 * one after the other, in the order that keeps it true. */
struct vcpus_change {
	char *ref, *label, *second;
	long long n;
};

static void on_first_vcpus(struct app *app, struct pool *pool, bool ok, void *ud)
{
	struct vcpus_change *v = ud;

	if (ok && !app_quitting(app)) {
		struct xv *p = xv_params_ref(v->ref);
		xv_array_push(p, xv_int(v->n));
		app_call(app, pool, v->label, v->second, p);
	}
	free(v->ref);
	free(v->label);
	free(v->second);
	free(v);
}

static void on_resources_form(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct vm_sel s;
	long long vcpus, mem;
	struct xv *p;

	if (!r->ok || !vm_sel_lookup(app, qref, &s))
		return;
	vcpus = form_get_number(r->form, 0);
	mem = form_get_number(r->form, 1);
	if (vcpus != rec_int(s.vm, "VCPUs_at_startup") || vcpus != rec_int(s.vm, "VCPUs_max")) {
		struct vcpus_change *v = xcalloc(1, sizeof(*v));
		bool grow = vcpus > rec_int(s.vm, "VCPUs_max");
		v->ref = xstrdup(s.ref);
		v->n = vcpus;
		v->label = xasprintf("Set VM '%s' to %lld vCPUs", rec_str(s.vm, "name_label"), vcpus);
		v->second = xstrdup(grow ? "VM.set_VCPUs_at_startup" : "VM.set_VCPUs_max");
		p = xv_params_ref(s.ref);
		xv_array_push(p, xv_int(vcpus));
		app_call_then(app, s.p, v->label, grow ? "VM.set_VCPUs_max" : "VM.set_VCPUs_at_startup", p,
			      on_first_vcpus, v);
	}
	if (mem != rec_int(s.vm, "memory_static_max")) {
		char size[24], *label;
		size_format(size, sizeof(size), mem);
		label = xasprintf("Set VM '%s' memory to %s", rec_str(s.vm, "name_label"), size);
		p = xv_params_ref(s.ref);
		/* static min kept (when it still fits), the rest all mem: a fixed size */
		xv_array_push(p, xv_int(rec_int(s.vm, "memory_static_min") <= mem ? rec_int(s.vm, "memory_static_min")
										  : mem));
		for (int i = 0; i < 3; i++) /* static max, dynamic min, dynamic max */
			xv_array_push(p, xv_int(mem));
		app_call(app, s.p, label, "VM.set_memory_limits", p);
		free(label);
	}
}

static void act_resources(struct app *app, void *st)
{
	struct vm_sel s;
	struct form *f;
	struct dialog *d;

	if (!vm_or_say(app, st, &s) || !require_state(app, s.vm, "change vCPUs and memory of", "Halted", NULL))
		return;
	f = form_new();
	form_number(f, "vCPUs", rec_int(s.vm, "VCPUs_at_startup"), 1, 64, "vCPUs");
	form_size(f, "Memory", rec_int(s.vm, "memory_static_max"), 64 * MiB, 1024 * GiB, MiB);
	d = dialog_form("vCPUs and memory", "Memory as 4 GiB, 512 MiB (a bare number is MiB).", f);
	dialog_on_done(d, on_resources_form, s.qref, NULL);
	app_open_dialog(app, d);
}

/* ---- destroy ----------------------------------------------------------------------------------- */

struct destroy {
	struct app *app;
	int pool_id;
	char *vm_name;
	char **vdis;
	size_t nvdis;
};

static void destroy_free(void *p)
{
	struct destroy *d = p;

	for (size_t i = 0; i < d->nvdis; i++)
		free(d->vdis[i]);
	free(d->vdis);
	free(d->vm_name);
	free(d);
}

/* The disks only this VM uses (not CDs, not shared with another VM). */
static struct destroy *disks_of(struct app *app, const struct cache *c, const struct xv *vm, long long *total)
{
	const struct xv *vbds = rec_field(vm, "VBDs");
	struct destroy *d = xcalloc(1, sizeof(*d));

	d->app = app;
	d->vm_name = xstrdup(rec_str(vm, "name_label"));
	d->vdis = xcalloc(xv_len(vbds) + 1, sizeof(char *));
	*total = 0;
	for (size_t i = 0; i < xv_len(vbds); i++) {
		const struct xv *vbd = cache_get(c, xv_str(xv_at(vbds, i)));
		const char *vdi_ref = rec_str(vbd, "VDI");
		const struct xv *vdi = is_null_ref(vdi_ref) ? NULL : cache_get(c, vdi_ref);
		if (!vbd || !vdi || strcmp(rec_str(vbd, "type"), "Disk") != 0 || xv_len(rec_field(vdi, "VBDs")) > 1)
			continue;
		d->vdis[d->nvdis++] = xstrdup(vdi_ref);
		*total += rec_int(vdi, "virtual_size");
	}
	return d;
}

static long long disks_size(const struct cache *c, const struct xv *vm)
{
	const struct xv *vbds = rec_field(vm, "VBDs");
	long long total = 0;

	for (size_t i = 0; i < xv_len(vbds); i++) {
		const struct xv *vbd = cache_get(c, xv_str(xv_at(vbds, i)));
		const struct xv *vdi = vbd && strcmp(rec_str(vbd, "type"), "Disk") == 0 ? cache_get(c, rec_str(vbd, "VDI"))
											 : NULL;
		total += rec_int(vdi, "virtual_size");
	}
	return total;
}

static void on_vm_destroyed(struct ops *ops, struct op *op, void *ud)
{
	struct destroy *d = ud;
	struct app *app = d->app;
	struct pool *p = pools_by_id(app_pools(app), d->pool_id);

	if (op->state != OP_DONE) {
		app_message(app, MSG_ERROR, "%s: %s", op->label, op->message ? op->message : "failed");
	} else if (!app_quitting(app) && p && p->cache) {
		/* xapi's VM.destroy keeps the disks: destroy them as XO does */
		for (size_t i = 0; i < d->nvdis; i++) {
			const char *name = name_of(p->cache, d->vdis[i]);
			char *label = xasprintf("Destroy disk '%s' of '%s'", *name ? name : "?", d->vm_name);
			app_op(app, p, label, "VDI.destroy", xv_params_ref(d->vdis[i]));
			free(label);
		}
		if (!d->nvdis)
			app_message(app, MSG_INFO, "%s: done", op->label);
	}
	app_release(app, d);
}

static void on_destroy_answer(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct vm_sel s;
	struct destroy *d;
	long long total;
	char *label;

	if (!r->ok || !vm_sel_lookup(app, qref, &s))
		return;
	d = disks_of(app, s.p->cache, s.vm, &total);
	d->pool_id = s.p->id;
	app_keep(app, d, destroy_free);
	label = xasprintf("Destroy VM '%s'", rec_str(s.vm, "name_label"));
	app_op_then(app, s.p, label, "VM.destroy", xv_params_ref(s.ref), on_vm_destroyed, d);
	free(label);
}

static void act_destroy(struct app *app, void *st)
{
	struct vm_sel s;
	struct destroy *disks;
	struct dialog *d;
	long long total;
	char size[24], *text;

	if (!vm_or_say(app, st, &s))
		return;
	if (strcmp(rec_str(s.vm, "power_state"), "Halted") != 0) {
		app_message(app, MSG_ERROR, "Shut '%s' down first (x, or X to force)", rec_str(s.vm, "name_label"));
		return;
	}
	disks = disks_of(app, s.p->cache, s.vm, &total);
	size_format(size, sizeof(size), total);
	text = xasprintf("Destroy VM '%s' and its %zu disk%s (%s)? This cannot be undone. Its snapshots are kept.",
			 rec_str(s.vm, "name_label"), disks->nvdis, disks->nvdis == 1 ? "" : "s", size);
	d = dialog_type_name("Destroy VM", text, rec_str(s.vm, "name_label"));
	dialog_on_done(d, on_destroy_answer, s.qref, NULL);
	app_open_dialog(app, d);
	destroy_free(disks);
	free(text);
}

const struct screen_key vm_action_keys[] = {
	{'s', "Start", "Start the VM (halted)", act_start, is_halted, true},
	{'o', "Start on", "Start the VM on a host you choose", act_start_on, is_halted, false},
	{'x', "Shutdown", "Shut the VM down cleanly, asking the guest (asks first)", act_shutdown, is_running, true},
	{'r', "Reboot", "Reboot the VM cleanly (asks first)", act_reboot, is_running, true},
	{'X', "Force off", "Force the VM off (asks first)", act_force_shutdown, is_running_or_paused, false},
	{'R', "Force reboot", "Force the VM to reboot (asks first)", act_force_reboot, is_running_or_paused, false},
	{'z', "Suspend", "Suspend the VM to disk (asks first)", act_suspend, is_running, false},
	{'u', "Resume", "Resume a suspended VM", act_resume, is_suspended, true},
	{'p', "Pause", "Pause a running VM, or unpause a paused one", act_pause, is_running_or_paused, false},
	{'m', "Migrate", "Move the running VM live to another host", act_migrate, is_running, true},
	{'S', "Snapshot", "Take a snapshot of the VM", act_snapshot, has_vm, true},
	{'v', "Revert", "Revert the VM to one of its snapshots (asks first)", act_revert, has_snapshots, false},
	{'c', "Clone", "Clone the halted VM under a new name (fast, copy-on-write)", act_clone, is_halted, false},
	{'y', "Copy", "Copy the halted VM and its disks onto an SR you choose", act_copy, is_halted, false},
	{'e', "Rename", "Rename the VM", act_rename, has_vm, false},
	{'t', "Tags", "Add a tag to the VM, or remove one", act_tags, has_vm, false},
	{'C', "CPU/RAM", "Change the halted VM's vCPUs and memory", act_resources, is_halted, false},
	{'D', "Destroy", "Destroy the halted VM and its disks (type its name to confirm)", act_destroy, is_halted,
	 true},
	{0, NULL, NULL, NULL, NULL, false},
};

int vm_action(struct app *app, void *st, int key)
{
	for (const struct screen_key *k = vm_action_keys; k->key; k++)
		if (k->key == key) {
			k->fn(app, st);
			return EV_HANDLED;
		}
	return EV_IGNORED;
}
