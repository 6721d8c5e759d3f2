/* /rrd_updates' xport document through libxml2's SAX push parser (no DOM,
 * no whole reply in memory): fed chunk by chunk from libcurl's write callback,
 * the legend's columns and each row go out as they are read. */
#include "rrdparse.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "util.h"

/* A sane ceiling on columns: the largest host has a few thousand. */
#define RRD_MAX_COLUMNS (1u << 20)
/* The longest text one field may hold: a legend entry is under 200 bytes. */
#define RRD_MAX_TEXT 65536

/* A kept legend's pieces: cut at the first </entry> this far from the piece's start
 * (small enough that a VM started redoes little, large enough to be few). */
#ifndef RRD_PIECE
#define RRD_PIECE 65536
#endif
/* Where <legend> must have begun, and the longest piece: past these the reply is read whole. */
#define RRD_HEAD_MAX 4096
#define RRD_PIECE_MAX (RRD_PIECE + RRD_MAX_TEXT + 1024)

enum field { F_NONE, F_META, F_T, F_V, F_SKIP };

struct piece {
	uint64_t hash; /* XXH3 of its bytes */
	size_t cols;   /* its </entry>s */
};

struct rrd_legend {
	struct piece *pc;
	size_t n;
};

/* Where a parser with a kept legend is in the reply: before <legend> (held until it is
 * seen), in it (each piece held until cut), past it (or reading everything: LG_PASS). */
enum lstate { LG_HEAD, LG_IN, LG_PASS };

struct rrd_parser {
	xmlParserCtxtPtr ctxt;
	struct rrd_meta meta;
	rrd_column_fn col;
	rrd_row_fn row;
	void *ud;
	size_t ncols;
	bool known; /* the columns were given: no legend is read */
	int depth;
	bool seen_root, in_data, in_row;
	int row_depth;
	enum field field; /* the leaf whose text is being gathered */
	int field_depth;
	char meta_name[8];
	struct buf text;
	long long t;
	double *vals;
	size_t nvals, cap;
	size_t fed;
	char *err;
	bool in_legend;
	int legend_depth;
	/* a kept legend (NULL: none); its last pieces are compared, this reply's gathered */
	struct rrd_legend *lg;
	struct piece *old, *np;
	size_t nold, nnp, capnp;
	enum lstate lstate;
	struct buf hold; /* bytes not given to libxml2 yet: the head, then the piece being cut */
	size_t ps, sp, pe; /* in hold: the piece's start, where to look on, its </entry>s so far */
	size_t skipped;    /* the columns of the pieces skipped */
	bool feeding;      /* a piece differed: the rest of the legend goes to libxml2 */
	bool odd;          /* the legend is not plain entries: read whole, not kept */
};

static void fail(struct rrd_parser *p, const char *fmt, const char *what)
{
	if (p->err)
		return;
	p->err = xasprintf(fmt, what);
	if (p->ctxt)
		xmlStopParser(p->ctxt);
}

/* strtod's answer for the plain decimals rrdd writes ("0.0270541852369", "8589934592.0"),
 * without its arbitrary-precision path (a reply has tens of thousands): at most 2^53 as
 * digits and a power of ten up to 10^22 are exact doubles, and one IEEE division of exact
 * operands is correctly rounded, as strtod is (Clinger's fast path). NULL for anything else
 * (exponents, hex, NaN, more digits), which strtod reads. */
