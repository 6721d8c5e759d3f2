/* src/metrics against xapi-sim: the history a graph asks for (10 minutes of
 * 5 s points, 2 hours of 1 minute points) equals the sim's known function
 * of time (tests/sim/rrd.c, recomputed here) at every point, a later fetch
 * moves the newest point on, a dropped want drops the data, and a list's
 * want_all keeps only the series it names. On a pool whose legend is many
 * pieces, every running VM's figure stays the sim's while VMs stop (the
 * legend kept between replies, read again from where it changed). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "cache.h"
#include "loop.h"
#include "metrics.h"
#include "net.h"
#include "simproc.h"
#include "util.h"
#include "xapi.h"

/* ---- the sim's function, independently ---------------------------------------- */

static uint64_t mix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ULL;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
	return x ^ (x >> 31);
}

static uint64_t fnv(const char *s, uint64_t h)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return mix(h);
}

static double sim_cpu(const char *uuid, const char *name, long long t)
{
	uint64_t h = fnv(name, fnv(uuid, 0xcbf29ce484222325ULL));
	double phase = (double)(h % 10000) / 10000.0 * 2 * M_PI;
	double noise = (double)(mix(h ^ (uint64_t)(t / 5)) % 10000) / 10000.0;
	double wave = (1 + sin(2 * M_PI * (double)t / (240.0 + (double)(h % 360)) + phase)) / 2;

	return 0.01 + 0.3 * wave + 0.04 * noise;
}

/* ---- the loop ------------------------------------------------------------------- */

struct env {
	struct simproc sim;
	struct loop *loop;
	struct net *net;
	struct xapi *x;
	struct cache *cache;
	struct metrics *m;
	int updates;
	char host[40], vm[40];
	bool called, call_ok; /* vm_call's answer */
	long long after;      /* fresh_all: figures newer than this */
	int checked, bad;
	int answers;    /* test_not_behind_calls: slow calls answered */
	bool refreshed; /* and its refresh done */
};

struct waiter {
	bool (*pred)(struct env *e);
	struct env *e;
	int64_t deadline;
};

static void tick(struct loop *l, void *ud)
{
	struct waiter *w = ud;

	if (w->pred(w->e) || loop_now() >= w->deadline) {
		loop_stop(l, 0);
		return;
	}
	loop_timer(l, 20, tick, w);
}

static void run_until(struct env *e, bool (*pred)(struct env *), int timeout_ms)
{
	struct waiter w = {pred, e, loop_now() + timeout_ms};

	loop_timer(e->loop, 0, tick, &w);
	loop_run(e->loop);
}

static bool loaded(struct env *e)
{
	return cache_loaded(e->cache);
}

static void on_update(struct metrics *m, void *ud)
{
	struct env *e = ud;

	(void)m;
	e->updates++;
}

static bool first_host(const char *ref, const struct xv *rec, void *ud)
{
	struct env *e = ud;

	(void)ref;
	snprintf(e->host, sizeof(e->host), "%s", rec_str(rec, "uuid"));
	return false;
}

static bool running_vm(const char *ref, const struct xv *rec, void *ud)
{
	struct env *e = ud;

	(void)ref;
	if (rec_bool(rec, "is_control_domain") || strcmp(rec_str(rec, "power_state"), "Running") != 0)
		return true;
	snprintf(e->vm, sizeof(e->vm), "%s", rec_str(rec, "uuid"));
	return false;
}

static int setup_with(void **state, const char *const *args)
{
	struct env *e = xcalloc(1, sizeof(*e));
	struct xapi_opts o = {0};

	if (!simproc_start(&e->sim, args))
		return -1;
	e->loop = loop_new();
	e->net = net_new(e->loop);
	o.url = e->sim.url;
	o.user = "root";
	o.password = "xapi-sim";
	o.fingerprint = e->sim.fingerprint;
	e->x = xapi_new(e->net, e->loop, &o);
	e->cache = cache_new(e->x, e->loop);
	cache_start(e->cache);
	run_until(e, loaded, 20000);
	if (!cache_loaded(e->cache))
		return -1;
	cache_each(e->cache, "host", first_host, e);
	cache_each(e->cache, "VM", running_vm, e);
	e->m = metrics_new(e->loop, e->x, e->cache);
	metrics_on_update(e->m, on_update, e);
	*state = e;
	return 0;
}

