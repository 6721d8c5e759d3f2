#include "rpc.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "host_extra.h"
#include "implicit.h"
#include "sim.h"
#include "tasks.h"
#include "util.h"
#include "xmlrpc.h"

static const struct handler *const tables[] = {
	calls_session, calls_event, calls_vm, calls_storage, calls_host, calls_pool, calls_task, calls_misc, calls_network,
};

/* Sessions and handlers are looked up on every call: a hash keeps it cheap. */
#define HANDLER_BUCKETS 512
struct hentry {
	const struct handler *h;
	struct hentry *next;
};
static struct hentry *hbuckets[HANDLER_BUCKETS];

static unsigned name_hash(const char *s)
{
	unsigned h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h % HANDLER_BUCKETS;
}

void rpc_init(void)
{
	for (size_t t = 0; t < ARRAY_LEN(tables); t++)
		for (const struct handler *h = tables[t]; h->name; h++) {
			struct hentry *e = xmalloc(sizeof(*e));
			unsigned k = name_hash(h->name);
			e->h = h;
			e->next = hbuckets[k];
			hbuckets[k] = e;
		}
}

void rpc_free(void)
{
	for (int i = 0; i < HANDLER_BUCKETS; i++) {
		struct hentry *e = hbuckets[i], *n;
		for (; e; e = n) {
			n = e->next;
			free(e);
		}
		hbuckets[i] = NULL;
	}
}

static const struct handler *find_handler(const char *name)
{
	for (struct hentry *e = hbuckets[name_hash(name)]; e; e = e->next)
		if (strcmp(e->h->name, name) == 0)
			return e->h;
	return NULL;
}

/* ---- errors and arguments --------------------------------------------- */

struct xv *err_new(const char *code, ...)
{
	struct xv *e = xv_array();
	va_list ap;
	const char *s;

	xv_array_push(e, xv_string(code));
	va_start(ap, code);
	while ((s = va_arg(ap, const char *)))
		xv_array_push(e, xv_string(s));
	va_end(ap);
	return e;
}

struct xv *err_handle(const char *cls, const char *ref)
{
	return err_new("HANDLE_INVALID", cls, ref, NULL);
}

const struct xv *arg(const struct call *c, int i)
{
	return xv_at(c->args, (size_t)i);
}

const char *arg_str(const struct call *c, int i)
{
	const char *s = xv_str(arg(c, i));

	return s ? s : "";
}

int64_t arg_int(const struct call *c, int i)
{
	int64_t v = 0;

	xv_get_int64(arg(c, i), &v);
	return v;
}

double arg_float(const struct call *c, int i)
{
	double v = 0;

	xv_get_double(arg(c, i), &v);
	return v;
}

bool arg_bool(const struct call *c, int i)
{
	bool v = false;

	xv_get_bool(arg(c, i), &v);
	return v;
}

struct obj *arg_obj(const struct call *c, int i, const char *cls, struct xv **err)
{
	const struct cls *k = schema_class(cls);
	struct obj *o = db_get(k, arg_str(c, i));

	if (!o)
		*err = err_handle(cls, arg_str(c, i));
	return o;
}

struct obj *session_check(const char *ref, struct xv **err)
{
	struct obj *s = db_get(schema_class("session"), ref);

	if (!s) {
		*err = err_new("SESSION_INVALID", ref, NULL);
		return NULL;
	}
	if (sim.is_slave && !db_bool(s, "pool")) {
		*err = err_new("HOST_IS_SLAVE", sim.master_address, NULL);
		return NULL;
	}
	return s;
}

/* xapi refreshes last_active at most every 10 minutes (threshold_last_active,
 * WIRE.md 6). Touching the session on every call would also make each call
 * a `mod` event, so an event.from on "*" would wake its own caller at once. */
void session_mark_active(struct obj *s)
{
	const char *last = db_str(s, "last_active");
	struct tm tm;
	time_t then = 0;

	memset(&tm, 0, sizeof(tm));
	if (strptime(last, "%Y%m%dT%H:%M:%S", &tm))
		then = timegm(&tm);
	if (time(NULL) - then >= 600)
		db_set_now(s, "last_active");
}

/* ---- method names ----------------------------------------------------- */

/* "VM.start" or the underscore alias "VM_start": class and message. */
static bool split_method(const char *name, const struct cls **cls, const char **msg)
{
	const char *dot = strchr(name, '.');
	size_t best = 0;

	if (dot) {
		char *c = xstrndup(name, (size_t)(dot - name));
		*cls = schema_class(c);
		free(c);
		*msg = dot + 1;
		return *cls != NULL;
	}
	*cls = NULL;
	for (int i = 0; i < schema_nclasses; i++) {
		size_t n = strlen(schema_classes[i].name);
		if (n > best && strncmp(name, schema_classes[i].name, n) == 0 && name[n] == '_') {
			best = n;
			*cls = &schema_classes[i];
			*msg = name + n + 1;
		}
	}
	return *cls != NULL;
}

static int count_defaults(const struct api_message *m)
{
	int n = 0;

	if (!m->defaults || !*m->defaults)
		return 0;
	n = 1;
	for (const char *p = m->defaults; *p; p++)
		if (*p == ';')
			n++;
	return n;
}

