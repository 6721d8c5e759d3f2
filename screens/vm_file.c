/* VM export to an .xva file and import from one (Xen Orchestra's Export VM
 * and Import VM). The work is `xentui vm export|import` (src/cli/vmfile.c)
 * run as a child with --progress-lines, so the interface never blocks and
 * the command line and the interface share one engine; the child logs in
 * with the pool's own password (handed in its environment, never on its
 * command line) and pins the certificate this connection trusts. The
 * transfers outlive the screens: the app keeps them, and a quitting app
 * stops the running ones (each child removes what it left half made). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dialog.h"
#include "draw.h"
#include "form.h"
#include "keys.h"
#include "model.h"
#include "progress.h"
#include "sanitize.h"
#include "units.h"
#include "util.h"
#include "vm_actions.h"
#include "vm_file.h"
#include "xva.h"

#define REAP_MS 100
#define KEEP_FINISHED 20 /* finished transfers listed; older ones are forgotten */
#define PASSWORD_VAR "XENTUI_VMFILE_PASSWORD"

enum xstate { X_RUNNING, X_DONE, X_FAILED, X_CANCELLED };

struct xfer {
	struct app *app;
	bool export;
	char *what;    /* export: the VM's name; import: the file's name */
	char *file;
	char *sr_name; /* import: where the disks go */
	pid_t pid;
	int fd;
	struct buf line; /* the child's output not yet a whole line */
	char phase[16];
	uint64_t done, total;
	int64_t started_ms; /* when the bytes began to flow */
	enum xstate state;
	bool cancelling;
	char *last;    /* the child's last line that was no progress */
	char *message; /* the outcome, once finished */
	struct loop_timer *timer;
	struct xfer *next;
};

static struct xfer *xfers; /* newest first */

static void xfer_free(void *data)
{
	struct xfer *x = data;

	for (struct xfer **p = &xfers; *p; p = &(*p)->next)
		if (*p == x) {
			*p = x->next;
			break;
		}
	if (x->timer)
		loop_timer_cancel(app_loop(x->app), x->timer);
	if (x->fd >= 0) {
		loop_watch(app_loop(x->app), x->fd, 0, NULL, NULL);
		close(x->fd);
	}
	/* the app ends: the child stops and cleans up after itself */
	if (x->state == X_RUNNING && x->pid > 0)
		kill(x->pid, SIGTERM);
	buf_free(&x->line);
	free(x->what);
	free(x->file);
	free(x->sr_name);
	free(x->last);
	free(x->message);
	free(x);
}

/* The child's words without its "xentui: " prefix, safe for the terminal. */
static char *child_sentence(const char *s)
{
	if (!s)
		return xstrdup("the transfer ended without saying why");
	if (strncmp(s, "xentui: ", 8) == 0)
		s += 8;
	return sanitize(s);
}

static void finish(struct xfer *x, int rc)
{
	char *why = child_sentence(x->last);
	char size[24];
	int kept = 0;

	size_format(size, sizeof(size), (long long)x->done);
	if (rc == 0) {
		x->state = X_DONE;
		x->message = x->export ? xasprintf("done: %s written to %s", size, x->file)
				       : xasprintf("done: the new VM's UUID is %s", why);
	} else if (x->cancelling) {
		x->state = X_CANCELLED;
		x->message = xstrdup(x->export ? "cancelled; no file was written" : "cancelled; no VM was made");
	} else {
		x->state = X_FAILED;
		x->message = xstrdup(why);
	}
	free(why);
	if (x->export)
		app_message(x->app, x->state == X_FAILED ? MSG_ERROR : MSG_INFO, "Export of '%s': %s", x->what, x->message);
	else
		app_message(x->app, x->state == X_FAILED ? MSG_ERROR : MSG_INFO, "Import of '%s' into '%s': %s", x->what,
			    x->sr_name, x->message);
	/* the list stays short: the oldest finished ones go */
	for (struct xfer *o = xfers, *next; o; o = next) {
		next = o->next;
		if (o != x && o->state != X_RUNNING && ++kept > KEEP_FINISHED)
			app_release(o->app, o);
	}
	app_dirty(x->app);
}

