/* The simulated VM / dom0 text console served over RFB: see console.h.
 *
 * A console is a grid of 80x25 cells (code point + VGA attribute) mirrored in
 * a 32 bpp framebuffer the way VGA text mode shows it: 9x16 pixel cells, an
 * 8-pixel glyph from the console font plus a 9th column that is blank except
 * for the line-drawing characters 0xC0-0xDF, which repeat their 8th column so
 * that horizontal lines join. Changes go to the grid and mark cells dirty;
 * flush() then draws just those cells and marks their rectangles modified.
 * Lines scrolled meanwhile become one CopyRect (libvncserver cannot chain two
 * copies of one region within an update and would resend the whole screen),
 * so the update after a key press or a short command is a few hundred bytes.
 *
 * Threading: libvncserver keeps process-wide state (the client list mutex it
 * re-initialises in rfbGetScreen, static encoder buffers), so every call into
 * it, including flush(), which copies and marks regions, runs under vnc_lock. The
 * lock is never held while waiting for the network: the session thread
 * poll()s the socket itself and then lets rfbProcessEvents handle what came. */
#include "console.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include <rfb/keysym.h>
#include <rfb/rfb.h>

#include "psf.h"
#include "util.h"

#define COLS SIM_CONSOLE_COLS
#define ROWS SIM_CONSOLE_ROWS
#define CELL_W SIM_CONSOLE_CELL_W
#define CELL_H SIM_CONSOLE_CELL_H
#define FB_W SIM_CONSOLE_WIDTH
#define FB_H SIM_CONSOLE_HEIGHT

#define INPUT_MAX 240     /* code points on the command line */
#define MAX_ARGS 32
#define CURSOR_TOP 14     /* underline cursor on scan lines 14-15, as the VGA BIOS sets it */
#define ATTR_NORMAL 0x07  /* light grey on black */
#define ATTR_BRIGHT 0x0F  /* white on black */
#define POLL_MS 250       /* how long the loop sleeps on a silent connection */

/* The standard VGA 16-colour palette. */
static const uint8_t vga_rgb[16][3] = {
	{0x00, 0x00, 0x00}, {0x00, 0x00, 0xAA}, {0x00, 0xAA, 0x00}, {0x00, 0xAA, 0xAA},
	{0xAA, 0x00, 0x00}, {0xAA, 0x00, 0xAA}, {0xAA, 0x55, 0x00}, {0xAA, 0xAA, 0xAA},
	{0x55, 0x55, 0x55}, {0x55, 0x55, 0xFF}, {0x55, 0xFF, 0x55}, {0x55, 0xFF, 0xFF},
	{0xFF, 0x55, 0x55}, {0xFF, 0x55, 0xFF}, {0xFF, 0xFF, 0x55}, {0xFF, 0xFF, 0xFF},
};

struct cell {
	uint32_t cp;
	uint8_t attr;
};

/* What the console shows: the shell, or one of the fixed screens. */
enum screen_mode { MODE_SHELL, MODE_XSCONSOLE, MODE_WINBOOT, MODE_WINRECOVERY, MODE_BIOS };

struct console {
	rfbScreenInfoPtr screen;
	uint32_t *fb;
	uint32_t palette[16]; /* VGA colours in the screen's pixel format */
	struct psf_font *font;
	int fallback_glyph;

	struct cell cells[ROWS][COLS];
	int row, col;         /* col == COLS: a wrap is pending, as on a real console */
	uint8_t attr;
	int dirty_lo[ROWS];   /* columns changed per row since the last flush; lo > hi: none */
	int dirty_hi[ROWS];
	int pending_scroll;   /* lines scrolled since the last flush */
	int fb_cursor_row;    /* where the framebuffer shows the cursor (-1: nowhere) */
	int fb_cursor_col;

	uint32_t input[INPUT_MAX];
	size_t input_len;
	int ctrl_down;        /* Control keys held (left and right count separately) */

	bool graphics;        /* `graphics` drew a picture: the next key brings the text back */

	enum screen_mode mode;
	int menu_sel;         /* the highlighted entry of a fixed screen's menu */
	bool cursor_hidden;   /* fixed screens show no cursor */
	unsigned char (*rom)[CELL_H]; /* the VGA ROM font, 256 glyphs by byte; NULL: c->font */

	char *title;
	char *hostname;
	char *os_line;
	bool is_dom0;
};

struct command {
	const char *name;
	void (*run)(struct console *c, int argc, char **argv);
};

static pthread_mutex_t vnc_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t log_once = PTHREAD_ONCE_INIT;
static bool vnc_log_enabled;

/* ---- libvncserver logging ------------------------------------------------ */

/* libvncserver logs every connection (and, on a socketpair, a TCP_NODELAY
 * failure) through rfbLog/rfbErr; that is noise in test logs unless asked for. */
