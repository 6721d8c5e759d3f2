/* A host's PCI devices and passthrough, as XO does it on XCP-ng 8.3:
 * PCI.disable_dom0_access hides a device from dom0 (it takes effect when
 * the host reboots), then a VM gets it through other_config:pci
 * ("0/0000:BB:DD.F"), read when the VM starts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "dialog.h"
#include "draw.h"
#include "keys.h"
#include "model.h"
#include "screens.h"
#include "table.h"
#include "util.h"

/* dom0 access per device, as the last PCI.get_dom0_access_status said. */
struct access {
	int pool_id;
	char *ref;
	char *status;
	struct access *next;
};

/* Every device's last answer, owned by the app (app_keep) from the first
 * answer to its end; the static only finds it. */
struct accesses {
	struct access *head;
};

static struct accesses *statuses;

static void accesses_free(void *data)
{
	struct accesses *as = data;

	while (as->head) {
		struct access *a = as->head;
		as->head = a->next;
		free(a->ref);
		free(a->status);
		free(a);
	}
	free(as);
	if (statuses == as)
		statuses = NULL;
}

/* app is needed only to create. */
static struct access *access_of(struct app *app, int pool_id, const char *ref)
{
	struct access *a;

	for (a = statuses ? statuses->head : NULL; a; a = a->next)
		if (a->pool_id == pool_id && strcmp(a->ref, ref) == 0)
			return a;
	if (!app)
		return NULL;
	if (!statuses) {
		statuses = xcalloc(1, sizeof(*statuses));
		app_keep(app, statuses, accesses_free);
	}
	a = xcalloc(1, sizeof(*a));
	a->pool_id = pool_id;
	a->ref = xstrdup(ref);
	a->next = statuses->head;
	statuses->head = a;
	return a;
}

struct status_req {
	struct app *app;
	int pool_id;
	char *ref;
};

static void on_status(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct status_req *q = ud;
	struct access *a = access_of(q->app, q->pool_id, q->ref);

	free(a->status);
	a->status = xstrdup(r->failure == XAPI_OK && xv_str(r->value) ? xv_str(r->value) : "unknown");
	app_dirty(q->app);
	free(q->ref);
	free(q);
}

static void ask_status(struct app *app, struct pool *p, const char *ref)
{
	struct status_req *q = xcalloc(1, sizeof(*q));
	struct xv *params = xv_array();

	q->app = app;
	q->pool_id = p->id;
	q->ref = xstrdup(ref);
	xv_array_push(params, xv_string(ref));
	app_query(app, p, "PCI.get_dom0_access_status", params, on_status, q);
}

static const struct table_col cols[] = {
	{"PCI ID", 12, 0, false, false, 0}, {"CLASS", 16, 1, false, false, 1}, {"DEVICE", 20, 2, false, false, 0},
	{"DRIVER", 8, 0, false, false, 3},  {"DOM0 ACCESS", 24, 0, false, false, 0}, {"VM", 12, 1, false, false, 2},
};

/* ---- other_config:pci: "0/0000:04:00.0,1/0000:05:00.0", one entry per device ---- */

/* The entry naming pci_id in list (its start and length), or false. */
static bool pci_entry(const char *list, const char *pci_id, size_t *start, size_t *len)
{
	size_t idl = strlen(pci_id);

	for (const char *e = list; e && *e;) {
		const char *end = strchr(e, ',');
		const char *slash = strchr(e, '/');
		size_t n = end ? (size_t)(end - e) : strlen(e);
		const char *id = slash && slash < e + n ? slash + 1 : e;
		if ((size_t)(e + n - id) == idl && strncmp(id, pci_id, idl) == 0) {
			*start = (size_t)(e - list);
			*len = n;
			return true;
		}
		e = end ? end + 1 : NULL;
	}
	return false;
}

