#include "upload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "errors.h"
#include "log.h"
#include "net.h"
#include "util.h"

/* ISOSR names the file after sm_config:path when it looks like this
 * (drivers/ISOSR.py, vdi_path_regex); otherwise it would refuse the create. */
static bool iso_file_name(const char *s)
{
	size_t n = strlen(s);

	if (n < 5 || (strcasecmp(s + n - 4, ".iso") != 0 && strcasecmp(s + n - 4, ".img") != 0))
		return false;
	for (size_t i = 0; i < n - 4; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return false;
	}
	return true;
}

#define TASK_POLLS 50      /* 10 s of asking whether the import task ended */
#define DESTROY_TRIES 5    /* xapi may still hold the VDI for a moment */
#define PROGRESS_EVERY_MS 100

struct upload {
	struct pools *ps;
	int pool_id;
	struct xapi *x; /* the connection it started on: later calls need the same */
	struct net *net;
	struct loop *loop;
	upload_fn fn;
	void *ud;

	char *path, *sr, *name;
	FILE *file;
	uint64_t size, sent;
	int64_t started_ms, last_note_ms;

	enum upload_state state;
	enum upload_state after_cleaning; /* FAILED or CANCELLED */
	char *vdi;
	char *task;     /* the import's task, from the reply's task-id header */
	char *why;      /* why it failed, before cleaning */
	char *message;
	CURL *easy;
	struct curl_slist *headers;
	char fp[65];    /* the pool's certificate, pinned for the PUT */
	char errbuf[CURL_ERROR_SIZE];
	struct buf reply;
	struct loop_timer *timer;
	int tries;
	int calls;      /* xapi calls in flight: free waits for none (they hold u) */
	bool freed;     /* upload_free came while calls were in flight */
};

static void notify(struct upload *u)
{
	if (u->fn)
		u->fn(u, u->ud);
}

/* The pool's connection if it is still the one the upload began on. */
static struct xapi *conn(struct upload *u)
{
	struct pool *p = pools_by_id(u->ps, u->pool_id);

	return p && p->x == u->x && !p->closing ? u->x : NULL;
}

static const struct cache *cache_of(const struct upload *u)
{
	struct pool *p = pools_by_id(u->ps, u->pool_id);

	return p && p->x == u->x ? p->cache : NULL;
}

static char *result_sentence(struct upload *u, const struct xapi_result *r)
{
	if (r->failure == XAPI_API)
		return error_sentence(r->error, cache_of(u));
	return xstrdup(r->message ? r->message : "failed");
}

static void stop_transfer(struct upload *u)
{
	if (u->easy) {
		net_cancel(u->net, u->easy);
		curl_easy_cleanup(u->easy);
		u->easy = NULL;
	}
	curl_slist_free_all(u->headers);
	u->headers = NULL;
	if (u->file) {
		fclose(u->file);
		u->file = NULL;
	}
}

static void finish(struct upload *u, enum upload_state s, char *message)
{
	stop_transfer(u);
	free(u->message);
	u->message = message;
	u->state = s;
	log_msg("upload %s: %s", u->name, message);
	notify(u);
}

/* ---- cleaning up after a failure or a cancel -------------------------------- */

static void destroy_vdi(struct upload *u);

static void on_retry_destroy(struct loop *l, void *ud)
{
	struct upload *u = ud;

	u->timer = NULL;
	destroy_vdi(u);
}

static void on_destroyed(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct upload *u = ud;
	char *why;

	u->calls--;
	if (u->freed) {
		if (!u->calls)
			upload_free(u);
		return;
	}
	if (r->failure == XAPI_OK || (r->failure == XAPI_API && strcmp(xv_str(xv_at(r->error, 0)), "HANDLE_INVALID") == 0)) {
		finish(u, u->after_cleaning,
		       u->after_cleaning == UPLOAD_CANCELLED
			       ? xstrdup("cancelled; the partly written disk was removed")
			       : xasprintf("%s; the partly written disk was removed", u->why ? u->why : "failed"));
		return;
	}
	/* xapi may hold the VDI while the import winds down: try a few times */
	if (r->failure == XAPI_API && ++u->tries < DESTROY_TRIES && conn(u)) {
		u->timer = loop_timer(u->loop, 1000, on_retry_destroy, u);
		return;
	}
	why = result_sentence(u, r);
	finish(u, UPLOAD_FAILED,
	       xasprintf("%s%s and the partly written disk could not be removed (%s): destroy it in the SR",
			 u->after_cleaning == UPLOAD_CANCELLED ? "cancelled" : u->why ? u->why : "failed",
			 u->after_cleaning == UPLOAD_CANCELLED ? "," : ";", why));
	free(why);
}

