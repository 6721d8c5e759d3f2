/* A backup job written back into the configuration's text, as the servers
 * screen writes servers (src/core/cfgedit.c): only the settings the form
 * edits change, in place; every comment, every other key and every other
 * job stay as written. libconfig's writer would drop the comments. */
#include "backups_jobedit.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgedit.h"
#include "util.h"

/* One `key = value;` inside a group: the whole setting and its value. */
struct setting {
	struct cfgedit_span all, value;
	char key[32];
};

#define MAX_SETTINGS 64
/* Scans [from, to) at one nesting level: calls back for each `name = value`
 * setting (depth 0 there) and each group at depth 1. */
static bool scan_settings(const char *t, size_t from, size_t to, struct setting *out, int *nout)
{
	int depth = 0;

	*nout = 0;
	for (size_t i = from; i < to;) {
		size_t e = cfgedit_comment_end(t, to, i);
		char c = t[i];
		if (e != i) {
			i = e;
		} else if (c == '"') {
			i = cfgedit_string_end(t, to, i);
		} else if (c == '(' || c == '[' || c == '{') {
			depth++;
			i++;
		} else if (c == ')' || c == ']' || c == '}') {
			depth--;
			i++;
		} else if (depth == 0 && cfgedit_is_name_char(c) && (i == from || !cfgedit_is_name_char(t[i - 1]))) {
			size_t a = i, j, v, d = 0;
			while (i < to && cfgedit_is_name_char(t[i]))
				i++;
			j = cfgedit_skip_blank(t, to, i);
			if (j >= to || (t[j] != '=' && t[j] != ':'))
				continue;
			v = cfgedit_skip_blank(t, to, j + 1);
			/* the value ends at ; or , at its own level */
			for (j = v; j < to;) {
				size_t ce = cfgedit_comment_end(t, to, j);
				if (ce != j) {
					j = ce;
					continue;
				}
				if (t[j] == '"') {
					j = cfgedit_string_end(t, to, j);
					continue;
				}
				if (t[j] == '(' || t[j] == '[' || t[j] == '{')
					d++;
				else if (t[j] == ')' || t[j] == ']' || t[j] == '}') {
					if (d == 0)
						break;
					d--;
				} else if (d == 0 && (t[j] == ';' || t[j] == ','))
					break;
				j++;
			}
			if (*nout < MAX_SETTINGS) {
				struct setting *s = &out[(*nout)++];
				size_t ve = j;
				while (ve > v && isspace((unsigned char)t[ve - 1]))
					ve--;
				s->value = (struct cfgedit_span){v, ve};
				s->all = (struct cfgedit_span){a, j < to && (t[j] == ';' || t[j] == ',') ? j + 1 : j};
				snprintf(s->key, sizeof(s->key), "%.*s", (int)(i - a < 31 ? i - a : 31), t + a);
			}
			i = j;
		} else {
			i++;
		}
	}
	return true;
}

static void put_strlist(struct buf *o, char *const *v, size_t n)
{
	buf_putc(o, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_puts(o, ", ");
		cfgedit_put_quoted(o, v[i]);
	}
	buf_putc(o, ']');
}

/* The value text of the form's key k, or NULL when the key goes away. */
static char *value_of(const struct job_edit *e, const char *k)
{
	struct buf o;

	buf_init(&o);
	if (strcmp(k, "name") == 0)
		cfgedit_put_quoted(&o, e->name);
	else if (strcmp(k, "server") == 0 && e->server && *e->server)
		cfgedit_put_quoted(&o, e->server);
	else if (strcmp(k, "mode") == 0)
		cfgedit_put_quoted(&o, e->mode);
	else if (strcmp(k, "vms") == 0 && e->nvms)
		put_strlist(&o, e->vms, e->nvms);
	else if (strcmp(k, "tags") == 0 && e->ntags)
		put_strlist(&o, e->tags, e->ntags);
	else if (strcmp(k, "remotes") == 0 && e->nremotes)
		put_strlist(&o, e->remotes, e->nremotes);
	else if (strcmp(k, "schedule") == 0 && e->schedule && *e->schedule)
		cfgedit_put_quoted(&o, e->schedule);
	else if (strcmp(k, "retention") == 0 && e->retention > 0)
		buf_printf(&o, "%d", e->retention);
	else if (strcmp(k, "target_server") == 0 && e->target_server && *e->target_server)
		cfgedit_put_quoted(&o, e->target_server);
	else if (strcmp(k, "target_sr") == 0 && e->target_sr && *e->target_sr)
		cfgedit_put_quoted(&o, e->target_sr);
	else if (strcmp(k, "source_remote") == 0 && e->source_remote && *e->source_remote)
		cfgedit_put_quoted(&o, e->source_remote);
	else if (strcmp(k, "nbd") == 0 && e->cbt)
		buf_puts(&o, e->nbd ? "true" : "false");
	else if (strcmp(k, "purge_snapshot_data") == 0 && e->cbt)
		buf_puts(&o, e->purge_snapshot_data ? "true" : "false");
	if (!o.len) {
		buf_free(&o);
		return NULL;
	}
	return buf_steal(&o);
}

