/* The initial pool: hosts, networks, storage, templates and VMs that look
 * like a real XCP-ng 8.3 pool, the same for the same --seed. */
#include "gen.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_extra.h"
#include "sim.h"
#include "util.h"
#include "vm.h"

static void gen_recent_tasks(struct obj *master);

#define GiB (1024LL * 1024 * 1024)
#define MiB (1024LL * 1024)

static unsigned rnd(unsigned n)
{
	return n ? (unsigned)(db_rand() % n) : 0;
}

static void mac_of(char out[18])
{
	uint64_t r = db_rand();

	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", (unsigned)((r & 0xfc) | 0x02), (unsigned)(r >> 8) & 0xff,
		 (unsigned)(r >> 16) & 0xff, (unsigned)(r >> 24) & 0xff, (unsigned)(r >> 32) & 0xff,
		 (unsigned)(r >> 40) & 0xff);
}

static struct xv *strset(const char *first, ...)
{
	struct xv *a = xv_array();
	va_list ap;

	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *))
		xv_array_push(a, xv_string(s));
	va_end(ap);
	return a;
}

/* map("k", "v", "k2", "v2", NULL) */
static struct xv *strmap(const char *k, ...)
{
	struct xv *m = xv_struct();
	va_list ap;

	va_start(ap, k);
	while (k) {
		const char *v = va_arg(ap, const char *);
		xv_struct_add(m, k, xv_string(v));
		k = va_arg(ap, const char *);
	}
	va_end(ap);
	return m;
}

/* ---- storage ------------------------------------------------------------ */

static struct obj *sm_new(const char *type, const char *label, const char *desc, const char *content)
{
	struct obj *sm = db_create_named("SM");

	db_set_str(sm, "name_label", label);
	db_set_str(sm, "name_description", desc);
	db_set_str(sm, "type", type);
	db_set_str(sm, "vendor", "XCP-ng");
	db_set_str(sm, "copyright", "(C) 2008 Citrix Systems Inc");
	db_set_str(sm, "version", "1.0");
	db_set_str(sm, "required_api_version", "1.0");
	db_set(sm, "capabilities", strset("SR_PROBE", "SR_UPDATE", "VDI_CREATE", "VDI_DELETE", "VDI_ATTACH",
					  "VDI_DETACH", "VDI_RESIZE", "VDI_CLONE", "VDI_SNAPSHOT", NULL));
	db_set(sm, "configuration", strmap("server", "the server name or address",
					   "serverpath", "the export path on the server", NULL));
	db_set(sm, "features", xv_struct());
	xv_struct_add(db_field(sm, "features"), "SR_PROBE", xv_int(1));
	db_set_str(sm, "driver_filename", "/opt/xensource/sm/SR");
	db_set(sm, "other_config", strmap("content_type", content, NULL));
	return sm;
}

struct obj *gen_sr(const char *label, const char *type, const char *content_type, bool shared, int64_t size)
{
	struct obj *sr = db_create_named("SR");

	db_set_str(sr, "name_label", label);
	db_set_str(sr, "type", type);
	db_set_str(sr, "content_type", content_type);
	db_set_bool(sr, "shared", shared);
	db_set_int(sr, "physical_size", size);
	db_set_int(sr, "physical_utilisation", 0);
	db_set_int(sr, "virtual_allocation", 0);
	db_set(sr, "allowed_operations", strset("scan", "destroy", "forget", "plug", "unplug", "vdi_create",
						"vdi_destroy", "vdi_resize", "vdi_clone", "vdi_snapshot", "vdi_introduce",
						"update", NULL));
	db_set(sr, "sm_config", strmap("devserial", "", NULL));
	db_set(sr, "other_config", xv_struct());
	return sr;
}

struct obj *gen_pbd(struct obj *host, struct obj *sr, struct xv *device_config)
{
	struct obj *pbd = db_create_named("PBD");

	db_set_ref(pbd, "host", host);
	db_set_ref(pbd, "SR", sr);
	db_set(pbd, "device_config", device_config);
	db_set_bool(pbd, "currently_attached", true);
	return pbd;
}

struct obj *gen_vdi(struct obj *sr, const char *label, int64_t size, const char *type, bool read_only)
{
	struct obj *vdi = db_create_named("VDI");

	db_set_str(vdi, "name_label", label);
	db_set_ref(vdi, "SR", sr);
	db_set_int(vdi, "virtual_size", size);
	db_set_int(vdi, "physical_utilisation", size / 4);
	db_set_str(vdi, "type", type);
	db_set_bool(vdi, "sharable", false);
	db_set_bool(vdi, "read_only", read_only);
	db_set_bool(vdi, "managed", true);
	db_set_str(vdi, "location", xv_str(db_field(vdi, "uuid")));
	db_set(vdi, "allowed_operations", strset("clone", "copy", "resize", "destroy", "snapshot", "generate_config",
						 "update", "forget", NULL));
	db_set(vdi, "sm_config", strmap("vdi_type", "vhd", NULL));
	sr_refresh_usage(sr);
	return vdi;
}

/* ---- hosts and networks --------------------------------------------------- */

static struct obj *gen_network(const char *label, const char *bridge, const char *desc)
{
	struct obj *n = db_create_named("network");

