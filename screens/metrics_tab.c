/* The Metrics tab of a host and of a VM; see metrics_tab.h. The tab is laid
 * out as rows first (graphs, then a line per device), then the rows that fit
 * from the scroll position are drawn. */
#include "metrics_tab.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "draw.h"
#include "graph.h"
#include "keys.h"
#include "metrics_ui.h"
#include "model.h"
#include "openmetrics.h"
#include "theme.h"
#include "util.h"

#define MAX_POINTS 256 /* the longest archive is 168 hourly points */
#define GRAPH_ROWS 7   /* a graph's title, four rows of plot and the time axis' two */
#define SLOT_ROWS 8    /* and a blank row under it */
#define NAME_W 22      /* a device line's name */

/* The spans offered: a day is the last 24 points of the week's hourly archive. */
static const struct span_def {
	enum metrics_span archive;
	size_t points;
	const char *name;
} spans[] = {
	{METRICS_10MIN, 120, "10 minutes"},
	{METRICS_2H, 120, "2 hours"},
	{METRICS_1WEEK, 24, "1 day"},
	{METRICS_1WEEK, 168, "1 week"},
};
#define NSPANS (int)(ARRAY_LEN(spans))

static int span_at(const struct metrics_tab *mt)
{
	return mt->span > 0 && mt->span < NSPANS ? mt->span : 0;
}

static enum graph_style style_of(const struct metrics_tab *mt);

bool metrics_tab_key(struct metrics_tab *mt, int key)
{
	int i = span_at(mt), page = mt->page > 1 ? mt->page : 1;

	switch (key) {
	case '+':
	case '=':
		mt->span = i + 1 < NSPANS ? i + 1 : i;
		break;
	case '-':
		mt->span = i > 0 ? i - 1 : 0;
		break;
	case 'j':
	case XK_DOWN:
		mt->scroll++;
		break;
	case 'k':
	case XK_UP:
		mt->scroll--;
		break;
	case XK_PGDN:
	case ' ':
		mt->scroll += page - 1;
		break;
	case XK_PGUP:
		mt->scroll -= page - 1;
		break;
	case XK_HOME:
		mt->scroll = 0;
		break;
	case XK_END:
		mt->scroll = mt->rows;
		break;
	case 'g':
		/* braille, blocks, ASCII, braille ... from what is drawn now */
		mt->style = (int)style_of(mt) + 1 < 3 ? (int)style_of(mt) + 2 : 1;
		break;
	default:
		return false;
	}
	/* clamped again at the next draw, when the rows are known */
	if (mt->scroll > mt->rows - page)
		mt->scroll = mt->rows - page;
	if (mt->scroll < 0)
		mt->scroll = 0;
	return true;
}

static enum graph_style style_of(const struct metrics_tab *mt)
{
	static const char *const names[] = {NULL, "braille", "blocks", "ascii"};

	return mt->style > 0 && mt->style < 4 ? graph_style_pick(names[mt->style], ui_utf8(), getenv("TERM"))
					      : mui_style();
}

/* ---- the rows the tab holds ------------------------------------------------------- */

struct seg {
	int x, w;
	enum role role;
	char *text;
};

struct vrow {
	struct seg *seg;
	int n;
};

struct canvas {
	struct vrow *row;
	int n;
};

static void put(struct canvas *c, int y, int x, int w, enum role role, const char *text)
{
	struct vrow *r;

	if (y < 0 || w <= 0)
		return;
	if (y >= c->n) {
		c->row = xrealloc(c->row, sizeof(*c->row) * (size_t)(y + 1));
		memset(c->row + c->n, 0, sizeof(*c->row) * (size_t)(y + 1 - c->n));
		c->n = y + 1;
	}
	r = &c->row[y];
	r->seg = xrealloc(r->seg, sizeof(*r->seg) * (size_t)(r->n + 1));
	r->seg[r->n++] = (struct seg){x, w, role, xstrdup(text)};
}

static void canvas_free(struct canvas *c)
{
	for (int y = 0; y < c->n; y++) {
		for (int i = 0; i < c->row[y].n; i++)
			free(c->row[y].seg[i].text);
		free(c->row[y].seg);
	}
	free(c->row);
}

/* What the figures are of, and how they are drawn. */
struct ctx {
	const struct metrics *m;
	const struct cache *cache;
	const char *obj;
	bool host;
	const struct span_def *span;
	enum graph_style st;
};

