/* The member filter the reply fuzz targets (fuzz_jsonrpc, fuzz_xapi_reply)
 * decode with, as a cache's: see member_filter.c. */
#ifndef XENTUI_FUZZ_MEMBER_FILTER_H
#define XENTUI_FUZZ_MEMBER_FILTER_H

#include "xmlrpc.h"

int fuzz_member_filter(void *ud, int depth, const char *name, const struct xmlrpc_at *at);

#endif
