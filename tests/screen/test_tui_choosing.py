"""Choosing things and what keys mean, in xentui --demo, read back from the
simulator independently: the default SR marked beside its name at 80x24
(no column to lose); one meaning per key (P makes an SR the default on
:storage and :pool, D destroys on :storage as on :vms); `?` lists every
command the command line completes, and each key of the VM screen once; HA
turned on with xapi's own plan for the failures to tolerate, F changing
it, and a VM's restart priority from :vms; the new-VLAN dialog names the
pool, not the URL, and wants a tag from 1 to 4094 (no 0 by default); sizes
typed with units (512M) or bare in the unit shown beside the field (MiB for
memory, GiB for disks). TAP output."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import Pool, Tap, Timeout, Tui, cmd, filter_to, row_starting  # noqa: E402

MiB = 1 << 20
GiB = 1 << 30
TEMPLATE = "Debian Bookworm 12"


def set_text(tui, text):
    tui.keys("C-u")
    tui.keys_literal(text)


def footer(screen):
    lines = screen.rstrip("\n").split("\n")
    return lines[-1] if lines else ""


def field(screen, label):
    """The text after a form label, up to the field's end."""
    for line in screen.split("\n"):
        i = line.find(label + "  ")
        if i >= 0:
            return line[i + len(label):].strip(" │")
    return ""


def help_keys(screen, title):
    """The key column of the help's first section ("Keys of TITLE"), in order."""
    lines = screen.split("\n")
    start = next((i for i, l in enumerate(lines) if l.strip() == "Keys of " + title), None)
    if start is None:
        return []
    keys = []
    for line in lines[start + 1:]:
        if not line.startswith("  "):  # a header ("In the list", "Everywhere") ends it
            break
        keys.append(line[2:24].strip())
    return keys


def shared_nfs(pool, master, name):
    return pool.call("SR.create", master, {"server": "192.168.1.5", "serverpath": "/srv/backups"},
                     "0", name, "", "nfs", "user", True, {})


# ---- 1. the default SR at 80x24, and one meaning per key ---------------------------------------

def test_storage(tap, tui, pool):
    p = pool.call("pool.get_all")[0]
    master = pool.call("pool.get_master", p)
    was = pool.call("pool.get_default_SR", p)
    srs = pool.call("SR.get_all_records")
    cmd(tui, "storage")
    screen = tui.wait(r"^NAME.*TYPE")
    name = srs[was]["name_label"]
    tap.check(row_starting(screen, name + " *"), "80x24: the default SR is marked * beside its name", screen)
    tap.check(re.search(r"\* the pool's default SR", screen), "the title says what * means", screen)
    bar = footer(screen)
    tap.check("P Default" in bar and "D Default" not in bar, "the key bar offers P for the default, not D", bar)

    a = shared_nfs(pool, master, "Choose A")
    b = shared_nfs(pool, master, "Choose B")
    uuid_a, uuid_b = pool.call("SR.get_uuid", a), pool.call("SR.get_uuid", b)
    filter_to(tui, uuid_a)
    tui.wait(lambda s: "1 of" in s and row_starting(s, "Choose A"))
    tui.keys("P")
    try:
        pool.wait(lambda: pool.call("pool.get_default_SR", p) == a, what="the default SR")
        tap.check(True, "P on :storage makes the SR the pool's default (read back)")
    except Timeout as e:
        tap.check(False, "P on :storage makes the SR the pool's default (read back)", e)
    tui.attempt(tap, lambda s: row_starting(s, "Choose A *"), "and the list marks it")

    filter_to(tui, uuid_b)
    tui.wait(lambda s: "1 of" in s and row_starting(s, "Choose B"))
    tui.keys("D")
    tui.attempt(tap, r"Destroy 'Choose B'\?", "D on :storage asks to destroy the SR (typing its name)")
    tap.check(pool.call("pool.get_default_SR", p) == a, "D did not touch the default SR")
    tui.keys_literal("Choose B")
    tui.keys("Enter")
    try:
        pool.wait(lambda: b not in pool.call("SR.get_all"), timeout=30, what="Choose B destroyed")
        tap.check(True, "typing the name destroys the SR (gone from the pool)")
    except Timeout as e:
        tap.check(False, "typing the name destroys the SR (gone from the pool)", e)
    filter_to(tui, "")
    pool.call("pool.set_default_SR", p, was)

    tui.keys("?")
    screen = tui.wait(r"Keys of Storage")
    d_line = next((l for l in screen.split("\n") if l.startswith("  D ")), "")
    p_line = next((l for l in screen.split("\n") if l.startswith("  P ")), "")
    tap.check("Destroy" in d_line and "default" not in d_line.lower(), "? on :storage: D destroys", d_line)
    tap.check("default" in p_line, "? on :storage: P makes the default", p_line)
    tui.keys("q")
    tui.wait(r"^NAME.*TYPE")


