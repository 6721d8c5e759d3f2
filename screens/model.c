#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "draw.h"
#include "hmap.h"
#include "units.h"
#include "util.h"

size_t map_size(const struct xv *map)
{
	return map && map->type == XV_STRUCT ? xv_len(map) : 0;
}

const char *map_key(const struct xv *map, size_t i)
{
	const char *k = xv_key_at(map, i);

	return k ? k : "";
}

const struct xv *map_value(const struct xv *map, size_t i)
{
	return xv_value_at(map, i);
}

bool is_null_ref(const char *ref)
{
	return !ref || !*ref || strcmp(ref, "OpaqueRef:NULL") == 0;
}

bool vm_is_guest(const struct xv *vm)
{
	return vm && !rec_bool(vm, "is_a_template") && !rec_bool(vm, "is_a_snapshot")
	       && !rec_bool(vm, "is_control_domain");
}

const char *name_of(const struct cache *c, const char *ref)
{
	const struct xv *r = is_null_ref(ref) ? NULL : cache_get(c, ref);

	return r ? rec_str(r, "name_label") : "";
}

enum role power_role(const char *power)
{
	if (strcmp(power, "Running") == 0)
		return ROLE_GOOD;
	if (strcmp(power, "Halted") == 0)
		return ROLE_DIM;
	if (strcmp(power, "Suspended") == 0 || strcmp(power, "Paused") == 0)
		return ROLE_WARN;
	return ROLE_BAD;
}

const char *vm_power_text(const struct xv *vm, enum role *role)
{
	static const struct {
		const char *op, *text;
	} busy[] = {
		{"start", "Starting"}, {"start_on", "Starting"}, {"clean_shutdown", "Stopping"},
		{"hard_shutdown", "Stopping"}, {"clean_reboot", "Rebooting"}, {"hard_reboot", "Rebooting"},
		{"suspend", "Suspending"}, {"resume", "Resuming"}, {"resume_on", "Resuming"},
		{"pool_migrate", "Migrating"}, {"migrate_send", "Migrating"}, {"snapshot", "Snapshot"},
		{"clone", "Cloning"}, {"copy", "Copying"}, {"export", "Exporting"}, {"destroy", "Deleting"},
	};
	const struct xv *ops = rec_field(vm, "current_operations");
	const char *power = rec_str(vm, "power_state");

	/* xapi lists what a VM is busy with: show it, as XO's spinner does */
	if (map_size(ops)) {
		const char *op = xv_str(map_value(ops, 0));
		for (size_t i = 0; op && i < ARRAY_LEN(busy); i++)
			if (strcmp(busy[i].op, op) == 0) {
				*role = ROLE_WARN;
				return busy[i].text;
			}
	}
	*role = power_role(power);
	return power;
}

const char *vm_ip(const struct cache *c, const struct xv *vm)
{
	const struct xv *g = cache_get(c, rec_str(vm, "guest_metrics"));
	const char *ip;

	if (!g || strcmp(rec_str(vm, "power_state"), "Running") != 0)
		return "";
	ip = rec_map(g, "networks", "0/ipv4/0");
	if (!ip)
		ip = rec_map(g, "networks", "0/ip");
	return ip ? ip : "";
}

static const struct xv *guest_of(const struct cache *c, const struct xv *vm)
{
	if (strcmp(rec_str(vm, "power_state"), "Running") != 0)
		return NULL;
	return cache_get(c, rec_str(vm, "guest_metrics"));
}

bool vm_management_agent(const struct cache *c, const struct xv *vm, char *version, size_t n)
{
	const struct xv *g = guest_of(c, vm);
	const char *major = rec_map(g, "PV_drivers_version", "major");
	const char *minor = rec_map(g, "PV_drivers_version", "minor");
	const char *micro = rec_map(g, "PV_drivers_version", "micro");

	version[0] = '\0';
	if (!g)
		return false;
	/* XO: a reported tools version, or the static-IP feature, means an agent */
	if (major && minor) {
		snprintf(version, n, "%s.%s%s%s", major, minor, micro ? "." : "", micro ? micro : "");
		return true;
	}
	return rec_map(g, "other", "feature-static-ip-setting")
	       && strcmp(rec_map(g, "other", "feature-static-ip-setting"), "1") == 0;
}

