/* JSON output of XenAPI values (JSON-RPC replies, `xentui list --json`).
 * Ints are numbers, floats may be NaN/Infinity as xapi's Yojson writes them
 * (the _safe forms, for strict JSON readers, write null). */
#ifndef XENTUI_JSON_H
#define XENTUI_JSON_H

#include "util.h"
#include "value.h"

void json_encode_string(struct buf *b, const char *s, size_t n);
void json_encode_value(struct buf *b, const struct xv *v);
/* For what people and scripts read (`xentui list --json`): every control
 * character (C0, DEL, C1) and bidi control as \uXXXX, bytes that are not
 * UTF-8 as \ufffd, NaN and Infinity as null (JSON has no such numbers). */
void json_encode_string_safe(struct buf *b, const char *s, size_t n);
void json_encode_value_safe(struct buf *b, const struct xv *v);

#endif
