#!/usr/bin/env python3
"""Which VMs a job takes and how it runs them, against xapi-sim. TAP.

- Smart mode (tags any-of, exclude_tags, power_state, pools): the VMs a run
  takes are exactly those the rule names, computed here from the sim's VM
  records read through Python's xmlrpc; VMs tagged xo:no-bak are skipped
  (said so, and no snapshot made of them).
- offline = true: a running VM is shut down for the backup (its power state
  read while the backup runs) and started again afterwards, also when the
  backup fails (an export cut by the sim's cut= fault).
- timeout: a VM's backup slower than the timeout (the sim's slow= fault) is
  stopped, with a sentence, and leaves no restore point and no snapshot.
- concurrency 1 and 2 both give every VM its point.
"""
import glob
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
from deltatest import DAY, MiB, T0, Env, done, ok, sanitizer_clean, ts  # noqa: E402


class PoolEnv(Env):
    """Env with more VMs in the pool (the sim's own, of every power state)."""

    def make_vm(self, disk_mib):
        """As Env's, from a halted VM (VM.clone refuses a running one)."""
        try:
            pool = list(self.call("pool.get_all_records").values())[0]
            self.sr = pool["default_SR"]
            self.sr_uuid = self.call("SR.get_uuid", self.sr)
            self.vm, self.vm_uuid, self.vdi_uuid = make_vm(self, self.vm_name, disk_mib)
        except Exception:
            self.close()  # the constructor fails: nobody else stops the sim
            raise
        self.disk_size = disk_mib * MiB
        self.model = bytearray(self.disk_size)


def write_jobs(env, jobs):
    """The configuration with these jobs as they are (no vms added)."""
    def val(v):
        return str(v).lower() if isinstance(v, bool) else json.dumps(v)
    body = ",\n".join("  { server = \"sim\"; %s }" % " ".join("%s = %s;" % (k, val(v)) for k, v in j.items())
                      for j in jobs)
    with open(env.config, "w") as f:
        f.write('servers = ( { name = "sim"; url = "%s"; user = "root"; password_env = "XENTUI_PW"; '
                'insecure = true; } );\n' % env.url)
        f.write('remotes = ( { name = "repo"; url = "file://%s"; } );\n' % env.repo)
        f.write("backup_jobs = (\n%s\n);\n" % body)


def last_run(env):
    path = os.path.join(env.dir, "state", "xentui", "runs.jsonl")
    with open(path) as f:
        return json.loads(f.read().splitlines()[-1])


def guests(env):
    """{uuid: record} of the pool's guest VMs, read through XenAPI."""
    return {x["uuid"]: x for x in env.call("VM.get_all_records").values()
            if not x["is_a_template"] and not x["is_a_snapshot"] and not x["is_control_domain"]}


def job_snapshots(env, job_id):
    """{VM uuid: count} of the snapshots a job made."""
    recs = env.call("VM.get_all_records")
    out = {}
    for x in recs.values():
        if x["is_a_snapshot"] and x["other_config"].get("xo:backup:job") == job_id:
            u = recs[x["snapshot_of"]]["uuid"] if x["snapshot_of"] in recs else x["snapshot_of"]
            out[u] = out.get(u, 0) + 1
    return out


def make_vm(env, name, mib):
    """Another small halted test VM with one empty disk; (ref, uuid, VDI uuid)."""
    recs = env.call("VM.get_all_records")
    src = [r for r, x in recs.items() if not x["is_a_template"] and not x["is_a_snapshot"]
           and not x["is_control_domain"] and x["power_state"] == "Halted"][0]
    vm = env.call("VM.clone", src, name)
    for vbd in env.call("VM.get_VBDs", vm):
        rec = env.call("VBD.get_record", vbd)
        env.call("VBD.destroy", vbd)
        if rec["VDI"] != "OpaqueRef:NULL" and rec["type"] == "Disk":
            env.call("VDI.destroy", rec["VDI"])
    vdi = env.call("VDI.create", {"name_label": name + " disk", "name_description": "", "SR": env.sr,
                                  "virtual_size": str(mib * MiB), "type": "user", "sharable": False,
                                  "read_only": False, "other_config": {}})
    env.call("VBD.create", {"VM": vm, "VDI": vdi, "userdevice": "0", "bootable": True, "mode": "RW", "type": "Disk",
                            "empty": False, "other_config": {}, "qos_algorithm_type": "", "qos_algorithm_params": {}})
    return vm, env.call("VM.get_uuid", vm), env.call("VDI.get_uuid", vdi)


