/* xsconsole's settings, as xapi takes them over XenAPI: hostname, SSH,
 * remote syslog, NTP, timezone, the management interface and its IPv4 /
 * IPv6 configuration. Each changes the fields xapi changes and refuses
 * bad input with xapi's error. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <strings.h>
#include <stdio.h>
#include <string.h>

#include "host_extra.h"
#include "sim.h"
#include "util.h"

static struct xv *void_ok(void)
{
	return xv_string("");
}

static bool host_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
	       ch == '.';
}

/* xapi: letters, digits, '-' and '.', not starting or ending with '-' or '.' */
struct xv *host_set_hostname_live(struct call *c, struct xv **err)
{
	struct obj *h = arg_obj(c, 0, "host", err);
	const char *name = arg_str(c, 1);
	size_t n = strlen(name);

	if (!h)
		return NULL;
	if (n == 0 || n > 63) {
		*err = err_new("HOST_NAME_INVALID", n ? "hostname is too long" : "hostname is empty", NULL);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (!host_char(name[i])) {
			*err = err_new("HOST_NAME_INVALID", "hostname contains invalid characters", NULL);
			return NULL;
		}
	if (name[0] == '-' || name[0] == '.' || name[n - 1] == '-' || name[n - 1] == '.') {
		*err = err_new("HOST_NAME_INVALID", "hostname cannot start or end with '-' or '.'", NULL);
		return NULL;
	}
	db_set_str(h, "hostname", name);
	return void_ok();
}

static struct xv *set_ssh(struct call *c, bool on, struct xv **err)
{
	struct obj *h = arg_obj(c, 0, "host", err);

	if (!h)
		return NULL;
	db_set_bool(h, "ssh_enabled", on);
	if (!on)
		db_set_int(h, "ssh_enabled_timeout", 0);
	return void_ok();
}

struct xv *host_enable_ssh(struct call *c, struct xv **err)
{
	return set_ssh(c, true, err);
}

struct xv *host_disable_ssh(struct call *c, struct xv **err)
{
	return set_ssh(c, false, err);
}

/* Rewrites syslog's configuration from logging:syslog_destination; the
 * record does not change. */
struct xv *host_syslog_reconfigure(struct call *c, struct xv **err)
{
	struct obj *h = arg_obj(c, 0, "host", err);

	return h ? void_ok() : NULL;
}

struct xv *host_set_ntp_mode(struct call *c, struct xv **err)
{
	struct obj *h = arg_obj(c, 0, "host", err);
	const char *mode = arg_str(c, 1);

	if (!h)
		return NULL;
	if (strcasecmp(mode, "Custom") == 0 && xv_len(db_field(h, "ntp_custom_servers")) == 0) {
		*err = err_new("INVALID_NTP_CONFIG", "Can't set ntp_mode to Custom when ntp_custom_servers is empty", NULL);
		return NULL;
	}
	{
		static const char *const modes[] = {"DHCP", "Custom", "Factory", "Disabled"};
		for (size_t i = 0; i < ARRAY_LEN(modes); i++)
			if (strcasecmp(mode, modes[i]) == 0)
				db_set_str(h, "ntp_mode", modes[i]);
	}
	return void_ok();
}

struct xv *host_set_ntp_custom_servers(struct call *c, struct xv **err)
{
	struct obj *h = arg_obj(c, 0, "host", err);
	const struct xv *servers = arg(c, 1);

	if (!h)
		return NULL;
	if (xv_len(servers) == 0 && strcmp(db_str(h, "ntp_mode"), "Custom") == 0) {
		*err = err_new("INVALID_NTP_CONFIG", "Can't set ntp_custom_servers empty when ntp_mode is Custom", NULL);
		return NULL;
	}
	for (size_t i = 0; i < xv_len(servers); i++) {
		const char *s = xv_str(xv_at(servers, i));
		if (!s || !*s || strchr(s, ' ')) {
			*err = err_new("INVALID_NTP_CONFIG", "invalid NTP server name", NULL);
			return NULL;
		}
	}
	db_set(h, "ntp_custom_servers", xv_copy(servers));
	return void_ok();
}

/* The servers chrony uses in the current mode, each with its state. */
struct xv *host_get_ntp_servers_status(struct call *c, struct xv **err)
{
	struct obj *h = arg_obj(c, 0, "host", err);
	struct xv *m;
	const char *mode;

