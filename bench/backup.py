"""The backup engine's benchmarks (run by bench/run-all, i.e. `make bench`):
one xapi-sim (TLS, as a pool is), a VM whose disk is large and sparse
(xapi-sim's `other_config:content_of=pattern:EVERY:SEED`: every EVERY-th
1 MiB block holds data, at no memory cost), a file:// repository, and
`build/xentui backup` against them. Four tables, printed and written to
build/bench/backup.txt:

  1. full backup: a delta job's first run (/export_raw_vdi?format=vhd) against
     curl of the same URL with the same session, to /dev/null and to a file
     on the repository's filesystem; full (XVA) jobs, compression none and
     zstd, against curl of the same /export URL;
  2. the next delta with 1 % of the disk's 2 MiB blocks changed: its bytes
     and time, next to the disk's size and the full's;
  3. peak RSS of the `xentui backup run` process tree (the driver and its
     per-VM child) during a full backup, for two disk sizes;
  4. restore of the newest (delta) point: a full VHD synthesised from the
     chain, through PUT /import_raw_vdi.

These measure; they never fail on a timing. The exit status is non-zero
only when a benchmark could not run (the sim did not start, xentui or curl
failed). Standard library and curl only.

Environment: BENCH_BACKUP_GIB (40: the large disk's virtual size),
BENCH_BACKUP_SMALL_GIB (4), BENCH_BACKUP_EVERY (32: data in every 32nd MiB),
BENCH_BACKUP_RUNS (3: runs of the full and its curls, best kept),
XAPI_SIM (build/xapi-sim), XENTUI (build/xentui)."""
import calendar
import os
import random
import shutil
import signal
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import http.client
import urllib.parse
import xmlrpc.client

from benchout import out, report, table, verdict

OUT_DIR = "build/bench"
SIM = os.environ.get("XAPI_SIM", "build/xapi-sim")
XENTUI = os.environ.get("XENTUI", "build/xentui")
BIG_GIB = int(os.environ.get("BENCH_BACKUP_GIB", "40"))
SMALL_GIB = int(os.environ.get("BENCH_BACKUP_SMALL_GIB", "4"))
EVERY = int(os.environ.get("BENCH_BACKUP_EVERY", "32"))
RUNS = max(1, int(os.environ.get("BENCH_BACKUP_RUNS", "3")))
SEED = 7
PASSWORD = "xapi-sim"
CHILD_TIMEOUT = 240
MiB = 1 << 20
GiB = 1 << 30
VHD_BLOCK = 2 * MiB
CHANGE_PCT = 1.0
CHANGE_BYTES = 64 * 1024  # written into each changed 2 MiB block
RSS_GOAL_MB = 64.0
T0 = calendar.timegm((2026, 12, 1, 2, 0, 0))
DAY = 86400
CTX = ssl._create_unverified_context()  # the sim's certificate is made at start

running = []  # children to stop if we are interrupted


def gib(n):
    return "%.2f GiB" % (n / GiB)


def mib(n):
    return "%.1f MiB" % (n / MiB)


def rate(n, secs):
    return "%.0f MB/s" % (n / secs / 1e6) if secs > 0 else "-"


def ts(now):
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))


# ---- the pool ------------------------------------------------------------------

