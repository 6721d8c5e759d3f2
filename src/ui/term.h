/* The terminal: ncursesw set up in the locale's encoding (UTF-8 or ASCII
 * with ACS line drawing), and put back as it was on every way out: normal
 * exit, the signals the loop turns into a quit, and fatal signals. */
#ifndef XENTUI_UI_TERM_H
#define XENTUI_UI_TERM_H

#include <stdbool.h>

/* Call after the loop has taken SIGWINCH, SIGINT and SIGTERM, so that
 * ncurses leaves them to it. */
bool term_start(char **err);
/* Restores the terminal (idempotent). */
void term_stop(void);
/* Frees ncurses' screen once the windows are gone. */
void term_free(void);
/* Reads the new size after SIGWINCH and resizes ncurses' screens. */
void term_resize(void);

#endif
