/* The client core (loop, connection, cache, operations) against xapi-sim:
 * login failure, certificates, load, events, operations, session expiry,
 * a connection dropped mid-reply, and a slow host that must not freeze the loop. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "cache.h"
#include "errors.h"
#include "loop.h"
#include "net.h"
#include "ops.h"
#include "simproc.h"
#include "util.h"
#include "xapi.h"

struct env {
	struct simproc sim;
	struct loop *loop;
	struct net *net;
	struct xapi *x;
	struct cache *cache;
	char known_hosts[128];
};

/* ---- running the loop until something is true ---------------------------- */

struct waiter {
	bool (*pred)(void *ud);
	void *ud;
	int64_t deadline;
	int ticks;       /* how often the loop ran our timer: it never blocks */
	int tick_ms;
};

static void tick(struct loop *l, void *ud)
{
	struct waiter *w = ud;

	w->ticks++;
	if ((w->pred && w->pred(w->ud)) || loop_now() >= w->deadline) {
		loop_stop(l, 0);
		return;
	}
	loop_timer(l, w->tick_ms, tick, w);
}

static int run_until(struct loop *l, bool (*pred)(void *), void *ud, int timeout_ms)
{
	struct waiter w = {pred, ud, loop_now() + timeout_ms, 0, 20};

	loop_timer(l, 0, tick, &w);
	loop_run(l);
	return w.ticks;
}

static bool is_loaded(void *ud)
{
	return cache_loaded(ud);
}

static void env_connect(struct env *e, const char *password, bool insecure, const char *fingerprint)
{
	struct xapi_opts o = {0};

	o.url = e->sim.url;
	o.user = "root";
	o.password = password;
	o.insecure = insecure;
	o.fingerprint = fingerprint;
	o.known_hosts = e->known_hosts;
	e->loop = loop_new();
	e->net = net_new(e->loop);
	e->x = xapi_new(e->net, e->loop, &o);
	e->cache = cache_new(e->x, e->loop);
}

static void env_start(struct env *e, const char *const *args)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->known_hosts, sizeof(e->known_hosts), "build/test-logs/known_hosts-%d", (int)getpid());
	unlink(e->known_hosts);
	assert_true(simproc_start(&e->sim, args));
}

static void env_disconnect(struct env *e)
{
	if (e->cache)
		cache_stop(e->cache);
	if (e->x)
		xapi_free(e->x);
	cache_free(e->cache);
	net_free(e->net);
	loop_free(e->loop);
	e->cache = NULL;
	e->x = NULL;
	e->net = NULL;
	e->loop = NULL;
}

static void env_end(struct env *e)
{
	env_disconnect(e);
	assert_true(simproc_stop(&e->sim));
	unlink(e->known_hosts);
}

/* ---- tests ------------------------------------------------------------------- */

static bool not_login(void *ud)
{
	enum xapi_state s = xapi_state(ud);

	return s == XAPI_FAILED || s == XAPI_READY;
}

static void test_wrong_password(void **state)
{
	struct env e;
	const char *args[] = {"--plain", "--hosts", "1", "--vms", "2", NULL};
	enum xapi_failure kind;

	env_start(&e, args);
	env_connect(&e, "not-the-password", false, NULL);
	xapi_connect(e.x);
	run_until(e.loop, not_login, e.x, 15000);
	assert_int_equal(xapi_state(e.x), XAPI_FAILED);
	assert_non_null(strstr(xapi_last_error(e.x, &kind), "refused the user name or password"));
	assert_int_equal(kind, XAPI_AUTH);
	env_end(&e);
}

static bool cert_decided(void *ud)
{
	enum xapi_state s = xapi_state(ud);

	return s == XAPI_FAILED || s == XAPI_READY;
}

