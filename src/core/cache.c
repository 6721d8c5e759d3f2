#include "cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hmap.h"
#include "strpool.h"
#include "util.h"

/* short enough that a poll unanswered past its deadline (xapi.c adds a
 * few seconds) says within 15 s that the pool stopped answering */
#define EVENT_TIMEOUT_S 5.0

/* The classes xentui keeps, and the fields of each its lists and live views
 * use: the rest is dropped while decoding, so 5,000 VMs stay small (a detail
 * view fetches the whole record when it opens). NULL keeps everything. */
static const char *const f_pool[] = {"uuid", "name_label", "name_description", "master", "default_SR",
	"ha_enabled", "ha_host_failures_to_tolerate", "ha_statefiles", "ha_overcommitted", "other_config", "tags", "allowed_operations",
	"current_operations", NULL};
static const char *const f_host[] = {"uuid", "name_label", "name_description", "hostname", "address", "enabled",
	"metrics", "host_CPUs", "PIFs", "PBDs", "resident_VMs", "software_version", "cpu_info",
	"bios_strings", "memory_overhead", "allowed_operations", "current_operations", "other_config", "PCIs",
	"edition", "API_version_major", "API_version_minor", "ssh_enabled", "timezone", "tags", "logging",
	"ntp_mode", "ntp_custom_servers", NULL};
static const char *const f_host_metrics[] = {"uuid", "memory_total", "memory_free", "live", "last_updated", NULL};
static const char *const f_host_cpu[] = {"uuid", "host", "number", "utilisation", "modelname", "speed", NULL};
static const char *const f_vm[] = {"uuid", "name_label", "name_description", "power_state", "is_a_template",
	"is_default_template", "is_a_snapshot", "is_control_domain", "resident_on", "affinity", "memory_static_max",
	"memory_dynamic_max", "memory_dynamic_min", "memory_static_min", "VCPUs_max", "VCPUs_at_startup", "VBDs", "VIFs",
	"consoles", "metrics", "guest_metrics", "snapshots", "snapshot_of", "snapshot_time", "tags",
	"current_operations", "domain_type", "HVM_boot_params", "other_config",
	/* what a new VM takes from its template (dropped from other VMs: see trim_vm) */
	"recommendations", "platform", "HVM_boot_policy", NULL};
static const char *const f_vm_metrics[] = {"uuid", "start_time", NULL};
static const char *const f_guest[] = {"uuid", "os_version", "PV_drivers_version", "PV_drivers_up_to_date",
	"PV_drivers_detected", "networks", "other", "live", "can_use_hotplug_vbd", "can_use_hotplug_vif", NULL};
static const char *const f_vbd[] = {"uuid", "VM", "VDI", "device", "userdevice", "bootable", "mode", "type", "empty",
	"currently_attached", "unpluggable", NULL};
static const char *const f_vdi[] = {"uuid", "name_label", "name_description", "SR", "VBDs", "virtual_size",
	"physical_utilisation", "type", "read_only", "is_a_snapshot", "snapshot_of", "snapshots", "current_operations",
	"is_tools_iso", "snapshot_time", NULL};
static const char *const f_vif[] = {"uuid", "device", "network", "VM", "MAC", "MTU", "currently_attached",
	"other_config", "locking_mode", NULL};
static const char *const f_sr[] = {"uuid", "name_label", "name_description", "type", "content_type", "shared",
	"physical_size", "physical_utilisation", "virtual_allocation", "VDIs", "PBDs", "allowed_operations",
	"current_operations", "other_config", "sm_config", "is_tools_sr", "tags", NULL};
static const char *const f_pbd[] = {"uuid", "host", "SR", "device_config", "currently_attached", NULL};
static const char *const f_network[] = {"uuid", "name_label", "name_description", "bridge", "MTU", "PIFs", "VIFs",
	"other_config", "managed", "tags", NULL};
