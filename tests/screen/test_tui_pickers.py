"""The pickers offer only what xapi accepts (issue 18, "Choosing things"),
in xentui --demo (three hosts, each with its own "Local storage", and NFS
shared by all), checked against the simulator's own records. A shared SR
attached to two hosts of three holds a copy of a halted VM:

- o (start on) lists exactly the hosts that can run it (the two that see
  its SR, as VM.get_possible_hosts says), and starting it on one works;
- m (migrate) on it, running, lists the other host that sees the SR only;
- m on a VM running on its host's local SR lists nothing: a sentence says
  its disk is on that host's local storage, and the VM stays put;
- o on a halted VM on one host's local SR lists that host only, and with
  that host disabled, s says so in a sentence and starts nothing;
- y (copy), the New disk form and the New VM form name the host beside
  each local SR ("Local storage (xcp-ng-01)"), and the New disk form of a
  VM running on a host offers only the SRs that host sees. TAP output."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import Pool, Tap, Timeout, Tui, row_starting  # noqa: E402


class Layout:
    """Who sees what, read from the simulator: SRs, PBDs, hosts, disks."""

    def __init__(self, pool):
        self.pool = pool
        self.hosts = pool.hosts()
        self.srs = pool.call("SR.get_all_records")
        self.pbds = pool.call("PBD.get_all_records")

    def name(self, host):
        return self.hosts[host]["name_label"]

    def sees(self, host, sr):
        return any(p["host"] == host and p["SR"] == sr and p["currently_attached"] for p in self.pbds.values())

    def label(self, sr):
        """The SR as a picker should name it: its host beside a local SR."""
        rec = self.srs[sr]
        if not rec["shared"] and len(rec["PBDs"]) == 1:
            return "%s (%s)" % (rec["name_label"], self.name(self.pbds[rec["PBDs"][0]]["host"]))
        return rec["name_label"]

    def disk_srs(self, vm):
        out = set()
        for vbd in self.pool.vm(vm)["VBDs"]:
            b = self.pool.call("VBD.get_record", vbd)
            if not b["empty"] and b["VDI"] != "OpaqueRef:NULL":
                out.add(self.pool.call("VDI.get_SR", b["VDI"]))
        return out

    def can_run(self, vm, host):
        return self.hosts[host]["enabled"] and all(self.sees(host, sr) for sr in self.disk_srs(vm))

    def disk_takers(self):
        """SRs a new disk can go on (as the pickers choose them)."""
        return {r for r, s in self.srs.items() if s["content_type"] != "iso" and s["type"] != "udev"
                and "vdi_create" in s["allowed_operations"]}


def box(screen):
    """The text inside the dialog box on the screen (its frame cut off), one
    string per row; [] when no box shows."""
    lines = screen.split("\n")
    top = next((i for i, l in enumerate(lines) if "┌" in l and "┐" in l), None)
    if top is None:
        return []
    left, right = lines[top].index("┌"), lines[top].rindex("┐")
    out = []
    for line in lines[top + 1:]:
        if "└" in line[left:right + 1]:
            break
        out.append(line[left + 1:right].strip(" │"))
    return out


def box_text(screen):
    """The box's rows as one sentence (wrapped lines joined)."""
    return re.sub(r"\s+", " ", " ".join(box(screen))).strip()


def only(tui, name):
    tui.keys("/")
    tui.keys("C-u")
    tui.keys_literal(name)
    tui.keys("Enter")
    return tui.wait(lambda s: row_starting(s, name) and "1 of" in s.split("\n")[1])


def listed_hosts(screen, layout):
    """The host names the dialog box lists, one per row."""
    names = {h["name_label"] for h in layout.hosts.values()}
    return sorted(n for row in box(screen) for n in names if row.startswith(n + " ") or row == n)


def cycle(tui, label_of, n=12):
    """Presses Right until a choice field shows a label seen before; the
    labels, in order (label_of reads the field from the screen)."""
    seen = []
    for _ in range(n):
        shown = label_of(tui.screen())
        if shown in seen:
            break
        seen.append(shown)
        tui.keys("Right")
        tui.wait(lambda s, old=shown: label_of(s) != old, timeout=5)
    return seen


def field(screen, label):
    """The choice shown after a form label: "< text >" -> text."""
    for line in screen.split("\n"):
        m = re.search(re.escape(label) + r"\s+<\s?(.*?)\s?>", line)
        if m:
            return m.group(1).strip()
    return ""


