# run-all: alone (it times how soon a lost pool is noticed)
"""A lost pool, noticed (issue 15): the simulator on a loopback address of its
own, whose packets iptables then drops (no reset, as a cut cable or a dead
router does). `xentui list` fails within a bounded time saying the pool is
not answering; the interface says "not answering" within 15 s, keeps the
data it had marked as of the last answer, fails an action at once with a
sentence, and once the rule is gone is live again with the pool's newest
data, by itself. TAP."""
import os
import random
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "screen", "lib"))
from tuitest import LOGS, XENTUI, Pool, Sim, Tap, Timeout, Tui, no_sanitizer_report  # noqa: E402

NOTICE_S = 15  # the bound for "not answering" on the status line


class Drop:
    """iptables rules dropping every packet to and from one address."""

    def __init__(self, address):
        self.rules = [["INPUT", "-d", address, "-j", "DROP"], ["INPUT", "-s", address, "-j", "DROP"]]
        self.on = False

    def add(self):
        for r in self.rules:
            subprocess.run(["iptables", "-w", "-I", *r], check=True, capture_output=True, timeout=20)
        self.on = True

    def remove(self):
        if self.on:
            for r in self.rules:
                subprocess.run(["iptables", "-w", "-D", *r], capture_output=True, timeout=20)
        self.on = False


def iptables_works():
    if not shutil.which("iptables"):
        return "iptables is not installed (scripts/install-deps installs it)"
    r = subprocess.run(["iptables", "-w", "-L", "INPUT", "-n"], capture_output=True, text=True, timeout=20)
    return None if r.returncode == 0 else "iptables cannot be used here: " + r.stderr.strip()


def list_vms(sim, timeout=60):
    env = dict(os.environ, XENTUI_PW="xapi-sim", XDG_CONFIG_HOME=os.path.join(LOGS, "xdg-lost-pool"))
    t0 = time.time()
    r = subprocess.run([XENTUI, "list", "vms", "--password-env", "XENTUI_PW", "--fingerprint", sim.fingerprint,
                        sim.url], capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)
    return r, time.time() - t0


def status_line(screen):
    return screen.split("\n", 1)[0]


