"""JSON-RPC or XML-RPC (issue 16): `xentui list` through a recording proxy in
front of xapi-sim, which can play an older xapi without /jsonrpc. What went
on the wire is the proxy's record; what the user gets is checked against the
sim's state read with Python's xmlrpc.client. TAP output."""
import http.client
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
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
    print(("ok %d - %s" if cond else "not ok %d - %s") % (n, name))
    if not cond:
        failed += 1
        for line in str(detail).splitlines()[:30]:
            print("# " + line)
    sys.stdout.flush()


class Sim:
    def __init__(self, *args):
        os.makedirs(LOGS, exist_ok=True)
        self.log = open(os.path.join(LOGS, f"transport-sim-{os.getpid()}.log"), "w")
        self.p = subprocess.Popen([SIM, "--plain", "--bind", "127.0.0.1", "--port", "0", *args],
                                  stdout=subprocess.PIPE, stderr=self.log, text=True)
        deadline = time.time() + 20
        while time.time() < deadline:
            line = self.p.stdout.readline()
            if not line:
                break
            if line.startswith("xapi-sim listening on "):
                self.url = line.split()[-1]
                self.port = int(self.url.rsplit(":", 1)[1])
                return
        raise RuntimeError("xapi-sim did not start")

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


class Proxy:
    """Forwards every POST to the sim and records its path; mode "404" or
    "500" answers /jsonrpc as an xapi without JSON-RPC would (a 404 page,
    or the XML-RPC handler's 500 for a body it cannot parse)."""

    def __init__(self, sim_port):
        proxy = self
        self.paths = []
        self.mode = "pass"
        self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with proxy.lock:
                    proxy.paths.append(self.path)
                if self.path == "/jsonrpc" and proxy.mode in ("404", "500"):
                    page = b"<html><body>no such handler</body></html>"
                    self.send_response(int(proxy.mode))
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                    return
                c = http.client.HTTPConnection("127.0.0.1", sim_port, timeout=120)
                c.request("POST", self.path, body, {"Content-Type": self.headers.get("Content-Type", "")})
                r = c.getresponse()
                data = r.read()
                self.send_response(r.status)
                self.send_header("Content-Type", r.getheader("Content-Type", ""))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                c.close()

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.srv.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def take(self):
        with self.lock:
            p, self.paths = self.paths, []
        return p

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def xentui(*args, env_extra=None):
    env = dict(os.environ)
    env.pop("XENTUI_TRANSPORT", None)
    env["XENTUI_PW"] = "xapi-sim"
    env["XDG_CONFIG_HOME"] = os.path.join(LOGS, "xdg-transport")
    if env_extra:
        env.update(env_extra)
    return subprocess.run([XENTUI, *args], capture_output=True, text=True, timeout=90, env=env,
                          stdin=subprocess.DEVNULL)


