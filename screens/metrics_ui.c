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
	if (k == MUI_IOPS_R || k == MUI_IOPS_W)
		return "IOPS";
	return k == MUI_CPU ? "%" : k == MUI_MEM || k == MUI_MEM_TOTAL ? "B" : k == MUI_LOAD ? "" : "B/s";
}

const char *mui_name(enum mui_kind k)
{
	static const char *const names[MUI_KINDS] = {"CPU", "Memory used", "Memory", "Network receive",
						     "Network send", "Disk read", "Disk write", "Load",
						     "Disk read IOPS", "Disk write IOPS"};

	return k < MUI_KINDS ? names[k] : "";
}

enum combine { SUM, MEAN };

/* The series of k: names matched by their form, and how they add up. */
struct pick {
	enum mui_kind k;
	bool host;
	bool native;     /* a VM's cpu_usage: used alone */
	const char *dev; /* only this device's series (NULL: all) */
	char **mids;     /* each name's device, as names */
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

/* name is "PREFIX<middle>SUFFIX" with a non-empty middle without '_' (so vbd_xvda_read is
 * not vbd_xvda_iops_read), not "aggr" (a host's sum of its PIFs); the middle into mid. */
static bool shaped(const char *name, const char *prefix, const char *suffix, char *mid, size_t nmid)
{
	size_t lp = strlen(prefix), ls = strlen(suffix), ln = strlen(name), lm;

	if (ln <= lp + ls || strncmp(name, prefix, lp) != 0 || strcmp(name + ln - ls, suffix) != 0)
		return false;
	lm = ln - lp - ls;
	if (memchr(name + lp, '_', lm) || (lm == 4 && strncmp(name + lp, "aggr", 4) == 0) || lm >= nmid)
		return false;
	memcpy(mid, name + lp, lm);
	mid[lm] = '\0';
	return true;
}

static void pick_clear(struct pick *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->names[i]);
		free(p->mids[i]);
	}
	p->n = 0;
}

static bool pick_series(const char *name, void *ud)
{
	struct pick *p = ud;
	bool take = false;
	char mid[64] = "";

	switch (p->k) {
	case MUI_CPU:
		if (p->host && !p->dev)
			take = strcmp(name, "cpu_avg") == 0;
		else if (!p->host && !p->dev && strcmp(name, "cpu_usage") == 0) {
			pick_clear(p);
			p->native = true;
			take = true;
		} else if (!p->native && strncmp(name, "cpu", 3) == 0 && digits(name + 3) && strlen(name + 3) < sizeof(mid)) {
			strcpy(mid, name + 3);
			take = true;
		}
		break;
	case MUI_NET_RX:
		take = shaped(name, p->host ? "pif_" : "vif_", "_rx", mid, sizeof(mid));
		break;
	case MUI_NET_TX:
		take = shaped(name, p->host ? "pif_" : "vif_", "_tx", mid, sizeof(mid));
		break;
	case MUI_DISK_R:
		take = p->host ? shaped(name, "io_throughput_read_", "", mid, sizeof(mid))
			       : shaped(name, "vbd_", "_read", mid, sizeof(mid));
		break;
	case MUI_DISK_W:
		take = p->host ? shaped(name, "io_throughput_write_", "", mid, sizeof(mid))
			       : shaped(name, "vbd_", "_write", mid, sizeof(mid));
		break;
	case MUI_IOPS_R:
		take = p->host ? shaped(name, "iops_read_", "", mid, sizeof(mid))
			       : shaped(name, "vbd_", "_iops_read", mid, sizeof(mid));
		break;
	case MUI_IOPS_W:
		take = p->host ? shaped(name, "iops_write_", "", mid, sizeof(mid))
			       : shaped(name, "vbd_", "_iops_write", mid, sizeof(mid));
		break;
	case MUI_LOAD:
		take = p->host && !p->dev && strcmp(name, "loadavg") == 0;
		break;
	default:
		break;
	}
	if (take && p->dev && strcmp(mid, p->dev) != 0)
		take = false;
	if (take) {
		p->names = xrealloc(p->names, sizeof(*p->names) * (p->n + 1));
		p->mids = xrealloc(p->mids, sizeof(*p->mids) * (p->n + 1));
		p->names[p->n] = xstrdup(name);
		p->mids[p->n++] = xstrdup(mid);
	}
	return true;
}

