/* `xentui vm export|import`: a VM as an .xva file on this computer. The
 * export streams /export into FILE.partial through the XVA checker and
 * renames it only once the checker and the host's task both say it is
 * whole; a running VM is exported through a snapshot that goes afterwards.
 * The import checks the file's start before sending anything, checks the
 * rest as it goes, and holds the last bytes back until the whole file is
 * known good, so a cut or damaged file never makes a VM. */
#include "vmfile.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bkutil.h"
#include "bxapi.h"
#include "config.h"
#include "connopts.h"
#include "loop.h"
#include "sanitize.h"
#include "secret.h"
#include "util.h"
#include "xva.h"

#define PROBE_BYTES (1u << 20) /* the start of a file checked before anything is sent */
#define EXPORT_MARK "xentui:export" /* on the snapshot a running VM is exported from */

struct vopts {
	struct conn_opts conn;
	const char *config;
	const char *compress; /* zstd, gzip, none */
	const char *sr;
	bool force, start, lines;
	int nargs;
	char **args;
};

static volatile sig_atomic_t stopped; /* SIGINT/SIGTERM: stop, clean up, exit 1 */
static bool machine;                  /* --progress-lines: the interface reads stderr */
static bool human;                    /* stderr is a terminal: one progress line */
static const char *phase = "";
static int64_t last_shown;

static void on_stop(int sig)
{
	(void)sig;
	stopped = 1;
}

static void usage(FILE *f)
{
	fputs("usage: xentui vm export VM FILE [--compress zstd|gzip|none] [--force] [SERVER-NAME | URL]\n"
	      "       xentui vm import FILE --sr SR [--start] [SERVER-NAME | URL]\n"
	      "  export: the VM (name or UUID; a running one through a snapshot, removed afterwards)\n"
	      "          as an XVA file; an existing FILE is replaced only with --force (default zstd)\n"
	      "  import: an XVA file as a new VM whose disks go on SR (name or UUID); prints its UUID\n"
	      "  -c, --config FILE; -u, --user USER; --password-file FILE; --password-env VAR; -k, --insecure;\n"
	      "  --fingerprint SHA256; --cacert FILE   as for `xentui list`\n"
	      "Exit status: 0 done, 1 a failure (nothing left behind), 2 bad usage.\n",
	      f);
}

static int bad_usage(const char *fmt, const char *arg)
{
	fputs("xentui vm: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\n(see xentui vm --help)\n", stderr);
	return 2;
}

/* "@progress PHASE DONE TOTAL" for the interface, or "\r..." on a terminal. */
static void show(const char *ph, uint64_t done, uint64_t total, bool force)
{
	int64_t now = loop_now();

	phase = ph;
	if (!force && now - last_shown < 200)
		return;
	last_shown = now;
	if (machine) {
		fprintf(stderr, "@progress %s %llu %llu\n", ph, (unsigned long long)done, (unsigned long long)total);
		fflush(stderr);
	} else if (human) {
		char d[24], t[24];
		bk_human(done, d);
		bk_human(total, t);
		if (total)
			fprintf(stderr, "\r%s: %3d%%  %s of about %s   ", ph, done >= total ? 99 : (int)(done * 100 / total), d, t);
		else
			fprintf(stderr, "\r%s: %s   ", ph, d);
		fflush(stderr);
	}
}

static void show_end(void)
{
	if (human && last_shown)
		fputc('\n', stderr);
	last_shown = 0;
}

static void on_bx_progress(uint64_t done, uint64_t total, void *ud)
{
	const uint64_t *estimate = ud;

	show(phase, done, total ? total : *estimate > done ? *estimate : 0, false);
}

