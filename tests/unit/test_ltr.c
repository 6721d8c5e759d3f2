/* Long-term retention's choice of points (src/backup/ltr.h): Xen Orchestra's
 * own cases from @xen-orchestra/backups/_getOldEntries.test.mjs (same time
 * zones, same expected deletions), and a simulated 400 days of daily runs
 * applied one run at a time, checked against a plain calendar count of the
 * first point of each of the newest days, weeks, months and years. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "ltr.h"
#include "util.h"

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* "YYYY-MM-DD HH:MM:SS" read as UTC */
static int64_t at(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	assert_non_null(strptime(s, "%Y-%m-%d %H:%M:%S", &tm));
	return (int64_t)timegm(&tm);
}

/* Runs the selection; the 1-based ids not kept, as "1,2,4". */
static char *removed(const char *const *dates, size_t n, int retention, struct ltr_cfg l)
{
	int64_t t[32] = {0};
	bool keep[32] = {0};
	struct buf b;

	for (size_t i = 0; i < n; i++)
		t[i] = at(dates[i]);
	ltr_select(t, n, retention, &l, keep);
	buf_init(&b);
	buf_puts(&b, "");
	for (size_t i = 0; i < n; i++)
		if (!keep[i])
			buf_printf(&b, "%s%zu", b.len ? "," : "", i + 1);
	return buf_steal(&b);
}

#define CHECK(dates, ret, ltr, want)                                                                      \
	do {                                                                                                  \
		char *got = removed(dates, ARRAY_LEN(dates), ret, ltr);                           \
		assert_string_equal(got, want);                                                                   \
		free(got);                                                                                        \
	} while (0)

static void test_xo_count_only(void **state)
{
	static const char *const d[] = {"2024-09-01 00:00:01", "2024-09-01 00:00:02", "2024-09-01 00:00:03"};
	(void)state;
	CHECK(d, 1, ((struct ltr_cfg){0, 0, 0, 0}), "1,2");
}

static void test_xo_daily(void **state)
{
	static const char *const d[] = {"2024-09-01 00:00:00", "2024-09-01 00:01:00", "2024-09-02 00:09:00",
					"2024-09-02 00:10:00", "2024-09-03 00:09:00", "2024-09-04 00:09:00",
					"2024-09-04 00:10:00"};
	(void)state;
	set_tz("Europe/Paris");
	CHECK(d, 0, ((struct ltr_cfg){3, 0, 0, 0}), "1,2,4,7");
}

static void test_xo_weekly(void **state)
{
	static const char *const d[] = {"2024-08-30 00:01:00", "2024-08-31 00:00:00", "2024-09-03 00:09:00",
					"2024-09-04 00:09:00", "2024-09-05 00:09:00", "2024-09-06 00:09:00",
					"2024-09-07 00:09:00", "2024-09-15 00:09:00", "2024-09-21 00:09:00",
					"2024-09-22 00:09:00"};
	(void)state;
	set_tz("Europe/Paris");
	CHECK(d, 0, ((struct ltr_cfg){0, 3, 0, 0}), "1,2,4,5,6,7,9");
}

static void test_xo_monthly(void **state)
{
	static const char *const d[] = {"2024-06-22 00:09:00", "2024-07-31 00:09:00", "2024-08-01 00:09:00",
					"2024-08-05 00:09:00", "2024-08-07 00:09:00", "2024-09-09 00:09:00",
					"2024-09-15 00:09:00", "2024-09-22 00:09:00"};
	(void)state;
	set_tz("Europe/Paris");
	CHECK(d, 0, ((struct ltr_cfg){0, 0, 3, 0}), "1,4,5,7,8");
}

static void test_xo_complete(void **state)
{
	static const char *const d[] = {"2023-05-18 00:09:00", "2024-06-15 00:09:00", "2024-07-04 00:09:00",
					"2024-08-12 00:09:00", "2024-09-05 00:09:00", "2024-10-02 00:09:00",
					"2024-11-01 00:09:00", "2024-12-17 00:09:00", "2024-12-24 00:09:00",
					"2025-01-01 00:09:00", "2025-01-02 00:10:00", "2025-12-31 00:09:00",
					"2025-12-31 10:09:00"};
	(void)state;
	set_tz("Europe/Paris");
	CHECK(d, 2, ((struct ltr_cfg){2, 4, 5, 2}), "1,3,4,5");
}

