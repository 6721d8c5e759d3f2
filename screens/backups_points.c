/* A repository's restore points by VM and date (or every repository's for
 * one VM, its Backups tab): restore one as a new VM, verify it, delete it
 * after the VM's name is typed. Each through a child `xentui backup`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "app.h"
#include "backups.h"
#include "bconfig.h"
#include "state.h"
#include "backups_text.h"
#include "cache.h"
#include "dialog.h"
#include "draw.h"
#include "form.h"
#include "keys.h"
#include "model.h"
#include "pools.h"
#include "screens.h"
#include "table.h"
#include "theme.h"
#include "units.h"
#include "util.h"

enum { C_VM, C_REMOTE, C_DATE, C_MODE, C_SIZE, C_JOB, C_VERIFIED };
static const struct table_col cols[] = {
	[C_VM] = {"VM", 12, 2, false, false, 0},
	[C_REMOTE] = {"REMOTE", 8, 1, false, false, 2},
	[C_DATE] = {"DATE", 16, 0, false, true, 0},
	[C_MODE] = {"MODE", 6, 0, false, false, 0},
	[C_SIZE] = {"SIZE", 10, 0, true, true, 0},
	[C_JOB] = {"JOB", 8, 1, false, false, 3},
	[C_VERIFIED] = {"VERIFIED", 9, 1, false, false, 1},
};

static void point_key(const struct json_object *pt, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s/%s", jget_str((struct json_object *)pt, "remote"),
		 jget_str((struct json_object *)pt, "vm_uuid"), jget_str((struct json_object *)pt, "timestamp"));
}

/* The point whose key is key, in the model's list. */
static const struct json_object *point_of(const char *key)
{
	const struct json_object *pts = bmodel_points();
	char k[512];

	for (size_t i = 0; key && pts && i < json_object_array_length(pts); i++) {
		const struct json_object *p = json_object_array_get_idx(pts, i);
		point_key(p, k, sizeof(k));
		if (strcmp(k, key) == 0)
			return p;
	}
	return NULL;
}

/* Fills t with the points of remote (or all) of vm_uuid (or all). */
static void fill(struct table *t, const char *remote, const char *vm_uuid)
{
	const struct json_object *pts = bmodel_points();

	table_clear(t);
	for (size_t i = 0; pts && i < json_object_array_length(pts); i++) {
		struct json_object *p = json_object_array_get_idx(pts, i);
		const char *r = jget_str(p, "remote"), *vm = jget_str(p, "vm_uuid"), *ts = jget_str(p, "timestamp");
		const char *name = jget_str(p, "vm_name"), *ver;
		char key[512], date[32], size[24], verified[96];
		int64_t t0 = datetime_seconds(ts);
		if (!r || !vm || !ts || (remote && strcmp(r, remote) != 0) || (vm_uuid && strcmp(vm, vm_uuid) != 0))
			continue;
		point_key(p, key, sizeof(key));
		time_words(t0, date, sizeof(date));
		size_format(size, sizeof(size), (long long)jget_int(p, "size"));
		ver = bmodel_verified(r, vm, ts);
		snprintf(verified, sizeof(verified), "%s", !*ver ? "not yet" : ver);
		{
			struct table_cell cells[] = {
				[C_VM] = {name && *name ? name : vm, 0, -1},
				[C_REMOTE] = {r, 0, -1},
				[C_DATE] = {date, (double)t0, -1},
				[C_MODE] = {jget_str(p, "mode") ? jget_str(p, "mode") : "", 0, -1},
				[C_SIZE] = {size, (double)jget_int(p, "size"), -1},
				[C_JOB] = {jget_str(p, "job") ? jget_str(p, "job") : "", 0, ROLE_DIM},
				[C_VERIFIED] = {verified, 0, !*ver ? (int)ROLE_DIM : strcmp(ver, "ok") == 0 ? ROLE_GOOD : ROLE_BAD},
			};
			table_put(t, key, cells, ROLE_NORMAL, vm);
		}
	}
}

/* ---- the actions on one point -------------------------------------------------- */

