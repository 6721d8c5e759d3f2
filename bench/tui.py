"""The terminal interface's costs, measured on build/xentui --demo in a
pseudo-terminal of 100x30 (not a test: prints a table, never fails on a
number). Bytes written for one VM power change made by another client
(goal <= 200), the time from that change to the first byte on the terminal
(goal <= 100 ms), and, over an idle minute, the bytes written (goal: only
the clock) and the CPU used (goal <= 0.1 %). BENCH_TUI_IDLE_SECONDS
shortens the idle part."""
import fcntl
import os
import pty
import select
import signal
import ssl
import struct
import sys
import termios
import time
import xmlrpc.client

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
XENTUI = os.environ.get("XENTUI", os.path.join(ROOT, "build/xentui"))
IDLE = float(os.environ.get("BENCH_TUI_IDLE_SECONDS", "60"))
INFO = os.path.join(ROOT, "build/bench/tui-demo-info")


class Term:
    def __init__(self):
        env = dict(os.environ, TERM="xterm-256color", LANG="C.UTF-8", XENTUI_DEMO_INFO=INFO,
                   XDG_CONFIG_HOME=os.path.join(ROOT, "build/bench/tui-config"))
        env.pop("NO_COLOR", None)
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(XENTUI, [XENTUI, "--demo"], env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        os.kill(self.pid, signal.SIGWINCH)
        self.log = []  # (time, bytes)

    def pump(self, seconds):
        """Reads what xentui writes for this long."""
        end = time.time() + seconds
        while True:
            left = end - time.time()
            if left <= 0:
                return
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    return
                self.log.append((time.time(), data))

    def until_quiet(self, quiet=1.0, limit=10.0):
        end = time.time() + limit
        last = time.time()
        while time.time() < end and time.time() - last < quiet:
            n = len(self.log)
            self.pump(0.05)
            if len(self.log) > n:
                last = time.time()

    def after_refresh(self, period=6.0):
        """Waits for the next write of a screen's live figures (the VM list's
        CPU column changes every 5 s; the dashboard writes nothing) and lets it
        finish, so that a change made now is measured alone, not with the next
        round of figures."""
        n = len(self.log)
        end = time.time() + period
        while time.time() < end and len(self.log) == n:
            self.pump(0.05)
        if len(self.log) > n:
            self.until_quiet(0.3)

    def since(self, t):
        return [(ts, d) for ts, d in self.log if ts >= t]

    def cpu_seconds(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().split(")")[-1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def key(self, s):
        os.write(self.fd, s.encode())

    def stop(self):
        self.key(":quit\r")
        self.pump(3)
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def pool(url):
    x = xmlrpc.client.ServerProxy(url, context=ssl._create_unverified_context())
    sid = x.session.login_with_password("root", "xapi-sim", "2.21", "bench-tui")["Value"]
    return x, sid


def wait_minute_edge():
    """Keeps the clock's own redraw out of a short measurement."""
    s = time.localtime().tm_sec
    if s > 45:
        time.sleep(61 - s)


def table(header, rows):
    """rows (lists of strings) in aligned columns under header, as bench/core.py prints them."""
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    fmt = "  ".join("%%-%ds" % w for w in widths)
    lines = [fmt % tuple(header), fmt % tuple("-" * w for w in widths)]
    lines += [fmt % tuple(r) for r in rows]
    return [l.rstrip() for l in lines]


def measure():
    """The rows: [measure, value, goal, verdict]."""
    os.makedirs(os.path.dirname(INFO), exist_ok=True)
    if os.path.exists(INFO):
        os.unlink(INFO)
    t = Term()
    rows = []
    try:
        t.pump(0.5)
        deadline = time.time() + 30
        while time.time() < deadline and not os.path.exists(INFO):
            t.pump(0.1)
        url = dict(l.strip().split("=", 1) for l in open(INFO) if "=" in l)["url"]
        x, sid = pool(url)
        t.until_quiet(1.5, 20)
        for screen, keys in (("dashboard", None), ("VM list", ":vms\r")):
            if keys:
                t.key(keys)
                t.until_quiet(1.0)
            vms = x.VM.get_all_records(sid)["Value"]
            ref = next(r for r, v in sorted(vms.items(), key=lambda kv: kv[1]["name_label"])
                       if v["power_state"] == "Halted" and not v["is_a_template"] and not v["is_control_domain"]
                       and not v["is_a_snapshot"])
            wait_minute_edge()
            t.after_refresh()
            t0 = time.time()
            x.VM.start(sid, ref, False, False)
            t.until_quiet(1.0)
            out = t.since(t0)
            nbytes = sum(len(d) for _, d in out)
            latency = (out[0][0] - t0) * 1000 if out else float("nan")
            rows.append([f"one VM start ({screen}): bytes", f"{nbytes} bytes", "<= 200 bytes", verdict(nbytes <= 200)])
            rows.append([f"VM event to screen ({screen})", f"{latency:.0f} ms", "<= 100 ms", verdict(latency <= 100)])
            x.VM.hard_shutdown(sid, ref)
            t.until_quiet(1.0)
        t.key("\x1b")
        t.until_quiet(1.0)
        cpu0, t0 = t.cpu_seconds(), time.time()
        t.pump(IDLE)
        cpu1, t1 = t.cpu_seconds(), time.time()
        out = t.since(t0)
        nbytes = sum(len(d) for _, d in out)
        writes = len(out)
        minutes = int(t1 // 60) - int(t0 // 60)
        rows.append([f"idle {IDLE:.0f} s: bytes", f"{nbytes} bytes in {writes} writes",
                     f"the clock only ({minutes} minute change{'s' if minutes != 1 else ''})",
                     verdict(writes <= minutes)])
        pct = (cpu1 - cpu0) / (t1 - t0) * 100
        rows.append([f"idle {IDLE:.0f} s: CPU", f"{pct:.3f} %", "<= 0.1 %", verdict(pct <= 0.1)])
    finally:
        t.stop()
    return rows


def verdict(ok):
    return "met" if ok else "not met"


def main():
    report = [f"xentui terminal interface benchmarks, {time.strftime('%Y-%m-%d %H:%M')}, "
              f"build/xentui --demo in a 100x30 pseudo-terminal", ""]
    status = 0
    try:
        report += table(["measure", "value", "goal", "verdict"], measure())
    except Exception as e:  # a benchmark that could not run says why, and the run fails
        report.append(f"failed: {e}")
        status = 1
    for line in report:
        print(line, flush=True)
    os.makedirs(os.path.join(ROOT, "build/bench"), exist_ok=True)
    with open(os.path.join(ROOT, "build/bench/tui.txt"), "w") as f:
        f.write("\n".join(report) + "\n")
    print("(written to build/bench/tui.txt)")
    return status


if __name__ == "__main__":
    sys.exit(main())
