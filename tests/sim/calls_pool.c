/* pool.join, pool.eject and pool.designate_new_master across xapi-sim
 * processes (WIRE.md 10), with the hidden calls xapi uses between hosts:
 * host.create, pool.initial_auth, session.slave_login, host.commit_new_master.
 *
 * A process serves the hosts whose address is its own. The master's
 * database is the pool's; a member keeps its old one, unused, and answers
 * only pool sessions (rpc.c's session_check) until it is ejected (it becomes
 * a fresh standalone pool) or made master (it loads the master's database).
 * HA (ha.c) refuses join, eject and new master with HA_IS_ENABLED. */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "ha.h"
#include "pool.h"
#include "remote.h"
#include "rpc.h"
#include "sim.h"
#include "util.h"
#include "vm.h"

/* ---- the pool secret ------------------------------------------------------ */

void pool_reset_secret(void)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char *cred = xasprintf("%s:%s", sim.user, sim.password);

	EVP_Digest(cred, strlen(cred), md, &n, EVP_sha256(), NULL);
	free(cred);
	/* shaped like a uuid, as xapi's pool secrets are */
	snprintf(sim.pool_secret, sizeof(sim.pool_secret),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", md[0], md[1], md[2], md[3],
		 md[4], md[5], md[6], md[7], md[8], md[9], md[10], md[11], md[12], md[13], md[14], md[15]);
}

/* ---- talking to the other processes ------------------------------------------ */

/* "ADDR" or "ADDR:PORT" (an address with more colons is IPv6, no port). */
static void split_address(const char *s, char *addr, size_t cap, int *port)
{
	const char *colon = strchr(s, ':');

	*port = sim.port;
	if (colon && !strchr(colon + 1, ':') && colon[1]) {
		char *end;
		long p = strtol(colon + 1, &end, 10);
		if (!*end && p > 0 && p < 65536) {
			snprintf(addr, cap, "%.*s", (int)(colon - s), s);
			*port = (int)p;
			return;
		}
	}
	snprintf(addr, cap, "%s", s);
}

static const char *err_code(const struct xv *e)
{
	const char *c = xv_str(xv_at(e, 0));

	return c ? c : "";
}

/* A pool session on the process at address (this pool's secret). */
static struct remote *pool_connect(const char *address, int port, char **session, struct xv **err)
{
	struct remote *r = remote_open(address, port, sim.tls);
	struct xv *host, *secret, *v = NULL;

	*session = NULL;
	if (!r) {
		*err = err_new("TRANSPORT", "cannot start libcurl", NULL);
		return NULL;
	}
	db_lock();
	host = xv_string(sim.local_host ? sim.local_host->ref : "OpaqueRef:NULL");
	secret = xv_string(sim.pool_secret);
	db_unlock();
	if (remote_call(r, "session.slave_login", &v, err, host, secret, NULL) != REMOTE_OK || !xv_str(v)) {
		if (!*err)
			*err = err_new("TRANSPORT", "session.slave_login returned no session", NULL);
		remote_close(r);
		r = NULL;
	} else {
		*session = xstrdup(xv_str(v));
	}
	xv_free(host);
	xv_free(secret);
	xv_free(v);
	return r;
}

static void logout_close(struct remote *r, char *session)
{
	struct xv *s, *v = NULL, *e = NULL;

	if (!r)
		return;
	if (session) {
		s = xv_string(session);
		remote_call(r, "session.logout", &v, &e, s, NULL);
		xv_free(s);
		xv_free(v);
		xv_free(e);
	}
	free(session);
	remote_close(r);
}

/* Runs method(host, extra...) on the process serving the host with this
 * uuid, as xapi forwards a call to the host it is about
 * (message_forwarding.ml). On success *value (may be NULL) is the answer;
 * *err is that side's error, or CANNOT_CONTACT_HOST [host_ref]. Unlocked. */
bool pool_forward(const char *address, const char *uuid, const char *host_ref, const char *method,
		  struct xv *const *extra, size_t nextra, struct xv **value, struct xv **err)
{
	char *session = NULL;
	struct remote *r = pool_connect(address, sim.port, &session, err);
	struct xv *s, *u, *ref = NULL, *v = NULL;
	enum remote_status st = REMOTE_TRANSPORT;