static void test_xo_timezone(void **state)
{
	static const char *const d[] = {"2024-08-31 09:01:00", "2024-09-01 00:10:00", "2024-09-01 14:20:00",
					"2024-09-02 00:22:00", "2024-09-03 14:00:00", "2024-09-04 00:09:00",
					"2024-09-04 00:10:00"};
	(void)state;
	set_tz("Pacific/Auckland");
	CHECK(d, 0, ((struct ltr_cfg){3, 0, 0, 0}), "1,4,6,7");
}

/* ---- a simulated year ------------------------------------------------------------------ */

#define DAYS 400

static long day_of(int64_t t)
{
	return (long)(t / 86400);
}

/* Sunday of t's week: 1970-01-01 was a Thursday (weekday 4). */
static long week_of(int64_t t)
{
	return day_of(t) - (day_of(t) + 4) % 7;
}

static long month_of(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	return (tm.tm_year + 1900L) * 12 + tm.tm_mon;
}

static long year_of(int64_t t)
{
	return month_of(t) / 12;
}

/* Marks the first point of each of the newest count periods (of = the period). */
static void expect_first_of(const int64_t *t, size_t n, int count, long (*of)(int64_t), bool *keep)
{
	long seen[DAYS];
	int ns = 0;

	for (size_t k = n; k-- > 0;) {
		bool known = false;
		for (int s = 0; s < ns; s++)
			known |= seen[s] == of(t[k]);
		if (!known)
			seen[ns++] = of(t[k]);
	}
	for (int s = 0; s < ns && s < count; s++)
		for (size_t k = 0; k < n; k++)
			if (of(t[k]) == seen[s]) {
				keep[k] = true;
				break;
			}
}

static void test_year_of_daily_runs(void **state)
{
	const struct ltr_cfg l = {7, 4, 12, 2};
	const int retention = 3;
	int64_t all[DAYS], held[DAYS], t[DAYS];
	bool keep[DAYS], want[DAYS];
	size_t nheld = 0, nwant = 0;
	int64_t start = at("2025-07-01 02:00:00");
	(void)state;

	set_tz("UTC");
	/* one run a day, the repository pruned after each as a real run does */
	for (int d = 0; d < DAYS; d++) {
		size_t k = 0;
		all[d] = start + (int64_t)d * 86400;
		held[nheld++] = all[d];
		ltr_select(held, nheld, retention, &l, keep);
		for (size_t i = 0; i < nheld; i++)
			if (keep[i])
				t[k++] = held[i];
		memcpy(held, t, k * sizeof(*t));
		nheld = k;
	}
	/* what the calendar says: the newest 3, then the first run of each of the
	 * newest 7 days, 4 weeks (Sunday to Saturday), 12 months and 2 years */
	memset(want, 0, sizeof(want));
	for (int d = DAYS - retention; d < DAYS; d++)
		want[d] = true;
	expect_first_of(all, DAYS, l.daily, day_of, want);
	expect_first_of(all, DAYS, l.weekly, week_of, want);
	expect_first_of(all, DAYS, l.monthly, month_of, want);
	expect_first_of(all, DAYS, l.yearly, year_of, want);
	for (int d = 0; d < DAYS; d++)
		if (want[d]) {
			bool found = false;
			for (size_t i = 0; i < nheld; i++)
				found |= held[i] == all[d];
			if (!found)
				fail_msg("day %d should be kept and is not", d);
			nwant++;
		}
	assert_int_equal(nheld, nwant);
	/* both years' first runs, and 2026-01-01 as a month's and a year's first */
	assert_true(held[0] == start);
	for (size_t i = 0; i < nheld; i++)
		if (held[i] == at("2026-01-01 02:00:00"))
			nwant = 0;
	assert_int_equal(nwant, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xo_count_only), cmocka_unit_test(test_xo_daily),   cmocka_unit_test(test_xo_weekly),
		cmocka_unit_test(test_xo_monthly),    cmocka_unit_test(test_xo_complete), cmocka_unit_test(test_xo_timezone),
		cmocka_unit_test(test_year_of_daily_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
