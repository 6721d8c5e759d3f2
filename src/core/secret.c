#include "secret.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "loop.h"
#include "sanitize.h"
#include "util.h"

static void chomp(char *s)
{
	size_t n = strcspn(s, "\r\n");

	s[n] = '\0';
}

void secret_free(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

char *secret_from_file(const char *path, char **err)
{
	struct stat st;
	char line[1024];
	const char *home = getenv("HOME");
	/* "~/.config/xentui/lab.password", as the example configuration writes it */
	char *full = path[0] == '~' && path[1] == '/' && home ? xasprintf("%s%s", home, path + 1) : xstrdup(path);
	FILE *f = fopen(full, "r");
	int open_errno = errno;

	free(full);
	if (!f) {
		*err = xasprintf("cannot read the password file %s: %s", path, strerror(open_errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		*err = xasprintf("the password file %s is a directory: name the file in it", path);
		return NULL;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
		fclose(f);
		*err = xasprintf("refusing the password file %s: other users can read it (run: chmod 600 %s)", path, path);
		return NULL;
	}
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		*err = xasprintf("the password file %s is empty", path);
		return NULL;
	}
	fclose(f);
	chomp(line);
	{
		char *s = xstrdup(line);
		explicit_bzero(line, sizeof(line)); /* a plain memset before return may be dropped */
		return s;
	}
}

char *secret_from_env(const char *var, char **err)
{
	const char *v = getenv(var);

	if (!v) {
		*err = xasprintf("the environment variable %s is not set", var);
		return NULL;
	}
	return xstrdup(v);
}

/* ---- password_command: a child on the loop ----------------------------------------- */

#define CMD_OUT_MAX 1024 /* the password's line, as the file's */
#define CMD_ERR_MAX 1024 /* enough for a first line to show */
#define REAP_POLL_MS 20  /* without pidfd: how often to look for its end */

struct secret_cmd {
	struct loop *loop;
	pid_t pid;       /* -1 once reaped */
	int status;
	int out, err;    /* pipes from its stdout and stderr; -1 once closed */
	int pidfd;       /* readable once it ends; -1 where the kernel has none */
	char outbuf[CMD_OUT_MAX];
	size_t nout;
	char errbuf[CMD_ERR_MAX];
	size_t nerr;
	int64_t timeout_ms;
	bool timed_out;
	char *early;     /* it could not even be started: why */
	struct loop_timer *deadline, *poll;
	secret_cmd_fn fn;
	void *ud;
};

static void close_fd(struct secret_cmd *c, int *fd)
{
	if (*fd < 0)
		return;
	loop_watch(c->loop, *fd, 0, NULL, NULL);
	close(*fd);
	*fd = -1;
}

/* Reads what is there into buf (the rest is read and dropped, so the
 * child never blocks on a full pipe); closes fd at its end. */
static void drain(struct secret_cmd *c, int *fd, char *buf, size_t cap, size_t *n)
{
	char tmp[512];

	while (*fd >= 0) {
		ssize_t r = read(*fd, tmp, sizeof(tmp));
		if (r > 0) {
			size_t k = (size_t)r < cap - 1 - *n ? (size_t)r : cap - 1 - *n;
			memcpy(buf + *n, tmp, k);
			*n += k;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		close_fd(c, fd); /* its end, or an error: nothing more comes */
	}
	explicit_bzero(tmp, sizeof(tmp)); /* may have held the password */
	buf[*n] = '\0';
}

static void cmd_free(struct secret_cmd *c)
{
	if (c->deadline)
		loop_timer_cancel(c->loop, c->deadline);
	if (c->poll)
		loop_timer_cancel(c->loop, c->poll);
	close_fd(c, &c->out);
	close_fd(c, &c->err);
	close_fd(c, &c->pidfd);
	free(c->early);
	explicit_bzero(c, sizeof(*c)); /* the output buffer held the password */
	free(c);
}

/* Its stderr's first line, sanitised, as ": line" (or "" when it said nothing). */
static char *said(const struct secret_cmd *c)
{
	size_t n = strcspn(c->errbuf, "\r\n");
	char first[256];
	char *clean;
	char *s;

	if (n > sizeof(first) - 1)
		n = sizeof(first) - 1;
	memcpy(first, c->errbuf, n);
	first[n] = '\0';
	clean = sanitize(first);
	s = *clean ? xasprintf(": %s", clean) : xstrdup("");
	free(clean);
	return s;
}

/* The wait status as a person reads it. */
static char *command_failure(const struct secret_cmd *c)
{
	char *tail = said(c);
	char *s;
	int rc = c->status;

	if (c->timed_out)
		s = xasprintf("password_command took longer than %lld %s and was killed%s",
			      (long long)(c->timeout_ms % 1000 ? c->timeout_ms : c->timeout_ms / 1000),
			      c->timeout_ms % 1000 ? "ms" : "s", tail);
	else if (WIFEXITED(rc) && WEXITSTATUS(rc) == 127)
		s = xasprintf("password_command exited with 127 (the shell found no such command)%s", tail);
	else if (WIFEXITED(rc))
		s = xasprintf("password_command exited with %d%s", WEXITSTATUS(rc), tail);
	else if (WIFSIGNALED(rc))
		s = xasprintf("password_command was killed by signal %d (%s)%s", WTERMSIG(rc), strsignal(WTERMSIG(rc)),
			      tail);
	else
		s = xasprintf("password_command failed (wait status %d)%s", rc, tail);
	free(tail);
	return s;
}

/* It has ended (or never started): say so once, then go. */
static void finish(struct secret_cmd *c)
{
	char *password = NULL, *err = NULL;

	if (c->early) {
		err = xstrdup(c->early);
	} else {
		drain(c, &c->out, c->outbuf, sizeof(c->outbuf), &c->nout);
		drain(c, &c->err, c->errbuf, sizeof(c->errbuf), &c->nerr);
		chomp(c->outbuf);
		if (c->timed_out || c->status != 0) {
			err = command_failure(c);
		} else if (!c->outbuf[0]) {
			char *tail = said(c);
			err = xasprintf("password_command printed no password%s", tail);
			free(tail);
		} else {
			password = xstrdup(c->outbuf);
		}
	}
	{
		secret_cmd_fn fn = c->fn;
		void *ud = c->ud;
		cmd_free(c);
		fn(password, err, ud);
	}
	free(err);
}

static bool reaped(struct secret_cmd *c)
{
	pid_t r;

	while ((r = waitpid(c->pid, &c->status, WNOHANG)) < 0 && errno == EINTR)
		;
	if (r == 0)
		return false;
	if (r < 0)
		c->status = 0; /* reaped elsewhere: judge by what it printed */
	c->pid = -1;
	return true;
}

static void on_poll(struct loop *l, void *ud)
{
	struct secret_cmd *c = ud;

	c->poll = NULL;
	if (c->early || reaped(c)) {
		finish(c);
		return;
	}
	c->poll = loop_timer(l, REAP_POLL_MS, on_poll, c);
}

static void on_pidfd(struct loop *l, int fd, int events, void *ud)
{
	struct secret_cmd *c = ud;

	if (reaped(c))
		finish(c);
}

static void on_output(struct loop *l, int fd, int events, void *ud)
{
	struct secret_cmd *c = ud;

	if (fd == c->out)
		drain(c, &c->out, c->outbuf, sizeof(c->outbuf), &c->nout);
	else
		drain(c, &c->err, c->errbuf, sizeof(c->errbuf), &c->nerr);
}

/* Too long: its whole session goes (a shell's children too). */
static void on_deadline(struct loop *l, void *ud)
{
	struct secret_cmd *c = ud;

	c->deadline = NULL;
	c->timed_out = true;
	kill(-c->pid, SIGKILL);
	kill(c->pid, SIGKILL);
	if (c->pidfd < 0 && !c->poll)
		c->poll = loop_timer(l, 0, on_poll, c);
}

/* sh -c cmd with stdin /dev/null, stdout and stderr to the pipes, in a
 * session of its own: no controlling terminal to read or write. */
static pid_t spawn(const char *cmd, int out[2], int err[2], int devnull)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	/* the child: only async-signal-safe calls until exec */
	{
		sigset_t none;
		struct sigaction dfl;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigaction(SIGPIPE, &dfl, NULL);
	}
	setsid();
	if (dup2(devnull, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
		_exit(126);
	close_fds_from(3); /* nothing of ours leaks into it */
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

struct secret_cmd *secret_command_start(struct loop *l, const char *cmd, int64_t timeout_ms, secret_cmd_fn fn,
					void *ud)
{
	struct secret_cmd *c = xcalloc(1, sizeof(*c));
	int out[2] = {-1, -1}, err[2] = {-1, -1};
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);

	c->loop = l;
	c->pid = -1;
	c->out = c->err = c->pidfd = -1;
	c->timeout_ms = timeout_ms;
	c->fn = fn;
	c->ud = ud;
	if (devnull < 0 || pipe2(out, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(err, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    (c->pid = spawn(cmd, out, err, devnull)) < 0) {
		c->early = xasprintf("cannot run password_command: %s", strerror(errno));
		c->pid = -1;
		for (int i = 0; i < 2; i++) {
			if (out[i] >= 0)
				close(out[i]);
			if (err[i] >= 0)
				close(err[i]);
		}
		if (devnull >= 0)
			close(devnull);
		c->poll = loop_timer(l, 0, on_poll, c); /* answered from the loop, as always */
		return c;
	}
	close(devnull);
	close(out[1]);
	close(err[1]);
	c->out = out[0];
	c->err = err[0];
	loop_watch(l, c->out, LOOP_IN, on_output, c);
	loop_watch(l, c->err, LOOP_IN, on_output, c);
	c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	if (c->pidfd >= 0)
		loop_watch(l, c->pidfd, LOOP_IN, on_pidfd, c);
	else
		c->poll = loop_timer(l, REAP_POLL_MS, on_poll, c);
	c->deadline = loop_timer(l, timeout_ms, on_deadline, c);
	return c;
}

void secret_command_cancel(struct secret_cmd *c)
{
	if (!c)
		return;
	if (c->pid > 0) {
		kill(-c->pid, SIGKILL);
		kill(c->pid, SIGKILL);
		/* killed: its end comes at once, and no zombie is left behind */
		while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	cmd_free(c);
}

struct sync_cmd {
	struct loop *loop;
	char *password;
	char *err;
};

static void on_sync(char *password, const char *err, void *ud)
{
	struct sync_cmd *s = ud;

	s->password = password;
	s->err = err ? xstrdup(err) : NULL;
	loop_stop(s->loop, 0);
}

char *secret_from_command(const char *cmd, char **err)
{
	struct sync_cmd s = {loop_new(), NULL, NULL};

	secret_command_start(s.loop, cmd, SECRET_COMMAND_TIMEOUT_MS, on_sync, &s);
	loop_run(s.loop);
	loop_free(s.loop);
	if (!s.password)
		*err = s.err ? s.err : xstrdup("password_command failed");
	else
		free(s.err);
	return s.password;
}

char *secret_prompt(const char *prompt, char **err)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	struct termios old, quiet;
	char line[1024];
	size_t n = 0;
	char ch;

	if (fd < 0) {
		*err = xasprintf("no terminal to ask the password on: use --password-file or --password-env");
		return NULL;
	}
	if (write(fd, prompt, strlen(prompt)) < 0) {
		close(fd);
		*err = xstrdup("cannot write to the terminal");
		return NULL;
	}
	tcgetattr(fd, &old);
	quiet = old;
	quiet.c_lflag &= (tcflag_t)~(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	tcsetattr(fd, TCSAFLUSH, &quiet);
	while (n + 1 < sizeof(line) && read(fd, &ch, 1) == 1 && ch != '\n' && ch != '\r')
		line[n++] = ch;
	line[n] = '\0';
	tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0) {
		/* nothing to do: the password was read */
	}
	close(fd);
	{
		char *s = xstrdup(line);
		explicit_bzero(line, sizeof(line));
		return s;
	}
}
