"""The console viewer's menu features in xentui --demo, on a VM's console of
the simulator: scrollback after the guest's screen scrolls (seq), search in
it, a marked region written to a file (exactly those lines) and copied to
the clipboard with OSC 52 (the bytes in the terminal's output), picture
mode with half blocks for a graphics frame (the sim's `graphics`), and
"type a text" reaching the guest. The escape key comes from the
configuration file (preferences.console_escape = "^B"). TAP output."""
import base64
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import LOGS, Pool, Tap, Timeout, Tui  # noqa: E402


def lines_of(s):
    return [line.rstrip() for line in s.split("\n")]


def status(s):
    """The console's status line (under xentui's title lines)."""
    return next((line for line in lines_of(s) if re.search(r": (connected|connecting|disconnected)", line)), "")


def main():
    tap = Tap()
    raw = os.path.join(LOGS, f"screen-console-more-{os.getpid()}.raw")
    cfgdir = os.path.join(LOGS, f"screen-console-more-{os.getpid()}", "config", "xentui")
    os.makedirs(cfgdir, exist_ok=True)
    with open(os.path.join(cfgdir, "config"), "w") as f:
        f.write('preferences = {\n  console_escape = "^B";\n  console_scrollback = 300;\n};\n')
    tui = Tui("console-more", env={"NO_COLOR": "1", "XENTUI_OSC52": "1"}, raw_log=raw, fresh=False)
    out = os.path.join(tui.dir, "copied.txt")
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())
        guests = pool.guests()
        texts = [v["name_label"] + " " + " ".join(v["tags"]) for v in guests.values()]
        running = sorted(v["name_label"] for v in guests.values() if v["power_state"] == "Running"
                         and sum(v["name_label"] in t for t in texts) == 1)
        if not running:
            raise RuntimeError("the demo pool needs a running VM with a unique name")
        name = running[0]
        prompt = f"root@{name}:~#"
        tui.keys(":")
        tui.keys_literal("console " + name)
        tui.keys("Enter")
        tui.attempt(tap, r"connected 720x400 .*Ctrl-B menu", "the status line names the configured escape key",
                    timeout=30)
        tui.wait(lambda s: prompt in s, timeout=20)

        # ---- the guest's screen scrolls: 3 x 20 numbers, each output less than a screen
        for a in (1, 21, 41):
            tui.keys_literal(f"seq {a} {a + 19}")
            tui.keys("Enter")
            tui.wait(lambda s, a=a: str(a + 19) in lines_of(s), timeout=20)
        tui.keys("C-b")
        tui.attempt(tap, r"Console menu: b back +s scrollback", "Ctrl-B (the configured key) opens the menu")
        tui.keys("s")
        tui.attempt(tap, r"Scrollback: line \d+ of \d+", "s opens the scrollback")
        tui.keys("Home")
        tui.attempt(tap, r"Scrollback: line 1 of \d+", "Home goes to the oldest line")

        def top_lines(s):
            return lines_of(s)[1:-1]
        tui.attempt(tap, lambda s: any(line.endswith("# seq 1 20") for line in top_lines(s))
                    and "1" in top_lines(s) and "2" in top_lines(s),
                    "the lines that scrolled off (the command and 1, 2, ...) are in the scrollback")

        # ---- search
        tui.keys("/")
        tui.wait(r"Search the scrollback")
        tui.keys_literal("seq 21")
        tui.keys("Enter")
        tui.attempt(tap, r"found at line \d+", "search finds the line")
        s = tui.screen()
        m = re.search(r"line (\d+) of", s)
        tap.check(m and any(line.endswith("# seq 21 40") for line in top_lines(s)),
                  "the found line (the seq 21 40 command) is shown", s)
        attrs = tui.screen_attrs()
        tap.check("\x1b[7m" in attrs or ";7m" in attrs or "[7;" in attrs, "the match is highlighted (reverse)",
                  attrs[:500])

        # ---- mark the command and the 3 lines after it, write them to a file
        tui.keys("v")
        tui.keys("Down", "Down", "Down")
        tui.attempt(tap, r"\(marking\)", "v marks a region")
        tui.keys("w")
        tui.wait(r"Write the lines to a file")
        tui.keys("C-u")
        tui.keys_literal(out)
        tui.keys("Enter")
        tui.attempt(tap, r"wrote 4 lines to", "w writes the marked lines")
        try:
            with open(out) as f:
                got = f.read()
        except OSError as e:
            got = str(e)
        want = f"{prompt} seq 21 40\n21\n22\n23\n"
        tap.check(got == want, "the file holds exactly those lines", repr(got))

        # ---- OSC 52: the same region to the clipboard
        tui.keys("/")
        tui.wait(r"Search the scrollback")
        tui.keys("C-u")
        tui.keys_literal("seq 41")
        tui.keys("Enter")
        tui.wait(r"found at line")
        tui.keys("v", "Down", "y")
        tui.attempt(tap, r"copied 2 lines to the clipboard", "y copies the region")
        want52 = "\x1b]52;c;" + base64.b64encode(f"{prompt} seq 41 60\n41\n".encode()).decode() + "\x07"
        rawb = ""
        try:
            tui.wait(lambda s: want52 in open(raw, errors="replace").read(), timeout=10)
        except Timeout:
            pass
        try:
            rawb = open(raw, errors="replace").read()
        except OSError:
            pass
        tap.check(want52 in rawb, "the OSC 52 sequence with the lines in base64 reached the terminal",
                  repr(rawb[-200:]))
        tui.keys("Escape")
        tui.attempt(tap, lambda s: "Scrollback:" not in s and "connected 720x400" in s, "Esc back to the live console")

        # ---- picture mode: the guest shows graphics
        tui.keys_literal("graphics")
        tui.keys("Enter")
        tui.attempt(tap, r"not a text screen\) picture", "a graphics frame switches to the picture by itself",
                    timeout=20)
        body = lines_of(tui.screen())[1:-1]
        blocks = sum(line.count("\u2580") + line.count("\u2584") + line.count("\u2588") for line in body)
        tap.check(blocks > 500, "the picture is drawn with half blocks", f"{blocks} blocks")
        tui.keys("C-b", "p")
        tui.attempt(tap, lambda s: "picture" not in status(s) and "\ufffd" in s,
                    "Ctrl-B p toggles to text (unknown cells)")
        tui.keys("C-b", "p")
        tui.attempt(tap, lambda s: "picture" in status(s), "and back to the picture")
        tui.keys("C-b", "u")
        tui.attempt(tap, lambda s: "picture" in status(s) and "Not connected" not in s,
                    "Ctrl-B u asks for a full refresh")
        tui.keys("x")  # any key: the guest goes back to text
        tui.attempt(tap, lambda s: prompt in s and "picture" not in status(s),
                    "text again once the guest shows text", timeout=20)

        # ---- type a text
        tui.keys("C-b", "t")
        tui.wait(r"Type a text")
        tui.keys_literal("echo typed by the menu")
        tui.keys("Enter")
        tui.attempt(tap, lambda s: "typed by the menu" in lines_of(s), "type a text: the guest ran it", timeout=20)

        # ---- type a file
        src = os.path.join(tui.dir, "to-type.txt")
        with open(src, "w") as f:
            f.write("echo from a file\n")
        tui.keys("C-b", "f")
        tui.wait(r"Type a file")
        tui.keys_literal(src)
        tui.keys("Enter")
        tui.attempt(tap, lambda s: "from a file" in lines_of(s), "type a file: the guest ran its line", timeout=20)

        tui.keys("C-b", "b")
        tui.wait(lambda s: "Console menu" not in s and prompt not in s)
        tui.quit_and_check(tap)
    except (Timeout, RuntimeError) as e:
        tap.check(False, "the scenario ran to its end", e)
    finally:
        tui.close()
    tap.done()


if __name__ == "__main__":
    main()
