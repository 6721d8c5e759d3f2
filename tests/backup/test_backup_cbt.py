#!/usr/bin/env python3
"""Delta backups with changed-block tracking and NBD against xapi-sim (whose
NBD server is Debian's nbdkit with TLS): the first run enables CBT on the
VM's disk and is a full; after a few known 64 KiB blocks are written, the
next run reads exactly those blocks over NBD (counted in nbdkit's own log
and in the point's record) and its chain restores equal to the disk; with
purge_snapshot_data the kept snapshot holds only CBT metadata and the next
delta still goes over NBD; without a network of purpose nbd the run falls
back to xapi's VHD stream and says so. TAP."""
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
from deltatest import DAY, MiB, ROOT, T0, Env, done, ok, pyvhdi, sanitizer_clean, ts  # noqa: E402

XO_DIR = os.path.join(ROOT, "build", "backup", "xo")  # XO's code, as test_backup_xo.py installs it

KiB64 = 64 * 1024


def nbd_reads(env):
    """Bytes nbdkit served (its log filter's Read lines), or None without a log."""
    with open(env.sim_log.name) as f:
        m = re.search(r"nbdkit serves VDIs over NBD with TLS on \S+, log (\S+)", f.read())
    if not m or not os.path.exists(m.group(1)):
        return None
    total = 0
    with open(m.group(1)) as f:
        for line in f:
            r = re.search(r" Read id=\d+ offset=0x[0-9a-f]+ count=0x([0-9a-f]+)", line)
            if r:
                total += int(r.group(1), 16)
    return total


def data_blocks(model):
    """The 2 MiB blocks of the disk that are not all zeros."""
    z = bytes(2 * MiB)
    return sum(1 for i in range(0, len(model), 2 * MiB) if model[i:i + 2 * MiB] != z[:len(model[i:i + 2 * MiB])])


def write_known(env, seed):
    """Writes that touch exactly four 64 KiB blocks; their indexes."""
    b = bytes([seed]) * 200
    env.write(1 * MiB + 100, b[:10])          # block 16
    env.write(5 * MiB, bytes([seed ^ 0x55]) * KiB64)  # block 80, exactly
    env.write(8 * MiB - 100, b)               # blocks 127 and 128 (two VHD blocks)
    return {16, 80, 127, 128}


def last_note(env):
    """The notes of the newest run in the run log (what the run detail shows as "How")."""
    path = os.path.join(env.dir, "state", "xentui", "runs.jsonl")
    if not os.path.exists(path):
        return ""
    with open(path) as f:
        lines = [line for line in f if line.strip()]
    notes = []

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k == "note" and isinstance(v, str):
                    notes.append(v)
                else:
                    walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(json.loads(lines[-1]) if lines else {})
    return " | ".join(notes)


def point(env, job, now):
    return env.points(job).get(ts(now), {})


def transfer(j):
    return list(j.get("xentui", {}).get("transfer", {}).values())


def snapshot_vdis(env, job_id):
    """Types of the disks of the job's kept snapshot(s)."""
    out = []
    for s in env.call("VM.get_snapshots", env.vm):
        if env.call("VM.get_other_config", s).get("xo:backup:job") != job_id:
            continue
        for vbd in env.call("VM.get_VBDs", s):
            rec = env.call("VBD.get_record", vbd)
            if rec["type"] == "Disk" and rec["VDI"] != "OpaqueRef:NULL":
                out.append(env.call("VDI.get_type", rec["VDI"]))
    return out


def check_restore(env, now, expect, label):
    got, r = env.restore(at=ts(now), name="r-" + ts(now))
    ok(got == expect, "%s: the restore equals the disk byte for byte" % label, r.stdout + r.stderr)
    j = point(env, None, now) or {}
    if pyvhdi is not None and j.get("vhds"):
        path = os.path.join(env.vmdir(), list(j["vhds"].values())[0])
        ok(env.chain_bytes(path) == expect, "%s: libvhdi reads the VHD chain as the disk" % label)


