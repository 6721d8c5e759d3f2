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
	MUI_DISK_R,    /* bytes a second, every disk (vbd_DEV_read; a host's io_throughput_read_SR8 in MiB/s) */
	MUI_DISK_W,
	MUI_LOAD,      /* a host's loadavg: a plain number */
	MUI_IOPS_R,    /* requests a second, every disk (vbd_DEV_iops_read; a host's iops_read_SR8) */
	MUI_IOPS_W,
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
/* Every latest figure of obj at once, in one pass over its series (as mui_last says each):
 * for lists of thousands of rows. */
struct mui_now {
	bool known[MUI_KINDS];
	double v[MUI_KINDS];
	long long t; /* the newest sample's time (0: none) */
};
void mui_now(const struct metrics *m, const char *obj, bool host, struct mui_now *f);

/* The devices k has for obj, sorted (a vCPU's or core's number, "0" of vif_0_rx, "eth0",
 * "xvda", a host's SR as the first 8 characters of its uuid): *out (to free with
 * mui_devices_free), their count returned. Memory and load have none. */
size_t mui_devices(const struct metrics *m, const char *obj, bool host, enum mui_kind k, char ***out);
void mui_devices_free(char **devs, size_t n);
/* As mui_last and mui_get, for one device of k only (dev from mui_devices). */
bool mui_last_dev(const struct metrics *m, const char *obj, bool host, enum mui_kind k, const char *dev, double *v);
size_t mui_get_dev(const struct metrics *m, const char *obj, bool host, enum mui_kind k, const char *dev,
		   enum metrics_span span, double *out, size_t max, long long *t_end, int *step);
/* A list row's network (receive + send) and disk (read + write) cells, in bytes a second, with their
 * sort keys; empty, sorting last (-1), while unknown. */
void mui_rate_cells(const struct metrics *m, const char *uuid, bool host, char *net, size_t nnet, double *net_n,
		    char *disk, size_t ndisk, double *disk_n);
/* The same from figures already read. */
void mui_rate_cells_of(const struct mui_now *f, char *net, size_t nnet, double *net_n, char *disk, size_t ndisk,
		       double *disk_n);

/* Whether the figures held for vm (a VM record of c) are of its current run: it runs or is
 * paused and its last CPU sample is later than its start. A halted VM keeps its series for
 * its graphs; a list shows no figure for it, nor one from before it started again. */
bool mui_vm_current(const struct metrics *m, const struct cache *c, const struct xv *vm);
/* The same for figures already read by mui_now (vm running or paused is the caller's test). */
bool mui_now_current(const struct mui_now *f, const struct cache *c, const struct xv *vm);

/* A list row's CPU cell ("12.3% " and a sparkline of the last 30 s) and MEM USED cell
 * ("1.2 GiB / 4.0 GiB"), with their sort keys; empty, sorting last (-1), while unknown. */
void mui_list_cells(const struct metrics *m, const char *uuid, bool host, char *cpu, size_t ncpu, double *cpu_n,
		    char *mem, size_t nmem, double *mem_n);

/* Puts the row of key again (its figures read anew). */
typedef void (*mui_row_fn)(struct app *app, const char *key, void *ud);
/* Draws a list t in h x cols: the figures of the rows on screen refreshed first (every row's
 * when sorted by col_cpu, col_mem, col_net or col_disk; -100: a column it has not), then the
 * table, then the metrics of the rows now on screen wanted for the next METRICS_WANT_MS (all
 * of them when so sorted). */
void mui_table_draw_rates(struct app *app, struct table *t, int col_cpu, int col_mem, int col_net, int col_disk,
			  bool host, WINDOW *w, int h, int cols, mui_row_fn remetric, void *ud);

/* The graph style for this terminal (XENTUI_GRAPH=braille|blocks|ascii forces one). */
enum graph_style mui_style(void);

#endif
