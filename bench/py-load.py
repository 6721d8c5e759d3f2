"""Load benchmark for Python's xmlrpc.client: log in, then get_all_records
of the same 22 classes xentui's cache loads (one after another: the client
is synchronous), print the object count and exit. Timed by bench/load.py.
    python3 bench/py-load.py URL"""
import os
import sys
import xmlrpc.client

CLASSES = ("pool host host_metrics host_cpu VM VM_metrics VM_guest_metrics VBD VDI VIF SR PBD network PIF "
           "PIF_metrics task message console SM PCI VLAN Bond").split()


def main():
    url = sys.argv[1]
    proxy = xmlrpc.client.ServerProxy(url, allow_none=True)
    login = proxy.session.login_with_password("root", os.environ.get("XAPI_PASSWORD", "xapi-sim"), "1.0", "bench")
    if login.get("Status") != "Success":
        sys.exit("py-load: login failed: %r" % (login.get("ErrorDescription"),))
    session = login["Value"]
    total = 0
    for cls in CLASSES:
        r = getattr(proxy, cls).get_all_records(session)
        if r.get("Status") != "Success":
            sys.exit("py-load: %s.get_all_records failed: %r" % (cls, r.get("ErrorDescription")))
        total += len(r["Value"])
    proxy.session.logout(session)
    print("objects %d classes %d" % (total, len(CLASSES)))


main()
