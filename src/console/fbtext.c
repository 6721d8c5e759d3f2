/* Framebuffer to text: see fbtext.h. */
#include "fbtext.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

/* The built-in fonts: fbfonts[], FBFONTS_COUNT (scripts/embed-fonts.py). */
#include "fonts_data.h"

#define MAXH 32      /* tallest glyph handled */
#define MAXW 16      /* widest cell handled */
#define WORDS (MAXH / 4) /* a pattern as 64-bit words: four 16-bit rows each */
#define MAXFONTS 32  /* fonts of one glyph size (votes are a bit mask) */
#define MAXSIZES 32  /* distinct cell sizes */
#define MEMO 1024    /* nearest-match answers remembered */

/* One glyph pattern: rows of bits, bit (w-1-x) = pixel x is foreground. */
struct pattern {
	uint32_t hash;
	uint32_t cp;    /* 0 = empty slot (U+0000 is never stored) */
	uint32_t fonts; /* the fonts (of the size's list) that draw it */
	uint16_t rows[MAXH];
};

/* A glyph of one font as a cell shows it: its pattern packed, and its
 * pixel count (a glyph may have two: VGA's 9th column blank or repeated). */
struct cand {
	uint32_t cp;
	uint32_t pc;
	uint64_t w[WORDS];
};

/* A pattern's slot under the hash of its rows with two rows left out. */
struct cursor_key {
	uint32_t hash;
	uint32_t slot;
};

/* A font of a size: its glyphs sorted by pixel count (for nearest
 * matching) and a hash table of them (indices + 1; the font's own reading
 * of a bitmap, used while the screen shows that font). */
struct sfont {
	const struct fbfont *f;
	struct cand *cand;
	size_t ncand;
	uint32_t *tab;
	uint32_t *tab_hash;
	size_t tab_mask;
};

/* A cell size and what reads it: the fonts of that glyph size, one table
 * of their patterns, per font its glyphs sorted by pixel count. Built the
 * first time the size is used. */
struct size {
	int fw, fh, cw;
	bool built;
	int nfonts;
	struct sfont font[MAXFONTS];
	uint32_t votes[MAXFONTS]; /* exact matches lately, per font */
	uint32_t nvotes;          /* since they were last halved */
	struct pattern *table;    /* open addressing, size a power of two */
	size_t table_mask;
	uint32_t *filled;         /* the table's used slots */
	size_t nfilled;
	/* per cursor row (h-2, h-3): the used slots by the hash of their rows
	 * without the two cursor rows, sorted, so under_cursor need not scan */
	struct cursor_key *cursor_keys[2];
	int limit;                /* the largest distance accepted as near */
};

/* A remembered nearest-match answer (cells of one pattern recur). */
struct memo {
	uint32_t hash; /* of rows; 0 = empty */
	uint32_t cp;   /* FBTEXT_UNKNOWN for "nothing near" */
	bool inverted; /* the top-left pixel is the foreground */
	int8_t size, font;
	uint16_t rows[MAXH];
};

/* A small direct-mapped cache of nearest-colour answers (screens use few). */
struct colour_memo {
	uint32_t rgb; /* with bit 31 set when valid */
	uint8_t c16, c256;
};

struct fbtext {
	struct fbfont own;          /* the font given to fbtext_new(), as a built-in one */
	bool has_own;
	struct size sizes[MAXSIZES];
	int nsizes;
	int cur;                    /* index in sizes of the current grid, -1 before any */
	int cw, ch;                 /* cell size of the current geometry */
	int cols, rows, width, height;
	struct fbtext_cell *cells;
	uint8_t *is_changed; /* per cell: already in changed[] */
	uint32_t *changed;   /* cell indices */
	size_t nchanged;
	size_t unknown; /* cells with cp == FBTEXT_UNKNOWN */
	size_t inked;   /* cells read as a character other than a space */
	size_t fresh_unknown; /* cells the last update made unknown */
	long picked_ms;       /* when pick_size() last tried a large rectangle */
	long cursor;    /* index of the cell showing the cursor, or -1 */
	struct memo *memo;
	struct colour_memo cmemo[256];
};

/* VGA's 16 colours in ANSI order (as terminals number them). */
static const uint32_t ansi16[16] = {
	0x000000, 0xAA0000, 0x00AA00, 0xAA5500, 0x0000AA, 0xAA00AA, 0x00AAAA, 0xAAAAAA,
	0x555555, 0xFF5555, 0x55FF55, 0xFFFF55, 0x5555FF, 0xFF55FF, 0x55FFFF, 0xFFFFFF,
};

static long dist2(uint32_t a, uint32_t b)
{
	long dr = (long)(a >> 16 & 0xFF) - (long)(b >> 16 & 0xFF);
	long dg = (long)(a >> 8 & 0xFF) - (long)(b >> 8 & 0xFF);
	long db = (long)(a & 0xFF) - (long)(b & 0xFF);

	return dr * dr + dg * dg + db * db;
}

uint8_t fbtext_nearest16(uint32_t rgb)
{
	uint8_t best = 0;
	long bd = -1;

	for (int i = 0; i < 16; i++) {
		long d = dist2(rgb & 0xFFFFFF, ansi16[i]);

		if (bd < 0 || d < bd) {
			bd = d;
			best = (uint8_t)i;
		}
	}
	return best;
}

