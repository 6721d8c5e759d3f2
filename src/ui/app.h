/* The application: the screen stack, key dispatch (dialog, command line,
 * screen table, screen, global keys), the status line, the key bar,
 * transient messages, and drawing only when something changed. */
#ifndef XENTUI_UI_APP_H
#define XENTUI_UI_APP_H

#include <stdarg.h>
#include <stdbool.h>
#include <time.h>

#include "cache.h"
#include "config.h"
#include "loop.h"
#include "ops.h"
#include "pools.h"
#include "screen.h"

struct app;
struct dialog;

struct app_env {
	struct loop *loop;
	struct pools *pools;
	struct config *config;          /* the servers screen edits and saves it */
	const struct command *commands; /* ends with a NULL name */
	const struct screen *help;      /* what `?` shows */
	bool confirm_quit;
};

struct app *app_new(const struct app_env *env);
/* Call after pools_drop_all, before pools_free. */
void app_free(struct app *app);

struct loop *app_loop(struct app *app);
struct pools *app_pools(struct app *app);
struct config *app_config(struct app *app);
/* The pool the user is looking at: the selection's if the screen says,
 * else the last one it said, else the first connected; NULL if none. */
struct pool *app_pool(struct app *app);
/* The record a qualified ref ("ID/REF") names, if its pool has it. */
const struct xv *app_lookup(struct app *app, const char *qref, struct pool **p, const char **ref);
/* More than one pool is connected: lists show a POOL column, messages name the pool. */
bool app_many_pools(struct app *app);
/* Connects p, asking for its password first when it has no source;
 * announce says so in a message (a user's request, not the start). */
void app_connect(struct app *app, struct pool *p, bool announce);

/* Screens. */
void app_push(struct app *app, const struct screen *s, const void *arg);
void app_pop(struct app *app);
/* Back to the bottom screen, then shows s (unless it is the bottom one). */
void app_jump(struct app *app, const struct screen *s, const void *arg);
const struct screen *app_top(struct app *app);
/* The screen under the top one, or NULL (the help screen describes it). */
const struct screen *app_below(struct app *app);
void *app_below_state(struct app *app);

/* Something changed: draw soon (once, however many calls). */
void app_dirty(struct app *app);
/* Draw everything again from scratch (F5, ^L, resize). */
void app_repaint(struct app *app);
/* Input is waiting on stdin: handles every key there; returns how many. */
int app_input(struct app *app);
void app_resize(struct app *app);

enum msg_level { MSG_INFO, MSG_ERROR };
/* Shows a message on the message line (two lines when long); a later
 * screen change clears it, and the history (`:messages`) keeps it. */
void app_message(struct app *app, enum msg_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The history of this run's messages, oldest first: i in 0..count-1;
 * *when is when it was last said, *repeat how many times in a row. */
int app_messages_count(const struct app *app);
const char *app_messages_at(const struct app *app, int i, enum msg_level *level, time_t *when, int *repeat);
/* How many older messages the history no longer holds. */
long app_messages_dropped(const struct app *app);

/* Dialogs stack over the screens and take the keys first; the app owns them. */
void app_open_dialog(struct app *app, struct dialog *d);
bool app_has_dialog(const struct app *app);
/* The open dialog tagged tag (dialog_set_tag), or NULL: one per subject. */
struct dialog *app_find_dialog(struct app *app, const char *tag);

/* The text cursor for this frame (a field being edited); default hidden. */
void app_cursor(struct app *app, WINDOW *w, int y, int x);

/* Starts an op in pool p with the usual messages when it ends ("done" or
 * why not); NULL (and a message) when p is not connected. */
struct op *app_op(struct app *app, struct pool *p, const char *label, const char *method, struct xv *params);
/* The same for an op whose end the caller handles (done, ud). */
struct op *app_op_then(struct app *app, struct pool *p, const char *label, const char *method, struct xv *params,
		       op_fn done, void *ud);
/* A call without a task (setters have no Async form), with the same messages. */
void app_call(struct app *app, struct pool *p, const char *label, const char *method, struct xv *params);
/* The same, calling fn with the result (after the message on failure);
 * fn may be NULL. */
void app_call_then(struct app *app, struct pool *p, const char *label, const char *method, struct xv *params,
		   void (*fn)(struct app *app, struct pool *p, bool ok, void *ud), void *ud);
/* A call whose answer the screen reads and reports itself (no message):
 * fn gets every result; a pool that is not connected (or closing) gets no
 * call and fn a transport failure at once. The one way a screen calls. */
void app_query(struct app *app, struct pool *p, const char *method, struct xv *params, xapi_fn fn, void *ud);
/* "label" with one pool, "pool: label" with several (for messages). */
char *app_pool_label(struct app *app, const struct pool *p, const char *label);
/* Keeps data (freed with free_fn) until app_release or the end. */
void app_keep(struct app *app, void *data, void (*free_fn)(void *));
void app_release(struct app *app, void *data);

/* At a host's own console (--local): the lock (src/ui/lock.h) keys feed
 * and Ctrl-L engages; the caller owns it. NULL: none. */
struct lock;
void app_set_lock(struct app *app, struct lock *l);
struct lock *app_lock(struct app *app);
/* For changes made outside XenAPI calls (a child `xentui backup` or `xentui
 * vm`), which the lock's gate does not see: true when allowed; false while
 * locked, after opening the password dialog and saying to try again. */
bool app_may_change(struct app *app, const char *what);

/* Asks (or not, per configuration) and quits: logs out, then stops the loop. */
void app_quit(struct app *app, bool ask);
bool app_quitting(const struct app *app);

#endif
