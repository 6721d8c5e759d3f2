#include "term.h"

#include <curses.h>
#include <term.h>
#include <langinfo.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "draw.h"
#include "util.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

static SCREEN *screen;
static volatile sig_atomic_t active;

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGQUIT};
#define NFATAL (ARRAY_LEN(fatal_signals))
static struct sigaction previous[NFATAL];

void term_stop(void)
{
	if (!active)
		return;
	active = 0;
	curs_set(1);
	endwin();
}

/* Puts the terminal back, then lets the previous handler (ASan's report,
 * a core dump) do what it would have done. */
static void on_fatal(int sig)
{
	term_stop();
	for (size_t i = 0; i < NFATAL; i++)
		if (fatal_signals[i] == sig)
			sigaction(sig, &previous[i], NULL);
	raise(sig);
}

static void at_exit(void)
{
	term_stop();
}

bool term_start(char **err)
{
	struct sigaction sa;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		*err = xstrdup("the full-screen interface needs a terminal; for scripts use `xentui list`");
		return false;
	}
	screen = newterm(NULL, stdout, stdin);
	if (!screen) {
		const char *t = getenv("TERM");
		*err = xasprintf("cannot use the terminal type '%s' (is TERM right?)", t ? t : "");
		return false;
	}
	set_term(screen);
	{
		/* a terminal that cannot move the cursor (dumb, a printer) draws
		 * nothing but the last line: refused as an unknown one is */
		const char *cup = tigetstr("cup");
		if (!cup || cup == (char *)-1 || tigetflag("hc") > 0) {
			const char *t = getenv("TERM");
			*err = xasprintf("the terminal type '%s' cannot move the cursor, which the full-screen interface "
					 "needs (is TERM right? e.g. TERM=xterm-256color); for scripts use `xentui list`",
					 t ? t : "");
			endwin();
			delscreen(screen);
			screen = NULL;
			return false;
		}
	}
	active = 1;
	ui_set_utf8(strcmp(nl_langinfo(CODESET), "UTF-8") == 0);
	ui_set_console_font(strncmp(termname(), "linux", 5) == 0);
	cbreak(); /* ^C stays a signal: the loop turns it into a clean quit */
	noecho();
	nonl();
	intrflush(stdscr, FALSE);
	keypad(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NFATAL; i++)
		sigaction(fatal_signals[i], &sa, &previous[i]);
	atexit(at_exit);
#if defined(__SANITIZE_ADDRESS__)
	/* a sanitizer's report ends the process without exit handlers or signals */
	__sanitizer_set_death_callback(at_exit);
#endif
	return true;
}

void term_free(void)
{
	term_stop();
	for (size_t i = 0; i < NFATAL; i++)
		sigaction(fatal_signals[i], &previous[i], NULL);
	if (screen) {
		delscreen(screen);
		screen = NULL;
	}
}

void term_resize(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resize_term(ws.ws_row, ws.ws_col);
}
