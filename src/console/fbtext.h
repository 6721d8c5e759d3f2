/* Reading text back from a console framebuffer (issue 7).
 *
 * A VM's text console reaches the client as pixels (VNC); this module finds
 * the character grid, matches every cell exactly against the glyphs of a PSF
 * console font (src/psf.h) and keeps, per cell, the code point and colours,
 * so that a viewer can show real, copyable text and redraw only the cells
 * that changed.
 *
 * Matching is exact and costs one hash lookup per cell: a cell's two colours
 * split it into a 1-bit pattern, which is looked up in a table of the font's
 * glyph patterns built once by fbtext_new() (for 9-pixel cells, each glyph
 * with its 9th column blank and, for the VGA line-drawing characters, with
 * the 8th column repeated, as VGA text mode draws them). With an 8x16 font,
 * the table also holds the IBM VGA ROM font's code page 437 glyphs
 * (psf_load_vga_rom_fonts()) where they differ from the font's, so that a
 * PC BIOS's own text screens read exactly too.
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

/* A recogniser for text drawn with font (borrowed: it must outlive the
 * recogniser) or, for an 8x16 font, with the VGA ROM font (loaded here,
 * when installed; the font wins where both draw one bitmap). NULL if the font is unusable (wider than 15 or taller than 32
 * pixels). No geometry until fbtext_set_geometry(). */
struct fbtext *fbtext_new(const struct psf_font *font);
void fbtext_free(struct fbtext *ft);

/* Sets the framebuffer size and finds the character grid: 720x400 is 80x25
 * cells of 9x16 (VGA text mode), otherwise cells of the font's size when it
 * divides the screen, else 9-wide cells for an 8-wide font when they divide.
 * Returns false ("not text": rows and cols 0) if no grid fits. Every cell is
 * reset to an unknown state, so the next full update reports all of them. */
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

/* Nearest standard colours of 0xRRGGBB (exposed for tests and the viewer). */
uint8_t fbtext_nearest16(uint32_t rgb);
uint8_t fbtext_nearest256(uint32_t rgb);

#endif
