/* A list of groups in a configuration's text edited in place, changing
 * nothing else: every other byte, every comment and every group left as it
 * was is kept as written. libconfig's writer would drop the comments. The
 * servers list is written here; the backup job form (screens/backups_jobedit.c)
 * uses the same scanner for backup_jobs. */
#ifndef XENTUI_CFGEDIT_H
#define XENTUI_CFGEDIT_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct buf;

struct cfgedit_span {
	size_t a, b; /* [a, b) */
};

/* libconfig's lexis: the end of a comment starting at i (i when none
 * starts there), past the string quoted at i, past blanks and comments
 * from i, and whether c may stand in a setting's name. */
size_t cfgedit_comment_end(const char *t, size_t n, size_t i);
size_t cfgedit_string_end(const char *t, size_t n, size_t i);
size_t cfgedit_skip_blank(const char *t, size_t n, size_t i);
bool cfgedit_is_name_char(char c);

/* v as a libconfig string literal, quotes included. */
void cfgedit_put_quoted(struct buf *o, const char *v);

#define CFGEDIT_MAX_ITEMS 4096

/* Where a top-level list is: the setting [set.a, set.b) with its
 * terminator, its brackets, its groups and the comments inside it. */
struct cfgedit_list {
	struct cfgedit_span set;
	size_t open, close;
	struct cfgedit_span elem[CFGEDIT_MAX_ITEMS];
	int nelem;
	struct cfgedit_span comment[CFGEDIT_MAX_ITEMS];
	int ncomment;
};

/* Finds the top-level setting `name = ( ... )` in text (n bytes). False
 * when the text has none (*err untouched) or with *err (to free) when it
 * cannot be edited. */
bool cfgedit_find_list(const char *t, size_t n, const char *name, struct cfgedit_list *L, char **err);

/* text (len bytes, may be empty) with its top-level `servers = ( ... );`
 * replaced by servers[0..n), or such a list appended when the text has none.
 * old[0..nold) are the servers as the text holds them, in order (nold < 0:
 * unknown; then no server is kept as written). Comments inside the old list
 * stay: with their server, or at the list's end when it is removed. Returns
 * the new text (to free), or NULL with *err when the list cannot be found. */
char *cfgedit_servers(const char *text, size_t len, const struct server_cfg *old, int nold,
		      const struct server_cfg *servers, int n, char **err);

#endif