static void test_certificates(void **state)
{
	struct env e;
	const char *args[] = {"--hosts", "1", "--vms", "1", NULL};
	char first[80];
	enum xapi_failure kind;

	env_start(&e, args);
	/* first contact: unknown, the fingerprint is the one the sim printed */
	env_connect(&e, "xapi-sim", false, NULL);
	xapi_connect(e.x);
	run_until(e.loop, cert_decided, e.x, 10000);
	assert_int_equal(xapi_state(e.x), XAPI_FAILED);
	xapi_last_error(e.x, &kind);
	assert_int_equal(kind, XAPI_CERT_UNKNOWN);
	assert_string_equal(xapi_seen_fingerprint(e.x), e.sim.fingerprint);
	/* the user accepts: saved, and the login goes through */
	xapi_accept_fingerprint(e.x);
	run_until(e.loop, cert_decided, e.x, 10000);
	if (xapi_state(e.x) != XAPI_READY)
		fail_msg("after accepting: %s", xapi_last_error(e.x, NULL));
	env_disconnect(&e);
	/* a new connection trusts the saved fingerprint */
	env_connect(&e, "xapi-sim", false, NULL);
	xapi_connect(e.x);
	run_until(e.loop, cert_decided, e.x, 10000);
	assert_int_equal(xapi_state(e.x), XAPI_READY);
	env_disconnect(&e);
	/* a pinned fingerprint that does not match is refused, naming both */
	env_connect(&e, "xapi-sim", false, "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff");
	xapi_connect(e.x);
	run_until(e.loop, cert_decided, e.x, 10000);
	assert_int_equal(xapi_state(e.x), XAPI_FAILED);
	xapi_last_error(e.x, &kind);
	assert_int_equal(kind, XAPI_CERT_CHANGED);
	assert_non_null(strstr(xapi_last_error(e.x, NULL), "does not match the pinned fingerprint"));
	assert_non_null(strstr(xapi_last_error(e.x, NULL), e.sim.fingerprint));
	snprintf(first, sizeof(first), "%s", e.sim.fingerprint);
	env_disconnect(&e);
	/* the host comes back with a new certificate (same address): refused */
	{
		char url[256];
		snprintf(url, sizeof(url), "%s", e.sim.url);
		assert_true(simproc_stop(&e.sim));
		{
			const char *port = strrchr(url, ':') + 1;
			const char *args2[] = {"--hosts", "1", "--vms", "1", "--port", port, NULL};
			assert_true(simproc_start(&e.sim, args2));
		}
		assert_string_equal(url, e.sim.url);
		assert_string_not_equal(first, e.sim.fingerprint);
	}
	env_connect(&e, "xapi-sim", false, NULL);
	xapi_connect(e.x);
	run_until(e.loop, cert_decided, e.x, 10000);
	assert_int_equal(xapi_state(e.x), XAPI_FAILED);
	xapi_last_error(e.x, &kind);
	assert_int_equal(kind, XAPI_CERT_CHANGED);
	assert_non_null(strstr(xapi_last_error(e.x, NULL), first));
	assert_non_null(strstr(xapi_last_error(e.x, NULL), e.sim.fingerprint));
	env_end(&e);
}

struct counter {
	int adds, mods, dels, loaded;
	char vm[80];
	bool vm_running;
	struct cache *c;
};

static void count_events(struct cache *c, enum cache_op op, const char *cls, const char *ref, void *ud)
{
	struct counter *k = ud;

	if (op == CACHE_LOADED)
		k->loaded++;
	if (op == CACHE_ADD)
		k->adds++;
	if (op == CACHE_DEL)
		k->dels++;
	if (op == CACHE_MOD) {
		k->mods++;
		if (k->vm[0] && strcmp(ref, k->vm) == 0)
			k->vm_running = strcmp(rec_str(cache_get(c, ref), "power_state"), "Running") == 0;
	}
}

struct find_vm {
	const char *state;
	const char *ref;
	const char *name;
};

static bool find_guest(const char *ref, const struct xv *rec, void *ud)
{
	struct find_vm *f = ud;

	if (rec_bool(rec, "is_a_template") || rec_bool(rec, "is_control_domain") || rec_bool(rec, "is_a_snapshot"))
		return true;
	if (strcmp(rec_str(rec, "power_state"), f->state) != 0)
		return true;
	f->ref = ref;
	f->name = rec_str(rec, "name_label");
	return false;
}

/* Counts templates with platform, recommendations and other_config's
 * install-methods (a new VM copies them) and other VMs with any of them
 * (the load drops them, and all of other_config but pci and xo:). */
struct template_fields {
	int templates_whole, others_with;
};

static bool count_template_fields(const char *ref, const struct xv *rec, void *ud)
{
	struct template_fields *t = ud;
	const struct xv *oc = rec_field(rec, "other_config");
	bool whole = rec_field(rec, "platform") && rec_field(rec, "recommendations")
		     && xv_struct_get(oc, "install-methods");

	(void)ref;
	if (rec_bool(rec, "is_a_template")) {
		t->templates_whole += whole;
		return true;
	}
	t->others_with += rec_field(rec, "platform") || rec_field(rec, "recommendations");
	for (size_t i = 0; i < xv_len(oc); i++)
		t->others_with += strcmp(xv_key_at(oc, i), "pci") != 0 && strncmp(xv_key_at(oc, i), "xo:", 3) != 0;
	return true;
}