# ---- 2. ? lists every command, and each key once -------------------------------------------------

def test_help(tap, tui, pool):
    tui.keys(":")
    tui.keys("Tab")
    screen = tui.wait(lambda s: "dashboard" in s)
    lines = screen.rstrip("\n").split("\n")
    # the command line (above the key bar): ":" and every completion beside it
    completed = set(lines[-2].split()[1:]) if len(lines) > 1 else set()
    tui.keys("Escape")
    cmd(tui, "vms")
    tui.wait(r"^NAME.*POWER")
    tui.keys("Enter")
    tui.wait(r"1 General")
    tui.keys("?")
    screen = tui.wait(r"Commands \(after :\)")
    lines = screen.split("\n")
    start = next(i for i, l in enumerate(lines) if l.strip() == "Commands (after :)")
    listed = set()
    for line in lines[start + 1:]:
        m = re.match(r"^  :(\S+)", line)
        if not m:
            break
        listed.add(m.group(1))
    tap.check(completed and listed == completed,
              "? lists every command the command line completes after :, and no other",
              f"listed {sorted(listed)}\ncompleted {sorted(completed)}")
    tap.check({"dashboard", "templates", "updates", "jobs"} <= listed,
              "dashboard, templates, updates and jobs among them", sorted(listed))
    keys = help_keys(screen, "VM")
    dups = sorted({k for k in keys if keys.count(k) > 1})
    tap.check(keys and not dups, "the VM screen's help lists each key once (v too)", f"twice: {dups}\n{keys}")
    tui.keys("q")
    tui.keys("q")
    tui.wait(r"^NAME.*POWER")


# ---- 3. HA: failures to tolerate from xapi's plan, a VM's restart priority --------------------