	db_set_str(n, "name_label", label);
	db_set_str(n, "name_description", desc);
	db_set_str(n, "bridge", bridge);
	db_set_int(n, "MTU", 1500);
	db_set_bool(n, "managed", true);
	db_set(n, "allowed_operations", xv_array());
	db_set(n, "other_config", xv_struct());
	return n;
}

static struct obj *gen_pif(struct obj *host, struct obj *net, const char *device, bool management, const char *ip,
			   int speed)
{
	struct obj *pif = db_create_named("PIF");
	struct obj *m = db_create_named("PIF_metrics");
	char mac[18], buf[32];

	mac_of(mac);
	db_set_str(pif, "device", device);
	db_set_ref(pif, "network", net);
	db_set_ref(pif, "host", host);
	db_set_str(pif, "MAC", mac);
	db_set_int(pif, "MTU", 1500);
	db_set_int(pif, "VLAN", -1);
	db_set_bool(pif, "physical", true);
	db_set_bool(pif, "currently_attached", true);
	db_set_bool(pif, "management", management);
	db_set_bool(pif, "disallow_unplug", management);
	db_set_bool(pif, "managed", true);
	db_set_str(pif, "ip_configuration_mode", ip ? "Static" : "None");
	db_set_str(pif, "IP", ip ? ip : "");
	db_set_str(pif, "netmask", ip ? "255.255.255.0" : "");
	db_set_str(pif, "gateway", ip ? "192.168.1.1" : "");
	db_set_str(pif, "DNS", ip ? "192.168.1.1,1.1.1.1" : "");
	db_set_str(pif, "primary_address_type", "IPv4");
	db_set(pif, "capabilities", strset("fcoe", NULL));
	db_set(pif, "properties", strmap("gro", "on", NULL));
	db_set_ref(pif, "metrics", m);
	db_set_bool(m, "carrier", true);
	snprintf(buf, sizeof(buf), "%d", speed);
	db_set_int(m, "speed", speed);
	db_set_bool(m, "duplex", true);
	db_set_str(m, "vendor_id", "8086");
	db_set_str(m, "vendor_name", "Intel Corporation");
	db_set_str(m, "device_id", speed >= 10000 ? "10fb" : "1521");
	db_set_str(m, "device_name", speed >= 10000 ? "82599ES 10-Gigabit SFI/SFP+ Network Connection"
						 : "I350 Gigabit Network Connection");
	db_set_str(m, "pci_bus_path", management ? "0000:01:00.0" : "0000:01:00.1");
	db_set_now(m, "last_updated");
	return pif;
}

static const char *const cpu_models[] = {
	"Intel(R) Xeon(R) Silver 4214R CPU @ 2.40GHz",
	"AMD EPYC 7302P 16-Core Processor",
	"Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz",
};

/* The host record, its metrics and CPUs; i picks the hardware (i % 3). */
static struct obj *gen_host(int i, const char *name, const char *address)
{
	struct obj *h = db_create_named("host");
	struct obj *m = db_create_named("host_metrics");
	char buf[64], iqn[96];
	int model = i % 3;
	int cores = model == 0 ? 24 : model == 1 ? 32 : 12;
	int64_t mem = (model == 0 ? 256 : model == 1 ? 128 : 64) * GiB;