	if (r) {
		s = xv_string(session);
		u = xv_string(uuid);
		st = remote_call(r, "host.get_by_uuid", &ref, err, s, u, NULL);
		if (st == REMOTE_OK) {
			struct xv *params[8] = {s, ref};
			size_t n = 2;
			for (size_t i = 0; i < nextra && n < ARRAY_LEN(params); i++)
				params[n++] = extra[i];
			st = remote_callv(r, method, params, n, &v, err);
		}
		xv_free(s);
		xv_free(u);
		xv_free(ref);
		logout_close(r, session);
	}
	if (st == REMOTE_TRANSPORT || (*err && strcmp(err_code(*err), "SESSION_AUTHENTICATION_FAILED") == 0)) {
		const char *why = *err ? xv_str(xv_at(*err, 1)) : NULL;
		fprintf(stderr, "xapi-sim: %s on %s: %s\n", method, address, why ? why : "no answer");
		xv_free(*err);
		*err = err_new("CANNOT_CONTACT_HOST", host_ref, NULL);
	}
	if (value)
		*value = st == REMOTE_OK ? v : NULL;
	if (!value || st != REMOTE_OK)
		xv_free(v);
	return st == REMOTE_OK;
}

static bool forward_to_host(const char *address, const char *uuid, const char *host_ref, const char *method,
			    struct xv **err)
{
	return pool_forward(address, uuid, host_ref, method, NULL, 0, NULL, err);
}

/* ---- roles -------------------------------------------------------------------- */

/* Locked. This process's hosts are now members of the pool mastered at
 * address: every client session gets HOST_IS_SLAVE from now on, including
 * the event.from calls waiting. */
static void become_member(const char *address, int port)
{
	sim.is_slave = true;
	snprintf(sim.master_address, sizeof(sim.master_address), "%s", address);
	sim.master_port = port;
	pthread_cond_broadcast(&db.changed);
}

/* Locked. What an ejected host does: forget the pool, wipe the database and
 * come back as a fresh standalone install with the same name and uuid. */
static void become_standalone(void)
{
	char *name = xstrdup(sim.local_host ? db_str(sim.local_host, "name_label") : "xcp-ng-01");
	char *uuid = sim.local_host ? xstrdup(db_str(sim.local_host, "uuid")) : NULL;

	pool_db_wipe();
	gen_standalone(name, uuid);
	sim.is_slave = false;
	sim.master_address[0] = '\0';
	pool_reset_secret();
	free(name);
	free(uuid);
}

/* ---- pool.join ------------------------------------------------------------------ */

/* What the joiner knows of itself, read once under the lock. */
struct joiner {
	bool ha, running, current_ops, shared_srs;
	int nhosts;
	struct xv *host; /* its host record */
};

static void joiner_read(struct joiner *j)
{
	const struct cls *vmc = schema_class("VM"), *src = schema_class("SR");
	struct obj *pool = db_first("pool");

	memset(j, 0, sizeof(*j));
	j->ha = pool && db_bool(pool, "ha_enabled");
	j->nhosts = db_count(schema_class("host"));
	for (struct obj *vm = db.head[vmc->idx]; vm; vm = vm->cnext) {
		const char *ps = db_str(vm, "power_state");
		if (db_bool(vm, "is_control_domain"))
			continue;
		if (strcmp(ps, "Running") == 0 || strcmp(ps, "Paused") == 0 || strcmp(ps, "Suspended") == 0)
			j->running = true;
		if (xv_len(db_field(vm, "current_operations")))
			j->current_ops = true;
	}
	/* the tools ISO SR is shared on every install (Helpers.is_tools_sr) */
	for (struct obj *sr = db.head[src->idx]; sr; sr = sr->cnext)
		if (db_bool(sr, "shared") && !db_bool(sr, "is_tools_sr"))
			j->shared_srs = true;
	j->host = sim.local_host ? db_record(sim.local_host) : xv_struct();
}

static const char *map_get(const struct xv *rec, const char *field, const char *key)
{
	const char *s = xv_str(xv_struct_get(xv_struct_get(rec, field), key));

	return s ? s : "";
}

