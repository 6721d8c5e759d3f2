/* xapi-sim's simulated text console (tests/sim/console.c) seen through a real
 * VNC client: libvncclient on one end of a socketpair, sim_console_serve() in
 * a thread on the other. The test reads the text back from the framebuffer by
 * matching every 9x16 cell against the console font (src/psf.h), as a user
 * reads the screen, and asserts on that text. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <rfb/keysym.h>
#include <rfb/rfbclient.h>

#include "console.h"
#include "psf.h"
#include "util.h"

#define ROWS SIM_CONSOLE_ROWS
#define COLS SIM_CONSOLE_COLS
#define WAIT_MS 15000 /* generous: ASan on a loaded CI machine */

struct session {
	int fds[2];
	pthread_t thread;
	bool thread_started;
	atomic_bool served; /* sim_console_serve() has returned */
	struct sim_console_info info;
	rfbClient *client;
	long update_area; /* pixels in update rectangles since last reset */
	long copy_area;   /* of which CopyRect (no pixel data) */
	GotCopyRectProc lib_copy_rect;
	char text[ROWS][COLS * 4 + 1]; /* decoded screen, UTF-8, trailing blanks cut */
	int cursor_row, cursor_col;    /* -1 if no cursor seen */
	char err[512];
};

static struct psf_font *font;
static int client_tag; /* its address tags our session in the rfbClient */

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static bool failf(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records why a step failed (helpers run in threads too, where cmocka's
 * asserts must not be used) and returns false. */
static bool failf(struct session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return false;
}

/* ---- reading the screen ------------------------------------------------- */

static bool pixel_on(const rfbClient *cl, int x, int y)
{
	uint32_t p;

	memcpy(&p, cl->frameBuffer + ((size_t)y * cl->width + x) * 4, 4);
	return (p & 0xFFFFFF) != 0; /* the console background is black */
}

/* The glyph rows of cell (r, c): 8 pixels a row; the 9th column separately. */
static void cell_bits(const rfbClient *cl, int r, int c, unsigned char rows[16], unsigned char ninth[16])
{
	int x, y;

	for (y = 0; y < 16; y++) {
		rows[y] = 0;
		for (x = 0; x < 8; x++)
			if (pixel_on(cl, c * 9 + x, r * 16 + y))
				rows[y] |= (unsigned char)(0x80 >> x);
		ninth[y] = pixel_on(cl, c * 9 + 8, r * 16 + y);
	}
}

/* The code point whose glyph matches the first nrows rows: ASCII first, and
 * line graphics exactly when the 9th column is lit (VGA's rule), since some
 * glyphs serve both (U+2014 and U+2500). */
static uint32_t match_glyph(const unsigned char rows[16], size_t nrows, bool line_graphics)
{
	uint32_t cp;
	unsigned g;

	for (cp = 0x20; cp < 0x7F && !line_graphics; cp++) {
		int gi = psf_glyph_for(font, cp);

		if (gi >= 0 && !memcmp(psf_glyph(font, (unsigned)gi), rows, nrows))
			return cp;
	}
	for (g = 0; g < font->count; g++) {
		cp = psf_codepoint_for(font, g);
		if (cp != PSF_NO_CODEPOINT && psf_vga_line_graphics(cp) == line_graphics &&
		    !memcmp(psf_glyph(font, g), rows, nrows))
			return cp;
	}
	return '?';
}

static void put_utf8(char **p, uint32_t cp)
{
	if (cp < 0x80) {
		*(*p)++ = (char)cp;
	} else if (cp < 0x800) {
		*(*p)++ = (char)(0xC0 | cp >> 6);
		*(*p)++ = (char)(0x80 | (cp & 0x3F));
	} else {
		*(*p)++ = (char)(0xE0 | (cp >> 12 & 0x0F));
		*(*p)++ = (char)(0x80 | (cp >> 6 & 0x3F));
		*(*p)++ = (char)(0x80 | (cp & 0x3F));
	}
}

/* A cell with the underline cursor has scan lines 14-15 lit across all nine
 * columns (no glyph lights the 9th column there but line graphics); the
 * character is then read from the rows above it. */
static uint32_t decode_cell(struct session *s, int r, int c)
{
	unsigned char rows[16], ninth[16];

	bool lit_ninth = false;
	int y;

	cell_bits(s->client, r, c, rows, ninth);
	for (y = 0; y < 14; y++)
		lit_ninth |= ninth[y];
	if (rows[14] == 0xFF && rows[15] == 0xFF && ninth[14] && ninth[15]) {
		uint32_t cp = match_glyph(rows, 14, lit_ninth);

		if (cp != '?') {
			s->cursor_row = r;
			s->cursor_col = c;
			return cp;
		}
	}
	return match_glyph(rows, 16, lit_ninth || ninth[14] || ninth[15]);
}

static void decode_screen(struct session *s)
{
	int r, c;

	s->cursor_row = s->cursor_col = -1;
	for (r = 0; r < ROWS; r++) {
		char *p = s->text[r], *end = p;

		for (c = 0; c < COLS; c++) {
			uint32_t cp = decode_cell(s, r, c);

			put_utf8(&p, cp);
			if (cp != ' ')
				end = p;
		}
		*end = '\0';
	}
}

static void dump_screen(const struct session *s)
{
	int r;

	print_message("# screen (cursor at %d,%d):\n", s->cursor_row, s->cursor_col);
	for (r = 0; r < ROWS; r++)
		print_message("# %2d|%s\n", r, s->text[r]);
}

/* ---- a session ---------------------------------------------------------- */

static void *serve_thread(void *arg)
{
	struct session *s = arg;

	sim_console_serve(s->fds[0], &s->info);
	atomic_store(&s->served, true);
	return NULL;
}

static void got_update(rfbClient *cl, int x, int y, int w, int h)
{
	struct session *s = rfbClientGetClientData(cl, &client_tag);

	s->update_area += (long)w * h;
}

static void got_copy_rect(rfbClient *cl, int sx, int sy, int w, int h, int dx, int dy)
{
	struct session *s = rfbClientGetClientData(cl, &client_tag);

	s->copy_area += (long)w * h;
	s->lib_copy_rect(cl, sx, sy, w, h, dx, dy);
}

static bool session_start(struct session *s, const char *title, const char *hostname, bool dom0)
{
	char *argv[] = {(char *)"test_sim_console", NULL};
	int argc = 1;

	memset(s, 0, sizeof(*s));
	s->info.title = title;
	s->info.hostname = hostname;
	s->info.is_dom0 = dom0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s->fds) < 0)
		return failf(s, "socketpair: %s", strerror(errno));
	if (pthread_create(&s->thread, NULL, serve_thread, s) != 0) {
		close(s->fds[0]);
		close(s->fds[1]);
		return failf(s, "pthread_create failed");
	}
	s->thread_started = true;

	s->client = rfbGetClient(8, 3, 4);
	s->client->sock = s->fds[1];
	/* "Already connected": rfbInitClient connects only when listenSpecified
	 * is false; with it set, it runs the handshake on client->sock. */
	s->client->listenSpecified = TRUE;
	s->client->appData.enableJPEG = FALSE; /* lossless, or glyphs would not match */
	s->client->readTimeout = 10;
	s->client->GotFrameBufferUpdate = got_update;
	s->lib_copy_rect = s->client->GotCopyRect;
	s->client->GotCopyRect = got_copy_rect;
	rfbClientSetClientData(s->client, &client_tag, s);
	if (!rfbInitClient(s->client, &argc, argv)) {
		s->client = NULL; /* rfbInitClient freed it and closed the socket */
		return failf(s, "rfbInitClient failed on the socketpair");
	}
	if (s->client->width != SIM_CONSOLE_WIDTH || s->client->height != SIM_CONSOLE_HEIGHT)
		return failf(s, "framebuffer is %dx%d, want 720x400", s->client->width, s->client->height);
	return true;
}

