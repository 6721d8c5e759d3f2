/* ISO uploads from the storage screens: the form (file, name, SR), the
 * uploads running (src/upload.c does the work) with a progress line each on
 * the storage and SR screens, cancel, and the outcome as a message. The
 * uploads outlive the screen they were started from: the app keeps them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dialog.h"
#include "draw.h"
#include "form.h"
#include "model.h"
#include "progress.h"
#include "storage.h"
#include "units.h"
#include "upload.h"
#include "util.h"

#define SHOWN_AFTER_MS 15000 /* a finished upload's line stays this long */

struct job {
	struct app *app;
	struct upload *u;
	char *sr_name;
	struct loop_timer *timer;
	bool announced;
	struct job *next;
};

/* The uploads of this run (one app at a time). */
static struct job *jobs;

static void job_free(void *data)
{
	struct job *j = data;

	for (struct job **p = &jobs; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			break;
		}
	if (j->timer)
		loop_timer_cancel(app_loop(j->app), j->timer);
	upload_free(j->u);
	free(j->sr_name);
	free(j);
}

static void on_forget(struct loop *l, void *ud)
{
	struct job *j = ud;
	struct app *app = j->app;

	j->timer = NULL;
	app_release(app, j);
	app_dirty(app);
}

static void on_change(struct upload *u, void *ud)
{
	struct job *j = ud;
	char size[24];

	app_dirty(j->app);
	if (!upload_finished(u) || j->announced)
		return;
	j->announced = true;
	size_format(size, sizeof(size), (long long)upload_size(u));
	if (upload_state(u) == UPLOAD_DONE)
		app_message(j->app, MSG_INFO, "Upload '%s' into '%s': done, %s", upload_name(u), j->sr_name, size);
	else
		app_message(j->app, upload_state(u) == UPLOAD_CANCELLED ? MSG_INFO : MSG_ERROR, "Upload '%s' into '%s': %s",
			    upload_name(u), j->sr_name, upload_message(u));
	/* a done upload's line stays a while with its full bar; any other
	 * ending is said once, by the message line (and L keeps it) */
	j->timer = loop_timer(app_loop(j->app), upload_state(u) == UPLOAD_DONE ? SHOWN_AFTER_MS : 0, on_forget, j);
}

static bool matches(const struct job *j, int pool_id, const char *sr)
{
	return (pool_id < 0 || upload_pool_id(j->u) == pool_id) && (!sr || strcmp(upload_sr(j->u), sr) == 0);
}

/* A line for it: running, or done (a failure or a cancel is told by the message line alone). */
static bool has_line(const struct job *j)
{
	return !upload_finished(j->u) || upload_state(j->u) == UPLOAD_DONE;
}

int sr_uploads_count(int pool_id, const char *sr)
{
	int n = 0;

	for (struct job *j = jobs; j; j = j->next)
		n += matches(j, pool_id, sr) && has_line(j);
	return n;
}

bool sr_uploads_running(int pool_id, const char *sr)
{
	for (struct job *j = jobs; j; j = j->next)
		if (matches(j, pool_id, sr) && !upload_finished(j->u))
			return true;
	return false;
}

bool sr_uploads_cancel(int pool_id, const char *sr)
{
	bool any = false;

	for (struct job *j = jobs; j; j = j->next)
		if (matches(j, pool_id, sr) && !upload_finished(j->u)) {
			upload_cancel(j->u);
			any = true;
		}
	return any;
}

