#include "errors.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* {N} is parameter N (1-based) as sent, {N:name} the name of the object it
 * refers to, {N:size} a byte count in human units. */
static const struct {
	const char *code;
	const char *text;
} table[] = {
	{"VM_BAD_POWER_STATE", "VM {1:name} is {3}; it must be {2} for this"},
	{"HOST_NOT_ENOUGH_FREE_MEMORY", "not enough free memory on the host: {1:size} needed, {2:size} available"},
	{"VM_IS_TEMPLATE", "{1:name} is a template; this cannot be done to a template"},
	{"OTHER_OPERATION_IN_PROGRESS", "{2:name} is busy with another operation ({3}); try again when it is done"},
	{"OPERATION_NOT_ALLOWED", "not allowed: {1}"},
	{"SESSION_AUTHENTICATION_FAILED", "wrong user name or password for '{1}'"},
	{"SESSION_INVALID", "the session has expired; log in again"},
	{"HOST_IS_SLAVE", "this host is not the pool master; the master is {1}"},
	{"HOST_STILL_BOOTING", "the host is still starting up; xapi answers once it is up"},
	/* what a connection, a login or the event feed can meet: shown on the header's status line */
	{"SESSION_NOT_REGISTERED", "the session is no longer known to the server; log in again"},
	{"SESSION_AUTHORIZATION_FAILED", "user '{1}' may not log in to this pool: {2}"},
	{"RBAC_PERMISSION_DENIED", "your account's role does not allow this ({1})"},
	{"PERMISSION_DENIED", "permission denied: {1}"},
	{"USER_IS_NOT_LOCAL_SUPERUSER", "only the host's local root account may do this"},
	{"EVENTS_LOST", "the server dropped events; everything is read again"},
	{"EVENT_FROM_TOKEN_PARSE_FAILURE", "the server did not recognise the event token; everything is read again"},
	{"EVENT_SUBSCRIPTION_PARSE_FAILURE", "the server refused the event subscription '{1}'"},
	{"HOST_MASTER_CANNOT_TALK_BACK", "the pool master cannot reach this host back at {1}"},
	{"HOST_UNKNOWN_TO_MASTER", "the pool master does not know this host ({1})"},
	{"HOST_IN_EMERGENCY_MODE", "the host lost its pool master and is in emergency mode: bring the master back or make "
				   "this host the master"},
	{"HOST_BROKEN", "the host's xapi did not start properly; it needs a look on the host itself"},
	{"HOST_NOT_LIVE", "the host is not live (down or not answering)"},
	{"HOST_HAS_NO_MANAGEMENT_IP", "the host has no management IP address"},
	{"TOO_MANY_PENDING_TASKS", "the server has too many tasks under way; try again shortly"},
	{"NOT_SUPPORTED_DURING_UPGRADE", "not possible while the pool's hosts run different versions (an upgrade is under way)"},
	{"LICENSE_EXPIRED", "the host's licence has expired"},
	{"MESSAGE_DEPRECATED", "the server no longer offers this call"},
	{"MESSAGE_REMOVED", "the server no longer offers this call"},
	{"XMLRPC_UNMARSHAL_FAILURE", "the server could not read the request: it expected {1}, got {2} (a bug in xentui)"},
	{"HOST_NOT_ENOUGH_PCPUS", "the host has {2} physical CPUs, fewer than the VM's {1} vCPUs"},
	{"HANDLE_INVALID", "the {1} no longer exists (it may have just been deleted)"},
	{"UUID_INVALID", "there is no {1} with uuid {2}"},
	{"SR_HAS_PBD", "storage {1:name} is still attached to hosts; detach it first"},
	{"SR_NOT_EMPTY", "the storage repository still holds disks in use"},
	{"SR_FULL", "the storage repository is full: {1:size} requested, {2:size} free"},
	{"VDI_IN_USE", "disk {1:name} is in use ({2})"},
	{"VDI_TOO_SMALL", "disk {1:name} cannot shrink; its size must be at least {2:size}"},
	{"HOST_DISABLED", "host {1:name} is disabled (in maintenance mode)"},
	{"HOST_OFFLINE", "host {1:name} is offline"},
	{"HOST_IN_USE", "host {1:name} still runs {2} {3:name}"},
	{"HOST_NOT_DISABLED", "the host must be disabled (maintenance mode) first"},
	{"HOST_NAME_INVALID", "that hostname is not valid: {1}"},
	{"SR_HAS_NO_PBDS", "storage {1:name} is not plugged on every host of the pool"},
	{"SR_OPERATION_NOT_SUPPORTED", "storage {1:name} cannot do that (its type does not support it)"},
	{"CANNOT_CREATE_STATE_FILE", "no storage can hold HA's heartbeat file: choose a shared SR every host reaches"},
	{"HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN", "HA could no longer restart every protected VM if that many hosts failed"},
	{"REQUIRED_PIF_IS_UNPLUGGED", "a network interface HA needs ({1:name}) is unplugged"},
	{"INVALID_IP_ADDRESS_SPECIFIED", "the {1} given is not a valid address"},
	{"INVALID_NTP_CONFIG", "that NTP setting is refused: {1}"},
	{"PIF_HAS_NO_NETWORK_CONFIGURATION", "that network interface has no IP configuration; configure it first"},
	{"XENAPI_MISSING_PLUGIN", "the host has no plugin {1}"},
	{"XENAPI_PLUGIN_FAILURE", "the host's plugin failed: {3}"},
	{"HOST_HAS_RESIDENT_VMS", "host {1:name} still has VMs running on it"},
	{"NO_HOSTS_AVAILABLE", "no host can run this VM right now"},
	{"CANNOT_EVACUATE_HOST", "the host cannot be evacuated: {1}"},
	{"VM_REQUIRES_SR", "VM {1:name} needs storage {2:name}, which this host cannot see"},
	{"VM_MISSING_PV_DRIVERS", "VM {1:name} has no guest tools; this needs them"},
	{"VM_LACKS_FEATURE", "VM {1:name} lacks the guest feature this needs (install the guest tools)"},
	{"VM_HAS_PCI_ATTACHED", "VM {1:name} has a PCI device passed through; it cannot move"},
	{"VM_NO_SUSPEND_SR", "VM {1:name} has nowhere to save its memory: set a suspend storage"},
	{"VM_SHUTDOWN_TIMEOUT", "VM {1:name} did not shut down in {2} seconds; try a forced shutdown"},
	{"TASK_CANCELLED", "cancelled"},
	{"DEVICE_ALREADY_EXISTS", "device {1} already exists on this VM"},
	{"DEVICE_ALREADY_ATTACHED", "the device is already attached"},
	{"DEVICE_ALREADY_DETACHED", "the device is already detached"},
	{"VBD_NOT_EMPTY", "the drive already holds a disc; eject it first"},
	{"VBD_IS_EMPTY", "the drive is empty"},
	{"VBD_NOT_REMOVABLE_MEDIA", "this drive is not a CD/DVD drive"},
	{"NETWORK_CONTAINS_VIF", "the network is in use by running VMs' interfaces; remove them first"},
	{"NETWORK_CONTAINS_PIF", "the network is still on hosts' NICs; remove its VLANs or bonds first"},
	{"CANNOT_DESTROY_SYSTEM_NETWORK", "{1:name} is the hosts' own management network; it cannot go"},
	{"NETWORK_ALREADY_CONNECTED", "network {1:name} is already on a NIC of that host"},
	{"NETWORK_UNMANAGED", "network {1:name} is not managed by xapi"},
	{"VLAN_TAG_INVALID", "VLAN tag {1} is invalid: it must be from 0 to 4094"},
	{"PIF_VLAN_EXISTS", "{1} already carries that VLAN tag"},
	{"PIF_IS_VLAN", "that NIC is itself a VLAN; choose the physical NIC"},
	{"PIF_IS_MANAGEMENT_INTERFACE", "that is a host's management interface; it cannot go"},
	{"BRIDGE_NAME_EXISTS", "a network already uses the bridge {1}"},
	{"HA_IS_ENABLED", "high availability is enabled; disable it first"},
	{"LICENCE_RESTRICTION", "the pool's licence does not allow {1}"},
	{"MEMORY_CONSTRAINT_VIOLATION", "memory settings must satisfy: {1}"},
	{"INVALID_VALUE", "invalid value for {1}: {2}"},
	{"MAP_DUPLICATE_KEY", "key {4} already exists"},
	{"MESSAGE_METHOD_UNKNOWN", "the server does not know the call {1} (too old or too new?)"},
	{"MESSAGE_PARAMETER_COUNT_MISMATCH", "{1} was called with {3} parameters, it takes {2} (a bug in xentui)"},
	{"NOT_IMPLEMENTED", "the server does not implement {1}"},
	{"JOINING_HOST_CANNOT_CONTAIN_SHARED_SRS", "the joining host has shared storage; remove it first"},
	{"JOINING_HOST_CANNOT_HAVE_RUNNING_OR_SUSPENDED_VMS", "the joining host has running or suspended VMs; shut them down first"},
	{"JOINING_HOST_CANNOT_HAVE_RUNNING_VMS", "the joining host has running VMs; shut them down first"},
	{"JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS", "the joining host is the master of other hosts; eject them first"},
	{"JOINING_HOST_CONNECTION_FAILED", "the joining host cannot reach the master"},
	{"JOINING_HOST_SERVICE_FAILED", "the master did not answer the joining host"},
	{"POOL_JOINING_HOST_MUST_HAVE_SAME_PRODUCT_VERSION", "the joining host runs another XCP-ng version"},
	{"HOSTS_NOT_HOMOGENEOUS", "the hosts are too different to share a pool: {1} (a forced join skips this check)"},
	{"HOSTS_NOT_COMPATIBLE", "the hosts run different XCP-ng/XenServer versions and cannot share a pool"},
	{"JOINING_HOST_CANNOT_HAVE_VMS_WITH_CURRENT_OPERATIONS", "VMs on the joining host are busy with an operation; wait for it to end"},
	{"POOL_JOINING_HOST_MUST_HAVE_PHYSICAL_MANAGEMENT_NIC", "the joining host's management interface must be a physical NIC (not a bond or VLAN)"},
	{"POOL_JOINING_HOST_HAS_NON_MANAGEMENT_VLANS", "the joining host has VLANs besides its management one; remove them first"},
	{"POOL_JOINING_HOST_HAS_BONDS", "the joining host has bonds; remove them first"},
	{"POOL_JOINING_HOST_HAS_TUNNELS", "the joining host has tunnels; remove them first"},
	{"POOL_JOINING_HOST_HAS_NETWORK_SRIOVS", "the joining host has SR-IOV networks; remove them first"},
	{"POOL_JOINING_HOST_MANAGEMENT_VLAN_DOES_NOT_MATCH", "the joining host's management VLAN ({1}) differs from the pool's ({2})"},
	{"POOL_JOINING_EXTERNAL_AUTH_MISMATCH", "the joining host and the pool use different external authentication"},
	{"POOL_JOINING_HOST_MUST_HAVE_SAME_API_VERSION", "the joining host speaks another XenAPI version than the master"},
	{"POOL_JOINING_HOST_MUST_HAVE_SAME_DB_SCHEMA", "the joining host has another database schema than the master (another version)"},
	{"POOL_JOINING_MASTER_CERTIFICATE_NOT_IN_POOL_BUNDLE", "the master's certificate is not in the pool's bundle"},
	{"LICENSE_HOST_POOL_MISMATCH", "the joining host's licence does not match the pool's"},
	{"CANNOT_CONTACT_HOST", "cannot contact host {1:name}"},
	{"HA_NOT_ENABLED", "high availability is not enabled"},
	{"HA_TOO_FEW_HOSTS", "high availability needs more hosts in the pool"},
	{"HA_NOT_INSTALLED", "high availability is not installed on host {1:name}"},
	{"HA_NO_PLAN", "high availability cannot protect the VMs: not enough capacity to survive a host failure"},
	/* storage drivers' codes (sm's XE_SR_ERRORCODES.xml) that users meet making SRs */
	{"SR_BACKEND_FAILURE_108", "no NFS server answers at that address: check the name and that NFS runs there"},
	{"SR_BACKEND_FAILURE_140", "that server name does not resolve (DNS): check it or use its address"},
	{"SR_BACKEND_FAILURE_222", "the share could not be mounted: check the server and the path ({2})"},
	{"SR_BACKEND_FAILURE_224", "the share was not found on the server, or access to it is denied"},
	{"SR_BACKEND_FAILURE_225", "the location must read server:/path for NFS or //server/share for SMB"},
	{"SR_BACKEND_FAILURE_226", "that path does not exist on the host: create the directory first"},
	{"SR_BACKEND_FAILURE_111", "the SMB share could not be mounted: check the share, the user and the password"},
	{"SR_BACKEND_FAILURE_102", "the NFS server is missing"},
	{"SR_BACKEND_FAILURE_101", "the NFS path is missing"},
	{"SR_BACKEND_FAILURE_94", "the location is missing"},
	{"SR_BACKEND_FAILURE_90", "the device is missing: give one like /dev/sdb"},
	{"SR_BACKEND_FAILURE_91", "that device does not exist on the host"},
	{"SR_BACKEND_FAILURE_43", "a disk with that file name already exists on this SR"},
	{"SR_BACKEND_FAILURE_78", "the disk could not be made: {2}"},
	{"SR_UNKNOWN_DRIVER", "this pool has no storage driver for SR type {1}"},
	{"SR_BACKEND_FAILURE", "storage error: {2}"},
	{"INTERNAL_ERROR", "internal error on the server: {1}"},
};