/* Every cpuN of an object (a host's cores, a VM's vCPUs). */
static bool pick_cpu_any(const char *name, void *ud)
{
	struct pick *p = ud;

	if (strncmp(name, "cpu", 3) == 0 && digits(name + 3) && strlen(name) < 64) {
		p->names = xrealloc(p->names, sizeof(*p->names) * (p->n + 1));
		p->mids = xrealloc(p->mids, sizeof(*p->mids) * (p->n + 1));
		p->names[p->n] = xstrdup(name);
		p->mids[p->n++] = xstrdup(name + 3);
	}
	return true;
}

static void pick_free(struct pick *p)
{
	pick_clear(p);
	free(p->names);
	free(p->mids);
}

/* The named series of k (memory is two fixed names; the rest are found by their form),
 * only dev's when dev is not NULL. */
static void pick(const struct metrics *m, const char *obj, bool host, enum mui_kind k, const char *dev,
		 struct pick *p)
{
	memset(p, 0, sizeof(*p));
	p->k = k;
	p->host = host;
	p->dev = dev;
	if (k == MUI_MEM || k == MUI_MEM_TOTAL) {
		if (dev)
			return;
		p->names = xcalloc(2, sizeof(*p->names));
		p->mids = xcalloc(2, sizeof(*p->mids));
		p->mids[p->n] = xstrdup("");
		p->names[p->n++] = xstrdup(host ? "memory_total_kib" : "memory");
		if (k == MUI_MEM) {
			p->mids[p->n] = xstrdup("");
			p->names[p->n++] = xstrdup(host ? "memory_free_kib" : "memory_internal_free");
		}
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
	if (host && (k == MUI_DISK_R || k == MUI_DISK_W))
		return sum * 1048576; /* a host's SRs count in MiB/s */
	return sum;
}

static bool last_of(const struct metrics *m, const char *obj, bool host, enum mui_kind k, const char *dev,
		    double *v)
{
	struct pick p;
	double *vals;
	bool ok = true;

	if (!m || !obj)
		return false;
	if (k == MUI_CPU && !host && !dev) {
		/* exactly what `xentui list vms` and /metrics say */
		if (!om_vm_cpu_usage(m, obj, v, NULL))
			return false;
		*v *= 100;
		return true;
	}
	pick(m, obj, host, k, dev, &p);
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

bool mui_last(const struct metrics *m, const char *obj, bool host, enum mui_kind k, double *v)
{
	return last_of(m, obj, host, k, NULL, v);
}

bool mui_last_dev(const struct metrics *m, const char *obj, bool host, enum mui_kind k, const char *dev, double *v)
{
	return last_of(m, obj, host, k, dev, v);
}

static size_t get_of(const struct metrics *m, const char *obj, bool host, enum mui_kind k, const char *dev,
		     enum metrics_span span, double *out, size_t max, long long *t_end, int *step)
{
	struct pick p;
	double **cols, *row;
	size_t *got, n = 0;

	if (!m || !obj || !max)
		return 0;
	pick(m, obj, host, k, dev, &p);
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

size_t mui_get(const struct metrics *m, const char *obj, bool host, enum mui_kind k, enum metrics_span span,
	       double *out, size_t max, long long *t_end, int *step)
{
	return get_of(m, obj, host, k, NULL, span, out, max, t_end, step);
}

size_t mui_get_dev(const struct metrics *m, const char *obj, bool host, enum mui_kind k, const char *dev,
		   enum metrics_span span, double *out, size_t max, long long *t_end, int *step)
{
	return get_of(m, obj, host, k, dev, span, out, max, t_end, step);
}

static int dev_cmp(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

size_t mui_devices(const struct metrics *m, const char *obj, bool host, enum mui_kind k, char ***out)
{
	struct pick p;
	size_t n = 0;

	*out = NULL;
	if (!m || !obj || k == MUI_MEM || k == MUI_MEM_TOTAL || k == MUI_LOAD)
		return 0;
	if (k == MUI_CPU) {
		/* the per-vCPU or per-core names, not cpu_avg or cpu_usage */
		memset(&p, 0, sizeof(p));
		metrics_each_series(m, obj, pick_cpu_any, &p);
	} else {
		pick(m, obj, host, k, NULL, &p);
	}
	*out = xcalloc(p.n ? p.n : 1, sizeof(**out));
	for (size_t i = 0; i < p.n; i++) {
		bool dup = false;
		for (size_t j = 0; j < n && !dup; j++)
			dup = strcmp((*out)[j], p.mids[i]) == 0;
		if (!dup && p.mids[i][0])
			(*out)[n++] = xstrdup(p.mids[i]);
	}
	pick_free(&p);
	qsort(*out, n, sizeof(**out), dev_cmp);
	return n;
}

void mui_devices_free(char **devs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(devs[i]);
	free(devs);
}

enum graph_style mui_style(void)
{
	return graph_style_pick(getenv("XENTUI_GRAPH"), ui_utf8(), getenv("TERM"));
}

/* When vm last started, as xapi says (VM_metrics.start_time); 0 if unknown. */
static long long started_at(const struct cache *c, const struct xv *vm)
{
	const struct xv *run = cache_get(c, rec_str(vm, "metrics"));

	return run ? datetime_seconds(rec_str(run, "start_time")) : 0;
}

bool mui_vm_current(const struct metrics *m, const struct cache *c, const struct xv *vm)
{
	const char *power = rec_str(vm, "power_state");
	long long t = 0;
	double v;

	if (!m || (strcmp(power, "Running") != 0 && strcmp(power, "Paused") != 0))
		return false;
	return om_vm_cpu_usage(m, rec_str(vm, "uuid"), &v, &t) && t > started_at(c, vm);
}

bool mui_now_current(const struct mui_now *f, const struct cache *c, const struct xv *vm)
{
	return f->t > started_at(c, vm);
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

/* ---- every figure in one pass ---------------------------------------------------------- */

struct now_ctx {
	bool host;
	struct mui_now *f;
	double sum[MUI_KINDS];
	int known[MUI_KINDS];
	double cpu_native, mem[2]; /* a VM's cpu_usage; memory (total, free) as rrdd names them */
	bool has_native, has_mem[2];
};

static bool now_series(const char *name, double v, long long t, void *ud)
{
	struct now_ctx *c = ud;
	char mid[64];
	int k = -1;
	bool net, disk;

	if (t > c->f->t)
		c->f->t = t;
	if (!t || !strchr("cmvpil", name[0]))
		return true; /* none of the names below: most of a VM's disk figures start so too, but few others */
	if (strcmp(name, c->host ? "memory_total_kib" : "memory") == 0) {
		c->mem[0] = v;
		c->has_mem[0] = true;
		return true;
	}
	if (strcmp(name, c->host ? "memory_free_kib" : "memory_internal_free") == 0) {
		c->mem[1] = v;
		c->has_mem[1] = true;
		return true;
	}
	if (c->host && strcmp(name, "cpu_avg") == 0) {
		c->cpu_native = v;
		c->has_native = true;
		return true;
	}
	if (!c->host && strcmp(name, "cpu_usage") == 0) {
		if (isfinite(v)) {
			c->cpu_native = v;
			c->has_native = true;
		}
		return true;
	}
	/* the first letters say which tests can match: :top runs this for thousands of VMs */
	net = name[0] == (c->host ? 'p' : 'v') && name[1] == 'i';
	disk = c->host ? name[0] == 'i' : name[0] == 'v' && name[1] == 'b';
	if (c->host && strcmp(name, "loadavg") == 0)
		k = MUI_LOAD;
	else if (!c->host && strncmp(name, "cpu", 3) == 0 && digits(name + 3))
		k = isfinite(v) ? MUI_CPU : -1; /* as om_vm_cpu_usage: the mean of the finite ones */
	else if (net && shaped(name, c->host ? "pif_" : "vif_", "_rx", mid, sizeof(mid)))
		k = MUI_NET_RX;
	else if (net && shaped(name, c->host ? "pif_" : "vif_", "_tx", mid, sizeof(mid)))
		k = MUI_NET_TX;
	else if (disk && (c->host ? shaped(name, "io_throughput_read_", "", mid, sizeof(mid))
				  : shaped(name, "vbd_", "_read", mid, sizeof(mid))))
		k = MUI_DISK_R;
	else if (disk && (c->host ? shaped(name, "io_throughput_write_", "", mid, sizeof(mid))
				  : shaped(name, "vbd_", "_write", mid, sizeof(mid))))
		k = MUI_DISK_W;
	else if (disk && (c->host ? shaped(name, "iops_read_", "", mid, sizeof(mid))
				  : shaped(name, "vbd_", "_iops_read", mid, sizeof(mid))))
		k = MUI_IOPS_R;
	else if (disk && (c->host ? shaped(name, "iops_write_", "", mid, sizeof(mid))
				  : shaped(name, "vbd_", "_iops_write", mid, sizeof(mid))))
		k = MUI_IOPS_W;
	if (k >= 0 && !isnan(v)) {
		c->sum[k] += v;
		c->known[k]++;
	}
	return true;
}

void mui_now(const struct metrics *m, const char *obj, bool host, struct mui_now *f)
{
	struct now_ctx c = {.host = host, .f = f};

	memset(f, 0, sizeof(*f));
	if (!m || !obj)
		return;
	metrics_each_last(m, obj, now_series, &c);
	for (int k = 0; k < MUI_KINDS; k++)
		if (c.known[k]) {
			f->known[k] = true;
			f->v[k] = c.sum[k];
		}
	/* CPU: a host's cpu_avg, a VM's cpu_usage or else the mean of its vCPUs, as a percentage */
	f->known[MUI_CPU] = c.has_native || c.known[MUI_CPU];
	f->v[MUI_CPU] = (c.has_native ? c.cpu_native : c.known[MUI_CPU] ? c.sum[MUI_CPU] / c.known[MUI_CPU] : 0) * 100;
	if (host && isnan(f->v[MUI_CPU]))
		f->known[MUI_CPU] = false;
	if (host) {
		f->v[MUI_DISK_R] *= 1048576; /* a host's SRs count in MiB/s */
		f->v[MUI_DISK_W] *= 1048576;
	}
	if (c.has_mem[0] && !isnan(c.mem[0])) {
		double total = host ? c.mem[0] * 1024 : c.mem[0];
		f->known[MUI_MEM_TOTAL] = true;
		f->v[MUI_MEM_TOTAL] = total;
		if (c.has_mem[1] && !isnan(c.mem[1])) {
			f->known[MUI_MEM] = true;
			f->v[MUI_MEM] = total - c.mem[1] * 1024;
		}
	}
}

/* A rate cell from two figures added (receive and send, read and write); -1 while neither is known. */
static double rate_cell(const struct mui_now *f, enum mui_kind a, enum mui_kind b, char *buf, size_t n)
{
	double sum = (f->known[a] ? f->v[a] : 0) + (f->known[b] ? f->v[b] : 0);

	buf[0] = '\0';
	if (!f->known[a] && !f->known[b])
		return -1;
	graph_format(buf, n, sum, "B/s");
	return sum;
}

void mui_rate_cells_of(const struct mui_now *f, char *net, size_t nnet, double *net_n, char *disk, size_t ndisk,
		       double *disk_n)
{
	*net_n = rate_cell(f, MUI_NET_RX, MUI_NET_TX, net, nnet);
	*disk_n = rate_cell(f, MUI_DISK_R, MUI_DISK_W, disk, ndisk);
}

void mui_rate_cells(const struct metrics *m, const char *uuid, bool host, char *net, size_t nnet, double *net_n,
		    char *disk, size_t ndisk, double *disk_n)
{
	struct mui_now f;

	mui_now(m, uuid, host, &f);
	mui_rate_cells_of(&f, net, nnet, net_n, disk, ndisk, disk_n);
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

void mui_table_draw_rates(struct app *app, struct table *t, int col_cpu, int col_mem, int col_net, int col_disk,
			  bool host, WINDOW *w, int h, int cols, mui_row_fn remetric, void *ud)
{
	int sc = table_sort_col(t);
	bool all = sc == col_cpu || sc == col_mem || sc == col_net || sc == col_disk;
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
