#include "theme.h"

#include <libconfig.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util.h"

static const char *const role_names[ROLE_COUNT] = {
	"normal", "dim", "title", "status", "status_alert", "header", "selected", "key", "key_label", "border",
	"dialog", "dialog_title", "input", "good", "warn", "bad", "progress", "tab", "tab_active", "message",
	"error",
};

struct style {
	short fg, bg; /* -1: the terminal's default */
	attr_t attrs;
	attr_t mono;  /* attributes when there are no colours */
};

/* Built in so xentui looks right even without its themes directory: the
 * classic look (xsconsole: light text on blue, black on white highlight). */
static const struct style builtin[ROLE_COUNT] = {
	[ROLE_NORMAL] = {COLOR_WHITE, COLOR_BLUE, 0, A_NORMAL},
	[ROLE_DIM] = {COLOR_CYAN, COLOR_BLUE, 0, A_DIM},
	[ROLE_TITLE] = {COLOR_WHITE, COLOR_BLUE, A_BOLD, A_BOLD},
	[ROLE_STATUS] = {COLOR_WHITE, COLOR_BLACK, 0, A_REVERSE},
	[ROLE_STATUS_ALERT] = {COLOR_YELLOW, COLOR_RED, A_BOLD, A_REVERSE | A_BOLD},
	[ROLE_HEADER] = {COLOR_YELLOW, COLOR_BLUE, A_BOLD, A_BOLD | A_UNDERLINE},
	[ROLE_SELECTED] = {COLOR_BLACK, COLOR_WHITE, 0, A_REVERSE},
	[ROLE_KEY] = {COLOR_WHITE, COLOR_BLACK, A_BOLD, A_BOLD},
	[ROLE_KEY_LABEL] = {COLOR_BLACK, COLOR_CYAN, 0, A_REVERSE},
	[ROLE_BORDER] = {COLOR_CYAN, COLOR_BLUE, 0, A_NORMAL},
	[ROLE_DIALOG] = {COLOR_BLACK, COLOR_WHITE, 0, A_NORMAL},
	[ROLE_DIALOG_TITLE] = {COLOR_BLUE, COLOR_WHITE, A_BOLD, A_BOLD},
	[ROLE_INPUT] = {COLOR_WHITE, COLOR_BLACK, 0, A_UNDERLINE},
	[ROLE_GOOD] = {COLOR_GREEN, COLOR_BLUE, A_BOLD, A_BOLD},
	[ROLE_WARN] = {COLOR_YELLOW, COLOR_BLUE, A_BOLD, A_NORMAL},
	[ROLE_BAD] = {COLOR_RED, COLOR_BLUE, A_BOLD, A_BOLD | A_UNDERLINE},
	[ROLE_PROGRESS] = {COLOR_GREEN, COLOR_BLUE, A_BOLD, A_BOLD},
	[ROLE_TAB] = {COLOR_WHITE, COLOR_BLUE, 0, A_NORMAL},
	[ROLE_TAB_ACTIVE] = {COLOR_BLACK, COLOR_WHITE, A_BOLD, A_REVERSE | A_BOLD},
	[ROLE_MESSAGE] = {COLOR_WHITE, COLOR_BLUE, A_BOLD, A_BOLD},
	[ROLE_ERROR] = {COLOR_WHITE, COLOR_RED, A_BOLD, A_REVERSE | A_BOLD},
};

static struct style styles[ROLE_COUNT];
static bool use_colour;

const char *theme_role_name(enum role r)
{
	return r < ROLE_COUNT ? role_names[r] : "?";
}

bool theme_colour(void)
{
	return use_colour;
}

attr_t theme_attr(enum role r)
{
	if (r >= ROLE_COUNT)
		r = ROLE_NORMAL;
	if (!use_colour)
		return styles[r].mono;
	return styles[r].attrs | (attr_t)COLOR_PAIR((int)r + 1);
}

/* "red", "bright-blue", "default", or a number 0..255. */
static bool parse_colour(const char *s, short *out, attr_t *extra)
{
	static const char *const names[] = {"black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"};
	bool bright = false;
	char *end;
	long n;

	if (strcasecmp(s, "default") == 0) {
		*out = -1;
		return true;
	}
	if (strncasecmp(s, "bright-", 7) == 0) {
		bright = true;
		s += 7;
	}
	for (short i = 0; i < 8; i++)
		if (strcasecmp(s, names[i]) == 0) {
			/* 8-colour terminals (the Linux console) show bright as bold */
			if (bright && COLORS >= 16)
				*out = (short)(i + 8);
			else {
				*out = i;
				if (bright && extra)
					*extra |= A_BOLD;
			}
			return true;
		}
	n = strtol(s, &end, 10);
	if (*s && !*end && n >= 0 && n < 256) {
		*out = (short)(n < COLORS ? n : n % 8);
		return true;
	}
	return false;
}

static bool parse_attrs(const config_setting_t *list, attr_t *out)
{
	static const struct {
		const char *name;
		attr_t a;
	} names[] = {
		{"bold", A_BOLD}, {"dim", A_DIM}, {"reverse", A_REVERSE}, {"underline", A_UNDERLINE},
		{"standout", A_STANDOUT}, {"normal", A_NORMAL},
	};

	*out = 0;
	if (!list)
		return true;
	if (config_setting_type(list) != CONFIG_TYPE_ARRAY && config_setting_type(list) != CONFIG_TYPE_LIST)
		return false;
	for (int i = 0; i < config_setting_length(list); i++) {
		const char *s = config_setting_get_string_elem(list, i);
		bool found = false;
		for (size_t k = 0; s && k < ARRAY_LEN(names); k++)
			if (strcasecmp(s, names[k].name) == 0) {
				*out |= names[k].a;
				found = true;
			}
		if (!found)
			return false;
	}
	return true;
}

