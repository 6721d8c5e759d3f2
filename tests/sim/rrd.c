/* GET /rrd_updates, /host_rrd, /vm_rrd, /sr_rrd: the performance data
 * xcp-rrdd serves (WIRE.md 9), made up: every value is a smooth function of
 * time and of the object's uuid, so two fetches a step apart differ and the
 * same instant always reads the same.
 *
 * Only objects this process serves have data: hosts whose address is ours
 * (all of them when the pool's hosts are simulated in-process), the VMs
 * resident on them, and the SRs asked for. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "handlers.h"
#include "httpx.h"
#include "schema.h"
#include "sim.h"
#include "util.h"

/* K_SUM and K_SCALED are made from other sources of the same object, as
 * rrdd's iops_total = iops_read + iops_write and io_throughput_read = read / 2^20. */
enum kind { K_CPU, K_CONST, K_KIB_FREE, K_LOAD, K_NET, K_DISK, K_LATENCY, K_XAPI, K_USEC, K_RATIO, K_QUEUE, K_SUM, K_SCALED };

struct ds {
	char owner[8]; /* host, vm, sr */
	char uuid[40];
	char name[64];
	enum kind kind;
	double level; /* scale, or the value of a constant; K_SCALED: the factor */
	uint64_t h;   /* per-source phase */
	size_t a, b;  /* K_SUM, K_SCALED: the sources (indices in the list) it is made of */
	bool idle;    /* a paused VM's: no vCPU runs, nothing moves (0), only its memory stays */
};

struct dslist {
	struct ds *v;
	size_t n, cap;
};

static uint64_t mix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ULL;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
	return x ^ (x >> 31);
}

static uint64_t hash_str(const char *s, uint64_t h)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return mix(h);
}

static size_t add(struct dslist *l, const char *owner, const char *uuid, const char *name, enum kind k, double level)
{
	struct ds *d;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	d = &l->v[l->n++];
	snprintf(d->owner, sizeof(d->owner), "%s", owner);
	snprintf(d->uuid, sizeof(d->uuid), "%s", uuid);
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->kind = k;
	d->level = level;
	d->h = hash_str(name, hash_str(uuid, 0xcbf29ce484222325ULL));
	d->a = d->b = 0;
	d->idle = false;
	return l->n - 1;
}

/* A source made of two others (K_SUM) or of one times a factor (K_SCALED). */
static size_t add_derived(struct dslist *l, const char *owner, const char *uuid, const char *name, enum kind k,
			  size_t a, size_t b, double factor)
{
	size_t i = add(l, owner, uuid, name, k, factor);

	l->v[i].a = a;
	l->v[i].b = b;
	return i;
}

/* The value of source i of l at unix time t. */
static double value_at(const struct dslist *l, size_t i, int64_t t)
{
	const struct ds *d = &l->v[i];
	double phase = (double)(d->h % 10000) / 10000.0 * 2 * M_PI;
	double noise = (double)(mix(d->h ^ (uint64_t)(t / 5)) % 10000) / 10000.0;
	double wave = (1 + sin(2 * M_PI * (double)t / (240.0 + (double)(d->h % 360)) + phase)) / 2;

	if (d->idle && d->kind != K_CONST && d->kind != K_KIB_FREE)
		return 0;
	switch (d->kind) {
	case K_CPU: return 0.01 + 0.3 * wave + 0.04 * noise;
	case K_CONST: return d->level;
	case K_KIB_FREE: return floor(d->level * (0.25 + 0.3 * wave));
	case K_LOAD: return 0.05 + 1.5 * wave + 0.1 * noise;
	case K_NET: return floor(d->level * (0.2 + wave + 0.3 * noise));
	case K_DISK: return floor(d->level * (0.1 + wave * wave + 0.2 * noise));
	case K_LATENCY: return 0.2 + 2 * wave + noise;
	case K_XAPI: return floor(d->level * (0.9 + 0.1 * wave));
	case K_USEC: return floor(d->level * (0.2 + 2 * wave + noise));
	case K_RATIO: return d->level * (0.05 + wave * wave + 0.1 * noise);
	case K_QUEUE: return floor(d->level * (wave + noise));
	case K_SUM: return value_at(l, d->a, t) + value_at(l, d->b, t);
	case K_SCALED: return value_at(l, d->a, t) * d->level;
	}
	return 0;
}

