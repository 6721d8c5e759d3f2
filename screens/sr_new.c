/* New SR: the kind first (ISO library on a local path, NFS or SMB; NFS
 * virtual disks; local ext or LVM), then a form with only what that kind
 * needs, and SR.create with the device_config Xen Orchestra sends
 * (xo-server api/sr.mjs). An NFS server is probed (SR.probe) and its
 * exports offered as a list when the path is left empty. */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialog.h"
#include "errors.h"
#include "form.h"
#include "model.h"
#include "storage.h"
#include "util.h"

enum kind { K_ISO_LOCAL, K_ISO_NFS, K_NFS, K_ISO_SMB, K_EXT, K_LVM, NKINDS };

static const struct {
	const char *key, *label, *detail, *name;
} kinds[NKINDS] = {
	[K_ISO_LOCAL] = {"iso-local", "ISO library, local path", "ISO files in a directory of one host", "Local ISO library"},
	[K_ISO_NFS] = {"iso-nfs", "ISO library on NFS", "ISO files on an NFS share, for every host", "NFS ISO library"},
	[K_NFS] = {"nfs", "Virtual disks on NFS", "VM disks as VHD files on an NFS share (shared)", "NFS storage"},
	[K_ISO_SMB] = {"iso-smb", "ISO library on SMB", "ISO files on a Windows/Samba share", "SMB ISO library"},
	[K_EXT] = {"ext", "Local disks: ext", "a local device formatted ext (thin VHD files)", "Local storage"},
	[K_LVM] = {"lvm", "Local disks: LVM", "a local device as LVM (thick)", "Local storage"},
};

/* What the user typed, kept so a refused form comes back as it was. */
struct sr_form {
	int pool_id;
	enum kind kind;
	char **hosts; /* host refs of the host choice */
	int nhosts;
	int host;     /* chosen index */
	char *name, *server, *path, *share, *user, *password, *device;
	char *error; /* why the last SR.create failed, said above the form (or NULL) */
	/* field indices in the open form (-1: absent) */
	int f_name, f_host, f_server, f_path, f_share, f_user, f_password, f_device;
};

static void sr_form_free(void *data)
{
	struct sr_form *s = data;

	for (int i = 0; i < s->nhosts; i++)
		free(s->hosts[i]);
	free(s->hosts);
	free(s->name);
	free(s->server);
	free(s->path);
	free(s->share);
	free(s->user);
	free(s->password);
	free(s->device);
	free(s->error);
	free(s);
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v ? v : "");
}

static struct sr_form *sr_form_copy(const struct sr_form *s)
{
	struct sr_form *c = xcalloc(1, sizeof(*c));

	c->pool_id = s->pool_id;
	c->kind = s->kind;
	c->host = s->host;
	c->hosts = xcalloc((size_t)s->nhosts + 1, sizeof(char *));
	for (int i = 0; i < s->nhosts; i++)
		c->hosts[i] = xstrdup(s->hosts[i]);
	c->nhosts = s->nhosts;
	set_str(&c->name, s->name);
	set_str(&c->server, s->server);
	set_str(&c->path, s->path);
	set_str(&c->share, s->share);
	set_str(&c->user, s->user);
	set_str(&c->password, s->password);
	set_str(&c->device, s->device);
	return c;
}

static bool is_local(enum kind k)
{
	return k == K_ISO_LOCAL || k == K_EXT || k == K_LVM;
}

static bool is_nfs(enum kind k)
{
	return k == K_ISO_NFS || k == K_NFS;
}

/* ---- SR.create -------------------------------------------------------------------------- */

static void open_form(struct app *app, struct sr_form *s);

/* An SR.create on its way, with what was typed to bring back if it fails. */
struct creating {
	struct app *app;
	struct sr_form *s;
};

static void creating_free(void *data)
{
	struct creating *cr = data;

	if (cr->s)
		sr_form_free(cr->s);
	free(cr);
}