	db_set_str(h, "name_label", name);
	db_set_str(h, "name_description", "Default install");
	db_set_str(h, "hostname", name);
	db_set_str(h, "address", address);
	db_set_int(h, "API_version_major", 2);
	db_set_int(h, "API_version_minor", 21);
	db_set_str(h, "API_version_vendor", "XenSource");
	db_set_bool(h, "enabled", true);
	db_set_int(h, "memory_overhead", 602 * MiB);
	db_set(h, "software_version",
	       strmap("product_version", "8.3.0", "product_version_text", "8.3", "product_version_text_short", "8.3",
		      "platform_name", "XCP", "platform_version", "3.4.0", "product_brand", "XCP-ng", "build_number",
		      "cloud", "hostname", name, "date", "2024-10-02", "dbv", "2024.0925", "xapi", "25.6",
		      "xapi_build", "25.6.0", "xen", "4.17.5-3", "linux", "4.19.0+1", "xencenter_min", "2.21",
		      "xencenter_max", "2.21", "network_backend", "openvswitch", "db_schema", "5.786", NULL));
	snprintf(buf, sizeof(buf), "%d", cores);
	db_set(h, "cpu_info",
	       strmap("cpu_count", buf, "socket_count", model == 0 ? "2" : "1", "vendor",
		      model == 1 ? "AuthenticAMD" : "GenuineIntel", "speed", model == 2 ? "3192.000" : "2394.454",
		      "modelname", cpu_models[model], "family", model == 1 ? "23" : "6", "model",
		      model == 1 ? "49" : "85", "stepping", "7", "flags",
		      "fpu de tsc msr pae mce cx8 apic sep mca cmov pat clflush acpi mmx fxsr sse sse2 ht syscall nx "
		      "lm constant_tsc rep_good nopl nonstop_tsc cpuid pni pclmulqdq monitor est ssse3 fma cx16 sse4_1 "
		      "sse4_2 movbe popcnt aes xsave avx f16c rdrand hypervisor lahf_lm abm",
		      "features_pv", "1fc9cbf5-f6f83203-2991cbf5-00000123-0000000f-f1bf07a9-00405f4e-00000000",
		      "features_hvm", "1fcbfbff-f7fa3223-2d93fbff-00000523-0000000f-f1bf07ab-00405f4e-00000000",
		      NULL));
	db_set_str(h, "sched_policy", "credit");
	db_set(h, "supported_bootloaders", strset("pygrub", "eliloader", NULL));
	db_set(h, "capabilities", strset("xen-3.0-x86_64", "hvm-3.0-x86_32", "hvm-3.0-x86_32p", "hvm-3.0-x86_64", NULL));
	snprintf(iqn, sizeof(iqn), "iqn.2024-10.com.example:%08x", (unsigned)db_rand());
	db_set(h, "other_config", strmap("agent_start_time", "1732600000.", "boot_time", "1732599900.", "iscsi_iqn", iqn, NULL));
	db_set_str(h, "iscsi_iqn", iqn);
	db_set(h, "bios_strings",
	       strmap("bios-vendor", model == 1 ? "American Megatrends Inc." : "Dell Inc.", "bios-version",
		      model == 1 ? "2.3" : "2.12.2", "system-manufacturer", model == 1 ? "Supermicro" : "Dell Inc.",
		      "system-product-name", model == 1 ? "H11SSL-i" : model == 0 ? "PowerEdge R640" : "OptiPlex 7060",
		      "system-version", "", "system-serial-number", "SN0000", "baseboard-manufacturer",
		      model == 1 ? "Supermicro" : "Dell Inc.", "hp-rombios", "", "oem-1", "Xen", "oem-2",
		      "MS_VM_CERT/SHA1/bdbeb6e0a816d43fa6d3fe8aaef04c2bad9d3e3d", NULL));
	db_set_str(h, "edition", "xcp-ng");
	db_set(h, "license_params", strmap("sku_type", "free", "expiry", "30000101T00:00:00Z", NULL));
	db_set(h, "license_server", strmap("address", "localhost", "port", "27000", NULL));
	db_set_str(h, "power_on_mode", "");
	db_set_str(h, "display", "enabled");
	db_set_bool(h, "tls_verification_enabled", true);
	db_set_bool(h, "ssl_legacy", false);
	db_set_bool(h, "ssh_enabled", true);
	db_set_str(h, "timezone", "Europe/Paris");
	db_set_str(h, "ntp_mode", "DHCP");
	db_set(h, "allowed_operations", strset("provision", "evacuate", "reboot", "shutdown", "vm_start", "vm_resume",
					       "vm_migrate", NULL));
	db_set(h, "chipset_info", strmap("iommu", "true", NULL));
	db_set_ref(h, "metrics", m);
	db_set_int(m, "memory_total", mem);
	db_set_int(m, "memory_free", mem);
	db_set_bool(m, "live", true);
	db_set_now(m, "last_updated");
	for (int c = 0; c < cores; c++) {
		struct obj *cpu = db_create_named("host_cpu");
		db_set_ref(cpu, "host", h);
		db_set_int(cpu, "number", c);
		db_set_str(cpu, "vendor", model == 1 ? "AuthenticAMD" : "GenuineIntel");
		db_set_int(cpu, "speed", model == 2 ? 3192 : 2394);
		db_set_str(cpu, "modelname", cpu_models[model]);
		db_set_int(cpu, "family", model == 1 ? 23 : 6);
		db_set_int(cpu, "model", model == 1 ? 49 : 85);
		db_set_str(cpu, "stepping", "7");
		db_set_str(cpu, "flags", "fpu de tsc msr pae mce cx8 apic sep");
		db_set_float(cpu, "utilisation", (double)rnd(100) / 400.0);
	}
	return h;
}

static void gen_pci(struct obj *host)
{
	static const struct {
		const char *cls, *vendor, *device, *id;
	} devs[] = {
		{"VGA compatible controller", "Matrox Electronics Systems Ltd.", "Integrated Matrox G200eW3 Graphics Controller", "0000:03:00.0"},
		{"Ethernet controller", "Intel Corporation", "I350 Gigabit Network Connection", "0000:01:00.0"},
		{"Ethernet controller", "Intel Corporation", "I350 Gigabit Network Connection", "0000:01:00.1"},
		{"USB controller", "Intel Corporation", "C620 Series Chipset Family USB 3.0 xHCI Controller", "0000:00:14.0"},
		{"SATA controller", "Intel Corporation", "C620 Series Chipset Family SATA Controller [AHCI mode]", "0000:00:17.0"},
		{"3D controller", "NVIDIA Corporation", "GP104GL [Tesla P4]", "0000:3b:00.0"},
	};
	for (size_t i = 0; i < ARRAY_LEN(devs); i++) {
		struct obj *p = db_create_named("PCI");
		db_set_str(p, "class_name", devs[i].cls);
		db_set_str(p, "vendor_name", devs[i].vendor);
		db_set_str(p, "device_name", devs[i].device);
		db_set_str(p, "pci_id", devs[i].id);
		db_set_ref(p, "host", host);
		/* the Tesla is hidden from dom0 for passthrough; dom0 drives the rest */
		db_set_str(p, "driver_name", i == 5 ? "pciback" : pci_dom0_driver(p));
	}
}

