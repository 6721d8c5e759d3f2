#include "remote.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "xmlrpc.h"

struct remote {
	CURL *curl; /* kept between calls: one keep-alive connection */
	struct curl_slist *headers;
	char *url;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct remote *remote_open(const char *address, int port, bool tls)
{
	struct remote *r = xcalloc(1, sizeof(*r));
	bool v6 = strchr(address, ':') != NULL;

	pthread_once(&curl_once, curl_init_once);
	r->curl = curl_easy_init();
	if (!r->curl) {
		free(r);
		return NULL;
	}
	r->url = xasprintf("%s://%s%s%s:%d/", tls ? "https" : "http", v6 ? "[" : "", address, v6 ? "]" : "", port);
	/* xapi never sends 100 Continue (WIRE.md 1) */
	r->headers = curl_slist_append(NULL, "Content-Type: text/xml");
	r->headers = curl_slist_append(r->headers, "Expect:");
	curl_easy_setopt(r->curl, CURLOPT_URL, r->url);
	curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->curl, CURLOPT_CONNECTTIMEOUT, 5L);
	/* a refused login answers after xapi's 5 s delay; a database pull is big */
	curl_easy_setopt(r->curl, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(r->curl, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(r->curl, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(r->curl, CURLOPT_USERAGENT, "xapi-sim");
	/* keeps the peer's certificate (host.get_server_certificate) */
	curl_easy_setopt(r->curl, CURLOPT_CERTINFO, 1L);
	return r;
}

char *remote_peer_certificate(struct remote *r)
{
	struct curl_certinfo *ci = NULL;

	if (curl_easy_getinfo(r->curl, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci || ci->num_of_certs < 1)
		return NULL;
	for (struct curl_slist *l = ci->certinfo[0]; l; l = l->next)
		if (strncmp(l->data, "Cert:", 5) == 0)
			return xstrdup(l->data + 5);
	return NULL;
}

void remote_close(struct remote *r)
{
	if (!r)
		return;
	curl_easy_cleanup(r->curl);
	curl_slist_free_all(r->headers);
	free(r->url);
	free(r);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	buf_append(arg, p, size * n);
	return size * n;
}

static enum remote_status transport(struct xv **err, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum remote_status transport(struct xv **err, const char *kind, const char *fmt, ...)
{
	struct buf b;
	va_list ap;

	buf_init(&b);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	*err = xv_array();
	xv_array_push(*err, xv_string(kind));
	xv_array_push(*err, xv_string(b.data ? b.data : ""));
	buf_free(&b);
	return REMOTE_TRANSPORT;
}

enum remote_status remote_callv(struct remote *r, const char *method, struct xv *const *params, size_t n,
				struct xv **value, struct xv **err)
{
	struct buf req, resp;
	struct xmlrpc_msg msg;
	const struct xv *answer, *status;
	char *why = NULL;
	long code = 0;
	CURLcode rc;
	enum remote_status st;

	*value = NULL;
	*err = NULL;
	buf_init(&req);
	buf_init(&resp);
	xmlrpc_encode_call(&req, method, params, n);
	curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, req.data);
	curl_easy_setopt(r->curl, CURLOPT_POSTFIELDSIZE, (long)req.len);
	curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, &resp);
	rc = curl_easy_perform(r->curl);
	buf_free(&req);
	if (rc != CURLE_OK) {
		st = transport(err, "TRANSPORT", "%s: %s", r->url, curl_easy_strerror(rc));
		buf_free(&resp);
		return st;
	}
	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		buf_free(&resp);
		return transport(err, "HTTP", "%s: HTTP %ld", r->url, code);
	}
	memset(&msg, 0, sizeof(msg));
	if (!xmlrpc_decode(resp.data ? resp.data : "", resp.len, &msg, &why)) {
		st = transport(err, "TRANSPORT", "%s: %s", r->url, why ? why : "bad XML-RPC");
		free(why);
		buf_free(&resp);
		return st;
	}
	buf_free(&resp);
	answer = xv_at(msg.params, 0);
	status = answer ? xv_struct_get(answer, "Status") : NULL;
	if (!status || !xv_str(status)) {
		xmlrpc_msg_free(&msg);
		return transport(err, "TRANSPORT", "%s: no Status in the answer to %s", r->url, method);
	}
	if (strcmp(xv_str(status), "Success") == 0) {
		const struct xv *v = xv_struct_get(answer, "Value");
		*value = v ? xv_copy(v) : xv_string("");
		st = REMOTE_OK;
	} else {
		const struct xv *e = xv_struct_get(answer, "ErrorDescription");
		*err = e ? xv_copy(e) : xv_array();
		st = REMOTE_API_ERROR;
	}
	xmlrpc_msg_free(&msg);
	return st;
}

enum remote_status remote_call(struct remote *r, const char *method, struct xv **value, struct xv **err, ...)
{
	struct xv *params[16];
	size_t n = 0;
	struct xv *p;
	va_list ap;

	va_start(ap, err);
	while ((p = va_arg(ap, struct xv *)) && n < ARRAY_LEN(params))
		params[n++] = p;
	va_end(ap);
	return remote_callv(r, method, params, n, value, err);
}
