/* Keys as one int: a character is its code point, a function key is
 * XK_FN(ncurses code), beyond Unicode so the two never collide. */
#ifndef XENTUI_UI_KEYS_H
#define XENTUI_UI_KEYS_H

#include <curses.h>
#include <stdbool.h>

#define XK_FN(code) (0x110000 + (code))
#define XK_CTRL(c) ((c) & 0x1f)

#define XK_ENTER '\n'
#define XK_ESC 27
#define XK_TAB '\t'
#define XK_UP XK_FN(KEY_UP)
#define XK_DOWN XK_FN(KEY_DOWN)
#define XK_LEFT XK_FN(KEY_LEFT)
#define XK_RIGHT XK_FN(KEY_RIGHT)
#define XK_PGUP XK_FN(KEY_PPAGE)
#define XK_PGDN XK_FN(KEY_NPAGE)
#define XK_HOME XK_FN(KEY_HOME)
#define XK_END XK_FN(KEY_END)
#define XK_BACKSPACE XK_FN(KEY_BACKSPACE)
#define XK_DELETE XK_FN(KEY_DC)
#define XK_BTAB XK_FN(KEY_BTAB)
#define XK_F(n) XK_FN(KEY_F(n))

/* Reads one key from w without waiting; false when none is pending.
 * Enter, Backspace and their variants come out as XK_ENTER, XK_BACKSPACE. */
bool key_read(WINDOW *w, int *key);
/* A short name for the key bar and help: "Enter", "Esc", "F5", "^L", "s". */
const char *key_describe(int key, char *buf, int n);
/* A printable character a text field takes (not a control or function key). */
bool key_is_text(int key);

#endif
