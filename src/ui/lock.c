/* The console lock: a gate on calls, a password dialog, a check by login. */
#include "lock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "dialog.h"
#include "form.h"
#include "known_hosts.h"
#include "loop.h"
#include "pools.h"
#include "util.h"
#include "xapi.h"

/* where xapi keeps the certificate it serves on dom0 */
#define LOCAL_PEM "/etc/xensource/xapi-ssl.pem"
#define LOCK_TAG "console-lock"

struct lock {
	struct app *app;
	struct net *net;
	struct loop *loop;
	bool locked;
	int idle_s;
	char *url;         /* NULL until this host's address is known */
	bool url_fixed;    /* from the options: lock_set_address leaves it */
	char *fingerprint;
	char *known_hosts;
	struct loop_timer *idle;
	struct xapi *check;         /* the login checking a password, or NULL */
	struct loop_timer *reaper;  /* frees a finished check outside its callback */
	struct xapi *dead;
	const struct screen *gated;
	char *pending_arg;     /* the gated screen waits to open with this */
	bool pending;
	bool closing;
};

bool lock_method_reads(const char *method)
{
	static const char *const reads[] = {
		"task.destroy", /* housekeeping of finished tasks, never a change */
		"session.login_with_password", "session.logout", "session.slave_local_login_with_password",
		"session.local_logout", /* but not session.change_password */
		"SR.probe", "SR.probe_ext", "pool.ha_compute_max_host_failures_to_tolerate",
		"pool.ha_compute_hypothetical_max_host_failures_to_tolerate", NULL,
	};
	static const char *const prefixes[] = {"get_", "assert_", "compute_", "retrieve_", "query_", NULL};
	const char *m = strncmp(method, "Async.", 6) == 0 ? method + 6 : method;
	const char *dot = strchr(m, '.');

	if (strncmp(m, "event.", 6) == 0)
		return true;
	for (const char *const *r = reads; *r; r++)
		if (strcmp(m, *r) == 0)
			return true;
	for (const char *const *p = prefixes; dot && *p; p++)
		if (strncmp(dot + 1, *p, strlen(*p)) == 0)
			return true;
	return false;
}

static void on_idle(struct loop *lp, void *ud)
{
	struct lock *l = ud;

	l->idle = NULL;
	if (l->locked)
		return;
	l->locked = true;
	app_message(l->app, MSG_INFO, "Locked again after %d s without a key: changes ask for root's password",
		    l->idle_s);
}

static void arm_idle(struct lock *l)
{
	if (l->idle)
		loop_timer_cancel(l->loop, l->idle);
	l->idle = NULL;
	if (!l->locked && l->idle_s > 0)
		l->idle = loop_timer(l->loop, (int64_t)l->idle_s * 1000, on_idle, l);
}

static void on_reap(struct loop *lp, void *ud)
{
	struct lock *l = ud;

	l->reaper = NULL;
	xapi_free(l->dead);
	l->dead = NULL;
}

/* The check's connection goes once its callback has returned. */
static void end_check(struct lock *l)
{
	if (!l->check)
		return;
	xapi_free(l->dead);
	l->dead = l->check;
	l->check = NULL;
	if (!l->reaper)
		l->reaper = loop_timer(l->loop, 0, on_reap, l);
}

static void drop_pending(struct lock *l)
{
	l->pending = false;
	free(l->pending_arg);
	l->pending_arg = NULL;
}

static void open_pending(struct lock *l)
{
	char *arg = l->pending_arg;

	if (!l->pending)
		return;
	l->pending = false;
	l->pending_arg = NULL;
	app_push(l->app, l->gated, arg);
	free(arg);
}

static void checked(struct lock *l, bool ok, const char *why)
{
	end_check(l);
	if (ok) {
		l->locked = false;
		arm_idle(l);
		if (l->idle_s > 0)
			app_message(l->app, MSG_INFO, "Unlocked: changes go ahead until %d s without a key, or Ctrl-L",
				    l->idle_s);
		else
			app_message(l->app, MSG_INFO, "Unlocked: changes go ahead until Ctrl-L");
		pools_gate_open(app_pools(l->app), true, NULL);
		open_pending(l);
		return;
	}
	drop_pending(l);
	{
		char *msg = xasprintf("%s: nothing was done", why);
		app_message(l->app, MSG_ERROR, "%s", msg);
		pools_gate_open(app_pools(l->app), false, msg);
		free(msg);
	}
}

static void on_local_logout(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct lock *l = ud;

	/* the check's connection goes once its session has */
	if (!l->closing && !l->reaper)
		l->reaper = loop_timer(l->loop, 0, on_reap, l);
}

/* The host's answer to session.slave_local_login_with_password: xapi checks
 * the local root account there (PAM), on a pool member as on the master. */
static void on_checked(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct lock *l = ud;
	const char *code = r->failure == XAPI_API ? xv_str(xv_at(r->error, 0)) : NULL;
	char *why;

	if (l->closing)
		return;
	if (r->failure == XAPI_OK) {
		struct xv *p = xv_array();
		xv_array_push(p, xv_string(xv_str(r->value) ? xv_str(r->value) : ""));
		xapi_free(l->dead);
		l->dead = l->check;
		l->check = NULL;
		xapi_call_anon(x, "session.local_logout", p, -1, on_local_logout, l);
		checked(l, true, NULL);
		return;
	}
	if (code && strcmp(code, "SESSION_AUTHENTICATION_FAILED") == 0)
		why = xstrdup("Wrong root password");
	else
		why = xasprintf("Cannot check the root password with %s (%s)", l->url,
				r->message ? r->message : "no answer");
	checked(l, false, why);
	free(why);
}