struct pt_ref {
	char *remote, *vm_uuid, *ts, *vm_name;
	char **sr_uuids;
	size_t nsr;
	char **disks; /* restore-disk: device numbers ("0") or names, as --disk takes them */
	size_t ndisks;
	char *target; /* the server's name, or its URL */
	char *user, *fingerprint;
	int pool_id;   /* the pool whose typed password the child gets, or -1 */
	bool insecure;
};

static void pt_free(void *ud)
{
	struct pt_ref *r = ud;

	if (!r)
		return;
	free(r->remote);
	free(r->vm_uuid);
	free(r->ts);
	free(r->vm_name);
	for (size_t i = 0; i < r->nsr; i++)
		free(r->sr_uuids[i]);
	free(r->sr_uuids);
	for (size_t i = 0; i < r->ndisks; i++)
		free(r->disks[i]);
	free(r->disks);
	free(r->target);
	free(r->user);
	free(r->fingerprint);
	free(r);
}

static struct pt_ref *pt_new(const struct json_object *pt)
{
	struct pt_ref *r = xcalloc(1, sizeof(*r));
	struct json_object *p = (struct json_object *)pt;
	const char *name = jget_str(p, "vm_name");

	r->remote = xstrdup(jget_str(p, "remote"));
	r->vm_uuid = xstrdup(jget_str(p, "vm_uuid"));
	r->ts = xstrdup(jget_str(p, "timestamp"));
	r->vm_name = xstrdup(name && *name ? name : r->vm_uuid);
	return r;
}

/* The last line of err without "xentui: ", or a status. */
static char *last_line(const char *err, int status)
{
	size_t m = strlen(err);
	const char *e;

	while (m && (err[m - 1] == '\n' || err[m - 1] == ' '))
		m--;
	if (!m)
		return xasprintf("xentui backup ended with status %d", status);
	e = err + m;
	while (e > err && e[-1] != '\n')
		e--;
	if (strncmp(e, "xentui: ", 8) == 0)
		e += 8;
	return xstrndup(e, (size_t)(err + m - e));
}

/* What a child got for a point: copies of the ids, freed by bproc. */
struct pt_job {
	char remote[128], vm_uuid[64], ts[20], vm_name[128];
};

static struct pt_job *pt_job(const struct pt_ref *r)
{
	struct pt_job *j = xcalloc(1, sizeof(*j));

	snprintf(j->remote, sizeof(j->remote), "%s", r->remote);
	snprintf(j->vm_uuid, sizeof(j->vm_uuid), "%s", r->vm_uuid);
	snprintf(j->ts, sizeof(j->ts), "%s", r->ts);
	snprintf(j->vm_name, sizeof(j->vm_name), "%s", r->vm_name);
	return j;
}

static void restore_done(struct app *app, int status, const char *out, const char *err, void *ud)
{
	struct pt_job *j = ud;

	if (status == 0) {
		char uuid[64] = "";
		sscanf(out, "%63s", uuid);
		app_message(app, MSG_INFO, "Restored %s (%s) as a new VM %s", j->vm_name, j->ts, uuid);
	} else {
		char *why = last_line(err, status);
		app_message(app, MSG_ERROR, "Restore of %s (%s) failed: %s", j->vm_name, j->ts, why);
		free(why);
	}
}

static void start_for_pool(struct app *app, const struct pt_ref *r, const char **args, int n, bproc_done_fn done,
			   const char *what);

static void restore_form_done(struct app *app, const struct dialog_result *res, const char *ref, void *ud)
{
	struct pt_ref *r = ud;
	int sr;
	const char *name;
	const char *args[20];
	int n = 0;

	if (!res->ok)
		return;
	sr = form_get_choice(res->form, 0);
	name = form_get_text(res->form, 1);
	if (sr < 0 || (size_t)sr >= r->nsr)
		return;
	args[n++] = "restore";
	args[n++] = r->remote;
	args[n++] = r->vm_uuid;
	args[n++] = "--at";
	args[n++] = r->ts;
	args[n++] = "--sr";
	args[n++] = r->sr_uuids[sr];
	if (name && *name) {
		args[n++] = "--name";
		args[n++] = name;
	}
	if (form_get_toggle(res->form, 2))
		args[n++] = "--start";
	start_for_pool(app, r, args, n, restore_done, "as a new VM");
}

