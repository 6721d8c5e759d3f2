#!/usr/bin/env python3
"""The Backups screens as a person uses them, against xapi-sim and a file://
repository: :backups lists the job with its schedule in words and says that
no timer runs `due`; r runs it (a child `xentui backup run`) and the Jobs
and Runs tabs show it running, then its result and bytes (equal to the run
log's); the run's detail lists the VM; the Repositories tab tests the
remote and browses its points; a point verifies, restores as a new VM
(read back through the sim: its disk equals the source's), and is deleted
after its VM's name is typed (gone from disk). The Schedules tab gives the
crontab line and sees `due` once it has run. TAP."""
import glob
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
from tuitest import Timeout, row_of  # noqa: E402
from backuptui import Tap, backups_tui, show  # noqa: E402
from deltatest import Env, ok  # noqa: E402


def delete_cli(env):
    """`xentui backup delete`: a delta point that a later delta is built on
    is refused (nothing removed); the newest goes, then the older one."""
    from deltatest import DAY, T0, ts
    env.write_config([{"name": "inc", "mode": "delta"}])
    for i in range(2):
        env.change(10 + i)
        r = env.run("inc", T0 + i * DAY)
        ok(r.returncode == 0, "delta run %d exits 0" % (i + 1), r.stderr)
    first, second = ts(T0), ts(T0 + DAY)
    before = sorted(glob.glob(os.path.join(env.vmdir(), "**"), recursive=True))
    r = env.xentui("delete", "repo", env.vm_uuid, first)
    after = sorted(glob.glob(os.path.join(env.vmdir(), "**"), recursive=True))
    ok(r.returncode == 1 and "base of 1 later delta point" in r.stderr and before == after,
       "delete refuses a delta point a later one is built on, and removes nothing", r.stderr)
    r = env.xentui("delete", "repo", env.vm_uuid, second)
    ok(r.returncode == 0 and sorted(env.points()) == [first], "the newest delta point is deleted", r.stdout + r.stderr)
    vhds = [f for f in glob.glob(os.path.join(env.vmdir(), "vdis", "**", "*.vhd"), recursive=True)]
    ok(all(os.path.basename(f).startswith(first) for f in vhds) and vhds, "with its VHD, the base's kept", vhds)
    r = env.xentui("delete", "repo", env.vm_uuid, first)
    ok(r.returncode == 0 and not env.points(), "then the older one", r.stderr)
    r = env.xentui("delete", "repo", env.vm_uuid, first)
    ok(r.returncode == 1 and "no restore point" in r.stderr, "a point that is not there is a sentence", r.stderr)


