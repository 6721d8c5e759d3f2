/* The engine behind maintenance mode, evacuating reboots and the rolling
 * pool update: a job walks its hosts one at a time through a list of
 * stages, each one XenAPI call (or a wait), and stops at the first failure
 * with a sentence saying where and what state the hosts are left in.
 * Waiting for a rebooted host reads only the cache, so the master's reboot
 * (the connection drops, xapi reconnects and the cache reloads) is just a
 * longer wait. */
#include "host_jobs.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialog.h"
#include "draw.h"
#include "errors.h"
#include "keys.h"
#include "model.h"
#include "progress.h"
#include "screens.h"
#include "util.h"

enum stage {
	ST_SAVE,     /* remember the running VMs in other_config */
	ST_DISABLE,
	ST_HALT,     /* cleanly shut down the VMs that cannot move (the user agreed) */
	ST_EVACUATE,
	ST_UPDATE,   /* updater.py update */
	ST_REBOOT,
	ST_WAIT,     /* until the host is back: live, enabled, a new boot_time */
	ST_ENABLE,
	ST_RESTART,  /* start those VMs again on the host */
	ST_RETURN,   /* migrate the remembered VMs back */
	ST_CLEAR,    /* forget them */
	ST_SHUTDOWN,
	ST_END,
};

static const char *const stage_names[] = {
	"remember VMs", "disable", "shut down VMs", "evacuate", "install updates", "reboot", "wait for it",
	"enable", "start VMs again", "bring VMs back", "leave maintenance", "shut down", "done",
};

static const enum stage seq_enter[] = {ST_SAVE, ST_DISABLE, ST_HALT, ST_EVACUATE, ST_END};
static const enum stage seq_exit[] = {ST_ENABLE, ST_RETURN, ST_CLEAR, ST_END};
static const enum stage seq_leave[] = {ST_ENABLE, ST_CLEAR, ST_END};
static const enum stage seq_reboot[] = {ST_SAVE, ST_DISABLE, ST_HALT, ST_EVACUATE, ST_REBOOT, ST_WAIT,
					 ST_ENABLE, ST_RESTART, ST_RETURN, ST_CLEAR, ST_END};
static const enum stage seq_shutdown[] = {ST_SAVE, ST_DISABLE, ST_HALT, ST_EVACUATE, ST_SHUTDOWN, ST_END};
static const enum stage seq_rolling[] = {ST_SAVE, ST_DISABLE, ST_HALT, ST_EVACUATE, ST_UPDATE, ST_REBOOT, ST_WAIT,
					  ST_ENABLE, ST_RESTART, ST_RETURN, ST_CLEAR, ST_END};

static const char *const kind_names[] = {
	"Maintenance mode", "Leave maintenance mode", "Leave maintenance mode", "Reboot with evacuation",
	"Shut down with evacuation", "Rolling pool update",
};

#define WAIT_POLL_MS 1000
#define WAIT_LIMIT_MS (20 * 60 * 1000) /* a server's firmware can take many minutes */

enum host_state { HS_WAITING, HS_RUNNING, HS_DONE, HS_FAILED };

struct job_host {
	char *ref, *name;
	char **vms; /* uuids of the VMs to bring back */
	size_t nvms;
	char **pinned; /* uuids of the VMs that cannot move: shut down first (and started again after a reboot) */
	size_t npinned;
	bool *pinned_paused; /* paused at the start: forced off (a paused VM cannot shut down cleanly), started paused */
	char *boot_time; /* before the reboot */
	enum host_state state;
};

struct job {
	struct app *app;
	int pool_id;
	enum host_job_kind kind;
	const enum stage *seq;
	struct job_host *hosts;
	size_t n, cur; /* the host being worked on */
	size_t step;   /* index into seq */
	size_t vm_i;   /* ST_RETURN: the next VM */
	struct op *op; /* the Async call under way, or NULL */
	struct loop_timer *timer;
	int64_t wait_since;
	bool finished, failed;
	bool cancelling; /* asked to stop: after the step under way */
	bool cancelled;  /* and stopped */
	size_t stopped_at; /* the host whose state the outcome describes */
	int id;          /* names the job in the cancel chooser */
	char *outcome;
	struct job *next;
};

static struct job *jobs;
static int next_id = 1;

