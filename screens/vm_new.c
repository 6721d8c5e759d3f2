/* The New VM form. The template gives the values (its vCPUs, memory, the
 * disk of its provision XML, its firmware) and the limits it recommends;
 * values beyond a recommendation are said before creating, not refused. */
#include "vm_new.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "dialog.h"
#include "form.h"
#include "model.h"
#include "placement.h"
#include "screens.h"
#include "storage.h"
#include "units.h"
#include "util.h"
#include "vm_create.h"

#define MiB (1024LL * 1024)
#define GiB (1024LL * MiB)

/* What the template recommends (-1: nothing said). */
struct recs {
	long long vcpus_min, vcpus_max, memory_max;
	bool no_bios, no_uefi, no_secure;
};

/* A list of refs behind a choice field's entries, from `first` on. */
struct refs {
	char **ref;
	int n;
};

struct new_form {
	int pool_id;
	char *template_ref;
	struct recs recs;
	long long disk_default;
	struct refs isos, nets, srs;
	enum boot_mode boots[3];
	int nboots;
	bool hvm;
	int f_name, f_desc, f_vcpus, f_mem, f_media, f_boot, f_net, f_net2, f_start;
	int f_disk_name[PLAN_MAX_DISKS], f_disk_size[PLAN_MAX_DISKS], f_sr[PLAN_MAX_DISKS];
	struct vm_plan *pending; /* waiting on the "beyond the recommendations" question */
};

static void refs_add(struct refs *r, const char *ref)
{
	r->ref = xrealloc(r->ref, (size_t)(r->n + 1) * sizeof(char *));
	r->ref[r->n++] = xstrdup(ref);
}

static void refs_free(struct refs *r)
{
	for (int i = 0; i < r->n; i++)
		free(r->ref[i]);
	free(r->ref);
}

static void new_form_free(void *p)
{
	struct new_form *nf = p;

	free(nf->template_ref);
	refs_free(&nf->isos);
	refs_free(&nf->nets);
	refs_free(&nf->srs);
	vm_plan_free(nf->pending);
	free(nf);
}

/* ---- what the template says ---------------------------------------------------- */

static xmlDoc *parse_xml(const char *text)
{
	if (!text || !*text)
		return NULL;
	/* quiet: a pool's odd XML must not write on the terminal */
	return xmlReadMemory(text, (int)strlen(text), NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

static long long attr_num(xmlNode *n, const char *name)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	long long out = v ? strtoll((const char *)v, NULL, 10) : -1;

	xmlFree(v);
	return out;
}

static bool attr_is(xmlNode *n, const char *name, const char *want)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	bool is = v && strcmp((const char *)v, want) == 0;

	xmlFree(v);
	return is;
}

/* <restrictions><restriction field="vcpus-max" max="32"/>... as guest-templates-json writes them */
static void read_recommendations(const char *xml, struct recs *r)
{
	xmlDoc *doc = parse_xml(xml);
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;

	r->vcpus_min = r->vcpus_max = r->memory_max = -1;
	for (xmlNode *n = root ? root->children : NULL; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "restriction") != 0)
			continue;
		if (attr_is(n, "field", "vcpus-min"))
			r->vcpus_min = attr_num(n, "min");
		else if (attr_is(n, "field", "vcpus-max"))
			r->vcpus_max = attr_num(n, "max");
		else if (attr_is(n, "field", "memory-static-max"))
			r->memory_max = attr_num(n, "max");
		else if (attr_is(n, "field", "supports-bios"))
			r->no_bios = attr_is(n, "value", "no");
		else if (attr_is(n, "field", "supports-uefi"))
			r->no_uefi = attr_is(n, "value", "no");
		else if (attr_is(n, "field", "supports-secure-boot"))
			r->no_secure = attr_is(n, "value", "no");
	}
	xmlFreeDoc(doc);
}

/* The size of the first disk of the provision XML, or 0. */
static long long provision_disk_size(const char *xml)
{
	xmlDoc *doc = parse_xml(xml);
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	long long size = 0;

	for (xmlNode *n = root ? root->children : NULL; n && !size; n = n->next)
		if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, "disk") == 0)
			size = attr_num(n, "size") > 0 ? attr_num(n, "size") : 0;
	xmlFreeDoc(doc);
	return size;
}

/* ---- the choices ---------------------------------------------------------------- */

struct named {
	const char *ref, *name;
	char label[160];
};

struct collect {
	const struct cache *c;
	struct named *items;
	int n, cap;
	const char *want; /* "iso", "disk", "net" */
};

