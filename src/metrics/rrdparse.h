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
/* What is kept of one host's legend between its replies: not its text (megabytes: a column
 * per series of every VM) but the hashes of its pieces (about 64 KiB each, cut after an
 * </entry>) and how many columns each holds. A reply whose legend begins with the same
 * pieces skips them: libxml2 never reads them and no column callback runs for them, the
 * caller's column map of the last reply read with it standing for them. */
struct rrd_legend;
struct rrd_legend *rrd_legend_new(void);
/* Forgets the pieces (the caller's column map is no longer to be trusted): the next reply is read whole. */
void rrd_legend_forget(struct rrd_legend *lg);
void rrd_legend_free(struct rrd_legend *lg);
/* As rrd_parser_new(0, ...) with lg (which outlives the parser): col runs only from the first
 * column of the first piece that differs from the last reply's; lg then holds this reply's
 * pieces after a successful rrd_parser_finish, none after anything else. */
struct rrd_parser *rrd_parser_new_legend(struct rrd_legend *lg, rrd_column_fn col, rrd_row_fn row, void *ud);
/* How many leading columns were skipped as the last reply's (0 without a legend kept). */
size_t rrd_parser_skipped(const struct rrd_parser *p);

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
