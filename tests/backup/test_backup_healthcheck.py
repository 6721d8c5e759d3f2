#!/usr/bin/env python3
"""The health check of a backup job against xapi-sim: after the point is
written, xentui restores it on the chosen SR, removes its VIFs, boots it and
waits for the guest agent (or, for a VM tagged
xo-backup-health-check-xenstore, for `success` under xenstore
vm-data/xo-backup-health-check), then destroys it and its disks. The run log
says "passed in N s" or "failed: <reason>"; a VM whose agent never answers
(the sim's other_config sim_guest_agent = "never", carried by the XVA into
the restore) fails with the timeout as its reason. The pool is read back
through XML-RPC: the check's VM runs with no VIF, and no VM or VDI is left
behind. TAP."""
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
from deltatest import DAY, T0, Env, done, ok, sanitizer_clean  # noqa: E402

HC_PREFIX = "hctest [health check "


def write_config(env):
    jobs = [{"name": "hc-full", "mode": "full", "compression": "none", "retention": 2, "HC": "60"},
            {"name": "hc-delta", "mode": "delta", "retention": 2, "HC": "60"},
            {"name": "hc-short", "mode": "full", "compression": "none", "retention": 2, "HC": "5"},
            {"name": "hc-tagged", "mode": "full", "compression": "none", "retention": 2, "HC": "60:tagged"}]
    env.write_config(jobs)
    with open(env.config) as f:
        text = f.read()

    def group(m):
        timeout, _, tagged = m.group(1).partition(":")
        tags = ' tags = ["hc-me"];' if tagged else ""
        return '    health_check = { sr = "%s"; timeout = %s;%s };' % (env.sr_uuid, timeout, tags)
    text = re.sub(r'^    HC = "([^"]*)";$', group, text, flags=re.M)
    with open(env.config, "w") as f:
        f.write(text)


