"""Performance data (issue 13): `xentui metrics dump [--json]`, `xentui list
hosts|vms` CPU and memory, and `xentui metrics serve`'s /metrics, against
xapi-sim, whose series are a known function of time (tests/sim/rrd.c): every
number is checked against that function computed here, for the timestamp
the sample carries, with the pool's objects read through Python's xmlrpc.
Debian's promtool checks the text; a real Prometheus scrapes it. TAP."""
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
XENTUI = os.environ.get("XENTUI", os.path.join(ROOT, "build/san/xentui"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import simtest  # noqa: E402
LOGS = os.path.join(ROOT, "build/test-logs")

check = simtest.ok


# ---- the simulator's function (tests/sim/rrd.c), computed independently ----

M64 = (1 << 64) - 1


def mix(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def hash_str(s, h):
    for c in s.encode():
        h = ((h ^ c) * 0x100000001B3) & M64
    return mix(h)


def sim_value(kind, uuid, name, t, level=0.0):
    h = hash_str(name, hash_str(uuid, 0xCBF29CE484222325))
    phase = (h % 10000) / 10000.0 * 2 * math.pi
    noise = (mix(h ^ (t // 5)) % 10000) / 10000.0
    wave = (1 + math.sin(2 * math.pi * float(t) / (240.0 + float(h % 360)) + phase)) / 2
    if kind == "cpu":
        return 0.01 + 0.3 * wave + 0.04 * noise
    if kind == "const":
        return level
    if kind == "kib_free":
        return math.floor(level * (0.25 + 0.3 * wave))
    if kind == "net":
        return math.floor(level * (0.2 + wave + 0.3 * noise))
    raise ValueError(kind)


def close(a, b):
    return a is not None and b is not None and abs(a - b) <= 1e-9 * max(1.0, abs(b))


# ---- processes ----

def Sim(*args):
    """The shared simulator (tests/lib/simtest.py), its stderr kept in build/test-logs."""
    return simtest.Sim(*args, log="metrics")


def env():
    e = dict(os.environ)
    e["XENTUI_PW"] = "xapi-sim"
    e["XDG_CONFIG_HOME"] = os.path.join(LOGS, "xdg-metrics")
    return e


def conn(sim):
    return [sim.url, "--password-env", "XENTUI_PW", "--fingerprint", sim.fingerprint]


def xentui(*args, timeout=60):
    return subprocess.run([XENTUI, *args], capture_output=True, text=True, timeout=timeout, env=env(),
                          stdin=subprocess.DEVNULL)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(fn, timeout=30, every=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(every)
    return None


def http_get(url, headers=None, timeout=30):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()
    except OSError:
        return None, {}, ""


# ---- what the pool holds, read independently ----

def pool_state(sim):
    s, sid = sim.api("test_metrics")
    v = lambda r: r["Value"]
    hosts = v(s.host.get_all_records(sid))
    hm = v(s.host_metrics.get_all_records(sid))
    vms = v(s.VM.get_all_records(sid))
    vmm = v(s.VM_metrics.get_all_records(sid))
    vifs = v(s.VIF.get_all_records(sid))
    srs = v(s.SR.get_all_records(sid))
    pools = v(s.pool.get_all_records(sid))
    s.session.logout(sid)
    pool = next(iter(pools.values()))
    out = {"pool": pool, "hosts": {}, "vms": {}, "srs": {}}
    for ref, h in hosts.items():
        m = hm.get(h["metrics"], {})
        out["hosts"][h["uuid"]] = {"name": h["name_label"],
                                   "total_kib": int(m.get("memory_total", "0")) // 1024,
                                   "free_kib": int(m.get("memory_free", "0")) // 1024, "ref": ref}
    by_ref = {ref: h["uuid"] for ref, h in hosts.items()}
    for ref, vm in vms.items():
        if vm["is_a_template"] or vm["is_a_snapshot"] or vm["resident_on"] not in by_ref:
            continue
        m = vmm.get(vm["metrics"], {})
        vcpus = int(m.get("VCPUs_number", "0")) or int(vm["VCPUs_at_startup"])
        mem = int(m.get("memory_actual", "0")) or int(vm["memory_dynamic_max"])
        devs = [vifs[r]["device"] for r in vm["VIFs"] if r in vifs]
        out["vms"][vm["uuid"]] = {"name": vm["name_label"], "vcpus": min(vcpus, 64), "mem": mem, "vifs": devs,
                                  "host": by_ref[vm["resident_on"]], "dom0": vm["is_control_domain"],
                                  "paused": vm["power_state"] == "Paused"}
    for ref, sr in srs.items():
        out["srs"][sr["uuid"]] = sr
    return out


def vm_cpu_usage(st, uuid, t):
    """A VM's CPU (0..1) as the sim makes it: the mean of its vCPUs, 0 while paused (its CPU time stands still)."""
    vm = st["vms"][uuid]
    if vm["paused"]:
        return 0.0
    return sum(sim_value("cpu", uuid, f"cpu{i}", t) for i in range(vm["vcpus"])) / vm["vcpus"]


def expected(st, name, labels, t):
    """The sim's value for one sample of ours, or None when we do not model it."""
    uuid = labels.get("uuid")
    if name == "xcp_host_cpu_average":
        return sim_value("cpu", uuid, "cpu_avg", t)
    if name == "xcp_host_memory_free_bytes":
        return st["hosts"][uuid]["free_kib"] * 1024
    if name == "xcp_host_memory_total_bytes":
        return st["hosts"][uuid]["total_kib"] * 1024
    if name == "xcp_vm_cpu_usage":
        return vm_cpu_usage(st, uuid, t)
    if name == "xcp_vm_memory_bytes":
        return st["vms"][uuid]["mem"]
    if name == "xcp_vm_memory_internal_free_bytes":
        return sim_value("kib_free", uuid, "memory_internal_free", t, st["vms"][uuid]["mem"] // 1024) * 1024
    if name == "xcp_vm_network_receive_bytes_total":
        if st["vms"][uuid]["paused"]:
            return 0.0
        return sim_value("net", uuid, "vif_%s_rx" % labels["vif"], t, 5e4)
    if name == "xcp_sr_physical_size_bytes":
        return int(st["srs"][labels["sr_uuid"]]["physical_size"])
    return None


def compare_samples(st, samples, what):
    """Every modelled sample equals the sim's value at its timestamp; labels are XO's."""
    now = time.time()
    seen = {}
    bad = []
    for s in samples:
        want = expected(st, s["name"], s["labels"], int(s["timestamp"]))
        if want is None:
            continue
        seen[s["name"]] = seen.get(s["name"], 0) + 1
        if not close(s["value"], want):
            bad.append(f"{s['name']} {s['labels']} = {s['value']} want {want} at {s['timestamp']}")
    check(not bad and seen.get("xcp_host_cpu_average") == len(st["hosts"])
          and seen.get("xcp_vm_cpu_usage") == len(st["vms"]) and seen.get("xcp_vm_memory_bytes") == len(st["vms"]),
          f"{what}: host CPU, host memory, VM CPU (mean of the vCPUs), VM memory and VIF receive equal the sim's "
          f"function at each sample's time ({sum(seen.values())} samples)", "\n".join(bad[:10]) + f"\n{seen}")
    rrd = [s for s in samples if not s["name"].startswith("xcp_sr_")]
    check(rrd and all(int(s["timestamp"]) % 5 == 0 and abs(now - int(s["timestamp"])) < 30 for s in rrd),
          f"{what}: timestamps are rrdd's 5 s steps, current", [s["timestamp"] for s in rrd[:5]])
    pool_name = st["pool"]["name_label"]
    host = next(s for s in samples if s["name"] == "xcp_host_cpu_average")
    vm = next(s for s in samples if s["name"] == "xcp_vm_memory_bytes")
    hu, vu = host["labels"]["uuid"], vm["labels"]["uuid"]
    want_host = {"pool_id": st["pool"]["uuid"], "uuid": hu, "type": "host", "pool_name": pool_name,
                 "host_name": st["hosts"][hu]["name"]}
    v = st["vms"][vu]
    want_vm = {"pool_id": st["pool"]["uuid"], "uuid": vu, "type": "vm", "host_id": v["host"], "pool_name": pool_name,
               "host_name": st["hosts"][v["host"]]["name"], "vm_name": v["name"],
               "is_control_domain": "true" if v["dom0"] else "false"}
    check(host["labels"] == want_host and vm["labels"] == want_vm,
          f"{what}: labels are XO's openmetrics plugin's (pool_id, uuid, type, host_id, pool_name, host_name, "
          f"vm_name, is_control_domain)", f"{host['labels']}\n{want_host}\n{vm['labels']}\n{want_vm}")


def parse_text(text):
    """OpenMetrics text into samples (name, labels, value, timestamp)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, value, ts = line.rsplit(" ", 2)
        if "{" in head:
            name, rest = head.split("{", 1)
            labels = {}
            rest = rest[:-1]
            i = 0
            while i < len(rest):
                eq = rest.index("=", i)
                key = rest[i:eq]
                j = eq + 2
                val = []
                while rest[j] != '"':
                    if rest[j] == "\\":
                        j += 1
                        val.append({"n": "\n"}.get(rest[j], rest[j]))
                    else:
                        val.append(rest[j])
                    j += 1
                labels[key] = "".join(val)
                i = j + 2
        else:
            name, labels = head, {}
        out.append({"name": name, "labels": labels, "value": float(value), "timestamp": int(ts)})
    return out


def promtool_ok(text):
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    return r.returncode == 0, r.stdout + r.stderr


def candidates(now):
    """The rows a fetch made around now may have ended at."""
    end = int(now) // 5 * 5
    return [end - 5 * k for k in range(-1, 5)]


def main():
    sim = Sim("--seed", "7")
    serve = prom = None
    tmp = tempfile.mkdtemp(prefix="xentui-metrics-")
    try:
        st = pool_state(sim)

        # ---- dump --json ----
        r = xentui("metrics", "dump", "--json", *conn(sim))
        try:
            samples = json.loads(r.stdout)
        except ValueError:
            samples = []
        check(r.returncode == 0 and samples, "metrics dump --json prints samples", r.stderr)
        if samples:
            compare_samples(st, samples, "dump --json")

        # ---- dump (text) and promtool ----
        r = xentui("metrics", "dump", *conn(sim))
        check(r.returncode == 0 and r.stdout.endswith("# EOF\n") and "# TYPE xcp_host_cpu_average gauge" in r.stdout,
              "metrics dump prints OpenMetrics text ending in # EOF", r.stderr + r.stdout[-300:])
        ok, why = promtool_ok(r.stdout)
        check(ok, "promtool check metrics accepts the dump", why)
        compare_samples(st, parse_text(r.stdout), "dump")

        # ---- list hosts|vms --json and text ----
        t0 = time.time()
        r = xentui("list", "hosts", "--json", *conn(sim))
        rows = json.loads(r.stdout or "[]")
        bad = []
        for row in rows:
            h = st["hosts"][row["uuid"]]
            if not any(close(row["cpu_usage"], sim_value("cpu", row["uuid"], "cpu_avg", t)) for t in candidates(t0)):
                bad.append(f"{row['name']} cpu {row['cpu_usage']}")
            if row["memory_used"] != (h["total_kib"] - h["free_kib"]) * 1024:
                bad.append(f"{row['name']} memory_used {row['memory_used']}")
        check(r.returncode == 0 and rows and not bad,
              "list hosts --json: cpu_usage and memory_used are the sim's (cpu_avg, total - free)",
              "\n".join(bad) + r.stderr)
        t0 = time.time()
        r = xentui("list", "vms", "--json", *conn(sim))
        rows = json.loads(r.stdout or "[]")
        bad = []
        running = 0
        for row in rows:
            vm = st["vms"].get(row["uuid"])
            if not vm:
                if row["cpu_usage"] is not None:
                    bad.append(f"{row['name']} (not running) has cpu {row['cpu_usage']}")
                continue
            running += 1
            ok_cpu = any(close(row["cpu_usage"], vm_cpu_usage(st, row["uuid"], t)) for t in candidates(t0))
            ok_mem = any(row["memory_used"] == vm["mem"] - sim_value("kib_free", row["uuid"], "memory_internal_free", t,
                                                                     vm["mem"] // 1024) * 1024
                         for t in candidates(t0))
            if not ok_cpu or not ok_mem:
                bad.append(f"{row['name']} cpu {row['cpu_usage']} mem {row['memory_used']}")
        check(r.returncode == 0 and running and not bad,
              f"list vms --json: cpu_usage and memory_used of {running} running or paused VMs are the sim's (a paused "
              f"one's CPU 0); halted VMs null",
              "\n".join(bad) + r.stderr)
        t0 = time.time()
        r = xentui("list", "hosts", *conn(sim))
        lines = r.stdout.splitlines()
        head = lines[0].split() if lines else []
        bad = []
        for uuid, h in st["hosts"].items():
            line = next((l for l in lines if uuid in l), "")
            cells = [c for c in line.split("  ") if c.strip()]
            pct = next((c.strip() for c in cells if c.strip().endswith("%")), None)
            want = ["%.1f%%" % (sim_value("cpu", uuid, "cpu_avg", t) * 100) for t in candidates(t0)]
            if pct not in want:
                bad.append(f"{h['name']}: {pct} not in {want}")
        check(r.returncode == 0 and "CPU" in head and "MEM" in head and not bad,
              "list hosts: a CPU column with the sim's percentage, and a memory-used column", "\n".join(bad) + r.stdout)

        # ---- serve ----
        port = free_port()
        token = os.path.join(tmp, "token")
        with open(token, "w") as f:
            f.write("s3cret-token\n")
        log = os.path.join(tmp, "serve.log")
        serve = subprocess.Popen([XENTUI, "metrics", "serve", "--listen", f"127.0.0.1:{port}", "--log", log,
                                  *conn(sim)], env=env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=open(os.path.join(tmp, "serve.err"), "w"))
        url = f"http://127.0.0.1:{port}/metrics"
        # the very first answer, asked as soon as the port is open, waits for the pool's load
        got = wait_for(lambda: (lambda r: r if r[0] is not None else None)(http_get(url)))
        check(got is not None and got[0] == 200 and "xcp_vm_cpu_usage" in got[2]
              and got[1].get("Content-Type", "").startswith("application/openmetrics-text"),
              "metrics serve answers /metrics with application/openmetrics-text, the first scrape included",
              got and (got[0], got[1], got[2][:200]))
        if got:
            ok, why = promtool_ok(got[2])
            check(ok and got[2].endswith("# EOF\n"), "promtool check metrics accepts /metrics", why)
            compare_samples(st, parse_text(got[2]), "/metrics")
        status, _, _ = http_get(f"http://127.0.0.1:{port}/other")
        check(status == 404, "other paths are 404", status)

        # a burst of scrapes: at most one /rrd_updates per host address per 5 s step
        before = time.time()
        for _ in range(12):
            http_get(url)
        with open(log) as f:
            fetches = [l for l in f if "fetching /rrd_updates" in l]
        per_step = {}
        for l in fetches:
            # "... metrics: fetching /rrd_updates from ADDR (interval 5, start S)"
            addr = l.split(" from ")[1].split()[0]
            interval = l.split("interval ")[1].split(",")[0]
            per_step.setdefault((addr, interval), []).append(l)
        steps = int(time.time() // 5) - int(before // 5) + 1
        check(fetches and all(len(v) <= steps + 3 for v in per_step.values()),
              f"12 scrapes in {time.time() - before:.1f}s: {len(fetches)} fetches in all, never two per address "
              f"per step", "\n".join(fetches[-10:]))
        serve.terminate()
        serve.wait(20)
        serve = None

        # ---- the bearer token ----
        port = free_port()
        serve = subprocess.Popen([XENTUI, "metrics", "serve", "--listen", f"127.0.0.1:{port}", "--token-file", token,
                                  *conn(sim)], env=env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}/metrics"
        wait_for(lambda: http_get(url)[0] is not None)
        s1, _, _ = http_get(url)
        s2, _, _ = http_get(url, {"Authorization": "Bearer wrong"})
        s3, _, body = http_get(url, {"Authorization": "Bearer s3cret-token"})
        check(s1 == 401 and s2 == 401 and s3 == 200 and "# EOF" in body,
              "--token-file: no token or a wrong one is 401, the right bearer token gets the metrics", (s1, s2, s3))

        # ---- a real Prometheus ----
        if not shutil.which("prometheus"):
            check(False, "Debian's prometheus is installed (scripts/install-deps)")
        else:
            pport = free_port()
            cfg = os.path.join(tmp, "prometheus.yml")
            with open(cfg, "w") as f:
                f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
                        "  - job_name: xentui\n    authorization:\n      credentials: s3cret-token\n"
                        f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
            prom = subprocess.Popen(["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={tmp}/tsdb",
                                     f"--web.listen-address=127.0.0.1:{pport}"], stdout=subprocess.DEVNULL,
                                    stderr=open(os.path.join(tmp, "prometheus.log"), "w"))
            host_uuid = sorted(st["hosts"])[0]
            vm_uuid = sorted(st["vms"])[0]

            def query(q):
                s, _, body = http_get(f"http://127.0.0.1:{pport}/api/v1/query?query=" + urllib.request.quote(q))
                if s != 200:
                    return None
                res = json.loads(body)["data"]["result"]
                return res or None

            res = wait_for(lambda: query(f'xcp_host_cpu_average{{uuid="{host_uuid}"}}[1m]'), timeout=60, every=0.5)
            bad = []
            for ts, val in (res[0]["values"] if res else []):
                want = sim_value("cpu", host_uuid, "cpu_avg", int(ts))
                if not close(float(val), want):
                    bad.append(f"{ts}: {val} want {want}")
            check(res and not bad, "Prometheus scraped /metrics: a PromQL query answers the host's CPU with the sim's "
                  "value at each sample's time", "\n".join(bad) + str(res)[:300])
            res = wait_for(lambda: query(f'xcp_vm_memory_bytes{{uuid="{vm_uuid}",vm_name!=""}}'), timeout=30)
            check(res and float(res[0]["value"][1]) == st["vms"][vm_uuid]["mem"]
                  and res[0]["metric"].get("vm_name") == st["vms"][vm_uuid]["name"],
                  "PromQL: a VM's memory, with its vm_name label, is the sim's", str(res)[:300])
    finally:
        for p in (prom, serve):
            if p:
                p.terminate()
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
        sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return simtest.plan()


if __name__ == "__main__":
    sys.exit(main())