def points_of(env, vm_uuid):
    return sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(env.repo, "xo-vm-backups", vm_uuid, "*.json")))


# ---- smart mode ---------------------------------------------------------------------------

def expected(vms, tags=(), exclude=(), power=None):
    """The rule, computed from the records: any of tags (all VMs when none),
    none of exclude, in that power state."""
    out = set()
    for u, x in vms.items():
        t = set(x["tags"])
        if tags and not t & set(tags):
            continue
        if t & set(exclude):
            continue
        if power and x["power_state"] != power:
            continue
        out.add(u)
    return out


def smart():
    env = PoolEnv([], sim_args=("--hosts", "2", "--vms", "10"))
    try:
        vms = guests(env)
        names = sorted(vms, key=lambda u: vms[u]["name_label"])
        pool = list(env.call("pool.get_all_records").values())[0]
        # tags of our own, over VMs of every power state
        for i, u in enumerate(names):
            ref = env.call("VM.get_by_uuid", u)
            if i % 3 != 2:
                env.call("VM.add_tags", ref, "bk-a")
            if i % 4 == 1:
                env.call("VM.add_tags", ref, "bk-b")
            if i == 3:
                env.call("VM.add_tags", ref, "bk-skip")
            if i in (0, 5):
                env.call("VM.add_tags", ref, "xo:no-bak")
        vms = guests(env)
        states = sorted(set(x["power_state"] for x in vms.values()))
        ok(len(states) >= 3, "the pool's VMs are in several power states", states)
        jobs = [
            ("tags", {"tags": ["bk-a", "bk-b"], "exclude_tags": ["bk-skip"]},
             expected(vms, ["bk-a", "bk-b"], ["bk-skip"])),
            ("running", {"tags": ["bk-a"], "power_state": "Running"}, expected(vms, ["bk-a"], power="Running")),
            ("halted", {"tags": ["bk-b", "bk-a"], "power_state": "halted"},
             expected(vms, ["bk-a", "bk-b"], power="Halted")),
            ("this-pool", {"tags": ["bk-b"], "pools": [pool["uuid"]]}, expected(vms, ["bk-b"])),
            ("pool-name", {"tags": ["bk-b"], "pools": ["elsewhere", pool["name_label"]]}, expected(vms, ["bk-b"])),
            ("other-pool", {"tags": ["bk-a"], "pools": ["no-such-pool"]}, set()),
            ("only-exclude", {"exclude_tags": ["bk-a"]}, expected(vms, exclude=["bk-a"])),
        ]
        write_jobs(env, [dict(name=n, mode="snapshot", retention=3, **kv) for n, kv, _ in jobs])
        nobak = {u for u, x in vms.items() if "xo:no-bak" in x["tags"]}
        for n, kv, want in jobs:
            r = env.run(n, T0)
            run = last_run(env)
            took = {v["uuid"] for v in run["vms"]}
            skipped = {v["uuid"] for v in run["vms"] if v["state"] == "skipped"}
            okd = {v["uuid"] for v in run["vms"] if v["state"] == "ok"}
            label = "job %s (%s)" % (n, ", ".join("%s=%s" % i for i in kv.items()))
            ok(took == want, "%s takes exactly the VMs the rule names (%d)" % (label, len(want)),
               {"extra": sorted(vms[u]["name_label"] for u in took - want),
                "missing": sorted(vms[u]["name_label"] for u in want - took)})
            ok(skipped == want & nobak, "%s: the VMs tagged xo:no-bak are skipped" % n,
               sorted(vms[u]["name_label"] for u in skipped ^ (want & nobak)))
            ok(okd == want - nobak and r.returncode == 0 and sanitizer_clean(r),
               "%s: every other VM is backed up and the run exits 0" % n,
               (r.returncode, [(v["name"], v["state"], v.get("error")) for v in run["vms"]], r.stderr))
            snaps = job_snapshots(env, run["job_id"])
            ok(set(snaps) == want - nobak and all(c == 1 for c in snaps.values()),
               "%s: one snapshot of each VM taken, none of an xo:no-bak VM" % n,
               sorted(vms.get(u, {}).get("name_label", u) for u in set(snaps) ^ (want - nobak)))
            if want & nobak:
                ok("skipped" in r.stdout, "%s: the summary counts the skipped VMs" % n, r.stdout)
        ok(not env.xentui("run", "other-pool", now=T0 + 60).returncode,
           "a job whose pools do not hold the server's pool has nothing to do, and exits 0")
        # the rule is read at each run: a tag added now is taken next time
        u = sorted(expected(vms, exclude=["bk-a", "bk-b"]) - nobak)[0]
        env.call("VM.add_tags", env.call("VM.get_by_uuid", u), "bk-b")
        env.run("this-pool", T0 + DAY)
        ok(u in {v["uuid"] for v in last_run(env)["vms"]}, "a VM tagged bk-b since the last run is taken by the next")
    finally:
        env.close()


