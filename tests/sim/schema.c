#include "schema.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

struct cls *schema_classes;
int schema_nclasses;

/* Field lookups by name and field defaults happen for every field of every
 * object made (tens of thousands at --vms 5000), so both are prepared once:
 * an open-addressing table of (class, field name) -> index, and each
 * field's default value, copied on use. */
struct fslot {
	const struct cls *c;
	const char *name;
	int f;
};
static struct fslot *fslots;
static size_t nfslots; /* a power of two */
static struct xv ***defaults; /* [class][field] */

static size_t fslot_hash(const struct cls *c, const char *name)
{
	size_t h = (size_t)c->idx * 0x9E3779B9u;

	while (*name)
		h = (h ^ (unsigned char)*name++) * 16777619u;
	return h & (nfslots - 1);
}

/* Every distinct type string, parsed once at start (never changes after). */
struct interned {
	char *text;
	struct ty *ty;
};
static struct interned *types;
static size_t ntypes, captypes;
static struct ty **anon; /* inner types not reachable through a string */
static size_t nanon, capanon;

static struct ty *ty_new(enum ty_kind k)
{
	struct ty *t = xcalloc(1, sizeof(*t));

	t->kind = k;
	if (nanon == capanon) {
		capanon = capanon ? capanon * 2 : 64;
		anon = xrealloc(anon, capanon * sizeof(*anon));
	}
	anon[nanon++] = t;
	return t;
}

static void skip_spaces(const char **p)
{
	while (**p == ' ')
		(*p)++;
}

static size_t word_len(const char *p)
{
	size_t n = 0;

	while (p[n] && p[n] != ' ' && p[n] != '(' && p[n] != ')')
		n++;
	return n;
}

static bool word_is(const char *p, const char *w)
{
	size_t n = strlen(w);

	return strncmp(p, w, n) == 0 && word_len(p) == n;
}

static const struct ty *parse_type(const char **p);

static const struct ty *parse_primary(const char **p)
{
	static const struct {
		const char *w;
		enum ty_kind k;
	} base[] = {
		{"string", TY_STRING}, {"int", TY_INT}, {"float", TY_FLOAT}, {"bool", TY_BOOL},
		{"datetime", TY_DATETIME}, {"void", TY_VOID},
	};
	struct ty *t;
	size_t n;

	skip_spaces(p);
	if (**p == '(') {
		(*p)++;
		t = ty_new(TY_MAP);
		t->a = parse_type(p);
		skip_spaces(p);
		if (strncmp(*p, "->", 2) == 0)
			*p += 2;
		t->b = parse_type(p);
		skip_spaces(p);
		if (**p == ')')
			(*p)++;
		skip_spaces(p);
		if (word_is(*p, "map"))
			*p += 3;
		return t;
	}
	for (size_t i = 0; i < ARRAY_LEN(base); i++)
		if (word_is(*p, base[i].w)) {
			*p += strlen(base[i].w);
			return ty_new(base[i].k);
		}
	if (word_is(*p, "enum")) {
		*p += 4;
		skip_spaces(p);
		n = word_len(*p);
		t = ty_new(TY_ENUM);
		t->name = xstrndup(*p, n);
		*p += n;
		return t;
	}
	if (word_is(*p, "event")) {
		const char *q = *p + 5;
		skip_spaces(&q);
		if (word_is(q, "batch")) {
			*p = q + 5;
			return ty_new(TY_BATCH);
		}
	}
	n = word_len(*p);
	t = ty_new(TY_STRING);
	t->name = xstrndup(*p, n);
	*p += n;
	skip_spaces(p);
	if (word_is(*p, "ref")) {
		t->kind = TY_REF;
		*p += 3;
	} else if (word_is(*p, "record")) {
		t->kind = TY_RECORD;
		*p += 6;
	}
	return t;
}

static const struct ty *parse_type(const char **p)
{
	const struct ty *t = parse_primary(p);

	for (;;) {
		const char *q = *p;
		struct ty *w;

		skip_spaces(&q);
		if (word_is(q, "set"))
			w = ty_new(TY_SET);
		else if (word_is(q, "option"))
			w = ty_new(TY_OPTION);
		else
			return t;
		w->a = t;
		t = w;
		*p = q + word_len(q);
	}
}

