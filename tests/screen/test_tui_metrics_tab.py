#!/usr/bin/env python3
"""The Metrics tab's figures per device (issue 13), against the demo's
xapi-sim, whose series are a known function of time (tests/sim/rrd.c,
computed here again): on a VM's tab every vCPU, every VIF (receive, send)
and every disk (read, write, read and write IOPS) has a line, on a host's
every core, every PIF and every SR it has plugged; each line's value, and
the totals over the graphs, equal the simulator's function at the time the
tab shows. At 200x60 and at 80x24, where j/k and the page keys scroll to
what does not fit. The devices are read from the pool independently with
xmlrpc. Mono theme (NO_COLOR). TAP."""
import math
import os
import re
import ssl
import sys
import time
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "core"))

from tuitest import Tap, Timeout, Tui, filter_to, row_starting  # noqa: E402
from test_metrics import hash_str, mix  # noqa: E402

# what the tab may be drawn with: printable ASCII, braille, the eighth blocks, box drawing, an ellipsis
ALLOWED = re.compile(r"^[\x20-\x7e\u2800-\u28ff\u2581-\u2588\u2500-\u257f\u2026]*$")
VALUE = r"(-|\d+(?:\.\d+)? (?:%|B/s|KiB/s|MiB/s|GiB/s|IOPS))"


# ---- tests/sim/rrd.c's value_at, computed independently ----

