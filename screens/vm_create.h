/* Making a new VM from a template the way xapi's clients do (XO's
 * createVm): clone the template, provision, settings, disks (VDI + VBD),
 * a CD drive, VIFs, then start if asked. A chain of calls driven by their
 * answers, with progress in the message line; a failing step undoes what
 * the chain made, newest first, so no half-made VM is left. */
#ifndef XENTUI_SCREENS_VM_CREATE_H
#define XENTUI_SCREENS_VM_CREATE_H

#include <stdbool.h>

#include "app.h"

enum boot_mode {
	BOOT_BIOS,
	BOOT_UEFI,
	BOOT_UEFI_SECURE,
};

#define PLAN_MAX_DISKS 2
#define PLAN_MAX_NETS 2

struct vm_plan_disk {
	char *name;
	long long size;
	char *sr; /* SR ref */
};

/* What the user asked for; refs are the pool's own. */
struct vm_plan {
	char *template_ref;
	char *name, *description;
	long long vcpus, memory;
	char *iso;         /* VDI ref of the ISO to insert, or NULL */
	bool network_boot; /* boot from the network first (PXE) */
	bool hvm;          /* an HVM template: firmware and boot order apply */
	enum boot_mode boot;
	char *networks[PLAN_MAX_NETS];
	int nnetworks;
	struct vm_plan_disk disks[PLAN_MAX_DISKS];
	int ndisks;
	bool start;
};

void vm_plan_free(struct vm_plan *plan);
/* Starts making the VM in pool p (takes plan); says how it went in messages. */
void vm_create_start(struct app *app, struct pool *p, struct vm_plan *plan);

#endif
