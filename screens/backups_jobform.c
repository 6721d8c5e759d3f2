/* New, edit and delete a backup job in a form with the configuration's own
 * keys; written back into the file's text (backups_jobedit.c), checked by
 * the engine's own reader before it replaces the file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "atomicfile.h"
#include "backups.h"
#include "backups_jobedit.h"
#include "bconfig.h"
#include "dialog.h"
#include "form.h"
#include "schedule.h"
#include "util.h"

enum { F_NAME, F_SERVER, F_MODE, F_VMS, F_TAGS, F_REMOTES, F_SCHEDULE, F_RETENTION, F_TARGET, F_POOL, F_NBD, F_PURGE };

#define OWN_POOL "(the job's server)" /* F_POOL's first choice: no target_server */

static const char *const modes[] = {"full", "delta", "snapshot", "metadata", "dr", "cr", "mirror"};
#define NMODES 7

/* The modes whose Target field says something: dr/cr the SR, mirror the remote. */
static bool replicates(int mode)
{
	return strcmp(modes[mode % NMODES], "dr") == 0 || strcmp(modes[mode % NMODES], "cr") == 0;
}

static bool mirrors(int mode)
{
	return strcmp(modes[mode % NMODES], "mirror") == 0;
}

/* The modes that read nbd and purge_snapshot_data (mode_delta.c). */
static bool uses_cbt(int mode)
{
	return strcmp(modes[mode % NMODES], "delta") == 0;
}

struct jobform {
	char *path;
	char *old_name;     /* NULL: a new job */
	char **jobs;        /* names of the other jobs */
	size_t njobs;
	char **remotes;
	size_t nremotes;
	char **servers;
	size_t nservers;
	char msg[160];
};

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void jf_free(void *ud)
{
	struct jobform *j = ud;

	free(j->path);
	free(j->old_name);
	strv_free(j->jobs, j->njobs);
	strv_free(j->remotes, j->nremotes);
	strv_free(j->servers, j->nservers);
	free(j);
}

/* "a, b ,c" as a list of words (empty items left out). */
static char **split(const char *text, size_t *n)
{
	char **v = NULL, *copy = xstrdup(text ? text : ""), *save = NULL;

	*n = 0;
	for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		char *e;
		while (*w == ' ' || *w == '\t')
			w++;
		e = w + strlen(w);
		while (e > w && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (!*w)
			continue;
		v = xrealloc(v, (*n + 1) * sizeof(*v));
		v[(*n)++] = xstrdup(w);
	}
	free(copy);
	return v;
}

static char *joined(char *const *v, size_t n)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "");
	for (size_t i = 0; i < n; i++) {
		buf_sep(&b, ", ");
		buf_puts(&b, v[i]);
	}
	return buf_steal(&b);
}

static const char *check_name(const struct form *f, int field, const char *text, void *ud)
{
	struct jobform *j = ud;

	return groupedit_name_problem(text, j->jobs, j->njobs, "another job has this name");
}

static const char *check_remotes(const struct form *f, int field, const char *text, void *ud)
{
	struct jobform *j = ud;
	size_t n;
	char **v = split(text, &n);
	const char *bad = NULL;

	if (!n && !replicates(form_get_choice(f, F_MODE)))
		bad = "at least one remote";
	for (size_t i = 0; i < n && !bad; i++) {
		bool found = false;
		for (size_t k = 0; k < j->nremotes; k++)
			found |= strcmp(j->remotes[k], v[i]) == 0;
		if (!found) {
			snprintf(j->msg, sizeof(j->msg), "no remote named %s", v[i]);
			bad = j->msg;
		}
	}
	strv_free(v, n);
	return bad;
}

static const char *check_target(const struct form *f, int field, const char *text, void *ud)
{
	struct jobform *j = ud;
	int mode = form_get_choice(f, F_MODE);

	if (replicates(mode) && !*text)
		return "dr and cr: the SR the replicas go to (a name or UUID)";
	if (mirrors(mode)) {
		for (size_t k = 0; k < j->nremotes; k++)
			if (strcmp(j->remotes[k], text) == 0)
				return NULL;
		return "mirror: the remote whose points are copied";
	}
	return NULL;
}

static const char *check_schedule(const struct form *f, int field, const char *text, void *ud)
{
	struct jobform *j = ud;
	struct cron c;
	char *err = NULL;

	if (!*text)
		return NULL;
	if (cron_parse(text, &c, &err))
		return NULL;
	snprintf(j->msg, sizeof(j->msg), "%s", err ? err : "not a schedule");
	free(err);
	return j->msg;
}

/* The file's text (empty when it does not exist yet); NULL with *err. */
static char *read_text(const char *path, size_t *n, char **err)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[8192];
	size_t got;

	*n = 0;
	if (!f) {
		if (errno == ENOENT)
			return xstrdup("");
		*err = xasprintf("cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	buf_init(&b);
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, got);
	fclose(f);
	*n = b.len;
	buf_putc(&b, '\0');
	return buf_steal(&b);
}

