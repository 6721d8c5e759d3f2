#include "table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "draw.h"
#include "hmap.h"
#include "keys.h"
#include "util.h"

struct row {
	char *key;
	char *cells[TABLE_MAX_COLS];
	/* the text each cell was made from when the sanitiser changed it (NULL: the same as
	 * cells[i]): a put with the same bytes skips the sanitiser */
	char *src[TABLE_MAX_COLS];
	double nums[TABLE_MAX_COLS];
	int roles[TABLE_MAX_COLS];
	enum role role;
	char *extra;
	char *extra_src; /* as src[], for extra */
};

/* One COLUMN:value term of the filter. */
struct term {
	int col;
	char *value;
	bool exclude;
};

struct table {
	struct table_col cols[TABLE_MAX_COLS];
	bool hidden[TABLE_MAX_COLS];
	int ncols;
	struct hmap rows;   /* key -> struct row */
	size_t nrows;
	struct row **view;  /* shown rows, sorted */
	size_t nview, capview;
	bool view_dirty;
	char *filter;
	char *words;        /* the filter without its terms: matched anywhere */
	struct term *terms;
	int nterms;
	int sort_col;
	bool sort_desc;
	char *sel_key;      /* the selection follows this key */
	size_t sel;         /* its index in view */
	size_t top;         /* first shown row */
	int page;           /* rows per page at the last draw */
	const char *one, *many; /* what a row is: "VM", "VMs" */
};

const struct table_key_help table_key_help[] = {
	{"Up/Down, j/k", "move the selection"},
	{"PgUp/PgDn, Home/End", "move by a page, to the first or last row"},
	{"< >", "sort by the previous or next column"},
	{"I", "reverse the sort order"},
	{NULL, NULL},
};

struct table *table_new(const struct table_col *cols, int ncols)
{
	struct table *t = xcalloc(1, sizeof(*t));

	if (ncols > TABLE_MAX_COLS)
		ncols = TABLE_MAX_COLS;
	memcpy(t->cols, cols, sizeof(*cols) * (size_t)ncols);
	t->ncols = ncols;
	hmap_init(&t->rows);
	t->page = 10;
	return t;
}

static void row_free(struct row *r)
{
	free(r->key);
	for (int i = 0; i < TABLE_MAX_COLS; i++) {
		free(r->cells[i]);
		free(r->src[i]);
	}
	free(r->extra);
	free(r->extra_src);
	free(r);
}

static bool free_row_cb(const char *key, void *value, void *ud)
{
	row_free(value);
	return true;
}

void table_clear(struct table *t)
{
	hmap_each(&t->rows, free_row_cb, NULL);
	hmap_free(&t->rows);
	hmap_init(&t->rows);
	t->nrows = 0;
	t->nview = 0;
	t->view_dirty = true;
}

void table_free(struct table *t)
{
	if (!t)
		return;
	table_clear(t);
	hmap_free(&t->rows);
	free(t->view);
	table_set_filter(t, NULL);
	free(t->sel_key);
	free(t);
}

/* True when s is printable ASCII only, which the sanitiser leaves as it is; its length in *len. */
static bool plain_ascii(const char *s, size_t *len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return false;
	*len = (size_t)(p - (const unsigned char *)s);
	return true;
}

/* Stores text in *cell (sanitised) unless it was made from the same bytes;
 * true when the cell changed. The figures change every refresh: plain ASCII
 * is copied as it is, in place when the length is the same. */
static bool set_text(char **cell, char **src, const char *text)
{
	const char *was = *src ? *src : *cell;
	size_t len;
	char *safe;

	if (was && strcmp(was, text) == 0)
		return false;
	if (plain_ascii(text, &len)) {
		if (*cell && !*src && strlen(*cell) == len) {
			memcpy(*cell, text, len);
			return true;
		}
		free(*cell);
		free(*src);
		*cell = xstrdup(text);
		*src = NULL;
		return true;
	}
	safe = ui_text(text);
	free(*cell);
	free(*src);
	*cell = safe;
	*src = strcmp(safe, text) == 0 ? NULL : xstrdup(text);
	return true;
}

