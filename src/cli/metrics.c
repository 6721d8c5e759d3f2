/* `xentui metrics serve|dump`: one process on the core loop, a connection
 * and cache per pool, and (serve) libmicrohttpd driven by the same loop
 * through its epoll descriptor. A scrape asks every pool for a refresh,
 * which fetches each host's /rrd_updates at most once per 5 s step. */
#include "metrics_cmd.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cache.h"
#include "config.h"
#include "connopts.h"
#include "log.h"
#include "loop.h"
#include "net.h"
#include "openmetrics.h"
#include "sanitize.h"
#include "secret.h"
#include "metrics.h"
#include "util.h"
#include "xapi.h"

struct mopts {
	struct conn_opts conn;
	const char *config;
	const char *listen;
	const char *token_file;
	const char *log;
	bool json;
	const char *cmd;
};

struct mpool {
	struct app *app;
	char *label;
	struct xapi *x;
	struct cache *c;
	struct metrics *m;
	bool loaded, failed, said;
};

struct scrape {
	struct app *app;
	struct MHD_Connection *conn;
	int pending;
	bool ready;
	bool waiting_load; /* came before the pools had loaded */
	struct buf body;
	struct scrape *next;
};

struct app {
	struct loop *loop;
	struct net *net;
	struct mpool *p;
	size_t np;
	bool serve, json;
	int status;
	bool dumped;
	int logouts;
	/* serve */
	struct MHD_Daemon *d;
	struct loop_timer *mhd_timer;
	struct loop_timer *load_timer; /* answers early scrapes when a pool is slow to load */
	char *token;
	struct scrape *scrapes;
};

static bool settled(const struct app *a);
static void start_waiting(struct app *a);

static void usage(FILE *f)
{
	fputs("usage: xentui metrics serve [--listen ADDR:PORT] [--token-file FILE] [SERVER-NAME | URL]\n"
	      "       xentui metrics dump [--json] [SERVER-NAME | URL]\n"
	      "  serve   the pools' host, VM and SR series on http://ADDR:PORT/metrics (OpenMetrics,\n"
	      "          Xen Orchestra's openmetrics names); default 127.0.0.1:9100\n"
	      "  dump    one scrape's worth on standard output (--json: an array of samples)\n"
	      "  --log FILE            what is fetched and what fails, with times\n"
	      "  --token-file FILE     scrapes must send \"Authorization: Bearer <the file's first line>\"\n"
	      "  -c, --config FILE     configuration file: every server in it is a pool to watch\n"
	      "  -u, --user USER; --password-file FILE; --password-env VAR; -k, --insecure;\n"
	      "  --fingerprint SHA256; --cacert FILE   as for `xentui list` (with a URL or one server)\n",
	      f);
}

/* ---- pools -------------------------------------------------------------------------- */

static void say(const struct mpool *p, const char *text)
{
	char *safe = sanitize(text);

	fprintf(stderr, "xentui metrics: %s: %s\n", p->label, safe);
	free(safe);
}

static void on_logged_out(struct xapi *x, void *ud)
{
	struct app *a = ud;

	(void)x;
	if (--a->logouts == 0)
		loop_stop(a->loop, a->status);
}

static void finish(struct app *a, int status)
{
	a->status = status;
	a->logouts = (int)a->np;
	for (size_t i = 0; i < a->np; i++) {
		metrics_free(a->p[i].m);
		a->p[i].m = NULL;
		cache_stop(a->p[i].c);
		xapi_logout(a->p[i].x, on_logged_out, a);
	}
}

static void print_errors(struct app *a)
{
	for (size_t i = 0; i < a->np; i++)
		if (a->p[i].m && metrics_error(a->p[i].m))
			say(&a->p[i], metrics_error(a->p[i].m));
}

static size_t format(struct app *a, struct buf *out, bool json)
{
	struct om_pool *op = xcalloc(a->np ? a->np : 1, sizeof(*op));
	size_t n = 0, samples;

	for (size_t i = 0; i < a->np; i++)
		if (a->p[i].loaded && a->p[i].m) {
			op[n].cache = a->p[i].c;
			op[n].metrics = a->p[i].m;
			n++;
		}
	samples = json ? om_format_json(op, n, out) : om_format(op, n, out);
	free(op);
	return samples;
}

