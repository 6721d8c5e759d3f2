"""The :networks screen in xentui --demo, checked against the simulator's
own records: the list and the NIC view match the pool; a host-internal
network and a VLAN on a NIC of every host are made as Xen Orchestra makes
them; rename; destroy when unused (the VLAN's interfaces go too); a network
VMs use is refused with a sentence. TAP output."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import Pool, Tap, Timeout, Tui, row_starting  # noqa: E402


def networks_by_name(pool):
    return {v["name_label"]: (r, v) for r, v in pool.call("network.get_all_records").items()}


def only(tui, text):
    """Filters the list down to the rows matching text."""
    tui.keys("/")
    tui.keys("C-u")
    tui.keys_literal(text)
    tui.keys("Enter")


def choose(tui, label, timeout=20):
    """Moves a choose dialog's highlight to the row holding label, then Enter."""
    screen = tui.wait(lambda s: label in s, timeout=timeout)
    lines = screen.split("\n")
    rows = [i for i, l in enumerate(lines) if "│ " in l and ("Internal network" in l or "VLAN on" in l)]
    target = next(i for i in rows if label in lines[i])
    for _ in range(rows.index(target)):
        tui.keys("Down")
    tui.keys("Enter")


def main():
    tap = Tap()
    tui = Tui("networks", env={"NO_COLOR": "1"}, cols=130, rows=32)
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())
        nets = pool.call("network.get_all_records")
        hosts = pool.hosts()
        tui.keys(":")
        tui.keys_literal("net")
        tui.keys("Enter")
        screen = tui.attempt(tap, r"^NAME.*BRIDGE.*VLAN.*NICS.*LINK.*VIFS", ":net opens the networks list")

        # ---- the list is the pool's networks, with their NICs and VIF counts
        want = {v["name_label"]: v for v in nets.values()}
        if screen:
            rows = {n: row_starting(screen, n) for n in want}
            missing = [n for n, r in rows.items() if not r]
            tap.check(not missing and f"{len(want)} networks" in screen, "every network of the pool is listed",
                      f"missing {missing}\n{screen}")
            bad = [n for n, v in want.items() if rows[n] and rows[n].split()[-2 if "mgmt" in rows[n] else -1]
                   != str(len(v["VIFs"]))]
            tap.check(not bad, "each row's VIFS is the number of VIFs on that network", f"{bad}\n{screen}")
            eth0 = next(v for v in want.values() if v["bridge"] == "xenbr0")
            tap.check(f"eth0 ({len(eth0['PIFs'])} hosts)" in rows[eth0["name_label"]]
                      and " up " in rows[eth0["name_label"]] and "mgmt" in rows[eth0["name_label"]],
                      "the management network shows its NIC on every host, link up, mgmt",
                      rows[eth0["name_label"]])
        tui.keys("Tab")
        screen = tui.attempt(tap, r"^HOST.*DEVICE.*LINK.*SPEED", "Tab shows the hosts' NICs")
        if screen:
            pifs = pool.call("PIF.get_all_records")
            tap.check(f"{len(pifs)} NICs" in screen and all(
                h["name_label"] in screen for h in hosts.values()),
                "one row per PIF, every host named", screen)
            tap.check("10 Gb/s" in screen and "mgmt" in screen, "speed from PIF_metrics and the management mark",
                      screen)
        tui.keys("Tab")
        tui.wait(r"^NAME.*BRIDGE")

        # ---- a host-internal network
        tui.keys("n")
        choose(tui, "Internal network")
        tui.wait(r"New internal network")
        tui.keys_literal("fw-lan")
        tui.keys("Tab")
        tui.keys_literal("LAN side of the firewall")
        tui.keys("Tab", "C-u")
        tui.keys_literal("9000")
        tui.keys("Enter")
        tui.attempt(tap, lambda s: row_starting(s, "fw-lan") and "none (internal)" in row_starting(s, "fw-lan"),
                    "the new internal network is listed, on no NIC")
        try:
            r, v = pool.wait(lambda: networks_by_name(pool).get("fw-lan"), what="fw-lan")
            tap.check(v["PIFs"] == [] and v["MTU"] == "9000" and v["name_description"] == "LAN side of the firewall"
                      and v["other_config"].get("automatic") == "false",
                      "sim: fw-lan exists with no PIF, MTU 9000, the description, automatic=false as XO sets", v)
        except Exception as e:  # noqa: BLE001
            tap.check(False, "sim: fw-lan exists", e)

        # ---- a VLAN on eth1 of every host
        tui.keys("n")
        choose(tui, "VLAN on eth1")
        tui.wait(r"New VLAN network")
        tui.keys_literal("vlan42")
        tui.keys("Tab", "Tab", "Tab", "C-u")
        tui.keys_literal("42")
        tui.keys("Enter")
        tui.attempt(tap, lambda s: row_starting(s, "vlan42") and " 42 " in row_starting(s, "vlan42")
                    and f"eth1 ({len(hosts)} hosts)" in row_starting(s, "vlan42"),
                    "the VLAN network is listed with tag 42 on eth1 of every host", timeout=30)
        try:
            r, v = pool.wait(lambda: (networks_by_name(pool).get("vlan42") or (0, {"PIFs": []}))[1]["PIFs"]
                             and networks_by_name(pool)["vlan42"], what="vlan42's PIFs")
            pifs = [pool.call("PIF.get_record", p) for p in v["PIFs"]]
            vlans = [x for x in pool.call("VLAN.get_all_records").values() if x["untagged_PIF"] in v["PIFs"]]
            tap.check(len(pifs) == len(hosts) and {p["host"] for p in pifs} == set(hosts)
                      and all(p["VLAN"] == "42" and p["device"] == "eth1" for p in pifs)
                      and len(vlans) == len(hosts) and all(x["tag"] == "42" for x in vlans),
                      "sim: one VLAN 42 interface on eth1 per host, each with its VLAN object", (pifs, vlans))
        except Exception as e:  # noqa: BLE001
            tap.check(False, "sim: the VLAN's PIFs", e)

        # ---- rename
        only(tui, "fw-lan")
        tui.wait(lambda s: "1 of" in s.split("\n")[1])
        tui.keys("e")
        tui.wait(r"Rename network")
        tui.keys("C-u")
        tui.keys_literal("fw-lan2")
        tui.keys("Enter")
        tui.attempt(tap, lambda s: row_starting(s, "fw-lan2"), "the renamed network shows its new name")
        try:
            pool.wait(lambda: "fw-lan2" in networks_by_name(pool), what="fw-lan2")
            tap.check(True, "sim: network.set_name_label took")
        except Exception as e:  # noqa: BLE001
            tap.check(False, "sim: renamed", e)

        # ---- a network VMs use is refused with a sentence
        tui.keys("Escape")
        only(tui, "eth0")
        tui.wait(lambda s: "1 of" in s.split("\n")[1])
        tui.keys("d")
        tui.attempt(tap, r"is in use by \d+ VM interfaces? \(.*",
                    "destroying a network VMs use says why not")
        tap.check(eth0["name_label"] in networks_by_name(pool), "sim: that network is still there")

        # ---- Enter opens the network: its fields, a NIC per host, its VIFs as the sim has them
        net_ref = networks_by_name(pool)[eth0["name_label"]][0]
        vifs = {r: pool.call("VIF.get_record", r) for r in pool.call("network.get_VIFs", net_ref)}
        vif_ref, vif = sorted(vifs.items(), key=lambda kv: kv[1]["MAC"])[0]
        pool.call("VIF.add_to_other_config", vif_ref, "ethtool-tx", "off")
        tui.keys("Enter")
        screen = tui.attempt(tap, r"Bridge\s+xenbr0", "Enter on a network opens it: General shows the bridge")
        if screen:
            tap.check(re.search(r"MTU\s+" + eth0["MTU"], screen) and re.search(r"Managed\s+yes", screen)
                      and "other_config" in screen, "General: MTU, managed, other_config as the sim's", screen)
        tui.keys("Tab")
        screen = tui.attempt(tap, r"HOST.*DEVICE.*LINK.*IP", "the NICs tab lists the network's PIFs")
        if screen:
            pifs = [pool.call("PIF.get_record", r) for r in pool.call("network.get_PIFs", net_ref)]
            bad = [p for p in pifs if not any(pool.hosts()[p["host"]]["name_label"] in l and p["device"] in l
                                              and p["IP"] in l for l in screen.split("\n"))]
            tap.check(f"{len(pifs)} NICs" in screen and not bad, "one row per host: device and IP as the sim's",
                      (bad, screen))
        tui.keys("Tab")
        screen = tui.attempt(tap, r"VM.*DEVICE.*MAC.*ATTACHED.*TX OFFLOAD", "the VIFs tab lists the VM interfaces")
        if screen:
            tap.check(f"{len(vifs)} VIFs" in screen, "as many VIFs as the sim's network.VIFs", screen)
        only(tui, vif["MAC"])
        vm_name = pool.vm(vif["VM"])["name_label"]
        screen = tui.attempt(tap, lambda s: row_starting(s, vm_name) and vif["MAC"] in row_starting(s, vm_name),
                             "the VIF's row: its VM and MAC")
        if screen:
            row = row_starting(screen, vm_name)
            tap.check(row.split()[len(vm_name.split())] == vif["device"]
                      and (" yes " if vif["currently_attached"] else " no ") in row and " off " in row,
                      "the row: device, attached, TX offload off as the sim's other_config says", row)
        tui.keys("q")
        tui.wait(r"^NAME.*BRIDGE")

        # ---- destroy the VLAN network: its VLANs and interfaces go first
        only(tui, "vlan42")
        tui.wait(lambda s: "1 of" in s.split("\n")[1])
        tui.keys("d")
        tui.wait(r"Destroy network")
        tui.keys_literal("vlan42")
        tui.keys("Enter")
        try:
            pool.wait(lambda: "vlan42" not in networks_by_name(pool), timeout=30, what="vlan42 gone")
            left = [p for p in pool.call("PIF.get_all_records").values() if p["VLAN"] == "42"]
            tap.check(not left and not pool.call("VLAN.get_all"), "sim: vlan42, its VLANs and their PIFs are gone",
                      left)
        except Exception as e:  # noqa: BLE001
            tap.check(False, "sim: vlan42 destroyed", e)
        tui.attempt(tap, r"Destroy network 'vlan42': done", "the screen says the network went")

        # ---- destroy the internal one
        only(tui, "fw-lan2")
        tui.wait(lambda s: "1 of" in s.split("\n")[1])
        tui.keys("d")
        tui.wait(r"Destroy network")
        tui.keys_literal("fw-lan2")
        tui.keys("Enter")
        try:
            pool.wait(lambda: "fw-lan2" not in networks_by_name(pool), what="fw-lan2 gone")
            tap.check(True, "sim: the unused internal network is destroyed")
        except Exception as e:  # noqa: BLE001
            tap.check(False, "sim: fw-lan2 destroyed", e)
        tui.keys("Escape")
        tui.quit_and_check(tap)
    except Timeout as e:
        tap.check(False, "screen wait", e)
    finally:
        tui.close()
    tap.done()


if __name__ == "__main__":
    main()
