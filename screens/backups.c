/* :backups: the backup jobs of the configuration (run one now), the run
 * log (newest first, running jobs live), the repositories (use, free
 * space, test, browse) and the timer that runs `xentui backup due`. The
 * engine runs as child processes; this screen only reads its state. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "app.h"
#include "backups.h"
#include "backups_jobedit.h"
#include "backups_text.h"
#include "bconfig.h"
#include "dialog.h"
#include "draw.h"
#include "keys.h"
#include "model.h"
#include "pools.h"
#include "schedule.h"
#include "screens.h"
#include "state.h"
#include "table.h"
#include "theme.h"
#include "units.h"
#include "util.h"

#define REFRESH_MS 1000
#define DUE_LATE_S (30 * 60) /* `due` not seen for this long: say the timer is missing */

enum tab { TAB_JOBS, TAB_RUNS, TAB_REPOS, TAB_SCHEDULES, NTABS };
static const char *const tab_names[NTABS] = {"Jobs", "Runs", "Repositories", "Schedules"};

enum { JC_NAME, JC_MODE, JC_VMS, JC_REMOTES, JC_SCHEDULE, JC_NEXT, JC_LAST, JC_AGE };
static const struct table_col job_cols[] = {
	[JC_NAME] = {"JOB", 10, 1, false, false, 0},
	[JC_MODE] = {"MODE", 8, 0, false, false, 0},
	[JC_VMS] = {"VMS", 12, 2, false, false, 2},
	[JC_REMOTES] = {"REMOTES", 10, 1, false, false, 3},
	[JC_SCHEDULE] = {"SCHEDULE", 18, 2, false, false, 1},
	[JC_NEXT] = {"NEXT RUN", 16, 0, false, false, 4},
	[JC_LAST] = {"LAST RUN", 12, 0, false, false, 0},
	[JC_AGE] = {"WHEN", 11, 0, false, false, 1},
};

enum { RC_JOB, RC_STARTED, RC_TOOK, RC_RESULT, RC_VMS, RC_BYTES, RC_ERROR };
static const struct table_col run_cols[] = {
	[RC_JOB] = {"JOB", 10, 1, false, false, 0},
	[RC_STARTED] = {"STARTED", 16, 0, false, true, 0},
	[RC_TOOK] = {"TOOK", 8, 0, true, true, 2},
	[RC_RESULT] = {"RESULT", 12, 0, false, false, 0},
	[RC_VMS] = {"VMS", 9, 0, false, false, 1},
	[RC_BYTES] = {"BYTES", 10, 0, true, true, 0},
	[RC_ERROR] = {"ERROR", 10, 3, false, false, 3},
};

enum { PC_NAME, PC_URL, PC_POINTS, PC_USED, PC_FREE, PC_TEST };
static const struct table_col repo_cols[] = {
	[PC_NAME] = {"REMOTE", 10, 1, false, false, 0},
	[PC_URL] = {"URL", 16, 3, false, false, 2},
	[PC_POINTS] = {"POINTS", 6, 0, true, true, 1},
	[PC_USED] = {"USED", 10, 0, true, false, 0},
	[PC_FREE] = {"FREE", 10, 0, true, false, 0},
	[PC_TEST] = {"TEST", 10, 2, false, false, 1},
};

struct backups {
	struct app *app;
	enum tab tab;
	struct table *tables[NTABS];
	struct backup_cfg bc;
	char *cfg_err;
	struct loop_timer *timer;
	int64_t cfg_mtime;
	int64_t runs_mtime; /* the run log's: a run that ended, from here or from cron */
	bool was_running;
};