static void fmt_value(char *out, size_t len, double v)
{
	if (isnan(v))
		snprintf(out, len, "NaN");
	else if (isinf(v))
		snprintf(out, len, v > 0 ? "Infinity" : "-Infinity");
	else if (v == 0)
		snprintf(out, len, "0.0");
	else
		snprintf(out, len, "%0.15g", v);
}

/* ---- which objects have data here ------------------------------------------- */

static bool host_served(const struct obj *h)
{
	return h && strcmp(db_str(h, "address"), sim.address) == 0;
}

/* rrdp-iostat's figures of one disk (a VM's VBD, fmt "vbd_%s_%s" with the device)
 * or of one SR on a host (fmt "%2$s_%1$s" with the SR uuid's first 8 characters);
 * scale: how busy. */
static void disk_sources(struct dslist *l, const char *owner, const char *uuid, const char *fmt, const char *dev,
			 double scale)
{
	char name[96];
	size_t r, w, ir, iw, tr, tw;

#define DS_NAME(key) (snprintf(name, sizeof(name), fmt, dev, key), name)
	r = add(l, owner, uuid, DS_NAME("read"), K_DISK, 3e5 * scale);
	w = add(l, owner, uuid, DS_NAME("write"), K_DISK, 1e5 * scale);
	add(l, owner, uuid, DS_NAME("read_latency"), K_USEC, 150);
	add(l, owner, uuid, DS_NAME("write_latency"), K_USEC, 300);
	tr = add_derived(l, owner, uuid, DS_NAME("io_throughput_read"), K_SCALED, r, 0, 1.0 / 1048576);
	tw = add_derived(l, owner, uuid, DS_NAME("io_throughput_write"), K_SCALED, w, 0, 1.0 / 1048576);
	add_derived(l, owner, uuid, DS_NAME("io_throughput_total"), K_SUM, tr, tw, 0);
	ir = add(l, owner, uuid, DS_NAME("iops_read"), K_DISK, 60 * scale);
	iw = add(l, owner, uuid, DS_NAME("iops_write"), K_DISK, 25 * scale);
	add_derived(l, owner, uuid, DS_NAME("iops_total"), K_SUM, ir, iw, 0);
	add(l, owner, uuid, DS_NAME("iowait"), K_RATIO, 0.05);
	add(l, owner, uuid, DS_NAME("inflight"), K_QUEUE, 4);
	add(l, owner, uuid, DS_NAME("latency"), K_USEC, 200);
	add(l, owner, uuid, DS_NAME("avgqu_sz"), K_RATIO, 2);
#undef DS_NAME
}

