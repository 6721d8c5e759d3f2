/* CONNECT /console?ref=...|uuid=...&session_id=...: xapi's console proxy.
 * Answers 200 and then the socket carries RFB from the simulated console.
 * As in xapi, only the process serving the host the VM runs on serves its
 * console (the console's location names that host); a member checks the
 * client's session and reads the records from the master, whose database is
 * the pool's (a member's own is stale). */
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
#include "remote.h"
#include "rpc.h"
#include "sim.h"
#include "util.h"

struct console_job {
	int fd;
	char title[256];
	char os_line[256];
	char mode[32];  /* the VM's other_config:sim_console: which screen (console.h) */
	char font[64];  /* its other_config:sim_console_font */
	bool is_dom0;
};

static void serve(struct console_job *j)
{
	struct sim_console_info info = {j->title, NULL, j->is_dom0, j->os_line[0] ? j->os_line : NULL, j->mode,
					 j->font};

	sim_console_serve(j->fd, &info);
}

static void *serve_thread(void *arg)
{
	serve(arg);
	return NULL;
}

/* ---- on a member: the records come from the master ----------------------------------- */

/* method(session, arg) on the master; the value or NULL. *code is the
 * error code on failure ("TRANSPORT" when there was no answer). */
static struct xv *ask(struct remote *r, const char *method, const char *sid, const char *a, char *code, size_t n)
{
	struct xv *s = xv_string(sid), *x = a ? xv_string(a) : NULL, *v = NULL, *err = NULL;
	enum remote_status st = remote_call(r, method, &v, &err, s, x, NULL);

	xv_free(s);
	xv_free(x);
	if (st != REMOTE_OK) {
		const char *c = xv_str(xv_at(err, 0));
		snprintf(code, n, "%s", st == REMOTE_TRANSPORT ? "TRANSPORT" : c ? c : "");
		xv_free(err);
		xv_free(v);
		return NULL;
	}
	return v;
}

static const char *rstr(const struct xv *rec, const char *field)
{
	const char *s = xv_str(xv_struct_get(rec, field));

	return s ? s : "";
}

/* The console the query names, as find_console, with the client's session
 * checked by the master (it answers SESSION_INVALID for an unknown one). */
