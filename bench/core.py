"""The core's benchmarks (run by bench/run-all, i.e. `make bench`): one
xapi-sim at a time, tables printed and written to build/bench/core.txt.

  1. load: time to a fully loaded cache, client CPU, peak RSS and bytes on
     the wire of xentui, Xen Orchestra's xen-api (each over XML-RPC and
     JSON-RPC), Python's xmlrpc.client and the floor (the replies read
     without decoding, per transport); median of N runs each;
  1b. the same over a slow link (xapi-sim --rate-limit-mbit);
  2. decode: MB/s of xentui's XML-RPC decoder against xmllint --stream on
     the same captured VM.get_all_records reply;
  3. idle: CPU used by the client core connected and idle.

These measure; they never fail on a timing. The exit status is non-zero
only when a benchmark could not run at all (the sim did not start, a
client failed). Standard library only.

Environment: BENCH_HOSTS (64), BENCH_VMS (5000), BENCH_RUNS (3),
BENCH_IDLE_SECONDS (60), BENCH_RATE_MBIT (100; 0 skips 1b), BENCH_CORE_ONLY
(some of load,decode,idle,slow), XAPI_SIM (build/xapi-sim); XO_DIR (where xen-api is
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
from wirecount import WireCounter

OUT_DIR = "build/bench"
SIM = os.environ.get("XAPI_SIM", "build/xapi-sim")
HOSTS = int(os.environ.get("BENCH_HOSTS", "64"))
VMS = int(os.environ.get("BENCH_VMS", "5000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
IDLE_SECONDS = float(os.environ.get("BENCH_IDLE_SECONDS", "60"))
RATE_MBIT = int(os.environ.get("BENCH_RATE_MBIT", "100"))
ONLY = os.environ.get("BENCH_CORE_ONLY", "load,decode,idle,slow").split(",")
TRANSPORTS = ("xml", "json")
PASSWORD = "xapi-sim"
CHILD_TIMEOUT = 300
FLOOR = "server alone (bytes read)"
# `xentui list networks`: login, the whole cache (the same 22 get_all_records), a short table
XENTUI = "xentui"
# `xentui list vms`: the same, one /rrd_updates more for its CPU and memory columns, 5,000 rows
XENTUI_VMS = "xentui list vms"
FLOOR_RRD = "server alone + /rrd_updates"

running = []  # the measured child, stopped too if we are interrupted


def mb(kib):
    """ru_maxrss (KiB) in MB (10^6 bytes), the unit of the goal."""
    return kib * 1024 / 1e6


# ---- the sim -----------------------------------------------------------------

def start_sim(extra=(), log="core-sim.err"):
    os.makedirs(OUT_DIR, exist_ok=True)
    err = open(os.path.join(OUT_DIR, log), "wb")
    p = subprocess.Popen([SIM, "--plain", "--port", "0", "--hosts", str(HOSTS), "--vms", str(VMS), *extra],
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
        raise RuntimeError("xapi-sim did not start (see %s/%s)" % (OUT_DIR, log))
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

TIME = shutil.which("time", path="/usr/bin:/bin")


def measure(argv, env):
    """Runs argv to its end: (wall seconds, CPU seconds, max RSS KiB, exit code, stdout, stderr).

    The child runs under /usr/bin/time, which reports its peak RSS: wait4's own
    ru_maxrss of a child of this process would count this Python's image, which
    the child inherits at fork and keeps through exec. CPU is wait4's (time's
    own share is a millisecond)."""
    path = os.path.join(OUT_DIR, "core-child.out")
    rss_path = os.path.join(OUT_DIR, "core-child.rss")
    if TIME:
        argv = [TIME, "-f", "%M", "-o", rss_path] + list(argv)
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
    rss = ru.ru_maxrss
    if TIME:
        try:
            with open(rss_path) as f:
                rss = int(f.read().split()[-1])
        except (OSError, ValueError, IndexError):
            pass
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    with open(os.path.join(OUT_DIR, "core-child.err"), "rb") as f:
        err = f.read().decode("utf-8", "replace")
    return wall, ru.ru_utime + ru.ru_stime, rss, p.returncode, text, err


# ---- 1. load -------------------------------------------------------------------

def xo_label():
    """"XO xen-api" and the version tests/fidelity/package.json pins."""
    try:
        with open("tests/fidelity/package.json") as f:
            return "XO xen-api " + json.load(f)["dependencies"]["xen-api"]
    except (OSError, ValueError, KeyError):
        return "XO xen-api"


def xentui_json_missing():
    """Why build/xentui cannot be forced to JSON-RPC, or None when it can."""
    try:
        with open("build/xentui", "rb") as f:
            return None if b"XENTUI_TRANSPORT" in f.read() else "n/a: this build/xentui has no JSON-RPC transport"
    except OSError as e:
        return "n/a: %s" % e


def load_clients(with_python):
    """(name, transport, argv builder(url), env, note(stdout), why skipped or None) of every client."""
    xo = xo_label()
    env = dict(os.environ, XAPI_PASSWORD=PASSWORD)
    clients = []
    json_missing = xentui_json_missing()
    for name, kind in ((XENTUI, "networks"), (XENTUI_VMS, "vms")):
        for t in TRANSPORTS:
            clients.append((name, t,
                            lambda u, kind=kind: ["build/xentui", "list", kind, u, "--password-env", "XAPI_PASSWORD"],
                            dict(env, XENTUI_TRANSPORT=t),
                            lambda o, kind=kind: "%d %s listed" % (max(0, len(o.splitlines()) - 1), kind),
                            json_missing if t == "json" else None))
    xo_skip = os.environ.get("XO_SKIP")
    xo_dir = os.environ.get("XO_DIR", "build/fidelity/xo")
    if not xo_skip:
        # node resolves xen-api from the script's own directory
        shutil.copy("bench/xo-load.mjs", os.path.join(xo_dir, "xo-load.mjs"))
    for t in TRANSPORTS:
        # xen-api's transports: json-rpc is what its default (auto) picks first
        clients.append((xo, t, lambda u, t=t: ["node", os.path.join(xo_dir, "xo-load.mjs"), u, t + "-rpc"], env,
                        lambda o: o.strip(), "skipped: " + xo_skip if xo_skip else None))
    if with_python:
        clients.append(("Python xmlrpc.client", "xml", lambda u: [sys.executable, "bench/py-load.py", u], env,
                        lambda o: o.strip(), None))
    # the floor: the server's own time to send it all (no client can beat it)
    for name, extra in ((FLOOR, []), (FLOOR_RRD, ["rrd"])):
        for t in TRANSPORTS:
            clients.append((name, t, lambda u, t=t, extra=extra: [sys.executable, "bench/null-load.py", u, t] + extra,
                            env, lambda o: o.strip(), None))
    return clients


def run_load(url, clients):
    """Runs every client RUNS times, interleaved: {(name, transport): {"runs": [(wall, cpu, rss)], "note": ...}}."""
    res = {(c[0], c[1]): {"runs": [], "note": c[5], "failed": False} for c in clients}
    for _ in range(RUNS):  # interleaved, so a slow moment of the machine hits all alike
        for name, t, argv, env, note, skip in clients:
            r = res[(name, t)]
            if skip or r["failed"]:
                continue
            wall, cpu, rss, rc, text, err = measure(argv(url), env)
            if rc != 0:  # once more: others may be relinking the binary as we start it
                time.sleep(2)
                wall, cpu, rss, rc, text, err = measure(argv(url), env)
            if rc != 0:
                r["failed"] = True
                r["note"] = "failed (exit %d): %s" % (rc, "".join(err.strip().splitlines()[-1:])[:200])
                continue
            r["runs"].append((wall, cpu, rss))
            r["note"] = note(text)
    return res


def count_bytes(url, clients, res):
    """One more, untimed run of each client through a counting relay: the reply bodies' bytes."""
    for name, t, argv, env, _, skip in clients:
        r = res[(name, t)]
        if skip or r["failed"]:
            continue
        for _ in range(2):  # once more if it failed: the client must finish for its count to be whole
            with WireCounter(url) as w:
                _, _, _, rc, _, err = measure(argv(w.url), env)
                r["bytes"] = w.body_bytes if rc == 0 else None
                r["rpc_bytes"] = w.rpc_bytes if rc == 0 else None
            if rc == 0:
                break
        if rc != 0:
            r["note"] += "; its counted run failed (exit %d): %s" % (rc, "".join(err.strip().splitlines()[-1:])[:120])