static void collect_add(struct collect *cl, const char *ref, const char *name)
{
	if (cl->n == cl->cap) {
		cl->cap = cl->cap ? cl->cap * 2 : 16;
		cl->items = xrealloc(cl->items, (size_t)cl->cap * sizeof(*cl->items));
	}
	cl->items[cl->n].ref = ref;
	cl->items[cl->n].name = name;
	snprintf(cl->items[cl->n].label, sizeof(cl->items[cl->n].label), "%s", name);
	cl->n++;
}

static bool collect_iso(const char *ref, const struct xv *vdi, void *ud)
{
	struct collect *cl = ud;
	const struct xv *sr = cache_get(cl->c, rec_str(vdi, "SR"));

	if (sr && strcmp(rec_str(sr, "content_type"), "iso") == 0 && !rec_bool(vdi, "is_a_snapshot")
	    && *rec_str(vdi, "name_label"))
		collect_add(cl, ref, rec_str(vdi, "name_label"));
	return true;
}

static bool collect_sr(const char *ref, const struct xv *sr, void *ud)
{
	struct collect *cl = ud;
	const char *host;
	char free_text[24];

	/* where disks can go: not ISO libraries, not the host's own devices */
	if (strcmp(rec_str(sr, "content_type"), "iso") == 0 || strcmp(rec_str(sr, "type"), "udev") == 0)
		return true;
	collect_add(cl, ref, rec_str(sr, "name_label"));
	size_format(free_text, sizeof(free_text), rec_int(sr, "physical_size") - rec_int(sr, "physical_utilisation"));
	host = sr_host_name(cl->c, sr);
	/* "Local storage (xcp-ng-01, 40 GiB free)": the hosts' local SRs told apart */
	snprintf(cl->items[cl->n - 1].label, sizeof(cl->items[0].label), "%s (%s%s%s free)", rec_str(sr, "name_label"),
		 host, *host ? ", " : "", free_text);
	return true;
}

static bool collect_net(const char *ref, const struct xv *net, void *ud)
{
	/* the host-internal management network is xapi's own, not for guests */
	if (rec_map(net, "other_config", "is_host_internal_management_network")
	    && strcmp(rec_map(net, "other_config", "is_host_internal_management_network"), "true") == 0)
		return true;
	collect_add(ud, ref, rec_str(net, "name_label"));
	return true;
}

static int by_name(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->label, y->label); /* same-named local SRs by their host */
}

static void collect(struct collect *cl, const char *cls, bool (*fn)(const char *, const struct xv *, void *))
{
	cache_each(cl->c, cls, fn, cl);
	if (cl->n > 1)
		qsort(cl->items, (size_t)cl->n, sizeof(*cl->items), by_name);
}

/* The network of the management interface: where most guests go. */
static bool find_mgmt_net(const char *ref, const struct xv *pif, void *ud)
{
	const char **net = ud;

	if (rec_bool(pif, "management")) {
		*net = rec_str(pif, "network");
		return false;
	}
	return true;
}

/* Fills labels with the items' labels after `fixed` leading ones; the refs go to r. */
static int choice_field(struct form *f, const char *label, const char *const *fixed, int nfixed,
			const struct collect *cl, struct refs *r, int selected)
{
	const char **labels = xcalloc((size_t)(nfixed + cl->n + 1), sizeof(char *));
	int field;

	for (int i = 0; i < nfixed; i++)
		labels[i] = fixed[i];
	for (int i = 0; i < cl->n; i++) {
		labels[nfixed + i] = cl->items[i].label;
		refs_add(r, cl->items[i].ref);
	}
	if (nfixed + cl->n == 0)
		labels[nfixed++] = "(none)";
	field = form_choice(f, label, labels, nfixed + cl->n, selected);
	free(labels);
	return field;
}

static int index_of(const struct collect *cl, const char *ref)
{
	for (int i = 0; ref && i < cl->n; i++)
		if (strcmp(cl->items[i].ref, ref) == 0)
			return i;
	return -1;
}

/* ---- submitting ----------------------------------------------------------------- */

static void start_pending(struct app *app, struct new_form *nf)
{
	struct pool *p = pools_by_id(app_pools(app), nf->pool_id);
	struct vm_plan *plan = nf->pending;

	nf->pending = NULL;
	/* came from the VM list's n: back there, where the new VM will show */
	if (app_top(app) == &screen_templates && app_below(app) == &screen_vms)
		app_pop(app);
	if (!p || !p->cache) {
		app_message(app, MSG_ERROR, "New VM: the pool is no longer connected");
		vm_plan_free(plan);
		return;
	}
	vm_create_start(app, p, plan);
}

