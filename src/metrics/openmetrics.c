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

/* An object's labels (a host's, a VM's, an SR's), escaped: "{a=\"b\",c=\"d\"" without the
 * closing brace (a series' own label and the brace follow), or "" with no label. Kept from
 * one scrape to the next by the text they are made of, so that a scrape sanitises and
 * escapes only the names that changed. */
struct objlab {
	char *key;   /* the label values as read, joined: the cache's key */
	char *text;
	size_t tlen;
	char *json;  /* the same as a JSON object without its closing brace */
	int count;   /* how many labels */
	unsigned long gen; /* the last scrape that used it */
	int rank;    /* its place among this scrape's objects, by text */
};

static struct hmap objlabs; /* key -> struct objlab */
static bool objlabs_ready;
static unsigned long generation;

struct sample {
	const char *name; /* without "xcp_" */
	const char *help;
	int nrank;        /* the name's place among all names: sorting compares ints */
	bool counter;
	const struct objlab *obj;
	const char *extra;  /* the series' own label and the brace: ",core=\"1\"}", "}", or "" */
	const char *jextra; /* the same in JSON */
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
	buf_puts(&l->text, k);
	buf_puts(&l->text, "=\"");
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

/* The names' order, computed once: each definition's rank among every name a sample can have. */
static int host_rank[ARRAY_LEN(host_defs)], vm_rank[ARRAY_LEN(vm_defs)];
static bool ranks_ready;

static const struct {
	const char *name, *help, *field;
} sr_fields[] = {
	{"sr_virtual_size_bytes", "SR virtual allocated size in bytes", "virtual_allocation"},
	{"sr_physical_size_bytes", "SR physical size in bytes", "physical_size"},
	{"sr_physical_usage_bytes", "SR physical space used in bytes", "physical_utilisation"},
};
static int sr_rank[ARRAY_LEN(sr_fields)];

static int rank_of(const char *name)
{
	int r = 0;

	for (size_t i = 0; i < ARRAY_LEN(host_defs); i++)
		r += strcmp(host_defs[i].name, name) < 0;
	for (size_t i = 0; i < ARRAY_LEN(vm_defs); i++)
		r += strcmp(vm_defs[i].name, name) < 0;
	for (size_t i = 0; i < ARRAY_LEN(sr_fields); i++)
		r += strcmp(sr_fields[i].name, name) < 0;
	return r;
}

static void init_ranks(void)
{
	if (ranks_ready)
		return;
	for (size_t i = 0; i < ARRAY_LEN(host_defs); i++)
		host_rank[i] = rank_of(host_defs[i].name);
	for (size_t i = 0; i < ARRAY_LEN(vm_defs); i++)
		vm_rank[i] = rank_of(vm_defs[i].name);
	for (size_t i = 0; i < ARRAY_LEN(sr_fields); i++)
		sr_rank[i] = rank_of(sr_fields[i].name);
	ranks_ready = true;
}

static void push(struct out *o, const char *name, const char *help, int nrank, bool counter,
		 const struct objlab *obj, const char *extra, const char *jextra, double v, long long ts)
{
	struct sample *s;

	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 4096;
		o->v = xrealloc(o->v, o->cap * sizeof(*o->v));
	}
	s = &o->v[o->n++];
	s->name = name;
	s->help = help;
	s->nrank = nrank;
	s->counter = counter;
	s->obj = obj;
	s->extra = extra;
	s->jextra = jextra;
	s->value = v;
	s->ts = ts;
}

/* The closing part of a label set: the brace alone, or nothing when there is no label. */
static const char *close_text(const struct objlab *obj)
{
	return obj->count ? "}" : "";
}