static int setup(void **state)
{
	const char *args[] = {NULL};

	return setup_with(state, args);
}

/* A legend of about 300 KB: several pieces (rrdparse.c's RRD_PIECE). */
static int setup_big(void **state)
{
	const char *args[] = {"--vms", "300", NULL};

	return setup_with(state, args);
}

static int teardown(void **state)
{
	struct env *e = *state;

	metrics_free(e->m);
	cache_stop(e->cache);
	xapi_free(e->x);
	cache_free(e->cache);
	net_free(e->net);
	loop_free(e->loop);
	assert_true(simproc_stop(&e->sim));
	free(e);
	return 0;
}

static bool have_history(struct env *e)
{
	double v[120];
	long long t1, t2;
	int s1, s2;

	return metrics_get(e->m, e->host, "cpu_avg", METRICS_10MIN, v, 120, &t1, &s1) == 120
	       && metrics_get(e->m, e->vm, "cpu0", METRICS_2H, v, 120, &t2, &s2) == 120;
}

static void check_points(const char *uuid, const char *series, const double *v, size_t n, long long end, int step)
{
	int known = 0;

	for (size_t i = 0; i < n; i++) {
		long long t = end - (long long)(n - 1 - i) * step;
		if (isnan(v[i]))
			continue; /* a slot the archive had no row for */
		known++;
		if (fabs(v[i] - sim_cpu(uuid, series, t)) > 1e-12) {
			print_error("%s %s at %lld: %.17g, the sim says %.17g\n", uuid, series, t, v[i],
				    sim_cpu(uuid, series, t));
			fail();
		}
	}
	assert_true(known >= (int)n - 1); /* the archive's oldest row may be one step short */
}

static void test_history_equals_the_sim(void **state)
{
	struct env *e = *state;
	double v[120], last;
	long long end, t_last;
	int step;
	size_t n;

	assert_true(e->host[0] && e->vm[0]);
	metrics_want(e->m, e->host, METRICS_10MIN);
	metrics_want(e->m, e->vm, METRICS_2H);
	run_until(e, have_history, 20000);
	assert_true(e->updates > 0);

	n = metrics_get(e->m, e->host, "cpu_avg", METRICS_10MIN, v, 120, &end, &step);
	assert_int_equal(n, 120);
	assert_int_equal(step, 5);
	assert_int_equal(end % 5, 0);
	assert_true(llabs((long long)time(NULL) - end) <= 15);
	check_points(e->host, "cpu_avg", v, n, end, step);

	/* a graph narrower than the archive gets the newest points */
	n = metrics_get(e->m, e->host, "cpu_avg", METRICS_10MIN, v, 24, &end, &step);
	assert_int_equal(n, 24);
	check_points(e->host, "cpu_avg", v, n, end, step);

	n = metrics_get(e->m, e->vm, "cpu0", METRICS_2H, v, 120, &end, &step);
	assert_int_equal(n, 120);
	assert_int_equal(step, 60);
	assert_int_equal(end % 60, 0);
	check_points(e->vm, "cpu0", v, n, end, step);

	/* the latest value is the 5 s archive's newest row */
	assert_true(metrics_last(e->m, e->vm, "cpu0", &last, &t_last));
	assert_true(fabs(last - sim_cpu(e->vm, "cpu0", t_last)) < 1e-12);
	assert_null(metrics_error(e->m));
}

static long long seen_end;

static bool moved_on(struct env *e)
{
	double v[1];
	long long end;
	int step;

	metrics_want(e->m, e->host, METRICS_10MIN); /* as a screen redrawing */
	return metrics_get(e->m, e->host, "cpu_avg", METRICS_10MIN, v, 1, &end, &step) == 1 && end > seen_end;
}