static const char *plain_decimal(const char *t, double *out)
{
#if FLT_EVAL_METHOD == 0
	static const double p10[] = {1e0,  1e1,	 1e2,  1e3,  1e4,  1e5,	 1e6,  1e7,  1e8,  1e9,	 1e10, 1e11,
				     1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
	const char *s = t;
	uint64_t m = 0;
	size_t frac = 0, digits = 0;
	bool neg = *s == '-', dot = false;

	if (*s == '-' || *s == '+')
		s++;
	for (;; s++) {
		if (*s >= '0' && *s <= '9') {
			if (m >= (UINT64_C(1) << 53) / 10)
				return NULL;
			m = m * 10 + (uint64_t)(*s - '0');
			digits++;
			frac += dot;
		} else if (*s == '.' && !dot) {
			dot = true;
		} else {
			break;
		}
	}
	/* the token must end here: "0x1A", "1e5" and the like are strtod's to read */
	if (!digits || frac >= ARRAY_LEN(p10) || (*s && *s != ' ' && *s != '\n' && *s != '\t' && *s != '\r'))
		return NULL;
	*out = (double)m / p10[frac];
	if (neg)
		*out = -*out;
	return s;
#else
	(void)t, (void)out;
	return NULL; /* excess precision would round twice */
#endif
}

/* rrdd writes NaN, Infinity and -Infinity as such (and "nan" in older versions). */
static bool parse_double(const char *t, double *out)
{
	char *end;
	const char *fast;

	while (*t == ' ' || *t == '\n' || *t == '\t' || *t == '\r')
		t++;
	if ((fast = plain_decimal(t, out)))
		end = (char *)fast;
	else
		*out = strtod(t, &end);
	if (end == t)
		return false;
	while (*end == ' ' || *end == '\n' || *end == '\t' || *end == '\r')
		end++;
	return *end == '\0';
}

static bool parse_ll(const char *t, long long *out)
{
	double d;

	if (!parse_double(t, &d) || !isfinite(d) || d < -9e15 || d > 9e15)
		return false;
	*out = (long long)d;
	return true;
}

static void legend_entry(struct rrd_parser *p, char *e)
{
	/* cf:owner:uuid:name, where the name may itself hold colons: split in place */
	char *p1 = strchr(e, ':'), *p2 = p1 ? strchr(p1 + 1, ':') : NULL, *p3 = p2 ? strchr(p2 + 1, ':') : NULL;

	if (p->ncols >= RRD_MAX_COLUMNS) {
		fail(p, "the performance data has more columns than xentui takes%s", "");
		return;
	}
	if (!p3) {
		/* a column we cannot name is still a column: rows stay aligned */
		if (p->col)
			p->col(p->ncols, "", "", "", e, p->ud);
		p->ncols++;
		return;
	}
	*p1 = *p2 = *p3 = '\0';
	if (p->col)
		p->col(p->ncols, e, p1 + 1, p2 + 1, p3 + 1, p->ud);
	p->ncols++;
}

static void push_value(struct rrd_parser *p, double v)
{
	if (p->nvals == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		p->vals = xrealloc(p->vals, p->cap * sizeof(*p->vals));
	}
	p->vals[p->nvals++] = v;
}

static void meta_field(struct rrd_parser *p, const char *name, char *txt)
{
	long long v = 0;

	if (strcmp(name, "entry") == 0) {
		if (!p->known)
			legend_entry(p, txt);
		return;
	}
	if (!parse_ll(txt, &v))
		fail(p, "the performance data's <%s> is not a number", name);
	else if (strcmp(name, "start") == 0)
		p->meta.start = v;
	else if (strcmp(name, "end") == 0)
		p->meta.end = v;
	else if (strcmp(name, "step") == 0)
		p->meta.step = v > 0 && v < INT_MAX ? (int)v : 0;
	else if (strcmp(name, "rows") == 0)
		p->meta.rows = v > 0 ? (size_t)v : 0;
	else
		p->meta.columns = v > 0 ? (size_t)v : 0;
}

static bool is_meta(const char *n)
{
	return strcmp(n, "entry") == 0 || strcmp(n, "start") == 0 || strcmp(n, "end") == 0 || strcmp(n, "step") == 0
	       || strcmp(n, "rows") == 0 || strcmp(n, "columns") == 0;
}

static void begin_field(struct rrd_parser *p, enum field f)
{
	p->field = f;
	p->field_depth = p->depth;
	buf_reset(&p->text);
}

static void on_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri, int nns,
		     const xmlChar **ns, int nattr, int ndef, const xmlChar **attrs)
{
	struct rrd_parser *p = ctx;
	const char *name = (const char *)localname;

	(void)prefix, (void)uri, (void)nns, (void)ns, (void)nattr, (void)ndef, (void)attrs;
	if (p->err)
		return;
	p->depth++;
	if (p->field == F_SKIP)
		return;
	if (p->field != F_NONE) {
		fail(p, p->field == F_V ? "a value of the performance data is not a number in a <v>%s"
					: "the performance data has an element inside a field where a value was expected%s",
		     "");
		return;
	}
	if (!p->seen_root) {
		p->seen_root = true;
		if (strcmp(name, "xport") != 0)
			fail(p, "the performance data is a <%.40s> document, not an xport", name);
		return;
	}
	if (p->in_row) {
		if (strcmp(name, "t") == 0)
			begin_field(p, F_T);
		else if (strcmp(name, "v") == 0)
			begin_field(p, F_V);
		else
			begin_field(p, F_SKIP);
	} else if (p->in_data) {
		if (strcmp(name, "row") == 0) {
			p->in_row = true;
			p->row_depth = p->depth;
			p->nvals = 0;
			p->t = LLONG_MIN;
		}
	} else if (strcmp(name, "data") == 0) {
		p->in_data = true;
	} else if (strcmp(name, "legend") == 0 && !p->in_legend) {
		p->in_legend = true;
		p->legend_depth = p->depth;
	} else if (is_meta(name)) {
		snprintf(p->meta_name, sizeof(p->meta_name), "%s", name);
		begin_field(p, F_META);
	}
}

