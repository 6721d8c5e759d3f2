/* A backup job's run: its lock, the VMs it takes, one child process per VM
 * (each with its own XenAPI session and repositories, reporting JSON lines
 * on a pipe), the run log, the live progress file and the summary. */
#include "job.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bkutil.h"
#include "healthcheck.h"
#include "run.h"
#include "schedule.h"
#include "report.h"
#include "state.h"
#include "util.h"

#define KILL_GRACE_MS 60000     /* after SIGTERM, how long a VM's process may clean up */
#define PROGRESS_FILE_MS 1000
#define PROGRESS_TTY_MS 250
#define CHILD_NOTE_MS 500

static volatile sig_atomic_t cancelled; /* in a VM's process: stop now */
static volatile sig_atomic_t stopping;  /* in the driver: SIGINT/SIGTERM came */

bool run_cancelled(void)
{
	return cancelled;
}

int64_t run_now(void)
{
	const char *s = getenv("XENTUI_NOW");

	if (s && *s) {
		char *end;
		long long v = strtoll(s, &end, 10);
		if (*end == '\0' && v > 0)
			return v;
	}
	return (int64_t)time(NULL);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool job_due(const struct job_cfg *job, int64_t now)
{
	struct job_state st;
	struct cron c;
	char *err = NULL;
	int64_t base, next;

	if (!job->schedule || !cron_parse(job->schedule, &c, &err)) {
		free(err);
		return false;
	}
	state_job_read(job->name, &st);
	base = st.last_start > st.first_seen ? st.last_start : st.first_seen;
	if (!base) {
		/* first sight: its first run is the schedule's next time from now */
		st.first_seen = now;
		if (!state_job_write(job->name, &st, &err))
			free(err);
		return false;
	}
	next = cron_next(&c, base);
	return next > 0 && next <= now;
}

/* ---- choosing the VMs ------------------------------------------------------------- */

struct vmsel {
	char *ref, *uuid, *name;
	bool running;
	/* the outcome */
	const char *state; /* "pending", "running", "ok", "failed", "skipped" */
	uint64_t bytes, done, total;
	char step[64]; /* what it waits on while no bytes move (run_vm.step), "" when bytes move */
	int64_t started_ms, duration_ms;
	char *error, *note;
	char *warning; /* the point is complete, but something after it failed (retention) */
	char *health;  /* the health check: "passed in 12 s" / "failed: <reason>" (healthcheck.c) */
};

static bool has_tag(const struct xv *rec, const char *tag)
{
	const struct xv *tags = xv_struct_get(rec, "tags");

	for (size_t i = 0; i < xv_len(tags); i++)
		if (xv_str(xv_at(tags, i)) && strcmp(xv_str(xv_at(tags, i)), tag) == 0)
			return true;
	return false;
}

static bool flag(const struct xv *rec, const char *key)
{
	bool b = false;

	xv_get_bool(xv_struct_get(rec, key), &b);
	return b;
}

static void add_vm(struct vmsel **v, size_t *n, const char *ref, const struct xv *rec, const char *state,
		   char *error)
{
	struct vmsel *s;

	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	s = &(*v)[(*n)++];
	memset(s, 0, sizeof(*s));
	s->ref = xstrdup(ref ? ref : "");
	s->uuid = xstrdup(rec && bk_field(rec, "uuid") ? bk_field(rec, "uuid") : "");
	s->name = xstrdup(rec && bk_field(rec, "name_label") ? bk_field(rec, "name_label") : "");
	s->running = rec && bk_field(rec, "power_state") && strcmp(bk_field(rec, "power_state"), "Running") == 0;
	s->state = state;
	s->error = error;
}

static int by_vm_name(const void *a, const void *b)
{
	const struct vmsel *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->uuid, y->uuid);
}

/* The job's VMs: named ones, or smart mode's; never templates, snapshots,
 * control domains; VMs tagged xo:no-bak are skipped (and said so). */
