#!/usr/bin/env python3
"""Prints, as JSON, how many objects of each class xapi-sim holds, read
independently of the client under test: Python's xmlrpc.client, one
get_all_records per class that system.listMethods offers (classes whose
call is removed, answering MESSAGE_REMOVED, are left out).
Usage: sim_counts.py URL [USER PASSWORD]"""
import json
import ssl
import sys
import xmlrpc.client


def main():
    url = sys.argv[1]
    user, pwd = (sys.argv[2], sys.argv[3]) if len(sys.argv) > 3 else ("root", "xapi-sim")
    px = xmlrpc.client.ServerProxy(url, context=ssl._create_unverified_context() if url.startswith("https") else None)
    s = px.session.login_with_password(user, pwd, "2.21", "sim_counts.py")["Value"]
    counts = {}
    for m in px.system.listMethods():
        if not m.endswith(".get_all_records"):
            continue
        cls = m[: -len(".get_all_records")]
        r = getattr(px, m)(s)
        if r["Status"] == "Success":
            counts[cls] = len(r["Value"])
        elif r["ErrorDescription"] != ["MESSAGE_REMOVED"]:
            raise SystemExit("%s: %s" % (m, r["ErrorDescription"]))
    px.session.logout(s)
    print(json.dumps(counts, sort_keys=True))


if __name__ == "__main__":
    main()
