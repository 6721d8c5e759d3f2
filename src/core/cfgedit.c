#include "cfgedit.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

size_t cfgedit_comment_end(const char *t, size_t n, size_t i)
{
	if (t[i] == '#' || (t[i] == '/' && i + 1 < n && t[i + 1] == '/')) {
		while (i < n && t[i] != '\n')
			i++;
		return i;
	}
	if (t[i] == '/' && i + 1 < n && t[i + 1] == '*') {
		const char *e = memmem(t + i + 2, n - i - 2, "*/", 2);
		return e ? (size_t)(e - t) + 2 : n;
	}
	return i;
}

size_t cfgedit_string_end(const char *t, size_t n, size_t i)
{
	for (i++; i < n && t[i] != '"'; i++)
		if (t[i] == '\\' && i + 1 < n)
			i++;
	return i < n ? i + 1 : n;
}

size_t cfgedit_skip_blank(const char *t, size_t n, size_t i)
{
	for (;;) {
		size_t e;
		while (i < n && isspace((unsigned char)t[i]))
			i++;
		if (i >= n || (e = cfgedit_comment_end(t, n, i)) == i)
			return i;
		i = e;
	}
}

bool cfgedit_is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '*';
}

bool cfgedit_find_list(const char *t, size_t n, const char *name, struct cfgedit_list *L, char **err)
{
	size_t namelen = strlen(name);
	int depth = 0;
	bool in_list = false;

	memset(L, 0, sizeof(*L));
	for (size_t i = 0; i < n;) {
		size_t e = cfgedit_comment_end(t, n, i);
		char c = t[i];

		if (e != i) {
			if (in_list && L->ncomment < CFGEDIT_MAX_ITEMS)
				L->comment[L->ncomment++] = (struct cfgedit_span){i, e};
			i = e;
		} else if (c == '"') {
			i = cfgedit_string_end(t, n, i);
		} else if (c == '(' || c == '[' || c == '{') {
			depth++;
			if (in_list && depth == 2 && c == '{' && L->nelem < CFGEDIT_MAX_ITEMS)
				L->elem[L->nelem].a = i;
			i++;
		} else if (c == ')' || c == ']' || c == '}') {
			if (in_list && depth == 2 && c == '}' && L->nelem < CFGEDIT_MAX_ITEMS)
				L->elem[L->nelem++].b = i + 1;
			depth--;
			i++;
			if (in_list && depth == 0) {
				size_t j = i;
				L->close = i - 1;
				while (j < n && isspace((unsigned char)t[j]))
					j++;
				/* its terminator, if any, goes with it (a comment first: none) */
				L->set.b = j < n && (t[j] == ';' || t[j] == ',') ? j + 1 : i;
				if (L->nelem >= CFGEDIT_MAX_ITEMS || L->ncomment >= CFGEDIT_MAX_ITEMS) {
					*err = xasprintf("the %s list is too long to edit", name);
					return false;
				}
				return true;
			}
		} else if (depth == 0 && cfgedit_is_name_char(c) && (i == 0 || !cfgedit_is_name_char(t[i - 1]))) {
			size_t a = i, j;
			while (i < n && cfgedit_is_name_char(t[i]))
				i++;
			if (i - a != namelen || memcmp(t + a, name, namelen) != 0 || (a > 0 && t[a - 1] == '@'))
				continue;
			j = cfgedit_skip_blank(t, n, i);
			if (j >= n || (t[j] != '=' && t[j] != ':'))
				continue;
			j = cfgedit_skip_blank(t, n, j + 1);
			if (j >= n || (t[j] != '(' && t[j] != '['))
				continue;
			L->set.a = a;
			L->open = j;
			in_list = true;
			/* comments between the name and the bracket are the list's too */
			for (size_t k = i; k < j;) {
				size_t ce = cfgedit_comment_end(t, n, k);
				if (ce != k && L->ncomment < CFGEDIT_MAX_ITEMS)
					L->comment[L->ncomment++] = (struct cfgedit_span){k, ce};
				k = ce != k ? ce : k + 1;
			}
			i = j;
		} else {
			i++;
		}
	}
	if (in_list)
		*err = xasprintf("the %s list has no closing bracket", name);
	return false;
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_server(const struct server_cfg *a, const struct server_cfg *b)
{
	return same_str(a->name, b->name) && same_str(a->url, b->url) && same_str(a->user, b->user)
	       && same_str(a->password_file, b->password_file) && same_str(a->password_env, b->password_env)
	       && same_str(a->password_command, b->password_command) && same_str(a->fingerprint, b->fingerprint)
	       && a->insecure == b->insecure && a->autoconnect == b->autoconnect;
}

void cfgedit_put_quoted(struct buf *o, const char *v)
{
	buf_putc(o, '"');
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_printf(o, "\\%c", *p);
		else if (*p == '\n')
			buf_printf(o, "\\n");
		else if (*p == '\t')
			buf_printf(o, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			buf_printf(o, "\\x%02x", *p);
		else
			buf_printf(o, "%c", *p);
	}
	buf_putc(o, '"');
}

static void put_string(struct buf *o, const char *key, const char *v)
{
	if (!v)
		return;
	buf_printf(o, "    %s = ", key);
	cfgedit_put_quoted(o, v);
	buf_printf(o, ";\n");
}

static void put_server(struct buf *o, const struct server_cfg *s)
{
	buf_printf(o, "  {\n");
	put_string(o, "name", s->name);
	put_string(o, "url", s->url);
	put_string(o, "user", s->user);
	put_string(o, "password_file", s->password_file);
	put_string(o, "password_env", s->password_env);
	put_string(o, "password_command", s->password_command);
	put_string(o, "fingerprint", s->fingerprint);
	if (s->insecure)
		buf_printf(o, "    insecure = true;\n");
	if (s->autoconnect)
		buf_printf(o, "    autoconnect = true;\n");
	buf_printf(o, "  }");
}

/* Which part of the list a comment at pos belongs to: -1 - j for inside
 * group j, j for the gap before group j, nelem for after the last one. */
static int place_of(const struct cfgedit_list *L, size_t pos)
{
	for (int j = 0; j < L->nelem; j++) {
		if (pos < L->elem[j].a)
			return j;
		if (pos < L->elem[j].b)
			return -1 - j;
	}
	return L->nelem;
}

/* Comments of group j (before it when lead, inside it when not), one a line. */
static void put_comments(struct buf *o, const char *t, const struct cfgedit_list *L, int place)
{
	for (int k = 0; k < L->ncomment; k++)
		if (place_of(L, L->comment[k].a) == place)
		{
			buf_puts(o, "  ");
			buf_append(o, t + L->comment[k].a, L->comment[k].b - L->comment[k].a);
			buf_putc(o, '\n');
		}
}

static void put_list(struct buf *o, const struct server_cfg *servers, int n)
{
	buf_printf(o, "servers = (\n");
	for (int k = 0; k < n; k++) {
		put_server(o, &servers[k]);
		buf_printf(o, k + 1 < n ? ",\n" : "\n");
	}
	buf_printf(o, ");");
}

char *cfgedit_servers(const char *text, size_t len, const struct server_cfg *old, int nold,
		      const struct server_cfg *servers, int n, char **err)
{
	struct cfgedit_list *L = xcalloc(1, sizeof(*L));
	struct buf o;
	bool *used;
	char *e = NULL;

	buf_init(&o);
	if (!cfgedit_find_list(text, len, "servers", L, &e)) {
		free(L);
		if (e) {
			*err = e;
			return NULL;
		}
		/* none yet: appended, the text before it untouched */
		buf_append(&o, text, len);
		if (len > 0)
			buf_printf(&o, text[len - 1] == '\n' ? "\n" : "\n\n");
		put_list(&o, servers, n);
		buf_printf(&o, "\n");
		return buf_steal(&o);
	}
	if (nold != L->nelem)
		nold = -1; /* the text and the parsed list disagree: rewrite every group */
	used = xcalloc((size_t)(L->nelem + 1), sizeof(*used));
	buf_append(&o, text, L->set.a);
	buf_printf(&o, "servers = (\n");
	for (int k = 0; k < n; k++) {
		int j = -1;
		for (int i = 0; nold > 0 && i < L->nelem; i++)
			if (!used[i] && same_str(old[i].name, servers[k].name)) {
				j = i;
				break;
			}
		if (j >= 0) {
			used[j] = true;
			put_comments(&o, text, L, j);
		}
		if (j >= 0 && same_server(&old[j], &servers[k])) {
			buf_puts(&o, "  ");
			buf_append(&o, text + L->elem[j].a, L->elem[j].b - L->elem[j].a);
		} else {
			if (j >= 0)
				put_comments(&o, text, L, -1 - j);
			put_server(&o, &servers[k]);
		}
		buf_printf(&o, k + 1 < n ? ",\n" : "\n");
	}
	/* what no server kept: comments of removed servers and after the last */
	for (int j = 0; j < L->nelem; j++)
		if (!used[j]) {
			put_comments(&o, text, L, j);
			put_comments(&o, text, L, -1 - j);
		}
	put_comments(&o, text, L, L->nelem);
	buf_printf(&o, ");");
	buf_append(&o, text + L->set.b, len - L->set.b);
	free(used);
	free(L);
	return buf_steal(&o);
}
