#include "app_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialog.h"
#include "draw.h"
#include "errors.h"
#include "keys.h"
#include "lock.h"
#include "table.h"
#include "theme.h"
#include "util.h"

#define MIN_ROWS 24
#define MIN_COLS 80
#define MESSAGE_MS 6000
#define ERROR_MS 12000

static void draw(struct app *app);

/* ---- accessors -------------------------------------------------------------- */

struct loop *app_loop(struct app *app)
{
	return app->env.loop;
}

struct pools *app_pools(struct app *app)
{
	return app->env.pools;
}

struct config *app_config(struct app *app)
{
	return app->env.config;
}

struct pool *app_pool(struct app *app)
{
	struct pools *ps = app->env.pools;
	struct pool *p = NULL;

	for (int i = app->nstack - 1; i >= 0 && !p; i--) {
		struct frame *f = &app->stack[i];
		if (f->s->pool)
			p = f->s->pool(app, f->st);
		if (f->s->pool || f->s->list)
			break; /* a screen of its own: the one below has no say */
	}
	if (p)
		app->pool_id = p->id;
	else if (!(p = pools_by_id(ps, app->pool_id)) || (!p->cache && pools_active(ps)))
		p = pools_first_active(ps);
	return p ? p : pools_at(ps, 0);
}

const struct xv *app_lookup(struct app *app, const char *qref, struct pool **p, const char **ref)
{
	return pools_lookup(app->env.pools, qref, p, ref);
}

bool app_many_pools(struct app *app)
{
	return pools_active(app->env.pools) > 1;
}

char *app_pool_label(struct app *app, const struct pool *p, const char *label)
{
	if (p && app_many_pools(app))
		return xasprintf("%s: %s", p->cfg.name, label);
	return xstrdup(label);
}

/* ---- redraw scheduling --------------------------------------------------------- */

static void on_draw_timer(struct loop *l, void *ud)
{
	struct app *app = ud;

	app->draw_timer = NULL;
	if (app->dirty)
		draw(app);
}

void app_dirty(struct app *app)
{
	app->dirty = true;
	/* one frame for however many changes arrive in this turn of the loop */
	if (!app->draw_timer && !app->quitting)
		app->draw_timer = loop_timer(app->env.loop, 0, on_draw_timer, app);
}

void app_repaint(struct app *app)
{
	clearok(curscr, TRUE);
	app_dirty(app);
}

static void make_windows(struct app *app)
{
	int body_rows = LINES - 4 > 1 ? LINES - 4 : 1;

	if (app->body)
		delwin(app->body);
	app->body = newwin(body_rows, COLS > 0 ? COLS : 1, 2, 0);
	wbkgdset(app->body, ' ' | (theme_attr(ROLE_NORMAL) & A_COLOR));
	wbkgdset(stdscr, ' ' | (theme_attr(ROLE_NORMAL) & A_COLOR));
	app->too_small = LINES < MIN_ROWS || COLS < MIN_COLS;
}

void app_resize(struct app *app)
{
	make_windows(app);
	werase(stdscr);
	app_repaint(app);
}

/* ---- the clock: redrawn once a minute, on the minute -------------------------------- */

static void on_clock(struct loop *l, void *ud)
{
	struct app *app = ud;
	char before[8];

	app->clock_timer = NULL;
	memcpy(before, app->clock, sizeof(before));
	chrome_clock(app);
	if (strcmp(before, app->clock) != 0)
		app_dirty(app);
}

/* ---- messages ------------------------------------------------------------------------ */

static void on_message_timeout(struct loop *l, void *ud)
{
	struct app *app = ud;

	app->msg_timer = NULL;
	free(app->msg);
	app->msg = NULL;
	app_dirty(app);
}

