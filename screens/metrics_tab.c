/* The Metrics tab of a host and of a VM; see metrics_tab.h. */
#include "metrics_tab.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "draw.h"
#include "graph.h"
#include "metrics_ui.h"
#include "openmetrics.h"
#include "theme.h"
#include "util.h"

#define MAX_POINTS 256 /* the longest archive is 168 hourly points */

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

bool metrics_tab_key(struct metrics_tab *mt, int key)
{
	int i = span_at(mt);

	if (key == '+' || key == '=')
		mt->span = i + 1 < NSPANS ? i + 1 : i;
	else if (key == '-')
		mt->span = i > 0 ? i - 1 : 0;
	else
		return false;
	return true;
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

struct slot {
	int y, x, rows, cols; /* rows includes the title line; 1: a one-line sparkline */
};

/* One figure: its name and latest value on a title line, the graph under it. */
static void draw_kind(const struct metrics *m, const char *obj, bool host, enum mui_kind k, const struct span_def *span,
		      WINDOW *w, const struct slot *s)
{
	double pts[MAX_POINTS], last, total = 0;
	long long t_end = 0;
	int step = 0;
	size_t n = mui_get(m, obj, host, k, span->archive, pts, MAX_POINTS, &t_end, &step);

	if (n > span->points) {
		/* the newest of a longer archive */
		memmove(pts, pts + (n - span->points), span->points * sizeof(*pts));
		n = span->points;
	}
	bool known = mui_last(m, obj, host, k, &last);
	char val[48], tot[32], title[96];
	struct graph_in in = {.v = pts, .count = n, .step = step > 0 ? step : 5, .max = 0, .unit = mui_unit(k)};
	struct graph_out out;
	int name_w = 17;

	if (k == MUI_CPU)
		in.max = 100;

	if (k == MUI_MEM && mui_last(m, obj, host, MUI_MEM_TOTAL, &total) && total > 0)
		in.max = total; /* used of all it has */
	graph_format(val, sizeof(val), known ? last : NAN, mui_unit(k));
	if (k == MUI_CPU && known)
		snprintf(val, sizeof(val), "%.1f %%", last); /* a tenth: as the lists show it */
	if (k == MUI_MEM && total > 0) {
		graph_format(tot, sizeof(tot), total, "B");
		snprintf(title, sizeof(title), "%s %s of %s", mui_name(k), val, tot);
	} else {
		snprintf(title, sizeof(title), "%s %s", mui_name(k), val);
	}
	if (s->rows < 5) {
		/* no room for axes: the name, a sparkline and the value */
		ui_put(w, s->y, s->x, name_w, theme_attr(ROLE_HEADER), mui_name(k));
		if (!n) {
			ui_put(w, s->y, s->x + name_w, s->cols - name_w, theme_attr(ROLE_DIM), known ? val : "no data yet");
			return;
		}
		graph_render(&out, &in, s->cols - name_w, 1, mui_style());
		ui_put(w, s->y, s->x + name_w, s->cols - name_w, theme_attr(ROLE_NORMAL), out.line[0]);
		graph_out_free(&out);
		return;
	}
	ui_put(w, s->y, s->x, s->cols, theme_attr(ROLE_HEADER), title);
	if (!n) {
		ui_put(w, s->y + 1, s->x + 2, s->cols - 2, theme_attr(ROLE_DIM), "no data yet");
		return;
	}
	graph_render(&out, &in, s->cols, s->rows - 1, mui_style());
	for (int r = 0; r < out.rows; r++)
		ui_put(w, s->y + 1 + r, s->x, s->cols, theme_attr(ROLE_NORMAL), out.line[r]);
	graph_out_free(&out);
}

void metrics_tab_draw(struct app *app, struct metrics_tab *mt, struct pool *p, const char *obj, bool host,
		      bool running, WINDOW *w, int y, int h, int cols)
{
	static const enum mui_kind vm_kinds[] = {MUI_CPU, MUI_MEM, MUI_NET_RX, MUI_NET_TX, MUI_DISK_R, MUI_DISK_W};
	static const enum mui_kind host_kinds[] = {MUI_CPU, MUI_LOAD, MUI_MEM, MUI_NET_RX, MUI_NET_TX};
	const enum mui_kind *kinds = host ? host_kinds : vm_kinds;
	int nk = host ? 5 : 6, ncol, per, avail, colw;
	struct metrics *m = mui_metrics(app, p);
	const struct span_def *span = &spans[span_at(mt)];
	char head[160], when[32] = "";
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
	t = last_time(m, obj, host);
	if (t > 0) {
		time_t tt = (time_t)t;
		struct tm tm;

		localtime_r(&tt, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	}
	snprintf(head, sizeof(head), "Span %s (+ longer, - shorter) %s %s", span->name,
		 glyph(GLYPH_SEP), *when ? "last point at " : "waiting for xcp-rrdd's figures");
	if (*when)
		strncat(head, when, sizeof(head) - strlen(head) - 1);
	if (metrics_error(m)) {
		strncat(head, " ", sizeof(head) - strlen(head) - 1);
		strncat(head, glyph(GLYPH_SEP), sizeof(head) - strlen(head) - 1);
		strncat(head, " ", sizeof(head) - strlen(head) - 1);
		strncat(head, metrics_error(m), sizeof(head) - strlen(head) - 1);
	}
	ui_put(w, y, 1, cols - 2, theme_attr(ROLE_DIM), head);
	y += 2;
	avail = h - 2;
	if (avail < 1)
		return;
	ncol = cols >= 160 ? 2 : 1;
	colw = (cols - 2 - (ncol - 1) * 3) / ncol;
	per = (nk + ncol - 1) / ncol;
	if (avail / per >= 7) {
		/* room for every graph with its axes */
		int slot_h = avail / per;

		for (int i = 0; i < nk; i++) {
			struct slot s = {y + (i % per) * slot_h, 1 + (i / per) * (colw + 3), slot_h - 1, colw};
			draw_kind(m, obj, host, kinds[i], span, w, &s);
		}
		return;
	}
	/* CPU as a graph, the others a line each under it */
	{
		int big = avail - (nk - 1) - 1;
		int line = y;

		for (int i = 0; i < nk; i++) {
			struct slot s = {line, 1, i == 0 ? (big >= 5 ? big : 1) : 1, cols - 2};
			if (line >= y + avail)
				break;
			draw_kind(m, obj, host, kinds[i], span, w, &s);
			line += s.rows + (i == 0 && s.rows > 1 ? 1 : 0);
		}
	}
}
