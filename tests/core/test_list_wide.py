"""`xentui list` with a 10,000-character VM name (issue 19): the text table
cuts long cells so the other columns stay on the line, `--wide` keeps them
whole, `--json` keeps everything; and (issue 15) the certificate question
is asked with the answer echoed, as a person types it, in a tmux pane.
The pool's state is set and read back through the sim's XML-RPC. TAP."""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "screen", "lib"))
from tuitest import LOGS, Pool, Sim, Tap, Timeout, Tui, XENTUI, no_sanitizer_report  # noqa: E402


def xentui(*args):
    env = dict(os.environ, XENTUI_PW="xapi-sim", XDG_CONFIG_HOME=os.path.join(LOGS, "xdg-list-wide"), LANG="C.UTF-8")
    return subprocess.run([XENTUI, *args], capture_output=True, text=True, timeout=60, env=env,
                          stdin=subprocess.DEVNULL)


def test_long_name(tap, sim, pool):
    guests = pool.guests()
    ref = sorted(guests)[0]
    uuid = guests[ref]["uuid"]
    name = "long" + "".join("abcdefghij"[i % 10] for i in range(9996))
    pool.call("VM.set_name_label", ref, name)
    name = pool.vm(ref)["name_label"]  # as the pool keeps it
    tap.check(len(name) == 10000, "the pool holds the 10,000-character name", len(name))
    conn = [sim.url, "--fingerprint", sim.fingerprint, "--password-env", "XENTUI_PW"]

    r = xentui("list", "vms", *conn)
    lines = r.stdout.split("\n")
    row = next((line for line in lines if line.startswith("long")), "")
    others = [line for line in lines[1:] if line and not line.startswith("long")]
    tap.check(r.returncode == 0 and row and name not in r.stdout and "\u2026" in row,
              "list vms cuts the long name, ending it in an ellipsis", f"status {r.returncode}\n{r.stderr}\n{row[:300]}")
    longest = max((len(line) for line in lines), default=0)
    tap.check(longest < 200, "no line of the table is longer than 200 characters", f"longest: {longest}")
    tap.check(row and uuid in row and all(len(line) <= len(row) + 2 for line in others),
              "the long name's row keeps its other columns (its UUID) on the line", row[:300])

    r = xentui("list", "vms", "--wide", *conn)
    row = next((line for line in r.stdout.split("\n") if line.startswith("long")), "")
    tap.check(r.returncode == 0 and name in row and uuid in row,
              "list vms --wide keeps the whole name on its row", f"status {r.returncode}\n{r.stderr}\n{row[:300]}")

    r = xentui("list", "vms", "--json", *conn)
    try:
        names = {v.get("uuid"): v.get("name") for v in json.loads(r.stdout)}
    except ValueError as e:
        names = {"error": str(e)}
    tap.check(names.get(uuid) == name, "list vms --json keeps the whole name", r.stderr)


def test_question_echoes(tap, sim, pool):
    """No pin and no known_hosts entry: xentui asks on the terminal."""
    for answer, status in (("n", 1), ("y", 0)):
        tui = Tui("list-ask-" + answer, args=("list", "hosts", sim.url, "--password-env", "XENTUI_PW"),
                  env={"XENTUI_PW": "xapi-sim"}, cols=120, rows=30)
        try:
            tui.wait(r"Accept it\? \[y/N\]", timeout=30)
            tui.keys_literal(answer)
            screen = tui.wait(r"Accept it\? \[y/N\] " + answer, timeout=5)
            tap.check(True, f"the certificate question shows the '{answer}' typed")
        except Timeout as e:
            tap.check(False, f"the certificate question shows the '{answer}' typed", e)
        try:
            tui.keys("Enter")
            screen = tui.wait(r"XENTUI-EXIT=\d", timeout=30)
            got = int(re.search(r"XENTUI-EXIT=(\d+)", screen).group(1))
            hosts = [h["name_label"] for h in pool.hosts().values()]
            shown = all(h in screen for h in hosts)
            tap.check(got == status and (shown if answer == "y" else not shown),
                      f"'{answer}' then Enter: exit status {status}" + (", the hosts listed" if status == 0 else ""),
                      screen)
        except Timeout as e:
            tap.check(False, f"'{answer}' then Enter finishes", e)
        finally:
            tui.close()


def main():
    tap = Tap()
    sim = Sim("list-wide")
    try:
        pool = Pool(sim.url)
        test_long_name(tap, sim, pool)
        test_question_echoes(tap, sim, pool)
    finally:
        err = sim.stop()
        tap.check(no_sanitizer_report(err), "no sanitizer report from the sim", err[-2000:])
    tap.done()


main()
