/* HA calls (ha.c), served from calls_pool.c's table. */
#ifndef SIM_HA_H
#define SIM_HA_H

#include "rpc.h"

struct xv *ha_pool_enable(struct call *c, struct xv **err);
struct xv *ha_pool_disable(struct call *c, struct xv **err);
struct xv *ha_pool_set_failures_to_tolerate(struct call *c, struct xv **err);
struct xv *ha_pool_compute_max(struct call *c, struct xv **err);
struct xv *ha_vm_set_restart_priority(struct call *c, struct xv **err);

#endif