static bool same(const struct xv *a, const struct xv *b, const char *field, const char *key)
{
	return strcmp(map_get(a, field, key), map_get(b, field, key)) == 0;
}

/* Xapi_pool.pre_join_checks, in its order, for what the sim models. */
static struct xv *pre_join_checks(const struct joiner *me, const struct xv *pool, const struct xv *master, bool force)
{
	const char *brand_me = map_get(me->host, "software_version", "product_brand");
	const char *brand_m = map_get(master, "software_version", "product_brand");
	bool ha_remote = false;

	xv_get_bool(xv_struct_get(pool, "ha_enabled"), &ha_remote);
	if (me->ha || ha_remote)
		return err_new("HA_IS_ENABLED", NULL);
	if (xv_str(xv_struct_get(master, "uuid")) && xv_str(xv_struct_get(me->host, "uuid"))
	    && strcmp(xv_str(xv_struct_get(master, "uuid")), xv_str(xv_struct_get(me->host, "uuid"))) == 0)
		return err_new("OPERATION_NOT_ALLOWED",
			       me->nhosts > 1 ? "Host is already part of a pool" : "Host cannot become slave of itself", NULL);
	if (me->nhosts > 1)
		return err_new("JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS", NULL);
	if (me->running)
		return err_new("JOINING_HOST_CANNOT_HAVE_RUNNING_OR_SUSPENDED_VMS", NULL);
	if (me->current_ops)
		return err_new("JOINING_HOST_CANNOT_HAVE_VMS_WITH_CURRENT_OPERATIONS", NULL);
	if (!same(me->host, master, "software_version", "platform_version") || strcmp(brand_me, brand_m) != 0)
		return err_new("HOSTS_NOT_COMPATIBLE", NULL);
	if (!force) {
		if (!same(me->host, master, "software_version", "build_number")
		    || !same(me->host, master, "software_version", "git_id"))
			return err_new("HOSTS_NOT_HOMOGENEOUS", "software version differs", NULL);
		if (!same(me->host, master, "cpu_info", "vendor") || !same(me->host, master, "cpu_info", "features_pv")
		    || !same(me->host, master, "cpu_info", "features_hvm"))
			return err_new("HOSTS_NOT_HOMOGENEOUS", "CPUs differ", NULL);
	}
	if (me->shared_srs)
		return err_new("JOINING_HOST_CANNOT_CONTAIN_SHARED_SRS", NULL);
	return NULL;
}

/* host.create's arguments from the joiner's own record, as
 * Xapi_pool.create_or_get_host_on_master sends them. */
static struct xv *host_create_args(const struct xv *rec, const char *session)
{
	const struct api_message *m = schema_message(schema_class("host"), "create");
	struct xv *args = xv_array();

	xv_array_push(args, xv_string(session));
	for (int i = 1; m && i < m->nparams; i++) {
		const char *name = m->params[i].name;
		const struct xv *v = xv_struct_get(rec, name);
		const struct ty *t = ty_parse(m->params[i].type);

		if (strcmp(name, "local_cache_sr") == 0 || !v)
			xv_array_push(args, t->kind == TY_REF ? xv_string("OpaqueRef:NULL") : ty_zero(t));
		else
			xv_array_push(args, xv_copy(v));
	}
	return args;
}

/* Asks the master for one thing; false with *err on failure. */
static bool ask(struct remote *r, const char *method, struct xv **value, struct xv **err, const char *session,
		const char *arg1)
{
	struct xv *s = xv_string(session), *a = arg1 ? xv_string(arg1) : NULL;
	enum remote_status st = remote_call(r, method, value, err, s, a, NULL);

	xv_free(s);
	xv_free(a);
	if (st == REMOTE_TRANSPORT) {
		xv_free(*err);
		*err = err_new("JOINING_HOST_CONNECTION_FAILED", NULL);
	}
	return st == REMOTE_OK;
}

static struct xv *join_common(const char *master_address, const char *user, const char *pwd, bool force,
			      struct xv **err)
{
	struct joiner me;
	char addr[128], *session = NULL;
	int port;
	struct remote *r;
	struct xv *u, *p, *ver, *orig, *v = NULL, *pools = NULL, *master = NULL, *secret = NULL, *ref = NULL;
	struct xv *args = NULL;
	const struct xv *pool = NULL;
	enum remote_status st;

