#!/usr/bin/env python3
"""Restores against xapi-sim on a file:// repository: a full (XVA) point
restores as a new VM whose disk equals the source at backup time; a point
whose file has one byte flipped (an XVA, a delta's VHD) is refused by
`backup restore`, leaves no VM behind, and is reported by `backup verify`,
while the sound points stay accepted; retention of full points. TAP."""
import glob
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
from deltatest import DAY, T0, Env, done, ok, sanitizer_clean, ts  # noqa: E402


def flip(path, at):
    with open(path, "r+b") as f:
        f.seek(at)
        b = f.read(1)
        f.seek(at)
        f.write(bytes([b[0] ^ 0x40]))


def full_points(env):
    expect = {}
    for i, job in enumerate(("full-zstd", "full-plain")):
        now = T0 + i * DAY
        expect[ts(now)] = env.change(i)
        r = env.run(job, now)
        ok(r.returncode == 0 and sanitizer_clean(r), "full backup (%s) exits 0" % job, r.stdout + r.stderr)
    pts = env.points()
    ok(sorted(pts) == sorted(expect), "one point per run", sorted(pts))
    for t, j in sorted(pts.items()):
        ok(j.get("mode") == "full" and j.get("xva") == "./%s.xva" % t and env.files_whole(j) is None,
           "point %s: an XVA whose size and SHA-256 are recorded" % t, j.get("xentui"))
    for t in sorted(expect):
        got, r = env.restore(at=t, name="full-" + t)
        ok(got == expect[t], "the full point %s restores equal to the disk at backup time" % t, r.stdout + r.stderr)
        vm = env.vms_named("full-" + t)
        if vm:
            rec = env.call("VM.get_record", vm[0])
            ok(not rec["is_a_template"] and rec["power_state"] == "Halted", "the restored VM is a halted VM, not a template",
               (rec["is_a_template"], rec["power_state"]))
    return expect


def damaged_xva(env, expect):
    t = max(expect)
    xva = os.path.join(env.vmdir(), t + ".xva")
    flip(xva, os.path.getsize(xva) // 2)
    got, r = env.restore(at=t, name="from-damaged")
    ok(got is None and r.returncode != 0, "restore refuses an XVA with a byte flipped", r.stdout + r.stderr)
    ok("damaged" in (r.stdout + r.stderr).lower() or "sha-256" in (r.stdout + r.stderr).lower(),
       "and says the point is damaged", r.stderr)
    ok(sanitizer_clean(r), "the refused restore has no sanitizer report", r.stderr)
    ok(not env.vms_named("from-damaged") and not env.vms_named("[Importing\u2026] from-damaged"),
       "no VM is left behind by the refused restore")
    r = env.verify()
    bad = [l for l in r.stdout.splitlines() if l.startswith("BAD") and t in l]
    good = [l for l in r.stdout.splitlines() if l.startswith("ok") and min(expect) in l]
    ok(r.returncode != 0 and bad and sanitizer_clean(r), "verify reports the damaged point", r.stdout + r.stderr)
    ok(good, "verify still accepts the sound point", r.stdout)


def damaged_vhd(env):
    now = T0 + 5 * DAY
    env.change(50)
    r1 = env.run("inc-same", now)
    env.change(51)
    r2 = env.run("inc", now + DAY)
    ok(r1.returncode == 0 and r2.returncode == 0, "two delta runs exit 0", r1.stderr + r2.stderr)
    t = ts(now + DAY)
    vhd = glob.glob(os.path.join(env.vmdir(), "vdis", "*", "*", t + ".vhd"))
    ok(len(vhd) == 1, "the delta point's VHD is where XO puts it", vhd)
    if not vhd:
        return
    # a byte inside a data block: the VHD's structure stays sound, only the data differs
    flip(vhd[0], os.path.getsize(vhd[0]) - 512 - 4096)
    got, r = env.restore(at=t, name="delta-damaged")
    ok(got is None and r.returncode != 0 and sanitizer_clean(r), "restore refuses a delta whose VHD has a byte flipped",
       r.stdout + r.stderr)
    ok(not env.vms_named("delta-damaged") and not env.vms_named("[Importing\u2026] delta-damaged"),
       "no VM or half-made VM is left behind")
    r = env.verify()
    ok(r.returncode != 0 and any(l.startswith("BAD") and t in l for l in r.stdout.splitlines()),
       "verify reports the damaged delta point", r.stdout + r.stderr)
    older = ts(now)
    got, r = env.restore(at=older, name="delta-sound", start=True)
    ok(got is not None, "the sound point under it still restores", r.stdout + r.stderr)
    vm = env.vms_named("delta-sound")
    ok(vm and env.call("VM.get_power_state", vm[0]) == "Running", "restore --start starts the new VM",
       vm and env.call("VM.get_power_state", vm[0]))


def full_retention(env):
    """Retention 1 of a full job: the older point goes (.json, then .xva);
    a temporary file an interrupted run left is removed."""
    leftover = os.path.join(env.vmdir(), ".tmp-0123456789ab-20261101T000000Z.xva")
    with open(leftover, "wb") as f:
        f.write(b"half an XVA")
    for i in range(2):
        env.change(70 + i)
        r = env.run("full-one", T0 + (20 + i) * DAY)
        ok(r.returncode == 0, "full job with retention 1: run %d exits 0" % (i + 1), r.stdout + r.stderr)
    mine = env.points("full-one")
    ok(sorted(mine) == [ts(T0 + 21 * DAY)], "retention 1 keeps the newest full point only", sorted(mine))
    ok(not os.path.exists(os.path.join(env.vmdir(), ts(T0 + 20 * DAY) + ".xva")), "the older point's XVA is deleted")
    ok(not os.path.exists(leftover), "the temporary file an interrupted run left is removed")
    others = [t for t, j in env.points().items() if j.get("xentui", {}).get("job") != "full-one"]
    ok(len(others) >= 3, "other jobs' points are left alone", sorted(others))


def same_second(env):
    """Two runs in one second (a person pressing run twice, or XENTUI_NOW
    unchanged): the second point takes the next second and both restore."""
    now = T0 + 40 * DAY
    first = env.change(90)
    r1 = env.run("inc-same", now)
    second = env.change(91)
    r2 = env.run("inc-same", now)
    ok(r1.returncode == 0 and r2.returncode == 0, "two delta runs in the same second both succeed", r1.stderr + r2.stderr)
    pts = env.points("inc-same")
    ok(ts(now) in pts and ts(now + 1) in pts, "the second point is named one second later, not over the first",
       sorted(pts))
    got, r = env.restore(at=ts(now), name="same-first")
    ok(got == first, "the first of the two points still restores equal", r.stdout + r.stderr)
    got, r = env.restore(at=ts(now + 1), name="same-second")
    ok(got == second, "the second restores equal too", r.stdout + r.stderr)


def main():
    env = Env([{"name": "full-zstd", "mode": "full", "retention": 7},
               {"name": "full-plain", "mode": "full", "retention": 7, "compression": "none"},
               {"name": "inc", "mode": "delta", "retention": 7},
               {"name": "full-one", "mode": "full", "retention": 1, "compression": "none"},
               {"name": "inc-same", "mode": "delta", "retention": 7}])
    try:
        expect = full_points(env)
        damaged_xva(env, expect)
        damaged_vhd(env)
        full_retention(env)
        same_second(env)
    finally:
        env.close()
    return done()


if __name__ == "__main__":
    sys.exit(main())
