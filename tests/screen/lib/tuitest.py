"""Drives xentui in a private tmux server and reads the screen as a user
sees it. Standard library only. Used by tests/screen/test_*.py."""
import glob
import json
import os
import re
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
import xmlrpc.client

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
# XENTUI_BIN names the binary under test (e.g. build/xentui-static); XENTUI is its older name
XENTUI = os.environ.get("XENTUI_BIN") or os.environ.get("XENTUI", os.path.join(ROOT, "build/san/xentui"))
SIM = os.environ.get("XAPI_SIM", os.path.join(ROOT, "build/san/xapi-sim"))
LOGS = os.path.join(ROOT, "build/test-logs")

sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import simtest  # noqa: E402  (the xapi-sim process every test kind shares)


class Tap:
    """TAP output: ok N - name / not ok N - name, with details as # lines."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def check(self, cond, name, detail=""):
        self.n += 1
        if cond:
            print(f"ok {self.n} - {name}", flush=True)
        else:
            self.failed += 1
            print(f"not ok {self.n} - {name}", flush=True)
            for line in str(detail).splitlines()[:60]:
                print(f"# {line}", flush=True)
        return cond

    def done(self):
        print(f"1..{self.n}", flush=True)
        sys.exit(1 if self.failed else 0)


class Sim(simtest.Sim):
    """An xapi-sim of our own (TLS), for tests that need a pool besides the
    demo's: url, fingerprint, and stop() returning its stderr (kept in
    build/test-logs/screen-<name>-sim-PID.log)."""

    def __init__(self, name, *args):
        super().__init__(*args, log=f"screen-{name}")


def no_sanitizer_report(err):
    """A sim's stderr says nothing of ASan or UBSan."""
    return "Sanitizer" not in err and "runtime error" not in err


def pool_sims(sims, name, specs):
    """Starts one sim per (address, *args) in specs, on distinct loopback
    addresses sharing the first one's port (a pool across processes).
    Each is appended to sims as soon as it runs, so the caller stops every
    one even when a later one fails to start."""
    port = None
    for i, (address, *args) in enumerate(specs):
        sim = Sim("%s-%d" % (name, i), "--bind", address, *(("--port", port) if port else ()), *args)
        sims.append(sim)
        port = port or sim.url.rsplit(":", 1)[1].rstrip("/")
    return sims


def stop_sims(tap, sims):
    """Stops every sim; their stderr, in order. A sanitizer report fails."""
    errs = [s.stop() for s in sims]
    for s, err in zip(sims, errs):
        tap.check(no_sanitizer_report(err), "no sanitizer report from the sim on %s" % s.url, err[-3000:])
    return errs


class Timeout(Exception):
    pass


