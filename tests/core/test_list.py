"""`xentui list` against xapi-sim, checked against the sim's state read
independently with Python's xmlrpc.client. TAP output."""
import http.server
import json
import os
import re
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
import xmlrpc.client

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIM = os.environ.get("XAPI_SIM", os.path.join(ROOT, "build/san/xapi-sim"))
XENTUI = os.environ.get("XENTUI_BIN") or os.environ.get("XENTUI", os.path.join(ROOT, "build/san/xentui"))
LOGS = os.path.join(ROOT, "build/test-logs")

n = 0
failed = 0


def check(cond, name, detail=""):
    global n, failed
    n += 1
    if cond:
        print(f"ok {n} - {name}")
    else:
        failed += 1
        print(f"not ok {n} - {name}")
        for line in str(detail).splitlines()[:40]:
            print(f"# {line}")


class Sim:
    def __init__(self, *args):
        os.makedirs(LOGS, exist_ok=True)
        self.log = open(os.path.join(LOGS, f"list-sim-{os.getpid()}.log"), "w")
        self.p = subprocess.Popen([SIM, *args], stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.fingerprint = None
        deadline = time.time() + 20
        while time.time() < deadline:
            line = self.p.stdout.readline()
            if not line:
                break
            if line.startswith("xapi-sim fingerprint "):
                self.fingerprint = line.split()[-1]
            if line.startswith("xapi-sim listening on "):
                self.url = line.split()[-1]
                return
        raise RuntimeError("xapi-sim did not start")

    def api(self):
        ctx = ssl._create_unverified_context()
        s = xmlrpc.client.ServerProxy(self.url, context=ctx)
        sid = s.session.login_with_password("root", "xapi-sim", "2.21", "test_list")["Value"]
        return s, sid

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
        self.log.close()
        with open(self.log.name) as f:
            text = f.read()
        return "Sanitizer" not in text and "runtime error" not in text


def xentui(*args, env_extra=None, timeout=60):
    env = dict(os.environ)
    env["XENTUI_PW"] = "xapi-sim"
    env["XDG_CONFIG_HOME"] = os.path.join(LOGS, "xdg-list")
    if env_extra:
        env.update(env_extra)
    return subprocess.run([XENTUI, *args], capture_output=True, text=True, timeout=timeout, env=env,
                          stdin=subprocess.DEVNULL)


# A VM name with every kind of control a hostile or broken pool could send:
# ESC and BEL (which XML forbids: the client's decoder turns each into U+FFFD
# before anything else sees it), DEL, a C1 CSI and NEL, a newline, a tab and
# a bidi override (which XML carries: only the sanitiser stands between them
# and the terminal).
RAW_NAME = "evil\x1b[31mred\x07\nsecond\x9bline\x85\x7f\t\u202eend"
RAW_UUID = "5e1f0000-0000-4000-8000-00000000e5c0"


class RawPool(http.server.BaseHTTPRequestHandler):
    """A pool reduced to what `xentui list` asks, answering with replies
    written here, byte for byte: no encoder between the test and the client."""

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        params, method = xmlrpc.client.loads(body)
        vm = {"uuid": RAW_UUID, "name_label": RAW_NAME, "power_state": "Halted", "is_a_template": False,
              "is_a_snapshot": False, "is_control_domain": False, "resident_on": "OpaqueRef:NULL",
              "memory_dynamic_max": "1073741824", "VCPUs_at_startup": "1"}
        value = {"session.login_with_password": "OpaqueRef:raw-session", "session.logout": "",
                 "pool.get_all": ["OpaqueRef:raw-pool"], "event.inject": "1",
                 "VM.get_all_records": {"OpaqueRef:raw-vm": vm},
                 "event.from": {"events": [], "valid_ref_counts": {}, "token": "2"}}
        if method in value:
            reply = {"Status": "Success", "Value": value[method]}
        elif method.endswith(".get_all_records"):
            reply = {"Status": "Success", "Value": {}}
        else:
            reply = {"Status": "Failure", "ErrorDescription": ["MESSAGE_METHOD_UNKNOWN", method]}
        if method == "event.from":
            time.sleep(0.5)  # a long poll with nothing new
        # xmlrpc.client escapes only & < >: the control bytes go out raw
        out = xmlrpc.client.dumps((reply,), methodresponse=True, allow_none=True).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


def raw_reply_checks():
    """The sanitiser tested with what the simulator cannot send."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RawPool)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d" % srv.server_address[1]
    try:
        r = xentui("list", "vms", url, "--password-env", "XENTUI_PW", "--json")
        got = next((d["name"] for d in json.loads(r.stdout or "[]") if d["uuid"] == RAW_UUID), None)
        want = "evil\ufffd[31mred\ufffd\nsecond\x9bline\x85\x7f\t\u202eend"
        check(r.returncode == 0 and got == want,
              "a raw reply: DEL, C1, newline, tab and bidi reach the client; ESC and BEL arrive as U+FFFD",
              f"exit {r.returncode} got {got!r} want {want!r} {r.stderr}")
        r = xentui("list", "vms", url, "--password-env", "XENTUI_PW")
        rows = [line for line in r.stdout.splitlines() if RAW_UUID in line]
        row = rows[0] if rows else ""
        check(r.returncode == 0 and len(rows) == 1 and row.startswith("evil\ufffd[31mred\ufffd?second?line????end "),
              "a raw reply's controls are each drawn as '?' on the VM's one row", repr(r.stdout))
        bad = [c for c in "\x1b\x07\r\x7f\x9b\x85\u202e" if c in r.stdout]
        check(not bad, "nothing of the name reaches the terminal as a control character", repr(bad))
    finally:
        srv.shutdown()
        srv.server_close()


def main():
    sim = Sim("--hosts", "3", "--vms", "25", "--seed", "11")
    try:
        s, sid = sim.api()
        vms = s.VM.get_all_records(sid)["Value"]
        hosts = s.host.get_all_records(sid)["Value"]
        guests = {v["uuid"]: v for v in vms.values()
                  if not v["is_a_template"] and not v["is_control_domain"] and not v["is_a_snapshot"]}
        conn = ["--fingerprint", sim.fingerprint, "--password-env", "XENTUI_PW"]

        # the table: one row per guest, with the sim's power state and host
        r = xentui("list", "vms", sim.url, *conn)
        check(r.returncode == 0, "list vms exits 0", r.stderr)
        lines = r.stdout.splitlines()
        check(lines and lines[0].split()[:3] == ["NAME", "POWER", "HOST"], "list vms prints a header", r.stdout[:300])
        rows = {}
        for line in lines[1:]:
            uuid = line.split()[-1]
            rows[uuid] = line
        check(set(rows) == set(guests), "list vms shows exactly the sim's guests",
              f"missing {set(guests) - set(rows)} extra {set(rows) - set(guests)}")
        ok = all(re.search(r"\b%s\b" % v["power_state"], rows.get(u, "")) for u, v in guests.items())
        check(ok, "each row shows the VM's power state")
        hostname = {ref: h["name_label"] for ref, h in hosts.items()}
        ok = all((hostname[v["resident_on"]] in rows.get(u, "")) for u, v in guests.items()
                 if v["resident_on"] != "OpaqueRef:NULL")
        check(ok, "running VMs show their host's name")

        # JSON: numbers as numbers, equal to the sim's records
        r = xentui("list", "vms", sim.url, "--json", *conn)
        check(r.returncode == 0, "list vms --json exits 0", r.stderr)
        try:
            data = json.loads(r.stdout)
        except ValueError as e:
            data = []
            check(False, "list vms --json is valid JSON", e)
        by = {d["uuid"]: d for d in data}
        check(set(by) == set(guests), "JSON lists the same guests")
        ok = all(by[u]["memory"] == int(v["memory_dynamic_max"]) and by[u]["vcpus"] == int(v["VCPUs_at_startup"])
                 and by[u]["power_state"] == v["power_state"] and by[u]["name"] == v["name_label"]
                 for u, v in guests.items() if u in by)
        check(ok, "JSON memory, vCPUs, power state and name equal the sim's")

        r = xentui("list", "hosts", sim.url, "--json", *conn)
        data = json.loads(r.stdout or "[]")
        ok = sorted(d["uuid"] for d in data) == sorted(h["uuid"] for h in hosts.values())
        ok = ok and all(d["cpus"] == len(hosts[d["ref"]]["host_CPUs"]) for d in data)
        check(ok, "list hosts --json matches the sim's hosts and CPU counts", r.stdout[:500])

        for kind, cls in (("srs", "SR"), ("networks", "network")):
            r = xentui("list", kind, sim.url, "--json", *conn)
            data = json.loads(r.stdout or "[]")
            want = sorted(x["uuid"] for x in getattr(s, cls).get_all_records(sid)["Value"].values())
            check(r.returncode == 0 and sorted(d["uuid"] for d in data) == want, f"list {kind} matches the sim",
                  r.stderr)

        # a name with control characters: harmless in the table, exact in JSON
        ref, v = next((ref, v) for ref, v in vms.items() if v["uuid"] in guests)
        evil = "evil\x1b[31mred\nsecond line\u009b31m\u202e"
        # control characters cannot travel in XML: set it over JSON-RPC, as any client could
        body = json.dumps({"jsonrpc": "2.0", "method": "VM.set_name_label", "params": [sid, ref, evil], "id": 1})
        req = urllib.request.Request(sim.url + "/jsonrpc", body.encode(), {"Content-Type": "application/json"})
        reply = json.loads(urllib.request.urlopen(req, context=ssl._create_unverified_context()).read())
        check("result" in reply, "the sim takes the name over JSON-RPC", reply)
        r = xentui("list", "vms", sim.url, "--json", *conn)
        got = next((d["name"] for d in json.loads(r.stdout or "[]") if d["uuid"] == v["uuid"]), None)
        # xapi drops control bytes other than TAB, LF and CR on the wire: the
        # rest (a newline, a C1 CSI, a bidi override) reaches the client
        check(got == evil.replace("\x1b", ""), "JSON carries the name exactly as the pool sent it", repr(got))
        r = xentui("list", "vms", sim.url, *conn)
        row = next((line for line in r.stdout.splitlines() if v["uuid"] in line), "")
        # the sanitiser shows each control as "?", on the VM's one row
        check(row.startswith("evil[31mred?second line?31m?") and "\u202e" not in r.stdout
              and "\u009b" not in r.stdout, "a VM name with a newline, a C1 CSI and a bidi override is drawn harmlessly",
              repr(row))

        # failures: one line on stderr, exit 1; bad usage: exit 2
        r = xentui("list", "vms", sim.url, "--fingerprint", sim.fingerprint, "--password-env", "XENTUI_PW",
                   env_extra={"XENTUI_PW": "wrong"})
        check(r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and "password" in r.stderr,
              "a wrong password: exit 1 and one clear line", r.stderr)
        r = xentui("list", "vms", sim.url, "--password-env", "XENTUI_PW")
        check(r.returncode == 1 and sim.fingerprint in r.stderr and "--fingerprint" in r.stderr,
              "an unknown certificate: exit 1, naming the fingerprint and how to accept it", r.stderr)
        r = xentui("list", "vms", "https://127.0.0.1:1", "-k", "--password-env", "XENTUI_PW")
        check(r.returncode == 1 and "127.0.0.1:1" in r.stderr, "nobody listening: exit 1, naming the address",
              r.stderr)
        r = xentui("list", "everything", sim.url)
        check(r.returncode == 2, "list of an unknown kind is bad usage (exit 2)", r.stderr)
        r = xentui("--no-such-option")
        check(r.returncode == 2, "an unknown option is bad usage (exit 2)", r.stderr)
    finally:
        clean = sim.stop()
    check(clean, "xapi-sim ran without a sanitizer report")

    # dom0's local socket: unix:/var/lib/xcp/xapi, as at a host's physical console
    sock = os.path.join(LOGS, f"xapi-{os.getpid()}.sock")
    sim = Sim("--bind", "unix:" + sock, "--hosts", "1", "--vms", "3")
    try:
        r = xentui("list", "hosts", "unix:" + sock, "--password-env", "XENTUI_PW", "--json")
        data = json.loads(r.stdout or "[]")
        check(r.returncode == 0 and len(data) == 1, "list hosts over a unix: socket URL", r.stderr)
    finally:
        clean = sim.stop()
    check(clean, "xapi-sim on a unix socket ran without a sanitizer report")
    raw_reply_checks()
    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