/* A figure's latest value as the tab writes it (CPU to a tenth, as the lists). */
static void value_text(char *buf, size_t n, enum mui_kind k, bool known, double v)
{
	if (k == MUI_CPU && known)
		snprintf(buf, n, "%.1f %%", v);
	else
		graph_format(buf, n, known ? v : NAN, mui_unit(k));
}

/* Points of k (one device's when dev) over the span, the newest last; their count. */
static size_t points(const struct ctx *c, enum mui_kind k, const char *dev, double *pts, int *step)
{
	long long t_end = 0;
	size_t n = dev ? mui_get_dev(c->m, c->obj, c->host, k, dev, c->span->archive, pts, MAX_POINTS, &t_end, step)
		       : mui_get(c->m, c->obj, c->host, k, c->span->archive, pts, MAX_POINTS, &t_end, step);

	if (n > c->span->points) {
		/* the newest of a longer archive */
		memmove(pts, pts + (n - c->span->points), c->span->points * sizeof(*pts));
		n = c->span->points;
	}
	return n;
}

/* One figure as a graph of rows lines (its title first) at (y, x), cols wide. */
static void graph_kind(struct canvas *cv, const struct ctx *c, enum mui_kind k, int y, int x, int rows, int cols)
{
	double pts[MAX_POINTS], last = NAN, total = 0;
	int step = 0;
	size_t n = points(c, k, NULL, pts, &step);
	bool known = mui_last(c->m, c->obj, c->host, k, &last);
	char val[48], tot[32], title[128];
	struct graph_in in = {.v = pts, .count = n, .step = step > 0 ? step : 5, .max = 0, .unit = mui_unit(k)};
	struct graph_out out;

	if (k == MUI_CPU)
		in.max = 100;
	if (k == MUI_MEM && mui_last(c->m, c->obj, c->host, MUI_MEM_TOTAL, &total) && total > 0)
		in.max = total; /* used of all it has */
	value_text(val, sizeof(val), k, known, last);
	if (k == MUI_MEM && total > 0) {
		graph_format(tot, sizeof(tot), total, "B");
		snprintf(title, sizeof(title), "%s %s of %s", mui_name(k), val, tot);
	} else {
		snprintf(title, sizeof(title), "%s %s", mui_name(k), val);
	}
	put(cv, y, x, cols, ROLE_HEADER, title);
	if (!n) {
		put(cv, y + 1, x + 2, cols - 2, ROLE_DIM, "no data yet");
		return;
	}
	graph_render(&out, &in, cols, rows - 1, c->st);
	for (int r = 0; r < out.rows; r++)
		put(cv, y + 1 + r, x, cols, ROLE_NORMAL, out.line[r]);
	graph_out_free(&out);
}

/* One figure on one line: its name, a sparkline of the span and the latest value. */
static void line_kind(struct canvas *cv, const struct ctx *c, enum mui_kind k, const char *dev, const char *name,
		      int nw, int y, int x, int cols)
{
	double pts[MAX_POINTS], last = NAN;
	int step = 0, sw;
	size_t n = points(c, k, dev, pts, &step);
	bool known = dev ? mui_last_dev(c->m, c->obj, c->host, k, dev, &last) : mui_last(c->m, c->obj, c->host, k, &last);
	char val[48], spark[MAX_POINTS * 4 + 1];
	double max = k == MUI_CPU ? 100 : 0;
	int vw = 14;

	value_text(val, sizeof(val), k, known, last);
	if (nw > cols / 2)
		nw = cols / 2; /* the sparkline keeps half */
	put(cv, y, x, nw, ROLE_HEADER, name);
	sw = cols - nw - vw - 2;
	if (sw > 0 && n) {
		if (n > (size_t)sw) {
			/* the whole span in sw cells: each the largest point it covers */
			for (int i = 0; i < sw; i++) {
				size_t a = (size_t)i * n / (size_t)sw, b = (size_t)(i + 1) * n / (size_t)sw;
				double top = NAN;
				for (size_t j = a; j < b && j < n; j++)
					if (!isnan(pts[j]) && (isnan(top) || pts[j] > top))
						top = pts[j];
				pts[i] = top;
			}
			n = (size_t)sw;
		}
		graph_sparkline(spark, sizeof(spark), pts, n, max, sw, c->st);
		put(cv, y, x + nw + 1, sw, ROLE_NORMAL, spark);
	}
	put(cv, y, x + cols - vw, vw, known ? ROLE_NORMAL : ROLE_DIM, known ? val : "no data yet");
}

struct sr_find {
	const char *prefix;
	const struct xv *sr;
};

