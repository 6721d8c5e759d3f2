/* One backup run, VM by VM: state, bytes, rate, duration and the error in a
 * sentence. A running job (from here or from cron) is read live from its
 * progress file, then from the run log once it has ended. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "app.h"
#include "backups.h"
#include "backups_text.h"
#include "dialog.h"
#include "draw.h"
#include "keys.h"
#include "screens.h"
#include "table.h"
#include "theme.h"
#include "units.h"
#include "util.h"

enum { C_VM, C_STATE, C_BYTES, C_RATE, C_TIME, C_HEALTH, C_ERROR };
static const struct table_col cols[] = {
	[C_VM] = {"VM", 12, 1, false, false, 0},
	[C_STATE] = {"STATE", 12, 0, false, false, 0},
	[C_BYTES] = {"BYTES", 20, 0, true, true, 0},
	[C_RATE] = {"RATE", 11, 0, true, true, 2},
	[C_TIME] = {"TIME", 8, 0, true, true, 1},
	[C_HEALTH] = {"HEALTH CHECK", 12, 2, false, false, 2},
	[C_ERROR] = {"ERROR", 12, 3, false, false, 0},
};

struct run_screen {
	char *job;               /* live: the job's name; NULL for a logged run */
	int64_t live_start;      /* the live run's start, to find it in the log after */
	struct json_object *run; /* the logged run, once known */
	struct table *t;
	struct loop_timer *timer;
	struct app *app;
};

static void tick(struct loop *l, void *ud)
{
	struct run_screen *s = ud;

	s->timer = s->job ? loop_timer(l, 1000, tick, s) : NULL;
	app_dirty(s->app);
}

/* The log's entry of the run that started at start, for job. */
static struct json_object *logged(const char *job, int64_t start)
{
	struct json_object *runs = runs_read(), *found = NULL;

	for (size_t i = json_object_array_length(runs); i-- > 0 && !found;) {
		struct json_object *r = json_object_array_get_idx(runs, i);
		const char *j = jget_str(r, "job");
		if (j && strcmp(j, job) == 0 && (!start || jget_int(r, "start") == start))
			found = json_object_get(r);
	}
	json_object_put(runs);
	return found;
}

static void *run_enter(struct app *app, const void *arg)
{
	struct run_screen *s = xcalloc(1, sizeof(*s));
	const char *key = arg;

	s->app = app;
	s->t = table_new(cols, (int)(ARRAY_LEN(cols)));
	table_set_noun(s->t, "VM", "VMs");
	if (strncmp(key, "live:", 5) == 0) {
		struct json_object *p = progress_read(key + 5);
		s->job = xstrdup(key + 5);
		s->live_start = jget_int(p, "start");
		json_object_put(p);
		s->timer = loop_timer(app_loop(app), 1000, tick, s);
	} else if (strncmp(key, "log:", 4) == 0) {
		struct json_object *runs = runs_read();
		size_t i = (size_t)strtoul(key + 4, NULL, 10);
		if (i < json_object_array_length(runs))
			s->run = json_object_get(json_object_array_get_idx(runs, i));
		json_object_put(runs);
	}
	return s;
}

static void run_leave(struct app *app, void *st)
{
	struct run_screen *s = st;

	if (s->timer)
		loop_timer_cancel(app_loop(app), s->timer);
	json_object_put(s->run);
	table_free(s->t);
	free(s->job);
	free(s);
}