static void end_row(struct rrd_parser *p)
{
	p->in_row = false;
	if (p->t == LLONG_MIN) {
		fail(p, "a row of the performance data has no time%s", "");
		return;
	}
	/* short rows are padded: a value missing is a value unknown */
	while (p->nvals < p->ncols)
		push_value(p, NAN);
	if (p->row)
		p->row(p->t, p->vals, p->ncols, p->ud);
}

static void end_field(struct rrd_parser *p)
{
	enum field f = p->field;
	char *txt;

	p->field = F_NONE;
	buf_puts(&p->text, ""); /* NUL-terminated even when empty */
	txt = p->text.data;
	if (f == F_META) {
		meta_field(p, p->meta_name, txt);
	} else if (f == F_T) {
		if (!parse_ll(txt, &p->t))
			fail(p, "a row's time in the performance data is not a number: \"%.40s\"", txt);
	} else if (f == F_V && p->nvals < p->ncols) {
		double v;
		/* <v/> (no number: parse_double says so) is unknown; rrdd never writes a bad number,
		 * but one bad cell is not a bad reply */
		push_value(p, parse_double(txt, &v) ? v : NAN);
	}
}

static void on_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
	struct rrd_parser *p = ctx;

	(void)localname, (void)prefix, (void)uri;
	if (p->err)
		return;
	if (p->field != F_NONE && p->depth == p->field_depth)
		end_field(p);
	else if (p->in_row && p->depth == p->row_depth)
		end_row(p);
	else if (p->in_data && p->field == F_NONE && !p->in_row && strcmp((const char *)localname, "data") == 0)
		p->in_data = false;
	else if (p->in_legend && p->field == F_NONE && p->depth == p->legend_depth)
		p->in_legend = false;
	p->depth--;
}

static void on_text(void *ctx, const xmlChar *s, int len)
{
	struct rrd_parser *p = ctx;

	if (p->err || p->field == F_NONE || p->field == F_SKIP || len <= 0)
		return;
	if (p->text.len + (size_t)len > RRD_MAX_TEXT) {
		fail(p, "a field of the performance data is longer than xentui takes%s", "");
		return;
	}
	buf_append(&p->text, s, (size_t)len);
}

static void on_doctype(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
	(void)name, (void)ext, (void)sys;
	/* rrdd writes none; entity declarations are a way to blow up memory */
	fail(ctx, "the performance data has a document type declaration%s", "");
}

static void on_xml_error(void *ctx, const xmlError *e)
{
	struct rrd_parser *p = ctx;
	size_t n;

	if (p->err || !e || e->level < XML_ERR_ERROR)
		return;
	n = e->message ? strcspn(e->message, "\n") : 0;
	p->err = xasprintf("the performance data is not well-formed XML: %.*s", (int)(n > 200 ? 200 : n),
			   e->message ? e->message : "");
}

