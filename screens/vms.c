/* VMs: every VM of every connected pool (not templates, snapshots or
 * dom0), live, with a POOL column when there is more than one; filtered by
 * text or by power state, host, tag and pool; the selection stays on its VM
 * whatever changes. Rows are keyed by qualified refs ("ID/REF"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "dialog.h"
#include "draw.h"
#include "form.h"
#include "hmap.h"
#include "keys.h"
#include "metrics_ui.h"
#include "model.h"
#include "screens.h"
#include "table.h"
#include "units.h"
#include "util.h"
#include "vm_actions.h"
#include "vm_file.h"

enum { COL_NAME, COL_POWER, COL_HOST, COL_POOL, COL_VCPUS, COL_RAM, COL_CPU, COL_MEM, COL_IP, COL_TOOLS, COL_TAGS, COL_NET, COL_DISK };

static const struct table_col columns[] = {
	[COL_NAME] = {"NAME", 12, 3, false, false, 0},
	[COL_POWER] = {"POWER", 9, 0, false, false, 0},
	[COL_HOST] = {"HOST", 9, 1, false, false, 0},
	[COL_POOL] = {"POOL", 8, 1, false, false, 0},
	[COL_VCPUS] = {"VCPUS", 5, 0, true, true, 2},
	[COL_RAM] = {"RAM", 8, 0, true, true, 3},
	[COL_IP] = {"IP", 15, 0, false, false, 1},
	[COL_TOOLS] = {"TOOLS", 8, 0, false, false, 4},
	[COL_TAGS] = {"TAGS", 10, 1, false, false, 5},
	[COL_CPU] = {"CPU", 13, 0, true, true, 2},      /* "12.3% " and a sparkline of the last 30 s */
	/* the first to go when narrow: the name keeps its room (RAM says the size) */
	[COL_MEM] = {"MEM USED", 19, 0, true, true, 6}, /* "1.2 GiB / 4.0 GiB", "1023 MiB / 1.0 GiB" */
	[COL_NET] = {"NET", 11, 0, true, true, 7},      /* xcp-rrdd's receive + send, "1.2 MiB/s" */
	[COL_DISK] = {"DISK", 11, 0, true, true, 7},    /* read + write */
};

#define WIDE_COLS 140 /* from this width on the TAGS column shows */
#define RATE_COLS 170 /* and from this one the network and disk rates */

struct vms {
	struct vm_target target; /* first: the VM action keys read it */
	struct table *table;
	struct hmap guest_owner; /* qualified VM_guest_metrics ref -> struct owner */
	struct hmap host_names;  /* qualified host ref -> struct host_name: its name when the rows were made */
};

struct owner {
	char *metrics, *vm; /* both qualified */
};

static const char *selected_vm(struct app *app, void *st)
{
	struct vms *v = st;

	return table_selected(v->table);
}

static void forget_owner(struct vms *v, const char *metrics)
{
	struct owner *o = hmap_del(&v->guest_owner, metrics);

	if (o) {
		free(o->metrics);
		free(o->vm);
		free(o);
	}
}

static void remember_owner(struct vms *v, const char *metrics, const char *vm)
{
	struct owner *o = hmap_get(&v->guest_owner, metrics);

	if (o && strcmp(o->vm, vm) == 0)
		return;
	forget_owner(v, metrics);
	o = xcalloc(1, sizeof(*o));
	o->metrics = xstrdup(metrics);
	o->vm = xstrdup(vm);
	hmap_put(&v->guest_owner, o->metrics, o);
}