static char *read_role(const config_setting_t *g, enum role r, struct style *st, const char *path)
{
	const char *fg = NULL, *bg = NULL;
	config_setting_t *attrs = config_setting_get_member(g, "attrs");
	config_setting_t *mono = config_setting_get_member(g, "mono");
	attr_t extra = 0;

	config_setting_lookup_string(g, "fg", &fg);
	config_setting_lookup_string(g, "bg", &bg);
	if (fg && !parse_colour(fg, &st->fg, &extra))
		return xasprintf("%s:%d: unknown colour '%s' for %s", path, config_setting_source_line(g), fg,
				 role_names[r]);
	if (bg && !parse_colour(bg, &st->bg, NULL))
		return xasprintf("%s:%d: unknown colour '%s' for %s", path, config_setting_source_line(g), bg,
				 role_names[r]);
	if (attrs && !parse_attrs(attrs, &st->attrs))
		return xasprintf("%s:%d: attrs of %s: bold, dim, reverse, underline, standout or normal", path,
				 config_setting_source_line(attrs), role_names[r]);
	if (mono && !parse_attrs(mono, &st->mono))
		return xasprintf("%s:%d: mono of %s: bold, dim, reverse, underline, standout or normal", path,
				 config_setting_source_line(mono), role_names[r]);
	st->attrs |= extra;
	return NULL;
}

/* Every role missing from a file keeps the built-in value. */
static char *read_theme(const char *path, struct style *out)
{
	config_t cfg;
	config_setting_t *roles;
	char *err = NULL;

	config_init(&cfg);
	if (config_read_file(&cfg, path) != CONFIG_TRUE) {
		err = config_error_type(&cfg) == CONFIG_ERR_FILE_IO
			      ? xasprintf("%s: cannot read it", path)
			      : xasprintf("%s:%d: %s", path, config_error_line(&cfg), config_error_text(&cfg));
		config_destroy(&cfg);
		return err;
	}
	roles = config_lookup(&cfg, "roles");
	if (!roles || config_setting_type(roles) != CONFIG_TYPE_GROUP) {
		config_destroy(&cfg);
		return xasprintf("%s: no 'roles' group", path);
	}
	for (int i = 0; i < config_setting_length(roles) && !err; i++) {
		config_setting_t *g = config_setting_get_elem(roles, (unsigned)i);
		const char *name = config_setting_name(g);
		int r = -1;
		for (int k = 0; k < ROLE_COUNT; k++)
			if (strcmp(role_names[k], name) == 0)
				r = k;
		if (r < 0)
			err = xasprintf("%s:%d: unknown role '%s'", path, config_setting_source_line(g), name);
		else if (config_setting_type(g) != CONFIG_TYPE_GROUP)
			err = xasprintf("%s:%d: role %s is a group: { fg = \"white\"; bg = \"blue\"; }", path,
					config_setting_source_line(g), name);
		else
			err = read_role(g, (enum role)r, &out[r], path);
	}
	config_destroy(&cfg);
	return err;
}

static char *find_theme(const char *name, const char *exe_dir)
{
	const char *env = getenv("XENTUI_THEMES");
	char *dirs[5];
	int n = 0;
	char *found = NULL;

	if (strchr(name, '/') || strstr(name, ".conf"))
		return xstrdup(name);
	if (env && *env)
		dirs[n++] = xstrdup(env);
	if (exe_dir) {
		/* build/xentui, build/san/xentui and an installed bin/xentui */
		dirs[n++] = xasprintf("%s/../themes", exe_dir);
		dirs[n++] = xasprintf("%s/../../themes", exe_dir);
		dirs[n++] = xasprintf("%s/../share/xentui/themes", exe_dir);
	}
	for (int i = 0; i < n; i++) {
		char *p = xasprintf("%s/%s.conf", dirs[i], name);
		if (!found && access(p, R_OK) == 0)
			found = p;
		else
			free(p);
		free(dirs[i]);
	}
	return found;
}

static void apply(void)
{
	if (!use_colour)
		return;
	for (int r = 0; r < ROLE_COUNT; r++)
		init_pair((short)(r + 1), styles[r].fg, styles[r].bg);
}

bool theme_load(const char *name, const char *exe_dir, char **err)
{
	const char *no_colour = getenv("NO_COLOR");
	struct style loaded[ROLE_COUNT];
	char *path;
	bool ok = true;

	memcpy(styles, builtin, sizeof(styles));
	use_colour = has_colors() && !(no_colour && *no_colour) && strcmp(name, "mono") != 0;
	if (use_colour) {
		start_color();
		use_default_colors();
	}
	path = find_theme(name, exe_dir);
	if (!path) {
		*err = xasprintf("no theme '%s' (looked in themes/); using the built-in one", name);
		ok = false;
	} else {
		memcpy(loaded, builtin, sizeof(loaded));
		*err = read_theme(path, loaded);
		if (*err)
			ok = false;
		else
			memcpy(styles, loaded, sizeof(styles));
		free(path);
	}
	apply();
	return ok;
}
