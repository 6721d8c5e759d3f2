/* The servers list written back into a configuration's text: nothing else
 * changes (cfgedit.c, through config_save). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cfgedit.h"
#include "config.h"

static char dir[256];

static char *path_of(const char *name)
{
	static char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static void put(const char *name, const char *text)
{
	FILE *f = fopen(path_of(name), "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *get(const char *name)
{
	static char text[8192];
	FILE *f = fopen(path_of(name), "r");
	size_t n;

	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "build/test-logs/cfgedit-%d", (int)getpid());
	mkdir("build/test-logs", 0700);
	mkdir(dir, 0700);
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* Comments inside the list stay with their server; a removed server's
 * comments move to the list's end; everything around is untouched. */
static void test_comments_in_the_list(void **state)
{
	const char *before = "// top\ntheme = \"dark\"; # after theme\n"
			     "servers = ( # the list\n"
			     "  # home, in the cupboard\n"
			     "  { name = \"home\"; url = \"https://h\"; /* fast */ },\n"
			     "  # the lab\n"
			     "  { name = \"lab\"; url = \"https://l\"; }\n"
			     ") ; # end\n/* tail */\n";
	struct config c;
	char *err = NULL, *after;
	struct server_cfg sv = {.name = "new \"one\"", .url = "https://n", .user = "root"};

	(void)state;
	put("c1", before);
	assert_true(config_load(path_of("c1"), &c, &err));
	assert_true(config_remove_server(&c, "lab"));
	config_put_server(&c, NULL, &sv);
	assert_true(config_save(&c, &err));
	config_free(&c);
	after = get("c1");
	assert_non_null(strstr(after, "// top\ntheme = \"dark\"; # after theme\nservers = (\n"));
	assert_non_null(strstr(after, "  # home, in the cupboard\n  { name = \"home\"; url = \"https://h\"; /* fast */ },\n"));
	assert_non_null(strstr(after, "name = \"new \\\"one\\\"\";"));
	assert_non_null(strstr(after, "# the lab"));
	assert_non_null(strstr(after, "# the list"));
	assert_non_null(strstr(after, "); # end\n/* tail */\n"));
	assert_null(strstr(after, "\"lab\""));
	assert_true(config_load(path_of("c1"), &c, &err));
	assert_int_equal(c.nservers, 2);
	assert_non_null(config_server(&c, "new \"one\""));
	config_free(&c);
}

/* Servers kept in an @include'd file (relative to the configuration's
 * folder) are edited there; the main file is not touched. */
static void test_included_file(void **state)
{
	const char *main_text = "# mine\n@include \"servers.conf\"\ntheme = \"mono\";\n";
	struct config c;
	char *err = NULL;
	struct server_cfg sv = {.name = "b", .url = "https://b", .user = "admin", .autoconnect = true};

	(void)state;
	put("main.conf", main_text);
	put("servers.conf", "# managed\nservers = ( { name = \"a\"; url = \"https://a\"; } );\n");
	assert_true(config_load(path_of("main.conf"), &c, &err));
	assert_int_equal(c.nservers, 1);
	config_put_server(&c, NULL, &sv);
	assert_true(config_save(&c, &err));
	config_free(&c);
	assert_string_equal(get("main.conf"), main_text);
	assert_non_null(strstr(get("servers.conf"), "# managed\nservers = (\n  { name = \"a\"; url = \"https://a\"; },\n"));
	assert_true(config_load(path_of("main.conf"), &c, &err));
	assert_int_equal(c.nservers, 2);
	assert_string_equal(config_server(&c, "b")->user, "admin");
	config_free(&c);
}

/* A file without a list gets one appended; the text before stays. */
static void test_appended(void **state)
{
	const char *before = "# only a theme, no newline at the end\ntheme = \"light\";";
	struct config c;
	char *err = NULL, *after;
	struct server_cfg sv = {.name = "x", .url = "http://x", .user = "root"};

	(void)state;
	put("c3", before);
	assert_true(config_load(path_of("c3"), &c, &err));
	config_put_server(&c, NULL, &sv);
	assert_true(config_save(&c, &err));
	config_free(&c);
	after = get("c3");
	assert_memory_equal(after, before, strlen(before));
	assert_true(config_load(path_of("c3"), &c, &err));
	assert_int_equal(c.nservers, 1);
	config_free(&c);
}

/* The text, not libconfig's tree, is edited: a list the scanner cannot
 * find is an error and the file stays as it was. */
static void test_text_without_list(void **state)
{
	struct server_cfg sv = {.name = "x", .url = "http://x", .user = "root"};
	char *err = NULL;
	const char *open_list = "servers = ( { name = \"a\"; ", *in_text = "a = \"servers = ()\"; # servers = ()\n";
	char *out = cfgedit_servers(open_list, strlen(open_list), NULL, 0, &sv, 1, &err);

	(void)state;
	assert_null(out);
	assert_non_null(err);
	free(err);
	out = cfgedit_servers(in_text, strlen(in_text), NULL, 0, &sv, 1, &err);
	assert_non_null(out);
	assert_non_null(strstr(out, "a = \"servers = ()\"; # servers = ()\n\nservers = (\n"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_comments_in_the_list),
		cmocka_unit_test(test_included_file),
		cmocka_unit_test(test_appended),
		cmocka_unit_test(test_text_without_list),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
