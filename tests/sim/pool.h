/* Pools across xapi-sim processes: join, eject, new master. Each process
 * serves its hosts on its own loopback address with the same port and
 * scheme, so, as in xapi, a host's address is all a peer needs. */
#ifndef SIM_POOL_H
#define SIM_POOL_H

#include <stdbool.h>

#include "db.h"
#include "value.h"

/* --join-as-slave-of ADDR:PORT: join that master once listening. */
bool pool_join_at_start(const char *master, char **err);

/* sim.pool_secret from this process's credentials: members that joined with
 * the master's credentials share it, so each can slave_login on the others. */
void pool_reset_secret(void);

/* Runs method(session, host, extra...) on the process serving the host
 * (address, uuid), as xapi forwards a host's calls to it; the master's
 * host_ref names it in CANNOT_CONTACT_HOST. *value (if value) is the
 * answer. Call it unlocked. */
bool pool_forward(const char *address, const char *uuid, const char *host_ref, const char *method,
		  struct xv *const *extra, size_t nextra, struct xv **value, struct xv **err);

/* Database work behind the pool calls (pool_db.c), with the lock held. */

/* Deletes every object (sessions too); sim.local_host becomes NULL. */
void pool_db_wipe(void);
/* Recreates the objects of get_all_records answers with their refs and
 * uuids: recs[i] is the answer for schema_classes[i], or NULL. */
void pool_db_load(struct xv *const *recs);
/* Deletes a host that leaves the pool and what only it had: metrics, CPUs,
 * PIFs, PBDs, PCI devices, its control domain, its local SRs and disks. */
void pool_db_forget_host(struct obj *h);

#endif