static void human_size(struct buf *b, const char *s)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = strtod(s, NULL);
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	buf_printf(b, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void object_name(struct buf *b, const char *ref, const struct cache *cache)
{
	const struct xv *rec = cache ? cache_get(cache, ref) : NULL;
	const char *name = rec ? rec_str(rec, "name_label") : NULL;

	if (name && *name)
		buf_printf(b, "'%s'", name);
	else if (rec && *rec_str(rec, "device")) /* NICs, interfaces, drives: eth0 */
		buf_printf(b, "'%s'", rec_str(rec, "device"));
	else if (rec && *rec_str(rec, "uuid"))
		buf_printf(b, "%s", rec_str(rec, "uuid"));
	else
		buf_puts(b, strcmp(ref, "OpaqueRef:NULL") == 0 ? "(none)" : ref);
}

static void expand(struct buf *b, const char *t, const struct xv *err, const struct cache *cache)
{
	while (*t) {
		const char *close;
		int n;
		const char *p;

		if (*t != '{' || !(close = strchr(t, '}')) || !isdigit((unsigned char)t[1])) {
			buf_putc(b, *t++);
			continue;
		}
		n = atoi(t + 1);
		p = xv_str(xv_at(err, (size_t)n));
		if (!p)
			p = "?";
		if (strncmp(t + 2, ":name}", 6) == 0)
			object_name(b, p, cache);
		else if (strncmp(t + 2, ":size}", 6) == 0)
			human_size(b, p);
		else
			buf_puts(b, p);
		t = close + 1;
	}
}

/* Codes xapi raises with other parameters in some places: taken before
 * table's entry when the error has exactly nparams. */
static const struct {
	const char *code;
	size_t nparams;
	const char *text;
} by_count[] = {
	/* host.evacuate's plan names only the VM that fits on no other host */
	{"HOST_NOT_ENOUGH_FREE_MEMORY", 1, "{1:name} fits in the free memory of no other host"},
};

char *error_sentence(const struct xv *err, const struct cache *cache)
{
	const char *code = xv_str(xv_at(err, 0));
	struct buf b;

	buf_init(&b);
	if (!code)
		return xstrdup("unknown error");
	for (size_t i = 0; i < ARRAY_LEN(by_count); i++)
		if (strcmp(by_count[i].code, code) == 0 && by_count[i].nparams + 1 == xv_len(err)) {
			expand(&b, by_count[i].text, err, cache);
			return buf_steal(&b);
		}
	for (size_t i = 0; i < ARRAY_LEN(table); i++)
		if (strcmp(table[i].code, code) == 0 || (strncmp(code, "SR_BACKEND_FAILURE", 18) == 0
							 && strcmp(table[i].code, "SR_BACKEND_FAILURE") == 0)) {
			expand(&b, table[i].text, err, cache);
			return buf_steal(&b);
		}
	buf_puts(&b, code);
	for (size_t i = 1; i < xv_len(err); i++)
		buf_printf(&b, "%s%s", i == 1 ? " (" : ", ", xv_str(xv_at(err, i)) ? xv_str(xv_at(err, i)) : "?");
	if (xv_len(err) > 1)
		buf_putc(&b, ')');
	return buf_steal(&b);
}
