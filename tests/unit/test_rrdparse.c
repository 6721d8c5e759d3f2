/* src/metrics/rrdparse.c: every value reads as strtod reads it (the fast
 * path for plain decimals included), and the kept legend: a reply whose
 * legend is the last one's skips it (no column read again) and still gives
 * every row's values; a legend changed in the middle, longer or shorter is
 * read again from the first piece that differs, the columns reported from
 * there equal to the new legend's; a reply cut short, a comment in the
 * legend and any network chunking never leave a wrong map behind.
 * Synthetic xport documents: no sim. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rrdparse.h"
#include "util.h"

/* What a caller sees of one reply: each column's name as reported (NULL: not reported) and the row. */
struct seen {
	char **names;
	size_t cap, reported, first;
	double *row;
	size_t nrow, rows;
};

static void on_col(size_t col, const char *cf, const char *owner, const char *uuid, const char *name, void *ud)
{
	struct seen *s = ud;

	(void)cf;
	if (col >= s->cap) {
		size_t cap = col + 1024;
		s->names = xrealloc(s->names, cap * sizeof(*s->names));
		memset(s->names + s->cap, 0, (cap - s->cap) * sizeof(*s->names));
		s->cap = cap;
	}
	if (!s->reported)
		s->first = col;
	free(s->names[col]);
	s->names[col] = xasprintf("%s:%s:%s", owner, uuid, name);
	s->reported++;
}

static void on_row(long long t, const double *v, size_t n, void *ud)
{
	struct seen *s = ud;

	(void)t;
	free(s->row);
	s->row = xmalloc((n ? n : 1) * sizeof(double));
	memcpy(s->row, v, n * sizeof(double));
	s->nrow = n;
	s->rows++;
}

static void seen_free(struct seen *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->names[i]);
	free(s->names);
	free(s->row);
	memset(s, 0, sizeof(*s));
}

/* An xport of n columns "vm:<uuid of i / 20>:cpu<i % 20>" (entry rename gets name "renamed"),
 * optionally a comment in the legend, one row whose value i is i * scale. */
static char *doc(size_t n, size_t rename, double scale, bool comment)
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><xport><meta><start>100</start><step>5</step>"
		       "<end>105</end><rows>1</rows><columns>%zu</columns><legend>",
		   n);
	for (size_t i = 0; i < n; i++) {
		if (comment && i == n / 2)
			buf_puts(&b, "<!-- a comment -->");
		if (i == rename)
			buf_printf(&b, "<entry>AVERAGE:vm:%08zx-0000-4000-8000-000000000000:renamed</entry>", i / 20);
		else
			buf_printf(&b, "<entry>AVERAGE:vm:%08zx-0000-4000-8000-000000000000:cpu%zu</entry>", i / 20, i % 20);
	}
	buf_puts(&b, "</legend></meta><data><row><t>105</t>");
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "<v>%.1f</v>", (double)i * scale);
	buf_puts(&b, "</row></data></xport>");
	return buf_steal(&b);
}

/* Parses d with lg (fed step bytes at a time; 0: whole) into s; the parse's verdict. */
static bool parse(struct rrd_legend *lg, const char *d, size_t step, struct seen *s, size_t *skipped)
{
	struct rrd_parser *p = rrd_parser_new_legend(lg, on_col, on_row, s);
	size_t len = strlen(d), off = 0;
	struct rrd_meta meta;
	char *err = NULL;
	bool ok;

	s->reported = 0;
	s->rows = 0;
	if (!step)
		step = len;
	while (off < len) {
		size_t n = len - off < step ? len - off : step;
		if (!rrd_parser_feed(p, d + off, n))
			break;
		off += n;
	}
	ok = rrd_parser_finish(p, &meta, &err);
	*skipped = rrd_parser_skipped(p);
	free(err);
	rrd_parser_free(p);
	return ok;
}

/* Every column of s named as in a whole parse of d, and its row value i * scale. */
static void check(struct seen *s, const char *d, size_t n, double scale)
{
	struct seen whole = {0};
	struct rrd_meta meta;
	char *err = NULL;

	assert_true(rrd_parse(d, strlen(d), &meta, on_col, on_row, &whole, &err));
	assert_int_equal(s->rows, 1);
	assert_int_equal(s->nrow, n);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(s->names[i]);
		assert_string_equal(s->names[i], whole.names[i]);
		assert_true(fabs(s->row[i] - (double)i * scale) < 1e-9);
	}
	seen_free(&whole);
}

#define N 6000 /* about 400 KB of legend: several pieces */

static void test_same_legend_skipped(void **state)
{
	struct rrd_legend *lg = rrd_legend_new();
	struct seen s = {0};
	char *a = doc(N, SIZE_MAX, 1, false), *b = doc(N, SIZE_MAX, 2, false);
	size_t skipped;

	(void)state;
	assert_true(parse(lg, a, 0, &s, &skipped));
	assert_int_equal(skipped, 0);
	assert_int_equal(s.reported, N);
	check(&s, a, N, 1);
	/* the same legend, other values: no column read again, every value right */
	assert_true(parse(lg, b, 0, &s, &skipped));
	assert_int_equal(skipped, N);
	assert_int_equal(s.reported, 0);
	check(&s, b, N, 2);
	/* and again, in chunks as the network cuts them */
	assert_true(parse(lg, a, 7, &s, &skipped));
	assert_int_equal(skipped, N);
	check(&s, a, N, 1);
	free(a);
	free(b);
	seen_free(&s);
	rrd_legend_free(lg);
}

