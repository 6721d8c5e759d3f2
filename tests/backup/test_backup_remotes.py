#!/usr/bin/env python3
"""Backups to each remote kind against real servers on 127.0.0.1: smb://
(smbd), nfs:// (nfs-ganesha, NFSv4) and s3+http:// (@20minutes/s3rver,
which checks SigV4), one remote each, with `xentui backup run`, `list`,
`verify` and `restore` against xapi-sim:
- a delta job whose first export is cut mid-stream (the sim's cut fault)
  fails, leaves no .json, no VHD and no snapshot, and the next run succeeds;
- three delta runs with the disk changed between them; the newest and the
  oldest point restore equal byte for byte to the disk then;
- a full (XVA) point restores equal to the disk at backup time;
- retention 2 after a 4th run merges on the remote, and both kept points
  restore equal; verify says ok for every point.
What xentui wrote is read without xentui: the share's and the export's
folders on disk, smbclient and nfs-cat over the wire, s3rver's storage
folder on disk (objects stored as KEY._S3rver_object). TAP."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
import nasserver  # noqa: E402
from deltatest import files_in, named_by_points  # noqa: E402
from deltatest import DAY, MiB, T0, Env, done, ok, pyvhdi, sanitizer_clean, ts  # noqa: E402
from s3server import S3Server, S3Unavailable  # noqa: E402

KINDS = ("smb", "nfs", "s3")
CUT = 1000000  # bytes of the first exports before the sim cuts them
S3_SUFFIX = "._S3rver_object"


class Remotes:
    """The three servers, their `remotes` entries, and a local folder that
    shows what each holds (read on the server's side, not through xentui)."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="xentui-bkrem-")
        self.smb = nasserver.Samba()
        self.nfs = nasserver.Ganesha()
        self.s3 = None

    def start(self):
        self.smb.start()
        self.nfs.start()
        self.s3 = S3Server()

    def entries(self):
        return [
            {"name": "smb", "url": self.smb.url("bk"), "user": self.smb.user, "password_env": "XENTUI_SMB_PW"},
            {"name": "nfs", "url": self.nfs.url("bk")},
            {"name": "s3", "url": self.s3.url("xentui"), "endpoint": self.s3.endpoint, "region": "us-east-1",
             "user": self.s3.key_id, "password_env": "XENTUI_S3_SECRET"},
        ]

    def env(self):
        return {"XENTUI_SMB_PW": self.smb.password, "XENTUI_S3_SECRET": self.s3.secret}

    def view(self, kind):
        """A local folder holding the repository's files as the server keeps them."""
        if kind == "smb":
            return os.path.join(self.smb.share_dir, "bk")
        if kind == "nfs":
            return os.path.join(self.nfs.export_dir, "bk")
        # s3rver keeps each object as KEY._S3rver_object beside its metadata: copy the objects out
        src = os.path.join(self.s3.dir, "data", self.s3.bucket, "xentui")
        dst = os.path.join(self.tmp, "s3view")
        shutil.rmtree(dst, ignore_errors=True)
        os.makedirs(dst)
        for d, _, files in os.walk(src):
            for f in files:
                if f.endswith(S3_SUFFIX):
                    out = os.path.join(dst, os.path.relpath(d, src), f[:-len(S3_SUFFIX)])
                    os.makedirs(os.path.dirname(out), exist_ok=True)
                    shutil.copyfile(os.path.join(d, f), out)
        return dst

    def s3_open_uploads(self):
        """Multipart uploads s3rver still holds open (started, never completed nor aborted)."""
        d = os.path.join(self.s3.dir, "data", self.s3.bucket, "._S3rver_uploads")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def stop(self):
        for s in (self.smb, self.nfs):
            s.stop()
        if self.s3 is not None:
            self.s3.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def job_snaps(env):
    return sorted(oc.get("xo:backup:datetime", "?") + " " + oc.get("xo:backup:job", "?") for oc in env.job_snapshots())


def check_chain(env, kind, top, j, expect, label):
    """Each VHD of a point, read by libvhdi through its chain, is the disk then."""
    if pyvhdi is None:
        return
    for rel in j.get("vhds", {}).values():
        got = env.chain_bytes(os.path.join(env.vmdir(top), rel))
        ok(got == expect, "%s: %s: libvhdi reads the chain on the server's disk as the disk was" % (kind, label))


# ---- an export cut mid-stream ----------------------------------------------------------
def cut_runs(env, rem, expect):
    env.write(0, bytes(range(256)) * (3 * MiB // 256))  # a full VHD well over CUT bytes
    for kind in KINDS:
        before = job_snaps(env)
        r = env.run("inc-" + kind, T0)
        ok(r.returncode == 1 and sanitizer_clean(r), "%s: a delta run whose export is cut mid-stream exits 1" % kind,
           r.stdout + r.stderr)
        top = rem.view(kind)
        ok(not env.points(top=top), "%s: and leaves no .json on the remote" % kind, files_in(top))
        ok(not files_in(env.vmdir(top)), "%s: and no file at all (VHD, temporary) in the VM's folder" % kind,
           files_in(top))
        ok(job_snaps(env) == before, "%s: and no snapshot of the job" % kind, (before, job_snaps(env)))
        if kind == "s3":
            ok(not rem.s3_open_uploads(), "s3: and no multipart upload left open on the server", rem.s3_open_uploads())
    # the three delta runs; the first of them is also "the next run" after the cut
    for i in range(1, 4):
        now = T0 + i * DAY
        model = env.change(i)
        for kind in KINDS:
            expect[kind][ts(now)] = model
            r = env.run("inc-" + kind, now)
            ok(r.returncode == 0 and sanitizer_clean(r),
               "%s: delta run %d exits 0%s" % (kind, i, " (the run after the cut one)" if i == 1 else ""),
               r.stdout + r.stderr)


def check_deltas(env, rem, expect):
    for kind in KINDS:
        top = rem.view(kind)
        pts = env.points("inc-" + kind, top=top)
        ok(sorted(pts) == sorted(expect[kind]), "%s: three delta points on the remote, named by the run's time" % kind,
           (sorted(pts), files_in(top)))
        kinds = [any(j.get("isVhdDifferencing", {}).values()) for _, j in sorted(pts.items())]
        ok(kinds == [False, True, True], "%s: a full VHD, then two deltas" % kind, kinds)
        for t, j in sorted(pts.items()):
            ok(j.get("mode") == "delta" and env.files_whole(j, top=top) is None,
               "%s: point %s: every file has the size and SHA-256 its .json records" % (kind, t),
               env.files_whole(j, top=top))
            check_chain(env, kind, top, j, expect[kind].get(t), "point " + t)
        stray = set(files_in(env.vmdir(top))) - named_by_points(env.points(top=top))
        ok(not stray, "%s: every file in the VM's folder belongs to a complete point" % kind, sorted(stray))
        r = env.verify(kind)
        oks = [l for l in r.stdout.splitlines() if l.startswith("ok ")]
        ok(r.returncode == 0 and len(oks) == 3 and "BAD" not in r.stdout and sanitizer_clean(r),
           "%s: verify says ok for the three points" % kind, r.stdout + r.stderr)
        newest, oldest = max(expect[kind]), min(expect[kind])
        got, r = env.restore(name="%s-newest" % kind, remote=kind)
        ok(got == expect[kind][newest] and sanitizer_clean(r),
           "%s: restore of the newest point equals the disk at that run" % kind, r.stdout + r.stderr)
        got, r = env.restore(at=oldest, name="%s-oldest" % kind, remote=kind)
        ok(got == expect[kind][oldest] and sanitizer_clean(r),
           "%s: restore of the oldest point (--at) equals the disk at that run" % kind, r.stdout + r.stderr)


def wire_reads(env, rem):
    """The newest .json read over the wire by other clients equals the server's file."""
    top = rem.view("smb")
    t = max(env.points(top=top))
    disk = open(os.path.join(env.vmdir(top), t + ".json"), "rb").read()
    local = os.path.join(rem.tmp, "smb-got.json")
    st, out = rem.smb.smbclient('get "bk\\xo-vm-backups\\%s\\%s.json" "%s"' % (env.vm_uuid, t, local))
    got = open(local, "rb").read() if os.path.exists(local) else None
    ok(st == 0 and got == disk and json.loads(got)["vm"]["uuid"] == env.vm_uuid,
       "smb: smbclient's copy of the newest .json is the share's file, and names the VM", out[-500:])
    top = rem.view("nfs")
    t = max(env.points(top=top))
    disk = open(os.path.join(env.vmdir(top), t + ".json"), "rb").read()
    r = subprocess.run(["nfs-cat", rem.nfs.url("bk/xo-vm-backups/%s/%s.json" % (env.vm_uuid, t))],
                       capture_output=True, timeout=60)
    ok(r.returncode == 0 and r.stdout == disk, "nfs: nfs-cat's copy of the newest .json is the export's file",
       r.stderr[-500:])


# ---- full (XVA) -------------------------------------------------------------------------
def full_points(env, rem, expect_full):
    now = T0 + 4 * DAY
    model = env.change(40)
    for kind in KINDS:
        r = env.run("full-" + kind, now)
        ok(r.returncode == 0 and sanitizer_clean(r), "%s: a full (XVA) backup exits 0" % kind, r.stdout + r.stderr)
        expect_full[kind] = (ts(now), model)
    for kind in KINDS:
        top = rem.view(kind)
        t = ts(now)
        pts = env.points("full-" + kind, top=top)
        j = pts.get(t, {})
        ok(sorted(pts) == [t] and j.get("mode") == "full" and j.get("xva") == "./%s.xva" % t
           and env.files_whole(j, top=top) is None,
           "%s: one full point, its XVA's size and SHA-256 as recorded" % kind, (sorted(pts), files_in(top)))
        got, r = env.restore(at=t, name="%s-full" % kind, remote=kind)
        ok(got == model and sanitizer_clean(r), "%s: the full point restores equal to the disk at backup time" % kind,
           r.stdout + r.stderr)


# ---- retention ---------------------------------------------------------------------------
def retention(env, rem, expect, expect_full):
    jobs = [dict(j, retention=2) if j["name"].startswith("inc-") else j for j in env.jobs]
    env.write_config(jobs)
    now = T0 + 5 * DAY
    model = env.change(50)
    said = {}
    for kind in KINDS:
        expect[kind][ts(now)] = model
        r = env.run("inc-" + kind, now)
        said[kind] = r.stdout + r.stderr
        ok(r.returncode == 0 and sanitizer_clean(r), "%s: a 4th delta run with retention 2 exits 0" % kind, said[kind])
    for kind in KINDS:
        top = rem.view(kind)
        kept = sorted(expect[kind])[-2:]
        pts = env.points("inc-" + kind, top=top)
        ok(sorted(pts) == kept, "%s: retention 2 keeps the two newest points" % kind,
           "%s\nthe run said: %s" % (sorted(pts), said[kind]))
        if kept[0] in pts:
            j = pts[kept[0]]
            ok(not any(j["isVhdDifferencing"].values()) and env.files_whole(j, top=top) is None,
               "%s: the oldest kept point was merged into a full, its record matching its files" % kind,
               (j["isVhdDifferencing"], env.files_whole(j, top=top)))
        for t in kept:
            if t in pts:
                check_chain(env, kind, top, pts[t], expect[kind][t], "kept point " + t)
        allpts = env.points(top=top)
        on_disk = set(files_in(env.vmdir(top)))
        ok(on_disk == named_by_points(allpts),
           "%s: the aged-out points' files are gone, no merge state or temporary file is left" % kind,
           sorted(on_disk ^ named_by_points(allpts)))
        r = env.verify(kind)
        oks = sorted(l.split()[1] for l in r.stdout.splitlines() if l.startswith("ok ") and len(l.split()) > 1)
        want = sorted(kept + [expect_full[kind][0]])
        ok(r.returncode == 0 and oks == want and "BAD" not in r.stdout and sanitizer_clean(r),
           "%s: verify says ok for every point (two deltas kept, one full)" % kind, r.stdout + r.stderr)
        for t in kept:
            got, r = env.restore(at=t, name="%s-kept-%s" % (kind, t), remote=kind)
            ok(got == expect[kind][t] and sanitizer_clean(r), "%s: kept point %s restores equal to the disk then"
               % (kind, t), r.stdout + r.stderr)
        r = env.xentui("list", kind, "--json")
        try:
            listed = sorted((p["timestamp"], p["mode"], p["job"]) for p in json.loads(r.stdout)
                            if p.get("vm_uuid") == env.vm_uuid)
        except (ValueError, KeyError, TypeError):
            listed = None
        ok(r.returncode == 0 and listed == sorted([(t, "delta", "inc-" + kind) for t in kept]
                                                  + [(expect_full[kind][0], "full", "full-" + kind)]),
           "%s: backup list --json shows the three points left" % kind, r.stdout[-1500:] + r.stderr)


def main():
    try:
        rem = Remotes()
    except (RuntimeError, OSError) as e:
        ok(False, "a temporary folder for the servers", e)
        return done()
    env = None
    try:
        try:
            rem.start()
            ok(True, "smbd, ganesha.nfsd and s3rver started on 127.0.0.1")
        except (RuntimeError, OSError, S3Unavailable) as e:
            ok(False, "smbd, ganesha.nfsd and s3rver started on 127.0.0.1", e)
            return done()
        jobs = []
        for kind in KINDS:
            jobs.append({"name": "inc-" + kind, "mode": "delta", "remotes": [kind], "retention": 7})
            jobs.append({"name": "full-" + kind, "mode": "full", "remotes": [kind], "retention": 7,
                         "compression": "zstd"})
        # the first three exports of a disk are cut: each kind's first delta run
        env = Env(jobs, faults="cut=%d:/export_raw_vdi*3" % CUT, disk_mib=8, vm_name="bkremote",
                  remotes=rem.entries(), extra_env=rem.env())
        expect = {k: {} for k in KINDS}
        expect_full = {}
        cut_runs(env, rem, expect)
        check_deltas(env, rem, expect)
        wire_reads(env, rem)
        full_points(env, rem, expect_full)
        retention(env, rem, expect, expect_full)
        log = rem.s3.stderr()
        ok("internal error" not in log, "s3rver had no internal error", log[-2000:])
    except Exception:  # a crash of the script is one failure, not a silent pass
        ok(False, "test_backup_remotes.py ran to the end", traceback.format_exc())
    finally:
        if env is not None:
            env.close()
        rem.stop()
    return done()


if __name__ == "__main__":
    sys.exit(main())
