/* A VM's console as terminal text (issue 7): xapi's console proxy, RFB in
 * src/vnc.c, the framebuffer read back as characters by src/fbtext.c. The
 * argument is the VM's qualified ref ("ID/REF"), or "vnc:HOST:PORT" for a
 * plain RFB server (xentui --vnc). Every key goes to the guest as an X
 * keysym except the escape key (Ctrl-] unless preferences.console_escape
 * says otherwise), which opens a small menu: back, scrollback (browse,
 * search, copy; console_scroll.c keeps the lines), text or picture
 * (console_picture.c), refresh, type a text or a file, Ctrl-Alt-Del,
 * reconnect. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <rfb/keysym.h>
#undef XK_F /* the letter's keysym; keys.h's XK_F(n) is the function key */

#include "app.h"
#include "atomicfile.h"
#include "console_picture.h"
#include "console_scroll.h"
#include "dialog.h"
#include "draw.h"
#include "form.h"
#include "keymap.h"
#include "keys.h"
#include "known_hosts.h"
#include "model.h"
#include "screens.h"
#include "theme.h"
#include "util.h"
#include "vnc.h"
#include "xapi.h"

#define PAIR_BASE 32          /* the first pair after the theme's (ROLE_COUNT of them) */
#define PICTURE_PAIR_BASE (PAIR_BASE + 256)
#define TYPE_MAX (256 * 1024) /* the largest file "type a file" sends */
#define TYPE_CHUNK 48         /* characters sent per tick */
#define TYPE_TICK_MS 15
#define OSC52_MAX (1024 * 1024)
/* An update comes as many rectangles, each waking the loop: the scrollback
 * compares whole screens, read once the rectangles stop for QUIET ms (at
 * the latest MAX ms after the first, for a guest that never stops), or
 * when a key goes to the guest (the screen it was pressed on). */
#define OBSERVE_QUIET_MS 30
#define OBSERVE_MAX_MS 300

enum view { VIEW_AUTO, VIEW_TEXT, VIEW_PICTURE };

/* host.get_server_certificate's answer may come after the screen is gone:
 * the request holds this, which the screen clears when it goes. */
struct cert_wait {
	struct console_screen *s;
};

struct console_screen {
	char *qref;     /* the VM; NULL with hostport */
	char *hostport; /* --vnc HOST:PORT: a plain RFB server */
	char name[128];
	char why[384];  /* no session: why ("not running", no console, ...) */
	struct psf_font *font;
	struct vnc *vnc;
	struct app *app;
	int escape;     /* the key that opens the menu */
	char esc_name[16], esc_send[32]; /* "Ctrl-]", for the key bar */
	const char *bar[24];             /* the key bar while keys go to the guest */
	int keymap;     /* the guest's keyboard layout (keymap.h), preferences.console_keymap; k switches */
	bool menu;      /* the escape key was pressed: the next key picks */
	enum view view;
	bool was_text;   /* the last frame read as text */
	struct cert_wait *cert_wait;

	/* scrollback mode: lines numbered as console_scroll.h says, then the
	 * screen's rows after sb_end() */
	struct scrollback *sb;
	struct loop_timer *observe_timer; /* the screen changed: sb_observe() when it settles */
	int64_t changed_first, changed_last; /* ms */
	bool scrolling;
	size_t top, cur; /* first line shown, the cursor's line */
	long mark;       /* the marked line, -1 for none */
	uint32_t search[128];
	int nsearch;
	char note[512];  /* the scrollback's status ("not found", "copied") */
	char *write_path; /* w: the file a confirmation is about */
	bool osc52;

	/* typing a text or a file */
	uint32_t *typing;
	size_t ntyping, typed;
	struct loop_timer *type_timer;
	char typing_what[128];
};

/* ---- the escape key ----------------------------------------------------- */

/* "^]", "^A", "^\\"... as a key code; 0 if not that form. */
static int parse_escape(const char *s)
{
	if (!s || s[0] != '^' || !s[1] || s[2])
		return 0;
	if (s[1] >= '@' && s[1] <= '_')
		return s[1] - '@';
	if (s[1] >= 'a' && s[1] <= 'z')
		return s[1] - 'a' + 1;
	return 0;
}

static void escape_name(int key, char *buf, size_t n)
{
	snprintf(buf, n, "Ctrl-%c", key + '@');
}

/* ---- the session -------------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Brings the scrollback up to the screen now (and stops waiting). */
static void observe_now(struct console_screen *s)
{
	if (s->observe_timer)
		loop_timer_cancel(app_loop(s->app), s->observe_timer);
	s->observe_timer = NULL;
	if (s->vnc)
		sb_observe(s->sb, vnc_text(s->vnc));
}

static void observe_tick(struct loop *l, void *ud)
{
	struct console_screen *s = ud;
	int64_t now = now_ms(), quiet = now - s->changed_last;

	s->observe_timer = NULL;
	if (quiet < OBSERVE_QUIET_MS && now - s->changed_first < OBSERVE_MAX_MS) {
		s->observe_timer = loop_timer(l, OBSERVE_QUIET_MS - quiet, observe_tick, s);
		return;
	}
	observe_now(s);
	app_dirty(s->app);
}

static void on_notify(struct loop *l, int fd, int events, void *ud)
{
	struct console_screen *s = ud;

	bool text;

	vnc_process(s->vnc);
	s->changed_last = now_ms();
	if (!s->observe_timer) {
		s->changed_first = s->changed_last;
		s->observe_timer = loop_timer(l, OBSERVE_QUIET_MS, observe_tick, s);
	}
	/* a view the user chose lasts until the guest switches between text
	 * and graphics; then the screen's own kind shows again */
	text = fbtext_is_text(vnc_text(s->vnc));
	if (text != s->was_text)
		s->view = VIEW_AUTO;
	s->was_text = text;
	app_dirty(s->app);
}

static void stop(struct console_screen *s)
{
	if (s->cert_wait) {
		s->cert_wait->s = NULL;
		s->cert_wait = NULL;
	}
	if (!s->vnc)
		return;
	observe_now(s); /* the last screen's lines, before the session goes */
	loop_watch(app_loop(s->app), vnc_notify_fd(s->vnc), 0, NULL, NULL);
	vnc_close(s->vnc);
	s->vnc = NULL;
}

/* The fonts guests use are built in (fbtext.h); XENTUI_CONSOLE_FONT adds
 * one more, read first. */
