/* The parser of /rrd_updates' rrdtool "xport" XML (WIRE.md 9), with
 * libxml2's streaming reader: the legend's columns, then each row's time and
 * values, handed to callbacks as they are read; no tree is built. */
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

/* Parses len bytes of an xport document; false with a sentence in *err (to free) when it is not one. */
bool rrd_parse(const char *data, size_t len, struct rrd_meta *meta, rrd_column_fn col, rrd_row_fn row, void *ud,
	       char **err);

#endif
