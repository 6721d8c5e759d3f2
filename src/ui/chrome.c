/* The lines around every screen: the status line (pool, master, connection,
 * tasks, clock), the title line, the message or command line and the key
 * bar (htop's FunctionBar: the keys that work right now). */
#include "app_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dialog.h"
#include "draw.h"
#include "keys.h"
#include "sanitize.h"
#include "table.h"
#include "theme.h"
#include "util.h"

void chrome_clock(struct app *app)
{
	struct timespec ts;
	struct tm tm;
	int64_t ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(app->clock, sizeof(app->clock), "%H:%M", &tm);
	/* wake just after the minute turns, not every second */
	ms = (int64_t)(60 - tm.tm_sec) * 1000 - ts.tv_nsec / 1000000 + 20;
	chrome_clock_arm(app, ms > 0 ? ms : 1000);
}

struct first_ctx {
	const char *ref;
	const struct xv *rec;
};

static bool first_cb(const char *ref, const struct xv *rec, void *ud)
{
	struct first_ctx *f = ud;

	f->ref = ref;
	f->rec = rec;
	return false;
}

static bool count_pending_cb(const char *ref, const struct xv *rec, void *ud)
{
	if (strcmp(rec_str(rec, "status"), "pending") == 0)
		(*(int *)ud)++;
	return true;
}

/* The connection in a word or two; *alert when it needs attention. */
static const char *connection_state(struct app *app, const struct pool *p, bool *alert)
{
	const char *why;

	*alert = false;
	if (app->quitting)
		return "logging out";
	if (!p)
		return "no pool connected (:servers)";
	switch (pool_state(p, &why)) {
	case POOL_DISCONNECTED:
		return "not connected (:servers)";
	case POOL_CONNECTING:
		if (p->x && xapi_state(p->x) == XAPI_READY) /* no connection yet while password_command runs */
			return "loading";
		return "connecting";
	case POOL_CONNECTED:
		return "live";
	case POOL_RETRYING:
		*alert = true;
		/* the reason and the wait ("... answered HTTP 500 to event.from; retrying in 4 s") */
		return xapi_state(p->x) == XAPI_RETRY ? xapi_state_message(p->x) : cache_status(p->cache);
	case POOL_FAILED:
		*alert = true;
		return "not connected";
	}
	return "";
}

/* Tasks running in every pool: theirs, or our ops if we count more. */
static int running_tasks(struct app *app)
{
	int total = 0;

	for (size_t i = 0; i < pools_count(app->env.pools); i++) {
		struct pool *p = pools_at(app->env.pools, i);
		int tasks = 0;
		if (!p->cache)
			continue;
		cache_each(p->cache, "task", count_pending_cb, &tasks);
		if (ops_running(p->ops) > tasks)
			tasks = ops_running(p->ops);
		total += tasks;
	}
	return total;
}

void chrome_status(struct app *app, int cols)
{
	struct pool *p = app_pool(app);
	struct first_ctx pool = {NULL, NULL};
	const struct xv *master = NULL;
	const char *sep = glyph(GLYPH_SEP);
	bool alert;
	const char *state = connection_state(app, p, &alert);
	attr_t a = theme_attr(alert ? ROLE_STATUS_ALERT : ROLE_STATUS);
	int tasks = running_tasks(app), active = pools_active(app->env.pools);
	struct buf b;

	if (p && p->cache) {
		cache_each(p->cache, "pool", first_cb, &pool);
		master = pool.rec ? cache_get(p->cache, rec_str(pool.rec, "master")) : NULL;
	}
	buf_init(&b);
	buf_printf(&b, " xentui %s %s", sep, p ? p->cfg.name : "");
	if (pool.rec) {
		/* XO names an unnamed pool after its master */
		const char *name = rec_str(pool.rec, "name_label");
		buf_printf(&b, " %s %s", sep, *name ? name : master ? rec_str(master, "name_label") : "pool");
	}
	if (master)
		buf_printf(&b, " %s master %s", sep, rec_str(master, "name_label"));
	buf_printf(&b, " %s %s", sep, state);
	if (active > 1)
		buf_printf(&b, " %s %d pools", sep, active);
	if (tasks)
		buf_printf(&b, " %s %d task%s", sep, tasks, tasks == 1 ? "" : "s");
	ui_put(stdscr, 0, 0, cols - 7, a, b.data);
	ui_put(stdscr, 0, cols - 7, 7, a, "");
	ui_add(stdscr, 0, cols - 6, 5, a, app->clock);
	buf_free(&b);
}