static bool sr_by_prefix(const char *ref, const struct xv *rec, void *ud)
{
	struct sr_find *f = ud;

	if (strncmp(rec_str(rec, "uuid"), f->prefix, strlen(f->prefix)) != 0)
		return true;
	f->sr = rec;
	return false;
}

/* A name for device dev of k: "vCPU 0", "VIF 0", "xvda", a host's "eth0", an SR's name. */
static void dev_name(char *buf, size_t n, const struct ctx *c, enum mui_kind k, const char *dev)
{
	if (k == MUI_CPU) {
		snprintf(buf, n, "%s %s", c->host ? "Core" : "vCPU", dev);
		return;
	}
	if (!c->host && (k == MUI_NET_RX || k == MUI_NET_TX)) {
		snprintf(buf, n, "VIF %s", dev);
		return;
	}
	if (c->host && k != MUI_NET_RX && k != MUI_NET_TX) {
		/* a host's disk figures are its SRs', named by their uuid's first 8 characters */
		struct sr_find f = {dev, NULL};
		if (c->cache)
			cache_each(c->cache, "SR", sr_by_prefix, &f);
		snprintf(buf, n, "SR %s", f.sr && *rec_str(f.sr, "name_label") ? rec_str(f.sr, "name_label") : dev);
		return;
	}
	snprintf(buf, n, "%s", dev);
}

/* One line per device of each of kinds (a heading first): the rows used from y. */
static int device_lines(struct canvas *cv, const struct ctx *c, const char *heading, const enum mui_kind *kinds,
			const char *const *what, int nk, int y, int ncol, int colw)
{
	char **devs = NULL, name[96], label[160];
	size_t nd = 0;
	int n = 0, per, used, nw = NAME_W;

	/* the devices of the first kind name them all (rx and tx, read and write come together) */
	nd = mui_devices(c->m, c->obj, c->host, kinds[0], &devs);
	if (!nd) {
		mui_devices_free(devs, nd);
		return 0;
	}
	put(cv, y, 1, ncol * colw, ROLE_HEADER, heading);
	per = ((int)nd * nk + ncol - 1) / ncol;
	/* the names as wide as the longest (an SR's name may be long) */
	for (int pass = 0; pass < 2; pass++)
		for (size_t d = 0; d < nd; d++)
			for (int i = 0; i < nk; i++) {
				dev_name(name, sizeof(name), c, kinds[i], devs[d]);
				snprintf(label, sizeof(label), "%s%s%s", name, *what[i] ? " " : "", what[i]);
				if (pass == 0) {
					if ((int)strlen(label) + 1 > nw)
						nw = (int)strlen(label) + 1;
					continue;
				}
				line_kind(cv, c, kinds[i], devs[d], label, nw, y + 1 + n % per, 3 + (n / per) * (colw + 3),
					  colw - 2);
				n++;
			}
	used = 1 + per + 1;
	mui_devices_free(devs, nd);
	return used;
}

/* The time of obj's latest point (0: none yet). */
static long long last_time(const struct metrics *m, const char *obj, bool host)
{
	double v;
	long long t = 0;

	if (host)
		metrics_last(m, obj, "cpu_avg", &v, &t);
	else if (!om_vm_cpu_usage(m, obj, &v, &t))
		metrics_last(m, obj, "memory", &v, &t);
	return t;
}

