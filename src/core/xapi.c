#include "xapi.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "errors.h"
#include "jsonrpc.h"
#include "known_hosts.h"
#include "log.h"
#include "memtune.h"
#include "strpool.h"
#include "util.h"
#include "xmlrpc.h"

#define CALL_TIMEOUT_MS 120000L
#define CONNECT_TIMEOUT_MS 10000L
/* libcurl's receive buffer for a call (allocated with it: libcurl 7.88
 * holds one for each call queued, 22 at a pool's load) */
#define RPC_RECV_BUFFER (128L << 10)
/* a reply this large means a large pool, whose cache memtune.h readies */
#define BULK_REPLY ((size_t)256 << 10)
#define MAX_REDIRECTS 4
/* a connection that worked this long starts its backoff over at 1 s */
#define HEALTHY_MS 60000
#define MAX_BACKOFF_S 30
/* a silent pool costs only a SYN to try: look for it again soon */
#define SILENT_BACKOFF_S 4
/* the event.from long poll's deadline beyond its own timeout (renewed
 * while an answer is still arriving) */
#define LONG_POLL_SLACK_MS 5000L
/* an https login not through by then: ask whether the server speaks plain HTTP */
#define STALL_PROBE_MS 2000
#define PROBE_TIMEOUT_MS 3000L

struct call {
	struct xapi *x;
	char *method;
	struct xv *params; /* without the session */
	xapi_fn fn;
	void *ud;
	bool with_session;
	long timeout_ms;
	CURL *easy;
	struct curl_slist *headers;
	struct buf body;
	bool json;                     /* sent as JSON-RPC (jdec), else XML-RPC (dec) */
	struct xmlrpc_decoder *dec;
	struct jsonrpc_decoder *jdec;
	int retries;
	int64_t sent_ms;
	xmlrpc_member_filter filter;
	void *filter_ud;
	unsigned long long received; /* reply bytes so far */
	bool too_big;                /* the reply passed max_reply */
	bool quiet;                  /* a failure is no reason to reconnect */
	bool long_poll;              /* event.from: silent until its timeout by design */
	struct loop_timer *stall_timer; /* https login not through yet: probe for plain HTTP */
	struct loop_timer *deadline;    /* ours, not libcurl's: its retry on a new connection restarts its clock */
	long deadline_ms;               /* when it comes; a long poll's is renewed while bytes arrive */
	unsigned long long received_by_deadline;
	struct call *next;
	struct xv *secret; /* a param (the login's password) wiped with the body when done */
};

/* One pool for every connection of a single-threaded client (see xapi.h). */
static struct strpool *process_pool;

struct xapi {
	struct net *net;
	struct loop *loop;
	char *url;      /* current, after redirects */
	char *user;
	char *password;
	char *pinned;   /* normalised fingerprint, or NULL */
	char pinned_hostport[300]; /* the host it pins: a redirect elsewhere is checked on its own */
	bool insecure;
	char *known_hosts;
	char host[256]; /* host of url, for redirects */
	char hostport[300];
	char *unix_path;
	char *url_error;  /* the URL held a password: refused */
	unsigned long long max_reply;
	enum xapi_wire wire;   /* AUTO, XML or JSON */
	bool json;             /* calls go as JSON-RPC */
	bool wire_known;       /* auto: the server has answered JSON-RPC, or not */
	long long next_id;     /* JSON-RPC ids */

	enum xapi_state state;
	char *state_msg;
	char *last_error;          /* the last failure, without "retrying" */
	enum xapi_failure last_failure;
	char *session;
	unsigned logins;
	int redirects;
	int backoff_s;
	int64_t ready_ms; /* when the session last became usable */
	bool answered;    /* the last failure was the server's answer, not silence */
	struct loop_timer *retry;

	char seen_fp[65];
	char known_fp[65];
	enum xapi_failure cert_problem;
	bool cert_by_pin;      /* the refusal is the pin's, not known_hosts' */
	char *kh_error;        /* known_hosts does not parse: why (nothing is trusted) */
	char *ca_file;         /* CA certificates to trust (PEM), or NULL for the system's */

	/* silence: the last attempt got no answer at all (no reply, no reset) */
	bool silent;
	time_t last_answer;    /* wall clock of the last reply of any kind, 0: none yet */
	struct probe *probe;   /* the scheme check under way, or NULL */

	struct call *queue;    /* waiting for a session */
	struct call *inflight; /* sent */
	xapi_state_fn state_fn;
	void *state_ud;
	bool logging_out;
	struct strpool *names; /* field names of decoded records, shared */
	/* the pool's hosts as its master described them (xapi_set_members) */
	struct member {
		char *address;
		char fp[65]; /* "" when the master did not say */
	} *members;
	size_t nmembers;
	size_t next_member; /* where the next search for a lost master starts */
	bool closing;          /* being freed: new calls fail at once */
	xapi_gate_fn gate;     /* the console's lock (xapi_set_gate), or NULL */
	void *gate_ud;
	struct call *held;     /* calls the gate holds, in order */
};

static void send_call(struct xapi *x, struct call *c);
static void login(struct xapi *x);
static void revalidate(struct xapi *x);
static void drop_session(struct xapi *x);
static void flush_queue(struct xapi *x);
static void fail_queue(struct xapi *x, enum xapi_failure f, const char *msg);
static struct call *call_new(struct xapi *x, const char *method, struct xv *params, xapi_fn fn, void *ud);

/* ---- small helpers ------------------------------------------------------- */

bool fingerprint_normalise(const char *in, char out[65])
{
	size_t n = 0;

	for (; *in; in++) {
		if (*in == ':' || *in == ' ')
			continue;
		if (!isxdigit((unsigned char)*in) || n == 64)
			return false;
		out[n++] = (char)tolower((unsigned char)*in);
	}
	out[n] = '\0';
	return n == 64;
}

/* "1 GiB", "512 KiB", "1000 bytes": the reply limit as a person reads it. */
static void human_bytes(char *out, size_t n, unsigned long long v)
{
	static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
	int u = 0;

	while (u < 4 && v >= 1024 && v % 1024 == 0) {
		v /= 1024;
		u++;
	}
	snprintf(out, n, "%llu %s", v, units[u]);
}

static void remember_failure(struct xapi *x, enum xapi_failure f, const char *msg)
{
	free(x->last_error);
	x->last_error = xstrdup(msg);
	x->last_failure = f;
}

static void set_state(struct xapi *x, enum xapi_state s, const char *msg)
{
	static const char *const names[] = {"idle", "login", "ready", "retry", "failed", "closed"};

	log_msg("%s: %s%s%s", x->hostport, names[s], msg && *msg ? ": " : "", msg ? msg : "");
	free(x->state_msg);
	x->state_msg = xstrdup(msg ? msg : "");
	x->state = s;
	if (x->state_fn)
		x->state_fn(x, s, x->state_ud);
}

/* Splits url into host and host:port (default port by scheme). */
static void parse_url(struct xapi *x)
{
	const char *p = strstr(x->url, "://");
	const char *h = p ? p + 3 : x->url;
	size_t n = strcspn(h, "/");
	const char *colon;
	bool tls = strncmp(x->url, "https:", 6) == 0;

	free(x->unix_path);
	x->unix_path = NULL;
	if (strncmp(x->url, "unix:", 5) == 0) {
		x->unix_path = xstrdup(x->url + 5);
		snprintf(x->host, sizeof(x->host), "localhost");
		snprintf(x->hostport, sizeof(x->hostport), "%s", x->url);
		return;
	}
	if (*h == '[') {
		const char *e = strchr(h, ']');
		snprintf(x->host, sizeof(x->host), "%.*s", e ? (int)(e - h - 1) : 0, h + 1);
		colon = e && e[1] == ':' ? e + 1 : NULL;
	} else {
		colon = memchr(h, ':', n);
		snprintf(x->host, sizeof(x->host), "%.*s", colon ? (int)(colon - h) : (int)n, h);
	}
	if (colon)
		snprintf(x->hostport, sizeof(x->hostport), "%s:%.*s", x->host, (int)(n - (size_t)(colon + 1 - h)), colon + 1);
	else
		snprintf(x->hostport, sizeof(x->hostport), "%s:%d", x->host, tls ? 443 : 80);
}

