"""The storage screens in xentui --demo, checked against the simulator's
own records: the SR list; an NFS ISO library made by probing the server and
picking an export; a wrong NFS server refused in a sentence; a wrong
export path: SR.create's error in a sentence and the form back as typed; a
local ISO library (with the root-partition warning); the upload form's
File field (Tab completes a directory, lists and cycles two matches,
completes a partial name; a missing file and a directory are refused
beside it); a 50 MiB ISO uploaded (100 %, its size in the SR, the same
bytes read back); an upload cancelled midway
leaving no VDI; disk create, grow, rename, destroy (and the refusal for a
disk a running VM uses); the default SR. TAP output."""
import hashlib
import os
import re
import ssl
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import Pool, Tap, Timeout, Tui, cmd, filter_to, row_starting  # noqa: E402

MiB = 1024 * 1024
GiB = 1024 * MiB
# uploads crawl at this rate (bytes/s), so that one can be cancelled midway
SLOW = 16000000


def size_text(n):
    """screens' size_format."""
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    v, u = float(n), 0
    while abs(v) >= 1024 and u < 5:
        v /= 1024
        u += 1
    if u == 0 or v == int(v):
        return "%.0f %s" % (v, units[u])
    return ("%.1f %s" if v < 10 else "%.0f %s") % (v, units[u])


def srs_by(pool, pred):
    return {r: v for r, v in pool.call("SR.get_all_records").items() if pred(v)}


def pbd_config(pool, sr):
    pbds = pool.call("SR.get_PBDs", sr)
    return pool.call("PBD.get_device_config", pbds[0]) if pbds else {}


def open_sr(tui, uuid, name):
    """From the storage list: the SR whose uuid is given, opened."""
    cmd(tui, "storage")
    tui.wait(r"^NAME.*TYPE")
    filter_to(tui, uuid)
    tui.wait(lambda s: "1 of" in s and row_starting(s, name))
    tui.keys("Enter")
    tui.wait(r"^\s*Disks:", timeout=10)


def export_sha(pool, vdi):
    q = urllib.parse.urlencode({"session_id": pool.sid, "vdi": vdi, "format": "raw"})
    with urllib.request.urlopen(pool.url + "/export_raw_vdi?" + q, context=ssl._create_unverified_context(),
                                timeout=120) as r:
        h = hashlib.sha256()
        while True:
            b = r.read(1 << 20)
            if not b:
                break
            h.update(b)
        return h.hexdigest()


def test_list(tap, tui, pool):
    cmd(tui, "storage")
    screen = tui.wait(r"^NAME.*TYPE.*SIZE", timeout=15)
    srs = pool.call("SR.get_all_records")
    bad = []
    for ref, sr in srs.items():
        rows = [l for l in screen.split("\n") if l.startswith(sr["name_label"] + " ")]
        if not any(sr["type"] in l.split() and size_text(int(sr["physical_size"])) in l for l in rows):
            bad.append((sr["name_label"], sr["type"], size_text(int(sr["physical_size"])), rows))
    tap.check(not bad, "every SR of the pool is listed with its type and size", bad)
    default = pool.call("pool.get_default_SR", pool.call("pool.get_all")[0])
    row = row_starting(screen, srs[default]["name_label"])
    tap.check(row.startswith(srs[default]["name_label"] + " * ") and "yes" in row,
              "the default SR is marked * beside its name (and shared)", row)
    local = [v for v in srs.values() if v["type"] in ("ext", "lvm")]
    host_names = {h: v["name_label"] for h, v in pool.hosts().items()}
    ok = True
    for sr in local:
        host = host_names[pool.call("PBD.get_host", sr["PBDs"][0])]
        ok = ok and any(l.startswith(sr["name_label"]) and host in l and sr["type"] in l for l in screen.split("\n"))
    tap.check(ok and local, "local SRs show their host", local and [s["name_label"] for s in local])


