"""What :updates and a host's PCI screen remember across visits (each host's
updater answer, each device's dom0 access) has an owner that frees it when
xentui ends. LeakSanitizer counts memory a global still points to as in
use; with its globals left out of the root set (use_globals=0) such a
list, never freed, is reported, so the report must name neither file.
TAP output."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import Pool, Tap, Timeout, Tui, row_starting  # noqa: E402


def command(tui, name, ready):
    tui.keys(":")
    tui.keys_literal(name)
    tui.keys("Enter")
    return tui.wait(ready)


def leaks_from(report, files):
    """The leak reports (one per allocation) whose stack passes through one of files."""
    blocks = re.split(r"\n(?=(?:Direct|Indirect) leak of )", report)
    return [b for b in blocks if re.match(r"(?:Direct|Indirect) leak", b) and any(f in b for f in files)]


def main():
    tap = Tap()
    tui = Tui("staleowners", env={"NO_COLOR": "1", "LSAN_OPTIONS": "use_globals=0"}, cols=140, rows=36)
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())
        hosts = pool.hosts()
        names = sorted(rec["name_label"] for rec in hosts.values())

        command(tui, "updates", r"HOST.*UPDATES")
        tui.attempt(tap, lambda s: all(re.search(r"\s\d+\s", row_starting(s, n)) for n in names),
                    ":updates shows every host's answer")
        command(tui, "hosts", r"NAME.*STATE")
        tui.keys("/")
        tui.keys_literal(names[0])
        tui.keys("Enter")
        tui.keys("Enter")
        tui.wait(r"Host " + re.escape(names[0]))
        tui.keys("p")
        # every device's answer is in ("..." until then)
        tui.attempt(tap, lambda s: "DOM0 ACCESS" in s and re.search(r"\bdom0\b", s) and "..." not in s,
                    "the PCI screen shows the devices' dom0 access")
        tui.keys("C-c")
        # with use_globals=0 the C library's own buffers count as leaks: the status is LeakSanitizer's
        tui.attempt(tap, r"XENTUI-EXIT=\d+", "^C quits")
        report = tui.sanitizer_reports()
        tap.check("ERROR: AddressSanitizer" not in report and "runtime error" not in report,
                  "no memory error from xentui", report[-3000:])
        ours = leaks_from(report, ["screens/updates.c", "screens/host_pci.c"])
        tap.check(not ours, "nothing :updates or the PCI screen kept is left unfreed at the end",
                  "\n".join(ours)[-3000:])
    except (Timeout, RuntimeError, OSError) as e:
        tap.check(False, "the scenario ran to its end", e)
        print("# " + tui.screen().replace("\n", "\n# "))
    finally:
        tui.close()
    tap.done()


if __name__ == "__main__":
    main()
