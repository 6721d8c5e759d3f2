/* xentui: arguments, configuration, start. */
#include <getopt.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cache.h"
#include "config.h"
#include "connopts.h"
#include "backup.h"
#include "vmfile.h"
#include "list.h"
#include "log.h"
#include "memtune.h"
#include "metrics_cmd.h"
#include "loop.h"
#include "net.h"
#include "program.h"
#include "sanitize.h"
#include "secret.h"
#include "ui/tui.h"
#include "util.h"
#include "value.h"
#include "xapi.h"

#define XENTUI_VERSION "0.1.0"
#define LOCAL_XAPI "/var/lib/xcp/xapi" /* dom0's xapi socket */

struct options {
	bool demo;
	bool local; /* --local: at this host's own console */
	const char *config;
	struct conn_opts conn; /* its target: the URL or server name */
	const char *vnc;
	const char *theme;
	const char *log;
	const char *list_kind;
	bool json;
};

static void usage(FILE *f)
{
	fputs("usage: xentui [options] [URL | SERVER-NAME]\n"
	      "       xentui list hosts|vms|srs|networks|tasks [--json | --wide] [connection options]\n"
	      "       xentui backup run JOB | due | list [REMOTE] [--json] | verify REMOTE [VM-UUID] | test REMOTE\n"
	      "       xentui backup restore REMOTE VM-UUID [--at TIMESTAMP] --sr SR [--name NAME] [--start] [SERVER | URL]\n"
	      "  --demo                start xapi-sim on a free loopback port and connect to it\n"
	      "  --local               at a host's console: this host through unix:/var/lib/xcp/xapi\n"
	      "                        (or the unix: URL given), changes locked until root's password\n"
	      "  -c, --config FILE     configuration file (default $XDG_CONFIG_HOME/xentui/config)\n"
	      "  -u, --user USER       default root\n"
	      "  --password-file FILE  read the password from the first line of FILE\n"
	      "  --password-env VAR    read the password from an environment variable\n"
	      "  -k, --insecure        accept any TLS certificate\n"
	      "  --fingerprint SHA256  accept only this certificate (hex SHA-256 of the DER certificate)\n"
	      "  --cacert FILE         trust the CAs in FILE (PEM) for hosts with no pin or known_hosts entry\n"
	      "  --transport MODE      json, xml, or auto (JSON-RPC where the pool answers it, the default)\n"
	      "  --vnc HOST:PORT       open the console viewer on a plain RFB server (no XenAPI)\n"
	      "  --theme NAME          a theme from themes/ or a path\n"
	      "  --log FILE            write a debug log (never passwords or session ids)\n"
	      "  -h, --help; -V, --version\n"
	      "URL: https://host[:port], http://host[:port], unix:/var/lib/xcp/xapi\n",
	      f);
}

/* Exit status: 0 success, 1 runtime failure, 2 bad usage. */
static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {
		{"demo", no_argument, NULL, 'D'},
		{"local", no_argument, NULL, 'O'},
		{"config", required_argument, NULL, 'c'},
		CONN_LONG_OPTIONS,
		{"vnc", required_argument, NULL, 'N'},
		{"theme", required_argument, NULL, 't'},
		{"log", required_argument, NULL, 'L'},
		{"json", no_argument, NULL, 'j'},
		{"wide", no_argument, NULL, 'W'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "c:hV" CONN_SHORT_OPTIONS, opts, NULL)) != -1) {
		if (conn_take_option(c, optarg, &o->conn))
			continue;
		switch (c) {
		case 'D': o->demo = true; break;
		case 'O': o->local = true; break;
		case 'c': o->config = optarg; break;
		case 'N': o->vnc = optarg; break;
		case 't': o->theme = optarg; break;
		case 'L': o->log = optarg; break;
		case 'j': o->json = true; break;
		case 'W': list_set_wide(true); break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("xentui %s\n", XENTUI_VERSION); exit(0);
		default: usage(stderr); return 2;
		}
	}
	if (!conn_options_valid(&o->conn, "xentui"))
		return 2;
	if (optind < argc && strcmp(argv[optind], "list") == 0) {
		if (optind + 1 >= argc || !list_kind_valid(argv[optind + 1])) {
			fprintf(stderr, "xentui: list what? hosts, vms, srs, networks or tasks\n");
			return 2;
		}
		o->list_kind = argv[optind + 1];
		optind += 2;
	}
	if (optind < argc)
		o->conn.target = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "xentui: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (o->json && !o->list_kind) {
		fprintf(stderr, "xentui: --json goes with list\n");
		return 2;
	}
	return 0;
}

