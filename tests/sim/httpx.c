/* Credentials, tasks, heads, bodies and throttling for the HTTP data
 * handlers (ocaml/xapi/xapi_http.ml, taskHelper.ml). */
#include "httpx.h"
#include "tasks.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <poll.h>
#include <sys/socket.h>

#include <openssl/evp.h>

#include "faults.h"
#include "rpc.h"
#include "sessions.h"
#include "sim.h"
#include "util.h"
#include "xmlrpc.h"

double hx_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* ---- credentials --------------------------------------------------------- */

/* "Basic dXNlcjpwYXNz" -> user and password; false if not Basic. */
static bool basic_credentials(const char *hdr, char *user, size_t ulen, char *pass, size_t plen)
{
	unsigned char out[512];
	size_t n, pad = 0;
	int k;
	char *colon;

	if (!hdr || strncasecmp(hdr, "Basic ", 6) != 0)
		return false;
	hdr += 6;
	while (*hdr == ' ')
		hdr++;
	n = strlen(hdr);
	while (n && (hdr[n - 1] == ' ' || hdr[n - 1] == '\r'))
		n--;
	if (n == 0 || n % 4 != 0 || n / 4 * 3 >= sizeof(out))
		return false;
	k = EVP_DecodeBlock(out, (const unsigned char *)hdr, (int)n);
	if (k < 0)
		return false;
	if (hdr[n - 1] == '=')
		pad++;
	if (hdr[n - 2] == '=')
		pad++;
	k -= (int)pad;
	out[k] = '\0';
	colon = strchr((char *)out, ':');
	if (!colon || strlen((char *)out) != (size_t)k)
		return false;
	*colon = '\0';
	snprintf(user, ulen, "%s", (char *)out);
	snprintf(pass, plen, "%s", colon + 1);
	return true;
}

/* After refusing a request whose body is still coming: reads it for a
 * little while before the close, so that the client, still sending, gets
 * the answer rather than a reset (a "lingering close"). */
static void linger(struct http_req *r)
{
	struct conn *c = r->conn;
	double end = hx_now() + 2;
	char buf[16384];

	if (r->content_length <= 0 && !http_header(r, "Transfer-Encoding"))
		return;
	while (hx_now() < end && !c->closed) {
		struct pollfd p = {c->fd, POLLIN, 0};
		if (c->rpos == c->rlen && !(c->ssl && SSL_pending(c->ssl)) && poll(&p, 1, 300) <= 0)
			break;
		if (conn_read(c, buf, sizeof(buf)) <= 0)
			break;
	}
}

static void deny(struct http_req *r, const char *label)
{
	char *extra = xasprintf("WWW-Authenticate: Basic realm=\"%s\"\r\n", label);
	static const char body[] = "<html><body><h1>HTTP 401 unauthorised</h1>Authorisation failed</body></html>";

	r->keep_alive = false;
	http_respond(r, 401, "text/html", body, sizeof(body) - 1, extra);
	free(extra);
	linger(r);
}

bool hx_auth(struct hx *h, struct http_req *r, const char *label)
{
	char *sid = http_param(r, "session_id");
	char user[512], pass[512];
	struct xv *err = NULL;
	bool ok = false;

	memset(h, 0, sizeof(*h));
	h->r = r;
	h->left = r->content_length;
	h->cut_at = -1;
	h->bps = faults_slow_bps();
	h->t0 = hx_now();
	if (sid) {
		db_lock();
		if (session_check(sid, &err)) {
			snprintf(h->session, sizeof(h->session), "%s", sid);
			ok = true;
		}
		db_unlock();
	} else if (basic_credentials(http_header(r, "Authorization"), user, sizeof(user), pass, sizeof(pass))) {
		/* xapi logs in for the request, with the login's rules */
		if (strcmp(user, sim.user) != 0 || strcmp(pass, sim.password) != 0) {
			sleep_s(5);
		} else {
			db_lock();
			if (!sim.is_slave) {
				struct obj *s = session_new(user, "", false);
				snprintf(h->session, sizeof(h->session), "%s", s->ref);
				h->temp_session = true;
				ok = true;
			}
			db_unlock();
		}
	}
	xv_free(err);
	free(sid);
	if (!ok)
		deny(r, label);
	return ok;
}

/* ---- tasks ----------------------------------------------------------------- */

/* The transfers driving a task, for hx_cancel (database lock held). */
struct running {
	const struct hx *h;
	char task[REF_LEN];
	int fd;
};
static struct running *running;
static size_t nrunning, running_cap;