/* The same scheme and port, another host: how a HOST_IS_SLAVE is followed. */
static void redirect_to(struct xapi *x, const char *host)
{
	const char *p = strstr(x->url, "://");
	const char *h = p ? p + 3 : x->url;
	size_t n = strcspn(h, "/");
	const char *colon = *h == '[' ? strstr(h, "]:") : memchr(h, ':', n);
	char *url;

	if (colon && *h == '[')
		colon++;
	if (strchr(host, ':'))
		url = xasprintf("%.*s[%s]%.*s", (int)(h - x->url), x->url, host, colon ? (int)(n - (size_t)(colon - h)) : 0,
				colon ? colon : "");
	else
		url = xasprintf("%.*s%s%.*s", (int)(h - x->url), x->url, host, colon ? (int)(n - (size_t)(colon - h)) : 0,
				colon ? colon : "");
	free(x->url);
	x->url = url;
	parse_url(x);
	/* another host (another version, in a rolling upgrade) is asked again */
	if (x->wire == XAPI_WIRE_AUTO) {
		x->json = true;
		x->wire_known = false;
	}
}

/* ---- certificates ---------------------------------------------------------- */

static int verify_cert(X509_STORE_CTX *st, void *arg)
{
	struct xapi *x = arg;
	X509 *cert = X509_STORE_CTX_get0_cert(st);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	x->cert_problem = XAPI_OK;
	x->seen_fp[0] = '\0';
	if (!cert)
		return 0;
	X509_digest(cert, EVP_sha256(), md, &len);
	for (unsigned i = 0; i < len && i < 32; i++)
		snprintf(x->seen_fp + 2 * i, 3, "%02x", md[i]);
	if (x->insecure)
		return 1;
	/* A certificate the (trusted) master vouched for as one of its hosts':
	 * how the connection follows the master to a member without asking.
	 * Any host of the pool, not only x->host: handshakes of calls still
	 * going to the old master finish after a redirect changed x->host. */
	for (size_t i = 0; i < x->nmembers; i++)
		if (x->members[i].fp[0] && strcmp(x->members[i].fp, x->seen_fp) == 0) {
			X509_STORE_CTX_set_error(st, X509_V_OK);
			return 1;
		}
	/* a pin, then a known_hosts entry, wins over every CA: a certificate
	 * once trusted cannot be replaced by another a CA vouches for */
	x->cert_by_pin = false;
	if (x->pinned) {
		if (strcmp(x->pinned, x->seen_fp) == 0)
			return 1;
		/* a pin is for the host it was given for; a host redirected to
		 * goes through the rules below (known_hosts, ask) */
		if (strcmp(x->pinned_hostport, x->hostport) == 0) {
			snprintf(x->known_fp, sizeof(x->known_fp), "%s", x->pinned);
			x->cert_by_pin = true;
			x->cert_problem = XAPI_CERT_CHANGED;
			return 0;
		}
	}
	{
		char *err = NULL;
		int found = known_hosts_find(x->known_hosts, x->hostport, x->known_fp, &err);
		if (found < 0) {
			/* a file that does not parse trusts nothing, not even a CA's word */
			free(x->kh_error);
			x->kh_error = err;
			x->known_fp[0] = '\0';
			x->cert_problem = XAPI_CERT_CHANGED;
			return 0;
		}
		if (found > 0) {
			if (strcmp(x->known_fp, x->seen_fp) == 0) {
				/* libcurl reads the verify result afterwards: clear the CA failure */
				X509_STORE_CTX_set_error(st, X509_V_OK);
				return 1;
			}
			x->cert_problem = XAPI_CERT_CHANGED;
			return 0;
		}
	}
	x->known_fp[0] = '\0';
	/* nothing known of this host: a certificate a trusted CA vouches for,
	 * for this very host, is fine */
	if (X509_verify_cert(st) == 1
	    && (X509_check_host(cert, x->host, 0, 0, NULL) == 1 || X509_check_ip_asc(cert, x->host, 0) == 1))
		return 1;
	x->cert_problem = XAPI_CERT_UNKNOWN;
	return 0;
}

static CURLcode ssl_ctx_cb(CURL *curl, void *ctx, void *arg)
{
	SSL_CTX_set_cert_verify_callback(ctx, verify_cert, arg);
	return CURLE_OK;
}

/* ---- calls ------------------------------------------------------------------ */

static void cancel_timers(struct call *c);

/* The sent body (and a secret param) overwritten before the memory goes back. */
static void wipe_body(struct call *c)
{
	if (c->body.data)
		explicit_bzero(c->body.data, c->body.cap);
}

static void call_free(struct call *c)
{
	cancel_timers(c);
	wipe_body(c);
	if (c->secret && xv_str(c->secret))
		explicit_bzero((char *)xv_str(c->secret), strlen(xv_str(c->secret)));
	if (c->easy)
		curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->headers);
	buf_free(&c->body);
	xmlrpc_decoder_free(c->dec);
	jsonrpc_decoder_free(c->jdec);
	xv_free(c->params);
	free(c->method);
	free(c);
}

static void finish(struct call *c, enum xapi_failure f, struct xv *value, const struct xv *error, const char *msg)
{
	struct xapi_result r = {f, value, error, msg ? msg : ""};

	if (c->fn)
		c->fn(c->x, &r, c->ud);
	xv_free(value);
	call_free(c);
}

static void unlink_inflight(struct xapi *x, struct call *c)
{
	for (struct call **p = &x->inflight; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			c->next = NULL;
			return;
		}
}

static void enqueue(struct xapi *x, struct call *c, bool front)
{
	struct call **p = &x->queue;

	if (!front)
		while (*p)
			p = &(*p)->next;
	c->next = *p;
	*p = c;
}

static void reset_transfer(struct call *c)
{
	cancel_timers(c);
	if (c->easy)
		curl_easy_cleanup(c->easy);
	c->easy = NULL;
	curl_slist_free_all(c->headers);
	c->headers = NULL;
	wipe_body(c);
	buf_free(&c->body);
	xmlrpc_decoder_free(c->dec);
	c->dec = NULL;
	jsonrpc_decoder_free(c->jdec);
	c->jdec = NULL;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct call *c = ud;

	/* a reply without end (or a server gone mad) must not take all memory */
	c->received += size * n;
	if (c->received > c->x->max_reply) {
		c->too_big = true;
		return 0;
	}
	if (c->received >= BULK_REPLY)
		memtune_bulk_heap(); /* a large pool: its cache is tens of MB */
	/* a failed decode stops here; the error is reported when the transfer ends */
	if (c->json ? !jsonrpc_decoder_feed(c->jdec, p, size * n) : !xmlrpc_decoder_feed(c->dec, p, size * n))
		return 0;
	return size * n;
}

static void schedule_retry(struct xapi *x, const char *why);
static void fail_transport(struct xapi *x, struct call *c, const char *msg);

/* ---- silence: a path that drops every packet ------------------------------- */

/* No answer at all, not even a reset: a deadline passed, or the kernel gave
 * up on a connection whose packets went unacknowledged (keepalive). */
static bool is_silence(CURL *easy, CURLcode rc)
{
	long oserr = 0;

	if (rc == CURLE_OPERATION_TIMEDOUT)
		return true;
	curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &oserr);
	return (rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR || rc == CURLE_COULDNT_CONNECT
		|| rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_GOT_NOTHING)
	       && (oserr == ETIMEDOUT || oserr == EHOSTUNREACH || oserr == ENETUNREACH);
}

