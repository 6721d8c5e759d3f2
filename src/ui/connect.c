/* Connecting a pool from the interface: the password it asks for when the
 * server names no source (kept in memory for this run only), the
 * certificate it shows on a first connection, and what it says when a
 * connection needs the user. */
#include "app_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certdialog.h"
#include "dialog.h"
#include "form.h"
#include "util.h"

/* Dialogs name their pool by id: it may be gone when they close. */
static struct pool *pool_of(struct app *app, const char *id)
{
	return id ? pools_by_id(app->env.pools, atoi(id)) : NULL;
}

static void start(struct app *app, struct pool *p, const char *password, bool announce);

static void on_password(struct app *app, const struct dialog_result *r, const char *id, void *ud)
{
	struct pool *p = pool_of(app, id);

	if (!p)
		return;
	if (!r->ok) {
		app_message(app, MSG_INFO, "%s: not connected (no password)", p->cfg.name);
		return;
	}
	start(app, p, form_get_text(r->form, 0), true);
}

static void ask_password(struct app *app, struct pool *p)
{
	struct form *f = form_new();
	char *text = xasprintf("Password for %s at %s (kept in memory until xentui exits, never written down).",
			       p->cfg.user, p->cfg.url);
	char *title = xasprintf("Connect to %s", p->cfg.name);
	struct dialog *d;
	char id[16];

	form_password(f, "Password", true);
	d = dialog_form(title, text, f);
	snprintf(id, sizeof(id), "%d", p->id);
	dialog_on_done(d, on_password, id, NULL);
	app_open_dialog(app, d);
	free(text);
	free(title);
}

static void start(struct app *app, struct pool *p, const char *password, bool announce)
{
	char *err = NULL;

	switch (pool_connect(app->env.pools, p, password, &err)) {
	case CONNECT_STARTED:
		if (!announce)
			break; /* the status line says "connecting" */
		if (strcmp(p->cfg.name, p->cfg.url) == 0)
			app_message(app, MSG_INFO, "Connecting to %s", p->cfg.url);
		else
			app_message(app, MSG_INFO, "Connecting to %s (%s)", p->cfg.name, p->cfg.url);
		break;
	case CONNECT_NEED_PASSWORD:
		ask_password(app, p);
		break;
	case CONNECT_FAILED:
		app_message(app, MSG_ERROR, "%s: %s", p->cfg.name, err ? err : "cannot connect");
		free(err);
		break;
	}
}

void app_connect(struct app *app, struct pool *p, bool announce)
{
	if (p->x && !p->closing && xapi_state(p->x) == XAPI_READY) {
		app_message(app, MSG_INFO, "%s is connected already", p->cfg.name);
		return;
	}
	start(app, p, NULL, announce);
}

/* ---- certificates ------------------------------------------------------------------- */

static void on_cert_answer(struct app *app, const struct dialog_result *r, const char *id, void *ud)
{
	struct pool *p = pool_of(app, id);

	if (!p)
		return;
	p->cert_asked = false;
	if (!p->x || xapi_state(p->x) != XAPI_FAILED)
		return; /* disconnected meanwhile */
	if (r->ok) {
		if (xapi_accept_fingerprint(p->x))
			app_message(app, MSG_INFO, "%s: certificate accepted and remembered; connecting", p->cfg.name);
		else
			app_message(app, MSG_ERROR, "%s: %s; not connected", p->cfg.name, xapi_last_error(p->x, NULL));
	} else {
		app_message(app, MSG_ERROR, "%s: certificate refused: not connected", p->cfg.name);
	}
}

static void ask_about_certificate(struct app *app, struct pool *p)
{
	struct dialog *d = dialog_unknown_certificate(xapi_url(p->x), xapi_seen_fingerprint(p->x), "the pool master's");
	char id[16];

	snprintf(id, sizeof(id), "%d", p->id);
	dialog_on_done(d, on_cert_answer, id, NULL);
	app_open_dialog(app, d);
	p->cert_asked = true;
}

/* One dialog per host however often the refusal comes back (every call
 * in flight and every retry meets the same certificate): the open one is
 * updated, never stacked. */
static void cert_changed(struct app *app, struct pool *p, const char *why)
{
	char tag[320], stamp[16];
	struct dialog *d;
	time_t now = time(NULL);
	struct tm tm;
	char *text;

	snprintf(tag, sizeof(tag), "cert-changed:%d:%s", p->id, xapi_host(p->x));
	d = app_find_dialog(app, tag);
	if (!d) {
		d = dialog_message("Certificate changed", why);
		dialog_set_tag(d, tag);
		app_open_dialog(app, d);
		/* the history keeps it once the dialog is closed */
		app_message(app, MSG_ERROR, "%s: %s", p->cfg.name, why);
		return;
	}
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	text = xasprintf("%s\n\n(refused again at %s)", why, stamp);
	dialog_set_text(d, text);
	free(text);
	app_dirty(app);
}

/* Once live again elsewhere: the master moved (designated, or found on
 * another host of the pool after the old one went away) and the
 * connection followed it by itself; say where. Nothing is written to the
 * configuration: the next start begins at the configured address again
 * and is redirected from there. */
static void say_if_master_moved(struct app *app, struct pool *p)
{
	const char *why;

	if (pool_state(p, &why) != POOL_CONNECTED)
		return;
	if (p->live_url && strcmp(p->live_url, xapi_url(p->x)) != 0)
		app_message(app, MSG_INFO, "%s: the pool master is now %s; reconnected to it", p->cfg.name,
			    xapi_host(p->x));
	free(p->live_url);
	p->live_url = xstrdup(xapi_url(p->x));
}

void connect_pool_event(struct app *app, struct pool *p)
{
	enum xapi_failure kind;
	const char *why;

	if (!p->x && (why = pool_take_failure(p))) {
		/* before any connection: its password_command failed or took too long */
		app_message(app, MSG_ERROR, "%s: %s", p->cfg.name, why);
		return;
	}
	if (p->x && !p->closing)
		say_if_master_moved(app, p);
	if (!p->x || p->closing || xapi_state(p->x) != XAPI_FAILED)
		return;
	why = xapi_last_error(p->x, &kind);
	switch (kind) {
	case XAPI_CERT_UNKNOWN:
		if (!p->cert_asked)
			ask_about_certificate(app, p);
		return;
	case XAPI_CERT_CHANGED:
		cert_changed(app, p, why);
		return;
	case XAPI_AUTH:
		/* a typed password that failed is asked again at the next connection */
		if (!p->cfg.password_file && !p->cfg.password_env && !p->cfg.password_command && !p->demo)
			pool_set_password(p, NULL);
		break;
	default:
		break;
	}
	if (app_many_pools(app) || pools_count(app->env.pools) > 1)
		app_message(app, MSG_ERROR, "%s: %s", p->cfg.name, why);
	else
		app_message(app, MSG_ERROR, "%s", why);
}