/* ---- a connection from options and configuration -------------------------- */

struct session_ctx {
	struct loop *loop;
	struct net *net;
	struct xapi *x;
	struct cache *cache;
	struct metrics *metrics; /* list hosts|vms: their CPU and memory */
	bool metrics_done;       /* they came (maybe before the rest of the cache) */
	const char *list_kind;
	bool json;
	bool interactive;
	int status;
};

static char *password_for(const struct options *o, const struct server_cfg *sv, const char *user, const char *url,
			  char **err)
{
	return conn_password(&o->conn, sv, user, url, err);
}

static void on_logged_out(struct xapi *x, void *ud)
{
	struct session_ctx *s = ud;

	loop_stop(s->loop, s->status);
}

static void finish_list(struct session_ctx *s, int status)
{
	if (status && s->metrics) {
		/* a failure while the figures were asked for: nobody waits for them now */
		metrics_free(s->metrics);
		s->metrics = NULL;
	}
	s->status = status;
	cache_stop(s->cache);
	xapi_logout(s->x, on_logged_out, s);
}

static bool ask_yes(const char *question)
{
	return list_ask_yes(question); /* echoes, unlike the password prompt */
}

/* A failure's text on stderr: it may quote the server (a login refusal, an
 * error's parameters), so it is sanitised as the screen would show it. */
static void say_failure(const char *text)
{
	char *safe = sanitize(text);

	fprintf(stderr, "xentui: %s\n", safe);
	free(safe);
}

static void on_list_metrics(struct metrics *m, void *ud)
{
	struct session_ctx *s = ud;

	s->metrics_done = true;
	if (!cache_loaded(s->cache))
		return; /* printed at CACHE_LOADED */
	if (metrics_error(m))
		fprintf(stderr, "xentui: warning: no CPU or memory figures: %s\n", metrics_error(m));
	list_set_metrics(m);
	list_print(s->cache, s->list_kind, s->json, stdout);
	fflush(stdout);
	list_set_metrics(NULL);
	finish_list(s, 0);
}

static void on_cache(struct cache *c, enum cache_op op, const char *cls, const char *ref, void *ud)
{
	struct session_ctx *s = ud;
	struct xapi *x = s->x;

	if (!s->metrics && (op == CACHE_STATUS || op == CACHE_LOADED) && cache_count(c, "host") > 0
	    && xapi_state(x) == XAPI_READY && !cache_failed(c)
	    && (strcmp(s->list_kind, "hosts") == 0 || strcmp(s->list_kind, "vms") == 0)) {
		/* the series list.c prints (CPU and memory columns): the rest is not kept */
		static const char *const shown[] = {"cpu_avg",	    "memory_total_kib",	    "memory_free_kib", "cpu_usage",
						    "cpu#",	    "memory",		    "memory_internal_free"};
		s->metrics = metrics_new(s->loop, x, c);
		/* fetched once the hosts' addresses are in: overlaps the VMs' records' download */
		metrics_set_early(s->metrics, true);
		metrics_only(s->metrics, shown, sizeof(shown) / sizeof(shown[0]));
		metrics_want_all(s->metrics, METRICS_NOW);
		metrics_refresh(s->metrics, on_list_metrics, s);
	}
	if (op == CACHE_LOADED && cache_loaded(c) && s->metrics) {
		if (s->metrics_done)
			on_list_metrics(s->metrics, s); /* they came first */
		return; /* else printed when they come */
	}
	if (op == CACHE_LOADED && cache_loaded(c)) {
		list_print(c, s->list_kind, s->json, stdout);
		fflush(stdout);
		finish_list(s, 0);
		return;
	}
	if (op != CACHE_STATUS)
		return;
	if (xapi_state(x) == XAPI_FAILED) {
		const char *seen = xapi_seen_fingerprint(x);
		enum xapi_failure kind;
		const char *why = xapi_last_error(x, &kind);
		if (s->interactive && kind == XAPI_CERT_UNKNOWN) {
			char *q = xasprintf("The certificate of %s is not known.\nSHA-256 fingerprint: %s\nAccept it? [y/N] ",
					    xapi_url(x), seen);
			bool yes = ask_yes(q);
			free(q);
			if (yes) {
				xapi_accept_fingerprint(x); /* a failure comes back here, said once */
				return;
			}
		}
		say_failure(why);
		if (kind == XAPI_CERT_UNKNOWN)
			fprintf(stderr, "xentui: to accept it, pass --fingerprint %s\n", seen);
		finish_list(s, 1); /* a session still open is logged out */
		return;
	}
	if (xapi_state(x) == XAPI_RETRY || cache_failed(c)) {
		/* `list` is a one-shot: report the failure instead of waiting forever */
		say_failure(cache_failed(c) ? cache_status(c) : xapi_last_error(x, NULL));
		finish_list(s, 1);
	}
}

