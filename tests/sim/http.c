#include "http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "util.h"

static int listen_fd = -1;
static bool listen_unix; /* --bind unix:PATH: every connection is local */
static SSL_CTX *ssl_ctx;
__thread bool http_local;

/* ---- connection I/O --------------------------------------------------- */

static ssize_t raw_read(struct conn *c, void *p, size_t n)
{
	ssize_t r;

	if (c->ssl) {
		r = SSL_read(c->ssl, p, (int)(n > 1 << 30 ? 1 << 30 : n));
		return r > 0 ? r : (SSL_get_error(c->ssl, (int)r) == SSL_ERROR_ZERO_RETURN ? 0 : -1);
	}
	do
		r = read(c->fd, p, n);
	while (r < 0 && errno == EINTR);
	return r;
}

ssize_t conn_read(struct conn *c, void *p, size_t n)
{
	if (c->rpos < c->rlen) {
		size_t k = c->rlen - c->rpos;
		if (k > n)
			k = n;
		memcpy(p, c->rbuf + c->rpos, k);
		c->rpos += k;
		return (ssize_t)k;
	}
	return raw_read(c, p, n);
}

bool conn_read_full(struct conn *c, void *p, size_t n)
{
	char *q = p;

	while (n) {
		ssize_t r = conn_read(c, q, n);
		if (r <= 0)
			return false;
		q += r;
		n -= (size_t)r;
	}
	return true;
}

/* --rate-limit-mbit: everything the sim sends crosses one link of that
 * speed, shared by every connection (a VPN or an SSH hop to a remote pool). */
static double link_bytes_per_s; /* 0: no limit */
static double link_free_at;     /* monotonic time the link has sent all it was given */
static pthread_mutex_t link_lock = PTHREAD_MUTEX_INITIALIZER;
#define LINK_CHUNK 16384

void http_set_rate_limit(double mbit)
{
	link_bytes_per_s = mbit * 1e6 / 8;
}

/* Waits until n more bytes would have left the link (queued behind the
 * other connections' bytes). */
static void link_pace(size_t n)
{
	struct timespec ts;
	double now, done;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	pthread_mutex_lock(&link_lock);
	if (link_free_at < now)
		link_free_at = now;
	link_free_at += (double)n / link_bytes_per_s;
	done = link_free_at;
	pthread_mutex_unlock(&link_lock);
	ts.tv_sec = (time_t)done;
	ts.tv_nsec = (long)((done - (double)ts.tv_sec) * 1e9);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

bool conn_write(struct conn *c, const void *p, size_t n)
{
	const char *q = p;

	if (c->closed)
		return false;
	while (n) {
		ssize_t w;
		size_t k = n;
		if (link_bytes_per_s > 0) {
			k = n < LINK_CHUNK ? n : LINK_CHUNK;
			link_pace(k);
		}
		if (c->ssl) {
			w = SSL_write(c->ssl, q, (int)(k > 1 << 30 ? 1 << 30 : k));
			if (w <= 0) {
				c->closed = true;
				return false;
			}
		} else {
			w = send(c->fd, q, k, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				c->closed = true;
				return false;
			}
		}
		q += w;
		n -= (size_t)w;
	}
	return true;
}

/* Reads up to the blank line; the rest stays buffered for the body. */
static char *read_head(struct conn *c)
{
	struct buf b;

	buf_init(&b);
	for (;;) {
		char *end;

		if (c->rpos == c->rlen) {
			ssize_t r = raw_read(c, c->rbuf, sizeof(c->rbuf));
			if (r <= 0) {
				buf_free(&b);
				return NULL;
			}
			c->rpos = 0;
			c->rlen = (size_t)r;
		}
		buf_append(&b, c->rbuf + c->rpos, c->rlen - c->rpos);
		end = strstr(b.data, "\r\n\r\n");
		if (end) {
			size_t head = (size_t)(end - b.data) + 4;
			size_t extra = b.len - head;
			/* give back what belongs to the body */
			c->rpos = c->rlen - extra;
			b.data[head] = '\0';
			b.len = head;
			return buf_steal(&b);
		}
		c->rpos = c->rlen;
		if (b.len > 65536) {
			buf_free(&b);
			return NULL;
		}
	}
}

/* ---- requests ---------------------------------------------------------- */

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

static char *url_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			out[k++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else if (s[i] == '+') {
			out[k++] = ' ';
		} else {
			out[k++] = s[i];
		}
	}
	out[k] = '\0';
	return out;
}

