/* VDI.get_nbd_info and the NBD server behind it: Debian's nbdkit, started
 * on first use, serving with its file plugin (dir= mode) the VDIs' bytes
 * that this process writes into a private folder, TLS with a certificate
 * made for it (xapi's `nbd` network purpose) or plain (`insecure_nbd`).
 *
 * Differences from xapi: the export name is xapi's without the leading
 * "/" ("UUID?session_id=REF": nbdkit's dir mode refuses a "/"), and the
 * export holds the VDI's bytes at the get_nbd_info call (xapi serves the
 * live disk). nbdkit logs each request (its log filter) to nbdkit.log in
 * the folder, named on stderr when it starts; it exits once this process
 * is gone (a pipe it watches closes) and removes the folder. */
#ifndef SIM_NBDEXPORT_H
#define SIM_NBDEXPORT_H

#include "db.h"
#include "value.h"

/* The vdi_nbd_server_info records (db locked): one per purpose the pool's
 * networks carry (nbd first), none when no network offers NBD. */
struct xv *nbdexport_info(struct obj *vdi, struct obj *session, struct xv **err);

#endif