static void on_stop_signal(struct loop *l, int sig, void *ud)
{
	struct session_ctx *s = ud;

	fprintf(stderr, "xentui: interrupted\n");
	s->status = 1;
	loop_stop(l, 1);
}

/* A user in the URL (https://admin@host) is the user, and the URL is used
 * without it; a password there is refused before anything is sent. */
static int url_user(const struct options *o, struct xapi_opts *xo)
{
	static char *url, *user; /* the command line's one pool: kept until exit */
	char *clean, *named, *err = NULL;

	if (!xapi_url_userinfo(xo->url, &clean, &named, &err)) {
		fprintf(stderr, "xentui: %s\n", err);
		free(err);
		return 2;
	}
	if (!named) {
		free(clean);
		return 0;
	}
	if (o->conn.user && strcmp(o->conn.user, named) != 0) {
		fprintf(stderr, "xentui: the URL names the user '%s' but --user says '%s': give one of them\n", named,
			o->conn.user);
		free(clean);
		free(named);
		return 2;
	}
	free(url);
	free(user);
	url = clean;
	user = named;
	xo->url = url;
	xo->user = user;
	return 0;
}

static int resolve_server(const struct options *o, const struct config *cfg, struct xapi_opts *xo,
			  const struct server_cfg **server)
{
	int rc = conn_resolve(&o->conn, cfg, xo, server);

	return rc ? rc : url_user(o, xo);
}

static int run_list(const struct options *o, const struct config *cfg)
{
	const struct server_cfg *sv = NULL;
	struct xapi_opts xo;
	struct session_ctx s;
	char *password, *err = NULL;
	int rc;

	rc = resolve_server(o, cfg, &xo, &sv);
	if (rc)
		return rc;
	password = password_for(o, sv, xo.user, xo.url, &err);
	if (!password) {
		fprintf(stderr, "xentui: %s\n", err);
		free(err);
		return 1;
	}
	xo.password = password;

	memset(&s, 0, sizeof(s));
	s.loop = loop_new();
	s.net = net_new(s.loop);
	s.x = xapi_new(s.net, s.loop, &xo);
	secret_free(password);
	s.cache = cache_new(s.x, s.loop);
	s.list_kind = o->list_kind;
	s.json = o->json;
	s.interactive = isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
	cache_subscribe(s.cache, on_cache, &s);
	loop_signal(s.loop, SIGINT, on_stop_signal, &s);
	loop_signal(s.loop, SIGTERM, on_stop_signal, &s);
	cache_start(s.cache);
	rc = loop_run(s.loop);
#if !defined(__SANITIZE_ADDRESS__)
	/* printed and logged out: the OS takes back the cache at once, faster
	 * than 600,000 free()s (sanitised builds free all, for the leak check) */
	fflush(stdout);
	exit(rc);
#endif
	metrics_free(s.metrics);
	/* stop the cache first: xapi_free answers its pending calls */
	cache_stop(s.cache);
	xapi_free(s.x);
	cache_free(s.cache);
	net_free(s.net);
	loop_free(s.loop);
	return rc;
}

/* The command line's own pool: a URL, or a configured server with the
 * connection options applied; its password asked on the terminal (echo
 * off) when nothing says where it is, before the screen takes over. */
