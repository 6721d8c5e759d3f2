/* libFuzzer target: the configuration file, as xentui reads it (the main
 * settings, then the backup part of the same file), must turn any bytes into
 * settings or a sentence naming the line, never a crash, a leak or undefined
 * behaviour.
 * sources: src/core/config.c src/core/cfgedit.c src/core/cfgread.c src/core/atomicfile.c src/core/known_hosts.c src/console/keymap.c src/backup/bconfig.c src/backup/healthcheck_cfg.c src/backup/schedule.c src/core/util.c
 * packages: libconfig libcrypto libvncclient
 * options: -detect_leaks=0 -max_len=1024
 * (libconfig 1.5 leaks a few bytes on some syntax errors, tests/fuzz/lsan.supp:
 * checked after every such input, the leak check made runs 80 times slower.
 * Leaks are still looked for once, when the run ends, and fail it.
 * -max_len=1024: a file with servers, remotes and a job fits; the lexer's
 * time grows with the input.)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bconfig.h"
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* one in-memory file for every run: the loaders take a path */
	static int fd = -1;
	static char path[64];
	struct config c;
	struct backup_cfg b;
	char *err = NULL;

	if (fd < 0) {
		/* the default known_hosts: none, whoever runs this */
		setenv("XDG_CONFIG_HOME", "/nonexistent/xentui-fuzz", 1);
		fd = memfd_create("fuzz-config", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	if (config_load(path, &c, &err)) {
		for (int i = 0; i < c.nservers; i++)
			config_server(&c, c.servers[i].name);
		config_free(&c);
	}
	free(err);
	err = NULL;
	if (backup_cfg_load(path, &b, &err))
		backup_cfg_free(&b);
	free(err);
	return 0;
}