static const int cube_level[6] = {0, 95, 135, 175, 215, 255};

static int nearest_level(int v)
{
	int best = 0;

	for (int i = 1; i < 6; i++)
		if (abs(v - cube_level[i]) < abs(v - cube_level[best]))
			best = i;
	return best;
}

uint8_t fbtext_nearest256(uint32_t rgb)
{
	int r = rgb >> 16 & 0xFF, g = rgb >> 8 & 0xFF, b = rgb & 0xFF;
	int ri = nearest_level(r), gi = nearest_level(g), bi = nearest_level(b);
	uint32_t cube = (uint32_t)cube_level[ri] << 16 | (uint32_t)cube_level[gi] << 8 | (uint32_t)cube_level[bi];
	int best = 16 + 36 * ri + 6 * gi + bi;
	long bd = dist2(rgb & 0xFFFFFF, cube);

	for (int i = 0; i < 24; i++) { /* grey ramp 232-255: 8, 18, ..., 238 */
		uint32_t v = (uint32_t)(8 + 10 * i);
		long d = dist2(rgb & 0xFFFFFF, v << 16 | v << 8 | v);

		if (d < bd) {
			bd = d;
			best = 232 + i;
		}
	}
	return (uint8_t)best;
}

static void nearest(struct fbtext *ft, uint32_t rgb, uint8_t *c16, uint8_t *c256)
{
	struct colour_memo *m = &ft->cmemo[(rgb ^ rgb >> 8 ^ rgb >> 16) & 0xFF];

	if (m->rgb != (rgb | 0x80000000u)) {
		m->rgb = rgb | 0x80000000u;
		m->c16 = fbtext_nearest16(rgb);
		m->c256 = fbtext_nearest256(rgb);
	}
	*c16 = m->c16;
	*c256 = m->c256;
}

/* ---- fonts and their tables --------------------------------------------- */

size_t fbtext_builtin_count(void)
{
	return FBFONTS_COUNT;
}

const struct fbfont *fbtext_builtin(size_t k)
{
	return k < FBFONTS_COUNT ? &fbfonts[k] : NULL;
}

static bool font_pixel(const struct fbfont *f, int g, int x, int y)
{
	int rb = (f->width + 7) / 8;

	return f->bits[((size_t)g * (size_t)f->height + (size_t)y) * (size_t)rb + (size_t)(x / 8)] & (0x80 >> (x % 8));
}

/* The hash of a pattern's rows, computed row by row as cells are read. */
static inline uint32_t hash_step(uint32_t h, uint32_t row)
{
	return (h ^ row) * 0x01000193u; /* FNV-1a on 16-bit rows */
}

static inline uint32_t hash_final(uint32_t h)
{
	h ^= h >> 15;
	h *= 0x2C1B3C6Du;
	h ^= h >> 12;
	return h | 1; /* never 0: the memo's empty mark */
}

static uint32_t hash_rows(const uint16_t *rows, int h)
{
	uint32_t x = 0x811C9DC5u;

	for (int y = 0; y < h; y++)
		x = hash_step(x, rows[y]);
	return hash_final(x);
}

/* The hash of rows with rows cy and cy + 1 (an underline cursor's) blank. */
static uint32_t hash_without(const uint16_t *rows, int h, int cy)
{
	uint32_t x = 0x811C9DC5u;

	for (int y = 0; y < h; y++)
		x = hash_step(x, y == cy || y == cy + 1 ? 0u : rows[y]);
	return hash_final(x);
}

static int cursor_key_cmp(const void *a, const void *b)
{
	const struct cursor_key *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static void pack(const uint16_t *rows, int h, uint64_t *w)
{
	memset(w, 0, WORDS * sizeof(*w));
	for (int y = 0; y < h; y++)
		w[y / 4] |= (uint64_t)rows[y] << (16 * (y % 4));
}

static const struct pattern *lookup(const struct size *s, uint32_t hash, const uint16_t *rows)
{
	for (size_t i = hash & s->table_mask;; i = (i + 1) & s->table_mask) {
		const struct pattern *p = &s->table[i];

		if (p->cp == 0)
			return NULL;
		if (p->hash == hash && memcmp(p->rows, rows, (size_t)s->fh * sizeof(rows[0])) == 0)
			return p;
	}
}

/* Adds a pattern of font k unless an identical one is there (the first
 * added wins, so callers add preferred code points first; the font is
 * noted on it either way). */
static void insert(struct size *s, const uint16_t *rows, uint32_t cp, int k)
{
	uint32_t hash = hash_rows(rows, s->fh);
	struct pattern *p = (struct pattern *)lookup(s, hash, rows);

	if (p) {
		p->fonts |= 1u << k;
		return;
	}
	for (size_t i = hash & s->table_mask;; i = (i + 1) & s->table_mask) {
		p = &s->table[i];
		if (p->cp == 0) {
			p->hash = hash;
			p->cp = cp;
			p->fonts = 1u << k;
			memcpy(p->rows, rows, (size_t)s->fh * sizeof(rows[0]));
			s->filled[s->nfilled++] = (uint32_t)i;
			return;
		}
	}
}

/* Glyph g's pattern in a cell cw wide: columns past the glyph blank, or
 * repeating its last column (VGA's 9th column for line graphics). */
static void glyph_pattern(const struct fbfont *f, int g, int cw, bool repeat_last, uint16_t *rows)
{
	for (int y = 0; y < f->height; y++) {
		uint16_t r = 0;

		for (int x = 0; x < cw; x++) {
			int sx = x < f->width ? x : (repeat_last ? f->width - 1 : -1);

			r = (uint16_t)(r << 1 | (sx >= 0 && font_pixel(f, g, sx, y)));
		}
		rows[y] = r;
	}
}

static bool cand_same(const struct cand *c, const uint64_t *w)
{
	return memcmp(c->w, w, sizeof(c->w)) == 0;
}

/* The glyph of font sf whose pattern is w (hash h), or NULL. */
static const struct cand *font_lookup(const struct sfont *sf, uint32_t h, const uint64_t *w)
{
	for (size_t i = h & sf->tab_mask; sf->tab[i]; i = (i + 1) & sf->tab_mask)
		if (sf->tab_hash[i] == h && cand_same(&sf->cand[sf->tab[i] - 1], w))
			return &sf->cand[sf->tab[i] - 1];
	return NULL;
}

static int cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	return x->pc != y->pc ? (x->pc < y->pc ? -1 : 1) : (x->cp < y->cp ? -1 : x->cp > y->cp);
}

