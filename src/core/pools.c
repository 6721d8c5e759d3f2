#include "pools.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "known_hosts.h"
#include "metrics.h"
#include "secret.h"
#include "util.h"

struct sub {
	pools_fn fn;
	void *ud;
	struct sub *next;
};

/* A pool and what the module keeps about it: the public part first. */
struct entry {
	struct pool p;
	struct pools *owner;
	struct loop_timer *release_timer; /* the logout took too long, or has been answered */
	bool releasing;
	void (*done)(struct pool *p, void *ud); /* after a disconnect */
	void *done_ud;
	struct loop_timer *members_timer; /* the hosts changed: learn them again soon */
	unsigned members_gen;             /* a new connection or refresh: older answers are dropped */
	char *password;                   /* typed (or given) this run; never written anywhere */
	struct secret_cmd *cmd;           /* password_command running before the connection */
	char *failure;                    /* why it could not connect before any connection */
	bool failure_new;                 /* not handed out by pool_take_failure yet */
};

struct pools {
	struct loop *loop;
	struct net *net;
	char *known_hosts;
	struct entry **items;
	size_t n, cap;
	int next_id;
	struct sub *subs;
	pools_op_fn op_fn;
	void *op_ud;
	/* pools_close_all */
	void (*closed)(void *ud);
	void *closed_ud;
	xapi_gate_fn gate; /* pools_set_gate: on every connection */
	void *gate_ud;
};

static struct entry *entry_of(struct pool *p)
{
	return (struct entry *)p; /* the pool is the entry's first member */
}

static const struct entry *const_entry_of(const struct pool *p)
{
	return (const struct entry *)p;
}

static void notify(struct pools *ps, struct pool *p, enum cache_op op, const char *cls, const char *ref)
{
	for (struct sub *s = ps->subs; s;) {
		struct sub *next = s->next; /* a subscriber may leave meanwhile */
		s->fn(ps, p, op, cls, ref, s->ud);
		s = next;
	}
}

/* ---- life ------------------------------------------------------------------ */

struct pools *pools_new(struct loop *l, struct net *n, const char *known_hosts)
{
	struct pools *ps = xcalloc(1, sizeof(*ps));

	ps->loop = l;
	ps->net = n;
	ps->known_hosts = known_hosts ? xstrdup(known_hosts) : NULL;
	ps->next_id = 1;
	return ps;
}

static void release(struct entry *e);

static void entry_free(struct entry *e)
{
	if (e->p.x)
		release(e);
	secret_command_cancel(e->cmd);
	free(e->failure);
	free(e->p.live_url);
	server_cfg_free(&e->p.cfg);
	secret_free(e->password);
	free(e);
}

void pools_drop_all(struct pools *ps)
{
	ps->closed = NULL;
	for (size_t i = 0; i < ps->n; i++) {
		secret_command_cancel(ps->items[i]->cmd);
		ps->items[i]->cmd = NULL;
		release(ps->items[i]);
	}
}

void pools_free(struct pools *ps)
{
	if (!ps)
		return;
	ps->closed = NULL;
	for (size_t i = 0; i < ps->n; i++)
		entry_free(ps->items[i]);
	free(ps->items);
	while (ps->subs) {
		struct sub *s = ps->subs;
		ps->subs = s->next;
		free(s);
	}
	free(ps->known_hosts);
	free(ps);
}

struct net *pools_net(const struct pools *ps)
{
	return ps->net;
}

const char *pools_known_hosts(const struct pools *ps)
{
	return ps->known_hosts;
}

void pools_subscribe(struct pools *ps, pools_fn fn, void *ud)
{
	struct sub *s = xcalloc(1, sizeof(*s));

	s->fn = fn;
	s->ud = ud;
	s->next = ps->subs;
	ps->subs = s;
}

void pools_unsubscribe(struct pools *ps, pools_fn fn, void *ud)
{
	for (struct sub **p = &ps->subs; *p; p = &(*p)->next)
		if ((*p)->fn == fn && (*p)->ud == ud) {
			struct sub *s = *p;
			*p = s->next;
			free(s);
			return;
		}
}