static void put_vm(struct vms *v, struct pool *p, const char *ref, const struct xv *vm)
{
	const struct cache *c = p->cache;
	enum role power_role_;
	int tools_role;
	const char *power, *tools, *host = "";
	char key[QREF_MAX], vcpus[16], ram[24], tags[256];

	pool_qref(p, ref, key, sizeof(key));
	if (!vm_is_guest(vm)) {
		table_remove(v->table, key);
		return;
	}
	power = vm_power_text(vm, &power_role_);
	tools = vm_tools(c, vm, &tools_role);
	if (strcmp(rec_str(vm, "power_state"), "Halted") != 0)
		host = name_of(c, rec_str(vm, "resident_on"));
	snprintf(vcpus, sizeof(vcpus), "%lld", rec_int(vm, "VCPUs_at_startup"));
	size_format(ram, sizeof(ram), rec_int(vm, "memory_dynamic_max"));
	tags_text(vm, tags, sizeof(tags));
	{
		char cpu[64], mem[64], net[32], disk[32];
		double cpu_n = -1, mem_n = -1, net_n = -1, disk_n = -1;

		cpu[0] = mem[0] = net[0] = disk[0] = '\0';
		if (mui_vm_current(p->metrics, c, vm)) {
			mui_list_cells(p->metrics, rec_str(vm, "uuid"), false, cpu, sizeof(cpu), &cpu_n, mem, sizeof(mem),
				       &mem_n);
			mui_rate_cells(p->metrics, rec_str(vm, "uuid"), false, net, sizeof(net), &net_n, disk,
				       sizeof(disk), &disk_n);
		}
		struct table_cell cells[] = {
			[COL_NAME] = {rec_str(vm, "name_label"), 0, -1},
			[COL_POWER] = {power, 0, (int)power_role_},
			[COL_HOST] = {host, 0, -1},
			[COL_POOL] = {p->cfg.name, 0, -1},
			[COL_VCPUS] = {vcpus, (double)rec_int(vm, "VCPUs_at_startup"), -1},
			[COL_RAM] = {ram, (double)rec_int(vm, "memory_dynamic_max"), -1},
			[COL_IP] = {vm_ip(c, vm), 0, -1},
			[COL_TOOLS] = {tools, 0, tools_role},
			[COL_TAGS] = {tags, 0, -1},
			[COL_CPU] = {cpu, cpu_n, -1},
			[COL_MEM] = {mem, mem_n, -1},
			[COL_NET] = {net, net_n, -1},
			[COL_DISK] = {disk, disk_n, -1},
		};
		/* the filter also finds uuids, which have no column */
		table_put(v->table, key, cells,
			  strcmp(rec_str(vm, "power_state"), "Halted") == 0 ? ROLE_DIM : ROLE_NORMAL, rec_str(vm, "uuid"));
	}
	if (!is_null_ref(rec_str(vm, "guest_metrics"))) {
		char metrics[QREF_MAX];
		remember_owner(v, pool_qref(p, rec_str(vm, "guest_metrics"), metrics, sizeof(metrics)), key);
	}
}

struct put_ctx {
	struct vms *v;
	struct pool *p;
};

static bool put_cb(const char *ref, const struct xv *vm, void *ud)
{
	struct put_ctx *ctx = ud;

	put_vm(ctx->v, ctx->p, ref, vm);
	return true;
}

static bool free_owner_cb(const char *key, void *value, void *ud)
{
	struct owner *o = value;

	free(o->metrics);
	free(o->vm);
	free(o);
	return true;
}

struct host_name {
	char *ref, *name;
};

static bool free_name_cb(const char *key, void *value, void *ud)
{
	struct host_name *h = value;

	free(h->ref);
	free(h->name);
	free(h);
	return true;
}

static void note_host(struct vms *v, struct pool *p, const char *ref, const struct xv *host)
{
	char key[QREF_MAX];
	struct host_name *h = hmap_get(&v->host_names, pool_qref(p, ref, key, sizeof(key)));

	if (!h) {
		h = xcalloc(1, sizeof(*h));
		h->ref = xstrdup(key);
		hmap_put(&v->host_names, h->ref, h);
	}
	free(h->name);
	h->name = xstrdup(rec_str(host, "name_label"));
}

static bool note_host_cb(const char *ref, const struct xv *host, void *ud)
{
	struct put_ctx *ctx = ud;

	note_host(ctx->v, ctx->p, ref, host);
	return true;
}

