/* Messages xapi generates for every class (get_record, get_all_records,
 * field accessors, create, destroy), done once for all classes. */
#ifndef SIM_IMPLICIT_H
#define SIM_IMPLICIT_H

#include "rpc.h"

extern const struct handler implicit_handler;

bool implicit_handles(const struct call *c);
/* Creates an object of c->cls from a create record, checking fields. */
struct obj *implicit_create(struct call *c, const struct xv *rec, struct xv **err);
struct xv *implicit_all_records(const struct cls *k);

#endif