/* Adds the connection to the pool shown to args (room for 6 more) and
 * starts the child. */
static void start_for_pool(struct app *app, const struct pt_ref *r, const char **args, int n, bproc_done_fn done,
			   const char *what)
{
	const struct pool *pw;

	if (r->user) {
		args[n++] = "-u";
		args[n++] = r->user;
	}
	if (r->fingerprint) {
		args[n++] = "--fingerprint";
		args[n++] = r->fingerprint;
	} else if (r->insecure) {
		args[n++] = "-k";
	}
	args[n++] = r->target;
	args[n] = NULL;
	{
		struct pools *ps = app_pools(app);
		pw = NULL;
		for (size_t i = 0; r->pool_id >= 0 && i < pools_count(ps); i++)
			if (pools_at(ps, i)->id == r->pool_id)
				pw = pools_at(ps, i);
	}
	if (!app_may_change(app, "Restore")) /* the child creates VMs or disks */
		return;
	if (bproc_start(app, args, pw, done, pt_job(r)) > 0)
		app_message(app, MSG_INFO, "Restoring %s (%s) %s (in the background)", r->vm_name, r->ts, what);
}

static bool add_sr(const char *ref, const struct xv *sr, void *ud)
{
	struct pt_ref *r = ud;

	if (!sr_takes_new_disks(sr))
		return true;
	r->sr_uuids = xrealloc(r->sr_uuids, (r->nsr + 1) * sizeof(*r->sr_uuids));
	r->sr_uuids[r->nsr++] = xstrdup(rec_str(sr, "uuid"));
	return true;
}

/* The point, with the pool shown's SRs that take new disks and how a child
 * reaches that pool; *labels (to free, r->nsr of them) name the SRs and *def
 * is the default SR. NULL, said, when there is no pool or no SR. */
static struct pt_ref *pt_for_pool(struct app *app, const struct json_object *pt, char ***labels, int *def)
{
	struct pool *p = app_pool(app);
	struct pt_ref *r;
	const char **names;
	const struct xv *pool_rec;
	const char *pool_ref;

	if (!p || !p->cache || !cache_loaded(p->cache)) {
		app_message(app, MSG_ERROR, "Restore needs a connected pool: connect one (:servers) first");
		return NULL;
	}
	r = pt_new(pt);
	cache_each(p->cache, "SR", add_sr, r);
	if (!r->nsr) {
		app_message(app, MSG_ERROR, "Pool %s has no SR that takes new disks", p->cfg.name);
		pt_free(r);
		return NULL;
	}
	r->target = xstrdup(p->saved ? p->cfg.name : p->cfg.url);
	if (!p->saved) {
		r->user = xstrdup(p->cfg.user ? p->cfg.user : "root");
		r->fingerprint = p->cfg.fingerprint ? xstrdup(p->cfg.fingerprint) : NULL;
		r->insecure = !r->fingerprint;
	}
	r->pool_id = pool_has_password(p) && !(p->saved && (p->cfg.password_file || p->cfg.password_env ||
							       p->cfg.password_command)) ? p->id : -1;
	names = xcalloc(r->nsr, sizeof(*names));
	pool_rec = pool_record(p->cache, &pool_ref);
	*def = 0;
	for (size_t i = 0; i < r->nsr; i++) {
		const char *ref;
		const struct xv *sr = cache_by_uuid(p->cache, "SR", r->sr_uuids[i], &ref);
		names[i] = sr ? rec_str(sr, "name_label") : r->sr_uuids[i];
		if (pool_rec && ref && strcmp(rec_str(pool_rec, "default_SR"), ref) == 0)
			*def = (int)i;
	}
	/* host-local SRs share their name ("Local storage"): tell them apart */
	*labels = xcalloc(r->nsr, sizeof(**labels));
	for (size_t i = 0; i < r->nsr; i++) {
		size_t same = 0;
		for (size_t k = 0; k < r->nsr; k++)
			same += strcmp(names[k], names[i]) == 0;
		(*labels)[i] = same > 1 ? xasprintf("%s (%.8s)", names[i], r->sr_uuids[i]) : xstrdup(names[i]);
	}
	free(names);
	return r;
}

