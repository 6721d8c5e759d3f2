"""The console's scrollback, exact (issues 18 and 19), in xentui --demo on a
VM's console of the simulator: outputs of 1, 24, 25, 100 and 1,000 lines at
once and clear-screens between them, then the whole scrollback written to a
file with `w` and read back: every number the guest printed that was ever on
the screen is there once, in order, none repeated; where lines went by
faster than the screen showed them, a line says so. Also: `/` searches
downward from the view like less (n next, N previous); `w` onto an
existing file asks first, naming it and its size, and a path with `..`
shows where it resolves; `:console HOST` opens the host's (dom0's)
console. TAP output."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import LOGS, Pool, Tap, Timeout, Tui  # noqa: E402

ROWS = 25  # the simulated console's text rows


def lines_of(s):
    return [line.rstrip() for line in s.split("\n")]


def body(s):
    """The console's rows as the TUI shows them (under the title lines)."""
    return lines_of(s)[2:-3]


def dialog_text(s):
    """The screen's text with box borders and line ends taken out, so that a
    path the dialog wrapped reads whole."""
    out = []
    for line in s.split("\n"):
        # inside a box only: the scrollback behind it shows left and right of the borders
        if line.count("\u2502") >= 2:
            line = line[line.index("\u2502") + 1:line.rindex("\u2502")]
        out.append(line.strip())
    return "".join(out)