static void vnc_log(const char *fmt, ...)
{
	va_list ap;

	if (!vnc_log_enabled)
		return;
	va_start(ap, fmt);
	fputs("xapi-sim: vnc: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

static void setup_logging(void)
{
	const char *v = getenv("XAPI_SIM_VNC_LOG");

	vnc_log_enabled = v && *v && strcmp(v, "0") != 0;
	rfbLog = vnc_log;
	rfbErr = vnc_log;
}

/* ---- drawing cells ------------------------------------------------------- */

static int glyph_index(const struct console *c, uint32_t cp)
{
	int g = psf_glyph_for(c->font, cp);

	return g >= 0 ? g : c->fallback_glyph;
}

static int cursor_col(const struct console *c)
{
	return c->col < COLS ? c->col : COLS - 1;
}

static void mark_dirty(struct console *c, int r, int x)
{
	if (c->dirty_lo[r] > x)
		c->dirty_lo[r] = x;
	if (c->dirty_hi[r] < x)
		c->dirty_hi[r] = x;
}

/* The byte VGA text mode stores for a code point (code page 437), '?' if none. */
static unsigned rom_byte(uint32_t cp)
{
	for (unsigned b = 1; b < 256; b++)
		if (psf_cp437((unsigned char)b) == cp)
			return b;
	return cp == 0 ? 0 : '?';
}

static void draw_cell(struct console *c, int r, int x)
{
	const struct cell *ce = &c->cells[r][x];
	const unsigned char *bits;
	uint32_t fg = c->palette[ce->attr & 0x0F], bg = c->palette[ce->attr >> 4 & 0x0F];
	bool cursor = !c->cursor_hidden && r == c->row && x == cursor_col(c);
	bool ninth;
	int y, i;

	if (c->rom) { /* the card repeats the 8th column for bytes 0xC0-0xDF */
		unsigned b = rom_byte(ce->cp);

		bits = c->rom[b];
		ninth = b >= 0xC0 && b <= 0xDF;
	} else {
		bits = psf_glyph(c->font, (unsigned)glyph_index(c, ce->cp));
		ninth = psf_vga_line_graphics(ce->cp);
	}

	for (y = 0; y < CELL_H; y++) {
		uint32_t *px = c->fb + (size_t)(r * CELL_H + y) * FB_W + (size_t)x * CELL_W;
		unsigned row = bits[y];

		if (cursor && y >= CURSOR_TOP) {
			for (i = 0; i < CELL_W; i++)
				px[i] = fg;
			continue;
		}
		for (i = 0; i < 8; i++)
			px[i] = (row & (0x80u >> i)) ? fg : bg;
		px[8] = (ninth && (row & 1)) ? fg : bg;
	}
}

static void set_cell(struct console *c, int r, int x, uint32_t cp, uint8_t attr)
{
	c->cells[r][x].cp = cp;
	c->cells[r][x].attr = attr;
	mark_dirty(c, r, x);
}

/* Brings the framebuffer up to the grid and tells the clients: first the
 * scroll as one copy, then the dirty cells (with the cursor where it is now),
 * one rectangle a row. */
static void flush(struct console *c)
{
	int k = c->pending_scroll, r, x;

	if (k > 0 && k < ROWS)
		rfbDoCopyRect(c->screen, 0, 0, FB_W, FB_H - k * CELL_H, 0, -k * CELL_H);
	c->pending_scroll = 0;
	if (c->fb_cursor_row != c->row || c->fb_cursor_col != cursor_col(c)) {
		if (c->fb_cursor_row >= 0)
			mark_dirty(c, c->fb_cursor_row, c->fb_cursor_col);
		mark_dirty(c, c->row, cursor_col(c));
		c->fb_cursor_row = c->row;
		c->fb_cursor_col = cursor_col(c);
	}
	for (r = 0; r < ROWS; r++) {
		if (c->dirty_lo[r] > c->dirty_hi[r])
			continue;
		for (x = c->dirty_lo[r]; x <= c->dirty_hi[r]; x++)
			draw_cell(c, r, x);
		rfbMarkRectAsModified(c->screen, c->dirty_lo[r] * CELL_W, r * CELL_H,
				      (c->dirty_hi[r] + 1) * CELL_W, (r + 1) * CELL_H);
		c->dirty_lo[r] = COLS;
		c->dirty_hi[r] = -1;
	}
}

static void clear_row(struct console *c, int r)
{
	int x;

	for (x = 0; x < COLS; x++)
		set_cell(c, r, x, ' ', c->attr);
}

/* One line up. The framebuffer follows at the next flush; until then the
 * dirty marks and the drawn cursor move with the lines they belong to. A
 * screenful of scrolling leaves every row dirty, so no copy is needed then. */
static void scroll_up(struct console *c)
{
	memmove(c->cells[0], c->cells[1], sizeof(c->cells[0]) * (ROWS - 1));
	memmove(c->dirty_lo, c->dirty_lo + 1, sizeof(c->dirty_lo[0]) * (ROWS - 1));
	memmove(c->dirty_hi, c->dirty_hi + 1, sizeof(c->dirty_hi[0]) * (ROWS - 1));
	c->dirty_lo[ROWS - 1] = COLS;
	c->dirty_hi[ROWS - 1] = -1;
	if (c->pending_scroll < ROWS)
		c->pending_scroll++;
	if (c->fb_cursor_row >= 0)
		c->fb_cursor_row--;
	clear_row(c, ROWS - 1);
}

static void clear_screen(struct console *c)
{
	int r;

	for (r = 0; r < ROWS; r++)
		clear_row(c, r);
	c->pending_scroll = 0; /* every cell is redrawn anyway */
	c->row = 0;
	c->col = 0;
}

/* ---- text output --------------------------------------------------------- */

static void newline(struct console *c)
{
	c->col = 0;
	if (c->row == ROWS - 1)
		scroll_up(c);
	else
		c->row++;
}

static void put_cp(struct console *c, uint32_t cp)
{
	if (c->col >= COLS)
		newline(c);
	set_cell(c, c->row, c->col, cp, c->attr);
	c->col++;
}

/* Decodes one UTF-8 character; a stray byte stands for U+FFFD. */
static uint32_t utf8_decode(const char **sp)
{
	const unsigned char *s = (const unsigned char *)*sp;
	unsigned n, i;
	uint32_t cp;

	if (s[0] < 0x80) {
		*sp += 1;
		return s[0];
	}
	if ((s[0] & 0xE0) == 0xC0) {
		n = 1;
		cp = s[0] & 0x1F;
	} else if ((s[0] & 0xF0) == 0xE0) {
		n = 2;
		cp = s[0] & 0x0F;
	} else if ((s[0] & 0xF8) == 0xF0) {
		n = 3;
		cp = s[0] & 0x07;
	} else {
		*sp += 1;
		return 0xFFFD;
	}
	for (i = 1; i <= n; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			*sp += i;
			return 0xFFFD;
		}
		cp = cp << 6 | (s[i] & 0x3F);
	}
	*sp += n + 1;
	return cp;
}

static void utf8_encode(struct buf *b, uint32_t cp)
{
	char s[4];

	if (cp < 0x80) {
		buf_putc(b, (char)cp);
	} else if (cp < 0x800) {
		s[0] = (char)(0xC0 | cp >> 6);
		s[1] = (char)(0x80 | (cp & 0x3F));
		buf_append(b, s, 2);
	} else if (cp < 0x10000) {
		s[0] = (char)(0xE0 | cp >> 12);
		s[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		s[2] = (char)(0x80 | (cp & 0x3F));
		buf_append(b, s, 3);
	} else {
		s[0] = (char)(0xF0 | cp >> 18);
		s[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		s[2] = (char)(0x80 | (cp >> 6 & 0x3F));
		s[3] = (char)(0x80 | (cp & 0x3F));
		buf_append(b, s, 4);
	}
}

static void out(struct console *c, const char *s)
{
	while (*s) {
		uint32_t cp = utf8_decode(&s);

		if (cp == '\n') {
			newline(c);
		} else if (cp == '\t') {
			do
				put_cp(c, ' ');
			while (c->col % 8 && c->col < COLS);
		} else {
			put_cp(c, cp);
		}
	}
}

static void outf(struct console *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void outf(struct console *c, const char *fmt, ...)
{
	struct buf b;
	va_list ap;

	buf_init(&b);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (b.data)
		out(c, b.data);
	buf_free(&b);
}

/* ---- the simulated system ------------------------------------------------ */

static const char *kernel_release(const struct console *c)
{
	return c->is_dom0 ? "4.19.0+1" : "6.1.0-18-amd64";
}

static const char *kernel_version(const struct console *c)
{
	return c->is_dom0 ? "#1 SMP" : "#1 SMP Debian";
}

static void prompt(struct console *c)
{
	if (c->is_dom0)
		outf(c, "[root@%s ~]# ", c->hostname);
	else
		outf(c, "root@%s:~# ", c->hostname);
}

static void banner(struct console *c)
{
	if (c->is_dom0) {
		c->attr = ATTR_BRIGHT;
		outf(c, "%s\n", c->os_line);
		c->attr = ATTR_NORMAL;
		outf(c, "Kernel %s on an x86_64\n\n", kernel_release(c));
		outf(c, "%s login: root (automatic login)\n\n", c->hostname);
	} else {
		outf(c, "%s %s tty1\n\n", c->os_line, c->hostname);
		outf(c, "%s login: root (automatic login)\n", c->hostname);
		outf(c, "Linux %s %s %s x86_64\n\n", c->hostname, kernel_release(c), kernel_version(c));
		out(c, "The programs included with the Debian GNU/Linux system are free software;\n"
		       "the exact distribution terms for each program are described in the\n"
		       "individual files in /usr/share/doc/*/copyright.\n\n"
		       "Debian GNU/Linux comes with ABSOLUTELY NO WARRANTY, to the extent\n"
		       "permitted by applicable law.\n");
	}
	out(c, "This is a simulated console (xapi-sim); type 'help' for its commands.\n");
}

static void cmd_help(struct console *c, int argc, char **argv)
{
	out(c, "Commands of this simulated console:\n"
	       "  help               this list\n"
	       "  hostname           print the host name\n"
	       "  uname [-asnrvmo]   print system information\n"
	       "  echo [TEXT...]     print TEXT\n"
	       "  clear              clear the screen (also Ctrl-L)\n"
	       "  ls [/]  pwd  whoami  uptime\n"
	       "  seq [FIRST] LAST   print the numbers FIRST to LAST\n"
	       "  graphics           show a picture until a key is pressed\n"
	       "  exit               log out (and back in)\n"
	       "Keys: Backspace, Enter, Ctrl-C (cancel line), Ctrl-U (erase line).\n");
}

static void cmd_hostname(struct console *c, int argc, char **argv)
{
	outf(c, "%s\n", c->hostname);
}

static void cmd_uname(struct console *c, int argc, char **argv)
{
	const char *order = "snrvmo";
	bool want[6] = {false};
	bool any = false, first = true;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] != '-' || !a[1]) {
			outf(c, "uname: extra operand '%s'\nTry 'uname --help' for more information.\n", a);
			return;
		}
		for (a++; *a; a++) {
			const char *p = strchr(order, *a);

			if (*a == 'a') {
				memset(want, 1, sizeof(want));
			} else if (p) {
				want[p - order] = true;
			} else {
				outf(c, "uname: invalid option -- '%c'\n"
					"Try 'uname --help' for more information.\n", *a);
				return;
			}
			any = true;
		}
	}
	if (!any)
		want[0] = true;
	for (i = 0; i < 6; i++) {
		const char *v[] = {"Linux", c->hostname, kernel_release(c), kernel_version(c), "x86_64",
				   "GNU/Linux"};

		if (!want[i])
			continue;
		outf(c, "%s%s", first ? "" : " ", v[i]);
		first = false;
	}
	out(c, "\n");
}

static void cmd_echo(struct console *c, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		outf(c, "%s%s", i > 1 ? " " : "", argv[i]);
	out(c, "\n");
}

static void cmd_clear(struct console *c, int argc, char **argv)
{
	clear_screen(c);
}

static void cmd_ls(struct console *c, int argc, char **argv)
{
	const char *path = NULL;
	int i;

	for (i = 1; i < argc; i++)
		if (argv[i][0] != '-')
			path = argv[i];
	if (!path || !strcmp(path, "~") || !strcmp(path, ".") || !strcmp(path, "/root"))
		out(c, c->is_dom0 ? "anaconda-ks.cfg\n" : "backup.sh  notes.txt\n");
	else if (!strcmp(path, "/"))
		out(c, "bin   dev  home  lib64  mnt  proc  run   srv  tmp  var\n"
		       "boot  etc  lib   media  opt  root  sbin  sys  usr\n");
	else
		outf(c, "ls: cannot access '%s': No such file or directory\n", path);
}

static void cmd_pwd(struct console *c, int argc, char **argv)
{
	out(c, "/root\n");
}

static void cmd_whoami(struct console *c, int argc, char **argv)
{
	out(c, "root\n");
}

static void cmd_uptime(struct console *c, int argc, char **argv)
{
	out(c, " 10:00:00 up 3 days,  2:14,  1 user,  load average: 0.00, 0.01, 0.05\n");
}

/* seq [FIRST] LAST: the numbers, one a line (coreutils' for the simple
 * cases); enough lines scroll the screen. */
static void cmd_seq(struct console *c, int argc, char **argv)
{
	long first = 1, last, i;
	char *end;

	if (argc < 2 || argc > 3) {
		out(c, "seq: missing operand\nTry 'seq --help' for more information.\n");
		return;
	}
	last = strtol(argv[argc - 1], &end, 10);
	if (*end || (argc == 3 && (first = strtol(argv[1], &end, 10), *end))) {
		outf(c, "seq: invalid argument: '%s'\n", argv[argc - 1]);
		return;
	}
	for (i = first; i <= last && i - first < 100000; i++)
		outf(c, "%ld\n", i);
}

/* A graphics screen, as a guest's boot splash or X server shows: colour
 * ramps in every pixel (no text cell in it), a red-led top half over a
 * blue-led bottom half, until a key is pressed. */
static void cmd_graphics(struct console *c, int argc, char **argv)
{
	int x, y, r;

	for (y = 0; y < FB_H; y++)
		for (x = 0; x < FB_W; x++) {
			uint8_t ramp = (uint8_t)(x * 255 / (FB_W - 1)), shade = (uint8_t)(y % 200);
			uint8_t rgb[3];

			if (y < FB_H / 2) {
				rgb[0] = (uint8_t)(200 + (x % 56)), rgb[1] = ramp / 4, rgb[2] = shade / 8;
			} else {
				rgb[0] = shade / 8, rgb[1] = ramp / 4, rgb[2] = (uint8_t)(200 + (x % 56));
			}
			c->fb[(size_t)y * FB_W + (size_t)x] =
				(uint32_t)rgb[0] * c->screen->serverFormat.redMax / 255 << c->screen->serverFormat.redShift |
				(uint32_t)rgb[1] * c->screen->serverFormat.greenMax / 255 << c->screen->serverFormat.greenShift |
				(uint32_t)rgb[2] * c->screen->serverFormat.blueMax / 255 << c->screen->serverFormat.blueShift;
		}
	rfbMarkRectAsModified(c->screen, 0, 0, FB_W, FB_H);
	for (r = 0; r < ROWS; r++) { /* the text comes back at the next key */
		c->dirty_lo[r] = COLS;
		c->dirty_hi[r] = -1;
	}
	c->pending_scroll = 0;
	c->graphics = true;
}

static void cmd_exit(struct console *c, int argc, char **argv)
{
	/* getty logs straight back in: a fresh screen with the banner. */
	clear_screen(c);
	banner(c);
}

static const struct command commands[] = {
	{"help", cmd_help},     {"hostname", cmd_hostname}, {"uname", cmd_uname},
	{"echo", cmd_echo},     {"clear", cmd_clear},       {"ls", cmd_ls},
	{"pwd", cmd_pwd},       {"whoami", cmd_whoami},     {"uptime", cmd_uptime},
	{"exit", cmd_exit},     {"logout", cmd_exit},   {"seq", cmd_seq},
	{"graphics", cmd_graphics},
};

/* Splits a command line into words in place, the shell's way for the simple
 * cases: blanks separate, quotes group, backslash escapes one character. */
static int split_words(char *s, char **argv, int max)
{
	int argc = 0;
	char *w = s;

	while (*s) {
		char quote = 0;

		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || argc == max)
			break;
		argv[argc++] = w;
		while (*s && (quote || (*s != ' ' && *s != '\t'))) {
			if (quote && *s == quote) {
				quote = 0;
				s++;
			} else if (!quote && (*s == '\'' || *s == '"')) {
				quote = *s++;
			} else if (*s == '\\' && s[1] && quote != '\'') {
				*w++ = s[1];
				s += 2;
			} else {
				*w++ = *s++;
			}
		}
		if (*s)
			s++;
		*w++ = '\0';
	}
	return argc;
}