static void on_reap(struct loop *l, void *ud)
{
	struct xfer *x = ud;
	int status;
	pid_t r = waitpid(x->pid, &status, WNOHANG);

	x->timer = NULL;
	if (r == 0 || (r < 0 && errno == EINTR)) {
		x->timer = loop_timer(l, REAP_MS, on_reap, x);
		return;
	}
	finish(x, r < 0 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

/* "@progress PHASE DONE TOTAL", or a sentence kept for the end. */
static void take_line(struct xfer *x, const char *s)
{
	char phase[16];
	unsigned long long done, total;

	if (sscanf(s, "@progress %15s %llu %llu", phase, &done, &total) == 3) {
		if (strcmp(phase, x->phase) != 0)
			x->started_ms = 0;
		snprintf(x->phase, sizeof(x->phase), "%s", phase);
		x->done = done;
		x->total = total;
		if (!x->started_ms && done == 0 && (strcmp(phase, "export") == 0 || strcmp(phase, "import") == 0))
			x->started_ms = loop_now();
		return;
	}
	if (*s) {
		free(x->last);
		x->last = xstrdup(s);
	}
}

static void on_output(struct loop *l, int fd, int events, void *ud)
{
	struct xfer *x = ud;
	char chunk[4096];
	ssize_t n = read(fd, chunk, sizeof(chunk));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		char *nl;
		buf_append(&x->line, chunk, (size_t)n);
		buf_putc(&x->line, '\0');
		x->line.len--;
		while ((nl = memchr(x->line.data, '\n', x->line.len))) {
			size_t k = (size_t)(nl - x->line.data);
			*nl = '\0';
			take_line(x, x->line.data);
			memmove(x->line.data, nl + 1, x->line.len - k - 1);
			x->line.len -= k + 1;
		}
		app_dirty(x->app);
		return;
	}
	/* the child closed its output: it is ending */
	loop_watch(l, fd, 0, NULL, NULL);
	close(fd);
	x->fd = -1;
	x->timer = loop_timer(l, 0, on_reap, x);
}

/* Runs `xentui vm ARGS... --progress-lines <connection>` for pool p. */
static bool start_child(struct app *app, struct pool *p, struct xfer *x, const char *const *args)
{
	const char *config = app_config(app)->path, *fp = p->x ? xapi_seen_fingerprint(p->x) : "";
	const char *argv[32];
	int n = 0, pipefd[2];
	char **env;
	pid_t pid;

	if (!p->x || xapi_state(p->x) != XAPI_READY) {
		app_message(app, MSG_ERROR, "%s: the pool is not connected", x->export ? "Export" : "Import");
		return false;
	}
	/* the child logs in by itself: the console lock must be asked here */
	if (!app_may_change(app, x->export ? "Export" : "Import"))
		return false;
	argv[n++] = "xentui";
	argv[n++] = "vm";
	while (*args && n < 20)
		argv[n++] = *args++;
	argv[n++] = "--progress-lines";
	argv[n++] = "--user";
	argv[n++] = p->cfg.user && *p->cfg.user ? p->cfg.user : "root";
	argv[n++] = "--password-env";
	argv[n++] = PASSWORD_VAR;
	if (fp && *fp) {
		argv[n++] = "--fingerprint"; /* the certificate this connection trusts now */
		argv[n++] = fp;
	}
	if (p->cfg.insecure)
		argv[n++] = "--insecure";
	if (config && access(config, R_OK) == 0) { /* the default path may not exist */
		argv[n++] = "--config";
		argv[n++] = config;
	}
	argv[n++] = xapi_url(p->x);
	argv[n] = NULL;
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		app_message(app, MSG_ERROR, "Cannot start the transfer: %s", strerror(errno));
		return false;
	}
	env = pool_child_env(p, PASSWORD_VAR);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		/* its own session: ^C in the terminal is the interface's */
		setsid();
		signal(SIGPIPE, SIG_IGN);
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		dup2(pipefd[1], STDOUT_FILENO);
		dup2(pipefd[1], STDERR_FILENO);
		/* the interface's connections and terminal stay the interface's */
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		execve("/proc/self/exe", (char *const *)argv, env);
		dprintf(STDERR_FILENO, "xentui: cannot run xentui vm: %s\n", strerror(errno));
		_exit(127);
	}
	pool_child_env_free(env);
	close(pipefd[1]);
	if (pid < 0) {
		app_message(app, MSG_ERROR, "Cannot start the transfer: %s", strerror(errno));
		close(pipefd[0]);
		return false;
	}
	fcntl(pipefd[0], F_SETFL, fcntl(pipefd[0], F_GETFL) | O_NONBLOCK);
	x->app = app;
	x->pid = pid;
	x->fd = pipefd[0];
	x->state = X_RUNNING;
	buf_init(&x->line);
	x->next = xfers;
	xfers = x;
	app_keep(app, x, xfer_free);
	loop_watch(app_loop(app), x->fd, LOOP_IN, on_output, x);
	return true;
}