static void host_sources(struct dslist *l, struct obj *h)
{
	const char *uuid = db_str(h, "uuid");
	const struct xv *cpus = db_field(h, "host_CPUs");
	const struct xv *pifs = db_field(h, "PIFs");
	struct obj *m = db_ref(h, "metrics");
	char name[64];

	for (size_t i = 0; i < xv_len(cpus); i++) {
		snprintf(name, sizeof(name), "cpu%zu", i);
		add(l, "host", uuid, name, K_CPU, 0);
	}
	add(l, "host", uuid, "cpu_avg", K_CPU, 0);
	add(l, "host", uuid, "loadavg", K_LOAD, 0);
	add(l, "host", uuid, "memory_total_kib", K_CONST, m ? (double)(db_int(m, "memory_total") / 1024) : 0);
	add(l, "host", uuid, "memory_free_kib", K_CONST, m ? (double)(db_int(m, "memory_free") / 1024) : 0);
	for (size_t i = 0; i < xv_len(pifs); i++) {
		struct obj *p = db_find(xv_str(xv_at(pifs, i)));
		if (!p)
			continue;
		snprintf(name, sizeof(name), "pif_%s_rx", db_str(p, "device"));
		add(l, "host", uuid, name, K_NET, 2e5);
		snprintf(name, sizeof(name), "pif_%s_tx", db_str(p, "device"));
		add(l, "host", uuid, name, K_NET, 1e5);
	}
	add(l, "host", uuid, "pif_aggr_rx", K_NET, 4e5);
	add(l, "host", uuid, "pif_aggr_tx", K_NET, 2e5);
	/* rrdp-iostat's SRs: those with a disk in use (a tapdisk) on this host, i.e. a VDI
	 * of a running VM resident here, each as the first 8 characters of its uuid */
	{
		const char *seen[64];
		size_t nseen = 0;

		for (struct obj *vm = db_first("VM"); vm; vm = vm->cnext) {
			const struct xv *vbds = db_field(vm, "VBDs");
			if (db_ref(vm, "resident_on") != h || strcmp(db_str(vm, "power_state"), "Running") != 0)
				continue;
			for (size_t i = 0; i < xv_len(vbds); i++) {
				struct obj *b = db_find(xv_str(xv_at(vbds, i))), *vdi = b && !db_bool(b, "empty") ? db_ref(b, "VDI") : NULL;
				struct obj *sr = vdi ? db_ref(vdi, "SR") : NULL;
				const char *su = sr ? db_str(sr, "uuid") : "";
				bool dup = false;
				char sr8[9];
				for (size_t k = 0; k < nseen && !dup; k++)
					dup = strcmp(seen[k], su) == 0;
				if (dup || strlen(su) < 8 || nseen == ARRAY_LEN(seen))
					continue;
				seen[nseen++] = su;
				snprintf(sr8, sizeof(sr8), "%s", su);
				disk_sources(l, "host", uuid, "%2$s_%1$s", sr8, 4);
			}
		}
	}
	add(l, "host", uuid, "xapi_memory_usage_kib", K_XAPI, 180000);
	add(l, "host", uuid, "xapi_free_memory_kib", K_XAPI, 90000);
}

static void vm_sources(struct dslist *l, struct obj *vm)
{
	const char *uuid = db_str(vm, "uuid");
	struct obj *m = db_ref(vm, "metrics");
	int64_t vcpus = m && db_int(m, "VCPUs_number") > 0 ? db_int(m, "VCPUs_number") : db_int(vm, "VCPUs_at_startup");
	int64_t mem = m && db_int(m, "memory_actual") > 0 ? db_int(m, "memory_actual") : db_int(vm, "memory_dynamic_max");
	const struct xv *vifs = db_field(vm, "VIFs"), *vbds = db_field(vm, "VBDs");
	size_t first = l->n;
	char name[64];

	for (int64_t i = 0; i < vcpus && i < 64; i++) {
		snprintf(name, sizeof(name), "cpu%lld", (long long)i);
		add(l, "vm", uuid, name, K_CPU, 0);
	}
	add(l, "vm", uuid, "memory", K_CONST, (double)mem);
	add(l, "vm", uuid, "memory_target", K_CONST, (double)db_int(vm, "memory_target"));
	add(l, "vm", uuid, "memory_internal_free", K_KIB_FREE, (double)(mem / 1024));
	for (size_t i = 0; i < xv_len(vifs); i++) {
		struct obj *v = db_find(xv_str(xv_at(vifs, i)));
		if (!v)
			continue;
		snprintf(name, sizeof(name), "vif_%s_rx", db_str(v, "device"));
		add(l, "vm", uuid, name, K_NET, 5e4);
		snprintf(name, sizeof(name), "vif_%s_tx", db_str(v, "device"));
		add(l, "vm", uuid, name, K_NET, 2e4);
	}
	for (size_t i = 0; i < xv_len(vbds); i++) {
		struct obj *b = db_find(xv_str(xv_at(vbds, i)));
		if (!b || db_bool(b, "empty") || !*db_str(b, "device"))
			continue;
		disk_sources(l, "vm", uuid, "vbd_%s_%s", db_str(b, "device"), 1);
	}
	/* xcp-rrdd keeps a paused domain's series: its CPU time does not advance */
	if (strcmp(db_str(vm, "power_state"), "Paused") == 0)
		for (size_t i = first; i < l->n; i++)
			l->v[i].idle = true;
}

