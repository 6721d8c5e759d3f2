/* Colour roles, named once, and the theme that maps each to colours and
 * attributes (themes/NAME.conf, libconfig). Without colours (NO_COLOR, a
 * monochrome terminal) every role falls back to the mono attributes. */
#ifndef XENTUI_UI_THEME_H
#define XENTUI_UI_THEME_H

#include <curses.h>
#include <stdbool.h>

enum role {
	ROLE_NORMAL,       /* body text */
	ROLE_DIM,          /* secondary text, halted VMs */
	ROLE_TITLE,        /* the screen's title line */
	ROLE_STATUS,       /* the status line */
	ROLE_STATUS_ALERT, /* the status line when the connection is in trouble */
	ROLE_HEADER,       /* table column titles, section titles */
	ROLE_SELECTED,     /* the selected row or button */
	ROLE_KEY,          /* key bar: the key */
	ROLE_KEY_LABEL,    /* key bar: what it does */
	ROLE_BORDER,       /* frames, separators */
	ROLE_DIALOG,       /* dialog body */
	ROLE_DIALOG_TITLE, /* dialog frame title */
	ROLE_INPUT,        /* text fields */
	ROLE_GOOD,         /* running, enabled, done */
	ROLE_WARN,         /* suspended, paused, warnings */
	ROLE_BAD,          /* failed, offline, errors */
	ROLE_PROGRESS,     /* progress bar fill */
	ROLE_TAB,          /* an inactive tab */
	ROLE_TAB_ACTIVE,   /* the active tab */
	ROLE_MESSAGE,      /* transient information */
	ROLE_ERROR,        /* transient error */
	ROLE_COUNT
};

/* Loads a theme by name (searched in themes directories) or path; call
 * after initscr. Unknown themes keep the built-in one and say why in *err
 * (the caller shows it); returns false then. */
bool theme_load(const char *name, const char *exe_dir, char **err);
attr_t theme_attr(enum role r);
const char *theme_role_name(enum role r);
/* True when colours are in use (not NO_COLOR, the terminal has them). */
bool theme_colour(void);

#endif
