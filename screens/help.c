/* `?`: every key of the screen underneath, read from its key tables, then
 * the list keys and the keys that work everywhere. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "draw.h"
#include "keys.h"
#include "screens.h"
#include "table.h"
#include "util.h"

struct help {
	const struct screen *about;
	int top;
	int rows;  /* lines of help at the last draw */
	int shown; /* lines of the screen it had */
};

static const struct table_key_help global_keys[] = {
	{":", "command line: one of the commands below (Tab completes)"},
	{"/", "filter the list by text, or by column as name:value (Esc clears it)"},
	{"?  F1", "this help"},
	{"L", "the messages of this session, whole (:messages)"},
	{"Esc  q", "back one screen (q on the dashboard asks, then quits)"},
	{"F5  ^L", "redraw the screen (^L also locks changes at a host's console, --local)"},
	{"^C", "log out and quit"},
	{NULL, NULL},
};

static void *help_enter(struct app *app, const void *arg)
{
	struct help *h = xcalloc(1, sizeof(*h));

	h->about = app_top(app);
	return h;
}

static void help_leave(struct app *app, void *st)
{
	free(st);
}

struct writer {
	WINDOW *w;
	int y, rows, line, skip, cols;
};

static void put_line(struct writer *wr, const char *key, const char *text, enum role r)
{
	int y = wr->line - wr->skip;

	if (y >= 0 && y < wr->rows) {
		if (key) {
			ui_put(wr->w, wr->y + y, 2, 22, theme_attr(ROLE_KEY), key);
			ui_put(wr->w, wr->y + y, 25, wr->cols - 27, theme_attr(r), text);
		} else {
			ui_put(wr->w, wr->y + y, 1, wr->cols - 2, theme_attr(r), text);
		}
	}
	wr->line++;
}

/* A key of keys that an earlier table (before) has too: the earlier one
 * answers it (the app looks there first), so it is told once. */
static bool shadowed(const struct screen_key *before, int key)
{
	for (const struct screen_key *k = before; k && k->key; k++)
		if (k->key == key)
			return true;
	return false;
}

static void put_table(struct writer *wr, const struct screen_key *keys, const struct screen_key *before)
{
	char name[16];

	for (const struct screen_key *k = keys; k && k->key; k++)
		if (!shadowed(before, k->key))
			put_line(wr, key_describe(k->key, name, sizeof(name)), k->help, ROLE_NORMAL);
}

/* Every `:` command, from the table the command line runs. */
static void put_commands(struct writer *wr)
{
	for (const struct command *c = screen_commands; c->name; c++) {
		char *key = c->alias ? xasprintf(":%s  :%s", c->name, c->alias) : xasprintf(":%s", c->name);
		char *text = c->complete_arg ? xasprintf("%s (:%s NAME)", c->help, c->name) : xstrdup(c->help);
		put_line(wr, key, text, ROLE_NORMAL);
		free(key);
		free(text);
	}
}

/* "key<TAB>what it does" lines; a line without a tab is text. */
static void put_filter_help(struct writer *wr, const char *text)
{
	while (text && *text) {
		size_t len = strcspn(text, "\n");
		char *line = xstrndup(text, len);
		char *tab = strchr(line, '\t');
		if (tab) {
			*tab = '\0';
			put_line(wr, line, tab + 1, ROLE_NORMAL);
		} else {
			put_line(wr, NULL, line, ROLE_NORMAL);
		}
		free(line);
		text += len;
		if (*text)
			text++;
	}
}

static void help_draw(struct app *app, void *st, WINDOW *w, int h, int cols)
{
	struct help *hp = st;
	struct writer wr = {w, 0, h, 0, hp->top, cols};
	char title[128];

	snprintf(title, sizeof(title), "Keys of %s", hp->about ? hp->about->title : "this screen");
	put_line(&wr, NULL, title, ROLE_HEADER);
	if (hp->about) {
		put_table(&wr, hp->about->keys, NULL);
		put_table(&wr, hp->about->shared_keys, hp->about->keys);
		if (hp->about->list) {
			put_line(&wr, NULL, "", ROLE_NORMAL);
			put_line(&wr, NULL, "In the list", ROLE_HEADER);
			for (const struct table_key_help *k = table_key_help; k->keys; k++)
				put_line(&wr, k->keys, k->help, ROLE_NORMAL);
			put_line(&wr, NULL, "", ROLE_NORMAL);
			put_line(&wr, NULL, "Filter: / then words, or a column's name and a value", ROLE_HEADER);
			put_filter_help(&wr, hp->about->filter_help ? hp->about->filter_help
				: "state:enabled\tthe STATE column holds 'enabled' (any column's name works)\n"
				  "name:!web\ta ! excludes: rows whose NAME does not hold 'web'\n"
				  "web 01\tother words match anywhere in the row");
		}
	}
	put_line(&wr, NULL, "", ROLE_NORMAL);
	put_line(&wr, NULL, "Everywhere", ROLE_HEADER);
	for (const struct table_key_help *k = global_keys; k->keys; k++)
		put_line(&wr, k->keys, k->help, ROLE_NORMAL);
	put_line(&wr, NULL, "", ROLE_NORMAL);
	put_line(&wr, NULL, "Commands (after :)", ROLE_HEADER);
	put_commands(&wr);
	hp->rows = wr.line;
	hp->shown = h;
	if (hp->top > 0 && hp->top + h > hp->rows + 1) {
		/* scrolled past the end: show the last page instead */
		hp->top = hp->rows + 1 > h ? hp->rows + 1 - h : 0;
		wr.line = 0;
		wr.skip = hp->top;
		help_draw(app, st, w, h, cols);
		return;
	}
	if (hp->rows - hp->top > h)
		ui_put(w, h - 1, 1, cols - 2, theme_attr(ROLE_DIM), "(more below: Down, PgDn, End)");
}

/* A page: the lines shown at the last draw, less one kept for context. */
static int page(const struct help *hp)
{
	return hp->shown > 2 ? hp->shown - 1 : 10;
}

static int help_key(struct app *app, void *st, int key)
{
	struct help *hp = st;

	switch (key) {
	case XK_DOWN:
	case 'j':
		hp->top++;
		return EV_HANDLED;
	case XK_UP:
	case 'k':
		if (hp->top > 0)
			hp->top--;
		return EV_HANDLED;
	case XK_PGDN:
	case ' ':
		hp->top += page(hp);
		return EV_HANDLED;
	case XK_PGUP:
		hp->top = hp->top > page(hp) ? hp->top - page(hp) : 0;
		return EV_HANDLED;
	case XK_HOME:
		hp->top = 0;
		return EV_HANDLED;
	case XK_END:
		hp->top = hp->rows; /* the draw shows the last page */
		return EV_HANDLED;
	}
	return EV_IGNORED;
}

static void help_describe(struct app *app, void *st, char *buf, size_t n)
{
	struct help *hp = st;

	snprintf(buf, n, "Help %s %s", glyph(GLYPH_SEP), hp->about ? hp->about->title : "");
}

static const struct screen_key keys[] = {
	{0, NULL, NULL, NULL, NULL, false},
};

const struct screen screen_help = {
	.name = "help",
	.title = "Help",
	.keys = keys,
	.enter = help_enter,
	.leave = help_leave,
	.draw = help_draw,
	.key = help_key,
	.describe = help_describe,
};