static void rebuild(struct app *app, struct vms *v)
{
	struct pools *ps = app_pools(app);

	table_clear(v->table);
	hmap_each(&v->guest_owner, free_owner_cb, NULL);
	hmap_free(&v->guest_owner);
	hmap_init(&v->guest_owner);
	hmap_each(&v->host_names, free_name_cb, NULL);
	hmap_free(&v->host_names);
	hmap_init(&v->host_names);
	for (size_t i = 0; i < pools_count(ps); i++) {
		struct put_ctx ctx = {v, pools_at(ps, i)};
		if (!ctx.p->cache)
			continue;
		cache_each(ctx.p->cache, "VM", put_cb, &ctx);
		cache_each(ctx.p->cache, "host", note_host_cb, &ctx);
	}
	table_show_col(v->table, COL_POOL, app_many_pools(app));
}

static void *vms_enter(struct app *app, const void *arg)
{
	struct vms *v = xcalloc(1, sizeof(*v));

	v->target.ref = selected_vm;
	v->table = table_new(columns, (int)(ARRAY_LEN(columns)));
	table_set_noun(v->table, "VM", "VMs");
	hmap_init(&v->guest_owner);
	hmap_init(&v->host_names);
	rebuild(app, v);
	return v;
}

static void vms_leave(struct app *app, void *st)
{
	struct vms *v = st;

	table_free(v->table);
	hmap_each(&v->guest_owner, free_owner_cb, NULL);
	hmap_free(&v->guest_owner);
	hmap_each(&v->host_names, free_name_cb, NULL);
	hmap_free(&v->host_names);
	free(v);
}

/* Rows of VMs on a host change only if the host's name did. */
static void host_changed(struct app *app, struct vms *v, struct pool *p, const char *ref)
{
	char key[QREF_MAX];
	const struct host_name *before = hmap_get(&v->host_names, pool_qref(p, ref, key, sizeof(key)));
	const struct xv *host = cache_get(p->cache, ref);

	if (host && before && strcmp(before->name, rec_str(host, "name_label")) == 0)
		return;
	rebuild(app, v);
}

static void vms_event(struct app *app, void *st, struct pool *p, enum cache_op op, const char *cls, const char *ref)
{
	struct vms *v = st;
	char key[QREF_MAX];

	if (!p || op == CACHE_LOADED) {
		rebuild(app, v);
		return;
	}
	if (!cls || !p->cache)
		return;
	if (strcmp(cls, "VM") == 0) {
		if (op == CACHE_DEL)
			table_remove(v->table, pool_qref(p, ref, key, sizeof(key)));
		else
			put_vm(v, p, ref, cache_get(p->cache, ref));
	} else if (strcmp(cls, "VM_guest_metrics") == 0) {
		struct owner *o = hmap_get(&v->guest_owner, pool_qref(p, ref, key, sizeof(key)));
		const char *vm_ref;
		const struct xv *vm = o ? app_lookup(app, o->vm, NULL, &vm_ref) : NULL;
		if (vm)
			put_vm(v, p, vm_ref, vm);
	} else if (strcmp(cls, "host") == 0) {
		host_changed(app, v, p, ref);
	}
}

/* A row's figures again, from the metrics' latest points. */
static void remetric(struct app *app, const char *key, void *ud)
{
	struct pool *p;
	const char *ref;
	const struct xv *vm = app_lookup(app, key, &p, &ref);

	if (vm)
		put_vm(ud, p, ref, vm);
}

