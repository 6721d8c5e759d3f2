/* Graphs of a time series in character cells; see graph.h. */
#include "graph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

enum graph_style graph_style_pick(const char *want, bool utf8, const char *term)
{
	if (want && strcmp(want, "ascii") == 0)
		return GRAPH_ASCII;
	if (!utf8)
		return GRAPH_ASCII;
	if (want && strcmp(want, "blocks") == 0)
		return GRAPH_BLOCKS;
	if (want && strcmp(want, "braille") == 0)
		return GRAPH_BRAILLE;
	/* the Linux console's font has neither braille nor the eighth blocks */
	if (term && strncmp(term, "linux", 5) == 0)
		return GRAPH_ASCII;
	return GRAPH_BRAILLE;
}

static bool unit_bytes(const char *unit)
{
	return unit && (strcmp(unit, "B") == 0 || strcmp(unit, "B/s") == 0);
}

/* What snprintf(buf, n, "%.*f%s", dec, v, tail) writes, for dec 0 or 1 and 0 <= v below a
 * million, without printf's exact decimal conversion (lists of thousands of rows format
 * several figures each, every 5 s): v * 10 is off by far less than the margin kept around
 * the halfway points, where printf's own rule (an exact tie to even) decides. false when
 * this cannot answer, and nothing is written. */
static bool fixed(char *buf, size_t n, double v, int dec, const char *tail)
{
	double x = dec ? v * 10 : v, f;
	unsigned long long r;
	char digits[24], *p = digits + sizeof(digits);
	size_t len, tl = strlen(tail);

	if (!(v >= 0 && v < 1e6) || signbit(v))
		return false;
	f = x - floor(x);
	if (fabs(f - 0.5) < 1e-6)
		return false;
	r = (unsigned long long)floor(x) + (f > 0.5);
	if (dec) {
		*--p = (char)('0' + r % 10);
		*--p = '.';
		r /= 10;
	}
	do {
		*--p = (char)('0' + r % 10);
		r /= 10;
	} while (r);
	len = (size_t)(digits + sizeof(digits) - p);
	if (len + tl >= n)
		return false; /* snprintf's cut is its own to make */
	memcpy(buf, p, len);
	memcpy(buf + len, tail, tl + 1);
	return true;
}

void graph_fixed(char *buf, size_t n, double v, int dec, const char *tail)
{
	if (!fixed(buf, n, v, dec, tail))
		snprintf(buf, n, "%.*f%s", dec, v, tail);
}

void graph_format(char *buf, size_t n, double v, const char *unit)
{
	static const char *const pre[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};

	if (isnan(v)) {
		snprintf(buf, n, "-");
		return;
	}
	if (unit && strcmp(unit, "%") == 0) {
		graph_fixed(buf, n, v, v < 10 && v != 0, " %");
		return;
	}
	if (unit_bytes(unit)) {
		bool rate = strcmp(unit, "B/s") == 0;
		char tail[16];
		size_t i = 0;

		while (fabs(v) >= 1024 && i + 1 < ARRAY_LEN(pre)) {
			v /= 1024;
			i++;
		}
		/* " KiB/s": the unit after the number, as "%.1f %s%s" wrote it */
		tail[0] = ' ';
		strcpy(tail + 1, pre[i]);
		if (rate)
			strcat(tail, "/s");
		graph_fixed(buf, n, v, i > 0 && fabs(v) < 10, tail);
		return;
	}
	/* whole numbers from a thousand on: "1234 IOPS", never "1.23e+03 IOPS" */
	snprintf(buf, n, fabs(v) >= 1000 ? "%.0f%s%s" : "%.3g%s%s", v, unit && *unit ? " " : "", unit ? unit : "");
}

/* Appends the UTF-8 of code point cp (below U+10000) to p; returns the end. */
static char *put_cp(char *p, unsigned cp)
{
	if (cp < 0x80) {
		*p++ = (char)cp;
	} else if (cp < 0x800) {
		*p++ = (char)(0xC0 | (cp >> 6));
		*p++ = (char)(0x80 | (cp & 0x3F));
	} else {
		*p++ = (char)(0xE0 | (cp >> 12));
		*p++ = (char)(0x80 | ((cp >> 6) & 0x3F));
		*p++ = (char)(0x80 | (cp & 0x3F));
	}
	return p;
}

