/* VBD, VIF, VDI, SR and PBD operations with xapi's checks. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbtlog.h"
#include "gen.h"
#include "implicit.h"
#include "rpc.h"
#include "sim.h"
#include "util.h"
#include "vdidata.h"
#include "vm.h"

#define GiB (1024LL * 1024 * 1024)

static struct xv *void_ok(void)
{
	return xv_string("");
}

static bool vm_is_live(const struct obj *vm)
{
	return vm && db_ref(vm, "resident_on") != NULL;
}

/* ---- VBD ------------------------------------------------------------------ */

static void first_free_userdevice(const struct obj *vm, const struct obj *self, char out[12])
{
	const struct xv *vbds = db_field(vm, "VBDs");

	for (int d = 0; d < 16; d++) {
		bool used = false;
		snprintf(out, 12, "%d", d);
		for (size_t i = 0; i < xv_len(vbds); i++) {
			struct obj *o = db_find(xv_str(xv_at(vbds, i)));
			if (o && o != self && strcmp(db_str(o, "userdevice"), out) == 0)
				used = true;
		}
		if (!used)
			return;
	}
}

static struct xv *vbd_create(struct call *c, struct xv **err)
{
	const struct xv *rec = arg(c, 0);
	struct obj *vm = db_get(schema_class("VM"), xv_str(xv_struct_get(rec, "VM")) ? xv_str(xv_struct_get(rec, "VM")) : "");
	const char *userdevice = xv_str(xv_struct_get(rec, "userdevice"));
	struct obj *vbd;

	if (!vm) {
		*err = err_handle("VM", xv_str(xv_struct_get(rec, "VM")) ? xv_str(xv_struct_get(rec, "VM")) : "");
		return NULL;
	}
	if (userdevice && strcmp(userdevice, "autodetect") != 0) {
		const struct xv *vbds = db_field(vm, "VBDs");
		for (size_t i = 0; i < xv_len(vbds); i++) {
			struct obj *o = db_find(xv_str(xv_at(vbds, i)));
			if (o && strcmp(db_str(o, "userdevice"), userdevice) == 0) {
				*err = err_new("DEVICE_ALREADY_EXISTS", userdevice, NULL);
				return NULL;
			}
		}
	}
	if (!(vbd = implicit_create(c, rec, err)))
		return NULL;
	if (strcmp(db_str(vbd, "userdevice"), "autodetect") == 0) {
		char dev[12];
		first_free_userdevice(vm, vbd, dev);
		db_set_str(vbd, "userdevice", dev);
	}
	db_set_bool(vbd, "empty", db_ref(vbd, "VDI") == NULL);
	db_set_bool(vbd, "currently_attached", false);
	{
		char dev[16];
		snprintf(dev, sizeof(dev), "xvd%c", 'a' + atoi(db_str(vbd, "userdevice")) % 26);
		db_set_str(vbd, "device", dev);
	}
	db_set(vbd, "allowed_operations", xv_array());
	xv_array_push(db_field(vbd, "allowed_operations"), xv_string("attach"));
	if (strcmp(db_str(vbd, "type"), "CD") == 0)
		xv_array_push(db_field(vbd, "allowed_operations"), xv_string(db_ref(vbd, "VDI") ? "eject" : "insert"));
	return xv_string(vbd->ref);
}

static struct xv *vbd_destroy(struct call *c, struct xv **err)
{
	struct obj *vbd = arg_obj(c, 0, "VBD", err);

	if (!vbd)
		return NULL;
	if (db_bool(vbd, "currently_attached")) {
		*err = err_new("OPERATION_NOT_ALLOWED", "VBD is currently attached", NULL);
		return NULL;
	}
	db_delete(vbd);
	return void_ok();
}

static void vbd_media_ops(struct obj *vbd)
{
	struct xv *ops = xv_array();

	xv_array_push(ops, xv_string(db_bool(vbd, "empty") ? "insert" : "eject"));
	xv_array_push(ops, xv_string("attach"));
	db_set(vbd, "allowed_operations", ops);
}