def main():
    tap = Tap()
    cfgdir = os.path.join(LOGS, f"screen-console-scroll-{os.getpid()}", "config", "xentui")
    os.makedirs(cfgdir, exist_ok=True)
    with open(os.path.join(cfgdir, "config"), "w") as f:
        f.write('preferences = {\n  console_scrollback = 5000;\n};\n')
    tui = Tui("console-scroll", env={"NO_COLOR": "1"}, cols=100, rows=34, fresh=False)
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())
        guests = pool.guests()
        running = sorted(v["name_label"] for v in guests.values() if v["power_state"] == "Running")
        if not running:
            raise RuntimeError("the demo pool needs a running VM")
        name = running[0]
        prompt = f"root@{name}:~#"
        tui.keys(":")
        tui.keys_literal("console " + name)
        tui.keys("Enter")
        tui.wait(r"connected 720x400", timeout=30)
        tui.wait(lambda s: prompt in s, timeout=20)

        # ---- output of every size, with clear-screens between
        runs = [("clear",), ("seq", 1, 30), ("seq", 31, 36), ("seq", 37, 60), ("seq", 1001, 1001), ("seq", 2001, 2024), ("seq", 3001, 3025), ("seq", 4001, 4100),
                ("clear",), ("seq", 5001, 6000), ("seq", 6001, 6005), ("clear",), ("seq", 7001, 7001),
                ("seq", 7101, 7124), ("clear",), ("clear",), ("seq", 8001, 8025), ("seq", 8101, 8101)]
        for r in runs:
            cmd = "clear" if r[0] == "clear" else f"seq {r[1]} {r[2]}"
            tui.keys_literal(cmd)
            # the echo is on the screen before Enter, as for a person typing
            tui.wait(lambda s, cmd=cmd: f"{prompt} {cmd}" in body(s))
            tui.keys("Enter")
            if r[0] == "clear":
                tui.wait(lambda s: body(s)[:1] == [prompt] or body(s)[1:2] == [prompt], timeout=20)
            else:
                tui.wait(lambda s, r=r: any(body(s)[i] == str(r[2]) and body(s)[i + 1] == prompt
                                            for i in range(len(body(s)) - 1)), timeout=20)

        # ---- the whole scrollback and the screen to a file
        out = os.path.join(tui.dir, "all.txt")
        tui.keys("C-]", "s")
        tui.wait(r"Scrollback: line \d+ of \d+")
        tui.keys("Home", "v", "End", "w")
        tui.wait(r"Write the lines to a file")
        tui.keys("C-u")
        tui.keys_literal(out)
        tui.keys("Enter")
        tui.attempt(tap, r"wrote \d+ lines to", "w writes the whole scrollback")
        try:
            with open(out) as f:
                got = [line.rstrip("\n") for line in f]
        except OSError as e:
            got = [str(e)]
        nums = [int(x) for x in got if re.fullmatch(r"\d+", x)]
        tap.check(nums == sorted(set(nums)), "every number is there once and in order (no line repeated)",
                  [n for i, n in enumerate(nums) if i and n <= nums[i - 1]][:20])
        have = set(nums)

        def must(lo, hi, what):
            missing = [n for n in range(lo, hi + 1) if n not in have]
            tap.check(not missing, what, f"missing {missing[:20]}{'...' if len(missing) > 20 else ''}")
        must(7, 60, "seq 1 30 after a clear, then 6 and 24 more: every line from 7 on kept")
        must(1001, 1001, "1 line at once: kept")
        must(2001, 2024, "24 lines at once: all kept")
        must(3002, 3025, "25 lines at once: all that were on the screen kept")
        must(4077, 4100, "100 lines at once: the last screenful kept")
        must(5977, 6005, "1,000 lines at once after a clear: the last screenful and the next output kept")
        must(7001, 7001, "output after a clear kept")
        must(7101, 7124, "24 lines after a clear kept")
        must(8002, 8025, "25 lines after two clears kept")
        for r in runs:
            if r[0] == "seq":
                line = f"{prompt} seq {r[1]} {r[2]}"
                tap.check(got.count(line) == 1, f"the command line 'seq {r[1]} {r[2]}' is there once",
                          got.count(line))
        idx = [got.index(f"{prompt} seq {r[1]} {r[2]}") if f"{prompt} seq {r[1]} {r[2]}" in got else -1
               for r in runs if r[0] == "seq"]
        tap.check(idx == sorted(idx) and -1 not in idx, "the commands are in the order they ran", idx)

        def gap_between(a, b):
            """A line that is neither a number nor a prompt between the lines a and b."""
            try:
                i, j = got.index(a), got.index(b)
            except ValueError:
                return False
            return any(not re.fullmatch(r"\d+", x) and not x.startswith(prompt) and x for x in got[i + 1:j])
        tap.check(gap_between(f"{prompt} seq 4001 4100", "4077"),
                  "where lines went by unseen (100 at once), a line says so", got[:0])
        tap.check(not gap_between("2001", "2024") and not gap_between("7101", "7124"),
                  "no such line inside output that was seen whole")

        # ---- / searches from the view downward; n next, N previous
        tui.keys("Home")
        tui.wait(r"Scrollback: line 1 of")
        tui.keys("/")
        tui.wait(r"Search the scrollback")
        tui.keys_literal("seq ")
        tui.keys("Enter")
        s = tui.attempt(tap, r"found at line \d+", "/ finds a match") or ""
        m = re.search(r"found at line (\d+)", s)
        first = int(m.group(1)) if m else 0
        tap.check("wrapped" not in s and any(line == f"{prompt} seq 1 30" for line in lines_of(s)),
                  "/ from the top finds the first match below (seq 1 30), without wrapping", s)
        def found(s):
            m = re.search(r"found at line (\d+)", s)
            return int(m.group(1)) if m else 0
        tui.keys("n")
        s = tui.attempt(tap, lambda s: found(s) not in (0, first), "n finds another match") or ""
        tap.check(found(s) > first and any(line == f"{prompt} seq 31 36" for line in lines_of(s)),
                  "n goes to the next match downward", (first, found(s)))
        tui.keys("N")
        tui.attempt(tap, lambda s: found(s) == first, "N goes back to the previous match")
        tui.keys("N")
        tui.attempt(tap, r"not found above|no more matches above", "N at the first match: none above, no wrapping")

        # ---- w onto an existing file asks, naming it and its size
        mine = os.path.join(tui.dir, "precious.txt")
        with open(mine, "w") as f:
            f.write("someone's data\n")
        os.chmod(mine, 0o644)
        tui.keys("w")
        tui.wait(r"Write the lines to a file")
        tui.keys("C-u")
        tui.keys_literal(mine)
        tui.keys("Enter")
        tui.attempt(tap, lambda s: "precious.txt" in dialog_text(s) and "15 bytes" in dialog_text(s),
                    "w onto an existing file asks first, naming it and its size")
        tui.keys("Escape")
        tui.attempt(tap, r"nothing written", "Esc: the status says nothing was written")
        with open(mine) as f:
            tap.check(f.read() == "someone's data\n", "declined: the file is untouched")
        tui.keys("w")
        tui.wait(r"Write the lines to a file")
        tui.keys("C-u")
        tui.keys_literal(mine)
        tui.keys("Enter")
        tui.wait(r"precious\.txt")
        tui.keys("y")
        tui.attempt(tap, r"wrote \d+ lines? to", "y replaces it")
        with open(mine) as f:
            tap.check(f.read() != "someone's data\n", "and the file holds the lines now")
        tap.check(os.stat(mine).st_mode & 0o777 == 0o644, "its mode stays 0644", oct(os.stat(mine).st_mode))

        # ---- a path with .. shows the full resolved path before writing
        os.makedirs(os.path.join(tui.dir, "sub"), exist_ok=True)
        # the client shows the physical path (its folder through realpath), so a
        # symlink anywhere above the clone must not make the two differ
        target = os.path.join(os.path.realpath(tui.dir), "escaped.txt")
        tui.keys("w")
        tui.wait(r"Write the lines to a file")
        tui.keys("C-u")
        tui.keys_literal(os.path.join(tui.dir, "sub", "..", "escaped.txt"))
        tui.keys("Enter")
        tui.attempt(tap, lambda s: target in dialog_text(s), "a path with .. shows where it resolves before writing")
        tap.check(not os.path.exists(target), "nothing written before the answer")
        tui.keys("y")
        tui.wait(r"wrote \d+ lines? to")
        tap.check(os.path.exists(target), "written there after yes")
        tui.keys("Escape")

        # ---- :console HOST opens the host's console
        hosts = pool.hosts()
        host = sorted(hosts.values(), key=lambda h: h["name_label"])[0]
        tui.keys("C-]", "b")
        tui.wait(lambda s: prompt not in s)
        tui.keys(":")
        tui.keys_literal("console " + host["name_label"])
        tui.keys("Enter")
        tui.attempt(tap, lambda s: f"[root@{host['hostname']} ~]#" in s,
                    ":console HOST opens the host's (dom0) console", timeout=30)
        tui.keys("C-]", "b")
        tui.wait(lambda s: "root@" not in s)
        tui.quit_and_check(tap)
    except (Timeout, RuntimeError) as e:
        tap.check(False, "the scenario ran to its end", e)
    finally:
        tui.close()
    tap.done()


if __name__ == "__main__":
    main()
