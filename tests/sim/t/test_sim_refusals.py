#!/usr/bin/env python3
"""What xapi refuses, the simulator refuses too (issue 18), read back through
Python's xmlrpc.client and raw HTTP. TAP output.
- A VM whose disk is on one host's local SR starts, resumes and migrates
  only where that SR is plugged: elsewhere VM_REQUIRES_SR [vm, sr]
  (xapi_vm_helpers.ml assert_can_see_SRs), sync and Async; VM.start picks a
  host that sees it, or NO_HOSTS_AVAILABLE; VBD.plug of such a disk into a
  VM on another host: SR_NOT_ATTACHED [sr].
- An import or export whose client goes away ends its task failure, and
  task.cancel ends it cancelled (TASK_CANCELLED [task]) even while the
  client sends or reads nothing: never pending (or cancelling) for ever.
- Clones and copies get new VIF MACs derived from their new mac_seed
  (xapi_vif_helpers.ml gen_mac); snapshots and reverts keep the MACs."""
import hashlib
import os
import socket
import sys
import time
import urllib.parse
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from simtest import call, ok, plan, start, stop_all  # noqa: E402

MiB = 1024 * 1024


class Sim:
    def __init__(self, url):
        self.url = urllib.parse.urlparse(url)
        self.px = xmlrpc.client.ServerProxy(url, allow_none=True)
        st, self.s = call(self.px, "session.login_with_password", "root", "xapi-sim", "2.21", "t")
        if st != "ok":
            raise RuntimeError("login: %r" % (self.s,))

    def v(self, method, *args):
        st, val = call(self.px, method, self.s, *args)
        if st != "ok":
            raise RuntimeError("%s: %r" % (method, val))
        return val

    def e(self, method, *args):
        """The error description, or ["(succeeded)"]."""
        st, val = call(self.px, method, self.s, *args)
        return val if st == "err" else ["(succeeded)"]

    def wait_task(self, task, timeout=10):
        """The task's record once it has ended, or as it is at the timeout."""
        deadline = time.time() + timeout
        while True:
            rec = self.v("task.get_record", task)
            if rec["status"] not in ("pending", "cancelling") or time.time() > deadline:
                return rec
            time.sleep(0.1)

    def async_error(self, method, *args):
        """Runs Async.<method>; the ended task's (status, error_info)."""
        task = self.v("Async." + method, *args)
        rec = self.wait_task(task)
        return rec["status"], rec["error_info"]

    def q(self, path, **kw):
        kw["session_id"] = self.s
        return path + "?" + urllib.parse.urlencode(kw)

    def open(self, method, path, length=None):
        """A raw connection with the request head sent."""
        c = socket.create_connection((self.url.hostname, self.url.port), timeout=30)
        head = "%s %s HTTP/1.1\r\nHost: sim\r\n" % (method, path)
        if length is not None:
            head += "Content-Length: %d\r\n" % length
        c.sendall((head + "\r\n").encode())
        return c


