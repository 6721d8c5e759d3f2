/* Modal dialogs over the current screen: a confirmation, "type the name to
 * confirm", a choice from a list, a message, a form. Each calls its done
 * function once, with what was chosen, the ref it was opened for (a copy
 * the dialog owns) and the caller's pointer. */
#ifndef XENTUI_UI_DIALOG_H
#define XENTUI_UI_DIALOG_H

#include <curses.h>
#include <stdbool.h>

struct app;
struct form;
struct dialog;

struct dialog_result {
	bool ok;                /* confirmed or chosen, not cancelled */
	int choice;             /* choose: the index */
	const char *choice_key; /* choose: the item's key */
	struct form *form;      /* form: the values */
};

typedef void (*dialog_done_fn)(struct app *app, const struct dialog_result *r, const char *ref, void *ud);

/* danger: the default button is "no" and the frame says it is serious. */
struct dialog *dialog_confirm(const char *title, const char *text, const char *yes, const char *no, bool danger);
/* Confirms only once the user has typed name exactly. */
struct dialog *dialog_type_name(const char *title, const char *text, const char *name);
struct dialog *dialog_choose(const char *title, const char *text);
void dialog_add_choice(struct dialog *d, const char *key, const char *label, const char *detail);
struct dialog *dialog_message(const char *title, const char *text);
/* Takes the form. */
struct dialog *dialog_form(const char *title, const char *text, struct form *f);
void dialog_on_done(struct dialog *d, dialog_done_fn fn, const char *ref, void *ud);
/* The dialog frees ud with free_fn when it goes (done must not free it). */
void dialog_own_ud(struct dialog *d, void (*free_fn)(void *));

/* A tag names what the dialog is about ("cert-changed:3"), so that a
 * second occurrence updates the open dialog (app_find_dialog) instead of
 * stacking another. */
void dialog_set_tag(struct dialog *d, const char *tag);
const char *dialog_tag(const struct dialog *d);
/* Replaces the text of an open dialog. */
void dialog_set_text(struct dialog *d, const char *text);

/* For the app. */
enum dialog_state {
	DIALOG_OPEN,
	DIALOG_CLOSED,
};
void dialog_draw(struct dialog *d, struct app *app, WINDOW *w, int h, int cols);
enum dialog_state dialog_key(struct dialog *d, int key);
/* Calls done (once) with the outcome. */
void dialog_finish(struct dialog *d, struct app *app);
void dialog_free(struct dialog *d);
/* The dialog's keys for the key bar: "Enter", "OK", "Esc", "Cancel", ..., NULL. */
const char *const *dialog_hints(const struct dialog *d);

#endif
