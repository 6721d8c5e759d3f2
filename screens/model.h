/* What the screens say about pool objects: names, power states, tools,
 * host use, with the role each is drawn in. Reads the cache, draws nothing. */
#ifndef XENTUI_SCREENS_MODEL_H
#define XENTUI_SCREENS_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "cache.h"
#include "theme.h"

/* The members of a map field (a struct), by position: value.h keeps its
 * layout to itself, so the screens read it only through these. */
size_t map_size(const struct xv *map);
const char *map_key(const struct xv *map, size_t i);
const struct xv *map_value(const struct xv *map, size_t i);

/* A VM a user manages: not a template, snapshot or control domain. */
bool vm_is_guest(const struct xv *vm);
/* name_label of ref, or "" when it is not known. */
const char *name_of(const struct cache *c, const char *ref);
bool is_null_ref(const char *ref);

/* "Running", or what it is busy with ("Migrating"); *role how to draw it. */
const char *vm_power_text(const struct xv *vm, enum role *role);
enum role power_role(const char *power);
/* The first IPv4 address the guest reports, or "". */
const char *vm_ip(const struct cache *c, const struct xv *vm);
/* "yes", "outdated", "no" or "" (not running), as XO's tools column;
 * *role is a theme role or -1 (the row's). */
const char *vm_tools(const struct cache *c, const struct xv *vm, int *role);
/* As XO shows them on a VM's General tab. */
bool vm_management_agent(const struct cache *c, const struct xv *vm, char *version, size_t n);
bool vm_pv_drivers(const struct cache *c, const struct xv *vm, bool *up_to_date);
/* The strings of set joined by ", " into buf (cut at n). */
void strings_text(const struct xv *set, char *buf, size_t n);
/* tags joined by ", " into buf. */
void tags_text(const struct xv *rec, char *buf, size_t n);

struct host_use {
	const char *state; /* "enabled", "disabled", "offline" */
	enum role role;
	double cpu;        /* 0..1, the mean of its CPUs */
	int ncpus;
	long long mem_total, mem_free;
	int vms;           /* resident guests */
};
struct hmap;
/* CPU use of every host in one pass over the CPUs (host ref -> sum):
 * fill with host_cpu_index, give to host_use, free with host_cpu_index_free. */
void host_cpu_index(const struct cache *c, struct hmap *out);
void host_cpu_index_free(struct hmap *idx);
/* idx may be NULL: one host's CPUs are then looked up on their own. */
void host_use(const struct cache *c, const char *ref, const struct xv *host, const struct hmap *idx,
	      struct host_use *u);

/* An SR a new VM disk can go on: not an ISO library or removable media,
 * and it allows vdi_create. */
bool sr_takes_new_disks(const struct xv *sr);

/* The pool object (its ref in *ref), or NULL before the load. */
const struct xv *pool_record(const struct cache *c, const char **ref);
/* "12.0 / 64 GiB"-style use of total. */
void used_of_total(char *buf, size_t n, long long used, long long total);
/* A text bar of width cols for frac: "███░░░". */
void bar_text(char *buf, size_t n, double frac, int cols);
/* "2025-03-19 04:16" from an XML-RPC datetime, or the raw text. */
void datetime_text(const char *xmlrpc, char *buf, size_t n);
/* An XML-RPC datetime (xapi's "20250319T04:16:24Z", UTC; XO's "20250319T041624Z"
 * too) as seconds since the epoch; 0 when it is not one. */
long long datetime_seconds(const char *xmlrpc);

#endif
