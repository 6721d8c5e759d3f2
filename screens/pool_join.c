/* Joining a host to a pool (WIRE.md 10). pool.join runs on the joining host
 * with a session there and names the master: from a host's screen that is
 * the host's own connection; from the pool's screen ("add a host") it is a
 * connection of our own to the new host, made for this and dropped after. */
#include "pool_join.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certdialog.h"
#include "dialog.h"
#include "errors.h"
#include "form.h"
#include "model.h"
#include "secret.h"
#include "util.h"

enum { F_ADDRESS, F_USER, F_PASSWORD, F_FORCE };

static const char force_text[] =
	"A forced join skips xapi's homogeneity checks: the same CPU vendor and features, and the same "
	"software build, on every host. VMs may then fail to migrate between the hosts, or crash when "
	"they do. The other checks (running VMs, shared storage, versions) still apply.";

/* The joining host's answer as a sentence: a refused login at this stage is
 * the master's, which the user may not guess from "wrong password". */
static char *join_error(const struct xapi_result *r, const struct cache *c, const char *master_user)
{
	const char *code = r->failure == XAPI_API ? xv_str(xv_at(r->error, 0)) : NULL;

	if (code && strcmp(code, "SESSION_AUTHENTICATION_FAILED") == 0)
		return xasprintf("the master refused the user name or password for '%s'", master_user);
	if (r->failure == XAPI_API)
		return error_sentence(r->error, c);
	return xstrdup(r->message);
}

static bool count_host(const char *ref, const struct xv *h, void *ud)
{
	(*(int *)ud)++;
	return true;
}

static int hosts_in(const struct cache *c)
{
	int n = 0;

	cache_each(c, "host", count_host, &n);
	return n;
}

/* ---- from the host: its own connection ------------------------------------------ */

struct host_join {
	int pool_id;
	char *host_name;
	char *master;
	char *user;
	char *password;
	bool force;
};

static void host_join_free(void *ud)
{
	struct host_join *j = ud;

	free(j->host_name);
	free(j->master);
	free(j->user);
	secret_free(j->password);
	free(j);
}

struct find_addr {
	const char *address;
	bool found;
};

static bool has_address(const char *ref, const struct xv *h, void *ud)
{
	struct find_addr *f = ud;

	if (strcmp(rec_str(h, "address"), f->address) == 0)
		f->found = true;
	return !f->found;
}

/* Another connected pool that has the master among its hosts: the pool the
 * host joined, shown already. */
static struct pool *pool_showing(struct app *app, const struct pool *except, const char *address)
{
	struct pools *ps = app_pools(app);

	for (size_t i = 0; i < pools_count(ps); i++) {
		struct pool *p = pools_at(ps, i);
		struct find_addr f = {address, false};
		if (p == except || !p->cache)
			continue;
		cache_each(p->cache, "host", has_address, &f);
		if (f.found)
			return p;
	}
	return NULL;
}

static void on_host_joined(struct app *app, struct pool *p, bool ok, void *ud)
{
	struct host_join *j = ud;
	struct pool *other;

	if (!ok) {
		host_join_free(j);
		return;
	}
	/* Its connection now gets HOST_IS_SLAVE and follows the master by
	 * itself. If that pool is on screen already, a second copy of it would
	 * show every object twice: drop this one instead. */
	other = pool_showing(app, p, j->master);
	if (other) {
		app_message(app, MSG_INFO, "'%s' is now a member of pool %s (%s); its own connection is closed",
			    j->host_name, other->cfg.name, j->master);
		pool_disconnect(app_pools(app), p, NULL, NULL);
	} else {
		app_message(app, MSG_INFO, "'%s' is now a member of the pool of %s; %s follows its master there",
			    j->host_name, j->master, p->cfg.name);
	}
	host_join_free(j);
}

static void run_host_join(struct app *app, struct host_join *j)
{
	struct pool *p = pools_by_id(app_pools(app), j->pool_id);
	struct xv *params;
	char *label;

	if (!p || !p->cache) {
		app_message(app, MSG_ERROR, "The host's pool is not connected any more");
		host_join_free(j);
		return;
	}
	params = xv_array();
	xv_array_push(params, xv_string(j->master));
	xv_array_push(params, xv_string(j->user));
	xv_array_push(params, xv_string(j->password));
	label = xasprintf("%s '%s' to the pool of %s", j->force ? "Force-join" : "Join", j->host_name, j->master);
	app_message(app, MSG_INFO, "%s%s", label, " (this takes a while)...");
	/* a plain call, not a task: the task would live on the host, whose
	 * database is left behind once it is a member */
	app_call_then(app, p, label, j->force ? "pool.join_force" : "pool.join", params, on_host_joined, j);
	free(label);
}

