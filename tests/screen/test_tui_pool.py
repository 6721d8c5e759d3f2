"""The pool screen against three xapi-sim processes, one host each, on
distinct loopback addresses with one port (as tests/sim/t/test_pool_join.py):
A (127.0.0.2, the pool xentui manages, server "lab"), B (127.0.0.3, a fresh
host), C (127.0.0.4, a standalone pool xentui also shows, server "spare").

- add B from the pool screen (B's certificate asked and accepted): A lists
  two hosts, on the screen and in its records; eject B (typed name): one;
- join C from its host screen ("Join a resource pool" to A): first with a
  wrong master password (a plain sentence), then for real: A lists C, and
  xentui closes the spare connection (C is shown in lab now, not twice);
- add B again (its certificate is known now: no question); enable HA (H,
  the first shared SR) and see it on the screen and in A's records, then
  disable it (H, y); make C the master: xentui follows it with no key
  pressed and says so;
- with xentui stopped, the master moves twice (C to B, B to A) and B is
  killed: once running again, xentui finds A among the pool's hosts by
  itself (the master it was sent to is gone). TAP output."""
import os
import re
import shutil
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import LOGS, Pool, Tap, Timeout, Tui, pool_sims, stop_sims  # noqa: E402

A, B, C = "127.0.0.2", "127.0.0.3", "127.0.0.4"


def host_rows(screen):
    """ADDRESS -> ROLE of the hosts table on the pool screen."""
    rows = {}
    lines = screen.split("\n")
    head = next((i for i, l in enumerate(lines) if l.startswith("NAME") and "ADDRESS" in l), None)
    if head is None:
        return rows
    for line in lines[head + 1:]:
        m = re.search(r"(127\.0\.0\.\d+)\s+(master|member)\b", line)
        if not m:
            break
        rows[m.group(1)] = m.group(2)
    return rows


def addresses(pool):
    return sorted(h["address"] for h in pool.hosts().values())


def ref_by_address(pool, address):
    return next(r for r, h in pool.hosts().items() if h["address"] == address)


def fill_form(tui, address, password):
    """The credentials form: address, (user stays root), password, Enter."""
    tui.keys_literal(address)
    tui.keys("Tab", "Tab")
    tui.keys_literal(password)
    tui.keys("Enter")


def on_pool(tui, server):
    """Tab until the pool screen shows the server's pool."""
    for _ in range(3):
        try:
            return tui.wait(r"server %s\b" % server, timeout=3)
        except Timeout:
            tui.keys("Tab")
    return tui.wait(r"server %s\b" % server, timeout=10)


