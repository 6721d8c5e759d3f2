"""A host's maintenance mode, settings and PCI passthrough in xentui --demo,
checked on the screen and in the simulator's records: maintenance mode
moves the host's VMs off and back, settings (hostname, SSH, syslog, DNS)
read back from the sim, a device marked for passthrough waits for the
reboot, is attached to a VM, and the evacuating reboot brings the host
back with its VMs. TAP output."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import Pool, Tap, Timeout, Tui  # noqa: E402


def until(pool, pred, timeout=20.0):
    """Waits for pred on the pool; False when it never held (the check that
    follows reports it as "not ok", and the scenario goes on)."""
    try:
        return bool(pool.wait(pred, timeout=timeout))
    except Timeout:
        return False


def waited(tap, pool, pred, name, timeout=20.0, detail=lambda: ""):
    """Waits for pred on the pool, as one TAP line: "not ok" saying what did
    not happen in how long, never an exception that ends the scenario."""
    held = until(pool, pred, timeout)
    return tap.check(held, name, "" if held else f"not within {timeout:g} s; {detail()}")


def filter_to(tui, text):
    tui.keys("/")
    tui.keys("C-u")
    tui.keys_literal(text)
    tui.keys("Enter")


def main():
    tap = Tap()
    # the first host.disable answers 6 s late (it has run by then): time to cancel while it is under way
    tui = Tui("hostmaint", env={"NO_COLOR": "1", "XENTUI_DEMO_ARGS": "--faults delay=6000:host.disable*1"},
              cols=120, rows=36)
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

        tui.keys(":")
        tui.keys_literal("hosts")
        tui.keys("Enter")
        tui.wait(r"NAME.*STATE")
        filter_to(tui, name)
        tui.keys("Enter")
        tui.wait(r"Host " + name)

        # ---- maintenance mode in, cancelled while the host is being disabled
        tui.keys("m")
        tui.wait(r"maintenance mode\?")
        tui.keys("y")
        tui.wait(r"Maintenance mode", timeout=30)
        tui.wait(lambda s: re.search(name + r"\s+disable", s), timeout=30)
        tui.keys("c")
        tui.wait(r"Cancel host operation")
        tui.keys("y")
        tui.attempt(tap, r"Maintenance mode cancelled on '" + name + r"' before \"evacuate\"",
                    "cancel: the job stops after the step under way and says where", timeout=40)
        until(pool, lambda: not hosts_enabled(pool, ref))
        tap.check(not hosts_enabled(pool, ref) and pool.running_on(ref) == before
                  and pool.call("host.get_other_config", ref).get("MAINTENANCE_MODE") == "true",
                  "sim: the host is disabled, in maintenance mode, every VM still on it")
        want = (f"Now '{name}' is disabled, in maintenance mode, {len(before)} VM{'' if len(before) == 1 else 's'} running on it; "
                "press m on the host to leave maintenance mode")
        tui.attempt(tap, lambda s: want in " ".join(s.split()), "the screen says that state, and how to leave it")
        tui.keys("Escape")
        tui.wait(r"Host " + name)
        tui.keys("m")
        tui.wait(r"Leave maintenance mode")
        tui.keys("Enter")
        until(pool, lambda: hosts_enabled(pool, ref)
              and "MAINTENANCE_MODE" not in pool.call("host.get_other_config", ref), timeout=30)
        tap.check(hosts_enabled(pool, ref) and pool.running_on(ref) == before,
                  "m leaves it: enabled, the same VMs on it")
        tui.keys("Escape")
        tui.wait(r"Host " + name)

        # ---- maintenance mode in
        tui.keys("m")
        tui.wait(r"maintenance mode\?")
        tui.keys("y")
        tui.attempt(tap, r"Maintenance mode", "the operations screen shows the job")
        waited(tap, pool, lambda: not hosts_enabled(pool, ref) and not pool.running_on(ref),
               "maintenance mode: host disabled, no VM left on it", timeout=40,
               detail=lambda: f"enabled {hosts_enabled(pool, ref)}, running on it {pool.running_on(ref)}")
        oc = pool.call("host.get_other_config", ref)
        tap.check(oc.get("MAINTENANCE_MODE") == "true", "other_config says MAINTENANCE_MODE", oc)
        saved = sorted(pool.call("VM.get_by_uuid", u) for u in oc.get("MAINTENANCE_MODE_EVACUATED_VMS_MIGRATED", "").split(",") if u)
        tap.check(saved == before, "the VMs that moved are remembered in other_config", (saved, before))
        tui.attempt(tap, lambda s: "done" in s, "the job says done")

        # ---- maintenance mode out: the VMs come back
        tui.keys("Escape")
        tui.wait(r"Host " + name)
        tui.keys("m")
        tui.wait(r"Leave maintenance mode")
        tui.keys("Enter")
        waited(tap, pool, lambda: hosts_enabled(pool, ref) and pool.running_on(ref) == before,
               "leaving maintenance mode brings the same VMs back", timeout=60,
               detail=lambda: f"enabled {hosts_enabled(pool, ref)}, on it {pool.running_on(ref)}, before {before}")
        waited(tap, pool, lambda: "MAINTENANCE_MODE" not in pool.call("host.get_other_config", ref),
               "other_config forgets them", detail=lambda: pool.call("host.get_other_config", ref))

        # ---- settings
        tui.keys("Escape")
        tui.wait(r"Host " + name)
        tui.keys("e")
        tui.wait(r"SETTING")
        filter_to(tui, "Hostname")
        tui.keys("Enter")
        tui.wait(r"Hostname")
        tui.keys("C-u")
        tui.keys_literal("bad name!")
        tui.keys("Enter")
        tui.attempt(tap, r"invalid|Invalid|not valid", "a bad hostname: xapi's refusal as a sentence")
        filter_to(tui, "Hostname")
        tui.keys("Enter")
        tui.keys("C-u")
        tui.keys_literal("maint-test")
        tui.keys("Enter")
        waited(tap, pool, lambda: pool.call("host.get_hostname", ref) == "maint-test",
               "hostname set and read back from the sim", detail=lambda: pool.call("host.get_hostname", ref))
        ssh = pool.call("host.get_ssh_enabled", ref)
        filter_to(tui, "SSH")
        tui.keys("Enter")
        tui.keys("y")
        waited(tap, pool, lambda: pool.call("host.get_ssh_enabled", ref) != ssh, "SSH toggled in the sim",
               detail=lambda: f"ssh_enabled is still {ssh}")
        filter_to(tui, "syslog")
        tui.keys("Enter")
        tui.keys("C-u")
        tui.keys_literal("10.1.2.3")
        tui.keys("Enter")
        waited(tap, pool, lambda: pool.call("host.get_logging", ref).get("syslog_destination") == "10.1.2.3",
               "remote syslog destination set", detail=lambda: pool.call("host.get_logging", ref))
        filter_to(tui, "DNS")
        tui.keys("Enter")
        tui.keys("C-u")
        tui.keys_literal("9.9.9.9, 1.0.0.1")
        tui.keys("Enter")
        mgmt = pool.call("host.get_management_interface", ref)
        waited(tap, pool, lambda: pool.call("PIF.get_DNS", mgmt) == "9.9.9.9,1.0.0.1",
               "DNS servers of the management interface set", detail=lambda: pool.call("PIF.get_DNS", mgmt))
        tui.attempt(tap, r"9\.9\.9\.9,1\.0\.0\.1", "the settings screen shows the new DNS")

        # ---- PCI passthrough (Esc would clear the filter first; q goes back)
        tui.keys("q")
        tui.wait(r"Host " + name)
        tui.keys("p")
        tui.wait(r"DOM0 ACCESS")
        filter_to(tui, "USB")
        tui.wait(r"USB.*dom0")
        usb = [r for r, p in pool.call("PCI.get_all_records").items()
               if p["host"] == ref and p["class_name"] == "USB controller"][0]
        tui.keys("x")
        tui.attempt(tap, lambda s: "Hide 0000:00:14.0 (" in s and "from dom0?" in s,
                    "x asks before hiding the USB controller")
        tui.keys("y")
        waited(tap, pool, lambda: pool.call("PCI.get_dom0_access_status", usb) == "disable_on_reboot",
               "the USB controller is marked for passthrough",
               detail=lambda: pool.call("PCI.get_dom0_access_status", usb))
        tui.attempt(tap, r"passthrough after reboot", "the screen says it waits for a reboot")
        vm_ref = before[0]
        vm_name = pool.vm(vm_ref)["name_label"]
        # the VM has another of the host's devices already: attaching must add, not replace
        other = [p for r, p in pool.call("PCI.get_all_records").items() if p["host"] == ref and r != usb][0]
        pool.call("VM.add_to_other_config", vm_ref, "pci", "0/" + other["pci_id"])
        # the choices are the pool's VMs by name
        index = sorted(v["name_label"] for v in pool.guests().values()).index(pool.vm(vm_ref)["name_label"])
        tui.keys("a")
        tui.wait(r"Attach a PCI device")
        tui.keys(*(["Down"] * index))
        tui.keys("Enter")
        pci_id = pool.call("PCI.get_pci_id", usb)
        want = "0/" + other["pci_id"] + ",1/" + pci_id
        waited(tap, pool, lambda: pool.call("VM.get_other_config", vm_ref).get("pci") == want,
               "attach appends the device to the VM's other_config:pci, the other one stays",
               detail=lambda: f'pci is {pool.call("VM.get_other_config", vm_ref).get("pci")!r}, want {want!r}')
        tui.attempt(tap, lambda s: re.search(re.escape(pci_id) + r".*USB.*passthrough.*" + re.escape(vm_name), s),
                    "the device's row names the VM that has it")
        filter_to(tui, other["pci_id"])
        tui.attempt(tap, lambda s: re.search(re.escape(other["pci_id"]) + r".*" + re.escape(vm_name), s),
                    "so does the other device's row (read from the VM's other_config)")
        filter_to(tui, "USB")
        tui.keys("a")
        tui.attempt(tap, r"is given to " + re.escape(vm_name) + r" already",
                    "attaching a device a VM has already is refused, naming the VM")
        tui.keys("d")
        tui.wait(r"Detach a PCI device")
        tui.keys("Enter")
        waited(tap, pool, lambda: pool.call("VM.get_other_config", vm_ref).get("pci") == "0/" + other["pci_id"],
               "detach removes only that device from other_config:pci",
               detail=lambda: f'pci is {pool.call("VM.get_other_config", vm_ref).get("pci")!r}')
        pool.call("VM.remove_from_other_config", vm_ref, "pci")

        # ---- reboot with evacuation: VMs away, host back, VMs back
        tui.keys("q")
        tui.wait(r"Host " + name)
        boot = pool.call("host.get_other_config", ref).get("boot_time")
        tui.keys("r")
        tui.wait(r"Reboot '")
        tui.keys("y")
        waited(tap, pool, lambda: pool.call("host.get_other_config", ref).get("boot_time") != boot,
               "the host rebooted", timeout=60, detail=lambda: f"boot_time is still {boot}")
        waited(tap, pool, lambda: hosts_enabled(pool, ref) and pool.running_on(ref) == before,
               "after the reboot its VMs are back", timeout=60,
               detail=lambda: f"enabled {hosts_enabled(pool, ref)}, on it {pool.running_on(ref)}, before {before}")
        tap.check(pool.call("PCI.get_dom0_access_status", usb) == "disabled",
                  "after the reboot the device is hidden from dom0")
        tui.attempt(tap, r"Reboot with evacuation", "the operations screen shows the reboot")
        tui.quit_and_check(tap)
    except (Timeout, RuntimeError, OSError) as e:
        tap.check(False, "the scenario ran to its end", e)
        print("# " + tui.screen().replace("\n", "\n# "))
    finally:
        tui.close()
    tap.done()


def hosts_enabled(pool, ref):
    return pool.call("host.get_enabled", ref)


if __name__ == "__main__":
    main()
