/* A VM's devices, from its screen's Disks and Network tabs: the DVD drive
 * (insert an ISO, the guest tools ISO, eject), disks (new, attach an
 * existing one, remove), network interfaces (add, remove) and a VIF's TX
 * checksum offload, each as Xen Orchestra does it. */
#ifndef XENTUI_SCREENS_VM_DEVICES_H
#define XENTUI_SCREENS_VM_DEVICES_H

#include <stdbool.h>

#include "app.h"
#include "vm_actions.h"

enum vm_devices_tab { VMDEV_OTHER, VMDEV_DISKS, VMDEV_NETWORK };

/* What the device keys need from the screen they are on. */
struct vm_devices_view {
	enum vm_devices_tab (*tab)(void *st);
	/* the selected VBD (Disks) or VIF (Network), the pool's own ref, or NULL */
	const char *(*selected)(void *st);
};

/* The state of a screen using these keys starts with this. */
struct vm_devices_head {
	struct vm_target target;
	struct vm_devices_view devices;
};

void vm_dev_add(struct app *app, void *st);           /* a: new disk / new interface */
void vm_dev_attach(struct app *app, void *st);        /* A: an existing disk */
void vm_dev_remove(struct app *app, void *st);        /* d: the selected disk / interface */
void vm_dev_insert(struct app *app, void *st);        /* i: an ISO into the DVD drive */
void vm_dev_guest_tools(struct app *app, void *st);   /* g: the guest tools ISO */
void vm_dev_eject(struct app *app, void *st);         /* E */
void vm_dev_tx_offload(struct app *app, void *st);    /* T: TX checksum offload on/off */

bool vm_dev_on_devices(struct app *app, void *st); /* Disks or Network tab */
bool vm_dev_on_disks(struct app *app, void *st);
bool vm_dev_on_network(struct app *app, void *st);
bool vm_dev_has_selection(struct app *app, void *st);
bool vm_dev_vif_selected(struct app *app, void *st);

/* "off" when the VIF's TX checksum offload is off (other_config ethtool-tx), else "on". */
const char *vm_dev_tx_text(const struct xv *vif);

#endif