def cbt_runs(env, net, models):
    vdi = env.call("VDI.get_by_uuid", env.vdi_uuid)
    expect = env.change(1)
    r = env.run("cbt", T0)
    j = point(env, "cbt", T0)
    tr = transfer(j)
    ok(r.returncode == 0 and sanitizer_clean(r) and j, "first run exits 0 and writes a point", r.stdout + r.stderr)
    ok(env.call("VDI.get_cbt_enabled", vdi) is True, "the first run enabled CBT on the VM's disk")
    ok([t.get("way") for t in tr] == ["nbd full stream"] and "disk 0: nbd full stream" in last_note(env)
       and not any(j["isVhdDifferencing"].values()),
       "the first point is a full read over NBD, and the run log says so", (tr, last_note(env)))
    want = data_blocks(expect) * 2 * MiB
    got = nbd_reads(env)
    ok(tr and tr[0].get("nbdBytes") == want and got == want,
       "only the 2 MiB blocks holding data were read (%d bytes; NBD block status)" % want, (tr, got))
    check_restore(env, T0, expect, "nbd full")
    models[ts(T0)] = expect
    before = nbd_reads(env) or 0
    changed = write_known(env, 7)
    expect = bytes(env.model)
    now = T0 + DAY
    r = env.run("cbt", now)
    j = point(env, "cbt", now)
    tr = transfer(j)
    ok(r.returncode == 0 and sanitizer_clean(r) and j and all(j["isVhdDifferencing"].values()),
       "second run exits 0 with a delta point", r.stdout + r.stderr)
    ok([t.get("way") for t in tr] == ["nbd+cbt"] and "disk 0: nbd+cbt, 4 changed blocks of 64 KiB" in last_note(env),
       "the delta went over NBD with CBT, and the run log says so", (tr, last_note(env)))
    want = len(changed) * KiB64
    ok(tr and tr[0].get("changedBlocks") == len(changed) and tr[0].get("nbdBytes") == want,
       "the point records %d changed 64 KiB blocks, %d bytes read" % (len(changed), want), tr)
    got = nbd_reads(env)
    ok(got is not None and got - before == want,
       "nbdkit's log shows exactly the changed blocks read (%d bytes)" % want, (got, before))
    vhd = os.path.join(env.vmdir(), list(j["vhds"].values())[0]) if j else ""
    size = os.path.getsize(vhd) if vhd and os.path.exists(vhd) else -1
    ok(0 < size < 4 * (2 * MiB + 512) + 64 * 1024, "the delta VHD holds only the four touched 2 MiB blocks", size)
    check_restore(env, now, expect, "nbd+cbt delta")
    models[ts(now)] = expect

    # without the nbd network: the VHD stream, said
    env.call("network.remove_purpose", net, "nbd")
    write_known(env, 9)
    expect = bytes(env.model)
    now = T0 + 2 * DAY
    r = env.run("cbt", now)
    j = point(env, "cbt", now)
    ways = [t.get("way", "") for t in transfer(j)]
    ok(r.returncode == 0 and len(ways) == 1 and ways[0].startswith("vhd delta stream (no NBD+CBT: the pool offers no NBD")
       and "disk 0: vhd delta stream (no NBD+CBT" in last_note(env),
       "without a network of purpose nbd the delta falls back to the VHD stream, said in the run log",
       (ways, last_note(env)))
    check_restore(env, now, expect, "fallback delta")
    models[ts(now)] = expect
    r = env.run("nonbd", now + 3600)
    j = point(env, "nonbd", now + 3600)
    ways = [t.get("way", "") for t in transfer(j)]
    ok(r.returncode == 0 and ways == ["vhd full stream (no NBD: the job has nbd = false)"],
       "a job with nbd = false takes xapi's VHD stream, said", ways)
    check_restore(env, now + 3600, expect, "nbd = false full")
    env.call("network.add_purpose", net, "nbd")


