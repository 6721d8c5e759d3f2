#!/usr/bin/env python3
"""What `xentui backup run` says while no bytes move: with xapi-sim
answering VM.snapshot 3 s late, the progress line on a terminal (stderr a
pseudo-terminal) says "taking a snapshot" before any byte count, and the
live progress file the Backups screens read carries the same step; once
the export's bytes flow the line counts them and the step is gone; the
point is whole and restores to the disk's bytes. TAP."""
import json
import os
import pty
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
from deltatest import T0, XENTUI, Env, _retry, done, ok  # noqa: E402


def run_on_pty(env, job):
    """Runs the job with stderr on a pty; (exit status, what the terminal got, steps seen in the progress file)."""
    master, slave = pty.openpty()
    p = _retry(lambda: subprocess.Popen([XENTUI, "backup", "run", job, "-c", env.config], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=slave, env=env.env(T0)))
    os.close(slave)
    progress = os.path.join(env.dir, "state", "xentui", job + ".progress.json")
    got, steps = b"", []
    deadline = time.time() + 120
    while time.time() < deadline:
        r, _, _ = select.select([master], [], [], 0.05)
        if r:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed its end
                break
            if not chunk:
                break
            got += chunk
        try:
            with open(progress) as f:
                for v in json.load(f).get("vms", []):
                    if v.get("step") and v["step"] not in steps:
                        steps.append(v["step"])
        except (OSError, ValueError):
            pass
        if p.poll() is not None and not r:
            break
    p.wait(30)
    os.close(master)
    return p.returncode, got.decode("utf-8", "replace"), steps


def main():
    env = Env([{"name": "steps", "mode": "full", "compression": "none"}], faults="delay=3000:VM.snapshot")
    try:
        before = env.read()
        rc, tty, steps = run_on_pty(env, "steps")
        # the terminal's lines, as the person saw each one last ("\r\033[K" starts a redraw)
        shown = [s.strip() for s in tty.replace("\033[K", "").replace("\n", "\r").split("\r") if s.strip()]
        ok(rc == 0, "the run succeeds", tty)
        first_snap = next((i for i, s in enumerate(shown) if s == env.vm_name + ": taking a snapshot"), None)
        first_bytes = next((i for i, s in enumerate(shown) if "/s" in s), None)
        ok(first_snap is not None, "the terminal says the VM is taking a snapshot", shown)
        ok(first_snap is not None and (first_bytes is None or first_snap < first_bytes),
           "before any byte count", shown)
        ok("taking a snapshot" in steps, "the live progress file carries the step for the Backups screens", steps)
        ok(not any("taking a snapshot" in s and "/s" in s for s in shown),
           "a line with bytes no longer says it is taking a snapshot", shown)
        ok(any(s.startswith(env.vm_name + ": ok,") for s in shown), "the VM's line ends ok", shown)
        data, r = env.restore()
        ok(data == before, "the point restores to the disk's bytes", r.stderr if r else "")
    finally:
        env.close()
    sys.exit(done())


main()
