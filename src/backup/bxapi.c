/* A blocking XenAPI session: the core's loop run until each answer comes. */
#include "bxapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "errors.h"
#include "loop.h"
#include "net.h"
#include "util.h"

#define LOGIN_TIMEOUT_MS 60000
#define PROGRESS_EVERY_MS 250
#define ERRBODY_MAX 4096
/* XO's way to PUT a body of unknown size: a huge length, then close */
#define UNKNOWN_LENGTH 1125899906842624ULL

struct bx {
	struct loop *loop;
	struct net *net;
	struct xapi *x;
	bx_progress_fn progress;
	void *progress_ud;
	char *code;          /* the last API error's code (bx_call's *code) */
	bool login_over;     /* connect: READY, FAILED or RETRY seen */
};

/* One call's answer; heap-held so an abandoned wait can be answered late. */
struct waiter {
	bool done;
	bool abandoned;
	struct loop *loop;
	struct xv *value;
	char *err;
	char *code;
};

static void on_state(struct xapi *x, enum xapi_state s, void *ud)
{
	struct bx *b = ud;

	if (s == XAPI_READY || s == XAPI_FAILED || s == XAPI_RETRY || s == XAPI_CLOSED) {
		if (!b->login_over) {
			b->login_over = true;
			loop_stop(b->loop, 0);
		} else if (s == XAPI_FAILED) {
			loop_stop(b->loop, 0); /* a waiting call gives up */
		}
	}
}

static void on_login_timeout(struct loop *l, void *ud)
{
	struct bx *b = ud;

	b->login_over = true;
	loop_stop(l, 0);
}

struct bx *bx_connect(const struct xapi_opts *o, char **err)
{
	struct bx *b = xcalloc(1, sizeof(*b));
	struct loop_timer *t;

	*err = NULL;
	b->loop = loop_new();
	b->net = net_new(b->loop);
	b->x = xapi_new(b->net, b->loop, o);
	xapi_on_state(b->x, on_state, b);
	xapi_connect(b->x);
	t = loop_timer(b->loop, LOGIN_TIMEOUT_MS, on_login_timeout, b);
	while (!b->login_over)
		loop_run(b->loop);
	if (xapi_state(b->x) == XAPI_READY) {
		loop_timer_cancel(b->loop, t);
		b->login_over = true;
		return b;
	}
	if (xapi_state(b->x) != XAPI_LOGIN)
		loop_timer_cancel(b->loop, t); /* else it fired */
	{
		enum xapi_failure kind = XAPI_OK;
		const char *why = xapi_last_error(b->x, &kind);
		const char *seen = xapi_seen_fingerprint(b->x);

		if (kind == XAPI_CERT_UNKNOWN)
			*err = xasprintf("%s: the certificate of %s is not known (SHA-256 %s); pass --fingerprint %s, "
					 "or connect once with the interface and accept it",
					 xapi_url(b->x), xapi_url(b->x), seen, seen);
		else if (xapi_state(b->x) == XAPI_LOGIN)
			*err = xasprintf("%s: no answer to the login in %d seconds", xapi_url(b->x), LOGIN_TIMEOUT_MS / 1000);
		else
			*err = xasprintf("%s: %s", xapi_url(b->x), why && *why ? why : xapi_state_message(b->x));
	}
	xapi_free(b->x);
	net_free(b->net);
	loop_free(b->loop);
	free(b);
	return NULL;
}

struct logout_wait {
	struct loop *loop;
	bool done;
};

static void on_logged_out(struct xapi *x, void *ud)
{
	struct logout_wait *w = ud;

	w->done = true;
	loop_stop(w->loop, 0);
}

void bx_close(struct bx *b)
{
	struct logout_wait w = {NULL, false};

	if (!b)
		return;
	w.loop = b->loop;
	/* a connection waiting to retry may still hold its session: log it out too */
	if (xapi_state(b->x) == XAPI_READY || xapi_state(b->x) == XAPI_RETRY) {
		xapi_logout(b->x, on_logged_out, &w);
		/* the logout's own timeout ends this: calls always get an answer */
		while (!w.done) {
			loop_run(b->loop);
			if (xapi_state(b->x) == XAPI_CLOSED)
				break;
		}
	}
	xapi_free(b->x);
	net_free(b->net);
	loop_free(b->loop);
	free(b->code);
	free(b);
}

struct xapi *bx_xapi(struct bx *b)
{
	return b->x;
}

/* ---- calls -------------------------------------------------------------------- */

static void waiter_free(struct waiter *w)
{
	xv_free(w->value);
	free(w->err);
	free(w->code);
	free(w);
}

