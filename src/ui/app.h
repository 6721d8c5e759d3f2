/* The application: the screen stack, key dispatch (dialog, command line,
 * screen table, screen, global keys), the status line, the key bar,
 * transient messages, and drawing only when something changed. */
#ifndef XENTUI_UI_APP_H
#define XENTUI_UI_APP_H

#include <stdarg.h>
#include <stdbool.h>

#include "cache.h"
#include "loop.h"
#include "ops.h"
#include "screen.h"
#include "xapi.h"

struct app;
struct dialog;

struct app_env {
	struct loop *loop;
	struct xapi *xapi;
	struct cache *cache;
	struct ops *ops;
	const struct command *commands; /* ends with a NULL name */
	const struct screen *help;      /* what `?` shows */
	const char *server_label;       /* "demo" or the server's name, for the status line */
	bool confirm_quit;
};

struct app *app_new(const struct app_env *env);
void app_free(struct app *app);

struct loop *app_loop(struct app *app);
struct cache *app_cache(struct app *app);
struct ops *app_ops(struct app *app);
struct xapi *app_xapi(struct app *app);

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
void app_message(struct app *app, enum msg_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Dialogs stack over the screens and take the keys first; the app owns them. */
void app_open_dialog(struct app *app, struct dialog *d);
bool app_has_dialog(const struct app *app);

/* The text cursor for this frame (a field being edited); default hidden. */
void app_cursor(struct app *app, WINDOW *w, int y, int x);

/* Starts an op with the usual messages when it ends ("done" or why not). */
struct op *app_op(struct app *app, const char *label, const char *method, struct xv *params);
/* A call without a task (setters have no Async form), with the same messages. */
void app_call(struct app *app, const char *label, const char *method, struct xv *params);
/* Keeps data (freed with free_fn) until app_release or the end. */
void app_keep(struct app *app, void *data, void (*free_fn)(void *));
void app_release(struct app *app, void *data);

/* Asks (or not, per configuration) and quits: logs out, then stops the loop. */
void app_quit(struct app *app, bool ask);
bool app_quitting(const struct app *app);

#endif
