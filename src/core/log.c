#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static FILE *out;

bool log_open(const char *path, char **err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	if (fd < 0 || !(out = fdopen(fd, "a"))) {
		*err = xasprintf("cannot open the log %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	setvbuf(out, NULL, _IOLBF, 0);
	return true;
}

void log_close(void)
{
	if (out)
		fclose(out);
	out = NULL;
}

void log_msg(const char *fmt, ...)
{
	struct timespec ts;
	struct tm tm;
	char when[32];
	va_list ap;

	if (!out)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	fprintf(out, "%s.%03ld ", when, ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
}
