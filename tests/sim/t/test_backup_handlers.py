#!/usr/bin/env python3
"""What a backup engine needs from xapi-sim, each checked on its own (TAP):
1. GET /export?use_compression=zstd (and gzip) decompresses to an XVA whose
   chunks carry matching XXH64 .xxhash members; PUT /import takes zstd.
2. VM.snapshot's ignore_vdis leaves disks out (the 3-argument form too);
   a snapshot's disks keep their bytes when the VM's disk is written later.
3. task_id= on /export, /export_raw_vdi, /import, /import_raw_vdi and
   /pool/xmldbdump drives that task (progress, status, result).
4. --faults cut=BYTES:/path cuts a transfer after the 200: the body stops,
   the task fails (VDI_IO_ERROR / INTERNAL_ERROR), /import leaves nothing
   behind, an existing VDI stays; RPC rules beside it still work.
5. /export_raw_vdi?format=vhd&base= between two snapshots holds only the
   blocks written in between, by raw, chunked and vhd /import_raw_vdi.
6. A restore as Xen Orchestra makes it: VM.create from a record, VDI.create,
   VBD.create, VIF.create, the disk through /import_raw_vdi?format=vhd,
   VM.start; task.create, get_record, destroy.
7. other_config:content_of=pattern:EVERY:SEED gives a big VDI data cheaply.
Python's http.client / sockets for HTTP, xmlrpc through simtest."""
import gzip
import http.client
import io
import os
import random
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tarfile
import time
import urllib.parse
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "lib"))
sys.path.insert(0, HERE)
from simtest import CTX, SIM, call, ok, plan, start, stop_all  # noqa: E402
from test_http_data import xxh64  # noqa: E402  (XXH64 written out in Python)

MiB = 1024 * 1024
DISK = 16 * MiB
BLOCK = 2 * MiB  # a VHD block