static void on_host_force_answer(struct app *app, const struct dialog_result *r, const char *ref, void *ud)
{
	struct host_join **jp = ud;

	if (!r->ok) {
		app_message(app, MSG_INFO, "Not joined");
		return;
	}
	run_host_join(app, *jp);
	*jp = NULL; /* run_host_join owns it now */
}

static void host_join_ptr_free(void *ud)
{
	struct host_join **jp = ud;

	if (*jp)
		host_join_free(*jp);
	free(jp);
}

static void on_host_join_form(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct pool *p;
	const char *ref;
	const struct xv *h;
	struct host_join *j;

	if (!r->ok)
		return;
	h = app_lookup(app, qref, &p, &ref);
	if (!h) {
		app_message(app, MSG_ERROR, "The host is gone, or its pool is not connected");
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->pool_id = p->id;
	j->host_name = xstrdup(rec_str(h, "name_label"));
	j->master = xstrdup(form_get_text(r->form, F_ADDRESS));
	j->user = xstrdup(form_get_text(r->form, F_USER));
	j->password = xstrdup(form_get_text(r->form, F_PASSWORD));
	j->force = form_get_toggle(r->form, F_FORCE);
	if (j->force) {
		struct host_join **jp = xcalloc(1, sizeof(*jp));
		struct dialog *d = dialog_confirm("Forced join", force_text, "Join anyway", "Cancel", true);
		*jp = j;
		dialog_on_done(d, on_host_force_answer, NULL, jp);
		dialog_own_ud(d, host_join_ptr_free);
		app_open_dialog(app, d);
		return;
	}
	run_host_join(app, j);
}

static const char *check_address(const struct form *f, int field, const char *text, void *ud)
{
	for (const char *c = text; *c; c++)
		if (*c == ' ' || *c == '/' || (unsigned char)*c < 0x21)
			return "a host name or IP address";
	return NULL;
}

static struct form *credentials_form(const char *address_label, const char *address_hint)
{
	struct form *f = form_new();

	form_text(f, address_label, "", true);
	form_set_check(f, F_ADDRESS, check_address, NULL);
	form_set_hint(f, F_ADDRESS, address_hint);
	form_text(f, "User", "root", true);
	form_password(f, "Password", true);
	form_toggle(f, "Force (skip CPU checks)", false);
	return f;
}

bool pool_join_possible(struct app *app, const char *host_qref)
{
	struct pool *p;
	const char *ref;

	return app_lookup(app, host_qref, &p, &ref) && hosts_in(p->cache) == 1;
}

void pool_join_from_host(struct app *app, const char *host_qref)
{
	struct pool *p;
	const char *ref;
	const struct xv *h = app_lookup(app, host_qref, &p, &ref);
	struct dialog *d;
	char *text;

	if (!h) {
		app_message(app, MSG_ERROR, "The host is not known (is its pool connected?)");
		return;
	}
	if (hosts_in(p->cache) > 1) {
		app_message(app, MSG_ERROR, "'%s' is in a pool of %d hosts already; only a standalone host can join a pool",
			    rec_str(h, "name_label"), hosts_in(p->cache));
		return;
	}
	text = xasprintf("'%s' joins the pool of the master below and becomes one of its members. It must have no "
			 "running VMs and no shared storage. Its own VMs and local storage are kept.",
			 rec_str(h, "name_label"));
	d = dialog_form("Join a resource pool", text, credentials_form("Master address", "the pool master's"));
	dialog_on_done(d, on_host_join_form, host_qref, NULL);
	app_open_dialog(app, d);
	free(text);
}

/* ---- from the pool: a connection of our own to the new host ------------------------------- */

struct add_host {
	struct app *app;
	int pool_id;
	char *pool_name;
	char *address;    /* the joining host */
	char *master;     /* the pool master's address, as the host will reach it */
	char *master_user;
	bool force;
	struct xapi *x;   /* to the joining host */
	struct loop_timer *timer;
	bool logout;      /* log out before dropping the connection */
	bool ending;      /* being freed: its last answers are ignored */
};

static void add_host_free(void *ud)
{
	struct add_host *a = ud;

	a->ending = true;
	if (a->timer)
		loop_timer_cancel(app_loop(a->app), a->timer);
	xapi_free(a->x);
	free(a->pool_name);
	free(a->address);
	free(a->master);
	free(a->master_user);
	free(a);
}

static void on_end_timer(struct loop *l, void *ud);

static void on_logged_out(struct xapi *x, void *ud)
{
	struct add_host *a = ud;

	if (a->ending)
		return;
	a->logout = false;
	a->timer = loop_timer(app_loop(a->app), 0, on_end_timer, a);
}

/* Not from inside the connection's own callback: on the next turn. */
static void on_end_timer(struct loop *l, void *ud)
{
	struct add_host *a = ud;

	a->timer = NULL;
	if (a->logout && *xapi_session(a->x)) {
		xapi_logout(a->x, on_logged_out, a);
		return;
	}
	app_release(a->app, a);
}

static void add_host_end(struct add_host *a, bool logout)
{
	a->logout = logout;
	if (!a->timer)
		a->timer = loop_timer(app_loop(a->app), 0, on_end_timer, a);
}

static void send_join(struct add_host *a);

static void on_cert_answer(struct app *app, const struct dialog_result *r, const char *ref, void *ud)
{
	struct add_host *a = ud;

	if (!r->ok) {
		app_message(app, MSG_ERROR, "Certificate of %s refused: not added", a->address);
		add_host_end(a, false);
		return;
	}
	/* remembered in known_hosts like a server's; the join waits for the login */
	xapi_accept_fingerprint(a->x);
	send_join(a);
}

static void ask_certificate(struct add_host *a)
{
	struct dialog *d = dialog_unknown_certificate(a->address, xapi_seen_fingerprint(a->x), "this host's");

	dialog_on_done(d, on_cert_answer, NULL, a);
	app_open_dialog(a->app, d);
}

static void on_join_answer(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct add_host *a = ud;
	struct pool *p;
	char *why;

	if (a->ending)
		return;
	switch (r->failure) {
	case XAPI_OK:
		app_message(a->app, MSG_INFO, "%s joined pool %s", a->address, a->pool_name);
		/* its sessions are gone with the join: nothing to log out */
		add_host_end(a, false);
		return;
	case XAPI_CERT_UNKNOWN:
		ask_certificate(a);
		return;
	case XAPI_CERT_CHANGED:
		app_open_dialog(a->app, dialog_message("Certificate changed", r->message));
		add_host_end(a, false);
		return;
	case XAPI_AUTH:
		app_message(a->app, MSG_ERROR, "Add %s to pool %s: %s refused the user name or password", a->address,
			    a->pool_name, a->address);
		add_host_end(a, false);
		return;
	default:
		p = pools_by_id(app_pools(a->app), a->pool_id);
		why = join_error(r, p ? p->cache : NULL, a->master_user);
		app_message(a->app, MSG_ERROR, "Add %s to pool %s: %s", a->address, a->pool_name, why);
		free(why);
		add_host_end(a, true);
		return;
	}
}

/* The host does not answer: the connection would retry for ever. */
static void on_add_state(struct xapi *x, enum xapi_state st, void *ud)
{
	struct add_host *a = ud;

	if (a->ending || st != XAPI_RETRY)
		return;
	app_message(a->app, MSG_ERROR, "Add %s to pool %s: cannot reach it (%s)", a->address, a->pool_name,
		    xapi_last_error(x, NULL));
	add_host_end(a, false);
}

static void send_join(struct add_host *a)
{
	struct xv *params = xv_array();
	struct pool *p = pools_by_id(app_pools(a->app), a->pool_id);

	xv_array_push(params, xv_string(a->master));
	xv_array_push(params, xv_string(a->master_user));
	/* the master's password stays with the pool's connection code */
	if (!p || !pool_push_password(p, params)) {
		xv_free(params);
		app_message(a->app, MSG_ERROR, "Add %s to pool %s: the pool is not connected any more", a->address,
			    a->pool_name);
		add_host_end(a, false);
		return;
	}
	/* a real join restarts the host's toolstack: allow it minutes */
	xapi_call_long(a->x, a->force ? "pool.join_force" : "pool.join", params, 300, on_join_answer, a);
}

/* url with its host replaced: the same scheme and port as the pool's. */
static char *url_for(const char *pool_url, const char *address)
{
	const char *sep = strstr(pool_url, "://");
	const char *h = sep ? sep + 3 : pool_url;
	size_t n = strcspn(h, "/");
	const char *port = NULL;
	bool v6 = strchr(address, ':') != NULL;

	if (*h == '[') {
		const char *e = memchr(h, ']', n);
		port = e && e[1] == ':' ? e + 1 : NULL;
	} else {
		port = memchr(h, ':', n);
	}
	return xasprintf("%.*s%s%s%s%.*s", (int)(h - pool_url), pool_url, v6 ? "[" : "", address, v6 ? "]" : "",
			 port ? (int)(n - (size_t)(port - h)) : 0, port ? port : "");
}

static void start_add_host(struct app *app, struct pool *p, const struct form *f, bool force)
{
	struct add_host *a;
	const char *pool_ref;
	const struct xv *pool = pool_record(p->cache, &pool_ref);
	const struct xv *master = pool ? cache_get(p->cache, rec_str(pool, "master")) : NULL;
	struct xapi_opts o;
	char *url;

	if (!master || !*rec_str(master, "address") || !p->x) {
		app_message(app, MSG_ERROR, "The pool's master is not known yet");
		return;
	}
	a = xcalloc(1, sizeof(*a));
	a->app = app;
	a->pool_id = p->id;
	a->pool_name = xstrdup(p->cfg.name);
	a->address = xstrdup(form_get_text(f, F_ADDRESS));
	a->master = xstrdup(rec_str(master, "address"));
	a->master_user = xstrdup(p->cfg.user);
	a->force = force;
	url = url_for(xapi_url(p->x), a->address);
	memset(&o, 0, sizeof(o));
	o.url = url;
	o.user = form_get_text(f, F_USER);
	o.password = form_get_text(f, F_PASSWORD);
	o.known_hosts = pools_known_hosts(app_pools(app));
	a->x = xapi_new(pools_net(app_pools(app)), app_loop(app), &o);
	free(url);
	xapi_on_state(a->x, on_add_state, a);
	app_keep(app, a, add_host_free);
	app_message(app, MSG_INFO, "%s %s to pool %s (this takes a while)...", force ? "Force-adding" : "Adding",
		    a->address, a->pool_name);
	xapi_connect(a->x);
	send_join(a);
}

/* The form's values outlive the form dialog while the forced join is confirmed. */
struct add_pending {
	int pool_id;
	struct form *form;
};

static void add_pending_free(void *ud)
{
	struct add_pending *ap = ud;

	form_free(ap->form);
	free(ap);
}

static void on_add_force_answer(struct app *app, const struct dialog_result *r, const char *ref, void *ud)
{
	struct add_pending *ap = ud;
	struct pool *p = pools_by_id(app_pools(app), ap->pool_id);

	if (!r->ok) {
		app_message(app, MSG_INFO, "Not added");
		return;
	}
	if (!p || !p->cache) {
		app_message(app, MSG_ERROR, "The pool is not connected any more");
		return;
	}
	start_add_host(app, p, ap->form, true);
}

static void on_add_form(struct app *app, const struct dialog_result *r, const char *id, void *ud)
{
	struct pool *p = pools_by_id(app_pools(app), atoi(id));
	struct add_pending *ap;
	struct form *copy;
	struct dialog *d;

	if (!r->ok)
		return;
	if (!p || !p->cache) {
		app_message(app, MSG_ERROR, "The pool is not connected any more");
		return;
	}
	if (!form_get_toggle(r->form, F_FORCE)) {
		start_add_host(app, p, r->form, false);
		return;
	}
	/* the dialog's form goes with it: keep the values in a form of our own */
	copy = credentials_form("Host address", "");
	form_set_text(copy, F_ADDRESS, form_get_text(r->form, F_ADDRESS));
	form_set_text(copy, F_USER, form_get_text(r->form, F_USER));
	form_set_text(copy, F_PASSWORD, form_get_text(r->form, F_PASSWORD));
	ap = xcalloc(1, sizeof(*ap));
	ap->pool_id = p->id;
	ap->form = copy;
	d = dialog_confirm("Forced join", force_text, "Join anyway", "Cancel", true);
	dialog_on_done(d, on_add_force_answer, NULL, ap);
	dialog_own_ud(d, add_pending_free);
	app_open_dialog(app, d);
}

void pool_join_add_host(struct app *app, struct pool *p)
{
	struct dialog *d;
	char id[16], *text;

	if (!p || !p->cache || !cache_loaded(p->cache)) {
		app_message(app, MSG_ERROR, "No connected pool to add a host to");
		return;
	}
	text = xasprintf("The host joins pool %s: xentui logs in to it and asks it to join this pool's master "
			 "with the pool's credentials. It must have no running VMs and no shared storage.",
			 p->cfg.name);
	d = dialog_form("Add a host to the pool", text, credentials_form("Host address", "the joining host's"));
	snprintf(id, sizeof(id), "%d", p->id);
	dialog_on_done(d, on_add_form, id, NULL);
	app_open_dialog(app, d);
	free(text);
}
