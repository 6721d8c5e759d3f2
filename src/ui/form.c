#include "form.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "draw.h"
#include "keys.h"
#include "lineedit.h"
#include "pathcomp.h"
#include "sanitize.h"
#include "theme.h"
#include "units.h"
#include "util.h"

enum kind { K_TEXT, K_PASSWORD, K_NUMBER, K_SIZE, K_CHOICE, K_TOGGLE, K_PATH };

struct field {
	enum kind kind;
	char *label;
	struct lineedit edit; /* text, password, number, size */
	bool required;
	long long min, max, unit_bytes, value;
	char *unit;
	char **choices;
	int nchoices, choice;
	bool on;
	char *error; /* shown beside the field */
	char *hint;  /* shown there while there is no error */
	form_check_fn check;
	void *check_ud;
	/* path: the matches of the last Tab that could not go further, listed
	 * in note; the next Tabs cycle through them (cycle: the one shown) */
	struct path_matches matches;
	int cycle;
	char *note; /* shown beside the field before anything else */
	bool new_file; /* path: a file to write (form_path_new) */
};

struct form {
	struct field *fields; /* grows as fields are added */
	int n, cap;
	int focus;
};

struct form *form_new(void)
{
	return xcalloc(1, sizeof(struct form));
}

void form_free(struct form *f)
{
	if (!f)
		return;
	for (int i = 0; i < f->n; i++) {
		struct field *fl = &f->fields[i];
		free(fl->label);
		lineedit_free(&fl->edit);
		free(fl->unit);
		for (int c = 0; c < fl->nchoices; c++)
			free(fl->choices[c]);
		free(fl->choices);
		free(fl->error);
		free(fl->hint);
		free(fl->note);
		path_matches_free(&fl->matches);
	}
	free(f->fields);
	free(f);
}

static struct field *add(struct form *f, enum kind k, const char *label)
{
	struct field *fl;

	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		f->fields = xrealloc(f->fields, (size_t)f->cap * sizeof(*f->fields));
	}
	fl = &f->fields[f->n++];
	memset(fl, 0, sizeof(*fl));
	fl->kind = k;
	fl->label = xstrdup(label);
	lineedit_init(&fl->edit, "");
	return fl;
}

int form_text(struct form *f, const char *label, const char *value, bool required)
{
	struct field *fl = add(f, K_TEXT, label);

	lineedit_set(&fl->edit, value);
	fl->required = required;
	return f->n - 1;
}

int form_path(struct form *f, const char *label, const char *value, bool required)
{
	struct field *fl = add(f, K_PATH, label);

	lineedit_set(&fl->edit, value ? value : "");
	fl->required = required;
	return f->n - 1;
}

int form_path_new(struct form *f, const char *label, const char *value, bool required)
{
	int i = form_path(f, label, value, required);

	f->fields[i].new_file = true;
	return i;
}

int form_password(struct form *f, const char *label, bool required)
{
	struct field *fl = add(f, K_PASSWORD, label);

	fl->edit.secret = true;
	fl->required = required;
	return f->n - 1;
}

int form_number(struct form *f, const char *label, long long value, long long min, long long max, const char *unit)
{
	struct field *fl = add(f, K_NUMBER, label);
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", value);
	lineedit_set(&fl->edit, buf);
	fl->min = min;
	fl->max = max;
	fl->value = value;
	fl->unit = xstrdup(unit ? unit : "");
	return f->n - 1;
}

int form_size(struct form *f, const char *label, long long bytes, long long min, long long max,
	      long long default_unit)
{
	struct field *fl = add(f, K_SIZE, label);
	char buf[32];

	const char *unit = size_unit_name(default_unit);

	/* a bare number of the unit named beside it: a bare number typed
	 * means the same (512M, 4G, 1.5T take their own) */
	size_format_in(buf, sizeof(buf), bytes, default_unit);
	lineedit_set(&fl->edit, buf);
	fl->min = min;
	fl->max = max;
	fl->value = bytes;
	fl->unit_bytes = default_unit;
	fl->unit = xstrdup(unit ? unit : "");
	return f->n - 1;
}