/* Checks text with the engine's reader (through a temporary file), then
 * replaces the file; false with *err (a sentence). */
static bool check_and_write(const char *path, const char *text, char **err)
{
	const char *tmpdir = getenv("TMPDIR");
	char *tmp = xasprintf("%s/xentui-jobs-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	int fd = mkstemp(tmp);
	struct backup_cfg bc;
	char *e = NULL;
	bool ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);

	if (fd >= 0)
		close(fd);
	if (!ok) {
		*err = xasprintf("cannot check the new configuration: %s", strerror(errno));
	} else if (!backup_cfg_load(tmp, &bc, &e)) {
		*err = xasprintf("the change would make the configuration wrong, so it was not saved: %s", e);
		ok = false;
	} else {
		backup_cfg_free(&bc);
	}
	free(e);
	if (fd >= 0)
		unlink(tmp);
	free(tmp);
	if (!ok)
		return false;
	mkdirs_for(path);
	return atomic_write(path, text, strlen(text), err);
}

bool backups_cfg_edit(const char *path, char *(*edit)(const char *text, size_t n, void *ud, char **err), void *ud,
		      char **err)
{
	size_t n;
	char *text = read_text(path, &n, err), *out = NULL;
	bool ok = text && (out = edit(text, n, ud, err)) && check_and_write(path, out, err);

	free(text);
	free(out);
	return ok;
}

struct job_change {
	const char *old_name;
	const struct job_edit *e;
};

static char *apply_job(const char *text, size_t n, void *ud, char **err)
{
	const struct job_change *c = ud;

	return jobedit_apply(text, n, c->old_name, c->e, err);
}

/* Applies the edit (e NULL: delete) and says how it went. */
static void save(struct app *app, const char *path, const char *old_name, const struct job_edit *e)
{
	struct job_change c = {old_name, e};
	char *err = NULL;

	if (backups_cfg_edit(path, apply_job, &c, &err)) {
		if (!e)
			app_message(app, MSG_INFO, "Backup job %s deleted from %s", old_name, path);
		else
			app_message(app, MSG_INFO, "Backup job %s saved in %s (comments and other settings kept)", e->name,
				    path);
	} else {
		app_message(app, MSG_ERROR, "%s", err ? err : "the job could not be saved");
	}
	free(err);
}

static void form_done(struct app *app, const struct dialog_result *r, const char *ref, void *ud)
{
	struct jobform *j = ud;
	struct job_edit e;
	int server;

	if (!r->ok)
		return;
	memset(&e, 0, sizeof(e));
	e.name = form_get_text(r->form, F_NAME);
	server = form_get_choice(r->form, F_SERVER);
	e.server = server >= 0 && (size_t)server < j->nservers ? j->servers[server] : NULL;
	e.mode = modes[form_get_choice(r->form, F_MODE) % NMODES];
	e.vms = split(form_get_text(r->form, F_VMS), &e.nvms);
	e.tags = split(form_get_text(r->form, F_TAGS), &e.ntags);
	e.remotes = split(form_get_text(r->form, F_REMOTES), &e.nremotes);
	e.schedule = form_get_text(r->form, F_SCHEDULE);
	e.retention = (int)form_get_number(r->form, F_RETENTION);
	if (replicates(form_get_choice(r->form, F_MODE))) {
		int pool = form_get_choice(r->form, F_POOL);
		e.target_sr = form_get_text(r->form, F_TARGET);
		/* choice 0 is the job's own server: no target_server */
		e.target_server = pool > 0 && (size_t)pool <= j->nservers ? j->servers[pool - 1] : NULL;
	}
	else if (mirrors(form_get_choice(r->form, F_MODE)))
		e.source_remote = form_get_text(r->form, F_TARGET);
	if (uses_cbt(form_get_choice(r->form, F_MODE))) {
		e.cbt = true;
		e.nbd = form_get_toggle(r->form, F_NBD);
		e.purge_snapshot_data = form_get_toggle(r->form, F_PURGE);
	}
	save(app, j->path, j->old_name, &e);
	strv_free(e.vms, e.nvms);
	strv_free(e.tags, e.ntags);
	strv_free(e.remotes, e.nremotes);
}