static void destroy_vdi(struct upload *u)
{
	struct xapi *x = conn(u);
	struct xv *p;

	if (!x) {
		finish(u, UPLOAD_FAILED,
		       xasprintf("%s; the pool is no longer connected, so the partly written disk may remain",
				 u->after_cleaning == UPLOAD_CANCELLED ? "cancelled" : u->why ? u->why : "failed"));
		return;
	}
	p = xv_array();
	xv_array_push(p, xv_string(u->vdi));
	u->calls++;
	xapi_call(x, "VDI.destroy", p, on_destroyed, u);
}

/* Stops the transfer; removes the new VDI, then ends in state s. */
static void clean_up(struct upload *u, enum upload_state s, char *why)
{
	stop_transfer(u);
	free(u->why);
	u->why = why;
	u->after_cleaning = s;
	if (!*u->vdi) {
		finish(u, s, xstrdup(s == UPLOAD_CANCELLED ? "cancelled" : why ? why : "failed"));
		return;
	}
	u->state = UPLOAD_CLEANING;
	u->tries = 0;
	notify(u);
	destroy_vdi(u);
}

/* ---- the import task's outcome --------------------------------------------- */

static void check_task(struct upload *u);

static void on_retry_check(struct loop *l, void *ud)
{
	struct upload *u = ud;

	u->timer = NULL;
	check_task(u);
}

static void on_task_record(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct upload *u = ud;
	const char *status;

	u->calls--;
	if (u->freed) {
		if (!u->calls)
			upload_free(u);
		return;
	}
	if (r->failure != XAPI_OK) {
		/* the bytes all went and xapi answered 200: take that as done */
		finish(u, UPLOAD_DONE, xstrdup("done"));
		return;
	}
	status = rec_str(r->value, "status");
	if (strcmp(status, "success") == 0) {
		finish(u, UPLOAD_DONE, xstrdup("done"));
	} else if (strcmp(status, "pending") == 0 && ++u->tries < TASK_POLLS) {
		u->timer = loop_timer(u->loop, 200, on_retry_check, u);
	} else if (strcmp(status, "pending") == 0) {
		clean_up(u, UPLOAD_FAILED, xstrdup("the server did not finish the import"));
	} else {
		const struct xv *info = rec_field(r->value, "error_info");
		clean_up(u, UPLOAD_FAILED,
			 xv_len(info) ? error_sentence(info, cache_of(u)) : xasprintf("the import ended %s", status));
	}
}

static void check_task(struct upload *u)
{
	struct xapi *x = conn(u);
	struct xv *p;

	if (!u->task || !x) {
		finish(u, UPLOAD_DONE, xstrdup("done"));
		return;
	}
	p = xv_array();
	xv_array_push(p, xv_string(u->task));
	u->calls++;
	xapi_call(x, "task.get_record", p, on_task_record, u);
}

/* ---- the PUT ------------------------------------------------------------------- */

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
	struct upload *u = ud;
	size_t got = fread(buf, 1, size * n, u->file);

	if (got == 0 && ferror(u->file))
		return CURL_READFUNC_ABORT;
	return got;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct upload *u = ud;
	int64_t now = loop_now();

	u->sent = (uint64_t)ulnow;
	if (now - u->last_note_ms >= PROGRESS_EVERY_MS) {
		u->last_note_ms = now;
		notify(u);
	}
	return 0;
}