static void on_warning_answer(struct app *app, const struct dialog_result *r, const char *ref, void *ud)
{
	struct new_form *nf = ud;

	if (r->ok)
		start_pending(app, nf);
	else
		app_message(app, MSG_INFO, "New VM: not created");
}

static struct vm_plan *plan_of(struct new_form *nf, const struct form *f, const struct xv *tmpl)
{
	struct vm_plan *pl = xcalloc(1, sizeof(*pl));
	int media = form_get_choice(f, nf->f_media);
	int net = form_get_choice(f, nf->f_net), net2 = form_get_choice(f, nf->f_net2);

	pl->template_ref = xstrdup(nf->template_ref);
	pl->name = xstrdup(form_get_text(f, nf->f_name));
	pl->description = xstrdup(form_get_text(f, nf->f_desc));
	pl->vcpus = form_get_number(f, nf->f_vcpus);
	pl->memory = form_get_number(f, nf->f_mem);
	pl->network_boot = media == 1;
	if (media >= 2 && media - 2 < nf->isos.n)
		pl->iso = xstrdup(nf->isos.ref[media - 2]);
	pl->hvm = nf->hvm;
	pl->boot = nf->nboots ? nf->boots[form_get_choice(f, nf->f_boot)] : BOOT_BIOS;
	if (net < nf->nets.n)
		pl->networks[pl->nnetworks++] = xstrdup(nf->nets.ref[net]);
	if (net2 >= 1 && net2 - 1 < nf->nets.n)
		pl->networks[pl->nnetworks++] = xstrdup(nf->nets.ref[net2 - 1]);
	/* a disk of size 0 is no disk; the others take the next device numbers */
	for (int i = 0; i < PLAN_MAX_DISKS; i++) {
		int sr = form_get_choice(f, nf->f_sr[i]);
		const char *name = form_get_text(f, nf->f_disk_name[i]);
		struct vm_plan_disk *d = &pl->disks[pl->ndisks];
		if (form_get_number(f, nf->f_disk_size[i]) <= 0 || sr >= nf->srs.n)
			continue;
		d->name = *name ? xstrdup(name) : xasprintf("%s %d", pl->name, pl->ndisks);
		d->size = form_get_number(f, nf->f_disk_size[i]);
		d->sr = xstrdup(nf->srs.ref[sr]);
		pl->ndisks++;
	}
	pl->start = form_get_toggle(f, nf->f_start);
	(void)tmpl;
	return pl;
}

/* What goes beyond the template's recommendations or the SR's room, as
 * sentences ("" when nothing does). */
static void warnings(const struct new_form *nf, const struct vm_plan *pl, const struct xv *tmpl,
		     const struct cache *c, struct buf *b)
{
	const char *tname = rec_str(tmpl, "name_label");
	char s1[24], s2[24];

	if (nf->recs.vcpus_max > 0 && pl->vcpus > nf->recs.vcpus_max)
		buf_printf(b, "%lld vCPUs is more than %s recommends (%lld). ", pl->vcpus, tname, nf->recs.vcpus_max);
	if (nf->recs.vcpus_min > 0 && pl->vcpus < nf->recs.vcpus_min)
		buf_printf(b, "%lld vCPU%s is fewer than %s recommends (%lld). ", pl->vcpus, pl->vcpus == 1 ? "" : "s",
			   tname, nf->recs.vcpus_min);
	if (nf->recs.memory_max > 0 && pl->memory > nf->recs.memory_max) {
		size_format(s1, sizeof(s1), pl->memory);
		size_format(s2, sizeof(s2), nf->recs.memory_max);
		buf_printf(b, "%s of memory is more than %s recommends (%s). ", s1, tname, s2);
	}
	for (int i = 0; i < pl->ndisks; i++) {
		const struct xv *sr = cache_get(c, pl->disks[i].sr);
		long long room = sr ? rec_int(sr, "physical_size") - rec_int(sr, "physical_utilisation") : 0;
		/* the disks before it on the same SR take their share of the room */
		for (int j = 0; j < i; j++)
			if (strcmp(pl->disks[j].sr, pl->disks[i].sr) == 0)
				room -= pl->disks[j].size;
		if (sr && rec_int(sr, "physical_size") > 0 && pl->disks[i].size > room) {
			size_format(s1, sizeof(s1), pl->disks[i].size);
			size_format(s2, sizeof(s2), room);
			char where[200];
			buf_printf(b, "The %s disk is larger than the free space of '%s' (%s); only thin storage can "
				      "take it. ", s1, sr_label(c, pl->disks[i].sr, where, sizeof(where)), s2);
		}
	}
	if (!pl->iso && !pl->network_boot && !pl->ndisks)
		buf_printf(b, "The VM has no disk and no install media: it has nothing to boot from. ");
	{
		/* xapi starts a VM only where every SR of its disks is attached */
		const char *srs[PLAN_MAX_DISKS];
		for (int i = 0; i < pl->ndisks; i++)
			srs[i] = pl->disks[i].sr;
		if (pl->ndisks > 1 && !srs_seen_together(c, srs, (size_t)pl->ndisks)) {
			char l1[200], l2[200];
			buf_printf(b, "No host sees both %s and %s: the VM cannot start until a disk moves. ",
				   sr_label(c, srs[0], l1, sizeof(l1)), sr_label(c, srs[1], l2, sizeof(l2)));
		}
	}
}