/* ---- dump ------------------------------------------------------------------------------ */

static void on_dump_refreshed(struct metrics *m, void *ud)
{
	struct app *a = ud;
	struct buf b;
	bool all_done = true;

	(void)m;
	for (size_t i = 0; i < a->np; i++)
		if (a->p[i].m == m)
			a->p[i].said = true; /* refreshed */
	for (size_t i = 0; i < a->np; i++)
		if (a->p[i].loaded && !a->p[i].said)
			all_done = false;
	if (!all_done || a->dumped)
		return;
	a->dumped = true;
	buf_init(&b);
	format(a, &b, a->json);
	fwrite(b.data ? b.data : "", 1, b.len, stdout);
	fflush(stdout);
	buf_free(&b);
	print_errors(a);
	finish(a, a->status);
}

/* dump starts once every pool is loaded or has failed */
static void dump_when_settled(struct app *a)
{
	size_t loaded = 0;

	if (a->dumped)
		return;
	for (size_t i = 0; i < a->np; i++) {
		if (!a->p[i].loaded && !a->p[i].failed)
			return;
		loaded += a->p[i].loaded;
	}
	if (!loaded) {
		a->dumped = true;
		finish(a, 1);
		return;
	}
	for (size_t i = 0; i < a->np; i++)
		a->p[i].said = false;
	for (size_t i = 0; i < a->np; i++)
		if (a->p[i].loaded) {
			metrics_want_all(a->p[i].m, METRICS_NOW);
			metrics_refresh(a->p[i].m, on_dump_refreshed, a);
		}
}

static void on_cache(struct cache *c, enum cache_op op, const char *cls, const char *ref, void *ud)
{
	struct mpool *p = ud;
	struct app *a = p->app;
	enum xapi_failure kind;

	(void)cls;
	(void)ref;
	if (op == CACHE_LOADED && cache_loaded(c)) {
		if (!p->m)
			p->m = metrics_new(a->loop, p->x, c);
		p->loaded = true;
		p->failed = false;
		if (!a->serve)
			dump_when_settled(a);
		else if (a->d && settled(a))
			start_waiting(a);
		return;
	}
	if (op != CACHE_STATUS)
		return;
	if (xapi_state(p->x) == XAPI_FAILED || (!a->serve && (xapi_state(p->x) == XAPI_RETRY || cache_failed(c)))) {
		const char *why = cache_failed(c) ? cache_status(c) : xapi_last_error(p->x, &kind);
		if (!p->failed) {
			say(p, why);
			if (xapi_state(p->x) == XAPI_FAILED && kind == XAPI_CERT_UNKNOWN)
				fprintf(stderr, "xentui metrics: to accept it, pass --fingerprint %s\n",
					xapi_seen_fingerprint(p->x));
		}
		p->failed = true;
		if (!a->serve) {
			a->status = 1;
			dump_when_settled(a);
		} else if (a->d && settled(a)) {
			start_waiting(a);
		}
	}
}

/* ---- serve -------------------------------------------------------------------------- */

static void mhd_run(struct app *a);
static void on_scrape_refreshed(struct metrics *m, void *ud);
static void scrape_ready(struct scrape *s);

static void on_mhd_timer(struct loop *l, void *ud)
{
	struct app *a = ud;

	(void)l;
	a->mhd_timer = NULL;
	mhd_run(a);
}

static void mhd_run(struct app *a)
{
	MHD_UNSIGNED_LONG_LONG to;

	MHD_run(a->d);
	if (a->mhd_timer) {
		loop_timer_cancel(a->loop, a->mhd_timer);
		a->mhd_timer = NULL;
	}
	if (MHD_get_timeout(a->d, &to) == MHD_YES)
		a->mhd_timer = loop_timer(a->loop, (int64_t)(to > 60000 ? 60000 : to), on_mhd_timer, a);
}

static void on_mhd_fd(struct loop *l, int fd, int events, void *ud)
{
	(void)l;
	(void)fd;
	(void)events;
	mhd_run(ud);
}

