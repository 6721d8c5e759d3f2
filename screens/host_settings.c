/* A host's settings, xsconsole's menu over XenAPI for any host of the
 * pool: hostname, management interface (NIC, DHCP or static IPv4, IPv6),
 * DNS servers, NTP, timezone, SSH, remote syslog, and read-only NIC and
 * hardware summaries. Enter edits the selected line in a form; xapi
 * checks what it is given and its refusals come back as sentences. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "dialog.h"
#include "draw.h"
#include "form.h"
#include "keys.h"
#include "model.h"
#include "screens.h"
#include "table.h"
#include "util.h"

static const struct table_col cols[] = {
	{"SETTING", 20, 0, false, false, 0},
	{"VALUE", 20, 1, false, false, 0},
};

struct settings_screen {
	char *qref;
	struct table *t;
};

struct sel {
	struct pool *p;
	const char *ref;
	const struct xv *h;
	const char *pif_ref;
	const struct xv *pif; /* the management PIF, or NULL */
};

static bool pif_is_mgmt(const struct cache *c, const struct xv *h, const char **ref, const struct xv **pif)
{
	const struct xv *pifs = rec_field(h, "PIFs");

	for (size_t i = 0; i < xv_len(pifs); i++) {
		const struct xv *p = cache_get(c, xv_str(xv_at(pifs, i)));
		if (p && rec_bool(p, "management")) {
			*ref = xv_str(xv_at(pifs, i));
			*pif = p;
			return true;
		}
	}
	return false;
}

static bool lookup(struct app *app, const char *qref, struct sel *s)
{
	memset(s, 0, sizeof(*s));
	s->h = qref ? app_lookup(app, qref, &s->p, &s->ref) : NULL;
	if (s->h)
		pif_is_mgmt(s->p->cache, s->h, &s->pif_ref, &s->pif);
	return s->h != NULL;
}

static void *settings_enter(struct app *app, const void *arg)
{
	struct settings_screen *s = xcalloc(1, sizeof(*s));

	s->qref = xstrdup(arg);
	s->t = table_new(cols, 2);
	table_set_noun(s->t, "setting", "settings");
	return s;
}

static void settings_leave(struct app *app, void *st)
{
	struct settings_screen *s = st;

	table_free(s->t);
	free(s->qref);
	free(s);
}

/* ---- values: one function per setting, what the VALUE column shows ---------- */

static void value_hostname(const struct sel *s, char *buf, size_t n)
{
	snprintf(buf, n, "%s", rec_str(s->h, "hostname"));
}

static void value_mgmt(const struct sel *s, char *buf, size_t n)
{
	const struct xv *pif = s->pif;

	if (!pif)
		snprintf(buf, n, "none");
	else
		snprintf(buf, n, "%s, %s %s/%s gw %s", rec_str(pif, "device"), rec_str(pif, "ip_configuration_mode"),
			 rec_str(pif, "IP"), rec_str(pif, "netmask"), rec_str(pif, "gateway"));
}

static void value_ipv6(const struct sel *s, char *buf, size_t n)
{
	char addrs[256];

	strings_text(rec_field(s->pif, "IPv6"), addrs, sizeof(addrs));
	snprintf(buf, n, "%s %s", s->pif ? rec_str(s->pif, "ipv6_configuration_mode") : "", addrs);
}

static void value_dns(const struct sel *s, char *buf, size_t n)
{
	snprintf(buf, n, "%s", s->pif ? rec_str(s->pif, "DNS") : "");
}

static void value_ntp(const struct sel *s, char *buf, size_t n)
{
	char servers[256];

	strings_text(rec_field(s->h, "ntp_custom_servers"), servers, sizeof(servers));
	snprintf(buf, n, "%s%s%s", rec_str(s->h, "ntp_mode"), *servers ? ": " : "", servers);
}

static void value_tz(const struct sel *s, char *buf, size_t n)
{
	snprintf(buf, n, "%s", rec_str(s->h, "timezone"));
}

static void value_ssh(const struct sel *s, char *buf, size_t n)
{
	snprintf(buf, n, "%s", rec_bool(s->h, "ssh_enabled") ? "enabled" : "disabled");
}

