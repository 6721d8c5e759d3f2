/* The guest agent of a booted VM: some time after the domain starts, the
 * agent in the guest reports and xapi (xapi_guest_agent.ml) fills
 * VM_guest_metrics; xenopsd also reflects what the guest wrote under its
 * xenstore vm-data/ into VM.xenstore_data. other_config keys of the VM steer
 * it (they travel in an XVA, so a restored copy behaves as its source):
 *   sim_guest_agent = "never" | milliseconds before it reports (default 3000)
 *   sim_health_check_script = "success" (default) | "failure" | "never":
 *     what a startup script writes to vm-data/xo-backup-health-check when
 *     that key was "planned" at boot (XO's health check through xenstore). */
#include "guest_agent.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "util.h"
#include "value.h"

#define HC_KEY "vm-data/xo-backup-health-check"

struct boot {
	char ref[REF_LEN];
	int64_t domid;
	int after_ms;
};

static struct xv *smap(const char *const *kv)
{
	struct xv *m = xv_struct();

	for (; kv[0]; kv += 2)
		xv_struct_add(m, kv[0], xv_string(kv[1]));
	return m;
}

/* Locked. What the agent of a Linux guest reports; the OS the VM last
 * reported (a snapshot's copy) is kept. */
static void report(struct obj *vm)
{
	struct obj *old = db_ref(vm, "guest_metrics");
	struct obj *g = db_create_named("VM_guest_metrics");
	const struct xv *os = old ? db_field(old, "os_version") : NULL;

	db_set(g, "os_version", os && xv_len(os) ? xv_copy(os)
						  : smap((const char *const[]){"name", "Debian GNU/Linux 12 (bookworm)", "distro",
									      "debian", "major", "12", "minor", "4", NULL}));
	db_set(g, "PV_drivers_version",
	       smap((const char *const[]){"major", "8", "minor", "3", "micro", "0", "build", "1", NULL}));
	db_set_bool(g, "PV_drivers_up_to_date", true);
	db_set_bool(g, "PV_drivers_detected", true);
	db_set(g, "other", smap((const char *const[]){"feature-shutdown", "1", "feature-suspend", "1", "feature-poweroff",
						      "1", "feature-reboot", "1", NULL}));
	db_set_bool(g, "live", true);
	db_set_str(g, "can_use_hotplug_vbd", "yes");
	db_set_str(g, "can_use_hotplug_vif", "yes");
	db_set_now(g, "last_updated");
	db_set_ref(vm, "guest_metrics", g);
	if (old)
		db_delete(old);
}

/* Locked. A startup script answers XO's health check through xenstore. */
static void script(struct obj *vm)
{
	const char *want = db_map_get(vm, "other_config", "sim_health_check_script");
	const char *now = db_map_get(vm, "xenstore_data", HC_KEY);

	if (!now || strcmp(now, "planned") != 0 || (want && strcmp(want, "never") == 0))
		return;
	if (want && strcmp(want, "failure") == 0) {
		db_map_put(vm, "xenstore_data", HC_KEY "-error", "the service did not start");
		db_map_put(vm, "xenstore_data", HC_KEY, "failure");
	} else {
		db_map_put(vm, "xenstore_data", HC_KEY, "success");
	}
}

static void *agent_thread(void *arg)
{
	struct boot *b = arg;
	struct timespec ts = {b->after_ms / 1000, (long)(b->after_ms % 1000) * 1000000L};
	struct obj *vm;

	nanosleep(&ts, NULL);
	db_lock();
	vm = db_find(b->ref);
	/* the same boot still running: a halt or another start since is not ours */
	if (vm && strcmp(vm->cls->name, "VM") == 0 && db_int(vm, "domid") == b->domid &&
	    strcmp(db_str(vm, "power_state"), "Running") == 0) {
		report(vm);
		script(vm);
	}
	db_unlock();
	free(b);
	return NULL;
}

void guest_agent_on_boot(struct obj *vm)
{
	const char *how = db_map_get(vm, "other_config", "sim_guest_agent");
	struct boot *b;
	pthread_t th;
	pthread_attr_t attr;

	if (db_bool(vm, "is_control_domain") || (how && strcmp(how, "never") == 0))
		return;
	b = xcalloc(1, sizeof(*b));
	memcpy(b->ref, vm->ref, REF_LEN);
	b->domid = db_int(vm, "domid");
	b->after_ms = how && atoi(how) > 0 ? atoi(how) : 3000;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, agent_thread, b) != 0)
		free(b);
	pthread_attr_destroy(&attr);
}
