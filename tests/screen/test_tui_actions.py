"""More of what xentui --demo does to VMs, each checked in the simulator:
the task list with a cancel, the dashboard's running tasks, rename, clone,
a forced shutdown that asks first, suspend and resume, pause and unpause,
start on a chosen host, vCPUs and memory through a form that validates,
and a host's own screen. TAP output."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import Pool, Tap, Timeout, Tui, row_starting  # noqa: E402

GiB = 1024 ** 3


class Picker:
    """Hands out VMs in a given power state, each once, with names no other
    VM's name contains (a filter on one shows one row)."""

    def __init__(self, pool):
        self.pool = pool
        self.used = set()

    def take(self, power, shared=False):
        """shared: only a VM whose disks are all on shared SRs, which any
        host can run (xapi refuses a host that cannot see one: VM_REQUIRES_SR)."""
        guests = self.pool.guests()
        srs = self.pool.call("SR.get_all_records") if shared else {}
        # what the filter matches: names, and tags
        texts = [v["name_label"] + " " + " ".join(v["tags"]) for v in guests.values()]
        for ref, v in sorted(guests.items(), key=lambda kv: kv[1]["name_label"]):
            n = v["name_label"]
            if v["power_state"] == power and ref not in self.used and sum(n in t for t in texts) == 1 \
                    and (not shared or self.on_shared(ref, srs)):
                self.used.add(ref)
                return ref, n
        raise RuntimeError(f"no {power} VM left")

    def on_shared(self, ref, srs):
        vbds = [self.pool.call("VBD.get_record", b) for b in self.pool.vm(ref)["VBDs"]]
        vdis = [b["VDI"] for b in vbds if b["type"] == "Disk" and not b["empty"]]
        return bool(vdis) and all(srs[self.pool.call("VDI.get_SR", d)]["shared"] for d in vdis)


def only(tui, name):
    tui.keys("/")
    tui.keys("C-u")
    tui.keys_literal(name)
    tui.keys("Enter")
    return tui.wait(lambda s: row_starting(s, name) and "1 of" in s.split("\n")[1])


def power_is(pool, ref, state):
    return lambda: pool.vm(ref)["power_state"] == state