static int explicit_server(const struct options *o, const struct config *cfg, struct tui_server *ts,
			   char **password)
{
	const struct server_cfg *sv = NULL;
	struct xapi_opts xo;
	int rc = resolve_server(o, cfg, &xo, &sv);
	char *err = NULL;

	if (rc)
		return rc;
	memset(ts, 0, sizeof(*ts));
	if (sv) {
		server_cfg_copy(&ts->cfg, sv);
		ts->saved = true;
	} else {
		ts->cfg.name = xstrdup(xo.url);
		ts->cfg.url = xstrdup(xo.url);
	}
	free(ts->cfg.user);
	ts->cfg.user = xstrdup(xo.user);
	if (xo.fingerprint && xo.fingerprint != (sv ? sv->fingerprint : NULL)) {
		free(ts->cfg.fingerprint);
		ts->cfg.fingerprint = xstrdup(xo.fingerprint);
	}
	ts->cfg.insecure = xo.insecure;
	ts->connect = true;
	if (o->conn.password_file || o->conn.password_env) {
		/* the option wins over the server's own source */
		free(ts->cfg.password_file);
		free(ts->cfg.password_env);
		free(ts->cfg.password_command);
		ts->cfg.password_file = o->conn.password_file ? xstrdup(o->conn.password_file) : NULL;
		ts->cfg.password_env = o->conn.password_env && !o->conn.password_file ? xstrdup(o->conn.password_env) : NULL;
		ts->cfg.password_command = NULL;
	}
	if (!ts->cfg.password_file && !ts->cfg.password_env && !ts->cfg.password_command) {
		*password = password_for(o, NULL, xo.user, xo.url, &err);
		if (!*password) {
			fprintf(stderr, "xentui: %s\n", err);
			free(err);
			server_cfg_free(&ts->cfg);
			return 1;
		}
		ts->password = *password;
	} else {
		/* a source that cannot be read is a failure now, not a screen later */
		char *check = password_for(o, &ts->cfg, xo.user, xo.url, &err);
		if (!check) {
			fprintf(stderr, "xentui: %s\n", err);
			free(err);
			server_cfg_free(&ts->cfg);
			return 1;
		}
		secret_free(check);
	}
	return 0;
}

/* --local (or, on dom0, nothing else to connect to): xapi's local socket. */
static void local_target(struct options *o, const struct config *cfg)
{
	struct stat st;

	if (!o->local && !o->demo && !o->conn.target && cfg->nservers == 0 && stat(LOCAL_XAPI, &st) == 0 &&
	    S_ISSOCK(st.st_mode))
		o->local = true;
	if (o->local && !o->conn.target)
		o->conn.target = "unix:" LOCAL_XAPI;
}

/* The full-screen interface: every configured server listed; connected at
 * once are the one the command line names, or else those marked
 * autoconnect (or the only one), and --demo's simulated pool. */
static int run_tui(struct options *o, struct config *cfg)
{
	struct tui_opts t;
	struct tui_server *servers = xcalloc((size_t)cfg->nservers + 1, sizeof(*servers));
	struct tui_server own;
	char *password = NULL;
	bool has_own = false, autoconnect = false;
	int n = 0, rc;

	memset(&t, 0, sizeof(t));
	local_target(o, cfg);
	for (int i = 0; i < cfg->nservers; i++)
		autoconnect |= cfg->servers[i].autoconnect;
	if (o->conn.target || (!o->demo && !autoconnect && cfg->nservers == 1)) {
		rc = explicit_server(o, cfg, &own, &password);
		if (rc) {
			free(servers);
			return rc;
		}
		has_own = true;
	}
	for (int i = 0; i < cfg->nservers; i++) {
		struct tui_server *ts = &servers[n++];
		if (has_own && own.saved && strcmp(own.cfg.name, cfg->servers[i].name) == 0) {
			*ts = own; /* in its place in the list */
			has_own = false;
			continue;
		}
		server_cfg_copy(&ts->cfg, &cfg->servers[i]);
		ts->saved = true;
		ts->connect = !o->conn.target && cfg->servers[i].autoconnect;
	}
	if (has_own)
		servers[n++] = own; /* a URL: listed after the configured ones */
	t.screens = &program_screens;
	t.config = cfg;
	t.servers = servers;
	t.nservers = n;
	t.theme = o->theme ? o->theme : cfg->theme;
	t.confirm_quit = cfg->confirm_quit;
	t.demo = o->demo;
	t.local = o->local;
	rc = tui_run(&t);
	for (int i = 0; i < n; i++)
		server_cfg_free(&servers[i].cfg);
	free(servers);
	if (password)
		secret_free(password);
	return rc;
}