static void on_form(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct new_form *nf = ud;
	struct pool *p;
	const char *ref;
	const struct xv *tmpl;
	struct buf b;

	if (!r->ok)
		return;
	tmpl = app_lookup(app, qref, &p, &ref);
	if (!tmpl) {
		app_message(app, MSG_ERROR, "New VM: the template is gone (or its pool disconnected)");
		return;
	}
	vm_plan_free(nf->pending);
	nf->pending = plan_of(nf, r->form, tmpl);
	buf_init(&b);
	buf_puts(&b, "");
	warnings(nf, nf->pending, tmpl, p->cache, &b);
	if (b.len) {
		/* the dialog that owns nf is closing: the question takes it over */
		struct new_form *kept = xcalloc(1, sizeof(*kept));
		struct dialog *d;
		*kept = *nf;
		memset(nf, 0, sizeof(*nf));
		buf_puts(&b, "Create it anyway?");
		d = dialog_confirm("New VM", b.data, "Create", "Cancel", false);
		dialog_on_done(d, on_warning_answer, NULL, kept);
		dialog_own_ud(d, new_form_free);
		app_open_dialog(app, d);
	} else {
		start_pending(app, nf);
	}
	buf_free(&b);
}

/* ---- the form ------------------------------------------------------------------- */

static void boot_choices(struct new_form *nf, const struct xv *tmpl, const char **labels, int *selected)
{
	const char *fw = rec_map(tmpl, "HVM_boot_params", "firmware");
	const char *sb = rec_map(tmpl, "platform", "secureboot");
	enum boot_mode want = fw && strcmp(fw, "uefi") == 0
				      ? (sb && (strcmp(sb, "true") == 0 || strcmp(sb, "auto") == 0) ? BOOT_UEFI_SECURE
												 : BOOT_UEFI)
				      : BOOT_BIOS;

	/* a template that says nothing allows all three, as XO offers them */
	if (!nf->recs.no_bios)
		nf->boots[nf->nboots++] = BOOT_BIOS;
	if (!nf->recs.no_uefi) {
		nf->boots[nf->nboots++] = BOOT_UEFI;
		if (!nf->recs.no_secure)
			nf->boots[nf->nboots++] = BOOT_UEFI_SECURE;
	}
	if (!nf->nboots)
		nf->boots[nf->nboots++] = BOOT_BIOS;
	*selected = 0;
	for (int i = 0; i < nf->nboots; i++) {
		labels[i] = nf->boots[i] == BOOT_BIOS ? "BIOS" : nf->boots[i] == BOOT_UEFI ? "UEFI" : "UEFI secure boot";
		if (nf->boots[i] == want)
			*selected = i;
	}
}