static bool select_vms(struct bx *bx, const struct job_cfg *job, struct vmsel **out, size_t *n, char **err)
{
	struct xv *recs = bx_call(bx, "VM.get_all_records", NULL, err, NULL);

	*out = NULL;
	*n = 0;
	if (!recs)
		return false;
	if (job->npools) {
		struct xv *pools = bx_call(bx, "pool.get_all_records", NULL, err, NULL);
		bool mine = false;
		if (!pools) {
			xv_free(recs);
			return false;
		}
		for (size_t i = 0; i < xv_len(pools); i++)
			for (size_t k = 0; k < job->npools; k++) {
				const struct xv *p = xv_value_at(pools, i);
				if ((bk_field(p, "uuid") && strcmp(bk_field(p, "uuid"), job->pools[k]) == 0) ||
				    (bk_field(p, "name_label") && strcmp(bk_field(p, "name_label"), job->pools[k]) == 0))
					mine = true;
			}
		xv_free(pools);
		if (!mine) {
			xv_free(recs);
			return true; /* this server's pool is not one of the job's */
		}
	}
	if (job->nvms) {
		for (size_t k = 0; k < job->nvms; k++) {
			bool found = false;
			for (size_t i = 0; i < xv_len(recs); i++) {
				const struct xv *r = xv_value_at(recs, i);
				const char *uuid = bk_field(r, "uuid"), *name = bk_field(r, "name_label");
				if (flag(r, "is_a_template") || flag(r, "is_a_snapshot") || flag(r, "is_control_domain"))
					continue;
				if (!(uuid && strcmp(uuid, job->vms[k]) == 0) && !(name && strcmp(name, job->vms[k]) == 0))
					continue;
				found = true;
				if (has_tag(r, "xo:no-bak"))
					add_vm(out, n, xv_key_at(recs, i), r, "skipped", xstrdup("tagged xo:no-bak"));
				else
					add_vm(out, n, xv_key_at(recs, i), r, "pending", NULL);
			}
			if (!found) {
				struct xv *r = xv_struct();
				xv_struct_set(r, "name_label", xv_string(job->vms[k]));
				add_vm(out, n, NULL, r, "failed", xasprintf("no VM named '%s' on the pool", job->vms[k]));
				xv_free(r);
			}
		}
	} else {
		for (size_t i = 0; i < xv_len(recs); i++) {
			const struct xv *r = xv_value_at(recs, i);
			bool any = job->ntags == 0;
			if (flag(r, "is_a_template") || flag(r, "is_a_snapshot") || flag(r, "is_control_domain"))
				continue;
			for (size_t k = 0; k < job->ntags; k++)
				any |= has_tag(r, job->tags[k]);
			for (size_t k = 0; k < job->nexclude_tags; k++)
				any &= !has_tag(r, job->exclude_tags[k]);
			if (any && job->power_state &&
			    !(bk_field(r, "power_state") && strcasecmp(bk_field(r, "power_state"), job->power_state) == 0))
				any = false;
			if (!any)
				continue;
			if (has_tag(r, "xo:no-bak"))
				add_vm(out, n, xv_key_at(recs, i), r, "skipped", xstrdup("tagged xo:no-bak"));
			else
				add_vm(out, n, xv_key_at(recs, i), r, "pending", NULL);
		}
	}
	xv_free(recs);
	if (*n)
		qsort(*out, *n, sizeof(**out), by_vm_name);
	return true;
}

static void vms_free(struct vmsel *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].ref);
		free(v[i].uuid);
		free(v[i].name);
		free(v[i].error);
		free(v[i].note);
		free(v[i].warning);
		free(v[i].health);
	}
	free(v);
}

/* ---- one VM, in its own process --------------------------------------------------- */

struct child_ctx {
	int fd;
	int64_t last_note;
};

static void send_line(int fd, struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	char *line = xasprintf("%s\n", s);
	size_t n = strlen(line), off = 0;

	while (off < n) {
		ssize_t w = write(fd, line + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(line);
}

static void child_progress(struct run_vm *v, uint64_t done, uint64_t total)
{
	struct child_ctx *c = v->progress_ud;
	int64_t now = mono_ms();
	struct json_object *o;

	if (now - c->last_note < CHILD_NOTE_MS && done != total)
		return;
	c->last_note = now;
	o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string("progress"));
	json_object_object_add(o, "done", json_object_new_int64((int64_t)done));
	json_object_object_add(o, "total", json_object_new_int64((int64_t)total));
	send_line(c->fd, o);
	json_object_put(o);
}

void run_step(struct run_vm *v, const char *what)
{
	if (v->step)
		v->step(v, what);
}

static void child_step(struct run_vm *v, const char *what)
{
	struct child_ctx *c = v->progress_ud;
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "type", json_object_new_string("step"));
	json_object_object_add(o, "what", json_object_new_string(what));
	send_line(c->fd, o);
	json_object_put(o);
}

