/* The configuration file (libconfig): servers, theme, preferences. Errors
 * name the file and the line. */
#ifndef XENTUI_CONFIG_H
#define XENTUI_CONFIG_H

#include <libconfig.h>
#include <stdbool.h>
#include <stdio.h>

struct server_cfg {
	char *name;
	char *url;
	char *user;
	char *password_file;
	char *password_env;
	char *password_command;
	char *fingerprint;
	bool insecure;
	bool autoconnect;
};

struct config {
	char *path;        /* the file read, or the default path */
	char *theme;
	char *known_hosts; /* accepted certificates */
	struct server_cfg *servers;
	int nservers;
	/* lines ("FILE:LINE: ...") about settings read but no longer used,
	 * for the caller to show; NULL when none */
	char *warnings;
	bool confirm_quit;
	bool confirm_clean_power; /* ask before a clean shutdown, reboot or suspend */
	/* the console viewer (preferences): the key that opens its menu ("^]"),
	 * lines of scrollback kept, and whether OSC 52 may set the terminal's
	 * clipboard (also allowed by XENTUI_OSC52=1) */
	char *console_escape;
	int console_scrollback;
	bool console_osc52;
	char *console_keymap; /* the guests' keyboard layout: us, de, fr, uk (src/console/keymap.h) */
	char *transport;      /* "xml", "json" or "auto" (JSON-RPC where answered), or NULL: not set */
	/* at a host's own console (--local): seconds idle before changes lock
	 * again (0: never), and where the root password is checked (default
	 * https://<this host's address>, its certificate /etc/xensource/xapi-ssl.pem) */
	int lock_idle;
	char *lock_url;
	char *lock_fingerprint;
};

/* $XDG_CONFIG_HOME/xentui/<name> (or ~/.config/xentui/<name>). Free it. */
char *config_default_path(const char *name);
/* Reads path (NULL: the default; a missing default file is no error). */
bool config_load(const char *path, struct config *out, char **err);
void config_free(struct config *c);
/* Prints each of c's warnings as "xentui: warning: FILE:LINE: ..." on f. */
void config_print_warnings(const struct config *c, FILE *f);
/* Writes cfg to path through atomic_write (0600, fsync'd, renamed). */
bool config_write_atomic(config_t *cfg, const char *path, char **err);
const struct server_cfg *config_server(const struct config *c, const char *name);
/* Writes the servers back (after the user adds or edits one): atomically,
 * readable by the user only, through a symlink. Only the text of the
 * `servers` list changes (in the file that holds it, an @include'd one
 * too); every other byte, comments included, and each server left as it
 * was are kept as written. A file without servers gets the list appended. */
bool config_save(const struct config *c, char **err);

/* A deep copy of src into dst; server_cfg_free frees what one holds. */
void server_cfg_copy(struct server_cfg *dst, const struct server_cfg *src);
void server_cfg_free(struct server_cfg *s);
/* Adds a copy of sv, or replaces the server named old_name with it. */
void config_put_server(struct config *c, const char *old_name, const struct server_cfg *sv);
bool config_remove_server(struct config *c, const char *name);

#endif