static struct xv *vbd_insert(struct call *c, struct xv **err)
{
	struct obj *vbd = arg_obj(c, 0, "VBD", err);
	struct obj *vdi = vbd ? arg_obj(c, 1, "VDI", err) : NULL;

	if (!vdi)
		return NULL;
	if (strcmp(db_str(vbd, "type"), "CD") != 0) {
		*err = err_new("VBD_NOT_REMOVABLE_MEDIA", vbd->ref, NULL);
		return NULL;
	}
	if (!db_bool(vbd, "empty")) {
		*err = err_new("VBD_NOT_EMPTY", vbd->ref, NULL);
		return NULL;
	}
	db_set_ref(vbd, "VDI", vdi);
	db_set_bool(vbd, "empty", false);
	vbd_media_ops(vbd);
	return void_ok();
}

static struct xv *vbd_eject(struct call *c, struct xv **err)
{
	struct obj *vbd = arg_obj(c, 0, "VBD", err);

	if (!vbd)
		return NULL;
	if (strcmp(db_str(vbd, "type"), "CD") != 0) {
		*err = err_new("VBD_NOT_REMOVABLE_MEDIA", vbd->ref, NULL);
		return NULL;
	}
	if (db_bool(vbd, "empty")) {
		*err = err_new("VBD_IS_EMPTY", vbd->ref, NULL);
		return NULL;
	}
	db_set_ref(vbd, "VDI", NULL);
	db_set_bool(vbd, "empty", true);
	vbd_media_ops(vbd);
	return void_ok();
}

static struct xv *device_plug(struct call *c, const char *cls, bool plug, struct xv **err)
{
	struct obj *d = arg_obj(c, 0, cls, err);
	struct obj *vm = d ? db_ref(d, "VM") : NULL;

	if (!d)
		return NULL;
	if (!vm_is_live(vm)) {
		char actual[32];
		snprintf(actual, sizeof(actual), "%s", vm ? db_str(vm, "power_state") : "halted");
		actual[0] = (char)(actual[0] | 0x20);
		*err = err_new("VM_BAD_POWER_STATE", vm ? vm->ref : "OpaqueRef:NULL", "running", actual, NULL);
		return NULL;
	}
	if (db_bool(d, "currently_attached") == plug) {
		*err = err_new(plug ? "DEVICE_ALREADY_ATTACHED" : "DEVICE_ALREADY_DETACHED", d->ref, NULL);
		return NULL;
	}
	/* A disk on an SR the VM's host has no plugged PBD for. xapi has no
	 * check of its own here: the VDI.attach goes to that host's storage
	 * mux, which has no plugin registered for an SR it never attached
	 * (No_storage_plugin_for_sr), and Storage_utils.transform_storage_exn
	 * turns that into SR_NOT_ATTACHED [sr]. Not VM_REQUIRES_SR: that is
	 * assert_can_see_SRs', which only VM start/resume/migrate run. */
	if (plug && strcmp(cls, "VBD") == 0 && !db_bool(d, "empty") && db_ref(d, "VDI")) {
		struct obj *sr = db_ref(db_ref(d, "VDI"), "SR");
		if (sr && !host_sees_sr(db_ref(vm, "resident_on"), sr)) {
			*err = err_new("SR_NOT_ATTACHED", sr->ref, NULL);
			return NULL;
		}
	}
	db_set_bool(d, "currently_attached", plug);
	return void_ok();
}

static struct xv *vbd_plug(struct call *c, struct xv **err)
{
	return device_plug(c, "VBD", true, err);
}

static struct xv *vbd_unplug(struct call *c, struct xv **err)
{
	return device_plug(c, "VBD", false, err);
}

/* ---- VIF ------------------------------------------------------------------ */

/* Helpers.is_valid_MAC: six pairs of hex digits separated by colons. */
static bool mac_valid(const char *m)
{
	for (int i = 0; i < 6; i++, m += 3)
		if (!isxdigit((unsigned char)m[0]) || !isxdigit((unsigned char)m[1]) || m[2] != (i < 5 ? ':' : '\0'))
			return false;
	return true;
}