/* list with "N/pci_id" appended, N one more than the highest there. */
static char *pci_list_add(const char *list, const char *pci_id)
{
	long next = 0;

	for (const char *e = list; e && *e;) {
		char *rest;
		long n = strtol(e, &rest, 10);
		if (rest != e && *rest == '/' && n >= next)
			next = n + 1;
		e = strchr(e, ',');
		e = e ? e + 1 : NULL;
	}
	return list && *list ? xasprintf("%s,%ld/%s", list, next, pci_id) : xasprintf("%ld/%s", next, pci_id);
}

/* list without pci_id's entry (the others keep their numbers); "" when none is left. */
static char *pci_list_remove(const char *list, const char *pci_id)
{
	size_t start, len;
	char *out = xstrdup(list ? list : "");

	if (!pci_entry(out, pci_id, &start, &len))
		return out;
	if (out[start + len] == ',')
		len++; /* its comma goes with it */
	else if (start > 0) {
		start--; /* the last entry: the comma before it goes */
		len++;
	}
	memmove(out + start, out + start + len, strlen(out + start + len) + 1);
	return out;
}

struct holders {
	const char *pci_id;
	struct buf names; /* "a, b": their names; holders_free frees it */
	int n;
	const char *first; /* the first holder's ref */
};

static bool find_holder(const char *ref, const struct xv *vm, void *ud)
{
	struct holders *h = ud;
	size_t start, len;

	if (!vm_is_guest(vm) || !pci_entry(rec_map(vm, "other_config", "pci"), h->pci_id, &start, &len))
		return true;
	if (!h->n++)
		h->first = ref;
	buf_sep(&h->names, ", ");
	buf_puts(&h->names, rec_str(vm, "name_label"));
	return true;
}

/* The VMs whose other_config:pci names pci_id (in the pool's cache). */
static void holders_of(const struct cache *c, const char *pci_id, struct holders *h)
{
	memset(h, 0, sizeof(*h));
	h->pci_id = pci_id;
	cache_each(c, "VM", find_holder, h);
}

static void holders_free(struct holders *h)
{
	buf_free(&h->names);
}

struct pci_screen {
	char *qref;
	const char *host; /* in qref */
	struct table *t;
};

static struct pool *pci_pool(struct app *app, struct pci_screen *s)
{
	const char *ref;
	struct pool *p = pools_resolve(app_pools(app), s->qref, &ref);

	return p && p->cache ? p : NULL;
}

struct each_ud {
	struct app *app;
	struct pool *p;
	struct pci_screen *s;
};

static bool ask_each(const char *ref, const struct xv *pci, void *ud)
{
	struct each_ud *e = ud;

	if (strcmp(rec_str(pci, "host"), e->s->host) == 0)
		ask_status(e->app, e->p, ref);
	return true;
}

static void refresh_access(struct app *app, struct pci_screen *s)
{
	struct pool *p = pci_pool(app, s);
	struct each_ud e = {app, p, s};

	if (p && p->x)
		cache_each(p->cache, "PCI", ask_each, &e);
}

static void *pci_enter(struct app *app, const void *arg)
{
	struct pci_screen *s = xcalloc(1, sizeof(*s));

	s->qref = xstrdup(arg);
	pools_resolve(app_pools(app), s->qref, &s->host);
	if (!s->host)
		s->host = "";
	s->t = table_new(cols, (int)(ARRAY_LEN(cols)));
	table_set_noun(s->t, "device", "devices");
	refresh_access(app, s);
	return s;
}

static void pci_leave(struct app *app, void *st)
{
	struct pci_screen *s = st;

	table_free(s->t);
	free(s->qref);
	free(s);
}

static const char *status_text(const char *st)
{
	if (!st)
		return "...";
	if (strcmp(st, "enabled") == 0)
		return "dom0";
	if (strcmp(st, "disabled") == 0)
		return "passthrough";
	if (strcmp(st, "disable_on_reboot") == 0)
		return "passthrough after reboot";
	if (strcmp(st, "enable_on_reboot") == 0)
		return "dom0 after reboot";
	return st;
}

