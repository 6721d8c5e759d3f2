/* Export a VM to an .xva file and import one as a new VM, from the VM
 * screens: the forms, the transfers (each a `xentui vm export|import`
 * child, so the interface never blocks) and the VM files screen that shows
 * their progress and time left, x cancelling one. */
#ifndef XENTUI_SCREENS_VM_FILE_H
#define XENTUI_SCREENS_VM_FILE_H

#include "app.h"
#include "screen.h"

/* Key handlers for screens whose state starts with a struct vm_target. */
void vm_file_export_key(struct app *app, void *st);  /* the VM to a file */
void vm_file_import_key(struct app *app, void *st);  /* a file as a new VM (the selected VM's pool) */
void vm_file_show_key(struct app *app, void *st);    /* the VM files screen */

extern const struct screen screen_vm_files;

#endif