/* The file's change time in ns (two saves in one second differ), 0 if none. */
static int64_t file_mtime(const char *path)
{
	struct stat st;

	return path && stat(path, &st) == 0 ? (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec : 0;
}

/* The configuration's backup part, read again when the file changed. */
static void load_cfg(struct backups *s)
{
	const char *path = app_config(s->app)->path;
	int64_t m = file_mtime(path);

	if (m == s->cfg_mtime && (s->bc.path || s->cfg_err))
		return;
	s->cfg_mtime = m;
	backup_cfg_free(&s->bc);
	memset(&s->bc, 0, sizeof(s->bc));
	free(s->cfg_err);
	s->cfg_err = NULL;
	/* no file yet (the demo): no jobs, as for `xentui backup` */
	if (!backup_cfg_load(path && access(path, F_OK) == 0 ? path : NULL, &s->bc, &s->cfg_err))
		memset(&s->bc, 0, sizeof(s->bc));
}

/* A progress file exists for some job (a run from here or from cron). */
static bool any_running(struct backups *s)
{
	for (size_t i = 0; i < s->bc.njobs; i++) {
		struct json_object *p = progress_read(s->bc.jobs[i].name);
		bool live = p && !progress_stale(p);
		json_object_put(p);
		if (live)
			return true;
	}
	return false;
}

static void tick(struct loop *l, void *ud)
{
	struct backups *s = ud;

	char *d = state_dir(), *path = xasprintf("%s/runs.jsonl", d);
	int64_t m = file_mtime(path);
	bool running = bproc_count() > 0 || any_running(s);

	s->timer = loop_timer(l, REFRESH_MS, tick, s);
	/* while a job runs, and once more when it has ended or the log grew */
	if (running || s->was_running || m != s->runs_mtime)
		app_dirty(s->app);
	s->was_running = running;
	s->runs_mtime = m;
	free(path);
	free(d);
}

/* ---- Jobs ---------------------------------------------------------------- */

static void vms_words(const struct job_cfg *j, char *buf, size_t n)
{
	struct buf b;

	buf_init(&b);
	if (j->mode == BMODE_METADATA) {
		buf_puts(&b, "(pool metadata)");
	} else if (j->mode == BMODE_MIRROR) {
		buf_printf(&b, "(every point of %s)", j->source_remote ? j->source_remote : "?");
	} else if (j->nvms) {
		for (size_t i = 0; i < j->nvms; i++) {
			buf_sep(&b, ", ");
			buf_puts(&b, j->vms[i]);
		}
	} else {
		buf_puts(&b, "smart:");
		for (size_t i = 0; i < j->ntags; i++)
			buf_printf(&b, "%s%s", i ? "," : " tags ", j->tags[i]);
		for (size_t i = 0; i < j->nexclude_tags; i++)
			buf_printf(&b, "%s%s", i ? "," : " not ", j->exclude_tags[i]);
		if (j->power_state)
			buf_printf(&b, " %s", j->power_state);
		for (size_t i = 0; i < j->npools; i++)
			buf_printf(&b, "%s%s", i ? "," : " pools ", j->pools[i]);
		if (!j->ntags && !j->nexclude_tags && !j->power_state && !j->npools)
			buf_puts(&b, " every VM");
	}
	snprintf(buf, n, "%s", b.data ? b.data : "");
	buf_free(&b);
}

/* items, ", " between them (the caller frees) */
static char *join(char **items, size_t n)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "");
	for (size_t i = 0; i < n; i++) {
		buf_sep(&b, ", ");
		buf_puts(&b, items[i]);
	}
	return buf_steal(&b);
}

/* Where a job writes: its remotes; dr/cr: the SR (and pool) the replicas go
 * to; mirror: the remote copied from, then to. */
static void targets_words(const struct job_cfg *j, char *buf, size_t n)
{
	char *remotes = join(j->remotes, j->nremotes);

	if (j->mode == BMODE_DR || j->mode == BMODE_CR)
		/* a uuid by its first 8 characters, as the SR lists show them */
		snprintf(buf, n, "to SR %.*s%s%s", j->target_sr && strlen(j->target_sr) == 36 ? 8 : 64,
			 j->target_sr ? j->target_sr : "?", j->target_server ? " of " : "",
			 j->target_server ? j->target_server : "");
	else if (j->mode == BMODE_MIRROR)
		snprintf(buf, n, "%s %s %s", j->source_remote ? j->source_remote : "?", glyph(GLYPH_ARROW), remotes);
	else
		snprintf(buf, n, "%s", remotes);
	free(remotes);
}

static void next_run(const struct job_cfg *j, int64_t now, char *buf, size_t n)
{
	struct cron c;
	char *err = NULL;
	int64_t t;

	if (!j->schedule) {
		snprintf(buf, n, "-");
		return;
	}
	if (!cron_parse(j->schedule, &c, &err)) {
		snprintf(buf, n, "bad schedule");
		free(err);
		return;
	}
	t = cron_next(&c, now);
	if (t < 0)
		snprintf(buf, n, "never");
	else
		time_words(t, buf, n);
}