int sr_uploads_draw(struct app *app, WINDOW *w, int y, int rows, int cols, int pool_id, const char *sr)
{
	int used = 0;
	attr_t normal = theme_attr(ROLE_NORMAL);

	for (struct job *j = jobs; j && used < rows; j = j->next) {
		struct upload *u = j->u;
		char text[256], sent[24], size[24];
		int lw, x;
		if (!matches(j, pool_id, sr) || !has_line(j))
			continue;
		size_format(sent, sizeof(sent), (long long)upload_sent(u));
		size_format(size, sizeof(size), (long long)upload_size(u));
		bool finishing = upload_all_sent(u);
		double host = finishing ? upload_host_progress(u) : -1;
		bool bar;
		switch (upload_state(u)) {
		case UPLOAD_CREATING:
			snprintf(text, sizeof(text), "Upload '%s': making the disk%s", upload_name(u), glyph(GLYPH_ELLIPSIS));
			break;
		case UPLOAD_SENDING:
			if (finishing)
				/* the bytes are out, but the host may still be taking them in: its task says how far */
				snprintf(text, sizeof(text), "Upload '%s': all %s sent; the host is finishing%s", upload_name(u),
					 size, host < 0 ? glyph(GLYPH_ELLIPSIS) : "");
			else
				snprintf(text, sizeof(text), "Uploading '%s' to '%s': %s / %s", upload_name(u), j->sr_name, sent,
					 size);
			break;
		case UPLOAD_CHECKING:
			snprintf(text, sizeof(text), "Upload '%s': %s sent, checking%s", upload_name(u), size,
				 glyph(GLYPH_ELLIPSIS));
			break;
		case UPLOAD_CLEANING:
			snprintf(text, sizeof(text), "Upload '%s': stopped, removing the partly written disk%s", upload_name(u),
				 glyph(GLYPH_ELLIPSIS));
			break;
		case UPLOAD_DONE:
			snprintf(text, sizeof(text), "Uploaded '%s' to '%s': %s, done", upload_name(u), j->sr_name, size);
			break;
		default:
			snprintf(text, sizeof(text), "Upload '%s': %s", upload_name(u), upload_message(u));
			break;
		}
		ui_fill(w, y + used, 0, cols, normal);
		bar = (upload_state(u) == UPLOAD_SENDING && (!finishing || host >= 0)) || upload_state(u) == UPLOAD_DONE;
		lw = bar ? cols * 3 / 5 : cols - 2;
		x = 1 + ui_add(w, y + used, 1, lw, theme_attr(upload_state(u) == UPLOAD_FAILED ? ROLE_BAD : ROLE_NORMAL), text);
		if (bar) {
			double frac = upload_size(u) ? (double)upload_sent(u) / (double)upload_size(u) : 1;
			if (upload_state(u) == UPLOAD_DONE)
				frac = 1;
			if (finishing)
				frac = host; /* no time left guessed: the host's pace is not the link's */
			progress_draw(w, y + used, x + 2, cols - x - 3, frac,
				      upload_state(u) == UPLOAD_SENDING && !finishing ? loop_now() - upload_started_ms(u) : 0,
				      normal);
		}
		used++;
	}
	return used;
}

/* ---- the form --------------------------------------------------------------------------- */

struct ask {
	int pool_id;
	char *sr;      /* the target's ref, or NULL: a choice field picks one */
	char **isos;   /* the choice's SR refs */
	int nisos;
	int f_file, f_name, f_sr;
};

static void ask_free(void *data)
{
	struct ask *a = data;

	for (int i = 0; i < a->nisos; i++)
		free(a->isos[i]);
	free(a->isos);
	free(a->sr);
	free(a);
}

/* Beyond the path field's own checks (a readable regular file). */
static const char *check_file(const struct form *f, int field, const char *text, void *ud)
{
	struct stat st;

	if (stat(text, &st) == 0 && st.st_size == 0)
		return "the file is empty";
	return NULL;
}

static void open_form(struct app *app, struct pool *p, struct ask *a, const char *file, const char *name, int sr_choice);

