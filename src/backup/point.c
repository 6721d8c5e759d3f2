/* Restore points on a repository: XO's .json files, read with json-c. */
#include "point.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "util.h"

#define VM_DIR "xo-vm-backups"
#define JSON_MAX (64u << 20) /* a point's metadata: records of a VM, never this big */

void point_ts(int64_t t_seconds, char out[17])
{
	time_t t = (time_t)t_seconds;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static struct json_object *jobj(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

static uint64_t juint(struct json_object *o, const char *key)
{
	struct json_object *v;
	int64_t i;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return 0;
	if (json_object_is_type(v, json_type_string))
		return strtoull(json_object_get_string(v), NULL, 10);
	i = json_object_get_int64(v);
	return i > 0 ? (uint64_t)i : 0;
}

/* "./x" and "x" name the same file. */
static const char *bare(const char *p)
{
	return strncmp(p, "./", 2) == 0 ? p + 2 : p;
}

/* Our checksum and size of one file, from "xentui": { "files": {...} }. */
static void fill_ours(struct json_object *files, struct point_file *f)
{
	if (!files)
		return;
	json_object_object_foreach(files, k, v) {
		const char *sha;
		if (strcmp(bare(k), bare(f->path)) != 0 || !json_object_is_type(v, json_type_object))
			continue;
		f->size = juint(v, "size");
		sha = jstr(v, "sha256");
		if (sha && strlen(sha) == 64)
			memcpy(f->sha256, sha, 65);
	}
}

static bool differencing(struct json_object *isdiff, const char *ref, const char *path)
{
	char *k1 = xasprintf("%s.vhd", ref);
	bool d = false;

	if (isdiff) {
		json_object_object_foreach(isdiff, k, v) {
			if ((strcmp(k, k1) == 0 || strcmp(bare(k), bare(path)) == 0) && json_object_get_boolean(v))
				d = true;
		}
	}
	free(k1);
	return d;
}

static void add_file(struct point *p, const char *path, const char *vdi)
{
	struct point_file *f;

	p->files = xrealloc(p->files, (p->nfiles + 1) * sizeof(*p->files));
	f = &p->files[p->nfiles++];
	memset(f, 0, sizeof(*f));
	f->path = xstrdup(path);
	f->vdi = vdi ? xstrdup(vdi) : NULL;
}

/* "xo-vm-backups/<uuid>/<ts>.json" -> uuid and ts. */
static void names_from_path(const char *json_path, struct point *p)
{
	const char *slash = strrchr(json_path, '/');
	const char *file = slash ? slash + 1 : json_path;
	const char *dir_end = slash, *dir = slash;

	if (strlen(file) >= 21 && strcmp(file + strlen(file) - 5, ".json") == 0)
		snprintf(p->ts, sizeof(p->ts), "%.16s", file);
	if (dir_end) {
		while (dir > json_path && dir[-1] != '/')
			dir--;
		p->vm_uuid = xstrndup(dir, (size_t)(dir_end - dir));
	}
}

bool point_load(struct repo *r, const char *json_path, struct point *out, char **err)
{
	char *text = NULL;
	size_t n = 0;
	struct json_object *root, *vm, *ours, *ourfiles, *vhds, *isdiff;
	enum json_tokener_error jerr = json_tokener_success;
	const char *s;

	memset(out, 0, sizeof(*out));
	*err = NULL;
	if (!repo_get(r, json_path, JSON_MAX, &text, &n, err))
		return false;
	root = json_tokener_parse_verbose(text, &jerr);
	if (!root || !json_object_is_type(root, json_type_object)) {
		*err = xasprintf("%s on %s is not a restore point's metadata (%s)", json_path, repo_name(r),
				 root ? "not a JSON object" : json_tokener_error_desc(jerr));
		json_object_put(root);
		free(text);
		return false;
	}
	out->json = text;
	out->json_path = xstrdup(json_path);
	names_from_path(json_path, out);
	vm = jobj(root, "vm");
	if ((s = jstr(vm, "uuid")) && !out->vm_uuid)
		out->vm_uuid = xstrdup(s);
	out->vm_name = xstrdup((s = jstr(vm, "name_label")) ? s : "");
	out->timestamp_ms = (int64_t)juint(root, "timestamp");
	if (!out->ts[0] && out->timestamp_ms)
		point_ts(out->timestamp_ms / 1000, out->ts);
	out->mode = xstrdup((s = jstr(root, "mode")) ? s : "");
	out->job_id = xstrdup((s = jstr(root, "jobId")) ? s : "");
	out->size = juint(root, "size");
	ours = jobj(root, "xentui");
	ourfiles = jobj(ours, "files");
	if ((s = jstr(ours, "job")))
		out->job_name = xstrdup(s);
	if ((s = jstr(root, "xva"))) {
		add_file(out, s, NULL);
		fill_ours(ourfiles, &out->files[0]);
	}
	vhds = jobj(root, "vhds");
	isdiff = jobj(root, "isVhdDifferencing");
	if (vhds) {
		json_object_object_foreach(vhds, ref, path) {
			struct point_file *f;
			if (!json_object_is_type(path, json_type_string))
				continue;
			add_file(out, json_object_get_string(path), ref);
			f = &out->files[out->nfiles - 1];
			f->differencing = differencing(isdiff, ref, f->path);
			fill_ours(ourfiles, f);
		}
	}
	if (!out->vm_uuid)
		out->vm_uuid = xstrdup("");
	json_object_put(root);
	return true;
}

void point_free(struct point *p)
{
	if (!p)
		return;
	free(p->vm_uuid);
	free(p->vm_name);
	free(p->mode);
	free(p->job_id);
	free(p->job_name);
	free(p->json_path);
	for (size_t i = 0; i < p->nfiles; i++) {
		free(p->files[i].path);
		free(p->files[i].vdi);
	}
	free(p->files);
	free(p->json);
	memset(p, 0, sizeof(*p));
}

void points_free(struct point *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		point_free(&p[i]);
	free(p);
}

static bool is_point_json(const struct repo_entry *e)
{
	size_t l = strlen(e->name);

	return !e->is_dir && e->name[0] != '.' && l > 5 && strcmp(e->name + l - 5, ".json") == 0;
}

/* The points of one VM folder appended to *out. */
static bool list_vm(struct repo *r, const char *uuid, struct point **out, size_t *n, size_t *cap, char **err)
{
	char *dir = xasprintf("%s/%s", VM_DIR, uuid);
	struct repo_entry *e = NULL;
	size_t ne = 0;

	if (!repo_list(r, dir, &e, &ne, err)) {
		free(dir);
		return false;
	}
	for (size_t i = 0; i < ne; i++) {
		char *path, *why = NULL;
		if (!is_point_json(&e[i]))
			continue;
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			*out = xrealloc(*out, *cap * sizeof(**out));
		}
		path = xasprintf("%s/%s", dir, e[i].name);
		if (point_load(r, path, &(*out)[*n], &why)) {
			(*n)++;
		} else {
			/* one unreadable file does not hide the others */
			free(why);
		}
		free(path);
	}
	repo_entries_free(e, ne);
	free(dir);
	return true;
}

static int by_time(const void *a, const void *b)
{
	const struct point *x = a, *y = b;
	int c = strcmp(x->ts, y->ts);

	return c ? c : strcmp(x->vm_uuid, y->vm_uuid);
}

bool points_list(struct repo *r, const char *vm_uuid, struct point **out, size_t *n, char **err)
{
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	*err = NULL;
	if (vm_uuid) {
		if (!list_vm(r, vm_uuid, out, n, &cap, err))
			goto fail;
	} else {
		struct repo_entry *e = NULL;
		size_t ne = 0;
		if (!repo_list(r, VM_DIR, &e, &ne, err))
			goto fail;
		for (size_t i = 0; i < ne; i++) {
			if (!e[i].is_dir || e[i].name[0] == '.')
				continue;
			if (!list_vm(r, e[i].name, out, n, &cap, err)) {
				repo_entries_free(e, ne);
				goto fail;
			}
		}
		repo_entries_free(e, ne);
	}
	if (*n)
		qsort(*out, *n, sizeof(**out), by_time);
	return true;
fail:
	points_free(*out, *n);
	*out = NULL;
	*n = 0;
	return false;
}
