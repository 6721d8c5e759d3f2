"""Two pools at once: xentui --demo plus a second simulator given as a
server of the configuration file (autoconnect, its password from an
environment variable). Both pools' VMs and hosts are listed, with a POOL
column; an action on a VM of one pool changes that simulator only; the
status line names the selected VM's pool; disconnecting one pool takes
its rows away. The second simulator runs with the demo's seed on purpose:
both pools then hold the same names and the same refs, so rows and
actions must be told apart by pool, not by ref. TAP output."""
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import LOGS, Pool, Sim, Tap, Timeout, Tui  # noqa: E402


def table_rows(screen):
    """The rows of the table on screen as dicts, cut at the header's column starts."""
    lines = screen.split("\n")
    head = next((i for i, l in enumerate(lines) if l.startswith("NAME")), None)
    if head is None:
        return []
    titles = [(m.start(), m.group(0).rstrip("▲▼^v")) for m in re.finditer(r"\S+", lines[head])]
    rows = []
    for line in lines[head + 1:]:
        if not line.strip() or line.startswith("  nothing matches"):
            break
        row = {}
        for k, (start, title) in enumerate(titles):
            end = titles[k + 1][0] if k + 1 < len(titles) else len(line)
            row[title] = line[start:end].strip()
        rows.append(row)
    return rows