static struct xv *vif_create(struct call *c, struct xv **err)
{
	const struct xv *rec = arg(c, 0);
	const char *vmref = xv_str(xv_struct_get(rec, "VM"));
	const char *device = xv_str(xv_struct_get(rec, "device"));
	struct obj *vm = db_get(schema_class("VM"), vmref ? vmref : "");
	struct obj *vif;

	if (!vm) {
		*err = err_handle("VM", vmref ? vmref : "");
		return NULL;
	}
	for (size_t i = 0; device && i < xv_len(db_field(vm, "VIFs")); i++) {
		struct obj *o = db_find(xv_str(xv_at(db_field(vm, "VIFs"), i)));
		if (o && strcmp(db_str(o, "device"), device) == 0) {
			*err = err_new("DEVICE_ALREADY_EXISTS", device, NULL);
			return NULL;
		}
	}
	if (!(vif = implicit_create(c, rec, err)))
		return NULL;
	/* xapi_vif_helpers.ml's create: "" means a MAC derived from the VM's
	 * mac_seed and the device (no seed: MAC_INVALID); a given MAC is kept */
	{
		const char *seed = db_map_get(vm, "other_config", "mac_seed");
		bool gen = !*db_str(vif, "MAC") && seed;
		if (gen) {
			char mac[18];
			vif_gen_mac(seed, atoi(db_str(vif, "device")), mac);
			db_set_str(vif, "MAC", mac);
		}
		if (!mac_valid(db_str(vif, "MAC"))) {
			*err = err_new("MAC_INVALID", db_str(vif, "MAC"), NULL);
			db_delete(vif);
			return NULL;
		}
		db_set_bool(vif, "MAC_autogenerated", gen);
	}
	db_set_bool(vif, "currently_attached", false);
	return xv_string(vif->ref);
}

static struct xv *vif_destroy(struct call *c, struct xv **err)
{
	struct obj *vif = arg_obj(c, 0, "VIF", err);

	if (!vif)
		return NULL;
	if (db_bool(vif, "currently_attached")) {
		*err = err_new("OPERATION_NOT_ALLOWED", "VIF is currently attached", NULL);
		return NULL;
	}
	db_delete(vif);
	return void_ok();
}

static struct xv *vif_plug(struct call *c, struct xv **err)
{
	return device_plug(c, "VIF", true, err);
}

static struct xv *vif_unplug(struct call *c, struct xv **err)
{
	return device_plug(c, "VIF", false, err);
}

/* ---- VDI ------------------------------------------------------------------ */

/* ISOSR's vdi_path_regex, [a-z0-9.-]+\.(iso|img), case-insensitive (match:
 * anchored at the start only, as Python's re.match). */
static bool iso_path_ok(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-");

	/* the longest run must hold ".iso" or ".img" after at least one character */
	for (size_t i = 1; i + 4 <= n; i++)
		if (strncasecmp(s + i, ".iso", 4) == 0 || strncasecmp(s + i, ".img", 4) == 0)
			return true;
	return false;
}

/* The file an ISO SR's new VDI gets (ISOSR.vdi): sm_config:path, else
 * UUID.img; NULL (and *err) when the path is refused or taken. */
static char *iso_location(struct obj *sr, const struct xv *rec, const char *uuid, struct xv **err)
{
	const char *path = xv_str(xv_struct_get(xv_struct_get(rec, "sm_config"), "path"));
	const struct xv *vdis = db_field(sr, "VDIs");
	char *loc;

	if (path && !iso_path_ok(path)) {
		char *why = xasprintf("VDI Creation failed [opterr=Invalid path \"%s\"]", path);
		*err = err_new("SR_BACKEND_FAILURE_78", "", why, NULL);
		free(why);
		return NULL;
	}
	loc = path ? xstrdup(path) : xasprintf("%s.img", uuid);
	for (size_t i = 0; i < xv_len(vdis); i++) {
		struct obj *v = db_find(xv_str(xv_at(vdis, i)));
		if (v && strcmp(db_str(v, "location"), loc) == 0) {
			*err = err_new("SR_BACKEND_FAILURE_43", "", "The VDI already exists", NULL);
			free(loc);
			return NULL;
		}
	}
	return loc;
}