static void free_labels(char **labels, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(labels[i]);
	free(labels);
}

static void restore_point_dialog(struct app *app, const struct json_object *pt)
{
	struct pool *p = app_pool(app);
	struct pt_ref *r;
	struct form *f;
	char **labels, date[32], *title, *defname;
	int def = 0;

	if (!(r = pt_for_pool(app, pt, &labels, &def)))
		return;
	time_words(datetime_seconds(r->ts), date, sizeof(date));
	defname = xasprintf("%s (restored %s)", r->vm_name, date);
	f = form_new();
	form_choice(f, "SR", (const char *const *)labels, (int)r->nsr, def);
	free_labels(labels, r->nsr);
	form_text(f, "Name", defname, true);
	form_toggle(f, "Start after", false);
	title = xasprintf("Restore %s", r->vm_name);
	{
		char *text = xasprintf("The point of %s (%s) from %s as a new VM on pool %s.", r->vm_name, date, r->remote,
				       p->cfg.name);
		struct dialog *d = dialog_form(title, text, f);
		dialog_on_done(d, restore_form_done, NULL, r);
		dialog_own_ud(d, pt_free);
		app_open_dialog(app, d);
		free(text);
	}
	free(title);
	free(defname);
}

/* ---- one disk only, as a new VDI (XO #4606) -------------------------------------- */

static void disk_done(struct app *app, int status, const char *out, const char *err, void *ud)
{
	struct pt_job *j = ud;

	if (status == 0) {
		char uuid[64] = "";
		sscanf(out, "%63s", uuid);
		app_message(app, MSG_INFO, "Restored a disk of %s (%s) as a new disk %s", j->vm_name, j->ts, uuid);
	} else {
		char *why = last_line(err, status);
		app_message(app, MSG_ERROR, "Restore of a disk of %s (%s) failed: %s", j->vm_name, j->ts, why);
		free(why);
	}
}

static void disk_form_done(struct app *app, const struct dialog_result *res, const char *ref, void *ud)
{
	struct pt_ref *r = ud;
	int disk, sr;
	const char *name, *args[20];
	int n = 0;

	if (!res->ok)
		return;
	disk = form_get_choice(res->form, 0);
	sr = form_get_choice(res->form, 1);
	name = form_get_text(res->form, 2);
	if (disk < 0 || (size_t)disk >= r->ndisks || sr < 0 || (size_t)sr >= r->nsr)
		return;
	args[n++] = "restore-disk";
	args[n++] = r->remote;
	args[n++] = r->vm_uuid;
	args[n++] = "--at";
	args[n++] = r->ts;
	args[n++] = "--disk";
	args[n++] = r->disks[disk];
	args[n++] = "--sr";
	args[n++] = r->sr_uuids[sr];
	if (name && *name) {
		args[n++] = "--name";
		args[n++] = name;
	}
	start_for_pool(app, r, args, n, disk_done, "one disk as a new disk");
}

static void add_disk(struct pt_ref *r, char ***labels, const char *device, const char *name, long long size)
{
	char sz[24];

	size_format(sz, sizeof(sz), size);
	r->disks = xrealloc(r->disks, (r->ndisks + 1) * sizeof(*r->disks));
	*labels = xrealloc(*labels, (r->ndisks + 1) * sizeof(**labels));
	r->disks[r->ndisks] = xstrdup(device && *device ? device : name);
	(*labels)[r->ndisks] = xasprintf("%s %s (%s)", device && *device ? device : "?", name && *name ? name : "disk",
					 size > 0 ? sz : "size not known");
	r->ndisks++;
}

