/* Every screen, and the `:` command table that names them. */
#ifndef XENTUI_SCREENS_H
#define XENTUI_SCREENS_H

#include "screen.h"

extern const struct screen screen_dashboard;
extern const struct screen screen_vms;
extern const struct screen screen_vm;    /* arg: the VM's ref */
extern const struct screen screen_hosts;
extern const struct screen screen_host;  /* arg: the host's ref */
extern const struct screen screen_local; /* --local: waits for this host, then shows it */
extern const struct screen screen_tasks;
extern const struct screen screen_messages; /* the history of messages (:messages, L) */
extern const struct screen screen_templates; /* Enter makes a new VM from one */
extern const struct screen screen_storage;
extern const struct screen screen_sr;     /* arg: the SR's qualified ref */
extern const struct screen screen_console; /* arg: the VM's qualified ref, or "vnc:HOST:PORT" */
extern const struct screen screen_servers;
extern const struct screen screen_pool;    /* the pool shown: its hosts, master, HA */
extern const struct screen screen_networks;
extern const struct screen screen_network; /* arg: the network's qualified ref */
/* From :networks, also used by the network's screen: a dialog for the network qref. */
void network_rename(struct app *app, const char *qref);
void network_destroy(struct app *app, const char *qref);
extern const struct screen screen_host_jobs; /* maintenance, reboots, rolling updates */
extern const struct screen screen_updates;
extern const struct screen screen_host_settings; /* arg: the host's qualified ref */
extern const struct screen screen_host_pci;      /* arg: the host's qualified ref */
extern const struct screen screen_help;  /* describes the screen under it */
extern const struct screen screen_top;   /* running VMs by CPU, memory, network or disk (issue 13) */

/* The host screen's actions (host_maint.c), and the qualified ref of the
 * host a host screen's state shows. */
extern const struct screen_key host_action_keys[];
const char *host_screen_qref(void *st);

extern const struct command screen_commands[];

#endif