void chrome_title(struct app *app, int y, int cols)
{
	attr_t a = theme_attr(ROLE_TITLE);
	struct table *list = app_list(app);
	char left[256];
	struct buf right;
	int rw, lw;

	left[0] = '\0';
	if (app->nstack) {
		struct frame *f = &app->stack[app->nstack - 1];
		if (f->s->describe)
			f->s->describe(app, f->st, left, sizeof(left));
		else
			snprintf(left, sizeof(left), "%s", f->s->title);
	}
	buf_init(&right);
	buf_puts(&right, "");
	if (list) {
		char count[64];
		const char *filter = table_filter(list);
		table_describe(list, count, sizeof(count));
		buf_printf(&right, "%s %s sorted by %s%s", count, glyph(GLYPH_SEP),
			   table_col_title(list, table_sort_col(list)),
			   glyph(table_sort_desc(list) ? GLYPH_SORT_DOWN : GLYPH_SORT_UP));
		if (*filter)
			buf_printf(&right, " %s filter /%s", glyph(GLYPH_SEP), filter);
		buf_putc(&right, ' ');
	}
	{
		char *safe = ui_text(right.data);
		rw = text_width(safe);
		free(safe);
		safe = ui_text(left);
		lw = text_width(safe);
		free(safe);
	}
	/* the list's side may take what the title leaves, but never below half */
	if (rw > cols - lw - 3)
		rw = cols - lw - 3 > cols / 2 ? cols - lw - 3 : cols / 2;
	ui_put(stdscr, y, 0, 1, a, "");
	ui_put(stdscr, y, 1, cols - rw - 1, a, left);
	ui_put_right(stdscr, y, cols - rw, rw, a, right.data);
	buf_free(&right);
}

/* ---- key bar ------------------------------------------------------------------- */

struct bar {
	int x, cols;
	int y;
};

/* Draws "key label" if it fits before limit; returns false when it did not. */
static bool bar_item(struct bar *b, const char *key, const char *label, int limit)
{
	char *k = xasprintf("%s", key);
	char *l = xasprintf("%s ", label);
	int need = text_width(k) + 1 + text_width(l);

	if (b->x + need > limit) {
		free(k);
		free(l);
		return false;
	}
	b->x += ui_add(stdscr, b->y, b->x, limit - b->x, theme_attr(ROLE_KEY), k);
	b->x += ui_add(stdscr, b->y, b->x, limit - b->x, theme_attr(ROLE_KEY_LABEL), " ");
	b->x += ui_add(stdscr, b->y, b->x, limit - b->x, theme_attr(ROLE_KEY_LABEL), l);
	free(k);
	free(l);
	return true;
}

static void bar_pairs(struct bar *b, const char *const *pairs, int limit)
{
	for (; pairs && pairs[0] && pairs[1]; pairs += 2)
		if (!bar_item(b, pairs[0], pairs[1], limit))
			break;
}

