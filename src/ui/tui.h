/* The full-screen interface: connects the pools it is given, shows the
 * dashboard, runs until the user quits. */
#ifndef XENTUI_UI_TUI_H
#define XENTUI_UI_TUI_H

#include <stdbool.h>

#include "config.h"

/* A pool to list (and maybe connect) at the start. */
struct tui_server {
	struct server_cfg cfg;
	bool saved;           /* from the configuration file */
	bool connect;         /* connect at once */
	const char *password; /* given or asked on the terminal before the start, or NULL */
};

struct command;
struct screen;

/* The program's own screens, which the framework knows none of by name:
 * the layer above it (screens/program.c) assembles them. */
struct tui_screens {
	const struct command *commands; /* the `:` commands; ends with a NULL name */
	const struct screen *help;      /* what `?` shows */
	const struct screen *home;      /* the first screen, always under the others */
	const struct screen *servers;   /* shown over it when nothing connects */
	const struct screen *console;   /* the viewer --vnc opens */
	const struct screen *local;     /* --local: this host, first (its arg: none) */
};

struct tui_opts {
	const struct tui_screens *screens;
	struct config *config;       /* saved when the user edits the servers */
	const struct tui_server *servers;
	int nservers;
	const char *theme;           /* a theme name or path */
	bool demo;                   /* start xapi-sim and add its pool */
	bool confirm_quit;
	const char *vnc;             /* HOST:PORT: open the console viewer on a plain RFB server */
	bool local;                  /* at a host's own console: this host first, changes locked */
};

/* Exit status: 0 after a normal quit, 1 when it could not start. */
int tui_run(const struct tui_opts *o);

#endif
