#!/usr/bin/env python3
# run-all: alone (it times calls to a fraction of a second)
"""xapi-sim's injected faults (--faults, tests/sim/faults.h), each seen
from a client: drop, delay, http500, truncate, expire, their METHOD /
*COUNT / @AFTER qualifiers, SIGUSR1 expiring every session, and a bad
spec refused. TAP output."""
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import xml.parsers.expat
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from simtest import SIM, ok, plan, start_proc, stop_all  # noqa: E402


def start(*args):
    """A plain-HTTP sim: returns (URL, process)."""
    return start_proc("--plain", *args)


USER, PWD = "root", "xapi-sim"


class Client:
    """xmlrpc.client over a fresh connection per call, so that a dropped or
    closed connection never leaks into the next call."""

    def __init__(self, url):
        self.url = url

    def call(self, method, *args):
        """('ok', value) | ('err', description) | ('raise', exception)."""
        f = xmlrpc.client.ServerProxy(self.url)
        for part in method.split("."):
            f = getattr(f, part)
        try:
            r = f(*args)
        except (xmlrpc.client.ProtocolError, http.client.HTTPException, xml.parsers.expat.ExpatError,
                ConnectionError, OSError) as e:
            return "raise", e
        if r.get("Status") == "Success":
            return "ok", r["Value"]
        return "err", r["ErrorDescription"]

    def timed(self, method, *args):
        t0 = time.time()
        r = self.call(method, *args)
        return r, time.time() - t0


def raw_post(url, method, *params):
    """The raw HTTP exchange: (status, headers, body bytes, declared length)."""
    u = urllib.parse.urlparse(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.request("POST", "/", xmlrpc.client.dumps(params, method))
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), body, int(r.getheader("content-length", -1))