bool vm_pv_drivers(const struct cache *c, const struct xv *vm, bool *up_to_date)
{
	const struct xv *g = guest_of(c, vm);
	bool detected;

	*up_to_date = false;
	if (!g)
		return false;
	/* PV_drivers_detected is recent (xapi 1.x); older pools only have the version */
	if (rec_field(g, "PV_drivers_detected"))
		detected = rec_bool(g, "PV_drivers_detected");
	else
		detected = rec_map(g, "PV_drivers_version", "major") != NULL;
	*up_to_date = detected && rec_bool(g, "PV_drivers_up_to_date");
	return detected;
}

const char *vm_tools(const struct cache *c, const struct xv *vm, int *role)
{
	bool current;

	*role = ROLE_DIM;
	if (strcmp(rec_str(vm, "power_state"), "Running") != 0)
		return "";
	if (!vm_pv_drivers(c, vm, &current)) {
		*role = ROLE_WARN;
		return "no";
	}
	*role = current ? -1 : ROLE_WARN;
	return current ? "yes" : "outdated";
}

void strings_text(const struct xv *set, char *buf, size_t n)
{
	struct buf b;

	buf_init(&b);
	for (size_t i = 0; i < xv_len(set); i++) {
		if (i)
			buf_puts(&b, ", ");
		buf_puts(&b, xv_str(xv_at(set, i)) ? xv_str(xv_at(set, i)) : "");
	}
	snprintf(buf, n, "%s", b.data ? b.data : "");
	buf_free(&b);
}

void tags_text(const struct xv *rec, char *buf, size_t n)
{
	strings_text(rec_field(rec, "tags"), buf, n);
}

struct cpu_sum {
	char *host;
	double sum;
	int n;
};

static bool index_cpu_cb(const char *ref, const struct xv *rec, void *ud)
{
	struct hmap *idx = ud;
	const char *host = rec_str(rec, "host");
	struct cpu_sum *s = hmap_get(idx, host);

	if (!s) {
		s = xcalloc(1, sizeof(*s));
		s->host = xstrdup(host);
		hmap_put(idx, s->host, s);
	}
	s->sum += rec_float(rec, "utilisation");
	s->n++;
	return true;
}

void host_cpu_index(const struct cache *c, struct hmap *out)
{
	hmap_init(out);
	cache_each(c, "host_cpu", index_cpu_cb, out);
}

static bool free_sum_cb(const char *key, void *value, void *ud)
{
	struct cpu_sum *s = value;

	free(s->host);
	free(s);
	return true;
}

void host_cpu_index_free(struct hmap *idx)
{
	hmap_each(idx, free_sum_cb, NULL);
	hmap_free(idx);
}

void host_use(const struct cache *c, const char *ref, const struct xv *host, const struct hmap *idx,
	      struct host_use *u)
{
	const struct xv *m = cache_get(c, rec_str(host, "metrics"));
	const struct xv *vms = rec_field(host, "resident_VMs");
	struct hmap own;
	const struct cpu_sum *cpus;