static void value_syslog(const struct sel *s, char *buf, size_t n)
{
	const char *d = rec_map(s->h, "logging", "syslog_destination");

	snprintf(buf, n, "%s", d && *d ? d : "off (logs stay on the host)");
}

static void value_nics(const struct sel *s, char *buf, size_t n)
{
	snprintf(buf, n, "%zu (Enter lists them)", xv_len(rec_field(s->h, "PIFs")));
}

static const char *bios(const struct xv *h, const char *key)
{
	const char *v = rec_map(h, "bios_strings", key);

	return v ? v : "";
}

static void value_hw(const struct sel *s, char *buf, size_t n)
{
	snprintf(buf, n, "%s %s, %zu CPUs, %zu PCI devices", bios(s->h, "system-manufacturer"),
		 bios(s->h, "system-product-name"), xv_len(rec_field(s->h, "host_CPUs")),
		 xv_len(rec_field(s->h, "PCIs")));
}

/* ---- checks ------------------------------------------------------------------ */

static bool ip4(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1;
}

static bool ip6(const char *s)
{
	struct in6_addr a;

	return inet_pton(AF_INET6, s, &a) == 1;
}

static const char *check_ip4(const struct form *f, int field, const char *text, void *ud)
{
	return !*text || ip4(text) ? NULL : "not an IPv4 address";
}

static const char *check_dns(const struct form *f, int field, const char *text, void *ud)
{
	char buf[512], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", text);
	for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
		if (!ip4(t) && !ip6(t))
			return "addresses, separated by commas";
	return NULL;
}

static const char *check_cidr6(const struct form *f, int field, const char *text, void *ud)
{
	char buf[128];
	char *slash;

	if (!*text)
		return NULL;
	snprintf(buf, sizeof(buf), "%s", text);
	slash = strchr(buf, '/');
	if (!slash)
		return "address/prefix, e.g. fd00::5/64";
	*slash = '\0';
	return ip6(buf) && atoi(slash + 1) > 0 && atoi(slash + 1) <= 128 ? NULL : "address/prefix, e.g. fd00::5/64";
}

/* "a, b c" -> "a,b,c" as xapi's DNS field wants. */
static char *dns_list(const char *text)
{
	char *out = xcalloc(1, strlen(text) + 1), *buf = xstrdup(text), *save = NULL;

	for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
		if (*out)
			strcat(out, ",");
		strcat(out, t);
	}
	free(buf);
	return out;
}

/* ---- edits ------------------------------------------------------------------- */

/* "Set the DNS servers of 'xcp-ng-03'": what a setting's messages and its
 * row in :tasks say. */
static char *label_of(const struct sel *s, const char *what)
{
	return xasprintf("%s of '%s'", what, rec_str(s->h, "name_label"));
}

/* A NIC's name for a person: its device (PIFs have no name_label). */
static const char *pif_name(const struct sel *s, const char *pif)
{
	const struct xv *rec = cache_get(s->p->cache, pif);

	return rec && *rec_str(rec, "device") ? rec_str(rec, "device") : "the interface";
}

/* what: the operation as the messages name it ("Set the DNS servers"). */
static void reconfigure_ip(struct app *app, struct sel *s, const char *what, const char *pif, const char *mode,
			   const char *ip, const char *mask, const char *gw, const char *dns)
{
	struct xv *p = xv_params_ref(pif);
	char *label = label_of(s, what);

	xv_array_push(p, xv_string(mode));
	xv_array_push(p, xv_string(ip));
	xv_array_push(p, xv_string(mask));
	xv_array_push(p, xv_string(gw));
	xv_array_push(p, xv_string(dns));
	app_op(app, s->p, label, "PIF.reconfigure_ip", p);
	free(label);
}

/* A one-field form's answer: method(host, text) as a plain call. */
static void set_text(struct app *app, const struct dialog_result *r, const char *qref, const char *what,
		     const char *method)
{
	struct sel s;
	struct xv *p;
	char *label;

	if (!r->ok || !lookup(app, qref, &s))
		return;
	p = xv_params_ref(s.ref);
	xv_array_push(p, xv_string(form_get_text(r->form, 0)));
	label = label_of(&s, what);
	app_call(app, s.p, label, method, p);
	free(label);
}

