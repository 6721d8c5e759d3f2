#!/usr/bin/env python3
"""The health check of a replication job (dr, cr) against two xapi-sim
processes, the second configured as another pool: after the replica is
made on that pool, xentui clones it on the check's SR (copies it there when
its disks are on another SR), removes the copy's VIFs, unblocks its start,
boots it and waits for the guest agent, then destroys it. Read back through
XML-RPC: the check's VM ran without a VIF and is gone afterwards, the
replica stays whole (halted, start blocked, its disk the source's bytes);
the run log says "passed in N s"; a guest whose agent never answers (the
sim's other_config sim_guest_agent = "never", carried into the replica)
fails with the timeout as its reason, the replica kept. TAP."""
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
from deltatest import DAY, T0, Env, SecondPool, done, ok, sanitizer_clean  # noqa: E402

BLOCKED = "Start operation for this vm is blocked, clone it if you want to use it."
CHECK_PREFIX = "hcrepl [health check "


def other_sr(pool):
    """A user SR of pool other than its default one (for the copy case), or None."""
    for ref, x in pool.call("SR.get_all_records").items():
        if ref != pool.sr and x["content_type"] == "user" and x["type"] not in ("iso", "udev"):
            return x["uuid"]
    return None


def write_config(env, p2, other):
    env.config = os.path.join(env.dir, "xentui.conf")
    hc = 'health_check = { sr = "%s"; timeout = %d; };'
    with open(env.config, "w") as f:
        f.write('servers = (\n  { name = "sim"; url = "%s"; user = "root"; password_env = "XENTUI_PW"; insecure = true; },\n'
                '  { name = "dr-site"; url = "%s"; user = "root"; password_env = "XENTUI_PW"; insecure = true; }\n);\n'
                % (env.url, p2.url))
        jobs = [('dr-hc', 'dr', hc % (p2.sr_uuid, 60)),
                ('cr-hc', 'cr', hc % (p2.sr_uuid, 60)),
                ('dr-short', 'dr', hc % (p2.sr_uuid, 4))]
        if other:
            jobs.append(('dr-copy', 'dr', hc % (other, 60)))
        f.write("backup_jobs = (\n%s\n);\n" % ",\n".join(
            '  { name = "%s"; server = "sim"; mode = "%s"; vms = ["%s"]; target_server = "dr-site"; '
            'target_sr = "%s"; retention = 2; %s }' % (name, mode, env.vm_name, p2.sr_uuid, h) for name, mode, h in jobs))