/* The hex SHA-256 of the certificate in a PEM file into fp; false if none. */
static bool pem_file_sha256(const char *path, char fp[65])
{
	FILE *f = fopen(path, "re");
	struct buf b;
	char chunk[4096];
	size_t n;
	bool ok;

	if (!f)
		return false;
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len < (1u << 20))
		buf_append(&b, chunk, n);
	fclose(f);
	/* the file holds the private key too: only the certificate is read */
	ok = b.data && cert_pem_sha256(b.data, fp);
	if (b.data)
		explicit_bzero(b.data, b.len);
	buf_free(&b);
	return ok;
}

static void start_check(struct lock *l, const char *password)
{
	struct xapi_opts o;
	struct xv *p;
	char fp[65];

	memset(&o, 0, sizeof(o));
	o.url = l->url;
	o.user = "root";
	o.password = password;
	o.known_hosts = l->known_hosts;
	o.fingerprint = l->fingerprint;
	/* dom0's own certificate: the host checking is this one */
	if (!o.fingerprint && pem_file_sha256(LOCAL_PEM, fp))
		o.fingerprint = fp;
	l->check = xapi_new(l->net, l->loop, &o);
	app_message(l->app, MSG_INFO, "Checking root's password with %s...", l->url);
	p = xv_array();
	xv_array_push(p, xv_string("root"));
	xv_array_push(p, xv_string(password));
	xapi_call_anon(l->check, "session.slave_local_login_with_password", p, 1, on_checked, l);
}

static void on_password(struct app *app, const struct dialog_result *r, const char *ref, void *ud)
{
	struct lock *l = ud;

	if (!r->ok) {
		drop_pending(l);
		app_message(app, MSG_INFO, "Still locked: nothing was done");
		pools_gate_open(app_pools(app), false, "still locked: nothing was done");
		return;
	}
	if (!l->locked) {
		pools_gate_open(app_pools(app), true, NULL);
		open_pending(l);
		return;
	}
	if (!l->url) {
		checked(l, false, "Cannot check the root password yet: this host's address is not known");
		return;
	}
	if (l->check)
		return; /* a check is under way: its answer decides */
	start_check(l, form_get_text(r->form, 0));
}

static void ask(struct lock *l)
{
	struct form *f;
	struct dialog *d;

	if (l->check || app_find_dialog(l->app, LOCK_TAG))
		return;
	f = form_new();
	form_password(f, "Root password", true);
	d = dialog_form("Changes are locked",
			"This console logged in as root without a password, as xsconsole does: "
			"type root's password to make changes (this host checks it). Looking needs none.",
			f);
	dialog_set_tag(d, LOCK_TAG);
	dialog_on_done(d, on_password, NULL, l);
	app_open_dialog(l->app, d);
}

static bool gate(struct xapi *x, const char *method, void *ud)
{
	struct lock *l = ud;

	if (!l->locked || lock_method_reads(method))
		return false;
	ask(l);
	return true;
}

struct lock *lock_new(struct app *app, struct net *net, const struct lock_opts *o)
{
	struct lock *l = xcalloc(1, sizeof(*l));

	l->app = app;
	l->net = net;
	l->loop = app_loop(app);
	l->locked = true;
	l->idle_s = o->idle_s;
	l->url = o->url && *o->url ? xstrdup(o->url) : NULL;
	l->url_fixed = l->url != NULL;
	l->fingerprint = o->fingerprint && *o->fingerprint ? xstrdup(o->fingerprint) : NULL;
	l->known_hosts = o->known_hosts ? xstrdup(o->known_hosts) : NULL;
	l->gated = o->gated;
	pools_set_gate(app_pools(app), gate, l);
	return l;
}

void lock_free(struct lock *l)
{
	if (!l)
		return;
	pools_set_gate(app_pools(l->app), NULL, NULL);
	pools_gate_open(app_pools(l->app), false, "xentui is closing: nothing was done");
	l->closing = true; /* answers to calls still out reach nobody */
	{
		struct xapi *x = l->check;
		l->check = NULL;
		xapi_free(x);
	}
	xapi_free(l->dead);
	if (l->reaper)
		loop_timer_cancel(l->loop, l->reaper);
	if (l->idle)
		loop_timer_cancel(l->loop, l->idle);
	free(l->pending_arg);
	free(l->url);
	free(l->fingerprint);
	free(l->known_hosts);
	free(l);
}

void lock_set_address(struct lock *l, const char *address)
{
	if (l->url_fixed || !address || !*address)
		return;
	free(l->url);
	l->url = strchr(address, ':') ? xasprintf("https://[%s]", address) : xasprintf("https://%s", address);
}

bool lock_locked(const struct lock *l)
{
	return l->locked;
}

void lock_engage(struct lock *l)
{
	bool was = l->locked;

	l->locked = true;
	arm_idle(l);
	app_message(l->app, MSG_INFO, "%s: changes ask for root's password (viewing needs none)",
		    was ? "Locked" : "Locked now");
}

bool lock_push(struct lock *l, const struct screen *s, const void *arg)
{
	if (!l->locked || !l->gated || s != l->gated)
		return false;
	drop_pending(l);
	l->pending = true;
	l->pending_arg = arg ? xstrdup(arg) : NULL;
	ask(l);
	return true;
}

void lock_ask(struct lock *l)
{
	ask(l);
}

void lock_activity(struct lock *l)
{
	if (!l->locked)
		arm_idle(l);
}
