/* A VNC console session: libvncclient in a thread, text recognised on the
 * main thread (see vnc.h for why). */
#include "vnc.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <poll.h>
#include <rfb/rfbclient.h>

#include "keymap.h"
#include "net.h"

#include "util.h"

struct vnc {
	pthread_t thread;
	int pipe[2];           /* thread writes a byte, the loop reads */
	char *hostport;        /* TCP: "HOST:PORT" */
	char *url, *path, *fp; /* xapi: where to connect, "/console?...&session_id=...", pinned cert */
	CURL *easy;            /* xapi: the tunnel, pumped by pump_thread */
	curl_socket_t tunnel;
	int pump_fd;           /* our end of the socketpair */
	bool pumping;
	pthread_t pump;
	int sock;              /* the RFB socket once known, -1 after cleanup (under mu) */
	bool stop;             /* vnc_close() asked (under mu) */
	rfbClient *client;     /* non-NULL while connected (under mu) */
	GotCopyRectProc lib_copy_rect;

	pthread_mutex_t mu;    /* guards everything below and the fields marked above */
	enum vnc_state state;
	char reason[256];
	int width, height;     /* of shared */
	uint32_t *shared;      /* copy of the framebuffer, 0x00RRGGBB */
	bool geometry_changed;
	int dx0, dy0, dx1, dy1; /* dirty rectangle, empty when dx0 >= dx1 */

	/* main thread only */
	int keymap; /* enum keymap_layout */
	struct fbtext *ft;
	char reason_seen[256];
};

static int vnc_tag;

static void wake(struct vnc *v)
{
	char c = 1;
	ssize_t n = write(v->pipe[1], &c, 1); /* non-blocking: a full pipe already wakes */

	(void)n;
}

static void set_state(struct vnc *v, enum vnc_state st, const char *reason)
{
	pthread_mutex_lock(&v->mu);
	v->state = st;
	if (reason)
		snprintf(v->reason, sizeof(v->reason), "%s", reason);
	pthread_mutex_unlock(&v->mu);
	wake(v);
}

/* Copies rectangle (x, y, w, h) of the library's framebuffer into shared. */
static void got_update(rfbClient *cl, int x, int y, int w, int h)
{
	struct vnc *v = rfbClientGetClientData(cl, &vnc_tag);
	const uint32_t *fb = (const uint32_t *)cl->frameBuffer;

	if (!fb || w <= 0 || h <= 0)
		return;
	pthread_mutex_lock(&v->mu);
	if (v->width != cl->width || v->height != cl->height || !v->shared) {
		free(v->shared);
		v->width = cl->width;
		v->height = cl->height;
		v->shared = xmalloc((size_t)v->width * (size_t)v->height * sizeof(uint32_t));
		v->geometry_changed = true;
		x = 0, y = 0, w = v->width, h = v->height;
	}
	if (x < 0) w += x, x = 0;
	if (y < 0) h += y, y = 0;
	if (x + w > v->width) w = v->width - x;
	if (y + h > v->height) h = v->height - y;
	for (int r = y; r < y + h; r++)
		memcpy(v->shared + (size_t)r * (size_t)v->width + (size_t)x, fb + (size_t)r * (size_t)cl->width + (size_t)x,
		       (size_t)w * sizeof(uint32_t));
	if (v->dx0 >= v->dx1) {
		v->dx0 = x, v->dy0 = y, v->dx1 = x + w, v->dy1 = y + h;
	} else {
		if (x < v->dx0) v->dx0 = x;
		if (y < v->dy0) v->dy0 = y;
		if (x + w > v->dx1) v->dx1 = x + w;
		if (y + h > v->dy1) v->dy1 = y + h;
	}
	pthread_mutex_unlock(&v->mu);
	wake(v);
}

static void got_copy_rect(rfbClient *cl, int sx, int sy, int w, int h, int dx, int dy)
{
	struct vnc *v = rfbClientGetClientData(cl, &vnc_tag);

	v->lib_copy_rect(cl, sx, sy, w, h, dx, dy);
	got_update(cl, dx, dy, w, h);
}

/* libvncclient's last log line in a turn of this session's thread: kept,
 * not printed (its default is stderr, which is the terminal). It says why a
 * message ended a session where no error does: "VNC server closed
 * connection", "Rect too large: 1024x768 at (0, 0)". */