static struct obj *network_by_bridge(const char *bridge)
{
	for (struct obj *n = db_first("network"); n; n = n->cnext)
		if (strcmp(db_str(n, "bridge"), bridge) == 0)
			return n;
	return NULL;
}

/* How a host plugs a shared SR: as the other hosts do, else as gen_pool
 * configures the SRs it makes. */
static struct xv *shared_pbd_config(const struct obj *sr)
{
	const struct xv *pbds = db_field(sr, "PBDs");
	const char *type = db_str(sr, "type");

	for (size_t i = 0; i < xv_len(pbds); i++) {
		struct obj *pbd = db_find(xv_str(xv_at(pbds, i)));
		if (pbd)
			return xv_copy(db_field(pbd, "device_config"));
	}
	if (strcmp(type, "nfs") == 0)
		return strmap("server", "192.168.1.5", "serverpath", "/srv/vms", "nfsversion", "4.1", NULL);
	if (db_bool(sr, "is_tools_sr"))
		return strmap("location", "/opt/xensource/packages/iso", "legacy_mode", "true", NULL);
	if (strcmp(type, "iso") == 0)
		return strmap("location", "192.168.1.5:/srv/isos", "type", "nfs_iso", NULL);
	return xv_struct();
}

struct obj *gen_host_with_devices(int i, const char *name, const char *address, const char *uuid,
				  struct obj **local_sr)
{
	const struct cls *srcls = schema_class("SR");
	struct obj *h = gen_host(i, name, address);
	struct obj *net0 = network_by_bridge("xenbr0"), *net1 = network_by_bridge("xenbr1");
	struct obj *local, *dvd, *rem;
	struct xv *shared = xv_array();
	char label[160];

	if (uuid)
		db_set_str(h, "uuid", uuid);
	if (net0)
		gen_pif(h, net0, "eth0", true, address, 10000);
	if (net1)
		gen_pif(h, net1, "eth1", false, NULL, 10000);
	/* the pool's shared SRs, before this host adds its own */
	for (struct obj *sr = db.head[srcls->idx]; sr; sr = sr->cnext)
		if (db_bool(sr, "shared"))
			xv_array_push(shared, xv_string(sr->ref));
	local = gen_sr("Local storage", i % 2 ? "ext" : "lvm", "user", false, (i % 3 == 1 ? 1800 : 900) * GiB);
	snprintf(label, sizeof(label), "Local storage on %s", name);
	db_set_str(local, "name_description", label);
	gen_pbd(h, local, strmap("device", "/dev/sda3", NULL));
	for (size_t k = 0; k < xv_len(shared); k++) {
		struct obj *sr = db_find(xv_str(xv_at(shared, k)));
		gen_pbd(h, sr, shared_pbd_config(sr));
	}
	xv_free(shared);
	dvd = gen_sr("DVD drives", "udev", "iso", false, 0);
	db_set_str(dvd, "name_description", "Physical DVD drives");
	gen_pbd(h, dvd, strmap("location", "/dev/xapi/cd", NULL));
	rem = gen_sr("Removable storage", "udev", "disk", false, 0);
	gen_pbd(h, rem, strmap("location", "/dev/xapi/block", NULL));
	gen_pci(h);
	vm_make_dom0(h);
	db_map_put(local, "other_config", "i18n-key", "local-storage");
	if (local_sr)
		*local_sr = local;
	return h;
}

/* ---- templates -------------------------------------------------------------- */

struct tmpl {
	const char *name;
	const char *distro;
	int vcpus;
	int mem_mib;
	int disk_gib;
	bool windows;
	bool uefi;            /* HVM_boot_params firmware=uefi */
	const char *supports; /* "bios uefi secure": the supports-* recommendations, NULL: none given */
	int vcpus_min;
};

/* As guest-templates-json builds XCP-ng 8.x's (the base-hvmlinux family
 * names no firmware; base-windows-uefi allows BIOS and UEFI). The order
 * matters: gen_guest picks Linux from the first ten, Windows from 12-15. */
static const struct tmpl templates[] = {
	{"Debian Bookworm 12", "debian", 1, 1024, 10, false, false, NULL, 0},
	{"Debian Bullseye 11", "debian", 1, 1024, 10, false, false, NULL, 0},
	{"Ubuntu Noble Numbat 24.04", "ubuntu", 1, 2048, 10, false, false, NULL, 0},
	{"Ubuntu Jammy Jellyfish 22.04", "ubuntu", 1, 2048, 10, false, false, NULL, 0},
	{"Rocky Linux 9", "rhel", 1, 2048, 15, false, false, NULL, 0},
	{"AlmaLinux 9", "rhel", 1, 2048, 15, false, false, NULL, 0},
	{"CentOS Stream 9", "rhel", 1, 2048, 15, false, false, NULL, 0},
	{"Red Hat Enterprise Linux 9", "rhel", 1, 2048, 15, false, false, NULL, 0},
	{"Oracle Linux 9", "rhel", 1, 2048, 15, false, false, NULL, 0},
	{"Alpine Linux 3.19", "alpine", 1, 512, 8, false, false, NULL, 0},
	{"Generic Linux UEFI", "linux", 1, 2048, 10, false, true, "uefi secure", 0},
	{"Generic Linux BIOS", "linux", 1, 2048, 10, false, false, "bios", 0},
	{"Windows 10 (64-bit)", "windows", 2, 2048, 32, true, false, "bios uefi secure", 2},
	{"Windows 11", "windows", 2, 4096, 64, true, true, "uefi secure", 2},
	{"Windows Server 2019 (64-bit)", "windows", 2, 2048, 32, true, false, "bios uefi secure", 2},
	{"Windows Server 2022 (64-bit)", "windows", 2, 2048, 32, true, false, "bios uefi secure", 2},
	{"Other install media", "other", 1, 1024, 8, false, false, NULL, 0},
};

