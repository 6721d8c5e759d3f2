/* PSF1/PSF2 console fonts: see psf.h. Formats as documented in the kbd
 * package (doc/font-formats): PSF1 has a 4-byte header, 256 or 512 glyphs
 * 8 pixels wide and an optional table of UCS-2 entries; PSF2 has a 32-byte
 * header and an optional table of UTF-8 entries. */
#include "psf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util.h"

#define PSF1_MAGIC0 0x36
#define PSF1_MAGIC1 0x04
#define PSF1_MODE512 0x01
#define PSF1_MODEHASTAB 0x02
#define PSF1_MODEHASSEQ 0x04
#define PSF1_SEPARATOR 0xFFFF
#define PSF1_STARTSEQ 0xFFFE

#define PSF2_HEADER_SIZE 32
#define PSF2_HAS_UNICODE_TABLE 0x01
#define PSF2_SEPARATOR 0xFF
#define PSF2_STARTSEQ 0xFE

/* Console fonts are a few kilobytes; anything far larger is not one. */
#define PSF_MAX_FILE (8u << 20)
#define PSF_MAX_GLYPHS 65536u
#define PSF_MAX_DIM 256u

struct psf_map_entry {
	uint32_t cp;
	uint32_t glyph;
	uint32_t order; /* position in the file, so the first mapping wins */
};

/* Collects (code point, glyph) pairs while a table is read. */
struct map_builder {
	struct psf_map_entry *v;
	size_t len, cap;
};

static const char *const console_fonts[] = {
	"/usr/share/consolefonts/Lat15-VGA16.psf.gz",
	"/usr/share/consolefonts/Uni2-VGA16.psf.gz",
	"/usr/share/consolefonts/Lat2-VGA16.psf.gz",
	"/usr/share/consolefonts/Uni1-VGA16.psf.gz",
	"/usr/share/consolefonts/Lat15-Fixed16.psf.gz",
	"/usr/share/consolefonts/default8x16.psf.gz",
	"/usr/share/kbd/consolefonts/default8x16.psf.gz",
	"/usr/lib/kbd/consolefonts/default8x16.psf.gz",
	NULL,
};

const char *const *psf_console_font_paths(void)
{
	return console_fonts;
}

/* The IBM VGA ROM font as Debian ships it (console-data): default8x16 has
 * all but the dotted zero, iso01a-8x16 has that, Uni2-VGA16 has U+2320. */
static const char *const vga_rom_fonts[] = {
	"/usr/share/consolefonts/default8x16.psf.gz",
	"/usr/share/consolefonts/iso01a-8x16.psf.gz",
	"/usr/share/consolefonts/Uni2-VGA16.psf.gz",
	NULL,
};

const char *const *psf_vga_rom_font_paths(void)
{
	return vga_rom_fonts;
}

size_t psf_load_vga_rom_fonts(struct psf_font **out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; vga_rom_fonts[i] && n < cap; i++) {
		struct psf_font *f = psf_load(vga_rom_fonts[i], NULL);

		if (f && f->width == 8 && f->height == 16)
			out[n++] = f;
		else
			psf_free(f);
	}
	return n;
}

uint32_t psf_cp437(unsigned char b)
{
	static const uint16_t low[32] = {
		0x0000, 0x263A, 0x263B, 0x2665, 0x2666, 0x2663, 0x2660, 0x2022,
		0x25D8, 0x25CB, 0x25D9, 0x2642, 0x2640, 0x266A, 0x266B, 0x263C,
		0x25BA, 0x25C4, 0x2195, 0x203C, 0x00B6, 0x00A7, 0x25AC, 0x21A8,
		0x2191, 0x2193, 0x2192, 0x2190, 0x221F, 0x2194, 0x25B2, 0x25BC,
	};
	static const uint16_t high[128] = {
		0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7,
		0x00EA, 0x00EB, 0x00E8, 0x00EF, 0x00EE, 0x00EC, 0x00C4, 0x00C5,
		0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9,
		0x00FF, 0x00D6, 0x00DC, 0x00A2, 0x00A3, 0x00A5, 0x20A7, 0x0192,
		0x00E1, 0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA, 0x00BA,
		0x00BF, 0x2310, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB,
		0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556,
		0x2555, 0x2563, 0x2551, 0x2557, 0x255D, 0x255C, 0x255B, 0x2510,
		0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F,
		0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x2567,
		0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256B,
		0x256A, 0x2518, 0x250C, 0x2588, 0x2584, 0x258C, 0x2590, 0x2580,
		0x03B1, 0x00DF, 0x0393, 0x03C0, 0x03A3, 0x03C3, 0x00B5, 0x03C4,
		0x03A6, 0x0398, 0x03A9, 0x03B4, 0x221E, 0x03C6, 0x03B5, 0x2229,
		0x2261, 0x00B1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00F7, 0x2248,
		0x00B0, 0x2219, 0x00B7, 0x221A, 0x207F, 0x00B2, 0x25A0, 0x00A0,
	};

	if (b < 0x20)
		return low[b];
	if (b == 0x7F)
		return 0x2302;
	return b < 0x80 ? b : high[b - 0x80];
}