static void on_created(struct ops *ops, struct op *op, void *ud)
{
	struct creating *cr = ud;
	struct app *app = cr->app;
	struct pool *p = pools_by_id(app_pools(app), cr->s->pool_id);
	char *label = app_pool_label(app, p, op->label);

	if (op->state == OP_DONE) {
		app_message(app, MSG_INFO, "%s: done", label);
	} else if (op->state == OP_CANCELLED) {
		app_message(app, MSG_INFO, "%s: cancelled", label);
	} else {
		const char *why = op->message ? op->message : "failed";
		app_message(app, MSG_ERROR, "%s: %s", label, why);
		if (!app_quitting(app)) {
			/* the form comes back as typed, the reason above it */
			struct sr_form *s = cr->s;
			size_t len = strlen(why);
			cr->s = NULL;
			while (len && why[len - 1] == '.')
				len--;
			free(s->error);
			s->error = xasprintf("SR.create failed: %.*s.", (int)len, why);
			open_form(app, s);
		}
	}
	free(label);
	app_release(app, cr);
}

static struct xv *strmap(const char *k1, const char *v1, const char *k2, const char *v2)
{
	struct xv *m = xv_struct();

	if (k1)
		xv_struct_set(m, k1, xv_string(v1));
	if (k2)
		xv_struct_set(m, k2, xv_string(v2));
	return m;
}

/* The export path as NFS wants it: absolute. */
static char *abs_path(const char *p)
{
	return xasprintf("%s%s", *p == '/' ? "" : "/", p);
}

static void create(struct app *app, const struct sr_form *s, const char *nfs_path)
{
	struct pool *p = pools_by_id(app_pools(app), s->pool_id);
	const char *host = NULL, *type, *content = "user";
	struct xv *dc, *params;
	bool shared = !is_local(s->kind);
	char *label, *loc = NULL;
	struct creating *cr;

	if (!p || !p->cache) {
		app_message(app, MSG_ERROR, "New SR: the pool is not connected");
		return;
	}
	if (is_local(s->kind)) {
		host = s->host >= 0 && s->host < s->nhosts ? s->hosts[s->host] : NULL;
	} else {
		const struct xv *pool = pool_record(p->cache, NULL);
		host = pool ? rec_str(pool, "master") : NULL;
	}
	if (!host || !*host) {
		app_message(app, MSG_ERROR, "New SR: which host? The pool's hosts are not loaded");
		return;
	}
	switch (s->kind) {
	case K_ISO_LOCAL:
		/* legacy_mode: a plain directory of dom0, nothing mounted */
		dc = strmap("location", s->path, "legacy_mode", "true");
		type = "iso";
		content = "iso";
		break;
	case K_ISO_NFS:
		loc = xasprintf("%s:%s", s->server, nfs_path);
		dc = strmap("location", loc, NULL, NULL);
		type = "iso";
		content = "iso";
		break;
	case K_NFS:
		dc = strmap("server", s->server, "serverpath", nfs_path);
		type = "nfs";
		break;
	case K_ISO_SMB: {
		/* //server/share, with forward slashes as ISOSR wants */
		const char *sv = s->server, *sh = s->share;
		while (*sv == '/' || *sv == '\\')
			sv++;
		while (*sh == '/' || *sh == '\\')
			sh++;
		loc = xasprintf("//%s/%s", sv, sh);
		for (char *c = loc; *c; c++)
			if (*c == '\\')
				*c = '/';
		dc = strmap("location", loc, "type", "cifs");
		if (*s->user) {
			xv_struct_set(dc, "username", xv_string(s->user));
			xv_struct_set(dc, "cifspassword", xv_string(s->password));
		}
		type = "iso";
		content = "iso";
		break;
	}
	case K_EXT:
	case K_LVM:
	default:
		dc = strmap("device", s->device, NULL, NULL);
		type = s->kind == K_EXT ? "ext" : "lvm";
		break;
	}
	params = xv_array();
	xv_array_push(params, xv_string(host));
	xv_array_push(params, dc);
	xv_array_push(params, xv_int(0)); /* physical_size: the driver measures it */
	xv_array_push(params, xv_string(s->name));
	xv_array_push(params, xv_string(""));
	xv_array_push(params, xv_string(type));
	xv_array_push(params, xv_string(content));
	xv_array_push(params, xv_bool(shared));
	xv_array_push(params, xv_struct());
	label = xasprintf("Create SR '%s'", s->name);
	cr = xcalloc(1, sizeof(*cr));
	cr->app = app;
	cr->s = sr_form_copy(s);
	if (nfs_path)
		set_str(&cr->s->path, nfs_path); /* an export picked from the list shows in the form */
	/* an op whose pool goes quiet never ends: freed at the end of the run */
	app_keep(app, cr, creating_free);
	if (!app_op_then(app, p, label, "SR.create", params, on_created, cr))
		app_release(app, cr);
	free(label);
	free(loc);
}

