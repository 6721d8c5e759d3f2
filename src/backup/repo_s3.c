/* Repositories in an S3 bucket: s3://bucket/prefix (https) and
 * s3+http://bucket/prefix, signed with AWS SigV4 by libcurl. Requests run
 * one at a time on a curl multi of this repository's own (never the core's
 * loop: these calls are made from inside its transfer callbacks). A file
 * being written is one part buffer: a small file is one PUT at commit, a
 * large one a multipart upload completed at commit, so the object appears
 * whole or not at all. */
#include "repo_int.h"

#include <ctype.h>
#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "secret.h"
#include "util.h"

/* One part in memory while writing (S3 wants at least 5 MiB but the last). */
#define PART_SIZE ((size_t)8 << 20)
/* Read ahead for streaming reads, and for small preads. */
#define READ_AHEAD ((size_t)4 << 20)
#define PREAD_AHEAD ((size_t)1 << 20)
/* The largest object one CopyObject copies; beyond, UploadPartCopy. */
#ifndef REPO_S3_COPY_MAX /* lowered only to try UploadPartCopy by hand */
#define REPO_S3_COPY_MAX ((uint64_t)5 << 30)
#endif
#define COPY_MAX REPO_S3_COPY_MAX
#define COPY_PART (COPY_MAX / 5)
/* An XML answer (a list, an error) larger than this is refused. */
#define XML_MAX ((size_t)32 << 20)
#define ATTEMPTS 3

struct s3 {
	CURLM *multi;
	CURL *easy;
	bool https;
	bool path_style;
	char *endpoint; /* host[:port] */
	char *bucket;
	char *prefix;   /* "" or "a/b" (no slash at either end) */
	char *key_id;
	char *secret;
	char *sigv4;    /* "aws:amz:REGION:s3" */
};

/* What one request answered. */
struct resp {
	long status;
	struct buf body;   /* XML answers and errors */
	char *dst;         /* or the caller's buffer for object bytes */
	size_t dst_cap;
	size_t dst_len;
	bool overflow;
	char *etag;
	uint64_t length;   /* Content-Length (HEAD) */
	bool has_length;
	char curl_err[CURL_ERROR_SIZE];
};

/* What one request sends. */
struct body {
	const char *p;
	size_t len;
	size_t off;
};

static bool unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

/* SigV4's URI encoding; keep_slash for the path of a key. */
static void enc(struct buf *b, const char *s, bool keep_slash)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (unreserved(*p) || (keep_slash && *p == '/'))
			buf_putc(b, (char)*p);
		else
			buf_printf(b, "%%%02X", *p);
	}
}

static char *enc_str(const char *s, bool keep_slash)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "");
	enc(&b, s, keep_slash);
	return buf_steal(&b);
}

/* The object key of a repository path. */
static char *key_of(const struct s3 *s, const char *path)
{
	size_t n = strlen(path);

	while (n > 0 && path[n - 1] == '/')
		n--;
	if (!*s->prefix || n == 0)
		return n == 0 ? xstrdup(s->prefix) : xstrndup(path, n);
	return xasprintf("%s/%.*s", s->prefix, (int)n, path);
}

/* The key prefix of a folder's contents: "" for the bucket's root. */
static char *dir_prefix(const struct s3 *s, const char *dir)
{
	char *k = key_of(s, dir);
	char *p = *k ? xasprintf("%s/", k) : xstrdup("");

	free(k);
	return p;
}

/* key NULL: the bucket itself. query: encoded and sorted by name, as curl
 * 7.88 signs it as given. */
static char *url_of(const struct s3 *s, const char *key, const char *query)
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "%s://", s->https ? "https" : "http");
	/* no "/" after a bucket's name alone: s3rver signs "/bucket" then */
	if (s->path_style)
		buf_printf(&b, "%s/%s%s", s->endpoint, s->bucket, key ? "/" : "");
	else
		buf_printf(&b, "%s.%s/", s->bucket, s->endpoint);
	if (key)
		enc(&b, key, true);
	if (query)
		buf_printf(&b, "?%s", query);
	return buf_steal(&b);
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
	struct resp *r = ud;
	size_t n = size * nmemb;

	if (r->dst && r->status < 300) {
		if (n > r->dst_cap - r->dst_len) {
			r->overflow = true;
			return 0;
		}
		memcpy(r->dst + r->dst_len, p, n);
		r->dst_len += n;
		return n;
	}
	if (r->body.len + n > XML_MAX) {
		r->overflow = true;
		return 0;
	}
	buf_append(&r->body, p, n);
	return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct resp *r = ud;
	size_t n = size * nmemb;

	if (n > 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* a new answer (after a 100 Continue): only its status counts */
		const char *sp = memchr(p, ' ', n);

		if (sp)
			r->status = strtol(sp + 1, NULL, 10);
	} else if (n > 5 && strncasecmp(p, "etag:", 5) == 0) {
		size_t a = 5, e = n;

		while (a < e && isspace((unsigned char)p[a]))
			a++;
		while (e > a && isspace((unsigned char)p[e - 1]))
			e--;
		free(r->etag);
		r->etag = xstrndup(p + a, e - a);
	} else if (n > 15 && strncasecmp(p, "content-length:", 15) == 0) {
		r->length = strtoull(p + 15, NULL, 10);
		r->has_length = true;
	}
	return n;
}