static void run_command(struct console *c, char *line)
{
	char *argv[MAX_ARGS + 1];
	int argc = split_words(line, argv, MAX_ARGS);
	size_t i;

	if (argc == 0)
		return;
	argv[argc] = NULL;
	for (i = 0; i < ARRAY_LEN(commands); i++) {
		if (!strcmp(argv[0], commands[i].name)) {
			commands[i].run(c, argc, argv);
			return;
		}
	}
	outf(c, "bash: %s: command not found\n", argv[0]);
}

/* ---- fixed screens ------------------------------------------------------- */

/* text at row r, column x, in attr (UTF-8; stops at the right edge) */
static void put_at(struct console *c, int r, int x, uint8_t attr, const char *s)
{
	while (*s && x < COLS) {
		uint32_t cp = utf8_decode(&s);

		set_cell(c, r, x++, cp, attr);
	}
}

/* columns x0..x1 of row r blank in attr */
static void fill(struct console *c, int r, int x0, int x1, uint8_t attr)
{
	for (int x = x0; x <= x1; x++)
		set_cell(c, r, x, ' ', attr);
}

/* A box of light lines (xsconsole's curses borders on the Linux console). */
static void light_box(struct console *c, int top, int left, int bottom, int right, uint8_t attr)
{
	for (int x = left + 1; x < right; x++) {
		set_cell(c, top, x, 0x2500, attr);
		set_cell(c, bottom, x, 0x2500, attr);
	}
	for (int r = top + 1; r < bottom; r++) {
		set_cell(c, r, left, 0x2502, attr);
		set_cell(c, r, right, 0x2502, attr);
	}
	set_cell(c, top, left, 0x250C, attr);
	set_cell(c, top, right, 0x2510, attr);
	set_cell(c, bottom, left, 0x2514, attr);
	set_cell(c, bottom, right, 0x2518, attr);
}