static void set_memory(struct obj *vm, int64_t mem)
{
	db_set_int(vm, "memory_static_max", mem);
	db_set_int(vm, "memory_dynamic_max", mem);
	db_set_int(vm, "memory_dynamic_min", mem);
	db_set_int(vm, "memory_static_min", mem < 512 * MiB ? mem : 512 * MiB);
	db_set_int(vm, "memory_target", mem);
}

static void set_hvm(struct obj *vm, bool windows, bool uefi)
{
	db_set_str(vm, "HVM_boot_policy", "BIOS order");
	/* Windows templates name their firmware and boot from disk first */
	db_set(vm, "HVM_boot_params", uefi      ? strmap("order", windows ? "cd" : "cdn", "firmware", "uefi", NULL)
				      : windows ? strmap("order", "cd", "firmware", "bios", NULL)
						: strmap("order", "cdn", NULL));
	db_set(vm, "platform",
	       windows ? strmap("timeoffset", "0", "viridian", "true", "viridian_time_ref_count", "true",
				"viridian_reference_tsc", "true", "nx", "true", "acpi", "1", "apic", "true", "pae",
				"true", "hpet", "true", "vga", "std", "videoram", "8", "device_id", "0002",
				"cores-per-socket", "2", "secureboot", uefi ? "true" : "false", NULL)
	       : uefi ? strmap("timeoffset", "0", "nx", "true", "acpi", "1", "apic", "true", "pae", "true", "viridian",
			       "false", "hpet", "true", "vga", "std", "videoram", "8", "device_id", "0001",
			       "secureboot", "auto", NULL)
		      : strmap("timeoffset", "0", "device-model", "qemu-upstream-compat", "nx", "true", "acpi", "1",
			       "apic", "true", "pae", "true", "viridian", "false", "hpet", "true", "vga", "std",
			       "videoram", "8", "device_id", "0001", "secureboot", "false", NULL));
	db_set_str(vm, "domain_type", "hvm");
	db_set_str(vm, "actions_after_shutdown", "destroy");
	db_set_str(vm, "actions_after_reboot", "restart");
	db_set_str(vm, "actions_after_crash", "restart");
	db_set_str(vm, "actions_after_softreboot", "soft_reboot");
	db_set(vm, "VCPUs_params", xv_struct());
	db_set_int(vm, "user_version", 1);
	db_set_int(vm, "hardware_platform_version", 0);
	db_set_bool(vm, "has_vendor_device", windows);
}

static void gen_template(const struct tmpl *t)
{
	struct obj *vm = db_create_named("VM");
	char disks[256];

	db_set_str(vm, "name_label", t->name);
	db_set_str(vm, "name_description", "Template which allows VM installation from install media");
	db_set_bool(vm, "is_a_template", true);
	db_set_bool(vm, "is_default_template", true);
	db_set_int(vm, "VCPUs_max", t->vcpus);
	db_set_int(vm, "VCPUs_at_startup", t->vcpus);
	set_memory(vm, t->mem_mib * MiB);
	set_hvm(vm, t->windows, t->uefi);
	snprintf(disks, sizeof(disks),
		 "<provision><disk device=\"0\" size=\"%lld\" sr=\"\" bootable=\"true\" type=\"system\"/></provision>",
		 (long long)t->disk_gib * GiB);
	db_set(vm, "other_config",
	       strmap("default_template", "true", "linux_template", t->windows ? "false" : "true",
		      "install-methods", t->windows ? "cdrom" : "cdrom,nfs,http,ftp", "disks", disks,
		      "base_template_name", t->name, "mac_seed", db_str(vm, "uuid"), NULL));
	{
		/* in guest-templates-json's order: fields, then the two properties */
		char min[64] = "", sup[256] = "";
		char *rec;
		if (t->vcpus_min)
			snprintf(min, sizeof(min), "<restriction field=\"vcpus-min\" min=\"%d\"/>", t->vcpus_min);
		if (t->supports)
			snprintf(sup, sizeof(sup),
				 "<restriction field=\"supports-bios\" value=\"%s\"/>"
				 "<restriction field=\"supports-uefi\" value=\"%s\"/>"
				 "<restriction field=\"supports-secure-boot\" value=\"%s\"/>",
				 strstr(t->supports, "bios") ? "yes" : "no", strstr(t->supports, "uefi") ? "yes" : "no",
				 strstr(t->supports, "secure") ? "yes" : "no");
		rec = xasprintf("<restrictions><restriction field=\"memory-static-max\" max=\"1649267441664\"/>%s"
				"<restriction field=\"vcpus-max\" max=\"%d\"/>"
				"<restriction field=\"has-vendor-device\" value=\"%s\"/>"
				"<restriction field=\"allow-gpu-passthrough\" value=\"1\"/>"
				"<restriction field=\"allow-vgpu\" value=\"1\"/>%s"
				"<restriction max=\"255\" property=\"number-of-vbds\"/>"
				"<restriction max=\"7\" property=\"number-of-vifs\"/></restrictions>",
				min, t->windows ? 64 : 32, t->windows ? "true" : "false", sup);
		db_set_str(vm, "recommendations", rec);
		free(rec);
	}
	vm_refresh_ops(vm);
}

