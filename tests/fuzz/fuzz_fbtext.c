/* libFuzzer target: reading text back from a console framebuffer must turn
 * any picture, of any size, updated in any rectangle, into cells and rows of
 * text, never a crash, a leak or undefined behaviour.
 *
 * The input is a screen described compactly, so that the fuzzer reaches the
 * recogniser with real glyphs and not only noise:
 *   8 bytes   width (2), height (2), font (1: built-in font index; bit 7 set
 *             draws 9-pixel VGA cells), rectangle for a second update (x, y:
 *             one byte each, in 1/256ths of the screen), pokes (1: how many
 *             6-byte pokes end the input)
 *   2 bytes per cell, row by row: the character's slot in the font and its
 *             colours (low nibble foreground, high nibble background)
 *   6 bytes per poke: x (2), y (2), colour (1), run length (1): a line of
 *             pixels drawn over the text after the first read (a cursor,
 *             a picture, noise)
 * Screens are kept small (at most 16384 pixels, 256x64: 32x4 cells of
 * 8x16, 2 rows of the largest font), comparisons are not traced and memcmp
 * is a word loop with one ASan check per call (fuzz_memcmp below): the
 * recogniser compares every pixel of every cell, and tracing that
 * (libFuzzer's memcmp hook most) took 4/5 of the time. -max_len=1024 holds
 * a screen's cells (227 at most, of 6x12) and 90 pokes beside them.
 * sources: src/console/fbtext.c src/console/psf.c src/core/util.c
 * packages: zlib
 * cflags: -fno-sanitize-coverage=trace-cmp -Dmemcmp=fuzz_memcmp
 * options: -max_len=1024
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_ASAN 1
#include <sanitizer/asan_interface.h>
#endif
#endif

#include "fbtext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXPIXELS (256 * 64)

static const uint32_t pal[16] = {
	0x000000, 0xAA0000, 0x00AA00, 0xAA5500, 0x0000AA, 0xAA00AA, 0x00AAAA, 0xAAAAAA,
	0x555555, 0xFF5555, 0x55FF55, 0xFFFF55, 0x5555FF, 0xFF55FF, 0x55FFFF, 0xFFFFFF,
};

int fuzz_memcmp(const void *a, const void *b, size_t n);

/* memcmp for every file of this target (see cflags), out of libFuzzer's
 * sight: both ranges checked once by ASan, then compared a word at a time
 * without per-byte instrumentation. */
__attribute__((no_sanitize("address", "coverage"))) static int cmp_words(const unsigned char *p,
									   const unsigned char *q, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t x, y;
		__builtin_memcpy(&x, p + i, 8);
		__builtin_memcpy(&y, q + i, 8);
		if (x != y)
			break;
	}
	for (; i < n; i++)
		if (p[i] != q[i])
			return p[i] - q[i];
	return 0;
}

int fuzz_memcmp(const void *a, const void *b, size_t n)
{
#ifdef FUZZ_ASAN /* FUZZ_SANITIZE may leave ASan out for speed: then no range check */
	const volatile unsigned char *bad = NULL;

	if (n && !(bad = __asan_region_is_poisoned((void *)(uintptr_t)a, n)))
		bad = __asan_region_is_poisoned((void *)(uintptr_t)b, n);
	if (bad)
		return *bad; /* an instrumented read of the first bad byte: ASan's report */
#endif
	return cmp_words(a, b, n);
}