def test_nfs_iso_probe(tap, tui, pool):
    cmd(tui, "storage")
    tui.wait(r"^NAME.*TYPE")
    tui.keys("n")
    tui.wait("What kind of storage")
    tui.keys("Down")
    tui.keys("Enter")
    tui.wait("New SR: ISO library on NFS")
    tui.keys("Tab")
    tui.keys_literal("192.168.1.5")
    tui.keys("Enter")
    screen = tui.attempt(tap, lambda s: "NFS exports" in s and "/srv/isos" in s and "/srv/backups" in s,
                         "the server's exports are offered as a list (SR.probe)")
    if not screen:
        tui.keys("Escape")
        return
    # /srv/vms, /srv/isos, /srv/backups as the server lists them
    tui.keys("Down")
    tui.keys("Enter")
    try:
        ref = pool.wait(lambda: next(iter(srs_by(pool, lambda v: v["name_label"] == "NFS ISO library")), None),
                        timeout=30, what="the NFS ISO SR")
        sr = pool.call("SR.get_record", ref)
        dc = pbd_config(pool, ref)
        tap.check(sr["type"] == "iso" and sr["content_type"] == "iso" and sr["shared"]
                  and dc.get("location") == "192.168.1.5:/srv/isos",
                  "picking /srv/isos makes an ISO SR with location server:/path, shared",
                  (sr["type"], sr["content_type"], sr["shared"], dc))
    except Timeout as e:
        tap.check(False, "picking /srv/isos makes an ISO SR with location server:/path, shared", e)
    tui.attempt(tap, lambda s: row_starting(s, "NFS ISO library"), "the new SR appears in the list")


def test_nfs_wrong_server(tap, tui, pool):
    before = len(pool.call("SR.get_all"))
    tui.keys("n")
    tui.wait("What kind of storage")
    tui.keys("Down", "Down")
    tui.keys("Enter")
    tui.wait("New SR: Virtual disks on NFS")
    tui.keys("Tab")
    tui.keys_literal("nfs.invalid")
    tui.keys("Enter")
    screen = tui.attempt(tap, r"no NFS server answers at that address",
                         "a server that does not answer: a plain sentence")
    tap.check(screen is not None and "nfs.invalid" in screen and "New SR: Virtual disks on NFS" in screen,
              "the form comes back with what was typed", screen)
    tui.keys("Escape")
    # a wrong path on a real server: the mount error in words
    tui.keys("n")
    tui.wait("What kind of storage")
    tui.keys("Down", "Down")
    tui.keys("Enter")
    tui.wait("New SR: Virtual disks on NFS")
    tui.keys("Tab")
    tui.keys_literal("192.168.1.5")
    tui.keys("Tab")
    tui.keys_literal("/no/such/export")
    tui.keys("Enter")
    tui.attempt(tap, r"storage error: NFS mount error", "a wrong export path: a plain sentence")
    screen = tui.attempt(tap, lambda s: "SR.create failed: storage error: NFS mount error" in s
                         and "New SR: Virtual disks on NFS" in s and "192.168.1.5" in s and "/no/such/export" in s,
                         "the form comes back after the failed SR.create, the reason above it, server and path kept")
    tui.keys("Escape")
    tui.wait(lambda s: "New SR:" not in s)
    tap.check(len(pool.call("SR.get_all")) == before, "no SR was made by the failed attempts")


def test_local_iso(tap, tui, pool):
    tui.keys("n")
    tui.wait("What kind of storage")
    tui.keys("Enter")
    screen = tui.attempt(tap, lambda s: "18 GB root" in s and "ISO_Store" in s,
                         "the local ISO form warns about the 18 GB root partition")
    if not screen:
        tui.keys("Escape")
        return
    tui.keys("Enter")
    try:
        ref = pool.wait(lambda: next(iter(srs_by(pool, lambda v: v["name_label"] == "Local ISO library")), None),
                        timeout=30, what="the local ISO SR")
        sr = pool.call("SR.get_record", ref)
        dc = pbd_config(pool, ref)
        tap.check(sr["type"] == "iso" and not sr["shared"] and dc.get("legacy_mode") == "true"
                  and dc.get("location") == "/var/opt/xen/ISO_Store",
                  "a local ISO SR: type iso, not shared, legacy_mode with the path", (sr["type"], sr["shared"], dc))
    except Timeout as e:
        tap.check(False, "a local ISO SR: type iso, not shared, legacy_mode with the path", e)