void chrome_keybar(struct app *app, int y, int cols)
{
	static const char *const command_hints[] = {"Tab", "Complete", "Enter", "Run", "Esc", "Cancel", NULL};
	static const char *const filter_hints[] = {"Enter", "Keep filter", "Esc", "Clear", NULL};
	struct bar b = {0, cols, y};
	char name[16];

	ui_fill(stdscr, y, 0, cols, theme_attr(ROLE_KEY_LABEL));
	if (app->ndialogs) {
		bar_pairs(&b, dialog_hints(app->dialogs[app->ndialogs - 1]), cols);
		return;
	}
	if (app->edit == MODE_COMMAND) {
		bar_pairs(&b, command_hints, cols);
		return;
	}
	if (app->edit == MODE_FILTER) {
		bar_pairs(&b, filter_hints, cols);
		return;
	}
	if (app->nstack) {
		struct frame *f = &app->stack[app->nstack - 1];
		/* the screen's keys first; the global ones keep their place at the end */
		const struct screen_key *tables[2] = {f->s->keys, f->s->shared_keys};
		int limit = cols - 24;
		bool full = false;
		const char *const *own = f->s->keybar ? f->s->keybar(app, f->st) : NULL;

		if (own) {
			bar_pairs(&b, own, cols);
			return;
		}
		for (int t = 0; t < 2 && !full; t++)
			for (const struct screen_key *k = tables[t]; k && k->key && !full; k++) {
				if (!k->bar || (k->available && !k->available(app, f->st)))
					continue;
				full = !bar_item(&b, key_describe(k->key, name, sizeof(name)), k->label, limit);
			}
		if (app_list(app) && b.x + 9 <= limit)
			bar_item(&b, "/", "Filter", limit);
	}
	bar_item(&b, ":", "Cmd", cols);
	bar_item(&b, "?", "Help", cols);
	bar_item(&b, "q", app->nstack > 1 ? "Back" : "Quit", cols);
}

void chrome_message(struct app *app, int y, int rows, int cols)
{
	if (app->edit != MODE_NONE) {
		const char *prompt = app->edit == MODE_COMMAND ? ":" : "/";
		int cur, w = cols - 1;
		attr_t a = theme_attr(ROLE_INPUT);
		if (app->ncompletions > 1)
			w = cols / 2;
		ui_put(stdscr, y, 0, 1, a, prompt);
		cur = lineedit_draw(&app->line, stdscr, y, 1, w, a);
		if (app->ncompletions > 1) {
			struct buf b;
			buf_init(&b);
			for (int i = 0; i < app->ncompletions; i++)
				buf_printf(&b, "%s%s", i ? "  " : " ", app->completions[i]);
			ui_put(stdscr, y, 1 + w, cols - 1 - w, theme_attr(ROLE_DIM), b.data);
			buf_free(&b);
		} else {
			ui_fill(stdscr, y, 1 + w, cols - 1 - w, a);
		}
		app_cursor(app, stdscr, y, 1 + cur);
		return;
	}
	if (app->msg) {
		attr_t a = theme_attr(app->msg_level == MSG_ERROR ? ROLE_ERROR : ROLE_MESSAGE);
		/* wrapped, so the end of a long message (what to do) is seen */
		for (int i = 0; i < rows; i++)
			ui_fill(stdscr, y + i, 0, cols, a);
		ui_wrap(stdscr, y, 1, cols - 1, rows, a, app->msg);
		if (ui_wrap(stdscr, 0, 0, cols - 1, 0, a, app->msg) > rows) {
			char *hint = xasprintf(" %s L shows all", glyph(GLYPH_ELLIPSIS));
			char *safe = ui_text(hint);
			int hw = text_width(safe);
			ui_put(stdscr, y + rows - 1, cols - hw, hw, a, hint);
			free(safe);
			free(hint);
		}
		return;
	}
	for (int i = 0; i < rows; i++)
		ui_fill(stdscr, y + i, 0, cols, theme_attr(ROLE_NORMAL));
}

int chrome_message_rows(struct app *app, int cols)
{
	if (app->edit != MODE_NONE || !app->msg || cols < 2)
		return 1;
	/* counting only (rows 0 draws nothing) */
	return ui_wrap(stdscr, 0, 0, cols - 1, 0, 0, app->msg) > 1 ? 2 : 1;
}