static bool pci_row(const char *ref, const struct xv *pci, void *ud)
{
	struct each_ud *e = ud;
	const struct access *a;
	const char *st;
	struct holders h;

	if (strcmp(rec_str(pci, "host"), e->s->host) != 0)
		return true;
	a = access_of(NULL, e->p->id, ref);
	st = a ? a->status : NULL;
	holders_of(e->p->cache, rec_str(pci, "pci_id"), &h);
	{
		struct table_cell cells[] = {
			{rec_str(pci, "pci_id"), 0, -1},
			{rec_str(pci, "class_name"), 0, -1},
			{rec_str(pci, "device_name"), 0, -1},
			{rec_str(pci, "driver_name"), 0, -1},
			{status_text(st), 0, st && strstr(st, "reboot") ? (int)ROLE_WARN : -1},
			{h.n ? h.names.data : "", 0, h.n > 1 ? (int)ROLE_BAD : -1},
		};
		table_put(e->s->t, ref, cells, ROLE_NORMAL, NULL);
	}
	holders_free(&h);
	return true;
}

static void pci_draw(struct app *app, void *st, WINDOW *w, int h, int cols_)
{
	struct pci_screen *s = st;
	struct pool *p = pci_pool(app, s);
	struct each_ud e = {app, p, s};

	if (!p) {
		ui_put(w, 1, 2, cols_ - 4, theme_attr(ROLE_WARN), "Its pool is not connected (Esc goes back).");
		return;
	}
	table_clear(s->t);
	cache_each(p->cache, "PCI", pci_row, &e);
	table_draw(s->t, w, 0, 0, h - 1, cols_, !app_has_dialog(app));
	ui_put(w, h - 1, 2, cols_ - 4, theme_attr(ROLE_DIM),
	       "A change of dom0 access takes effect when the host reboots; a VM gets its device when it starts.");
}

static struct table *pci_list(struct app *app, void *st)
{
	return ((struct pci_screen *)st)->t;
}

/* The selected device, or NULL after saying why. */
static const struct xv *selected(struct app *app, struct pci_screen *s, struct pool **pp, const char **ref)
{
	struct pool *p = pci_pool(app, s);
	const struct xv *pci;

	*ref = table_selected(s->t);
	pci = p && *ref ? cache_get(p->cache, *ref) : NULL;
	if (!pci)
		app_message(app, MSG_INFO, "No device selected");
	*pp = p;
	return pci;
}

static void on_access_done(struct app *app, struct pool *p, bool ok, void *ud)
{
	char *ref = ud;

	if (ok && p && p->x)
		ask_status(app, p, ref);
	if (ok)
		app_message(app, MSG_INFO, "Done: it takes effect when the host reboots (r on the host screen)");
	free(ref);
}

/* ---- what hiding a device from dom0 costs the host ---- */

enum risk {
	RISK_NONE,
	RISK_STORAGE, /* a storage controller: maybe the local SR's disks */
	RISK_MGMT,    /* the management interface's NIC */
	RISK_ROOT,    /* what dom0's own root disk is on */
};

/* PCI class 01xx (mass storage): class_id when the record carries it,
 * else the class name lspci gives that class's subclasses. */
static bool is_storage(const struct xv *pci)
{
	static const char *const names[] = {"storage", "SATA", "SCSI", "RAID", "IDE", "ATA controller",
					    "Non-Volatile memory", "NVM"};
	const char *id = rec_str(pci, "class_id");
	const char *name = rec_str(pci, "class_name");

	if (strlen(id) >= 4)
		return strncmp(id, "01", 2) == 0;
	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		if (strcasestr(name, names[i]))
			return true;
	return false;
}

struct host_scan {
	const char *host, *pci_id;
	int storage;       /* storage controllers of the host */
	const char *nic;   /* the management PIF's device ("eth0") whose NIC is pci_id */
	const char *ip;
};

