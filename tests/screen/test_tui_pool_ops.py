"""Maintenance mode and the rolling pool update in a pool of three xapi-sim
processes, one host each, on distinct loopback addresses with one port:
A (127.0.0.5, master, the pool xentui is connected to), B (127.0.0.6) and
C (127.0.0.7) joined to A with pool.join over Python's xmlrpc.client.
Running VMs are moved to B and C first (VM.pool_migrate), so every host
has some.

- B into maintenance mode from B's host screen (m, y): A's records say B
  is disabled and no running VM is resident on B; out again (m, Enter):
  B enabled, the same VMs back on B;
- :updates, U, y: xentui names the VMs on A's local SR, which cannot move,
  and (y) shuts them down to start them again on A after its reboot; the
  rolling update ends with check_update (through A)
  empty for A, B and C, the new xapi running on each, every host enabled
  and every running VM resident where it was; xentui lives through the
  master's reboot with no key pressed. TAP output."""
import json
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import LOGS, Pool, Tap, Timeout, Tui, pool_sims, row_starting, stop_sims  # noqa: E402

A, B, C = "127.0.0.5", "127.0.0.6", "127.0.0.7"


def placement(pool):
    """ref -> host of every running guest."""
    return {r: v["resident_on"] for r, v in pool.guests().items() if v["power_state"] == "Running"}


def running_on(pool, host):
    return sorted(r for r, h in placement(pool).items() if h == host)


def ref_by_address(pool, address):
    return next(r for r, h in pool.hosts().items() if h["address"] == address)


def updates(pool, host):
    return json.loads(pool.call("host.call_plugin", host, "updater.py", "check_update", {}))


def filter_to(tui, text):
    tui.keys("/")
    tui.keys("C-u")
    tui.keys_literal(text)
    tui.keys("Enter")


def quiet(fn):
    """fn() or False while the master reboots (the call fails meanwhile)."""
    def run():
        try:
            return fn()
        except (RuntimeError, OSError):
            return False
    return run


def settled(pool, pred, timeout, what):
    """True once pred() holds; calls failing meanwhile (the master rebooting)
    count as not yet, and a timeout is False, so the check can say not ok."""
    try:
        return bool(pool.wait(quiet(pred), timeout=timeout, what=what))
    except Timeout:
        return False


