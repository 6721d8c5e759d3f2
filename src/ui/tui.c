#include "tui.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "demo.h"
#include "lock.h"
#include "loop.h"
#include "net.h"
#include "pools.h"
#include "term.h"
#include "theme.h"
#include "util.h"

struct tui {
	struct loop *loop;
	struct net *net;
	struct pools *pools;
	struct app *app;
	struct lock *lock; /* --local */
	struct demo demo;
	bool demo_running;
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

static void teardown(struct tui *t)
{
	loop_watch(t->loop, STDIN_FILENO, 0, NULL, NULL);
	term_stop();
	/* pending calls are answered now: ops and the app must still be there */
	pools_drop_all(t->pools);
	lock_free(t->lock);
	app_free(t->app);
	pools_free(t->pools);
	term_free();
	net_free(t->net);
	loop_free(t->loop);
	if (t->demo_running)
		demo_stop(&t->demo);
}

/* The demo's pool: the simulator's URL, its certificate and its password. */
static void add_demo_pool(struct tui *t)
{
	struct server_cfg cfg;
	struct pool *p;

	memset(&cfg, 0, sizeof(cfg));
	cfg.name = (char *)"demo";
	cfg.url = t->demo.url;
	cfg.user = (char *)"root";
	cfg.fingerprint = t->demo.fingerprint[0] ? t->demo.fingerprint : NULL;
	p = pools_add(t->pools, &cfg, false);
	p->demo = true;
	pool_set_password(p, "xapi-sim");
}

int tui_run(const struct tui_opts *o)
{
	struct tui t;
	struct app_env env;
	char *err = NULL, *theme_err = NULL, *dir;
	bool connecting = o->demo;
	int rc;

	memset(&t, 0, sizeof(t));
	if (o->demo && !demo_start(&t.demo, &err)) {
		fprintf(stderr, "xentui: %s\n", err);
		free(err);
		return 1;
	}
	t.demo_running = o->demo;
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
	t.pools = pools_new(t.loop, t.net, o->config->known_hosts);
	if (o->demo)
		add_demo_pool(&t);
	for (int i = 0; i < o->nservers; i++) {
		struct pool *p = pools_add(t.pools, &o->servers[i].cfg, o->servers[i].saved);
		if (o->servers[i].password)
			pool_set_password(p, o->servers[i].password);
		connecting |= o->servers[i].connect;
	}
	dir = exe_dir();
	theme_load(o->theme ? o->theme : "classic", dir, &theme_err);
	free(dir);
	memset(&env, 0, sizeof(env));
	env.loop = t.loop;
	env.pools = t.pools;
	env.config = o->config;
	env.commands = o->screens->commands;
	env.help = o->screens->help;
	env.confirm_quit = o->confirm_quit;
	t.app = app_new(&env);
	app_push(t.app, o->screens->home, NULL);
	if (o->local) {
		struct lock_opts lo;

		memset(&lo, 0, sizeof(lo));
		lo.idle_s = o->config->lock_idle;
		lo.url = o->config->lock_url;
		lo.fingerprint = o->config->lock_fingerprint;
		lo.known_hosts = o->config->known_hosts;
		lo.gated = o->screens->console;
		t.lock = lock_new(t.app, t.net, &lo);
		app_set_lock(t.app, t.lock);
		if (o->screens->local)
			app_push(t.app, o->screens->local, NULL);
	} else if (o->vnc) {
		char *arg = xasprintf("vnc:%s", o->vnc);

		app_push(t.app, o->screens->console, arg);
		free(arg);
	} else if (!connecting) {
		/* nothing to connect to yet: where pools are added */
		app_push(t.app, o->screens->servers, NULL);
		app_message(t.app, MSG_INFO, pools_count(t.pools) ? "Choose a pool and press Enter to connect"
								   : "No pool yet: a adds one");
	}
	if (theme_err) {
		app_message(t.app, MSG_ERROR, "%s", theme_err);
		free(theme_err);
	}
	loop_watch(t.loop, STDIN_FILENO, LOOP_IN, on_stdin, &t);
	if (o->demo)
		app_connect(t.app, pools_at(t.pools, 0), false);
	for (int i = 0; i < o->nservers; i++)
		if (o->servers[i].connect)
			app_connect(t.app, pools_at(t.pools, (size_t)i + (o->demo ? 1 : 0)), false);
	rc = loop_run(t.loop);
	teardown(&t);
	return rc;
}
