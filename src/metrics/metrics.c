/* Fetching and keeping performance data: one /rrd_updates per host address
 * and archive at most once per step, only for what someone wants. */
#include "metrics.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hmap.h"
#include "log.h"
#include "net.h"
#include "rrdparse.h"
#include "known_hosts.h"
#include "util.h"

#define NLEVELS 3
/* xcp-rrdd's archives (WIRE.md 9): 5 s, 1 min and 1 h rows, as many as it keeps */
static const struct level {
	int step, rows;
} levels[NLEVELS] = {{5, 120}, {60, 120}, {3600, 168}};

/* The most one /rrd_updates reply may hold (a host with a thousand VMs over
 * two hours is a few tens of MB). */
#define MAX_BODY (256u << 20)

/* A series' kept rows: few series have any (5,000 VMs on a list have none). */
struct history {
	double *ring[NLEVELS]; /* levels[L].rows values, slot (t / step) % rows; NULL if not kept */
	long long end[NLEVELS]; /* time of the newest slot written */
};

struct series {
	char *name;
	double last;
	long long last_t;
	struct history *h; /* NULL until a row is kept */
};

struct object {
	char *uuid;
	struct series *s;
	size_t n, cap;
};

struct want {
	char *uuid;
	int64_t until; /* loop_now() ms */
	enum metrics_span span;
};

struct endpoint;
struct parse_ctx;
struct xfer {
	struct endpoint *e;
	int level;
	CURL *easy;
	/* the reply is parsed as it arrives (a host's is megabytes; a backfill of a
	 * big host over 10 min is 150 MB): nothing holds it whole */
	struct rrd_parser *parser;
	struct parse_ctx *pc;
	size_t got; /* bytes received */
	char errbuf[CURL_ERROR_SIZE];
	char *url;
	bool too_big;
};

/* A host address: all hosts of a pool simulated in one process share one. */
struct endpoint {
	struct metrics *m;
	char *address;
	char *host_ref; /* a host at this address, for its certificate */
	struct xfer x[NLEVELS];
	long long last_t[NLEVELS];  /* newest row received */
	long long fetched[NLEVELS]; /* the step (unix time / step) of the last fetch started */
	bool backfill[NLEVELS];     /* a new want needs the archive's whole history */
	char fp[65];                /* its certificate's SHA-256 (hex), "" until known */
	bool fp_asked;
};

struct cert_req {
	struct metrics *m; /* NULL once m is freed */
	struct endpoint *e;
	struct cert_req *next;
};

typedef void (*refresh_fn)(struct metrics *m, void *ud);
struct waiter {
	refresh_fn fn;
	void *ud;
};

struct metrics {
	struct loop *loop;
	/* connections of its own: an /rrd_updates GET never waits behind the
	 * calls' (six per host, all taken by a cache load's 22 records) */
	struct net *net;
	struct xapi *x;
	struct cache *c;
	metrics_fn on_update;
	void *on_update_ud;
	struct hmap objects;   /* uuid -> struct object */
	struct hmap wants;     /* uuid -> struct want */
	struct hmap endpoints; /* address -> struct endpoint */
	bool all;              /* metrics_want_all in force */
	bool early;            /* metrics_set_early: fetch once the hosts are in the cache */
	int64_t all_until;
	enum metrics_span all_span;
	struct loop_timer *timer;
	int64_t timer_at;
	struct loop_timer *kick; /* answers metrics_refresh when nothing was due */
	int inflight; /* transfers and certificate calls */
	struct waiter *waiters;
	size_t nwaiters;
	struct cert_req *certs;
	char *err;
	bool round_failed;
	unsigned long long bytes;
	unsigned gen; /* changes whenever what is wanted changes: a column map made before is stale */
	unsigned drops; /* counts objects freed: a column map made before a drop is stale */
	unsigned long rounds; /* replies that brought points */
	char **only; /* the series kept of objects wanted through want_all alone; NULL: all */
	size_t nonly;
};

static void schedule(struct metrics *m, int64_t delay_ms);

static int span_level(enum metrics_span s)
{
	switch (s) {
	case METRICS_NOW:
	case METRICS_10MIN: return 0;
	case METRICS_2H: return 1;
	case METRICS_1WEEK: return 2;
	}
	return 0;
}

static long long wall_now(void)
{
	return (long long)time(NULL);
}

/* ---- objects and series ------------------------------------------------------- */