static const char *const f_pif[] = {"uuid", "device", "network", "host", "MAC", "MTU", "VLAN", "physical",
	"currently_attached", "management", "ip_configuration_mode", "IP", "netmask", "gateway", "DNS", "metrics",
	"bond_master_of", "VLAN_master_of", "ipv6_configuration_mode", "IPv6", NULL};
static const char *const f_pif_metrics[] = {"uuid", "carrier", "speed", "vendor_name", "device_name",
	"pci_bus_path", NULL};
static const char *const f_task[] = {"uuid", "name_label", "name_description", "status", "progress", "created",
	"result", "error_info", "resident_on", "allowed_operations", "other_config", NULL};
static const char *const f_message[] = {"uuid", "name", "priority", "obj_uuid", "timestamp", "body", NULL};
static const char *const f_console[] = {"uuid", "protocol", "location", "VM", NULL};
static const char *const f_sm[] = {"uuid", "name_label", "name_description", "type", NULL};
static const char *const f_pci[] = {"uuid", "class_id", "class_name", "vendor_name", "device_name", "host", "pci_id",
	"driver_name", NULL};
static const char *const f_vlan[] = {"uuid", "tagged_PIF", "tag", NULL};
static const char *const f_bond[] = {"uuid", "master", "slaves", "mode", NULL};

/* In the order a load asks for them, six at a time (net.c's connections to
 * a host). xapi builds one reply at a time (the simulator holds its database
 * lock, xapi its OCaml runtime lock) and sends none before it is whole, while
 * this client decodes one at a time: VM.get_all_records, the longest to build
 * (47 ms of the 190 the simulator takes for all 22 classes of 5,000 VMs),
 * asked among the first kept the client waiting with nothing to decode.
 * Asked after four classes that are built in a third of its time each, it is
 * built while they are decoded.
 * host comes first: `list vms` asks for the hosts' /rrd_updates once the
 * hosts are in. The small classes follow, each built in a few ms, as
 * connections free up. */
static const struct kept {
	const char *cls;
	const char *const *fields;
} classes[] = {
	{"host", f_host}, {"VIF", f_vif}, {"VDI", f_vdi}, {"VBD", f_vbd}, {"VM_guest_metrics", f_guest},
	{"VM", f_vm}, {"VM_metrics", f_vm_metrics}, {"host_cpu", f_host_cpu}, {"message", f_message},
	{"console", f_console}, {"SR", f_sr}, {"network", f_network}, {"PCI", f_pci}, {"PBD", f_pbd},
	{"PIF", f_pif}, {"PIF_metrics", f_pif_metrics}, {"host_metrics", f_host_metrics}, {"pool", f_pool},
	{"task", f_task}, {"SM", f_sm}, {"VLAN", f_vlan}, {"Bond", f_bond},
};
#define NCLASSES (ARRAY_LEN(classes))

/* 96 bytes, from the cache's own slab: 50,000 of them in a large pool. */
struct entry {
	/* embedded: no allocation per index entry. ref_node's key is the ref
	 * (pooled: refs recur in many records); uuid_node's the record's own uuid
	 * text, or NULL when it has none (not in the uuid index) */
	struct hmap_node ref_node, uuid_node;
	struct xv *rec;
	struct entry *cnext, *cprev; /* the class's objects, for cache_each */
	int cls;
};
#define ENTRY_REF(e) ((e)->ref_node.key)

/* A key vector the records of one class share (xv_struct_shape): most
 * classes have one or two shapes, and 550,000 members lose 8 bytes each. */
#define MAX_SHAPES 16 /* per class: past that, records keep their own keys */
struct shape {
	struct shape *next;
	uint32_t n;
	const char *k[];
};

/* Entries are carved from blocks of this many; freed ones are reused. */
#define ENTRY_BLOCK 1024
struct entry_block {
	struct entry_block *next;
	struct entry e[ENTRY_BLOCK];
};

