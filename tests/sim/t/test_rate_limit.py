#!/usr/bin/env python3
"""xapi-sim --rate-limit-mbit N: every byte it sends leaves at N Mbit/s at
most, all connections sharing the one link, and the replies are whole.
A bad value is refused. TAP output."""
import concurrent.futures
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.parse
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from simtest import SIM, ok, plan, start_proc, stop_all  # noqa: E402

MBIT = 8  # 1 MB/s: a reply of a few hundred kB takes a measurable time


def post(url, path, body, ctype):
    """(seconds, reply bytes) of one POST on a fresh connection."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    t0 = time.monotonic()
    conn.request("POST", path, body, {"Content-Type": ctype})
    r = conn.getresponse()
    data = r.read()
    took = time.monotonic() - t0
    conn.close()
    return took, data


def main():
    url, _ = start_proc("--plain", "--hosts", "2", "--vms", "30", "--rate-limit-mbit", str(MBIT))
    px = xmlrpc.client.ServerProxy(url)
    session = px.session.login_with_password("root", "xapi-sim", "1.0", "test")["Value"]
    vms = px.VM.get_all(session)["Value"]
    rate = MBIT * 1e6 / 8

    xml_body = xmlrpc.client.dumps((session,), "VM.get_all_records").encode()
    took, data = post(url, "/", xml_body, "text/xml")
    (reply,), _ = xmlrpc.client.loads(data)
    ok(reply.get("Status") == "Success" and len(reply["Value"]) == len(vms),
       "a paced XML-RPC reply is whole (every VM)", repr(data[:300]))
    ok(took >= 0.9 * len(data) / rate, "its %d bytes took at least their time at %d Mbit/s" % (len(data), MBIT),
       "%.2f s, the link needs %.2f s" % (took, len(data) / rate))

    json_body = json.dumps({"jsonrpc": "2.0", "method": "VM.get_all_records", "params": [session], "id": 1}).encode()
    took, data = post(url, "/jsonrpc", json_body, "application/json")
    reply = json.loads(data)
    ok(len(reply.get("result", {})) == len(vms), "a paced JSON-RPC reply is whole (every VM)", repr(data[:300]))
    ok(took >= 0.9 * len(data) / rate, "its %d bytes took at least their time at %d Mbit/s" % (len(data), MBIT),
       "%.2f s, the link needs %.2f s" % (took, len(data) / rate))

    # two connections at once share the link: together they take both replies' time
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        sizes = [len(d) for _, d in pool.map(lambda _: post(url, "/", xml_body, "text/xml"), range(2))]
    took = time.monotonic() - t0
    ok(took >= 0.9 * sum(sizes) / rate, "two replies at once share the one link",
       "%.2f s for %d bytes, the link needs %.2f s" % (took, sum(sizes), sum(sizes) / rate))

    r = subprocess.run([SIM, "--plain", "--rate-limit-mbit", "0"], capture_output=True, text=True, timeout=30)
    ok(r.returncode == 2 and "--rate-limit-mbit" in r.stderr, "--rate-limit-mbit 0 is refused with a sentence",
       r.stderr)
    stop_all()
    return plan()


if __name__ == "__main__":
    sys.exit(main())