/* ---- guests ------------------------------------------------------------------- */

static const char *const linux_names[] = {
	"web01", "web02", "db01", "db02", "mail", "gitlab", "nextcloud", "pihole", "homeassistant", "jellyfin",
	"nginx-proxy", "monitoring", "k8s-master", "k8s-node1", "k8s-node2", "backup", "dns01", "vpn", "wiki",
	"ci-runner",
};
static const char *const windows_names[] = {
	"win10-desktop", "winserver-dc01", "win11-lab", "sql2019", "rds01",
};

static void guest_metrics(struct obj *vm, const struct tmpl *t, const char *ip, bool tools_current)
{
	struct obj *g = db_create_named("VM_guest_metrics");

	if (t->windows)
		db_set(g, "os_version", strmap("name", "Microsoft Windows 10 Pro|C:\\Windows|\\Device\\Harddisk0\\Partition2",
					       "distro", "windows", "major", "10", "minor", "0", "spmajor", "0",
					       "spminor", "0", NULL));
	else
		db_set(g, "os_version",
		       strmap("name", strcmp(t->distro, "ubuntu") == 0 ? "Ubuntu 24.04.1 LTS"
				      : strcmp(t->distro, "rhel") == 0     ? "Rocky Linux 9.4 (Blue Onyx)"
									   : "Debian GNU/Linux 12 (bookworm)",
			      "distro", t->distro, "major", strcmp(t->distro, "rhel") == 0 ? "9" : "12", "minor", "4",
			      "uname", "6.1.0-26-amd64", NULL));
	db_set(g, "PV_drivers_version",
	       tools_current ? strmap("major", "8", "minor", "3", "micro", "0", "build", "1", NULL)
			     : strmap("major", "7", "minor", "2", "micro", "0", "build", "1", NULL));
	db_set_bool(g, "PV_drivers_up_to_date", tools_current);
	db_set_bool(g, "PV_drivers_detected", true);
	db_set(g, "networks", strmap("0/ip", ip, "0/ipv4/0", ip, "0/ipv6/0", "fe80::a8f0:1ff:fe2b:7c01", NULL));
	db_set(g, "other", strmap("feature-shutdown", "1", "feature-suspend", "1", "feature-poweroff", "1",
				  "feature-reboot", "1", "feature-vcpu-hotplug", "1", "has-vendor-device",
				  t->windows ? "1" : "0", "platform-feature-multiprocessor-suspend", "1", NULL));
	db_set(g, "disks", xv_struct());
	db_set(g, "memory", xv_struct());
	db_set_bool(g, "live", true);
	db_set_str(g, "can_use_hotplug_vbd", "yes");
	db_set_str(g, "can_use_hotplug_vif", "yes");
	db_set_now(g, "last_updated");
	db_set_ref(vm, "guest_metrics", g);
}

static void gen_guest(int i, int made[2], struct obj **hosts, int nhosts, struct obj **local_srs, struct obj *nfs,
		      struct obj *net0)
{
	bool windows = rnd(5) == 0;
	const struct tmpl *t = windows ? &templates[12 + rnd(4)] : &templates[rnd(10)];
	const char *const *names = windows ? windows_names : linux_names;
	size_t nnames = windows ? ARRAY_LEN(windows_names) : ARRAY_LEN(linux_names);
	unsigned roll = rnd(100);
	const char *power = roll < 55 ? "Running" : roll < 85 ? "Halted" : roll < 95 ? "Suspended" : "Paused";
	int hi = rnd((unsigned)nhosts);
	struct obj *host = hosts[hi];
	struct obj *vm = db_create_named("VM");
	struct obj *sr = rnd(3) == 0 ? nfs : local_srs[hi];
	struct obj *vdi, *vbd;
	char name[96], ip[32], mac[18];
	int vcpus = 1 << rnd(3);
	int64_t mem = (int64_t)(1 << rnd(4)) * GiB;
	static const char *const tagsets[][3] = {
		{"prod", NULL, NULL}, {"backup", "critical", NULL}, {"lab", NULL, NULL}, {"dmz", "prod", NULL},
	};