typedef bool (*screen_pred)(struct session *s, const void *arg);

/* Handles server messages until the decoded screen satisfies pred. Messages
 * libvncclient already buffered are handled before waiting on the socket,
 * because select() cannot see them. */
static bool pump_until(struct session *s, screen_pred pred, const void *arg, const char *what)
{
	long deadline = now_ms() + WAIT_MS;

	for (;;) {
		int n;

		decode_screen(s);
		if (pred(s, arg))
			return true;
		if (now_ms() > deadline)
			return failf(s, "timed out waiting for %s", what);
		n = s->client->buffered > 0 ? 1 : WaitForMessage(s->client, 50000);
		if (n < 0)
			return failf(s, "WaitForMessage: %s", strerror(errno));
		if (n > 0 && !HandleRFBServerMessage(s->client))
			return failf(s, "connection lost while waiting for %s", what);
	}
}

static bool send_key(struct session *s, uint32_t ks)
{
	if (!SendKeyEvent(s->client, ks, TRUE) || !SendKeyEvent(s->client, ks, FALSE))
		return failf(s, "SendKeyEvent failed");
	return true;
}

static bool send_key_down(struct session *s, uint32_t ks, bool down)
{
	if (!SendKeyEvent(s->client, ks, down ? TRUE : FALSE))
		return failf(s, "SendKeyEvent failed");
	return true;
}

