"""A VM's devices from its screen in xentui --demo, checked against the
simulator's own records: the guest tools ISO (XCP-ng Tools SR) mounted
with one key, another ISO inserted (the tools ejected first), the drive
ejected; a new disk of a typed size made and plugged, then removed with
its data; an internal network made on :networks and a second interface on
it added to a running VM, its TX checksum offload turned off (as firewall
VMs need) and on again, and the interface removed. TAP output."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import Pool, Tap, Timeout, Tui, row_starting  # noqa: E402

GiB = 1024 ** 3


def unique_names(guests):
    texts = [v["name_label"] + " " + " ".join(v["tags"]) for v in guests.values()]
    return {v["name_label"] for v in guests.values() if sum(v["name_label"] in t for t in texts) == 1}


def filter_to(tui, text):
    tui.keys("/")
    tui.keys("C-u")
    tui.keys_literal(text)
    tui.keys("Enter")


def choose(tui, label, candidates, timeout=20):
    """In a choose dialog whose rows are candidates (in any order), moves to
    label's row and takes it."""
    screen = tui.wait(lambda s: label in s, timeout=timeout)
    rows = [l for l in screen.split("\n") if "│" in l and any(c in l for c in candidates)]
    index = next(i for i, l in enumerate(rows) if label in l)
    for _ in range(index):
        tui.keys("Down")
    tui.keys("Enter")


def cd_vbd(pool, vm_ref):
    for vbd in pool.vm(vm_ref)["VBDs"]:
        r = pool.call("VBD.get_record", vbd)
        if r["type"] == "CD":
            return r
    return None


def disk_vdis(pool, vm_ref):
    out = {}
    for vbd in pool.vm(vm_ref)["VBDs"]:
        r = pool.call("VBD.get_record", vbd)
        if r["type"] == "Disk" and r["VDI"] != "OpaqueRef:NULL":
            out[r["VDI"]] = (vbd, r)
    return out


def check_sim(tap, pool, pred, name, what, timeout=20):
    try:
        v = pool.wait(pred, timeout=timeout, what=what)
        tap.check(True, name)
        return v
    except Timeout as e:
        tap.check(False, name, e)
        return None


