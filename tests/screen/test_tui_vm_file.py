"""Export and import of a VM as an .xva file in xentui --demo, as a person
does it: w on the VM list opens the form (Tab completes the path), the VM
files screen shows the export's progress and its end; the file is an XVA
whose disks equal the simulator's VDI bytes; exporting over it asks first
and keeping it leaves it untouched; U imports it as a new VM on the chosen
SR with equal disks; a file that is no XVA is refused in the form; an export
cancelled with x midway leaves neither the file nor its .partial. TAP."""
import gzip
import hashlib
import io
import os
import re
import shutil
import ssl
import subprocess
import sys
import tarfile
import tempfile
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import Pool, Tap, Timeout, Tui, row_starting  # noqa: E402

MiB = 1 << 20
SLOW = 16000000  # bytes/s: the big export lasts long enough to be cancelled


def raw_vdi(pool, vdi):
    q = urllib.parse.urlencode({"session_id": pool.sid, "vdi": vdi, "format": "raw"})
    with urllib.request.urlopen(pool.url + "/export_raw_vdi?" + q, context=ssl._create_unverified_context(),
                                timeout=120) as r:
        return r.read()


def disks(pool, vm):
    out = {}
    for vbd in pool.call("VM.get_VBDs", vm):
        v = pool.call("VBD.get_record", vbd)
        if v["type"] == "Disk" and v["VDI"] != "OpaqueRef:NULL":
            out[v["userdevice"]] = v["VDI"]
    return out


def one_disk(pool, vm, size, content):
    """Replaces the halted VM's disks with one of size bytes whose data the
    sim makes from content (other_config content_of)."""
    sr = pool.call("VDI.get_SR", next(iter(disks(pool, vm).values())))
    for vbd in pool.call("VM.get_VBDs", vm):
        if pool.call("VBD.get_type", vbd) == "Disk":
            pool.call("VBD.destroy", vbd)
    vdi = pool.call("VDI.create", {
        "name_label": "test disk", "name_description": "", "SR": sr, "virtual_size": str(size), "type": "user",
        "sharable": False, "read_only": False, "other_config": {"content_of": content}, "xenstore_data": {},
        "sm_config": {}, "tags": []})
    pool.call("VBD.create", {"VM": vm, "VDI": vdi, "userdevice": "0", "bootable": True, "mode": "RW", "type": "Disk",
                             "unpluggable": True, "empty": False, "other_config": {}, "qos_algorithm_type": "",
                             "qos_algorithm_params": {}})
    return sr


def xva_disk_data(raw):
    """The XVA's disks' bytes (zero chunks filled in), trailing zeros cut."""
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    elif raw[:4] == b"\x28\xb5\x2f\xfd":
        raw = subprocess.run(["zstd", "-dc"], input=raw, capture_output=True, check=True).stdout
    chunks, first = {}, None
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as t:
        for m in t.getmembers():
            first = first or m.name
            mm = re.fullmatch(r"(Ref:[^/]+)/(\d{8})", m.name)
            if mm:
                chunks.setdefault(mm.group(1), {})[int(mm.group(2))] = t.extractfile(m).read()
    out = sorted(b"".join(cs.get(i, b"\0" * MiB) for i in range(max(cs) + 1)).rstrip(b"\0") for cs in chunks.values())
    return first, out


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def only(tui, name):
    tui.keys("/")
    tui.keys("C-u")
    tui.keys_literal(name)
    tui.keys("Enter")
    return tui.wait(lambda s: row_starting(s, name) and "1 of" in s.split("\n")[1])


def vms(tui):
    tui.keys(":")
    tui.keys_literal("vms")
    tui.keys("Enter")
    tui.wait(r"^NAME.*POWER")


def export_form(tui, name, path):
    only(tui, name)
    tui.keys("w")
    tui.wait("Export VM")
    tui.keys("C-u")
    tui.keys_literal(path)