/* "12:04:31": when the pool last answered. */
static void clock_of(time_t t, char *out, size_t n)
{
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(out, n, "%H:%M:%S", &tm);
}

static void silence_sentence(struct xapi *x, const struct call *c, char *msg, size_t n)
{
	char when[16];

	if (x->last_answer) {
		clock_of(x->last_answer, when, sizeof(when));
		snprintf(msg, n, "%s is not answering (no answer since %s)", x->hostport, when);
	} else if (c && c->sent_ms) {
		snprintf(msg, n, "%s is not answering (no answer in %lld s)", x->hostport,
			 (long long)((loop_now() - c->sent_ms + 500) / 1000));
	} else {
		snprintf(msg, n, "%s is not answering", x->hostport);
	}
}

/* ---- the other scheme: https to a plain server, http to a TLS one ----------- */

struct probe {
	struct xapi *x;
	CURL *easy;
	bool tls;          /* checking whether the server speaks TLS (else plain HTTP) */
	struct call *held; /* a failed call answered once the probe has spoken, or NULL */
	char *held_msg;
};

static void probe_free(struct probe *pr)
{
	curl_easy_cleanup(pr->easy);
	free(pr->held_msg);
	free(pr);
}

/* The address of the server with the other scheme: "http://h:p/". */
static char *other_scheme_url(const struct xapi *x, bool tls)
{
	const char *port = strrchr(x->hostport, ':');

	if (strchr(x->host, ':'))
		return xasprintf("%s://[%s]%s/", tls ? "https" : "http", x->host, port ? port : "");
	return xasprintf("%s://%s%s/", tls ? "https" : "http", x->host, port ? port : "");
}

/* The URL to use instead: this one with the other scheme. */
static void scheme_sentence(const struct xapi *x, bool server_tls, char *msg, size_t n)
{
	const char *rest = strstr(x->url, "://");

	snprintf(msg, n, "the server at %s speaks %s, not %s; use %s%s", x->hostport, server_tls ? "HTTPS" : "plain HTTP",
		 server_tls ? "plain HTTP" : "HTTPS", server_tls ? "https" : "http", rest ? rest : "://");
}

/* Whether a call's TLS handshake went through: then the server speaks TLS,
 * whatever a plain request to its port is answered (nginx answers 400). */
static bool handshake_done(struct call *c)
{
	curl_off_t t = 0;

	return c->easy && curl_easy_getinfo(c->easy, CURLINFO_APPCONNECT_TIME_T, &t) == CURLE_OK && t > 0;
}

static bool any_handshake_done(struct xapi *x)
{
	for (struct call *c = x->inflight; c; c = c->next)
		if (handshake_done(c))
			return true;
	return false;
}

static size_t discard_body(char *p, size_t size, size_t n, void *ud)
{
	return 0; /* the status line is all the probe wanted */
}

static void on_probe(CURL *easy, CURLcode rc, void *ud)
{
	struct probe *pr = ud;
	struct xapi *x = pr->x;
	long status = 0;
	bool other;
	char msg[1024];

	x->probe = NULL;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	/* (a TLS server's answer to a plain request is a 400: nginx, Apache) */
	other = pr->tls ? rc == CURLE_OK : status > 0 && status != 400 && !any_handshake_done(x);
	log_msg("%s: %s probe: curl %d, HTTP %ld", x->hostport, pr->tls ? "TLS" : "plain HTTP", (int)rc, status);
	if (!other || x->closing || x->state != XAPI_LOGIN) {
		if (pr->held)
			fail_transport(x, pr->held, pr->held_msg);
		pr->held = NULL;
		probe_free(pr);
		return;
	}
	/* the URL is wrong: no retry will help, the person must change it */
	scheme_sentence(x, pr->tls, msg, sizeof(msg));
	remember_failure(x, XAPI_TRANSPORT, msg);
	set_state(x, XAPI_FAILED, msg);
	if (pr->held)
		finish(pr->held, XAPI_TRANSPORT, NULL, NULL, msg);
	pr->held = NULL;
	/* the handshakes still waiting on the plain server never end well */
	for (struct call **p = &x->inflight; *p;) {
		struct call *c = *p;
		if (c->quiet) {
			p = &c->next;
			continue;
		}
		*p = c->next;
		c->next = NULL;
		net_cancel(x->net, c->easy);
		finish(c, XAPI_TRANSPORT, NULL, NULL, msg);
	}
	fail_queue(x, XAPI_TRANSPORT, msg);
	probe_free(pr);
}

