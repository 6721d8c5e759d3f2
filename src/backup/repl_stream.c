/* One disk from pool to pool: the export read on this thread, the import
 * written by a second thread on the target's own session, a socket pair
 * between them (bounded memory, nothing on disk). */
#include "repl.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

struct put_side {
	struct bx *dst;
	char *query;
	int fd;
	bool ok;
	char *err;
};

struct get_side {
	int fd;
	uint64_t bytes;
	repl_tick_fn tick;
	void *ud;
};

static ssize_t from_socket(void *buf, size_t n, void *ud, char **err)
{
	struct put_side *p = ud;

	for (;;) {
		ssize_t r = read(p->fd, buf, n);
		if (r >= 0)
			return r;
		if (errno != EINTR) {
			*err = xasprintf("the copy between the pools broke: %s", strerror(errno));
			return -1;
		}
	}
}

static void *put_thread(void *arg)
{
	struct put_side *p = arg;

	p->ok = bx_put(p->dst, p->query, 0, from_socket, p, &p->err);
	/* the export side sees EPIPE if the import gave up early */
	close(p->fd);
	return NULL;
}

static bool to_socket(const void *buf, size_t n, void *ud, char **err)
{
	struct get_side *g = ud;
	const char *c = buf;

	while (n) {
		ssize_t w = send(g->fd, c, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			*err = xstrdup("the target pool stopped taking the disk");
			return false;
		}
		c += w;
		n -= (size_t)w;
		g->bytes += (uint64_t)w;
	}
	return !g->tick || g->tick(g->bytes, g->ud, err);
}

static void drop(struct bx *b, char *task)
{
	bx_task_destroy(b, task);
	free(task);
}

/* The task's outcome after a whole transfer: true, or false with *err. A
 * failed transfer may never have reached its task: it is only dropped. */
static bool task_outcome(struct bx *b, char *task, int timeout_s, bool ok, char **err)
{
	char *terr = NULL, *res;

	if (!ok) {
		drop(b, task);
		return false;
	}
	res = bx_task_wait(b, task, timeout_s, &terr);
	if (!res && !*err) {
		*err = terr;
		terr = NULL;
	}
	free(terr);
	drop(b, task);
	ok = res != NULL;
	free(res);
	return ok;
}

bool repl_copy_disk(struct bx *src, const char *src_vdi, const char *base_uuid, struct bx *dst, const char *dst_vdi,
		    int timeout_s, repl_tick_fn tick, void *ud, uint64_t *bytes, char **err)
{
	struct put_side p = {.dst = dst};
	struct get_side g = {.tick = tick, .ud = ud};
	char *stask = NULL, *dtask = NULL, *q = NULL, *gerr = NULL;
	int sv[2];
	pthread_t th;
	bool ok;

	*err = NULL;
	*bytes = 0;
	if (!(stask = bx_task_create(src, "xentui replication: export a disk", err)))
		return false;
	if (!(dtask = bx_task_create(dst, "xentui replication: import a disk", err))) {
		drop(src, stask);
		return false;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		*err = xasprintf("cannot link the two transfers: %s", strerror(errno));
		drop(src, stask);
		drop(dst, dtask);
		return false;
	}
	p.fd = sv[1];
	g.fd = sv[0];
	p.query = xasprintf("/import_raw_vdi?vdi=%s&format=vhd&task_id=%s", dst_vdi, dtask);
	if (thread_start(&th, put_thread, &p) != 0) {
		close(sv[0]);
		close(sv[1]);
		free(p.query);
		*err = xstrdup("cannot start the import's thread");
		drop(src, stask);
		drop(dst, dtask);
		return false;
	}
	q = xasprintf("/export_raw_vdi?vdi=%s&format=vhd%s%s&task_id=%s", src_vdi, base_uuid ? "&base=" : "",
		      base_uuid ? base_uuid : "", stask);
	ok = bx_get(src, q, to_socket, &g, NULL, &gerr);
	/* the end of the stream: the import reads EOF and finishes */
	shutdown(sv[0], SHUT_WR);
	pthread_join(th, NULL);
	close(sv[0]);
	free(q);
	free(p.query);
	/* the import's own reason first: it is why the export's socket broke */
	if (!p.ok) {
		*err = p.err ? p.err : xstrdup("the target pool refused the disk");
		p.err = NULL;
		free(gerr);
		ok = false;
	} else if (!ok) {
		*err = gerr ? gerr : xstrdup("the export of the disk failed");
	}
	free(p.err);
	ok = task_outcome(src, stask, timeout_s, ok, err);
	ok = task_outcome(dst, dtask, timeout_s, ok, err);
	*bytes = g.bytes;
	return ok;
}
