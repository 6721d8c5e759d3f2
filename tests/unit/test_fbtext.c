/* src/fbtext.c: text drawn into a framebuffer with the console font, cell by
 * cell as VGA text mode draws it (9th column blank, repeated for line
 * graphics), read back character for character and colour for colour. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <rfb/keysym.h>
#include <rfb/rfbclient.h>

#include "console.h"
#include "fbtext.h"
#include "psf.h"
#include "util.h"

static struct psf_font *font;

/* VGA's palette in ANSI order, as the library's colour indices count. */
static const uint32_t pal[16] = {
	0x000000, 0xAA0000, 0x00AA00, 0xAA5500, 0x0000AA, 0xAA00AA, 0x00AAAA, 0xAAAAAA,
	0x555555, 0xFF5555, 0x55FF55, 0xFFFF55, 0x5555FF, 0xFF55FF, 0x55FFFF, 0xFFFFFF,
};

struct fb {
	int w, h, cw, ch;
	uint32_t *px;
};

static void fb_init(struct fb *fb, int w, int h, int cw)
{
	fb->w = w;
	fb->h = h;
	fb->cw = cw;
	fb->ch = (int)font->height;
	fb->px = xmalloc((size_t)w * (size_t)h * sizeof(uint32_t));
	for (int i = 0; i < w * h; i++)
		fb->px[i] = pal[0] | 0xFF000000u;
}

/* Draws glyph g at cell (col, row) with the top byte of pixels set, which
 * the reader must ignore (VNC framebuffers carry junk there). */
static void draw_glyph(struct fb *fb, int col, int row, unsigned g, bool line, uint32_t fg, uint32_t bg)
{
	for (int y = 0; y < fb->ch; y++)
		for (int x = 0; x < fb->cw; x++) {
			unsigned sx = x < (int)font->width ? (unsigned)x : font->width - 1;
			bool on = (x < (int)font->width || line) && psf_pixel(font, g, sx, (unsigned)y);

			fb->px[(size_t)(row * fb->ch + y) * (size_t)fb->w + (size_t)(col * fb->cw + x)] =
				(on ? fg : bg) | 0xFF000000u;
		}
}

static void draw_cp(struct fb *fb, int col, int row, uint32_t cp, uint32_t fg, uint32_t bg)
{
	int g = psf_glyph_for(font, cp);

	assert_true(g >= 0);
	draw_glyph(fb, col, row, (unsigned)g, fb->cw > (int)font->width && psf_vga_line_graphics(cp), fg, bg);
}

static uint32_t next_cp(const char **s)
{
	const unsigned char *p = (const unsigned char *)*s;
	uint32_t cp;
	int n;

	if (p[0] < 0x80) {
		cp = p[0];
		n = 1;
	} else if (p[0] < 0xE0) {
		cp = p[0] & 0x1Fu;
		n = 2;
	} else if (p[0] < 0xF0) {
		cp = p[0] & 0x0Fu;
		n = 3;
	} else {
		cp = p[0] & 0x07u;
		n = 4;
	}
	for (int i = 1; i < n; i++)
		cp = cp << 6 | (p[i] & 0x3Fu);
	*s += n;
	return cp;
}

/* Draws a UTF-8 line from col 0; returns its length in cells. */
static int draw_line(struct fb *fb, int row, const char *s, uint32_t fg, uint32_t bg)
{
	int col = 0;

	while (*s)
		draw_cp(fb, col++, row, next_cp(&s), fg, bg);
	return col;
}

static const char *const lines[] = {
	"Debian GNU/Linux 12 debian tty1",
	"debian login: root",
	"Password:",
	"root@debian:~# ls -l /etc | grep -c '^d' && echo \"{[(<ok>)]}\" ~`!@$%^&*_+=\\;:,.?",
	"┌──────┬──────┐",
	"│ left │ right│",
	"├──────┼──────┤",
	"└──────┴──────┘",
	"░▒ café naïve Größe ±°· ÀÉÎÕÜ çñ",
};
#define NLINES (ARRAY_LEN(lines))

static struct fbtext *read_fb(const struct fb *fb)
{
	struct fbtext *ft = fbtext_new(font);

	assert_non_null(ft);
	assert_true(fbtext_set_geometry(ft, fb->w, fb->h));
	assert_int_equal(fbtext_update(ft, fb->px, (size_t)fb->w, 0, 0, fb->w, fb->h),
			 (size_t)fbtext_cols(ft) * (size_t)fbtext_rows(ft));
	return ft;
}