static void object_free(struct object *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->s[i].name);
		for (int l = 0; o->s[i].h && l < NLEVELS; l++)
			free(o->s[i].h->ring[l]);
		free(o->s[i].h);
	}
	free(o->s);
	free(o->uuid);
	free(o);
}

static size_t series_index(struct object *o, const char *name)
{
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->s[i].name, name) == 0)
			return i;
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 4; /* a list keeps 2 to 6 of a VM's series */
		o->s = xrealloc(o->s, o->cap * sizeof(*o->s));
	}
	memset(&o->s[o->n], 0, sizeof(o->s[o->n]));
	o->s[o->n].name = xstrdup(name);
	o->s[o->n].last = NAN;
	return o->n++;
}

static const struct series *find_series(const struct metrics *m, const char *obj, const char *name)
{
	const struct object *o = hmap_get(&m->objects, obj);

	for (size_t i = 0; o && i < o->n; i++)
		if (strcmp(o->s[i].name, name) == 0)
			return &o->s[i];
	return NULL;
}

static size_t slot(long long t, const struct level *lv)
{
	long long k = t / lv->step;

	return (size_t)(((k % lv->rows) + lv->rows) % lv->rows);
}

static void ring_put(struct series *s, int l, long long t, double v)
{
	const struct level *lv = &levels[l];

	if (!s->h)
		s->h = xcalloc(1, sizeof(*s->h));
	if (!s->h->ring[l]) {
		s->h->ring[l] = xmalloc((size_t)lv->rows * sizeof(double));
		for (int i = 0; i < lv->rows; i++)
			s->h->ring[l][i] = NAN;
		s->h->end[l] = t;
	}
	if (t > s->h->end[l]) {
		/* the slots between the old newest and t are unknown, not stale */
		long long k0 = s->h->end[l] / lv->step + 1, k1 = t / lv->step;
		if (k1 - k0 >= lv->rows)
			k0 = k1 - lv->rows + 1;
		for (long long k = k0; k <= k1; k++)
			s->h->ring[l][slot(k * lv->step, lv)] = NAN;
		s->h->end[l] = t;
	} else if (t <= s->h->end[l] - (long long)lv->rows * lv->step) {
		return; /* older than the ring holds */
	}
	s->h->ring[l][slot(t, lv)] = v;
}

/* The span obj is wanted over, or -1 when it is not wanted. */
static int wanted_span(const struct metrics *m, const char *uuid)
{
	const struct want *w = hmap_get(&m->wants, uuid);
	int s = w ? (int)w->span : -1;

	if (m->all && (int)m->all_span > s)
		s = (int)m->all_span;
	return s;
}

/* ---- wants --------------------------------------------------------------------- */

static void drop_object(struct metrics *m, const char *uuid)
{
	struct object *o = hmap_del(&m->objects, uuid);

	if (o) {
		object_free(o);
		m->gen++;
		m->drops++;
	}
}

static bool collect_key(const char *key, void *value, void *ud)
{
	struct buf *b = ud;
	(void)value;
	buf_append(b, &key, sizeof(key));
	return true;
}

/* Drops wants that were not renewed, and the objects nobody wants any more. */
static void expire(struct metrics *m)
{
	int64_t now = loop_now();
	struct buf keys;

	if (m->all && m->all_until < now) {
		m->all = false;
		m->gen++;
	}
	buf_init(&keys);
	hmap_each(&m->wants, collect_key, &keys);
	for (size_t i = 0; i < keys.len / sizeof(char *); i++) {
		const char *k = ((const char **)(void *)keys.data)[i];
		struct want *w = hmap_get(&m->wants, k);
		if (w->until < now) {
			hmap_del(&m->wants, k);
			free(w->uuid);
			free(w);
			m->gen++;
		}
	}
	buf_reset(&keys);
	hmap_each(&m->objects, collect_key, &keys);
	for (size_t i = 0; i < keys.len / sizeof(char *); i++) {
		const char *k = ((const char **)(void *)keys.data)[i];
		if (wanted_span(m, k) < 0)
			drop_object(m, k);
	}
	buf_free(&keys);
}

static void mark_backfill(struct metrics *m, int level)
{
	/* every endpoint: which host the object is on may change meanwhile */
	struct buf keys;

	buf_init(&keys);
	hmap_each(&m->endpoints, collect_key, &keys);
	for (size_t i = 0; i < keys.len / sizeof(char *); i++) {
		struct endpoint *e = hmap_get(&m->endpoints, ((const char **)(void *)keys.data)[i]);
		e->backfill[level] = true;
	}
	buf_free(&keys);
}

