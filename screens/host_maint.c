/* The host screen's actions: maintenance mode in and out, reboot and
 * shutdown with evacuation (a typed name for the pool master, whose reboot
 * drops the pool's connection), and the ways to its settings and PCI
 * devices. The work itself is a job (host_jobs.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialog.h"
#include "host_jobs.h"
#include "keys.h"
#include "model.h"
#include "screens.h"
#include "util.h"

struct host_sel {
	struct pool *p;
	const char *ref;
	const char *qref;
	const struct xv *h;
};

static bool lookup(struct app *app, const char *qref, struct host_sel *s)
{
	memset(s, 0, sizeof(*s));
	s->qref = qref;
	s->h = qref ? app_lookup(app, qref, &s->p, &s->ref) : NULL;
	return s->h != NULL;
}

static bool this_host(struct app *app, void *st, struct host_sel *s)
{
	if (lookup(app, host_screen_qref(st), s))
		return true;
	app_message(app, MSG_INFO, "This host is not known now");
	return false;
}

static bool is_master(const struct host_sel *s)
{
	const struct xv *pool = pool_record(s->p->cache, NULL);

	return pool && strcmp(rec_str(pool, "master"), s->ref) == 0;
}

static bool in_maintenance(const struct xv *h)
{
	const char *m = rec_map(h, "other_config", MAINT_KEY);

	return m && strcmp(m, "true") == 0;
}

static int running_guests(const struct host_sel *s)
{
	const struct xv *vms = rec_field(s->h, "resident_VMs");
	int n = 0;

	for (size_t i = 0; i < xv_len(vms); i++) {
		const struct xv *vm = cache_get(s->p->cache, xv_str(xv_at(vms, i)));
		if (vm_is_guest(vm) && strcmp(rec_str(vm, "power_state"), "Running") == 0)
			n++;
	}
	return n;
}

/* The VMs remembered when it went in that really run elsewhere now (a
 * cancelled evacuation remembers them all but moves none). */
static int moved_off(const struct host_sel *s)
{
	const char *list = rec_map(s->h, "other_config", MAINT_VMS_KEY);
	char *copy = xstrdup(list ? list : ""), *save = NULL;
	int n = 0;

	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		const struct xv *vm = cache_by_uuid(s->p->cache, "VM", t, NULL);
		if (vm && strcmp(rec_str(vm, "power_state"), "Running") == 0
		    && strcmp(rec_str(vm, "resident_on"), s->ref) != 0)
			n++;
	}
	free(copy);
	return n;
}

static void run(struct app *app, const char *qref, enum host_job_kind kind)
{
	struct host_sel s;
	const char *hosts[1];

	if (!lookup(app, qref, &s))
		return;
	hosts[0] = s.ref;
	host_job_start(app, s.p, kind, hosts, 1);
}

static void on_enter_answer(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	if (r->ok)
		run(app, qref, JOB_MAINT_ENTER);
}

static void on_exit_answer(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	if (r->ok)
		run(app, qref, r->choice == 0 ? JOB_MAINT_EXIT : JOB_MAINT_LEAVE);
}

static void act_maintenance(struct app *app, void *st)
{
	struct host_sel s;
	struct dialog *d;
	char *text;

	if (!this_host(app, st, &s))
		return;
	if (in_maintenance(s.h) || !rec_bool(s.h, "enabled")) {
		int n = moved_off(&s);
		if (n)
			text = xasprintf("Take '%s' out of maintenance mode: enable it. %d VM%s moved off it when it went in "
					 "and run%s elsewhere now.",
					 rec_str(s.h, "name_label"), n, n == 1 ? "" : "s", n == 1 ? "s" : "");
		else
			text = xasprintf("Take '%s' out of maintenance mode: enable it. No VM moved off it%s.",
					 rec_str(s.h, "name_label"), running_guests(&s) ? "; its VMs still run on it" : "");
		d = dialog_choose("Leave maintenance mode", text);
		dialog_add_choice(d, "back", "Enable it and bring its VMs back", "live migration, one at a time");
		dialog_add_choice(d, "stay", "Enable it and leave the VMs where they are", "");
		dialog_on_done(d, on_exit_answer, s.qref, NULL);
	} else {
		int n = running_guests(&s);
		text = xasprintf("Put '%s' in maintenance mode? It is disabled (no new VMs start there) and its %d running "
				 "VM%s migrate live to other hosts. xentui remembers them to bring them back later.",
				 rec_str(s.h, "name_label"), n, n == 1 ? "" : "s");
		d = dialog_confirm("Maintenance mode", text, "Enter maintenance", "Cancel", false);
		dialog_on_done(d, on_enter_answer, s.qref, NULL);
	}
	app_open_dialog(app, d);
	free(text);
}

