/* The one place strings from the pool are made safe for a terminal:
 * control characters and escape sequences become visible '?' marks,
 * invalid UTF-8 becomes U+FFFD, and width is measured with wcwidth. */
#ifndef XENTUI_SANITIZE_H
#define XENTUI_SANITIZE_H

#include <stddef.h>

/* A printable copy of s (UTF-8 in, UTF-8 out). Free it. */
char *sanitize(const char *s);
/* Terminal columns a sanitised string takes. */
int text_width(const char *s);
/* A copy cut to at most cols columns, ending in "…" (or "~" when ascii_only) if cut. */
char *text_truncate(const char *s, int cols, int ascii_only);

#endif