static bool count_storage(const char *ref, const struct xv *pci, void *ud)
{
	struct host_scan *h = ud;

	if (strcmp(rec_str(pci, "host"), h->host) == 0 && is_storage(pci))
		h->storage++;
	return true;
}

/* True when the physical PIF pref (or, for a bond, one of its slaves)
 * sits on the PCI device pci_id (PIF_metrics.pci_bus_path). */
static bool pif_on_device(const struct cache *c, const char *pref, const char *pci_id, int depth)
{
	const struct xv *pif = cache_get(c, pref), *m, *bonds, *vlans;

	if (!pif || depth > 3)
		return false;
	m = cache_get(c, rec_str(pif, "metrics"));
	if (m && strcasecmp(rec_str(m, "pci_bus_path"), pci_id) == 0)
		return true;
	bonds = rec_field(pif, "bond_master_of");
	for (size_t i = 0; i < xv_len(bonds); i++) {
		const struct xv *bond = cache_get(c, xv_str(xv_at(bonds, i)));
		const struct xv *slaves = bond ? rec_field(bond, "slaves") : NULL;
		for (size_t k = 0; k < xv_len(slaves); k++)
			if (pif_on_device(c, xv_str(xv_at(slaves, k)), pci_id, depth + 1))
				return true;
	}
	/* a VLAN's PIF rides on its tagged PIF */
	vlans = rec_field(pif, "VLAN_master_of");
	if (!is_null_ref(xv_str(vlans))) {
		const struct xv *vlan = cache_get(c, xv_str(vlans));
		if (vlan && pif_on_device(c, rec_str(vlan, "tagged_PIF"), pci_id, depth + 1))
			return true;
	}
	return false;
}

struct mgmt_scan {
	const struct cache *c;
	struct host_scan *h;
};

static bool find_mgmt(const char *ref, const struct xv *pif, void *ud)
{
	struct mgmt_scan *m = ud;

	if (strcmp(rec_str(pif, "host"), m->h->host) != 0 || !rec_bool(pif, "management"))
		return true;
	if (pif_on_device(m->c, ref, m->h->pci_id, 0)) {
		m->h->nic = rec_str(pif, "device");
		m->h->ip = rec_str(pif, "IP");
		return false;
	}
	return true;
}

/* The local SRs of the host with a device (PBD device_config), as "'Local
 * storage' (/dev/sda3)", into list: what a storage controller may carry. */
struct local_srs {
	const struct cache *c;
	const char *host;
	struct buf list;
};

static bool add_local_sr(const char *ref, const struct xv *pbd, void *ud)
{
	struct local_srs *l = ud;
	const char *dev = rec_map(pbd, "device_config", "device");
	const struct xv *sr;

	if (strcmp(rec_str(pbd, "host"), l->host) != 0 || !dev || strncmp(dev, "/dev/", 5) != 0)
		return true;
	sr = cache_get(l->c, rec_str(pbd, "SR"));
	if (!sr || rec_bool(sr, "shared"))
		return true;
	buf_sep(&l->list, ", ");
	buf_printf(&l->list, "'%s' (%s)", rec_str(sr, "name_label"), dev);
	return true;
}

/* How bad hiding pci from dom0 is for its host; *h says what was found. */
static enum risk risk_of(const struct cache *c, const struct xv *pci, struct host_scan *h)
{
	struct mgmt_scan m = {c, h};

	memset(h, 0, sizeof(*h));
	h->host = rec_str(pci, "host");
	h->pci_id = rec_str(pci, "pci_id");
	cache_each(c, "PIF", find_mgmt, &m);
	if (h->nic)
		return RISK_MGMT;
	if (!is_storage(pci))
		return RISK_NONE;
	cache_each(c, "PCI", count_storage, h);
	/* xapi does not say which disk dom0 boots from: with one storage
	 * controller it can only be that one (or USB or the network) */
	return h->storage == 1 ? RISK_ROOT : RISK_STORAGE;
}

