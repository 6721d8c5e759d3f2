"""Drawing text exactly (issue 19, "Drawn wrong"), in xentui --demo: VMs
named with emoji ZWJ sequences, skin tones, stacked combining marks, a flag
with VS16 and CJK, shown in :vms at 80 and 200 columns. Where each row's
POWER and HOST cells start is measured by tmux itself (the row's text up
to the cell is written to a scratch pane of the same tmux and its cursor
read), so the columns are those the person sees; after scrolling and
filtering the screen must equal its full redraw (Ctrl-L), cell for cell:
no stale fragments. A 10,000-character name keeps the VM screen's title
showing the power state. During a resync (reload after the sim expired
every session) the VM and host screens say "reloading", not "gone", and
offer no running VM's keys. TAP output."""
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import Pool, Tap, Timeout, Tui, cmd, filter_to  # noqa: E402

MAN, WOMAN, GIRL, BOY, ZWJ = "\U0001F468", "\U0001F469", "\U0001F467", "\U0001F466", "\u200D"
# each name starts with a plain word the test finds its row by
NAMES = {
    "gfam3": "gfam3 " + MAN + ZWJ + WOMAN + ZWJ + GIRL + " x",
    "gfam4": "gfam4 " + MAN + ZWJ + WOMAN + ZWJ + GIRL + ZWJ + BOY + " x",
    "gtone": "gtone \U0001F44D\U0001F3FD\U0001F44B\U0001F3FF x",
    "gmark": "gmark e\u0301\u0302\u0303\u0304\u0305\u0306\u0307 Z\u0351\u0352\u0353\u0354 x",
    "gflag": "gflag \U0001F3F3\uFE0F\u200D\U0001F308 \u2764\uFE0F x",
    "gcjk": "gcjk \u4e2d\u6587\u540d\u5b57 \U0001F469\U0001F3FD\u200D\U0001F4BB x",
}


class Ruler:
    """A scratch window in the test's tmux: the columns tmux gives a text."""

    def __init__(self, tui):
        self.tui = tui
        tui.tmux("new-window", "-d", "-n", "ruler", "cat")
        # wider than any screen row, so that a row never wraps
        tui.tmux("resize-window", "-t", "ruler", "-x", "1000", "-y", "5")
        self.tty = tui.tmux("display-message", "-p", "-t", "ruler", "#{pane_tty}").strip()

    def width(self, text):
        with open(self.tty, "w") as f:
            f.write("\033[H\033[2J" + text + "|")
        deadline = time.time() + 10
        while time.time() < deadline:
            if "|" in self.tui.tmux("capture-pane", "-p", "-t", "ruler").split("\n")[0]:
                x = int(self.tui.tmux("display-message", "-p", "-t", "ruler", "#{cursor_x}").strip())
                return x - 1
            time.sleep(0.02)
        raise Timeout("the ruler pane did not show the text")


def table_rows(screen):
    """The table: from the column titles to the row before the footer."""
    lines = screen.split("\n")
    top = next((i for i, l in enumerate(lines) if l.startswith("NAME")), None)
    return [] if top is None else lines[top:top + 1 + 40]


def check_columns(tap, tui, ruler, cols, wanted):
    screen = tui.screen()
    rows = table_rows(screen)
    header = rows[0]
    power_at = ruler.width(header[:header.index("POWER")])
    host_at = ruler.width(header[:header.index("HOST")])
    bad = []
    for key in wanted:
        line = next((l for l in rows if l.startswith(key + " ")), None)
        if line is None:
            bad.append(f"{key}: no row")
            continue
        m = re.search(r" (Running|Halted|Suspended|Paused)", line)
        if not m:
            bad.append(f"{key}: no power state in {line!r}")
            continue
        at = ruler.width(line[:m.start() + 1])
        end = ruler.width(line)
        if at != power_at:
            bad.append(f"{key}: POWER at column {at}, its title at {power_at}: {line!r}")
        if end > cols:
            bad.append(f"{key}: the row takes {end} columns of {cols}")
    tap.check(not bad, f"at {cols} columns every odd name keeps its row's columns where tmux shows the titles",
              "\n".join(bad) + "\n" + screen)
    # the whole row, cell by cell: each row's text is as wide as the screen's table
    widths = {ruler.width(l.rstrip()) for l in rows[1:] if l.strip()}
    tap.check(max(widths) <= cols, f"at {cols} columns no row runs past the edge", f"{widths}\n{screen}")
    return host_at


