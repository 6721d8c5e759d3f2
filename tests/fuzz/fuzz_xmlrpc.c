/* libFuzzer target: the XML-RPC decoder must turn any input into a value
 * or an error, never a crash, a leak or undefined behaviour.
 * sources: src/core/xmlrpc.c src/core/strpool.c src/core/value.c src/core/util.c
 * packages: libxml-2.0
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "xmlrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xmlrpc_msg m;
	char *err = NULL;
	struct xmlrpc_decoder *d;
	size_t half = size / 2;

	if (xmlrpc_decode((const char *)data, size, &m, &err))
		xmlrpc_msg_free(&m);
	free(err);
	/* the same bytes in two pieces, as a network delivers them */
	d = xmlrpc_decoder_new();
	if (xmlrpc_decoder_feed(d, (const char *)data, half) && xmlrpc_decoder_feed(d, (const char *)data + half, size - half)
	    && xmlrpc_decoder_finish(d, &m))
		xmlrpc_msg_free(&m);
	xmlrpc_decoder_free(d);
	return 0;
}