/* Keeps text in the history; the same message again only counts. */
static void remember(struct app *app, const char *text, enum msg_level level)
{
	struct msg_entry *last = app->nhistory ? &app->history[app->nhistory - 1] : NULL;

	if (last && last->level == level && strcmp(last->text, text) == 0) {
		last->repeat++;
		last->when = time(NULL);
		return;
	}
	if (app->nhistory == MAX_MESSAGES) {
		free(app->history[0].text);
		memmove(app->history, app->history + 1, (size_t)(MAX_MESSAGES - 1) * sizeof(*app->history));
		app->nhistory--;
		app->history_dropped++;
	}
	if (!app->history)
		app->history = xcalloc(MAX_MESSAGES, sizeof(*app->history));
	app->history[app->nhistory].text = xstrdup(text);
	app->history[app->nhistory].level = level;
	app->history[app->nhistory].when = time(NULL);
	app->history[app->nhistory].repeat = 1;
	app->nhistory++;
}

void app_message(struct app *app, enum msg_level level, const char *fmt, ...)
{
	va_list ap;

	free(app->msg);
	va_start(ap, fmt);
	app->msg = xvasprintf(fmt, ap);
	va_end(ap);
	app->msg_level = level;
	app->msg_key = app->key_count;
	remember(app, app->msg, level);
	if (app->msg_timer)
		loop_timer_cancel(app->env.loop, app->msg_timer);
	app->msg_timer = loop_timer(app->env.loop, level == MSG_ERROR ? ERROR_MS : MESSAGE_MS, on_message_timeout, app);
	app_dirty(app);
}

int app_messages_count(const struct app *app)
{
	return app->nhistory;
}

const char *app_messages_at(const struct app *app, int i, enum msg_level *level, time_t *when, int *repeat)
{
	const struct msg_entry *m;

	if (i < 0 || i >= app->nhistory)
		return NULL;
	m = &app->history[i];
	if (level)
		*level = m->level;
	if (when)
		*when = m->when;
	if (repeat)
		*repeat = m->repeat;
	return m->text;
}

long app_messages_dropped(const struct app *app)
{
	return app->history_dropped;
}

/* Another screen: a message said before the key that brought it is about
 * the old one, so it goes (the history keeps it). */
static void screen_changed(struct app *app)
{
	if (!app->msg || app->msg_key == app->key_count)
		return;
	free(app->msg);
	app->msg = NULL;
	if (app->msg_timer) {
		loop_timer_cancel(app->env.loop, app->msg_timer);
		app->msg_timer = NULL;
	}
}

/* ---- screens ------------------------------------------------------------------------- */

void app_push(struct app *app, const struct screen *s, const void *arg)
{
	void *st;

	if (app->nstack == MAX_SCREENS) {
		app_message(app, MSG_ERROR, "Too many screens open: Esc goes back");
		return;
	}
	if (app->lock && lock_push(app->lock, s, arg))
		return; /* the console waits for root's password */
	st = s->enter ? s->enter(app, arg) : NULL;
	app->stack[app->nstack].s = s;
	app->stack[app->nstack].st = st;
	app->nstack++;
	screen_changed(app);
	app_dirty(app);
}

void app_pop(struct app *app)
{
	struct frame *f;

	if (app->nstack == 0)
		return;
	f = &app->stack[--app->nstack];
	if (f->s->leave)
		f->s->leave(app, f->st);
	f->s = NULL;
	f->st = NULL;
	screen_changed(app);
	app_dirty(app);
}

void app_jump(struct app *app, const struct screen *s, const void *arg)
{
	while (app->nstack > 1)
		app_pop(app);
	if (app->nstack == 0 || app->stack[0].s != s)
		app_push(app, s, arg);
}

const struct screen *app_top(struct app *app)
{
	return app->nstack ? app->stack[app->nstack - 1].s : NULL;
}

const struct screen *app_below(struct app *app)
{
	return app->nstack > 1 ? app->stack[app->nstack - 2].s : NULL;
}

void *app_below_state(struct app *app)
{
	return app->nstack > 1 ? app->stack[app->nstack - 2].st : NULL;
}

struct table *app_list(struct app *app)
{
	struct frame *f;

	if (!app->nstack)
		return NULL;
	f = &app->stack[app->nstack - 1];
	return f->s->list ? f->s->list(app, f->st) : NULL;
}

/* ---- dialogs ------------------------------------------------------------------------- */

