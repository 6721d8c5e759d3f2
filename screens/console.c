/* A VM's console as terminal text (issue 7): xapi's console proxy, RFB in
 * src/vnc.c, the framebuffer read back as characters by src/fbtext.c. The
 * argument is the VM's qualified ref ("ID/REF"), or "vnc:HOST:PORT" for a
 * plain RFB server (xentui --vnc). Every key goes to the guest
 * as an X keysym except Ctrl-], which opens a small menu. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rfb/keysym.h>
#undef XK_F /* the letter's keysym; keys.h's XK_F(n) is the function key */

#include "app.h"
#include "draw.h"
#include "keys.h"
#include "model.h"
#include "screens.h"
#include "theme.h"
#include "util.h"
#include "vnc.h"
#include "xapi.h"

#define ESCAPE_KEY XK_CTRL(']')
#define PAIR_BASE 32 /* the first pair after the theme's (ROLE_COUNT of them) */

struct console_screen {
	char *qref;     /* the VM; NULL with hostport */
	char *hostport; /* --vnc HOST:PORT: a plain RFB server */
	char name[128];
	char why[384];  /* no session: why ("not running", no console, ...) */
	struct psf_font *font;
	struct vnc *vnc;
	struct app *app;
	bool menu;      /* Ctrl-] was pressed: the next key picks */
};

static void on_notify(struct loop *l, int fd, int events, void *ud)
{
	struct console_screen *s = ud;

	vnc_process(s->vnc);
	app_dirty(s->app);
}

static void stop(struct console_screen *s)
{
	if (!s->vnc)
		return;
	loop_watch(app_loop(s->app), vnc_notify_fd(s->vnc), 0, NULL, NULL);
	vnc_close(s->vnc);
	s->vnc = NULL;
}

