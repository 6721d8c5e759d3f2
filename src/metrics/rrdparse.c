/* /rrd_updates' xport document through xmlTextReader (no DOM): the reply
 * of a host with 100 VMs is thousands of columns, read once, kept nowhere. */
#include "rrdparse.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/xmlreader.h>

#include "util.h"

/* A sane ceiling on columns: the largest host has a few thousand. */
#define RRD_MAX_COLUMNS (1u << 20)

struct state {
	xmlTextReaderPtr r;
	struct rrd_meta *meta;
	rrd_column_fn col;
	rrd_row_fn row;
	void *ud;
	size_t ncols;
	double *vals;
	size_t nvals, cap;
	char *err;
};

static void fail(struct state *s, const char *fmt, const char *what)
{
	if (!s->err)
		s->err = xasprintf(fmt, what);
}

/* The text of the current element (empty for <x/>), to free. */
static char *element_text(struct state *s)
{
	struct buf b;
	int depth = xmlTextReaderDepth(s->r);

	buf_init(&b);
	buf_puts(&b, "");
	if (xmlTextReaderIsEmptyElement(s->r))
		return buf_steal(&b);
	while (xmlTextReaderRead(s->r) == 1) {
		int type = xmlTextReaderNodeType(s->r);
		if (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA
		    || type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE || type == XML_READER_TYPE_WHITESPACE) {
			const xmlChar *v = xmlTextReaderConstValue(s->r);
			if (v)
				buf_puts(&b, (const char *)v);
		} else if (type == XML_READER_TYPE_END_ELEMENT && xmlTextReaderDepth(s->r) == depth) {
			return buf_steal(&b);
		} else if (type == XML_READER_TYPE_ELEMENT) {
			fail(s, "the performance data has an element inside <%s> where a value was expected",
			     (const char *)xmlTextReaderConstName(s->r));
			buf_free(&b);
			return NULL;
		}
	}
	buf_free(&b);
	fail(s, "the performance data ends inside <%s>", "an element");
	return NULL;
}