static const char *close_json(const struct objlab *obj)
{
	return obj->count ? "}" : "{}";
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

/* The objects' labels used by this scrape, to rank them. */
struct objlist {
	struct objlab **v;
	size_t n, cap;
};

struct pool_ctx {
	const struct om_pool *p;
	struct out *o;
	struct objlist *objs;
	const char *pool_id, *pool_name;
	/* the object being walked */
	bool vm;
	const char *uuid, *type, *host_id, *host_name, *vm_name, *is_cd;
	bool vm_has_cpu_usage;
	double core_sum;
	int cores;
	long long core_ts;
	const struct objlab *base; /* the object's labels */
	struct hmap *hmatches, *vmatches; /* series name -> struct mcache: matched once per scrape */
	struct buf key;
};

/* A series name's definition and its own label, escaped once per scrape. */
struct mcache {
	char *key;
	const struct def *d; /* NULL: no definition */
	int nrank;
	bool counter;
	char *extra[2], *jextra[2]; /* after labels ([1]) or alone ([0]) */
};

static bool free_objlab_if_old(const char *key, void *value, void *ud)
{
	struct objlab *l = value;
	struct buf *gone = ud;

	(void)key;
	if (l->gen != generation)
		buf_append(gone, &l, sizeof(l));
	return true;
}

/* Forgets the labels of objects no scrape asked for this time (gone, or renamed). */
static void prune_objlabs(void)
{
	struct buf gone;

	buf_init(&gone);
	hmap_each(&objlabs, free_objlab_if_old, &gone);
	for (size_t i = 0; i < gone.len / sizeof(struct objlab *); i++) {
		struct objlab *l = ((struct objlab **)(void *)gone.data)[i];
		hmap_del(&objlabs, l->key);
		free(l->key);
		free(l->text);
		free(l->json);
		free(l);
	}
	buf_free(&gone);
}

static void key_add(struct buf *k, const char *v)
{
	if (v)
		buf_puts(k, v);
	buf_putc(k, '\x1f');
}

/* The labels of the key c->key holds, made with fn when not already known. */
static const struct objlab *objlab_get(struct pool_ctx *c, void (*fn)(struct pool_ctx *, struct labels *, const void *),
				       const void *ud)
{
	struct objlab *l;

	if (!objlabs_ready) {
		hmap_init(&objlabs);
		objlabs_ready = true;
	}
	l = hmap_get(&objlabs, c->key.data);
	if (!l) {
		struct labels lb;
		lab_init(&lb);
		fn(c, &lb, ud);
		l = xcalloc(1, sizeof(*l));
		l->key = xstrdup(c->key.data);
		l->tlen = lb.text.len;
		l->text = buf_steal(&lb.text);
		l->json = buf_steal(&lb.json);
		l->count = lb.count;
		hmap_put(&objlabs, l->key, l);
	}
	if (l->gen != generation) {
		struct objlist *ol = c->objs;
		l->gen = generation;
		if (ol->n == ol->cap) {
			ol->cap = ol->cap ? ol->cap * 2 : 1024;
			ol->v = xrealloc(ol->v, ol->cap * sizeof(*ol->v));
		}
		ol->v[ol->n++] = l;
	}
	return l;
}

static void object_labels(struct pool_ctx *c, struct labels *l, const void *ud)
{
	(void)ud;
	lab(l, "pool_id", c->pool_id);
	lab(l, "uuid", c->uuid);
	lab(l, "type", c->type);
	if (c->vm)
		lab(l, "host_id", c->host_id);
	lab(l, "pool_name", c->pool_name);
	lab(l, "host_name", c->host_name);
	lab(l, "vm_name", c->vm_name);
	lab(l, "is_control_domain", c->is_cd);
}

static void begin_object(struct pool_ctx *c)
{
	buf_reset(&c->key);
	buf_putc(&c->key, 'o');
	key_add(&c->key, c->pool_id);
	key_add(&c->key, c->uuid);
	key_add(&c->key, c->type);
	key_add(&c->key, c->vm ? c->host_id : NULL);
	key_add(&c->key, c->pool_name);
	key_add(&c->key, c->host_name);
	key_add(&c->key, c->vm_name);
	key_add(&c->key, c->is_cd);
	c->base = objlab_get(c, object_labels, NULL);
}

/* The series' own label after other labels (comma) or alone (brace), as text and JSON. */
static void own_label(struct mcache *e, const char *k, const char *v)
{
	for (int after = 0; after < 2; after++) {
		struct labels l;
		lab_init(&l);
		l.count = after;
		lab(&l, k, v);
		if (l.count > after) {
			buf_putc(&l.text, '}');
			buf_putc(&l.json, '}');
			e->extra[after] = buf_steal(&l.text);
			e->jextra[after] = buf_steal(&l.json);
		} else {
			buf_free(&l.text);
			buf_free(&l.json);
		}
	}
}

static const struct mcache *cached_match(struct pool_ctx *c, const char *series)
{
	struct hmap *h = c->vm ? c->vmatches : c->hmatches;
	struct mcache *e = hmap_get(h, series);

	if (!e) {
		char cap[128], dev[140];
		e = xcalloc(1, sizeof(*e));
		e->key = xstrdup(series);
		e->d = c->vm ? match(vm_defs, vm_rx, ARRAY_LEN(vm_defs), series, cap, sizeof(cap))
			     : match(host_defs, host_rx, ARRAY_LEN(host_defs), series, cap, sizeof(cap));
		if (e->d) {
			e->nrank = c->vm ? vm_rank[e->d - vm_defs] : host_rank[e->d - host_defs];
			/* only a counter may end in _total (OpenMetrics, promtool): XO's two IOPS totals,
			 * gauges there, are declared counters here under the same sample names */
			e->counter = e->d->counter || (strlen(e->d->name) > 6
						       && strcmp(e->d->name + strlen(e->d->name) - 6, "_total") == 0);
			if (e->d->lab == L_DEVICE) {
				snprintf(dev, sizeof(dev), "xvd%s", cap);
				own_label(e, "device", dev);
			} else if (e->d->lab != L_NONE) {
				own_label(e, label_key(e->d->lab), cap);
			}
		}
		hmap_put(h, e->key, e);
	}
	return e;
}

static bool free_mcache(const char *key, void *value, void *ud)
{
	struct mcache *e = value;

	(void)key;
	(void)ud;
	free(e->key);
	for (int i = 0; i < 2; i++) {
		free(e->extra[i]);
		free(e->jextra[i]);
	}
	free(e);
	return true;
}

static bool one_series(const char *series, double v, long long t, void *ud)
{
	struct pool_ctx *c = ud;
	const struct mcache *e;
	const struct def *d;
	int after = c->base->count > 0;

	if (!t || !isfinite(v))
		return true; /* XO skips NaN and infinities */
	e = cached_match(c, series);
	d = e->d;
	if (!d)
		return true;
	if (c->vm && d == &vm_defs[3]) /* cpu_usage */
		c->vm_has_cpu_usage = true;
	if (c->vm && d->lab == L_CORE) {
		c->core_sum += v;
		c->cores++;
		c->core_ts = t;
	}
	if (e->extra[after])
		push(c->o, d->name, d->help, e->nrank, e->counter, c->base, e->extra[after], e->jextra[after],
		     transform(d->xf, v), t);
	else
		push(c->o, d->name, d->help, e->nrank, e->counter, c->base, close_text(c->base), close_json(c->base),
		     transform(d->xf, v), t);
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
	c->vm = false;
	c->uuid = rec_str(h, "uuid");
	c->type = "host";
	c->host_id = NULL;
	c->host_name = rec_str(h, "name_label");
	c->vm_name = NULL;
	c->is_cd = NULL;
	begin_object(c);
	metrics_each_last(c->p->metrics, c->uuid, one_series, c);
	return true;
}

static bool vm_each(const char *ref, const struct xv *vm, void *ud)
{
	struct pool_ctx *c = ud;
	const struct xv *host = cache_get(c->p->cache, rec_str(vm, "resident_on"));

	(void)ref;
	if (rec_bool(vm, "is_a_template") || rec_bool(vm, "is_a_snapshot"))
		return true;
	c->vm = true;
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
	metrics_each_last(c->p->metrics, c->uuid, one_series, c);
	if (!c->vm_has_cpu_usage && c->cores) {
		/* XCP-ng 8.2 has no cpu_usage: XO averages the cores */
		push(c->o, "vm_cpu_usage", "VM CPU usage ratio (computed from per-core average)", vm_rank[3], false,
		     c->base, close_text(c->base), close_json(c->base), c->core_sum / c->cores, c->core_ts);
	}
	return true;
}

struct sr_src {
	const struct xv *sr, *host;
};

static void sr_labels(struct pool_ctx *c, struct labels *l, const void *ud)
{
	const struct sr_src *s = ud;

	lab(l, "pool_id", c->pool_id);
	lab(l, "sr_uuid", rec_str(s->sr, "uuid"));
	lab(l, "sr_name", rec_str(s->sr, "name_label"));
	lab(l, "pool_name", c->pool_name);
	lab(l, "content_type", rec_str(s->sr, "content_type"));
	lab(l, "sr_type", rec_str(s->sr, "type"));
	if (s->host) {
		lab(l, "host_id", rec_str(s->host, "uuid"));
		lab(l, "host_name", rec_str(s->host, "name_label"));
	}
}

static bool sr_each(const char *ref, const struct xv *sr, void *ud)
{
	struct pool_ctx *c = ud;
	const struct xv *pbds = rec_field(sr, "PBDs");
	struct sr_src src = {sr, NULL};
	const struct objlab *base;
	long long now = (long long)time(NULL);

	(void)ref;
	if (!rec_bool(sr, "shared") && xv_len(pbds) > 0) {
		const struct xv *pbd = cache_get(c->p->cache, xv_str(xv_at(pbds, 0)));
		src.host = pbd ? cache_get(c->p->cache, rec_str(pbd, "host")) : NULL;
	}
	buf_reset(&c->key);
	buf_putc(&c->key, 's');
	key_add(&c->key, c->pool_id);
	key_add(&c->key, rec_str(sr, "uuid"));
	key_add(&c->key, rec_str(sr, "name_label"));
	key_add(&c->key, c->pool_name);
	key_add(&c->key, rec_str(sr, "content_type"));
	key_add(&c->key, rec_str(sr, "type"));
	key_add(&c->key, src.host ? rec_str(src.host, "uuid") : NULL);
	key_add(&c->key, src.host ? rec_str(src.host, "name_label") : NULL);
	key_add(&c->key, src.host ? "h" : NULL);
	base = objlab_get(c, sr_labels, &src);
	for (size_t i = 0; i < ARRAY_LEN(sr_fields); i++)
		push(c->o, sr_fields[i].name, sr_fields[i].help, sr_rank[i], false, base, close_text(base),
		     close_json(base), (double)rec_int(sr, sr_fields[i].field), now);
	return true;
}

static bool first_pool(const char *ref, const struct xv *rec, void *ud)
{
	const struct xv **out = ud;

	(void)ref;
	*out = rec;
	return false;
}

/* One scrape's samples and what they point into. */
struct scrape_set {
	struct out o;
	struct objlist objs;
	struct hmap hmatches, vmatches;
};

static bool prefixes; /* some object's label text begins another's: compare whole texts */

static int cmp_objlab(const void *a, const void *b)
{
	const struct objlab *x = *(struct objlab *const *)a, *y = *(struct objlab *const *)b;

	return strcmp(x->text, y->text);
}

/* Ranks the scrape's objects by their label text, so that samples compare by ints. */
static void rank_objects(struct objlist *ol)
{
	prefixes = false;
	if (ol->n > 1)
		qsort(ol->v, ol->n, sizeof(*ol->v), cmp_objlab);
	for (size_t i = 0; i < ol->n; i++) {
		const struct objlab *prev = i ? ol->v[i - 1] : NULL;
		bool same = prev && strcmp(prev->text, ol->v[i]->text) == 0;
		ol->v[i]->rank = same ? prev->rank : (int)i;
		if (prev && !same && strncmp(prev->text, ol->v[i]->text, prev->tlen) == 0)
			prefixes = true;
	}
}

/* Every pool's samples into set (the labels as text and JSON: both are kept with the object). */
static void collect(const struct om_pool *pools, size_t n, struct scrape_set *set)
{
	init_ranks();
	generation++;
	hmap_init(&set->hmatches);
	hmap_init(&set->vmatches);
	for (size_t i = 0; i < n; i++) {
		struct pool_ctx c = {.p = &pools[i], .o = &set->o, .objs = &set->objs, .hmatches = &set->hmatches,
				     .vmatches = &set->vmatches};
		const struct xv *pool = NULL;
		buf_init(&c.key);
		cache_each(pools[i].cache, "pool", first_pool, &pool);
		c.pool_id = pool ? rec_str(pool, "uuid") : "";
		c.pool_name = pool ? rec_str(pool, "name_label") : "";
		cache_each(pools[i].cache, "host", host_each, &c);
		cache_each(pools[i].cache, "VM", vm_each, &c);
		cache_each(pools[i].cache, "SR", sr_each, &c);
		buf_free(&c.key);
	}
	if (objlabs_ready)
		prune_objlabs();
	rank_objects(&set->objs);
}

/* a then b against c then d, as strcmp would compare the joined strings. */
static int cmp_joined(const char *a, const char *b, const char *c, const char *d)
{
	for (;;) {
		unsigned char x, y;
		if (!*a && b) {
			a = b;
			b = NULL;
		}
		if (!*c && d) {
			c = d;
			d = NULL;
		}
		x = (unsigned char)*a;
		y = (unsigned char)*c;
		if (x != y || !x)
			return (x > y) - (x < y);
		a++;
		c++;
	}
}

/* By name, then by the labels' text (the object's then the series' own). */
static int cmp_sample(const void *a, const void *b)
{
	const struct sample *x = a, *y = b;

	if (x->nrank != y->nrank)
		return (x->nrank > y->nrank) - (x->nrank < y->nrank);
	if (x->obj->rank == y->obj->rank)
		return strcmp(x->extra, y->extra);
	if (!prefixes)
		return (x->obj->rank > y->obj->rank) - (x->obj->rank < y->obj->rank);
	return cmp_joined(x->obj->text, x->extra, y->obj->text, y->extra);
}

static void set_free(struct scrape_set *set)
{
	free(set->o.v);
	free(set->objs.v);
	hmap_each(&set->hmatches, free_mcache, NULL);
	hmap_free(&set->hmatches);
	hmap_each(&set->vmatches, free_mcache, NULL);
	hmap_free(&set->vmatches);
}

/* n in decimal at out (room for 21 bytes); returns the end. */
static char *put_ll(char *out, long long n)
{
	char tmp[24];
	int k = 0;
	unsigned long long u = n < 0 ? 0ULL - (unsigned long long)n : (unsigned long long)n;

	do
		tmp[k++] = (char)('0' + u % 10);
	while ((u /= 10));
	if (n < 0)
		*out++ = '-';
	while (k)
		*out++ = tmp[--k];
	*out = '\0';
	return out;
}

/* The 15 significant digits of v in fixed notation (what %.15g prints for
 * 1e-4 <= |v| < 1e15, trailing zeros dropped) into out, when they read back
 * as v; false otherwise. No printf, no strtod: a big pool's scrape has tens
 * of thousands of fractions. The check is exact: m / 10^k is one correctly
 * rounded division, as strtod of the digits is, and only one 15-digit
 * decimal lies within half a double's spacing of v, so these are %.15g's. */
static bool fmt_fixed15(char *out, double v)
{
	static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
				     1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};
	double a = fabs(v);
	int e, k;
	long long m = 0;
	char digits[16], *o = out;

	if (!(a >= 1e-4 && a < 1e15))
		return false;
	e = (int)floor(log10(a));
	for (int tries = 0; tries < 3; tries++) {
		if (e < -4 || e > 14)
			return false;
		k = 14 - e;
		m = llround(a * p10[k]);
		if (m >= 1000000000000000LL)
			e++;
		else if (m < 100000000000000LL)
			e--;
		else
			break;
	}
	if (m < 100000000000000LL || m >= 1000000000000000LL || (double)m / p10[k] != a)
		return false;
	for (int i = 14; i >= 0; i--, m /= 10)
		digits[i] = (char)('0' + m % 10);
	if (v < 0)
		*o++ = '-';
	if (e >= 0) {
		memcpy(o, digits, (size_t)e + 1);
		o += e + 1;
		*o++ = '.';
		memcpy(o, digits + e + 1, (size_t)(14 - e));
		o += 14 - e;
	} else {
		*o++ = '0';
		*o++ = '.';
		for (int i = -1; i > e; i--)
			*o++ = '0';
		memcpy(o, digits, 15);
		o += 15;
	}
	while (o[-1] == '0')
		o--;
	if (o[-1] == '.')
		o--;
	*o = '\0';
	return true;
}