void table_put(struct table *t, const char *key, const struct table_cell *cells, enum role row_role,
	       const char *extra)
{
	struct row *r = hmap_get(&t->rows, key);
	bool changed = false;

	if (!r) {
		r = xcalloc(1, sizeof(*r));
		r->key = xstrdup(key);
		hmap_put(&t->rows, r->key, r);
		t->nrows++;
		changed = true;
	}
	/* only what changed: the big lists put thousands of rows again every refresh */
	for (int i = 0; i < t->ncols; i++) {
		if (set_text(&r->cells[i], &r->src[i], cells[i].text ? cells[i].text : ""))
			changed = true;
		/* != is false for NaN: compare the bytes so an unchanged NaN stays unchanged */
		if (memcmp(&r->nums[i], &cells[i].num, sizeof(double)) != 0) {
			r->nums[i] = cells[i].num;
			changed = true;
		}
		r->roles[i] = cells[i].role;
	}
	if (extra && *extra) {
		if (set_text(&r->extra, &r->extra_src, extra))
			changed = true;
	} else if (r->extra) {
		free(r->extra);
		free(r->extra_src);
		r->extra = r->extra_src = NULL;
		changed = true;
	}
	r->role = row_role;
	/* the order and the filter read only the texts and numbers */
	if (changed)
		t->view_dirty = true;
}

bool table_remove(struct table *t, const char *key)
{
	struct row *r = hmap_del(&t->rows, key);

	if (!r)
		return false;
	/* the view may still point at it: rebuild before the next use */
	for (size_t i = 0; i < t->nview; i++)
		if (t->view[i] == r)
			t->view[i] = NULL;
	row_free(r);
	t->nrows--;
	t->view_dirty = true;
	return true;
}

bool table_has(const struct table *t, const char *key)
{
	return hmap_get(&t->rows, key) != NULL;
}

size_t table_count(const struct table *t)
{
	return t->nrows;
}

/* ---- view: filter and sort ---------------------------------------------- */

static bool matches(const struct table *t, const struct row *r)
{
	bool found;

	for (int i = 0; i < t->nterms; i++) {
		const struct term *term = &t->terms[i];
		if ((strcasestr(r->cells[term->col], term->value) != NULL) == term->exclude)
			return false;
	}
	if (!t->words)
		return true;
	found = r->extra && strcasestr(r->extra, t->words);
	for (int i = 0; i < t->ncols && !found; i++)
		found = strcasestr(r->cells[i], t->words) != NULL;
	return found;
}

/* The column a term's name means: its title ("power" is POWER), or its
 * title without a plural s ("tag" is TAGS); -1 if none. */
static int term_column(const struct table *t, const char *name, size_t len)
{
	for (int i = 0; i < t->ncols; i++) {
		const char *title = t->cols[i].title;
		size_t tl = strlen(title);
		if ((tl == len || (tl == len + 1 && (title[len] == 'S' || title[len] == 's')))
		    && strncasecmp(title, name, len) == 0)
			return i;
	}
	return -1;
}

/* Reads one word at *p (a "quoted" part keeps its spaces) into a new string. */
static char *next_word(const char **p)
{
	struct buf b;
	const char *s = *p;
	bool quoted = false;

	while (*s == ' ')
		s++;
	buf_init(&b);
	buf_puts(&b, "");
	for (; *s && (quoted || *s != ' '); s++) {
		if (*s == '"')
			quoted = !quoted;
		else
			buf_putc(&b, *s);
	}
	*p = s;
	return buf_steal(&b);
}

static void parse_filter(struct table *t, const char *text)
{
	const char *p = text;
	struct buf words;

	buf_init(&words);
	while (*p) {
		char *w = next_word(&p);
		const char *colon = strchr(w, ':');
		int col = colon && colon[1] ? term_column(t, w, (size_t)(colon - w)) : -1;
		if (col >= 0 && !(colon[1] == '!' && !colon[2])) {
			struct term *term;
			t->terms = xrealloc(t->terms, (size_t)(t->nterms + 1) * sizeof(*t->terms));
			term = &t->terms[t->nterms++];
			term->col = col;
			term->exclude = colon[1] == '!';
			term->value = xstrdup(colon + 1 + term->exclude);
		} else if (*w) {
			if (words.len)
				buf_putc(&words, ' ');
			buf_puts(&words, w);
		}
		free(w);
	}
	/* without terms, the text as typed (spaces and all) */
	if (!t->nterms) {
		buf_free(&words);
		t->words = xstrdup(text);
	} else {
		t->words = words.len ? buf_steal(&words) : NULL;
		buf_free(&words);
	}
}