/* Font sf's glyphs in cells of size s: every glyph with its 9th column
 * blank and, where VGA repeats the 8th (line graphics; slots 0xB0-0xDF in
 * QEMU), repeated too; sorted by pixel count, and hashed (ASCII first, so
 * a bitmap the font draws twice reads as ASCII). */
static void build_font(const struct size *s, struct sfont *sf)
{
	const struct fbfont *f = sf->f;
	uint16_t rows[MAXH];
	size_t size = 16;

	sf->cand = xmalloc((size_t)f->count * 2 * sizeof(struct cand));
	sf->ncand = 0;
	for (int g = 0; g < f->count; g++)
		for (int rep = 0; rep < 2; rep++) {
			struct cand *c = &sf->cand[sf->ncand];
			int slot = f->slot[g] & 0xFF;

			if (rep && (s->cw <= s->fw || !(psf_vga_line_graphics(f->cp[g]) || (slot >= 0xB0 && slot <= 0xDF))))
				continue;
			glyph_pattern(f, g, s->cw, rep, rows);
			pack(rows, s->fh, c->w);
			if (rep && cand_same(c - 1, c->w))
				continue;
			c->cp = f->cp[g];
			c->pc = 0;
			for (int i = 0; i < WORDS; i++)
				c->pc += (uint32_t)__builtin_popcountll(c->w[i]);
			sf->ncand++;
		}
	qsort(sf->cand, sf->ncand, sizeof(struct cand), cand_cmp);
	while (size < sf->ncand * 4)
		size *= 2;
	sf->tab = xcalloc(size, sizeof(*sf->tab));
	sf->tab_hash = xcalloc(size, sizeof(*sf->tab_hash));
	sf->tab_mask = size - 1;
	for (int ascii = 1; ascii >= 0; ascii--)
		for (size_t i = 0; i < sf->ncand; i++) {
			const struct cand *c = &sf->cand[i];
			uint16_t r[MAXH];
			uint32_t h;
			size_t j;

			if ((c->cp < 0x80) != ascii)
				continue;
			for (int y = 0; y < s->fh; y++)
				r[y] = (uint16_t)(c->w[y / 4] >> (16 * (y % 4)));
			h = hash_rows(r, s->fh);
			if (font_lookup(sf, h, c->w))
				continue;
			for (j = h & sf->tab_mask; sf->tab[j]; j = (j + 1) & sf->tab_mask)
				;
			sf->tab[j] = (uint32_t)i + 1;
			sf->tab_hash[j] = h;
		}
}

/* Fills the size's table and candidate lists from its fonts. */
static void build_size(struct size *s)
{
	uint16_t rows[MAXH];
	size_t total = 0, size = 64;

	for (int k = 0; k < s->nfonts; k++)
		total += (size_t)s->font[k].f->count;
	while (size < total * 4 + 64)
		size *= 2;
	s->table = xcalloc(size, sizeof(*s->table));
	s->table_mask = size - 1;
	s->filled = xcalloc(size, sizeof(*s->filled));
	s->limit = s->fw * s->fh / 20 > 2 ? s->fw * s->fh / 20 : 2;

	/* VGA line graphics first: with a lit 9th column they can only be those */
	if (s->cw > s->fw)
		for (int k = 0; k < s->nfonts; k++)
			for (int g = 0; g < s->font[k].f->count; g++)
				if (psf_vga_line_graphics(s->font[k].f->cp[g])) {
					glyph_pattern(s->font[k].f, g, s->cw, true, rows);
					insert(s, rows, s->font[k].f->cp[g], k);
				}
	/* then glyphs standing for ASCII, every font's, so that look-alikes read
	 * as ASCII: the ROM draws '|' as a broken bar, the bitmap Lat15 gives
	 * '¦', and a pipe in a shell is far likelier than a broken bar; then
	 * the rest */
	for (int ascii = 1; ascii >= 0; ascii--)
		for (int k = 0; k < s->nfonts; k++)
			for (int g = 0; g < s->font[k].f->count; g++)
				if ((s->font[k].f->cp[g] < 0x80) == ascii) {
					glyph_pattern(s->font[k].f, g, s->cw, false, rows);
					insert(s, rows, s->font[k].f->cp[g], k);
				}
	/* QEMU's VGA repeats the 8th column for character codes 0xB0-0xDF (a
	 * real one for 0xC0-0xDF), whatever font is loaded there */
	if (s->cw > s->fw)
		for (int k = 0; k < s->nfonts; k++)
			for (int g = 0; g < s->font[k].f->count; g++)
				if ((s->font[k].f->slot[g] & 0xFF) >= 0xB0 && (s->font[k].f->slot[g] & 0xFF) <= 0xDF) {
					glyph_pattern(s->font[k].f, g, s->cw, true, rows);
					insert(s, rows, s->font[k].f->cp[g], k);
				}
	for (int v = 0; v < 2; v++) {
		int cy = s->fh - 2 - v;
		struct cursor_key *keys;
		if (cy <= 0)
			continue;
		keys = xcalloc(s->nfilled + 1, sizeof(*keys));
		for (size_t i = 0; i < s->nfilled; i++) {
			keys[i].hash = hash_without(s->table[s->filled[i]].rows, s->fh, cy);
			keys[i].slot = s->filled[i];
		}
		qsort(keys, s->nfilled, sizeof(*keys), cursor_key_cmp);
		s->cursor_keys[v] = keys;
	}
	for (int k = 0; k < s->nfonts; k++)
		build_font(s, &s->font[k]);
	s->built = true;
}