void metrics_want(struct metrics *m, const char *obj, enum metrics_span span)
{
	struct want *w = hmap_get(&m->wants, obj);
	int before = wanted_span(m, obj);

	if (!w) {
		w = xcalloc(1, sizeof(*w));
		w->uuid = xstrdup(obj);
		w->span = span;
		hmap_put(&m->wants, w->uuid, w);
		m->gen++;
	} else if (span > w->span) {
		w->span = span;
		m->gen++;
	}
	w->until = loop_now() + METRICS_WANT_MS;
	if ((int)span > before) {
		if (span != METRICS_NOW)
			mark_backfill(m, span_level(span));
		schedule(m, 0);
	}
}

void metrics_want_all(struct metrics *m, enum metrics_span span)
{
	bool more = !m->all || span > m->all_span;

	if (!m->all || span > m->all_span) {
		m->all_span = span;
		m->gen++;
	}
	m->all = true;
	m->all_until = loop_now() + METRICS_WANT_MS;
	if (more) {
		if (span != METRICS_NOW)
			mark_backfill(m, span_level(span));
		schedule(m, 0);
	}
}

void metrics_unwant(struct metrics *m, const char *obj)
{
	struct want *w = hmap_del(&m->wants, obj);

	if (w) {
		free(w->uuid);
		free(w);
		m->gen++;
	}
	if (wanted_span(m, obj) < 0)
		drop_object(m, obj);
}

/* ---- reading -------------------------------------------------------------------- */

bool metrics_last(const struct metrics *m, const char *obj, const char *series, double *v, long long *t)
{
	const struct series *s = find_series(m, obj, series);

	if (!s || !s->last_t)
		return false;
	*v = s->last;
	if (t)
		*t = s->last_t;
	return true;
}

size_t metrics_get(const struct metrics *m, const char *obj, const char *series, enum metrics_span span,
		   double *out, size_t max, long long *t_end, int *step)
{
	const struct series *s = find_series(m, obj, series);
	int l = span_level(span);
	const struct level *lv = &levels[l];
	size_t n;

	if (!s || !max)
		return 0;
	if (span == METRICS_NOW || !s->h || !s->h->ring[l]) {
		if (!s->last_t || span != METRICS_NOW)
			return 0;
		out[0] = s->last;
		*t_end = s->last_t;
		*step = levels[0].step;
		return 1;
	}
	n = max < (size_t)lv->rows ? max : (size_t)lv->rows;
	for (size_t i = 0; i < n; i++) {
		long long t = s->h->end[l] - (long long)(n - 1 - i) * lv->step;
		out[i] = s->h->ring[l][slot(t, lv)];
	}
	*t_end = s->h->end[l];
	*step = lv->step;
	return n;
}

void metrics_each_series(const struct metrics *m, const char *obj, bool (*fn)(const char *series, void *ud), void *ud)
{
	const struct object *o = hmap_get(&m->objects, obj);

	for (size_t i = 0; o && i < o->n; i++)
		if (!fn(o->s[i].name, ud))
			return;
}

void metrics_each_last(const struct metrics *m, const char *obj,
		       bool (*fn)(const char *series, double v, long long t, void *ud), void *ud)
{
	const struct object *o = hmap_get(&m->objects, obj);

	for (size_t i = 0; o && i < o->n; i++)
		if (!fn(o->s[i].name, o->s[i].last_t ? o->s[i].last : NAN, o->s[i].last_t, ud))
			return;
}

const char *metrics_error(const struct metrics *m)
{
	return m->err;
}

unsigned long long metrics_bytes(const struct metrics *m)
{
	return m->bytes;
}

unsigned long metrics_rounds(const struct metrics *m)
{
	return m->rounds;
}

void metrics_on_update(struct metrics *m, metrics_fn fn, void *ud)
{
	m->on_update = fn;
	m->on_update_ud = ud;
}

/* ---- parsing a reply ---------------------------------------------------------------- */

struct colmap {
	struct object *o; /* NULL: a column nobody wants */
	uint32_t si;
	bool keep; /* the object wants this archive's history */
};

/* One transfer's reading of its replies. The column map outlives a reply: the next one's
 * legend is mostly the same (rrd_parser_new_legend skips what is), and so is its map. */
struct parse_ctx {
	struct metrics *m;
	struct rrd_legend *lg; /* the pieces of the legend cols were made from */
	struct colmap *cols;
	size_t ncols, cap;
	unsigned gen;   /* m->gen when cols were made: other wants, another map */
	unsigned drops; /* m->drops when cols were made: the parse spans many loop turns */
	int level;
	long long newest;
	size_t stored;
	bool stale;     /* an object of cols was freed meanwhile: the rest of the reply is skipped */
};

