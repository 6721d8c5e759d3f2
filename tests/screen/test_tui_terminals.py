"""xentui against what a terminal must survive: a VM whose name holds
escape sequences and a newline, a first connection to an unknown
certificate, and a terminal without UTF-8. TAP output."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import Pool, Sim, Tap, Timeout, Tui, row_starting  # noqa: E402

EVIL = "evil\x1b[31mred\nsecond line\u009b31m\u202e\x07"
# What the screen must show of it, written out by hand: xapi drops ESC and BEL
# on the wire (XML cannot carry them); the newline, the C1 CSI and the bidi
# override arrive, and each is drawn as "?".
SHOWN = "evil[31mred?second line?31m?"


def hostile_name(tap):
    tui = Tui("hostile", env={"NO_COLOR": "1"})
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())
        ref, vm = sorted(pool.guests().items(), key=lambda kv: kv[1]["name_label"])[0]
        # control characters cannot travel in XML: set it over JSON-RPC, as any client could
        reply = pool.jsonrpc("VM.set_name_label", ref, EVIL)
        tap.check("result" in reply, "the simulator takes the hostile name (JSON-RPC)", reply)
        # what xentui gets over XML-RPC: xapi drops the control bytes XML cannot carry, but
        # newlines, C1 controls and bidi overrides do arrive
        got = pool.vm(ref)["name_label"]
        tap.check("\n" in got and "\u009b" in got and "\u202e" in got,
                  "a newline, a C1 CSI and a bidi override reach clients", repr(got))
        want = SHOWN
        tui.keys(":")
        tui.keys_literal("vms")
        tui.keys("Enter")
        # the list's NAME cell may cut it ("…"): its first 20 cells; the VM's screen shows more below
        text = tui.attempt(tap, lambda s: row_starting(s, want[:20]) or any(
            l.startswith(want[:20]) for l in s.split("\n")), "the name is drawn with its control characters as '?'")
        if text:
            lines = text.split("\n")
            tap.check(not any(l.startswith("second line") for l in lines), "the newline did not break the row")
            # waited for: tmux may show a frame half drawn (the row there, the key bar not yet)
            def in_place(s):
                ls = s.split("\n")
                return len(ls) <= 31 and ls[0].startswith(" xentui") and "Help" in ls[-2] + ls[-1]
            text = tui.attempt(tap, in_place, "the status line and key bar are where they belong", timeout=10) or text
            tap.check("\u202e" not in text and "\u009b" not in text,
                      "no bidi override or C1 control reaches the terminal", repr(text[:300]))
            attrs = tui.screen_attrs()
            tap.check(not re.search(r"\x1b\[[0-9;]*3[0-7]m", attrs.replace("\x1b[39m", "")),
                      "no colour was switched on (NO_COLOR, and nothing injected)", repr(attrs[:400]))
        tui.keys("/")
        tui.keys_literal("evil")
        tui.keys("Enter")
        tui.keys("Enter")
        text = tui.attempt(tap, lambda s: re.search(r"Name\s+" + re.escape(want[:40]), s),
                           "the VM's own screen shows it harmlessly too")
        tui.keys(":")
        tui.keys_literal("quit")
        tui.keys("Enter")
        tui.attempt(tap, r"XENTUI-EXIT=0", ":quit leaves with status 0")
        reports = tui.sanitizer_reports()
        tap.check(not reports, "no sanitizer report from xentui", reports)
    except Timeout as e:
        tap.check(False, "the hostile-name scenario ran to its end", e)
    finally:
        tui.close()


def certificate(tap):
    sim = Sim("terminals", "--seed", "7")
    tui = None
    try:
        args = (sim.url, "--password-env", "XENTUI_TEST_PW")
        tui = Tui("cert", args=args, env={"XENTUI_TEST_PW": "xapi-sim"})
        text = tui.attempt(tap, r"Unknown certificate", "a first connection asks about the unknown certificate")
        pairs = ":".join(sim.fingerprint[i:i + 2].upper() for i in range(0, 64, 2))
        if text:
            flat = re.sub(r"[\s│|]+", "", text)
            tap.check(pairs.replace(":", "") in flat.replace(":", "") and pairs[:20] in text,
                      "it shows the simulator's SHA-256 fingerprint", text)
        tui.keys("y")
        tui.attempt(tap, r"live", "accepting it connects", timeout=30)
        known = os.path.join(tui.dir, "config", "xentui", "known_hosts")
        try:
            with open(known) as f:
                saved = f.read()
        except OSError as e:
            saved = str(e)
        tap.check(sim.fingerprint.lower() in saved.lower(), "and remembers it in known_hosts", saved)
        tui.keys(":")
        tui.keys_literal("quit")
        tui.keys("Enter")
        tui.attempt(tap, r"XENTUI-EXIT=0", "quits with status 0")
        tui.close()

        # the second time, no question
        tui = Tui("cert", args=args, env={"XENTUI_TEST_PW": "xapi-sim"}, fresh=False)
        text = tui.attempt(tap, r"live", "a remembered certificate connects without asking", timeout=30)
        if text:
            tap.check("Unknown certificate" not in text, "no prompt the second time", text)
        tui.keys("C-c")
        tui.attempt(tap, r"XENTUI-EXIT=0", "^C quits with status 0")
        reports = tui.sanitizer_reports()
        tap.check(not reports, "no sanitizer report from xentui", reports)
    except Timeout as e:
        tap.check(False, "the certificate scenario ran to its end", e)
    finally:
        if tui:
            tui.close()
        err = sim.stop()
        tap.check("Sanitizer" not in err and "runtime error" not in err, "no sanitizer report from the simulator", err)


def ascii_terminal(tap):
    tui = Tui("ascii", env={"LANG": "C", "LC_ALL": "C", "TERM": "screen"}, cols=80, rows=24)
    try:
        text = tui.attempt(tap, r"live", "with LANG=C (no UTF-8) it still starts", timeout=40)
        if text:
            tap.check("sorted by HOST^" in text and "|" in text.split("\n")[0],
                      "its own marks fall back to ASCII", text)
            tap.check(re.search(r"[#-]{8}\s+\d+%", text) is not None, "bars are drawn with # and -", text)
            tap.check(all(ord(c) < 128 for c in text.replace("\u2500", "").replace("\u2502", "")),
                      "nothing but ASCII (and line drawing) reaches the screen", text)
        tui.keys("q")
        tui.wait(r"Leave xentui")
        tui.keys("y")
        tui.attempt(tap, r"XENTUI-EXIT=0", "quits with status 0")
        tap.check(not tui.alternate_on(), "the terminal has left the alternate screen")
        reports = tui.sanitizer_reports()
        tap.check(not reports, "no sanitizer report from xentui", reports)
    except Timeout as e:
        tap.check(False, "the ASCII scenario ran to its end", e)
    finally:
        tui.close()


def main():
    tap = Tap()
    hostile_name(tap)
    certificate(tap)
    ascii_terminal(tap)
    tap.done()


if __name__ == "__main__":
    main()