static void scrape_ready(struct scrape *s)
{
	struct timespec t0, t1;

	size_t n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	buf_init(&s->body);
	n = format(s->app, &s->body, false);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_msg("metrics: scrape: %zu samples, %zu bytes, formatted in %.1f ms", n, s->body.len,
		(double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	s->ready = true;
	MHD_resume_connection(s->conn);
	/* MHD runs from the loop, never from inside one of its own callbacks */
	if (s->app->mhd_timer)
		loop_timer_cancel(s->app->loop, s->app->mhd_timer);
	s->app->mhd_timer = loop_timer(s->app->loop, 0, on_mhd_timer, s->app);
}

static void on_scrape_refreshed(struct metrics *m, void *ud)
{
	struct scrape *s = ud;

	(void)m;
	if (--s->pending == 0)
		scrape_ready(s);
}

static void scrape_start(struct scrape *s)
{
	struct app *a = s->app;

	s->waiting_load = false;
	s->pending = 1; /* held until every pool has been asked */
	for (size_t i = 0; i < a->np; i++)
		if (a->p[i].loaded && a->p[i].m) {
			s->pending++;
			metrics_want_all(a->p[i].m, METRICS_NOW);
			metrics_refresh(a->p[i].m, on_scrape_refreshed, s);
		}
	if (--s->pending == 0)
		scrape_ready(s);
}

/* Every pool loaded or failed (or reconnecting: it will not load soon). */
static bool settled(const struct app *a)
{
	for (size_t i = 0; i < a->np; i++)
		if (!a->p[i].loaded && !a->p[i].failed && xapi_state(a->p[i].x) != XAPI_RETRY)
			return false;
	return true;
}

static void start_waiting(struct app *a)
{
	struct scrape *s, *next;

	for (s = a->scrapes; s; s = next) {
		next = s->next; /* scrape_ready may complete and unlink it */
		if (s->waiting_load)
			scrape_start(s);
	}
}

static void on_load_timeout(struct loop *l, void *ud)
{
	struct app *a = ud;

	(void)l;
	a->load_timer = NULL;
	start_waiting(a);
}

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned code, const char *type, char *body,
			       size_t len, bool take)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, body, take ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", type);
	if (code == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static bool token_ok(const struct app *a, struct MHD_Connection *conn)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	size_t n, tn;
	unsigned char diff = 0;

	if (!a->token)
		return true;
	if (!h || strncmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	n = strlen(h);
	tn = strlen(a->token);
	if (n != tn)
		return false;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(h[i] ^ a->token[i]); /* the same time for every wrong token */
	return diff == 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct app *a = cls;
	struct scrape *s = *con_cls;
	static char not_found[] = "Not found: the metrics are on /metrics\n";
	static char bad_method[] = "Only GET is served\n";
	static char unauthorized[] = "A bearer token is required\n";

	(void)version;
	(void)upload_data;
	if (s) {
		if (!s->ready)
			return MHD_YES;
		{
			size_t len = s->body.len;
			char *body = buf_steal(&s->body);
			return respond(conn, MHD_HTTP_OK, "application/openmetrics-text; version=1.0.0; charset=utf-8",
				       body ? body : xstrdup(""), body ? len : 0, true);
		}
	}
	if (*upload_data_size)
		return MHD_NO;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", bad_method, strlen(bad_method), false);
	if (strcmp(url, "/metrics") != 0)
		return respond(conn, MHD_HTTP_NOT_FOUND, "text/plain", not_found, strlen(not_found), false);
	if (!token_ok(a, conn))
		return respond(conn, MHD_HTTP_UNAUTHORIZED, "text/plain", unauthorized, strlen(unauthorized), false);
	s = xcalloc(1, sizeof(*s));
	s->app = a;
	s->conn = conn;
	s->next = a->scrapes;
	a->scrapes = s;
	*con_cls = s;
	MHD_suspend_connection(conn);
	if (settled(a)) {
		scrape_start(s);
	} else {
		/* the first scrapes after a start wait for the pools (10 s at most), not answer empty */
		s->waiting_load = true;
		if (!a->load_timer)
			a->load_timer = loop_timer(a->loop, 10000, on_load_timeout, a);
	}
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode t)
{
	struct app *a = cls;
	struct scrape *s = *con_cls, **pp;

	(void)conn;
	(void)t;
	if (!s)
		return;
	for (pp = &a->scrapes; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	buf_free(&s->body);
	free(s);
	*con_cls = NULL;
}

/* ADDR:PORT or [ADDR]:PORT into a socket address; false with a sentence on stderr. */
static bool parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[256], *colon;
	const char *port;
	struct addrinfo hints, *res = NULL;
	int rc;

	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');
		if (!rb || rb[1] != ':' || (size_t)(rb - spec - 1) >= sizeof(host))
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(rb - spec - 1), spec + 1);
		port = rb + 2;
	} else {
		if (strlen(spec) >= sizeof(host))
			goto bad;
		snprintf(host, sizeof(host), "%s", spec);
		colon = strrchr(host, ':');
		if (!colon)
			goto bad;
		*colon = '\0';
		port = spec + (colon - host) + 1;
	}
	if (!*port || strspn(port, "0123456789") != strlen(port) || atoi(port) > 65535)
		goto bad;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(*host ? host : NULL, port, &hints, &res);
	if (rc != 0 || !res) {
		fprintf(stderr, "xentui metrics: --listen %s: %s\n", spec, gai_strerror(rc));
		return false;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return true;
bad:
	fprintf(stderr, "xentui metrics: --listen takes ADDR:PORT (127.0.0.1:9100, [::1]:9100), not '%s'\n", spec);
	return false;
}

static bool start_server(struct app *a, const char *listen_spec)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;

	if (!parse_listen(listen_spec, &ss, &len))
		return false;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	a->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, a, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, a, MHD_OPTION_CONNECTION_TIMEOUT,
				(unsigned int)30, MHD_OPTION_END);
	if (!a->d) {
		fprintf(stderr, "xentui metrics: cannot listen on %s: %s\n", listen_spec, strerror(errno ? errno : EADDRINUSE));
		return false;
	}
	info = MHD_get_daemon_info(a->d, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		fprintf(stderr, "xentui metrics: the HTTP server has no event descriptor\n");
		return false;
	}
	loop_watch(a->loop, info->epoll_fd, LOOP_IN, on_mhd_fd, a);
	fprintf(stderr, "xentui metrics: serving http://%s/metrics\n", listen_spec);
	return true;
}

