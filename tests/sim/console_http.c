/* CONNECT /console?ref=...|uuid=...&session_id=...: xapi's console proxy.
 * Answers 200 and then the socket carries RFB from the simulated console. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "console.h"
#include "handlers.h"
#include "rpc.h"
#include "sim.h"
#include "util.h"

struct console_job {
	int fd;
	char title[256];
	char os_line[256];
	bool is_dom0;
};

static void serve(struct console_job *j)
{
	struct sim_console_info info = {j->title, NULL, j->is_dom0, j->os_line[0] ? j->os_line : NULL};

	sim_console_serve(j->fd, &info);
}

static void *serve_thread(void *arg)
{
	serve(arg);
	return NULL;
}

/* Finds the console (and its VM) the query names; fills the job. */
static int find_console(struct http_req *r, struct console_job *j)
{
	char *ref = http_param(r, "ref"), *uuid = http_param(r, "uuid"), *sid = http_param(r, "session_id");
	struct xv *err = NULL;
	struct obj *o = NULL, *vm = NULL;
	int status = 200;

	db_lock();
	if (!sid || !session_check(sid, &err)) {
		status = 401;
		goto out;
	}
	if (ref)
		o = db_find(ref);
	else if (uuid)
		o = db_by_uuid(NULL, uuid);
	if (o && strcmp(o->cls->name, "VM") == 0) {
		vm = o;
		o = NULL;
		for (size_t i = 0; i < xv_len(db_field(vm, "consoles")); i++) {
			struct obj *c = db_find(xv_str(xv_at(db_field(vm, "consoles"), i)));
			if (c && strcmp(db_str(c, "protocol"), "rfb") == 0)
				o = c;
		}
	} else if (o && strcmp(o->cls->name, "console") == 0) {
		vm = db_ref(o, "VM");
	} else {
		o = NULL;
	}
	if (!o || !vm) {
		status = 404;
		goto out;
	}
	if (strcmp(db_str(vm, "power_state"), "Running") != 0) {
		status = 500;
		goto out;
	}
	snprintf(j->title, sizeof(j->title), "%s", db_str(vm, "name_label"));
	j->is_dom0 = db_bool(vm, "is_control_domain");
	if (j->is_dom0) {
		struct obj *h = db_ref(vm, "resident_on");
		snprintf(j->title, sizeof(j->title), "%s", h ? db_str(h, "hostname") : "dom0");
		snprintf(j->os_line, sizeof(j->os_line), "XCP-ng release 8.3.0 (xenenterprise)");
	} else if (db_ref(vm, "guest_metrics")) {
		const char *name = db_map_get(db_ref(vm, "guest_metrics"), "os_version", "name");
		if (name)
			snprintf(j->os_line, sizeof(j->os_line), "%.*s", (int)strcspn(name, "|"), name);
	}
out:
	db_unlock();
	xv_free(err);
	free(ref);
	free(uuid);
	free(sid);
	return status;
}

/* Moves bytes between the TLS connection and the console's socket. */
static void pump(struct conn *c, int local)
{
	char buf[16384];

	if (c->rpos < c->rlen) {
		if (write(local, c->rbuf + c->rpos, c->rlen - c->rpos) < 0)
			return;
		c->rpos = c->rlen;
	}
	for (;;) {
		struct pollfd p[2] = {{c->fd, POLLIN, 0}, {local, POLLIN, 0}};
		ssize_t n;

		if (!(c->ssl && SSL_pending(c->ssl)) && poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if ((c->ssl && SSL_pending(c->ssl)) || (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			n = conn_read(c, buf, sizeof(buf));
			if (n <= 0 || write(local, buf, (size_t)n) != n)
				return;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(local, buf, sizeof(buf));
			if (n <= 0 || !conn_write(c, buf, (size_t)n))
				return;
		}
	}
}

bool handle_console(struct http_req *r)
{
	struct console_job j;
	int status;
	static const char ok[] = "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nCache-Control: no-cache, no-store\r\n\r\n";

	memset(&j, 0, sizeof(j));
	status = find_console(r, &j);
	if (status != 200) {
		const char *extra = status == 401 ? "WWW-Authenticate: Basic realm=\"xapi\"\r\n" : NULL;
		r->keep_alive = false;
		http_respond(r, status, "text/html", "", 0, extra);
		return false;
	}
	if (!conn_write(r->conn, ok, sizeof(ok) - 1))
		return false;
	if (!r->conn->ssl && r->conn->rpos == r->conn->rlen) {
		/* plain HTTP: the console takes the socket itself */
		j.fd = r->conn->fd;
		r->conn->fd = -1;
		serve(&j);
	} else {
		int sv[2];
		pthread_t th;

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			return false;
		j.fd = sv[1];
		if (pthread_create(&th, NULL, serve_thread, &j) != 0) {
			close(sv[0]);
			close(sv[1]);
			return false;
		}
		pump(r->conn, sv[0]);
		shutdown(sv[0], SHUT_RDWR);
		pthread_join(th, NULL);
		close(sv[0]);
	}
	r->conn->closed = true;
	return false;
}