	{
		/* web01, db01, ... then web01-2: numbered per kind, not per pool */
		int k = made[windows]++;

		snprintf(name, sizeof(name), "%s", names[(size_t)k % nnames]);
		if ((size_t)k >= nnames)
			snprintf(name, sizeof(name), "%s-%d", names[(size_t)k % nnames], k / (int)nnames + 1);
	}
	db_set_str(vm, "name_label", name);
	db_set_str(vm, "name_description", windows ? "Windows workstation" : "");
	db_set_int(vm, "VCPUs_max", vcpus);
	db_set_int(vm, "VCPUs_at_startup", vcpus);
	set_memory(vm, mem);
	set_hvm(vm, windows, t->uefi);
	mac_of(mac);
	db_set(vm, "other_config", strmap("base_template_name", t->name, "install-methods", "cdrom",
					  "mac_seed", xv_str(db_field(vm, "uuid")), "import_task", "", NULL));
	if (rnd(3) == 0) {
		const char *const *ts = tagsets[rnd(4)];
		struct xv *tags = xv_array();
		for (int k = 0; k < 3 && ts[k]; k++)
			xv_array_push(tags, xv_string(ts[k]));
		db_set(vm, "tags", tags);
	}
	vdi = gen_vdi(sr, name, (int64_t)t->disk_gib * GiB * (1 + rnd(2)), "system", false);
	{
		char desc[128];
		snprintf(desc, sizeof(desc), "Created by template provisioner");
		db_set_str(vdi, "name_description", desc);
	}
	vbd = vm_add_vbd(vm, vdi, "0", "Disk", "RW", true);
	(void)vbd;
	vm_add_vbd(vm, NULL, "3", "CD", "RO", false);
	vm_add_vif(vm, net0, "0", mac);
	snprintf(ip, sizeof(ip), "192.168.1.%d", 100 + i % 150);
	vm_set_power(vm, power, strcmp(power, "Halted") == 0 || strcmp(power, "Suspended") == 0 ? NULL : host);
	if (strcmp(power, "Halted") != 0 && rnd(4) != 0)
		guest_metrics(vm, t, ip, rnd(3) != 0);
	if (rnd(4) == 0)
		vm_snapshot(vm, "before-upgrade", false, NULL);
}

/* ---- the pool -------------------------------------------------------------------- */

/* nhosts hosts and nvms guests; name0/uuid0 (or NULL) name the first host.
 * A single host without guests is a fresh install: no shared SR but the
 * tools ISO SR, so that it can join a pool. */
static void gen_pool_of(int nhosts, int nvms, const char *name0, const char *uuid0)
{
	struct obj **hosts = xcalloc((size_t)nhosts, sizeof(*hosts));
	struct obj **local = xcalloc((size_t)nhosts, sizeof(*local));
	struct obj *pool = db_create_named("pool");
	struct obj *net0, *internal, *nfs = NULL, *tools, *isos = NULL;
	bool fresh = nhosts == 1 && nvms == 0;

	sm_new("ext", "Local EXT3 VHD", "SR plugin representing disks as VHD files on a local EXT3 filesystem", "user");
	sm_new("lvm", "Local LVM", "SR plugin which represents disks as VHD on Logical Volumes within a locally-attached Volume Group", "user");
	sm_new("nfs", "NFS VHD", "SR plugin which stores disks as VHD files on a remote NFS filesystem", "user");
	sm_new("iso", "ISO", "Handles CD images stored as files in iso format", "iso");
	sm_new("udev", "Local Device", "SR plugin which represents block devices as VDIs", "disk");
	sm_new("smb", "SMB VHD", "SR plugin which stores disks as VHD files on a remote SMB filesystem", "user");

	net0 = gen_network("Pool-wide network associated with eth0", "xenbr0", "");
	gen_network("Pool-wide network associated with eth1", "xenbr1", "");
	internal = gen_network("Host internal management network", "xenapi",
			       "Network on which guests will be assigned a private link-local IP address which can be used to talk XenAPI");
	db_set(internal, "other_config", strmap("is_guest_installer_network", "true", "is_host_internal_management_network", "true", "ip_begin", "169.254.0.1", "ip_end", "169.254.255.254", "netmask", "255.255.0.0", NULL));
	gen_network("Private network (firewall LAN)", "xapi1", "Host-internal network, no NIC");

	if (!fresh) {
		nfs = gen_sr("NFS storage", "nfs", "user", true, 2048 * GiB);
		db_set_str(nfs, "name_description", "NFS SR [192.168.1.5:/srv/vms]");
	}
	tools = gen_sr("XCP-ng Tools", "iso", "iso", true, 0);
	db_set_str(tools, "name_description", "XCP-ng Tools ISOs");
	db_set_bool(tools, "is_tools_sr", true);
	db_set(tools, "other_config", strmap("xensource_internal", "true", "i18n-key", "xenserver-tools", NULL));
	if (!fresh) {
		isos = gen_sr("ISO library", "iso", "iso", true, 500 * GiB);
		db_set_str(isos, "name_description", "NFS ISO library [192.168.1.5:/srv/isos]");
	}
	/* XCP-ng's guest tools ISO: clients find it by is_tools_iso, not by name */
	db_set_bool(gen_vdi(tools, "guest-tools.iso", 52 * MiB, "user", true), "is_tools_iso", true);
	if (isos) {
		gen_vdi(isos, "debian-12.7.0-amd64-netinst.iso", 631 * MiB, "user", true);
		gen_vdi(isos, "ubuntu-24.04.1-live-server-amd64.iso", 2638 * MiB, "user", true);
		gen_vdi(isos, "Win10_22H2_English_x64v1.iso", 5800 * MiB, "user", true);
	}

	for (int i = 0; i < nhosts; i++) {
		char name[64];

		snprintf(name, sizeof(name), "xcp-ng-%02d", i + 1);
		hosts[i] = gen_host_with_devices(i, i == 0 && name0 ? name0 : name, sim.address, i == 0 ? uuid0 : NULL,
						 &local[i]);
	}
	sim.local_host = hosts[0];
	db_set_str(pool, "name_label", "Demo pool");
	db_set_str(pool, "name_description", "Simulated by xapi-sim");
	db_set_ref(pool, "master", hosts[0]);
	db_set_ref(pool, "default_SR", nfs ? nfs : local[0]);
	db_set_ref(pool, "suspend_image_SR", nfs ? nfs : local[0]);
	db_set_ref(pool, "crash_dump_SR", nfs ? nfs : local[0]);
	db_set(pool, "other_config", strmap("auto_poweron", "false", "memory-ratio-hvm", "0.25", "memory-ratio-pv", "0.25", NULL));
	db_set(pool, "cpu_info", strmap("cpu_count", "68", "socket_count", "4", "vendor", "GenuineIntel", NULL));
	db_set(pool, "restrictions", strmap("restrict_vswitch_controller", "false", "restrict_lab", "false", "restrict_pooling", "false", "restrict_xen_motion", "false", NULL));
	db_set(pool, "allowed_operations", strset("ha_enable", "cluster_create", "designate_new_master", NULL));
	db_set_str(pool, "redo_log_vdi", "OpaqueRef:NULL");
	db_set_str(pool, "vswitch_controller", "");
	db_set(pool, "gui_config", xv_struct());
	db_set_bool(pool, "tls_verification_enabled", true);
	db_set_str(pool, "uefi_certificates", "");

	for (size_t t = 0; t < ARRAY_LEN(templates); t++)
		gen_template(&templates[t]);
	for (int i = 0, made[2] = {0, 0}; i < nvms; i++)
		gen_guest(i, made, hosts, nhosts, local, nfs, net0);
	for (int i = 0; i < nhosts; i++)
		host_refresh_memory(hosts[i]);
	gen_messages(hosts[0]);
	gen_recent_tasks(hosts[0]);
	free(hosts);
	free(local);
}