	if (!h)
		return NULL;
	m = xv_struct();
	mode = db_str(h, "ntp_mode");
	if (strcmp(mode, "Custom") == 0) {
		const struct xv *s = db_field(h, "ntp_custom_servers");
		for (size_t i = 0; i < xv_len(s); i++)
			xv_struct_set(m, xv_str(xv_at(s, i)), xv_string(i == 0 ? "synchronised" : "combined"));
	} else if (strcmp(mode, "Factory") == 0) {
		xv_struct_set(m, "0.xcp-ng.pool.ntp.org", xv_string("synchronised"));
		xv_struct_set(m, "1.xcp-ng.pool.ntp.org", xv_string("combined"));
	} else if (strcmp(mode, "DHCP") == 0) {
		xv_struct_set(m, "192.168.1.1", xv_string("synchronised"));
	}
	return m;
}

struct xv *host_get_ntp_synchronized(struct call *c, struct xv **err)
{
	struct obj *h = arg_obj(c, 0, "host", err);

	return h ? xv_bool(strcmp(db_str(h, "ntp_mode"), "Disabled") != 0) : NULL;
}

static const char *const zones[] = {
	"UTC", "Africa/Johannesburg", "America/Chicago", "America/Los_Angeles", "America/New_York",
	"America/Sao_Paulo", "Asia/Kolkata", "Asia/Shanghai", "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney",
	"Europe/Berlin", "Europe/London", "Europe/Madrid", "Europe/Paris", "Europe/Rome", "Pacific/Auckland",
};

struct xv *host_list_timezones(struct call *c, struct xv **err)
{
	struct xv *a;

	if (!arg_obj(c, 0, "host", err))
		return NULL;
	a = xv_array();
	for (size_t i = 0; i < ARRAY_LEN(zones); i++)
		xv_array_push(a, xv_string(zones[i]));
	return a;
}

struct xv *host_set_timezone(struct call *c, struct xv **err)
{
	struct obj *h = arg_obj(c, 0, "host", err);
	const char *tz = arg_str(c, 1);

	if (!h)
		return NULL;
	for (size_t i = 0; i < ARRAY_LEN(zones); i++)
		if (strcmp(zones[i], tz) == 0) {
			db_set_str(h, "timezone", tz);
			return void_ok();
		}
	*err = err_new("INVALID_VALUE", "timezone", tz, NULL);
	return NULL;
}

static bool ipv4_ok(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1;
}

static bool ipv6_ok(const char *s)
{
	struct in6_addr a;

	return inet_pton(AF_INET6, s, &a) == 1;
}

/* "a.b.c.d" / netmask in dotted form with contiguous ones. */
static bool netmask_ok(const char *s)
{
	struct in_addr a;
	uint32_t m, inv;

	if (inet_pton(AF_INET, s, &a) != 1)
		return false;
	m = ntohl(a.s_addr);
	inv = ~m;
	return (inv & (inv + 1)) == 0;
}

/* Each comma-separated DNS server must be an address of either family. */
static bool dns_ok(const char *s)
{
	char buf[512];
	char *save = NULL;

	if (!*s)
		return true;
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (!ipv4_ok(t) && !ipv6_ok(t))
			return false;
	return true;
}

static struct obj *host_of(struct obj *pif)
{
	return db_ref(pif, "host");
}

struct xv *pif_reconfigure_ip(struct call *c, struct xv **err)
{
	struct obj *p = arg_obj(c, 0, "PIF", err);
	const char *mode = arg_str(c, 1), *ip = arg_str(c, 2), *mask = arg_str(c, 3), *gw = arg_str(c, 4),
		   *dns = arg_str(c, 5);