static void on_hostname(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	set_text(app, r, qref, "Set the hostname", "host.set_hostname_live");
}

static const char *const ip_modes[] = {"DHCP", "Static"};

struct mgmt_edit {
	char *pif;
};

static void free_mgmt_edit(void *ud)
{
	struct mgmt_edit *m = ud;

	free(m->pif);
	free(m);
}

static void on_mgmt_form(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct mgmt_edit *m = ud;
	struct sel s;
	char *dns;
	bool stat;

	if (!r->ok || !lookup(app, qref, &s))
		return;
	stat = form_get_choice(r->form, 0) == 1;
	if (stat && (!ip4(form_get_text(r->form, 1)) || !ip4(form_get_text(r->form, 2)))) {
		app_message(app, MSG_ERROR, "A static address needs an IP address and a netmask");
		return;
	}
	dns = dns_list(form_get_text(r->form, 4));
	{
		char *what = xasprintf("Configure the management interface (%s)", pif_name(&s, m->pif));
		reconfigure_ip(app, &s, what, m->pif, ip_modes[stat], stat ? form_get_text(r->form, 1) : "",
			       stat ? form_get_text(r->form, 2) : "", stat ? form_get_text(r->form, 3) : "", dns);
		free(what);
	}
	free(dns);
	if (!s.pif_ref || strcmp(s.pif_ref, m->pif) != 0) {
		char *label = xasprintf("Move management of '%s' to %s", rec_str(s.h, "name_label"),
					pif_name(&s, m->pif));
		app_op(app, s.p, label, "host.management_reconfigure", xv_params_ref(m->pif));
		free(label);
	}
}

static void mgmt_form(struct app *app, const char *qref, const char *pif_ref)
{
	struct sel s;
	const struct xv *pif;
	struct form *f;
	struct dialog *d;
	struct mgmt_edit *m;
	int i;

	if (!lookup(app, qref, &s) || !(pif = cache_get(s.p->cache, pif_ref)))
		return;
	f = form_new();
	form_choice(f, "Mode", ip_modes, 2, strcmp(rec_str(pif, "ip_configuration_mode"), "DHCP") == 0 ? 0 : 1);
	i = form_text(f, "IP address", rec_str(pif, "IP"), false);
	form_set_check(f, i, check_ip4, NULL);
	i = form_text(f, "Netmask", rec_str(pif, "netmask"), false);
	form_set_check(f, i, check_ip4, NULL);
	i = form_text(f, "Gateway", rec_str(pif, "gateway"), false);
	form_set_check(f, i, check_ip4, NULL);
	i = form_text(f, "DNS servers", rec_str(pif, "DNS"), false);
	form_set_check(f, i, check_dns, NULL);
	form_set_hint(f, i, "comma-separated");
	d = dialog_form("Management interface",
			"The host's address for the pool and for xentui. A wrong value cuts the host off: check it twice.", f);
	m = xcalloc(1, sizeof(*m));
	m->pif = xstrdup(pif_ref);
	dialog_on_done(d, on_mgmt_form, qref, m);
	dialog_own_ud(d, free_mgmt_edit);
	app_open_dialog(app, d);
}

static void on_pif_choice(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	if (r->ok)
		mgmt_form(app, qref, r->choice_key);
}

static void edit_mgmt(struct app *app, const char *qref, struct sel *s)
{
	const struct xv *pifs = rec_field(s->h, "PIFs");
	struct dialog *d = dialog_choose("Management interface", "Which NIC carries the host's management traffic?");

	for (size_t i = 0; i < xv_len(pifs); i++) {
		const char *ref = xv_str(xv_at(pifs, i));
		const struct xv *pif = cache_get(s->p->cache, ref);
		char detail[160];
		if (!pif)
			continue;
		snprintf(detail, sizeof(detail), "%s %s%s", rec_str(pif, "MAC"), rec_str(pif, "IP"),
			 rec_bool(pif, "management") ? " (now)" : "");
		dialog_add_choice(d, ref, rec_str(pif, "device"), detail);
	}
	dialog_on_done(d, on_pif_choice, qref, NULL);
	app_open_dialog(app, d);
}