static void job_free(void *data)
{
	struct job *j = data;

	for (struct job **pp = &jobs; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	if (j->timer)
		loop_timer_cancel(app_loop(j->app), j->timer);
	for (size_t i = 0; i < j->n; i++) {
		free(j->hosts[i].ref);
		free(j->hosts[i].name);
		free(j->hosts[i].boot_time);
		for (size_t k = 0; k < j->hosts[i].nvms; k++)
			free(j->hosts[i].vms[k]);
		free(j->hosts[i].vms);
		for (size_t k = 0; k < j->hosts[i].npinned; k++)
			free(j->hosts[i].pinned[k]);
		free(j->hosts[i].pinned);
		free(j->hosts[i].pinned_paused);
	}
	free(j->hosts);
	free(j->outcome);
	free(j);
}

static struct pool *job_pool(const struct job *j)
{
	struct pool *p = pools_by_id(app_pools(j->app), j->pool_id);

	return p && p->cache ? p : NULL;
}

static struct job_host *cur_host(struct job *j)
{
	return &j->hosts[j->cur];
}

static void step(struct job *j);

/* :updates lists what each host's updater says: once a rolling update has
 * worked on a host (installed, rebooted, or stopped there) that list is stale. */
static void host_ended(struct job *j, const struct job_host *h)
{
	struct pool *p = j->kind == JOB_ROLLING ? job_pool(j) : NULL;

	if (p)
		updates_recheck(j->app, p, h->ref);
}

/* Where the job stopped and what the hosts look like now, as one sentence. */
static void fail(struct job *j, const char *why)
{
	struct job_host *h = cur_host(j);
	enum stage st = j->seq[j->step];
	struct buf done, todo;

	buf_init(&done);
	buf_init(&todo);
	h->state = HS_FAILED;
	j->failed = j->finished = true;
	host_ended(j, h);
	for (size_t i = 0; i < j->n; i++) {
		struct buf *b = i < j->cur ? &done : i > j->cur ? &todo : NULL;
		if (b) {
			buf_sep(b, ", ");
			buf_printf(b, "'%s'", j->hosts[i].name);
		}
	}
	free(j->outcome);
	j->outcome = xasprintf("%s stopped on '%s' at \"%s\": %s. '%s' is %s%s%s%s%s.", kind_names[j->kind], h->name,
			       stage_names[st], why, h->name,
			       st <= ST_DISABLE ? "as it was"
			       : st >= ST_ENABLE && st != ST_SHUTDOWN ? "enabled, its VMs may not all be back"
								      : "disabled, in maintenance mode",
			       done.len ? "; finished: " : "", done.len ? done.data : "", todo.len ? "; not started: " : "",
			       todo.len ? todo.data : "");
	buf_free(&done);
	buf_free(&todo);
	app_message(j->app, MSG_ERROR, "%s", j->outcome);
	app_dirty(j->app);
}

/* What the host looks like now, from the cache: "'h1' is disabled, in
 * maintenance mode, 3 VMs running on it; press m on the host to leave it". */
static void host_state_text(const struct job *j, const struct job_host *h, char *buf, size_t n)
{
	struct pool *p = job_pool(j);
	const struct xv *host = p ? cache_get(p->cache, h->ref) : NULL;
	const struct xv *vms = host ? rec_field(host, "resident_VMs") : NULL;
	const char *m = host ? rec_map(host, "other_config", MAINT_KEY) : NULL;
	bool maint = m && strcmp(m, "true") == 0, enabled;
	int running = 0;

	if (!host) {
		snprintf(buf, n, "'%s' is not known now (its pool is not connected)", h->name);
		return;
	}
	enabled = rec_bool(host, "enabled");
	for (size_t i = 0; i < xv_len(vms); i++) {
		const struct xv *vm = cache_get(p->cache, xv_str(xv_at(vms, i)));
		if (vm_is_guest(vm) && strcmp(rec_str(vm, "power_state"), "Running") == 0)
			running++;
	}
	snprintf(buf, n, "'%s' is %s%s, %d VM%s running on it%s", h->name, enabled ? "enabled" : "disabled",
		 maint ? ", in maintenance mode" : "", running, running == 1 ? "" : "s",
		 maint || !enabled ? "; press m on the host to leave maintenance mode" : "");
}

/* The user's cancel took effect between two steps (or ended the task under way). */
static void stop_cancelled(struct job *j)
{
	struct job_host *h = cur_host(j);
	enum stage st = j->seq[j->step];
	/* at a host's first step nothing was done to it: the last host worked on is the one to describe */
	bool untouched = j->step == 0;
	const struct job_host *last = untouched && j->cur > 0 ? &j->hosts[j->cur - 1] : h;
	char now[512];
	struct buf todo;

	h->state = untouched ? HS_WAITING : HS_FAILED;
	j->failed = j->finished = j->cancelled = true;
	if (!untouched)
		host_ended(j, h);
	buf_init(&todo);
	for (size_t i = untouched ? j->cur : j->cur + 1; i < j->n; i++) {
		buf_sep(&todo, ", ");
		buf_printf(&todo, "'%s'", j->hosts[i].name);
	}
	j->stopped_at = (size_t)(last - j->hosts);
	host_state_text(j, last, now, sizeof(now));
	free(j->outcome);
	if (untouched)
		j->outcome = xasprintf("%s cancelled after '%s'%s%s.", kind_names[j->kind], last->name,
				       todo.len ? "; not started: " : "", todo.len ? todo.data : "");
	else
		j->outcome = xasprintf("%s cancelled on '%s' before \"%s\"%s%s.", kind_names[j->kind], h->name,
				       stage_names[st], todo.len ? "; not started: " : "", todo.len ? todo.data : "");
	buf_free(&todo);
	/* the jobs screen keeps the host's state live under the outcome */
	app_message(j->app, MSG_INFO, "%s Now %s.", j->outcome, now);
	app_dirty(j->app);
}

static struct xv *params_ref(const char *ref)
{
	struct xv *p = xv_array();

	xv_array_push(p, xv_string(ref));
	return p;
}

/* Why xapi will not move a VM, in words: [code, params...] from
 * host.get_vms_which_prevent_evacuation. */
static char *blocker_reason(const struct cache *c, const struct xv *err)
{
	const char *code = xv_str(xv_at(err, 0));

	if (code && strcmp(code, "VM_REQUIRES_SR") == 0) {
		const char *ref = xv_str(xv_at(err, 2));
		const struct xv *sr = ref ? cache_get(c, ref) : NULL;
		return xasprintf("its disk is on '%s', which %s", sr ? rec_str(sr, "name_label") : "a storage repository",
				 sr && !rec_bool(sr, "shared") ? "only this host sees" : "the other hosts cannot see");
	}
	if (code && strcmp(code, "NO_HOSTS_AVAILABLE") == 0)
		return xstrdup("no other host is enabled and up to take it");
	if (code && strcmp(code, "HOST_NOT_ENOUGH_FREE_MEMORY") == 0)
		return xstrdup("the other hosts have too little free memory for it");
	if (code && strcmp(code, "VM_HAS_PCI_ATTACHED") == 0)
		return xstrdup("it has a PCI device passed through");
	return error_sentence(err, c);
}

/* "'db02': its disk is on 'Local storage', which only this host sees" */
static void blocker_line(struct buf *b, const struct cache *c, const char *vm, const struct xv *err)
{
	char *why = blocker_reason(c, err);

	buf_printf(b, "'%s': %s", name_of(c, vm), why);
	free(why);
}

static struct job *job_by_id(int id);

struct explain {
	struct app *app;
	int job_id;
	char *why; /* the evacuation's own error, if nothing better comes */
};

static void on_explained(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct explain *e = ud;
	struct job *j = job_by_id(e->job_id);
	struct pool *p = j ? job_pool(j) : NULL;
	struct buf b;

	buf_init(&b);
	if (j && p && r->failure == XAPI_OK && r->value && r->value->type == XV_STRUCT && xv_len(r->value)) {
		for (size_t i = 0; i < xv_len(r->value); i++) {
			buf_sep(&b, "; ");
			blocker_line(&b, p->cache, xv_key_at(r->value, i), xv_value_at(r->value, i));
		}
		buf_puts(&b, xv_len(r->value) == 1 ? " (it cannot move)" : " (they cannot move)");
	}
	if (j)
		fail(j, b.len ? b.data : e->why);
	buf_free(&b);
	free(e->why);
	free(e);
}

/* Evacuation failed: xapi's plan says which VMs cannot move and why, one
 * sentence each, rather than the first error alone. */
static void explain_evacuate(struct job *j, const char *why)
{
	struct pool *p = job_pool(j);
	struct explain *e;

	if (!p) {
		fail(j, why);
		return;
	}
	e = xcalloc(1, sizeof(*e));
	e->app = j->app;
	e->job_id = j->id;
	e->why = xstrdup(why);
	app_query(j->app, p, "host.get_vms_which_prevent_evacuation", params_ref(cur_host(j)->ref), on_explained, e);
}

static void next_step(struct job *j)
{
	j->step++;
	/* a host whose VMs can all move has no VMs to shut down and start again */
	while ((j->seq[j->step] == ST_HALT || j->seq[j->step] == ST_RESTART) && !cur_host(j)->npinned)
		j->step++;
	j->vm_i = 0;
	step(j);
}

static void on_call(struct app *app, struct pool *p, bool ok, void *ud)
{
	struct job *j = ud;

	if (!ok) {
		fail(j, "the call failed (see the message before)");
		return;
	}
	next_step(j);
}

static void on_op(struct ops *ops, struct op *op, void *ud)
{
	struct job *j = ud;

	j->op = NULL;
	if (op->state != OP_DONE && j->cancelling) {
		/* the task was cancelled: the stage did not happen (or only in part) */
		stop_cancelled(j);
		return;
	}
	if (op->state != OP_DONE && j->seq[j->step] == ST_EVACUATE) {
		explain_evacuate(j, op->message && *op->message ? op->message : "cancelled");
		return;
	}
	if (op->state != OP_DONE) {
		fail(j, op->message && *op->message ? op->message : "cancelled");
		return;
	}
	if (j->seq[j->step] == ST_RETURN || j->seq[j->step] == ST_HALT || j->seq[j->step] == ST_RESTART) {
		j->vm_i++;
		step(j);
		return;
	}
	if (j->seq[j->step] == ST_UPDATE)
		host_ended(j, cur_host(j)); /* installed: the updater has nothing more to offer */
	next_step(j);
}

static bool guest_running_on(const struct xv *vm, const char *host)
{
	return vm_is_guest(vm) && strcmp(rec_str(vm, "power_state"), "Running") == 0
	       && strcmp(rec_str(vm, "resident_on"), host) == 0;
}

/* The uuids in other_config's list, for leaving maintenance mode (they may
 * have been remembered by another client, or an earlier run). */
static void vms_from_config(struct job_host *h, const struct xv *host)
{
	const char *list = rec_map(host, "other_config", MAINT_VMS_KEY);
	char *copy, *save = NULL;

	if (!list || h->nvms)
		return;
	copy = xstrdup(list);
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		h->vms = xrealloc(h->vms, (h->nvms + 1) * sizeof(*h->vms));
		h->vms[h->nvms++] = xstrdup(t);
	}
	free(copy);
}