def purge_runs(env, net):
    now = T0 + 10 * DAY
    env.change(20)
    r = env.run("purge", now)
    j = point(env, "purge", now)
    ok(r.returncode == 0 and j, "purge job: first run exits 0", r.stdout + r.stderr)
    types = snapshot_vdis(env, j.get("jobId"))
    ok(types == ["cbt_metadata"], "purge_snapshot_data: the kept snapshot's disk is cbt_metadata", types)
    write_known(env, 21)
    expect = bytes(env.model)
    now += DAY
    r = env.run("purge", now)
    j = point(env, "purge", now)
    ok(r.returncode == 0 and [t.get("way") for t in transfer(j)] == ["nbd+cbt"],
       "the next delta reads the changes over NBD from a base with no data", (transfer(j), r.stderr))
    ok(snapshot_vdis(env, j.get("jobId")) == ["cbt_metadata"], "and its own snapshot is purged in turn")
    check_restore(env, now, expect, "delta over a purged base")
    # no NBD and a base with no data: xapi cannot make a delta, so a full
    env.call("network.remove_purpose", net, "nbd")
    env.change(22)
    expect = bytes(env.model)
    now += DAY
    r = env.run("purge", now)
    j = point(env, "purge", now)
    ways = [t.get("way", "") for t in transfer(j)]
    ok(r.returncode == 0 and j and not any(j["isVhdDifferencing"].values()) and len(ways) == 1
       and ways[0].startswith("vhd full stream (the base snapshot holds only CBT metadata"),
       "without NBD over a purged base the point is a full, said", (ways, r.stderr))
    check_restore(env, now, expect, "full after a purged base")
    env.call("network.add_purpose", net, "nbd")


def xo_reads(env, models):
    """Xen Orchestra's own code (vhd-lib, RemoteAdapter) reads the NBD points."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "xo", "xo-read.mjs")
    if not shutil.which("node") or not os.path.exists(os.path.join(XO_DIR, "node_modules", "@xen-orchestra", "backups")):
        ok(True, "XO's code reads the NBD points # SKIP it is not installed (test_backup_xo.py installs it)")
        return
    out = os.path.join(env.dir, "xo-out")
    shutil.copy(script, os.path.join(XO_DIR, "xo-read-cbt.mjs"))
    try:
        r = subprocess.run(["node", os.path.join(XO_DIR, "xo-read-cbt.mjs"), env.repo, env.vm_uuid, out],
                           capture_output=True, text=True, timeout=120)
    finally:
        os.unlink(os.path.join(XO_DIR, "xo-read-cbt.mjs"))
    for t, want in sorted(models.items()):
        for kind in ("vhdlib", "adapter"):
            p = os.path.join(out, kind, t, env.vdi_uuid + ".raw")
            got = open(p, "rb").read() if os.path.exists(p) else None
            ok(got == want, "XO's %s reads the point %s as the disk was" % (kind, t), (r.returncode, r.stderr[-1500:]))


def retention_runs(env):
    """Retention 2 over NBD+CBT deltas: the merge folds the partial blocks
    (sector bitmaps) into the full, and both kept points still restore."""
    expect = {}
    for i in range(4):
        now = T0 + 20 * DAY + i * DAY
        write_known(env, 40 + i)
        env.write(i * 3 * MiB + 4096, bytes([i + 1]) * 3000)
        expect[ts(now)] = bytes(env.model)
        r = env.run("ret", now)
        ok(r.returncode == 0, "retention job run %d exits 0" % (i + 1), r.stdout + r.stderr)
    pts = env.points("ret")
    kept = sorted(expect)[-2:]
    ok(sorted(pts) == kept and [t.get("way") for t in transfer(pts.get(kept[1], {}))] == ["nbd+cbt"],
       "two points kept, the newest an NBD+CBT delta", sorted(pts))
    for t in kept:
        got, r = env.restore(at=t, name="ret-" + t)
        ok(got == expect[t], "kept point %s restores equal to the disk then" % t, r.stdout + r.stderr)


def main():
    env = Env([{"name": "cbt", "mode": "delta", "retention": 9},
               {"name": "purge", "mode": "delta", "retention": 9, "purge_snapshot_data": True},
               {"name": "nonbd", "mode": "delta", "retention": 9, "nbd": False},
               {"name": "ret", "mode": "delta", "retention": 2}])
    try:
        net = env.call("network.create", {"name_label": "NBD", "name_description": "", "MTU": "1500",
                                          "other_config": {}})
        env.call("network.add_purpose", net, "nbd")
        models = {}
        cbt_runs(env, net, models)
        xo_reads(env, models)
        purge_runs(env, net)
        retention_runs(env)
        r = env.verify()
        ok(r.returncode == 0 and "BAD" not in r.stdout, "verify accepts every point", r.stdout + r.stderr)
    finally:
        env.close()
    return done()


if __name__ == "__main__":
    sys.exit(main())