	if (!p)
		return NULL;
	if (db_str(p, "bond_slave_of")[0] && strcmp(db_str(p, "bond_slave_of"), "OpaqueRef:NULL") != 0) {
		*err = err_new("CANNOT_PLUG_BOND_SLAVE", p->ref, NULL);
		return NULL;
	}
	if (strcasecmp(mode, "Static") == 0) {
		if (!ipv4_ok(ip)) {
			*err = err_new("INVALID_IP_ADDRESS_SPECIFIED", "IP", NULL);
			return NULL;
		}
		if (!netmask_ok(mask)) {
			*err = err_new("INVALID_IP_ADDRESS_SPECIFIED", "netmask", NULL);
			return NULL;
		}
		if (*gw && !ipv4_ok(gw)) {
			*err = err_new("INVALID_IP_ADDRESS_SPECIFIED", "gateway", NULL);
			return NULL;
		}
		if (!dns_ok(dns)) {
			*err = err_new("INVALID_IP_ADDRESS_SPECIFIED", "DNS", NULL);
			return NULL;
		}
		db_set_str(p, "ip_configuration_mode", "Static");
		db_set_str(p, "IP", ip);
		db_set_str(p, "netmask", mask);
		db_set_str(p, "gateway", gw);
		db_set_str(p, "DNS", dns);
		if (db_bool(p, "management") && host_of(p))
			db_set_str(host_of(p), "address", ip);
	} else if (strcasecmp(mode, "DHCP") == 0) {
		/* the lease keeps what the DHCP server gave; the sim's gives the same */
		db_set_str(p, "ip_configuration_mode", "DHCP");
		if (!*db_str(p, "IP")) {
			db_set_str(p, "IP", "192.168.1.200");
			db_set_str(p, "netmask", "255.255.255.0");
			db_set_str(p, "gateway", "192.168.1.1");
			db_set_str(p, "DNS", "192.168.1.1");
		}
	} else {
		if (db_bool(p, "management")) {
			*err = err_new("PIF_IS_MANAGEMENT_INTERFACE", p->ref, NULL);
			return NULL;
		}
		db_set_str(p, "ip_configuration_mode", "None");
		db_set_str(p, "IP", "");
		db_set_str(p, "netmask", "");
		db_set_str(p, "gateway", "");
		db_set_str(p, "DNS", "");
	}
	return xv_string("");
}

struct xv *pif_reconfigure_ipv6(struct call *c, struct xv **err)
{
	struct obj *p = arg_obj(c, 0, "PIF", err);
	const char *mode = arg_str(c, 1), *ip = arg_str(c, 2), *gw = arg_str(c, 3), *dns = arg_str(c, 4);

	if (!p)
		return NULL;
	if (strcasecmp(mode, "Static") == 0) {
		char addr[128];
		const char *slash = strchr(ip, '/');
		size_t n = slash ? (size_t)(slash - ip) : strlen(ip);
		char *end = NULL;
		long prefix = slash ? strtol(slash + 1, &end, 10) : -1;
		snprintf(addr, sizeof(addr), "%.*s", (int)(n < sizeof(addr) ? n : sizeof(addr) - 1), ip);
		/* xapi wants CIDR form: address/prefix */
		if (!ipv6_ok(addr) || !slash || !end || *end || prefix < 0 || prefix > 128) {
			*err = err_new("INVALID_IP_ADDRESS_SPECIFIED", "IPv6", NULL);
			return NULL;
		}
		if (*gw && !ipv6_ok(gw)) {
			*err = err_new("INVALID_IP_ADDRESS_SPECIFIED", "gateway", NULL);
			return NULL;
		}
		if (!dns_ok(dns)) {
			*err = err_new("INVALID_IP_ADDRESS_SPECIFIED", "DNS", NULL);
			return NULL;
		}
		db_set_str(p, "ipv6_configuration_mode", "Static");
		{
			struct xv *set = xv_array();
			xv_array_push(set, xv_string(ip));
			db_set(p, "IPv6", set);
		}
		db_set_str(p, "ipv6_gateway", gw);
		if (*dns)
			db_set_str(p, "DNS", dns);
	} else {
		static const char *const modes[] = {"None", "DHCP", "Autoconf"};
		for (size_t i = 0; i < ARRAY_LEN(modes); i++)
			if (strcasecmp(mode, modes[i]) == 0)
				db_set_str(p, "ipv6_configuration_mode", modes[i]);
		db_set(p, "IPv6", xv_array());
		db_set_str(p, "ipv6_gateway", "");
	}
	return xv_string("");
}

/* Moves the management interface to pif, on pif's host. */
struct xv *host_management_reconfigure(struct call *c, struct xv **err)
{
	struct obj *p = arg_obj(c, 0, "PIF", err);
	struct obj *h;
	const struct xv *pifs;

	if (!p)
		return NULL;
	if (strcmp(db_str(p, "ip_configuration_mode"), "None") == 0
	    && strcmp(db_str(p, "ipv6_configuration_mode"), "None") == 0) {
		*err = err_new("PIF_HAS_NO_NETWORK_CONFIGURATION", p->ref, NULL);
		return NULL;
	}
	if (db_bool(p, "management"))
		return xv_string("");
	h = host_of(p);
	pifs = h ? db_field(h, "PIFs") : NULL;
	for (size_t i = 0; i < xv_len(pifs); i++) {
		struct obj *o = db_find(xv_str(xv_at(pifs, i)));
		if (o && o != p && db_bool(o, "management")) {
			db_set_bool(o, "management", false);
			db_set_bool(o, "disallow_unplug", false);
		}
	}
	db_set_bool(p, "management", true);
	db_set_bool(p, "disallow_unplug", true);
	if (h && *db_str(p, "IP"))
		db_set_str(h, "address", db_str(p, "IP"));
	return xv_string("");
}