/* The point's disks as its record lists them (delta), else the VM's disks now
 * as the pool shows them (an XVA names its disks only inside). */
static char **point_disk_labels(struct app *app, const struct json_object *pt, struct pt_ref *r)
{
	struct json_object *disks = NULL;
	char **labels = NULL;
	struct pool *p = app_pool(app);

	if (json_object_object_get_ex((struct json_object *)pt, "disks", &disks) && json_object_is_type(disks, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(disks); i++) {
			struct json_object *d = json_object_array_get_idx(disks, i);
			add_disk(r, &labels, jget_str(d, "device"), jget_str(d, "name"), (long long)jget_int(d, "size"));
		}
		return labels;
	}
	{
		const struct xv *vm = cache_by_uuid(p->cache, "VM", r->vm_uuid, NULL), *vbds = vm ? rec_field(vm, "VBDs") : NULL;
		for (size_t i = 0; i < xv_len(vbds); i++) {
			const struct xv *vbd = cache_get(p->cache, xv_str(xv_at(vbds, i)));
			const struct xv *vdi = vbd && strcmp(rec_str(vbd, "type"), "Disk") == 0 ? cache_get(p->cache, rec_str(vbd, "VDI")) : NULL;
			if (vdi)
				add_disk(r, &labels, rec_str(vbd, "userdevice"), rec_str(vdi, "name_label"), rec_int(vdi, "virtual_size"));
		}
	}
	return labels;
}

static void restore_disk_dialog(struct app *app, const struct json_object *pt)
{
	struct pool *p = app_pool(app);
	struct pt_ref *r;
	struct form *f;
	char **labels, **dlabels, date[32], *title, *defname, *text;
	const char *mode = jget_str((struct json_object *)pt, "mode");
	struct dialog *d;
	int def = 0;

	if (!mode || (strcmp(mode, "full") != 0 && strcmp(mode, "delta") != 0)) {
		app_message(app, MSG_ERROR, "A %s point holds no disks to restore", mode ? mode : "?");
		return;
	}
	if (!(r = pt_for_pool(app, pt, &labels, &def)))
		return;
	dlabels = point_disk_labels(app, pt, r);
	if (!r->ndisks) {
		/* a full point of a VM the pool no longer has: its first disk */
		add_disk(r, &dlabels, "0", "the first disk", 0);
	}
	time_words(datetime_seconds(r->ts), date, sizeof(date));
	defname = xasprintf("%s disk (restored %s)", r->vm_name, date);
	f = form_new();
	form_choice(f, "Disk", (const char *const *)dlabels, (int)r->ndisks, 0);
	free_labels(dlabels, r->ndisks);
	form_choice(f, "SR", (const char *const *)labels, (int)r->nsr, def);
	free_labels(labels, r->nsr);
	form_text(f, "Name", defname, true);
	title = xasprintf("Restore a disk of %s", r->vm_name);
	text = xasprintf("One disk of the point of %s (%s) from %s as a new disk on pool %s, attached to no VM.",
			 r->vm_name, date, r->remote, p->cfg.name);
	d = dialog_form(title, text, f);
	dialog_on_done(d, disk_form_done, NULL, r);
	dialog_own_ud(d, pt_free);
	app_open_dialog(app, d);
	free(text);
	free(title);
	free(defname);
}

