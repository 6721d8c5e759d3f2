"""xentui on the terminals it must serve, checked on the screen (tmux) and
on every byte it wrote (tmux pipe-pane): the Linux console (TERM=linux: 8
colours, line drawing by ACS; with a C locale nothing but ASCII), screen
and tmux (256 colours, the alternate screen left again after SIGTERM),
NO_COLOR (the mono theme: no colour at all, reverse video instead) and a
non-UTF-8 locale on an xterm. One simulator serves every run. TAP output."""
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import LOGS, Sim, Tap, Timeout, Tui  # noqa: E402

CSI_M = re.compile(rb"\x1b\[([0-9;]*)m")


def sgr_params(raw):
    """Every SGR parameter xentui sent, 38/48 colours kept whole ("38;5;196")."""
    out = []
    for m in CSI_M.finditer(raw):
        ps = m.group(1).decode().split(";") if m.group(1) else ["0"]
        i = 0
        while i < len(ps):
            if ps[i] in ("38", "48") and i + 1 < len(ps):
                n = 3 if ps[i + 1] == "5" else 5
                out.append(";".join(ps[i:i + n]))
                i += n
            else:
                out.append(ps[i] or "0")
                i += 1
    return out


def colours(params):
    return [p for p in params if re.match(r"^(3[0-9]|4[0-9]|9[0-7]|10[0-7])(;|$)", p)]


def output_of(raw):
    """What xentui wrote: the stream after the shell echoed the command line."""
    cut = raw.find(b"XENTUI-EXIT=$?")
    return raw[cut + len(b"XENTUI-EXIT=$?"):] if cut >= 0 else raw


def written(path, needle, timeout=10.0, quiet=0.2):
    """Waits until the file holds needle and has stopped growing (nothing
    more for quiet seconds: the update that drew it is all there)."""
    deadline = time.time() + timeout
    size, since = -1, time.time()
    while time.time() < deadline:
        with open(path, "rb") as f:
            data = f.read()
        if len(data) != size:
            size, since = len(data), time.time()
        elif needle in data and time.time() - since >= quiet:
            return True
        time.sleep(0.02)
    return False


def run(tap, sim, label, env, check, stop="quit", cols=100, rows=30):
    """Starts xentui on the simulator with env, waits for the pool, opens the
    quit dialog (a frame to draw), runs check(screen, raw), then leaves by
    stop: "quit" (answers the dialog) or "sigterm". Returns whether the pane
    was still on the alternate screen at the end, and what xentui wrote."""
    raw_path = os.path.join(LOGS, f"screen-termtypes-{label}-{os.getpid()}.raw")
    env = dict(env, XENTUI_TEST_PW="xapi-sim")
    args = (sim.url, "--fingerprint", sim.fingerprint, "--password-env", "XENTUI_TEST_PW")
    tui = Tui("termtypes-" + label, args=args, env=env, cols=cols, rows=rows, raw_log=raw_path)
    try:
        text = tui.attempt(tap, lambda s: "live" in s.split("\n")[0] and "xcp-ng-01" in s,
                           f"{label}: the pool is shown, live", timeout=30)
        tui.keys("q")
        text = tui.attempt(tap, r"Leave xentui\?", f"{label}: q asks in a framed dialog") or text
        # the frame is on the terminal, not just in tmux's grid: its text is in
        # the bytes tmux passed on, and they have stopped coming
        if not written(raw_path, b"Leave xentui?"):
            tap.check(False, f"{label}: the dialog's bytes reach the terminal", raw_path)
        with open(raw_path, "rb") as f:
            check(text or "", output_of(f.read()))
        if stop == "sigterm":
            pid = tui.xentui_pid()
            os.kill(pid, signal.SIGTERM)
            tui.attempt(tap, r"XENTUI-EXIT=0", f"{label}: SIGTERM logs out and exits with status 0")
        else:
            tui.keys("y")
            tui.attempt(tap, r"XENTUI-EXIT=0", f"{label}: quits with status 0")
        with open(raw_path, "rb") as f:
            raw = output_of(f.read())
        alternate = tui.alternate_on()
        reports = tui.sanitizer_reports()
        tap.check(not reports, f"{label}: no sanitizer report from xentui", reports)
        return alternate, raw
    except Timeout as e:
        tap.check(False, f"{label}: the run went to its end", e)
        return True, b""
    finally:
        tui.close()


