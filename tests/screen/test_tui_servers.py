"""The Servers screen, as a user meets it on a first start with no
configuration: add a server through the form (its checks refuse a missing
label and a bad address), saved to the configuration file (0600, the
password never in it), connect (accepting the certificate), edit it to
"ask when connecting", a wrong password shown as the reason of the
failure and asked again, the right one connects, then remove it. The
file is read back after each step. TAP output."""
import os
import re
import stat
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import Sim, Tap, Timeout, Tui, row_of  # noqa: E402

PASSWORD = "xapi-sim"


def lab_row(screen):
    """The Servers table's row of the server named lab."""
    return next((l for l in screen.split("\n") if l.startswith("lab ")), "")


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError as e:
        return f"({e})"


def main():
    tap = Tap()
    sim = Sim("servers")
    hostport = sim.url.split("://", 1)[1]
    tui = Tui("servers", args=(), env={"XENTUI_LAB_PW": PASSWORD, "NO_COLOR": "1"}, cols=100, rows=30)
    config = os.path.join(tui.dir, "config", "xentui", "config")
    try:
        text = tui.attempt(tap, r"No pool yet: a adds one", "with no configuration xentui opens on the Servers screen")
        if text:
            tap.check("Servers" in text.split("\n")[1], "titled Servers", text)

        # the form checks what it is given
        tui.keys("a")
        tui.attempt(tap, r"Add server", "a opens the form")
        tui.keys("Enter")
        tui.attempt(tap, lambda s: "required" in row_of(s, "Label"), "a missing label is refused beside the field")
        tui.keys_literal("lab")
        tui.keys("Tab")
        tui.keys_literal("ftp://" + hostport)
        tui.keys("Enter")
        tui.attempt(tap, lambda s: "host[:port]" in row_of(s, "Address") and "Add server" in s,
                    "an ftp:// address is refused")
        tui.keys("C-u")
        tui.keys_literal(hostport)  # host:port, no scheme: https is meant
        tui.keys("Tab", "Tab")
        tui.keys("Right", "Right")  # password from: an environment variable
        tui.keys("Tab")
        tui.keys_literal("XENTUI_LAB_PW")
        tui.keys("Enter")
        text = tui.attempt(tap, lambda s: "lab saved: Enter connects" in s and re.search(r"^lab .*disconnected", s, re.M),
                           "Enter saves the server; it is listed, not connected yet")
        if text:
            tap.check("https://" + hostport in lab_row(text) and "$XENTUI_LAB_PW" in lab_row(text),
                      "with its https address and its password's variable", lab_row(text))
        saved = read(config)
        tap.check(re.search(r'name\s*=\s*"lab"', saved) and f'"https://{hostport}"' in saved
                  and re.search(r'password_env\s*=\s*"XENTUI_LAB_PW"', saved)
                  and re.search(r"autoconnect\s*=\s*true", saved),
                  "the configuration file has it: url, password_env, autoconnect", saved)
        tap.check(PASSWORD not in saved, "and no password", saved)
        mode = stat.S_IMODE(os.stat(config).st_mode) if os.path.exists(config) else None
        tap.check(mode == 0o600, "the file is readable by its owner only (0600)", oct(mode or 0))

        # connect: the certificate is new, so xentui asks
        tui.keys("Enter")
        tui.attempt(tap, r"Unknown certificate", "Enter connects: the unknown certificate is shown first")
        tui.keys("y")
        text = tui.attempt(tap, lambda s: re.search(r"^lab .*\bconnected", s, re.M) and " lab " in s.split("\n")[0]
                           and "live" in s.split("\n")[0], "accepted, the pool connects; the status line names it",
                           timeout=30)

        # edit: the password is to be asked from now on
        tui.keys("e")
        tui.attempt(tap, r"Edit server", "e opens the form filled in")
        tui.keys("Tab", "Tab", "Tab")
        tui.keys("Left", "Left")  # password from: ask when connecting
        tui.keys("Enter")
        text = tui.attempt(tap, lambda s: "applies at the next connection" in s and "ask" in lab_row(s),
                           "saved; it applies at the next connection")
        saved = read(config)
        tap.check("password_env" not in saved and re.search(r'name\s*=\s*"lab"', saved),
                  "the file no longer names a variable", saved)

        tui.keys("d")
        tui.attempt(tap, lambda s: re.search(r"^lab .*disconnected", s, re.M), "d disconnects")
        tui.keys("c")
        tui.attempt(tap, r"Connect to lab", "connecting asks for the password")
        tui.keys_literal("wrong")
        tui.keys("Enter")
        text = tui.attempt(tap, lambda s: re.search(r"^lab .*failed", s, re.M)
                           and "refused the user name or password" in s,
                           "a wrong password: failed, with the reason", timeout=30)
        tui.keys("c")
        tui.attempt(tap, r"Connect to lab", "the next try asks again")
        tui.keys_literal(PASSWORD)
        tui.keys("Enter")
        tui.attempt(tap, lambda s: re.search(r"^lab .*\bconnected", s, re.M) and "typed" in lab_row(s),
                    "the right one connects (typed, for this run)", timeout=30)
        tap.check(PASSWORD not in read(config), "still no password in the file")

        # remove: asks, then the server is gone from the screen and the file
        tui.keys("D")
        tui.attempt(tap, r"Remove lab", "D asks before removing")
        tui.keys("y")
        tui.attempt(tap, lambda s: "lab removed" in s and not re.search(r"^lab ", s, re.M),
                    "the server is removed from the list")
        saved = read(config)
        tap.check(not re.search(r'name\s*=\s*"lab"', saved) and re.search(r"servers\s*=", saved),
                  "and from the file", saved)

        tui.keys(":")
        tui.keys_literal("quit")
        tui.keys("Enter")
        tui.attempt(tap, r"XENTUI-EXIT=0", ":quit leaves with status 0")
        reports = tui.sanitizer_reports()
        tap.check(not reports, "no sanitizer report (and no leak) from xentui", reports)
    except (Timeout, RuntimeError) as e:
        tap.check(False, "the servers scenario ran to its end", e)
    finally:
        tui.close()
        err = sim.stop()
        tap.check("Sanitizer" not in err and "runtime error" not in err, "no sanitizer report from the simulator", err)
    tap.done()


if __name__ == "__main__":
    main()