/* A point is named by its second: a run in the same second as the newest
 * point (or with a clock set back) takes the second after it, so it never
 * replaces a point or sorts before the one it builds on. */
static int64_t after_newest_point(struct repo **repos, size_t nrepos, const char *vm_uuid, int64_t now)
{
	char *dir = xasprintf("xo-vm-backups/%s", vm_uuid), newest[17] = "", ts[17];

	for (size_t i = 0; i < nrepos; i++) {
		struct repo_entry *e = NULL;
		size_t n = 0;
		char *err = NULL;
		if (!repo_list(repos[i], dir, &e, &n, &err)) {
			free(err);
			continue;
		}
		for (size_t k = 0; k < n; k++) {
			size_t len = strlen(e[k].name);
			if (!e[k].is_dir && len == 21 && strcmp(e[k].name + 16, ".json") == 0
			    && strncmp(e[k].name, newest, 16) > 0)
				snprintf(newest, sizeof(newest), "%.16s", e[k].name);
		}
		repo_entries_free(e, n);
	}
	free(dir);
	point_ts(now, ts);
	if (*newest && strcmp(ts, newest) <= 0) {
		struct tm tm;
		memset(&tm, 0, sizeof(tm));
		if (strptime(newest, "%Y%m%dT%H%M%SZ", &tm))
			return (int64_t)timegm(&tm) + 1;
	}
	return now;
}

static void on_term(int sig)
{
	cancelled = 1;
}

static bool power_call(struct bx *bx, const char *method, const char *vm, int timeout, char **err)
{
	struct xv *p = xv_array();
	char *r;

	xv_array_push(p, xv_string(vm));
	if (strcmp(method, "VM.start") == 0) {
		xv_array_push(p, xv_bool(false));
		xv_array_push(p, xv_bool(false));
	}
	r = bx_call_async(bx, method, p, timeout, err);
	free(r);
	return r != NULL;
}

