#!/usr/bin/env python3
"""Mirror jobs against xapi-sim and two file:// repositories: the points of
a delta job and of a full job on "repo" copied to "repo2" after each run,
repo2 keeping only its own retention (2) of each job's points while repo
keeps more; the copies whole (sizes and SHA-256 as recorded), verify
accepts them, the newest restores from repo2 equal to the disk; a run with
nothing new copies nothing; a damaged source file is not copied and fails
the run with a sentence. TAP."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
from deltatest import DAY, T0, Env, done, ok, sanitizer_clean, ts  # noqa: E402


def by_job(pts, job):
    return sorted(t for t, j in pts.items() if j.get("xentui", {}).get("job") == job)


def main():
    env = Env([{"name": "inc", "mode": "delta", "retention": 5},
               {"name": "fullj", "mode": "full", "retention": 5},
               {"name": "mir", "mode": "mirror", "source_remote": "repo", "remotes": ["repo2"], "retention": 2}],
              disk_mib=16, vm_name="mirrortest")
    try:
        expect = {}
        for i in range(4):
            now = T0 + i * DAY
            expect[ts(now)] = env.change(i)
            r = env.run("inc", now)
            ok(r.returncode == 0, "delta run %d exits 0" % (i + 1), r.stdout + r.stderr)
            r = env.run("mir", now + 600)
            ok(r.returncode == 0 and sanitizer_clean(r) and "mirror, 1 point copied" in r.stdout,
               "mirror run %d copies the new point" % (i + 1), r.stdout + r.stderr)
            src, dst = env.points("inc"), env.points("inc", top=env.repo2)
            want = by_job(src, "inc")[-2:]
            ok(by_job(dst, "inc") == want, "after run %d repo2 keeps the newest %d point(s) (its retention)"
               % (i + 1, len(want)), (by_job(dst, "inc"), want))
            ok(len(by_job(src, "inc")) == i + 1, "repo keeps its own retention (%d points)" % (i + 1))
            ok(all(env.files_whole(j, top=env.repo2) is None for j in dst.values()),
               "after run %d every file on repo2 has its recorded size and SHA-256" % (i + 1),
               [env.files_whole(j, top=env.repo2) for j in dst.values()])
        r = env.run("mir", T0 + 4 * DAY)
        ok(r.returncode == 0 and "mirror, 0 points copied" in r.stdout, "a mirror run with nothing new copies nothing",
           r.stdout + r.stderr)
        r = env.verify(remote="repo2")
        ok(r.returncode == 0 and "BAD" not in r.stdout, "verify accepts the mirrored points", r.stdout + r.stderr)
        got, r = env.restore(name="from-mirror", remote="repo2")
        ok(got == expect[max(expect)], "the newest point restores from repo2 equal to the disk", r.stdout + r.stderr)
        # full points too, with their own retention on repo2
        for i in range(3):
            now = T0 + (10 + i) * DAY
            env.change(10 + i)
            r = env.run("fullj", now)
            ok(r.returncode == 0, "full run %d exits 0" % (i + 1), r.stdout + r.stderr)
        r = env.run("mir", T0 + 13 * DAY)
        dst = env.points(top=env.repo2)
        ok(r.returncode == 0 and "mirror, 3 points copied" in r.stdout, "the mirror copies the three full points",
           r.stdout + r.stderr)
        ok(by_job(dst, "fullj") == by_job(env.points(), "fullj")[-2:] and len(by_job(dst, "inc")) == 2,
           "repo2 keeps 2 full points, and still 2 delta points", sorted(dst))
        # a damaged file on the source is refused, not copied
        env.change(20)
        r = env.run("fullj", T0 + 20 * DAY)
        newest = by_job(env.points(), "fullj")[-1]
        xva = os.path.join(env.vmdir(), newest + ".xva")
        with open(xva, "r+b") as f:
            f.seek(600)
            b = f.read(1)
            f.seek(600)
            f.write(bytes([b[0] ^ 0xFF]))
        r = env.run("mir", T0 + 21 * DAY)
        ok(r.returncode == 1 and "damaged" in r.stdout + r.stderr + open(os.path.join(env.dir, "state", "xentui",
                                                                                        "runs.jsonl")).read(),
           "a damaged source file fails the mirror with a sentence", r.stdout + r.stderr)
        ok(newest not in env.points(top=env.repo2) and not os.path.exists(os.path.join(env.vmdir(env.repo2),
                                                                                        newest + ".xva")),
           "the damaged point is not on repo2, not even in part")
    finally:
        env.close()
    return done()


if __name__ == "__main__":
    sys.exit(main())
