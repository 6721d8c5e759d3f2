"""xentui --local at a host's own console (issue 17), against xapi-sim
serving a TLS port and a unix socket as xapi does: the first screen is this
host (the inventory's INSTALLATION_UUID), changes wait for root's password
(checked by a login over TLS: wrong is refused, right unlocks and the change
goes ahead, read back in the simulator), Ctrl-L and an idle time lock again,
a console opens only once unlocked;
and on TERM=linux at 80x25 every character on screen is one the Linux
console's font has (ASCII and the line drawing ncurses draws through the
alternate character set), in the classic and mono themes. TAP output."""
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import Pool, Sim, Tap, Timeout, Tui, cmd, filter_to, row_starting, stop_sims  # noqa: E402

# ncurses draws the VT100 alternate character set as these code points on a
# UTF-8 terminal (tmux captures them so); the Linux console's font has them all
ACS = set("─│┌┐└┘├┤┬┴┼▒█░°±·◆≤≥π≠£←→↑↓▲▼")
IDLE_S = 6


def foreign(text):
    """Characters the Linux console font lacks: not ASCII, not ACS."""
    return sorted({c for c in text if ord(c) > 126 and c not in ACS} | {c for c in text if ord(c) < 32 and c != "\n"})


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def only(tui, name):
    """Filters the VM list down to name's row (and waits for it)."""
    filter_to(tui, name)
    return tui.wait(lambda s: row_starting(s, name) and "1 of" in s.split("\n")[1])


def pick(guests, power, exclude=()):
    for ref, v in sorted(guests.items(), key=lambda kv: kv[1]["name_label"]):
        others = [w["name_label"] for r, w in guests.items() if r != ref]
        if v["power_state"] == power and v["name_label"] not in exclude and not any(v["name_label"] in o for o in others):
            return ref, v["name_label"]
    raise RuntimeError(f"no {power} VM with a unique name")


def password(tui, text):
    """Types text in the lock's password dialog and sends it."""
    tui.keys_literal(text)
    tui.keys("Enter")


def lock_asked(s):
    return "Changes are locked" in s and "Root password" in s


def console_test(tap, sim, sock, cfg, inv, theme):
    """TERM=linux, 80x25: the first screen, the dashboard, a list and a
    dialog hold no character outside the console font; the theme reads."""
    tui = Tui("local-linux-" + theme, args=("-c", cfg, "--theme", theme, "--local", "unix:" + sock), cols=80, rows=25,
              env={"TERM": "linux", "XENTUI_INVENTORY": inv})
    try:
        shots = []
        shots.append(tui.attempt(tap, r"This host .*\n.*\n Address", f"TERM=linux, {theme}: the first screen shows this host"))
        tui.keys("h")  # the host's details: its CPUs' bars, its metrics' graphs
        shots.append(tui.wait(r"1 General", timeout=10))
        for tab in ("2", "3", "7"):
            tui.keys(tab)
            shots.append(tui.wait(lambda s, tab=tab: "Metrics" in s, timeout=10))
        tui.keys("?")
        shots.append(tui.wait(r"Keys of", timeout=10))
        tui.keys("Escape", "Escape", "Escape")
        shots.append(tui.wait(r"hosts .*VMs", timeout=10))
        cmd(tui, "vms")
        shots.append(tui.wait(r"^NAME", timeout=10))
        attrs = tui.screen_attrs()
        tui.keys("s") if "Halted" in tui.screen() else tui.keys("u")
        try:
            shots.append(tui.wait(lock_asked, timeout=10))
        except Timeout as e:
            shots.append(str(e))
        bad = foreign("\n".join(s or "" for s in shots))
        tap.check(not bad, f"TERM=linux, {theme}: only ASCII and ACS line drawing on screen", repr(bad))
        tap.check(any(c in ACS for c in shots[-1] or ""), f"TERM=linux, {theme}: the dialog's frame is ACS line drawing",
                  shots[-1])
        sgr = re.findall(r"\x1b\[([0-9;]*)m", attrs)
        if theme == "mono":
            tap.check(any("7" in p.split(";") for p in sgr) and not any(re.search(r"(^|;)(3|4)[0-7](;|$)", p) for p in sgr),
                      "TERM=linux, mono: no colour, the selection in reverse video", attrs[:2000])
        else:
            many = [p for p in sgr if re.search(r"(38|48);5;(1[6-9]|[2-9][0-9]|1[0-9][0-9]|2[0-5][0-9])", p)]
            tap.check(any("44" in p.split(";") for p in sgr) and not many,
                      "TERM=linux, classic: the blue of xsconsole, no colour beyond the console's 16", attrs[:2000])
        tui.keys("Escape")
        tui.quit_and_check(tap)
    except Timeout as e:
        tap.check(False, f"TERM=linux, {theme}: the screens came", e)
    finally:
        tui.close()


