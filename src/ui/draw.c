#include "draw.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "sanitize.h"
#include "util.h"

static bool utf8 = true;
static bool console_font;

void ui_set_utf8(bool on)
{
	utf8 = on;
}

void ui_set_console_font(bool on)
{
	console_font = on;
}

bool ui_utf8(void)
{
	return utf8;
}

const char *glyph(enum glyph g)
{
	static const char *const u[] = {"\xe2\x96\xb2", "\xe2\x96\xbc", "\xe2\x96\x88", "\xe2\x96\x91",
					"\xe2\x94\x82", "\xe2\x80\xa6", "\xe2\x86\x92", "\xe2\x80\xa2"};
	static const char *const a[] = {"^", "v", "#", "-", "|", "~", "->", "*"};

	/* the Linux console's font: only ASCII in text (lines go through ACS) */
	if (console_font)
		return a[g];
	return utf8 ? u[g] : a[g];
}

/* Without a UTF-8 locale every non-ASCII character becomes '?'. */
static char *fold_ascii(char *s)
{
	unsigned char *r = (unsigned char *)s, *w = (unsigned char *)s;

	while (*r) {
		if (*r < 0x80) {
			*w++ = *r++;
			continue;
		}
		*w++ = '?';
		r++;
		while ((*r & 0xC0) == 0x80)
			r++;
	}
	*w = '\0';
	return s;
}

char *ui_text(const char *s)
{
	char *t = sanitize(s), *u;

	if (!utf8)
		return fold_ascii(t);
	u = text_for_terminal(t);
	free(t);
	return u;
}

/* Draws s cell by cell: each character cell (a base and what joins it, as
 * text_cluster counts) goes to ncurses as one cchar_t, so that ncurses and
 * the terminal agree on every column; waddstr would split a ZWJ sequence
 * into cells the terminal joins. A wide cell that does not fit in cols
 * becomes spaces. Returns the columns drawn. */
static int put_cells(WINDOW *w, int y, int x, int cols, const char *s)
{
	size_t n = strlen(s);
	int used = 0;

	wmove(w, y, x);
	for (size_t i = 0; i < n && used < cols;) {
		int width;
		size_t len = text_cluster(s + i, n - i, &width, NULL);
		wchar_t wc[CCHARW_MAX + 1];
		mbstate_t st;
		const char *p = s + i;
		size_t k = 0;
		cchar_t cc;

		memset(&st, 0, sizeof(st));
		while (p < s + i + len && k < CCHARW_MAX) {
			size_t r = mbrtowc(&wc[k], p, (size_t)(s + i + len - p), &st);
			if (r == 0 || r == (size_t)-1 || r == (size_t)-2)
				break;
			p += r;
			k++;
		}
		i += len;
		if (k == 0 || width == 0)
			continue;
		if (used + width > cols) {
			ui_fill(w, y, x + used, cols - used, (attr_t)getattrs(w));
			used = cols;
			break;
		}
		memset(&cc, 0, sizeof(cc));
		setcchar(&cc, (wchar_t[]){wc[0], L'\0'}, A_NORMAL, 0, NULL);
		/* setcchar stops at the first spacing character: the joined parts go in by hand */
		for (size_t j = 1; j < k; j++)
			cc.chars[j] = wc[j];
		wadd_wch(w, &cc);
		used += width;
	}
	return used;
}

int ui_add(WINDOW *w, int y, int x, int cols, attr_t a, const char *s)
{
	char *t, *cut;
	int width;

	if (cols <= 0)
		return 0;
	t = ui_text(s);
	cut = text_truncate(t, cols, !utf8 || console_font);
	wattrset(w, a);
	width = put_cells(w, y, x, cols, cut);
	free(cut);
	free(t);
	return width;
}

int ui_addf(WINDOW *w, int y, int x, int cols, attr_t a, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	n = ui_add(w, y, x, cols, a, s);
	free(s);
	return n;
}

void ui_fill(WINDOW *w, int y, int x, int cols, attr_t a)
{
	if (cols <= 0)
		return;
	wattrset(w, a);
	mvwhline(w, y, x, ' ', cols);
}

int ui_put(WINDOW *w, int y, int x, int cols, attr_t a, const char *s)
{
	int n = ui_add(w, y, x, cols, a, s);

	ui_fill(w, y, x + n, cols - n, a);
	return n;
}

int ui_put_right(WINDOW *w, int y, int x, int cols, attr_t a, const char *s)
{
	char *t = ui_text(s);
	int width = text_width(t);

	free(t);
	if (width >= cols)
		return ui_put(w, y, x, cols, a, s);
	ui_fill(w, y, x, cols - width, a);
	return ui_add(w, y, x + cols - width, width, a, s);
}