const struct ty *ty_parse(const char *s)
{
	const char *p = s;
	const struct ty *t;

	for (size_t i = 0; i < ntypes; i++)
		if (strcmp(types[i].text, s) == 0)
			return types[i].ty;
	t = parse_type(&p);
	if (ntypes == captypes) {
		captypes = captypes ? captypes * 2 : 128;
		types = xrealloc(types, captypes * sizeof(*types));
	}
	types[ntypes].text = xstrdup(s);
	types[ntypes].ty = (struct ty *)t;
	ntypes++;
	return t;
}

void schema_init(void)
{
	size_t total = 0;

	schema_nclasses = api_nclasses;
	schema_classes = xcalloc((size_t)api_nclasses, sizeof(*schema_classes));
	for (int i = 0; i < api_nclasses; i++)
		total += (size_t)api_classes[i].nfields;
	for (nfslots = 64; nfslots < total * 2; nfslots *= 2)
		;
	fslots = xcalloc(nfslots, sizeof(*fslots));
	defaults = xcalloc((size_t)api_nclasses, sizeof(*defaults));
	for (int i = 0; i < api_nclasses; i++) {
		struct cls *c = &schema_classes[i];

		c->idx = i;
		c->api = &api_classes[i];
		c->name = c->api->name;
		c->lname = xstrdup(c->name);
		for (char *q = c->lname; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		c->nfields = c->api->nfields;
		c->ftype = xcalloc((size_t)c->nfields, sizeof(*c->ftype));
		for (int f = 0; f < c->nfields; f++) {
			size_t k;
			c->ftype[f] = ty_parse(c->api->fields[f].type);
			for (k = fslot_hash(c, c->api->fields[f].name); fslots[k].c; k = (k + 1) & (nfslots - 1))
				;
			fslots[k] = (struct fslot){c, c->api->fields[f].name, f};
		}
		defaults[i] = xcalloc((size_t)c->nfields, sizeof(**defaults));
		for (int f = 0; f < c->nfields; f++) {
			const char *d = c->api->fields[f].deflt;
			defaults[i][f] = d ? ty_literal(c->ftype[f], d) : ty_zero(c->ftype[f]);
		}
		for (int m = 0; m < c->api->nmessages; m++)
			for (int k = 0; k < c->api->messages[m].nparams; k++)
				ty_parse(c->api->messages[m].params[k].type);
		c->f_uuid = schema_field(c, "uuid");
		c->f_name_label = schema_field(c, "name_label");
	}
}

void schema_free(void)
{
	for (int i = 0; i < schema_nclasses; i++) {
		for (int f = 0; f < schema_classes[i].nfields; f++)
			xv_free(defaults[i][f]);
		free(defaults[i]);
		free(schema_classes[i].lname);
		free(schema_classes[i].ftype);
	}
	free(defaults);
	defaults = NULL;
	free(fslots);
	fslots = NULL;
	nfslots = 0;
	free(schema_classes);
	schema_classes = NULL;
	for (size_t i = 0; i < ntypes; i++)
		free(types[i].text);
	free(types);
	types = NULL;
	ntypes = captypes = 0;
	for (size_t i = 0; i < nanon; i++) {
		free(anon[i]->name);
		free(anon[i]);
	}
	free(anon);
	anon = NULL;
	nanon = capanon = 0;
}

const struct cls *schema_class(const char *name)
{
	for (int i = 0; i < schema_nclasses; i++)
		if (strcmp(schema_classes[i].name, name) == 0)
			return &schema_classes[i];
	return NULL;
}

const struct cls *schema_class_ci(const char *name)
{
	for (int i = 0; i < schema_nclasses; i++)
		if (strcasecmp(schema_classes[i].name, name) == 0)
			return &schema_classes[i];
	return NULL;
}

int schema_field(const struct cls *c, const char *field)
{
	if (!nfslots)
		return -1;
	for (size_t k = fslot_hash(c, field); fslots[k].c; k = (k + 1) & (nfslots - 1))
		if (fslots[k].c == c && strcmp(fslots[k].name, field) == 0)
			return fslots[k].f;
	return -1;
}

const struct api_message *schema_message(const struct cls *c, const char *name)
{
	for (int m = 0; m < c->api->nmessages; m++)
		if (strcmp(c->api->messages[m].name, name) == 0)
			return &c->api->messages[m];
	return NULL;
}

bool schema_enum_has(const char *enum_name, const char *value, const char **canonical)
{
	for (int i = 0; i < api_nenums; i++) {
		const char *p;
		size_t n = strlen(value);

		if (strcmp(api_enums[i].name, enum_name) != 0)
			continue;
		for (p = api_enums[i].values; *p;) {
			size_t len = strcspn(p, ",");
			if (len == n && strncasecmp(p, value, n) == 0) {
				if (canonical)
					*canonical = p; /* not NUL-terminated: see enum_canonical */
				return true;
			}
			p += len;
			while (*p == ',' || *p == ' ')
				p++;
		}
		return false;
	}
	/* an enum we do not know: take the value as it is */
	if (canonical)
		*canonical = NULL;
	return true;
}

static struct xv *enum_canonical(const char *enum_name, const char *value)
{
	const char *c = NULL;

	if (!schema_enum_has(enum_name, value, &c))
		return NULL;
	return c ? xv_string_n(c, strlen(value)) : xv_string(value);
}

struct xv *ty_zero(const struct ty *t)
{
	switch (t->kind) {
	case TY_INT:
		return xv_int(0);
	case TY_FLOAT:
		return xv_double(0.0);
	case TY_BOOL:
		return xv_bool(false);
	case TY_DATETIME:
		return xv_datetime("19700101T00:00:00Z");
	case TY_REF:
		return xv_string("OpaqueRef:NULL");
	case TY_SET:
		return xv_array();
	case TY_MAP:
	case TY_RECORD:
		return xv_struct();
	case TY_ENUM: {
		/* the first value of the enum, as an uninitialised OCaml variant would be */
		for (int i = 0; i < api_nenums; i++)
			if (strcmp(api_enums[i].name, t->name) == 0)
				return xv_string_n(api_enums[i].values, strcspn(api_enums[i].values, ","));
		return xv_string("");
	}
	default:
		return xv_string("");
	}
}

/* Literal parser for datamodel defaults: "text", {a; b}, {"k" -> "v"}. */
static struct xv *literal(const struct ty *t, const char **p);

static struct xv *literal_atom(const struct ty *t, const char **p)
{
	const char *s = *p;
	size_t n;
	char *text;
	struct xv *v;

	skip_spaces(&s);
	if (*s == '"') {
		const char *e = strchr(s + 1, '"');
		n = e ? (size_t)(e - s - 1) : strlen(s + 1);
		text = xstrndup(s + 1, n);
		*p = s + 1 + n + (e ? 1 : 0);
	} else {
		n = strcspn(s, ";}");
		while (n && s[n - 1] == ' ')
			n--;
		if (n >= 2 && strncmp(s + n - 2, "->", 2) == 0)
			n -= 2;
		{
			const char *arrow = strstr(s, " -> ");
			if (arrow && (size_t)(arrow - s) < n)
				n = (size_t)(arrow - s);
		}
		text = xstrndup(s, n);
		*p = s + n;
	}
	switch (t->kind) {
	case TY_INT:
		v = xv_int(strtoll(text, NULL, 10));
		break;
	case TY_FLOAT:
		v = xv_double(strtod(text, NULL));
		break;
	case TY_BOOL:
		v = xv_bool(strcmp(text, "true") == 0);
		break;
	case TY_DATETIME:
		v = xv_datetime(text);
		break;
	case TY_ENUM:
		v = enum_canonical(t->name, text);
		if (!v)
			v = xv_string(text);
		break;
	default:
		v = xv_string(text);
		break;
	}
	free(text);
	return v;
}

static struct xv *literal(const struct ty *t, const char **p)
{
	struct xv *v;

	skip_spaces(p);
	if ((t->kind == TY_SET || t->kind == TY_MAP) && **p == '{') {
		(*p)++;
		v = t->kind == TY_SET ? xv_array() : xv_struct();
		for (;;) {
			skip_spaces(p);
			if (**p == '}' || !**p) {
				if (**p)
					(*p)++;
				return v;
			}
			if (t->kind == TY_SET) {
				xv_array_push(v, literal(t->a, p));
			} else {
				struct xv *k = literal_atom(t->a, p);
				struct xv *val;
				skip_spaces(p);
				if (strncmp(*p, "->", 2) == 0)
					*p += 2;
				val = literal(t->b, p);
				xv_struct_add(v, xv_str(k) ? xv_str(k) : "", val);
				xv_free(k);
			}
			skip_spaces(p);
			if (**p == ';')
				(*p)++;
		}
	}
	if (t->kind == TY_SET || t->kind == TY_MAP)
		return ty_zero(t);
	return literal_atom(t, p);
}

struct xv *ty_literal(const struct ty *t, const char *s)
{
	return literal(t, &s);
}

struct xv *schema_default(const struct cls *c, int field)
{
	return xv_copy(defaults[c->idx][field]);
}

/* A datetime parameter as xapi's Date.of_iso8601 reads it: the basic
 * (20250101T00:00:00Z) or extended (2025-01-01T00:00:00Z) form, fractional
 * seconds ignored, then Z, an offset or nothing. Written back in the basic
 * form xapi sends, keeping the zone; NULL if it does not parse. */
static struct xv *datetime_of(const char *s)
{
	int y, mo, d, h, mi, sec, n = 0, tzh, tzm;
	char out[40];
	const char *p;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19) {
		n = 0;
		if (sscanf(s, "%4d%2d%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 17)
			return NULL;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 0 || h < 0 || mi < 0 || sec < 0)
		return NULL;
	p = s + n;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	n = snprintf(out, sizeof(out), "%04d%02d%02dT%02d:%02d:%02d", y, mo, d, h, mi, sec);
	if (*p == 'Z' && !p[1])
		snprintf(out + n, sizeof(out) - (size_t)n, "Z");
	else if ((*p == '+' || *p == '-') && strlen(p) == 6 && sscanf(p + 1, "%2d:%2d", &tzh, &tzm) == 2 && tzh < 24
		 && tzm < 60 && tzh >= 0 && tzm >= 0)
		snprintf(out + n, sizeof(out) - (size_t)n, "%c%02d:%02d", *p, tzh, tzm);
	else if (*p)
		return NULL;
	return xv_datetime(out);
}

struct xv *ty_coerce(const struct ty *t, const struct xv *v, const char **why)
{
	struct xv *out;
	int64_t i;
	double d;

	switch (t->kind) {
	case TY_STRING:
	case TY_REF:
		if (v->type == XV_STRING)
			return xv_copy(v);
		*why = "expected a string";
		return NULL;
	case TY_INT:
		if (xv_get_int64(v, &i))
			return xv_int(i);
		*why = "expected an int";
		return NULL;
	case TY_FLOAT:
		if (xv_get_double(v, &d))
			return xv_double(d);
		*why = "expected a float";
		return NULL;
	case TY_BOOL:
		if (v->type == XV_BOOL)
			return xv_copy(v);
		*why = "expected a bool";
		return NULL;
	case TY_DATETIME:
		if ((v->type == XV_DATETIME || v->type == XV_STRING) && (out = datetime_of(v->u.s)))
			return out;
		*why = "expected a datetime";
		return NULL;
	case TY_ENUM:
		if (v->type == XV_STRING && (out = enum_canonical(t->name, v->u.s)))
			return out;
		*why = "unknown enum value";
		return NULL;
	case TY_SET:
		if (v->type != XV_ARRAY) {
			*why = "expected an array";
			return NULL;
		}
		out = xv_array();
		for (size_t k = 0; k < v->n; k++) {
			struct xv *e = ty_coerce(t->a, v->u.arr.v[k], why);
			if (!e) {
				xv_free(out);
				return NULL;
			}
			xv_array_push(out, e);
		}
		return out;
	case TY_MAP:
		if (v->type != XV_STRUCT) {
			*why = "expected a struct";
			return NULL;
		}
		out = xv_struct();
		for (size_t k = 0; k < v->n; k++) {
			struct xv *e = ty_coerce(t->b, v->u.st.m[k].v, why);
			if (!e) {
				xv_free(out);
				return NULL;
			}
			xv_struct_add(out, v->u.st.m[k].k, e);
		}
		return out;
	case TY_RECORD:
		if (v->type == XV_STRUCT)
			return xv_copy(v);
		*why = "expected a struct";
		return NULL;
	case TY_OPTION:
		return ty_coerce(t->a, v, why);
	default:
		return xv_copy(v);
	}
}