static void vms_draw(struct app *app, void *st, WINDOW *w, int h, int cols)
{
	struct vms *v = st;
	struct pool *p = app_pool(app);

	if (table_count(v->table) == 0 && (!p || !p->cache || !cache_loaded(p->cache))) {
		ui_put(w, 1, 2, cols - 4, theme_attr(ROLE_DIM),
		       p && p->cache ? cache_status(p->cache) : "No pool connected: :servers connects one.");
		return;
	}
	/* tags only where they leave the names room; tag:NAME filters either way */
	table_show_col(v->table, COL_TAGS, cols >= WIDE_COLS);
	table_show_col(v->table, COL_NET, cols >= RATE_COLS);
	table_show_col(v->table, COL_DISK, cols >= RATE_COLS);
	mui_table_draw_rates(app, v->table, COL_CPU, COL_MEM, COL_NET, COL_DISK, false, w, h, cols, remetric, v);
}

static struct table *vms_list(struct app *app, void *st)
{
	return ((struct vms *)st)->table;
}

static struct pool *vms_pool(struct app *app, void *st)
{
	const char *ref;

	return pools_resolve(app_pools(app), selected_vm(app, st), &ref);
}

static void open_vm(struct app *app, void *st)
{
	const char *ref = selected_vm(app, st);

	if (ref)
		app_push(app, &screen_vm, ref);
}

/* ---- HA restart priority ---------------------------------------------------------- */

static void on_ha_priority(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct pool *p;
	const char *ref;
	const struct xv *vm;
	struct xv *params;
	const char *value;
	char *label;

	if (!r->ok || !(vm = app_lookup(app, qref, &p, &ref)))
		return;
	/* xapi's values: "restart", "best-effort", "" (not restarted) */
	value = strcmp(r->choice_key, "none") == 0 ? "" : r->choice_key;
	params = xv_array();
	xv_array_push(params, xv_string(ref));
	xv_array_push(params, xv_string(value));
	label = xasprintf("HA restart priority of '%s': %s", rec_str(vm, "name_label"),
			  *value ? value : "do not restart");
	app_call(app, p, label, "VM.set_ha_restart_priority", params);
	free(label);
}

/* The VM's priority asked of xapi first (the list keeps no HA fields). */
struct ha_req {
	struct app *app;
	char *qref;
};

static void on_priority_now(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct ha_req *q = ud;
	struct app *app = q->app;
	struct pool *p;
	const char *ref, *now;
	const struct xv *vm = app_quitting(app) ? NULL : app_lookup(app, q->qref, &p, &ref);
	const struct xv *pool;
	struct dialog *d;
	char *text;

	if (!vm) {
		free(q->qref);
		free(q);
		return;
	}
	now = r->failure == XAPI_OK && xv_str(r->value) ? xv_str(r->value) : NULL;
	pool = pool_record(p->cache, NULL);
	text = xasprintf("When its host fails, HA restarts '%s' elsewhere how? Now: %s.%s", rec_str(vm, "name_label"),
			 !now ? "unknown" : strcmp(now, "restart") == 0 ? "restart"
			 : strcmp(now, "best-effort") == 0 ? "best effort" : "not restarted",
			 pool && rec_bool(pool, "ha_enabled") ? "" : " (HA is off in this pool: H on :pool turns it on.)");
	d = dialog_choose("HA restart priority", text);
	dialog_add_choice(d, "restart", "Restart", "always (protected)");
	dialog_add_choice(d, "best-effort", "Best effort", "if there is room");
	dialog_add_choice(d, "none", "Do not restart", "left down");
	dialog_on_done(d, on_ha_priority, q->qref, NULL);
	app_open_dialog(app, d);
	free(text);
	free(q->qref);
	free(q);
}

static void ha_priority(struct app *app, void *st)
{
	const char *qref = selected_vm(app, st);
	struct pool *p;
	const char *ref;
	struct ha_req *q;
	struct xv *params;

	if (!qref || !app_lookup(app, qref, &p, &ref) || !p->x) {
		app_message(app, MSG_INFO, "No VM selected");
		return;
	}
	q = xcalloc(1, sizeof(*q));
	q->app = app;
	q->qref = xstrdup(qref);
	params = xv_params_ref(ref);
	app_query(app, p, "VM.get_ha_restart_priority", params, on_priority_now, q);
}

/* ---- the filter form: power state, host, tag, pool -------------------------------- */