static int find_console_remote(const char *ref, const char *uuid, const char *sid, struct console_job *j)
{
	char master[128], code[64] = "", cref[REF_LEN + 8] = "";
	int port;
	struct remote *r;
	struct xv *v = NULL, *con = NULL, *vm = NULL, *host = NULL;
	bool is_dom0 = false;
	int status = 404;

	db_lock();
	snprintf(master, sizeof(master), "%s", sim.master_address);
	port = sim.master_port;
	db_unlock();
	r = remote_open(master, port, sim.tls);
	if (!r)
		return 500;
	/* a console by ref or uuid, else a VM's rfb console */
	if (uuid && (v = ask(r, "console.get_by_uuid", sid, uuid, code, sizeof(code))))
		snprintf(cref, sizeof(cref), "%s", xv_str(v) ? xv_str(v) : "");
	else if (ref && !uuid)
		snprintf(cref, sizeof(cref), "%s", ref);
	xv_free(v);
	v = NULL;
	if (strcmp(code, "SESSION_INVALID") == 0 || strcmp(code, "TRANSPORT") == 0)
		goto out;
	if (cref[0])
		con = ask(r, "console.get_record", sid, cref, code, sizeof(code));
	if (con) {
		vm = ask(r, "VM.get_record", sid, rstr(con, "VM"), code, sizeof(code));
	} else if (strcmp(code, "SESSION_INVALID") != 0 && strcmp(code, "TRANSPORT") != 0) {
		const char *vref = ref;
		if (uuid && (v = ask(r, "VM.get_by_uuid", sid, uuid, code, sizeof(code))))
			vref = xv_str(v);
		if (vref)
			vm = ask(r, "VM.get_record", sid, vref, code, sizeof(code));
		for (size_t i = 0; vm && i < xv_len(xv_struct_get(vm, "consoles")); i++) {
			struct xv *c = ask(r, "console.get_record", sid, xv_str(xv_at(xv_struct_get(vm, "consoles"), i)),
					   code, sizeof(code));
			if (c && strcmp(rstr(c, "protocol"), "rfb") == 0 && !con)
				con = c;
			else
				xv_free(c);
		}
	}
	if (!con || !vm)
		goto out;
	if (strcmp(rstr(vm, "power_state"), "Running") != 0) {
		status = 500;
		goto out;
	}
	host = ask(r, "host.get_record", sid, rstr(vm, "resident_on"), code, sizeof(code));
	if (!host || strcmp(rstr(host, "address"), sim.address) != 0) {
		status = 500;
		goto out;
	}
	xv_get_bool(xv_struct_get(vm, "is_control_domain"), &is_dom0);
	j->is_dom0 = is_dom0;
	snprintf(j->mode, sizeof(j->mode), "%s", rstr(xv_struct_get(vm, "other_config"), "sim_console"));
	snprintf(j->font, sizeof(j->font), "%s", rstr(xv_struct_get(vm, "other_config"), "sim_console_font"));
	if (is_dom0) {
		snprintf(j->title, sizeof(j->title), "%s", rstr(host, "hostname"));
		snprintf(j->os_line, sizeof(j->os_line), "XCP-ng release 8.3.0 (xenenterprise)");
	} else {
		struct xv *os;
		snprintf(j->title, sizeof(j->title), "%s", rstr(vm, "name_label"));
		xv_free(v);
		v = ask(r, "VM_guest_metrics.get_os_version", sid, rstr(vm, "guest_metrics"), code, sizeof(code));
		os = v ? xv_struct_get(v, "name") : NULL;
		if (xv_str(os))
			snprintf(j->os_line, sizeof(j->os_line), "%.*s", (int)strcspn(xv_str(os), "|"), xv_str(os));
	}
	fprintf(stderr, "xapi-sim: %s serves the console of '%s' (resident here; records from the master %s)\n",
		sim.address, j->title, master);
	status = 200;
out:
	if (strcmp(code, "SESSION_INVALID") == 0 && status != 200)
		status = 401;
	else if (strcmp(code, "TRANSPORT") == 0 && status != 200)
		status = 500;
	remote_close(r);
	xv_free(v);
	xv_free(con);
	xv_free(vm);
	xv_free(host);
	return status;
}

/* Finds the console (and its VM) the query names; fills the job. */
static int find_console(struct http_req *r, struct console_job *j)
{
	char *ref = http_param(r, "ref"), *uuid = http_param(r, "uuid"), *sid = http_param(r, "session_id");
	struct xv *err = NULL;
	struct obj *o = NULL, *vm = NULL;
	int status = 200;
	bool member;

	db_lock();
	member = sim.is_slave;
	db_unlock();
	if (member && sid) {
		status = find_console_remote(ref, uuid, sid, j);
		free(ref);
		free(uuid);
		free(sid);
		return status;
	}
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
	if (db_ref(vm, "resident_on") && strcmp(db_str(db_ref(vm, "resident_on"), "address"), sim.address) != 0) {
		/* another process runs it: xapi's handler fails there (500) */
		status = 500;
		goto out;
	}
	snprintf(j->title, sizeof(j->title), "%s", db_str(vm, "name_label"));
	j->is_dom0 = db_bool(vm, "is_control_domain");
	if (db_map_get(vm, "other_config", "sim_console"))
		snprintf(j->mode, sizeof(j->mode), "%s", db_map_get(vm, "other_config", "sim_console"));
	if (db_map_get(vm, "other_config", "sim_console_font"))
		snprintf(j->font, sizeof(j->font), "%s", db_map_get(vm, "other_config", "sim_console_font"));
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
