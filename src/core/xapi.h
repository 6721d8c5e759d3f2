/* A connection to one pool: login, calls over XML-RPC through libcurl multi,
 * certificate checks, HOST_IS_SLAVE redirects, re-login on SESSION_INVALID,
 * and reconnection with backoff (1, 2, 4 ... 30 s while failures persist;
 * a session that still works is kept, one that is dropped is logged out
 * first). Never blocks. */
#ifndef XENTUI_XAPI_H
#define XENTUI_XAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "net.h"
#include "value.h"
#include "xmlrpc.h"

struct xapi_opts {
	const char *url;         /* https://host[:port], http://host[:port], unix:/path */
	const char *user;
	const char *password;
	const char *fingerprint; /* pinned SHA-256 (hex, colons allowed), or NULL */
	bool insecure;           /* accept any certificate */
	const char *known_hosts; /* file of accepted fingerprints, or NULL */
	const char *ca_file;     /* CA certificates (PEM) to trust instead of the system's, or NULL;
	                          * a pin or a known_hosts entry for the host wins over any CA */
	/* the most one reply may hold; 0: XENTUI_MAX_REPLY_BYTES from the
	 * environment, else 1 GiB (get_all_records of the largest pools) */
	unsigned long long max_reply_bytes;
	enum xapi_wire {
		XAPI_WIRE_DEFAULT, /* XENTUI_TRANSPORT (xml, json, auto) from the environment, else auto */
		XAPI_WIRE_AUTO,    /* JSON-RPC on /jsonrpc, XML-RPC if the server answers it otherwise */
		XAPI_WIRE_XML,
		XAPI_WIRE_JSON,
	} wire;
};

/* "auto", "xml" or "json" (as --transport and the configuration spell it). */
bool xapi_wire_parse(const char *s, enum xapi_wire *out);

#define XAPI_DEFAULT_MAX_REPLY_BYTES (1ULL << 30)

/* A URL may name the user (https://admin@host), never the password: on
 * success *clean is the URL without the user and *user the user (NULL when
 * none; both to free); a password is refused with a sentence in *err
 * saying where passwords go. */
bool xapi_url_userinfo(const char *url, char **clean, char **user, char **err);

enum xapi_state {
	XAPI_IDLE,       /* not started */
	XAPI_LOGIN,      /* logging in */
	XAPI_READY,      /* logged in */
	XAPI_RETRY,      /* lost: waiting to reconnect */
	XAPI_FAILED,     /* needs the user: bad password, unknown or changed certificate */
	XAPI_CLOSED,     /* logged out */
};

enum xapi_failure {
	XAPI_OK,
	XAPI_TRANSPORT,   /* connection, TLS, HTTP or malformed reply */
	XAPI_AUTH,        /* wrong user name or password */
	XAPI_CERT_UNKNOWN,/* first connection: fingerprint to confirm */
	XAPI_CERT_CHANGED,/* differs from the known one: refused */
	XAPI_API,         /* the call failed: see error */
};

struct xapi_result {
	enum xapi_failure failure;
	struct xv *value;        /* on success (the call's Value) */
	const struct xv *error;  /* XAPI_API: [code, params...] */
	const char *message;     /* a sentence for every failure */
};

struct xapi;
typedef void (*xapi_fn)(struct xapi *x, const struct xapi_result *r, void *ud);
typedef void (*xapi_state_fn)(struct xapi *x, enum xapi_state s, void *ud);

struct xapi *xapi_new(struct net *net, struct loop *loop, const struct xapi_opts *o);
void xapi_free(struct xapi *x);
/* Appends the password it logs in with to a call's parameters (Pool.join
 * sends the master's): the text itself is never handed to a screen. */
void xapi_push_password(const struct xapi *x, struct xv *params);

void xapi_on_state(struct xapi *x, xapi_state_fn fn, void *ud);
void xapi_connect(struct xapi *x);
/* Logs out; done (may be NULL) is called when the logout has been answered or failed. */
void xapi_logout(struct xapi *x, void (*done)(struct xapi *x, void *ud), void *ud);

/* A call that takes no session (session.slave_local_login_with_password),
 * sent now whatever the login's state; params[secret] (if >= 0) is the
 * password the connection was made with, wiped after. */