	db_lock();
	joiner_read(&me);
	db_unlock();
	split_address(master_address, addr, sizeof(addr), &port);
	r = remote_open(addr, port, sim.tls);
	if (!r) {
		xv_free(me.host);
		*err = err_new("JOINING_HOST_CONNECTION_FAILED", NULL);
		return NULL;
	}
	u = xv_string(user);
	p = xv_string(pwd);
	ver = xv_string("1.0");
	orig = xv_string("xapi-sim pool.join");
	st = remote_call(r, "session.login_with_password", &v, err, u, p, ver, orig, NULL);
	xv_free(u);
	xv_free(p);
	xv_free(ver);
	xv_free(orig);
	if (st != REMOTE_OK) {
		/* an answer (SESSION_AUTHENTICATION_FAILED, HOST_IS_SLAVE) passes
		 * through; an HTTP error is JOINING_HOST_SERVICE_FAILED in xapi */
		if (st == REMOTE_TRANSPORT) {
			bool http = strcmp(err_code(*err), "HTTP") == 0;
			xv_free(*err);
			*err = err_new(http ? "JOINING_HOST_SERVICE_FAILED" : "JOINING_HOST_CONNECTION_FAILED", NULL);
		}
		goto out;
	}
	session = xstrdup(xv_str(v) ? xv_str(v) : "");
	xv_free(v);
	v = NULL;

	if (!ask(r, "pool.get_all_records", &pools, err, session, NULL))
		goto out;
	pool = pools->type == XV_STRUCT && pools->n ? pools->u.st.m[0].v : NULL;
	if (!pool) {
		*err = err_new("INTERNAL_ERROR", "the master has no pool object", NULL);
		goto out;
	}
	if (!ask(r, "host.get_record", &master, err, session, xv_str(xv_struct_get(pool, "master"))))
		goto out;
	if ((*err = pre_join_checks(&me, pool, master, force)))
		goto out;
	if (!ask(r, "pool.initial_auth", &secret, err, session, NULL))
		goto out;
	args = host_create_args(me.host, session);
	st = remote_callv(r, "host.create", args->u.arr.v, args->n, &ref, err);
	if (st != REMOTE_OK) {
		if (st == REMOTE_TRANSPORT) {
			xv_free(*err);
			*err = err_new("JOINING_HOST_CONNECTION_FAILED", NULL);
		}
		goto out;
	}
	/* xapi copies other_config after the constructor, best effort */
	{
		struct xv *s = xv_string(session), *e = NULL;
		const struct xv *oc = xv_struct_get(me.host, "other_config");
		remote_call(r, "host.set_other_config", &v, &e, s, ref, oc, NULL);
		xv_free(s);
		xv_free(e);
		xv_free(v);
		v = NULL;
	}

	db_lock();
	/* a member: the pool's secret and credentials, and no client sessions
	 * (real xapi restarts here, dropping every connection) */
	snprintf(sim.pool_secret, sizeof(sim.pool_secret), "%s", xv_str(secret) ? xv_str(secret) : "");
	snprintf(sim.user, sizeof(sim.user), "%s", user);
	snprintf(sim.password, sizeof(sim.password), "%s", pwd);
	{
		const struct cls *sc = schema_class("session");
		struct obj *o, *next;
		for (o = db.head[sc->idx]; o; o = next) {
			next = o->cnext;
			if (!db_bool(o, "pool"))
				db_delete(o);
		}
	}
	become_member(addr, port);
	db_unlock();
out:
	if (session)
		logout_close(r, session);
	else
		remote_close(r);
	xv_free(me.host);
	xv_free(pools);
	xv_free(master);
	xv_free(secret);
	xv_free(ref);
	xv_free(args);
	xv_free(v);
	return *err ? NULL : xv_string("");
}

static struct xv *pool_join(struct call *c, struct xv **err)
{
	return join_common(arg_str(c, 0), arg_str(c, 1), arg_str(c, 2), false, err);
}

static struct xv *pool_join_force(struct call *c, struct xv **err)
{
	return join_common(arg_str(c, 0), arg_str(c, 1), arg_str(c, 2), true, err);
}

