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
	bool *stale;    /* rows likely not redrawn yet (see sb_observe) */
	int cursor_row; /* -1: no cursor seen */
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
	free(sb->stale);
	sb->cp = NULL;
	sb->fg = sb->bg = NULL;
	sb->hash = NULL;
	sb->blank = NULL;
	sb->stale = NULL;
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

/* The last row of the old screen with text to keep, -1 if none. */
static int last_text_row(const struct scrollback *sb)
{
	int r = sb->rows - 1;

	while (r >= 0 && (sb->blank[r] || sb->stale[r]))
		r--;
	return r;
}

/* Whether the old screen was replaced rather than edited in place: more
 * than half of its text rows now hold something else where they were
 * (typing, a menu moving or output below the prompt change a few rows; a
 * clear or more than a screenful of output changes them all). The rows the
 * cursor was or is on count only when most of the screen changed: typing
 * there is an edit, but a screen whose only text was the command line is
 * replaced when the command fills it. */
static bool replaced(const struct scrollback *sb, const uint64_t *hash, int cursor_row)
{
	int text = 0, gone = 0, gone_any = 0, changed = 0;

	for (int r = 0; r < sb->rows; r++) {
		bool diff = hash[r] != sb->hash[r];

		changed += diff;
		if (sb->blank[r] || sb->stale[r])
			continue;
		gone_any += diff;
		if (r == sb->cursor_row || r == cursor_row)
			continue;
		text++;
		gone += diff;
	}
	return (gone > 0 && 2 * gone > text) || (gone_any > 0 && 2 * changed > sb->rows);
}

/* The line that marks where lines may have gone by unseen. */
static void push_gap(struct scrollback *sb, int cols)
{
	static const char text[] = SB_GAP_TEXT;
	int n = (int)sizeof(text) - 1 < cols ? (int)sizeof(text) - 1 : cols;
	uint32_t *cp = xmalloc((size_t)(n + 1) * sizeof(*cp));
	uint8_t *fg = xmalloc((size_t)n + 1), *bg = xcalloc((size_t)n + 1, 1);

	for (int i = 0; i < n; i++) {
		cp[i] = (unsigned char)text[i];
		fg[i] = 14; /* yellow: not the guest's text */
	}
	push(sb, cp, fg, bg, n);
	free(cp);
	free(fg);
	free(bg);
}

size_t sb_observe(struct scrollback *sb, const struct fbtext *ft)
{
	int rows = fbtext_rows(ft), cols = fbtext_cols(ft);
	size_t ncell = (size_t)rows * (size_t)cols, kept = 0;
	uint32_t *cp;
	uint8_t *fg, *bg;
	uint64_t *hash;
	bool *blank, *stale;
	int k = 0, off = 0, ccol, crow, stale_from = rows;

	if (!fbtext_cursor(ft, &ccol, &crow))
		crow = -1;
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
	if (sb->rows == rows && sb->cols == cols) {
		k = sb_detect(sb->hash, sb->blank, hash, rows);
		stale_from = rows - k;
		if (k == 0 && replaced(sb, hash, crow)) {
			stale_from = 0;
			/* a clear or a scroll too long to see: what the old
			 * screen showed is gone from it, so it is kept */
			k = last_text_row(sb) + 1;
			/* text down to the last row: a scroll, perhaps of more
			 * lines than were ever shown */
			off = !blank[rows - 1];
		}
	}
	for (int r = 0; r < k; r++) {
		size_t o = (size_t)r * (size_t)cols;

		if (sb->stale[r])
			continue; /* a copy of a line kept or still shown */
		push(sb, sb->cp + o, sb->fg + o, sb->bg + o, cols);
		kept++;
	}
	/* rows that stayed where they were while the rest moved or changed
	 * are most likely not redrawn yet (a screen read halfway through an
	 * update, a copy of a row above): never counted or kept as text */
	stale = xcalloc((size_t)rows, sizeof(*stale));
	for (int r = stale_from; r < rows; r++)
		stale[r] = !blank[r] && hash[r] == sb->hash[r];
	if (off) {
		push_gap(sb, cols);
		kept++;
	}
	snapshot_free(sb);
	sb->rows = rows;
	sb->cols = cols;
	sb->cp = cp;
	sb->fg = fg;
	sb->bg = bg;
	sb->hash = hash;
	sb->blank = blank;
	sb->stale = stale;
	sb->cursor_row = crow;
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
