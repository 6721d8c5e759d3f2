"""`xentui vm export` and `xentui vm import` against xapi-sim (TLS, the
certificate pinned): a halted VM exported (zstd, gzip, none) to a file that
is a whole XVA whose disks equal the sim's VDI bytes (read back through
/export_raw_vdi), imported back as a new VM with equal disks; a running VM
exported through a snapshot that is gone afterwards; an existing file kept
without --force; a file that is no XVA and a cut one refused in a sentence
with the pool's VM and VDI counts unchanged; an export stopped midway leaving
neither the file nor its .partial. TAP output."""
import gzip
import hashlib
import io
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
from simtest import CTX, ROOT, ok, plan, start, stop_all, value  # noqa: E402

XENTUI = os.environ.get("XENTUI", os.path.join(ROOT, "build", "san", "xentui"))
TMP = tempfile.mkdtemp(prefix="xentui-vmfile-")
ENV = dict(os.environ, XDG_STATE_HOME=os.path.join(TMP, "state"), XDG_CONFIG_HOME=os.path.join(TMP, "cfg"))
MiB = 1 << 20


def fingerprint(url):
    host, port = url.split("//")[1].split(":")
    pem = ssl.get_server_certificate((host, int(port)))
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


class Conn:
    def __init__(self, url):
        self.url = url
        self.px = xmlrpc.client.ServerProxy(url, context=CTX)
        self.sid = value(self.px, "session.login_with_password", "root", "xapi-sim", "2.21", "test")

    def __call__(self, method, *args):
        return value(self.px, method, self.sid, *args)

    def vdi_bytes(self, vdi):
        u = "%s/export_raw_vdi?session_id=%s&vdi=%s&format=raw" % (self.url, self.sid, vdi)
        with urllib.request.urlopen(u, context=CTX, timeout=60) as r:
            return r.read()

    def disks(self, vm):
        """The VM's disk VDIs by userdevice."""
        out = {}
        for vbd in self("VM.get_VBDs", vm):
            v = self("VBD.get_record", vbd)
            if v["type"] == "Disk" and v["VDI"] != "OpaqueRef:NULL":
                out[v["userdevice"]] = v["VDI"]
        return out

    def counts(self):
        vms = self("VM.get_all_records")
        return len(vms), len(self("VDI.get_all_records"))


def put_raw(c, vdi, data):
    u = "%s/import_raw_vdi?session_id=%s&vdi=%s&format=raw" % (c.url, c.sid, vdi)
    req = urllib.request.Request(u, data=data, method="PUT")
    urllib.request.urlopen(req, context=CTX, timeout=120).read()


