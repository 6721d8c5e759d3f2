/* Words for the Backups screens, and the engine's state files read back. */
#include "backups_text.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "state.h"
#include "util.h"

static const char *const day_names[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};

static bool number(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	if (!*s)
		return false;
	v = strtol(s, &end, 10);
	if (*end || v < lo || v > hi)
		return false;
	*out = (int)v;
	return true;
}

/* Days of the week: "1-5" "1,3,5" "6" in words, into buf; false if not plain. */
static bool dow_words(const char *f, char *buf, size_t n)
{
	int a, b;
	char tmp[16];
	const char *dash = strchr(f, '-');

	if (dash && !strchr(f, ',')) {
		snprintf(tmp, sizeof(tmp), "%.*s", (int)(dash - f), f);
		if (!number(tmp, 0, 7, &a) || !number(dash + 1, 0, 7, &b))
			return false;
		snprintf(buf, n, "%s to %s", day_names[a % 7], day_names[b % 7]);
		return true;
	}
	buf[0] = '\0';
	for (const char *p = f; *p;) {
		size_t l = strcspn(p, ",");
		snprintf(tmp, sizeof(tmp), "%.*s", (int)(l < 15 ? l : 15), p);
		if (!number(tmp, 0, 7, &a))
			return false;
		snprintf(buf + strlen(buf), n - strlen(buf), "%s%s", buf[0] ? ", " : "", day_names[a % 7]);
		p += l;
		if (*p == ',')
			p++;
	}
	return buf[0] != '\0';
}

/* "02:00", "02:00 and 14:00" for hour list h and minute m; false if not plain. */
static bool at_words(const char *h, int m, char *buf, size_t n)
{
	char tmp[16];
	int v;

	buf[0] = '\0';
	for (const char *p = h; *p;) {
		size_t l = strcspn(p, ",");
		snprintf(tmp, sizeof(tmp), "%.*s", (int)(l < 15 ? l : 15), p);
		if (!number(tmp, 0, 23, &v))
			return false;
		p += l;
		if (*p == ',')
			p++;
		snprintf(buf + strlen(buf), n - strlen(buf), "%s%02d:%02d", buf[0] ? (*p ? ", " : " and ") : "", v, m);
	}
	return buf[0] != '\0';
}

void cron_words(const char *expr, char *buf, size_t n)
{
	char f[5][32], at[96], days[96];
	int m, k, d;

	if (!expr || !*expr) {
		snprintf(buf, n, "on demand only");
		return;
	}
	if (strcmp(expr, "@hourly") == 0) {
		snprintf(buf, n, "every hour");
		return;
	}
	if (strcmp(expr, "@daily") == 0 || strcmp(expr, "@midnight") == 0) {
		snprintf(buf, n, "every day at 00:00");
		return;
	}
	if (strcmp(expr, "@weekly") == 0) {
		snprintf(buf, n, "every Sunday at 00:00");
		return;
	}
	if (strcmp(expr, "@monthly") == 0) {
		snprintf(buf, n, "on day 1 of every month at 00:00");
		return;
	}
	if (strcmp(expr, "@yearly") == 0 || strcmp(expr, "@annually") == 0) {
		snprintf(buf, n, "every 1 January at 00:00");
		return;
	}
	if (sscanf(expr, "%31s %31s %31s %31s %31s", f[0], f[1], f[2], f[3], f[4]) != 5)
		goto raw;
	if (strcmp(f[2], "*") == 0 && strcmp(f[3], "*") == 0 && strcmp(f[4], "*") == 0 && strcmp(f[1], "*") == 0) {
		if (strncmp(f[0], "*/", 2) == 0 && number(f[0] + 2, 1, 59, &k)) {
			snprintf(buf, n, k == 1 ? "every minute" : "every %d minutes", k);
			return;
		}
		if (strcmp(f[0], "*") == 0) {
			snprintf(buf, n, "every minute");
			return;
		}
		if (number(f[0], 0, 59, &m)) {
			snprintf(buf, n, "every hour at :%02d", m);
			return;
		}
		goto raw;
	}
	if (!number(f[0], 0, 59, &m) || strcmp(f[3], "*") != 0)
		goto raw;
	if (strncmp(f[1], "*/", 2) == 0 && number(f[1] + 2, 1, 23, &k) && strcmp(f[2], "*") == 0 &&
	    strcmp(f[4], "*") == 0) {
		snprintf(buf, n, "every %d hours at :%02d", k, m);
		return;
	}
	if (!at_words(f[1], m, at, sizeof(at)))
		goto raw;
	if (strcmp(f[2], "*") == 0 && strcmp(f[4], "*") == 0) {
		snprintf(buf, n, "every day at %s", at);
		return;
	}
	if (strcmp(f[2], "*") == 0 && dow_words(f[4], days, sizeof(days))) {
		snprintf(buf, n, "every %s at %s", days, at);
		return;
	}
	if (strcmp(f[4], "*") == 0 && number(f[2], 1, 31, &d)) {
		snprintf(buf, n, "on day %d of every month at %s", d, at);
		return;
	}
raw:
	snprintf(buf, n, "cron %s", expr);
}