static void test_changed_legend_read_from_the_change(void **state)
{
	struct rrd_legend *lg = rrd_legend_new();
	struct seen s = {0};
	char *a = doc(N, SIZE_MAX, 1, false), *mid = doc(N, N / 2, 3, false), *longer = doc(N + 500, SIZE_MAX, 1, false),
	     *shorter = doc(N - 700, SIZE_MAX, 5, false);
	size_t skipped;

	(void)state;
	assert_true(parse(lg, a, 0, &s, &skipped));
	/* one entry renamed in the middle: read again from its piece on */
	assert_true(parse(lg, mid, 1000, &s, &skipped));
	assert_true(skipped > 0 && skipped <= N / 2);
	assert_int_equal(s.first, skipped);
	assert_int_equal(s.reported, N - skipped);
	check(&s, mid, N, 3);
	/* more columns: read from the last piece on */
	assert_true(parse(lg, longer, 4096, &s, &skipped));
	assert_true(skipped > 0 && skipped <= N);
	assert_int_equal(s.reported, N + 500 - skipped);
	check(&s, longer, N + 500, 1);
	/* fewer: the row as long as the new legend */
	assert_true(parse(lg, shorter, 333, &s, &skipped));
	assert_true(skipped <= N - 700);
	check(&s, shorter, N - 700, 5);
	free(a);
	free(mid);
	free(longer);
	free(shorter);
	seen_free(&s);
	rrd_legend_free(lg);
}

static void test_nothing_wrong_kept(void **state)
{
	struct rrd_legend *lg = rrd_legend_new();
	struct seen s = {0};
	char *a = doc(N, SIZE_MAX, 1, false), *odd = doc(N, SIZE_MAX, 1, true);
	size_t skipped;

	(void)state;
	assert_true(parse(lg, a, 0, &s, &skipped));
	/* cut short in the legend: a failure, and the legend forgotten */
	a[strlen(a) / 3] = '\0';
	assert_false(parse(lg, a, 0, &s, &skipped));
	free(a);
	a = doc(N, SIZE_MAX, 1, false);
	assert_true(parse(lg, a, 0, &s, &skipped));
	assert_int_equal(skipped, 0);
	assert_int_equal(s.reported, N);
	/* a comment: libxml2 reads the legend whole, and it is not kept */
	assert_true(parse(lg, odd, 0, &s, &skipped));
	check(&s, odd, N, 1);
	assert_true(parse(lg, odd, 0, &s, &skipped));
	assert_int_equal(skipped, 0);
	assert_int_equal(s.reported, N);
	free(a);
	free(odd);
	seen_free(&s);
	rrd_legend_free(lg);
}

/* Each value string v[i] in a <v> of one row: the parser's value is strtod's, bit for bit
 * (NAN where strtod does not read the whole of it). */
static void values_as_strtod(char **v, size_t n)
{
	struct seen s = {0};
	struct rrd_meta meta;
	struct buf b;
	char *err = NULL;

	buf_init(&b);
	buf_puts(&b, "<xport><meta><legend>");
	for (size_t i = 0; i < n; i++)
		buf_puts(&b, "<entry>AVERAGE:vm:u:cpu0</entry>");
	buf_puts(&b, "</legend></meta><data><row><t>5</t>");
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "<v>%s</v>", v[i]);
	buf_puts(&b, "</row></data></xport>");
	assert_true(rrd_parse(b.data, b.len, &meta, on_col, on_row, &s, &err));
	assert_int_equal(s.nrow, n);
	for (size_t i = 0; i < n; i++) {
		const char *t = v[i] + strspn(v[i], " ");
		char *end;
		double want = strtod(t, &end);
		if (end == t || end[strspn(end, " ")])
			want = NAN;
		if (isnan(want) ? !isnan(s.row[i]) : memcmp(&want, &s.row[i], sizeof(want)) != 0)
			fail_msg("\"%s\" read as %.17g, strtod: %.17g", v[i], s.row[i], want);
	}
	buf_free(&b);
	seen_free(&s);
}

static void test_values_as_strtod(void **state)
{
	static const char *const edge[] = {
		"0.027054185236955", "8589934592.0", "0", "-0.0", "+5", ".5", "1.", "9007199254740991",
		"9007199254740992", "9007199254740993", "90071992547409931", "0.1", "0.30000000000000004",
		"123456789012345678901234", "1e5", "1E-3", "0x1A", "NaN", "nan", "Infinity", "-Infinity", " 2.5 ",
		"0.0000000000000000000001", "0.00000000000000000000001", "1.7976931348623157e308", "4.9e-324",
		"00000000000000000000000000012.5", "1.5.3", "5x", "-", ".", "", "  ", "12 34", "-.5", "0000.0000"};
	enum { R = 20000 };
	char *v[ARRAY_LEN(edge) + R];
	uint64_t seed = 7;
	size_t n = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(edge); i++)
		v[n++] = xstrdup(edge[i]);
	for (size_t i = 0; i < R; i++) {
		/* random plain decimals: up to 12 integer and 25 fraction digits, some signed */
		struct buf b;
		buf_init(&b);
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		if (seed >> 62 == 3)
			buf_putc(&b, '-');
		for (unsigned k = 0, ni = (unsigned)(seed >> 20) % 13; k < ni; k++) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			buf_putc(&b, (char)('0' + (seed >> 33) % 10));
		}
		if (!b.len || (seed >> 40) % 4) {
			unsigned nf = (unsigned)(seed >> 44) % 26;
			buf_putc(&b, '.');
			for (unsigned k = 0; k < nf; k++) {
				seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
				buf_putc(&b, (char)('0' + (seed >> 33) % 10));
			}
		}
		v[n++] = buf_steal(&b);
	}
	values_as_strtod(v, n);
	for (size_t i = 0; i < n; i++)
		free(v[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_as_strtod),
		cmocka_unit_test(test_same_legend_skipped),
		cmocka_unit_test(test_changed_legend_read_from_the_change),
		cmocka_unit_test(test_nothing_wrong_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