/* Whether name of uuid is read by someone: every series of an object wanted by itself,
 * those of metrics_only for the rest of a want_all (a list needs 2 of ~20 per VM). */
static bool series_kept(const struct metrics *m, const char *uuid, const char *name)
{
	if (!m->only || hmap_get(&m->wants, uuid))
		return true;
	for (size_t i = 0; i < m->nonly; i++) {
		const char *o = m->only[i];
		size_t n = strlen(o);
		if (n && o[n - 1] == '#') {
			/* "cpu#": cpu0, cpu1, ... (a VM's per-vCPU series) */
			if (strncmp(name, o, n - 1) == 0 && name[n - 1] && strspn(name + n - 1, "0123456789") == strlen(name + n - 1))
				return true;
		} else if (strcmp(o, name) == 0) {
			return true;
		}
	}
	return false;
}

static void on_column(size_t col, const char *cf, const char *owner, const char *uuid, const char *name, void *ud)
{
	struct parse_ctx *p = ud;
	struct colmap *c;
	int span;

	(void)cf;
	if (col == 0)
		p->drops = p->m->drops; /* a map made from scratch: objects dropped before it do not matter */
	if (col >= p->cap) {
		/* doubled: a host's legend has thousands of columns */
		p->cap = col + 1 > 2 * p->cap ? col + 1 : 2 * p->cap;
		p->cols = xrealloc(p->cols, p->cap * sizeof(*p->cols));
	}
	for (size_t i = p->ncols; i < col; i++)
		memset(&p->cols[i], 0, sizeof(p->cols[i]));
	p->ncols = col + 1; /* the columns after it are the last reply's, each made again as read */
	c = &p->cols[col];
	memset(c, 0, sizeof(*c));
	if (strcmp(owner, "host") != 0 && strcmp(owner, "vm") != 0)
		return;
	span = wanted_span(p->m, uuid);
	if (span < 0 || !series_kept(p->m, uuid, name))
		return;
	c->o = hmap_get(&p->m->objects, uuid);
	if (!c->o) {
		c->o = xcalloc(1, sizeof(*c->o));
		c->o->uuid = xstrdup(uuid);
		hmap_put(&p->m->objects, c->o->uuid, c->o);
	}
	c->si = (uint32_t)series_index(c->o, name);
	c->keep = span != METRICS_NOW && span_level((enum metrics_span)span) >= p->level;
}

static void on_row(long long t, const double *v, size_t n, void *ud)
{
	struct parse_ctx *p = ud;

	if (p->stale || p->drops != p->m->drops) {
		p->stale = true; /* fetched again from the last row kept, next step */
		return;
	}
	if (t > p->newest)
		p->newest = t;
	for (size_t i = 0; i < n && i < p->ncols; i++) {
		struct colmap *c = &p->cols[i];
		struct series *s;
		if (!c->o)
			continue;
		s = &c->o->s[c->si];
		if (p->level == 0 && t >= s->last_t) {
			s->last = v[i];
			s->last_t = t;
		}
		if (c->keep)
			ring_put(s, p->level, t, v[i]);
		p->stored++;
	}
}

/* ---- fetching ------------------------------------------------------------------------ */

static void set_error(struct metrics *m, char *msg)
{
	log_msg("metrics: %s", msg);
	free(m->err);
	m->err = msg;
	m->round_failed = true;
}

static void call_waiters(struct metrics *m)
{
	struct waiter *w = m->waiters;
	size_t n = m->nwaiters;

	m->waiters = NULL;
	m->nwaiters = 0;
	if (!m->round_failed) {
		free(m->err);
		m->err = NULL;
	}
	m->round_failed = false;
	for (size_t i = 0; i < n; i++)
		w[i].fn(m, w[i].ud);
	free(w);
}

static void inflight_done(struct metrics *m)
{
	if (--m->inflight == 0 && m->nwaiters)
		call_waiters(m);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct xfer *t = ud;
	size_t n = size * nmemb;
	long code = 0;

	if (t->got + n > MAX_BODY) {
		t->too_big = true;
		return 0;
	}
	t->got += n;
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200)
		return n; /* an error page: its status is what is reported */
	/* a reply that is not an xport stops here: the rest would not be read either */
	return rrd_parser_feed(t->parser, data, n) ? n : 0;
}