static void verify_done(struct app *app, int status, const char *out, const char *err, void *ud)
{
	struct pt_job *j = ud;
	char *copy = xstrdup(out), *save = NULL;
	const char *mine = NULL;

	/* "ok TS NAME MODE SIZE" / "BAD TS NAME MODE: why", one line per point of the VM */
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char ts[20] = "";
		bool good = strncmp(line, "ok ", 3) == 0, bad = strncmp(line, "BAD ", 4) == 0;
		if (!good && !bad)
			continue;
		sscanf(line + (good ? 3 : 4), "%19s", ts);
		if (!ts[0])
			continue;
		{
			const char *why = bad ? strstr(line, ": ") : NULL;
			char *res = good ? xstrdup("ok") : xasprintf("BAD: %s", why ? why + 2 : "damaged");
			bmodel_set_verified(j->remote, j->vm_uuid, ts, res);
			if (strcmp(ts, j->ts) == 0)
				mine = good ? "ok" : "bad";
			free(res);
		}
	}
	free(copy);
	if (mine && strcmp(mine, "ok") == 0)
		app_message(app, MSG_INFO, "The point of %s at %s is sound (sizes, checksums, chains)", j->vm_name, j->ts);
	else if (mine)
		app_message(app, MSG_ERROR, "The point of %s at %s is damaged: %s", j->vm_name, j->ts,
			    bmodel_verified(j->remote, j->vm_uuid, j->ts));
	else {
		char *why = last_line(err, status);
		app_message(app, MSG_ERROR, "Verify of %s failed: %s", j->vm_name, why);
		free(why);
	}
}

static void verify_point(struct app *app, const struct json_object *pt)
{
	struct pt_ref *r = pt_new(pt);
	const char *args[] = {"verify", r->remote, r->vm_uuid, NULL};

	if (bproc_start(app, args, NULL, verify_done, pt_job(r)) > 0)
		app_message(app, MSG_INFO, "Verifying the points of %s on %s", r->vm_name, r->remote);
	pt_free(r);
}

static void delete_done(struct app *app, int status, const char *out, const char *err, void *ud)
{
	struct pt_job *j = ud;

	if (status == 0) {
		app_message(app, MSG_INFO, "Deleted the point of %s at %s from %s", j->vm_name, j->ts, j->remote);
		bmodel_set_verified(j->remote, j->vm_uuid, j->ts, NULL);
	} else {
		char *why = last_line(err, status);
		app_message(app, MSG_ERROR, "Cannot delete the point of %s: %s", j->vm_name, why);
		free(why);
	}
	bmodel_load_points(app, true);
	bmodel_load_space(app, true);
}

static void delete_confirmed(struct app *app, const struct dialog_result *res, const char *ref, void *ud)
{
	struct pt_ref *r = ud;
	const char *args[] = {"delete", r->remote, r->vm_uuid, r->ts, NULL};

	if (!res->ok || !app_may_change(app, "Delete the restore point"))
		return;
	if (bproc_start(app, args, NULL, delete_done, pt_job(r)) > 0)
		app_message(app, MSG_INFO, "Deleting the point of %s at %s", r->vm_name, r->ts);
}

static void delete_point(struct app *app, const struct json_object *pt)
{
	struct pt_ref *r = pt_new(pt);
	char date[32], size[24], *text;
	struct dialog *d;

	time_words(datetime_seconds(r->ts), date, sizeof(date));
	size_format(size, sizeof(size), (long long)jget_int((struct json_object *)pt, "size"));
	text = xasprintf("Delete the restore point of %s of %s (%s, %s) from %s? Its files are deleted for good; "
			 "the VM cannot be restored to that point any more. Type the VM's name to confirm.",
			 r->vm_name, date, jget_str((struct json_object *)pt, "mode"), size, r->remote);
	d = dialog_type_name("Delete restore point", text, r->vm_name);
	dialog_on_done(d, delete_confirmed, NULL, r);
	dialog_own_ud(d, pt_free);
	app_open_dialog(app, d);
	free(text);
}

static void choose_done(struct app *app, const struct dialog_result *res, const char *ref, void *ud)
{
	const struct json_object *pt = point_of(ref);

	if (!res->ok || !pt || !res->choice_key)
		return;
	if (strcmp(res->choice_key, "restore") == 0)
		restore_point_dialog(app, pt);
	else if (strcmp(res->choice_key, "disk") == 0)
		restore_disk_dialog(app, pt);
	else if (strcmp(res->choice_key, "verify") == 0)
		verify_point(app, pt);
	else if (strcmp(res->choice_key, "delete") == 0)
		delete_point(app, pt);
}