static bool load_font(struct console_screen *s)
{
	const char *env = getenv("XENTUI_CONSOLE_FONT");
	char *err = NULL;

	if (s->font || !env || !*env || (s->font = psf_load_console_font(&err)))
		return true;
	snprintf(s->why, sizeof(s->why), "XENTUI_CONSOLE_FONT: %.300s", err);
	free(err);
	return false;
}

static void watch(struct console_screen *s)
{
	if (s->vnc) {
		vnc_set_keymap(s->vnc, s->keymap);
		loop_watch(app_loop(s->app), vnc_notify_fd(s->vnc), LOOP_IN, on_notify, s);
	}
	else
		snprintf(s->why, sizeof(s->why), "could not start the console session");
}

/* The parts of a URL: scheme ("https"), host (brackets kept for IPv6) and
 * port ("" when none); false if it is not scheme://host... */
static bool split_url(const char *url, char *scheme, size_t sn, char *host, size_t hn, char *port, size_t pn)
{
	const char *p = strstr(url, "://"), *h, *e, *colon;

	if (!p)
		return false;
	snprintf(scheme, sn, "%.*s", (int)(p - url), url);
	h = p + 3;
	e = h + strcspn(h, "/?#");
	colon = NULL;
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(e - h));
		if (rb && rb + 1 < e && rb[1] == ':')
			colon = rb + 1;
	} else {
		colon = memchr(h, ':', (size_t)(e - h));
	}
	snprintf(host, hn, "%.*s", (int)((colon ? colon : e) - h), h);
	snprintf(port, pn, "%.*s", colon ? (int)(e - colon - 1) : 0, colon ? colon + 1 : "");
	return *host != '\0';
}

static void open_xapi(struct console_screen *s, struct pool *p, const char *base, const char *location,
		      const char *fp)
{
	s->vnc = vnc_open_xapi(base, location, xapi_session(p->x), fp, s->font);
	watch(s);
}

struct cert_req {
	struct cert_wait *wait;
	int pool_id;
	char *base, *location, *hostport;
};

static void on_server_certificate(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct cert_req *q = ud;
	struct console_screen *s = q->wait->s;
	struct pool *p = NULL;
	const char *ref; /* app_lookup writes it: it cannot be NULL */
	char fp[65];

	if (s) {
		s->cert_wait = NULL;
		app_lookup(s->app, s->qref, &p, &ref);
		if (!p || p->x != x || p->id != q->pool_id)
			snprintf(s->why, sizeof(s->why), "the pool's connection changed: Ctrl-] r to try again");
		else if (r->failure == XAPI_OK && xv_str(r->value) && cert_pem_sha256(xv_str(r->value), fp))
			open_xapi(s, p, q->base, q->location, fp);
		else
			snprintf(s->why, sizeof(s->why),
				 "the VM runs on %s, whose certificate is not known: the pool did not give it (%s); "
				 "connect to %s once with xentui to accept it", q->hostport,
				 r->message ? r->message : "no certificate", q->hostport);
		app_dirty(s->app);
	}
	free(q->wait);
	free(q->base);
	free(q->location);
	free(q->hostport);
	free(q);
}

/* Connects to the host that runs the VM. The console's location names it
 * (https://ADDRESS/console?...; xapi serves a console only on that host,
 * WIRE.md 9), on the pool's scheme and port (a pool's hosts differ only in
 * their address). The pool's connection is trusted (pinned, known or
 * accepted), so:
 *  - the location's host is the one the pool's URL names: the same
 *    connection settings and the pool's certificate;
 *  - another host (a pool member) has its own certificate: accepted only if
 *    it is the one saved in known_hosts for that host, or the one the
 *    trusted master reports for it (host.get_server_certificate, over the
 *    verified connection); never an unverified one;
 *  - plain http (a test pool) needs no certificate. */
static void connect_xapi(struct console_screen *s, struct pool *p, const struct xv *vm, const char *location)
{
	const char *url = xapi_url(p->x);
	char scheme[16], host[256], port[16], lscheme[16], lhost[256], lport[16], hostport[300], fp[65];
	char *base;
	const char *resident = rec_str(vm, "resident_on");
	struct cert_req *q;

	if (strncmp(url, "unix:", 5) == 0 || !split_url(url, scheme, sizeof(scheme), host, sizeof(host), port,
							 sizeof(port))
	    || !split_url(location, lscheme, sizeof(lscheme), lhost, sizeof(lhost), lport, sizeof(lport))
	    || strcasecmp(lhost, host) == 0) {
		open_xapi(s, p, url, location,
			  strncmp(url, "https:", 6) == 0 ? xapi_seen_fingerprint(p->x) : NULL);
		return;
	}
	snprintf(hostport, sizeof(hostport), "%s:%s", lhost, lport[0] ? lport : port[0] ? port : "443");
	base = xasprintf("%s://%s", scheme, hostport);
	if (strcmp(scheme, "https") != 0) {
		open_xapi(s, p, base, location, NULL);
	} else if (app_config(s->app) && app_config(s->app)->known_hosts
		   && known_hosts_lookup(app_config(s->app)->known_hosts, hostport, fp)) {
		open_xapi(s, p, base, location, fp);
	} else {
		q = xcalloc(1, sizeof(*q));
		q->wait = xcalloc(1, sizeof(*q->wait));
		q->wait->s = s;
		s->cert_wait = q->wait;
		q->pool_id = p->id;
		q->base = base;
		q->location = xstrdup(location);
		q->hostport = xstrdup(hostport);
		snprintf(s->why, sizeof(s->why), "asking the pool for the certificate of %s...", hostport);
		struct xv *params = xv_array();

		xv_array_push(params, xv_string(resident));
		app_query(s->app, p, "host.get_server_certificate", params, on_server_certificate, q);
		return;
	}
	free(base);
}

/* Opens (or reopens) the session, or says in why what stops it. */
static void start(struct console_screen *s)
{
	struct pool *p = NULL;
	const char *ref = NULL, *location = NULL;
	const struct xv *vm = s->qref ? app_lookup(s->app, s->qref, &p, &ref) : NULL, *consoles;

	stop(s);
	s->why[0] = '\0';
	if (s->hostport) {
		if (load_font(s)) {
			s->vnc = vnc_open_tcp(s->hostport, s->font);
			watch(s);
		}
		return;
	}
	if (!vm || !p || !p->x || !p->cache) {
		snprintf(s->why, sizeof(s->why), "the VM is gone or its pool is not connected");
		return;
	}
	snprintf(s->name, sizeof(s->name), "%s", rec_str(vm, "name_label"));
	if (strcmp(rec_str(vm, "power_state"), "Running") != 0) {
		snprintf(s->why, sizeof(s->why), "%s is not running (%s): it has no console now", s->name,
			 rec_str(vm, "power_state"));
		return;
	}
	consoles = rec_field(vm, "consoles");
	for (size_t i = 0; i < xv_len(consoles) && !location; i++) {
		const struct xv *c = cache_get(p->cache, xv_str(xv_at(consoles, i)));
		if (c && strcmp(rec_str(c, "protocol"), "rfb") == 0)
			location = rec_str(c, "location");
	}
	if (!location || !*location) {
		snprintf(s->why, sizeof(s->why), "%s has no VNC console", s->name);
		return;
	}
	if (load_font(s))
		connect_xapi(s, p, vm, location);
}

