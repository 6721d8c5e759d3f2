#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

struct watch {
	int fd;
	int events;
	loop_fd_fn fn;
	void *ud;
};

struct loop_timer {
	int64_t due;
	loop_timer_fn fn;
	void *ud;
	struct loop_timer *next; /* sorted by due */
};

struct loop {
	struct watch *w;
	size_t nw, capw;
	struct loop_timer *timers;
	struct loop_sig {
		int sig;
		loop_signal_fn fn;
		void *ud;
	} *sigs; /* grown as handlers come; the signal handler never reads it */
	int nsigs;
	bool running;
	int code;
};

/* The signal handler only writes the number into a pipe the loop polls. */
static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
	unsigned char b = (unsigned char)sig;
	int saved = errno;

	if (write(sig_pipe[1], &b, 1) < 0) {
		/* the pipe is full: the loop will see the earlier bytes */
	}
	errno = saved;
}

int64_t loop_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct loop *loop_new(void)
{
	struct loop *l = xcalloc(1, sizeof(*l));

	if (sig_pipe[0] < 0 && pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		sig_pipe[0] = sig_pipe[1] = -1;
	return l;
}

void loop_free(struct loop *l)
{
	struct loop_timer *t, *n;

	if (!l)
		return;
	for (int i = 0; i < l->nsigs; i++)
		signal(l->sigs[i].sig, SIG_DFL);
	free(l->sigs);
	for (t = l->timers; t; t = n) {
		n = t->next;
		free(t);
	}
	free(l->w);
	free(l);
}

void loop_watch(struct loop *l, int fd, int events, loop_fd_fn fn, void *ud)
{
	for (size_t i = 0; i < l->nw; i++) {
		if (l->w[i].fd != fd)
			continue;
		if (!events) {
			l->w[i] = l->w[--l->nw];
			return;
		}
		l->w[i].events = events;
		l->w[i].fn = fn;
		l->w[i].ud = ud;
		return;
	}
	if (!events)
		return;
	if (l->nw == l->capw) {
		l->capw = l->capw ? l->capw * 2 : 16;
		l->w = xrealloc(l->w, l->capw * sizeof(*l->w));
	}
	l->w[l->nw++] = (struct watch){fd, events, fn, ud};
}

struct loop_timer *loop_timer(struct loop *l, int64_t ms, loop_timer_fn fn, void *ud)
{
	struct loop_timer *t = xcalloc(1, sizeof(*t));
	struct loop_timer **p;

	t->due = loop_now() + (ms < 0 ? 0 : ms);
	t->fn = fn;
	t->ud = ud;
	for (p = &l->timers; *p && (*p)->due <= t->due; p = &(*p)->next)
		;
	t->next = *p;
	*p = t;
	return t;
}

void loop_timer_cancel(struct loop *l, struct loop_timer *t)
{
	for (struct loop_timer **p = &l->timers; *p; p = &(*p)->next)
		if (*p == t) {
			*p = t->next;
			free(t);
			return;
		}
}

void loop_signal(struct loop *l, int sig, loop_signal_fn fn, void *ud)
{
	struct sigaction sa;

	l->sigs = xrealloc(l->sigs, (size_t)(l->nsigs + 1) * sizeof(*l->sigs));
	l->sigs[l->nsigs].sig = sig;
	l->sigs[l->nsigs].fn = fn;
	l->sigs[l->nsigs].ud = ud;
	l->nsigs++;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(sig, &sa, NULL);
}

void loop_stop(struct loop *l, int code)
{
	l->running = false;
	l->code = code;
}

bool loop_running(const struct loop *l)
{
	return l->running;
}

static void run_timers(struct loop *l)
{
	int64_t now = loop_now();

	while (l->timers && l->timers->due <= now && l->running) {
		struct loop_timer *t = l->timers;
		l->timers = t->next;
		t->fn(l, t->ud);
		free(t);
	}
}

static void drain_signals(struct loop *l)
{
	unsigned char b[64];
	ssize_t n;

	while ((n = read(sig_pipe[0], b, sizeof(b))) > 0)
		for (ssize_t i = 0; i < n; i++)
			for (int k = 0; k < l->nsigs; k++)
				if (l->sigs[k].sig == b[i])
					l->sigs[k].fn(l, b[i], l->sigs[k].ud);
}

int loop_run(struct loop *l)
{
	struct pollfd *p = NULL;
	size_t cap = 0;

	l->running = true;
	while (l->running) {
		size_t n = l->nw + 1;
		int timeout = -1;

		if (n > cap) {
			cap = n * 2;
			p = xrealloc(p, cap * sizeof(*p));
		}
		p[0] = (struct pollfd){sig_pipe[0], POLLIN, 0};
		for (size_t i = 0; i < l->nw; i++)
			p[i + 1] = (struct pollfd){l->w[i].fd,
						   (short)(((l->w[i].events & LOOP_IN) ? POLLIN : 0)
							   | ((l->w[i].events & LOOP_OUT) ? POLLOUT : 0)),
						   0};
		if (l->timers) {
			int64_t d = l->timers->due - loop_now();
			timeout = d < 0 ? 0 : d > 3600000 ? 3600000 : (int)d;
		}
		if (poll(p, n, timeout) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			drain_signals(l);
		/* callbacks may change the watch list: look each fd up again */
		for (size_t i = 1; i < n && l->running; i++) {
			int ev = 0;
			if (!p[i].revents)
				continue;
			if (p[i].revents & (POLLIN | POLLHUP | POLLERR))
				ev |= LOOP_IN;
			if (p[i].revents & (POLLOUT | POLLERR))
				ev |= LOOP_OUT;
			for (size_t k = 0; k < l->nw; k++)
				if (l->w[k].fd == p[i].fd) {
					l->w[k].fn(l, p[i].fd, ev, l->w[k].ud);
					break;
				}
		}
		run_timers(l);
	}
	free(p);
	return l->code;
}