static const char *const xsconsole_menu[] = {
	"Status Display", "Network and Management Interface", "Authentication", "Virtual Machines",
	"Disks and Storage Repositories", "Resource Pool Configuration", "Hardware and BIOS Information",
	"Keyboard and Timezone", "Remote Service Configuration", "Backup, Restore and Update",
	"Technical Support", "Reboot or Shutdown", "Local Command Shell", "Quit",
};

#define XS_ITEMS ((int)(ARRAY_LEN(xsconsole_menu)))

/* xsconsole as a host shows it on tty1: a menu pane and the status pane. */
static void draw_xsconsole(struct console *c)
{
	static const char *const status[][2] = {
		{"Management Network Parameters", NULL},
		{"  Device      eth0", ""},
		{"  IP address  10.0.0.2", ""},
		{"  Netmask     255.255.255.0", ""},
		{"  Gateway     10.0.0.1", ""},
	};
	const uint8_t normal = 0x07, bright = 0x0F, sel = 0x70;
	char *ver = xstrdup(c->os_line);
	char *p = strstr(ver, " release ");

	/* "XCP-ng release 8.3.0 (xenenterprise)" -> "XCP-ng 8.3.0" */
	if (p) {
		memmove(p + 1, p + 9, strlen(p + 9) + 1);
		p = strchr(p + 1, ' ');
		if (p)
			*p = '\0';
	}
	c->attr = normal;
	clear_screen(c);
	put_at(c, 0, 1, bright, ver);
	put_at(c, 0, 71, bright, "10:00:00");
	light_box(c, 1, 0, 21, 38, normal);
	light_box(c, 1, 40, 21, 79, normal);
	put_at(c, 2, 2, bright, "Customize System");
	for (int i = 0; i < XS_ITEMS; i++) {
		uint8_t a = i == c->menu_sel ? sel : normal;

		fill(c, 4 + i, 1, 37, a);
		put_at(c, 4 + i, 2, a, xsconsole_menu[i]);
	}
	put_at(c, 2, 42, bright, ver);
	put_at(c, 4, 42, normal, c->hostname);
	for (size_t i = 0; i < ARRAY_LEN(status); i++)
		put_at(c, 6 + (int)i + (i > 0), 42, status[i][1] ? normal : bright, status[i][0]);
	put_at(c, 14, 42, normal, "Press <Enter> to display the SSL key");
	put_at(c, 15, 42, normal, "fingerprints for this host");
	put_at(c, 22, 1, normal, "<Up/Down> Select  <Enter> OK");
	put_at(c, 22, 41, normal, "<Enter> Fingerprints  <F5> Refresh");
	free(ver);
}