/* Backs up one VM; the outcome as the last JSON line on fd. Never returns. */
static void child_main(int fd, const struct job_run_opts *o, const struct vmsel *vm, int64_t now)
{
	const struct job_cfg *job = o->job;
	struct child_ctx cc = {fd, 0};
	struct run_vm v;
	struct repo **repos = xcalloc(job->nremotes + 1, sizeof(*repos));
	size_t nrepos = 0;
	struct json_object *res = json_object_new_object();
	char *err = NULL, *warn = NULL, *health = NULL;
	bool ok = false, stopped = false;
	int timeout = job->timeout_s > 0 ? job->timeout_s : 3600;
	struct bx *bx;

	signal(SIGINT, SIG_IGN); /* the driver passes an interrupt on as SIGTERM */
	signal(SIGTERM, on_term);
	/* a driver killed outright stops its VMs' backups too (they clean up on SIGTERM) */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		raise(SIGTERM);
	memset(&v, 0, sizeof(v));
	bx = bx_connect(o->xo, &err);
	if (!bx)
		goto report;
	if (job->mode != BMODE_SNAPSHOT)
		for (size_t i = 0; i < job->nremotes; i++) {
			const struct remote_cfg *rc = backup_cfg_remote(o->bc, job->remotes[i]);
			if (!(repos[nrepos] = repo_open(rc, &err)))
				goto report;
			nrepos++;
		}
	if (job->offline && vm->running) {
		char *why = NULL;
		if (!power_call(bx, "VM.clean_shutdown", vm->ref, timeout, &why)) {
			err = xasprintf("cannot shut %s down for an offline backup: %s", vm->name, why);
			free(why);
			goto report;
		}
		stopped = true;
	}
	v.bx = bx;
	v.job = job;
	v.repos = repos;
	v.nrepos = nrepos;
	v.vm_ref = vm->ref;
	v.vm_uuid = vm->uuid;
	v.vm_name = vm->name;
	v.now = after_newest_point(repos, nrepos, vm->uuid, now);
	point_ts(v.now, v.ts);
	v.progress = child_progress;
	v.step = child_step;
	v.progress_ud = &cc;
	/* replication: the target gets a session of its own (disks stream both ways at once) */
	if ((job->mode == BMODE_DR || job->mode == BMODE_CR) &&
	    !(v.target = bx_connect(o->target_xo ? o->target_xo : o->xo, &err))) {
		char *e2 = xasprintf("cannot reach the target pool '%s': %s",
				     job->target_server ? job->target_server : job->server, err);
		free(err);
		err = e2;
		goto report;
	}
	switch (job->mode) {
	case BMODE_DR:
	case BMODE_CR: ok = mode_replicate_vm(&v); break;
	case BMODE_SNAPSHOT: ok = mode_snapshot_vm(&v); break;
	case BMODE_FULL: ok = mode_full_vm(&v); break;
	case BMODE_DELTA: ok = mode_delta_vm(&v); break;
	default: v.error = xstrdup("metadata backups are not per VM"); break;
	}
	if (!ok)
		err = v.error ? xstrdup(v.error) : xstrdup("failed for an unknown reason");
	/* retention only once the new point is complete */
	for (size_t i = 0; ok && i < nrepos; i++) {
		char *why = NULL;
		if (!retention_apply(repos[i], job, vm->uuid, &why)) {
			char *old = warn;
			warn = xasprintf("%s%sretention on '%s': %s", old ? old : "", old ? "; " : "", repo_name(repos[i]),
					 why ? why : "?");
			free(old);
		}
		free(why);
	}
	if (stopped) {
		char *why = NULL;
		if (!power_call(bx, "VM.start", vm->ref, timeout, &why)) {
			char *e2 = xasprintf("%s; %s could not be started again: %s", ok ? "backed up" : err, vm->name, why);
			free(err);
			err = e2;
			ok = false;
		}
		free(why);
	}
	/* the new point boots, as XO checks it; a failed check fails the VM */
	if (ok && (nrepos || v.target) && healthcheck_wanted(bx, job, vm->ref) &&
	    !(v.target ? healthcheck_replica(v.target, job, vm->uuid, vm->name, &health)
		       : healthcheck_run(bx, job, repos[0], vm->uuid, vm->name, &health))) {
		err = xasprintf("backed up, but the health check %s", health);
		ok = false;
	}
report:
	json_object_object_add(res, "type", json_object_new_string("result"));
	json_object_object_add(res, "ok", json_object_new_boolean(ok));
	json_object_object_add(res, "bytes", json_object_new_int64((int64_t)v.bytes));
	if (err)
		json_object_object_add(res, "error", json_object_new_string(err));
	if (v.note)
		json_object_object_add(res, "note", json_object_new_string(v.note));
	if (warn)
		json_object_object_add(res, "warning", json_object_new_string(warn));
	if (health)
		json_object_object_add(res, "health", json_object_new_string(health));
	send_line(fd, res);
	close(fd);
	/* no frees: the process ends here, and exit handlers of the parent's
	 * libraries must not run twice */
	for (size_t i = 0; i < nrepos; i++)
		repo_close(repos[i]);
	if (v.target && v.target != bx)
		bx_close(v.target);
	bx_close(bx);
	_exit(0);
}

/* ---- the driver ------------------------------------------------------------------- */

struct child {
	pid_t pid;
	int fd;
	size_t vm;
	int64_t term_at;
	bool timed_out;
	bool got_result;
	struct buf line;
};

static void on_stop(int sig)
{
	stopping = 1;
}