static void stop_server(struct app *a)
{
	const union MHD_DaemonInfo *info;

	if (!a->d)
		return;
	/* a scrape still waiting gets what there is, so the daemon can stop */
	for (struct scrape *s = a->scrapes; s; s = s->next)
		if (!s->ready) {
			buf_init(&s->body);
			s->ready = true;
			MHD_resume_connection(s->conn);
		}
	MHD_run(a->d);
	info = MHD_get_daemon_info(a->d, MHD_DAEMON_INFO_EPOLL_FD);
	if (info)
		loop_watch(a->loop, info->epoll_fd, 0, NULL, NULL);
	if (a->mhd_timer)
		loop_timer_cancel(a->loop, a->mhd_timer);
	a->mhd_timer = NULL;
	if (a->load_timer)
		loop_timer_cancel(a->loop, a->load_timer);
	a->load_timer = NULL;
	MHD_stop_daemon(a->d);
	a->d = NULL;
}

static void on_stop_signal(struct loop *l, int sig, void *ud)
{
	struct app *a = ud;

	(void)l;
	(void)sig;
	if (a->serve) {
		stop_server(a);
		finish(a, 0);
	} else {
		fprintf(stderr, "xentui metrics: interrupted\n");
		finish(a, 1);
	}
}

static char *read_token(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512];
	char *tok = NULL;

	if (!f) {
		fprintf(stderr, "xentui metrics: cannot read %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (*line)
			tok = xstrdup(line);
	}
	fclose(f);
	if (!tok)
		fprintf(stderr, "xentui metrics: %s holds no token\n", path);
	return tok;
}

/* ---- main ---------------------------------------------------------------------------------- */