def read_head(c):
    """The response head's headers, lower-cased keys."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = c.recv(1)
        if not chunk:
            break
        data += chunk
    hdrs = {}
    for line in data.decode("latin-1").split("\r\n")[1:]:
        if ":" in line:
            k, val = line.split(":", 1)
            hdrs[k.strip().lower()] = val.strip()
    return hdrs


def gen_mac(seed, dev):
    """xapi_vif_helpers.ml gen_mac: MD5 chained dev*2 times over the VM's
    mac_seed, then once more; locally administered, unicast."""
    h = hashlib.md5(seed.encode()).digest()
    for _ in range(dev * 2):
        h = hashlib.md5(h).digest()
    h2 = hashlib.md5(h).digest()
    b = [h[0], h[1], h[2], h[3], h2[1], h2[2]]
    b[0] = (b[0] | 2) & 0xfe
    return ":".join("%02x" % x for x in b)


def local_srs(sim):
    """host ref -> its local disk SR (not shared, one PBD on that host)."""
    out = {}
    for ref, sr in sim.v("SR.get_all_records").items():
        if sr["shared"] or sr["type"] not in ("ext", "lvm") or len(sr["PBDs"]) != 1:
            continue
        out[sim.v("PBD.get_host", sr["PBDs"][0])] = ref
    return out


def make_vdi(sim, sr, size, name):
    return sim.v("VDI.create", {"name_label": name, "name_description": "", "SR": sr, "virtual_size": str(size),
                                "type": "user", "sharable": False, "read_only": False, "other_config": {},
                                "xenstore_data": {}, "sm_config": {}, "tags": []})


def attach(sim, vm, vdi, device):
    return sim.v("VBD.create", {"VM": vm, "VDI": vdi, "userdevice": device, "bootable": False, "mode": "RW",
                                "type": "Disk", "unpluggable": True, "empty": False, "other_config": {},
                                "qos_algorithm_type": "", "qos_algorithm_params": {}})


def halted_guest(sim):
    vms = sim.v("VM.get_all_records")
    return next(r for r, v in sorted(vms.items(), key=lambda kv: kv[1]["name_label"])
                if v["power_state"] == "Halted" and not v["is_a_template"] and not v["is_control_domain"]
                and not v["is_a_snapshot"] and v["VIFs"])


def vm_srs(sim, vm):
    srs = set()
    for vbd in sim.v("VM.get_VBDs", vm):
        if not sim.v("VBD.get_empty", vbd):
            srs.add(sim.v("VDI.get_SR", sim.v("VBD.get_VDI", vbd)))
    return srs


# ---- VMs on a host's local SR ------------------------------------------------------

def test_local_sr(sim):
    local = local_srs(sim)
    hosts = sorted(local, key=lambda h: sim.v("host.get_name_label", h))
    ok(len(hosts) >= 3, "every host has its local SR", local)
    a, b = hosts[0], hosts[1]
    sr_a, sr_b = local[a], local[b]
    vm = sim.v("VM.copy", halted_guest(sim), "on A's local SR", sr_a)
    ok(sr_a in vm_srs(sim, vm), "VM.copy put the VM's disk on A's local SR", vm_srs(sim, vm))
    want = ["VM_REQUIRES_SR", vm, sr_a]

    err = sim.e("VM.start_on", vm, b, False, False)
    ok(err == want, "VM.start_on a host that cannot see the disk's SR: VM_REQUIRES_SR [vm, sr]", err)
    ok(sim.v("VM.get_power_state", vm) == "Halted", "the refused VM is still halted")
    st, info = sim.async_error("VM.start_on", vm, b, False, False)
    ok(st == "failure" and info == want, "Async.VM.start_on: the task fails with VM_REQUIRES_SR", (st, info))
    err = sim.e("VM.assert_can_boot_here", vm, b)
    ok(err == want, "VM.assert_can_boot_here on that host: VM_REQUIRES_SR", err)
    ok(sim.e("VM.assert_can_boot_here", vm, a) == ["(succeeded)"], "VM.assert_can_boot_here on A: fine")
    ok(sim.v("VM.get_possible_hosts", vm) == [a], "VM.get_possible_hosts: A alone", sim.v("VM.get_possible_hosts", vm))

    sim.v("VM.start", vm, False, False)
    ok(sim.v("VM.get_resident_on", vm) == a, "VM.start without a host picks the host that sees the SR",
       sim.v("VM.get_resident_on", vm))
    err = sim.e("VM.pool_migrate", vm, b, {"live": "true"})
    ok(err == want, "VM.pool_migrate to a host that cannot see the SR: VM_REQUIRES_SR", err)
    st, info = sim.async_error("VM.pool_migrate", vm, b, {"live": "true"})
    ok(st == "failure" and info == want, "Async.VM.pool_migrate: the task fails with VM_REQUIRES_SR", (st, info))
    ok(sim.v("VM.get_resident_on", vm) == a and sim.v("VM.get_power_state", vm) == "Running",
       "the refused migration leaves the VM running on A")

    sim.v("VM.suspend", vm)
    err = sim.e("VM.resume_on", vm, b, False, False)
    ok(err == want, "VM.resume_on a host that cannot see the SR: VM_REQUIRES_SR", err)
    st, info = sim.async_error("VM.resume_on", vm, b, False, False)
    ok(st == "failure" and info == want, "Async.VM.resume_on: the task fails with VM_REQUIRES_SR", (st, info))
    sim.v("VM.resume", vm, False, False)
    ok(sim.v("VM.get_resident_on", vm) == a, "VM.resume without a host resumes it on A")
    sim.v("VM.hard_shutdown", vm)

    # no host that can see it: NO_HOSTS_AVAILABLE, as Xapi_vm_placement.select_host
    sim.v("host.disable", a)
    try:
        err = sim.e("VM.start", vm, False, False)
        ok(err == ["NO_HOSTS_AVAILABLE"], "VM.start when the only host that sees the SR is disabled: "
           "NO_HOSTS_AVAILABLE", err)
        st, info = sim.async_error("VM.start", vm, False, False)
        ok(st == "failure" and info == ["NO_HOSTS_AVAILABLE"], "Async.VM.start: the same", (st, info))
    finally:
        sim.v("host.enable", a)
    ok(sim.v("VM.get_power_state", vm) == "Halted", "the refused VM is still halted")

    # disks on two hosts' local SRs: no host sees both
    attach(sim, vm, make_vdi(sim, sr_b, 64 * MiB, "on B"), "5")
    err = sim.e("VM.start", vm, False, False)
    ok(err == ["NO_HOSTS_AVAILABLE"], "a VM with disks on A's and B's local SRs: VM.start NO_HOSTS_AVAILABLE", err)
    err = sim.e("VM.start_on", vm, a, False, False)
    ok(err == ["VM_REQUIRES_SR", vm, sr_b], "... and VM.start_on A names B's SR", err)
    ok(sim.v("VM.get_possible_hosts", vm) == [], "VM.get_possible_hosts: none")

    # hot-plugging a disk the VM's host cannot see
    runner = sim.v("VM.copy", halted_guest(sim), "on B", sr_b)
    sim.v("VM.start_on", runner, b, False, False)
    foreign = attach(sim, runner, make_vdi(sim, sr_a, 64 * MiB, "A's disk"), "6")
    err = sim.e("VBD.plug", foreign)
    ok(err == ["SR_NOT_ATTACHED", sr_a], "VBD.plug of a disk on A's local SR into a VM on B: SR_NOT_ATTACHED [sr]",
       err)
    ok(sim.v("VBD.get_currently_attached", foreign) is False, "the refused VBD stays unplugged")
    st, info = sim.async_error("VBD.plug", foreign)
    ok(st == "failure" and info == ["SR_NOT_ATTACHED", sr_a], "Async.VBD.plug: the same", (st, info))
    own = attach(sim, runner, make_vdi(sim, sr_b, 64 * MiB, "B's disk"), "7")
    sim.v("VBD.plug", own)
    ok(sim.v("VBD.get_currently_attached", own) is True, "a disk on B's own local SR plugs into the VM on B")
    sim.v("VM.hard_shutdown", runner)


# ---- imports and exports that end early -------------------------------------------

def random_disk(sim, sr, size):
    """A VDI holding size random bytes."""
    vdi = make_vdi(sim, sr, size, "transfer source")
    data = os.urandom(size)
    c = sim.open("PUT", sim.q("/import_raw_vdi", vdi=vdi, format="raw"), len(data))
    c.sendall(data)
    read_head(c)
    c.close()
    return vdi


def transfer_task(sim, label, before):
    """The one task named label made since before (a set of task refs)."""
    deadline = time.time() + 10
    while time.time() < deadline:
        new = [r for r, t in sim.v("task.get_all_records").items() if r not in before and t["name_label"] == label]
        if new:
            return new[0]
        time.sleep(0.1)
    return None


def upload_then(sim, path, prefix, total, cancel, label, **kw):
    """PUT path with Content-Length total, prefix sent; then either
    task.cancel while the client sends nothing more, or the client closes.
    The ended task's record, how long it took to end, the task."""
    before = set(sim.v("task.get_all"))
    c = sim.open("PUT", sim.q(path, **kw), total)
    c.sendall(prefix)
    task = kw.get("task_id") or transfer_task(sim, label, before)
    time.sleep(0.5)
    t0 = time.time()
    if cancel:
        sim.v("task.cancel", task)
    else:
        c.close()
    rec = sim.wait_task(task)
    took = time.time() - t0
    c.close()
    return rec, took, task