void pools_on_op(struct pools *ps, pools_op_fn fn, void *ud)
{
	ps->op_fn = fn;
	ps->op_ud = ud;
}

struct pool *pools_add(struct pools *ps, const struct server_cfg *cfg, bool saved)
{
	struct entry *e = xcalloc(1, sizeof(*e));

	e->owner = ps;
	e->p.id = ps->next_id++;
	server_cfg_copy(&e->p.cfg, cfg);
	if (!e->p.cfg.user)
		e->p.cfg.user = xstrdup("root");
	if (!e->p.cfg.name)
		e->p.cfg.name = xstrdup(cfg->url ? cfg->url : "pool");
	e->p.saved = saved;
	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? ps->cap * 2 : 4;
		ps->items = xrealloc(ps->items, ps->cap * sizeof(*ps->items));
	}
	ps->items[ps->n++] = e;
	notify(ps, &e->p, CACHE_STATUS, NULL, NULL);
	return &e->p;
}

void pools_remove(struct pools *ps, struct pool *p)
{
	for (size_t i = 0; i < ps->n; i++)
		if (&ps->items[i]->p == p) {
			struct entry *e = ps->items[i];
			bool had_cache = e->p.cache != NULL;
			memmove(&ps->items[i], &ps->items[i + 1], (ps->n - i - 1) * sizeof(*ps->items));
			ps->n--;
			entry_free(e);
			/* screens drop what they showed of it */
			if (had_cache)
				notify(ps, NULL, CACHE_LOADED, NULL, NULL);
			notify(ps, NULL, CACHE_STATUS, NULL, NULL);
			return;
		}
}

size_t pools_count(const struct pools *ps)
{
	return ps->n;
}

struct pool *pools_at(const struct pools *ps, size_t i)
{
	return i < ps->n ? &ps->items[i]->p : NULL;
}

struct pool *pools_by_id(const struct pools *ps, int id)
{
	for (size_t i = 0; i < ps->n; i++)
		if (ps->items[i]->p.id == id)
			return &ps->items[i]->p;
	return NULL;
}

struct pool *pools_by_name(const struct pools *ps, const char *name)
{
	for (size_t i = 0; i < ps->n; i++)
		if (strcmp(ps->items[i]->p.cfg.name, name) == 0)
			return &ps->items[i]->p;
	return NULL;
}

int pools_active(const struct pools *ps)
{
	int n = 0;

	for (size_t i = 0; i < ps->n; i++)
		if (ps->items[i]->p.cache)
			n++;
	return n;
}

struct pool *pools_first_active(const struct pools *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		if (ps->items[i]->p.cache)
			return &ps->items[i]->p;
	return NULL;
}

/* ---- the pool's hosts, for following its master ---------------------------- */

/* One learning of the pool's hosts: each one's address, and the SHA-256 of
 * the certificate the master says it serves (host.get_server_certificate).
 * What the trusted master says over the verified connection is what lets
 * the connection follow the master to a member without asking. */
struct members {
	struct entry *e;
	unsigned gen;
	size_t n, waiting;
	char **addresses;
	char **fps;
};

static void members_free(struct members *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->addresses[i]);
		free(m->fps[i]);
	}
	free(m->addresses);
	free(m->fps);
	free(m);
}

struct member_req {
	struct members *m;
	size_t i;
};

/* One answer (or the end of the asking) less to wait for; the last one
 * hands the fingerprints to the connection and frees m. */
static void member_done(struct members *m, struct xapi *x)
{
	if (--m->waiting)
		return;
	/* the connection is still the one asked (not dropped, not reconnected) */
	if (m->gen == m->e->members_gen && m->e->p.x == x)
		xapi_set_members(x, m->n, (const char *const *)m->addresses, (const char *const *)m->fps);
	members_free(m);
}

