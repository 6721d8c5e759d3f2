/* The app's insides, shared by app.c (stack, keys, drawing), chrome.c
 * (status line, title, key bar) and cmdline.c (`:` and `/`). */
#ifndef XENTUI_UI_APP_INT_H
#define XENTUI_UI_APP_INT_H

#include <curses.h>
#include <stdint.h>
#include <time.h>

#include "app.h"
#include "lineedit.h"

#define MAX_SCREENS 16
#define MAX_MESSAGES 1000 /* the history keeps this many; older ones are counted, not kept */

struct frame {
	const struct screen *s;
	void *st;
};

enum edit_mode {
	MODE_NONE,
	MODE_COMMAND, /* `:` */
	MODE_FILTER,  /* `/` */
};

/* One line of the message history (`:messages`). */
struct msg_entry {
	char *text;
	enum msg_level level;
	time_t when;  /* the last time it was said */
	int repeat;   /* said this many times in a row */
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
	struct dialog **dialogs; /* grows: a dialog is never dropped */
	int ndialogs, dialogs_cap;

	bool dirty, too_small;
	struct loop_timer *draw_timer, *clock_timer, *msg_timer, *quit_timer;
	char clock[8];

	char *msg;
	enum msg_level msg_level;
	unsigned msg_key;  /* key_count when it was said: older ones go on a screen change */
	unsigned key_count; /* keys dispatched so far */
	struct msg_entry *history; /* oldest first */
	int nhistory;
	long history_dropped;

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
	struct lock *lock; /* at a host's own console: changes wait for root's password */
};

/* chrome.c */
void chrome_status(struct app *app, int cols);
void chrome_title(struct app *app, int y, int cols);
void chrome_keybar(struct app *app, int y, int cols);
/* The rows the message line needs now: 2 when a message is too long for one. */
int chrome_message_rows(struct app *app, int cols);
/* Draws the message (or command) line in rows rows from y. */
void chrome_message(struct app *app, int y, int rows, int cols);
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
