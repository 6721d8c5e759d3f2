/* Templates: the VM templates of every connected pool (XCP-ng's own and
 * the users'), with what a new VM gets from each; Enter (or n) makes a new
 * VM from the selected one. `n` on the VM list comes here first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "draw.h"
#include "keys.h"
#include "model.h"
#include "screens.h"
#include "table.h"
#include "units.h"
#include "util.h"
#include "vm_new.h"

enum { COL_NAME, COL_POOL, COL_VCPUS, COL_RAM, COL_KIND };

static const struct table_col columns[] = {
	[COL_NAME] = {"NAME", 20, 3, false, false, 0},
	[COL_POOL] = {"POOL", 8, 1, false, false, 0},
	[COL_VCPUS] = {"VCPUS", 5, 0, true, true, 2},
	[COL_RAM] = {"RAM", 8, 0, true, true, 3},
	[COL_KIND] = {"KIND", 8, 0, false, false, 1},
};

struct templates {
	struct table *table;
};

static bool is_template(const struct xv *vm)
{
	return vm && rec_bool(vm, "is_a_template") && !rec_bool(vm, "is_a_snapshot");
}

static void put_template(struct templates *t, struct pool *p, const char *ref, const struct xv *vm)
{
	char key[QREF_MAX], vcpus[16], ram[24];

	pool_qref(p, ref, key, sizeof(key));
	if (!is_template(vm)) {
		table_remove(t->table, key);
		return;
	}
	snprintf(vcpus, sizeof(vcpus), "%lld", rec_int(vm, "VCPUs_at_startup"));
	size_format(ram, sizeof(ram), rec_int(vm, "memory_static_max"));
	{
		struct table_cell cells[] = {
			[COL_NAME] = {rec_str(vm, "name_label"), 0, -1},
			[COL_POOL] = {p->cfg.name, 0, -1},
			[COL_VCPUS] = {vcpus, (double)rec_int(vm, "VCPUs_at_startup"), -1},
			[COL_RAM] = {ram, (double)rec_int(vm, "memory_static_max"), -1},
			[COL_KIND] = {rec_bool(vm, "is_default_template") ? "built-in" : "custom", 0, -1},
		};
		table_put(t->table, key, cells, ROLE_NORMAL, rec_str(vm, "uuid"));
	}
}

struct put_ctx {
	struct templates *t;
	struct pool *p;
};

static bool put_cb(const char *ref, const struct xv *vm, void *ud)
{
	struct put_ctx *ctx = ud;

	put_template(ctx->t, ctx->p, ref, vm);
	return true;
}

static void rebuild(struct app *app, struct templates *t)
{
	struct pools *ps = app_pools(app);

	table_clear(t->table);
	for (size_t i = 0; i < pools_count(ps); i++) {
		struct put_ctx ctx = {t, pools_at(ps, i)};
		if (ctx.p->cache)
			cache_each(ctx.p->cache, "VM", put_cb, &ctx);
	}
	table_show_col(t->table, COL_POOL, app_many_pools(app));
}

static void *templates_enter(struct app *app, const void *arg)
{
	struct templates *t = xcalloc(1, sizeof(*t));

	t->table = table_new(columns, (int)(ARRAY_LEN(columns)));
	table_set_noun(t->table, "template", "templates");
	rebuild(app, t);
	return t;
}

static void templates_leave(struct app *app, void *st)
{
	struct templates *t = st;

	table_free(t->table);
	free(t);
}

static void templates_event(struct app *app, void *st, struct pool *p, enum cache_op op, const char *cls,
			    const char *ref)
{
	struct templates *t = st;
	char key[QREF_MAX];

	if (!p || op == CACHE_LOADED) {
		rebuild(app, t);
		return;
	}
	if (!cls || !p->cache || strcmp(cls, "VM") != 0)
		return;
	if (op == CACHE_DEL)
		table_remove(t->table, pool_qref(p, ref, key, sizeof(key)));
	else
		put_template(t, p, ref, cache_get(p->cache, ref));
}

static void templates_draw(struct app *app, void *st, WINDOW *w, int h, int cols)
{
	struct templates *t = st;
	struct pool *p = app_pool(app);

	if (table_count(t->table) == 0 && (!p || !p->cache || !cache_loaded(p->cache))) {
		ui_put(w, 1, 2, cols - 4, theme_attr(ROLE_DIM),
		       p && p->cache ? cache_status(p->cache) : "No pool connected: :servers connects one.");
		return;
	}
	table_draw(t->table, w, 0, 0, h, cols, !app_has_dialog(app));
}

static struct table *templates_list(struct app *app, void *st)
{
	return ((struct templates *)st)->table;
}

static struct pool *templates_pool(struct app *app, void *st)
{
	const char *ref;
	const char *sel = table_selected(((struct templates *)st)->table);

	return sel ? pools_resolve(app_pools(app), sel, &ref) : NULL;
}

static void new_vm(struct app *app, void *st)
{
	const char *sel = table_selected(((struct templates *)st)->table);

	if (sel)
		vm_new_open(app, sel);
	else
		app_message(app, MSG_INFO, "No template selected");
}

static const struct screen_key keys[] = {
	{XK_ENTER, "New VM", "Make a new VM from the selected template (a form with its recommended values)", new_vm,
	 NULL, true},
	{'n', "New VM", "The same as Enter", new_vm, NULL, false},
	{0, NULL, NULL, NULL, NULL, false},
};

const struct screen screen_templates = {
	.name = "templates",
	.title = "Templates",
	.keys = keys,
	.enter = templates_enter,
	.leave = templates_leave,
	.draw = templates_draw,
	.on_cache_event = templates_event,
	.list = templates_list,
	.pool = templates_pool,
	.filter_help = "debian\twords match anywhere: name, pool, uuid\n"
		       "kind:custom\tthe templates users made (kind:built-in for XCP-ng's)\n",
};