struct start_join {
	const char *master;
	struct xv *err;
};

static void *start_join_thread(void *arg)
{
	struct start_join *j = arg;
	char user[128], pwd[256];

	db_lock();
	snprintf(user, sizeof(user), "%s", sim.user);
	snprintf(pwd, sizeof(pwd), "%s", sim.password);
	db_unlock();
	xv_free(join_common(j->master, user, pwd, false, &j->err));
	return NULL;
}

bool pool_join_at_start(const char *master, char **err)
{
	struct start_join j = {master, NULL};
	pthread_t th;

	/* in a thread of its own, which ends: OpenSSL's per-thread state (from
	 * libcurl) is freed then, not left on the main thread for LeakSanitizer
	 * to report when a failed join makes main() return */
	if (pthread_create(&th, NULL, start_join_thread, &j) != 0) {
		*err = xasprintf("--join-as-slave-of %s: cannot start a thread", master);
		return false;
	}
	pthread_join(th, NULL);
	if (!j.err)
		return true;
	{
		struct buf b;
		buf_init(&b);
		buf_printf(&b, "--join-as-slave-of %s: pool.join failed:", master);
		for (size_t i = 0; i < xv_len(j.err); i++)
			buf_printf(&b, " %s", xv_str(xv_at(j.err, i)) ? xv_str(xv_at(j.err, i)) : "");
		*err = buf_steal(&b);
	}
	xv_free(j.err);
	return false;
}

/* ---- on the master: the joiner's records ---------------------------------------------- */

/* host.create (hidden): the host record from the joiner's own, then what its
 * xapi pushes once it restarts as a member (dbsync_slave): metrics, CPUs,
 * PIFs, local SR and PBDs, PCI devices, control domain. A standalone sim
 * host is host 0 of its pool, so it has host 0's hardware. */
static struct xv *host_create(struct call *c, struct xv **err)
{
	const struct cls *hc = schema_class("host");
	const char *uuid = arg_str(c, 0);
	struct obj *h;

	if (db_by_uuid(NULL, uuid)) {
		*err = err_new("DB_UNIQUENESS_CONSTRAINT_VIOLATION", "host", "uuid", uuid, NULL);
		return NULL;
	}
	h = gen_host_with_devices(0, arg_str(c, 1), arg_str(c, 4), uuid, NULL);
	for (int i = 1; i < c->msg->nparams - 1; i++) {
		const char *name = c->msg->params[i + 1].name;
		int f = schema_field(hc, name);

		if (f < 0)
			continue;
		if (hc->ftype[f]->kind == TY_REF)
			db_set_ref(h, name, db_find(arg_str(c, i)));
		else
			db_set(h, name, xv_copy(arg(c, i)));
	}
	host_refresh_memory(h);
	return xv_string(h->ref);
}

static struct xv *pool_initial_auth(struct call *c, struct xv **err)
{
	return xv_string(sim.pool_secret);
}

/* ---- pool.eject ----------------------------------------------------------------------- */

static struct xv *pool_eject(struct call *c, struct xv **err)
{
	struct obj *h, *pool;
	char address[128], uuid[64], ref[REF_LEN];
	const struct xv *vms;

	db_lock();
	h = arg_obj(c, 0, "host", err);
	if (h && sim.is_slave) {
		/* the master forwarded it: this process's host leaves the pool */
		if (h == sim.local_host)
			become_standalone();
		db_unlock();
		return xv_string("");
	}
	pool = db_first("pool");
	if (!h || !pool) {
		db_unlock();
		return NULL;
	}
	if (db_bool(pool, "ha_enabled")) {
		db_unlock();
		*err = err_new("HA_IS_ENABLED", NULL);
		return NULL;
	}
	if (db_ref(pool, "master") == h) {
		db_unlock();
		*err = err_new("INTERNAL_ERROR", "Xapi_pool.Cannot_eject_master", NULL);
		return NULL;
	}
	vms = db_field(h, "resident_VMs");
	for (size_t i = 0; i < xv_len(vms); i++) {
		struct obj *vm = db_find(xv_str(xv_at(vms, i)));
		if (vm && !db_bool(vm, "is_control_domain") && strcmp(db_str(vm, "power_state"), "Halted") != 0) {
			db_unlock();
			*err = err_new("OPERATION_NOT_ALLOWED", "VM resident on host", NULL);
			return NULL;
		}
	}
	snprintf(address, sizeof(address), "%s", db_str(h, "address"));
	snprintf(uuid, sizeof(uuid), "%s", db_str(h, "uuid"));
	memcpy(ref, h->ref, REF_LEN);
	db_unlock();

