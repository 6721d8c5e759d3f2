/* A form of any number of fields: text, password, path, number (with a
 * unit), size ("4 GiB"), choice and toggle, each validated with its message
 * beside it. */
#ifndef XENTUI_UI_FORM_H
#define XENTUI_UI_FORM_H

#include <curses.h>
#include <stdbool.h>

struct app;
struct form;

enum form_outcome {
	FORM_CONTINUE,
	FORM_SUBMIT, /* Enter with every field valid */
	FORM_CANCEL, /* Esc */
};

struct form *form_new(void);
void form_free(struct form *f);

/* Each returns the field's index. */
int form_text(struct form *f, const char *label, const char *value, bool required);
int form_password(struct form *f, const char *label, bool required);
/* A path on this computer: Tab completes it from the file system (the
 * matches listed beside it when they differ, then cycled by more Tabs;
 * Down moves on); a non-empty value must be a readable regular file. */
int form_path(struct form *f, const char *label, const char *value, bool required);
/* The same for a file to write: it may not exist yet, but its directory must. */
int form_path_new(struct form *f, const char *label, const char *value, bool required);
/* A whole number from min to max, shown with unit ("vCPUs") after it. */
int form_number(struct form *f, const char *label, long long value, long long min, long long max, const char *unit);
/* Bytes, typed as "4 GiB", "512M", "1.5T" or a bare number of
 * default_unit, whose name (MiB, GiB) shows beside the field. */
int form_size(struct form *f, const char *label, long long bytes, long long min, long long max,
	      long long default_unit);
int form_choice(struct form *f, const char *label, const char *const *choices, int nchoices, int selected);
int form_toggle(struct form *f, const char *label, bool on);

/* A check beyond "required", run on Enter and when leaving the field:
 * NULL when text is right, else the (short) message shown beside it. */
typedef const char *(*form_check_fn)(const struct form *f, int field, const char *text, void *ud);
void form_set_check(struct form *f, int field, form_check_fn fn, void *ud);
/* A short hint shown beside the field while it has no complaint. */
void form_set_hint(struct form *f, int field, const char *hint);
/* Replaces the text of a text or password field. */
void form_set_text(struct form *f, int field, const char *text);

const char *form_get_text(const struct form *f, int field);
long long form_get_number(const struct form *f, int field); /* number and size fields */
int form_get_choice(const struct form *f, int field);
bool form_get_toggle(const struct form *f, int field);

/* Checks every field; false (and messages beside fields) if one is wrong. */
bool form_validate(struct form *f);
int form_rows(const struct form *f);
/* Draws at (y, x) in cols columns; puts the text cursor on the focused field. */
void form_draw(struct form *f, struct app *app, WINDOW *w, int y, int x, int cols, attr_t base);
enum form_outcome form_key(struct form *f, int key);

#endif
