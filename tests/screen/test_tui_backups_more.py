#!/usr/bin/env python3
"""More of the Backups screens, against xapi-sim and file:// repositories:
Jobs shows dr and mirror jobs with their targets; a run's detail shows the
health check per VM ("passed in N s") and the report that could not be
sent; a VM's Backups tab lists the jobs that cover it (by name and by a
smart-mode rule) above its restore points; a dr job's replicas are listed
with their date and `s` starts one after a confirmation that names it and
says the source VM is not stopped (read back through the sim: running, its
start no longer blocked); a point's `d` restores one disk as a new VDI
whose bytes (read through /export_raw_vdi) equal the disk at backup time.
TAP."""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
from tuitest import Timeout  # noqa: E402
from backuptui import Tap, backups_tui, show  # noqa: E402
from deltatest import Env, done  # noqa: E402


def write_config(env):
    sr = env.sr_uuid
    text = ('servers = ( { name = "sim"; url = "%s"; user = "root"; password_env = "XENTUI_PW"; insecure = true; } );\n'
            'remotes = ( { name = "repo"; url = "file://%s"; }, { name = "repo2"; url = "file://%s"; } );\n'
            # nothing listens on port 1: the report cannot be sent
            'smtp = { url = "smtp://127.0.0.1:1"; from = "xentui@example.org"; to = ["ops@example.org"]; };\n'
            'backup_jobs = (\n'
            '  { name = "nightly"; server = "sim"; mode = "full"; compression = "none"; vms = ["bktest"];\n'
            '    remotes = ["repo"]; report = "always"; health_check = { sr = "%s"; timeout = 60; }; },\n'
            '  { name = "drjob"; server = "sim"; mode = "dr"; vms = ["bktest"]; target_sr = "%s"; retention = 2; },\n'
            '  { name = "copy"; server = "sim"; mode = "mirror"; source_remote = "repo"; remotes = ["repo2"]; },\n'
            '  { name = "hcfail"; server = "sim"; mode = "full"; compression = "none"; vms = ["bktest"];\n'
            '    remotes = ["repo2"]; health_check = { sr = "%s"; timeout = 3; }; },\n'
            '  { name = "bytag"; server = "sim"; mode = "delta"; tags = ["bk"]; remotes = ["repo"]; }\n'
            ');\n') % (env.url, env.repo, env.repo2, sr, sr, sr)
    with open(env.config, "w") as f:
        f.write(text)


def runlog(env):
    with open(os.path.join(env.dir, "state", "xentui", "runs.jsonl")) as f:
        return [json.loads(l) for l in f if l.strip()]