int form_choice(struct form *f, const char *label, const char *const *choices, int nchoices, int selected)
{
	struct field *fl = add(f, K_CHOICE, label);

	fl->choices = xcalloc((size_t)nchoices, sizeof(char *));
	for (int i = 0; i < nchoices; i++)
		fl->choices[i] = xstrdup(choices[i]);
	fl->nchoices = nchoices;
	fl->choice = selected >= 0 && selected < nchoices ? selected : 0;
	return f->n - 1;
}

int form_toggle(struct form *f, const char *label, bool on)
{
	struct field *fl = add(f, K_TOGGLE, label);

	fl->on = on;
	return f->n - 1;
}

void form_set_check(struct form *f, int field, form_check_fn fn, void *ud)
{
	if (field < 0 || field >= f->n)
		return;
	f->fields[field].check = fn;
	f->fields[field].check_ud = ud;
}

void form_set_hint(struct form *f, int field, const char *hint)
{
	if (field < 0 || field >= f->n)
		return;
	free(f->fields[field].hint);
	f->fields[field].hint = hint ? xstrdup(hint) : NULL;
}

static void forget_matches(struct field *fl);

void form_set_text(struct form *f, int field, const char *text)
{
	if (field < 0 || field >= f->n)
		return;
	lineedit_set(&f->fields[field].edit, text ? text : "");
	forget_matches(&f->fields[field]);
}

const char *form_get_text(const struct form *f, int field)
{
	return field >= 0 && field < f->n ? f->fields[field].edit.text : "";
}

long long form_get_number(const struct form *f, int field)
{
	return field >= 0 && field < f->n ? f->fields[field].value : 0;
}

int form_get_choice(const struct form *f, int field)
{
	return field >= 0 && field < f->n ? f->fields[field].choice : 0;
}

bool form_get_toggle(const struct form *f, int field)
{
	return field >= 0 && field < f->n && f->fields[field].on;
}

static void set_error(struct field *fl, const char *msg)
{
	free(fl->error);
	fl->error = msg ? xstrdup(msg) : NULL;
}

/* Why a path is no file to write, or NULL. */
static const char *new_path_problem(const char *text)
{
	struct stat st;
	char *dir = xstrdup(text), *slash = strrchr(dir, '/');
	const char *why = NULL;

	if (stat(text, &st) == 0)
		why = S_ISDIR(st.st_mode) ? "a directory: add a file name" : S_ISREG(st.st_mode) ? NULL : "not a regular file";
	else if (slash && slash != dir && (*slash = '\0', stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)))
		why = "no such directory";
	else if (access(slash ? (slash == dir ? "/" : dir) : ".", W_OK) != 0)
		why = "the directory is not writable";
	free(dir);
	return why;
}

/* Why a path is no file to read, or NULL. */
static const char *path_problem(const char *text)
{
	struct stat st;

	if (stat(text, &st) != 0)
		return "no such file";
	if (S_ISDIR(st.st_mode))
		return "a directory, not a file";
	if (!S_ISREG(st.st_mode))
		return "not a regular file";
	if (access(text, R_OK) != 0)
		return "not readable";
	return NULL;
}