def download_then(sim, path, cancel, **kw):
    """GET path, read the head and a little, then stop reading: task.cancel,
    or close. The ended task's record, how long it took to end, the task."""
    c = sim.open("GET", sim.q(path, **kw))
    hdrs = read_head(c)
    c.recv(65536)
    task = hdrs.get("task-id") or kw.get("task_id")
    time.sleep(0.5)
    t0 = time.time()
    if cancel:
        sim.v("task.cancel", task)
    else:
        c.close()
    rec = sim.wait_task(task)
    took = time.time() - t0
    c.close()
    return rec, took, task


def ended(rec, status, took, task=None):
    """The task ended status within 5 s; cancelled ones with TASK_CANCELLED [task]."""
    if rec["status"] != status or took > 5:
        return False
    return status != "cancelled" or rec["error_info"] == ["TASK_CANCELLED", task]


def test_transfers(sim):
    sr = next(iter(sim.v("pool.get_all_records").values()))["default_SR"]
    src = random_disk(sim, sr, 64 * MiB)
    size = 64 * MiB

    # /import_raw_vdi
    dst = make_vdi(sim, sr, size, "upload target")
    rec, took, task = upload_then(sim, "/import_raw_vdi", b"\1" * MiB, size, False, "Importing raw VDI",
                                  vdi=dst, format="raw")
    ok(ended(rec, "failure", took), "/import_raw_vdi whose client closes midway: the task fails at once",
       (rec["status"], rec["error_info"], took))
    rec, took, task = upload_then(sim, "/import_raw_vdi", b"\1" * MiB, size, True, "Importing raw VDI",
                                  vdi=dst, format="raw")
    ok(ended(rec, "cancelled", took, task),
       "/import_raw_vdi cancelled while the client sends nothing: cancelled, TASK_CANCELLED [task]",
       (rec["status"], rec["error_info"], took))
    own = sim.v("task.create", "mine", "")
    rec, took, task = upload_then(sim, "/import_raw_vdi", b"\1" * MiB, size, True, None, vdi=dst, format="raw",
                                  task_id=own)
    ok(ended(rec, "cancelled", took, own), "... and with the client's own task_id: that task is cancelled",
       (rec["status"], rec["error_info"], took))
    vdis = set(sim.v("VDI.get_all"))
    rec, took, task = upload_then(sim, "/import_raw_vdi", b"\1" * MiB, size, True, "Importing raw VDI",
                                  sr_id=sr, format="raw")
    ok(ended(rec, "cancelled", took, task) and set(sim.v("VDI.get_all")) == vdis,
       "a cancelled upload into a new VDI (sr_id=) ends cancelled and leaves no VDI", (rec["status"], took))

    # /export_raw_vdi
    rec, took, task = download_then(sim, "/export_raw_vdi", True, vdi=src, format="raw")
    ok(ended(rec, "cancelled", took, task), "/export_raw_vdi cancelled while the client reads nothing: cancelled",
       (rec["status"], rec["error_info"], took))
    rec, took, task = download_then(sim, "/export_raw_vdi", False, vdi=src, format="raw")
    ok(ended(rec, "failure", took), "/export_raw_vdi whose client closes midway: the task fails",
       (rec["status"], rec["error_info"], took))

    # /export and /import (XVA)
    vm = sim.v("VM.clone", halted_guest(sim), "xva source")
    for vbd in sim.v("VM.get_VBDs", vm):
        if sim.v("VBD.get_type", vbd) == "Disk":
            sim.v("VBD.destroy", vbd)
    attach(sim, vm, src, "0")
    rec, took, task = download_then(sim, "/export", True, ref=vm)
    ok(ended(rec, "cancelled", took, task), "/export cancelled while the client reads nothing: cancelled",
       (rec["status"], rec["error_info"], took))
    ok(not sim.v("VM.get_current_operations", vm), "the cancelled export leaves no operation on the VM",
       sim.v("VM.get_current_operations", vm))
    # the head of an XVA, for the imports below; the export's client then goes away
    c = sim.open("GET", sim.q("/export", ref=vm))
    task = read_head(c).get("task-id")
    prefix = b""
    while len(prefix) < 2 * MiB:
        chunk = c.recv(65536)
        if not chunk:
            break
        prefix += chunk
    t0 = time.time()
    c.close()
    rec = sim.wait_task(task)
    ok(rec["status"] == "failure" and time.time() - t0 <= 5, "/export whose client closes midway: the task fails",
       (rec["status"], rec["error_info"]))
    vms = set(sim.v("VM.get_all"))
    rec, took, task = upload_then(sim, "/import", prefix, 80 * MiB, True, "VM.import", sr_id=sr)
    ok(ended(rec, "cancelled", took, task), "/import cancelled while the client sends nothing: cancelled",
       (rec["status"], rec["error_info"], took))
    ok(set(sim.v("VM.get_all")) == vms, "the cancelled import leaves no VM")
    rec, took, task = upload_then(sim, "/import", prefix, 80 * MiB, False, "VM.import", sr_id=sr)
    ok(ended(rec, "failure", took), "/import whose client closes midway: the task fails",
       (rec["status"], rec["error_info"], took))
    ok(set(sim.v("VM.get_all")) == vms, "the failed import leaves no VM")

    # a cancel that comes when the transfer has ended changes nothing
    c = sim.open("GET", sim.q("/export_raw_vdi", vdi=src, format="raw"))
    task = read_head(c).get("task-id")
    got = 0
    while True:
        chunk = c.recv(1 << 20)
        if not chunk:
            break
        got += len(chunk)
    c.close()
    rec = sim.wait_task(task)
    ok(rec["status"] == "success" and got == size, "a whole export's task succeeds", (rec["status"], got))
    err = sim.e("task.cancel", task)
    ok(err[0] == "OPERATION_NOT_ALLOWED" and sim.v("task.get_status", task) == "success",
       "cancelling it afterwards is refused and it stays a success", err)