class Pool:
    """One xapi-sim with TLS, logged in over XML-RPC."""

    def __init__(self, tmp):
        self.err = open(os.path.join(OUT_DIR, "backup-sim.err"), "wb")
        self.p = subprocess.Popen([SIM, "--port", "0", "--hosts", "1", "--vms", "2", "--seed", str(SEED)],
                                  stdout=subprocess.PIPE, stderr=self.err, text=True)
        self.url = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.p.stdout.readline()
            if not line:
                break
            if line.startswith("xapi-sim listening on "):
                self.url = line.split()[-1]
                break
        if not self.url:
            raise RuntimeError("xapi-sim did not start (see %s/backup-sim.err)" % OUT_DIR)
        threading.Thread(target=lambda: [None for _ in self.p.stdout], daemon=True).start()
        self.api = xmlrpc.client.ServerProxy(self.url, context=CTX, allow_none=True)
        self.sid = self.v(self.api.session.login_with_password("root", PASSWORD, "2.21", "bench"))
        self.u = urllib.parse.urlparse(self.url)
        pool = list(self.call("pool.get_all_records").values())[0]
        self.sr = pool["default_SR"]
        self.sr_uuid = self.call("SR.get_uuid", self.sr)

    @staticmethod
    def v(r):
        if r.get("Status") != "Success":
            raise RuntimeError(str(r.get("ErrorDescription")))
        return r.get("Value")

    def call(self, method, *args):
        f = self.api
        for part in method.split("."):
            f = getattr(f, part)
        return self.v(f(self.sid, *args))

    def make_vm(self, name, size, every):
        """A VM (a clone of one of the sim's) with one disk of size bytes,
        every every-th MiB of it data; (VM ref, VM uuid, VDI uuid)."""
        vms = self.call("VM.get_all_records")
        src = sorted(r for r, x in vms.items() if not x["is_a_template"] and not x["is_a_snapshot"]
                     and not x["is_control_domain"])[0]
        vm = self.call("VM.clone", src, name)
        for vbd in self.call("VM.get_VBDs", vm):
            rec = self.call("VBD.get_record", vbd)
            self.call("VBD.destroy", vbd)
            if rec["VDI"] != "OpaqueRef:NULL" and rec["type"] == "Disk":
                self.call("VDI.destroy", rec["VDI"])
        vdi = self.call("VDI.create", {"name_label": name + " disk", "name_description": "", "SR": self.sr,
                                       "virtual_size": str(size), "type": "user", "sharable": False,
                                       "read_only": False,
                                       "other_config": {"content_of": "pattern:%d:%d" % (every, SEED)}})
        self.call("VBD.create", {"VM": vm, "VDI": vdi, "userdevice": "0", "bootable": True, "mode": "RW",
                                 "type": "Disk", "empty": False, "other_config": {}, "qos_algorithm_type": "",
                                 "qos_algorithm_params": {}})
        return vm, self.call("VM.get_uuid", vm), self.call("VDI.get_uuid", vdi)

    def write_blocks(self, vdi_uuid, chunks):
        """Writes [(offset, bytes)] in one PUT /import_raw_vdi (xapi's chunked raw framing)."""
        body = b"".join(struct.pack("<QI", off, len(d)) + d for off, d in chunks) + struct.pack("<QI", 0, 0)
        c = http.client.HTTPSConnection(self.u.hostname, self.u.port, context=CTX, timeout=300)
        c.request("PUT", "/import_raw_vdi?vdi=%s&format=raw&chunked=true&session_id=%s" % (vdi_uuid, self.sid),
                  body=body, headers={"Content-Length": str(len(body))})
        r = c.getresponse()
        r.read()
        c.close()
        if r.status != 200:
            raise RuntimeError("PUT /import_raw_vdi: HTTP %d" % r.status)
        return len(body)

    def snapshot_uuid(self, vm, name):
        snap = self.call("VM.snapshot", vm, name)
        return snap, self.call("VM.get_uuid", snap)

    def destroy_vm(self, vm):
        for vbd in self.call("VM.get_VBDs", vm):
            vdi = self.call("VBD.get_VDI", vbd)
            if vdi != "OpaqueRef:NULL":
                self.call("VDI.destroy", vdi)
        self.call("VM.destroy", vm)

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(10)
        self.err.close()


# ---- measured processes -------------------------------------------------------------

def proc_tree(root):
    """{pid: (ppid, comm)} of root and its descendants, from /proc/PID/stat."""
    info = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
            info[int(d)] = (int(s[s.rindex(")") + 2:].split()[1]), s[s.index("(") + 1:s.rindex(")")])
        except (OSError, ValueError, IndexError):
            continue
    pids, grew = {root}, True
    while grew:
        new = {p for p, (pp, _) in info.items() if pp in pids and p not in pids}
        grew = bool(new)
        pids |= new
    return {p: info[p] for p in pids if p in info}


def vm_hwm(pid):
    """VmHWM of pid in KiB, or None once it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def backtraces(root, path):
    """A stuck run: every process's stack (gdb if there is one), for the report."""
    with open(path, "a") as f:
        for pid, (ppid, comm) in sorted(proc_tree(root).items()):
            f.write("== pid %d (%s), parent %d\n" % (pid, comm, ppid))
            try:
                with open("/proc/%d/wchan" % pid) as w:
                    f.write("wchan: %s\n" % w.read())
            except OSError:
                pass
            if shutil.which("gdb"):
                r = subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "thread apply all bt"],
                                   capture_output=True, text=True, timeout=60)
                f.write(r.stdout[-20000:])