static const char *const winboot_menu[] = {"Windows Server 2022", "Windows Server 2019"};

#define WB_ITEMS ((int)(ARRAY_LEN(winboot_menu)))

/* Windows Boot Manager's menu (bootmgr in text mode): grey bars at the top
 * and bottom, the chosen entry white with black text and a '>' at its end. */
static void draw_winboot(struct console *c)
{
	const uint8_t normal = 0x07, bright = 0x0F, bar = 0x70, sel = 0xF0;

	c->attr = normal;
	clear_screen(c);
	fill(c, 0, 0, COLS - 1, bar);
	put_at(c, 0, 30, bar, "Windows Boot Manager");
	put_at(c, 2, 1, bright, "Choose an operating system to start, or press TAB to select a tool:");
	put_at(c, 3, 1, normal, "(Use the arrow keys to highlight your choice, then press ENTER.)");
	for (int i = 0; i < WB_ITEMS; i++) {
		uint8_t a = i == c->menu_sel ? sel : normal;

		fill(c, 5 + i, 2, 77, a);
		put_at(c, 5 + i, 4, a, winboot_menu[i]);
		if (i == c->menu_sel)
			put_at(c, 5 + i, 76, a, ">");
	}
	put_at(c, 14, 1, normal, "To specify an advanced option for this choice, press F8.");
	put_at(c, 16, 1, bright, "Tools:");
	put_at(c, 18, 4, normal, "Windows Memory Diagnostic");
	fill(c, 24, 0, COLS - 1, bar);
	put_at(c, 24, 1, bar, "ENTER=Choose  TAB=Menu  ESC=Cancel");
}

/* Boot Manager's recovery screen when Windows does not start. */
static void draw_winrecovery(struct console *c)
{
	static const char *const text[] = {
		"Windows failed to start. A recent hardware or software change might be the",
		"cause. To fix the problem:",
		"",
		"  1. Insert your Windows installation disc and restart your computer.",
		"  2. Choose your language settings, and then click \"Next.\"",
		"  3. Click \"Repair your computer.\"",
		"",
		"If you do not have this disc, contact your system administrator or computer",
		"manufacturer for assistance.",
	};
	const uint8_t normal = 0x07, bright = 0x0F, bar = 0x70;

	c->attr = normal;
	clear_screen(c);
	fill(c, 0, 0, COLS - 1, bar);
	put_at(c, 0, 30, bar, "Windows Boot Manager");
	for (size_t i = 0; i < ARRAY_LEN(text); i++)
		put_at(c, 2 + (int)i, 1, normal, text[i]);
	put_at(c, 12, 5, bright, "File:");
	put_at(c, 12, 12, normal, "\\Windows\\system32\\winload.efi");
	put_at(c, 14, 5, bright, "Status:");
	put_at(c, 14, 13, normal, "0xc000000e");
	put_at(c, 16, 5, bright, "Info:");
	put_at(c, 16, 11, normal, "The application or operating system couldn't be loaded because a");
	put_at(c, 17, 11, normal, "required file is missing or contains errors.");
	fill(c, 24, 0, COLS - 1, bar);
	put_at(c, 24, 1, bar, "ENTER=Continue  ESC=UEFI Firmware Settings");
}