static size_t on_send(char *p, size_t size, size_t nmemb, void *ud)
{
	struct body *b = ud;
	size_t n = size * nmemb;

	if (n > b->len - b->off)
		n = b->len - b->off;
	memcpy(p, b->p + b->off, n);
	b->off += n;
	return n;
}

static int on_seek(void *ud, curl_off_t off, int origin)
{
	struct body *b = ud;

	if (origin != SEEK_SET || off < 0 || (size_t)off > b->len)
		return CURL_SEEKFUNC_CANTSEEK;
	b->off = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

static void resp_init(struct resp *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body);
}

static void resp_free(struct resp *r)
{
	buf_free(&r->body);
	free(r->etag);
	r->etag = NULL;
}

/* Runs the easy handle on our own multi until it is done. */
static CURLcode run(struct s3 *s)
{
	CURLcode rc = CURLE_OK;
	int running = 1, left;
	CURLMsg *m;

	if (curl_multi_add_handle(s->multi, s->easy) != CURLM_OK)
		return CURLE_FAILED_INIT;
	while (running) {
		if (curl_multi_perform(s->multi, &running) != CURLM_OK) {
			rc = CURLE_FAILED_INIT;
			break;
		}
		if (running && curl_multi_poll(s->multi, NULL, 0, 1000, NULL) != CURLM_OK) {
			rc = CURLE_FAILED_INIT;
			break;
		}
	}
	while ((m = curl_multi_info_read(s->multi, &left)))
		if (m->msg == CURLMSG_DONE && m->easy_handle == s->easy)
			rc = m->data.result;
	curl_multi_remove_handle(s->multi, s->easy);
	return rc;
}

/* One request, retried when the network or the server (5xx) fails.
 * Returns false only when no HTTP answer came; r->status tells the rest. */
static bool request(struct s3 *s, const char *method, const char *key, const char *query,
		    const struct curl_slist *extra, const void *data, size_t len, bool send, struct resp *r,
		    char **err)
{
	char *url = url_of(s, key, query);
	struct curl_slist *h = NULL;
	CURLcode rc = CURLE_OK;
	char *dst = r->dst;
	size_t cap = r->dst_cap;

	for (const struct curl_slist *x = extra; x; x = x->next)
		h = curl_slist_append(h, x->data);
	h = curl_slist_append(h, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
	/* no "Expect:" to drop 100-continue: curl 7.88 would sign it, empty, unsent */
	for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
		struct body b = {data, len, 0};
		CURL *e = s->easy;

		resp_free(r);
		resp_init(r);
		r->dst = dst;
		r->dst_cap = cap;
		curl_easy_reset(e);
		net_system_cas(e); /* the static build has no compiled-in CA path */
		curl_easy_setopt(e, CURLOPT_URL, url);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(e, CURLOPT_AWS_SIGV4, s->sigv4);
		curl_easy_setopt(e, CURLOPT_USERNAME, s->key_id);
		curl_easy_setopt(e, CURLOPT_PASSWORD, s->secret);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
		curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
		curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
		curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->curl_err);
		curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 30L);
		/* a stalled server is an error, a slow one is not */
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 120L);
		curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
		if (send) {
			curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(e, CURLOPT_READFUNCTION, on_send);
			curl_easy_setopt(e, CURLOPT_READDATA, &b);
			curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
			curl_easy_setopt(e, CURLOPT_SEEKDATA, &b);
			curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
		}
		if (strcmp(method, "HEAD") == 0)
			curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
		else if (strcmp(method, "GET") != 0 && !(send && strcmp(method, "PUT") == 0))
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
		rc = run(s);
		if (rc == CURLE_OK)
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
		if (rc == CURLE_OK && r->status < 500)
			break;
		if (r->overflow)
			break;
		if (attempt < ATTEMPTS)
			sleep((unsigned)attempt);
	}
	curl_slist_free_all(h);
	free(url);
	if (rc != CURLE_OK && !(r->overflow && r->status >= 300)) {
		if (r->overflow)
			*err = xasprintf("the S3 server at %s sent more than expected", s->endpoint);
		else
			*err = xasprintf("cannot reach the S3 server at %s: %s", s->endpoint,
					 r->curl_err[0] ? r->curl_err : curl_easy_strerror(rc));
		return false;
	}
	return true;
}