def main():
    tap = Tap()
    sim = Sim("termtypes", "--seed", "3")
    try:
        # ---- the Linux console with a C locale: ASCII only, lines by ACS (SO/SI with G1 = DEC graphics)
        def linux_c(text, raw):
            tap.check(all(b < 0x80 for b in raw), "linux, C locale: every byte written is ASCII",
                      repr(bytes(b for b in raw if b >= 0x80)[:80]))
            tap.check(b"\x1b)0" in raw and b"\x0e" in raw and b"\x0f" in raw,
                      "linux, C locale: the frame is drawn with the console's ACS (SO/SI)", repr(raw[:200]))
            bad = [p for p in colours(sgr_params(raw)) if not re.match(r"^(3[0-7]|39|4[0-7]|49)$", p)]
            tap.check(colours(sgr_params(raw)) and not bad, "linux: only the 8 basic colours (bright is bold)", bad)
            top = text.split("\n")[0]
            tap.check(top.startswith(" xentui | ") and "| live" in top, "linux, C locale: the status line reads in ASCII",
                      top)
        run(tap, sim, "linux-C", {"TERM": "linux", "LANG": "C", "LC_ALL": "C"}, linux_c)

        # ---- the Linux console with UTF-8: box drawing from its font, still 8 colours, no "…" it lacks
        def linux_utf8(text, raw):
            tap.check("┌" in text and "│" in text, "linux, UTF-8: the frame has box drawing characters", text)
            bad = [p for p in colours(sgr_params(raw)) if not re.match(r"^(3[0-7]|39|4[0-7]|49)$", p)]
            tap.check(colours(sgr_params(raw)) and not bad, "linux, UTF-8: only the 8 basic colours", bad)
            tap.check("\u2026".encode() not in raw, "linux: no ellipsis character (the console font lacks it)")
        run(tap, sim, "linux-utf8", {"TERM": "linux", "LANG": "C.UTF-8"}, linux_utf8, cols=80, rows=24)

        # ---- screen and tmux: the alternate screen, left again when SIGTERM comes
        for term in ("screen-256color", "tmux-256color"):
            def multiplexer(text, raw, term=term):
                tap.check(b"\x1b[?1049h" in raw, f"{term}: xentui draws on the alternate screen")
                tap.check(text.split("\n")[0].startswith(" xentui │ ") and "┌" in text,
                          f"{term}: status line and frame in UTF-8", text)
            alternate, raw = run(tap, sim, term, {"TERM": term, "LANG": "C.UTF-8"}, multiplexer, stop="sigterm")
            tap.check(raw.rfind(b"\x1b[?1049l") > raw.rfind(b"\x1b[?1049h") >= 0,
                      f"{term}: after SIGTERM it left the alternate screen", repr(raw[-300:]))
            tap.check(not alternate, f"{term}: the pane is off the alternate screen")
            tap.check(raw.rfind(b"\x1b[?25h") > raw.rfind(b"\x1b[?25l"), f"{term}: and the cursor is visible again",
                      repr(raw[-300:]))

        # ---- NO_COLOR: the mono theme, reverse video for what colours would mark
        def no_color(text, raw):
            params = sgr_params(raw)
            tap.check(not colours(params), "NO_COLOR: not one colour is switched on", colours(params)[:20])
            tap.check("7" in params, "NO_COLOR: the mono theme marks the status line and selection in reverse video",
                      params[:40])
        run(tap, sim, "no-color", {"TERM": "xterm-256color", "LANG": "C.UTF-8", "NO_COLOR": "1"}, no_color)

        # ---- a non-UTF-8 locale on an xterm: ASCII text, lines by ACS (ESC ( 0)
        def xterm_c(text, raw):
            tap.check(all(b < 0x80 for b in raw), "xterm, C locale: every byte written is ASCII",
                      repr(bytes(b for b in raw if b >= 0x80)[:80]))
            tap.check(b"\x1b(0" in raw, "xterm, C locale: the frame is drawn with ACS (ESC ( 0)", repr(raw[:200]))
            tap.check(re.search(r"[#-]{8}\s+\d+%", text) is not None and "sorted by HOST^" in text,
                      "xterm, C locale: bars and marks fall back to ASCII", text)
        run(tap, sim, "xterm-C", {"TERM": "xterm-256color", "LANG": "C", "LC_ALL": "C"}, xterm_c)
    except RuntimeError as e:
        tap.check(False, "the terminal runs went to their end", e)
    finally:
        err = sim.stop()
        tap.check("Sanitizer" not in err and "runtime error" not in err, "no sanitizer report from the simulator", err)
    tap.done()


if __name__ == "__main__":
    main()
