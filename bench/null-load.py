"""The floor of the load benchmark: the server alone. Logs in, then asks
for the same 22 get_all_records as xentui's cache, six at a time as
xentui's connections do, and reads every reply's bytes without decoding
them. No client can load the pool faster than this from the same server.
    python3 bench/null-load.py URL [xml|json] [rrd]
xml (the default): XML-RPC on /; json: JSON-RPC 2.0 on /jsonrpc. rrd: also
GET /rrd_updates as `xentui list vms` does for its CPU and memory columns
(host=true, 5 s steps from 10 s ago), beside the calls."""
import concurrent.futures
import http.client
import json
import os
import sys
import time
import urllib.parse
import xmlrpc.client

CLASSES = ("host VIF VDI VBD VM_guest_metrics VM VM_metrics host_cpu message console SR network PCI PBD PIF "
           "PIF_metrics host_metrics pool task SM VLAN Bond").split()


def request(transport, method, params):
    """(path, body, content type) of one call."""
    if transport == "json":
        body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1})
        return "/jsonrpc", body.encode(), "application/json"
    return "/", xmlrpc.client.dumps(tuple(params), method).encode(), "text/xml"


def fetch(url, verb, path, body=None, headers=None, keep=False):
    """One request on a connection of its own; returns the reply body's length, and its bytes if keep."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=120)
    conn.request(verb, path, body, headers or {})
    r = conn.getresponse()
    n = 0
    kept = []
    while True:
        chunk = r.read(1 << 20)
        if not chunk:
            break
        n += len(chunk)
        if keep:
            kept.append(chunk)
    conn.close()
    if r.status != 200:
        sys.exit("null-load: %s %s: HTTP %d" % (verb, path.split("?")[0], r.status))
    return n, b"".join(kept)


def post(url, transport, method, params, keep=False):
    """Sends one call; returns the reply's length, and its bytes if keep."""
    path, body, ctype = request(transport, method, params)
    return fetch(url, "POST", path, body, {"Content-Type": ctype}, keep)


def login(url, transport, password):
    """The session id (the only reply this client decodes)."""
    _, body = post(url, transport, "session.login_with_password", ["root", password, "1.0", "bench"], keep=True)
    if transport == "json":
        reply = json.loads(body)
        if reply.get("error") or "result" not in reply:
            sys.exit("null-load: login failed: %r" % (reply.get("error"),))
        return reply["result"]
    (reply,), _ = xmlrpc.client.loads(body)
    if reply.get("Status") != "Success":
        sys.exit("null-load: login failed: %r" % (reply.get("ErrorDescription"),))
    return reply["Value"]


def main():
    url = sys.argv[1]
    transport = sys.argv[2] if len(sys.argv) > 2 else "xml"
    if transport not in ("xml", "json"):
        sys.exit("null-load: the transport is xml or json, not %r" % transport)
    rrd = sys.argv[3:] == ["rrd"]
    session = login(url, transport, os.environ.get("XAPI_PASSWORD", "xapi-sim"))
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        if rrd:
            path = "/rrd_updates?host=true&cf=AVERAGE&interval=5&start=%d&session_id=%s" % (
                time.time() - 10, urllib.parse.quote(session))
            rrd_bytes = pool.submit(fetch, url, "GET", path)
        total = sum(n for n, _ in pool.map(lambda c: post(url, transport, c + ".get_all_records", [session]),
                                           CLASSES))
    post(url, transport, "session.logout", [session])
    if rrd:
        print("%.1f MB read, not decoded, and %.1f MB of /rrd_updates" % (total / 1e6, rrd_bytes.result()[0] / 1e6))
    else:
        print("%.1f MB read, not decoded" % (total / 1e6))


main()
