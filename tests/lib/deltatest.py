"""What the backup tests share (tests/backup/test_backup_*.py): a simulated
pool with a small test VM, its disk written and read through xapi's own
handlers (/import_raw_vdi, /export_raw_vdi), `xentui backup` run against a
configuration in a temporary folder, and readers of what xentui wrote that
do not use xentui: the .json with Python, the VHD chains with libvhdi
(python3-libvhdi) and qemu-img."""
import calendar
import glob
import hashlib
import http.client
import json
import os
import shutil
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import xmlrpc.client

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIM = os.environ.get("XAPI_SIM", os.path.join(ROOT, "build", "san", "xapi-sim"))
XENTUI = os.environ.get("XENTUI", os.path.join(ROOT, "build", "san", "xentui"))
CTX = ssl._create_unverified_context()
MiB = 1024 * 1024
DAY = 86400
T0 = calendar.timegm((2026, 12, 1, 2, 0, 0))

try:
    import pyvhdi  # Debian's python3-libvhdi
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import pyvhdi
    except ImportError:
        pyvhdi = None

_n = 0
_failed = 0


def ok(cond, name, detail=""):
    global _n, _failed
    _n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", _n, name))
    if not cond:
        _failed += 1
        for line in str(detail).splitlines()[:30]:
            print("# " + line)
    sys.stdout.flush()
    return cond


def done():
    """The plan line; the exit status."""
    print("1..%d" % _n)
    return 1 if _failed else 0


def ts(now):
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))


def files_in(top):
    """Every file under top, relative to it, sorted."""
    out = []
    for d, _, files in os.walk(top):
        out += [os.path.relpath(os.path.join(d, f), top) for f in files]
    return sorted(out)


def named_by_points(pts):
    """Paths (relative to the VM's folder) of every file the points name."""
    names = set()
    for t, j in pts.items():
        names.add(t + ".json")
        if j.get("xva"):
            names.add(j["xva"][2:] if j["xva"].startswith("./") else j["xva"])
        for rel in j.get("vhds", {}).values():
            names.add(os.path.normpath(rel))
    return names


