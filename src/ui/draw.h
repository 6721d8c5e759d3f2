/* Drawing text safely: every string goes through sanitize() here, loses
 * what terminals draw at different widths (text_for_terminal), is cut to
 * its columns by character cells (a ZWJ sequence is one) with an ellipsis,
 * is handed to ncurses one cell at a time so that ncurses and the terminal
 * agree on every column, and becomes ASCII on terminals whose locale is not
 * UTF-8. Line drawing uses ncurses' ACS characters. */
#ifndef XENTUI_UI_DRAW_H
#define XENTUI_UI_DRAW_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

#include "theme.h"

enum glyph {
	GLYPH_SORT_UP,
	GLYPH_SORT_DOWN,
	GLYPH_BAR_FULL,
	GLYPH_BAR_EMPTY,
	GLYPH_SEP,      /* between status line items */
	GLYPH_ELLIPSIS,
	GLYPH_ARROW,    /* "from -> to" */
	GLYPH_BULLET,
};

void ui_set_utf8(bool on);
bool ui_utf8(void);
/* The Linux console's font (CP437's glyphs) has no "…": cut text ends in
 * "~", and every glyph is ASCII there (line drawing goes through ACS). */
void ui_set_console_font(bool on);
const char *glyph(enum glyph g);

/* A copy of s safe to draw (sanitised; ASCII without UTF-8). Free it. */
char *ui_text(const char *s);
/* Draws s at (y, x) in exactly cols columns: cut with an ellipsis, padded
 * with spaces (right-aligned when right). Returns the columns of text. */
int ui_put(WINDOW *w, int y, int x, int cols, attr_t a, const char *s);
int ui_put_right(WINDOW *w, int y, int x, int cols, attr_t a, const char *s);
/* Draws s without padding, cut to at most cols; returns the columns used. */
int ui_add(WINDOW *w, int y, int x, int cols, attr_t a, const char *s);
/* printf into ui_add. */
int ui_addf(WINDOW *w, int y, int x, int cols, attr_t a, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void ui_fill(WINDOW *w, int y, int x, int cols, attr_t a);
void ui_hline(WINDOW *w, int y, int x, int cols, attr_t a);
/* A frame with an optional title in its top edge, its inside filled. */
void ui_frame(WINDOW *w, int y, int x, int h, int cols, attr_t frame, attr_t inside, const char *title,
	      attr_t title_attr);
/* Word-wraps s into at most rows lines of cols; returns the lines used
 * (rows 0 only counts them). */
int ui_wrap(WINDOW *w, int y, int x, int cols, int rows, attr_t a, const char *s);

/* A screen's title into buf: "PREFIX NAME SUFFIX", the name cut (with an
 * ellipsis) so that the suffix (a power state, a pool) shows in the half of
 * the line a title always gets, however long the name. */
void ui_title(char *buf, size_t n, const char *prefix, const char *name, const char *suffix);
/* "Label      value" in a details list: label in label_cols, value after. */
void ui_kv(WINDOW *w, int y, int x, int label_cols, int cols, const char *label, const char *value, attr_t value_attr);
/* A row of tabs, the active one highlighted; returns the columns used. */
int ui_tabs(WINDOW *w, int y, int x, int cols, const char *const *names, int n, int active);

#endif
