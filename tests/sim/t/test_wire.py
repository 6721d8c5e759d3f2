#!/usr/bin/env python3
"""xapi-sim's bytes on the wire against WIRE.md sections 1-3, read with
http.client and raw sockets (no XML-RPC library in the way): compact XML,
bare strings and ints, <i4> only in valid_ref_counts, system.listMethods
without an envelope, HTTP 500 pages for transport errors, any POST path
answering XML-RPC, keep-alive and HTTP/1.0, the JSON-RPC v1/v2 envelopes,
sessions shared between the two, and long polls not blocking other
connections. TAP output."""
import http.client
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.parse
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from simtest import CTX, ok, plan, start, stop_all  # noqa: E402
from tcpwait import wait_server_read  # noqa: E402

USER, PWD = "root", "xapi-sim"


class Raw:
    """One TCP connection; requests written byte for byte, replies parsed
    just enough to split them (status line, headers, Content-Length body)."""

    def __init__(self, host, port):
        self.s = socket.create_connection((host, port), timeout=30)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def _fill(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def reply(self):
        """(status line, {header: value} lower-cased names, body)."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "-1"))
        if n < 0:
            while True:
                try:
                    self._fill()
                except EOFError:
                    break
            body, self.buf = self.buf, b""
        else:
            while len(self.buf) < n:
                self._fill()
            body, self.buf = self.buf[:n], self.buf[n:]
        return lines[0], headers, body

    def closed_by_peer(self, timeout=5):
        self.s.settimeout(timeout)
        try:
            return self.s.recv(1) == b""
        except (socket.timeout, OSError):
            return False

    def close(self):
        self.s.close()


def request(path, body, version="1.1", extra=b"", content_length=True):
    h = b"POST %s HTTP/%s\r\nHost: sim\r\nContent-Type: text/xml\r\n" % (path.encode(), version.encode())
    if content_length:
        h += b"Content-Length: %d\r\n" % len(body)
    return h + extra + b"\r\n" + body


def xml_call(method, *params):
    return xmlrpc.client.dumps(tuple(params), method).encode()


def one(host, port, data):
    r = Raw(host, port)
    try:
        r.send(data)
        return r.reply()
    finally:
        r.close()


def decode(body):
    """The param of a methodResponse, with xmlrpc.client."""
    return xmlrpc.client.loads(body)[0][0]


def main():
    try:
        url = start("--plain")
        tls = start()
        u = urllib.parse.urlparse(url)
        host, port = u.hostname, u.port
        rpc = lambda method, *p: decode(one(host, port, request("/", xml_call(method, *p)))[2])

        st, hd, body = one(host, port, request("/", xml_call("session.login_with_password", USER, PWD, "2.21",
                                                              "test_wire")))
        s = decode(body)["Value"]
        ok(st == "HTTP/1.1 200 OK" and hd.get("content-type") == "text/xml" and
           hd.get("cache-control") == "no-cache, no-store" and hd.get("access-control-allow-origin") == "*",
           "XML-RPC reply: HTTP/1.1 200, content-type text/xml, Cache-Control, Access-Control-Allow-Origin",
           (st, hd))
        ok(body.startswith(b'<?xml version="1.0"?><methodResponse><params><param><value><struct><member><name>'
                           b'Status</name><value>Success</value></member><member><name>Value</name>'),
           "success envelope: Status first, then Value (WIRE.md 2.3)", body[:200])

        vms = decode(one(host, port, request("/", xml_call("VM.get_all", s)))[2])["Value"]
        vm = vms[0]
        st, hd, body = one(host, port, request("/", xml_call("VM.get_record", s, vm)))
        ok(re.search(rb">\s+<", body) is None and b"\n" not in body,
           "replies are compact XML: no whitespace between tags", body[:300])
        ok(b"<string>" not in body and re.search(rb"<member><name>name_label</name><value>[^<]*</value></member>",
                                                 body),
           "strings are bare <value>text</value>, never <string>", body[:300])
        ok(re.search(rb"<member><name>memory_static_max</name><value>[0-9]+</value></member>", body)
           and not re.search(rb"<(i4|i8|int)>", body),
           "ints are bare decimal digits (memory_static_max), no <i4>/<i8>/<int>")
        ok(re.search(rb"<member><name>is_a_template</name><value><boolean>[01]</boolean></value></member>", body),
           "bools are <boolean>0|1</boolean>")
        ok(re.search(rb"<member><name>snapshot_time</name><value><dateTime\.iso8601>[0-9]{8}T[0-9:]{8}Z?"
                     rb"</dateTime\.iso8601></value></member>", body),
           "datetimes are <dateTime.iso8601>YYYYMMDDTHH:MM:SSZ")
        st, hd, body = one(host, port, request("/", xml_call("VM.get_all_records", s)))
        ok(st.endswith("200 OK") and not re.search(rb"<(i4|i8|int|string)>", body),
           "VM.get_all_records: no typed ints or strings anywhere (%d bytes)" % len(body))

        st, hd, body = one(host, port, request("/", xml_call("event.from", s, ["*"], "", 1.0)))
        batch = decode(body)["Value"]
        vrc = re.search(rb"<member><name>valid_ref_counts</name><value><struct>(.*?)</struct></value></member>",
                        body)
        outside = re.sub(rb"<member><name>valid_ref_counts</name><value><struct>.*?</struct></value></member>", b"",
                         body)
        ok(vrc and b"<i4>" in vrc.group(1) and not re.search(rb"<(i4|i8|int)>", outside),
           "event.from: <i4> appears in valid_ref_counts and nowhere else")
        ok(re.fullmatch(rb"(<member><name>[a-z_0-9]+</name><value><i4>[0-9]+</i4></value></member>)+",
                        vrc.group(1) if vrc else b"x") is not None and len(batch["valid_ref_counts"]) > 50,
           "valid_ref_counts: every table, lower-case names, <i4> counts")

        st, hd, body = one(host, port, request("/", xml_call("system.listMethods")))
        ok(body.startswith(b'<?xml version="1.0"?><methodResponse><params><param><value><array><data>'
                           b"<value>") and b"Status" not in body,
           "system.listMethods: a bare array, no Status envelope, no session needed", body[:200])

        # transport errors: HTTP 500 with an HTML page
        cases = [
            ("malformed XML", request("/", b"<methodCall><methodName>VM.get_all</methodName><params>")),
            ("missing <params>", request("/", b"<methodCall><methodName>system.listMethods</methodName>"
                                              b"</methodCall>")),
            # these two are refused on their headers: no body is sent, so that
            # the close cannot turn into a reset over unread bytes
            ("missing Content-Length", request("/", b"", content_length=False)),
            ("a body over 300 KiB", request("/", b"", content_length=False,
                                             extra=b"Content-Length: %d\r\n" % (300 * 1024 + 1)))]
        for what, data in cases:
            try:
                st, hd, body = one(host, port, data)
            except (EOFError, OSError) as e:
                st, hd, body = str(e), {}, b""
            ok(st.split()[1:2] == ["500"] and hd.get("content-type") == "text/html" and b"<html>" in body,
               "%s: HTTP 500 with an HTML page" % what, (st, hd, body[:200]))
        pad = b" " * (300 * 1024 - len(xml_call("VM.get_name_label", s, vm)) - 1)
        body = xml_call("VM.get_name_label", s, vm).replace(b"</methodCall>", pad + b"</methodCall>")
        st, hd, reply = one(host, port, request("/", body))
        ok(len(body) < 300 * 1024 and st.endswith("200 OK") and decode(reply)["Status"] == "Success",
           "a body just under 300 KiB is served (%d bytes)" % len(body), st)
        st, hd, body = one(host, port, request("/", xml_call("VM.start", s, vm)))
        ok(st.endswith("200 OK") and decode(body)["Status"] == "Failure",
           "API errors come back as HTTP 200 with Status Failure")

        for path in ("/", "/RPC2", "/xmlrpc", "/json", "/foo", "/foo/bar"):
            st, hd, body = one(host, port, request(path, xml_call("VM.get_name_label", s, vm)))
            ok(st.endswith("200 OK") and hd.get("content-type") == "text/xml" and
               decode(body).get("Status") == "Success", "POST %s answers XML-RPC" % path, (st, body[:200]))

        # keep-alive: several calls on one connection
        r = Raw(host, port)
        replies = []
        for i in range(4):
            r.send(request("/", xml_call("VM.get_name_label", s, vms[i % len(vms)])))
            replies.append(r.reply())
        ok(all(x[0] == "HTTP/1.1 200 OK" and x[1].get("connection") == "keep-alive" for x in replies)
           and [decode(x[2])["Value"] for x in replies] == [rpc("VM.get_name_label", s, vms[i % len(vms)])["Value"]
                                                             for i in range(4)],
           "keep-alive: four calls answered in turn on one connection", [x[0] for x in replies])
        r.send(request("/", xml_call("VM.get_name_label", s, vm), extra=b"Connection: close\r\n"))
        st, hd, body = r.reply()
        ok(hd.get("connection") == "close" and r.closed_by_peer(), "Connection: close is honoured")
        r.close()
        r = Raw(host, port)
        r.send(request("/", xml_call("VM.get_name_label", s, vm), version="1.0",
                       extra=b"Connection: keep-alive\r\n"))
        st, hd, body = r.reply()
        ok(st == "HTTP/1.0 200 OK" and hd.get("connection") == "close" and r.closed_by_peer(),
           "HTTP/1.0: answered in HTTP/1.0 with Connection: close, then closed", (st, hd))
        r.close()

        # TLS: keep-alive with a real client library
        tu = urllib.parse.urlparse(tls)
        c = http.client.HTTPSConnection(tu.hostname, tu.port, context=CTX, timeout=30)
        c.request("POST", "/", xml_call("session.login_with_password", USER, PWD, "2.21", "test_wire"))
        ts = decode(c.getresponse().read())["Value"]
        sock = c.sock
        c.request("POST", "/", xml_call("VM.get_all", ts))
        names = []
        for v in decode(c.getresponse().read())["Value"][:3]:
            c.request("POST", "/", xml_call("VM.get_name_label", ts, v))
            names.append(decode(c.getresponse().read())["Value"])
        ok(c.sock is sock and len(names) == 3, "TLS: http.client reuses one connection for several calls")
        c.close()

        check_json(host, port, s, vm, rpc)
        check_long_poll(host, port, s, vm)
    except Exception:
        import traceback
        ok(False, "the test ran to the end", traceback.format_exc())
    finally:
        stop_all()
    return plan()


def check_json(host, port, s, vm, rpc):
    def post(obj, raw=None):
        data = raw if raw is not None else json.dumps(obj).encode()
        st, hd, body = one(host, port, b"POST /jsonrpc HTTP/1.1\r\nHost: sim\r\nContent-Type: application/json\r\n"
                                       b"Content-Length: %d\r\n\r\n" % len(data) + data)
        try:
            return st, hd, json.loads(body)
        except ValueError:
            return st, hd, body

    name = rpc("VM.get_name_label", s, vm)["Value"]
    st, hd, r = post({"method": "VM.get_name_label", "params": [s, vm], "id": 7})
    ok(st.endswith("200 OK") and hd.get("content-type") == "application/json" and
       r == {"result": name, "error": None, "id": 7} and list(r) == ["result", "error", "id"],
       "JSON-RPC v1 success: {result, error: null, id} (and the XML-RPC session works here)", (st, r))
    st, hd, r = post({"method": "VM.get_name_label", "params": ["OpaqueRef:nope", vm], "id": 8})
    ok(r == {"result": None, "error": ["SESSION_INVALID", "OpaqueRef:nope"], "id": 8},
       "JSON-RPC v1 failure: {result: null, error: [code, params...], id}", r)
    st, hd, r = post({"jsonrpc": "2.0", "method": "VM.get_name_label", "params": [s, vm], "id": "a1"})
    ok(r == {"jsonrpc": "2.0", "result": name, "id": "a1"} and list(r) == ["jsonrpc", "result", "id"],
       "JSON-RPC v2 success: {jsonrpc, result, id}, a string id echoed", r)
    st, hd, r = post({"jsonrpc": "2.0", "method": "VM.get_name_label", "params": ["OpaqueRef:nope", vm], "id": 9})
    ok(r == {"jsonrpc": "2.0", "error": {"code": 1, "message": "SESSION_INVALID", "data": ["OpaqueRef:nope"]},
             "id": 9}, "JSON-RPC v2 failure: error {code 1, message: code, data: params}", r)
    st, hd, r = post({"jsonrpc": "2.0", "method": "VMPP.get_all_records", "params": [s], "id": 10})
    ok(r == {"jsonrpc": "2.0", "error": {"code": 1, "message": "MESSAGE_REMOVED", "data": []}, "id": 10},
       "JSON-RPC v2 failure without params: data is []", r)
    st, hd, r = post({"jsonrpc": "2.0", "method": "VM.get_all", "id": 11})
    ok(isinstance(r, dict) and r.get("error", {}).get("message") == "MESSAGE_PARAMETER_COUNT_MISMATCH",
       "JSON-RPC v2 without params means no params", r)
    st, hd, r = post({"jsonrpc": "2.0", "method": "VM.get_record", "params": [s, vm], "id": 12})
    rec = r.get("result", {}) if isinstance(r, dict) else {}
    ok(type(rec.get("memory_static_max")) is int and type(rec.get("is_a_template")) is bool
       and type(rec.get("HVM_shadow_multiplier")) is float and isinstance(rec.get("snapshot_time"), str)
       and isinstance(rec.get("VBDs"), list) and isinstance(rec.get("other_config"), dict),
       "JSON-RPC types: ints and floats are numbers, bools true/false, datetimes strings, sets arrays, maps objects",
       {k: rec.get(k) for k in ("memory_static_max", "is_a_template", "HVM_shadow_multiplier", "snapshot_time")})
    for what, obj in (("without an id", {"jsonrpc": "2.0", "method": "VM.get_all", "params": [s]}),
                      ("with a null id", {"jsonrpc": "2.0", "method": "VM.get_all", "params": [s], "id": None}),
                      ("with jsonrpc 1.0", {"jsonrpc": "1.0", "method": "VM.get_all", "params": [s], "id": 1}),
                      ("v1 without params", {"method": "VM.get_all", "id": 1})):
        st, hd, r = post(obj)
        ok(st.split()[1:2] == ["500"] and hd.get("content-type") == "text/html",
           "JSON-RPC %s: HTTP 500" % what, (st, r))
    st, hd, r = post(None, raw=b'{"jsonrpc": "2.0", "method": ')
    ok(st.split()[1:2] == ["500"], "JSON that does not parse: HTTP 500", st)

    # what only JSON can send, read back over XML-RPC as xapi writes it
    post({"jsonrpc": "2.0", "method": "VM.set_name_description", "params": [s, vm, "a\u0001b\tc"], "id": 13})
    body = one(host, port, request("/", xml_call("VM.get_name_description", s, vm)))[2]
    ok(b"<value>ab\tc</value>" in body, "XML-RPC drops control bytes other than TAB, LF, CR from strings", body)
    post({"jsonrpc": "2.0", "method": "VM.add_to_other_config", "params": [s, vm, "x&y", "1"], "id": 14})
    body = one(host, port, request("/", xml_call("VM.get_other_config", s, vm)))[2]
    ok(b"<name>x&y</name>" in body, "XML-RPC struct member names are written raw, not escaped (WIRE.md 2.1)", body)
    post({"jsonrpc": "2.0", "method": "VM.remove_from_other_config", "params": [s, vm, "x&y"], "id": 15})

    st, hd, r = post({"jsonrpc": "2.0", "method": "session.login_with_password",
                      "params": [USER, PWD, "2.21", "test_wire"], "id": 1})
    js = r["result"]
    x = rpc("VM.get_name_label", js, vm)
    ok(x.get("Value") == name, "a session from JSON-RPC works over XML-RPC", x)
    st, hd, r = post({"jsonrpc": "2.0", "method": "session.logout", "params": [js], "id": 2})
    ok(r == {"jsonrpc": "2.0", "result": "", "id": 2}, "JSON-RPC void result is \"\"", r)
    x = rpc("VM.get_name_label", js, vm)
    ok(x.get("ErrorDescription") == ["SESSION_INVALID", js], "logged out over JSON-RPC: invalid over XML-RPC too", x)


def check_long_poll(host, port, s, vm):
    token = decode(one(host, port, request("/", xml_call("event.from", s, ["vm"], "", 0.1)))[2])["Value"]["token"]
    result = {}

    sent = threading.Event()

    def poll():
        t0 = time.time()
        r = Raw(host, port)
        try:
            r.send(request("/", xml_call("event.from", s, ["vm"], token, 8.0)))
            result["sock"] = r.s
            sent.set()
            result["reply"] = r.reply()
        finally:
            r.close()
        result["took"] = time.time() - t0

    th = threading.Thread(target=poll)
    th.start()
    # the long poll is under way once the sim has read it (and not answered)
    polling = sent.wait(10) and wait_server_read(result["sock"]) and th.is_alive()
    ok(polling, "an event.from long-polls on one connection")
    t0 = time.time()
    r = Raw(host, port)
    for _ in range(5):
        r.send(request("/", xml_call("VM.get_all", s)))
        r.reply()
    took = time.time() - t0
    ok(th.is_alive() and took < 3, "while an event.from long-polls on one connection, calls on another are "
       "answered (5 in %.2f s)" % took)
    r.send(request("/", xml_call("VM.set_name_description", s, vm, "woken by test_wire")))
    r.reply()
    r.close()
    th.join(15)
    events = decode(result["reply"][2])["Value"]["events"] if "reply" in result else []
    ok(any(e["ref"] == vm and e["snapshot"]["name_description"] == "woken by test_wire" for e in events)
       and result.get("took", 99) < 6, "the long poll wakes on the change, before its timeout (%.2f s)"
       % result.get("took", -1))


if __name__ == "__main__":
    sys.exit(main())