/* A BIOS POST screen: bright text on blue, a double-lined box (bytes 0xC9-0xCD). */
static void draw_bios(struct console *c)
{
	static const char *const hw[][2] = {
		{"CPU     :", "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz"},
		{"Memory  :", "4096 MB OK"},
		{"Disk 0  :", "QEMU HARDDISK  64 GB"},
		{"CD-ROM  :", "QEMU DVD-ROM"},
		{"Boot    :", "Windows Boot Manager (Disk 0)"},
	};
	const uint8_t text = 0x1F, label = 0x1E, frame = 0x1B, bar = 0x70, key = 0x4F;
	int x, r;

	c->attr = text;
	clear_screen(c);
	for (x = 2; x < 77; x++) {
		set_cell(c, 1, x, 0x2550, frame);
		set_cell(c, 4, x, 0x2550, frame);
	}
	for (r = 2; r < 4; r++) {
		set_cell(c, r, 1, 0x2551, frame);
		set_cell(c, r, 77, 0x2551, frame);
	}
	set_cell(c, 1, 1, 0x2554, frame);
	set_cell(c, 1, 77, 0x2557, frame);
	set_cell(c, 4, 1, 0x255A, frame);
	set_cell(c, 4, 77, 0x255D, frame);
	put_at(c, 2, 3, text, "SimBIOS Setup Utility - Copyright (C) 2026 xapi-sim Virtual Platform");
	put_at(c, 3, 3, label, "BIOS Version 1.16.3          Build Date 04/01/2024");
	for (r = 0; r < (int)(ARRAY_LEN(hw)); r++) {
		put_at(c, 6 + r, 3, label, hw[r][0]);
		put_at(c, 6 + r, 13, text, hw[r][1]);
	}
	put_at(c, 20, 3, text, "Press F2 to enter SETUP, F12 for Network Boot, ESC for Boot Menu");
	fill(c, 22, 3, 26, key);
	put_at(c, 22, 4, key, "Initializing USB ...");
	fill(c, 24, 0, COLS - 1, bar);
	put_at(c, 24, 1, bar, "F1 Help  F2 Setup  F12 Network  ESC Boot Menu");
}

static void draw_screen(struct console *c)
{
	switch (c->mode) {
	case MODE_XSCONSOLE: draw_xsconsole(c); break;
	case MODE_WINBOOT: draw_winboot(c); break;
	case MODE_WINRECOVERY: draw_winrecovery(c); break;
	case MODE_BIOS: draw_bios(c); break;
	case MODE_SHELL: break;
	}
}

/* Up/Down move the highlight of a menu screen; other keys do nothing. */
static void screen_key(struct console *c, rfbKeySym ks)
{
	int n = c->mode == MODE_XSCONSOLE ? XS_ITEMS : c->mode == MODE_WINBOOT ? WB_ITEMS : 0;

	if (n == 0 || (ks != XK_Up && ks != XK_Down && ks != XK_KP_Up && ks != XK_KP_Down))
		return;
	c->menu_sel = (c->menu_sel + ((ks == XK_Up || ks == XK_KP_Up) ? n - 1 : 1)) % n;
	draw_screen(c);
}

/* The VGA ROM font: SeaBIOS's VGA BIOS carries it (the IBM 8x16 table, found
 * by its 'A'); without one, code page 437 from Debian's PSF files. NULL if
 * neither is there. The caller frees it. */
static const char *const vgabios_paths[] = {
	"/usr/share/seabios/vgabios-stdvga.bin", "/usr/share/seabios/vgabios.bin",
	"/usr/share/seabios/vgabios-cirrus.bin", "/usr/share/qemu/vgabios-stdvga.bin", NULL,
};

static unsigned char (*load_rom_font(void))[CELL_H]
{
	static const unsigned char glyph_a[CELL_H] = {0x00, 0x00, 0x10, 0x38, 0x6c, 0xc6, 0xc6, 0xfe,
						      0xc6, 0xc6, 0xc6, 0xc6, 0x00, 0x00, 0x00, 0x00};
	unsigned char (*rom)[CELL_H] = xcalloc(256, CELL_H);
	struct psf_font *fonts[4];
	size_t n;

	for (int i = 0; vgabios_paths[i]; i++) {
		struct buf b;
		unsigned char *d, *a;
		FILE *f = fopen(vgabios_paths[i], "rb");
		char chunk[4096];
		size_t k;

		if (!f)
			continue;
		buf_init(&b);
		while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len < (1u << 20))
			buf_append(&b, chunk, k);
		fclose(f);
		d = (unsigned char *)b.data;
		a = d ? memmem(d, b.len, glyph_a, CELL_H) : NULL;
		/* the table: blank glyph 0, full block at 0xDB */
		if (a && a - d >= 'A' * CELL_H && (size_t)(a - d) + (256 - 'A') * CELL_H <= b.len) {
			unsigned char *t = a - 'A' * CELL_H;
			static const unsigned char zero[CELL_H], full[CELL_H] = {
				0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

			if (!memcmp(t, zero, CELL_H) && !memcmp(t + 0xDB * CELL_H, full, CELL_H)) {
				memcpy(rom, t, 256 * CELL_H);
				buf_free(&b);
				return rom;
			}
		}
		buf_free(&b);
	}
	n = psf_load_vga_rom_fonts(fonts, 4);
	for (unsigned b = 1; b < 256; b++)
		for (size_t i = 0; i < n; i++) {
			int g = psf_glyph_for(fonts[i], psf_cp437((unsigned char)b));

			if (g >= 0) {
				memcpy(rom[b], psf_glyph(fonts[i], (unsigned)g), CELL_H);
				break;
			}
		}
	for (size_t i = 0; i < n; i++)
		psf_free(fonts[i]);
	if (n == 0) {
		free(rom);
		return NULL;
	}
	return rom;
}

static enum screen_mode mode_named(const char *m)
{
	if (!m || !*m || !strcmp(m, "shell"))
		return MODE_SHELL;
	if (!strcmp(m, "xsconsole"))
		return MODE_XSCONSOLE;
	if (!strcmp(m, "winboot"))
		return MODE_WINBOOT;
	if (!strcmp(m, "winrecovery"))
		return MODE_WINRECOVERY;
	if (!strcmp(m, "bios"))
		return MODE_BIOS;
	fprintf(stderr, "xapi-sim: console: no screen named '%s' (shell, xsconsole, winboot, winrecovery, bios); "
		"showing the shell\n", m);
	return MODE_SHELL;
}