static xmlNode *child(xmlNode *n, const char *name)
{
	for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
			return c;
	return NULL;
}

/* The text of n's child name, a new string ("" when absent). */
static char *child_text(xmlNode *n, const char *name)
{
	xmlNode *c = child(n, name);
	xmlChar *t = c ? xmlNodeGetContent(c) : NULL;
	char *s = xstrdup(t ? (const char *)t : "");

	xmlFree(t);
	return s;
}

static xmlDoc *parse(const struct buf *b)
{
	if (!b->len)
		return NULL;
	return xmlReadMemory(b->data, (int)b->len, "s3.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
}

/* S3's <Error> (in a failed answer, or in a 200 of Complete or Copy), as
 * a reason for a person; NULL when the body is no error. */
static char *s3_error(const struct s3 *s, const struct resp *r)
{
	xmlDoc *d = parse(&r->body);
	xmlNode *root = d ? xmlDocGetRootElement(d) : NULL;
	char *code, *msg, *why;

	if (!root || strcmp((const char *)root->name, "Error") != 0) {
		xmlFreeDoc(d);
		if (r->status < 300)
			return NULL;
		switch (r->status) {
		case 403:
			return xasprintf("access denied (HTTP 403): check the access key id '%s' and its secret", s->key_id);
		case 404:
			return xstrdup("not found (HTTP 404)");
		default:
			return xasprintf("the S3 server answered HTTP %ld", r->status);
		}
	}
	code = child_text(root, "Code");
	msg = child_text(root, "Message");
	xmlFreeDoc(d);
	if (strcmp(code, "NoSuchBucket") == 0)
		why = xasprintf("the bucket '%s' does not exist (NoSuchBucket)", s->bucket);
	else if (strcmp(code, "SignatureDoesNotMatch") == 0)
		why = xasprintf("the secret access key is wrong for the access key id '%s' (SignatureDoesNotMatch)",
				s->key_id);
	else if (strcmp(code, "InvalidAccessKeyId") == 0)
		why = xasprintf("the access key id '%s' is unknown to the server (InvalidAccessKeyId)", s->key_id);
	else if (strcmp(code, "AccessDenied") == 0)
		why = xasprintf("access denied for the access key id '%s' (AccessDenied%s%s)", s->key_id,
				*msg ? ": " : "", msg);
	else if (strcmp(code, "RequestTimeTooSkewed") == 0)
		why = xstrdup("this machine's clock is too far from the server's (RequestTimeTooSkewed)");
	else
		why = xasprintf("%s (%s, HTTP %ld)", *msg ? msg : "the S3 server refused", *code ? code : "no code",
				r->status);
	free(code);
	free(msg);
	return why;
}

/* Fills *err with "cannot WHAT 'path': reason". */
static void say(char **err, const char *what, const char *path, char *reason)
{
	*err = xasprintf("cannot %s '%s': %s", what, path, reason);
	free(reason);
}

/* ---- connecting --------------------------------------------------------- */

static void s3_free(struct s3 *s)
{
	if (!s)
		return;
	if (s->easy)
		curl_easy_cleanup(s->easy);
	if (s->multi)
		curl_multi_cleanup(s->multi);
	free(s->endpoint);
	free(s->bucket);
	free(s->prefix);
	free(s->key_id);
	secret_free(s->secret);
	free(s->sigv4);
	free(s);
}

/* Sees the bucket and the credentials work: a list of at most one key. */
static bool s3_probe(struct s3 *s, char **err)
{
	struct resp r;
	char *p = dir_prefix(s, "");
	char *q, *ep = enc_str(p, false);
	bool ok;

	q = xasprintf("list-type=2&max-keys=1&prefix=%s", ep);
	resp_init(&r);
	ok = request(s, "GET", NULL, q, NULL, NULL, 0, false, &r, err);
	if (ok && r.status >= 300) {
		char *why = s3_error(s, &r);

		*err = xasprintf("cannot list the bucket '%s' at %s: %s", s->bucket, s->endpoint, why);
		free(why);
		ok = false;
	}
	resp_free(&r);
	free(q);
	free(ep);
	free(p);
	return ok;
}

static bool s3_open(struct repo *repo, const struct remote_cfg *rc, void **state, char **err)
{
	const char *url = rc->url, *rest, *slash;
	const char *region = rc->region && *rc->region ? rc->region : "us-east-1";
	struct s3 *s = xcalloc(1, sizeof(*s));
	char *secret_err = NULL;
	size_t n;

	if (strncasecmp(url, "s3://", 5) == 0) {
		s->https = true;
		rest = url + 5;
	} else if (strncasecmp(url, "s3+http://", 10) == 0) {
		rest = url + 10;
	} else {
		*err = xasprintf("the URL '%s' is neither s3://BUCKET/PREFIX nor s3+http://BUCKET/PREFIX", url);
		goto fail;
	}
	slash = strchr(rest, '/');
	s->bucket = slash ? xstrndup(rest, (size_t)(slash - rest)) : xstrdup(rest);
	if (!*s->bucket) {
		*err = xasprintf("the URL '%s' names no bucket (s3://BUCKET/PREFIX)", url);
		goto fail;
	}
	rest = slash ? slash : "";
	while (*rest == '/')
		rest++;
	n = strlen(rest);
	while (n > 0 && rest[n - 1] == '/')
		n--;
	s->prefix = xstrndup(rest, n);
	if (rc->endpoint && *rc->endpoint) {
		const char *ep = rc->endpoint;
		size_t len;

		/* "https://minio:9000/" written for "minio:9000": the URL's scheme decides */
		if (strncasecmp(ep, "http://", 7) == 0)
			ep += 7;
		else if (strncasecmp(ep, "https://", 8) == 0)
			ep += 8;
		len = strcspn(ep, "/");
		s->endpoint = xstrndup(ep, len);
		/* a server of one's own rarely has a name per bucket */
		s->path_style = true;
	} else {
		s->endpoint = xasprintf("s3.%s.amazonaws.com", region);
		/* a bucket with dots does not match the *.s3 certificate */
		s->path_style = rc->path_style || strchr(s->bucket, '.');
	}
	if (!rc->user || !*rc->user) {
		*err = xstrdup("an S3 repository needs the access key id in `user`");
		goto fail;
	}
	s->key_id = xstrdup(rc->user);
	s->secret = repo_secret(rc, &secret_err);
	if (!s->secret) {
		*err = secret_err ? xasprintf("cannot read the secret access key: %s", secret_err)
				  : xstrdup("an S3 repository needs the secret access key (password_file, password_env or password_command)");
		free(secret_err);
		goto fail;
	}
	s->sigv4 = xasprintf("aws:amz:%s:s3", region);
	s->multi = curl_multi_init();
	s->easy = curl_easy_init();
	if (!s->multi || !s->easy) {
		*err = xstrdup("cannot start libcurl");
		goto fail;
	}
	if (!s3_probe(s, err))
		goto fail;
	*state = s;
	return true;
fail:
	s3_free(s);
	return false;
}

static void s3_close(void *state)
{
	s3_free(state);
}

/* ---- writing ------------------------------------------------------------ */

struct s3w {
	struct s3 *s;
	char *path;
	char *key;
	char *part;      /* PART_SIZE bytes */
	size_t len;
	char *upload_id; /* once a multipart upload started */
	char **etags;
	size_t nparts;
	bool failed;
};

static void *s3_create(void *state, const char *path, char **err)
{
	struct s3w *w = xcalloc(1, sizeof(*w));

	w->s = state;
	w->path = xstrdup(path);
	w->key = key_of(w->s, path);
	w->part = xmalloc(PART_SIZE);
	return w;
}

static void w_free(struct s3w *w)
{
	for (size_t i = 0; i < w->nparts; i++)
		free(w->etags[i]);
	free(w->etags);
	free(w->upload_id);
	free(w->part);
	free(w->key);
	free(w->path);
	free(w);
}

/* POST ?uploads= (with "=": curl 7.88 signs a bare "?uploads" wrongly). */
static char *start_upload(struct s3 *s, const char *key, const char *path, char **err)
{
	struct resp r;
	xmlDoc *d;
	char *id = NULL;

	resp_init(&r);
	if (!request(s, "POST", key, "uploads=", NULL, "", 0, true, &r, err)) {
		resp_free(&r);
		return NULL;
	}
	if (r.status >= 300) {
		say(err, "start the upload of", path, s3_error(s, &r));
		resp_free(&r);
		return NULL;
	}
	d = parse(&r.body);
	if (d)
		id = child_text(xmlDocGetRootElement(d), "UploadId");
	xmlFreeDoc(d);
	resp_free(&r);
	if (!id || !*id) {
		free(id);
		say(err, "start the upload of", path, xstrdup("the server's answer has no UploadId"));
		return NULL;
	}
	return id;
}

static char *part_query(const char *upload_id, size_t partno)
{
	char *eid = enc_str(upload_id, false);
	char *q = xasprintf("partNumber=%zu&uploadId=%s", partno, eid);

	free(eid);
	return q;
}

static bool upload_part(struct s3w *w, char **err)
{
	struct resp r;
	char *q;
	bool ok;

	if (!w->upload_id && !(w->upload_id = start_upload(w->s, w->key, w->path, err)))
		return false;
	q = part_query(w->upload_id, w->nparts + 1);
	resp_init(&r);
	ok = request(w->s, "PUT", w->key, q, NULL, w->part, w->len, true, &r, err);
	free(q);
	if (ok && r.status >= 300) {
		say(err, "write", w->path, s3_error(w->s, &r));
		ok = false;
	} else if (ok && !r.etag) {
		say(err, "write", w->path, xstrdup("the server's answer to a part has no ETag"));
		ok = false;
	}
	if (ok) {
		w->etags = xrealloc(w->etags, (w->nparts + 1) * sizeof(*w->etags));
		w->etags[w->nparts++] = r.etag;
		r.etag = NULL;
		w->len = 0;
	}
	resp_free(&r);
	return ok;
}

static bool s3_write(void *wf, const void *buf, size_t n, char **err)
{
	struct s3w *w = wf;
	const char *p = buf;

	if (w->failed) {
		*err = xasprintf("cannot write '%s': an earlier write failed", w->path);
		return false;
	}
	while (n > 0) {
		size_t take = PART_SIZE - w->len < n ? PART_SIZE - w->len : n;

		memcpy(w->part + w->len, p, take);
		w->len += take;
		p += take;
		n -= take;
		/* a full part goes now; the last one waits for commit */
		if (w->len == PART_SIZE && n > 0 && !upload_part(w, err)) {
			w->failed = true;
			return false;
		}
	}
	return true;
}

static void abort_upload(struct s3 *s, const char *key, const char *upload_id)
{
	struct resp r;
	char *eid = enc_str(upload_id, false);
	char *q = xasprintf("uploadId=%s", eid);
	char *e = NULL;

	resp_init(&r);
	/* best effort: a bucket lifecycle rule cleans what a failure leaves */
	if (!request(s, "DELETE", key, q, NULL, NULL, 0, false, &r, &e))
		free(e);
	resp_free(&r);
	free(q);
	free(eid);
}

static void s3_abort(void *wf)
{
	struct s3w *w = wf;

	if (w->upload_id)
		abort_upload(w->s, w->key, w->upload_id);
	w_free(w);
}

/* POST ?uploadId=U with the parts' list; a 200 may still carry an <Error>. */
static bool complete_upload(struct s3 *s, const char *key, const char *path, const char *upload_id, char **etags,
			    size_t nparts, char **err)
{
	struct buf x;
	struct resp r;
	char *eid = enc_str(upload_id, false);
	char *q = xasprintf("uploadId=%s", eid);
	char *why;
	bool ok;

	buf_init(&x);
	buf_puts(&x, "<CompleteMultipartUpload>");
	for (size_t i = 0; i < nparts; i++)
		buf_printf(&x, "<Part><PartNumber>%zu</PartNumber><ETag>%s</ETag></Part>", i + 1, etags[i]);
	buf_puts(&x, "</CompleteMultipartUpload>");
	resp_init(&r);
	ok = request(s, "POST", key, q, NULL, x.data, x.len, true, &r, err);
	if (ok && (why = s3_error(s, &r))) {
		say(err, "finish", path, why);
		ok = false;
	}
	resp_free(&r);
	buf_free(&x);
	free(q);
	free(eid);
	return ok;
}

static bool s3_commit(void *wf, char **err)
{
	struct s3w *w = wf;
	struct resp r;
	bool ok;

	if (w->failed) {
		*err = xasprintf("cannot finish '%s': an earlier write failed", w->path);
		s3_abort(w);
		return false;
	}
	if (!w->upload_id) {
		/* it all fits in one part: one PUT */
		resp_init(&r);
		ok = request(w->s, "PUT", w->key, NULL, NULL, w->part, w->len, true, &r, err);
		if (ok && r.status >= 300) {
			say(err, "write", w->path, s3_error(w->s, &r));
			ok = false;
		}
		resp_free(&r);
		w_free(w);
		return ok;
	}
	if (w->len > 0 && !upload_part(w, err)) {
		s3_abort(w);
		return false;
	}
	if (!complete_upload(w->s, w->key, w->path, w->upload_id, w->etags, w->nparts, err)) {
		s3_abort(w);
		return false;
	}
	w_free(w);
	return true;
}

/* ---- reading ------------------------------------------------------------ */

static bool head(struct s3 *s, const char *path, bool *exists, uint64_t *size, char **err)
{
	char *key = key_of(s, path);
	struct resp r;
	bool ok;

	resp_init(&r);
	ok = request(s, "HEAD", key, NULL, NULL, NULL, 0, false, &r, err);
	*exists = false;
	if (ok && r.status == 404) {
		ok = true;
	} else if (ok && r.status >= 300) {
		say(err, "look at", path, s3_error(s, &r));
		ok = false;
	} else if (ok) {
		*exists = true;
		*size = r.has_length ? r.length : 0;
	}
	resp_free(&r);
	free(key);
	return ok;
}

static bool s3_stat(void *state, const char *path, bool *exists, uint64_t *size, char **err)
{
	return head(state, path, exists, size, err);
}

struct s3r {
	struct s3 *s;
	char *path;
	char *key;
	uint64_t size;
	uint64_t pos;
	char *cache;       /* bytes [cache_off, cache_off + cache_len) of the object */
	uint64_t cache_off;
	size_t cache_len;
};

static void *s3_open_read(void *state, const char *path, uint64_t *size, char **err)
{
	struct s3 *s = state;
	bool exists = false;
	uint64_t sz = 0;
	struct s3r *f;

	if (!head(s, path, &exists, &sz, err))
		return NULL;
	if (!exists) {
		*err = xasprintf("'%s' does not exist", path);
		return NULL;
	}
	f = xcalloc(1, sizeof(*f));
	f->s = s;
	f->path = xstrdup(path);
	f->key = key_of(s, path);
	f->size = sz;
	f->cache = xmalloc(READ_AHEAD);
	*size = sz;
	return f;
}

/* GET bytes [off, off + n) into dst. */
static bool get_range(struct s3r *f, uint64_t off, char *dst, size_t n, char **err)
{
	struct curl_slist range = {NULL, NULL};
	char hdr[80];
	struct resp r;
	bool ok;

	snprintf(hdr, sizeof(hdr), "Range: bytes=%llu-%llu", (unsigned long long)off,
		 (unsigned long long)(off + n - 1));
	range.data = hdr;
	resp_init(&r);
	r.dst = dst;
	r.dst_cap = n;
	ok = request(f->s, "GET", f->key, NULL, &range, NULL, 0, false, &r, err);
	if (ok && r.status >= 300) {
		say(err, "read", f->path, s3_error(f->s, &r));
		ok = false;
	} else if (ok && (r.dst_len != n || r.overflow)) {
		say(err, "read", f->path,
		    xasprintf("the server sent %zu bytes at offset %llu where %zu were asked (did the file change?)",
			      r.dst_len, (unsigned long long)off, n));
		ok = false;
	}
	resp_free(&r);
	return ok;
}

/* Makes the cache hold [off, off + want) or as much as the object has. */
static bool fill(struct s3r *f, uint64_t off, size_t want, char **err)
{
	size_t n = f->size - off < want ? (size_t)(f->size - off) : want;

	f->cache_len = 0;
	if (!get_range(f, off, f->cache, n, err))
		return false;
	f->cache_off = off;
	f->cache_len = n;
	return true;
}

static bool cached(const struct s3r *f, uint64_t off, size_t n)
{
	return off >= f->cache_off && off + n <= f->cache_off + f->cache_len;
}

static ssize_t s3_read(void *rf, void *buf, size_t n, char **err)
{
	struct s3r *f = rf;

	if (f->pos >= f->size)
		return 0;
	if (n > f->size - f->pos)
		n = (size_t)(f->size - f->pos);
	if (!cached(f, f->pos, 1) && !fill(f, f->pos, READ_AHEAD, err))
		return -1;
	if (n > f->cache_off + f->cache_len - f->pos)
		n = (size_t)(f->cache_off + f->cache_len - f->pos);
	memcpy(buf, f->cache + (f->pos - f->cache_off), n);
	f->pos += n;
	return (ssize_t)n;
}

static bool s3_pread(void *rf, uint64_t off, void *buf, size_t n, char **err)
{
	struct s3r *f = rf;

	if (cached(f, off, n)) {
		memcpy(buf, f->cache + (off - f->cache_off), n);
		return true;
	}
	/* a large read goes straight to the caller's buffer */
	if (n > PREAD_AHEAD)
		return get_range(f, off, buf, n, err);
	if (!fill(f, off, PREAD_AHEAD, err))
		return false;
	memcpy(buf, f->cache, n);
	return true;
}

static void s3_rclose(void *rf)
{
	struct s3r *f = rf;

	free(f->cache);
	free(f->key);
	free(f->path);
	free(f);
}

/* ---- the tree ----------------------------------------------------------- */

/* One page of ListObjectsV2 under prefix (delim: with "/" as delimiter);
 * calls back for each key or common prefix with the part after prefix. */
typedef void (*list_fn)(void *ud, const char *rest, bool is_dir, uint64_t size);

static bool list_all(struct s3 *s, const char *what, const char *prefix, bool delim, list_fn fn, void *ud,
		     char **err)
{
	char *token = NULL;
	char *ep = enc_str(prefix, false);
	size_t plen = strlen(prefix);
	bool ok = true;

	do {
		struct buf q;
		struct resp r;
		xmlDoc *d;
		xmlNode *root;
		char *truncated;

		buf_init(&q);
		/* sorted by name: curl 7.88 signs the query as given */
		if (token) {
			buf_puts(&q, "continuation-token=");
			enc(&q, token, false);
			buf_puts(&q, "&");
		}
		if (delim)
			buf_puts(&q, "delimiter=%2F&");
		buf_printf(&q, "list-type=2&prefix=%s", ep);
		resp_init(&r);
		ok = request(s, "GET", NULL, q.data, NULL, NULL, 0, false, &r, err);
		buf_free(&q);
		free(token);
		token = NULL;
		if (ok && r.status >= 300) {
			say(err, "list", what, s3_error(s, &r));
			ok = false;
		}
		d = ok ? parse(&r.body) : NULL;
		root = d ? xmlDocGetRootElement(d) : NULL;
		if (ok && (!root || strcmp((const char *)root->name, "ListBucketResult") != 0)) {
			say(err, "list", what, xstrdup("the server's answer is not a ListBucketResult"));
			ok = false;
		}
		resp_free(&r);
		if (!ok) {
			xmlFreeDoc(d);
			break;
		}
		for (xmlNode *c = root->children; c; c = c->next) {
			bool is_dir;
			char *k;

			if (c->type != XML_ELEMENT_NODE)
				continue;
			is_dir = strcmp((const char *)c->name, "CommonPrefixes") == 0;
			if (!is_dir && strcmp((const char *)c->name, "Contents") != 0)
				continue;
			k = child_text(c, is_dir ? "Prefix" : "Key");
			if (strlen(k) > plen && strncmp(k, prefix, plen) == 0) {
				char *sz = is_dir ? NULL : child_text(c, "Size");

				fn(ud, k + plen, is_dir, sz ? strtoull(sz, NULL, 10) : 0);
				free(sz);
			}
			free(k);
		}
		truncated = child_text(root, "IsTruncated");
		if (strcmp(truncated, "true") == 0) {
			token = child_text(root, "NextContinuationToken");
			if (!*token) {
				free(token);
				token = NULL;
			}
		}
		free(truncated);
		xmlFreeDoc(d);
	} while (token);
	free(ep);
	return ok;
}

struct entries {
	struct repo_entry *v;
	size_t n, cap;
};

static void add_entry(void *ud, const char *rest, bool is_dir, uint64_t size)
{
	struct entries *e = ud;
	size_t len = strlen(rest);

	if (is_dir && len > 0 && rest[len - 1] == '/')
		len--;
	/* a "folder/" marker object, or a key with "//" in it */
	if (len == 0 || memchr(rest, '/', len))
		return;
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 16;
		e->v = xrealloc(e->v, e->cap * sizeof(*e->v));
	}
	e->v[e->n].name = xstrndup(rest, len);
	e->v[e->n].is_dir = is_dir;
	e->v[e->n].size = is_dir ? 0 : size;
	e->n++;
}

