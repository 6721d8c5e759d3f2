"""Accepting a certificate when known_hosts cannot be written (issue 19): the
failed save is said, in the interface and by `xentui list`, and the question
does not come back in a loop. TAP output."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import LOGS, Sim, Tap, Timeout, Tui  # noqa: E402

UNWRITABLE = "/proc/1/no-such-folder/known_hosts"


def main():
    tap = Tap()
    sim = Sim("khsave")
    work = os.path.join(LOGS, f"screen-khsave-{os.getpid()}")
    os.makedirs(work, exist_ok=True)
    cfg = os.path.join(work, "config")
    with open(cfg, "w") as f:
        f.write(f'known_hosts = "{UNWRITABLE}";\n')
    env = {"XENTUI_PW": "xapi-sim"}
    common = ["-c", cfg, "--password-env", "XENTUI_PW"]
    tuis = []
    try:
        # the interface: Accept, the save fails, the reason is on screen
        tui = Tui("khsave-tui", args=(*common, sim.url), env=env)
        tuis.append(tui)
        tui.attempt(tap, r"Unknown certificate", "the unknown certificate is asked about", timeout=30)
        tui.keys("y")
        text = tui.attempt(tap, r"not saved: cannot write", "a failed save is said on screen", timeout=20)
        tap.check(text is not None and UNWRITABLE in text.replace("\n ", ""), "naming the file", text)
        try:
            tui.wait(r"Unknown certificate", timeout=4)
            tap.check(False, "the question does not come back", tui.screen())
        except Timeout:
            tap.check(True, "the question does not come back")
        tui.quit_and_check(tap)

        # xentui list on a terminal: y, then the same sentence and status 1
        cli = Tui("khsave-list", args=("list", "hosts", *common, sim.url), env=env)
        tuis.append(cli)
        cli.attempt(tap, r"Accept it\? \[y/N\]", "list asks about the certificate", timeout=30)
        cli.keys("y", "Enter")
        text = cli.attempt(tap, r"XENTUI-EXIT=1", "list exits with status 1", timeout=20)
        tap.check(text is not None and "the certificate was not saved" in text and text.count("Accept it?") == 1,
                  "having said the save failed, and asked once", text)
        tap.check(not cli.sanitizer_reports(), "no sanitizer report from list", cli.sanitizer_reports())
    finally:
        for t in tuis:
            t.close()
        err = sim.stop()
        tap.check("ERROR: AddressSanitizer" not in err, "no sanitizer report from the simulator", err)
    tap.done()


if __name__ == "__main__":
    main()