struct words {
	char **w;
	int n, cap;
};

static void add_word(struct words *ws, const char *w)
{
	for (int i = 0; i < ws->n; i++)
		if (strcmp(ws->w[i], w) == 0)
			return;
	if (ws->n == ws->cap) {
		ws->cap = ws->cap ? ws->cap * 2 : 16;
		ws->w = xrealloc(ws->w, (size_t)ws->cap * sizeof(char *));
	}
	ws->w[ws->n++] = xstrdup(w);
}

static void free_words(void *p)
{
	struct words *ws = p;

	for (int i = 0; i < ws->n; i++)
		free(ws->w[i]);
	free(ws->w);
	free(ws);
}

static int compare_words(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool collect_host_cb(const char *ref, const struct xv *host, void *ud)
{
	add_word(ud, rec_str(host, "name_label"));
	return true;
}

static bool collect_tags_cb(const char *ref, const struct xv *vm, void *ud)
{
	const struct xv *tags = rec_field(vm, "tags");

	for (size_t i = 0; vm_is_guest(vm) && i < xv_len(tags); i++)
		if (xv_str(xv_at(tags, i)) && *xv_str(xv_at(tags, i)))
			add_word(ud, xv_str(xv_at(tags, i)));
	return true;
}

/* The choices of one field: "any" first, then the sorted words. */
struct choices {
	struct words *words; /* what each choice filters on (index - 1) */
	int field;
};

static void add_choice_field(struct form *f, const char *label, struct words *ws, bool sort, struct choices *c)
{
	const char **labels = xcalloc((size_t)ws->n + 1, sizeof(char *));

	if (sort && ws->n > 1)
		qsort(ws->w, (size_t)ws->n, sizeof(char *), compare_words);
	labels[0] = "any";
	for (int i = 0; i < ws->n; i++)
		labels[i + 1] = ws->w[i];
	c->words = ws;
	c->field = form_choice(f, label, labels, ws->n + 1, 0);
	free(labels);
}

struct filter_form {
	struct table *t; /* the VM list: the dialog closes before it can go */
	struct choices power, host, tag, pool;
};

static void filter_form_free(void *p)
{
	struct filter_form *ff = p;

	free_words(ff->power.words);
	free_words(ff->host.words);
	free_words(ff->tag.words);
	free_words(ff->pool.words);
	free(ff);
}

static void add_term(struct buf *b, const char *name, const struct choices *c, const struct form *f)
{
	int i = form_get_choice(f, c->field);
	const char *value;

	if (i <= 0 || i > c->words->n)
		return;
	value = c->words->w[i - 1];
	buf_printf(b, "%s%s:%s%s%s", b->len ? " " : "", name, strchr(value, ' ') ? "\"" : "", value,
		   strchr(value, ' ') ? "\"" : "");
}

static bool is_term(const char *w)
{
	static const char *const names[] = {"power:", "host:", "tag:", "pool:"};

	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		if (strncasecmp(w, names[i], strlen(names[i])) == 0)
			return true;
	return false;
}

static void on_filter_form(struct app *app, const struct dialog_result *r, const char *ref, void *ud)
{
	struct filter_form *ff = ud;
	struct table *t = ff->t;
	struct buf b;
	const char *old;

	if (!r->ok || !t)
		return;
	buf_init(&b);
	buf_puts(&b, "");
	add_term(&b, "power", &ff->power, r->form);
	add_term(&b, "host", &ff->host, r->form);
	add_term(&b, "tag", &ff->tag, r->form);
	add_term(&b, "pool", &ff->pool, r->form);
	/* the words typed after / stay; the terms are the form's now */
	old = table_filter(t);
	while (*old) {
		size_t n;
		bool quoted = false;
		while (*old == ' ')
			old++;
		for (n = 0; old[n] && (quoted || old[n] != ' '); n++)
			if (old[n] == '"')
				quoted = !quoted;
		if (n) {
			char *w = xstrndup(old, n);
			if (!is_term(w))
				buf_printf(&b, "%s%s", b.len ? " " : "", w);
			free(w);
		}
		old += n;
	}
	table_set_filter(t, b.data);
	buf_free(&b);
}

static void filter_form(struct app *app, void *st)
{
	static const char *const powers[] = {"running", "halted", "suspended", "paused"};
	struct pools *ps = app_pools(app);
	struct filter_form *ff = xcalloc(1, sizeof(*ff));
	struct words *power = xcalloc(1, sizeof(*power)), *hosts = xcalloc(1, sizeof(*hosts));
	struct words *tags = xcalloc(1, sizeof(*tags)), *pools = xcalloc(1, sizeof(*pools));
	struct form *f = form_new();
	struct dialog *d;

	for (size_t i = 0; i < ARRAY_LEN(powers); i++)
		add_word(power, powers[i]);
	for (size_t i = 0; i < pools_count(ps); i++) {
		struct pool *p = pools_at(ps, i);
		if (!p->cache)
			continue;
		add_word(pools, p->cfg.name);
		cache_each(p->cache, "host", collect_host_cb, hosts);
		cache_each(p->cache, "VM", collect_tags_cb, tags);
	}
	ff->t = ((struct vms *)st)->table;
	add_choice_field(f, "Power state", power, false, &ff->power);
	add_choice_field(f, "Host", hosts, true, &ff->host);
	add_choice_field(f, "Tag", tags, true, &ff->tag);
	add_choice_field(f, "Pool", pools, true, &ff->pool);
	d = dialog_form("Filter VMs", "Left/Right choose; the same as typing / power:running host:NAME tag:NAME "
				      "pool:NAME.", f);
	dialog_on_done(d, on_filter_form, NULL, ff);
	dialog_own_ud(d, filter_form_free);
	app_open_dialog(app, d);
}

static void vms_describe(struct app *app, void *st, char *buf, size_t n)
{
	snprintf(buf, n, "VMs");
}

static void new_vm(struct app *app, void *st)
{
	app_push(app, &screen_templates, NULL); /* choose the template there; Enter opens the form */
}

static const struct screen_key keys[] = {
	{XK_ENTER, "Open", "Open the VM: details, disks, network, snapshots, console", open_vm, NULL, true},
	{'n', "New VM", "Make a new VM: choose its template (/ filters), then Enter opens the form", new_vm, NULL,
	 true},
	{'f', "Filter", "Filter by power state, host, tag or pool (a form that writes the / filter)", filter_form,
	 NULL, false},
	{'H', "HA priority", "The VM's HA restart priority: restart (protected), best effort, or not restarted",
	 ha_priority, NULL, false},
	{'w', "Export", "Export the selected VM to an .xva file on this computer (a running one through a snapshot)",
	 vm_file_export_key, NULL, false},
	{'U', "Import", "Import an .xva file from this computer as a new VM on an SR you choose", vm_file_import_key,
	 NULL, false},
	{0, NULL, NULL, NULL, NULL, false},
};

const struct screen screen_vms = {
	.name = "vms",
	.title = "VMs",
	.keys = keys,
	.shared_keys = vm_action_keys,
	.enter = vms_enter,
	.leave = vms_leave,
	.draw = vms_draw,
	.on_cache_event = vms_event,
	.list = vms_list,
	.describe = vms_describe,
	.pool = vms_pool,
	.filter_help = "power:running\tthe VM is running (also halted, suspended, paused)\n"
		       "host:xcp-ng-02\tit runs on that host\n"
		       "tag:prod\tit has that tag\n"
		       "pool:lab\tit is in that pool (with several pools)\n"
		       "power:!halted\ta ! excludes: every VM that is not halted\n"
		       "web \"my vm\"\tother words match anywhere: name, IP, tags, uuid; quotes keep spaces\n"
		       "power:running tag:prod\tterms combine: every one must match\n"
		       "f\tthe same from a form: power state, host, tag, pool\n",
};
