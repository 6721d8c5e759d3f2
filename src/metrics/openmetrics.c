/* XO's openmetrics plugin's mapping from xcp-rrdd's data sources to metric
 * families (openmetric-formatter.mts): the same tests in the same order,
 * the same transformations, labels in the same order, sorted the same way. */
#include "openmetrics.h"

#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hmap.h"
#include "json.h"
#include "sanitize.h"
#include "util.h"

enum xform { X_NONE, X_KIB, X_MIB, X_US };
enum lab { L_NONE, L_CORE, L_INTERFACE, L_SR, L_VIF, L_DEVICE };

struct def {
	const char *test;  /* an exact name, or an extended regex when it starts with ^ or ends with $ */
	const char *name;  /* after "xcp_" */
	bool counter;
	const char *help;
	enum xform xf;
	enum lab lab;
};

/* each definition's compiled regex, by index, compiled when first needed */
struct rx {
	regex_t re;
	int state; /* 0 not yet, 1 compiled, -1 failed */
};

static const struct def host_defs[] = {
	{"loadavg", "host_load_average", false, "Host load average", X_NONE, L_NONE},
	{"memory_free_kib", "host_memory_free_bytes", false, "Host free memory in bytes", X_KIB, L_NONE},
	{"memory_total_kib", "host_memory_total_bytes", false, "Host total memory in bytes", X_KIB, L_NONE},
	{"cpu_avg", "host_cpu_average", false, "Host average CPU usage ratio", X_NONE, L_NONE},
	{"^cpu([0-9]+)$", "host_cpu_core_usage", false, "Host CPU core usage ratio", X_NONE, L_CORE},
	{"pif_aggr_rx", "host_network_aggregated_receive_bytes", false, "Aggregated received bytes per second", X_NONE, L_NONE},
	{"pif_aggr_tx", "host_network_aggregated_transmit_bytes", false, "Aggregated transmitted bytes per second", X_NONE, L_NONE},
	{"^pif_(.+)_rx$", "host_network_receive_bytes_total", true, "Host network interface received bytes", X_NONE, L_INTERFACE},
	{"^pif_(.+)_tx$", "host_network_transmit_bytes_total", true, "Host network interface transmitted bytes", X_NONE, L_INTERFACE},
	{"^iops_read_(.+)$", "host_disk_iops_read", false, "Host disk read IOPS", X_NONE, L_SR},
	{"^iops_write_(.+)$", "host_disk_iops_write", false, "Host disk write IOPS", X_NONE, L_SR},
	{"^io_throughput_read_(.+)$", "host_disk_throughput_read_bytes", false, "Host disk read throughput in bytes per second", X_MIB, L_SR},
	{"^io_throughput_write_(.+)$", "host_disk_throughput_write_bytes", false, "Host disk write throughput in bytes per second", X_MIB, L_SR},
	{"^read_latency_(.+)$", "host_disk_read_latency_seconds", false, "Host disk read latency in seconds", X_US, L_SR},
	{"^write_latency_(.+)$", "host_disk_write_latency_seconds", false, "Host disk write latency in seconds", X_US, L_SR},
	{"^iowait_(.+)$", "host_disk_iowait", false, "Host disk IO wait ratio", X_NONE, L_SR},
	{"DCMI-power-reading", "host_power_consumption_watts", false, "Host power consumption in watts (DCMI)", X_NONE, L_NONE},
	{"hostload", "host_load", false, "Normalized host load", X_NONE, L_NONE},
	{"memory_reclaimed", "host_memory_reclaimed_bytes", false, "Reclaimed host memory in bytes", X_KIB, L_NONE},
	{"memory_reclaimed_max", "host_memory_reclaimed_max_bytes", false, "Maximum reclaimable host memory in bytes", X_KIB, L_NONE},
	{"running_vcpus", "host_running_vcpus", false, "Total number of running vCPUs", X_NONE, L_NONE},
	{"^iops_total_(.+)$", "host_disk_iops_total", false, "Total IOPS (read + write) per SR", X_NONE, L_SR},
	{"^io_throughput_total_(.+)$", "host_disk_throughput_total_bytes", false, "Total I/O throughput per SR in bytes per second", X_MIB, L_SR},
	{"^latency_(.+)$", "host_disk_latency_seconds", false, "Combined I/O latency per SR in seconds", X_US, L_SR},
};

