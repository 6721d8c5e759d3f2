/* Configuration files: what is read, and errors that name file and line. */
#include <dirent.h>
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

#include "config.h"
#include "known_hosts.h"
#include "secret.h"

static char path[256];

static void write_file(const char *text)
{
	FILE *f;

	snprintf(path, sizeof(path), "build/test-logs/config-%d.conf", (int)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void expect_error(const char *text, const char *fragment)
{
	struct config c;
	char *err = NULL;
	char copy[512];

	write_file(text);
	assert_false(config_load(path, &c, &err));
	assert_non_null(err);
	snprintf(copy, sizeof(copy), "%s", err);
	free(err);
	if (!strstr(copy, fragment))
		fail_msg("error '%s' lacks '%s'", copy, fragment);
}

static void test_reads_servers(void **state)
{
	struct config c;
	char *err = NULL;

	write_file("# my pools\n"
		   "theme = \"dark\";\n"
		   "servers = (\n"
		   "  { name = \"home\"; url = \"https://192.168.1.10\"; password_env = \"XCP_PW\"; },\n"
		   "  { name = \"lab\"; url = \"https://lab:8443\"; user = \"admin\"; insecure = true; }\n"
		   ");\n"
		   "preferences = { confirm_quit = false; };\n");
	assert_true(config_load(path, &c, &err));
	assert_string_equal(c.theme, "dark");
	assert_int_equal(c.nservers, 2);
	assert_string_equal(config_server(&c, "home")->url, "https://192.168.1.10");
	assert_string_equal(config_server(&c, "home")->user, "root");
	assert_string_equal(config_server(&c, "home")->password_env, "XCP_PW");
	assert_string_equal(config_server(&c, "lab")->user, "admin");
	assert_true(config_server(&c, "lab")->insecure);
	assert_null(config_server(&c, "nope"));
	assert_false(c.confirm_quit);
	config_free(&c);
	unlink(path);
}

static void test_errors_name_the_line(void **state)
{
	char prefix[300];

	/* a syntax error: libconfig's own message, with the line */
	expect_error("theme = \"dark\";\nservers = (\n  { name = \"a\"; url = ; }\n);\n", ":3: ");
	snprintf(prefix, sizeof(prefix), "%s:3: ", path);
	expect_error("theme = \"dark\";\nservers = (\n  { name = \"a\"; url = ; }\n);\n", prefix);
	/* a typo in a setting name */
	expect_error("theme = \"dark\";\n\nservers = ( { name = \"a\"; url = \"https://x\"; pasword_env = \"P\"; } );\n",
		     ":3: unknown server setting 'pasword_env'");
	expect_error("thme = \"dark\";\n", ":1: unknown setting 'thme'");
	/* a value of the wrong kind */
	expect_error("servers = (\n { name = \"a\"; url = \"https://x\"; insecure = \"yes\"; }\n);\n",
		     ":2: 'insecure' must be true or false");
	expect_error("servers = (\n { name = \"a\"; url = \"ftp://x\"; }\n);\n", ":2: url 'ftp://x' must start with");
	expect_error("servers = (\n { name = \"a\"; }\n);\n", ":2: this server has no url");
	unlink(path);
}

static void test_missing_default_is_fine(void **state)
{
	struct config c;
	char *err = NULL;

	setenv("XDG_CONFIG_HOME", "build/test-logs/no-such-dir", 1);
	assert_true(config_load(NULL, &c, &err));
	assert_int_equal(c.nservers, 0);
	assert_non_null(strstr(c.path, "no-such-dir/xentui/config"));
	config_free(&c);
	/* but a file named on the command line must exist */
	assert_false(config_load("build/test-logs/no-such-file.conf", &c, &err));
	assert_non_null(strstr(err, "no-such-file.conf"));
	free(err);
}

static void test_password_file_permissions(void **state)
{
	char *err = NULL, *pw;
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "build/test-logs/pw-%d", (int)getpid());
	f = fopen(p, "w");
	fputs("s3cret\nsecond line\n", f);
	fclose(f);
	chmod(p, 0644);
	/* readable by others: refused, with the fix in the message */
	assert_null(secret_from_file(p, &err));
	assert_non_null(strstr(err, "chmod 600"));
	free(err);
	chmod(p, 0600);
	pw = secret_from_file(p, &err);
	assert_non_null(pw);
	assert_string_equal(pw, "s3cret");
	secret_free(pw);
	unlink(p);
	setenv("XENTUI_TEST_PW", "from-env", 1);
	pw = secret_from_env("XENTUI_TEST_PW", &err);
	assert_string_equal(pw, "from-env");
	secret_free(pw);
	assert_null(secret_from_env("XENTUI_NO_SUCH_VAR", &err));
	free(err);
	pw = secret_from_command("echo from-command", &err);
	assert_string_equal(pw, "from-command");
	secret_free(pw);
	assert_null(secret_from_command("false", &err));
	free(err);
}

static void test_example_file_loads(void **state)
{
	struct config c;
	char *err = NULL;

	if (!config_load("config/xentui.conf.example", &c, &err))
		fail_msg("the example does not load: %s", err);
	assert_int_equal(c.nservers, 2);
	assert_string_equal(c.servers[0].name, "home");
	assert_true(c.servers[0].autoconnect);
	config_free(&c);
}

/* What the Servers screen does to the file: a server added, one edited
 * and one removed, each saved; the rest of the file kept, 0600. */
/* Any file named "<base>.<something>" beside base: a temporary left behind. */
static bool temp_left_beside(const char *file)
{
	char dir[256], prefix[256];
	const char *slash = strrchr(file, '/');
	struct dirent *e;
	DIR *d;
	bool found = false;

	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - file), file);
	snprintf(prefix, sizeof(prefix), "%s.", slash + 1);
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d)))
		found |= strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return found;
}

