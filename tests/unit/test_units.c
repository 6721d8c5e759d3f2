/* src/ui/units.c: sizes as people type them (512M, 4G, 1.5T, the
 * MiB/GiB/TiB spellings, a bare number in the field's own unit), the
 * refusals in words, and a size shown as a bare number of a field's unit
 * reading back to the same bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ui/units.h"

#define KiB (1024LL)
#define MiB (1024LL * KiB)
#define GiB (1024LL * MiB)
#define TiB (1024LL * GiB)

static long long parse_ok(const char *s, long long unit)
{
	long long v = -1;
	const char *why = NULL;

	if (!size_parse(s, unit, &v, &why))
		fail_msg("'%s' was refused: %s", s, why);
	return v;
}

static const char *parse_refused(const char *s, long long unit)
{
	long long v = -1;
	const char *why = NULL;

	if (size_parse(s, unit, &v, &why))
		fail_msg("'%s' was taken as %lld", s, v);
	assert_non_null(why);
	assert_true(strlen(why) > 5);
	return why;
}

static void test_short_units(void **state)
{
	assert_int_equal(parse_ok("512M", GiB), 512 * MiB);
	assert_int_equal(parse_ok("4G", MiB), 4 * GiB);
	assert_int_equal(parse_ok("1.5T", MiB), TiB + TiB / 2);
	assert_int_equal(parse_ok("64k", MiB), 64 * KiB);
	assert_int_equal(parse_ok("100B", GiB), 100);
}

static void test_long_units(void **state)
{
	assert_int_equal(parse_ok("512 MiB", GiB), 512 * MiB);
	assert_int_equal(parse_ok("4 GiB", MiB), 4 * GiB);
	assert_int_equal(parse_ok("1.5 TiB", GiB), TiB + TiB / 2);
	assert_int_equal(parse_ok("2gib", MiB), 2 * GiB);
	assert_int_equal(parse_ok("  3 GB ", MiB), 3 * GiB);
	assert_int_equal(parse_ok("0.5g", MiB), GiB / 2);
	assert_int_equal(parse_ok(".25 GiB", MiB), GiB / 4);
}

static void test_bare_number_keeps_field_unit(void **state)
{
	assert_int_equal(parse_ok("4096", MiB), 4 * GiB);
	assert_int_equal(parse_ok("20", GiB), 20 * GiB);
	assert_int_equal(parse_ok("1.5", GiB), GiB + GiB / 2);
	assert_int_equal(parse_ok("0", GiB), 0);
}

static void test_refusals(void **state)
{
	parse_refused("", GiB);
	parse_refused("   ", GiB);
	assert_non_null(strstr(parse_refused("-4G", GiB), "negative"));
	assert_non_null(strstr(parse_refused("4 parsecs", GiB), "unit"));
	parse_refused("G", GiB);
	parse_refused("4 G G", GiB);
	parse_refused("inf", GiB);
	parse_refused("nan", GiB);
	parse_refused("0x10", GiB);
	parse_refused("1e3", GiB);
	parse_refused("1.2.3", GiB);
	assert_non_null(strstr(parse_refused("99999999 TiB", GiB), "large"));
}

static void test_unit_names(void **state)
{
	assert_string_equal(size_unit_name(MiB), "MiB");
	assert_string_equal(size_unit_name(GiB), "GiB");
	assert_string_equal(size_unit_name(TiB), "TiB");
	assert_null(size_unit_name(1000));
}

/* What a field shows parses back, in that field, to the same bytes. */
static void roundtrip(long long bytes, long long unit, const char *want)
{
	char buf[48];

	size_format_in(buf, sizeof(buf), bytes, unit);
	if (want)
		assert_string_equal(buf, want);
	assert_int_equal(parse_ok(buf, unit), bytes);
}

static void test_format_in(void **state)
{
	roundtrip(4 * GiB, MiB, "4096");
	roundtrip(10 * GiB, GiB, "10");
	roundtrip(GiB + GiB / 2, GiB, "1.5");
	roundtrip(GiB + GiB / 4, GiB, "1.25");
	roundtrip(0, GiB, "0");
	roundtrip(512 * MiB, MiB, "512");
	/* not a round number of the unit: shown with its own unit */
	roundtrip(10000000, GiB, NULL);
	roundtrip(123456789, MiB, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_units),
		cmocka_unit_test(test_long_units),
		cmocka_unit_test(test_bare_number_keeps_field_unit),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_unit_names),
		cmocka_unit_test(test_format_in),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