/* JavaScript's Number#toString for the values XO prints: the shortest form that reads back the same. */
static void fmt_num(char *out, size_t len, double v)
{
	if (len >= 24 && v == floor(v) && fabs(v) < 1e15) {
		/* whole numbers (bytes, requests, KiB) as JavaScript writes them (-0 too: "0"), without printf */
		put_ll(out, (long long)v);
		return;
	}
	if (isnan(v)) {
		snprintf(out, len, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(out, len, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (len >= 40 && fmt_fixed15(out, v))
		return;
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

/* Appends n bytes at p, the room reserved before. */
static char *put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

size_t om_format(const struct om_pool *pools, size_t n, struct buf *b)
{
	struct scrape_set set = {0};
	char fam[160];
	int prev = -1;

	collect(pools, n, &set);
	if (set.o.n > 1)
		qsort(set.o.v, set.o.n, sizeof(*set.o.v), cmp_sample);
	for (size_t i = 0; i < set.o.n; i++) {
		struct sample *s = &set.o.v[i];
		size_t nl = strlen(s->name), el = strlen(s->extra);
		char *p;
		if (s->nrank != prev) {
			family(fam, sizeof(fam), s);
			buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", fam, s->help, fam, s->counter ? "counter" : "gauge");
			prev = s->nrank;
		}
		/* pieces into room made once, not printf: a big pool's scrape is tens of thousands of lines */
		if (b->cap - b->len < nl + s->obj->tlen + el + 96)
			buf_reserve(b, (nl + s->obj->tlen + el + 96) * (set.o.n - i));
		p = b->data + b->len;
		p = put(p, "xcp_", 4);
		p = put(p, s->name, nl);
		p = put(p, s->obj->text, s->obj->tlen);
		p = put(p, s->extra, el);
		*p++ = ' ';
		fmt_num(p, 64, s->value);
		p += strlen(p);
		*p++ = ' ';
		p = put_ll(p, s->ts);
		*p++ = '\n';
		*p = '\0';
		b->len = (size_t)(p - b->data);
	}
	buf_puts(b, "# EOF\n");
	set_free(&set);
	return n ? set.o.n : 0;
}

size_t om_format_json(const struct om_pool *pools, size_t n, struct buf *b)
{
	struct scrape_set set = {0};
	char num[64];
	size_t count;

	collect(pools, n, &set);
	if (set.o.n > 1)
		qsort(set.o.v, set.o.n, sizeof(*set.o.v), cmp_sample);
	buf_puts(b, "[");
	for (size_t i = 0; i < set.o.n; i++) {
		struct sample *s = &set.o.v[i];
		char *name = full_name(s->name);
		fmt_num(num, sizeof(num), s->value);
		buf_puts(b, i ? ",\n {\"name\":" : "\n {\"name\":");
		json_encode_string(b, name, strlen(name));
		buf_printf(b, ",\"type\":\"%s\",\"help\":", s->counter ? "counter" : "gauge");
		json_encode_string(b, s->help, strlen(s->help));
		buf_printf(b, ",\"labels\":%s%s,\"value\":%s,\"timestamp\":%lld}", s->obj->json, s->jextra,
			   isfinite(s->value) ? num : "null", s->ts);
		free(name);
	}
	buf_puts(b, set.o.n ? "\n]\n" : "]\n");
	count = set.o.n;
	set_free(&set);
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

static bool cpu_series(const char *series, double v, long long t, void *ud)
{
	struct cpu_ctx *c = ud;
	const char *p = series + 3;

	if (!t || !isfinite(v))
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

	metrics_each_last(m, uuid, cpu_series, &c);
	if (!c.has_native && !c.n)
		return false;
	*v = c.has_native ? c.native : c.sum / c.n;
	if (t)
		*t = c.t;
	return true;
}