def small_disks(c, vm, sr, specs):
    """Replaces the halted VM's disks with small ones: (name, size, MiB
    blocks holding random bytes; the others zeros)."""
    for vbd in c("VM.get_VBDs", vm):
        if c("VBD.get_type", vbd) == "Disk":
            c("VBD.destroy", vbd)
    for i, (name, size, full) in enumerate(specs):
        vdi = c("VDI.create", {
            "name_label": name, "name_description": "", "SR": sr, "virtual_size": str(size), "type": "user",
            "sharable": False, "read_only": False, "other_config": {}, "xenstore_data": {}, "sm_config": {},
            "tags": []})
        put_raw(c, vdi, b"".join(os.urandom(MiB) if k in full else b"\0" * MiB for k in range(size // MiB)))
        c("VBD.create", {"VM": vm, "VDI": vdi, "userdevice": str(i), "bootable": i == 0, "mode": "RW",
                         "type": "Disk", "unpluggable": True, "empty": False, "other_config": {},
                         "qos_algorithm_type": "", "qos_algorithm_params": {}})
    return c.disks(vm)


def xentui(*args, timeout=120):
    p = subprocess.run([XENTUI, "vm", *args], capture_output=True, text=True, timeout=timeout, env=ENV)
    return p.returncode, p.stdout, p.stderr


def tar_of(raw):
    if raw[:2] == b"\x1f\x8b":
        return "gzip", gzip.decompress(raw)
    if raw[:4] == b"\x28\xb5\x2f\xfd":
        return "zstd", subprocess.run(["zstd", "-dc"], input=raw, capture_output=True, check=True).stdout
    return "none", raw


def xva_disks(raw):
    """Ref id -> the disk's bytes as the XVA holds them (1 MiB chunks, zero
    chunks left out), and the members' names."""
    kind, plain = tar_of(raw)
    chunks, names = {}, []
    with tarfile.open(fileobj=io.BytesIO(plain), mode="r:") as t:
        for m in t.getmembers():
            names.append(m.name)
            mm = re.fullmatch(r"(Ref:[^/]+)/(\d{8})", m.name)
            if mm:
                chunks.setdefault(mm.group(1), {})[int(mm.group(2))] = t.extractfile(m).read()
    disks = {}
    for ref, cs in chunks.items():
        last = max(cs)
        disks[ref] = b"".join(cs.get(i, b"\0" * MiB) for i in range(last + 1))
    return kind, disks, names


def main():
    url = start("--vms", "8")
    fp = fingerprint(url)
    c = Conn(url)
    conn = ["--fingerprint", fp, "--password-env", "SIMPW", url]
    ENV["SIMPW"] = "xapi-sim"
    recs = c("VM.get_all_records")
    guests = {r: v for r, v in recs.items()
              if not v["is_a_template"] and not v["is_control_domain"] and not v["is_a_snapshot"] and c.disks(r)}
    halted = sorted((v["name_label"], r) for r, v in guests.items() if v["power_state"] == "Halted")
    ok(len(halted) >= 2, "the pool has two halted VMs with disks", halted)
    name, vm = halted[0]
    uuid = recs[vm]["uuid"]
    sr = c("VDI.get_SR", list(c.disks(vm).values())[0])
    sr_uuid = c("SR.get_uuid", sr)
    # small disks of known bytes (the sim's own are tens of GiB, mostly zeros)
    small_disks(c, vm, sr, [("a", 5 * MiB, [0, 1, 4]), ("b", 3 * MiB, [2])])
    rname, rvm = halted[1]
    small_disks(c, rvm, sr, [("c", 4 * MiB, [0, 3])])
    c("VM.start", rvm, False, False)
    want = {dev: c.vdi_bytes(vdi) for dev, vdi in c.disks(vm).items()}

    # ---- export a halted VM, three ways -----------------------------------------------
    files = {}
    for comp in ("zstd", "gzip", "none"):
        path = os.path.join(TMP, "vm-%s.xva" % comp)
        t0 = time.time()
        rc, out, err = xentui("export", uuid, path, "--compress", comp, *conn)
        ok(rc == 0 and os.path.exists(path), "export --compress %s: exit 0, the file is there" % comp, out + err)
        ok(not os.path.exists(path + ".partial"), "no .partial is left (%s)" % comp)
        if not os.path.exists(path):
            continue
        raw = open(path, "rb").read()
        kind, disks, names = xva_disks(raw)
        ok(kind == comp, "the file is %s-compressed as asked" % comp, kind)
        ok(names and names[0] == "ova.xml", "its first member is ova.xml (an XVA)", names[:3])
        got = sorted(d.rstrip(b"\0") for d in disks.values())
        exp = sorted(d.rstrip(b"\0") for d in want.values())
        ok(got == exp, "the XVA's disks equal the sim's VDI bytes (%s, %d disks, %.1f s)" % (comp, len(want),
                                                                                          time.time() - t0))
        files[comp] = path

    # ---- an existing file is kept without --force ---------------------------------------
    keep = os.path.join(TMP, "keep.xva")
    with open(keep, "wb") as f:
        f.write(b"precious")
    rc, out, err = xentui("export", uuid, keep, *conn)
    ok(rc == 1 and "exists" in err and "--force" in err, "an existing file is refused without --force", err)
    ok(open(keep, "rb").read() == b"precious", "the existing file is untouched")
    rc, out, err = xentui("export", name, keep, "--force", *conn)
    ok(rc == 0 and open(keep, "rb").read(4) == b"\x28\xb5\x2f\xfd", "with --force (VM by name) it is replaced", err)

    # ---- import it back ---------------------------------------------------------------
    before = c.counts()
    for comp in ("zstd", "gzip"):
        if comp not in files:
            continue
        rc, out, err = xentui("import", files[comp], "--sr", sr_uuid, *conn)
        new_uuid = out.strip()
        ok(rc == 0 and re.fullmatch(r"[0-9a-f-]{36}", new_uuid or ""), "import (%s): exit 0, the new VM's UUID" % comp,
           out + err)
        if rc != 0:
            continue
        new = c("VM.get_by_uuid", new_uuid)
        rec = c("VM.get_record", new)
        ok(new != vm and rec["name_label"] == name and not rec["is_a_template"], "a new VM named as the old one",
           (rec["name_label"], rec["is_a_template"]))
        nd = c.disks(new)
        ok(sorted(nd) == sorted(want) and all(c.vdi_bytes(nd[d]) == want[d] for d in want),
           "its disks equal the original's, byte for byte (%s)" % comp)
        ok(all(c("VDI.get_SR", v) == sr for v in nd.values()), "its disks are on the SR asked for")
        c("VM.destroy", new)
        for v in nd.values():
            c("VDI.destroy", v)
    ok(c.counts() == before, "after removing the imports the counts are as before", (c.counts(), before))

    # ---- a running VM, through a snapshot ------------------------------------------------
    snaps_before = set(c("VM.get_snapshots", rvm))
    counts_before = c.counts()
    path = os.path.join(TMP, "running.xva")
    rc, out, err = xentui("export", rname, path, "--compress", "gzip", *conn)
    ok(rc == 0 and "through a snapshot" in out, "a running VM exports (through a snapshot)", out + err)
    ok(set(c("VM.get_snapshots", rvm)) == snaps_before and c.counts() == counts_before,
       "the snapshot and its disks are gone afterwards", (c.counts(), counts_before))
    if rc == 0:
        rwant = sorted(c.vdi_bytes(v).rstrip(b"\0") for v in c.disks(rvm).values())
        kind, disks, names = xva_disks(open(path, "rb").read())
        ok(sorted(d.rstrip(b"\0") for d in disks.values()) == rwant, "its disks equal the running VM's")
        rc, out, err = xentui("import", path, "--sr", sr_uuid, "--start", *conn)
        ok(rc == 0, "the running VM's export imports, --start", out + err)
        if rc == 0:
            rec = c("VM.get_record", c("VM.get_by_uuid", out.strip()))
            ok(not rec["is_a_template"] and not rec["is_a_snapshot"] and rec["power_state"] == "Running"
               and "xentui:export" not in rec["other_config"],
               "it is a VM (not a template), running, unmarked", (rec["is_a_template"], rec["power_state"]))

    # ---- refusals: nothing left on the pool ------------------------------------------------
    counts = c.counts()
    junk = os.path.join(TMP, "junk.xva")
    with open(junk, "wb") as f:
        f.write(os.urandom(3 * MiB))
    rc, out, err = xentui("import", junk, "--sr", sr_uuid, *conn)
    ok(rc == 1 and "not an XVA" in err and err.count("\n") == 1, "a file that is no XVA is refused in a sentence", err)
    ok(c.counts() == counts, "nothing is left on the pool (VM and VDI counts)", (c.counts(), counts))
    if "none" in files:
        raw = open(files["none"], "rb").read()
        for cut_at, what in ((len(raw) // 2, "cut in the middle"), (len(raw) - 1024, "missing the tar's end")):
            cut = os.path.join(TMP, "cut.xva")
            with open(cut, "wb") as f:
                f.write(raw[:cut_at])
            rc, out, err = xentui("import", cut, "--sr", sr_uuid, *conn)
            ok(rc == 1 and "cut short" in err, "a file %s is refused in a sentence" % what, err)
            ok(c.counts() == counts, "nothing is left on the pool (%s)" % what, (c.counts(), counts))
    if "zstd" in files:
        raw = open(files["zstd"], "rb").read()
        cut = os.path.join(TMP, "cutz.xva")
        with open(cut, "wb") as f:
            f.write(raw[:len(raw) * 2 // 3])
        rc, out, err = xentui("import", cut, "--sr", sr_uuid, *conn)
        ok(rc == 1 and "cut short" in err, "a cut zstd file is refused", err)
        ok(c.counts() == counts, "nothing is left on the pool (cut zstd)", (c.counts(), counts))

    # ---- stopped midway: no file, no .partial, no snapshot --------------------------------
    big = c("VDI.create", {
        "name_label": "big", "name_description": "", "SR": sr, "virtual_size": str(256 * MiB), "type": "user",
        "sharable": False, "read_only": False, "other_config": {}, "xenstore_data": {}, "sm_config": {}, "tags": []})
    put_raw(c, big, os.urandom(256 * MiB))
    c("VBD.create", {"VM": vm, "VDI": big, "userdevice": "5", "bootable": False, "mode": "RW", "type": "Disk",
                     "unpluggable": True, "empty": False, "other_config": {}, "qos_algorithm_type": "",
                     "qos_algorithm_params": {}})
    stopped = os.path.join(TMP, "stopped.xva")
    p = subprocess.Popen([XENTUI, "vm", "export", uuid, stopped, "--compress", "none", "--progress-lines", *conn],
                         stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=ENV, text=True)
    seen = ""
    for line in p.stderr:
        seen = line
        m = re.match(r"@progress export (\d+) (\d+)", line)
        if m and int(m.group(1)) > 8 * MiB:
            p.send_signal(signal.SIGTERM)
            break
    rest = p.stderr.read()
    rc = p.wait(timeout=60)
    ok(rc == 1 and "stopped" in rest, "SIGTERM stops an export midway (exit 1, said)", seen + rest)
    ok(not os.path.exists(stopped) and not os.path.exists(stopped + ".partial"),
       "neither the file nor its .partial is left", os.listdir(TMP))

    # ---- stopped midway through an import: no VM, no disk ---------------------------------
    whole = os.path.join(TMP, "whole.xva")
    rc, out, err = xentui("export", uuid, whole, "--compress", "none", *conn)
    ok(rc == 0, "the VM with its 256 MiB disk exports whole", err)
    counts = c.counts()
    p = subprocess.Popen([XENTUI, "vm", "import", whole, "--sr", sr_uuid, "--progress-lines", *conn],
                         stderr=subprocess.PIPE, stdout=subprocess.PIPE, env=ENV, text=True)
    for line in p.stderr:
        m = re.match(r"@progress import (\d+) (\d+)", line)
        if m and int(m.group(1)) > 8 * MiB:
            p.send_signal(signal.SIGTERM)
            break
    rest = p.stderr.read()
    out = p.stdout.read()
    rc = p.wait(timeout=60)
    ok(rc == 1 and "stopped" in rest and not out.strip(), "SIGTERM stops an import midway (exit 1, said)", rest)
    try:
        wait_for(lambda: c.counts() == counts, 20)
        ok(True, "no VM and no disk are left on the pool")
    except TimeoutError:
        ok(False, "no VM and no disk are left on the pool", (c.counts(), counts))

    # ---- memory stays small whatever the size ------------------------------------------
    rss = max_rss_kib([XENTUI, "vm", "export", uuid, os.path.join(TMP, "rss.xva"), "--compress", "none", *conn])
    ok(rss is not None and rss < 100 * 1024, "exporting 256 MiB of disk takes %s MiB of memory at most (with ASan)"
       % (rss // 1024 if rss else "?"))
    rss = max_rss_kib([XENTUI, "vm", "import", whole, "--sr", sr_uuid, *conn])
    ok(rss is not None and rss < 100 * 1024, "importing it takes %s MiB of memory at most (with ASan)"
       % (rss // 1024 if rss else "?"))

    # ---- the host fails midway: nothing is kept --------------------------------------------
    url2 = start("--vms", "4", "--faults", "cut=400000:/export,cut=400000:/import")
    c2 = Conn(url2)
    conn2 = ["--fingerprint", fingerprint(url2), "--password-env", "SIMPW", url2]
    vm2 = next(r for r, v in c2("VM.get_all_records").items()
               if v["power_state"] == "Halted" and not v["is_a_template"] and not v["is_control_domain"]
               and not v["is_a_snapshot"] and c2.disks(r))
    sr2 = c2("VDI.get_SR", list(c2.disks(vm2).values())[0])
    small_disks(c2, vm2, sr2, [("d", 4 * MiB, [0, 1, 2, 3])])
    cut = os.path.join(TMP, "hostcut.xva")
    rc, out, err = xentui("export", c2("VM.get_uuid", vm2), cut, "--compress", "none", *conn2)
    ok(rc == 1 and err.count("\n") == 1, "an export the host cuts short fails in a sentence", err)
    ok(not os.path.exists(cut) and not os.path.exists(cut + ".partial"), "and leaves no file nor .partial")
    counts2 = c2.counts()
    rc, out, err = xentui("import", files.get("none", whole), "--sr", c2("SR.get_uuid", sr2), *conn2)
    ok(rc == 1 and err.count("\n") == 1, "an import the host cuts short fails in a sentence", err)
    ok(c2.counts() == counts2, "and leaves no VM and no disk (counts read back)", (c2.counts(), counts2))


def wait_for(pred, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise TimeoutError()


# forks from a small process: a child of this test would count the test's own pages
RSS_WRAPPER = """import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, ru = os.wait4(pid, 0)
print(ru.ru_maxrss if os.waitstatus_to_exitcode(status) == 0 else -1)
"""


def max_rss_kib(argv):
    """The peak resident memory of a command (KiB), or None if it failed."""
    # ASan keeps freed blocks in a quarantine (256 MiB by default): not ours to count
    env = dict(ENV, ASAN_OPTIONS="quarantine_size_mb=1:" + os.environ.get("ASAN_OPTIONS", ""))
    p = subprocess.run([sys.executable, "-c", RSS_WRAPPER, *argv], env=env, capture_output=True, text=True,
                       timeout=120)
    lines = p.stdout.strip().splitlines()
    kib = int(lines[-1]) if lines and lines[-1].lstrip("-").isdigit() else -1
    if kib <= 0:
        print("# " + (p.stdout + p.stderr).replace("\n", "\n# "))
    return kib if kib > 0 else None


try:
    main()
finally:
    stop_all()
    shutil.rmtree(TMP, ignore_errors=True)
sys.exit(plan())