/* libxml2 2.12 made the structured handler's error const. */
#if LIBXML_VERSION >= 21200
static void on_xml_error_cb(void *ctx, const xmlError *e)
#else
static void on_xml_error_cb(void *ctx, xmlErrorPtr e)
#endif
{
	on_xml_error(ctx, e);
}

struct rrd_parser *rrd_parser_new(size_t ncols, rrd_column_fn col, rrd_row_fn row, void *ud)
{
	struct rrd_parser *p = xcalloc(1, sizeof(*p));
	xmlSAXHandler sax;

	p->col = col;
	p->row = row;
	p->ud = ud;
	p->ncols = ncols;
	p->known = ncols > 0;
	buf_init(&p->text);
	if (ncols > RRD_MAX_COLUMNS) {
		fail(p, "the performance data has more columns than xentui takes%s", "");
		return p;
	}
	memset(&sax, 0, sizeof(sax));
	sax.initialized = XML_SAX2_MAGIC;
	sax.startElementNs = on_start;
	sax.endElementNs = on_end;
	sax.characters = on_text;
	sax.cdataBlock = on_text;
	sax.internalSubset = on_doctype;
	sax.serror = on_xml_error_cb;
	p->ctxt = xmlCreatePushParserCtxt(&sax, p, NULL, 0, NULL);
	if (!p->ctxt) {
		fail(p, "the performance data could not be read%s", "");
		return p;
	}
	/* rrdd writes UTF-8: a declared encoding is not followed (libxml2's switch to an
	 * unknown one depended on where the network cut the reply) */
	xmlCtxtUseOptions(p->ctxt, XML_PARSE_NONET | XML_PARSE_IGNORE_ENC);
	return p;
}

static void quiet(void *ctx, const char *fmt, ...)
{
	(void)ctx, (void)fmt;
}

static void chunk(struct rrd_parser *p, const char *data, size_t len, bool end)
{
	/* some libxml2 errors (encodings) skip serror and print to stderr, which
	 * is the screen: nothing of a host's bad data may reach it */
	xmlSetGenericErrorFunc(NULL, quiet);
	/* libxml2 takes an int: a large chunk goes in pieces */
	do {
		int n = len > (1u << 30) ? 1 << 30 : (int)len;
		if (p->err)
			return;
		if (xmlParseChunk(p->ctxt, data, n, end && (size_t)n == len) != 0 && !p->err)
			p->err = xstrdup("the performance data is not well-formed XML");
		data += n;
		len -= (size_t)n;
	} while (len);
}

/* ---- a legend kept between replies ----------------------------------------------- */

struct rrd_legend *rrd_legend_new(void)
{
	return xcalloc(1, sizeof(struct rrd_legend));
}

void rrd_legend_forget(struct rrd_legend *lg)
{
	free(lg->pc);
	lg->pc = NULL;
	lg->n = 0;
}

void rrd_legend_free(struct rrd_legend *lg)
{
	if (!lg)
		return;
	rrd_legend_forget(lg);
	free(lg);
}

struct rrd_parser *rrd_parser_new_legend(struct rrd_legend *lg, rrd_column_fn col, rrd_row_fn row, void *ud)
{
	struct rrd_parser *p = rrd_parser_new(0, col, row, ud);

	/* taken: the caller's column map changes as this reply is read, so it is kept again only once read whole */
	p->lg = lg;
	p->old = lg->pc;
	p->nold = lg->n;
	lg->pc = NULL;
	lg->n = 0;
	p->lstate = LG_HEAD;
	buf_init(&p->hold);
	return p;
}

size_t rrd_parser_skipped(const struct rrd_parser *p)
{
	return p->skipped;
}

/* The rest, from hold's byte from on, goes to libxml2 as it comes: the legend is not kept. */
static void pass(struct rrd_parser *p, size_t from)
{
	p->odd = true;
	if (p->lstate == LG_IN && !p->feeding) {
		p->feeding = true;
		p->ncols = p->skipped; /* the columns go on from the pieces skipped */
	}
	p->lstate = LG_PASS;
	if (p->hold.len > from)
		chunk(p, p->hold.data + from, p->hold.len - from, false);
	buf_free(&p->hold);
	p->ps = p->sp = 0;
}