static void sr_sources(struct dslist *l, struct obj *sr)
{
	const char *uuid = db_str(sr, "uuid");

	add(l, "sr", uuid, "io_throughput_read", K_DISK, 3e6);
	add(l, "sr", uuid, "io_throughput_write", K_DISK, 1e6);
	add(l, "sr", uuid, "iops_read", K_DISK, 300);
	add(l, "sr", uuid, "iops_write", K_DISK, 100);
	add(l, "sr", uuid, "latency", K_LATENCY, 0);
	add(l, "sr", uuid, "physical_utilisation", K_CONST, (double)db_int(sr, "physical_utilisation"));
}

static bool vm_here(struct obj *vm)
{
	return host_served(db_ref(vm, "resident_on"));
}

/* ---- /rrd_updates ------------------------------------------------------------------ */

static const struct {
	int step, rows;
} archives[] = {{5, 120}, {60, 120}, {3600, 168}, {86400, 366}};

bool handle_rrd_updates(struct http_req *r)
{
	struct hx h;
	char *start_s = http_param(r, "start"), *interval_s = http_param(r, "interval"), *cf = http_param(r, "cf");
	char **vm_uuids = http_params(r, "vm_uuid"), **sr_uuids = http_params(r, "sr_uuid");
	const char *accept = http_header(r, "Accept");
	bool json = hx_flag(r, "json") || (accept && strstr(accept, "application/json"));
	struct dslist l = {NULL, 0, 0};
	struct buf b;
	int64_t now = (int64_t)time(NULL), start, end;
	long interval = interval_s ? strtol(interval_s, NULL, 10) : 0;
	int a = 0, rows = 0;
	char *end_p = NULL;
	bool ok = true;

	if (!hx_auth(&h, r, "rrd_updates")) {
		ok = false;
		goto out;
	}
	if (start_s)
		strtoll(start_s, &end_p, 10);
	if (!start_s || !*start_s || *end_p) {
		hx_error(r, 400, "start is required");
		ok = false;
		goto out;
	}
	if (cf && strcmp(cf, "AVERAGE") != 0) {
		/* rrdd only keeps AVERAGE archives */
		hx_error(r, 500, "No RRA with that consolidation function");
		ok = false;
		goto out;
	}
	start = strtoll(start_s, NULL, 10);
	if (start < 0)
		start += now;
	while (a < 3 && archives[a].step < interval)
		a++;

	db_lock();
	if (hx_flag(r, "host"))
		for (struct obj *o = db_first("host"); o; o = o->cnext)
			if (host_served(o))
				host_sources(&l, o);
	if (vm_uuids[0]) {
		for (char **u = vm_uuids; *u; u++) {
			struct obj *vm = db_by_uuid(schema_class("VM"), *u);
			if (vm && vm_here(vm))
				vm_sources(&l, vm);
		}
	} else {
		for (struct obj *vm = db_first("VM"); vm; vm = vm->cnext)
			if (vm_here(vm))
				vm_sources(&l, vm);
	}
	for (char **u = sr_uuids; *u; u++) {
		struct obj *sr = db_by_uuid(schema_class("SR"), *u);
		if (sr)
			sr_sources(&l, sr);
	}
	db_unlock();

	end = now / archives[a].step * archives[a].step;
	while (rows < archives[a].rows && end - (int64_t)rows * archives[a].step > start)
		rows++;
	buf_init(&b);
	{
		int step = archives[a].step;
		int64_t first = rows ? end - (int64_t)(rows - 1) * step : end;
		char v[64];

		if (json) {
			buf_printf(&b, "{\"meta\":{\"start\":\"%lld\",\"step\":\"%d\",\"end\":\"%lld\",\"rows\":\"%d\",\"columns\":\"%zu\",\"legend\":[",
				   (long long)first, step, (long long)end, rows, l.n);
			for (size_t i = 0; i < l.n; i++)
				buf_printf(&b, "%s\"AVERAGE:%s:%s:%s\"", i ? "," : "", l.v[i].owner, l.v[i].uuid, l.v[i].name);
			buf_puts(&b, "]},\"data\":[");
			for (int k = 0; k < rows; k++) {
				int64_t t = end - (int64_t)k * step;
				buf_printf(&b, "%s{\"t\":\"%lld\",\"values\":[", k ? "," : "", (long long)t);
				for (size_t i = 0; i < l.n; i++) {
					fmt_value(v, sizeof(v), value_at(&l, i, t));
					buf_printf(&b, "%s\"%s\"", i ? "," : "", v);
				}
				buf_puts(&b, "]}");
			}
			buf_puts(&b, "]}");
		} else {
			buf_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><xport><meta><start>%lld</start><step>%d</step>"
				   "<end>%lld</end><rows>%d</rows><columns>%zu</columns><legend>",
				   (long long)first, step, (long long)end, rows, l.n);
			for (size_t i = 0; i < l.n; i++)
				buf_printf(&b, "<entry>AVERAGE:%s:%s:%s</entry>", l.v[i].owner, l.v[i].uuid, l.v[i].name);
			buf_puts(&b, "</legend></meta><data>");
			for (int k = 0; k < rows; k++) {
				int64_t t = end - (int64_t)k * step;
				buf_printf(&b, "<row><t>%lld</t>", (long long)t);
				for (size_t i = 0; i < l.n; i++) {
					fmt_value(v, sizeof(v), value_at(&l, i, t));
					buf_printf(&b, "<v>%s</v>", v);
				}
				buf_puts(&b, "</row>");
			}
			buf_puts(&b, "</data></xport>");
		}
	}
	http_respond(r, 200, json ? "application/json" : "text/xml", b.data, b.len, NULL);
	buf_free(&b);