def main():
    tap = Tap()
    # slow transfers (3 MB/s), so that a run lasts long enough to be watched
    env = Env([], disk_mib=16, faults="slow=3000000",
              remotes=[{"name": "broken", "url": "file:///proc/xentui-nope/repo"}])
    with open(env.config) as f:
        text = f.read()
    with open(env.config, "w") as f:
        f.write("# the pools and backups of this test; this comment stays\n" + text)
    tui = None
    try:
        source = env.change(1)
        e = env.env()
        tui = backups_tui(env, "backups", 140, 34)
        tui.attempt(tap, r"No backup jobs", ":backups without jobs says how to add one")

        # a new job in the form
        tui.keys("n")
        tui.attempt(tap, r"New backup job", "n opens the job form")
        tui.keys_literal("nightly")
        tui.keys("Tab", "Tab", "Tab")           # name, server, mode (full)
        tui.keys_literal("bktest")
        tui.keys("Tab", "Tab")                  # VMs, tags
        tui.keys_literal("repo")
        tui.keys("Tab")
        tui.keys_literal("0 2 * * *")
        show(tui, "job form")
        tui.keys("Enter")
        s = tui.attempt(tap, r"nightly.*full.*bktest.*repo.*every day at 02:00", "the new job is listed: mode, VMs, "
                        "remotes, schedule in words")
        with open(env.config) as f:
            text = f.read()
        tap.check(text.startswith("# the pools and backups of this test; this comment stays\n")
                  and 'name = "nightly"' in text and 'schedule = "0 2 * * *"' in text,
                  "it is written into the configuration, the comment kept", text)
        tap.check(s and re.search(r"nightly.*never run", s), "its last run: never", s)
        tap.check(s and "No timer has ever run `xentui backup due`" in s, "it says no timer runs `xentui backup due`", s)

        # edit it: the schedule
        tui.keys("e")
        tui.attempt(tap, r"Edit backup job nightly", "e opens the form with the job")
        tui.keys("Tab", "Tab", "Tab", "Tab", "Tab", "Tab")
        tui.keys("C-u")
        tui.keys_literal("30 1 * * 1-5")
        tui.keys("Enter")
        tui.attempt(tap, r"nightly.*every Monday to Friday at 01", "the edited schedule is shown in words")
        with open(env.config) as f:
            text = f.read()
        tap.check(text.count('name = "nightly"') == 1 and 'schedule = "30 1 * * 1-5"' in text
                  and "this comment stays" in text, "the file has the edit, once, and its comment", text)

        # run it now, watch it
        tui.keys("r")
        tui.attempt(tap, r"nightly.*running", "r starts the job: the Jobs tab shows it running", timeout=15)
        tui.keys("Tab")
        tui.attempt(tap, r"nightly.*running", "the Runs tab shows the running job live")
        tui.keys("Enter")
        tui.attempt(tap, r"Running.*since.*pid", "its detail shows live progress")
        show(tui, "live")
        tui.attempt(tap, r"bktest\s+(running|pending)", "and the VM being backed up")
        s = tui.attempt(tap, r"success: started", "the detail turns into the run's record when it ends", timeout=60)
        tap.check(s and re.search(r"bktest\s+ok\s+\d", s), "the VM ok, with its bytes", s)
        show(tui, "run detail")
        runs = [json.loads(l) for l in open(os.path.join(e["XDG_STATE_HOME"], "xentui", "runs.jsonl"))]
        tap.check(len(runs) == 1 and runs[0]["result"] == "success" and runs[0]["bytes"] > 0,
                  "the run log has the run", runs)
        tui.keys("Escape")
        s = tui.attempt(tap, r"nightly.*success.*1/1 ok", "Runs: the run with its result and VMs")
        row = row_of(s, "nightly") if s else None
        m = re.search(r"(\d+(?:\.\d+)?) (B|KiB|MiB|GiB)\b", row or "")
        shown = float(m.group(1)) * 1024 ** ["B", "KiB", "MiB", "GiB"].index(m.group(2)) if m else -1
        want = runs[0]["bytes"] if runs else 0
        tap.check(want > 0 and abs(shown - want) <= want * 0.05, "with its bytes, as the run log has them",
                  (row, want))
        tui.keys("BTab")
        tui.attempt(tap, r"nightly.*success", "Jobs: the last run's result")
        show(tui, "jobs")

        # the VM's Backups tab
        tui.keys(":")
        tui.keys_literal("vms")
        tui.keys("Enter")
        tui.wait(r"bktest")
        tui.keys("/")
        tui.keys_literal("bktest")
        tui.keys("Enter")
        tui.keys("Enter")
        tui.wait(r"VM bktest")
        tui.keys("6")
        s = tui.attempt(tap, r"repo\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+full", "the VM's Backups tab lists its restore point")
        show(tui, "vm tab")
        tui.keys(":")
        tui.keys_literal("backups")
        tui.keys("Enter")
        tui.wait(r"nightly.*success")

        # repositories
        tui.keys("3")
        s = tui.attempt(tap, r"repo\s+file://\S+\s+1\s", "Repositories: the remote with its point count", timeout=20)
        tap.check(s and re.search(r"broken\s.*unreadable", s), "a remote that cannot be read is listed too", s)
        tui.keys("t")
        s = tui.attempt(tap, r"broken\s.*(cannot|No such|not|denied|failed)",
                        "t on a broken remote says why, in a sentence", timeout=20)
        tui.keys("Down")
        tui.keys("t")
        tui.attempt(tap, r"repo\s.*\bok\b", "t tests the remote: ok", timeout=20)
        show(tui, "repos")
        tui.keys("Enter")
        s = tui.attempt(tap, r"bktest\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+full", "Enter browses the repository: VM, date, mode")
        tap.check(s and "not yet" in s, "a point not verified says so", s)
        tui.keys("v")
        tui.attempt(tap, r"bktest.*full.*\bok\b", "v verifies the point: ok", timeout=30)

        # restore as a new VM
        tui.keys("R")
        tui.attempt(tap, r"Restore bktest", "R opens the restore form")
        s = tui.attempt(tap, r"SR", "with an SR picker, a name and start after")
        show(tui, "restore form")
        tui.keys("Enter")
        tui.attempt(tap, r"Restored bktest", "the restore ends with a message", timeout=60)
        made = [r for r, x in env.call("VM.get_all_records").items()
                if x["name_label"].startswith("bktest (restored") and not x["is_a_template"]]
        tap.check(len(made) == 1, "the new VM is in the pool (read through the sim)", made)
        if made:
            disks = env.disks_of(env.call("VM.get_uuid", made[0]))
            tap.check(disks and env.read(disks[0]) == source, "its disk equals the source at backup time")

        # delete the point after typing the VM's name
        files_before = glob.glob(os.path.join(env.vmdir(), "*"))
        tui.keys("D")
        tui.attempt(tap, r"Delete restore point", "D asks to type the VM's name")
        tui.keys_literal("bktes")
        tui.keys("Enter")
        still = tui.screen()
        tap.check("Delete restore point" in still, "a wrong name does not delete", still)
        tui.keys_literal("t")
        tui.keys("Enter")
        tui.attempt(tap, r"Deleted the point of bktest", "the point is deleted", timeout=30)
        left = [f for f in glob.glob(os.path.join(env.vmdir(), "*")) if f.endswith((".json", ".xva"))]
        tap.check(files_before and not left, "its files are gone from disk", (files_before, left))
        tui.attempt(tap, r"0 restore points|no restore points|0 of", "the list no longer shows it")
        tui.keys("Escape")

        # schedules
        tui.keys("4")
        # the tab drawn whole (its last line is the jobs' schedules): a capture can catch a frame half-written
        crontab = r"\*/5 \* \* \* \* \S+ backup due -c " + re.escape(env.config[:40])
        s = tui.attempt(tap, lambda t: re.search(crontab, t) and re.search(r"^\s*nightly\s", t, re.M),
                        "Schedules: the crontab line to copy")
        tap.check(s and re.search(r"nightly\s+every Monday to Friday at 01:30 \(next \d{4}-", s),
                  "and each job's schedule in words with its next run", s)
        tap.check(s and "ExecStart=" in s and "OnCalendar" in s, "and the systemd timer", s)
        r = env.xentui("due")
        tap.check(r.returncode == 0, "xentui backup due runs", r.stderr)
        tui.keys("u")
        tui.attempt(tap, r"`xentui backup due` last ran", "Schedules: sees that due has run")
        tui.keys("1")
        # the Jobs table, not the Schedules text that also names the job
        tui.wait(lambda t: re.search(r"^JOB", t, re.M) and re.search(r"^nightly\s+full", t, re.M))
        tui.keys("d")
        tui.attempt(tap, r"Delete backup job", "d asks to type the job's name")
        tui.keys_literal("nightly")
        tui.keys("Enter")
        tui.attempt(tap, r"No backup jobs", "the job is gone from the list")
        with open(env.config) as f:
            text = f.read()
        tap.check('"nightly"' not in text and "this comment stays" in text and 'name = "sim"' in text,
                  "and from the file, the rest kept", text)
        # a smart-mode job: the form takes tags, Enter shows which VMs the rule takes now
        env.call("VM.add_tags", env.vm, "bk")
        tui.keys("n")
        tui.wait(r"New backup job")
        tui.keys_literal("smart")
        tui.keys("Tab", "Tab", "Tab", "Tab")
        tui.keys_literal("bk")
        tui.keys("Tab")
        tui.keys_literal("repo")
        tui.keys("Enter")
        tui.attempt(tap, r"smart\s+full\s+smart: tags bk", "a smart-mode job shows its rule")
        tui.keys("Enter")
        s = tui.attempt(tap, r"VMs it takes now: bktest\s", "its settings list the VMs the rule takes now")
        tui.keys("Escape")
        tui.quit_and_check(tap)
        tui.close()
        tui = None
        delete_cli(env)
    except Timeout as ex:
        tap.check(False, "the screen reached the expected state", ex)
    finally:
        if tui:
            tui.close()
        env.close()
    tap.done()


main()