static const char *const ip6_modes[] = {"None", "DHCP", "Autoconf", "Static"};

static void on_ipv6(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct sel s;
	struct xv *p;
	int mode;
	char *dns;

	if (!r->ok || !lookup(app, qref, &s) || !s.pif_ref)
		return;
	mode = form_get_choice(r->form, 0);
	if (mode == 3 && !*form_get_text(r->form, 1)) {
		app_message(app, MSG_ERROR, "A static IPv6 configuration needs an address/prefix");
		return;
	}
	dns = dns_list(form_get_text(r->form, 3));
	p = xv_params_ref(s.pif_ref);
	xv_array_push(p, xv_string(ip6_modes[mode]));
	xv_array_push(p, xv_string(mode == 3 ? form_get_text(r->form, 1) : ""));
	xv_array_push(p, xv_string(mode == 3 ? form_get_text(r->form, 2) : ""));
	xv_array_push(p, xv_string_take(dns));
	{
		char *label = label_of(&s, "Configure IPv6");
		app_op(app, s.p, label, "PIF.reconfigure_ipv6", p);
		free(label);
	}
}

static void edit_ipv6(struct app *app, const char *qref, struct sel *s)
{
	struct form *f = form_new();
	struct dialog *d;
	const char *mode = rec_str(s->pif, "ipv6_configuration_mode");
	int sel = 0, i;

	for (int k = 0; k < 4; k++)
		if (strcmp(mode, ip6_modes[k]) == 0)
			sel = k;
	form_choice(f, "Mode", ip6_modes, 4, sel);
	i = form_text(f, "Address/prefix", xv_len(rec_field(s->pif, "IPv6")) ? xv_str(xv_at(rec_field(s->pif, "IPv6"), 0)) : "",
		      false);
	form_set_check(f, i, check_cidr6, NULL);
	form_text(f, "Gateway", "", false);
	i = form_text(f, "DNS servers", "", false);
	form_set_check(f, i, check_dns, NULL);
	d = dialog_form("IPv6 of the management interface", "Static needs an address with its prefix length.", f);
	dialog_on_done(d, on_ipv6, qref, NULL);
	app_open_dialog(app, d);
}

static void on_dns(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct sel s;
	char *dns;

	if (!r->ok || !lookup(app, qref, &s) || !s.pif)
		return;
	dns = dns_list(form_get_text(r->form, 0));
	reconfigure_ip(app, &s, "Set the DNS servers", s.pif_ref, rec_str(s.pif, "ip_configuration_mode"),
		       rec_str(s.pif, "IP"), rec_str(s.pif, "netmask"), rec_str(s.pif, "gateway"), dns);
	free(dns);
}

static const char *const ntp_modes[] = {"DHCP", "Custom", "Factory", "Disabled"};

struct ntp_edit {
	char *qref;
	int mode;
};

static void free_ntp_edit(struct ntp_edit *n)
{
	free(n->qref);
	free(n);
}

static void on_ntp_servers_set(struct app *app, struct pool *pool, bool ok, void *ud)
{
	struct ntp_edit *n = ud;
	struct sel s;

	if (ok && lookup(app, n->qref, &s)) {
		struct xv *p = xv_params_ref(s.ref);
		char *label = label_of(&s, "Set the NTP mode");
		xv_array_push(p, xv_string(ntp_modes[n->mode]));
		app_call(app, s.p, label, "host.set_ntp_mode", p);
		free(label);
	}
	free_ntp_edit(n);
}

static void on_ntp(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct sel s;
	struct xv *p, *set;
	struct ntp_edit *n;
	char *buf, *save = NULL;

	if (!r->ok || !lookup(app, qref, &s))
		return;
	n = xcalloc(1, sizeof(*n));
	n->qref = xstrdup(qref);
	n->mode = form_get_choice(r->form, 0);
	set = xv_array();
	buf = xstrdup(form_get_text(r->form, 1));
	for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
		xv_array_push(set, xv_string(t));
	free(buf);
	if (n->mode == 1 && !xv_len(set)) {
		app_message(app, MSG_ERROR, "Custom NTP needs at least one server");
		xv_free(set);
		free_ntp_edit(n);
		return;
	}
	/* the servers first: xapi refuses Custom without them */
	p = xv_params_ref(s.ref);
	xv_array_push(p, set);
	{
		char *label = label_of(&s, "Set the NTP servers");
		app_call_then(app, s.p, label, "host.set_ntp_custom_servers", p, on_ntp_servers_set, n);
		free(label);
	}
}