static void assert_row(const struct fbtext *ft, int row, const char *want)
{
	char buf[1024];

	fbtext_row_text(ft, row, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void test_text_round_trip_vga(void **state)
{
	struct fb fb;
	struct fbtext *ft;

	fb_init(&fb, 720, 400, 9);
	for (size_t i = 0; i < NLINES; i++)
		draw_line(&fb, (int)i, lines[i], pal[7], pal[0]);
	ft = read_fb(&fb);
	assert_int_equal(fbtext_cols(ft), 80);
	assert_int_equal(fbtext_rows(ft), 25);
	assert_int_equal(fbtext_cell_width(ft), 9);
	assert_int_equal(fbtext_cell_height(ft), 16);
	for (size_t i = 0; i < NLINES; i++)
		assert_row(ft, (int)i, lines[i]);
	for (int r = (int)NLINES; r < 25; r++)
		assert_row(ft, r, "");
	assert_true(fbtext_is_text(ft));
	assert_true(fbtext_unknown_fraction(ft) == 0.0);
	/* colours of a glyph cell and of a blank one */
	assert_int_equal(fbtext_cell(ft, 0, 0)->cp, 'D');
	assert_int_equal(fbtext_cell(ft, 0, 0)->fg, pal[7]);
	assert_int_equal(fbtext_cell(ft, 0, 0)->bg, pal[0]);
	assert_int_equal(fbtext_cell(ft, 0, 0)->fg16, 7);
	assert_int_equal(fbtext_cell(ft, 0, 0)->bg16, 0);
	assert_int_equal(fbtext_cell(ft, 79, 24)->cp, ' ');
	assert_int_equal(fbtext_cell(ft, 79, 24)->bg16, 0);
	/* a full block lights the whole 9x16 cell: one colour, read (as a
	 * screen can only read it) as a space on that colour */
	draw_cp(&fb, 5, 20, 0x2588, pal[14], pal[0]);
	fbtext_update(ft, fb.px, 720, 5 * 9, 20 * 16, 9, 16);
	assert_int_equal(fbtext_cell(ft, 5, 20)->cp, ' ');
	assert_int_equal(fbtext_cell(ft, 5, 20)->bg16, 14);
	assert_null(fbtext_cell(ft, 80, 0));
	assert_null(fbtext_cell(ft, 0, 25));
	fbtext_free(ft);
	free(fb.px);
}

/* Every fg/bg pair of the 16 colours (fg == bg aside), on a letter, a
 * line-drawing character and a full block, which reads back as reverse
 * video of a space-less glyph or as a one-colour cell. */
static void test_all_colours_and_reverse_video(void **state)
{
	struct fb fb;
	struct fbtext *ft;

	fb_init(&fb, 720, 400, 9);
	for (int f = 0; f < 16; f++)
		for (int b = 0; b < 16; b++) {
			int col = b * 4, row = f;

			if (f == b)
				continue;
			draw_cp(&fb, col, row, 'g', pal[f], pal[b]);
			draw_cp(&fb, col + 1, row, 0x253C /* ┼ */, pal[f], pal[b]);
			draw_cp(&fb, col + 2, row, 'M', pal[b], pal[f]); /* reverse video */
		}
	ft = read_fb(&fb);
	for (int f = 0; f < 16; f++)
		for (int b = 0; b < 16; b++) {
			const struct fbtext_cell *c;

			if (f == b)
				continue;
			c = fbtext_cell(ft, b * 4, f);
			assert_int_equal(c->cp, 'g');
			assert_int_equal(c->fg, pal[f]);
			assert_int_equal(c->bg, pal[b]);
			assert_int_equal(c->fg16, f);
			assert_int_equal(c->bg16, b);
			c = fbtext_cell(ft, b * 4 + 1, f);
			assert_int_equal(c->cp, 0x253C);
			assert_int_equal(c->fg16, f);
			assert_int_equal(c->bg16, b);
			c = fbtext_cell(ft, b * 4 + 2, f);
			assert_int_equal(c->cp, 'M');
			assert_int_equal(c->fg16, b);
			assert_int_equal(c->bg16, f);
		}
	fbtext_free(ft);
	free(fb.px);
}

/* (Lat15-VGA16, the default font, draws double lines and half blocks with
 * other glyphs or not at all, so the lines above keep to what it has.) */

/* Every glyph of the font, in 9- and 8-wide cells: the cell read back, drawn
 * again from what was read, gives the very same pixels (glyphs that share a
 * bitmap read as one code point; that is all a screen can tell). */
static void check_every_glyph(int w, int h, int cw)
{
	struct fb fb, again;
	struct fbtext *ft = fbtext_new(font);
	int cols = w / cw, rows = h / (int)font->height, drawn = 0, as_ascii = 0;
	uint32_t *cps = xcalloc((size_t)cols * (size_t)rows, sizeof(*cps));

	fb_init(&fb, w, h, cw);
	fb_init(&again, w, h, cw);
	for (unsigned g = 0; g < font->count; g++) {
		uint32_t cp = psf_codepoint_for(font, g);

		if (cp == PSF_NO_CODEPOINT || cp == 0)
			continue;
		assert_true(drawn < cols * rows);
		draw_cp(&fb, drawn % cols, drawn / cols, cp, pal[(drawn % 15) + 1], pal[0]);
		cps[drawn++] = cp;
	}
	assert_true(drawn > 200);
	assert_true(fbtext_set_geometry(ft, w, h));
	fbtext_update(ft, fb.px, (size_t)w, 0, 0, w, h);
	assert_true(fbtext_unknown_fraction(ft) == 0.0);
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < cols; c++) {
			const struct fbtext_cell *cell = fbtext_cell(ft, c, r);
			uint32_t cp = cell->cp, want = cps[r * cols + c];

			/* a glyph drawn like a VGA ROM ASCII one reads as that ASCII
			 * ('¦' is the ROM's '|'): the one allowed difference */
			if (cp != want && want && cp >= 0x20 && cp < 0x7F && want >= 0x80) {
				as_ascii++;
				cp = want;
			}
			draw_cp(&again, c, r, cp, cell->fg, cell->bg);
		}
	assert_memory_equal(fb.px, again.px, (size_t)w * (size_t)h * sizeof(uint32_t));
	if (as_ascii > 8)
		fail_msg("%d glyphs read as ASCII look-alikes", as_ascii);
	free(cps);
	fbtext_free(ft);
	free(fb.px);
	free(again.px);
}

static void test_every_glyph_vga(void **state)
{
	check_every_glyph(720, 400, 9);
}

static void test_every_glyph_640x480(void **state)
{
	check_every_glyph(640, 480, 8);
}

/* Recognition by the nearest glyph: a glyph with a few pixels flipped
 * still reads (a font that differs by a few pixels), while random pixels
 * and a two-colour picture (a checkerboard) far from every glyph read as
 * no character. */
static void test_near_and_garbage_cells(void **state)
{
	struct fb fb;
	struct fbtext *ft;
	char buf[256];
	unsigned seed = 7;

	fb_init(&fb, 720, 400, 9);
	draw_line(&fb, 3, "abc def", pal[7], pal[0]);
	for (int y = 0; y < 16; y++) /* cell (1, 3): random pixels over 'b' */
		for (int x = 0; x < 9; x++)
			fb.px[(size_t)(3 * 16 + y) * 720 + (size_t)(9 + x)] = (uint32_t)rand_r(&seed) & 0xFFFFFF;
	/* cell (5, 3): 'e' with a dot more; cell (6, 3): 'f' with three pixels flipped */
	fb.px[(size_t)(3 * 16 + 0) * 720 + 5 * 9 + 4] = pal[7];
	for (int k = 0; k < 3; k++) {
		uint32_t *px = &fb.px[(size_t)(3 * 16 + 2 + 5 * k) * 720 + 6 * 9 + 1 + 2 * k];

		*px = *px == pal[7] ? pal[0] : pal[7];
	}
	for (int y = 0; y < 16; y++) /* cell (7, 3): a checkerboard */
		for (int x = 0; x < 9; x++)
			fb.px[(size_t)(3 * 16 + y) * 720 + (size_t)(7 * 9 + x)] = (x + y) % 2 ? pal[7] : pal[0];
	ft = read_fb(&fb);
	assert_int_equal(fbtext_cell(ft, 1, 3)->cp, FBTEXT_UNKNOWN);
	assert_int_equal(fbtext_cell(ft, 5, 3)->cp, 'e');
	assert_int_equal(fbtext_cell(ft, 5, 3)->fg, pal[7]);
	assert_int_equal(fbtext_cell(ft, 6, 3)->cp, 'f');
	assert_int_equal(fbtext_cell(ft, 7, 3)->cp, FBTEXT_UNKNOWN);
	assert_int_equal(fbtext_cell(ft, 0, 3)->cp, 'a');
	assert_int_equal(fbtext_cell(ft, 2, 3)->cp, 'c');
	fbtext_row_text(ft, 3, buf, sizeof(buf));
	assert_string_equal(buf, "a\xEF\xBF\xBD" "c def\xEF\xBF\xBD");
	assert_true(fbtext_is_text(ft)); /* two unknown cells of 2000 */
	assert_true(fbtext_unknown_fraction(ft) > 0.0);
	fbtext_free(ft);
	free(fb.px);
}

static void test_geometry(void **state)
{
	struct fbtext *ft = fbtext_new(font);
	static const struct {
		int w, h, cols, rows, cw;
	} cases[] = {
		{720, 400, 80, 25, 9}, {640, 480, 80, 30, 8}, {640, 400, 80, 25, 8},
		{1024, 768, 128, 48, 8}, {1280, 1024, 160, 64, 8}, {738, 400, 82, 25, 9},
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		assert_true(fbtext_set_geometry(ft, cases[i].w, cases[i].h));
		assert_int_equal(fbtext_cols(ft), cases[i].cols);
		assert_int_equal(fbtext_rows(ft), cases[i].rows);
		assert_int_equal(fbtext_cell_width(ft), cases[i].cw);
		assert_int_equal(fbtext_cell_height(ft), 16);
		assert_false(fbtext_is_text(ft)); /* nothing read yet */
	}
	/* a framebuffer console leaves the width's rest as a margin */
	assert_true(fbtext_set_geometry(ft, 1023, 768));
	assert_int_equal(fbtext_cols(ft), 127);
	assert_int_equal(fbtext_rows(ft), 48);
	assert_false(fbtext_set_geometry(ft, 0, 0));
	assert_int_equal(fbtext_rows(ft), 0);
	assert_int_equal(fbtext_cols(ft), 0);
	assert_false(fbtext_is_text(ft));
	assert_false(fbtext_set_geometry(ft, 5, 5)); /* no font is that small */
	fbtext_free(ft);
}

static void test_text_640x480(void **state)
{
	struct fb fb;
	struct fbtext *ft;

	fb_init(&fb, 640, 480, 8);
	for (size_t i = 0; i < 4; i++) /* the ASCII lines */
		draw_line(&fb, (int)i * 7, lines[i], pal[10], pal[4]);
	draw_line(&fb, 29, "last line of 30 café", pal[15], pal[1]);
	ft = read_fb(&fb);
	assert_int_equal(fbtext_cols(ft), 80);
	assert_int_equal(fbtext_rows(ft), 30);
	for (size_t i = 0; i < 4; i++)
		assert_row(ft, (int)i * 7, lines[i]);
	assert_row(ft, 29, "last line of 30 café");
	assert_int_equal(fbtext_cell(ft, 0, 29)->fg16, 15);
	assert_int_equal(fbtext_cell(ft, 0, 29)->bg16, 1);
	assert_int_equal(fbtext_cell(ft, 0, 0)->fg16, 10);
	assert_int_equal(fbtext_cell(ft, 0, 0)->bg16, 4);
	fbtext_free(ft);
	free(fb.px);
}

/* A one-line change, updated with a rectangle over that line: only the cells
 * whose character or colours changed are reported, and nothing elsewhere. */
static void test_partial_update(void **state)
{
	struct fb fb;
	struct fbtext *ft;
	const char *before = "root@debian:~# uptime", *after = "root@debian:~# uname -a";
	size_t it = 0, n;
	int col, row, seen = 0;

	fb_init(&fb, 720, 400, 9);
	for (size_t i = 0; i < NLINES; i++)
		draw_line(&fb, (int)i, lines[i], pal[7], pal[0]);
	draw_line(&fb, 12, before, pal[7], pal[0]);
	ft = read_fb(&fb);
	assert_int_equal(fbtext_changed_count(ft), 2000);
	fbtext_changed_clear(ft);
	assert_int_equal(fbtext_changed_count(ft), 0);

	/* nothing changed: an update reports nothing */
	assert_int_equal(fbtext_update(ft, fb.px, 720, 0, 0, 720, 400), 0);
	assert_int_equal(fbtext_changed_count(ft), 0);

	draw_line(&fb, 12, after, pal[7], pal[0]);
	draw_cp(&fb, 30, 12, 'X', pal[12], pal[0]); /* a colour change too */
	n = fbtext_update(ft, fb.px, 720, 0, 12 * 16, 720, 16);
	/* "uptime" -> "uname -a" differs at cols 16-22; plus col 30 */
	assert_int_equal(n, 8);
	assert_int_equal(fbtext_changed_count(ft), 8);
	while (fbtext_changed_next(ft, &it, &col, &row)) {
		assert_int_equal(row, 12);
		assert_true((col >= 16 && col <= 22) || col == 30);
		seen++;
	}
	assert_int_equal(seen, 8);
	assert_row(ft, 12, "root@debian:~# uname -a       X");
	assert_int_equal(fbtext_cell(ft, 30, 12)->fg16, 12);
	/* a repeated update of the same cells does not list them twice */
	draw_cp(&fb, 30, 12, 'Y', pal[12], pal[0]);
	assert_int_equal(fbtext_update(ft, fb.px, 720, 30 * 9 + 3, 12 * 16 + 2, 1, 1), 1);
	assert_int_equal(fbtext_changed_count(ft), 8);
	fbtext_changed_clear(ft);
	/* rectangles past the edges are clipped */
	assert_int_equal(fbtext_update(ft, fb.px, 720, -50, -50, 2000, 2000), 0);
	assert_int_equal(fbtext_update(ft, fb.px, 720, 720, 0, 10, 10), 0);
	fbtext_free(ft);
	free(fb.px);
}

static void draw_cursor(struct fb *fb, int col, int row, uint32_t fg)
{
	for (int y = fb->ch - 2; y < fb->ch; y++)
		for (int x = 0; x < fb->cw; x++)
			fb->px[(size_t)(row * fb->ch + y) * (size_t)fb->w + (size_t)(col * fb->cw + x)] = fg;
}

/* VGA's underline cursor over a blank and over a letter: the character is
 * still read, and the cursor's place reported and followed as it moves. */
static void test_cursor(void **state)
{
	struct fb fb;
	struct fbtext *ft;
	int col = -1, row = -1;

	fb_init(&fb, 720, 400, 9);
	draw_line(&fb, 2, "root@debian:~# ", pal[7], pal[0]);
	draw_cursor(&fb, 15, 2, pal[7]);
	ft = read_fb(&fb);
	assert_true(fbtext_cursor(ft, &col, &row));
	assert_int_equal(col, 15);
	assert_int_equal(row, 2);
	assert_true(fbtext_cell(ft, 15, 2)->cursor);
	assert_int_equal(fbtext_cell(ft, 15, 2)->cp, ' ');
	assert_int_equal(fbtext_cell(ft, 15, 2)->fg16, 7);
	assert_row(ft, 2, "root@debian:~#");
	assert_true(fbtext_unknown_fraction(ft) == 0.0);

	/* the cursor moves back over the '#' */
	draw_cp(&fb, 15, 2, ' ', pal[7], pal[0]);
	draw_cursor(&fb, 13, 2, pal[7]);
	fbtext_changed_clear(ft);
	assert_int_equal(fbtext_update(ft, fb.px, 720, 0, 32, 720, 16), 2);
	assert_true(fbtext_cursor(ft, &col, &row));
	assert_int_equal(col, 13);
	assert_int_equal(fbtext_cell(ft, 13, 2)->cp, '#');
	assert_false(fbtext_cell(ft, 15, 2)->cursor);
	assert_row(ft, 2, "root@debian:~#");

	/* and goes away */
	draw_cp(&fb, 13, 2, '#', pal[7], pal[0]);
	fbtext_update(ft, fb.px, 720, 13 * 9, 32, 9, 16);
	assert_false(fbtext_cursor(ft, &col, &row));
	fbtext_free(ft);
	free(fb.px);
}

static void test_graphics_is_not_text(void **state)
{
	struct fb fb;
	struct fbtext *ft;
	unsigned seed = 42;

	fb_init(&fb, 720, 400, 9);
	for (int i = 0; i < 720 * 400; i++)
		fb.px[i] = (uint32_t)rand_r(&seed) & 0xFFFFFF;
	ft = read_fb(&fb);
	assert_false(fbtext_is_text(ft));
	assert_true(fbtext_unknown_fraction(ft) > 0.99);
	/* a smooth gradient (a desktop background) is not text either */
	for (int y = 0; y < 400; y++)
		for (int x = 0; x < 720; x++)
			fb.px[y * 720 + x] = (uint32_t)(x * 255 / 719) << 16 | (uint32_t)(y * 255 / 399);
	fbtext_update(ft, fb.px, 720, 0, 0, 720, 400);
	assert_false(fbtext_is_text(ft));
	fbtext_free(ft);
	free(fb.px);
}

/* Draws cp437 byte b at (col, row) as VGA text mode does with font f;
 * false (nothing drawn) if f has no glyph for it. */
static bool draw_vga(struct fb *fb, const struct psf_font *f, int col, int row, unsigned char b)
{
	uint32_t cp = psf_cp437(b);
	int g = psf_glyph_for(f, cp);

	if (g < 0)
		return false;
	for (int y = 0; y < fb->ch; y++)
		for (int x = 0; x < fb->cw; x++) {
			bool on = x < 8 ? psf_pixel(f, (unsigned)g, (unsigned)x, (unsigned)y)
				       : psf_vga_line_graphics(cp) && psf_pixel(f, (unsigned)g, 7, (unsigned)y);

			fb->px[(size_t)(row * fb->ch + y) * (size_t)fb->w + (size_t)(col * fb->cw + x)] =
				(on ? pal[7] : pal[0]) | 0xFF000000u;
		}
	return true;
}

/* A PC BIOS's screen (SeaBIOS under QEMU) is drawn with the IBM VGA ROM
 * font, not the console font: its 'm', 'v', '0'... read exactly too, and
 * the VGA BIOS's cursor (scan lines 13-14 of 16) is seen; its broken-bar
 * '|' reads as '|' (not Lat15's look-alike U+00A6). Every code page
 * 437 glyph of each ROM font file reads as something, ASCII as itself
 * (each file has all of ASCII). */
static void test_vga_rom_font(void **state)
{
	struct psf_font *vga[4];
	size_t n = psf_load_vga_rom_fonts(vga, 4);
	const char *banner = "SeaBIOS (version 1.16.0-debian) mv 0 | more";
	struct fb fb;
	struct fbtext *ft;
	int col = -1, row = -1, i = 0;

	assert_true(n >= 2); /* console-data's default8x16 and iso01a-8x16 */
	fb_init(&fb, 720, 400, 9);
	for (const char *c = banner; *c; c++, i++) /* the dotted zero from iso01a */
		assert_true(draw_vga(&fb, vga[*c == '0' ? 1 : 0], i, 0, (unsigned char)*c));
	for (int y = 13; y < 15; y++)
		for (int x = 0; x < 9; x++)
			fb.px[(size_t)(16 + y) * 720 + (size_t)x] = pal[7];
	for (size_t k = 0; k < n; k++)
		for (unsigned b = 1; b < 255; b++)
			draw_vga(&fb, vga[k], (int)(b % 80), 2 + (int)(k * 4 + b / 80), (unsigned char)b);
	ft = read_fb(&fb);
	assert_row(ft, 0, banner);
	assert_true(fbtext_cursor(ft, &col, &row));
	assert_int_equal(col, 0);
	assert_int_equal(row, 1);
	assert_int_equal(fbtext_cell(ft, 0, 1)->cp, ' ');
	assert_true(fbtext_unknown_fraction(ft) == 0.0);
	for (size_t k = 0; k < n; k++)
		for (unsigned b = 0x21; b < 0x7F; b++)
			/* '|' too: the ROM's broken bar is Lat15's U+00A6, and ASCII wins */
			assert_int_equal(fbtext_cell(ft, (int)(b % 80), 2 + (int)(k * 4 + b / 80))->cp, b);
	fbtext_free(ft);
	free(fb.px);
	for (size_t k = 0; k < n; k++)
		psf_free(vga[k]);
}

/* ---- the built-in fonts -------------------------------------------------- */

static bool builtin_pixel(const struct fbfont *f, int g, int x, int y)
{
	int rb = (f->width + 7) / 8;

	return x < f->width && f->bits[((size_t)g * (size_t)f->height + (size_t)y) * (size_t)rb + (size_t)(x / 8)] &
				       (0x80 >> (x % 8));
}

static bool builtin_same(const struct fbfont *f, int a, const struct fbfont *o, int b)
{
	size_t n = (size_t)f->height * (size_t)((f->width + 7) / 8);

	return f->width == o->width && f->height == o->height &&
	       memcmp(f->bits + (size_t)a * n, o->bits + (size_t)b * n, n) == 0;
}

/* Whether some built-in font draws glyph g of f as cp. */
static bool drawn_as(const struct fbfont *f, int g, uint32_t cp)
{
	for (size_t k = 0; k < fbtext_builtin_count(); k++) {
		const struct fbfont *o = fbtext_builtin(k);

		for (int i = 0; i < o->count; i++)
			if (o->cp[i] == cp && builtin_same(f, g, o, i))
				return true;
	}
	return false;
}

/* Every glyph of built-in font f standing for printable ASCII or Latin-1,
 * drawn in cells cw wide (a 9th column blank: VGA text mode, 720 pixels
 * wide) on a screen nothing else is told about, reads back as its
 * character; or, where the font draws two characters alike, as the other
 * (a screen cannot tell them apart), and where any font draws it as an
 * ASCII character, as that (a console's look-alike is far likelier ASCII:
 * the VGA ROM's '|' is Lat15's '¦'). Returns how many glyphs were drawn. */
static int check_builtin(const struct fbfont *f, int cw, int *alike)
{
	int cols = cw == 9 ? 80 : 100, w = cols * cw, n = 0, rows, h, bad = 0;
	int *gl = xmalloc((size_t)f->count * sizeof(*gl));
	uint32_t *px;
	struct fbtext *ft = fbtext_new(NULL);

	for (int g = 0; g < f->count; g++) {
		uint32_t cp = f->cp[g];
		bool dup = false;

		if (!((cp > 0x20 && cp < 0x7F) || (cp > 0xA0 && cp <= 0xFF)))
			continue;
		for (int k = 0; k < n && !dup; k++)
			dup = f->cp[gl[k]] == cp;
		if (!dup)
			gl[n++] = g;
	}
	rows = n / cols + 2;
	h = rows * f->height;
	if (cw == 9 && h < 400)
		h = 400 / f->height * f->height;
	px = xmalloc((size_t)w * (size_t)h * sizeof(*px));
	for (int i = 0; i < w * h; i++)
		px[i] = pal[1];
	for (int k = 0; k < n; k++)
		for (int y = 0; y < f->height; y++)
			for (int x = 0; x < cw; x++)
				px[(size_t)((k / cols) * f->height + y) * (size_t)w + (size_t)((k % cols) * cw + x)] =
					builtin_pixel(f, gl[k], x, y) ? pal[7 + k % 8] : pal[1];
	assert_true(fbtext_set_geometry(ft, w, h));
	fbtext_update(ft, px, (size_t)w, 0, 0, w, h);
	if (fbtext_cell_width(ft) != cw || fbtext_cell_height(ft) != f->height)
		fail_msg("%s: read in %dx%d cells, drawn in %dx%d", f->name, fbtext_cell_width(ft),
			 fbtext_cell_height(ft), cw, f->height);
	for (int k = 0; k < n; k++) {
		uint32_t want = f->cp[gl[k]], got = fbtext_cell(ft, k % cols, k / cols)->cp;
		bool same = false;

		for (int g = 0; got != want && g < f->count && !same; g++)
			same = f->cp[g] == got && builtin_same(f, g, f, gl[k]);
		if (got != want && !same && got < 0x80)
			same = drawn_as(f, gl[k], got);
		if (got == want)
			continue;
		if (same) {
			(*alike)++;
			continue;
		}
		print_error("%s (%d-wide cells): U+%04X read as U+%04X\n", f->name, cw, (unsigned)want, (unsigned)got);
		bad++;
	}
	assert_int_equal(bad, 0);
	fbtext_free(ft);
	free(px);
	free(gl);
	return n;
}

static void test_every_builtin_font(void **state)
{
	int fonts = 0, alike = 0;

	for (size_t k = 0; k < fbtext_builtin_count(); k++) {
		const struct fbfont *f = fbtext_builtin(k);
		int n = check_builtin(f, f->width, &alike);

		assert_true(n >= 94); /* all of ASCII, and Latin-1 where the font has it */
		if (f->width == 8)
			check_builtin(f, 9, &alike);
		fonts++;
	}
	/* Linux's two, the ROM's, console-setup's, latarcyrheb-sun16, lat9w-16 */
	assert_true(fonts >= 20);
	assert_true(alike < 40);
}

/* The fonts the issue names are built in, Linux's own included. */
static void test_builtin_fonts_named(void **state)
{
	static const char *const want[] = {
		"Linux VGA8x16", "Linux VGA8x8", "VGA ROM", "Lat15-Fixed16", "Lat15-Terminus16", "Lat15-VGA16",
		"latarcyrheb-sun16", "Lat15-Terminus32x16", "Lat15-Terminus12x6",
	};

	for (size_t i = 0; i < ARRAY_LEN(want); i++) {
		bool found = false;

		for (size_t k = 0; k < fbtext_builtin_count() && !found; k++)
			found = strcmp(fbtext_builtin(k)->name, want[i]) == 0;
		if (!found)
			fail_msg("%s is not built in (scripts/embed-fonts.py)", want[i]);
	}
}

static void test_nearest_colours(void **state)
{
	for (int i = 0; i < 16; i++)
		assert_int_equal(fbtext_nearest16(pal[i]), i);
	assert_int_equal(fbtext_nearest16(0xFF4040), 9);  /* bright red */
	assert_int_equal(fbtext_nearest16(0xFE0101), 1);  /* nearer VGA red than bright red */
	assert_int_equal(fbtext_nearest16(0x0000B0), 4);  /* blue */
	assert_int_equal(fbtext_nearest256(0xFF0000), 196);
	assert_int_equal(fbtext_nearest256(0x000000), 16);
	assert_int_equal(fbtext_nearest256(0xFFFFFF), 231);
	assert_int_equal(fbtext_nearest256(0x808080), 244);
	assert_int_equal(fbtext_nearest256(0x5F87AF), 16 + 36 * 1 + 6 * 2 + 3);
}

/* ---- end to end: xapi-sim's console through libvncclient ---------------- */

#define WAIT_MS 15000 /* generous: ASan on a loaded machine */

struct live {
	int fds[2];
	pthread_t thread;
	struct sim_console_info info;
	rfbClient *client;
	struct fbtext *ft;
	GotCopyRectProc lib_copy_rect;
};

static int live_tag;

static void *serve_thread(void *arg)
{
	struct live *l = arg;

	sim_console_serve(l->fds[0], &l->info);
	return NULL;
}

/* As a viewer uses the library: each rectangle the server sends is
 * re-recognised, nothing else. */
static void live_update(rfbClient *cl, int x, int y, int w, int h)
{
	struct live *l = rfbClientGetClientData(cl, &live_tag);

	fbtext_update(l->ft, (const uint32_t *)cl->frameBuffer, (size_t)cl->width, x, y, w, h);
}

static void live_copy_rect(rfbClient *cl, int sx, int sy, int w, int h, int dx, int dy)
{
	struct live *l = rfbClientGetClientData(cl, &live_tag);

	l->lib_copy_rect(cl, sx, sy, w, h, dx, dy);
	live_update(cl, dx, dy, w, h);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Handles server messages until row reads want (and, if want_cursor, the
 * cursor sits right after it), or the time is up. */
static bool live_wait_row(struct live *l, int row, const char *want, bool want_cursor)
{
	long deadline = now_ms() + WAIT_MS;
	char buf[512];

	for (;;) {
		int col, r, n;

		fbtext_row_text(l->ft, row, buf, sizeof(buf));
		if (!strcmp(buf, want) && (!want_cursor || (fbtext_cursor(l->ft, &col, &r) && r == row &&
							    col == (int)strlen(want) + 1)))
			return true;
		if (now_ms() > deadline) {
			print_message("# row %d reads \"%s\", want \"%s\"\n", row, buf, want);
			return false;
		}
		n = l->client->buffered > 0 ? 1 : WaitForMessage(l->client, 50000);
		if (n < 0 || (n > 0 && !HandleRFBServerMessage(l->client)))
			return false;
	}
}

static void test_sim_console_end_to_end(void **state)
{
	struct live l;
	char *argv[] = {(char *)"test_fbtext", NULL};
	int argc = 1, row = -1;
	struct fbtext *full;
	char a[512], b[512];
	struct timespec ts;

	memset(&l, 0, sizeof(l));
	l.info.title = "web01";
	l.info.hostname = "web01";
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, l.fds), 0);
	assert_int_equal(pthread_create(&l.thread, NULL, serve_thread, &l), 0);
	l.ft = fbtext_new(font);
	l.client = rfbGetClient(8, 3, 4);
	l.client->sock = l.fds[1];
	l.client->listenSpecified = TRUE; /* already connected: handshake on sock */
	l.client->appData.enableJPEG = FALSE;
	l.client->readTimeout = 10;
	/* 0x00RRGGBB in memory order of a little-endian uint32 */
	l.client->format.redShift = 16;
	l.client->format.greenShift = 8;
	l.client->format.blueShift = 0;
	l.client->format.redMax = l.client->format.greenMax = l.client->format.blueMax = 255;
	l.client->GotFrameBufferUpdate = live_update;
	l.lib_copy_rect = l.client->GotCopyRect;
	l.client->GotCopyRect = live_copy_rect;
	rfbClientSetClientData(l.client, &live_tag, &l);
	if (!rfbInitClient(l.client, &argc, argv)) {
		l.client = NULL;
		fail_msg("rfbInitClient failed");
	}
	assert_int_equal(l.client->width, 720);
	assert_int_equal(l.client->height, 400);
	assert_true(fbtext_set_geometry(l.ft, l.client->width, l.client->height));

	assert_true(live_wait_row(&l, 0, "Debian GNU/Linux 12 web01 tty1", false));
	for (int r = 0; r < fbtext_rows(l.ft) && row < 0; r++) {
		fbtext_row_text(l.ft, r, a, sizeof(a));
		if (!strcmp(a, "root@web01:~#"))
			row = r;
	}
	assert_true(row > 0);
	assert_true(live_wait_row(&l, row, "root@web01:~#", true));
	assert_int_equal(fbtext_cell(l.ft, 0, 0)->fg, 0xAAAAAA); /* VGA light grey on black */
	assert_int_equal(fbtext_cell(l.ft, 0, 0)->fg16, 7);
	assert_int_equal(fbtext_cell(l.ft, 0, 0)->bg16, 0);
	assert_true(fbtext_is_text(l.ft));

	/* type a command, read its answer and the next prompt */
	for (const char *k = "hostname"; *k; k++)
		assert_true(SendKeyEvent(l.client, (uint32_t)*k, TRUE) && SendKeyEvent(l.client, (uint32_t)*k, FALSE));
	assert_true(SendKeyEvent(l.client, XK_Return, TRUE) && SendKeyEvent(l.client, XK_Return, FALSE));
	assert_true(live_wait_row(&l, row + 2, "root@web01:~#", true));
	assert_true(live_wait_row(&l, row, "root@web01:~# hostname", false));
	assert_true(live_wait_row(&l, row + 1, "web01", false));

	/* what the updates built up equals a fresh reading of the framebuffer */
	full = fbtext_new(font);
	assert_true(fbtext_set_geometry(full, 720, 400));
	fbtext_update(full, (const uint32_t *)l.client->frameBuffer, 720, 0, 0, 720, 400);
	for (int r = 0; r < 25; r++) {
		fbtext_row_text(l.ft, r, a, sizeof(a));
		fbtext_row_text(full, r, b, sizeof(b));
		assert_string_equal(a, b);
	}
	fbtext_free(full);

	free(l.client->frameBuffer); /* rfbClientCleanup leaves it to us */
	rfbClientCleanup(l.client);  /* closes fds[1]: the server ends */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_MS / 1000;
	assert_int_equal(pthread_timedjoin_np(l.thread, NULL, &ts), 0);
	fbtext_free(l.ft);
}

/* libvncclient logs every handshake step; errors still go to stderr. */
static void quiet_log(const char *fmt, ...)
{
}

static int setup(void **state)
{
	char *err = NULL;

	rfbClientLog = quiet_log;

	font = psf_load_console_font(&err);
	if (!font) {
		print_error("no console font: %s\n", err);
		free(err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	psf_free(font);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_round_trip_vga),
		cmocka_unit_test(test_all_colours_and_reverse_video),
		cmocka_unit_test(test_every_glyph_vga),
		cmocka_unit_test(test_every_glyph_640x480),
		cmocka_unit_test(test_near_and_garbage_cells),
		cmocka_unit_test(test_geometry),
		cmocka_unit_test(test_text_640x480),
		cmocka_unit_test(test_partial_update),
		cmocka_unit_test(test_cursor),
		cmocka_unit_test(test_graphics_is_not_text),
		cmocka_unit_test(test_vga_rom_font),
		cmocka_unit_test(test_nearest_colours),
		cmocka_unit_test(test_every_builtin_font),
		cmocka_unit_test(test_builtin_fonts_named),
		cmocka_unit_test(test_sim_console_end_to_end),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
