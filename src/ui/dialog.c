#include "dialog.h"

#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "draw.h"
#include "form.h"
#include "keys.h"
#include "lineedit.h"
#include "sanitize.h"
#include "theme.h"
#include "util.h"

enum kind { D_CONFIRM, D_TYPE_NAME, D_CHOOSE, D_MESSAGE, D_FORM };

struct choice {
	char *key, *label, *detail;
};

struct dialog {
	enum kind kind;
	char *title, *text;
	char *tag;
	char *yes, *no;
	bool danger;
	int button; /* 0: yes/OK, 1: no/cancel */
	/* type the name */
	char *name;
	struct lineedit edit;
	bool mismatch;
	/* choose */
	struct choice *choices;
	int nchoices, sel, top;
	/* form */
	struct form *form;
	/* outcome */
	struct dialog_result result;
	dialog_done_fn done;
	char *ref;
	void *ud;
	void (*free_ud)(void *);
};

static struct dialog *dialog_new(enum kind k, const char *title, const char *text)
{
	struct dialog *d = xcalloc(1, sizeof(*d));

	d->kind = k;
	d->title = xstrdup(title ? title : "");
	d->text = xstrdup(text ? text : "");
	lineedit_init(&d->edit, "");
	return d;
}

struct dialog *dialog_confirm(const char *title, const char *text, const char *yes, const char *no, bool danger)
{
	struct dialog *d = dialog_new(D_CONFIRM, title, text);

	d->yes = xstrdup(yes ? yes : "Yes");
	d->no = xstrdup(no ? no : "No");
	d->danger = danger;
	d->button = danger ? 1 : 0;
	return d;
}

struct dialog *dialog_type_name(const char *title, const char *text, const char *name)
{
	struct dialog *d = dialog_new(D_TYPE_NAME, title, text);

	/* what the user can see and type: the sanitised name */
	d->name = sanitize(name);
	d->danger = true;
	return d;
}

struct dialog *dialog_choose(const char *title, const char *text)
{
	return dialog_new(D_CHOOSE, title, text);
}

void dialog_add_choice(struct dialog *d, const char *key, const char *label, const char *detail)
{
	d->choices = xrealloc(d->choices, (size_t)(d->nchoices + 1) * sizeof(*d->choices));
	d->choices[d->nchoices].key = xstrdup(key);
	d->choices[d->nchoices].label = xstrdup(label);
	d->choices[d->nchoices].detail = xstrdup(detail ? detail : "");
	d->nchoices++;
}

struct dialog *dialog_message(const char *title, const char *text)
{
	struct dialog *d = dialog_new(D_MESSAGE, title, text);

	d->yes = xstrdup("OK");
	return d;
}

struct dialog *dialog_form(const char *title, const char *text, struct form *f)
{
	struct dialog *d = dialog_new(D_FORM, title, text);

	d->form = f;
	return d;
}

void dialog_on_done(struct dialog *d, dialog_done_fn fn, const char *ref, void *ud)
{
	d->done = fn;
	free(d->ref);
	d->ref = ref ? xstrdup(ref) : NULL;
	d->ud = ud;
}

void dialog_set_tag(struct dialog *d, const char *tag)
{
	free(d->tag);
	d->tag = tag ? xstrdup(tag) : NULL;
}

const char *dialog_tag(const struct dialog *d)
{
	return d->tag;
}

void dialog_set_text(struct dialog *d, const char *text)
{
	free(d->text);
	d->text = xstrdup(text ? text : "");
}

void dialog_own_ud(struct dialog *d, void (*free_fn)(void *))
{
	d->free_ud = free_fn;
}

void dialog_free(struct dialog *d)
{
	if (!d)
		return;
	if (d->free_ud)
		d->free_ud(d->ud);
	free(d->title);
	free(d->text);
	free(d->tag);
	free(d->yes);
	free(d->no);
	free(d->name);
	lineedit_free(&d->edit);
	for (int i = 0; i < d->nchoices; i++) {
		free(d->choices[i].key);
		free(d->choices[i].label);
		free(d->choices[i].detail);
	}
	free(d->choices);
	form_free(d->form);
	free(d->ref);
	free(d);
}