def measure(argv, env=None, watch_rss=False):
    """Runs argv to its end: dict(wall, cpu, rc, out, err, hwm {pid: (KiB,
    ppid, comm)} of every process of its tree, VmHWM sampled while it ran,
    maxrss KiB: the largest process's peak, from /usr/bin/time when there
    is one (wait4's own ru_maxrss would count this Python's image before
    the exec), root: argv's pid)."""
    timefile = None
    if watch_rss and os.access("/usr/bin/time", os.X_OK):
        timefile = os.path.join(OUT_DIR, "backup-time.txt")
        argv = ["/usr/bin/time", "-f", "%M", "-o", timefile] + argv
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, stdin=subprocess.DEVNULL)
    running.append(p)
    hwm = {}
    outs = {}

    def drain(name, f):
        outs[name] = f.read()

    threads = [threading.Thread(target=drain, args=(n, f), daemon=True) for n, f in (("err", p.stderr),
                                                                                      ("out", p.stdout))]
    for t in threads:
        t.start()
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            for pid, (ppid, comm) in proc_tree(p.pid).items():
                k = vm_hwm(pid)
                if k is not None and k > hwm.get(pid, (0,))[0]:
                    hwm[pid] = (k, ppid, comm)
            stop.wait(0.05)

    def too_long():
        backtraces(p.pid, os.path.join(OUT_DIR, "backup-stuck.txt"))
        p.kill()

    sampler = threading.Thread(target=sample, daemon=True) if watch_rss else None
    if sampler:
        sampler.start()
    killer = threading.Timer(CHILD_TIMEOUT, too_long)
    killer.start()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    killer.cancel()
    stop.set()
    if sampler:
        sampler.join()
    for t in threads:
        t.join()
    p.returncode = os.waitstatus_to_exitcode(status)
    running.remove(p)
    maxrss = None
    if timefile:
        try:
            with open(timefile) as f:
                maxrss = int(f.read().split()[-1])
            os.unlink(timefile)
        except (OSError, ValueError, IndexError):
            pass
    dec = lambda b: (b or b"").decode("utf-8", "replace")
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rc": p.returncode, "out": dec(outs.get("out")),
            "err": dec(outs.get("err")), "maxrss": maxrss, "hwm": hwm, "root": p.pid}


def curl(pool, path_query, dest):
    """GET path_query with the bench's session into dest: (seconds, bytes)."""
    url = "%s%s%ssession_id=%s" % (pool.url, path_query, "&" if "?" in path_query else "?", pool.sid)
    r = measure(["curl", "-k", "-s", "-S", "--fail", "-o", dest, "-w", "%{size_download}", url])
    if r["rc"] != 0:
        raise RuntimeError("curl %s failed: %s" % (path_query, r["err"].strip()))
    return r["wall"], int(float(r["out"].strip() or "0")), r["cpu"]


def fsync_file(path):
    t0 = time.perf_counter()
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    return time.perf_counter() - t0


# ---- xentui and its repository ---------------------------------------------------------

