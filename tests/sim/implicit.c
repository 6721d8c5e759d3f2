/* The messages xapi generates for every class: get_record, get_all*,
 * get_by_*, create/destroy, and per-field get_/set_/add_to_/remove_from_. */
#include "implicit.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

static struct xv *implicit_run(struct call *c, struct xv **err);

const struct handler implicit_handler = {"(implicit)", implicit_run, 300, 0};

static bool prefixed(const char *s, const char *prefix, const char **rest);

/* Many setters are explicit messages in the datamodel, because xapi checks
 * or propagates something around the write (VM.add_to_other_config,
 * VM.set_memory_dynamic_max, SR.set_name_description, task.set_progress,
 * ...). Those shaped exactly like the implicit accessor of a field of their
 * class (self first, then the key/value the accessor takes) are served as
 * that accessor: the field is written, without xapi's extra checks. */
static bool field_modifier(const struct call *c)
{
	static const char *const kinds[] = {"set_", "add_to_", "remove_from_", "add_", "remove_"};
	const struct api_message *m = c->msg;
	const char *field = NULL;
	size_t k;
	int f;
	char self[160];
	const struct ty *ft;

	for (k = 0; k < ARRAY_LEN(kinds); k++)
		if (prefixed(m->name, kinds[k], &field))
			break;
	if (k == ARRAY_LEN(kinds) || (f = schema_field(c->cls, field)) < 0 || m->nparams < 3)
		return false;
	snprintf(self, sizeof(self), "%s ref", c->cls->name);
	if (strcmp(m->params[1].type, self) != 0)
		return false;
	ft = c->cls->ftype[f];
	switch (k) {
	case 0: /* set_: the field's own type */
		return m->nparams == 3 && strcmp(m->params[2].type, c->cls->api->fields[f].type) == 0;
	case 1: /* add_to_ a map: key, value */
		return m->nparams == 4 && ft->kind == TY_MAP;
	case 2: /* remove_from_ a map: key */
		return m->nparams == 3 && ft->kind == TY_MAP;
	default: /* add_/remove_ an item of a set */
		return m->nparams == 3 && ft->kind == TY_SET
		       && strlen(c->cls->api->fields[f].type) == strlen(m->params[2].type) + 4
		       && strncmp(c->cls->api->fields[f].type, m->params[2].type, strlen(m->params[2].type)) == 0;
	}
}

bool implicit_handles(const struct call *c)
{
	static const char *const message_reads[] = {
		"get_record", "get_by_uuid", "get_all", "get_all_records", "get_all_records_where",
	};
	const char *f = c->msg->flags;

	if (strstr(f, "implicit") || strstr(f, "accessor") || field_modifier(c))
		return true;
	/* message's readers are explicit in the datamodel, but behave the same */
	if (strcmp(c->cls->name, "message") == 0)
		for (size_t i = 0; i < ARRAY_LEN(message_reads); i++)
			if (strcmp(c->msg->name, message_reads[i]) == 0)
				return true;
	return false;
}

static struct xv *all_refs(const struct cls *k)
{
	struct xv *a = xv_array();

	for (struct obj *o = db.head[k->idx]; o; o = o->cnext)
		xv_array_push(a, xv_string(o->ref));
	return a;
}

struct xv *implicit_all_records(const struct cls *k)
{
	struct xv *m = xv_struct();

	for (struct obj *o = db.head[k->idx]; o; o = o->cnext)
		xv_struct_add(m, o->ref, db_record(o));
	return m;
}

/* ---- get_all_records_where: xapi's little query language ----------------
 *   expr := term ("or" term)* ; term := factor ("and" factor)*
 *   factor := "not" factor | "(" expr ")" | "true" | "false" | val ("=" | "<>") val
 *   val := field "name__label" | "literal"                                  */

struct query {
	const char *p;
	const char *error;
};

enum qtok { Q_END, Q_LPAREN, Q_RPAREN, Q_EQ, Q_NE, Q_STRING, Q_WORD, Q_BAD };

static enum qtok q_next(struct query *q, char *text, size_t cap)
{
	size_t n = 0;