/* ---- the NFS probe ---------------------------------------------------------------------- */

struct probe {
	struct app *app;
	struct sr_form *s;
};

static void on_export(struct app *app, const struct dialog_result *r, const char *ref, void *ud)
{
	struct sr_form *s = ud;

	if (r->ok)
		create(app, s, r->choice_key);
}

/* The Path elements of <nfs-exports><Export>..., in order, into the dialog. */
static int add_exports(struct dialog *d, const char *xml)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "probe.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR
										      | XML_PARSE_NOWARNING);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	int n = 0;

	for (xmlNodePtr e = root ? root->children : NULL; e; e = e->next) {
		xmlChar *path = NULL, *acl = NULL;
		if (e->type != XML_ELEMENT_NODE || xmlStrcmp(e->name, BAD_CAST "Export") != 0)
			continue;
		for (xmlNodePtr c = e->children; c; c = c->next) {
			if (c->type != XML_ELEMENT_NODE)
				continue;
			if (!xmlStrcmp(c->name, BAD_CAST "Path") && !path)
				path = xmlNodeGetContent(c);
			else if (!xmlStrcmp(c->name, BAD_CAST "Accesslist") && !acl)
				acl = xmlNodeGetContent(c);
		}
		if (path) {
			char *p = xstrdup((const char *)path), *detail;
			/* the driver pads with whitespace */
			char *b = p + strspn(p, " \t\r\n");
			size_t len = strlen(b);
			while (len && strchr(" \t\r\n", b[len - 1]))
				b[--len] = '\0';
			detail = acl ? xasprintf("allowed: %s", (const char *)acl) : xstrdup("");
			dialog_add_choice(d, b, b, detail);
			free(detail);
			free(p);
			n++;
		}
		xmlFree(path);
		xmlFree(acl);
	}
	if (doc)
		xmlFreeDoc(doc);
	return n;
}

static void on_probe(struct xapi *x, const struct xapi_result *r, void *ud)
{
	struct probe *pr = ud;
	struct app *app = pr->app;
	struct sr_form *s = pr->s;
	struct pool *p = pools_by_id(app_pools(app), s->pool_id);
	const char *code = r->failure == XAPI_API ? xv_str(xv_at(r->error, 0)) : NULL;
	const char *xml = code && strcmp(code, "SR_BACKEND_FAILURE_101") == 0 ? xv_str(xv_at(r->error, 3)) : NULL;

	free(pr);
	if (app_quitting(app)) {
		sr_form_free(s);
		return;
	}
	if (xml && *xml) {
		/* NFSSR.probe without serverpath fails with the export list */
		char *text = xasprintf("The exports of %s: which one?", s->server);
		struct dialog *d = dialog_choose("NFS exports", text);
		int n = add_exports(d, xml);
		free(text);
		if (!n) {
			dialog_free(d);
			app_message(app, MSG_ERROR, "%s exports nothing this host may mount; type the path", s->server);
			open_form(app, s);
			return;
		}
		dialog_on_done(d, on_export, NULL, s);
		dialog_own_ud(d, sr_form_free);
		app_open_dialog(app, d);
		return;
	}
	if (r->failure == XAPI_API) {
		char *why = error_sentence(r->error, p ? p->cache : NULL);
		app_message(app, MSG_ERROR, "Probe %s: %s", s->server, why);
		free(why);
	} else if (r->failure == XAPI_OK) {
		app_message(app, MSG_ERROR, "Probe %s: the server listed no exports; type the path", s->server);
	} else {
		app_message(app, MSG_ERROR, "Probe %s: %s", s->server, r->message);
	}
	open_form(app, s); /* as typed, to correct */
}