/* The default of trailing parameter `name` ("name=value; ..."). */
static char *default_of(const struct api_message *m, const char *name)
{
	const char *p = m->defaults;
	size_t n = strlen(name);

	while (p && *p) {
		while (*p == ' ')
			p++;
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			const char *v = p + n + 1;
			return xstrndup(v, strcspn(v, ";"));
		}
		p = strchr(p, ';');
		if (p)
			p++;
	}
	return xstrdup("");
}

static bool takes_session(const struct api_message *m)
{
	return !strstr(m->flags, "no_session");
}

static bool has_flag(const struct api_message *m, const char *flag)
{
	size_t n = strlen(flag);

	for (const char *p = m->flags; (p = strstr(p, flag)); p += n)
		if ((p == m->flags || p[-1] == ',') && (p[n] == '\0' || p[n] == ',' || p[n] == ':'))
			return true;
	return false;
}

static bool valid_utf8(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n;

	while (p < e) {
		int len;
		unsigned cp;

		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xE0) == 0xC0) {
			len = 2;
			cp = *p & 0x1F;
		} else if ((*p & 0xF0) == 0xE0) {
			len = 3;
			cp = *p & 0x0F;
		} else if ((*p & 0xF8) == 0xF0) {
			len = 4;
			cp = *p & 0x07;
		} else {
			return false;
		}
		if (e - p < len)
			return false;
		for (int i = 1; i < len; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3F);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))
		    || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		p += len;
	}
	return true;
}

/* The first string in v that is not UTF-8, for INVALID_VALUE. */
static const struct xv *bad_utf8(const struct xv *v)
{
	switch (v->type) {
	case XV_STRING:
		return valid_utf8(v->u.s, v->n) ? NULL : v;
	case XV_ARRAY:
		for (size_t i = 0; i < v->n; i++) {
			const struct xv *b = bad_utf8(v->u.arr.v[i]);
			if (b)
				return b;
		}
		return NULL;
	case XV_STRUCT:
		for (size_t i = 0; i < v->n; i++) {
			const struct xv *b = bad_utf8(v->u.st.m[i].v);
			if (b)
				return b;
		}
		return NULL;
	default:
		return NULL;
	}
}

/* ---- Async tasks ------------------------------------------------------- */

struct job {
	const struct handler *h;
	struct call call;
	char name[160]; /* call.name points here */
	char task_ref[REF_LEN];
};

static void call_free(struct call *c)
{
	xv_free(c->args);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void *job_run(void *arg_)
{
	struct job *j = arg_;
	const int steps = 10;
	struct xv *value = NULL, *error = NULL;
	struct obj *task;
	bool cancelled = false;

	for (int i = 1; i < steps && !cancelled; i++) {
		sleep_ms(j->h->async_ms / steps);
		db_lock();
		task = db_find(j->task_ref);
		if (!task || strcmp(db_str(task, "status"), "cancelling") == 0)
			cancelled = true;
		else
			db_set_float(task, "progress", (double)i / steps * 0.9);
		db_unlock();
	}
	if (cancelled) {
		error = err_new("TASK_CANCELLED", j->task_ref, NULL);
	} else if (j->h->flags & H_UNLOCKED) {
		value = j->h->fn(&j->call, &error);
	} else {
		db_lock();
		j->call.task = db_find(j->task_ref);
		value = j->h->fn(&j->call, &error);
		db_unlock();
	}
	db_lock();
	task = db_find(j->task_ref);
	if (task)
		task_finish(task, value, error);
	db_unlock();
	xv_free(value);
	xv_free(error);
	call_free(&j->call);
	free(j);
	return NULL;
}

static struct xv *start_async(const struct handler *h, struct call *c)
{
	struct job *j = xcalloc(1, sizeof(*j));
	char label[160];
	struct obj *t;
	pthread_t th;
	pthread_attr_t attr;

	snprintf(label, sizeof(label), "Async.%s", c->name);
	t = task_new(label, NULL, c->session);
	memcpy(j->task_ref, t->ref, REF_LEN);
	j->h = h;
	j->call = *c;
	snprintf(j->name, sizeof(j->name), "%s", c->name);
	j->call.name = j->name;
	j->call.session = NULL; /* may be gone by the time the job runs */
	c->args = NULL;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, job_run, j) != 0) {
		struct xv *e = err_new("INTERNAL_ERROR", "cannot start a thread", NULL);
		task_finish(t, NULL, e);
		xv_free(e);
		call_free(&j->call);
		free(j);
	}
	pthread_attr_destroy(&attr);
	return xv_string(t->ref);
}

/* ---- dispatch ---------------------------------------------------------- */

static struct xv *list_methods(void)
{
	struct xv *a = xv_array();
	char name[256];

	xv_array_push(a, xv_string("system.listMethods"));
	for (int i = 0; i < schema_nclasses; i++) {
		const struct cls *c = &schema_classes[i];
		for (int m = 0; m < c->api->nmessages; m++) {
			snprintf(name, sizeof(name), "%s.%s", c->name, c->api->messages[m].name);
			xv_array_push(a, xv_string(name));
		}
	}
	return a;
}

