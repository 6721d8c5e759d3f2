"""What a user does to VMs in xentui --demo, checked on the screen and in
the simulator's own records: live updates with the selection kept on its
VM, start, snapshot and revert, migrate, destroy after typing the name, and
^C restoring the terminal. TAP output."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import Pool, Tap, Timeout, Tui, alive, row_starting, selected_row  # noqa: E402


def unique_names(guests):
    """Names no other VM's name or tags contain, so a filter on them shows one row."""
    texts = [v["name_label"] + " " + " ".join(v["tags"]) for v in guests.values()]
    return {v["name_label"] for v in guests.values() if sum(v["name_label"] in t for t in texts) == 1}


def pick(guests, power, exclude=(), where=lambda ref: True):
    unique = unique_names(guests)
    for ref, v in sorted(guests.items(), key=lambda kv: kv[1]["name_label"]):
        if v["power_state"] == power and v["name_label"] in unique and v["name_label"] not in exclude and where(ref):
            return ref, v["name_label"]
    raise RuntimeError(f"no {power} VM with a unique name")


def on_shared_storage(pool, vm_ref):
    """Every disk of the VM is on a shared SR: any host can run it (xapi
    refuses a host that cannot see one: VM_REQUIRES_SR)."""
    srs = pool.call("SR.get_all_records")
    vdis = disks(pool, vm_ref)
    return bool(vdis) and all(srs[pool.call("VDI.get_SR", d)]["shared"] for d in vdis)


def only(tui, name):
    """Filters the VM list down to name's row."""
    tui.keys("/")
    tui.keys("C-u")
    tui.keys_literal(name)
    tui.keys("Enter")
    return tui.wait(lambda s: row_starting(s, name) and "1 of" in s.split("\n")[1])


def disks(pool, vm_ref):
    out = set()
    for vbd in pool.vm(vm_ref)["VBDs"]:
        r = pool.call("VBD.get_record", vbd)
        if r["type"] == "Disk":
            out.add(r["VDI"])
    return out


