"""`xentui backup due` and the run's bookkeeping: XENTUI_NOW drives the
clock (TZ=UTC); a job runs when its schedule came since its last run (or
since it was first seen), not before; two runs of one job at once: the
second refuses and `due` skips it; the run log has one line per run with
its fields; the live progress file exists while a job runs. TAP output."""
import calendar
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
from simtest import ROOT, ok, plan, start, stop_all, value  # noqa: E402

XENTUI = os.environ.get("XENTUI", os.path.join(ROOT, "build", "san", "xentui"))
TMP = tempfile.mkdtemp(prefix="xentui-bdue-")
STATE = os.path.join(TMP, "state")
ENV = dict(os.environ, XDG_STATE_HOME=STATE, XDG_CONFIG_HOME=os.path.join(TMP, "cfg"), TZ="UTC")
T0 = 1800000000 + 600  # 2027-01-15 08:10:00 UTC


def xentui(*args, now):
    env = dict(ENV, XENTUI_NOW=str(now))
    p = subprocess.run([XENTUI, "backup", *args], capture_output=True, text=True, timeout=300, env=env)
    return p.returncode, p.stdout, p.stderr


def runlog():
    path = os.path.join(STATE, "xentui", "runs.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def main():
    url = start("--vms", "6", "--plain", "--faults", "slow=1000000")
    px = xmlrpc.client.ServerProxy(url)
    sid = value(px, "session.login_with_password", "root", "xapi-sim", "2.21", "test")
    recs = value(px, "VM.get_all_records", sid)
    vms = sorted((v["name_label"], v["uuid"]) for v in recs.values()
                 if not v["is_a_template"] and not v["is_control_domain"] and v["power_state"] == "Halted")
    pw = write(os.path.join(TMP, "pw"), "xapi-sim\n")
    os.chmod(pw, 0o600)
    repo = os.path.join(TMP, "repo")
    conf = write(os.path.join(TMP, "conf"), """
servers = ( { name = "sim"; url = "%(url)s"; password_file = "%(pw)s"; } );
remotes = ( { name = "r"; url = "file://%(repo)s"; } );
backup_jobs = (
  { name = "hourly"; mode = "snapshot"; vms = ["%(a)s"]; schedule = "0 * * * *"; retention = 1; },
  { name = "daily"; mode = "snapshot"; vms = ["%(a)s"]; schedule = "0 2 * * *"; retention = 1; },
  { name = "manual"; mode = "snapshot"; vms = ["%(a)s"]; }
);
""" % dict(url=url, pw=pw, repo=repo, a=vms[0][1]))

    # ---- due ------------------------------------------------------------------------
    rc, out, err = xentui("due", "-c", conf, now=T0)
    ok(rc == 0 and out == "" and runlog() == [], "due: a job first seen does not run at once", out + err)
    jobs = os.listdir(os.path.join(STATE, "xentui", "jobs"))
    ok(sorted(jobs) == ["daily.json", "hourly.json"], "due records when each scheduled job was first seen", jobs)
    rc, out, err = xentui("due", "-c", conf, now=T0 + 1200)
    ok(rc == 0 and out == "" and runlog() == [], "due at 08:30: no schedule came yet", out + err)
    rc, out, err = xentui("due", "-c", conf, now=T0 + 3000)
    log = runlog()
    ok(rc == 0 and out.startswith("job hourly: 1 VM, 1 ok") and [l["job"] for l in log] == ["hourly"],
       "due at 09:00: the hourly job runs, the daily one does not", out + err)
    rc, out, err = xentui("due", "-c", conf, now=T0 + 3000 + 600)
    ok(rc == 0 and out == "" and len(runlog()) == 1, "due at 09:10: hourly ran at 09:00, not due again", out + err)
    rc, out, err = xentui("due", "-c", conf, now=1800000000 + 18 * 3600 + 300)  # next day 02:05
    ok(rc == 0 and sorted(l["job"] for l in runlog()) == ["daily", "hourly", "hourly"],
       "due next day at 02:05: both jobs run", out + err)
    st = json.load(open(os.path.join(STATE, "xentui", "jobs", "daily.json")))
    ok(st.get("last_start") == 1800000000 + 18 * 3600 + 300 and st.get("last_result") == "success",
       "the job's state file holds its last run", st)

    # ---- two runs at once ----------------------------------------------------------
    conf2 = write(os.path.join(TMP, "conf2"), """
servers = ( { name = "sim"; url = "%(url)s"; password_file = "%(pw)s"; } );
remotes = ( { name = "r"; url = "file://%(repo)s"; } );
backup_jobs = ( { name = "slow"; mode = "full"; remotes = ["r"]; vms = ["%(b)s"]; compression = "none";
                  schedule = "* * * * *"; } );
""" % dict(url=url, pw=pw, repo=repo, b=vms[1][1]))
    xentui("due", "-c", conf2, now=T0)  # first seen
    env = dict(ENV, XENTUI_NOW=str(T0 + 120))
    first = subprocess.Popen([XENTUI, "backup", "run", "slow", "-c", conf2], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    progress = os.path.join(STATE, "xentui", "slow.progress.json")
    deadline = time.time() + 30
    while time.time() < deadline and not os.path.exists(progress):
        time.sleep(0.05)
    seen = None
    try:
        seen = json.load(open(progress))
    except (OSError, ValueError):
        pass
    ok(seen is not None and seen.get("job") == "slow" and seen.get("pid") == first.pid,
       "a running job has a live progress file", seen)
    rc, out, err = xentui("run", "slow", "-c", conf2, now=T0 + 121)
    ok(rc == 1 and "job slow is already running (pid %d)" % first.pid in err,
       "a second run of the same job refuses, naming the first", "rc=%d %r" % (rc, err))
    rc, out, err = xentui("due", "-c", conf2, now=T0 + 122)
    ok(rc == 0 and "already running" in err and out == "", "due skips a job already running", "rc=%d %r" % (rc, err))
    fout, ferr = first.communicate(timeout=120)
    ok(first.returncode == 0 and fout.startswith("job slow: 1 VM, 1 ok"), "the first run completes", fout + ferr)
    ok(not os.path.exists(progress), "the progress file is removed at the end")

    # ---- the run log -----------------------------------------------------------------
    log = runlog()
    ok([l["job"] for l in log] == ["hourly", "daily", "hourly", "slow"] or
       [l["job"] for l in log] == ["hourly", "hourly", "daily", "slow"], "the run log has one line per run",
       [l["job"] for l in log])
    last = log[-1]
    vm = last["vms"][0] if last.get("vms") else {}
    ok(last["mode"] == "full" and last["start"] == T0 + 120 and last["end"] >= last["start"]
       and last["result"] == "success", "a run's line: job, mode, start, end, result", last)
    ok(vm.get("uuid") == vms[1][1] and vm.get("name") == vms[1][0] and vm.get("state") == "ok"
       and vm.get("bytes", 0) > 0 and vm.get("duration", -1) >= 0 and "error" in vm,
       "and per VM: uuid, name, state, bytes, duration, error", vm)
    rc, out, err = xentui("run", "manual", "-c", conf, now=T0)
    ok(rc == 0 and runlog()[-1]["job"] == "manual", "an on-demand job (no schedule) runs with run", out + err)
    rc, out, err = xentui("due", "-c", conf, now=T0 + 86400 * 30)
    ok("job manual" not in out, "due never runs a job without a schedule", out)
    schedules(pw)


def at(*ymdhm):
    return calendar.timegm(tuple(ymdhm) + (0,))


def schedules(pw):
    """Cron's rules, seen through which jobs `due` starts (their server is
    down, so each start is a failed run in the log, which is all we need)."""
    state = os.path.join(TMP, "state2")
    conf = write(os.path.join(TMP, "conf3"), """
servers = ( { name = "down"; url = "http://127.0.0.1:1"; password_file = "%s"; } );
backup_jobs = (
  { name = "weekdays"; mode = "snapshot"; vms = ["x"]; schedule = "30 9 * * mon-fri"; },
  { name = "quarter"; mode = "snapshot"; vms = ["x"]; schedule = "*/15 * * * *"; },
  { name = "halfyear"; mode = "snapshot"; vms = ["x"]; schedule = "0 0 1 jan,jul *"; },
  { name = "either"; mode = "snapshot"; vms = ["x"]; schedule = "0 12 13 * fri"; },
  { name = "list"; mode = "snapshot"; vms = ["x"]; schedule = "5,50 8 * * *"; }
);
""" % pw)
    env = dict(ENV, XDG_STATE_HOME=state)

    def due(t):
        before = len(lines())
        subprocess.run([XENTUI, "backup", "due", "-c", conf], capture_output=True, text=True, timeout=120,
                       env=dict(env, XENTUI_NOW=str(t)))
        return sorted(l["job"] for l in lines()[before:])

    def lines():
        path = os.path.join(state, "xentui", "runs.jsonl")
        return [json.loads(l) for l in open(path)] if os.path.exists(path) else []

    # 2027-01-15 is a Friday
    steps = [
        (at(2027, 1, 15, 8, 0), [], "first sight: nothing runs"),
        (at(2027, 1, 15, 8, 4), [], "08:04: nothing came"),
        (at(2027, 1, 15, 8, 5), ["list"], "08:05: the first item of a list"),
        (at(2027, 1, 15, 8, 14), [], "08:14: nothing came since 08:05"),
        (at(2027, 1, 15, 8, 15), ["quarter"], "08:15: a step"),
        (at(2027, 1, 15, 8, 20), [], "08:20: the step came at 08:15, already run"),
        (at(2027, 1, 15, 8, 50), ["list", "quarter"], "08:50: the list's second item, and the step"),
        (at(2027, 1, 15, 9, 31), ["quarter", "weekdays"], "09:31 on a Friday: a day-of-week range"),
        (at(2027, 1, 15, 12, 1), ["either", "quarter"], "12:01 on Friday the 15th: day of month OR day of week"),
        (at(2027, 1, 16, 9, 40), ["list", "quarter"], "Saturday 09:40: not a weekday"),
        (at(2027, 1, 18, 9, 30), ["list", "quarter", "weekdays"], "Monday 09:30"),
        (at(2027, 6, 30, 23, 59), ["either", "list", "quarter", "weekdays"], "June 30th: not yet July"),
        (at(2027, 7, 1, 0, 0), ["halfyear", "quarter"], "July 1st 00:00: a list of month names"),
    ]
    for t, want, what in steps:
        got = due(t)
        ok(got == want, "cron: %s" % what, "started %s, expected %s" % (got, want))
    fails = lines()
    ok(fails and all(l["result"] == "failure" and "127.0.0.1:1" in l.get("error", "") for l in fails),
       "a job whose server is down is logged as failed, with why", fails[-1] if fails else None)


try:
    main()
finally:
    stop_all()
    shutil.rmtree(TMP, ignore_errors=True)
sys.exit(plan())
