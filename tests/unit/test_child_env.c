/* pool_child_env: the environment a `xentui backup` or `xentui vm` child
 * gets, made before fork (issue 15: a forked child of a threaded process
 * must not allocate). It carries the pool's password under the variable
 * named, once, replacing one already there; without a password (or a pool)
 * the variable is left out; the process's own environment is untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "loop.h"
#include "net.h"
#include "pools.h"

/* How many entries of env start "name=", and the value of the last one. */
static int count(char **env, const char *name, const char **value)
{
	size_t n = strlen(name);
	int k = 0;

	*value = NULL;
	for (size_t i = 0; env[i]; i++)
		if (strncmp(env[i], name, n) == 0 && env[i][n] == '=') {
			k++;
			*value = env[i] + n + 1;
		}
	return k;
}

static void test_password_replaces_the_variable(void **state)
{
	struct loop *l = loop_new();
	struct net *n = net_new(l);
	struct pools *ps = pools_new(l, n, "/nonexistent/known_hosts");
	struct server_cfg cfg = {.name = (char *)"lab", .url = (char *)"https://127.0.0.1:1"};
	struct pool *p = pools_add(ps, &cfg, false);
	const char *v;
	char **env;

	setenv("XENTUI_TEST_CHILD_PW", "stale", 1);
	setenv("XENTUI_TEST_KEEP", "kept", 1);
	pool_set_password(p, "s3cret");
	env = pool_child_env(p, "XENTUI_TEST_CHILD_PW");
	assert_int_equal(count(env, "XENTUI_TEST_CHILD_PW", &v), 1);
	assert_string_equal(v, "s3cret");
	assert_int_equal(count(env, "XENTUI_TEST_KEEP", &v), 1);
	assert_string_equal(v, "kept");
	assert_string_equal(getenv("XENTUI_TEST_CHILD_PW"), "stale"); /* ours is not changed */
	pool_child_env_free(env);
	pools_free(ps);
	net_free(n);
	loop_free(l);
}

static void test_no_pool_leaves_the_variable_out(void **state)
{
	const char *v;
	char **env;

	setenv("XENTUI_TEST_CHILD_PW", "stale", 1);
	setenv("XENTUI_TEST_KEEP", "kept", 1);
	env = pool_child_env(NULL, "XENTUI_TEST_CHILD_PW");
	assert_int_equal(count(env, "XENTUI_TEST_CHILD_PW", &v), 0);
	assert_int_equal(count(env, "XENTUI_TEST_KEEP", &v), 1);
	assert_string_equal(getenv("XENTUI_TEST_CHILD_PW"), "stale");
	pool_child_env_free(env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password_replaces_the_variable),
		cmocka_unit_test(test_no_pool_leaves_the_variable_out),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
