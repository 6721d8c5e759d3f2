#include "json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void json_encode_string(struct buf *b, const char *s, size_t n)
{
	buf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '"': buf_puts(b, "\\\""); break;
		case '\\': buf_puts(b, "\\\\"); break;
		case '\n': buf_puts(b, "\\n"); break;
		case '\r': buf_puts(b, "\\r"); break;
		case '\t': buf_puts(b, "\\t"); break;
		case '\b': buf_puts(b, "\\b"); break;
		case '\f': buf_puts(b, "\\f"); break;
		default:
			if (c < 0x20 || c == 0x7f)
				buf_printf(b, "\\u%04x", c);
			else
				buf_putc(b, (char)c);
		}
	}
	buf_putc(b, '"');
}

void json_encode_value(struct buf *b, const struct xv *v)
{
	switch (v->type) {
	case XV_NIL:
		buf_puts(b, "null");
		break;
	case XV_STRING:
	case XV_DATETIME:
		json_encode_string(b, v->u.s, v->n);
		break;
	case XV_INT:
	case XV_I4:
		buf_printf(b, "%lld", (long long)v->u.i);
		break;
	case XV_DOUBLE:
		if (isnan(v->u.d))
			buf_puts(b, "NaN");
		else if (isinf(v->u.d))
			buf_puts(b, v->u.d < 0 ? "-Infinity" : "Infinity");
		else if (v->u.d == floor(v->u.d) && fabs(v->u.d) < 1e15)
			buf_printf(b, "%.1f", v->u.d);
		else
			buf_printf(b, "%.17g", v->u.d);
		break;
	case XV_BOOL:
		buf_puts(b, v->u.b ? "true" : "false");
		break;
	case XV_ARRAY:
		buf_putc(b, '[');
		for (size_t i = 0; i < v->n; i++) {
			if (i)
				buf_putc(b, ',');
			json_encode_value(b, v->u.arr.v[i]);
		}
		buf_putc(b, ']');
		break;
	case XV_STRUCT:
		buf_putc(b, '{');
		for (size_t i = 0; i < v->n; i++) {
			if (i)
				buf_putc(b, ',');
			json_encode_string(b, v->u.st.m[i].k, strlen(v->u.st.m[i].k));
			buf_putc(b, ':');
			json_encode_value(b, v->u.st.m[i].v);
		}
		buf_putc(b, '}');
		break;
	}
}