static bool s3_list(void *state, const char *dir, struct repo_entry **out, size_t *n, char **err)
{
	struct s3 *s = state;
	char *prefix = dir_prefix(s, dir);
	struct entries e = {NULL, 0, 0};
	bool ok = list_all(s, *dir ? dir : "the repository's root", prefix, true, add_entry, &e, err);

	free(prefix);
	if (!ok) {
		repo_entries_free(e.v, e.n);
		return false;
	}
	*out = e.v;
	*n = e.n;
	return true;
}

static bool delete_key(struct s3 *s, const char *key, const char *path, char **err)
{
	struct resp r;
	bool ok;

	resp_init(&r);
	ok = request(s, "DELETE", key, NULL, NULL, NULL, 0, false, &r, err);
	if (ok && r.status >= 300 && r.status != 404) {
		say(err, "remove", path, s3_error(s, &r));
		ok = false;
	}
	resp_free(&r);
	return ok;
}

static bool s3_unlink(void *state, const char *path, char **err)
{
	struct s3 *s = state;
	char *key = key_of(s, path);
	bool ok = delete_key(s, key, path, err);

	free(key);
	return ok;
}

struct keys {
	char **v;
	size_t n, cap;
};

static void add_key(void *ud, const char *rest, bool is_dir, uint64_t size)
{
	struct keys *k = ud;

	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 64;
		k->v = xrealloc(k->v, k->cap * sizeof(*k->v));
	}
	k->v[k->n++] = xstrdup(rest);
}