struct collect {
	struct job_host *h;
	struct buf *list;
};

static bool collect_vm(const char *ref, const struct xv *vm, void *ud)
{
	struct collect *c = ud;

	if (!guest_running_on(vm, c->h->ref))
		return true;
	/* a VM shut down because it cannot move is not one that moved */
	for (size_t i = 0; i < c->h->npinned; i++)
		if (strcmp(c->h->pinned[i], rec_str(vm, "uuid")) == 0)
			return true;
	c->h->vms = xrealloc(c->h->vms, (c->h->nvms + 1) * sizeof(*c->h->vms));
	c->h->vms[c->h->nvms++] = xstrdup(rec_str(vm, "uuid"));
	return true;
}

/* other_config with the maintenance keys set (saving) or removed. */
static struct xv *maint_config(const struct xv *host, const struct job_host *h, bool saving)
{
	const struct xv *oc = rec_field(host, "other_config");
	struct xv *m = oc ? xv_copy(oc) : xv_struct();

	xv_struct_del(m, MAINT_KEY);
	xv_struct_del(m, MAINT_VMS_KEY);
	if (saving) {
		size_t len = 1;
		char *list;
		for (size_t i = 0; i < h->nvms; i++)
			len += strlen(h->vms[i]) + 1;
		list = xcalloc(1, len);
		for (size_t i = 0; i < h->nvms; i++) {
			if (i)
				strcat(list, ",");
			strcat(list, h->vms[i]);
		}
		xv_struct_set(m, MAINT_KEY, xv_string("true"));
		xv_struct_set(m, MAINT_VMS_KEY, xv_string_take(list));
	}
	return m;
}

