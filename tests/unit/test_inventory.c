/* At a host's console (issue 17): dom0's inventory as xapi writes it, and
 * the lock's settings in the configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "inventory.h"

static char path[256];

static void write_file(const char *name, const char *text)
{
	FILE *f;

	mkdir("build/test-logs", 0755);
	snprintf(path, sizeof(path), "build/test-logs/%s-%d", name, (int)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_inventory_values(void **state)
{
	char *v;

	(void)state;
	write_file("inventory",
		   "PRODUCT_BRAND='XCP-ng'\nBUILD_NUMBER='release/yangtze/master/58'\n"
		   "INSTALLATION_UUID='3e7ab9c2-1f0d-4b6a-9a55-6c1d2f7e8a90'\nMANAGEMENT_INTERFACE='xenbr0'\n"
		   "INSTALLATION_UUID_OLD='not this one'\nBARE=value\n");
	v = inventory_get_from(path, "INSTALLATION_UUID");
	assert_string_equal(v, "3e7ab9c2-1f0d-4b6a-9a55-6c1d2f7e8a90"); /* not the _OLD key's */
	free(v);
	v = inventory_get_from(path, "BARE");
	assert_string_equal(v, "value");
	free(v);
	assert_null(inventory_get_from(path, "CONTROL_DOMAIN_UUID"));
	setenv("XENTUI_INVENTORY", path, 1);
	v = inventory_get("MANAGEMENT_INTERFACE");
	assert_string_equal(v, "xenbr0");
	free(v);
	unlink(path);
	assert_null(inventory_get("MANAGEMENT_INTERFACE")); /* no file: nothing */
	unsetenv("XENTUI_INVENTORY");
}

static void test_lock_settings(void **state)
{
	struct config c;
	char *err = NULL;

	(void)state;
	write_file("lock.conf", "preferences = { confirm_quit = false; };\n");
	assert_true(config_load(path, &c, &err));
	assert_int_equal(c.lock_idle, 300); /* five minutes unless said */
	assert_null(c.lock_url);
	config_free(&c);
	write_file("lock.conf", "preferences = { lock_idle = 0; lock_url = \"https://10.0.0.5\"; "
				"lock_fingerprint = \"ab:cd\"; };\n");
	assert_true(config_load(path, &c, &err));
	assert_int_equal(c.lock_idle, 0);
	assert_string_equal(c.lock_url, "https://10.0.0.5");
	assert_string_equal(c.lock_fingerprint, "ab:cd");
	config_free(&c);
	write_file("lock.conf", "preferences = { lock_idle = -5; };\n");
	assert_false(config_load(path, &c, &err));
	assert_non_null(strstr(err, "lock_idle"));
	free(err);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inventory_values),
		cmocka_unit_test(test_lock_settings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
