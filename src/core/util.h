/* Small helpers every part of xentui and xapi-sim uses: allocation that
 * never returns NULL, and a growable byte buffer. */
#ifndef XENTUI_UTIL_H
#define XENTUI_UTIL_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>

/* How many elements a true array (never a pointer) holds. */
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same for a caller that takes its own "...": never NULL. */
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* pthread_create with every signal blocked in the new thread: signals
 * (SIGWINCH, SIGCHLD, SIGTERM) are the main thread's to take, and one
 * taken by a helper would end its poll or select early (EINTR) and never
 * reach the main loop. 0 or pthread_create's error. */
int thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

/* A growable byte buffer; data is always NUL-terminated when non-NULL. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Appends sep unless b is still empty: the ", " between a list's items. */
void buf_sep(struct buf *b, const char *sep);

/* In a child about to exec: closes every descriptor from lowfd up, also on
 * kernels without close_range (before Linux 5.11, such as dom0's 4.19). */
void close_fds_from(int lowfd);
/* Hands the (NUL-terminated) contents to the caller and empties b. */
char *buf_steal(struct buf *b);

#endif