struct sub {
	cache_fn fn;
	void *ud;
	struct sub *next;
};

struct cache {
	struct xapi *x;
	struct loop *loop;
	struct hmap by_ref;
	struct hmap by_uuid;
	size_t count[NCLASSES];
	struct entry *first[NCLASSES];
	struct sub *subs;
	char *token;
	unsigned generation; /* bumps on every (re)load; stale replies are ignored */
	unsigned login_seen;
	int pending;          /* get_all_records still out */
	bool loaded, running, failed, polling, stopped;
	char *status;
	struct loop_timer *retry;
	struct hmap kept[NCLASSES]; /* field name -> (void *)1, per class */
	struct entry_block *blocks;
	size_t carved;             /* entries used in blocks (the newest block) */
	struct entry *free_entries; /* linked through cnext */
	struct shape *shapes[NCLASSES];
	unsigned nshapes[NCLASSES];
};

/* ---- records ------------------------------------------------------------- */

static int class_index(const char *cls)
{
	for (size_t i = 0; i < NCLASSES; i++)
		if (strcasecmp(classes[i].cls, cls) == 0)
			return (int)i;
	return -1;
}

/* Called for every field of every record loaded: a hash, not a scan. */
static bool keep_field(const struct cache *c, int cls, const char *name)
{
	return !classes[cls].fields || hmap_get(&c->kept[cls], name) != NULL;
}

struct keep_ctx {
	const struct cache *c;
	int cls;
};

static int keep_cb(const char *key, void *ud)
{
	struct keep_ctx *k = ud;

	return keep_field(k->c, k->cls, key);
}

/* Drops the fields xentui never reads (for records that arrive whole). */
static void trim(const struct cache *c, int cls, struct xv *rec)
{
	struct keep_ctx k = {c, cls};

	if (rec && rec->type == XV_STRUCT)
		xv_struct_filter(rec, keep_cb, &k);
}

static int keep_vm_other_config(const char *key, void *ud)
{
	(void)ud;
	/* host_pci's passthrough list and Xen Orchestra's backup marks */
	return strcmp(key, "pci") == 0 || strncmp(key, "xo:", 3) == 0;
}

/* A VM's fields only a template's record keeps. */
static bool template_only(const char *name)
{
	switch (name[0]) { /* asked of each of a VM's hundred fields */
	case 'p':
		return strcmp(name, "platform") == 0;
	case 'r':
		return strcmp(name, "recommendations") == 0;
	case 'H':
		return strcmp(name, "HVM_boot_policy") == 0;
	default:
		return false;
	}
}

static int not_template_only(const char *key, void *ud)
{
	(void)ud;
	return !template_only(key);
}

/* What only a template's record needs (a new VM copies it): 5,000 VMs'
 * platform maps and other_config keys are a tenth of the cache. */
static void trim_vm(struct xv *rec)
{
	struct xv *oc;
	bool tmpl = false;

	if (!rec || rec->type != XV_STRUCT || (xv_get_bool(xv_struct_get(rec, "is_a_template"), &tmpl) && tmpl))
		return;
	xv_struct_filter(rec, not_template_only, NULL); /* one pass, not a search each */
	oc = xv_struct_get(rec, "other_config");
	if (oc && oc->type == XV_STRUCT) {
		xv_struct_filter(oc, keep_vm_other_config, NULL);
		xv_shrink(oc);
	}
	xv_shrink(rec);
}

static void notify(struct cache *c, enum cache_op op, const char *cls, const char *ref)
{
	for (struct sub *s = c->subs; s;) {
		struct sub *next = s->next; /* a subscriber may unsubscribe itself */
		s->fn(c, op, cls, ref, s->ud);
		s = next;
	}
}

static struct entry *entry_new(struct cache *c)
{
	struct entry *e;

