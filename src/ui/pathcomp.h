/* Completing a path on this computer as a shell's Tab does: the names of
 * its directory that start with what was typed, directories ending in '/',
 * dot files only when a dot was typed, a leading "~/" read as $HOME. */
#ifndef XENTUI_UI_PATHCOMP_H
#define XENTUI_UI_PATHCOMP_H

struct path_matches {
	char **paths; /* whole paths, sorted; directories end in '/' */
	int n;
};

/* The text extended as far as every match agrees (text itself, with "~"
 * expanded, when nothing matches); fills m (free it). Free the result. */
char *path_complete(const char *text, struct path_matches *m);
void path_matches_free(struct path_matches *m);
/* The last component of a match ("dir/" for a directory), inside path. */
const char *path_base(const char *path);

#endif
