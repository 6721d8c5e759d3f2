/* `xentui backup ...`: run, due, list, verify, test, restore. */
#include "backup.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bconfig.h"
#include "bkutil.h"
#include "bxapi.h"
#include "config.h"
#include "connopts.h"
#include "job.h"
#include "point.h"
#include "repo.h"
#include "run.h"
#include "secret.h"
#include "state.h"
#include "util.h"

struct bopts {
	struct conn_opts conn;
	const char *config;
	bool json;
	const char *at, *sr, *name, *disk;
	bool start;
	int nargs;
	char **args; /* the subcommand and its arguments */
};

static void usage(FILE *f)
{
	fputs("usage: xentui backup run JOB            run one backup job now\n"
	      "       xentui backup due                run every job whose schedule has come (cron, systemd timer)\n"
	      "       xentui backup list [REMOTE] [--json]   restore points: vm_uuid, vm_name, timestamp, mode, size, job\n"
	      "       xentui backup verify REMOTE [VM-UUID]  sizes, checksums, VHD chains, XVA members\n"
	      "       xentui backup test REMOTE        write, read back, list and delete a small file\n"
	      "       xentui backup space [REMOTE] [--json]  use and free space of each remote\n"
	      "       xentui backup delete REMOTE VM-UUID TIMESTAMP  delete one restore point\n"
	      "       xentui backup restore REMOTE VM-UUID [--at TIMESTAMP] --sr SR [--name NAME] [--start]\n"
	      "                             [SERVER-NAME | URL]\n"
	      "       xentui backup restore-disk REMOTE VM-UUID [--at TIMESTAMP] --disk N|NAME --sr SR [--name NAME]\n"
	      "                             [SERVER-NAME | URL]   one disk only, as a new disk (VDI) on SR\n"
	      "  -c, --config FILE     configuration file (default $XDG_CONFIG_HOME/xentui/config)\n"
	      "  -u, --user USER; --password-file FILE; --password-env VAR; -k, --insecure;\n"
	      "  --fingerprint SHA256  as for `xentui list`\n"
	      "Exit status: 0 every VM backed up (or the command done), 1 a failure, 2 bad usage or configuration.\n",
	      f);
}

static int bad_usage(const char *fmt, const char *arg)
{
	fputs("xentui backup: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\n(see xentui backup --help)\n", stderr);
	return 2;
}