def main():
    tap = Tap()
    tui = Tui("actions")
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())
        pick = Picker(pool)
        hosts = pool.hosts()
        enabled = sorted((h["name_label"], r) for r, h in hosts.items() if h["enabled"])

        def vms():
            tui.keys(":")
            tui.keys_literal("vms")
            tui.keys("Enter")
            tui.wait(r"^NAME.*POWER")

        # ---- a migration followed on the task list, and cancelled there
        vms()
        ref, name = pick.take("Running", shared=True)
        was = pool.vm(ref)["resident_on"]
        only(tui, name)
        tui.keys("m")
        tui.wait(r"live to which host")
        tui.keys("Enter")
        tui.keys(":")
        tui.keys_literal("tasks")
        tui.keys("Enter")
        label = f"Migrate VM '{name}' to"
        text = tui.attempt(tap, lambda s: re.search(re.escape(label) + r".*running.*%", s),
                           ":tasks shows the migration running, with its progress")
        tui.keys("c")
        tui.attempt(tap, lambda s: re.search(re.escape(label) + r".*cancelled", s), "c cancels it")
        tap.check(pool.vm(ref)["resident_on"] == was, "the simulator left the VM where it was")

        # ---- the dashboard shows what is running
        vms()
        ref, name = pick.take("Halted")
        only(tui, name)
        tui.keys("s")
        tui.keys(":")
        tui.keys_literal("dashboard")
        tui.keys("Enter")
        tui.attempt(tap, lambda s: re.search(r"TASKS RUNNING\s*\n.*" + re.escape(f"Start VM '{name}'") + r".*%", s),
                    "the dashboard lists the running start with a progress bar")
        try:
            pool.wait(power_is(pool, ref, "Running"), what="the start")
        except Timeout as e:
            tap.check(False, "the start ends", e)
        tui.attempt(tap, r"TASKS RUNNING\s*\n\s*Nothing running", "and no longer once it is done")

        # ---- rename
        vms()
        ref, name = pick.take("Halted")
        only(tui, name)
        tui.keys("e")
        tui.wait(r"New name")
        tui.keys("C-u")
        tui.keys_literal(name + "-renamed")
        tui.keys("Enter")
        tui.attempt(tap, re.escape(f"Rename VM '{name}' to '{name}-renamed': done"), "e renames (message)")
        tap.check(pool.vm(ref)["name_label"] == name + "-renamed", "the simulator has the new name")

        # ---- clone
        ref, name = pick.take("Halted")
        only(tui, name)
        tui.keys("c")
        tui.attempt(tap, re.escape(f"{name} (clone)"), "c offers '<name> (clone)'")
        tui.keys("Enter")
        tui.attempt(tap, re.escape(f"Clone VM '{name}' as '{name} (clone)': done"), "the clone is made (message)")
        clones = [v for v in pool.guests().values() if v["name_label"] == f"{name} (clone)"]
        tap.check(len(clones) == 1, "the simulator has the clone")

        # ---- a forced shutdown asks, and No is the default
        ref, name = pick.take("Running")
        only(tui, name)
        tui.keys("X")
        tui.attempt(tap, r"pulling the power cord", "X asks before forcing the VM off")
        tui.keys("Enter")
        tui.wait(lambda s: "pulling the power cord" not in s)
        tap.check(pool.vm(ref)["power_state"] == "Running", "Enter (the default, No) leaves it running")
        tui.keys("X")
        tui.wait(r"pulling the power cord")
        tui.keys("y")
        try:
            pool.wait(power_is(pool, ref, "Halted"), what="the forced shutdown")
            tap.check(True, "y forces it off")
        except Timeout as e:
            tap.check(False, "y forces it off", e)
        tui.attempt(tap, lambda s: "Halted" in row_starting(s, name), "the row says Halted")

        # ---- suspend and resume, pause and unpause
        ref, name = pick.take("Running")
        only(tui, name)
        for key, state, what in (("z", "Suspended", "z suspends"), ("u", "Running", "u resumes"),
                                 ("p", "Paused", "p pauses"), ("p", "Running", "p again unpauses")):
            tui.keys(key)
            if key == "z":  # suspending stops the guest: asked first
                tui.wait(r"Suspend '" + re.escape(name) + r"'\?")
                tui.keys("y")
            try:
                pool.wait(power_is(pool, ref, state), what=what)
                tui.wait(lambda s: state in row_starting(s, name))
                tap.check(True, f"{what}: the simulator and the row say {state}")
            except Timeout as e:
                tap.check(False, f"{what}: the simulator and the row say {state}", e)

        # ---- start on a chosen host (one every host can run: the picker lists them all)
        ref, name = pick.take("Halted", shared=True)
        only(tui, name)
        tui.keys("o")
        tui.attempt(tap, r"on which host\?", "o asks which host")
        tui.keys("Down")
        tui.keys("Enter")
        want_name, want = enabled[1]
        try:
            pool.wait(power_is(pool, ref, "Running"), what="the start on a host")
            tap.check(pool.vm(ref)["resident_on"] == want, f"the VM runs on the chosen host ({want_name})")
        except Timeout as e:
            tap.check(False, "the VM runs on the chosen host", e)
        tui.attempt(tap, lambda s: want_name in row_starting(s, name), "its row shows that host")

        # ---- vCPUs and memory, with a validation message beside the field
        ref, name = pick.take("Halted")
        only(tui, name)
        tui.keys("C")
        tui.attempt(tap, r"vCPUs and memory", "C opens the vCPUs and memory form")
        tui.keys("C-u")
        tui.keys_literal("3")
        tui.keys("Tab")
        tui.keys("C-u")
        tui.keys_literal("lots")
        tui.keys("Enter")
        tui.attempt(tap, lambda s: re.search(r"Memory.*lots.*not a size", s), "a wrong size is refused beside the field")
        tui.keys("C-u")
        tui.keys_literal("3 GiB")
        tui.keys("Enter")
        try:
            pool.wait(lambda: int(pool.vm(ref)["memory_static_max"]) == 3 * GiB
                      and int(pool.vm(ref)["VCPUs_at_startup"]) == 3, what="the new sizes")
            rec = pool.vm(ref)
            tap.check(int(rec["VCPUs_max"]) == 3 and int(rec["memory_dynamic_max"]) == 3 * GiB,
                      "the simulator has 3 vCPUs and 3 GiB", rec)
        except Timeout as e:
            tap.check(False, "the simulator has 3 vCPUs and 3 GiB", e)
        tui.attempt(tap, lambda s: re.search(r"\s3\s+3 GiB", row_starting(s, name)), "the row shows 3 vCPUs, 3 GiB")

        # ---- a host's own screen
        tui.keys(":")
        tui.keys_literal("hosts")
        tui.keys("Enter")
        tui.wait(r"^NAME.*STATE")
        tui.keys("Enter")
        first_name, first = sorted((h["name_label"], r) for r, h in hosts.items())[0]
        text = tui.attempt(tap, r"Pool master", "Enter opens the first host")
        if text:
            master = next(iter(pool.call("pool.get_all_records").values()))["master"]
            tap.check(re.search(r"Pool master\s+%s" % ("yes" if master == first else "no"), text) is not None,
                      "it says whether it is the pool master", text)
        tui.keys("6")
        resident = [pool.vm(r)["name_label"] for r in pool.call("host.get_resident_VMs", first)
                    if not pool.vm(r)["is_control_domain"]]
        tui.attempt(tap, lambda s: all(row_starting(s, n) for n in resident) and re.search(r"^NAME.*POWER", s, re.M),
                    f"its VMs tab lists the {len(resident)} VMs the simulator has on it")
        tui.quit_and_check(tap)
    except (Timeout, RuntimeError) as e:
        tap.check(False, "the scenario ran to its end", e)
    finally:
        tui.close()
    tap.done()


if __name__ == "__main__":
    main()
