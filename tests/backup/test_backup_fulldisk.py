#!/usr/bin/env python3
"""A repository that fills up, on a small tmpfs (needs root; a TAP skip
otherwise): a file:// remote on a tmpfs mounted here, an SMB share and an
NFS export on tmpfs (tests/lib/nasserver.py's tmpfs_size). For each: a first
delta backup fits; with the disk filled by a ballast file, the next delta run
and then a full (XVA) run fail with a sentence naming the repository and
saying it is full; the earlier point still verifies, its files are whole
and it restores equal to the disk then; no temporary file is left; once the
ballast is removed the next delta run and the next full run succeed and
restore equal to the disk. TAP."""
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
import nasserver  # noqa: E402
from deltatest import files_in, named_by_points  # noqa: E402
from deltatest import DAY, MiB, T0, Env, done, ok, sanitizer_clean, ts  # noqa: E402

TMPFS = 48 * MiB
MARGIN = 3 * MiB  # free space the ballast leaves: less than any export below
A = (0, 4 * MiB)  # written before the first run
B = (4 * MiB, 8 * MiB)  # rewritten before each later run: an 8 MiB delta, a 12 MiB XVA


def mount_tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d,mode=0755" % size, "tmpfs", path],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return r.returncode == 0, r.stdout.decode(errors="replace")


