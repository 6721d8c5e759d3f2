/* The `:` commands: each names a screen, runs something, or (for screens
 * not built yet) says so. The app walks this table; it knows no command. */
#include <string.h>

#include "app.h"
#include "model.h"
#include "backups.h"
#include "screens.h"

static void quit(struct app *app, const char *arg)
{
	app_quit(app, false);
}

static void help(struct app *app, const char *arg)
{
	app_push(app, &screen_help, NULL);
}

struct names {
	void (*add)(void *ctx, const char *word);
	void *ctx;
};

static bool add_vm_name(const char *ref, const struct xv *vm, void *ud)
{
	struct names *n = ud;

	if (vm_is_guest(vm) && *rec_str(vm, "name_label"))
		n->add(n->ctx, rec_str(vm, "name_label"));
	return true;
}

static void complete_vm_names(struct app *app, void (*add)(void *ctx, const char *word), void *ctx)
{
	struct names n = {add, ctx};
	struct pools *ps = app_pools(app);

	for (size_t i = 0; i < pools_count(ps); i++)
		if (pools_at(ps, i)->cache)
			cache_each(pools_at(ps, i)->cache, "VM", add_vm_name, &n);
}

struct find_vm {
	const char *name;
	struct pool *p;
	const char *ref;
	int n;
};

static bool match_vm_name(const char *ref, const struct xv *vm, void *ud)
{
	struct find_vm *f = ud;

	if (vm_is_guest(vm) && strcmp(rec_str(vm, "name_label"), f->name) == 0) {
		if (!f->n++)
			f->ref = ref;
	}
	return true;
}

/* :console HOST: a host (by name or hostname) stands for its control
 * domain, whose console is the host's text console. */
struct find_host {
	const char *name;
	struct pool *p;
	const char *host, *dom0;
};

static bool match_host_name(const char *ref, const struct xv *h, void *ud)
{
	struct find_host *f = ud;

	if (strcmp(rec_str(h, "name_label"), f->name) == 0 || strcmp(rec_str(h, "hostname"), f->name) == 0) {
		f->host = ref;
		return false;
	}
	return true;
}

static bool match_dom0(const char *ref, const struct xv *vm, void *ud)
{
	struct find_host *f = ud;

	if (rec_bool(vm, "is_control_domain") && strcmp(rec_str(vm, "resident_on"), f->host) == 0) {
		f->dom0 = ref;
		return false;
	}
	return true;
}

/* True if NAME is a host (then its console is opened or why not said). */
static bool console_host(struct app *app, const char *name)
{
	struct pools *ps = app_pools(app);
	struct find_host f = {name, NULL, NULL, NULL};
	char qref[512];

	for (size_t i = 0; i < pools_count(ps) && !f.host; i++)
		if (pools_at(ps, i)->cache) {
			f.p = pools_at(ps, i);
			cache_each(f.p->cache, "host", match_host_name, &f);
		}
	if (!f.host)
		return false;
	cache_each(f.p->cache, "VM", match_dom0, &f);
	if (!f.dom0)
		app_message(app, MSG_ERROR, "console: the control domain of host %s is not known", name);
	else
		app_push(app, &screen_console, pool_qref(f.p, f.dom0, qref, sizeof(qref)));
	return true;
}

static bool add_host_name(const char *ref, const struct xv *h, void *ud)
{
	struct names *n = ud;

	if (*rec_str(h, "name_label"))
		n->add(n->ctx, rec_str(h, "name_label"));
	return true;
}

/* VMs' names, then hosts' */
static void complete_console_names(struct app *app, void (*add)(void *ctx, const char *word), void *ctx)
{
	struct names n = {add, ctx};
	struct pools *ps = app_pools(app);

	complete_vm_names(app, add, ctx);
	for (size_t i = 0; i < pools_count(ps); i++)
		if (pools_at(ps, i)->cache)
			cache_each(pools_at(ps, i)->cache, "host", add_host_name, &n);
}

/* :console NAME: the console of the VM called NAME (the first if several),
 * or of the host called NAME. */
static void console_cmd(struct app *app, const char *arg)
{
	struct pools *ps = app_pools(app);
	struct find_vm f = {arg, NULL, NULL, 0};
	char qref[512];

	if (!arg || !*arg) {
		app_message(app, MSG_ERROR, "console: which VM or host? (:console NAME)");
		return;
	}
	for (size_t i = 0; i < pools_count(ps) && !f.n; i++)
		if (pools_at(ps, i)->cache) {
			f.p = pools_at(ps, i);
			cache_each(f.p->cache, "VM", match_vm_name, &f);
		}
	if (!f.n && console_host(app, arg))
		return;
	if (!f.n) {
		app_message(app, MSG_ERROR, "console: no VM or host is called %s", arg);
		return;
	}
	app_push(app, &screen_console, pool_qref(f.p, f.ref, qref, sizeof(qref)));
}

const struct command screen_commands[] = {
	{"dashboard", "dash", "the pool at a glance", &screen_dashboard, NULL, NULL},
	{"hosts", "host", "the hosts", &screen_hosts, NULL, NULL},
	{"vms", "vm", "every VM", &screen_vms, NULL, NULL},
	{"top", NULL, "running VMs by CPU, memory, network or disk use, every 5 s", &screen_top, NULL, NULL},
	{"templates", "tmpl", "VM templates: Enter makes a new VM", &screen_templates, NULL, NULL},
	{"storage", "sr", "storage repositories", &screen_storage, NULL, NULL},
	{"networks", "net", "networks and the hosts' NICs", &screen_networks, NULL, NULL},
	{"pool", NULL, "the pool: master, hosts, default SR, HA; add or eject hosts", &screen_pool, NULL, NULL},
	{"backups", "backup", "backup jobs, runs, repositories and the timer of `xentui backup due`", &screen_backups, NULL, NULL},
	{"tasks", "task", "running and recent tasks", &screen_tasks, NULL, NULL},
	{"messages", "msg", "every message of this session, whole (L)", &screen_messages, NULL, NULL},
	{"updates", NULL, "updates of every host; rolling pool update", &screen_updates, NULL, NULL},
	{"jobs", NULL, "host operations: maintenance, reboots, updates", &screen_host_jobs, NULL, NULL},
	{"console", NULL, "a VM's or a host's console", NULL, console_cmd, complete_console_names},
	{"servers", "server", "the configured pools: add, edit, connect", &screen_servers, NULL, NULL},
	{"help", NULL, "the keys of this screen", NULL, help, NULL},
	{"quit", "q", "log out and leave", NULL, quit, NULL},
	{NULL, NULL, NULL, NULL, NULL, NULL},
};