static struct xv *vdi_create(struct call *c, struct xv **err)
{
	const struct xv *rec = arg(c, 0);
	const char *srref = xv_str(xv_struct_get(rec, "SR"));
	struct obj *sr = db_get(schema_class("SR"), srref ? srref : "");
	struct obj *vdi;
	int64_t size = 0;

	if (!sr) {
		*err = err_handle("SR", srref ? srref : "");
		return NULL;
	}
	xv_get_int64(xv_struct_get(rec, "virtual_size"), &size);
	if (size < 0) {
		*err = err_new("INVALID_VALUE", "virtual_size", "negative", NULL);
		return NULL;
	}
	if (db_int(sr, "physical_size") > 0 && strcmp(db_str(sr, "content_type"), "iso") != 0
	    && db_int(sr, "physical_utilisation") + size / 4 > db_int(sr, "physical_size")) {
		*err = err_new("SR_BACKEND_FAILURE_44", "", "There is insufficient space", NULL);
		return NULL;
	}
	if (strcmp(db_str(sr, "content_type"), "iso") == 0) {
		/* the file is named before the record exists: check with a dummy uuid */
		char *loc = iso_location(sr, rec, "x", err);
		if (!loc)
			return NULL;
		free(loc);
	}
	if (!(vdi = implicit_create(c, rec, err)))
		return NULL;
	if (strcmp(db_str(sr, "content_type"), "iso") == 0) {
		char *loc = iso_location(sr, rec, db_str(vdi, "uuid"), err);
		db_set_str(vdi, "location", loc ? loc : db_str(vdi, "uuid"));
		free(loc);
		*err = NULL;
	} else {
		db_set_str(vdi, "location", db_str(vdi, "uuid"));
	}
	db_set_int(vdi, "physical_utilisation", 0);
	/* a new disk reads as zeros, unless the caller asked for a benchmark pattern */
	{
		const char *co = db_map_get(vdi, "other_config", "content_of");
		if (!co || strncmp(co, "pattern:", 8) != 0)
			vdata_mark_blank(vdi);
	}
	{
		struct xv *ops = xv_array();
		static const char *const names[] = {"clone", "copy", "resize", "destroy", "snapshot", "update", "forget"};
		for (size_t i = 0; i < ARRAY_LEN(names); i++)
			xv_array_push(ops, xv_string(names[i]));
		db_set(vdi, "allowed_operations", ops);
	}
	sr_refresh_usage(sr);
	return xv_string(vdi->ref);
}

static bool vdi_attached(struct obj *vdi)
{
	const struct xv *vbds = db_field(vdi, "VBDs");

	for (size_t i = 0; i < xv_len(vbds); i++) {
		struct obj *vbd = db_find(xv_str(xv_at(vbds, i)));
		if (vbd && db_bool(vbd, "currently_attached"))
			return true;
	}
	return false;
}

static struct xv *vdi_destroy(struct call *c, struct xv **err)
{
	struct obj *vdi = arg_obj(c, 0, "VDI", err);
	struct obj *sr;
	struct xv *vbds;

	if (!vdi)
		return NULL;
	if (vdi_attached(vdi)) {
		*err = err_new("VDI_IN_USE", vdi->ref, "destroy", NULL);
		return NULL;
	}
	sr = db_ref(vdi, "SR");
	/* detached VBDs pointing at it go with it, as in xapi */
	vbds = xv_copy(db_field(vdi, "VBDs"));
	for (size_t i = 0; i < xv_len(vbds); i++) {
		struct obj *vbd = db_find(xv_str(xv_at(vbds, i)));
		if (vbd)
			db_delete(vbd);
	}
	xv_free(vbds);
	db_delete(vdi);
	if (sr)
		sr_refresh_usage(sr);
	return void_ok();
}

static struct xv *vdi_resize(struct call *c, struct xv **err)
{
	struct obj *vdi = arg_obj(c, 0, "VDI", err);
	int64_t size = arg_int(c, 1);

	if (!vdi)
		return NULL;
	if (size < db_int(vdi, "virtual_size")) {
		*err = err_new("VDI_TOO_SMALL", vdi->ref, arg_str(c, 1), NULL);
		return NULL;
	}
	if (vdi_attached(vdi)) {
		*err = err_new("VDI_IN_USE", vdi->ref, "resize", NULL);
		return NULL;
	}
	db_set_int(vdi, "virtual_size", size);
	if (db_ref(vdi, "SR"))
		sr_refresh_usage(db_ref(vdi, "SR"));
	return void_ok();
}