class Env:
    """A sim, a test VM with one small disk, a file:// repository and a
    configuration with the given jobs (dicts of extra job settings).
    remotes: more `remotes` entries (dicts of settings, "name" and "url"
    first) after "repo" and "repo2"; extra_env: variables every xentui
    run gets (the remotes' password_env)."""

    def __init__(self, jobs, faults=None, disk_mib=24, vm_name="bktest", remotes=None, extra_env=None,
                 sim_args=("--hosts", "1", "--vms", "2")):
        self.sim_args = list(sim_args)
        self.dir = tempfile.mkdtemp(prefix="xentui-bk-")
        self.remotes = list(remotes or [])
        self.extra_env = dict(extra_env or {})
        self.repo = os.path.join(self.dir, "repo")
        self.repo2 = os.path.join(self.dir, "repo2")
        os.makedirs(self.repo)
        os.makedirs(self.repo2)
        self.vm_name = vm_name
        self.faults = faults
        self.sim_log = open(os.path.join(self.dir, "sim.log"), "w+")
        self.start_sim()
        self.make_vm(disk_mib)
        self.write_config(jobs)

    # ---- the pool ------------------------------------------------------------
    def start_sim(self):
        args = [SIM, "--port", "0"] + self.sim_args + ["--seed", "7"]
        if self.faults:
            args += ["--faults", self.faults]
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.sim_log, text=True)
        deadline = time.time() + 30
        self.url = None
        while time.time() < deadline:
            line = self.p.stdout.readline()
            if not line:
                break
            if line.startswith("xapi-sim listening on "):
                self.url = line.split()[-1]
                break
        if not self.url:
            raise RuntimeError("xapi-sim did not start")
        self.api = xmlrpc.client.ServerProxy(self.url, context=CTX, allow_none=True)
        self.sid = self.v(self.api.session.login_with_password("root", "xapi-sim", "2.21", "deltatest"))

    def v(self, r):
        if r.get("Status") != "Success":
            raise RuntimeError(str(r.get("ErrorDescription")))
        return r.get("Value")

    def call(self, method, *args):
        f = self.api
        for part in method.split("."):
            f = getattr(f, part)
        return self.v(f(self.sid, *args))

    def make_vm(self, disk_mib):
        vms = self.call("VM.get_all_records")
        src = [r for r, x in vms.items() if not x["is_a_template"] and not x["is_a_snapshot"]
               and not x["is_control_domain"]][0]
        vm = self.call("VM.clone", src, self.vm_name)
        for vbd in self.call("VM.get_VBDs", vm):
            rec = self.call("VBD.get_record", vbd)
            self.call("VBD.destroy", vbd)
            if rec["VDI"] != "OpaqueRef:NULL" and rec["type"] == "Disk":
                self.call("VDI.destroy", rec["VDI"])
        pool = list(self.call("pool.get_all_records").values())[0]
        self.sr = pool["default_SR"]
        self.sr_uuid = self.call("SR.get_uuid", self.sr)
        vdi = self.call("VDI.create", {"name_label": "bkdisk", "name_description": "", "SR": self.sr,
                                       "virtual_size": str(disk_mib * MiB), "type": "user", "sharable": False,
                                       "read_only": False, "other_config": {}})
        self.call("VBD.create", {"VM": vm, "VDI": vdi, "userdevice": "0", "bootable": True, "mode": "RW",
                                 "type": "Disk", "empty": False, "other_config": {}, "qos_algorithm_type": "",
                                 "qos_algorithm_params": {}})
        self.vm = vm
        self.vm_uuid = self.call("VM.get_uuid", vm)
        self.vdi_uuid = self.call("VDI.get_uuid", vdi)
        self.disk_size = disk_mib * MiB
        self.model = bytearray(self.disk_size)  # what the disk holds: a new VDI reads as zeros

    def add_disk(self, name, mib, userdevice):
        """Another disk of the VM; its uuid."""
        vdi = self.call("VDI.create", {"name_label": name, "name_description": "", "SR": self.sr,
                                       "virtual_size": str(mib * MiB), "type": "user", "sharable": False,
                                       "read_only": False, "other_config": {}})
        self.call("VBD.create", {"VM": self.vm, "VDI": vdi, "userdevice": userdevice, "bootable": False, "mode": "RW",
                                 "type": "Disk", "empty": False, "other_config": {}, "qos_algorithm_type": "",
                                 "qos_algorithm_params": {}})
        return self.call("VDI.get_uuid", vdi)

    def write(self, off, data, vdi_uuid=None):
        """Writes data at off through PUT /import_raw_vdi (xapi's chunked framing)."""
        body = struct.pack("<QI", off, len(data)) + data + struct.pack("<QI", 0, 0)
        u = urllib.parse.urlparse(self.url)
        c = http.client.HTTPSConnection(u.hostname, u.port, context=CTX, timeout=60)
        c.request("PUT", "/import_raw_vdi?vdi=%s&format=raw&chunked=true&session_id=%s"
                  % (vdi_uuid or self.vdi_uuid, self.sid), body=body, headers={"Content-Length": str(len(body))})
        r = c.getresponse()
        r.read()
        c.close()
        if r.status != 200:
            raise RuntimeError("import_raw_vdi: %d" % r.status)
        if (vdi_uuid or self.vdi_uuid) == self.vdi_uuid:
            self.model[off:off + len(data)] = data

    def read(self, vdi_uuid=None):
        """The disk's bytes through GET /export_raw_vdi?format=raw."""
        u = urllib.parse.urlparse(self.url)
        c = http.client.HTTPSConnection(u.hostname, u.port, context=CTX, timeout=120)
        c.request("GET", "/export_raw_vdi?vdi=%s&format=raw&session_id=%s" % (vdi_uuid or self.vdi_uuid, self.sid))
        r = c.getresponse()
        d = r.read()
        c.close()
        if r.status != 200:
            raise RuntimeError("export_raw_vdi: %d" % r.status)
        return d

    def change(self, seed, blocks=3):
        """Writes a few blocks of seeded bytes; returns the disk's content
        (kept here as written, so no read uses up a fault aimed at xentui)."""
        rnd = hashlib.sha256(str(seed).encode()).digest()
        for i in range(blocks):
            off = (rnd[i] % (self.disk_size // MiB)) * MiB + rnd[i + 8] * 512
            data = hashlib.sha256(rnd + bytes([i])).digest() * (4096 // 32 * (1 + rnd[i + 16] % 64))
            data = data[: max(0, min(len(data), self.disk_size - off))]
            self.write(off, data)
        return bytes(self.model)

    def vms_named(self, name):
        return [r for r, x in self.call("VM.get_all_records").items() if x["name_label"] == name]

    def disks_of(self, vm_uuid):
        vm = self.call("VM.get_by_uuid", vm_uuid)
        out = []
        for vbd in self.call("VM.get_VBDs", vm):
            rec = self.call("VBD.get_record", vbd)
            if rec["type"] == "Disk" and rec["VDI"] != "OpaqueRef:NULL":
                out.append(self.call("VDI.get_uuid", rec["VDI"]))
        return out

    def job_snapshots(self, job_id=None):
        out = []
        for s in self.call("VM.get_snapshots", self.vm):
            oc = self.call("VM.get_other_config", s)
            if "xo:backup:job" in oc and (job_id is None or oc["xo:backup:job"] == job_id):
                out.append(oc)
        return out

    # ---- xentui ------------------------------------------------------------------
    def write_config(self, jobs):
        self.jobs = jobs
        js = []
        for j in jobs:
            j = dict(j)
            remotes = j.pop("remotes", ["repo"])
            body = "".join('    %s = %s;\n' % (k, json.dumps(v) if not isinstance(v, bool) else str(v).lower())
                           for k, v in j.items())
            js.append('  {\n    server = "sim";\n    remotes = %s;\n    vms = ["%s"];\n%s  }'
                      % (json.dumps(remotes), self.vm_name, body))
        self.config = os.path.join(self.dir, "xentui.conf")
        with open(self.config, "w") as f:
            f.write('servers = ( { name = "sim"; url = "%s"; user = "root"; password_env = "XENTUI_PW"; '
                    'insecure = true; } );\n' % self.url)
            more = "".join(", { %s }" % " ".join("%s = %s;" % (k, json.dumps(v) if not isinstance(v, bool)
                                                                else str(v).lower()) for k, v in r.items())
                           for r in self.remotes)
            f.write('remotes = ( { name = "repo"; url = "file://%s"; }, { name = "repo2"; url = "file://%s"; }%s );\n'
                    % (self.repo, self.repo2, more))
            f.write("backup_jobs = (\n%s\n);\n" % ",\n".join(js))

    def env(self, now=None):
        e = dict(os.environ)
        e["XENTUI_PW"] = "xapi-sim"
        e["XDG_CONFIG_HOME"] = os.path.join(self.dir, "config")
        e["XDG_STATE_HOME"] = os.path.join(self.dir, "state")
        e["HOME"] = self.dir
        e.update(self.extra_env)
        if now is not None:
            e["XENTUI_NOW"] = str(int(now))
        return e

    def xentui(self, *args, now=None, timeout=120):
        return _retry(lambda: subprocess.run([XENTUI, "backup", *args, "-c", self.config], capture_output=True,
                                             text=True, timeout=timeout, env=self.env(now), stdin=subprocess.DEVNULL))

    def popen(self, *args, now=None):
        """In a process group of its own: killpg stops its workers too."""
        return _retry(lambda: subprocess.Popen([XENTUI, "backup", *args, "-c", self.config], stdout=subprocess.PIPE,
                                               stderr=subprocess.PIPE, text=True, env=self.env(now),
                                               stdin=subprocess.DEVNULL, start_new_session=True))

    def run(self, job, now):
        return self.xentui("run", job, now=now)

    def restore(self, at=None, name="restored", start=False, remote="repo"):
        """Restores a point as a new VM named name; its disk's bytes, or None."""
        args = ["restore", remote, self.vm_uuid, "--sr", self.sr_uuid, "--name", name]
        if at:
            args += ["--at", at]
        if start:
            args += ["--start"]
        r = self.xentui(*args, "sim")
        vms = self.vms_named(name)
        if r.returncode != 0 or len(vms) != 1:
            return None, r
        disks = self.disks_of(self.call("VM.get_uuid", vms[0]))
        return (self.read(disks[0]) if disks else b""), r

    def verify(self, remote="repo"):
        return self.xentui("verify", remote, self.vm_uuid)

    # ---- the repository, read without xentui ----------------------------------------
    def vmdir(self, top=None):
        """The VM's folder in the repository at top (a local folder; default "repo")."""
        return os.path.join(top or self.repo, "xo-vm-backups", self.vm_uuid)

    def points(self, job=None, top=None):
        """{ts: json} of the complete points (job: only that job's, by name)."""
        out = {}
        for f in sorted(glob.glob(os.path.join(self.vmdir(top), "*.json"))):
            try:
                with open(f) as fh:
                    j = json.load(fh)
            except ValueError:
                continue
            if job is None or j.get("xentui", {}).get("job") == job:
                out[os.path.basename(f)[:-5]] = j
        return out

    def files_whole(self, j, top=None):
        """None when every file the point records has its size and SHA-256, else why."""
        for rel, meta in j.get("xentui", {}).get("files", {}).items():
            p = os.path.join(self.vmdir(top), rel[2:] if rel.startswith("./") else rel)
            if not os.path.exists(p):
                return "%s is missing" % rel
            with open(p, "rb") as fh:
                d = fh.read()
            if len(d) != meta["size"] or hashlib.sha256(d).hexdigest() != meta["sha256"]:
                return "%s differs from its record" % rel
        return None

    def chain_bytes(self, vhd_path):
        """The disk a VHD chain holds, read by libvhdi (parents by locator)."""
        if pyvhdi is None:
            return None
        files = []
        path = vhd_path
        while True:
            f = pyvhdi.file()
            f.open(path)
            files.append(f)
            if f.get_disk_type() != 4:
                break
            name = f.get_parent_filename()
            path = os.path.join(os.path.dirname(path), name.replace("\\", "/").split("/")[-1])
        for i in range(len(files) - 1):
            files[i].set_parent(files[i + 1])
        top = files[0]
        top.seek(0)
        d = top.read(top.get_media_size())
        for f in files:
            f.close()
        return d

    def qemu_info(self, path):
        r = subprocess.run(["qemu-img", "info", "--output=json", path], capture_output=True, text=True)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def qemu_raw(self, path):
        out = os.path.join(self.dir, "qemu.raw")
        r = subprocess.run(["qemu-img", "convert", "-f", "vpc", "-O", "raw", path, out], capture_output=True)
        if r.returncode != 0:
            return None
        with open(out, "rb") as f:
            d = f.read()
        os.unlink(out)
        return d

    def close(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.sim_log.seek(0)
        bad = [l for l in self.sim_log.read().splitlines() if "Sanitizer" in l or "runtime error" in l]
        self.sim_log.close()
        ok(not bad, "xapi-sim's stderr has no sanitizer report", "\n".join(bad))
        shutil.rmtree(self.dir, ignore_errors=True)



class SecondPool(Env):
    """A second sim process, another pool for replication: only its pool, no test VM."""

    def __init__(self, log_dir):  # noqa: D107 (a pool, not Env's whole set-up)
        self.sim_args = ["--hosts", "1", "--vms", "1"]
        self.faults = None
        self.dir = log_dir
        self.sim_log = open(os.path.join(log_dir, "sim2.log"), "w+")
        self.start_sim()
        pool = list(self.call("pool.get_all_records").values())[0]
        self.sr = pool["default_SR"]
        self.sr_uuid = self.call("SR.get_uuid", self.sr)

    def stop(self):
        """Stops it and says whether its stderr stayed clean (the folder is the first pool's)."""
        if self.p.poll() is None:
            self.p.terminate()
            self.p.wait(10)
        self.sim_log.seek(0)
        bad = [ln for ln in self.sim_log.read().splitlines() if "Sanitizer" in ln or "runtime error" in ln]
        self.sim_log.close()
        ok(not bad, "the second xapi-sim's stderr has no sanitizer report", "\n".join(bad))

def _retry(start):
    """Starts a program, waiting out a build that is relinking it."""
    for _ in range(30):
        try:
            return start()
        except (PermissionError, OSError) as e:
            if getattr(e, "errno", None) not in (13, 26):
                raise
            time.sleep(1)
    return start()


def sanitizer_clean(r):
    """No sanitizer report in a finished xentui's stderr."""
    return "Sanitizer" not in r.stderr and "runtime error" not in r.stderr