class Xentui:
    def __init__(self, pool, tmp, jobs):
        self.pool = pool
        self.tmp = tmp
        self.repo = os.path.join(tmp, "repo")
        os.makedirs(self.repo)
        self.config = os.path.join(tmp, "xentui.conf")
        with open(self.config, "w") as f:
            f.write('servers = ( { name = "sim"; url = "%s"; user = "root"; password_env = "XENTUI_PW"; '
                    'insecure = true; } );\n' % pool.url)
            f.write('remotes = ( { name = "repo"; url = "file://%s"; } );\n' % self.repo)
            f.write("backup_jobs = (\n%s\n);\n" % ",\n".join(
                '  { name = "%s"; server = "sim"; remotes = ["repo"]; vms = ["%s"]; mode = "%s"; retention = 9;%s }'
                % (name, vm, mode, ' compression = "%s";' % comp if comp else "")
                for name, vm, mode, comp in jobs))
        self.now = T0

    def env(self):
        e = dict(os.environ, XENTUI_PW=PASSWORD, XDG_CONFIG_HOME=os.path.join(self.tmp, "config"),
                 XDG_STATE_HOME=os.path.join(self.tmp, "state"), HOME=self.tmp)
        e["XENTUI_NOW"] = str(self.now)
        return e

    def run(self, job, watch_rss=False):
        """`xentui backup run JOB`, measured; the point's timestamp."""
        self.now += DAY  # each run its own point name
        r = measure([XENTUI, "backup", "run", job, "-c", self.config], env=self.env(), watch_rss=watch_rss)
        if r["rc"] != 0:
            raise RuntimeError("xentui backup run %s failed (exit %d): %s" % (job, r["rc"], r["err"].strip()[-500:]))
        r["ts"] = ts(self.now)
        return r

    def restore(self, vm_uuid, at, name):
        r = measure([XENTUI, "backup", "restore", "repo", vm_uuid, "--at", at, "--sr", self.pool.sr_uuid,
                     "--name", name, "sim", "-c", self.config], env=self.env(), watch_rss=True)
        if r["rc"] != 0:
            raise RuntimeError("xentui backup restore failed (exit %d): %s" % (r["rc"], r["err"].strip()[-500:]))
        return r

    def vhd(self, vm_uuid, job_ts):
        """The one VHD of the point at job_ts (a path), from its .json."""
        import json
        vmdir = os.path.join(self.repo, "xo-vm-backups", vm_uuid)
        with open(os.path.join(vmdir, job_ts + ".json")) as f:
            j = json.load(f)
        return [os.path.join(vmdir, rel) for rel in j["vhds"].values()][0]

    def xva(self, vm_uuid, job_ts):
        return os.path.join(self.repo, "xo-vm-backups", vm_uuid, job_ts + ".xva")


def vhd_blocks(path):
    """(block size, set of allocated block numbers) of a dynamic VHD, read by hand."""
    with open(path, "rb") as f:
        footer = f.read(512)
        hdr_at = struct.unpack(">Q", footer[16:24])[0]
        f.seek(hdr_at)
        h = f.read(1024)
        bat_at = struct.unpack(">Q", h[16:24])[0]
        entries, block = struct.unpack(">II", h[28:36])
        f.seek(bat_at)
        bat = struct.unpack(">%dI" % entries, f.read(entries * 4))
    return block, {i for i, s in enumerate(bat) if s != 0xFFFFFFFF}