def runlog(env):
    path = os.path.join(env.dir, "state", "xentui", "runs.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def counts(env):
    """VMs and VDIs that are not snapshots (a delta job keeps its snapshot as the next base)."""
    vms = env.call("VM.get_all_records")
    vdis = env.call("VDI.get_all_records")
    return (len([x for x in vms.values() if not x["is_a_snapshot"]]),
            len([x for x in vdis.values() if not x["is_a_snapshot"]]))


def check_vms(env):
    return [(r, x) for r, x in env.call("VM.get_all_records").items() if x["name_label"].startswith(HC_PREFIX)]


def run_watched(env, job, now):
    """Runs job; while it runs, what the pool shows of the check's VM:
    [(power_state, number of VIFs)] each time it is seen."""
    p = env.popen("run", job, now=now)
    seen = []
    deadline = time.time() + 100
    while p.poll() is None and time.time() < deadline:
        for ref, x in check_vms(env):
            try:
                seen.append((x["power_state"], len(env.call("VM.get_VIFs", ref))))
            except RuntimeError:
                pass  # destroyed between the two reads
        time.sleep(0.2)
    if p.poll() is None:
        p.kill()
    out, err = p.communicate()
    return p.returncode, out, err, seen


def last_vm(env, job):
    runs = [r for r in runlog(env) if r.get("job") == job]
    return (runs[-1], runs[-1]["vms"][0]) if runs and runs[-1].get("vms") else (runs[-1] if runs else {}, {})


def passing(env):
    ok(len(env.call("VM.get_VIFs", env.vm)) >= 1, "the test VM has a network interface (its restore would too)")
    for i, job in enumerate(("hc-full", "hc-delta")):
        env.change(10 + i)
        before = counts(env)
        rc, out, err, seen = run_watched(env, job, T0 + i * DAY)
        run, vm = last_vm(env, job)
        ok(rc == 0 and sanitizer_clean(type("R", (), {"stderr": err})), "%s with a health check exits 0" % job,
           out + err)
        hc = vm.get("health_check", "")
        ok(re.fullmatch(r"passed in \d+ s", hc) is not None and vm.get("state") == "ok" and run.get("result") == "success",
           "%s: the run log says the health check passed" % job, json.dumps(vm))
        ok(any(ps == "Running" for ps, _ in seen), "%s: the check's VM was seen running" % job, seen)
        ok(all(n == 0 for ps, n in seen if ps == "Running"), "%s: the check's VM never ran with a VIF (%d looks)"
           % (job, len(seen)), seen)
        ok(not check_vms(env), "%s: the check's VM is gone afterwards" % job, check_vms(env))
        after = counts(env)
        ok(after == before, "%s: as many VMs and VDIs (not snapshots) as before the run: %d, %d" % (job, *before),
           (before, after))


def failing(env):
    env.call("VM.add_to_other_config", env.vm, "sim_guest_agent", "never")
    env.change(20)
    before = counts(env)
    t0 = time.time()
    rc, out, err, seen = run_watched(env, "hc-short", T0 + 2 * DAY)
    took = time.time() - t0
    run, vm = last_vm(env, "hc-short")
    ok(rc == 1, "a run whose health check fails exits 1", out + err)
    ok(vm.get("health_check") == "failed: the guest agent did not answer within 5 s",
       "the run log gives the reason: the guest agent did not answer within 5 s", json.dumps(vm))
    ok(vm.get("state") == "failed" and "health check failed" in (vm.get("error") or "")
       and run.get("result") == "failure", "the VM and the run are failed, saying why", json.dumps(run))
    ok("the guest agent did not answer within 5 s" in err, "the run's stderr says so too", err)
    ok(any(ps == "Running" for ps, _ in seen) and all(n == 0 for ps, n in seen if ps == "Running"),
       "the check's VM ran, without a VIF, while it waited", seen)
    ok(not check_vms(env) and counts(env) == before, "the check's VM and its disks are gone afterwards",
       (before, counts(env), check_vms(env)))
    ok(5 <= took < 60, "the check gave up after its timeout (%.1f s)" % took)
    env.call("VM.remove_from_other_config", env.vm, "sim_guest_agent")


def tagged(env):
    env.change(30)
    rc, out, err, seen = run_watched(env, "hc-tagged", T0 + 3 * DAY)
    run, vm = last_vm(env, "hc-tagged")
    ok(rc == 0 and "health_check" not in vm and not seen,
       "tags = [\"hc-me\"]: a VM without the tag is backed up and not checked", json.dumps(vm))
    env.call("VM.add_tags", env.vm, "hc-me")
    env.change(31)
    rc, out, err, seen = run_watched(env, "hc-tagged", T0 + 4 * DAY)
    run, vm = last_vm(env, "hc-tagged")
    ok(rc == 0 and (vm.get("health_check") or "").startswith("passed in "), "with the tag it is checked",
       json.dumps(vm))


def xenstore(env):
    """XO's way for a VM tagged xo-backup-health-check-xenstore: the guest's
    script writes success or failure under vm-data/xo-backup-health-check."""
    env.call("VM.add_tags", env.vm, "xo-backup-health-check-xenstore")
    env.change(40)
    rc, out, err, seen = run_watched(env, "hc-full", T0 + 5 * DAY)
    run, vm = last_vm(env, "hc-full")
    ok(rc == 0 and (vm.get("health_check") or "").startswith("passed in "),
       "a guest whose script writes success passes", json.dumps(vm))
    env.call("VM.add_to_other_config", env.vm, "sim_health_check_script", "failure")
    env.change(41)
    rc, out, err, seen = run_watched(env, "hc-full", T0 + 6 * DAY)
    run, vm = last_vm(env, "hc-full")
    ok(rc == 1 and vm.get("health_check") == "failed: the guest's health check script reported a failure: "
       "the service did not start", "one whose script writes failure fails with its message", json.dumps(vm))
    ok(not check_vms(env), "and its check's VM is gone too")
    env.call("VM.remove_from_other_config", env.vm, "sim_health_check_script")
    env.call("VM.remove_tags", env.vm, "xo-backup-health-check-xenstore")


def bad_config(env):
    with open(env.config) as f:
        text = f.read()
    with open(env.config, "w") as f:
        f.write(text.replace('timeout = 5; }', 'timeout = 5; when = "always"; }'))
    r = env.xentui("run", "hc-short")
    ok(r.returncode != 0 and "health_check" in r.stderr and "xentui.conf:" in r.stderr,
       "an unknown health_check setting is refused with file:line", r.stderr)
    with open(env.config, "w") as f:
        f.write(text)


def main():
    env = Env([], vm_name="hctest")
    try:
        write_config(env)
        passing(env)
        failing(env)
        tagged(env)
        xenstore(env)
        bad_config(env)
    finally:
        env.close()
    return done()


if __name__ == "__main__":
    sys.exit(main())
