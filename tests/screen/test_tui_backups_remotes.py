#!/usr/bin/env python3
"""Backup repositories made, changed and removed in the Backups screen's
Repositories tab, against xapi-sim and file:// folders: n opens a form with
the configuration's keys and the new remote is written into the file with
every comment kept, listed, and passes `t`'s test; e changes its URL in
place (a key the form does not edit and a comment inside the entry stay);
a URL of no known kind and two password sources are refused in the form,
the file untouched; d on a remote a job uses is refused naming the job; d
on an unused one asks for its name, removes it from the file and leaves
its folder and files alone. TAP."""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
from tuitest import Timeout, filter_to  # noqa: E402
from backuptui import Tap, backups_tui, show  # noqa: E402
from deltatest import Env, done  # noqa: E402

TOP = "# the pools and backups of this test; this comment stays\n"


def text_of(env):
    with open(env.config) as f:
        return f.read()


def fill(tui, values):
    """Types values into the form's fields from the first, Tab between them (None: leave the field)."""
    for i, v in enumerate(values):
        if i:
            tui.keys("Tab")
        if v is not None:
            tui.keys("C-u")
            tui.keys_literal(v)


def main():
    tap = Tap()
    env = Env([{"name": "nightly", "mode": "full", "compression": "none"}],
              remotes=[{"name": "old", "url": "file:///nonexistent/old", "path_style": True}])
    text = text_of(env)
    # a comment inside the entry the test edits, beside a key the form does not edit (path_style)
    text = text.replace('{ name = "old";', '{ # the old NAS, kept for its history\n    name = "old";')
    with open(env.config, "w") as f:
        f.write(TOP + text)
    nas, nas2 = os.path.join(env.dir, "nas"), os.path.join(env.dir, "nas2")
    os.makedirs(nas)
    os.makedirs(nas2)
    with open(os.path.join(nas2, "keep-me"), "w") as f:
        f.write("someone's file\n")
    tui = None
    try:
        tui = backups_tui(env, "bkremotes", 140, 34)
        tui.attempt(tap, r"nightly", ":backups lists the job")
        tui.keys("3")
        tui.attempt(tap, r"old\s.*file:///nonexistent/old", "Repositories lists the remotes")

        # ---- a new remote --------------------------------------------------------------
        tui.keys("n")
        tui.attempt(tap, r"New remote", "n on Repositories opens the remote form")
        fill(tui, ["nas", "file://" + nas])
        show(tui, "remote form")
        tui.keys("Enter")
        tui.attempt(tap, r"nas\s+file://" + re.escape(nas), "the new remote is listed with its URL")
        t = text_of(env)
        tap.check(t.startswith(TOP) and "# the old NAS, kept for its history" in t
                  and re.search(r'\{\s*name = "nas";\s*url = "file://%s";\s*\}' % re.escape(nas), t),
                  "it is written into remotes, every comment kept", t)
        filter_to(tui, "nas")
        tui.keys("t")
        tui.attempt(tap, r"nas\s.*\bok\b", "t tests it: ok", timeout=30)

        # ---- edit: the URL, in place -----------------------------------------------------
        filter_to(tui, "old")
        tui.keys("e")
        tui.attempt(tap, r"Edit remote old", "e opens the form with the remote")
        fill(tui, [None, "file://" + nas2])
        tui.keys("Enter")
        tui.attempt(tap, r"old\s+file://" + re.escape(nas2), "the edited URL is listed")
        t = text_of(env)
        tap.check(t.count('name = "old"') == 1 and 'url = "file://%s"' % nas2 in t
                  and "file:///nonexistent/old" not in t and "path_style = true" in t
                  and "# the old NAS, kept for its history" in t and t.startswith(TOP),
                  "the file has the new URL once; path_style and the comment inside the entry stay", t)

        # ---- refused in the form ------------------------------------------------------------
        before = text_of(env)
        tui.keys("n")
        tui.wait(r"New remote")
        fill(tui, ["bad", "ftp://nas/backups"])
        tui.keys("Enter")
        tui.attempt(tap, r"file, nfs, smb or s3 URLs only", "a URL of no known kind is refused, the kinds named")
        tui.keys("Escape")
        tui.keys("n")
        tui.wait(r"New remote")
        fill(tui, ["two", "smb://nas/share/x", "backup", "/root/pw", "NAS_PW"])
        tui.keys("Enter")
        tui.attempt(tap, r"one password source only", "two password sources are refused")
        tui.keys("Escape")
        tap.check(text_of(env) == before, "and the file is untouched", text_of(env))

        # ---- delete ------------------------------------------------------------------------
        filter_to(tui, "repo")
        tui.keys("Home")
        tui.keys("d")
        tui.attempt(tap, r"used by the backup job nightly: take it out of it first",
                    "d on a remote a job uses is refused, naming the job")
        tap.check('name = "repo"' in text_of(env), "that remote stays in the file")
        filter_to(tui, "old")
        tui.keys("d")
        tui.attempt(tap, r"Type the name to confirm", "d on an unused remote asks for its name")
        tui.keys_literal("old")
        tui.keys("Enter")
        tui.attempt(tap, r"Remote old removed", "it is removed")
        t = text_of(env)
        tap.check('name = "old"' not in t and 'name = "nas"' in t and 'name = "repo"' in t and t.startswith(TOP),
                  "from the file, the others and the comments kept", t)
        tap.check(os.path.exists(os.path.join(nas2, "keep-me")), "its folder's files are left alone")
        tui.keys("Escape")
        tui.quit_and_check(tap)
    except Timeout as ex:
        tap.check(False, "the scenario ran to its end", str(ex))
    finally:
        if tui:
            tui.close()
        env.close()
    sys.exit(done())


main()