static void set_config(struct job *j, struct pool *p, const struct xv *host, bool saving)
{
	struct xv *params = params_ref(cur_host(j)->ref);
	char *label = xasprintf("%s maintenance mode on '%s'", saving ? "Enter" : "Leave", cur_host(j)->name);

	xv_array_push(params, maint_config(host, cur_host(j), saving));
	app_call_then(j->app, p, label, "host.set_other_config", params, on_call, j);
	free(label);
}

static void start_op(struct job *j, struct pool *p, const char *verb, const char *method, struct xv *params)
{
	char *label = xasprintf("%s '%s'", verb, cur_host(j)->name);

	j->op = app_op_then(j->app, p, label, method, params, on_op, j);
	free(label);
	if (!j->op)
		fail(j, "the pool is not connected");
}

static bool host_back(struct job *j, struct pool *p)
{
	const struct xv *host = cache_loaded(p->cache) ? cache_get(p->cache, cur_host(j)->ref) : NULL;
	const struct xv *m = host ? cache_get(p->cache, rec_str(host, "metrics")) : NULL;
	const char *boot = host ? rec_map(host, "other_config", "boot_time") : NULL;
	const char *before = cur_host(j)->boot_time, *why;

	if (!m || !rec_bool(m, "live") || pool_state(p, &why) != POOL_CONNECTED)
		return false;
	/* a host that still shows its old boot has not gone down yet */
	return !before || !boot || strcmp(before, boot) != 0;
}

static void on_wait_timer(struct loop *l, void *ud)
{
	struct job *j = ud;
	struct pool *p = pools_by_id(app_pools(j->app), j->pool_id);

	j->timer = NULL;
	if (p && p->cache && host_back(j, p)) {
		next_step(j);
		return;
	}
	if (!p) {
		fail(j, "the pool was removed");
		return;
	}
	if (loop_now() - j->wait_since > WAIT_LIMIT_MS) {
		fail(j, "it did not come back within 20 minutes");
		return;
	}
	j->timer = loop_timer(app_loop(j->app), WAIT_POLL_MS, on_wait_timer, j);
	app_dirty(j->app);
}

/* The next VM to bring back that is running elsewhere; false when none is left. */
static bool return_next(struct job *j, struct pool *p)
{
	struct job_host *h = cur_host(j);

	for (; j->vm_i < h->nvms; j->vm_i++) {
		const char *ref = NULL;
		const struct xv *vm = cache_by_uuid(p->cache, "VM", h->vms[j->vm_i], &ref);
		struct xv *params, *opts;
		if (!vm || strcmp(rec_str(vm, "power_state"), "Running") != 0
		    || strcmp(rec_str(vm, "resident_on"), h->ref) == 0)
			continue;
		params = params_ref(ref);
		xv_array_push(params, xv_string(h->ref));
		opts = xv_struct();
		xv_struct_set(opts, "live", xv_string("true"));
		xv_array_push(params, opts);
		{
			char *label = xasprintf("Migrate VM '%s' back to", rec_str(vm, "name_label"));
			start_op(j, p, label, "VM.pool_migrate", params);
			free(label);
		}
		return true;
	}
	return false;
}

/* ST_HALT: the next pinned VM still running on the host gets a clean
 * shutdown; ST_RESTART: the next one halted starts on it again. False when
 * none is left. */
static bool pinned_next(struct job *j, struct pool *p, bool halt)
{
	struct job_host *h = cur_host(j);

	for (; j->vm_i < h->npinned; j->vm_i++) {
		const char *ref = NULL;
		const struct xv *vm = cache_by_uuid(p->cache, "VM", h->pinned[j->vm_i], &ref);
		struct xv *params;
		char *label;
		if (!vm)
			continue;
		if (halt && !(strcmp(rec_str(vm, "power_state"), "Halted") != 0
			      && strcmp(rec_str(vm, "resident_on"), h->ref) == 0))
			continue;
		if (!halt && strcmp(rec_str(vm, "power_state"), "Halted") != 0)
			continue;
		params = params_ref(ref);
		if (!halt) {
			xv_array_push(params, xv_string(h->ref));
			xv_array_push(params, xv_bool(h->pinned_paused[j->vm_i]));
			xv_array_push(params, xv_bool(false));
		}
		label = xasprintf(halt ? "Shut down VM '%s' (it cannot move) on" : "Start VM '%s' again on",
				  rec_str(vm, "name_label"));
		start_op(j, p, label,
			 !halt ? "VM.start_on"
			 : strcmp(rec_str(vm, "power_state"), "Paused") == 0 ? "VM.hard_shutdown" : "VM.clean_shutdown",
			 params);
		free(label);
		return true;
	}
	return false;
}