void app_open_dialog(struct app *app, struct dialog *d)
{
	if (app->ndialogs == app->dialogs_cap) {
		app->dialogs_cap = app->dialogs_cap ? app->dialogs_cap * 2 : 4;
		app->dialogs = xrealloc(app->dialogs, (size_t)app->dialogs_cap * sizeof(*app->dialogs));
	}
	app->dialogs[app->ndialogs++] = d;
	app_dirty(app);
}

struct dialog *app_find_dialog(struct app *app, const char *tag)
{
	for (int i = 0; i < app->ndialogs; i++)
		if (dialog_tag(app->dialogs[i]) && strcmp(dialog_tag(app->dialogs[i]), tag) == 0)
			return app->dialogs[i];
	return NULL;
}

bool app_has_dialog(const struct app *app)
{
	return app->ndialogs > 0;
}

static void dialog_input(struct app *app, int key)
{
	struct dialog *d = app->dialogs[app->ndialogs - 1];

	if (dialog_key(d, key) == DIALOG_CLOSED) {
		/* off the stack first: done may open the next dialog */
		app->ndialogs--;
		dialog_finish(d, app);
		dialog_free(d);
	}
	app_dirty(app);
}

void app_cursor(struct app *app, WINDOW *w, int y, int x)
{
	app->cursor_win = w;
	app->cursor_y = y;
	app->cursor_x = x;
}

/* ---- keys ---------------------------------------------------------------------------- */

static bool screen_key(struct app *app, int key)
{
	struct frame *f = &app->stack[app->nstack - 1];
	struct table *list;
	const struct screen_key *tables[2] = {f->s->keys, f->s->shared_keys};

	for (int t = 0; t < 2; t++)
		for (const struct screen_key *k = tables[t]; k && k->key; k++)
			if (k->key == key && k->fn) {
				k->fn(app, f->st);
				return true;
			}
	if (f->s->key && f->s->key(app, f->st, key) == EV_HANDLED)
		return true;
	list = f->s->list ? f->s->list(app, f->st) : NULL;
	return list && table_key(list, key);
}

/* L: the message history, the screen the `messages` command names. */
static void show_messages(struct app *app)
{
	for (const struct command *c = app->env.commands; c && c->name; c++)
		if (strcmp(c->name, "messages") == 0 && c->screen) {
			if (app_top(app) == c->screen)
				app_pop(app);
			else
				app_push(app, c->screen, NULL);
			return;
		}
	app_message(app, MSG_INFO, "No message history in this build");
}

static void global_key(struct app *app, int key)
{
	struct table *list = app_list(app);

	switch (key) {
	case ':':
		cmdline_start(app, MODE_COMMAND);
		break;
	case '/':
		if (list)
			cmdline_start(app, MODE_FILTER);
		else
			app_message(app, MSG_INFO, "Nothing to filter on this screen");
		break;
	case '?':
	case XK_F(1):
		if (app_top(app) == app->env.help)
			app_pop(app);
		else if (app->env.help)
			app_push(app, app->env.help, NULL);
		break;
	case 'L':
		show_messages(app);
		break;
	case XK_ESC:
		if (list && *table_filter(list))
			table_set_filter(list, NULL);
		else if (app->nstack > 1)
			app_pop(app);
		break;
	case 'q':
		if (app->nstack > 1)
			app_pop(app);
		else
			app_quit(app, true);
		break;
	default:
		if (key_is_text(key))
			app_message(app, MSG_INFO, "No key '%lc' here: ? lists this screen's keys", (wint_t)key);
		break;
	}
}

static void dispatch(struct app *app, int key)
{
	app->key_count++;
	if (app->lock)
		lock_activity(app->lock);
	if (key == XK_F(5) || key == XK_CTRL('l')) {
		if (key == XK_CTRL('l') && app->lock)
			lock_engage(app->lock); /* as xsconsole's lock: Ctrl-L at the console */
		app_repaint(app);
		return;
	}
	if (app->quitting)
		return;
	if (app->too_small) {
		if (key == 'q')
			app_quit(app, false);
		return;
	}
	if (app->ndialogs) {
		dialog_input(app, key);
		return;
	}
	if (app->edit != MODE_NONE) {
		cmdline_key(app, key);
		app_dirty(app);
		return;
	}
	if (app->nstack && screen_key(app, key)) {
		app_dirty(app);
		return;
	}
	global_key(app, key);
	app_dirty(app);
}