/* --vnc HOST:PORT: the console viewer alone, no pool. */
static int run_vnc(const struct options *o, struct config *cfg)
{
	struct tui_opts t;

	memset(&t, 0, sizeof(t));
	t.screens = &program_screens;
	t.config = cfg;
	t.theme = o->theme ? o->theme : cfg->theme;
	t.vnc = o->vnc;
	return tui_run(&t);
}

/* Where name ("backup", "vm") is, when it is the first argument that is no
 * option (or an option's value); 0 when it is not there. */
static int subcommand_at(int argc, char **argv, const char *name)
{
	static const char *const with_value[] = {"-c", "--config", "-u", "--user", "--password-file", "--password-env",
						 "--fingerprint", "--vnc", "--theme", "--log", "--transport", NULL};

	for (int i = 1; i < argc; i++) {
		bool takes = false;
		if (argv[i][0] != '-')
			return strcmp(argv[i], name) == 0 ? i : 0;
		if (strcmp(argv[i], "--") == 0)
			return 0;
		for (const char *const *w = with_value; *w; w++)
			takes |= strcmp(argv[i], *w) == 0;
		if (takes)
			i++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	struct config cfg;
	char *err = NULL;
	int rc;

	setlocale(LC_ALL, "");
	signal(SIGPIPE, SIG_IGN);
	if ((rc = subcommand_at(argc, argv, "backup")) > 0 || (rc = -subcommand_at(argc, argv, "vm")) < 0) {
		bool vm = rc < 0;
		/* its own process and its own options: forks children, blocks.
		 * Options given before "backup" (xentui -c FILE backup ...) go after it. */
		char **bargv = xcalloc((size_t)argc + 1, sizeof(*bargv));
		int n = 0;

		rc = vm ? -rc : rc;
		bargv[n++] = argv[rc];
		for (int i = rc + 1; i < argc; i++)
			bargv[n++] = argv[i];
		for (int i = 1; i < rc; i++)
			bargv[n++] = argv[i];
		curl_global_init(CURL_GLOBAL_DEFAULT);
		rc = vm ? vm_main(n, bargv) : backup_main(n, bargv);
		curl_global_cleanup();
		free(bargv);
		return rc;
	}
	xv_use_slab(); /* one thread, millions of small values */
	memtune_enable(); /* and, on a large pool, tens of MB of them at once */
	xapi_use_process_pool();
	if ((rc = subcommand_at(argc, argv, "metrics")) > 0) {
		/* its own options, as backup: those before "metrics" go after it */
		char **margv = xcalloc((size_t)argc + 1, sizeof(*margv));
		int n = 0;

		margv[n++] = argv[rc];
		for (int i = rc + 1; i < argc; i++)
			margv[n++] = argv[i];
		for (int i = 1; i < rc; i++)
			margv[n++] = argv[i];
		rc = metrics_main(n, margv);
		free(margv);
		xapi_release_process_pool();
		xv_slab_release();
		return rc;
	}
	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc;
	if (!config_load(o.config, &cfg, &err)) {
		fprintf(stderr, "xentui: %s\n", err);
		free(err);
		return 1;
	}
	config_print_warnings(&cfg, stderr); /* said, not fatal */
	conn_apply_transport(&o.conn, &cfg); /* for the interface's pools too */
	if (o.log && !log_open(o.log, &err)) {
		fprintf(stderr, "xentui: %s\n", err);
		free(err);
		config_free(&cfg);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (o.vnc) {
		rc = run_vnc(&o, &cfg);
	} else if (o.list_kind)
		rc = run_list(&o, &cfg);
	else
		rc = run_tui(&o, &cfg);
	curl_global_cleanup();
	config_free(&cfg);
	log_close();
	xapi_release_process_pool();
	xv_slab_release();
	return rc;
}