# ---- offline ----------------------------------------------------------------------------------

def power(env, vm):
    return env.call("VM.get_power_state", vm)


def watch(env, args, now):
    """Runs xentui, reading the VM's power state while it runs."""
    p = env.popen(*args, now=now)
    seen = []
    while p.poll() is None:
        try:
            seen.append(power(env, env.vm))
        except Exception:  # a call during the run may fail; the next one tells
            pass
        time.sleep(0.05)
    out, err = p.communicate()
    return p.returncode, out, err, seen


def offline():
    # the first export is cut; later ones go through, at 2 MB/s so the run can be watched
    env = Env([{"name": "off", "mode": "delta", "offline": True},
               {"name": "off-full", "mode": "full", "offline": True, "compression": "none"}],
              faults="slow=2000000,cut=300000:/export_raw_vdi*1", disk_mib=8)
    try:
        env.write(3 * MiB, b"offline!" * 512)
        env.call("VM.start", env.vm, False, False)
        ok(power(env, env.vm) == "Running", "the test VM runs before the backup")
        rc, out, err, seen = watch(env, ["run", "off"], T0)
        ok(rc == 1 and "Sanitizer" not in err, "an offline backup whose export is cut fails (exit 1)", out + err)
        ok("Halted" in seen, "the VM was shut down for the offline backup", sorted(set(seen)))
        ok(power(env, env.vm) == "Running", "after the failed backup the VM runs again", power(env, env.vm))
        ok(not env.points(), "the failed backup leaves no restore point", list(env.points()))
        ok(not env.job_snapshots(), "nor a snapshot of its own", env.job_snapshots())
        ok(env.vm_name in err and "export" in err, "a sentence on stderr names the VM and the failed export", err)

        rc, out, err, seen = watch(env, ["run", "off"], T0 + DAY)
        ok(rc == 0 and "Sanitizer" not in err, "the next offline backup succeeds", out + err)
        ok("Halted" in seen, "the VM was halted during it", sorted(set(seen)))
        ok(power(env, env.vm) == "Running", "and runs again afterwards", power(env, env.vm))
        pts = env.points("off")
        ok(list(pts) == [ts(T0 + DAY)], "one point, of the successful run", list(pts))
        if pts:
            got, r = env.restore(at=ts(T0 + DAY), name="off-restored")
            ok(got == bytes(env.model), "the offline point restores to the disk's content", r.stderr)

        rc, out, err, seen = watch(env, ["run", "off-full"], T0 + 2 * DAY)
        ok(rc == 0 and "Halted" in seen and power(env, env.vm) == "Running",
           "an offline full backup also halts the VM and starts it again", (rc, sorted(set(seen)), err))

        # a VM that was halted stays halted
        env.call("VM.clean_shutdown", env.vm)
        rc, out, err, seen = watch(env, ["run", "off"], T0 + 3 * DAY)
        ok(rc == 0 and set(seen) <= {"Halted"} and power(env, env.vm) == "Halted",
           "an offline backup of a halted VM leaves it halted", (rc, sorted(set(seen)), err))
    finally:
        env.close()


# ---- timeout ------------------------------------------------------------------------------------

