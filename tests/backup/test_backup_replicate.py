#!/usr/bin/env python3
"""Replication (modes dr and cr) against xapi-sim: continuous replication
to a second sim process configured as another pool (a second `servers`
entry) over several runs with the source disk changed between them, each
replica's disk read back through the target's /export_raw_vdi equal to the
source's bytes, deltas after the first run, retention removing the oldest
replica and its disks, the replica halted, start blocked, tagged and named
as Xen Orchestra does; disaster recovery to an SR of the same pool; a
missing target SR and a full one fail with a sentence and leave no half
replica (nor a snapshot on the source). TAP."""
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
from deltatest import DAY, MiB, T0, Env, SecondPool, done, ok, sanitizer_clean, ts  # noqa: E402

BLOCKED = "Start operation for this vm is blocked, clone it if you want to use it."


def write_config(env, p2, jobs):
    env.config = os.path.join(env.dir, "xentui.conf")
    body = []
    for j in jobs:
        body.append("  { " + " ".join("%s = %s;" % (k, json.dumps(v)) for k, v in j.items())
                    + ' vms = ["%s"]; }' % env.vm_name)
    with open(env.config, "w") as f:
        f.write('servers = (\n  { name = "sim"; url = "%s"; user = "root"; password_env = "XENTUI_PW"; insecure = true; },\n'
                '  { name = "dr-site"; url = "%s"; user = "root"; password_env = "XENTUI_PW"; insecure = true; }\n);\n'
                % (env.url, p2.url))
        f.write("backup_jobs = (\n%s\n);\n" % ",\n".join(body))


def replicas(pool, vm_uuid, job):
    """{ref: record} of the whole replicas of job on pool, oldest first."""
    out = [(r, x) for r, x in pool.call("VM.get_all_records").items()
           if not x["is_a_snapshot"] and not x["is_a_template"] and x["other_config"].get("xo:backup:vm") == vm_uuid
           and (" - %s - (" % job) in x["name_label"]]
    return sorted(out, key=lambda rx: rx[1]["other_config"].get("xo:backup:datetime", ""))


def replica_disks(pool, vm_ref):
    out = []
    for vbd in pool.call("VM.get_VBDs", vm_ref):
        rec = pool.call("VBD.get_record", vbd)
        if rec["type"] == "Disk" and rec["VDI"] != "OpaqueRef:NULL":
            out.append(pool.call("VDI.get_uuid", rec["VDI"]))
    return out


def vdi_exists(pool, uuid):
    r = pool.api.VDI.get_by_uuid(pool.sid, uuid)
    return r.get("Status") == "Success"


