#!/usr/bin/env python3
"""xapi-sim's templates and VM.provision, read with Python's xmlrpc.client:
the built-in templates as XCP-ng 8.x has them (names, other_config with
the provision XML, recommendations, HVM boot settings), and provision as
xapi does it (no longer a template, a VDI and VBD per <disk> on the SR its
uuid names, UUID_INVALID for an empty sr, the SR's space error). TAP."""
import os
import sys
import xml.etree.ElementTree as ET
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from simtest import CTX, ok, plan, start, stop_all  # noqa: E402

GiB = 1 << 30


def main():
    url = start("--hosts", "2", "--vms", "4")
    px = xmlrpc.client.ServerProxy(url, context=CTX)

    def call(method, *args):
        f = px
        for part in method.split("."):
            f = getattr(f, part)
        return f(*args)

    s = call("session.login_with_password", "root", "xapi-sim", "1.0", "templates.py")["Value"]

    def value(method, *args):
        r = call(method, s, *args)
        if r["Status"] != "Success":
            raise RuntimeError("%s: %s" % (method, r["ErrorDescription"]))
        return r["Value"]

    def error(method, *args):
        r = call(method, s, *args)
        return r.get("ErrorDescription") if r["Status"] != "Success" else None

    vms = value("VM.get_all_records")
    templates = {r["name_label"]: (ref, r) for ref, r in vms.items()
                 if r["is_a_template"] and not r["is_a_snapshot"]}
    want = ["Debian Bookworm 12", "Debian Bullseye 11", "Ubuntu Jammy Jellyfish 22.04", "Rocky Linux 9",
            "AlmaLinux 9", "Windows 10 (64-bit)", "Windows Server 2022 (64-bit)", "Other install media"]
    ok(all(n in templates for n in want) and len(templates) >= 12,
       "the built-in templates carry XCP-ng's names (%d of them)" % len(templates), sorted(templates))

    bad = []
    for name, (ref, t) in templates.items():
        oc = t["other_config"]
        try:
            prov = ET.fromstring(oc.get("disks", ""))
            disks = prov.findall("disk")
            recs = ET.fromstring(t["recommendations"])
        except ET.ParseError as e:
            bad.append((name, "XML", str(e)))
            continue
        if not (t["is_default_template"] and oc.get("default_template") == "true"):
            bad.append((name, "default_template"))
        if prov.tag != "provision" or not disks or disks[0].get("sr") != "" or int(disks[0].get("size")) < GiB:
            bad.append((name, "provision", oc.get("disks")))
        if "cdrom" not in oc.get("install-methods", ""):
            bad.append((name, "install-methods"))
        if oc.get("linux_template") != ("false" if name.startswith("Windows") else "true"):
            bad.append((name, "linux_template"))
        fields = {r.get("field") or r.get("property"): r for r in recs.findall("restriction")}
        if recs.tag != "restrictions" or "vcpus-max" not in fields or "memory-static-max" not in fields \
                or fields.get("number-of-vifs", {}).get("max") != "7":
            bad.append((name, "recommendations", t["recommendations"]))
        if t["HVM_boot_policy"] != "BIOS order" or "order" not in t["HVM_boot_params"]:
            bad.append((name, "HVM boot", t["HVM_boot_policy"], t["HVM_boot_params"]))
        if int(t["VCPUs_at_startup"]) < 1 or int(t["memory_static_max"]) < 256 << 20:
            bad.append((name, "sizes"))
    ok(not bad, "every template has the provision XML, recommendations and HVM settings xapi's have", bad)

    deb_ref, deb = templates["Debian Bookworm 12"]
    ok(deb["HVM_boot_params"] == {"order": "cdn"} and deb["platform"].get("device-model") == "qemu-upstream-compat",
       "Debian 12 boots BIOS, order cdn, qemu-upstream-compat", (deb["HVM_boot_params"], deb["platform"]))
    win = templates["Windows Server 2022 (64-bit)"][1]
    wr = win["recommendations"]
    ok('field="supports-uefi" value="yes"' in wr and 'field="supports-secure-boot" value="yes"' in wr
       and 'field="vcpus-min" min="2"' in wr and win["HVM_boot_params"].get("firmware") == "bios",
       "Windows Server 2022 allows UEFI and secure boot, needs 2 vCPUs, defaults to BIOS", wr)
    bios = templates["Generic Linux BIOS"][1]["recommendations"]
    ok('field="supports-uefi" value="no"' in bios, "Generic Linux BIOS says UEFI is not supported", bios)

    # ---- provision, as a client drives it
    pool = value("pool.get_all")[0]
    default_sr = value("pool.get_default_SR", pool)
    sr_uuid = value("SR.get_uuid", default_sr)
    vdis_before = len(value("VDI.get_all"))
    vm = value("VM.clone", deb_ref, "prov-empty-sr")
    ok(value("VM.get_is_a_template", vm), "a clone of a template is a template")
    err = error("VM.provision", vm)
    ok(err == ["UUID_INVALID", "sr", ""], "provision with the template's sr=\"\" is UUID_INVALID [sr, \"\"] as in xapi",
       err)
    ok(not value("VM.get_is_a_template", vm), "provision made it a VM before failing (xapi's first step)")
    ok(len(value("VDI.get_all")) == vdis_before, "and made no disk")
    value("VM.destroy", vm)

    vm = value("VM.clone", deb_ref, "prov-ok")
    xml = '<provision><disk device="0" size="%d" sr="%s" bootable="true" type="system"/></provision>' % (
        20 * GiB, sr_uuid)
    value("VM.remove_from_other_config", vm, "disks")
    value("VM.add_to_other_config", vm, "disks", xml)
    task = value("Async.VM.provision", vm)
    import time
    deadline = time.time() + 20
    while value("task.get_status", task) == "pending" and time.time() < deadline:
        time.sleep(0.1)
    ok(value("task.get_status", task) == "success", "Async.VM.provision succeeds", value("task.get_record", task))
    rec = value("VM.get_record", vm)
    vbds = [value("VBD.get_record", b) for b in rec["VBDs"]]
    disks = [b for b in vbds if b["type"] == "Disk"]
    vdi = value("VDI.get_record", disks[0]["VDI"]) if disks else {}
    ok(not rec["is_a_template"] and "disks" not in rec["other_config"],
       "the VM is no template and its provision XML is gone", rec["other_config"])
    ok(len(disks) == 1 and disks[0]["userdevice"] == "0" and disks[0]["bootable"]
       and disks[0]["other_config"].get("owner") == "" and not disks[0]["unpluggable"],
       "one bootable disk VBD on device 0, owned, not unpluggable", disks)
    ok(vdi.get("SR") == default_sr and int(vdi.get("virtual_size", 0)) == 20 * GiB and vdi.get("name_label") == "0"
       and vdi.get("name_description") == "Created by template provisioner" and vdi.get("type") == "system",
       "its VDI: 20 GiB on the SR named, labelled by its device as xapi's provisioner does", vdi)

    vm2 = value("VM.clone", deb_ref, "prov-full")
    huge = '<provision><disk device="0" size="%d" sr="%s" bootable="true" type="system"/></provision>' % (
        1 << 60, sr_uuid)
    value("VM.remove_from_other_config", vm2, "disks")
    value("VM.add_to_other_config", vm2, "disks", huge)
    n = len(value("VDI.get_all"))
    err = error("VM.provision", vm2)
    ok(err and err[0] == "SR_BACKEND_FAILURE_44", "a disk larger than the SR can hold fails as the SR backend does",
       err)
    ok(len(value("VDI.get_all")) == n, "no VDI was made for it")
    stop_all()
    return plan()


if __name__ == "__main__":
    try:
        rc = main()
    finally:
        stop_all()
    sys.exit(rc)