void dialog_finish(struct dialog *d, struct app *app)
{
	dialog_done_fn fn = d->done;

	d->done = NULL;
	d->result.form = d->form;
	if (fn)
		fn(app, &d->result, d->ref, d->ud);
}

const char *const *dialog_hints(const struct dialog *d)
{
	static const char *const confirm[] = {"Enter", "Choose", "y", "Yes", "n/Esc", "No", "Tab", "Switch", NULL};
	static const char *const type[] = {"Enter", "Confirm", "Esc", "Cancel", NULL};
	static const char *const choose[] = {"Up/Down", "Move", "Enter", "Choose", "Esc", "Cancel", NULL};
	static const char *const message[] = {"Enter", "OK", "Esc", "Close", NULL};
	static const char *const form[] = {"Enter", "OK", "Tab", "Next field", "Esc", "Cancel", NULL};

	switch (d->kind) {
	case D_CONFIRM: return confirm;
	case D_TYPE_NAME: return type;
	case D_CHOOSE: return choose;
	case D_MESSAGE: return message;
	default: return form;
	}
}

/* ---- drawing ------------------------------------------------------------------ */

static void draw_buttons(struct dialog *d, WINDOW *w, int y, int x, int cols, attr_t base)
{
	char yes[64], no[64];
	int wy, wn, start;

	snprintf(yes, sizeof(yes), "[ %s ]", d->yes);
	snprintf(no, sizeof(no), "[ %s ]", d->no ? d->no : "");
	wy = text_width(yes);
	wn = d->no ? text_width(no) : 0;
	start = x + (cols - wy - (d->no ? wn + 2 : 0)) / 2;
	ui_add(w, y, start, wy, d->button == 0 ? theme_attr(ROLE_SELECTED) : base, yes);
	if (d->no)
		ui_add(w, y, start + wy + 2, wn, d->button == 1 ? theme_attr(ROLE_SELECTED) : base, no);
}

void dialog_draw(struct dialog *d, struct app *app, WINDOW *w, int h, int cols)
{
	attr_t base = theme_attr(ROLE_DIALOG);
	attr_t frame = d->danger ? theme_attr(ROLE_BAD) | A_BOLD : theme_attr(ROLE_DIALOG);
	/* forms and lists carry names and labels: they may use a wide terminal */
	int widest = d->kind == D_FORM || d->kind == D_CHOOSE ? 100 : 72;
	int dw = cols - 8 < widest ? cols - 8 : widest;
	int inner = dw - 4;
	int text_rows = ui_wrap(w, 0, 0, inner, 0, base, d->text);
	int extra = 0, dh, dy, dx, y;

	if (dw < 20 || h < 6)
		return;
	/* content rows under the text */
	switch (d->kind) {
	case D_CONFIRM:
	case D_MESSAGE:
		extra = 1;
		break;
	case D_TYPE_NAME:
		extra = 3;
		break;
	case D_CHOOSE:
		extra = d->nchoices ? d->nchoices : 1;
		if (extra > h - 6)
			extra = h - 6;
		break;
	case D_FORM:
		extra = form_rows(d->form);
		break;
	}
	/* border, text, blank, content, blank, border */
	if (text_rows > h - 5 - extra)
		text_rows = h - 5 - extra > 1 ? h - 5 - extra : 1;
	dh = 1 + (text_rows ? text_rows + 1 : 0) + extra + 2;
	if (dh > h)
		dh = h;
	dy = (h - dh) / 2;
	dx = (cols - dw) / 2;
	ui_frame(w, dy, dx, dh, dw, frame, base, d->title, theme_attr(ROLE_DIALOG_TITLE));
	y = dy + 1;
	if (text_rows) {
		ui_wrap(w, y, dx + 2, inner, text_rows, base, d->text);
		y += text_rows + 1;
	}
	switch (d->kind) {
	case D_CONFIRM:
	case D_MESSAGE:
		draw_buttons(d, w, y, dx + 2, inner, base);
		break;
	case D_TYPE_NAME: {
		int cur;
		ui_put(w, y, dx + 2, inner, base, "Type the name to confirm:");
		cur = lineedit_draw(&d->edit, w, y + 1, dx + 2, inner, theme_attr(ROLE_INPUT));
		app_cursor(app, w, y + 1, dx + 2 + cur);
		ui_put(w, y + 2, dx + 2, inner, d->mismatch ? theme_attr(ROLE_BAD) : base,
		       d->mismatch ? "That is not the name: nothing was done." : "");
		break;
	}
	case D_CHOOSE: {
		int rows = extra;
		if (d->sel < d->top)
			d->top = d->sel;
		if (d->sel >= d->top + rows)
			d->top = d->sel - rows + 1;
		for (int i = 0; i < rows && d->top + i < d->nchoices; i++) {
			struct choice *c = &d->choices[d->top + i];
			attr_t a = d->top + i == d->sel ? theme_attr(ROLE_SELECTED) : base;
			int lw = inner * 3 / 5;
			ui_put(w, y + i, dx + 2, lw, a, c->label);
			ui_put(w, y + i, dx + 2 + lw, inner - lw, a, c->detail);
		}
		if (d->nchoices == 0)
			ui_put(w, y, dx + 2, inner, base, "(nothing to choose from)");
		break;
	}
	case D_FORM:
		form_draw(d->form, app, w, y, dx + 2, inner, base);
		break;
	}
}