static bool type_text(struct session *s, const char *text)
{
	for (; *text; text++)
		if (!send_key(s, *text == '\n' ? XK_Return : (unsigned char)*text))
			return false;
	return true;
}

/* Closes the viewer and checks the server thread ends (and, under ASan, that
 * it freed everything). Safe to call on a half-started or ended session. */
static bool session_end(struct session *s)
{
	struct timespec ts;
	int rc;

	if (s->client) {
		free(s->client->frameBuffer); /* rfbClientCleanup leaves it to us */
		rfbClientCleanup(s->client);  /* closes fds[1] */
		s->client = NULL;
	}
	if (!s->thread_started)
		return true;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_MS / 1000;
	rc = pthread_timedjoin_np(s->thread, NULL, &ts);
	s->thread_started = false;
	if (rc != 0)
		return failf(s, "server thread still running after the viewer closed (%s)", strerror(rc));
	if (!atomic_load(&s->served))
		return failf(s, "server thread ended without returning from sim_console_serve");
	return true;
}

/* ---- predicates on the decoded screen ----------------------------------- */

static int last_nonblank_row(const struct session *s)
{
	int r;

	for (r = ROWS - 1; r >= 0; r--)
		if (s->text[r][0])
			return r;
	return -1;
}

/* The bottom line in use reads exactly text (a prompt, maybe with what was
 * typed after it) and the cursor sits right after it. */
static bool at_prompt(struct session *s, const void *arg)
{
	const char *text = arg;
	int r = last_nonblank_row(s);
	size_t n = strlen(text), t = n;

	while (t > 0 && text[t - 1] == ' ')
		t--; /* decoded lines have trailing blanks cut */
	return r >= 0 && strlen(s->text[r]) == t && !strncmp(s->text[r], text, t) && s->cursor_row == r &&
	       s->cursor_col == (int)n;
}

struct after {
	const char *command_line; /* a whole screen line, e.g. "root@web01:~# hostname" */
	const char *answer;       /* the line right below it */
	const char *prompt;       /* and a fresh prompt after the answer */
};

static bool answered(struct session *s, const void *arg)
{
	const struct after *a = arg;
	int r;

	for (r = ROWS - 3; r >= 0; r--)
		if (!strcmp(s->text[r], a->command_line))
			return !strcmp(s->text[r + 1], a->answer) && at_prompt(s, a->prompt) &&
			       last_nonblank_row(s) == r + 2;
	return false;
}