static void on_member_cert(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct member_req *q = ud;
	struct members *m = q->m;
	char fp[65];

	if (r->failure == XAPI_OK && xv_str(r->value))
		m->fps[q->i] = cert_pem_sha256(xv_str(r->value), fp) ? xstrdup(fp) : NULL;
	free(q);
	member_done(m, x);
}

static bool collect_member(const char *ref, const struct xv *h, void *ud)
{
	struct members *m = ud;

	if (!*rec_str(h, "address"))
		return true;
	m->addresses = xrealloc(m->addresses, (m->n + 1) * sizeof(*m->addresses));
	m->fps = xrealloc(m->fps, (m->n + 1) * sizeof(*m->fps));
	m->addresses[m->n] = xstrdup(rec_str(h, "address"));
	m->fps[m->n] = xstrdup(ref); /* the ref for now: replaced by the answer */
	m->n++;
	return true;
}

static void learn_members(struct loop *l, void *ud)
{
	struct entry *e = ud;
	struct members *m;

	e->members_timer = NULL;
	if (!e->p.x || !e->p.cache || !cache_loaded(e->p.cache))
		return;
	m = xcalloc(1, sizeof(*m));
	m->e = e;
	m->gen = ++e->members_gen;
	cache_each(e->p.cache, "host", collect_member, m);
	if (!m->n) {
		members_free(m);
		return;
	}
	/* one more than the calls: a call that fails at once (the connection
	 * closing) answers inside xapi_call, and m must outlive this loop */
	m->waiting = m->n + 1;
	for (size_t i = 0; i < m->n; i++) {
		struct member_req *q = xcalloc(1, sizeof(*q));
		struct xv *p = xv_array();
		xv_array_push(p, xv_string(m->fps[i]));
		free(m->fps[i]);
		m->fps[i] = NULL;
		q->m = m;
		q->i = i;
		xapi_call(e->p.x, "host.get_server_certificate", p, on_member_cert, q);
	}
	member_done(m, e->p.x);
}

static void members_changed(struct entry *e, enum cache_op op, const char *cls)
{
	if (op != CACHE_LOADED && !(cls && strcmp(cls, "host") == 0 && op != CACHE_MOD))
		return;
	if (!e->members_timer)
		e->members_timer = loop_timer(e->owner->loop, 200, learn_members, e);
}

/* ---- connecting -------------------------------------------------------------- */

static void on_cache(struct cache *c, enum cache_op op, const char *cls, const char *ref, void *ud)
{
	struct entry *e = ud;

	members_changed(e, op, cls);
	notify(e->owner, &e->p, op, cls, ref);
}

static void on_op(struct ops *ops, struct op *op, void *ud)
{
	struct entry *e = ud;

	if (e->owner->op_fn)
		e->owner->op_fn(e->owner, &e->p, op, e->owner->op_ud);
}

bool pool_has_password(const struct pool *p)
{
	return const_entry_of(p)->password != NULL;
}

char **pool_child_env(const struct pool *p, const char *var)
{
	extern char **environ;
	size_t n = 0, k = 0, vlen = strlen(var);
	struct xv *pw = xv_array();
	const char *secret = p ? const_entry_of(p)->password : NULL;
	char **env;

	if (!secret && p && p->x) {
		xapi_push_password(p->x, pw);
		secret = xv_str(xv_at(pw, 0));
	}
	while (environ && environ[n])
		n++;
	env = xcalloc(n + 2, sizeof(*env));
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], var, vlen) != 0 || environ[i][vlen] != '=')
			env[k++] = xstrdup(environ[i]);
	if (secret && *secret)
		env[k++] = xasprintf("%s=%s", var, secret);
	if (xv_str(xv_at(pw, 0)))
		explicit_bzero((char *)xv_str(xv_at(pw, 0)), strlen(xv_str(xv_at(pw, 0))));
	xv_free(pw);
	return env;
}

void pool_child_env_free(char **env)
{
	for (size_t i = 0; env && env[i]; i++) {
		explicit_bzero(env[i], strlen(env[i])); /* one of them is the password */
		free(env[i]);
	}
	free(env);
}

