"""Full, snapshot and metadata backups with `xentui backup run` against
xapi-sim (TLS, the certificate pinned) into file:// repositories, read back
independently: Python reads the .json, hashes the .xva, opens it with
tarfile (after gzip or zstd) and checks every chunk's XXH64; the pool is read
back over XML-RPC. TAP output."""
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import ssl
import struct
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
from simtest import CTX, ROOT, ok, plan, start, stop_all, value  # noqa: E402

XENTUI = os.environ.get("XENTUI", os.path.join(ROOT, "build", "san", "xentui"))
TMP = tempfile.mkdtemp(prefix="xentui-bfull-")
ENV = dict(os.environ, XDG_STATE_HOME=os.path.join(TMP, "state"), XDG_CONFIG_HOME=os.path.join(TMP, "cfg"))

# ---- XXH64, to check the XVA's chunks without xentui's code ----------------------
P1, P2, P3, P4, P5 = (11400714785074694791, 14029467366897019727, 1609587929392839161, 9650029242287828579,
                      2870177450012600261)
M = (1 << 64) - 1


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M


def _round(acc, v):
    return (_rotl((acc + v * P2) & M, 31) * P1) & M


def _merge(acc, v):
    return ((acc ^ _round(0, v)) * P1 + P4) & M


def xxh64(data, seed=0):
    n = len(data)
    i = 0
    if n >= 32:
        v1, v2, v3, v4 = (seed + P1 + P2) & M, (seed + P2) & M, seed, (seed - P1) & M
        words = struct.unpack_from("<%dQ" % (n // 32 * 4), data)
        for k in range(0, len(words), 4):
            v1 = _round(v1, words[k])
            v2 = _round(v2, words[k + 1])
            v3 = _round(v3, words[k + 2])
            v4 = _round(v4, words[k + 3])
        h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & M
        h = _merge(_merge(_merge(_merge(h, v1), v2), v3), v4)
        i = n // 32 * 32
    else:
        h = (seed + P5) & M
    h = (h + n) & M
    while i + 8 <= n:
        h = (_rotl(h ^ _round(0, struct.unpack_from("<Q", data, i)[0]), 27) * P1 + P4) & M
        i += 8
    if i + 4 <= n:
        h = (_rotl(h ^ (struct.unpack_from("<I", data, i)[0] * P1) & M, 23) * P2 + P3) & M
        i += 4
    while i < n:
        h = (_rotl(h ^ (data[i] * P5) & M, 11) * P1) & M
        i += 1
    h ^= h >> 33
    h = (h * P2) & M
    h ^= h >> 29
    h = (h * P3) & M
    h ^= h >> 32
    return h


def xva_members(raw):
    """(ova.xml bytes, chunks checked, problems) of an XVA, plain, gzip or zstd."""
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    elif raw[:4] == b"\x28\xb5\x2f\xfd":
        raw = subprocess.run(["zstd", "-dc"], input=raw, capture_output=True, check=True).stdout
    problems, ova, chunks, last = [], None, 0, {}
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as t:
        members = t.getmembers()
        if not members or members[0].name != "ova.xml":
            problems.append("ova.xml is not first")
        for m in members:
            data = t.extractfile(m).read() if m.isfile() else b""
            if m.name == "ova.xml":
                ova = data
            elif re.fullmatch(r"Ref:[^/]+/\d{8}", m.name):
                last[m.name] = data
            elif m.name.endswith(".xxhash"):
                chunk = last.pop(m.name[:-7], None)
                if chunk is None:
                    problems.append("%s has no chunk" % m.name)
                elif int(data.decode().strip(), 16) != xxh64(chunk):
                    problems.append("%s does not match" % m.name)
                else:
                    chunks += 1
            else:
                problems.append("unexpected member %s" % m.name)
    if last:
        problems.append("chunks without a checksum: %s" % sorted(last)[:3])
    return ova, chunks, problems


def xentui(*args, now=None):
    env = dict(ENV)
    if now:
        env["XENTUI_NOW"] = str(now)
    p = subprocess.run([XENTUI, "backup", *args], capture_output=True, text=True, timeout=300, env=env)
    return p.returncode, p.stdout, p.stderr


def fingerprint(url):
    host, port = url.split("//")[1].split(":")
    pem = ssl.get_server_certificate((host, int(port)))
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def snapshots(px, sid):
    return {r: v for r, v in value(px, "VM.get_all_records", sid).items() if v["is_a_snapshot"]}


def points(repo, uuid):
    d = os.path.join(repo, "xo-vm-backups", uuid)
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def dump_normal(b):
    """The pool database without what changes from one read to the next."""
    s = b.decode()
    s = re.sub(r'key="generation_count" value="\d+"', "", s)
    return re.sub(r'<table name="task">.*?</table>', "", s, flags=re.S)


def main():
    url = start("--vms", "12")
    fp = fingerprint(url)
    px = xmlrpc.client.ServerProxy(url, context=CTX)
    sid = value(px, "session.login_with_password", "root", "xapi-sim", "2.21", "test")
    recs = value(px, "VM.get_all_records", sid)
    halted = sorted((v["name_label"], r) for r, v in recs.items()
                    if not v["is_a_template"] and not v["is_control_domain"] and not v["is_a_snapshot"]
                    and v["power_state"] == "Halted" and len(v["VBDs"]) >= 1)
    ok(len(halted) >= 4, "the pool has 4 halted VMs to back up", halted)
    (na, ra), (nb, rb), (nc, rc_), (nd, rd) = halted[:4]
    ua, ub, uc, ud = (recs[r]["uuid"] for r in (ra, rb, rc_, rd))
    # a disk of A left out by its name; C tagged as XO's "never back up"
    disks = []
    for vbd in recs[ra]["VBDs"]:
        v = value(px, "VBD.get_record", sid, vbd)
        if v["type"] == "Disk" and v["VDI"] != "OpaqueRef:NULL":
            disks.append(v["VDI"])
    sr = value(px, "VDI.get_SR", sid, disks[0])
    extra = value(px, "VDI.create", sid, {
        "name_label": "scratch [NOBAK]", "name_description": "", "SR": sr, "virtual_size": str(8 << 20),
        "type": "user", "sharable": False, "read_only": False, "other_config": {}, "xenstore_data": {},
        "sm_config": {}, "tags": []})
    value(px, "VBD.create", sid, {
        "VM": ra, "VDI": extra, "userdevice": "4", "bootable": False, "mode": "RW", "type": "Disk",
        "unpluggable": True, "empty": False, "other_config": {}, "qos_algorithm_type": "",
        "qos_algorithm_params": {}})
    kept_name = value(px, "VDI.get_name_label", sid, disks[0])
    value(px, "VM.add_tags", sid, rc_, "xo:no-bak")
    before = set(snapshots(px, sid))

    r1, r2 = os.path.join(TMP, "r1"), os.path.join(TMP, "r2")
    pw = write(os.path.join(TMP, "pw"), "xapi-sim\n")
    os.chmod(pw, 0o600)
    conf = write(os.path.join(TMP, "conf"), """
servers = ( { name = "sim"; url = "%(url)s"; password_file = "%(pw)s"; fingerprint = "%(fp)s"; } );
remotes = ( { name = "r1"; url = "file://%(r1)s"; }, { name = "r2"; url = "file://%(r2)s"; } );
backup_jobs = (
  { name = "full"; server = "sim"; mode = "full"; remotes = ["r1", "r2"]; vms = ["%(ua)s", "%(nb)s", "%(nc)s"];
    compression = "gzip"; concurrency = 2; retention = 3; },
  { name = "fullz"; server = "sim"; mode = "full"; remotes = ["r1"]; vms = ["%(ub)s"]; compression = "zstd"; },
  { name = "snaps"; server = "sim"; mode = "snapshot"; vms = ["%(ud)s"]; retention = 2; },
  { name = "meta"; server = "sim"; mode = "metadata"; remotes = ["r1"]; retention = 2; }
);
""" % dict(url=url, pw=pw, fp=fp, r1=r1, r2=r2, ua=ua, nb=nb, nc=nc, ub=ub, ud=ud))

    # ---- full, two VMs to two remotes at once -------------------------------------
    rc, out, err = xentui("run", "full", "-c", conf, now=1800000000)
    ok(rc == 0, "backup run full: exit 0", out + err)
    ok(re.fullmatch(r"job full: 3 VMs, 2 ok, 0 failed, 1 skipped, [\d.]+ [KMG]?i?B in \d+:\d\d\n", out) is not None,
       "one summary line on stdout", out)
    ts = "20270115T080000Z"
    for uuid, name in ((ua, na), (ub, nb)):
        ok(points(r1, uuid) == [ts + ".json", ts + ".xva"], "%s: one point (.json + .xva) on r1" % name,
           points(r1, uuid))
        try:
            meta = json.load(open(os.path.join(r1, "xo-vm-backups", uuid, ts + ".json")))
            raw = open(os.path.join(r1, "xo-vm-backups", uuid, ts + ".xva"), "rb").read()
            raw2 = open(os.path.join(r2, "xo-vm-backups", uuid, ts + ".xva"), "rb").read()
            meta2 = json.load(open(os.path.join(r2, "xo-vm-backups", uuid, ts + ".json")))
        except (OSError, ValueError) as e:
            ok(False, "%s: the point reads back" % name, e)
            continue
        want = {"version": "2.0.0", "mode": "full", "timestamp": 1800000000000, "xva": "./%s.xva" % ts,
                "size": len(raw)}
        ok(all(meta.get(k) == v for k, v in want.items()) and meta["jobId"] == meta["scheduleId"]
           and re.fullmatch(r"[0-9a-f-]{36}", meta["jobId"]), "%s: the .json has XO's fields" % name,
           {k: meta.get(k) for k in list(want) + ["jobId", "scheduleId"]})
        ok(meta["vm"]["uuid"] == uuid and meta["vm"]["name_label"] == name and meta["vmSnapshot"]["is_a_snapshot"]
           and meta["vmSnapshot"]["snapshot_of"] == (ra if uuid == ua else rb),
           "%s: vm and vmSnapshot are the VM's and the snapshot's records" % name)
        f = meta.get("xentui", {}).get("files", {}).get("./%s.xva" % ts, {})
        ok(f.get("sha256") == hashlib.sha256(raw).hexdigest() and f.get("size") == len(raw)
           and meta["xentui"].get("job") == "full", "%s: our sha256 and size match the .xva's bytes" % name, f)
        ok(raw2 == raw and meta2 == meta, "%s: the second remote holds the same point" % name)
        ova, chunks, problems = xva_members(raw)
        ok(raw[:2] == b"\x1f\x8b" and ova and chunks > 0 and not problems,
           "%s: the .xva is a whole gzip'd XVA, every chunk's XXH64 right (%d chunks)" % (name, chunks), problems)
        if uuid == ua:
            ok(ova and b"[NOBAK]" not in ova and kept_name.encode() in ova, "%s: the [NOBAK] disk is left out" % name)
    ok(points(r1, uc) == [] and points(r2, uc) == [], "%s (tagged xo:no-bak) is skipped" % nc)
    ok(set(snapshots(px, sid)) == before, "no snapshot is left on the pool")
    leftovers = [os.path.join(d, f) for repo in (r1, r2) for d, _, fs in os.walk(repo) for f in fs if ".tmp" in f]
    ok(not leftovers, "no temporary file is left in the repositories", leftovers)

    # ---- zstd --------------------------------------------------------------------
    rc, out, err = xentui("run", "fullz", "-c", conf, now=1800000600)
    raw = b""
    p = os.path.join(r1, "xo-vm-backups", ub, "20270115T081000Z.xva")
    if os.path.exists(p):
        raw = open(p, "rb").read()
    ova, chunks, problems = xva_members(raw) if raw else (None, 0, ["no .xva"])
    ok(rc == 0 and raw[:4] == b"\x28\xb5\x2f\xfd" and chunks > 0 and not problems,
       "compression zstd: a whole zstd XVA", out + err + str(problems))

    # ---- rolling snapshots: only our own, `retention` of them -----------------------
    mine = value(px, "VM.snapshot", sid, rd, "taken by hand")
    for i in range(3):
        rc, out, err = xentui("run", "snaps", "-c", conf, now=1800000000 + 3600 * i)
        ok(rc == 0, "snapshot run %d: exit 0" % (i + 1), out + err)
    snaps = {r: v for r, v in snapshots(px, sid).items() if v["snapshot_of"] == rd}
    marked = {r: v for r, v in snaps.items() if v["other_config"].get("xo:backup:job")}
    ok(len(marked) == 2, "snapshot mode keeps exactly retention (2) of its snapshots", sorted(
        v["name_label"] for v in snaps.values()))
    ok(mine in snaps, "a snapshot made by hand is never touched")
    ok(all(v["other_config"].get("xo:backup:vm") == ud and v["other_config"].get("xo:backup:schedule")
           and v["other_config"].get("xo:backup:datetime") in ("20270115T090000Z", "20270115T100000Z")
           for v in marked.values()), "the newest two are kept, marked as XO marks them",
       [v["other_config"] for v in marked.values()])
    ok(all(v["name_label"].startswith("%s (snaps) " % nd) for v in marked.values()),
       "snapshots are named '<vm> (<job>) <ts>'", [v["name_label"] for v in marked.values()])

    # ---- metadata ------------------------------------------------------------------
    rc, out, err = xentui("run", "meta", "-c", conf, now=1800000000)
    ok(rc == 0 and out.startswith("job meta: pool metadata, ok"), "metadata run: exit 0", out + err)
    pool = value(px, "pool.get_all", sid)[0]
    pool_uuid = value(px, "pool.get_uuid", sid, pool)
    base = os.path.join(r1, "xo-pool-metadata-backups")
    found = [os.path.join(d, "data") for d, _, fs in os.walk(base) if "data" in fs and pool_uuid in d]
    dump = urllib.request.urlopen("%s/pool/xmldbdump?session_id=%s" % (url, sid), context=CTX).read()
    ok(len(found) == 1 and dump_normal(open(found[0], "rb").read()) == dump_normal(dump)
       and os.path.exists(os.path.join(os.path.dirname(found[0]), "metadata.json")),
       "metadata: the pool dump equals GET /pool/xmldbdump", found)
    cfgs = [os.path.join(d, "data.json") for d, _, fs in os.walk(os.path.join(r1, "xo-config-backups"))
            if "data.json" in fs]
    ok(len(cfgs) == 1 and open(cfgs[0], "rb").read() == open(conf, "rb").read(),
       "metadata: xentui's configuration file is kept beside it", cfgs)
    stop_all()

    # ---- an export cut mid-stream leaves no point; the next run succeeds --------------
    url2 = start("--vms", "4", "--plain", "--faults", "cut=200000:/export*1")
    px2 = xmlrpc.client.ServerProxy(url2)
    sid2 = value(px2, "session.login_with_password", "root", "xapi-sim", "2.21", "test")
    recs2 = value(px2, "VM.get_all_records", sid2)
    vm2 = sorted((v["name_label"], v["uuid"], r) for r, v in recs2.items()
                 if not v["is_a_template"] and not v["is_control_domain"] and v["power_state"] == "Halted")[0]
    r3 = os.path.join(TMP, "r3")
    conf2 = write(os.path.join(TMP, "conf2"), """
servers = ( { name = "sim"; url = "%s"; password_file = "%s"; } );
remotes = ( { name = "r3"; url = "file://%s"; } );
backup_jobs = ( { name = "cut"; id = "3c1f6e0a-5b7d-4e2a-9f10-2a4b6c8d0e1f"; mode = "full"; remotes = ["r3"];
                  vms = ["%s"]; compression = "none"; retention = 2; } );
""" % (url2, pw, r3, vm2[1]))
    before2 = set(snapshots(px2, sid2))
    rc, out, err = xentui("run", "cut", "-c", conf2, now=1800000000)
    ok(rc == 1 and "1 failed" in out and vm2[0] in err, "a cut export fails the VM (exit 1)", out + err)
    ok(points(r3, vm2[1]) == [], "a cut export leaves no .json (nor .xva, nor temporary file)", points(r3, vm2[1]))
    ok(set(snapshots(px2, sid2)) == before2, "a failed run leaves no snapshot behind")
    # what a killed run would leave: a snapshot with the job's mark
    left = value(px2, "VM.snapshot", sid2, vm2[2], "left by a killed run")
    value(px2, "VM.add_to_other_config", sid2, left, "xo:backup:job", "3c1f6e0a-5b7d-4e2a-9f10-2a4b6c8d0e1f")
    rc, out, err = xentui("run", "cut", "-c", conf2, now=1800000060)
    ok(rc == 0 and points(r3, vm2[1]) == ["20270115T080100Z.json", "20270115T080100Z.xva"],
       "the next run succeeds", out + err + str(points(r3, vm2[1])))
    ok(set(snapshots(px2, sid2)) == before2, "and removes the snapshot a killed run of the job left")
    for i in (2, 3):
        rc, out, err = xentui("run", "cut", "-c", conf2, now=1800000000 + 60 * i)
    ok(rc == 0 and points(r3, vm2[1]) == ["20270115T080200Z.json", "20270115T080200Z.xva",
                                          "20270115T080300Z.json", "20270115T080300Z.xva"],
       "retention 2 keeps the newest two full points", out + err + str(points(r3, vm2[1])))


try:
    main()
finally:
    stop_all()
    shutil.rmtree(TMP, ignore_errors=True)
sys.exit(plan())
