/* The parser of /rrd_updates' rrdtool "xport" XML (WIRE.md 9), with
 * libxml2's SAX push parser: the legend's columns, then each row's time and
 * values, handed to callbacks as they are read; no tree is built and the
 * reply need never be whole in memory (rrd_parser_feed per received chunk). */
#ifndef XENTUI_RRDPARSE_H
#define XENTUI_RRDPARSE_H

#include <stdbool.h>
#include <stddef.h>

/* One legend entry "AVERAGE:vm:<uuid>:cpu0", split; col counts from 0. */
typedef void (*rrd_column_fn)(size_t col, const char *cf, const char *owner, const char *uuid, const char *name,
			      void *ud);
/* One row: its unix time and n values (NAN where rrdd had none), in legend order. */
typedef void (*rrd_row_fn)(long long t, const double *v, size_t n, void *ud);

struct rrd_meta {
	long long start, end;
	int step;
	size_t rows, columns;
};

/* A parser fed the reply as it arrives; ncols 0 reads the legend, else the caller knows
 * the columns and any legend is skipped. Callbacks run inside rrd_parser_feed. */
struct rrd_parser;
struct rrd_parser *rrd_parser_new(size_t ncols, rrd_column_fn col, rrd_row_fn row, void *ud);
/* false once the data is not an xport document (rrd_parser_finish says why). */
bool rrd_parser_feed(struct rrd_parser *p, const char *data, size_t len);
/* The end of the reply: its meta, or false with a sentence in *err (to free). */
bool rrd_parser_finish(struct rrd_parser *p, struct rrd_meta *meta, char **err);
/* The first failure so far, "no error" when none. */
const char *rrd_parser_error(const struct rrd_parser *p);
void rrd_parser_free(struct rrd_parser *p);

/* Parses len bytes of an xport document; false with a sentence in *err (to free) when it is not one. */
bool rrd_parse(const char *data, size_t len, struct rrd_meta *meta, rrd_column_fn col, rrd_row_fn row, void *ud,
	       char **err);
/* As rrd_parse for a document with its <legend> left out, whose ncols columns the caller
 * knows from an earlier reply: only the meta and the rows are read. */
bool rrd_parse_rows(const char *data, size_t len, size_t ncols, struct rrd_meta *meta, rrd_row_fn row, void *ud,
		    char **err);
/* Where the <legend>...</legend> of an xport document is: [*from, *to) of data; false if it has none. */
bool rrd_legend_span(const char *data, size_t len, size_t *from, size_t *to);

#endif