def sim_value(kind, uuid, name, t, level=0.0):
    h = hash_str(name, hash_str(uuid, 0xCBF29CE484222325))
    phase = (h % 10000) / 10000.0 * 2 * math.pi
    noise = (mix(h ^ (t // 5)) % 10000) / 10000.0
    wave = (1 + math.sin(2 * math.pi * float(t) / (240.0 + float(h % 360)) + phase)) / 2
    if kind == "cpu":
        return 0.01 + 0.3 * wave + 0.04 * noise
    if kind == "net":
        return math.floor(level * (0.2 + wave + 0.3 * noise))
    if kind == "disk":
        return math.floor(level * (0.1 + wave * wave + 0.2 * noise))
    raise ValueError(kind)


def fmt_rate(v):
    """src/ui/graph.c's graph_format for "B/s"."""
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    i = 0
    while abs(v) >= 1024 and i + 1 < len(units):
        v /= 1024
        i += 1
    if i == 0:
        return "%.0f B/s" % v
    return ("%.1f %s/s" if abs(v) < 10 else "%.0f %s/s") % (v, units[i])


def fmt_iops(v):
    return ("%.0f IOPS" if abs(v) >= 1000 else "%.3g IOPS") % v


def fmt_cpu(ratio):
    return "%.1f %%" % (100 * ratio)


# ---- the pool, read independently ----

def api(url):
    s = xmlrpc.client.ServerProxy(url, context=ssl._create_unverified_context())
    return s, s.session.login_with_password("root", "xapi-sim", "2.21", "test_tui_metrics_tab")["Value"]


def pool(url):
    s, sid = api(url)
    v = lambda r: r["Value"]  # noqa: E731
    hosts, vms = v(s.host.get_all_records(sid)), v(s.VM.get_all_records(sid))
    vmm, vifs, vbds = v(s.VM_metrics.get_all_records(sid)), v(s.VIF.get_all_records(sid)), v(s.VBD.get_all_records(sid))
    pifs, vdis, srs = v(s.PIF.get_all_records(sid)), v(s.VDI.get_all_records(sid)), v(s.SR.get_all_records(sid))
    s.session.logout(sid)
    out = {"vms": {}, "hosts": {}}
    for ref, vm in vms.items():
        if vm["is_a_template"] or vm["is_a_snapshot"] or vm["is_control_domain"] or vm["power_state"] != "Running":
            continue
        m = vmm.get(vm["metrics"], {})
        vcpus = min(int(m.get("VCPUs_number", "0")) or int(vm["VCPUs_at_startup"]), 64)
        out["vms"][vm["uuid"]] = {
            "name": vm["name_label"], "vcpus": vcpus, "host": hosts[vm["resident_on"]]["uuid"],
            "vifs": sorted({vifs[r]["device"] for r in vm["VIFs"] if r in vifs}, key=int),
            "disks": sorted({vbds[r]["device"] for r in vm["VBDs"]
                             if r in vbds and not vbds[r]["empty"] and vbds[r]["device"]})}
    for ref, h in hosts.items():
        # rrdp-iostat reports the SRs with a disk in use on the host: its running VMs' VDIs
        in_use = {vdis[b["VDI"]]["SR"] for vm in vms.values() if vm["resident_on"] == ref
                  and vm["power_state"] == "Running" for r in vm["VBDs"] for b in [vbds.get(r)]
                  if b and not b["empty"] and b["VDI"] in vdis}
        out["hosts"][h["uuid"]] = {
            "name": h["name_label"], "cores": len(h["host_CPUs"]),
            "pifs": sorted({pifs[r]["device"] for r in h["PIFs"] if r in pifs}),
            "srs": sorted((srs[r]["uuid"][:8], srs[r]["name_label"]) for r in in_use if r in srs)}
    return out


def vm_lines(uuid, vm, t):
    """label -> the value the tab shows at t, for every per-device line and total of a VM."""
    want = {}
    for i in range(vm["vcpus"]):
        want[f"vCPU {i}"] = fmt_cpu(sim_value("cpu", uuid, f"cpu{i}", t))
    rx = tx = 0
    for d in vm["vifs"]:
        r, s = sim_value("net", uuid, f"vif_{d}_rx", t, 5e4), sim_value("net", uuid, f"vif_{d}_tx", t, 2e4)
        want[f"VIF {d} receive"], want[f"VIF {d} send"] = fmt_rate(r), fmt_rate(s)
        rx, tx = rx + r, tx + s
    dr = dw = ir = iw = 0
    for d in vm["disks"]:
        vals = [sim_value("disk", uuid, f"vbd_{d}_{k}", t, lv)
                for k, lv in (("read", 3e5), ("write", 1e5), ("iops_read", 60), ("iops_write", 25))]
        want[f"{d} read"], want[f"{d} write"] = fmt_rate(vals[0]), fmt_rate(vals[1])
        want[f"{d} read IOPS"], want[f"{d} write IOPS"] = fmt_iops(vals[2]), fmt_iops(vals[3])
        dr, dw, ir, iw = dr + vals[0], dw + vals[1], ir + vals[2], iw + vals[3]
    totals = {"Network receive": fmt_rate(rx), "Network send": fmt_rate(tx), "Disk read": fmt_rate(dr),
              "Disk write": fmt_rate(dw), "Disk read IOPS": fmt_iops(ir), "Disk write IOPS": fmt_iops(iw)}
    return want, totals


def host_lines(uuid, h, t):
    want = {}
    for i in range(h["cores"]):
        want[f"Core {i}"] = fmt_cpu(sim_value("cpu", uuid, f"cpu{i}", t))
    rx = tx = 0
    for d in h["pifs"]:
        r, s = sim_value("net", uuid, f"pif_{d}_rx", t, 2e5), sim_value("net", uuid, f"pif_{d}_tx", t, 1e5)
        want[f"{d} receive"], want[f"{d} send"] = fmt_rate(r), fmt_rate(s)
        rx, tx = rx + r, tx + s
    dr = dw = ir = iw = 0
    for sr8, name in h["srs"]:
        # rrdd's io_throughput_read_SR8 is the read_SR8 bytes in MiB/s; the tab shows bytes again
        vals = [sim_value("disk", uuid, f"{k}_{sr8}", t, lv)
                for k, lv in (("read", 12e5), ("write", 4e5), ("iops_read", 240), ("iops_write", 100))]
        label = f"SR {name or sr8}"
        want[f"{label} read"], want[f"{label} write"] = fmt_rate(vals[0]), fmt_rate(vals[1])
        want[f"{label} read IOPS"], want[f"{label} write IOPS"] = fmt_iops(vals[2]), fmt_iops(vals[3])
        dr, dw, ir, iw = dr + vals[0], dw + vals[1], ir + vals[2], iw + vals[3]
    totals = {"Network receive": fmt_rate(rx), "Network send": fmt_rate(tx), "Disk read": fmt_rate(dr),
              "Disk write": fmt_rate(dw), "Disk read IOPS": fmt_iops(ir), "Disk write IOPS": fmt_iops(iw)}
    return want, totals


# ---- reading the tab ----

def shown_time(screen):
    """The unix time of the tab's "last point at HH:MM:SS" (a 5 s step near now)."""
    m = re.search(r"last point at (\d\d:\d\d:\d\d)", screen)
    if not m:
        return None
    end = int(time.time()) // 5 * 5
    for t in range(end + 5, end - 60, -5):
        if time.strftime("%H:%M:%S", time.localtime(t)) == m.group(1):
            return t
    return None


def page_values(screen, labels):
    """label -> the value on its line, for the labels on this screen."""
    got = {}
    for label in labels:
        m = re.search(r"(?:^|\s)" + re.escape(label) + r"\s+\S*\s+" + VALUE + r"(?=\s|$)", screen, re.M)
        if m:
            got[label] = m.group(1)
    return got


def title_values(screen, names):
    """A graph's title ("Network receive 61 KiB/s") or, where there is no room for the graph, its line."""
    got = {}
    for name in names:
        m = re.search(r"(?:^|\s)" + re.escape(name) + r"(?: |\s+[\u2581-\u2588_.,=+*#-]+\s+)" + VALUE + r"(?=\s|$)", screen, re.M)
        if m:
            got[name] = m.group(1)
    return got


def whole(screen, cols):
    """A whole redraw: clean lines, the time of the last point, the key bar at the bottom."""
    lines = screen.rstrip("\n").split("\n")
    return (all(len(line) <= cols and ALLOWED.match(line) for line in lines)
            and shown_time(screen) is not None and "? Help" in lines[-1])


def rows_shown(screen):
    m = re.search(r"rows (\d+)-(\d+)/(\d+)", screen)
    return m.groups() if m else None


def read_tab(tui, cols, want_of):
    """Scrolls the tab from its top to its end; returns (seen, bad, pages): every label seen with
    its value checked against want_of(t) at the time its page shows."""
    tui.keys("Home")
    seen, bad, pages = set(), [], 0
    tui.wait(lambda s: whole(s, cols) and (rows_shown(s) or ("1",))[0] == "1", timeout=15)
    last_range = None
    for _ in range(12):
        s = tui.wait(lambda s: whole(s, cols), timeout=15)
        t = shown_time(s)
        want, totals = want_of(t)
        for label, val in page_values(s, want).items():
            seen.add(label)
            if val != want[label]:
                bad.append(f"{label}: {val}, the sim's at {t}: {want[label]}")
        for name, val in title_values(s, totals).items():
            seen.add("total " + name)
            if val != totals[name]:
                bad.append(f"{name} (all devices): {val}, the sim's at {t}: {totals[name]}")
        pages += 1
        if os.environ.get("DEBUG_TAB"):
            print("# page", rows_shown(s), sorted(page_values(s, want)))
        m = re.search(r"rows (\d+)-(\d+)/(\d+)", s)
        if not m or m.group(2) == m.group(3) or m.groups() == last_range:
            break
        last_range = m.groups()
        tui.keys("PageDown")
        try:
            tui.wait(lambda s, r=last_range: rows_shown(s) != r, timeout=5)
        except Timeout:
            break
    return seen, bad, pages


def check_tab(tap, tui, what, cols, want_of, labels):
    try:
        seen, bad, pages = read_tab(tui, cols, want_of)
    except Timeout as e:
        tap.check(False, f"{what} at {cols} columns: the tab is drawn whole", e)
        return
    missing = [x for x in labels if x not in seen]
    tap.check(not missing, f"{what} at {cols} columns: a line for every device ({len(labels)} figures over "
              f"{pages} page(s))", f"missing {missing}\nscreen:\n{tui.screen()}")
    tap.check(seen and not bad, f"{what} at {cols} columns: each figure equals the simulator's at the time shown",
              "\n".join(bad[:12]))


def vm_sums(uuid, vm, t):
    """A VM's NET (receive + send of its VIFs) and DISK (read + write of its disks) cells at t."""
    net = sum(sim_value("net", uuid, f"vif_{d}_rx", t, 5e4) + sim_value("net", uuid, f"vif_{d}_tx", t, 2e4)
              for d in vm["vifs"])
    disk = sum(sim_value("disk", uuid, f"vbd_{d}_read", t, 3e5) + sim_value("disk", uuid, f"vbd_{d}_write", t, 1e5)
               for d in vm["disks"])
    return fmt_rate(net), fmt_rate(disk)


def host_sums(uuid, h, t):
    """A host's NET (its PIFs) and DISK (its SRs' io_throughput, which is read_SR8 in MiB/s) cells at t."""
    net = sum(sim_value("net", uuid, f"pif_{d}_rx", t, 2e5) + sim_value("net", uuid, f"pif_{d}_tx", t, 1e5)
              for d in h["pifs"])
    disk = sum(sim_value("disk", uuid, f"read_{sr8}", t, 12e5) + sim_value("disk", uuid, f"write_{sr8}", t, 4e5)
               for sr8, _ in h["srs"])
    return fmt_rate(net), fmt_rate(disk)


def list_rates(tap, tui, listing, objs, sums):
    """:vms or :hosts at 200 columns: NET and DISK columns with the sim's sums; sortable by them."""
    tui.keys_literal(":" + listing)
    tui.keys("Enter")
    names = {o["name"]: u for u, o in objs.items()}
    pat = r"\d+(?:\.\d+)? (?:B|KiB|MiB|GiB)/s"

    def filled(s):
        return re.search(r"^NAME.*\bNET\b.*\bDISK\b", s, re.M) and all(
            len(re.findall(pat, row_starting(s, n))) >= 2 for n in names)
    s = tui.attempt(tap, filled, f":{listing} at 200 columns shows NET and DISK rates for every running one",
                    timeout=30)
    if not s:
        return
    end = int(time.time()) // 5 * 5
    bad = []
    for name, uuid in names.items():
        row = row_starting(s, name)
        if not any(all(v in row for v in sums(uuid, t)) for t in range(end + 5, end - 40, -5)):
            bad.append(f"{name}: '{row}' want one of {[sums(uuid, t) for t in range(end + 5, end - 40, -5)]}")
    tap.check(not bad, f":{listing}: NET is receive + send, DISK read + write, the simulator's at a current step",
              "\n".join(bad[:5]))
    for col in ("NET", "DISK"):
        for _ in range(14):
            if re.search(r"^NAME.*" + col + r"[▲▼]", tui.screen(), re.M):
                break
            before = tui.screen()
            tui.keys(">")
            tui.wait(lambda s, b=before: s != b)
        s = tui.screen()
        if col + "▲" in s:
            tui.keys("I")
        idx = 0 if col == "NET" else 1

        def ordered(s, idx=idx):
            vals = []
            if not all(len(re.findall(pat, row_starting(s, n))) >= 2 for n in names):
                return False
            for line in s.split("\n"):
                if line.split() and line.split()[0] in names:
                    cells = re.findall(pat, line)
                    num, unit = cells[-2 + idx].split()
                    vals.append(float(num) * {"B/s": 1, "KiB/s": 1024, "MiB/s": 1 << 20, "GiB/s": 1 << 30}[unit])
            return re.search(r"^NAME.*" + col + "▼", s, re.M) and vals == sorted(vals, reverse=True)
        tui.attempt(tap, ordered, f":{listing} sorts by {col}, the busiest first")


def open_tab(tui, listing, name, title):
    tui.keys_literal(":" + listing)
    tui.keys("Enter")
    tui.wait(r"^NAME")
    filter_to(tui, name)
    tui.wait(lambda s: re.search(r"^" + re.escape(name) + r" ", s, re.M))
    tui.keys("Enter")
    tui.wait(re.escape(title) + r"(.|\n)*7 Metr")
    tui.keys("7")
    return tui.wait(r"last point at", timeout=30)


def main():
    tap = Tap()
    tui = Tui("metrics-tab", cols=200, rows=60, env={"NO_COLOR": "1"})
    try:
        url = tui.demo()
        tui.wait(r"live", timeout=30)
        st = pool(url)
        # the running VM with the most devices
        uuid, vm = max(st["vms"].items(), key=lambda kv: (len(kv[1]["vifs"]) + len(kv[1]["disks"]), kv[1]["vcpus"]))
        labels = [f"vCPU {i}" for i in range(vm["vcpus"])]
        labels += [f"VIF {d} {x}" for d in vm["vifs"] for x in ("receive", "send")]
        labels += [f"{d} {x}" for d in vm["disks"] for x in ("read", "write", "read IOPS", "write IOPS")]
        labels += ["total " + n for n in ("Network receive", "Network send", "Disk read", "Disk write",
                                          "Disk read IOPS", "Disk write IOPS")]
        tap.check(vm["vifs"] and vm["disks"], f"the demo has a running VM with interfaces and disks ({vm['name']}: "
                  f"{vm['vifs']}, {vm['disks']})", vm)
        list_rates(tap, tui, "vms", st["vms"], lambda u, t: vm_sums(u, st["vms"][u], t))
        list_rates(tap, tui, "hosts", st["hosts"], lambda u, t: host_sums(u, st["hosts"][u], t))
        open_tab(tui, "vms", vm["name"], "VM " + vm["name"])
        check_tab(tap, tui, f"VM {vm['name']}", 200, lambda t: vm_lines(uuid, vm, t), labels)
        tui.resize(80, 24)
        check_tab(tap, tui, f"VM {vm['name']}", 80, lambda t: vm_lines(uuid, vm, t), labels)
        s = tui.screen()
        tap.check(re.search(r"rows \d+-\d+/\d+ j/k", s), "at 80x24 the tab says which rows show and that j/k scroll",
                  s)

        # the host of the VM whose tab was read (it has disks in use: SR figures)
        huuid = st["vms"][uuid]["host"]
        h = st["hosts"][huuid]
        hlabels = [f"Core {i}" for i in range(h["cores"])]
        hlabels += [f"{d} {x}" for d in h["pifs"] for x in ("receive", "send")]
        hlabels += [f"SR {name or sr8} {x}" for sr8, name in h["srs"]
                    for x in ("read", "write", "read IOPS", "write IOPS")]
        hlabels += ["total " + n for n in ("Network receive", "Network send", "Disk read", "Disk write")]
        tap.check(h["pifs"] and h["srs"], f"host {h['name']} has PIFs and SRs in use ({h['pifs']}, {h['srs']})", h)
        tui.keys("Escape")
        open_tab(tui, "hosts", h["name"], "Host " + h["name"])
        check_tab(tap, tui, f"host {h['name']}", 80, lambda t: host_lines(huuid, h, t), hlabels)
        tui.resize(200, 60)
        check_tab(tap, tui, f"host {h['name']}", 200, lambda t: host_lines(huuid, h, t), hlabels)

        # g changes how graphs are drawn: blocks, then plain ASCII
        tui.keys("Home", "g")
        tui.attempt(tap, lambda s: whole(s, 200) and re.search(r"[\u2581-\u2588]{8}", s)
                    and not re.search(r"[\u2801-\u28ff]", s), "g draws the graphs with block characters")
        tui.keys("g")
        tui.attempt(tap, lambda s: whole(s, 200) and not re.search(r"[\u2580-\u28ff]", s)
                    and re.search(r"^\s*100 % \|", s, re.M) and re.search(r"^\s*\+\+-+\+", s, re.M) and "#" in s,
                    "g again draws them in plain ASCII ('#' bars, '|' and '+-' axes)")
        tui.keys("g")

        # :top keeps its rows in place between refreshes: a VM that stops leaves it
        tui.keys_literal(":top")
        tui.keys("Enter")
        tui.attempt(tap, lambda s: re.search(r"^" + re.escape(vm["name"]) + r"\s.*\d+\.\d%", s, re.M),
                    f":top lists {vm['name']}", timeout=30)
        s, sid = api(url)
        ref = s.VM.get_by_uuid(sid, uuid)["Value"]
        s.VM.hard_shutdown(sid, ref)
        s.session.logout(sid)
        tui.attempt(tap, lambda s: re.search(r"^NAME.*CPU", s, re.M)
                    and not re.search(r"^" + re.escape(vm["name"]) + r"\s", s, re.M),
                    f"{vm['name']} leaves :top once it is halted", timeout=20)
        tui.quit_and_check(tap)
    except Timeout as e:
        tap.check(False, "the screens answered in time", e)
    finally:
        tui.close()
    tap.done()


if __name__ == "__main__":
    main()
