#include "sanitize.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <wchar.h>

#include "util.h"

/* Decodes one UTF-8 sequence; returns its length, or 0 if invalid. */
static int utf8_decode(const unsigned char *p, size_t avail, uint32_t *cp)
{
	int len;
	uint32_t c;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xE0) == 0xC0) {
		len = 2;
		c = p[0] & 0x1F;
	} else if ((p[0] & 0xF0) == 0xE0) {
		len = 3;
		c = p[0] & 0x0F;
	} else if ((p[0] & 0xF8) == 0xF0) {
		len = 4;
		c = p[0] & 0x07;
	} else {
		return 0;
	}
	if ((size_t)len > avail)
		return 0;
	for (int i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3F);
	}
	if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10FFFF))
	    || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

static void put_cp(struct buf *b, uint32_t c)
{
	char o[4];
	int n;

	if (c < 0x80) {
		o[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		o[0] = (char)(0xC0 | (c >> 6));
		o[1] = (char)(0x80 | (c & 0x3F));
		n = 2;
	} else if (c < 0x10000) {
		o[0] = (char)(0xE0 | (c >> 12));
		o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		o[2] = (char)(0x80 | (c & 0x3F));
		n = 3;
	} else {
		o[0] = (char)(0xF0 | (c >> 18));
		o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
		o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
		o[3] = (char)(0x80 | (c & 0x3F));
		n = 4;
	}
	buf_append(b, o, (size_t)n);
}

static bool is_control(uint32_t c)
{
	/* C0, DEL, C1, and the bidi marks and overrides that can reorder what follows */
	return c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0) || c == 0x061C || c == 0x200E || c == 0x200F
	       || (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

char *sanitize(const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p);
	struct buf b;

	buf_init(&b);
	buf_reserve(&b, n);
	for (size_t i = 0; i < n;) {
		uint32_t c;
		int len = utf8_decode(p + i, n - i, &c);

		if (!len) {
			put_cp(&b, 0xFFFD);
			i++;
			continue;
		}
		i += (size_t)len;
		if (is_control(c))
			buf_putc(&b, '?');
		else
			put_cp(&b, c);
	}
	/* exact size: lists keep thousands of these (5,000 VMs x 7 cells) */
	n = b.len;
	return xrealloc(buf_steal(&b), n + 1);
}

static int cp_width(uint32_t c)
{
	int w = wcwidth((wchar_t)c);

	return w < 0 ? 1 : w;
}

int text_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	int w = 0;

	for (size_t i = 0; i < n;) {
		uint32_t c;
		int len = utf8_decode(p + i, n - i, &c);
		if (!len) {
			w++;
			i++;
			continue;
		}
		w += cp_width(c);
		i += (size_t)len;
	}
	return w;
}

char *text_truncate(const char *s, int cols, int ascii_only)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	int w = 0;
	size_t i = 0;

	if (text_width(s) <= cols)
		return xstrdup(s);
	if (cols <= 0)
		return xstrdup("");
	while (i < n) {
		uint32_t c;
		int len = utf8_decode(p + i, n - i, &c);
		int cw = len ? cp_width(c) : 1;
		if (w + cw > cols - 1)
			break;
		w += cw;
		i += len ? (size_t)len : 1;
	}
	return xasprintf("%.*s%s", (int)i, s, ascii_only ? "~" : "\xe2\x80\xa6");
}