	while (isspace((unsigned char)*q->p))
		q->p++;
	switch (*q->p) {
	case '\0':
		return Q_END;
	case '(':
		q->p++;
		return Q_LPAREN;
	case ')':
		q->p++;
		return Q_RPAREN;
	case '=':
		q->p++;
		return Q_EQ;
	case '<':
		if (q->p[1] == '>') {
			q->p += 2;
			return Q_NE;
		}
		return Q_BAD;
	case '"':
		q->p++;
		while (*q->p && *q->p != '"') {
			if (*q->p == '\\' && q->p[1])
				q->p++;
			if (n + 1 < cap)
				text[n++] = *q->p;
			q->p++;
		}
		if (*q->p != '"')
			return Q_BAD;
		q->p++;
		text[n] = '\0';
		return Q_STRING;
	default:
		while (isalnum((unsigned char)*q->p) || *q->p == '_') {
			if (n + 1 < cap)
				text[n++] = *q->p;
			q->p++;
		}
		text[n] = '\0';
		return n ? Q_WORD : Q_BAD;
	}
}

static enum qtok q_peek(struct query *q, char *text, size_t cap)
{
	const char *save = q->p;
	enum qtok t = q_next(q, text, cap);

	q->p = save;
	return t;
}

/* A field's value as xapi's database stores it (the text it compares). */
static char *field_text(const struct obj *o, const char *dbname)
{
	char name[128];
	size_t n = 0;
	int f;
	const struct xv *v;

	for (const char *s = dbname; *s && n + 1 < sizeof(name); s++) {
		if (s[0] == '_' && s[1] == '_')
			s++;
		name[n++] = *s;
	}
	name[n] = '\0';
	if (strcmp(name, "ref") == 0 || strcmp(name, "_ref") == 0)
		return xstrdup(o->ref);
	f = schema_field(o->cls, name);
	if (f < 0)
		return NULL;
	v = o->f[f];
	switch (v->type) {
	case XV_STRING:
	case XV_DATETIME:
		return xstrdup(v->u.s);
	case XV_INT:
		return xasprintf("%lld", (long long)v->u.i);
	case XV_BOOL:
		return xstrdup(v->u.b ? "true" : "false");
	case XV_DOUBLE:
		return xasprintf("%g", v->u.d);
	default:
		return xstrdup("");
	}
}

static char *q_val(struct query *q, const struct obj *o)
{
	char text[512];
	enum qtok t = q_next(q, text, sizeof(text));

	if (t == Q_WORD && strcmp(text, "field") == 0) {
		if (q_next(q, text, sizeof(text)) != Q_STRING) {
			q->error = "field needs a quoted name";
			return NULL;
		}
		{
			char *v = field_text(o, text);
			return v ? v : xstrdup("");
		}
	}
	if (t == Q_STRING)
		return xstrdup(text);
	q->error = "expected field \"name\" or a quoted literal";
	return NULL;
}

static bool q_expr(struct query *q, const struct obj *o);

static bool q_factor(struct query *q, const struct obj *o)
{
	char text[512];
	enum qtok t = q_peek(q, text, sizeof(text));
	char *a, *b;
	bool r;

	if (t == Q_WORD && strcmp(text, "not") == 0) {
		q_next(q, text, sizeof(text));
		return !q_factor(q, o);
	}
	if (t == Q_WORD && (strcmp(text, "true") == 0 || strcmp(text, "false") == 0)) {
		q_next(q, text, sizeof(text));
		return text[0] == 't';
	}
	if (t == Q_LPAREN) {
		q_next(q, text, sizeof(text));
		r = q_expr(q, o);
		if (q_next(q, text, sizeof(text)) != Q_RPAREN && !q->error)
			q->error = "missing )";
		return r;
	}
	a = q_val(q, o);
	if (!a)
		return false;
	t = q_next(q, text, sizeof(text));
	if (t != Q_EQ && t != Q_NE) {
		q->error = "expected = or <>";
		free(a);
		return false;
	}
	b = q_val(q, o);
	if (!b) {
		free(a);
		return false;
	}
	/* enums are stored lower-case by xapi's database: compare without case */
	r = strcasecmp(a, b) == 0;
	free(a);
	free(b);
	return t == Q_EQ ? r : !r;
}

static bool q_term(struct query *q, const struct obj *o)
{
	char text[16];
	bool r = q_factor(q, o);

	while (!q->error && q_peek(q, text, sizeof(text)) == Q_WORD && strcmp(text, "and") == 0) {
		q_next(q, text, sizeof(text));
		r = q_factor(q, o) && r;
	}
	return r;
}

