#!/usr/bin/env python3
"""xapi-sim's changed-block tracking and NBD (cbtlog.c, nbdexport.c):
VDI.enable_cbt/disable_cbt with xapi's refusals, snapshots inheriting CBT,
list_changed_blocks as a base64 bitmap of the 64 KiB blocks written between
two snapshots, data_destroy making a snapshot cbt_metadata whose log still
answers, and get_nbd_info offering the VDI over nbdkit with TLS (read back
with Debian's nbdcopy, the certificate pinned, equal to /export_raw_vdi; a
different certificate refused) or without TLS for insecure_nbd. TAP."""
import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "lib"))
from deltatest import MiB, Env, done, ok  # noqa: E402

KiB64 = 64 * 1024


def fault(env, method, *args):
    """The error code list of a call expected to fail, or None if it succeeded."""
    f = env.api
    for part in method.split("."):
        f = getattr(f, part)
    r = f(env.sid, *args)
    return None if r.get("Status") == "Success" else r.get("ErrorDescription")


def bits(b64):
    m = base64.b64decode(b64)
    return [i for i in range(len(m) * 8) if m[i // 8] >> (7 - i % 8) & 1], len(m)


def nbdcopy(info, pki, tls=True):
    """The export's bytes through nbdcopy, or (None, stderr)."""
    out = os.path.join(pki or tempfile.gettempdir(), "copy.raw")
    name = urllib.parse.quote(info["exportname"], safe="")
    url = "%s://%s:%s/%s" % ("nbds" if tls else "nbd", info["address"], info["port"], name)
    if tls:
        url += "?tls-certificates=" + pki
    r = subprocess.run(["nbdcopy", url, out], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        return None, r.stderr
    with open(out, "rb") as f:
        d = f.read()
    os.unlink(out)
    return d, ""


def main():
    env = Env([], disk_mib=8)
    folder = None
    pki = tempfile.mkdtemp(prefix="xentui-cbt-pki-")
    try:
        vdi = env.call("VDI.get_by_uuid", env.vdi_uuid)
        env.write(0, b"before" * 100)
        s0 = env.call("VDI.snapshot", vdi, {})
        ok(fault(env, "VDI.enable_cbt", s0) == ["OPERATION_NOT_ALLOWED", "VDI is a snapshot: %s" % s0],
           "enable_cbt on a snapshot is refused as xapi refuses it", fault(env, "VDI.enable_cbt", s0))
        ok(fault(env, "VDI.list_changed_blocks", s0, vdi) == ["VDI_NO_CBT_METADATA", s0],
           "list_changed_blocks without CBT: VDI_NO_CBT_METADATA")
        ok(fault(env, "VDI.data_destroy", s0) == ["VDI_NO_CBT_METADATA", s0],
           "data_destroy of a snapshot without CBT: VDI_NO_CBT_METADATA")
        env.call("VDI.enable_cbt", vdi)
        env.call("VDI.enable_cbt", vdi)
        ok(env.call("VDI.get_cbt_enabled", vdi) is True, "enable_cbt turns cbt_enabled on (twice is fine)")
        s1 = env.call("VDI.snapshot", vdi, {})
        ok(env.call("VDI.get_cbt_enabled", s1) is True, "a snapshot of a CBT disk has CBT")
        env.write(3 * MiB + 70000, b"x" * 10)        # block 49
        env.write(5 * MiB - 10, b"y" * 20)           # blocks 79 and 80
        snap_vm = env.call("VM.snapshot", env.vm, "cbt-snap")
        s2 = None
        for vbd in env.call("VM.get_VBDs", snap_vm):
            rec = env.call("VBD.get_record", vbd)
            if rec["type"] == "Disk" and rec["VDI"] != "OpaqueRef:NULL":
                s2 = rec["VDI"]
        ok(s2 and env.call("VDI.get_cbt_enabled", s2) is True, "VM.snapshot's disk has CBT too")
        got, nbytes = bits(env.call("VDI.list_changed_blocks", s1, s2))
        ok(got == [49, 79, 80] and nbytes == 8 * MiB // KiB64 // 8,
           "list_changed_blocks: the 64 KiB blocks written between the snapshots, one bit each", (got, nbytes))
        got, _ = bits(env.call("VDI.list_changed_blocks", s2, s2))
        ok(got == [], "nothing changed between a snapshot and itself", got)
        ok(fault(env, "VDI.data_destroy", vdi) == ["OPERATION_NOT_ALLOWED", "VDI is not a snapshot: %s" % vdi],
           "data_destroy of a disk that is not a snapshot is refused")
        env.call("VDI.data_destroy", s1)
        ok(env.call("VDI.get_type", s1) == "cbt_metadata", "data_destroy makes the snapshot cbt_metadata")
        got, _ = bits(env.call("VDI.list_changed_blocks", s1, s2))
        ok(got == [49, 79, 80], "its log still answers list_changed_blocks", got)

        ok(env.call("VDI.get_nbd_info", s2) == [], "get_nbd_info is empty without a network of purpose nbd")
        net = env.call("network.create", {"name_label": "NBD", "name_description": "", "MTU": "1500",
                                          "other_config": {}})
        env.call("network.add_purpose", net, "nbd")
        info = env.call("VDI.get_nbd_info", s2)
        rec = info[0] if len(info) == 1 else {}
        ok(rec.get("address") == "127.0.0.1" and int(rec.get("port", 0)) > 0
           and rec.get("cert", "").startswith("-----BEGIN CERTIFICATE-----") and rec.get("subject") == "127.0.0.1"
           and rec.get("exportname", "").startswith(env.call("VDI.get_uuid", s2) + "?session_id="),
           "with purpose nbd: one record with address, port, certificate, subject and export name",
           {k: str(v)[:60] for k, v in rec.items()})
        with open(os.path.join(pki, "ca-cert.pem"), "w") as f:
            f.write(rec.get("cert", ""))
        data, why = nbdcopy(rec, pki)
        ok(data is not None and data == env.read(env.call("VDI.get_uuid", s2)),
           "nbdcopy over TLS, the certificate pinned, reads the snapshot as /export_raw_vdi does", why)
        other = tempfile.mkdtemp(prefix="xentui-cbt-other-")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1", "-keyout",
                        os.path.join(other, "k.pem"), "-out", os.path.join(other, "ca-cert.pem")],
                       capture_output=True, check=True)
        data, why = nbdcopy(rec, other)
        shutil.rmtree(other, ignore_errors=True)
        ok(data is None, "another certificate than the one get_nbd_info gave is refused", why)
        ok(fault(env, "VDI.get_nbd_info", s1) == ["VDI_INCOMPATIBLE_TYPE", s1, "cbt_metadata"],
           "a snapshot whose data was destroyed is not served")
        env.call("network.remove_purpose", net, "nbd")
        env.call("network.add_purpose", net, "insecure_nbd")
        info = env.call("VDI.get_nbd_info", s2)
        rec = info[0] if len(info) == 1 else {}
        ok(rec.get("cert") == "" and rec.get("subject") == "" and int(rec.get("port", 0)) > 0,
           "insecure_nbd: a record without certificate", {k: str(v)[:60] for k, v in rec.items()})
        data, why = nbdcopy(rec, None, tls=False)
        ok(data is not None and data == env.read(env.call("VDI.get_uuid", s2)),
           "and the plain NBD export reads the snapshot", why)

        env.call("VDI.disable_cbt", vdi)
        ok(env.call("VDI.get_cbt_enabled", vdi) is False, "disable_cbt turns it off")
        env.call("VDI.enable_cbt", vdi)
        s3 = env.call("VDI.snapshot", vdi, {})
        ok(fault(env, "VDI.list_changed_blocks", s2, s3) is not None,
           "after CBT was off in between, the blocks changed since an older snapshot are not known")
        with open(env.sim_log.name) as f:
            m = re.search(r"nbdkit serves VDIs over NBD with TLS on \S+, log (\S+)/nbdkit.log", f.read())
        folder = m.group(1) if m else None
        ok(folder and os.path.isdir(folder), "stderr names nbdkit's folder", folder)
    finally:
        shutil.rmtree(pki, ignore_errors=True)
        env.close()
    deadline = time.time() + 15
    while folder and os.path.exists(folder) and time.time() < deadline:
        time.sleep(0.1)
    ok(folder and not os.path.exists(folder), "once the sim is gone nbdkit exits and removes its folder", folder)
    return done()


if __name__ == "__main__":
    sys.exit(main())