def test_ha(tap, tui, pool):
    p = pool.call("pool.get_all")[0]
    most = int(pool.call("pool.ha_compute_max_host_failures_to_tolerate"))
    cmd(tui, "pool")
    tui.wait(r"HA\s+disabled")
    tui.keys("H")
    tui.wait(r"Enable HA")
    tui.keys("Enter")  # the first shared SR for the heartbeat
    screen = tui.attempt(tap, r"Failures to tolerate", "turning HA on asks how many host failures to tolerate")
    if screen:
        tap.check(field(screen, "Failures to tolerate").startswith(str(most))
                  and f"at most {most}" in screen,
                  f"it offers xapi's plan, {most} (pool.ha_compute_max_host_failures_to_tolerate)",
                  field(screen, "Failures to tolerate"))
    tui.keys("Enter")
    try:
        pool.wait(lambda: pool.call("pool.get_ha_enabled", p), timeout=40, what="HA on")
        tap.check(int(pool.call("pool.get_ha_host_failures_to_tolerate", p)) == most,
                  "HA is on, tolerating that many failures (read back)",
                  pool.call("pool.get_ha_host_failures_to_tolerate", p))
    except Timeout as e:
        tap.check(False, "HA is on, tolerating that many failures (read back)", e)
    tui.attempt(tap, rf"HA\s+enabled, tolerates {most} host failure", "the pool screen says so", timeout=20)

    tui.keys("F")
    tui.wait(r"HA: failures to tolerate", timeout=20)
    set_text(tui, str(most + 1))
    tui.keys("Enter")
    tui.attempt(tap, rf"from 0 to {most}", "F refuses more than xapi's plan covers, in words")
    set_text(tui, "1")
    tui.keys("Enter")
    try:
        pool.wait(lambda: int(pool.call("pool.get_ha_host_failures_to_tolerate", p)) == 1, what="ntol 1")
        tap.check(True, "F sets the failures to tolerate (pool.set_ha_host_failures_to_tolerate, read back)")
    except Timeout as e:
        tap.check(False, "F sets the failures to tolerate (read back)", e)

    vms = pool.guests()
    ref, vm = sorted(vms.items(), key=lambda kv: kv[1]["name_label"])[0]
    cmd(tui, "vms")
    tui.wait(r"^NAME.*POWER")
    filter_to(tui, vm["uuid"])
    tui.wait(lambda s: "1 of" in s and row_starting(s, vm["name_label"]))
    tui.keys("H")
    tui.wait(r"HA restart priority")
    tui.keys("Enter")  # Restart
    try:
        pool.wait(lambda: pool.vm(ref)["ha_restart_priority"] == "restart", what="priority restart")
        tap.check(True, "H on :vms sets the VM's restart priority to restart (read back)")
    except Timeout as e:
        tap.check(False, "H on :vms sets the VM's restart priority to restart (read back)", e)
    tui.keys("H")
    tui.attempt(tap, r"Now: restart\.", "H again shows the priority it has now")
    tui.keys("Down", "Down", "Enter")  # Do not restart
    try:
        pool.wait(lambda: pool.vm(ref)["ha_restart_priority"] == "", what="priority none")
        tap.check(True, "and 'Do not restart' clears it (read back)")
    except Timeout as e:
        tap.check(False, "and 'Do not restart' clears it (read back)", e)
    filter_to(tui, "")
    pool.call("pool.disable_ha")


# ---- 4. a new VLAN: the pool's name, and a tag from 1 to 4094 -----------------------------------

def test_vlan(tap, tui, pool):
    p = pool.call("pool.get_all")[0]
    pool_name = pool.call("pool.get_name_label", p)

    def nets():
        return {v["name_label"]: r for r, v in pool.call("network.get_all_records").items()}

    cmd(tui, "networks")
    tui.wait(r"^NAME.*BRIDGE")
    tui.keys("n")
    screen = tui.wait(r"VLAN on eth1")
    tap.check(f"pool '{pool_name}'" in screen and tui.url not in screen,
              "the new-network dialog names the pool by its name, not the URL", screen)
    lines = screen.split("\n")
    rows = [i for i, l in enumerate(lines) if "│ " in l and ("Internal network" in l or "VLAN on" in l)]
    target = next(i for i in rows if "VLAN on eth1" in lines[i])
    for _ in range(rows.index(target)):
        tui.keys("Down")
    tui.keys("Enter")
    screen = tui.wait(r"New VLAN network")
    tap.check(field(screen, "VLAN tag") in ("", "1 to 4094") and not field(screen, "VLAN tag").startswith("0"),
              "the VLAN tag starts empty (no 0)", field(screen, "VLAN tag"))
    tui.keys_literal("vlan-choose")
    tui.keys("Enter")
    tui.attempt(tap, r"needed: 1 to 4094", "Enter without a tag says one from 1 to 4094 is needed")
    # the form's focus is on the field it complains about
    for bad in ("0", "4095"):
        set_text(tui, bad)
        tui.keys("Enter")
        tui.attempt(tap, r"1 to 4094 only", f"tag {bad} is refused beside the field")
    tap.check("vlan-choose" not in nets(), "no network was made for a refused tag")
    set_text(tui, "7")
    tui.wait(lambda s: "1 to 4094 only" not in s)
    tui.keys("Enter")
    try:
        r = pool.wait(lambda: nets().get("vlan-choose"), timeout=30, what="vlan-choose")
        pifs = pool.wait(lambda: pool.call("network.get_PIFs", r), timeout=30, what="its PIFs")
        tags = {pool.call("PIF.get_VLAN", x) for x in pifs}
        tap.check(tags == {"7"}, "the VLAN is made with tag 7 (read back)", tags)
    except Timeout as e:
        tap.check(False, "the VLAN is made with tag 7 (read back)", e)


