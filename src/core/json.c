#include "json.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* One UTF-8 sequence at p: its length, or 0 when it is not valid UTF-8
 * (overlong, a surrogate, beyond U+10FFFF, cut short). */
static size_t utf8_char(const unsigned char *p, size_t avail, uint32_t *cp)
{
	size_t need;
	uint32_t c;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xC2 && p[0] <= 0xDF) {
		need = 2;
		c = p[0] & 0x1F;
	} else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		need = 3;
		c = p[0] & 0x0F;
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		need = 4;
		c = p[0] & 0x07;
	} else {
		return 0;
	}
	if (need > avail)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3F);
	}
	if ((need == 3 && c < 0x800) || (need == 4 && (c < 0x10000 || c > 0x10FFFF)) || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return need;
}

/* Characters a terminal or an editor would act on rather than show: C1
 * controls, marks and overrides that reorder text (bidi), and the line
 * separators JavaScript reads as line ends. */
static bool invisible(uint32_t c)
{
	return (c >= 0x80 && c <= 0x9F) || c == 0x061C || c == 0x200E || c == 0x200F || c == 0x2028 || c == 0x2029
	       || (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

static void encode_string(struct buf *b, const char *s, size_t n, bool safe)
{
	const unsigned char *p = (const unsigned char *)s;

	buf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];

		switch (c) {
		case '"': buf_puts(b, "\\\""); break;
		case '\\': buf_puts(b, "\\\\"); break;
		case '\n': buf_puts(b, "\\n"); break;
		case '\r': buf_puts(b, "\\r"); break;
		case '\t': buf_puts(b, "\\t"); break;
		case '\b': buf_puts(b, "\\b"); break;
		case '\f': buf_puts(b, "\\f"); break;
		default:
			if (c < 0x20 || c == 0x7f) {
				buf_printf(b, "\\u%04x", c);
			} else if (c < 0x80 || !safe) {
				buf_putc(b, (char)c);
			} else {
				uint32_t cp;
				size_t k = utf8_char(p + i, n - i, &cp);
				if (!k)
					buf_puts(b, "\\ufffd"); /* not UTF-8: JSON must be */
				else if (invisible(cp))
					buf_printf(b, "\\u%04x", (unsigned)cp);
				else
					buf_append(b, p + i, k);
				i += k ? k - 1 : 0;
			}
		}
	}
	buf_putc(b, '"');
}

void json_encode_string(struct buf *b, const char *s, size_t n)
{
	encode_string(b, s, n, false);
}

void json_encode_string_safe(struct buf *b, const char *s, size_t n)
{
	encode_string(b, s, n, true);
}

static void encode_value(struct buf *b, const struct xv *v, bool safe)
{
	switch (v->type) {
	case XV_NIL:
		buf_puts(b, "null");
		break;
	case XV_STRING:
	case XV_DATETIME:
		encode_string(b, v->u.s, v->n, safe);
		break;
	case XV_INT:
	case XV_I4:
		buf_printf(b, "%lld", (long long)v->u.i);
		break;
	case XV_DOUBLE:
		if ((isnan(v->u.d) || isinf(v->u.d)) && safe)
			buf_puts(b, "null"); /* JSON has no such numbers */
		else if (isnan(v->u.d))
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
			encode_value(b, v->u.arr.v[i], safe);
		}
		buf_putc(b, ']');
		break;
	case XV_STRUCT:
		buf_putc(b, '{');
		for (size_t i = 0; i < v->n; i++) {
			if (i)
				buf_putc(b, ',');
			encode_string(b, v->u.st.m[i].k, strlen(v->u.st.m[i].k), safe);
			buf_putc(b, ':');
			encode_value(b, v->u.st.m[i].v, safe);
		}
		buf_putc(b, '}');
		break;
	}
}

void json_encode_value(struct buf *b, const struct xv *v)
{
	encode_value(b, v, false);
}

void json_encode_value_safe(struct buf *b, const struct xv *v)
{
	encode_value(b, v, true);
}