static const char *const edited_keys[] = {"name",      "server",    "mode",          "vms",       "tags",
					  "remotes",   "schedule",  "retention",     "target_server", "target_sr",
					  "source_remote", "nbd", "purge_snapshot_data"};
#define NKEYS (ARRAY_LEN(edited_keys))

/* The booleans the form edits only for delta jobs: left as written otherwise. */
static bool leaves(const struct job_edit *e, const char *k)
{
	return !e->cbt && (strcmp(k, "nbd") == 0 || strcmp(k, "purge_snapshot_data") == 0);
}

/* A boolean at the engine's default is not added (bconfig.c), only kept
 * where the file already says it. */
static bool is_default(const struct job_edit *e, const char *k)
{
	return (strcmp(k, "nbd") == 0 && e->nbd) || (strcmp(k, "purge_snapshot_data") == 0 && !e->purge_snapshot_data);
}

/* A new group for the keys, indented as the example configuration does. */
static void put_group(struct buf *o, const struct group_key *k, size_t nk)
{
	buf_puts(o, "  {\n");
	for (size_t i = 0; i < nk; i++)
		if (k[i].value && k[i].add && !k[i].keep)
			buf_printf(o, "    %s = %s;\n", k[i].key, k[i].value);
	buf_puts(o, "  }");
}

/* The entry's name as its group says it (unquoted), or "". */
static void group_name(const char *t, struct cfgedit_span g, char *out, size_t n)
{
	struct setting s[MAX_SETTINGS];
	int ns;

	out[0] = '\0';
	scan_settings(t, g.a + 1, g.b - 1, s, &ns);
	for (int i = 0; i < ns; i++)
		if (strcmp(s[i].key, "name") == 0 && s[i].value.b > s[i].value.a + 1 && t[s[i].value.a] == '"') {
			size_t l = s[i].value.b - s[i].value.a - 2;
			snprintf(out, n, "%.*s", (int)(l < n - 1 ? l : n - 1), t + s[i].value.a + 1);
		}
}

struct edit {
	size_t a, b;
	char *with;
	int order;
};

/* From the end of the text, so that earlier offsets stay right; two
 * insertions at one place: the later one first, so the earlier ends first. */
static int by_pos_desc(const void *x, const void *y)
{
	const struct edit *a = x, *b = y;

	if (a->a != b->a)
		return a->a < b->a ? 1 : -1;
	return a->order < b->order ? 1 : a->order > b->order ? -1 : 0;
}

/* The group g rewritten for the keys: each replaced in place, removed or
 * added before its closing brace; everything else as it was. */
static void edit_group(struct buf *o, const char *t, struct cfgedit_span g, const struct group_key *k, size_t nk)
{
	struct setting s[MAX_SETTINGS];
	struct edit *ed = xcalloc((size_t)MAX_SETTINGS + nk, sizeof(*ed));
	int ns, ne = 0;
	size_t close = g.b - 1, line = close;
	bool own_line;

	scan_settings(t, g.a + 1, close, s, &ns);
	while (line > g.a && (t[line - 1] == ' ' || t[line - 1] == '\t'))
		line--;
	own_line = line > g.a && t[line - 1] == '\n';
	for (size_t q = 0; q < nk; q++) {
		const char *v = k[q].value;
		bool seen = false;
		if (k[q].keep)
			continue;
		for (int i = 0; i < ns; i++) {
			if (strcmp(s[i].key, k[q].key) != 0)
				continue;
			seen = true;
			if (v) {
				ed[ne++] = (struct edit){s[i].value.a, s[i].value.b, xstrdup(v), 0};
			} else {
				/* the whole line when the setting is alone on it */
				size_t a = s[i].all.a, b = s[i].all.b;
				while (a > g.a && (t[a - 1] == ' ' || t[a - 1] == '\t'))
					a--;
				if (a > g.a && t[a - 1] == '\n' && b < close && t[b] == '\n')
					b++;
				ed[ne++] = (struct edit){a, b, xstrdup(""), 0};
			}
		}
		if (!seen && v && k[q].add)
			ed[ne++] = (struct edit){own_line ? line : close, own_line ? line : close,
						 own_line ? xasprintf("    %s = %s;\n", k[q].key, v)
							  : xasprintf(" %s = %s; ", k[q].key, v), 0};
	}
	for (int i = 0; i < ne; i++)
		ed[i].order = i;
	qsort(ed, (size_t)ne, sizeof(ed[0]), by_pos_desc);
	{
		char *cur = xstrndup(t + g.a, g.b - g.a);
		for (int i = 0; i < ne; i++) {
			size_t a = ed[i].a - g.a, b = ed[i].b - g.a, l = strlen(cur);
			char *nw = xasprintf("%.*s%s%s", (int)a, cur, ed[i].with, cur + (b < l ? b : l));
			free(cur);
			cur = nw;
			free(ed[i].with);
		}
		buf_puts(o, cur);
		free(cur);
	}
	free(ed);
}

