/* Where a VM can run and where its disks can go, read from the cache as
 * xapi judges it (assert_can_see_SRs): a host sees an SR when its PBD for
 * that SR is attached. Host-local SRs are named with their host, so the
 * pickers never show three identical "Local storage". Draws nothing. */
#ifndef XENTUI_SCREENS_PLACEMENT_H
#define XENTUI_SCREENS_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>

#include "cache.h"

/* host has an attached PBD for sr. */
bool host_sees_sr(const struct cache *c, const char *host, const char *sr);
/* The first SR holding one of vm's disks (or its inserted ISO) that host
 * cannot see, or NULL when host sees them all. */
const char *vm_unseen_sr(const struct cache *c, const struct xv *vm, const char *host);
/* Some host sees every one of the n SRs (a VM with disks there can start). */
bool srs_seen_together(const struct cache *c, const char *const *srs, size_t n);
/* host is live and enabled: xapi starts and migrates VMs to no other. */
bool host_takes_vms(const struct cache *c, const char *host);
/* A new disk of vm may go on sr: its host sees sr (a running, paused
 * VM), or some host sees sr as well as every disk vm has (halted). */
bool vm_can_use_sr(const struct cache *c, const struct xv *vm, const char *sr);
/* "Local storage (xcp-ng-01)" for an SR local to one host, else its name;
 * written into buf, which is returned. */
const char *sr_label(const struct cache *c, const char *ref, char *buf, size_t n);
/* Some host (but except) takes VMs and sees every SR of vm's disks. */
bool vm_has_a_host(const struct cache *c, const struct xv *vm, const char *except);
/* Why no host (but except, its own host, when not NULL) can run vm now,
 * as a sentence for a person; to free. */
char *vm_nowhere(const struct cache *c, const struct xv *vm, const char *except);

#endif