# the live columns: CPU % and its sparkline, memory used, network and disk rates
LIVE_CPU = re.compile(r"\d+\.\d% [\u2581-\u2588 ]*|\s*\d+(?:\.\d+)? ?(?:[KMGT]iB|B)(?:/s)?")


def same_as_redraw(tap, tui, what):
    """The table as drawn after `what` equals the table after Ctrl-L."""
    time.sleep(0.3)  # let the last update reach the pane; the compare waits below
    before = table_rows(tui.screen())
    tui.keys("C-l")
    # the redraw clears the screen first: wait for the table, drawn and still
    after, last = [], None
    deadline = time.time() + 5
    while time.time() < deadline:
        after = table_rows(tui.screen())
        if after and after == last:
            break
        last = after
        time.sleep(0.2)
    # the live columns (a new value every 5 s) are masked, same width, so
    # only stale cells count
    def still(row):
        return LIVE_CPU.sub(lambda m: "#" * len(m.group(0)), row)
    diff = [f"{i}: {a!r}\n   {b!r}" for i, (a, b) in enumerate(zip(before, after)) if still(a) != still(b)]
    tap.check(before and after and not diff, f"after {what} the screen equals its full redraw (no stale cells)", "\n".join(diff))


def test_names(tap, tui, pool, ruler):
    guests = pool.guests()
    refs = sorted(guests, key=lambda r: guests[r]["name_label"])[:len(NAMES)]
    for ref, name in zip(refs, NAMES.values()):
        pool.call("VM.set_name_label", ref, name)
    cmd(tui, "vms")
    tui.wait(lambda s: all(re.search("^" + k + " ", s, re.M) for k in NAMES), timeout=20)
    # a running VM's figures appear with the first sample after its start (within 5 s of the
    # demo's): wait for them, so that the compares below see figures change, never appear
    tui.wait(lambda s: all(re.search(r"\d+\.\d% ", line) for line in s.split("\n") if " Running " in line),
             timeout=20)
    for cols in (80, 200):
        tui.resize(cols, 24)
        tui.wait(lambda s: len(s.split("\n")[0]) <= cols and "NAME" in s)
        time.sleep(0.5)
        filter_to(tui, "")
        tui.wait(lambda s: all(re.search("^" + k + " ", s, re.M) for k in NAMES))
        check_columns(tap, tui, ruler, cols, NAMES)
        # scroll the list so the odd rows move over others, and back
        tui.keys("End")
        time.sleep(0.3)
        tui.keys("Home")
        tui.wait(lambda s: re.search("^gcjk ", s, re.M))
        same_as_redraw(tap, tui, f"scrolling at {cols} columns")
        filter_to(tui, "g")
        tui.wait(lambda s: re.search(r"\d+ of \d+ VMs", s))
        filter_to(tui, "")
        tui.wait(lambda s: not re.search(r"\d+ of \d+ VMs", s))
        same_as_redraw(tap, tui, f"filtering at {cols} columns")
        # each odd row selected in turn (the highlight redraws the row)
        for _ in range(len(NAMES)):
            tui.keys("Down")
        tui.keys("Home")
        same_as_redraw(tap, tui, f"moving the selection at {cols} columns")


def test_long_title(tap, tui, pool):
    guests = pool.guests()
    ref = next(r for r, v in guests.items() if v["power_state"] == "Running")
    name = "zlong" + "n" * 9995
    pool.call("VM.set_name_label", ref, name)
    tui.resize(80, 24)
    filter_to(tui, "zlong")
    tui.wait(lambda s: re.search("^zlong", s, re.M))
    tui.keys("Enter")
    try:
        tui.wait(lambda s: "nnnnnnnnnn" in s and "Running" in s.split("\n")[1], timeout=10)
        tap.check(True, "a VM named with 10,000 characters: its screen's title keeps 'Running'")
    except Timeout as e:
        tap.check(False, "a VM named with 10,000 characters: its screen's title keeps 'Running'", e)
    tui.keys("Escape")
    filter_to(tui, "")


