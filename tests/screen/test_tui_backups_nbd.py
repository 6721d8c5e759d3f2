#!/usr/bin/env python3
"""A delta job's NBD and "Purge snapshot data" in the Backups job form,
against xapi-sim: the job's settings say NBD yes and purge no (the engine's
defaults); the form shows both toggles, Space flips them, and the file gets
`nbd = false` and `purge_snapshot_data = true` inside the job, its comment
and other settings kept; the settings and the form show them when opened
again; turning NBD back on rewrites the key in place; a job changed to
full keeps both keys as written; a new delta job at the defaults gets
neither key. The file is read back with the engine's reader too
(`xentui backup list` loads it). TAP."""
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
from tuitest import Timeout  # noqa: E402
from backuptui import Tap, backups_tui, show  # noqa: E402
from deltatest import Env, done  # noqa: E402

TO_NBD = ["Tab"] * 10  # Name, Server, Mode, VMs, Tags, Remotes, Schedule, Retention, Target, Target pool


def write_config(env):
    with open(env.config, "w") as f:
        f.write('servers = ( { name = "sim"; url = "%s"; user = "root"; password_env = "XENTUI_PW"; insecure = true; } );\n'
                'remotes = ( { name = "repo"; url = "file://%s"; } );\n'
                '# the jobs of this test; this comment stays\n'
                'backup_jobs = (\n'
                '  { name = "inc"; server = "sim"; mode = "delta"; vms = ["%s"]; remotes = ["repo"];\n'
                '    # a note inside the job, kept too\n'
                '    full_interval = 5; }\n'
                ');\n' % (env.url, env.repo, env.vm_name))


def read(env):
    with open(env.config) as f:
        text = f.read()
    return text, text[text.index('name = "inc"'):].split("}", 1)[0]


def saved(env, tap, pred, name, timeout=20.0):
    """Waits until the file's job inc satisfies pred (the status line may
    still show the previous save's message); (text, group)."""
    deadline = time.time() + timeout
    text, grp = read(env)
    while not pred(grp) and time.time() < deadline:
        time.sleep(0.05)
        text, grp = read(env)
    tap.check(pred(grp), name, grp)
    return text, grp


def group_of(text, name):
    return text[text.index('name = "%s"' % name):].split("}", 1)[0]


def details(tui, tap, what):
    tui.keys("Enter")
    s = tui.attempt(tap, r"Defined in .*line", what)
    show(tui, "details")
    tui.keys("Escape")
    tui.wait(r"inc\s+delta|inc\s+full")
    return s or ""


def open_form(tui, tap, name):
    tui.keys("e")
    return tui.attempt(tap, r"Edit backup job inc", name) or ""


def main():
    tap = Tap()
    env = Env([], disk_mib=8)
    tui = None
    try:
        write_config(env)
        tui = backups_tui(env, "backups-nbd", 140, 40, "sim")
        tui.attempt(tap, r"inc\s+delta\s+bktest", "Jobs lists the delta job")

        s = details(tui, tap, "Enter opens the job's settings")
        tap.check(re.search(r"NBD: yes", s) and re.search(r"Purge snapshot data: no", s),
                  "its settings say NBD yes, purge snapshot data no (the defaults)", s)

        # ---- the form: both toggles ------------------------------------------------------
        s = open_form(tui, tap, "e opens the form")
        tap.check(re.search(r"NBD\s+\[x\] yes", s) and re.search(r"Purge snapshot data\s+\[ \] no", s),
                  "the form shows NBD on and Purge snapshot data off", s)
        tap.check("delta: read disks over NBD" in s, "with a hint saying what NBD does", s)
        tui.keys(*TO_NBD)
        tui.keys("Space")
        tui.keys("Tab", "Space")
        s = tui.attempt(tap, r"NBD\s+\[ \] no.*\n.*Purge snapshot data\s+\[x\] yes", "Space flips both")
        show(tui, "form")
        tap.check("delta: no snapshot data on SR" in s, "the purge field's hint says what it does", s)
        tui.keys("Enter")
        tui.attempt(tap, r"Backup job inc saved", "saved")
        text, grp = saved(env, tap, lambda g: "nbd = false;" in g, "the file says nbd = false")
        tap.check("nbd = false;" in grp and "purge_snapshot_data = true;" in grp and 'mode = "delta"' in grp
                  and "full_interval = 5;" in grp and "a note inside the job, kept too" in grp
                  and "this comment stays" in text,
                  "the file has nbd = false and purge_snapshot_data = true, comments and other keys kept", grp)
        r = env.xentui("list", "repo")
        tap.check(r.returncode == 0, "the engine reads the file (`xentui backup list` exits 0)", r.stderr)
        s = details(tui, tap, "the settings open again")
        tap.check(re.search(r"NBD: no", s) and re.search(r"Purge snapshot data: yes", s),
                  "they say NBD no, purge snapshot data yes", s)

        # ---- NBD back on: the key rewritten in place --------------------------------------
        s = open_form(tui, tap, "the form opens again")
        tap.check(re.search(r"NBD\s+\[ \] no", s) and re.search(r"Purge snapshot data\s+\[x\] yes", s),
                  "it shows what the file says", s)
        tui.keys(*TO_NBD)
        tui.keys("Space")
        tui.attempt(tap, r"NBD\s+\[x\] yes", "Space turns NBD on again")
        tui.keys("Enter")
        text2, grp = saved(env, tap, lambda g: "nbd = true;" in g, "saved again: the file says nbd = true")
        tap.check("purge_snapshot_data = true;" in grp and text2.replace("nbd = true;", "nbd = false;") == text,
                  "in place of nbd = false, nothing else changed", grp)

        # ---- another mode: the keys stay as written ----------------------------------------
        open_form(tui, tap, "the form once more")
        tui.keys("Tab", "Tab", "Left")         # Mode: delta -> full
        tui.attempt(tap, r"Mode\s+< full >", "Left makes it a full job")
        tui.keys("Enter")
        text3, grp = saved(env, tap, lambda g: 'mode = "full"' in g, "saved as full")
        tap.check("nbd = true;" in grp and "purge_snapshot_data = true;" in grp,
                  "a full job keeps nbd and purge_snapshot_data as written (the form edits them for delta only)", grp)
        s = details(tui, tap, "the full job's settings")
        tap.check("NBD:" not in s, "which say nothing of NBD (a full job does not use it)", s)

        # ---- a new delta job at the defaults: neither key ----------------------------------
        tui.keys("n")
        tui.attempt(tap, r"New backup job", "n opens a new job's form")
        tui.keys_literal("inc2")
        tui.keys("Tab", "Tab", "Right")        # Mode: full -> delta
        tui.keys("Tab")
        tui.keys_literal(env.vm_name)
        s = tui.attempt(tap, r"NBD\s+\[x\] yes.*\n.*Purge snapshot data\s+\[ \] no", "a new job starts at the defaults")
        tui.keys("Enter")
        tui.attempt(tap, r"Backup job inc2 saved", "the new job is saved")
        text4, _ = read(env)
        g2 = group_of(text4, "inc2")
        tap.check('mode = "delta"' in g2 and "nbd" not in g2 and "purge_snapshot_data" not in g2,
                  "a new delta job at the defaults gets neither key", g2)
        r = env.xentui("list", "repo")
        tap.check(r.returncode == 0, "the engine reads the file", r.stderr)
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