# ---- VIF MACs of clones, copies and snapshots --------------------------------------

def macs(sim, vm):
    """device -> (MAC, MAC_autogenerated)"""
    out = {}
    for vif in sim.v("VM.get_VIFs", vm):
        rec = sim.v("VIF.get_record", vif)
        out[rec["device"]] = (rec["MAC"], rec["MAC_autogenerated"])
    return out


def seed_of(sim, vm):
    return sim.v("VM.get_other_config", vm).get("mac_seed")


def derived(sim, vm):
    """Every VIF's MAC is gen_mac(device, the VM's mac_seed), autogenerated."""
    seed = seed_of(sim, vm)
    m = macs(sim, vm)
    return bool(m) and seed is not None and all(mac == gen_mac(seed, int(d)) and auto for d, (mac, auto) in m.items())


def test_macs(sim):
    src = halted_guest(sim)
    src_macs = macs(sim, src)
    ok(len(src_macs) >= 1, "the source VM has a VIF", src_macs)

    clone = sim.v("VM.clone", src, "mac clone")
    ok(seed_of(sim, clone) and seed_of(sim, clone) != seed_of(sim, src), "a clone gets a new mac_seed")
    cm = macs(sim, clone)
    ok(set(cm) == set(src_macs) and all(cm[d][0] != src_macs[d][0] for d in cm),
       "a clone's VIFs get new MACs (xapi_vm_clone.ml: preserve_mac_address only for snapshots)", (cm, src_macs))
    ok(derived(sim, clone), "... derived from its mac_seed as xapi_vif_helpers.ml gen_mac does, autogenerated", cm)

    copy = sim.v("VM.copy", src, "mac copy", "OpaqueRef:NULL")
    ok(derived(sim, copy) and all(macs(sim, copy)[d][0] != src_macs[d][0] for d in src_macs),
       "a copy's VIFs get new MACs from its own mac_seed", macs(sim, copy))

    snap = sim.v("VM.snapshot", clone, "mac snap")
    sm = macs(sim, snap)
    ok({d: m for d, (m, _) in sm.items()} == {d: m for d, (m, _) in cm.items()}
       and not any(auto for _, auto in sm.values()) and seed_of(sim, snap) == seed_of(sim, clone),
       "a snapshot keeps the VM's MACs (given, so not autogenerated) and its mac_seed", (sm, cm))
    from_snap = sim.v("VM.clone", snap, "from snapshot")
    ok(derived(sim, from_snap) and all(macs(sim, from_snap)[d][0] != cm[d][0] for d in cm),
       "a VM cloned from a snapshot gets new MACs", macs(sim, from_snap))

    # revert: the VM's VIFs become copies of the snapshot's, MACs kept
    for vif in sim.v("VM.get_VIFs", clone):
        sim.v("VIF.destroy", vif)
    sim.v("VM.revert", snap)
    ok({d: m for d, (m, _) in macs(sim, clone).items()} == {d: m for d, (m, _) in cm.items()},
       "a revert gives the VM back the snapshot's VIFs with their MACs", (macs(sim, clone), cm))

    # an imported VM (not a restore) gets a new mac_seed and MACs derived from it (import.ml)
    c = sim.open("GET", sim.q("/export", ref=from_snap))
    read_head(c)
    xva = b""
    while True:
        chunk = c.recv(1 << 20)
        if not chunk:
            break
        xva += chunk
    c.close()
    sr = next(iter(sim.v("pool.get_all_records").values()))["default_SR"]
    task = sim.v("task.create", "mac import", "")
    c = sim.open("PUT", sim.q("/import", sr_id=sr, task_id=task), len(xva))
    c.sendall(xva)
    read_head(c)
    c.close()
    rec = sim.wait_task(task, 30)
    refs = [r for r, v in sim.v("VM.get_all_records").items() if v["other_config"].get("import_task") == task]
    ok(rec["status"] == "success" and len(refs) == 1 and derived(sim, refs[0])
       and seed_of(sim, refs[0]) != seed_of(sim, from_snap)
       and all(macs(sim, refs[0])[d][0] != macs(sim, from_snap)[d][0] for d in macs(sim, from_snap)),
       "an imported VM gets a new mac_seed and MACs derived from it", (rec["status"], rec["error_info"], refs))

    # VIF.create: "" derives the MAC from the seed; a given one is kept; a bad one is refused
    net = sim.v("VIF.get_network", sim.v("VM.get_VIFs", clone)[0])
    rec = {"device": "3", "network": net, "VM": clone, "MAC": "", "MTU": "1500", "other_config": {},
           "qos_algorithm_type": "", "qos_algorithm_params": {}}
    vif = sim.v("VIF.create", rec)
    ok(sim.v("VIF.get_MAC", vif) == gen_mac(seed_of(sim, clone), 3) and sim.v("VIF.get_MAC_autogenerated", vif),
       "VIF.create with MAC \"\": gen_mac(device, mac_seed), autogenerated", sim.v("VIF.get_MAC", vif))
    vif = sim.v("VIF.create", dict(rec, device="4", MAC="02:11:22:33:44:55"))
    ok(sim.v("VIF.get_MAC", vif) == "02:11:22:33:44:55" and not sim.v("VIF.get_MAC_autogenerated", vif),
       "VIF.create with a MAC keeps it, not autogenerated")
    err = sim.e("VIF.create", dict(rec, device="5", MAC="02:11:22:33:44"))
    ok(err == ["MAC_INVALID", "02:11:22:33:44"], "VIF.create with a malformed MAC: MAC_INVALID", err)
    ok(not [v for v in sim.v("VM.get_VIFs", clone) if sim.v("VIF.get_device", v) == "5"],
       "the refused VIF is not left behind")


def main():
    try:
        sim = Sim(start("--plain", "--hosts", "3", "--vms", "12", "--seed", "3"))
        for part in (test_local_sr, test_transfers, test_macs):
            try:
                part(sim)
            except Exception as e:  # a broken step fails its part, not the others
                ok(False, "%s ran to its end" % part.__name__, repr(e))
    finally:
        stop_all()
    return plan()


if __name__ == "__main__":
    sys.exit(main())