static void on_tz(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	set_text(app, r, qref, "Set the timezone", "host.set_timezone");
}

static void on_ssh(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct sel s;
	bool on;
	char *label;

	if (!r->ok || !lookup(app, qref, &s))
		return;
	on = !rec_bool(s.h, "ssh_enabled");
	label = xasprintf("%s SSH on '%s'", on ? "Enable" : "Disable", rec_str(s.h, "name_label"));
	app_op(app, s.p, label, on ? "host.enable_ssh" : "host.disable_ssh", xv_params_ref(s.ref));
	free(label);
}

static void on_syslog_set(struct app *app, struct pool *pool, bool ok, void *ud)
{
	char *qref = ud;
	struct sel s;

	/* xapi writes syslog's configuration only when asked */
	if (ok && lookup(app, qref, &s)) {
		char *label = label_of(&s, "Apply the syslog setting");
		app_op(app, s.p, label, "host.syslog_reconfigure", xv_params_ref(s.ref));
		free(label);
	}
	free(qref);
}

static void on_syslog(struct app *app, const struct dialog_result *r, const char *qref, void *ud)
{
	struct sel s;
	struct xv *p, *m;
	const struct xv *old;

	if (!r->ok || !lookup(app, qref, &s))
		return;
	old = rec_field(s.h, "logging");
	m = old ? xv_copy(old) : xv_struct();
	if (*form_get_text(r->form, 0))
		xv_struct_set(m, "syslog_destination", xv_string(form_get_text(r->form, 0)));
	else
		xv_struct_del(m, "syslog_destination");
	p = xv_params_ref(s.ref);
	xv_array_push(p, m);
	{
		char *label = label_of(&s, "Set the syslog destination");
		app_call_then(app, s.p, label, "host.set_logging", p, on_syslog_set, xstrdup(qref));
		free(label);
	}
}

static void show_nics(struct app *app, struct sel *s)
{
	const struct xv *pifs = rec_field(s->h, "PIFs");
	struct buf b;

	buf_init(&b);
	for (size_t i = 0; i < xv_len(pifs); i++) {
		const struct xv *pif = cache_get(s->p->cache, xv_str(xv_at(pifs, i)));
		const struct xv *m = pif ? cache_get(s->p->cache, rec_str(pif, "metrics")) : NULL;
		char line[400];
		if (!pif)
			continue;
		snprintf(line, sizeof(line), "%s%s %s %s, %s, %lld Mb/s, link %s%s", b.len ? "\n" : "",
			 rec_str(pif, "device"), rec_str(pif, "MAC"), rec_str(m, "vendor_name"), rec_str(m, "device_name"),
			 rec_int(m, "speed"), rec_bool(m, "carrier") ? "up" : "down",
			 rec_bool(pif, "management") ? ", management" : "");
		buf_puts(&b, line);
	}
	buf_putc(&b, '\0');
	app_open_dialog(app, dialog_message("Network interfaces", b.data));
	buf_free(&b);
}

static bool count_pci(const char *ref, const struct xv *pci, void *ud)
{
	void **a = ud;

	if (strcmp(rec_str(pci, "host"), a[0]) == 0) {
		struct buf *b = a[1];
		buf_puts(b, "\n  ");
		buf_puts(b, rec_str(pci, "pci_id"));
		buf_puts(b, " ");
		buf_puts(b, rec_str(pci, "class_name"));
		buf_puts(b, ": ");
		buf_puts(b, rec_str(pci, "device_name"));
	}
	return true;
}