char *groupedit_apply(const char *t, size_t n, const char *list, const char *old_name, const struct group_key *k,
		      size_t nk, char **err)
{
	struct cfgedit_list *L = xcalloc(1, sizeof(*L));
	struct buf o;
	int at = -1;
	char name[256];
	bool found;

	*err = NULL;
	found = cfgedit_find_list(t, n, list, L, err);
	if (*err) {
		free(L);
		return NULL;
	}
	for (int i = 0; old_name && i < L->nelem; i++) {
		group_name(t, L->elem[i], name, sizeof(name));
		if (strcmp(name, old_name) == 0)
			at = i;
	}
	if (old_name && at < 0) {
		*err = xasprintf("no entry named '%s' in the %s list of the file", old_name, list);
		free(L);
		return NULL;
	}
	buf_init(&o);
	if (!old_name && !found) {
		/* no list yet: appended, the text before it untouched */
		buf_append(&o, t, n);
		if (n > 0)
			buf_puts(&o, t[n - 1] == '\n' ? "\n" : "\n\n");
		buf_printf(&o, "%s = (\n", list);
		put_group(&o, k, nk);
		buf_puts(&o, "\n);\n");
	} else if (!old_name) {
		size_t after = L->nelem ? L->elem[L->nelem - 1].b : L->open + 1;
		buf_append(&o, t, after);
		buf_puts(&o, L->nelem ? ",\n" : "\n");
		put_group(&o, k, nk);
		if (!L->nelem)
			buf_putc(&o, '\n');
		buf_append(&o, t + after, n - after);
	} else if (k) {
		struct cfgedit_span g = L->elem[at];
		buf_append(&o, t, g.a);
		edit_group(&o, t, g, k, nk);
		buf_append(&o, t + g.b, n - g.b);
	} else {
		/* removed with its comma (the one after it, else the one before) */
		struct cfgedit_span g = L->elem[at];
		size_t a = g.a, b = g.b, j = cfgedit_skip_blank(t, n, b);
		if (j < L->close && t[j] == ',') {
			b = j + 1;
		} else {
			size_t q = a;
			while (q > L->open + 1 && isspace((unsigned char)t[q - 1]))
				q--;
			if (q > L->open + 1 && t[q - 1] == ',')
				a = q - 1;
		}
		while (a > L->open + 1 && (t[a - 1] == ' ' || t[a - 1] == '\t'))
			a--;
		if (b < n && t[b] == '\n' && a > 0 && t[a - 1] == '\n')
			b++;
		buf_append(&o, t, a);
		buf_append(&o, t + b, n - b);
	}
	free(L);
	buf_putc(&o, '\0');
	o.len--;
	return buf_steal(&o);
}

const char *groupedit_name_problem(const char *text, char *const *others, size_t n, const char *taken)
{
	if (strchr(text, '"') || strchr(text, '\\') || strchr(text, '/'))
		return "no quotes, backslashes or slashes";
	for (size_t i = 0; i < n; i++)
		if (strcmp(others[i], text) == 0)
			return taken;
	return NULL;
}

char *jobedit_apply(const char *t, size_t n, const char *old_name, const struct job_edit *e, char **err)
{
	struct group_key k[NKEYS];
	char *out;

	if (!e)
		return groupedit_apply(t, n, "backup_jobs", old_name, NULL, 0, err);
	for (size_t i = 0; i < NKEYS; i++)
		k[i] = (struct group_key){edited_keys[i], value_of(e, edited_keys[i]), leaves(e, edited_keys[i]),
					  !is_default(e, edited_keys[i])};
	out = groupedit_apply(t, n, "backup_jobs", old_name, k, NKEYS, err);
	for (size_t i = 0; i < NKEYS; i++)
		free(k[i].value);
	return out;
}
