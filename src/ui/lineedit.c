#include "lineedit.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "draw.h"
#include "keys.h"
#include "sanitize.h"
#include "util.h"

void lineedit_init(struct lineedit *e, const char *text)
{
	memset(e, 0, sizeof(*e));
	lineedit_set(e, text);
}

void lineedit_free(struct lineedit *e)
{
	if (e->secret && e->text)
		memset(e->text, 0, e->cap);
	free(e->text);
	e->text = NULL;
	e->len = e->cap = e->cursor = 0;
}

void lineedit_set(struct lineedit *e, const char *text)
{
	size_t n = strlen(text ? text : "");

	if (n + 1 > e->cap) {
		e->cap = n + 32;
		e->text = xrealloc(e->text, e->cap);
	}
	memcpy(e->text, text ? text : "", n + 1);
	e->len = n;
	e->cursor = n;
}

static size_t prev_char(const struct lineedit *e, size_t i)
{
	if (i == 0)
		return 0;
	i--;
	while (i > 0 && ((unsigned char)e->text[i] & 0xC0) == 0x80)
		i--;
	return i;
}

static size_t next_char(const struct lineedit *e, size_t i)
{
	if (i >= e->len)
		return e->len;
	i++;
	while (i < e->len && ((unsigned char)e->text[i] & 0xC0) == 0x80)
		i++;
	return i;
}

static void delete_range(struct lineedit *e, size_t from, size_t to)
{
	memmove(e->text + from, e->text + to, e->len - to + 1);
	e->len -= to - from;
	e->cursor = from;
}

static bool insert(struct lineedit *e, int key)
{
	char mb[MB_LEN_MAX];
	mbstate_t st;
	size_t n;

	memset(&st, 0, sizeof(st));
	n = wcrtomb(mb, (wchar_t)key, &st);
	if (n == (size_t)-1 || (e->max && e->len + n > e->max))
		return false;
	if (e->len + n + 1 > e->cap) {
		e->cap = (e->len + n + 1) * 2;
		e->text = xrealloc(e->text, e->cap);
	}
	memmove(e->text + e->cursor + n, e->text + e->cursor, e->len - e->cursor + 1);
	memcpy(e->text + e->cursor, mb, n);
	e->len += n;
	e->cursor += n;
	return true;
}

static size_t word_start(const struct lineedit *e, size_t i)
{
	while (i > 0 && e->text[i - 1] == ' ')
		i--;
	while (i > 0 && e->text[i - 1] != ' ')
		i--;
	return i;
}

int lineedit_key(struct lineedit *e, int key)
{
	switch (key) {
	case XK_LEFT:
	case XK_CTRL('b'):
		e->cursor = prev_char(e, e->cursor);
		return EDIT_MOVED;
	case XK_RIGHT:
	case XK_CTRL('f'):
		e->cursor = next_char(e, e->cursor);
		return EDIT_MOVED;
	case XK_HOME:
	case XK_CTRL('a'):
		e->cursor = 0;
		return EDIT_MOVED;
	case XK_END:
	case XK_CTRL('e'):
		e->cursor = e->len;
		return EDIT_MOVED;
	case XK_BACKSPACE:
		if (e->cursor == 0)
			return EDIT_MOVED;
		delete_range(e, prev_char(e, e->cursor), e->cursor);
		return EDIT_CHANGED;
	case XK_DELETE:
	case XK_CTRL('d'):
		if (e->cursor >= e->len)
			return EDIT_MOVED;
		delete_range(e, e->cursor, next_char(e, e->cursor));
		return EDIT_CHANGED;
	case XK_CTRL('u'):
		delete_range(e, 0, e->cursor);
		return EDIT_CHANGED;
	case XK_CTRL('k'):
		e->text[e->cursor] = '\0';
		e->len = e->cursor;
		return EDIT_CHANGED;
	case XK_CTRL('w'):
		delete_range(e, word_start(e, e->cursor), e->cursor);
		return EDIT_CHANGED;
	default:
		if (!key_is_text(key))
			return EDIT_IGNORED;
		return insert(e, key) ? EDIT_CHANGED : EDIT_MOVED;
	}
}

int lineedit_draw(const struct lineedit *e, WINDOW *w, int y, int x, int cols, attr_t a)
{
	char *before, *shown;
	int cursor_col, skip = 0;
	size_t start = 0;

	if (cols <= 1)
		return 0;
	if (e->secret) {
		/* one star per character, never the text */
		size_t nchars = 0, upto = 0;
		for (size_t i = 0; i < e->len; i = next_char(e, i)) {
			nchars++;
			if (i < e->cursor)
				upto++;
		}
		shown = xmalloc(nchars + 1);
		memset(shown, '*', nchars);
		shown[nchars] = '\0';
		cursor_col = (int)upto;
		if (cursor_col >= cols)
			skip = cursor_col - cols + 1;
		ui_put(w, y, x, cols, a, shown + skip);
		free(shown);
		return cursor_col - skip;
	}
	before = xstrndup(e->text, e->cursor);
	{
		char *safe = ui_text(before);
		cursor_col = text_width(safe);
		free(safe);
	}
	free(before);
	/* scroll so the cursor stays inside the field */
	while (cursor_col >= cols && start < e->cursor) {
		size_t n = next_char(e, start);
		char *piece = xstrndup(e->text + start, n - start);
		char *safe = ui_text(piece);
		cursor_col -= text_width(safe);
		free(safe);
		free(piece);
		start = n;
	}
	ui_put(w, y, x, cols, a, e->text + start);
	return cursor_col;
}
