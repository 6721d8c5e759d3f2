/* What the detail screens share: see detail.h. */
#include "detail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"
#include "theme.h"
#include "util.h"

void detail_init(struct detail *d, struct app *app, const char *qref, const char *noun, const char *what,
		 const char *const *tabs, int ntabs)
{
	memset(d, 0, sizeof(*d));
	d->qref = xstrdup(qref ? qref : "");
	pools_resolve(app_pools(app), d->qref, &d->ref);
	if (!d->ref)
		d->ref = "";
	d->noun = noun;
	d->what = what;
	d->tabs = tabs;
	d->ntabs = tabs ? ntabs : 0;
}

void detail_free(struct detail *d)
{
	free(d->qref);
	d->qref = NULL;
}

struct pool *detail_pool(struct app *app, const struct detail *d)
{
	const char *ref;

	return pools_resolve(app_pools(app), d->qref, &ref);
}

struct pool *detail_connected(struct app *app, const struct detail *d)
{
	struct pool *p = detail_pool(app, d);

	return p && p->cache ? p : NULL;
}

const struct xv *detail_record(struct app *app, const struct detail *d, struct pool **p)
{
	return pools_lookup(app_pools(app), d->qref, p, NULL);
}

const char *detail_missing(const struct detail *d, const struct pool *p, bool title)
{
	static char sentence[160];

	if (!p || !p->cache)
		return title ? "(pool not connected)" : "Its pool is not connected (Esc goes back).";
	/* a resync clears the cache until the reload ends: the object is not gone */
	if (!cache_loaded(p->cache)) {
		if (title)
			return "(reloading)";
		snprintf(sentence, sizeof(sentence), "Reloading the pool's objects; the %s shows again when they are in.",
			 d->what);
		return sentence;
	}
	if (title)
		return "(gone)";
	snprintf(sentence, sizeof(sentence), "This %s is no longer in the pool (Esc goes back).", d->what);
	return sentence;
}

int detail_draw_head(struct detail *d, const struct xv *rec, const struct pool *p, WINDOW *w, int cols)
{
	int top = d->ntabs ? 2 : 0;

	if (d->ntabs)
		ui_tabs(w, 0, 0, cols, d->tabs, d->ntabs, d->tab);
	if (!rec)
		ui_put(w, top ? top : 1, 2, cols - 4, theme_attr(ROLE_WARN), detail_missing(d, p, false));
	return top;
}

void detail_describe(struct app *app, const struct detail *d, const char *state, char *buf, size_t n)
{
	struct pool *p;
	const struct xv *rec = detail_record(app, d, &p);
	struct buf suffix;

	if (!rec) {
		snprintf(buf, n, "%s %s", d->noun, detail_missing(d, p, true));
		return;
	}
	buf_init(&suffix);
	if (state)
		buf_printf(&suffix, " %s %s", glyph(GLYPH_SEP), state);
	if (app_many_pools(app))
		buf_printf(&suffix, " %s pool %s", glyph(GLYPH_SEP), p->cfg.name);
	ui_title(buf, n, d->noun, rec_str(rec, "name_label"), suffix.data ? suffix.data : "");
	buf_free(&suffix);
}

bool detail_key(struct detail *d, int key)
{
	if (!d->ntabs)
		return false;
	if (key == XK_TAB || key == XK_RIGHT)
		d->tab = (d->tab + 1) % d->ntabs;
	else if (key == XK_BTAB || key == XK_LEFT)
		d->tab = (d->tab + d->ntabs - 1) % d->ntabs;
	else if (key >= '1' && key < '1' + d->ntabs && key <= '9')
		d->tab = key - '1';
	else
		return false;
	return true;
}