void xapi_call_anon(struct xapi *x, const char *method, struct xv *params, int secret, xapi_fn fn, void *ud);

/* A gate before every call (the lock at a host's console, issue 17): fn
 * says whether a call of method must wait; waiting calls go out in order
 * at xapi_gate_open(x, true, NULL), or fail with msg when send is false. */
typedef bool (*xapi_gate_fn)(struct xapi *x, const char *method, void *ud);
void xapi_set_gate(struct xapi *x, xapi_gate_fn fn, void *ud);
void xapi_gate_open(struct xapi *x, bool send, const char *msg);

/* Calls method with the session prepended to params (an array, taken).
 * Calls made before login wait for it, but while the pool does not answer
 * they fail at once with a sentence; fn is always called exactly once. */
void xapi_call(struct xapi *x, const char *method, struct xv *params, xapi_fn fn, void *ud);
/* Same, for long polls: no answer begun within timeout_s + 5 s is silence. */
void xapi_call_long(struct xapi *x, const char *method, struct xv *params, double timeout_s, xapi_fn fn, void *ud);

/* Same, dropping the members filter rejects while the reply is decoded. */
void xapi_call_filtered(struct xapi *x, const char *method, struct xv *params, xmlrpc_member_filter filter,
			void *filter_ud, xapi_fn fn, void *ud);

enum xapi_state xapi_state(const struct xapi *x);
/* "JSON-RPC" or "XML-RPC": what the calls use now ("JSON-RPC" may still
 * turn out unanswered while auto has not heard back). */
const char *xapi_wire_name(const struct xapi *x);
const char *xapi_state_message(const struct xapi *x);
const char *xapi_url(const struct xapi *x);
/* The transfers' engine the connection uses (streamed HTTP beside the calls). */
struct net *xapi_net(const struct xapi *x);
const char *xapi_session(const struct xapi *x);
/* The certificate seen on the last TLS connection (hex SHA-256), or "". */
const char *xapi_seen_fingerprint(const struct xapi *x);
const char *xapi_known_fingerprint(const struct xapi *x);
/* After XAPI_CERT_UNKNOWN: trust this fingerprint (saved to known_hosts) and
 * reconnect. False when known_hosts could not be written: the connection is
 * then failed with that reason (xapi_last_error), not asked again. */
bool xapi_accept_fingerprint(struct xapi *x);
/* The last failure (a sentence without "retrying ..."), and its kind. */
const char *xapi_last_error(const struct xapi *x, enum xapi_failure *kind);
/* Counts sessions established since start: each login, and each
 * reconnection that found its session still valid (events may have been
 * missed meanwhile): a new one means the cache must reload. */
unsigned xapi_login_count(const struct xapi *x);
/* True while the pool does not answer at all (packets dropped: no reply, no
 * reset) since the last answer, whose wall-clock time goes to *last_answer
 * (0: never answered). An answer of any kind ends it. */
bool xapi_silent(const struct xapi *x, time_t *last_answer);

/* The pool's hosts as its master describes them: each one's address and
 * the SHA-256 (hex) of the certificate it serves, or NULL when not known.
 * When the master moves to one of them (HOST_IS_SLAVE), a certificate that
 * matches is trusted without asking; any other goes through the usual
 * rules (pin, known_hosts, ask). When the master stops answering, the
 * reconnection tries these hosts in turn to find the new one. */
void xapi_set_members(struct xapi *x, size_t n, const char *const *addresses, const char *const *fingerprints);
/* The host of the current URL (after redirects): "10.0.0.1". */
const char *xapi_host(const struct xapi *x);

/* The string pool decoded records of this connection borrow their field
 * names, refs and short values from; it lives as long as the connection. */
struct strpool *xapi_strpool(const struct xapi *x);
/* A single-threaded client with many records: every connection made after
 * this decodes with one process-wide pool, and pooled strings become one
 * shared node each (a ref held by 5,000 records costs a pointer, not a node),
 * so values may outlive their connection. Release it at the very end, once
 * every value is freed (before xv_slab_release). */
void xapi_use_process_pool(void);
void xapi_release_process_pool(void);

/* Normalises a fingerprint (drops colons, lower-cases); false if not 64 hex digits. */
bool fingerprint_normalise(const char *in, char out[65]);

#endif