static void fmt_duration(int64_t ms, char out[24])
{
	int64_t s = ms / 1000;

	if (s >= 3600)
		snprintf(out, 24, "%lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60), (long long)(s % 60));
	else
		snprintf(out, 24, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
}

static void read_result(struct vmsel *vm, struct child *c, const char *line)
{
	struct json_object *o = json_tokener_parse(line), *x;
	const char *type = o ? bk_jstr(o, "type") : NULL;

	if (!type) {
		json_object_put(o);
		return;
	}
	if (strcmp(type, "step") == 0) {
		snprintf(vm->step, sizeof(vm->step), "%s", bk_jstr(o, "what") ? bk_jstr(o, "what") : "");
	} else if (strcmp(type, "progress") == 0) {
		if (json_object_object_get_ex(o, "done", &x)) {
			uint64_t d = (uint64_t)json_object_get_int64(x);
			if (d > vm->done)
				vm->step[0] = '\0'; /* bytes move again: the wait is over */
			vm->done = d;
		}
		if (json_object_object_get_ex(o, "total", &x))
			vm->total = (uint64_t)json_object_get_int64(x);
	} else if (strcmp(type, "result") == 0) {
		c->got_result = true;
		vm->state = json_object_object_get_ex(o, "ok", &x) && json_object_get_boolean(x) ? "ok" : "failed";
		if (json_object_object_get_ex(o, "bytes", &x))
			vm->bytes = (uint64_t)json_object_get_int64(x);
		free(vm->error);
		vm->error = bk_jstr(o, "error") ? xstrdup(bk_jstr(o, "error")) : NULL;
		free(vm->note);
		vm->note = bk_jstr(o, "note") ? xstrdup(bk_jstr(o, "note")) : NULL;
		free(vm->warning);
		vm->warning = bk_jstr(o, "warning") ? xstrdup(bk_jstr(o, "warning")) : NULL;
		free(vm->health);
		vm->health = bk_jstr(o, "health") ? xstrdup(bk_jstr(o, "health")) : NULL;
	}
	json_object_put(o);
}

static void progress_file(const struct job_run_opts *o, int64_t start, const struct vmsel *vms, size_t n)
{
	struct json_object *p = json_object_new_object(), *arr = json_object_new_array();

	json_object_object_add(p, "job", json_object_new_string(o->job->name));
	json_object_object_add(p, "mode", json_object_new_string(bmode_name(o->job->mode)));
	json_object_object_add(p, "pid", json_object_new_int64((int64_t)getpid()));
	json_object_object_add(p, "start", json_object_new_int64(start));
	for (size_t i = 0; i < n; i++) {
		struct json_object *v = json_object_new_object();
		json_object_object_add(v, "uuid", json_object_new_string(vms[i].uuid));
		json_object_object_add(v, "name", json_object_new_string(vms[i].name));
		json_object_object_add(v, "state", json_object_new_string(vms[i].state));
		json_object_object_add(v, "done", json_object_new_int64((int64_t)vms[i].done));
		json_object_object_add(v, "total", json_object_new_int64((int64_t)vms[i].total));
		if (vms[i].step[0])
			json_object_object_add(v, "step", json_object_new_string(vms[i].step));
		json_object_array_add(arr, v);
	}
	json_object_object_add(p, "vms", arr);
	state_progress_write(o->job->name, json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN));
	json_object_put(p);
}

/* One line on stderr (a terminal): each running VM's bytes, rate, time left. */
static void progress_tty(const struct vmsel *vms, size_t n, int64_t now)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "\r\033[K");
	for (size_t i = 0; i < n; i++) {
		char h[24], r[24];
		double secs = (double)(now - vms[i].started_ms) / 1000.0;
		double rate = secs > 0.5 ? (double)vms[i].done / secs : 0;
		if (strcmp(vms[i].state, "running") != 0)
			continue;
		bk_human(vms[i].done, h);
		bk_human((uint64_t)rate, r);
		if (vms[i].step[0] && !vms[i].done) {
			buf_printf(&b, "%s%s: %s", b.len > 4 ? " | " : "", vms[i].name, vms[i].step);
			continue;
		}
		buf_printf(&b, "%s%s: %s, %s/s", b.len > 4 ? " | " : "", vms[i].name, h, r);
		if (vms[i].step[0]) {
			buf_printf(&b, ", %s", vms[i].step);
		} else if (vms[i].total > vms[i].done && rate > 0) {
			char left[24];
			fmt_duration((int64_t)((double)(vms[i].total - vms[i].done) / rate * 1000), left);
			buf_printf(&b, ", %s left", left);
		}
	}
	fputs(b.data, stderr);
	fflush(stderr);
	buf_free(&b);
}

