/* `:messages` (or L): every message of this run, oldest first, whole and
 * wrapped, with the time it was said; opens at the newest. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "app.h"
#include "draw.h"
#include "keys.h"
#include "screens.h"
#include "util.h"

#define TIME_COLS 9 /* "HH:MM:SS " */

struct messages {
	int top;     /* the first message shown */
	bool follow; /* at the end: new messages scroll in */
	int shown;   /* messages on the screen at the last draw */
};

static void *messages_enter(struct app *app, const void *arg)
{
	struct messages *m = xcalloc(1, sizeof(*m));

	m->follow = true;
	return m;
}

static void messages_leave(struct app *app, void *st)
{
	free(st);
}

/* The message's text with its repeat count, to free. */
static char *entry_text(struct app *app, int i, enum msg_level *level, time_t *when)
{
	int repeat = 1;
	const char *text = app_messages_at(app, i, level, when, &repeat);

	if (repeat > 1)
		return xasprintf("%s (%d times)", text, repeat);
	return xstrdup(text);
}

static int entry_rows(struct app *app, int i, int cols)
{
	char *text = entry_text(app, i, NULL, NULL);
	int n = ui_wrap(NULL, 0, 0, cols, 0, 0, text);

	free(text);
	return n > 0 ? n : 1;
}

/* The first message of the last page: as many of the newest as fit. */
static int last_page_top(struct app *app, int h, int cols)
{
	int n = app_messages_count(app), used = 0, top = n;

	while (top > 0 && used + entry_rows(app, top - 1, cols) <= h)
		used += entry_rows(app, --top, cols);
	if (top == n && n > 0)
		top = n - 1; /* one message longer than the screen: its start */
	return top;
}

static void messages_draw(struct app *app, void *st, WINDOW *w, int h, int cols)
{
	struct messages *m = st;
	int n = app_messages_count(app), text_cols = cols - 1 - TIME_COLS, y = 0, last;

	if (text_cols < 10 || h < 2)
		return;
	if (n == 0) {
		ui_put(w, 0, 1, cols - 2, theme_attr(ROLE_DIM), "No messages yet in this session.");
		return;
	}
	last = last_page_top(app, h, text_cols);
	if (m->follow || m->top > last)
		m->top = last;
	m->follow = m->top == last;
	m->shown = 0;
	for (int i = m->top; i < n && y < h; i++) {
		enum msg_level level;
		time_t when;
		char *text = entry_text(app, i, &level, &when);
		char stamp[16];
		struct tm tm;
		int rows;

		localtime_r(&when, &tm);
		strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
		ui_put(w, y, 1, TIME_COLS, theme_attr(ROLE_DIM), stamp);
		rows = ui_wrap(w, y, 1 + TIME_COLS, text_cols, h - y, theme_attr(level == MSG_ERROR ? ROLE_BAD : ROLE_NORMAL),
			       text);
		y += rows > 0 ? rows : 1;
		m->shown++;
		free(text);
	}
	if (!m->follow)
		ui_put(w, h - 1, 1, cols - 2, theme_attr(ROLE_DIM), "(newer below: Down, PgDn, End)");
}

static int messages_key(struct app *app, void *st, int key)
{
	struct messages *m = st;
	int page = m->shown > 1 ? m->shown - 1 : 1;

	switch (key) {
	case XK_DOWN:
	case 'j':
		m->top++; /* the draw stops at the last page */
		return EV_HANDLED;
	case XK_UP:
	case 'k':
		if (m->top > 0)
			m->top--;
		m->follow = false;
		return EV_HANDLED;
	case XK_PGDN:
	case ' ':
		m->top += page;
		return EV_HANDLED;
	case XK_PGUP:
		m->top = m->top > page ? m->top - page : 0;
		m->follow = false;
		return EV_HANDLED;
	case XK_HOME:
		m->top = 0;
		m->follow = false;
		return EV_HANDLED;
	case XK_END:
		m->follow = true;
		return EV_HANDLED;
	}
	return EV_IGNORED;
}

static void messages_describe(struct app *app, void *st, char *buf, size_t n)
{
	long dropped = app_messages_dropped(app);
	int count = app_messages_count(app);

	if (dropped)
		snprintf(buf, n, "Messages %s the last %d of this session (%ld older ones not kept)", glyph(GLYPH_SEP), count,
			 dropped);
	else
		snprintf(buf, n, "Messages %s %d this session, oldest first", glyph(GLYPH_SEP), count);
}

static const struct screen_key keys[] = {
	{0, NULL, NULL, NULL, NULL, false},
};

const struct screen screen_messages = {
	.name = "messages",
	.title = "Messages",
	.keys = keys,
	.enter = messages_enter,
	.leave = messages_leave,
	.draw = messages_draw,
	.key = messages_key,
	.describe = messages_describe,
};