static const struct def vm_defs[] = {
	{"memory$", "vm_memory_bytes", false, "VM memory usage in bytes", X_NONE, L_NONE},
	{"memory_internal_free", "vm_memory_internal_free_bytes", false, "VM internal free memory in bytes", X_KIB, L_NONE},
	{"memory_target", "vm_memory_target_bytes", false, "VM memory target in bytes", X_NONE, L_NONE},
	{"cpu_usage", "vm_cpu_usage", false, "VM CPU usage ratio", X_NONE, L_NONE},
	{"^cpu([0-9]+)$", "vm_cpu_core_usage", false, "VM CPU core usage ratio", X_NONE, L_CORE},
	{"runstate_fullrun", "vm_runstate_fullrun", false, "VM runstate fullrun ratio", X_NONE, L_NONE},
	{"runstate_full_contention", "vm_runstate_full_contention", false, "VM runstate full contention ratio", X_NONE, L_NONE},
	{"runstate_partial_run", "vm_runstate_partial_run", false, "VM runstate partial run ratio", X_NONE, L_NONE},
	{"runstate_partial_contention", "vm_runstate_partial_contention", false, "VM runstate partial contention ratio", X_NONE, L_NONE},
	{"runstate_concurrency_hazard", "vm_runstate_concurrency_hazard", false, "VM runstate concurrency hazard ratio", X_NONE, L_NONE},
	{"runstate_blocked", "vm_runstate_blocked", false, "VM runstate blocked ratio", X_NONE, L_NONE},
	{"^vif_([0-9]+)_rx$", "vm_network_receive_bytes_total", true, "VM network interface received bytes", X_NONE, L_VIF},
	{"^vif_([0-9]+)_tx$", "vm_network_transmit_bytes_total", true, "VM network interface transmitted bytes", X_NONE, L_VIF},
	{"^vif_([0-9]+)_rx_errors$", "vm_network_receive_errors_total", true, "VM network interface receive errors", X_NONE, L_VIF},
	{"^vif_([0-9]+)_tx_errors$", "vm_network_transmit_errors_total", true, "VM network interface transmit errors", X_NONE, L_VIF},
	{"^vbd_xvd(.)_read$", "vm_disk_read_bytes_total", true, "VM disk read bytes", X_NONE, L_DEVICE},
	{"^vbd_xvd(.)_write$", "vm_disk_write_bytes_total", true, "VM disk write bytes", X_NONE, L_DEVICE},
	{"^vbd_xvd(.)_iops_read$", "vm_disk_iops_read", false, "VM disk read IOPS", X_NONE, L_DEVICE},
	{"^vbd_xvd(.)_iops_write$", "vm_disk_iops_write", false, "VM disk write IOPS", X_NONE, L_DEVICE},
	{"^vbd_xvd(.)_iops_total$", "vm_disk_iops_total", false, "VM disk total IOPS", X_NONE, L_DEVICE},
	{"^vbd_xvd(.)_read_latency$", "vm_disk_read_latency_seconds", false, "VM disk read latency in seconds", X_US, L_DEVICE},
	{"^vbd_xvd(.)_write_latency$", "vm_disk_write_latency_seconds", false, "VM disk write latency in seconds", X_US, L_DEVICE},
	{"^vbd_xvd(.)_io_throughput_read$", "vm_disk_throughput_read_bytes", false, "VM disk read throughput in bytes per second", X_MIB, L_DEVICE},
	{"^vbd_xvd(.)_io_throughput_write$", "vm_disk_throughput_write_bytes", false, "VM disk write throughput in bytes per second", X_MIB, L_DEVICE},
	{"^vbd_xvd(.)_io_throughput_total$", "vm_disk_throughput_total_bytes", false, "VM disk total throughput in bytes per second", X_MIB, L_DEVICE},
	{"^vbd_xvd(.)_latency$", "vm_disk_latency_seconds", false, "VM disk average IO latency in seconds", X_US, L_DEVICE},
	{"^vbd_xvd(.)_iowait$", "vm_disk_iowait", false, "VM disk IO wait ratio", X_NONE, L_DEVICE},
	{"^vbd_xvd(.)_inflight$", "vm_disk_inflight", false, "VM disk inflight operations", X_NONE, L_DEVICE},
	{"^vbd_xvd(.)_avgqu_sz$", "vm_disk_queue_size", false, "VM disk average queue size", X_NONE, L_DEVICE},
};


