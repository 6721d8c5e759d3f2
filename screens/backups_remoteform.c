/* New, edit and delete a backup repository (a `remotes` entry) in a form
 * with the configuration's own keys, written back into the file's text as
 * the job form writes jobs (every comment and other key kept), checked by
 * the engine's reader before it replaces the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "backups_jobedit.h"
#include "bconfig.h"
#include "cfgedit.h"
#include "dialog.h"
#include "form.h"
#include "util.h"

enum { F_NAME, F_URL, F_USER, F_PWFILE, F_PWENV, F_PWCMD, F_ENDPOINT, F_REGION };

/* The keys the form edits, in the order of its fields (path_style and any
 * other key are left as written), with each field's label and hint. */
static const struct field {
	const char *key, *label, *hint;
	bool required;
} fields[] = {
	[F_NAME] = {"name", "Name", NULL, true},
	[F_URL] = {"url", "URL", "file:// nfs:// smb:// s3://", true},
	[F_USER] = {"user", "User", "smb: user; s3: access key id", false},
	[F_PWFILE] = {"password_file", "Password file", "its first line; chmod 600", false},
	[F_PWENV] = {"password_env", "Password variable", "or a variable holding it", false},
	[F_PWCMD] = {"password_command", "Password command", "or a command printing it", false},
	[F_ENDPOINT] = {"endpoint", "Endpoint", "s3: host[:port]", false},
	[F_REGION] = {"region", "Region", "s3: default us-east-1", false},
};
#define NFIELDS (ARRAY_LEN(fields))

static const char *const schemes[] = {"file:///", "nfs://", "smb://", "s3://", "s3+http://"};

struct remoteform {
	char *path;
	char *old_name; /* NULL: a new remote */
	char **others;  /* the other remotes' names */
	size_t nothers;
	char msg[160];
};

static void rf_free(void *ud)
{
	struct remoteform *r = ud;

	free(r->path);
	free(r->old_name);
	for (size_t i = 0; i < r->nothers; i++)
		free(r->others[i]);
	free(r->others);
	free(r);
}

static const char *check_name(const struct form *f, int field, const char *text, void *ud)
{
	struct remoteform *r = ud;

	return groupedit_name_problem(text, r->others, r->nothers, "another remote has this name");
}

static const char *check_url(const struct form *f, int field, const char *text, void *ud)
{
	for (size_t i = 0; i < ARRAY_LEN(schemes); i++)
		if (strncmp(text, schemes[i], strlen(schemes[i])) == 0 && text[strlen(schemes[i])])
			return NULL;
	return "file, nfs, smb or s3 URLs only";
}

/* One source for the password at most (checked on the last of the three).
 * Hints and messages stay short: the form's hint column is narrow. */
static const char *check_sources(const struct form *f, int field, const char *text, void *ud)
{
	int n = !!*form_get_text(f, F_PWFILE) + !!*form_get_text(f, F_PWENV) + !!*text;

	return n > 1 ? "one password source only" : NULL;
}

struct remote_change {
	const char *old_name;
	struct group_key *k; /* NULL: removed */
};

static char *apply(const char *text, size_t n, void *ud, char **err)
{
	const struct remote_change *c = ud;

	return groupedit_apply(text, n, "remotes", c->old_name, c->k, c->k ? NFIELDS : 0, err);
}

static void form_done(struct app *app, const struct dialog_result *res, const char *ref, void *ud)
{
	struct remoteform *r = ud;
	struct group_key k[NFIELDS];
	struct remote_change c = {r->old_name, k};
	char *err = NULL;

	if (!res->ok)
		return;
	for (size_t i = 0; i < NFIELDS; i++) {
		const char *v = form_get_text(res->form, (int)i);
		struct buf b;
		buf_init(&b);
		if (*v)
			cfgedit_put_quoted(&b, v);
		k[i] = (struct group_key){fields[i].key, *v ? buf_steal(&b) : NULL, false, true};
		if (!*v)
			buf_free(&b);
	}
	if (backups_cfg_edit(r->path, apply, &c, &err))
		app_message(app, MSG_INFO, "Remote %s saved in %s (comments and other settings kept); t tests it",
			    form_get_text(res->form, F_NAME), r->path);
	else
		app_message(app, MSG_ERROR, "%s", err ? err : "the remote could not be saved");
	for (size_t i = 0; i < NFIELDS; i++)
		free(k[i].value);
	free(err);
}

