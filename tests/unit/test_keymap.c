/* src/console/keymap.c against QEMU's own keymaps (Debian's qemu-system-data,
 * /usr/share/qemu/keymaps): for every printable ASCII character, and every
 * Latin-1 one a layout has, on us, de, fr and uk, the key events xentui
 * sends are replayed as a guest keyboard would see them (Shift and AltGr
 * held by their scancodes, then the key's scancode), and that combination
 * must be the one QEMU's file for the layout lists for the character's
 * keysym. Keysym names are read from X11's keysymdef.h, independently of
 * the code under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <rfb/keysym.h>

#include "keymap.h"
#include "util.h"

#define KEYSYMDEF "/usr/include/X11/keysymdef.h"
#define QEMU_KEYMAPS "/usr/share/qemu/keymaps"

#define MOD_SHIFT 1
#define MOD_ALTGR 2

struct entry {
	uint32_t keysym;
	unsigned code;
	int mods; /* MOD_SHIFT | MOD_ALTGR */
};

struct names {
	char (*name)[64];
	uint32_t *sym;
	size_t n;
};

static struct names names;

static void load_names(void)
{
	FILE *f = fopen(KEYSYMDEF, "r");
	char line[512], nm[64];
	unsigned long v;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "#define XK_%63s 0x%lx", nm, &v) == 2) {
			names.name = xrealloc(names.name, (names.n + 1) * sizeof(*names.name));
			names.sym = xrealloc(names.sym, (names.n + 1) * sizeof(*names.sym));
			snprintf(names.name[names.n], 64, "%s", nm);
			names.sym[names.n++] = (uint32_t)v;
		}
	fclose(f);
	assert_true(names.n > 1000);
}

static bool name_to_sym(const char *nm, uint32_t *sym)
{
	for (size_t i = 0; i < names.n; i++)
		if (strcmp(names.name[i], nm) == 0) {
			*sym = names.sym[i];
			return true;
		}
	return false;
}

/* The entries of QEMU's keymap file whose modifiers are only Shift and
 * AltGr (others, such as numlock, are not what a typed character needs). */
static struct entry *load_qemu(const char *layout, size_t *n)
{
	char path[256], line[512];
	struct entry *v = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", QEMU_KEYMAPS, layout);
	f = fopen(path, "r");
	if (!f)
		fail_msg("%s: cannot read it (Debian's qemu-system-data ships it)", path);
	*n = 0;
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *nm = strtok_r(line, " \t\n", &save), *code, *m;
		struct entry e = {0};
		bool other = false;

		if (!nm || nm[0] == '#' || !(code = strtok_r(NULL, " \t\n", &save)) || strncmp(code, "0x", 2) != 0)
			continue;
		if (!name_to_sym(nm, &e.keysym))
			continue;
		e.code = (unsigned)strtoul(code, NULL, 16);
		while ((m = strtok_r(NULL, " \t\n", &save))) {
			if (strcmp(m, "shift") == 0)
				e.mods |= MOD_SHIFT;
			else if (strcmp(m, "altgr") == 0)
				e.mods |= MOD_ALTGR;
			else
				other = true;
		}
		if (other)
			continue;
		v = xrealloc(v, (*n + 1) * sizeof(*v));
		v[(*n)++] = e;
	}
	fclose(f);
	assert_true(*n > 100);
	return v;
}

static bool qemu_has(const struct entry *v, size_t n, uint32_t sym, unsigned code, int mods)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].keysym == sym && v[i].code == code && v[i].mods == mods)
			return true;
	return false;
}

static bool qemu_has_char(const struct entry *v, size_t n, uint32_t sym)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].keysym == sym)
			return true;
	return false;
}

/* Replays the events of typing cp as the guest's keyboard: every press
 * released, modifiers by scancode, exactly one other key pressed. */
static void replay(int layout, uint32_t cp, unsigned *code, int *mods)
{
	struct keymap_event ev[KEYMAP_MAX_EVENTS];
	size_t n = keymap_type(layout, cp, ev);
	int held = 0, presses = 0, downs = 0;

	assert_true(n >= 2 && n <= KEYMAP_MAX_EVENTS);
	*code = 0;
	for (size_t i = 0; i < n; i++) {
		int bit = ev[i].code == 0x2a ? MOD_SHIFT : ev[i].code == 0xb8 ? MOD_ALTGR : 0;

		downs += ev[i].down ? 1 : -1;
		if (bit) {
			assert_int_equal(ev[i].keysym, bit == MOD_SHIFT ? XK_Shift_L : XK_ISO_Level3_Shift);
			held = ev[i].down ? held | bit : held & ~bit;
			continue;
		}
		assert_int_equal(ev[i].keysym, cp < 0x100 ? cp : 0x01000000u | cp);
		if (ev[i].down) {
			presses++;
			*code = ev[i].code;
			*mods = held;
		}
	}
	assert_int_equal(presses, 1);
	assert_int_equal(downs, 0);  /* everything pressed is released */
	assert_int_equal(held, 0);
}