static int parse(int argc, char **argv, struct mopts *o)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		CONN_LONG_OPTIONS,
		{"listen", required_argument, NULL, 'l'},
		{"token-file", required_argument, NULL, 'T'},
		{"json", no_argument, NULL, 'j'},
		{"log", required_argument, NULL, 'L'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->listen = "127.0.0.1:9100";
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h" CONN_SHORT_OPTIONS, opts, NULL)) != -1) {
		if (conn_take_option(c, optarg, &o->conn))
			continue;
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'l': o->listen = optarg; break;
		case 'T': o->token_file = optarg; break;
		case 'j': o->json = true; break;
		case 'L': o->log = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return 2;
		}
	}
	if (!conn_options_valid(&o->conn, "xentui metrics"))
		return 2;
	if (optind < argc)
		o->cmd = argv[optind++];
	if (!o->cmd || (strcmp(o->cmd, "serve") != 0 && strcmp(o->cmd, "dump") != 0)) {
		fprintf(stderr, "xentui metrics: serve or dump? (see xentui metrics --help)\n");
		return 2;
	}
	if (optind < argc)
		o->conn.target = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "xentui metrics: one pool at most on the command line: '%s' is one too many\n",
			argv[optind]);
		return 2;
	}
	if (o->json && strcmp(o->cmd, "dump") != 0) {
		fprintf(stderr, "xentui metrics: --json goes with dump\n");
		return 2;
	}
	return 0;
}

/* Connects pool i of a to the server sv (or the command line's pool). */
static int add_pool(struct app *a, const struct mopts *o, const struct config *cfg, const struct server_cfg *only)
{
	struct xapi_opts xo;
	const struct server_cfg *sv = NULL;
	struct conn_opts co = o->conn;
	struct mpool *p;
	char *password, *err = NULL;
	int rc;

	if (only)
		co.target = only->name;
	rc = conn_resolve(&co, cfg, &xo, &sv);
	if (rc)
		return rc;
	password = conn_password(&co, sv, xo.user, xo.url, &err);
	if (!password) {
		fprintf(stderr, "xentui metrics: %s\n", err);
		free(err);
		return 1;
	}
	xo.password = password;
	p = &a->p[a->np++];
	p->app = a;
	p->label = xstrdup(sv ? sv->name : xo.url);
	p->x = xapi_new(a->net, a->loop, &xo);
	secret_free(password);
	p->c = cache_new(p->x, a->loop);
	return 0;
}

int metrics_main(int argc, char **argv)
{
	struct mopts o;
	struct config cfg;
	struct app a;
	char *err = NULL;
	int rc;

	rc = parse(argc, argv, &o);
	if (rc)
		return rc;
	if (!config_load(o.config, &cfg, &err)) {
		fprintf(stderr, "xentui: %s\n", err);
		free(err);
		return 1;
	}
	config_print_warnings(&cfg, stderr);
	if (o.log && !log_open(o.log, &err)) {
		fprintf(stderr, "xentui metrics: %s\n", err);
		free(err);
		config_free(&cfg);
		return 1;
	}
	memset(&a, 0, sizeof(a));
	a.serve = strcmp(o.cmd, "serve") == 0;
	a.json = o.json;
	if (o.token_file && !(a.token = read_token(o.token_file))) {
		config_free(&cfg);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	a.loop = loop_new();
	a.net = net_new(a.loop);
	a.p = xcalloc(cfg.nservers > 0 ? (size_t)cfg.nservers : 1, sizeof(*a.p));
	if (o.conn.target || cfg.nservers <= 1) {
		rc = add_pool(&a, &o, &cfg, NULL);
	} else {
		for (int i = 0; i < cfg.nservers && !rc; i++)
			rc = add_pool(&a, &o, &cfg, &cfg.servers[i]);
	}
	if (!rc && a.serve && !start_server(&a, o.listen))
		rc = 1;
	if (!rc) {
		for (size_t i = 0; i < a.np; i++) {
			cache_subscribe(a.p[i].c, on_cache, &a.p[i]);
			cache_start(a.p[i].c);
		}
		loop_signal(a.loop, SIGINT, on_stop_signal, &a);
		loop_signal(a.loop, SIGTERM, on_stop_signal, &a);
		rc = loop_run(a.loop);
	}
	stop_server(&a);
	for (size_t i = 0; i < a.np; i++) {
		metrics_free(a.p[i].m);
		cache_stop(a.p[i].c);
		xapi_free(a.p[i].x);
		cache_free(a.p[i].c);
		free(a.p[i].label);
	}
	free(a.p);
	free(a.token);
	net_free(a.net);
	loop_free(a.loop);
	curl_global_cleanup();
	config_free(&cfg);
	log_close();
	return rc;
}
