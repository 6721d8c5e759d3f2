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

/* The VM an action is about: its pool, its own ref, the qualified ref
 * dialogs carry (the pool may be gone when they close), and its record. */
struct vm_sel {
	struct pool *p;
	const char *ref;
	const char *qref;
	const struct xv *vm;
};

/* Fills s with the VM qref names; false when it is gone (or qref NULL). */
bool vm_sel_lookup(struct app *app, const char *qref, struct vm_sel *s);
/* The same for the VM of a screen whose state starts with a vm_target. */
bool vm_sel_of(struct app *app, void *st, struct vm_sel *s);

extern const struct screen_key vm_action_keys[];

/* Runs the VM action bound to key, as if pressed on a screen with st. */
int vm_action(struct app *app, void *st, int key);
/* Reverts the VM to snapshot (asks first). */
void vm_revert_to(struct app *app, const char *snapshot);

#endif
