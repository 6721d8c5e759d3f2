"""Destructive keys ask first, naming the consequence (issue 18), in xentui
--demo against the simulator: hiding a PCI device from dom0 (a storage
controller holding dom0's root wants its PCI ID typed back; the management
NIC and plain devices are asked), a new local SR (no pre-filled device; a
disk an SR holds is refused; "Erase /dev/sdX on HOST?" wants the device
typed back), VM power actions that stop a running guest, and the pool's
default SR (one rule, shared SRs only, in :storage and :pool; a warning
before removing it). Each: the question on screen, Esc/No leaves the pool
as it was (read back through XML-RPC), yes or the typed name does it. TAP."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import Pool, Tap, Timeout, Tui, cmd, filter_to, row_of, row_starting  # noqa: E402


def gone(tui, text, timeout=10):
    """Waits for text to leave the screen (a dialog closing)."""
    tui.wait(lambda s: text not in s, timeout=timeout)


def settle(seconds=1.0):
    """Time for a call xentui might (wrongly) have sent to reach the pool
    (the sim's SR.create takes 2 s)."""
    time.sleep(seconds)


# ---- 1. PCI passthrough ----------------------------------------------------------------------

def test_pci(tap, tui, pool):
    master = pool.call("pool.get_master", pool.call("pool.get_all")[0])
    hosts = pool.hosts()
    # a member, not the master: hiding its NIC is what cuts a host off
    ref = next(h for h in sorted(hosts, key=lambda h: hosts[h]["name_label"]) if h != master)
    name = hosts[ref]["name_label"]
    pcis = {r: p for r, p in pool.call("PCI.get_all_records").items() if p["host"] == ref}

    def status(r):
        return pool.call("PCI.get_dom0_access_status", r)

    def by(pred):
        return next(r for r, p in pcis.items() if pred(p))

    sata = by(lambda p: "SATA" in p["class_name"])
    usb = by(lambda p: p["class_name"] == "USB controller")
    mgmt_pif = pool.call("host.get_management_interface", ref)
    mgmt_bus = pool.call("PIF_metrics.get_pci_bus_path", pool.call("PIF.get_metrics", mgmt_pif))
    nic = by(lambda p: p["pci_id"] == mgmt_bus)
    device = pool.call("PIF.get_device", mgmt_pif)

    cmd(tui, "hosts")
    tui.wait(r"NAME.*STATE")
    filter_to(tui, name)
    tui.keys("Enter")
    tui.wait(r"Host " + name)
    tui.keys("p")
    tui.wait(r"DOM0 ACCESS")

    # the only storage controller: dom0's root is on it; its PCI ID typed back
    sata_id = pcis[sata]["pci_id"]
    filter_to(tui, sata_id)
    tui.wait(lambda s: row_starting(s, sata_id) and "dom0" in row_starting(s, sata_id))
    tui.keys("x")
    screen = tui.attempt(tap, lambda s: "dom0's own root disk is on it" in s and "Type the PCI ID" in s,
                         "x on the host's only storage controller says dom0's root disk is on it")
    if screen:
        tap.check("Local storage" in screen and "/dev/sda3" in screen, "and names the local SR on its disks",
                  screen)
    tui.keys_literal("0000:00:17")  # not the whole ID: Enter does nothing
    tui.keys("Enter")
    settle()
    tap.check(status(sata) == "enabled", "a wrong PCI ID hides nothing", status(sata))
    tui.keys("Escape")
    gone(tui, "Type the PCI ID")
    settle()
    tap.check(status(sata) == "enabled", "Esc leaves dom0 its disk controller", status(sata))
    tui.keys("x")
    tui.wait(r"Type the PCI ID")
    tui.keys_literal(sata_id)
    tui.keys("Enter")
    try:
        pool.wait(lambda: status(sata) == "disable_on_reboot", timeout=20, what="the controller hidden")
        tap.check(True, "the PCI ID typed back hides it (after the reboot)")
    except Timeout as e:
        tap.check(False, "the PCI ID typed back hides it (after the reboot)", e)
    tui.wait(r"passthrough after reboot")
    tui.keys("x")  # giving it back is harmless: at once
    try:
        pool.wait(lambda: status(sata) == "enabled", timeout=20, what="the controller given back")
        tap.check(True, "x again gives it back to dom0 without a question")
    except Timeout as e:
        tap.check(False, "x again gives it back to dom0 without a question", e)

    # the management interface's NIC
    nic_id = pcis[nic]["pci_id"]
    filter_to(tui, nic_id)
    tui.wait(lambda s: row_starting(s, nic_id) and "dom0" in row_starting(s, nic_id))
    tui.keys("x")
    tui.attempt(tap, lambda s: re.search(re.escape(nic_id) + r" is the NIC of " + re.escape(name)
                                         + r"'s management\s+interface \(" + re.escape(device), s)
                and "loses its management network" in s,
                f"x on {nic_id} says it is the management NIC ({device}) and what is lost")
    tui.keys("n")
    gone(tui, "loses its management network")
    settle()
    tap.check(status(nic) == "enabled", "No leaves the management NIC to dom0", status(nic))
    tui.keys("x")
    tui.wait(r"loses its management network")
    tui.keys("y")
    try:
        pool.wait(lambda: status(nic) == "disable_on_reboot", timeout=20, what="the NIC hidden")
        tap.check(True, "y hides it")
    except Timeout as e:
        tap.check(False, "y hides it", e)
    tui.wait(r"passthrough after reboot")
    tui.keys("x")
    pool.wait(lambda: status(nic) == "enabled", timeout=20, what="the NIC given back")

    # a plain device is asked too, without alarm
    usb_id = pcis[usb]["pci_id"]
    filter_to(tui, usb_id)
    tui.wait(lambda s: row_starting(s, usb_id) and "dom0" in row_starting(s, usb_id))
    tui.keys("x")
    tui.attempt(tap, lambda s: f"Hide {usb_id} (" in s and "from dom0?" in s,
                "x on the USB controller asks before hiding it")
    tui.keys("Escape")
    gone(tui, "from dom0?")
    settle()
    tap.check(status(usb) == "enabled", "Esc leaves it to dom0", status(usb))
    tui.keys("x")
    tui.wait(r"from dom0\?")
    tui.keys("y")
    try:
        pool.wait(lambda: status(usb) == "disable_on_reboot", timeout=20, what="the USB controller hidden")
        tap.check(True, "y hides it")
    except Timeout as e:
        tap.check(False, "y hides it", e)
    tui.wait(r"passthrough after reboot")
    tui.keys("x")
    pool.wait(lambda: status(usb) == "enabled", timeout=20, what="the USB controller given back")
    filter_to(tui, "")
    tui.keys("q")
    tui.wait(r"Host " + name)


# ---- 2. a new local SR --------------------------------------------------------------------------

def new_lvm_form(tui):
    cmd(tui, "storage")
    tui.wait(r"^NAME.*TYPE")
    tui.keys("n")
    tui.wait("What kind of storage")
    tui.keys(*(["Down"] * 5))  # the sixth kind: Local disks: LVM
    tui.keys("Enter")
    return tui.wait(r"New SR: Local disks: LVM")


def local_srs(pool, name):
    return [r for r, v in pool.call("SR.get_all_records").items() if v["name_label"] == name]


def test_new_local_sr(tap, tui, pool):
    hosts = pool.hosts()
    first = sorted(h["name_label"] for h in hosts.values())[0]  # the form's host: the first by name
    screen = new_lvm_form(tui)
    device_row = next((l for l in screen.split("\n") if "Device" in l), "")
    tap.check(re.search(r"Device\s+a whole empty disk", device_row) and "/dev/sdb" not in device_row,
              "the device field comes empty (no /dev/sdb to format on Enter): a hint beside it", device_row)
    tap.check("/dev/sda3" in screen and "Held by SRs already" in screen,
              "the form lists the devices the host's SRs hold (what xapi tells)", screen)
    tui.keys("C-u")
    tui.keys_literal("Scratch LVM")
    tui.keys("Tab", "Tab")
    tui.keys("Enter")  # no device: refused beside the field
    tui.attempt(tap, lambda s: "required" in row_of(s, "Device"), "Enter with no device: 'required' beside it")
    settle(2.5)
    tap.check(not local_srs(pool, "Scratch LVM"), "and nothing is created")
    # the disk the local SR is on
    tui.keys("C-u")
    tui.keys_literal("/dev/sda")
    tui.keys("Enter")
    tui.attempt(tap, r"/dev/sda is the disk of the SR 'Local storage' on " + re.escape(first),
                "a disk an SR of the host holds is refused, naming the SR")
    settle(2.5)
    tap.check(not local_srs(pool, "Scratch LVM"), "and nothing is created")
    # a free disk: asked, with the device typed back
    tui.keys("Tab", "Tab", "C-u")
    tui.keys_literal("/dev/sdc")
    tui.keys("Enter")
    tui.attempt(tap, re.escape(f"Erase /dev/sdc on {first}? Everything on it is lost"),
                "Enter asks 'Erase /dev/sdc on HOST? Everything on it is lost'")
    tui.keys("Escape")
    tui.attempt(tap, r"Nothing erased", "Esc says nothing was erased")
    settle(2.5)
    tap.check(not local_srs(pool, "Scratch LVM"), "Esc creates no SR")
    new_lvm_form(tui)
    tui.keys("C-u")
    tui.keys_literal("Scratch LVM")
    tui.keys("Tab", "Tab", "C-u")
    tui.keys_literal("/dev/sdc")
    tui.keys("Enter")
    tui.wait(r"Erase /dev/sdc")
    tui.keys_literal("/dev/sdc")
    tui.keys("Enter")
    try:
        srs = pool.wait(lambda: local_srs(pool, "Scratch LVM"), timeout=20, what="the new SR")
        sr = pool.call("SR.get_record", srs[0])
        pbd = pool.call("PBD.get_record", sr["PBDs"][0])
        tap.check(sr["type"] == "lvm" and not sr["shared"] and pbd["device_config"].get("device") == "/dev/sdc"
                  and hosts[pbd["host"]]["name_label"] == first,
                  "the device typed back creates the LVM SR on /dev/sdc of that host",
                  (sr["type"], sr["shared"], pbd["device_config"]))
    except Timeout as e:
        tap.check(False, "the device typed back creates the LVM SR", e)


# ---- 3. VM power ---------------------------------------------------------------------------------

def only_vm(tui, name):
    filter_to(tui, name)
    return tui.wait(lambda s: row_starting(s, name) and "1 of" in s.split("\n")[1])


def test_power(tap, tui, pool):
    guests = pool.guests()
    # names no other VM's name or tags contain: a filter on one shows one row
    texts = [v["name_label"] + " " + " ".join(v["tags"]) for v in guests.values()]
    running = sorted((v["name_label"], r) for r, v in guests.items() if v["power_state"] == "Running"
                     and sum(v["name_label"] in t for t in texts) == 1)
    cmd(tui, "vms")
    tui.wait(r"^NAME.*POWER")
    cases = (
        ("x", "Shut down", "stays off until started", "Halted"),
        ("r", "Reboot", "its users are cut off", None),
        ("z", "Suspend", "memory is saved to disk", "Suspended"),
        ("X", "Force shut down", "pulling the power cord", "Halted"),
    )
    for (key, verb, consequence, after), (name, ref) in zip(cases, running):
        only_vm(tui, name)
        domid = pool.vm(ref)["domid"]
        tui.keys(key)
        tui.attempt(tap, lambda s: f"{verb} '{name}'?" in s and consequence in s,
                    f"{key} asks '{verb} '{name}'?' and says what stops")
        tui.keys("Escape")
        gone(tui, f"{verb} '{name}'?")
        settle()
        rec = pool.vm(ref)
        tap.check(rec["power_state"] == "Running" and rec["domid"] == domid, f"Esc leaves {name} running",
                  (rec["power_state"], rec["domid"], domid))
        tui.keys(key)
        tui.wait(re.escape(f"{verb} '{name}'?"))
        tui.keys("y")
        try:
            if after:
                pool.wait(lambda: pool.vm(ref)["power_state"] == after, timeout=20, what=verb)
            else:
                pool.wait(lambda: pool.vm(ref)["domid"] != domid and pool.vm(ref)["power_state"] == "Running",
                          timeout=20, what=verb)
            tap.check(True, f"y does it: {name} is {after or 'rebooted (a new domain)'}")
        except Timeout as e:
            tap.check(False, f"y does it ({verb})", e)
    filter_to(tui, "")


# ---- 4. the pool's default SR ------------------------------------------------------------------

def test_default_sr(tap, tui, pool):
    p = pool.call("pool.get_all")[0]
    master = pool.call("pool.get_master", p)
    was = pool.call("pool.get_default_SR", p)
    srs = pool.call("SR.get_all_records")
    local = next(r for r, v in srs.items() if v["type"] in ("ext", "lvm") and not v["shared"])

    # :storage refuses a local SR, saying why
    cmd(tui, "storage")
    tui.wait(r"^NAME.*TYPE")
    filter_to(tui, srs[local]["uuid"])
    tui.wait(lambda s: "1 of" in s)
    tui.keys("*")
    tui.attempt(tap, r"The default SR must be shared: .* is local to ",
                "* on a local SR is refused: the default SR must be shared")
    settle()
    tap.check(pool.call("pool.get_default_SR", p) == was, "the default SR is unchanged")

    # a second shared SR, made by another client, is offered by :pool (local ones are not)
    scratch = pool.call("SR.create", master, {"server": "192.168.1.5", "serverpath": "/srv/backups"}, "0",
                        "Scratch NFS", "", "nfs", "user", True, {})
    cmd(tui, "pool")
    tui.wait(r"Default SR")
    tui.keys("P")
    screen = tui.attempt(tap, r"shared SRs only", ":pool's P lists the SRs that may be the default")
    if screen:
        lines = screen.split("\n")
        top = next(i for i, l in enumerate(lines) if "Default SR ─" in l)
        box = "\n".join(lines[top:next(i for i in range(top, len(lines)) if "└" in lines[i])])
        tap.check("Scratch NFS" in box and "Local storage" not in box,
                  "the shared SR is offered, no local one (the same rule)", box)
    tui.keys("Escape")

    # make it the default, then remove it: warned first
    pool.call("pool.set_default_SR", p, scratch)
    cmd(tui, "storage")
    tui.wait(r"^NAME.*TYPE")
    filter_to(tui, "Scratch NFS")
    tui.wait(lambda s: row_starting(s, "Scratch NFS *"))  # marked the default
    tui.keys("d")
    tui.attempt(tap, lambda s: "It is the pool's default SR: new VMs and disks will" in s and "no default" in s,
                "d on the default SR warns: new VMs and disks will have no default")
    tui.keys("Down", "Enter")  # Destroy
    tui.attempt(tap, lambda s: "Destroy 'Scratch NFS'?" in s and "pool's default SR" in s,
                "the destroy question says it again")
    tui.keys("Escape")
    gone(tui, "Destroy 'Scratch NFS'?")
    settle()
    tap.check(pool.call("SR.get_uuid", scratch) and pool.call("pool.get_default_SR", p) == scratch,
              "Esc: the SR is there and still the default")
    tui.keys("d")
    tui.wait(r"Remove SR")
    tui.keys("Down", "Enter")
    tui.wait(r"Destroy 'Scratch NFS'\?")
    tui.keys_literal("Scratch NFS")
    tui.keys("Enter")
    try:
        pool.wait(lambda: scratch not in pool.call("SR.get_all"), timeout=20, what="the SR destroyed")
        tap.check(True, "the name typed back destroys it")
    except Timeout as e:
        tap.check(False, "the name typed back destroys it", e)
    pool.call("pool.set_default_SR", p, was)
    filter_to(tui, "")


def main():
    tap = Tap()
    tui = Tui("confirm", env={"NO_COLOR": "1"}, cols=120, rows=36)
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())
        for t in (test_pci, test_new_local_sr, test_power, test_default_sr):
            try:
                t(tap, tui, pool)
            except (Timeout, RuntimeError, StopIteration) as e:
                tap.check(False, t.__name__, e)
                tui.keys("Escape", "Escape", "Escape")
        tui.quit_and_check(tap)
    except (Timeout, RuntimeError, OSError) as e:
        tap.check(False, "the demo runs", e)
    finally:
        tui.close()
    tap.done()


if __name__ == "__main__":
    main()
