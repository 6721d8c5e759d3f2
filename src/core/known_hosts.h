/* Accepted certificate fingerprints, like ssh's known_hosts, kept in a
 * libconfig file: hosts = ( { host = "h:443"; sha256 = "..."; } ). A file
 * that does not parse trusts nothing: every call names its file and line. */
#ifndef XENTUI_KNOWN_HOSTS_H
#define XENTUI_KNOWN_HOSTS_H

#include <stdbool.h>

/* 1: the fingerprint saved for host:port is in out (65 bytes); 0: none
 * saved; -1: the file is unreadable or malformed, *err (to free) says where. */
int known_hosts_find(const char *path, const char *hostport, char out[65], char **err);
/* known_hosts_find without the reason: false when none or on error. */
bool known_hosts_lookup(const char *path, const char *hostport, char out[65]);
/* True when the file is absent or well formed; else *err names file and line. */
bool known_hosts_check(const char *path, char **err);
/* Saves or replaces it (0600, atomically); false with *err on failure. */
bool known_hosts_add(const char *path, const char *hostport, const char *sha256, char **err);
/* The hex SHA-256 of a PEM certificate's DER form (what pins and known_hosts
 * hold) into out (65 bytes); false when pem holds no certificate. */
bool cert_pem_sha256(const char *pem, char out[65]);

#endif
