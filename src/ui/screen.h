/* What a screen is: one file in screens/ exporting one const struct screen
 * of callbacks and its key table (tmux's window modes, htop's panels). The
 * app walks the tables: it dispatches keys, draws the key bar and the help
 * from them, and never knows a screen's insides. */
#ifndef XENTUI_UI_SCREEN_H
#define XENTUI_UI_SCREEN_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

#include "cache.h"

struct app;
struct pool;
struct table;

/* What key handlers return. */
enum {
	EV_IGNORED = 0,
	EV_HANDLED = 1,
};

struct screen_key {
	int key;            /* XK_* or a character; 0 ends the table */
	const char *label;  /* in the key bar: "Start" */
	const char *help;   /* in the help screen: what it does */
	void (*fn)(struct app *app, void *st);
	/* NULL: always; false hides it from the key bar (the key still explains itself) */
	bool (*available)(struct app *app, void *st);
	bool bar;           /* shown in the key bar when available */
};

struct screen {
	const char *name;  /* "vms" */
	const char *title; /* "VMs" */
	const struct screen_key *keys;
	const struct screen_key *shared_keys; /* a second table several screens share (VM actions) */
	/* arg is what the pusher passed (a ref, another screen); returns the state */
	void *(*enter)(struct app *app, const void *arg);
	void (*leave)(struct app *app, void *st);
	/* draws the body: h x cols at the window's origin */
	void (*draw)(struct app *app, void *st, WINDOW *w, int h, int cols);
	/* keys no table entry took (movement, tabs); optional */
	int (*key)(struct app *app, void *st, int key);
	/* every cache change of pool p, while the screen is on the stack; p is
	 * NULL when the set of pools changed (rebuild from all); optional */
	void (*on_cache_event)(struct app *app, void *st, struct pool *p, enum cache_op op, const char *cls,
			       const char *ref);
	/* the list / filters, or NULL; optional */
	struct table *(*list)(struct app *app, void *st);
	/* the title line's text (default: title), into buf; optional */
	void (*describe)(struct app *app, void *st, char *buf, size_t n);
	/* the pool of what is selected (the status line names it); optional */
	struct pool *(*pool)(struct app *app, void *st);
	/* what `/` takes here beyond plain text, for the help; optional */
	const char *filter_help;
	/* the whole key bar ("key", "label", ... NULL) instead of the screen's
	 * and the global keys, for a screen whose keys go elsewhere (the
	 * console: `:` `?` `q` go to the guest); NULL: the usual bar; optional */
	const char *const *(*keybar)(struct app *app, void *st);
};

/* A `:` command: a screen to show, or something to run. */
struct command {
	const char *name;
	const char *alias;
	const char *help;
	const struct screen *screen;                  /* jumps there */
	void (*run)(struct app *app, const char *arg); /* or runs this */
	/* completes the argument: calls add for every candidate; optional */
	void (*complete_arg)(struct app *app, void (*add)(void *ctx, const char *word), void *ctx);
};

#endif
