/* GET /pool/xmldbdump?session_id= (ocaml/xapi/pool_db_backup.ml, format
 * ocaml/database/db_xml.ml): the database as xapi writes state.db:
 *   <database><manifest><pair key=.. value=../>...</manifest>
 *   <table name="VM"><row ref=".." __ctime=".." __mtime=".." uuid=".."
 *        name__label=".." .../></table>...</database>
 * Namespaced fields are joined with "__" (name__label, memory__static_max),
 * sets and maps are S-expressions (('k' 'v')), and spaces, tabs and line
 * breaks in values are protected as %. %t %n %r (% as %%), as
 * Xml_spaces.protect does. HTTP/1.1 200, no Content-Length, then close. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "httpx.h"
#include "rpc.h"
#include "schema.h"
#include "sim.h"
#include "util.h"

/* The datamodel's namespaces: field names that start with these prefixes
 * are "<namespace>_<field>" flattened for the API. */
static const struct {
	const char *cls; /* NULL: every class */
	const char *prefix;
} namespaces[] = {
	{NULL, "name_"},
	{"VM", "memory_"},
	{"VM", "VCPUs_"},
	{"VM", "actions_"},
	{"VM", "PV_"},
	{"VM", "HVM_"},
	{"VM_metrics", "memory_"},
	{"VM_metrics", "VCPUs_"},
	{"host", "API_version_"},
	{"host_metrics", "memory_"},
	{"PIF_metrics", "io_"},
	{"VIF_metrics", "io_"},
	{"VBD_metrics", "io_"},
};

static void column_name(struct buf *b, const char *cls, const char *field)
{
	for (size_t i = 0; i < ARRAY_LEN(namespaces); i++) {
		size_t n = strlen(namespaces[i].prefix);
		if ((!namespaces[i].cls || strcmp(namespaces[i].cls, cls) == 0) && strncmp(field, namespaces[i].prefix, n) == 0
		    && field[n]) {
			buf_append(b, field, n);
			buf_putc(b, '_');
			buf_puts(b, field + n);
			return;
		}
	}
	buf_puts(b, field);
}

/* A scalar as the database stores it. */
static void scalar(struct buf *b, const struct xv *v)
{
	switch (v ? v->type : XV_NIL) {
	case XV_STRING:
	case XV_DATETIME:
		buf_append(b, v->u.s, v->n);
		break;
	case XV_INT:
	case XV_I4:
		buf_printf(b, "%lld", (long long)v->u.i);
		break;
	case XV_DOUBLE:
		buf_printf(b, "%.16g", v->u.d);
		break;
	case XV_BOOL:
		buf_puts(b, v->u.b ? "true" : "false");
		break;
	default:
		break;
	}
}

/* 'text' with \ ' " escaped, as SExpr does. */
static void sexpr_string(struct buf *b, const char *s, size_t n)
{
	buf_putc(b, '\'');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' || s[i] == '\'' || s[i] == '"')
			buf_putc(b, '\\');
		buf_putc(b, s[i]);
	}
	buf_putc(b, '\'');
}

static void sexpr_scalar(struct buf *b, const struct xv *v)
{
	struct buf t;

	buf_init(&t);
	scalar(&t, v);
	sexpr_string(b, t.data ? t.data : "", t.len);
	buf_free(&t);
}

static void value_text(struct buf *b, const struct xv *v)
{
	if (v && v->type == XV_ARRAY) {
		buf_putc(b, '(');
		for (size_t i = 0; i < v->n; i++) {
			if (i)
				buf_putc(b, ' ');
			sexpr_scalar(b, v->u.arr.v[i]);
		}
		buf_putc(b, ')');
	} else if (v && v->type == XV_STRUCT) {
		buf_putc(b, '(');
		for (size_t i = 0; i < v->n; i++) {
			if (i)
				buf_putc(b, ' ');
			buf_putc(b, '(');
			sexpr_string(b, v->u.st.m[i].k, strlen(v->u.st.m[i].k));
			buf_putc(b, ' ');
			sexpr_scalar(b, v->u.st.m[i].v);
			buf_putc(b, ')');
		}
		buf_putc(b, ')');
	} else {
		scalar(b, v);
	}
}

