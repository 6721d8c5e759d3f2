/* The list widget: rows identified by a key (a ref), columns that adapt to
 * the width (flexible ones share the spare columns, low-priority ones drop
 * out when narrow), sort by any column, a text filter, and a selection that
 * stays on the same row's key whatever updates, sorts or filters do. Cells
 * are sanitised when stored. */
#ifndef XENTUI_UI_TABLE_H
#define XENTUI_UI_TABLE_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

#include "theme.h"

struct table_col {
	const char *title;
	int width;    /* fixed width, or the minimum of a flexible column */
	int flex;     /* share of the spare width (0: fixed) */
	bool right;   /* right-aligned */
	bool numeric; /* sorts by the cell's number */
	int drop;     /* dropped first when narrow: higher drops sooner (0: never) */
};

struct table_cell {
	const char *text;
	double num;     /* sort key of numeric columns */
	int role;       /* a theme role, or -1 for the row's */
};

#define TABLE_MAX_COLS 16

struct table;

struct table *table_new(const struct table_col *cols, int ncols);
void table_free(struct table *t);

/* Adds or replaces the row of key; extra is more text the filter matches
 * (tags), or NULL. row_role is the row's colour role. Only the cells whose
 * text or number changed are stored again: a cell made from the same bytes
 * keeps its sanitised text, printable ASCII needs no sanitiser pass, and
 * the rows are sorted and filtered again only when something changed, so
 * putting thousands of rows again every refresh costs little. */
void table_put(struct table *t, const char *key, const struct table_cell *cells, enum role row_role,
	       const char *extra);
bool table_remove(struct table *t, const char *key);
void table_clear(struct table *t);
bool table_has(const struct table *t, const char *key);
size_t table_count(const struct table *t);
/* Rows left after the filter. */
size_t table_shown(struct table *t);

/* The selected row's key (NULL when empty). */
const char *table_selected(struct table *t);
void table_select(struct table *t, const char *key);
/* Key of the index-th shown row (after sort and filter), or NULL. */
const char *table_row_key(struct table *t, size_t index);
/* The rows on screen at the last draw: the first's index (for table_row_key) and how many. */
void table_visible(const struct table *t, size_t *first, size_t *count);

/* The filter: words that match anywhere in a row (its cells, hidden ones
 * too, and its extra text), and COLUMN:value terms that match in that
 * column only (power:running, host:xcp-ng-02, tag:prod for a TAGS column;
 * "quotes" keep spaces, a value after ! excludes); every term must match. */
void table_set_filter(struct table *t, const char *text);
const char *table_filter(const struct table *t);
/* Hides or shows a column (a POOL column with one pool); hidden columns
 * are neither drawn nor sorted by, but the filter still reads them. */
void table_show_col(struct table *t, int col, bool shown);
void table_sort(struct table *t, int col, bool descending);
int table_sort_col(const struct table *t);
bool table_sort_desc(const struct table *t);
const char *table_col_title(const struct table *t, int col);

/* Movement and sort keys; true when the key was the table's. */
bool table_key(struct table *t, int key);
/* The keys table_key takes, for help screens: {key, help} pairs ending in {0, NULL}. */
struct table_key_help {
	const char *keys;
	const char *help;
};
extern const struct table_key_help table_key_help[];

/* Draws the header and rows in h x cols at (y, x); focused shows the
 * selection highlighted. */
void table_draw(struct table *t, WINDOW *w, int y, int x, int h, int cols, bool focused);
/* What a row is, for the count: ("VM", "VMs"); static strings. */
void table_set_noun(struct table *t, const char *one, const char *many);
/* The count of rows: "20 VMs", or "2 of 20 VMs" under a filter, into buf. */
void table_describe(struct table *t, char *buf, size_t n);

#endif
