"""New VM, in xentui --demo, checked against the simulator's records: n on
the VM list opens the templates, / finds Debian Bookworm 12, Enter opens
the form with the template's values; a VM made with an ISO, a 20 GiB disk
and one network shows in the list and the simulator has exactly that
(vCPUs, memory, the disk on the SR chosen, the CD with the ISO, the VIF,
BIOS boot), running. A VM with two disks on two SRs: two VDIs of the
sizes typed, on the SRs chosen, devices 0 and 1. Then a VM whose disk the
SR cannot hold: the step fails with the SR's error in a sentence, and no
VM, VDI, VBD or VIF is left behind. TAP output."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import Pool, Tap, Timeout, Tui, row_starting  # noqa: E402

GiB = 1 << 30
TEMPLATE = "Debian Bookworm 12"


def size_text(n):
    """screens' size_format."""
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    v, u = float(n), 0
    while abs(v) >= 1024 and u < 5:
        v /= 1024
        u += 1
    if u == 0 or v == int(v):
        return "%.0f %s" % (v, units[u])
    return ("%.1f %s" if v < 10 else "%.0f %s") % (v, units[u])


def counts(pool):
    return {cls: len(pool.call(cls + ".get_all")) for cls in ("VM", "VDI", "VBD", "VIF")}


def open_form(tap, tui, what):
    tui.keys("n")
    tui.attempt(tap, r"^NAME.*VCPUS.*RAM", f"{what}: n on the VM list shows the templates")
    tui.keys("/")
    tui.keys("C-u")
    tui.keys_literal("Bookworm")
    tui.keys("Enter")
    tui.wait(lambda s: row_starting(s, TEMPLATE) and "1 of" in s)
    tui.keys("Enter")
    return tui.attempt(tap, re.escape(f"From template '{TEMPLATE}'"), f"{what}: Enter opens the New VM form")


def field(screen, label):
    """The text after a form label, up to the field's end."""
    for line in screen.split("\n"):
        i = line.find(label + "  ")
        if i >= 0:
            return line[i + len(label):].strip()
    return ""


def set_text(tui, text):
    tui.keys("C-u")
    tui.keys_literal(text)


