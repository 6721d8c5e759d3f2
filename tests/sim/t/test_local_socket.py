#!/usr/bin/env python3
"""xapi-sim's local socket (--unix PATH) beside its TLS port, as xapi serves
/var/lib/xcp/xapi beside 443 (TAP): plain HTTP XML-RPC there; a login on it
is preauthenticated root (xapi_session.ml, Context.preauth), whatever the
name and password, while the TLS port still checks them (login_with_password,
and slave_local_login_with_password, the host's own root account); both see
one pool."""
import http.client
import os
import shutil
import socket
import sys
import tempfile
import time
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "lib"))
import simtest  # noqa: E402
from simtest import CTX, ok, plan  # noqa: E402


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.path_ = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path_)


class UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path):
        super().__init__()
        self.path_ = path

    def make_connection(self, host):
        return UnixConnection(self.path_)


def main():
    tmp = tempfile.mkdtemp(prefix="sim-local-")
    sock = os.path.join(tmp, "xapi")
    try:
        url = simtest.start("--hosts", "2", "--vms", "3", "--unix", sock)
        ok(os.path.exists(sock), "--unix PATH: the socket is there once the sim says it listens")
        local = xmlrpc.client.ServerProxy("http://localhost/", transport=UnixTransport(sock))
        tls = xmlrpc.client.ServerProxy(url, context=CTX)

        r = local.session.login_with_password("root", "", "1.0", "local-test")
        ok(r.get("Status") == "Success", "local socket: root with an empty password logs in", r)
        r2 = local.session.login_with_password("", "", "1.0", "local-test")
        ok(r2.get("Status") == "Success", "local socket: any name logs in too (preauth root, as xapi)", r2)
        sid = r.get("Value")
        hosts = local.host.get_all(sid)
        ok(hosts.get("Status") == "Success" and len(hosts.get("Value", [])) == 2, "calls work over the socket", hosts)
        this = local.session.get_this_host(sid, sid)
        ok(this.get("Status") == "Success" and this.get("Value") in hosts.get("Value", []),
           "session.get_this_host names one of the pool's hosts", this)

        t0 = time.time()
        bad = tls.session.login_with_password("root", "", "1.0", "local-test")
        ok(bad.get("Status") == "Failure" and bad["ErrorDescription"][0] == "SESSION_AUTHENTICATION_FAILED",
           "the TLS port still checks the password", bad)
        ok(time.time() - t0 >= 4.5, "after xapi's delay on a wrong password", "%.1fs" % (time.time() - t0))
        good = tls.session.login_with_password("root", "xapi-sim", "1.0", "local-test")
        ok(good.get("Status") == "Success", "the TLS port: the right password logs in", good)
        same = tls.host.get_all(good["Value"])
        ok(sorted(same.get("Value", [])) == sorted(hosts.get("Value", [])), "both see the same pool")
        # what xentui --local checks a typed root password with: the host's
        # own local account, on a member as on the master
        wrong = tls.session.slave_local_login_with_password("root", "nope")
        ok(wrong.get("Status") == "Failure" and wrong["ErrorDescription"][0] == "SESSION_AUTHENTICATION_FAILED",
           "slave_local_login_with_password over TLS: a wrong password is refused", wrong)
        right = tls.session.slave_local_login_with_password("root", "xapi-sim")
        ok(right.get("Status") == "Success", "and the right one gives a local session", right)
        bye = tls.session.local_logout(right.get("Value", ""))
        ok(bye.get("Status") == "Success", "session.local_logout ends it", bye)
        out = local.session.logout(sid)
        ok(out.get("Status") == "Success", "logout over the socket", out)
    finally:
        simtest.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    return plan()


if __name__ == "__main__":
    sys.exit(main())