/* Feeds the head up to its <legend> and goes on in the legend; false until then. */
static bool legend_head(struct rrd_parser *p)
{
	static const char tag[] = "<legend>";
	const char *a = memmem(p->hold.data, p->hold.len, tag, sizeof(tag) - 1);
	size_t at;

	if (!a) {
		if (p->hold.len > RRD_HEAD_MAX)
			pass(p, 0);
		return false;
	}
	at = (size_t)(a - p->hold.data) + sizeof(tag) - 1;
	chunk(p, p->hold.data, at, false);
	if (p->err)
		return false;
	/* only where libxml2 itself is inside the legend (not in a comment, not in <data>), and
	 * no entry stood before it (rrdd writes none there; the pieces count from column 0) */
	if (!p->in_legend || p->depth != p->legend_depth || p->field != F_NONE || p->ncols) {
		pass(p, at);
		return false;
	}
	p->lstate = LG_IN;
	p->ps = p->sp = at;
	p->pe = 0;
	return true;
}

/* hold's [ps, end) is a piece: skipped when the last reply had the same one here, else fed. */
static void piece(struct rrd_parser *p, size_t end)
{
	const char *d = p->hold.data + p->ps;
	size_t n = end - p->ps, k = p->nnp;
	struct piece pc = {XXH3_64bits(d, n), p->pe};

	if (p->nnp == p->capnp) {
		p->capnp = p->capnp ? 2 * p->capnp : 64;
		p->np = xrealloc(p->np, p->capnp * sizeof(*p->np));
	}
	p->np[p->nnp++] = pc;
	p->ps = end;
	p->pe = 0;
	if (!p->feeding && k < p->nold && p->old[k].hash == pc.hash && p->old[k].cols == pc.cols) {
		p->skipped += pc.cols;
		return;
	}
	if (!p->feeding) {
		p->feeding = true;
		p->ncols = p->skipped;
	}
	chunk(p, d, n, false);
}

/* Cuts the held legend into pieces, up to its end or to what is still to come. A legend
 * is kept only when it is <entry>text</entry> and nothing else: what a skipped piece
 * held is then columns alone, never a row or a meta field. */
static void legend_scan(struct rrd_parser *p)
{
	static const char entry_start[] = "<entry>", entry_end[] = "</entry>", legend_end[] = "</legend>";

	while (!p->err) {
		const char *d = p->hold.data;
		size_t len = p->hold.len, i;
		const char *lt = p->sp < len ? memchr(d + p->sp, '<', len - p->sp) : NULL;

		if (!lt) {
			p->sp = len;
			break;
		}
		i = (size_t)(lt - d);
		if (len - i < sizeof(legend_end) - 1) {
			p->sp = i; /* a tag cut by the network: the next bytes say which */
			break;
		}
		if (memcmp(lt, entry_end, sizeof(entry_end) - 1) == 0) {
			p->pe++;
			p->sp = i + sizeof(entry_end) - 1;
			if (p->sp - p->ps >= RRD_PIECE)
				piece(p, p->sp);
		} else if (memcmp(lt, legend_end, sizeof(legend_end) - 1) == 0) {
			if (i > p->ps)
				piece(p, i);
			if (!p->feeding)
				p->ncols = p->skipped;
			p->lstate = LG_PASS;
			chunk(p, d + i, len - i, false);
			buf_free(&p->hold);
			p->ps = p->sp = 0;
			return;
		} else if (memcmp(lt, entry_start, sizeof(entry_start) - 1) == 0) {
			p->sp = i + sizeof(entry_start) - 1;
		} else {
			/* anything but entries (a comment, CDATA, another element): libxml2 reads it all */
			pass(p, p->ps);
			return;
		}
	}
	if (!p->err && p->sp - p->ps > RRD_PIECE_MAX)
		pass(p, p->ps);
}