static void start_probe(struct xapi *x, bool tls, struct call *held, const char *held_msg)
{
	struct probe *pr = xcalloc(1, sizeof(*pr));
	char *url = other_scheme_url(x, tls);

	pr->x = x;
	pr->tls = tls;
	pr->held = held;
	pr->held_msg = held_msg ? xstrdup(held_msg) : NULL;
	pr->easy = curl_easy_init();
	curl_easy_setopt(pr->easy, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(pr->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(pr->easy, CURLOPT_TIMEOUT_MS, PROBE_TIMEOUT_MS);
	curl_easy_setopt(pr->easy, CURLOPT_USERAGENT, "xentui/0.1");
	if (tls) {
		/* only whether a handshake completes: nothing is sent, nothing trusted */
		curl_easy_setopt(pr->easy, CURLOPT_CONNECT_ONLY, 1L);
		curl_easy_setopt(pr->easy, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(pr->easy, CURLOPT_SSL_VERIFYHOST, 0L);
	} else {
		curl_easy_setopt(pr->easy, CURLOPT_WRITEFUNCTION, discard_body);
	}
	x->probe = pr;
	net_start(x->net, pr->easy, on_probe, pr);
}

/* An http:// call that got bytes no HTTP server sends, or none, or an
 * https:// one whose handshake the server broke off (a plain server's 400):
 * if the server turns out to speak the other scheme, say so (the call
 * waits for the probe). */
static bool maybe_other_scheme(struct xapi *x, struct call *c, CURLcode rc, const char *msg)
{
	bool tls_url = strncmp(x->url, "https:", 6) == 0;

	if (x->probe || x->unix_path || c->quiet || x->state != XAPI_LOGIN)
		return false;
	if (tls_url ? rc != CURLE_SSL_CONNECT_ERROR
		    : rc != CURLE_RECV_ERROR && rc != CURLE_GOT_NOTHING && rc != CURLE_WEIRD_SERVER_REPLY
			      && rc != CURLE_UNSUPPORTED_PROTOCOL)
		return false;
	start_probe(x, !tls_url, c, msg);
	return true;
}

/* An https:// login still not through after a while: a plain HTTP server
 * waits for a request line the TLS hello never completes, until the
 * deadline. Ask it in plain HTTP meanwhile. */
static void on_stall(struct loop *l, void *ud)
{
	struct call *c = ud;
	struct xapi *x = c->x;

	c->stall_timer = NULL;
	if (!x->probe && x->state == XAPI_LOGIN && !x->closing && !handshake_done(c))
		start_probe(x, false, NULL, NULL);
}

static void cancel_timers(struct call *c)
{
	if (c->stall_timer)
		loop_timer_cancel(c->x->loop, c->stall_timer);
	c->stall_timer = NULL;
	if (c->deadline)
		loop_timer_cancel(c->x->loop, c->deadline);
	c->deadline = NULL;
}

/* The call's deadline passed: nothing at all came back is silence. */
static void on_deadline(struct loop *l, void *ud)
{
	struct call *c = ud;
	struct xapi *x = c->x;
	char msg[600];

	c->deadline = NULL;
	if (c->long_poll && c->received > c->received_by_deadline) {
		/* a large batch of events on a slow link: still coming */
		c->received_by_deadline = c->received;
		c->deadline = loop_timer(x->loop, LONG_POLL_SLACK_MS, on_deadline, c);
		return;
	}
	unlink_inflight(x, c);
	cancel_timers(c);
	net_cancel(x->net, c->easy);
	log_msg("%s %s: deadline passed after %lld ms, %llu bytes received", x->hostport, c->method,
		(long long)(loop_now() - c->sent_ms), c->received);
	if (c->received == 0) {
		x->silent = true;
		x->answered = false;
		silence_sentence(x, c, msg, sizeof(msg));
	} else {
		snprintf(msg, sizeof(msg), "%s did not finish its answer to %s within %lld s", x->hostport, c->method,
			 (long long)((loop_now() - c->sent_ms) / 1000));
	}
	fail_transport(x, c, msg);
}

/* The pool went silent: the calls still waiting would only wait for their
 * own deadlines (libcurl even retries them on a new connection); answer
 * them now. (Not the logouts of dropped sessions: nobody waits for those.) */
static void fail_inflight(struct xapi *x, const char *msg)
{
	struct call **p = &x->inflight;

	while (*p) {
		struct call *c = *p;
		if (c->quiet) {
			p = &c->next;
			continue;
		}
		*p = c->next;
		c->next = NULL;
		net_cancel(x->net, c->easy);
		finish(c, XAPI_TRANSPORT, NULL, NULL, msg);
		p = &x->inflight; /* a callback may have changed the list */
	}
}

/* auto: a JSON-RPC call answered with anything but JSON (a 404, or an
 * older xapi's XML-RPC handler refusing the body with a 500) means the
 * server has no JSON-RPC: remembered, and the call sent again as XML-RPC. */
static bool fall_back_to_xml(struct xapi *x, struct call *c, CURLcode rc, long status)
{
	char *type = NULL;

	if (!c->json || x->wire != XAPI_WIRE_AUTO || (x->wire_known && x->json))
		return false;
	/* (a server that hangs up on the request without a word counts too) */
	if (!(status > 0 && (rc == CURLE_OK || rc == CURLE_WRITE_ERROR)) && !(status == 0 && rc == CURLE_GOT_NOTHING))
		return false;
	curl_easy_getinfo(c->easy, CURLINFO_CONTENT_TYPE, &type);
	if (status == 200 && type && strstr(type, "json"))
		return false;
	if (x->json)
		log_msg("%s answers HTTP %ld (%s) on /jsonrpc: using XML-RPC", x->hostport, status,
			type ? type : rc == CURLE_GOT_NOTHING ? "nothing" : "no type");
	x->json = false;
	x->wire_known = true;
	reset_transfer(c);
	c->received = 0;
	c->too_big = false;
	send_call(x, c);
	return true;
}

static void on_done(CURL *easy, CURLcode rc, void *ud)
{
	struct call *c = ud;
	struct xapi *x = c->x;
	struct xmlrpc_msg m;
	long status = 0;
	char msg[1024];
	const struct xv *resp;
	const char *st;

	unlink_inflight(x, c);
	cancel_timers(c);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	log_msg("%s %s: curl %d, HTTP %ld, %lld ms", x->hostport, c->method, (int)rc, status,
		(long long)(loop_now() - c->sent_ms));
	if (status > 0 || c->received > 0) {
		/* an answer of any kind: the path works */
		x->silent = false;
		x->last_answer = time(NULL);
	} else if (is_silence(easy, rc) && c->received == 0) {
		x->silent = true;
		silence_sentence(x, c, msg, sizeof(msg));
		x->answered = false;
		fail_transport(x, c, msg);
		return;
	} else if (rc == CURLE_COULDNT_CONNECT) {
		x->silent = false; /* refused: the host answered, nothing listens */
	}
	if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT || x->cert_problem != XAPI_OK) {
		enum xapi_failure f = x->cert_problem != XAPI_OK ? x->cert_problem : XAPI_TRANSPORT;
		if (f == XAPI_CERT_CHANGED && x->kh_error)
			snprintf(msg, sizeof(msg), "%s; refusing to connect to %s", x->kh_error, x->hostport);
		else if (f == XAPI_CERT_CHANGED && x->cert_by_pin)
			snprintf(msg, sizeof(msg),
				 "the certificate of %s does not match the pinned fingerprint: pinned %s, the server's is %s; "
				 "refusing to connect (check --fingerprint or the server's fingerprint setting)",
				 x->hostport, x->known_fp, x->seen_fp);
		else if (f == XAPI_CERT_CHANGED)
			snprintf(msg, sizeof(msg),
				 "the certificate of %s has CHANGED: it was %s, it is now %s; refusing to connect "
				 "(someone may be intercepting the connection; if the host was reinstalled, remove it from %s)",
				 x->hostport, x->known_fp, x->seen_fp, x->known_hosts ? x->known_hosts : "known_hosts");
		else if (f == XAPI_CERT_UNKNOWN)
			snprintf(msg, sizeof(msg), "the certificate of %s is not known yet: SHA-256 fingerprint %s", x->hostport,
				 x->seen_fp);
		else
			snprintf(msg, sizeof(msg), "TLS failure with %s: %s", x->hostport, curl_easy_strerror(rc));
		remember_failure(x, f, msg);
		if (f != XAPI_TRANSPORT)
			set_state(x, XAPI_FAILED, msg);
		finish(c, f, NULL, NULL, msg);
		return;
	}
	if (c->too_big) {
		char cap[32];
		human_bytes(cap, sizeof(cap), x->max_reply);
		snprintf(msg, sizeof(msg),
			 "the answer of %s to %s is larger than %s, the most one reply may hold; it was refused "
			 "(XENTUI_MAX_REPLY_BYTES sets another limit)",
			 x->hostport, c->method, cap);
		goto transport;
	}
	if (fall_back_to_xml(x, c, rc, status))
		return; /* sent again, as XML-RPC */
	/* (a write error is the decoder's refusal, said below) */
	if (rc != CURLE_OK && rc != CURLE_WRITE_ERROR) {
		snprintf(msg, sizeof(msg), "%s: %s", x->hostport, curl_easy_strerror(rc));
		if (status == 0 && maybe_other_scheme(x, c, rc, msg))
			return; /* answered once the probe has spoken */
		goto transport;
	}
	if (status != 200) {
		snprintf(msg, sizeof(msg), "%s answered HTTP %ld to %s", x->hostport, status, c->method);
		goto transport;
	}
	if (c->json ? !jsonrpc_decoder_finish(c->jdec, &m) : !xmlrpc_decoder_finish(c->dec, &m)) {
		snprintf(msg, sizeof(msg), "malformed reply from %s: %s", x->hostport,
			 c->json ? jsonrpc_decoder_error(c->jdec) : xmlrpc_decoder_error(c->dec));
		goto transport;
	}
	if (c->json && !x->wire_known) {
		x->wire_known = true;
		log_msg("%s answers JSON-RPC on /jsonrpc: using it", x->hostport);
	}
	resp = xv_at(m.params, 0);
	st = xv_str(xv_struct_get(resp, "Status"));
	if (m.fault || !resp || !st) {
		xmlrpc_msg_free(&m);
		snprintf(msg, sizeof(msg), "unexpected reply from %s (not a XenAPI answer)", x->hostport);
		goto transport;
	}
	if (strcmp(st, "Success") == 0) {
		/* taken, not copied: a reply can be tens of megabytes */
		struct xv *v = xv_struct_take(xv_at(m.params, 0), "Value");
		if (!v)
			v = xv_string("");
		xmlrpc_msg_free(&m);
		finish(c, XAPI_OK, v, NULL, NULL);
		return;
	}
	{
		const struct xv *e = xv_struct_get(resp, "ErrorDescription");
		const char *code = xv_str(xv_at(e, 0));

		/* (not while logging out: the pending event.from is answered
		 * SESSION_INVALID once the logout lands, and that ends it) */
		if (code && strcmp(code, "SESSION_INVALID") == 0 && c->with_session && c->retries < 2 && !x->logging_out) {
			/* our session expired: log in again and redo the call */
			const char *which = xv_str(xv_at(e, 1));
			c->retries++;
			reset_transfer(c);
			if (x->session && (!which || !*which || strcmp(which, x->session) == 0)) {
				free(x->session); /* expired: nothing to log out */
				x->session = NULL;
			}
			enqueue(x, c, true);
			xmlrpc_msg_free(&m);
			/* sent with a session since replaced: again with the current one */
			if (x->session && x->state == XAPI_READY)
				flush_queue(x);
			else if (!x->session && x->state != XAPI_LOGIN)
				login(x);
			return;
		}
		if (code && strcmp(code, "HOST_IS_SLAVE") == 0 && xv_str(xv_at(e, 1)) && c->with_session && c->retries < 2) {
			/* the master moved: follow it, log in there, redo */
			c->retries++;
			reset_transfer(c);
			redirect_to(x, xv_str(xv_at(e, 1)));
			drop_session(x);
			enqueue(x, c, true);
			xmlrpc_msg_free(&m);
			if (x->state != XAPI_LOGIN)
				login(x);
			return;
		}
		{
			/* r->message is a sentence: the header and status lines show it as is */
			char *why = error_sentence(e, NULL);
			snprintf(msg, sizeof(msg), "%s", why);
			free(why);
		}
		finish(c, XAPI_API, NULL, e, msg);
		xmlrpc_msg_free(&m);
		return;
	}
transport:
	/* an answer, however bad, says the host is there: no need to look
	 * for the master elsewhere */
	x->answered = c->too_big || (rc == CURLE_OK || rc == CURLE_WRITE_ERROR);
	fail_transport(x, c, msg);
}

static void fail_transport(struct xapi *x, struct call *c, const char *msg)
{
	bool lost = x->state == XAPI_READY && !x->logging_out && !c->quiet;

	/* the connection goes to RETRY first: the caller, told of the failure,
	 * sees that the connection is being taken care of */
	if (lost)
		schedule_retry(x, msg);
	finish(c, XAPI_TRANSPORT, NULL, NULL, msg);
	if (lost && x->silent)
		fail_inflight(x, msg);
}

static void send_call(struct xapi *x, struct call *c)
{
	struct xv **params;
	size_t n = xv_len(c->params), k = 0;
	char *rpcurl;

	params = xcalloc(n + 1, sizeof(*params));
	struct xv *sess = NULL;
	if (c->with_session) {
		sess = xv_string(x->session ? x->session : "");
		params[k++] = sess;
	}
	for (size_t i = 0; i < n; i++)
		params[k++] = xv_at(c->params, i);
	buf_init(&c->body);
	/* room for the whole body at once: a buffer grown by realloc would leave
	 * copies of the password in freed memory (escaping at most sextuples) */
	if (c->secret)
		buf_reserve(&c->body, 1024 + 6 * (strlen(x->user) + strlen(x->password)));
	c->json = x->json;
	if (c->json)
		jsonrpc_encode_call(&c->body, c->method, params, k, ++x->next_id);
	else
		xmlrpc_encode_call(&c->body, c->method, params, k);
	xv_free(sess);
	free(params);

	if (c->json) {
		c->jdec = jsonrpc_decoder_new();
		jsonrpc_decoder_set_pool(c->jdec, x->names, x->names == process_pool);
		if (c->filter)
			jsonrpc_decoder_set_filter(c->jdec, c->filter, c->filter_ud);
	} else {
		c->dec = xmlrpc_decoder_new();
		xmlrpc_decoder_set_pool(c->dec, x->names, x->names == process_pool);
		if (c->filter)
			xmlrpc_decoder_set_filter(c->dec, c->filter, c->filter_ud);
	}
	c->easy = curl_easy_init();
	c->headers = curl_slist_append(NULL, c->json ? "Content-Type: application/json" : "Content-Type: text/xml");
	/* xapi never sends 100 Continue: don't wait for it */
	c->headers = curl_slist_append(c->headers, "Expect:");
	if (x->unix_path) {
		curl_easy_setopt(c->easy, CURLOPT_UNIX_SOCKET_PATH, x->unix_path);
		rpcurl = xstrdup(c->json ? "http://localhost/jsonrpc" : "http://localhost/");
	} else {
		rpcurl = xasprintf("%s/%s", x->url, c->json ? "jsonrpc" : "");
	}
	curl_easy_setopt(c->easy, CURLOPT_URL, rpcurl);
	free(rpcurl);
	curl_easy_setopt(c->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, c->body.data);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)c->body.len);
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(c->easy, CURLOPT_USERAGENT, "xentui/0.1");
	curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
	/* a large pool's load is 47 (JSON) to 132 MB (XML) of replies: with
	 * curl's 16 KiB, a poll and a recv for each 16 KiB (5,900 and 16,500
	 * system calls on 5,000 VMs), with this 800 and 2,100 */
	curl_easy_setopt(c->easy, CURLOPT_BUFFERSIZE, RPC_RECV_BUFFER);
	curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	/* a path that drops every packet is noticed in seconds, even idle */
	net_keepalive(c->easy);
	if (x->ca_file)
		curl_easy_setopt(c->easy, CURLOPT_CAINFO, x->ca_file);
	else
		net_system_cas(c->easy);
	curl_easy_setopt(c->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c->easy, CURLOPT_SSL_VERIFYHOST, 0L); /* checked in verify_cert */
	curl_easy_setopt(c->easy, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
	curl_easy_setopt(c->easy, CURLOPT_SSL_CTX_DATA, x);
	c->next = x->inflight;
	x->inflight = c;
	c->sent_ms = loop_now();
	/* a little after libcurl's own, which a retry on a new connection restarts */
	c->received_by_deadline = 0;
	c->deadline = loop_timer(x->loop, c->deadline_ms ? c->deadline_ms : c->timeout_ms + 500, on_deadline, c);
	/* (a host that once answered over TLS speaks TLS) */
	if (x->state == XAPI_LOGIN && !c->quiet && !x->silent && !x->last_answer && strncmp(x->url, "https:", 6) == 0)
		c->stall_timer = loop_timer(x->loop, STALL_PROBE_MS, on_stall, c);
	net_start(x->net, c->easy, on_done, c);
}

static void flush_queue(struct xapi *x)
{
	while (x->queue && x->state == XAPI_READY) {
		struct call *c = x->queue;
		x->queue = c->next;
		c->next = NULL;
		send_call(x, c);
	}
}

static void fail_queue(struct xapi *x, enum xapi_failure f, const char *msg)
{
	while (x->queue) {
		struct call *c = x->queue;
		x->queue = c->next;
		finish(c, f, NULL, NULL, msg);
	}
}

/* ---- login ------------------------------------------------------------------- */

/* The master does not answer: try the next host of the pool instead. A
 * member answers HOST_IS_SLAVE with the master's address (followed by
 * on_login), a new master lets us in: what XO does with its pool's hosts. */
static void try_next_member(struct xapi *x)
{
	for (size_t k = 0; k < x->nmembers; k++) {
		struct member *m = &x->members[(x->next_member + k) % x->nmembers];
		if (strcmp(m->address, x->host) == 0)
			continue;
		x->next_member = (x->next_member + k + 1) % x->nmembers;
		log_msg("%s does not answer; trying the pool's host %s", x->hostport, m->address);
		redirect_to(x, m->address);
		x->redirects = 0;
		return;
	}
}

static void on_retry(struct loop *l, void *ud)
{
	struct xapi *x = ud;

	x->retry = NULL;
	if (x->last_failure == XAPI_TRANSPORT && x->nmembers > 1 && !x->answered)
		try_next_member(x);
	if (x->session)
		revalidate(x);
	else
		login(x);
}

/* The status line's words for silence: since when, and that what is shown
 * is as of then. */
static void silent_status(const struct xapi *x, char *out, size_t n)
{
	char when[16];

	if (!x->last_answer) {
		snprintf(out, n, "not answering (%s)", x->hostport);
		return;
	}
	clock_of(x->last_answer, when, sizeof(when));
	snprintf(out, n, "not answering since %s (data as of then)", when);
}

static void schedule_retry(struct xapi *x, const char *why)
{
	char msg[1200];

	/* (a failure that needs the person stays until they act) */
	if (x->retry || x->state == XAPI_CLOSED || x->state == XAPI_FAILED)
		return;
	remember_failure(x, XAPI_TRANSPORT, why);
	/* a failure that comes back right after each reconnection waits longer
	 * each time; one after a good while starts again at 1 s */
	if (x->state == XAPI_READY && loop_now() - x->ready_ms >= HEALTHY_MS)
		x->backoff_s = 0;
	x->backoff_s = x->backoff_s ? x->backoff_s * 2 : 1;
	/* with other hosts to try, a silent master is looked for sooner */
	if (x->backoff_s > (x->nmembers > 1 && !x->answered ? 4 : MAX_BACKOFF_S))
		x->backoff_s = x->nmembers > 1 && !x->answered ? 4 : MAX_BACKOFF_S;
	if (x->silent && x->backoff_s > SILENT_BACKOFF_S)
		x->backoff_s = SILENT_BACKOFF_S;
	/* the session is kept: the retry asks whether it still works */
	if (x->silent) {
		char sil[300];
		silent_status(x, sil, sizeof(sil));
		snprintf(msg, sizeof(msg), "%s; retrying in %d s", sil, x->backoff_s);
		/* calls waiting for the login would wait for nothing */
		fail_queue(x, XAPI_TRANSPORT, why);
	} else {
		snprintf(msg, sizeof(msg), "%s; retrying in %d s", why, x->backoff_s);
	}
	set_state(x, XAPI_RETRY, msg);
	x->retry = loop_timer(x->loop, (int64_t)x->backoff_s * 1000, on_retry, x);
}

/* Logs out the session about to be forgotten, so it does not live on in
 * the pool (xapi keeps up to 500 per user, then drops the oldest). The
 * answer does not matter. */
static void drop_session(struct xapi *x)
{
	struct xv *p;
	struct call *c;

	if (!x->session)
		return;
	p = xv_array();
	xv_array_push(p, xv_string(x->session));
	free(x->session);
	x->session = NULL;
	if (x->closing)
		return;
	c = call_new(x, "session.logout", p, NULL, NULL);
	c->with_session = false; /* the old session is its parameter */
	c->retries = 2;
	c->quiet = true;
	c->timeout_ms = 5000;
	send_call(x, c);
}

static void became_ready(struct xapi *x)
{
	x->logins++;
	x->redirects = 0;
	x->ready_ms = loop_now();
	log_msg("%s: calls go as %s", x->hostport, xapi_wire_name(x));
	set_state(x, XAPI_READY, NULL);
	flush_queue(x);
}

/* After a failure, the session kept is asked whether it still works
 * (pool.get_all, which every role may call): yes, and it is used again
 * without a new login; no, and it is given up for a login. */
static void on_revalidate(struct xapi *x, const struct xapi_result *r, void *ud)
{
	if (x->state != XAPI_LOGIN || !x->session || x->logging_out)
		return; /* overtaken: a logout, or a login the user asked for */
	if (r->failure == XAPI_OK) {
		log_msg("%s: the session still works; reusing it", x->hostport);
		became_ready(x);
		return;
	}
	if (r->failure == XAPI_API) {
		const char *code = xv_str(xv_at(r->error, 0));
		const char *p1 = xv_str(xv_at(r->error, 1));
		if (code && strcmp(code, "HOST_IS_SLAVE") == 0 && p1 && x->redirects < MAX_REDIRECTS) {
			/* a pool's sessions are the pool's: ask its master */
			x->redirects++;
			redirect_to(x, p1);
			revalidate(x);
			return;
		}
		if (code && strcmp(code, "SESSION_INVALID") == 0) {
			free(x->session); /* gone already: nothing to log out */
			x->session = NULL;
		} else {
			drop_session(x);
		}
		login(x);
		return;
	}
	if (r->failure == XAPI_CERT_UNKNOWN || r->failure == XAPI_CERT_CHANGED) {
		fail_queue(x, r->failure, r->message);
		return;
	}
	schedule_retry(x, r->message);
}

/* LOGIN, saying "not answering ...; trying again" while the pool is silent. */
static void set_login_state(struct xapi *x, const char *msg)
{
	char sil[400];

	if (x->silent) {
		silent_status(x, sil, sizeof(sil));
		snprintf(sil + strlen(sil), sizeof(sil) - strlen(sil), "; trying again");
		msg = sil;
	}
	set_state(x, XAPI_LOGIN, msg);
}

static void revalidate(struct xapi *x)
{
	struct call *c = call_new(x, "pool.get_all", NULL, on_revalidate, NULL);

	c->retries = 2; /* its answer decides: no login behind its back */
	x->cert_problem = XAPI_OK;
	set_login_state(x, "checking whether the session still works");
	send_call(x, c);
}

static void on_login(struct xapi *x, const struct xapi_result *r, void *ud)
{
	char msg[600];

	if (r->failure == XAPI_OK && xv_str(r->value)) {
		/* the backoff stays: only a connection that lasts resets it */
		drop_session(x);
		x->session = xstrdup(xv_str(r->value));
		became_ready(x);
		return;
	}
	if (r->failure == XAPI_API) {
		const char *code = xv_str(xv_at(r->error, 0));
		const char *p1 = xv_str(xv_at(r->error, 1));
		if (code && strcmp(code, "HOST_IS_SLAVE") == 0 && p1 && x->redirects < MAX_REDIRECTS) {
			log_msg("%s is a pool member; the master is %s", x->hostport, p1);
			x->redirects++;
			redirect_to(x, p1);
			login(x);
			return;
		}
		if (code && strcmp(code, "SESSION_AUTHENTICATION_FAILED") == 0) {
			snprintf(msg, sizeof(msg), "%s refused the user name or password for '%s'", x->hostport, x->user);
			remember_failure(x, XAPI_AUTH, msg);
			set_state(x, XAPI_FAILED, msg);
			fail_queue(x, XAPI_AUTH, msg);
			return;
		}
		if (code && strcmp(code, "HOST_STILL_BOOTING") == 0) {
			x->answered = true;
			schedule_retry(x, "the host is still starting up");
			return;
		}
		snprintf(msg, sizeof(msg), "login to %s failed: %s", x->hostport, r->message);
		remember_failure(x, XAPI_API, msg);
		set_state(x, XAPI_FAILED, msg);
		fail_queue(x, XAPI_API, msg);
		return;
	}
	if (r->failure == XAPI_CERT_UNKNOWN || r->failure == XAPI_CERT_CHANGED) {
		fail_queue(x, r->failure, r->message);
		return;
	}
	schedule_retry(x, r->message);
}

static struct call *call_new(struct xapi *x, const char *method, struct xv *params, xapi_fn fn, void *ud)
{
	struct call *c = xcalloc(1, sizeof(*c));

	c->x = x;
	c->method = xstrdup(method);
	c->params = params ? params : xv_array();
	c->fn = fn;
	c->ud = ud;
	c->with_session = true;
	c->timeout_ms = CALL_TIMEOUT_MS;
	return c;
}

static void login(struct xapi *x)
{
	struct xv *p;
	struct call *c;

	if (x->retry) {
		loop_timer_cancel(x->loop, x->retry);
		x->retry = NULL;
	}
	if (x->url_error) {
		remember_failure(x, XAPI_API, x->url_error);
		set_state(x, XAPI_FAILED, x->url_error);
		fail_queue(x, XAPI_API, x->url_error);
		return;
	}
	p = xv_array();
	xv_array_push(p, xv_string(x->user));
	xv_array_push(p, xv_string(x->password));
	xv_array_push(p, xv_string("2.21"));
	xv_array_push(p, xv_string("xentui"));
	c = call_new(x, "session.login_with_password", p, on_login, NULL);
	c->secret = xv_at(p, 1);
	c->with_session = false;
	x->cert_problem = XAPI_OK;
	set_login_state(x, NULL);
	send_call(x, c);
}

/* ---- public ------------------------------------------------------------------- */

/* XENTUI_MAX_REPLY_BYTES, else the default. */
static unsigned long long reply_limit_from_env(void)
{
	const char *e = getenv("XENTUI_MAX_REPLY_BYTES");
	char *end;
	unsigned long long v;

	if (!e || !*e)
		return XAPI_DEFAULT_MAX_REPLY_BYTES;
	v = strtoull(e, &end, 10);
	if (*end || v == 0) {
		log_msg("XENTUI_MAX_REPLY_BYTES=%s is not a number of bytes; using the default", e);
		return XAPI_DEFAULT_MAX_REPLY_BYTES;
	}
	return v;
}

bool xapi_wire_parse(const char *s, enum xapi_wire *out)
{
	static const char *const names[] = {"auto", "xml", "json"};

	for (int i = 0; i < 3; i++)
		if (s && strcmp(s, names[i]) == 0) {
			*out = (enum xapi_wire)(XAPI_WIRE_AUTO + i);
			return true;
		}
	return false;
}

/* The options' choice, else XENTUI_TRANSPORT (how --transport and the
 * configuration reach every connection), else auto. */
static enum xapi_wire wire_from(enum xapi_wire w)
{
	const char *e = getenv("XENTUI_TRANSPORT");

	if (w != XAPI_WIRE_DEFAULT)
		return w;
	if (e && *e && !xapi_wire_parse(e, &w)) {
		log_msg("XENTUI_TRANSPORT=%s is not xml, json or auto; using auto", e);
		w = XAPI_WIRE_AUTO;
	}
	return w == XAPI_WIRE_DEFAULT ? XAPI_WIRE_AUTO : w;
}

/* Where the host part of a URL starts and ends (after "scheme://", up to
 * the path), and the '@' ending its user part (NULL when none). */
static const char *authority(const char *url, size_t *len, const char **at)
{
	const char *p = strstr(url, "://");
	const char *h;

	*at = NULL;
	if (!p || strncmp(url, "unix:", 5) == 0) {
		*len = 0;
		return NULL;
	}
	h = p + 3;
	*len = strcspn(h, "/?#");
	for (size_t i = 0; i < *len; i++)
		if (h[i] == '@')
			*at = h + i; /* the last one: a user may be written with '@' */
	return h;
}

/* The URL without its user part, whatever it holds. */
static char *strip_userinfo(const char *url)
{
	size_t len;
	const char *at;
	const char *h = authority(url, &len, &at);

	if (!h || !at)
		return xstrdup(url);
	return xasprintf("%.*s%s", (int)(h - url), url, at + 1);
}

/* %XX escapes in a URL's user name. */
static char *percent_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) && isxdigit((unsigned char)s[i + 2])) {
			char hex[3] = {s[i + 1], s[i + 2], '\0'};
			out[k++] = (char)strtol(hex, NULL, 16);
			i += 2;
		} else {
			out[k++] = s[i];
		}
	}
	out[k] = '\0';
	return out;
}

