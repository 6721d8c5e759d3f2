/* XML-RPC as xapi speaks it (WIRE.md section 2): an encoder, and a streaming
 * decoder on libxml2's SAX push parser that can be fed a reply while it is
 * still arriving, and that turns malformed input into an error message. */
#ifndef XENTUI_XMLRPC_H
#define XENTUI_XMLRPC_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"
#include "value.h"

enum xmlrpc_names {
	XMLRPC_ESCAPE_NAMES, /* escape struct member names (what a client should send) */
	XMLRPC_RAW_NAMES,    /* write them raw, as xapi does */
};

/* Appends <value>...</value>. */
void xmlrpc_encode_value(struct buf *b, const struct xv *v, enum xmlrpc_names names);
void xmlrpc_encode_call(struct buf *b, const char *method, struct xv *const *params, size_t n);
/* A response whose single param is v (system.listMethods has no envelope). */
void xmlrpc_encode_response(struct buf *b, const struct xv *v);
/* {Status: Success, Value: v} */
void xmlrpc_encode_success(struct buf *b, const struct xv *v);
/* {Status: Failure, ErrorDescription: [code, params...]} */
void xmlrpc_encode_failure(struct buf *b, const struct xv *error_description);

struct xmlrpc_msg {
	bool is_call;
	char *method;      /* calls only */
	struct xv *params; /* array of the params */
	struct xv *fault;  /* responses with <fault> */
};

void xmlrpc_msg_free(struct xmlrpc_msg *m);

struct xmlrpc_decoder;

struct xmlrpc_decoder *xmlrpc_decoder_new(void);
void xmlrpc_decoder_free(struct xmlrpc_decoder *d);
/* false once the input is known to be bad; see xmlrpc_decoder_error. */
bool xmlrpc_decoder_feed(struct xmlrpc_decoder *d, const char *data, size_t len);
/* Ends the input; true and fills *out (owned by the caller) on success. */
bool xmlrpc_decoder_finish(struct xmlrpc_decoder *d, struct xmlrpc_msg *out);
const char *xmlrpc_decoder_error(const struct xmlrpc_decoder *d);

/* Drops struct members the caller has no use for while decoding, so a large
 * reply never exists whole in memory. depth counts the structs around the
 * member (1 = the outermost); at says where it is. The verdict, XMLRPC_KEEP
 * or XMLRPC_DROP, is remembered for that name at that depth (a record's
 * names repeat in every record) unless XMLRPC_ASK is or'd in: a verdict
 * that depends on where the member is, asked again each time. A filter that
 * answers ASK for a name at a depth answers it there always. */
enum { XMLRPC_DROP = 0, XMLRPC_KEEP = 1, XMLRPC_ASK = 2 };
struct xmlrpc_at {
	const struct xv *obj;   /* the struct the member would join, as decoded so far (its kept members) */
	const char *obj_name;   /* obj's name in the struct around it, */
	const struct xv *outer; /* and that struct, so far (NULL for both: none, or an array between) */
};
typedef int (*xmlrpc_member_filter)(void *ud, int depth, const char *name, const struct xmlrpc_at *at);
void xmlrpc_decoder_set_filter(struct xmlrpc_decoder *d, xmlrpc_member_filter fn, void *ud);
/* Member names (field names, and the refs keying get_all_records maps) come
 * from pool, which must outlive the decoded values: one allocation less per
 * field, and refs shared with the values that point at them. With
 * share_nodes, a pooled string is also one node for all its holders (and
 * booleans two static ones): then pool must outlive even the freeing of
 * the values, and only one thread may decode with it. */
struct strpool;
void xmlrpc_decoder_set_pool(struct xmlrpc_decoder *d, struct strpool *pool, bool share_nodes);

/* A server reading requests (xapi-sim, as xapi): characters XML forbids are
 * an error, not replaced as a client replaces them in what a pool sends. */
void xmlrpc_decoder_set_strict(struct xmlrpc_decoder *d);

/* One-shot: decodes a whole document. On failure *err is set (free it). */
bool xmlrpc_decode(const char *data, size_t len, struct xmlrpc_msg *out, char **err);
/* The same, strict (a server reading a request). */
bool xmlrpc_decode_strict(const char *data, size_t len, struct xmlrpc_msg *out, char **err);

#endif