	if (c->free_entries) {
		e = c->free_entries;
		c->free_entries = e->cnext;
	} else {
		if (!c->blocks || c->carved == ENTRY_BLOCK) {
			struct entry_block *b = xmalloc(sizeof(*b));
			b->next = c->blocks;
			c->blocks = b;
			c->carved = 0;
		}
		e = &c->blocks->e[c->carved++];
	}
	memset(e, 0, sizeof(*e));
	return e;
}

static void entry_free(struct cache *c, struct entry *e)
{
	xv_free(e->rec);
	e->rec = NULL;
	e->cnext = c->free_entries;
	c->free_entries = e;
}

static void shape_record(struct cache *c, int cls, struct xv *rec)
{
	struct shape *sh;

	if (!rec || rec->type != XV_STRUCT || rec->borrowed != 1 || !rec->n)
		return;
	for (sh = c->shapes[cls]; sh; sh = sh->next)
		if (sh->n == rec->n && xv_struct_shape(rec, sh->k))
			return;
	if (c->nshapes[cls] >= MAX_SHAPES)
		return;
	sh = xmalloc(sizeof(*sh) + rec->n * sizeof(sh->k[0]));
	sh->n = rec->n;
	for (uint32_t i = 0; i < rec->n; i++)
		sh->k[i] = xv_key_at(rec, i);
	sh->next = c->shapes[cls];
	c->shapes[cls] = sh;
	c->nshapes[cls]++;
	xv_struct_shape(rec, sh->k);
}

/* Stores rec (taken) for ref; returns whether it was new. pooled: ref is
 * already the xapi string pool's copy (a decoded map's borrowed key). */
static bool store(struct cache *c, int cls, const char *ref, struct xv *rec, bool pooled)
{
	uint32_t h = pooled ? strpool_hash(ref) : hmap_hash(ref); /* for the lookup and the link both */
	struct entry *e = hmap_get_hashed(&c->by_ref, ref, h);
	const char *uuid;

	if (strcmp(classes[cls].cls, "VM") == 0)
		trim_vm(rec);
	shape_record(c, cls, rec);
	uuid = xv_str(xv_struct_get(rec, "uuid"));

	if (e) {
		if (e->uuid_node.key)
			hmap_unlink(&c->by_uuid, &e->uuid_node);
		xv_free(e->rec);
	} else {
		e = entry_new(c);
		e->cls = cls;
		hmap_link_hashed(&c->by_ref, &e->ref_node, pooled ? ref : strpool_get(xapi_strpool(c->x), ref, strlen(ref)),
				 e, h);
		e->cnext = c->first[cls];
		if (e->cnext)
			e->cnext->cprev = e;
		c->first[cls] = e;
		c->count[cls]++;
	}
	e->rec = rec;
	e->uuid_node.key = NULL;
	if (uuid && *uuid)
		hmap_link(&c->by_uuid, &e->uuid_node, uuid, e);
	return e->cls == cls;
}

static bool forget(struct cache *c, const char *ref)
{
	struct entry *e = hmap_get(&c->by_ref, ref);

	if (!e)
		return false;
	hmap_unlink(&c->by_ref, &e->ref_node);
	if (e->uuid_node.key)
		hmap_unlink(&c->by_uuid, &e->uuid_node);
	if (e->cprev)
		e->cprev->cnext = e->cnext;
	else
		c->first[e->cls] = e->cnext;
	if (e->cnext)
		e->cnext->cprev = e->cprev;
	c->count[e->cls]--;
	entry_free(c, e);
	return true;
}

static void clear(struct cache *c)
{
	/* the index nodes live in the entries: empty the tables, then free them */
	hmap_clear_embedded(&c->by_ref);
	hmap_clear_embedded(&c->by_uuid);
	for (size_t k = 0; k < NCLASSES; k++)
		for (struct entry *e = c->first[k], *next; e; e = next) {
			next = e->cnext;
			entry_free(c, e);
		}
	memset(c->count, 0, sizeof(c->count));
	memset(c->first, 0, sizeof(c->first));
}

