"""The VM list's filters and the rest of the VM actions, in xentui --demo,
checked against the simulator's own records: power:, host:, tag: and
their combinations (and !), the filter form, the syntax in the help; copy
to an SR chosen from a list; tags added and removed; the Console tab
saying what Enter does there (tests/screen/test_tui_console.py opens it). TAP output."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import Pool, Tap, Timeout, Tui  # noqa: E402


def names_in_list(screen):
    lines = screen.split("\n")
    head = next((i for i, l in enumerate(lines) if l.startswith("NAME")), None)
    if head is None:
        return []
    cut = lines[head].find("POWER")
    out = []
    for line in lines[head + 1:]:
        name = line[:cut].strip()
        if not name or name.startswith("nothing matches") or name == "(none)":
            break
        out.append(name)
    return out


def filter_to(tui, text):
    tui.keys("/")
    tui.keys("C-u")
    tui.keys_literal(text)
    tui.keys("Enter")


def check_filter(tap, tui, text, want, what):
    """Filters by text and compares the rows with the names the simulator gives."""
    filter_to(tui, text)
    want = sorted(want)
    try:
        screen = tui.wait(lambda s: f"filter /{text}" in s and sorted(names_in_list(s)) == want, timeout=10)
        tap.check(True, what)
        return screen
    except Timeout as e:
        tap.check(False, what, f"want {want}\n{e}")
        return None


def main():
    tap = Tap()
    tui = Tui("vmmore", env={"NO_COLOR": "1"})
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())
        guests = pool.guests()
        hosts = pool.hosts()
        tui.keys(":")
        tui.keys_literal("vms")
        tui.keys("Enter")
        tui.wait(r"^NAME.*POWER")

        def on_host(v):
            h = hosts.get(v["resident_on"])
            return h["name_label"] if h and v["power_state"] != "Halted" else ""

        check_filter(tap, tui, "power:running", [v["name_label"] for v in guests.values() if v["power_state"] == "Running"],
                     "power:running lists exactly the running VMs")
        check_filter(tap, tui, "host:xcp-ng-02", [v["name_label"] for v in guests.values() if on_host(v) == "xcp-ng-02"],
                     "host:xcp-ng-02 lists the VMs on that host")
        check_filter(tap, tui, "tag:prod", [v["name_label"] for v in guests.values() if any("prod" in t for t in v["tags"])],
                     "tag:prod lists the VMs tagged prod (no TAGS column needed)")
        check_filter(tap, tui, "power:running tag:prod",
                     [v["name_label"] for v in guests.values()
                      if v["power_state"] == "Running" and any("prod" in t for t in v["tags"])],
                     "terms combine: running and tagged prod")
        check_filter(tap, tui, "power:!halted", [v["name_label"] for v in guests.values() if v["power_state"] != "Halted"],
                     "power:!halted excludes the halted ones")

        # the filter form writes the same terms
        tui.keys("Escape")
        tags = sorted({t for v in guests.values() for t in v["tags"]})
        tui.keys("f")
        tui.attempt(tap, r"Filter VMs", "f opens the filter form")
        tui.keys("Right")  # power: running
        tui.keys("Tab", "Tab")
        tui.keys(*(["Right"] * (tags.index("prod") + 1)))
        tui.keys("Enter")
        tui.attempt(tap, r"filter /power:running tag:prod", "the form sets / power:running tag:prod")

        # the syntax is in ? help
        tui.keys("Escape")
        tui.keys("?")
        tui.wait(r"Keys of VMs")
        # paged through (the page also lists every command after it)
        def syntax(s):
            return "power:running" in s and "host:xcp-ng-02" in s and "tag:prod" in s
        seen = syntax(tui.screen())
        for _ in range(12):
            if seen:
                break
            tui.keys("NPage")
            try:
                tui.wait(syntax, timeout=1)
                seen = True
            except Timeout:
                pass
        tap.check(seen, "? shows the filter's syntax", tui.screen())
        tui.keys("q")

        # copy to an SR chosen from the list
        srs = pool.call("SR.get_all_records")
        eligible = sorted((s["name_label"], r) for r, s in srs.items()
                          if s["content_type"] != "iso" and s["type"] != "udev" and "vdi_create" in s["allowed_operations"])
        target_name, target = next((n, r) for n, r in eligible if n == "NFS storage")
        name = sorted(v["name_label"] for v in guests.values() if v["power_state"] == "Halted"
                      and sum(v["name_label"] in w["name_label"] for w in guests.values()) == 1)[0]
        src_ref = next(r for r, v in guests.items() if v["name_label"] == name)
        filter_to(tui, name)
        tui.wait(lambda s: names_in_list(s) == [name])
        tui.keys("y")
        text = tui.attempt(tap, r"Copy to an SR", "y asks onto which SR to copy")
        if text:
            tap.check(all(n in text for n, _ in eligible) and "ISO library" not in text,
                      "listing the SRs a disk can go on, not the ISO libraries", text)
        tui.keys(*(["Down"] * [r for _, r in eligible].index(target)))
        tui.keys("Enter")
        tui.attempt(tap, r"A full copy of", "then asks for the copy's name")
        tui.keys("C-u")
        tui.keys_literal(name + "-copy")
        tui.keys("Enter")
        tui.attempt(tap, re.escape(f"Copy VM '{name}' to '{name}-copy' on {target_name}: done"),
                    "the copy is done (message)", timeout=30)
        copies = [(r, v) for r, v in pool.guests().items() if v["name_label"] == name + "-copy"]
        tap.check(len(copies) == 1, "the simulator has the copy", [v["name_label"] for _, v in copies])
        if copies:
            vdis = [pool.call("VBD.get_record", b)["VDI"] for b in copies[0][1]["VBDs"]
                    if pool.call("VBD.get_record", b)["type"] == "Disk"]
            tap.check(vdis and all(pool.call("VDI.get_record", d)["SR"] == target for d in vdis),
                      f"its disks are on {target_name}", vdis)
        tap.check(pool.vm(src_ref)["name_label"] == name, "the original is still there")

        # tags: add one, then remove it
        tui.keys("t")
        tui.attempt(tap, r"\+ Add a tag", "t lists the VM's tags and offers to add one")
        tui.keys("Enter")
        tui.wait(r"Add a tag")
        tui.keys_literal("xentui-test")
        tui.keys("Enter")
        tui.attempt(tap, re.escape(f"Tag VM '{name}' with 'xentui-test': done"), "the tag is added (message)")
        tap.check("xentui-test" in pool.vm(src_ref)["tags"], "the simulator has the tag", pool.vm(src_ref)["tags"])
        filter_to(tui, "tag:xentui-test")
        tui.attempt(tap, lambda s: names_in_list(s) == [name], "tag:xentui-test finds it at once")
        tui.keys("t")
        tui.wait(r"\+ Add a tag")
        tui.keys(*(["Down"] * len(pool.vm(src_ref)["tags"])))
        tui.keys("Enter")
        tui.attempt(tap, r"Remove the tag 'xentui-test'", "choosing the tag asks before removing it")
        tui.keys("y")
        tui.attempt(tap, re.escape(f"Remove tag 'xentui-test' from VM '{name}': done"), "the tag is removed (message)")
        tap.check("xentui-test" not in pool.vm(src_ref)["tags"], "the simulator no longer has it", pool.vm(src_ref)["tags"])

        # the Console tab says what Enter does (the console itself: test_tui_console.py)
        filter_to(tui, name)
        tui.wait(lambda s: names_in_list(s)[:1] == [name])  # the copy sorts after it
        tui.keys("Enter")
        tui.wait(r"1 General")
        tui.keys("5")
        power = pool.vm(src_ref)["power_state"]
        want = r"Enter opens the VM's console" if power == "Running" else r"not running, so it has no console now"
        text = tui.attempt(tap, want, f"the Console tab says what Enter does for a {power} VM")
        if text:
            tap.check("5 Console" in text, "on the Console tab", text)

        tui.keys(":")
        tui.keys_literal("quit")
        tui.keys("Enter")
        tui.attempt(tap, r"XENTUI-EXIT=0", ":quit leaves with status 0")
        reports = tui.sanitizer_reports()
        tap.check(not reports, "no sanitizer report (and no leak) from xentui", reports)
        err = tui.sim_stderr()
        tap.check("Sanitizer" not in err and "runtime error" not in err, "no sanitizer report from the simulator", err)
    except (Timeout, RuntimeError, StopIteration, IndexError, ValueError) as e:
        tap.check(False, "the scenario ran to its end", e)
    finally:
        tui.close()
    tap.done()


if __name__ == "__main__":
    main()