static void finish_child(struct child *c, struct vmsel *vm, bool tty, int timeout_s)
{
	int status = 0;
	char h[24], d[24];

	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	close(c->fd);
	buf_free(&c->line);
	vm->duration_ms = mono_ms() - vm->started_ms;
	if (!c->got_result) {
		vm->state = "failed";
		free(vm->error);
		if (WIFSIGNALED(status))
			vm->error = xasprintf("the backup of %s stopped on signal %d%s", vm->name, WTERMSIG(status),
					      c->timed_out ? " after the job's timeout" : "");
		else
			vm->error = xasprintf("the backup of %s ended without saying how (exit status %d)", vm->name,
					      WEXITSTATUS(status));
	} else if (c->timed_out && strcmp(vm->state, "failed") == 0) {
		char *e = xasprintf("%s after the job's timeout (%d s)", vm->error ? vm->error : "stopped", timeout_s);
		free(vm->error);
		vm->error = e;
	}
	bk_human(vm->bytes, h);
	fmt_duration(vm->duration_ms, d);
	if (tty)
		fputs("\r\033[K", stderr);
	if (strcmp(vm->state, "ok") == 0) {
		if (tty)
			fprintf(stderr, "%s: ok, %s in %s%s%s%s\n", vm->name, h, d, vm->note ? " (" : "",
				vm->note ? vm->note : "", vm->note ? ")" : "");
	} else {
		fprintf(stderr, "xentui: %s: %s\n", vm->name, vm->error ? vm->error : "failed");
	}
	if (tty && vm->health && strcmp(vm->state, "ok") == 0)
		fprintf(stderr, "%s: health check %s\n", vm->name, vm->health);
	/* said always, not only on a terminal: cron mails what a run prints */
	if (vm->warning)
		fprintf(stderr, "xentui: %s: warning: %s\n", vm->name, vm->warning);
}

/* Runs children for the pending VMs, concurrency at once. */
static void run_children(const struct job_run_opts *o, struct vmsel *vms, size_t n, int64_t now, int64_t start)
{
	const struct job_cfg *job = o->job;
	/* one pollfd per child: more than 64 at once would only thrash the pool */
	int conc = job->concurrency > 64 ? 64 : job->concurrency;
	struct child *kids = xcalloc((size_t)conc + 1, sizeof(*kids));
	size_t next = 0;
	int running = 0;
	int64_t last_file = 0, last_tty = 0;

	for (;;) {
		struct pollfd pfd[64];
		int np = 0;
		int64_t t;

		while (!stopping && running < conc && next < n) {
			int p[2];
			pid_t pid;
			size_t i = next++;
			if (strcmp(vms[i].state, "pending") != 0)
				continue;
			if (pipe2(p, O_CLOEXEC) != 0) {
				vms[i].state = "failed";
				vms[i].error = xasprintf("cannot start the backup of %s: %s", vms[i].name, strerror(errno));
				continue;
			}
			fflush(stdout);
			fflush(stderr);
			pid = fork();
			if (pid == 0) {
				close(p[0]);
				for (int k = 0; k < conc; k++)
					if (kids[k].pid)
						close(kids[k].fd);
				child_main(p[1], o, &vms[i], now);
			}
			close(p[1]);
			if (pid < 0) {
				close(p[0]);
				vms[i].state = "failed";
				vms[i].error = xasprintf("cannot start the backup of %s: %s", vms[i].name, strerror(errno));
				continue;
			}
			for (int k = 0; k < conc; k++)
				if (!kids[k].pid) {
					memset(&kids[k], 0, sizeof(kids[k]));
					kids[k].pid = pid;
					kids[k].fd = p[0];
					kids[k].vm = i;
					buf_init(&kids[k].line);
					break;
				}
			vms[i].state = "running";
			vms[i].started_ms = mono_ms();
			running++;
		}
		if (!running)
			break;
		for (int k = 0; k < conc && np < 64; k++)
			if (kids[k].pid) {
				pfd[np].fd = kids[k].fd;
				pfd[np].events = POLLIN;
				pfd[np].revents = 0;
				np++;
			}
		poll(pfd, (nfds_t)np, 250);
		for (int k = 0; k < conc; k++) {
			struct child *c = &kids[k];
			char buf[4096];
			ssize_t r;
			bool readable = false;
			if (!c->pid)
				continue;
			for (int q = 0; q < np; q++)
				if (pfd[q].fd == c->fd && pfd[q].revents)
					readable = true;
			if (!readable)
				continue;
			r = read(c->fd, buf, sizeof(buf));
			if (r < 0 && errno == EINTR)
				continue;
			if (r > 0) {
				char *nl;
				buf_append(&c->line, buf, (size_t)r);
				buf_putc(&c->line, '\0');
				c->line.len--;
				while ((nl = memchr(c->line.data, '\n', c->line.len))) {
					size_t len = (size_t)(nl - c->line.data) + 1;
					*nl = '\0';
					read_result(&vms[c->vm], c, c->line.data);
					memmove(c->line.data, c->line.data + len, c->line.len - len);
					c->line.len -= len;
				}
				continue;
			}
			finish_child(c, &vms[c->vm], o->show_progress, job->timeout_s);
			c->pid = 0;
			running--;
		}
		t = mono_ms();
		for (int k = 0; k < conc; k++) {
			struct child *c = &kids[k];
			if (!c->pid)
				continue;
			if (!c->term_at && (stopping || (job->timeout_s > 0 &&
							 t - vms[c->vm].started_ms > (int64_t)job->timeout_s * 1000))) {
				c->timed_out = !stopping;
				c->term_at = t;
				kill(c->pid, SIGTERM);
			} else if (c->term_at && t - c->term_at > KILL_GRACE_MS) {
				kill(c->pid, SIGKILL);
			}
		}
		if (t - last_file >= PROGRESS_FILE_MS) {
			last_file = t;
			progress_file(o, start, vms, n);
		}
		if (o->show_progress && t - last_tty >= PROGRESS_TTY_MS) {
			last_tty = t;
			progress_tty(vms, n, t);
		}
	}
	for (size_t i = next; i < n; i++)
		if (strcmp(vms[i].state, "pending") == 0) {
			vms[i].state = "failed";
			vms[i].error = xstrdup("not started: the run was interrupted");
		}
	free(kids);
}