static struct rx host_rx[ARRAY_LEN(host_defs)], vm_rx[ARRAY_LEN(vm_defs)];

/* The matching definition and the regex's first group (into cap), or NULL. */
static const struct def *match(const struct def *defs, struct rx *rx, size_t n, const char *name, char *cap,
			       size_t caplen)
{
	cap[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const struct def *d = &defs[i];
		size_t tl = strlen(d->test);
		regmatch_t g[2];
		if (d->test[0] != '^' && d->test[tl - 1] != '$') {
			if (strcmp(d->test, name) == 0)
				return d;
			continue;
		}
		if (rx[i].state == 0)
			rx[i].state = regcomp(&rx[i].re, d->test, REG_EXTENDED) == 0 ? 1 : -1;
		if (rx[i].state == 1 && regexec(&rx[i].re, name, 2, g, 0) == 0) {
			if (g[1].rm_so >= 0)
				snprintf(cap, caplen, "%.*s", (int)(g[1].rm_eo - g[1].rm_so), name + g[1].rm_so);
			return d;
		}
	}
	return NULL;
}

static double transform(enum xform x, double v)
{
	switch (x) {
	case X_NONE: return v;
	case X_KIB: return v * 1024;
	case X_MIB: return v * 1048576.0;
	case X_US: return v / 1e6;
	}
	return v;
}

/* ---- samples ------------------------------------------------------------------------- */

struct sample {
	const char *name; /* with "xcp_" */
	const char *help;
	bool counter;
	char *labels; /* "{a=\"b\",...}" or "" */
	char *json;   /* the same labels as a JSON object */
	double value;
	long long ts;
};

struct out {
	struct sample *v;
	size_t n, cap;
};

/* Label pairs in XO's order; an empty value is left out, as XO does. */
struct labels {
	struct buf text, json;
	int count;
};

static void lab_init(struct labels *l)
{
	buf_init(&l->text);
	buf_init(&l->json);
	l->count = 0;
}

static void lab(struct labels *l, const char *k, const char *v)
{
	char *safe;

	if (!v || !*v)
		return;
	safe = sanitize(v); /* printed on terminals by `metrics dump` too */
	buf_puts(&l->text, l->count ? "," : "{");
	buf_printf(&l->text, "%s=\"", k);
	for (const char *p = safe; *p; p++) {
		if (*p == '\\' || *p == '"')
			buf_putc(&l->text, '\\');
		if (*p == '\n')
			buf_puts(&l->text, "\\n");
		else
			buf_putc(&l->text, *p);
	}
	buf_putc(&l->text, '"');
	buf_puts(&l->json, l->count ? "," : "{");
	json_encode_string(&l->json, k, strlen(k));
	buf_putc(&l->json, ':');
	json_encode_string(&l->json, safe, strlen(safe));
	free(safe);
	l->count++;
}

static void push(struct out *o, const char *name, const char *help, bool counter, struct labels *l, double v,
		 long long ts)
{
	struct sample *s;

	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 256;
		o->v = xrealloc(o->v, o->cap * sizeof(*o->v));
	}
	s = &o->v[o->n++];
	s->name = name;
	s->help = help;
	s->counter = counter;
	if (l->count) {
		buf_putc(&l->text, '}');
		buf_putc(&l->json, '}');
	} else {
		buf_puts(&l->text, "");
		buf_puts(&l->json, "{}");
	}
	s->labels = buf_steal(&l->text);
	s->json = buf_steal(&l->json);
	s->value = v;
	s->ts = ts;
}

static const char *label_key(enum lab k)
{
	switch (k) {
	case L_CORE: return "core";
	case L_INTERFACE: return "interface";
	case L_SR: return "sr";
	case L_VIF: return "vif";
	case L_DEVICE: return "device";
	case L_NONE: break;
	}
	return NULL;
}