/* cp where UTF-8 is drawn, else the ASCII stand-in. */
static char *put_glyph(char *p, bool utf, unsigned cp, char ascii)
{
	if (utf)
		return put_cp(p, cp);
	*p++ = ascii;
	return p;
}

static double data_max(const double *v, size_t count)
{
	double m = 0;

	for (size_t i = 0; i < count; i++)
		if (!isnan(v[i]) && v[i] > m)
			m = v[i];
	return m;
}

char *graph_sparkline(char *buf, size_t n, const double *v, size_t count, double max, int cols,
		      enum graph_style st)
{
	static const char ramp[] = "_.,-=+*#";
	size_t shown = count < (size_t)cols ? count : (size_t)cols;
	const double *from = v + (count - shown);
	char *p = buf, *end;

	if (n == 0)
		return buf;
	end = buf + n - 1;
	if (max <= 0)
		max = data_max(from, shown);
	if (max <= 0)
		max = 1;
	for (int c = 0; c < cols && end - p >= 3; c++) {
		int i = c - (cols - (int)shown), level;

		if (i < 0 || isnan(from[i])) {
			*p++ = ' ';
			continue;
		}
		level = 1 + (int)lround(from[i] / max * 7);
		level = level < 1 ? 1 : level > 8 ? 8 : level;
		if (st == GRAPH_ASCII)
			*p++ = ramp[level - 1];
		else
			p = put_cp(p, 0x2580 + (unsigned)level);
	}
	*p = '\0';
	return buf;
}

/* A round top for the value axis at or above m: 1, 2, 5 times a power of
 * ten, in the unit's binary multiple for bytes. */