/* Every row of the tab for avail rows of cols. */
static void lay_out(struct canvas *cv, const struct ctx *c, int avail, int cols)
{
	static const enum mui_kind vm_kinds[] = {MUI_CPU, MUI_MEM, MUI_NET_RX, MUI_NET_TX,
						 MUI_DISK_R, MUI_DISK_W, MUI_IOPS_R, MUI_IOPS_W};
	static const enum mui_kind host_kinds[] = {MUI_CPU, MUI_LOAD, MUI_MEM, MUI_NET_RX, MUI_NET_TX,
						   MUI_DISK_R, MUI_DISK_W, MUI_IOPS_R, MUI_IOPS_W};
	static const enum mui_kind cpu[] = {MUI_CPU}, net[] = {MUI_NET_RX, MUI_NET_TX};
	static const enum mui_kind disk[] = {MUI_DISK_R, MUI_DISK_W, MUI_IOPS_R, MUI_IOPS_W};
	static const char *const cpu_w[] = {""}, *const net_w[] = {"receive", "send"};
	static const char *const disk_w[] = {"read", "write", "read IOPS", "write IOPS"};
	const enum mui_kind *kinds = c->host ? host_kinds : vm_kinds;
	int nk = c->host ? (int)ARRAY_LEN(host_kinds) : (int)ARRAY_LEN(vm_kinds);
	int ncol = cols >= 160 ? 2 : 1, colw = (cols - 2 - (ncol - 1) * 3) / ncol;
	int per = (nk + ncol - 1) / ncol, y = 0;

	if (per * SLOT_ROWS <= avail || ncol > 1) {
		/* every figure a graph with its axes, column by column */
		for (int i = 0; i < nk; i++)
			graph_kind(cv, c, kinds[i], (i % per) * SLOT_ROWS, 1 + (i / per) * (colw + 3), GRAPH_ROWS, colw);
		y = per * SLOT_ROWS;
	} else {
		/* CPU as a graph in what the others leave, they a line each under it */
		int big = avail - (nk - 1) - 1;

		if (big < 5)
			big = 5;
		if (big > 14)
			big = 14;
		graph_kind(cv, c, kinds[0], 0, 1, big, cols - 2);
		y = big + 1;
		for (int i = 1; i < nk; i++)
			line_kind(cv, c, kinds[i], NULL, mui_name(kinds[i]), NAME_W, y++, 1, cols - 2);
		y++;
	}
	y += device_lines(cv, c, c->host ? "Per core" : "Per vCPU", cpu, cpu_w, 1, y, ncol, colw);
	y += device_lines(cv, c, "Per interface", net, net_w, 2, y, ncol, colw);
	device_lines(cv, c, c->host ? "Per storage repository" : "Per disk", disk, disk_w, 4, y, ncol, colw);
}

void metrics_tab_draw(struct app *app, struct metrics_tab *mt, struct pool *p, const char *obj, bool host,
		      bool running, WINDOW *w, int y, int h, int cols)
{
	struct metrics *m = mui_metrics(app, p);
	const struct span_def *span = &spans[span_at(mt)];
	struct ctx c = {m, p ? p->cache : NULL, obj, host, span, style_of(mt)};
	struct canvas cv = {NULL, 0};
	char head[200], when[32] = "";
	int avail;
	long long t;

	if (!m) {
		ui_put(w, y, 2, cols - 4, theme_attr(ROLE_DIM), "Its pool is not connected.");
		return;
	}
	if (!running) {
		ui_wrap(w, y, 2, cols - 4, h, theme_attr(ROLE_DIM),
			"This VM is not running, so xcp-rrdd has no figures for it.");
		return;
	}
	metrics_want(m, obj, span->archive);
	avail = h - 2;
	if (avail < 1)
		return;
	lay_out(&cv, &c, avail, cols);
	mt->rows = cv.n;
	mt->page = avail;
	if (mt->scroll > cv.n - avail)
		mt->scroll = cv.n - avail;
	if (mt->scroll < 0)
		mt->scroll = 0;
	t = last_time(m, obj, host);
	if (t > 0) {
		time_t tt = (time_t)t;
		struct tm tm;

		localtime_r(&tt, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	}
	snprintf(head, sizeof(head), "Span %s (%s) %s %s%s", span->name, cols >= 100 ? "+ longer, - shorter, g graph style" : "+/-",
		 glyph(GLYPH_SEP), *when ? "last point at " : "waiting for xcp-rrdd's figures", when);
	if (cv.n > avail) {
		char more[64];
		snprintf(more, sizeof(more), " %s rows %d-%d/%d j/k", glyph(GLYPH_SEP), mt->scroll + 1,
			 mt->scroll + avail < cv.n ? mt->scroll + avail : cv.n, cv.n);
		strncat(head, more, sizeof(head) - strlen(head) - 1);
	}
	if (metrics_error(m)) {
		strncat(head, " ", sizeof(head) - strlen(head) - 1);
		strncat(head, glyph(GLYPH_SEP), sizeof(head) - strlen(head) - 1);
		strncat(head, " ", sizeof(head) - strlen(head) - 1);
		strncat(head, metrics_error(m), sizeof(head) - strlen(head) - 1);
	}
	ui_put(w, y, 1, cols - 2, theme_attr(ROLE_DIM), head);
	y += 2;
	for (int r = 0; r < avail && mt->scroll + r < cv.n; r++) {
		const struct vrow *row = &cv.row[mt->scroll + r];
		for (int i = 0; i < row->n; i++)
			ui_put(w, y + r, row->seg[i].x, row->seg[i].w, theme_attr(row->seg[i].role), row->seg[i].text);
	}
	canvas_free(&cv);
}