static void on_form(struct app *app, const struct dialog_result *r, const char *ref, void *ud)
{
	struct ask *a = ud;
	struct pool *p = pools_by_id(app_pools(app), a->pool_id);
	const char *file, *name, *sr;
	const struct xv *srrec;
	struct upload_req req;
	struct job *j;
	char *err = NULL, *base_name;

	if (!r->ok)
		return;
	file = form_get_text(r->form, a->f_file);
	name = form_get_text(r->form, a->f_name);
	sr = a->sr ? a->sr : a->nisos ? a->isos[form_get_choice(r->form, a->f_sr)] : NULL;
	if (!p || !p->cache || !sr || !(srrec = cache_get(p->cache, sr))) {
		app_message(app, MSG_ERROR, "Upload: the SR or its pool is gone");
		return;
	}
	base_name = xstrdup(strrchr(file, '/') ? strrchr(file, '/') + 1 : file);
	req.path = file;
	req.sr = sr;
	req.name = *name ? name : base_name;
	j = xcalloc(1, sizeof(*j));
	j->app = app;
	j->sr_name = xstrdup(rec_str(srrec, "name_label"));
	j->u = upload_start(app_pools(app), p, app_loop(app), &req, on_change, j, &err);
	free(base_name);
	if (!j->u) {
		struct ask *again = xcalloc(1, sizeof(*again));
		app_message(app, MSG_ERROR, "Upload: %s", err);
		free(err);
		free(j->sr_name);
		free(j);
		/* the user's input is kept: the form comes back as it was */
		again->pool_id = a->pool_id;
		again->sr = a->sr ? xstrdup(a->sr) : NULL;
		open_form(app, p, again, file, name, a->nisos ? form_get_choice(r->form, a->f_sr) : 0);
		return;
	}
	j->next = jobs;
	jobs = j;
	app_keep(app, j, job_free);
	app_dirty(app);
}

struct iso_list {
	struct ask *a;
	struct pool *p;
	const char **names;
};

static bool collect_iso(const char *ref, const struct xv *sr, void *ud)
{
	struct iso_list *l = ud;

	/* the tools SR is the host's own, read-only */
	if (!sr_is_iso(sr) || rec_bool(sr, "is_tools_sr"))
		return true;
	l->a->isos = xrealloc(l->a->isos, (size_t)(l->a->nisos + 1) * sizeof(char *));
	l->names = xrealloc(l->names, (size_t)(l->a->nisos + 1) * sizeof(char *));
	l->names[l->a->nisos] = rec_str(sr, "name_label");
	l->a->isos[l->a->nisos++] = xstrdup(ref);
	return true;
}

static void open_form(struct app *app, struct pool *p, struct ask *a, const char *file, const char *name, int sr_choice)
{
	struct form *f = form_new();
	struct dialog *d;
	char *text;
	const struct xv *sr = a->sr ? cache_get(p->cache, a->sr) : NULL;

	a->f_file = form_path(f, "File", file, true);
	form_set_check(f, a->f_file, check_file, NULL);
	form_set_hint(f, a->f_file, "on this computer; Tab completes");
	a->f_name = form_text(f, "Name", name, false);
	form_set_hint(f, a->f_name, "empty: the file's name");
	a->f_sr = -1;
	if (!a->sr) {
		struct iso_list l = {a, p, NULL};
		cache_each(p->cache, "SR", collect_iso, &l);
		if (!a->nisos) {
			app_message(app, MSG_ERROR, "Upload: the pool has no ISO library to upload into (n makes one)");
			free(l.names);
			form_free(f);
			ask_free(a);
			return;
		}
		a->f_sr = form_choice(f, "Into SR", l.names, a->nisos, sr_choice < a->nisos ? sr_choice : 0);
		free(l.names);
	}
	text = sr ? xasprintf("Upload an ISO file into '%s'. It is streamed: the file is never read whole into memory.",
			      rec_str(sr, "name_label"))
		  : xstrdup("Upload an ISO file into an ISO library. It is streamed: the file is never read whole into memory.");
	d = dialog_form("Upload ISO", text, f);
	dialog_on_done(d, on_form, NULL, a);
	dialog_own_ud(d, ask_free);
	app_open_dialog(app, d);
	free(text);
}

void sr_upload_start(struct app *app, struct pool *p, const char *sr_qref)
{
	struct ask *a = xcalloc(1, sizeof(*a));
	char cwd[4096], *start;
	const char *ref = NULL;

	a->pool_id = p->id;
	if (sr_qref && pools_resolve(app_pools(app), sr_qref, &ref) == p && ref)
		a->sr = xstrdup(ref);
	/* start from the working directory: most paths are typed from there */
	start = getcwd(cwd, sizeof(cwd)) ? xasprintf("%s/", strcmp(cwd, "/") == 0 ? "" : cwd) : xstrdup("");
	open_form(app, p, a, start, "", 0);
	free(start);
}
