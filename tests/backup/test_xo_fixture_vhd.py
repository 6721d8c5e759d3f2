#!/usr/bin/env python3
"""The XO-style repository that tests/backup/fixtures/make_xo_repo.py writes
is what other readers take it for: its VHD files, read by libvhdi (parents
set from the locator or the header's name) and qemu-img, hold the expected
disks; its directory VHDs have valid checksums, a BAT matching the block
files, and merge into the expected disks. (xentui's own reader is checked
against the same fixture in tests/unit/test_vhd.c.)"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

try:
    import brotli
    import pyvhdi
except ImportError:  # Debian's python3-brotli and python3-libvhdi are for the system interpreter
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
from simtest import ok, plan  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BLOCK = 2 * 1024 * 1024


def checksum_ok(buf, at):
    s = sum(buf[:at]) + sum(buf[at + 4:])
    return struct.unpack_from(">I", buf, at)[0] == (~s) & 0xFFFFFFFF


def locator_name(path):
    """The W2KU locator's path (libvhdi reads only the header's parent name)."""
    with open(path, "rb") as fh:
        head = fh.read(1536)
    for i in range(8):
        code, _space, length, _r, off = struct.unpack_from(">IIIIQ", head, 512 + 576 + 24 * i)
        if code == 0x57326B75:
            with open(path, "rb") as fh:
                fh.seek(off)
                return fh.read(length).decode("utf-16-le")
    return None


def read_file_chain(path, folder):
    """Opens path with libvhdi and its parents, as the fixture names them."""
    files = []
    f = pyvhdi.file()
    f.open(path)
    files.append(f)
    cur, cur_path = f, path
    while cur.disk_type == 4:  # differencing
        name = (cur.parent_filename or locator_name(cur_path)).replace("\\", "/")
        parent = pyvhdi.file()
        parent.open(os.path.join(folder, name))
        ok(parent.identifier == cur.parent_identifier, "%s: the parent libvhdi finds has the UUID the child names"
           % os.path.basename(path))
        cur.set_parent(parent)
        files.append(parent)
        cur, cur_path = parent, os.path.join(folder, name)
    return f, files


def read_dir_vhd(path):
    def chunk(name):
        with open(os.path.join(path, name), "rb") as fh:
            return brotli.decompress(fh.read())
    with open(os.path.join(path, "chunk-filters.json")) as fh:
        filters = json.load(fh)
    footer, header, bat = chunk("footer"), chunk("header"), chunk("bat")
    entries, bsize = struct.unpack_from(">II", header, 28)
    blocks = {}
    for i in range(entries):
        present = bat[i >> 3] & (0x80 >> (i & 7))
        fname = os.path.join(path, "blocks", str(i // 1000), str(i % 1000))
        if present:
            blocks[i] = chunk("blocks/%d/%d" % (i // 1000, i % 1000))
        elif os.path.exists(fname):
            blocks[i] = None  # a block file the BAT does not list
    return filters, footer, header, blocks, bsize


def main():
    tmp = tempfile.mkdtemp(prefix="xo-fixture-")
    try:
        subprocess.run([sys.executable, os.path.join(HERE, "fixtures", "make_xo_repo.py"), tmp], check=True)
        with open(os.path.join(tmp, "fixture.json")) as fh:
            fx = json.load(fh)
        vmdir = os.path.join(tmp, "repo", "xo-vm-backups", fx["vm"])
        ok(all(os.path.exists(os.path.join(tmp, "repo", p["json"])) for p in fx["points"]),
           "each restore point has its .json")
        dir_state = {}
        for k, p in enumerate(fx["points"]):
            with open(os.path.join(tmp, "repo", p["json"])) as fh:
                meta = json.load(fh)
            ok(meta["version"] == "2.0.0" and meta["mode"] == "delta" and len(meta["vhds"]) == 2
               and all(v in meta["vdis"] for v in meta["vhds"]),
               "%s.json: XO's 2.0.0 delta metadata naming each disk's VHD" % p["ts"])
            for src, d in p["disks"].items():
                with open(os.path.join(tmp, "expected", p["ts"], src + ".raw"), "rb") as fh:
                    want = fh.read()
                path = os.path.join(vmdir, d["path"])
                if path.endswith(".alias.vhd"):
                    with open(path) as fh:
                        target = os.path.join(os.path.dirname(path), fh.read().strip())
                    filters, footer, header, blocks, bsize = read_dir_vhd(target)
                    ok(filters == ["brotli"] and footer[:8] == b"conectix" and checksum_ok(footer, 64)
                       and header[:8] == b"cxsparse" and checksum_ok(header, 36)
                       and struct.unpack_from(">I", footer, 60)[0] == (4 if d["differencing"] else 3),
                       "%s %s: directory VHD with valid footer and header" % (p["ts"], src[:8]))
                    ok(all(b is not None and len(b) == 512 + bsize for b in blocks.values()),
                       "%s %s: each block file is listed in the BAT and holds bitmap + 2 MiB" % (p["ts"], src[:8]))
                    disk = bytearray(dir_state.get(src, bytes(len(want))))
                    for i, b in blocks.items():
                        disk[i * bsize:(i + 1) * bsize] = b[512:]
                    dir_state[src] = bytes(disk)
                    ok(dir_state[src] == want, "%s %s: the directory chain merges into the expected disk"
                       % (p["ts"], src[:8]))
                else:
                    f, files = read_file_chain(path, os.path.dirname(path))
                    got = f.read_buffer_at_offset(f.media_size, 0)
                    ok(len(files) == k + 1 and got == want,
                       "%s %s: libvhdi reads the chain of %d VHD files as the expected disk"
                       % (p["ts"], src[:8], k + 1), (len(files), len(got), len(want)))
                    for x in files:
                        x.close()
                    if k == 0:
                        raw = os.path.join(tmp, "full.raw")
                        subprocess.run(["qemu-img", "convert", "--image-opts", "-O", "raw",
                                        "driver=vpc,force_size_calc=current_size,file.filename=" + path, raw],
                                       check=True, capture_output=True)
                        with open(raw, "rb") as fh:
                            ok(fh.read() == want, "qemu-img reads the full VHD file as the expected disk")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return plan()


if __name__ == "__main__":
    sys.exit(main())