static void test_later_fetch_moves_on(void **state)
{
	struct env *e = *state;
	double v[120];
	long long end;
	int step;

	metrics_get(e->m, e->host, "cpu_avg", METRICS_10MIN, v, 120, &seen_end, &step);
	run_until(e, moved_on, 12000);
	assert_int_equal(metrics_get(e->m, e->host, "cpu_avg", METRICS_10MIN, v, 120, &end, &step), 120);
	assert_true(end >= seen_end + 5);
	check_points(e->host, "cpu_avg", v, 120, end, step);
}

static bool count_series(const char *series, void *ud)
{
	(void)series;
	(*(int *)ud)++;
	return true;
}

static void test_unwant_drops(void **state)
{
	struct env *e = *state;
	double v;
	int n = 0;

	metrics_each_series(e->m, e->host, count_series, &n);
	assert_true(n > 3);
	metrics_unwant(e->m, e->host);
	assert_false(metrics_last(e->m, e->host, "cpu_avg", &v, NULL));
	n = 0;
	metrics_each_series(e->m, e->host, count_series, &n);
	assert_int_equal(n, 0);
}

static bool listed_known(struct env *e)
{
	double v;

	metrics_want_all(e->m, METRICS_NOW); /* as a list redrawing */
	return metrics_last(e->m, e->host, "cpu_avg", &v, NULL) && metrics_last(e->m, e->vm, "cpu0", &v, NULL);
}

static bool host_memory_known(struct env *e)
{
	double v;

	metrics_want(e->m, e->host, METRICS_NOW); /* as a screen redrawing */
	return metrics_last(e->m, e->host, "memory_free_kib", &v, NULL);
}

/* A list's want_all keeps only the series it prints (metrics_only); an object
 * wanted by name (a screen open on it) keeps them all. */
static void test_only_keeps_listed(void **state)
{
	struct env *e = *state;
	static const char *const shown[] = {"cpu_avg", "cpu#"};
	double v;
	long long t;

	metrics_unwant(e->m, e->vm);
	metrics_only(e->m, shown, 2);
	run_until(e, listed_known, 15000);
	assert_null(metrics_error(e->m));
	assert_true(metrics_last(e->m, e->host, "cpu_avg", &v, &t));
	assert_true(fabs(v - sim_cpu(e->host, "cpu_avg", t)) < 1e-12);
	assert_true(metrics_last(e->m, e->vm, "cpu0", &v, &t));
	assert_true(fabs(v - sim_cpu(e->vm, "cpu0", t)) < 1e-12);
	assert_false(metrics_last(e->m, e->host, "memory_free_kib", &v, NULL));
	assert_false(metrics_last(e->m, e->vm, "memory", &v, NULL));
	run_until(e, host_memory_known, 15000);
	assert_true(metrics_last(e->m, e->host, "memory_free_kib", &v, NULL));
	assert_false(metrics_last(e->m, e->vm, "memory", &v, NULL));
	metrics_only(e->m, NULL, 0);
}

static void on_call(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct env *e = ud;

	(void)x;
	e->called = true;
	e->call_ok = r->failure == XAPI_OK;
	if (!e->call_ok)
		print_error("the call failed: %s\n", r->message ? r->message : "?");
}

static bool called(struct env *e)
{
	return e->called;
}

/* Calls method on vm_ref and waits for the answer. */
static void vm_call(struct env *e, const char *method, const char *vm_ref)
{
	struct xv *params = xv_array();

	xv_array_push(params, xv_string(vm_ref));
	e->called = false;
	xapi_call(e->x, method, params, on_call, e);
	run_until(e, called, 20000);
	assert_true(e->called && e->call_ok);
}

static bool check_vm(const char *ref, const struct xv *rec, void *ud)
{
	struct env *e = ud;
	const char *uuid = rec_str(rec, "uuid");
	double v;
	long long t;

	(void)ref;
	if (rec_bool(rec, "is_control_domain") || strcmp(rec_str(rec, "power_state"), "Running") != 0)
		return true;
	if (!metrics_last(e->m, uuid, "cpu0", &v, &t) || t <= e->after) {
		e->checked = -1000000; /* not fresh yet */
		return true;
	}
	e->checked++;
	if (fabs(v - sim_cpu(uuid, "cpu0", t)) > 1e-12) {
		print_error("VM %s cpu0 at %lld: %.17g, the sim says %.17g\n", uuid, t, v, sim_cpu(uuid, "cpu0", t));
		e->bad++;
	}
	return true;
}

