/* src/vnc.c: a console session in its own thread against xapi-sim's RFB
 * console (tests/sim/console.c), over a given socket and over TCP; the
 * text is read back through fbtext on the test's (main) thread, keys typed
 * with vnc_send_key() and vnc_type(), and closing mid-session or losing the server ends
 * the session cleanly. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <rfb/keysym.h>

#include "console.h"
#include "fbtext.h"
#include "keymap.h"
#include "psf.h"
#include "util.h"
#include "vnc.h"

#define WAIT_MS 15000 /* generous: ASan on a loaded machine */

static struct psf_font *font;

struct server {
	int fd;     /* socketpair end or listening socket */
	bool listen;
	pthread_t thread;
	struct sim_console_info info;
};

static void *serve_thread(void *arg)
{
	struct server *s = arg;
	int fd = s->fd;

	if (s->listen) {
		fd = accept(s->fd, NULL, NULL);
		if (fd < 0)
			return NULL;
	}
	sim_console_serve(fd, &s->info);
	return NULL;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Runs the "loop" (poll on the notify fd, vnc_process) until some row reads
 * want; returns that row or -1 when the time is up. */
static int wait_text(struct vnc *v, const char *want, int only_row)
{
	long deadline = now_ms() + WAIT_MS;
	char buf[512];

	for (;;) {
		struct pollfd p = {.fd = vnc_notify_fd(v), .events = POLLIN};
		struct fbtext *ft = vnc_text(v);

		for (int r = 0; r < fbtext_rows(ft); r++) {
			if (only_row >= 0 && r != only_row)
				continue;
			fbtext_row_text(ft, r, buf, sizeof(buf));
			if (!strcmp(buf, want))
				return r;
		}
		if (now_ms() > deadline) {
			print_message("# no row reads \"%s\"\n", want);
			return -1;
		}
		if (poll(&p, 1, 100) > 0)
			vnc_process(v);
	}
}

static bool wait_state(struct vnc *v, enum vnc_state want)
{
	long deadline = now_ms() + WAIT_MS;

	while (now_ms() < deadline) {
		struct pollfd p = {.fd = vnc_notify_fd(v), .events = POLLIN};

		if (vnc_state(v, NULL, NULL, NULL) == want)
			return true;
		if (poll(&p, 1, 100) > 0)
			vnc_process(v);
	}
	return vnc_state(v, NULL, NULL, NULL) == want;
}

static void type(struct vnc *v, const char *s)
{
	for (; *s; s++) {
		assert_true(vnc_send_key(v, (uint32_t)(unsigned char)*s, true));
		assert_true(vnc_send_key(v, (uint32_t)(unsigned char)*s, false));
	}
	assert_true(vnc_send_key(v, XK_Return, true));
	assert_true(vnc_send_key(v, XK_Return, false));
}

static void join_server(struct server *s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_MS / 1000;
	assert_int_equal(pthread_timedjoin_np(s->thread, NULL, &ts), 0);
}

static void test_session_over_fd(void **state)
{
	struct server s = {.info = {.title = "web01", .hostname = "web01"}};
	int fds[2], w = 0, h = 0, row;
	struct vnc *v;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
	s.fd = fds[0];
	assert_int_equal(pthread_create(&s.thread, NULL, serve_thread, &s), 0);
	v = vnc_open_fd(fds[1], font);
	assert_non_null(v);
	assert_true(wait_state(v, VNC_CONNECTED));
	assert_int_equal(vnc_state(v, &w, &h, NULL), VNC_CONNECTED);
	assert_int_equal(w, 720);
	assert_int_equal(h, 400);
	assert_int_equal(wait_text(v, "Debian GNU/Linux 12 web01 tty1", 0), 0);
	row = wait_text(v, "root@web01:~#", -1);
	assert_true(row > 0);
	type(v, "hostname");
	assert_int_equal(wait_text(v, "web01", row + 1), row + 1);
	assert_int_equal(wait_text(v, "root@web01:~#", row + 2), row + 2);

	/* vnc_type(): the simulated console (libvncserver, like xapi's vncterm)
	 * takes keysyms as characters, so no Shift is added and every
	 * character, shifted on a keyboard or not, arrives as itself */
	assert_false(vnc_scancodes(v));
	vnc_set_keymap(v, KEYMAP_DE);
	for (const char *c = "echo A!@#$%^&*()_+{}|:<>?~"; *c; c++)
		assert_true(vnc_type(v, (uint32_t)(unsigned char)*c));
	assert_true(vnc_send_key(v, XK_Return, true));
	assert_true(vnc_send_key(v, XK_Return, false));
	assert_int_equal(wait_text(v, "A!@#$%^&*()_+{}|:<>?~", row + 3), row + 3);
	assert_int_equal(wait_text(v, "root@web01:~#", row + 4), row + 4);
	vnc_set_keymap(v, KEYMAP_US);

	/* `exit`: getty shows a fresh banner and prompt, redrawn cell by cell */
	type(v, "exit");
	assert_int_equal(wait_text(v, "root@web01:~# hostname", row), row);
	assert_int_equal(wait_text(v, "root@web01:~#", row), row); /* was "... hostname" */
	assert_int_equal(wait_text(v, "", row + 1), row + 1);      /* was "web01" */
	vnc_close(v);
	join_server(&s);
}

/* A socket listening on a free loopback port; its "127.0.0.1:PORT" in hostport. */
static int listen_loopback(char *hostport, size_t cap)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(hostport, cap, "127.0.0.1:%d", ntohs(sa.sin_port));
	return fd;
}

