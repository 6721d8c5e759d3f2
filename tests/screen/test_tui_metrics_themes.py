#!/usr/bin/env python3
"""Graphs readable in every theme (issue 13): for each theme in themes/,
a host's Metrics tab at 200x60 and at 80x24 draws its graphs (braille
plots with value and time axes, titles with units, a line per device)
within the terminal, and every cell of a graph or sparkline is drawn in a
foreground colour other than its background (tmux's capture with
attributes, read cell by cell). TAP."""
import glob
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))

from tuitest import Tap, Timeout, Tui  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
ALLOWED = re.compile(r"^[\x20-\x7e\u2800-\u28ff\u2581-\u2588\u2500-\u257f\u2026]*$")
GRAPH = re.compile(r"[\u2801-\u28ff\u2581-\u2588]")
SGR = re.compile(r"\x1b\[([0-9;]*)m")


def cells(attr_screen):
    """(character, fg, bg) for every cell, the SGR state carried as tmux writes it."""
    fg = bg = None
    reverse = False
    out = []
    for line in attr_screen.split("\n"):
        pos = 0
        row = []
        for m in SGR.finditer(line):
            for ch in line[pos:m.start()]:
                row.append((ch, bg if reverse else fg, fg if reverse else bg))
            pos = m.end()
            p = [int(x) if x else 0 for x in m.group(1).split(";")]
            i = 0
            while i < len(p):
                c = p[i]
                if c == 0:
                    fg = bg = None
                    reverse = False
                elif c == 7:
                    reverse = True
                elif c == 27:
                    reverse = False
                elif 30 <= c <= 37 or 90 <= c <= 97:
                    fg = c % 10 + (8 if c >= 90 else 0)
                elif c == 39:
                    fg = None
                elif 40 <= c <= 47 or 100 <= c <= 107:
                    bg = c % 10 + (8 if c >= 100 else 0)
                elif c == 49:
                    bg = None
                elif c in (38, 48) and i + 2 < len(p) and p[i + 1] == 5:
                    if c == 38:
                        fg = p[i + 2]
                    else:
                        bg = p[i + 2]
                    i += 2
                elif c in (38, 48) and i + 4 < len(p) and p[i + 1] == 2:
                    if c == 38:
                        fg = tuple(p[i + 2:i + 5])
                    else:
                        bg = tuple(p[i + 2:i + 5])
                    i += 4
                i += 1
        for ch in line[pos:]:
            row.append((ch, bg if reverse else fg, fg if reverse else bg))
        out.append(row)
    return out


def graph_cells(attr_screen):
    """(y, x, character, fg, bg) of every cell of a graph or sparkline."""
    return [(y, x, ch, fg, bg) for y, row in enumerate(cells(attr_screen))
            for x, (ch, fg, bg) in enumerate(row) if GRAPH.match(ch)]


def own_colours(theme):
    """Whether the theme draws body text in colours of its own (not the terminal's default)."""
    with open(os.path.join(ROOT, "themes", theme + ".conf")) as f:
        m = re.search(r"^\s*normal\s*=\s*\{\s*fg\s*=\s*\"([^\"]+)\"", f.read(), re.M)
    return bool(m) and m.group(1) != "default"


def whole(s, cols):
    lines = s.rstrip("\n").split("\n")
    return (all(len(line) <= cols and ALLOWED.match(line) for line in lines) and "last point at" in s
            and "? Help" in lines[-1] and re.search(r"[\u2801-\u28ff]", s) and re.search(r"-10m\b", s)
            and re.search(r"\bnow\s*$", s, re.M))


def check(tap, tui, theme, cols, rows):
    what = f"theme {theme} at {cols}x{rows}"
    try:
        tui.wait(lambda s: whole(s, cols), timeout=30)
    except Timeout as e:
        tap.check(False, f"{what}: the Metrics tab draws braille graphs with a time axis, nothing else on screen", e)
        return
    tap.check(True, f"{what}: the Metrics tab draws braille graphs with a time axis, nothing else on screen")
    titles = ["CPU", "Load", "Memory used", "Network receive", "Network send", "Disk read", "Disk write"]

    def named(s):
        return (whole(s, cols) and all(re.search(r"(^|\s)" + t + r"\s", s, re.M) for t in titles)
                and re.search(r"\d+(\.\d)? %", s) and re.search(r"\d+(\.\d)? (KiB|MiB|B)/s", s))

    def cores(s):
        return named(s) and re.search(r"Per core\s", s) and re.search(r"Core 0\s+[\u2581-\u2588]+\s+\d+\.\d %", s)
    # a capture may catch a redraw half done: wait for a whole one that has it all
    for name, pred in ((f"{what}: every figure is named, with its unit", named),
                       (f"{what}: a line per core with a sparkline and its value", cores)):
        if pred is cores and cols < 160:
            continue
        try:
            tui.wait(pred, timeout=15)
            tap.check(True, name)
        except Timeout as e:
            tap.check(False, name, e)
    g = graph_cells(tui.screen_attrs())
    bad = [c for c in g if c[3] is not None and c[3] == c[4]]
    coloured = sum(1 for c in g if c[3] is not None or c[4] is not None)
    tap.check(g and not bad and (coloured or not own_colours(theme)),
              f"{what}: every graph cell's colour differs from its background ({len(g)} cells, "
              f"{coloured} in the theme's colours)", bad[:10])


def main():
    tap = Tap()
    themes = sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(ROOT, "themes", "*.conf")))
    tap.check(len(themes) >= 2, f"themes/ holds the themes ({', '.join(themes)})", themes)
    for theme in themes:
        tui = Tui(f"metrics-theme-{theme}", args=("--demo", "--theme", theme), cols=200, rows=60)
        try:
            tui.demo(timeout=60)
            tui.wait(r"live", timeout=60)
            tui.keys_literal(":hosts")
            tui.keys("Enter")
            tui.wait(r"^NAME", timeout=40)
            tui.keys("Enter")
            tui.wait(r"7 Metr", timeout=40)
            tui.keys("7")
            check(tap, tui, theme, 200, 60)
            tui.resize(80, 24)
            check(tap, tui, theme, 80, 24)
            tui.quit_and_check(tap)
        except Timeout as e:
            tap.check(False, f"theme {theme}: the screens answered in time", e)
        finally:
            tui.close()
    tap.done()


if __name__ == "__main__":
    main()