def main():
    tap = Tap()
    tmp = tempfile.mkdtemp(prefix="xentui-local-")
    sock = os.path.join(tmp, "xapi")
    sims = [Sim("local", "--hosts", "2", "--vms", "6", "--unix", sock)]
    sim = sims[0]
    tui = None
    try:
        pool = Pool(sim.url)
        hosts = pool.hosts()
        master = pool.call("pool.get_master", pool.call("pool.get_all")[0])
        this = next(r for r in hosts if r != master)  # a member: the inventory, not the master, decides
        name = hosts[this]["name_label"]
        inv = os.path.join(tmp, "xensource-inventory")
        write(inv, f"PRODUCT_BRAND='XCP-ng'\nINSTALLATION_UUID='{hosts[this]['uuid']}'\nCONTROL_DOMAIN_UUID='x'\n")
        cfg = os.path.join(tmp, "config")
        write(cfg, "preferences = {\n"
                   f"  lock_url = \"{sim.url}\";\n  lock_fingerprint = \"{sim.fingerprint}\";\n"
                   f"  lock_idle = {IDLE_S};\n}};\n")

        tui = Tui("local", args=("-c", cfg, "--local", "unix:" + sock), cols=80, rows=25,
                  env={"NO_COLOR": "1", "XENTUI_INVENTORY": inv})
        first = tui.attempt(tap, rf"This host {re.escape(name)}", "--local: the first screen is this host (the inventory's)",
                            timeout=30)
        first = first or tui.screen()
        tap.check(f"unix:{sock}" in first, "over xapi's local socket, with no password asked", first)
        addr = hosts[this]["address"]
        tap.check(re.search(rf"Address\s+{re.escape(addr)}", first) and re.search(r"Memory\s+.*GiB / \d+ GiB", first)
                  and re.search(r"CPU\s+.*\d+ x ", first) and re.search(r"Toolstack\s+xapi answering, host enabled", first),
                  "it shows the host's address, xapi and toolstack, CPU and memory", first)
        tap.check("Changes     locked" in first, "and that changes are locked", first)
        resident = [pool.vm(v)["name_label"] for v in hosts[this]["resident_VMs"] if not pool.vm(v)["is_control_domain"]]
        tap.check(resident and all(row_starting(first, n) for n in resident), "its VMs: those running on it", first)
        tui.keys("Escape")
        tui.attempt(tap, r"2 hosts", "Esc: the whole pool as usual")

        guests = pool.guests()
        ref, vm = pick(guests, "Halted")
        ref2, vm2 = pick(guests, "Halted", exclude=(vm,))
        cmd(tui, "vms")
        tui.wait(r"^NAME", timeout=10)
        only(tui, vm)
        tui.keys("s")
        tui.attempt(tap, lock_asked, "starting a VM asks for root's password first")
        tap.check(pool.vm(ref)["power_state"] == "Halted", "nothing has happened yet", pool.vm(ref)["power_state"])

        password(tui, "not-the-password")
        tui.attempt(tap, r"Wrong root password: nothing\s+was done", "a wrong password: a sentence", timeout=20)
        tap.check(pool.vm(ref)["power_state"] == "Halted", "and the VM is still halted", pool.vm(ref)["power_state"])

        tui.keys("s")
        tui.wait(lock_asked, timeout=10)
        password(tui, "xapi-sim")
        tui.attempt(tap, lambda s: "Running" in row_starting(s, vm), "the right one: the VM starts", timeout=20)
        tap.check(pool.wait(lambda: pool.vm(ref)["power_state"] == "Running", what="the VM running"),
                  "the simulator has it running")

        tui.keys("C-l")
        tui.attempt(tap, r"Locked now", "Ctrl-L locks again")
        only(tui, vm2)
        tui.keys("s")
        tui.attempt(tap, lock_asked, "and the next change asks again")
        tui.keys("Escape")
        tui.attempt(tap, r"still locked: nothing\s+was done", "Esc at the password: nothing done")
        tap.check(pool.vm(ref2)["power_state"] == "Halted", "the other VM is still halted", pool.vm(ref2)["power_state"])

        tui.keys("s")
        tui.wait(lock_asked, timeout=10)
        password(tui, "xapi-sim")
        tui.attempt(tap, lambda s: "Running" in row_starting(s, vm2), "unlocked again, the other VM starts", timeout=20)
        tui.attempt(tap, rf"Locked again after {IDLE_S} s without a key", f"{IDLE_S} s idle (lock_idle) locks again",
                    timeout=IDLE_S + 10)
        tui.keys("x")
        asked = tui.wait(lambda s: lock_asked(s) or "Shut down" in s, timeout=10)
        if not lock_asked(asked):
            tui.keys("Enter")  # the clean shutdown's own question first
        tui.attempt(tap, lock_asked, "after the idle lock a change asks for the password again")
        tui.keys("Escape")
        tap.check(pool.vm(ref2)["power_state"] == "Running", "and nothing changed", pool.vm(ref2)["power_state"])
        # a console's keys reach the guest (or dom0's shell): it opens only once unlocked
        cmd(tui, "console " + vm2)
        tui.attempt(tap, lock_asked, "a console asks for the password before it opens")
        tui.keys("Escape")
        tui.attempt(tap, lambda s: "still locked" in s and row_starting(s, vm2), "Esc: no console, the list again")
        tui.keys("Escape")
        tui.quit_and_check(tap)
        tui.close()
        tui = None

        for theme in ("classic", "mono"):
            console_test(tap, sim, sock, cfg, inv, theme)
    except Timeout as e:
        tap.check(False, "the scenario went on", e)
    finally:
        if tui:
            tui.close()
        stop_sims(tap, sims)
        shutil.rmtree(tmp, ignore_errors=True)
    tap.done()


if __name__ == "__main__":
    main()
