#!/usr/bin/env python3
"""A replication job's target pool, and a run started by cron, in the
Backups screens against two xapi-sim processes (the second configured as
another pool, `dr-site`): the job form's Target pool choice moves a dr
job's replicas to dr-site (the file gets target_server, the Jobs tab says
"of dr-site", the form shows it when opened again, and choosing the job's
own server again removes the key); `xentui backup due` run in another
process, as cron runs it, shows in the open screen without a key pressed:
the Jobs tab says running (and its result once it ended), Runs too, the run's detail gives live progress
with the due process's pid and the VM, then turns into the run's record;
the replica is on dr-site (read back through its XML-RPC), none on the
job's own pool. TAP."""
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
from tuitest import Timeout  # noqa: E402
from backuptui import Tap, backups_tui, show  # noqa: E402
from deltatest import Env, SecondPool, done  # noqa: E402


def write_config(env, p2):
    env.config = os.path.join(env.dir, "xentui.conf")
    with open(env.config, "w") as f:
        f.write('servers = (\n  { name = "sim"; url = "%s"; user = "root"; password_env = "XENTUI_PW"; insecure = true; },\n'
                '  { name = "dr-site"; url = "%s"; user = "root"; password_env = "XENTUI_PW"; insecure = true; }\n);\n'
                '# the jobs of this test; this comment stays\n'
                'backup_jobs = (\n'
                '  { name = "drjob"; server = "sim"; mode = "dr"; vms = ["%s"]; target_sr = "%s"; retention = 2;\n'
                '    schedule = "* * * * *"; }\n'
                ');\n' % (env.url, p2.url, env.vm_name, env.sr_uuid))


def group(env):
    with open(env.config) as f:
        text = f.read()
    return text, text[text.index('name = "drjob"'):].split("}", 1)[0]


def replicas(pool, env):
    return [x for x in pool.call("VM.get_all_records").values()
            if not x["is_a_snapshot"] and not x["is_a_template"] and x["other_config"].get("xo:backup:vm") == env.vm_uuid
            and " - drjob - (" in x["name_label"]]


def open_form(tui, tap, name):
    tui.keys("e")
    return tui.attempt(tap, r"Edit backup job drjob", name)