	/* first on the host itself, then the master forgets it */
	if (strcmp(address, sim.address) != 0 && !forward_to_host(address, uuid, ref, "pool.eject", err))
		return NULL;
	db_lock();
	h = db_get(schema_class("host"), ref);
	if (h)
		pool_db_forget_host(h);
	db_unlock();
	return xv_string("");
}

/* ---- pool.designate_new_master ----------------------------------------------------------- */

/* On the new master: load the pool's database from the old master, take the
 * master role, and tell every other process (host.commit_new_master). */
static struct xv *take_over(const char *uuid, struct xv **err)
{
	char *session = NULL;
	char master[128];
	int port;
	struct remote *r;
	struct xv **recs = xcalloc((size_t)schema_nclasses, sizeof(*recs));
	struct xv *peers = xv_array();
	bool ok = true;

	db_lock();
	snprintf(master, sizeof(master), "%s", sim.master_address);
	port = sim.master_port;
	db_unlock();
	r = pool_connect(master, port, &session, err);
	ok = r != NULL;
	for (int i = 0; ok && i < schema_nclasses; i++) {
		const struct cls *k = &schema_classes[i];
		char method[160];
		struct xv *s;

		const struct api_message *m = schema_message(k, "get_all_records");

		/* sessions and tasks are not persistent in xapi's database */
		if (!m || strstr(m->flags, "removed") || strcmp(k->name, "session") == 0 || strcmp(k->name, "task") == 0)
			continue;
		snprintf(method, sizeof(method), "%s.get_all_records", k->name);
		s = xv_string(session);
		ok = remote_call(r, method, &recs[i], err, s, NULL) == REMOTE_OK;
		xv_free(s);
	}
	logout_close(r, session);
	if (!ok) {
		for (int i = 0; i < schema_nclasses; i++)
			xv_free(recs[i]);
		free(recs);
		xv_free(peers);
		return NULL;
	}

	db_lock();
	pool_db_wipe();
	pool_db_load(recs);
	sim.local_host = db_by_uuid(schema_class("host"), uuid);
	if (db_first("pool"))
		db_set_ref(db_first("pool"), "master", sim.local_host);
	sim.is_slave = false;
	sim.master_address[0] = '\0';
	for (struct obj *h = db_first("host"); h; h = h->cnext) {
		const char *a = db_str(h, "address");
		bool seen = strcmp(a, sim.address) == 0;
		for (size_t i = 0; !seen && i < xv_len(peers); i++)
			seen = strcmp(xv_str(xv_at(peers, i)), a) == 0;
		if (!seen)
			xv_array_push(peers, xv_string(a));
	}
	db_unlock();
	for (int i = 0; i < schema_nclasses; i++)
		xv_free(recs[i]);
	free(recs);

	for (size_t i = 0; i < xv_len(peers); i++) {
		struct xv *e = NULL, *v = NULL;
		r = pool_connect(xv_str(xv_at(peers, i)), sim.port, &session, &e);
		if (r) {
			struct xv *s = xv_string(session), *a = xv_string(sim.address);
			remote_call(r, "host.commit_new_master", &v, &e, s, a, NULL);
			xv_free(s);
			xv_free(a);
			logout_close(r, session);
		}
		if (e)
			fprintf(stderr, "xapi-sim: cannot tell %s about the new master: %s\n", xv_str(xv_at(peers, i)),
				err_code(e));
		xv_free(e);
		xv_free(v);
	}
	xv_free(peers);
	return xv_string("");
}

static struct xv *pool_designate_new_master(struct call *c, struct xv **err)
{
	struct obj *h;
	struct obj *pool;
	char address[128], uuid[64], ref[REF_LEN];