static void set_err(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_err(char **err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	*err = xvasprintf(fmt, ap);
	va_end(ap);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void map_add(struct map_builder *mb, uint32_t cp, uint32_t glyph)
{
	if (mb->len == mb->cap) {
		mb->cap = mb->cap ? mb->cap * 2 : 512;
		mb->v = xrealloc(mb->v, mb->cap * sizeof(*mb->v));
	}
	mb->v[mb->len].cp = cp;
	mb->v[mb->len].glyph = glyph;
	mb->v[mb->len].order = (uint32_t)mb->len;
	mb->len++;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct psf_map_entry *x = a, *y = b;

	if (x->cp != y->cp)
		return x->cp < y->cp ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Decodes one UTF-8 character of at most end - *p bytes; false if invalid. */
static bool utf8_next(const unsigned char **p, const unsigned char *end, uint32_t *cp)
{
	const unsigned char *s = *p;
	unsigned n, i;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		*p = s + 1;
		return true;
	}
	if ((s[0] & 0xE0) == 0xC0) {
		n = 1;
		c = s[0] & 0x1F;
	} else if ((s[0] & 0xF0) == 0xE0) {
		n = 2;
		c = s[0] & 0x0F;
	} else if ((s[0] & 0xF8) == 0xF0) {
		n = 3;
		c = s[0] & 0x07;
	} else {
		return false;
	}
	if ((size_t)(end - s) < n + 1)
		return false;
	for (i = 1; i <= n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return false;
		c = c << 6 | (s[i] & 0x3F);
	}
	if (c > 0x10FFFF)
		return false;
	*cp = c;
	*p = s + n + 1;
	return true;
}

/* PSF1 table: per glyph, UCS-2 little-endian values up to 0xFFFF; values
 * after 0xFFFE form combining sequences, which a cell match cannot use. */
static bool read_psf1_table(struct map_builder *mb, const unsigned char *p, const unsigned char *end,
			    unsigned count, char **err)
{
	unsigned g;

	for (g = 0; g < count; g++) {
		bool in_seq = false;

		for (;;) {
			unsigned v;

			if (end - p < 2) {
				set_err(err, "PSF1 unicode table truncated at glyph %u", g);
				return false;
			}
			v = p[0] | p[1] << 8;
			p += 2;
			if (v == PSF1_SEPARATOR)
				break;
			if (v == PSF1_STARTSEQ)
				in_seq = true;
			else if (!in_seq)
				map_add(mb, v, g);
		}
	}
	return true;
}

/* PSF2 table: per glyph, UTF-8 characters up to 0xFF; 0xFE starts sequences. */
static bool read_psf2_table(struct map_builder *mb, const unsigned char *p, const unsigned char *end,
			    unsigned count, char **err)
{
	unsigned g;

	for (g = 0; g < count; g++) {
		bool in_seq = false;

		for (;;) {
			uint32_t cp;

			if (p >= end) {
				set_err(err, "PSF2 unicode table truncated at glyph %u", g);
				return false;
			}
			if (*p == PSF2_SEPARATOR) {
				p++;
				break;
			}
			if (*p == PSF2_STARTSEQ) {
				in_seq = true;
				p++;
				continue;
			}
			if (!utf8_next(&p, end, &cp)) {
				set_err(err, "PSF2 unicode table: bad UTF-8 at glyph %u", g);
				return false;
			}
			if (!in_seq)
				map_add(mb, cp, g);
		}
	}
	return true;
}

/* Sorts the pairs into f->map (first mapping of each code point wins) and
 * works out each glyph's primary code point. */
static void finish_map(struct psf_font *f, struct map_builder *mb)
{
	size_t i, n = 0;
	unsigned g;

	f->primary = xmalloc((size_t)f->count * sizeof(*f->primary));
	for (g = 0; g < f->count; g++)
		f->primary[g] = PSF_NO_CODEPOINT;
	/* In file order: the first listed code point, replaced by an ASCII one. */
	for (i = 0; i < mb->len; i++) {
		uint32_t *pc = &f->primary[mb->v[i].glyph];

		if (*pc == PSF_NO_CODEPOINT || (*pc >= 0x80 && mb->v[i].cp < 0x80))
			*pc = mb->v[i].cp;
	}
	if (mb->len) /* an empty table may have no array at all */
		qsort(mb->v, mb->len, sizeof(*mb->v), entry_cmp);
	for (i = 0; i < mb->len; i++)
		if (n == 0 || mb->v[n - 1].cp != mb->v[i].cp)
			mb->v[n++] = mb->v[i];
	f->map = mb->v;
	f->map_len = n;
	mb->v = NULL;
}

static struct psf_font *new_font(unsigned width, unsigned height, unsigned count, const unsigned char *bits)
{
	struct psf_font *f = xcalloc(1, sizeof(*f));

	f->width = width;
	f->height = height;
	f->count = count;
	f->row_bytes = (width + 7) / 8;
	f->glyph_bytes = f->row_bytes * height;
	f->glyphs = xmalloc((size_t)count * f->glyph_bytes);
	memcpy(f->glyphs, bits, (size_t)count * f->glyph_bytes);
	f->path = xstrdup("");
	return f;
}

static struct psf_font *parse_psf1(const unsigned char *d, size_t len, char **err)
{
	unsigned mode = d[2], height = d[3];
	unsigned count = (mode & PSF1_MODE512) ? 512 : 256;
	size_t bits_len = (size_t)count * height;
	struct map_builder mb = {0};
	struct psf_font *f;

	if (height == 0) {
		set_err(err, "PSF1 font with zero height");
		return NULL;
	}
	if (len - 4 < bits_len) {
		set_err(err, "PSF1 glyphs truncated (%zu of %zu bytes)", len - 4, bits_len);
		return NULL;
	}
	if (mode & (PSF1_MODEHASTAB | PSF1_MODEHASSEQ)) {
		if (!read_psf1_table(&mb, d + 4 + bits_len, d + len, count, err)) {
			free(mb.v);
			return NULL;
		}
	} else {
		for (unsigned g = 0; g < count; g++)
			map_add(&mb, g, g);
	}
	f = new_font(8, height, count, d + 4);
	finish_map(f, &mb);
	return f;
}

static struct psf_font *parse_psf2(const unsigned char *d, size_t len, char **err)
{
	uint32_t hsize, flags, count, charsize, height, width;
	uint64_t bits_len;
	struct map_builder mb = {0};
	struct psf_font *f;

	if (len < PSF2_HEADER_SIZE) {
		set_err(err, "PSF2 header truncated");
		return NULL;
	}
	hsize = le32(d + 8);
	flags = le32(d + 12);
	count = le32(d + 16);
	charsize = le32(d + 20);
	height = le32(d + 24);
	width = le32(d + 28);
	if (hsize < PSF2_HEADER_SIZE || hsize > len) {
		set_err(err, "PSF2 header size %u out of range", (unsigned)hsize);
		return NULL;
	}
	if (width == 0 || height == 0 || width > PSF_MAX_DIM || height > PSF_MAX_DIM) {
		set_err(err, "PSF2 glyph size %ux%u out of range", (unsigned)width, (unsigned)height);
		return NULL;
	}
	if (count == 0 || count > PSF_MAX_GLYPHS) {
		set_err(err, "PSF2 glyph count %u out of range", (unsigned)count);
		return NULL;
	}
	if (charsize != height * ((width + 7) / 8)) {
		set_err(err, "PSF2 glyph size %u bytes does not match %ux%u", (unsigned)charsize,
			(unsigned)width, (unsigned)height);
		return NULL;
	}
	bits_len = (uint64_t)count * charsize;
	if (bits_len > len - hsize) {
		set_err(err, "PSF2 glyphs truncated");
		return NULL;
	}
	if (flags & PSF2_HAS_UNICODE_TABLE) {
		if (!read_psf2_table(&mb, d + hsize + bits_len, d + len, count, err)) {
			free(mb.v);
			return NULL;
		}
	} else {
		for (uint32_t g = 0; g < count; g++)
			map_add(&mb, g, g);
	}
	f = new_font(width, height, count, d + hsize);
	finish_map(f, &mb);
	return f;
}

struct psf_font *psf_parse(const void *data, size_t len, char **err)
{
	const unsigned char *d = data;

	if (err)
		*err = NULL;
	if (len >= 4 && d[0] == PSF1_MAGIC0 && d[1] == PSF1_MAGIC1)
		return parse_psf1(d, len, err);
	if (len >= 4 && d[0] == 0x72 && d[1] == 0xb5 && d[2] == 0x4a && d[3] == 0x86)
		return parse_psf2(d, len, err);
	set_err(err, "not a PSF font (bad magic)");
	return NULL;
}

/* Reads a whole file through zlib, which passes plain files through as is. */
static bool read_gz(const char *path, struct buf *out, char **err)
{
	gzFile gz;
	int n, errnum;

	errno = 0;
	gz = gzopen(path, "rb");
	if (!gz) {
		set_err(err, "%s: %s", path, errno ? strerror(errno) : "cannot open");
		return false;
	}
	for (;;) {
		buf_reserve(out, 16384);
		n = gzread(gz, out->data + out->len, 16384);
		if (n <= 0)
			break;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
		if (out->len > PSF_MAX_FILE) {
			gzclose(gz);
			set_err(err, "%s: too large for a console font", path);
			return false;
		}
	}
	if (n < 0) {
		const char *msg = gzerror(gz, &errnum);

		set_err(err, "%s: %s", path, errnum == Z_ERRNO ? strerror(errno) : msg);
		gzclose(gz);
		return false;
	}
	gzclose(gz);
	return true;
}

struct psf_font *psf_load(const char *path, char **err)
{
	struct buf b;
	struct psf_font *f;
	char *perr = NULL;

	if (err)
		*err = NULL;
	buf_init(&b);
	if (!read_gz(path, &b, err)) {
		buf_free(&b);
		return NULL;
	}
	f = psf_parse(b.data ? b.data : "", b.len, &perr);
	buf_free(&b);
	if (!f) {
		set_err(err, "%s: %s", path, perr);
		free(perr);
		return NULL;
	}
	free(f->path);
	f->path = xstrdup(path);
	return f;
}

/* Loads path and insists on 8x16 glyphs (VGA text mode cells). */
static struct psf_font *load_vga_font(const char *path, struct buf *why)
{
	char *err = NULL;
	struct psf_font *f = psf_load(path, &err);

	if (!f) {
		buf_printf(why, "\n  %s", err);
		free(err);
		return NULL;
	}
	if (f->width != 8 || f->height != 16) {
		buf_printf(why, "\n  %s: %ux%u, not 8x16", path, f->width, f->height);
		psf_free(f);
		return NULL;
	}
	return f;
}

struct psf_font *psf_load_console_font(char **err)
{
	const char *env = getenv("XENTUI_CONSOLE_FONT");
	struct psf_font *f = NULL;
	struct buf why;
	size_t i;

	if (err)
		*err = NULL;
	buf_init(&why);
	if (env && *env) {
		f = load_vga_font(env, &why);
	} else {
		for (i = 0; !f && console_fonts[i]; i++)
			f = load_vga_font(console_fonts[i], &why);
	}
	if (!f)
		set_err(err, "no usable 8x16 console font (install console-setup-linux, or set "
			     "XENTUI_CONSOLE_FONT to a .psf/.psf.gz file):%s",
			why.data ? why.data : "");
	buf_free(&why);
	return f;
}

int psf_glyph_for(const struct psf_font *f, uint32_t codepoint)
{
	size_t lo = 0, hi = f->map_len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->map[mid].cp == codepoint)
			return (int)f->map[mid].glyph;
		if (f->map[mid].cp < codepoint)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

const unsigned char *psf_glyph(const struct psf_font *f, unsigned index)
{
	if (index >= f->count)
		return NULL;
	return f->glyphs + (size_t)index * f->glyph_bytes;
}

bool psf_pixel(const struct psf_font *f, unsigned index, unsigned x, unsigned y)
{
	const unsigned char *g = psf_glyph(f, index);

	if (!g || x >= f->width || y >= f->height)
		return false;
	return g[y * f->row_bytes + x / 8] & (0x80 >> (x % 8));
}

uint32_t psf_codepoint_for(const struct psf_font *f, unsigned index)
{
	return index < f->count ? f->primary[index] : PSF_NO_CODEPOINT;
}

bool psf_vga_line_graphics(uint32_t codepoint)
{
	/* Code page 437 0xC0-0xDF in Unicode. */
	static const uint16_t cp437_c0[32] = {
		0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F,
		0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x2567,
		0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256B,
		0x256A, 0x2518, 0x250C, 0x2588, 0x2584, 0x258C, 0x2590, 0x2580,
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(cp437_c0); i++)
		if (cp437_c0[i] == codepoint)
			return true;
	return false;
}

void psf_free(struct psf_font *f)
{
	if (!f)
		return;
	free(f->glyphs);
	free(f->path);
	free(f->map);
	free(f->primary);
	free(f);
}