static void hide_now(struct app *app, struct pool *p, const char *ref)
{
	struct xv *params = xv_array();

	xv_array_push(params, xv_string(ref));
	app_call_then(app, p, "Hide the device from dom0 for passthrough", "PCI.disable_dom0_access", params,
		      on_access_done, xstrdup(ref));
}

static void on_hide_answer(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct pool *p;
	const char *ref;

	if (!r->ok || !app_lookup(app, qref, &p, &ref))
		return;
	hide_now(app, p, ref);
}

/* Asks before hiding the device, saying what the host loses with it. */
static void ask_hide(struct app *app, struct pool *p, const char *ref, const struct xv *pci)
{
	struct host_scan h;
	enum risk risk = risk_of(p->cache, pci, &h);
	const char *host = name_of(p->cache, h.host);
	struct local_srs l = {p->cache, h.host, {NULL, 0, 0}};
	const char *srs;
	char key[QREF_MAX];
	struct dialog *d;
	char *text;

	cache_each(p->cache, "PBD", add_local_sr, &l);
	srs = l.list.len ? l.list.data : "";
	switch (risk) {
	case RISK_ROOT:
		text = xasprintf("%s (%s) is the only storage controller of %s, so dom0's own root disk is on it%s%s. "
				 "Hidden from dom0, the host cannot boot its control domain at the next reboot: "
				 "only its physical console can undo it. Type the PCI ID to hide it anyway.",
				 h.pci_id, rec_str(pci, "class_name"), host, *srs ? ", and the local SR " : "", srs);
		d = dialog_type_name("Hide dom0's disk controller", text, h.pci_id);
		break;
	case RISK_MGMT:
		text = xasprintf("%s is the NIC of %s's management interface (%s%s%s). Hidden from dom0, the host "
				 "loses its management network at the next reboot: the pool and xentui cannot reach it, "
				 "only its physical console can. Hide it anyway?",
				 h.pci_id, host, h.nic, *h.ip ? ", " : "", h.ip);
		d = dialog_confirm("Hide the management NIC", text, "Hide", "Cancel", true);
		break;
	case RISK_STORAGE:
		text = xasprintf("%s (%s) is a storage controller of %s: the disks on it may hold dom0's root or "
				 "the local SR%s%s. Hidden from dom0, they are gone for the host at the next reboot. "
				 "Hide it anyway?",
				 h.pci_id, rec_str(pci, "class_name"), host, *srs ? " " : "", srs);
		d = dialog_confirm("Hide a storage controller", text, "Hide", "Cancel", true);
		break;
	case RISK_NONE:
	default:
		text = xasprintf("Hide %s (%s) from dom0? At the next reboot of %s dom0 lets go of it, so a VM "
				 "can have it.",
				 h.pci_id, rec_str(pci, "device_name"), host);
		d = dialog_confirm("Hide from dom0", text, "Hide", "Cancel", false);
		break;
	}
	dialog_on_done(d, on_hide_answer, pool_qref(p, ref, key, sizeof(key)), NULL);
	app_open_dialog(app, d);
	free(text);
	buf_free(&l.list);
}

static void act_toggle(struct app *app, void *st)
{
	struct pci_screen *s = st;
	struct pool *p;
	const char *ref;
	const struct xv *pci = selected(app, s, &p, &ref);
	const struct access *a;
	struct xv *params;

	if (!pci)
		return;
	a = access_of(NULL, p->id, ref);
	/* hidden now or on the way: give it back (harmless, at once); else ask */
	if (!(a && a->status && (strcmp(a->status, "disabled") == 0 || strcmp(a->status, "disable_on_reboot") == 0))) {
		ask_hide(app, p, ref, pci);
		return;
	}
	params = xv_array();
	xv_array_push(params, xv_string(ref));
	app_call_then(app, p, "Give the device back to dom0", "PCI.enable_dom0_access", params, on_access_done,
		      xstrdup(ref));
}

