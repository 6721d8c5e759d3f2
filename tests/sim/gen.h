/* The pool xapi-sim starts with (deterministic for a --seed). */
#ifndef SIM_GEN_H
#define SIM_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"

void gen_pool(void);
void gen_messages(struct obj *master);
struct obj *gen_sr(const char *label, const char *type, const char *content_type, bool shared, int64_t size);
struct obj *gen_pbd(struct obj *host, struct obj *sr, struct xv *device_config);
struct obj *gen_vdi(struct obj *sr, const char *label, int64_t size, const char *type, bool read_only);

#endif
