"""The floor of the load benchmark: the server alone. Logs in, then asks
for the same 22 get_all_records as xentui's cache, six at a time as
xentui's connections do, and reads every reply's bytes without decoding
them. No client can load the pool faster than this from the same server.
    python3 bench/null-load.py URL"""
import concurrent.futures
import http.client
import os
import sys
import urllib.parse
import xmlrpc.client

CLASSES = ("pool host host_metrics host_cpu VM VM_metrics VM_guest_metrics VBD VDI VIF SR PBD network PIF "
           "PIF_metrics task message console SM PCI VLAN Bond").split()


def fetch(url, session, cls):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=120)
    body = xmlrpc.client.dumps((session,), cls + ".get_all_records").encode()
    conn.request("POST", "/", body, {"Content-Type": "text/xml"})
    r = conn.getresponse()
    n = 0
    while True:
        chunk = r.read(1 << 20)
        if not chunk:
            break
        n += len(chunk)
    conn.close()
    if r.status != 200:
        sys.exit("null-load: %s.get_all_records: HTTP %d" % (cls, r.status))
    return n


def main():
    url = sys.argv[1]
    proxy = xmlrpc.client.ServerProxy(url)
    login = proxy.session.login_with_password("root", os.environ.get("XAPI_PASSWORD", "xapi-sim"), "1.0", "bench")
    if login.get("Status") != "Success":
        sys.exit("null-load: login failed: %r" % (login.get("ErrorDescription"),))
    session = login["Value"]
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        total = sum(pool.map(lambda c: fetch(url, session, c), CLASSES))
    proxy.session.logout(session)
    print("%.1f MB read, not decoded" % (total / 1e6))


main()
