#!/usr/bin/env python3
"""HA in xapi-sim (tests/sim/ha.c) with Python's xmlrpc.client: the errors
of pool.enable_ha / disable_ha in xapi's order, the statefile and metadata
VDIs it makes on the heartbeat SR, the pool's and hosts' ha_* fields, the
failures-to-tolerate calls, HA_IS_ENABLED from pool.eject, disable and the
VDIs reused by the next enable. TAP output."""
import os
import sys
import time
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from simtest import CTX, call, ok, plan, start, stop_all, value  # noqa: E402

STATEFILE_SIZE = 4096 + 64 * 4096  # Xha_statefile.minimum_size
REDO_LOG_SIZE = 256 * 1024 * 1024  # Redo_log.minimum_vdi_size


def main():
    url = start("--hosts", "3", "--vms", "4", "--seed", "7")
    px = xmlrpc.client.ServerProxy(url, context=CTX, allow_none=True)
    s = value(px, "session.login_with_password", "root", "xapi-sim", "1.0", "test_ha")
    pool = value(px, "pool.get_all", s)[0]
    hosts = value(px, "host.get_all_records", s)
    srs = value(px, "SR.get_all_records", s)
    pbds = value(px, "PBD.get_all_records", s)

    def hosts_with_pbd(sr):
        return {pbds[p]["host"] for p in srs[sr]["PBDs"]}

    local = next(r for r, x in srs.items() if not x["shared"] and x["type"] in ("lvm", "ext") and len(hosts_with_pbd(r)) == 1)
    nfs = next(r for r, x in srs.items() if x["shared"] and x["type"] == "nfs" and hosts_with_pbd(r) == set(hosts))
    iso = next((r for r, x in srs.items() if x["type"] == "iso" and hosts_with_pbd(r) == set(hosts)), None)

    st, e = call(px, "pool.disable_ha", s)
    ok(st == "err" and e == ["HA_NOT_ENABLED"], "disable_ha with HA off: HA_NOT_ENABLED", e)
    st, e = call(px, "pool.enable_ha", s, [local], {})
    ok(st == "err" and e == ["SR_HAS_NO_PBDS", local], "a local SR of a 3-host pool: SR_HAS_NO_PBDS [sr]", e)
    if iso:
        st, e = call(px, "pool.enable_ha", s, [iso], {})
        ok(st == "err" and e == ["SR_OPERATION_NOT_SUPPORTED", iso], "an ISO SR: SR_OPERATION_NOT_SUPPORTED [sr]", e)
    st, e = call(px, "pool.enable_ha", s, ["OpaqueRef:nope"], {})
    ok(st == "err" and e == ["HANDLE_INVALID", "SR", "OpaqueRef:nope"], "an unknown SR: HANDLE_INVALID", e)
    ok(not value(px, "pool.get_ha_enabled", s, pool) and not value(px, "VDI.get_all_records_where", s, 'field "type" = "ha_statefile"'),
       "refused: HA off and no statefile made")

    # enable as a task
    vdis_before = set(value(px, "VDI.get_all", s))
    task = value(px, "Async.pool.enable_ha", s, [nfs], {"timeout": "60"})
    deadline = time.time() + 30
    while value(px, "task.get_status", s, task) == "pending" and time.time() < deadline:
        time.sleep(0.2)
    ok(value(px, "task.get_status", s, task) == "success", "Async.pool.enable_ha: the task succeeds",
       value(px, "task.get_record", s, task))
    p = value(px, "pool.get_record", s, pool)
    ok(p["ha_enabled"] and p["ha_configuration"] == {"timeout": "60"} and p["ha_cluster_stack"] == "xhad",
       "the pool: ha_enabled, ha_configuration as given, ha_cluster_stack xhad", p)
    new = {r: value(px, "VDI.get_record", s, r) for r in set(value(px, "VDI.get_all", s)) - vdis_before}
    sf = [r for r, v in new.items() if v["type"] == "ha_statefile"]
    md = [r for r, v in new.items() if v["type"] == "redo_log"]
    ok(len(new) == 2 and len(sf) == 1 and len(md) == 1, "two VDIs made: a statefile and a redo_log", new)
    ok(p["ha_statefiles"] == sf, "pool.ha_statefiles names the statefile VDI", (p["ha_statefiles"], sf))
    if sf and md:
        a, b = new[sf[0]], new[md[0]]
        ok(a["SR"] == nfs and a["name_label"] == "Statefile for HA" and a["virtual_size"] == str(STATEFILE_SIZE)
           and a["sharable"] and a["sm_config"] == {"type": "raw"},
           "the statefile: on the heartbeat SR, 'Statefile for HA', 260 KiB, sharable, sm_config type=raw", a)
        ok(b["SR"] == nfs and b["name_label"] == "Metadata for HA" and b["virtual_size"] == str(REDO_LOG_SIZE),
           "the metadata VDI: 'Metadata for HA', 256 MiB", b)
        ok(a["allowed_operations"] == [] and b["allowed_operations"] == [], "both refuse every operation while HA is on")
    hs = value(px, "host.get_all_records", s)
    uuids = sorted(h["uuid"] for h in hs.values())
    ok(all(h["ha_statefiles"] == sf and sorted(h["ha_network_peers"]) == uuids for h in hs.values()),
       "every host: ha_statefiles and all hosts as network peers", [(h["ha_statefiles"], h["ha_network_peers"]) for h in hs.values()])
    ok(p["ha_host_failures_to_tolerate"] == "0" and p["ha_plan_exists_for"] == "0" and not p["ha_overcommitted"],
       "nothing to tolerate yet: plan for 0, not overcommitted", p)

    st, e = call(px, "pool.enable_ha", s, [nfs], {})
    ok(st == "err" and e == ["HA_IS_ENABLED"], "enable_ha again: HA_IS_ENABLED", e)
    member = next(r for r in hs if r != value(px, "pool.get_master", s, pool))
    st, e = call(px, "pool.eject", s, member)
    ok(st == "err" and e == ["HA_IS_ENABLED"], "pool.eject with HA on: HA_IS_ENABLED", e)

    # failures to tolerate (no VM is protected: every host but one may fail)
    mx = value(px, "pool.ha_compute_max_host_failures_to_tolerate", s)
    ok(mx == str(len(hs) - 1), "ha_compute_max_host_failures_to_tolerate: hosts - 1 with no protected VM", mx)
    st, e = call(px, "pool.set_ha_host_failures_to_tolerate", s, pool, "-1")
    ok(st == "err" and e == ["INVALID_VALUE", "ha_host_failures_to_tolerate", "-1"], "-1 failures: INVALID_VALUE", e)
    value(px, "pool.set_ha_host_failures_to_tolerate", s, pool, "1")
    p = value(px, "pool.get_record", s, pool)
    ok(p["ha_host_failures_to_tolerate"] == "1" and p["ha_plan_exists_for"] == "1" and not p["ha_overcommitted"],
       "tolerate 1: a plan for 1", p)
    st, e = call(px, "pool.set_ha_host_failures_to_tolerate", s, pool, str(len(hs)))
    ok(st == "err" and e == ["HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN"], "more than the hosts allow: HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN", e)
    value(px, "pool.set_ha_allow_overcommit", s, pool, True)
    value(px, "pool.set_ha_host_failures_to_tolerate", s, pool, str(len(hs)))
    p = value(px, "pool.get_record", s, pool)
    ok(p["ha_plan_exists_for"] == str(len(hs) - 1) and p["ha_overcommitted"],
       "with ha_allow_overcommit it is taken: plan for hosts - 1, overcommitted", p)
    value(px, "pool.set_ha_host_failures_to_tolerate", s, pool, "1")

    # a VM's restart priority: xapi's three values only (INVALID_VALUE otherwise)
    guest = next(r for r, v in value(px, "VM.get_all_records", s).items()
                 if not v["is_control_domain"] and not v["is_a_template"] and not v["is_a_snapshot"])
    st, e = call(px, "VM.set_ha_restart_priority", s, guest, "bogus")
    ok(st == "err" and e == ["INVALID_VALUE", "ha_restart_priority", "bogus"], "restart priority 'bogus': INVALID_VALUE", e)
    for prio in ("restart", "best-effort", ""):
        value(px, "VM.set_ha_restart_priority", s, guest, prio)
        ok(value(px, "VM.get_ha_restart_priority", s, guest) == prio, f"restart priority {prio!r} is kept")

    # disable: the fields go, the VDIs stay for the next enable
    value(px, "pool.disable_ha", s)
    p = value(px, "pool.get_record", s, pool)
    hs = value(px, "host.get_all_records", s)
    ok(not p["ha_enabled"] and p["ha_plan_exists_for"] == "0", "disable_ha: ha_enabled false, no plan", p)
    ok(all(h["ha_statefiles"] == [] and h["ha_network_peers"] == [] for h in hs.values()),
       "every host's ha_statefiles and ha_network_peers are empty")
    left = set(value(px, "VDI.get_all", s)) & set(new)
    ok(left == set(new) and "destroy" in value(px, "VDI.get_allowed_operations", s, sf[0]),
       "the statefile and metadata VDIs stay, usable again (xapi reuses them)", left)
    value(px, "pool.enable_ha", s, [], {})
    p = value(px, "pool.get_record", s, pool)
    types = [value(px, "VDI.get_type", s, r) for r in value(px, "VDI.get_all", s)]
    ok(p["ha_enabled"] and p["ha_statefiles"] == sf and types.count("ha_statefile") == 1 and types.count("redo_log") == 1,
       "enable_ha with no SR given picks a capable one and reuses the statefile", (p["ha_statefiles"], sf))
    value(px, "pool.disable_ha", s)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001
        ok(False, "the test ran to the end", repr(e))
    finally:
        stop_all()
    sys.exit(plan())
