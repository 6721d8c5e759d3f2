"""`xentui backup` on the command line: usage errors (exit 2, one clear
line), configuration errors naming file:line, `backup test` on a good and a
bad file:// remote, `backup list` (a table, and --json read by Python) of a
repository laid out as Xen Orchestra writes it. TAP output."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
from simtest import ROOT, ok, plan  # noqa: E402

XENTUI = os.environ.get("XENTUI", os.path.join(ROOT, "build", "san", "xentui"))
TMP = tempfile.mkdtemp(prefix="xentui-bcli-")
ENV = dict(os.environ, XDG_STATE_HOME=os.path.join(TMP, "state"), XDG_CONFIG_HOME=os.path.join(TMP, "cfg"))


def xentui(*args, env=None):
    p = subprocess.run([XENTUI, "backup", *args], capture_output=True, text=True, timeout=60, env=env or ENV)
    return p.returncode, p.stdout, p.stderr


def write_conf(text, name="conf"):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


GOOD = """servers = ( { name = "sim"; url = "https://127.0.0.1:1"; password_env = "NOPE"; } );
remotes = (
  { name = "good"; url = "file://%(tmp)s/repo"; },
  { name = "bad"; url = "file://%(tmp)s/afile/repo"; }
);
backup_jobs = (
  { name = "nightly"; server = "sim"; mode = "full"; remotes = ["good"]; vms = ["a"]; schedule = "0 2 * * *"; }
);
""" % {"tmp": TMP}


def main():
    os.makedirs(os.path.join(TMP, "repo"))
    with open(os.path.join(TMP, "afile"), "w") as f:
        f.write("a file where a folder should be\n")
    conf = write_conf(GOOD)

    # ---- usage -----------------------------------------------------------
    for args, word in [((), "what?"), (("frobnicate",), "unknown command 'frobnicate'"), (("run",), "which job"),
                       (("test",), "which remote"), (("list", "--sr", "x"), "go with restore"),
                       (("run", "nightly", "--json"), "--json goes with list"), (("--bogus",), "--bogus"),
                       (("restore", "good", "uuid"), "--sr")]:
        rc, out, err = xentui(*args, "-c", conf)
        lines = [l for l in err.splitlines() if l.startswith("xentui backup:")]
        ok(rc == 2 and len(lines) == 1 and word in lines[0], "backup %s: exit 2 with one clear line" % " ".join(args),
           "rc=%d stderr=%r" % (rc, err))
    rc, out, err = xentui("run", "nosuch", "-c", conf)
    ok(rc == 2 and "no backup job named 'nosuch'" in err, "an unknown job is exit 2 and named", err)
    rc, out, err = xentui("test", "nosuch", "-c", conf)
    ok(rc == 2 and "no remote named 'nosuch'" in err, "an unknown remote is exit 2 and named", err)
    rc, out, err = xentui("--help")
    ok(rc == 0 and "backup restore REMOTE VM-UUID" in out, "backup --help shows every command", out)

    # ---- configuration errors name file:line -----------------------------------
    cases = [
        ("unknown job key", 'backup_jobs = (\n { name = "j"; server = "sim"; mode = "full"; remotes = ["good"];\n   colour = "red"; }\n);',
         3, "unknown backup job setting 'colour'"),
        ("bad url scheme", 'remotes = (\n { name = "x";\n   url = "ftp://h/p"; }\n);', 3, "not a file://"),
        ("unknown remote", 'backup_jobs = (\n { name = "j"; server = "sim"; mode = "full";\n remotes = ["nas"]; }\n);',
         3, "no remote named 'nas'"),
        ("unknown server", 'backup_jobs = (\n { name = "j";\n  server = "other"; mode = "full"; remotes = ["good"]; }\n);',
         3, "no server named 'other'"),
        ("bad mode", 'backup_jobs = (\n\n { name = "j"; server = "sim"; remotes = ["good"];\n mode = "tape"; }\n);',
         4, "mode must be snapshot, full, delta or metadata"),
        ("bad cron", 'backup_jobs = (\n { name = "j"; server = "sim"; mode = "full"; remotes = ["good"];\n schedule = "61 * * * *"; }\n);',
         3, "not a valid minute"),
        ("wrong type", 'backup_jobs = (\n { name = "j"; server = "sim"; mode = "full"; remotes = ["good"];\n retention = "seven"; }\n);',
         3, "'retention' must be a whole number"),
        ("unknown remote key", 'remotes = (\n { name = "x"; url = "file:///tmp/x";\n   colour = 1; }\n);', 3,
         "unknown remote setting 'colour'"),
        ("syntax", 'backup_jobs = (\n { name = "j";\n mode = = "full"; }\n);', 3, ""),
    ]
    head = 'servers = ( { name = "sim"; url = "https://127.0.0.1:1"; } );\n'
    base_remotes = 'remotes = ( { name = "good"; url = "file:///tmp/x"; } );\n'
    for name, body, line, word in cases:
        text = head + (base_remotes if not body.startswith("remotes") else "") + body + "\n"
        path = write_conf(text, "bad.conf")
        offset = 2 if not body.startswith("remotes") else 1
        rc, out, err = xentui("list", "-c", path)
        want = "%s:%d:" % (path, line + offset)
        ok(rc == 2 and want in err and word in err, "config error (%s) is exit 2 naming %s" % (name, "file:line"),
           "rc=%d want %r and %r in %r" % (rc, want, word, err))

    # ---- backup test ---------------------------------------------------------------
    rc, out, err = xentui("test", "good", "-c", conf)
    ok(rc == 0 and "remote good: ok" in out, "backup test on a good file:// remote", out + err)
    ok(os.listdir(os.path.join(TMP, "repo")) == [] or all(n.startswith("xo-") for n in os.listdir(os.path.join(TMP, "repo"))),
       "backup test leaves nothing behind", os.listdir(os.path.join(TMP, "repo")))
    rc, out, err = xentui("test", "bad", "-c", conf)
    ok(rc == 1 and err.startswith("xentui: ") and "bad" in err and len(err.strip().splitlines()) == 1,
       "backup test on a bad file:// remote fails with one sentence", "rc=%d %r" % (rc, err))

    # ---- backup list of XO's own layout -------------------------------------------------
    rc, out, err = xentui("list", "good", "-c", conf)
    ok(rc == 0 and "no restore points" in out, "an empty repository lists no point", out + err)
    vm = "0f6a2d5e-3c2b-4b0e-9d53-1f2e3d4c5b6a"
    folder = os.path.join(TMP, "repo", "xo-vm-backups", vm)
    os.makedirs(folder)
    points = [("20240102T030405Z", 1704164645000, 123456789), ("20240103T030405Z", 1704251045000, 2048)]
    for ts, ms, size in points:
        meta = {"version": "2.0.0", "mode": "full", "jobId": "97c1a0c4-6a2e-4d7c-a1d3-2b1c0c0f2a11",
                "scheduleId": "s", "timestamp": ms, "vm": {"uuid": vm, "name_label": "xo made me"},
                "vmSnapshot": {"uuid": "x", "name_label": "snap"}, "xva": "./%s.xva" % ts, "size": size}
        with open(os.path.join(folder, ts + ".json"), "w") as f:
            json.dump(meta, f)
        with open(os.path.join(folder, ts + ".xva"), "wb") as f:
            f.write(b"\0" * 10)
    # an unfinished write is no point
    with open(os.path.join(folder, ".tmp-20240104T000000Z.json"), "w") as f:
        f.write("{")
    rc, out, err = xentui("list", "good", "--json", "-c", conf)
    try:
        got = json.loads(out)
    except ValueError as e:
        got = None
        err += " / %s" % e
    ok(rc == 0 and isinstance(got, list) and len(got) == 2, "list --json is JSON Python reads, one entry per point",
       out + err)
    if got and len(got) == 2:
        ok([g["timestamp"] for g in got] == [p[0] for p in points] and all(g["vm_uuid"] == vm for g in got)
           and got[0]["size"] == 123456789 and got[0]["mode"] == "full" and got[0]["vm_name"] == "xo made me"
           and got[0]["job"] == "97c1a0c4-6a2e-4d7c-a1d3-2b1c0c0f2a11" and got[0]["remote"] == "good",
           "list --json: vm_uuid, vm_name, timestamp, mode, size, job of XO's points", got)
    rc, out, err = xentui("list", "good", "-c", conf)
    lines = out.splitlines()
    ok(rc == 0 and lines[0].split() == ["VM_UUID", "VM_NAME", "TIMESTAMP", "MODE", "SIZE", "JOB"] and len(lines) == 3
       and "20240103T030405Z" in lines[2] and "117.7 MiB" in lines[1], "list prints a table", out + err)
    rc, out, err = xentui("list", "bad", "-c", conf)
    ok(rc == 1 and "bad" in err, "list of a remote that cannot be read fails", out + err)
    p = subprocess.run([XENTUI, "-c", conf, "backup", "list", "good"], capture_output=True, text=True, timeout=60,
                       env=ENV)
    ok(p.returncode == 0 and p.stdout.count(vm) == 2, "options may come before 'backup' too", p.stdout + p.stderr)
    rc, out, err = xentui("list", "-c", conf)
    ok(rc == 1 and "bad" in err and out.count(vm) == 2 and "@good" in out,
       "list of every remote: the readable ones listed, exit 1 for the other", out + err)


try:
    main()
finally:
    shutil.rmtree(TMP, ignore_errors=True)
sys.exit(plan())
