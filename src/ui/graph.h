/* Graphs of a time series in character cells (issue 13): a plot of W x H
 * cells with a value axis and a time axis, and one-line sparklines. Braille
 * (2 x 4 dots a cell) where the terminal is UTF-8, block characters where
 * braille is not wanted, plain ASCII for the Linux console or when asked.
 * The shape is in the characters themselves, so it reads in the mono theme.
 * Pure text: no ncurses here, the caller draws the lines (and unit tests
 * read them). */
#ifndef XENTUI_UI_GRAPH_H
#define XENTUI_UI_GRAPH_H

#include <stdbool.h>
#include <stddef.h>

enum graph_style {
	GRAPH_BRAILLE, /* U+2800 block, 2 x 4 dots a cell */
	GRAPH_BLOCKS,  /* U+2581..U+2588, eight levels a cell */
	GRAPH_ASCII,   /* '#', '+', '.' */
};

/* The style for this terminal: want ("braille", "blocks", "ascii", or NULL/"" for
 * automatic: ASCII without UTF-8 or on TERM=linux, else braille). */
enum graph_style graph_style_pick(const char *want, bool utf8, const char *term);

/* How values read: "%" (0..100), "B" (bytes, binary units), "B/s" (bytes a second),
 * anything else is printed after the number. */
/* value v with its unit into buf, short ("42 %", "1.5 MiB/s", "3.2 GiB"). */
void graph_format(char *buf, size_t n, double v, const char *unit);
/* snprintf(buf, n, "%.*f%s", dec, v, tail) to the byte, faster for the usual figures. */
void graph_fixed(char *buf, size_t n, double v, int dec, const char *tail);

/* One line of cols cells: the last points of v (count of them, NAN: unknown, a
 * blank) scaled to 0..max (max <= 0: the largest value). UTF-8 styles use the
 * eight block levels, ASCII "_.,-=+*#". Returns buf. */
char *graph_sparkline(char *buf, size_t n, const double *v, size_t count, double max, int cols,
		      enum graph_style st);

struct graph_in {
	const double *v;   /* oldest first, NAN where unknown */
	size_t count;
	int step;          /* seconds between points */
	double max;        /* the top of the value axis; <= 0: chosen from the data */
	const char *unit;  /* as graph_format */
};

/* A rendered graph: rows lines of UTF-8 text, each exactly cols cells. */
struct graph_out {
	int rows, cols;
	char **line;
	double top;        /* the value at the top of the plot */
};

/* Renders in into cols x rows cells: the value axis labels on the left, the
 * plot, and the last two rows for the time axis ("-10m ... now"). Too small
 * (rows < 4 or cols < 20) gives a one-line sparkline-and-value instead. */
void graph_render(struct graph_out *out, const struct graph_in *in, int cols, int rows, enum graph_style st);
void graph_out_free(struct graph_out *out);

/* "-10m", "-2h", "-1d12h", "now": seconds ago as the time axis writes it. */
void graph_ago(char *buf, size_t n, long long secs);

#endif
