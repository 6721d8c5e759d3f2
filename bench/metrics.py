"""The OpenMetrics endpoint's scrape time (issue 13): `build/xentui metrics
serve` against `build/xapi-sim --plain --hosts 64 --vms 5000`, scraped
BENCH_SCRAPES times (default 20) 1.5 s apart, as Prometheus would. Then the
terminal interface on the same pool with `:top` open (every running VM's
figures fetched every 5 s) in a 160x50 pseudo-terminal: its CPU over
BENCH_TOP_SECONDS (default 60) after a warm-up, and the bytes of
/rrd_updates fetched per 5 s refresh (the client's --log says each reply's
size). Peak memory (VmHWM) of the endpoint and of the interface, read from
/proc before each stops. Prints one table and writes it to build/bench/metrics.txt. Measures;
never fails on a timing. Standard library only.

  python3 bench/metrics.py      (after make build/xentui build/xapi-sim)"""
import fcntl
import os
import pty
import re
import select
import signal
import struct
import termios
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from benchout import out, report, table, verdict

OUT_DIR = "build/bench"
SIM = os.environ.get("XAPI_SIM", "build/xapi-sim")
XENTUI = os.environ.get("XENTUI", "build/xentui")
HOSTS = int(os.environ.get("BENCH_HOSTS", "64"))
VMS = int(os.environ.get("BENCH_VMS", "5000"))
SCRAPES = int(os.environ.get("BENCH_SCRAPES", "20"))
TOP_SECONDS = float(os.environ.get("BENCH_TOP_SECONDS", "60"))
FETCHED = re.compile(r"metrics: (\d+) bytes \((\d+) on the wire\) of /rrd_updates from \S+ \(interval 5\)")