static bool s3_remove_tree(void *state, const char *dir, char **err)
{
	struct s3 *s = state;
	char *prefix = dir_prefix(s, dir);
	struct keys k = {NULL, 0, 0};
	bool ok = list_all(s, dir, prefix, false, add_key, &k, err);

	/* one DELETE per object: DeleteObjects would need Content-MD5 */
	for (size_t i = 0; ok && i < k.n; i++) {
		char *key = xasprintf("%s%s", prefix, k.v[i]);
		char *path = xasprintf("%s/%s", dir, k.v[i]);

		ok = delete_key(s, key, path, err);
		free(key);
		free(path);
	}
	for (size_t i = 0; i < k.n; i++)
		free(k.v[i]);
	free(k.v);
	free(prefix);
	/* a file under the folder's own name (not a folder) goes too */
	return ok && s3_unlink(s, dir, err);
}

/* The x-amz-copy-source header of a key. */
static char *copy_source(const struct s3 *s, const char *key)
{
	char *ek = enc_str(key, true);
	char *h = xasprintf("x-amz-copy-source: /%s/%s", s->bucket, ek);

	free(ek);
	return h;
}

/* UploadPartCopy, for objects CopyObject refuses (over 5 GiB). */
static bool copy_big(struct s3 *s, const char *src, const char *dst, const char *to, uint64_t size, char **err)
{
	char *id = start_upload(s, dst, to, err);
	char **etags = NULL;
	size_t nparts = 0;
	bool ok = id != NULL;

	for (uint64_t off = 0; ok && off < size; off += COPY_PART) {
		uint64_t end = off + COPY_PART < size ? off + COPY_PART : size;
		char range[96];
		struct curl_slist h2 = {range, NULL};
		struct curl_slist h1 = {copy_source(s, src), &h2};
		char *q = part_query(id, nparts + 1);
		struct resp r;
		xmlDoc *d;
		char *why, *etag = NULL;

		snprintf(range, sizeof(range), "x-amz-copy-source-range: bytes=%llu-%llu", (unsigned long long)off,
			 (unsigned long long)end - 1);
		resp_init(&r);
		ok = request(s, "PUT", dst, q, &h1, "", 0, true, &r, err);
		if (ok && (why = s3_error(s, &r))) {
			say(err, "copy to", to, why);
			ok = false;
		}
		if (ok && (d = parse(&r.body))) {
			etag = child_text(xmlDocGetRootElement(d), "ETag");
			xmlFreeDoc(d);
		}
		if (ok && (!etag || !*etag)) {
			say(err, "copy to", to, xstrdup("the server's answer to a part copy has no ETag"));
			ok = false;
		}
		if (ok) {
			etags = xrealloc(etags, (nparts + 1) * sizeof(*etags));
			etags[nparts++] = etag;
		} else {
			free(etag);
		}
		resp_free(&r);
		free(h1.data);
		free(q);
	}
	if (ok)
		ok = complete_upload(s, dst, to, id, etags, nparts, err);
	if (!ok && id)
		abort_upload(s, dst, id);
	for (size_t i = 0; i < nparts; i++)
		free(etags[i]);
	free(etags);
	free(id);
	return ok;
}

