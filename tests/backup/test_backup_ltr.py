#!/usr/bin/env python3
"""Long-term retention (`ltr` in a job, Xen Orchestra's): 40 delta runs over
five months with the time supplied by the test (XENTUI_NOW, TZ=UTC), the
disk changed before each, two runs on one day; after every run the
repository holds exactly the points XO's rule keeps (the newest `retention`,
then the first point of each of the newest N days, Sunday-to-Saturday
weeks, months and years, computed here from the calendar), no file besides
theirs, and every kept point's VHD chain (read by libvhdi), its recorded
SHA-256, `backup verify` and restores give the disk as it was at that run.
A run SIGKILLed just as a kept delta's whole VHD replaces it is finished by
the next run. A full-mode job keeps exactly its points too. Configuration
mistakes in `ltr` are named with file:line. TAP."""
import ctypes
import ctypes.util
import datetime
import os
import re
import select
import signal
import struct
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
from deltatest import XENTUI, Env, _retry, done, files_in, named_by_points, ok, pyvhdi, sanitizer_clean, ts  # noqa: E402
import calendar  # noqa: E402

RETENTION = 2
LTR = {"daily": 3, "weekly": 3, "monthly": 3, "yearly": 2}
FULL_RETENTION = 1
FULL_LTR = {"daily": 2, "monthly": 2}
START = calendar.timegm((2026, 11, 20, 2, 0, 0))
GAPS = [1, 1, 2, 3, 5, 1, 7, 10]  # days between runs, cycled


def run_times():
    t, out = START, []
    for i in range(40):
        out.append(t)
        if i == 5:
            t += 6 * 3600  # a second run the same day: the day's first stays
        else:
            t += GAPS[i % len(GAPS)] * 86400
    return out


def period(t, kind):
    d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc).date()
    if kind == "daily":
        return d
    if kind == "weekly":
        return d - datetime.timedelta(days=(d.weekday() + 1) % 7)  # its Sunday
    if kind == "monthly":
        return (d.year, d.month)
    return d.year


def expected(times, retention=RETENTION, ltr=LTR):
    """The newest `retention`, and per kind the first time of each of its newest N periods."""
    keep = set(times[-retention:])
    for kind, n in ltr.items():
        periods = []
        for t in reversed(times):
            if period(t, kind) not in periods:
                periods.append(period(t, kind))
        for p in periods[:n]:
            keep.add(min(t for t in times if period(t, kind) == p))
    return sorted(ts(t) for t in keep)


IN_MOVED_TO = 0x80
_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def run_killed_on(env, job, now, folder, hit):
    """Runs the job, SIGKILLs it (and its workers) at the first file moved into
    folder whose name makes hit(name) true; whether it was killed so."""
    fd = _libc.inotify_init1(os.O_NONBLOCK)
    _libc.inotify_add_watch(fd, folder.encode(), IN_MOVED_TO)
    p = env.popen("run", job, now=now)
    killed = False
    try:
        while p.poll() is None and not killed:
            if not select.select([fd], [], [], 0.05)[0]:
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
                if hit(name):
                    os.killpg(p.pid, signal.SIGKILL)
                    killed = True
                    break
        p.communicate()
    finally:
        os.close(fd)
    return killed