/* A configuration kept as a symlink (dotfiles) stays a link: the save goes
 * to its target, 0600, and known_hosts is private too. */
static void test_save_through_symlink(void **state)
{
	struct config c;
	struct server_cfg sv = {.name = "lab", .url = "https://10.0.0.9", .user = "root"};
	char target[256], link_path[256], kh[256], *err = NULL;
	struct stat st;

	(void)state;
	snprintf(target, sizeof(target), "build/test-logs/config-target-%d.conf", (int)getpid());
	snprintf(link_path, sizeof(link_path), "build/test-logs/config-link-%d.conf", (int)getpid());
	snprintf(kh, sizeof(kh), "build/test-logs/known-hosts-%d", (int)getpid());
	write_file("theme = \"mono\";\n");
	assert_int_equal(rename(path, target), 0);
	unlink(link_path);
	assert_int_equal(symlink(strrchr(target, '/') + 1, link_path), 0);
	assert_true(config_load(link_path, &c, &err));
	config_put_server(&c, NULL, &sv);
	assert_true(config_save(&c, &err));
	assert_int_equal(lstat(link_path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	config_free(&c);
	assert_true(config_load(target, &c, &err));
	assert_int_equal(c.nservers, 1);
	config_free(&c);
	unlink(kh);
	assert_true(known_hosts_add(kh, "10.0.0.9:443", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", &err));
	assert_int_equal(stat(kh, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_false(temp_left_beside(kh));
	unlink(kh);
	unlink(link_path);
	unlink(target);
}

static void test_save_round_trip(void **state)
{
	struct config c, back;
	struct server_cfg sv;
	char *err = NULL, other[256], text[4096];
	struct stat st;
	FILE *f;
	size_t n;

	write_file("# mine\ntheme = \"dark\";\npreferences = { confirm_quit = false; };\n"
		   "servers = ( { name = \"home\"; url = \"https://192.168.1.10\"; password_env = \"XCP_PW\"; } );\n");
	chmod(path, 0644);
	assert_true(config_load(path, &c, &err));
	memset(&sv, 0, sizeof(sv));
	sv.name = "lab";
	sv.url = "https://lab:8443";
	sv.user = "admin";
	sv.password_file = "~/.config/xentui/lab.password";
	sv.autoconnect = true;
	sv.insecure = true;
	config_put_server(&c, NULL, &sv);
	sv.name = "home2";
	sv.url = "https://192.168.1.11";
	sv.password_file = NULL;
	sv.password_env = "HOME_PW";
	sv.autoconnect = false;
	sv.insecure = false;
	config_put_server(&c, "home", &sv); /* renamed in its place */
	assert_int_equal(c.nservers, 2);
	assert_true(config_save(&c, &err));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_true(config_load(path, &back, &err));
	assert_int_equal(back.nservers, 2);
	assert_string_equal(back.servers[0].name, "home2");
	assert_string_equal(back.servers[0].password_env, "HOME_PW");
	assert_false(back.servers[0].autoconnect);
	assert_string_equal(config_server(&back, "lab")->user, "admin");
	assert_string_equal(config_server(&back, "lab")->password_file, "~/.config/xentui/lab.password");
	assert_true(config_server(&back, "lab")->autoconnect);
	assert_true(config_server(&back, "lab")->insecure);
	assert_null(config_server(&back, "home"));
	/* the other settings are kept */
	assert_string_equal(back.theme, "dark");
	assert_false(back.confirm_quit);
	config_free(&back);

	assert_true(config_remove_server(&c, "lab"));
	assert_false(config_remove_server(&c, "lab"));
	assert_true(config_save(&c, &err));
	assert_true(config_load(path, &back, &err));
	assert_int_equal(back.nservers, 1);
	config_free(&back);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	assert_null(strstr(text, "lab"));
	assert_false(temp_left_beside(path)); /* no temporary file left */

	/* a first save makes the directories */
	snprintf(other, sizeof(other), "build/test-logs/config-save-%d/sub/xentui/config", (int)getpid());
	free(c.path);
	c.path = strdup(other);
	assert_true(config_save(&c, &err));
	assert_int_equal(stat(other, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	unlink(other);
	config_free(&c);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_servers),
		cmocka_unit_test(test_errors_name_the_line),
		cmocka_unit_test(test_missing_default_is_fine),
		cmocka_unit_test(test_password_file_permissions),
		cmocka_unit_test(test_example_file_loads),
		cmocka_unit_test(test_save_round_trip),
		cmocka_unit_test(test_save_through_symlink),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
