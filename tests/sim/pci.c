/* PCI passthrough as XCP-ng 8.3's xapi does it: disable_dom0_access puts
 * the device on dom0's xen-pciback.hide command line, which takes effect
 * at the next boot; until then the status says "disable_on_reboot". */
#include <stdlib.h>
#include <string.h>

#include "host_extra.h"
#include "util.h"

/* The devices on their host's boot command line (xen-pciback.hide) whose
 * state differs from what the generator made: a device without an entry
 * is on the command line when dom0 has it hidden now. */
struct cmdline_entry {
	char ref[REF_LEN];
	bool hidden;
};

static struct cmdline_entry *entries;
static size_t nentries, cap;

static bool hidden_now(const struct obj *pci)
{
	return strcmp(db_str(pci, "driver_name"), "pciback") == 0;
}

static struct cmdline_entry *entry_of(const struct obj *pci)
{
	for (size_t i = 0; i < nentries; i++)
		if (strcmp(entries[i].ref, pci->ref) == 0)
			return &entries[i];
	return NULL;
}

static bool on_cmdline(const struct obj *pci)
{
	const struct cmdline_entry *e = entry_of(pci);

	return e ? e->hidden : hidden_now(pci);
}

static void set_cmdline(const struct obj *pci, bool hidden)
{
	struct cmdline_entry *e = entry_of(pci);

	if (!e) {
		if (nentries == cap) {
			cap = cap ? cap * 2 : 16;
			entries = xrealloc(entries, cap * sizeof(*entries));
		}
		e = &entries[nentries++];
		memset(e, 0, sizeof(*e));
		memcpy(e->ref, pci->ref, REF_LEN);
	}
	e->hidden = hidden;
}

/* xapi's mapping of (hidden now, on the command line). */
static struct xv *status_of(const struct obj *pci)
{
	bool now = hidden_now(pci), boot = on_cmdline(pci);

	if (!now && !boot)
		return xv_string("enabled");
	if (!now && boot)
		return xv_string("disable_on_reboot");
	if (now && boot)
		return xv_string("disabled");
	return xv_string("enable_on_reboot");
}

static struct xv *change(struct call *c, bool hide, struct xv **err)
{
	struct obj *pci = arg_obj(c, 0, "PCI", err);

	if (!pci)
		return NULL;
	set_cmdline(pci, hide);
	return status_of(pci);
}

struct xv *pci_disable_dom0_access(struct call *c, struct xv **err)
{
	return change(c, true, err);
}

struct xv *pci_enable_dom0_access(struct call *c, struct xv **err)
{
	return change(c, false, err);
}

struct xv *pci_get_dom0_access_status(struct call *c, struct xv **err)
{
	struct obj *pci = arg_obj(c, 0, "PCI", err);

	return pci ? status_of(pci) : NULL;
}

/* The driver dom0 binds to a device it keeps. */
const char *pci_dom0_driver(const struct obj *pci)
{
	const char *cls = db_str(pci, "class_name");

	if (strstr(cls, "Ethernet"))
		return strstr(db_str(pci, "device_name"), "10-Gigabit") ? "ixgbe" : "igb";
	if (strstr(cls, "VGA"))
		return "mgag200";
	if (strstr(cls, "USB"))
		return "xhci_hcd";
	if (strstr(cls, "SATA"))
		return "ahci";
	if (strstr(cls, "3D"))
		return "nvidia";
	return "";
}

/* At boot dom0 hides exactly what the command line says. */
void pci_on_boot(struct obj *host)
{
	const struct xv *pcis = db_field(host, "PCIs");

	for (size_t i = 0; i < xv_len(pcis); i++) {
		struct obj *pci = db_find(xv_str(xv_at(pcis, i)));
		if (!pci)
			continue;
		if (on_cmdline(pci) && !hidden_now(pci))
			db_set_str(pci, "driver_name", "pciback");
		else if (!on_cmdline(pci) && hidden_now(pci))
			db_set_str(pci, "driver_name", pci_dom0_driver(pci));
	}
}