static struct json_object *run_record(const struct job_cfg *job, int64_t start, int64_t end, const char *result,
				      const char *error, const struct vmsel *vms, size_t n, uint64_t bytes)
{
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();

	json_object_object_add(o, "job", json_object_new_string(job->name));
	json_object_object_add(o, "job_id", json_object_new_string(job->id));
	json_object_object_add(o, "mode", json_object_new_string(bmode_name(job->mode)));
	json_object_object_add(o, "start", json_object_new_int64(start));
	json_object_object_add(o, "end", json_object_new_int64(end));
	json_object_object_add(o, "result", json_object_new_string(result));
	json_object_object_add(o, "bytes", json_object_new_int64((int64_t)bytes));
	if (error)
		json_object_object_add(o, "error", json_object_new_string(error));
	for (size_t i = 0; i < n; i++) {
		struct json_object *v = json_object_new_object();
		json_object_object_add(v, "uuid", json_object_new_string(vms[i].uuid));
		json_object_object_add(v, "name", json_object_new_string(vms[i].name));
		json_object_object_add(v, "state", json_object_new_string(vms[i].state));
		json_object_object_add(v, "bytes", json_object_new_int64((int64_t)vms[i].bytes));
		json_object_object_add(v, "duration", json_object_new_double((double)vms[i].duration_ms / 1000.0));
		json_object_object_add(v, "error", vms[i].error ? json_object_new_string(vms[i].error) : NULL);
		if (vms[i].note)
			json_object_object_add(v, "note", json_object_new_string(vms[i].note));
		if (vms[i].warning)
			json_object_object_add(v, "warning", json_object_new_string(vms[i].warning));
		if (vms[i].health)
			json_object_object_add(v, "health_check", json_object_new_string(vms[i].health));
		json_object_array_add(arr, v);
	}
	json_object_object_add(o, "vms", arr);
	return o;
}

