/* Sessions: login, logout, the intra-pool login, and expiry for tests. */
#ifndef SIM_SESSIONS_H
#define SIM_SESSIONS_H

#include "db.h"

/* Ends every session (SIGUSR1, or the "expire" fault). Takes the lock. */
void sessions_expire_all(void);
/* A new session for user (pool=true for the intra-pool kind). Locked. */
struct obj *session_new(const char *user, const char *originator, bool pool);

#endif
