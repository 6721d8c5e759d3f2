/* The backup state folder: locks, last runs, the run log, live progress. */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "util.h"

static void mkdirs(const char *path)
{
	char *p = xstrdup(path);

	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0700);
			*s = '/';
		}
	mkdir(p, 0700);
	free(p);
}

char *state_dir(void)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char *d;

	if (xdg && *xdg)
		d = xasprintf("%s/xentui", xdg);
	else
		d = xasprintf("%s/.local/state/xentui", home && *home ? home : ".");
	mkdirs(d);
	return d;
}

/* A job's name as a file name: anything odd becomes '_'. */
static char *file_part(const char *job)
{
	char *s = xstrdup(job);

	for (char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '_' || *p == '.'))
			*p = '_';
	if (s[0] == '.')
		s[0] = '_';
	return s;
}

static char *state_path(const char *sub, const char *job, const char *suffix)
{
	char *d = state_dir(), *f = file_part(job), *p;

	if (sub) {
		char *dd = xasprintf("%s/%s", d, sub);
		mkdirs(dd);
		free(dd);
		p = xasprintf("%s/%s/%s%s", d, sub, f, suffix);
	} else {
		p = xasprintf("%s/%s%s", d, f, suffix);
	}
	free(d);
	free(f);
	return p;
}

int state_lock(const char *job, char **err)
{
	char *path = state_path("locks", job, ".lock");
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	char pid[32];

	*err = NULL;
	if (fd < 0) {
		*err = xasprintf("cannot make the lock file %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		*err = xasprintf("job %s is already running (pid %s)", job, pid[0] ? pid : "unknown");
		close(fd);
		free(path);
		return -2;
	}
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, strlen(pid), 0) < 0) {
		/* the lock holds anyway; only the pid shown to others is missing */
	}
	free(path);
	return fd;
}

void state_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* the lock goes with it; the file stays for the next run */
}

bool state_job_read(const char *job, struct job_state *st)
{
	char *path = state_path("jobs", job, ".json");
	struct json_object *o = json_object_from_file(path), *v;

	memset(st, 0, sizeof(*st));
	free(path);
	if (!o)
		return false;
	if (json_object_object_get_ex(o, "first_seen", &v))
		st->first_seen = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "last_start", &v))
		st->last_start = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "last_end", &v))
		st->last_end = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "last_result", &v) && json_object_get_string(v))
		snprintf(st->result, sizeof(st->result), "%s", json_object_get_string(v));
	json_object_put(o);
	return true;
}

/* Writes text to path through a temporary file and a rename. */
static bool replace_file(const char *path, const char *text, bool durable, char **err)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t n = strlen(text);
	bool ok = fd >= 0 && write(fd, text, n) == (ssize_t)n && (!durable || fsync(fd) == 0);

	if (fd >= 0 && close(fd) != 0)
		ok = false;
	if (ok && rename(tmp, path) != 0)
		ok = false;
	if (!ok) {
		if (err)
			*err = xasprintf("cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	return ok;
}

bool state_job_write(const char *job, const struct job_state *st, char **err)
{
	char *path = state_path("jobs", job, ".json");
	struct json_object *o = json_object_new_object();
	bool ok;

	json_object_object_add(o, "job", json_object_new_string(job));
	json_object_object_add(o, "first_seen", json_object_new_int64(st->first_seen));
	json_object_object_add(o, "last_start", json_object_new_int64(st->last_start));
	json_object_object_add(o, "last_end", json_object_new_int64(st->last_end));
	json_object_object_add(o, "last_result", json_object_new_string(st->result));
	ok = replace_file(path, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), true, err);
	json_object_put(o);
	free(path);
	return ok;
}

bool state_log_run(const char *json, char **err)
{
	char *d = state_dir(), *path = xasprintf("%s/runs.jsonl", d);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	char *line = xasprintf("%s\n", json);
	size_t n = strlen(line);
	bool ok = fd >= 0 && write(fd, line, n) == (ssize_t)n && fsync(fd) == 0;

	if (!ok)
		*err = xasprintf("cannot append to the run log %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(line);
	free(path);
	free(d);
	return ok;
}

void state_progress_write(const char *job, const char *json)
{
	char *path = state_path(NULL, job, ".progress.json");

	replace_file(path, json, false, NULL);
	free(path);
}

void state_progress_remove(const char *job)
{
	char *path = state_path(NULL, job, ".progress.json");

	unlink(path);
	free(path);
}

void state_due_mark(int64_t t)
{
	char *d = state_dir(), *path = xasprintf("%s/due.json", d), *text;

	text = xasprintf("{\"last_due\":%lld,\"pid\":%ld}", (long long)t, (long)getpid());
	replace_file(path, text, false, NULL);
	free(text);
	free(path);
	free(d);
}

int64_t state_due_last(void)
{
	char *d = state_dir(), *path = xasprintf("%s/due.json", d);
	struct json_object *o = json_object_from_file(path), *v;
	int64_t t = 0;

	if (o && json_object_object_get_ex(o, "last_due", &v))
		t = json_object_get_int64(v);
	json_object_put(o);
	free(path);
	free(d);
	return t;
}

static char *verified_path(void)
{
	char *d = state_dir(), *p = xasprintf("%s/verified.json", d);

	free(d);
	return p;
}

char *state_verified_get(const char *remote, const char *vm_uuid, const char *ts)
{
	char *path = verified_path(), *key = xasprintf("%s/%s/%s", remote, vm_uuid, ts), *out = NULL;
	struct json_object *o = json_object_from_file(path), *v;

	if (o && json_object_object_get_ex(o, key, &v) && json_object_get_string(v))
		out = xstrdup(json_object_get_string(v));
	json_object_put(o);
	free(key);
	free(path);
	return out;
}

void state_verified_set(const char *remote, const char *vm_uuid, const char *ts, const char *result)
{
	char *path = verified_path(), *key = xasprintf("%s/%s/%s", remote, vm_uuid, ts);
	struct json_object *o = json_object_from_file(path);

	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = json_object_new_object();
	}
	if (result)
		json_object_object_add(o, key, json_object_new_string(result));
	else
		json_object_object_del(o, key);
	replace_file(path, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), true, NULL);
	json_object_put(o);
	free(key);
	free(path);
}

char *state_progress_path(const char *job)
{
	return state_path(NULL, job, ".progress.json");
}