def start_upload(tui, path):
    tui.keys("u")
    tui.wait("Upload ISO")
    tui.keys("C-u")
    tui.keys_literal(path)
    tui.keys("Enter")


def file_field(screen):
    """The File row of the upload form."""
    return next((l for l in screen.split("\n") if "File  " in l), "")


def test_path_field(tap, tui, tmp):
    """The upload form's File field: Tab completes from the file system,
    wrong paths are refused beside the field. Leaves the form open with
    tmp/test-upload.iso in it."""
    tui.keys("u")
    tui.wait("Upload ISO")
    tui.keys("C-u")
    tui.keys_literal(os.path.join(tmp, "nothing-here.iso"))
    tui.keys("Enter")
    tui.attempt(tap, lambda s: "no such file" in file_field(s), "a missing file is refused beside the field")
    tui.keys("C-u")
    tui.keys_literal(tmp[:-2])
    tui.keys("Tab")
    tui.attempt(tap, lambda s: os.path.basename(tmp) + "/" in file_field(s),
                "Tab completes a directory's name, ending in /")
    tui.keys("Enter")
    tui.attempt(tap, lambda s: "a directory, not a file" in file_field(s), "a directory is refused beside the field")
    tui.keys("Tab")
    tui.attempt(tap, lambda s: "2 matches" in file_field(s),
                "Tab in a directory of two files lists the matches beside the field")
    tui.keys("Tab")
    tui.attempt(tap, lambda s: "aaa-other.iso" in file_field(s) and "1 of 2" in file_field(s),
                "another Tab puts the first match in the field")
    tui.keys("Tab")
    tui.attempt(tap, lambda s: "test-upload.iso" in file_field(s) and "2 of 2" in file_field(s),
                "and the next Tab the second")
    tui.keys("C-u")
    tui.keys_literal(os.path.join(tmp, "te"))
    tui.keys("Tab")
    tui.attempt(tap, lambda s: re.search(r"/test-upload\.iso\s", file_field(s)),
                "a partial file name is completed by Tab")


def test_upload(tap, tui, pool, tmp):
    isos = srs_by(pool, lambda v: v["name_label"] == "ISO library")
    sr = next(iter(isos))
    path = os.path.join(tmp, "test-upload.iso")
    data = os.urandom(50 * MiB)
    with open(path, "wb") as f:
        f.write(data)
    want = hashlib.sha256(data).hexdigest()
    del data
    with open(os.path.join(tmp, "aaa-other.iso"), "wb") as f:
        f.write(b"x" * 4096)
    open_sr(tui, isos[sr]["uuid"], "ISO library")
    test_path_field(tap, tui, tmp)
    tui.keys("Enter")  # the completed path uploads
    tui.attempt(tap, r"Uploading 'test-upload.iso'.*%", "the upload shows its progress", timeout=30)
    tui.attempt(tap, r"100%", "the upload reaches 100 %", timeout=60)
    tui.attempt(tap, lambda s: row_starting(s, "test-upload.iso") and "50 MiB" in row_starting(s, "test-upload.iso"),
                "the new ISO is in the SR with its size (50 MiB)", timeout=20)
    tui.attempt(tap, r"Upload 'test-upload.iso' into 'ISO library': done", "the message says it is done")
    vdis = [v for v in pool.call("VDI.get_all_records").values()
            if v["name_label"] == "test-upload.iso" and v["SR"] == sr]
    tap.check(len(vdis) == 1 and int(vdis[0]["virtual_size"]) == 50 * MiB and vdis[0]["location"] == "test-upload.iso",
              "the sim has one VDI of 50 MiB named after the file", [(v["virtual_size"], v["location"]) for v in vdis])
    if vdis:
        ref = pool.call("VDI.get_by_uuid", vdis[0]["uuid"])
        tap.check(export_sha(pool, ref) == want, "the VDI's bytes equal the file's (sha256)")
    # cancelled midway: nothing left
    path2 = os.path.join(tmp, "cancel-me.iso")
    with open(path2, "wb") as f:
        f.write(os.urandom(100 * MiB))
    start_upload(tui, path2)
    try:
        tui.wait(lambda s: re.search(r"Uploading 'cancel-me.iso'.*\s([1-9]|[1-8][0-9])%", s), timeout=30)
        tui.keys("x")
        tui.attempt(tap, r"cancelled; the partly written disk was removed", "cancelling says the disk was removed")
    except Timeout as e:
        tap.check(False, "an upload can be cancelled midway", e)
    try:
        pool.wait(lambda: not [v for v in pool.call("VDI.get_all_records").values() if v["name_label"] == "cancel-me.iso"],
                  timeout=20, what="the cancelled VDI to go")
        tap.check(True, "no VDI is left after the cancel")
    except Timeout as e:
        tap.check(False, "no VDI is left after the cancel", e)
    tui.keys("Escape")


