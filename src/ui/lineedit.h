/* One line of editable text (command line, filter, form fields): insert,
 * delete, move by character or word, ^U/^W/^K, with the cursor kept on a
 * character boundary of the UTF-8 text. */
#ifndef XENTUI_UI_LINEEDIT_H
#define XENTUI_UI_LINEEDIT_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

struct lineedit {
	char *text; /* UTF-8, NUL-terminated */
	size_t len, cap;
	size_t cursor; /* byte offset */
	bool secret;   /* draws '*' per character */
	size_t max;    /* longest text in bytes (0: no limit) */
};

enum {
	EDIT_IGNORED,
	EDIT_MOVED,
	EDIT_CHANGED,
};

void lineedit_init(struct lineedit *e, const char *text);
void lineedit_free(struct lineedit *e);
void lineedit_set(struct lineedit *e, const char *text);
int lineedit_key(struct lineedit *e, int key);
/* Draws the text in cols columns (scrolled so the cursor shows); returns
 * the cursor's column relative to x. */
int lineedit_draw(const struct lineedit *e, WINDOW *w, int y, int x, int cols, attr_t a);

#endif
