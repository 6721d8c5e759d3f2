#include "simproc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *simproc_binary(void)
{
	const char *env = getenv("XAPI_SIM");

	return env && *env ? env : "build/san/xapi-sim";
}

bool simproc_start(struct simproc *s, const char *const *argv_extra)
{
	const char *argv[32];
	int n = 0, out[2];
	char buf[4096];
	size_t len = 0;
	struct timespec t0, t;
	static int counter;

	memset(s, 0, sizeof(*s));
	argv[n++] = simproc_binary();
	for (int i = 0; argv_extra && argv_extra[i] && n < 30; i++)
		argv[n++] = argv_extra[i];
	argv[n] = NULL;
	snprintf(s->log, sizeof(s->log), "build/test-logs/sim-%d-%d.log", (int)getpid(), counter++);
	if (pipe(out) < 0)
		return false;
	s->pid = fork();
	if (s->pid < 0)
		return false;
	if (s->pid == 0) {
		int err = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(out[1], 1);
		if (err >= 0)
			dup2(err, 2);
		close(out[0]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = {out[0], POLLIN, 0};
		char *line;
		ssize_t r;

		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 20 || poll(&p, 1, 1000) < 0)
			break;
		if (!p.revents)
			continue;
		r = read(out[0], buf + len, sizeof(buf) - len - 1);
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
		if ((line = strstr(buf, "xapi-sim fingerprint ")))
			sscanf(line, "xapi-sim fingerprint %79s", s->fingerprint);
		if ((line = strstr(buf, "xapi-sim listening on ")) && strchr(line, '\n')) {
			sscanf(line, "xapi-sim listening on %255s", s->url);
			close(out[0]);
			return true;
		}
	}
	close(out[0]);
	simproc_stop(s);
	return false;
}

void simproc_signal(struct simproc *s, int sig)
{
	if (s->pid > 0)
		kill(s->pid, sig);
}

bool simproc_stop(struct simproc *s)
{
	char line[512];
	bool clean = true;
	FILE *f;

	if (s->pid > 0) {
		int st;
		kill(s->pid, SIGTERM);
		for (int i = 0; i < 100 && waitpid(s->pid, &st, WNOHANG) == 0; i++)
			usleep(50000);
		if (waitpid(s->pid, &st, WNOHANG) == 0) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &st, 0);
		}
		s->pid = 0;
	}
	f = fopen(s->log, "r");
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "ERROR: AddressSanitizer") || strstr(line, "runtime error:")
		    || strstr(line, "ERROR: LeakSanitizer")) {
			fprintf(stderr, "sim sanitizer report in %s: %s", s->log, line);
			clean = false;
		}
	if (f)
		fclose(f);
	return clean;
}