def test_disks(tap, tui, pool):
    nfs = srs_by(pool, lambda v: v["type"] == "nfs" and v["name_label"] == "NFS storage")
    sr = next(iter(nfs))
    open_sr(tui, nfs[sr]["uuid"], "NFS storage")

    def disk(name):
        return [v for v in pool.call("VDI.get_all_records").values() if v["name_label"] == name and v["SR"] == sr]

    tui.keys("n")
    tui.wait("New disk")
    tui.keys("C-u")
    tui.keys_literal("scratch-disk")
    tui.keys("Tab", "Tab", "C-u")
    tui.keys_literal("2 GiB")
    tui.keys("Enter")
    try:
        v = pool.wait(lambda: disk("scratch-disk"), timeout=20, what="the new disk")
        tap.check(int(v[0]["virtual_size"]) == 2 * GiB, "n makes a disk of the size typed", v[0]["virtual_size"])
    except Timeout as e:
        tap.check(False, "n makes a disk of the size typed", e)
        return
    filter_to(tui, "scratch-disk")
    tui.wait(lambda s: row_starting(s, "scratch-disk") and "2 GiB" in row_starting(s, "scratch-disk"))
    tui.keys("+")
    tui.wait("Grow disk")
    tui.keys("C-u")
    tui.keys_literal("1 GiB")
    tui.keys("Enter")
    tui.attempt(tap, r"disks only grow|from 2 GiB to", "shrinking is refused in the form")
    tui.keys("C-u")
    tui.keys_literal("3 GiB")
    tui.keys("Enter")
    try:
        pool.wait(lambda: int(disk("scratch-disk")[0]["virtual_size"]) == 3 * GiB, timeout=20, what="the resize")
        tap.check(True, "+ grows the disk (VDI.resize)")
    except Timeout as e:
        tap.check(False, "+ grows the disk (VDI.resize)", e)
    tui.keys("e")
    tui.wait("Rename disk")
    tui.keys("C-u")
    tui.keys_literal("scratch-renamed")
    tui.keys("Enter")
    try:
        pool.wait(lambda: disk("scratch-renamed"), timeout=20, what="the rename")
        tap.check(True, "e renames the disk")
    except Timeout as e:
        tap.check(False, "e renames the disk", e)
    filter_to(tui, "scratch-renamed")
    tui.wait(lambda s: row_starting(s, "scratch-renamed"))
    tui.keys("d")
    tui.wait("Destroy disk")
    tui.keys_literal("scratch-renamed")
    tui.keys("Enter")
    try:
        pool.wait(lambda: not disk("scratch-renamed"), timeout=20, what="the destroy")
        tap.check(True, "d destroys the disk after its name is typed")
    except Timeout as e:
        tap.check(False, "d destroys the disk after its name is typed", e)
    # a disk a running VM uses is refused with a sentence
    vbds = pool.call("VBD.get_all_records")
    used = [v for v in vbds.values() if v["currently_attached"] and v["type"] == "Disk"]
    target = None
    for vbd in used:
        vdi = pool.call("VDI.get_record", vbd["VDI"])
        if vdi["SR"] == sr:
            target = vdi
            break
    if target:
        filter_to(tui, target["uuid"])
        tui.wait(lambda s: row_starting(s, target["name_label"]))
        tui.keys("d")
        tui.attempt(tap, r"is attached to running VM", "destroying a disk a running VM uses is refused in words")
        tap.check(pool.call("VDI.get_by_uuid", target["uuid"]), "and the disk is still there")
    else:
        tap.check(False, "the demo pool has a running VM with a disk on NFS storage")
    tui.keys("Escape")