def test_reloading(tap):
    """A resync (every session expired: the sim's SIGUSR1) while a running
    VM's screen (then a host's) is open; the reload's VM and host
    get_all_records answer 5 s late."""
    slow = "delay=5000:VM.get_all_records@1,delay=5000:host.get_all_records@1"
    tui = Tui("drawing-reload", env={"NO_COLOR": "1", "XENTUI_DEMO_ARGS": "--faults " + slow}, cols=100, rows=30)
    try:
        tui.wait(r"live", timeout=40)
        tui.demo()
        cmd(tui, "vms")
        filter_to(tui, "power:running")
        tui.wait(r"^\S+ +Running", timeout=20)
        tui.keys("Enter")
        tui.wait(lambda s: re.search(r"VM .*Running", s.split("\n")[1]) and "Shutdown" in s)
        os.kill(tui.sim_pid, signal.SIGUSR1)
        # every screen until the VM is back: none may say "gone"
        seen, deadline = [], time.time() + 40
        while time.time() < deadline:
            screen = tui.screen()
            seen.append(screen)
            title = screen.split("\n")[1]
            if len(seen) > 3 and re.search(r"VM .*Running", title) and any("VM (" in x for x in seen):
                break
            time.sleep(0.05)
        during = [x for x in seen if "VM (" in x.split("\n")[1]]
        gone = [x for x in during if "(reloading)" not in x.split("\n")[1]]
        tap.check(during and not gone, "during a resync the VM screen's title says 'reloading', never 'gone'",
                  (gone or seen or [""])[-1])

        def footer(x):
            return [line for line in x.split("\n") if line.strip()][-1]
        settled = [x for x in during if "Reloading the pool" in x and "Shutdown" not in footer(x)]
        tap.check(settled, "during a resync the VM screen says why and its key bar offers no running VM's keys",
                  (during or [""])[-1])
        tui.attempt(tap, lambda s: re.search(r"VM .*Running", s.split("\n")[1]) and "Shutdown" in s,
                    "after the reload the VM is back with its keys", timeout=30)
        # the same on a host's screen
        cmd(tui, "hosts")
        tui.wait(r"^NAME.*STATE", timeout=10)
        tui.keys("Enter")
        tui.wait(lambda s: s.split("\n")[1].startswith(" Host ") and "(" not in s.split("\n")[1])
        os.kill(tui.sim_pid, signal.SIGUSR1)
        seen, deadline = [], time.time() + 40
        while time.time() < deadline:
            screen = tui.screen()
            seen.append(screen)
            title = screen.split("\n")[1]
            if len(seen) > 3 and "(" not in title and any("Host (" in x for x in seen):
                break
            time.sleep(0.05)
        during = [x for x in seen if "Host (" in x.split("\n")[1]]
        gone = [x for x in during if "(reloading)" not in x.split("\n")[1]]
        tap.check(during and not gone, "during a resync the host screen's title says 'reloading', never 'gone'",
                  (gone or seen or [""])[-1])
        tui.quit_and_check(tap)
    except Timeout as e:
        tap.check(False, "the resync scenario ran to its end", e)
    finally:
        tui.close()


def main():
    tap = Tap()
    test_reloading(tap)
    tui = Tui("drawing", env={"NO_COLOR": "1", "XENTUI_DEMO_ARGS": "--vms 40"}, cols=80, rows=24)
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())
        ruler = Ruler(tui)
        for t in (test_names, test_long_title):
            try:
                t(tap, tui, pool, ruler) if t is test_names else t(tap, tui, pool)
            except Timeout as e:
                tap.check(False, t.__name__, e)
                tui.keys("Escape", "Escape")
        tui.quit_and_check(tap)
    except Timeout as e:
        tap.check(False, "the drawing scenario ran to its end", e)
    finally:
        tui.close()
    tap.done()


main()
