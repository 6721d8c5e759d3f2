"""NAS repositories against real servers on 127.0.0.1: Samba's smbd (SMB on
a port other than 445, a smbpasswd user) and nfs-ganesha (NFSv4, no
rpcbind), both started here (tests/lib/nasserver.py).

1. build/san/unit/test_repo runs every repo.h call on smb:// and on nfs://
   (its TAP lines are passed through, renumbered).
2. Checks that do not trust xentui's own reading: a metadata backup run by
   `xentui backup run` to both remotes is read back with `smbclient` and from
   the export's folder on disk, and must be the same bytes as the
   configuration file it copies and as the checksum its metadata.json
   gives; no temporary file is left; `xentui backup test` passes on both;
   a wrong SMB password fails with a sentence that says so."""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
import nasserver  # noqa: E402
import simtest  # noqa: E402
from simtest import ok  # noqa: E402

ROOT = simtest.ROOT
XENTUI = os.environ.get("XENTUI", os.path.join(ROOT, "build", "san", "xentui"))
TEST_REPO = os.path.join(ROOT, "build", "san", "unit", "test_repo")
SANITIZER_WORDS = ("Sanitizer", "runtime error")


def run_test_repo(label, url, env_extra):
    """Runs test_repo on one URL; each of its TAP lines becomes one of ours."""
    env = dict(os.environ, REPO_TEST_ONLY_URLS="1", REPO_TEST_URLS=url, CMOCKA_MESSAGE_OUTPUT="TAP")
    for k in ("REPO_TEST_USER", "REPO_TEST_PASSWORD", "REPO_TEST_PASSWORD_ENV"):
        env.pop(k, None)
    env.update(env_extra)
    if not os.access(TEST_REPO, os.X_OK):
        ok(False, "%s: %s is built (make build/san/unit/test_repo)" % (label, TEST_REPO))
        return
    try:
        r = subprocess.run([TEST_REPO], env=env, capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired as e:
        ok(False, "%s: test_repo finished within 240 s" % label, e)
        return
    seen = 0
    bad = 0
    comments = []
    for line in r.stdout.splitlines():
        if line.startswith("# "):
            comments.append(line[2:])
            continue
        for head, good in (("ok ", True), ("not ok ", False)):
            if line.startswith(head):
                name = line[len(head):].split(" - ", 1)[-1]
                seen += 1
                bad += not good
                # test_repo's names start with the kind already ("smb: ...")
                ok(good, name, "\n".join(comments[-10:]) + "\n" + r.stderr[-1500:])
                comments = []
                break
    ok(seen > 0, "%s: test_repo reported its tests" % label, r.stdout[-1500:] + r.stderr[-1500:])
    ok(r.returncode == 0 or bad > 0, "%s: test_repo exits 0" % label, "status %d\n%s" % (r.returncode, r.stderr[-1500:]))
    san = [l for l in r.stderr.splitlines() if any(w in l for w in SANITIZER_WORDS)]
    ok(not san, "%s: test_repo's stderr has no sanitizer report" % label, "\n".join(san[:20]) + r.stderr[-2000:])


def xentui(args, env, timeout=120):
    return subprocess.run([XENTUI] + args, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def no_sanitizer(r, what):
    san = [l for l in r.stderr.splitlines() if any(w in l for w in SANITIZER_WORDS)]
    ok(not san, "%s: no sanitizer report" % what, r.stderr[-2000:])


def files_under(top):
    """Relative paths of every file under a local folder."""
    out = []
    for root, _dirs, files in os.walk(top):
        for f in files:
            out.append(os.path.relpath(os.path.join(root, f), top))
    return sorted(out)


LS_LINE = re.compile(r"^  (.+?)\s+([A-Z]*)\s+(\d+)\s+\w{3} \w{3}\s+\d+ \d\d:\d\d:\d\d \d{4}$")


def smb_files(smb, folder):
    """Relative paths of every file under folder of the share, by smbclient."""
    st, out = smb.smbclient('recurse ON; prompt OFF; cd "%s"; ls' % folder)
    files, cur = [], ""
    for line in out.splitlines():
        if line.startswith("\\"):  # "\folder\sub" heads each folder's entries
            cur = line.strip().strip("\\").replace("\\", "/")
            cur = cur[len(folder):].lstrip("/") if cur.startswith(folder) else cur
            continue
        m = LS_LINE.match(line)
        if m and m.group(1) not in (".", "..") and "D" not in m.group(2):
            files.append((cur + "/" + m.group(1)).lstrip("/"))
    return st, sorted(files), out


def smb_get(smb, path, dest):
    """Copies one file of the share to dest with smbclient."""
    return smb.smbclient('get "%s" "%s"' % (path.replace("/", "\\"), dest))


def sha(b):
    return hashlib.sha256(b).hexdigest()


def independent_checks(smb, nfs, tmp, sim_url):
    cfg_path = os.path.join(tmp, "config")
    state = os.path.join(tmp, "state")
    os.makedirs(state)
    with open(cfg_path, "w") as f:
        f.write("""# xentui configuration of test_repo_nas.py
servers = (
  { name = "sim"; url = "%(sim)s"; user = "root"; password_env = "NAS_TEST_SIM_PW"; insecure = true; }
);
remotes = (
  { name = "nas-smb"; url = "%(smb)s"; user = "%(user)s"; password_env = "NAS_TEST_SMB_PW"; },
  { name = "nas-nfs"; url = "%(nfs)s"; },
  { name = "nas-smb-wrong"; url = "%(smb)s"; user = "%(user)s"; password_env = "NAS_TEST_SMB_WRONG"; }
);
backup_jobs = (
  { name = "meta"; server = "sim"; mode = "metadata"; remotes = ["nas-smb", "nas-nfs"]; retention = 2; }
);
""" % {"sim": sim_url, "smb": smb.url("backups"), "nfs": nfs.url("backups"), "user": smb.user})
    os.chmod(cfg_path, 0o600)
    with open(cfg_path, "rb") as f:
        cfg_bytes = f.read()
    env = dict(os.environ, NAS_TEST_SIM_PW="xapi-sim", NAS_TEST_SMB_PW=smb.password,
               NAS_TEST_SMB_WRONG=smb.password + "-wrong", XDG_STATE_HOME=state,
               XDG_CONFIG_HOME=os.path.join(tmp, "xdg"))

    # xentui's self-test on both, and a wrong password said plainly
    for remote in ("nas-smb", "nas-nfs"):
        r = xentui(["backup", "-c", cfg_path, "test", remote], env)
        ok(r.returncode == 0 and "ok" in r.stdout, "xentui backup test %s succeeds" % remote,
           "status %d\n%s%s" % (r.returncode, r.stdout, r.stderr[-1500:]))
        no_sanitizer(r, "backup test %s" % remote)
    r = xentui(["backup", "-c", cfg_path, "test", "nas-smb-wrong"], env)
    want = "the SMB server refused user '%s': wrong user name or password" % smb.user
    ok(r.returncode == 1 and want in r.stderr and "nas-smb-wrong" in r.stderr,
       "a wrong SMB password: exit 1 and \"%s\" naming the repository" % want,
       "status %d\n%s%s" % (r.returncode, r.stdout, r.stderr[-1500:]))
    ok(smb.password not in r.stderr + r.stdout, "the password is not printed")
    no_sanitizer(r, "backup test nas-smb-wrong")

    # a metadata backup to both; read back without xentui
    r = xentui(["backup", "-c", cfg_path, "run", "meta"], env, timeout=180)
    ok(r.returncode == 0, "xentui backup run (metadata to smb:// and nfs://) exits 0",
       "status %d\n%s%s" % (r.returncode, r.stdout, r.stderr[-2000:]))
    no_sanitizer(r, "backup run meta")

    nfs_top = os.path.join(nfs.export_dir, "backups")
    on_nfs = files_under(nfs_top) if os.path.isdir(nfs_top) else []
    st, on_smb, listing = smb_files(smb, "backups")
    ok(st == 0, "smbclient lists the share recursively", listing[-1500:])
    ok(on_nfs and on_smb == on_nfs, "the same files on the share (smbclient) and in the export's folder on disk",
       "smb %s\nnfs %s" % (on_smb, on_nfs))
    ok(not [p for p in on_nfs + on_smb if ".tmp-" in p], "no temporary file is left", on_nfs + on_smb)

    cfg_copies = [p for p in on_nfs if p.startswith("xo-config-backups/") and p.endswith("/data.json")]
    dumps = [p for p in on_nfs if p.startswith("xo-pool-metadata-backups/") and p.endswith("/data")]
    ok(len(cfg_copies) == 1 and len(dumps) == 1, "one configuration copy and one pool database dump", on_nfs)
    for rel in cfg_copies + dumps:
        with open(os.path.join(nfs_top, rel), "rb") as f:
            disk = f.read()
        local = os.path.join(tmp, "got-" + os.path.basename(rel))
        if os.path.exists(local):
            os.unlink(local)
        st, out = smb_get(smb, "backups/" + rel, local)
        got = open(local, "rb").read() if os.path.exists(local) else None
        ok(st == 0 and got == disk, "%s: smbclient's copy equals the export's file on disk (%d bytes)"
           % (rel, len(disk)), out[-500:])
        meta_path = os.path.join(nfs_top, os.path.dirname(rel), "metadata.json")
        try:
            with open(meta_path) as f:
                meta = json.load(f)
        except (OSError, ValueError) as e:
            meta = {}
            ok(False, "%s: metadata.json beside it is JSON" % rel, e)
        ours = meta.get("xentui", {})
        entry = (ours.get("files") or ours).get(os.path.basename(rel), {})
        ok(entry.get("sha256") == sha(disk) and entry.get("size") == len(disk),
           "%s: its bytes have the SHA-256 and size metadata.json gives" % rel, (entry, sha(disk), len(disk)))
        if rel in cfg_copies:
            ok(disk == cfg_bytes, "%s: the same bytes as the configuration file" % rel,
               "%d bytes vs %d" % (len(disk), len(cfg_bytes)))


def full_nas_checks(tmp, sim_url):
    """A share and an export on a 64 KiB tmpfs: the metadata backup (the
    pool database alone is bigger) fails with a sentence, leaving nothing."""
    if os.geteuid() != 0:
        ok(True, "a full SMB share or NFS export is a sentence # SKIP needs root to mount a small tmpfs")
        return
    tiny = 64 * 1024
    smb = nasserver.Samba(tmpfs_size=tiny)
    nfs = nasserver.Ganesha(tmpfs_size=tiny)
    try:
        smb.start()
        nfs.start()
        cfg_path = os.path.join(tmp, "config-full")
        with open(cfg_path, "w") as f:
            f.write("""servers = (
  { name = "sim"; url = "%(sim)s"; user = "root"; password_env = "NAS_TEST_SIM_PW"; insecure = true; }
);
remotes = (
  { name = "tiny-smb"; url = "%(smb)s"; user = "%(user)s"; password_env = "NAS_TEST_SMB_PW"; },
  { name = "tiny-nfs"; url = "%(nfs)s"; }
);
backup_jobs = (
  { name = "meta-smb"; server = "sim"; mode = "metadata"; remotes = ["tiny-smb"]; },
  { name = "meta-nfs"; server = "sim"; mode = "metadata"; remotes = ["tiny-nfs"]; }
);
""" % {"sim": sim_url, "smb": smb.url("b"), "nfs": nfs.url("b"), "user": smb.user})
        os.chmod(cfg_path, 0o600)
        env = dict(os.environ, NAS_TEST_SIM_PW="xapi-sim", NAS_TEST_SMB_PW=smb.password,
                   XDG_STATE_HOME=os.path.join(tmp, "state-full"), XDG_CONFIG_HOME=os.path.join(tmp, "xdg"))
        for job, remote, top in (("meta-smb", "tiny-smb", smb.share_dir), ("meta-nfs", "tiny-nfs", nfs.export_dir)):
            r = xentui(["backup", "-c", cfg_path, "run", job], env, timeout=180)
            ok(r.returncode == 1 and "full" in r.stderr and remote in r.stderr,
               "%s on a full %s: exit 1 with a sentence naming the repository and saying it is full"
               % (job, remote), "status %d\n%s%s" % (r.returncode, r.stdout, r.stderr[-1500:]))
            print("# " + " | ".join(l for l in r.stderr.splitlines() if "full" in l)[:500])
            no_sanitizer(r, "backup run %s" % job)
            left = [p for p in files_under(top) if "/data" in "/" + p or ".tmp-" in p]
            ok(not left, "%s: no partial file is left on the server's disk" % remote, left)
    except (RuntimeError, OSError) as e:
        ok(False, "servers on a small tmpfs started", e)
    finally:
        smb.stop()
        nfs.stop()


def main():
    tmp = tempfile.mkdtemp(prefix="xentui-nas-test-")
    smb = nasserver.Samba()
    nfs = nasserver.Ganesha()
    try:
        try:
            smb.start()
            ok(True, "smbd started on 127.0.0.1:%d" % smb.port)
        except (RuntimeError, OSError) as e:
            ok(False, "smbd started", e)
            return
        try:
            nfs.start()
            ok(True, "ganesha.nfsd started on 127.0.0.1:%d (NFSv4)" % nfs.port)
        except (RuntimeError, OSError) as e:
            ok(False, "ganesha.nfsd started", e)
            return
        # separately: NFS has no password, so test_repo's wrong-secret case applies to SMB only
        run_test_repo("smb", smb.url("repo-tests"),
                      {"REPO_TEST_USER": smb.user, "REPO_TEST_PASSWORD": smb.password})
        run_test_repo("nfs", nfs.url("repo-tests"), {})
        sim_url, _sim = simtest.start_proc("--hosts", "1", "--vms", "2", "--seed", "5")
        independent_checks(smb, nfs, tmp, sim_url)
        full_nas_checks(tmp, sim_url)
    finally:
        simtest.stop_all()
        smb.stop()
        nfs.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a crash of the script is one failure, not a silent pass
        ok(False, "test_repo_nas.py ran to the end", repr(e))
    sys.exit(simtest.plan())
