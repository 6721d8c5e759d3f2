#!/usr/bin/env python3
"""Interrupted delta backups against xapi-sim on a file:// repository: an
export cut in the middle (the sim's cut fault) fails the run, leaves no
.json and no snapshot of the job, and the next run succeeds; `backup run`
(with its workers) killed with SIGKILL at random moments (transfers slowed so the moments
fall inside them, retention 2 so merges run too) never leaves a point that
verify accepts while its files are not whole, and the next run completes
and restores equal to the disk; runs killed the moment a retention merge
reaches each of its steps (seen with inotify) are finished by the next
run. TAP."""
import ctypes
import ctypes.util
import glob
import os
import random
import select
import signal
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
from deltatest import DAY, T0, Env, done, ok, pyvhdi, sanitizer_clean, ts  # noqa: E402


def accepted(r):
    """The timestamps verify printed "ok" for."""
    return {l.split()[1] for l in r.stdout.splitlines() if l.startswith("ok ") and len(l.split()) > 1}


def whole(env, t, j, expect):
    """None when the point really is whole and holds the disk of its run."""
    why = env.files_whole(j)
    if why:
        return why
    if pyvhdi is not None and t in expect:
        for rel in j.get("vhds", {}).values():
            if env.chain_bytes(os.path.join(env.vmdir(), rel)) != expect[t]:
                return "its chain does not hold the disk as it was"
    return None


def cut_export(env, expect):
    now = T0
    expect[ts(now)] = env.change(1)
    r = env.run("inc", now)
    ok(r.returncode != 0 and sanitizer_clean(r), "a run whose export is cut mid-stream fails", r.stdout + r.stderr)
    ok(not env.points(), "and leaves no .json", sorted(env.points()))
    ok(not env.job_snapshots(), "and no snapshot of the job", env.job_snapshots())
    left = []
    for dirpath, _, files in os.walk(env.repo):
        left += [os.path.join(dirpath, f) for f in files]
    ok(not [f for f in left if f.endswith(".vhd")], "and no VHD under its name", left)
    now += DAY
    expect[ts(now)] = env.change(2)
    r = env.run("inc", now)
    ok(r.returncode == 0 and sanitizer_clean(r), "the next run succeeds", r.stdout + r.stderr)
    ok(sorted(env.points()) == [ts(now)], "and its point is complete", sorted(env.points()))
    return now


def killed_runs(env, expect, now):
    rnd = random.Random(os.getpid())
    for k in range(6):
        now += DAY
        expect[ts(now)] = env.change(10 + k)
        delay = rnd.uniform(0.05, 2.5)
        p = env.popen("run", "inc", now=now)
        time.sleep(delay)
        killed = p.poll() is None
        if killed:
            os.killpg(p.pid, signal.SIGKILL)  # the run and its per-VM workers
        p.communicate()
        print("# run %s %s after %.2f s" % (ts(now), "killed" if killed else "finished", delay))
        r = env.verify()
        pts = env.points()
        wrong = []
        for t in accepted(r):
            if t not in pts:
                wrong.append("%s: accepted but its .json does not load" % t)
                continue
            why = whole(env, t, pts[t], expect)
            if why:
                wrong.append("%s: accepted, but %s" % (t, why))
        ok(not wrong and sanitizer_clean(r), "after a run %s at %.2f s, verify accepts no point wrongly"
           % ("killed" if killed else "finished", delay), "\n".join(wrong) + r.stdout + r.stderr)
    now += DAY
    expect[ts(now)] = env.change(99)
    r = env.run("inc", now)
    ok(r.returncode == 0 and sanitizer_clean(r), "the next run after the killed ones completes", r.stdout + r.stderr)
    r = env.verify()
    ok(r.returncode == 0 and "BAD" not in r.stdout, "verify accepts every point left", r.stdout + r.stderr)
    pts = env.points()
    ok(ts(now) in pts and len(pts) <= 2, "retention 2 holds after the interruptions", sorted(pts))
    ok(all(whole(env, t, j, expect) is None for t, j in pts.items()), "every point left is whole and holds its run's disk",
       {t: whole(env, t, j, expect) for t, j in pts.items()})
    snaps = env.job_snapshots()
    ok(len(snaps) == 1 and snaps[0].get("xo:backup:datetime") == ts(now), "one snapshot of the job is left, the newest",
       snaps)
    stray = []
    for dirpath, _, files in os.walk(env.vmdir()):
        stray += [f for f in files if f.startswith(".")]
    ok(not stray, "no temporary file or merge state is left", stray)
    named = {os.path.basename(rel) for j in pts.values() for rel in j.get("vhds", {}).values()}
    vhds = {f for _, _, files in os.walk(env.vmdir()) for f in files if f.endswith(".vhd")}
    ok(vhds == named, "every VHD left is one a point names (killed runs' VHDs are removed)", sorted(vhds - named))
    got, r = env.restore(name="after-kills")
    ok(got == expect[ts(now)], "the newest point restores equal to the disk", r.stdout + r.stderr)
    return now