def main():
    tap = Tap()
    tui = Tui("pickers", env={"NO_COLOR": "1"}, cols=150, rows=40)
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())
        lay = Layout(pool)
        byname = sorted(lay.hosts, key=lay.name)
        h1, h2, h3 = byname[:3]
        guests = pool.guests()

        # ---- a shared SR that h3 does not see: attached on h1 and h2 only
        part = pool.call("SR.create", h1, {"device": "/dev/sdq"}, "0", "Two-host SAN", "", "lvm", "user", True, {})
        pbd3 = next(p for p in pool.call("SR.get_PBDs", part) if pool.call("PBD.get_host", p) == h3)
        pool.call("PBD.unplug", pbd3)
        src = next(r for r, v in sorted(guests.items(), key=lambda kv: kv[1]["name_label"])
                   if v["power_state"] == "Halted" and all(lay.srs[s]["shared"] for s in lay.disk_srs(r)))
        copy = pool.call("VM.copy", src, "pk-two-host", part)
        lay = Layout(pool)
        tap.check(lay.disk_srs(copy) == {part} and not lay.sees(h3, part),
                  "sim: the copy's disks are on the SR h1 and h2 see, h3 does not", lay.disk_srs(copy))

        tui.keys(":")
        tui.keys_literal("vms")
        tui.keys("Enter")
        tui.wait(r"^NAME.*POWER")

        # ---- o: the hosts that can run it, as xapi says
        possible = sorted(lay.name(h) for h in pool.call("VM.get_possible_hosts", copy))
        want = sorted(lay.name(h) for h in lay.hosts if lay.can_run(copy, h))
        tap.check(possible == want == sorted([lay.name(h1), lay.name(h2)]),
                  "sim: exactly h1 and h2 can run the copy", (possible, want))
        only(tui, "pk-two-host")
        tui.keys("o")
        screen = tui.attempt(tap, r"Start 'pk-two-host' on which host", "o asks on which host")
        got = listed_hosts(screen or "", lay)
        tap.check(got == want, "o lists exactly the hosts that see its disks", (got, want, box(screen or "")))
        tui.keys("Enter")  # the first listed: h1 by name
        try:
            pool.wait(lambda: pool.vm(copy)["power_state"] == "Running", what="the copy to run")
            tap.check(pool.vm(copy)["resident_on"] == h1, "sim: the copy runs on the host chosen",
                      lay.name(pool.vm(copy)["resident_on"]))
        except Timeout as e:
            tap.check(False, "sim: the copy runs on the host chosen", (e, tui.screen()))

        # ---- m on it: only the other host that sees its SR
        tui.wait(lambda s: "Running" in row_starting(s, "pk-two-host"))
        tui.keys("m")
        screen = tui.attempt(tap, r"live to which host\?", "m asks where to")
        got = listed_hosts(screen or "", lay)
        tap.check(got == [lay.name(h2)], "m lists only the other host that sees its disks (not h3)",
                  (got, box(screen or "")))
        tui.keys("Escape")
        tui.wait(lambda s: not box(s))

        # ---- m on a VM on its host's local SR: why, instead of a host that fails
        guests = pool.guests()
        local = next(((r, v) for r, v in sorted(guests.items(), key=lambda kv: kv[1]["name_label"])
                      if v["power_state"] == "Running" and lay.disk_srs(r)
                      and all(not lay.srs[s]["shared"] for s in lay.disk_srs(r))
                      and sum(v["name_label"] in w["name_label"] for w in guests.values()) == 1), None)
        if local:
            lref, lvm = local
            home = lvm["resident_on"]
            only(tui, lvm["name_label"])
            tui.keys("m")
            expect = ("%s's disk is on %s's local storage: no other host can run it without moving the disk"
                      % (lvm["name_label"], lay.name(home)))
            screen = tui.attempt(tap, lambda s: expect in box_text(s),
                                 "m on a VM on its host's local SR says why no host is offered")
            shown = tui.screen()
            tap.check("live to which host" not in shown and not listed_hosts(shown, lay), "and offers no host",
                      box(shown))
            tui.keys("Enter")
            tui.wait(lambda s: not box(s))
            tap.check(pool.vm(lref)["resident_on"] == home, "sim: the VM stays where it was")
        else:
            tap.check(False, "the demo pool has a VM running on its host's local SR")

        # ---- o on a halted VM on one host's local SR: that host only
        halted = next(((r, v) for r, v in sorted(guests.items(), key=lambda kv: kv[1]["name_label"])
                       if v["power_state"] == "Halted" and len(lay.disk_srs(r)) == 1
                       and not lay.srs[next(iter(lay.disk_srs(r)))]["shared"]
                       and sum(v["name_label"] in w["name_label"] for w in guests.values()) == 1), None)
        if halted:
            href, hvm = halted
            owner = [lay.name(h) for h in lay.hosts if lay.can_run(href, h)]
            only(tui, hvm["name_label"])
            tui.keys("o")
            screen = tui.attempt(tap, r"on which host", "o on a VM on a local SR asks on which host")
            got = listed_hosts(screen or "", lay)
            tap.check(len(owner) == 1 and got == owner, "and lists the one host whose local SR holds its disk",
                      (got, owner))
            tui.keys("Escape")
            tui.wait(lambda s: not box(s))

            # ---- s with that host disabled: why, instead of xapi's NO_HOSTS_AVAILABLE
            oref = next(h for h in lay.hosts if lay.can_run(href, h))
            pool.call("host.disable", oref)
            time.sleep(1.5)  # the event reaches xentui's cache
            tui.keys("s")
            expect = "%s's disk is on %s's local storage, and %s is disabled" % (hvm["name_label"], owner[0], owner[0])
            tui.attempt(tap, lambda s: expect in box_text(s), "s on it with its host disabled says why it cannot start")
            tui.keys("Enter")
            tui.wait(lambda s: not box(s))
            tap.check(pool.vm(href)["power_state"] == "Halted", "sim: it stays halted")
            pool.call("host.enable", oref)

            # ---- y: the copy picker names the host beside each local SR
            tui.keys("y")
            screen = tui.attempt(tap, r"Copy to an SR", "y asks onto which SR to copy")
            rows = box(screen or "")
            locals_ = sorted(lay.label(s) for s in lay.disk_takers() if not lay.srs[s]["shared"])
            tap.check(len(locals_) >= 3 and all(any(r.startswith(l + " ") for r in rows) for l in locals_),
                      "each local SR is listed with its host beside it", (locals_, rows))
            tap.check(not any(re.match(r"Local storage\s{2,}", r) for r in rows),
                      "no bare, identical 'Local storage' rows", rows)
            tui.keys("Escape")
            tui.wait(lambda s: not box(s))
        else:
            tap.check(False, "the demo pool has a halted VM on a local SR")

        # ---- New disk on a VM running on h1's local SR... or any running VM: the SRs its host sees
        guests = pool.guests()
        runner = local[0] if local else next(r for r, v in guests.items() if v["power_state"] == "Running")
        rname = guests[runner]["name_label"]
        rhost = guests[runner]["resident_on"]
        only(tui, rname)
        tui.keys("Enter")
        tui.wait(r"Disks")
        tui.keys("2")
        tui.wait(r"^POS.*NAME.*SIZE")
        tui.keys("a")
        tui.attempt(tap, r"New disk", "a opens the New disk form")
        tui.keys("Tab", "Tab")  # name, size, SR

        def sr_field(s):
            return re.sub(r", [0-9.]+ \w+ free$", "", field(s, "SR"))
        shown = cycle(tui, sr_field)
        want = sorted(lay.label(s) for s in lay.disk_takers() if lay.sees(rhost, s))
        tap.check(sorted(shown) == want,
                  "the New disk form offers exactly the SRs %s sees, local ones with the host" % lay.name(rhost),
                  (shown, want))
        tap.check(not any(lay.label(s) in shown for s in lay.disk_takers() if not lay.sees(rhost, s)),
                  "and none it cannot see (other hosts' local SRs, the two-host SAN from h3)", shown)
        tui.keys("Escape")
        tui.wait(lambda s: not box(s))
        tui.keys("Escape")
        tui.wait(r"^NAME.*POWER")

        # ---- New VM: the Disk SR choice names the host beside each local SR
        tui.keys("n")
        tui.wait(r"^NAME.*VCPUS.*RAM")
        tui.keys("/")
        tui.keys("C-u")
        tui.keys_literal("Bookworm")
        tui.keys("Enter")
        tui.wait(lambda s: "1 of" in s)
        tui.keys("Enter")
        tui.attempt(tap, r"From template", "Enter on a template opens the New VM form")
        for _ in range(10):
            tui.keys("Tab")  # to the first disk's SR

        def disk_sr(s):
            return field(s, "Disk SR")
        shown = cycle(tui, disk_sr)
        locals_ = sorted(lay.label(s) for s in lay.disk_takers() if not lay.srs[s]["shared"])
        hosts_named = sorted(m.group(1) for l in shown for m in [re.match(r"Local storage \(([^,]+), .* free\)$", l)]
                             if m)
        tap.check(len(shown) == len(set(shown)) and hosts_named == sorted(re.sub(r".*\((.*)\)", r"\1", l)
                                                                          for l in locals_),
                  "the New VM form names each local SR's host, no two choices alike", (shown, locals_))
        tui.keys("Escape")
        tui.wait(lambda s: not box(s))

        tui.quit_and_check(tap)
    except (Timeout, RuntimeError, StopIteration, KeyError) as e:
        tap.check(False, "the scenario ran to its end", e)
        try:
            print("# " + tui.screen().replace("\n", "\n# "))
        except RuntimeError:
            pass
    finally:
        tui.close()
    tap.done()


if __name__ == "__main__":
    main()