struct vm_item {
	const char *ref, *name, *power;
};

struct vm_pick {
	struct vm_item *items;
	size_t n, cap;
};

static bool add_vm(const char *ref, const struct xv *vm, void *ud)
{
	struct vm_pick *v = ud;

	if (!vm_is_guest(vm))
		return true;
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 32;
		v->items = xrealloc(v->items, v->cap * sizeof(*v->items));
	}
	v->items[v->n++] = (struct vm_item){ref, rec_str(vm, "name_label"), rec_str(vm, "power_state")};
	return true;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct vm_item *)a)->name, ((const struct vm_item *)b)->name);
}

/* The pool's VMs by name, as choices keyed by qualified ref; with
 * holders_only, only those whose other_config:pci names pci_id. */
static void add_vm_choices(struct dialog *d, struct pool *p, bool holders_only, const char *pci_id)
{
	struct vm_pick v = {NULL, 0, 0};
	char key[QREF_MAX];

	cache_each(p->cache, "VM", add_vm, &v);
	if (v.n > 1)
		qsort(v.items, v.n, sizeof(*v.items), by_name);
	for (size_t i = 0; i < v.n; i++) {
		size_t start, len;
		if (holders_only && !pci_entry(rec_map(cache_get(p->cache, v.items[i].ref), "other_config", "pci"), pci_id,
					       &start, &len))
			continue;
		dialog_add_choice(d, pool_qref(p, v.items[i].ref, key, sizeof(key)), v.items[i].name, v.items[i].power);
	}
	free(v.items);
}

struct attach {
	char *pci_id;
	bool detach;
};

static void free_attach(void *ud)
{
	struct attach *a = ud;

	free(a->pci_id);
	free(a);
}

struct pci_set {
	char *vm, *value, *label;
};

static void on_removed(struct app *app, struct pool *p, bool ok, void *ud)
{
	struct pci_set *ps = ud;
	struct xv *params;

	if (ok && p && *ps->value) {
		params = xv_array();
		xv_array_push(params, xv_string(ps->vm));
		xv_array_push(params, xv_string("pci"));
		xv_array_push(params, xv_string(ps->value));
		app_call(app, p, ps->label, "VM.add_to_other_config", params);
	}
	free(ps->vm);
	free(ps->value);
	free(ps->label);
	free(ps);
}

/* other_config:pci becomes value ("" removes the key): xapi refuses adding a
 * key that is there, so remove then add. */
static void set_pci(struct app *app, struct pool *p, const char *vm_ref, const char *list, char *value,
		    const char *label)
{
	struct xv *params = xv_array();
	struct pci_set *ps;

	xv_array_push(params, xv_string(vm_ref));
	xv_array_push(params, xv_string("pci"));
	if (!list) {
		xv_array_push(params, xv_string(value));
		app_call(app, p, label, "VM.add_to_other_config", params);
		free(value);
		return;
	}
	ps = xcalloc(1, sizeof(*ps));
	ps->vm = xstrdup(vm_ref);
	ps->value = value;
	ps->label = xstrdup(label);
	app_call_then(app, p, label, "VM.remove_from_other_config", params, on_removed, ps);
}

