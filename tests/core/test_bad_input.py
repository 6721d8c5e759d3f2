"""Bad input and bad servers (issue 19): strings XML forbids in a reply,
a failure that persists after login, an endless reply, a password in a URL,
and control or bidi characters in --json and on stderr. Runs xapi-sim,
a rewriting proxy in front of it and small fake servers, and
build/san/xentui. TAP output."""
import http.client
import http.server
import json
import os
import pty
import re
import select
import shutil
import signal
import socketserver
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import fcntl
import time
import urllib.request
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
import simtest  # noqa: E402
from simtest import ok  # noqa: E402

XENTUI = os.environ.get("XENTUI", os.path.join(simtest.ROOT, "build", "san", "xentui"))
TMP = tempfile.mkdtemp(prefix="xentui-bad-input-")
FFFD = "\ufffd"
SAN_REPORTS = []  # sanitizer reports in xentui's stderr


def env_for(extra=None):
    env = dict(os.environ)
    env["XENTUI_PW"] = "xapi-sim"
    env["XDG_CONFIG_HOME"] = os.path.join(TMP, "xdg")
    env.pop("XENTUI_MAX_REPLY_BYTES", None)
    if extra:
        env.update(extra)
    return env


def xentui(*args, extra=None, timeout=90):
    """(status, stdout bytes, stderr bytes, ru_maxrss in KiB, seconds)."""
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    t0 = time.time()
    p = subprocess.Popen([XENTUI, *args], stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env_for(extra))
    deadline = t0 + timeout
    while True:
        pid, status, usage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.time() > deadline:
            p.kill()
            pid, status, usage = os.wait4(p.pid, 0)
            break
        time.sleep(0.05)
    p.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    err.seek(0)
    e = err.read()
    if b"Sanitizer" in e or b"runtime error" in e:
        SAN_REPORTS.append("%s: %s" % (" ".join(args), e.decode(errors="replace")[:1000]))
    return p.returncode, out.read(), e, usage.ru_maxrss, time.time() - t0


def list_cmd(url, kind="vms", *more):
    return ["list", kind, *more, "--password-env", "XENTUI_PW", url]


class Jsonrpc:
    """JSON-RPC to the sim (/jsonrpc), as a script on the pool would set strings."""

    def __init__(self, url):
        self.url = url + "/jsonrpc"
        self.session = self.call("session.login_with_password", "root", "xapi-sim", "2.21", "test_bad_input",
                                 session=False)

    def call(self, method, *params, session=True):
        body = {"jsonrpc": "2.0", "method": method, "id": 1,
                "params": ([self.session] if session else []) + list(params)}
        req = urllib.request.Request(self.url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=simtest.CTX, timeout=30) as r:
            answer = json.loads(r.read())
        if "error" in answer and answer["error"]:
            raise RuntimeError("%s: %r" % (method, answer["error"]))
        return answer["result"]

    def guests(self):
        recs = self.call("VM.get_all_records")
        return sorted(r for r, v in recs.items()
                      if not v["is_a_template"] and not v["is_a_snapshot"] and not v["is_control_domain"])


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(handler_cls):
    """Starts handler_cls on a free loopback port; returns (server, URL)."""
    srv = Server(("127.0.0.1", 0), handler_cls)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, "http://127.0.0.1:%d" % srv.server_address[1]