static int parse(int argc, char **argv, struct bopts *o)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		CONN_LONG_OPTIONS,
		{"json", no_argument, NULL, 'j'},
		{"at", required_argument, NULL, 'a'},
		{"sr", required_argument, NULL, 's'},
		{"name", required_argument, NULL, 'n'},
		{"start", no_argument, NULL, 'S'},
		{"disk", required_argument, NULL, 'D'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "c:h" CONN_SHORT_OPTIONS, opts, NULL)) != -1) {
		if (conn_take_option(c, optarg, &o->conn))
			continue;
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'j': o->json = true; break;
		case 'a': o->at = optarg; break;
		case 's': o->sr = optarg; break;
		case 'n': o->name = optarg; break;
		case 'S': o->start = true; break;
		case 'D': o->disk = optarg; break;
		case 'h': usage(stdout); exit(0);
		default:
			return bad_usage("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (!conn_options_valid(&o->conn, "xentui backup"))
		return 2;
	o->args = argv + optind;
	o->nargs = argc - optind;
	if (o->nargs < 1)
		return bad_usage("what? run, due, list, verify, test or restore%s", "");
	return 0;
}

/* Both parts of the configuration file; 0, or the exit status (2). */
static int load(const struct bopts *o, struct config *cfg, struct backup_cfg *bc)
{
	char *err = NULL;

	if (!config_load(o->config, cfg, &err)) {
		fprintf(stderr, "xentui: %s\n", err);
		free(err);
		return 2;
	}
	config_print_warnings(cfg, stderr); /* said, not fatal */
	if (!backup_cfg_load(o->config, bc, &err)) {
		fprintf(stderr, "xentui: %s\n", err);
		free(err);
		config_free(cfg);
		return 2;
	}
	return 0;
}

/* The connection to target (a server name or URL): xo filled, *password to
 * secret_free. 0 or an exit status. */
static int connection(const struct bopts *o, const struct config *cfg, const char *target, struct xapi_opts *xo,
		      char **password)
{
	struct conn_opts c = o->conn;
	const struct server_cfg *sv = NULL;
	char *err = NULL;
	int rc;

	c.target = target;
	rc = conn_resolve(&c, cfg, xo, &sv);
	if (rc)
		return rc;
	*password = conn_password(&c, sv, xo->user, xo->url, &err);
	if (!*password) {
		fprintf(stderr, "xentui: %s\n", err);
		free(err);
		return 1;
	}
	xo->password = *password;
	return 0;
}

static int run_one(const struct bopts *o, const struct config *cfg, const struct backup_cfg *bc,
		   const struct job_cfg *job, bool from_due)
{
	struct xapi_opts xo, txo;
	struct job_run_opts jo;
	char *password = NULL, *tpassword = NULL, *err = NULL;
	int rc = 0;

	/* a mirror copies between repositories: no pool, no password to ask */
	memset(&xo, 0, sizeof(xo));
	if (job->mode != BMODE_MIRROR)
		rc = connection(o, cfg, job->server, &xo, &password);
	if (rc)
		return rc == 2 ? 2 : 1;
	memset(&jo, 0, sizeof(jo));
	/* replication to another pool: its own server entry and password */
	if ((job->mode == BMODE_DR || job->mode == BMODE_CR) && job->target_server &&
	    strcmp(job->target_server, job->server) != 0) {
		if ((rc = connection(o, cfg, job->target_server, &txo, &tpassword))) {
			secret_free(password);
			return rc == 2 ? 2 : 1;
		}
		jo.target_xo = &txo;
	}
	jo.bc = bc;
	jo.job = job;
	jo.xo = &xo;
	jo.show_progress = isatty(STDERR_FILENO);
	rc = job_run(&jo, &err);
	secret_free(password);
	secret_free(tpassword);
	if (rc == JOB_LOCKED) {
		fprintf(stderr, "xentui: %s%s\n", err ? err : "the job is already running", from_due ? "; skipped" : "");
		rc = from_due ? 0 : 1;
	} else if (err) {
		fprintf(stderr, "xentui: %s\n", err);
	}
	free(err);
	return rc;
}

static int cmd_run(const struct bopts *o, const struct config *cfg, const struct backup_cfg *bc)
{
	const struct job_cfg *job;

	if (o->nargs != 2)
		return bad_usage("run which job? xentui backup run JOB%s", "");
	if (!(job = backup_cfg_job(bc, o->args[1]))) {
		fprintf(stderr, "xentui: no backup job named '%s' in %s\n", o->args[1], bc->path);
		return 2;
	}
	return run_one(o, cfg, bc, job, false);
}

static int cmd_due(const struct bopts *o, const struct config *cfg, const struct backup_cfg *bc)
{
	int64_t now = run_now();
	int worst = 0;

	if (o->nargs != 1)
		return bad_usage("due takes no argument (it runs every job whose schedule has come)%s", "");
	state_due_mark(now); /* the Backups screen says when no timer runs due */
	for (size_t i = 0; i < bc->njobs; i++) {
		int rc;
		if (!job_due(&bc->jobs[i], now))
			continue;
		rc = run_one(o, cfg, bc, &bc->jobs[i], true);
		if (rc > worst)
			worst = rc;
	}
	return worst;
}

static const struct remote_cfg *remote_arg(const struct backup_cfg *bc, const char *name)
{
	const struct remote_cfg *rc = backup_cfg_remote(bc, name);

	if (!rc)
		fprintf(stderr, "xentui: no remote named '%s' in %s\n", name, bc->path);
	return rc;
}

static const char *job_label(const struct backup_cfg *bc, const struct point *p)
{
	if (p->job_name)
		return p->job_name;
	for (size_t i = 0; i < bc->njobs; i++)
		if (p->job_id && strcmp(bc->jobs[i].id, p->job_id) == 0)
			return bc->jobs[i].name;
	return p->job_id ? p->job_id : "";
}

/* A delta point's disks (device, name, size) from its record, for the
 * screen's restore-disk choice; NULL when the point does not say (full). */
static struct json_object *point_disks(const struct point *p)
{
	struct json_object *root = p->json ? json_tokener_parse(p->json) : NULL, *vdis, *vbds, *out = NULL;

	if (root && json_object_object_get_ex(root, "vdis", &vdis) && json_object_object_get_ex(root, "vbds", &vbds)) {
		out = json_object_new_array();
		json_object_object_foreach(vbds, ref, vbd) {
			const char *v = bk_jstr(vbd, "VDI");
			struct json_object *vr, *d, *sz;
			(void)ref;
			if (!v || !json_object_object_get_ex(vdis, v, &vr))
				continue;
			d = json_object_new_object();
			json_object_object_add(d, "device", json_object_new_string(bk_jstr(vbd, "userdevice") ? bk_jstr(vbd, "userdevice") : ""));
			json_object_object_add(d, "name", json_object_new_string(bk_jstr(vr, "name_label") ? bk_jstr(vr, "name_label") : ""));
			json_object_object_add(d, "size", json_object_new_int64(json_object_object_get_ex(vr, "virtual_size", &sz)
										 ? json_object_get_int64(sz) : 0));
			json_object_array_add(out, d);
		}
	}
	json_object_put(root);
	return out;
}

static int cmd_list(const struct bopts *o, const struct backup_cfg *bc)
{
	struct json_object *arr = json_object_new_array();
	int rc = 0;
	bool header = false, all = o->nargs == 1 && bc->nremotes > 1; /* which remote, when several */

	if (o->nargs > 2)
		return json_object_put(arr), bad_usage("list takes at most one remote: '%s' is one too many", o->args[2]);
	if (o->nargs == 2 && !remote_arg(bc, o->args[1])) {
		json_object_put(arr);
		return 2;
	}
	for (size_t i = 0; i < bc->nremotes; i++) {
		const struct remote_cfg *rcfg = &bc->remotes[i];
		struct repo *r;
		struct point *pts = NULL;
		size_t n = 0;
		char *err = NULL;
		if (o->nargs == 2 && strcmp(rcfg->name, o->args[1]) != 0)
			continue;
		if (!(r = repo_open(rcfg, &err)) || !points_list(r, NULL, &pts, &n, &err)) {
			fprintf(stderr, "xentui: %s\n", err);
			free(err);
			repo_close(r);
			rc = 1;
			continue;
		}
		for (size_t k = 0; k < n; k++) {
			const struct point *p = &pts[k];
			if (o->json) {
				struct json_object *j = json_object_new_object();
				json_object_object_add(j, "remote", json_object_new_string(rcfg->name));
				json_object_object_add(j, "vm_uuid", json_object_new_string(p->vm_uuid));
				json_object_object_add(j, "vm_name", json_object_new_string(p->vm_name ? p->vm_name : ""));
				json_object_object_add(j, "timestamp", json_object_new_string(p->ts));
				json_object_object_add(j, "mode", json_object_new_string(p->mode ? p->mode : ""));
				json_object_object_add(j, "size", json_object_new_int64((int64_t)p->size));
				json_object_object_add(j, "job", json_object_new_string(job_label(bc, p)));
				json_object_object_add(j, "job_id", json_object_new_string(p->job_id ? p->job_id : ""));
				{
					struct json_object *d = point_disks(p);
					if (d)
						json_object_object_add(j, "disks", d);
				}
				json_object_array_add(arr, j);
			} else {
				char h[24];
				if (!header) {
					printf("%-36s  %-24s  %-16s  %-5s  %10s  %s\n", "VM_UUID", "VM_NAME", "TIMESTAMP", "MODE",
					       "SIZE", "JOB");
					header = true;
				}
				bk_human(p->size, h);
				printf("%-36s  %-24.24s  %-16s  %-5s  %10s  %s%s%s\n", p->vm_uuid, p->vm_name ? p->vm_name : "",
				       p->ts, p->mode ? p->mode : "", h, job_label(bc, p), all ? "  @" : "", all ? rcfg->name : "");
			}
		}
		points_free(pts, n);
		repo_close(r);
	}
	if (o->json)
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
	else if (!header)
		printf("no restore points\n");
	json_object_put(arr);
	return rc;
}

static int cmd_test(const struct bopts *o, const struct backup_cfg *bc)
{
	const struct remote_cfg *rc;
	char *err = NULL;

	if (o->nargs != 2)
		return bad_usage("test which remote? xentui backup test REMOTE%s", "");
	if (!(rc = remote_arg(bc, o->args[1])))
		return 2;
	if (!repo_selftest(rc, &err)) {
		fprintf(stderr, "xentui: %s\n", err ? err : "the test failed");
		free(err);
		return 1;
	}
	printf("remote %s: ok (a file written, read back, listed and deleted)\n", rc->name);
	return 0;
}

static int cmd_verify(const struct bopts *o, const struct backup_cfg *bc)
{
	const struct remote_cfg *rc;
	struct repo *r;
	char *err = NULL;
	int bad = 0;

	if (o->nargs < 2 || o->nargs > 3)
		return bad_usage("verify which remote? xentui backup verify REMOTE [VM-UUID]%s", "");
	if (!(rc = remote_arg(bc, o->args[1])))
		return 2;
	if (!(r = repo_open(rc, &err)) || !verify_points(r, o->nargs == 3 ? o->args[2] : NULL, stdout, &bad, &err)) {
		fprintf(stderr, "xentui: %s\n", err ? err : "cannot verify");
		free(err);
		repo_close(r);
		return 1;
	}
	repo_close(r);
	fflush(stdout);
	if (bad)
		fprintf(stderr, "xentui: %d restore point%s failed the check\n", bad, bad == 1 ? "" : "s");
	return bad ? 1 : 0;
}

/* `space [REMOTE] [--json]`: what the points take and, where the protocol
 * tells it, the size and free space of each remote. */
static int cmd_space(const struct bopts *o, const struct backup_cfg *bc)
{
	struct json_object *arr = json_object_new_array();
	int rc = 0;

	if (o->nargs > 2)
		return json_object_put(arr), bad_usage("space takes at most one remote: '%s' is one too many", o->args[2]);
	if (o->nargs == 2 && !remote_arg(bc, o->args[1])) {
		json_object_put(arr);
		return 2;
	}
	for (size_t i = 0; i < bc->nremotes; i++) {
		const struct remote_cfg *rcfg = &bc->remotes[i];
		struct json_object *j;
		struct repo *r;
		struct point *pts = NULL;
		size_t n = 0;
		uint64_t used = 0, total = 0, avail = 0;
		bool known;
		char *err = NULL;
		if (o->nargs == 2 && strcmp(rcfg->name, o->args[1]) != 0)
			continue;
		j = json_object_new_object();
		json_object_object_add(j, "remote", json_object_new_string(rcfg->name));
		if (!(r = repo_open(rcfg, &err)) || !points_list(r, NULL, &pts, &n, &err)) {
			json_object_object_add(j, "error", json_object_new_string(err ? err : "cannot be read"));
			if (!o->json)
				fprintf(stderr, "xentui: %s\n", err ? err : "cannot be read");
			free(err);
			repo_close(r);
			json_object_array_add(arr, j);
			rc = 1;
			continue;
		}
		for (size_t k = 0; k < n; k++)
			used += pts[k].size;
		known = repo_space(r, &total, &avail);
		json_object_object_add(j, "points", json_object_new_int64((int64_t)n));
		json_object_object_add(j, "used", json_object_new_int64((int64_t)used));
		if (known) {
			json_object_object_add(j, "total", json_object_new_int64((int64_t)total));
			json_object_object_add(j, "avail", json_object_new_int64((int64_t)avail));
		}
		if (!o->json) {
			char hu[24], ht[24], ha[24];
			bk_human(used, hu);
			bk_human(total, ht);
			bk_human(avail, ha);
			if (known)
				printf("%s: %zu points, %s; %s free of %s\n", rcfg->name, n, hu, ha, ht);
			else
				printf("%s: %zu points, %s; free space unknown\n", rcfg->name, n, hu);
		}
		json_object_array_add(arr, j);
		points_free(pts, n);
		repo_close(r);
	}
	if (o->json)
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
	json_object_put(arr);
	return rc;
}

static bool point_differencing(const struct point *p)
{
	for (size_t i = 0; i < p->nfiles; i++)
		if (p->files[i].differencing)
			return true;
	return false;
}

/* `delete REMOTE VM-UUID TS`: one point, its .json first (so it stops
 * existing), then its files that no other point names. A delta point that
 * later deltas of its job are built on is refused: they would break. */
static int cmd_delete(const struct bopts *o, const struct backup_cfg *bc)
{
	const struct remote_cfg *rcfg;
	struct repo *r = NULL;
	struct point *pts = NULL, *pick = NULL;
	size_t n = 0, at = 0, later = 0;
	char *err = NULL;
	int rc = 1;

	if (o->nargs != 4)
		return bad_usage("delete which point? xentui backup delete REMOTE VM-UUID TIMESTAMP%s", "");
	if (!(rcfg = remote_arg(bc, o->args[1])))
		return 2;
	if (!(r = repo_open(rcfg, &err)) || !points_list(r, o->args[2], &pts, &n, &err))
		goto out;
	for (size_t i = 0; i < n; i++)
		if (strcmp(pts[i].ts, o->args[3]) == 0) {
			pick = &pts[i];
			at = i;
		}
	if (!pick) {
		err = xasprintf("no restore point of %s at %s on %s", o->args[2], o->args[3], rcfg->name);
		goto out;
	}
	/* oldest first: the deltas right after it, of the same job, up to the next full */
	for (size_t i = at + 1; i < n; i++) {
		if (!pts[i].job_id || !pick->job_id || strcmp(pts[i].job_id, pick->job_id) != 0)
			continue;
		if (!point_differencing(&pts[i]))
			break;
		later++;
	}
	if (later && pick->mode && strcmp(pick->mode, "delta") == 0) {
		err = xasprintf("the point at %s is the base of %zu later delta point%s of its job: delete %s first, "
				"newest first (or let retention merge it)",
				pick->ts, later, later == 1 ? "" : "s", later == 1 ? "that one" : "those");
		goto out;
	}
	for (size_t i = 0; i < pick->nfiles; i++) {
		size_t l = strlen(pick->files[i].path);
		if (l > 10 && strcmp(pick->files[i].path + l - 10, ".alias.vhd") == 0) {
			err = xasprintf("the point at %s keeps its disks in directory VHDs (Xen Orchestra's aliases): "
					"delete it from Xen Orchestra", pick->ts);
			goto out;
		}
	}
	if (!repo_unlink(r, pick->json_path, &err))
		goto out;
	for (size_t i = 0; i < pick->nfiles; i++) {
		bool named = false;
		char *path;
		for (size_t k = 0; k < n && !named; k++)
			named = k != at && bk_point_file(&pts[k], pick->files[i].path);
		if (named)
			continue;
		path = bk_vm_path(pick->vm_uuid, pick->files[i].path);
		if (!repo_unlink(r, path, &err)) {
			free(path);
			goto out;
		}
		free(path);
	}
	printf("deleted the point of %s at %s from %s\n", pick->vm_name && *pick->vm_name ? pick->vm_name : pick->vm_uuid, pick->ts,
	       rcfg->name);
	rc = 0;
out:
	if (err)
		fprintf(stderr, "xentui: %s\n", err);
	free(err);
	points_free(pts, n);
	repo_close(r);
	return rc;
}

/* "3 SRs are named 'Local storage': give the UUID of one: 1b2c... (on
 * xcp-ng-01), ...": host-local SRs share their name, so say whose each is. */
static char *same_named_srs(struct bx *bx, const struct xv *refs, const char *name)
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "%zu SRs are named '%s': give the UUID of one:", xv_len(refs), name);
	for (size_t i = 0; i < xv_len(refs); i++) {
		const char *ref = xv_str(xv_at(refs, i));
		char *e = NULL, *uuid = bk_call_str(bx, "SR.get_uuid", &e, ref, (char *)NULL), *host = NULL;
		struct xv *pbds = bk_call(bx, "SR.get_PBDs", &e, ref, (char *)NULL);
		struct xv *shared = bk_call(bx, "SR.get_shared", &e, ref, (char *)NULL);
		if (xv_len(pbds) == 1 && !(shared && shared->type == XV_BOOL && shared->u.b)) {
			char *h = bk_call_str(bx, "PBD.get_host", &e, xv_str(xv_at(pbds, 0)), (char *)NULL);
			host = h ? bk_call_str(bx, "host.get_name_label", &e, h, (char *)NULL) : NULL;
			free(h);
		}
		buf_printf(&b, "%s %s%s%s%s", i ? "," : "", uuid ? uuid : ref, host ? " (on " : "", host ? host : "",
			   host ? ")" : "");
		free(uuid);
		free(host);
		xv_free(pbds);
		xv_free(shared);
		free(e);
	}
	return buf_steal(&b);
}

