/* A host's settings, PCI passthrough and the updater plugin: the handlers
 * calls_host.c lists, and what happens to them when a host reboots. */
#ifndef SIM_HOST_EXTRA_H
#define SIM_HOST_EXTRA_H

#include <stdbool.h>

#include "db.h"
#include "rpc.h"

/* host_config.c: xsconsole's settings over XenAPI */
struct xv *host_set_hostname_live(struct call *c, struct xv **err);
struct xv *host_enable_ssh(struct call *c, struct xv **err);
struct xv *host_disable_ssh(struct call *c, struct xv **err);
struct xv *host_syslog_reconfigure(struct call *c, struct xv **err);
struct xv *host_set_ntp_mode(struct call *c, struct xv **err);
struct xv *host_set_ntp_custom_servers(struct call *c, struct xv **err);
struct xv *host_get_ntp_servers_status(struct call *c, struct xv **err);
struct xv *host_get_ntp_synchronized(struct call *c, struct xv **err);
struct xv *host_set_timezone(struct call *c, struct xv **err);
struct xv *host_list_timezones(struct call *c, struct xv **err);
struct xv *host_management_reconfigure(struct call *c, struct xv **err);
struct xv *pif_reconfigure_ip(struct call *c, struct xv **err);
struct xv *pif_reconfigure_ipv6(struct call *c, struct xv **err);

/* pci.c: dom0 access, which changes only when the host boots */
struct xv *pci_disable_dom0_access(struct call *c, struct xv **err);
struct xv *pci_enable_dom0_access(struct call *c, struct xv **err);
struct xv *pci_get_dom0_access_status(struct call *c, struct xv **err);
void pci_on_boot(struct obj *host);
/* The driver dom0 binds to a device it keeps ("igb", "ahci", ...). */
const char *pci_dom0_driver(const struct obj *pci);

/* plugins.c: host.call_plugin and XCP-ng's updater.py */
struct xv *host_call_plugin(struct call *c, struct xv **err);
void updater_on_boot(struct obj *host);

/* calls_host.c: this process's own host is rebooting; xapi answers
 * HOST_STILL_BOOTING to everything until it is back. */
bool sim_local_host_booting(void);

#endif
