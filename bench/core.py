"""The core's benchmarks (run by bench/run-all, i.e. `make bench`): one
xapi-sim, three tables, printed and written to build/bench/core.txt.

  1. load: time to a fully loaded cache and peak RSS of xentui, Xen
     Orchestra's xen-api and Python's xmlrpc.client (median of N runs each);
  2. decode: MB/s of xentui's XML-RPC decoder against xmllint --stream on
     the same captured VM.get_all_records reply;
  3. idle: CPU used by the client core connected and idle.

These measure; they never fail on a timing. The exit status is non-zero
only when a benchmark could not run at all (the sim did not start, a
client failed). Standard library only.

Environment: BENCH_HOSTS (64), BENCH_VMS (5000), BENCH_RUNS (3),
BENCH_IDLE_SECONDS (60), XAPI_SIM (build/xapi-sim); XO_DIR (where xen-api is
installed) or XO_SKIP (why XO is skipped), both set by bench/run-all."""
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import xmlrpc.client

from benchout import out, report, table, verdict

OUT_DIR = "build/bench"
SIM = os.environ.get("XAPI_SIM", "build/xapi-sim")
HOSTS = int(os.environ.get("BENCH_HOSTS", "64"))
VMS = int(os.environ.get("BENCH_VMS", "5000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
IDLE_SECONDS = float(os.environ.get("BENCH_IDLE_SECONDS", "60"))
PASSWORD = "xapi-sim"
CHILD_TIMEOUT = 300
FLOOR = "server alone (bytes read)"

running = []  # the measured child, stopped too if we are interrupted


def mb(kib):
    """ru_maxrss (KiB) in MB (10^6 bytes), the unit of the goal."""
    return kib * 1024 / 1e6


# ---- the sim -----------------------------------------------------------------

def start_sim():
    os.makedirs(OUT_DIR, exist_ok=True)
    err = open(os.path.join(OUT_DIR, "core-sim.err"), "wb")
    p = subprocess.Popen([SIM, "--plain", "--port", "0", "--hosts", str(HOSTS), "--vms", str(VMS)],
                         stdout=subprocess.PIPE, stderr=err, text=True)
    err.close()
    url = []

    def read():
        for line in p.stdout:
            if line.startswith("xapi-sim listening on "):
                url.append(line.split()[-1])
                break
        for _ in p.stdout:  # keep draining so it never blocks on a full pipe
            pass

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 180
    while not url and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if not url:
        stop_sim(p)
        raise RuntimeError("xapi-sim did not start (see %s/core-sim.err)" % OUT_DIR)
    return p, url[0]


def stop_sim(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)


# ---- running a child, measured -----------------------------------------------

def measure(argv, env):
    """Runs argv to its end: (wall seconds, CPU seconds, max RSS KiB, exit code, stdout)."""
    path = os.path.join(OUT_DIR, "core-child.out")
    with open(path, "wb") as f, open(os.path.join(OUT_DIR, "core-child.err"), "wb") as ferr:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdout=f, stderr=ferr, env=env)
        running.append(p)
        killer = threading.Timer(CHILD_TIMEOUT, p.kill)
        killer.start()
        # wait4, not p.wait(): its rusage is this child's alone
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        killer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        running.remove(p)
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    with open(os.path.join(OUT_DIR, "core-child.err"), "rb") as f:
        err = f.read().decode("utf-8", "replace")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, p.returncode, text, err


# ---- 1. load -------------------------------------------------------------------

def xo_label():
    """"XO xen-api" and the version tests/fidelity/package.json pins."""
    try:
        with open("tests/fidelity/package.json") as f:
            return "XO xen-api " + json.load(f)["dependencies"]["xen-api"]
    except (OSError, ValueError, KeyError):
        return "XO xen-api"


def bench_load(url):
    xo = xo_label()
    env = dict(os.environ, XAPI_PASSWORD=PASSWORD)
    clients = [("xentui", ["build/xentui", "list", "vms", url, "--password-env", "XAPI_PASSWORD"],
                lambda o: "%d VMs listed" % max(0, len(o.splitlines()) - 1))]
    xo_skip = os.environ.get("XO_SKIP")
    xo_dir = os.environ.get("XO_DIR", "build/fidelity/xo")
    if not xo_skip:
        # node resolves xen-api from the script's own directory
        shutil.copy("bench/xo-load.mjs", os.path.join(xo_dir, "xo-load.mjs"))
        clients.append((xo, ["node", os.path.join(xo_dir, "xo-load.mjs"), url],
                        lambda o: o.strip()))
    clients.append(("Python xmlrpc.client", [sys.executable, "bench/py-load.py", url], lambda o: o.strip()))
    # the floor: the server's own time to send it all (no client can beat it)
    clients.append((FLOOR, [sys.executable, "bench/null-load.py", url], lambda o: o.strip()))

    results = {name: [] for name, *_ in clients}
    notes = {}
    failed = []
    for _ in range(RUNS):  # interleaved, so a slow moment of the machine hits all alike
        for name, argv, note in clients:
            if name in failed:
                continue
            wall, cpu, rss, rc, text, err = measure(argv, env)
            if rc != 0:
                failed.append(name)
                notes[name] = "failed (exit %d): %s" % (rc, "".join(err.strip().splitlines()[-1:])[:200])
                continue
            results[name].append((wall, cpu, rss))
            notes[name] = note(text)

    out("== 1. Time to a fully loaded cache: xapi-sim --hosts %d --vms %d (plain HTTP), %d runs each" %
        (HOSTS, VMS, RUNS))
    out("   (wall time of the whole process, start to exit; RSS from wait4's ru_maxrss)")
    rows = []
    for name, *_ in clients:
        r = results[name]
        if name in failed or not r:
            rows.append([name, "-", "-", "-", "-", notes.get(name, "failed")])
            continue
        rows.append([name, "%.2f" % statistics.median(w for w, _, _ in r),
                     " ".join("%.2f" % w for w, _, _ in r),
                     "%.2f" % statistics.median(c for _, c, _ in r),
                     "%.1f" % mb(max(m for _, _, m in r)), notes[name]])
    if xo_skip:
        rows.insert(1, [xo, "-", "-", "-", "-", "skipped: " + xo_skip])
    table(["client", "median s", "runs s", "CPU s", "max RSS MB", "loaded"], rows)
    out()

    def median(name):
        r = results.get(name)
        return statistics.median(w for w, _, _ in r) if r and name not in failed else None

    base = median("xentui")
    rows = []
    floor = median(FLOOR)
    if floor and median(xo):
        # what a client that decodes for free would reach against XO
        rows.append(["XO / server alone", "%.2f x" % (median(xo) / floor), "(the best any client could reach)", "-"])
    for name, label, goal in ((xo, "XO / xentui time", 5.0),
                              ("Python xmlrpc.client", "Python / xentui time", 3.0)):
        other = median(name)
        if base and other:
            ratio = other / base
            rows.append([label, "%.2f x" % ratio, ">= %.0f x" % goal, verdict(ratio >= goal)])
        elif name == xo and xo_skip:
            rows.append([label, "-", ">= %.0f x" % goal, "skipped: " + xo_skip])
        else:
            rows.append([label, "-", ">= %.0f x" % goal, "not measured (a client failed)"])
    if results["xentui"] and "xentui" not in failed:
        rss = mb(max(m for _, _, m in results["xentui"]))
        rows.append(["xentui max RSS", "%.1f MB" % rss, "<= 60 MB", verdict(rss <= 60.0)])
    else:
        rows.append(["xentui max RSS", "-", "<= 60 MB", "not measured (xentui failed)"])
    table(["measure", "value", "goal", "verdict"], rows)
    out()
    return not failed


# ---- 2. decode -----------------------------------------------------------------

def capture_vm_records(url, path):
    """The raw body of VM.get_all_records as xapi-sim sends it (no compression asked)."""
    proxy = xmlrpc.client.ServerProxy(url)
    login = proxy.session.login_with_password("root", PASSWORD, "1.0", "bench")
    if login.get("Status") != "Success":
        raise RuntimeError("login failed: %r" % (login.get("ErrorDescription"),))
    session = login["Value"]
    body = xmlrpc.client.dumps((session,), "VM.get_all_records").encode()
    req = urllib.request.Request(url.rstrip("/") + "/", data=body, headers={"Content-Type": "text/xml"})
    with urllib.request.urlopen(req, timeout=120) as r:
        data = r.read()
    proxy.session.logout(session)
    if b"<value>Success</value>" not in data[:512]:
        raise RuntimeError("VM.get_all_records did not succeed: %r" % data[:300])
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


def bench_decode(url):
    path = os.path.join(OUT_DIR, "vm_get_all_records.xml")
    size = capture_vm_records(url, path)
    r = subprocess.run(["build/bench_decode", path], capture_output=True, text=True, timeout=CHILD_TIMEOUT)
    if r.returncode != 0:
        raise RuntimeError("bench_decode failed: %s" % r.stderr.strip())
    kv = dict(line.split(None, 1) for line in r.stdout.splitlines() if " " in line)
    out("== 2. Decode speed: the VM.get_all_records reply of that pool, %.1f MB (%s)" % (size / 1e6, path))
    out("   (bench_decode: best of 3, fed in 16 KiB pieces; xmllint --stream --noout: best of 3, whole process)")
    rows = [["xentui decoder, whole", kv["whole_MBps"], kv["whole_s"]],
            ["xentui decoder, filtered (cache fields)", kv["filtered_MBps"], kv["filtered_s"]]]
    lint = None
    if shutil.which("xmllint"):
        best = None
        for _ in range(3):
            t0 = time.perf_counter()
            x = subprocess.run(["xmllint", "--stream", "--noout", path], capture_output=True, timeout=CHILD_TIMEOUT)
            t = time.perf_counter() - t0
            if x.returncode != 0:
                raise RuntimeError("xmllint failed: %s" % x.stderr.decode(errors="replace")[:300])
            best = t if best is None else min(best, t)
        lint = size / 1e6 / best
        rows.append(["xmllint --stream --noout", "%.1f" % lint, "%.3f" % best])
    else:
        rows.append(["xmllint --stream --noout", "-", "skipped: xmllint is not installed"])
    table(["decoder", "MB/s", "s"], rows)
    out()
    rows = []
    for label, key in (("xmllint / xentui (whole)", "whole_MBps"), ("xmllint / xentui (filtered)", "filtered_MBps")):
        if lint:
            ratio = lint / float(kv[key])
            rows.append([label, "%.2f x" % ratio, "<= 2 x (within 2x of xmllint)", verdict(ratio <= 2.0)])
        else:
            rows.append([label, "-", "<= 2 x (within 2x of xmllint)", "skipped"])
    table(["measure", "value", "goal", "verdict"], rows)
    out()
    return True


# ---- 3. idle -------------------------------------------------------------------

def bench_idle(url):
    env = dict(os.environ, XAPI_PASSWORD=PASSWORD)
    r = subprocess.run(["build/bench_idle", url, "%g" % IDLE_SECONDS], capture_output=True, text=True, env=env,
                       timeout=IDLE_SECONDS + CHILD_TIMEOUT)
    if r.returncode != 0:
        raise RuntimeError("bench_idle failed: %s" % r.stderr.strip())
    kv = dict(line.split(None, 1) for line in r.stdout.splitlines() if " " in line)
    out("== 3. CPU connected and idle: build/bench_idle on the same pool (%s VM records cached, loaded in %s s)" %
        (kv["vms"], kv["load_s"]))
    out("   (getrusage of the idle part only, after %s s to settle; the cache's event.from long poll is its"
        " only traffic)" % kv["settle_s"])
    pct = float(kv["cpu_pct"])
    table(["idle s", "user s", "system s", "CPU %", "wake-ups", "changes heard", "status", "goal", "verdict"],
          [[kv["idle_s"], kv["user_s"], kv["sys_s"], "%.4f" % pct, kv["wakeups"], kv["changes"], kv["status"],
            "<= 0.1 %", verdict(pct <= 0.1)]])
    out()
    return True


def on_term(sig, frame):
    raise KeyboardInterrupt  # unwinds through main's finally, which stops the sim


def main():
    signal.signal(signal.SIGTERM, on_term)
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    os.makedirs(OUT_DIR, exist_ok=True)
    ok = True
    out("xentui core benchmarks, %s, %d CPUs" % (time.strftime("%Y-%m-%d %H:%M"), os.cpu_count() or 0))
    out()
    sim = None
    try:
        t0 = time.perf_counter()
        sim, url = start_sim()
        out("xapi-sim (%s) --plain --hosts %d --vms %d: ready in %.1f s at %s" %
            (SIM, HOSTS, VMS, time.perf_counter() - t0, url))
        out()
        for name, fn in (("load", bench_load), ("decode", bench_decode), ("idle", bench_idle)):
            try:
                ok = fn(url) and ok
            except Exception as e:  # one benchmark failing still lets the others run
                out("== %s: failed: %s" % (name, e))
                out()
                ok = False
            if sim.poll() is not None:
                raise RuntimeError("xapi-sim exited (status %s; see %s/core-sim.err)" % (sim.returncode, OUT_DIR))
    except Exception as e:
        out("failed: %s" % e)
        ok = False
    except KeyboardInterrupt:
        out("interrupted")
        ok = False
    finally:
        for p in running:
            p.kill()
            p.wait()
        if sim is not None:
            stop_sim(sim)
        with open(os.path.join(OUT_DIR, "core.txt"), "w") as f:
            f.write("\n".join(report) + "\n")
        print("(written to %s/core.txt)" % OUT_DIR)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