static void fill_jobs(struct backups *s)
{
	struct table *t = s->tables[TAB_JOBS];
	int64_t now = (int64_t)time(NULL);

	table_clear(t);
	for (size_t i = 0; i < s->bc.njobs; i++) {
		const struct job_cfg *j = &s->bc.jobs[i];
		struct job_state st;
		struct json_object *p = progress_read(j->name);
		char vms[256], remotes[256], sched[128], next[32], last[48], age[32];
		int last_role = -1;
		state_job_read(j->name, &st);
		vms_words(j, vms, sizeof(vms));
		targets_words(j, remotes, sizeof(remotes));
		cron_words(j->schedule, sched, sizeof(sched));
		next_run(j, now, next, sizeof(next));
		if (p && !progress_stale(p)) {
			double f = progress_fraction(p);
			if (f >= 0)
				snprintf(last, sizeof(last), "running %.0f%%", f * 100);
			else
				snprintf(last, sizeof(last), "running");
			last_role = ROLE_WARN;
			age_words(jget_int(p, "start"), now, age, sizeof(age));
		} else {
			snprintf(last, sizeof(last), "%s", st.result[0] ? st.result : st.last_start ? "interrupted" : "never run");
			last_role = strcmp(st.result, "success") == 0 ? ROLE_GOOD : st.result[0] ? ROLE_BAD : ROLE_DIM;
			age_words(st.last_end ? st.last_end : st.last_start, now, age, sizeof(age));
		}
		json_object_put(p);
		{
			struct table_cell cells[] = {
				[JC_NAME] = {j->name, 0, -1},
				[JC_MODE] = {bmode_name(j->mode), 0, -1},
				[JC_VMS] = {vms, 0, -1},
				[JC_REMOTES] = {remotes, 0, -1},
				[JC_SCHEDULE] = {sched, 0, j->schedule ? -1 : (int)ROLE_DIM},
				[JC_NEXT] = {next, 0, -1},
				[JC_LAST] = {last, 0, last_role},
				[JC_AGE] = {age, 0, ROLE_DIM},
			};
			table_put(t, j->name, cells, ROLE_NORMAL, NULL);
		}
	}
}

/* ---- Runs ------------------------------------------------------------------ */

static void fill_runs(struct backups *s)
{
	struct table *t = s->tables[TAB_RUNS];
	struct json_object *runs = runs_read();
	int64_t now = (int64_t)time(NULL);
	size_t n = json_object_array_length(runs);

	table_clear(t);
	for (size_t i = 0; i < s->bc.njobs; i++) {
		struct json_object *p = progress_read(s->bc.jobs[i].name), *vms;
		char key[PATH_MAX], started[32], took[16], result[32], count[24];
		double f;
		if (!p || progress_stale(p)) {
			json_object_put(p);
			continue;
		}
		f = progress_fraction(p);
		snprintf(key, sizeof(key), "live:%s", s->bc.jobs[i].name);
		time_words(jget_int(p, "start"), started, sizeof(started));
		duration_words((double)(now - jget_int(p, "start")), took, sizeof(took));
		snprintf(result, sizeof(result), f >= 0 ? "running %.0f%%" : "running", f * 100);
		json_object_object_get_ex(p, "vms", &vms);
		snprintf(count, sizeof(count), "%zu", vms ? json_object_array_length(vms) : (size_t)0);
		{
			struct table_cell cells[] = {
				[RC_JOB] = {s->bc.jobs[i].name, 0, -1},
				[RC_STARTED] = {started, (double)jget_int(p, "start") + 0.5, -1},
				[RC_TOOK] = {took, (double)(now - jget_int(p, "start")), -1},
				[RC_RESULT] = {result, 0, ROLE_WARN},
				[RC_VMS] = {count, 0, -1},
				[RC_BYTES] = {"", 0, -1},
				[RC_ERROR] = {"", 0, -1},
			};
			table_put(t, key, cells, ROLE_NORMAL, NULL);
		}
		json_object_put(p);
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *r = json_object_array_get_idx(runs, i), *vms;
		char key[32], started[32], took[16], count[24], bytes[24];
		const char *res = jget_str(r, "result");
		size_t nv = 0, okv = 0;
		int64_t st = jget_int(r, "start"), en = jget_int(r, "end");
		if (json_object_object_get_ex(r, "vms", &vms) && json_object_is_type(vms, json_type_array)) {
			nv = json_object_array_length(vms);
			for (size_t k = 0; k < nv; k++) {
				const char *vs = jget_str(json_object_array_get_idx(vms, k), "state");
				if (vs && strcmp(vs, "ok") == 0)
					okv++;
			}
		}
		snprintf(key, sizeof(key), "log:%zu", i);
		time_words(st, started, sizeof(started));
		duration_words((double)(en - st), took, sizeof(took));
		snprintf(count, sizeof(count), "%zu/%zu ok", okv, nv);
		size_format(bytes, sizeof(bytes), (long long)jget_int(r, "bytes"));
		{
			struct table_cell cells[] = {
				[RC_JOB] = {jget_str(r, "job") ? jget_str(r, "job") : "?", 0, -1},
				[RC_STARTED] = {started, (double)st, -1},
				[RC_TOOK] = {took, (double)(en - st), -1},
				[RC_RESULT] = {res ? res : "?", 0, res && strcmp(res, "success") == 0 ? ROLE_GOOD : ROLE_BAD},
				[RC_VMS] = {count, 0, -1},
				[RC_BYTES] = {bytes, (double)jget_int(r, "bytes"), -1},
				[RC_ERROR] = {jget_str(r, "error") ? jget_str(r, "error") : "", 0, ROLE_BAD},
			};
			table_put(t, key, cells, ROLE_NORMAL, NULL);
		}
	}
	json_object_put(runs);
}