static bool validate_field(struct form *f, int i)
{
	struct field *fl = &f->fields[i];
	const char *text = fl->edit.text;
	char msg[96];

	switch (fl->kind) {
	case K_TEXT:
	case K_PASSWORD:
	case K_PATH:
		if (fl->required && !*text) {
			set_error(fl, "required");
			return false;
		}
		if (fl->kind == K_PATH && *text) {
			const char *why = fl->new_file ? new_path_problem(text) : path_problem(text);
			if (why) {
				set_error(fl, why);
				return false;
			}
		}
		if (fl->check) {
			const char *why = fl->check(f, i, text, fl->check_ud);
			if (why) {
				set_error(fl, why);
				return false;
			}
		}
		break;
	case K_NUMBER: {
		char *end;
		long long v;
		errno = 0;
		v = strtoll(text, &end, 10);
		while (*end == ' ')
			end++;
		if (!*text || *end || errno) {
			set_error(fl, "a whole number");
			return false;
		}
		if (v < fl->min || v > fl->max) {
			snprintf(msg, sizeof(msg), "from %lld to %lld", fl->min, fl->max);
			set_error(fl, msg);
			return false;
		}
		fl->value = v;
		break;
	}
	case K_SIZE: {
		const char *why;
		long long v;
		if (!size_parse(text, fl->unit_bytes, &v, &why)) {
			set_error(fl, why);
			return false;
		}
		if (v < fl->min || v > fl->max) {
			char lo[24], hi[24];
			size_format(lo, sizeof(lo), fl->min);
			size_format(hi, sizeof(hi), fl->max);
			snprintf(msg, sizeof(msg), "from %s to %s", lo, hi);
			set_error(fl, msg);
			return false;
		}
		fl->value = v;
		break;
	}
	default:
		break;
	}
	set_error(fl, NULL);
	return true;
}

bool form_validate(struct form *f)
{
	bool ok = true;
	int first_bad = -1;

	for (int i = 0; i < f->n; i++)
		if (!validate_field(f, i)) {
			ok = false;
			if (first_bad < 0)
				first_bad = i;
		}
	if (first_bad >= 0)
		f->focus = first_bad;
	return ok;
}

int form_rows(const struct form *f)
{
	return f->n;
}

/* Columns s takes on screen (as the sanitiser will show it). */
static int shown_width(const char *s)
{
	char *t = ui_text(s);
	int w = text_width(t);

	free(t);
	return w;
}

/* The columns a choice needs for the entry it shows, brackets included. */
static int choice_width(const struct field *fl)
{
	return shown_width(fl->choices[fl->choice]) + 4;
}

void form_draw(struct form *f, struct app *app, WINDOW *w, int y, int x, int cols, attr_t base)
{
	int label_w = 0, fw, input_w;

	/* the labels' column is as wide as the longest label; only a narrow
	 * dialog makes it give way (to half the width) */
	for (int i = 0; i < f->n; i++) {
		int lw = shown_width(f->fields[i].label);
		if (lw > label_w)
			label_w = lw;
	}
	label_w += 2;
	if (label_w > cols / 2)
		label_w = cols / 2;
	fw = cols - label_w;
	/* text inputs share one width; a choice takes what its entry needs
	 * (up to the dialog's edge) and its hint follows it */
	input_w = fw * 3 / 5;
	for (int i = 0; i < f->n; i++) {
		struct field *fl = &f->fields[i];
		bool focus = i == f->focus;
		int fx = x + label_w;
		int used = input_w; /* columns of this row's value */
		attr_t in = focus ? theme_attr(ROLE_SELECTED) : theme_attr(ROLE_INPUT);
		const char *side;
		int cur;

		ui_put(w, y + i, x, label_w, focus ? base | A_BOLD : base, fl->label);
		switch (fl->kind) {
		case K_CHOICE: {
			/* the entry shown, whole: the hint moves along as it changes */
			int want = choice_width(fl), n;
			used = want > input_w ? want : input_w;
			if (used > fw)
				used = fw;
			/* the entry is cut (with an ellipsis) inside its brackets */
			ui_fill(w, y + i, fx, used, in);
			n = ui_add(w, y + i, fx, 2, in, "< ");
			n += ui_add(w, y + i, fx + n, used - n - 2, in, fl->choices[fl->choice]);
			ui_add(w, y + i, fx + n, 2, in, " >");
			break;
		}
		case K_TOGGLE:
			ui_put(w, y + i, fx, input_w, in, fl->on ? "[x] yes" : "[ ] no");
			break;
		default: {
			/* a field not being edited shows its start, not the end its
			 * cursor would keep in view */
			struct lineedit shown = fl->edit;

			if (!focus)
				shown.cursor = 0;
			cur = lineedit_draw(&shown, w, y + i, fx, fl->unit && *fl->unit ? input_w - 8 : input_w, in);
			if (fl->unit && *fl->unit)
				ui_put(w, y + i, fx + input_w - 7, 7, base, fl->unit);
			if (focus)
				app_cursor(app, w, y + i, fx + cur);
			break;
		}
		}
		/* the field's note (path matches), its complaint, or its hint, beside it */
		side = fl->note ? fl->note : fl->error ? fl->error : fl->hint ? fl->hint : "";
		if (used < fw)
			ui_put(w, y + i, fx + used, 1, base, "");
		if (used + 1 < fw)
			ui_put(w, y + i, fx + used + 1, fw - used - 1, !fl->note && fl->error ? theme_attr(ROLE_BAD) : base,
			       side);
	}
}