out:
	if (h.r)
		hx_end(&h);
	free(l.v);
	free(start_s);
	free(interval_s);
	free(cf);
	for (char **u = vm_uuids; *u; u++)
		free(*u);
	for (char **u = sr_uuids; *u; u++)
		free(*u);
	free(vm_uuids);
	free(sr_uuids);
	return ok && r->keep_alive;
}

/* ---- /host_rrd, /vm_rrd, /sr_rrd: the whole database, rrdtool dump style ---------- */

static bool ds_is_rate(const struct ds *d)
{
	return d->kind == K_NET || d->kind == K_DISK || d->kind == K_SUM || d->kind == K_SCALED;
}

static void dump_rrd(struct hx *h, const struct dslist *l)
{
	int64_t now = (int64_t)time(NULL), last = now / 5 * 5;
	struct buf b;
	char v[64];

	buf_init(&b);
	buf_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rrd><version>0003</version><step>5</step><lastupdate>%lld</lastupdate>",
		   (long long)now);
	for (size_t i = 0; i < l->n; i++) {
		fmt_value(v, sizeof(v), value_at(l, i, last));
		buf_printf(&b, "<ds><name>%s</name><type>%s</type><minimal_heartbeat>300.0000</minimal_heartbeat>"
			   "<min>0.0</min><max>%s</max><last_ds>%s</last_ds><value>0.0</value><unknown_sec>0</unknown_sec></ds>",
			   l->v[i].name, ds_is_rate(&l->v[i]) ? "DERIVE" : "GAUGE",
			   l->v[i].kind == K_CPU ? "1.0" : "Infinity", v);
	}
	for (size_t a = 0; a < ARRAY_LEN(archives); a++) {
		int step = archives[a].step;
		int64_t end = now / step * step;

		buf_printf(&b, "<rra><cf>AVERAGE</cf><pdp_per_row>%d</pdp_per_row><params><xff>0.5</xff></params><cdp_prep>",
			   step / 5);
		for (size_t i = 0; i < l->n; i++)
			buf_puts(&b, "<ds><primary_value>0.0</primary_value><secondary_value>0.0</secondary_value>"
				     "<value>0.0</value><unknown_datapoints>0</unknown_datapoints></ds>");
		buf_puts(&b, "</cdp_prep><database>");
		/* oldest first, as rrdtool dumps */
		for (int k = archives[a].rows - 1; k >= 0; k--) {
			int64_t t = end - (int64_t)k * step;
			buf_puts(&b, "<row>");
			for (size_t i = 0; i < l->n; i++) {
				fmt_value(v, sizeof(v), value_at(l, i, t));
				buf_printf(&b, "<v>%s</v>", v);
			}
			buf_puts(&b, "</row>");
		}
		buf_puts(&b, "</database></rra>");
		if (b.len > (1 << 20)) {
			hx_write(h, b.data, b.len);
			buf_reset(&b);
		}
	}
	buf_puts(&b, "</rrd>");
	hx_write(h, b.data, b.len);
	buf_free(&b);
}

