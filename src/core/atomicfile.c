#include "atomicfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

void mkdirs_for(const char *path)
{
	char *p = xstrdup(path);

	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(p, 0700);
		*s = '/';
	}
	free(p);
}

/* The file a write really lands in: a symlink's target, followed. */
static char *write_target(const char *path)
{
	struct stat st;
	char *real;

	if (lstat(path, &st) != 0 || !S_ISLNK(st.st_mode))
		return xstrdup(path);
	real = realpath(path, NULL);
	if (real)
		return real;
	{
		/* a dangling link: write where it points */
		char buf[PATH_MAX];
		ssize_t n = readlink(path, buf, sizeof(buf) - 1);
		char *dir, *copy;
		if (n <= 0)
			return xstrdup(path);
		buf[n] = '\0';
		if (buf[0] == '/')
			return xstrdup(buf);
		copy = xstrdup(path);
		dir = dirname(copy);
		real = xasprintf("%s/%s", dir, buf);
		free(copy);
		return real;
	}
}

static bool write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static void fsync_folder_of(const char *path)
{
	char *copy = xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

bool atomic_write(const char *path, const void *data, size_t n, char **err)
{
	char *target = write_target(path);
	char *tmp = xasprintf("%s.XXXXXX", target);
	int fd, saved;
	bool ok;

	mkdirs_for(target);
	fd = mkstemp(tmp); /* 0600 from its first byte */
	if (fd < 0) {
		*err = xasprintf("cannot write %s: %s", target, strerror(errno));
		free(tmp);
		free(target);
		return false;
	}
	ok = write_all(fd, data, n) && fsync(fd) == 0;
	saved = errno;
	if (close(fd) != 0 && ok) {
		ok = false;
		saved = errno;
	}
	if (ok && rename(tmp, target) != 0) {
		ok = false;
		saved = errno;
	}
	if (ok)
		fsync_folder_of(target);
	else {
		*err = xasprintf("cannot write %s: %s", target, strerror(saved));
		unlink(tmp);
	}
	free(tmp);
	free(target);
	return ok;
}
