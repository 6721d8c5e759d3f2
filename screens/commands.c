/* The `:` commands: each names a screen, runs something, or (for screens
 * not built yet) says so. The app walks this table; it knows no command. */
#include <string.h>

#include "app.h"
#include "model.h"
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

const struct command screen_commands[] = {
	{"dashboard", "dash", "the pool at a glance", &screen_dashboard, NULL, NULL},
	{"hosts", "host", "the hosts", &screen_hosts, NULL, NULL},
	{"vms", "vm", "every VM", &screen_vms, NULL, NULL},
	{"storage", "sr", "storage repositories", NULL, NULL, NULL},
	{"networks", "net", "networks", NULL, NULL, NULL},
	{"pool", NULL, "the pool (its dashboard)", &screen_dashboard, NULL, NULL},
	{"backups", NULL, "backup jobs", NULL, NULL, NULL},
	{"tasks", "task", "running and recent tasks", &screen_tasks, NULL, NULL},
	{"console", NULL, "a VM's console", NULL, NULL, complete_vm_names},
	{"servers", "server", "the configured pools: add, edit, connect", &screen_servers, NULL, NULL},
	{"help", NULL, "the keys of this screen", NULL, help, NULL},
	{"quit", "q", "log out and leave", NULL, quit, NULL},
	{NULL, NULL, NULL, NULL, NULL, NULL},
};