def main():
    tap = Tap()
    sim = Sim("pools")
    # the configuration file is read at the start: write it before xentui runs
    home = os.path.join(LOGS, f"screen-pools-{os.getpid()}")
    shutil.rmtree(home, ignore_errors=True)
    os.makedirs(os.path.join(home, "config", "xentui"))
    with open(os.path.join(home, "config", "xentui", "config"), "w") as f:
        f.write('servers = (\n  { name = "lab"; url = "%s"; password_env = "XENTUI_LAB_PW";\n'
                '    fingerprint = "%s"; autoconnect = true; }\n);\n' % (sim.url, sim.fingerprint))
    tui = Tui("pools", env={"XENTUI_LAB_PW": "xapi-sim", "NO_COLOR": "1"}, fresh=False)
    try:
        text = tui.attempt(tap, lambda s: re.search(r"^ demo\s.*20 VMs", s, re.M) and re.search(r"^ lab\s.*20 VMs", s, re.M),
                           "the dashboard has a line for each pool, both loaded", timeout=60)
        if text:
            tap.check("2 pools" in text.split("\n")[0], "the status line counts two pools", text.split("\n")[0])
            hosts = [r for r in table_rows(text.replace("HOST ", "NAME ", 1)) if r.get("NAME")]
            tap.check(sorted((r["NAME"], r["POOL"]) for r in hosts)
                      == sorted((h, p) for h in ("xcp-ng-01", "xcp-ng-02", "xcp-ng-03") for p in ("demo", "lab")),
                      "the dashboard lists each pool's hosts with their pool", text)
        demo = Pool(tui.demo())
        lab = Pool(sim.url)
        demo_guests, lab_guests = demo.guests(), lab.guests()

        tui.keys(":")
        tui.keys_literal("vms")
        tui.keys("Enter")
        text = tui.attempt(tap, r"^NAME.*POWER.*HOST.*POOL", ":vms has a POOL column with two pools")
        tui.keys("/")
        tui.keys_literal("pool:lab")
        tui.keys("Enter")
        lab_text = tui.wait(lambda s: f"{len(lab_guests)} of {len(demo_guests) + len(lab_guests)} VMs" in s)
        tap.check(True, "pool:lab keeps the lab's VMs of all of them")
        tap.check(sorted(r["NAME"] for r in table_rows(lab_text)) == sorted(v["name_label"] for v in lab_guests.values())
                  and all(r["POOL"] == "lab" for r in table_rows(lab_text)),
                  "they are the lab simulator's VMs", lab_text)
        tui.keys("/")
        tui.keys("C-u")
        tui.keys_literal("pool:demo")
        tui.keys("Enter")
        demo_text = tui.wait(lambda s: f"{len(demo_guests)} of" in s and all(r["POOL"] == "demo" for r in table_rows(s)))
        tap.check(sorted(r["NAME"] for r in table_rows(demo_text)) == sorted(v["name_label"] for v in demo_guests.values()),
                  "and pool:demo the demo simulator's", demo_text)

        # a halted VM that has a twin of the same name in the other pool
        name = sorted(v["name_label"] for v in lab_guests.values() if v["power_state"] == "Halted"
                      and sum(1 for w in lab_guests.values() if w["name_label"] == v["name_label"]) == 1
                      and any(w["name_label"] == v["name_label"] and w["power_state"] == "Halted"
                              for w in demo_guests.values()))[0]
        lab_ref = next(r for r, v in lab_guests.items() if v["name_label"] == name)
        demo_ref = next(r for r, v in demo_guests.items() if v["name_label"] == name)
        tui.keys("/")
        tui.keys("C-u")
        tui.keys_literal(f"pool:lab {name}")
        tui.keys("Enter")
        text = tui.attempt(tap, lambda s: len(table_rows(s)) == 1 and table_rows(s)[0]["NAME"] == name,
                           f"pool:lab {name} leaves the lab's {name} alone")
        if text:
            top = text.split("\n")[0]
            tap.check(" lab " in top and " demo " not in top, "the status line names the selected VM's pool", top)
        tui.keys("s")
        tui.attempt(tap, lambda s: table_rows(s) and table_rows(s)[0]["POWER"] == "Running"
                    and f"lab: Start VM '{name}': done" in s,
                    "s starts it: Running, and the message names the pool")
        tap.check(lab.vm(lab_ref)["power_state"] == "Running", "the lab simulator has it running")
        tap.check(demo.vm(demo_ref)["power_state"] == "Halted", "its twin in the demo pool is still halted",
                  demo.vm(demo_ref)["power_state"])

        tui.keys("Escape")
        tui.keys(":")
        tui.keys_literal("hosts")
        tui.keys("Enter")
        text = tui.attempt(tap, r"^NAME.*STATE.*POOL", ":hosts has a POOL column too")
        if text:
            # the list is drawn whole a moment after its header: wait for it
            text = tui.attempt(tap, lambda s: len(table_rows(s)) == 6, "and the hosts of both pools") or text

        # disconnect the lab: its rows go, the POOL column with them
        tui.keys(":")
        tui.keys_literal("servers")
        tui.keys("Enter")
        text = tui.attempt(tap, lambda s: re.search(r"^lab .*connected", s, re.M) and re.search(r"^demo .*connected", s, re.M),
                           ":servers lists both pools as connected")
        tui.keys("/")
        tui.keys_literal("lab")
        tui.keys("Enter")
        tui.keys("d")
        tui.attempt(tap, lambda s: re.search(r"^lab .*disconnected", s, re.M), "d disconnects the lab")
        tui.keys("Escape")
        tui.keys(":")
        tui.keys_literal("vms")
        tui.keys("Enter")
        text = tui.attempt(tap, lambda s: f"{len(demo_guests)} VMs" in s.split("\n")[1] and re.search(r"^NAME.*POWER", s, re.M),
                           "the VM list is back to the demo's VMs")
        if text:
            tap.check("POOL" not in text.split("\n")[2], "without a POOL column", text)
        tui.keys(":")
        tui.keys_literal("quit")
        tui.keys("Enter")
        tui.attempt(tap, r"XENTUI-EXIT=0", ":quit leaves with status 0")
        tap.check(not tui.alternate_on(), "the terminal has left the alternate screen")
        reports = tui.sanitizer_reports()
        tap.check(not reports, "no sanitizer report (and no leak) from xentui", reports)
        err = tui.sim_stderr()
        tap.check("Sanitizer" not in err and "runtime error" not in err, "no sanitizer report from the demo's simulator",
                  err)
    except (Timeout, RuntimeError, StopIteration, IndexError) as e:
        tap.check(False, "the two-pool scenario ran to its end", e)
    finally:
        tui.close()
        err = sim.stop()
        tap.check("Sanitizer" not in err and "runtime error" not in err, "no sanitizer report from the lab simulator",
                  err)
    tap.done()


if __name__ == "__main__":
    main()