static double nice_top(double m, const char *unit)
{
	static const double steps[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
	double scale = 1;

	if (m <= 0)
		return 1;
	if (unit_bytes(unit)) {
		while (m / scale >= 1000)
			scale *= 1024;
		for (size_t i = 0; i < ARRAY_LEN(steps); i++)
			if (steps[i] * scale >= m)
				return steps[i] * scale;
		return 1024 * scale;
	}
	scale = pow(10, floor(log10(m)));
	for (size_t i = 0; i < 4; i++)
		if (steps[i] * scale >= m)
			return steps[i] * scale;
	return 10 * scale;
}

void graph_ago(char *buf, size_t n, long long s)
{
	if (s <= 0)
		snprintf(buf, n, "now");
	else if (s < 60)
		snprintf(buf, n, "-%llds", s);
	else if (s < 3600)
		snprintf(buf, n, "-%lldm", s / 60);
	else if (s < 86400 && s % 3600 == 0)
		snprintf(buf, n, "-%lldh", s / 3600);
	else if (s < 86400)
		snprintf(buf, n, "-%lldh%02lldm", s / 3600, s % 3600 / 60);
	else if (s % 86400 == 0)
		snprintf(buf, n, "-%lldd", s / 86400);
	else
		snprintf(buf, n, "-%lldd%lldh", s / 86400, s % 86400 / 3600);
}

/* The value of plot column c of d columns: the largest known point it covers. */
static double column_value(const struct graph_in *in, int c, int d)
{
	size_t a = (size_t)c * in->count / (size_t)d, b = (size_t)(c + 1) * in->count / (size_t)d;
	double m = NAN;

	if (b <= a)
		b = a + 1;
	if (b > in->count)
		b = in->count;
	for (size_t i = a; i < b; i++)
		if (!isnan(in->v[i]) && (isnan(m) || in->v[i] > m))
			m = in->v[i];
	return m;
}

/* The plot's levels (in sub-cell units) per column; -1 where unknown. */
static int *levels(const struct graph_in *in, int d, int total, double top)
{
	int *lv = xmalloc(sizeof *lv * (size_t)d);

	for (int c = 0; c < d; c++) {
		double v = in->count ? column_value(in, c, d) : NAN;
		long l;

		if (isnan(v)) {
			lv[c] = -1;
			continue;
		}
		l = lround(v / top * total);
		if (l == 0 && v > 0)
			l = 1; /* anything at all shows */
		lv[c] = l < 0 ? 0 : l > total ? total : (int)l;
	}
	return lv;
}

/* Writes plot row r (0 at the top, of rows) of w cells at p; returns the end. */
static char *plot_row(char *p, const int *lv, int w, int r, int rows, enum graph_style st)
{
	static const unsigned left[4] = {0x40, 0x04, 0x02, 0x01}, right[4] = {0x80, 0x20, 0x10, 0x08};
	int per = st == GRAPH_BRAILLE ? 4 : st == GRAPH_BLOCKS ? 8 : 2;
	int base = (rows - 1 - r) * per;

	for (int x = 0; x < w; x++) {
		if (st == GRAPH_BRAILLE) {
			unsigned bits = 0;

			for (int k = 0; k < 4; k++) {
				if (lv[2 * x] > base + k)
					bits |= left[k];
				if (lv[2 * x + 1] > base + k)
					bits |= right[k];
			}
			p = bits ? put_cp(p, 0x2800 + bits) : put_cp(p, ' ');
			continue;
		}
		int f = lv[x] - base;

		f = f < 0 ? 0 : f > per ? per : f;
		if (st == GRAPH_BLOCKS)
			p = f ? put_cp(p, 0x2580 + (unsigned)f) : put_cp(p, ' ');
		else
			*p++ = f == 2 ? '#' : f == 1 ? '.' : ' ';
	}
	return p;
}

static char *line_new(int cols)
{
	char *s = xmalloc((size_t)cols * 4 + 1);

	s[0] = '\0';
	return s;
}

/* Pads s (of used cells) with spaces to cols cells. */
static void pad(char *s, int used, int cols)
{
	size_t len = strlen(s);

	for (; used < cols; used++)
		s[len++] = ' ';
	s[len] = '\0';
}

static int cells(const char *s)
{
	int n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/* The time axis: the ruler at rule, the labels at lab, for w plot cells from x0. */
static void time_axis(char *rule, char *lab, const struct graph_in *in, int x0, int w, enum graph_style st)
{
	static const long long ticks[] = {30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
					  43200, 86400, 172800, 604800};
	long long span = (long long)in->count * (in->step > 0 ? in->step : 5), tick = ticks[0];
	bool utf = st != GRAPH_ASCII;
	char *r = rule, *l = lab;
	char *tickcell = xmalloc((size_t)w);
	char *labels = xmalloc((size_t)w + 1);
	int used_from = w; /* labels are laid right to left; the leftmost column taken */

	if (span <= 0)
		span = 1;
	/* ticks at least 12 cells apart */
	for (size_t i = 0; i < ARRAY_LEN(ticks); i++) {
		tick = ticks[i];
		if ((double)tick * w / (double)span >= 12)
			break;
	}
	memset(tickcell, 0, (size_t)w);
	memset(labels, ' ', (size_t)w);
	labels[w] = '\0';
	for (long long ago = 0; ago <= span; ago += tick) {
		int x = (int)lround((double)(w - 1) * (1 - (double)ago / (double)span)); /* the span's start at 0 */
		char t[24];
		int tw, start;

		if (x < 0)
			break;
		tickcell[x] = 1;
		graph_ago(t, sizeof t, ago);
		tw = (int)strlen(t);
		start = ago == 0 ? w - tw : x - tw / 2;
		if (start < 0)
			start = 0;
		if (start + tw > used_from - 1 && ago != 0)
			continue;
		if (start + tw > w)
			continue;
		memcpy(labels + start, t, (size_t)tw);
		used_from = start;
	}
	{
		/* the span's start at the left edge too, when the ticks left it room */
		char t[24];
		int tw;

		graph_ago(t, sizeof t, span);
		tw = (int)strlen(t);
		if (tw + 1 < used_from && tw <= w && labels[0] == ' ') {
			memcpy(labels, t, (size_t)tw);
			tickcell[0] = 1;
		}
	}
	for (int i = 0; i < x0 - 1; i++)
		*r++ = ' ', *l++ = ' ';
	r = put_glyph(r, utf, 0x2514, '+'); /* └ */
	*l++ = ' ';
	for (int x = 0; x < w; x++)
		r = tickcell[x] ? put_glyph(r, utf, 0x2534, '+') : put_glyph(r, utf, 0x2500, '-');
	*r = '\0';
	memcpy(l, labels, (size_t)w + 1);
	free(tickcell);
	free(labels);
}

static void render_small(struct graph_out *out, const struct graph_in *in, int cols, enum graph_style st)
{
	char val[32], *line = out->line[0];
	int vw, sw;

	graph_format(val, sizeof val, in->count ? in->v[in->count - 1] : NAN, in->unit);
	vw = (int)strlen(val);
	sw = cols - vw - 1;
	if (sw > 0) {
		graph_sparkline(line, (size_t)cols * 4 + 1, in->v, in->count, in->max, sw, st);
		strcat(line, " ");
		snprintf(line + strlen(line), 32, "%s", val);
	} else {
		snprintf(line, (size_t)cols + 1, "%s", val);
	}
	pad(line, cells(line), cols);
}

void graph_render(struct graph_out *out, const struct graph_in *in, int cols, int rows, enum graph_style st)
{
	char top_s[32], half_s[32], zero_s[32];
	int lw, x0, w, plot, d, per;
	int *lv;

	out->rows = rows > 0 ? rows : 0;
	out->cols = cols > 0 ? cols : 0;
	out->line = xmalloc(sizeof *out->line * (size_t)(out->rows ? out->rows : 1));
	for (int r = 0; r < out->rows; r++) {
		out->line[r] = line_new(out->cols);
		pad(out->line[r], 0, out->cols);
	}
	out->top = in->max > 0 ? in->max : nice_top(data_max(in->v, in->count), in->unit);
	if (out->rows == 0 || out->cols == 0)
		return;
	if (rows < 4 || cols < 20) {
		out->line[0][0] = '\0';
		render_small(out, in, cols, st);
		return;
	}
	plot = rows - 2;
	graph_format(top_s, sizeof top_s, out->top, in->unit);
	graph_format(half_s, sizeof half_s, out->top / 2, in->unit);
	graph_format(zero_s, sizeof zero_s, 0, in->unit);
	lw = (int)strlen(top_s);
	if ((int)strlen(half_s) > lw)
		lw = (int)strlen(half_s);
	if ((int)strlen(zero_s) > lw)
		lw = (int)strlen(zero_s);
	x0 = lw + 2; /* label, a space, the axis line */
	w = cols - x0;
	if (w < 8) {
		/* the labels would leave the plot no room */
		out->line[0][0] = '\0';
		render_small(out, in, cols, st);
		return;
	}
	per = st == GRAPH_BRAILLE ? 4 : st == GRAPH_BLOCKS ? 8 : 2;
	d = st == GRAPH_BRAILLE ? 2 * w : w;
	lv = levels(in, d, plot * per, out->top);
	for (int r = 0; r < plot; r++) {
		char *p = out->line[r];
		const char *label = r == 0 ? top_s : r == plot - 1 ? zero_s : (plot >= 6 && r == plot / 2) ? half_s : "";

		p += sprintf(p, "%*s ", lw, label);
		p = put_glyph(p, st != GRAPH_ASCII, label[0] ? 0x2524 : 0x2502, '|'); /* ┤ at a label, │ */
		p = plot_row(p, lv, w, r, plot, st);
		*p = '\0';
	}
	time_axis(out->line[plot], out->line[plot + 1], in, x0, w, st);
	free(lv);
}

void graph_out_free(struct graph_out *out)
{
	for (int r = 0; r < out->rows; r++)
		free(out->line[r]);
	free(out->line);
	out->line = NULL;
	out->rows = 0;
}
