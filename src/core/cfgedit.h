/* The servers list written back into a configuration's text, changing
 * nothing else: every other byte, every comment and every server left as
 * it was is kept as written. libconfig's writer would drop the comments. */
#ifndef XENTUI_CFGEDIT_H
#define XENTUI_CFGEDIT_H

#include <stddef.h>

#include "config.h"

/* text (len bytes, may be empty) with its top-level `servers = ( ... );`
 * replaced by servers[0..n), or such a list appended when the text has none.
 * old[0..nold) are the servers as the text holds them, in order (nold < 0:
 * unknown; then no server is kept as written). Comments inside the old list
 * stay: with their server, or at the list's end when it is removed. Returns
 * the new text (to free), or NULL with *err when the list cannot be found. */
char *cfgedit_servers(const char *text, size_t len, const struct server_cfg *old, int nold,
		      const struct server_cfg *servers, int n, char **err);

#endif