static void on_answer(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct waiter *w = ud;

	if (w->abandoned) {
		waiter_free(w);
		return;
	}
	w->done = true;
	if (r->failure == XAPI_OK) {
		w->value = r->value ? xv_copy(r->value) : xv_nil();
	} else if (r->failure == XAPI_API) {
		w->err = error_sentence(r->error, NULL);
		w->code = xstrdup(xv_str(xv_at(r->error, 0)) ? xv_str(xv_at(r->error, 0)) : "");
	} else {
		w->err = xstrdup(r->message && *r->message ? r->message : "the call failed");
	}
	loop_stop(w->loop, 0);
}

struct xv *bx_call(struct bx *b, const char *method, struct xv *params, char **err, const char **code)
{
	struct waiter *w = xcalloc(1, sizeof(*w));
	struct xv *v;

	*err = NULL;
	if (code)
		*code = NULL;
	w->loop = b->loop;
	xapi_call(b->x, method, params ? params : xv_array(), on_answer, w);
	while (!w->done) {
		loop_run(b->loop);
		if (!w->done && xapi_state(b->x) == XAPI_FAILED) {
			const char *why = xapi_last_error(b->x, NULL);
			*err = xasprintf("%s: %s", method, why && *why ? why : "the connection failed");
			w->abandoned = true;
			return NULL;
		}
	}
	v = w->value;
	w->value = NULL;
	if (!v) {
		*err = xasprintf("%s: %s", method, w->err);
		free(b->code);
		b->code = w->code;
		w->code = NULL;
		if (code)
			*code = b->code;
	}
	waiter_free(w);
	return v;
}

char *bx_call_str(struct bx *b, const char *method, struct xv *params, char **err)
{
	struct xv *v = bx_call(b, method, params, err, NULL);
	char *s;

	if (!v)
		return NULL;
	if (!xv_str(v)) {
		*err = xasprintf("%s: the answer is not a string", method);
		xv_free(v);
		return NULL;
	}
	s = xstrdup(xv_str(v));
	xv_free(v);
	return s;
}

static void on_wake(struct loop *l, void *ud)
{
	bool *woke = ud;

	*woke = true;
	loop_stop(l, 0);
}

static void bx_sleep(struct bx *b, int ms)
{
	bool woke = false;

	loop_timer(b->loop, ms, on_wake, &woke);
	while (!woke)
		loop_run(b->loop);
}

/* A task's result is an XML-RPC value as text: "<value>OpaqueRef:..</value>". */
static char *task_result_text(const char *s)
{
	const char *open, *close;
	size_t n;

	if (!s)
		return xstrdup("");
	if (!(open = strstr(s, "<value>")) || !(close = strstr(open, "</value>")))
		return xstrdup(s);
	open += 7;
	n = (size_t)(close - open);
	if (n >= 17 && strncmp(open, "<string>", 8) == 0 && strncmp(close - 9, "</string>", 9) == 0)
		return xstrndup(open + 8, n - 17);
	return xstrndup(open, n);
}

char *bx_task_create(struct bx *b, const char *label, char **err)
{
	struct xv *p = xv_array();

	xv_array_push(p, xv_string(label));
	xv_array_push(p, xv_string("xentui backup"));
	return bx_call_str(b, "task.create", p, err);
}

char *bx_task_wait(struct bx *b, const char *task, int timeout_s, char **err)
{
	int64_t start = loop_now();
	int wait_ms = 100;

	*err = NULL;
	for (;;) {
		struct xv *p = xv_array(), *rec;
		const char *status;

		xv_array_push(p, xv_string(task));
		rec = bx_call(b, "task.get_record", p, err, NULL);
		if (!rec)
			return NULL;
		status = xv_str(xv_struct_get(rec, "status"));
		if (!status)
			status = "";
		if (strcmp(status, "success") == 0) {
			char *res = task_result_text(xv_str(xv_struct_get(rec, "result")));
			xv_free(rec);
			return res;
		}
		if (strcmp(status, "pending") != 0 && strcmp(status, "cancelling") != 0) {
			const struct xv *info = xv_struct_get(rec, "error_info");
			if (xv_len(info))
				*err = error_sentence(info, NULL);
			else
				*err = xasprintf("the task ended %s", *status ? status : "without a status");
			xv_free(rec);
			return NULL;
		}
		xv_free(rec);
		if (timeout_s > 0 && loop_now() - start > (int64_t)timeout_s * 1000) {
			*err = xasprintf("the task did not finish in %d seconds", timeout_s);
			return NULL;
		}
		bx_sleep(b, wait_ms);
		/* a short step: a task done is seen within 250 ms, not up to a second late */
		if (wait_ms < 250)
			wait_ms = wait_ms * 2 > 250 ? 250 : wait_ms * 2;
	}
}