static bool q_expr(struct query *q, const struct obj *o)
{
	char text[16];
	bool r = q_term(q, o);

	while (!q->error && q_peek(q, text, sizeof(text)) == Q_WORD && strcmp(text, "or") == 0) {
		q_next(q, text, sizeof(text));
		r = q_term(q, o) || r;
	}
	return r;
}

static bool query_matches(const char *expr, const struct obj *o, const char **error)
{
	struct query q = {expr, NULL};
	char text[16];
	bool r = q_expr(&q, o);

	if (!q.error && q_next(&q, text, sizeof(text)) != Q_END)
		q.error = "trailing text";
	*error = q.error;
	return r;
}

static struct xv *where(const struct cls *k, const char *expr, bool records, struct xv **err)
{
	struct xv *out = records ? xv_struct() : xv_array();
	const char *why = NULL;

	for (struct obj *o = db.head[k->idx]; o; o = o->cnext) {
		bool m = query_matches(expr, o, &why);
		if (why) {
			char *text = xasprintf("Db_filter.Expression_error(\"%s\", %s)", expr, why);
			*err = err_new("INTERNAL_ERROR", text, NULL);
			free(text);
			xv_free(out);
			return NULL;
		}
		if (!m)
			continue;
		if (records)
			xv_struct_add(out, o->ref, db_record(o));
		else
			xv_array_push(out, xv_string(o->ref));
	}
	return out;
}

/* ---- create and destroy ------------------------------------------------ */

struct obj *implicit_create(struct call *c, const struct xv *rec, struct xv **err)
{
	const struct cls *k = c->cls;
	struct obj *o;

	/* check everything before creating anything */
	for (int f = 0; f < k->nfields; f++) {
		const struct api_field *af = &k->api->fields[f];
		const struct xv *v;
		const char *why = NULL;
		struct xv *cv;

		if (strcmp(af->qualifier, "RO/runtime") == 0)
			continue;
		v = xv_struct_get(rec, af->name);
		if (!v) {
			if (!af->deflt) {
				char *text = xasprintf("Server_helpers.Dispatcher_FieldNotFound(\"%s\")", af->name);
				*err = err_new("INTERNAL_ERROR", text, NULL);
				free(text);
				return NULL;
			}
			continue;
		}
		cv = ty_coerce(k->ftype[f], v, &why);
		if (!cv) {
			char *text = xasprintf("field %s: %s", af->name, why);
			*err = err_new("INTERNAL_ERROR", text, NULL);
			free(text);
			return NULL;
		}
		if (k->ftype[f]->kind == TY_REF && strcmp(xv_str(cv), "OpaqueRef:NULL") != 0
		    && strcmp(af->name, "affinity") != 0 && !db_find(xv_str(cv))) {
			*err = err_handle(k->ftype[f]->name, xv_str(cv));
			xv_free(cv);
			return NULL;
		}
		xv_free(cv);
	}
	o = db_create(k);
	for (int f = 0; f < k->nfields; f++) {
		const struct api_field *af = &k->api->fields[f];
		const struct xv *v = xv_struct_get(rec, af->name);
		const char *why = NULL;

		if (!v || strcmp(af->qualifier, "RO/runtime") == 0)
			continue;
		if (k->ftype[f]->kind == TY_REF)
			db_set_ref(o, af->name, db_find(xv_str(v)));
		else
			db_set(o, af->name, ty_coerce(k->ftype[f], v, &why));
	}
	return o;
}

/* ---- dispatch ------------------------------------------------------------ */

static bool prefixed(const char *s, const char *prefix, const char **rest)
{
	size_t n = strlen(prefix);

	if (strncmp(s, prefix, n) != 0)
		return false;
	*rest = s + n;
	return true;
}

static struct obj *self_obj(struct call *c, struct xv **err)
{
	struct obj *o = db_get(c->cls, arg_str(c, 0));

	if (!o)
		*err = err_handle(c->cls->name, arg_str(c, 0));
	return o;
}

static struct xv *accessor(struct call *c, struct xv **err)
{
	const char *m = c->msg->name;
	const char *field;
	struct obj *o = self_obj(c, err);
	int f;

