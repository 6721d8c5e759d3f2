/* Accepted certificate fingerprints, like ssh's known_hosts, kept in a
 * libconfig file: hosts = ( { host = "h:443"; sha256 = "..."; } ). */
#ifndef XENTUI_KNOWN_HOSTS_H
#define XENTUI_KNOWN_HOSTS_H

#include <stdbool.h>

/* The fingerprint saved for host:port into out (65 bytes), or false. */
bool known_hosts_lookup(const char *path, const char *hostport, char out[65]);
/* Saves or replaces it; false with *err on failure. */
bool known_hosts_add(const char *path, const char *hostport, const char *sha256, char **err);

#endif
