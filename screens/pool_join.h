/* Joining a host to a pool, both ways users know: from the host ("Join a
 * resource pool": the master's address and credentials) and from the pool
 * ("Add a host": the host's address and credentials). */
#ifndef XENTUI_SCREENS_POOL_JOIN_H
#define XENTUI_SCREENS_POOL_JOIN_H

#include <stdbool.h>

#include "app.h"

/* From a host's screen: asks for the master, then pool.join on the host's
 * own connection. host_qref is the host's qualified ref. */
void pool_join_from_host(struct app *app, const char *host_qref);
/* The host can join a pool: it is alone in its pool. */
bool pool_join_possible(struct app *app, const char *host_qref);
/* From the pool's screen: asks for the host, logs in to it on a connection
 * of its own (its certificate accepted like a server's) and calls pool.join
 * there with this pool's master address and credentials. */
void pool_join_add_host(struct app *app, struct pool *p);

#endif
