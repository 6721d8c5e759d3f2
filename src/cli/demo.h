/* `xentui --demo`: xapi-sim, found beside the xentui executable, started on
 * a free loopback port in its own process group, its URL and certificate
 * fingerprint read from what it prints; stopped again on the way out. */
#ifndef XENTUI_DEMO_H
#define XENTUI_DEMO_H

#include <stdbool.h>
#include <sys/types.h>

struct demo {
	pid_t pid;
	char url[256];
	char fingerprint[65];
	char *sim_path;
};

/* Starts the simulator (extra arguments from $XENTUI_DEMO_ARGS); with
 * $XENTUI_DEMO_INFO set, writes url=, fingerprint= and pid= lines to that
 * file and sends the simulator's stderr to FILE.sim-stderr (else nowhere:
 * it would scribble over the screen). */
bool demo_start(struct demo *d, char **err);
/* True once the simulator has exited (after SIGCHLD). */
bool demo_exited(struct demo *d);
void demo_stop(struct demo *d);
/* The directory of the running executable (for xapi-sim and themes). Free it. */
char *exe_dir(void);

#endif