void bx_task_destroy(struct bx *b, const char *task)
{
	struct xv *p = xv_array(), *v;
	char *err = NULL;

	xv_array_push(p, xv_string(task));
	v = bx_call(b, "task.destroy", p, &err, NULL);
	xv_free(v);
	free(err);
}

char *bx_call_async(struct bx *b, const char *method, struct xv *params, int timeout_s, char **err)
{
	char *am = xasprintf("Async.%s", method);
	char *task = bx_call_str(b, am, params, err);
	char *res, *why;

	free(am);
	if (!task) {
		why = *err;
		*err = xasprintf("%s", why);
		free(why);
		return NULL;
	}
	res = bx_task_wait(b, task, timeout_s, err);
	if (!res) {
		why = *err;
		*err = xasprintf("%s: %s", method, why);
		free(why);
		if (timeout_s > 0) {
			struct xv *p = xv_array(), *v;
			char *e2 = NULL;
			xv_array_push(p, xv_string(task));
			v = bx_call(b, "task.cancel", p, &e2, NULL);
			xv_free(v);
			free(e2);
		}
	}
	bx_task_destroy(b, task);
	free(task);
	return res;
}

void bx_on_progress(struct bx *b, bx_progress_fn fn, void *ud)
{
	b->progress = fn;
	b->progress_ud = ud;
}

/* ---- streamed HTTP ------------------------------------------------------------- */

struct xfer {
	struct bx *b;
	CURL *easy;
	bool done;
	CURLcode rc;
	long status;
	bx_sink_fn sink;
	bx_source_fn src;
	void *ud;
	char *err;           /* the sink's or source's error */
	uint64_t bytes;
	uint64_t length;     /* PUT: the body's size, 0 = unknown */
	bool src_eof;
	bool stop_at_eof;    /* unknown length: the end closes the connection */
	struct buf body;     /* an error reply's first bytes */
	int64_t last_note;
	char fp[65];
	char errbuf[CURL_ERROR_SIZE];
};

static size_t on_recv(char *p, size_t size, size_t n, void *ud)
{
	struct xfer *t = ud;
	size_t len = size * n;

	if (!t->status)
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->status);
	if (t->status != 200 || !t->sink) {
		if (t->body.len < ERRBODY_MAX)
			buf_append(&t->body, p, len);
		return len;
	}
	if (!t->sink(p, len, t->ud, &t->err)) {
		if (!t->err)
			t->err = xstrdup("the transfer was stopped");
		return 0;
	}
	t->bytes += len;
	return len;
}

static size_t on_send(char *p, size_t size, size_t n, void *ud)
{
	struct xfer *t = ud;
	ssize_t got;

	if (t->src_eof)
		return t->stop_at_eof ? CURL_READFUNC_ABORT : 0;
	got = t->src(p, size * n, t->ud, &t->err);
	if (got < 0) {
		if (!t->err)
			t->err = xstrdup("reading the data failed");
		return CURL_READFUNC_ABORT;
	}
	if (got == 0) {
		t->src_eof = true;
		return t->stop_at_eof ? CURL_READFUNC_ABORT : 0;
	}
	t->bytes += (uint64_t)got;
	return (size_t)got;
}

static int on_xferinfo(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct xfer *t = ud;
	int64_t now = loop_now();

	if (t->b->progress && now - t->last_note >= PROGRESS_EVERY_MS) {
		t->last_note = now;
		if (t->src)
			t->b->progress((uint64_t)ulnow, t->stop_at_eof ? 0 : (uint64_t)ultotal, t->b->progress_ud);
		else
			t->b->progress((uint64_t)dlnow, (uint64_t)dltotal, t->b->progress_ud);
	}
	return 0;
}

static void on_xfer_done(CURL *easy, CURLcode rc, void *ud)
{
	struct xfer *t = ud;

	t->done = true;
	t->rc = rc;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &t->status);
	loop_stop(t->b->loop, 0);
}

/* xapi's HTML error page says why in <h1>; else the status alone. */
static char *http_refusal(struct xfer *t, const char *what)
{
	const char *d = t->body.data ? t->body.data : "";
	const char *h = strstr(d, "<h1>"), *e = h ? strstr(h, "</h1>") : NULL;

	if (h && e)
		return xasprintf("the server refused %s (HTTP %ld: %.*s)", what, t->status, (int)(e - h - 4), h + 4);
	return xasprintf("the server refused %s (HTTP %ld)", what, t->status);
}