static void finish_host(struct job *j)
{
	cur_host(j)->state = HS_DONE;
	host_ended(j, cur_host(j));
	if (j->cur + 1 < j->n) {
		j->cur++;
		j->step = 0;
		j->vm_i = 0;
		cur_host(j)->state = HS_RUNNING;
		step(j);
		return;
	}
	j->finished = true;
	free(j->outcome);
	if (j->kind == JOB_ROLLING)
		j->outcome = xasprintf("Rolling pool update done: %zu host%s updated, their VMs back where they were",
				       j->n, j->n == 1 ? "" : "s");
	else
		j->outcome = xasprintf("%s: '%s' done", kind_names[j->kind], cur_host(j)->name);
	app_message(j->app, MSG_INFO, "%s", j->outcome);
	app_dirty(j->app);
}

static void step(struct job *j)
{
	struct pool *p = job_pool(j);
	struct job_host *h = cur_host(j);
	const struct xv *host;
	enum stage st = j->seq[j->step];

	app_dirty(j->app);
	if (st == ST_END) {
		finish_host(j);
		return;
	}
	if (j->cancelling) {
		stop_cancelled(j);
		return;
	}
	/* while the master reboots the pool's connection is not there: only waiting may go on */
	host = p ? cache_get(p->cache, h->ref) : NULL;
	if (!host && st != ST_WAIT) {
		fail(j, p ? "the host is no longer in the pool" : "the pool is not connected");
		return;
	}
	switch (st) {
	case ST_SAVE: {
		struct collect c = {h, NULL};
		cache_each(p->cache, "VM", collect_vm, &c);
		set_config(j, p, host, true);
		return;
	}
	case ST_DISABLE:
		if (!rec_bool(host, "enabled")) {
			next_step(j);
			return;
		}
		app_call_then(j->app, p, "Disable host", "host.disable", params_ref(h->ref), on_call, j);
		return;
	case ST_EVACUATE:
		start_op(j, p, "Evacuate host", "host.evacuate", params_ref(h->ref));
		return;
	case ST_UPDATE: {
		struct xv *params = params_ref(h->ref);
		xv_array_push(params, xv_string("updater.py"));
		xv_array_push(params, xv_string("update"));
		xv_array_push(params, xv_struct());
		start_op(j, p, "Install updates on", "host.call_plugin", params);
		return;
	}
	case ST_REBOOT:
		free(h->boot_time);
		h->boot_time = rec_map(host, "other_config", "boot_time") ? xstrdup(rec_map(host, "other_config", "boot_time"))
									  : NULL;
		app_call_then(j->app, p, "Reboot host", "host.reboot", params_ref(h->ref), on_call, j);
		return;
	case ST_WAIT:
		j->wait_since = loop_now();
		j->timer = loop_timer(app_loop(j->app), WAIT_POLL_MS, on_wait_timer, j);
		return;
	case ST_ENABLE:
		vms_from_config(h, host);
		if (rec_bool(host, "enabled")) {
			next_step(j);
			return;
		}
		app_call_then(j->app, p, "Enable host", "host.enable", params_ref(h->ref), on_call, j);
		return;
	case ST_RETURN:
		if (!return_next(j, p))
			next_step(j);
		return;
	case ST_HALT:
	case ST_RESTART:
		if (!pinned_next(j, p, st == ST_HALT))
			next_step(j);
		return;
	case ST_CLEAR:
		set_config(j, p, host, false);
		return;
	case ST_SHUTDOWN:
		app_call_then(j->app, p, "Shut down host", "host.shutdown", params_ref(h->ref), on_call, j);
		return;
	case ST_END:
		return;
	}
}

/* ---- before a job that evacuates: which VMs cannot move ------------------- */

struct blocker {
	size_t host; /* index into the job's hosts */
	char *vm;    /* ref */
	struct xv *err;
};

struct precheck {
	struct app *app;
	int pool_id;
	enum host_job_kind kind;
	char **hosts;
	size_t n, pending;
	struct blocker *b;
	size_t nb;
	char *failed; /* why a host could not be asked */
};

struct precheck_ask {
	struct precheck *pc;
	size_t i;
};

static void precheck_free(void *data)
{
	struct precheck *pc = data;

	for (size_t i = 0; i < pc->n; i++)
		free(pc->hosts[i]);
	free(pc->hosts);
	for (size_t i = 0; i < pc->nb; i++) {
		free(pc->b[i].vm);
		xv_free(pc->b[i].err);
	}
	free(pc->b);
	free(pc->failed);
	free(pc);
}

static bool busy_any(struct app *app, struct pool *p, const char *const *hosts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (host_job_busy(p, hosts[i])) {
			app_message(app, MSG_ERROR, "'%s' is already in an operation that has not finished",
				    name_of(p->cache, hosts[i]));
			return true;
		}
	return false;
}