static struct obj *vdi_dup(struct obj *vdi, struct obj *sr, bool snapshot)
{
	struct obj *n = db_create_named("VDI");

	db_set_str(n, "name_label", db_str(vdi, "name_label"));
	db_set_str(n, "name_description", db_str(vdi, "name_description"));
	db_set_ref(n, "SR", sr ? sr : db_ref(vdi, "SR"));
	db_set_int(n, "virtual_size", db_int(vdi, "virtual_size"));
	db_set_int(n, "physical_utilisation", db_int(vdi, "physical_utilisation"));
	db_set_str(n, "type", db_str(vdi, "type"));
	db_set_bool(n, "managed", true);
	db_set(n, "allowed_operations", xv_copy(db_field(vdi, "allowed_operations")));
	db_set(n, "sm_config", xv_copy(db_field(vdi, "sm_config")));
	db_set_str(n, "location", db_str(n, "uuid"));
	db_map_put(n, "other_config", "content_of",
		   db_map_get(vdi, "other_config", "content_of") ? db_map_get(vdi, "other_config", "content_of")
								 : db_str(vdi, "uuid"));
	if (snapshot) {
		db_set_bool(n, "is_a_snapshot", true);
		db_set_ref(n, "snapshot_of", vdi);
		db_set_now(n, "snapshot_time");
		cbtlog_snapshot(vdi, n);
	}
	sr_refresh_usage(db_ref(n, "SR"));
	return n;
}

static struct xv *vdi_snapshot(struct call *c, struct xv **err)
{
	struct obj *vdi = arg_obj(c, 0, "VDI", err);

	return vdi ? xv_string(vdi_dup(vdi, NULL, true)->ref) : NULL;
}

static struct xv *vdi_clone(struct call *c, struct xv **err)
{
	struct obj *vdi = arg_obj(c, 0, "VDI", err);

	return vdi ? xv_string(vdi_dup(vdi, NULL, false)->ref) : NULL;
}

static struct xv *vdi_copy(struct call *c, struct xv **err)
{
	struct obj *vdi = arg_obj(c, 0, "VDI", err);
	struct obj *sr = NULL;

	if (!vdi)
		return NULL;
	if (strcmp(arg_str(c, 1), "OpaqueRef:NULL") != 0 && !(sr = arg_obj(c, 1, "SR", err)))
		return NULL;
	return xv_string(vdi_dup(vdi, sr, false)->ref);
}

static struct xv *vdi_forget(struct call *c, struct xv **err)
{
	struct obj *vdi = arg_obj(c, 0, "VDI", err);
	struct obj *sr;

	if (!vdi)
		return NULL;
	sr = db_ref(vdi, "SR");
	db_delete(vdi);
	if (sr)
		sr_refresh_usage(sr);
	return void_ok();
}

/* ---- SR and PBD ------------------------------------------------------------ */

static bool known_sr_type(const char *type)
{
	for (struct obj *sm = db_first("SM"); sm; sm = sm->cnext)
		if (strcmp(db_str(sm, "type"), type) == 0)
			return true;
	return false;
}

/* NFS servers the simulated network knows, and what they export. */
static const struct {
	const char *server;
	const char *exports[4];
} nfs_servers[] = {
	{"192.168.1.5", {"/srv/vms", "/srv/isos", "/srv/backups", NULL}},
	{"nas.lan", {"/volume1/iso", "/volume1/vm", NULL, NULL}},
};

static const char *const *nfs_exports(const char *server)
{
	for (size_t i = 0; i < ARRAY_LEN(nfs_servers); i++)
		if (strcmp(nfs_servers[i].server, server) == 0)
			return nfs_servers[i].exports;
	return NULL;
}

/* mount_failure: what a wrong path gives (NFSSR: 73 NFSMount; ISOSR:
 * 222 ISOMountFailure), as drivers/XE_SR_ERRORCODES.xml numbers them. */
