/* The console's scrollback: see console_scroll.h. */
#include "console_scroll.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct scrollback {
	size_t max;
	struct sb_line *ring; /* max slots; line n is at (n % max) */
	size_t first, end;    /* line numbers kept: [first, end) */

	/* the screen seen last time */
	int rows, cols;
	uint32_t *cp;
	uint8_t *fg, *bg;
	uint64_t *hash;
	bool *blank;
};

struct scrollback *sb_new(size_t max)
{
	struct scrollback *sb = xcalloc(1, sizeof(*sb));

	sb->max = max;
	sb->ring = max ? xcalloc(max, sizeof(*sb->ring)) : NULL;
	return sb;
}

static void line_free(struct sb_line *l)
{
	free(l->cp);
	free(l->fg);
	free(l->bg);
	memset(l, 0, sizeof(*l));
}

static void snapshot_free(struct scrollback *sb)
{
	free(sb->cp);
	free(sb->fg);
	free(sb->bg);
	free(sb->hash);
	free(sb->blank);
	sb->cp = NULL;
	sb->fg = sb->bg = NULL;
	sb->hash = NULL;
	sb->blank = NULL;
	sb->rows = sb->cols = 0;
}

void sb_free(struct scrollback *sb)
{
	if (!sb)
		return;
	for (size_t i = 0; i < sb->max; i++)
		line_free(&sb->ring[i]);
	free(sb->ring);
	snapshot_free(sb);
	free(sb);
}

size_t sb_first(const struct scrollback *sb)
{
	return sb->first;
}

size_t sb_end(const struct scrollback *sb)
{
	return sb->end;
}

const struct sb_line *sb_get(const struct scrollback *sb, size_t n)
{
	if (n < sb->first || n >= sb->end)
		return NULL;
	return &sb->ring[n % sb->max];
}

static void push(struct scrollback *sb, const uint32_t *cp, const uint8_t *fg, const uint8_t *bg, int n)
{
	struct sb_line *l;

	if (!sb->max)
		return;
	if (sb->end - sb->first == sb->max)
		sb->first++; /* the oldest goes: its slot is reused below */
	l = &sb->ring[sb->end % sb->max];
	line_free(l);
	l->n = n;
	l->cp = xmalloc((size_t)n * sizeof(*cp) + 1);
	l->fg = xmalloc((size_t)n + 1);
	l->bg = xmalloc((size_t)n + 1);
	memcpy(l->cp, cp, (size_t)n * sizeof(*cp));
	memcpy(l->fg, fg, (size_t)n);
	memcpy(l->bg, bg, (size_t)n);
	sb->end++;
}

/* The longest run of rows from the top for which new row i is old row i+k. */
static int prefix(const uint64_t *o, const uint64_t *n, int rows, int k)
{
	int i = 0;

	while (i + k < rows && n[i] == o[i + k])
		i++;
	return i;
}

/* A scroll by k leaves old rows k.. at the top of the new screen, then new
 * lines below: the match must start at the top. Among the shifts, the one
 * that explains most of the old screen (the rows matched plus the k gone
 * off) wins, and it must beat "no scroll" (only some rows at the bottom
 * rewritten, the usual case) outright. Guards against seeing a scroll in
 * unrelated content: at least two matched rows (or all that are left), one
 * of them not blank, and, when the old bottom row was blank, new text below
 * the matched rows (else a `clear` that left a prompt at the top would read
 * as a scroll to an old prompt line). */
int sb_detect(const uint64_t *old_rows, const bool *old_blank, const uint64_t *new_rows, int rows)
{
	int best = 0, best_score;

	if (rows < 2)
		return 0;
	best_score = prefix(old_rows, new_rows, rows, 0);
	if (best_score == rows)
		return 0;
	for (int k = 1; k < rows; k++) {
		int l = prefix(old_rows, new_rows, rows, k);
		bool text = false;

		if (l < 2 && l < rows - k)
			continue;
		if (l == 0 || (old_blank[rows - 1] && l == rows - k))
			continue;
		for (int i = 0; i < l && !text; i++)
			text = !old_blank[i + k];
		if (text && l + k > best_score) {
			best = k;
			best_score = l + k;
		}
	}
	return best;
}

static uint64_t row_hash(const uint32_t *cp, int n, bool *blank)
{
	uint64_t h = 1469598103934665603ull;

	*blank = true;
	for (int i = 0; i < n; i++) {
		h = (h ^ cp[i]) * 1099511628211ull;
		if (cp[i] != ' ')
			*blank = false;
	}
	return h;
}

size_t sb_observe(struct scrollback *sb, const struct fbtext *ft)
{
	int rows = fbtext_rows(ft), cols = fbtext_cols(ft);
	size_t ncell = (size_t)rows * (size_t)cols, kept = 0;
	uint32_t *cp;
	uint8_t *fg, *bg;
	uint64_t *hash;
	bool *blank;
	int k = 0;

	if (!rows || !cols || !fbtext_is_text(ft)) {
		snapshot_free(sb); /* graphics: nothing scrolls */
		return 0;
	}
	cp = xmalloc(ncell * sizeof(*cp));
	fg = xmalloc(ncell);
	bg = xmalloc(ncell);
	hash = xmalloc((size_t)rows * sizeof(*hash));
	blank = xmalloc((size_t)rows * sizeof(*blank));
	for (int r = 0; r < rows; r++) {
		for (int c = 0; c < cols; c++) {
			const struct fbtext_cell *cell = fbtext_cell(ft, c, r);
			size_t i = (size_t)r * (size_t)cols + (size_t)c;

			cp[i] = cell->cp;
			fg[i] = cell->fg16;
			bg[i] = cell->bg16;
		}
		hash[r] = row_hash(cp + (size_t)r * (size_t)cols, cols, &blank[r]);
	}
	if (sb->rows == rows && sb->cols == cols)
		k = sb_detect(sb->hash, sb->blank, hash, rows);
	for (int r = 0; r < k; r++, kept++) {
		size_t o = (size_t)r * (size_t)cols;

		push(sb, sb->cp + o, sb->fg + o, sb->bg + o, cols);
	}
	snapshot_free(sb);
	sb->rows = rows;
	sb->cols = cols;
	sb->cp = cp;
	sb->fg = fg;
	sb->bg = bg;
	sb->hash = hash;
	sb->blank = blank;
	return kept;
}

size_t sb_line_text(const struct sb_line *l, char *buf, size_t cap)
{
	size_t len = 0, end = 0;

	if (!cap)
		return 0;
	for (int i = 0; l && i < l->n; i++) {
		uint32_t cp = l->cp[i];

		if (cp == FBTEXT_UNKNOWN || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000))
			cp = 0xFFFD;
		if (cp < 0x20)
			cp = ' ';
		if (!fbtext_put_utf8(buf, cap, &len, &end, cp))
			break;
	}
	buf[end] = '\0';
	return end;
}