def test_default(tap, tui, pool):
    """One rule on :storage as on :pool: only a shared SR may be the default."""
    p = pool.call("pool.get_all")[0]
    was = pool.call("pool.get_default_SR", p)
    local = srs_by(pool, lambda v: v["type"] in ("ext", "lvm"))
    ref = next(iter(local))
    cmd(tui, "storage")
    tui.wait(r"^NAME.*TYPE")
    filter_to(tui, local[ref]["uuid"])
    tui.wait(lambda s: "1 of" in s)
    tui.keys("*")
    tui.attempt(tap, r"The default SR must be shared: .* is local to ",
                "* on a local SR is refused, saying why a local SR cannot be the default")
    time.sleep(0.5)
    tap.check(pool.call("pool.get_default_SR", p) == was, "and the pool's default SR is unchanged")
    shared = srs_by(pool, lambda v: v["shared"] and v["content_type"] != "iso" and v["type"] != "udev")
    other = next((r for r in shared if r != was), None)
    if not other:  # the demo has one shared SR for disks: another client adds a second
        master = pool.call("pool.get_master", p)
        other = pool.call("SR.create", master, {"server": "192.168.1.5", "serverpath": "/srv/backups"}, "0",
                          "Second NFS", "", "nfs", "user", True, {})
        shared = srs_by(pool, lambda v: v["shared"] and v["content_type"] != "iso" and v["type"] != "udev")
    if not other:
        tap.check(False, "the demo pool has a second shared SR for disks")
        filter_to(tui, "")
        return
    filter_to(tui, shared[other]["uuid"])
    tui.wait(lambda s: "1 of" in s)
    tui.keys("*")
    try:
        pool.wait(lambda: pool.call("pool.get_default_SR", p) == other, timeout=20, what="the default SR")
        tap.check(True, "* makes a shared SR the pool's default (pool.set_default_SR)")
    except Timeout as e:
        tap.check(False, "* makes a shared SR the pool's default (pool.set_default_SR)", e)
    tui.attempt(tap, lambda s: row_starting(s, shared[other]["name_label"] + " *"),
                "the list marks the new default")
    pool.call("pool.set_default_SR", p, was)
    filter_to(tui, "")


def main():
    tap = Tap()
    tmp = tempfile.mkdtemp(prefix="xentui-storage-")
    tui = Tui("storage", env={"NO_COLOR": "1", "XENTUI_DEMO_ARGS": f"--faults slow={SLOW}"}, cols=120, rows=36)
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())
        for t in (test_list, test_nfs_iso_probe, test_nfs_wrong_server, test_local_iso):
            try:
                t(tap, tui, pool)
            except Timeout as e:
                tap.check(False, t.__name__, e)
                tui.keys("Escape", "Escape")
        for t in (test_upload,):
            try:
                t(tap, tui, pool, tmp)
            except Timeout as e:
                tap.check(False, t.__name__, e)
                tui.keys("Escape", "Escape")
        for t in (test_disks, test_default):
            try:
                t(tap, tui, pool)
            except Timeout as e:
                tap.check(False, t.__name__, e)
                tui.keys("Escape", "Escape")
        tui.quit_and_check(tap)
    except Timeout as e:
        tap.check(False, "the storage scenario ran to its end", e)
    finally:
        tui.close()
        for name in os.listdir(tmp):
            os.unlink(os.path.join(tmp, name))
        os.rmdir(tmp)
    tap.done()


if __name__ == "__main__":
    main()