static void check_layout(int layout, const char *qemu_name)
{
	size_t n;
	struct entry *v = load_qemu(qemu_name, &n);
	int latin1 = 0, bad = 0;

	for (uint32_t cp = 0x20; cp < 0x100; cp++) {
		unsigned code;
		int mods;

		if (cp >= 0x7F && cp < 0xA1)
			continue;
		if (cp >= 0x80 && !qemu_has_char(v, n, cp))
			continue; /* not on this layout's keys (QEMU's file agrees) */
		replay(layout, cp, &code, &mods);
		if (code == 0) {
			print_error("%s: no key for U+%04X (QEMU's file has one)\n", qemu_name, cp);
			bad++;
		} else if (!qemu_has(v, n, cp, code, mods)) {
			print_error("%s: U+%04X typed as key 0x%02x%s%s, which QEMU's keymap does not give it\n",
				    qemu_name, cp, code, mods & MOD_SHIFT ? " +shift" : "", mods & MOD_ALTGR ? " +altgr" : "");
			bad++;
		}
		latin1 += cp >= 0x80;
	}
	free(v);
	assert_int_equal(bad, 0);
	if (layout != KEYMAP_US)
		assert_true(latin1 > 10); /* the European layouts type accented letters too */
}

static void test_us(void **state)
{
	check_layout(KEYMAP_US, "en-us");
}

static void test_de(void **state)
{
	check_layout(KEYMAP_DE, "de");
}

static void test_fr(void **state)
{
	check_layout(KEYMAP_FR, "fr");
}

static void test_uk(void **state)
{
	check_layout(KEYMAP_UK, "en-gb");
}

/* What the issue reported, spelled out: on us, "!" is Shift + the 1 key;
 * on de, "@" is AltGr + Q and "z" is the key US keyboards call Y. */
static void test_examples(void **state)
{
	struct keymap_event ev[KEYMAP_MAX_EVENTS];
	size_t n = keymap_type(KEYMAP_US, '!', ev);

	assert_int_equal(n, 4);
	assert_true(ev[0].keysym == XK_Shift_L && ev[0].code == 0x2a && ev[0].down);
	assert_true(ev[1].keysym == '!' && ev[1].code == 0x02 && ev[1].down);
	assert_true(ev[2].keysym == '!' && ev[2].code == 0x02 && !ev[2].down);
	assert_true(ev[3].keysym == XK_Shift_L && !ev[3].down);
	n = keymap_type(KEYMAP_DE, '@', ev);
	assert_int_equal(n, 4);
	assert_true(ev[0].keysym == XK_ISO_Level3_Shift && ev[0].code == 0xb8 && ev[0].down);
	assert_true(ev[1].code == 0x10);
	n = keymap_type(KEYMAP_US, 'a', ev);
	assert_int_equal(n, 2);
	assert_int_equal(ev[0].code, 0x1e);
	assert_int_equal(keymap_code(KEYMAP_DE, 'z'), 0x15);
	assert_int_equal(keymap_code(KEYMAP_US, 'z'), 0x2c);
	assert_int_equal(keymap_code(KEYMAP_FR, 'a'), 0x10); /* Ctrl-a on AZERTY */
	assert_int_equal(keymap_code(KEYMAP_US, XK_Return), 0x1c);
	assert_int_equal(keymap_code(KEYMAP_US, XK_Left), 0xcb);
	assert_int_equal(keymap_code(KEYMAP_US, XK_F12), 0x58);
	assert_int_equal(keymap_code(KEYMAP_US, XK_Control_L), 0x1d);
	/* a character no layout has: its keysym alone */
	n = keymap_type(KEYMAP_DE, 0x263A, ev);
	assert_int_equal(n, 2);
	assert_true(ev[0].keysym == 0x0100263Au && ev[0].code == 0);
}

static void test_names(void **state)
{
	assert_int_equal(keymap_by_name("us"), KEYMAP_US);
	assert_int_equal(keymap_by_name("DE"), KEYMAP_DE);
	assert_int_equal(keymap_by_name("fr"), KEYMAP_FR);
	assert_int_equal(keymap_by_name("gb"), KEYMAP_UK);
	assert_int_equal(keymap_by_name("en-gb"), KEYMAP_UK);
	assert_int_equal(keymap_by_name("klingon"), -1);
	assert_int_equal(keymap_by_name(NULL), -1);
	assert_string_equal(keymap_name(KEYMAP_UK), "uk");
}

static int setup(void **state)
{
	load_names();
	return 0;
}

static int teardown(void **state)
{
	free(names.name);
	free(names.sym);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_us),       cmocka_unit_test(test_de),    cmocka_unit_test(test_fr),
		cmocka_unit_test(test_uk),       cmocka_unit_test(test_examples), cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
