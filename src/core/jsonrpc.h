/* JSON-RPC as xapi speaks it on /jsonrpc (WIRE.md section 3): a call
 * encoder, and a streaming decoder (yajl's event parser) fed a reply while
 * it is still arriving, with the same filter, string pool and error
 * handling as the XML-RPC decoder (xmlrpc.h), giving the same values. */
#ifndef XENTUI_JSONRPC_H
#define XENTUI_JSONRPC_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"
#include "value.h"
#include "xmlrpc.h"

/* {"jsonrpc":"2.0","method":...,"params":[...],"id":id} */
void jsonrpc_encode_call(struct buf *b, const char *method, struct xv *const *params, size_t n, long long id);

struct jsonrpc_decoder;

struct jsonrpc_decoder *jsonrpc_decoder_new(void);
void jsonrpc_decoder_free(struct jsonrpc_decoder *d);
/* false once the input is known to be bad; see jsonrpc_decoder_error. */
bool jsonrpc_decoder_feed(struct jsonrpc_decoder *d, const char *data, size_t len);
/* Ends the input; true and fills *out (owned by the caller) on success. The
 * reply comes in XML-RPC's shape, so one code path reads both transports:
 * params = [{Status: "Success", Value: result}] or [{Status: "Failure",
 * ErrorDescription: [code, params...]}] (v1, v2 and xapi's array quirk). */
bool jsonrpc_decoder_finish(struct jsonrpc_decoder *d, struct xmlrpc_msg *out);
const char *jsonrpc_decoder_error(const struct jsonrpc_decoder *d);

/* As xmlrpc_decoder_set_filter: depth counts the objects around the member,
 * the reply's envelope being 1 (never filtered), so a get_all_records
 * map's refs are at 2 and the records' fields at 3, as in XML-RPC. */
void jsonrpc_decoder_set_filter(struct jsonrpc_decoder *d, xmlrpc_member_filter fn, void *ud);
/* As xmlrpc_decoder_set_pool. */
void jsonrpc_decoder_set_pool(struct jsonrpc_decoder *d, struct strpool *pool, bool share_nodes);

/* One-shot: decodes a whole reply. On failure *err is set (free it). */
bool jsonrpc_decode(const char *data, size_t len, struct xmlrpc_msg *out, char **err);

#endif