static bool nfs_check(const struct xv *dc, bool need_path, const char *mount_failure, struct xv **err)
{
	const char *server = xv_str(xv_struct_get(dc, "server"));
	const char *path = xv_str(xv_struct_get(dc, "serverpath"));
	const char *location = xv_str(xv_struct_get(dc, "location"));
	const char *const *ex;
	char host[256];

	if (!server && location) {
		/* ISO SRs on NFS say server:/path in location */
		const char *colon = strchr(location, ':');
		snprintf(host, sizeof(host), "%.*s", colon ? (int)(colon - location) : (int)strlen(location), location);
		server = host;
		path = colon ? colon + 1 : NULL;
	}
	if (!server || !*server) {
		*err = err_new("SR_BACKEND_FAILURE_102", "", "The request is missing the server parameter", NULL);
		return false;
	}
	ex = nfs_exports(server);
	if (!ex) {
		*err = err_new("SR_BACKEND_FAILURE_108", "", "Unable to detect an NFS service on this target.", NULL);
		return false;
	}
	if (!need_path)
		return true;
	if (!path) {
		*err = err_new("SR_BACKEND_FAILURE_101", "", "The request is missing the serverpath parameter", NULL);
		return false;
	}
	for (; *ex; ex++)
		if (strcmp(*ex, path) == 0)
			return true;
	if (strcmp(mount_failure, "SR_BACKEND_FAILURE_222") == 0)
		*err = err_new(mount_failure, "", "Could not mount the directory specified in Device Configuration [opterr=mount failed with return code 32]", NULL);
	else
		*err = err_new(mount_failure, "", "NFS mount error [opterr=mount failed with return code 32]", NULL);
	return false;
}

static struct xv *sr_probe(struct call *c, struct xv **err)
{
	struct obj *host = arg_obj(c, 0, "host", err);
	const struct xv *dc = arg(c, 1);
	const char *type = arg_str(c, 2);
	struct buf b;
	const char *server = xv_str(xv_struct_get(dc, "server"));

	if (!host)
		return NULL;
	if (strcmp(type, "nfs") != 0 && strcmp(type, "iso") != 0) {
		*err = err_new("SR_BACKEND_FAILURE_1", "", "SR.probe is not supported for this type", NULL);
		return NULL;
	}
	if (!nfs_check(dc, xv_struct_get(dc, "serverpath") != NULL, "SR_BACKEND_FAILURE_73", err))
		return NULL;
	if (xv_struct_get(dc, "serverpath"))
		return xv_string("<?xml version=\"1.0\" ?>\n<SRlist>\n</SRlist>\n"); /* no SR there yet */
	/* without serverpath NFSSR.probe fails (ConfigServerPathMissing) with the
	 * server's export list, as XML, in the error's third parameter: the
	 * way XO and XenCenter list the exports */
	buf_init(&b);
	buf_puts(&b, "<?xml version=\"1.0\" ?>\n<nfs-exports>\n");
	for (const char *const *e = nfs_exports(server ? server : ""); e && *e; e++)
		buf_printf(&b, "\t<Export>\n\t\t<Target>%s</Target>\n\t\t<Path>%s</Path>\n\t\t<Accesslist>*</Accesslist>\n\t</Export>\n",
			   server, *e);
	buf_puts(&b, "</nfs-exports>\n");
	*err = err_new("SR_BACKEND_FAILURE_101", "", "The request is missing the serverpath parameter", b.data, NULL);
	buf_free(&b);
	return NULL;
}

static struct xv *sr_create(struct call *c, struct xv **err)
{
	struct obj *host = arg_obj(c, 0, "host", err);
	const struct xv *dc = arg(c, 1);
	const char *type = arg_str(c, 5);
	const char *content = arg_str(c, 6);
	bool shared = arg_bool(c, 7);
	struct obj *sr;
	int64_t size = arg_int(c, 2);