/* ---- Repositories ------------------------------------------------------------ */

static size_t points_on(const char *remote)
{
	const struct json_object *pts = bmodel_points();
	size_t n = 0;

	for (size_t i = 0; pts && i < json_object_array_length(pts); i++) {
		const char *r = jget_str(json_object_array_get_idx(pts, i), "remote");
		if (r && strcmp(r, remote) == 0)
			n++;
	}
	return n;
}

static void fill_repos(struct backups *s)
{
	struct table *t = s->tables[TAB_REPOS];

	table_clear(t);
	for (size_t i = 0; i < s->bc.nremotes; i++) {
		const struct remote_cfg *r = &s->bc.remotes[i];
		char count[24], used[32], avail[32];
		const char *test = bmodel_test(r->name);
		size_t np = points_on(r->name);
		snprintf(count, sizeof(count), bmodel_points() ? "%zu" : "", np);
		snprintf(used, sizeof(used), "%s", bmodel_space(r->name, false));
		snprintf(avail, sizeof(avail), "%s", bmodel_space(r->name, true));
		{
			struct table_cell cells[] = {
				[PC_NAME] = {r->name, 0, -1},
				[PC_URL] = {r->url, 0, ROLE_DIM},
				[PC_POINTS] = {count, (double)np, -1},
				[PC_USED] = {used, 0, -1},
				[PC_FREE] = {avail, 0, -1},
				[PC_TEST] = {test, 0,
					     strcmp(test, "ok") == 0 ? ROLE_GOOD : strncmp(test, "testing", 7) == 0 ? ROLE_WARN
										      : ROLE_BAD},
			};
			table_put(t, r->name, cells, ROLE_NORMAL, NULL);
		}
	}
}

/* ---- Schedules --------------------------------------------------------------- */

static bool any_scheduled(const struct backups *s)
{
	for (size_t i = 0; i < s->bc.njobs; i++)
		if (s->bc.jobs[i].schedule)
			return true;
	return false;
}

/* The line about `due`: NULL when all is well (or nothing is scheduled). */
static char *due_warning(const struct backups *s, int64_t now)
{
	int64_t last = state_due_last();
	char when[32], age[32];

	if (!any_scheduled(s))
		return NULL;
	if (!last)
		return xstrdup("No timer has ever run `xentui backup due`: scheduled jobs do not run (see Schedules)");
	if (now - last > DUE_LATE_S) {
		time_words(last, when, sizeof(when));
		age_words(last, now, age, sizeof(age));
		return xasprintf("No timer has run `xentui backup due` since %s (%s): scheduled jobs do not run "
				 "(see Schedules)", when, age);
	}
	return NULL;
}

static void draw_schedules(struct backups *s, WINDOW *w, int y, int h, int cols)
{
	char exe[PATH_MAX], when[32], age[32];
	const char *cfg = app_config(s->app)->path;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int64_t now = (int64_t)time(NULL), last = state_due_last();
	char *warn = due_warning(s, now), *cmd;
	int row = y, end = y + h;
	attr_t a = theme_attr(ROLE_NORMAL), hd = theme_attr(ROLE_HEADER), dim = theme_attr(ROLE_DIM);

	exe[n > 0 ? n : 0] = '\0';
	if (n > 10 && strcmp(exe + n - 10, " (deleted)") == 0)
		exe[n - 10] = '\0'; /* rebuilt or reinstalled since: the path is what a timer runs */
	if (cfg && access(cfg, F_OK) != 0)
		cfg = NULL; /* no file yet: the default, which the timer reads too */
	cmd = xasprintf("%s backup due%s%s", n > 0 ? exe : "xentui", cfg ? " -c " : "", cfg ? cfg : "");
	time_words(last, when, sizeof(when));
	age_words(last, now, age, sizeof(age));
	if (warn) {
		row += ui_wrap(w, row, 2, cols - 4, end - row, theme_attr(ROLE_BAD), warn);
	} else if (last) {
		ui_addf(w, row++, 2, cols - 4, theme_attr(ROLE_GOOD), "`xentui backup due` last ran %s (%s)", when, age);
	} else {
		ui_put(w, row++, 2, cols - 4, dim, "No job has a schedule: jobs run only when started (r on Jobs).");
	}
	row++;
#define LINE(attr, ...) do { if (row < end) ui_addf(w, row++, 2, cols - 4, attr, __VA_ARGS__); } while (0)
	LINE(hd, "%s", "With cron (crontab -e), every 5 minutes:");
	LINE(a, "    */5 * * * * %s", cmd);
	row++;
	LINE(hd, "%s", "Or a systemd user timer (~/.config/systemd/user/, then");
	LINE(hd, "%s", "systemctl --user enable --now xentui-backup.timer):");
	LINE(dim, "%s", "    # xentui-backup.service");
	LINE(a, "%s", "    [Service]");
	LINE(a, "%s", "    Type=oneshot");
	LINE(a, "    ExecStart=%s", cmd);
	LINE(dim, "%s", "    # xentui-backup.timer");
	LINE(a, "%s", "    [Timer]");
	LINE(a, "%s", "    OnCalendar=*:0/5");
	LINE(a, "%s", "    Persistent=true");
	LINE(a, "%s", "    [Install]");
	LINE(a, "%s", "    WantedBy=timers.target");
	row++;
	for (size_t i = 0; i < s->bc.njobs; i++) {
		char words[128], next[32];
		cron_words(s->bc.jobs[i].schedule, words, sizeof(words));
		next_run(&s->bc.jobs[i], now, next, sizeof(next));
		if (s->bc.jobs[i].schedule)
			LINE(a, "%-16s %s (next %s)", s->bc.jobs[i].name, words, next);
		else
			LINE(dim, "%-16s %s", s->bc.jobs[i].name, words);
	}
#undef LINE
	free(cmd);
	free(warn);
}