def med(r, i):
    return statistics.median(x[i] for x in r["runs"]) if r["runs"] and not r["failed"] else None


def load_table(clients, res, with_bytes):
    header = ["client", "transport", "wall s", "runs s", "CPU s", "max RSS MB"]
    if with_bytes:
        header += ["MB on the wire", "of which RPC"]
    rows = []
    for name, t, *_ in clients:
        r = res[(name, t)]
        if r["failed"] or not r["runs"]:
            rows.append([name, t, "-", "-", "-", "-"] + (["-", "-"] if with_bytes else []) + [r["note"] or "failed"])
            continue
        row = [name, t, "%.2f" % med(r, 0), " ".join("%.2f" % w for w, _, _ in r["runs"]), "%.2f" % med(r, 1),
               "%.1f" % mb(max(m for _, _, m in r["runs"]))]
        if with_bytes:
            row += ["%.1f" % (r[k] / 1e6) if r.get(k) is not None else "-" for k in ("bytes", "rpc_bytes")]
        rows.append(row + [r["note"]])
    table(header + ["loaded"], rows)


def goal_rows(res, xo):
    """The issue's goals for xentui, per transport."""
    rows = []

    def ratio_row(label, a, b, goal, ok, fmt="%.2f x"):
        if a is None or b is None or not b:
            rows.append([label, "-", goal, "not measured"])
        else:
            rows.append([label, fmt % (a / b), goal, verdict(ok(a / b))])

    for t in TRANSPORTS:
        x, o, f = res[(XENTUI, t)], res[(xo, t)], res[(FLOOR, t)]
        lv, fr = res[(XENTUI_VMS, t)], res[(FLOOR_RRD, t)]
        ratio_row("XO / xentui CPU (%s)" % t, med(o, 1), med(x, 1), ">= 8 x", lambda v: v >= 8)
        ratio_row("XO / xentui wall (%s)" % t, med(o, 0), med(x, 0), ">= 3 x", lambda v: v >= 3)
        ratio_row("xentui / floor wall (%s)" % t, med(x, 0), med(f, 0), "<= 1.3 x", lambda v: v <= 1.3)
        for label, a, b in (("list vms / floor + rrd wall (%s)" % t, med(lv, 0), med(fr, 0)),
                            ("XO / list vms CPU (%s)" % t, med(o, 1), med(lv, 1))):
            rows.append([label, "%.2f x" % (a / b) if a and b else "-", "(no goal)", "-"])
        if x["runs"] and not x["failed"]:
            rss = mb(max(m for _, _, m in x["runs"]))
            rows.append(["xentui max RSS (%s)" % t, "%.1f MB" % rss, "<= 60 MB", verdict(rss <= 60.0)])
        else:
            rows.append(["xentui max RSS (%s)" % t, "-", "<= 60 MB", "not measured"])
    for label, key in (("xentui bytes, json / xml", "bytes"), ("xentui RPC bytes, json / xml", "rpc_bytes")):
        xb, jb = res[(XENTUI, "xml")].get(key), res[(XENTUI, "json")].get(key)
        if xb and jb:
            rows.append([label, "%.0f %%" % (100.0 * jb / xb), "<= 40 %", verdict(jb / xb <= 0.40)])
        else:
            rows.append([label, "-", "<= 40 %", "not measured"])
    return rows