void backup_point_actions(struct app *app, const struct json_object *pt)
{
	struct pt_ref *r = pt_new(pt);
	char key[512], date[32], *text;
	struct dialog *d;

	point_key(pt, key, sizeof(key));
	time_words(datetime_seconds(r->ts), date, sizeof(date));
	text = xasprintf("The point of %s of %s on %s.", r->vm_name, date, r->remote);
	d = dialog_choose("Restore point", text);
	dialog_add_choice(d, "restore", "Restore as a new VM", "on an SR of the pool shown, with a name; start after or not");
	dialog_add_choice(d, "disk", "Restore one disk", "as a new disk (VDI) on an SR, attached to no VM");
	dialog_add_choice(d, "verify", "Verify", "sizes, SHA-256 of every file, VHD chains, XVA members");
	dialog_add_choice(d, "delete", "Delete", "after typing the VM's name");
	dialog_on_done(d, choose_done, key, NULL);
	app_open_dialog(app, d);
	free(text);
	pt_free(r);
}

/* ---- the screen ------------------------------------------------------------------ */

struct points_screen {
	char *remote; /* NULL: every remote */
	struct table *t;
};

static void *points_enter(struct app *app, const void *arg)
{
	struct points_screen *s = xcalloc(1, sizeof(*s));

	s->remote = arg ? xstrdup(arg) : NULL;
	s->t = table_new(cols, (int)(ARRAY_LEN(cols)));
	table_set_noun(s->t, "restore point", "restore points");
	table_sort(s->t, C_DATE, true);
	table_show_col(s->t, C_REMOTE, s->remote == NULL);
	bmodel_load_points(app, false);
	return s;
}

static void points_leave(struct app *app, void *st)
{
	struct points_screen *s = st;

	table_free(s->t);
	free(s->remote);
	free(s);
}

static void points_draw(struct app *app, void *st, WINDOW *w, int h, int cols_)
{
	struct points_screen *s = st;
	int y = 0;

	if (bmodel_points_error()) {
		/* another remote's trouble is not this list's */
		char *quoted = s->remote ? xasprintf("'%s'", s->remote) : NULL;
		if (!quoted || strstr(bmodel_points_error(), quoted))
			ui_put(w, y++, 1, cols_ - 2, theme_attr(ROLE_BAD), bmodel_points_error());
		free(quoted);
	}
	if (!bmodel_points()) {
		ui_put(w, y + 1, 2, cols_ - 4, theme_attr(ROLE_DIM),
		       bmodel_points_loading() ? "Reading the repository..." : "The repository could not be read.");
		return;
	}
	fill(s->t, s->remote, NULL);
	table_draw(s->t, w, y, 0, h - y, cols_, !app_has_dialog(app));
}

static struct table *points_list(struct app *app, void *st)
{
	return ((struct points_screen *)st)->t;
}

static void points_describe(struct app *app, void *st, char *buf, size_t n)
{
	struct points_screen *s = st;

	snprintf(buf, n, "Backups %s restore points on %s%s", glyph(GLYPH_SEP), s->remote ? s->remote : "every repository",
		 bmodel_points_loading() ? " (reading...)" : "");
}

static const struct json_object *selected(void *st)
{
	return point_of(table_selected(((struct points_screen *)st)->t));
}

static bool has_selection(struct app *app, void *st)
{
	return selected(st) != NULL;
}

static void k_enter(struct app *app, void *st)
{
	if (selected(st))
		backup_point_actions(app, selected(st));
}

static void k_restore(struct app *app, void *st)
{
	if (selected(st))
		restore_point_dialog(app, selected(st));
}

static void k_disk(struct app *app, void *st)
{
	if (selected(st))
		restore_disk_dialog(app, selected(st));
}

static void k_verify(struct app *app, void *st)
{
	if (selected(st))
		verify_point(app, selected(st));
}

static void k_delete(struct app *app, void *st)
{
	if (selected(st))
		delete_point(app, selected(st));
}

static void k_reload(struct app *app, void *st)
{
	bmodel_load_points(app, true);
}