struct pool_ctx {
	const struct om_pool *p;
	struct out *o;
	const char *pool_id, *pool_name;
	/* the object being walked */
	const char *uuid, *type, *host_id, *host_name, *vm_name, *is_cd;
	bool vm_has_cpu_usage;
	double core_sum;
	int cores;
	long long core_ts;
	struct labels base; /* the object's labels, escaped once */
	struct hmap *matches; /* "h:name" / "v:name" -> struct mcache: a series name is matched once per scrape */
};

struct mcache {
	char *key;
	const struct def *d; /* NULL: no definition */
	char cap[128];
};

static void object_labels(struct pool_ctx *c, struct labels *l)
{
	lab(l, "pool_id", c->pool_id);
	lab(l, "uuid", c->uuid);
	lab(l, "type", c->type);
	if (strcmp(c->type, "vm") == 0)
		lab(l, "host_id", c->host_id);
	lab(l, "pool_name", c->pool_name);
	lab(l, "host_name", c->host_name);
	lab(l, "vm_name", c->vm_name);
	lab(l, "is_control_domain", c->is_cd);
}

static void base_labels(struct pool_ctx *c, struct labels *l)
{
	buf_append(&l->text, c->base.text.data ? c->base.text.data : "", c->base.text.len);
	buf_append(&l->json, c->base.json.data ? c->base.json.data : "", c->base.json.len);
	l->count = c->base.count;
}

static void begin_object(struct pool_ctx *c)
{
	buf_free(&c->base.text);
	buf_free(&c->base.json);
	lab_init(&c->base);
	object_labels(c, &c->base);
}

static const struct def *cached_match(struct pool_ctx *c, bool vm, const char *series, char *cap, size_t caplen)
{
	char key[160];
	struct mcache *e;

	snprintf(key, sizeof(key), "%c:%s", vm ? 'v' : 'h', series);
	e = hmap_get(c->matches, key);
	if (!e) {
		e = xcalloc(1, sizeof(*e));
		e->key = xstrdup(key);
		e->d = vm ? match(vm_defs, vm_rx, ARRAY_LEN(vm_defs), series, e->cap, sizeof(e->cap))
			  : match(host_defs, host_rx, ARRAY_LEN(host_defs), series, e->cap, sizeof(e->cap));
		hmap_put(c->matches, e->key, e);
	}
	snprintf(cap, caplen, "%s", e->cap);
	return e->d;
}

static bool free_mcache(const char *key, void *value, void *ud)
{
	struct mcache *e = value;

	(void)key;
	(void)ud;
	free(e->key);
	free(e);
	return true;
}

static bool one_series(const char *series, void *ud)
{
	struct pool_ctx *c = ud;
	bool vm = strcmp(c->type, "vm") == 0;
	char cap[128], dev[140];
	const struct def *d = cached_match(c, vm, series, cap, sizeof(cap));
	struct labels l;
	double v;
	long long t;

	if (!d || !metrics_last(c->p->metrics, c->uuid, series, &v, &t) || !isfinite(v))
		return true; /* XO skips NaN and infinities */
	if (vm && strcmp(d->name, "vm_cpu_usage") == 0)
		c->vm_has_cpu_usage = true;
	if (vm && d->lab == L_CORE) {
		c->core_sum += v;
		c->cores++;
		c->core_ts = t;
	}
	lab_init(&l);
	base_labels(c, &l);
	if (d->lab != L_NONE) {
		if (d->lab == L_DEVICE) {
			snprintf(dev, sizeof(dev), "xvd%s", cap);
			lab(&l, "device", dev);
		} else {
			lab(&l, label_key(d->lab), cap);
		}
	}
	push(c->o, d->name, d->help, d->counter, &l, transform(d->xf, v), t);
	return true;
}

static char *full_name(const char *n)
{
	return xasprintf("xcp_%s", n);
}

static bool host_each(const char *ref, const struct xv *h, void *ud)
{
	struct pool_ctx *c = ud;

	(void)ref;
	c->uuid = rec_str(h, "uuid");
	c->type = "host";
	c->host_id = NULL;
	c->host_name = rec_str(h, "name_label");
	c->vm_name = NULL;
	c->is_cd = NULL;
	begin_object(c);
	metrics_each_series(c->p->metrics, c->uuid, one_series, c);
	return true;
}

