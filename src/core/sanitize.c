#include "sanitize.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
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

#define ZWJ 0x200D
#define VS15 0xFE0E
#define VS16 0xFE0F
/* ncurses keeps at most this many code points in one cell (CCHARW_MAX). */
#define CLUSTER_MAX 5

static bool is_modifier(uint32_t c)
{
	return c >= 0x1F3FB && c <= 0x1F3FF; /* emoji skin tones */
}

/* One character on the terminal, as tmux 3.3a and ncurses count it: a base,
 * the zero-width code points after it (combining marks, selectors, ZWJ),
 * and any wide code point right after a ZWJ (tmux joins it into the cell).
 * Returns its byte length (0 at the end); *width is its base's width. */
size_t text_cluster(const char *s, size_t n, int *width, int *count)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	uint32_t c, prev;
	int len, k = 1;

	*width = 0;
	if (count)
		*count = 0;
	if (n == 0)
		return 0;
	len = utf8_decode(p, n, &c);
	if (!len) {
		*width = 1;
		if (count)
			*count = 1;
		return 1;
	}
	*width = cp_width(c);
	i = (size_t)len;
	prev = c;
	while (i < n) {
		len = utf8_decode(p + i, n - i, &c);
		if (!len)
			break;
		if (!(cp_width(c) == 0 || (prev == ZWJ && cp_width(c) == 2)))
			break;
		prev = c;
		i += (size_t)len;
		k++;
	}
	if (count)
		*count = k;
	return i;
}

/* How many code points the rest of a ZWJ chain at cps[i] (a ZWJ) would add
 * to the cell: each "ZWJ wide" pair and the selectors and marks after it. */
static int chain_len(const uint32_t *cps, size_t i, size_t n)
{
	int add = 0;

	while (i + 1 < n && cps[i] == ZWJ && cp_width(cps[i + 1]) == 2) {
		add += 2;
		i += 2;
		while (i < n && cps[i] != ZWJ && cp_width(cps[i]) == 0) {
			if (cps[i] != VS15)
				add++;
			i++;
		}
		while (i < n && is_modifier(cps[i]))
			i++;
	}
	return add;
}

/* What terminals disagree on is left out, so that ncurses' idea of the
 * screen and every terminal's (tmux 3.3a, xterm, kitty, VTE) stay the same:
 * skin tones after an emoji (tmux 3.3a draws them as a second wide cell,
 * newer terminals join them), VS16 on a narrow base (some terminals widen
 * it), VS15, a ZWJ that does not join two wide characters or whose chain
 * would not fit one ncurses cell (its parts are then shown side by side),
 * marks beyond a cell's room, and zero-width characters with no base. */
char *text_for_terminal(const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p), ncp = 0;
	uint32_t *cps = xmalloc((n + 1) * sizeof(*cps));
	struct buf b;
	int base_w = -1, used = 0;
	bool strip_chain = false, after_dropped_zwj = false;

	for (size_t i = 0; i < n;) {
		int len = utf8_decode(p + i, n - i, &cps[ncp]);
		if (!len) {
			cps[ncp] = 0xFFFD;
			len = 1;
		}
		ncp++;
		i += (size_t)len;
	}
	buf_init(&b);
	buf_reserve(&b, n);
	for (size_t i = 0; i < ncp; i++) {
		uint32_t c = cps[i];
		int w = cp_width(c);

		if (c == VS15)
			continue;
		if (c == VS16) {
			if (base_w == 2 && used < CLUSTER_MAX) {
				put_cp(&b, c);
				used++;
			}
			continue;
		}
		if (is_modifier(c) && base_w == 2)
			continue;
		if (c == ZWJ) {
			bool joins = base_w == 2 && i + 1 < ncp && cp_width(cps[i + 1]) == 2 && !strip_chain;
			if (joins && used + chain_len(cps, i, ncp) > CLUSTER_MAX)
				joins = false, strip_chain = true;
			if (joins) {
				put_cp(&b, c);
				put_cp(&b, cps[i + 1]);
				used += 2;
				i++;
			} else {
				after_dropped_zwj = true;
			}
			continue;
		}
		if (w == 0) {
			if (base_w >= 0 && used < CLUSTER_MAX) {
				put_cp(&b, c);
				used++;
			}
			continue;
		}
		/* a new cell */
		if (!after_dropped_zwj)
			strip_chain = false;
		after_dropped_zwj = false;
		put_cp(&b, c);
		base_w = w;
		used = 1;
	}
	free(cps);
	n = b.len;
	return xrealloc(buf_steal(&b), n + 1);
}

int text_width(const char *s)
{
	size_t n = strlen(s);
	int w = 0;

	for (size_t i = 0; i < n;) {
		int cw;
		size_t len = text_cluster(s + i, n - i, &cw, NULL);
		w += cw;
		i += len;
	}
	return w;
}

char *text_truncate(const char *s, int cols, int ascii_only)
{
	size_t n = strlen(s);
	int w = 0;
	size_t i = 0;

	if (text_width(s) <= cols)
		return xstrdup(s);
	if (cols <= 0)
		return xstrdup("");
	while (i < n) {
		int cw;
		size_t len = text_cluster(s + i, n - i, &cw, NULL);
		if (w + cw > cols - 1)
			break;
		w += cw;
		i += len;
	}
	return xasprintf("%.*s%s", (int)i, s, ascii_only ? "~" : "\xe2\x80\xa6");
}
