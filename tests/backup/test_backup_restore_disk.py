#!/usr/bin/env python3
"""`xentui backup restore-disk`: one disk of a restore point as a new VDI on
an SR (XO #4606), for a full (XVA) and a delta (VHD chain) point. The VM
has two disks; the new VDI, read back through the sim's /export_raw_vdi,
equals the chosen disk at backup time; no VM is left behind; an unknown
disk is refused in a sentence and leaves nothing. TAP."""
import hashlib
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
from deltatest import DAY, MiB, T0, Env, done, ok, sanitizer_clean, ts  # noqa: E402


def vdis_named(env, name):
    return [r for r, x in env.call("VDI.get_all_records").items() if x["name_label"] == name]


def restore_disk(env, at, disk, name):
    r = env.xentui("restore-disk", "repo", env.vm_uuid, "--at", at, "--disk", disk, "--sr", env.sr_uuid,
                   "--name", name, "sim")
    return r


def check(env, label, at, disk, name, want):
    vms_before = len(env.call("VM.get_all_records"))
    r = restore_disk(env, at, disk, name)
    uuid = r.stdout.strip()
    ok(r.returncode == 0 and sanitizer_clean(r), "%s: restore-disk --disk %s exits 0" % (label, disk),
       r.stdout + r.stderr)
    made = vdis_named(env, name)
    ok(len(made) == 1 and env.call("VDI.get_uuid", made[0]) == uuid,
       "%s: one new VDI named %s, whose uuid is printed" % (label, name), (made, uuid))
    if not made:
        return
    rec = env.call("VDI.get_record", made[0])
    ok(rec["SR"] == env.sr and not rec["VBDs"], "%s: on the SR asked for, attached to no VM" % label,
       (rec["SR"], rec["VBDs"]))
    ok(not any(k.startswith("xo:backup:") for k in rec["other_config"]), "%s: the backup's marks are not on it" % label,
       rec["other_config"])
    got = env.read(uuid)
    ok(got == want, "%s: its bytes (read back through /export_raw_vdi) equal the disk at backup time" % label,
       "%d bytes, sha %s vs %s" % (len(got), hashlib.sha256(got).hexdigest()[:12], hashlib.sha256(want).hexdigest()[:12]))
    ok(len(env.call("VM.get_all_records")) == vms_before, "%s: no VM is left behind" % label)


def main():
    env = Env([{"name": "full", "mode": "full", "retention": 3, "compression": "zstd"},
               {"name": "inc", "mode": "delta", "retention": 3}])
    try:
        second = env.add_disk("seconddisk", 8, "1")
        model2 = bytearray(8 * MiB)

        def write2(off, data):
            env.write(off, data, vdi_uuid=second)
            model2[off:off + len(data)] = data

        write2(3 * MiB + 512, b"second disk, first state " * 200)
        first = env.change(1)
        r = env.run("full", T0)
        ok(r.returncode == 0, "a full backup of the two-disk VM exits 0", r.stdout + r.stderr)
        want2_full = bytes(model2)
        write2(5 * MiB, b"changed after the full " * 300)
        env.change(2)
        r = env.run("inc", T0 + DAY)
        env.change(3)
        write2(1 * MiB + 4096, b"third state of disk two " * 500)
        r2 = env.run("inc", T0 + 2 * DAY)
        ok(r.returncode == 0 and r2.returncode == 0, "two delta runs exit 0 (a full, then a delta over it)",
           r.stderr + r2.stderr)
        want_delta0 = bytes(env.model)
        want_delta1 = bytes(model2)
        # the disk is changed again, so the restored bytes can only come from the point
        env.change(4)
        write2(0, b"after every backup " * 100)

        check(env, "full point", ts(T0), "0", "disk0-from-full", first)
        check(env, "full point by name", ts(T0), "seconddisk", "disk1-from-full", want2_full)
        check(env, "delta point", ts(T0 + 2 * DAY), "0", "disk0-from-delta", want_delta0)
        check(env, "delta point by name", ts(T0 + 2 * DAY), "seconddisk", "disk1-from-delta", want_delta1)

        before = sorted(env.call("VDI.get_all_records"))
        nvms = len(env.call("VM.get_all_records"))
        r = restore_disk(env, ts(T0), "7", "no-such")
        ok(r.returncode == 1 and "no disk" in r.stderr and sanitizer_clean(r),
           "an unknown disk is refused in a sentence", r.stdout + r.stderr)
        ok(sorted(env.call("VDI.get_all_records")) == before and len(env.call("VM.get_all_records")) == nvms,
           "and leaves no VDI or VM behind")
        r = env.xentui("restore-disk", "repo", env.vm_uuid, "--sr", env.sr_uuid, "sim")
        ok(r.returncode == 2 and "--disk" in r.stderr, "restore-disk without --disk is bad usage", r.stderr)
    finally:
        env.close()
    return done()


if __name__ == "__main__":
    sys.exit(main())