/* Every running VM's cpu0 newer than e->after (as :top redrawing). */
static bool fresh_all(struct env *e)
{
	metrics_want_all(e->m, METRICS_NOW);
	e->checked = e->bad = 0;
	cache_each(e->cache, "VM", check_vm, e);
	return e->checked > 0;
}

static bool running_ref(const char *ref, const struct xv *rec, void *ud)
{
	const char **out = ud;

	if (rec_bool(rec, "is_control_domain") || strcmp(rec_str(rec, "power_state"), "Running") != 0)
		return true;
	*out = ref;
	return false;
}

static void test_legend_changes_keep_values(void **state)
{
	struct env *e = *state;
	for (int round = 0; round < 4; round++) {
		if (round == 1 || round == 2) {
			/* a VM stops: its columns leave the legend, the later ones move up (the sim's
			 * hosts are full: a VM started again finds no memory, so two stop) */
			const char *ref = NULL;
			char vm_ref[64];
			cache_each(e->cache, "VM", running_ref, &ref);
			assert_non_null(ref);
			snprintf(vm_ref, sizeof(vm_ref), "%s", ref);
			vm_call(e, "VM.hard_shutdown", vm_ref);
		}
		/* round 3: the same legend again, skipped whole */
		e->after = (long long)time(NULL);
		run_until(e, fresh_all, 30000);
		assert_true(e->checked > 50);
		assert_int_equal(e->bad, 0);
	}
	assert_null(metrics_error(e->m));
}

/* Every connection the calls may open to the host (six) busy with a call
 * the host takes 3 s to answer, and one more waiting: an /rrd_updates
 * fetch still goes out at once, on a connection of its own. */
static int setup_busy(void **state)
{
	const char *args[] = {"--faults", "delay=3000:VM.get_record", NULL};

	return setup_with(state, args);
}

static void on_slow_answer(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct env *e = ud;

	(void)x;
	assert_int_equal(r->failure, XAPI_OK);
	e->answers++;
}

static void on_refreshed(struct metrics *m, void *ud)
{
	(void)m;
	((struct env *)ud)->refreshed = true;
}

static bool refreshed(struct env *e)
{
	return e->refreshed;
}

static bool all_answered(struct env *e)
{
	return e->answers == 7;
}

static void test_not_behind_calls(void **state)
{
	struct env *e = *state;
	const char *ref = NULL;
	double v[1];
	long long end;
	int step;

	assert_non_null(cache_by_uuid(e->cache, "VM", e->vm, &ref));
	for (int i = 0; i < 7; i++) {
		struct xv *p = xv_array();
		xv_array_push(p, xv_string(ref));
		xapi_call(e->x, "VM.get_record", p, on_slow_answer, e);
	}
	metrics_want_all(e->m, METRICS_NOW);
	metrics_refresh(e->m, on_refreshed, e);
	run_until(e, refreshed, 2500);
	assert_true(e->refreshed);
	assert_int_equal(e->answers, 0); /* the calls are still out */
	assert_null(metrics_error(e->m));
	assert_int_equal(metrics_get(e->m, e->host, "cpu_avg", METRICS_NOW, v, 1, &end, &step), 1);
	run_until(e, all_answered, 15000);
	assert_int_equal(e->answers, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_history_equals_the_sim),
		cmocka_unit_test(test_later_fetch_moves_on),
		cmocka_unit_test(test_unwant_drops),
		cmocka_unit_test(test_only_keeps_listed),
		/* a pool of its own, larger: one group, so one plan for tests/run-all */
		cmocka_unit_test_setup_teardown(test_legend_changes_keep_values, setup_big, teardown),
		cmocka_unit_test_setup_teardown(test_not_behind_calls, setup_busy, teardown),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, setup, teardown);
	curl_global_cleanup();
	return rc;
}