void backup_job_form(struct app *app, const struct backup_cfg *bc, const char *name)
{
	const struct job_cfg *job = name ? backup_cfg_job(bc, name) : NULL;
	const struct config *cfg = app_config(app);
	struct jobform *j;
	struct form *f;
	struct dialog *d;
	int server = 0, mode = 0, pool = 0;
	const char **pools;
	char *vms, *tags, *remotes, *title;

	if (!cfg->nservers) {
		app_message(app, MSG_ERROR, "A backup job needs a server: add one first (:servers)");
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->path = xstrdup(cfg->path);
	j->old_name = job ? xstrdup(job->name) : NULL;
	for (size_t i = 0; i < bc->njobs; i++)
		if (!job || strcmp(bc->jobs[i].name, job->name) != 0) {
			j->jobs = xrealloc(j->jobs, (j->njobs + 1) * sizeof(char *));
			j->jobs[j->njobs++] = xstrdup(bc->jobs[i].name);
		}
	for (size_t i = 0; i < bc->nremotes; i++) {
		j->remotes = xrealloc(j->remotes, (j->nremotes + 1) * sizeof(char *));
		j->remotes[j->nremotes++] = xstrdup(bc->remotes[i].name);
	}
	for (int i = 0; i < cfg->nservers; i++) {
		j->servers = xrealloc(j->servers, (j->nservers + 1) * sizeof(char *));
		j->servers[j->nservers++] = xstrdup(cfg->servers[i].name);
		if (job && job->server && strcmp(job->server, cfg->servers[i].name) == 0)
			server = i;
		if (job && job->target_server && strcmp(job->target_server, cfg->servers[i].name) == 0)
			pool = i + 1;
	}
	for (int i = 0; job && i < NMODES; i++)
		if (strcmp(modes[i], bmode_name(job->mode)) == 0)
			mode = i;
	vms = job ? joined(job->vms, job->nvms) : xstrdup("");
	tags = job ? joined(job->tags, job->ntags) : xstrdup("");
	remotes = job ? joined(job->remotes, job->nremotes) : xstrdup(bc->nremotes == 1 ? bc->remotes[0].name : "");
	f = form_new();
	form_text(f, "Name", job ? job->name : "", true);
	form_set_check(f, F_NAME, check_name, j);
	form_choice(f, "Server", (const char *const *)j->servers, (int)j->nservers, server);
	form_choice(f, "Mode", modes, NMODES, mode);
	form_text(f, "VMs", vms, false);
	form_set_hint(f, F_VMS, "names or UUIDs, commas; empty: smart mode");
	form_text(f, "Tags", tags, false);
	form_set_hint(f, F_TAGS, "smart mode: VMs with any of these");
	form_text(f, "Remotes", remotes, false); /* dr, cr: none (check_remotes) */
	form_set_check(f, F_REMOTES, check_remotes, j);
	form_text(f, "Schedule", job && job->schedule ? job->schedule : "", false);
	form_set_hint(f, F_SCHEDULE, "cron: m h dom mon dow; empty: on demand");
	form_set_check(f, F_SCHEDULE, check_schedule, j);
	form_number(f, "Retention", job ? job->retention : 7, 1, 100000, "points");
	form_text(f, "Target", !job ? "" : job->target_sr ? job->target_sr : job->source_remote ? job->source_remote : "",
		  false);
	form_set_hint(f, F_TARGET, "dr, cr: the SR of the replicas; mirror: the remote copied");
	form_set_check(f, F_TARGET, check_target, j);
	pools = xcalloc(j->nservers + 1, sizeof(*pools));
	pools[0] = OWN_POOL;
	for (size_t i = 0; i < j->nservers; i++)
		pools[i + 1] = j->servers[i];
	form_choice(f, "Target pool", pools, (int)j->nservers + 1, pool);
	form_set_hint(f, F_POOL, "dr, cr: the pool of the replicas (its SR above)");
	/* short hints (the column is narrow); the job's settings say the rest */
	form_toggle(f, "NBD", job ? job->nbd : true);
	form_set_hint(f, F_NBD, "delta: read disks over NBD");
	form_toggle(f, "Purge snapshot data", job && job->purge_snapshot_data);
	form_set_hint(f, F_PURGE, "delta: no snapshot data on SR");
	free(pools);
	title = job ? xasprintf("Edit backup job %s", job->name) : xstrdup("New backup job");
	d = dialog_form(title, job ? "Saved into the configuration file, its comments and other keys kept."
				   : "Added to backup_jobs in the configuration file; its comments kept.",
			f);
	dialog_on_done(d, form_done, NULL, j);
	dialog_own_ud(d, jf_free);
	app_open_dialog(app, d);
	free(title);
	free(vms);
	free(tags);
	free(remotes);
}

static void delete_done(struct app *app, const struct dialog_result *r, const char *ref, void *ud)
{
	if (r->ok)
		save(app, app_config(app)->path, ref, NULL);
}

void backup_job_delete(struct app *app, const char *name)
{
	char *text = xasprintf("Delete backup job %s from the configuration file? It stops running; its restore "
			       "points stay in their repositories. Type its name to confirm.",
			       name);
	struct dialog *d = dialog_type_name("Delete backup job", text, name);

	dialog_on_done(d, delete_done, name, NULL);
	app_open_dialog(app, d);
	free(text);
}