static void fill_live(struct run_screen *s, struct json_object *p, int64_t now)
{
	struct json_object *vms;

	table_clear(s->t);
	if (!json_object_object_get_ex(p, "vms", &vms) || !json_object_is_type(vms, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(vms); i++) {
		struct json_object *v = json_object_array_get_idx(vms, i);
		const char *state = jget_str(v, "state"), *name = jget_str(v, "name");
		int64_t done = jget_int(v, "done"), total = jget_int(v, "total");
		const char *step = jget_str(v, "step"); /* what it waits on while no bytes move */
		char bytes[128], d[24], t[24];
		size_format(d, sizeof(d), (long long)done);
		size_format(t, sizeof(t), (long long)total);
		if (total > 0)
			snprintf(bytes, sizeof(bytes), "%s of %s%s%s", d, t, step ? ", " : "", step ? step : "");
		else if (done)
			snprintf(bytes, sizeof(bytes), "%s%s%s", d, step ? ", " : "", step ? step : "");
		else
			snprintf(bytes, sizeof(bytes), "%s", step ? step : "");
		{
			struct table_cell cells[] = {
				[C_VM] = {name && *name ? name : jget_str(v, "uuid"), 0, -1},
				[C_STATE] = {state ? state : "", 0,
					     !state ? -1 : strcmp(state, "ok") == 0 ? ROLE_GOOD
						 : strcmp(state, "failed") == 0 ? ROLE_BAD
						 : strcmp(state, "running") == 0 ? ROLE_WARN : ROLE_DIM},
				[C_BYTES] = {bytes, (double)done, -1},
				[C_RATE] = {"", 0, -1},
				[C_TIME] = {"", 0, -1},
				[C_HEALTH] = {"", 0, -1},
				[C_ERROR] = {"", 0, -1},
			};
			char key[24];
			snprintf(key, sizeof(key), "%zu", i);
			table_put(s->t, key, cells, ROLE_NORMAL, NULL);
		}
	}
	(void)now;
}

static void fill_logged(struct run_screen *s)
{
	struct json_object *vms;

	table_clear(s->t);
	if (!json_object_object_get_ex(s->run, "vms", &vms) || !json_object_is_type(vms, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(vms); i++) {
		struct json_object *v = json_object_array_get_idx(vms, i);
		const char *state = jget_str(v, "state"), *name = jget_str(v, "name"), *err = jget_str(v, "error");
		const char *health = jget_str(v, "health_check");
		double dur = jget_double(v, "duration");
		int64_t b = jget_int(v, "bytes");
		char bytes[24], rate[32], took[16], key[24];
		size_format(bytes, sizeof(bytes), (long long)b);
		if (dur > 0 && b > 0) {
			size_format(rate, sizeof(rate), (long long)((double)b / dur));
			strncat(rate, "/s", sizeof(rate) - strlen(rate) - 1);
		} else {
			rate[0] = '\0';
		}
		duration_words(dur, took, sizeof(took));
		snprintf(key, sizeof(key), "%zu", i);
		{
			struct table_cell cells[] = {
				[C_VM] = {name && *name ? name : jget_str(v, "uuid"), 0, -1},
				[C_STATE] = {state ? state : "", 0,
					     state && strcmp(state, "ok") == 0 ? ROLE_GOOD : ROLE_BAD},
				[C_BYTES] = {bytes, (double)b, -1},
				[C_RATE] = {rate, dur > 0 ? (double)b / dur : 0, -1},
				[C_TIME] = {took, dur, -1},
				/* "passed in 3 s" / "failed: <reason>" (healthcheck.c) */
				[C_HEALTH] = {health ? health : "", 0,
					      !health ? -1 : strncmp(health, "passed", 6) == 0 ? (int)ROLE_GOOD : (int)ROLE_BAD},
				[C_ERROR] = {err ? err : jget_str(v, "warning") ? jget_str(v, "warning") : "", 0,
					     err ? (int)ROLE_BAD : (int)ROLE_WARN},
			};
			table_put(s->t, key, cells, ROLE_NORMAL, jget_str(v, "note"));
		}
	}
}

static void run_draw(struct app *app, void *st, WINDOW *w, int h, int cols_)
{
	struct run_screen *s = st;
	int64_t now = (int64_t)time(NULL);
	char started[32], took[16], bytes[24];
	int y = 0;

	if (s->job && !s->run) {
		struct json_object *p = progress_read(s->job);
		if (p && !progress_stale(p) && (!s->live_start || jget_int(p, "start") == s->live_start)) {
			double f = progress_fraction(p);
			time_words(jget_int(p, "start"), started, sizeof(started));
			duration_words((double)(now - jget_int(p, "start")), took, sizeof(took));
			char pct[16] = "";
			if (f >= 0)
				snprintf(pct, sizeof(pct), " %.0f%%", f * 100);
			ui_addf(w, y++, 1, cols_ - 2, theme_attr(ROLE_WARN), "Running%s since %s (%s), pid %lld", pct,
				started, took, (long long)jget_int(p, "pid"));
			fill_live(s, p, now);
			json_object_put(p);
			y++;
			table_draw(s->t, w, y, 0, h - y, cols_, !app_has_dialog(app));
			return;
		}
		json_object_put(p);
		s->run = logged(s->job, s->live_start); /* it has ended: its record */
		if (!s->run) {
			ui_put(w, 1, 2, cols_ - 4, theme_attr(ROLE_DIM), "The run has ended; its record is not in the log yet.");
			return;
		}
	}
	if (!s->run) {
		ui_put(w, 1, 2, cols_ - 4, theme_attr(ROLE_BAD), "This run is no longer in the run log.");
		return;
	}
	{
		const char *res = jget_str(s->run, "result"), *err = jget_str(s->run, "error");
		int64_t st0 = jget_int(s->run, "start"), en = jget_int(s->run, "end");
		time_words(st0, started, sizeof(started));
		duration_words((double)(en - st0), took, sizeof(took));
		size_format(bytes, sizeof(bytes), (long long)jget_int(s->run, "bytes"));
		ui_addf(w, y++, 1, cols_ - 2,
			theme_attr(res && strcmp(res, "success") == 0 ? ROLE_GOOD : ROLE_BAD),
			"%s: started %s, took %s, %s written (%s)", res ? res : "?", started, took, bytes,
			jget_str(s->run, "mode") ? jget_str(s->run, "mode") : "");
		if (err)
			y += ui_wrap(w, y, 1, cols_ - 2, 3, theme_attr(ROLE_BAD), err);
		/* the e-mailed report (report.c): sent, or why not */
		if (jget_str(s->run, "report_error"))
			ui_addf(w, y++, 1, cols_ - 2, theme_attr(ROLE_BAD), "Report not sent: %s",
				jget_str(s->run, "report_error"));
		else if (jget_str(s->run, "report"))
			ui_addf(w, y++, 1, cols_ - 2, theme_attr(ROLE_DIM), "Report: %s", jget_str(s->run, "report"));
	}
	fill_logged(s);
	y++;
	table_draw(s->t, w, y, 0, h - y, cols_, !app_has_dialog(app));
}

static struct table *run_list(struct app *app, void *st)
{
	return ((struct run_screen *)st)->t;
}

static void run_describe(struct app *app, void *st, char *buf, size_t n)
{
	struct run_screen *s = st;
	const char *job = s->job ? s->job : jget_str(s->run, "job");

	snprintf(buf, n, "Backups %s run of %s%s", glyph(GLYPH_SEP), job ? job : "?",
		 s->job && !s->run ? " (running)" : "");
}

static void k_enter(struct app *app, void *st)
{
	struct run_screen *s = st;
	const char *key = table_selected(s->t);
	struct json_object *vms, *v;
	char *text;

	if (!key || !s->run || !json_object_object_get_ex(s->run, "vms", &vms) ||
	    !(v = json_object_array_get_idx(vms, (size_t)strtoul(key, NULL, 10))))
		return;
	text = xasprintf("%s (%s)\n\nState: %s\n%s%s%s%s%s%s%s%s", jget_str(v, "name") ? jget_str(v, "name") : "",
			 jget_str(v, "uuid") ? jget_str(v, "uuid") : "", jget_str(v, "state") ? jget_str(v, "state") : "",
			 jget_str(v, "note") ? "How: " : "", jget_str(v, "note") ? jget_str(v, "note") : "",
			 jget_str(v, "note") ? "\n" : "", jget_str(v, "error") ? "Error: " : "",
			 jget_str(v, "error") ? jget_str(v, "error") : "",
			 jget_str(v, "warning") ? jget_str(v, "warning") : "",
			 jget_str(v, "health_check") ? "\nHealth check: " : "",
			 jget_str(v, "health_check") ? jget_str(v, "health_check") : "");
	app_open_dialog(app, dialog_message("Backed-up VM", text));
	free(text);
}

static const struct screen_key keys[] = {
	{XK_ENTER, "Details", "The selected VM's outcome in full", k_enter, NULL, true},
	{0, NULL, NULL, NULL, NULL, false},
};

const struct screen screen_backup_run = {
	.name = "backup-run",
	.title = "Backup run",
	.keys = keys,
	.enter = run_enter,
	.leave = run_leave,
	.draw = run_draw,
	.list = run_list,
	.describe = run_describe,
};