static void job_begin(struct app *app, struct pool *p, enum host_job_kind kind, const char *const *hosts, size_t n,
		      const struct precheck *pc);

static void on_blockers_answer(struct app *app, const struct dialog_result *r, const char *ref, void *ud)
{
	struct precheck *pc = ud;
	struct pool *p = pools_by_id(app_pools(app), pc->pool_id);

	if (!r->ok) {
		app_message(app, MSG_INFO, "%s cancelled: nothing was changed", kind_names[pc->kind]);
		return;
	}
	if (!p || !p->cache) {
		app_message(app, MSG_ERROR, "The pool is not connected: nothing was changed");
		return;
	}
	job_begin(app, p, pc->kind, (const char *const *)pc->hosts, pc->n, pc);
}

/* Every host answered: start, or say which VMs would stop it first. */
static void precheck_done(struct precheck *pc)
{
	struct app *app = pc->app;
	struct pool *p = pools_by_id(app_pools(app), pc->pool_id);
	bool again = pc->kind == JOB_REBOOT || pc->kind == JOB_ROLLING;
	const struct xv *vm;
	struct dialog *d;
	struct buf b;

	if (!p || !p->cache || pc->failed) {
		app_message(app, MSG_ERROR, "%s not started: could not ask xapi which VMs can move: %s", kind_names[pc->kind],
			    pc->failed ? pc->failed : "the pool is not connected");
		precheck_free(pc);
		return;
	}
	if (!pc->nb) {
		job_begin(app, p, pc->kind, (const char *const *)pc->hosts, pc->n, NULL);
		precheck_free(pc);
		return;
	}
	buf_init(&b);
	buf_printf(&b, "Nothing has changed yet. %s VM%s cannot move to another host:", pc->nb == 1 ? "This" : "These",
		   pc->nb == 1 ? "" : "s");
	for (size_t h = 0; h < pc->n; h++) {
		bool first = true;
		for (size_t i = 0; i < pc->nb; i++) {
			if (pc->b[i].host != h)
				continue;
			if (first && pc->n > 1)
				buf_printf(&b, "\nOn '%s':", name_of(p->cache, pc->hosts[h]));
			first = false;
			buf_puts(&b, "\n  ");
			blocker_line(&b, p->cache, pc->b[i].vm, pc->b[i].err);
			vm = cache_get(p->cache, pc->b[i].vm);
			if (vm && strcmp(rec_str(vm, "power_state"), "Paused") == 0)
				buf_puts(&b, again ? " (paused: it is forced off, its memory state is lost, and starts again paused)"
						   : " (paused: it is forced off, its memory state is lost)");
		}
	}
	buf_printf(&b, "\nxentui can shut %s down cleanly (as from inside the guest) and then go on; %s.",
		   pc->nb == 1 ? "it" : "them",
		   again ? (pc->nb == 1 ? "it starts again on the same host once that is back up"
					: "they start again on the same host once that is back up")
			 : (pc->nb == 1 ? "it stays shut down" : "they stay shut down"));
	d = dialog_confirm(pc->nb == 1 ? "A VM cannot move" : "VMs cannot move", b.data,
			   pc->nb == 1 ? "Shut this VM down cleanly, then continue" : "Shut these VMs down cleanly, then continue",
			   "Cancel", true);
	dialog_on_done(d, on_blockers_answer, NULL, pc);
	dialog_own_ud(d, precheck_free);
	app_open_dialog(app, d);
	buf_free(&b);
}

static void on_prevent(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct precheck_ask *q = ud;
	struct precheck *pc = q->pc;

	if (r->failure == XAPI_OK && r->value && r->value->type == XV_STRUCT) {
		for (size_t i = 0; i < xv_len(r->value); i++) {
			pc->b = xrealloc(pc->b, (pc->nb + 1) * sizeof(*pc->b));
			pc->b[pc->nb].host = q->i;
			pc->b[pc->nb].vm = xstrdup(xv_key_at(r->value, i));
			pc->b[pc->nb].err = xv_copy(xv_value_at(r->value, i));
			pc->nb++;
		}
	} else if (r->failure != XAPI_API && !pc->failed) {
		/* an xapi without the call (XAPI_API) just goes on: evacuate says why if it fails */
		pc->failed = xstrdup(r->message ? r->message : "no answer");
	}
	free(q);
	if (--pc->pending == 0)
		precheck_done(pc);
}

void host_job_start(struct app *app, struct pool *p, enum host_job_kind kind, const char *const *hosts, size_t n)
{
	struct precheck *pc;

	if (!p || !p->cache || !n || busy_any(app, p, hosts, n))
		return;
	if (kind == JOB_MAINT_EXIT || kind == JOB_MAINT_LEAVE) {
		job_begin(app, p, kind, hosts, n, NULL);
		return;
	}
	/* ask xapi's own evacuation plan for each host before anything changes */
	pc = xcalloc(1, sizeof(*pc));
	pc->app = app;
	pc->pool_id = p->id;
	pc->kind = kind;
	pc->n = n;
	pc->pending = n; /* all counted first: an answer may come at once */
	pc->hosts = xcalloc(n, sizeof(*pc->hosts));
	for (size_t i = 0; i < n; i++)
		pc->hosts[i] = xstrdup(hosts[i]);
	if (n == 1)
		app_message(app, MSG_INFO, "Checking which VMs can move off '%s'...", name_of(p->cache, hosts[0]));
	else
		app_message(app, MSG_INFO, "Checking which VMs can move off the %zu hosts...", n);
	for (size_t i = 0; i < n; i++) {
		struct precheck_ask *q = xcalloc(1, sizeof(*q));
		q->pc = pc;
		q->i = i;
		app_query(app, p, "host.get_vms_which_prevent_evacuation", params_ref(pc->hosts[i]), on_prevent, q);
	}
}