static bool vm_each(const char *ref, const struct xv *vm, void *ud)
{
	struct pool_ctx *c = ud;
	const struct xv *host = cache_get(c->p->cache, rec_str(vm, "resident_on"));

	(void)ref;
	if (rec_bool(vm, "is_a_template") || rec_bool(vm, "is_a_snapshot"))
		return true;
	c->uuid = rec_str(vm, "uuid");
	c->type = "vm";
	c->host_id = host ? rec_str(host, "uuid") : NULL;
	c->host_name = host ? rec_str(host, "name_label") : NULL;
	c->vm_name = rec_str(vm, "name_label");
	c->is_cd = rec_bool(vm, "is_control_domain") ? "true" : "false";
	c->vm_has_cpu_usage = false;
	c->core_sum = 0;
	c->cores = 0;
	begin_object(c);
	metrics_each_series(c->p->metrics, c->uuid, one_series, c);
	if (!c->vm_has_cpu_usage && c->cores) {
		/* XCP-ng 8.2 has no cpu_usage: XO averages the cores */
		struct labels l;
		lab_init(&l);
		base_labels(c, &l);
		push(c->o, "vm_cpu_usage", "VM CPU usage ratio (computed from per-core average)", false, &l,
		     c->core_sum / c->cores, c->core_ts);
	}
	return true;
}

static bool sr_each(const char *ref, const struct xv *sr, void *ud)
{
	struct pool_ctx *c = ud;
	const struct xv *pbds = rec_field(sr, "PBDs");
	const struct xv *host = NULL;
	struct labels base;
	static const struct {
		const char *name, *help, *field;
	} f[] = {
		{"sr_virtual_size_bytes", "SR virtual allocated size in bytes", "virtual_allocation"},
		{"sr_physical_size_bytes", "SR physical size in bytes", "physical_size"},
		{"sr_physical_usage_bytes", "SR physical space used in bytes", "physical_utilisation"},
	};
	long long now = (long long)time(NULL);

	(void)ref;
	if (!rec_bool(sr, "shared") && xv_len(pbds) > 0) {
		const struct xv *pbd = cache_get(c->p->cache, xv_str(xv_at(pbds, 0)));
		host = pbd ? cache_get(c->p->cache, rec_str(pbd, "host")) : NULL;
	}
	for (size_t i = 0; i < ARRAY_LEN(f); i++) {
		lab_init(&base);
		lab(&base, "pool_id", c->pool_id);
		lab(&base, "sr_uuid", rec_str(sr, "uuid"));
		lab(&base, "sr_name", rec_str(sr, "name_label"));
		lab(&base, "pool_name", c->pool_name);
		lab(&base, "content_type", rec_str(sr, "content_type"));
		lab(&base, "sr_type", rec_str(sr, "type"));
		if (host) {
			lab(&base, "host_id", rec_str(host, "uuid"));
			lab(&base, "host_name", rec_str(host, "name_label"));
		}
		push(c->o, f[i].name, f[i].help, false, &base, (double)rec_int(sr, f[i].field), now);
	}
	return true;
}

static bool first_pool(const char *ref, const struct xv *rec, void *ud)
{
	const struct xv **out = ud;

	(void)ref;
	*out = rec;
	return false;
}

static void collect(const struct om_pool *pools, size_t n, struct out *o)
{
	struct hmap matches;

	hmap_init(&matches);
	for (size_t i = 0; i < n; i++) {
		struct pool_ctx c = {.p = &pools[i], .o = o, .matches = &matches};
		const struct xv *pool = NULL;
		lab_init(&c.base);
		cache_each(pools[i].cache, "pool", first_pool, &pool);
		c.pool_id = pool ? rec_str(pool, "uuid") : "";
		c.pool_name = pool ? rec_str(pool, "name_label") : "";
		cache_each(pools[i].cache, "host", host_each, &c);
		cache_each(pools[i].cache, "VM", vm_each, &c);
		cache_each(pools[i].cache, "SR", sr_each, &c);
		buf_free(&c.base.text);
		buf_free(&c.base.json);
	}
	hmap_each(&matches, free_mcache, NULL);
	hmap_free(&matches);
}