void vm_new_open(struct app *app, const char *template_qref)
{
	struct pool *p;
	const char *ref, *mgmt = NULL;
	const struct xv *tmpl = app_lookup(app, template_qref, &p, &ref);
	const struct xv *pool;
	struct new_form *nf;
	struct form *f;
	struct dialog *d;
	struct collect isos = {0}, srs = {0}, nets = {0};
	const char *boot_labels[3];
	char hint[96], title[200];
	int boot_sel, sr_sel;
	long long mem;

	if (!tmpl || !rec_bool(tmpl, "is_a_template") || rec_bool(tmpl, "is_a_snapshot")) {
		app_message(app, MSG_INFO, "No template selected");
		return;
	}
	nf = xcalloc(1, sizeof(*nf));
	nf->pool_id = p->id;
	nf->template_ref = xstrdup(ref);
	nf->hvm = *rec_str(tmpl, "HVM_boot_policy") != '\0';
	read_recommendations(rec_str(tmpl, "recommendations"), &nf->recs);
	nf->disk_default = provision_disk_size(rec_map(tmpl, "other_config", "disks"));
	isos.c = srs.c = nets.c = p->cache;
	collect(&isos, "VDI", collect_iso);
	collect(&srs, "SR", collect_sr);
	collect(&nets, "network", collect_net);
	cache_each(p->cache, "PIF", find_mgmt_net, &mgmt);
	pool = pool_record(p->cache, NULL);

	f = form_new();
	nf->f_name = form_text(f, "Name", "", true);
	nf->f_desc = form_text(f, "Description", rec_str(tmpl, "name_description"), false);
	nf->f_vcpus = form_number(f, "vCPUs", rec_int(tmpl, "VCPUs_at_startup") > 0 ? rec_int(tmpl, "VCPUs_at_startup") : 1,
				  1, 512, "");
	if (nf->recs.vcpus_max > 0) {
		if (nf->recs.vcpus_min > 0)
			snprintf(hint, sizeof(hint), "advised %lld to %lld", nf->recs.vcpus_min, nf->recs.vcpus_max);
		else
			snprintf(hint, sizeof(hint), "advised <= %lld", nf->recs.vcpus_max);
		form_set_hint(f, nf->f_vcpus, hint);
	}
	mem = rec_int(tmpl, "memory_static_max") > 0 ? rec_int(tmpl, "memory_static_max") : GiB;
	nf->f_mem = form_size(f, "Memory", mem, 16 * MiB, 16 * 1024 * GiB, MiB); /* MiB, as xe and the CPU/RAM form */
	if (nf->recs.memory_max > 0) {
		char sz[24];
		size_format(sz, sizeof(sz), nf->recs.memory_max);
		snprintf(hint, sizeof(hint), "advised <= %s", sz);
		form_set_hint(f, nf->f_mem, hint);
	}
	{
		static const char *const fixed[] = {"none", "network boot (PXE)"};
		nf->f_media = choice_field(f, "Install media", fixed, 2, &isos, &nf->isos, 0);
		form_set_hint(f, nf->f_media, "Left/Right: ISOs");
	}
	boot_choices(nf, tmpl, boot_labels, &boot_sel);
	nf->f_boot = form_choice(f, "Boot mode", boot_labels, nf->nboots, boot_sel);
	if (!nf->hvm)
		form_set_hint(f, nf->f_boot, "(a PV template: its own boot)");
	{
		int sel = index_of(&nets, mgmt);
		static const char *const none[] = {"none"};
		nf->f_net = choice_field(f, "Network", NULL, 0, &nets, &nf->nets, sel < 0 ? 0 : sel);
		/* the same networks again, after "none": refs only once */
		{
			struct refs again = {0};
			nf->f_net2 = choice_field(f, "Second network", none, 1, &nets, &again, 0);
			refs_free(&again);
		}
	}
	sr_sel = index_of(&srs, pool ? rec_str(pool, "default_SR") : NULL);
	for (int i = 0; i < PLAN_MAX_DISKS; i++) {
		/* "Disk name", "Disk 2 name"...; only the first has a size to start with */
		char label[32], num[8];
		struct refs again = {0};
		snprintf(num, sizeof(num), i ? " %d" : "", i + 1);
		snprintf(label, sizeof(label), "Disk%s name", num);
		nf->f_disk_name[i] = form_text(f, label, "", false);
		form_set_hint(f, nf->f_disk_name[i], i ? "empty: 'NAME 1'" : "empty: 'NAME 0'");
		snprintf(label, sizeof(label), "Disk%s size", num);
		nf->f_disk_size[i] = form_size(f, label, i ? 0 : nf->disk_default ? nf->disk_default : 10 * GiB, 0,
					       2040 * GiB * 1024, GiB);
		form_set_hint(f, nf->f_disk_size[i], i ? "0: no second disk" : "0: no disk");
		snprintf(label, sizeof(label), "Disk%s SR", num);
		/* the same SRs for every disk: their refs kept once */
		nf->f_sr[i] = choice_field(f, label, NULL, 0, &srs, i ? &again : &nf->srs, sr_sel < 0 ? 0 : sr_sel);
		refs_free(&again);
	}
	nf->f_start = form_toggle(f, "Start after creation", true);
	free(isos.items);
	free(srs.items);
	free(nets.items);

	if (app_many_pools(app))
		snprintf(title, sizeof(title), "New VM in %s", p->cfg.name);
	else
		snprintf(title, sizeof(title), "New VM");
	{
		char *text = xasprintf("From template '%s'. Tab moves, Left/Right chooses, Enter creates.",
				       rec_str(tmpl, "name_label"));
		d = dialog_form(title, text, f);
		free(text);
	}
	dialog_on_done(d, on_form, template_qref, nf);
	dialog_own_ud(d, new_form_free);
	app_open_dialog(app, d);
}
