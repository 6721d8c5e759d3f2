/* The OpenMetrics text of pools' performance data, with the metric names,
 * help and labels of Xen Orchestra's openmetrics plugin
 * (packages/xo-server-openmetrics), so dashboards built for it work
 * unchanged; and the same samples as JSON for `xentui metrics dump --json`. */
#ifndef XENTUI_OPENMETRICS_H
#define XENTUI_OPENMETRICS_H

#include <stddef.h>

#include "cache.h"
#include "metrics.h"
#include "util.h"

/* One pool's part: its cache (loaded) and metrics (refreshed with METRICS_NOW for all). */
struct om_pool {
	const struct cache *cache;
	const struct metrics *metrics;
};

/* Appends the OpenMetrics exposition of every pool to out, "# EOF" last; returns the sample count. */
size_t om_format(const struct om_pool *pools, size_t n, struct buf *out);
/* The same samples as a JSON array of {name, type, help, labels, value, timestamp}. */
size_t om_format_json(const struct om_pool *pools, size_t n, struct buf *out);

/* A VM's CPU usage ratio as XO computes it (cpu_usage, else the mean of cpuN); false if unknown. */
bool om_vm_cpu_usage(const struct metrics *m, const char *uuid, double *v, long long *t);

#endif