/* Coerces the params of a known message; NULL with *err on failure. */
static struct xv *coerce_args(const struct api_message *m, const struct xv *params, int first, struct xv **err)
{
	struct xv *args = xv_array();
	int n = (int)xv_len(params);

	for (int i = first; i < m->nparams; i++) {
		const struct ty *t = ty_parse(m->params[i].type);
		const char *why = NULL;
		struct xv *v;

		if (i < n) {
			const struct xv *bad = bad_utf8(xv_at(params, (size_t)i));
			if (bad) {
				*err = err_new("INVALID_VALUE", "Invalid UTF-8 string in parameter", xv_str(bad), NULL);
				xv_free(args);
				return NULL;
			}
			v = ty_coerce(t, xv_at(params, (size_t)i), &why);
		} else {
			char *d = default_of(m, m->params[i].name);
			v = ty_literal(t, d);
			free(d);
		}
		if (!v) {
			char *text = xasprintf("Parameter %s: %s, got %s", m->params[i].name, why,
					       xv_type_name(xv_at(params, (size_t)i)->type));
			*err = err_new("INTERNAL_ERROR", text, NULL);
			free(text);
			xv_free(args);
			return NULL;
		}
		xv_array_push(args, v);
	}
	return args;
}

void rpc_dispatch(const char *method, const struct xv *params, bool json, struct rpc_result *out)
{
	const char *name = method;
	bool async = false;
	const struct cls *cls = NULL;
	const char *msgname = NULL;
	const struct api_message *m = NULL;
	const struct handler *h;
	struct call c;
	int n = (int)xv_len(params);
	int ndef, sess;
	struct xv *err = NULL;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	if (strcmp(method, "system.listMethods") == 0) {
		out->value = list_methods();
		out->raw = true;
		return;
	}
	/* a rebooting host's xapi answers this before looking at the call */
	if (sim_local_host_booting()) {
		out->error = err_new("HOST_STILL_BOOTING", NULL);
		return;
	}
	if (strncmp(name, "Async.", 6) == 0) {
		async = true;
		name += 6;
	}
	if (split_method(name, &cls, &msgname))
		m = schema_message(cls, msgname);
	if (!m) {
		/* xapi checks the would-be session before admitting it knows nothing */
		if (n >= 1) {
			db_lock();
			session_check(xv_str(xv_at(params, 0)) ? xv_str(xv_at(params, 0)) : "", &err);
			db_unlock();
		}
		out->error = err ? err : err_new("MESSAGE_METHOD_UNKNOWN", name, NULL);
		return;
	}
	/* canonical name: Class.message even when called as Class_message */
	c.name = NULL;
	{
		char *canon = xasprintf("%s.%s", cls->name, m->name);
		h = find_handler(canon);
		ndef = count_defaults(m);
		sess = takes_session(m) ? 1 : 0;
		if ((ndef == 0 && n != m->nparams) || (ndef > 0 && n < m->nparams - ndef)) {
			char expected[16], received[16];
			snprintf(expected, sizeof(expected), "%d", m->nparams - ndef - sess);
			snprintf(received, sizeof(received), "%d", n - sess);
			out->error = err_new("MESSAGE_PARAMETER_COUNT_MISMATCH", canon, expected, received, NULL);
			free(canon);
			return;
		}
		c.args = coerce_args(m, params, sess, &out->error);
		if (!c.args) {
			free(canon);
			return;
		}
		c.cls = cls;
		c.msg = m;
		c.json = json;

		db_lock();
		if (sess) {
			const char *sref = xv_str(xv_at(params, 0));
			c.session = session_check(sref ? sref : "", &out->error);
			if (!c.session)
				goto unlock_done;
			session_mark_active(c.session);
		}
		if (has_flag(m, "removed")) {
			out->error = err_new("MESSAGE_REMOVED", NULL);
			goto unlock_done;
		}
		if (has_flag(m, "pool_internal") && !(c.session && db_bool(c.session, "pool"))) {
			char *text = xasprintf("Internal API \"%s\" call attempted with non-pool (external) session", canon);
			out->error = err_new("INTERNAL_ERROR", text, NULL);
			free(text);
			goto unlock_done;
		}
		if (async && !has_flag(m, "async")) {
			char *text = xasprintf("No async mode for this operation (rpc: %s)", name);
			out->error = err_new("Fault", text, NULL);
			free(text);
			goto unlock_done;
		}
		c.name = canon;
		if (!h && implicit_handles(&c))
			h = &implicit_handler;
		if (!h) {
			out->error = err_new("NOT_IMPLEMENTED", canon, NULL);
			goto unlock_done;
		}
		if (async) {
			/* the job owns the args now */
			out->value = start_async(h, &c);
			goto unlock_done;
		}
		if (h->flags & H_UNLOCKED) {
			db_unlock();
			out->value = h->fn(&c, &out->error);
			xv_free(c.args);
			free(canon);
			return;
		}
		out->value = h->fn(&c, &out->error);
unlock_done:
		db_unlock();
		xv_free(c.args);
		free(canon);
	}
}
