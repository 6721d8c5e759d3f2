/* Framebuffer to text: see fbtext.h. */
#include "fbtext.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MAXH 32 /* tallest glyph handled */
#define MAXW 16 /* widest cell handled */

/* One glyph pattern: rows of bits, bit (w-1-x) = pixel x is foreground. */
struct pattern {
	uint32_t hash;
	uint32_t cp; /* 0 = empty slot (U+0000 is never stored) */
	uint16_t rows[MAXH];
};

/* A small direct-mapped cache of nearest-colour answers (screens use few). */
struct colour_memo {
	uint32_t rgb; /* with bit 31 set when valid */
	uint8_t c16, c256;
};

#define MAXVGA 4 /* VGA ROM font files loaded (psf_load_vga_rom_fonts) */

struct fbtext {
	const struct psf_font *font;
	struct psf_font *vga[MAXVGA]; /* owned; only with an 8x16 font */
	size_t nvga;
	struct pattern *table; /* open addressing, size a power of two */
	size_t table_mask;
	int cw, ch; /* cell size of the current geometry */
	int cols, rows, width, height;
	struct fbtext_cell *cells;
	uint8_t *is_changed; /* per cell: already in changed[] */
	uint32_t *changed;   /* cell indices */
	size_t nchanged;
	size_t unknown; /* cells with cp == FBTEXT_UNKNOWN */
	long cursor;    /* index of the cell showing the cursor, or -1 */
	struct colour_memo memo[256];
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
	struct colour_memo *m = &ft->memo[(rgb ^ rgb >> 8 ^ rgb >> 16) & 0xFF];

	if (m->rgb != (rgb | 0x80000000u)) {
		m->rgb = rgb | 0x80000000u;
		m->c16 = fbtext_nearest16(rgb);
		m->c256 = fbtext_nearest256(rgb);
	}
	*c16 = m->c16;
	*c256 = m->c256;
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
	return h;
}

static const struct pattern *lookup(const struct fbtext *ft, uint32_t hash, const uint16_t *rows, int h)
{
	for (size_t i = hash & ft->table_mask;; i = (i + 1) & ft->table_mask) {
		const struct pattern *p = &ft->table[i];

		if (p->cp == 0)
			return NULL;
		if (p->hash == hash && memcmp(p->rows, rows, (size_t)h * sizeof(rows[0])) == 0)
			return p;
	}
}

/* Adds a pattern unless an identical one is there (the first added wins, so
 * callers add preferred code points first). */
static void insert(struct fbtext *ft, const uint16_t *rows, int h, uint32_t cp)
{
	uint32_t hash = 0x811C9DC5u;

	for (int y = 0; y < h; y++)
		hash = hash_step(hash, rows[y]);
	hash = hash_final(hash);
	if (lookup(ft, hash, rows, h))
		return;
	for (size_t i = hash & ft->table_mask;; i = (i + 1) & ft->table_mask) {
		struct pattern *p = &ft->table[i];

		if (p->cp == 0) {
			p->hash = hash;
			p->cp = cp;
			memcpy(p->rows, rows, (size_t)h * sizeof(rows[0]));
			return;
		}
	}
}

/* Glyph g's pattern in a cell cw wide: columns past the glyph blank, or for
 * VGA line graphics repeating its last column. */
static void glyph_pattern(const struct psf_font *f, unsigned g, int cw, bool repeat_last, uint16_t *rows)
{
	int fw = (int)f->width;

	for (int y = 0; y < (int)f->height; y++) {
		uint16_t r = 0;

		for (int x = 0; x < cw; x++) {
			int sx = x < fw ? x : (repeat_last ? fw - 1 : -1);

			r = (uint16_t)(r << 1 | (sx >= 0 && psf_pixel(f, g, (unsigned)sx, (unsigned)y)));
		}
		rows[y] = r;
	}
}

/* Adds the VGA ROM fonts' glyphs of code page 437 (the only ones that font
 * has): line graphics when line is set, else ASCII or the rest (ascii). */
