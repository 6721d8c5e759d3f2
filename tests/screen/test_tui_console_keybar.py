"""The console's key bar (issue 18) in xentui --demo on a VM's console of
the simulator: while connected every key but the escape key goes to the
guest, so the bar names the escape key and what it offers, never `: Cmd`
`? Help` `q Back` (those keys go to the guest); with the menu open it lists
the menu's keys; in the scrollback, where `:` `?` `q` work, the usual bar.
The escape key comes from the configuration (preferences.console_escape).
TAP output."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import LOGS, Pool, Tap, Timeout, Tui  # noqa: E402


def bar(s):
    """The key bar: the last row (the capture ends with a newline)."""
    return s.split("\n")[-2].rstrip()


def main():
    tap = Tap()
    cfgdir = os.path.join(LOGS, f"screen-console-keybar-{os.getpid()}", "config", "xentui")
    os.makedirs(cfgdir, exist_ok=True)
    with open(os.path.join(cfgdir, "config"), "w") as f:
        f.write('preferences = {\n  console_escape = "^B";\n};\n')
    tui = Tui("console-keybar", env={"NO_COLOR": "1"}, cols=100, rows=30, fresh=False)
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())
        name = sorted(v["name_label"] for v in pool.guests().values() if v["power_state"] == "Running")[0]
        prompt = f"root@{name}:~#"
        tui.keys(":")
        tui.keys_literal("console " + name)
        tui.keys("Enter")
        tui.wait(lambda s: prompt in s, timeout=30)
        b = bar(tui.wait(lambda s: "Ctrl-B" in bar(s) or ": Cmd" in bar(s)))
        tap.check("Ctrl-B" in b, "the key bar names the configured escape key", b)
        tap.check(": Cmd" not in b and "? Help" not in b and "q Back" not in b,
                  "and not : ? q, which go to the guest", b)
        tap.check("s Scrollback" in b and "b Back" in b, "it says what the escape key offers", b)

        # the keys do go to the guest: q typed shows on the guest's line
        tui.keys("q")
        tui.attempt(tap, lambda s: f"{prompt} q" in s, "q goes to the guest", timeout=20)
        tui.keys("BSpace")

        tui.keys("C-b")
        b = bar(tui.wait(r"Console menu"))
        tap.check("s Scrollback" in b and "r Reconnect" in b and ": Cmd" not in b,
                  "with the menu open the bar lists its keys", b)
        tui.keys("s")
        b = bar(tui.wait(r"Scrollback: line"))
        tap.check("Search" in b and ": Cmd" in b, "in the scrollback the usual bar (: and ? work there)", b)
        tui.keys("Escape")
        tui.wait(lambda s: "Ctrl-B" in bar(s))
        tui.keys("C-b", "b")
        tui.wait(lambda s: prompt not in s)
        tui.quit_and_check(tap)
    except (Timeout, RuntimeError) as e:
        tap.check(False, "the scenario ran to its end", e)
    finally:
        tui.close()
    tap.done()


if __name__ == "__main__":
    main()
