""":updates in xentui --demo: each host's available updates from XCP-ng's
updater plugin, then a rolling pool update of the three-host pool, master
first. The VMs on each host's local storage cannot move: xentui names them
before anything changes and, once agreed, shuts them down and starts them
again on their host after its reboot. It must end with every host updated
(check_update empty, the new xapi running) and every VM resident where it
was before, having survived the master's reboot (the connection drops and
comes back). TAP output."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import Pool, Tap, Timeout, Tui, row_starting, dialog_text  # noqa: E402


def placement(pool):
    return {r: v["resident_on"] for r, v in pool.guests().items() if v["power_state"] == "Running"}


def updates(pool, host):
    return json.loads(pool.call("host.call_plugin", host, "updater.py", "check_update", {}))


def main():
    tap = Tap()
    tui = Tui("updates", env={"NO_COLOR": "1"}, cols=120, rows=36)
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())
        hosts = pool.hosts()
        before = placement(pool)
        counts = {h: len(updates(pool, h)) for h in hosts}
        tap.check(all(counts.values()), "every host has updates to install", counts)

        tui.keys(":")
        tui.keys_literal("updates")
        tui.keys("Enter")
        tui.wait(r"HOST.*UPDATES")
        for h, rec in hosts.items():
            tui.attempt(tap, lambda s, n=rec["name_label"], c=counts[h]: row_starting(s, n)
                        and f" {c} " in row_starting(s, n) and "xapi-core" in row_starting(s, n),
                        f"{rec['name_label']} shows its {counts[h]} updates")

        stuck = sorted(pool.vm(r)["name_label"] for r, v in pool.guests().items()
                       if v["power_state"] in ("Running", "Paused") and pool.pinned(r))
        tui.keys("U")
        tui.wait(r"Rolling pool update")
        tui.keys("y")
        if stuck:
            screen = tui.attempt(tap, lambda s: "cannot move" in s and all(f"'{n}': " in dialog_text(s) for n in stuck),
                                 "before it starts, a dialog names every VM that cannot move", timeout=20)
            tap.check(screen is not None and "VM_REQUIRES_SR" not in screen
                      and "again on the same host" in dialog_text(screen),
                      "in words, saying they start again on their host", screen)
            tui.keys("y")
        tui.attempt(tap, r"Rolling pool update", "the rolling update's progress is shown")

        def finished():
            try:
                return all(not updates(pool, h) and pool.call("host.get_software_version", h)["xapi_build"] == "25.6.1"
                           and pool.call("host.get_enabled", h) for h in hosts) and placement(pool) == before
            except (RuntimeError, OSError):
                return False  # the master is rebooting
        # a wait that runs out is a "not ok" saying where each host got to, not an exception
        try:
            done = pool.wait(finished, timeout=240, what="the rolling update")
        except Timeout:
            done = False
        tap.check(done, "every host updated and running the new software",
                  "" if done else "not within 240 s: " + "; ".join(
                      f"{rec['name_label']}: {len(updates(pool, h))} updates left, xapi "
                      f"{pool.call('host.get_software_version', h).get('xapi_build')}, "
                      f"enabled {pool.call('host.get_enabled', h)}" for h, rec in hosts.items()))
        after = placement(pool)
        tap.check(after == before, "every VM is resident where it was",
                  {r: (before.get(r), after.get(r)) for r in set(before) | set(after) if before.get(r) != after.get(r)})
        tui.attempt(tap, r"Rolling pool update done", "the screen says the rolling update is done", timeout=60)
        tap.check(all(not updates(pool, h) for h in hosts), "check_update is empty on every host")
        tui.keys("r")
        tui.attempt(tap, lambda s: all(" 0 " in row_starting(s, rec["name_label"]) and "up to date" in s
                                       for rec in hosts.values()), "checking again shows 0 updates everywhere")
        tui.quit_and_check(tap)
    except (Timeout, RuntimeError, OSError) as e:
        tap.check(False, "the scenario ran to its end", e)
        print("# " + tui.screen().replace("\n", "\n# "))
    finally:
        tui.close()
    tap.done()


if __name__ == "__main__":
    main()