static void probe(struct app *app, struct sr_form *s)
{
	struct pool *p = pools_by_id(app_pools(app), s->pool_id);
	const struct xv *pool = p && p->cache ? pool_record(p->cache, NULL) : NULL;
	struct probe *pr;
	struct xv *params;

	if (!pool) {
		app_message(app, MSG_ERROR, "Probe: the pool is not connected");
		sr_form_free(s);
		return;
	}
	params = xv_array();
	xv_array_push(params, xv_string(rec_str(pool, "master")));
	xv_array_push(params, strmap("server", s->server, NULL, NULL));
	xv_array_push(params, xv_string("nfs"));
	xv_array_push(params, xv_struct());
	pr = xcalloc(1, sizeof(*pr));
	pr->app = app;
	pr->s = s;
	app_message(app, MSG_INFO, "Asking %s for its exports...", s->server);
	app_query(app, p, "SR.probe", params, on_probe, pr);
}

/* ---- the form ----------------------------------------------------------------------------- */

static const char *check_abs(const struct form *f, int field, const char *text, void *ud)
{
	return *text && *text != '/' ? "a full path, from /" : NULL;
}

static const char *check_dev(const struct form *f, int field, const char *text, void *ud)
{
	return strncmp(text, "/dev/", 5) != 0 ? "a device, /dev/..." : NULL;
}

static const char *check_server(const struct form *f, int field, const char *text, void *ud)
{
	return strpbrk(text, " /:\\") && !strchr(text, '[') ? "a host name or address only" : NULL;
}

/* ---- a local disk: what xapi says is in use, and the erase question ----------------------------- */

/* "/dev/sda" and "/dev/sda3" (or "/dev/nvme0n1p2") are the same disk. */
static bool same_disk(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	const char *rest;

	if (la > lb) {
		const char *t = a;
		a = b;
		b = t;
		la = lb;
	}
	if (strncmp(a, b, la) != 0)
		return false;
	rest = b + la;
	if (*rest == 'p')
		rest++;
	return *rest == '\0' || strspn(rest, "0123456789") == strlen(rest);
}

struct in_use {
	const struct cache *c;
	const char *host;   /* only this host's (NULL: every host's) */
	const char *device; /* the first SR on the same disk as this one (NULL: list them all) */
	const char *sr;     /* out: that SR's name */
	const char *held;   /* out: the device its PBD names */
	struct buf list;    /* out, with device NULL: "xcp-ng-01 /dev/sda3, ..." */
};

static bool find_in_use(const char *ref, const struct xv *pbd, void *ud)
{
	struct in_use *u = ud;
	const char *dev = rec_map(pbd, "device_config", "device");
	const struct xv *sr;

	if (!dev || strncmp(dev, "/dev/", 5) != 0 || (u->host && strcmp(rec_str(pbd, "host"), u->host) != 0))
		return true;
	sr = cache_get(u->c, rec_str(pbd, "SR"));
	if (u->device) {
		if (!same_disk(dev, u->device))
			return true;
		u->sr = sr ? rec_str(sr, "name_label") : "an SR";
		u->held = dev;
		return false;
	}
	buf_sep(&u->list, ", ");
	buf_printf(&u->list, "%s %s", name_of(u->c, rec_str(pbd, "host")), dev);
	return true;
}

/* The form's sentence for a local disk: xapi cannot list a host's disks
 * (SR.probe for ext/lvm wants the device), only those its SRs hold. */
static void used_text(const struct cache *c, char *buf, size_t n)
{
	struct in_use u = {c, NULL, NULL, NULL, NULL, {NULL, 0, 0}};
	bool any;

	cache_each(c, "PBD", find_in_use, &u);
	any = u.list.len > 0;
	snprintf(buf, n, "A local disk of the host becomes an SR: everything on the device is erased. xapi does "
			 "not list a host's disks; type one (lsblk on the host shows them).%s%s%s",
		 any ? " Held by SRs already: " : "", any ? u.list.data : "", any ? "." : "");
	buf_free(&u.list);
}

static void on_erase(struct app *app, const struct dialog_result *r, const char *ref, void *ud)
{
	struct sr_form *s = ud;

	if (!r->ok) {
		app_message(app, MSG_INFO, "Nothing erased: %s stays as it was", s->device);
		return;
	}
	create(app, s, NULL);
}

/* Refuses a disk an SR of the host holds (back to the form, saying so);
 * else asks for the device typed back before erasing it. Takes s. */
