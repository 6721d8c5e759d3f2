/* host.call_plugin and the plugin every XCP-ng host has for updates,
 * updater.py: check_update lists the packages yum would update, as a JSON
 * list; update installs them. The new software runs after a reboot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_extra.h"
#include "pool.h"
#include "sim.h"
#include "util.h"

struct pkg {
	const char *name, *version, *release, *description, *changelog;
	long size;
};

/* What the XCP-ng repositories offer over the sim's 8.3 install. */
static const struct pkg pkgs[] = {
	{"xapi-core", "25.6.1", "1.1.xcpng8.3", "The xapi toolstack", "Fix host evacuation ordering", 6214332},
	{"xen-hypervisor", "4.17.5", "4.xcpng8.3", "Xen hypervisor", "Security fixes (XSA-466)", 1032980},
	{"kernel", "4.19.19", "8.0.38.1.xcpng8.3", "The Linux kernel", "Backported storage fixes", 31588724},
	{"xcp-ng-release", "8.3.0", "31", "XCP-ng release file", "Refresh repository keys", 21876},
};
#define NPKGS (ARRAY_LEN(pkgs))

/* Per host: installed (waits for a reboot) and running the new software. */
struct host_updates {
	char ref[REF_LEN];
	bool installed, booted;
};

static struct host_updates *hosts;
static size_t nhosts, cap;

static struct host_updates *state_of(const struct obj *h)
{
	for (size_t i = 0; i < nhosts; i++)
		if (strcmp(hosts[i].ref, h->ref) == 0)
			return &hosts[i];
	if (nhosts == cap) {
		cap = cap ? cap * 2 : 8;
		hosts = xrealloc(hosts, cap * sizeof(*hosts));
	}
	memset(&hosts[nhosts], 0, sizeof(hosts[0]));
	memcpy(hosts[nhosts].ref, h->ref, REF_LEN);
	return &hosts[nhosts++];
}

/* Hosts differ a little: a host's uuid picks whether it lacks the kernel. */
static bool offered(const struct obj *h, size_t i)
{
	const char *uuid = db_str(h, "uuid");

	return strcmp(pkgs[i].name, "kernel") != 0 || (uuid[0] && (uuid[0] - '0') % 2 == 0);
}

static struct xv *check_update(struct obj *h)
{
	struct host_updates *u = state_of(h);
	char *out = xstrdup("[");

	for (size_t i = 0; i < NPKGS && !u->installed; i++) {
		char *item;
		char *next;
		if (!offered(h, i))
			continue;
		item = xasprintf("{\"name\": \"%s\", \"version\": \"%s\", \"release\": \"%s\", \"description\": \"%s\", "
				 "\"changelog\": {\"date\": 1732600000, \"author\": \"XCP-ng team\", \"description\": \"%s\"}, "
				 "\"url\": \"https://updates.xcp-ng.org/8/8.3/updates/x86_64/Packages/%s-%s-%s.x86_64.rpm\", "
				 "\"size\": %ld, \"license\": \"GPLv2\"}",
				 pkgs[i].name, pkgs[i].version, pkgs[i].release, pkgs[i].description, pkgs[i].changelog,
				 pkgs[i].name, pkgs[i].version, pkgs[i].release, pkgs[i].size);
		next = xasprintf("%s%s%s", out, strlen(out) > 1 ? ", " : "", item);
		free(out);
		free(item);
		out = next;
	}
	{
		char *done = xasprintf("%s]", out);
		free(out);
		return xv_string_take(done);
	}
}

static struct xv *update(struct obj *h)
{
	state_of(h)->installed = true;
	return xv_string("");
}

/* Installed updates run once the host has rebooted: xapi reports the new
 * versions in software_version. */
void updater_on_boot(struct obj *h)
{
	struct host_updates *u = state_of(h);
	struct xv *sv;

	if (!u->installed || u->booted)
		return;
	u->booted = true;
	sv = xv_copy(db_field(h, "software_version"));
	xv_struct_set(sv, "xapi", xv_string("25.6"));
	xv_struct_set(sv, "xapi_build", xv_string("25.6.1"));
	xv_struct_set(sv, "xen", xv_string("4.17.5-4"));
	xv_struct_set(sv, "date", xv_string("2024-11-26"));
	db_set(h, "software_version", sv);
}

/* Locked. The plugin run on this process's host. */
static struct xv *call_plugin_here(struct obj *h, const char *plugin, const char *fn, struct xv **err)
{
	struct obj *m = db_ref(h, "metrics");

	if (m && !db_bool(m, "live")) {
		*err = err_new("HOST_OFFLINE", h->ref, NULL);
		return NULL;
	}
	if (strcmp(plugin, "updater.py") != 0) {
		*err = err_new("XENAPI_MISSING_PLUGIN", plugin, NULL);
		return NULL;
	}
	if (strcmp(fn, "check_update") == 0)
		return check_update(h);
	if (strcmp(fn, "update") == 0)
		return update(h);
	{
		char *why = xasprintf("Traceback (most recent call last):\nKeyError: '%s'\n", fn);
		*err = err_new("XENAPI_PLUGIN_FAILURE", "failure", "", why, NULL);
		free(why);
	}
	return NULL;
}

/* Unlocked (H_UNLOCKED). A plugin runs on the host it names: xapi forwards
 * the call to that host, here to the xapi-sim process serving its address,
 * where its installed updates are known. */
struct xv *host_call_plugin(struct call *c, struct xv **err)
{
	struct obj *h, *m;
	char address[128], uuid[64], ref[REF_LEN];
	struct xv *extra[3], *v = NULL;

	db_lock();
	h = arg_obj(c, 0, "host", err);
	if (h && strcmp(db_str(h, "address"), sim.address) == 0) {
		v = call_plugin_here(h, arg_str(c, 1), arg_str(c, 2), err);
		db_unlock();
		return v;
	}
	if (!h) {
		db_unlock();
		return NULL;
	}
	m = db_ref(h, "metrics");
	if (m && !db_bool(m, "live")) {
		*err = err_new("HOST_OFFLINE", h->ref, NULL);
		db_unlock();
		return NULL;
	}
	snprintf(address, sizeof(address), "%s", db_str(h, "address"));
	snprintf(uuid, sizeof(uuid), "%s", db_str(h, "uuid"));
	memcpy(ref, h->ref, REF_LEN);
	db_unlock();
	for (int i = 0; i < 3; i++)
		extra[i] = xv_copy(arg(c, i + 1));
	if (!pool_forward(address, uuid, ref, "host.call_plugin", extra, 3, &v, err))
		v = NULL;
	for (int i = 0; i < 3; i++)
		xv_free(extra[i]);
	return v;
}
