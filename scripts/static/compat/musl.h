/* What glibc declares and musl lacks, for the static build (static.mk
 * -includes it in every file): each as glibc defines it. */
#ifndef XENTUI_STATIC_MUSL_COMPAT_H
#define XENTUI_STATIC_MUSL_COMPAT_H

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
/* The system call, and where the kernel lacks it (before Linux 5.11, such as
 * dom0's 4.19) each open descriptor marked close-on-exec by hand. */
static inline int close_range(unsigned int first, unsigned int last, int flags)
{
	long max;
	if (syscall(SYS_close_range, first, last, flags) == 0 || !(flags & CLOSE_RANGE_CLOEXEC))
		return 0;
	max = sysconf(_SC_OPEN_MAX);
	for (long fd = first; fd <= (long)last && fd < (max > 0 ? max : 65536); fd++) {
		int fl = fcntl((int)fd, F_GETFD);
		if (fl >= 0)
			fcntl((int)fd, F_SETFD, fl | FD_CLOEXEC);
	}
	return 0;
}
#endif

/* glibc hands freed heap back to the kernel on request; musl's allocator
 * (mallocng) does so by itself */
static inline int malloc_trim(size_t pad)
{
	(void)pad;
	return 0;
}

#endif
