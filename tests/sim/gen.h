/* The pool xapi-sim starts with (deterministic for a --seed). */
#ifndef SIM_GEN_H
#define SIM_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"

void gen_pool(void);
/* A fresh standalone install (a --hosts 1 --vms 0 pool) whose host keeps
 * this name and uuid: what an ejected host becomes. */
void gen_standalone(const char *name, const char *uuid);
/* Everything a host brings with it: the host record (hardware model i % 3,
 * uuid NULL for a new one), metrics, CPUs, PIFs on the pool's xenbr0/xenbr1,
 * a local SR, PBDs for the pool's shared SRs, DVD and removable SRs, PCI
 * devices and dom0. *local_sr (if not NULL) gets the local SR. */
struct obj *gen_host_with_devices(int i, const char *name, const char *address, const char *uuid,
				  struct obj **local_sr);
void gen_messages(struct obj *master);
struct obj *gen_sr(const char *label, const char *type, const char *content_type, bool shared, int64_t size);
struct obj *gen_pbd(struct obj *host, struct obj *sr, struct xv *device_config);
struct obj *gen_vdi(struct obj *sr, const char *label, int64_t size, const char *type, bool read_only);

#endif
