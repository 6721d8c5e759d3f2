/* The console viewer's scrollback (issue 7): the lines that scroll off the
 * guest's screen, kept as text with their colours, bounded.
 *
 * VNC only shows pixels, so a scroll is inferred: after each whole update
 * the new screen's rows are compared with the previous screen's; when the
 * new rows are the old ones moved up by k (the rows at the bottom being
 * new), the k top rows that went off are kept. When the screen was replaced
 * instead (a clear, or a scroll of a screenful or more between two updates),
 * every line the old screen showed is kept, and if the new screen is full
 * to its last row (lines may have scrolled through unseen: no frame ever
 * showed them, so nothing can bring them back) a line saying so follows.
 * So each line shown is kept once, in order; none is invented or repeated.
 * Rows that stay put while the rest of the screen moves are taken for rows
 * not redrawn yet (a screen read halfway through an update) and never kept;
 * the viewer reads whole updates anyway (screens/console.c). Lines exactly
 * alike can make a scroll ambiguous: then fewer lines are kept, never more. */
#ifndef XENTUI_CONSOLE_SCROLL_H
#define XENTUI_CONSOLE_SCROLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fbtext.h"

struct sb_line {
	int n;              /* cells */
	uint32_t *cp;       /* code points (FBTEXT_UNKNOWN shown as U+FFFD) */
	uint8_t *fg, *bg;   /* 16-colour indices */
};

struct scrollback;

/* The line kept where lines may have gone by unseen. */
#define SB_GAP_TEXT "[xentui: the screen changed all at once here; lines between may be missing]"

/* Keeps at most max lines (0: none). */
struct scrollback *sb_new(size_t max);
void sb_free(struct scrollback *sb);

/* Compares ft's screen with the one seen last time and keeps the lines a
 * scroll pushed off or a clear took away; returns how many. Give it whole
 * updates (a screen half redrawn reads as a change that did not happen). A
 * changed geometry only starts over. */
size_t sb_observe(struct scrollback *sb, const struct fbtext *ft);

/* Lines are numbered from the first ever kept: sb_first() is the oldest
 * still there, sb_end() one past the newest. */
size_t sb_first(const struct scrollback *sb);
size_t sb_end(const struct scrollback *sb);
/* Line number n, or NULL if it is not kept. */
const struct sb_line *sb_get(const struct scrollback *sb, size_t n);

/* A line's text as UTF-8, trailing blanks cut, NUL-terminated (truncated on
 * a character boundary to fit cap). Returns its length. */
size_t sb_line_text(const struct sb_line *l, char *buf, size_t cap);

/* For tests and the viewer: the scroll (0: none) that turns rows old into
 * rows new, each a row's hash, blank[] true for a blank row of old. */
int sb_detect(const uint64_t *old_rows, const bool *old_blank, const uint64_t *new_rows, int rows);

#endif