	if (!host)
		return NULL;
	if (!known_sr_type(type)) {
		*err = err_new("SR_UNKNOWN_DRIVER", type, NULL);
		return NULL;
	}
	if (strcmp(type, "nfs") == 0 || (strcmp(type, "iso") == 0 && xv_str(xv_struct_get(dc, "location"))
					  && strchr(xv_str(xv_struct_get(dc, "location")), ':'))) {
		if (!nfs_check(dc, true, strcmp(type, "iso") == 0 ? "SR_BACKEND_FAILURE_222" : "SR_BACKEND_FAILURE_73", err))
			return NULL;
		if (!size)
			size = 2048 * GiB;
	} else if (strcmp(type, "iso") == 0) {
		if (!xv_str(xv_struct_get(dc, "location"))) {
			*err = err_new("SR_BACKEND_FAILURE_94", "", "The request is missing the location parameter", NULL);
			return NULL;
		}
		/* legacy_mode: a directory of dom0 (ISOSR checks it exists; here
		 * every absolute path does) */
		if (xv_struct_get(dc, "legacy_mode") && xv_str(xv_struct_get(dc, "location"))[0] != '/') {
			*err = err_new("SR_BACKEND_FAILURE_226", "", "Invalid local path", NULL);
			return NULL;
		}
		if (!size)
			size = 18 * GiB; /* a local path lives on dom0's root partition */
	} else if (strcmp(type, "ext") == 0 || strcmp(type, "lvm") == 0) {
		const char *dev = xv_str(xv_struct_get(dc, "device"));
		if (!dev || strncmp(dev, "/dev/", 5) != 0) {
			*err = err_new("SR_BACKEND_FAILURE_90", "", "The request is missing the device parameter", NULL);
			return NULL;
		}
		if (!size)
			size = 500 * GiB;
	}
	sr = gen_sr(arg_str(c, 3), type, content, shared, size);
	db_set_str(sr, "name_description", arg_str(c, 4));
	db_set(sr, "sm_config", xv_copy(arg(c, 8)));
	if (shared) {
		for (struct obj *h = db_first("host"); h; h = h->cnext)
			gen_pbd(h, sr, xv_copy(dc));
	} else {
		gen_pbd(host, sr, xv_copy(dc));
	}
	return xv_string(sr->ref);
}

static struct xv *sr_forget_or_destroy(struct call *c, bool destroy, struct xv **err)
{
	struct obj *sr = arg_obj(c, 0, "SR", err);
	struct xv *pbds, *vdis;

	if (!sr)
		return NULL;
	pbds = xv_copy(db_field(sr, "PBDs"));
	for (size_t i = 0; i < xv_len(pbds); i++) {
		struct obj *pbd = db_find(xv_str(xv_at(pbds, i)));
		if (pbd && db_bool(pbd, "currently_attached")) {
			*err = err_new("SR_HAS_PBD", sr->ref, NULL);
			xv_free(pbds);
			return NULL;
		}
	}
	vdis = xv_copy(db_field(sr, "VDIs"));
	for (size_t i = 0; destroy && i < xv_len(vdis); i++) {
		struct obj *vdi = db_find(xv_str(xv_at(vdis, i)));
		if (vdi && xv_len(db_field(vdi, "VBDs"))) {
			*err = err_new("SR_NOT_EMPTY", NULL);
			xv_free(pbds);
			xv_free(vdis);
			return NULL;
		}
	}
	for (size_t i = 0; i < xv_len(vdis); i++) {
		struct obj *vdi = db_find(xv_str(xv_at(vdis, i)));
		if (vdi)
			db_delete(vdi);
	}
	for (size_t i = 0; i < xv_len(pbds); i++) {
		struct obj *pbd = db_find(xv_str(xv_at(pbds, i)));
		if (pbd)
			db_delete(pbd);
	}
	xv_free(pbds);
	xv_free(vdis);
	db_delete(sr);
	return void_ok();
}

static struct xv *sr_destroy(struct call *c, struct xv **err)
{
	return sr_forget_or_destroy(c, true, err);
}

static struct xv *sr_forget(struct call *c, struct xv **err)
{
	return sr_forget_or_destroy(c, false, err);
}

static struct xv *sr_scan(struct call *c, struct xv **err)
{
	struct obj *sr = arg_obj(c, 0, "SR", err);