static void running_add(const struct hx *h)
{
	if (nrunning == running_cap) {
		running_cap = running_cap ? running_cap * 2 : 8;
		running = xrealloc(running, running_cap * sizeof(*running));
	}
	running[nrunning].h = h;
	snprintf(running[nrunning].task, sizeof(running[nrunning].task), "%s", h->task);
	running[nrunning++].fd = h->r->conn->fd;
}

/* Before the connection closes: hx_cancel must never shut down a reused fd. */
static void running_del(const struct hx *h)
{
	for (size_t i = 0; i < nrunning;)
		if (running[i].h == h)
			running[i] = running[--nrunning];
		else
			i++;
	if (!nrunning) {
		free(running);
		running = NULL;
		running_cap = 0;
	}
}

void hx_cancel(const char *task)
{
	for (size_t i = 0; i < nrunning; i++)
		if (strcmp(running[i].task, task) == 0)
			shutdown(running[i].fd, SHUT_RDWR);
}

void hx_end(struct hx *h)
{
	db_lock();
	running_del(h);
	db_unlock();
	if (h->temp_session) {
		db_lock();
		struct obj *s = db_get(schema_class("session"), h->session);
		if (s)
			db_delete(s);
		db_unlock();
		h->temp_session = false;
	}
}

struct obj *hx_task(struct hx *h, const char *label)
{
	char *given = http_param(h->r, "task_id");
	struct obj *t;

	if (given) {
		t = db_get(schema_class("task"), given);
		free(given);
		if (t) {
			snprintf(h->task, sizeof(h->task), "%s", t->ref);
			running_add(h);
		}
		return t;
	}
	t = task_new(label, NULL, h->temp_session ? NULL : db_get(schema_class("session"), h->session));
	snprintf(h->task, sizeof(h->task), "%s", t->ref);
	running_add(h);
	return t;
}

bool hx_progress(struct hx *h, double p, bool force)
{
	double now = hx_now();
	bool go_on = true;
	struct obj *t;

	if (!h->task[0] || (!force && now - h->last_progress < 0.2))
		return true;
	h->last_progress = now;
	db_lock();
	t = db_get(schema_class("task"), h->task);
	if (t && strcmp(db_str(t, "status"), "cancelling") == 0)
		go_on = false;
	else if (t && strcmp(db_str(t, "status"), "pending") == 0)
		db_set_float(t, "progress", p < 0 ? 0 : p > 1 ? 1 : p);
	db_unlock();
	return go_on;
}

void hx_finish_locked(struct hx *h, const struct xv *result, const struct xv *error)
{
	struct obj *t = h->task[0] ? db_get(schema_class("task"), h->task) : NULL;
	const char *status = t ? db_str(t, "status") : "";
	struct xv *cut = hx_cut_error(h), *cancelled = NULL;

	/* a cut transfer failed, whatever the handler made of it */
	if (cut) {
		result = NULL;
		error = cut;
	}
	/* cancelled: the failure (often the shut connection) is the cancel's */
	if (error && strcmp(status, "cancelling") == 0)
		error = cancelled = err_new("TASK_CANCELLED", t->ref, NULL);
	/* taskHelper.ml: a finished task stays as it is */
	if (t && (strcmp(status, "pending") == 0 || strcmp(status, "cancelling") == 0))
		task_finish(t, result, error);
	xv_free(cut);
	xv_free(cancelled);
	running_del(h);
}

void hx_finish(struct hx *h, const struct xv *result, const struct xv *error)
{
	db_lock();
	hx_finish_locked(h, result, error);
	db_unlock();
}

struct xv *hx_err(const char *code, const char *fmt, ...)
{
	struct xv *e = xv_array();
	va_list ap;
	struct buf b;

	buf_init(&b);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	xv_array_push(e, xv_string(code));
	xv_array_push(e, xv_string_take(buf_steal(&b)));
	return e;
}

/* ---- heads, lookups -------------------------------------------------------- */

bool hx_head(struct hx *h, const char *version, int status, const char *headers)
{
	char *head = xasprintf("HTTP/%s %d %s\r\n%s\r\n", version, status, http_reason(status), headers ? headers : "");
	bool ok = conn_write(h->r->conn, head, strlen(head));

	free(head);
	return ok;
}

