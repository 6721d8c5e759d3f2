"""What xentui --demo says after host settings and a cancelled maintenance
job must match the pool read back from the simulator: a setting's message
and its :tasks row name the operation and the host; a task cancelled under
way is shown as cancelled, not as a full bar; leaving maintenance mode
counts the VMs that really moved off the host (none, when the evacuation
was cancelled). TAP output."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import Pool, Tap, Timeout, Tui, row_of  # noqa: E402


def flat(screen):
    return " ".join(screen.split())


def command(tui, name, ready):
    tui.keys(":")
    tui.keys_literal(name)
    tui.keys("Enter")
    return tui.wait(ready)


def open_host(tui, name):
    command(tui, "hosts", r"NAME.*STATE")
    tui.keys("/")
    tui.keys("C-u")
    tui.keys_literal(name)
    tui.keys("Enter")
    tui.keys("Enter")
    tui.wait(r"Host " + re.escape(name))


def main():
    tap = Tap()
    tui = Tui("stalejobs", env={"NO_COLOR": "1"}, cols=140, rows=36)
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())
        master = list(pool.call("pool.get_all_records").values())[0]["master"]
        hosts = pool.hosts()
        # the member with the most VMs that can move; those on its local storage are shut down here
        # (test_tui_evacuate_blockers.py covers them)
        ref = max((h for h in hosts if h != master),
                  key=lambda h: len([r for r in pool.running_on(h) if not pool.pinned(r)]))
        name = hosts[ref]["name_label"]
        for r in pool.running_on(ref):
            if pool.pinned(r):
                pool.call("VM.clean_shutdown", r)
        before = pool.running_on(ref)
        tap.check(len(before) > 0, "the chosen host runs VMs", before)

        # ---- a setting's message names its operation and the host
        open_host(tui, name)
        tui.keys("e")
        tui.wait(r"SETTING")
        tui.keys("/")
        tui.keys_literal("DNS")
        tui.keys("Enter")
        tui.keys("Enter")
        tui.wait(r"The servers the host asks")
        tui.keys("C-u")
        tui.keys_literal("9.9.9.9, 1.1.1.1")
        tui.keys("Enter")
        mgmt = pool.call("host.get_management_interface", ref)
        pool.wait(lambda: pool.call("PIF.get_DNS", mgmt) == "9.9.9.9,1.1.1.1", timeout=20, what="the DNS set")
        tap.check(True, "sim: the DNS servers are set")
        label = f"Set the DNS servers of '{name}'"
        screen = tui.attempt(tap, lambda s: label + ": done" in flat(s),
                             "the message names the operation and the host: " + label + ": done")
        tap.check(screen is not None and not re.search(r"Configure +on", screen),
                  "no operation with an empty name in the message", screen)
        tui.keys("/")
        tui.keys("C-u")
        tui.keys_literal("Timezone")
        tui.keys("Enter")
        tui.keys("Enter")
        tui.wait(r"An IANA name")
        tui.keys("C-u")
        tui.keys_literal("Europe/Paris")
        tui.keys("Enter")
        pool.wait(lambda: pool.call("host.get_timezone", ref) == "Europe/Paris", timeout=20, what="the timezone")
        label = f"Set the timezone of '{name}'"
        tui.attempt(tap, lambda s: label + ": done" in flat(s), "and so does the timezone's: " + label + ": done")
        screen = command(tui, "tasks", r"TASK.*STATE")
        row = row_of(screen, "Set the DNS serv")
        tap.check("done" in row and not re.search(r"Configure +on", screen),
                  ":tasks lists it by that name, done", screen)

        # ---- maintenance mode, cancelled while the host is being evacuated
        open_host(tui, name)
        tui.keys("m")
        tui.wait(r"maintenance mode\?")
        tui.keys("y")
        tui.wait(lambda s: re.search(re.escape(name) + r"\s+evacuate", s), timeout=30)
        tui.keys("c")
        tui.wait(r"Cancel host operation")
        tui.keys("y")
        tui.attempt(tap, r"Maintenance mode cancelled on '" + re.escape(name) + r"'",
                    "the job stops: cancelled", timeout=40)
        oc = pool.call("host.get_other_config", ref)
        remembered = [u for u in oc.get("MAINTENANCE_MODE_EVACUATED_VMS_MIGRATED", "").split(",") if u]
        tap.check(len(remembered) == len(before), "sim: the job remembered the host's VMs", (remembered, before))
        moved = sum(1 for u in remembered if pool.vm(pool.call("VM.get_by_uuid", u))["resident_on"] != ref)
        tap.check(pool.running_on(ref) == before and moved == 0,
                  "sim: the evacuation was cancelled, every VM still on the host", pool.running_on(ref))

        # ---- :tasks shows the cancelled evacuation as cancelled, not as a full bar
        screen = command(tui, "tasks", r"TASK.*STATE")
        row = row_of(screen, "Evacuate host")
        tap.check("cancelled" in row and "100%" not in row,
                  ":tasks shows the cancelled evacuation as cancelled, without a full 100 % bar", screen)
        tui.keys("/")
        tui.keys_literal("Evacuate")
        tui.keys("Enter")
        tui.keys("Enter")
        screen = tui.wait(r"State:")
        tap.check("State: cancelled" in screen and "100%" not in screen,
                  "its details say cancelled, without 100 %", screen)
        tui.keys("Escape")

        # ---- leaving maintenance mode counts what really moved: nothing
        open_host(tui, name)
        tui.keys("m")
        screen = tui.wait(r"Leave maintenance mode")
        text = flat(screen)
        tap.check("No VM moved off it" in text and f"{len(before)} VMs moved" not in text,
                  "leaving says no VM moved off it (none did)", screen)
        tui.keys("Enter")
        pool.wait(lambda: pool.call("host.get_enabled", ref)
                  and "MAINTENANCE_MODE" not in pool.call("host.get_other_config", ref), timeout=30,
                  what="the host out of maintenance mode")
        tap.check(pool.running_on(ref) == before, "sim: enabled again, with the same VMs on it")

        # ---- and after a real evacuation it counts the VMs that moved
        open_host(tui, name)
        tui.keys("m")
        tui.wait(r"maintenance mode\?")
        tui.keys("y")
        pool.wait(lambda: not pool.running_on(ref)
                  and pool.call("host.get_other_config", ref).get("MAINTENANCE_MODE") == "true"
                  and not pool.call("host.get_enabled", ref), timeout=60, what="the host evacuated")
        tui.wait(lambda s: "Maintenance mode: '" + name + "' done" in flat(s), timeout=30)
        open_host(tui, name)
        tui.keys("m")
        screen = tui.wait(r"Leave maintenance mode")
        tap.check(f"{len(before)} VMs moved off it" in flat(screen) or
                  (len(before) == 1 and "1 VM moved off it" in flat(screen)),
                  f"after a real evacuation it says the {len(before)} VMs moved off it", screen)
        tui.keys("Enter")
        pool.wait(lambda: pool.running_on(ref) == before
                  and "MAINTENANCE_MODE" not in pool.call("host.get_other_config", ref), timeout=60,
                  what="the VMs back")
        tap.check(True, "sim: the VMs are back")
        tui.quit_and_check(tap)
    except (Timeout, RuntimeError, OSError) as e:
        tap.check(False, "the scenario ran to its end", e)
        print("# " + tui.screen().replace("\n", "\n# "))
    finally:
        tui.close()
    tap.done()


if __name__ == "__main__":
    main()