/* Opens (or reopens) the session, or says in why what stops it. */
static void start(struct console_screen *s)
{
	struct pool *p = NULL;
	const char *ref = NULL, *location = NULL, *url;
	const struct xv *vm = s->qref ? app_lookup(s->app, s->qref, &p, &ref) : NULL, *consoles;
	char *err = NULL;

	stop(s);
	s->why[0] = '\0';
	if (s->hostport) {
		if (!s->font && !(s->font = psf_load_console_font(&err))) {
			snprintf(s->why, sizeof(s->why), "no console font: %.300s", err);
			free(err);
			return;
		}
		s->vnc = vnc_open_tcp(s->hostport, s->font);
		if (s->vnc)
			loop_watch(app_loop(s->app), vnc_notify_fd(s->vnc), LOOP_IN, on_notify, s);
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
	if (!s->font && !(s->font = psf_load_console_font(&err))) {
		snprintf(s->why, sizeof(s->why), "no console font: %.300s", err);
		free(err);
		return;
	}
	url = xapi_url(p->x);
	s->vnc = vnc_open_xapi(url, location, xapi_session(p->x),
			       strncmp(url, "https:", 6) == 0 ? xapi_seen_fingerprint(p->x) : NULL, s->font);
	if (!s->vnc) {
		snprintf(s->why, sizeof(s->why), "could not start the console session");
		return;
	}
	loop_watch(app_loop(s->app), vnc_notify_fd(s->vnc), LOOP_IN, on_notify, s);
}

static void *console_enter(struct app *app, const void *arg)
{
	struct console_screen *s = xcalloc(1, sizeof(*s));

	s->app = app;
	if (strncmp(arg, "vnc:", 4) == 0) {
		s->hostport = xstrdup((const char *)arg + 4);
		snprintf(s->name, sizeof(s->name), "%s", s->hostport);
	} else {
		s->qref = xstrdup(arg);
	}
	start(s);
	return s;
}

static void console_leave(struct app *app, void *st)
{
	struct console_screen *s = st;

	stop(s);
	psf_free(s->font);
	free(s->qref);
	free(s->hostport);
	free(s);
}

/* The curses attribute of a console cell's colours: a pair per colour
 * combination the guest uses, taken lazily after the theme's pairs (an
 * 8-colour terminal has only 64); bright colours as bold when the terminal
 * has 8 colours; without pairs left, the terminal's default colours. */
static attr_t cell_attr(const struct fbtext_cell *c)
{
	static short pair_of[256]; /* (fg, bg) -> pair, 0: not made yet */
	static short next = PAIR_BASE;
	int fg = c->fg16, bg = c->bg16;
	attr_t extra = 0;

	if (!theme_colour()) /* NO_COLOR, a monochrome terminal */
		return c->bg16 > c->fg16 ? A_REVERSE : A_NORMAL;
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

static void status_line(struct console_screen *s, WINDOW *w, int cols)
{
	char buf[1024];
	const char *reason = "";
	int cw = 0, ch = 0;
	enum role r = ROLE_STATUS;

	if (s->menu) {
		ui_put(w, 0, 0, cols, theme_attr(ROLE_SELECTED),
		       "Console menu: b back  d send Ctrl-Alt-Del  r reconnect  any other key: cancel");
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
			snprintf(buf, sizeof(buf), "%s: connected %dx%d%s   Ctrl-] menu", s->name, cw, ch,
				 fbtext_is_text(vnc_text(s->vnc)) ? "" : " (not a text screen)");
			break;
		case VNC_DISCONNECTED:
			snprintf(buf, sizeof(buf), "%s: disconnected: %s   Ctrl-] r reconnects", s->name, reason);
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
	ft = vnc_text(s->vnc);
	rows = fbtext_rows(ft);
	ncols = fbtext_cols(ft);
	/* every cell is put each frame; curses sends the terminal only the
	 * cells that differ from what it shows */
	for (int r = 0; r < rows && r + 1 < h; r++)
		for (int c = 0; c < ncols && c < cols; c++) {
			const struct fbtext_cell *cell = fbtext_cell(ft, c, r);
			char u[8];
			uint32_t cp = cell->cp == FBTEXT_UNKNOWN ? 0xFFFD : cell->cp;

			if (cp < 0x20)
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
			ui_put(w, r + 1, c, 1, cell_attr(cell) | (cell->cursor ? A_UNDERLINE : 0), u);
		}
}

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

	if (key == XK_BTAB) { /* Shift-Tab */
		vnc_send_key(s->vnc, XK_Shift_L, true);
		tap(s->vnc, XK_Tab);
		vnc_send_key(s->vnc, XK_Shift_L, false);
	} else if (!sym && key >= 1 && key < 32) { /* Ctrl-letter and friends */
		vnc_send_key(s->vnc, XK_Control_L, true);
		tap(s->vnc, key <= 26 ? (uint32_t)('a' + key - 1) : (uint32_t)('@' + key));
		vnc_send_key(s->vnc, XK_Control_L, false);
	} else if (sym) {
		tap(s->vnc, sym);
	}
}

static void menu_pick(struct app *app, struct console_screen *s, int key)
{
	s->menu = false;
	switch (key) {
	case 'b':
		if (s->hostport)
			app_quit(app, false); /* --vnc: nothing to go back to */
		else
			app_pop(app); /* frees s */
		return;
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
		start(s);
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
	if (key == ESCAPE_KEY) {
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

	snprintf(buf, n, "Console: %s", s->name[0] ? s->name : "?");
}

static const struct screen_key keys[] = {
	{ESCAPE_KEY, "Menu", "Console menu: back, send Ctrl-Alt-Del, reconnect (every other key goes to the guest)",
	 NULL, NULL, true},
	{0, NULL, NULL, NULL, NULL, false},
};

const struct screen screen_console = {
	.name = "console",
	.title = "Console",
	.keys = keys,
	.enter = console_enter,
	.leave = console_leave,
	.draw = console_draw,
	.key = console_key,
	.describe = console_describe,
};
