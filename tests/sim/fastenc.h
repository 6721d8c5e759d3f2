/* A fast path for <class>.get_all_records: the answer is written straight
 * from the database objects, without first copying every record into a
 * value tree (at --vms 5000, VM.get_all_records is about 50 MB of XML). */
#ifndef SIM_FASTENC_H
#define SIM_FASTENC_H

#include <stdbool.h>

#include "util.h"
#include "value.h"

/* When method/params are a plain, valid <class>.get_all_records(session)
 * that no explicit handler takes, does what the dispatcher would (session
 * check, last_active) and appends the whole XML-RPC response to out;
 * otherwise returns false having done nothing, and the dispatcher answers
 * (errors included). */
bool fastenc_xml_response(const char *method, const struct xv *params, struct buf *out);
/* The same for JSON-RPC: appends only the result value (the JSON object). */
bool fastenc_json_result(const char *method, const struct xv *params, struct buf *out);
/* json_encode_value's bytes, written faster (every JSON-RPC reply uses it). */
void fastenc_json_value(struct buf *b, const struct xv *v);

#endif