bool pool_is_local(const struct pool *p)
{
	return p->cfg.url && strncmp(p->cfg.url, "unix:", 5) == 0;
}

bool pool_needs_password(const struct pool *p)
{
	/* xapi's local socket lets root in without one (xsconsole's login) */
	return !pool_has_password(p) && !p->cfg.password_file && !p->cfg.password_env && !p->cfg.password_command &&
	       !pool_is_local(p);
}

void pools_set_gate(struct pools *ps, xapi_gate_fn fn, void *ud)
{
	ps->gate = fn;
	ps->gate_ud = ud;
	for (size_t i = 0; i < ps->n; i++)
		if (ps->items[i]->p.x)
			xapi_set_gate(ps->items[i]->p.x, fn, ud);
}

void pools_gate_open(struct pools *ps, bool send, const char *msg)
{
	for (size_t i = 0; i < ps->n; i++)
		if (ps->items[i]->p.x)
			xapi_gate_open(ps->items[i]->p.x, send, msg);
}

bool pool_push_password(const struct pool *p, struct xv *params)
{
	if (!p->x)
		return false;
	xapi_push_password(p->x, params);
	return true;
}

/* The password at hand (typed, a file, a variable), or NULL with *err. */
static char *password_of(struct pool *p, char **err)
{
	struct entry *e = entry_of(p);

	if (e->password)
		return xstrdup(e->password);
	if (p->cfg.password_file)
		return secret_from_file(p->cfg.password_file, err);
	if (p->cfg.password_env)
		return secret_from_env(p->cfg.password_env, err);
	if (pool_is_local(p))
		return xstrdup("");
	return NULL;
}

static void set_failure(struct entry *e, char *why)
{
	free(e->failure);
	e->failure = why;
	e->failure_new = why != NULL;
}

const char *pool_take_failure(struct pool *p)
{
	struct entry *e = entry_of(p);

	if (!e->failure_new)
		return NULL;
	e->failure_new = false;
	return e->failure;
}

/* The connection itself, once the password is known. */
static void open_connection(struct pools *ps, struct entry *e, const char *secret)
{
	struct pool *p = &e->p;
	struct xapi_opts o;

	memset(&o, 0, sizeof(o));
	o.url = p->cfg.url;
	o.user = p->cfg.user;
	o.password = secret;
	o.fingerprint = p->cfg.fingerprint;
	o.insecure = p->cfg.insecure;
	o.known_hosts = ps->known_hosts;
	p->x = xapi_new(ps->net, ps->loop, &o);
	if (ps->gate)
		xapi_set_gate(p->x, ps->gate, ps->gate_ud);
	p->cache = cache_new(p->x, ps->loop);
	p->ops = ops_new(p->x, p->cache);
	p->metrics = metrics_new(ps->loop, p->x, p->cache);
	p->closing = false;
	p->cert_asked = false;
	e->releasing = false;
	cache_subscribe(p->cache, on_cache, e);
	ops_on_change(p->ops, on_op, e);
	notify(ps, p, CACHE_STATUS, NULL, NULL);
	cache_start(p->cache);
}

static void on_password_command(char *password, const char *err, void *ud)
{
	struct entry *e = ud;

	e->cmd = NULL;
	if (!password) {
		set_failure(e, xstrdup(err));
		notify(e->owner, &e->p, CACHE_STATUS, NULL, NULL);
		return;
	}
	open_connection(e->owner, e, password);
	secret_free(password);
}

enum connect_result pool_connect(struct pools *ps, struct pool *p, const char *password, char **err)
{
	struct entry *e = entry_of(p);
	char *secret;