void ui_hline(WINDOW *w, int y, int x, int cols, attr_t a)
{
	if (cols <= 0)
		return;
	wattrset(w, a);
	mvwhline(w, y, x, ACS_HLINE, cols);
}

void ui_frame(WINDOW *w, int y, int x, int h, int cols, attr_t frame, attr_t inside, const char *title,
	      attr_t title_attr)
{
	if (h < 2 || cols < 2)
		return;
	for (int i = 1; i < h - 1; i++)
		ui_fill(w, y + i, x + 1, cols - 2, inside);
	wattrset(w, frame);
	mvwaddch(w, y, x, ACS_ULCORNER);
	mvwhline(w, y, x + 1, ACS_HLINE, cols - 2);
	mvwaddch(w, y, x + cols - 1, ACS_URCORNER);
	mvwvline(w, y + 1, x, ACS_VLINE, h - 2);
	mvwvline(w, y + 1, x + cols - 1, ACS_VLINE, h - 2);
	mvwaddch(w, y + h - 1, x, ACS_LLCORNER);
	mvwhline(w, y + h - 1, x + 1, ACS_HLINE, cols - 2);
	mvwaddch(w, y + h - 1, x + cols - 1, ACS_LRCORNER);
	if (title && *title) {
		char *t = xasprintf(" %s ", title);
		ui_add(w, y, x + 2, cols - 4, title_attr, t);
		free(t);
	}
}

/* The byte length of the longest prefix of s (at most len bytes, cut at a
 * space when possible) that fits in cols columns; never inside a cell. */
static size_t fit(const char *s, size_t len, int cols, bool *at_space)
{
	size_t best = 0, i = 0;
	int width = 0;

	*at_space = false;
	while (i < len) {
		int cw;
		size_t n = text_cluster(s + i, len - i, &cw, NULL);
		width += cw;
		if (width > cols)
			break;
		if (s[i] == ' ') {
			best = i;
			*at_space = true;
		}
		i += n;
	}
	if (i >= len) {
		*at_space = false;
		return len;
	}
	if (best == 0) {
		*at_space = false;
		/* one long word: cut it (a cell wider than cols still moves on) */
		return i ? i : text_cluster(s, len, &width, NULL);
	}
	return best;
}

/* Newlines split paragraphs (each sanitised on its own), long lines wrap
 * at spaces. */
int ui_wrap(WINDOW *w, int y, int x, int cols, int rows, attr_t a, const char *s)
{
	int line = 0;

	if (cols <= 0)
		return 0;
	while (s && (rows == 0 || line < rows)) {
		const char *nl = strchr(s, '\n');
		char *para = nl ? xstrndup(s, (size_t)(nl - s)) : xstrdup(s);
		char *t = ui_text(para);
		const char *p = t;

		do {
			size_t len = strlen(p);
			bool space;
			size_t n = fit(p, len, cols, &space);
			if (rows && line < rows) {
				char *piece = xstrndup(p, n);
				ui_put(w, y + line, x, cols, a, piece);
				free(piece);
			}
			line++;
			p += n;
			while (*p == ' ')
				p++;
		} while (*p && (rows == 0 || line < rows));
		free(t);
		free(para);
		s = nl ? nl + 1 : NULL;
	}
	return line;
}

void ui_title(char *buf, size_t n, const char *prefix, const char *name, const char *suffix)
{
	char *safe = ui_text(name), *cut = NULL;
	/* the screen's title gets at least half the line (chrome_title) */
	int budget = COLS - COLS / 2 - 1 - text_width(prefix) - 1 - text_width(suffix);

	if (budget < 8)
		budget = 8;
	do {
		free(cut);
		cut = text_truncate(safe, budget, !utf8 || console_font);
	} while (strlen(prefix) + strlen(cut) + strlen(suffix) + 2 > n && --budget > 1);
	snprintf(buf, n, "%s %s%s", prefix, cut, suffix);
	free(cut);
	free(safe);
}

void ui_kv(WINDOW *w, int y, int x, int label_cols, int cols, const char *label, const char *value, attr_t value_attr)
{
	ui_put(w, y, x, label_cols, theme_attr(ROLE_HEADER), label);
	ui_put(w, y, x + label_cols, cols - label_cols, value_attr, value);
}

int ui_tabs(WINDOW *w, int y, int x, int cols, const char *const *names, int n, int active)
{
	int used = 0;

	ui_fill(w, y, x, cols, theme_attr(ROLE_TAB));
	for (int i = 0; i < n && used < cols; i++) {
		char *t = xasprintf(" %d %s ", i + 1, names[i]);
		used += ui_add(w, y, x + used, cols - used, theme_attr(i == active ? ROLE_TAB_ACTIVE : ROLE_TAB), t);
		used += ui_add(w, y, x + used, cols - used, theme_attr(ROLE_TAB), " ");
		free(t);
	}
	return used;
}