def start_sim():
    p = subprocess.Popen([SIM, "--plain", "--port", "0", "--hosts", str(HOSTS), "--vms", str(VMS)],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = []

    def read():
        for line in p.stdout:
            if line.startswith("xapi-sim listening on "):
                url.append(line.split()[-1])
                break
        for _ in p.stdout:
            pass

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 180
    while not url and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if not url:
        p.kill()
        raise RuntimeError("xapi-sim did not start")
    return p, url[0]


def scrape(url):
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as r:
        body = r.read()
    return time.perf_counter() - t0, body


class Term:
    """xentui in a pseudo-terminal whose output is read and dropped."""

    def __init__(self, args, env):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(XENTUI, [XENTUI, *args], env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
        os.kill(self.pid, signal.SIGWINCH)
        self.last = time.time()

    def pump(self, seconds):
        end = time.time() + seconds
        while time.time() < end:
            r, _, _ = select.select([self.fd], [], [], max(0.0, end - time.time()))
            if r:
                try:
                    if os.read(self.fd, 65536):
                        self.last = time.time()
                except OSError:
                    return

    def until_quiet(self, quiet, limit):
        end = time.time() + limit
        while time.time() < end and time.time() - self.last < quiet:
            self.pump(0.1)

    def key(self, s):
        os.write(self.fd, s.encode())

    def peak_kb(self):
        return peak_kb(self.pid)

    def cpu_seconds(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().split(")")[-1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        try:
            self.key(":quit\r")
            self.pump(2)
        except OSError:
            pass
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def peak_kb(pid):
    """The process's peak resident memory (VmHWM) in kB, or 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def fetched(log):
    """(decoded bytes, wire bytes) of each 5 s /rrd_updates reply the client logged."""
    try:
        with open(log) as f:
            return [(int(m.group(1)), int(m.group(2))) for m in FETCHED.finditer(f.read())]
    except OSError:
        return []


def top_idle(url, tmp):
    """:top open on the pool: [rows] of the table."""
    log = os.path.join(tmp, "tui.log")
    env = dict(os.environ, XENTUI_PW="xapi-sim", XDG_CONFIG_HOME=tmp, TERM="xterm-256color", LANG="C.UTF-8")
    env.pop("NO_COLOR", None)
    t = Term([url, "--password-env", "XENTUI_PW", "--log", log], env)
    try:
        t.pump(1)
        t.until_quiet(2.0, 120)  # the pool loaded and drawn
        t.key(":top\r")
        deadline = time.time() + 120
        while time.time() < deadline and not fetched(log):
            t.pump(0.5)
        if not fetched(log):
            return [[":top on the pool", "failed: no figures fetched in 120 s", "-", "-"]]
        t.pump(12)  # the first refreshes and the backfill settle
        n0, cpu0, t0 = len(fetched(log)), t.cpu_seconds(), time.time()
        t.pump(TOP_SECONDS)
        cpu1, t1 = t.cpu_seconds(), time.time()
        got = fetched(log)[n0:]
        peak = t.peak_kb()
        pct = (cpu1 - cpu0) / (t1 - t0) * 100
        per = statistics.median(b for b, _ in got) if got else 0
        wire = statistics.median(w for _, w in got) if got else 0
        return [
            [":top idle %.0f s: CPU" % TOP_SECONDS, "%.2f %%" % pct, "<= 1 %", verdict(pct <= 1)],
            [":top: /rrd_updates per 5 s refresh", "%.2f MB (%.2f MB on the wire), %d replies in %.0f s"
             % (per / 1e6, wire / 1e6, len(got), t1 - t0), "-", "-"],
            [":top: peak RSS of the interface", "%.1f MB" % (peak / 1024), "-", "-"],
        ]
    finally:
        t.stop()


def main():
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    os.makedirs(OUT_DIR, exist_ok=True)
    sim, url = start_sim()
    tmp = tempfile.mkdtemp(prefix="bench-metrics-")
    log = os.path.join(tmp, "serve.log")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    env = dict(os.environ, XENTUI_PW="xapi-sim", XDG_CONFIG_HOME=tmp)
    serve = subprocess.Popen([XENTUI, "metrics", "serve", "--listen", "127.0.0.1:%d" % port, "--log", log, url,
                              "--password-env", "XENTUI_PW"], env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    murl = "http://127.0.0.1:%d/metrics" % port
    try:
        out("xentui metrics serve, %s, xapi-sim --hosts %d --vms %d, %d CPUs" %
            (time.strftime("%Y-%m-%d %H:%M"), HOSTS, VMS, os.cpu_count() or 0))
        deadline = time.monotonic() + 180
        first = None
        while time.monotonic() < deadline:
            try:
                t, body = scrape(murl)
                if b"xcp_vm_cpu_usage" in body:
                    first = t
                    break
            except OSError:
                pass
            time.sleep(0.3)
        if first is None:
            out("failed: the endpoint never served the pool")
            return 1
        times, sizes = [], []
        for _ in range(SCRAPES):
            time.sleep(1.5)
            t, body = scrape(murl)
            times.append(t)
            sizes.append(len(body))
        with open(log) as f:
            text = f.read()
        serve_peak = peak_kb(serve.pid)
        serve.terminate()
        serve.wait(20)
        top = top_idle(url, tmp)
        fmt = [float(x) for x in re.findall(r"formatted in ([0-9.]+) ms", text)]
        fetches = len(re.findall(r"fetching /rrd_updates", text))
        samples = re.findall(r"scrape: (\d+) samples", text)
        med = statistics.median(times)
        table(["measure", "value", "goal", "verdict"], [
            ["scrape time, median of %d" % SCRAPES, "%.0f ms" % (med * 1000), "<= 200 ms", verdict(med <= 0.2)],
            ["scrape time, max", "%.0f ms" % (max(times) * 1000), "-", "-"],
            ["formatting in xentui, median", "%.0f ms" % statistics.median(fmt) if fmt else "-", "-", "-"],
            ["samples / body", "%s / %.1f MB" % (samples[-1] if samples else "?", statistics.median(sizes) / 1e6),
             "-", "-"],
            ["/rrd_updates fetched", "%d in %.0f s" % (fetches, SCRAPES * 1.5), "<= 1 per host address per 5 s",
             "-"],
            ["metrics serve: peak RSS", "%.1f MB" % (serve_peak / 1024), "-", "-"],
        ] + top)
    finally:
        serve.terminate()
        serve.wait(20)
        sim.terminate()
        sim.wait(20)
        with open(os.path.join(OUT_DIR, "metrics.txt"), "w") as f:
            f.write("\n".join(report) + "\n")
        subprocess.run(["rm", "-rf", tmp])
    return 0


if __name__ == "__main__":
    sys.exit(main())
