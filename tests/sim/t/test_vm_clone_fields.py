#!/usr/bin/env python3
"""What VM.clone, VM.copy and VM.snapshot keep of the VM record, as xapi's
xapi_vm_clone.ml copy_vm_record does, read back with Python's xmlrpc.client:
tags, description, affinity, PV and other settings are kept;
blocked_operations starts empty and ha_always_run false; other_config loses
default_template and xensource_internal, a clone or copy gets a new
mac_seed (a snapshot keeps it), and a copy of a template (a snapshot is one)
remembers it in base_template_name; a clone of a snapshot is a template; a
clone of a suspended VM stays suspended with its own memory image; a
snapshot records snapshot_info and takes its place in the parent/children
tree; every disk VBD of the new VM says it owns its disk (owner). TAP."""
import os
import sys
import urllib.parse
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from simtest import CTX, call, ok, plan, start, stop_all  # noqa: E402

NULL = "OpaqueRef:NULL"


class Sim:
    def __init__(self, url):
        self.url = urllib.parse.urlparse(url)
        self.px = xmlrpc.client.ServerProxy(url, allow_none=True, context=CTX)
        st, self.s = call(self.px, "session.login_with_password", "root", "xapi-sim", "2.21", "t")
        if st != "ok":
            raise RuntimeError("login: %r" % (self.s,))

    def v(self, method, *args):
        st, val = call(self.px, method, self.s, *args)
        if st != "ok":
            raise RuntimeError("%s: %r" % (method, val))
        return val


def guest(sim, state):
    vms = sim.v("VM.get_all_records")
    return next(r for r, v in sorted(vms.items(), key=lambda kv: kv[1]["name_label"])
                if v["power_state"] == state and not v["is_a_template"] and not v["is_control_domain"]
                and not v["is_a_snapshot"] and v["VBDs"])


def disk_vbds(sim, vm):
    return [sim.v("VBD.get_record", b) for b in sim.v("VM.get_VBDs", vm) if sim.v("VBD.get_type", b) == "Disk"]


def kept(sim, src, new, what):
    """The settings copy_vm_record copies, and what it leaves behind."""
    a, b = sim.v("VM.get_record", src), sim.v("VM.get_record", new)
    same = ["name_description", "tags", "affinity", "PV_kernel", "PV_args", "HVM_boot_params", "platform",
            "VCPUs_max", "memory_static_max", "xenstore_data", "bios_strings", "user_version"]
    diff = {k: (a[k], b[k]) for k in same if a[k] != b[k]}
    ok(not diff, "%s keeps tags, description, affinity, PV and other settings" % what, diff)
    ok(b["blocked_operations"] == {} and not b["ha_always_run"],
       "%s has no blocked_operations and ha_always_run false (the source has %r)" % (what, a["blocked_operations"]),
       (b["blocked_operations"], b["ha_always_run"]))
    oc = b["other_config"]
    ok(oc.get("keep") == "me" and "xensource_internal" not in oc and "default_template" not in oc,
       "%s: other_config kept but for xensource_internal and default_template" % what, oc)
    vbds = disk_vbds(sim, new)
    ok(vbds and all(v["other_config"].get("owner") == "" and v["other_config"].get("vbd-mark") == "x" for v in vbds),
       "%s: its disk VBDs keep their other_config and say they own the disk (owner)" % what,
       [v["other_config"] for v in vbds])
    return a, b


