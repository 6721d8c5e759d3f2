#include "pathcomp.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

/* A huge directory is not read whole for one Tab: the first ones do. */
#define MAX_MATCHES 4096

static char *expand_home(const char *text)
{
	const char *home = getenv("HOME");

	if (home && *home && text[0] == '~' && (text[1] == '/' || text[1] == '\0'))
		return xasprintf("%s%s%s", home, text[1] ? "" : "/", text + 1);
	return xstrdup(text);
}

static int by_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add(struct path_matches *m, const char *dir, const char *name)
{
	char *full = xasprintf("%s%s", dir, name);
	struct stat st;

	/* stat, not lstat: a link to a directory is completed as one */
	if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
		char *d = xasprintf("%s/", full);
		free(full);
		full = d;
	}
	m->paths = xrealloc(m->paths, (size_t)(m->n + 1) * sizeof(char *));
	m->paths[m->n++] = full;
}

char *path_complete(const char *text, struct path_matches *m)
{
	char *t = expand_home(text), *slash = strrchr(t, '/'), *dir;
	const char *prefix = slash ? slash + 1 : t;
	size_t plen = strlen(prefix), common;
	DIR *d;
	struct dirent *e;

	m->paths = NULL;
	m->n = 0;
	dir = slash ? xstrndup(t, (size_t)(slash - t) + 1) : xstrdup("");
	d = opendir(*dir ? dir : ".");
	while (d && (e = readdir(d)) && m->n < MAX_MATCHES) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (e->d_name[0] == '.' && prefix[0] != '.')
			continue;
		if (strncmp(e->d_name, prefix, plen) == 0)
			add(m, dir, e->d_name);
	}
	if (d)
		closedir(d);
	free(dir);
	if (!m->n)
		return t;
	qsort(m->paths, (size_t)m->n, sizeof(char *), by_path);
	common = strlen(m->paths[0]);
	for (int i = 1; i < m->n; i++) {
		size_t k = 0;
		while (k < common && m->paths[i][k] == m->paths[0][k])
			k++;
		common = k;
	}
	/* never stop inside a UTF-8 character */
	while (common > strlen(t) && ((unsigned char)m->paths[0][common] & 0xC0) == 0x80)
		common--;
	free(t);
	return xstrndup(m->paths[0], common);
}

void path_matches_free(struct path_matches *m)
{
	for (int i = 0; i < m->n; i++)
		free(m->paths[i]);
	free(m->paths);
	m->paths = NULL;
	m->n = 0;
}

const char *path_base(const char *path)
{
	size_t len = strlen(path);
	const char *b;

	if (len && path[len - 1] == '/')
		len--;
	for (b = path + len; b > path && b[-1] != '/'; b--)
		;
	return b;
}