static void show_hardware(struct app *app, struct sel *s)
{
	const struct xv *h = s->h;
	struct buf b;
	char line[512];
	void *a[2];

	buf_init(&b);
	snprintf(line, sizeof(line), "CPUs: %s x %s at %s MHz (%s socket%s)\nBIOS: %s %s; system %s %s, serial %s\nPCI devices:",
		 rec_map(h, "cpu_info", "cpu_count") ? rec_map(h, "cpu_info", "cpu_count") : "?",
		 rec_map(h, "cpu_info", "modelname") ? rec_map(h, "cpu_info", "modelname") : "?",
		 rec_map(h, "cpu_info", "speed") ? rec_map(h, "cpu_info", "speed") : "?",
		 rec_map(h, "cpu_info", "socket_count") ? rec_map(h, "cpu_info", "socket_count") : "?",
		 rec_map(h, "cpu_info", "socket_count") && strcmp(rec_map(h, "cpu_info", "socket_count"), "1") ? "s" : "",
		 bios(h, "bios-vendor"), bios(h, "bios-version"), bios(h, "system-manufacturer"),
		 bios(h, "system-product-name"), bios(h, "system-serial-number"));
	buf_puts(&b, line);
	a[0] = (void *)s->ref;
	a[1] = &b;
	cache_each(s->p->cache, "PCI", count_pci, a);
	buf_putc(&b, '\0');
	app_open_dialog(app, dialog_message("Hardware", b.data));
	buf_free(&b);
}

static struct dialog *one_text(const char *title, const char *text, const char *label, const char *value,
			       bool required, form_check_fn check)
{
	struct form *f = form_new();
	int i = form_text(f, label, value, required);

	if (check)
		form_set_check(f, i, check, NULL);
	return dialog_form(title, text, f);
}

/* ---- edits: one function per setting, opening its form (or showing a list) - */

static void edit_hostname(struct app *app, const char *qref, struct sel *s)
{
	struct dialog *d = one_text("Hostname", "The host's own name (letters, digits, '-' and '.'), set live.",
				    "Hostname", rec_str(s->h, "hostname"), true, NULL);

	dialog_on_done(d, on_hostname, qref, NULL);
	app_open_dialog(app, d);
}

static void edit_dns(struct app *app, const char *qref, struct sel *s)
{
	struct dialog *d;

	if (strcmp(rec_str(s->pif, "ip_configuration_mode"), "Static") != 0) {
		app_message(app, MSG_INFO, "The management interface uses DHCP: its DNS servers come from DHCP");
		return;
	}
	d = one_text("DNS servers", "The servers the host asks, comma-separated.", "DNS servers",
		     rec_str(s->pif, "DNS"), true, check_dns);
	dialog_on_done(d, on_dns, qref, NULL);
	app_open_dialog(app, d);
}

static void edit_ntp(struct app *app, const char *qref, struct sel *s)
{
	struct form *f = form_new();
	struct dialog *d;
	const char *mode = rec_str(s->h, "ntp_mode");
	char servers[256];
	int sel = 0;

	for (int k = 0; k < 4; k++)
		if (strcmp(mode, ntp_modes[k]) == 0)
			sel = k;
	strings_text(rec_field(s->h, "ntp_custom_servers"), servers, sizeof(servers));
	form_choice(f, "Mode", ntp_modes, 4, sel);
	form_text(f, "Custom servers", servers, false);
	d = dialog_form("NTP", "Where the host takes its time from. Custom uses the servers listed.", f);
	dialog_on_done(d, on_ntp, qref, NULL);
	app_open_dialog(app, d);
}

static void edit_tz(struct app *app, const char *qref, struct sel *s)
{
	struct dialog *d = one_text("Timezone", "An IANA name, e.g. Europe/Paris or UTC.", "Timezone",
				    rec_str(s->h, "timezone"), true, NULL);

	dialog_on_done(d, on_tz, qref, NULL);
	app_open_dialog(app, d);
}

static void edit_ssh(struct app *app, const char *qref, struct sel *s)
{
	bool on = rec_bool(s->h, "ssh_enabled");
	struct dialog *d = dialog_confirm("SSH", on ? "Disable SSH on this host? Open sessions stay, new ones are refused."
						    : "Enable SSH on this host?",
					  on ? "Disable" : "Enable", "Cancel", false);

	dialog_on_done(d, on_ssh, qref, NULL);
	app_open_dialog(app, d);
}