	db_lock();
	h = arg_obj(c, 0, "host", err);
	if (h && sim.is_slave) {
		/* the master forwarded it: this process's host becomes the master */
		snprintf(uuid, sizeof(uuid), "%s", db_str(h, "uuid"));
		db_unlock();
		return take_over(uuid, err);
	}
	pool = db_first("pool");
	if (!h || !pool) {
		db_unlock();
		return NULL;
	}
	if (db_bool(pool, "ha_enabled")) {
		db_unlock();
		*err = err_new("HA_IS_ENABLED", NULL);
		return NULL;
	}
	if (db_ref(pool, "master") == h) {
		db_unlock();
		return xv_string("");
	}
	if (strcmp(db_str(h, "address"), sim.address) == 0) {
		/* a host this process simulates itself: only the records change */
		db_set_ref(pool, "master", h);
		sim.local_host = h;
		db_unlock();
		return xv_string("");
	}
	snprintf(address, sizeof(address), "%s", db_str(h, "address"));
	snprintf(uuid, sizeof(uuid), "%s", db_str(h, "uuid"));
	memcpy(ref, h->ref, REF_LEN);
	db_unlock();
	if (!forward_to_host(address, uuid, ref, "pool.designate_new_master", err))
		return NULL;
	/* the new master told us already (host.commit_new_master); make sure */
	db_lock();
	if (!sim.is_slave)
		become_member(address, sim.port);
	db_unlock();
	return xv_string("");
}

/* host.commit_new_master (pool-internal): the pool's master is now at address. */
static struct xv *host_commit_new_master(struct call *c, struct xv **err)
{
	if (strcmp(arg_str(c, 0), sim.address) != 0)
		become_member(arg_str(c, 0), sim.port);
	return xv_string("");
}

/* ---- host.get_server_certificate ------------------------------------------------------- */

/* The PEM certificate the host serves, as xapi forwards the call to the host
 * and it reads its own: here, the one that host's process presents. A
 * client uses it to trust a member when the master moves there. */
static struct xv *host_get_server_certificate(struct call *c, struct xv **err)
{
	struct obj *h;
	char address[128], ref[REF_LEN];
	struct remote *r;
	struct xv *v = NULL, *e = NULL, *s;
	char *pem;

	db_lock();
	h = arg_obj(c, 0, "host", err);
	if (h) {
		snprintf(address, sizeof(address), "%s", db_str(h, "address"));
		memcpy(ref, h->ref, REF_LEN);
	}
	db_unlock();
	if (!h)
		return NULL;
	if (!sim.tls)
		return xv_string("");
	r = remote_open(address, sim.port, true);
	if (!r) {
		*err = err_new("CANNOT_CONTACT_HOST", ref, NULL);
		return NULL;
	}
	/* any call makes the TLS handshake; its answer does not matter */
	s = xv_string("");
	remote_call(r, "session.logout", &v, &e, s, NULL);
	xv_free(s);
	xv_free(v);
	xv_free(e);
	pem = remote_peer_certificate(r);
	remote_close(r);
	if (!pem) {
		*err = err_new("CANNOT_CONTACT_HOST", ref, NULL);
		return NULL;
	}
	v = xv_string(pem);
	free(pem);
	return v;
}

const struct handler calls_pool[] = {
	{"pool.join", pool_join, 1500, H_UNLOCKED},
	{"pool.join_force", pool_join_force, 1500, H_UNLOCKED},
	{"pool.eject", pool_eject, 1500, H_UNLOCKED},
	{"pool.designate_new_master", pool_designate_new_master, 1500, H_UNLOCKED},
	{"pool.initial_auth", pool_initial_auth, 0, 0},
	{"host.create", host_create, 300, 0},
	{"host.commit_new_master", host_commit_new_master, 0, 0},
	{"host.get_server_certificate", host_get_server_certificate, 0, H_UNLOCKED},
	{"pool.enable_ha", ha_pool_enable, 3000, 0},
	{"pool.disable_ha", ha_pool_disable, 1500, 0},
	{"pool.set_ha_host_failures_to_tolerate", ha_pool_set_failures_to_tolerate, 300, 0},
	{"pool.ha_compute_max_host_failures_to_tolerate", ha_pool_compute_max, 0, 0},
	{NULL, NULL, 0, 0},
};