struct collect {
	struct table *t;
};

static bool collect_cb(const char *key, void *value, void *ud)
{
	struct table *t = ud;
	struct row *r = value;

	if (!matches(t, r))
		return true;
	if (t->nview == t->capview) {
		t->capview = t->capview ? t->capview * 2 : 64;
		t->view = xrealloc(t->view, t->capview * sizeof(*t->view));
	}
	t->view[t->nview++] = r;
	return true;
}

static const struct table *sorting; /* qsort has no context argument */

static int compare_rows(const void *a, const void *b)
{
	const struct row *ra = *(struct row *const *)a, *rb = *(struct row *const *)b;
	int c = sorting->sort_col, d = 0;

	if (sorting->cols[c].numeric)
		d = (ra->nums[c] > rb->nums[c]) - (ra->nums[c] < rb->nums[c]);
	else
		d = strcasecmp(ra->cells[c], rb->cells[c]);
	if (sorting->sort_desc)
		d = -d;
	if (d == 0 && c != 0)
		d = strcasecmp(ra->cells[0], rb->cells[0]);
	/* a total order, so equal rows never swap places between redraws */
	return d ? d : strcmp(ra->key, rb->key);
}

static void clamp_scroll(struct table *t)
{
	int page = t->page > 0 ? t->page : 1;

	if (t->sel < t->top)
		t->top = t->sel;
	if (t->sel >= t->top + (size_t)page)
		t->top = t->sel - (size_t)page + 1;
	if (t->nview <= (size_t)page)
		t->top = 0;
	else if (t->top + (size_t)page > t->nview)
		t->top = t->nview - (size_t)page;
}

static void set_sel_key(struct table *t, const char *key)
{
	if (key && t->sel_key && strcmp(key, t->sel_key) == 0)
		return;
	free(t->sel_key);
	t->sel_key = key ? xstrdup(key) : NULL;
}

static void refresh_view(struct table *t)
{
	bool found = false;

	if (!t->view_dirty)
		return;
	t->view_dirty = false;
	t->nview = 0;
	hmap_each(&t->rows, collect_cb, t);
	sorting = t;
	if (t->nview > 1)
		qsort(t->view, t->nview, sizeof(*t->view), compare_rows);
	if (t->sel_key)
		for (size_t i = 0; i < t->nview; i++)
			if (strcmp(t->view[i]->key, t->sel_key) == 0) {
				t->sel = i;
				found = true;
				break;
			}
	if (!found) {
		/* the selected row went away: take the one now in its place */
		if (t->sel >= t->nview)
			t->sel = t->nview ? t->nview - 1 : 0;
		set_sel_key(t, t->nview ? t->view[t->sel]->key : NULL);
	}
	clamp_scroll(t);
}

size_t table_shown(struct table *t)
{
	refresh_view(t);
	return t->nview;
}

const char *table_selected(struct table *t)
{
	refresh_view(t);
	return t->nview ? t->view[t->sel]->key : NULL;
}

void table_select(struct table *t, const char *key)
{
	set_sel_key(t, key);
	t->view_dirty = true;
}

const char *table_row_key(struct table *t, size_t index)
{
	refresh_view(t);
	return index < t->nview ? t->view[index]->key : NULL;
}

void table_set_filter(struct table *t, const char *text)
{
	free(t->filter);
	free(t->words);
	for (int i = 0; i < t->nterms; i++)
		free(t->terms[i].value);
	free(t->terms);
	t->terms = NULL;
	t->nterms = 0;
	t->words = NULL;
	t->filter = text && *text ? xstrdup(text) : NULL;
	if (t->filter)
		parse_filter(t, t->filter);
	t->view_dirty = true;
}