bool xapi_url_userinfo(const char *url, char **clean, char **user, char **err)
{
	size_t len;
	const char *at;
	const char *h = authority(url, &len, &at);
	const char *colon;

	*clean = NULL;
	*user = NULL;
	if (!h || !at) {
		*clean = xstrdup(url);
		return true;
	}
	colon = memchr(h, ':', (size_t)(at - h));
	if (colon) {
		/* named without the password, which goes nowhere, not even here */
		char *shown = xasprintf("%.*s%.*s@%s", (int)(h - url), url, (int)(colon - h), h, at + 1);
		if (err)
			*err = xasprintf("the URL %s holds a password, which xentui never takes from a URL (it would show "
					 "on screen and in logs); give it with --password-file or --password-env, or with "
					 "password_file, password_env or password_command in the configuration",
					 shown);
		free(shown);
		return false;
	}
	*clean = strip_userinfo(url);
	if (at > h)
		*user = percent_decode(h, (size_t)(at - h));
	return true;
}

struct xapi *xapi_new(struct net *net, struct loop *loop, const struct xapi_opts *o)
{
	struct xapi *x = xcalloc(1, sizeof(*x));
	char fp[65];

	x->net = net;
	x->loop = loop;
	x->url = xstrdup(o->url);
	while (*x->url && x->url[strlen(x->url) - 1] == '/')
		x->url[strlen(x->url) - 1] = '\0';
	x->user = xstrdup(o->user ? o->user : "root");
	x->password = xstrdup(o->password ? o->password : "");
	x->insecure = o->insecure;
	x->known_hosts = o->known_hosts ? xstrdup(o->known_hosts) : NULL;
	{
		/* --cacert, else XENTUI_CA_FILE (how the interface's pools get one) */
		const char *ca = o->ca_file && *o->ca_file ? o->ca_file : getenv("XENTUI_CA_FILE");
		x->ca_file = ca && *ca ? xstrdup(ca) : NULL;
	}
	x->state_msg = xstrdup("");
	x->names = process_pool ? process_pool : strpool_new();
	x->max_reply = o->max_reply_bytes ? o->max_reply_bytes : reply_limit_from_env();
	x->wire = wire_from(o->wire);
	x->json = x->wire != XAPI_WIRE_XML;
	{
		/* a user in the URL is the user; a password there is never used,
		 * shown or logged: the URL kept is the one without them */
		char *clean = NULL, *user = NULL;
		if (xapi_url_userinfo(x->url, &clean, &user, &x->url_error)) {
			free(x->url);
			x->url = clean;
			if (user) {
				free(x->user);
				x->user = user;
			}
		} else {
			char *bare = strip_userinfo(x->url);
			free(x->url);
			x->url = bare;
		}
	}
	parse_url(x);
	if (o->fingerprint && fingerprint_normalise(o->fingerprint, fp)) {
		x->pinned = xstrdup(fp);
		snprintf(x->pinned_hostport, sizeof(x->pinned_hostport), "%s", x->hostport);
	}
	return x;
}

