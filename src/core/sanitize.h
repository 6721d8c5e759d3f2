/* The one place strings from the pool are made safe for a terminal:
 * control characters and escape sequences become visible '?' marks,
 * invalid UTF-8 becomes U+FFFD, and width is measured per character cell
 * (grapheme cluster) as tmux and ncurses count it. */
#ifndef XENTUI_SANITIZE_H
#define XENTUI_SANITIZE_H

#include <stddef.h>

/* A printable copy of s (UTF-8 in, UTF-8 out). Free it. */
char *sanitize(const char *s);
/* The next character cell of s (n bytes): its byte length (0 at the end),
 * its columns in *width, its code points in *count (may be NULL). */
size_t text_cluster(const char *s, size_t n, int *width, int *count);
/* A copy of sanitised s without what terminals draw differently (skin tones
 * after an emoji, VS15/VS16 that change widths, ZWJs that do not join two
 * wide characters, marks beyond ncurses' five code points a cell). Free it. */
char *text_for_terminal(const char *s);
/* Terminal columns a sanitised string takes, counted by text_cluster. */
int text_width(const char *s);
/* A copy cut to at most cols columns, ending in "…" (or "~" when ascii_only) if cut. */
char *text_truncate(const char *s, int cols, int ascii_only);

#endif
