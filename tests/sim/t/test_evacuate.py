#!/usr/bin/env python3
"""host.evacuate, host.assert_can_evacuate and
host.get_vms_which_prevent_evacuation as xapi_host.ml plans an evacuation:
a guest whose disk is on the evacuated host's local SR is refused with
VM_REQUIRES_SR and nothing moves; once it is halted the rest move; no other
enabled host: NO_HOSTS_AVAILABLE; a guest too big for the other host:
HOST_NOT_ENOUGH_FREE_MEMORY. Read back through Python's xmlrpc.client.
TAP output."""
import os
import sys
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from simtest import CTX, call, ok, plan, start, stop_all  # noqa: E402


def main():
    url = start("--hosts", "3", "--vms", "12", "--seed", "7")
    px = xmlrpc.client.ServerProxy(url, context=CTX)
    st, s = call(px, "session.login_with_password", "root", "xapi-sim", "2.21", "t")
    ok(st == "ok", "login")

    def v(method, *args):
        st, val = call(px, method, s, *args)
        if st != "ok":
            raise RuntimeError("%s: %r" % (method, val))
        return val

    def e(method, *args):
        st, val = call(px, method, s, *args)
        return val if st == "err" else ["(succeeded)"]

    def guests(h):
        return sorted(r for r in v("host.get_resident_VMs", h) if not v("VM.get_is_control_domain", r))

    def local_srs(vm):
        """The non-shared SRs of vm's disks, read from its VBDs."""
        out = set()
        for b in v("VM.get_VBDs", vm):
            vdi = v("VBD.get_VDI", b)
            if vdi == "OpaqueRef:NULL":
                continue
            sr = v("VDI.get_SR", vdi)
            if not v("SR.get_shared", sr):
                out.add(sr)
        return out

    # a host with guests on its local SR and on shared storage
    host = pinned = movable = None
    for h in v("host.get_all"):
        g = guests(h)
        p = [r for r in g if local_srs(r)]
        m = [r for r in g if not local_srs(r)]
        if p and m:
            host, pinned, movable = h, p, m
            break
    ok(host is not None, "a host runs guests on its local SR and on shared storage")
    if host is None:
        return
    names = {r: v("VM.get_name_label", r) for r in pinned}
    v("host.disable", host)
    before = guests(host)
    err = e("host.evacuate", host)
    ok(err[0] == "VM_REQUIRES_SR" and err[1] in pinned and err[2] in local_srs(err[1]),
       "evacuate refuses with VM_REQUIRES_SR [vm, its local SR]", err)
    ok(guests(host) == before, "nothing moved", guests(host))

    err = e("host.assert_can_evacuate", host)
    ok(err[0] == "CANNOT_EVACUATE_HOST" and len(err) == 2, "assert_can_evacuate: CANNOT_EVACUATE_HOST with one parameter", err)
    parts = [p.split(",") for p in err[1].split("|")] if len(err) == 2 else []
    ok(sorted(p[1] for p in parts) == sorted(pinned)
       and all(p[0] == "VM_REQUIRES_SR" and len(p) == 3 and p[2] in local_srs(p[1]) for p in parts),
       "its parameter names each pinned VM: VM_REQUIRES_SR,vm,sr|...", err)

    blockers = v("host.get_vms_which_prevent_evacuation", host)
    ok(sorted(blockers) == sorted(pinned), "get_vms_which_prevent_evacuation names the pinned VMs",
       [names.get(r, r) for r in blockers])
    ok(all(blockers[r][:2] == ["VM_REQUIRES_SR", r] and blockers[r][2] in local_srs(r) for r in blockers),
       "each maps to [VM_REQUIRES_SR, vm, sr]", blockers)

    # halt the pinned guests: the rest can go
    for r in pinned:
        if v("VM.get_power_state", r) == "Paused":
            v("VM.hard_shutdown", r)
        else:
            v("VM.clean_shutdown", r)
    ok(v("host.get_vms_which_prevent_evacuation", host) == {}, "with them halted nothing prevents evacuation")
    ok(e("host.assert_can_evacuate", host)[0] == "(succeeded)", "assert_can_evacuate passes")
    v("host.evacuate", host)
    ok(guests(host) == [], "evacuate leaves no guest on the host", guests(host))
    moved = {r: v("VM.get_resident_on", r) for r in movable}
    ok(all(h not in (host, "OpaqueRef:NULL") for h in moved.values()), "the others run on other hosts", moved)
    ok(all(v("VM.get_power_state", r) == "Halted" for r in pinned), "the pinned ones stay halted")

    # no other host enabled: every guest NO_HOSTS_AVAILABLE
    other = v("VM.get_resident_on", movable[0])
    for h in v("host.get_all"):
        v("host.disable", h)
    before = guests(other)
    err = e("host.evacuate", other)
    ok(err[:1] == ["NO_HOSTS_AVAILABLE"] and err[1] in before, "no other enabled host: NO_HOSTS_AVAILABLE [vm]", err)
    ok(guests(other) == before, "nothing moved")
    blockers = v("host.get_vms_which_prevent_evacuation", other)
    ok(sorted(blockers) == before and all(b == ["NO_HOSTS_AVAILABLE", r] for r, b in blockers.items()),
       "get_vms_which_prevent_evacuation: every guest NO_HOSTS_AVAILABLE", blockers)
    ok(e("host.get_vms_which_prevent_evacuation", "OpaqueRef:NULL")[0] == "HANDLE_INVALID", "a bad host: HANDLE_INVALID")

    # memory: a guest bigger than any other host's free memory
    url = start("--hosts", "2", "--vms", "6", "--seed", "7")
    px = xmlrpc.client.ServerProxy(url, context=CTX)
    st, s = call(px, "session.login_with_password", "root", "xapi-sim", "2.21", "t")
    master = list(v("pool.get_all_records").values())[0]["master"]
    other = [h for h in v("host.get_all") if h != master][0]
    big = [r for r in guests(master) if not local_srs(r)]
    ok(bool(big), "the master runs a guest on shared storage")
    if not big:
        return
    big = big[0]
    for r in guests(master):
        if r != big:
            v("VM.hard_shutdown", r)
    v("VM.clean_shutdown", big)
    need = int(v("host_metrics.get_memory_total", v("host.get_metrics", other)))
    v("VM.set_memory_limits", big, str(need // 2), str(need), str(need), str(need))
    v("VM.start_on", big, master, False, False)
    v("host.disable", master)
    err = e("host.evacuate", master)
    ok(err == ["HOST_NOT_ENOUGH_FREE_MEMORY", big], "too big for the other host: HOST_NOT_ENOUGH_FREE_MEMORY [vm]", err)
    ok(guests(master) == [big], "nothing moved")
    ok(v("host.get_vms_which_prevent_evacuation", master) == {big: ["HOST_NOT_ENOUGH_FREE_MEMORY", big]},
       "get_vms_which_prevent_evacuation names it")


try:
    main()
except Exception as ex:  # a crash is one failure, not a traceback without TAP
    ok(False, "no exception", repr(ex))
finally:
    stop_all()
sys.exit(plan())