/* what: "host", "vm" or "sr". */
static bool whole_rrd(struct http_req *r, const char *what)
{
	struct hx h;
	char *uuid = http_param(r, "uuid");
	struct dslist l = {NULL, 0, 0};
	char label[16], redirect[512] = "";
	int status = 200;

	snprintf(label, sizeof(label), "%s_rrd", what);
	if (!hx_auth(&h, r, label)) {
		free(uuid);
		return false;
	}
	db_lock();
	if (strcmp(what, "host") == 0) {
		if (sim.local_host)
			host_sources(&l, sim.local_host);
		else
			status = 404;
	} else if (!uuid) {
		status = 400;
	} else if (strcmp(what, "vm") == 0) {
		struct obj *vm = db_by_uuid(schema_class("VM"), uuid);
		struct obj *host = vm ? db_ref(vm, "resident_on") : NULL;
		if (!host)
			status = 404;
		else if (!host_served(host))
			/* the pool's processes share a port, on their own addresses */
			snprintf(redirect, sizeof(redirect), "Location: %s://%s:%d%s?%s\r\n", sim.tls ? "https" : "http",
				 db_str(host, "address"), sim.port, r->path, r->query);
		else
			vm_sources(&l, vm);
	} else {
		struct obj *sr = db_by_uuid(schema_class("SR"), uuid);
		if (sr)
			sr_sources(&l, sr);
		else
			status = 404;
	}
	db_unlock();
	if (redirect[0]) {
		r->keep_alive = false;
		http_respond(r, 302, NULL, "", 0, redirect);
	} else if (status != 200) {
		hx_error(r, status, status == 400 ? "uuid is required" : "No RRD for that object");
	} else if (hx_head(&h, "1.0", 200, "Connection: close\r\nCache-Control: no-cache, no-store\r\ncontent-type: text/xml\r\n")) {
		dump_rrd(&h, &l);
	}
	hx_end(&h);
	free(l.v);
	free(uuid);
	return false;
}

bool handle_host_rrd(struct http_req *r)
{
	return whole_rrd(r, "host");
}

bool handle_vm_rrd(struct http_req *r)
{
	return whole_rrd(r, "vm");
}

bool handle_sr_rrd(struct http_req *r)
{
	return whole_rrd(r, "sr");
}