static void on_vm_chosen(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct attach *at = ud;
	struct pool *p;
	const char *vm_ref, *list;
	const struct xv *vm;
	struct holders h;
	size_t start, len;
	char *label;

	if (!r->ok || !(vm = app_lookup(app, r->choice_key, &p, &vm_ref)))
		return;
	list = rec_map(vm, "other_config", "pci");
	if (at->detach) {
		if (!pci_entry(list, at->pci_id, &start, &len)) {
			app_message(app, MSG_INFO, "'%s' does not hold %s", rec_str(vm, "name_label"), at->pci_id);
			return;
		}
		label = xasprintf("Detach %s from '%s'", at->pci_id, rec_str(vm, "name_label"));
		set_pci(app, p, vm_ref, list, pci_list_remove(list, at->pci_id), label);
		free(label);
		return;
	}
	if (pci_entry(list, at->pci_id, &start, &len)) {
		app_message(app, MSG_INFO, "'%s' already has %s", rec_str(vm, "name_label"), at->pci_id);
		return;
	}
	holders_of(p->cache, at->pci_id, &h);
	if (h.n) {
		app_message(app, MSG_ERROR, "%s is given to %s already: detach it there first (d)", at->pci_id,
			    h.names.data);
		holders_free(&h);
		return;
	}
	/* the VM's other devices stay: the new one is added to the list */
	label = xasprintf("Attach %s to '%s'", at->pci_id, rec_str(vm, "name_label"));
	set_pci(app, p, vm_ref, list, pci_list_add(list, at->pci_id), label);
	free(label);
}

static void pick_vm(struct app *app, struct pci_screen *s, bool detach)
{
	struct pool *p;
	const char *ref;
	const struct xv *pci = selected(app, s, &p, &ref);
	struct dialog *d;
	struct attach *at;
	struct holders h;
	char *text;

	if (!pci)
		return;
	holders_of(p->cache, rec_str(pci, "pci_id"), &h);
	if (detach && !h.n) {
		app_message(app, MSG_INFO, "No VM has %s", rec_str(pci, "pci_id"));
		return;
	}
	if (!detach && h.n) {
		app_message(app, MSG_ERROR, "%s is given to %s already: detach it there first (d)", rec_str(pci, "pci_id"),
			    h.names.data);
		holders_free(&h);
		return;
	}
	holders_free(&h);
	text = detach ? xasprintf("Which VM gives up %s? It is released when the VM next starts; its other devices "
				  "stay.",
				  rec_str(pci, "pci_id"))
		      : xasprintf("Give %s (%s) to which VM? It is added to the VM's devices and attached when the "
				  "VM starts; it must be hidden from dom0 (x) and the host rebooted.",
				  rec_str(pci, "pci_id"), rec_str(pci, "device_name"));
	d = dialog_choose(detach ? "Detach a PCI device" : "Attach a PCI device", text);
	add_vm_choices(d, p, detach, rec_str(pci, "pci_id"));
	at = xcalloc(1, sizeof(*at));
	at->pci_id = xstrdup(rec_str(pci, "pci_id"));
	at->detach = detach;
	dialog_on_done(d, on_vm_chosen, s->qref, at);
	dialog_own_ud(d, free_attach);
	app_open_dialog(app, d);
	free(text);
}

static void act_attach(struct app *app, void *st)
{
	pick_vm(app, st, false);
}

static void act_detach(struct app *app, void *st)
{
	pick_vm(app, st, true);
}

static void act_refresh(struct app *app, void *st)
{
	refresh_access(app, st);
}

static void pci_describe(struct app *app, void *st, char *buf, size_t n)
{
	struct pci_screen *s = st;
	struct pool *p = pci_pool(app, s);

	snprintf(buf, n, "PCI devices of %s", p ? name_of(p->cache, s->host) : "(gone)");
}

static const struct screen_key keys[] = {
	{'x', "Passthrough",
	 "Hide the device from dom0 for passthrough (asks first, naming what the host loses), or give it back "
	 "(after a reboot)",
	 act_toggle, NULL, true},
	{'a', "Attach to VM", "Give the device to a VM (other_config:pci)", act_attach, NULL, true},
	{'d', "Detach", "Take the device away from the VM that has it (its other devices stay)", act_detach, NULL,
	 true},
	{'g', "Refresh", "Ask again for each device's dom0 access", act_refresh, NULL, false},
	{0, NULL, NULL, NULL, NULL, false},
};

const struct screen screen_host_pci = {
	.name = "host-pci",
	.title = "PCI devices",
	.keys = keys,
	.enter = pci_enter,
	.leave = pci_leave,
	.draw = pci_draw,
	.list = pci_list,
	.describe = pci_describe,
};