int job_run(const struct job_run_opts *o, char **err)
{
	const struct job_cfg *job = o->job;
	struct job_state st;
	struct vmsel *vms = NULL;
	size_t n = 0, nok = 0, nfailed = 0, nskipped = 0;
	struct bx *bx = NULL;
	struct repo **repos = xcalloc(job->nremotes + 1, sizeof(*repos));
	size_t nrepos = 0;
	char *why = NULL, h[24], d[24];
	int64_t start, t0 = mono_ms();
	uint64_t bytes = 0;
	size_t mirrored = 0; /* mirror: points copied */
	struct sigaction sa, old_int, old_term;
	struct json_object *rec;
	int lock, rc;

	*err = NULL;
	lock = state_lock(job->name, err);
	if (lock < 0) {
		free(repos);
		return lock == -2 ? JOB_LOCKED : 1;
	}
	start = run_now();
	state_job_read(job->name, &st);
	if (!st.first_seen)
		st.first_seen = start;
	st.last_start = start;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	stopping = 0;
	progress_file(o, start, NULL, 0);

	/* a mirror copies between repositories: no pool involved */
	if (job->mode == BMODE_MIRROR) {
		if (!mode_mirror(o->bc, job, &bytes, &mirrored, &why) && !why)
			why = xstrdup("the mirror failed");
	} else {
		bx = bx_connect(o->xo, &why);
	}
	if (bx && job->mode == BMODE_METADATA) {
		for (size_t i = 0; !why && i < job->nremotes; i++)
			if ((repos[nrepos] = repo_open(backup_cfg_remote(o->bc, job->remotes[i]), &why)))
				nrepos++;
		if (!why && !mode_metadata(bx, job, repos, nrepos, o->bc->path, start, &why) && !why)
			why = xstrdup("the metadata backup failed");
		if (!why)
			bytes = metadata_last_bytes();
	} else if (bx) {
		/* every remote must open before any VM is touched */
		for (size_t i = 0; !why && job->mode != BMODE_SNAPSHOT && i < job->nremotes; i++)
			if ((repos[nrepos] = repo_open(backup_cfg_remote(o->bc, job->remotes[i]), &why)))
				nrepos++;
		if (!why)
			select_vms(bx, job, &vms, &n, &why);
		/* the VMs' processes make their own connections */
		for (size_t i = 0; i < nrepos; i++)
			repo_close(repos[i]);
		nrepos = 0;
		bx_close(bx);
		bx = NULL;
		if (!why)
			run_children(o, vms, n, start, start);
	}
	for (size_t i = 0; i < nrepos; i++)
		repo_close(repos[i]);
	free(repos);
	bx_close(bx);
	if (o->show_progress)
		fputs("\r\033[K", stderr);
	for (size_t i = 0; i < n; i++) {
		bytes += vms[i].bytes;
		if (strcmp(vms[i].state, "ok") == 0)
			nok++;
		else if (strcmp(vms[i].state, "skipped") == 0)
			nskipped++;
		else
			nfailed++;
	}
	rc = why || nfailed ? 1 : 0;
	st.last_end = start + (mono_ms() - t0) / 1000;
	snprintf(st.result, sizeof(st.result), "%s", rc ? "failure" : "success");
	rec = run_record(job, start, st.last_end, st.result, why, vms, n, bytes);
	report_after_run(o->bc, job, rec); /* its outcome goes in the run log too */
	{
		char *e2 = NULL;
		if (!state_log_run(json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN), &e2)) {
			fprintf(stderr, "xentui: %s\n", e2);
			free(e2);
		}
		if (!state_job_write(job->name, &st, &e2)) {
			fprintf(stderr, "xentui: %s\n", e2);
			free(e2);
		}
	}
	json_object_put(rec);
	state_progress_remove(job->name);
	bk_human(bytes, h);
	fmt_duration(mono_ms() - t0, d);
	if (job->mode == BMODE_METADATA)
		printf("job %s: pool metadata, %s, %s in %s\n", job->name, why ? "failed" : "ok", h, d);
	else if (job->mode == BMODE_MIRROR)
		printf("job %s: mirror, %zu point%s copied%s, %s in %s\n", job->name, mirrored, mirrored == 1 ? "" : "s",
		       why ? ", failed" : "", h, d);
	else if (why)
		printf("job %s: failed before any VM was backed up, %s in %s\n", job->name, h, d);
	else
		printf("job %s: %zu VM%s, %zu ok, %zu failed%s%.0zu%s, %s in %s\n", job->name, n, n == 1 ? "" : "s", nok,
		       nfailed, nskipped ? ", " : "", nskipped, nskipped ? " skipped" : "", h, d);
	fflush(stdout);
	if (why)
		*err = xasprintf("job %s: %s", job->name, why);
	free(why);
	vms_free(vms, n);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	state_unlock(lock);
	return rc;
}