static void legend_feed(struct rrd_parser *p, const char *data, size_t len)
{
	buf_append(&p->hold, data, len);
	if (p->lstate == LG_HEAD && !legend_head(p))
		return;
	legend_scan(p);
	if (p->lstate == LG_IN && p->ps) {
		/* the pieces done leave the buffer; the one being cut moves to its front */
		memmove(p->hold.data, p->hold.data + p->ps, p->hold.len - p->ps);
		p->hold.len -= p->ps;
		p->sp -= p->ps;
		p->ps = 0;
	}
}

/* After a good reply: its pieces are kept, if its legend was plain entries, all counted. */
static void keep_legend(struct rrd_parser *p)
{
	size_t cols = 0;

	for (size_t i = 0; i < p->nnp; i++)
		cols += p->np[i].cols;
	if (p->lstate != LG_PASS || p->odd || cols != p->ncols)
		return;
	p->lg->pc = p->np;
	p->lg->n = p->nnp;
	p->np = NULL;
	p->nnp = p->capnp = 0;
}

bool rrd_parser_feed(struct rrd_parser *p, const char *data, size_t len)
{
	if (!p->err && len) {
		p->fed += len;
		if (p->lg && p->lstate != LG_PASS)
			legend_feed(p, data, len);
		else
			chunk(p, data, len, false);
	}
	return !p->err;
}

bool rrd_parser_finish(struct rrd_parser *p, struct rrd_meta *meta, char **err)
{
	memset(meta, 0, sizeof(*meta));
	if (!p->err && !p->fed)
		p->err = xstrdup("the performance data is empty");
	if (!p->err && p->lg && p->lstate != LG_PASS)
		pass(p, p->lstate == LG_IN ? p->ps : 0); /* it ended before its legend did: libxml2 says how */
	if (!p->err)
		chunk(p, "", 0, true);
	if (!p->err && !p->seen_root)
		p->err = xstrdup("the performance data is empty");
	if (p->err) {
		*err = p->err;
		p->err = NULL;
		return false;
	}
	*meta = p->meta;
	if (!meta->columns)
		meta->columns = p->ncols;
	if (p->lg)
		keep_legend(p);
	return true;
}

const char *rrd_parser_error(const struct rrd_parser *p)
{
	return p->err ? p->err : "no error";
}

void rrd_parser_free(struct rrd_parser *p)
{
	if (!p)
		return;
	if (p->ctxt) {
		if (p->ctxt->myDoc)
			xmlFreeDoc(p->ctxt->myDoc);
		xmlFreeParserCtxt(p->ctxt);
	}
	buf_free(&p->text);
	buf_free(&p->hold);
	free(p->old);
	free(p->np);
	free(p->vals);
	free(p->err);
	free(p);
}

static bool parse(const char *data, size_t len, size_t known, struct rrd_meta *meta, rrd_column_fn col, rrd_row_fn row,
		  void *ud, char **err)
{
	struct rrd_parser *p = rrd_parser_new(known, col, row, ud);
	bool ok;

	rrd_parser_feed(p, data, len);
	ok = rrd_parser_finish(p, meta, err);
	rrd_parser_free(p);
	return ok;
}

bool rrd_parse(const char *data, size_t len, struct rrd_meta *meta, rrd_column_fn col, rrd_row_fn row, void *ud,
	       char **err)
{
	return parse(data, len, 0, meta, col, row, ud, err);
}

bool rrd_parse_rows(const char *data, size_t len, size_t ncols, struct rrd_meta *meta, rrd_row_fn row, void *ud,
		    char **err)
{
	if (ncols > RRD_MAX_COLUMNS) {
		memset(meta, 0, sizeof(*meta));
		*err = xstrdup("the performance data has more columns than xentui takes");
		return false;
	}
	return parse(data, len, ncols, meta, NULL, row, ud, err);
}

bool rrd_legend_span(const char *data, size_t len, size_t *from, size_t *to)
{
	static const char open[] = "<legend>", close[] = "</legend>";
	const char *a = memmem(data, len, open, sizeof(open) - 1), *b;

	if (!a)
		return false;
	b = memmem(a, len - (size_t)(a - data), close, sizeof(close) - 1);
	if (!b)
		return false;
	*from = (size_t)(a - data);
	*to = (size_t)(b - data) + sizeof(close) - 1;
	return true;
}