static bool vm_running(void *ud)
{
	return ((struct counter *)ud)->vm_running;
}

struct op_wait {
	bool done;
	enum op_state state;
	char msg[256];
};

static void op_done(struct ops *ops, struct op *op, void *ud)
{
	struct op_wait *w = ud;

	w->done = true;
	w->state = op->state;
	snprintf(w->msg, sizeof(w->msg), "%s", op->message);
}

static bool op_finished(void *ud)
{
	return ((struct op_wait *)ud)->done;
}

static void test_load_events_and_ops(void **state)
{
	struct env e;
	const char *args[] = {"--plain", "--hosts", "2", "--vms", "12", "--seed", "7", NULL};
	struct counter k = {0};
	struct find_vm f = {"Halted", NULL, NULL};
	struct template_fields tf = {0, 0};
	struct ops *ops;
	struct op_wait w = {0};
	struct xv *p;
	char ref[80], name[128];

	env_start(&e, args);
	env_connect(&e, "xapi-sim", false, NULL);
	cache_subscribe(e.cache, count_events, &k);
	cache_start(e.cache);
	run_until(e.loop, is_loaded, e.cache, 20000);
	assert_true(cache_loaded(e.cache));
	assert_int_equal(k.loaded, 1);
	assert_int_equal(cache_count(e.cache, "host"), 2);
	/* 12 guests, 2 control domains, and the templates */
	assert_true(cache_count(e.cache, "VM") >= 14);
	assert_int_equal(cache_count(e.cache, "pool"), 1);
	/* only the fields screens use are kept */
	cache_each(e.cache, "VM", find_guest, &f);
	assert_non_null(f.ref);
	assert_null(rec_field(cache_get(e.cache, f.ref), "PV_legacy_args"));
	assert_non_null(rec_field(cache_get(e.cache, f.ref), "power_state"));
	/* a template keeps what a new VM copies; other VMs do not */
	cache_each(e.cache, "VM", count_template_fields, &tf);
	assert_true(tf.templates_whole > 0);
	assert_int_equal(tf.others_with, 0);
	snprintf(ref, sizeof(ref), "%s", f.ref);
	snprintf(name, sizeof(name), "%s", f.name);

	/* an operation as a task; the VM's change arrives as an event */
	ops = ops_new(e.x, e.cache);
	snprintf(k.vm, sizeof(k.vm), "%s", ref);
	p = xv_array();
	xv_array_push(p, xv_string(ref));
	xv_array_push(p, xv_bool(false));
	xv_array_push(p, xv_bool(false));
	ops_start(ops, "Start VM", "VM.start", p, op_done, &w);
	run_until(e.loop, op_finished, &w, 20000);
	assert_true(w.done);
	assert_int_equal(w.state, OP_DONE);
	run_until(e.loop, vm_running, &k, 10000);
	assert_true(k.vm_running);
	assert_string_equal(rec_str(cache_get(e.cache, ref), "power_state"), "Running");

	/* starting it again fails with a sentence naming the VM */
	memset(&w, 0, sizeof(w));
	p = xv_array();
	xv_array_push(p, xv_string(ref));
	xv_array_push(p, xv_bool(false));
	xv_array_push(p, xv_bool(false));
	ops_start(ops, "Start VM", "VM.start", p, op_done, &w);
	run_until(e.loop, op_finished, &w, 20000);
	assert_int_equal(w.state, OP_FAILED);
	{
		char expect[256];
		snprintf(expect, sizeof(expect), "VM '%s' is running; it must be halted for this", name);
		assert_string_equal(w.msg, expect);
	}
	ops_free(ops);
	cache_unsubscribe(e.cache, count_events, &k);
	env_end(&e);
}

static bool relogged(void *ud)
{
	struct env *e = ud;

	return xapi_login_count(e->x) >= 2 && cache_loaded(e->cache);
}

