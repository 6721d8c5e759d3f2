/* Figures from xcp-rrdd's series for the screens; see metrics_ui.h. */
#include "metrics_ui.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"
#include "model.h"
#include "openmetrics.h"
#include "util.h"

static void on_points(struct metrics *m, void *ud)
{
	app_dirty(ud);
}

struct metrics *mui_metrics(struct app *app, struct pool *p)
{
	if (!p || !p->metrics)
		return NULL;
	metrics_on_update(p->metrics, on_points, app);
	return p->metrics;
}

const char *mui_unit(enum mui_kind k)
{
	return k == MUI_CPU ? "%" : k == MUI_MEM || k == MUI_MEM_TOTAL ? "B" : k == MUI_LOAD ? "" : "B/s";
}

const char *mui_name(enum mui_kind k)
{
	static const char *const names[MUI_KINDS] = {"CPU", "Memory used", "Memory", "Network receive",
						     "Network send", "Disk read", "Disk write", "Load"};

	return k < MUI_KINDS ? names[k] : "";
}

enum combine { SUM, MEAN };

/* The series of k: names matched by their form, and how they add up. */
struct pick {
	enum mui_kind k;
	bool host;
	bool native;     /* a VM's cpu_usage: used alone */
	char **names;
	size_t n;
};

static bool digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* name is "PREFIX<middle>SUFFIX" with a non-empty middle (not "aggr": a host's sum of its PIFs). */
static bool shaped(const char *name, const char *prefix, const char *suffix)
{
	size_t lp = strlen(prefix), ls = strlen(suffix), ln = strlen(name);

	if (ln <= lp + ls || strncmp(name, prefix, lp) != 0 || strcmp(name + ln - ls, suffix) != 0)
		return false;
	return !(ln - lp - ls == 4 && strncmp(name + lp, "aggr", 4) == 0);
}

static bool pick_series(const char *name, void *ud)
{
	struct pick *p = ud;
	bool take = false;

	switch (p->k) {
	case MUI_CPU:
		if (p->host)
			take = strcmp(name, "cpu_avg") == 0;
		else if (strcmp(name, "cpu_usage") == 0) {
			for (size_t i = 0; i < p->n; i++)
				free(p->names[i]);
			p->n = 0;
			p->native = true;
			take = true;
		} else
			take = !p->native && strncmp(name, "cpu", 3) == 0 && digits(name + 3);
		break;
	case MUI_NET_RX:
		take = shaped(name, p->host ? "pif_" : "vif_", "_rx");
		break;
	case MUI_NET_TX:
		take = shaped(name, p->host ? "pif_" : "vif_", "_tx");
		break;
	case MUI_DISK_R:
		take = shaped(name, "vbd_", "_read");
		break;
	case MUI_DISK_W:
		take = shaped(name, "vbd_", "_write");
		break;
	case MUI_LOAD:
		take = p->host && strcmp(name, "loadavg") == 0;
		break;
	default:
		break;
	}
	if (take) {
		p->names = xrealloc(p->names, sizeof(*p->names) * (p->n + 1));
		p->names[p->n++] = xstrdup(name);
	}
	return true;
}

static void pick_free(struct pick *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->names[i]);
	free(p->names);
}

/* The named series of k (memory is two fixed names; the rest are found by their form). */
static void pick(const struct metrics *m, const char *obj, bool host, enum mui_kind k, struct pick *p)
{
	memset(p, 0, sizeof(*p));
	p->k = k;
	p->host = host;
	if (k == MUI_MEM || k == MUI_MEM_TOTAL) {
		p->names = xcalloc(2, sizeof(*p->names));
		p->names[p->n++] = xstrdup(host ? "memory_total_kib" : "memory");
		if (k == MUI_MEM)
			p->names[p->n++] = xstrdup(host ? "memory_free_kib" : "memory_internal_free");
		return;
	}
	metrics_each_series(m, obj, pick_series, p);
}

/* One point of k from the values of its series (NAN: unknown). */
static double combine(enum mui_kind k, bool host, const double *v, size_t n)
{
	double sum = 0;
	size_t known = 0;

	if (k == MUI_MEM || k == MUI_MEM_TOTAL) {
		/* a host counts in KiB; a VM's memory in bytes, its free memory in KiB */
		double total = host ? v[0] * 1024 : v[0];

		if (isnan(v[0]) || (k == MUI_MEM && (n < 2 || isnan(v[1]))))
			return NAN;
		return k == MUI_MEM ? total - v[1] * 1024 : total;
	}
	for (size_t i = 0; i < n; i++)
		if (!isnan(v[i])) {
			sum += v[i];
			known++;
		}
	if (!known)
		return NAN;
	if (k == MUI_CPU)
		return sum / (double)known * 100; /* a ratio: the mean of the vCPUs, as XO */
	return sum;
}

bool mui_last(const struct metrics *m, const char *obj, bool host, enum mui_kind k, double *v)
{
	struct pick p;
	double *vals;
	bool ok = true;

	if (!m || !obj)
		return false;
	if (k == MUI_CPU && !host) {
		/* exactly what `xentui list vms` and /metrics say */
		if (!om_vm_cpu_usage(m, obj, v, NULL))
			return false;
		*v *= 100;
		return true;
	}
	pick(m, obj, host, k, &p);
	vals = xcalloc(p.n ? p.n : 1, sizeof(*vals));
	for (size_t i = 0; i < p.n; i++)
		if (!metrics_last(m, obj, p.names[i], &vals[i], NULL)) {
			if (k == MUI_MEM || k == MUI_MEM_TOTAL || k == MUI_CPU)
				ok = false;
			vals[i] = NAN;
		}
	if (ok && p.n) {
		*v = combine(k, host, vals, p.n);
		ok = !isnan(*v);
	} else {
		ok = false;
	}
	free(vals);
	pick_free(&p);
	return ok;
}