static void *console_enter(struct app *app, const void *arg)
{
	struct console_screen *s = xcalloc(1, sizeof(*s));
	const struct config *cfg = app_config(app);
	const char *env = getenv("XENTUI_OSC52");

	s->app = app;
	s->escape = cfg ? parse_escape(cfg->console_escape) : 0;
	s->keymap = keymap_by_name(cfg ? cfg->console_keymap : NULL);
	if (s->keymap < 0)
		s->keymap = KEYMAP_US;
	if (!s->escape)
		s->escape = XK_CTRL(']');
	s->sb = sb_new(cfg ? (size_t)cfg->console_scrollback : 5000);
	s->osc52 = (cfg && cfg->console_osc52) || (env && strcmp(env, "1") == 0);
	s->mark = -1;
	if (strncmp(arg, "vnc:", 4) == 0) {
		s->hostport = xstrdup((const char *)arg + 4);
		snprintf(s->name, sizeof(s->name), "%s", s->hostport);
	} else {
		s->qref = xstrdup(arg);
	}
	start(s);
	return s;
}

static void typing_stop(struct console_screen *s)
{
	if (s->type_timer)
		loop_timer_cancel(app_loop(s->app), s->type_timer);
	s->type_timer = NULL;
	free(s->typing);
	s->typing = NULL;
	s->ntyping = s->typed = 0;
}

static void console_leave(struct app *app, void *st)
{
	struct console_screen *s = st;

	typing_stop(s);
	stop(s);
	sb_free(s->sb);
	free(s->write_path);
	psf_free(s->font);
	free(s->qref);
	free(s->hostport);
	free(s);
}

/* ---- drawing ------------------------------------------------------------ */

/* The curses attribute of a console cell's colours: a pair per colour
 * combination the guest uses, taken lazily after the theme's pairs (an
 * 8-colour terminal has only 64); bright colours as bold when the terminal
 * has 8 colours; without pairs left, the terminal's default colours. */
static attr_t colour_attr(int fg, int bg)
{
	static short pair_of[256]; /* (fg, bg) -> pair, 0: not made yet */
	static short next = PAIR_BASE;
	attr_t extra = 0;

	if (!theme_colour()) /* NO_COLOR, a monochrome terminal */
		return bg > fg ? A_REVERSE : A_NORMAL;
	if (COLORS < 16) {
		if (fg >= 8)
			extra = A_BOLD;
		fg &= 7;
		bg &= 7;
	}
	if (!pair_of[fg * 16 + bg]) {
		if (next >= COLOR_PAIRS)
			return extra;
		init_pair(next, (short)fg, (short)bg);
		pair_of[fg * 16 + bg] = next++;
	}
	return COLOR_PAIR(pair_of[fg * 16 + bg]) | extra;
}

static void put_cp(WINDOW *w, int y, int x, uint32_t cp, attr_t a)
{
	char u[8];

	if (cp == FBTEXT_UNKNOWN)
		cp = 0xFFFD;
	if (cp < 0x20 || cp > 0x10FFFF)
		cp = ' ';
	if (cp < 0x80) {
		u[0] = (char)cp, u[1] = '\0';
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F)), u[2] = '\0';
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F)), u[3] = '\0';
	} else {
		u[0] = (char)(0xF0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F));
		u[4] = '\0';
	}
	ui_put(w, y, x, 1, a, u);
}

static void clamp_view(struct console_screen *s, int h);

static bool showing_picture(struct console_screen *s)
{
	struct fbtext *ft = vnc_text(s->vnc);

	if (s->view == VIEW_PICTURE)
		return true;
	return s->view == VIEW_AUTO && vnc_state(s->vnc, NULL, NULL, NULL) == VNC_CONNECTED && !fbtext_is_text(ft)
	       && vnc_picture(s->vnc, 1, 1, (uint32_t[1]){0});
}

/* Lines of scrollback and screen together. */
static size_t total_lines(struct console_screen *s)
{
	return sb_end(s->sb) + (size_t)(s->vnc ? fbtext_rows(vnc_text(s->vnc)) : 0);
}

/* Line n (scrollback or screen row) as a borrowed line; tmp holds a screen row. */
static const struct sb_line *line_at(struct console_screen *s, size_t n, struct sb_line *tmp, uint32_t *cp,
				     uint8_t *fg, uint8_t *bg, int cap)
{
	struct fbtext *ft;
	int row;

	if (n < sb_end(s->sb))
		return sb_get(s->sb, n);
	if (!s->vnc)
		return NULL;
	ft = vnc_text(s->vnc);
	row = (int)(n - sb_end(s->sb));
	if (row >= fbtext_rows(ft))
		return NULL;
	tmp->n = fbtext_cols(ft) < cap ? fbtext_cols(ft) : cap;
	for (int c = 0; c < tmp->n; c++) {
		const struct fbtext_cell *cell = fbtext_cell(ft, c, row);
		cp[c] = cell->cp;
		fg[c] = cell->fg16;
		bg[c] = cell->bg16;
	}
	tmp->cp = cp;
	tmp->fg = fg;
	tmp->bg = bg;
	return tmp;
}