/* "prompt abc^C" above a fresh prompt. */
static bool after_ctrl_c(struct session *s, const void *arg)
{
	const char *prompt = arg;
	char want[128];
	int r = last_nonblank_row(s);

	snprintf(want, sizeof(want), "%sabc^C", prompt);
	return r >= 1 && at_prompt(s, prompt) && !strcmp(s->text[r - 1], want);
}

/* Presses Return on a line that reads prompt + line and waits for answer
 * below it and a new prompt. */
static bool enter_expect(struct session *s, const char *prompt, const char *line, const char *answer)
{
	char full[256];
	struct after a = {full, answer, prompt};

	snprintf(full, sizeof(full), "%s%s", prompt, line);
	if (!send_key(s, XK_Return))
		return false;
	return pump_until(s, answered, &a, answer);
}

static bool run_command(struct session *s, const char *prompt, const char *typed, const char *answer)
{
	return type_text(s, typed) && enter_expect(s, prompt, typed, answer);
}

/* On failure: show the screen, end the session (so its thread does not
 * outlive the test) and fail with the recorded reason. */
#define CHECK(s, expr)                                                   \
	do {                                                             \
		if (!(expr)) {                                           \
			char why_[sizeof((s)->err)];                     \
			memcpy(why_, (s)->err, sizeof(why_));            \
			dump_screen(s);                                  \
			session_end(s);                                  \
			fail_msg("%s: %s", #expr, why_);                 \
		}                                                        \
	} while (0)

/* ---- tests -------------------------------------------------------------- */

static void test_font(void **state)
{
	char *err = NULL;
	struct psf_font *none = psf_load("/nonexistent/font.psf.gz", &err);
	int a = psf_glyph_for(font, 'A');

	assert_int_equal(font->width, 8);
	assert_int_equal(font->height, 16);
	assert_true(a >= 0);
	assert_int_equal(psf_codepoint_for(font, (unsigned)a), 'A');
	assert_memory_not_equal(psf_glyph(font, (unsigned)a), psf_glyph(font, (unsigned)psf_glyph_for(font, ' ')), 16);
	assert_int_equal(psf_glyph_for(font, 0x10FFFF), -1);
	assert_true(psf_glyph_for(font, 0x2500) >= 0); /* box drawing, for the 9th column */
	assert_null(none);
	assert_non_null(err);
	assert_non_null(strstr(err, "/nonexistent/font.psf.gz"));
	free(err);
}

/* A hand-made PSF2 font: 2 glyphs of 3x2 pixels, 'x' -> 0, 'y' and U+00E9 ->
 * 1, and a combining sequence (e + U+0301) that must not map anything. */
static void test_psf2_parse(void **state)
{
	static const unsigned char data[] = {
		0x72, 0xb5, 0x4a, 0x86, 0, 0, 0, 0, 32, 0, 0, 0, 1, 0, 0, 0,
		2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0,
		0xA0, 0x40, 0x40, 0xA0,                         /* glyphs */
		'x', 0xFF, 'y', 0xC3, 0xA9, 0xFE, 'e', 0xCC, 0x81, 0xFF, /* table */
	};
	char *err = NULL;
	struct psf_font *f = psf_parse(data, sizeof(data), &err);

	assert_non_null(f);
	assert_null(err);
	assert_int_equal(f->width, 3);
	assert_int_equal(f->height, 2);
	assert_int_equal(f->count, 2);
	assert_int_equal(psf_glyph_for(f, 'x'), 0);
	assert_int_equal(psf_glyph_for(f, 'y'), 1);
	assert_int_equal(psf_glyph_for(f, 0xE9), 1);
	assert_int_equal(psf_glyph_for(f, 'e'), -1);
	assert_int_equal(psf_codepoint_for(f, 1), 'y');
	assert_true(psf_pixel(f, 0, 0, 0) && !psf_pixel(f, 0, 1, 0) && psf_pixel(f, 0, 2, 0));
	assert_true(psf_pixel(f, 1, 1, 0) && !psf_pixel(f, 1, 0, 0));
	psf_free(f);

	/* Truncated: the glyphs are cut off. */
	assert_null(psf_parse(data, 34, &err));
	assert_non_null(err);
	free(err);
}

static void test_vm_prompt_and_hostname(void **state)
{
	struct session s;
	int x, y;
	long area;

	CHECK(&s, session_start(&s, "web01", "web01", false));
	CHECK(&s, pump_until(&s, at_prompt, "root@web01:~# ", "the prompt"));
	CHECK(&s, !strcmp(s.text[0], "Debian GNU/Linux 12 web01 tty1"));
	/* Text is VGA light grey (0xAAAAAA) on black. */
	for (y = 0; y < 16; y++)
		for (x = 0; x < 9; x++)
			if (pixel_on(s.client, x, y)) {
				uint32_t p;

				memcpy(&p, s.client->frameBuffer + ((size_t)y * s.client->width + x) * 4, 4);
				CHECK(&s, (p & 0xFFFFFF) == 0xAAAAAA);
			}

	/* One key redraws two cells (the character and the cursor), not the screen. */
	s.update_area = 0;
	CHECK(&s, type_text(&s, "h"));
	CHECK(&s, pump_until(&s, at_prompt, "root@web01:~# h", "the echoed key"));
	area = s.update_area;
	CHECK(&s, area > 0 && area <= 4 * 9 * 16);

	CHECK(&s, type_text(&s, "ostname"));
	CHECK(&s, enter_expect(&s, "root@web01:~# ", "hostname", "web01"));
	CHECK(&s, session_end(&s));
}

static void test_line_editing_and_commands(void **state)
{
	struct session s;
	const char *p = "root@db-02:~# ";

	CHECK(&s, session_start(&s, "DB 02", NULL, false)); /* host name made from the title */
	CHECK(&s, pump_until(&s, at_prompt, p, "the prompt"));
	CHECK(&s, type_text(&s, "hostnamx"));
	CHECK(&s, send_key(&s, XK_BackSpace));
	CHECK(&s, type_text(&s, "e"));
	CHECK(&s, enter_expect(&s, p, "hostname", "db-02"));
	CHECK(&s, run_command(&s, p, "uname -a", "Linux db-02 6.1.0-18-amd64 #1 SMP Debian x86_64 GNU/Linux"));
	CHECK(&s, run_command(&s, p, "frobnicate --now", "bash: frobnicate: command not found"));
	CHECK(&s, run_command(&s, p, "echo 'a  b'   c", "a  b c"));
	CHECK(&s, run_command(&s, p, "whoami", "root"));

	/* Ctrl-C abandons the line. */
	CHECK(&s, type_text(&s, "abc") && send_key_down(&s, XK_Control_L, true) && send_key(&s, 'c') &&
		      send_key_down(&s, XK_Control_L, false));
	CHECK(&s, pump_until(&s, after_ctrl_c, p, "^C and a new prompt"));
	CHECK(&s, session_end(&s));
}

/* Box drawing typed as Unicode keysyms comes back as such, and its cells are
 * 9 pixels wide like VGA line graphics: the 9th column repeats the 8th. */
static void test_line_graphics(void **state)
{
	struct session s;
	const char *p = "root@web01:~# ";
	bool crossed = false;
	int r, y, x;

	CHECK(&s, session_start(&s, "web01", "web01", false));
	CHECK(&s, pump_until(&s, at_prompt, p, "the prompt"));
	CHECK(&s, type_text(&s, "echo "));
	for (x = 0; x < 3; x++)
		CHECK(&s, send_key(&s, 0x01002500)); /* U+2500 BOX DRAWINGS LIGHT HORIZONTAL */
	CHECK(&s, type_text(&s, " x"));
	CHECK(&s, enter_expect(&s, p, "echo \u2500\u2500\u2500 x", "\u2500\u2500\u2500 x"));
	r = last_nonblank_row(&s) - 1; /* the answer line */
	for (y = r * 16; y < r * 16 + 16; y++) {
		CHECK(&s, pixel_on(s.client, 7, y) == pixel_on(s.client, 8, y));  /* '─' */
		CHECK(&s, !pixel_on(s.client, 4 * 9 + 8, y));                      /* 'x' */
		crossed |= pixel_on(s.client, 8, y);
	}
	CHECK(&s, crossed); /* the line does run through the 9th column */
	CHECK(&s, session_end(&s));
}

struct scrolled {
	const char *prompt;
	int last;
};

/* After "echo line N" for N = 1..last the screen holds the tail of the
 * transcript in order, ending with the prompt on the bottom row. */
static bool scrolled_ok(struct session *s, const void *arg)
{
	const struct scrolled *sc = arg;
	char want[64];
	int r, n = sc->last;

	if (!at_prompt(s, sc->prompt) || s->cursor_row != ROWS - 1)
		return false;
	for (r = ROWS - 2; r >= 1; r -= 2, n--) {
		snprintf(want, sizeof(want), "line %d", n);
		if (strcmp(s->text[r], want) != 0)
			return false;
		snprintf(want, sizeof(want), "%secho line %d", sc->prompt, n);
		if (strcmp(s->text[r - 1], want) != 0)
			return false;
	}
	return true;
}

static bool only_prompt_on_top(struct session *s, const void *arg)
{
	return at_prompt(s, arg) && s->cursor_row == 0;
}

static void test_scroll_and_clear(void **state)
{
	struct session s;
	struct scrolled sc = {"root@web01:~# ", 15};
	char cmd[32];
	int i;

	CHECK(&s, session_start(&s, "web01", "web01", false));
	CHECK(&s, pump_until(&s, at_prompt, sc.prompt, "the prompt"));
	for (i = 1; i <= sc.last; i++) {
		snprintf(cmd, sizeof(cmd), "echo line %d\n", i);
		CHECK(&s, type_text(&s, cmd));
	}
	CHECK(&s, pump_until(&s, scrolled_ok, &sc, "15 commands scrolled into place"));
	for (i = 0; i < ROWS; i++)
		CHECK(&s, !strstr(s.text[i], "Debian GNU/Linux 12"));

	/* A command at the bottom scrolls by CopyRect: pixel data only for the
	 * answer line and the new prompt line (and a few stray pixels libvncserver
	 * adds around its pointer), not for the whole screen. */
	CHECK(&s, type_text(&s, "hostname"));
	CHECK(&s, pump_until(&s, at_prompt, "root@web01:~# hostname", "the typed command"));
	s.update_area = s.copy_area = 0;
	CHECK(&s, enter_expect(&s, sc.prompt, "hostname", "web01"));
	CHECK(&s, s.copy_area > 0);
	CHECK(&s, s.update_area - s.copy_area <= 3 * SIM_CONSOLE_WIDTH * 16);

	CHECK(&s, type_text(&s, "clear\n"));
	CHECK(&s, pump_until(&s, only_prompt_on_top, sc.prompt, "a cleared screen"));
	CHECK(&s, session_end(&s));
}

static void test_dom0(void **state)
{
	struct session s;
	const char *p = "[root@xcp-host-1 ~]# ";
	int r;
	bool found = false;

	CHECK(&s, session_start(&s, "dom0", "xcp-host-1", true));
	CHECK(&s, pump_until(&s, at_prompt, p, "the dom0 prompt"));
	CHECK(&s, !strcmp(s.text[0], "XCP-ng release 8.3.0 (xenenterprise)"));
	for (r = 0; r < ROWS; r++)
		found |= !strcmp(s.text[r], "xcp-host-1 login: root (automatic login)");
	CHECK(&s, found);
	CHECK(&s, run_command(&s, p, "uname -r", "4.19.0+1"));
	CHECK(&s, run_command(&s, p, "hostname", "xcp-host-1"));
	CHECK(&s, session_end(&s));
}

/* Viewers that hang up at once, or send garbage instead of a protocol
 * version: the session ends (and frees everything) without hanging. */
static void test_bad_viewers(void **state)
{
	static const char *const sends[] = {NULL, "GET / HTTP/1.1\r\n\r\n"};
	size_t i;

	for (i = 0; i < ARRAY_LEN(sends); i++) {
		struct session s;

		memset(&s, 0, sizeof(s));
		s.info.title = "web01";
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s.fds), 0);
		if (sends[i])
			assert_int_equal(write(s.fds[1], sends[i], strlen(sends[i])), (ssize_t)strlen(sends[i]));
		else
			close(s.fds[1]);
		assert_int_equal(pthread_create(&s.thread, NULL, serve_thread, &s), 0);
		s.thread_started = true;
		if (sends[i]) {
			struct timeval tv = {.tv_sec = WAIT_MS / 1000};
			char buf[64];
			ssize_t n;

			/* The server answers with its version, then hangs up on us
			 * (a timeout, should it not, fails instead of hanging). */
			setsockopt(s.fds[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			while ((n = read(s.fds[1], buf, sizeof(buf))) > 0)
				;
			close(s.fds[1]);
			CHECK(&s, n == 0);
		}
		CHECK(&s, session_end(&s));
	}
}

#define PARALLEL 4

struct parallel_run {
	struct session s;
	char name[32];
	bool ok;
};

static void *parallel_client(void *arg)
{
	struct parallel_run *pr = arg;
	char prompt[64];

	snprintf(prompt, sizeof(prompt), "root@%s:~# ", pr->name);
	pr->ok = session_start(&pr->s, pr->name, pr->name, false) &&
		 pump_until(&pr->s, at_prompt, prompt, "the prompt") &&
		 run_command(&pr->s, prompt, "hostname", pr->name) &&
		 run_command(&pr->s, prompt, "echo done", "done");
	if (!session_end(&pr->s))
		pr->ok = false;
	return NULL;
}

/* Several consoles at once, each with its own screen and its own text. */
static void test_parallel_sessions(void **state)
{
	struct parallel_run *runs = xcalloc(PARALLEL, sizeof(*runs));
	pthread_t t[PARALLEL];
	int i;

	for (i = 0; i < PARALLEL; i++) {
		snprintf(runs[i].name, sizeof(runs[i].name), "vm%d", i + 1);
		assert_int_equal(pthread_create(&t[i], NULL, parallel_client, &runs[i]), 0);
	}
	for (i = 0; i < PARALLEL; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < PARALLEL; i++) {
		if (!runs[i].ok) {
			dump_screen(&runs[i].s);
			fail_msg("session %s: %s", runs[i].name, runs[i].s.err);
		}
	}
	free(runs);
}

static int setup(void **state)
{
	char *err = NULL;

	rfbEnableClientLogging = FALSE;
	font = psf_load_console_font(&err);
	if (!font) {
		print_error("%s\n", err);
		free(err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	psf_free(font);
	font = NULL;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_font),
		cmocka_unit_test(test_psf2_parse),
		cmocka_unit_test(test_vm_prompt_and_hostname),
		cmocka_unit_test(test_line_editing_and_commands),
		cmocka_unit_test(test_line_graphics),
		cmocka_unit_test(test_scroll_and_clear),
		cmocka_unit_test(test_dom0),
		cmocka_unit_test(test_bad_viewers),
		cmocka_unit_test(test_parallel_sessions),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