	memset(u, 0, sizeof(*u));
	if (!m || !rec_bool(m, "live")) {
		u->state = "offline";
		u->role = ROLE_BAD;
	} else if (!rec_bool(host, "enabled")) {
		u->state = "disabled";
		u->role = ROLE_WARN;
	} else {
		u->state = "enabled";
		u->role = ROLE_GOOD;
	}
	if (!idx) {
		host_cpu_index(c, &own);
		cpus = hmap_get(&own, ref);
	} else {
		cpus = hmap_get(idx, ref);
	}
	u->ncpus = cpus ? cpus->n : (int)xv_len(rec_field(host, "host_CPUs"));
	u->cpu = cpus && cpus->n ? cpus->sum / cpus->n : 0;
	if (!idx)
		host_cpu_index_free(&own);
	u->mem_total = rec_int(m, "memory_total");
	u->mem_free = rec_int(m, "memory_free");
	for (size_t i = 0; i < xv_len(vms); i++) {
		const struct xv *vm = cache_get(c, xv_str(xv_at(vms, i)));
		if (vm && !rec_bool(vm, "is_control_domain"))
			u->vms++;
	}
}

struct first {
	const char *ref;
	const struct xv *rec;
};

static bool first_cb(const char *ref, const struct xv *rec, void *ud)
{
	struct first *f = ud;

	f->ref = ref;
	f->rec = rec;
	return false;
}

bool sr_takes_new_disks(const struct xv *sr)
{
	const struct xv *ops = rec_field(sr, "allowed_operations");

	/* ISO libraries and removable media hold no VM disks */
	if (strcmp(rec_str(sr, "content_type"), "iso") == 0 || strcmp(rec_str(sr, "type"), "udev") == 0)
		return false;
	for (size_t i = 0; i < xv_len(ops); i++)
		if (xv_str(xv_at(ops, i)) && strcmp(xv_str(xv_at(ops, i)), "vdi_create") == 0)
			return true;
	return false;
}

const struct xv *pool_record(const struct cache *c, const char **ref)
{
	struct first f = {NULL, NULL};

	cache_each(c, "pool", first_cb, &f);
	if (ref)
		*ref = f.ref;
	return f.rec;
}

void used_of_total(char *buf, size_t n, long long used, long long total)
{
	char u[24], t[24];

	size_format(u, sizeof(u), used);
	size_format(t, sizeof(t), total);
	snprintf(buf, n, "%s / %s", u, t);
}

void bar_text(char *buf, size_t n, double frac, int cols)
{
	int filled;
	size_t used = 0;

	if (frac < 0)
		frac = 0;
	if (frac > 1)
		frac = 1;
	filled = (int)(frac * cols + 0.5);
	buf[0] = '\0';
	for (int i = 0; i < cols; i++) {
		const char *g = glyph(i < filled ? GLYPH_BAR_FULL : GLYPH_BAR_EMPTY);
		size_t len = strlen(g);
		if (used + len + 1 > n)
			break;
		memcpy(buf + used, g, len);
		used += len;
		buf[used] = '\0';
	}
}

long long datetime_seconds(const char *s)
{
	int d[14], k = 0;
	struct tm tm;

	/* the 14 digits of YYYYMMDD HHMMSS, with or without '-', 'T' and ':' between */
	for (; s && *s && k < 14; s++) {
		if (*s >= '0' && *s <= '9')
			d[k++] = *s - '0';
		else if (*s != '-' && *s != ':' && !(*s == 'T' && k == 8))
			return 0;
	}
	if (k < 14 || (*s && *s != 'Z' && *s != '.'))
		return 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3] - 1900;
	tm.tm_mon = d[4] * 10 + d[5] - 1;
	tm.tm_mday = d[6] * 10 + d[7];
	tm.tm_hour = d[8] * 10 + d[9];
	tm.tm_min = d[10] * 10 + d[11];
	tm.tm_sec = d[12] * 10 + d[13];
	return (long long)timegm(&tm);
}

void datetime_text(const char *s, char *buf, size_t n)
{
	/* 20250319T04:16:24Z */
	if (s && strlen(s) >= 14 && s[8] == 'T')
		snprintf(buf, n, "%.4s-%.2s-%.2s %.5s", s, s + 4, s + 6, s + 9);
	else
		snprintf(buf, n, "%s", s ? s : "");
}