	*err = NULL;
	if (e->cmd)
		return CONNECT_STARTED; /* its password_command is running */
	set_failure(e, NULL);
	if (p->x && !p->closing && xapi_state(p->x) != XAPI_FAILED) {
		if (xapi_state(p->x) == XAPI_RETRY)
			xapi_connect(p->x); /* now, not after the backoff */
		return CONNECT_STARTED;
	}
	if (p->x) {
		/* failed (or still logging out): start again from scratch */
		e->done = NULL;
		release(e);
		notify(ps, p, CACHE_LOADED, NULL, NULL);
	}
	if (password)
		pool_set_password(p, password);
	if (pool_needs_password(p))
		return CONNECT_NEED_PASSWORD;
	if (!e->password && !p->cfg.password_file && !p->cfg.password_env && p->cfg.password_command) {
		/* never a blocking popen here: curses owns the terminal and the loop must turn */
		e->cmd = secret_command_start(ps->loop, p->cfg.password_command, SECRET_COMMAND_TIMEOUT_MS,
					      on_password_command, e);
		notify(ps, p, CACHE_STATUS, NULL, NULL);
		return CONNECT_STARTED;
	}
	secret = password_of(p, err);
	if (!secret)
		return CONNECT_FAILED;
	open_connection(ps, e, secret);
	secret_free(secret);
	return CONNECT_STARTED;
}

/* Drops the connection: its pending calls are answered ("connection
 * closed") while the ops and the cache they refer to still exist. */
static void release(struct entry *e)
{
	struct pool *p = &e->p;

	if (e->release_timer) {
		loop_timer_cancel(e->owner->loop, e->release_timer);
		e->release_timer = NULL;
	}
	if (e->members_timer) {
		loop_timer_cancel(e->owner->loop, e->members_timer);
		e->members_timer = NULL;
	}
	e->members_gen++;
	if (!p->x || e->releasing)
		return;
	e->releasing = true;
	metrics_free(p->metrics); /* its transfers first: they use x and the cache */
	p->metrics = NULL;
	cache_stop(p->cache);
	xapi_free(p->x);
	p->x = NULL;
	ops_free(p->ops);
	p->ops = NULL;
	cache_free(p->cache);
	p->cache = NULL;
	p->closing = false;
	e->releasing = false;
}

static void check_all_closed(struct pools *ps)
{
	void (*closed)(void *) = ps->closed;

	if (!closed)
		return;
	for (size_t i = 0; i < ps->n; i++)
		if (ps->items[i]->p.x)
			return;
	ps->closed = NULL;
	closed(ps->closed_ud);
}

static void on_release_timer(struct loop *l, void *ud)
{
	struct entry *e = ud;
	struct pools *ps = e->owner;
	void (*done)(struct pool *, void *) = e->done;

	e->release_timer = NULL;
	release(e);
	e->done = NULL;
	notify(ps, &e->p, CACHE_LOADED, NULL, NULL);
	notify(ps, &e->p, CACHE_STATUS, NULL, NULL);
	if (done)
		done(&e->p, e->done_ud);
	check_all_closed(ps);
}

static void on_logged_out(struct xapi *x, void *ud)
{
	struct entry *e = ud;

	if (e->releasing)
		return; /* the logout answered as release() drops it */
	/* not from inside xapi's own callback: on the next turn of the loop */
	if (e->release_timer)
		loop_timer_cancel(e->owner->loop, e->release_timer);
	e->release_timer = loop_timer(e->owner->loop, 0, on_release_timer, e);
}

void pool_disconnect(struct pools *ps, struct pool *p, void (*done)(struct pool *p, void *ud), void *ud)
{
	struct entry *e = entry_of(p);

	set_failure(e, NULL);
	if (e->cmd) {
		/* still running its password_command: it goes, and nothing connects */
		secret_command_cancel(e->cmd);
		e->cmd = NULL;
		notify(ps, p, CACHE_STATUS, NULL, NULL);
	}
	if (!p->x) {
		if (done)
			done(p, ud);
		return;
	}
	e->done = done;
	e->done_ud = ud;
	if (p->closing)
		return;
	p->closing = true;
	cache_stop(p->cache);
	notify(ps, p, CACHE_STATUS, NULL, NULL);
	/* the server may not answer: drop the connection after a while anyway */
	e->release_timer = loop_timer(ps->loop, POOL_LOGOUT_MS, on_release_timer, e);
	xapi_logout(p->x, on_logged_out, e);
}

