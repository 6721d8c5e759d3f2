"""The OpenMetrics endpoint's scrape time (issue 13): `build/xentui metrics
serve` against `build/xapi-sim --plain --hosts 64 --vms 5000`, scraped
BENCH_SCRAPES times (default 20) 1.5 s apart, as Prometheus would. Prints one
table and writes it to build/bench/metrics.txt. Measures; never fails on a
timing. Standard library only.

  python3 bench/metrics.py      (after make build/xentui build/xapi-sim)"""
import os
import re
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
        ])
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
