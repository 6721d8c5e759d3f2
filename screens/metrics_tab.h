/* The Metrics tab of a host and of a VM (issue 13): CPU, memory, network
 * and disk graphs (and a host's load) over a span chosen with + and -
 * (10 minutes, 2 hours, 1 day, 1 week), with a time axis and units. */
#ifndef XENTUI_METRICS_TAB_H
#define XENTUI_METRICS_TAB_H

#include <curses.h>
#include <stdbool.h>

#include "app.h"
#include "metrics.h"
#include "pools.h"

struct metrics_tab {
	int span; /* which of the spans offered: 0 is 10 minutes */
};

/* Draws the graphs of obj (a uuid; host: a host's) in h x cols from row y; wants
 * its figures for the next 15 s (so only while the tab is drawn). running: the
 * object has figures at all (a halted VM has none). */
void metrics_tab_draw(struct app *app, struct metrics_tab *mt, struct pool *p, const char *obj, bool host,
		      bool running, WINDOW *w, int y, int h, int cols);
/* + (or =) a longer span, - a shorter one; true when key was one of them. */
bool metrics_tab_key(struct metrics_tab *mt, int key);

#endif
