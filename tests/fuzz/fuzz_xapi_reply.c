/* libFuzzer target: a pool's answer to a call, read as xapi.c reads it: the
 * body fed to the streaming decoder in the pieces the network delivers, with
 * the connection's string pool and a cache's member filter, then the XenAPI
 * envelope ({Status, Value} or {Status, ErrorDescription}) taken apart and a
 * failure turned into the sentence a person sees (errors.c). Any bytes must
 * end as a value, a sentence or an error, never a crash, a leak or undefined
 * behaviour. (The HTTP head is libcurl's to parse; xapi.c's own reading of
 * the reply is static, so this repeats its steps through the same functions.)
 *
 * The first input byte picks the piece size (1 to 64 bytes, or all at once)
 * and whether pooled strings share one node (as the TUI's process pool does).
 * sources: src/core/xmlrpc.c src/core/strpool.c src/core/value.c src/core/util.c src/core/errors.c tests/fuzz/member_filter.c
 * packages: libxml-2.0
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "errors.h"
#include "member_filter.h"
#include "strpool.h"
#include "xmlrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* error_sentence() is given no cache, as xapi.c gives it none: these are
 * never reached then, and linking the real cache would pull in the whole
 * connection. */
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
	struct xmlrpc_decoder *d;
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
	d = xmlrpc_decoder_new();
	xmlrpc_decoder_set_pool(d, pool, share);
	if (data[-1] & 0x80)
		xmlrpc_decoder_set_filter(d, fuzz_member_filter, NULL);
	for (size_t off = 0; ok && off < size; off += piece)
		ok = xmlrpc_decoder_feed(d, (const char *)data + off, size - off < piece ? size - off : piece);
	/* xapi.c finishes even after a refused piece, for the decoder's sentence */
	if (xmlrpc_decoder_finish(d, &m)) {
		const struct xv *resp = xv_at(m.params, 0);
		const char *st = xv_str(xv_struct_get(resp, "Status"));

		if (!m.fault && resp && st && strcmp(st, "Success") == 0) {
			struct xv *v = xv_struct_take(xv_at(m.params, 0), "Value");
			xv_free(v);
		} else if (!m.fault && resp && st) {
			char *why = error_sentence(xv_struct_get(resp, "ErrorDescription"), NULL);
			free(why);
		} else if (m.fault) {
			char *why = error_sentence(m.fault, NULL);
			free(why);
		}
		xmlrpc_msg_free(&m);
	} else {
		xmlrpc_decoder_error(d);
	}
	xmlrpc_decoder_free(d);
	strpool_free(pool);
	return 0;
}