static void req_free(struct http_req *r)
{
	free(r->target);
	free(r->path);
	free(r->query);
	for (int i = 0; i < r->nheaders; i++) {
		free(r->hname[i]);
		free(r->hvalue[i]);
	}
}

static bool parse_head(char *head, struct http_req *r)
{
	char *line = head, *next, *sp1, *sp2, *q;
	const char *conn;

	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	next = strstr(line, "\r\n");
	if (!next)
		return false;
	*next = '\0';
	sp1 = strchr(line, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || (size_t)(sp1 - line) >= sizeof(r->method) || strncmp(sp2 + 1, "HTTP/1.", 7) != 0)
		return false;
	memcpy(r->method, line, (size_t)(sp1 - line));
	r->target = xstrndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
	r->minor = sp2[8] == '0' ? 0 : 1;
	q = strchr(r->target, '?');
	r->path = url_decode(r->target, q ? (size_t)(q - r->target) : strlen(r->target));
	r->query = xstrdup(q ? q + 1 : "");
	for (line = next + 2; *line && strncmp(line, "\r\n", 2) != 0; line = next + 2) {
		char *colon;
		next = strstr(line, "\r\n");
		if (!next)
			break;
		*next = '\0';
		colon = strchr(line, ':');
		if (!colon || r->nheaders == HTTP_MAX_HEADERS)
			continue;
		r->hname[r->nheaders] = xstrndup(line, (size_t)(colon - line));
		colon++;
		while (*colon == ' ' || *colon == '\t')
			colon++;
		r->hvalue[r->nheaders] = xstrdup(colon);
		r->nheaders++;
	}
	if (http_header(r, "Content-Length"))
		r->content_length = strtoll(http_header(r, "Content-Length"), NULL, 10);
	conn = http_header(r, "Connection");
	r->keep_alive = r->minor == 1 ? !(conn && strcasecmp(conn, "close") == 0)
				      : (conn && strcasecmp(conn, "keep-alive") == 0);
	/* xapi closes HTTP/1.0 connections whatever they ask */
	if (r->minor == 0)
		r->keep_alive = false;
	return true;
}

const char *http_header(const struct http_req *r, const char *name)
{
	for (int i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->hname[i], name) == 0)
			return r->hvalue[i];
	return NULL;
}

static char *param_from(const char *s, char sep, const char *key, int nth)
{
	size_t klen = strlen(key);
	int seen = 0;

	while (s && *s) {
		const char *end = strchr(s, sep);
		size_t len = end ? (size_t)(end - s) : strlen(s);
		while (*s == ' ' && len) {
			s++;
			len--;
		}
		if (len > klen && strncmp(s, key, klen) == 0 && s[klen] == '=') {
			if (seen++ == nth)
				return url_decode(s + klen + 1, len - klen - 1);
		}
		s = end ? end + 1 : NULL;
	}
	return NULL;
}

char *http_param(const struct http_req *r, const char *key)
{
	char *v = param_from(r->query, '&', key, 0);

	if (!v && http_header(r, "Cookie"))
		v = param_from(http_header(r, "Cookie"), ';', key, 0);
	return v;
}

char **http_params(const struct http_req *r, const char *key)
{
	char **out = NULL;
	int n = 0;

	for (;;) {
		char *v = param_from(r->query, '&', key, n);
		out = xrealloc(out, (size_t)(n + 1) * sizeof(*out));
		out[n] = v;
		if (!v)
			return out;
		n++;
	}
}

const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 302: return "Found";
	case 400: return "Bad Request";
	case 401: return "Unauthorised";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 500: return "Internal Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