class Pool:
    """One sim: its URL, an XML-RPC proxy and a session."""

    def __init__(self, url):
        self.url = url
        u = urllib.parse.urlparse(url)
        self.tls = u.scheme == "https"
        self.host, self.port = u.hostname, u.port
        self.px = xmlrpc.client.ServerProxy(url, context=CTX if self.tls else None, allow_none=True)
        self.s = self.v("session.login_with_password", "root", "xapi-sim", "2.21", "test_backup_handlers")

    def v(self, method, *args):
        st, val = call(self.px, method, *args)
        if st != "ok":
            raise RuntimeError("%s: %s" % (method, val))
        return val

    def api(self, method, *args):
        return self.v(method, self.s, *args)

    def try_api(self, method, *args):
        return call(self.px, method, self.s, *args)

    def q(self, path, **kw):
        kw.setdefault("session_id", self.s)
        return path + "?" + urllib.parse.urlencode(kw)

    def conn(self):
        if self.tls:
            return http.client.HTTPSConnection(self.host, self.port, context=CTX, timeout=60)
        return http.client.HTTPConnection(self.host, self.port, timeout=60)

    def get(self, path):
        """(status, headers, body) of a GET read to EOF."""
        c = self.conn()
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, r.headers, body

    def put(self, path, body):
        c = self.conn()
        c.request("PUT", path, body=body, headers={"Content-Length": str(len(body))})
        r = c.getresponse()
        r.read()
        c.close()
        return r.status, r.headers

    def raw(self, method, path, body=b""):
        """A request on a bare socket, tolerant of a server that stops
        reading or writing: (status, headers dict, body bytes)."""
        sock = socket.create_connection((self.host, self.port), timeout=60)
        if self.tls:
            sock = CTX.wrap_socket(sock, server_hostname=self.host)
        head = "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n" % (method, path, self.host, len(body))
        got = b""
        try:
            sock.sendall(head.encode())
            for i in range(0, len(body), 65536):
                sock.sendall(body[i:i + 65536])
        except OSError:
            pass  # the server stopped reading: expected for a cut upload
        try:
            while True:
                chunk = sock.recv(1 << 20)
                if not chunk:
                    break
                got += chunk
        except (OSError, ssl.SSLError):
            pass  # a cut: no orderly close
        sock.close()
        if b"\r\n\r\n" not in got:
            return 0, {}, b""
        head, rest = got.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        hdrs = {}
        for line in lines[1:]:
            k, _, val = line.partition(":")
            hdrs[k.strip().lower()] = val.strip()
        return int(lines[0].split()[1]), hdrs, rest

    def task(self, label="backup test"):
        return self.api("task.create", label, "")

    def wait(self, task, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            rec = self.api("task.get_record", task)
            if rec["status"] not in ("pending", "cancelling"):
                return rec
            time.sleep(0.05)
        return self.api("task.get_record", task)

    def sr(self):
        return next(iter(self.api("pool.get_all_records").values()))["default_SR"]


def refs_in(result):
    """The refs in a task result (<value>OpaqueRef:..</value> or an array of them)."""
    if not result:
        return []
    v = xmlrpc.client.loads("<?xml version='1.0'?><methodResponse><params><param>%s</param></params>"
                            "</methodResponse>" % result)[0][0]
    return v if isinstance(v, list) else [v]


def pattern(seed, size):
    rnd = random.Random(seed)
    return rnd.randbytes(size)


def make_vdi(p, size, name):
    return p.api("VDI.create", {"name_label": name, "name_description": "", "SR": p.sr(), "virtual_size": str(size),
                                "type": "user", "sharable": False, "read_only": False, "other_config": {},
                                "xenstore_data": {}, "sm_config": {}, "tags": []})


def attach(p, vm, vdi, userdevice):
    return p.api("VBD.create", {"VM": vm, "VDI": vdi, "userdevice": userdevice, "bootable": userdevice == "0",
                                "mode": "RW", "type": "Disk", "unpluggable": False, "empty": False,
                                "other_config": {}, "qos_algorithm_type": "", "qos_algorithm_params": {}})


def write_raw(p, vdi, data, **kw):
    t = p.task("write")
    st, _ = p.put(p.q("/import_raw_vdi", vdi=vdi, format="raw", task_id=t, **kw), data)
    rec = p.wait(t)
    if st != 200 or rec["status"] != "success":
        raise RuntimeError("import_raw_vdi: %s %s" % (st, rec["error_info"]))


def read_raw(p, vdi):
    st, _, body = p.get(p.q("/export_raw_vdi", vdi=vdi, format="raw"))
    return body if st == 200 else None


def test_vm(p, name):
    """A halted VM (cloned from the pool's, its disks replaced) with two
    disks of known bytes: (vm, [vdi0, vdi1], [data0, data1])."""
    vms = p.api("VM.get_all_records")
    src = next(r for r, v in sorted(vms.items()) if v["power_state"] == "Halted" and not v["is_a_template"]
               and not v["is_control_domain"] and not v["is_a_snapshot"] and v["VIFs"])
    vm = p.api("VM.clone", src, name)
    for vbd in p.api("VM.get_VBDs", vm):
        if p.api("VBD.get_type", vbd) == "Disk":
            disk = p.api("VBD.get_VDI", vbd)
            p.api("VBD.destroy", vbd)
            p.api("VDI.destroy", disk)
    vdis, datas = [], []
    for i, size in enumerate((DISK, 4 * MiB)):
        vdi = make_vdi(p, size, "%s disk %d" % (name, i))
        data = pattern(hash(name) % 1000 + i, size)
        # some zero stretches, so sparseness shows
        data = data[:3 * MiB] + bytes(2 * MiB) + data[5 * MiB:] if size > 5 * MiB else data
        write_raw(p, vdi, data)
        attach(p, vm, vdi, str(i))
        vdis.append(vdi)
        datas.append(data)
    return vm, vdis, datas


def tar_members(tar_bytes):
    tf = tarfile.open(fileobj=io.BytesIO(tar_bytes))
    return [(m.name, tf.extractfile(m).read()) for m in tf.getmembers()]


def ova(xml):
    return xmlrpc.client.loads("<?xml version='1.0'?><methodResponse><params><param>%s</param></params>"
                               "</methodResponse>" % xml.decode())[0][0]


def disk_chunks(ms, size_wanted):
    """{chunk index: bytes} of the disk of that virtual size in an XVA."""
    hdr = ova(ms[0][1])
    did = next(o["id"] for o in hdr["objects"] if o["class"] == "VDI"
               and o["snapshot"]["virtual_size"] == str(size_wanted))
    return {int(n.split("/")[1]): d for n, d in ms[1:] if n.startswith(did + "/") and not n.endswith(".xxhash")}


def rebuild(chunks, size):
    out = bytearray(size)
    for i, d in chunks.items():
        out[i * MiB:i * MiB + len(d)] = d
    return bytes(out)


# ---- 1. zstd ---------------------------------------------------------------------

def test_zstd(p):
    vm, vdis, datas = test_vm(p, "zstd export")
    zstd = shutil.which("zstd")
    t = p.task("export zstd")
    st, h, body = p.get(p.q("/export", ref=vm, use_compression="zstd", task_id=t))
    rec = p.wait(t)
    ok(st == 200 and body[:4] == b"\x28\xb5\x2f\xfd" and rec["status"] == "success",
       "export use_compression=zstd: 200, a zstd frame, the task succeeds", (st, body[:8], rec["error_info"]))
    if not ok(zstd is not None, "the zstd command is installed (scripts/install-deps)"):
        return
    dec = subprocess.run([zstd, "-dc"], input=body, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ok(dec.returncode == 0, "zstd -dc decompresses the export", dec.stderr[-500:])
    ms = tar_members(dec.stdout)
    ok(ms and ms[0][0] == "ova.xml", "the decompressed XVA starts with ova.xml", [m[0] for m in ms[:3]])
    sums = dict(ms)
    chunks = [(n, d) for n, d in ms[1:] if not n.endswith(".xxhash") and not n.endswith(".checksum")]
    bad = [n for n, d in chunks if sums.get(n + ".xxhash") != ("%016X" % xxh64(d)).encode()]
    ok(chunks and not bad, "every chunk of the zstd export has a matching XXH64 .xxhash (%d chunks)" % len(chunks),
       bad[:5])
    ok(rebuild(disk_chunks(ms, DISK), DISK) == datas[0] and rebuild(disk_chunks(ms, 4 * MiB), 4 * MiB) == datas[1],
       "the zstd export holds both disks' bytes")
    plain_names = [n for n, _ in ms]

    st, h, gz = p.get(p.q("/export", ref=vm, use_compression="gzip"))
    gms = tar_members(gzip.decompress(gz)) if st == 200 and gz[:2] == b"\x1f\x8b" else []
    ok([n.split("/", 1)[-1] for n, _ in gms] == [n.split("/", 1)[-1] for n in plain_names],
       "use_compression=gzip gives the same members, gzip'd")

    before = set(p.api("VM.get_all"))
    t = p.task("import zstd")
    st, h = p.put(p.q("/import", sr_id=p.sr(), task_id=t), body)
    rec = p.wait(t)
    new = [r for r in refs_in(rec["result"]) if r not in before]
    ok(st == 200 and h.get("task-id", "").strip() == t and rec["status"] == "success" and len(new) == 1,
       "PUT /import of the zstd XVA: 200 with task-id, task success, its result the new VM",
       (st, rec["status"], rec["error_info"], rec["result"]))
    if new:
        disks = [p.api("VBD.get_VDI", b) for b in p.api("VM.get_VBDs", new[0]) if p.api("VBD.get_type", b) == "Disk"]
        got = sorted(read_raw(p, d) or b"" for d in disks)
        ok(got == sorted(datas), "the imported VM's disks hold the exported bytes")

    snap = p.api("VM.snapshot", vm, "full backup")
    t = p.task("export snapshot")
    st, h, sbody = p.get(p.q("/export", uuid=p.api("VM.get_uuid", snap), use_compression="zstd", task_id=t))
    rec = p.wait(t)
    sdec = subprocess.run([zstd, "-dc"], input=sbody, stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout
    sms = tar_members(sdec) if sdec else []
    ok(st == 200 and rec["status"] == "success" and sms and sms[0][0] == "ova.xml"
       and rebuild(disk_chunks(sms, DISK), DISK) == datas[0],
       "a snapshot exports too (by uuid, zstd), with its disks' bytes", (st, rec["status"], rec["error_info"]))

    bad_body = bytearray(body)
    for i in range(len(bad_body) // 2, len(bad_body) // 2 + 64):
        bad_body[i] ^= 0x5A
    before = set(p.api("VM.get_all"))
    t = p.task("import bad zstd")
    st, h = p.put(p.q("/import", sr_id=p.sr(), task_id=t), bytes(bad_body))
    rec = p.wait(t)
    ok(st == 200 and rec["status"] == "failure" and rec["error_info"][:1] == ["IMPORT_ERROR"]
       and set(p.api("VM.get_all")) == before,
       "a damaged zstd XVA: 200, then the task fails with IMPORT_ERROR and no VM is left",
       (st, rec["status"], rec["error_info"]))


# ---- 2. snapshots --------------------------------------------------------------------

def snap_disks(p, snap):
    """{source VDI: snapshot VDI} of a snapshot's disks."""
    out = {}
    for b in p.api("VM.get_VBDs", snap):
        if p.api("VBD.get_type", b) == "Disk":
            d = p.api("VBD.get_VDI", b)
            out[p.api("VDI.get_snapshot_of", d)] = d
    return out


def test_snapshots(p):
    vm, vdis, datas = test_vm(p, "snapshot ignore")
    st, snap = p.try_api("VM.snapshot", vm, "without disk 1", [vdis[1]])
    disks = snap_disks(p, snap) if st == "ok" else {}
    ok(st == "ok" and set(disks) == {vdis[0]}, "VM.snapshot with ignore_vdis=[disk 1] snapshots only disk 0",
       (st, snap, disks))
    st, snap3 = p.try_api("VM.snapshot", vm, "all disks")
    disks3 = snap_disks(p, snap3) if st == "ok" else {}
    ok(st == "ok" and set(disks3) == set(vdis), "the 3-argument VM.snapshot still takes every disk", (st, disks3))
    st, snap0 = p.try_api("VM.snapshot", vm, "empty ignore", [])
    ok(st == "ok" and set(snap_disks(p, snap0)) == set(vdis), "ignore_vdis=[] takes every disk")
    rec = p.api("VM.get_record", snap) if snap else {}
    ok(rec.get("is_a_snapshot") and rec.get("snapshot_of") == vm and snap in p.api("VM.get_snapshots", vm),
       "the snapshot is the VM's (is_a_snapshot, snapshot_of, VM.snapshots)")

    new = pattern(77, 3 * MiB)
    write_raw(p, vdis[0], new)
    ok(read_raw(p, disks3[vdis[0]]) == datas[0] and read_raw(p, vdis[0]) == new + datas[0][3 * MiB:],
       "after writing the VM's disk, the snapshot's disk still reads as at snapshot time")


# ---- 3. task_id on every handler -----------------------------------------------------

def test_task_ids(p):
    vm, vdis, datas = test_vm(p, "task ids")
    results = {}
    for name, path, kw in (("/export", "/export", {"ref": vm}),
                           ("/export_raw_vdi", "/export_raw_vdi", {"vdi": vdis[1], "format": "vhd"}),
                           ("/pool/xmldbdump", "/pool/xmldbdump", {})):
        t = p.task(name)
        st, h, body = p.get(p.q(path, task_id=t, **kw))
        rec = p.wait(t)
        results[name] = body
        ok(st == 200 and h.get("task-id", "").strip() == t and rec["status"] == "success"
           and rec["progress"] == 1.0 and body,
           "%s with task_id: the task-id header names it, it ends success at progress 1" % name,
           (st, dict(h), rec["status"], rec["progress"], rec["error_info"]))

    before = set(p.api("VM.get_all"))
    t = p.task("/import")
    st, h = p.put(p.q("/import", task_id=t), results["/export"])
    rec = p.wait(t)
    new = [r for r in refs_in(rec["result"]) if r not in before]
    ok(st == 200 and h.get("task-id", "").strip() == t and rec["status"] == "success" and rec["progress"] == 1.0
       and len(new) == 1 and p.api("VM.get_power_state", new[0]) == "Halted",
       "/import with task_id: success, its result the new (halted) VM", (st, rec["status"], rec["result"]))

    t = p.task("/import_raw_vdi")
    target = make_vdi(p, 4 * MiB, "task id target")
    st, h = p.put(p.q("/import_raw_vdi", vdi=target, format="vhd", task_id=t), results["/export_raw_vdi"])
    rec = p.wait(t)
    ok(st == 200 and h.get("task-id", "").strip() == t and rec["status"] == "success" and refs_in(rec["result"]) == [target]
       and read_raw(p, target) == datas[1],
       "/import_raw_vdi with task_id: success, its result the VDI, which holds the bytes",
       (st, rec["status"], rec["error_info"], rec["result"]))

    t = p.task("/import garbage")
    st, h = p.put(p.q("/import", task_id=t), b"this is not an XVA" * 100)
    rec = p.wait(t)
    ok(st == 200 and rec["status"] == "failure" and rec["error_info"] and rec["error_info"][0].startswith("IMPORT_ERROR"),
       "a failure after the 200 shows only in the task (status failure, error_info)",
       (st, rec["status"], rec["error_info"]))

    st, _, _ = p.get(p.q("/export_raw_vdi", vdi=vdis[1], format="raw", task_id="OpaqueRef:no-such-task"))
    ok(st == 500, "an unknown task_id is refused before any transfer (500)", st)


# ---- 4. cut faults ----------------------------------------------------------------------

CUTS = ("cut=3000000:/export_raw_vdi*1,cut=1500000:/export*1,cut=1200000:/import*1,"
        "cut=1000000:/import_raw_vdi@2*2,cut=20000:/pool/xmldbdump*1,http500:host.get_all*1")


def counts(p):
    return {c: len(p.api(c + ".get_all")) for c in ("VM", "VDI", "VBD", "VIF", "network")}


def test_cuts(p):
    vm, vdis, datas = test_vm(p, "cut")  # its two /import_raw_vdi go by (@2)
    # a disk bigger than the cut, with data beyond it
    t = p.task("cut export_raw_vdi")
    st, h, body = p.raw("GET", p.q("/export_raw_vdi", vdi=vdis[0], format="raw", task_id=t))
    rec = p.wait(t)
    ok(st == 200 and len(body) == 3000000 and body == datas[0][:3000000],
       "cut=3000000:/export_raw_vdi: HTTP 200, then exactly 3000000 bytes and the connection closes",
       (st, len(body)))
    ok(rec["status"] == "failure" and rec["error_info"][:1] == ["VDI_IO_ERROR"],
       "the cut export_raw_vdi's task fails with VDI_IO_ERROR", (rec["status"], rec["error_info"]))
    st, h, body = p.raw("GET", p.q("/export_raw_vdi", vdi=vdis[0], format="raw"))
    ok(st == 200 and body == datas[0], "*1: the next export_raw_vdi is whole", (st, len(body)))

    t = p.task("cut export")
    st, h, body = p.raw("GET", p.q("/export", ref=vm, task_id=t))
    rec = p.wait(t)
    ok(st == 200 and len(body) == 1500000 and rec["status"] == "failure" and rec["error_info"][:1] == ["VDI_IO_ERROR"],
       "cut=1500000:/export: 200, 1500000 bytes, the task fails with VDI_IO_ERROR",
       (st, len(body), rec["status"], rec["error_info"]))
    ok(p.api("VM.get_current_operations", vm) == {} and "export" in p.api("VM.get_allowed_operations", vm),
       "the VM is not left busy exporting")
    st, h, xva = p.raw("GET", p.q("/export", ref=vm))
    ok(st == 200 and len(xva) > 1500000 and tar_members(xva)[0][0] == "ova.xml", "*1: the next export is whole",
       (st, len(xva)))

    before = counts(p)
    t = p.task("cut import")
    st, h, _ = p.raw("PUT", p.q("/import", sr_id=p.sr(), task_id=t), xva)
    rec = p.wait(t)
    ok(rec["status"] == "failure" and rec["error_info"][:1] == ["VDI_IO_ERROR"],
       "cut=1200000:/import: the task fails with VDI_IO_ERROR", (st, rec["status"], rec["error_info"]))
    ok(counts(p) == before, "the cut import leaves no VM, VDI, VBD, VIF or network behind", (before, counts(p)))
    t = p.task("import again")
    st, h, _ = p.raw("PUT", p.q("/import", sr_id=p.sr(), task_id=t), xva)
    ok(p.wait(t)["status"] == "success", "*1: the next import succeeds")

    target = make_vdi(p, DISK, "cut target")
    write = pattern(5, DISK)
    t = p.task("cut import_raw_vdi")
    st, h, _ = p.raw("PUT", p.q("/import_raw_vdi", vdi=target, format="raw", task_id=t), write)
    rec = p.wait(t)
    ok(rec["status"] == "failure" and rec["error_info"][:1] == ["VDI_IO_ERROR"],
       "cut=1000000:/import_raw_vdi into a VDI: the task fails with VDI_IO_ERROR", (rec["status"], rec["error_info"]))
    ok(p.try_api("VDI.get_uuid", target)[0] == "ok", "the existing VDI stays")
    n_vdis = len(p.api("VDI.get_all"))
    t = p.task("cut new vdi")
    st, h, _ = p.raw("PUT", p.q("/import_raw_vdi", sr_id=p.sr(), format="raw", task_id=t), write)
    rec = p.wait(t)
    ok(rec["status"] == "failure" and len(p.api("VDI.get_all")) == n_vdis,
       "a cut /import_raw_vdi that was making a new VDI leaves none", (rec["status"], rec["error_info"]))
    t = p.task("raw again")
    st, h, _ = p.raw("PUT", p.q("/import_raw_vdi", vdi=target, format="raw", task_id=t), write)
    ok(p.wait(t)["status"] == "success" and read_raw(p, target) == write, "*2: the next import_raw_vdi is whole")

    t = p.task("cut dump")
    st, h, body = p.raw("GET", p.q("/pool/xmldbdump", task_id=t))
    rec = p.wait(t)
    ok(st == 200 and len(body) == 20000 and rec["status"] == "failure" and rec["error_info"][:1] == ["INTERNAL_ERROR"],
       "cut=20000:/pool/xmldbdump: 200, 20000 bytes, the task fails with INTERNAL_ERROR",
       (st, len(body), rec["status"], rec["error_info"]))

    c = p.conn()
    c.request("POST", "/", body=xmlrpc.client.dumps((p.s,), "host.get_all"), headers={"Content-Type": "text/xml"})
    r = c.getresponse()
    r.read()
    c.close()
    ok(r.status == 500 and p.try_api("host.get_all")[0] == "ok",
       "an RPC rule beside the cut rules still applies (http500:host.get_all*1), and only once", r.status)

    for spec in ("cut=100:VM.start", "cut:/export", "cut=-1:/export"):
        r = subprocess.run([SIM, "--plain", "--port", "0", "--faults", spec], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        ok(r.returncode == 2 and b"cut" in r.stderr, "--faults %s is refused (exit status 2)" % spec,
           (r.returncode, r.stderr[-300:]))


# ---- 5. deltas between snapshots -----------------------------------------------------------

def parse_vhd(data):
    """(footer fields, header fields, {block: bytes}) of a dynamic or differencing VHD."""
    def csum_ok(buf, at):
        stored = struct.unpack_from(">I", buf, at)[0]
        return stored == (~(sum(buf[:at]) + sum(buf[at + 4:])) & 0xFFFFFFFF)
    footer = data[:512]
    assert footer[:8] == b"conectix" and csum_ok(footer, 64), "footer"
    assert data[-512:] == footer, "trailing footer copy"
    dtype = struct.unpack_from(">I", footer, 60)[0]
    size = struct.unpack_from(">Q", footer, 48)[0]
    dyn_at = struct.unpack_from(">Q", footer, 16)[0]
    dyn = data[dyn_at:dyn_at + 1024]
    assert dyn[:8] == b"cxsparse" and csum_ok(dyn, 36), "dynamic header"
    bat_at = struct.unpack_from(">Q", dyn, 16)[0]
    entries, bsize = struct.unpack_from(">II", dyn, 28)
    assert bsize == BLOCK and entries == (size + bsize - 1) // bsize, "BAT size"
    blocks = {}
    for b in range(entries):
        sector = struct.unpack_from(">I", data, bat_at + 4 * b)[0]
        if sector != 0xFFFFFFFF:
            at = sector * 512
            assert data[at:at + 512] == b"\xff" * 512, "full bitmaps"
            blocks[b] = data[at + 512:at + 512 + bsize]
    return ({"type": dtype, "size": size, "uuid": footer[68:84].hex()},
            {"parent": dyn[40:56].hex(), "bat_at": bat_at, "dyn_at": dyn_at}, blocks)


def make_vhd(size, blocks):
    """A dynamic VHD holding {block index: 2 MiB of data}."""
    def csum(buf, at):
        struct.pack_into(">I", buf, at, ~(sum(buf[:at]) + sum(buf[at + 4:])) & 0xFFFFFFFF)
    entries = (size + BLOCK - 1) // BLOCK
    footer = bytearray(512)
    footer[0:8] = b"conectix"
    struct.pack_into(">IIQI", footer, 8, 2, 0x10000, 512, 0)
    footer[28:32] = b"tap\0"
    struct.pack_into(">I4sQQII", footer, 32, 0x10003, b"Wi2k", size, size, 0, 3)
    footer[68:84] = os.urandom(16)
    csum(footer, 64)
    bat_at = 512 + 1024
    bat_bytes = (entries * 4 + 511) // 512 * 512
    dyn = bytearray(1024)
    dyn[0:8] = b"cxsparse"
    struct.pack_into(">QQIII", dyn, 8, 0xFFFFFFFFFFFFFFFF, bat_at, 0x10000, entries, BLOCK)
    csum(dyn, 36)
    bat = bytearray(b"\xff" * bat_bytes)
    sector = (bat_at + bat_bytes) // 512
    body = bytearray()
    for b in sorted(blocks):
        struct.pack_into(">I", bat, 4 * b, sector)
        body += b"\xff" * 512 + blocks[b]
        sector += (512 + BLOCK) // 512
    return bytes(footer + dyn + bat + body + footer)


def chunked(pieces):
    out = b""
    for off, data in pieces:
        out += struct.pack("<QI", off, len(data)) + data
    return out + struct.pack("<QI", 0, 0)


def test_deltas(p):
    vm, vdis, datas = test_vm(p, "deltas")
    disk = vdis[0]
    s1 = p.api("VM.snapshot", vm, "delta base")
    model = bytearray(datas[0])
    # raw: the first MiB (block 0)
    w0 = pattern(11, MiB)
    write_raw(p, disk, w0)
    model[0:MiB] = w0
    # chunked: 3000 bytes in block 3
    w3 = pattern(12, 3000)
    t = p.task("chunked")
    st, _ = p.put(p.q("/import_raw_vdi", vdi=disk, format="raw", chunked="true", task_id=t),
                  chunked([(3 * BLOCK + 100, w3)]))
    rec = p.wait(t)
    ok(st == 200 and rec["status"] == "success", "import_raw_vdi chunked=true into the VM's disk", rec["error_info"])
    model[3 * BLOCK + 100:3 * BLOCK + 100 + 3000] = w3
    # vhd: all of block 6
    w6 = pattern(13, BLOCK)
    t = p.task("vhd")
    st, _ = p.put(p.q("/import_raw_vdi", vdi=disk, format="vhd", task_id=t), make_vhd(DISK, {6: w6}))
    rec = p.wait(t)
    ok(st == 200 and rec["status"] == "success", "import_raw_vdi format=vhd into the VM's disk", rec["error_info"])
    model[6 * BLOCK:7 * BLOCK] = w6
    ok(read_raw(p, disk) == bytes(model), "the VM's disk reads as raw + chunked + vhd wrote it")

    s2 = p.api("VM.snapshot", vm, "delta top")
    d1, d2 = snap_disks(p, s1)[disk], snap_disks(p, s2)[disk]
    ok(read_raw(p, d1) == datas[0] and read_raw(p, d2) == bytes(model),
       "the two snapshots' disks hold the disk as it was at each snapshot")
    st, h, delta = p.get(p.q("/export_raw_vdi", vdi=d2, format="vhd", base=d1))
    try:
        foot, hdr, blocks = parse_vhd(delta)
    except AssertionError as e:
        ok(False, "the delta is a valid VHD", e)
        return
    uuid_hex = lambda ref: p.api("VDI.get_uuid", ref).replace("-", "")  # noqa: E731
    ok(st == 200 and h.get("content-type") == "application/vhd" and foot["type"] == 4
       and hdr["parent"] == uuid_hex(d1) and foot["uuid"] == uuid_hex(d2) and foot["size"] == DISK,
       "base= gives a differencing VHD (type 4) of the snapshot, its parent the base's uuid",
       (st, h.get("content-type"), foot, hdr))
    ok(hdr["dyn_at"] == 512 and hdr["bat_at"] == 2048, "header at 512, BAT at 2048 as xapi's stream", hdr)
    ok(sorted(blocks) == [0, 3, 6], "the delta holds exactly the blocks written in between (0, 3, 6)", sorted(blocks))
    ok(all(blocks[b] == bytes(model[b * BLOCK:(b + 1) * BLOCK]) for b in blocks),
       "each delta block holds the disk's new bytes")

    s3 = p.api("VM.snapshot", vm, "no change")
    st, h, empty = p.get(p.q("/export_raw_vdi", vdi=snap_disks(p, s3)[disk], format="vhd", base=d2))
    ok(st == 200 and parse_vhd(empty)[2] == {}, "a delta with nothing written in between holds no block")

    # applying the delta onto a copy of the base gives the top
    copy = make_vdi(p, DISK, "base copy")
    write_raw(p, copy, datas[0])
    t = p.task("apply delta")
    st, _ = p.put(p.q("/import_raw_vdi", vdi=copy, format="vhd", task_id=t), delta)
    ok(p.wait(t)["status"] == "success" and read_raw(p, copy) == bytes(model),
       "the delta written onto a copy of the base gives the top snapshot's bytes")


# ---- 6. a restore as XO makes it -----------------------------------------------------------

XO_VM_FIELDS = ("actions_after_crash", "actions_after_reboot", "actions_after_shutdown", "HVM_boot_params",
                "HVM_boot_policy", "memory_dynamic_max", "memory_dynamic_min", "memory_static_max",
                "memory_static_min", "other_config", "PCI_bus", "platform", "PV_args", "PV_bootloader_args",
                "PV_bootloader", "PV_kernel", "PV_legacy_args", "PV_ramdisk", "recommendations", "user_version",
                "VCPUs_at_startup", "VCPUs_max", "VCPUs_params", "blocked_operations", "domain_type",
                "generation_id", "ha_restart_priority", "hardware_platform_version", "has_vendor_device",
                "name_description", "name_label", "NVRAM", "order", "reference_label", "shutdown_delay",
                "start_delay", "suspend_SR", "tags", "version", "xenstore_data", "appliance",
                "snapshot_schedule", "is_vmss_snapshot")


def test_restore(p):
    t = p.task("restore")
    rec = p.api("task.get_record", t)
    ok(rec["status"] == "pending" and rec["name_label"] == "restore" and rec["progress"] == 0.0,
       "task.create then task.get_record: pending, named, progress 0", rec)
    p.api("task.destroy", t)
    st, err = p.try_api("task.get_record", t)
    ok(st == "err" and err[0] == "HANDLE_INVALID", "task.destroy removes it", err)

    vm, vdis, datas = test_vm(p, "restore source")
    snap = p.api("VM.snapshot", vm, "restore point")
    srec = p.api("VM.get_record", snap)
    # the backup: the snapshot's records and its disk as a full VHD
    sdisk = snap_disks(p, snap)[vdis[0]]
    vdi_rec = p.api("VDI.get_record", sdisk)
    st, _, full = p.get(p.q("/export_raw_vdi", vdi=sdisk, format="vhd"))
    vif_rec = p.api("VIF.get_record", srec["VIFs"][0])

    create = {k: srec[k] for k in XO_VM_FIELDS if k in srec}
    create.update({"affinity": "OpaqueRef:NULL", "is_a_template": False, "name_label": "[Importing…] restored",
                   "blocked_operations": {"start": "Importing…"}})
    create["other_config"] = {k: v for k, v in srec["other_config"].items() if k != "mac_seed"}
    st, new = p.try_api("VM.create", create)
    ok(st == "ok", "VM.create from the snapshot's record, with the fields XO passes", new)
    if st != "ok":
        return
    nrec = p.api("VM.get_record", new)
    ok(nrec["power_state"] == "Halted" and not nrec["is_a_template"] and not nrec["is_a_snapshot"]
       and nrec["other_config"].get("mac_seed") and nrec["domid"] == "-1"
       and p.try_api("VM_metrics.get_record", nrec["metrics"])[0] == "ok"
       and nrec["memory_static_max"] == srec["memory_static_max"] and nrec["VCPUs_max"] == srec["VCPUs_max"]
       and nrec["platform"] == srec["platform"] and nrec["domain_type"] in ("hvm", "pv", "pvh")
       and "start" in nrec["allowed_operations"] and nrec["VBDs"] == [],
       "the created VM: Halted, not a template or snapshot, new mac_seed, metrics, the record's settings",
       {k: nrec[k] for k in ("power_state", "is_a_template", "domid", "metrics", "domain_type", "allowed_operations")})
    st, e = p.try_api("VM.start", new, False, False)
    ok(st == "err" and e[0] == "OPERATION_BLOCKED", "start is blocked while importing (blocked_operations)", (st, e))

    vcreate = {k: vdi_rec[k] for k in ("name_label", "name_description", "virtual_size", "type", "sharable",
                                        "read_only", "other_config", "xenstore_data", "sm_config", "tags")}
    vcreate["SR"] = p.sr()
    st, nvdi = p.try_api("VDI.create", vcreate)
    ok(st == "ok" and read_raw(p, nvdi) == bytes(DISK), "VDI.create from the record: a new disk of zeros", nvdi)
    st, nvbd = p.try_api("VBD.create", {"VM": new, "VDI": nvdi, "userdevice": "0", "bootable": True, "mode": "RW",
                                        "type": "Disk", "unpluggable": False, "empty": False, "other_config": {},
                                        "qos_algorithm_type": "", "qos_algorithm_params": {}})
    ok(st == "ok", "VBD.create of the new disk on the new VM", nvbd)
    t = p.task("restore disk")
    st, _ = p.put(p.q("/import_raw_vdi", vdi=nvdi, format="vhd", task_id=t), full)
    ok(p.wait(t)["status"] == "success" and read_raw(p, nvdi) == datas[0],
       "the disk's full VHD through /import_raw_vdi?format=vhd: the restored disk holds the snapshot's bytes")
    st, nvif = p.try_api("VIF.create", {"device": vif_rec["device"], "network": vif_rec["network"], "VM": new,
                                        "MAC": "", "MTU": vif_rec["MTU"], "other_config": {},
                                        "qos_algorithm_type": "", "qos_algorithm_params": {}})
    ok(st == "ok" and p.api("VIF.get_network", nvif) == vif_rec["network"], "VIF.create on the same network", nvif)

    p.api("VM.remove_from_blocked_operations", new, "start")
    p.api("VM.set_name_label", new, "restored")
    st, e = p.try_api("VM.start", new, False, False)
    nrec = p.api("VM.get_record", new)
    ok(st == "ok" and nrec["power_state"] == "Running" and nrec["resident_on"] != "OpaqueRef:NULL"
       and p.api("VBD.get_currently_attached", nvbd) and p.api("VIF.get_currently_attached", nvif),
       "VM.start of the restored VM: Running on a host, disk and VIF attached", (st, e, nrec["power_state"]))
    p.api("VM.hard_shutdown", new)
    p.api("VM.destroy", new)


# ---- 7. big sparse disks for benchmarks ---------------------------------------------------

def test_pattern(p):
    size = 8 << 30
    vdi = p.api("VDI.create", {"name_label": "bench", "name_description": "", "SR": p.sr(), "virtual_size": str(size),
                               "type": "user", "sharable": False, "read_only": False,
                               "other_config": {"content_of": "pattern:512:3"}, "xenstore_data": {},
                               "sm_config": {}, "tags": []})
    t0 = time.time()
    st, h, vhd = p.get(p.q("/export_raw_vdi", vdi=vdi, format="vhd"))
    foot, hdr, blocks = parse_vhd(vhd)
    want = [i * 512 // 2 for i in range(size // MiB // 512)]
    ok(st == 200 and foot["size"] == size and sorted(blocks) == want
       and all(any(blocks[b][:MiB]) and not any(blocks[b][MiB:]) for b in blocks),
       "content_of=pattern:512:3 on an 8 GiB VDI: data in every 512th MiB, zeros between (%.1f s)"
       % (time.time() - t0), (st, sorted(blocks)[:5], len(blocks)))
    snap = p.api("VDI.snapshot", vdi, {})
    st, h, same = p.get(p.q("/export_raw_vdi", vdi=snap, format="vhd", base=vdi))
    ok(st == 200 and parse_vhd(same)[2] == {}, "its snapshot reads the same (an empty delta)")


def main():
    url = start("--plain", "--hosts", "1", "--vms", "3", "--seed", "5")
    p = Pool(url)
    for fn in (test_zstd, test_snapshots, test_task_ids, test_deltas, test_restore, test_pattern):
        try:
            fn(p)
        except Exception as e:  # one part failing must not hide the others
            ok(False, "%s ran to the end" % fn.__name__, repr(e))
    url2 = start("--hosts", "1", "--vms", "2", "--seed", "6", "--faults", CUTS)  # TLS: cuts without close_notify
    try:
        test_cuts(Pool(url2))
    except Exception as e:
        ok(False, "test_cuts ran to the end", repr(e))
    stop_all()
    sys.exit(plan())


if __name__ == "__main__":
    main()