def main():
    tap = Tap()
    tui = Tui("vmdevices", env={"NO_COLOR": "1"}, cols=130, rows=32)
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())
        guests = pool.guests()
        unique = unique_names(guests)
        vm_ref, vm = next((r, v) for r, v in sorted(guests.items(), key=lambda kv: kv[1]["name_label"])
                          if v["power_state"] == "Running" and v["name_label"] in unique)
        name = vm["name_label"]
        vdis = pool.call("VDI.get_all_records")
        srs = pool.call("SR.get_all_records")
        tools = next(r for r, v in vdis.items() if v["is_tools_iso"])
        isos = {r: v for r, v in vdis.items() if srs[v["SR"]]["content_type"] == "iso"}
        iso_names = [v["name_label"] for v in isos.values()]
        other_ref, other = next((r, v) for r, v in sorted(isos.items(), key=lambda kv: kv[1]["name_label"])
                                if r != tools)

        # ---- an internal network for the firewall's LAN side, made on :networks
        tui.keys(":")
        tui.keys_literal("net")
        tui.keys("Enter")
        tui.wait(r"^NAME.*BRIDGE")
        tui.keys("n")
        tui.wait(r"Internal network")
        choose(tui, "Internal network", ["Internal network", "VLAN on"])
        tui.wait(r"New internal network")
        tui.keys_literal("fw-lan")
        tui.keys("Enter")
        net = check_sim(tap, pool, lambda: next((r for r, v in pool.call("network.get_all_records").items()
                                                 if v["name_label"] == "fw-lan" and not v["PIFs"]), None),
                        "sim: the internal network fw-lan exists, on no NIC", "fw-lan")

        # ---- the VM's screen, Disks tab
        tui.keys(":")
        tui.keys_literal("vms")
        tui.keys("Enter")
        tui.wait(r"^NAME.*POWER")
        filter_to(tui, name)
        tui.wait(lambda s: row_starting(s, name) and "1 of" in s.split("\n")[1])
        tui.keys("Enter")
        tui.wait(r"Disks")
        tui.keys("2")
        tui.attempt(tap, r"^POS.*NAME.*SIZE", "the Disks tab lists the drives")
        tui.attempt(tap, r"g Guest tools", "the key bar offers the guest tools on the Disks tab")

        # ---- guest tools, another ISO, eject
        tui.keys("g")
        check_sim(tap, pool, lambda: (cd_vbd(pool, vm_ref) or {}).get("VDI") == tools,
                  "sim: g put the tools ISO (is_tools_iso) in the VM's DVD drive", "tools in the drive")
        tui.attempt(tap, lambda s: "guest-tools.iso" in s and "Insert 'guest-tools.iso'" in s,
                    "the DVD drive row shows guest-tools.iso")
        tui.keys("i")
        tui.wait(r"Insert an ISO")
        choose(tui, other["name_label"], iso_names)
        check_sim(tap, pool, lambda: (cd_vbd(pool, vm_ref) or {}).get("VDI") == other_ref,
                  f"sim: i swapped the disc for {other['name_label']} (the tools ejected first)", "the other ISO")
        tui.attempt(tap, lambda s: other["name_label"] in s and "guest-tools.iso" not in s.split("\n")[-3],
                    "the drive shows the new ISO")
        tui.keys("E")
        check_sim(tap, pool, lambda: (cd_vbd(pool, vm_ref) or {}).get("empty") is True,
                  "sim: E ejected it, the drive is empty", "empty drive")
        tui.attempt(tap, r"\(empty drive\)", "the drive shows as empty")

        # ---- a new disk, then removed with its data
        before = set(disk_vdis(pool, vm_ref))
        tui.keys("a")
        tui.wait(r"New disk")
        tui.keys("C-u")
        tui.keys_literal("data1")
        tui.keys("Tab", "C-u")
        tui.keys_literal("3 GiB")
        tui.keys("Enter")
        new = check_sim(tap, pool, lambda: [v for v in set(disk_vdis(pool, vm_ref)) - before],
                        "sim: a disk was added to the VM", "new disk", timeout=30)
        if new:
            vdi = pool.call("VDI.get_record", new[0])
            vbd_ref, vbd = disk_vdis(pool, vm_ref)[new[0]]
            default_sr = pool.call("pool.get_all_records").popitem()[1]["default_SR"]
            tap.check(vdi["name_label"] == "data1" and int(vdi["virtual_size"]) == 3 * GiB
                      and vdi["SR"] == default_sr and vbd["mode"] == "RW",
                      "sim: data1 is 3 GiB on the pool's default SR, read-write", (vdi, vbd))
            check_sim(tap, pool, lambda: pool.call("VBD.get_record", vbd_ref)["currently_attached"],
                      "sim: the running VM got it plugged", "plugged", timeout=30)
        tui.attempt(tap, lambda s: row_of_name(s, "data1"), "the Disks tab lists data1")
        filter_to(tui, "data1")
        tui.wait(lambda s: "1 of" in s.split("\n")[1])
        tui.keys("d")
        tui.wait(r"Remove disk")
        choose(tui, "Detach and destroy the disk", ["Detach it, keep the disk", "Detach and destroy the disk"])
        tui.wait(r"Destroy disk")
        tui.keys_literal("data1")
        tui.keys("Enter")
        if new:
            check_sim(tap, pool, lambda: new[0] not in pool.call("VDI.get_all")
                      and new[0] not in disk_vdis(pool, vm_ref),
                      "sim: data1 unplugged, detached and destroyed", "data1 gone", timeout=40)
        tui.keys("Escape")

        # ---- attach an existing disk: a free VDI made in the sim, A on the Disks tab
        default_sr = pool.call("pool.get_all_records").popitem()[1]["default_SR"]
        spare = pool.call("VDI.create", {
            "name_label": "spare1", "name_description": "", "SR": default_sr, "virtual_size": str(2 * GiB),
            "type": "user", "sharable": False, "read_only": False, "other_config": {}, "xenstore_data": {},
            "sm_config": {}, "tags": []})
        srs = pool.call("SR.get_all_records")
        free = [v["name_label"] for v in pool.call("VDI.get_all_records").values()
                if not v["VBDs"] and v["type"] == "user" and not v["is_a_snapshot"]
                and srs.get(v["SR"], {}).get("content_type") != "iso"]
        # the new VDI reaches xentui's cache through event.from: until then A finds no free disk
        for _ in range(6):
            tui.keys("A")
            try:
                tui.wait(lambda s: "Attach a disk" in s and "spare1" in s, timeout=5)
                break
            except Timeout:
                screen = tui.screen()
                print("# " + screen.split("\n")[-2])
                if "Attach a disk" in screen:  # a dialog without it; with no free disk, only a message
                    tui.keys("Escape")
        choose(tui, "spare1", free)
        got = check_sim(tap, pool, lambda: disk_vdis(pool, vm_ref).get(spare),
                        "sim: A attached the free disk spare1 to the VM (a VBD for it)", "spare1's VBD", timeout=30)
        if got:
            vbd_ref, vbd = got
            tap.check(vbd["mode"] == "RW" and vbd["type"] == "Disk", "sim: as a read-write disk", vbd)
            check_sim(tap, pool, lambda: pool.call("VBD.get_record", vbd_ref)["currently_attached"],
                      "sim: the running VM got it plugged", "plugged", timeout=30)
        tui.attempt(tap, lambda s: row_of_name(s, "spare1"), "the Disks tab lists spare1")

        # ---- a second interface on fw-lan, TX checksum offload off and on
        tui.keys("3")
        tui.wait(r"^DEV.*MAC.*NETWORK.*TX CSUM")
        vifs_before = set(pool.vm(vm_ref)["VIFs"])
        tui.keys("a")
        tui.wait(r"Add an interface")
        nets = [v["name_label"] for v in pool.call("network.get_all_records").values()
                if v["other_config"].get("is_host_internal_management_network") != "true"]
        choose(tui, "fw-lan", nets)
        added = check_sim(tap, pool, lambda: [v for v in set(pool.vm(vm_ref)["VIFs"]) - vifs_before],
                          "sim: the VM has a new VIF", "new VIF", timeout=30)
        vif_ref = added[0] if added else None
        if vif_ref:
            rec = pool.call("VIF.get_record", vif_ref)
            tap.check(rec["network"] == net and rec["device"] == "1" and rec["MAC"],
                      "sim: it is on fw-lan, device 1, with a MAC xapi made", rec)
            check_sim(tap, pool, lambda: pool.call("VIF.get_record", vif_ref)["currently_attached"],
                      "sim: plugged into the running VM", "VIF plugged", timeout=30)
        filter_to(tui, "fw-lan")
        tui.wait(lambda s: "1 of" in s.split("\n")[1])
        tui.keys("T")
        if vif_ref:
            check_sim(tap, pool, lambda: pool.call("VIF.get_record", vif_ref)["other_config"].get("ethtool-tx") == "off",
                      "sim: T set other_config ethtool-tx=off", "ethtool-tx off")
        tui.attempt(tap, r"TX checksum offload off on interface 1: firewall VMs such as pfSense/OPNsense need it off",
                    "one line says why")
        tui.attempt(tap, lambda s: any("fw-lan" in l and l.rstrip().endswith("off") for l in s.split("\n")),
                    "the TX CSUM column shows off")
        tui.keys("T")
        if vif_ref:
            check_sim(tap, pool, lambda: "ethtool-tx" not in pool.call("VIF.get_record", vif_ref)["other_config"],
                      "sim: T again removed the key (offload back on, the default)", "ethtool-tx gone")
        tui.keys("d")
        tui.wait(r"Remove interface")
        tui.keys("y")
        if vif_ref:
            check_sim(tap, pool, lambda: vif_ref not in pool.call("VIF.get_all"),
                      "sim: d unplugged and destroyed the interface", "VIF gone", timeout=30)
        tui.keys("Escape")

        # ---- a VM without a DVD drive: g makes one at position 3, as XO does
        halted_ref, halted = next((r, v) for r, v in sorted(guests.items(), key=lambda kv: kv[1]["name_label"])
                                  if v["power_state"] == "Halted" and v["name_label"] in unique)
        cd = cd_vbd(pool, halted_ref)
        if cd:
            pool.call("VBD.destroy", next(v for v in pool.vm(halted_ref)["VBDs"]
                                          if pool.call("VBD.get_record", v)["type"] == "CD"))
        tui.keys("Escape")
        tui.wait(r"^NAME.*POWER")
        filter_to(tui, halted["name_label"])
        tui.wait(lambda s: row_starting(s, halted["name_label"]) and "1 of" in s.split("\n")[1])
        tui.keys("Enter")
        tui.wait(r"Disks")
        tui.keys("2")
        tui.wait(r"^POS.*NAME")
        tui.keys("g")
        made = check_sim(tap, pool, lambda: cd_vbd(pool, halted_ref),
                         "sim: g on a VM without a DVD drive made one", "a CD VBD", timeout=30)
        if made:
            tap.check(made["VDI"] == tools and made["userdevice"] == "3" and made["mode"] == "RO"
                      and not made["empty"], "sim: at position 3, read-only, holding the tools ISO", made)
        tui.keys("Escape")
        tui.quit_and_check(tap)
    except Timeout as e:
        tap.check(False, "screen wait", e)
    finally:
        tui.close()
    tap.done()


def row_of_name(screen, name):
    return any(len(l.split()) > 1 and l.split()[1] == name for l in screen.split("\n"))


if __name__ == "__main__":
    main()