/* pc: the VMs that cannot move, which the user agreed to shut down (or NULL) */
static void job_begin(struct app *app, struct pool *p, enum host_job_kind kind, const char *const *hosts, size_t n,
		      const struct precheck *pc)
{
	struct job *j;

	if (busy_any(app, p, hosts, n))
		return;
	j = xcalloc(1, sizeof(*j));
	j->app = app;
	j->id = next_id++;
	j->pool_id = p->id;
	j->kind = kind;
	j->seq = kind == JOB_MAINT_ENTER  ? seq_enter
		 : kind == JOB_MAINT_EXIT  ? seq_exit
		 : kind == JOB_MAINT_LEAVE ? seq_leave
		 : kind == JOB_REBOOT      ? seq_reboot
		 : kind == JOB_SHUTDOWN    ? seq_shutdown
					   : seq_rolling;
	j->hosts = xcalloc(n, sizeof(*j->hosts));
	j->n = n;
	for (size_t i = 0; i < n; i++) {
		j->hosts[i].ref = xstrdup(hosts[i]);
		j->hosts[i].name = xstrdup(name_of(p->cache, hosts[i]));
	}
	for (size_t i = 0; pc && i < pc->nb; i++) {
		const struct xv *vm = cache_get(p->cache, pc->b[i].vm);
		struct job_host *h = &j->hosts[pc->b[i].host];
		if (!vm)
			continue;
		h->pinned = xrealloc(h->pinned, (h->npinned + 1) * sizeof(*h->pinned));
		h->pinned_paused = xrealloc(h->pinned_paused, (h->npinned + 1) * sizeof(*h->pinned_paused));
		h->pinned_paused[h->npinned] = strcmp(rec_str(vm, "power_state"), "Paused") == 0;
		h->pinned[h->npinned++] = xstrdup(rec_str(vm, "uuid"));
	}
	j->hosts[0].state = HS_RUNNING;
	j->next = jobs;
	jobs = j;
	app_keep(app, j, job_free);
	/* :updates shows the jobs itself */
	if (app_top(app) != &screen_host_jobs && app_top(app) != &screen_updates)
		app_push(app, &screen_host_jobs, NULL);
	step(j);
}

bool host_job_busy(const struct pool *p, const char *host)
{
	for (const struct job *j = jobs; j; j = j->next)
		if (!j->finished && j->pool_id == p->id)
			for (size_t i = j->cur; i < j->n; i++)
				if (strcmp(j->hosts[i].ref, host) == 0)
					return true;
	return false;
}

static void draw_job(WINDOW *w, const struct job *j, int *line, int end, int cols)
{
	attr_t normal = theme_attr(ROLE_NORMAL);

	if (*line >= end)
		return;
	ui_put(w, (*line)++, 2, cols - 4, theme_attr(ROLE_HEADER), kind_names[j->kind]);
	for (size_t i = 0; i < j->n && *line < end; i++) {
		const struct job_host *h = &j->hosts[i];
		char text[256];
		enum role role = ROLE_NORMAL;
		switch (h->state) {
		case HS_WAITING:
			snprintf(text, sizeof(text), j->finished ? "not started" : "waiting");
			role = ROLE_DIM;
			break;
		case HS_RUNNING:
			if (j->seq[j->step] == ST_RETURN)
				snprintf(text, sizeof(text), "%s (%zu of %zu)", stage_names[j->seq[j->step]],
					 j->vm_i + 1 > h->nvms ? h->nvms : j->vm_i + 1, h->nvms);
			else if (j->seq[j->step] == ST_HALT || j->seq[j->step] == ST_RESTART)
				snprintf(text, sizeof(text), "%s (%zu of %zu)", stage_names[j->seq[j->step]],
					 j->vm_i + 1 > h->npinned ? h->npinned : j->vm_i + 1, h->npinned);
			else if (j->seq[j->step] == ST_WAIT)
				snprintf(text, sizeof(text), "%s: %llds", stage_names[ST_WAIT],
					 (long long)((loop_now() - j->wait_since) / 1000));
			else
				snprintf(text, sizeof(text), "%s", stage_names[j->seq[j->step]]);
			role = ROLE_WARN;
			break;
		case HS_DONE:
			snprintf(text, sizeof(text), "done");
			role = ROLE_GOOD;
			break;
		case HS_FAILED:
			snprintf(text, sizeof(text), "%s %s", j->cancelled ? "cancelled before" : "failed at",
				 stage_names[j->seq[j->step]]);
			role = ROLE_BAD;
			break;
		}
		ui_kv(w, *line, 4, 20, 40, h->name, text, theme_attr(role));
		if (h->state == HS_RUNNING && j->op && cols > 70)
			progress_draw(w, *line, 46, cols - 48, j->op->progress, loop_now() - j->op->started_ms, normal);
		(*line)++;
	}
	if (j->outcome && *line < end)
		*line += ui_wrap(w, *line, 4, cols - 6, end - *line,
				 theme_attr(j->cancelled ? ROLE_WARN : j->failed ? ROLE_BAD : ROLE_GOOD), j->outcome);
	if (j->cancelled && *line < end) {
		char now[512], text[540];
		host_state_text(j, &j->hosts[j->stopped_at], now, sizeof(now));
		snprintf(text, sizeof(text), "Now %s.", now);
		*line += ui_wrap(w, *line, 4, cols - 6, end - *line, theme_attr(ROLE_WARN), text);
	} else if (j->cancelling && !j->finished && *line < end)
		ui_put(w, (*line)++, 4, cols - 6, theme_attr(ROLE_WARN),
		       "Cancelling: it stops once the step under way ends");
	(*line)++;
}