def last_run(env):
    path = os.path.join(env.dir, "state", "xentui", "runs.jsonl")
    try:
        with open(path) as f:
            return json.loads(f.read().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        return {}


def last_note(env):
    return ((last_run(env).get("vms") or [{}])[0].get("note")) or ""


def last_bytes(env):
    return (last_run(env).get("vms") or [{}])[0].get("bytes", -1)


def check_replica(label, pool, ref, rec, env, job, now, sr_uuid, tag, expect):
    oc = rec["other_config"]
    ok(rec["power_state"] == "Halted", "%s: the replica is halted" % label, rec["power_state"])
    ok(rec["name_label"] == "%s - %s - (%s)" % (env.vm_name, job, ts(now)),
       "%s: named '<vm> - <job> - (<time>)' as XO names it" % label, rec["name_label"])
    ok(tag in rec["tags"], "%s: tagged '%s'" % (label, tag), rec["tags"])
    ok(rec["blocked_operations"].get("start") == BLOCKED and rec["blocked_operations"].get("start_on") == BLOCKED,
       "%s: start and start_on blocked with XO's reason" % label, rec["blocked_operations"])
    dt = oc.get("xo:backup:datetime", "")
    ok(oc.get("xo:backup:vm") == env.vm_uuid and oc.get("xo:backup:sr") == sr_uuid and oc.get("xo:backup:job")
       and re.fullmatch(r"\d{8}T\d\d:\d\d:\d\dZ", dt) and dt.replace(":", "") == ts(now),
       "%s: other_config carries xo:backup:job, :vm, :sr and :datetime" % label, oc)
    disks = replica_disks(pool, ref)
    ok(len(disks) == 1, "%s: the replica has the one disk" % label, disks)
    if disks:
        ok(pool.read(disks[0]) == expect, "%s: the replica's disk read back is the source's bytes" % label)
        voc = pool.call("VDI.get_other_config", pool.call("VDI.get_by_uuid", disks[0]))
        ok(voc.get("xo:copy_of") and voc.get("xo:backup:vm") == env.vm_uuid and voc.get("xo:backup:sr") == sr_uuid,
           "%s: the replica's disk is marked xo:copy_of and xo:backup:*" % label, voc)
        srref = pool.call("VDI.get_SR", pool.call("VDI.get_by_uuid", disks[0]))
        ok(pool.call("SR.get_uuid", srref) == sr_uuid, "%s: the disk is on the target SR" % label)
    return disks


def half_replica(pool, env):
    """What a run killed mid-transfer leaves: a copy of the newest replica
    still marked with XO's epoch datetime. Its ref and disk uuids."""
    ref = pool.call("VM.copy", replicas(pool, env.vm_uuid, "cr-away")[-1][0], "[Importing] half", pool.sr)
    pool.call("VM.remove_from_other_config", ref, "xo:backup:datetime")
    pool.call("VM.add_to_other_config", ref, "xo:backup:datetime", "19700101T000000Z")
    pool.call("VM.set_blocked_operations", ref, {"start": "Importing\u2026"})
    return ref, replica_disks(pool, ref)


def cr_other_pool(env, p2):
    first_disks, first_ref, moved = [], None, []
    # a disk mostly full, so a delta of a few blocks is visibly smaller than a full copy
    env.write(0, os.urandom(20 * MiB))
    for i in range(3):
        now = T0 + i * DAY
        expect = env.change(i)
        half = half_replica(p2, env) if i == 2 else None
        r = env.run("cr-away", now)
        if half:
            ok(p2.api.VM.get_record(p2.sid, half[0]).get("Status") != "Success"
               and not any(vdi_exists(p2, u) for u in half[1]),
               "a replica a cut-short run left (XO's epoch datetime) is removed with its disks", half)
        ok(r.returncode == 0 and sanitizer_clean(r), "cr run %d to the other pool exits 0" % (i + 1),
           r.stdout + r.stderr)
        note = last_note(env)
        moved.append(last_bytes(env))
        ok(note.startswith("full" if i == 0 else "delta"), "cr run %d: %s" % (i + 1, "a full" if i == 0 else
                                                                                 "a delta"), note)
        reps = replicas(p2, env.vm_uuid, "cr-away")
        ok(len(reps) == min(i + 1, 2), "cr run %d: %d replica(s) on the other pool (retention 2)"
           % (i + 1, min(i + 1, 2)), [x["name_label"] for _, x in reps])
        if not reps:
            continue
        ref, rec = reps[-1]
        disks = check_replica("cr run %d" % (i + 1), p2, ref, rec, env, "cr-away", now, p2.sr_uuid,
                              "Continuous Replication", expect)
        if i == 0:
            first_disks = disks
            first_ref = ref
        snaps = env.job_snapshots()
        ok(len(snaps) == 1 and snaps[0].get("xo:backup:exported") == "true"
           and snaps[0].get("xo:backup:datetime") == ts(now),
           "cr run %d: one snapshot kept on the source as the next base" % (i + 1), snaps)
    ok(moved[0] > 0 and all(0 < b < moved[0] for b in moved[1:]),
       "the deltas moved less than the first full copy", moved)
    ok(first_disks and not any(vdi_exists(p2, u) for u in first_disks)
       and p2.api.VM.get_record(p2.sid, first_ref).get("Status") != "Success",
       "retention removed the oldest replica and its disks")
    ok(not [x for x in env.call("VM.get_all_records").values() if " - cr-away - (" in x["name_label"]],
       "nothing of the other pool's replication landed on the source pool")


def dr_same_pool(env):
    for i in range(2):
        now = T0 + 10 * DAY + i * DAY
        expect = env.change(10 + i)
        r = env.run("dr-here", now)
        ok(r.returncode == 0 and sanitizer_clean(r), "dr run %d on the same pool exits 0" % (i + 1),
           r.stdout + r.stderr)
        reps = replicas(env, env.vm_uuid, "dr-here")
        ok(len(reps) == i + 1, "dr run %d: %d replica(s)" % (i + 1, i + 1), [x["name_label"] for _, x in reps])
        if reps:
            check_replica("dr run %d" % (i + 1), env, reps[-1][0], reps[-1][1], env, "dr-here", now, env.sr_uuid,
                          "Disaster Recovery", expect)
        ok(not [s for s in env.job_snapshots() if s.get("xo:backup:datetime") == ts(now)],
           "dr run %d: no snapshot of the run is left on the source" % (i + 1))


def counts(pool):
    vms = pool.call("VM.get_all_records")
    vdis = pool.call("VDI.get_all_records")
    return len(vms), len(vdis)


def failures(env, p2):
    before1, before2, snaps = counts(env), counts(p2), len(env.job_snapshots())
    r = env.run("dr-nowhere", T0 + 20 * DAY)
    ok(r.returncode == 1 and "there is no SR named 'no-such-sr' on pool 'sim'" in r.stderr + json.dumps(last_error(env)),
       "a missing target SR fails the run with a sentence naming it", r.stdout + r.stderr + json.dumps(last_error(env)))
    ok(counts(env) == before1 and counts(p2) == before2 and len(env.job_snapshots()) == snaps,
       "the missing SR left nothing behind on either pool")
    small = p2.call("SR.create", p2.call("host.get_all")[0], {"device": "/dev/sdz"}, str(4 * MiB), "tiny", "",
                    "ext", "user", False, {})
    ok(small.startswith("OpaqueRef:"), "a 4 MiB SR made on the other pool")
    before2 = counts(p2)
    r = env.run("cr-full", T0 + 21 * DAY)
    err = json.dumps(last_error(env))
    ok(r.returncode == 1 and "tiny" in err and "disk" in err,
       "a full target SR fails the run with a sentence naming the SR", err + r.stdout + r.stderr)
    ok(counts(p2) == before2, "the full SR left no half replica (no VM, no VDI) on the other pool",
       (before2, counts(p2)))
    ok(len(env.job_snapshots()) == snaps, "the failed run left no snapshot on the source")


def last_error(env):
    path = os.path.join(env.dir, "state", "xentui", "runs.jsonl")
    try:
        with open(path) as f:
            rec = json.loads(f.read().splitlines()[-1])
        return [v.get("error") for v in rec.get("vms") or []] + [rec.get("error")]
    except (OSError, ValueError, IndexError):
        return []


def config_errors(env, p2):
    cfg = env.config
    env.config = os.path.join(env.dir, "bad.conf")
    with open(env.config, "w") as f:
        f.write('servers = ( { name = "sim"; url = "%s"; user = "root"; password_env = "XENTUI_PW"; insecure = true; } );\n'
                'backup_jobs = ( { name = "x"; mode = "cr"; vms = ["a"]; } );\n' % env.url)
    r = env.xentui("list")
    ok(r.returncode == 2 and "target_sr" in r.stderr, "a cr job without target_sr is refused, naming the key",
       r.stderr)
    with open(env.config, "w") as f:
        f.write('servers = ( { name = "sim"; url = "%s"; user = "root"; password_env = "XENTUI_PW"; insecure = true; } );\n'
                'backup_jobs = ( { name = "x"; mode = "dr"; vms = ["a"]; target_sr = "s"; target_server = "nope"; } );\n'
                % env.url)
    r = env.xentui("list")
    ok(r.returncode == 2 and "no server named 'nope'" in r.stderr, "an unknown target_server is refused", r.stderr)
    env.config = cfg


def main():
    env = Env([], disk_mib=24, vm_name="repltest")
    p2 = None
    try:
        p2 = SecondPool(env.dir)
        sr_name = env.call("SR.get_name_label", env.sr)
        write_config(env, p2, [
            {"name": "cr-away", "server": "sim", "mode": "cr", "target_server": "dr-site", "target_sr": p2.sr_uuid,
             "retention": 2},
            {"name": "dr-here", "server": "sim", "mode": "dr", "target_sr": sr_name, "retention": 3},
            {"name": "dr-nowhere", "server": "sim", "mode": "dr", "target_sr": "no-such-sr"},
            {"name": "cr-full", "server": "sim", "mode": "cr", "target_server": "dr-site", "target_sr": "tiny"},
        ])
        cr_other_pool(env, p2)
        dr_same_pool(env)
        failures(env, p2)
        config_errors(env, p2)
    finally:
        if p2:
            p2.stop()
        env.close()
    return done()


if __name__ == "__main__":
    sys.exit(main())