/* Xml_spaces.protect, then XML attribute escaping. */
static void attribute(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case ' ': buf_puts(b, "%."); break;
		case '\t': buf_puts(b, "%t"); break;
		case '\n': buf_puts(b, "%n"); break;
		case '\r': buf_puts(b, "%r"); break;
		case '%': buf_puts(b, "%%"); break;
		case '&': buf_puts(b, "&amp;"); break;
		case '<': buf_puts(b, "&lt;"); break;
		case '>': buf_puts(b, "&gt;"); break;
		case '"': buf_puts(b, "&quot;"); break;
		default:
			if (c >= 0x20) /* other control bytes cannot be in XML */
				buf_putc(b, (char)c);
		}
	}
}

static void pair(struct buf *b, const char *k, const char *v)
{
	buf_printf(b, "<pair key=\"%s\" value=\"%s\"/>", k, v);
}

static bool dumped(const struct cls *c)
{
	/* not database tables: computed records, and messages (kept apart) */
	return c->f_uuid >= 0 && strcmp(c->name, "message") != 0;
}

static bool rows_kept(const struct cls *c)
{
	/* xapi writes these tables empty: they do not persist */
	return strcmp(c->name, "session") != 0 && strcmp(c->name, "task") != 0;
}

static char *dump(void)
{
	struct buf b, v, col;
	const char *dbv = sim.local_host ? db_map_get(sim.local_host, "software_version", "db_schema") : NULL;
	const char *dot = dbv ? strchr(dbv, '.') : NULL;
	char gen[32];

	buf_init(&b);
	buf_init(&v);
	buf_init(&col);
	snprintf(gen, sizeof(gen), "%llu", (unsigned long long)db.gen);
	buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<database><manifest>");
	pair(&b, "schema_major_vsn", "5");
	pair(&b, "schema_minor_vsn", dot ? dot + 1 : "786");
	pair(&b, "generation_count", gen);
	buf_puts(&b, "</manifest>");
	for (int i = 0; i < schema_nclasses; i++) {
		const struct cls *c = &schema_classes[i];
		if (!dumped(c))
			continue;
		buf_printf(&b, "<table name=\"%s\">", c->name);
		for (struct obj *o = rows_kept(c) ? db.head[c->idx] : NULL; o; o = o->cnext) {
			buf_printf(&b, "<row ref=\"%s\" __ctime=\"%llu\" __mtime=\"%llu\"", o->ref, (unsigned long long)o->ctime,
				   (unsigned long long)o->mtime);
			for (int f = 0; f < c->nfields; f++) {
				buf_reset(&col);
				buf_reset(&v);
				column_name(&col, c->name, c->api->fields[f].name);
				value_text(&v, o->f[f]);
				buf_printf(&b, " %s=\"", col.data);
				attribute(&b, v.data ? v.data : "", v.len);
				buf_putc(&b, '"');
			}
			buf_puts(&b, "/>");
		}
		buf_puts(&b, "</table>");
	}
	buf_puts(&b, "</database>");
	buf_free(&v);
	buf_free(&col);
	return buf_steal(&b);
}

bool handle_xmldbdump(struct http_req *r)
{
	struct hx h;
	char *xml;

	if (!hx_auth(&h, r, "pool.dump_database"))
		return false;
	db_lock();
	if (!hx_task(&h, "Dumping database as XML")) {
		db_unlock();
		hx_error(r, 500, "No such task");
		hx_end(&h);
		return false;
	}
	xml = dump();
	db_unlock();
	hx_arm_cut(&h);
	{
		char *head = xasprintf("Connection: close\r\nCache-Control: no-cache, no-store\r\ntask-id: %s\r\n", h.task);
		size_t len = strlen(xml), off = 0;
		bool ok = hx_head(&h, "1.1", 200, head);
		/* in pieces, so the task's progress moves as the dump goes out */
		while (ok && off < len) {
			size_t n = len - off < 65536 ? len - off : 65536;
			ok = hx_write(&h, xml + off, n);
			off += n;
			hx_progress(&h, (double)off / (double)len, off == len);
		}
		struct xv *err = ok ? NULL : err_new("INTERNAL_ERROR", "Caught exception: Unix.Unix_error(Unix.EPIPE, \"write\", \"\")", NULL);
		free(head);
		hx_finish(&h, NULL, err);
		xv_free(err);
	}
	hx_end(&h);
	free(xml);
	return false;
}
