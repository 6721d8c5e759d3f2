#!/usr/bin/env python3
"""xapi-sim's get_all_records over JSON-RPC (its fast encoder, fastenc.c)
carries the same records as over XML-RPC, value for value, for every class
xentui loads, with hostile strings (quotes, backslashes, control bytes,
DEL, non-ASCII, bidi marks) in a VM; the general path (get_record,
get_all_records_where) agrees with it too. Python's json module reads every
reply. TAP output."""
import datetime
import http.client
import json
import os
import sys
import urllib.parse
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from simtest import ok, plan, start_proc, stop_all  # noqa: E402

CLASSES = ("pool host host_metrics host_cpu VM VM_metrics VM_guest_metrics VBD VDI VIF SR PBD network PIF "
           "PIF_metrics task message console SM PCI VLAN Bond").split()
NASTY = "q\"b\\s\x01\x1f\x7f\u00e9\u202e\n\t\r\b\f/</x>&amp;"
# a map key: xapi writes XML-RPC member names as they are, so none of < & or control bytes
NASTY_KEY = "k\"b\\s\x7f\u00e9\u202e/"


def post(url, path, body, ctype):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    conn.request("POST", path, body, {"Content-Type": ctype})
    data = conn.getresponse().read()
    conn.close()
    return data


def jcall(url, method, *params):
    body = json.dumps({"jsonrpc": "2.0", "method": method, "params": list(params), "id": 1}).encode()
    data = post(url, "/jsonrpc", body, "application/json")
    try:
        return json.loads(data)
    except ValueError as e:
        return {"error": "not JSON (%s): %r" % (e, data[:200])}


def xcall(url, method, *params):
    (r,), _ = xmlrpc.client.loads(post(url, "/", xmlrpc.client.dumps(params, method).encode(), "text/xml"))
    return r


def norm(v):
    """One form for both wires: XML-RPC sends ints as strings and dates as dateTime; JSON numbers and strings."""
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, xmlrpc.client.DateTime):
        return v.value
    if isinstance(v, datetime.datetime):
        return v.strftime("%Y%m%dT%H:%M:%SZ")
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items()}
    if isinstance(v, list):
        return [norm(x) for x in v]
    return v


# fields the sim changes by itself between two calls (clocks)
VOLATILE = {"last_updated", "last_active", "memory_free", "memory_actual", "start_time", "timestamp",
            "snapshot_time", "install_time", "uptime"}


def as_xml_carries(v):
    """A JSON value as XML-RPC carries it: xapi drops the control bytes XML 1.0
    cannot hold, and an XML reader reads a CR as a line end."""
    if isinstance(v, str):
        v = "".join(c for c in v if c >= " " or c in "\t\n\r")
        return v.replace("\r\n", "\n").replace("\r", "\n")
    if isinstance(v, dict):
        return {as_xml_carries(k): as_xml_carries(x) for k, x in v.items()}
    if isinstance(v, list):
        return [as_xml_carries(x) for x in v]
    return v


def strip(records):
    return {ref: {k: v for k, v in rec.items() if k not in VOLATILE} for ref, rec in records.items()}


def main():
    url, _ = start_proc("--plain", "--hosts", "3", "--vms", "40")
    s = xcall(url, "session.login_with_password", "root", "xapi-sim", "1.0", "test")["Value"]
    vm = xcall(url, "VM.get_all", s)["Value"][1]
    r1 = jcall(url, "VM.set_name_description", s, vm, NASTY)
    r2 = jcall(url, "VM.add_to_other_config", s, vm, NASTY_KEY, NASTY)
    ok("error" not in r1 and "error" not in r2, "a VM holds hostile strings (set over JSON-RPC)", (r1, r2))

    differ = []
    for cls in CLASSES:
        j = jcall(url, cls + ".get_all_records", s)
        x = xcall(url, cls + ".get_all_records", s)
        if "result" not in j or x.get("Status") != "Success":
            differ.append((cls, "failed", j.get("error"), x.get("ErrorDescription")))
            continue
        a, b = strip(as_xml_carries(norm(j["result"]))), strip(norm(x["Value"]))
        if a != b:
            bad = [(ref, k, a[ref].get(k), b.get(ref, {}).get(k)) for ref in a for k in a[ref]
                   if a[ref].get(k) != b.get(ref, {}).get(k)]
            differ.append((cls, "records differ", bad[:3]))
    ok(not differ, "the %d classes' get_all_records hold the same records over JSON-RPC and XML-RPC" % len(CLASSES),
       differ[:5])

    j = jcall(url, "VM.get_all_records", s).get("result", {}).get(vm, {})
    ok(j.get("name_description") == NASTY and j.get("other_config", {}).get(NASTY_KEY) == NASTY,
       "the hostile strings come back exactly over JSON-RPC", (j.get("name_description"), j.get("other_config")))

    rec = jcall(url, "VM.get_record", s, vm)
    ok(j and "result" in rec and strip({vm: rec["result"]}) == strip({vm: j}),
       "VM.get_record (the general encoder) agrees with it",
       rec.get("error"))
    where = jcall(url, "VM.get_all_records_where", s, "true")
    every = jcall(url, "VM.get_all_records", s)
    ok("result" in where and "result" in every and strip(where["result"]) == strip(every["result"]),
       "VM.get_all_records_where(true) agrees with VM.get_all_records", where.get("error"))
    stop_all()
    return plan()


if __name__ == "__main__":
    sys.exit(main())