static void free_size(struct size *s)
{
	free(s->table);
	free(s->filled);
	free(s->cursor_keys[0]);
	free(s->cursor_keys[1]);
	for (int k = 0; k < s->nfonts; k++) {
		free(s->font[k].cand);
		free(s->font[k].tab);
		free(s->font[k].tab_hash);
	}
	memset(s, 0, sizeof(*s));
}

/* The size (fw x fh glyphs in cw-wide cells), added if new. */
static int size_index(struct fbtext *ft, int fw, int fh, int cw)
{
	struct size *s;

	for (int i = 0; i < ft->nsizes; i++)
		if (ft->sizes[i].fw == fw && ft->sizes[i].fh == fh && ft->sizes[i].cw == cw)
			return i;
	if (ft->nsizes == MAXSIZES)
		return -1;
	s = &ft->sizes[ft->nsizes];
	s->fw = fw, s->fh = fh, s->cw = cw;
	if (ft->has_own && ft->own.width == fw && ft->own.height == fh)
		s->font[s->nfonts++].f = &ft->own;
	for (size_t k = 0; k < FBFONTS_COUNT && s->nfonts < MAXFONTS; k++)
		if (fbfonts[k].width == fw && fbfonts[k].height == fh)
			s->font[s->nfonts++].f = &fbfonts[k];
	return ft->nsizes++;
}

struct fbtext *fbtext_new(const struct psf_font *font)
{
	struct fbtext *ft;

	if (font && (font->width == 0 || font->width > MAXW || font->height == 0 || font->height > MAXH))
		return NULL;
	ft = xcalloc(1, sizeof(*ft));
	ft->cur = -1;
	ft->cursor = -1;
	ft->memo = xcalloc(MEMO, sizeof(*ft->memo));
	if (font) {
		uint32_t *cp = xmalloc(font->count * sizeof(*cp));
		uint16_t *slot = xmalloc(font->count * sizeof(*slot));
		int n = 0;

		/* glyphs standing for a code point, as the built-in ones are */
		for (unsigned g = 0; g < font->count; g++) {
			uint32_t c = psf_codepoint_for(font, g);

			if (c != PSF_NO_CODEPOINT && c != 0)
				cp[n] = c, slot[n++] = (uint16_t)g;
		}
		uint8_t *bits = xmalloc((size_t)n * font->glyph_bytes + 1);

		for (int i = 0; i < n; i++)
			memcpy(bits + (size_t)i * font->glyph_bytes, psf_glyph(font, slot[i]), font->glyph_bytes);
		ft->own = (struct fbfont){font->path && *font->path ? font->path : "console font", (int)font->width,
					  (int)font->height, n, cp, slot, bits};
		ft->has_own = true;
	}
	return ft;
}

void fbtext_free(struct fbtext *ft)
{
	if (!ft)
		return;
	for (int i = 0; i < ft->nsizes; i++)
		free_size(&ft->sizes[i]);
	if (ft->has_own) {
		free((void *)ft->own.cp);
		free((void *)ft->own.slot);
		free((void *)ft->own.bits);
	}
	free(ft->memo);
	free(ft->cells);
	free(ft->is_changed);
	free(ft->changed);
	free(ft);
}

/* ---- the grid ----------------------------------------------------------- */

/* Cells of an fw-wide font on a screen w wide: 9 for VGA text mode (720
 * wide) and where only 9 divides the width, else fw. */
static int cell_width(int fw, int w)
{
	if (fw == 8 && (w == 720 || (w % 8 != 0 && w % 9 == 0)))
		return 9;
	return fw;
}

