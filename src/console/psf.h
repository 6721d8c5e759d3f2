/* PC Screen Font (PSF1 and PSF2) loading, as the Linux console uses them.
 *
 * xapi-sim draws its simulated VGA text consoles with such a font, and the
 * client recognises characters in a console framebuffer by matching cells
 * against the same glyphs, so this module depends on nothing but zlib (the
 * fonts ship gzip-compressed in /usr/share/consolefonts).
 *
 * Glyph bitmaps are stored row by row, row_bytes bytes per row, most
 * significant bit = leftmost pixel, as in the file. */
#ifndef XENTUI_PSF_H
#define XENTUI_PSF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* psf_codepoint_for() of a glyph that no code point maps to. */
#define PSF_NO_CODEPOINT 0xFFFFFFFFu

struct psf_map_entry;

/* A loaded font. The public fields are read-only; the rest is private. */
struct psf_font {
	unsigned width;           /* glyph width in pixels */
	unsigned height;          /* glyph height in pixels (rows) */
	unsigned count;           /* number of glyphs */
	unsigned row_bytes;       /* bytes per glyph row: (width + 7) / 8 */
	unsigned glyph_bytes;     /* bytes per glyph: height * row_bytes */
	unsigned char *glyphs;    /* count * glyph_bytes bytes */
	char *path;               /* where it was loaded from ("" for psf_parse) */

	/* private */
	struct psf_map_entry *map; /* sorted by code point, one entry each */
	size_t map_len;
	uint32_t *primary;        /* per glyph: see psf_codepoint_for() */
};

/* Loads a .psf or .psf.gz file (gzip is detected, plain files read as is).
 * On failure returns NULL and, if err is not NULL, sets *err to a message the
 * caller frees. A font without a unicode table maps code point i to glyph i. */
struct psf_font *psf_load(const char *path, char **err);

/* Parses an uncompressed PSF1 or PSF2 image (for tests and fuzzing). */
struct psf_font *psf_parse(const void *data, size_t len, char **err);

/* Loads the 8x16 VGA console font used for simulated consoles: the file named
 * by $XENTUI_CONSOLE_FONT if set, else the first of psf_console_font_paths()
 * that loads and is 8x16 (Lat15-VGA16 from console-setup-linux first). The
 * error names every path tried. */
struct psf_font *psf_load_console_font(char **err);

/* The NULL-terminated list of fonts psf_load_console_font() tries. */
const char *const *psf_console_font_paths(void);

/* The IBM VGA ROM font (what a PC's VGA BIOS draws text mode with, e.g.
 * SeaBIOS's boot screen) differs from the Linux console fonts in a few
 * letters ('m', 'v', the dotted '0'...). Debian ships it only split across
 * PSF files (console-data's default8x16 and iso01a-8x16, then Uni2-VGA16):
 * psf_load_vga_rom_fonts() loads those of them that exist and are 8x16 into
 * out (at most cap; the caller frees each) and returns how many. Read them
 * through psf_cp437(): only the glyphs of code page 437 are the ROM's. */
size_t psf_load_vga_rom_fonts(struct psf_font **out, size_t cap);

/* The NULL-terminated list of files psf_load_vga_rom_fonts() tries. */
const char *const *psf_vga_rom_font_paths(void);

/* The Unicode code point VGA text mode shows for byte b (code page 437, with
 * its pictures for 0x01-0x1F and 0x7F; 0 for 0). */
uint32_t psf_cp437(unsigned char b);

/* The glyph index drawn for a Unicode code point, or -1 if the font has none. */
int psf_glyph_for(const struct psf_font *f, uint32_t codepoint);

/* The bitmap of glyph index, or NULL if out of range. */
const unsigned char *psf_glyph(const struct psf_font *f, unsigned index);

/* Whether pixel (x, y) of glyph index is set; false out of range. */
bool psf_pixel(const struct psf_font *f, unsigned index, unsigned x, unsigned y);

/* The code point a glyph stands for, for recognising text: an ASCII code point
 * if one maps to it, else the first one the unicode table lists for it, else
 * PSF_NO_CODEPOINT. */
uint32_t psf_codepoint_for(const struct psf_font *f, unsigned index);

/* VGA text mode draws 9-pixel cells from 8-pixel glyphs: the 9th column is
 * blank, except for the line-drawing characters (code page 437 0xC0-0xDF),
 * where it repeats the 8th so that lines join. True for the Unicode code
 * points of those 32 characters. A reader of such a screen can use a lit
 * 9th column to tell them from look-alikes (U+2500 and U+2014 share a glyph). */
bool psf_vga_line_graphics(uint32_t codepoint);

void psf_free(struct psf_font *f);

#endif