IN_MOVED_TO, IN_DELETE = 0x80, 0x200
_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def run_killed_on(env, now, folders, hit):
    """Runs the job, SIGKILLs it as soon as a file event in folders makes
    hit(mask, name) true; whether it was killed that way."""
    fd = _libc.inotify_init1(os.O_NONBLOCK)
    for d in folders:
        _libc.inotify_add_watch(fd, d.encode(), IN_MOVED_TO | IN_DELETE)
    p = env.popen("run", "inc", now=now)
    killed = False
    try:
        while p.poll() is None and not killed:
            r, _, _ = select.select([fd], [], [], 0.05)
            if not r:
                continue
            try:
                buf = os.read(fd, 65536)
            except BlockingIOError:
                continue
            i = 0
            while i + 16 <= len(buf):
                _, mask, _, n = struct.unpack_from("iIII", buf, i)
                name = buf[i + 16:i + 16 + n].split(b"\0")[0].decode()
                i += 16 + n
                if hit(mask, name):
                    os.killpg(p.pid, signal.SIGKILL)  # the run and its per-VM workers
                    killed = True
                    break
        p.communicate()
    finally:
        os.close(fd)
    return killed


def merge_kills(env, expect, now):
    """Each step of a retention merge, cut by SIGKILL, then finished."""
    vdir = glob.glob(os.path.join(env.vmdir(), "vdis", "*", "*"))
    if not ok(len(vdir) == 1, "the disk's VHD folder is there", vdir):
        return now
    steps = [
        ("the merge's state file is written", lambda m, n: m & IN_MOVED_TO and n.startswith(".xentui-merge-")),
        ("the merged full VHD replaces the delta",
         lambda m, n: m & IN_MOVED_TO and n.endswith(".vhd") and n != cur[0] + ".vhd"),
        ("the aged-out point's .json is deleted", lambda m, n: m & IN_DELETE and n.endswith(".json")),
    ]
    cur = [""]
    for what, hit in steps:
        # two complete points, so the next run merges the oldest into the next
        while len(env.points()) < 2:
            now += DAY
            expect[ts(now)] = env.change(now)
            env.run("inc", now)
        now += DAY
        cur[0] = ts(now)
        expect[cur[0]] = env.change(now)
        killed = run_killed_on(env, now, [env.vmdir(), vdir[0]], hit)
        state = [f for f in os.listdir(env.vmdir()) if f.startswith(".xentui-merge-")]
        print("# killed when %s: %s; merge state left: %s" % (what, killed, bool(state)))
        r = env.verify()
        pts = env.points()
        wrong = [t for t in accepted(r) if t not in pts or whole(env, t, pts[t], expect)]
        ok(killed and not wrong, "killed when %s: verify accepts no point wrongly" % what,
           "\n".join(wrong) + r.stdout + r.stderr)
        now += DAY
        expect[ts(now)] = env.change(now)
        r = env.run("inc", now)
        ok(r.returncode == 0 and sanitizer_clean(r), "the next run completes (after the kill when %s)" % what,
           r.stdout + r.stderr)
        r = env.verify()
        pts = env.points()
        ok(r.returncode == 0 and "BAD" not in r.stdout and len(pts) == 2
           and all(whole(env, t, j, expect) is None for t, j in pts.items())
           and not [f for f in os.listdir(env.vmdir()) if f.startswith(".")],
           "the merge is finished: two whole points, no state file", r.stdout + str(sorted(pts)))
    return now


def main():
    # the first export is cut after 3 MB; every transfer runs at 6 MB/s
    env = Env([{"name": "inc", "mode": "delta", "retention": 2}], faults="cut=3000000:/export_raw_vdi*1,slow=6000000")
    try:
        expect = {}
        now = cut_export(env, expect)
        now = killed_runs(env, expect, now)
        merge_kills(env, expect, now)
    finally:
        env.close()
    return done()


if __name__ == "__main__":
    sys.exit(main())