static void on_reboot_answer(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	if (r->ok)
		run(app, qref, ud ? JOB_SHUTDOWN : JOB_REBOOT);
}

static void ask_down(struct app *app, void *st, bool shutdown)
{
	struct host_sel s;
	struct dialog *d;
	char *text;
	const char *verb = shutdown ? "Shut down" : "Reboot";
	int n;

	if (!this_host(app, st, &s))
		return;
	n = running_guests(&s);
	if (is_master(&s)) {
		text = xasprintf("'%s' is the pool master. Its %d running VM%s migrate to other hosts first; then, %s, "
				 "the whole pool cannot be managed and xentui's connection drops%s. Type the host's name "
				 "to go on.",
				 rec_str(s.h, "name_label"), n, n == 1 ? "" : "s",
				 shutdown ? "until it is powered on again" : "while it restarts",
				 shutdown ? "" : " (it reconnects by itself)");
		d = dialog_type_name(shutdown ? "Shut down the pool master" : "Reboot the pool master", text,
				     rec_str(s.h, "name_label"));
	} else {
		text = xasprintf("%s '%s'? Its %d running VM%s migrate to other hosts first%s.", verb,
				 rec_str(s.h, "name_label"), n, n == 1 ? "" : "s",
				 shutdown ? "; it stays in maintenance mode"
					  : ", and come back once it is up again");
		d = dialog_confirm(shutdown ? "Shut down host" : "Reboot host", text, verb, "Cancel", true);
	}
	dialog_on_done(d, on_reboot_answer, s.qref, shutdown ? (void *)1 : NULL);
	app_open_dialog(app, d);
	free(text);
}

static void act_reboot(struct app *app, void *st)
{
	ask_down(app, st, false);
}

static void act_shutdown(struct app *app, void *st)
{
	ask_down(app, st, true);
}

static void act_settings(struct app *app, void *st)
{
	struct host_sel s;

	if (this_host(app, st, &s))
		app_push(app, &screen_host_settings, s.qref);
}

static void act_pci(struct app *app, void *st)
{
	struct host_sel s;

	if (this_host(app, st, &s))
		app_push(app, &screen_host_pci, s.qref);
}

static void act_jobs(struct app *app, void *st)
{
	app_push(app, &screen_host_jobs, NULL);
}

const struct screen_key host_action_keys[] = {
	{'m', "Maintenance", "Maintenance mode: disable and evacuate the host, or enable it and bring its VMs back",
	 act_maintenance, NULL, true},
	{'r', "Reboot", "Reboot the host after moving its VMs away; they come back when it is up", act_reboot, NULL, true},
	{'S', "Shut down", "Shut the host down after moving its VMs away", act_shutdown, NULL, false},
	{'e', "Settings", "Hostname, management interface, DNS, NTP, timezone, SSH, syslog, hardware", act_settings,
	 NULL, true},
	{'p', "PCI", "PCI devices: passthrough to VMs", act_pci, NULL, true},
	{'o', "Operations", "Host operations under way: maintenance, reboots, updates", act_jobs, NULL, false},
	{0, NULL, NULL, NULL, NULL, false},
};
