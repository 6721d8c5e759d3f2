/* What the detail screens (a host, a VM, a network, an SR) share, as tmux's
 * mode-tree serves its modes: the object a qualified ref names, its pool
 * and record, the sentence when it cannot be shown, the title, and the tab
 * bar with its keys. A screen embeds a struct detail in its state. */
#ifndef XENTUI_DETAIL_H
#define XENTUI_DETAIL_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

#include "app.h"
#include "keys.h"
#include "pools.h"
#include "value.h"

struct detail {
	char *qref;              /* "ID/REF", owned */
	const char *ref;         /* the pool's own, in qref ("" when it names none) */
	const char *noun;        /* the title's first word: "Host" */
	const char *what;        /* in sentences: "host" */
	const char *const *tabs; /* the tab bar's names; NULL: no tabs */
	int ntabs;
	int tab; /* the tab shown */
};

/* The tab keys, for a screen's key table (the screen's key callback hands
 * them to detail_key): Tab and Right, Shift-Tab and Left; digits too. */
#define DETAIL_TAB_KEYS(bar)                                                                      \
	{XK_TAB, "Next tab", "The next tab (also Right, or a tab's number)", NULL, NULL, bar},    \
	{XK_RIGHT, "Next tab", "The next tab", NULL, NULL, false},                                \
	{XK_BTAB, "Prev tab", "The previous tab (also Left)", NULL, NULL, false},                 \
	{XK_LEFT, "Prev tab", "The previous tab", NULL, NULL, false}

void detail_init(struct detail *d, struct app *app, const char *qref, const char *noun, const char *what,
		 const char *const *tabs, int ntabs);
void detail_free(struct detail *d);
/* The object's pool, connected or not (a screen's .pool). */
struct pool *detail_pool(struct app *app, const struct detail *d);
/* The object's pool while it is connected, or NULL. */
struct pool *detail_connected(struct app *app, const struct detail *d);
/* The object's record, or NULL while its pool is away or reloading, or it
 * is gone; *p is its pool either way (NULL when none). */
const struct xv *detail_record(struct app *app, const struct detail *d, struct pool **p);
/* Why the record is NULL: "(reloading)" for the title, a sentence for the body. */
const char *detail_missing(const struct detail *d, const struct pool *p, bool title);
/* Draws the tab bar, and when rec is NULL the sentence saying why; returns
 * the body's first row. */
int detail_draw_head(struct detail *d, const struct xv *rec, const struct pool *p, WINDOW *w, int cols);
/* The title: "VM web-01 · Running · pool lab" (state may be NULL). */
void detail_describe(struct app *app, const struct detail *d, const char *state, char *buf, size_t n);
/* Tab, Shift-Tab, Right, Left and a tab's number; true when key was one. */
bool detail_key(struct detail *d, int key);

#endif