def main():
    sim = Sim("--hosts", "2", "--vms", "12", "--seed", "16")
    proxy = Proxy(sim.port)
    tmp = tempfile.mkdtemp(prefix="xentui-transport-")
    try:
        s = xmlrpc.client.ServerProxy(sim.url)
        sid = s.session.login_with_password("root", "xapi-sim", "2.21", "test_transport")["Value"]
        vms = s.VM.get_all_records(sid)["Value"]
        want = {v["uuid"]: (v["name_label"], v["power_state"], int(v["memory_dynamic_max"]))
                for v in vms.values()
                if not v["is_a_template"] and not v["is_control_domain"] and not v["is_a_snapshot"]}

        def listed(*extra, env_extra=None):
            r = xentui("list", "vms", "--json", "--password-env", "XENTUI_PW", *extra, env_extra=env_extra)
            try:
                got = {d["uuid"]: (d["name"], d["power_state"], d["memory"]) for d in json.loads(r.stdout)}
            except ValueError:
                got = None
            return r, got, proxy.take()

        # auto against a pool that answers JSON-RPC: every call on /jsonrpc
        r, got, paths = listed(proxy.url)
        check(r.returncode == 0 and got == want, "auto: the VMs listed are the sim's (name, power state, memory)",
              f"exit {r.returncode} {r.stderr}")
        check(paths and all(p == "/jsonrpc" for p in paths), "auto: every call went to /jsonrpc", paths)

        # an xapi without JSON-RPC: one try, then XML-RPC for the rest of the session
        for mode in ("404", "500"):
            proxy.mode = mode
            r, got, paths = listed(proxy.url)
            check(r.returncode == 0 and got == want, f"auto, /jsonrpc answered {mode}: the same VMs over XML-RPC",
                  f"exit {r.returncode} {r.stderr}")
            check(paths[:1] == ["/jsonrpc"] and len(paths) > 2 and all(p == "/" for p in paths[1:]),
                  f"auto, /jsonrpc answered {mode}: asked once, then only XML-RPC", paths)
        proxy.mode = "404"

        # forced: --transport json on that pool fails with a sentence
        r, got, paths = listed(proxy.url, "--transport", "json")
        check(r.returncode == 1 and "404" in r.stderr and len(r.stderr.strip().splitlines()) == 1,
              "--transport json where /jsonrpc is missing: exit 1 and one line saying HTTP 404",
              f"exit {r.returncode} {r.stderr!r}")
        check(all(p == "/jsonrpc" for p in paths), "--transport json: no XML-RPC call", paths)
        proxy.mode = "pass"

        r, got, paths = listed(proxy.url, "--transport", "xml")
        check(r.returncode == 0 and got == want and paths and all(p == "/" for p in paths),
              "--transport xml: the same VMs, every call XML-RPC", f"{r.stderr} {paths}")
        r, got, paths = listed(proxy.url, env_extra={"XENTUI_TRANSPORT": "xml"})
        check(r.returncode == 0 and got == want and paths and all(p == "/" for p in paths),
              "XENTUI_TRANSPORT=xml: every call XML-RPC", f"{r.stderr} {paths}")
        r, got, paths = listed(proxy.url, "--transport", "json", env_extra={"XENTUI_TRANSPORT": "xml"})
        check(r.returncode == 0 and got == want and paths and all(p == "/jsonrpc" for p in paths),
              "--transport json wins over XENTUI_TRANSPORT=xml", f"{r.stderr} {paths}")

        # the configuration's preference
        cfg = os.path.join(tmp, "config")
        with open(cfg, "w") as f:
            f.write('preferences = { transport = "xml"; };\n')
        r, got, paths = listed(proxy.url, "-c", cfg, env_extra={"XENTUI_TRANSPORT": "json"})
        check(r.returncode == 0 and got == want and paths and all(p == "/" for p in paths),
              "preferences transport = \"xml\": every call XML-RPC", f"{r.stderr} {paths}")
        r, got, paths = listed(proxy.url, "-c", cfg, "--transport", "auto")
        check(r.returncode == 0 and paths and all(p == "/jsonrpc" for p in paths),
              "--transport auto wins over the configuration", f"{r.stderr} {paths}")
        with open(cfg, "w") as f:
            f.write('preferences = {\n  transport = "soap";\n};\n')
        r, got, paths = listed(proxy.url, "-c", cfg)
        check(r.returncode != 0 and f"{cfg}:2" in r.stderr and "transport" in r.stderr and not paths,
              "a transport the configuration cannot name: an error at its line, nothing sent", r.stderr)
        r, got, paths = listed(proxy.url, "--transport", "soap")
        check(r.returncode == 2 and "--transport" in r.stderr and not paths,
              "--transport soap is bad usage (exit 2)", f"exit {r.returncode} {r.stderr}")
    finally:
        proxy.stop()
        ok = sim.stop()
        subprocess.run(["rm", "-rf", tmp])
    check(ok, "the sim ran without sanitizer reports")
    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