/* ---- the screen -------------------------------------------------------------- */

static void *backups_enter(struct app *app, const void *arg)
{
	struct backups *s = xcalloc(1, sizeof(*s));

	s->app = app;
	s->tables[TAB_JOBS] = table_new(job_cols, (int)(ARRAY_LEN(job_cols)));
	s->tables[TAB_RUNS] = table_new(run_cols, (int)(ARRAY_LEN(run_cols)));
	s->tables[TAB_REPOS] = table_new(repo_cols, (int)(ARRAY_LEN(repo_cols)));
	table_set_noun(s->tables[TAB_JOBS], "job", "jobs");
	table_set_noun(s->tables[TAB_RUNS], "run", "runs");
	table_set_noun(s->tables[TAB_REPOS], "remote", "remotes");
	table_sort(s->tables[TAB_RUNS], RC_STARTED, true); /* newest first */
	load_cfg(s);
	bmodel_load_points(app, true);
	bmodel_load_space(app, true);
	s->timer = loop_timer(app_loop(app), REFRESH_MS, tick, s);
	return s;
}

static void backups_leave(struct app *app, void *st)
{
	struct backups *s = st;

	if (s->timer)
		loop_timer_cancel(app_loop(app), s->timer);
	for (int i = 0; i < NTABS; i++)
		if (s->tables[i])
			table_free(s->tables[i]);
	backup_cfg_free(&s->bc);
	free(s->cfg_err);
	free(s);
}

static void backups_draw(struct app *app, void *st, WINDOW *w, int h, int cols)
{
	struct backups *s = st;
	int y = 2;
	char *warn;

	load_cfg(s);
	ui_tabs(w, 0, 0, cols, tab_names, NTABS, (int)s->tab);
	if (s->cfg_err) {
		ui_wrap(w, 2, 2, cols - 4, h - 2, theme_attr(ROLE_BAD), s->cfg_err);
		return;
	}
	if (s->tab == TAB_SCHEDULES) {
		draw_schedules(s, w, 2, h - 2, cols);
		return;
	}
	if (s->tab == TAB_JOBS && (warn = due_warning(s, (int64_t)time(NULL)))) {
		ui_put(w, y++, 1, cols - 2, theme_attr(ROLE_WARN), warn);
		free(warn);
	}
	if (s->tab == TAB_JOBS && !s->bc.njobs) {
		ui_wrap(w, y, 2, cols - 4, h - y, theme_attr(ROLE_DIM),
			s->bc.nremotes ? "No backup jobs yet: n makes one (or add `backup_jobs` to the configuration "
					 "file; every key is in config/xentui.conf.example)."
				       : "No backup jobs yet, and no repository to write them to: on Repositories (3), n "
					 "adds one; then n here makes a job (or write `remotes` and `backup_jobs` in the "
					 "configuration file; every key is in config/xentui.conf.example).");
		return;
	}
	if (s->tab == TAB_REPOS && bmodel_points_error()) {
		ui_put(w, y++, 1, cols - 2, theme_attr(ROLE_BAD), bmodel_points_error());
	}
	switch (s->tab) {
	case TAB_JOBS: fill_jobs(s); break;
	case TAB_RUNS: fill_runs(s); break;
	case TAB_REPOS: fill_repos(s); break;
	default: break;
	}
	table_draw(s->tables[s->tab], w, y, 0, h - y, cols, !app_has_dialog(app));
}

static struct table *backups_list(struct app *app, void *st)
{
	struct backups *s = st;

	return s->tab == TAB_SCHEDULES ? NULL : s->tables[s->tab];
}

static void backups_describe(struct app *app, void *st, char *buf, size_t n)
{
	struct backups *s = st;
	int running = bproc_count();

	if (running)
		snprintf(buf, n, "Backups %s %s: %d xentui backup running", glyph(GLYPH_SEP), tab_names[s->tab], running);
	else
		snprintf(buf, n, "Backups %s %s", glyph(GLYPH_SEP), tab_names[s->tab]);
}

