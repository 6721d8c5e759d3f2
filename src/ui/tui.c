#include "tui.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "cache.h"
#include "demo.h"
#include "dialog.h"
#include "loop.h"
#include "net.h"
#include "ops.h"
#include "screens.h"
#include "term.h"
#include "theme.h"
#include "util.h"

struct tui {
	struct loop *loop;
	struct net *net;
	struct xapi *x;
	struct cache *cache;
	struct ops *ops;
	struct app *app;
	struct demo demo;
	bool demo_running;
	bool cert_asked;
	int empty_reads; /* stdin readable but no key, in a row */
};

static void on_stdin(struct loop *l, int fd, int events, void *ud)
{
	struct tui *t = ud;

	/* a terminal that went away stays readable with nothing to read: leave
	 * rather than spin (a lone Esc also reads nothing once, hence a count) */
	if (app_input(t->app) > 0) {
		t->empty_reads = 0;
	} else if (++t->empty_reads > 100) {
		loop_watch(l, fd, 0, NULL, NULL);
		app_quit(t->app, false);
	}
}

static void on_signal(struct loop *l, int sig, void *ud)
{
	struct tui *t = ud;

	switch (sig) {
	case SIGWINCH:
		term_resize();
		app_resize(t->app);
		break;
	case SIGCHLD:
		if (t->demo_running && demo_exited(&t->demo)) {
			t->demo_running = false;
			app_message(t->app, MSG_ERROR, "The demo pool (xapi-sim) has stopped");
		}
		break;
	default:
		/* ^C, SIGTERM, SIGHUP: log out and leave; a second one leaves at once */
		if (app_quitting(t->app))
			loop_stop(l, 0);
		else
			app_quit(t->app, false);
		break;
	}
}

/* "ab12cd..." as "AB:12:CD:...", as browsers show fingerprints. */
static char *fingerprint_text(const char *hex)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "");
	for (size_t i = 0; hex[i] && hex[i + 1]; i += 2)
		buf_printf(&b, "%s%c%c", i ? ":" : "", hex[i] >= 'a' ? hex[i] - 32 : hex[i],
			   hex[i + 1] >= 'a' ? hex[i + 1] - 32 : hex[i + 1]);
	return buf_steal(&b);
}

static void on_cert_answer(struct app *app, const struct dialog_result *r, const char *ref, void *ud)
{
	struct tui *t = ud;

	t->cert_asked = false;
	if (r->ok) {
		app_message(app, MSG_INFO, "Certificate accepted and remembered; connecting");
		xapi_accept_fingerprint(t->x);
	} else {
		app_message(app, MSG_ERROR, "Certificate refused: not connected (q quits)");
	}
}

static void ask_about_certificate(struct tui *t)
{
	char *fp = fingerprint_text(xapi_seen_fingerprint(t->x));
	char *text = xasprintf("%s presents a certificate xentui has not seen before.\n\nSHA-256 fingerprint:\n%s\n\n"
			       "Accept it only if it is the pool master's (on the host: "
			       "openssl x509 -noout -fingerprint -sha256 -in /etc/xensource/xapi-ssl.pem).",
			       xapi_url(t->x), fp);
	struct dialog *d = dialog_confirm("Unknown certificate", text, "Accept", "Refuse", true);

	dialog_on_done(d, on_cert_answer, NULL, t);
	app_open_dialog(t->app, d);
	t->cert_asked = true;
	free(text);
	free(fp);
}

/* The connection needs the user: a certificate to accept, a password that failed. */
static void on_connection(struct cache *c, enum cache_op op, const char *cls, const char *ref, void *ud)
{
	struct tui *t = ud;
	enum xapi_failure kind;
	const char *why;

	if (op != CACHE_STATUS || xapi_state(t->x) != XAPI_FAILED)
		return;
	why = xapi_last_error(t->x, &kind);
	if (kind == XAPI_CERT_UNKNOWN) {
		if (!t->cert_asked)
			ask_about_certificate(t);
		return;
	}
	if (kind == XAPI_CERT_CHANGED) {
		app_open_dialog(t->app, dialog_message("Certificate changed", why));
		return;
	}
	app_message(t->app, MSG_ERROR, "%s", why);
}

static void teardown(struct tui *t)
{
	loop_watch(t->loop, STDIN_FILENO, 0, NULL, NULL);
	term_stop();
	if (t->cache)
		cache_stop(t->cache);
	/* xapi answers its pending calls: ops and the app must still be there */
	xapi_free(t->x);
	ops_free(t->ops);
	app_free(t->app);
	term_free();
	cache_free(t->cache);
	net_free(t->net);
	loop_free(t->loop);
	if (t->demo_running)
		demo_stop(&t->demo);
}

int tui_run(const struct tui_opts *o)
{
	struct tui t;
	struct xapi_opts xo = o->xapi;
	struct app_env env;
	char *err = NULL, *theme_err = NULL, *dir;
	int rc;

	memset(&t, 0, sizeof(t));
	if (o->demo) {
		if (!demo_start(&t.demo, &err)) {
			fprintf(stderr, "xentui: %s\n", err);
			free(err);
			return 1;
		}
		t.demo_running = true;
		memset(&xo, 0, sizeof(xo));
		xo.url = t.demo.url;
		xo.user = "root";
		xo.password = "xapi-sim";
		xo.fingerprint = t.demo.fingerprint[0] ? t.demo.fingerprint : NULL;
	}
	t.loop = loop_new();
	/* before ncurses starts, so that it leaves these signals to the loop */
	loop_signal(t.loop, SIGWINCH, on_signal, &t);
	loop_signal(t.loop, SIGINT, on_signal, &t);
	loop_signal(t.loop, SIGTERM, on_signal, &t);
	loop_signal(t.loop, SIGHUP, on_signal, &t);
	if (o->demo)
		loop_signal(t.loop, SIGCHLD, on_signal, &t);
	if (!term_start(&err)) {
		fprintf(stderr, "xentui: %s\n", err);
		free(err);
		loop_free(t.loop);
		if (t.demo_running)
			demo_stop(&t.demo);
		return 1;
	}
	t.net = net_new(t.loop);
	t.x = xapi_new(t.net, t.loop, &xo);
	t.cache = cache_new(t.x, t.loop);
	t.ops = ops_new(t.x, t.cache);
	dir = exe_dir();
	theme_load(o->theme ? o->theme : "classic", dir, &theme_err);
	free(dir);
	memset(&env, 0, sizeof(env));
	env.loop = t.loop;
	env.xapi = t.x;
	env.cache = t.cache;
	env.ops = t.ops;
	env.commands = screen_commands;
	env.help = &screen_help;
	env.server_label = o->demo ? "demo" : o->label;
	env.confirm_quit = o->confirm_quit;
	t.app = app_new(&env);
	app_push(t.app, &screen_dashboard, NULL);
	if (theme_err) {
		app_message(t.app, MSG_ERROR, "%s", theme_err);
		free(theme_err);
	}
	cache_subscribe(t.cache, on_connection, &t);
	loop_watch(t.loop, STDIN_FILENO, LOOP_IN, on_stdin, &t);
	cache_start(t.cache);
	rc = loop_run(t.loop);
	teardown(&t);
	return rc;
}