void table_show_col(struct table *t, int col, bool shown)
{
	if (col < 0 || col >= t->ncols || t->hidden[col] == !shown)
		return;
	t->hidden[col] = !shown;
	if (!shown && t->sort_col == col)
		table_sort(t, 0, false);
}

/* The next (dir 1) or previous (-1) column shown, from col. */
static int next_shown(const struct table *t, int col, int dir)
{
	for (int i = 0; i < t->ncols; i++) {
		col = (col + dir + t->ncols) % t->ncols;
		if (!t->hidden[col])
			return col;
	}
	return col;
}

const char *table_filter(const struct table *t)
{
	return t->filter ? t->filter : "";
}

void table_sort(struct table *t, int col, bool descending)
{
	if (col < 0 || col >= t->ncols)
		return;
	t->sort_col = col;
	t->sort_desc = descending;
	t->view_dirty = true;
}

int table_sort_col(const struct table *t)
{
	return t->sort_col;
}

bool table_sort_desc(const struct table *t)
{
	return t->sort_desc;
}

const char *table_col_title(const struct table *t, int col)
{
	return col >= 0 && col < t->ncols ? t->cols[col].title : "";
}

static void move_to(struct table *t, long target)
{
	if (!t->nview)
		return;
	if (target < 0)
		target = 0;
	if (target >= (long)t->nview)
		target = (long)t->nview - 1;
	t->sel = (size_t)target;
	set_sel_key(t, t->view[t->sel]->key);
	clamp_scroll(t);
}

bool table_key(struct table *t, int key)
{
	long page = t->page > 1 ? t->page - 1 : 1;

	refresh_view(t);
	switch (key) {
	case XK_UP:
	case 'k':
		move_to(t, (long)t->sel - 1);
		return true;
	case XK_DOWN:
	case 'j':
		move_to(t, (long)t->sel + 1);
		return true;
	case XK_PGUP:
	case XK_CTRL('b'):
		move_to(t, (long)t->sel - page);
		return true;
	case XK_PGDN:
	case XK_CTRL('f'):
		move_to(t, (long)t->sel + page);
		return true;
	case XK_HOME:
	case 'g':
		move_to(t, 0);
		return true;
	case XK_END:
	case 'G':
		move_to(t, (long)t->nview - 1);
		return true;
	case '<':
		table_sort(t, next_shown(t, t->sort_col, -1), false);
		return true;
	case '>':
		table_sort(t, next_shown(t, t->sort_col, 1), false);
		return true;
	case 'I':
		table_sort(t, t->sort_col, !t->sort_desc);
		return true;
	default:
		return false;
	}
}

/* ---- drawing -------------------------------------------------------------- */

/* Picks the columns that fit and their widths; returns how many are shown. */
static int layout(const struct table *t, int cols, int *idx, int *width)
{
	bool shown[TABLE_MAX_COLS];
	int n = 0, need, flex = 0, spare;

	int min[TABLE_MAX_COLS];

	for (int i = 0; i < t->ncols; i++) {
		/* room for the title and the sort mark, whatever the table says */
		int title = (int)strlen(t->cols[i].title) + 1;
		min[i] = t->cols[i].width > title ? t->cols[i].width : title;
		shown[i] = !t->hidden[i];
	}
	for (;;) {
		int worst = -1;
		need = 0;
		n = 0;
		for (int i = 0; i < t->ncols; i++)
			if (shown[i]) {
				need += min[i] + (n ? 1 : 0);
				n++;
			}
		if (need <= cols)
			break;
		for (int i = 0; i < t->ncols; i++)
			if (shown[i] && t->cols[i].drop > 0 && (worst < 0 || t->cols[i].drop >= t->cols[worst].drop))
				worst = i;
		if (worst < 0)
			break; /* nothing more may go: cut at the edge */
		shown[worst] = false;
	}
	n = 0;
	for (int i = 0; i < t->ncols; i++)
		if (shown[i]) {
			idx[n] = i;
			width[n] = min[i];
			flex += t->cols[i].flex;
			n++;
		}
	spare = cols - need;
	if (spare > 0 && flex > 0) {
		int given = 0, last = -1;
		for (int k = 0; k < n; k++)
			if (t->cols[idx[k]].flex) {
				int add = spare * t->cols[idx[k]].flex / flex;
				width[k] += add;
				given += add;
				last = k;
			}
		width[last] += spare - given;
	} else if (spare > 0 && n > 0) {
		width[n - 1] += spare;
	}
	return n;
}

