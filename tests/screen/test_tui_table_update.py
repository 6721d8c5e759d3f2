#!/usr/bin/env python3
"""The lists put their rows again on every refresh and skip the sanitiser
for cells made from the same bytes (src/ui/table.c): a VM renamed in the
pool (read back through the simulator with xmlrpc) shows its new name in
:vms and :top, sanitised when it holds a bidi override or a C1 control,
plain when renamed back, and sanitised again when renamed to the same
unsafe bytes; the :top figures keep changing in place. TAP."""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))

from tuitest import Pool, Tap, Timeout, Tui, cmd, filter_to  # noqa: E402

UNSAFE = "tblupd-\u202eevil\u0085x"   # an RLO override and a C1 control
SHOWN = "tblupd-?evil?x"              # what the sanitiser makes of them
PLAIN = "tblupd-plain"


def rows_with(screen, word):
    """The list's rows starting with word (not the header, which shows the filter)."""
    return [line for line in screen.split("\n") if line.lstrip().startswith(word)]


def main():
    tap = Tap()
    tui = Tui("table-update", cols=140, rows=30, env={"NO_COLOR": "1"})
    try:
        url = tui.demo()
        tui.wait(r"live", timeout=30)
        pool = Pool(url)
        running = {r: v for r, v in pool.guests().items() if v["power_state"] == "Running"}
        ref = sorted(running, key=lambda r: running[r]["name_label"])[0]
        old = running[ref]["name_label"]

        cmd(tui, "vms")
        tui.wait(r"^NAME")
        filter_to(tui, "tblupd")
        for step, (name, want) in enumerate([(UNSAFE, SHOWN), (PLAIN, PLAIN), (UNSAFE, SHOWN)]):
            pool.call("VM.set_name_label", ref, name)
            tap.check(pool.vm(ref)["name_label"] == name, f"step {step}: the pool holds the new name {name!r}")
            s = tui.attempt(tap, lambda s: any(line.lstrip().startswith(want) for line in rows_with(s, "tblupd")),
                            f"step {step}: :vms shows {want!r}")
            if s:
                tap.check(not re.search("[\u202e\u0085]", s), f"step {step}: no override or control on screen",
                          rows_with(s, "tblupd"))

        # :top, the same row put again every 5 s
        cmd(tui, "top")
        tui.wait(r"^NAME.*CPU", timeout=30)
        filter_to(tui, "tblupd")
        s = tui.attempt(tap, lambda s: any(line.lstrip().startswith(SHOWN) and re.search(r"\d+\.\d%", line)
                                           for line in rows_with(s, "tblupd")),
                        ":top shows the sanitised name with a CPU figure", timeout=30)
        if s:
            first = rows_with(s, "tblupd")[0]
            s = tui.attempt(tap, lambda s: rows_with(s, "tblupd") and rows_with(s, "tblupd")[0] != first,
                            ":top's figures change at a later refresh, the name staying sanitised", timeout=20)
            if s:
                tap.check(rows_with(s, "tblupd")[0].lstrip().startswith(SHOWN), ":top's row keeps the name",
                          rows_with(s, "tblupd"))
        pool.call("VM.set_name_label", ref, PLAIN)
        tui.attempt(tap, lambda s: any(line.lstrip().startswith(PLAIN) for line in rows_with(s, "tblupd")),
                    ":top shows the name changed back", timeout=20)
        pool.call("VM.set_name_label", ref, old)
        tui.quit_and_check(tap)
    except Timeout as e:
        tap.check(False, "the run answered in time", e)
    finally:
        tui.close()
    tap.done()


if __name__ == "__main__":
    main()