/* Keeps the task-id header of the reply: the import's outcome is there. */
static size_t on_header(char *line, size_t size, size_t n, void *ud)
{
	struct upload *u = ud;
	size_t len = size * n;

	if (len > 8 && strncasecmp(line, "task-id:", 8) == 0) {
		const char *v = line + 8;
		size_t vl = len - 8;
		while (vl && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		free(u->task);
		u->task = xstrndup(v, vl);
	}
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct upload *u = ud;

	if (u->reply.len < 4096)
		buf_append(&u->reply, p, size * n);
	return size * n;
}

/* A short reason from xapi's HTML error page ("<h1>...</h1>"), or the status. */
static char *http_failure(struct upload *u, long status)
{
	const char *b = u->reply.data ? u->reply.data : "";
	const char *h = strstr(b, "<h1>"), *e = h ? strstr(h, "</h1>") : NULL;

	if (h && e)
		return xasprintf("the server refused the upload (HTTP %ld: %.*s)", status, (int)(e - h - 4), h + 4);
	return xasprintf("the server refused the upload (HTTP %ld)", status);
}

static void on_put_done(CURL *easy, CURLcode rc, void *ud)
{
	struct upload *u = ud;
	long status = 0;

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	/* the net has let go of easy: stop_transfer must not cancel it again */
	curl_easy_cleanup(u->easy);
	u->easy = NULL;
	if (rc != CURLE_OK) {
		clean_up(u, UPLOAD_FAILED,
			 xasprintf("the transfer failed: %s", u->errbuf[0] ? u->errbuf : curl_easy_strerror(rc)));
		return;
	}
	if (status != 200) {
		clean_up(u, UPLOAD_FAILED, http_failure(u, status));
		return;
	}
	if (u->sent < u->size) {
		clean_up(u, UPLOAD_FAILED, xasprintf("the server stopped reading after %llu of %llu bytes",
						      (unsigned long long)u->sent, (unsigned long long)u->size));
		return;
	}
	stop_transfer(u);
	u->state = UPLOAD_CHECKING;
	u->tries = 0;
	notify(u);
	check_task(u);
}

/* "https://host:port" (or unix:PATH) + the handler's path and query. */
static bool start_put(struct upload *u)
{
	const char *base = xapi_url(u->x), *session = xapi_session(u->x);
	char *q_session, *q_vdi, *url;
	bool tls = strncmp(base, "https:", 6) == 0;

	u->easy = curl_easy_init();
	q_session = curl_easy_escape(u->easy, session, 0);
	q_vdi = curl_easy_escape(u->easy, u->vdi, 0);
	if (strncmp(base, "unix:", 5) == 0) {
		curl_easy_setopt(u->easy, CURLOPT_UNIX_SOCKET_PATH, base + 5);
		base = "http://localhost";
	}
	url = xasprintf("%s/import_raw_vdi?session_id=%s&vdi=%s&format=raw", base, q_session, q_vdi);
	curl_free(q_session);
	curl_free(q_vdi);
	curl_easy_setopt(u->easy, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(u->easy, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(u->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)u->size);
	curl_easy_setopt(u->easy, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(u->easy, CURLOPT_READDATA, u);
	curl_easy_setopt(u->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(u->easy, CURLOPT_WRITEDATA, u);
	curl_easy_setopt(u->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(u->easy, CURLOPT_HEADERDATA, u);
	curl_easy_setopt(u->easy, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(u->easy, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(u->easy, CURLOPT_XFERINFODATA, u);
	net_transfer_defaults(u->easy, u->errbuf, 120);
	/* xapi does not answer 100-continue: don't wait a second for it */
	u->headers = curl_slist_append(NULL, "Expect:");
	u->headers = curl_slist_append(u->headers, "Content-Type: application/octet-stream");
	curl_easy_setopt(u->easy, CURLOPT_HTTPHEADER, u->headers);
	if (tls) {
		/* the certificate the pool's connection already checked, and no other */
		snprintf(u->fp, sizeof(u->fp), "%s", xapi_seen_fingerprint(u->x));
		net_pin_certificate(u->easy, u->fp);
		if (!u->fp[0])
			return false;
	}
	u->state = UPLOAD_SENDING;
	u->started_ms = u->last_note_ms = loop_now();
	notify(u);
	net_start(u->net, u->easy, on_put_done, u);
	return true;
}

/* ---- the new VDI ------------------------------------------------------------- */

static void on_created(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct upload *u = ud;

	u->calls--;
	if (u->freed) {
		/* made after all: it would stay empty, and nobody is left to say so */
		if (r->failure == XAPI_OK && xv_str(r->value) && conn(u)) {
			struct xv *p = xv_array();
			xv_array_push(p, xv_string(xv_str(r->value)));
			xapi_call(u->x, "VDI.destroy", p, NULL, NULL);
		}
		if (!u->calls)
			upload_free(u);
		return;
	}
	if (r->failure != XAPI_OK || !xv_str(r->value)) {
		finish(u, UPLOAD_FAILED, result_sentence(u, r));
		return;
	}
	free(u->vdi);
	u->vdi = xstrdup(xv_str(r->value));
	if (u->after_cleaning == UPLOAD_CANCELLED) {
		/* cancelled while the VDI was being made */
		clean_up(u, UPLOAD_CANCELLED, NULL);
		return;
	}
	if (!conn(u)) {
		clean_up(u, UPLOAD_FAILED, xstrdup("the pool was disconnected"));
		return;
	}
	if (!start_put(u))
		clean_up(u, UPLOAD_FAILED, xstrdup("the pool's certificate is not known yet"));
}

static struct xv *vdi_record(const struct upload *u)
{
	struct xv *rec = xv_struct(), *sm = xv_struct();
	const char *base = strrchr(u->path, '/') ? strrchr(u->path, '/') + 1 : u->path;

	xv_struct_set(rec, "name_label", xv_string(u->name));
	xv_struct_set(rec, "name_description", xv_string(""));
	xv_struct_set(rec, "SR", xv_string(u->sr));
	xv_struct_set(rec, "virtual_size", xv_int((int64_t)u->size));
	xv_struct_set(rec, "type", xv_string("user"));
	xv_struct_set(rec, "sharable", xv_bool(false));
	xv_struct_set(rec, "read_only", xv_bool(false));
	xv_struct_set(rec, "other_config", xv_struct());
	xv_struct_set(rec, "xenstore_data", xv_struct());
	/* an ISO library stores the disk as a file: keep the file's own name
	 * when ISOSR takes it, else it picks UUID.img */
	if (iso_file_name(base))
		xv_struct_set(sm, "path", xv_string(base));
	xv_struct_set(rec, "sm_config", sm);
	xv_struct_set(rec, "tags", xv_array());
	return rec;
}

struct upload *upload_start(struct pools *ps, struct pool *p, struct loop *l, const struct upload_req *req,
			    upload_fn fn, void *ud, char **err)
{
	struct upload *u;
	struct stat st;
	FILE *f;
	struct xv *params;

	*err = NULL;
	if (!p || !p->x || p->closing) {
		*err = xstrdup("the pool is not connected");
		return NULL;
	}
	if (stat(req->path, &st) != 0) {
		*err = xasprintf("cannot read %s: %s", req->path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		*err = xasprintf("%s is not a file", req->path);
		return NULL;
	}
	if (st.st_size == 0) {
		*err = xasprintf("%s is empty", req->path);
		return NULL;
	}
	if (!(f = fopen(req->path, "rb"))) {
		*err = xasprintf("cannot read %s: %s", req->path, strerror(errno));
		return NULL;
	}
	u = xcalloc(1, sizeof(*u));
	u->ps = ps;
	u->pool_id = p->id;
	u->x = p->x;
	u->net = xapi_net(p->x);
	u->loop = l;
	u->fn = fn;
	u->ud = ud;
	u->path = xstrdup(req->path);
	u->sr = xstrdup(req->sr);
	u->name = xstrdup(req->name);
	u->vdi = xstrdup("");
	u->message = xstrdup("");
	u->file = f;
	u->size = (uint64_t)st.st_size;
	u->state = UPLOAD_CREATING;
	u->after_cleaning = UPLOAD_FAILED;
	buf_init(&u->reply);
	params = xv_array();
	xv_array_push(params, vdi_record(u));
	u->calls++;
	xapi_call(p->x, "VDI.create", params, on_created, u);
	return u;
}

void upload_cancel(struct upload *u)
{
	switch (u->state) {
	case UPLOAD_CREATING:
		/* the VDI is on its way: remove it once it exists */
		u->after_cleaning = UPLOAD_CANCELLED;
		return;
	case UPLOAD_SENDING:
		clean_up(u, UPLOAD_CANCELLED, NULL);
		return;
	default:
		return; /* too late (checking) or already over */
	}
}

void upload_free(struct upload *u)
{
	if (!u)
		return;
	u->fn = NULL;
	stop_transfer(u);
	if (u->timer) {
		loop_timer_cancel(u->loop, u->timer);
		u->timer = NULL;
	}
	if (u->calls) {
		/* a call's answer still points here: the last one frees */
		u->freed = true;
		return;
	}
	buf_free(&u->reply);
	free(u->path);
	free(u->sr);
	free(u->name);
	free(u->vdi);
	free(u->task);
	free(u->why);
	free(u->message);
	free(u);
}

enum upload_state upload_state(const struct upload *u)
{
	return u->state;
}

bool upload_finished(const struct upload *u)
{
	return u->state == UPLOAD_DONE || u->state == UPLOAD_FAILED || u->state == UPLOAD_CANCELLED;
}

uint64_t upload_sent(const struct upload *u)
{
	return u->sent;
}

uint64_t upload_size(const struct upload *u)
{
	return u->size;
}

bool upload_all_sent(const struct upload *u)
{
	return u->state == UPLOAD_SENDING && u->size && u->sent >= u->size;
}

double upload_host_progress(const struct upload *u)
{
	const struct cache *c = u->task ? cache_of(u) : NULL;
	const struct xv *t = c ? cache_get(c, u->task) : NULL;

	return t ? rec_float(t, "progress") : -1;
}

int64_t upload_started_ms(const struct upload *u)
{
	return u->started_ms;
}

const char *upload_message(const struct upload *u)
{
	return u->message;
}

const char *upload_vdi(const struct upload *u)
{
	return u->vdi;
}

const char *upload_name(const struct upload *u)
{
	return u->name;
}

const char *upload_sr(const struct upload *u)
{
	return u->sr;
}

int upload_pool_id(const struct upload *u)
{
	return u->pool_id;
}