void xapi_push_password(const struct xapi *x, struct xv *params)
{
	xv_array_push(params, xv_string(x->password));
}

void xapi_free(struct xapi *x)
{
	if (!x)
		return;
	/* every call still gets its answer, so its owner can free what it passed */
	x->closing = true;
	fail_queue(x, XAPI_TRANSPORT, "connection closed");
	xapi_gate_open(x, false, "connection closed");
	while (x->inflight) {
		struct call *c = x->inflight;
		x->inflight = c->next;
		net_cancel(x->net, c->easy);
		finish(c, XAPI_TRANSPORT, NULL, NULL, "connection closed");
	}
	if (x->probe) {
		struct probe *pr = x->probe;
		x->probe = NULL;
		net_cancel(x->net, pr->easy);
		if (pr->held)
			finish(pr->held, XAPI_TRANSPORT, NULL, NULL, "connection closed");
		pr->held = NULL;
		probe_free(pr);
	}
	if (x->retry)
		loop_timer_cancel(x->loop, x->retry);
	if (x->password) /* don't leave the password lying in freed memory */
		explicit_bzero(x->password, strlen(x->password));
	free(x->password);
	free(x->url);
	free(x->user);
	free(x->pinned);
	free(x->known_hosts);
	free(x->unix_path);
	free(x->session);
	free(x->state_msg);
	free(x->last_error);
	free(x->url_error);
	free(x->kh_error);
	free(x->ca_file);
	for (size_t i = 0; i < x->nmembers; i++)
		free(x->members[i].address);
	free(x->members);
	/* records still held elsewhere borrow their keys from here: xv_free
	 * never reads them, so freeing the pool first is safe (the process
	 * pool's nodes are read: it lives until xapi_release_process_pool) */
	if (x->names != process_pool)
		strpool_free(x->names);
	free(x);
}

