/* libFuzzer target: a pool's JSON-RPC answer, read as xapi.c reads it: the
 * body fed to the streaming decoder in the pieces the network delivers, with
 * the connection's string pool and a cache's member filter, then the XenAPI
 * envelope taken apart and a failure turned into the sentence a person sees
 * (errors.c). Any bytes must end as a value, a sentence or an error, never a
 * crash, a leak or undefined behaviour.
 *
 * The first input byte picks the piece size (1 to 64 bytes, or all at once),
 * whether pooled strings share one node, and whether the filter is on.
 * sources: src/core/jsonrpc.c src/core/json.c src/core/xmlrpc.c src/core/strpool.c src/core/value.c src/core/util.c src/core/errors.c tests/fuzz/member_filter.c
 * packages: yajl libxml-2.0
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "errors.h"
#include "jsonrpc.h"
#include "member_filter.h"
#include "strpool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* error_sentence() is given no cache, as xapi.c gives it none. */
const struct xv *cache_get(const struct cache *c, const char *ref)
{
	abort();
}

const char *rec_str(const struct xv *rec, const char *field)
{
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strpool *pool;
	struct jsonrpc_decoder *d;
	struct xmlrpc_msg m;
	size_t piece;
	bool share, ok = true;

	if (size < 1)
		return 0;
	piece = data[0] & 0x3F ? (size_t)(data[0] & 0x3F) : size;
	share = data[0] & 0x40;
	data++;
	size--;
	pool = strpool_new();
	d = jsonrpc_decoder_new();
	if (data[-1] & 0x80)
		jsonrpc_decoder_set_filter(d, fuzz_member_filter, NULL);
	/* half the runs without a pool: keys then are the decoder's own */
	if (share || (data[-1] & 1))
		jsonrpc_decoder_set_pool(d, pool, share);
	for (size_t off = 0; ok && off < size; off += piece)
		ok = jsonrpc_decoder_feed(d, (const char *)data + off, size - off < piece ? size - off : piece);
	if (jsonrpc_decoder_finish(d, &m)) {
		const struct xv *resp = xv_at(m.params, 0);
		const char *st = xv_str(xv_struct_get(resp, "Status"));

		if (st && strcmp(st, "Success") == 0) {
			struct xv *v = xv_struct_take(xv_at(m.params, 0), "Value");
			xv_free(v);
		} else {
			char *why = error_sentence(xv_struct_get(resp, "ErrorDescription"), NULL);
			free(why);
		}
		xmlrpc_msg_free(&m);
	} else {
		jsonrpc_decoder_error(d);
	}
	jsonrpc_decoder_free(d);
	strpool_free(pool);
	return 0;
}