static void xfer_discard(struct xfer *x)
{
	free(x->what);
	free(x->file);
	free(x->sr_name);
	free(x);
}

/* ---- export ---------------------------------------------------------------------- */

static const char *const compressions[] = {"zstd", "gzip", "none"};

struct exp {
	int pool_id;
	char *vm_uuid, *vm_name;
	char *file;
	int compression;
	int f_file, f_comp;
};

static void exp_free(void *data)
{
	struct exp *e = data;

	free(e->vm_uuid);
	free(e->vm_name);
	free(e->file);
	free(e);
}

static void open_export_form(struct app *app, struct exp *e);

static void run_export(struct app *app, struct exp *e, bool force)
{
	struct pool *p = pools_by_id(app_pools(app), e->pool_id);
	struct xfer *x = xcalloc(1, sizeof(*x));
	const char *args[] = {"export", e->vm_uuid, e->file, "--compress", compressions[e->compression],
			      force ? "--force" : NULL, NULL};

	x->fd = -1;
	x->export = true;
	x->what = xstrdup(e->vm_name);
	x->file = xstrdup(e->file);
	if (!p || !start_child(app, p, x, args)) {
		if (!p)
			app_message(app, MSG_ERROR, "Export: the VM's pool is gone");
		xfer_discard(x);
		return;
	}
	app_push(app, &screen_vm_files, NULL);
}

static void on_replace(struct app *app, const struct dialog_result *r, const char *ref, void *ud)
{
	struct exp *e = ud;

	if (r->ok)
		run_export(app, e, true);
	else {
		/* the form comes back as it was: another name, perhaps */
		struct exp *again = xcalloc(1, sizeof(*again));
		again->pool_id = e->pool_id;
		again->vm_uuid = xstrdup(e->vm_uuid);
		again->vm_name = xstrdup(e->vm_name);
		again->file = xstrdup(e->file);
		again->compression = e->compression;
		open_export_form(app, again);
	}
}

static void on_export_form(struct app *app, const struct dialog_result *r, const char *ref, void *ud)
{
	struct exp *e = ud, *keep;
	struct stat st;

	if (!r->ok)
		return;
	free(e->file);
	e->file = xstrdup(form_get_text(r->form, e->f_file));
	e->compression = form_get_choice(r->form, e->f_comp);
	if (stat(e->file, &st) != 0) {
		run_export(app, e, false);
		return;
	}
	/* never over a file without asking, naming what is lost */
	keep = xcalloc(1, sizeof(*keep));
	*keep = *e;
	keep->vm_uuid = xstrdup(e->vm_uuid);
	keep->vm_name = xstrdup(e->vm_name);
	keep->file = xstrdup(e->file);
	{
		char size[24], *text;
		struct dialog *d;
		size_format(size, sizeof(size), (long long)st.st_size);
		text = xasprintf("%s exists (%s). Replace it with the export of '%s'? Its content is lost.", e->file, size,
				 e->vm_name);
		d = dialog_confirm("Replace file", text, "Replace", "Keep it", true);
		dialog_on_done(d, on_replace, NULL, keep);
		dialog_own_ud(d, exp_free);
		app_open_dialog(app, d);
		free(text);
	}
}

