#include "form.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "draw.h"
#include "keys.h"
#include "lineedit.h"
#include "theme.h"
#include "units.h"
#include "util.h"

enum kind { K_TEXT, K_PASSWORD, K_NUMBER, K_SIZE, K_CHOICE, K_TOGGLE };

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
};

#define MAX_FIELDS 12

struct form {
	struct field fields[MAX_FIELDS];
	int n;
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
	}
	free(f);
}

static struct field *add(struct form *f, enum kind k, const char *label)
{
	struct field *fl;

	if (f->n == MAX_FIELDS)
		abort(); /* a programming error: forms are small and fixed */
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

	size_format(buf, sizeof(buf), bytes);
	lineedit_set(&fl->edit, buf);
	fl->min = min;
	fl->max = max;
	fl->value = bytes;
	fl->unit_bytes = default_unit;
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

void form_set_text(struct form *f, int field, const char *text)
{
	if (field >= 0 && field < f->n)
		lineedit_set(&f->fields[field].edit, text ? text : "");
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

static bool validate_field(struct form *f, int i)
{
	struct field *fl = &f->fields[i];
	const char *text = fl->edit.text;
	char msg[96];

	switch (fl->kind) {
	case K_TEXT:
	case K_PASSWORD:
		if (fl->required && !*text) {
			set_error(fl, "required");
			return false;
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

void form_draw(struct form *f, struct app *app, WINDOW *w, int y, int x, int cols, attr_t base)
{
	int label_w = 0;

	for (int i = 0; i < f->n; i++) {
		int lw = (int)strlen(f->fields[i].label);
		if (lw > label_w)
			label_w = lw;
	}
	label_w += 2;
	if (label_w > cols / 3)
		label_w = cols / 3;
	for (int i = 0; i < f->n; i++) {
		struct field *fl = &f->fields[i];
		bool focus = i == f->focus;
		int fx = x + label_w, fw = cols - label_w;
		int input_w = fw * 3 / 5;
		attr_t in = focus ? theme_attr(ROLE_SELECTED) : theme_attr(ROLE_INPUT);
		char buf[160];
		int cur;

		ui_put(w, y + i, x, label_w, focus ? base | A_BOLD : base, fl->label);
		switch (fl->kind) {
		case K_CHOICE:
			snprintf(buf, sizeof(buf), "< %s >", fl->choices[fl->choice]);
			ui_put(w, y + i, fx, input_w, in, buf);
			break;
		case K_TOGGLE:
			ui_put(w, y + i, fx, input_w, in, fl->on ? "[x] yes" : "[ ] no");
			break;
		default:
			cur = lineedit_draw(&fl->edit, w, y + i, fx, fl->unit && *fl->unit ? input_w - 8 : input_w, in);
			if (fl->unit && *fl->unit)
				ui_put(w, y + i, fx + input_w - 7, 7, base, fl->unit);
			if (focus)
				app_cursor(app, w, y + i, fx + cur);
			break;
		}
		/* the field's complaint, or its hint, beside it */
		ui_put(w, y + i, fx + input_w + 1, fw - input_w - 1, fl->error ? theme_attr(ROLE_BAD) : base,
		       fl->error ? fl->error : fl->hint ? fl->hint : "");
	}
}

enum form_outcome form_key(struct form *f, int key)
{
	struct field *fl = f->n ? &f->fields[f->focus] : NULL;

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