def main():
    tap = Tap()
    env = Env([], disk_mib=8)
    write_config(env)
    env.call("VM.add_tags", env.vm, "bk")
    tui = None
    try:
        r = env.xentui("list")
        tap.check(r.returncode == 0, "the configuration with dr, mirror, health check and report is accepted", r.stderr)
        source = env.change(1)
        r = env.run("nightly", None)
        runs = runlog(env)
        hc = runs[-1]["vms"][0].get("health_check", "") if runs else ""
        tap.check(r.returncode == 0 and hc.startswith("passed in") and runs[-1].get("report_error"),
                  "a full run with a health check passes it; its report cannot be sent", r.stderr + json.dumps(runs))
        # a guest whose agent never answers (the sim's mark, carried by the XVA): the check fails
        env.call("VM.add_to_other_config", env.vm, "sim_guest_agent", "never")
        r = env.run("hcfail", None)
        env.call("VM.remove_from_other_config", env.vm, "sim_guest_agent")
        runs = runlog(env)
        hc = runs[-1]["vms"][0].get("health_check", "") if runs else ""
        tap.check(r.returncode != 0 and hc.startswith("failed"), "a run whose guest agent never answers fails its check",
                  r.stderr + json.dumps(runs[-1:]))
        env.change(2)  # the disk moves on: a restored disk can only equal the point

        tui = backups_tui(env, "backups-more", 150, 36)
        s = tui.attempt(tap, r"drjob\s+dr\s+bktest\s+to SR " + env.sr_uuid[:8],
                        "Jobs: a dr job with the SR its replicas go to")
        tap.check(s and re.search(r"copy\s+mirror\s+\(every point of repo\)\s+repo\s*(→|->)\s*repo2", s), "a mirror job: from, to", s)
        tap.check(s and re.search(r"bytag\s+delta\s+smart: tags bk", s), "a smart-mode job with its rule", s)
        show(tui, "jobs")

        # the run: health check per VM, the report's failure
        tui.keys("2")
        tui.wait(r"nightly.*success")
        tui.keys("/")
        tui.keys_literal("hcfail")
        tui.keys("Enter")
        tui.wait(r"1 of 2 runs")
        tui.keys("Enter")
        s = tui.attempt(tap, r"bktest\s+failed\s.*failed: ", "a failed health check is shown with its reason")
        show(tui, "failed check")
        tui.keys("Escape")
        tui.keys("/")
        tui.keys("C-u")
        tui.keys_literal("nightly")
        tui.keys("Enter")
        tui.wait(r"1 of 2 runs")
        tui.keys("Enter")
        s = tui.attempt(tap, r"bktest\s+ok\s.*passed in \d+ s", "the run's detail: the VM's health check passed in N s")
        tap.check(s and re.search(r"Report not sent: .*127\.0\.0\.1", s), "and the report that could not be sent, why",
                  s)
        show(tui, "run detail")
        tui.keys("Enter")
        tui.attempt(tap, r"Health check: passed in", "the VM's details say the health check")
        tui.keys("Escape")
        tui.keys("Escape")

        # the VM's Backups tab: the jobs that cover it, above its points
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
        s = tui.attempt(tap, r"job nightly \(by name\)", "the VM's Backups tab lists the job that names it")
        tap.check(s and "job bytag (smart mode)" in s and "job drjob (by name)" in s,
                  "and the jobs whose rule or list take it", s)
        tap.check(s and "job copy" not in s, "not the mirror job, which takes no VM", s)
        lines = s.splitlines() if s else []
        first_job = next((i for i, l in enumerate(lines) if "job " in l and "(by name)" in l), 99)
        first_point = next((i for i, l in enumerate(lines) if re.search(r"repo\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+full", l)), -1)
        tap.check(0 <= first_job < first_point, "above its restore points", s)
        show(tui, "vm tab")

        # a dr job's replicas; start one
        r = env.run("drjob", None)
        tap.check(r.returncode == 0, "the dr job makes a replica", r.stderr)
        reps = [(ref, x) for ref, x in env.call("VM.get_all_records").items()
                if "Disaster Recovery" in x["tags"] and x["other_config"].get("xo:backup:vm") == env.vm_uuid]
        tap.check(len(reps) == 1, "one replica on the pool", [x["name_label"] for _, x in reps])
        tui.keys(":")
        tui.keys_literal("backups")
        tui.keys("Enter")
        tui.wait(r"drjob")
        tui.keys("/")
        tui.keys_literal("drjob")
        tui.keys("Enter")
        tui.wait(r"1 of \d+ jobs")
        # the form keeps a dr job a dr job, with its SR
        tui.keys("e")
        s = tui.attempt(tap, r"Edit backup job drjob", "e opens the form of the dr job")
        tap.check(s and re.search(r"Mode\s+< dr >", s) and env.sr_uuid[:20] in s, "with its mode and target SR", s)
        tui.keys("Enter")
        tui.attempt(tap, r"Backup job drjob saved", "saved unchanged")
        with open(env.config) as f:
            text = f.read()
        grp = text[text.index('name = "drjob"'):].split("}", 1)[0]
        tap.check('mode = "dr"' in grp and ('target_sr = "%s"' % env.sr_uuid) in grp and "remotes" not in grp,
                  "the file still has mode dr and its target_sr, and no remotes", grp)
        tui.keys("p")
        s = tui.attempt(tap, r"bktest - drjob - \(\S+\)\s+bktest\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+.*Halted",
                        "p lists the job's replica: name, source VM, date, halted", timeout=20)
        show(tui, "replicas")
        src_power = env.call("VM.get_power_state", env.vm)
        tui.keys("s")
        s = tui.attempt(tap, r"Start replica", "s asks first")
        flat = re.sub(r"[\s│|]+", " ", s or "")
        tap.check("bktest - drjob" in flat and "source VM is not stopped" in flat,
                  "naming the replica and saying the source VM is not stopped", s)
        tui.keys("y")
        tui.attempt(tap, r"Started replica", "the replica starts", timeout=30)
        if reps:
            rec = env.call("VM.get_record", reps[0][0])
            tap.check(rec["power_state"] == "Running" and "start" not in rec["blocked_operations"]
                      and "start_on" not in rec["blocked_operations"],
                      "read through the sim: running, start and start_on no longer blocked",
                      (rec["power_state"], rec["blocked_operations"]))
            tap.check(env.call("VM.get_power_state", env.vm) == src_power, "the source VM is left as it was",
                      (src_power, env.call("VM.get_power_state", env.vm)))
        tui.keys("Escape")

        # one disk of a point as a new VDI
        tui.keys("3")
        tui.wait(r"repo\s+file://")
        tui.keys("Enter")
        tui.attempt(tap, r"bktest\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+full", "the repository's point")
        tui.keys("d")
        s = tui.attempt(tap, r"Restore a disk of bktest", "d opens the restore-disk form")
        tap.check(s and re.search(r"0 bkdisk \(8(\.0)? MiB\)", s) and "SR" in s and "Name" in s,
                  "with the disk (its device, name and size), the SR and a name", s)
        show(tui, "disk form")
        tui.keys("Enter")
        tui.attempt(tap, r"Restored a disk of bktest", "the restore ends with a message", timeout=60)
        made = [ref for ref, x in env.call("VDI.get_all_records").items()
                if x["name_label"].startswith("bktest disk (restored")]
        tap.check(len(made) == 1, "one new VDI in the pool (read through the sim)", made)
        if made:
            rec = env.call("VDI.get_record", made[0])
            tap.check(rec["SR"] == env.sr and not rec["VBDs"], "on the SR chosen, attached to no VM", rec["VBDs"])
            tap.check(env.read(rec["uuid"]) == source, "its bytes equal the disk at backup time")
        tui.quit_and_check(tap)
        tui.close()
        tui = None
    except Timeout as ex:
        tap.check(False, "the screen reached the expected state", ex)
    finally:
        if tui:
            tui.close()
        env.close()
    sys.exit(done())


main()