static bool s3_rename(void *state, const char *from, const char *to, char **err)
{
	struct s3 *s = state;
	char *src = key_of(s, from), *dst = key_of(s, to);
	bool exists = false, ok;
	uint64_t size = 0;

	ok = head(s, from, &exists, &size, err);
	if (ok && !exists) {
		*err = xasprintf("cannot rename '%s' to '%s': '%s' does not exist", from, to, from);
		ok = false;
	}
	if (ok && size > COPY_MAX) {
		ok = copy_big(s, src, dst, to, size, err);
	} else if (ok) {
		struct curl_slist h = {copy_source(s, src), NULL};
		struct resp r;
		char *why;

		resp_init(&r);
		ok = request(s, "PUT", dst, NULL, &h, "", 0, true, &r, err);
		/* a copy can fail after its 200 has been sent */
		if (ok && (why = s3_error(s, &r))) {
			say(err, "copy to", to, why);
			ok = false;
		}
		resp_free(&r);
		free(h.data);
	}
	if (ok)
		ok = delete_key(s, src, from, err);
	free(src);
	free(dst);
	return ok;
}

const struct repo_ops repo_s3_ops = {
	.scheme = "s3",
	.open = s3_open,
	.close = s3_close,
	.create = s3_create,
	.write = s3_write,
	.commit = s3_commit,
	.abort = s3_abort,
	.stat = s3_stat,
	.open_read = s3_open_read,
	.read = s3_read,
	.pread = s3_pread,
	.rclose = s3_rclose,
	.list = s3_list,
	.unlink = s3_unlink,
	.remove_tree = s3_remove_tree,
	.rename = s3_rename,
	.space = NULL,
};
