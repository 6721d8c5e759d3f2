/* Pools across xapi-sim processes: join, eject, new master. */
#ifndef SIM_POOL_H
#define SIM_POOL_H

#include <stdbool.h>

/* --join-as-slave-of ADDR:PORT: join that master once listening. */
bool pool_join_at_start(const char *master, char **err);

#endif