def runlog(env):
    path = os.path.join(env.dir, "state", "xentui", "runs.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def last_vm(env, job):
    runs = [r for r in runlog(env) if r.get("job") == job]
    return (runs[-1], runs[-1]["vms"][0]) if runs and runs[-1].get("vms") else (runs[-1] if runs else {}, {})


def check_vms(pool):
    return [(r, x) for r, x in pool.call("VM.get_all_records").items() if x["name_label"].startswith(CHECK_PREFIX)]


def replicas(pool, env, job):
    out = [(r, x) for r, x in pool.call("VM.get_all_records").items()
           if not x["is_a_snapshot"] and not x["is_a_template"] and x["other_config"].get("xo:backup:vm") == env.vm_uuid
           and (" - %s - (" % job) in x["name_label"]]
    return sorted(out, key=lambda rx: rx[1]["other_config"].get("xo:backup:datetime", ""))


def disks_of(pool, vm_ref):
    out = []
    for vbd in pool.call("VM.get_VBDs", vm_ref):
        rec = pool.call("VBD.get_record", vbd)
        if rec["type"] == "Disk" and rec["VDI"] != "OpaqueRef:NULL":
            out.append(rec["VDI"])
    return out


def run_watched(env, p2, job, now):
    """Runs job; while it runs, what the target pool shows of the check's VM:
    [(power_state, number of VIFs, SR uuids of its disks)] each time it is seen."""
    p = env.popen("run", job, now=now)
    seen = []
    deadline = time.time() + 100
    while p.poll() is None and time.time() < deadline:
        for ref, x in check_vms(p2):
            try:
                srs = sorted({p2.call("SR.get_uuid", p2.call("VDI.get_SR", v)) for v in disks_of(p2, ref)})
                seen.append((x["power_state"], len(p2.call("VM.get_VIFs", ref)), srs))
            except RuntimeError:
                pass  # destroyed between the reads
        time.sleep(0.2)
    if p.poll() is None:
        p.kill()
    out, err = p.communicate()
    return p.returncode, out, err, seen


def counts(pool):
    vms = pool.call("VM.get_all_records")
    vdis = pool.call("VDI.get_all_records")
    return (len([x for x in vms.values() if not x["is_a_snapshot"]]),
            len([x for x in vdis.values() if not x["is_a_snapshot"]]))


def passing(env, p2, job, now, sr_uuid, how):
    source = env.change(int(now) % 97)
    rc, out, err, seen = run_watched(env, p2, job, now)
    run, vm = last_vm(env, job)
    ok(rc == 0 and sanitizer_clean(type("R", (), {"stderr": err})), "%s with a health check exits 0" % job, out + err)
    ok(re.fullmatch(r"passed in \d+ s", vm.get("health_check", "")) is not None and vm.get("state") == "ok"
       and run.get("result") == "success", "%s: the run log says the health check passed" % job, json.dumps(vm))
    ok(any(ps == "Running" for ps, _, _ in seen), "%s: the check's VM was seen running on the target pool" % job, seen)
    ok(all(n == 0 for ps, n, _ in seen if ps == "Running"), "%s: it never ran with a VIF (%d looks)" % (job, len(seen)),
       seen)
    ok(seen and all(srs == [sr_uuid] for _, _, srs in seen), "%s: its disks were on the check's SR (%s)" % (job, how),
       seen)
    ok(not check_vms(p2), "%s: the check's VM is gone afterwards" % job, check_vms(p2))
    reps = replicas(p2, env, job)
    rec = reps[-1][1] if reps else {}
    ok(reps and rec["power_state"] == "Halted" and rec["blocked_operations"].get("start") == BLOCKED
       and rec["other_config"].get("xo:backup:datetime", "").startswith(time.strftime("%Y%m%d", time.gmtime(now))),
       "%s: the new replica stays, halted, its start blocked" % job, rec)
    disks = disks_of(p2, reps[-1][0]) if reps else []
    ok(len(disks) == 1 and p2.read(p2.call("VDI.get_uuid", disks[0])) == source,
       "%s: the replica's disk is still the source's bytes" % job)
    return reps


def main():
    env = Env([], disk_mib=8, vm_name="hcrepl")
    p2 = None
    try:
        p2 = SecondPool(env.dir)
        other = other_sr(p2)
        write_config(env, p2, other)
        r = env.xentui("list")
        ok(r.returncode == 0, "a dr and a cr job with health_check are accepted", r.stderr)

        before = counts(p2)
        passing(env, p2, "dr-hc", T0, p2.sr_uuid, "cloned")
        ok(counts(p2)[0] == before[0] + 1, "dr: one VM more on the target pool (the replica), nothing else",
           (before, counts(p2)))
        passing(env, p2, "cr-hc", T0 + DAY, p2.sr_uuid, "cloned")
        reps = passing(env, p2, "cr-hc", T0 + 2 * DAY, p2.sr_uuid, "cloned")
        ok(len(reps) == 2 and "delta" in (last_vm(env, "cr-hc")[1].get("note") or ""),
           "cr: the second run is a delta, checked as well", [x["name_label"] for _, x in reps])
        if other:
            passing(env, p2, "dr-copy", T0 + 3 * DAY, other, "copied there from the replica's SR")
        else:
            ok(True, "# SKIP the target pool has one user SR: no copy case")

        # a guest whose agent never answers: the replica carries the mark, the check fails
        env.call("VM.add_to_other_config", env.vm, "sim_guest_agent", "never")
        n_before = counts(p2)
        t0 = time.time()
        rc, out, err, seen = run_watched(env, p2, "dr-short", T0 + 4 * DAY)
        took = time.time() - t0
        run, vm = last_vm(env, "dr-short")
        ok(rc == 1 and vm.get("health_check") == "failed: the guest agent did not answer within 4 s",
           "a replica whose guest agent never answers fails the check, with the reason", out + err + json.dumps(vm))
        ok(vm.get("state") == "failed" and "health check failed" in (vm.get("error") or "")
           and run.get("result") == "failure", "the VM and the run are failed, saying why", json.dumps(run))
        ok(any(ps == "Running" for ps, _, _ in seen), "its check's VM ran while it waited", seen)
        ok(not check_vms(p2) and counts(p2)[0] == n_before[0] + 1 and len(replicas(p2, env, "dr-short")) == 1,
           "the check's VM is gone, the replica kept (%.1f s)" % took, (n_before, counts(p2)))
        env.call("VM.remove_from_other_config", env.vm, "sim_guest_agent")
    finally:
        if p2:
            p2.stop()
        env.close()
    return done()


if __name__ == "__main__":
    sys.exit(main())
