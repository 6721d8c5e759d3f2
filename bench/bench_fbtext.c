/* Framebuffer to text (src/fbtext.c): a full 720x400 VGA text frame, and a
 * one-line change, drawn with the console font. Best of many runs; the goal
 * of issue 7 is a full frame in at most 1 ms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fbtext.h"
#include "psf.h"
#include "util.h"

#define W 720
#define H 400
#define RUNS 500

static const uint32_t pal[16] = {
	0x000000, 0xAA0000, 0x00AA00, 0xAA5500, 0x0000AA, 0xAA00AA, 0x00AAAA, 0xAAAAAA,
	0x555555, 0xFF5555, 0x55FF55, 0xFFFF55, 0x5555FF, 0xFF55FF, 0x55FFFF, 0xFFFFFF,
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void draw(const struct psf_font *f, uint32_t *px, int col, int row, uint32_t cp, uint32_t fg, uint32_t bg)
{
	int g = psf_glyph_for(f, cp);

	if (g < 0)
		g = psf_glyph_for(f, '?');
	for (int y = 0; y < 16; y++)
		for (int x = 0; x < 9; x++) {
			bool on = x < 8 ? psf_pixel(f, (unsigned)g, (unsigned)x, (unsigned)y)
					: psf_vga_line_graphics(cp) && psf_pixel(f, (unsigned)g, 7, (unsigned)y);

			px[(row * 16 + y) * W + col * 9 + x] = on ? fg : bg;
		}
}

/* A busy screen: every cell printable, colours varying; seed varies text. */
static void screen(const struct psf_font *f, uint32_t *px, int seed)
{
	for (int r = 0; r < 25; r++)
		for (int c = 0; c < 80; c++)
			draw(f, px, c, r, (uint32_t)(0x21 + (r * 80 + c + seed) % 94), pal[7 + (r + seed) % 9],
			     pal[(c / 10) % 2 ? 1 : 0]);
}

int main(void)
{
	char *err = NULL;
	struct psf_font *font = psf_load_console_font(&err);
	struct fbtext *ft;
	uint32_t *a, *b, *c;
	double full_changed = 1e9, full_same = 1e9, line = 1e9, t;

	if (!font) {
		fprintf(stderr, "bench_fbtext: %s\n", err);
		free(err);
		return 1;
	}
	a = xmalloc(W * H * sizeof(uint32_t));
	b = xmalloc(W * H * sizeof(uint32_t));
	c = xmalloc(W * H * sizeof(uint32_t));
	screen(font, a, 0);
	screen(font, b, 1); /* every cell differs from a */
	ft = fbtext_new(font);
	fbtext_set_geometry(ft, W, H);

	for (int i = 0; i < RUNS; i++) {
		const uint32_t *px = i % 2 ? b : a;
		size_t n;

		t = now();
		n = fbtext_update(ft, px, W, 0, 0, W, H);
		t = now() - t;
		fbtext_changed_clear(ft);
		if (n != 2000 || !fbtext_is_text(ft)) {
			fprintf(stderr, "bench_fbtext: %zu cells changed, expected 2000\n", n);
			return 1;
		}
		if (t < full_changed)
			full_changed = t;
	}
	for (int i = 0; i < RUNS; i++) {
		t = now();
		fbtext_update(ft, b, W, 0, 0, W, H);
		t = now() - t;
		if (t < full_same)
			full_same = t;
	}
	/* one line: row 12 of c (a copy of b) toggles between a's and b's text */
	memcpy(c, b, W * H * sizeof(uint32_t));
	for (int i = 0; i < RUNS * 10; i++) {
		const uint32_t *src = i % 2 ? b : a;
		size_t n;

		memcpy(c + 12 * 16 * W, src + 12 * 16 * W, 16 * W * sizeof(uint32_t));
		t = now();
		n = fbtext_update(ft, c, W, 0, 12 * 16, W, 16);
		t = now() - t;
		fbtext_changed_clear(ft);
		if (n != 80) {
			fprintf(stderr, "bench_fbtext: %zu cells changed, expected 80\n", n);
			return 1;
		}
		if (t < line)
			line = t;
	}
	printf("%-38s %10s %10s\n", "framebuffer to text (720x400, 80x25)", "best", "goal");
	printf("%-38s %8.3f ms %7s ms\n", "full frame, every cell changed", full_changed * 1e3, "1.000");
	printf("%-38s %8.3f ms %10s\n", "full frame, nothing changed", full_same * 1e3, "");
	printf("%-38s %8.3f ms %10s\n", "one line (80 cells) changed", line * 1e3, "");
	fbtext_free(ft);
	free(a);
	free(b);
	free(c);
	psf_free(font);
	return 0;
}
