/* A progress bar with its percentage and, once it can be guessed, the time
 * left: [#######-------]  45%  0:12 left */
#ifndef XENTUI_UI_PROGRESS_H
#define XENTUI_UI_PROGRESS_H

#include <curses.h>
#include <stdint.h>

/* frac in 0..1; elapsed_ms since the start (<= 0: no estimate). */
void progress_draw(WINDOW *w, int y, int x, int cols, double frac, int64_t elapsed_ms, attr_t text);
/* "0:12 left" into buf, or "" when it cannot be guessed yet. */
void progress_eta(char *buf, int n, double frac, int64_t elapsed_ms);

#endif
