"""A VM's console in xentui --demo: opened from the VM's Console tab and with
:console NAME, through the simulator's console proxy (HTTP CONNECT over TLS,
then RFB): the guest's prompt read back as text, a command typed and its
answer read, Ctrl-] b back, a host's (dom0) console from the host
screen, and a halted VM's console saying it is not
running. TAP output."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import Pool, Tap, Timeout, Tui  # noqa: E402


def main():
    tap = Tap()
    tui = Tui("console", env={"NO_COLOR": "1"})
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())
        guests = pool.guests()
        # names no other VM's name or tags contain: a filter on them shows one row
        texts = [v["name_label"] + " " + " ".join(v["tags"]) for v in guests.values()]
        unique = {v["name_label"] for v in guests.values() if sum(v["name_label"] in t for t in texts) == 1}
        running = sorted(v["name_label"] for v in guests.values()
                         if v["power_state"] == "Running" and v["name_label"] in unique)
        halted = sorted(v["name_label"] for v in guests.values()
                        if v["power_state"] == "Halted" and v["name_label"] in unique)
        if not running or not halted:
            raise RuntimeError("the demo pool needs a running and a halted VM with unique names")
        name = running[0]

        # ---- :console NAME
        tui.keys(":")
        tui.keys_literal("console " + name)
        tui.keys("Enter")
        tui.attempt(tap, r"connected 720x400", "the status line says connected 720x400", timeout=30)
        prompt = f"root@{name}:~#"
        tui.attempt(tap, lambda s: any(line.rstrip() == prompt for line in s.split("\n")),
                    f"the guest's prompt {prompt} shows as text", timeout=20)
        tui.keys_literal("hostname")
        tui.keys("Enter")

        def answered(s):
            lines = [line.rstrip() for line in s.split("\n")]
            return any(lines[i] == prompt + " hostname" and lines[i + 1] == name and lines[i + 2] == prompt
                       for i in range(len(lines) - 2))
        tui.attempt(tap, answered, "typing hostname Enter shows the VM's hostname and a new prompt", timeout=20)

        # ---- Ctrl-] b: back where we were
        tui.keys("C-]")
        tui.attempt(tap, r"Console menu", "Ctrl-] opens the console menu")
        tui.keys("b")
        tui.attempt(tap, lambda s: prompt not in s and "Console menu" not in s, "b goes back")

        # ---- a halted VM's console
        tui.keys(":")
        tui.keys_literal("console " + halted[0])
        tui.keys("Enter")
        tui.attempt(tap, re.escape(halted[0]) + r".* is not running", "a halted VM's console says it is not running")
        tui.keys("Escape")

        # ---- from the VM's Console tab
        tui.keys(":")
        tui.keys_literal("vms")
        tui.keys("Enter")
        tui.wait(r"^NAME.*POWER")
        tui.keys("/")
        tui.keys("C-u")
        tui.keys_literal(name)
        tui.keys("Enter")
        tui.wait(lambda s: "1 of" in s.split("\n")[1])
        tui.keys("Enter")
        tui.wait(r"General")
        tui.keys("5")
        tui.attempt(tap, r"Enter opens the VM's console", "the Console tab says Enter opens the console")
        tui.keys("Enter")
        tui.attempt(tap, lambda s: any(line.rstrip() == prompt for line in s.split("\n")),
                    "Enter on the Console tab opens the console with the prompt", timeout=30)
        tui.keys("C-]")
        tui.keys("b")
        tui.attempt(tap, r"Enter opens the VM's console", "Ctrl-] b returns to the VM's Console tab")

        # ---- a host's console: its control domain's, from the host's screen
        hosts = pool.hosts()
        host = sorted(h["hostname"] for h in hosts.values())[0]
        tui.keys(":")
        tui.keys_literal("hosts")
        tui.keys("Enter")
        tui.wait(r"^NAME")
        tui.keys("/")
        tui.keys("C-u")
        tui.keys_literal(host)
        tui.keys("Enter")
        tui.wait(lambda s: "1 of" in s.split("\n")[1])
        tui.keys("Enter")
        tui.wait(r"CPUs")
        tui.keys("c")
        dom0_prompt = f"[root@{host} ~]#"
        tui.attempt(tap, lambda s: "XCP-ng release" in s and any(line.rstrip() == dom0_prompt for line in s.split("\n")),
                    f"c on a host opens its dom0 console: XCP-ng banner and {dom0_prompt}", timeout=30)
        tui.keys("C-]")
        tui.keys("b")

        tui.quit_and_check(tap)
    except (Timeout, RuntimeError) as e:
        tap.check(False, "the scenario ran to its end", e)
    finally:
        tui.close()
    tap.done()


if __name__ == "__main__":
    main()