static void test_session_over_tcp_and_close(void **state)
{
	struct server s = {.listen = true, .info = {.title = "db01", .hostname = "db01"}};
	char hostport[64];
	struct vnc *v;
	int row;

	s.fd = listen_loopback(hostport, sizeof(hostport));
	assert_int_equal(pthread_create(&s.thread, NULL, serve_thread, &s), 0);

	v = vnc_open_tcp(hostport, font);
	assert_non_null(v);
	row = wait_text(v, "root@db01:~#", -1);
	assert_true(row > 0);
	type(v, "echo hi there");
	assert_int_equal(wait_text(v, "hi there", row + 1), row + 1);
	vnc_close(v); /* mid-session: the server sees the viewer go */
	join_server(&s);
	close(s.fd);
}

/* A relay between the simulated console and the session that can drop the
 * session's side mid-way, as a host going away does. */
struct relay {
	int sim, viewer, kill[2];
	pthread_t thread;
};

static void *relay_thread(void *arg)
{
	struct relay *r = arg;
	char buf[65536];

	for (;;) {
		struct pollfd p[3] = {{.fd = r->sim, .events = POLLIN},
				      {.fd = r->viewer, .events = POLLIN},
				      {.fd = r->kill[0], .events = POLLIN}};

		if (poll(p, 3, -1) < 0 || p[2].revents)
			break;
		for (int i = 0; i < 2; i++)
			if (p[i].revents) {
				ssize_t n = read(p[i].fd, buf, sizeof(buf));

				if (n <= 0 || write(p[1 - i].fd, buf, (size_t)n) != n)
					goto out;
			}
	}
out:
	close(r->viewer); /* the session sees its server go */
	close(r->sim);    /* and the simulated console its viewer */
	return NULL;
}

static void test_server_drops_mid_session(void **state)
{
	struct server s = {.info = {.title = "app02", .hostname = "app02"}};
	struct relay r;
	int a[2], b[2];
	struct vnc *v;
	const char *reason;
	char c = 1;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b), 0);
	assert_int_equal(pipe(r.kill), 0);
	s.fd = a[0];
	r.sim = a[1];
	r.viewer = b[0];
	assert_int_equal(pthread_create(&s.thread, NULL, serve_thread, &s), 0);
	assert_int_equal(pthread_create(&r.thread, NULL, relay_thread, &r), 0);
	v = vnc_open_fd(b[1], font);
	assert_true(wait_text(v, "root@app02:~#", -1) > 0);
	assert_int_equal(write(r.kill[1], &c, 1), 1);
	assert_true(wait_state(v, VNC_DISCONNECTED));
	vnc_state(v, NULL, NULL, &reason);
	/* the relay closes its end whether or not it has read all the session
	 * sent (a reset, or a broken pipe on the session's next request): to
	 * the person watching, the same end */
	assert_string_equal(reason, "connection closed");
	assert_false(vnc_send_key(v, 'x', true));
	/* the last screen stays readable after the drop */
	assert_true(wait_text(v, "root@app02:~#", -1) > 0);
	vnc_close(v);
	pthread_join(r.thread, NULL);
	join_server(&s);
	close(r.kill[0]);
	close(r.kill[1]);
}

/* A server that does what QEMU does when its guest changes video mode as a
 * viewer connects: announces a 720x400 screen, then draws a 1024x768
 * rectangle with no DesktopSize message before it. Its first `liars`
 * connections get that; the next one the simulated console. */
struct resizing {
	int fd, liars, accepted;
	pthread_t thread;
	struct sim_console_info info;
};

static bool read_n(int fd, void *p, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t k = read(fd, (char *)p + got, n - got);
		if (k <= 0)
			return false;
		got += (size_t)k;
	}
	return true;
}