/* Makes size i the grid (cells reset to unknown). */
static void use_size(struct fbtext *ft, int i)
{
	struct size *s = &ft->sizes[i];
	size_t n;

	if (!s->built)
		build_size(s);
	free(ft->cells);
	free(ft->is_changed);
	free(ft->changed);
	ft->cur = i;
	ft->cw = s->cw;
	ft->ch = s->fh;
	ft->cols = ft->width / s->cw;
	ft->rows = ft->height / s->fh;
	n = (size_t)ft->cols * (size_t)ft->rows;
	ft->cells = xmalloc(n * sizeof(*ft->cells));
	for (size_t k = 0; k < n; k++)
		ft->cells[k] = (struct fbtext_cell){.cp = FBTEXT_UNKNOWN};
	ft->unknown = n;
	ft->inked = 0;
	ft->nchanged = 0;
	ft->fresh_unknown = 0;
	ft->cursor = -1;
	ft->is_changed = xcalloc(n ? n : 1, 1);
	ft->changed = xmalloc((n ? n : 1) * sizeof(*ft->changed));
	memset(ft->memo, 0, MEMO * sizeof(*ft->memo));
}

bool fbtext_set_geometry(struct fbtext *ft, int width, int height)
{
	int first = -1;

	free(ft->cells);
	free(ft->is_changed);
	free(ft->changed);
	ft->cells = NULL;
	ft->is_changed = NULL;
	ft->changed = NULL;
	ft->nchanged = ft->unknown = ft->fresh_unknown = ft->inked = 0;
	ft->cursor = -1;
	ft->cols = ft->rows = 0;
	ft->cur = -1;
	ft->width = width;
	ft->height = height;
	if (width <= 0 || height <= 0)
		return false;
	/* every glyph size that fits, the given font's (else 8x16) first */
	if (ft->has_own && ft->own.width <= width && ft->own.height <= height)
		first = size_index(ft, ft->own.width, ft->own.height, cell_width(ft->own.width, width));
	if (first < 0 && width >= 8 && height >= 16)
		first = size_index(ft, 8, 16, cell_width(8, width));
	for (size_t k = 0; k < FBFONTS_COUNT; k++)
		if (fbfonts[k].width <= width && fbfonts[k].height <= height) {
			int i = size_index(ft, fbfonts[k].width, fbfonts[k].height, cell_width(fbfonts[k].width, width));

			if (first < 0)
				first = i;
		}
	if (first < 0)
		return false;
	use_size(ft, first);
	return true;
}

int fbtext_cols(const struct fbtext *ft)
{
	return ft->cols;
}

int fbtext_rows(const struct fbtext *ft)
{
	return ft->rows;
}

int fbtext_cell_width(const struct fbtext *ft)
{
	return ft->cols ? ft->cw : 0;
}

int fbtext_cell_height(const struct fbtext *ft)
{
	return ft->rows ? ft->ch : 0;
}

const char *fbtext_font_name(const struct fbtext *ft)
{
	const struct size *s;
	int best = -1;

	if (ft->cur < 0)
		return "";
	s = &ft->sizes[ft->cur];
	for (int k = 0; k < s->nfonts; k++)
		if (s->votes[k] && (best < 0 || s->votes[k] > s->votes[best]))
			best = k;
	return best < 0 ? "" : s->font[best].f->name;
}

/* ---- recognising a cell ------------------------------------------------- */

/* The glyph under an underline cursor lit on rows cy and cy + 1: the
 * pattern matching all the other rows. A linear scan, but only for the one
 * cell that looks like a cursor; among glyphs that agree there, one blank
 * where the cursor is (it mostly sits on a blank), then ASCII, then the
 * lowest code point wins, so the answer does not depend on the table's
 * layout. The candidates come from cursor_keys: the same hash without the
 * cursor's rows (a scan of the whole table cost 100 us a cell). */
static uint32_t under_cursor(const struct size *s, const uint16_t *rows, int h, int cy)
{
	const struct pattern *best = NULL;
	const struct cursor_key *keys = h - 2 - cy == 0 || h - 2 - cy == 1 ? s->cursor_keys[h - 2 - cy] : NULL;
	uint32_t hash = hash_without(rows, h, cy);
	size_t lo = 0, hi = s->nfilled;

	if (!keys)
		return FBTEXT_UNKNOWN;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (keys[mid].hash < hash)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < s->nfilled && keys[i].hash == hash; i++) {
		const struct pattern *p = &s->table[keys[i].slot];
		bool pb, bb;

		if (p->cp == 0 || memcmp(p->rows, rows, (size_t)cy * sizeof(rows[0])) != 0 ||
		    memcmp(p->rows + cy + 2, rows + cy + 2, (size_t)(h - cy - 2) * sizeof(rows[0])) != 0)
			continue;
		if (!best) {
			best = p;
			continue;
		}
		pb = !p->rows[cy] && !p->rows[cy + 1];
		bb = !best->rows[cy] && !best->rows[cy + 1];
		if (pb != bb ? pb : (p->cp < 0x80) != (best->cp < 0x80) ? p->cp < 0x80 : p->cp < best->cp)
			best = p;
	}
	return best ? best->cp : FBTEXT_UNKNOWN;
}

/* The font of the size with the most exact matches lately. */
static int voted_font(const struct size *s)
{
	int best = 0;

	for (int k = 1; k < s->nfonts; k++)
		if (s->votes[k] > s->votes[best])
			best = k;
	return best;
}