void age_words(int64_t t, int64_t now, char *buf, size_t n)
{
	int64_t s = now - t;

	if (t <= 0)
		snprintf(buf, n, "never");
	else if (s < 60)
		snprintf(buf, n, "just now");
	else if (s < 3600)
		snprintf(buf, n, "%lld min ago", (long long)(s / 60));
	else if (s < 2 * 86400)
		snprintf(buf, n, "%lld h ago", (long long)(s / 3600));
	else
		snprintf(buf, n, "%lld days ago", (long long)(s / 86400));
}

void duration_words(double seconds, char *buf, size_t n)
{
	long long s = (long long)(seconds + 0.5);

	if (s >= 3600)
		snprintf(buf, n, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, n, "%lld:%02lld", s / 60, s % 60);
}

void time_words(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0) {
		snprintf(buf, n, "never");
		return;
	}
	localtime_r(&tt, &tm);
	strftime(buf, n, "%Y-%m-%d %H:%M", &tm);
}

struct json_object *runs_read(void)
{
	char *d = state_dir(), *path = xasprintf("%s/runs.jsonl", d), *line = NULL;
	struct json_object *arr = json_object_new_array();
	size_t cap = 0;
	FILE *f = fopen(path, "r");

	while (f && getline(&line, &cap, f) > 0) {
		struct json_object *o = json_tokener_parse(line);
		if (o && json_object_is_type(o, json_type_object))
			json_object_array_add(arr, o);
		else
			json_object_put(o);
	}
	if (f)
		fclose(f);
	free(line);
	free(path);
	free(d);
	return arr;
}

struct json_object *progress_read(const char *job)
{
	char *path = state_progress_path(job);
	struct json_object *o = json_object_from_file(path);

	free(path);
	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

int progress_stale(struct json_object *p)
{
	int64_t pid = jget_int(p, "pid");

	return pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

double progress_fraction(struct json_object *p)
{
	struct json_object *vms;
	double done = 0, total = 0;

	if (!json_object_object_get_ex(p, "vms", &vms) || !json_object_is_type(vms, json_type_array))
		return -1;
	for (size_t i = 0; i < json_object_array_length(vms); i++) {
		struct json_object *v = json_object_array_get_idx(vms, i);
		const char *st = jget_str(v, "state");
		double t = (double)jget_int(v, "total"), dn = (double)jget_int(v, "done");
		if (st && (strcmp(st, "ok") == 0 || strcmp(st, "failed") == 0 || strcmp(st, "skipped") == 0)) {
			done += 1;
			total += 1;
		} else if (t > 0) {
			done += dn / t > 1 ? 1 : dn / t;
			total += 1;
		} else {
			total += 1;
		}
	}
	return total > 0 ? done / total : -1;
}

const char *jget_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : NULL;
}

int64_t jget_int(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) && v ? json_object_get_int64(v) : 0;
}

double jget_double(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) && v ? json_object_get_double(v) : 0;
}
