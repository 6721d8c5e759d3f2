/* The full-screen interface: connects, shows the dashboard, runs until the
 * user quits. */
#ifndef XENTUI_UI_TUI_H
#define XENTUI_UI_TUI_H

#include <stdbool.h>

#include "xapi.h"

struct tui_opts {
	struct xapi_opts xapi; /* ignored with demo, which makes its own */
	const char *label;     /* the server's name in the status line */
	const char *theme;     /* a theme name or path */
	bool demo;             /* start xapi-sim and connect to it */
	bool confirm_quit;
};

/* Exit status: 0 after a normal quit, 1 when it could not start. */
int tui_run(const struct tui_opts *o);

#endif
