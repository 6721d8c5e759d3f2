/* The app's insides, shared by app.c (stack, keys, drawing), chrome.c
 * (status line, title, key bar) and cmdline.c (`:` and `/`). */
#ifndef XENTUI_UI_APP_INT_H
#define XENTUI_UI_APP_INT_H

#include <curses.h>
#include <stdint.h>

#include "app.h"
#include "lineedit.h"

#define MAX_SCREENS 16
#define MAX_DIALOGS 8

struct frame {
	const struct screen *s;
	void *st;
};

enum edit_mode {
	MODE_NONE,
	MODE_COMMAND, /* `:` */
	MODE_FILTER,  /* `/` */
};

struct kept {
	void *data;
	void (*free_fn)(void *);
	struct kept *next;
};

struct app {
	struct app_env env;
	WINDOW *body;  /* between the title line and the message line */
	WINDOW *input; /* a pad keys are read from: reading never refreshes it */
	struct frame stack[MAX_SCREENS];
	int nstack;
	struct dialog *dialogs[MAX_DIALOGS];
	int ndialogs;

	bool dirty, too_small;
	struct loop_timer *draw_timer, *clock_timer, *msg_timer, *quit_timer;
	char clock[8];

	char *msg;
	enum msg_level msg_level;

	enum edit_mode edit;
	struct lineedit line;
	char **completions; /* Tab cycles through these */
	int ncompletions, completion;

	WINDOW *cursor_win; /* the text cursor this frame, if any */
	int cursor_y, cursor_x;
	int cursor_shown;

	bool quitting;
	struct kept *kept;
	int pool_id; /* the pool last selected (app_pool) */
};

/* chrome.c */
void chrome_status(struct app *app, int cols);
void chrome_title(struct app *app, int y, int cols);
void chrome_keybar(struct app *app, int y, int cols);
void chrome_message(struct app *app, int y, int cols);
/* Reads the time into app->clock and arms the timer for the next minute. */
void chrome_clock(struct app *app);
void chrome_clock_arm(struct app *app, int64_t ms);

/* connect.c: a pool's connection changed state (it may need the user) */
void connect_pool_event(struct app *app, struct pool *p);

/* cmdline.c */
void cmdline_start(struct app *app, enum edit_mode mode);
void cmdline_key(struct app *app, int key);
void cmdline_free(struct app *app);
/* The list the filter applies to, or NULL. */
struct table *app_list(struct app *app);

#endif
