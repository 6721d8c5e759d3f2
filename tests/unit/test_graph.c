/* src/ui/graph.c: a series drawn in cells. Every line is exactly as wide
 * as asked in every style, braille dots stand where the values put them,
 * ASCII output is ASCII, the time axis reads "now" at the right and the
 * span at the left, and units read as people write them. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ui/graph.h"
#include "util.h"

/* Character cells in UTF-8 s (continuation bytes do not count). */
static int cells(const char *s)
{
	int n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/* The code point of the cell at column col of UTF-8 s. */
static unsigned cell_at(const char *s, int col)
{
	const unsigned char *p = (const unsigned char *)s;

	for (int c = 0; *p; c++) {
		unsigned cp = *p;
		int len = cp < 0x80 ? 1 : cp < 0xE0 ? 2 : cp < 0xF0 ? 3 : 4;

		if (c == col) {
			if (len == 1)
				return cp;
			if (len == 2)
				return ((cp & 0x1F) << 6) | (p[1] & 0x3F);
			return ((cp & 0x0F) << 12) | ((unsigned)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
		}
		p += len;
	}
	return 0;
}

static void test_format(void **state)
{
	char b[32];

	(void)state;
	graph_format(b, sizeof b, 42.4, "%");
	assert_string_equal(b, "42 %");
	graph_format(b, sizeof b, 3.25, "%");
	assert_string_equal(b, "3.2 %");
	graph_format(b, sizeof b, 1536.0 * 1024, "B/s");
	assert_string_equal(b, "1.5 MiB/s");
	graph_format(b, sizeof b, 4.0 * 1024 * 1024 * 1024, "B");
	assert_string_equal(b, "4.0 GiB");
	graph_format(b, sizeof b, 512, "B");
	assert_string_equal(b, "512 B");
	graph_format(b, sizeof b, NAN, "%");
	assert_string_equal(b, "-");
}

/* graph_fixed writes what snprintf writes, to the byte: halfway points (1.25, 0.05, 2.5),
 * the values next to them, whole numbers, a cut buffer and a spread of random figures. */
static void test_fixed_as_printf(void **state)
{
	static const char *const tails[] = {"", " %", " KiB/s", " B"};
	uint64_t seed = 42;

	(void)state;
	for (long i = 0; i < 400000; i++) {
		double v;
		char want[48], got[48];
		int dec = (int)(i & 1);
		const char *tail = tails[(i >> 1) % ARRAY_LEN(tails)];
		size_t n = i % 97 == 0 ? 4 : sizeof(got);

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		switch (i % 5) {
		case 0: v = (double)(i / 10) / 20; break;                     /* every halfway point of %.1f */
		case 1: v = nextafter((double)(i / 10) / 20, i & 2 ? 0 : 1e9); break;
		case 2: v = (double)(seed >> 11) / (double)(1ULL << 53) * 1024; break;
		case 3: v = (double)(seed >> 11) / (double)(1ULL << 53) * 1e7 - 1e3; break; /* negatives, beyond 1e6 too */
		default: v = (double)(i / 10) / 2; break;                     /* every halfway point of %.0f */
		}
		snprintf(want, n, "%.*f%s", dec, v, tail);
		graph_fixed(got, n, v, dec, tail);
		if (strcmp(want, got) != 0)
			fail_msg("graph_fixed(%.17g, %d, \"%s\", %zu): \"%s\", printf: \"%s\"", v, dec, tail, n, got, want);
	}
}

static void test_ago(void **state)
{
	char b[32];

	(void)state;
	graph_ago(b, sizeof b, 0);
	assert_string_equal(b, "now");
	graph_ago(b, sizeof b, 600);
	assert_string_equal(b, "-10m");
	graph_ago(b, sizeof b, 7200);
	assert_string_equal(b, "-2h");
	graph_ago(b, sizeof b, 5400);
	assert_string_equal(b, "-1h30m");
	graph_ago(b, sizeof b, 604800);
	assert_string_equal(b, "-7d");
}

static void test_pick(void **state)
{
	(void)state;
	assert_int_equal(graph_style_pick(NULL, true, "xterm-256color"), GRAPH_BRAILLE);
	assert_int_equal(graph_style_pick(NULL, true, "linux"), GRAPH_ASCII);
	assert_int_equal(graph_style_pick(NULL, false, "xterm"), GRAPH_ASCII);
	assert_int_equal(graph_style_pick("blocks", true, "xterm"), GRAPH_BLOCKS);
	assert_int_equal(graph_style_pick("ascii", true, "xterm"), GRAPH_ASCII);
	assert_int_equal(graph_style_pick("braille", false, "xterm"), GRAPH_ASCII); /* no UTF-8, no braille */
}

static void test_sparkline(void **state)
{
	const double v[] = {0, 25, 50, 75, 100, NAN, 100};
	char b[64];

	(void)state;
	graph_sparkline(b, sizeof b, v, 7, 100, 7, GRAPH_BLOCKS);
	assert_int_equal(cells(b), 7);
	assert_int_equal(cell_at(b, 0), 0x2581); /* ▁: zero still shows a floor */
	assert_int_equal(cell_at(b, 4), 0x2588); /* █ at the maximum */
	assert_int_equal(cell_at(b, 5), ' ');    /* unknown is blank */
	graph_sparkline(b, sizeof b, v, 7, 100, 7, GRAPH_ASCII);
	assert_string_equal(b, "_,=+# #");
	/* fewer points than cells: right-aligned, the newest at the right */
	graph_sparkline(b, sizeof b, v, 2, 100, 5, GRAPH_ASCII);
	assert_string_equal(b, "   _,");
	/* more points than cells: the last ones */
	graph_sparkline(b, sizeof b, v, 7, 100, 2, GRAPH_ASCII);
	assert_string_equal(b, " #");
}

/* Every line of a graph exactly cols wide, in every style and size. */
static void test_widths(void **state)
{
	double v[168];
	const enum graph_style st[] = {GRAPH_BRAILLE, GRAPH_BLOCKS, GRAPH_ASCII};
	const int sizes[][2] = {{80, 24}, {200, 60}, {20, 4}, {19, 3}, {30, 1}, {78, 8}};

	(void)state;
	for (int i = 0; i < 168; i++)
		v[i] = i % 17 == 3 ? NAN : 50 + 40 * sin(i / 9.0);
	for (size_t s = 0; s < 3; s++)
		for (size_t z = 0; z < ARRAY_LEN(sizes); z++) {
			struct graph_in in = {.v = v, .count = 168, .step = 3600, .max = 100, .unit = "%"};
			struct graph_out out;

			graph_render(&out, &in, sizes[z][0], sizes[z][1], st[s]);
			assert_int_equal(out.rows, sizes[z][1]);
			for (int r = 0; r < out.rows; r++) {
				if (cells(out.line[r]) != sizes[z][0])
					fail_msg("style %zu %dx%d row %d is %d cells: '%s'", s, sizes[z][0], sizes[z][1], r,
						 cells(out.line[r]), out.line[r]);
				if (st[s] == GRAPH_ASCII)
					for (const char *p = out.line[r]; *p; p++)
						assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7F);
			}
			graph_out_free(&out);
		}
}

/* A constant half-full series fills exactly the lower half of the plot's dots. */
static void test_braille_levels(void **state)
{
	double v[120];
	struct graph_in in = {.v = v, .count = 120, .step = 5, .max = 100, .unit = "%"};
	struct graph_out out;
	int plot = 6, lastcol;

	(void)state;
	for (int i = 0; i < 120; i++)
		v[i] = 50;
	graph_render(&out, &in, 60, plot + 2, GRAPH_BRAILLE);
	lastcol = 59;
	for (int r = 0; r < plot; r++) {
		unsigned cp = cell_at(out.line[r], lastcol);

		if (r < plot / 2)
			assert_int_equal(cp, ' ');
		else
			assert_int_equal(cp, 0x28FF); /* all eight dots */
	}
	/* the axis: top label, zero label, "now" at the right, "-10m" at the left */
	assert_non_null(strstr(out.line[0], "100 %"));
	assert_non_null(strstr(out.line[plot - 1], "0 %"));
	assert_non_null(strstr(out.line[plot + 1], "now"));
	assert_true(strncmp(out.line[plot + 1] + 7, "-10m", 4) == 0); /* the span's start under the plot's first cell */
	graph_out_free(&out);

	/* a quarter: the bottom cell row of three (12 dots) holds 3 levels => 0.25*12 = 3 dots */
	for (int i = 0; i < 120; i++)
		v[i] = 25;
	graph_render(&out, &in, 60, 3 + 2, GRAPH_BRAILLE);
	assert_int_equal(cell_at(out.line[2], 59), 0x2800 + 0x40 + 0x80 + 0x04 + 0x20 + 0x02 + 0x10);
	assert_int_equal(cell_at(out.line[1], 59), ' ');
	graph_out_free(&out);
}

/* The value axis grows to a round number above the data, in its unit. */
static void test_auto_top(void **state)
{
	double v[10];
	struct graph_in in = {.v = v, .count = 10, .step = 60, .max = 0, .unit = "B/s"};
	struct graph_out out;

	(void)state;
	for (int i = 0; i < 10; i++)
		v[i] = i * 300.0 * 1024; /* up to 2.6 MiB/s */
	graph_render(&out, &in, 60, 10, GRAPH_BLOCKS);
	assert_true(out.top >= 2700.0 * 1024 && out.top <= 5.0 * 1024 * 1024);
	assert_non_null(strstr(out.line[0], "MiB/s"));
	/* the newest (largest) column reaches the top row */
	assert_int_not_equal(cell_at(out.line[7], 59), ' ');
	graph_out_free(&out);
}

/* A week of hourly points: the axis runs from -7d at the left edge to now. */
static void test_week_axis(void **state)
{
	double v[168];
	struct graph_in in = {.v = v, .count = 168, .step = 3600, .max = 100, .unit = "%"};
	struct graph_out out;

	(void)state;
	for (int i = 0; i < 168; i++)
		v[i] = 10;
	graph_render(&out, &in, 80, 10, GRAPH_ASCII);
	assert_true(strncmp(out.line[9] + 7, "-7d", 3) == 0);
	assert_non_null(strstr(out.line[9], "-2d"));
	assert_string_equal(out.line[9] + 77, "now");
	assert_int_equal(out.line[8][6], '+'); /* the corner */
	graph_out_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),       cmocka_unit_test(test_ago),
		cmocka_unit_test(test_pick),         cmocka_unit_test(test_sparkline),
		cmocka_unit_test(test_widths),       cmocka_unit_test(test_braille_levels),
		cmocka_unit_test(test_auto_top),     cmocka_unit_test(test_week_axis),
		cmocka_unit_test(test_fixed_as_printf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