static int parse(int argc, char **argv, struct vopts *o)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		CONN_LONG_OPTIONS,
		{"compress", required_argument, NULL, 'z'},
		{"force", no_argument, NULL, 'f'},
		{"sr", required_argument, NULL, 's'},
		{"start", no_argument, NULL, 'S'},
		{"progress-lines", no_argument, NULL, 'L'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->compress = "zstd";
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "c:fh" CONN_SHORT_OPTIONS, opts, NULL)) != -1) {
		if (conn_take_option(c, optarg, &o->conn))
			continue;
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'z': o->compress = optarg; break;
		case 'f': o->force = true; break;
		case 's': o->sr = optarg; break;
		case 'S': o->start = true; break;
		case 'L': o->lines = true; break;
		case 'h': usage(stdout); exit(0);
		default:
			return bad_usage("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (!conn_options_valid(&o->conn, "xentui vm"))
		return 2;
	o->args = argv + optind;
	o->nargs = argc - optind;
	if (o->nargs < 1)
		return bad_usage("what? export or import%s", "");
	if (strcmp(o->compress, "zstd") != 0 && strcmp(o->compress, "gzip") != 0 && strcmp(o->compress, "none") != 0)
		return bad_usage("--compress takes zstd, gzip or none, not '%s'", o->compress);
	return 0;
}

/* Logs in to target (a server name, a URL, or the only configured server). */
static struct bx *connect_to(const struct vopts *o, const char *target, int *rc)
{
	struct config cfg;
	struct conn_opts c = o->conn;
	const struct server_cfg *sv = NULL;
	struct xapi_opts xo;
	char *err = NULL, *password;
	struct bx *bx;

	if (!config_load(o->config, &cfg, &err)) {
		fprintf(stderr, "xentui: %s\n", err);
		free(err);
		*rc = 2;
		return NULL;
	}
	c.target = target;
	if ((*rc = conn_resolve(&c, &cfg, &xo, &sv))) {
		config_free(&cfg);
		return NULL;
	}
	if (!(password = conn_password(&c, sv, xo.user, xo.url, &err))) {
		fprintf(stderr, "xentui: %s\n", err);
		free(err);
		config_free(&cfg);
		*rc = 1;
		return NULL;
	}
	xo.password = password;
	bx = bx_connect(&xo, &err);
	secret_free(password);
	config_free(&cfg);
	if (!bx) {
		fprintf(stderr, "xentui: %s\n", err);
		free(err);
		*rc = 1;
	}
	return bx;
}

/* One object of cls by UUID, or by name when exactly one (not a template,
 * snapshot or dom0 for a VM) has it. */
static char *find_one(struct bx *bx, const char *cls, const char *what, char **err)
{
	char *method, *ref = NULL;
	struct xv *refs;
	size_t n = 0;

	if ((ref = bk_ref_by_uuid(bx, cls, what)))
		return ref;
	method = xasprintf("%s.get_by_name_label", cls);
	refs = bk_call(bx, method, err, what, (char *)NULL);
	free(method);
	if (!refs)
		return NULL;
	for (size_t i = 0; i < xv_len(refs); i++) {
		const char *r = xv_str(xv_at(refs, i));
		bool skip = false;
		if (strcmp(cls, "VM") == 0) {
			char *e = NULL;
			struct xv *rec = bk_call(bx, "VM.get_record", &e, r, (char *)NULL);
			const struct xv *t = xv_struct_get(rec, "is_a_template"), *s = xv_struct_get(rec, "is_a_snapshot"),
					*d = xv_struct_get(rec, "is_control_domain");
			skip = !rec || (t && t->type == XV_BOOL && t->u.b) || (s && s->type == XV_BOOL && s->u.b) ||
			       (d && d->type == XV_BOOL && d->u.b);
			xv_free(rec);
			free(e);
		}
		if (skip)
			continue;
		if (n++ == 0)
			ref = xstrdup(r);
	}
	xv_free(refs);
	if (n == 1)
		return ref;
	free(ref);
	*err = n ? xasprintf("%zu %ss are named '%s': give the UUID of one (xentui list %s)", n, cls, what,
			     strcmp(cls, "VM") == 0 ? "vms" : "srs")
		 : xasprintf("no %s named '%s' (nor with that UUID)", cls, what);
	return NULL;
}

/* ---- export ---------------------------------------------------------------------- */

struct out {
	FILE *f;
	struct xva_check *check;
	uint64_t size;
};

static bool to_file(const void *buf, size_t n, void *ud, char **err)
{
	struct out *o = ud;

	if (stopped) {
		*err = xstrdup("the export was stopped");
		return false;
	}
	if (!xva_check_write(o->check, buf, n, err))
		return false;
	if (fwrite(buf, 1, n, o->f) != n) {
		*err = xasprintf("cannot write the file: %s", strerror(errno));
		return false;
	}
	o->size += n;
	return true;
}

/* The disks' used bytes: about what an uncompressed export weighs. */
static uint64_t estimate(struct bx *bx, const char *vm)
{
	char *err = NULL;
	struct xv *vbds = bk_call(bx, "VM.get_VBDs", &err, vm, (char *)NULL);
	uint64_t sum = bk_disks_used(bx, vbds, true);

	free(err);
	xv_free(vbds);
	return sum;
}

/* The snapshot a running VM is exported from, named as the VM and marked
 * so the import makes it a VM again (xapi exports a snapshot as a template). */
static char *take_snapshot(struct bx *bx, const char *vm, const char *name, char **err)
{
	char *snap, *why = NULL;
	struct xv *p = xv_array();

	xv_array_push(p, xv_string(vm));
	xv_array_push(p, xv_string(name));
	show("snapshot", 0, 0, true);
	snap = bx_call_async(bx, "VM.snapshot", p, 3600, &why);
	if (!snap || bk_is_null(snap)) {
		*err = xasprintf("cannot snapshot '%s': %s", name, why ? why : "no snapshot was made");
		free(why);
		free(snap);
		return NULL;
	}
	bk_call_quiet(bx, "VM.remove_from_other_config", snap, EXPORT_MARK, (char *)NULL);
	xv_free(bk_call(bx, "VM.add_to_other_config", &why, snap, EXPORT_MARK, "true", (char *)NULL));
	if (why) {
		*err = xasprintf("cannot mark the snapshot of '%s': %s", name, why);
		free(why);
		bk_destroy_vm_and_disks(bx, snap);
		free(snap);
		return NULL;
	}
	return snap;
}

/* Streams the export of src into out; the checker and the task decide. */
static bool stream_export(struct bx *bx, const char *src, const char *compress, struct out *out, char **err)
{
	char *uuid = bk_call_str(bx, "VM.get_uuid", err, src, (char *)NULL), *task = NULL, *q, *res, *why = NULL;
	uint64_t est, got = 0;
	bool ok;

	if (!uuid || !(task = bx_task_create(bx, "xentui: export a VM to a file", err))) {
		free(uuid);
		return false;
	}
	est = estimate(bx, src);
	q = xasprintf("/export?uuid=%s&use_compression=%s&task_id=%s", uuid,
		      strcmp(compress, "zstd") == 0 ? "zstd" : strcmp(compress, "gzip") == 0 ? "true" : "false", task);
	show("export", 0, est, true);
	bx_on_progress(bx, on_bx_progress, &est);
	ok = bx_get(bx, q, to_file, out, &got, err);
	bx_on_progress(bx, NULL, NULL);
	if (ok && !xva_check_finish(out->check, err))
		ok = false;
	if (!ok)
		bk_call_quiet(bx, "task.cancel", task, (char *)NULL);
	/* xapi answers 200 before it knows: only the task says the export was whole */
	res = bx_task_wait(bx, task, ok ? 600 : 30, &why);
	if (ok && !res) {
		*err = xasprintf("the export failed on the host: %s", why ? why : "?");
		ok = false;
	} else if (!ok && !res && why && !stopped && !strcasestr(why, "cancel")) {
		/* the host's own failure (not our cancel) first: what the file lacks follows from it */
		char *mine = *err;
		*err = xasprintf("the export failed on the host: %s (%s)", why, mine ? mine : "?");
		free(mine);
	}
	show("export", out->size, out->size, true);
	free(why);
	free(res);
	bx_task_destroy(bx, task);
	free(task);
	free(q);
	free(uuid);
	return ok;
}

static int cmd_export(const struct vopts *o)
{
	const char *file = o->args[2];
	char *partial = xasprintf("%s.partial", file), *err = NULL, *vm = NULL, *snap = NULL, *name = NULL;
	struct out out = {0};
	struct xv *rec = NULL;
	struct stat st;
	struct bx *bx = NULL;
	int rc = 1, fd;
	bool made = false; /* FILE.partial is ours to remove */

	if (stat(file, &st) == 0 && S_ISDIR(st.st_mode)) {
		err = xasprintf("%s is a folder: give the file's name (e.g. %s/VM.xva)", file, file);
		goto out;
	}
	if (stat(file, &st) == 0 && !o->force) {
		err = xasprintf("%s exists: pass --force to replace it", file);
		goto out;
	}
	if (!(bx = connect_to(o, o->nargs == 4 ? o->args[3] : NULL, &rc)))
		goto out;
	rc = 1;
	if (!(vm = find_one(bx, "VM", o->args[1], &err)) || !(rec = bk_call(bx, "VM.get_record", &err, vm, (char *)NULL)))
		goto out;
	name = sanitize(bk_field(rec, "name_label") ? bk_field(rec, "name_label") : o->args[1]);
	/* ours to replace: a .partial is what a stopped export left */
	if ((fd = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0 ||
	    (made = true, !(out.f = fdopen(fd, "w")))) {
		err = xasprintf("cannot write %s: %s", partial, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	setvbuf(out.f, NULL, _IOFBF, 1 << 20);
	{
		const char *ps = bk_field(rec, "power_state");
		if (ps && strcmp(ps, "Halted") != 0 && strcmp(ps, "Suspended") != 0 &&
		    !(snap = take_snapshot(bx, vm, name, &err)))
			goto out;
	}
	out.check = xva_check_new();
	if (!stream_export(bx, snap ? snap : vm, o->compress, &out, &err))
		goto out;
	if (fflush(out.f) != 0 || fsync(fileno(out.f)) != 0) {
		err = xasprintf("cannot write %s: %s", partial, strerror(errno));
		goto out;
	}
	fclose(out.f);
	out.f = NULL;
	if (!o->force && stat(file, &st) == 0) { /* made while we exported: still not ours to replace */
		err = xasprintf("%s appeared while exporting: pass --force to replace it", file);
		goto out;
	}
	if (rename(partial, file) != 0) {
		err = xasprintf("cannot rename %s to %s: %s", partial, file, strerror(errno));
		goto out;
	}
	show_end();
	{
		char h[24];
		bk_human(out.size, h);
		printf("exported '%s' to %s (%s%s)\n", name, file, h, snap ? ", through a snapshot now removed" : "");
	}
	rc = 0;
out:
	show_end();
	if (out.f)
		fclose(out.f);
	if (rc != 0 && made)
		unlink(partial);
	/* the snapshot goes whatever happened */
	if (snap)
		bk_destroy_vm_and_disks(bx, snap);
	if (err) {
		if (stopped)
			fprintf(stderr, "xentui: the export of '%s' was stopped; nothing was written\n", name ? name : o->args[1]);
		else {
			char *safe = sanitize(err); /* it may quote the pool */
			if (name)
				fprintf(stderr, "xentui: cannot export '%s': %s\n", name, safe);
			else
				fprintf(stderr, "xentui: %s\n", safe);
			free(safe);
		}
	}
	free(err);
	xva_check_free(out.check);
	xv_free(rec);
	free(vm);
	free(snap);
	free(name);
	free(partial);
	bx_close(bx);
	return rc;
}

/* ---- import ---------------------------------------------------------------------- */

struct in {
	FILE *f;
	const char *path;
	struct xva_check *check;
	uint64_t size, sent;
	bool bad; /* the file is no whole XVA: the host must not finish */
};

/* Each piece is checked before it goes; the last one only once the whole
 * file is known to be an XVA that ends properly. */
static ssize_t from_file(void *buf, size_t n, void *ud, char **err)
{
	struct in *s = ud;
	size_t k;

	if (stopped) {
		*err = xstrdup("the import was stopped");
		return -1;
	}
	if (s->sent == s->size)
		return 0;
	if ((uint64_t)n > s->size - s->sent)
		n = (size_t)(s->size - s->sent);
	if ((k = fread(buf, 1, n, s->f)) == 0) {
		*err = xasprintf("%s became shorter while it was read", s->path);
		s->bad = true;
		return -1;
	}
	if (!xva_check_write(s->check, buf, k, err)) {
		s->bad = true;
		return -1;
	}
	s->sent += k;
	if (s->sent == s->size && !xva_check_finish(s->check, err)) {
		s->bad = true;
		return -1;
	}
	return (ssize_t)k;
}

/* The file's start (all of it when small) through the checker: a file that
 * is no XVA is refused before the pool hears of it. */
static bool probe(const char *path, FILE *f, uint64_t size, char **err)
{
	struct xva_check *c = xva_check_new();
	unsigned char *buf = xmalloc(PROBE_BYTES);
	size_t n = fread(buf, 1, PROBE_BYTES, f);
	bool ok = n > 0 && xva_check_write(c, buf, n, err) && (size > n || xva_check_finish(c, err));

	if (n == 0 && !*err)
		*err = xasprintf("cannot read it: %s", ferror(f) ? strerror(errno) : "it is empty");
	(void)path;
	free(buf);
	xva_check_free(c);
	rewind(f);
	return ok;
}

/* The task's result names the new VM (XML-RPC text may hold more). */
static char *vm_of(const char *res)
{
	const char *ref = res ? strstr(res, "OpaqueRef:") : NULL;

	return ref ? xstrndup(ref, strspn(ref, "OpaqueRef:0123456789abcdef-")) : NULL;
}

/* An export of ours made from a snapshot comes in as a template: a VM again. */
static void unmark(struct bx *bx, const char *vm)
{
	char *e = NULL;
	struct xv *oc = bk_call(bx, "VM.get_other_config", &e, vm, (char *)NULL);

	if (bk_field(oc, EXPORT_MARK)) {
		struct xv *p = xv_array();
		xv_array_push(p, xv_string(vm));
		xv_array_push(p, xv_bool(false));
		xv_free(bx_call(bx, "VM.set_is_a_template", p, &e, NULL));
		bk_call_quiet(bx, "VM.remove_from_other_config", vm, EXPORT_MARK, (char *)NULL);
	}
	xv_free(oc);
	free(e);
}

static int cmd_import(const struct vopts *o)
{
	const char *file = o->args[1];
	struct in s = {.path = file};
	struct stat st;
	struct bx *bx = NULL;
	char *err = NULL, *sr = NULL, *task = NULL, *q = NULL, *res = NULL, *why = NULL, *vm = NULL, *uuid = NULL;
	int rc = 1;
	bool ok;

	if (!(s.f = fopen(file, "re")) || fstat(fileno(s.f), &st) != 0) {
		err = xasprintf("cannot read %s: %s", file, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = xasprintf("%s is not a file", file);
		goto out;
	}
	s.size = (uint64_t)st.st_size;
	if (!probe(file, s.f, s.size, &err)) {
		char *why2 = err;
		const char *r = why2 ? why2 : "?";
		if (strncmp(r, "the XVA is damaged: ", 20) == 0)
			r += 20; /* said once is enough */
		err = xasprintf("%s cannot be imported: it is not an XVA file (a VM export), or it is damaged: %s", file, r);
		free(why2);
		goto out;
	}
	if (!(bx = connect_to(o, o->nargs == 3 ? o->args[2] : NULL, &rc)))
		goto out;
	rc = 1;
	if (!(sr = find_one(bx, "SR", o->sr, &err)) || !(task = bx_task_create(bx, "xentui: import a VM from a file", &err)))
		goto out;
	s.check = xva_check_new();
	q = xasprintf("/import?sr_id=%s&task_id=%s", sr, task);
	show("import", 0, s.size, true);
	bx_on_progress(bx, on_bx_progress, &s.size);
	ok = bx_put(bx, q, s.size, from_file, &s, &err);
	bx_on_progress(bx, NULL, NULL);
	if (!ok)
		bk_call_quiet(bx, "task.cancel", task, (char *)NULL);
	res = bx_task_wait(bx, task, ok ? 24 * 3600 : 60, &why);
	vm = vm_of(res);
	if (ok && !res) {
		err = xasprintf("the import failed on the host: %s", why ? why : "?");
		ok = false;
	} else if (ok && !vm) {
		err = xstrdup("the import did not say which VM it made");
		ok = false;
	}
	if (!ok || s.bad) {
		/* the host may have finished before the fault was seen: nothing stays */
		if (vm)
			bk_destroy_vm_and_disks(bx, vm);
		if (s.bad) {
			char *why2 = err;
			err = xasprintf("%s cannot be imported: %s", file, why2 ? why2 : "it is not a whole XVA");
			free(why2);
		}
		goto out;
	}
	show("import", s.size, s.size, true);
	unmark(bx, vm);
	bk_call_quiet(bx, "VM.remove_from_blocked_operations", vm, "start", (char *)NULL);
	uuid = bk_call_str(bx, "VM.get_uuid", &why, vm, (char *)NULL);
	if (o->start) {
		struct xv *p = xv_array(), *v;
		xv_array_push(p, xv_string(vm));
		xv_array_push(p, xv_bool(false));
		xv_array_push(p, xv_bool(false));
		show("start", 0, 0, true);
		if (!(v = bx_call(bx, "VM.start", p, &why, NULL))) {
			err = xasprintf("the VM %s was imported but did not start: %s", uuid ? uuid : vm, why ? why : "?");
			goto out;
		}
		xv_free(v);
	}
	show_end();
	printf("%s\n", uuid ? uuid : vm);
	rc = 0;
out:
	show_end();
	if (err) {
		char *safe = sanitize(stopped ? "the import was stopped; no VM was made" : err); /* it may quote the pool */
		fprintf(stderr, "xentui: %s\n", safe);
		free(safe);
	}
	if (s.f)
		fclose(s.f);
	if (task)
		bx_task_destroy(bx, task);
	xva_check_free(s.check);
	free(err);
	free(sr);
	free(task);
	free(q);
	free(res);
	free(why);
	free(vm);
	free(uuid);
	bx_close(bx);
	return rc;
}

int vm_main(int argc, char **argv)
{
	struct vopts o;
	struct sigaction sa;
	int rc = parse(argc, argv, &o);

	if (rc)
		return rc;
	if (strcmp(o.args[0], "export") == 0) {
		if (o.nargs < 3 || o.nargs > 4)
			return bad_usage("export what? xentui vm export VM FILE [--compress zstd|gzip|none] [SERVER]%s", "");
		if (o.sr || o.start)
			return bad_usage("--sr and --start go with import%s", "");
	} else if (strcmp(o.args[0], "import") == 0) {
		if (o.nargs < 2 || o.nargs > 3)
			return bad_usage("import what? xentui vm import FILE --sr SR [--start] [SERVER]%s", "");
		if (!o.sr)
			return bad_usage("import needs --sr SR (a name or UUID): where the new VM's disks go%s", "");
		if (o.force)
			return bad_usage("--force goes with export%s", "");
	} else {
		return bad_usage("unknown command '%s': export or import", o.args[0]);
	}
	machine = o.lines;
	human = !machine && isatty(STDERR_FILENO);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop; /* no SA_RESTART: a wait wakes and sees it */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return strcmp(o.args[0], "export") == 0 ? cmd_export(&o) : cmd_import(&o);
}