def synthesised_size(chain):
    """The size of the full VHD a chain makes (footer, header, BAT, the
    blocks any of them holds with their bitmaps, footer), as restore sends it."""
    block, used = 0, set()
    entries = 0
    for p in chain:
        block, b = vhd_blocks(p)
        used |= b
    with open(chain[0], "rb") as f:
        f.seek(struct.unpack(">Q", f.read(512)[16:24])[0])
        entries = struct.unpack(">I", f.read(1024)[28:32])[0]
    bitmap = ((block // 512 + 7) // 8 + 511) // 512 * 512
    return 512 + 1024 + (entries * 4 + 511) // 512 * 512 + len(used) * (bitmap + block) + 512


# ---- the benchmarks ------------------------------------------------------------------

class Bench:
    def __init__(self, pool, tmp):
        self.pool = pool
        self.tmp = tmp
        big = BIG_GIB * GiB
        small = SMALL_GIB * GiB
        self.big = pool.make_vm("bench-big", big, EVERY)
        self.small = pool.make_vm("bench-small", small, EVERY)
        # a run's fixed costs (login, snapshot, calls, .json): a VM whose disk holds 1 MiB
        self.empty = pool.make_vm("bench-empty", GiB, 1 << 20)
        self.big_size, self.small_size = big, small
        jobs = [("full%d" % i, "bench-big", "delta", None) for i in range(RUNS)]
        jobs += [("xva-none", "bench-big", "full", "none"), ("xva-zstd", "bench-big", "full", "zstd"),
                 ("small", "bench-small", "delta", None)]
        jobs += [("fixed-delta%d" % i, "bench-empty", "delta", None) for i in range(RUNS)]
        jobs += [("fixed-xva%d" % i, "bench-empty", "full", "none") for i in range(RUNS)]
        self.x = Xentui(pool, tmp, jobs)
        self.rss = []  # (label, disk size, result)
        self.last_full = None

    def data_of(self, size):
        """The bytes that hold data: every EVERY-th MiB, three quarters of each."""
        return (size // MiB + EVERY - 1) // EVERY * (MiB * 3 // 4)

    # 1. full backups
    def full(self):
        vm, vm_uuid, vdi_uuid = self.big
        q = "/export_raw_vdi?vdi=%s&format=vhd" % vdi_uuid
        null_runs, file_runs, sync_runs, x_runs, fixed = [], [], [], [], []
        size = None
        dest = os.path.join(self.tmp, "curl.vhd")
        for i in range(RUNS):  # interleaved, so a busy moment of the machine hits all alike
            null_runs.append(curl(self.pool, q, "/dev/null"))
            secs, n, cpu = curl(self.pool, q, dest)
            file_runs.append((secs, n, cpu))
            sync_runs.append((secs + fsync_file(dest), n, cpu))
            os.unlink(dest)
            fixed.append(self.x.run("fixed-delta%d" % i)["wall"])
            r = self.x.run("full%d" % i, watch_rss=True)
            path = self.x.vhd(vm_uuid, r["ts"])
            size = os.path.getsize(path)
            x_runs.append((r["wall"], size, r["cpu"]))
            self.rss.append(("full, %d GiB disk, run %d" % (BIG_GIB, i + 1), self.big_size, r))
            self.last_full = (r["ts"], path, size, "full%d" % i)
        best = lambda runs: min(runs, key=lambda x: x[0])
        out("== 1. Full backup of a %d GiB disk (%s of data: every %d%s MiB holds data, 3/4 of it random)"
            % (BIG_GIB, gib(self.data_of(self.big_size)), EVERY, {1: "st", 2: "nd", 3: "rd"}.get(EVERY % 10, "th")))
        out("   delta job's first run, /export_raw_vdi?format=vhd, TLS, to file://; curl -k with the same")
        out("   session and URL; best of %d runs (all runs in seconds)" % RUNS)
        rows = []
        for label, runs in (("curl -o /dev/null", null_runs), ("curl -o FILE (same filesystem)", file_runs),
                            ("curl -o FILE, then fsync", sync_runs), ("xentui backup run (delta, first)", x_runs)):
            s, n, cpu = best(runs)
            rows.append([label, "%.2f" % s, " ".join("%.2f" % r[0] for r in runs), gib(n), rate(n, s),
                         "%.2f" % cpu, "%.2f" % (cpu / (n / GiB))])
        table(["what", "best s", "runs s", "bytes", "throughput", "CPU s", "CPU s/GiB"], rows)
        out()
        xs, xn, _ = best(x_runs)
        rows = []
        for label, runs in (("xentui / curl -o /dev/null", null_runs), ("xentui / curl -o FILE", file_runs),
                            ("xentui / curl -o FILE + fsync", sync_runs)):
            s, n, _ = best(runs)
            ratio = (xn / xs) / (n / s)
            rows.append([label, "%.0f %%" % (ratio * 100), ">= 90 %", verdict(ratio >= 0.9)])
        fx = min(fixed)
        ratio = (xn / (xs - fx)) / (file_runs[0][1] / best(file_runs)[0]) if xs > fx else 0
        rows.append(["same, less the run's fixed cost", "%.0f %%" % (ratio * 100), "(streaming only)", "-"])
        table(["throughput ratio", "value", "goal", "verdict"], rows)
        out("   (xentui's time is the whole run: login, snapshot, export, SHA-256, fsync, .json, retention;")
        out("   its fixed cost, a run of a VM whose disk holds 1 MiB: %.2f s, runs %s)"
            % (fx, " ".join("%.2f" % f for f in fixed)))
        self.fixed_delta = fx
        out()
        self.xva()

    def xva(self):
        vm, vm_uuid, _ = self.big
        snap, snap_uuid = self.pool.snapshot_uuid(vm, "bench export")
        fx = min(self.x.run("fixed-xva%d" % i)["wall"] for i in range(RUNS))
        rows = []
        dest = os.path.join(self.tmp, "curl.xva")
        for comp, arg in (("none", "false"), ("zstd", "zstd")):
            q = "/export?uuid=%s&use_compression=%s" % (snap_uuid, arg)
            cs, cn, _ = curl(self.pool, q, "/dev/null")
            fs, fn, _ = curl(self.pool, q, dest)
            fs += fsync_file(dest)
            os.unlink(dest)
            r = self.x.run("xva-%s" % comp)
            path = self.x.xva(vm_uuid, r["ts"])
            n = os.path.getsize(path)
            os.unlink(path)  # room for the rest; its .json stays
            rows.append(["XVA, compression %s" % comp, "%.2f" % cs, rate(cn, cs), "%.2f" % fs, rate(fn, fs),
                         "%.2f" % r["wall"], rate(n, r["wall"]), gib(n),
                         "%.0f %%" % (100 * (n / r["wall"]) / (fn / fs)),
                         "%.0f %%" % (100 * (n / (r["wall"] - fx)) / (fn / fs)) if r["wall"] > fx else "-"])
        self.pool.destroy_vm(snap)
        out("   Full (XVA) jobs of the same VM against curl of /export?uuid=SNAPSHOT&use_compression=..")
        table(["job", "curl null s", "rate", "curl file+fsync s", "rate", "xentui s", "rate", "XVA size",
               "/ curl file+fsync", "same, less fixed"], rows)
        out("   (a full job's fixed cost, a VM whose disk holds 1 MiB: %.2f s; it includes xapi-sim's 1 s" % fx)
        out("   Async.VM.snapshot)")
        out()

    # 2. the next delta
    def delta(self):
        vm, vm_uuid, vdi_uuid = self.big
        full_ts, full_path, full_size, job = self.last_full
        nblocks = self.big_size // VHD_BLOCK
        k = max(1, int(round(nblocks * CHANGE_PCT / 100)))
        rnd = random.Random(SEED)
        chunks = []
        for b in sorted(rnd.sample(range(nblocks), k)):
            off = b * VHD_BLOCK + rnd.randrange(0, (VHD_BLOCK - CHANGE_BYTES) // 512) * 512
            chunks.append((off, rnd.randbytes(CHANGE_BYTES)))
        self.pool.write_blocks(vdi_uuid, chunks)
        r = self.x.run(job)
        path = self.x.vhd(vm_uuid, r["ts"])
        n = os.path.getsize(path)
        _, got = vhd_blocks(path)
        self.delta_point = (r["ts"], [path, full_path])
        out("== 2. The next delta: %d of the disk's %d blocks of 2 MiB changed (%.0f %%, %d KiB written into each)"
            % (k, nblocks, CHANGE_PCT, CHANGE_BYTES // 1024))
        per_block = n / max(1, len(got))
        table(["what", "value"],
              [["disk (virtual size)", gib(self.big_size)],
               ["the full before it (VHD)", "%s in %.2f s" % (gib(full_size), self.full_secs())],
               ["changed blocks / blocks in the delta VHD", "%d / %d" % (k, len(got))],
               ["delta VHD (bytes moved)", "%s (%.2f %% of the disk, %.1f %% of the full)"
                % (mib(n), 100 * n / self.big_size, 100 * n / full_size)],
               ["delta bytes per changed block", "%.0f KiB (a 2 MiB block and its bitmap: 2048.5 KiB)" % (per_block / 1024)],
               ["delta run time", "%.2f s (%s)" % (r["wall"], rate(n, r["wall"]))]])
        prop = len(got) == k and n < full_size and n <= k * (VHD_BLOCK + 512) + nblocks * 4 + 64 * 1024
        table(["measure", "value", "goal", "verdict"],
              [["delta bytes", "%s for %d changed blocks" % (mib(n), k), "proportional to the change",
                verdict(prop)]])
        out()

    def full_secs(self):
        return min(r["wall"] for label, size, r in self.rss if size == self.big_size)

    # 3. peak RSS
    def rss_small(self):
        r = self.x.run("small", watch_rss=True)
        self.rss.append(("full, %d GiB disk" % SMALL_GIB, self.small_size,  r))
        self.small_vhd = os.path.getsize(self.x.vhd(self.small[1], r["ts"]))

    def rss_table(self):
        out("== 3. Peak RSS of `xentui backup run` (a delta job's first run: a full VHD) by process")
        out("   (VmHWM sampled every 50 ms from /proc/PID/status; /usr/bin/time's %M: the largest of the tree)")
        if not self.rss:
            raise RuntimeError("no backup run was measured")
        rows = []
        worst = 0.0
        for label, size, r in self.rss:
            procs = {pid: v for pid, v in r["hwm"].items() if v[2] == "xentui"}
            drivers = [k for pid, (k, ppid, _) in procs.items() if ppid not in procs]
            kids = [k for pid, (k, ppid, _) in procs.items() if ppid in procs]
            peak = max([r["maxrss"] or 0] + [k for k, _, _ in procs.values()])
            worst = max(worst, peak * 1024 / 1e6)
            rows.append([label, gib(size), "%.1f MB" % (max(drivers) * 1024 / 1e6) if drivers else "-",
                         "%.1f MB" % (max(kids) * 1024 / 1e6) if kids else "-",
                         "%.1f MB" % (r["maxrss"] * 1024 / 1e6) if r["maxrss"] else "-",
                         "%.2f" % r["wall"], "%.2f" % r["cpu"]])
        table(["run", "disk", "driver VmHWM", "child VmHWM", "time's max RSS", "wall s", "CPU s"], rows)
        table(["measure", "value", "goal", "verdict"],
              [["peak RSS of any process", "%.1f MB" % worst, "<= %.0f MB whatever the disk" % RSS_GOAL_MB,
                verdict(worst <= RSS_GOAL_MB)]])
        out()

    # 4. restore
    def restore(self):
        at, chain = self.delta_point
        n = synthesised_size(chain)
        r = self.x.restore(self.big[1], at, "bench-restored")
        out("== 4. Restore of the newest point (the delta over the full): a full VHD synthesised from the chain,")
        out("   PUT /import_raw_vdi?format=vhd into a new VDI, with the VM, VBD and VIF records")
        table(["what", "value"],
              [["chain", "%d VHDs, %s on the repository" % (len(chain), gib(sum(os.path.getsize(p) for p in chain)))],
               ["synthesised VHD sent", gib(n)],
               ["restore time", "%.2f s" % r["wall"]],
               ["throughput", rate(n, r["wall"])],
               ["CPU (user + system)", "%.2f s" % r["cpu"]],
               ["peak RSS", "%.1f MB" % (r["maxrss"] * 1024 / 1e6) if r["maxrss"] else "-"]])
        out()


def on_term(sig, frame):
    raise KeyboardInterrupt


def main():
    signal.signal(signal.SIGTERM, on_term)
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    os.makedirs(OUT_DIR, exist_ok=True)
    ok = True
    out("xentui backup benchmarks, %s, %d CPUs" % (time.strftime("%Y-%m-%d %H:%M"), os.cpu_count() or 0))
    out()
    pool = None
    tmp = os.path.abspath(tempfile.mkdtemp(prefix="backup-", dir=OUT_DIR))  # the repository and curl's files: one filesystem
    t_start = time.perf_counter()
    try:
        for f in (SIM, XENTUI):
            if not os.access(f, os.X_OK):
                raise RuntimeError("%s is missing: run 'make build/xentui build/xapi-sim'" % f)
        if not shutil.which("curl"):
            raise RuntimeError("curl is not installed")
        pool = Pool(tmp)
        out("xapi-sim (%s, TLS) at %s; xentui %s; repository file://%s" % (SIM, pool.url, XENTUI, tmp))
        out()
        b = Bench(pool, tmp)
        steps = (("full", b.full), ("delta", b.delta), ("rss", b.rss_small), ("rss table", b.rss_table),
                 ("restore", b.restore))
        for name, fn in steps:
            try:
                fn()
            except Exception as e:  # one failing still lets the others run
                out("== %s: failed: %s" % (name, e))
                out()
                ok = False
            if pool.p.poll() is not None:
                raise RuntimeError("xapi-sim exited (status %s; see %s/backup-sim.err)" % (pool.p.returncode, OUT_DIR))
        out("(all in %.0f s)" % (time.perf_counter() - t_start))
    except Exception as e:
        out("failed: %s" % e)
        ok = False
    except KeyboardInterrupt:
        out("interrupted")
        ok = False
    finally:
        for p in list(running):
            if p.poll() is None:
                p.kill()
                p.wait()
        if pool is not None:
            pool.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        with open(os.path.join(OUT_DIR, "backup.txt"), "w") as f:
            f.write("\n".join(report) + "\n")
        print("(written to %s/backup.txt)" % OUT_DIR)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