static void ask_erase(struct app *app, struct sr_form *s)
{
	struct pool *p = pools_by_id(app_pools(app), s->pool_id);
	const char *host = s->host >= 0 && s->host < s->nhosts ? s->hosts[s->host] : NULL;
	struct in_use u = {NULL, host, s->device, NULL, NULL, {NULL, 0, 0}};
	struct dialog *d;
	char *text;

	if (!p || !p->cache || !host) {
		app_message(app, MSG_ERROR, "New SR: the pool is not connected");
		sr_form_free(s);
		return;
	}
	u.c = p->cache;
	cache_each(p->cache, "PBD", find_in_use, &u);
	if (u.sr) {
		free(s->error);
		s->error = xasprintf("%s is the disk of the SR '%s' on %s (%s): choose another.", s->device, u.sr,
				     name_of(p->cache, host), u.held);
		open_form(app, s);
		return;
	}
	text = xasprintf("Erase %s on %s? Everything on it is lost: it is formatted for the SR '%s'. Type the device "
			 "to confirm.",
			 s->device, name_of(p->cache, host), s->name);
	d = dialog_type_name("Erase a disk", text, s->device);
	dialog_on_done(d, on_erase, NULL, s);
	dialog_own_ud(d, sr_form_free);
	app_open_dialog(app, d);
	free(text);
}

static void on_form(struct app *app, const struct dialog_result *r, const char *ref, void *ud)
{
	struct sr_form *s = ud, *c;
	const struct form *f = r->form;

	if (!r->ok)
		return;
	/* the dialog frees s: carry on with a copy */
	c = sr_form_copy(s);
	set_str(&c->name, form_get_text(f, s->f_name));
	if (s->f_host >= 0)
		c->host = form_get_choice(f, s->f_host);
	if (s->f_server >= 0)
		set_str(&c->server, form_get_text(f, s->f_server));
	if (s->f_path >= 0)
		set_str(&c->path, form_get_text(f, s->f_path));
	if (s->f_share >= 0)
		set_str(&c->share, form_get_text(f, s->f_share));
	if (s->f_user >= 0)
		set_str(&c->user, form_get_text(f, s->f_user));
	if (s->f_password >= 0)
		set_str(&c->password, form_get_text(f, s->f_password));
	if (s->f_device >= 0)
		set_str(&c->device, form_get_text(f, s->f_device));
	if (is_nfs(c->kind) && !*c->path) {
		probe(app, c); /* takes c */
		return;
	}
	if (is_nfs(c->kind)) {
		char *path = abs_path(c->path);
		create(app, c, path);
		free(path);
	} else if (c->kind == K_EXT || c->kind == K_LVM) {
		ask_erase(app, c); /* takes c */
		return;
	} else {
		create(app, c, NULL);
	}
	sr_form_free(c);
}

static void open_form(struct app *app, struct sr_form *s)
{
	struct pool *p = pools_by_id(app_pools(app), s->pool_id);
	struct form *f;
	struct dialog *d;
	const char *text;
	char *title, used[768];

	if (!p || !p->cache) {
		app_message(app, MSG_ERROR, "New SR: the pool is not connected");
		sr_form_free(s);
		return;
	}
	f = form_new();
	s->f_host = s->f_server = s->f_path = s->f_share = s->f_user = s->f_password = s->f_device = -1;
	s->f_name = form_text(f, "Name", s->name, true);
	if (is_local(s->kind)) {
		const char **names = xcalloc((size_t)s->nhosts + 1, sizeof(char *));
		for (int i = 0; i < s->nhosts; i++)
			names[i] = name_of(p->cache, s->hosts[i]);
		s->f_host = form_choice(f, "Host", names, s->nhosts, s->host);
		free(names);
	}
	switch (s->kind) {
	case K_ISO_LOCAL:
		s->f_path = form_text(f, "Path", s->path, true);
		form_set_check(f, s->f_path, check_abs, NULL);
		form_set_hint(f, s->f_path, "a directory that exists on the host");
		text = "ISO files in a directory of the host. Warning: unless you mounted a disk of its own there, "
		       "that directory is on the host's 18 GB root partition (xentui cannot see the host's mounts); "
		       "a few ISOs fill it, and a full root partition stops the host's services.";
		break;
	case K_ISO_NFS:
	case K_NFS:
		s->f_server = form_text(f, "Server", s->server, true);
		form_set_check(f, s->f_server, check_server, NULL);
		form_set_hint(f, s->f_server, "name or address of the NFS server");
		s->f_path = form_text(f, "Path", s->path, false);
		form_set_hint(f, s->f_path, "empty: list the server's exports");
		text = s->kind == K_NFS ? "VM disks on an NFS share, shared by every host of the pool. Leave the path "
					  "empty to pick one of the server's exports."
					: "ISO files on an NFS share, for every host of the pool. Leave the path empty "
					  "to pick one of the server's exports.";
		break;
	case K_ISO_SMB:
		s->f_server = form_text(f, "Server", s->server, true);
		form_set_hint(f, s->f_server, "name or address");
		s->f_share = form_text(f, "Share", s->share, true);
		form_set_hint(f, s->f_share, "e.g. isos or isos/linux");
		s->f_user = form_text(f, "User", s->user, false);
		form_set_hint(f, s->f_user, "empty: as a guest");
		s->f_password = form_password(f, "Password", false);
		form_set_text(f, s->f_password, s->password);
		text = "ISO files on a Windows or Samba share (//server/share), for every host of the pool.";
		break;
	case K_EXT:
	case K_LVM:
	default:
		s->f_device = form_text(f, "Device", s->device, true);
		form_set_check(f, s->f_device, check_dev, NULL);
		form_set_hint(f, s->f_device, "a whole empty disk, e.g. /dev/sdc");
		used_text(p->cache, used, sizeof(used));
		text = used; /* the sentence is in used, with the devices SRs hold */
		break;
	}
	title = xasprintf("New SR: %s", kinds[s->kind].label);
	if (s->error) {
		char *said = xasprintf("%s %s", s->error, text);
		d = dialog_form(title, said, f);
		free(said);
	} else {
		d = dialog_form(title, text, f);
	}
	dialog_on_done(d, on_form, NULL, s);
	dialog_own_ud(d, sr_form_free);
	app_open_dialog(app, d);
	free(title);
}