static void open_export_form(struct app *app, struct exp *e)
{
	struct form *f = form_new();
	struct dialog *d;
	char *text;

	e->f_file = form_path_new(f, "File", e->file, true);
	form_set_hint(f, e->f_file, "on this computer; Tab completes");
	e->f_comp = form_choice(f, "Compression", compressions, 3, e->compression);
	text = xasprintf("Export '%s' as an XVA file on this computer. A running VM is exported through a snapshot, "
			 "removed afterwards. It is streamed: memory stays small whatever the size.",
			 e->vm_name);
	d = dialog_form("Export VM", text, f);
	dialog_on_done(d, on_export_form, NULL, e);
	dialog_own_ud(d, exp_free);
	app_open_dialog(app, d);
	free(text);
}

/* A file name from the VM's name: letters, digits, '.', '-' and '_'. */
static char *file_name_for(const char *name)
{
	char *s = xasprintf("%s.xva", *name ? name : "vm");

	for (char *c = s; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '.' ||
		      *c == '-' || *c == '_'))
			*c = '_';
	return s;
}

void vm_file_export_key(struct app *app, void *st)
{
	const struct vm_target *t = st;
	const char *qref = t->ref ? t->ref(app, st) : NULL, *ref = NULL;
	struct pool *p = NULL;
	const struct xv *vm = qref ? app_lookup(app, qref, &p, &ref) : NULL;
	struct exp *e;
	char cwd[4096], *base;

	if (!vm || !p) {
		app_message(app, MSG_ERROR, "Export: choose a VM first");
		return;
	}
	e = xcalloc(1, sizeof(*e));
	e->pool_id = p->id;
	e->vm_uuid = xstrdup(rec_str(vm, "uuid"));
	e->vm_name = sanitize(rec_str(vm, "name_label"));
	base = file_name_for(rec_str(vm, "name_label"));
	/* start from the working directory: most paths are typed from there */
	e->file = getcwd(cwd, sizeof(cwd)) ? xasprintf("%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, base) : xstrdup(base);
	free(base);
	open_export_form(app, e);
}

/* ---- import ---------------------------------------------------------------------- */

struct imp {
	int pool_id;
	char **srs; /* the choice's SR refs */
	int nsrs;
	int f_file, f_sr, f_start;
};

static void imp_free(void *data)
{
	struct imp *m = data;

	for (int i = 0; i < m->nsrs; i++)
		free(m->srs[i]);
	free(m->srs);
	free(m);
}

/* The file's start through the XVA checker: most wrong files are told
 * beside the field; a cut one is caught by the transfer, before it ends. */
static const char *check_xva(const struct form *f, int field, const char *text, void *ud)
{
	unsigned char buf[65536];
	struct xva_check *c;
	FILE *in = fopen(text, "re");
	size_t n;
	char *err = NULL;
	bool ok;

	if (!in)
		return NULL; /* the path field says why */
	n = fread(buf, 1, sizeof(buf), in);
	fclose(in);
	c = xva_check_new();
	ok = n > 0 && xva_check_write(c, buf, n, &err);
	xva_check_free(c);
	free(err);
	return ok ? NULL : n == 0 ? "the file is empty" : "not an XVA file (a VM export)";
}

static void on_import_form(struct app *app, const struct dialog_result *r, const char *ref, void *ud)
{
	struct imp *m = ud;
	struct pool *p = pools_by_id(app_pools(app), m->pool_id);
	const char *file, *sr, *slash;
	const struct xv *srrec;
	struct xfer *x;

	if (!r->ok)
		return;
	file = form_get_text(r->form, m->f_file);
	sr = m->srs[form_get_choice(r->form, m->f_sr)];
	if (!p || !p->cache || !(srrec = cache_get(p->cache, sr))) {
		app_message(app, MSG_ERROR, "Import: the SR or its pool is gone");
		return;
	}
	x = xcalloc(1, sizeof(*x));
	x->fd = -1;
	slash = strrchr(file, '/');
	x->what = sanitize(slash ? slash + 1 : file);
	x->file = xstrdup(file);
	x->sr_name = sanitize(rec_str(srrec, "name_label"));
	{
		const char *args[] = {"import", file, "--sr", rec_str(srrec, "uuid"),
				      form_get_toggle(r->form, m->f_start) ? "--start" : NULL, NULL};
		if (!start_child(app, p, x, args)) {
			xfer_discard(x);
			return;
		}
	}
	app_push(app, &screen_vm_files, NULL);
}

struct sr_list {
	struct imp *m;
	const char **names;
	const char *deflt;
	int selected;
};

static bool collect_sr(const char *ref, const struct xv *sr, void *ud)
{
	struct sr_list *l = ud;

	if (!sr_takes_new_disks(sr))
		return true;
	if (l->deflt && strcmp(ref, l->deflt) == 0)
		l->selected = l->m->nsrs;
	l->m->srs = xrealloc(l->m->srs, (size_t)(l->m->nsrs + 1) * sizeof(char *));
	l->names = xrealloc(l->names, (size_t)(l->m->nsrs + 1) * sizeof(char *));
	l->names[l->m->nsrs] = rec_str(sr, "name_label");
	l->m->srs[l->m->nsrs++] = xstrdup(ref);
	return true;
}

void vm_file_import_key(struct app *app, void *st)
{
	const struct vm_target *t = st;
	const char *qref = t && t->ref ? t->ref(app, st) : NULL, *pref = NULL;
	struct pool *p = NULL;
	const struct xv *pr;
	struct imp *m;
	struct sr_list l = {0};
	struct form *f;
	struct dialog *d;
	char cwd[4096], *start;

	if (!qref || !app_lookup(app, qref, &p, NULL) || !p)
		p = pools_first_active(app_pools(app));
	if (!p || !p->cache) {
		app_message(app, MSG_ERROR, "Import: no pool is connected");
		return;
	}
	m = xcalloc(1, sizeof(*m));
	m->pool_id = p->id;
	l.m = m;
	if ((pr = pool_record(p->cache, &pref)))
		l.deflt = rec_str(pr, "default_SR");
	cache_each(p->cache, "SR", collect_sr, &l);
	if (!m->nsrs) {
		app_message(app, MSG_ERROR, "Import: the pool has no SR that takes new disks");
		free(l.names);
		imp_free(m);
		return;
	}
	f = form_new();
	start = getcwd(cwd, sizeof(cwd)) ? xasprintf("%s/", strcmp(cwd, "/") == 0 ? "" : cwd) : xstrdup("");
	m->f_file = form_path(f, "File", start, true);
	free(start);
	form_set_check(f, m->f_file, check_xva, NULL);
	form_set_hint(f, m->f_file, "an .xva on this computer; Tab completes");
	m->f_sr = form_choice(f, "Disks on SR", l.names, m->nsrs, l.selected);
	m->f_start = form_toggle(f, "Start it", false);
	free(l.names);
	d = dialog_form("Import VM", "Import an XVA file from this computer as a new VM. It is checked as it is sent: "
				     "a file that is not a whole XVA makes no VM.",
			f);
	dialog_on_done(d, on_import_form, NULL, m);
	dialog_own_ud(d, imp_free);
	app_open_dialog(app, d);
}

/* ---- the VM files screen --------------------------------------------------------- */

struct files_screen {
	int sel;
};

void vm_file_show_key(struct app *app, void *st)
{
	app_push(app, &screen_vm_files, NULL);
}

static void *files_enter(struct app *app, const void *arg)
{
	return xcalloc(1, sizeof(struct files_screen));
}

static void files_leave(struct app *app, void *st)
{
	free(st);
}

static int count(void)
{
	int n = 0;

	for (struct xfer *x = xfers; x; x = x->next)
		n++;
	return n;
}

static struct xfer *nth(int i)
{
	struct xfer *x = xfers;

	while (x && i-- > 0)
		x = x->next;
	return x;
}

static void status_line(const struct xfer *x, char *text, size_t n, bool *bar)
{
	char done[24], total[24];

	*bar = false;
	size_format(done, sizeof(done), (long long)x->done);
	size_format(total, sizeof(total), (long long)x->total);
	if (x->state != X_RUNNING) {
		snprintf(text, n, "%s", x->message ? x->message : "");
	} else if (x->cancelling) {
		snprintf(text, n, "cancelling: %s%s", x->export ? "removing the partial file" : "the host removes what it made",
			 glyph(GLYPH_ELLIPSIS));
	} else if (strcmp(x->phase, "snapshot") == 0) {
		snprintf(text, n, "taking a snapshot of the running VM%s", glyph(GLYPH_ELLIPSIS));
	} else if (strcmp(x->phase, "start") == 0) {
		snprintf(text, n, "imported; starting the VM%s", glyph(GLYPH_ELLIPSIS));
	} else if (strcmp(x->phase, "export") == 0 || strcmp(x->phase, "import") == 0) {
		snprintf(text, n, "%s %s of %s%s", x->export ? "exported" : "sent", done, x->export ? "about " : "", total);
		*bar = x->total > 0;
	} else {
		snprintf(text, n, "connecting%s", glyph(GLYPH_ELLIPSIS));
	}
}

static void files_draw(struct app *app, void *st, WINDOW *w, int h, int cols)
{
	struct files_screen *s = st;
	int n = count(), y = 1;
	attr_t normal = theme_attr(ROLE_NORMAL);

	if (s->sel >= n)
		s->sel = n ? n - 1 : 0;
	if (n == 0) {
		ui_put(w, 0, 1, cols - 2, theme_attr(ROLE_DIM),
		       "No exports or imports in this session: w on a VM exports it, U imports a file (on the VM list).");
		return;
	}
	ui_put(w, 0, 1, cols - 2, theme_attr(ROLE_HEADER), "Exports and imports of this session (newest first)");
	for (int i = 0; i < n && y + 1 < h; i++) {
		struct xfer *x = nth(i);
		char title[512], text[512];
		bool bar;
		int used;
		if (x->export)
			snprintf(title, sizeof(title), "Export '%s' to %s", x->what, x->file);
		else
			snprintf(title, sizeof(title), "Import %s into '%s'", x->what, x->sr_name);
		ui_fill(w, y, 0, cols, i == s->sel ? theme_attr(ROLE_SELECTED) : normal);
		ui_put(w, y, 1, cols - 2, i == s->sel ? theme_attr(ROLE_SELECTED) : normal, title);
		status_line(x, text, sizeof(text), &bar);
		used = 3 + ui_put(w, y + 1, 3, bar ? cols * 2 / 5 : cols - 4,
				  theme_attr(x->state == X_FAILED ? ROLE_BAD : x->state == X_DONE ? ROLE_GOOD : ROLE_NORMAL),
				  text);
		if (bar) {
			double frac = (double)x->done / (double)x->total;
			if (frac > 0.99)
				frac = 0.99; /* an estimate: 100 % only when the host says it is done */
			progress_draw(w, y + 1, used + 2, cols - used - 3, frac,
				      x->started_ms ? loop_now() - x->started_ms : 0, normal);
		}
		y += 3;
	}
}

static int files_key(struct app *app, void *st, int key)
{
	struct files_screen *s = st;

	if ((key == XK_DOWN || key == 'j') && s->sel + 1 < count())
		s->sel++;
	else if ((key == XK_UP || key == 'k') && s->sel > 0)
		s->sel--;
	else
		return EV_IGNORED;
	app_dirty(app);
	return EV_HANDLED;
}

static void cancel_key(struct app *app, void *st)
{
	struct files_screen *s = st;
	struct xfer *x = nth(s->sel);

	if (!x || x->state != X_RUNNING) {
		app_message(app, MSG_INFO, "Nothing to cancel: the selected transfer has ended");
		return;
	}
	if (!x->cancelling && x->pid > 0)
		kill(x->pid, SIGTERM); /* the child removes what it made, then ends */
	x->cancelling = true;
	app_dirty(app);
}

static bool running_selected(struct app *app, void *st)
{
	struct files_screen *s = st;
	struct xfer *x = nth(s->sel);

	return x && x->state == X_RUNNING && !x->cancelling;
}

static const struct screen_key files_keys[] = {
	{'x', "Cancel", "Cancel the selected export or import (a partial file or VM is removed)", cancel_key,
	 running_selected, true},
	{0, NULL, NULL, NULL, NULL, false},
};

const struct screen screen_vm_files = {
	.name = "vm-files",
	.title = "VM files",
	.keys = files_keys,
	.enter = files_enter,
	.leave = files_leave,
	.draw = files_draw,
	.key = files_key,
};