int app_input(struct app *app)
{
	int key, n = 0;

	while (key_read(app->input, &key)) {
		dispatch(app, key);
		n++;
	}
	return n;
}

/* ---- drawing -------------------------------------------------------------------------- */

static void set_cursor(struct app *app, int visible)
{
	if (app->cursor_shown != visible) {
		curs_set(visible);
		app->cursor_shown = visible;
	}
}

static void draw_too_small(struct app *app)
{
	char line[128];
	int y = LINES / 2 - 1 > 0 ? LINES / 2 - 1 : 0;

	werase(stdscr);
	snprintf(line, sizeof(line), "xentui needs at least %dx%d; this terminal is %dx%d.", MIN_COLS, MIN_ROWS, COLS,
		 LINES);
	ui_put(stdscr, y, 0, COLS, theme_attr(ROLE_NORMAL), line);
	ui_put(stdscr, y + 1, 0, COLS, theme_attr(ROLE_NORMAL), "Make it larger, or press q to quit.");
	leaveok(stdscr, TRUE);
	wnoutrefresh(stdscr);
	set_cursor(app, 0);
	doupdate();
}

static void draw(struct app *app)
{
	int rows = LINES, cols = COLS;
	int body_rows, msg_rows;

	app->dirty = false;
	app->cursor_win = NULL;
	if (app->too_small) {
		draw_too_small(app);
		return;
	}
	/* a long message takes a second line from the body: its end is what to do */
	msg_rows = chrome_message_rows(app, cols);
	body_rows = rows - 3 - msg_rows;
	if (getmaxy(app->body) != body_rows)
		wresize(app->body, body_rows, cols);
	/* the body first: the title line describes the list as it has just been drawn */
	werase(app->body);
	if (app->nstack) {
		struct frame *f = &app->stack[app->nstack - 1];
		f->s->draw(app, f->st, app->body, body_rows, cols);
	}
	for (int i = 0; i < app->ndialogs; i++)
		dialog_draw(app->dialogs[i], app, app->body, body_rows, cols);
	chrome_status(app, cols);
	chrome_title(app, 1, cols);
	chrome_message(app, rows - 1 - msg_rows, msg_rows, cols);
	chrome_keybar(app, rows - 1, cols);
	/* a frame without a text cursor leaves it where it is: no bytes to move it */
	leaveok(stdscr, app->cursor_win != stdscr);
	leaveok(app->body, app->cursor_win != app->body);
	wnoutrefresh(stdscr);
	wnoutrefresh(app->body);
	if (app->cursor_win) {
		wmove(app->cursor_win, app->cursor_y, app->cursor_x);
		wnoutrefresh(app->cursor_win);
	}
	set_cursor(app, app->cursor_win ? 1 : 0);
	doupdate();
}

/* ---- the pools and ops ---------------------------------------------------------------------- */

static void on_pools(struct pools *ps, struct pool *p, enum cache_op op, const char *cls, const char *ref, void *ud)
{
	struct app *app = ud;

	for (int i = 0; i < app->nstack; i++) {
		struct frame *f = &app->stack[i];
		if (f->s->on_cache_event)
			f->s->on_cache_event(app, f->st, p, op, cls, ref);
	}
	if (p && op == CACHE_STATUS)
		connect_pool_event(app, p);
	app_dirty(app);
}

static void on_op_change(struct pools *ps, struct pool *p, struct op *op, void *ud)
{
	app_dirty(ud);
}

struct op_ctx {
	struct app *app;
	int pool_id;
	op_fn done;
	void *ud;
};

static void on_op_done(struct ops *ops, struct op *op, void *ud)
{
	struct op_ctx *c = ud;
	struct app *app = c->app;
	struct pool *p = pools_by_id(app->env.pools, c->pool_id);
	char *label = app_pool_label(app, p, op->label);

	if (c->done) {
		c->done(ops, op, c->ud);
	} else {
		switch (op->state) {
		case OP_DONE:
			/* "done", or how it is known to be (its answer was lost) */
			app_message(app, MSG_INFO, "%s: %s", label, op->message && *op->message ? op->message : "done");
			break;
		case OP_CANCELLED:
			app_message(app, MSG_INFO, "%s: cancelled", label);
			break;
		default:
			app_message(app, MSG_ERROR, "%s: %s", label, op->message ? op->message : "failed");
			break;
		}
	}
	free(label);
	app_release(app, c);
}