class Quiet(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def answer(self, data, ctype="text/xml"):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (as it should on some of these)


# Markers the sim stores as plain text, replaced in its replies by bytes
# XML forbids (the sim itself drops C0 controls, as xapi does, and json-c
# turns a lone surrogate into U+FFFD: only a server that misbehaves sends them).
MARKERS = {
    "@C0@": (b"\x01\x1b", FFFD * 2),
    "@NUL@": (b"\x00", FFFD),
    "@NONCHAR@": ("\ufffe\uffff".encode(), FFFD * 2),
    "@SURROGATE@": (b"\xed\xa0\x80\xed\xbf\xbf", FFFD * 2),
    "@NOTUTF8@": (b"\xff\xc0\x80\xe2\x82", FFFD * 4),
    "@CHARREF@": (b"&#1;&#xFFFE;&#xD800;", FFFD * 3),
}


def proxy_to(sim_url):
    host, port = sim_url.split("//")[1].split(":")

    class Proxy(Quiet):
        def do_POST(self):
            data = self.body()
            c = http.client.HTTPConnection(host, int(port), timeout=120)
            c.request("POST", self.path, data, {"Content-Type": self.headers.get("Content-Type", "text/xml")})
            r = c.getresponse()
            reply = r.read()
            c.close()
            for marker, (raw, _) in MARKERS.items():
                reply = reply.replace(marker.encode(), raw)
            self.answer(reply)

    return serve(Proxy)


def test_forbidden_characters(sim_url):
    rpc = Jsonrpc(sim_url)
    vms = rpc.guests()
    # U+FFFE and U+FFFF set over JSON-RPC, as a script or a guest would
    rpc.call("VM.set_name_label", vms[0], "fffe-\ufffe-\uffff-end")
    rpc.call("VM.set_name_description", vms[0], "d\ufffe\uffff\x01\x1f\ud800 end")
    st, out, err, _, _ = xentui(*list_cmd(sim_url, "vms", "--json"))
    names = []
    if ok(st == 0, "list vms succeeds when a VM's name and description hold U+FFFE and U+FFFF",
          err.decode(errors="replace")):
        names = [v["name"] for v in json.loads(out)]
    ok("fffe-%s-%s-end" % (FFFD, FFFD) in names, "each forbidden character shows as U+FFFD, the rest kept",
       repr(names))
    st, out, err, _, _ = xentui(*list_cmd(sim_url, "vms"))
    ok(st == 0 and ("fffe-%s-%s-end" % (FFFD, FFFD)).encode() in out, "the table shows U+FFFD in their place",
       out.decode(errors="replace") + err.decode(errors="replace"))

    # every class XML forbids, raw in the reply (through the rewriting proxy)
    want = {}
    for i, (marker, (_, shown)) in enumerate(MARKERS.items()):
        tag = marker.strip("@").lower()
        rpc.call("VM.set_name_label", vms[i + 1], "%s-%s-end" % (tag, marker))
        want[tag] = "%s-%s-end" % (tag, shown)
    rpc.call("VM.set_name_description", vms[0], "all " + " ".join(MARKERS))
    srv, purl = proxy_to(sim_url)
    try:
        st, out, err, _, _ = xentui(*list_cmd(purl, "vms", "--json"))
        names = []
        if ok(st == 0, "list vms succeeds with C0 controls, NUL, U+FFFE/FFFF, surrogates, bad UTF-8 and "
                       "references to forbidden characters in the reply", err.decode(errors="replace")):
            names = [v["name"] for v in json.loads(out)]
        for tag, name in want.items():
            ok(name in names, "%s: each forbidden character became U+FFFD, the rest of the name kept" % tag,
               "want %r in %r" % (name, names))
        st, out, err, _, _ = xentui(*list_cmd(purl, "vms"))
        text = out.decode(errors="replace")
        ok(st == 0 and all(n in text for n in want.values()), "the table shows them the same way",
           text + err.decode(errors="replace"))
    finally:
        srv.shutdown()
        srv.server_close()


def test_json_escapes(sim_url):
    rpc = Jsonrpc(sim_url)
    vm = rpc.guests()[-1]
    evil = "j-\u0085\u009b\u007f\u202e\u2066\u200e\u200f\u202a\u2069\t\n-end"
    rpc.call("VM.set_name_label", vm, evil)
    px = xmlrpc.client.ServerProxy(sim_url, allow_none=True)
    s = simtest.value(px, "session.login_with_password", "root", "xapi-sim", "2.21", "test_bad_input")
    t_nan = simtest.value(px, "task.create", s, "nan-task", "")
    simtest.value(px, "task.set_progress", s, t_nan, float("nan"))
    t_inf = simtest.value(px, "task.create", s, "inf-task", "")
    simtest.value(px, "task.set_progress", s, t_inf, float("inf"))

    st, out, err, _, _ = xentui(*list_cmd(sim_url, "vms", "--json"))
    ok(st == 0, "list vms --json succeeds", err.decode(errors="replace"))
    raw = [c for c in "\u0085\u009b\u007f\u202e\u2066\u200e\u200f\u202a\u2069" if c.encode() in out]
    ok(not raw, "--json prints no C1, DEL or bidi control raw", repr(raw))
    escapes = ["\\u0085", "\\u009b", "\\u007f", "\\u202e", "\\u2066", "\\u200e", "\\u200f", "\\u202a", "\\u2069"]
    text = out.decode()
    ok(all(e in text for e in escapes), "each is written as \\uXXXX", text[:2000])
    names = [v["name"] for v in json.loads(text)] if st == 0 else []
    ok(evil in names, "and reads back as the pool's own string", repr(names))

    st, out, err, _, _ = xentui(*list_cmd(sim_url, "tasks", "--json"))
    text = out.decode()
    ok(st == 0 and not re.search(r"\b(NaN|Infinity)\b", text), "list tasks --json writes no NaN or Infinity",
       text[:2000] + err.decode(errors="replace"))
    progress = {}
    try:
        progress = {t["name"]: t["progress"] for t in json.loads(text, parse_constant=lambda c: "bad " + c)}
    except ValueError as e:
        ok(False, "list tasks --json parses", str(e))
    ok(progress.get("nan-task", "missing") is None and progress.get("inf-task", "missing") is None,
       "a NaN or infinite progress is null", repr(progress))


def test_url_secrets(sim_url):
    hits = []

    class Counter(Quiet):
        def do_POST(self):
            hits.append(self.body())
            self.answer(b"")

        do_GET = do_POST

    srv, furl = serve(Counter)
    log = os.path.join(TMP, "url.log")
    try:
        bad = furl.replace("http://", "http://root:hunter2@")
        st, out, err, _, _ = xentui("--log", log, *list_cmd(bad))
        e = err.decode(errors="replace")
        ok(st == 2, "a password in the URL is refused (status 2)", "status %d: %s" % (st, e))
        ok("--password-file" in e and "--password-env" in e and "password_command" in e,
           "the refusal says where passwords go", e)
        ok("hunter2" not in e and "hunter2" not in out.decode(errors="replace"), "and does not repeat the password", e)
        logged = open(log, errors="replace").read() if os.path.exists(log) else ""
        ok("hunter2" not in logged, "the log never holds it", logged[:2000])
        ok(not hits, "nothing was sent to the server", repr(hits[:2]))
        st, out, err, _, _ = xentui(bad, timeout=30)
        ok(st == 2 and not hits, "the full-screen interface refuses it too, before connecting",
           "status %d: %s" % (st, err.decode(errors="replace")))
    finally:
        srv.shutdown()
        srv.server_close()

    st, out, err, _, _ = xentui(*list_cmd(sim_url.replace("http://", "http://root@")))
    ok(st == 0 and b"NAME" in out, "a user in the URL (root@) is taken and the URL used without it",
       err.decode(errors="replace"))
    st, out, err, _, _ = xentui(*list_cmd(sim_url.replace("http://", "http://admin@")))
    e = err.decode(errors="replace")
    ok(st == 1 and "'admin'" in e, "admin@ logs in as admin, not root (the sim knows only root)", e)
    st, out, err, _, _ = xentui("-u", "root", *list_cmd(sim_url.replace("http://", "http://admin@")))
    e = err.decode(errors="replace")
    ok(st == 2 and "admin" in e and "root" in e, "--user and a different user in the URL: say so", e)


def test_stderr_sanitised():
    code = "EVIL\u009b2J\u202eCODE\u0085"

    class Refuser(Quiet):
        def do_POST(self):
            self.body()
            self.answer(xmlrpc.client.dumps(({"Status": "Failure", "ErrorDescription": [code, "x\u2066y"]},),
                                            methodresponse=True).encode())

    srv, furl = serve(Refuser)
    try:
        st, out, err, _, _ = xentui(*list_cmd(furl))
        raw = [c for c in "\u009b\u202e\u0085\u2066" if c.encode() in err]
        e = err.decode(errors="replace")
        ok(st == 1 and "EVIL" in e, "a login refused with a strange code fails with its text", e)
        ok(not raw, "stderr shows no C1 or bidi control the server sent", repr(raw) + " " + repr(e))
    finally:
        srv.shutdown()
        srv.server_close()


def test_endless_reply():
    class Endless(Quiet):
        def do_POST(self):
            self.body()
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.end_headers()
            chunk = b"A" * 65536
            try:
                self.wfile.write(b"<?xml version=\"1.0\"?><methodResponse><params><param><value><string>")
                t0 = time.time()
                while time.time() - t0 < 100:
                    self.wfile.write(chunk)
            except OSError:
                pass

    srv, furl = serve(Endless)
    try:
        limit = 8 << 20
        st, out, err, rss_kib, secs = xentui(*list_cmd(furl), extra={"XENTUI_MAX_REPLY_BYTES": str(limit)})
        e = err.decode(errors="replace")
        ok(st == 1 and "larger than 8 MiB" in e, "an endless reply fails the call with a sentence", "status %d: %s" % (st, e))
        ok(secs < 60, "within a bounded time (%.1f s)" % secs)
        # the sanitised build's own footprint is some 60 MB; the reply may add the limit twice over
        ok(rss_kib < 200 * 1024, "within bounded memory (peak RSS %d MiB)" % (rss_kib // 1024))
    finally:
        srv.shutdown()
        srv.server_close()


def run_tui(url, seconds, log, sim_url):
    """xentui on url in a pseudo-terminal for seconds while the pool changes
    (so event.from answers); returns (xentui session refs seen, live at the end)."""
    px = xmlrpc.client.ServerProxy(sim_url)
    s = simtest.value(px, "session.login_with_password", "root", "xapi-sim", "2.21", "test_bad_input")
    vm = Jsonrpc(sim_url).guests()[0]

    def sessions():
        # Class_message form: the fault matches "event.from" only
        r = simtest.value(px, "event_from", s, ["session"], "", 0.0)
        return {e["ref"] for e in r["events"]
                if e["operation"] != "del" and e.get("snapshot", {}).get("originator") == "xentui"}

    env = env_for({"TERM": "xterm-256color"})
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execve(XENTUI, [XENTUI, "--password-env", "XENTUI_PW", "--log", log, url], env)
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    seen = set()
    t0 = time.time()
    k = 0
    try:
        while time.time() - t0 < seconds:
            r, _, _ = select.select([fd], [], [], 0.25)
            if r:
                try:
                    os.read(fd, 65536)
                except OSError:
                    break
            seen |= sessions()
            k += 1
            simtest.value(px, "VM.set_name_description", s, vm, "poke %d" % k)
        live = sessions()
    finally:
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                os.read(fd, 65536)
            except OSError:
                pass
            if os.waitpid(pid, os.WNOHANG)[0]:
                break
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    return seen, live


def test_persistent_failure():
    url = simtest.start("--plain", "--vms", "4", "--faults", "http500:event.from@1")
    log = os.path.join(TMP, "persist.log")
    seen, live = run_tui(url, 20, log, url)
    text = open(log, errors="replace").read() if os.path.exists(log) else ""
    logins = text.count("session.login_with_password:")
    ok(len(seen) <= 2 and logins <= 2, "a failure that persists after login does not loop logins "
       "(%d sessions seen, %d logins in 20 s)" % (len(seen), logins))
    ok(1 <= len(live) <= 2, "at most one or two live sessions (%d)" % len(live))
    waits = [int(w) for w in re.findall(r"retry: .*retrying in (\d+) s", text)]
    ok(len(waits) >= 3 and waits[:4] == [1, 2, 4, 8][:len(waits[:4])], "the waits grow: 1, 2, 4, 8 ... s", repr(waits))
    ok(re.search(r"retry: .*HTTP 500 to event\.from", text) is not None,
       "the state message says why (HTTP 500 to event.from), not only 'reconnecting'",
       "\n".join(l for l in text.splitlines() if "retry" in l)[:1500])
    ok(text.count("reusing it") >= 2, "the session, still valid, is reused for each reload")

    url = simtest.start("--plain", "--vms", "4", "--faults", "http500:event.from*1@1")
    log = os.path.join(TMP, "once.log")
    seen, live = run_tui(url, 8, log, url)
    text = open(log, errors="replace").read() if os.path.exists(log) else ""
    ok(len(seen) == 1 and len(live) == 1 and "reusing it" in text,
       "one fault leaks no session: the one session is reused (%d seen, %d live)" % (len(seen), len(live)))


def main():
    try:
        sim_url = simtest.start("--plain", "--vms", "12", "--hosts", "1")
        test_forbidden_characters(sim_url)
        test_json_escapes(sim_url)
        test_url_secrets(sim_url)
        test_stderr_sanitised()
        test_endless_reply()
        test_persistent_failure()
        ok(not SAN_REPORTS, "xentui's stderr has no sanitizer report", "\n".join(SAN_REPORTS))
    finally:
        simtest.stop_all()
        shutil.rmtree(TMP, ignore_errors=True)
    return simtest.plan()


if __name__ == "__main__":
    sys.exit(main())