/* ---- the kind ------------------------------------------------------------------------------ */

struct host_names {
	struct sr_form *s;
	const struct cache *c;
};

static bool add_host(const char *ref, const struct xv *h, void *ud)
{
	struct host_names *hn = ud;
	struct sr_form *s = hn->s;

	s->hosts = xrealloc(s->hosts, (size_t)(s->nhosts + 1) * sizeof(char *));
	s->hosts[s->nhosts++] = xstrdup(ref);
	return true;
}

static const struct cache *sort_cache;

static int by_name(const void *a, const void *b)
{
	return strcmp(name_of(sort_cache, *(char *const *)a), name_of(sort_cache, *(char *const *)b));
}

static void on_kind(struct app *app, const struct dialog_result *r, const char *ref, void *ud)
{
	int pool_id = (int)(intptr_t)ud;
	struct pool *p = pools_by_id(app_pools(app), pool_id);
	struct sr_form *s;
	struct host_names hn;
	int k;

	if (!r->ok)
		return;
	for (k = 0; k < NKINDS && strcmp(kinds[k].key, r->choice_key) != 0; k++)
		;
	if (k == NKINDS || !p || !p->cache)
		return;
	s = xcalloc(1, sizeof(*s));
	s->pool_id = pool_id;
	s->kind = (enum kind)k;
	set_str(&s->name, kinds[k].name);
	set_str(&s->server, "");
	set_str(&s->path, k == K_ISO_LOCAL ? "/var/opt/xen/ISO_Store" : "");
	set_str(&s->share, "");
	set_str(&s->user, "");
	set_str(&s->password, "");
	set_str(&s->device, ""); /* never a guess: Enter would format it */
	hn.s = s;
	hn.c = p->cache;
	cache_each(p->cache, "host", add_host, &hn);
	sort_cache = p->cache;
	if (s->nhosts > 1)
		qsort(s->hosts, (size_t)s->nhosts, sizeof(char *), by_name);
	if (is_local(s->kind) && !s->nhosts) {
		app_message(app, MSG_ERROR, "New SR: the pool's hosts are not loaded yet");
		sr_form_free(s);
		return;
	}
	open_form(app, s);
}

void sr_new_start(struct app *app, struct pool *p)
{
	struct dialog *d = dialog_choose("New SR", "What kind of storage?");

	for (int k = 0; k < NKINDS; k++)
		dialog_add_choice(d, kinds[k].key, kinds[k].label, kinds[k].detail);
	dialog_on_done(d, on_kind, NULL, (void *)(intptr_t)p->id);
	app_open_dialog(app, d);
}
