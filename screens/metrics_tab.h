/* The Metrics tab of a host and of a VM (issue 13): CPU, memory, network
 * and disk graphs (and a host's load) over a span chosen with + and -
 * (10 minutes, 2 hours, 1 day, 1 week), with a time axis and units; under
 * them a line per vCPU or core, per interface and per disk; j/k and the
 * page keys scroll what does not fit, g changes how graphs are drawn. */
#ifndef XENTUI_METRICS_TAB_H
#define XENTUI_METRICS_TAB_H

#include <curses.h>
#include <stdbool.h>

#include "app.h"
#include "metrics.h"
#include "pools.h"

struct metrics_tab {
	int span;   /* which of the spans offered: 0 is 10 minutes */
	int scroll; /* the first row shown of what the tab holds */
	int rows;   /* rows it held at the last draw, and its page */
	int page;
	int style;  /* 0: the terminal's graph style; 1, 2, 3: braille, blocks, ASCII (g) */
};

/* Draws the graphs of obj (a uuid; host: a host's) in h x cols from row y; wants
 * its figures for the next 15 s (so only while the tab is drawn). running: the
 * object has figures at all (a halted VM has none). */
void metrics_tab_draw(struct app *app, struct metrics_tab *mt, struct pool *p, const char *obj, bool host,
		      bool running, WINDOW *w, int y, int h, int cols);
/* + (or =) a longer span, - a shorter one, j/k/arrows/PgUp/PgDn/Home/End scroll, g the
 * graph style; true when key was one of them. */
bool metrics_tab_key(struct metrics_tab *mt, int key);

#endif
