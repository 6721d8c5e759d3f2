/* Reading text back from a console framebuffer (issues 7 and 14).
 *
 * A VM's text console reaches the client as pixels (VNC); this module finds
 * the character grid, recognises every cell against the glyphs of the fonts
 * guests really use, and keeps, per cell, the code point and colours, so
 * that a viewer can show real, copyable text and redraw only the cells that
 * changed.
 *
 * The fonts are built in (scripts/embed-fonts.py, from Debian's font
 * packages and kernel image at build time: no font file is read at run
 * time): Linux's own VGA8x16 and VGA8x8, the IBM VGA ROM font a PC BIOS
 * draws with, console-setup's Lat15 Fixed, VGA and Terminus fonts in every
 * size, latarcyrheb-sun16 and lat9w-16; plus the font given to
 * fbtext_new(), if any, first. Fonts of one glyph size share a table.
 *
 * A cell's two colours split it into a 1-bit pattern, looked up exactly in
 * the table (one hash lookup); for 9-pixel VGA text cells each glyph is
 * there with its 9th column blank and, for line graphics (code page 437
 * 0xC0-0xDF) and the slots QEMU widens (0xB0-0xDF), repeating the 8th. A
 * pattern no glyph has exactly is matched to the nearest glyph (Hamming
 * distance) of the font the screen shows most (voted by exact matches),
 * accepted within about one pixel in twenty and only if no other character
 * is as near; beyond that the cell is unknown (U+FFFD).
 *
 * The cell size is picked by what the screen shows: 720-pixel-wide screens
 * are VGA text mode (9-pixel cells), others a framebuffer console (cells of
 * the font's size from the top-left corner, any margin right and below);
 * while too many cells read as nothing, each font size is tried on the
 * whole screen and the one that recognises the most wins.
 *
 * Pixels are 32 bits, 0x00RRGGBB (the top byte is ignored). Not thread-safe. */
#ifndef XENTUI_FBTEXT_H
#define XENTUI_FBTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "psf.h"

/* fbtext_cell()->cp of a cell that matches no glyph (graphics, or a cursor
 * drawn over a glyph). fbtext_row_text() shows it as U+FFFD. */
#define FBTEXT_UNKNOWN 0xFFFFFFFFu

struct fbtext_cell {
	uint32_t cp;        /* Unicode code point, or FBTEXT_UNKNOWN */
	uint32_t fg, bg;    /* 0xRRGGBB; a one-colour cell is a space with fg == bg */
	uint8_t fg16, bg16; /* nearest of the 16 standard terminal colours (ANSI order: 0 black, 1 red, ..., 8-15 bright) */
	uint8_t fg256, bg256; /* nearest xterm 256-colour index (16-255: colour cube and grey ramp) */
	bool cursor;          /* an underline cursor (the last two scan lines lit across the cell) is drawn here */
};

struct fbtext;

/* A recogniser for text drawn with the built-in fonts and font (borrowed:
 * it must outlive the recogniser; NULL for the built-in ones only), which
 * comes first where two fonts draw one bitmap. NULL if font is unusable
 * (wider than 16 or taller than 32 pixels). No geometry until
 * fbtext_set_geometry(). */
struct fbtext *fbtext_new(const struct psf_font *font);
void fbtext_free(struct fbtext *ft);

/* Sets the framebuffer size and a first character grid: the font given to
 * fbtext_new() (else 8x16) in cells 9 wide on a 720-pixel-wide screen (VGA
 * text mode: 720x400 is 80x25) or when only 9 divides the width, else of
 * the font's size; fbtext_update() may then pick another size by what the
 * screen shows. Returns false ("not text": rows and cols 0) if no cell fits.
 * Every cell is reset to an unknown state, so the next full update reports
 * all of them (a later change of cell size does the same). */
bool fbtext_set_geometry(struct fbtext *ft, int width, int height);

int fbtext_cols(const struct fbtext *ft);
int fbtext_rows(const struct fbtext *ft);
int fbtext_cell_width(const struct fbtext *ft);
int fbtext_cell_height(const struct fbtext *ft);

/* Re-recognises the cells that rectangle (x, y, w, h) touches. pixels is the
 * whole framebuffer (width x height of the geometry), stride its row length
 * in pixels. Cells whose content or colours differ from before are added to
 * the changed set. Returns how many cells changed. */
size_t fbtext_update(struct fbtext *ft, const uint32_t *pixels, size_t stride, int x, int y, int w, int h);

/* The cell at (col, row), or NULL out of range. */
const struct fbtext_cell *fbtext_cell(const struct fbtext *ft, int col, int row);

/* Row row as UTF-8, trailing spaces cut, NUL-terminated and truncated (on a
 * character boundary) to fit cap. Returns the length written. */
size_t fbtext_row_text(const struct fbtext *ft, int row, char *buf, size_t cap);

/* Appends code point cp as UTF-8 at buf + *len (advancing *len), keeping
 * one byte of cap free for the NUL; *end follows *len past anything but a
 * space, so that buf[*end] = '\0' cuts trailing spaces. False, nothing
 * written, when it does not fit. For fbtext_row_text() and the console's
 * scrollback. */
bool fbtext_put_utf8(char *buf, size_t cap, size_t *len, size_t *end, uint32_t cp);

/* Where an underline cursor was last seen (VGA text mode's: two scan lines
 * lit across the cell's width in the foreground colour, either the last two
 * (Linux) or the two above the last (the VGA BIOS's default, as SeaBIOS
 * sets it); the character is then read from the other rows). False if none
 * is shown. */
bool fbtext_cursor(const struct fbtext *ft, int *col, int *row);

/* The fraction (0..1) of cells that match no glyph, and whether the screen
 * reads as text (a geometry, and at most 10% unknown cells). */
double fbtext_unknown_fraction(const struct fbtext *ft);
bool fbtext_is_text(const struct fbtext *ft);

/* The changed set, in the order cells changed: iterate with *it = 0 until it
 * returns false; then fbtext_changed_clear() once redrawn. */
size_t fbtext_changed_count(const struct fbtext *ft);
bool fbtext_changed_next(const struct fbtext *ft, size_t *it, int *col, int *row);
void fbtext_changed_clear(struct fbtext *ft);

/* The built-in fonts (for tests): glyph i of font k is cp[i], drawn from
 * bits (height rows of (width + 7) / 8 bytes, most significant bit left)
 * at slot[i], the character code VGA text mode shows it for. */
struct fbfont {
	const char *name;
	int width, height, count;
	const uint32_t *cp;
	const uint16_t *slot;
	const uint8_t *bits;
};
size_t fbtext_builtin_count(void);
const struct fbfont *fbtext_builtin(size_t k);

/* The name of the font the screen reads best in (the most exact matches
 * lately), or "" before any. */
const char *fbtext_font_name(const struct fbtext *ft);

/* Nearest standard colours of 0xRRGGBB (exposed for tests and the viewer). */
uint8_t fbtext_nearest16(uint32_t rgb);
uint8_t fbtext_nearest256(uint32_t rgb);

#endif