	if (!sr)
		return NULL;
	if (strcmp(db_str(sr, "type"), "iso") == 0) {
		/* ISOVDI.load: an image's size and use are its file's size */
		const struct xv *vdis = db_field(sr, "VDIs");
		for (size_t i = 0; i < xv_len(vdis); i++) {
			struct obj *v = db_find(xv_str(xv_at(vdis, i)));
			if (v && db_int(v, "physical_utilisation") != db_int(v, "virtual_size"))
				db_set_int(v, "physical_utilisation", db_int(v, "virtual_size"));
		}
	}
	sr_refresh_usage(sr);
	return void_ok();
}

static struct xv *pbd_plug(struct call *c, bool plug, struct xv **err)
{
	struct obj *pbd = arg_obj(c, 0, "PBD", err);

	if (!pbd)
		return NULL;
	if (!plug) {
		const struct xv *vdis = db_field(db_ref(pbd, "SR"), "VDIs");
		for (size_t i = 0; i < xv_len(vdis); i++) {
			struct obj *vdi = db_find(xv_str(xv_at(vdis, i)));
			if (vdi && vdi_attached(vdi)) {
				*err = err_new("VDI_IN_USE", vdi->ref, "pbd_unplug", NULL);
				return NULL;
			}
		}
	}
	db_set_bool(pbd, "currently_attached", plug);
	return void_ok();
}

static struct xv *pbd_plug_(struct call *c, struct xv **err)
{
	return pbd_plug(c, true, err);
}

static struct xv *pbd_unplug(struct call *c, struct xv **err)
{
	return pbd_plug(c, false, err);
}

static struct xv *sr_set_name_label(struct call *c, struct xv **err)
{
	struct obj *sr = arg_obj(c, 0, "SR", err);

	if (!sr)
		return NULL;
	db_set_str(sr, "name_label", arg_str(c, 1));
	return void_ok();
}

static struct xv *vdi_set_name_label(struct call *c, struct xv **err)
{
	struct obj *vdi = arg_obj(c, 0, "VDI", err);

	if (!vdi)
		return NULL;
	db_set_str(vdi, "name_label", arg_str(c, 1));
	return void_ok();
}

const struct handler calls_storage[] = {
	{"VBD.create", vbd_create, 300, 0},
	{"VBD.destroy", vbd_destroy, 300, 0},
	{"VBD.insert", vbd_insert, 500, 0},
	{"VBD.eject", vbd_eject, 500, 0},
	{"VBD.plug", vbd_plug, 500, 0},
	{"VBD.unplug", vbd_unplug, 500, 0},
	{"VIF.create", vif_create, 300, 0},
	{"VIF.destroy", vif_destroy, 300, 0},
	{"VIF.plug", vif_plug, 500, 0},
	{"VIF.unplug", vif_unplug, 500, 0},
	{"VDI.create", vdi_create, 500, 0},
	{"VDI.destroy", vdi_destroy, 500, 0},
	{"VDI.resize", vdi_resize, 800, 0},
	{"VDI.snapshot", vdi_snapshot, 800, 0},
	{"VDI.clone", vdi_clone, 800, 0},
	{"VDI.copy", vdi_copy, 2000, 0},
	{"VDI.forget", vdi_forget, 300, 0},
	{"VDI.set_name_label", vdi_set_name_label, 0, 0},
	{"VDI.enable_cbt", cbt_enable, 300, 0},
	{"VDI.disable_cbt", cbt_disable, 300, 0},
	{"VDI.list_changed_blocks", cbt_list_changed_blocks, 300, 0},
	{"VDI.data_destroy", cbt_data_destroy, 500, 0},
	{"VDI.get_nbd_info", cbt_get_nbd_info, 0, 0},
	{"SR.probe", sr_probe, 1000, 0},
	{"SR.create", sr_create, 2000, 0},
	{"SR.destroy", sr_destroy, 1500, 0},
	{"SR.forget", sr_forget, 800, 0},
	{"SR.scan", sr_scan, 1000, 0},
	{"SR.set_name_label", sr_set_name_label, 0, 0},
	{"PBD.plug", pbd_plug_, 1000, 0},
	{"PBD.unplug", pbd_unplug, 1000, 0},
	{NULL, NULL, 0, 0},
};