# ---- 5. sizes: units typed, or a bare number in the unit shown beside the field ---------------

def test_sizes(tap, tui, pool):
    vms = pool.call("VM.get_all_records")
    tmpl = next(v for v in vms.values() if v["name_label"] == TEMPLATE and v["is_a_template"])
    cmd(tui, "vms")
    tui.wait(r"^NAME.*POWER")
    tui.keys("n")
    tui.wait(r"^NAME.*VCPUS.*RAM")
    filter_to(tui, "Bookworm")
    tui.wait(lambda s: row_starting(s, TEMPLATE) and "1 of" in s)
    tui.keys("Enter")
    screen = tui.wait(re.escape(f"From template '{TEMPLATE}'"))
    mem = int(tmpl["memory_static_max"])
    tap.check(re.match(r"%d\s{2,}MiB\b" % (mem // MiB), field(screen, "Memory")),
              "the memory field shows the template's memory as MiB, the unit named beside it",
              field(screen, "Memory"))
    tap.check(re.match(r"\d+\s{2,}GiB\b", field(screen, "Disk size")), "a disk's size field names GiB beside it",
              field(screen, "Disk size"))
    tui.keys_literal("units-vm")
    tui.keys("Tab", "Tab", "Tab")  # description, vCPUs, memory
    set_text(tui, "1536")  # bare: MiB, as shown
    for _ in range(6):
        tui.keys("Tab")  # media, boot, network, second network, disk name, disk size
    set_text(tui, "512M")
    for _ in range(5):
        tui.keys("Tab")  # disk SR, disk 2 name, size, SR, start after creation
    tui.keys("Space")  # not started
    tui.keys("Enter")
    tui.attempt(tap, r"New VM 'units-vm': created", "the VM is created", timeout=60)
    try:
        ref, vm = pool.wait(lambda: next(((r, v) for r, v in pool.guests().items()
                                          if v["name_label"] == "units-vm"), None), what="units-vm")
        tap.check(int(vm["memory_static_max"]) == 1536 * MiB,
                  "a bare 1536 in the memory field is 1536 MiB (read back)", vm["memory_static_max"])
        sizes = [int(pool.call("VDI.get_virtual_size", pool.call("VBD.get_VDI", b)))
                 for b in vm["VBDs"] if pool.call("VBD.get_type", b) == "Disk"]
        tap.check(sizes == [512 * MiB], "512M in a GiB field is 512 MiB (read back)", sizes)
    except Timeout as e:
        tap.check(False, "units-vm exists", e)


def main():
    tap = Tap()
    tui = Tui("choosing", env={"NO_COLOR": "1"}, cols=80, rows=24)
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())
        for t, size in ((test_storage, (80, 24)), (test_help, (320, 110)), (test_ha, (120, 36)),
                        (test_vlan, (100, 30)), (test_sizes, (160, 44))):
            tui.resize(*size)
            try:
                t(tap, tui, pool)
            except (Timeout, RuntimeError, StopIteration) as e:
                tap.check(False, t.__name__, repr(e))
                tui.keys("Escape", "Escape", "Escape")
        tui.quit_and_check(tap)
    except Timeout as e:
        tap.check(False, "the scenario ran to its end", e)
    finally:
        tui.close()
    tap.done()


if __name__ == "__main__":
    main()