static int cmp_sample(const void *a, const void *b)
{
	const struct sample *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	return r ? r : strcmp(x->json, y->json);
}

static void out_free(struct out *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->v[i].labels);
		free(o->v[i].json);
	}
	free(o->v);
}

/* JavaScript's Number#toString for the values XO prints: the shortest form that reads back the same. */
static void fmt_num(char *out, size_t len, double v)
{
	if (isnan(v)) {
		snprintf(out, len, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(out, len, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* 15 digits hold every shorter form (trailing zeros dropped); more only when needed */
	for (int p = 15; p <= 17; p++) {
		snprintf(out, len, "%.*g", p, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

/* The family as XO declares it: the sample's own name, _total and all
 * (which Prometheus' parsers and promtool accept). */
static void family(char *out, size_t len, const struct sample *s)
{
	snprintf(out, len, "xcp_%s", s->name);
}

size_t om_format(const struct om_pool *pools, size_t n, struct buf *b)
{
	struct out o = {0};
	char num[64], fam[160];
	const char *prev = NULL;

	collect(pools, n, &o);
	if (o.n > 1)
		qsort(o.v, o.n, sizeof(*o.v), cmp_sample);
	for (size_t i = 0; i < o.n; i++) {
		struct sample *s = &o.v[i];
		if (!prev || strcmp(prev, s->name) != 0) {
			family(fam, sizeof(fam), s);
			buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", fam, s->help, fam, s->counter ? "counter" : "gauge");
			prev = s->name;
		}
		fmt_num(num, sizeof(num), s->value);
		buf_printf(b, "xcp_%s%s %s %lld\n", s->name, s->labels, num, s->ts);
	}
	buf_puts(b, "# EOF\n");
	out_free(&o);
	return n ? o.n : 0;
}

size_t om_format_json(const struct om_pool *pools, size_t n, struct buf *b)
{
	struct out o = {0};
	char num[64];
	size_t count;

	collect(pools, n, &o);
	if (o.n > 1)
		qsort(o.v, o.n, sizeof(*o.v), cmp_sample);
	buf_puts(b, "[");
	for (size_t i = 0; i < o.n; i++) {
		struct sample *s = &o.v[i];
		char *name = full_name(s->name);
		fmt_num(num, sizeof(num), s->value);
		buf_puts(b, i ? ",\n {\"name\":" : "\n {\"name\":");
		json_encode_string(b, name, strlen(name));
		buf_printf(b, ",\"type\":\"%s\",\"help\":", s->counter ? "counter" : "gauge");
		json_encode_string(b, s->help, strlen(s->help));
		buf_printf(b, ",\"labels\":%s,\"value\":%s,\"timestamp\":%lld}", s->json, isfinite(s->value) ? num : "null",
			   s->ts);
		free(name);
	}
	buf_puts(b, o.n ? "\n]\n" : "]\n");
	count = o.n;
	out_free(&o);
	return count;
}

struct cpu_ctx {
	const struct metrics *m;
	const char *uuid;
	double sum, native;
	int n;
	bool has_native;
	long long t;
};

static bool cpu_series(const char *series, void *ud)
{
	struct cpu_ctx *c = ud;
	double v;
	long long t;
	const char *p = series + 3;

	if (!metrics_last(c->m, c->uuid, series, &v, &t) || !isfinite(v))
		return true;
	if (strcmp(series, "cpu_usage") == 0) {
		c->has_native = true;
		c->native = v;
		c->t = t;
	} else if (strncmp(series, "cpu", 3) == 0 && *p && strspn(p, "0123456789") == strlen(p)) {
		c->sum += v;
		c->n++;
		c->t = t;
	}
	return true;
}

bool om_vm_cpu_usage(const struct metrics *m, const char *uuid, double *v, long long *t)
{
	struct cpu_ctx c = {.m = m, .uuid = uuid};

	metrics_each_series(m, uuid, cpu_series, &c);
	if (!c.has_native && !c.n)
		return false;
	*v = c.has_native ? c.native : c.sum / c.n;
	if (t)
		*t = c.t;
	return true;
}