	if (!o)
		return NULL;
	if (prefixed(m, "get_", &field) && (f = schema_field(c->cls, field)) >= 0)
		return xv_copy(o->f[f]);
	if (prefixed(m, "set_", &field) && (f = schema_field(c->cls, field)) >= 0) {
		if (c->cls->ftype[f]->kind == TY_REF)
			db_set_ref(o, field, db_find(arg_str(c, 1)));
		else
			db_set(o, field, xv_copy(arg(c, 1)));
		return xv_string("");
	}
	if (prefixed(m, "add_to_", &field) && (f = schema_field(c->cls, field)) >= 0) {
		if (xv_struct_get(o->f[f], arg_str(c, 1))) {
			*err = err_new("MAP_DUPLICATE_KEY", c->cls->name, field, o->ref, arg_str(c, 1), NULL);
			return NULL;
		}
		xv_struct_add(o->f[f], arg_str(c, 1), xv_copy(arg(c, 2)));
		db_touch(o);
		return xv_string("");
	}
	if (prefixed(m, "remove_from_", &field) && (f = schema_field(c->cls, field)) >= 0) {
		if (xv_struct_del(o->f[f], arg_str(c, 1)))
			db_touch(o);
		return xv_string("");
	}
	if (prefixed(m, "add_", &field) && (f = schema_field(c->cls, field)) >= 0) {
		for (size_t i = 0; i < xv_len(o->f[f]); i++)
			if (xv_equal(xv_at(o->f[f], i), arg(c, 1)))
				return xv_string("");
		xv_array_push(o->f[f], xv_copy(arg(c, 1)));
		db_touch(o);
		return xv_string("");
	}
	if (prefixed(m, "remove_", &field) && (f = schema_field(c->cls, field)) >= 0) {
		struct xv *s = o->f[f];
		for (size_t i = 0; i < s->n; i++)
			if (xv_equal(s->u.arr.v[i], arg(c, 1))) {
				xv_free(s->u.arr.v[i]);
				memmove(&s->u.arr.v[i], &s->u.arr.v[i + 1], (s->n - i - 1) * sizeof(*s->u.arr.v));
				s->n--;
				db_touch(o);
				break;
			}
		return xv_string("");
	}
	*err = err_new("NOT_IMPLEMENTED", c->name, NULL);
	return NULL;
}

static struct xv *implicit_run(struct call *c, struct xv **err)
{
	const char *m = c->msg->name;
	const struct cls *k = c->cls;
	struct obj *o;

	if (strstr(c->msg->flags, "accessor") || field_modifier(c))
		return accessor(c, err);
	if (strcmp(m, "get_record") == 0)
		return (o = self_obj(c, err)) ? db_record(o) : NULL;
	if (strcmp(m, "get_all") == 0)
		return all_refs(k);
	if (strcmp(m, "get_all_records") == 0)
		return implicit_all_records(k);
	if (strcmp(m, "get_all_records_where") == 0)
		return where(k, arg_str(c, 0), true, err);
	if (strcmp(m, "get_all_where") == 0)
		return where(k, arg_str(c, 0), false, err);
	if (strcmp(m, "get_by_uuid") == 0) {
		o = db_by_uuid(k, arg_str(c, 0));
		if (!o) {
			*err = err_new("UUID_INVALID", k->name, arg_str(c, 0), NULL);
			return NULL;
		}
		return xv_string(o->ref);
	}
	if (strcmp(m, "get_by_name_label") == 0) {
		struct xv *a = xv_array();
		for (o = db.head[k->idx]; o; o = o->cnext)
			if (k->f_name_label >= 0 && strcmp(xv_str(o->f[k->f_name_label]), arg_str(c, 0)) == 0)
				xv_array_push(a, xv_string(o->ref));
		return a;
	}
	if (strcmp(m, "create") == 0) {
		o = implicit_create(c, arg(c, 0), err);
		return o ? xv_string(o->ref) : NULL;
	}
	if (strcmp(m, "destroy") == 0) {
		if (!(o = self_obj(c, err)))
			return NULL;
		db_delete(o);
		return xv_string("");
	}
	*err = err_new("NOT_IMPLEMENTED", c->name, NULL);
	return NULL;
}
