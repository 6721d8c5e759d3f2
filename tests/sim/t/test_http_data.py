#!/usr/bin/env python3
"""xapi-sim's HTTP data handlers against real clients (TAP):
/rrd_updates (XML and JSON), /export and /import (XVA round trip, checksums,
a corrupted archive, chunked refusal), /export_raw_vdi and /import_raw_vdi
(raw, xapi's chunked framing, VHD, VHD deltas with base=, new VDIs),
/pool/xmldbdump, and 401 without credentials."""
import base64
import gzip
import http.client
import io
import os
import random
import signal
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
import xml.etree.ElementTree as ET
import xmlrpc.client

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SIM = os.path.join(ROOT, "build", "san", "xapi-sim")
MiB = 1024 * 1024
XVA_DISK = 16 * MiB

count = 0
failed = 0


def check(cond, name, detail=""):
    global count, failed
    count += 1
    if cond:
        print("ok %d - %s" % (count, name))
    else:
        failed += 1
        print("not ok %d - %s" % (count, name))
        if detail:
            for line in str(detail).splitlines()[:20]:
                print("#   " + line)
    sys.stdout.flush()
    return cond


# ---- XXH64, written out (no packages) ---------------------------------------

P1, P2, P3, P4, P5 = (11400714785074694791, 14029467366897019727, 1609587929392839161,
                      9650029242287828579, 2870177450012600261)
M64 = (1 << 64) - 1


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M64


def _round(acc, lane):
    acc = (acc + lane * P2) & M64
    return (_rotl(acc, 31) * P1) & M64


def _merge(acc, v):
    acc ^= _round(0, v)
    return (acc * P1 + P4) & M64


def xxh64(data, seed=0):
    n = len(data)
    i = 0
    if n >= 32:
        v1, v2, v3, v4 = (seed + P1 + P2) & M64, (seed + P2) & M64, seed, (seed - P1) & M64
        stripes = n // 32
        lanes = struct.unpack_from("<%dQ" % (stripes * 4), data)
        for k in range(0, stripes * 4, 4):
            # the four accumulators' rounds, rotations written out (speed)
            a = (v1 + lanes[k] * P2) & M64
            v1 = (((a << 31) | (a >> 33)) & M64) * P1 & M64
            a = (v2 + lanes[k + 1] * P2) & M64
            v2 = (((a << 31) | (a >> 33)) & M64) * P1 & M64
            a = (v3 + lanes[k + 2] * P2) & M64
            v3 = (((a << 31) | (a >> 33)) & M64) * P1 & M64
            a = (v4 + lanes[k + 3] * P2) & M64
            v4 = (((a << 31) | (a >> 33)) & M64) * P1 & M64
        i = stripes * 32
        h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & M64
        for v in (v1, v2, v3, v4):
            h = _merge(h, v)
    else:
        h = (seed + P5) & M64
    h = (h + n) & M64
    while i + 8 <= n:
        h ^= _round(0, struct.unpack_from("<Q", data, i)[0])
        h = (_rotl(h, 27) * P1 + P4) & M64
        i += 8
    if i + 4 <= n:
        h ^= (struct.unpack_from("<I", data, i)[0] * P1) & M64
        h = (_rotl(h, 23) * P2 + P3) & M64
        i += 4
    while i < n:
        h ^= (data[i] * P5) & M64
        h = (_rotl(h, 11) * P1) & M64
        i += 1
    h ^= h >> 33
    h = (h * P2) & M64
    h ^= h >> 29
    h = (h * P3) & M64
    h ^= h >> 32
    return h


# ---- the simulator ---------------------------------------------------------------

