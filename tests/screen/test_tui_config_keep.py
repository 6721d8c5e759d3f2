"""Saving from :servers keeps what a person wrote (issue 19): the example
configuration, reached through a symlink as dotfiles keep it, gets a server
added and one removed through the Servers screen; every line outside the
servers list, every comment, and the servers left alone stay as written,
byte for byte, and the link stays a link. TAP output."""
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import ROOT, Tap, Timeout, Tui  # noqa: E402

EXAMPLE = os.path.join(ROOT, "config", "xentui.conf.example")


def read(path):
    with open(path) as f:
        return f.read()


def missing_lines(before, after):
    """The lines of before not found, in order, in after (nothing lost: empty)."""
    rest = after.split("\n")
    lost, k = [], 0
    for line in before.split("\n"):
        j = k
        while j < len(rest) and rest[j] != line:
            j += 1
        if j == len(rest):
            lost.append(line)
        else:
            k = j + 1
    return lost


def outside_servers(text):
    """The text with its servers list cut out (what :servers must never touch)."""
    m = re.search(r"^servers = \(.*?^\);\n", text, re.M | re.S)
    return text[:m.start()] + text[m.end():] if m else text


def main():
    tap = Tap()
    tmp = tempfile.mkdtemp(prefix="xentui-config-keep-")
    dotfiles = os.path.join(tmp, "dotfiles")
    os.makedirs(dotfiles)
    target = os.path.join(dotfiles, "xentui.conf")
    shutil.copy(EXAMPLE, target)
    link = os.path.join(tmp, "config")
    os.symlink("dotfiles/xentui.conf", link)
    original = read(EXAMPLE)
    comments = [l for l in original.split("\n") if l.strip().startswith("#")]
    # the example's servers: no password command or address of its own
    # should run while the test looks at the file
    tui = Tui("config-keep", args=("-c", link), env={"NO_COLOR": "1", "PATH": "/nonexistent"}, cols=110, rows=30)
    try:
        tui.wait(r"home", timeout=30)
        tui.keys(":")
        tui.keys_literal("servers")
        tui.keys("Enter")
        tui.attempt(tap, lambda s: re.search(r"^lab ", s, re.M) and re.search(r"^home ", s, re.M),
                    ":servers lists the example's servers")
        tui.keys("a")
        tui.attempt(tap, r"Add server", "a opens the form")
        tui.keys_literal("extra")
        tui.keys("Tab")
        tui.keys_literal("127.0.0.1:9")
        tui.keys("Enter")
        tui.attempt(tap, r"extra saved", "the new server is saved")
        saved = read(target)
        tap.check(os.path.islink(link) and os.readlink(link) == "dotfiles/xentui.conf",
                  "the configuration is still a symlink to the same file", os.readlink(link) if os.path.islink(link) else "not a link")
        tap.check(re.search(r'name = "extra";', saved) and '"https://127.0.0.1:9"' in saved,
                  "the target file has the new server", saved)
        lost = [l for l in comments if l not in saved.split("\n")]
        tap.check(not lost, f"all {len(comments)} comment lines of the example survive the save", lost)
        lost = missing_lines(original, saved)
        tap.check(not lost, "every line of the example is still there, in order", lost)
        tap.check(len(saved) > len(original), f"the file grew ({len(original)} -> {len(saved)} bytes)")

        # remove extra again (sorted by name, it is first): the file is the example again
        tui.keys("Home")
        tui.keys("D")
        tui.attempt(tap, r"Remove extra", "D asks before removing extra")
        tui.keys("y")
        tui.attempt(tap, lambda s: "extra removed" in s and not re.search(r"^extra ", s, re.M), "extra is removed")
        tap.check(read(target) == original, "the file is byte for byte the example again",
                  missing_lines(original, read(target)))

        # remove lab (the last row): its lines go, nothing outside the list changes
        tui.keys("End")
        tui.keys("D")
        tui.attempt(tap, r"Remove lab", "D asks before removing lab")
        tui.keys("y")
        tui.attempt(tap, lambda s: "lab removed" in s, "lab is removed")
        after = read(target)
        tap.check(not re.search(r'name = "lab";', after) and 'name = "home";' in after,
                  "the file lost lab and kept home", after)
        tap.check(outside_servers(after) == outside_servers(original),
                  "everything outside the servers list is byte for byte the example's",
                  missing_lines(outside_servers(original), outside_servers(after)))
        block = re.search(r"  \{\n    name = \"home\";.*?\n  \}", original, re.S).group(0)
        tap.check(block in after, "the untouched server home is kept as written", after)
        lost = [l for l in comments if l not in after.split("\n")]
        tap.check(not lost, "and still every comment", lost)
        st = os.stat(target)
        tap.check(st.st_mode & 0o777 == 0o600, "the file is readable by its owner only", oct(st.st_mode))

        tui.keys(":")
        tui.keys_literal("quit")
        tui.keys("Enter")
        tui.wait(lambda s: "XENTUI-EXIT=" in s or "Quit" in s, timeout=20)
        if "XENTUI-EXIT=" not in tui.screen():
            tui.keys("y")
        tui.attempt(tap, r"XENTUI-EXIT=0", ":quit leaves with status 0")
        reports = tui.sanitizer_reports()
        tap.check(not reports, "no sanitizer report (and no leak) from xentui", reports)
    except (Timeout, RuntimeError) as e:
        tap.check(False, "the scenario ran to its end", e)
    finally:
        tui.close()
        shutil.rmtree(tmp, ignore_errors=True)
    tap.done()


if __name__ == "__main__":
    main()
