/* libcurl's multi interface driven by the loop: every HTTP transfer of
 * xentui goes through here, none blocks. */
#ifndef XENTUI_NET_H
#define XENTUI_NET_H

#include <curl/curl.h>

#include "loop.h"

struct net;

/* Called once when a transfer ends; result is CURLE_OK or the failure. */
typedef void (*net_done_fn)(CURL *easy, CURLcode result, void *ud);

struct net *net_new(struct loop *l);
void net_free(struct net *n);
/* Starts easy (configured by the caller); done is called from the loop. */
void net_start(struct net *n, CURL *easy, net_done_fn done, void *ud);
/* Stops a transfer without calling done; the caller still owns easy. */
void net_cancel(struct net *n, CURL *easy);
int net_active(const struct net *n);
/* What every streamed transfer sets alike: no signals, xentui's User-Agent,
 * a 15 s connect timeout, errors into errbuf (CURL_ERROR_SIZE bytes), and an
 * end to a transfer that has stalled for stall_s seconds (a slow one goes on). */
void net_transfer_defaults(CURL *easy, char *errbuf, long stall_s);
/* TLS for easy accepts the one certificate whose SHA-256 is fp (64 hex
 * digits, kept alive by the caller for the transfer), whatever its name or
 * issuer: a pool's self-signed certificate, once the user has accepted it. */
void net_pin_certificate(CURL *easy, const char *fp);
/* Points easy at the system's public CAs, found at run time: Debian's bundle or
 * dom0's (CentOS's), so one static binary verifies certificates on both. */
void net_system_cas(CURL *easy);

/* TCP keepalive that notices a path dropping every packet within about
 * NET_SILENCE_MS, idle or waiting on a long poll: a probe after 5 s of
 * quiet, then every 2 s, and the connection is given up once nothing has
 * come back for 10 s (the peer's kernel answers probes however slow the
 * server, so a slow answer is never mistaken for silence). */
#define NET_KEEPALIVE_IDLE_S 5
#define NET_KEEPALIVE_INTERVAL_S 2
#define NET_KEEPALIVE_COUNT 3
#define NET_SILENCE_MS 10000
void net_keepalive(CURL *easy);

#endif