/* ---- keyboard ------------------------------------------------------------ */

static void enter(struct console *c)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	for (i = 0; i < c->input_len; i++)
		utf8_encode(&b, c->input[i]);
	c->input_len = 0;
	newline(c);
	if (b.data)
		run_command(c, b.data);
	buf_free(&b);
	if (!c->graphics)
		prompt(c);
}

static void backspace(struct console *c)
{
	if (c->input_len == 0)
		return;
	c->input_len--;
	if (c->col > 0) {
		c->col--;
	} else if (c->row > 0) {
		c->row--;
		c->col = COLS - 1;
	}
	set_cell(c, c->row, c->col, ' ', c->attr);
}

static void type_char(struct console *c, uint32_t cp)
{
	if (c->input_len == INPUT_MAX || cp < 0x20 || cp == 0x7F)
		return;
	c->input[c->input_len++] = cp;
	put_cp(c, cp);
}

static void retype_input(struct console *c)
{
	size_t i;

	for (i = 0; i < c->input_len; i++)
		put_cp(c, c->input[i]);
}

static void control_key(struct console *c, uint32_t cp)
{
	switch (cp | 0x20) {
	case 'c':
		out(c, "^C\n");
		c->input_len = 0;
		prompt(c);
		break;
	case 'd':
		if (c->input_len == 0) {
			cmd_exit(c, 0, NULL);
			prompt(c);
		}
		break;
	case 'l':
		clear_screen(c);
		prompt(c);
		retype_input(c);
		break;
	case 'u':
		while (c->input_len)
			backspace(c);
		break;
	default:
		break;
	}
}

/* The character a key types, or 0: keysyms 0x20-0xFF are Latin-1, 0x01xxxxxx
 * carry a code point, and the keypad types what its keys are labelled. */
static uint32_t keysym_char(rfbKeySym ks)
{
	if ((ks >= 0x20 && ks <= 0x7E) || (ks >= 0xA0 && ks <= 0xFF))
		return ks;
	if (ks >= 0x01000100 && ks <= 0x0110FFFF)
		return ks & 0x00FFFFFF;
	if (ks >= XK_KP_0 && ks <= XK_KP_9)
		return '0' + (ks - XK_KP_0);
	switch (ks) {
	case XK_KP_Space: return ' ';
	case XK_KP_Multiply: return '*';
	case XK_KP_Add: return '+';
	case XK_KP_Subtract: return '-';
	case XK_KP_Decimal: return '.';
	case XK_KP_Divide: return '/';
	case XK_KP_Equal: return '=';
	default: return 0;
	}
}