/* A cell matched a bitmap the fonts in the mask draw. */
static void vote(struct size *s, uint32_t fonts)
{
	for (; fonts; fonts &= fonts - 1)
		s->votes[__builtin_ctz(fonts)]++;
	if (++s->nvotes > 8192) { /* recent screens count most (a font loaded) */
		s->nvotes = 0;
		for (int k = 0; k < s->nfonts; k++)
			s->votes[k] /= 2;
	}
}

/* The nearest glyph of font k to the packed pattern w (pc pixels): its
 * code point if within the limit and no other character is as near, with
 * its distance in *dist; else FBTEXT_UNKNOWN. */
/* (Compiled twice: with the POPCNT instruction, picked at load time where
 * the processor has it, and without.) */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("popcnt", "default")))
#endif
static uint32_t nearest_in(const struct size *s, int k, const uint64_t *w, uint32_t pc, int *dist)
{
	const struct cand *c = s->font[k].cand;
	size_t n = s->font[k].ncand, lo = 0, hi = n;
	uint32_t lim = (uint32_t)s->limit, best_cp = FBTEXT_UNKNOWN;
	int best = s->limit + 1, second = s->limit + 1, nw = (s->fh + 3) / 4;

	/* the distance is at least the difference in pixel counts */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c[mid].pc + lim < pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < n && c[i].pc <= pc + lim; i++) {
		int d = 0;

		for (int j = 0; j < nw && d <= second; j++)
			d += __builtin_popcountll(c[i].w[j] ^ w[j]);
		if (d < best) {
			if (c[i].cp != best_cp)
				second = best;
			best = d;
			best_cp = c[i].cp;
		} else if (d < second && c[i].cp != best_cp) {
			second = d;
		}
	}
	*dist = best;
	return best <= s->limit && second > best ? best_cp : FBTEXT_UNKNOWN;
}

/* A pattern no glyph has exactly: the nearest in the font the screen shows
 * most, the cell's either colour as foreground; remembered by pattern. */
static uint32_t nearest_glyph(struct fbtext *ft, struct size *s, const uint16_t *rows, const uint64_t *w,
			      uint32_t hash, bool *inverted)
{
	struct memo *m = &ft->memo[hash & (MEMO - 1)];
	int k = voted_font(s), d1, d2;
	uint64_t wi[WORDS];
	uint16_t inv[MAXH];
	uint32_t pc = 0, cp1, cp2 = FBTEXT_UNKNOWN;
	const uint16_t full = (uint16_t)((1u << s->cw) - 1);

	if (m->hash == hash && m->size == ft->cur && m->font == k &&
	    memcmp(m->rows, rows, (size_t)s->fh * sizeof(rows[0])) == 0) {
		*inverted = m->inverted;
		return m->cp;
	}
	for (int j = 0; j < WORDS; j++)
		pc += (uint32_t)__builtin_popcountll(w[j]);
	/* the top-left pixel is background but for a few glyphs (blocks) */
	cp1 = nearest_in(s, k, w, pc, &d1);
	if (cp1 == FBTEXT_UNKNOWN) {
		for (int y = 0; y < s->fh; y++)
			inv[y] = (uint16_t)(rows[y] ^ full);
		pack(inv, s->fh, wi);
		cp2 = nearest_in(s, k, wi, (uint32_t)(s->cw * s->fh) - pc, &d2);
	}
	*inverted = cp2 != FBTEXT_UNKNOWN;
	m->hash = hash;
	m->size = (int8_t)ft->cur;
	m->font = (int8_t)k;
	memcpy(m->rows, rows, (size_t)s->fh * sizeof(rows[0]));
	m->inverted = *inverted;
	m->cp = *inverted ? cp2 : cp1;
	return m->cp;
}

/* Recognises the cell whose top-left pixel is p into *out with size s;
 * exact (and near, when allowed) matches vote for their fonts. */
static void recognise(struct fbtext *ft, struct size *s, const uint32_t *p, size_t stride, bool near,
		      struct fbtext_cell *out)
{
	const int cw = s->cw, ch = s->fh;
	const uint32_t c1 = p[0] & 0xFFFFFF;
	uint32_t c2 = c1;
	bool two = false, inverted;
	uint16_t rows[MAXH], inv[MAXH];
	uint32_t h = 0x811C9DC5u, hi = 0x811C9DC5u, hash;
	const uint16_t full = (uint16_t)((1u << cw) - 1);
	const struct pattern *m;
	const struct cand *fc;
	uint64_t w[WORDS];
	int kv;