static void forget_matches(struct field *fl)
{
	path_matches_free(&fl->matches);
	free(fl->note);
	fl->note = NULL;
	fl->cycle = -1;
}

/* Tab in a path field: complete as far as the matches agree; when that
 * goes no further, list the matches beside the field, then cycle through
 * them. False when there is nothing to complete (Tab moves on then). */
static bool path_tab(struct form *f, struct field *fl)
{
	struct path_matches m;
	char *done;
	bool progress;

	if (fl->matches.n > 1) {
		fl->cycle = (fl->cycle + 1) % fl->matches.n;
		lineedit_set(&fl->edit, fl->matches.paths[fl->cycle]);
		free(fl->note);
		fl->note = xasprintf("%d of %d (Tab: next)", fl->cycle + 1, fl->matches.n);
		return true;
	}
	forget_matches(fl);
	done = path_complete(fl->edit.text, &m);
	progress = strcmp(done, fl->edit.text) != 0;
	if (progress) {
		lineedit_set(&fl->edit, done);
		if (fl->error)
			validate_field(f, f->focus);
		path_matches_free(&m);
	} else if (m.n > 1) {
		struct buf b;
		buf_init(&b);
		buf_printf(&b, "%d matches:", m.n);
		for (int i = 0; i < m.n && b.len < 400; i++)
			buf_printf(&b, " %s", path_base(m.paths[i]));
		fl->note = xstrdup(b.data);
		buf_free(&b);
		fl->matches = m;
		fl->cycle = -1;
		progress = true;
	} else {
		path_matches_free(&m);
	}
	free(done);
	return progress;
}

enum form_outcome form_key(struct form *f, int key)
{
	struct field *fl = f->n ? &f->fields[f->focus] : NULL;

	if (fl && fl->kind == K_PATH) {
		if (key == XK_TAB && path_tab(f, fl))
			return FORM_CONTINUE;
		/* anything else ends a listing of matches */
		forget_matches(fl);
	}
	switch (key) {
	case XK_ESC:
		return FORM_CANCEL;
	case XK_ENTER:
		return form_validate(f) ? FORM_SUBMIT : FORM_CONTINUE;
	case XK_TAB:
	case XK_DOWN:
		if (fl)
			validate_field(f, f->focus);
		f->focus = f->n ? (f->focus + 1) % f->n : 0;
		return FORM_CONTINUE;
	case XK_BTAB:
	case XK_UP:
		if (fl)
			validate_field(f, f->focus);
		f->focus = f->n ? (f->focus + f->n - 1) % f->n : 0;
		return FORM_CONTINUE;
	}
	if (!fl)
		return FORM_CONTINUE;
	switch (fl->kind) {
	case K_CHOICE:
		if (key == XK_LEFT || key == '-')
			fl->choice = (fl->choice + fl->nchoices - 1) % fl->nchoices;
		else if (key == XK_RIGHT || key == ' ' || key == '+')
			fl->choice = (fl->choice + 1) % fl->nchoices;
		break;
	case K_TOGGLE:
		if (key == ' ' || key == XK_LEFT || key == XK_RIGHT)
			fl->on = !fl->on;
		break;
	default:
		if (lineedit_key(&fl->edit, key) == EDIT_CHANGED && fl->error)
			validate_field(f, f->focus); /* the message follows the typing */
		break;
	}
	return FORM_CONTINUE;
}
