#include "demo.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "util.h"

#define START_TIMEOUT_MS 30000

char *exe_dir(void)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	char *slash;

	if (n <= 0)
		return xstrdup(".");
	path[n] = '\0';
	slash = strrchr(path, '/');
	if (slash)
		*slash = '\0';
	return xstrdup(path);
}

/* argv for the simulator: its path, the fixed options, then the words of
 * $XENTUI_DEMO_ARGS. */
static char **sim_argv(const char *path, char **words_out)
{
	const char *extra = getenv("XENTUI_DEMO_ARGS");
	char *words = xstrdup(extra ? extra : "");
	char **argv = xcalloc(8 + strlen(words) / 2 + 1, sizeof(char *));
	int n = 0;

	argv[n++] = (char *)path;
	argv[n++] = (char *)"--bind";
	argv[n++] = (char *)"127.0.0.1";
	argv[n++] = (char *)"--port";
	argv[n++] = (char *)"0";
	for (char *save = NULL, *w = strtok_r(words, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
		argv[n++] = w;
	argv[n] = NULL;
	*words_out = words;
	return argv;
}

static void child(const char *path, int out, const char *err_path)
{
	char *words;
	char **argv = sim_argv(path, &words);
	int devnull = open("/dev/null", O_RDWR);
	int errfd = err_path ? open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644) : devnull;

	/* its own process group: ^C in the terminal is for xentui, which logs out first */
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	dup2(devnull, STDIN_FILENO);
	dup2(out, STDOUT_FILENO);
	dup2(errfd >= 0 ? errfd : devnull, STDERR_FILENO);
	execv(path, argv);
	_exit(127);
}

/* Reads the simulator's lines until it says where it listens. */
static bool read_banner(struct demo *d, int fd, char **err)
{
	char buf[4096];
	size_t len = 0;
	int64_t deadline = loop_now() + START_TIMEOUT_MS;

	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		int64_t left = deadline - loop_now();
		ssize_t n;
		char *nl;

		if (left <= 0) {
			*err = xstrdup("xapi-sim did not start within 30 s");
			return false;
		}
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			break;
		if (!p.revents)
			continue;
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		while ((nl = strchr(buf, '\n'))) {
			*nl = '\0';
			if (strncmp(buf, "xapi-sim fingerprint ", 21) == 0)
				snprintf(d->fingerprint, sizeof(d->fingerprint), "%.64s", buf + 21);
			else if (strncmp(buf, "xapi-sim listening on ", 22) == 0) {
				snprintf(d->url, sizeof(d->url), "%.255s", buf + 22);
				return true;
			}
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len + 1);
		}
		if (len == sizeof(buf) - 1)
			len = 0; /* a line too long to be ours: drop it */
	}
	*err = xstrdup("xapi-sim exited before it was ready");
	return false;
}

static void write_info(const struct demo *d, const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return;
	fprintf(f, "url=%s\nfingerprint=%s\npid=%d\n", d->url, d->fingerprint, (int)d->pid);
	fclose(f);
}

bool demo_start(struct demo *d, char **err)
{
	const char *info = getenv("XENTUI_DEMO_INFO");
	char *dir = exe_dir();
	char *err_path = info && *info ? xasprintf("%s.sim-stderr", info) : NULL;
	int p[2];
	bool ok;

	memset(d, 0, sizeof(*d));
	d->pid = -1;
	d->sim_path = xasprintf("%s/xapi-sim", dir);
	free(dir);
	if (access(d->sim_path, X_OK) != 0) {
		*err = xasprintf("%s not found: build it with `make build/xapi-sim`", d->sim_path);
		free(err_path);
		return false;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		*err = xasprintf("pipe: %s", strerror(errno));
		free(err_path);
		return false;
	}
	d->pid = fork();
	if (d->pid < 0) {
		*err = xasprintf("fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		free(err_path);
		return false;
	}
	if (d->pid == 0) {
		close(p[0]);
		child(d->sim_path, p[1], err_path);
	}
	free(err_path);
	close(p[1]);
	ok = read_banner(d, p[0], err);
	close(p[0]); /* the simulator ignores SIGPIPE should it print more */
	if (!ok) {
		demo_stop(d);
		return false;
	}
	log_msg("demo: xapi-sim %d at %s", (int)d->pid, d->url);
	if (info && *info)
		write_info(d, info);
	return true;
}

bool demo_exited(struct demo *d)
{
	int status;

	if (d->pid <= 0)
		return true;
	if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
		d->pid = -1;
		return true;
	}
	return false;
}

void demo_stop(struct demo *d)
{
	if (d->pid > 0) {
		struct timespec pause = {0, 10 * 1000000};
		kill(d->pid, SIGTERM);
		for (int i = 0; i < 300 && !demo_exited(d); i++)
			nanosleep(&pause, NULL);
		if (d->pid > 0) {
			kill(d->pid, SIGKILL);
			waitpid(d->pid, NULL, 0);
			d->pid = -1;
		}
	}
	free(d->sim_path);
	d->sim_path = NULL;
}
