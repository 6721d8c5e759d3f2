/* libFuzzer target: the /rrd_updates parser fed as libcurl feeds it, in
 * chunks of any size, must give what one whole feed gives (the same
 * verdict, columns and rows), never a crash, a leak or undefined behaviour.
 * Then twice with a kept legend (pieces of 64 bytes here, to be reached):
 * the same verdict and rows, the columns reported and those skipped as the
 * last reply's adding up to the whole. The first input byte picks the chunk sizes.
 * sources: src/metrics/rrdparse.c src/core/util.c
 * packages: libxml-2.0
 * cflags: -DRRD_PIECE=64
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlerror.h>

#include "metrics/rrdparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	size_t cols, rows, vals, reported;
};

static void on_col(size_t col, const char *cf, const char *owner, const char *uuid, const char *name, void *ud)
{
	struct seen *s = ud;

	/* every string is read: a dangling one shows under ASan */
	s->cols = col + 1 + (strlen(cf) + strlen(owner) + strlen(uuid) + strlen(name)) * 0;
	s->reported++;
}

static void on_row(long long t, const double *v, size_t n, void *ud)
{
	struct seen *s = ud;

	(void)t;
	s->rows++;
	for (size_t i = 0; i < n; i++)
		if (!isnan(v[i]))
			s->vals++;
}

static void quiet(void *ctx, const char *fmt, ...)
{
	(void)ctx, (void)fmt;
}

/* Feeds data to p in uneven chunks from step on; the verdict. */
static bool feed(struct rrd_parser *p, const uint8_t *data, size_t size, size_t step, struct rrd_meta *m)
{
	size_t off = 0;
	char *err = NULL;
	bool ok;

	while (off < size) {
		size_t n = size - off < step ? size - off : step;
		if (!rrd_parser_feed(p, (const char *)data + off, n))
			break;
		off += n;
		step = step * 3 % 67 + 1;
	}
	ok = rrd_parser_finish(p, m, &err);
	free(err);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen whole = {0, 0, 0, 0}, parts = {0, 0, 0, 0};
	struct rrd_meta m1, m2;
	struct rrd_parser *p;
	char *err = NULL;
	size_t step, off = 0;
	bool ok1, ok2;

	xmlSetGenericErrorFunc(NULL, quiet);
	if (size < 1)
		return 0;
	step = (size_t)data[0] % 64 + 1;
	data++, size--;
	ok1 = rrd_parse((const char *)data, size, &m1, on_col, on_row, &whole, &err);
	free(err);
	err = NULL;
	p = rrd_parser_new(0, on_col, on_row, &parts);
	while (off < size) {
		size_t n = size - off < step ? size - off : step;
		if (!rrd_parser_feed(p, (const char *)data + off, n))
			break;
		off += n;
		step = step * 3 % 67 + 1; /* uneven chunks, as the network cuts them */
	}
	ok2 = rrd_parser_finish(p, &m2, &err);
	free(err);
	rrd_parser_free(p);
	if (ok1 != ok2 || (ok1 && (whole.cols != parts.cols || whole.rows != parts.rows || whole.vals != parts.vals)))
		abort(); /* a chunk boundary changed what was read */
	{
		struct rrd_legend *lg = rrd_legend_new();
		for (int pass = 0; pass < 2; pass++) {
			struct seen kept = {0, 0, 0, 0};
			size_t skipped;
			bool ok3;
			p = rrd_parser_new_legend(lg, on_col, on_row, &kept);
			ok3 = feed(p, data, size, (size_t)data[-1] % 61 + 1 + (size_t)pass * 5, &m2);
			skipped = rrd_parser_skipped(p);
			rrd_parser_free(p);
			if (ok3 != ok1)
				abort(); /* skipping the legend changed the verdict */
			if (ok1 && (kept.rows != whole.rows || kept.vals != whole.vals || kept.reported + skipped != whole.reported
				    || (kept.reported && kept.cols != whole.cols)))
				abort(); /* or what was read */
		}
		rrd_legend_free(lg);
	}
	return 0;
}