void gen_pool(void)
{
	gen_pool_of(sim.hosts, sim.vms, NULL, NULL);
}

void gen_standalone(const char *name, const char *uuid)
{
	gen_pool_of(1, 0, name, uuid);
}

/* What a pool shows in its task list after a little use: finished tasks
 * that nobody destroyed yet (xapi keeps them about an hour). */
static void gen_recent_tasks(struct obj *master)
{
	static const struct {
		const char *label, *status, *result, *error;
	} tasks[] = {
		{"Async.VM.snapshot", "success", "<value>OpaqueRef:NULL</value>", NULL},
		{"Async.VM.clean_shutdown", "failure", "", "VM_BAD_POWER_STATE"},
	};
	char now[32];

	now_iso8601(now);
	for (size_t i = 0; i < ARRAY_LEN(tasks); i++) {
		struct obj *t = db_create_named("task");
		db_set_str(t, "name_label", tasks[i].label);
		db_set_str(t, "status", tasks[i].status);
		db_set_float(t, "progress", 1.0);
		db_set(t, "created", xv_datetime(now));
		db_set(t, "finished", xv_datetime(now));
		db_set_str(t, "type", "<none/>");
		db_set_str(t, "result", tasks[i].result);
		if (tasks[i].error)
			db_set(t, "error_info", strset(tasks[i].error, "OpaqueRef:NULL", "running", "halted", NULL));
		db_set_ref(t, "resident_on", master);
	}
}

void gen_messages(struct obj *master)
{
	static const struct {
		const char *name, *cls;
		int prio;
		const char *body;
	} msgs[] = {
		{"UPDATES_PENDING", "Host", 3, "There are 7 updates pending on this host"},
		{"ALARM", "Host", 3, "<variable><name value=\"cpu_usage\"/><value value=\"0.92\"/></variable>"},
		{"HOST_SERVER_CERTIFICATE_EXPIRING_30", "Host", 2, "The TLS server certificate is expiring soon"},
		{"VM_STARTED", "Pool", 5, "VM started"},
	};
	char now[32];

	now_iso8601(now);
	for (size_t i = 0; i < ARRAY_LEN(msgs); i++) {
		struct obj *m = db_create_named("message");
		db_set_str(m, "name", msgs[i].name);
		db_set_int(m, "priority", msgs[i].prio);
		db_set_str(m, "cls", msgs[i].cls);
		db_set_str(m, "obj_uuid", xv_str(db_field(master, "uuid")));
		db_set(m, "timestamp", xv_datetime(now));
		db_set_str(m, "body", msgs[i].body);
	}
}
