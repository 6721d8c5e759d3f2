"""What the Python tests share: TAP output, and xapi-sim processes started,
read and stopped (with a check that their stderr has no sanitizer report)."""
import os
import select
import ssl
import subprocess
import sys
import tempfile
import time
import xmlrpc.client

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIM = os.environ.get("XAPI_SIM", os.path.join(ROOT, "build", "san", "xapi-sim"))
# the client under test, for tests that run it: XENTUI_BIN (e.g. build/xentui-static)
XENTUI = os.environ.get("XENTUI_BIN") or os.environ.get("XENTUI", os.path.join(ROOT, "build", "san", "xentui"))
CTX = ssl._create_unverified_context()  # the sims' certificates are self-signed
LOGS = os.path.join(ROOT, "build", "test-logs")

_procs = []
_count = 0
_failed = 0


def ok(cond, name, detail=""):
    """One TAP line; the detail is printed as comments when it fails."""
    global _count, _failed
    _count += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", _count, name))
    if not cond:
        _failed += 1
        if detail:
            print("# " + str(detail)[:2000].replace("\n", "\n# "))
    sys.stdout.flush()
    return cond


def plan():
    """Prints the TAP plan; returns the exit status."""
    print("1..%d" % _count)
    return 1 if _failed else 0


def start_proc(*args):
    """Starts a sim on a free port; returns (URL, process)."""
    err = tempfile.TemporaryFile(mode="w+")
    p = subprocess.Popen([SIM, "--port", "0"] + list(args), stdout=subprocess.PIPE, stderr=err)
    _procs.append((p, err))
    deadline = time.time() + 30
    out = b""
    # unbuffered reads: the TLS sim prints its fingerprint line first
    while time.time() < deadline:
        r, _, _ = select.select([p.stdout], [], [], max(0, deadline - time.time()))
        if not r:
            break
        chunk = os.read(p.stdout.fileno(), 4096)
        if not chunk:
            break
        out += chunk
        for line in out.decode().splitlines(True):
            if line.startswith("xapi-sim listening on ") and line.endswith("\n"):
                return line.split()[-1], p
    raise RuntimeError("xapi-sim did not start: %r" % out)


def start(*args):
    """Starts a sim on a free port; returns its URL."""
    return start_proc(*args)[0]


def stop_all():
    """Stops every sim started here, one TAP line each for its stderr."""
    for p, err in _procs:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        err.seek(0)
        bad = [l for l in err.read().splitlines() if "Sanitizer" in l or "runtime error" in l]
        ok(not bad, "xapi-sim (pid %d) stderr has no sanitizer report" % p.pid, "\n".join(bad[:20]))
    del _procs[:]

class Sim:
    """An xapi-sim of our own (on a free port unless args say one) for tests
    that need its url and fingerprint: api() logs in over xmlrpc, stop()
    returns its stderr, kept in build/test-logs/<log>-sim-PID.log when a
    log name is given, else in a temporary file."""

    def __init__(self, *args, log=None):
        if log:
            os.makedirs(LOGS, exist_ok=True)
            self.err = open(os.path.join(LOGS, "%s-sim-%d.log" % (log, os.getpid())), "w+")
        else:
            self.err = tempfile.TemporaryFile(mode="w+")
        self.p = subprocess.Popen([SIM, "--port", "0", *args], stdout=subprocess.PIPE, stderr=self.err, text=True)
        self.url = self.fingerprint = None
        deadline = time.time() + 30
        while time.time() < deadline and not self.url:
            line = self.p.stdout.readline()
            if not line:
                break
            if line.startswith("xapi-sim fingerprint "):
                self.fingerprint = line.split()[-1]
            elif line.startswith("xapi-sim listening on "):
                self.url = line.split()[-1]
        if not self.url:
            self.stop()
            raise RuntimeError("xapi-sim did not start")

    def api(self, who="simtest"):
        """(proxy, session) logged in as the sim's root."""
        s = xmlrpc.client.ServerProxy(self.url, context=CTX)
        return s, s.session.login_with_password("root", "xapi-sim", "2.21", who)["Value"]

    def stop(self):
        if self.err.closed:
            return ""
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.err.seek(0)
        text = self.err.read()
        self.err.close()
        return text


def call(px, method, *args):
    """('ok', value) or ('err', [code, params...])."""
    f = px
    for part in method.split("."):
        f = getattr(f, part)
    r = f(*args)
    if r.get("Status") == "Success":
        return "ok", r.get("Value")
    return "err", r.get("ErrorDescription")


def value(px, method, *args):
    st, v = call(px, method, *args)
    if st != "ok":
        raise RuntimeError("%s: %s" % (method, v))
    return v
