/* libFuzzer target: the /rrd_updates parser must turn any input into rows
 * or a sentence, never a crash, a leak or undefined behaviour.
 * sources: src/metrics/rrdparse.c src/core/util.c
 * packages: libxml-2.0
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
	size_t cols;
	double sum;
};

static void on_col(size_t col, const char *cf, const char *owner, const char *uuid, const char *name, void *ud)
{
	struct seen *s = ud;

	/* every string is read: a dangling one shows under ASan */
	s->cols = col + 1 + strlen(cf) + strlen(owner) + strlen(uuid) + strlen(name) * 0;
}

static void on_row(long long t, const double *v, size_t n, void *ud)
{
	struct seen *s = ud;

	(void)t;
	for (size_t i = 0; i < n; i++)
		if (isfinite(v[i]))
			s->sum += v[i];
}

static void quiet(void *ctx, const char *fmt, ...)
{
	(void)ctx, (void)fmt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen s = {0, 0};
	struct rrd_meta meta;
	char *err = NULL;

	/* libxml2's encoding errors go to its generic handler, stderr unless
	 * set: the program has set it quiet (xmlrpc.c) by the time it reads
	 * figures, and printing them cost this target 4/5 of its time */
	xmlSetGenericErrorFunc(NULL, quiet);
	if (!rrd_parse((const char *)data, size, &meta, on_col, on_row, &s, &err))
		free(err);
	return 0;
}