	out->cursor = false;
	/* bits where the pixel is not the top-left colour (usually background) */
	for (int y = 0; y < ch; y++, p += stride) {
		uint16_t r = 0;

		for (int x = 0; x < cw; x++) {
			uint32_t v = p[x] & 0xFFFFFF;

			if (v != c1) {
				if (!two) {
					c2 = v;
					two = true;
				} else if (v != c2) {
					goto unknown; /* three colours: not text */
				}
				r = (uint16_t)(r | 1u << (cw - 1 - x));
			}
		}
		rows[y] = r;
		inv[y] = (uint16_t)(r ^ full);
		h = hash_step(h, r);
		hi = hash_step(hi, inv[y]);
	}
	if (!two) {
		out->cp = ' ';
		out->fg = out->bg = c1;
		return;
	}
	hash = hash_final(h);
	/* exact: the bitmap as ASCII if any font draws it so (on a console, a
	 * look-alike is far likelier ASCII), else as the font the screen shows
	 * most draws it, else as the first font that has it; the top-left
	 * pixel as background, then (blocks, reverse glyphs) as foreground */
	kv = voted_font(s);
	for (int flip = 0; flip < 2; flip++) {
		const uint16_t *r = flip ? inv : rows;
		uint32_t hh = flip ? hash_final(hi) : hash;

		pack(r, ch, w);
		fc = font_lookup(&s->font[kv], hh, w);
		m = lookup(s, hh, r);
		if (!fc && !m)
			continue;
		out->cp = fc && (fc->cp < 0x80 || !m || m->cp >= 0x80) ? fc->cp : m->cp;
		out->fg = flip ? c1 : c2;
		out->bg = flip ? c2 : c1;
		vote(s, (fc ? 1u << kv : 0) | (m ? m->fonts : 0));
		return;
	}
	pack(rows, ch, w);
	/* an underline cursor: Linux's on the last two scan lines, the VGA
	 * BIOS's (SeaBIOS: scan lines 13-14 of 16) one line higher */
	for (int cy = ch - 2; cy >= ch - 3 && cy > 0; cy--)
		if (rows[cy] == full && rows[cy + 1] == full &&
		    (out->cp = under_cursor(s, rows, ch, cy)) != FBTEXT_UNKNOWN) {
			out->fg = c2;
			out->bg = c1;
			out->cursor = true;
			return;
		}
	if (near && (out->cp = nearest_glyph(ft, s, rows, w, hash, &inverted)) != FBTEXT_UNKNOWN) {
		out->fg = inverted ? c1 : c2;
		out->bg = inverted ? c2 : c1;
		return;
	}
unknown:
	out->cp = FBTEXT_UNKNOWN;
	out->fg = c2;
	out->bg = c1;
}

/* How well size i reads the rectangle (x, y, w, h): the pixels of the
 * cells (not blank) it recognises exactly less those of cells it cannot. */