void xapi_use_process_pool(void)
{
	if (!process_pool)
		process_pool = strpool_new();
}

void xapi_release_process_pool(void)
{
	strpool_free(process_pool);
	process_pool = NULL;
}

void xapi_on_state(struct xapi *x, xapi_state_fn fn, void *ud)
{
	x->state_fn = fn;
	x->state_ud = ud;
}

void xapi_connect(struct xapi *x)
{
	if (x->state == XAPI_LOGIN || x->state == XAPI_READY)
		return;
	if (x->retry) {
		loop_timer_cancel(x->loop, x->retry);
		x->retry = NULL;
	}
	if (x->session)
		revalidate(x);
	else
		login(x);
}

struct logout_ctx {
	void (*done)(struct xapi *x, void *ud);
	void *ud;
};

static void on_logout(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct logout_ctx *l = ud;

	free(x->session);
	x->session = NULL;
	set_state(x, XAPI_CLOSED, NULL);
	if (l->done)
		l->done(x, l->ud);
	free(l);
}

void xapi_logout(struct xapi *x, void (*done)(struct xapi *x, void *ud), void *ud)
{
	struct logout_ctx *l = xcalloc(1, sizeof(*l));
	struct call *c;

	l->done = done;
	l->ud = ud;
	x->logging_out = true;
	if (x->retry) {
		loop_timer_cancel(x->loop, x->retry);
		x->retry = NULL;
	}
	if (!x->session) {
		struct xapi_result r = {XAPI_OK, NULL, NULL, ""};
		fail_queue(x, XAPI_TRANSPORT, "connection closed");
		on_logout(x, &r, l);
		return;
	}
	c = call_new(x, "session.logout", NULL, on_logout, l);
	c->retries = 2; /* never re-login just to log out */
	c->timeout_ms = 5000;
	send_call(x, c);
}

