/* CPU xentui's core uses while connected and idle: connects with the real
 * client core (xapi + cache over net and loop), waits for the full load,
 * lets it settle for a second, then runs the loop with nothing to do but
 * the event.from long poll for N seconds and prints the user+system CPU of that idle part (getrusage).
 *   bench_idle URL [SECONDS]   (password from $XAPI_PASSWORD, else xapi-sim;
 *                               any certificate is accepted)
 * Prints "key value" lines; the goal (<= 0.1 %) is judged by bench/core.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <curl/curl.h>

#include "cache.h"
#include "loop.h"
#include "net.h"
#include "xapi.h"

#define SETTLE_MS 1000

struct bench {
	struct loop *loop;
	struct xapi *x;
	struct cache *cache;
	bool idle;         /* past the load */
	long changes;      /* add/mod/del heard while idle */
};

static void on_cache(struct cache *c, enum cache_op op, const char *cls, const char *ref, void *ud)
{
	struct bench *b = ud;

	if (b->idle) {
		if (op == CACHE_ADD || op == CACHE_MOD || op == CACHE_DEL)
			b->changes++;
		return;
	}
	if (op == CACHE_LOADED)
		loop_stop(b->loop, 0);
	else if (op == CACHE_STATUS && (cache_failed(c) || xapi_state(b->x) == XAPI_FAILED))
		loop_stop(b->loop, 1);
}

static void on_deadline(struct loop *l, void *ud)
{
	int *fired = ud;

	*fired = 1;
	loop_stop(l, 2);
}

static double cpu_seconds(const struct rusage *u)
{
	return (double)u->ru_utime.tv_sec + (double)u->ru_utime.tv_usec / 1e6 + (double)u->ru_stime.tv_sec +
	       (double)u->ru_stime.tv_usec / 1e6;
}

static double tv_seconds(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	struct xapi_opts o = {0};
	struct bench b = {0};
	struct net *net;
	struct loop_timer *deadline;
	struct rusage before, after;
	const char *pw = getenv("XAPI_PASSWORD");
	double seconds = argc > 2 ? atof(argv[2]) : 60.0;
	int fired = 0, rc;
	int64_t t0, loaded, t1, t2;

	if (argc < 2 || seconds <= 0) {
		fprintf(stderr, "usage: bench_idle URL [SECONDS]\n");
		return 2;
	}
	o.url = argv[1];
	o.user = "root";
	o.password = pw ? pw : "xapi-sim";
	o.insecure = true;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	b.loop = loop_new();
	net = net_new(b.loop);
	b.x = xapi_new(net, b.loop, &o);
	b.cache = cache_new(b.x, b.loop);
	cache_subscribe(b.cache, on_cache, &b);

	/* the load, bounded */
	t0 = loop_now();
	deadline = loop_timer(b.loop, 180000, on_deadline, &fired);
	cache_start(b.cache);
	rc = loop_run(b.loop);
	if (!fired)
		loop_timer_cancel(b.loop, deadline);
	loaded = loop_now();
	if (rc != 0 || !cache_loaded(b.cache)) {
		fprintf(stderr, "bench_idle: not loaded (%s): %s\n", rc == 2 ? "timed out" : "failed",
			cache_status(b.cache));
		rc = 1;
		goto out;
	}

	/* a second to settle: the first event.from answers with what happened
	 * during the load (at least event.inject's own event), which is loading
	 * work, not idling */
	b.idle = true;
	loop_timer(b.loop, SETTLE_MS, on_deadline, &fired);
	loop_run(b.loop);
	b.changes = 0;

	/* the idle part: only the loop's own wake-ups and the long poll */
	getrusage(RUSAGE_SELF, &before);
	t1 = loop_now();
	loop_timer(b.loop, (int64_t)(seconds * 1000.0), on_deadline, &fired);
	loop_run(b.loop);
	t2 = loop_now();
	getrusage(RUSAGE_SELF, &after);
	{
		double idle = (double)(t2 - t1) / 1000.0;
		double cpu = cpu_seconds(&after) - cpu_seconds(&before);

		printf("vms %zu\n", cache_count(b.cache, "VM"));
		printf("load_s %.3f\n", (double)(loaded - t0) / 1000.0);
		printf("settle_s %.3f\n", SETTLE_MS / 1000.0);
		printf("idle_s %.3f\n", idle);
		printf("user_s %.4f\n", tv_seconds(&after.ru_utime) - tv_seconds(&before.ru_utime));
		printf("sys_s %.4f\n", tv_seconds(&after.ru_stime) - tv_seconds(&before.ru_stime));
		printf("cpu_s %.4f\n", cpu);
		printf("cpu_pct %.4f\n", 100.0 * cpu / idle);
		/* each voluntary switch is one sleep in poll(): the wake-ups */
		printf("wakeups %ld\n", after.ru_nvcsw - before.ru_nvcsw);
		printf("changes %ld\n", b.changes);
		printf("status %s\n", cache_status(b.cache));
	}
	rc = 0;
out:
	cache_stop(b.cache);
	xapi_free(b.x);
	cache_free(b.cache);
	net_free(net);
	loop_free(b.loop);
	curl_global_cleanup();
	return rc;
}