static void next_tab(struct app *app, void *st)
{
	struct backups *s = st;

	s->tab = (enum tab)(((int)s->tab + 1) % NTABS);
}

static void prev_tab(struct app *app, void *st)
{
	struct backups *s = st;

	s->tab = (enum tab)(((int)s->tab + NTABS - 1) % NTABS);
}

static bool on_repos(struct app *app, void *st)
{
	return ((struct backups *)st)->tab == TAB_REPOS;
}

static bool on_list(struct app *app, void *st)
{
	struct backups *s = st;

	return s->tab != TAB_SCHEDULES && table_selected(s->tables[s->tab]) != NULL;
}

/* The job's run ended: its summary line, or why it failed. */
static void run_done(struct app *app, int status, const char *out, const char *err, void *ud)
{
	const char *job = ud;
	size_t n = strlen(out);
	const char *line;

	while (n && out[n - 1] == '\n')
		n--;
	line = out + n;
	while (line > out && line[-1] != '\n')
		line--;
	if (status == 0)
		app_message(app, MSG_INFO, "%.*s", (int)(out + n - line), line);
	else {
		size_t m = strlen(err);
		const char *e;
		while (m && err[m - 1] == '\n')
			m--;
		e = err + m;
		while (e > err && e[-1] != '\n')
			e--;
		if (strncmp(e, "xentui: ", 8) == 0)
			e += 8;
		app_message(app, MSG_ERROR, "Backup job %s: %.*s", job,
			    (int)(n ? out + n - line : err + m - e), n && line < out + n ? line : e);
	}
	bmodel_load_points(app, true);
	bmodel_load_space(app, true);
}

static void run_job(struct app *app, void *st)
{
	struct backups *s = st;
	const char *name = table_selected(s->tables[TAB_JOBS]);
	const struct job_cfg *j = name ? backup_cfg_job(&s->bc, name) : NULL;
	struct json_object *p;
	const char *args[3];

	if (!j)
		return;
	if ((p = progress_read(j->name)) && !progress_stale(p)) {
		app_message(app, MSG_INFO, "Backup job %s is already running (pid %lld)", j->name,
			    (long long)jget_int(p, "pid"));
		json_object_put(p);
		return;
	}
	json_object_put(p);
	if (!app_may_change(app, "Run the backup job")) /* the child changes the pool (snapshots) */
		return;
	args[0] = "run";
	args[1] = j->name;
	args[2] = NULL;
	if (bproc_start(app, args, bproc_password(app, j->server), run_done, xstrdup(j->name)) > 0)
		app_message(app, MSG_INFO, "Backup job %s started (progress on Jobs and Runs)", j->name);
}

static void test_done(struct app *app, int status, const char *out, const char *err, void *ud)
{
	const char *remote = ud;
	size_t m = strlen(err);
	const char *e;

	if (status == 0) {
		bmodel_set_test(remote, "ok");
		app_message(app, MSG_INFO, "Remote %s: ok (a file written, read back, listed and deleted)", remote);
		return;
	}
	while (m && err[m - 1] == '\n')
		m--;
	e = err + m;
	while (e > err && e[-1] != '\n')
		e--;
	if (strncmp(e, "xentui: ", 8) == 0)
		e += 8;
	{
		char *why = m ? xstrndup(e, (size_t)(err + m - e)) : xasprintf("the test ended with status %d", status);
		bmodel_set_test(remote, why);
		app_message(app, MSG_ERROR, "Remote %s: %s", remote, why);
		free(why);
	}
}

static void test_remote(struct app *app, void *st)
{
	struct backups *s = st;
	const char *name = table_selected(s->tables[TAB_REPOS]);
	const char *args[3] = {"test", name, NULL};

	if (!name)
		return;
	if (bproc_start(app, args, NULL, test_done, xstrdup(name)) > 0)
		bmodel_set_test(name, "testing...");
}

static bool has_tag(const struct xv *vm, const char *tag)
{
	const struct xv *tags = rec_field(vm, "tags");

	for (size_t i = 0; tags && i < xv_len(tags); i++)
		if (xv_str(xv_at(tags, i)) && strcmp(xv_str(xv_at(tags, i)), tag) == 0)
			return true;
	return false;
}

struct smart {
	const struct job_cfg *job;
	struct buf *b;
	int n;
};

