"""xentui --vnc HOST:PORT against a plain RFB server on a TCP port: the
test's own relay, which answers on 127.0.0.1 and carries each connection to
an xapi-sim VM console (HTTP CONNECT over plain HTTP), so xentui speaks bare
RFB with no XenAPI at all. Checks the status line, the prompt of a dom0 console read back as
text, its bright banner line drawn bright, a typed command's answer, a dropped server shown as disconnected,
Ctrl-] r reconnecting and Ctrl-] b quitting. TAP output."""
import os
import socket
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import Pool, Sim, Tap, Timeout, Tui  # noqa: E402


class Relay:
    """Plain TCP in, CONNECT /console?uuid=...&session_id=... out."""

    def __init__(self, sim_url, path):
        u = urllib.parse.urlsplit(sim_url)
        self.target = (u.hostname, u.port)
        self.path = path
        self.lst = socket.socket()
        self.lst.bind(("127.0.0.1", 0))
        self.lst.listen(4)
        self.port = self.lst.getsockname()[1]
        self.conns = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.lst.accept()
            except OSError:
                return
            s = socket.create_connection(self.target, timeout=10)
            s.sendall(f"CONNECT {self.path} HTTP/1.0\r\n\r\n".encode())
            head = b""
            while b"\r\n\r\n" not in head:
                d = s.recv(1)
                if not d:
                    break
                head += d
            s.settimeout(None)
            self.conns += [c, s]
            for a, b in ((c, s), (s, c)):
                threading.Thread(target=self.pump, args=(a, b), daemon=True).start()

    @staticmethod
    def pump(a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
        except OSError:
            pass
        for x in (a, b):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def drop(self):
        for x in self.conns:
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.lst.close()
        self.drop()


def main():
    tap = Tap()
    sim = relay = tui = None
    try:
        sim = Sim("vnc", "--plain")
        pool = Pool(sim.url)
        # a host's dom0: its console's banner has a bright line to check colours on
        vms = pool.call("VM.get_all_records")
        vm = next(v for v in vms.values() if v["is_control_domain"])
        name = pool.call("host.get_hostname", vm["resident_on"])
        loc = next(pool.call("console.get_location", c) for c in vm["consoles"]
                   if pool.call("console.get_protocol", c) == "rfb")
        u = urllib.parse.urlsplit(loc)
        relay = Relay(sim.url, f"{u.path}?{u.query}&session_id={pool.sid}")
        tui = Tui("vnc", args=("--vnc", f"127.0.0.1:{relay.port}"), env={})
        tui.attempt(tap, rf"127\.0\.0\.1:{relay.port}: connected 720x400", "the status line says connected 720x400",
                    timeout=30)
        prompt = f"[root@{name} ~]#"
        tui.attempt(tap, lambda s: any(line.rstrip() == prompt for line in s.split("\n")),
                    f"the prompt {prompt} shows as text", timeout=20)
        attrs = tui.screen_attrs().split("\n")
        banner = next((line for line in attrs if "XCP-ng" in line), "")
        kernel = next((line for line in attrs if "Kernel" in line), "")
        bright = ("\x1b[97m", "\x1b[38;5;15m", "\x1b[1m", ";97m", ";1m", "[1;")
        tap.check(any(b in banner for b in bright) and not any(b in kernel for b in bright),
                  "the banner's bright white shows bright, the next line does not", repr(banner) + "\n" + repr(kernel))
        tui.keys_literal("echo plain rfb")
        tui.keys("Enter")
        tui.attempt(tap, lambda s: any(line.rstrip() == "plain rfb" for line in s.split("\n")),
                    "a typed command's answer shows", timeout=20)
        relay.drop()
        tui.attempt(tap, r"disconnected: connection closed", "a dropped server shows as disconnected", timeout=20)
        tui.keys("C-]")
        tui.keys("r")
        tui.attempt(tap, rf"127\.0\.0\.1:{relay.port}: connected 720x400", "Ctrl-] r reconnects", timeout=30)
        tui.attempt(tap, lambda s: "plain rfb" not in s and any(line.rstrip() == prompt for line in s.split("\n")),
                    "a new session's screen (the sim's is fresh per session) shows its prompt", timeout=20)
        tui.keys("C-]")
        tui.keys("b")
        tui.attempt(tap, r"XENTUI-EXIT=0", "Ctrl-] b quits --vnc with status 0")
        reports = tui.sanitizer_reports()
        tap.check(not reports, "no sanitizer report (and no leak) from xentui", reports)
    except (Timeout, RuntimeError, StopIteration) as e:
        tap.check(False, "the scenario ran to its end", e)
    finally:
        if tui:
            tui.close()
        if relay:
            relay.close()
        if sim:
            err = sim.stop()
            tap.check("Sanitizer" not in err and "runtime error" not in err, "no sanitizer report from the simulator",
                      err)
    tap.done()


if __name__ == "__main__":
    main()
