/* Which pool and which password, from the options and the configuration. */
#include "connopts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secret.h"
#include "util.h"

char *conn_password(const struct conn_opts *o, const struct server_cfg *sv, const char *user, const char *url,
		    char **err)
{
	if (o->password_file)
		return secret_from_file(o->password_file, err);
	if (o->password_env)
		return secret_from_env(o->password_env, err);
	if (sv && sv->password_file)
		return secret_from_file(sv->password_file, err);
	if (sv && sv->password_env)
		return secret_from_env(sv->password_env, err);
	if (sv && sv->password_command)
		return secret_from_command(sv->password_command, err);
	if (url && strncmp(url, "unix:", 5) == 0)
		return xstrdup(""); /* xapi's local socket lets root in without one */
	{
		char *prompt = xasprintf("Password for %s at %s: ", user, url);
		char *p = secret_prompt(prompt, err);
		free(prompt);
		return p;
	}
}

void conn_apply_transport(const struct conn_opts *o, const struct config *cfg)
{
	if (o && o->transport)
		setenv("XENTUI_TRANSPORT", o->transport, 1);
	else if (cfg && cfg->transport)
		setenv("XENTUI_TRANSPORT", cfg->transport, 1);
}

int conn_resolve(const struct conn_opts *o, const struct config *cfg, struct xapi_opts *xo,
		 const struct server_cfg **server)
{
	const struct server_cfg *sv = NULL;
	const char *url = o->target;

	if (!url && cfg->nservers == 1)
		sv = &cfg->servers[0];
	else if (url && !strstr(url, ":") && !(sv = config_server(cfg, url))) {
		fprintf(stderr, "xentui: no server named '%s' in %s\n", url, cfg->path);
		return 2;
	} else if (url && strstr(url, "://") == NULL && strncmp(url, "unix:", 5) != 0 && !sv) {
		fprintf(stderr, "xentui: '%s' is neither a URL (https://host) nor a server name\n", url);
		return 2;
	}
	if (!url && !sv) {
		fprintf(stderr, "xentui: which pool? give a URL or a server name from %s (or try --demo)\n", cfg->path);
		return 2;
	}
	if (!url || sv)
		url = sv->url;
	memset(xo, 0, sizeof(*xo));
	xo->url = url;
	xo->user = o->user ? o->user : sv && sv->user ? sv->user : "root";
	xo->fingerprint = o->fingerprint ? o->fingerprint : sv ? sv->fingerprint : NULL;
	xo->insecure = o->insecure || (sv && sv->insecure);
	xo->known_hosts = cfg->known_hosts;
	xo->ca_file = o->ca_file;
	conn_apply_transport(o, cfg);
	*server = sv;
	return 0;
}

bool conn_take_option(int c, const char *arg, struct conn_opts *o)
{
	switch (c) {
	case 'u': o->user = arg; return true;
	case 'F': o->password_file = arg; return true;
	case 'E': o->password_env = arg; return true;
	case 'k': o->insecure = true; return true;
	case 'P': o->fingerprint = arg; return true;
	case CONN_OPT_TRANSPORT: o->transport = arg; return true;
	case 'A':
		/* also for the interface's pools, which read XENTUI_CA_FILE */
		o->ca_file = arg;
		setenv("XENTUI_CA_FILE", arg, 1);
		return true;
	default: return false;
	}
}

bool conn_options_valid(const struct conn_opts *o, const char *prog)
{
	char fp[65];
	enum xapi_wire w;

	if (o->transport && !xapi_wire_parse(o->transport, &w)) {
		fprintf(stderr, "%s: --transport wants xml, json or auto, not '%s'\n", prog, o->transport);
		return false;
	}
	if (!o->fingerprint || fingerprint_normalise(o->fingerprint, fp))
		return true;
	fprintf(stderr, "%s: --fingerprint wants 64 hex digits (a SHA-256), colons allowed\n", prog);
	return false;
}