static bool xfer_run(struct bx *b, struct xfer *t, const char *path_query, const char *what, char **err)
{
	const char *base = xapi_url(b->x), *session = xapi_session(b->x);
	char *q_session, *url;
	struct curl_slist *headers = NULL;
	bool ok = false;

	*err = NULL;
	if (!session) {
		*err = xasprintf("%s: not logged in", path_query);
		return false;
	}
	t->b = b;
	buf_init(&t->body);
	t->easy = curl_easy_init();
	q_session = curl_easy_escape(t->easy, session, 0);
	if (strncmp(base, "unix:", 5) == 0) {
		curl_easy_setopt(t->easy, CURLOPT_UNIX_SOCKET_PATH, base + 5);
		base = "http://localhost";
	}
	url = xasprintf("%s%s%s%ssession_id=%s", base, path_query[0] == '/' ? "" : "/", path_query,
			strchr(path_query, '?') ? "&" : "?", q_session);
	curl_free(q_session);
	curl_easy_setopt(t->easy, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, on_recv);
	curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(t->easy, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(t->easy, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
	curl_easy_setopt(t->easy, CURLOPT_XFERINFODATA, t);
	net_transfer_defaults(t->easy, t->errbuf, 300);
	/* disks stream by the GiB: fewer, larger pieces cost less per byte */
	curl_easy_setopt(t->easy, CURLOPT_BUFFERSIZE, 512L * 1024);
	curl_easy_setopt(t->easy, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
	if (t->src) {
		curl_easy_setopt(t->easy, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(t->easy, CURLOPT_READFUNCTION, on_send);
		curl_easy_setopt(t->easy, CURLOPT_READDATA, t);
		curl_easy_setopt(t->easy, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)(t->length ? t->length : UNKNOWN_LENGTH));
		/* xapi does not answer 100-continue, and refuses chunked bodies */
		headers = curl_slist_append(headers, "Expect:");
		headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
		curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, headers);
	}
	if (strncmp(base, "https:", 6) == 0) {
		/* the certificate the session's connection already checked, and no other */
		snprintf(t->fp, sizeof(t->fp), "%s", xapi_seen_fingerprint(b->x));
		net_pin_certificate(t->easy, t->fp);
		if (!t->fp[0]) {
			*err = xasprintf("%s: the pool's certificate is not known yet", path_query);
			goto out;
		}
	}
	t->last_note = loop_now();
	net_start(b->net, t->easy, on_xfer_done, t);
	while (!t->done)
		loop_run(b->loop);
	if (b->progress)
		b->progress(t->bytes, t->bytes, b->progress_ud);
	if (t->err) {
		*err = t->err;
		t->err = NULL;
	} else if (t->status && t->status != 200) {
		*err = http_refusal(t, what);
	} else if (t->rc != CURLE_OK && !(t->stop_at_eof && t->src_eof && t->rc == CURLE_ABORTED_BY_CALLBACK)) {
		*err = xasprintf("%s: the transfer failed: %s", what, t->errbuf[0] ? t->errbuf : curl_easy_strerror(t->rc));
	} else if (!t->status && !(t->stop_at_eof && t->src_eof)) {
		*err = xasprintf("%s: the server sent no answer", what);
	} else {
		ok = true;
	}
out:
	curl_easy_cleanup(t->easy);
	curl_slist_free_all(headers);
	buf_free(&t->body);
	free(t->err);
	return ok;
}

bool bx_get(struct bx *b, const char *path_query, bx_sink_fn sink, void *ud, uint64_t *bytes, char **err)
{
	struct xfer t;
	char *what = xasprintf("GET %.*s", (int)strcspn(path_query, "?"), path_query);
	bool ok;

	memset(&t, 0, sizeof(t));
	t.sink = sink;
	t.ud = ud;
	ok = xfer_run(b, &t, path_query, what, err);
	free(what);
	if (bytes)
		*bytes = t.bytes;
	return ok;
}

bool bx_put(struct bx *b, const char *path_query, uint64_t length, bx_source_fn src, void *ud, char **err)
{
	struct xfer t;
	char *what = xasprintf("PUT %.*s", (int)strcspn(path_query, "?"), path_query);
	bool ok;

	memset(&t, 0, sizeof(t));
	t.src = src;
	t.ud = ud;
	t.length = length;
	t.stop_at_eof = length == 0;
	ok = xfer_run(b, &t, path_query, what, err);
	free(what);
	return ok;
}