static void test_session_expiry(void **state)
{
	struct env e;
	const char *args[] = {"--plain", "--hosts", "1", "--vms", "3", NULL};

	env_start(&e, args);
	env_connect(&e, "xapi-sim", false, NULL);
	cache_start(e.cache);
	run_until(e.loop, is_loaded, e.cache, 20000);
	assert_true(cache_loaded(e.cache));
	assert_int_equal(xapi_login_count(e.x), 1);
	/* every session ends; the long poll gets SESSION_INVALID: log in, reload */
	simproc_signal(&e.sim, SIGUSR1);
	run_until(e.loop, relogged, &e, 45000);
	assert_int_equal(xapi_login_count(e.x), 2);
	assert_true(cache_loaded(e.cache));
	assert_int_equal(cache_count(e.cache, "host"), 1);
	env_end(&e);
}

static void test_drop_mid_reply(void **state)
{
	struct env e;
	const char *args[] = {"--plain", "--hosts", "1", "--vms", "5", "--faults", "drop:VM.get_all_records*1", NULL};
	enum xapi_failure kind = XAPI_OK;

	env_start(&e, args);
	env_connect(&e, "xapi-sim", false, NULL);
	cache_start(e.cache);
	/* the first load loses its VM list halfway; the client reconnects and loads again */
	run_until(e.loop, is_loaded, e.cache, 30000);
	assert_true(cache_loaded(e.cache));
	assert_true(cache_count(e.cache, "VM") >= 6);
	assert_int_equal(xapi_state(e.x), XAPI_READY);
	/* the fault fired: the reply was cut (a transport failure naming the
	 * short reply) and the connection was made again (a second session) */
	xapi_last_error(e.x, &kind);
	print_message("# last failure: %s\n", xapi_last_error(e.x, NULL));
	assert_int_equal(kind, XAPI_TRANSPORT);
	assert_non_null(strstr(xapi_last_error(e.x, NULL), "partial")); /* curl's "Transferred a partial file" */
	assert_int_equal(xapi_login_count(e.x), 2);
	env_end(&e);
}

static void test_slow_host_does_not_freeze(void **state)
{
	struct env e;
	const char *args[] = {"--plain", "--hosts", "1", "--vms", "2", "--faults", "delay=3000:VM.get_all_records*1", NULL};
	int64_t t0;
	int ticks;

	env_start(&e, args);
	env_connect(&e, "xapi-sim", false, NULL);
	cache_start(e.cache);
	t0 = loop_now();
	ticks = run_until(e.loop, is_loaded, e.cache, 20000);
	assert_true(cache_loaded(e.cache));
	/* the load waited on the slow reply... */
	assert_true(loop_now() - t0 >= 2900);
	/* ...while the loop kept running its 20 ms timer */
	assert_true(ticks >= 3000 / 20 / 2);
	env_end(&e);
}

static bool on_master_and_loaded(void *ud)
{
	struct env *e = ud;

	return xapi_state(e->x) == XAPI_READY && cache_loaded(e->cache) && strstr(xapi_url(e->x), "127.0.0.1");
}

struct master_wait {
	struct env *e;
	unsigned logins;
};

static bool followed_new_master(void *ud)
{
	struct master_wait *w = ud;

	return strstr(xapi_url(w->e->x), "127.0.0.2") && xapi_login_count(w->e->x) > w->logins
	       && cache_loaded(w->e->cache);
}

static bool find_host_at(const char *ref, const struct xv *rec, void *ud)
{
	const char **out = ud;

	if (strcmp(rec_str(rec, "address"), "127.0.0.2") == 0) {
		*out = ref;
		return false;
	}
	return true;
}

static void ignore_result(struct xapi *x, const struct xapi_result *r, void *ud)
{
	*(bool *)ud = r->failure == XAPI_OK;
}

/* A member answers HOST_IS_SLAVE: the client goes to the master by itself,
 * and follows a new master with no one doing anything. */