def main():
    tap = Tap()
    tmp = tempfile.mkdtemp(prefix="xentui-vmfile-tui-")
    os.makedirs(os.path.join(tmp, "exports"))
    tui = Tui("vmfile", env={"NO_COLOR": "1", "XENTUI_DEMO_ARGS": f"--faults slow={SLOW}"}, cols=120, rows=36)
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())
        guests = pool.guests()
        names = [v["name_label"] for v in guests.values()]
        halted = sorted((v["name_label"], r) for r, v in guests.items()
                        if v["power_state"] == "Halted" and names.count(v["name_label"]) == 1
                        and not any(v["name_label"] in o and v["name_label"] != o for o in names) and disks(pool, r))
        (name, vm), (bname, bvm) = halted[:2]
        sr = one_disk(pool, vm, 6 * MiB, "pattern:2:11")
        one_disk(pool, bvm, 640 * MiB, "pattern:1:5")
        want = sorted(raw_vdi(pool, v).rstrip(b"\0") for v in disks(pool, vm).values())
        vms(tui)

        # ---- export: the form, Tab completion, the progress screen, the file --------------
        path = os.path.join(tmp, "exports", "vm.xva")
        export_form(tui, name, os.path.join(tmp, "exp"))
        tui.keys("Tab")
        tui.attempt(tap, lambda s: os.path.join(tmp, "exports") + "/" in s, "Tab completes the folder in the File field")
        tui.keys_literal("vm.xva")
        tui.keys("Enter")
        tui.attempt(tap, re.escape(f"Export '{name}' to {path}"), "the VM files screen shows the export")
        tui.attempt(tap, r"done: .* written to", "it says the export is done", timeout=60)
        tap.check(os.path.exists(path) and not os.path.exists(path + ".partial"), "the file is there, no .partial")
        if os.path.exists(path):
            raw = open(path, "rb").read()
            first, got = xva_disk_data(raw)
            tap.check(raw[:4] == b"\x28\xb5\x2f\xfd" and first == "ova.xml", "it is a zstd XVA (ova.xml first)")
            tap.check(got == want, "its disk equals the sim's VDI bytes", (len(got), len(want)))

        # ---- over an existing file: asked, and kept --------------------------------------
        before = sha(path) if os.path.exists(path) else None
        tui.keys("Escape")
        tui.wait(r"^NAME.*POWER")
        export_form(tui, name, path)
        tui.keys("Enter")
        tui.attempt(tap, r"vm\.xva exists \(.*\)[\s\S]*Replace it with the export of", "exporting over a file asks first, naming it")
        tui.keys("Escape")
        tui.attempt(tap, "Export VM", "keeping it brings the form back")
        tui.keys("Escape")
        tap.check(before and sha(path) == before, "the file is untouched")

        # ---- import: the form, the SR, the new VM -------------------------------------------
        srname = pool.call("SR.get_name_label", sr)
        count = len(pool.call("VM.get_all"))
        tui.wait(r"^NAME.*POWER")
        tui.keys("U")
        tui.wait("Import VM")
        tui.keys("C-u")
        tui.keys_literal(path)
        tui.keys("Tab")
        # the SR choice: move to the disk's SR
        srs_shown = None
        for _ in range(12):
            s = tui.screen()
            m = re.search(r"Disks on SR\s*[<\[]?\s*(.*?)\s*[>\]]", s)
            if m and m.group(1).strip() == srname:
                srs_shown = srname
                break
            tui.keys("Right")
            tui.wait(lambda s2: s2 != s, timeout=2)
        tap.check(srs_shown == srname, "the SR is chosen in the form", tui.screen() if srs_shown is None else "")
        tui.keys("Enter")
        tui.attempt(tap, re.escape(f"Import vm.xva into '{srname}'"), "the VM files screen shows the import")
        screen = tui.attempt(tap, r"done: the new VM's UUID is [0-9a-f-]{36}", "it says the import is done", timeout=60)
        m = re.search(r"UUID is ([0-9a-f-]{36})", screen or "")
        if m:
            new = pool.call("VM.get_by_uuid", m.group(1))
            nd = disks(pool, new)
            tap.check(pool.call("VM.get_name_label", new) == name and len(pool.call("VM.get_all")) == count + 1,
                      "a new VM named as the exported one")
            tap.check(sorted(raw_vdi(pool, v).rstrip(b"\0") for v in nd.values()) == want
                      and all(pool.call("VDI.get_SR", v) == sr for v in nd.values()),
                      "its disk equals the original's, on the SR chosen")

        # ---- a file that is no XVA: refused in the form ------------------------------------
        junk = os.path.join(tmp, "junk.xva")
        with open(junk, "wb") as f:
            f.write(os.urandom(MiB))
        tui.keys("Escape")
        tui.wait(r"^NAME.*POWER")
        tui.keys("U")
        tui.wait("Import VM")
        tui.keys("C-u")
        tui.keys_literal(junk)
        tui.keys("Enter")
        tui.attempt(tap, "not an XVA file", "a file that is no XVA is refused beside the field")
        tui.keys("Escape")
        tap.check(len(pool.call("VM.get_all")) == count + 1, "and nothing is made on the pool")

        # ---- a cut file: it passes the form, the transfer refuses it, nothing is left ------
        cut = os.path.join(tmp, "cut.xva")
        with open(path, "rb") as f:
            raw = f.read()
        with open(cut, "wb") as f:
            f.write(raw[:len(raw) * 2 // 3])
        vdis = len(pool.call("VDI.get_all"))
        tui.wait(r"^NAME.*POWER")
        tui.keys("U")
        tui.wait("Import VM")
        tui.keys("C-u")
        tui.keys_literal(cut)
        tui.keys("Enter")
        tui.attempt(tap, r"cut\.xva cannot be imported: .*cut short", "a cut file is refused in a sentence", timeout=60)
        try:
            pool.wait(lambda: len(pool.call("VM.get_all")) == count + 1 and len(pool.call("VDI.get_all")) == vdis,
                      timeout=20, what="the counts")
            tap.check(True, "no VM and no disk are left on the pool")
        except Timeout as e:
            tap.check(False, "no VM and no disk are left on the pool", e)
        tui.keys("Escape")

        # ---- cancel midway -------------------------------------------------------------------
        big = os.path.join(tmp, "exports", "big.xva")
        tui.wait(r"^NAME.*POWER")
        export_form(tui, bname, big)
        tui.keys("Tab", "Right", "Right")  # compression: none, so the bytes stream at the link's pace
        tui.keys("Enter")
        tui.attempt(tap, re.escape(f"Export '{bname}' to {big}"), "the big export starts")
        try:
            tui.wait(lambda s: re.search(r"exported .* of about .*\s([2-9]|[1-8][0-9])%.*left", s), timeout=60)
            tap.check(True, "its progress shows a bar, a percentage and the time left")
            tap.check(os.path.exists(big + ".partial") and not os.path.exists(big), "it writes FILE.partial meanwhile")
            tui.keys("x")
            tui.attempt(tap, "cancelled; no file was written", "x cancels it, said on the screen", timeout=30)
        except Timeout as e:
            tap.check(False, "the big export shows its progress", e)
        tap.check(not os.path.exists(big) and not os.path.exists(big + ".partial"),
                  "neither the file nor its .partial is left", os.listdir(os.path.join(tmp, "exports")))
        snaps = [v for v in pool.call("VM.get_all_records").values() if v["is_a_snapshot"]]
        tap.check(all(s["snapshot_of"] != bvm for s in snaps), "no snapshot of the VM is left")
        tui.keys("Escape")
        tui.quit_and_check(tap)
    except Timeout as e:
        tap.check(False, "the VM file scenario ran to its end", e)
    finally:
        tui.close()
        shutil.rmtree(tmp, ignore_errors=True)
    tap.done()


if __name__ == "__main__":
    main()
