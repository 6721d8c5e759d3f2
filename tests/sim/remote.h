/* A small blocking XML-RPC client to another xapi-sim process (pool join,
 * eject, new master), over libcurl with the shared XML-RPC codec. Sims use
 * self-signed certificates, so TLS peer verification is off. */
#ifndef SIM_REMOTE_H
#define SIM_REMOTE_H

#include "value.h"

struct remote;

enum remote_status {
	REMOTE_OK,
	REMOTE_API_ERROR, /* the other side answered Failure: *err is its ErrorDescription */
	REMOTE_TRANSPORT, /* no usable answer: *err is ["TRANSPORT", text], or
			     ["HTTP", text] when the server answered another status than 200 */
};

/* address is a host name or IP (IPv6 without brackets); nothing connects yet. */
struct remote *remote_open(const char *address, int port, bool tls);
void remote_close(struct remote *r);

/* method(params...): the NULL-terminated params are borrowed. On REMOTE_OK
 * *value is the Value (free it); otherwise *err is set (free it). */
enum remote_status remote_call(struct remote *r, const char *method, struct xv **value, struct xv **err, ...);

/* The same with the params in an array (borrowed). */
enum remote_status remote_callv(struct remote *r, const char *method, struct xv *const *params, size_t n,
				struct xv **value, struct xv **err);

/* The PEM certificate the peer presented on the last new connection, or
 * NULL (plain HTTP, or no connection yet). Free it. */
char *remote_peer_certificate(struct remote *r);

#endif