def main():
    spec = ",".join([
        "drop:VM.get_all*2",
        "delay=800:host.get_all*1",
        "http500:SR.get_all*1",
        "truncate:pool.get_all*1",
        "expire:network.get_all*1",
        "http500:PIF.get_all@2*1",
        "delay=600:VM.clean_shutdown*1",
        "http500:task.get_all*1",
    ])
    try:
        url, p = start("--faults", spec)
        ok(True, "xapi-sim starts with --faults %s" % spec)
        c = Client(url)
        s = c.call("session.login_with_password", USER, PWD, "2.21", "test_faults")[1]

        # drop: the connection closes halfway through the answer
        r = c.call("VM.get_all", s)
        ok(r[0] == "raise" and isinstance(r[1], (http.client.IncompleteRead, http.client.RemoteDisconnected,
                                                 ConnectionError, xml.parsers.expat.ExpatError)),
           "drop: the first VM.get_all loses its connection mid-answer (%s)" % type(r[1]).__name__, r)
        u = urllib.parse.urlparse(url)
        hc = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        hc.request("POST", "/", xmlrpc.client.dumps((s,), "VM.get_all"))
        resp = hc.getresponse()
        declared = int(resp.getheader("content-length"))
        try:
            got = len(resp.read())
            ok(False, "drop: the answer stops short of its Content-Length", got)
        except http.client.IncompleteRead as e:
            ok(0 < len(e.partial) < declared, "drop: the answer stops short of its Content-Length (%d of %d bytes)"
               % (len(e.partial), declared))
        hc.close()
        r = c.call("VM.get_all", s)
        ok(r[0] == "ok" and len(r[1]) > 0, "drop*2: the third VM.get_all is answered", r[0])

        # delay
        (st, v), took = c.timed("host.get_all", s)
        ok(st == "ok" and took >= 0.75, "delay=800: the first host.get_all answers %.2f s late" % took, v)
        (st, v), took = c.timed("host.get_all", s)
        ok(st == "ok" and took < 0.75, "delay*1: the next host.get_all is on time (%.2f s)" % took)
        (st, v), took = c.timed("VM.get_all", s)
        ok(st == "ok" and took < 0.75, "delay:host.get_all leaves other calls alone (%.2f s)" % took)

        # http500: an HTML page, as xapi answers transport errors
        status, hd, body, n = raw_post(url, "SR.get_all", s)
        ok(status == 500 and hd.get("content-type") == "text/html" and body.startswith(b"<html>"),
           "http500: SR.get_all gets HTTP 500 with an HTML page", (status, hd, body[:100]))
        r = c.call("SR.get_all", s)
        ok(r[0] == "ok", "http500*1: the next SR.get_all is answered", r)

        # truncate: half the XML, with a Content-Length to match
        status, hd, body, n = raw_post(url, "pool.get_all", s)
        whole = raw_post(url, "pool.get_all", s)[2]
        ok(status == 200 and n == len(body) and len(body) == len(whole) // 2 and whole.startswith(body),
           "truncate: pool.get_all sends the first half of the XML (%d of %d bytes), Content-Length to match"
           % (len(body), len(whole)))
        try:
            xmlrpc.client.loads(body)
            ok(False, "truncate: the client cannot parse the half answer")
        except xml.parsers.expat.ExpatError as e:
            ok(True, "truncate: the client cannot parse the half answer (%s)" % e)

        # expire: every session ends, this call already sees it
        other = c.call("session.login_with_password", USER, PWD, "2.21", "test_faults")[1]
        r = c.call("network.get_all", s)
        ok(r == ("err", ["SESSION_INVALID", s]), "expire: network.get_all answers SESSION_INVALID", r)
        r = c.call("VM.get_all", other)
        ok(r == ("err", ["SESSION_INVALID", other]), "expire: every other session has ended too", r)
        s = c.call("session.login_with_password", USER, PWD, "2.21", "test_faults")[1]
        r = c.call("network.get_all", s)
        ok(r[0] == "ok", "expire*1: a new session works, network.get_all is answered", r)

        # @AFTER: the rule fires on the third call only
        seen = []
        for _ in range(4):
            seen.append(raw_post(url, "PIF.get_all", s)[0])
        ok(seen == [200, 200, 500, 200], "http500@2*1: only the third PIF.get_all gets HTTP 500", seen)

        # Async. is ignored when matching: the Async call is the one delayed
        vm = [ref for ref, rec in c.call("VM.get_all_records", s)[1].items()
              if rec["power_state"] == "Running" and not rec["is_control_domain"]][0]
        (st, task), took = c.timed("Async.VM.clean_shutdown", s, vm)
        ok(st == "ok" and took >= 0.55, "delay:VM.clean_shutdown also delays Async.VM.clean_shutdown (%.2f s)" % took)

        # the same rules apply to JSON-RPC
        statuses = []
        for _ in range(2):
            hc = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
            hc.request("POST", "/jsonrpc", json.dumps({"jsonrpc": "2.0", "method": "task.get_all", "params": [s],
                                                       "id": 1}))
            resp = hc.getresponse()
            statuses.append((resp.status, resp.getheader("content-type")))
            resp.read()
            hc.close()
        ok(statuses == [(500, "text/html"), (200, "application/json")],
           "http500:task.get_all*1 hits a JSON-RPC call too, once", statuses)

        # SIGUSR1 expires every session at once
        p.send_signal(signal.SIGUSR1)
        deadline = time.time() + 10
        r = None
        while time.time() < deadline:
            r = c.call("VM.get_all", s)
            if r[0] == "err":
                break
            time.sleep(0.05)
        ok(r == ("err", ["SESSION_INVALID", s]), "SIGUSR1: the session is invalid", r)
        s2 = c.call("session.login_with_password", USER, PWD, "2.21", "test_faults")
        ok(s2[0] == "ok" and c.call("VM.get_all", s2[1])[0] == "ok", "after SIGUSR1 a new login works", s2)

        # a spec that does not parse is refused at start
        for bad in ("bogus", "delay:VM.get_all"):
            b = subprocess.run([SIM, "--plain", "--port", "0", "--faults", bad], capture_output=True, text=True,
                               timeout=30)
            ok(b.returncode == 2 and "--faults" in b.stderr and "listening" not in b.stdout,
               "--faults %s: exit status 2 and a message" % bad, (b.returncode, b.stderr))
    except Exception:
        import traceback
        ok(False, "the test ran to the end", traceback.format_exc())
    finally:
        stop_all()
    return plan()


if __name__ == "__main__":
    sys.exit(main())