static uint32_t fold(uint32_t c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Whether the search text starts at cell i of l (ASCII letters either case). */
static bool match_at(const struct console_screen *s, const struct sb_line *l, int i)
{
	if (!s->nsearch || i + s->nsearch > l->n)
		return false;
	for (int k = 0; k < s->nsearch; k++)
		if (fold(l->cp[i + k]) != fold(s->search[k]))
			return false;
	return true;
}

static bool line_matches(const struct console_screen *s, const struct sb_line *l)
{
	for (int i = 0; l && i < l->n; i++)
		if (match_at(s, l, i))
			return true;
	return false;
}

static void draw_scrollback(struct console_screen *s, WINDOW *w, int h, int cols)
{
	uint32_t cp[512];
	uint8_t fg[512], bg[512];
	struct sb_line tmp;
	size_t lo = s->mark < 0 ? s->cur : (size_t)s->mark < s->cur ? (size_t)s->mark : s->cur;
	size_t hi = s->mark < 0 ? s->cur : (size_t)s->mark > s->cur ? (size_t)s->mark : s->cur;

	for (int r = 0; r + 1 < h; r++) {
		size_t n = s->top + (size_t)r;
		const struct sb_line *l = line_at(s, n, &tmp, cp, fg, bg, 512);
		int hl = 0;

		if (!l)
			break;
		for (int c = 0; c < cols; c++) {
			attr_t a;

			if (match_at(s, l, c))
				hl = s->nsearch;
			if (c >= l->n) {
				a = n == s->cur ? theme_attr(ROLE_SELECTED) : A_NORMAL;
				ui_put(w, r + 1, c, 1, a, " ");
				continue;
			}
			a = colour_attr(l->fg[c], l->bg[c]);
			if (hl > 0) {
				a = theme_attr(ROLE_WARN) | A_REVERSE; /* a match */
				hl--;
			} else if (n == s->cur) {
				a = theme_attr(ROLE_SELECTED);
			} else if (s->mark >= 0 && n >= lo && n <= hi) {
				a |= A_REVERSE; /* the marked region */
			}
			put_cp(w, r + 1, c, l->cp[c], a);
		}
	}
}

static void status_line(struct console_screen *s, WINDOW *w, int cols)
{
	char buf[1024], esc[16];
	const char *reason = "";
	char kb[32];
	int cw = 0, ch = 0;
	enum role r = ROLE_STATUS;

	escape_name(s->escape, esc, sizeof(esc));
	if (s->menu) {
		ui_put(w, 0, 0, cols, theme_attr(ROLE_SELECTED),
		       "Console menu: b back  s scrollback  p text/picture  u refresh  t type text  f type file  "
		       "d Ctrl-Alt-Del  r reconnect  k layout  (again: send it)");
		return;
	}
	if (s->scrolling) {
		snprintf(buf, sizeof(buf), "Scrollback: line %zu of %zu%s%s%s   / search  n/N  v mark  w file  y clipboard  "
			 "Esc back", s->cur + 1 - sb_first(s->sb), total_lines(s) - sb_first(s->sb),
			 s->mark >= 0 ? " (marking)" : "", s->note[0] ? "  " : "", s->note);
		ui_put(w, 0, 0, cols, theme_attr(ROLE_SELECTED), buf);
		return;
	}
	if (s->typing) {
		snprintf(buf, sizeof(buf), "%s: typing %s: %zu of %zu characters (%zu%%)   %s cancels", s->name,
			 s->typing_what, s->typed, s->ntyping, s->ntyping ? s->typed * 100 / s->ntyping : 100, esc);
		ui_put(w, 0, 0, cols, theme_attr(ROLE_WARN), buf);
		return;
	}
	if (!s->vnc) {
		snprintf(buf, sizeof(buf), "%s: %s", s->name[0] ? s->name : "console", s->why);
		r = ROLE_WARN;
	} else {
		switch (vnc_state(s->vnc, &cw, &ch, &reason)) {
		case VNC_CONNECTING:
			snprintf(buf, sizeof(buf), "%s: connecting...", s->name);
			break;
		case VNC_CONNECTED:
			/* a scancode server (QEMU): the keys follow the guest's layout */
			snprintf(kb, sizeof(kb), ", %s keyboard", keymap_name(s->keymap));
			snprintf(buf, sizeof(buf), "%s: connected %dx%d%s%s%s   %s menu", s->name, cw, ch,
				 vnc_scancodes(s->vnc) ? kb : "", fbtext_is_text(vnc_text(s->vnc)) ? "" : " (not a text screen)",
				 showing_picture(s) ? " picture" : "", esc);
			break;
		case VNC_DISCONNECTED:
			snprintf(buf, sizeof(buf), "%s: disconnected: %s   %s r reconnects", s->name, reason, esc);
			r = ROLE_BAD;
			break;
		}
	}
	ui_put(w, 0, 0, cols, theme_attr(r), buf);
}

static void console_draw(struct app *app, void *st, WINDOW *w, int h, int cols)
{
	struct console_screen *s = st;
	struct fbtext *ft;
	int rows, ncols;

	status_line(s, w, cols);
	if (!s->vnc)
		return;
	if (s->scrolling) {
		clamp_view(s, h); /* the body's height is only known here */
		draw_scrollback(s, w, h, cols);
		return;
	}
	if (showing_picture(s)) {
		console_picture_draw(w, 1, h - 1, cols, s->vnc, PICTURE_PAIR_BASE);
		return;
	}
	ft = vnc_text(s->vnc);
	rows = fbtext_rows(ft);
	ncols = fbtext_cols(ft);
	/* every cell is put each frame; curses sends the terminal only the
	 * cells that differ from what it shows */
	for (int r = 0; r < rows && r + 1 < h; r++)
		for (int c = 0; c < ncols && c < cols; c++) {
			const struct fbtext_cell *cell = fbtext_cell(ft, c, r);

			put_cp(w, r + 1, c, cell->cp,
			       colour_attr(cell->fg16, cell->bg16) | (cell->cursor ? A_UNDERLINE : 0));
		}
}

/* ---- keys to the guest -------------------------------------------------- */

static void tap(struct vnc *v, uint32_t sym)
{
	vnc_send_key(v, sym, true);
	vnc_send_key(v, sym, false);
}

/* The X keysym of a key from key_read(), 0 if it has none. */
static uint32_t keysym_of(int key)
{
	switch (key) {
	case XK_ENTER: return XK_Return;
	case XK_BACKSPACE: return XK_BackSpace;
	case XK_TAB: return XK_Tab;
	case XK_ESC: return XK_Escape;
	case XK_UP: return XK_Up;
	case XK_DOWN: return XK_Down;
	case XK_LEFT: return XK_Left;
	case XK_RIGHT: return XK_Right;
	case XK_HOME: return XK_Home;
	case XK_END: return XK_End;
	case XK_PGUP: return XK_Page_Up;
	case XK_PGDN: return XK_Page_Down;
	case XK_DELETE: return XK_Delete;
	case XK_FN(KEY_IC): return XK_Insert;
	}
	for (int n = 1; n <= 12; n++)
		if (key == XK_F(n))
			return XK_F1 + (uint32_t)(n - 1);
	if (key >= 0x20 && key < 0x110000 && key != 127)
		return key < 0x100 ? (uint32_t)key : 0x01000000u | (uint32_t)key;
	return 0;
}

static void send_key(struct console_screen *s, int key)
{
	uint32_t sym = keysym_of(key);

	/* the screen the key was pressed on has settled: its lines are kept
	 * before the key changes it (a command line and its output) */
	if (s->observe_timer)
		observe_now(s);

	if (key == XK_BTAB) { /* Shift-Tab */
		vnc_send_key(s->vnc, XK_Shift_L, true);
		tap(s->vnc, XK_Tab);
		vnc_send_key(s->vnc, XK_Shift_L, false);
	} else if (!sym && key >= 1 && key < 32) { /* Ctrl-letter and friends */
		vnc_send_key(s->vnc, XK_Control_L, true);
		tap(s->vnc, key <= 26 ? (uint32_t)('a' + key - 1) : (uint32_t)('@' + key));
		vnc_send_key(s->vnc, XK_Control_L, false);
	} else if (key >= 0x20 && key != 127 && key < 0x110000) { /* a character: Shift/AltGr as the layout needs */
		vnc_type(s->vnc, (uint32_t)key);
	} else if (sym) {
		tap(s->vnc, sym);
	}
}

/* ---- typing a text or a file -------------------------------------------- */

static void type_tick(struct loop *l, void *ud)
{
	struct console_screen *s = ud;

	s->type_timer = NULL;
	if (s->observe_timer)
		observe_now(s); /* as send_key() */
	for (int i = 0; i < TYPE_CHUNK && s->typed < s->ntyping; i++) {
		uint32_t cp = s->typing[s->typed++];

		if (!s->vnc || vnc_state(s->vnc, NULL, NULL, NULL) != VNC_CONNECTED) {
			app_message(s->app, MSG_ERROR, "Typing stopped: the console is not connected");
			typing_stop(s);
			app_dirty(s->app);
			return;
		}
		if (cp == '\n')
			tap(s->vnc, XK_Return);
		else if (cp == '\t')
			tap(s->vnc, XK_Tab);
		else if (cp >= 0x20 && cp != 0x7F)
			vnc_type(s->vnc, cp);
	}
	if (s->typed >= s->ntyping) {
		app_message(s->app, MSG_INFO, "Typed %zu characters of %s", s->ntyping, s->typing_what);
		typing_stop(s);
	} else {
		s->type_timer = loop_timer(app_loop(s->app), TYPE_TICK_MS, type_tick, s);
	}
	app_dirty(s->app);
}

/* Decodes UTF-8 (invalid bytes as U+FFFD; CR dropped) and starts typing it. */
static void type_start(struct console_screen *s, const char *text, size_t n, const char *what)
{
	size_t i = 0;

	typing_stop(s);
	s->typing = xmalloc((n + 1) * sizeof(*s->typing));
	while (i < n) {
		unsigned char c = (unsigned char)text[i];
		uint32_t cp = 0xFFFD;
		int len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;

		if (len == 1) {
			cp = c;
		} else if (len && i + (size_t)len <= n) {
			cp = c & (0x7F >> len);
			for (int k = 1; k < len; k++) {
				if (((unsigned char)text[i + (size_t)k] & 0xC0) != 0x80) {
					cp = 0xFFFD;
					len = k;
					break;
				}
				cp = cp << 6 | ((unsigned char)text[i + (size_t)k] & 0x3F);
			}
		} else {
			len = 1;
		}
		i += (size_t)len;
		if (cp != '\r')
			s->typing[s->ntyping++] = cp;
	}
	snprintf(s->typing_what, sizeof(s->typing_what), "%s", what);
	s->type_timer = loop_timer(app_loop(s->app), 0, type_tick, s);
}

static void on_type_text(struct app *app, const struct dialog_result *r, const char *ref, void *ud)
{
	struct console_screen *s = ud;
	char *text;

	if (!r->ok)
		return;
	text = xasprintf("%s%s", form_get_text(r->form, 0), form_get_toggle(r->form, 1) ? "\n" : "");
	type_start(s, text, strlen(text), "a text");
	free(text);
}

static void on_type_file(struct app *app, const struct dialog_result *r, const char *ref, void *ud)
{
	struct console_screen *s = ud;
	const char *path;
	char *buf = NULL, *what;
	size_t n = 0;
	FILE *f;
	struct stat st;

	if (!r->ok)
		return;
	path = form_get_text(r->form, 0);
	f = fopen(path, "rb");
	if (!f) {
		app_message(app, MSG_ERROR, "Cannot read %s: %s", path, strerror(errno));
		return;
	}
	if (fstat(fileno(f), &st) == 0 && st.st_size > TYPE_MAX) {
		app_message(app, MSG_ERROR, "%s is %lld bytes: typing is for files of up to %d KiB", path,
			    (long long)st.st_size, TYPE_MAX / 1024);
		fclose(f);
		return;
	}
	buf = xmalloc(TYPE_MAX + 1);
	n = fread(buf, 1, TYPE_MAX + 1, f);
	if (ferror(f) || n > TYPE_MAX) {
		app_message(app, MSG_ERROR, "Cannot read %s: %s", path, n > TYPE_MAX ? "too long" : strerror(errno));
		fclose(f);
		free(buf);
		return;
	}
	fclose(f);
	what = xasprintf("%s", strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
	type_start(s, buf, n, what);
	free(what);
	free(buf);
}

static void ask(struct console_screen *s, const char *title, const char *label, const char *value, bool enter_toggle,
		dialog_done_fn done)
{
	struct form *f = form_new();
	struct dialog *d;

	form_text(f, label, value, true);
	if (enter_toggle)
		form_toggle(f, "Press Enter after it", true);
	d = dialog_form(title, NULL, f);
	dialog_on_done(d, done, NULL, s);
	app_open_dialog(s->app, d);
}

/* ---- scrollback --------------------------------------------------------- */

static void clamp_view(struct console_screen *s, int h)
{
	size_t first = sb_first(s->sb), total = total_lines(s), vh = h > 2 ? (size_t)h - 1 : 1;

	if (total <= first)
		total = first + 1;
	if (s->cur < first)
		s->cur = first;
	if (s->cur >= total)
		s->cur = total - 1;
	if (s->mark >= 0 && (size_t)s->mark < first)
		s->mark = (long)first;
	if (s->top < first)
		s->top = first;
	if (s->cur < s->top)
		s->top = s->cur;
	if (s->cur >= s->top + vh)
		s->top = s->cur - vh + 1;
}

static void scroll_enter(struct console_screen *s)
{
	observe_now(s);
	s->scrolling = true;
	s->mark = -1;
	s->note[0] = '\0';
	/* on the newest line that went off, with the screen below it */
	s->cur = sb_end(s->sb) > sb_first(s->sb) ? sb_end(s->sb) - 1 : sb_end(s->sb);
	s->top = s->cur > (size_t)(LINES / 2) ? s->cur - (size_t)(LINES / 2) : 0;
	if (sb_end(s->sb) == sb_first(s->sb))
		snprintf(s->note, sizeof(s->note), "nothing has scrolled off yet");
}

/* As less does: a new search looks from the first line shown downward; n
 * finds the next match below the cursor, N the one above; no wrapping. */
static void search_step(struct console_screen *s, bool down, bool from_view)
{
	uint32_t cp[512];
	uint8_t fg[512], bg[512];
	struct sb_line tmp;
	size_t first = sb_first(s->sb), total = total_lines(s);
	size_t n = from_view ? (s->top > first ? s->top : first) : s->cur;

	if (!s->nsearch) {
		snprintf(s->note, sizeof(s->note), "no search yet: / searches");
		return;
	}
	if (!from_view) {
		if (down ? n + 1 >= total : n <= first) {
			snprintf(s->note, sizeof(s->note), "no more matches %s", down ? "below (N: above)" : "above (n: below)");
			return;
		}
		n = down ? n + 1 : n - 1;
	}
	for (; n >= first && n < total; n = down ? n + 1 : n - 1) {
		if (line_matches(s, line_at(s, n, &tmp, cp, fg, bg, 512))) {
			s->cur = n;
			snprintf(s->note, sizeof(s->note), "found at line %zu", n + 1 - first);
			return;
		}
		if (!down && n == first)
			break;
	}
	snprintf(s->note, sizeof(s->note), "not found %s", down ? "below (N: above)" : "above (n: below)");
}

static void on_search(struct app *app, const struct dialog_result *r, const char *ref, void *ud)
{
	struct console_screen *s = ud;
	const char *t;

	if (!r->ok)
		return;
	t = form_get_text(r->form, 0);
	s->nsearch = 0;
	/* ASCII and Latin-1 as typed; the rest byte by byte is not worth it here */
	while (*t && s->nsearch < (int)(ARRAY_LEN(s->search))) {
		unsigned char c = (unsigned char)*t;

		if (c < 0x80) {
			s->search[s->nsearch++] = c;
			t++;
		} else if ((c & 0xE0) == 0xC0 && t[1]) {
			s->search[s->nsearch++] = (uint32_t)(c & 0x1F) << 6 | ((unsigned char)t[1] & 0x3F);
			t += 2;
		} else if ((c & 0xF0) == 0xE0 && t[1] && t[2]) {
			s->search[s->nsearch++] = (uint32_t)(c & 0x0F) << 12 | ((unsigned char)t[1] & 0x3F) << 6 |
						  ((unsigned char)t[2] & 0x3F);
			t += 3;
		} else {
			t++;
		}
	}
	search_step(s, true, true);
	clamp_view(s, LINES - 2);
	app_dirty(app);
}

/* The marked region (or the cursor's line) as text, one line each. */
static char *region_text(struct console_screen *s, size_t *lines)
{
	uint32_t cp[512];
	uint8_t fg[512], bg[512];
	struct sb_line tmp;
	size_t lo = s->mark < 0 ? s->cur : (size_t)s->mark < s->cur ? (size_t)s->mark : s->cur;
	size_t hi = s->mark < 0 ? s->cur : (size_t)s->mark > s->cur ? (size_t)s->mark : s->cur;
	struct buf b;
	char line[2048];

	buf_init(&b);
	*lines = 0;
	for (size_t n = lo; n <= hi; n++) {
		const struct sb_line *l = line_at(s, n, &tmp, cp, fg, bg, 512);

		if (!l)
			continue;
		sb_line_text(l, line, sizeof(line));
		buf_puts(&b, line);
		buf_putc(&b, '\n');
		(*lines)++;
	}
	return b.data ? b.data : xstrdup("");
}

/* The absolute path that path names, its folder part resolved as it is on
 * disk (symlinks and ..), the last part kept; NULL if the folder does not
 * exist. */
static char *resolve_path(const char *path)
{
	char *dup = xstrdup(path), *slash = strrchr(dup, '/'), *dir, *rdir, *full;
	const char *base;

	if (!slash) {
		dir = ".";
		base = dup;
	} else {
		*slash = '\0';
		dir = slash == dup ? "/" : dup;
		base = slash + 1;
	}
	rdir = realpath(dir, NULL);
	if (!rdir)
		full = NULL;
	else if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		full = realpath(path, NULL); /* a folder: refused by the caller */
	else
		full = xasprintf("%s%s%s", rdir, strcmp(rdir, "/") ? "/" : "", base);
	free(rdir);
	free(dup);
	return full;
}

static bool has_dotdot(const char *path)
{
	for (const char *p = path; (p = strstr(p, "..")); p += 2)
		if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
			return true;
	return false;
}

static void write_lines(struct console_screen *s, const char *full)
{
	char *err = NULL, *text;
	size_t lines;
	struct stat st;
	bool existed = stat(full, &st) == 0;

	text = region_text(s, &lines);
	if (atomic_write(full, text, strlen(text), &err)) {
		/* a file replaced keeps its permissions (the writer makes 0600) */
		if (existed && chmod(full, st.st_mode & 07777) != 0)
			app_message(s->app, MSG_ERROR, "Wrote %s but could not keep its permissions: %s", full,
				    strerror(errno));
		snprintf(s->note, sizeof(s->note), "wrote %zu line%s to %s", lines, lines == 1 ? "" : "s", full);
		s->mark = -1;
	} else {
		app_message(s->app, MSG_ERROR, "Cannot write the lines: %s", err);
		free(err);
	}
	free(text);
}

static void on_write_confirmed(struct app *app, const struct dialog_result *r, const char *ref, void *ud)
{
	struct console_screen *s = ud;

	if (r->ok && s->write_path)
		write_lines(s, s->write_path);
	else if (s->write_path)
		snprintf(s->note, sizeof(s->note), "nothing written: %s is as it was", s->write_path);
	free(s->write_path);
	s->write_path = NULL;
	app_dirty(app);
}

/* Writes the region to the file named, asking first when that replaces a
 * file (naming it and its size) or when the path climbs out of its folder
 * with .. (showing where it really goes). */
static void on_write_file(struct app *app, const struct dialog_result *r, const char *ref, void *ud)
{
	struct console_screen *s = ud;
	const char *path;
	char *full, *text, *slash;
	struct stat st;
	bool exists, up;
	size_t lines;
	struct dialog *d;
	struct buf b;

	if (!r->ok)
		return;
	path = form_get_text(r->form, 0);
	if (!*path) {
		snprintf(s->note, sizeof(s->note), "no file name: nothing written");
		app_dirty(app);
		return;
	}
	if (path[0] == '~' && (path[1] == '/' || !path[1]) && getenv("HOME")) { /* as a shell would */
		char *home = xasprintf("%s%s", getenv("HOME"), path + 1);

		full = resolve_path(home);
		free(home);
	} else {
		full = resolve_path(path);
	}
	if (!full) {
		app_message(app, MSG_ERROR, "Cannot write to %s: its folder does not exist", path);
		return;
	}
	exists = stat(full, &st) == 0;
	if (exists && S_ISDIR(st.st_mode)) {
		app_message(app, MSG_ERROR, "Cannot write to %s: it is a folder; give a file name", full);
		free(full);
		return;
	}
	up = has_dotdot(path);
	if (!exists && !up) {
		write_lines(s, full);
		free(full);
		app_dirty(app);
		return;
	}
	free(region_text(s, &lines));
	slash = strrchr(full, '/');
	buf_init(&b);
	if (exists)
		buf_printf(&b, "%s (%lld bytes) already exists in %.*s. Replace it with %zu line%s? What it holds now is lost.",
			   slash + 1, (long long)st.st_size, (int)(slash - full + 1), full, lines, lines == 1 ? "" : "s");
	else
		buf_printf(&b, "Write %zu line%s to a new file?", lines, lines == 1 ? "" : "s");
	if (up)
		buf_printf(&b, " The path goes up through \"..\": the file is %s", full);
	text = b.data ? b.data : xstrdup("");
	d = dialog_confirm(exists ? "Replace a file?" : "Write outside the folder?", text, exists ? "Replace" : "Write",
			   "Cancel", exists);
	free(text);
	free(s->write_path);
	s->write_path = full;
	dialog_on_done(d, on_write_confirmed, NULL, s);
	app_open_dialog(app, d);
}

/* OSC 52 sets the terminal's clipboard (xterm, kitty, iTerm2, tmux with
 * set-clipboard): sent only when allowed (preferences.console_osc52 or
 * XENTUI_OSC52=1), since a terminal may refuse or ask. Written between
 * frames, straight after what curses has flushed. */
static void copy_osc52(struct console_screen *s)
{
	size_t lines, n;
	char *text = region_text(s, &lines), *b64;
	int len;

	if (!s->osc52) {
		snprintf(s->note, sizeof(s->note),
			 "the clipboard is off: set preferences.console_osc52 = true or XENTUI_OSC52=1");
		free(text);
		return;
	}
	n = strlen(text);
	if (n > OSC52_MAX) {
		snprintf(s->note, sizeof(s->note), "too long for the clipboard (%zu bytes): w writes a file", n);
		free(text);
		return;
	}
	b64 = xmalloc(4 * ((n + 2) / 3) + 16);
	memcpy(b64, "\033]52;c;", 7);
	len = EVP_EncodeBlock((unsigned char *)b64 + 7, (const unsigned char *)text, (int)n);
	memcpy(b64 + 7 + len, "\a", 2);
	fflush(stdout);
	{
		size_t off = 0, total = 7 + (size_t)len + 1;

		while (off < total) {
			ssize_t w = write(STDOUT_FILENO, b64 + off, total - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			off += (size_t)w;
		}
	}
	snprintf(s->note, sizeof(s->note), "copied %zu line%s to the clipboard", lines, lines == 1 ? "" : "s");
	s->mark = -1;
	free(b64);
	free(text);
}

static int scroll_key(struct app *app, struct console_screen *s, int key)
{
	int page = LINES > 4 ? LINES - 4 : 1;
	char path[300];

	s->note[0] = '\0';
	switch (key) {
	case XK_UP: case 'k': if (s->cur > 0) s->cur--; break;
	case XK_DOWN: case 'j': s->cur++; break;
	case XK_PGUP: s->cur = s->cur > (size_t)page ? s->cur - (size_t)page : 0; break;
	case XK_PGDN: case ' ': s->cur += (size_t)page; break;
	case XK_HOME: case 'g': s->cur = 0; break;
	case XK_END: case 'G': s->cur = total_lines(s); break;
	case '/':
		ask(s, "Search the scrollback", "Text", "", false, on_search);
		break;
	case 'n': search_step(s, true, false); break;
	case 'N': search_step(s, false, false); break;
	case 'v': s->mark = s->mark < 0 ? (long)s->cur : -1; break;
	case 'w':
		snprintf(path, sizeof(path), "console-%s.txt", s->name);
		for (char *p = path; *p; p++)
			if (*p == '/' || *p == ' ')
				*p = '-';
		ask(s, "Write the lines to a file", "File", path, false, on_write_file);
		break;
	case 'y': copy_osc52(s); break;
	case XK_ESC: case 'q':
		s->scrolling = false;
		break;
	case '?': case ':':
		return EV_IGNORED; /* the help and commands still work */
	default:
		if (key == s->escape)
			return EV_IGNORED; /* the menu */
		snprintf(s->note, sizeof(s->note), "Esc goes back to the live console");
		break;
	}
	clamp_view(s, LINES - 2);
	app_dirty(app);
	return EV_HANDLED;
}

/* ---- the menu ----------------------------------------------------------- */

static void menu_pick(struct app *app, struct console_screen *s, int key)
{
	s->menu = false;
	if (key == s->escape) { /* twice: the guest gets it */
		if (s->vnc)
			send_key(s, key);
		app_dirty(app);
		return;
	}
	switch (key) {
	case 'b':
		if (s->hostport)
			app_quit(app, false); /* --vnc: nothing to go back to */
		else
			app_pop(app); /* frees s */
		return;
	case 's':
		if (s->scrolling)
			s->scrolling = false;
		else
			scroll_enter(s);
		clamp_view(s, LINES - 2);
		break;
	case 'p':
		if (s->vnc)
			s->view = showing_picture(s) ? VIEW_TEXT : VIEW_PICTURE;
		break;
	case 'u':
		if (!s->vnc || !vnc_refresh(s->vnc))
			app_message(app, MSG_ERROR, "Not connected: nothing to refresh");
		break;
	case 't':
		ask(s, "Type a text", "Text", "", true, on_type_text);
		break;
	case 'f':
		ask(s, "Type a file's content", "File", "", false, on_type_file);
		break;
	case 'd':
		if (s->vnc) {
			vnc_send_key(s->vnc, XK_Control_L, true);
			vnc_send_key(s->vnc, XK_Alt_L, true);
			tap(s->vnc, XK_Delete);
			vnc_send_key(s->vnc, XK_Alt_L, false);
			vnc_send_key(s->vnc, XK_Control_L, false);
		}
		break;
	case 'r':
		s->view = VIEW_AUTO;
		start(s);
		break;
	case 'k': /* the next keyboard layout, for this session */
		s->keymap = (s->keymap + 1) % KEYMAP_COUNT;
		if (s->vnc)
			vnc_set_keymap(s->vnc, s->keymap);
		app_message(app, MSG_INFO, "Guest keyboard layout: %s (%s)%s", keymap_name(s->keymap), keymap_names(),
			    s->vnc && !vnc_scancodes(s->vnc) ? "; this console takes characters, so it does not matter here"
							     : "");
		break;
	}
	app_dirty(app);
}

static int console_key(struct app *app, void *st, int key)
{
	struct console_screen *s = st;

	if (s->menu) {
		menu_pick(app, s, key);
		return EV_HANDLED;
	}
	if (s->typing && key == s->escape) {
		app_message(app, MSG_INFO, "Typing cancelled after %zu of %zu characters", s->typed, s->ntyping);
		typing_stop(s);
		app_dirty(app);
		return EV_HANDLED;
	}
	if (s->scrolling && scroll_key(app, s, key) == EV_HANDLED)
		return EV_HANDLED;
	if (key == s->escape) {
		s->menu = true;
		app_dirty(app);
		return EV_HANDLED;
	}
	if (!s->vnc || vnc_state(s->vnc, NULL, NULL, NULL) != VNC_CONNECTED)
		return key == 'r' ? (start(s), app_dirty(app), EV_HANDLED) : EV_IGNORED; /* q, Esc: back */
	send_key(s, key);
	return EV_HANDLED;
}

static void console_describe(struct app *app, void *st, char *buf, size_t n)
{
	struct console_screen *s = st;

	snprintf(buf, n, "Console: %s%s", s->name[0] ? s->name : "?", s->scrolling ? " (scrollback)" : "");
}

static bool in_scrollback(struct app *app, void *st)
{
	return ((struct console_screen *)st)->scrolling;
}

/* The keys the console handles itself (console_key), listed for the key
 * bar and the help. The escape key's entry is set from the configuration. */
static struct screen_key keys[] = {
	{XK_CTRL(']'), "Menu",
	 "Console menu (the escape key, preferences.console_escape): b back, s scrollback, p text/picture, "
	 "u refresh, t type a text, f type a file, d Ctrl-Alt-Del, r reconnect, k the guest's keyboard layout "
	 "(us, de, fr, uk; preferences.console_keymap); pressed twice it goes to the "
	 "guest. Every other key goes to the guest",
	 NULL, NULL, true},
	{XK_PGUP, "Page", "Scrollback: a page up or down (PgUp/PgDn; Up/Down, Home/End a line, the ends)", NULL,
	 in_scrollback, true},
	{'/', "Search", "Scrollback: search for a text (either case) from the first line shown downward, as less does; "
	 "n the next match below, N the one above; matches highlighted",
	 NULL, in_scrollback, true},
	{'v', "Mark", "Scrollback: mark the line under the cursor; the region is from there to the cursor", NULL,
	 in_scrollback, true},
	{'w', "File", "Scrollback: write the region (or the cursor's line) to a file, atomically; "
	 "asks before replacing a file and shows where a path with .. leads", NULL,
	 in_scrollback, true},
	{'y', "Clipboard",
	 "Scrollback: copy the region to the terminal's clipboard with OSC 52 (only with "
	 "preferences.console_osc52 = true or XENTUI_OSC52=1)",
	 NULL, in_scrollback, true},
	{XK_ESC, "Live", "Scrollback: back to the live console", NULL, in_scrollback, true},
	{0, NULL, NULL, NULL, NULL, false},
};

/* While connected, every key but the escape key goes to the guest, so the
 * key bar shows the escape key and what it offers, not `:` `?` `q`. In the
 * scrollback, or without a session, the usual bar (those keys work). */
static const char *const *console_keybar(struct app *app, void *st)
{
	struct console_screen *s = st;
	static const char *const menu[] = {"b", "Back", "s", "Scrollback", "p", "Text/picture", "u", "Refresh",
					   "t", "Type text", "f", "Type file", "d", "Ctrl-Alt-Del", "r",
					   "Reconnect", "k", "Layout", NULL};
	static const char *const live[] = {"b", "Back", "s", "Scrollback", "p", "Text/picture", "t", "Type text",
					   "d", "Ctrl-Alt-Del", "r", "Reconnect", NULL};
	const char *const *from = live;
	size_t n = 0;

	escape_name(s->escape, s->esc_name, sizeof(s->esc_name));
	if (s->menu) {
		from = menu;
	} else if (s->scrolling || !s->vnc || vnc_state(s->vnc, NULL, NULL, NULL) != VNC_CONNECTED) {
		return NULL;
	} else if (s->typing) {
		from = NULL;
		s->bar[n++] = s->esc_name;
		s->bar[n++] = "Cancel typing";
	} else {
		s->bar[n++] = s->esc_name;
		s->bar[n++] = "then:";
	}
	for (; from && *from; from++)
		s->bar[n++] = *from;
	if (s->menu) {
		snprintf(s->esc_send, sizeof(s->esc_send), "Send %s", s->esc_name);
		s->bar[n++] = s->esc_name;
		s->bar[n++] = s->esc_send;
	} else {
		s->bar[n++] = "";
		s->bar[n++] = "other keys go to the guest";
	}
	s->bar[n] = NULL;
	return s->bar;
}

static void *console_enter_keys(struct app *app, const void *arg)
{
	struct console_screen *s = console_enter(app, arg);

	keys[0].key = s->escape; /* one console at a time: the table follows it */
	return s;
}

const struct screen screen_console = {
	.name = "console",
	.title = "Console",
	.keys = keys,
	.enter = console_enter_keys,
	.leave = console_leave,
	.draw = console_draw,
	.key = console_key,
	.describe = console_describe,
	.keybar = console_keybar,
};
