"""A VM's console on a pool member (issue 7): two xapi-sim processes on
distinct loopback addresses with one port, A (127.0.0.5, master, the pool
xentui manages) and B (127.0.0.6, joined with pool.join over xmlrpc.client).
A VM of A on shared storage is started on B (VM.start_on): its console's location names
B. xentui, connected to A only, opens :console NAME, reads the guest's prompt,
types hostname and sees the answer; B's log says B served the console (it
checked the session and read the records on A), and A refuses to serve it
itself (HTTP 500, as xapi does for a VM resident elsewhere). TAP output."""
import os
import re
import shutil
import socket
import ssl
import sys
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import LOGS, Pool, Tap, Timeout, Tui, pool_sims, stop_sims  # noqa: E402

A, B = "127.0.0.5", "127.0.0.6"


def connect_status(address, port, path):
    """The status code of CONNECT path on address:port (TLS)."""
    ctx = ssl._create_unverified_context()
    with socket.create_connection((address, port), timeout=20) as raw:
        with ctx.wrap_socket(raw) as s:
            s.sendall(("CONNECT %s HTTP/1.0\r\n\r\n" % path).encode())
            head = s.recv(200).decode(errors="replace")
    m = re.match(r"HTTP/1\.[01] (\d+)", head)
    return int(m.group(1)) if m else 0


def main():
    tap = Tap()
    sims = []
    tui = None
    try:
        sim_a, sim_b = pool_sims(sims, "console-member", ((A, "--hosts", "1", "--vms", "2", "--seed", "31"),
                                                          (B, "--hosts", "1", "--vms", "0", "--seed", "32")))
        # B joins A with the calls xapi's clients use
        xb = xmlrpc.client.ServerProxy(sim_b.url, context=ssl._create_unverified_context(), allow_none=True)
        sb = xb.session.login_with_password("root", "xapi-sim", "1.0", "test")["Value"]
        r = xb.pool.join(sb, A, "root", "xapi-sim")
        if r.get("Status") != "Success":
            raise RuntimeError("pool.join: %s" % r.get("ErrorDescription"))
        pa = Pool(sim_a.url)
        host_b = next(ref for ref, h in pa.hosts().items() if h["address"] == B)
        guests = pa.guests()
        srs = pa.call("SR.get_all_records")

        def on_shared(ref):
            """Every disk of the VM on a shared SR: B sees them (xapi refuses
            to start a VM where it cannot: VM_REQUIRES_SR)."""
            vbds = [pa.call("VBD.get_record", b) for b in guests[ref]["VBDs"]]
            vdis = [b["VDI"] for b in vbds if b["type"] == "Disk" and not b["empty"]]
            return bool(vdis) and all(srs[pa.call("VDI.get_SR", d)]["shared"] for d in vdis)
        vm = next(ref for ref, v in sorted(guests.items(), key=lambda kv: kv[1]["name_label"]) if on_shared(ref))
        name = guests[vm]["name_label"]
        if guests[vm]["power_state"] != "Halted":
            pa.call("VM.hard_shutdown", vm)
        pa.call("VM.start_on", vm, host_b, False, False)

        home = os.path.join(LOGS, f"screen-console-member-{os.getpid()}")
        shutil.rmtree(home, ignore_errors=True)
        os.makedirs(os.path.join(home, "config", "xentui"))
        with open(os.path.join(home, "config", "xentui", "config"), "w") as f:
            f.write('servers = (\n'
                    '  { name = "lab"; url = "%s"; password_env = "XENTUI_PW"; fingerprint = "%s"; autoconnect = true; }\n'
                    ');\n' % (sim_a.url, sim_a.fingerprint))
        tui = Tui("console-member", args=(), env={"XENTUI_PW": "xapi-sim", "NO_COLOR": "1"}, fresh=False)
    except BaseException:
        if tui:
            tui.close()
        for sim in sims:
            sim.stop()
        raise
    try:
        rec = pa.vm(vm)
        consoles = [pa.call("console.get_record", c) for c in rec["consoles"]]
        loc = next((c["location"] for c in consoles if c["protocol"] == "rfb"), "")
        tap.check(rec["resident_on"] == host_b and re.match(r"https://%s/console\?uuid=" % re.escape(B), loc),
                  "the VM runs on B and its console's location names B's address", (rec["resident_on"], loc))
        tap.check(connect_status(A, int(sim_a.url.rsplit(":", 1)[1].rstrip("/")), "/console?uuid=%s&session_id=%s" % (rec["uuid"], pa.sid)) == 500,
                  "A does not serve the console of a VM resident on B (500)")

        tui.wait(r"live|connected", timeout=60)
        tui.keys(":")
        tui.keys_literal("console " + name)
        tui.keys("Enter")
        tui.attempt(tap, r"connected 720x400", ":console NAME connects (720x400)", timeout=40)
        prompt = f"root@{name}:~#"
        tui.attempt(tap, lambda s: any(line.rstrip() == prompt for line in s.split("\n")),
                    f"the guest's prompt {prompt} shows", timeout=30)
        tui.keys_literal("hostname")
        tui.keys("Enter")

        def answered(s):
            lines = [line.rstrip() for line in s.split("\n")]
            return any(lines[i] == prompt + " hostname" and lines[i + 1] == name and lines[i + 2] == prompt
                       for i in range(len(lines) - 2))
        tui.attempt(tap, answered, "hostname Enter shows the VM's hostname and a new prompt", timeout=30)
        tui.keys("C-]")
        tui.wait(r"Console menu", timeout=10)
        tui.keys("b")
        tui.wait(lambda s: prompt not in s and "Console menu" not in s, timeout=10)
    except Timeout as e:
        tap.check(False, "the scenario ran to the end", e)
    finally:
        try:
            tui.quit_and_check(tap)
        finally:
            tui.close()
            errs = stop_sims(tap, sims)
            served = "serves the console of '%s'" % name
            tap.check(len(errs) == 2 and served in errs[1] and served not in errs[0],
                      "B's log says B served the console, A's does not", errs[-1][-2000:] if errs else "")
    tap.done()


if __name__ == "__main__":
    main()