class Sim:
    def __init__(self):
        self.err = tempfile.TemporaryFile("w+")
        self.p = subprocess.Popen([SIM, "--plain", "--port", "0", "--hosts", "2", "--vms", "8"],
                                  stdout=subprocess.PIPE, stderr=self.err, text=True)
        deadline = time.time() + 20
        self.url = None
        while time.time() < deadline:
            line = self.p.stdout.readline()
            if not line:
                break
            if line.startswith("xapi-sim listening on "):
                self.url = line.split()[-1]
                break
        if not self.url:
            self.stop()
            raise SystemExit("Bail out! xapi-sim did not start")
        u = urllib.parse.urlparse(self.url)
        self.host, self.port = u.hostname, u.port
        self.x = xmlrpc.client.ServerProxy(self.url)
        self.session = self.call("session.login_with_password", "root", "xapi-sim", "2.21", "test_http_data.py")

    def call(self, method, *args):
        fn = self.x
        for part in method.split("."):
            fn = getattr(fn, part)
        r = fn(*args)
        if r["Status"] != "Success":
            raise RuntimeError("%s: %s" % (method, r["ErrorDescription"]))
        return r["Value"]

    def api(self, method, *args):
        return self.call(method, self.session, *args)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.err.flush()
        self.err.seek(0)
        return self.err.read()

    def conn(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=60)

    def get(self, path, headers=None):
        """(status, headers, body, version) of a GET read to EOF."""
        c = self.conn()
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, r.headers, body, r.version

    def put(self, path, body, headers=None):
        c = self.conn()
        h = {"Content-Length": str(len(body))}
        h.update(headers or {})
        c.request("PUT", path, body=body, headers=h)
        r = c.getresponse()
        out = r.read()
        c.close()
        return r.status, r.headers, out

    def wait_task(self, task, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            rec = self.api("task.get_record", task)
            if rec["status"] not in ("pending", "cancelling"):
                return rec
            time.sleep(0.05)
        return self.api("task.get_record", task)

    def q(self, path, **kw):
        kw.setdefault("session_id", self.session)
        return path + "?" + urllib.parse.urlencode(kw)


def result_refs(result):
    """The refs in a task result such as <value>OpaqueRef:..</value>."""
    v = xmlrpc.client.loads("<?xml version='1.0'?><methodResponse><params><param>%s</param></params>"
                            "</methodResponse>" % result)[0][0]
    return v if isinstance(v, list) else [v]


def content(seed, size):
    """A disk image: random data with zero stretches, so sparseness matters."""
    rnd = random.Random(seed)
    out = bytearray(size)
    pos = 0
    while pos < size:
        n = min(size - pos, rnd.choice([64 * 1024, 512 * 1024, MiB, 3 * MiB]))
        if rnd.random() < 0.45:
            out[pos:pos + n] = rnd.randbytes(n)
        pos += n
    return bytes(out)


def parse_vhd(data):
    """(size, {block index: bytes of 2 MiB}) of a dynamic VHD, checking its structure."""
    def csum_ok(buf, at):
        stored = struct.unpack_from(">I", buf, at)[0]
        total = sum(buf[:at]) + sum(buf[at + 4:])
        return stored == (~total & 0xFFFFFFFF)
    footer = data[:512]
    assert footer[:8] == b"conectix", "footer cookie"
    assert csum_ok(footer, 64), "footer checksum"
    assert data[-512:] == footer, "trailing footer"
    size = struct.unpack_from(">Q", footer, 48)[0]
    assert struct.unpack_from(">I", footer, 60)[0] in (3, 4), "dynamic or differencing disk"
    dyn_at = struct.unpack_from(">Q", footer, 16)[0]
    dyn = data[dyn_at:dyn_at + 1024]
    assert dyn[:8] == b"cxsparse", "dynamic header cookie"
    assert csum_ok(dyn, 36), "dynamic header checksum"
    bat_at = struct.unpack_from(">Q", dyn, 16)[0]
    entries, bsize = struct.unpack_from(">II", dyn, 28)
    assert bsize == 2 * MiB and entries == (size + bsize - 1) // bsize, "block size and entries"
    blocks = {}
    for b in range(entries):
        sector = struct.unpack_from(">I", data, bat_at + 4 * b)[0]
        if sector != 0xFFFFFFFF:
            at = sector * 512
            assert data[at:at + 512] == b"\xff" * 512, "full sector bitmap"
            blocks[b] = data[at + 512:at + 512 + bsize]
    return size, blocks


def main():
    sim = Sim()
    try:
        run(sim)
    finally:
        err = sim.stop()
        check("AddressSanitizer" not in err and "runtime error" not in err and "LeakSanitizer" not in err,
              "no sanitizer report from xapi-sim", err[-3000:])
        print("1..%d" % count)
    sys.exit(1 if failed else 0)


def run(sim):
    check(xxh64(b"") == 0xEF46DB3751D8E999 and xxh64(b"abc") == 0x44BC2CF5AD770999,
          "the test's XXH64 matches the reference vectors")
    test_auth(sim)
    test_rrd(sim)
    raw = test_raw(sim)
    test_vhd(sim, raw)
    test_xva(sim, raw)
    test_dbdump(sim)


# ---- credentials ---------------------------------------------------------------------

def test_auth(sim):
    for path in ("/rrd_updates?start=0", "/export?uuid=x", "/pool/xmldbdump", "/export_raw_vdi?vdi=x"):
        st, h, _, _ = sim.get(path)
        check(st == 401 and (h.get("WWW-Authenticate") or "").startswith("Basic realm="),
              "401 with WWW-Authenticate without a session: " + path, "%s %s" % (st, dict(h)))
    st, _, _, _ = sim.get("/rrd_updates?start=0&session_id=OpaqueRef:nonsense")
    check(st == 401, "401 with an invalid session_id", st)
    basic = "Basic " + base64.b64encode(b"root:xapi-sim").decode()
    st, _, body, _ = sim.get("/rrd_updates?start=-10&host=true", headers={"Authorization": basic})
    check(st == 200 and b"<xport>" in body, "HTTP Basic credentials are accepted", st)
    st, _, body, _ = sim.get("/rrd_updates?start=-10", headers={"Cookie": "session_id=" + sim.session})
    check(st == 200, "session_id as a cookie is accepted", st)


# ---- rrd_updates ---------------------------------------------------------------------------

def parse_xport(body):
    root = ET.fromstring(body)
    meta = root.find("meta")
    legend = [e.text for e in meta.find("legend")]
    rows = [(int(r.find("t").text), [float(v.text) for v in r.findall("v")]) for r in root.find("data")]
    return {k: int(meta.find(k).text) for k in ("start", "step", "end", "rows", "columns")}, legend, rows


def test_rrd(sim):
    st, _, _, _ = sim.get(sim.q("/rrd_updates", host="true"))
    check(st == 400, "rrd_updates without start is 400", st)
    start = int(time.time()) - 60
    st, h, body, _ = sim.get(sim.q("/rrd_updates", start=start, host="true", cf="AVERAGE", interval=5))
    ok = st == 200 and h.get("content-type") == "text/xml"
    try:
        meta, legend, rows = parse_xport(body)
    except Exception as e:  # noqa: BLE001 - reported below
        check(False, "rrd_updates XML parses", e)
        return
    check(ok and meta["step"] == 5 and meta["rows"] == len(rows) and meta["columns"] == len(legend)
          and all(len(v) == len(legend) for _, v in rows) and 10 <= len(rows) <= 13,
          "rrd_updates XML: meta agrees with the rows and the legend", meta)
    ts = [t for t, _ in rows]
    check(ts == sorted(ts, reverse=True) and all(a - b == 5 for a, b in zip(ts, ts[1:]))
          and ts[-1] > start and meta["end"] == ts[0],
          "rrd_updates rows run newest first, 5 s apart, after start", ts)
    hosts = {h["uuid"]: h for h in sim.api("host.get_all_records").values()}
    vms = sim.api("VM.get_all_records").values()
    live = {v["uuid"] for v in vms if v["power_state"] in ("Running", "Paused")}
    owners = {}
    for e in legend:
        cf, kind, uuid, name = e.split(":", 3)
        owners.setdefault((kind, uuid), set()).add(name)
        ok = ok and cf == "AVERAGE"
    vm_uuids = {u for k, u in owners if k == "vm"}
    check(ok and vm_uuids == live, "rrd_updates has every VM resident on a served host, and only those",
          (sorted(vm_uuids ^ live)))
    host_uuids = {u for k, u in owners if k == "host"}
    check(host_uuids == set(hosts), "host=true adds every in-process host", host_uuids)
    some_host = owners[("host", next(iter(hosts)))]
    check({"cpu0", "cpu_avg", "memory_total_kib", "memory_free_kib", "loadavg", "pif_eth0_rx", "pif_eth0_tx"}
          <= some_host, "host data sources", sorted(some_host))
    running = next(v for v in vms if v["power_state"] == "Running" and not v["is_control_domain"])
    names = owners[("vm", running["uuid"])]
    check({"cpu0", "memory", "memory_internal_free", "vif_0_rx", "vif_0_tx", "vbd_xvda_read", "vbd_xvda_write"}
          <= names, "VM data sources", sorted(names))
    mem_col = legend.index("AVERAGE:vm:%s:memory" % running["uuid"])
    check(all(v[mem_col] > 0 for _, v in rows), "VM memory is reported in bytes", rows[0][1][mem_col])

    st, _, jbody, _ = sim.get(sim.q("/rrd_updates", start=start, host="true", json="true"))
    import json
    try:
        j = json.loads(jbody)
        jm = j["meta"]
        strings = all(isinstance(jm[k], str) for k in ("start", "step", "end", "rows", "columns")) and all(
            isinstance(d["t"], str) and all(isinstance(v, str) for v in d["values"]) for d in j["data"])
        check(st == 200 and strings and set(jm["legend"]) == set(legend) and int(jm["rows"]) == len(j["data"]),
              "rrd_updates JSON: same legend, every number a string", jm)
    except Exception as e:  # noqa: BLE001
        check(False, "rrd_updates JSON parses", e)

    # a step later the data moved on, and what overlaps is the same
    time.sleep(5.05 - time.time() % 5)
    st, _, body2, _ = sim.get(sim.q("/rrd_updates", start=start, host="true"))
    meta2, legend2, rows2 = parse_xport(body2)
    check(legend2 == legend and rows2[0][0] > rows[0][0] and rows2[0][1] != rows[0][1],
          "rrd_updates values change between two fetches", (rows[0][0], rows2[0][0]))
    old = dict(rows)
    check(all(old[t] == v for t, v in rows2 if t in old), "the same instant reads the same values")
    vm_only = sim.get(sim.q("/rrd_updates", start=-20, vm_uuid=running["uuid"]))[2]
    _, leg3, _ = parse_xport(vm_only)
    check(leg3 and all(":vm:%s:" % running["uuid"] in e for e in leg3), "vm_uuid= restricts the VMs", leg3[:3])
    st, h, body, version = sim.get(sim.q("/vm_rrd", uuid=running["uuid"]))
    check(st == 200 and version == 10 and body.startswith(b"<?xml") and b"<rrd><version>0003</version>" in body
          and ET.fromstring(body).find("rra/database/row") is not None, "vm_rrd dumps the VM's RRD", (st, body[:200]))
    st, _, _, _ = sim.get(sim.q("/vm_rrd"))
    check(st == 400, "vm_rrd without uuid is 400", st)


# ---- raw VDIs ---------------------------------------------------------------------------

def make_vdi(sim, sr, size, name):
    return sim.api("VDI.create", {"name_label": name, "name_description": "", "SR": sr, "virtual_size": str(size),
                                  "type": "user", "sharable": False, "read_only": False, "other_config": {},
                                  "xenstore_data": {}, "sm_config": {}, "tags": []})


def upload(sim, path, body, **kw):
    task = sim.api("task.create", "upload", "")
    st, h, _ = sim.put(sim.q(path, task_id=task, **kw), body)
    return st, sim.wait_task(task)


def download(sim, vdi, **kw):
    st, h, body, _ = sim.get(sim.q("/export_raw_vdi", vdi=vdi, **kw))
    return st, h, body


def test_raw(sim):
    pool = next(iter(sim.api("pool.get_all_records").values()))
    sr = pool["default_SR"]
    size = 50 * MiB
    vdi = make_vdi(sim, sr, size, "raw round trip")
    data = content(1, size)
    t0 = time.time()
    st, task = upload(sim, "/import_raw_vdi", data, vdi=vdi, format="raw")
    check(st == 200 and task["status"] == "success" and result_refs(task["result"]) == [vdi],
          "import_raw_vdi of 50 MiB: the task succeeds with the VDI ref", (st, task["status"], task["error_info"],
                                                                           task["result"]))
    st, h, back = download(sim, sim.api("VDI.get_uuid", vdi), format="raw")
    check(st == 200 and back == data and h.get("task-id", "").startswith("OpaqueRef:"),
          "export_raw_vdi (by uuid) gives back the same 50 MiB", (st, len(back), time.time() - t0))
    task = sim.wait_task(h["task-id"])
    check(task["status"] == "success", "the export's own task completes", task["status"])

    # a new VDI from sr_id and Content-Length
    before = set(sim.api("VDI.get_all"))
    small = content(2, 3 * MiB + 4096)
    st, task = upload(sim, "/import_raw_vdi", small, sr_id=sr, format="raw")
    made = set(sim.api("VDI.get_all")) - before
    ok = st == 200 and task["status"] == "success" and len(made) == 1
    new = made.pop() if made else None
    check(ok and result_refs(task["result"]) == [new] and sim.api("VDI.get_virtual_size", new) == str(len(small))
          and download(sim, new)[2] == small, "import_raw_vdi with sr_id makes a VDI of the size sent", task)

    # a truncated upload into a new VDI fails and leaves nothing behind
    before = set(sim.api("VDI.get_all"))
    task_id = sim.api("task.create", "truncated", "")
    c = sim.conn()
    c.putrequest("PUT", sim.q("/import_raw_vdi", sr_id=sr, format="raw", task_id=task_id))
    c.putheader("Content-Length", str(4 * MiB))
    c.endheaders()
    c.send(small[:MiB])
    c.sock.shutdown(1)
    try:
        c.getresponse().read()
    except (OSError, http.client.HTTPException):
        pass
    c.close()
    task = sim.wait_task(task_id)
    check(task["status"] == "failure" and set(sim.api("VDI.get_all")) == before,
          "a truncated upload fails its task and leaves no half VDI", (task["status"], task["error_info"]))

    # xapi's chunked=true framing
    chunked_vdi = make_vdi(sim, sr, 8 * MiB, "chunked")
    pieces = [(0, b"\x11" * 4096), (5 * MiB + 512, os.urandom(MiB + 100)), (8 * MiB - 10, b"end-bytes!")]
    body = b"".join(struct.pack("<QI", off, len(d)) + d for off, d in pieces) + struct.pack("<QI", 0, 0)
    st, task = upload(sim, "/import_raw_vdi", body, vdi=chunked_vdi, format="raw", chunked="true")
    got = download(sim, chunked_vdi)[2]
    check(st == 200 and task["status"] == "success"
          and all(got[off:off + len(d)] == d for off, d in pieces), "chunked=true writes each record at its offset",
          task["error_info"])

    st, task = upload(sim, "/import_raw_vdi", b"x" * 10, vdi=vdi, format="qcow9")
    check(st == 404 and task["status"] == "failure", "an unknown format is 404 with a failed task", st)
    st, _, _ = download(sim, "no-such-vdi")
    check(st in (404, 500), "export_raw_vdi of an unknown VDI is an HTTP error", st)
    return {"sr": sr, "vdi": vdi, "data": data}


def test_vhd(sim, raw):
    vdi, data = raw["vdi"], raw["data"]
    st, h, vhd = download(sim, vdi, format="vhd")
    try:
        size, blocks = parse_vhd(vhd)
        rebuilt = bytearray(size)
        for b, d in blocks.items():
            rebuilt[b * 2 * MiB:(b + 1) * 2 * MiB] = d[:max(0, min(2 * MiB, size - b * 2 * MiB))]
        zero_blocks = {b for b in range(size // (2 * MiB)) if not any(data[b * 2 * MiB:(b + 1) * 2 * MiB])}
        check(st == 200 and h.get("content-type") == "application/vhd" and bytes(rebuilt) == data
              and not (set(blocks) & zero_blocks),
              "export_raw_vdi format=vhd is a dynamic VHD of the disk, zero blocks left out",
              (st, len(blocks), sorted(zero_blocks)))
    except AssertionError as e:
        check(False, "export_raw_vdi format=vhd is a valid dynamic VHD", e)

    # a delta: what a clone changed, applied onto another clone of the base
    target = sim.api("VDI.clone", vdi)
    copy = sim.api("VDI.clone", vdi)
    changes = [(6 * MiB + 100, os.urandom(3000)), (31 * MiB, b"\0" * MiB), (49 * MiB, os.urandom(MiB))]
    body = b"".join(struct.pack("<QI", off, len(d)) + d for off, d in changes) + struct.pack("<QI", 0, 0)
    st, task = upload(sim, "/import_raw_vdi", body, vdi=target, format="raw", chunked="true")
    expect = bytearray(data)
    for off, d in changes:
        expect[off:off + len(d)] = d
    changed_blocks = {b for b in range(25) if expect[b * 2 * MiB:(b + 1) * 2 * MiB] != data[b * 2 * MiB:(b + 1) * 2 * MiB]}
    st, h, delta = download(sim, target, format="vhd", base=vdi)
    try:
        _, dblocks = parse_vhd(delta)
        check(st == 200 and set(dblocks) == changed_blocks,
              "a vhd export with base= holds only the blocks that differ", (sorted(dblocks), sorted(changed_blocks)))
    except AssertionError as e:
        check(False, "a vhd export with base= is a valid VHD", e)
    st, task = upload(sim, "/import_raw_vdi", delta, vdi=copy, format="vhd")
    check(st == 200 and task["status"] == "success" and download(sim, copy)[2] == bytes(expect)
          and download(sim, vdi)[2] == data,
          "importing the delta into a copy of the base reproduces the target", task["error_info"])


# ---- XVA ------------------------------------------------------------------------------------

def members(tar_bytes):
    tf = tarfile.open(fileobj=io.BytesIO(tar_bytes))
    return [(m.name, tf.extractfile(m).read()) for m in tf.getmembers()]


def file_members(path):
    with tarfile.open(path) as tf:
        return [(m.name, tf.extractfile(m).read()) for m in tf.getmembers()]


def ova_objects(xml):
    hdr = xmlrpc.client.loads("<?xml version='1.0'?><methodResponse><params><param>%s</param></params>"
                              "</methodResponse>" % xml.decode())[0][0]
    return hdr


def small_vm(sim, raw):
    """A halted VM with one 16 MiB disk holding known bytes."""
    vms = sim.api("VM.get_all_records")
    src = next(r for r, v in vms.items() if v["power_state"] == "Halted" and not v["is_a_template"]
               and not v["is_control_domain"] and not v["is_a_snapshot"])
    vm = sim.api("VM.clone", src, "xva round trip")
    for vbd in sim.api("VM.get_VBDs", vm):
        if sim.api("VBD.get_type", vbd) == "Disk":
            disk = sim.api("VBD.get_VDI", vbd)
            sim.api("VBD.destroy", vbd)
            sim.api("VDI.destroy", disk)
    vdi = make_vdi(sim, raw["sr"], XVA_DISK, "xva disk")
    data = content(3, XVA_DISK)
    st, task = upload(sim, "/import_raw_vdi", data, vdi=vdi, format="raw")
    sim.api("VBD.create", {"VM": vm, "VDI": vdi, "userdevice": "0", "bootable": True, "mode": "RW", "type": "Disk",
                           "unpluggable": False, "empty": False, "other_config": {}, "qos_algorithm_type": "",
                           "qos_algorithm_params": {}})
    return vm, vdi, data


def test_xva(sim, raw):
    vm, vdi, data = small_vm(sim, raw)
    name = sim.api("VM.get_name_label", vm)
    st, h, xva, version = sim.get(sim.q("/export", ref=vm))
    task = sim.wait_task(h.get("task-id", "OpaqueRef:NULL")) if h.get("task-id") else {"status": "none"}
    check(st == 200 and version == 10 and h.get("Content-Length") is None and task["status"] == "success"
          and h.get("content-type") == "application/octet-stream",
          "export: HTTP/1.0 200, no Content-Length, task-id of a task that succeeds", (st, version, dict(h)))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "export.xva")
            with open(path, "wb") as f:
                f.write(xva)
            ms = file_members(path)
    except tarfile.TarError as e:
        check(False, "the XVA is a tar", e)
        return
    check(ms[0][0] == "ova.xml", "ova.xml comes first", [m[0] for m in ms[:3]])
    hdr = ova_objects(ms[0][1])
    classes = {o["class"] for o in hdr["objects"]}
    vmrec = next(o for o in hdr["objects"] if o["class"] == "VM")
    disk_id = next(o["id"] for o in hdr["objects"] if o["class"] == "VDI"
                   and o["snapshot"]["virtual_size"] == str(XVA_DISK))
    check({"VM", "VBD", "VIF", "VDI", "SR", "network"} <= classes and vmrec["snapshot"]["name_label"] == name
          and str(hdr["version"]["export_vsn"]) == "2" and vmrec["snapshot"]["power_state"] == "Halted"
          and all(o["id"].startswith("Ref:") for o in hdr["objects"]),
          "ova.xml holds version and the VM, VBD, VIF, VDI, SR and network records", sorted(classes))
    sums = dict(ms[1:])
    chunks = [(n, d) for n, d in ms[1:] if not n.endswith(".xxhash")]
    bad = [n for n, d in chunks if sums.get(n + ".xxhash") != ("%016X" % xxh64(d)).encode()]
    check(chunks and not bad, "every chunk has a matching .xxhash (XXH64, 16 upper-case hex digits)", bad[:5])
    mine = [(int(n.split("/")[1]), d) for n, d in chunks if n.startswith(disk_id + "/")]
    idx = [i for i, _ in mine]
    rebuilt = bytearray(XVA_DISK)
    for i, d in mine:
        rebuilt[i * MiB:i * MiB + len(d)] = d
    zero = [i for i in range(XVA_DISK // MiB) if not any(data[i * MiB:(i + 1) * MiB])]
    check(bytes(rebuilt) == data and idx[0] == 0 and idx[-1] == XVA_DISK // MiB - 1 and not (set(idx[1:-1]) & set(zero))
          and all(len(d) == MiB for _, d in mine),
          "disk chunks are 1 MiB, zero chunks skipped except first and last, and rebuild the disk",
          (idx, zero))

    # re-import and compare the disk byte for byte
    before = set(sim.api("VM.get_all"))
    st, task = upload(sim, "/import", xva, sr_id=raw["sr"])
    new_vms = result_refs(task["result"]) if task["status"] == "success" else []
    check(st == 200 and task["status"] == "success" and len(new_vms) == 1 and new_vms[0] not in before
          and sim.api("VM.get_name_label", new_vms[0]) == name,
          "import: the task succeeds with the new VM", (st, task["status"], task["error_info"]))
    if new_vms:
        disks = [sim.api("VBD.get_VDI", b) for b in sim.api("VM.get_VBDs", new_vms[0])
                 if sim.api("VBD.get_type", b) == "Disk"]
        got = download(sim, disks[0])[2] if disks else b""
        check(len(disks) == 1 and disks[0] != vdi and got == data,
              "the imported VM's disk is byte-identical to the original", (len(disks), len(got)))
        check(not sim.api("VM.get_current_operations", new_vms[0])
              and "start" in sim.api("VM.get_allowed_operations", new_vms[0]),
              "the imported VM is halted and free to start")

    # gzip export, imported again
    st, h, gz, _ = sim.get(sim.q("/export", uuid=sim.api("VM.get_uuid", vm), use_compression="true"))
    plain = gzip.decompress(gz) if gz[:2] == b"\x1f\x8b" else b""
    check(st == 200 and plain and members(plain)[0][0] == "ova.xml", "use_compression=true gives a gzip XVA")
    st, task = upload(sim, "/import", gz, sr_uuid=sim.api("SR.get_uuid", raw["sr"]))
    check(task["status"] == "success", "a gzip XVA imports", task["error_info"])

    # a corrupted data chunk: the task fails, nothing is left behind
    first = next(n for n, _ in chunks if n.startswith(disk_id + "/"))
    at = xva.index(first.encode()) + 512 + 1000
    broken = xva[:at] + bytes([xva[at] ^ 0xFF]) + xva[at + 1:]
    vms_before, vdis_before = set(sim.api("VM.get_all")), set(sim.api("VDI.get_all"))
    st, task = upload(sim, "/import", broken, sr_id=raw["sr"])
    check(task["status"] == "failure" and task["error_info"] and task["error_info"][0] == "IMPORT_ERROR"
          and "checksum" in " ".join(task["error_info"]),
          "a corrupted XVA fails the import task with IMPORT_ERROR", task["error_info"])
    check(set(sim.api("VM.get_all")) == vms_before and set(sim.api("VDI.get_all")) == vdis_before,
          "a failed import leaves no VM and no VDI behind")
    st, task = upload(sim, "/import", xva[:len(xva) // 2], sr_id=raw["sr"])
    check(task["status"] == "failure" and set(sim.api("VM.get_all")) == vms_before,
          "a truncated XVA fails the import and leaves no VM", task["error_info"])

    # HTTP chunked transfer-encoding is refused
    task_id = sim.api("task.create", "chunked", "")
    c = sim.conn()
    status = None
    try:
        c.request("PUT", sim.q("/import", sr_id=raw["sr"], task_id=task_id), body=iter([xva[:4096]]),
                  encode_chunked=True)
        r = c.getresponse()
        r.read()
        status = r.status
    except OSError as e:  # the server may close before taking the whole body
        status = e
    c.close()
    task = sim.wait_task(task_id)
    check(status == 403 and task["error_info"] == ["IMPORT_ERROR_CANNOT_HANDLE_CHUNKED"],
          "chunked transfer-encoding: 403 and IMPORT_ERROR_CANNOT_HANDLE_CHUNKED", (status, task["error_info"]))

    running = next(r for r, v in sim.api("VM.get_all_records").items()
                   if v["power_state"] == "Running" and not v["is_control_domain"])
    task_id = sim.api("task.create", "export running", "")
    st, _, _, _ = sim.get(sim.q("/export", ref=running, task_id=task_id))
    task = sim.wait_task(task_id)
    check(st == 500 and task["error_info"][:1] == ["VM_BAD_POWER_STATE"],
          "exporting a running VM fails with VM_BAD_POWER_STATE", (st, task["error_info"]))


# ---- xmldbdump --------------------------------------------------------------------------------

def unprotect(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == "%" and i + 1 < len(s):
            out.append({".": " ", "t": "\t", "n": "\n", "r": "\r", "%": "%"}.get(s[i + 1], s[i + 1]))
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def test_dbdump(sim):
    st, h, body, version = sim.get(sim.q("/pool/xmldbdump"))
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        check(False, "xmldbdump is well-formed XML", e)
        return
    pairs = {p.get("key"): p.get("value") for p in root.find("manifest")}
    check(st == 200 and version == 11 and h.get("Content-Length") is None and root.tag == "database"
          and pairs.get("schema_major_vsn") == "5" and pairs.get("generation_count", "").isdigit(),
          "xmldbdump: HTTP/1.1 200, no Content-Length, a database with a manifest", (st, pairs))
    tables = {t.get("name"): t for t in root.findall("table")}
    rows = {r.get("ref"): r for r in tables["VM"].findall("row")} if "VM" in tables else {}
    vms = sim.api("VM.get_all_records")
    check(set(rows) == set(vms) and all(unprotect(rows[r].get("name__label")) == v["name_label"]
                                        and rows[r].get("uuid") == v["uuid"] for r, v in vms.items()),
          "xmldbdump lists every VM with its uuid and name__label", set(rows) ^ set(vms))
    some = next(iter(rows.values()))
    check(some.get("memory__static_max") and some.get("VCPUs__at_startup") and some.get("__ctime")
          and (some.get("VBDs") or "").startswith("("), "namespaced columns and S-expression sets",
          sorted(some.keys())[:12])


if __name__ == "__main__":
    main()
