#include "keys.h"
#include "util.h"

#include <limits.h>
#include <stdio.h>
#include <wchar.h>
#include <wctype.h>

static int normalise(int key)
{
	switch (key) {
	case '\r':
	case XK_FN(KEY_ENTER):
		return XK_ENTER;
	case 127:
	case 8:
		return XK_BACKSPACE;
	default:
		return key;
	}
}

bool key_read(WINDOW *w, int *key)
{
	wint_t ch;
	int r = wget_wch(w, &ch);

	if (r == ERR)
		return false;
	*key = normalise(r == KEY_CODE_YES ? XK_FN((int)ch) : (int)ch);
	return true;
}

bool key_is_text(int key)
{
	return key >= 0x20 && key < 0x110000 && key != 127 && iswprint((wint_t)key);
}

const char *key_describe(int key, char *buf, int n)
{
	static const struct {
		int key;
		const char *name;
	} names[] = {
		{XK_ENTER, "Enter"}, {XK_ESC, "Esc"}, {XK_TAB, "Tab"}, {XK_BTAB, "S-Tab"}, {XK_UP, "Up"},
		{XK_DOWN, "Down"}, {XK_LEFT, "Left"}, {XK_RIGHT, "Right"}, {XK_PGUP, "PgUp"}, {XK_PGDN, "PgDn"},
		{XK_HOME, "Home"}, {XK_END, "End"}, {XK_BACKSPACE, "BkSp"}, {XK_DELETE, "Del"}, {' ', "Space"},
	};

	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		if (names[i].key == key) {
			snprintf(buf, (size_t)n, "%s", names[i].name);
			return buf;
		}
	for (int f = 1; f <= 12; f++)
		if (key == XK_F(f)) {
			snprintf(buf, (size_t)n, "F%d", f);
			return buf;
		}
	if (key > 0 && key < 0x20) {
		snprintf(buf, (size_t)n, "^%c", key + '@');
		return buf;
	}
	if (key < 0x110000) {
		char mb[MB_LEN_MAX + 1];
		mbstate_t st = {0};
		size_t len = wcrtomb(mb, (wchar_t)key, &st);
		if (len == (size_t)-1)
			len = 0;
		mb[len] = '\0';
		snprintf(buf, (size_t)n, "%s", mb);
		return buf;
	}
	snprintf(buf, (size_t)n, "key%d", key - 0x110000);
	return buf;
}
