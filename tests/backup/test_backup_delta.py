#!/usr/bin/env python3
"""Delta (incremental) backups against xapi-sim on a file:// repository:
three runs with the disk changed between them, what xentui wrote read back
without xentui (the .json by Python, the VHD chains by libvhdi and
qemu-img), restores of the newest and the oldest point equal byte for byte
to what the disk held then, and retention 2 over 4 runs merging the
oldest delta into the full while every kept point still restores;
full_interval, a run with nothing changed, and a parent lost from the
repository. TAP."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
from deltatest import DAY, T0, Env, done, ok, pyvhdi, sanitizer_clean, ts  # noqa: E402


def check_vhds(env, j, expect, label):
    """Each VHD of the point: qemu-img sees a VHD of the disk's size; the
    chain read by libvhdi is the disk as it was."""
    for ref, rel in j["vhds"].items():
        path = os.path.join(env.vmdir(), rel)
        info = env.qemu_info(path)
        ok(info is not None and info.get("format") == "vpc" and info.get("virtual-size") == env.disk_size,
           "%s: qemu-img reads %s as a VHD of the disk's size" % (label, os.path.basename(rel)), info)
        diff = j["isVhdDifferencing"].get(ref + ".vhd", False)
        if not diff:
            ok(env.qemu_raw(path) == expect, "%s: qemu-img's raw copy of the full VHD is the disk" % label)
        if pyvhdi is not None:
            ok(env.chain_bytes(path) == expect, "%s: libvhdi reads the chain as the disk was" % label)


def delta_runs(env):
    expect = {}
    scratch = env.add_disk("[NOBAK] scratch", 8, "1")
    env.write(0, b"scratch" * 1000, scratch)
    for i in range(3):
        now = T0 + i * DAY
        expect[ts(now)] = env.change(i)
        r = env.run("inc", now)
        ok(r.returncode == 0 and sanitizer_clean(r), "delta run %d exits 0" % (i + 1), r.stdout + r.stderr)
    ok(env.read() == expect[ts(T0 + 2 * DAY)], "the disk read back through /export_raw_vdi is what was written")
    pts = env.points("inc")
    ok(sorted(pts) == sorted(expect), "three points, named by the run's time", sorted(pts))
    for i, (t, j) in enumerate(sorted(pts.items())):
        ok(j.get("version") == "2.0.0" and j.get("mode") == "delta" and j.get("vm", {}).get("name_label") == env.vm_name
           and isinstance(j.get("vdis"), dict) and isinstance(j.get("vbds"), dict) and isinstance(j.get("vifs"), dict)
           and j.get("vtpms") == [] and set(j.get("vhds", {})) == set(j["vdis"]),
           "point %s has XO's fields" % t, {k: j.get(k) for k in ("version", "mode", "vhds")})
        for ref, rec in j["vdis"].items():
            ok(rec.get("$snapshot_of$uuid") == env.vdi_uuid and rec.get("other_config", {}).get("xo:backup:vm") == env.vm_uuid
               and j["vhds"][ref].startswith("vdis/") and ("/%s/" % env.vdi_uuid) in j["vhds"][ref],
               "point %s: its VDI record names the source disk and the VHD's folder" % t, rec.get("$snapshot_of$uuid"))
            diff = j["isVhdDifferencing"].get(ref + ".vhd")
            ok(diff is (i > 0), "point %s: %s" % (t, "a delta" if i else "the first is a full"), diff)
        ok(env.files_whole(j) is None, "point %s: files have the recorded size and SHA-256" % t, env.files_whole(j))
        check_vhds(env, j, expect[t], "point %s" % t)
    ok(all(scratch not in json.dumps(j["vdis"]) and len(j["vhds"]) == 1 for j in pts.values()),
       "the disk named [NOBAK] is left out of every point")
    snaps = env.job_snapshots()
    ok(len(snaps) == 1 and snaps[0].get("xo:backup:exported") == "true"
       and snaps[0].get("xo:backup:datetime") == max(expect),
       "one snapshot of the job is kept (the newest run's, marked exported)", snaps)
    r = env.verify()
    ok(r.returncode == 0 and r.stdout.count("ok ") >= 3 and "BAD" not in r.stdout, "verify accepts the three points",
       r.stdout + r.stderr)
    newest, oldest = max(expect), min(expect)
    got, r = env.restore(name="restored-newest")
    ok(got == expect[newest], "restore of the newest point equals the disk at that run", r.stdout + r.stderr)
    got, r = env.restore(at=oldest, name="restored-oldest")
    ok(got == expect[oldest], "restore of the oldest point (--at) equals the disk at that run", r.stdout + r.stderr)
    vm = env.vms_named("restored-oldest")
    ok(len(vm) == 1 and len(env.disks_of(env.call("VM.get_uuid", vm[0]))) == 1,
       "the restored VM has the backed-up disk only")
    if vm:
        rec = env.call("VM.get_record", vm[0])
        ok(not rec["is_a_template"] and not rec["is_a_snapshot"] and "start" not in rec["blocked_operations"]
           and len(rec["VIFs"]) >= 1, "the restored VM is a startable VM with its network", rec["blocked_operations"])
    return expect


def retention(env):
    expect = {}
    for i in range(4):
        now = T0 + 10 * DAY + i * DAY
        expect[ts(now)] = env.change(100 + i)
        r = env.run("ret", now)
        ok(r.returncode == 0 and sanitizer_clean(r), "retention job run %d exits 0" % (i + 1), r.stdout + r.stderr)
    pts = env.points("ret")
    kept = sorted(expect)[-2:]
    ok(sorted(pts) == kept, "retention 2 keeps the two newest points", sorted(pts))
    vhd_names = set()
    for j in pts.values():
        for rel in j["vhds"].values():
            vhd_names.add(os.path.basename(rel))
    folder = os.path.dirname(os.path.join(env.vmdir(), list(pts[kept[0]]["vhds"].values())[0])) if pts else ""
    on_disk = set(os.listdir(folder)) if folder and os.path.isdir(folder) else set()
    ok(on_disk == vhd_names, "the aged-out points' VHDs are gone, no temporary file left", sorted(on_disk))
    if kept[0] in pts:
        j = pts[kept[0]]
        ok(all(v is False for v in j["isVhdDifferencing"].values()), "the oldest kept point is now a full",
           j["isVhdDifferencing"])
        ok(env.files_whole(j) is None, "the merged point's record matches its files", env.files_whole(j))
    for t in kept:
        if t in pts:
            check_vhds(env, pts[t], expect[t], "kept point %s" % t)
    r = env.verify()
    ok(r.returncode == 0 and "BAD" not in r.stdout, "verify accepts every point after the merges", r.stdout + r.stderr)
    for t in kept:
        got, r = env.restore(at=t, name="kept-" + t)
        ok(got == expect[t], "kept point %s restores equal to the disk then" % t, r.stdout + r.stderr)
    ok(not [f for f in os.listdir(env.vmdir()) if f.startswith(".")], "no merge state or temporary file is left",
       os.listdir(env.vmdir()))


def fulls(env):
    """full_interval; a run with nothing changed; a lost parent."""
    base = T0 + 20 * DAY
    for i in range(3):
        env.change(200 + i)
        r = env.run("every2", base + i * DAY)
        ok(r.returncode == 0, "full_interval job run %d exits 0" % (i + 1), r.stdout + r.stderr)
    pts = env.points("every2")
    kinds = [any(j["isVhdDifferencing"].values()) for _, j in sorted(pts.items())]
    ok(kinds == [False, True, False], "full_interval 2: full, delta, full", kinds)
    # nothing written since the last run: a delta with no block
    r = env.run("every2", base + 3 * DAY)
    ok(r.returncode == 0, "a run with the disk unchanged since the last one exits 0", r.stdout + r.stderr)
    got, r = env.restore(at=ts(base + 3 * DAY), name="unchanged")
    ok(got == bytes(env.model), "and its point restores equal to the disk", r.stdout + r.stderr)
    # the newest point lost from the repository: the next VHD cannot be a delta over it
    newest = max(env.points("every2"))
    j = env.points("every2")[newest]
    os.unlink(os.path.join(env.vmdir(), newest + ".json"))
    for rel in j["vhds"].values():
        os.unlink(os.path.join(env.vmdir(), rel))
    expect = env.change(210)
    t = ts(base + 4 * DAY)
    r = env.run("every2", base + 4 * DAY)
    j = env.points("every2").get(t, {})
    ok(r.returncode == 0 and j and not any(j["isVhdDifferencing"].values()),
       "with its parent gone from the repository, the next point is a full", r.stdout + r.stderr)
    got, r = env.restore(at=t, name="after-loss")
    ok(got == expect, "and it restores equal to the disk", r.stdout + r.stderr)


def network_by_name(env):
    """A point whose network's uuid the pool does not know: the VIF goes on
    the network of the same name (and VLAN)."""
    pts = env.points("inc")
    t = max(pts)
    path = os.path.join(env.vmdir(), t + ".json")
    j = pts[t]
    vif = list(j["vifs"].values())[0]
    want = vif["$network$name_label"]
    vif["$network$uuid"] = "00000000-0000-4000-8000-000000000000"
    with open(path, "w") as f:
        json.dump(j, f)
    got, r = env.restore(at=t, name="other-net")
    vm = env.vms_named("other-net")
    names = []
    if vm:
        for v in env.call("VM.get_VIFs", vm[0]):
            names.append(env.call("network.get_name_label", env.call("VIF.get_network", v)))
    ok(got is not None and names == [want], "a network unknown by uuid is found by its name", (names, want, r.stderr))


def two_remotes(env):
    """One export, written to both remotes of the job: the same files."""
    base = T0 + 40 * DAY
    for i in range(2):
        env.change(300 + i)
        r = env.run("both", base + i * DAY)
        ok(r.returncode == 0, "a job with two remotes: run %d exits 0" % (i + 1), r.stdout + r.stderr)
    same, n = True, 0
    for dirpath, _, files in os.walk(os.path.join(env.repo, "xo-vm-backups")):
        for f in files:
            p = os.path.join(dirpath, f)
            if "/vdis/" in p and "/vdis/" + job_dir(env, "both") + "/" not in p:
                continue
            if f.endswith(".json") and json.load(open(p)).get("xentui", {}).get("job") != "both":
                continue
            q = os.path.join(env.repo2, os.path.relpath(p, env.repo))
            n += 1
            same &= os.path.exists(q) and open(p, "rb").read() == open(q, "rb").read()
    ok(same and n == 4, "both remotes hold the same two points, byte for byte (%d files)" % n)


def job_dir(env, job):
    for j in env.points(job).values():
        return j["jobId"]
    return "?"


def main():
    env = Env([{"name": "inc", "mode": "delta", "retention": 7},
               {"name": "ret", "mode": "delta", "retention": 2},
               {"name": "every2", "mode": "delta", "retention": 9, "full_interval": 2},
               {"name": "both", "mode": "delta", "retention": 9, "remotes": ["repo", "repo2"]}])
    try:
        delta_runs(env)
        retention(env)
        fulls(env)
        two_remotes(env)
        network_by_name(env)
    finally:
        env.close()
    return done()


if __name__ == "__main__":
    sys.exit(main())
