/* The console viewer's picture mode (issue 7): a framebuffer that is not
 * text drawn with half blocks (U+2580: the foreground is the top pixel, the
 * background the bottom one), scaled to fit, in the most colours the
 * terminal has: 24-bit on a direct-colour terminal description (COLORS of
 * 2^24, e.g. TERM=xterm-direct), else the 256-colour cube and greys, else 16
 * or 8 colours; shades of blocks without colours. */
#ifndef XENTUI_CONSOLE_PICTURE_H
#define XENTUI_CONSOLE_PICTURE_H

#include <curses.h>

#include "vnc.h"

/* Draws v's framebuffer in rows y0 .. y0+h-1 of w, cols wide. pair_base is
 * the first colour pair it may use (it keeps its own pairs from there on). */
void console_picture_draw(WINDOW *w, int y0, int h, int cols, struct vnc *v, int pair_base);

#endif