/* SR by uuid or by name (one only). */
static char *find_sr(struct bx *bx, const char *sr, char **err)
{
	struct xv *p = xv_array(), *v;
	char *ref;

	xv_array_push(p, xv_string(sr));
	if ((ref = bx_call_str(bx, "SR.get_by_uuid", p, err)))
		return ref;
	free(*err);
	*err = NULL;
	p = xv_array();
	xv_array_push(p, xv_string(sr));
	if (!(v = bx_call(bx, "SR.get_by_name_label", p, err, NULL)))
		return NULL;
	if (xv_len(v) == 1) {
		ref = xstrdup(xv_str(xv_at(v, 0)));
	} else {
		*err = xv_len(v) ? same_named_srs(bx, v, sr) : xasprintf("no SR named '%s' (nor with that UUID)", sr);
		ref = NULL;
	}
	xv_free(v);
	return ref;
}

static int cmd_restore(const struct bopts *o, const struct config *cfg, const struct backup_cfg *bc)
{
	bool disk = strcmp(o->args[0], "restore-disk") == 0;
	const struct remote_cfg *rcfg;
	struct repo *r = NULL;
	struct point *pts = NULL, *pick = NULL;
	size_t n = 0;
	struct xapi_opts xo;
	struct bx *bx = NULL;
	char *password = NULL, *err = NULL, *sr = NULL, *vm = NULL;
	int rc;

	if (o->nargs < 3 || o->nargs > 4)
		return bad_usage("restore what? xentui backup restore REMOTE VM-UUID [--at TIMESTAMP] --sr SR [SERVER]%s", "");
	if (!o->sr)
		return bad_usage("restore needs --sr SR (a name or UUID): where the new VM's disks go%s", "");
	if (disk && !o->disk)
		return bad_usage("restore-disk needs --disk N|NAME: the disk's device number (0, 1...) or its name%s", "");
	if (disk && o->start)
		return bad_usage("--start goes with restore, not restore-disk (a disk alone does not start)%s", "");
	if (!(rcfg = remote_arg(bc, o->args[1])))
		return 2;
	if (!(r = repo_open(rcfg, &err)) || !points_list(r, o->args[2], &pts, &n, &err)) {
		rc = 1;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (!o->at || strcmp(pts[i].ts, o->at) == 0)
			pick = &pts[i]; /* oldest first: the last match is the newest */
	if (!pick) {
		err = o->at ? xasprintf("no restore point of %s at %s on %s (see xentui backup list)", o->args[2], o->at,
					rcfg->name)
			    : xasprintf("no restore point of %s on %s", o->args[2], rcfg->name);
		rc = 1;
		goto out;
	}
	rc = connection(o, cfg, o->nargs == 4 ? o->args[3] : NULL, &xo, &password);
	if (rc)
		goto out;
	if (!(bx = bx_connect(&xo, &err)) || !(sr = find_sr(bx, o->sr, &err)) ||
	    !(disk ? restore_disk(bx, r, pick, o->disk, sr, o->name, &vm, &err)
		   : restore_point(bx, r, pick, sr, o->name, o->start, &vm, &err))) {
		rc = 1;
		goto out;
	}
	printf("%s\n", vm);
	rc = 0;
out:
	if (err)
		fprintf(stderr, "xentui: %s\n", err);
	free(err);
	free(sr);
	free(vm);
	bx_close(bx);
	if (password)
		secret_free(password);
	points_free(pts, n);
	repo_close(r);
	return rc;
}

int backup_main(int argc, char **argv)
{
	struct bopts o;
	struct config cfg;
	struct backup_cfg bc;
	const char *sub;
	int rc = parse(argc, argv, &o);

	if (rc)
		return rc;
	sub = o.args[0];
	if (strcmp(sub, "run") != 0 && strcmp(sub, "due") != 0 && strcmp(sub, "list") != 0 &&
	    strcmp(sub, "verify") != 0 && strcmp(sub, "test") != 0 && strcmp(sub, "restore") != 0 &&
	    strcmp(sub, "restore-disk") != 0 && strcmp(sub, "space") != 0 && strcmp(sub, "delete") != 0)
		return bad_usage("unknown command '%s': run, due, list, verify, test, restore, restore-disk, space or delete", sub);
	if (o.json && strcmp(sub, "list") != 0 && strcmp(sub, "space") != 0)
		return bad_usage("--json goes with list and space%s", "");
	if ((o.at || o.sr || o.name || o.start) && strcmp(sub, "restore") != 0 && strcmp(sub, "restore-disk") != 0)
		return bad_usage("--at, --sr, --name and --start go with restore%s", "");
	if (o.disk && strcmp(sub, "restore-disk") != 0)
		return bad_usage("--disk goes with restore-disk%s", "");
	if ((rc = load(&o, &cfg, &bc)))
		return rc;
	if (strcmp(sub, "run") == 0)
		rc = cmd_run(&o, &cfg, &bc);
	else if (strcmp(sub, "due") == 0)
		rc = cmd_due(&o, &cfg, &bc);
	else if (strcmp(sub, "list") == 0)
		rc = cmd_list(&o, &bc);
	else if (strcmp(sub, "verify") == 0)
		rc = cmd_verify(&o, &bc);
	else if (strcmp(sub, "test") == 0)
		rc = cmd_test(&o, &bc);
	else if (strcmp(sub, "space") == 0)
		rc = cmd_space(&o, &bc);
	else if (strcmp(sub, "delete") == 0)
		rc = cmd_delete(&o, &bc);
	else
		rc = cmd_restore(&o, &cfg, &bc);
	backup_cfg_free(&bc);
	config_free(&cfg);
	return rc;
}
