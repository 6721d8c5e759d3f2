/* xapi-sim's HTTP/1.1 server on OpenSSL: one thread per connection,
 * keep-alive, and connections handlers can take over (CONNECT /console). */
#ifndef SIM_HTTP_H
#define SIM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

struct conn {
	int fd;
	SSL *ssl;
	char rbuf[16384];
	size_t rpos, rlen;
	bool closed;
	bool local; /* came in on the local unix socket: xapi's preauth root */
};

/* The connection this thread serves came in on the local unix socket
 * (xapi trusts those: session.login_with_password needs no password). */
extern __thread bool http_local;

#define HTTP_MAX_HEADERS 64

struct http_req {
	char method[16];
	char *target; /* as sent */
	char *path;   /* decoded, without the query */
	char *query;  /* raw query string, or "" */
	int minor;    /* HTTP/1.x */
	int nheaders;
	char *hname[HTTP_MAX_HEADERS];
	char *hvalue[HTTP_MAX_HEADERS];
	long long content_length; /* -1 when absent */
	bool keep_alive;
	struct conn *conn;
};

ssize_t conn_read(struct conn *c, void *p, size_t n);
bool conn_read_full(struct conn *c, void *p, size_t n);
bool conn_write(struct conn *c, const void *p, size_t n);

const char *http_header(const struct http_req *r, const char *name);
/* The url-decoded value of a query parameter (or cookie for session_id and
 * task_id, as xapi accepts), or NULL. Free it. */
char *http_param(const struct http_req *r, const char *key);
/* All values of a repeated query parameter, NULL-terminated; free each and the array. */
char **http_params(const struct http_req *r, const char *key);

/* Writes a whole response with Content-Length. */
void http_respond(struct http_req *r, int status, const char *ctype, const void *body, size_t len,
		  const char *extra_headers);
/* Writes only the status line and headers (body streamed by the caller,
 * read until close). */
void http_respond_head(struct http_req *r, int status, const char *ctype, const char *extra_headers);
const char *http_reason(int status);

/* A handler for a path; returns true if it kept the connection usable. */
typedef bool (*http_handler_fn)(struct http_req *r);

struct http_route {
	const char *method; /* GET, PUT, CONNECT, ... */
	const char *path;   /* exact */
	http_handler_fn fn;
};

extern const struct http_route http_routes[]; /* ends with {NULL} */

/* Binds and listens; prints nothing. Returns the port or -1. */
int http_listen(const char *bind_addr, int port);
/* Paces every write to one shared link of mbit Mbit/s (0: unlimited). */
void http_set_rate_limit(double mbit);
/* Serve TLS with this context (NULL: plain HTTP). */
void http_set_tls(SSL_CTX *ctx);
/* Accepts connections forever (one thread each). */
void http_serve(void);
/* Also listens on unix:PATH (plain HTTP, preauth root), as xapi serves both
 * its TLS port and /var/lib/xcp/xapi; false after a line on stderr. */
bool http_listen_local(const char *path);

/* TLS: a self-signed certificate made at start; fingerprint is hex SHA-256. */
SSL_CTX *tls_server_ctx(const char *common_name, char *fingerprint, size_t fplen);

#endif