static unsigned u16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* Draws glyph slot of font f (its bitmap, NULL for none) at cell (col, row), cw pixels wide. */
static void draw(uint32_t *px, int w, int h, const struct fbfont *f, const uint8_t *bits, int cw, int col,
		 int row, unsigned slot, uint32_t fg, uint32_t bg)
{
	int rb = (f->width + 7) / 8;

	for (int y = 0; y < f->height; y++)
		for (int x = 0; x < cw; x++) {
			int sx = x < f->width ? x : f->width - 1;
			bool on = bits && (x < f->width || (slot >= 0xC0 && slot <= 0xDF))
				  && (bits[y * rb + sx / 8] >> (7 - sx % 8) & 1);
			int X = col * cw + x, Y = row * f->height + y;
			if (X < w && Y < h)
				px[(size_t)Y * (size_t)w + (size_t)X] = (on ? fg : bg) | 0xFF000000u;
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* one recogniser for every run: its glyph tables take long to build,
	 * and a viewer too keeps one across many screens */
	static struct fbtext *ft;
	const struct fbfont *f;
	int w, h, cw, cols, rows, x0, y0;
	size_t npokes, ncells, it = 0;
	const uint8_t *cells, *pokes;
	uint32_t *px;
	char line[1024];
	const uint8_t *glyph[256] = {0};

	if (size < 8)
		return 0;
	if (!ft)
		ft = fbtext_new(NULL);
	w = 1 + (int)(u16(data) % 800);
	h = 1 + (int)(u16(data + 2) % 600);
	if ((size_t)w * (size_t)h > MAXPIXELS)
		h = MAXPIXELS / w;
	f = fbtext_builtin((data[4] & 0x7F) % fbtext_builtin_count());
	cw = (data[4] & 0x80) && f->width == 8 ? 9 : f->width;
	x0 = data[5] * w / 256;
	y0 = data[6] * h / 256;
	npokes = data[7];
	data += 8;
	size -= 8;
	if (npokes * 6 > size)
		npokes = size / 6;
	pokes = data + size - npokes * 6;
	cells = data;
	ncells = (size - npokes * 6) / 2;

	for (int i = f->count - 1; i >= 0; i--)
		if (f->slot[i] < 256)
			glyph[f->slot[i]] = f->bits + (size_t)i * (size_t)((f->width + 7) / 8 * f->height);
	px = calloc((size_t)w * (size_t)h, sizeof(*px));
	cols = w / cw;
	rows = h / f->height;
	for (size_t i = 0; i < ncells && cols > 0 && i < (size_t)cols * (size_t)rows; i++)
		draw(px, w, h, f, glyph[cells[2 * i]], cw, (int)(i % (size_t)cols), (int)(i / (size_t)cols), cells[2 * i],
		     pal[cells[2 * i + 1] & 15], pal[cells[2 * i + 1] >> 4]);

	/* a new screen, read whole */
	if (fbtext_set_geometry(ft, w, h))
		fbtext_update(ft, px, (size_t)w, 0, 0, w, h);
	fbtext_changed_clear(ft);
	/* then drawn over, and read again in a rectangle of it, as VNC updates come */
	for (size_t i = 0; i < npokes; i++) {
		const uint8_t *p = pokes + 6 * i;
		int x = (int)(u16(p) % (unsigned)w), y = (int)(u16(p + 2) % (unsigned)h);
		for (int k = 0; k <= p[5] && x + k < w; k++)
			px[(size_t)y * (size_t)w + (size_t)(x + k)] = pal[p[4] & 15] | (uint32_t)p[4] << 24;
	}
	fbtext_update(ft, px, (size_t)w, x0, y0, w - x0, h - y0);
	fbtext_update(ft, px, (size_t)w, 0, 0, w, h);

	/* everything a viewer reads back */
	for (int r = 0; r < fbtext_rows(ft); r++)
		fbtext_row_text(ft, r, line, (size_t)(r % 7 == 0 ? 3 : sizeof(line)));
	for (int c, r; fbtext_changed_next(ft, &it, &c, &r);) {
		const struct fbtext_cell *cell = fbtext_cell(ft, c, r);
		if (!cell)
			abort(); /* a changed cell must exist */
	}
	{
		int c, r;
		if (fbtext_cursor(ft, &c, &r) && !fbtext_cell(ft, c, r))
			abort(); /* the cursor is on the screen */
	}
	fbtext_unknown_fraction(ft);
	fbtext_is_text(ft);
	fbtext_font_name(ft);
	fbtext_changed_clear(ft);
	free(px);
	return 0;
}
