#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

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

/* pclose's wait status as a person reads it. */
static char *command_failure(int rc)
{
	if (rc < 0)
		return xasprintf("password_command could not be waited for: %s", strerror(errno));
	if (WIFEXITED(rc) && WEXITSTATUS(rc) == 127)
		return xasprintf("password_command exited with 127 (the shell found no such command)");
	if (WIFEXITED(rc))
		return xasprintf("password_command exited with %d", WEXITSTATUS(rc));
	if (WIFSIGNALED(rc))
		return xasprintf("password_command was killed by signal %d (%s)", WTERMSIG(rc),
				 strsignal(WTERMSIG(rc)));
	return xasprintf("password_command failed (wait status %d)", rc);
}

char *secret_from_command(const char *cmd, char **err)
{
	char line[1024];
	FILE *p = popen(cmd, "r");
	int rc;

	if (!p) {
		*err = xasprintf("cannot run password_command: %s", strerror(errno));
		return NULL;
	}
	if (!fgets(line, sizeof(line), p))
		line[0] = '\0';
	rc = pclose(p);
	if (rc != 0) {
		explicit_bzero(line, sizeof(line));
		*err = command_failure(rc);
		return NULL;
	}
	chomp(line);
	if (!line[0]) {
		*err = xasprintf("password_command printed no password");
		return NULL;
	}
	{
		char *s = xstrdup(line);
		explicit_bzero(line, sizeof(line));
		return s;
	}
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