static void test_host_is_slave_and_new_master(void **state)
{
	struct env e;
	struct simproc b;
	const char *argsa[] = {"--plain", "--bind", "127.0.0.1", "--hosts", "2", "--vms", "4", "--seed", "3", NULL};
	char port[16], master[64], url_b[256];
	const char *bref = NULL;
	struct master_wait w;
	bool ok = false;
	struct xv *p;

	env_start(&e, argsa);
	snprintf(port, sizeof(port), "%s", strrchr(e.sim.url, ':') + 1);
	snprintf(master, sizeof(master), "127.0.0.1:%s", port);
	{
		const char *argsb[] = {"--plain", "--bind", "127.0.0.2", "--port", port, "--hosts", "1", "--vms", "0",
				       "--seed", "4", "--join-as-slave-of", master, NULL};
		assert_true(simproc_start(&b, argsb));
	}
	snprintf(url_b, sizeof(url_b), "%s", b.url);
	/* connect to the member: end up on the master, with its three hosts */
	snprintf(e.sim.url, sizeof(e.sim.url), "%s", url_b);
	env_connect(&e, "xapi-sim", false, NULL);
	cache_start(e.cache);
	run_until(e.loop, on_master_and_loaded, &e, 30000);
	assert_true(on_master_and_loaded(&e));
	assert_int_equal(cache_count(e.cache, "host"), 3);
	cache_each(e.cache, "host", find_host_at, &bref);
	assert_non_null(bref);

	/* make the member the master: the long poll hears HOST_IS_SLAVE, the
	 * client logs in to 127.0.0.2 and reloads, with no one asking it to */
	w.e = &e;
	w.logins = xapi_login_count(e.x);
	p = xv_array();
	xv_array_push(p, xv_string(bref));
	xapi_call(e.x, "pool.designate_new_master", p, ignore_result, &ok);
	run_until(e.loop, followed_new_master, &w, 45000);
	assert_true(ok);
	assert_true(followed_new_master(&w));
	assert_int_equal(cache_count(e.cache, "host"), 3);
	env_disconnect(&e);
	assert_true(simproc_stop(&b));
	assert_true(simproc_stop(&e.sim));
	unlink(e.known_hosts);
}

struct two {
	struct cache *a, *b;
};

static bool both_loaded(void *ud)
{
	struct two *t = ud;

	return cache_loaded(t->a) && cache_loaded(t->b);
}

/* Two pools at once on one loop, each with its connection and cache; an
 * operation on one, cancelled halfway, leaves the other alone. */
static void test_two_pools_and_cancel(void **state)
{
	struct env a, b;
	const char *args_a[] = {"--plain", "--hosts", "2", "--vms", "6", "--seed", "21", NULL};
	const char *args_b[] = {"--plain", "--hosts", "1", "--vms", "3", "--seed", "22", NULL};
	struct two t;
	struct find_vm f = {"Running", NULL, NULL};
	struct ops *ops;
	struct op_wait w = {0};
	struct op *op;
	struct xv *p;
	char ref[80];

	env_start(&a, args_a);
	env_start(&b, args_b);
	env_connect(&a, "xapi-sim", false, NULL);
	/* the second pool shares the first one's loop and curl multi */
	{
		struct xapi_opts o = {0};
		o.url = b.sim.url;
		o.user = "root";
		o.password = "xapi-sim";
		b.x = xapi_new(a.net, a.loop, &o);
		b.cache = cache_new(b.x, a.loop);
	}
	cache_start(a.cache);
	cache_start(b.cache);
	t.a = a.cache;
	t.b = b.cache;
	run_until(a.loop, both_loaded, &t, 30000);
	assert_true(both_loaded(&t));
	assert_int_equal(cache_count(a.cache, "host"), 2);
	assert_int_equal(cache_count(b.cache, "host"), 1);

	cache_each(a.cache, "VM", find_guest, &f);
	assert_non_null(f.ref);
	snprintf(ref, sizeof(ref), "%s", f.ref);
	ops = ops_new(a.x, a.cache);
	p = xv_array();
	xv_array_push(p, xv_string(ref));
	op = ops_start(ops, "Shut down", "VM.clean_shutdown", p, op_done, &w);
	/* cancel as soon as the task exists */
	while (!op->task && !w.done)
		run_until(a.loop, NULL, NULL, 20);
	ops_cancel(ops, op);
	run_until(a.loop, op_finished, &w, 20000);
	assert_int_equal(w.state, OP_CANCELLED);
	assert_string_equal(w.msg, "cancelled");
	assert_string_equal(rec_str(cache_get(a.cache, ref), "power_state"), "Running");
	assert_null(cache_get(b.cache, ref));
	ops_free(ops);
	cache_stop(b.cache);
	xapi_free(b.x);
	cache_free(b.cache);
	b.x = NULL;
	b.cache = NULL;
	env_end(&a);
	assert_true(simproc_stop(&b.sim));
	unlink(b.known_hosts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrong_password),
		cmocka_unit_test(test_certificates),
		cmocka_unit_test(test_load_events_and_ops),
		cmocka_unit_test(test_session_expiry),
		cmocka_unit_test(test_drop_mid_reply),
		cmocka_unit_test(test_slow_host_does_not_freeze),
		cmocka_unit_test(test_host_is_slave_and_new_master),
		cmocka_unit_test(test_two_pools_and_cancel),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