def main():
    sim = Sim(start("--hosts", "2", "--vms", "6"))
    host = sorted(sim.v("host.get_all"))[0]
    src = guest(sim, "Halted")
    sim.v("VM.set_tags", src, ["web", "prod"])
    sim.v("VM.set_name_description", src, "the source")
    sim.v("VM.set_affinity", src, host)
    sim.v("VM.set_PV_kernel", src, "/boot/vmlinuz-test")
    sim.v("VM.add_to_blocked_operations", src, "start", "kept away")
    sim.v("VM.add_to_other_config", src, "keep", "me")
    sim.v("VM.add_to_other_config", src, "xensource_internal", "true")
    for vbd in sim.v("VM.get_VBDs", src):
        if sim.v("VBD.get_type", vbd) == "Disk":
            sim.v("VBD.add_to_other_config", vbd, "vbd-mark", "x")
    seed = sim.v("VM.get_other_config", src).get("mac_seed")

    # ---- clone and copy ---------------------------------------------------------------
    clone = sim.v("VM.clone", src, "fields clone")
    a, b = kept(sim, src, clone, "a clone")
    ok(b["other_config"].get("mac_seed") not in (None, seed), "a clone gets a new mac_seed",
       (seed, b["other_config"].get("mac_seed")))
    ok(not b["is_a_template"] and b["parent"] == NULL and b["power_state"] == "Halted"
       and b["snapshot_info"] == {}
       and b["other_config"].get("base_template_name") == a["other_config"].get("base_template_name"),
       "a clone of a VM is a halted VM of its own (no parent, no snapshot_info, the source's base_template_name)",
       (b["is_a_template"], b["parent"], b["power_state"], b["snapshot_info"]))
    copy = sim.v("VM.copy", src, "fields copy", NULL)
    a, b = kept(sim, src, copy, "a copy")
    ok(b["other_config"].get("mac_seed") not in (None, seed), "a copy gets a new mac_seed too")

    # ---- snapshots: snapshot_info and the parent tree --------------------------------
    parent = sim.v("VM.get_parent", src)
    s1 = sim.v("VM.snapshot", src, "fields snap 1")
    a, b = kept(sim, src, s1, "a snapshot")
    ok(b["other_config"].get("mac_seed") == seed, "a snapshot keeps the mac_seed", (seed, b["other_config"]))
    ok(b["snapshot_info"] == {"power-state-at-snapshot": "Halted", "disk-snapshot-type": "crash_consistent"},
       "snapshot_info says the power state at the snapshot and crash_consistent", b["snapshot_info"])
    ok(sim.v("VM.get_parent", src) == s1 and b["parent"] == parent,
       "the snapshot takes the VM's parent and becomes the VM's parent", (sim.v("VM.get_parent", src), s1))
    s2 = sim.v("VM.snapshot", src, "fields snap 2")
    ok(sim.v("VM.get_parent", s2) == s1 and sim.v("VM.get_parent", src) == s2 and s2 in sim.v("VM.get_children", s1),
       "a second snapshot: its parent is the first, the VM's parent is the second (children says so)",
       (sim.v("VM.get_parent", s2), sim.v("VM.get_children", s1)))

    from_snap = sim.v("VM.clone", s1, "from a snapshot")
    r = sim.v("VM.get_record", from_snap)
    ok(r["is_a_template"] and not r["is_a_snapshot"] and r["snapshot_of"] == NULL and r["parent"] == NULL,
       "a clone of a snapshot is a template (is_a_template as the snapshot's), not a snapshot",
       (r["is_a_template"], r["is_a_snapshot"]))
    ok(r["other_config"].get("base_template_name")
       == sim.v("VM.get_other_config", s1).get("base_template_name", "fields snap 1"),
       "... and remembers where it came from in base_template_name", r["other_config"])
    ok(r["blocked_operations"] == {} and r["tags"] == ["web", "prod"], "... with the tags, without blocked operations",
       (r["blocked_operations"], r["tags"]))

    # ---- a template's clone ----------------------------------------------------------
    tmpl, t = next((ref, v) for ref, v in sorted(sim.v("VM.get_all_records").items(), key=lambda kv: kv[1]["name_label"])
                   if v["is_a_template"] and v["is_default_template"] and not v["is_a_snapshot"])
    nt = sim.v("VM.get_record", sim.v("VM.clone", tmpl, "my template"))
    ok(nt["is_a_template"] and not nt["is_default_template"] and "default_template" not in nt["other_config"]
       and nt["other_config"].get("base_template_name") == t["other_config"].get("base_template_name", t["name_label"]),
       "a clone of a default template: a template, not a default one, base_template_name " + t["name_label"],
       (nt["is_default_template"], nt["other_config"]))

    # ---- a suspended VM's clone stays suspended ---------------------------------------
    run = guest(sim, "Running")
    sim.v("VM.suspend", run)
    sv = sim.v("VM.get_suspend_VDI", run)
    c = sim.v("VM.get_record", sim.v("VM.clone", run, "suspended clone"))
    ok(c["power_state"] == "Suspended" and (sv == NULL or c["suspend_VDI"] not in (NULL, sv)),
       "a clone of a suspended VM is suspended, with its own copy of the memory image", (c["power_state"], sv,
                                                                                          c["suspend_VDI"]))
    snap_of_susp = sim.v("VM.get_record", sim.v("VM.snapshot", run, "snap of suspended"))
    ok(snap_of_susp["power_state"] == "Halted" and snap_of_susp["suspend_VDI"] == NULL
       and snap_of_susp["snapshot_info"].get("power-state-at-snapshot") == "Suspended",
       "a snapshot of it is halted, its snapshot_info says Suspended", snap_of_susp["snapshot_info"])
    stop_all()
    sys.exit(plan())


try:
    main()
except Exception:
    stop_all()
    raise