void http_respond_head(struct http_req *r, int status, const char *ctype, const char *extra_headers)
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "HTTP/1.%d %d %s\r\n", r->minor, status, http_reason(status));
	buf_printf(&b, "Connection: %s\r\nCache-Control: no-cache, no-store\r\n", r->keep_alive ? "keep-alive" : "close");
	if (ctype)
		buf_printf(&b, "content-type: %s\r\n", ctype);
	buf_puts(&b, "Access-Control-Allow-Origin: *\r\n");
	if (extra_headers)
		buf_puts(&b, extra_headers);
	buf_puts(&b, "\r\n");
	conn_write(r->conn, b.data, b.len);
	buf_free(&b);
}

void http_respond(struct http_req *r, int status, const char *ctype, const void *body, size_t len,
		  const char *extra_headers)
{
	char *hdr = xasprintf("content-length: %zu\r\n%s", len, extra_headers ? extra_headers : "");

	http_respond_head(r, status, ctype, hdr);
	free(hdr);
	if (len && strcmp(r->method, "HEAD") != 0)
		conn_write(r->conn, body, len);
}

static void respond_error_page(struct http_req *r, int status, const char *why)
{
	char *body = xasprintf("<html><body><h1>HTTP %d %s</h1>%s</body></html>", status, http_reason(status),
			       why ? why : "");

	r->keep_alive = false;
	http_respond(r, status, "text/html", body, strlen(body), NULL);
	free(body);
}

/* ---- dispatch ---------------------------------------------------------- */

extern bool rpc_http_xml(struct http_req *r, const char *body, size_t len);
extern bool rpc_http_json(struct http_req *r, const char *body, size_t len);

#define MAX_RPC_BODY (300 * 1024)

/* Discards up to n body bytes, giving up after 2 s of silence or 16 MiB. */
static void drain_body(struct conn *c, long long n)
{
	struct timeval tv = {2, 0};
	char buf[16384];

	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (n > 16 << 20)
		n = 16 << 20;
	while (n > 0) {
		ssize_t got = conn_read(c, buf, n < (long long)sizeof(buf) ? (size_t)n : sizeof(buf));
		if (got <= 0)
			break;
		n -= got;
	}
}

static bool handle_rpc(struct http_req *r, bool json)
{
	char *body;
	bool ok;

	if (r->content_length < 0) {
		respond_error_page(r, 500, "We require a content-length: HTTP header");
		return false;
	}
	if (r->content_length > MAX_RPC_BODY) {
		/* read what the client sends first, so it gets the page, not a reset */
		drain_body(r->conn, r->content_length);
		respond_error_page(r, 500, "Request body too large");
		return false;
	}
	body = xmalloc((size_t)r->content_length + 1);
	if (!conn_read_full(r->conn, body, (size_t)r->content_length)) {
		free(body);
		return false;
	}
	body[r->content_length] = '\0';
	ok = json ? rpc_http_json(r, body, (size_t)r->content_length) : rpc_http_xml(r, body, (size_t)r->content_length);
	free(body);
	return ok;
}