def main():
    tap = Tap()
    tui = Tui("vmops", env={"NO_COLOR": "1"})
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())
        guests = pool.guests()
        hosts = pool.hosts()
        tui.keys(":")
        tui.keys_literal("vms")
        tui.keys("Enter")
        tui.wait(r"^NAME.*POWER")

        # ---- live: another client's changes show at once, the selection stays put
        names = sorted(v["name_label"] for v in guests.values())
        target = names[2]
        tui.keys("Down", "Down")
        tui.attempt(tap, lambda s: selected_row(tui.screen_attrs()).startswith(target + " "),
                    "Down moves the selection (drawn reversed) to the third VM")
        mover_ref = next(r for r, v in guests.items() if v["name_label"] == names[-1])
        pool.call("VM.set_name_label", mover_ref, "aaa-renamed")
        t0 = time.time()
        tui.attempt(tap, lambda s: s.split("\n")[3].startswith("aaa-renamed "),
                    "a VM renamed by another client moves to its sorted place", timeout=5)
        tap.check(time.time() - t0 < 1.0, "the rename shows within a second", f"{time.time() - t0:.2f}s")
        tap.check(selected_row(tui.screen_attrs()).startswith(target + " "),
                  "the selection stayed on the same VM though its row moved", tui.screen_attrs())
        other_ref, other = pick(guests, "Halted", exclude=(target, names[-1]))
        pool.call("VM.start", other_ref, False, False)
        t0 = time.time()
        tui.attempt(tap, lambda s: "Running" in row_starting(s, other), "a VM started elsewhere shows Running", timeout=5)
        tap.check(time.time() - t0 < 1.0, "within a second", f"{time.time() - t0:.2f}s")
        guests = pool.guests()

        # ---- start a halted VM
        ref, name = pick(guests, "Halted", exclude=(target, other))
        only(tui, name)
        tui.keys("s")
        tui.attempt(tap, lambda s: "Running" in row_starting(s, name) and f"Start VM '{name}': done" in s,
                    f"s starts {name}: its row says Running, the message says done")
        rec = pool.vm(ref)
        tap.check(rec["power_state"] == "Running" and rec["resident_on"] in hosts,
                  "the simulator has it running on a host", rec["power_state"])

        # ---- snapshot, then revert to it
        before = set(pool.vm(ref)["snapshots"])
        disks_before = disks(pool, ref)
        tui.keys("Enter")
        tui.wait(r"1 General")
        tui.keys("4")
        tui.wait(r"^NAME.*TAKEN")
        tui.keys("S")
        tui.attempt(tap, r"A snapshot keeps", "S opens the snapshot form")
        tui.keys("Enter")
        tui.attempt(tap, re.escape(f"Snapshot VM '{name}' as '{name}_") + r".*: done",
                    "the snapshot is taken (message)")
        after = set(pool.vm(ref)["snapshots"])
        new = after - before
        tap.check(len(new) == 1, "the simulator has one more snapshot of the VM", f"{before} -> {after}")
        snap_name = pool.vm(new.pop())["name_label"] if new else "?"
        tap.check(snap_name.startswith(name + "_"), "named after the VM and the time, as XO does", snap_name)
        tui.attempt(tap, lambda s: row_starting(s, snap_name), "the Snapshots tab lists it")
        tui.keys("/")
        tui.keys_literal(snap_name)
        tui.keys("Enter")
        tui.wait(lambda s: "1 of" in s.split("\n")[1])
        tui.keys("v")
        tui.attempt(tap, r"Revert .* to its snapshot", "v asks before reverting")
        tui.keys("y")
        tui.attempt(tap, re.escape(f"Revert VM '{name}' to '{snap_name}': done"), "the revert is done (message)")
        disks_after = disks(pool, ref)
        tap.check(disks_after and disks_after != disks_before,
                  "the simulator replaced the VM's disks by the snapshot's", f"{disks_before} -> {disks_after}")
        tui.keys("Escape")  # the snapshot filter
        tui.keys("Escape")  # back to the list
        tui.wait(r"^NAME.*POWER.*HOST")

        # ---- migrate a running VM to another host: one on shared storage
        # (one on its host's local SR can go nowhere: test_tui_pickers.py)
        guests = pool.guests()
        mref, mname = pick(guests, "Running", exclude=(name, other, target),
                           where=lambda r: on_shared_storage(pool, r))
        was = guests[mref]["resident_on"]
        only(tui, mname)
        tui.keys("m")
        tui.attempt(tap, r"live to which host\?", "m asks where to")
        choices = sorted((h["name_label"], r) for r, h in hosts.items() if r != was)
        dest_name, dest = choices[0]
        tui.keys("Enter")
        tui.attempt(tap, lambda s: dest_name in row_starting(s, mname)
                    and f"Migrate VM '{mname}' to {dest_name}: done" in s,
                    f"the row's host becomes {dest_name}")
        tap.check(pool.vm(mref)["resident_on"] == dest, "the simulator has the VM on that host")

        # ---- destroy: only after typing the exact name
        guests = pool.guests()
        dref, dname = pick(guests, "Halted", exclude=(name, other, mname, target))
        vdis = disks(pool, dref)
        only(tui, dname)
        tui.keys("D")
        tui.attempt(tap, r"Type the name to confirm", "D asks for the VM's name")
        tui.keys_literal(dname[:-1])
        tui.keys("Enter")
        tui.attempt(tap, r"That is not the name", "a wrong name is refused")
        tap.check(pool.vm(dref)["name_label"] == dname, "and the VM is still there")
        tui.keys("C-u")
        tui.keys_literal(dname)
        tui.keys("Enter")
        tui.attempt(tap, lambda s: not row_starting(s, dname) and "nothing matches" in s,
                    "the right name destroys it: its row is gone")

        def gone():
            try:
                pool.vm(dref)
                return False
            except RuntimeError as e:
                return "HANDLE_INVALID" in str(e)
        try:
            pool.wait(gone, what="the VM to go")
            tap.check(True, "the simulator no longer has the VM")
        except Timeout as e:
            tap.check(False, "the simulator no longer has the VM", e)

        def disks_gone():
            left = set(pool.call("VDI.get_all"))
            return not (vdis & left)
        try:
            pool.wait(disks_gone, what="its disks to go")
            tap.check(bool(vdis), "its disks are destroyed too")
        except Timeout as e:
            tap.check(False, "its disks are destroyed too", e)

        # ---- ^C: logs out and restores the terminal
        tui.keys("C-c")
        tui.attempt(tap, r"XENTUI-EXIT=0", "^C quits with status 0")
        tap.check(not tui.alternate_on(), "the terminal has left the alternate screen")
        deadline = time.time() + 5
        while time.time() < deadline and alive(tui.sim_pid):
            time.sleep(0.05)
        tap.check(not alive(tui.sim_pid), "the demo's simulator is stopped")
        reports = tui.sanitizer_reports()
        tap.check(not reports, "no sanitizer report (and no leak) from xentui", reports)
        err = tui.sim_stderr()
        tap.check("Sanitizer" not in err and "runtime error" not in err, "no sanitizer report from the simulator", err)
    except (Timeout, RuntimeError) as e:
        tap.check(False, "the scenario ran to its end", e)
    finally:
        tui.close()
    tap.done()


if __name__ == "__main__":
    main()