static long score(struct fbtext *ft, int i, const uint32_t *pixels, size_t stride, int x, int y, int w, int h)
{
	struct size *s = &ft->sizes[i];
	int cols = ft->width / s->cw, rows = ft->height / s->fh;
	int c0 = x / s->cw, r0 = y / s->fh, c1 = (x + w - 1) / s->cw, r1 = (y + h - 1) / s->fh;
	long sc = 0;
	struct fbtext_cell c;

	if (!s->built)
		build_size(s);
	for (int r = r0; r <= r1 && r < rows; r++)
		for (int col = c0; col <= c1 && col < cols; col++) {
			recognise(ft, s, pixels + (size_t)r * (size_t)s->fh * stride + (size_t)col * (size_t)s->cw, stride,
				  false, &c);
			if (c.cp == FBTEXT_UNKNOWN)
				sc -= s->cw * s->fh;
			else if (c.cp != ' ')
				sc += s->cw * s->fh;
		}
	return sc;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* When an update leaves cells that read as nothing, and more of them than
 * cells that read as characters, tries every cell size on the rectangle
 * it drew and keeps the one that reads it best (a guest loaded a font of
 * another size); true if the size changed. Large rectangles (a picture
 * playing) are tried at most four times a second. */
static bool pick_size(struct fbtext *ft, const uint32_t *pixels, size_t stride, int x, int y, int w, int h)
{
	long best_score, sc, t;
	int best = ft->cur;

	if (ft->cur < 0 || !ft->fresh_unknown || ft->unknown <= ft->inked)
		return false;
	if (x < 0)
		w += x, x = 0;
	if (y < 0)
		h += y, y = 0;
	if (x + w > ft->width)
		w = ft->width - x;
	if (y + h > ft->height)
		h = ft->height - y;
	if (w <= 0 || h <= 0)
		return false;
	if ((long)w * h * 4 > (long)ft->width * ft->height) {
		t = now_ms();
		if (t - ft->picked_ms < 250)
			return false;
		ft->picked_ms = t;
	}
	best_score = score(ft, ft->cur, pixels, stride, x, y, w, h);
	for (int i = 0; i < ft->nsizes; i++)
		if (i != ft->cur && ft->sizes[i].fw <= ft->width && ft->sizes[i].fh <= ft->height &&
		    (sc = score(ft, i, pixels, stride, x, y, w, h)) > best_score && sc > 0) {
			best_score = sc;
			best = i;
		}
	if (best == ft->cur)
		return false;
	use_size(ft, best);
	return true;
}

#define INKED(cp) ((cp) != FBTEXT_UNKNOWN && (cp) != ' ')

static size_t update_cells(struct fbtext *ft, const uint32_t *pixels, size_t stride, int x, int y, int w, int h)
{
	struct size *s = &ft->sizes[ft->cur];
	size_t changed = 0;
	int c0, c1, r0, r1;

	if (x < 0) {
		w += x;
		x = 0;
	}
	if (y < 0) {
		h += y;
		y = 0;
	}
	if (w <= 0 || h <= 0 || x >= ft->cols * ft->cw || y >= ft->rows * ft->ch)
		return 0;
	c0 = x / ft->cw;
	r0 = y / ft->ch;
	c1 = (x + w - 1) / ft->cw;
	r1 = (y + h - 1) / ft->ch;
	if (c1 >= ft->cols)
		c1 = ft->cols - 1;
	if (r1 >= ft->rows)
		r1 = ft->rows - 1;
	/* the first screen of a size votes before it is read, so that a
	 * bitmap two fonts read differently reads as the screen's font has it */
	if (!s->nvotes && !s->votes[0]) {
		struct fbtext_cell n;

		for (int r = r0; r <= r1; r++)
			for (int c = c0; c <= c1; c++)
				recognise(ft, s, pixels + (size_t)r * (size_t)ft->ch * stride + (size_t)c * (size_t)ft->cw,
					  stride, false, &n);
	}
	for (int r = r0; r <= r1; r++)
		for (int c = c0; c <= c1; c++) {
			size_t i = (size_t)r * (size_t)ft->cols + (size_t)c;
			struct fbtext_cell *cell = &ft->cells[i];
			struct fbtext_cell n;

			recognise(ft, s, pixels + (size_t)r * (size_t)ft->ch * stride + (size_t)c * (size_t)ft->cw, stride,
				  true, &n);
			/* an unknown cell's pixels are not summarised, so a touched one
			 * always counts as changed (a viewer redraws it as a picture) */
			if (n.cursor)
				ft->cursor = (long)i;
			else if (ft->cursor == (long)i)
				ft->cursor = -1;
			if (n.cp != FBTEXT_UNKNOWN && n.cp == cell->cp && n.fg == cell->fg && n.bg == cell->bg &&
			    n.cursor == cell->cursor)
				continue;
			nearest(ft, n.fg, &n.fg16, &n.fg256);
			nearest(ft, n.bg, &n.bg16, &n.bg256);
			ft->unknown += (n.cp == FBTEXT_UNKNOWN) - (cell->cp == FBTEXT_UNKNOWN);
			ft->inked += INKED(n.cp) - INKED(cell->cp);
			ft->fresh_unknown += n.cp == FBTEXT_UNKNOWN;
			*cell = n;
			changed++;
			if (!ft->is_changed[i]) {
				ft->is_changed[i] = 1;
				ft->changed[ft->nchanged++] = (uint32_t)i;
			}
		}
	return changed;
}

size_t fbtext_update(struct fbtext *ft, const uint32_t *pixels, size_t stride, int x, int y, int w, int h)
{
	size_t changed;

	if (!ft->cols || w <= 0 || h <= 0)
		return 0;
	ft->fresh_unknown = 0;
	changed = update_cells(ft, pixels, stride, x, y, w, h);
	/* another cell size reads the screen better: every cell anew */
	if (pick_size(ft, pixels, stride, x, y, w, h))
		changed = update_cells(ft, pixels, stride, 0, 0, ft->width, ft->height);
	return changed;
}

const struct fbtext_cell *fbtext_cell(const struct fbtext *ft, int col, int row)
{
	if (col < 0 || row < 0 || col >= ft->cols || row >= ft->rows)
		return NULL;
	return &ft->cells[(size_t)row * (size_t)ft->cols + (size_t)col];
}

static size_t utf8(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

bool fbtext_put_utf8(char *buf, size_t cap, size_t *len, size_t *end, uint32_t cp)
{
	char u[4];
	size_t n = utf8(cp, u);

	if (*len + n + 1 > cap)
		return false;
	memcpy(buf + *len, u, n);
	*len += n;
	if (cp != ' ')
		*end = *len;
	return true;
}

size_t fbtext_row_text(const struct fbtext *ft, int row, char *buf, size_t cap)
{
	size_t len = 0, end = 0;

	if (cap == 0)
		return 0;
	for (int c = 0; row >= 0 && row < ft->rows && c < ft->cols; c++) {
		uint32_t cp = ft->cells[(size_t)row * (size_t)ft->cols + (size_t)c].cp;

		if (cp == FBTEXT_UNKNOWN || cp > 0x10FFFF || cp < 0x20)
			cp = 0xFFFD;
		if (!fbtext_put_utf8(buf, cap, &len, &end, cp))
			break;
	}
	buf[end] = '\0';
	return end;
}

bool fbtext_cursor(const struct fbtext *ft, int *col, int *row)
{
	if (ft->cursor < 0 || !ft->cols)
		return false;
	*col = (int)(ft->cursor % ft->cols);
	*row = (int)(ft->cursor / ft->cols);
	return true;
}

double fbtext_unknown_fraction(const struct fbtext *ft)
{
	size_t n = (size_t)ft->cols * (size_t)ft->rows;

	return n ? (double)ft->unknown / (double)n : 1.0;
}

bool fbtext_is_text(const struct fbtext *ft)
{
	return ft->cols > 0 && fbtext_unknown_fraction(ft) <= 0.10;
}

size_t fbtext_changed_count(const struct fbtext *ft)
{
	return ft->nchanged;
}

bool fbtext_changed_next(const struct fbtext *ft, size_t *it, int *col, int *row)
{
	uint32_t i;

	if (*it >= ft->nchanged)
		return false;
	i = ft->changed[(*it)++];
	*col = (int)(i % (uint32_t)ft->cols);
	*row = (int)(i / (uint32_t)ft->cols);
	return true;
}

void fbtext_changed_clear(struct fbtext *ft)
{
	for (size_t k = 0; k < ft->nchanged; k++)
		ft->is_changed[ft->changed[k]] = 0;
	ft->nchanged = 0;
}