def timeout():
    # 100 kB/s: one 2 MiB block of the disk takes ~20 s to export
    env = Env([{"name": "slow-delta", "mode": "delta", "timeout": 3},
               {"name": "slow-full", "mode": "full", "timeout": "3s", "compression": "none"}],
              faults="slow=100000", disk_mib=8)
    try:
        env.write(MiB, b"slow" * 1024)
        for k, job in enumerate(("slow-delta", "slow-full")):
            now = T0 + k * DAY
            t0 = time.time()
            r = env.run(job, now)
            took = time.time() - t0
            run = last_run(env)
            vm = run["vms"][0] if run["vms"] else {}
            ok(r.returncode == 1 and sanitizer_clean(r), "%s: a VM over the timeout fails the run (exit 1)" % job,
               r.stdout + r.stderr)
            ok(took < 15, "%s: the run stops soon after the 3 s timeout (%.1f s), not when the export ends" % (job, took))
            ok("timeout" in r.stderr and env.vm_name in r.stderr,
               "%s: a sentence names the VM and the timeout" % job, r.stderr)
            ok(vm.get("state") == "failed" and "timeout" in (vm.get("error") or ""),
               "%s: the run log records the VM as failed by the timeout" % job, vm)
            ok(not env.points(job), "%s: no restore point is left" % job, list(env.points(job)))
            left = [p for p in glob.glob(os.path.join(env.vmdir(), "**", "*"), recursive=True)
                    if os.path.isfile(p) and ts(now) in p]
            ok(not left, "%s: no file of the run is left in the VM's folder" % job, left)
            ok(not env.job_snapshots(run["job_id"]), "%s: no snapshot of the job is left" % job,
               env.job_snapshots(run["job_id"]))
    finally:
        env.close()


# ---- concurrency -----------------------------------------------------------------------------------

def concurrency():
    env = Env([], faults="slow=3000000", disk_mib=6)
    try:
        vm2, vm2_uuid, vdi2 = make_vm(env, "bktest2", 6)
        vm3, vm3_uuid, vdi3 = make_vm(env, "bktest3", 6)
        for k, vdi in enumerate((env.vdi_uuid, vdi2, vdi3)):
            env.write(MiB * (1 + k), bytes([0x41 + k]) * 8192, vdi)
        all_vms = {env.vm_uuid: "bktest", vm2_uuid: "bktest2", vm3_uuid: "bktest3"}
        write_jobs(env, [{"name": "one", "mode": "delta", "remotes": ["repo"], "concurrency": 1,
                          "vms": ["bktest", "bktest2", "bktest3"]},
                         {"name": "two", "mode": "full", "remotes": ["repo"], "concurrency": 2, "compression": "none",
                          "vms": ["bktest", "bktest2", "bktest3"]}])
        walls = {}
        for i, job in enumerate(("one", "two")):
            now = T0 + i * DAY
            t0 = time.time()
            r = env.run(job, now)
            walls[job] = time.time() - t0
            run = last_run(env)
            ok(r.returncode == 0 and sanitizer_clean(r), "concurrency %d: the run exits 0" % (i + 1),
               r.stdout + r.stderr)
            ok(sorted(v["state"] for v in run["vms"]) == ["ok"] * 3, "concurrency %d: every VM is ok" % (i + 1),
               [(v["name"], v["state"], v.get("error")) for v in run["vms"]])
            got = {u: points_of(env, u) for u in all_vms}
            ok(all(ts(now) in got[u] for u in all_vms), "concurrency %d: every VM has its point" % (i + 1), got)
            durations = sum(v["duration"] for v in run["vms"])
            if i == 0:
                ok(walls[job] + 0.5 >= durations, "concurrency 1: the VMs' backups did not overlap",
                   (walls[job], [v["duration"] for v in run["vms"]]))
            else:
                ok(walls[job] < durations, "concurrency 2: the VMs' backups overlapped",
                   (walls[job], [v["duration"] for v in run["vms"]]))
        r = env.xentui("verify", "repo")
        ok(r.returncode == 0 and r.stdout.count("ok ") >= 6, "verify accepts all six points", r.stdout + r.stderr)
    finally:
        env.close()


def main():
    smart()
    offline()
    timeout()
    concurrency()
    return done()


if __name__ == "__main__":
    sys.exit(main())