def main():
    tap = Tap()
    tui = Tui("vmnew", env={"NO_COLOR": "1"}, cols=160, rows=40)
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())
        vms = pool.call("VM.get_all_records")
        tmpl_ref = next(r for r, v in vms.items() if v["name_label"] == TEMPLATE and v["is_a_template"])
        tmpl = vms[tmpl_ref]
        srs = pool.call("SR.get_all_records")
        vdis = pool.call("VDI.get_all_records")
        isos = sorted(v["name_label"] for v in vdis.values()
                      if srs.get(v["SR"], {}).get("content_type") == "iso" and v["name_label"])
        iso_name = next(n for n in isos if n.startswith("debian-"))
        iso_ref = next(r for r, v in vdis.items() if v["name_label"] == iso_name)
        default_sr = pool.call("pool.get_default_SR", pool.call("pool.get_all")[0])
        nets = pool.call("network.get_all_records")
        pifs = pool.call("PIF.get_all_records")
        mgmt_net = next(p["network"] for p in pifs.values() if p["management"])

        tui.keys(":")
        tui.keys_literal("vms")
        tui.keys("Enter")
        tui.wait(r"^NAME.*POWER")
        before = counts(pool)
        screen = open_form(tap, tui, "create")
        if screen:
            tap.check(field(screen, "vCPUs").startswith(tmpl["VCPUs_at_startup"])
                      and "advised <= 32" in field(screen, "vCPUs"),
                      "vCPUs come from the template, with its recommendation", field(screen, "vCPUs"))
            mem = int(tmpl["memory_static_max"])
            # a size field shows a bare number of the unit named beside it (MiB for memory, GiB for disks)
            tap.check(re.match(r"%d\s+MiB\b" % (mem // (1 << 20)), field(screen, "Memory")) if mem % (1 << 20) == 0
                      else True, "memory comes from the template (in MiB, named beside it)", field(screen, "Memory"))
            tap.check(re.match(r"10\s+GiB\b", field(screen, "Disk size")),
                      "the disk size comes from the template's provision XML (10 GiB)", field(screen, "Disk size"))
            tap.check(srs[default_sr]["name_label"] in field(screen, "Disk SR"),
                      "the disk goes to the pool's default SR unless told", field(screen, "Disk SR"))
            tap.check(field(screen, "Network").startswith("< " + nets[mgmt_net]["name_label"][:20]),
                      "the network is the management interface's", field(screen, "Network"))
            tap.check(field(screen, "Boot mode").startswith("< BIOS"), "Debian's template boots BIOS",
                      field(screen, "Boot mode"))

        tui.keys_literal("deb-new")
        tui.keys("Tab", "Tab")  # description kept
        set_text(tui, "2")
        tui.keys("Tab")
        set_text(tui, "2 GiB")
        tui.keys("Tab")
        for _ in range(2 + isos.index(iso_name)):
            tui.keys("Right")
        tui.attempt(tap, re.escape(f"< {iso_name[:20]}"), "Right chooses the Debian ISO as install media")
        tui.keys("Tab", "Tab", "Tab", "Tab", "Tab")  # boot, network, second network, disk name
        set_text(tui, "20 GiB")
        tui.keys("Enter")
        tui.attempt(tap, r"New VM 'deb-new': created and started", "the VM is created and started (message)",
                    timeout=60)
        row = tui.attempt(tap, lambda s: row_starting(s, "deb-new"), "it shows in the VM list")
        if row:
            line = row_starting(row, "deb-new")
            tap.check("Running" in line and re.search(r"\b2\s+2 GiB\b", line),
                      "its row: Running, 2 vCPUs, 2 GiB", line)

        new = [(r, v) for r, v in pool.guests().items() if v["name_label"] == "deb-new"]
        tap.check(len(new) == 1, "the simulator has one VM called deb-new", new)
        if new:
            ref, vm = new[0]
            tap.check(vm["VCPUs_max"] == "2" and vm["VCPUs_at_startup"] == "2", "2 vCPUs",
                      (vm["VCPUs_max"], vm["VCPUs_at_startup"]))
            tap.check(all(int(vm[k]) == 2 * GiB for k in ("memory_static_max", "memory_dynamic_max",
                                                          "memory_dynamic_min")),
                      "2 GiB of memory", [vm[k] for k in vm if k.startswith("memory_")])
            tap.check(vm["power_state"] == "Running" and not vm["is_a_template"], "running, not a template",
                      vm["power_state"])
            tap.check(vm["other_config"].get("base_template_name") == TEMPLATE and "disks" not in vm["other_config"],
                      "made from the template, its provision XML gone", vm["other_config"])
            tap.check(vm["HVM_boot_params"].get("firmware") == "bios" and vm["HVM_boot_params"].get("order") == "cdn"
                      and vm["platform"].get("secureboot") == "false"
                      and vm["platform"].get("device-model") == "qemu-upstream-compat",
                      "BIOS boot, CD first", (vm["HVM_boot_params"], vm["platform"]))
            vbds = [pool.call("VBD.get_record", b) for b in vm["VBDs"]]
            disks = [b for b in vbds if b["type"] == "Disk"]
            cds = [b for b in vbds if b["type"] == "CD"]
            vdi = pool.call("VDI.get_record", disks[0]["VDI"]) if disks else {}
            tap.check(len(disks) == 1 and int(vdi.get("virtual_size", 0)) == 20 * GiB and vdi.get("SR") == default_sr
                      and vdi.get("name_label") == "deb-new 0" and disks[0]["userdevice"] == "0",
                      "one 20 GiB disk on the default SR, device 0", (disks, vdi))
            tap.check(len(cds) == 1 and cds[0]["VDI"] == iso_ref and cds[0]["userdevice"] == "3"
                      and not cds[0]["empty"], "a CD drive (device 3) with the Debian ISO", cds)
            vifs = [pool.call("VIF.get_record", v) for v in vm["VIFs"]]
            tap.check(len(vifs) == 1 and vifs[0]["network"] == mgmt_net and vifs[0]["device"] == "0"
                      and re.match(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$", vifs[0]["MAC"]),
                      "one VIF, device 0, on the management network, with a MAC xapi made", vifs)
            after = counts(pool)
            tap.check(after == {"VM": before["VM"] + 1, "VDI": before["VDI"] + 1, "VBD": before["VBD"] + 2,
                                "VIF": before["VIF"] + 1},
                      "nothing else was made: 1 VM, 1 VDI, 2 VBDs, 1 VIF", (before, after))

        # ---- two disks, on two SRs
        before = counts(pool)
        screen = open_form(tap, tui, "two disks")
        if screen:
            tap.check(re.match(r"0\s+GiB\b", field(screen, "Disk 2 size")) and "no second disk" in field(screen, "Disk 2 size"),
                      "the second disk starts at 0 (none)", field(screen, "Disk 2 size"))
            # long choice labels are not cut at 20 columns any more
            sr_label = field(screen, "Disk SR")
            tap.check("free)" in sr_label and "\u2026" not in sr_label,
                      "the SR choice shows its whole label (name and free space)", sr_label)
        # the labels the form shows: "name (free space)", a local SR's with
        # its host first ("Local storage (xcp-ng-01, 40 GiB free)")
        srs = pool.call("SR.get_all_records")
        pbd_host = {r: p["host"] for r, p in pool.call("PBD.get_all_records").items()}
        hosts = pool.hosts()

        def host_of(v):
            return "" if v["shared"] or len(v["PBDs"]) != 1 else hosts[pbd_host[v["PBDs"][0]]]["name_label"] + ", "
        labels = {r: "%s (%s%s free)" % (v["name_label"], host_of(v),
                                         size_text(int(v["physical_size"]) - int(v["physical_utilisation"])))
                  for r, v in srs.items() if v["content_type"] != "iso" and v["type"] != "udev"}
        tui.keys_literal("deb-two")
        for _ in range(9):
            tui.keys("Tab")  # to the disk size
        set_text(tui, "3 GiB")
        tui.keys("Tab", "Tab")  # disk SR (default), second disk's name
        tui.keys_literal("deb-two data")
        tui.keys("Tab")
        set_text(tui, "5 GiB")
        tui.keys("Tab")
        tui.keys("Right")
        screen = tui.attempt(tap, lambda s: field(s, "Disk 2 SR") and labels[default_sr] not in field(s, "Disk 2 SR"),
                             "Right chooses another SR for the second disk")
        shown = field(screen or "", "Disk 2 SR")
        m = re.match(r"< (.*) >", shown)
        other = [r for r, l in labels.items() if m and l == m.group(1)]
        tap.check(len(other) == 1, "the SR shown is one of the pool's, with its free space", (shown, labels))
        other_sr = other[0] if other else None
        tui.keys("Tab", "Space")  # not started
        tui.keys("Enter")
        tui.attempt(tap, r"New VM 'deb-two': created", "the VM with two disks is created (message)", timeout=60)
        new = [(r, v) for r, v in pool.guests().items() if v["name_label"] == "deb-two"]
        tap.check(len(new) == 1, "the simulator has one VM called deb-two", new)
        if new:
            vbds = [pool.call("VBD.get_record", b) for b in new[0][1]["VBDs"]]
            disks = sorted((b for b in vbds if b["type"] == "Disk"), key=lambda b: b["userdevice"])
            got = [(b["userdevice"], pool.call("VDI.get_record", b["VDI"])) for b in disks]
            want = [("0", "deb-two 0", 3 * GiB, default_sr), ("1", "deb-two data", 5 * GiB, other_sr)]
            tap.check([(d, v["name_label"], int(v["virtual_size"]), v["SR"]) for d, v in got] == want,
                      "two VDIs: 3 GiB on the default SR (device 0), 5 GiB 'deb-two data' on the other (device 1)",
                      [(d, v["name_label"], v["virtual_size"], v["SR"]) for d, v in got])
            tap.check(len(disks) == 2 and disks[0]["bootable"] and not disks[1]["bootable"]
                      and new[0][1]["power_state"] == "Halted",
                      "the first disk boots, the second does not; the VM was not started",
                      ([b["bootable"] for b in disks], new[0][1]["power_state"]))
            after = counts(pool)
            tap.check(after == {"VM": before["VM"] + 1, "VDI": before["VDI"] + 2, "VBD": before["VBD"] + 3,
                                "VIF": before["VIF"] + 1},
                      "1 VM, 2 VDIs, 3 VBDs (two disks and the CD drive), 1 VIF", (before, after))

        # ---- a disk the SR cannot hold: undone whole
        before = counts(pool)
        open_form(tap, tui, "failure")
        tui.keys_literal("deb-fail")
        for _ in range(9):
            tui.keys("Tab")  # to the disk size
        set_text(tui, "100 TiB")
        tui.keys("Enter")
        tui.attempt(tap, lambda s: "larger than the free space of" in s and "Create it anyway?" in s,
                    "a disk larger than the SR's free space is said before creating")
        tui.keys("y")
        text = tui.attempt(tap, r"New VM 'deb-fail' failed at \d+/\d+, creating disk 'deb-fail 0': "
                                r".*(space|full).*\. Nothing was left behind\.",
                           "the failing step is named, with the SR's error as a sentence", timeout=60)
        after = counts(pool)
        tap.check(after == before, "no VM, VDI, VBD or VIF is left behind", (before, after))
        tap.check(not any(v["name_label"] == "deb-fail" for v in pool.call("VM.get_all_records").values()),
                  "the simulator has no VM called deb-fail")
        tap.check(text is None or not row_starting(tui.screen(), "deb-fail"), "nor does the list")

        tui.quit_and_check(tap)
    except (Timeout, RuntimeError, StopIteration, IndexError, ValueError, KeyError) as e:
        tap.check(False, "the scenario ran to its end", e)
    finally:
        tui.close()
    tap.done()


if __name__ == "__main__":
    main()
