#!/usr/bin/env python3
"""Performance figures on screen (issue 13), against the demo's xapi-sim,
whose series are a known function of time (tests/sim/rrd.c, computed here
by tests/core/test_metrics.py's sim_value): the CPU and memory numbers of
:hosts, :vms, :top and the Metrics tabs equal that function for the
shown timestamp, the graphs are drawn at 200x60 and 80x24 without garbage
(braille, and ASCII when asked), the span keys change the time axis, and
nothing is fetched from /rrd_updates while no screen shows figures (the
client's --log records each fetch). Mono theme (NO_COLOR), ASCII in colour. TAP."""
import os
import re
import ssl
import sys
import time
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "core"))

from tuitest import LOGS, Tap, Timeout, Tui, row_starting  # noqa: E402
from test_metrics import pool_state, sim_value, vm_cpu_usage  # noqa: E402

WANT_S = 15  # METRICS_WANT_MS: a want not renewed lapses after this

# what a graph may be drawn with: printable ASCII, braille, the eighth blocks, box drawing
ALLOWED = re.compile(r"^[\x20-\x7e\u2800-\u28ff\u2581-\u2588\u2500-\u257f\u2026]*$")


class SimRef:
    """What pool_state needs: a logged-in xmlrpc proxy to the demo's sim."""

    def __init__(self, url):
        self.url = url

    def api(self, who="test_tui_metrics"):
        s = xmlrpc.client.ServerProxy(self.url, context=ssl._create_unverified_context())
        return s, s.session.login_with_password("root", "xapi-sim", "2.21", who)["Value"]


def times_around(now):
    """The 5 s steps a figure shown at now may belong to."""
    end = int(now) // 5 * 5
    return [end - 5 * k for k in range(-1, 8)]


def fmt_bytes(v):
    """src/ui/graph.c's graph_format for "B"."""
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    i = 0
    while abs(v) >= 1024 and i + 1 < len(units):
        v /= 1024
        i += 1
    if i == 0:
        return "%.0f B" % v
    return ("%.1f %s" if abs(v) < 10 else "%.0f %s") % (v, units[i])


def host_cpu(uuid, t):
    return 100 * sim_value("cpu", uuid, "cpu_avg", t)


def vm_cpu(st, uuid, t):
    return 100 * vm_cpu_usage(st, uuid, t)