def bench_load(url):
    xo = xo_label()
    clients = load_clients(with_python=True)
    res = run_load(url, clients)
    count_bytes(url, clients, res)
    out("== 1. Time to a fully loaded cache: xapi-sim --hosts %d --vms %d (plain HTTP), %d runs each" %
        (HOSTS, VMS, RUNS))
    out("   (wall: the whole process, start to exit, median; CPU: its user + system time (wait4), median;")
    out("   RSS: its peak (/usr/bin/time's %M); MB on the wire: the reply bodies of one more, untimed run")
    out("   through a counting relay, all replies and those to XML-RPC/JSON-RPC calls, i.e. without GETs such as")
    out("   /rrd_updates; xentui: `list networks`, the whole cache and a short table; `list vms`: the same,")
    out("   one /rrd_updates more (its CPU and memory columns) and %d rows; floor: the same 22 replies read" % VMS)
    out("   without decoding, and with that /rrd_updates; the goals are the cache's)")
    load_table(clients, res, with_bytes=True)
    out("   (load average after: %.1f)" % os.getloadavg()[0])
    out()
    table(["measure", "value", "goal", "verdict"], goal_rows(res, xo))
    out()
    return not any(r["failed"] for r in res.values())


def bench_slow_link():
    """Section 1 again with the sim's replies paced to RATE_MBIT (xapi-sim --rate-limit-mbit)."""
    if RATE_MBIT <= 0:
        out("== 1b. Over a slow link: skipped (BENCH_RATE_MBIT=0)")
        out()
        return True
    sim, url = start_sim(["--rate-limit-mbit", str(RATE_MBIT)], "core-sim-slow.err")
    try:
        clients = load_clients(with_python=False)
        res = run_load(url, clients)
    finally:
        stop_sim(sim)
    out("== 1b. The same over a %d Mbit/s link: xapi-sim --rate-limit-mbit %d (every byte it sends, all" %
        (RATE_MBIT, RATE_MBIT))
    out("   connections together, paced to that rate in its socket writes), %d runs each" % RUNS)
    load_table(clients, res, with_bytes=False)
    out("   (load average after: %.1f)" % os.getloadavg()[0])
    out()
    rows = []
    xo = xo_label()
    for t in TRANSPORTS:
        x, o, f = res[(XENTUI, t)], res[(xo, t)], res[(FLOOR, t)]
        lv, fr = res[(XENTUI_VMS, t)], res[(FLOOR_RRD, t)]
        for label, a, b in (("XO / xentui wall (%s)" % t, med(o, 0), med(x, 0)),
                            ("xentui / floor wall (%s)" % t, med(x, 0), med(f, 0)),
                            ("list vms / floor + rrd wall (%s)" % t, med(lv, 0), med(fr, 0))):
            rows.append([label, "%.2f x" % (a / b) if a and b else "-"])
    x, j = med(res[(XENTUI, "xml")], 0), med(res[(XENTUI, "json")], 0)
    rows.append(["xentui wall, xml / json", "%.2f x" % (x / j) if x and j else "-"])
    table(["measure", "value"], rows)
    out()
    return not any(r["failed"] for r in res.values())


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
    out("xentui core benchmarks, %s, %d CPUs, load average %.1f (others' processes share them)" %
        (time.strftime("%Y-%m-%d %H:%M"), os.cpu_count() or 0, os.getloadavg()[0]))
    out()
    sim = None
    try:
        t0 = time.perf_counter()
        sim, url = start_sim()
        out("xapi-sim (%s) --plain --hosts %d --vms %d: ready in %.1f s at %s" %
            (SIM, HOSTS, VMS, time.perf_counter() - t0, url))
        out()
        for name, fn in (("load", bench_load), ("decode", bench_decode), ("idle", bench_idle)):
            if name not in ONLY:
                continue
            try:
                ok = fn(url) and ok
            except Exception as e:  # one benchmark failing still lets the others run
                out("== %s: failed: %s" % (name, e))
                out()
                ok = False
            if sim.poll() is not None:
                raise RuntimeError("xapi-sim exited (status %s; see %s/core-sim.err)" % (sim.returncode, OUT_DIR))
        stop_sim(sim)  # one big sim at a time
        try:
            ok = (bench_slow_link() if "slow" in ONLY else True) and ok
        except Exception as e:
            out("== slow link: failed: %s" % e)
            out()
            ok = False
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
