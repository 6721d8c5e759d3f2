/* Picture mode: see console_picture.h. */
#include "console_picture.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"
#include "fbtext.h"
#include "theme.h"
#include "util.h"

#define MAX_PAIRS 16384

/* Colour pairs for the picture: a small hash from (fg, bg) to a pair in
 * [base, base + n). A frame needs at most one pair per cell; when the next
 * frame might not fit, every pair is forgotten and reused from the start,
 * which is safe because every cell is drawn again each frame. */
static struct {
	int base, n, used;
	uint64_t *key; /* (fg << 32 | bg) + 1; 0: empty slot */
	int *pair;
	size_t mask;
} pairs;

static void pairs_reset(int base, int n)
{
	size_t size = 1;

	while (size < (size_t)n * 2)
		size *= 2;
	if (pairs.base != base || pairs.n != n || !pairs.key) {
		free(pairs.key);
		free(pairs.pair);
		pairs.key = xcalloc(size, sizeof(*pairs.key));
		pairs.pair = xcalloc(size, sizeof(*pairs.pair));
		pairs.mask = size - 1;
		pairs.base = base;
		pairs.n = n;
	} else {
		memset(pairs.key, 0, (pairs.mask + 1) * sizeof(*pairs.key));
	}
	pairs.used = 0;
}

static int pair_for(uint32_t fg, uint32_t bg)
{
	uint64_t k = ((uint64_t)fg << 32 | bg) + 1;
	size_t i = (size_t)(k * 0x9E3779B97F4A7C15ull >> 20) & pairs.mask;

	for (;; i = (i + 1) & pairs.mask) {
		if (pairs.key[i] == k)
			return pairs.pair[i];
		if (!pairs.key[i])
			break;
	}
	if (pairs.used >= pairs.n)
		return 0; /* cannot happen: the frame was sized before drawing */
	pairs.key[i] = k;
	pairs.pair[i] = pairs.base + pairs.used++;
	init_extended_pair(pairs.pair[i], (int)fg, (int)bg);
	return pairs.pair[i];
}

/* The terminal colour of 0xRRGGBB. */
static uint32_t colour(uint32_t rgb)
{
	if (COLORS >= 0x1000000)
		return rgb & 0xFFFFFF; /* direct colour: the value is the colour */
	if (COLORS >= 256)
		return fbtext_nearest256(rgb);
	if (COLORS >= 16)
		return fbtext_nearest16(rgb);
	return fbtext_nearest16(rgb) & 7;
}

static int luma(uint32_t p)
{
	return (int)((p >> 16 & 0xFF) * 3 + (p >> 8 & 0xFF) * 6 + (p & 0xFF)) / 10;
}

void console_picture_draw(WINDOW *w, int y0, int h, int cols, struct vnc *v, int pair_base)
{
	int fw = 0, fh = 0, pw, ph, x0, top;
	uint32_t *px;
	bool colours = theme_colour() && COLOR_PAIRS > pair_base + 16;
	int npairs = colours ? COLOR_PAIRS - pair_base : 0;

	vnc_state(v, &fw, &fh, NULL);
	if (fw <= 0 || fh <= 0 || h <= 0 || cols <= 0)
		return;
	/* a half block is about square: fit fw x fh into cols x 2h, keeping the shape */
	pw = cols;
	ph = (int)((long)fh * pw / fw);
	if (ph > 2 * h) {
		ph = 2 * h;
		pw = (int)((long)fw * ph / fh);
	}
	ph &= ~1;
	if (pw < 1 || ph < 2)
		return;
	px = xmalloc((size_t)pw * (size_t)ph * sizeof(*px));
	if (!vnc_picture(v, pw, ph, px)) {
		free(px);
		return;
	}
	if (npairs > MAX_PAIRS)
		npairs = MAX_PAIRS;
	if (colours && (pairs.base != pair_base || pairs.n != npairs || pairs.used + pw * ph / 2 > npairs))
		pairs_reset(pair_base, npairs);
	x0 = (cols - pw) / 2;
	top = y0 + (h - ph / 2) / 2;
	for (int r = 0; r < ph / 2; r++)
		for (int c = 0; c < pw; c++) {
			uint32_t t = px[(size_t)(2 * r) * (size_t)pw + (size_t)c];
			uint32_t b = px[(size_t)(2 * r + 1) * (size_t)pw + (size_t)c];
			cchar_t cc;
			wchar_t wc[2] = {0x2580, 0};
			int pair = 0;
			attr_t a = A_NORMAL;

			if (colours && pairs.used + 1 <= pairs.n) {
				pair = pair_for(colour(t), colour(b));
				if (!ui_utf8())
					wc[0] = ' '; /* no half block: the bottom colour fills the cell */
			} else {
				/* no colours: blocks by brightness */
				bool tl = luma(t) >= 48, bl = luma(b) >= 48;

				wc[0] = tl && bl ? 0x2588 : tl ? 0x2580 : bl ? 0x2584 : ' ';
				if (!ui_utf8()) {
					wc[0] = ' ';
					a = tl || bl ? A_REVERSE : A_NORMAL;
				}
			}
			setcchar(&cc, wc, a, 0, &pair);
			mvwadd_wch(w, top + r, x0 + c, &cc);
		}
	free(px);
}
