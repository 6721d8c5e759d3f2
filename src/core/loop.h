/* The one event loop: poll() over terminal input, every libcurl socket and
 * the signal pipe, plus timers. Nothing else in xentui may block. */
#ifndef XENTUI_LOOP_H
#define XENTUI_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct loop_timer;

enum {
	LOOP_IN = 1,
	LOOP_OUT = 2,
};

typedef void (*loop_fd_fn)(struct loop *l, int fd, int events, void *ud);
typedef void (*loop_timer_fn)(struct loop *l, void *ud);
typedef void (*loop_signal_fn)(struct loop *l, int sig, void *ud);

struct loop *loop_new(void);
void loop_free(struct loop *l);

/* Watches fd for LOOP_IN/LOOP_OUT; events 0 stops watching it. */
void loop_watch(struct loop *l, int fd, int events, loop_fd_fn fn, void *ud);
/* A one-shot timer; the handle is valid until it fires or is cancelled. */
struct loop_timer *loop_timer(struct loop *l, int64_t ms, loop_timer_fn fn, void *ud);
void loop_timer_cancel(struct loop *l, struct loop_timer *t);
/* Delivers sig through the loop (SIGWINCH, SIGINT, SIGTERM, SIGCHLD, ...). */
void loop_signal(struct loop *l, int sig, loop_signal_fn fn, void *ud);

/* Runs until loop_stop; returns the code given to it. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l, int code);
bool loop_running(const struct loop *l);

/* Monotonic milliseconds. */
int64_t loop_now(void);

#endif