def main():
    tap = Tap()
    # slow transfers (3 MB/s) so that the run lasts long enough to be watched
    env = Env([], disk_mib=32, faults="slow=3000000")
    p2 = None
    tui = None
    cron = None
    try:
        p2 = SecondPool(env.dir)
        write_config(env, p2)
        env.write(0, os.urandom(24 << 20))  # data to replicate: about 8 s at the sim's slowed rate
        tui = backups_tui(env, "backups-target", 150, 40, "sim")
        s = tui.attempt(tap, r"drjob\s+dr\s+bktest\s+to SR " + env.sr_uuid[:8] + r"\s", "Jobs: the dr job, to an SR of "
                        "its own pool")

        # ---- the form: Target pool ---------------------------------------------------
        s = open_form(tui, tap, "e opens the form of the dr job")
        tap.check(s and re.search(r"Target pool\s+< \(the job's server\) >", s),
                  "its Target pool is the job's own server", s)
        show(tui, "form")
        tui.keys(*["Tab"] * 8)                  # to Target (the SR)
        tui.keys("C-u")
        tui.keys_literal(p2.sr_uuid)
        tui.keys("Tab", "Right", "Right")       # Target pool: sim, then dr-site
        s = tui.attempt(tap, r"Target pool\s+< dr-site >", "Right chooses another configured pool")
        show(tui, "form, dr-site")
        tui.keys("Enter")
        tui.attempt(tap, r"Backup job drjob saved", "saved")
        text, grp = group(env)
        tap.check('target_server = "dr-site"' in grp and ('target_sr = "%s"' % p2.sr_uuid) in grp
                  and 'mode = "dr"' in grp and "this comment stays" in text,
                  "the file has target_server = \"dr-site\" and the new SR, its comment kept", grp)
        tui.wait(r"drjob")
        tui.keys("Enter")
        s = tui.attempt(tap, r"Replicas: on SR " + p2.sr_uuid[:30], "the job's settings: the replicas go to the new SR")
        tap.check(s and re.search(r"of\s+dr-site", s), "of dr-site", s)
        tui.keys("Escape")
        s = open_form(tui, tap, "the form opens again")
        tap.check(s and re.search(r"Target pool\s+< dr-site >", s), "with dr-site chosen", s)
        tui.keys("Escape")
        tui.wait(r"drjob")

        # ---- `xentui backup due` in another process, as cron runs it ------------------------------
        r = env.xentui("due", now=time.time() - 300)   # first sight, five minutes ago
        tap.check(r.returncode == 0 and not replicas(p2, env), "due sees the job for the first time and waits",
                  r.stderr)
        tui.keys("1")
        tui.wait(r"drjob\s.*never run")
        cron = env.popen("due")
        s = tui.attempt(tap, r"drjob\s.*running", "Jobs shows the job cron started running, no key pressed",
                        timeout=30)
        tui.keys("2")
        tui.attempt(tap, r"drjob\s.*running", "Runs shows it running")
        tui.keys("Enter")
        s = tui.attempt(tap, r"Running.*since.*pid %d" % cron.pid, "its detail: live progress, with the due process's pid")
        show(tui, "live")
        s = tui.attempt(tap, r"bktest\s+(running|pending)", "and the VM being replicated")
        tap.check(cron.poll() is None, "the run was still going while the screen showed it")
        s = tui.attempt(tap, r"success: started", "the detail turns into the run's record when it ends, no key pressed",
                        timeout=90)
        tap.check(s and re.search(r"bktest\s+ok\s+\d", s), "the VM ok, with its bytes", s)
        show(tui, "ended")
        out, err = cron.communicate(timeout=60)
        tap.check(cron.returncode == 0, "due exits 0", err)
        tui.keys("Escape")
        tui.attempt(tap, r"drjob\s+.*success.*1/1 ok", "Runs: the run with its result")
        reps = replicas(p2, env)
        tap.check(len(reps) == 1 and reps[0]["power_state"] == "Halted", "the replica is on dr-site (read through its "
                  "XML-RPC)", [x["name_label"] for x in reps])
        tap.check(not replicas(env, env), "none on the job's own pool")

        # ---- another run from another process, watched on Jobs: running, then its result ------
        tui.keys("1")
        tui.wait(r"drjob\s.*success")
        cron = env.popen("run", "drjob")
        tui.attempt(tap, r"drjob\s.*running", "a second run from another process: Jobs shows it running")
        s = tui.attempt(tap, r"drjob\s.*success\s+just now", "then its result, no key pressed", timeout=90)
        tap.check(cron.wait(60) == 0, "that run exits 0")
        show(tui, "jobs after")

        # ---- back to the job's own server: the key goes -------------------------------------
        open_form(tui, tap, "the form opens once more")
        tui.keys(*["Tab"] * 8)
        tui.keys("C-u")
        tui.keys_literal(env.sr_uuid)
        tui.keys("Tab", "Left", "Left")
        tui.attempt(tap, r"Target pool\s+< \(the job's server\) >", "Left goes back to the job's own server")
        tui.keys("Enter")
        tui.attempt(tap, r"Backup job drjob saved", "saved")
        text, grp = group(env)
        tap.check("target_server" not in grp and ('target_sr = "%s"' % env.sr_uuid) in grp,
                  "target_server is gone from the file", grp)
        tui.quit_and_check(tap)
        tui.close()
        tui = None
    except Timeout as ex:
        tap.check(False, "the screen reached the expected state", ex)
    finally:
        if tui:
            tui.close()
        if cron and cron.poll() is None:
            os.killpg(cron.pid, 15)
            cron.wait(30)
        if p2:
            p2.stop()
        env.close()
    sys.exit(done())


main()
