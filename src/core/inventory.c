/* Reading dom0's inventory (xapi's ocaml/xapi/inventory.ml writes it). */
#include "inventory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

char *inventory_get_from(const char *path, const char *key)
{
	FILE *f = fopen(path, "re");
	char line[1024];
	size_t klen = strlen(key);
	char *out = NULL;

	if (!f)
		return NULL;
	while (!out && fgets(line, sizeof(line), f)) {
		char *v = line + klen;
		size_t n;
		if (strncmp(line, key, klen) != 0 || *v != '=')
			continue;
		v++;
		n = strcspn(v, "\r\n");
		v[n] = '\0';
		/* KEY='value' as xapi writes it; a bare value is taken as it is */
		if (n >= 2 && (v[0] == '\'' || v[0] == '"') && v[n - 1] == v[0]) {
			v[n - 1] = '\0';
			v++;
		}
		out = xstrdup(v);
	}
	fclose(f);
	return out;
}

char *inventory_get(const char *key)
{
	const char *path = getenv("XENTUI_INVENTORY");

	return inventory_get_from(path && *path ? path : "/etc/xensource-inventory", key);
}