def main():
    tap = Tap()
    why = iptables_works()
    if why:
        print(f"ok 1 - a lost pool, noticed # SKIP {why}")
        print("1..1")
        return
    # an address no other test uses, so the rule drops nothing else
    address = "127.77.%d.%d" % ((os.getpid() >> 8) & 255, random.randint(2, 254))
    sim = Sim("lost-pool", "--bind", address)
    drop = Drop(address)
    tui = None
    try:
        pool = Pool(sim.url)
        guests = pool.guests()
        halted = sorted(v["name_label"] for v in guests.values() if v["power_state"] == "Halted"
                        and sum(v["name_label"] in w["name_label"] for w in guests.values()) == 1)
        shown = sorted(v["name_label"] for v in guests.values())[0]

        r, took = list_vms(sim)
        tap.check(r.returncode == 0 and shown in r.stdout, "xentui list vms works while the path is open",
                  r.stderr)

        log = os.path.join(LOGS, "lost-pool-xentui-%d.log" % os.getpid())
        tui = Tui("lost-pool", args=(sim.url, "--fingerprint", sim.fingerprint, "--password-env", "XENTUI_PW",
                                     "--log", log),
                  cols=180, rows=40, env={"XENTUI_PW": "xapi-sim"})
        tui.wait(lambda s: "live" in status_line(s), timeout=40)
        tui.keys(":")
        tui.keys_literal("vms")
        tui.keys("Enter")
        tui.wait(r"^NAME.*POWER")
        tui.wait(re.escape(shown))

        # ---- the path goes silent
        drop.add()
        t0 = time.time()
        print("# dropped at", time.strftime("%H:%M:%S"), "%.3f" % (t0 % 1), flush=True)
        lister = subprocess.Popen(
            [XENTUI, "list", "vms", "--password-env", "XENTUI_PW", "--fingerprint", sim.fingerprint, sim.url],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
            env=dict(os.environ, XENTUI_PW="xapi-sim", XDG_CONFIG_HOME=os.path.join(LOGS, "xdg-lost-pool")))
        try:
            text = tui.wait(lambda s: "not answering" in status_line(s), timeout=NOTICE_S + 1)
            took = time.time() - t0
            tap.check(took <= NOTICE_S, "the status line says the pool is not answering within %d s (%.1f s)"
                      % (NOTICE_S, took), status_line(text))
            tap.check(re.search(r"not answering since \d\d:\d\d:\d\d \(data as of then\)", status_line(text)),
                      "it says since when, and that the data shown is as of then", status_line(text))
            tap.check(shown in text, "the VMs stay on screen", text)
        except Timeout as e:
            tap.check(False, "the status line says the pool is not answering within %d s" % NOTICE_S, e)
            tap.check(False, "it says since when, and that the data shown is as of then")
            tap.check(False, "the VMs stay on screen")

        try:
            out, err = lister.communicate(timeout=30)
            took = time.time() - t0
            tap.check(lister.returncode == 1 and took < 20,
                      "xentui list started meanwhile fails within 20 s (%.1f s), status 1" % took, err)
            tap.check(re.search(r"is not answering", err) and "Timeout was reached" not in err,
                      "and says the pool is not answering, in a sentence", err)
        except subprocess.TimeoutExpired:
            lister.kill()
            lister.communicate()
            tap.check(False, "xentui list started meanwhile fails within 20 s")
            tap.check(False, "and says the pool is not answering, in a sentence")

        # an action started meanwhile fails at once, saying why
        name = halted[0]
        tui.keys("/")
        tui.keys("C-u")
        tui.keys_literal(name)
        tui.keys("Enter")
        tui.wait(lambda s: s.count(name) >= 1 and re.search(r"^NAME.*POWER", s, re.M))
        t1 = time.time()
        tui.keys("s")
        label = f"Start VM '{name}'"
        try:
            text = tui.wait(lambda s: re.search(re.escape(label) + r".*not answering.*try again", s), timeout=5)
            tap.check(time.time() - t1 < 3, "s (start) fails at once (%.1f s), saying the pool is not answering"
                      % (time.time() - t1), text)
        except Timeout as e:
            tap.check(False, "s (start) fails at once, saying the pool is not answering", e)
        tui.keys("/")
        tui.keys("C-u")
        tui.keys("Enter")

        # ---- the path comes back: live again with the newest data, by itself
        drop.remove()
        t2 = time.time()
        ref = next(r for r, v in guests.items() if v["name_label"] == shown)
        pool = Pool(sim.url)
        pool.call("VM.set_name_label", ref, shown + "-back")
        try:
            text = tui.wait(lambda s: "live" in status_line(s) and shown + "-back" in s, timeout=40)
            tap.check(True, "once packets flow again it is live by itself (%.1f s) with the renamed VM"
                      % (time.time() - t2))
        except Timeout as e:
            tap.check(False, "once packets flow again it is live by itself with the renamed VM", e)
        # and an action goes through again
        tui.keys("/")
        tui.keys("C-u")
        tui.keys_literal(name)
        tui.keys("Enter")
        tui.wait(re.escape(name))
        tui.keys("s")
        vm = next(r for r, v in guests.items() if v["name_label"] == name)
        try:
            pool.wait(lambda: pool.vm(vm)["power_state"] == "Running", timeout=30, what="the start")
            tap.check(True, "s starts the VM once the pool answers again")
        except Timeout as e:
            tap.check(False, "s starts the VM once the pool answers again", e)
        tui.quit_and_check(tap)
    finally:
        drop.remove()
        if tui:
            tui.close()
        err = sim.stop()
    tap.check(no_sanitizer_report(err), "no sanitizer report from the simulator", err[-3000:])
    tap.done()


if __name__ == "__main__":
    main()
