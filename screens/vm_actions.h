/* What a user can do to a VM, shared by the VM list and the VM's own
 * screen: the key table and the actions behind it (each an op in the pool,
 * asking first when it is forced or destroys data). */
#ifndef XENTUI_SCREENS_VM_ACTIONS_H
#define XENTUI_SCREENS_VM_ACTIONS_H

#include "app.h"
#include "screen.h"

/* The state of a screen using vm_action_keys starts with this: which VM
 * the keys act on (NULL: none). */
struct vm_target {
	const char *(*ref)(struct app *app, void *st);
};

extern const struct screen_key vm_action_keys[];

/* Runs the VM action bound to key, as if pressed on a screen with st. */
int vm_action(struct app *app, void *st, int key);
/* Reverts the VM to snapshot (asks first). */
void vm_revert_to(struct app *app, const char *snapshot);

#endif
