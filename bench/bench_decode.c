/* Decode speed of xentui's XML-RPC decoder on a captured reply, fed in
 * 16 KiB pieces as libcurl delivers it: whole, and keeping only the fields
 * the cache keeps (as `xentui list vms` does). Prints MB/s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strpool.h"
#include "util.h"
#include "xmlrpc.h"

static const char *const kept[] = {"uuid", "name_label", "name_description", "power_state", "is_a_template",
	"is_default_template", "is_a_snapshot", "is_control_domain", "resident_on", "affinity", "memory_static_max",
	"memory_dynamic_max", "memory_dynamic_min", "memory_static_min", "VCPUs_max", "VCPUs_at_startup", "VBDs", "VIFs",
	"consoles", "metrics", "guest_metrics", "snapshots", "snapshot_of", "snapshot_time", "tags", "other_config",
	"allowed_operations", "current_operations", "domain_type", "HVM_boot_params", "platform", "blocked_operations",
	"parent", "domid", NULL};

static int keep(void *ud, int depth, const char *name, const struct xmlrpc_at *at)
{
	(void)at;
	if (depth != 3)
		return true;
	for (const char *const *k = kept; *k; k++)
		if (strcmp(*k, name) == 0)
			return true;
	return false;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double run(const char *data, size_t len, bool filtered, int rounds)
{
	double best = 1e9;

	for (int r = 0; r < rounds; r++) {
		struct strpool *pool = strpool_new();
		struct xmlrpc_decoder *d = xmlrpc_decoder_new();
		struct xmlrpc_msg m;
		double t0 = now(), t;

		if (filtered) {
			xmlrpc_decoder_set_filter(d, keep, NULL);
			xmlrpc_decoder_set_pool(d, pool, true); /* as the client decodes */
		}
		for (size_t off = 0; off < len; off += 16384)
			xmlrpc_decoder_feed(d, data + off, len - off < 16384 ? len - off : 16384);
		if (!xmlrpc_decoder_finish(d, &m)) {
			fprintf(stderr, "decode failed: %s\n", xmlrpc_decoder_error(d));
			exit(1);
		}
		xmlrpc_msg_free(&m);
		xmlrpc_decoder_free(d);
		strpool_free(pool);
		t = now() - t0;
		if (t < best)
			best = t;
	}
	return best;
}

int main(int argc, char **argv)
{
	FILE *f;
	struct buf b;
	char chunk[65536];
	size_t n;
	double whole, filtered;

	if (argc < 2) {
		fprintf(stderr, "usage: bench_decode FILE [ROUNDS]\n");
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	whole = run(b.data, b.len, false, argc > 2 ? atoi(argv[2]) : 3);
	filtered = run(b.data, b.len, true, argc > 2 ? atoi(argv[2]) : 3);
	printf("bytes %zu\nwhole_s %.3f\nwhole_MBps %.1f\nfiltered_s %.3f\nfiltered_MBps %.1f\n", b.len, whole,
	       (double)b.len / 1e6 / whole, filtered, (double)b.len / 1e6 / filtered);
	buf_free(&b);
	return 0;
}