def main():
    tap = Tap()
    sims = []
    tui = None
    try:
        sim_a = pool_sims(sims, "poolops", ((A, "--hosts", "1", "--vms", "10", "--seed", "31"),
                                            (B, "--hosts", "1", "--vms", "0", "--seed", "32"),
                                            (C, "--hosts", "1", "--vms", "0", "--seed", "33")))[0]
        for sim in sims[1:]:
            Pool(sim.url).call("pool.join", A, "root", "xapi-sim")
        pa = Pool(sim_a.url)
        pa.wait(lambda: sorted(h["address"] for h in pa.hosts().values()) == [A, B, C], timeout=30,
                what="B and C in A's records")
        home = os.path.join(LOGS, f"screen-poolops-{os.getpid()}")
        shutil.rmtree(home, ignore_errors=True)
        os.makedirs(os.path.join(home, "config", "xentui"))
        with open(os.path.join(home, "config", "xentui", "config"), "w") as f:
            f.write('servers = (\n'
                    '  { name = "lab"; url = "%s"; password_env = "XENTUI_PW"; fingerprint = "%s"; autoconnect = true; }\n'
                    ');\n' % (sim_a.url, sim_a.fingerprint))
        tui = Tui("poolops", args=(), env={"XENTUI_PW": "xapi-sim", "NO_COLOR": "1"}, cols=120, rows=36, fresh=False)
    except BaseException:
        # nothing may outlive a failed start
        if tui:
            tui.close()
        for sim in sims:
            sim.stop()
        raise
    try:
        ha, hb, hc = (ref_by_address(pa, x) for x in (A, B, C))
        # every standalone sim host is xcp-ng-01: names that tell them apart on the screen
        for h, name in ((ha, "alpha"), (hb, "bravo"), (hc, "charlie")):
            pa.call("host.set_name_label", h, name)
        hosts = pa.hosts()
        # the guests A runs, spread over the three hosts: those whose disks B
        # and C can see (shared storage; xapi refuses the others with
        # VM_REQUIRES_SR) go to B and C in turn, the rest stay on A
        mine = running_on(pa, ha)

        def can_boot(vm, host):
            try:
                pa.call("VM.assert_can_boot_here", vm, host)
                return True
            except RuntimeError:
                return False
        movable = [vm for vm in mine if can_boot(vm, hb) and can_boot(vm, hc)]
        tap.check(len(movable) >= 2 and len(movable) < len(mine),
                  "A runs VMs on shared storage (to spread) and on its local SR (to stay)", (movable, mine))
        for i, vm in enumerate(movable):
            pa.call("VM.pool_migrate", vm, hb if i % 2 == 0 else hc, {})
        tap.check(all(running_on(pa, h) for h in (ha, hb, hc)), "running VMs on A, B and C",
                  {h: running_on(pa, h) for h in (ha, hb, hc)})
        before = placement(pa)
        on_b = running_on(pa, hb)
        b_name = hosts[hb]["name_label"]

        tui.wait(r"live", timeout=60)
        tui.keys(":")
        tui.keys_literal("hosts")
        tui.keys("Enter")
        tui.wait(r"NAME.*STATE")
        filter_to(tui, b_name)
        tui.keys("Enter")
        tui.wait(r"Host " + re.escape(b_name))

        # ---- B into maintenance mode: its VMs leave it
        tui.keys("m")
        tui.wait(r"maintenance mode\?")
        tui.keys("y")
        tui.attempt(tap, r"Maintenance mode", "the operations screen shows the job on B")
        ok = settled(pa, lambda: not pa.call("host.get_enabled", hb) and not running_on(pa, hb), 60,
                     "B disabled and empty")
        tap.check(ok, "A's records: B disabled, no running VM resident on B", placement(pa))
        tap.check(set(placement(pa)) == set(before) and set(placement(pa).values()) <= {ha, hc},
                  "every VM still runs, on A or C", placement(pa))
        tui.attempt(tap, lambda s: "done" in s, "the job says done", timeout=30)

        # ---- and out: the same VMs come back
        tui.keys("Escape")
        tui.wait(r"Host " + re.escape(b_name))
        tui.keys("m")
        tui.wait(r"Leave maintenance mode")
        tui.keys("Enter")
        ok = settled(pa, lambda: pa.call("host.get_enabled", hb) and running_on(pa, hb) == on_b, 60,
                     "B's VMs back")
        tap.check(ok, "leaving maintenance mode: B enabled, the same VMs back on B", (on_b, running_on(pa, hb)))
        pa.wait(lambda: "MAINTENANCE_MODE" not in pa.call("host.get_other_config", hb), timeout=20)
        tap.check(placement(pa) == before, "every VM is where it was before", placement(pa))

        # ---- the rolling update
        counts = {h: len(updates(pa, h)) for h in (ha, hb, hc)}
        tap.check(all(counts.values()), "check_update through A lists updates for A, B and C", counts)
        tui.keys("Escape")
        tui.keys(":")
        tui.keys_literal("updates")
        tui.keys("Enter")
        tui.wait(r"HOST.*UPDATES")
        for h in (ha, hb, hc):
            n = hosts[h]["name_label"]
            tui.attempt(tap, lambda s, n=n, c=counts[h]: f" {c} " in row_starting(s, n),
                        f"{n} ({hosts[h]['address']}) shows its {counts[h]} updates", timeout=30)
        tui.keys("U")
        tui.wait(r"Rolling pool update")
        tui.keys("y")
        # A's VMs on its local SR cannot move: named first, shut down once agreed, started again on A
        stuck = [pa.vm(r)["name_label"] for r in running_on(pa, ha) if r not in movable]
        tui.attempt(tap, lambda s: "cannot move" in s and all(f"'{n}'" in s for n in stuck),
                    "before it starts, a dialog names A's VMs that cannot move", timeout=30)
        tui.keys("y")
        tui.attempt(tap, r"Rolling pool update", "the rolling update's progress is shown")

        def finished():
            return all(not updates(pa, h) and pa.call("host.get_software_version", h)["xapi_build"] == "25.6.1"
                       and pa.call("host.get_enabled", h) for h in (ha, hb, hc)) and placement(pa) == before
        done = quiet(lambda: pa.wait(quiet(finished), timeout=300, what="the rolling update"))()
        tap.check(done, "every host (A, B, C) updated: check_update empty, the new xapi running, enabled")
        after = quiet(lambda: placement(pa))() or {}
        tap.check(after == before, "every VM is resident where it was",
                  {r: (before.get(r), after.get(r)) for r in set(before) | set(after) if before.get(r) != after.get(r)})
        tui.attempt(tap, r"Rolling pool update done", "the screen says the rolling update is done", timeout=60)
        tui.attempt(tap, lambda s: re.search(r"connected via https://%s:" % re.escape(A), s) or "live" in s,
                    "xentui is connected to A again, no key pressed", timeout=30)
    except (Timeout, RuntimeError, OSError) as e:
        tap.check(False, "the scenario ran to its end", e)
        print("# " + tui.screen().replace("\n", "\n# "))
    finally:
        try:
            tui.quit_and_check(tap)
        finally:
            tui.close()
            stop_sims(tap, sims)
    tap.done()


if __name__ == "__main__":
    main()