/* rrdd writes NaN, Infinity and -Infinity as such (and "nan" in older versions). */
static bool parse_double(const char *t, double *out)
{
	char *end;

	while (*t == ' ' || *t == '\n' || *t == '\t' || *t == '\r')
		t++;
	errno = 0;
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

static void legend_entry(struct state *s, const char *e)
{
	/* cf:owner:uuid:name, where the name may itself hold colons */
	const char *p1 = strchr(e, ':'), *p2 = p1 ? strchr(p1 + 1, ':') : NULL, *p3 = p2 ? strchr(p2 + 1, ':') : NULL;
	char *cf, *owner, *uuid;

	if (s->ncols >= RRD_MAX_COLUMNS) {
		fail(s, "the performance data has more columns than xentui takes%s", "");
		return;
	}
	if (!p3) {
		/* a column we cannot name is still a column: rows stay aligned */
		if (s->col)
			s->col(s->ncols, "", "", "", e, s->ud);
		s->ncols++;
		return;
	}
	cf = xstrndup(e, (size_t)(p1 - e));
	owner = xstrndup(p1 + 1, (size_t)(p2 - p1 - 1));
	uuid = xstrndup(p2 + 1, (size_t)(p3 - p2 - 1));
	if (s->col)
		s->col(s->ncols, cf, owner, uuid, p3 + 1, s->ud);
	s->ncols++;
	free(cf);
	free(owner);
	free(uuid);
}

static void push_value(struct state *s, double v)
{
	if (s->nvals == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->vals = xrealloc(s->vals, s->cap * sizeof(*s->vals));
	}
	s->vals[s->nvals++] = v;
}

/* Reads one <row>: <t> then <v>s; the row goes out when it ends. */
static void read_row(struct state *s)
{
	int depth = xmlTextReaderDepth(s->r);
	long long t = LLONG_MIN;

	s->nvals = 0;
	if (xmlTextReaderIsEmptyElement(s->r))
		return;
	while (!s->err && xmlTextReaderRead(s->r) == 1) {
		int type = xmlTextReaderNodeType(s->r);
		const char *name = (const char *)xmlTextReaderConstName(s->r);

		if (type == XML_READER_TYPE_END_ELEMENT && xmlTextReaderDepth(s->r) == depth) {
			if (t == LLONG_MIN) {
				fail(s, "a row of the performance data has no time%s", "");
				return;
			}
			/* short rows are padded: a value missing is a value unknown */
			while (s->nvals < s->ncols)
				push_value(s, NAN);
			if (s->row)
				s->row(t, s->vals, s->ncols, s->ud);
			return;
		}
		if (type != XML_READER_TYPE_ELEMENT)
			continue;
		if (strcmp(name, "t") == 0) {
			char *txt = element_text(s);
			if (txt && !parse_ll(txt, &t))
				fail(s, "a row's time in the performance data is not a number: \"%.40s\"", txt);
			free(txt);
		} else if (strcmp(name, "v") == 0) {
			char *txt = element_text(s);
			double v;
			if (txt && !parse_double(txt, &v))
				v = NAN; /* rrdd never writes one, but one bad cell is not a bad reply */
			if (txt && s->nvals < s->ncols)
				push_value(s, v);
			free(txt);
		} else {
			free(element_text(s));
		}
	}
	if (!s->err)
		fail(s, "the performance data ends inside a row%s", "");
}

static void meta_field(struct state *s, const char *name)
{
	char *txt = element_text(s);
	long long v = 0;

	if (!txt)
		return;
	if (strcmp(name, "entry") == 0) {
		legend_entry(s, txt);
	} else if (strcmp(name, "start") == 0 || strcmp(name, "end") == 0 || strcmp(name, "step") == 0
		   || strcmp(name, "rows") == 0 || strcmp(name, "columns") == 0) {
		if (!parse_ll(txt, &v))
			fail(s, "the performance data's <%s> is not a number", name);
		else if (strcmp(name, "start") == 0)
			s->meta->start = v;
		else if (strcmp(name, "end") == 0)
			s->meta->end = v;
		else if (strcmp(name, "step") == 0)
			s->meta->step = v > 0 && v < INT_MAX ? (int)v : 0;
		else if (strcmp(name, "rows") == 0)
			s->meta->rows = v > 0 ? (size_t)v : 0;
		else
			s->meta->columns = v > 0 ? (size_t)v : 0;
	}
	free(txt);
}

static void on_error(void *arg, const char *msg, xmlParserSeverities sev, xmlTextReaderLocatorPtr loc)
{
	struct state *s = arg;

	(void)loc;
	if (sev == XML_PARSER_SEVERITY_ERROR || sev == XML_PARSER_SEVERITY_VALIDITY_ERROR) {
		if (!s->err) {
			size_t n = strcspn(msg, "\n");
			s->err = xasprintf("the performance data is not well-formed XML: %.*s", (int)(n > 200 ? 200 : n), msg);
		}
	}
}

bool rrd_parse(const char *data, size_t len, struct rrd_meta *meta, rrd_column_fn col, rrd_row_fn row, void *ud,
	       char **err)
{
	struct state s = {.meta = meta, .col = col, .row = row, .ud = ud};
	bool in_data = false, seen_root = false;
	int rc;

	memset(meta, 0, sizeof(*meta));
	if (len > INT_MAX) {
		*err = xstrdup("the performance data is too large");
		return false;
	}
	s.r = xmlReaderForMemory(data, (int)len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
	if (!s.r) {
		*err = xstrdup("the performance data could not be read");
		return false;
	}
	xmlTextReaderSetErrorHandler(s.r, on_error, &s);
	while (!s.err && (rc = xmlTextReaderRead(s.r)) == 1) {
		int type = xmlTextReaderNodeType(s.r);
		const char *name = (const char *)xmlTextReaderConstName(s.r);

		if (type == XML_READER_TYPE_END_ELEMENT && strcmp(name, "data") == 0)
			in_data = false;
		if (type != XML_READER_TYPE_ELEMENT)
			continue;
		if (!seen_root) {
			seen_root = true;
			if (strcmp(name, "xport") != 0) {
				fail(&s, "the performance data is a <%.40s> document, not an xport", name);
				break;
			}
			continue;
		}
		if (strcmp(name, "data") == 0)
			in_data = !xmlTextReaderIsEmptyElement(s.r);
		else if (strcmp(name, "row") == 0 && in_data)
			read_row(&s);
		else if (!in_data && (strcmp(name, "entry") == 0 || strcmp(name, "start") == 0 || strcmp(name, "end") == 0
				      || strcmp(name, "step") == 0 || strcmp(name, "rows") == 0
				      || strcmp(name, "columns") == 0))
			meta_field(&s, name);
	}
	if (!s.err && rc < 0)
		s.err = xstrdup("the performance data is not well-formed XML");
	if (!s.err && !seen_root)
		s.err = xstrdup("the performance data is empty");
	xmlFreeTextReader(s.r);
	free(s.vals);
	if (s.err) {
		*err = s.err;
		return false;
	}
	if (!meta->columns)
		meta->columns = s.ncols;
	return true;
}