class Tui:
    """xentui in a tmux pane that runs a shell, so that quitting shows the
    shell again. args are xentui's arguments; env adds to its environment."""

    started = 0

    def __init__(self, name, args=("--demo",), cols=100, rows=30, env=None, xentui=XENTUI, fresh=True, raw_log=None):
        os.makedirs(LOGS, exist_ok=True)
        self.name = name
        Tui.started += 1
        self.sock = f"xentui-test-{os.getpid()}-{name}-{Tui.started}"
        self.dir = os.path.join(LOGS, f"screen-{name}-{os.getpid()}")
        if fresh:
            shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir, exist_ok=True)
        self.info = os.path.join(self.dir, "demo-info")
        self.san = os.path.join(self.dir, "xentui-san")
        environ = {
            "XDG_CONFIG_HOME": os.path.join(self.dir, "config"),
            "XENTUI_DEMO_INFO": self.info,
            "ASAN_OPTIONS": f"detect_leaks=1:abort_on_error=0:log_path={self.san}",
            "UBSAN_OPTIONS": f"print_stacktrace=1:halt_on_error=1:log_path={self.san}",
            "LANG": "C.UTF-8",
        }
        environ.update(env or {})
        self.tmux("-f", "/dev/null", "new-session", "-d", "-x", str(cols), "-y", str(rows), "sh")
        self.tmux("set-option", "-g", "status", "off")
        if raw_log:
            # every byte the pane's programs write, as the terminal gets it
            self.tmux("pipe-pane", "-t", "0", "-O", "cat >" + shlex.quote(raw_log))
        cmd = "env " + " ".join(f"{k}={shlex.quote(v)}" for k, v in environ.items())
        cmd += " " + shlex.quote(xentui) + " " + " ".join(shlex.quote(a) for a in args)
        cmd += '; echo "XENTUI-EXIT=$?"'
        self.keys_literal(cmd)
        self.keys("Enter")
        self.url = self.fingerprint = None
        self.sim_pid = None

    def xentui_pid(self, timeout=10.0):
        """The pid of xentui: the child of the pane's shell (env execs it)."""
        shell = self.tmux("display-message", "-p", "-t", "0", "#{pane_pid}").strip()
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with open(f"/proc/{shell}/task/{shell}/children") as f:
                    for pid in f.read().split():
                        with open(f"/proc/{pid}/comm") as c:
                            if c.read().strip() == "xentui":
                                return int(pid)
            except OSError:
                pass
            time.sleep(0.05)
        raise Timeout("xentui is not running in the pane")

    def tmux(self, *args, check=True):
        r = subprocess.run(["tmux", "-u", "-L", self.sock, *args], capture_output=True, text=True, timeout=20)
        if check and r.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    def keys(self, *keys):
        """tmux key names: Enter, Escape, Down, Tab, C-c, ..."""
        self.tmux("send-keys", "-t", "0", *keys)

    def keys_literal(self, text):
        self.tmux("send-keys", "-t", "0", "-l", text)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "0")

    def screen_attrs(self):
        """The pane with its attributes as escape sequences (capture-pane -e)."""
        return self.tmux("capture-pane", "-p", "-e", "-t", "0")

    def lines(self):
        return self.screen().split("\n")

    def wait(self, what, timeout=20.0, step=0.05):
        """Polls the screen until what (a regex string or a function of the
        screen text) matches; returns the screen, raises Timeout otherwise.
        A frame larger than curses' output buffer reaches tmux in pieces, so
        a match may be a frame half drawn: the screen returned is one that
        still matches and stayed the same for one more poll (a match that is
        gone at the next poll, a message shown briefly, is returned as it was
        seen; one that keeps changing, after half a second)."""
        deadline = time.time() + timeout
        text = ""

        def match(t):
            return what(t) if callable(what) else re.search(what, t, re.M)
        while time.time() < deadline:
            text = self.screen()
            if match(text):
                settle = time.time() + 0.5
                while time.time() < settle:
                    time.sleep(step)
                    again = self.screen()
                    if again == text or not match(again):
                        break
                    text = again
                return text
            time.sleep(step)
        raise Timeout(f"waited {timeout}s for {what!r}; the screen was:\n{text}")

    def attempt(self, tap, what, name, timeout=20.0):
        """wait(), reported as a TAP line."""
        try:
            text = self.wait(what, timeout)
            tap.check(True, name)
            return text
        except Timeout as e:
            tap.check(False, name, e)
            return None

    def alternate_on(self):
        return self.tmux("display-message", "-p", "-t", "0", "#{alternate_on}").strip() == "1"

    def resize(self, cols, rows):
        self.tmux("resize-window", "-t", "0", "-x", str(cols), "-y", str(rows))

    # ---- the simulated pool behind --demo ----------------------------------------------

    def demo(self, timeout=30.0):
        """Reads the URL and fingerprint --demo wrote to XENTUI_DEMO_INFO."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with open(self.info) as f:
                    kv = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
                if "url" in kv and "pid" in kv:
                    self.url, self.fingerprint, self.sim_pid = kv["url"], kv.get("fingerprint"), int(kv["pid"])
                    return self.url
            except OSError:
                pass
            time.sleep(0.05)
        raise Timeout("xentui --demo did not say where its simulator listens")

    def sim_stderr(self):
        try:
            with open(self.info + ".sim-stderr") as f:
                return f.read()
        except OSError:
            return ""

    def quit_and_check(self, tap):
        """^C, then: exit status 0, and no sanitizer report from xentui or the demo's sim."""
        self.keys("C-c")
        self.attempt(tap, r"XENTUI-EXIT=0", "^C quits with status 0")
        reports = self.sanitizer_reports()
        tap.check(not reports, "no sanitizer report (and no leak) from xentui", reports)
        err = self.sim_stderr()
        tap.check(no_sanitizer_report(err), "no sanitizer report from the simulator", err)

    def sanitizer_reports(self):
        out = []
        for path in glob.glob(self.san + "*"):
            with open(path) as f:
                out.append(f.read())
        return "\n".join(out)

    def close(self):
        try:
            socket_path = self.tmux("display-message", "-p", "#{socket_path}").strip()
        except (RuntimeError, subprocess.TimeoutExpired):
            socket_path = ""
        self.tmux("kill-server", check=False)
        if socket_path.endswith(self.sock):
            try:
                os.unlink(socket_path)
            except OSError:
                pass
        if self.sim_pid:
            deadline = time.time() + 5
            while time.time() < deadline and alive(self.sim_pid):
                time.sleep(0.05)
            if alive(self.sim_pid):
                os.kill(self.sim_pid, signal.SIGKILL)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is not alive either
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class Pool:
    """The simulated pool read independently with Python's xmlrpc.client
    (and JSON-RPC for what XML cannot carry)."""

    def __init__(self, url, user="root", password="xapi-sim"):
        self.url = url
        self.ctx = ssl._create_unverified_context()
        self.x = xmlrpc.client.ServerProxy(url, context=self.ctx, allow_none=True)
        r = self.x.session.login_with_password(user, password, "2.21", "screen-test")
        if r.get("Status") != "Success":
            raise RuntimeError(f"login: {r.get('ErrorDescription')}")
        self.sid = r["Value"]

    def call(self, method, *args):
        obj = self.x
        for part in method.split("."):
            obj = getattr(obj, part)
        r = obj(self.sid, *args)
        if r.get("Status") != "Success":
            raise RuntimeError(f"{method}: {r.get('ErrorDescription')}")
        return r["Value"]

    def jsonrpc(self, method, *args):
        body = json.dumps({"jsonrpc": "2.0", "method": method, "params": [self.sid, *args], "id": 1})
        req = urllib.request.Request(self.url + "/jsonrpc", body.encode(), {"Content-Type": "application/json"})
        return json.loads(urllib.request.urlopen(req, context=self.ctx, timeout=20).read())

    def guests(self):
        """ref -> record of every VM a user manages."""
        vms = self.call("VM.get_all_records")
        return {r: v for r, v in vms.items()
                if not v["is_a_template"] and not v["is_control_domain"] and not v["is_a_snapshot"]}

    def hosts(self):
        return self.call("host.get_all_records")

    def running_on(self, host):
        """The refs of the guests running on host, sorted."""
        return sorted(r for r, v in self.guests().items() if v["resident_on"] == host and v["power_state"] == "Running")

    def pinned(self, vm):
        """Whether vm has a disk on a storage only its host sees (xapi will not
        evacuate it: VM_REQUIRES_SR)."""
        for b in self.call("VM.get_VBDs", vm):
            vdi = self.call("VBD.get_VDI", b)
            if vdi != "OpaqueRef:NULL" and not self.call("SR.get_shared", self.call("VDI.get_SR", vdi)):
                return True
        return False

    def vm(self, ref):
        return self.call("VM.get_record", ref)

    def wait(self, pred, timeout=20.0, what="the pool"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = pred()
            if v:
                return v
            time.sleep(0.1)
        raise Timeout(f"waited {timeout}s for {what}")


def dialog_text(screen):
    """The screen's words in one line; inside a dialog's frame only the
    frame's contents (its wrapped text reads on)."""
    lines = []
    for line in screen.splitlines():
        if line.count("\u2502") >= 2:
            line = line[line.index("\u2502") + 1:line.rindex("\u2502")]
        lines.append(line)
    return " ".join(" ".join(lines).split())


def cmd(tui, text):
    """Runs the `:` command text."""
    tui.keys(":")
    tui.keys_literal(text)
    tui.keys("Enter")


def filter_to(tui, text):
    """Sets the list's `/` filter to text."""
    tui.keys("/")
    tui.keys("C-u")
    tui.keys_literal(text)
    tui.keys("Enter")


def row_of(screen, text):
    """The screen line holding text, or ''."""
    for line in screen.split("\n"):
        if text in line:
            return line
    return ""


def row_starting(screen, first_cell):
    """The table row whose first cell is first_cell (followed by spaces), or ''."""
    for line in screen.split("\n"):
        if line.startswith(first_cell + " ") or line == first_cell:
            return line
    return ""


def selected_row(attr_screen):
    """With NO_COLOR (mono theme) the selected row is drawn reversed: the
    first table row (under the column titles) that starts in reverse video
    (SGR 7). tmux writes attributes as changes, so only the first reversed
    row of a run carries the code: enough for one selected row."""
    lines = attr_screen.split("\n")
    plain = [re.sub(r"\x1b\[[0-9;]*m", "", l) for l in lines]
    head = next((i for i, l in enumerate(plain) if re.match(r"^NAME", l)), None)
    if head is None:
        return ""
    for line, text in zip(lines[head + 1:-2], plain[head + 1:-2]):
        m = re.match(r"^((?:\x1b\[[0-9;]*m)*)", line)
        if m and re.search(r"\x1b\[(?:[0-9;]*;)?7(?:;[0-9;]*)?m", m.group(1)):
            return text
    return ""