void hx_error(struct http_req *r, int status, const char *why)
{
	char *body = xasprintf("<html><body><h1>HTTP %d %s</h1>%s</body></html>", status, http_reason(status),
			       why ? why : "");

	r->keep_alive = false;
	http_respond(r, status, "text/html", body, strlen(body), NULL);
	free(body);
	linger(r);
}

struct obj *hx_lookup(const char *cls, const char *ref_or_uuid)
{
	const struct cls *c = schema_class(cls);

	if (!ref_or_uuid)
		return NULL;
	return db_get(c, ref_or_uuid) ? db_get(c, ref_or_uuid) : db_by_uuid(c, ref_or_uuid);
}

bool hx_flag(struct http_req *r, const char *key)
{
	char *v = http_param(r, key);
	bool on = v && strcmp(v, "true") == 0;

	free(v);
	return on;
}

/* ---- bodies and throttling --------------------------------------------------- */

static void throttle(struct hx *h, size_t n)
{
	double due;

	if (h->bps <= 0)
		return;
	h->moved += n;
	due = h->t0 + (double)h->moved / (double)h->bps;
	sleep_s(due - hx_now());
}

/* The cut=BYTES fault struck: the connection is dropped without a word
 * (no TLS close_notify) when the handler returns. */
static void cut_now(struct hx *h)
{
	h->cut = true;
	h->eof = true;
	h->r->keep_alive = false;
	h->r->conn->closed = true;
}

ssize_t hx_read(struct hx *h, void *p, size_t n)
{
	ssize_t r;

	if (h->cut)
		return -1;
	if (h->eof || h->left == 0 || n == 0)
		return 0;
	if (h->left > 0 && (long long)n > h->left)
		n = (size_t)h->left;
	if (h->cut_at >= 0) {
		if (h->body_bytes >= (uint64_t)h->cut_at) {
			cut_now(h);
			return -1;
		}
		if (n > (uint64_t)h->cut_at - h->body_bytes)
			n = (size_t)((uint64_t)h->cut_at - h->body_bytes);
	}
	/* keep the throttle's bursts small */
	if (h->bps > 0 && n > (size_t)h->bps / 10 + 1)
		n = (size_t)h->bps / 10 + 1;
	r = conn_read(h->r->conn, p, n);
	if (r <= 0) {
		h->eof = true;
		return r < 0 ? -1 : 0;
	}
	if (h->left > 0)
		h->left -= r;
	h->body_bytes += (uint64_t)r;
	throttle(h, (size_t)r);
	return r;
}

bool hx_read_full(struct hx *h, void *p, size_t n)
{
	char *q = p;

	while (n) {
		ssize_t r = hx_read(h, q, n);
		if (r <= 0)
			return false;
		q += r;
		n -= (size_t)r;
	}
	return true;
}

void hx_drain(struct hx *h)
{
	char buf[65536];

	while (hx_read(h, buf, sizeof(buf)) > 0)
		;
}

bool hx_write(struct hx *h, const void *p, size_t n)
{
	const char *q = p;

	if (h->cut)
		return false;
	while (n) {
		size_t k = n;
		if (h->bps > 0 && k > (size_t)h->bps / 10 + 1)
			k = (size_t)h->bps / 10 + 1;
		if (h->cut_at >= 0 && h->body_bytes + k > (uint64_t)h->cut_at) {
			/* what fits before the cut goes out, then nothing */
			size_t last = (size_t)((uint64_t)h->cut_at - h->body_bytes);
			if (last)
				conn_write(h->r->conn, q, last);
			h->body_bytes += last;
			cut_now(h);
			return false;
		}
		if (!conn_write(h->r->conn, q, k))
			return false;
		h->body_bytes += k;
		throttle(h, k);
		q += k;
		n -= k;
	}
	return true;
}

/* ---- the cut=BYTES fault ------------------------------------------------------ */

void hx_arm_cut(struct hx *h)
{
	long cut = faults_cut_for(h->r->path);

	h->cut_at = cut;
	h->body_bytes = 0;
}

struct xv *hx_cut_error(const struct hx *h)
{
	if (!h->cut)
		return NULL;
	if (strcmp(h->r->path, "/pool/xmldbdump") == 0)
		return err_new("INTERNAL_ERROR", "Caught exception: Unix.Unix_error(Unix.EPIPE, \"write\", \"\")", NULL);
	/* what a storage backend failing mid-transfer gives (sm's "Device I/O errors") */
	return err_new("VDI_IO_ERROR", "Device I/O errors", NULL);
}