static bool usable(struct app *app, struct pool *p, const char *label)
{
	if (p && p->ops && !p->closing)
		return true;
	app_message(app, MSG_ERROR, "%s: %s is not connected (:servers connects it)", label,
		    p ? p->cfg.name : "the pool");
	return false;
}

struct op *app_op_then(struct app *app, struct pool *p, const char *label, const char *method, struct xv *params,
		       op_fn done, void *ud)
{
	struct op_ctx *c;
	char *shown;

	if (!usable(app, p, label)) {
		xv_free(params);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->app = app;
	c->pool_id = p->id;
	c->done = done;
	c->ud = ud;
	/* an op whose task outlives the connection never calls back: freed at the end */
	app_keep(app, c, free);
	shown = app_pool_label(app, p, label);
	app_message(app, MSG_INFO, "%s%s", shown, glyph(GLYPH_ELLIPSIS));
	free(shown);
	return ops_start(p->ops, label, method, params, on_op_done, c);
}

struct op *app_op(struct app *app, struct pool *p, const char *label, const char *method, struct xv *params)
{
	return app_op_then(app, p, label, method, params, NULL, NULL);
}

struct call_ctx {
	struct app *app;
	struct pool *pool; /* still there: a pool's calls are answered before it goes */
	char *label;
	void (*fn)(struct app *app, struct pool *p, bool ok, void *ud);
	void *ud;
};

static void on_call_done(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct call_ctx *c = ud;
	char *label = app_pool_label(c->app, c->pool, c->label);

	if (r->failure == XAPI_OK) {
		if (!c->fn)
			app_message(c->app, MSG_INFO, "%s: done", label);
	} else if (r->failure == XAPI_API) {
		char *why = error_sentence(r->error, c->pool->cache);
		app_message(c->app, MSG_ERROR, "%s: %s", label, why);
		free(why);
	} else {
		app_message(c->app, MSG_ERROR, "%s: %s", label, r->message);
	}
	if (c->fn)
		c->fn(c->app, c->pool, r->failure == XAPI_OK, c->ud);
	free(label);
	free(c->label);
	free(c);
}

void app_call_then(struct app *app, struct pool *p, const char *label, const char *method, struct xv *params,
		   void (*fn)(struct app *app, struct pool *p, bool ok, void *ud), void *ud)
{
	struct call_ctx *c;

	if (!usable(app, p, label)) {
		xv_free(params);
		if (fn)
			fn(app, p, false, ud);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->app = app;
	c->pool = p;
	c->label = xstrdup(label);
	c->fn = fn;
	c->ud = ud;
	xapi_call(p->x, method, params, on_call_done, c);
}

void app_call(struct app *app, struct pool *p, const char *label, const char *method, struct xv *params)
{
	app_call_then(app, p, label, method, params, NULL, NULL);
}

void app_query(struct app *app, struct pool *p, const char *method, struct xv *params, xapi_fn fn, void *ud)
{
	if (!p || !p->ops || p->closing) {
		/* as xapi answers a call it cannot send: at once, with a sentence */
		struct xapi_result r = {.failure = XAPI_TRANSPORT, .message = "the pool is not connected"};

		xv_free(params);
		fn(p ? p->x : NULL, &r, ud);
		return;
	}
	xapi_call(p->x, method, params, fn, ud);
}

void app_keep(struct app *app, void *data, void (*free_fn)(void *))
{
	struct kept *k = xcalloc(1, sizeof(*k));

	k->data = data;
	k->free_fn = free_fn;
	k->next = app->kept;
	app->kept = k;
}

void app_release(struct app *app, void *data)
{
	for (struct kept **p = &app->kept; *p; p = &(*p)->next)
		if ((*p)->data == data) {
			struct kept *k = *p;
			*p = k->next;
			k->free_fn(k->data);
			free(k);
			return;
		}
}

/* ---- quitting ---------------------------------------------------------------------------- */

static void stop_now(struct app *app)
{
	if (app->quit_timer) {
		loop_timer_cancel(app->env.loop, app->quit_timer);
		app->quit_timer = NULL;
	}
	loop_stop(app->env.loop, 0);
}

static void on_all_closed(void *ud)
{
	stop_now(ud);
}

static void on_logout_slow(struct loop *l, void *ud)
{
	struct app *app = ud;

	/* the server does not answer: leave anyway */
	app->quit_timer = NULL;
	loop_stop(l, 0);
}

static void quit_now(struct app *app)
{
	if (app->quitting)
		return;
	app->quitting = true;
	app->quit_timer = loop_timer(app->env.loop, LOGOUT_WAIT_MS, on_logout_slow, app);
	pools_close_all(app->env.pools, on_all_closed, app);
}

static void on_quit_answer(struct app *app, const struct dialog_result *r, const char *ref, void *ud)
{
	if (r->ok)
		quit_now(app);
}

void app_quit(struct app *app, bool ask)
{
	struct dialog *d;

	if (app->quitting)
		return;
	if (!ask || !app->env.confirm_quit) {
		quit_now(app);
		return;
	}
	d = dialog_confirm("Quit", "Leave xentui? Running tasks go on in the pool.", "Quit", "Stay", false);
	dialog_on_done(d, on_quit_answer, NULL, NULL);
	app_open_dialog(app, d);
}

bool app_quitting(const struct app *app)
{
	return app->quitting;
}

void app_set_lock(struct app *app, struct lock *l)
{
	app->lock = l;
}

struct lock *app_lock(struct app *app)
{
	return app->lock;
}

bool app_may_change(struct app *app, const char *what)
{
	if (!app->lock || !lock_locked(app->lock))
		return true;
	app_message(app, MSG_INFO, "%s: changes are locked; once root's password unlocks them, do it again", what);
	lock_ask(app->lock);
	return false;
}

/* ---- life --------------------------------------------------------------------------------- */

struct app *app_new(const struct app_env *env)
{
	struct app *app = xcalloc(1, sizeof(*app));

	app->env = *env;
	app->cursor_shown = -1;
	lineedit_init(&app->line, "");
	app->input = newpad(1, 1);
	keypad(app->input, TRUE);
	nodelay(app->input, TRUE);
	make_windows(app);
	chrome_clock(app);
	pools_subscribe(env->pools, on_pools, app);
	pools_on_op(env->pools, on_op_change, app);
	app_dirty(app);
	return app;
}

void app_free(struct app *app)
{
	if (!app)
		return;
	while (app->nstack)
		app_pop(app);
	while (app->ndialogs)
		dialog_free(app->dialogs[--app->ndialogs]);
	free(app->dialogs);
	for (int i = 0; i < app->nhistory; i++)
		free(app->history[i].text);
	free(app->history);
	while (app->kept) {
		struct kept *k = app->kept;
		app->kept = k->next;
		k->free_fn(k->data);
		free(k);
	}
	if (app->draw_timer)
		loop_timer_cancel(app->env.loop, app->draw_timer);
	if (app->clock_timer)
		loop_timer_cancel(app->env.loop, app->clock_timer);
	if (app->msg_timer)
		loop_timer_cancel(app->env.loop, app->msg_timer);
	if (app->quit_timer)
		loop_timer_cancel(app->env.loop, app->quit_timer);
	/* the connections are gone by now (their calls are answered while the app is there) */
	pools_unsubscribe(app->env.pools, on_pools, app);
	pools_on_op(app->env.pools, NULL, NULL);
	cmdline_free(app);
	lineedit_free(&app->line);
	free(app->msg);
	if (app->body)
		delwin(app->body);
	if (app->input)
		delwin(app->input);
	free(app);
}

void chrome_clock_arm(struct app *app, int64_t ms)
{
	if (app->clock_timer)
		loop_timer_cancel(app->env.loop, app->clock_timer);
	app->clock_timer = loop_timer(app->env.loop, ms, on_clock, app);
}
