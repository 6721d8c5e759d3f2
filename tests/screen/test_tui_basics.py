"""xentui --demo in tmux: the dashboard after login, `:` commands with Tab
completion, the VM list against the simulator's own records, the filter,
help, resizing, and quitting back to a clean shell. TAP output."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import Pool, Tap, Timeout, Tui, alive, row_starting  # noqa: E402


def names_in_list(screen):
    """The first column of the table under the NAME header."""
    lines = screen.split("\n")
    head = next((i for i, l in enumerate(lines) if l.startswith("NAME")), None)
    if head is None:
        return []
    cut = lines[head].find("POWER")
    out = []
    for line in lines[head + 1:]:
        name = line[:cut].strip() if cut > 0 else line.strip()
        if not name or name.startswith("nothing matches"):
            break
        out.append(name)
    return out


def main():
    tap = Tap()
    tui = Tui("basics")
    try:
        text = tui.attempt(tap, r"live", "the status line says the demo pool is live after login", timeout=40)
        pool = Pool(tui.demo())
        guests = pool.guests()
        hosts = pool.hosts()
        pool_name = next(iter(pool.call("pool.get_all_records").values()))["name_label"]
        if text:
            top = text.split("\n")[0]
            tap.check(pool_name in top and "demo" in top, "the status line names the pool", top)
            tap.check(all(h["name_label"] in text for h in hosts.values()), "the dashboard lists every host", text)
            tap.check(re.search(r"\b%d VMs\b" % len(guests), text) is not None,
                      "the dashboard counts the pool's VMs as the simulator does", text)
            tap.check("ALERTS" in text and "UPDATES_PENDING" in text, "the dashboard shows the pool's alerts", text)

        # :vms lists exactly the simulator's VMs (not templates, snapshots or dom0)
        tui.keys(":")
        tui.keys_literal("vms")
        tui.keys("Enter")
        text = tui.attempt(tap, r"^NAME.*POWER.*HOST", ":vms opens the VM list")
        if text:
            # the rows may come a frame after the header: wait for them (the checks below are unchanged)
            try:
                want = sorted(v["name_label"] for v in guests.values())
                text = tui.wait(lambda s: sorted(names_in_list(s)) == want, timeout=10)
            except Timeout:
                text = tui.screen()
            shown = names_in_list(text)
            want = sorted(v["name_label"] for v in guests.values())
            tap.check(sorted(shown) == want, "the list shows every VM of the pool, and only those",
                      f"shown {sorted(shown)}\nwant  {want}")
            ok = all(v["power_state"] in row_starting(text, v["name_label"]) for v in guests.values())
            tap.check(ok, "each row shows the VM's power state")
            ok = all(hosts[v["resident_on"]]["name_label"] in row_starting(text, v["name_label"])
                     for v in guests.values() if v["power_state"] == "Running")
            tap.check(ok, "running VMs show their host")

        # the filter applies as it is typed; Esc clears it
        tui.keys("/")
        tui.keys_literal("web")
        text = tui.attempt(tap, r"filter /web", "typing after / filters the list")
        if text:
            want = sorted(v["name_label"] for v in guests.values() if "web" in v["name_label"].lower())
            tap.check(sorted(names_in_list(text)) == want, "the filtered list holds the matching VMs only",
                      f"{names_in_list(text)} vs {want}")
        tui.keys("Enter")
        tui.keys("Escape")
        tui.attempt(tap, lambda s: "filter /" not in s and len(names_in_list(s)) == len(guests),
                    "Esc clears the filter")

        # ? lists the keys of this screen, from its key table
        tui.keys("?")
        text = tui.attempt(tap, r"Keys of VMs", "? opens the help of the current screen")
        if text:
            tap.check("Start the VM" in text and "Destroy" in text, "the help lists the screen's keys", text)
        tui.keys("PageDown")
        text = tui.attempt(tap, r"filter the list by text", "the help scrolls to the keys that work everywhere")
        if text:
            tap.check("sort by" in text and "power:running" in text,
                      "and shows the list's keys and the filter's syntax on the way", text)
        tui.keys("q")
        tui.attempt(tap, r"^NAME.*POWER", "q leaves the help")

        # `:` with Tab completion
        tui.keys(":")
        tui.keys_literal("ho")
        tui.keys("Tab")
        tui.attempt(tap, r"^:hosts\s*$", "Tab completes :ho to :hosts")
        tui.keys("Enter")
        text = tui.attempt(tap, r"^NAME.*STATE.*ADDRESS", ":hosts opens the host list")
        if text:
            tap.check(all("enabled" in row_starting(text, h["name_label"]) for h in hosts.values()),
                      "every host is listed as enabled", text)
        tui.keys(":")
        tui.keys_literal("backups")
        tui.keys("Enter")
        tui.attempt(tap, r"No backup jobs", ":backups opens the Backups screen, which says there is no job yet")

        # resize: 80x24 still works, smaller says so, and back
        tui.keys(":")
        tui.keys_literal("vms")
        tui.keys("Enter")
        tui.wait(r"^NAME.*POWER")
        tui.resize(80, 24)
        text = tui.attempt(tap, lambda s: len(s.rstrip("\n").split("\n")) <= 24 and "Help" in s.rstrip("\n").split("\n")[-1]
                           and "xentui" in s.split("\n")[0] and re.search(r"^NAME", s, re.M),
                           "at 80x24 the status line, list and key bar all fit")
        if text:
            tap.check(all(len(l) <= 80 for l in text.split("\n")), "no line is wider than 80 columns")
        tui.resize(70, 20)
        tui.attempt(tap, r"needs at least 80x24", "a terminal smaller than 80x24 gets a clear message")
        tui.resize(100, 30)
        tui.attempt(tap, lambda s: re.search(r"^NAME.*POWER.*HOST.*IP", s, re.M) and len(names_in_list(s)) == len(guests),
                    "back at 100x30 the list is whole again")

        # quit: back to the dashboard, q asks, Enter confirms, the shell is back
        tui.keys("Escape")
        tui.wait(r"Dashboard")
        tui.keys("q")
        tui.attempt(tap, r"Leave xentui\?", "q on the dashboard asks before quitting")
        tui.keys("Enter")
        text = tui.attempt(tap, r"XENTUI-EXIT=0", "xentui exits with status 0")
        tap.check(not tui.alternate_on(), "the terminal has left the alternate screen")
        if text:
            tap.check("Dashboard" not in text, "the shell's screen is back", text)
        try:
            from time import sleep, time
            deadline = time() + 5
            while time() < deadline and alive(tui.sim_pid):
                sleep(0.05)
        except Exception:
            pass
        tap.check(not alive(tui.sim_pid), "the demo's simulator is stopped on exit")
        reports = tui.sanitizer_reports()
        tap.check(not reports, "no sanitizer report (and no leak) from xentui", reports)
        err = tui.sim_stderr()
        tap.check("Sanitizer" not in err and "runtime error" not in err, "no sanitizer report from the simulator", err)
    except Timeout as e:
        tap.check(False, "the scenario ran to its end", e)
    finally:
        tui.close()
    tap.done()


if __name__ == "__main__":
    main()