static void handle_key(struct console *c, rfbKeySym ks)
{
	uint32_t cp;

	switch (ks) {
	case XK_Return:
	case XK_KP_Enter:
		enter(c);
		return;
	case XK_BackSpace:
		backspace(c);
		return;
	default:
		break;
	}
	cp = keysym_char(ks);
	if (!cp)
		return;
	if (c->ctrl_down > 0 && cp < 0x80 && ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z'))
		control_key(c, cp);
	else
		type_char(c, cp);
}

/* Called by rfbProcessEvents, so already under vnc_lock. */
static void on_key(rfbBool down, rfbKeySym ks, rfbClientPtr cl)
{
	struct console *c = cl->screen->screenData;

	if (ks == XK_Control_L || ks == XK_Control_R) {
		c->ctrl_down += down ? 1 : -1;
		if (c->ctrl_down < 0)
			c->ctrl_down = 0;
		return;
	}
	if (!down)
		return;
	if (c->graphics) { /* any key leaves the picture: every cell drawn again */
		c->graphics = false;
		prompt(c);
		for (int r = 0; r < ROWS; r++)
			mark_dirty(c, r, 0), mark_dirty(c, r, COLS - 1);
		c->fb_cursor_row = -1;
		flush(c);
		return;
	}
	if (c->mode != MODE_SHELL)
		screen_key(c, ks);
	else
		handle_key(c, ks);
	flush(c);
}

static void on_release_all_keys(rfbClientPtr cl)
{
	struct console *c = cl->screen->screenData;

	c->ctrl_down = 0;
}

/* ---- session ------------------------------------------------------------- */

/* A host name as a VM's name_label would become one: lower case, [a-z0-9-]. */
static char *hostname_from(const char *title)
{
	char *h = xstrdup(title && *title ? title : "localhost");
	char *p;

	for (p = h; *p; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
		else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			*p = '-';
	}
	return h;
}

static struct console *console_new(const struct sim_console_info *info, struct psf_font *font)
{
	struct console *c = xcalloc(1, sizeof(*c));
	int r, g;

	c->font = font;
	g = psf_glyph_for(font, 0xFFFD);
	if (g < 0)
		g = psf_glyph_for(font, '?');
	c->fallback_glyph = g >= 0 ? g : 0;
	c->is_dom0 = info->is_dom0;
	c->title = xstrdup(info->title && *info->title ? info->title : (info->is_dom0 ? "dom0" : "vm"));
	c->hostname = info->hostname && *info->hostname ? xstrdup(info->hostname) : hostname_from(info->title);
	if (info->os_line && *info->os_line)
		c->os_line = xstrdup(info->os_line);
	else
		c->os_line = xstrdup(info->is_dom0 ? "XCP-ng release 8.3.0 (xenenterprise)" : "Debian GNU/Linux 12");
	c->attr = ATTR_NORMAL;
	c->mode = mode_named(info->mode);
	c->cursor_hidden = c->mode != MODE_SHELL;
	c->fb_cursor_row = -1;
	for (r = 0; r < ROWS; r++) {
		c->dirty_lo[r] = COLS;
		c->dirty_hi[r] = -1;
	}
	return c;
}

static void console_free(struct console *c)
{
	psf_free(c->font);
	free(c->rom);
	free(c->title);
	free(c->hostname);
	free(c->os_line);
	free(c);
}

static void make_palette(struct console *c)
{
	const rfbPixelFormat *f = &c->screen->serverFormat;
	int i;

	for (i = 0; i < 16; i++)
		c->palette[i] = (uint32_t)vga_rgb[i][0] * f->redMax / 255 << f->redShift |
				(uint32_t)vga_rgb[i][1] * f->greenMax / 255 << f->greenShift |
				(uint32_t)vga_rgb[i][2] * f->blueMax / 255 << f->blueShift;
}

/* A screen without listening sockets: its only client is the socket we are
 * handed. Under vnc_lock. */
static bool screen_create(struct console *c)
{
	static char invisible[] = " ";
	rfbScreenInfoPtr s = rfbGetScreen(NULL, NULL, FB_W, FB_H, 8, 3, 4);
	rfbCursorPtr cursor;

	if (!s)
		return false;
	s->port = 0;
	s->ipv6port = 0;
	s->autoPort = FALSE;
	s->httpPort = 0;
	s->http6Port = 0;
	s->desktopName = c->title;
	s->alwaysShared = TRUE;
	s->deferUpdateTime = 0; /* send at once: our own poll() paces the loop */
	s->screenData = c;
	s->kbdAddEvent = on_key;
	s->kbdReleaseAllKeys = on_release_all_keys;
	/* The default X-shaped pointer would be painted over the top-left cell
	 * for viewers that do not take cursor shapes; a text console has none. */
	cursor = rfbMakeXCursor(1, 1, invisible, invisible);
	if (cursor)
		s->cursor = cursor;
	c->fb = xcalloc((size_t)FB_W * FB_H, sizeof(uint32_t));
	s->frameBuffer = (char *)c->fb;
	c->screen = s;
	make_palette(c);
	rfbInitServer(s);
	return true;
}

/* Under vnc_lock. */
static void screen_destroy(struct console *c)
{
	rfbShutdownServer(c->screen, TRUE);
	rfbScreenCleanup(c->screen);
	c->screen = NULL;
	free(c->fb);
	c->fb = NULL;
}

/* Runs the session until the client list is empty: wait for input without
 * the lock, then let libvncserver read it (and send updates) with it. */
static void serve_loop(struct console *c)
{
	for (;;) {
		int sock;

		pthread_mutex_lock(&vnc_lock);
		sock = c->screen->clientHead ? c->screen->clientHead->sock : -2;
		pthread_mutex_unlock(&vnc_lock);
		if (sock == -2)
			break;
		if (sock >= 0) {
			struct pollfd p = {.fd = sock, .events = POLLIN};

			if (poll(&p, 1, POLL_MS) < 0 && errno != EINTR)
				break; /* cannot happen on a valid fd; do not spin */
		}
		pthread_mutex_lock(&vnc_lock);
		rfbProcessEvents(c->screen, 0);
		pthread_mutex_unlock(&vnc_lock);
	}
}

/* An 8x16 font of /usr/share/consolefonts by name (no path), or NULL with
 * the reason on stderr: the default font is used then. */
static struct psf_font *load_named_font(const char *name)
{
	struct psf_font *f = NULL;
	char *path, *err = NULL;

	if (strchr(name, '/') || name[0] == '.') {
		fprintf(stderr, "xapi-sim: console: font '%s': a name in /usr/share/consolefonts, not a path\n", name);
		return NULL;
	}
	path = xasprintf("/usr/share/consolefonts/%s.psf.gz", name);
	f = psf_load(path, &err);
	if (f && (f->width != 8 || f->height != 16)) {
		fprintf(stderr, "xapi-sim: console: %s is %ux%u, not 8x16; using the default font\n", path, f->width,
			f->height);
		psf_free(f);
		f = NULL;
	} else if (!f) {
		fprintf(stderr, "xapi-sim: console: %s; using the default font\n", err);
	}
	free(err);
	free(path);
	return f;
}

void sim_console_serve(int fd, const struct sim_console_info *info)
{
	struct psf_font *font;
	struct console *c;
	char *err = NULL;
	rfbClientPtr cl = NULL;

	pthread_once(&log_once, setup_logging);
	if (fd < 0 || fd >= FD_SETSIZE) {
		fprintf(stderr, "xapi-sim: console: socket %d is beyond what libvncserver's select() takes\n", fd);
		if (fd >= 0)
			close(fd);
		return;
	}
	font = info->font && *info->font ? load_named_font(info->font) : NULL;
	if (!font)
		font = psf_load_console_font(&err);
	if (!font) {
		fprintf(stderr, "xapi-sim: console: %s\n", err);
		free(err);
		close(fd);
		return;
	}
	c = console_new(info, font);
	if (c->mode == MODE_WINBOOT || c->mode == MODE_WINRECOVERY || c->mode == MODE_BIOS) {
		c->rom = load_rom_font();
		if (!c->rom)
			fprintf(stderr, "xapi-sim: console: no VGA ROM font (SeaBIOS's VGA BIOS or console-data's "
				"default8x16); drawing with the console font\n");
	}

	pthread_mutex_lock(&vnc_lock);
	if (screen_create(c)) {
		clear_screen(c);
		if (c->mode == MODE_SHELL) {
			banner(c);
			prompt(c);
		} else {
			draw_screen(c);
		}
		flush(c);
		/* From here libvncserver owns fd and closes it when the client goes,
		 * including when rfbNewClient itself fails. */
		cl = rfbNewClient(c->screen, fd);
	} else {
		fprintf(stderr, "xapi-sim: console: cannot create an RFB screen\n");
		close(fd);
	}
	pthread_mutex_unlock(&vnc_lock);

	if (cl)
		serve_loop(c);

	pthread_mutex_lock(&vnc_lock);
	if (c->screen)
		screen_destroy(c);
	pthread_mutex_unlock(&vnc_lock);
	console_free(c);
}