static void edit_syslog(struct app *app, const char *qref, struct sel *s)
{
	const char *dest = rec_map(s->h, "logging", "syslog_destination");
	struct dialog *d = one_text("Remote syslog", "Send the host's logs to this server too (empty: keep them local).",
				    "Destination", dest ? dest : "", false, NULL);

	dialog_on_done(d, on_syslog, qref, NULL);
	app_open_dialog(app, d);
}

static void edit_nics(struct app *app, const char *qref, struct sel *s)
{
	show_nics(app, s);
}

static void edit_hw(struct app *app, const char *qref, struct sel *s)
{
	show_hardware(app, s);
}

/* Every setting, once: its row's key and name, what it shows, how Enter changes it. */
static const struct setting {
	const char *key, *name;
	void (*value)(const struct sel *s, char *buf, size_t n);
	void (*edit)(struct app *app, const char *qref, struct sel *s);
	bool needs_mgmt; /* a setting of the management interface */
} settings[] = {
	{"hostname", "Hostname", value_hostname, edit_hostname, false},
	{"mgmt", "Management interface", value_mgmt, edit_mgmt, false},
	{"ipv6", "IPv6", value_ipv6, edit_ipv6, true},
	{"dns", "DNS servers", value_dns, edit_dns, true},
	{"ntp", "NTP", value_ntp, edit_ntp, false},
	{"tz", "Timezone", value_tz, edit_tz, false},
	{"ssh", "SSH", value_ssh, edit_ssh, false},
	{"syslog", "Remote syslog", value_syslog, edit_syslog, false},
	{"nics", "Network interfaces", value_nics, edit_nics, false},
	{"hw", "Hardware", value_hw, edit_hw, false},
};

#define NSETTINGS (ARRAY_LEN(settings))

static void settings_draw(struct app *app, void *st, WINDOW *w, int h, int cols_)
{
	struct settings_screen *s = st;
	struct sel sel;

	if (!lookup(app, s->qref, &sel)) {
		ui_put(w, 1, 2, cols_ - 4, theme_attr(ROLE_WARN), "This host is not known now (Esc goes back).");
		return;
	}
	table_clear(s->t);
	for (size_t i = 0; i < NSETTINGS; i++) {
		char value[512];
		settings[i].value(&sel, value, sizeof(value));
		{
			struct table_cell cells[] = {{settings[i].name, (double)i, -1}, {value, 0, -1}};
			table_put(s->t, settings[i].key, cells, ROLE_NORMAL, NULL);
		}
	}
	table_draw(s->t, w, 0, 0, h, cols_, !app_has_dialog(app));
}

static void act_edit(struct app *app, void *st)
{
	struct settings_screen *ss = st;
	const char *key = table_selected(ss->t);
	struct sel s;

	if (!key || !lookup(app, ss->qref, &s))
		return;
	for (size_t i = 0; i < NSETTINGS; i++) {
		if (strcmp(settings[i].key, key) != 0)
			continue;
		if (settings[i].needs_mgmt && !s.pif)
			app_message(app, MSG_ERROR, "This host has no management interface");
		else
			settings[i].edit(app, ss->qref, &s);
	}
}

static struct table *settings_list(struct app *app, void *st)
{
	return ((struct settings_screen *)st)->t;
}

static void settings_describe(struct app *app, void *st, char *buf, size_t n)
{
	struct settings_screen *s = st;
	struct sel sel;

	snprintf(buf, n, "Settings of %s", lookup(app, s->qref, &sel) ? rec_str(sel.h, "name_label") : "(gone)");
}

static const struct screen_key keys[] = {
	{XK_ENTER, "Change", "Change the selected setting (or show the list)", act_edit, NULL, true},
	{0, NULL, NULL, NULL, NULL, false},
};

const struct screen screen_host_settings = {
	.name = "host-settings",
	.title = "Host settings",
	.keys = keys,
	.enter = settings_enter,
	.leave = settings_leave,
	.draw = settings_draw,
	.list = settings_list,
	.describe = settings_describe,
};
