"""What the Backups screen tests share: tuitest's Tap on deltatest's counter
(so Env.close's checks count in the same plan), and a screen printed as TAP
comments when SHOW_SCREENS is set, to see what a test saw."""
import os
import sys

from deltatest import done, ok
from tuitest import Tui

SHOW = os.environ.get("SHOW_SCREENS")


class Tap:
    """tuitest's Tap on deltatest's counter (Env.close reports too)."""

    def check(self, cond, name, detail=""):
        return ok(cond, name, detail)

    def done(self):
        sys.exit(done())


def show(tui, what):
    if SHOW:
        print("# ---- " + what)
        for line in tui.screen().splitlines():
            print("# " + line)


def backups_tui(env, name, cols, rows, *args):
    """xentui on env's configuration (args after it) with its password, state
    folder, home and a TMPDIR inside env's folder, on the Backups screen."""
    e = env.env()
    tui = Tui(name, args=("-c", env.config, *args), cols=cols, rows=rows,
              env={"XENTUI_PW": "xapi-sim", "XDG_STATE_HOME": e["XDG_STATE_HOME"], "HOME": e["HOME"],
                   "TMPDIR": env.dir})
    tui.wait(r"bktest|VMs|Dashboard|Pool", timeout=30)
    tui.keys(":")
    tui.keys_literal("backups")
    tui.keys("Enter")
    return tui
