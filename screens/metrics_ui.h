/* What the screens show of xcp-rrdd's data (issue 13): a pool's metrics
 * with the interface redrawn when points arrive, and the figures people
 * read (CPU %, memory used, network and disk rates) made from xapi's
 * data-source names, for a host or a VM. */
#ifndef XENTUI_METRICS_UI_H
#define XENTUI_METRICS_UI_H

#include <stdbool.h>
#include <stddef.h>

#include "app.h"
#include "graph.h"
#include "metrics.h"
#include "pools.h"
#include "table.h"

enum mui_kind {
	MUI_CPU,       /* % (a VM: cpu_usage, else the mean of cpuN as XO; a host: cpu_avg) */
	MUI_MEM,       /* bytes used (a VM: memory less memory_internal_free; a host: total less free) */
	MUI_MEM_TOTAL, /* bytes */
	MUI_NET_RX,    /* bytes a second, every interface (vif_N_rx; a host's pif_ETH_rx) */
	MUI_NET_TX,
	MUI_DISK_R,    /* bytes a second, every disk (vbd_DEV_read) */
	MUI_DISK_W,
	MUI_LOAD,      /* a host's loadavg: a plain number */
	MUI_KINDS
};

/* p's metrics, the app redrawn when new points arrive; NULL when p is not connected. */
struct metrics *mui_metrics(struct app *app, struct pool *p);
/* The unit graph_format reads k in, and its name ("CPU", "Memory", ...). */
const char *mui_unit(enum mui_kind k);
const char *mui_name(enum mui_kind k);
/* The latest figure of k for obj (a uuid; host: a host's); false if none yet. */
bool mui_last(const struct metrics *m, const char *obj, bool host, enum mui_kind k, double *v);
/* Up to max points of k over span, oldest first, NAN where unknown; as metrics_get. */
size_t mui_get(const struct metrics *m, const char *obj, bool host, enum mui_kind k, enum metrics_span span,
	       double *out, size_t max, long long *t_end, int *step);
/* A list row's CPU cell ("12.3% " and a sparkline of the last 30 s) and MEM USED cell
 * ("1.2 GiB / 4.0 GiB"), with their sort keys; empty, sorting last (-1), while unknown. */
void mui_list_cells(const struct metrics *m, const char *uuid, bool host, char *cpu, size_t ncpu, double *cpu_n,
		    char *mem, size_t nmem, double *mem_n);

/* Puts the row of key again (its figures read anew). */
typedef void (*mui_row_fn)(struct app *app, const char *key, void *ud);
/* Draws a list t in h x cols: the figures of the rows on screen refreshed first (every row's
 * when sorted by col_cpu or col_mem), then the table, then the metrics of the rows now on
 * screen wanted for the next METRICS_WANT_MS (all of them when so sorted). */
void mui_table_draw(struct app *app, struct table *t, int col_cpu, int col_mem, bool host, WINDOW *w, int h,
		    int cols, mui_row_fn remetric, void *ud);

/* The graph style for this terminal (XENTUI_GRAPH=braille|blocks|ascii forces one). */
enum graph_style mui_style(void);

#endif