int host_jobs_draw(WINDOW *w, int y, int rows, int cols)
{
	int line = y;

	for (const struct job *j = jobs; j; j = j->next)
		draw_job(w, j, &line, y + rows, cols);
	return line;
}

/* ---- cancel -------------------------------------------------------------------- */

static struct job *job_by_id(int id)
{
	for (struct job *j = jobs; j; j = j->next)
		if (j->id == id)
			return j;
	return NULL;
}

static void cancel_job(struct job *j)
{
	struct pool *p = job_pool(j);

	if (j->finished || j->cancelling)
		return;
	j->cancelling = true;
	app_message(j->app, MSG_INFO, "Cancelling %s on '%s': it stops after \"%s\"", kind_names[j->kind],
		    cur_host(j)->name, stage_names[j->seq[j->step]]);
	if (j->timer) {
		/* waiting for a rebooted host is no step of ours: stop now */
		loop_timer_cancel(app_loop(j->app), j->timer);
		j->timer = NULL;
		stop_cancelled(j);
	} else if (j->op && p) {
		/* an Async call: its task is cancelled (if xapi still can), on_op stops the job */
		ops_cancel(p->ops, j->op);
	}
	/* a plain call under way: on_call's step() sees the flag */
	app_dirty(j->app);
}

static void on_cancel_answer(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct job *j;

	if (!r->ok)
		return;
	j = job_by_id(r->choice_key ? atoi(r->choice_key) : (int)(intptr_t)ud);
	if (j)
		cancel_job(j);
}

bool host_jobs_running(struct app *app, void *st)
{
	for (const struct job *j = jobs; j; j = j->next)
		if (!j->finished && !j->cancelling)
			return true;
	return false;
}

void host_jobs_cancel(struct app *app, void *st)
{
	struct job *one = NULL;
	int n = 0;
	struct dialog *d;
	char *text;

	for (struct job *j = jobs; j; j = j->next)
		if (!j->finished && !j->cancelling) {
			one = j;
			n++;
		}
	if (!n) {
		app_message(app, MSG_INFO, "No host operation is running");
		return;
	}
	if (n == 1) {
		text = xasprintf("Cancel %s on '%s'? It stops once \"%s\" ends (a task under way is cancelled if xapi "
				 "still can) and leaves the hosts as they are then; the screen says what state that is.",
				 kind_names[one->kind], cur_host(one)->name, stage_names[one->seq[one->step]]);
		d = dialog_confirm("Cancel host operation", text, "Cancel it", "Let it run", true);
		dialog_on_done(d, on_cancel_answer, NULL, (void *)(intptr_t)one->id);
	} else {
		text = xasprintf("%d host operations are running. Which one stops (after its step under way)?", n);
		d = dialog_choose("Cancel host operation", text);
		for (struct job *j = jobs; j; j = j->next)
			if (!j->finished && !j->cancelling) {
				char key[16], detail[160];
				snprintf(key, sizeof(key), "%d", j->id);
				snprintf(detail, sizeof(detail), "'%s' at %s", cur_host(j)->name,
					 stage_names[j->seq[j->step]]);
				dialog_add_choice(d, key, kind_names[j->kind], detail);
			}
		dialog_on_done(d, on_cancel_answer, NULL, NULL);
	}
	app_open_dialog(app, d);
	free(text);
}

/* ---- the screen ------------------------------------------------------------ */

static void *jobs_enter(struct app *app, const void *arg)
{
	return xcalloc(1, 1);
}

static void jobs_leave(struct app *app, void *st)
{
	free(st);
}

static void jobs_draw(struct app *app, void *st, WINDOW *w, int h, int cols)
{
	if (!jobs) {
		ui_put(w, 1, 2, cols - 4, theme_attr(ROLE_DIM),
		       "No host operations yet: maintenance mode, reboots and updates start from a host (Enter on :hosts) or :updates.");
		return;
	}
	host_jobs_draw(w, 1, h - 1, cols);
}

static const struct screen_key keys[] = {
	{'c', "Cancel", "Cancel a running operation: it stops after the step under way and says what state the hosts "
			"are left in",
	 host_jobs_cancel, host_jobs_running, true},
	{0, NULL, NULL, NULL, NULL, false},
};

const struct screen screen_host_jobs = {
	.name = "jobs",
	.title = "Host operations",
	.keys = keys,
	.enter = jobs_enter,
	.leave = jobs_leave,
	.draw = jobs_draw,
};
