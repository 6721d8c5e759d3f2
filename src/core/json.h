/* JSON output of XenAPI values (JSON-RPC replies, `xentui list --json`).
 * Ints are numbers, floats may be NaN/Infinity as xapi's Yojson writes them. */
#ifndef XENTUI_JSON_H
#define XENTUI_JSON_H

#include "util.h"
#include "value.h"

void json_encode_string(struct buf *b, const char *s, size_t n);
void json_encode_value(struct buf *b, const struct xv *v);

#endif