void backup_remote_form(struct app *app, const struct backup_cfg *bc, const char *name)
{
	const struct remote_cfg *rc = name ? backup_cfg_remote(bc, name) : NULL;
	const char *now[NFIELDS] = {NULL};
	struct remoteform *r = xcalloc(1, sizeof(*r));
	struct form *f = form_new();
	struct dialog *d;
	char *title;

	r->path = xstrdup(app_config(app)->path);
	r->old_name = rc ? xstrdup(rc->name) : NULL;
	for (size_t i = 0; i < bc->nremotes; i++)
		if (!rc || strcmp(bc->remotes[i].name, rc->name) != 0) {
			r->others = xrealloc(r->others, (r->nothers + 1) * sizeof(char *));
			r->others[r->nothers++] = xstrdup(bc->remotes[i].name);
		}
	if (rc) {
		const char *v[NFIELDS] = {rc->name,	       rc->url,		     rc->user,	   rc->password_file,
					  rc->password_env, rc->password_command, rc->endpoint, rc->region};
		memcpy(now, v, sizeof(now));
	}
	for (size_t i = 0; i < NFIELDS; i++) {
		form_text(f, fields[i].label, now[i] ? now[i] : "", fields[i].required);
		if (fields[i].hint)
			form_set_hint(f, (int)i, fields[i].hint);
	}
	form_set_check(f, F_NAME, check_name, r);
	form_set_check(f, F_URL, check_url, r);
	form_set_check(f, F_PWCMD, check_sources, r);
	title = rc ? xasprintf("Edit remote %s", rc->name) : xstrdup("New remote");
	d = dialog_form(title, rc ? "Saved into the configuration file, its comments and other keys kept; the password "
				    "itself is never written there."
				  : "Added to remotes in the configuration file, its comments kept; the password itself "
				    "is never written there.",
			f);
	dialog_on_done(d, form_done, NULL, r);
	dialog_own_ud(d, rf_free);
	app_open_dialog(app, d);
	free(title);
}

static void delete_done(struct app *app, const struct dialog_result *res, const char *ref, void *ud)
{
	struct remote_change c = {ref, NULL};
	char *err = NULL;

	if (!res->ok)
		return;
	if (backups_cfg_edit(app_config(app)->path, apply, &c, &err))
		app_message(app, MSG_INFO, "Remote %s removed from %s; its restore points were not touched", ref,
			    app_config(app)->path);
	else
		app_message(app, MSG_ERROR, "%s", err ? err : "the remote could not be removed");
	free(err);
}

void backup_remote_delete(struct app *app, const struct backup_cfg *bc, const char *name)
{
	const struct remote_cfg *rc = backup_cfg_remote(bc, name);
	struct buf users;
	struct dialog *d;
	char *text;

	if (!rc)
		return;
	buf_init(&users);
	for (size_t i = 0; i < bc->njobs; i++) {
		const struct job_cfg *j = &bc->jobs[i];
		bool uses = j->source_remote && strcmp(j->source_remote, name) == 0;
		for (size_t k = 0; k < j->nremotes; k++)
			uses |= strcmp(j->remotes[k], name) == 0;
		if (uses) {
			buf_sep(&users, ", ");
			buf_puts(&users, j->name);
		}
	}
	if (users.len) {
		app_message(app, MSG_ERROR, "Remote %s is used by the backup job%s %s: take it out of %s first", name,
			    strchr(users.data, ',') ? "s" : "", users.data, strchr(users.data, ',') ? "them" : "it");
		buf_free(&users);
		return;
	}
	buf_free(&users);
	text = xasprintf("Remove remote %s (%s) from the configuration file? The restore points there are not deleted, "
			 "but xentui no longer lists, verifies or restores them. Type its name to confirm.",
			 name, rc->url);
	d = dialog_type_name("Remove remote", text, name);
	dialog_on_done(d, delete_done, name, NULL);
	app_open_dialog(app, d);
	free(text);
}