void pools_close_all(struct pools *ps, void (*done)(void *ud), void *ud)
{
	ps->closed = done;
	ps->closed_ud = ud;
	for (size_t i = 0; i < ps->n; i++)
		if ((ps->items[i]->p.x && !ps->items[i]->p.closing) || ps->items[i]->cmd)
			pool_disconnect(ps, &ps->items[i]->p, NULL, NULL);
	check_all_closed(ps);
}

void pool_set_cfg(struct pool *p, const struct server_cfg *cfg)
{
	struct server_cfg copy;

	server_cfg_copy(&copy, cfg);
	server_cfg_free(&p->cfg);
	p->cfg = copy;
	if (!p->cfg.user)
		p->cfg.user = xstrdup("root");
}

void pool_set_password(struct pool *p, const char *password)
{
	struct entry *e = entry_of(p);

	secret_free(e->password);
	e->password = password ? xstrdup(password) : NULL;
}

/* ---- state ---------------------------------------------------------------------- */

enum pool_state pool_state(const struct pool *p, const char **why)
{
	enum xapi_failure kind;
	const char *unused;

	if (!why)
		why = &unused;
	*why = "";
	if (const_entry_of(p)->cmd)
		return POOL_CONNECTING; /* its password_command runs */
	if (!p->x && const_entry_of(p)->failure) {
		*why = const_entry_of(p)->failure;
		return POOL_FAILED;
	}
	if (!p->x || p->closing)
		return POOL_DISCONNECTED;
	switch (xapi_state(p->x)) {
	case XAPI_IDLE:
		return POOL_CONNECTING;
	case XAPI_LOGIN:
		if (xapi_silent(p->x, NULL)) {
			/* trying again a pool that stopped answering: still lost */
			*why = xapi_state_message(p->x);
			return POOL_RETRYING;
		}
		return POOL_CONNECTING;
	case XAPI_READY:
		if (cache_failed(p->cache)) {
			*why = cache_status(p->cache);
			return POOL_FAILED;
		}
		if (!cache_loaded(p->cache))
			return POOL_CONNECTING;
		if (strcmp(cache_status(p->cache), "live") != 0) {
			*why = cache_status(p->cache);
			return POOL_RETRYING;
		}
		return POOL_CONNECTED;
	case XAPI_RETRY:
		*why = xapi_state_message(p->x);
		return POOL_RETRYING;
	case XAPI_FAILED:
		*why = xapi_last_error(p->x, &kind);
		return POOL_FAILED;
	case XAPI_CLOSED:
		return POOL_DISCONNECTED;
	}
	return POOL_DISCONNECTED;
}

const char *pool_state_name(enum pool_state s)
{
	switch (s) {
	case POOL_DISCONNECTED: return "disconnected";
	case POOL_CONNECTING: return "connecting";
	case POOL_CONNECTED: return "connected";
	case POOL_RETRYING: return "reconnecting";
	case POOL_FAILED: return "failed";
	}
	return "";
}

/* ---- qualified refs ------------------------------------------------------------------ */

char *pool_qref(const struct pool *p, const char *ref, char *buf, size_t n)
{
	snprintf(buf, n, "%d/%s", p->id, ref ? ref : "");
	return buf;
}

struct pool *pools_resolve(const struct pools *ps, const char *qref, const char **ref)
{
	char *end;
	long id;
	const char *unused;

	if (!ref)
		ref = &unused;
	*ref = NULL;
	if (!qref)
		return NULL;
	id = strtol(qref, &end, 10);
	if (end == qref || *end != '/')
		return NULL;
	*ref = end + 1;
	return pools_by_id(ps, (int)id);
}

const struct xv *pools_lookup(const struct pools *ps, const char *qref, struct pool **p, const char **ref)
{
	const char *unused;
	struct pool *pool;

	if (!ref)
		ref = &unused;
	pool = pools_resolve(ps, qref, ref);

	if (p)
		*p = pool;
	return pool && pool->cache && *ref ? cache_get(pool->cache, *ref) : NULL;
}