/* A VM the smart-mode rule takes now (as run.c selects them). */
static bool smart_vm(const char *ref, const struct xv *vm, void *ud)
{
	struct smart *sm = ud;
	const struct job_cfg *j = sm->job;
	bool any = j->ntags == 0;

	if (!vm_is_guest(vm))
		return true;
	for (size_t k = 0; k < j->ntags; k++)
		any |= has_tag(vm, j->tags[k]);
	for (size_t k = 0; k < j->nexclude_tags; k++)
		any &= !has_tag(vm, j->exclude_tags[k]);
	if (any && j->power_state && strcasecmp(rec_str(vm, "power_state"), j->power_state) != 0)
		any = false;
	if (any) {
		buf_printf(sm->b, "%s%s%s", sm->n ? ", " : "", rec_str(vm, "name_label"),
			   has_tag(vm, "xo:no-bak") ? " (skipped: xo:no-bak)" : "");
		sm->n++;
	}
	return true;
}

/* "VMs it takes now: a, b" for a smart-mode job, from the server's pool. */
static void smart_preview(struct app *app, const struct job_cfg *j, struct buf *b)
{
	struct pools *ps = app_pools(app);
	struct smart sm = {j, b, 0};

	for (size_t i = 0; i < pools_count(ps); i++) {
		struct pool *p = pools_at(ps, i);
		if (!j->server || strcmp(p->cfg.name, j->server) != 0)
			continue;
		if (!p->cache || !cache_loaded(p->cache)) {
			buf_printf(b, "VMs it takes now: unknown (%s is not connected)\n", j->server);
			return;
		}
		buf_puts(b, "VMs it takes now: ");
		cache_each(p->cache, "VM", smart_vm, &sm);
		buf_puts(b, sm.n ? "\n" : "none\n");
		return;
	}
	buf_printf(b, "VMs it takes now: unknown (%s is not connected)\n", j->server ? j->server : "its server");
}

static void job_details(struct app *app, struct backups *s, const struct job_cfg *j)
{
	struct buf b;
	char vms[256], remotes[256], sched[128], next[32];

	vms_words(j, vms, sizeof(vms));
	targets_words(j, remotes, sizeof(remotes));
	cron_words(j->schedule, sched, sizeof(sched));
	next_run(j, (int64_t)time(NULL), next, sizeof(next));
	buf_init(&b);
	buf_printf(&b, "Server: %s\nMode: %s\nVMs: %s\nRemotes: %s\nSchedule: %s%s%s%s\nNext run: %s\n"
		       "Retention: %d\nConcurrency: %d\n",
		   j->server ? j->server : "", bmode_name(j->mode), vms, remotes, sched, j->schedule ? " (" : "",
		   j->schedule ? j->schedule : "", j->schedule ? ")" : "", next, j->retention, j->concurrency);
	if (j->mode == BMODE_FULL)
		buf_printf(&b, "Compression: %s\n", j->compression ? j->compression : "zstd");
	if (j->mode == BMODE_DELTA) {
		buf_printf(&b, "A full every %d runs\n", j->full_interval);
		buf_printf(&b, "NBD: %s\nPurge snapshot data: %s\n",
			   j->nbd ? "yes (changed blocks over NBD when the pool offers it)" : "no (xapi's VHD stream)",
			   j->purge_snapshot_data ? "yes (the kept snapshot holds only its CBT metadata)" : "no");
	}
	if (j->mode == BMODE_DR || j->mode == BMODE_CR)
		buf_printf(&b, "Replicas: on SR %s of %s, %d kept (p lists them)\n", j->target_sr ? j->target_sr : "?",
			   j->target_server ? j->target_server : j->server ? j->server : "the job's pool", j->retention);
	if (j->hc_sr) {
		buf_printf(&b, "Health check: on SR %s", j->hc_sr);
		for (size_t i = 0; i < j->nhc_tags; i++)
			buf_printf(&b, "%s%s", i ? ", " : ", only VMs tagged ", j->hc_tags[i]);
		buf_printf(&b, " (the guest has %d s to answer)\n", j->hc_timeout_s);
	}
	if (!j->nvms && j->mode != BMODE_METADATA)
		smart_preview(app, j, &b);
	buf_printf(&b, "\nDefined in %s, line %d. r runs it now.", s->bc.path ? s->bc.path : "the configuration",
		   j->line);
	{
		char *title = xasprintf("Backup job %s", j->name);
		app_open_dialog(app, dialog_message(title, b.data));
		free(title);
	}
	buf_free(&b);
}

static void enter_key(struct app *app, void *st)
{
	struct backups *s = st;
	const char *key = s->tab == TAB_SCHEDULES ? NULL : table_selected(s->tables[s->tab]);

	if (!key)
		return;
	if (s->tab == TAB_JOBS) {
		const struct job_cfg *j = backup_cfg_job(&s->bc, key);
		if (j)
			job_details(app, s, j);
	} else if (s->tab == TAB_RUNS) {
		app_push(app, &screen_backup_run, key);
	} else if (s->tab == TAB_REPOS) {
		app_push(app, &screen_backup_points, key);
	}
}

