/* The connection options `xentui`, `list` and `backup` share: which pool
 * (a URL, a configured server's name, or the only configured server), the
 * user, the certificate rules and where the password comes from. */
#ifndef XENTUI_CLI_CONNOPTS_H
#define XENTUI_CLI_CONNOPTS_H

#include <stdbool.h>

#include "config.h"
#include "xapi.h"

struct conn_opts {
	const char *target;        /* URL or server name, or NULL */
	const char *user;
	const char *password_file;
	const char *password_env;
	const char *fingerprint;
	const char *ca_file;       /* --cacert: CA certificates to trust (PEM) */
	const char *transport;     /* --transport: xml, json or auto */
	bool insecure;
};

/* getopt's value for --transport (no short form). */
#define CONN_OPT_TRANSPORT 0x100

/* The connection options' entries of a getopt_long table. */
#define CONN_LONG_OPTIONS                                                                                   \
	{"user", required_argument, NULL, 'u'}, {"password-file", required_argument, NULL, 'F'},             \
	    {"password-env", required_argument, NULL, 'E'}, {"insecure", no_argument, NULL, 'k'},            \
	    {"fingerprint", required_argument, NULL, 'P'}, {"cacert", required_argument, NULL, 'A'},          \
	    {"transport", required_argument, NULL, CONN_OPT_TRANSPORT}
/* The short ones, for getopt_long's optstring. */
#define CONN_SHORT_OPTIONS "u:k"

/* Takes getopt's answer c when it is a connection option (false if not). */
bool conn_take_option(int c, const char *arg, struct conn_opts *o);
/* After parsing: a --fingerprint that is not 64 hex digits, or a
 * --transport other than xml, json or auto, is bad usage: false after one
 * line on stderr. */
bool conn_options_valid(const struct conn_opts *o, const char *prog);

/* --transport, else the configuration's `transport` preference, made the
 * process's XENTUI_TRANSPORT, which every connection reads (the
 * interface's pools too); without either, the environment's own stands. */
void conn_apply_transport(const struct conn_opts *o, const struct config *cfg);
/* Fills xo (but the password) and *server (NULL for a URL); applies the
 * transport (conn_apply_transport). 0, or an exit
 * status (2) after one line on stderr. xo's strings borrow from o and cfg. */
int conn_resolve(const struct conn_opts *o, const struct config *cfg, struct xapi_opts *xo,
		 const struct server_cfg **server);
/* The options' source first, then the server's, else the terminal. A new
 * string (secret_free it), or NULL with *err. */
char *conn_password(const struct conn_opts *o, const struct server_cfg *sv, const char *user, const char *url,
		    char **err);

#endif
