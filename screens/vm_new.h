/* The New VM form: what XO's form asks (name, description, vCPUs, memory,
 * install media, boot mode, networks, disk, start), filled in from the
 * template's recommendations, then handed to vm_create. */
#ifndef XENTUI_SCREENS_VM_NEW_H
#define XENTUI_SCREENS_VM_NEW_H

#include "app.h"

/* Opens the form for the template a qualified ref names. */
void vm_new_open(struct app *app, const char *template_qref);

#endif