static const struct screen_key keys[] = {
	{XK_ENTER, "Actions", "What to do with the selected point: restore, verify, delete", k_enter, has_selection, true},
	{'R', "Restore", "Restore the selected point as a new VM (SR, name, start after)", k_restore, has_selection, true},
	{'d', "Disk", "Restore one disk of the selected point as a new disk on an SR", k_disk, has_selection, true},
	{'v', "Verify", "Check the point's files: sizes, SHA-256, VHD chains, XVA members", k_verify, has_selection, true},
	{'D', "Delete", "Delete the selected point (type the VM's name to confirm)", k_delete, has_selection, true},
	{'u', "Reread", "Read the repositories again", k_reload, NULL, true},
	{0, NULL, NULL, NULL, NULL, false},
};

const struct screen screen_backup_points = {
	.name = "backup-points",
	.title = "Restore points",
	.keys = keys,
	.enter = points_enter,
	.leave = points_leave,
	.draw = points_draw,
	.list = points_list,
	.describe = points_describe,
};

/* ---- a VM's Backups tab ---------------------------------------------------------- */

struct table *backup_vm_table(void)
{
	struct table *t = table_new(cols, (int)(ARRAY_LEN(cols)));

	table_set_noun(t, "restore point", "restore points");
	table_sort(t, C_DATE, true);
	table_show_col(t, C_VM, false);
	return t;
}

/* The jobs that cover the VM, as rows above its points (sorted first by a
 * date beyond any point's): what makes its backups, and how it last went. */
static void put_vm_jobs(struct app *app, struct table *t, const char *vm_uuid)
{
	const struct job_cfg *jobs[16];
	size_t n = backup_vm_jobs(app, vm_uuid, jobs, 16);

	for (size_t i = 0; i < n; i++) {
		const struct job_cfg *j = jobs[i];
		struct job_state st;
		char key[160], sched[128], last[48], where[160];
		state_job_read(j->name, &st);
		cron_words(j->schedule, sched, sizeof(sched));
		snprintf(last, sizeof(last), "%s", st.result[0] ? st.result : st.last_start ? "interrupted" : "never run");
		if (j->mode == BMODE_DR || j->mode == BMODE_CR)
			snprintf(where, sizeof(where), "to SR %.*s", j->target_sr && strlen(j->target_sr) == 36 ? 8 : 64,
				 j->target_sr ? j->target_sr : "?");
		else {
			where[0] = '\0';
			for (size_t k = 0; k < j->nremotes; k++)
				snprintf(where + strlen(where), sizeof(where) - strlen(where), "%s%s", k ? ", " : "", j->remotes[k]);
		}
		snprintf(key, sizeof(key), "job:%s", j->name);
		{
			char jobtext[200];
			snprintf(jobtext, sizeof(jobtext), "job %s (%s)", j->name, j->nvms ? "by name" : "smart mode");
			struct table_cell cells[] = {
				[C_VM] = {"", 0, -1},
				[C_REMOTE] = {where, 0, -1},
				[C_DATE] = {sched, 9e15, -1},
				[C_MODE] = {bmode_name(j->mode), 0, -1},
				[C_SIZE] = {"", 9e15, -1},
				[C_JOB] = {jobtext, 0, ROLE_HEADER},
				[C_VERIFIED] = {last, 0, strcmp(st.result, "success") == 0 ? (int)ROLE_GOOD
							 : st.result[0] ? (int)ROLE_BAD : (int)ROLE_DIM},
			};
			table_put(t, key, cells, ROLE_NORMAL, j->name);
		}
	}
}

void backup_vm_fill(struct app *app, struct table *t, const char *vm_uuid)
{
	bmodel_load_points(app, false);
	fill(t, NULL, vm_uuid);
	put_vm_jobs(app, t, vm_uuid);
}

void backup_vm_enter(struct app *app, struct table *t)
{
	const struct json_object *pt = point_of(table_selected(t));

	if (table_selected(t) && strncmp(table_selected(t), "job:", 4) == 0) {
		app_message(app, MSG_INFO, "Job %s covers this VM; :backups shows it, runs it and edits it",
			    table_selected(t) + 4);
		return;
	}

	if (pt)
		backup_point_actions(app, pt);
}
