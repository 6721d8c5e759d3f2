/* What the Backups screens learnt from their children: the restore points
 * of every remote (`backup list --json`), each remote's use and free space
 * (`backup space --json`), the tests of this session, and which points were
 * verified (kept in the backup state, so a later session still knows). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "app.h"
#include "backups.h"
#include "state.h"
#include "units.h"
#include "util.h"

static struct json_object *points;  /* array, or NULL */
static bool points_loading, points_tried; /* tried: not again unless asked (a failing list would loop) */
static char *points_err;
static struct json_object *space;   /* array, or NULL */
static bool space_loading, space_tried;
static struct json_object *tests;   /* remote -> text */
static struct json_object *verified; /* "remote/vm/ts" -> result ("" never), read once each */

/* The last line of a child's stderr without "xentui: ": the reason, in a sentence. */
static char *reason(const char *err, int status)
{
	const char *end, *start;
	size_t n = err ? strlen(err) : 0;

	while (n && (err[n - 1] == '\n' || err[n - 1] == ' '))
		n--;
	if (!n)
		return xasprintf("xentui backup ended with status %d", status);
	end = err + n;
	start = end;
	while (start > err && start[-1] != '\n')
		start--;
	if (strncmp(start, "xentui: ", 8) == 0)
		start += 8;
	return xstrndup(start, (size_t)(end - start));
}

static void points_done(struct app *app, int status, const char *out, const char *err, void *ud)
{
	struct json_object *j = json_tokener_parse(out);

	points_loading = false;
	free(points_err);
	points_err = NULL;
	if (j && json_object_is_type(j, json_type_array)) {
		json_object_put(points);
		points = j;
		if (status != 0) /* some remote could not be read: the others are listed */
			points_err = reason(err, status);
	} else {
		json_object_put(j);
		points_err = reason(err, status);
	}
}

void bmodel_load_points(struct app *app, bool force)
{
	static const char *const args[] = {"list", "--json", NULL};

	if (points_loading || (points_tried && !force))
		return;
	points_tried = true;
	if (bproc_start(app, args, NULL, points_done, NULL) > 0)
		points_loading = true;
}

const struct json_object *bmodel_points(void)
{
	return points;
}

bool bmodel_points_loading(void)
{
	return points_loading;
}

const char *bmodel_points_error(void)
{
	return points_err;
}

static void space_done(struct app *app, int status, const char *out, const char *err, void *ud)
{
	struct json_object *j = json_tokener_parse(out);

	space_loading = false;
	if (j && json_object_is_type(j, json_type_array)) {
		json_object_put(space);
		space = j;
	} else {
		json_object_put(j);
	}
}

void bmodel_load_space(struct app *app, bool force)
{
	static const char *const args[] = {"space", "--json", NULL};

	if (space_loading || (space_tried && !force))
		return;
	space_tried = true;
	if (bproc_start(app, args, NULL, space_done, NULL) > 0)
		space_loading = true;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

const char *bmodel_space(const char *remote, bool free_space)
{
	static char text[64];

	text[0] = '\0';
	for (size_t i = 0; space && i < json_object_array_length(space); i++) {
		struct json_object *o = json_object_array_get_idx(space, i), *v;
		const char *name = jstr(o, "remote");
		if (!name || strcmp(name, remote) != 0)
			continue;
		if (jstr(o, "error"))
			return free_space ? "" : "unreadable";
		if (!json_object_object_get_ex(o, free_space ? "avail" : "used", &v))
			return free_space ? "unknown" : "";
		size_format(text, sizeof(text), (long long)json_object_get_int64(v));
		return text;
	}
	return space_loading ? "..." : "";
}

const char *bmodel_test(const char *remote)
{
	const char *s = jstr(tests, remote);

	return s ? s : "";
}

void bmodel_set_test(const char *remote, const char *text)
{
	if (!tests)
		tests = json_object_new_object();
	json_object_object_add(tests, remote, json_object_new_string(text));
}

const char *bmodel_verified(const char *remote, const char *vm_uuid, const char *ts)
{
	char *key = xasprintf("%s/%s/%s", remote, vm_uuid, ts);
	const char *s;

	if (!verified)
		verified = json_object_new_object();
	if (!(s = jstr(verified, key))) {
		char *v = state_verified_get(remote, vm_uuid, ts);
		json_object_object_add(verified, key, json_object_new_string(v ? v : ""));
		free(v);
		s = jstr(verified, key);
	}
	free(key);
	return s ? s : "";
}

void bmodel_set_verified(const char *remote, const char *vm_uuid, const char *ts, const char *result)
{
	char *key = xasprintf("%s/%s/%s", remote, vm_uuid, ts);

	state_verified_set(remote, vm_uuid, ts, result);
	if (!verified)
		verified = json_object_new_object();
	json_object_object_add(verified, key, json_object_new_string(result ? result : ""));
	free(key);
}

void bmodel_free(void)
{
	json_object_put(points);
	json_object_put(space);
	json_object_put(tests);
	json_object_put(verified);
	points = space = tests = verified = NULL;
	free(points_err);
	points_err = NULL;
	backup_vm_jobs_free();
}
