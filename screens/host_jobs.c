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
#include "keys.h"
#include "model.h"
#include "progress.h"
#include "screens.h"
#include "util.h"

enum stage {
	ST_SAVE,     /* remember the running VMs in other_config */
	ST_DISABLE,
	ST_EVACUATE,
	ST_UPDATE,   /* updater.py update */
	ST_REBOOT,
	ST_WAIT,     /* until the host is back: live, enabled, a new boot_time */
	ST_ENABLE,
	ST_RETURN,   /* migrate the remembered VMs back */
	ST_CLEAR,    /* forget them */
	ST_SHUTDOWN,
	ST_END,
};

static const char *const stage_names[] = {
	"remember VMs", "disable", "evacuate", "install updates", "reboot", "wait for it", "enable",
	"bring VMs back", "leave maintenance", "shut down", "done",
};

static const enum stage seq_enter[] = {ST_SAVE, ST_DISABLE, ST_EVACUATE, ST_END};
static const enum stage seq_exit[] = {ST_ENABLE, ST_RETURN, ST_CLEAR, ST_END};
static const enum stage seq_leave[] = {ST_ENABLE, ST_CLEAR, ST_END};
static const enum stage seq_reboot[] = {ST_SAVE, ST_DISABLE, ST_EVACUATE, ST_REBOOT, ST_WAIT,
					 ST_ENABLE, ST_RETURN, ST_CLEAR, ST_END};
static const enum stage seq_shutdown[] = {ST_SAVE, ST_DISABLE, ST_EVACUATE, ST_SHUTDOWN, ST_END};
static const enum stage seq_rolling[] = {ST_SAVE, ST_DISABLE, ST_EVACUATE, ST_UPDATE, ST_REBOOT, ST_WAIT,
					  ST_ENABLE, ST_RETURN, ST_CLEAR, ST_END};

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

static void next_step(struct job *j)
{
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
	if (op->state != OP_DONE) {
		fail(j, op->message && *op->message ? op->message : "cancelled");
		return;
	}
	if (j->seq[j->step] == ST_RETURN) {
		j->vm_i++;
		step(j);
		return;
	}
	if (j->seq[j->step] == ST_UPDATE)
		host_ended(j, cur_host(j)); /* installed: the updater has nothing more to offer */
	next_step(j);
}

static struct xv *params_ref(const char *ref)
{
	struct xv *p = xv_array();

	xv_array_push(p, xv_string(ref));
	return p;
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

void host_job_start(struct app *app, struct pool *p, enum host_job_kind kind, const char *const *hosts, size_t n)
{
	struct job *j;

	if (!p || !p->cache || !n)
		return;
	for (size_t i = 0; i < n; i++)
		if (host_job_busy(p, hosts[i])) {
			app_message(app, MSG_ERROR, "'%s' is already in an operation that has not finished",
				    name_of(p->cache, hosts[i]));
			return;
		}
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