size_t mui_get(const struct metrics *m, const char *obj, bool host, enum mui_kind k, enum metrics_span span,
	       double *out, size_t max, long long *t_end, int *step)
{
	struct pick p;
	double **cols, *row;
	size_t *got, n = 0;

	if (!m || !obj || !max)
		return 0;
	pick(m, obj, host, k, &p);
	cols = xcalloc(p.n ? p.n : 1, sizeof(*cols));
	got = xcalloc(p.n ? p.n : 1, sizeof(*got));
	row = xcalloc(p.n ? p.n : 1, sizeof(*row));
	for (size_t i = 0; i < p.n; i++) {
		long long te = 0;
		int st = 0;

		cols[i] = xcalloc(max, sizeof(double));
		got[i] = metrics_get(m, obj, p.names[i], span, cols[i], max, &te, &st);
		if (got[i] > n) {
			n = got[i];
			*t_end = te;
			*step = st;
		}
	}
	/* the series of one object come from one host's reply: aligned at their newest point */
	for (size_t j = 0; j < n; j++) {
		for (size_t i = 0; i < p.n; i++) {
			size_t off = n - got[i];
			row[i] = j >= off ? cols[i][j - off] : NAN;
		}
		out[j] = p.n ? combine(k, host, row, p.n) : NAN;
	}
	for (size_t i = 0; i < p.n; i++)
		free(cols[i]);
	free(cols);
	free(got);
	free(row);
	pick_free(&p);
	return n;
}

enum graph_style mui_style(void)
{
	return graph_style_pick(getenv("XENTUI_GRAPH"), ui_utf8(), getenv("TERM"));
}

void mui_list_cells(const struct metrics *m, const char *uuid, bool host, char *cpu, size_t ncpu, double *cpu_n,
		    char *mem, size_t nmem, double *mem_n)
{
	double v, used, total, pts[120];
	long long t_end = 0;
	int step = 0;

	cpu[0] = mem[0] = '\0';
	*cpu_n = *mem_n = -1;
	if (mui_last(m, uuid, host, MUI_CPU, &v)) {
		size_t n = mui_get(m, uuid, host, MUI_CPU, METRICS_10MIN, pts, 120, &t_end, &step);
		char spark[64];

		graph_sparkline(spark, sizeof(spark), pts, n, 100, 6, mui_style()); /* 0..100 %: rows compare */
		snprintf(cpu, ncpu, "%5.1f%% %s", v, spark);
		*cpu_n = v;
	}
	if (mui_last(m, uuid, host, MUI_MEM, &used) && mui_last(m, uuid, host, MUI_MEM_TOTAL, &total)) {
		char a[32], b[32];

		graph_format(a, sizeof(a), used, "B");
		graph_format(b, sizeof(b), total, "B");
		snprintf(mem, nmem, "%s / %s", a, b);
		*mem_n = used;
	}
}

/* The record of a row and its pool's metrics; NULL when it has no figures to fetch. */
static const char *row_uuid(struct app *app, const char *key, bool host, struct metrics **m)
{
	struct pool *p;
	const char *ref;
	const struct xv *r = app_lookup(app, key, &p, &ref);

	if (!r || !(*m = mui_metrics(app, p)))
		return NULL;
	/* a halted VM has no figures: nothing to ask any host for */
	if (!host && strcmp(rec_str(r, "power_state"), "Running") != 0 && strcmp(rec_str(r, "power_state"), "Paused") != 0)
		return NULL;
	return rec_str(r, "uuid");
}

void mui_table_draw(struct app *app, struct table *t, int col_cpu, int col_mem, bool host, WINDOW *w, int h,
		    int cols, mui_row_fn remetric, void *ud)
{
	bool all = table_sort_col(t) == col_cpu || table_sort_col(t) == col_mem;
	size_t first = 0, count = 0;
	char **keys;

	if (all) {
		first = 0;
		count = table_shown(t);
	} else {
		table_visible(t, &first, &count);
	}
	/* keys copied: putting a row again may re-sort the view */
	keys = xcalloc(count ? count : 1, sizeof(*keys));
	for (size_t i = 0; i < count; i++) {
		const char *k = table_row_key(t, first + i);
		keys[i] = k ? xstrdup(k) : NULL;
	}
	for (size_t i = 0; i < count; i++) {
		if (keys[i])
			remetric(app, keys[i], ud);
		free(keys[i]);
	}
	free(keys);
	table_draw(t, w, 0, 0, h, cols, !app_has_dialog(app));
	/* wanted: what is on screen now (a sort by the figures needs every row's) */
	if (all) {
		struct pools *ps = app_pools(app);

		for (size_t i = 0; i < pools_count(ps); i++) {
			struct metrics *m = mui_metrics(app, pools_at(ps, i));
			if (m)
				metrics_want_all(m, METRICS_NOW);
		}
	}
	table_visible(t, &first, &count);
	for (size_t i = 0; i < count; i++) {
		const char *k = table_row_key(t, first + i);
		struct metrics *m = NULL;
		const char *uuid = k ? row_uuid(app, k, host, &m) : NULL;

		if (uuid)
			metrics_want(m, uuid, METRICS_10MIN);
	}
}
