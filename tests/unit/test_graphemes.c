/* Character cells as the terminal counts them (issue 19, "Drawn wrong"):
 * combining marks and selectors add no column, a ZWJ joins two wide
 * characters into one cell (tmux 3.3a), skin tones after an emoji are left
 * out of what is drawn (terminals disagree on them), and cutting never
 * splits a cell. */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sanitize.h"

#define MAN "\xf0\x9f\x91\xa8"
#define WOMAN "\xf0\x9f\x91\xa9"
#define GIRL "\xf0\x9f\x91\xa7"
#define BOY "\xf0\x9f\x91\xa6"
#define ZWJ "\xe2\x80\x8d"
#define THUMB "\xf0\x9f\x91\x8d"
#define TONE "\xf0\x9f\x8f\xbd"
#define VS16 "\xef\xb8\x8f"
#define ACUTE "\xcc\x81"
#define WHITE_FLAG "\xf0\x9f\x8f\xb3"
#define RAINBOW "\xf0\x9f\x8c\x88"

static void width_is(const char *s, int want)
{
	char *t = text_for_terminal(s);

	assert_int_equal(text_width(t), want);
	free(t);
}

static void drawn_as(const char *s, const char *want)
{
	char *t = text_for_terminal(s);

	assert_string_equal(t, want);
	free(t);
}

static void test_widths(void **state)
{
	width_is("abc", 3);
	/* a family of three: one cell of two columns */
	width_is("a" MAN ZWJ WOMAN ZWJ GIRL "b", 4);
	/* stacked marks: no column of their own */
	width_is("e" ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE "x", 2);
	/* a thumb with a skin tone: the thumb's two columns */
	width_is(THUMB TONE, 2);
	/* VS16 on a narrow base and the rainbow flag: what every terminal agrees on */
	width_is(WHITE_FLAG VS16 ZWJ RAINBOW, 3);
	/* four in a family do not fit one ncurses cell: side by side */
	width_is(MAN ZWJ WOMAN ZWJ GIRL ZWJ BOY, 8);
}

static void test_drawn(void **state)
{
	drawn_as(THUMB TONE "x", THUMB "x");
	drawn_as(MAN ZWJ WOMAN ZWJ GIRL, MAN ZWJ WOMAN ZWJ GIRL);
	drawn_as(MAN ZWJ WOMAN ZWJ GIRL ZWJ BOY, MAN WOMAN GIRL BOY);
	drawn_as(ACUTE "a", "a");
	drawn_as("a" ZWJ "b", "ab");
	drawn_as("e" ACUTE ACUTE ACUTE ACUTE ACUTE ACUTE, "e" ACUTE ACUTE ACUTE ACUTE);
	/* a tone on its own (no emoji before it) is a character of its own */
	drawn_as("x" TONE, "x" TONE);
}

static void test_cut(void **state)
{
	char *t = text_for_terminal("ab" MAN ZWJ WOMAN ZWJ GIRL "cd");
	char *cut = text_truncate(t, 4, 0);

	/* "ab" + the family would take 4 columns, with the ellipsis 5: cut before it */
	assert_string_equal(cut, "ab\xe2\x80\xa6");
	free(cut);
	cut = text_truncate(t, 5, 0);
	assert_string_equal(cut, "ab" MAN ZWJ WOMAN ZWJ GIRL "\xe2\x80\xa6");
	free(cut);
	free(t);
	cut = text_truncate("e" ACUTE ACUTE "fgh", 2, 0);
	assert_string_equal(cut, "e" ACUTE ACUTE "\xe2\x80\xa6");
	free(cut);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_widths),
		cmocka_unit_test(test_drawn),
		cmocka_unit_test(test_cut),
	};

	setlocale(LC_ALL, "C.UTF-8");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
