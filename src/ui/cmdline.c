/* The `:` command line (commands from the app's table, Tab completion of
 * their names and arguments) and the `/` filter, which applies as it is
 * typed. */
#include "app_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keys.h"
#include "table.h"
#include "util.h"

static void drop_completions(struct app *app)
{
	for (int i = 0; i < app->ncompletions; i++)
		free(app->completions[i]);
	free(app->completions);
	app->completions = NULL;
	app->ncompletions = 0;
	app->completion = -1;
}

void cmdline_free(struct app *app)
{
	drop_completions(app);
}

void cmdline_start(struct app *app, enum edit_mode mode)
{
	struct table *list = app_list(app);

	app->edit = mode;
	drop_completions(app);
	lineedit_set(&app->line, mode == MODE_FILTER && list ? table_filter(list) : "");
}

static const struct command *find_command(const struct app *app, const char *name, size_t len)
{
	const struct command *match = NULL;
	int prefix_matches = 0;

	for (const struct command *c = app->env.commands; c && c->name; c++) {
		if ((strlen(c->name) == len && strncmp(c->name, name, len) == 0)
		    || (c->alias && strlen(c->alias) == len && strncmp(c->alias, name, len) == 0))
			return c;
		if (len && strncmp(c->name, name, len) == 0) {
			match = c;
			prefix_matches++;
		}
	}
	/* an unambiguous beginning is enough: `:ho` is `:hosts` */
	return prefix_matches == 1 ? match : NULL;
}

static void run(struct app *app, const char *line)
{
	const char *name, *arg;
	size_t len;
	const struct command *c;

	while (isspace((unsigned char)*line))
		line++;
	if (!*line)
		return;
	name = line;
	len = strcspn(name, " ");
	arg = name + len;
	while (*arg == ' ')
		arg++;
	c = find_command(app, name, len);
	if (!c) {
		app_message(app, MSG_ERROR, "No command ':%.*s' (Tab after : lists them)", (int)len, name);
		return;
	}
	if (c->screen) {
		app_jump(app, c->screen, NULL);
		/* `:vms web` opens the VMs filtered by "web" */
		if (*arg && app_list(app))
			table_set_filter(app_list(app), arg);
	} else if (c->run) {
		c->run(app, arg);
	} else {
		app_message(app, MSG_INFO, "':%s' is not part of this build yet", c->name);
	}
}

/* ---- completion ----------------------------------------------------------------- */

struct candidates {
	const char *prefix;
	size_t len;
	char **words;
	int n, cap;
};

static void add_candidate(void *ctx, const char *word)
{
	struct candidates *c = ctx;

	if (strncasecmp(word, c->prefix, c->len) != 0)
		return;
	for (int i = 0; i < c->n; i++)
		if (strcmp(c->words[i], word) == 0)
			return;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->words = xrealloc(c->words, (size_t)c->cap * sizeof(char *));
	}
	c->words[c->n++] = xstrdup(word);
}

static int compare_words(const void *a, const void *b)
{
	return strcasecmp(*(char *const *)a, *(char *const *)b);
}

static size_t common_prefix(char **words, int n)
{
	size_t len = strlen(words[0]);

	for (int i = 1; i < n; i++) {
		size_t k = 0;
		while (k < len && words[i][k] && tolower((unsigned char)words[i][k]) == tolower((unsigned char)words[0][k]))
			k++;
		len = k;
	}
	return len;
}

/* Replaces the text from byte start with word (and a space after it). */
static void replace_from(struct app *app, size_t start, const char *word, size_t wlen, bool space)
{
	char *text = xasprintf("%.*s%.*s%s", (int)start, app->line.text, (int)wlen, word, space ? " " : "");

	lineedit_set(&app->line, text);
	free(text);
}

static void complete(struct app *app)
{
	const char *text = app->line.text;
	const char *space = strchr(text, ' ');
	struct candidates cand = {0};
	const struct command *cmd = NULL;
	size_t start;

	if (app->ncompletions > 1) {
		/* Tab again: the next candidate */
		app->completion = (app->completion + 1) % app->ncompletions;
		start = space ? (size_t)(space - text) + 1 : 0;
		replace_from(app, start, app->completions[app->completion], strlen(app->completions[app->completion]),
			     false);
		return;
	}
	if (!space) {
		start = 0;
		cand.prefix = text;
		cand.len = strlen(text);
		for (const struct command *c = app->env.commands; c && c->name; c++)
			add_candidate(&cand, c->name);
	} else {
		cmd = find_command(app, text, (size_t)(space - text));
		start = (size_t)(space - text) + 1;
		while (text[start] == ' ')
			start++;
		cand.prefix = text + start;
		cand.len = strlen(cand.prefix);
		if (cmd && cmd->complete_arg)
			cmd->complete_arg(app, add_candidate, &cand);
	}
	if (cand.n == 0) {
		app_message(app, MSG_INFO, "Nothing to complete");
	} else if (cand.n == 1) {
		bool takes_arg = false;
		if (!space)
			for (const struct command *c = app->env.commands; c && c->name; c++)
				if (strcmp(c->name, cand.words[0]) == 0)
					takes_arg = c->complete_arg != NULL;
		replace_from(app, start, cand.words[0], strlen(cand.words[0]), takes_arg);
	} else {
		size_t lcp;
		qsort(cand.words, (size_t)cand.n, sizeof(char *), compare_words);
		lcp = common_prefix(cand.words, cand.n);
		if (lcp > cand.len) {
			replace_from(app, start, cand.words[0], lcp, false);
		} else {
			/* keep them: they show beside the line, Tab walks through them */
			app->completions = cand.words;
			app->ncompletions = cand.n;
			app->completion = -1;
			return;
		}
	}
	for (int i = 0; i < cand.n; i++)
		free(cand.words[i]);
	free(cand.words);
}

void cmdline_key(struct app *app, int key)
{
	struct table *list = app->edit == MODE_FILTER ? app_list(app) : NULL;

	if (key != XK_TAB)
		drop_completions(app);
	switch (key) {
	case XK_ESC:
		if (list)
			table_set_filter(list, NULL);
		app->edit = MODE_NONE;
		return;
	case XK_ENTER: {
		char *line = xstrdup(app->line.text);
		enum edit_mode mode = app->edit;
		app->edit = MODE_NONE;
		if (mode == MODE_COMMAND)
			run(app, line);
		free(line);
		return;
	}
	case XK_TAB:
		if (app->edit == MODE_COMMAND)
			complete(app);
		return;
	case XK_BACKSPACE:
		if (app->line.len == 0) {
			app->edit = MODE_NONE; /* backspace past the start leaves, as in vim */
			return;
		}
		break;
	}
	if (lineedit_key(&app->line, key) == EDIT_CHANGED && list)
		table_set_filter(list, app->line.text);
}