/* Sends now, waits for the login, or fails at once when the user must act. */
static void submit(struct xapi *x, struct call *c)
{
	if (x->closing) {
		finish(c, XAPI_TRANSPORT, NULL, NULL, "connection closed");
		return;
	}
	if (x->gate && x->gate(x, c->method, x->gate_ud)) {
		struct call **tail = &x->held;
		while (*tail)
			tail = &(*tail)->next;
		c->next = NULL;
		*tail = c;
		return;
	}
	if (x->state == XAPI_FAILED || x->state == XAPI_CLOSED)
		finish(c, XAPI_TRANSPORT, NULL, NULL, x->state_msg[0] ? x->state_msg : "not connected");
	else if (x->silent) {
		/* waiting for a pool that does not answer helps nobody: say so now */
		char msg[600];
		silence_sentence(x, c, msg, sizeof(msg));
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), "; try again once it answers");
		finish(c, XAPI_TRANSPORT, NULL, NULL, msg);
	} else if (x->state == XAPI_READY && x->session)
		send_call(x, c);
	else
		enqueue(x, c, false);
}

void xapi_call_anon(struct xapi *x, const char *method, struct xv *params, int secret, xapi_fn fn, void *ud)
{
	struct call *c = call_new(x, method, params, fn, ud);

	c->with_session = false;
	if (secret >= 0)
		c->secret = xv_at(c->params, (size_t)secret);
	if (x->closing)
		finish(c, XAPI_TRANSPORT, NULL, NULL, "connection closed");
	else
		send_call(x, c);
}

void xapi_set_gate(struct xapi *x, xapi_gate_fn fn, void *ud)
{
	x->gate = fn;
	x->gate_ud = ud;
}

void xapi_gate_open(struct xapi *x, bool send, const char *msg)
{
	struct call *c = x->held;

	x->held = NULL;
	while (c) {
		struct call *next = c->next;
		c->next = NULL;
		if (send)
			submit(x, c);
		else
			finish(c, XAPI_TRANSPORT, NULL, NULL, msg);
		c = next;
	}
}

void xapi_call(struct xapi *x, const char *method, struct xv *params, xapi_fn fn, void *ud)
{
	struct call *c = call_new(x, method, params, fn, ud);

	submit(x, c);
}

void xapi_call_filtered(struct xapi *x, const char *method, struct xv *params, xmlrpc_member_filter filter,
			void *filter_ud, xapi_fn fn, void *ud)
{
	struct call *c = call_new(x, method, params, fn, ud);

	c->filter = filter;
	c->filter_ud = filter_ud;
	submit(x, c);
}

void xapi_call_long(struct xapi *x, const char *method, struct xv *params, double timeout_s, xapi_fn fn, void *ud)
{
	struct call *c = call_new(x, method, params, fn, ud);

	/* no answer by the poll's own timeout and a little: silence; libcurl's
	 * bound is only the last resort for an answer that trickles forever */
	c->long_poll = true;
	c->deadline_ms = (long)(timeout_s * 1000) + LONG_POLL_SLACK_MS;
	c->timeout_ms = (long)(timeout_s * 1000) + 60000;
	submit(x, c);
}

enum xapi_state xapi_state(const struct xapi *x)
{
	return x->state;
}

const char *xapi_wire_name(const struct xapi *x)
{
	return x->json ? "JSON-RPC" : "XML-RPC";
}

const char *xapi_state_message(const struct xapi *x)
{
	return x->state_msg;
}

const char *xapi_url(const struct xapi *x)
{
	return x->url;
}

struct net *xapi_net(const struct xapi *x)
{
	return x->net;
}

const char *xapi_session(const struct xapi *x)
{
	return x->session ? x->session : "";
}

const char *xapi_seen_fingerprint(const struct xapi *x)
{
	return x->seen_fp;
}

const char *xapi_known_fingerprint(const struct xapi *x)
{
	return x->known_fp;
}

struct strpool *xapi_strpool(const struct xapi *x)
{
	return x->names;
}

const char *xapi_last_error(const struct xapi *x, enum xapi_failure *kind)
{
	if (kind)
		*kind = x->last_failure;
	return x->last_error ? x->last_error : "";
}

unsigned xapi_login_count(const struct xapi *x)
{
	return x->logins;
}

bool xapi_silent(const struct xapi *x, time_t *last_answer)
{
	if (last_answer)
		*last_answer = x->last_answer;
	return x->silent;
}

bool xapi_accept_fingerprint(struct xapi *x)
{
	char *err = NULL;

	if (!x->seen_fp[0])
		return false;
	free(x->pinned);
	x->pinned = xstrdup(x->seen_fp);
	snprintf(x->pinned_hostport, sizeof(x->pinned_hostport), "%s", x->hostport);
	/* no longer a question about the certificate: the answer was given */
	x->cert_problem = XAPI_OK;
	if (x->known_hosts && !known_hosts_add(x->known_hosts, x->hostport, x->seen_fp, &err)) {
		remember_failure(x, XAPI_TRANSPORT, err);
		set_state(x, XAPI_FAILED, err); /* said, not asked again */
		free(err);
		return false;
	}
	login(x);
	return true;
}

void xapi_set_members(struct xapi *x, size_t n, const char *const *addresses, const char *const *fingerprints)
{
	for (size_t i = 0; i < x->nmembers; i++)
		free(x->members[i].address);
	free(x->members);
	x->members = n ? xcalloc(n, sizeof(*x->members)) : NULL;
	x->nmembers = n;
	x->next_member = 0;
	for (size_t i = 0; i < n; i++) {
		x->members[i].address = xstrdup(addresses[i]);
		if (!fingerprints[i] || !fingerprint_normalise(fingerprints[i], x->members[i].fp))
			x->members[i].fp[0] = '\0';
	}
	for (size_t i = 0; i < n; i++)
		log_msg("%s: pool host %s, certificate %s", x->hostport, x->members[i].address,
			x->members[i].fp[0] ? x->members[i].fp : "not known");
}

const char *xapi_host(const struct xapi *x)
{
	return x->host;
}