static void reload(struct app *app, void *st)
{
	struct backups *s = st;

	s->cfg_mtime = -1; /* read the configuration again */
	bmodel_load_points(app, true);
	bmodel_load_space(app, true);
	app_message(app, MSG_INFO, "Reading the repositories again");
}

/* n, e and d act on the tab's own kind: a job on Jobs, a remote on Repositories. */
static void new_item(struct app *app, void *st)
{
	struct backups *s = st;

	if (s->tab == TAB_REPOS)
		backup_remote_form(app, &s->bc, NULL);
	else
		backup_job_form(app, &s->bc, NULL);
}

static void edit_item(struct app *app, void *st)
{
	struct backups *s = st;
	const char *name = table_selected(s->tables[s->tab]);

	if (s->tab == TAB_REPOS && name && backup_cfg_remote(&s->bc, name))
		backup_remote_form(app, &s->bc, name);
	else if (s->tab == TAB_JOBS && name && backup_cfg_job(&s->bc, name))
		backup_job_form(app, &s->bc, name);
}

static void delete_item(struct app *app, void *st)
{
	struct backups *s = st;
	const char *name = table_selected(s->tables[s->tab]);

	if (s->tab == TAB_REPOS && name && backup_cfg_remote(&s->bc, name))
		backup_remote_delete(app, &s->bc, name);
	else if (s->tab == TAB_JOBS && name && backup_cfg_job(&s->bc, name))
		backup_job_delete(app, name);
}

static bool job_selected(struct app *app, void *st)
{
	struct backups *s = st;

	return s->tab == TAB_JOBS && table_selected(s->tables[TAB_JOBS]) != NULL;
}

static bool jobs_or_repos(struct app *app, void *st)
{
	struct backups *s = st;

	return s->tab == TAB_JOBS || s->tab == TAB_REPOS;
}

static bool item_selected(struct app *app, void *st)
{
	struct backups *s = st;

	return jobs_or_repos(app, st) && table_selected(s->tables[s->tab]) != NULL;
}

static void replicas(struct app *app, void *st)
{
	struct backups *s = st;
	const char *name = table_selected(s->tables[TAB_JOBS]);
	const struct job_cfg *j = name ? backup_cfg_job(&s->bc, name) : NULL;
	char *arg;

	if (!j)
		return;
	if (j->mode != BMODE_DR && j->mode != BMODE_CR) {
		app_message(app, MSG_ERROR, "Job %s makes no replicas: it is a %s job", j->name, bmode_name(j->mode));
		return;
	}
	arg = xasprintf("%s\n%s\n%s", j->id, j->target_server ? j->target_server : j->server ? j->server : "", j->name);
	app_push(app, &screen_backup_replicas, arg);
	free(arg);
}

static int key_fn(struct app *app, void *st, int key)
{
	struct backups *s = st;

	if (key >= '1' && key < '1' + NTABS) {
		s->tab = (enum tab)(key - '1');
		return EV_HANDLED;
	}
	return EV_IGNORED;
}

static const struct screen_key keys[] = {
	{XK_TAB, "Next tab", "The next tab (also Right, or 1-4 for a tab)", next_tab, NULL, false},
	{XK_RIGHT, "Next tab", "The next tab", next_tab, NULL, false},
	{XK_BTAB, "Prev tab", "The previous tab (also Left)", prev_tab, NULL, false},
	{XK_LEFT, "Prev tab", "The previous tab", prev_tab, NULL, false},
	{XK_ENTER, "Open", "Jobs: the job's settings; Runs: the run, VM by VM (live while it runs); "
			   "Repositories: its restore points",
	 enter_key, on_list, true},
	{'r', "Run now", "Run the selected job now (xentui backup run JOB, in the background)", run_job, job_selected,
	 true},
	{'n', "New", "Jobs: a new backup job; Repositories: a new remote (a form with the configuration's keys)",
	 new_item, jobs_or_repos, true},
	{'e', "Edit", "Edit the selected job or remote (the file's comments and other keys are kept)", edit_item,
	 item_selected, true},
	{'d', "Delete", "Delete the selected job, or a remote no job uses, from the configuration (type its name)",
	 delete_item, item_selected, true},
	{'p', "Replicas", "The selected dr/cr job's replicas, with their date; s starts one", replicas, job_selected,
	 true},
	{'t', "Test", "Test the selected remote: write, read back, list and delete a small file", test_remote, on_repos,
	 true},
	{'u', "Reread", "Read the configuration and the repositories again", reload, NULL, true},
	{0, NULL, NULL, NULL, NULL, false},
};

const struct screen screen_backups = {
	.name = "backups",
	.title = "Backups",
	.keys = keys,
	.enter = backups_enter,
	.leave = backups_leave,
	.draw = backups_draw,
	.key = key_fn,
	.list = backups_list,
	.describe = backups_describe,
};
