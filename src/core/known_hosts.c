#include "known_hosts.h"

#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

static bool load(const char *path, config_t *cfg)
{
	config_init(cfg);
	if (access(path, F_OK) != 0)
		return true;
	return config_read_file(cfg, path) == CONFIG_TRUE;
}

bool known_hosts_lookup(const char *path, const char *hostport, char out[65])
{
	config_t cfg;
	config_setting_t *hosts;
	bool found = false;

	if (!path || !load(path, &cfg)) {
		if (path)
			config_destroy(&cfg);
		return false;
	}
	hosts = config_lookup(&cfg, "hosts");
	for (int i = 0; hosts && i < config_setting_length(hosts); i++) {
		config_setting_t *e = config_setting_get_elem(hosts, (unsigned)i);
		const char *h = NULL, *fp = NULL;
		if (config_setting_lookup_string(e, "host", &h) && config_setting_lookup_string(e, "sha256", &fp)
		    && strcmp(h, hostport) == 0 && strlen(fp) == 64) {
			memcpy(out, fp, 65);
			found = true;
		}
	}
	config_destroy(&cfg);
	return found;
}

bool known_hosts_add(const char *path, const char *hostport, const char *sha256, char **err)
{
	config_t cfg;
	config_setting_t *hosts, *e;
	bool ok;

	if (!load(path, &cfg)) {
		*err = xasprintf("%s:%d: %s", path, config_error_line(&cfg), config_error_text(&cfg));
		config_destroy(&cfg);
		return false;
	}
	hosts = config_lookup(&cfg, "hosts");
	if (!hosts)
		hosts = config_setting_add(config_root_setting(&cfg), "hosts", CONFIG_TYPE_LIST);
	for (int i = config_setting_length(hosts) - 1; i >= 0; i--) {
		const char *h = NULL;
		e = config_setting_get_elem(hosts, (unsigned)i);
		if (config_setting_lookup_string(e, "host", &h) && strcmp(h, hostport) == 0)
			config_setting_remove_elem(hosts, (unsigned)i);
	}
	e = config_setting_add(hosts, NULL, CONFIG_TYPE_GROUP);
	config_setting_set_string(config_setting_add(e, "host", CONFIG_TYPE_STRING), hostport);
	config_setting_set_string(config_setting_add(e, "sha256", CONFIG_TYPE_STRING), sha256);
	ok = config_write_atomic(&cfg, path, err);
	config_destroy(&cfg);
	return ok;
}