static void lie_about_size(int fd)
{
	static const unsigned char security[] = {1, 1}, ok[] = {0, 0, 0, 0};
	static const unsigned char init[] = {
		0x02, 0xd0, 0x01, 0x90,			       /* 720 x 400 */
		32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0, /* 0x00RRGGBB */
		0, 0, 0, 4, 'Q', 'E', 'M', 'U'};
	/* one raw rectangle, 1024x768 at (0, 0) */
	static const unsigned char update[] = {0, 0, 0, 1, 0, 0, 0, 0, 0x04, 0x00, 0x03, 0x00, 0, 0, 0, 0};
	char version[12], c;

	if (write(fd, "RFB 003.008\n", 12) != 12 || !read_n(fd, version, 12)
	    || write(fd, security, sizeof(security)) != (ssize_t)sizeof(security) || !read_n(fd, &c, 1)
	    || write(fd, ok, sizeof(ok)) != (ssize_t)sizeof(ok) || !read_n(fd, &c, 1)
	    || write(fd, init, sizeof(init)) != (ssize_t)sizeof(init)
	    || write(fd, update, sizeof(update)) != (ssize_t)sizeof(update))
		return;
	while (read(fd, version, sizeof(version)) > 0)
		; /* until the viewer hangs up */
}

static void *resizing_thread(void *arg)
{
	struct resizing *r = arg;

	for (;;) {
		struct pollfd p = {.fd = r->fd, .events = POLLIN};
		int fd;

		if (poll(&p, 1, 3000) <= 0 || (fd = accept(r->fd, NULL, NULL)) < 0)
			break; /* nobody came again */
		if (r->accepted++ < r->liars) {
			lie_about_size(fd);
			close(fd);
			continue;
		}
		sim_console_serve(fd, &r->info);
		break;
	}
	return NULL;
}

static void test_screen_resized_unannounced(void **state)
{
	struct resizing r = {.liars = 2, .info = {.title = "boot01", .hostname = "boot01"}};
	char hostport[64];
	const char *reason;
	struct vnc *v;

	/* the session connects again, learns the screen's size and goes on */
	r.fd = listen_loopback(hostport, sizeof(hostport));
	assert_int_equal(pthread_create(&r.thread, NULL, resizing_thread, &r), 0);
	v = vnc_open_tcp(hostport, font);
	assert_true(wait_text(v, "root@boot01:~#", -1) > 0);
	assert_int_equal(vnc_state(v, NULL, NULL, NULL), VNC_CONNECTED);
	vnc_close(v);
	pthread_join(r.thread, NULL);
	assert_int_equal(r.accepted, 3);
	close(r.fd);

	/* a server that always does it: a few tries, then the reason */
	r = (struct resizing){.liars = 100};
	r.fd = listen_loopback(hostport, sizeof(hostport));
	assert_int_equal(pthread_create(&r.thread, NULL, resizing_thread, &r), 0);
	v = vnc_open_tcp(hostport, font);
	assert_true(wait_state(v, VNC_DISCONNECTED));
	vnc_state(v, NULL, NULL, &reason);
	assert_string_equal(reason, "connection lost: Rect too large: 1024x768 at (0, 0)");
	vnc_close(v);
	pthread_join(r.thread, NULL);
	assert_int_equal(r.accepted, 6); /* the first and five more */
	close(r.fd);
}

static void test_tcp_refused(void **state)
{
	char hostport[64];
	const char *reason;
	struct vnc *v;

	/* a port just listened on and closed again: nobody listens there */
	close(listen_loopback(hostport, sizeof(hostport)));
	v = vnc_open_tcp(hostport, font);
	assert_non_null(v);
	assert_true(wait_state(v, VNC_DISCONNECTED));
	vnc_state(v, NULL, NULL, &reason);
	assert_non_null(strstr(reason, "refused"));
	vnc_close(v);

	v = vnc_open_tcp("no-port-here", font);
	assert_true(wait_state(v, VNC_DISCONNECTED));
	vnc_state(v, NULL, NULL, &reason);
	assert_non_null(strstr(reason, "HOST:PORT"));
	vnc_close(v);
}

static int setup(void **state)
{
	char *err = NULL;

	font = psf_load_console_font(&err);
	if (!font) {
		print_error("no console font: %s\n", err);
		free(err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	psf_free(font);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_over_fd),
		cmocka_unit_test(test_session_over_tcp_and_close),
		cmocka_unit_test(test_server_drops_mid_session),
		cmocka_unit_test(test_screen_resized_unannounced),
		cmocka_unit_test(test_tcp_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