static void insert_vga(struct fbtext *ft, int cw, bool line, bool ascii)
{
	uint16_t rows[MAXH];

	for (size_t k = 0; k < ft->nvga; k++)
		for (unsigned b = 1; b < 256; b++) {
			uint32_t cp = psf_cp437((unsigned char)b);
			int g = psf_glyph_for(ft->vga[k], cp);
			bool lg = psf_vga_line_graphics(cp);

			if (g < 0 || (line ? !lg || cw <= 8 : (cp < 0x80) != ascii))
				continue;
			glyph_pattern(ft->vga[k], (unsigned)g, cw, line, rows);
			insert(ft, rows, 16, cp);
		}
}

/* (Re)builds the glyph table for cells cw pixels wide: line graphics, then
 * ASCII (the configured font's, then the VGA ROM fonts'), then the rest of
 * the configured font, then the ROM fonts' other glyphs of code page 437.
 * The first pattern added wins, so all the configured font draws reads back
 * as itself except a non-ASCII glyph drawn like a ROM ASCII one ('¦'). */
static void build_table(struct fbtext *ft, int cw)
{
	const struct psf_font *f = ft->font;
	uint16_t rows[MAXH];
	size_t size = 64;

	while (size < ((size_t)f->count + 256 * ft->nvga) * 4 + 64)
		size *= 2;
	free(ft->table);
	ft->table = xmalloc(size * sizeof(*ft->table));
	memset(ft->table, 0, size * sizeof(*ft->table));
	ft->table_mask = size - 1;

	/* VGA line graphics first: with a lit 9th column they can only be those */
	if (cw > (int)f->width)
		for (uint32_t cp = 0x2500; cp < 0x2600; cp++) {
			int g = psf_glyph_for(f, cp);

			if (g >= 0 && psf_vga_line_graphics(cp)) {
				glyph_pattern(f, (unsigned)g, cw, true, rows);
				insert(ft, rows, (int)f->height, cp);
			}
		}
	/* then glyphs standing for ASCII, both fonts', so that look-alikes read
	 * as ASCII: the ROM draws '|' as a broken bar, the bitmap Lat15 gives
	 * '¦', and a pipe in a shell is far likelier than a broken bar */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			insert_vga(ft, cw, true, false);
			insert_vga(ft, cw, false, true);
		}
		for (unsigned g = 0; g < f->count; g++) {
			uint32_t cp = psf_codepoint_for(f, g);

			if (cp == PSF_NO_CODEPOINT || cp == 0 || (cp < 0x80) != (pass == 0))
				continue;
			glyph_pattern(f, g, cw, false, rows);
			insert(ft, rows, (int)f->height, cp);
		}
	}
	insert_vga(ft, cw, false, false);
}

struct fbtext *fbtext_new(const struct psf_font *font)
{
	struct fbtext *ft;

	if (!font || font->width == 0 || font->width > MAXW - 1 || font->height == 0 || font->height > MAXH)
		return NULL;
	ft = xmalloc(sizeof(*ft));
	memset(ft, 0, sizeof(*ft));
	ft->font = font;
	if (font->width == 8 && font->height == 16)
		ft->nvga = psf_load_vga_rom_fonts(ft->vga, MAXVGA);
	return ft;
}

void fbtext_free(struct fbtext *ft)
{
	if (!ft)
		return;
	for (size_t k = 0; k < ft->nvga; k++)
		psf_free(ft->vga[k]);
	free(ft->table);
	free(ft->cells);
	free(ft->is_changed);
	free(ft->changed);
	free(ft);
}

