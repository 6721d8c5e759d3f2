/* Children `xentui backup ...` for the Backups screens: started with their
 * output in an unlinked temporary file (no pipe: a run outlives the
 * interface without a SIGPIPE), reaped by a timer while any is running. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app.h"
#include "backups.h"
#include "pools.h"
#include "util.h"

#define POLL_MS 150
#define OUT_MAX (16u << 20) /* what is read back of a child's output */

struct child {
	pid_t pid;
	int out_fd, err_fd;
	bproc_done_fn done;
	void *ud;
	struct child *next;
};

static struct child *children;
static struct loop_timer *timer;

int bproc_count(void)
{
	int n = 0;

	for (struct child *c = children; c; c = c->next)
		n++;
	return n;
}

static char *read_all(int fd)
{
	struct buf b;
	char chunk[8192];
	off_t off = 0;
	ssize_t n;

	buf_init(&b);
	while (b.len < OUT_MAX && (n = pread(fd, chunk, sizeof(chunk), off)) > 0) {
		buf_append(&b, chunk, (size_t)n);
		off += n;
	}
	buf_putc(&b, '\0');
	return buf_steal(&b);
}

static void poll_children(struct loop *l, void *ud);

static void arm(struct app *app)
{
	if (!timer && children)
		timer = loop_timer(app_loop(app), POLL_MS, poll_children, app);
}

static void poll_children(struct loop *l, void *ud)
{
	struct app *app = ud;
	struct child **pp = &children;

	timer = NULL;
	while (*pp) {
		struct child *c = *pp;
		int status;
		pid_t r = waitpid(c->pid, &status, WNOHANG);
		if (r == 0 || (r < 0 && errno == EINTR)) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		{
			char *out = read_all(c->out_fd), *err = read_all(c->err_fd);
			int rc = r < 0 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			close(c->out_fd);
			close(c->err_fd);
			c->done(app, rc, out, err, c->ud);
			free(out);
			free(err);
		}
		free(c->ud);
		free(c);
	}
	arm(app);
	app_dirty(app);
}

/* A file for the child's output that nobody else sees; -1 on failure. */
static int output_file(void)
{
	const char *tmp = getenv("TMPDIR");
	char *path = xasprintf("%s/xentui-backup-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(path);

	if (fd >= 0)
		unlink(path);
	free(path);
	return fd;
}

const struct pool *bproc_password(struct app *app, const char *server)
{
	struct pools *ps = app_pools(app);

	for (size_t i = 0; server && i < pools_count(ps); i++) {
		struct pool *p = pools_at(ps, i);
		if (strcmp(p->cfg.name, server) == 0 && pool_has_password(p) && !p->cfg.password_file &&
		    !p->cfg.password_env && !p->cfg.password_command)
			return p;
	}
	return NULL;
}

pid_t bproc_start(struct app *app, const char *const *args, const struct pool *password, bproc_done_fn done,
		  void *ud)
{
	const char *config = app_config(app)->path;
	size_t n = 0;
	const char **argv;
	int fd = output_file(), efd = output_file();
	char **env;
	pid_t pid;

	if (fd < 0 || efd < 0) {
		if (fd >= 0)
			close(fd);
		if (efd >= 0)
			close(efd);
		app_message(app, MSG_ERROR, "Cannot start xentui backup: no temporary file (%s)", strerror(errno));
		free(ud);
		return -1;
	}
	while (args[n])
		n++;
	argv = xcalloc(n + 8, sizeof(*argv));
	argv[0] = "xentui";
	argv[1] = "backup";
	memcpy(argv + 2, args, n * sizeof(*argv));
	n += 2;
	if (config && access(config, F_OK) == 0) { /* a missing file: the child's default, which says nothing */
		argv[n++] = "-c";
		argv[n++] = config;
	}
	if (password)
		argv[n++] = "--password-env=XENTUI_BACKUP_CHILD_PASSWORD";
	env = pool_child_env(password, "XENTUI_BACKUP_CHILD_PASSWORD");
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		/* its own session: the terminal's signals are the interface's, and a run outlives it */
		setsid();
		signal(SIGPIPE, SIG_DFL);
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(efd, STDERR_FILENO);
		/* none of the interface's sockets and pipes: a long run would hold them open */
		close_fds_from(3);
		execve("/proc/self/exe", (char *const *)argv, env);
		dprintf(STDERR_FILENO, "cannot run xentui backup: %s\n", strerror(errno));
		_exit(127);
	}
	pool_child_env_free(env);
	free(argv);
	if (pid < 0) {
		app_message(app, MSG_ERROR, "Cannot start xentui backup: %s", strerror(errno));
		close(fd);
		close(efd);
		free(ud);
		return -1;
	}
	{
		struct child *c = xcalloc(1, sizeof(*c));
		c->pid = pid;
		c->out_fd = fd;
		c->err_fd = efd;
		c->done = done;
		c->ud = ud;
		c->next = children;
		children = c;
	}
	arm(app);
	return pid;
}