/* The transfer's parser, gone (its column map stays for the next reply). */
static void xfer_drop_parse(struct xfer *t)
{
	rrd_parser_free(t->parser);
	t->parser = NULL;
}

/* The transfer's column map and kept legend, gone with it. */
static void xfer_free_map(struct xfer *t)
{
	xfer_drop_parse(t);
	if (t->pc) {
		rrd_legend_free(t->pc->lg);
		free(t->pc->cols);
		free(t->pc);
		t->pc = NULL;
	}
}

/* The end of a 200 reply: its last rows parsed, the listener told. */
static void finish_reply(struct metrics *m, struct xfer *t)
{
	struct endpoint *e = t->e;
	struct parse_ctx *p = t->pc;
	struct rrd_meta meta;
	char *err = NULL;

	if (!rrd_parser_finish(t->parser, &meta, &err)) {
		set_error(m, xasprintf("%s: %s", e->address, err));
		free(err);
		return;
	}
	if (p->newest > e->last_t[t->level])
		e->last_t[t->level] = p->newest;
	if (p->cap > p->ncols + p->ncols / 4 + 64) {
		/* kept between replies: no room left from a larger legend */
		p->cap = p->ncols;
		p->cols = xrealloc(p->cols, (p->cap ? p->cap : 1) * sizeof(*p->cols));
	}
	if (p->stored) {
		m->rounds++;
		if (m->on_update)
			m->on_update(m, m->on_update_ud);
	}
}

static void on_fetched(CURL *easy, CURLcode result, void *ud)
{
	struct xfer *t = ud;
	struct endpoint *e = t->e;
	struct metrics *m = e->m;
	long code = 0;

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	m->bytes += t->got;
	{
		curl_off_t wire = 0;
		curl_easy_getinfo(easy, CURLINFO_SIZE_DOWNLOAD_T, &wire);
		/* bench/metrics.py reads this line: bytes fetched per refresh */
		log_msg("metrics: %zu bytes (%lld on the wire) of /rrd_updates from %s (interval %d), %zu columns"
			" as the last reply's",
			t->got, (long long)wire, e->address, levels[t->level].step, rrd_parser_skipped(t->parser));
	}
	if (result == CURLE_WRITE_ERROR && !t->too_big && code == 200) {
		char *why = xstrdup(rrd_parser_error(t->parser));
		set_error(m, xasprintf("%s: %s", e->address, why));
		free(why);
	} else if (result != CURLE_OK) {
		set_error(m, t->too_big ? xasprintf("%s: the performance data is larger than xentui takes", e->address)
					: xasprintf("%s: performance data: %s", e->address,
						    t->errbuf[0] ? t->errbuf : curl_easy_strerror(result)));
	} else if (code != 200) {
		set_error(m, xasprintf("%s: performance data: the host answered HTTP %ld", e->address, code));
	} else {
		finish_reply(m, t);
	}
	curl_easy_cleanup(easy);
	t->easy = NULL;
	xfer_drop_parse(t);
	free(t->url);
	t->url = NULL;
	inflight_done(m);
}

/* scheme://host:port of the pool's URL, with address in place of host; NULL for unix: */
static char *base_url(const struct metrics *m, const char *address, bool *tls)
{
	const char *u = xapi_url(m->x), *h, *e, *port = NULL;

	if (!u || !(h = strstr(u, "://")))
		return NULL;
	*tls = strncmp(u, "https", 5) == 0;
	h += 3;
	e = h + strcspn(h, "/?#");
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(e - h));
		if (rb && rb + 1 < e && rb[1] == ':')
			port = rb + 2;
	} else {
		const char *c = memchr(h, ':', (size_t)(e - h));
		if (c)
			port = c + 1;
	}
	return xasprintf("%s://%s%s%s%s%s%.*s", *tls ? "https" : "http", strchr(address, ':') ? "[" : "", address,
			 strchr(address, ':') ? "]" : "", port ? ":" : "", "", port ? (int)(e - port) : 0, port ? port : "");
}

static void on_cert(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct cert_req *q = ud, **pp;
	struct metrics *m = q->m;

	(void)x;
	if (m) {
		for (pp = &m->certs; *pp; pp = &(*pp)->next)
			if (*pp == q) {
				*pp = q->next;
				break;
			}
		if (r->failure != XAPI_OK || !xv_str(r->value) || !cert_pem_sha256(xv_str(r->value), q->e->fp))
			set_error(m, xasprintf("%s: its certificate could not be read from the pool: %s", q->e->address,
					       r->message ? r->message : "no certificate"));
		inflight_done(m);
		schedule(m, 0);
	}
	free(q);
}