/* ---- keys ------------------------------------------------------------------------ */

static enum dialog_state close_with(struct dialog *d, bool ok)
{
	d->result.ok = ok;
	return DIALOG_CLOSED;
}

enum dialog_state dialog_key(struct dialog *d, int key)
{
	switch (d->kind) {
	case D_CONFIRM:
		if (key == 'y' || key == 'Y')
			return close_with(d, true);
		if (key == 'n' || key == 'N' || key == XK_ESC || key == 'q')
			return close_with(d, false);
		if (key == XK_ENTER || key == ' ')
			return close_with(d, d->button == 0);
		if (key == XK_TAB || key == XK_LEFT || key == XK_RIGHT || key == XK_BTAB || key == 'h' || key == 'l')
			d->button = 1 - d->button;
		return DIALOG_OPEN;
	case D_MESSAGE:
		if (key == XK_ENTER || key == XK_ESC || key == ' ' || key == 'q')
			return close_with(d, true);
		return DIALOG_OPEN;
	case D_TYPE_NAME:
		if (key == XK_ESC)
			return close_with(d, false);
		if (key == XK_ENTER) {
			if (strcmp(d->edit.text, d->name) == 0)
				return close_with(d, true);
			d->mismatch = true;
			return DIALOG_OPEN;
		}
		if (lineedit_key(&d->edit, key) == EDIT_CHANGED)
			d->mismatch = false;
		return DIALOG_OPEN;
	case D_CHOOSE:
		if (key == XK_ESC || key == 'q')
			return close_with(d, false);
		if (key == XK_ENTER && d->nchoices) {
			d->result.choice = d->sel;
			d->result.choice_key = d->choices[d->sel].key;
			return close_with(d, true);
		}
		if ((key == XK_DOWN || key == 'j') && d->sel + 1 < d->nchoices)
			d->sel++;
		if ((key == XK_UP || key == 'k') && d->sel > 0)
			d->sel--;
		if (key == XK_HOME)
			d->sel = 0;
		if (key == XK_END && d->nchoices)
			d->sel = d->nchoices - 1;
		return DIALOG_OPEN;
	case D_FORM:
		switch (form_key(d->form, key)) {
		case FORM_SUBMIT:
			return close_with(d, true);
		case FORM_CANCEL:
			return close_with(d, false);
		default:
			return DIALOG_OPEN;
		}
	}
	return DIALOG_OPEN;
}
