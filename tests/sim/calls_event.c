/* event.from, event.inject, event.get_current_id (WIRE.md 8). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "rpc.h"
#include "sim.h"
#include "util.h"

/* A subscription: "*", a class ("vm", any case) or "class/ref". */
struct sub {
	bool all;
	const struct cls *cls;
	char ref[REF_LEN];
};

static bool parse_subs(const struct xv *classes, struct sub **out, size_t *n, struct xv **err)
{
	*n = xv_len(classes);
	*out = xcalloc(*n ? *n : 1, sizeof(**out));
	for (size_t i = 0; i < *n; i++) {
		const char *s = xv_str(xv_at(classes, i));
		const char *slash = strchr(s, '/');
		struct sub *sb = &(*out)[i];

		if (strcmp(s, "*") == 0) {
			sb->all = true;
			continue;
		}
		if (slash) {
			char *cname = xstrndup(s, (size_t)(slash - s));
			sb->cls = schema_class_ci(cname);
			free(cname);
			if (!*(slash + 1) || strlen(slash + 1) >= REF_LEN) {
				*err = err_new("EVENT_SUBSCRIPTION_PARSE_FAILURE", s, NULL);
				free(*out);
				return false;
			}
			snprintf(sb->ref, REF_LEN, "%s", slash + 1);
		} else {
			sb->cls = schema_class_ci(s);
		}
		if (!sb->cls)
			sb->ref[0] = '\0'; /* an unknown class matches nothing */
	}
	return true;
}

static bool matches(const struct sub *subs, size_t n, const struct cls *c, const char *ref)
{
	for (size_t i = 0; i < n; i++) {
		if (subs[i].all)
			return true;
		if (subs[i].cls == c && (!subs[i].ref[0] || strcmp(subs[i].ref, ref) == 0))
			return true;
	}
	return false;
}

static bool parse_token(const char *t, uint64_t *gen)
{
	char *end;
	unsigned long long g;

	if (!*t) {
		*gen = 0;
		return true;
	}
	errno = 0;
	g = strtoull(t, &end, 10);
	if (errno || end == t || (*end != ',' && *end != '\0'))
		return false;
	*gen = g;
	return true;
}

static struct xv *event_of(const char *op, const struct cls *c, const char *ref, uint64_t id, const struct obj *o)
{
	struct xv *e = xv_struct();
	char idbuf[32];

	snprintf(idbuf, sizeof(idbuf), "%" PRIu64, id);
	xv_struct_add(e, "id", xv_string(idbuf));
	xv_struct_add(e, "timestamp", xv_string("0.0"));
	xv_struct_add(e, "class", xv_string(c->lname));
	xv_struct_add(e, "operation", xv_string(op));
	xv_struct_add(e, "ref", xv_string(ref));
	if (o)
		xv_struct_add(e, "snapshot", db_record(o));
	return e;
}

/* Everything that changed after generation `since`, xapi's way: deletions,
 * then modifications, then additions. */
static struct xv *collect(const struct sub *subs, size_t n, uint64_t since)
{
	struct xv *dels = xv_array(), *mods = xv_array(), *adds = xv_array();
	struct xv *all = xv_array();

	for (struct tomb *t = db.tombs; t && t->dtime > since; t = t->next)
		if (t->ctime <= since && matches(subs, n, t->cls, t->ref))
			xv_array_push(dels, event_of("del", t->cls, t->ref, t->dtime, NULL));
	for (struct obj *o = db.mtail; o && o->mtime > since; o = o->mprev) {
		if (!matches(subs, n, o->cls, o->ref))
			continue;
		if (o->ctime > since)
			xv_array_push(adds, event_of("add", o->cls, o->ref, o->mtime, o));
		else
			xv_array_push(mods, event_of("mod", o->cls, o->ref, o->mtime, o));
	}
	for (struct xv **part = (struct xv *[]){dels, mods, adds, NULL}; *part; part++) {
		for (size_t i = 0; i < (*part)->n; i++)
			xv_array_push(all, (*part)->u.arr.v[i]);
		(*part)->n = 0;
		xv_free(*part);
	}
	return all;
}

static struct xv *batch(struct xv *events)
{
	struct xv *b = xv_struct();
	struct xv *counts = xv_struct();
	char token[48];

	for (int i = 0; i < schema_nclasses; i++)
		xv_struct_add(counts, schema_classes[i].lname, xv_i4(db.count[i]));
	snprintf(token, sizeof(token), "%020" PRIu64 ",%020d", db.gen, 0);
	xv_struct_add(b, "events", events);
	xv_struct_add(b, "valid_ref_counts", counts);
	xv_struct_add(b, "token", xv_string(token));
	return b;
}

static struct xv *event_from(struct call *c, struct xv **err)
{
	struct sub *subs;
	size_t n;
	uint64_t since;
	double timeout = arg_float(c, 2);
	struct timespec deadline;
	char sref[REF_LEN];
	struct xv *events;

	if (!parse_token(arg_str(c, 1), &since)) {
		*err = err_new("EVENT_FROM_TOKEN_PARSE_FAILURE", arg_str(c, 1), NULL);
		return NULL;
	}
	if (!parse_subs(arg(c, 0), &subs, &n, err))
		return NULL;
	snprintf(sref, sizeof(sref), "%s", c->session->ref);
	clock_gettime(CLOCK_REALTIME, &deadline);
	if (timeout < 0)
		timeout = 0;
	if (timeout > 86400)
		timeout = 86400;
	deadline.tv_sec += (time_t)timeout;
	deadline.tv_nsec += (long)((timeout - (double)(time_t)timeout) * 1e9);
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	for (;;) {
		events = collect(subs, n, since);
		if (xv_len(events))
			break;
		xv_free(events);
		if (pthread_cond_timedwait(&db.changed, &db.lock, &deadline) == ETIMEDOUT) {
			events = collect(subs, n, since);
			break;
		}
		/* the session may have ended while we waited */
		if (!session_check(sref, err)) {
			free(subs);
			return NULL;
		}
	}
	free(subs);
	return batch(events);
}

static struct xv *event_inject(struct call *c, struct xv **err)
{
	const struct cls *k = schema_class_ci(arg_str(c, 0));
	struct obj *o = k ? db_get(k, arg_str(c, 1)) : NULL;
	char token[48];

	if (!o) {
		*err = err_handle(k ? k->name : arg_str(c, 0), arg_str(c, 1));
		return NULL;
	}
	snprintf(token, sizeof(token), "%020" PRIu64 ",%020d", db.gen, 0);
	db_touch(o);
	return xv_string(token);
}

static struct xv *get_current_id(struct call *c, struct xv **err)
{
	return xv_int((int64_t)db.gen);
}

const struct handler calls_event[] = {
	{"event.from", event_from, 0, 0},
	{"event.inject", event_inject, 0, 0},
	{"event.get_current_id", get_current_id, 0, 0},
	{NULL, NULL, 0, 0},
};