static bool handle_request(struct http_req *r)
{
	for (const struct http_route *rt = http_routes; rt->method; rt++)
		if (strcmp(rt->method, r->method) == 0 && strcmp(rt->path, r->path) == 0)
			return rt->fn(r);
	if (strcmp(r->method, "OPTIONS") == 0) {
		http_respond(r, 200, NULL, "", 0,
			     "Access-Control-Allow-Headers: content-type\r\nAccess-Control-Allow-Methods: POST, GET, OPTIONS\r\n");
		return true;
	}
	if (strcmp(r->method, "POST") == 0)
		return handle_rpc(r, strcmp(r->path, "/jsonrpc") == 0);
	respond_error_page(r, 404, "No handler for this path");
	return false;
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;
	int one = 1;

	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	http_local = c->local;
	if (ssl_ctx && !c->local) {
		c->ssl = SSL_new(ssl_ctx);
		SSL_set_fd(c->ssl, c->fd);
		if (SSL_accept(c->ssl) <= 0)
			goto out;
	}
	for (;;) {
		char *head = read_head(c);
		struct http_req r;
		bool again;

		if (!head)
			break;
		if (!parse_head(head, &r)) {
			free(head);
			r.conn = c;
			r.minor = 1;
			r.keep_alive = false;
			respond_error_page(&r, 400, "Bad request line");
			break;
		}
		free(head);
		r.conn = c;
		again = handle_request(&r) && r.keep_alive && !c->closed;
		req_free(&r);
		if (!again)
			break;
	}
out:
	if (c->ssl) {
		if (!c->closed)
			SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	if (c->fd >= 0)
		close(c->fd);
	ERR_clear_error();
	OPENSSL_thread_stop();
	free(c);
	return NULL;
}

int http_listen(const char *bind_addr, int port)
{
	struct sockaddr_in6 a6;
	struct sockaddr_in a4;
	socklen_t len;
	int one = 1;

	memset(&a4, 0, sizeof(a4));
	memset(&a6, 0, sizeof(a6));
	if (strncmp(bind_addr, "unix:", 5) == 0) {
		/* dom0's local socket, /var/lib/xcp/xapi: plain HTTP, no port */
		struct sockaddr_un un;
		memset(&un, 0, sizeof(un));
		un.sun_family = AF_UNIX;
		if (strlen(bind_addr + 5) >= sizeof(un.sun_path)) {
			fprintf(stderr, "xapi-sim: socket path too long: %s\n", bind_addr + 5);
			return -1;
		}
		snprintf(un.sun_path, sizeof(un.sun_path), "%s", bind_addr + 5);
		unlink(un.sun_path);
		listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (bind(listen_fd, (struct sockaddr *)&un, sizeof(un)) < 0)
			goto fail;
		port = 0;
		listen_unix = true;
	} else if (inet_pton(AF_INET, bind_addr, &a4.sin_addr) == 1) {
		a4.sin_family = AF_INET;
		a4.sin_port = htons((uint16_t)port);
		listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(listen_fd, (struct sockaddr *)&a4, sizeof(a4)) < 0)
			goto fail;
		len = sizeof(a4);
		getsockname(listen_fd, (struct sockaddr *)&a4, &len);
		port = ntohs(a4.sin_port);
	} else if (inet_pton(AF_INET6, bind_addr, &a6.sin6_addr) == 1) {
		a6.sin6_family = AF_INET6;
		a6.sin6_port = htons((uint16_t)port);
		listen_fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
		setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(listen_fd, (struct sockaddr *)&a6, sizeof(a6)) < 0)
			goto fail;
		len = sizeof(a6);
		getsockname(listen_fd, (struct sockaddr *)&a6, &len);
		port = ntohs(a6.sin6_port);
	} else {
		fprintf(stderr, "xapi-sim: --bind %s is not an IP address\n", bind_addr);
		return -1;
	}
	if (listen(listen_fd, 128) < 0)
		goto fail;
	return port;
fail:
	fprintf(stderr, "xapi-sim: cannot listen on %s:%d: %s\n", bind_addr, port, strerror(errno));
	if (listen_fd >= 0)
		close(listen_fd);
	listen_fd = -1;
	return -1;
}

void http_set_tls(SSL_CTX *ctx)
{
	ssl_ctx = ctx;
}

/* Accepts on fd for ever, a thread per connection. */
static void accept_loop(int fd_listen, bool local)
{
	for (;;) {
		int fd = accept4(fd_listen, NULL, NULL, SOCK_CLOEXEC);
		struct conn *c;
		pthread_t th;
		pthread_attr_t attr;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE)
				continue;
			perror("xapi-sim: accept");
			return;
		}
		c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		c->local = local;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&th, &attr, conn_thread, c) != 0) {
			close(fd);
			free(c);
		}
		pthread_attr_destroy(&attr);
	}
}

void http_serve(void)
{
	accept_loop(listen_fd, listen_unix);
}

static void *local_thread(void *arg)
{
	accept_loop((int)(intptr_t)arg, true);
	return NULL;
}

bool http_listen_local(const char *path)
{
	struct sockaddr_un un;
	pthread_t th;
	int fd;

	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(un.sun_path)) {
		fprintf(stderr, "xapi-sim: socket path too long: %s\n", path);
		return false;
	}
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	unlink(un.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&un, sizeof(un)) < 0 || listen(fd, 128) < 0) {
		fprintf(stderr, "xapi-sim: cannot listen on unix:%s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	if (pthread_create(&th, NULL, local_thread, (void *)(intptr_t)fd) != 0) {
		close(fd);
		return false;
	}
	pthread_detach(th);
	return true;
}