static void draw_cell(WINDOW *w, int y, int x, int width, attr_t a, const struct table_col *c, const char *s)
{
	if (c->right)
		ui_put_right(w, y, x, width, a, s);
	else
		ui_put(w, y, x, width, a, s);
}

void table_visible(const struct table *t, size_t *first, size_t *count)
{
	size_t page = t->page > 0 ? (size_t)t->page : 0;

	*first = t->top;
	*count = t->top < t->nview ? (t->nview - t->top < page ? t->nview - t->top : page) : 0;
}

void table_draw(struct table *t, WINDOW *w, int y, int x, int h, int cols, bool focused)
{
	int idx[TABLE_MAX_COLS], width[TABLE_MAX_COLS];
	int n, cx;
	attr_t normal = theme_attr(ROLE_NORMAL);

	if (h < 1 || cols < 4)
		return;
	t->page = h - 1 > 0 ? h - 1 : 1;
	refresh_view(t);
	clamp_scroll(t);
	n = layout(t, cols, idx, width);
	/* the header, with the sort column marked */
	cx = x;
	ui_fill(w, y, x, cols, theme_attr(ROLE_HEADER));
	for (int k = 0; k < n && cx < x + cols; k++) {
		const struct table_col *c = &t->cols[idx[k]];
		int wdt = width[k] < x + cols - cx ? width[k] : x + cols - cx;
		char title[64];
		if (idx[k] == t->sort_col)
			snprintf(title, sizeof(title), "%s%s", c->title, glyph(t->sort_desc ? GLYPH_SORT_DOWN : GLYPH_SORT_UP));
		else
			snprintf(title, sizeof(title), "%s", c->title);
		draw_cell(w, y, cx, wdt, theme_attr(ROLE_HEADER), c, title);
		cx += wdt + 1;
	}
	for (int line = 0; line < h - 1; line++) {
		size_t i = t->top + (size_t)line;
		int ry = y + 1 + line;
		struct row *r;
		bool sel;
		attr_t row_attr;

		if (i >= t->nview) {
			ui_fill(w, ry, x, cols, normal);
			continue;
		}
		r = t->view[i];
		sel = focused && i == t->sel;
		row_attr = sel ? theme_attr(ROLE_SELECTED) : theme_attr(r->role);
		ui_fill(w, ry, x, cols, row_attr);
		cx = x;
		for (int k = 0; k < n && cx < x + cols; k++) {
			int c = idx[k];
			int wdt = width[k] < x + cols - cx ? width[k] : x + cols - cx;
			attr_t a = sel || r->roles[c] < 0 ? row_attr : theme_attr((enum role)r->roles[c]);
			draw_cell(w, ry, cx, wdt, a, &t->cols[c], r->cells[c]);
			cx += wdt + 1;
		}
	}
	if (t->nview == 0 && h > 1)
		ui_put(w, y + 1, x, cols, theme_attr(ROLE_DIM),
		       t->filter ? "  nothing matches the filter (Esc clears it)" : "  (none)");
}

void table_set_noun(struct table *t, const char *one, const char *many)
{
	t->one = one;
	t->many = many;
}

void table_describe(struct table *t, char *buf, size_t n)
{
	const char *noun = t->nrows == 1 ? t->one : t->many;

	refresh_view(t);
	if (t->filter)
		snprintf(buf, n, "%zu of %zu%s%s", t->nview, t->nrows, noun ? " " : "", noun ? noun : "");
	else
		snprintf(buf, n, "%zu%s%s", t->nrows, noun ? " " : "", noun ? noun : "");
}