bool fbtext_set_geometry(struct fbtext *ft, int width, int height)
{
	int fw = (int)ft->font->width, fh = (int)ft->font->height;
	int cw = 0, ch = fh;
	size_t n;

	if (width == 720 && height == 400 && fw == 8 && fh == 16)
		cw = 9;
	else if (width > 0 && height > 0 && width % fw == 0 && height % fh == 0)
		cw = fw;
	else if (width > 0 && height > 0 && fw == 8 && width % 9 == 0 && height % fh == 0)
		cw = 9;

	free(ft->cells);
	free(ft->is_changed);
	free(ft->changed);
	ft->cells = NULL;
	ft->is_changed = NULL;
	ft->changed = NULL;
	ft->nchanged = ft->unknown = 0;
	ft->cursor = -1;
	ft->cols = ft->rows = 0;
	ft->width = width;
	ft->height = height;
	if (cw == 0)
		return false;
	if (cw != ft->cw || !ft->table)
		build_table(ft, cw);
	ft->cw = cw;
	ft->ch = ch;
	ft->cols = width / cw;
	ft->rows = height / ch;
	n = (size_t)ft->cols * (size_t)ft->rows;
	ft->cells = xmalloc(n * sizeof(*ft->cells));
	for (size_t i = 0; i < n; i++)
		ft->cells[i] = (struct fbtext_cell){.cp = FBTEXT_UNKNOWN};
	ft->unknown = n;
	ft->is_changed = xmalloc(n);
	memset(ft->is_changed, 0, n);
	ft->changed = xmalloc(n * sizeof(*ft->changed));
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

/* The glyph under an underline cursor lit on rows cy and cy + 1: the
 * pattern matching all the other rows. A linear scan, but only for the one
 * cell that looks like a cursor; among glyphs that agree there, one blank
 * where the cursor is (it mostly sits on a blank), then ASCII, then the
 * lowest code point wins, so the answer does not depend on the table's
 * layout. */
static uint32_t under_cursor(const struct fbtext *ft, const uint16_t *rows, int h, int cy)
{
	const struct pattern *best = NULL;

	for (size_t i = 0; i <= ft->table_mask; i++) {
		const struct pattern *p = &ft->table[i];
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

/* Recognises the cell whose top-left pixel is p into *out. */
static void recognise(struct fbtext *ft, const uint32_t *p, size_t stride, struct fbtext_cell *out)
{
	const int cw = ft->cw, ch = ft->ch;
	const uint32_t c1 = p[0] & 0xFFFFFF;
	uint32_t c2 = c1;
	bool two = false;
	uint16_t rows[MAXH], inv[MAXH];
	uint32_t h = 0x811C9DC5u, hi = 0x811C9DC5u;
	const uint16_t full = (uint16_t)((1u << cw) - 1);
	const struct pattern *m;

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
	if ((m = lookup(ft, hash_final(h), rows, ch))) {
		out->cp = m->cp;
		out->fg = c2;
		out->bg = c1;
		return;
	}
	if ((m = lookup(ft, hash_final(hi), inv, ch))) { /* the top-left pixel is foreground */
		out->cp = m->cp;
		out->fg = c1;
		out->bg = c2;
		return;
	}
	/* an underline cursor: Linux's on the last two scan lines, the VGA
	 * BIOS's (SeaBIOS: scan lines 13-14 of 16) one line higher */
	for (int cy = ch - 2; cy >= ch - 3 && cy > 0; cy--)
		if (rows[cy] == full && rows[cy + 1] == full &&
		    (out->cp = under_cursor(ft, rows, ch, cy)) != FBTEXT_UNKNOWN) {
			out->fg = c2;
			out->bg = c1;
			out->cursor = true;
			return;
		}
unknown:
	out->cp = FBTEXT_UNKNOWN;
	out->fg = c2;
	out->bg = c1;
}

size_t fbtext_update(struct fbtext *ft, const uint32_t *pixels, size_t stride, int x, int y, int w, int h)
{
	size_t changed = 0;
	int c0, c1, r0, r1;

	if (!ft->cols || w <= 0 || h <= 0)
		return 0;
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
	for (int r = r0; r <= r1; r++)
		for (int c = c0; c <= c1; c++) {
			size_t i = (size_t)r * (size_t)ft->cols + (size_t)c;
			struct fbtext_cell *cell = &ft->cells[i];
			struct fbtext_cell n;

			recognise(ft, pixels + (size_t)r * ft->ch * stride + (size_t)c * ft->cw, stride, &n);
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
			*cell = n;
			changed++;
			if (!ft->is_changed[i]) {
				ft->is_changed[i] = 1;
				ft->changed[ft->nchanged++] = (uint32_t)i;
			}
		}
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