/* The certificate to pin for e, when it is known (or needs none). */
static bool endpoint_trust(struct metrics *m, struct endpoint *e, bool tls)
{
	struct cert_req *q;

	if (!tls || e->fp[0])
		return true;
	if (strcmp(e->address, xapi_host(m->x) ? xapi_host(m->x) : "") == 0) {
		const char *seen = xapi_seen_fingerprint(m->x);
		if (seen && fingerprint_normalise(seen, e->fp))
			return true;
		return true; /* the pool's URL trusted by a CA or --insecure: the same rules, by curl's defaults */
	}
	if (e->fp_asked)
		return true; /* asked and failed: curl's own verification decides */
	e->fp_asked = true;
	q = xcalloc(1, sizeof(*q));
	q->m = m;
	q->e = e;
	q->next = m->certs;
	m->certs = q;
	m->inflight++;
	{
		struct xv *params = xv_array();
		xv_array_push(params, xv_string(e->host_ref));
		xapi_call(m->x, "host.get_server_certificate", params, on_cert, q);
	}
	return false;
}

/* "&vm_uuid=..." for a fetch of level l's history when only some VMs want it (those on
 * screen): a big host's whole 10 minutes is 150 MB. NULL: every VM is asked for. */
static char *history_only(struct metrics *m, int l, bool long_span)
{
	struct buf keys, q;
	size_t n = 0;

	if (!long_span || (m->all && m->all_span != METRICS_NOW && span_level(m->all_span) >= l))
		return NULL;
	buf_init(&keys);
	buf_init(&q);
	hmap_each(&m->wants, collect_key, &keys);
	for (size_t i = 0; i < keys.len / sizeof(char *); i++) {
		const char *k = ((const char **)(void *)keys.data)[i];
		const struct want *w = hmap_get(&m->wants, k);
		if (w->span == METRICS_NOW || span_level(w->span) < l || !cache_by_uuid(m->c, "VM", k, NULL))
			continue;
		buf_puts(&q, "&vm_uuid=");
		/* uuids from the cache: escaped all the same, a URL is no place for surprises */
		for (const char *c = k; *c; c++)
			if ((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '-')
				buf_putc(&q, *c);
		n++;
	}
	buf_free(&keys);
	if (n == 0 || n > 256) {
		/* none: hosts only would still send every VM's latest; too many: the URL would be huge */
		buf_free(&q);
		return NULL;
	}
	return buf_steal(&q);
}

/* history: the archive's rows are kept (not the latest value only). */
static void start_fetch(struct metrics *m, struct endpoint *e, int l, bool history, long long now)
{
	struct xfer *t = &e->x[l];
	const struct level *lv = &levels[l];
	const char *sid = xapi_session(m->x);
	bool tls = false;
	char *base;
	long long start;

	if (t->easy || !sid || !*sid)
		return;
	if (!(base = base_url(m, e->address, &tls))) {
		set_error(m, xstrdup("performance data needs a pool reached over HTTPS or HTTP"));
		return;
	}
	if (!endpoint_trust(m, e, tls)) {
		free(base);
		return;
	}
	if (!e->backfill[l] && e->last_t[l])
		start = e->last_t[l]; /* what is new since the last row */
	else if (history)
		start = now - (long long)lv->step * lv->rows;
	else
		start = now - 2 * lv->step; /* a value only: two rows are plenty */
	e->backfill[l] = false;
	e->fetched[l] = now / lv->step;
	t->e = e;
	t->level = l;
	t->too_big = false;
	t->errbuf[0] = '\0';
	t->got = 0;
	xfer_drop_parse(t);
	if (!t->pc) {
		t->pc = xcalloc(1, sizeof(*t->pc));
		t->pc->m = m;
		t->pc->lg = rrd_legend_new();
	}
	if (t->pc->gen != m->gen || t->pc->drops != m->drops)
		rrd_legend_forget(t->pc->lg); /* the map was made for other wants or objects: read the legend whole */
	t->pc->gen = m->gen;
	t->pc->drops = m->drops;
	t->pc->level = l;
	t->pc->newest = 0;
	t->pc->stored = 0;
	t->pc->stale = false;
	t->parser = rrd_parser_new_legend(t->pc->lg, on_column, on_row, t->pc);
	{
		char *only = history_only(m, l, start < now - 2 * lv->step);
		t->url = xasprintf("%s/rrd_updates?host=true&cf=AVERAGE&interval=%d&start=%lld%s&session_id=%s", base,
				   lv->step, start, only ? only : "", sid);
		free(only);
	}
	free(base);
	t->easy = curl_easy_init();
	net_transfer_defaults(t->easy, t->errbuf, 30);
	curl_easy_setopt(t->easy, CURLOPT_URL, t->url);
	curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(t->easy, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(t->easy, CURLOPT_BUFFERSIZE, 256L * 1024); /* replies of megabytes: fewer, larger reads */
	if (e->fp[0])
		net_pin_certificate(t->easy, e->fp);
	m->inflight++;
	log_msg("metrics: fetching /rrd_updates from %s (interval %d, start %lld)", e->address, lv->step, start);
	net_start(m->net, t->easy, on_fetched, t);
}

static struct endpoint *endpoint_for(struct metrics *m, const char *host_ref, const struct xv *host)
{
	const char *addr = rec_str(host, "address");
	struct endpoint *e;

	if (!*addr)
		return NULL;
	e = hmap_get(&m->endpoints, addr);
	if (!e) {
		e = xcalloc(1, sizeof(*e));
		e->m = m;
		e->address = xstrdup(addr);
		e->host_ref = xstrdup(host_ref);
		for (int l = 0; l < NLEVELS; l++)
			e->backfill[l] = true;
		hmap_put(&m->endpoints, e->address, e);
	}
	return e;
}

/* The longest span each endpoint is needed for, by walking the wants. */
struct need_ctx {
	struct metrics *m;
	struct hmap need; /* address -> (span + 1) as a pointer-sized int; absent: not needed */
};

static void need(struct need_ctx *n, struct endpoint *e, enum metrics_span span)
{
	intptr_t cur = (intptr_t)hmap_get(&n->need, e->address);

	if ((intptr_t)span + 1 > cur)
		hmap_put(&n->need, e->address, (void *)((intptr_t)span + 1));
}

static bool need_host(const char *ref, const struct xv *h, void *ud)
{
	struct need_ctx *n = ud;
	struct endpoint *e = endpoint_for(n->m, ref, h);

	if (e)
		need(n, e, n->m->all_span);
	return true;
}

static bool need_want(const char *key, void *value, void *ud)
{
	struct need_ctx *n = ud;
	struct want *w = value;
	const char *ref = NULL, *host_ref;
	const struct xv *rec = cache_by_uuid(n->m->c, "host", key, &ref);
	struct endpoint *e;

	if (rec) {
		host_ref = ref;
	} else if ((rec = cache_by_uuid(n->m->c, "VM", key, &ref))) {
		host_ref = rec_str(rec, "resident_on");
		rec = cache_get(n->m->c, host_ref);
	}
	if (!rec)
		return true;
	e = endpoint_for(n->m, host_ref, rec);
	if (e)
		need(n, e, w->span);
	return true;
}

struct start_ctx {
	struct metrics *m;
	const struct need_ctx *n;
	long long now;
	bool force;
};

static bool start_endpoint(const char *key, void *value, void *ud)
{
	struct start_ctx *s = ud;
	struct endpoint *e = value;
	intptr_t span = (intptr_t)hmap_get(&s->n->need, key) - 1;
	int deepest = span < 0 ? -1 : span_level((enum metrics_span)span);

	for (int l = 0; l <= deepest && l < NLEVELS; l++) {
		const struct level *lv = &levels[l];
		/* once per step, and only once a newer row can exist */
		if (e->fetched[l] >= s->now / lv->step && !e->backfill[l])
			continue;
		if (!e->backfill[l] && e->last_t[l] && s->now < e->last_t[l] + lv->step)
			continue;
		start_fetch(s->m, e, l, span != METRICS_NOW, s->now);
	}
	return true;
}

/* Starts every fetch that is due; true when something is wanted at all. */
static bool fetch_due(struct metrics *m)
{
	struct need_ctx n = {.m = m};
	struct start_ctx s = {.m = m, .n = &n, .now = wall_now()};
	bool any;

	expire(m);
	any = m->all || m->wants.n > 0;
	/* early: the host class arrives whole in one reply, so any host means all of them */
	if (!any || !(cache_loaded(m->c) || (m->early && cache_count(m->c, "host") > 0))
	    || xapi_state(m->x) != XAPI_READY)
		return any;
	hmap_init(&n.need);
	if (m->all)
		cache_each(m->c, "host", need_host, &n);
	hmap_each(&m->wants, need_want, &n);
	hmap_each(&m->endpoints, start_endpoint, &s);
	hmap_free(&n.need);
	return true;
}

static void on_timer(struct loop *l, void *ud)
{
	struct metrics *m = ud;
	struct timespec ts;
	int64_t wall_ms, next;

	(void)l;
	m->timer = NULL;
	if (!fetch_due(m))
		return; /* nothing wanted: no timer until someone asks */
	/* the next 5 s boundary, a little after rrdd has written the row */
	clock_gettime(CLOCK_REALTIME, &ts);
	wall_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	next = (wall_ms / 5000 + 1) * 5000 + 300 - wall_ms;
	schedule(m, next);
}

static void schedule(struct metrics *m, int64_t delay_ms)
{
	int64_t at = loop_now() + delay_ms;

	if (m->timer && m->timer_at <= at)
		return;
	if (m->timer)
		loop_timer_cancel(m->loop, m->timer);
	m->timer_at = at;
	m->timer = loop_timer(m->loop, delay_ms, on_timer, m);
}

static void on_kick(struct loop *l, void *ud)
{
	struct metrics *m = ud;

	(void)l;
	m->kick = NULL;
	if (m->inflight == 0 && m->nwaiters)
		call_waiters(m);
}

void metrics_refresh(struct metrics *m, void (*done)(struct metrics *m, void *ud), void *ud)
{
	m->waiters = xrealloc(m->waiters, (m->nwaiters + 1) * sizeof(*m->waiters));
	m->waiters[m->nwaiters].fn = done;
	m->waiters[m->nwaiters].ud = ud;
	m->nwaiters++;
	fetch_due(m);
	if (!m->timer)
		schedule(m, 0); /* keeps fetching while the want lasts */
	if (m->inflight == 0 && !m->kick)
		m->kick = loop_timer(m->loop, 0, on_kick, m); /* answered from the loop, as if fetched */
}

/* ---- life ----------------------------------------------------------------------------- */

struct metrics *metrics_new(struct loop *l, struct xapi *x, struct cache *c)
{
	struct metrics *m = xcalloc(1, sizeof(*m));

	m->loop = l;
	m->net = net_new(l);
	m->x = x;
	m->c = c;
	hmap_init(&m->objects);
	hmap_init(&m->wants);
	hmap_init(&m->endpoints);
	return m;
}

void metrics_set_early(struct metrics *m, bool on)
{
	m->early = on;
}

static bool free_object(const char *key, void *value, void *ud)
{
	(void)key;
	(void)ud;
	object_free(value);
	return true;
}

static bool free_want(const char *key, void *value, void *ud)
{
	struct want *w = value;

	(void)key;
	(void)ud;
	free(w->uuid);
	free(w);
	return true;
}

static bool free_endpoint(const char *key, void *value, void *ud)
{
	struct endpoint *e = value;
	struct metrics *m = ud;

	(void)key;
	for (int l = 0; l < NLEVELS; l++) {
		if (e->x[l].easy) {
			net_cancel(m->net, e->x[l].easy);
			curl_easy_cleanup(e->x[l].easy);
		}
		xfer_free_map(&e->x[l]);
		free(e->x[l].url);
	}
	free(e->address);
	free(e->host_ref);
	free(e);
	return true;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	if (m->timer)
		loop_timer_cancel(m->loop, m->timer);
	if (m->kick)
		loop_timer_cancel(m->loop, m->kick);
	for (struct cert_req *q = m->certs; q; q = q->next)
		q->m = NULL; /* answered later by the connection, to nobody */
	hmap_each(&m->endpoints, free_endpoint, m);
	hmap_each(&m->objects, free_object, NULL);
	hmap_each(&m->wants, free_want, NULL);
	hmap_free(&m->endpoints);
	hmap_free(&m->objects);
	hmap_free(&m->wants);
	free(m->waiters);
	free(m->err);
	metrics_only(m, NULL, 0);
	net_free(m->net);
	free(m);
}

void metrics_only(struct metrics *m, const char *const *names, size_t n)
{
	m->gen++;
	for (size_t i = 0; i < m->nonly; i++)
		free(m->only[i]);
	free(m->only);
	m->only = NULL;
	m->nonly = 0;
	if (!n)
		return;
	m->only = xcalloc(n, sizeof(*m->only));
	for (size_t i = 0; i < n; i++)
		m->only[i] = xstrdup(names[i]);
	m->nonly = n;
}