def vm_mem(st, uuid, t):
    mem = st["vms"][uuid]["mem"]
    used = mem - sim_value("kib_free", uuid, "memory_internal_free", t, mem // 1024) * 1024
    return f"{fmt_bytes(used)} / {fmt_bytes(mem)}"


def near(shown, want):
    return abs(shown - want) <= 0.05 + 1e-6


def fetches(log):
    try:
        with open(log) as f:
            return sum(1 for line in f if "fetching /rrd_updates" in line)
    except OSError:
        return 0


def clean(screen, cols):
    """Lines no wider than the terminal, made of what graphs are drawn with."""
    bad = [line for line in screen.split("\n") if len(line) > cols or not ALLOWED.match(line)]
    return not bad, bad[:5]


def metrics_tab(tap, tui, what, cpu_of, cols):
    """The open Metrics tab: its CPU figure equals the sim's at the shown time; the graph is drawn."""
    s = tui.attempt(tap, r"last point at \d\d:\d\d:\d\d(.|\n)*CPU \d+\.\d %", f"{what}: the Metrics tab shows "
                    "CPU and the time of its last point", timeout=30)
    if not s:
        return None
    hms = re.search(r"last point at (\d\d:\d\d:\d\d)", s).group(1)
    cpu = float(re.search(r"CPU (\d+\.\d) %", s).group(1))
    ts = [t for t in times_around(time.time()) if time.strftime("%H:%M:%S", time.localtime(t)) == hms]
    tap.check(ts and near(cpu, cpu_of(ts[0])), f"{what}: CPU {cpu} % is the simulator's value at {hms}",
              f"{ts} want {[cpu_of(t) for t in ts]}")
    def drawn(s):
        return clean(s, cols)[0] and re.search(r"[\u2801-\u28ff]", s) and re.search(r"-10m\b", s) \
            and re.search(r"now\s*$", s, re.M)
    try:  # a capture may catch a redraw half done: wait for a whole one
        s = tui.wait(drawn, timeout=10)
    except Timeout:
        s = tui.screen()
    ok, bad = clean(s, cols)
    tap.check(ok and re.search(r"[\u2801-\u28ff]", s) and re.search(r"-10m\b", s) and re.search(r"now\s*$", s, re.M),
              f"{what}: a braille graph with a time axis (-10m ... now) at {cols} columns, nothing else on screen",
              s if ok else bad)
    return s


def main():
    tap = Tap()
    log = os.path.join(LOGS, f"screen-metrics-{os.getpid()}.log")
    try:
        os.unlink(log)
    except OSError:
        pass
    tui = Tui("metrics", args=("--demo", "--log", log), cols=200, rows=60, env={"NO_COLOR": "1"})
    try:
        url = tui.demo()
        tui.wait(r"live", timeout=30)
        st = pool_state(SimRef(url))
        hosts = {h["name"]: u for u, h in st["hosts"].items()}
        running = {v["name"]: u for u, v in st["vms"].items() if not v["dom0"]}

        # ---- idle: the dashboard shows no figures, so nothing is fetched ----
        t0 = time.time()
        while time.time() - t0 < 6:
            time.sleep(0.5)
        tap.check(fetches(log) == 0, "no /rrd_updates while no screen shows figures (6 s on the dashboard)",
                  fetches(log))

        # ---- :hosts: CPU from xcp-rrdd with a sparkline ----
        tui.keys_literal(":hosts")
        tui.keys("Enter")
        pat = r"\d+\.\d% [\u2581-\u2588]"
        s = tui.attempt(tap, lambda s: all(re.search(pat, row_starting(s, n)) for n in hosts),
                        ":hosts shows every host's CPU % and a sparkline", timeout=30)
        if s:
            now = time.time()
            bad = []
            for name, uuid in hosts.items():
                cpu = float(re.search(r"(\d+\.\d)% [\u2581-\u2588]", row_starting(s, name)).group(1))
                if not any(near(cpu, host_cpu(uuid, t)) for t in times_around(now)):
                    bad.append(f"{name}: {cpu} want one of {[round(host_cpu(uuid, t), 2) for t in times_around(now)]}")
            tap.check(not bad, "each host's CPU equals the simulator's cpu_avg at a current 5 s step", "\n".join(bad))
        tap.check(fetches(log) > 0, "figures are fetched once a screen shows them", fetches(log))

        # ---- :vms: CPU (the mean of the vCPUs) and memory used / total ----
        tui.keys_literal(":vms")
        tui.keys("Enter")
        s = tui.attempt(tap, lambda s: all(re.search(pat, row_starting(s, n)) for n in running),
                        ":vms shows every running VM's CPU % and a sparkline", timeout=30)
        if s:
            now = time.time()
            bad = []
            for name, uuid in running.items():
                row = row_starting(s, name)
                cpu = float(re.search(r"(\d+\.\d)% [\u2581-\u2588]", row).group(1))
                if not any(near(cpu, vm_cpu(st, uuid, t)) for t in times_around(now)):
                    bad.append(f"{name}: CPU {cpu}")
                if not any(vm_mem(st, uuid, t) in row for t in times_around(now)):
                    bad.append(f"{name}: memory in '{row}' want one of {[vm_mem(st, uuid, t) for t in times_around(now)]}")
            tap.check(not bad, "each running VM's CPU and memory used / total equal the simulator's at a current step",
                      "\n".join(bad))
        # a VM shut down keeps its series (its graphs), but its row shows no figure
        name = sorted(running)[0]
        api, sid = SimRef(url).api()
        ref = api.VM.get_by_uuid(sid, running[name])["Value"]
        api.VM.clean_shutdown(sid, ref)
        s = tui.attempt(tap, lambda s: "Halted" in row_starting(s, name) and "%" not in row_starting(s, name)
                        and not re.search(r"\d+(\.\d+)? \w?i?B /", row_starting(s, name)),
                        f"{name} shut down: its row shows neither CPU nor memory figures")
        # a round of figures later (every host's /rrd_updates once more), still none
        n = fetches(log)
        deadline = time.time() + 20
        while time.time() < deadline and fetches(log) < n + len(hosts):
            time.sleep(0.2)
        row = row_starting(tui.screen(), name)
        tap.check(fetches(log) >= n + len(hosts) and "Halted" in row and "%" not in row,
                  "a round of figures later it still shows none", f"{fetches(log) - n} fetches; the row: {row}")
        api.VM.start(sid, ref, False, False)
        tui.attempt(tap, lambda s: re.search(pat, row_starting(s, name)),
                    f"{name} started again: a new figure once xcp-rrdd has one from after its start", timeout=30)
        # sortable: by CPU, the busiest first
        for _ in range(12):
            if re.search(r"^NAME.*CPU[▲▼]", tui.screen(), re.M):
                break
            before = tui.screen().split("\n")[2]
            tui.keys(">")
            tui.wait(lambda s: s.split("\n")[2] != before)
        s = tui.attempt(tap, r"^NAME.*CPU[▲▼]", ":vms sorts by the CPU column (>)")
        if s:
            if "CPU▲" in s:
                tui.keys("I")
            def cpu_vals(s):
                return [float(m.group(1)) for line in s.split("\n")
                        for m in [re.search(r"(\d+\.\d)% [\u2581-\u2588]", line)] if m]
            # the figures change every 5 s: a capture may fall between a new value and its re-sort
            tui.attempt(tap, lambda s: re.search(r"^NAME.*CPU▼", s, re.M) and len(cpu_vals(s)) == len(running)
                        and cpu_vals(s) == sorted(cpu_vals(s), reverse=True), "sorted by CPU, the busiest first")

        # ---- a host's Metrics tab at 200x60, the span keys ----
        tui.keys_literal(":hosts")
        tui.keys("Enter")
        tui.wait(r"^NAME")
        tui.keys("Enter")
        s = tui.wait(r"7 Metrics")
        hname = re.search(r"Host (\S+)", s).group(1)
        tui.keys("7")
        metrics_tab(tap, tui, f"host {hname}", lambda t: host_cpu(hosts[hname], t), 200)
        s = tui.screen()
        tap.check(all(k in s for k in ("Load", "Memory used", "Network receive", "Network send")),
                  "the host's tab also graphs load, memory and network receive and send", s)
        tui.keys("+")
        tui.attempt(tap, lambda s: "Span 2 hours" in s and re.search(r"-2h\b", s) and re.search(r"now\s*$", s, re.M),
                    "+ shows 2 hours, the time axis from -2h to now")
        tui.keys("+")
        tui.attempt(tap, lambda s: "Span 1 day" in s and re.search(r"-1d\b", s), "+ again shows a day (from -1d)")
        tui.keys("+")
        tui.attempt(tap, lambda s: "Span 1 week" in s and re.search(r"-7d\b", s), "+ again shows a week (from -7d)")
        tui.keys("-", "-", "-")
        tui.attempt(tap, r"Span 10 minutes", "- three times goes back to 10 minutes")

        # ---- the same tab at 80x24 ----
        tui.resize(80, 24)
        s = metrics_tab(tap, tui, "host at 80x24", lambda t: host_cpu(hosts[hname], t), 80)
        if s:
            tap.check("Memory used" in s and "Network send" in s, "at 80x24 memory and network fit as a line each", s)

        # ---- :top, Enter opens the busiest VM; its Metrics tab ----
        tui.resize(200, 60)
        tui.keys_literal(":top")
        tui.keys("Enter")
        s = tui.attempt(tap, lambda s: all(re.search(r"\d+\.\d%", row_starting(s, n)) for n in running),
                        ":top lists every running VM with its CPU", timeout=30)
        if s:
            rows = [line for line in s.split("\n") if re.search(r"\d+\.\d%", line) and line.split()[0] in running]
            vals = [float(re.search(r"(\d+\.\d)%", r).group(1)) for r in rows]
            tap.check(len(vals) == len(running) and vals == sorted(vals, reverse=True) and "CPU▼" in s,
                      ":top is sorted by CPU, the busiest first", vals)
            paused = [n for n, u in running.items() if st["vms"][u]["paused"]]
            tap.check(paused and all(re.search(r"\s0\.0%", row_starting(s, n)) for n in paused)
                      and re.search(r"%d VMs running or paused" % len(running), s),
                      ":top counts the paused VMs too, their CPU 0.0 % (their CPU time stands still)",
                      [row_starting(s, n) for n in paused])
            tui.keys("m")
            tui.attempt(tap, r"^NAME.*MEM USED▼", "m sorts :top by memory in use")
            tui.keys("c")
            s = tui.wait(r"^NAME.*CPU▼")
            first = next(line.split()[0] for line in s.split("\n") if line.split() and line.split()[0] in running)
            tui.keys("Enter")
            s = tui.attempt(tap, r"VM " + re.escape(first), f"Enter opens the VM ({first})")
            tui.keys("7")
            metrics_tab(tap, tui, f"VM {first}", lambda t: vm_cpu(st, running[first], t), 200)
            s = tui.screen()
            tap.check(all(k in s for k in ("Network receive", "Disk read", "Disk write")),
                      "the VM's tab graphs network and disk too", s)

        # ---- a host shut down (offline) shows no figures on :hosts ----
        api, sid = SimRef(url).api()
        master = list(api.pool.get_all_records(sid)["Value"].values())[0]["master"]
        member = next(r for r, h in api.host.get_all_records(sid)["Value"].items() if r != master)
        mname = api.host.get_name_label(sid, member)["Value"]
        for r in api.host.get_resident_VMs(sid, member)["Value"]:
            if not api.VM.get_is_control_domain(sid, r)["Value"]:
                api.VM.hard_shutdown(sid, r)
        api.host.disable(sid, member)
        api.host.shutdown(sid, member)
        tui.keys_literal(":hosts")
        tui.keys("Enter")
        tui.attempt(tap, lambda s: "offline" in row_starting(s, mname) and "%" not in row_starting(s, mname),
                    f"{mname} shut down: :hosts says offline and shows no CPU figure", timeout=30)

        # ---- leaving: the wants lapse and fetching stops ----
        tui.keys_literal(":dashboard")
        tui.keys("Enter")
        left = time.time()
        while time.time() - left < WANT_S + 6:
            time.sleep(0.5)
        before = fetches(log)
        while time.time() - left < WANT_S + 16:
            time.sleep(0.5)
        tap.check(fetches(log) == before, f"no /rrd_updates from {WANT_S + 6} s to {WANT_S + 16} s after the last "
                  "screen with figures closed", f"{before} then {fetches(log)}")
        tui.quit_and_check(tap)
    except Timeout as e:
        tap.check(False, "the screens answered in time", e)
    finally:
        tui.close()

    # ---- ASCII graphs when asked (in the colour theme this time) ----
    tui = Tui("metrics-ascii", cols=80, rows=24, env={"XENTUI_GRAPH": "ascii"})
    try:
        tui.demo()
        tui.wait(r"live", timeout=30)
        tui.keys_literal(":hosts")
        tui.keys("Enter")
        tui.wait(r"^NAME")
        tui.keys("Enter")
        tui.wait(r"7 Metrics")
        tui.keys("7")
        s = tui.attempt(tap, r"last point at(.|\n)*-10m.*now", "XENTUI_GRAPH=ascii: the Metrics tab draws a graph",
                        timeout=30)
        if s:
            body = "\n".join(line for line in s.split("\n") if re.match(r"^\s*(\d+ %|)\s*[|+]", line))
            tap.check("#" in body and not re.search(r"[^\x20-\x7e\n]", body),
                      "the graph is plain ASCII ('#' bars, '|' and '+-' axes)", s)
        # quitting with :top open (its 5 s timer running) leaves nothing behind
        tui.keys_literal(":top")
        tui.keys("Enter")
        tui.attempt(tap, r"^NAME.*CPU▼", ":top opens sorted by CPU")
        tui.quit_and_check(tap)
    except Timeout as e:
        tap.check(False, "the ASCII run answered in time", e)
    finally:
        tui.close()
    tap.done()


if __name__ == "__main__":
    main()
