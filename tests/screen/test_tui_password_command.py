"""password_command in the interface (issue 15): it runs as a child on the
event loop, never a blocking popen while curses owns the terminal. A
command that sleeps 60 s leaves the interface answering keys (another
pool connects meanwhile, help opens and closes, the clock keeps the
time) and after 30 s it is killed and said so; one that writes to stderr
and exits 1 shows its stderr's first line, sanitised; the right one
connects. TAP output."""
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import LOGS, Sim, Tap, Timeout, Tui  # noqa: E402


def row(screen, name):
    """The Servers table's row of the server named name."""
    return next((l for l in screen.split("\n") if l.startswith(name + " ")), "")


def clock_is_now(screen):
    """The clock on the top line shows this minute (or the one just gone)."""
    now = time.time()
    shown = {time.strftime("%H:%M", time.localtime(now - d)) for d in (0, 2)}
    return any(t in screen.split("\n")[0] for t in shown)


def main():
    tap = Tap()
    sim = Sim("password-command")
    home = os.path.join(LOGS, f"screen-password-command-{os.getpid()}")
    shutil.rmtree(home, ignore_errors=True)
    os.makedirs(os.path.join(home, "config", "xentui"))
    server = '  { name = "%s"; url = "' + sim.url + '"; fingerprint = "' + sim.fingerprint + '";\n' \
             '    password_command = "%s"; }'
    with open(os.path.join(home, "config", "xentui", "config"), "w") as f:
        f.write("servers = (\n%s\n);\n" % ",\n".join([
            server % ("slow", "sleep 60"),
            server % ("loud", "printf 'vault: \\\\033[31mlocked\\\\nsecond line\\\\n' >&2; exit 1"),
            server % ("good", "echo xapi-sim"),
        ]))
    os.chmod(os.path.join(home, "config", "xentui", "config"), 0o600)
    tui = Tui("password-command", args=(), env={"NO_COLOR": "1", "TZ": "UTC"}, fresh=False)
    try:
        tui.attempt(tap, lambda s: row(s, "slow") and row(s, "loud") and row(s, "good"),
                    "the Servers screen lists the three servers")

        # slow (sorted last): its command runs on the loop; the interface goes on
        tui.keys("Down", "Down", "Enter")
        started = time.monotonic()
        tui.attempt(tap, lambda s: "connecting" in row(s, "slow"), "Enter on slow: connecting while its command runs")
        tui.keys("?")
        tui.attempt(tap, lambda s: re.search(r"(?i)help", s) and not row(s, "slow"), "? opens the help meanwhile",
                    timeout=5)
        tui.keys("Escape")
        tui.attempt(tap, lambda s: row(s, "slow"), "Escape closes it", timeout=5)
        tui.keys("Up", "Up", "Enter")
        text = tui.attempt(tap, lambda s: re.search(r"\bconnected\b", row(s, "good"))
                           and "connecting" in row(s, "slow"),
                           "good connects with its command's password while slow's still runs", timeout=20)
        tui.keys("Down", "Enter")
        text = tui.attempt(tap, lambda s: "loud: password_command exited with 1: vault: ?[31mlocked" in s,
                           "loud: 'exited with 1' and its stderr's first line, sanitised", timeout=10)
        if text:
            tap.check("second line" not in text and "failed" in row(text, "loud"),
                      "only the first line; loud is failed", text)
        tap.check(clock_is_now(tui.screen()), "the clock shows the time", tui.screen().split("\n")[0])

        # after 30 s: killed, and said
        text = tui.attempt(tap, lambda s: "slow: password_command took longer than 30 s and was killed" in s,
                           "after 30 s slow's command is killed, and the message says so", timeout=45)
        took = time.monotonic() - started
        tap.check(29 <= took < 40, "after 30 s, not 60 (%.1f s)" % took)
        if text:
            tap.check("failed" in row(text, "slow") and re.search(r"\bconnected\b", row(text, "good")),
                      "slow is failed, good still connected", text)
        tap.check(clock_is_now(tui.screen()), "the clock kept the time throughout", tui.screen().split("\n")[0])
        sleeping = [p for p in os.listdir("/proc") if p.isdigit() and _cmdline(p) == "sleep 60"
                    and _env_has(p, home)]
        tap.check(not sleeping, "no sleep left running", sleeping)

        tui.keys(":")
        tui.keys_literal("quit")
        tui.keys("Enter")
        tui.attempt(tap, r"XENTUI-EXIT=0", ":quit leaves with status 0")
        reports = tui.sanitizer_reports()
        tap.check(not reports, "no sanitizer report (and no leak) from xentui", reports)
    except (Timeout, RuntimeError, subprocess.TimeoutExpired) as e:
        tap.check(False, "the password_command scenario ran to its end", e)
    finally:
        tui.close()
        err = sim.stop()
        tap.check("Sanitizer" not in err and "runtime error" not in err, "no sanitizer report from the simulator", err)
        shutil.rmtree(home, ignore_errors=True)
    tap.done()


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _env_has(pid, text):
    """The process was started by this test's xentui (its environment names our directory)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return text.encode() in f.read()
    except OSError:
        return False


if __name__ == "__main__":
    main()