def main():
    tap = Tap()
    sims = []
    tui = None
    try:
        sim_a, sim_b, sim_c = pool_sims(sims, "pool", ((A, "--hosts", "1", "--vms", "2", "--seed", "21"),
                                                       (B, "--hosts", "1", "--vms", "0", "--seed", "22"),
                                                       (C, "--hosts", "1", "--vms", "0", "--seed", "23")))
        home = os.path.join(LOGS, f"screen-pool-{os.getpid()}")
        shutil.rmtree(home, ignore_errors=True)
        os.makedirs(os.path.join(home, "config", "xentui"))
        with open(os.path.join(home, "config", "xentui", "config"), "w") as f:
            f.write('servers = (\n'
                    '  { name = "lab"; url = "%s"; password_env = "XENTUI_PW"; fingerprint = "%s"; autoconnect = true; },\n'
                    '  { name = "spare"; url = "%s"; password_env = "XENTUI_PW"; fingerprint = "%s"; autoconnect = true; }\n'
                    ');\n' % (sim_a.url, sim_a.fingerprint, sim_c.url, sim_c.fingerprint))
        tui = Tui("pool", args=(), env={"XENTUI_PW": "xapi-sim", "NO_COLOR": "1"}, fresh=False)
        pa = Pool(sim_a.url)
    except BaseException:
        # nothing may outlive a failed start
        if tui:
            tui.close()
        for sim in sims:
            sim.stop()
        raise
    try:
        tui.wait(r"2 pools", timeout=60)
        tui.keys(":")
        tui.keys_literal("pool")
        tui.keys("Enter")
        text = on_pool(tui, "lab")
        text = tui.wait(lambda s: host_rows(s) == {A: "master"} and re.search(r"Connection\s+connected via", s),
                        timeout=30)
        tap.check(re.search(r"Master\s+\S.*\(%s\)" % re.escape(A), text) and re.search(r"HA\s+disabled", text),
                  ":pool shows lab: its master with its address, one host, HA disabled", text)

        # add B from the pool screen
        tui.keys("a")
        tui.wait(r"Add a host to the pool")
        fill_form(tui, B, "xapi-sim")
        tui.attempt(tap, r"Unknown certificate", "adding B asks about B's certificate first", timeout=30)
        tui.keys("y")
        text = tui.attempt(tap, lambda s: host_rows(s) == {A: "master", B: "member"},
                           "B joined: the pool screen lists A (master) and B (member)", timeout=40)
        tap.check(addresses(pa) == [A, B], "A's records list two hosts, B's address among them", addresses(pa))
        tui.attempt(tap, r"joined pool lab", "the status line says B joined", timeout=10)

        # eject B (typed name)
        b_name = pa.hosts()[ref_by_address(pa, B)]["name_label"]
        select(tui, B)
        tui.keys("E")
        text = tui.attempt(tap, r"Eject host", "E asks to type the host's name")
        tap.check(text and "LOST" in text and "local VMs" in text, "the eject dialog says local VMs and storage are lost",
                  text)
        tui.keys_literal(b_name)
        tui.keys("Enter")
        tui.attempt(tap, lambda s: host_rows(s) == {A: "master"}, "after the eject the screen lists one host",
                    timeout=40)
        try:
            pa.wait(lambda: addresses(pa) == [A], timeout=20)
            tap.check(True, "A's records are back to one host")
        except Timeout:
            tap.check(False, "A's records are back to one host", addresses(pa))

        # join C from its host screen: a wrong password first
        on_pool(tui, "spare")
        tui.wait(lambda s: host_rows(s) == {C: "master"} and re.search(r"Connection\s+connected via", s), timeout=20)
        tui.keys("Enter")
        tui.attempt(tap, r"Join pool", "C's host screen offers Join pool (a standalone host)")
        tui.keys("J")
        tui.wait(r"Join a resource pool")
        fill_form(tui, A, "not the password")
        tui.attempt(tap, r"wrong user name or password", "a wrong master password is said in plain words", timeout=40)
        tap.check(addresses(pa) == [A], "and nothing joined", addresses(pa))
        tui.keys("J")
        tui.wait(r"Join a resource pool")
        fill_form(tui, A, "xapi-sim")
        text = tui.attempt(tap, r"is now a member of pool lab", "C joined: xentui says it is a member of pool lab now",
                           timeout=40)
        tap.check(addresses(pa) == [A, C], "A's records list C", addresses(pa))
        tui.attempt(tap, r"spare .*not connected", "the spare connection is closed: lab alone shows C, not twice",
                    timeout=20)

        # B again (its certificate known now), then make C the master
        tui.keys("Escape")
        tui.keys(":")
        tui.keys_literal("pool")
        tui.keys("Enter")
        tui.wait(lambda s: host_rows(s) == {A: "master", C: "member"}, timeout=20)
        tui.keys("a")
        tui.wait(r"Add a host to the pool")
        fill_form(tui, B, "xapi-sim")
        text = tui.attempt(tap, lambda s: host_rows(s) == {A: "master", B: "member", C: "member"},
                           "B joins again without a certificate question; three hosts", timeout=40)
        tap.check(text and "Unknown certificate" not in text, "no certificate question the second time", text)

        # HA on three hosts: H, choose the heartbeat SR, then H again to disable
        tui.keys("H")
        text = tui.attempt(tap, r"Enable HA", "H offers to enable HA with a choice of shared SRs", timeout=10)
        tui.keys("Enter")
        tui.wait(r"Failures to tolerate", timeout=20)  # xapi's plan offered: Enter takes it
        tui.keys("Enter")
        text = tui.attempt(tap, r"HA\s+enabled, tolerates \d+ host failures?, 1 heartbeat SR",
                           "the pool screen says HA enabled with 1 heartbeat SR", timeout=40)
        rec = pa.call("pool.get_record", pa.call("pool.get_all")[0])
        sf = rec["ha_statefiles"]
        sr = pa.call("VDI.get_SR", sf[0]) if len(sf) == 1 else None
        tap.check(rec["ha_enabled"] and sr and pa.call("SR.get_shared", sr)
                  and pa.call("VDI.get_type", sf[0]) == "ha_statefile"
                  and all(h["ha_statefiles"] == sf for h in pa.hosts().values()),
                  "A's records: HA enabled, a statefile on a shared SR, known to all three hosts", rec)
        tui.keys("H")
        tui.attempt(tap, r"Disable HA", "H again asks to disable HA", timeout=10)
        tui.keys("y")
        tui.attempt(tap, r"HA\s+disabled", "the pool screen says HA disabled again", timeout=40)
        tap.check(not pa.call("pool.get_ha_enabled", pa.call("pool.get_all")[0])
                  and all(h["ha_statefiles"] == [] for h in pa.hosts().values()),
                  "A's records: HA disabled, no host holds a statefile")
        select(tui, C)
        tui.keys("M")
        tui.wait(r"New pool master")
        tui.keys("y")
        text = tui.attempt(tap, lambda s: host_rows(s).get(C) == "master" and re.search(r"connected via https://%s:" % re.escape(C), s),
                           "after M on C, xentui is connected to C with no key pressed", timeout=40)
        tap.check(text and re.search(r"master is now %s" % re.escape(C), text), "the status line says the master is now C",
                  text)
        pc = Pool(sim_c.url)
        tap.check(pc.call("host.get_address", pc.call("pool.get_master", pc.call("pool.get_all")[0])) == C,
                  "C's records say C is the master")

        # the master moves twice while xentui sleeps, and B goes away
        # SIGSTOP: the pane's shell takes it as a stopped job; its fg continues it
        os.kill(tui.xentui_pid(), signal.SIGSTOP)
        tui.wait(r"XENTUI-EXIT=\d+", timeout=20)
        try:
            pc.call("pool.designate_new_master", ref_by_address(pc, B))
            pb = Pool(sim_b.url)
            pb.call("pool.designate_new_master", ref_by_address(pb, A))
            sim_b.p.kill()
            sim_b.p.wait(10)
        finally:
            # the terminal is still raw (xentui's): C-j ends the line, not Enter
            tui.keys_literal('fg; echo "XENTUI-EXIT=$?"')
            tui.keys("C-j")
        text = tui.attempt(tap, lambda s: re.search(r"connected via https://%s:" % re.escape(A), s)
                           and host_rows(s).get(A) == "master",
                           "B gone, xentui finds the master A among the pool's hosts by itself", timeout=60)
        tui.keys("C-l")  # the shell wrote over xentui's screen while it was stopped
        tui.attempt(tap, r"master is now %s" % re.escape(A), "and says so", timeout=20)
    except Timeout as e:
        tap.check(False, "the scenario ran to the end", e)
    finally:
        try:
            tui.quit_and_check(tap)
        finally:
            tui.close()
            stop_sims(tap, sims)
    tap.done()


def select(tui, address):
    """Moves the selection to the host row with this address."""
    tui.keys("Home")
    for _ in range(5):
        prev = selected_address(tui)
        if prev == address:
            return
        tui.keys("Down")
        try:
            tui.wait(lambda s: selected_address(tui) != prev, timeout=3)
        except Timeout:
            pass


def selected_address(tui):
    """The address in the selected row (NO_COLOR: drawn reversed)."""
    for line in tui.screen_attrs().split("\n"):
        plain = re.sub(r"\x1b\[[0-9;]*m", "", line)
        if re.match(r"^(?:\x1b\[[0-9;]*m)*\x1b\[(?:[0-9;]*;)?7", line):
            m = re.search(r"127\.0\.0\.\d+", plain)
            if m:
                return m.group(0)
    return ""


if __name__ == "__main__":
    main()
