/* Test support: runs xapi-sim as a child process and reads the URL and
 * certificate fingerprint it prints. */
#ifndef TEST_SIMPROC_H
#define TEST_SIMPROC_H

#include <stdbool.h>
#include <sys/types.h>

struct simproc {
	pid_t pid;
	char url[256];
	char fingerprint[80];
	char log[256]; /* its stderr goes here */
};

/* argv_extra: NULL-terminated extra arguments. false if it did not start within 20 s. */
bool simproc_start(struct simproc *s, const char *const *argv_extra);
void simproc_signal(struct simproc *s, int sig);
/* Stops it; true when it had written no sanitizer report. */
bool simproc_stop(struct simproc *s);
/* The sim binary to use: build/san/xapi-sim (or $XAPI_SIM). */
const char *simproc_binary(void);

#endif
