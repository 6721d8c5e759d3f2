"""The detail screens (a host, a VM, a network, an SR) share one way to
show an object (screens/detail.c): the same tab keys on each (Tab and
Right forward, Shift-Tab and Left back, a tab's number), a title naming the
object as the pool does, and the same sentence when the object leaves the
pool while its screen is open. Checked in xentui --demo against the
simulator's records. TAP output."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import Pool, Tap, Timeout, Tui  # noqa: E402


def cmd(tui, name):
    tui.keys(":")
    tui.keys_literal(name)
    tui.keys("Enter")


def only(tui, text):
    """Filters the list down to the rows matching text."""
    tui.keys("/")
    tui.keys("C-u")
    tui.keys_literal(text)
    tui.keys("Enter")


def title(screen):
    return screen.split("\n")[1]


def main():
    tap = Tap()
    tui = Tui("detail", env={"NO_COLOR": "1"}, cols=130, rows=34)
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())

        # ---- a host: its name in the title, tabs by number, Left, Tab
        hosts = pool.call("host.get_all_records")
        name = sorted(v["name_label"] for v in hosts.values())[0]
        cmd(tui, "hosts")
        tui.wait(r"^NAME.*STATE", timeout=20)
        only(tui, name)
        tui.wait(lambda s: re.search(r"^NAME.*\n" + re.escape(name) + r"\s", s, re.M), timeout=10)
        tui.keys("Enter")
        tui.attempt(tap, lambda s: title(s).startswith(" Host " + name), "a host's title names it as the pool does")
        tui.keys("4")
        tui.attempt(tap, r"DEVICE▲?\s+MAC\s+IP", "4 shows the host's fourth tab (NICs)")
        tui.keys("Left")
        tui.attempt(tap, r"Running here, largest first", "Left goes back one tab (Memory)")
        tui.keys("Tab")
        tui.attempt(tap, r"DEVICE▲?\s+MAC\s+IP", "Tab goes forward one tab (NICs again)")
        tui.keys("1")
        tui.attempt(tap, r"Pool master", "1 shows General")
        tui.keys("BTab")
        tui.attempt(tap, r"^\s*1 General.*Metrics", "Shift-Tab from the first tab wraps to the last")
        tui.keys("Escape", "Escape")

        # ---- a network made for this test: the same keys, then it goes away
        net = pool.call("network.create", {"name_label": "detail-net", "name_description": "for the tab test",
                                           "MTU": 1500, "other_config": {}, "tags": []})
        cmd(tui, "networks")
        tui.wait(r"detail-net", timeout=20)
        only(tui, "detail-net")
        tui.wait(lambda s: "1 network" in s or "1 of" in s, timeout=10)
        tui.keys("Enter")
        tui.attempt(tap, lambda s: title(s).startswith(" Network detail-net"), "a network's title names it")
        tui.keys("Right")
        tui.attempt(tap, r"HOST▲?\s+DEVICE\s+LINK", "Right shows a network's NICs tab (no arrow took it before)")
        tui.keys("3")
        tui.attempt(tap, r"VM▲?\s+DEVICE\s+MAC\s+ATTACHED", "3 shows its VIFs tab")
        tui.keys("Left", "Left")
        tui.attempt(tap, r"Bridge\s+xapi", "Left twice is back on General, with the bridge xapi named")
        pool.call("network.destroy", net)
        screen = tui.attempt(tap, r"This network is no longer in the pool \(Esc goes back\)\.",
                             "a network destroyed meanwhile is said to be gone, in the shared sentence")
        tap.check(screen and title(screen).startswith(" Network (gone)"), "and its title says (gone)",
                  screen and title(screen))
        tui.keys("Escape", "Escape")

        # ---- a VM: the tab keys, and a title with its power state
        vms = pool.guests()
        ref, vm = sorted(vms.items(), key=lambda kv: kv[1]["name_label"])[0]
        cmd(tui, "vms")
        tui.wait(r"^NAME", timeout=20)
        only(tui, vm["name_label"])
        # the first name in order: the first row, whatever else the filter keeps
        tui.wait(lambda s: re.search(r"^NAME.*\n" + re.escape(vm["name_label"]) + r"\s", s, re.M), timeout=10)
        tui.keys("Enter")
        tui.attempt(tap, lambda s: re.match(r" VM " + re.escape(vm["name_label"]) + r" . " + vm["power_state"],
                                            title(s)),
                    "a VM's title names it and its power state as the pool has them")
        tui.keys("2")
        tui.attempt(tap, r"POS▲?\s+NAME\s+SIZE\s+SR", "2 shows the VM's Disks")
        tui.keys("Left")
        tui.attempt(tap, r"Power state", "Left goes back to General")
        tui.keys("Escape", "Escape")

        # ---- an SR: no tabs, the same title
        srs = pool.call("SR.get_all_records")
        sr = next(v for v in srs.values() if v["type"] != "iso" and v["content_type"] != "iso")
        cmd(tui, "storage")
        tui.wait(re.escape(sr["name_label"]), timeout=20)
        only(tui, sr["name_label"])
        tui.keys("Enter")
        tui.attempt(tap, lambda s: title(s).startswith(" SR " + sr["name_label"]) and "Disks:" in s,
                    "an SR's title names it, its disks below")
        tui.quit_and_check(tap)
    except Timeout as e:
        tap.check(False, "the scenario ran to its end", e)
    finally:
        tui.close()
    tap.done()


if __name__ == "__main__":
    main()
