"""VMs that cannot leave a host, in xentui --demo: before maintenance mode
or an evacuating reboot starts, xentui asks xapi which VMs would block the
evacuation (host.get_vms_which_prevent_evacuation) and, when one has its
disk on the host's local storage, a dialog names it with the reason in
words. Cancel leaves the host as it was; "shut down and continue" halts it
cleanly and evacuates the rest (a reboot starts it again on the same host).
If a VM appears after the check, the job's failure names it and why. The
pool is read back from the simulator. TAP output."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import Pool, Tap, Timeout, Tui, dialog_text  # noqa: E402


def until(pool, pred, timeout=30.0):
    try:
        return bool(pool.wait(pred, timeout=timeout))
    except Timeout:
        return False


def leave_maintenance(tui, name):
    """From the job's screen back to the host's, m, and Enter at "Leave maintenance mode"."""
    tui.keys("Escape")
    tui.wait(r"Host " + name)
    tui.keys("m")
    tui.wait(r"Leave maintenance mode")
    tui.keys("Enter")


def main():
    tap = Tap()
    # the first check answers 6 s late: time to start a VM that cannot move after it was made
    tui = Tui("evacblock", env={"NO_COLOR": "1",
                                "XENTUI_DEMO_ARGS": "--faults delay=6000:host.get_vms_which_prevent_evacuation*1"},
              cols=140, rows=36)
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())
        master = list(pool.call("pool.get_all_records").values())[0]["master"]
        hosts = pool.hosts()
        ref = pin = movable = None
        for h in hosts:
            if h == master:
                continue
            run = pool.running_on(h)
            p = [r for r in run if pool.pinned(r)]
            m = [r for r in run if r not in p]
            paused = [r for r, v in pool.guests().items()
                      if v["resident_on"] == h and v["power_state"] == "Paused"]
            if p and m and not paused:
                ref, pin, movable = h, p[0], m
                break
        tap.check(ref is not None, "a member runs a VM on its local storage and one on shared storage")
        if ref is None:
            tap.done()
            return
        name = hosts[ref]["name_label"]
        vm_name = pool.vm(pin)["name_label"]
        sr_name = "Local storage"
        # only one VM that cannot move
        for r in pool.running_on(ref):
            if r != pin and pool.pinned(r):
                pool.call("VM.clean_shutdown", r)
        reason = f"'{vm_name}': its disk is on '{sr_name}', which only this host sees"

        tui.keys(":")
        tui.keys_literal("hosts")
        tui.keys("Enter")
        tui.wait(r"NAME.*STATE")
        tui.keys("/")
        tui.keys_literal(name)
        tui.keys("Enter")
        tui.keys("Enter")
        tui.wait(r"Host " + name)

        # ---- the VM starts after xapi said nothing blocks: the failure names it and why
        pool.call("VM.clean_shutdown", pin)
        tui.keys("m")
        tui.wait(r"maintenance mode\?")
        tui.keys("y")
        tui.wait(r"Checking which VMs can move off")
        # the check is queued when the line shows: start the VM once xapi has answered it, not before
        checked = "host.get_vms_which_prevent_evacuation has run"
        tap.check(until(pool, lambda: checked in tui.sim_stderr(), 20), "sim: the check ran (its answer held 6 s)",
                  tui.sim_stderr())
        pool.call("VM.start_on", pin, ref, False, False)
        screen = tui.attempt(tap, lambda s: reason in dialog_text(s) and "stopped on" in dialog_text(s),
                             "evacuate fails: the job's message names the VM and the reason", timeout=40)
        tap.check(screen is not None and "VM_REQUIRES_SR" not in screen, "never a raw xapi code", screen)
        tap.check(sorted(pool.running_on(ref)) == sorted(movable + [pin]), "sim: nothing moved off the host",
                  pool.running_on(ref))
        leave_maintenance(tui, name)
        tap.check(until(pool, lambda: pool.call("host.get_enabled", ref)
                        and "MAINTENANCE_MODE" not in pool.call("host.get_other_config", ref)),
                  "sim: out of maintenance mode again")
        before = pool.running_on(ref)

        # ---- the check names it before anything changes; Cancel changes nothing
        tui.keys("Escape")
        tui.wait(r"Host " + name)
        tui.keys("m")
        tui.wait(r"maintenance mode\?")
        tui.keys("y")
        screen = tui.attempt(tap, lambda s: "A VM cannot move" in s and reason in dialog_text(s),
                             "a dialog names the VM that cannot move and why", timeout=20)
        tap.check(screen is not None and "Shut this VM down cleanly, then continue" in dialog_text(screen) and "Cancel" in screen
                  and "VM_REQUIRES_SR" not in screen, "it offers a clean shutdown first, or Cancel", screen)
        tap.check(pool.call("host.get_enabled", ref) and pool.running_on(ref) == before
                  and "MAINTENANCE_MODE" not in pool.call("host.get_other_config", ref),
                  "sim: nothing changed while it asks")
        tui.keys("Escape")
        tui.attempt(tap, r"cancelled: nothing was changed", "Cancel says nothing was changed")
        tap.check(pool.call("host.get_enabled", ref) and pool.running_on(ref) == before
                  and "MAINTENANCE_MODE" not in pool.call("host.get_other_config", ref),
                  "sim: the host is enabled with its VMs after Cancel", pool.running_on(ref))

        # ---- shut it down and continue
        tui.keys("m")
        tui.wait(r"maintenance mode\?")
        tui.keys("y")
        tui.wait(r"A VM cannot move")
        tui.keys("y")
        held = until(pool, lambda: not pool.call("host.get_enabled", ref) and not pool.running_on(ref), 60)
        tap.check(held, "sim: the host is disabled and nothing runs on it", pool.running_on(ref))
        tap.check(pool.vm(pin)["power_state"] == "Halted", "sim: the VM on local storage was shut down",
                  pool.vm(pin)["power_state"])
        tap.check(all(pool.vm(r)["power_state"] == "Running" and pool.vm(r)["resident_on"] not in (ref, "OpaqueRef:NULL")
                      for r in movable), "sim: the others run on other hosts")
        tui.attempt(tap, lambda s: f"Maintenance mode: '{name}' done" in dialog_text(s), "the job says done")

        # ---- leave maintenance mode: the others come back, the halted VM stays halted
        leave_maintenance(tui, name)
        tap.check(until(pool, lambda: pool.call("host.get_enabled", ref)
                        and sorted(pool.running_on(ref)) == sorted(movable), 60),
                  "leaving maintenance mode brings the others back", pool.running_on(ref))

        # ---- a reboot shuts it down and starts it again on the same host
        pool.call("VM.start_on", pin, ref, False, False)
        boot = pool.call("host.get_other_config", ref).get("boot_time")
        tui.keys("Escape")
        tui.wait(r"Host " + name)
        tui.keys("r")
        tui.wait(r"Reboot '")
        tui.keys("y")
        screen = tui.attempt(tap, lambda s: reason in dialog_text(s) and "starts again on the same host" in dialog_text(s),
                             "before a reboot the dialog says it starts again on the same host")
        tui.keys("y")
        tap.check(until(pool, lambda: pool.call("host.get_other_config", ref).get("boot_time") != boot, 60),
                  "sim: the host rebooted")
        tap.check(until(pool, lambda: sorted(pool.running_on(ref)) == sorted(movable + [pin]), 60),
                  "sim: after the reboot the VM runs on the same host again, and the others are back",
                  pool.running_on(ref))
        tui.attempt(tap, lambda s: f"Reboot with evacuation: '{name}' done" in dialog_text(s), "the reboot job says done",
                    timeout=30)
        tui.quit_and_check(tap)
    except (Timeout, RuntimeError, OSError) as e:
        tap.check(False, "the scenario ran to its end", e)
        print("# " + tui.screen().replace("\n", "\n# "))
    finally:
        tui.close()
    tap.done()


if __name__ == "__main__":
    main()