def main():
    env = Env([{"name": "ltr", "mode": "delta", "retention": RETENTION},
               {"name": "ltrfull", "mode": "full", "retention": FULL_RETENTION}], disk_mib=4)
    env.extra_env["TZ"] = "UTC"
    with open(env.config) as f:
        text = f.read()
    for name, ltr in (("ltr", LTR), ("ltrfull", FULL_LTR)):
        text = text.replace('    name = "%s";\n' % name, '    name = "%s";\n    ltr = { %s };\n'
                            % (name, " ".join("%s = %d;" % kv for kv in ltr.items())))
    with open(env.config, "w") as f:
        f.write(text)
    try:
        times = run_times()
        disk = {}
        bad_runs, wrong, after9 = [], [], []
        for i, t in enumerate(times):
            disk[ts(t)] = env.change(1000 + i, blocks=2)
            r = env.run("ltr", t)
            if r.returncode != 0 or not sanitizer_clean(r) or "warning" in r.stderr:
                bad_runs.append("run %d at %s: %s" % (i + 1, ts(t), (r.stdout + r.stderr)[-600:]))
            got = sorted(env.points("ltr"))
            want = expected(times[:i + 1])
            if i == 8:
                after9 = got
            if got != want:
                wrong.append("after run %d: kept %s, expected %s" % (i + 1, got, want))
        ok(not bad_runs, "40 delta runs over %d days exit 0 with no warning"
           % ((times[-1] - times[0]) // 86400), "\n".join(bad_runs[:3]))
        ok(not wrong, "after every run the repository holds exactly the points long-term retention keeps",
           "\n".join(wrong[:3]))
        pts = env.points("ltr")
        want = expected(times)
        first_2027 = min(t for t in times if period(t, "yearly") == 2027)
        ok(ts(times[0]) in pts and ts(first_2027) in pts and len(pts) == len(want) and len(pts) < len(times),
           "%d of %d points kept, among them the first of 2026 and of 2027" % (len(pts), len(times)), sorted(pts))
        day2 = [ts(t) for t in times if period(t, "daily") == period(times[5], "daily")]
        ok(len(day2) == 2 and day2[0] in after9 and day2[1] not in after9,
           "of two runs on one day, the day's first is kept and the later one goes", (day2, after9))

        # the repository: only the kept points' files, every kept point whole
        vmdir = env.vmdir()
        left = [f for f in files_in(vmdir) if not f.startswith(".") and "/." not in f]
        ok(set(left) == named_by_points(pts), "no file is left besides the kept points'",
           sorted(set(left) ^ named_by_points(pts)))
        whole = {t: env.files_whole(j) for t, j in pts.items()}
        ok(all(v is None for v in whole.values()), "each kept point's files have their recorded size and SHA-256",
           {t: v for t, v in whole.items() if v})
        if pyvhdi is not None:
            bad = []
            for t, j in pts.items():
                for rel in j["vhds"].values():
                    if env.chain_bytes(os.path.join(vmdir, rel)) != disk[t]:
                        bad.append(t)
            ok(not bad, "libvhdi reads every kept point's chain as the disk was at that run", bad)
        diffs = [t for t, j in sorted(pts.items()) if any(j["isVhdDifferencing"].values())]
        whole = [t for t in sorted(pts)[1:] if t not in diffs]
        ok(len(diffs) >= 1 and len(whole) >= 1 and ts(times[0]) in pts,
           "kept points still build on each other where nothing between them went (%d deltas), and %d kept deltas"
           " whose predecessors went were rewritten whole, with an older point still kept"
           % (len(diffs), len(whole)), sorted(pts))
        r = env.verify()
        ok(r.returncode == 0 and sanitizer_clean(r), "backup verify passes on every kept point", r.stdout + r.stderr)
        for n, t in enumerate(sorted(pts)[:: max(1, len(pts) // 3)]):
            data, r = env.restore(at=t, name="ltr-restored-%d" % n)
            ok(data == disk[t], "point %s restores as the disk was" % t, r.stdout + r.stderr)

        # killed just as a kept delta's whole VHD replaces it: the next run finishes the job
        vhd_dir = os.path.dirname(os.path.join(vmdir, next(iter(pts.values()))["vhds"].popitem()[1]))
        killed, tries = False, 0
        while not killed and tries < 8:
            tries += 1
            t = times[-1] + 86400
            times.append(t)
            disk[ts(t)] = env.change(5000 + tries, blocks=2)
            killed = run_killed_on(env, "ltr", t, vhd_dir, lambda n, cur=ts(t): n.endswith(".vhd") and not n.startswith(cur))
        t = times[-1] + 86400
        times.append(t)
        disk[ts(t)] = env.change(6000, blocks=2)
        r = env.run("ltr", t)
        pts = env.points("ltr")
        left = [f for f in files_in(vmdir) if not f.startswith(".") and "/." not in f
                and os.path.basename(f)[:1] != "."]
        ok(killed and r.returncode == 0 and sorted(pts) == expected(times) and set(left) == named_by_points(pts)
           and all(env.files_whole(j) is None for j in pts.values()),
           "killed as a kept delta is rewritten whole, the next run leaves exactly the kept points, each whole",
           (killed, r.stdout + r.stderr, sorted(pts), expected(times)))
        if pyvhdi is not None:
            bad = [t for t, j in pts.items() for rel in j["vhds"].values()
                   if env.chain_bytes(os.path.join(vmdir, rel)) != disk[t]]
            ok(not bad, "and every kept point's chain is still the disk as it was", bad)
        r = env.verify()
        ok(r.returncode == 0, "backup verify passes after the kill and the next run", r.stdout + r.stderr)

        # full mode: old XVA points go, whatever their place
        # (after the delta job's points: a point is never named before the VM's newest)
        fstart = (times[-1] // 86400 + 1) * 86400 + 3 * 3600
        ftimes = [fstart + d * 86400 for d in (0, 1, 2, 9, 33, 34, 40, 70, 71, 72)]
        fwrong = []
        for i, t in enumerate(ftimes):
            r = env.run("ltrfull", t)
            got, want = sorted(env.points("ltrfull")), expected(ftimes[:i + 1], FULL_RETENTION, FULL_LTR)
            if r.returncode != 0 or got != want:
                fwrong.append("after run %d: rc %d, kept %s, expected %s %s" % (i + 1, r.returncode, got, want,
                                                                               r.stderr[-300:]))
        fpts = env.points("ltrfull")
        ok(not fwrong and len(fpts) < len(ftimes) and ts(ftimes[4]) in fpts and ts(ftimes[5]) not in fpts,
           "a full job keeps exactly the points its ltr keeps (%d of %d), a month's first among them"
           % (len(fpts), len(ftimes)), "\n".join(fwrong[:3]) or sorted(fpts))
        left = [f for f in files_in(vmdir) if not f.startswith(".") and "/." not in f]
        named = named_by_points(env.points("ltr")) | named_by_points(fpts)
        ok(set(left) == named and all(env.files_whole(j) is None for j in fpts.values()),
           "its kept XVAs are whole and nothing else is left", sorted(set(left) ^ named))

        # configuration mistakes name file:line
        base = open(env.config).read()
        for bad, word in [('ltr = { hourly = 3; };', "unknown ltr setting 'hourly'"),
                          ('ltr = { daily = -1; };', "'daily'"),
                          ('ltr = 7;', "ltr is a group")]:
            conf = os.path.join(env.dir, "bad.conf")
            with open(conf, "w") as f:
                f.write(re.sub(r"ltr = \{[^}]*\};", bad, base, count=1))
            line = next(i + 1 for i, l in enumerate(open(conf).read().splitlines()) if "ltr =" in l)
            r = _retry(lambda: subprocess.run([XENTUI, "backup", "list", "-c", conf], capture_output=True, text=True,
                                              env=env.env(), stdin=subprocess.DEVNULL, timeout=60))
            ok(r.returncode == 2 and ("%s:%d:" % (conf, line)) in r.stderr and word in r.stderr,
               "ltr mistake (%s) is refused naming file:line" % bad, r.stderr)
    finally:
        env.close()
    return done()


if __name__ == "__main__":
    sys.exit(main())