static _Thread_local char last_log[160];

static void keep_line(char *out, size_t cap, const char *fmt, va_list ap)
{
	size_t n;

	vsnprintf(out, cap, fmt, ap);
	n = strlen(out);
	while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
}

static void quiet_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	keep_line(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
}

/* libvncclient's first error in a turn of this session's thread ("read (110:
 * Connection timed out)", "write") and errno as it reported it: why a
 * session ended, where that is more than the server closing the connection.
 * libvncclient only logs an orderly close; a close with bytes in flight
 * reaches it as a reset or a broken pipe, the same end to the person. */
static _Thread_local char last_error[160];
static _Thread_local int last_errno;

static void keep_error(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	if (last_error[0])
		return;
	va_start(ap, fmt);
	keep_line(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	last_errno = err;
}

/* Puts the reason for an end after libvncclient's error or log line in buf;
 * leaves buf alone when the server simply went away. */
static void end_reason(char *buf, size_t cap)
{
	bool wrote = strcmp(last_error, "write") == 0;
	bool socket_op = wrote || strncmp(last_error, "read", 4) == 0;

	if (socket_op && (last_errno == ECONNRESET || last_errno == EPIPE))
		return;
	if (wrote)
		snprintf(buf, cap, "connection lost: write: %s", strerror(last_errno));
	else if (last_error[0])
		snprintf(buf, cap, "connection lost: %s", last_error);
	else if (last_log[0] && strcmp(last_log, "VNC server closed connection") != 0)
		snprintf(buf, cap, "connection lost: %s", last_log);
}

/* A session that ended on a rectangle outside the screen libvncclient knows
 * of: QEMU changes its screen's size (the guest's BIOS, its kernel taking the
 * framebuffer) without a DesktopSize message when that happens as a viewer
 * connects, then draws at the new size. A new connection learns the size. */
static bool size_missed(void)
{
	return strncmp(last_log, "Rect too large", 14) == 0;
}

static int tcp_connect(const char *hostport, char *why, size_t cap)
{
	char *host = xstrdup(hostport), *port, *h = host;
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1, rc;

	port = strrchr(host, ':');
	if (!port || !port[1]) {
		snprintf(why, cap, "%s: expected HOST:PORT", hostport);
		free(host);
		return -1;
	}
	*port++ = '\0';
	if (*h == '[' && h[strlen(h) - 1] == ']') {
		h++;
		h[strlen(h) - 1] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(h, port, &hints, &res);
	if (rc) {
		snprintf(why, cap, "%s: %s", hostport, gai_strerror(rc));
		free(host);
		return -1;
	}
	snprintf(why, cap, "%s: no address", hostport);
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			snprintf(why, cap, "%s: %s", hostport, strerror(errno));
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	free(host);
	return fd;
}

/* ---- xapi's console proxy ------------------------------------------------ */

/* Waits until the tunnel's socket is ready (POLLIN or POLLOUT). */
static bool tunnel_wait(struct vnc *v, short ev, int ms)
{
	struct pollfd p = {.fd = v->tunnel, .events = ev};

	return poll(&p, 1, ms) > 0;
}

static bool tunnel_send_all(struct vnc *v, const char *p, size_t n)
{
	while (n) {
		size_t sent = 0;
		CURLcode rc = curl_easy_send(v->easy, p, n, &sent);

		if (rc == CURLE_AGAIN) {
			if (!tunnel_wait(v, POLLOUT, 10000))
				return false;
			continue;
		}
		if (rc != CURLE_OK)
			return false;
		p += sent;
		n -= sent;
	}
	return true;
}

static void *pump_thread(void *arg)
{
	struct vnc *v = arg;
	char buf[16384];

	for (;;) {
		struct pollfd p[2] = {{.fd = v->tunnel, .events = POLLIN}, {.fd = v->pump_fd, .events = POLLIN}};
		size_t got = 0;
		CURLcode rc;
		ssize_t n;

		/* TLS may hold decrypted bytes the socket no longer shows: drain first */
		rc = curl_easy_recv(v->easy, buf, sizeof(buf), &got);
		if (rc == CURLE_OK) {
			if (got == 0 || write(v->pump_fd, buf, got) != (ssize_t)got)
				break;
			continue;
		}
		if (rc != CURLE_AGAIN)
			break;
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents) {
			n = read(v->pump_fd, buf, sizeof(buf));
			if (n <= 0 || !tunnel_send_all(v, buf, (size_t)n))
				break;
		}
	}
	shutdown(v->pump_fd, SHUT_RDWR); /* libvncclient sees the end */
	return NULL;
}

/* Opens the tunnel and the socketpair; returns libvncclient's end or -1. */
static int xapi_connect(struct vnc *v, char *why, size_t cap)
{
	char head[4096], errbuf[CURL_ERROR_SIZE] = "";
	size_t have = 0, hend = 0;
	char *req;
	CURLcode rc;
	int sp[2];
	bool ok;

	v->easy = curl_easy_init();
	curl_easy_setopt(v->easy, CURLOPT_URL, v->url);
	curl_easy_setopt(v->easy, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(v->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(v->easy, CURLOPT_CONNECTTIMEOUT_MS, 15000L);
	curl_easy_setopt(v->easy, CURLOPT_ERRORBUFFER, errbuf);
	if (v->fp)
		net_pin_certificate(v->easy, v->fp);
	else
		net_system_cas(v->easy); /* the static build has no compiled-in CA path */
	rc = curl_easy_perform(v->easy);
	if (rc != CURLE_OK) {
		snprintf(why, cap, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(v->easy, CURLINFO_ACTIVESOCKET, &v->tunnel);
	req = xasprintf("CONNECT %s HTTP/1.0\r\n\r\n", v->path);
	ok = tunnel_send_all(v, req, strlen(req));
	free(req);
	if (!ok) {
		snprintf(why, cap, "sending CONNECT failed");
		return -1;
	}
	/* the reply's head, up to the blank line; RFB may follow in the same read */
	while (!hend) {
		size_t got = 0;

		if (have == sizeof(head) - 1) {
			snprintf(why, cap, "console reply too long");
			return -1;
		}
		rc = curl_easy_recv(v->easy, head + have, sizeof(head) - 1 - have, &got);
		if (rc == CURLE_AGAIN) {
			if (!tunnel_wait(v, POLLIN, 15000)) {
				snprintf(why, cap, "no answer to CONNECT");
				return -1;
			}
			continue;
		}
		if (rc != CURLE_OK || got == 0) {
			snprintf(why, cap, "connection closed during CONNECT");
			return -1;
		}
		have += got;
		head[have] = '\0';
		char *e = strstr(head, "\r\n\r\n");
		if (e)
			hend = (size_t)(e + 4 - head);
	}
	if (strncmp(head, "HTTP/1.", 7) != 0 || strncmp(head + 8, " 200", 4) != 0) {
		snprintf(why, cap, "console refused: %.*s", (int)strcspn(head, "\r\n"), head);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		snprintf(why, cap, "socketpair: %s", strerror(errno));
		return -1;
	}
	if (have > hend && write(sp[1], head + hend, have - hend) != (ssize_t)(have - hend)) {
		close(sp[0]);
		close(sp[1]);
		snprintf(why, cap, "socketpair: %s", strerror(errno));
		return -1;
	}
	v->pump_fd = sp[1];
	if (thread_start(&v->pump, pump_thread, v) != 0) {
		close(sp[0]);
		close(sp[1]);
		v->pump_fd = -1;
		snprintf(why, cap, "no thread");
		return -1;
	}
	v->pumping = true;
	return sp[0];
}

/* Ends an xapi tunnel: its pump, its socket's end, its connection. */
static void drop_tunnel(struct vnc *v)
{
	if (v->pumping) {
		shutdown(v->pump_fd, SHUT_RDWR); /* the pump's poll returns */
		pthread_join(v->pump, NULL);
		v->pumping = false;
	}
	if (v->pump_fd >= 0) {
		close(v->pump_fd);
		v->pump_fd = -1;
	}
	if (v->easy) {
		curl_easy_cleanup(v->easy);
		v->easy = NULL;
	}
}

/* One connection, made here unless v->sock is one already, to its end; why
 * says how it ended. True when it ended because the server's screen changed
 * size unannounced (size_missed). */
static bool run_session(struct vnc *v, char *why, size_t cap)
{
	char *argv[] = {(char *)"xentui", NULL};
	int argc = 1, fd;
	bool resized = false;
	rfbClient *cl;

	snprintf(why, cap, "connection closed");
	pthread_mutex_lock(&v->mu);
	fd = v->sock;
	pthread_mutex_unlock(&v->mu);
	if (fd < 0) {
		fd = v->url ? xapi_connect(v, why, cap) : tcp_connect(v->hostport, why, cap);
		if (fd < 0)
			return false;
		snprintf(why, cap, "connection closed"); /* what an end from now on means */
		pthread_mutex_lock(&v->mu);
		v->sock = fd;
		if (v->stop)
			shutdown(fd, SHUT_RDWR);
		pthread_mutex_unlock(&v->mu);
	}
	cl = rfbGetClient(8, 3, 4);
	cl->sock = fd;
	cl->listenSpecified = TRUE; /* already connected: the handshake runs on sock */
	cl->appData.enableJPEG = FALSE;
	cl->readTimeout = 30;
	/* 0x00RRGGBB as a little-endian uint32, what fbtext reads */
	cl->format.redShift = 16;
	cl->format.greenShift = 8;
	cl->format.blueShift = 0;
	cl->format.redMax = cl->format.greenMax = cl->format.blueMax = 255;
	cl->GotFrameBufferUpdate = got_update;
	v->lib_copy_rect = cl->GotCopyRect;
	cl->GotCopyRect = got_copy_rect;
	rfbClientSetClientData(cl, &vnc_tag, v);
	if (!rfbInitClient(cl, &argc, argv)) {
		/* rfbInitClient has freed the client and closed sock */
		pthread_mutex_lock(&v->mu);
		v->sock = -1;
		pthread_mutex_unlock(&v->mu);
		snprintf(why, cap, "RFB handshake failed");
		return false;
	}
	pthread_mutex_lock(&v->mu);
	v->client = cl;
	v->state = VNC_CONNECTED;
	pthread_mutex_unlock(&v->mu);
	got_update(cl, 0, 0, cl->width, cl->height); /* sizes shared, wakes the loop */
	for (;;) {
		int n;
		bool stop;

		pthread_mutex_lock(&v->mu);
		stop = v->stop;
		pthread_mutex_unlock(&v->mu);
		if (stop)
			break;
		last_error[0] = last_log[0] = '\0';
		n = cl->buffered > 0 ? 1 : WaitForMessage(cl, 500000);
		if (n < 0 || (n > 0 && !HandleRFBServerMessage(cl))) {
			end_reason(why, cap);
			resized = size_missed();
			break;
		}
	}
	pthread_mutex_lock(&v->mu);
	v->client = NULL;
	v->sock = -1;
	free(cl->frameBuffer); /* rfbClientCleanup leaves it to us */
	cl->frameBuffer = NULL;
	rfbClientCleanup(cl); /* closes sock */
	pthread_mutex_unlock(&v->mu);
	return resized;
}

/* Connections again after an unannounced size change: at most this many in
 * a minute, so a server that always draws outside its screen ends. */
#define RESIZE_RECONNECTS 5

static void *session_thread(void *arg)
{
	struct vnc *v = arg;
	char why[256];
	time_t since = 0;
	int again = 0;

	/* a session on a given socket (vnc_open_fd) has nowhere to connect again */
	while (run_session(v, why, sizeof(why)) && (v->url || v->hostport)) {
		time_t now = time(NULL);
		bool stop;

		if (now - since > 60) {
			since = now;
			again = 0;
		}
		pthread_mutex_lock(&v->mu);
		stop = v->stop;
		pthread_mutex_unlock(&v->mu);
		if (stop || ++again > RESIZE_RECONNECTS)
			break;
		drop_tunnel(v);
		set_state(v, VNC_CONNECTING, NULL);
	}
	pthread_mutex_lock(&v->mu);
	v->state = VNC_DISCONNECTED;
	snprintf(v->reason, sizeof(v->reason), "%s", v->stop ? "closed" : why);
	pthread_mutex_unlock(&v->mu);
	wake(v);
	return NULL;
}

/* url, path and fp are taken (xapi); hostport copied (TCP). */
static struct vnc *open_common(int fd, const char *hostport, char *url, char *path, char *fp,
			       const struct psf_font *font)
{
	struct vnc *v = xmalloc(sizeof(*v));

	memset(v, 0, sizeof(*v));
	v->url = url;
	v->path = path;
	v->fp = fp;
	rfbClientLog = quiet_log;
	rfbClientErr = keep_error;
	v->sock = fd;
	v->pump_fd = -1;
	v->hostport = hostport ? xstrdup(hostport) : NULL;
	v->state = VNC_CONNECTING;
	v->ft = fbtext_new(font);
	pthread_mutex_init(&v->mu, NULL);
	if (!v->ft || pipe2(v->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		v->pipe[0] = v->pipe[1] = -1;
		goto fail;
	}
	if (thread_start(&v->thread, session_thread, v) != 0)
		goto fail;
	return v;
fail:
	if (fd >= 0)
		close(fd);
	if (v->pipe[0] >= 0) {
		close(v->pipe[0]);
		close(v->pipe[1]);
	}
	fbtext_free(v->ft);
	pthread_mutex_destroy(&v->mu);
	free(v->hostport);
	free(v->url);
	free(v->path);
	free(v->fp);
	free(v);
	return NULL;
}

struct vnc *vnc_open_fd(int fd, const struct psf_font *font)
{
	return open_common(fd, NULL, NULL, NULL, NULL, font);
}

struct vnc *vnc_open_tcp(const char *hostport, const struct psf_font *font)
{
	return open_common(-1, hostport, NULL, NULL, NULL, font);
}

struct vnc *vnc_open_xapi(const char *base_url, const char *location, const char *session, const char *fingerprint,
			  const struct psf_font *font)
{
	const char *p = strstr(location, "://");
	const char *path = p ? p + 3 + strcspn(p + 3, "/") : location;
	char *url = xstrdup(base_url);
	size_t n = strlen(url);

	while (n && url[n - 1] == '/')
		url[--n] = '\0';
	return open_common(-1, NULL, url, xasprintf("%s&session_id=%s", path, session),
			   fingerprint ? xstrdup(fingerprint) : NULL, font);
}

int vnc_notify_fd(const struct vnc *v)
{
	return v->pipe[0];
}

size_t vnc_process(struct vnc *v)
{
	char buf[64];
	size_t changed = 0;

	while (read(v->pipe[0], buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&v->mu);
	if (v->geometry_changed) {
		fbtext_set_geometry(v->ft, v->width, v->height);
		v->geometry_changed = false;
	}
	if (v->dx0 < v->dx1 && v->shared && fbtext_rows(v->ft) > 0)
		changed = fbtext_update(v->ft, v->shared, (size_t)v->width, v->dx0, v->dy0, v->dx1 - v->dx0,
					v->dy1 - v->dy0);
	v->dx0 = v->dx1 = 0;
	snprintf(v->reason_seen, sizeof(v->reason_seen), "%s", v->reason);
	pthread_mutex_unlock(&v->mu);
	return changed;
}

enum vnc_state vnc_state(struct vnc *v, int *w, int *h, const char **reason)
{
	enum vnc_state st;

	pthread_mutex_lock(&v->mu);
	st = v->state;
	if (w)
		*w = v->width;
	if (h)
		*h = v->height;
	snprintf(v->reason_seen, sizeof(v->reason_seen), "%s", v->reason);
	pthread_mutex_unlock(&v->mu);
	if (reason)
		*reason = v->reason_seen;
	return st;
}

struct fbtext *vnc_text(struct vnc *v)
{
	return v->ft;
}

bool vnc_refresh(struct vnc *v)
{
	bool ok = false;

	pthread_mutex_lock(&v->mu);
	if (v->client && v->state == VNC_CONNECTED)
		ok = SendFramebufferUpdateRequest(v->client, 0, 0, v->client->width, v->client->height, FALSE);
	pthread_mutex_unlock(&v->mu);
	return ok;
}

bool vnc_picture(struct vnc *v, int pw, int ph, uint32_t *out)
{
	pthread_mutex_lock(&v->mu);
	if (!v->shared || v->width <= 0 || v->height <= 0 || pw <= 0 || ph <= 0) {
		pthread_mutex_unlock(&v->mu);
		return false;
	}
	/* each output pixel averages the source box it covers (at least one
	 * pixel), so thin lines and text stay visible when scaled down */
	for (int y = 0; y < ph; y++) {
		int y0 = (int)((long)y * v->height / ph), y1 = (int)((long)(y + 1) * v->height / ph);

		if (y1 <= y0)
			y1 = y0 + 1;
		for (int x = 0; x < pw; x++) {
			int x0 = (int)((long)x * v->width / pw), x1 = (int)((long)(x + 1) * v->width / pw);
			unsigned long r = 0, g = 0, b = 0, n = 0;

			if (x1 <= x0)
				x1 = x0 + 1;
			for (int sy = y0; sy < y1 && sy < v->height; sy++)
				for (int sx = x0; sx < x1 && sx < v->width; sx++) {
					uint32_t p = v->shared[(size_t)sy * (size_t)v->width + (size_t)sx];

					r += p >> 16 & 0xFF;
					g += p >> 8 & 0xFF;
					b += p & 0xFF;
					n++;
				}
			if (!n)
				n = 1;
			out[(size_t)y * (size_t)pw + (size_t)x] = (uint32_t)(r / n) << 16 | (uint32_t)(g / n) << 8 |
								   (uint32_t)(b / n);
		}
	}
	pthread_mutex_unlock(&v->mu);
	return true;
}

/* Sends one event; under v->mu with v->client set. A server that took
 * QEMU's extended key events gets the scancode too, when there is one. */
static bool send_event(struct vnc *v, uint32_t keysym, uint16_t code, bool down)
{
	if (code && SupportsClient2Server(v->client, rfbQemuEvent))
		return SendExtendedKeyEvent(v->client, keysym, code, down ? TRUE : FALSE);
	return SendKeyEvent(v->client, keysym, down ? TRUE : FALSE);
}

bool vnc_send_key(struct vnc *v, uint32_t keysym, bool down)
{
	bool ok = false;

	/* The socket is written here and read by the thread: RFB's two
	 * directions are independent, and the mutex keeps the client alive. */
	pthread_mutex_lock(&v->mu);
	if (v->client && v->state == VNC_CONNECTED)
		ok = send_event(v, keysym, keymap_code(v->keymap, keysym), down);
	pthread_mutex_unlock(&v->mu);
	return ok;
}

bool vnc_type(struct vnc *v, uint32_t cp)
{
	struct keymap_event ev[KEYMAP_MAX_EVENTS];
	size_t n;
	bool ok = false;

	pthread_mutex_lock(&v->mu);
	if (v->client && v->state == VNC_CONNECTED) {
		if (SupportsClient2Server(v->client, rfbQemuEvent)) {
			n = keymap_type(v->keymap, cp, ev);
			ok = true;
			for (size_t i = 0; i < n && ok; i++)
				ok = send_event(v, ev[i].keysym, ev[i].code, ev[i].down);
		} else {
			ok = SendKeyEvent(v->client, keymap_keysym(cp), TRUE) &&
			     SendKeyEvent(v->client, keymap_keysym(cp), FALSE);
		}
	}
	pthread_mutex_unlock(&v->mu);
	return ok;
}

bool vnc_scancodes(struct vnc *v)
{
	bool yes;

	pthread_mutex_lock(&v->mu);
	yes = v->client && SupportsClient2Server(v->client, rfbQemuEvent);
	pthread_mutex_unlock(&v->mu);
	return yes;
}

void vnc_set_keymap(struct vnc *v, int layout)
{
	v->keymap = layout >= 0 && layout < KEYMAP_COUNT ? layout : KEYMAP_US;
}

int vnc_keymap(const struct vnc *v)
{
	return v->keymap;
}

void vnc_close(struct vnc *v)
{
	if (!v)
		return;
	pthread_mutex_lock(&v->mu);
	v->stop = true;
	if (v->sock >= 0)
		shutdown(v->sock, SHUT_RDWR);
	pthread_mutex_unlock(&v->mu);
	pthread_join(v->thread, NULL);
	drop_tunnel(v);
	close(v->pipe[0]);
	close(v->pipe[1]);
	fbtext_free(v->ft);
	free(v->shared);
	pthread_mutex_destroy(&v->mu);
	free(v->hostport);
	free(v->url);
	free(v->path);
	free(v->fp);
	free(v);
}