static void set_status(struct cache *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_status(struct cache *c, const char *fmt, ...)
{
	va_list ap;

	free(c->status);
	va_start(ap, fmt);
	c->status = xvasprintf(fmt, ap);
	va_end(ap);
	notify(c, CACHE_STATUS, NULL, NULL);
}

/* ---- events ----------------------------------------------------------------- */

struct req {
	struct cache *c;
	unsigned generation;
	int cls;
};

static struct req *req_new(struct cache *c, int cls)
{
	struct req *r = xmalloc(sizeof(*r));

	r->c = c;
	r->generation = c->generation;
	r->cls = cls;
	return r;
}

static void reload(struct cache *c);
static void poll_events(struct cache *c);

static void on_retry_timer(struct loop *l, void *ud)
{
	struct cache *c = ud;

	c->retry = NULL;
	reload(c);
}

/* After a failure that is not the connection's (those the xapi layer
 * retries): try the whole load again a little later. */
static void retry_later(struct cache *c, const char *why)
{
	c->polling = false;
	if (!c->running || c->retry)
		return;
	set_status(c, "%s", why);
	c->retry = loop_timer(c->loop, 5000, on_retry_timer, c);
}

static void apply_event(struct cache *c, struct xv *ev)
{
	const char *cls = xv_str(xv_struct_get(ev, "class"));
	const char *op = xv_str(xv_struct_get(ev, "operation"));
	const char *ref = xv_str(xv_struct_get(ev, "ref"));
	struct xv *snap = xv_struct_get(ev, "snapshot");
	int k;

	if (!cls || !op || !ref || (k = class_index(cls)) < 0)
		return;
	if (strcmp(op, "del") == 0) {
		if (forget(c, ref))
			notify(c, CACHE_DEL, classes[k].cls, ref);
		return;
	}
	if (!snap || snap->type != XV_STRUCT)
		return;
	{
		bool existed = hmap_get(&c->by_ref, ref) != NULL;
		struct xv *rec = xv_struct_take(ev, "snapshot");
		trim(c, k, rec);
		store(c, k, ref, rec, false);
		notify(c, existed ? CACHE_MOD : CACHE_ADD, classes[k].cls, ref);
	}
}

static void on_events(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct req *q = ud;
	struct cache *c = q->c;
	struct xv *evs;

	if (q->generation != c->generation || !c->running) {
		free(q);
		return;
	}
	free(q);
	c->polling = false;
	if (r->failure == XAPI_API) {
		const char *code = xv_str(xv_at(r->error, 0));
		/* the token is no good any more: start from scratch */
		if (code && (strcmp(code, "EVENTS_LOST") == 0 || strcmp(code, "EVENT_FROM_TOKEN_PARSE_FAILURE") == 0)) {
			reload(c);
			return;
		}
		retry_later(c, r->message);
		return;
	}
	if (r->failure != XAPI_OK) {
		/* the connection is lost: the xapi layer reconnects, on_state reloads */
		if (xapi_state(c->x) == XAPI_READY)
			retry_later(c, r->message);
		return;
	}
	if (xapi_login_count(c->x) != c->login_seen) {
		reload(c); /* a new session: events may have been missed */
		return;
	}
	evs = xv_struct_get(r->value, "events");
	for (size_t i = 0; i < xv_len(evs); i++)
		apply_event(c, xv_at(evs, i));
	if (xv_str(xv_struct_get(r->value, "token"))) {
		free(c->token);
		c->token = xstrdup(xv_str(xv_struct_get(r->value, "token")));
	}
	poll_events(c);
}

static void poll_events(struct cache *c)
{
	struct xv *p, *cls;

	if (!c->running || c->polling)
		return;
	p = xv_array();
	cls = xv_array();
	for (size_t i = 0; i < NCLASSES; i++)
		xv_array_push(cls, xv_string(classes[i].cls));
	xv_array_push(p, cls);
	xv_array_push(p, xv_string(c->token ? c->token : ""));
	xv_array_push(p, xv_double(EVENT_TIMEOUT_S));
	c->polling = true;
	xapi_call_long(c->x, "event.from", p, EVENT_TIMEOUT_S, on_events, req_new(c, -1));
}

/* ---- the initial load ---------------------------------------------------------- */

/* What trim_vm would keep of a member of the VM record rec (as decoded so
 * far): xapi lists is_a_template well before platform or other_config, so
 * 5,000 VMs' platform maps and other_config keys are never built only for
 * trim_vm to free them. Not said yet: kept, and trim_vm judges. */
static int vm_verdict(const struct xv *rec)
{
	bool tmpl;

	if (!xv_get_bool(xv_struct_get(rec, "is_a_template"), &tmpl))
		return XMLRPC_KEEP | XMLRPC_ASK;
	return (tmpl ? XMLRPC_KEEP : XMLRPC_DROP) | XMLRPC_ASK;
}

static int filter_record_fields(void *ud, int depth, const char *name, const struct xmlrpc_at *at)
{
	struct req *q = ud;
	bool vm = strcmp(classes[q->cls].cls, "VM") == 0;

	/* response struct (1) > ref -> record map (2) > record (3) > a map (4) */
	if (depth == 3) {
		if (!keep_field(q->c, q->cls, name))
			return XMLRPC_DROP;
		return vm && template_only(name) ? vm_verdict(at->obj) : XMLRPC_KEEP;
	}
	if (depth != 4 || !vm)
		return XMLRPC_KEEP;
	/* a VM's maps' keys: asked in each, as one name may be in other_config
	 * and in HVM_boot_params */
	if (keep_vm_other_config(name, NULL) || !at->obj_name || strcmp(at->obj_name, "other_config") != 0)
		return XMLRPC_KEEP | XMLRPC_ASK;
	return vm_verdict(at->outer);
}

static void on_all_records(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct req *q = ud;
	struct cache *c = q->c;
	int k = q->cls;

	if (q->generation != c->generation || !c->running) {
		free(q);
		return;
	}
	free(q);
	if (r->failure == XAPI_OK && r->value && r->value->type == XV_STRUCT) {
		struct xv *m = r->value;
		/* the reply's size is known: grow the indexes once, not 7 times */
		hmap_reserve(&c->by_ref, c->by_ref.n + m->n);
		hmap_reserve(&c->by_uuid, c->by_uuid.n + m->n);
		for (size_t i = 0; i < m->n; i++) {
			store(c, k, m->u.st.m[i].k, m->u.st.m[i].v, m->borrowed == 1);
			m->u.st.m[i].v = NULL;
		}
	} else if (r->failure == XAPI_API && xv_str(xv_at(r->error, 0))
		   && (strcmp(xv_str(xv_at(r->error, 0)), "MESSAGE_REMOVED") == 0
		       || strcmp(xv_str(xv_at(r->error, 0)), "MESSAGE_METHOD_UNKNOWN") == 0)) {
		/* an older or newer xapi without this class: nothing to keep */
	} else if (r->failure != XAPI_OK) {
		c->failed = r->failure != XAPI_TRANSPORT;
		retry_later(c, r->message);
		c->generation++; /* ignore the rest of this attempt */
		return;
	}
	if (--c->pending > 0) {
		set_status(c, "loading: %d classes to go", c->pending);
		return;
	}
	c->loaded = true;
	c->failed = false;
	set_status(c, "live");
	notify(c, CACHE_LOADED, NULL, NULL);
	poll_events(c);
}

static void on_token(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct req *q = ud;
	struct cache *c = q->c;

	if (q->generation != c->generation || !c->running) {
		free(q);
		return;
	}
	free(q);
	if (r->failure != XAPI_OK || !xv_str(r->value)) {
		c->failed = r->failure != XAPI_TRANSPORT;
		retry_later(c, r->message);
		return;
	}
	free(c->token);
	c->token = xstrdup(xv_str(r->value));
	c->pending = (int)NCLASSES;
	for (size_t i = 0; i < NCLASSES; i++) {
		char method[64];
		snprintf(method, sizeof(method), "%s.get_all_records", classes[i].cls);
		/* the filter context lives as long as the call: its req */
		struct req *fr = req_new(c, (int)i);
		xapi_call_filtered(c->x, method, NULL, filter_record_fields, fr, on_all_records, fr);
	}
}

static void on_pool_refs(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct req *q = ud;
	struct cache *c = q->c;
	struct xv *p;

	if (q->generation != c->generation || !c->running) {
		free(q);
		return;
	}
	free(q);
	if (r->failure != XAPI_OK || !xv_str(xv_at(r->value, 0))) {
		c->failed = r->failure != XAPI_TRANSPORT;
		retry_later(c, r->failure == XAPI_OK ? "the server has no pool object" : r->message);
		return;
	}
	/* a token from just before now: events after it apply on top of the load */
	p = xv_array();
	xv_array_push(p, xv_string("pool"));
	xv_array_push(p, xv_string(xv_str(xv_at(r->value, 0))));
	xapi_call(c->x, "event.inject", p, on_token, req_new(c, -1));
}

static void reload(struct cache *c)
{
	if (c->retry) {
		loop_timer_cancel(c->loop, c->retry);
		c->retry = NULL;
	}
	c->generation++;
	c->polling = false;
	c->login_seen = xapi_login_count(c->x);
	clear(c);
	if (c->loaded)
		notify(c, CACHE_LOADED, NULL, NULL); /* the old copy is gone */
	c->loaded = false;
	set_status(c, "loading");
	xapi_call(c->x, "pool.get_all", NULL, on_pool_refs, req_new(c, -1));
}

static void on_state(struct xapi *x, enum xapi_state s, void *ud)
{
	struct cache *c = ud;

	if (!c->running)
		return;
	if (s == XAPI_READY && xapi_login_count(x) != c->login_seen)
		reload(c);
	else if (s == XAPI_RETRY || s == XAPI_FAILED)
		set_status(c, "%s", xapi_state_message(x));
	else if (s == XAPI_LOGIN && xapi_silent(x, NULL))
		set_status(c, "%s", xapi_state_message(x)); /* "not answering since ...; trying again" */
	else if (s == XAPI_LOGIN)
		set_status(c, "connecting to %s", xapi_url(x));
}

/* ---- public ---------------------------------------------------------------------- */

struct cache *cache_new(struct xapi *x, struct loop *l)
{
	struct cache *c = xcalloc(1, sizeof(*c));

	c->x = x;
	c->loop = l;
	hmap_init(&c->by_ref);
	hmap_init(&c->by_uuid);
	c->status = xstrdup("not connected");
	for (size_t i = 0; i < NCLASSES; i++) {
		hmap_init(&c->kept[i]);
		for (const char *const *f = classes[i].fields; f && *f; f++)
			hmap_put(&c->kept[i], *f, (void *)1);
	}
	xapi_on_state(x, on_state, c);
	return c;
}

void cache_free(struct cache *c)
{
	if (!c)
		return;
	cache_stop(c);
	clear(c);
	while (c->subs) {
		struct sub *s = c->subs;
		c->subs = s->next;
		free(s);
	}
	free(c->token);
	free(c->status);
	for (size_t i = 0; i < NCLASSES; i++)
		hmap_free(&c->kept[i]);
	while (c->blocks) {
		struct entry_block *b = c->blocks;
		c->blocks = b->next;
		free(b);
	}
	/* after clear: no record reads these keys any more */
	for (size_t i = 0; i < NCLASSES; i++)
		while (c->shapes[i]) {
			struct shape *sh = c->shapes[i];
			c->shapes[i] = sh->next;
			free(sh);
		}
	free(c);
}

void cache_start(struct cache *c)
{
	if (c->stopped) {
		c->stopped = false;
		xapi_on_state(c->x, on_state, c);
	}
	c->running = true;
	c->login_seen = xapi_login_count(c->x);
	if (xapi_state(c->x) == XAPI_READY)
		reload(c);
	else
		xapi_connect(c->x); /* on_state loads once logged in */
}

void cache_stop(struct cache *c)
{
	if (c->stopped)
		return;
	c->stopped = true;
	c->running = false;
	c->generation++;
	if (c->retry) {
		loop_timer_cancel(c->loop, c->retry);
		c->retry = NULL;
	}
	xapi_on_state(c->x, NULL, NULL);
}

void cache_subscribe(struct cache *c, cache_fn fn, void *ud)
{
	struct sub *s = xcalloc(1, sizeof(*s));

	s->fn = fn;
	s->ud = ud;
	s->next = c->subs;
	c->subs = s;
}

void cache_unsubscribe(struct cache *c, cache_fn fn, void *ud)
{
	for (struct sub **p = &c->subs; *p; p = &(*p)->next)
		if ((*p)->fn == fn && (*p)->ud == ud) {
			struct sub *s = *p;
			*p = s->next;
			free(s);
			return;
		}
}

bool cache_loaded(const struct cache *c)
{
	return c->loaded;
}

bool cache_failed(const struct cache *c)
{
	return c->failed;
}

const char *cache_status(const struct cache *c)
{
	return c->status;
}

const struct xv *cache_get(const struct cache *c, const char *ref)
{
	struct entry *e = ref ? hmap_get(&c->by_ref, ref) : NULL;

	return e ? e->rec : NULL;
}

const char *cache_class_of(const struct cache *c, const char *ref)
{
	struct entry *e = ref ? hmap_get(&c->by_ref, ref) : NULL;

	return e ? classes[e->cls].cls : NULL;
}

const struct xv *cache_by_uuid(const struct cache *c, const char *cls, const char *uuid, const char **ref)
{
	struct entry *e = uuid ? hmap_get(&c->by_uuid, uuid) : NULL;

	if (!e || (cls && strcmp(classes[e->cls].cls, cls) != 0))
		return NULL;
	if (ref)
		*ref = ENTRY_REF(e);
	return e->rec;
}

size_t cache_count(const struct cache *c, const char *cls)
{
	int k = class_index(cls);

	return k < 0 ? 0 : c->count[k];
}

void cache_each(const struct cache *c, const char *cls, bool (*fn)(const char *ref, const struct xv *rec, void *ud),
		void *ud)
{
	int k = class_index(cls);

	/* the next one is read first: fn may not delete, but stays safe if it does */
	for (struct entry *e = k < 0 ? NULL : c->first[k], *next; e; e = next) {
		next = e->cnext;
		if (!fn(ENTRY_REF(e), e->rec, ud))
			return;
	}
}

const struct xv *rec_field(const struct xv *rec, const char *field)
{
	return rec ? xv_struct_get(rec, field) : NULL;
}

const char *rec_str(const struct xv *rec, const char *field)
{
	const char *s = xv_str(rec_field(rec, field));

	return s ? s : "";
}

long long rec_int(const struct xv *rec, const char *field)
{
	int64_t v = 0;

	xv_get_int64(rec_field(rec, field), &v);
	return (long long)v;
}

double rec_float(const struct xv *rec, const char *field)
{
	double v = 0;

	xv_get_double(rec_field(rec, field), &v);
	return v;
}

bool rec_bool(const struct xv *rec, const char *field)
{
	bool v = false;

	xv_get_bool(rec_field(rec, field), &v);
	return v;
}

const char *rec_map(const struct xv *rec, const char *field, const char *key)
{
	return xv_str(xv_struct_get(rec_field(rec, field), key));
}