def umount(path):
    for _ in range(50):
        if subprocess.run(["umount", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
            return True
        time.sleep(0.1)
    return False


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(root, leave):
    """A ballast file in root that leaves about `leave` bytes free; its path."""
    path = os.path.join(root, "ballast")
    left = free_bytes(root) - leave
    chunk = b"\xa5" * MiB
    with open(path, "wb") as f:
        while left > 0:
            n = min(left, len(chunk))
            f.write(chunk[:n])
            left -= n
        f.flush()
        os.fsync(f.fileno())
    return path


def rewrite(env, rnd, region):
    off, n = region
    env.write(off, rnd.randbytes(n))
    return bytes(env.model)


def scenario(env, kind, remote, top, root, day0):
    """top: the repository's folder on the server's disk; root: its tmpfs."""
    rnd = random.Random(kind)
    inc, full = "inc-" + remote, "full-" + remote
    t1, t2, t3, t4, t5 = (T0 + (day0 + i) * DAY for i in range(5))
    first = rewrite(env, rnd, A)
    r = env.run(inc, t1)
    ok(r.returncode == 0 and sanitizer_clean(r), "%s: a first delta backup fits and exits 0" % kind, r.stdout + r.stderr)

    def stray(what):
        """Files in the repository no complete point names (temporary ones included)."""
        pts = env.points(top=top)
        left = set(files_in(env.vmdir(top))) - named_by_points(pts)
        left |= {f for f in files_in(top) if os.path.basename(f).startswith(".")}
        ok(not left, "%s: %s leaves no temporary or partial file" % (kind, what), sorted(left))

    def earlier_whole(what):
        pts = env.points(inc, top=top)
        j = pts.get(ts(t1))
        ok(j is not None and env.files_whole(j, top=top) is None,
           "%s: after %s, the earlier point's files are whole" % (kind, what),
           (sorted(pts), j and env.files_whole(j, top=top)))
        r = env.verify(remote)
        ok(r.returncode == 0 and "ok %s" % ts(t1) in r.stdout and "BAD" not in r.stdout and sanitizer_clean(r),
           "%s: after %s, verify says ok for the earlier points" % (kind, what), r.stdout + r.stderr)

    def refused(r, what):
        said = r.stdout + r.stderr
        ok(r.returncode == 1 and sanitizer_clean(r), "%s: %s exits 1" % (kind, what), said)
        ok(("'%s'" % remote) in said and "full" in said.lower(),
           "%s: and says that the repository '%s' is full" % (kind, remote), said)
        print("# " + " | ".join(l for l in r.stderr.splitlines() if "full" in l.lower())[:600])

    # a delta that cannot fit
    ballast = fill(root, MARGIN)
    rewrite(env, rnd, B)
    r = env.run(inc, t2)
    refused(r, "a delta run on a full repository")
    ok(ts(t2) not in env.points(top=top), "%s: the failed run left no .json" % kind, files_in(top))
    stray("the failed delta run")
    earlier_whole("the failed delta run")
    got, r = env.restore(at=ts(t1), name="%s-first" % kind, remote=remote)
    ok(got == first and sanitizer_clean(r), "%s: the earlier point restores equal to the disk then" % kind,
       r.stdout + r.stderr)

    # a full (XVA) that cannot fit
    r = env.run(full, t3)
    refused(r, "a full (XVA) run on a full repository")
    ok(ts(t3) not in env.points(top=top), "%s: the failed full run left no .json" % kind, files_in(top))
    stray("the failed full run")
    earlier_whole("the failed full run")

    # space freed: both go through
    os.unlink(ballast)
    now = rewrite(env, rnd, B)
    r = env.run(inc, t4)
    ok(r.returncode == 0 and ts(t4) in env.points(inc, top=top) and sanitizer_clean(r),
       "%s: with space freed, the next delta run succeeds" % kind, r.stdout + r.stderr)
    got, r = env.restore(at=ts(t4), name="%s-after" % kind, remote=remote)
    ok(got == now and sanitizer_clean(r), "%s: and its point restores equal to the disk" % kind, r.stdout + r.stderr)
    r = env.run(full, t5)
    ok(r.returncode == 0 and ts(t5) in env.points(full, top=top) and sanitizer_clean(r),
       "%s: and the next full run succeeds" % kind, r.stdout + r.stderr)
    got, r = env.restore(at=ts(t5), name="%s-full" % kind, remote=remote)
    ok(got == now and sanitizer_clean(r), "%s: and its XVA restores equal to the disk" % kind, r.stdout + r.stderr)
    r = env.verify(remote)
    ok(r.returncode == 0 and len([l for l in r.stdout.splitlines() if l.startswith("ok ")]) == 3
       and sanitizer_clean(r), "%s: verify says ok for the three points" % kind, r.stdout + r.stderr)
    stray("the whole sequence")


def main():
    if os.geteuid() != 0:
        ok(True, "a full repository on a small tmpfs # SKIP needs root to mount a tmpfs")
        return done()
    tmp = tempfile.mkdtemp(prefix="xentui-bkfull-")
    mnt = os.path.join(tmp, "mnt")
    good, why = mount_tmpfs(mnt, TMPFS)
    if not good:
        shutil.rmtree(tmp, ignore_errors=True)
        ok(True, "a full repository on a small tmpfs # SKIP cannot mount a tmpfs: %s" % why.strip())
        return done()
    smb = nasserver.Samba(tmpfs_size=TMPFS)
    nfs = nasserver.Ganesha(tmpfs_size=TMPFS)
    env = None
    try:
        smb.start()
        nfs.start()
        ok(True, "a %d MiB tmpfs for file://, smbd and ganesha.nfsd each on a %d MiB tmpfs"
           % (TMPFS // MiB, TMPFS // MiB))
        kinds = [("file", "tiny-file", os.path.join(mnt, "repo"), mnt),
                 ("smb", "tiny-smb", os.path.join(smb.share_dir, "bk"), smb.share_dir),
                 ("nfs", "tiny-nfs", os.path.join(nfs.export_dir, "bk"), nfs.export_dir)]
        jobs = []
        for _, remote, _, _ in kinds:
            jobs.append({"name": "inc-" + remote, "mode": "delta", "remotes": [remote], "retention": 7})
            jobs.append({"name": "full-" + remote, "mode": "full", "remotes": [remote], "retention": 7,
                         "compression": "none"})
        env = Env(jobs, disk_mib=12, vm_name="bkfull", extra_env={"XENTUI_SMB_PW": smb.password},
                  remotes=[{"name": "tiny-file", "url": "file://" + os.path.join(mnt, "repo")},
                           {"name": "tiny-smb", "url": smb.url("bk"), "user": smb.user,
                            "password_env": "XENTUI_SMB_PW"},
                           {"name": "tiny-nfs", "url": nfs.url("bk")}])
        for i, (kind, remote, top, root) in enumerate(kinds):
            scenario(env, kind, remote, top, root, 10 * i)
    except Exception:  # a crash of the script is one failure, not a silent pass
        ok(False, "test_backup_fulldisk.py ran to the end", traceback.format_exc())
    finally:
        if env is not None:
            env.close()
        smb.stop()
        nfs.stop()
        ok(umount(mnt), "the tmpfs is unmounted")
        shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    sys.exit(main())
