"""What xentui says about its own files (issue 19): a known_hosts that does
not parse stops everything with its file and line; password_command's exit
status and empty output, a password file or -c that is a directory, bad
values in the configuration (with file and line), TERM=dumb, and libxml2's
encoding errors, each said in one plain sentence. Runs build/san/xentui
against small files and a fake server. TAP output."""
import http.server
import os
import pty
import select
import shutil
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
import simtest  # noqa: E402
from simtest import ok  # noqa: E402

XENTUI = os.environ.get("XENTUI", os.path.join(simtest.ROOT, "build", "san", "xentui"))
TMP = tempfile.mkdtemp(prefix="xentui-config-messages-")
SAN = []


def env_for(extra=None):
    env = dict(os.environ)
    env["XDG_CONFIG_HOME"] = os.path.join(TMP, "xdg")
    env["HOME"] = TMP
    env.pop("XENTUI_PW", None)
    env.update(extra or {})
    return env


def xentui(*args, extra=None, timeout=60):
    """(status, stderr text)."""
    p = subprocess.run([XENTUI, *args], stdin=subprocess.DEVNULL, capture_output=True, env=env_for(extra),
                       timeout=timeout)
    err = p.stderr.decode(errors="replace")
    if "Sanitizer" in err or "runtime error" in err:
        SAN.append(" ".join(args) + ": " + err[:1000])
    return p.returncode, err


def write(name, text, mode=0o600):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def one_server(extra, url="http://127.0.0.1:9"):
    return 'servers = ( { name = "p"; url = "%s"; %s } );\n' % (url, extra)


def config_error(name, text, fragment, line, what):
    """xentui list refuses the configuration, naming file and line."""
    path = write(name, text)
    rc, err = xentui("-c", path, "list", "vms")
    ok(rc == 1 and "%s:%d:" % (path, line) in err and fragment in err and err.count("\n") == 1,
       "%s: refused with file and line %d" % (what, line), "status %d: %r" % (rc, err))


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class BadEncoding(http.server.BaseHTTPRequestHandler):
    """Answers every call with XML whose declared encoding its bytes break."""

    def log_message(self, *a):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        data = (b'<?xml version="1.0" encoding="Shift_JIS"?><methodResponse><params><param><value>'
                b"\x81\x20\xff\xff</value></param></params></methodResponse>")
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def tui_under_pty(term, cfg):
    """xentui's full-screen interface on a pseudo-terminal: (status, all it wrote)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([XENTUI, "-c", cfg], stdin=slave, stdout=slave, stderr=slave,
                         env=env_for({"TERM": term}), close_fds=True)
    os.close(slave)
    out = b""
    deadline = time.time() + 10  # a refusal is at once; a running interface never ends by itself
    while time.time() < deadline and len(out) < 100000:
        r, _, _ = select.select([master], [], [], max(0.0, deadline - time.time()))
        if not r:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    if p.poll() is None:
        p.kill()
    rc = p.wait()
    os.close(master)
    return rc, out.decode(errors="replace")


def main():
    empty_cfg = write("empty.conf", "# nothing yet\n")

    # ---- known_hosts ----------------------------------------------------------------
    kh = write("known_hosts", 'hosts = (\n  { host = "10.0.0.1:443"; sha256 = "%s"; },\n  { host = "10.0.0.2:443" sha256 = }\n);\n'
               % ("ab" * 32))
    cfg = write("kh.conf", 'known_hosts = "%s";\n' % kh + one_server('password_env = "NOPE";', "https://10.0.0.1"))
    rc, err = xentui("-c", cfg, "list", "vms")
    ok(rc == 1 and kh + ":3:" in err and "no certificate is trusted" in err,
       "a known_hosts that does not parse: refused with its file and line, nothing trusted", "status %d: %r" % (rc, err))
    kh2 = write("known_hosts2", 'hosts = ( { host = "10.0.0.1:443"; sha256 = "not-a-fingerprint"; } );\n')
    cfg = write("kh2.conf", 'known_hosts = "%s";\n' % kh2)
    rc, err = xentui("-c", cfg, "list", "vms")
    ok(rc == 1 and kh2 + ":1:" in err and "64 hex digits" in err,
       "an entry without a fingerprint is an error too, not 'unknown host'", "status %d: %r" % (rc, err))

    # ---- password_command, password_file --------------------------------------------
    cfg = write("cmd3.conf", one_server('password_command = "exit 3";'))
    rc, err = xentui("-c", cfg, "list", "vms")
    ok(rc == 1 and "exited with 3" in err and "768" not in err, "password_command exiting 3: 'exited with 3'", err)
    cfg = write("cmd0.conf", one_server('password_command = "true";'))
    rc, err = xentui("-c", cfg, "list", "vms")
    ok(rc == 1 and "printed no password" in err and "status 0" not in err,
       "password_command printing nothing: 'printed no password'", err)
    cfg = write("cmdsig.conf", one_server('password_command = "kill -TERM $$";'))
    rc, err = xentui("-c", cfg, "list", "vms")
    ok(rc == 1 and "killed by signal 15" in err, "password_command killed: 'killed by signal 15'", err)
    pwdir = os.path.join(TMP, "pwdir")
    os.makedirs(pwdir, mode=0o700)
    cfg = write("pwdir.conf", one_server('password_file = "%s";' % pwdir))
    rc, err = xentui("-c", cfg, "list", "vms")
    ok(rc == 1 and "is a directory" in err and "empty" not in err and "other users" not in err,
       "a password file that is a directory (0700) says so", err)
    os.chmod(pwdir, 0o755)
    rc, err = xentui("-c", cfg, "list", "vms")
    ok(rc == 1 and "is a directory" in err and "other users" not in err,
       "a password file that is a directory (0755) says so", err)
    rc, err = xentui("-c", pwdir, "list", "vms")
    ok(rc == 1 and "is a directory" in err and "No such file" not in err, "-c on a directory says so", err)

    # ---- values in the configuration ------------------------------------------------
    for v in ("-5", "0", '"fast"', "1000"):
        path = write("refresh.conf", "# prefs\npreferences = {\n  refresh_ms = %s;\n};\n" % v)
        rc, err = xentui("-c", path, "list", "vms")
        ok("%s:3:" % path in err and "refresh_ms is no longer used" in err and rc == 2,
           "refresh_ms = %s: a warning that it is no longer used, with file and line" % v, "status %d: %r" % (rc, err))
    config_error("esc.conf", 'preferences = {\n  console_escape = "abc";\n};\n', "console_escape 'abc'", 2,
                 'console_escape = "abc"')
    config_error("esc2.conf", 'preferences = {\n  console_escape = "^1";\n};\n', "console_escape '^1'", 2,
                 'console_escape = "^1"')
    config_error("pref.conf", "preferences = {\n  confirm_quit = true;\n  confrim_quit = false;\n};\n",
                 "unknown preferences setting 'confrim_quit'", 3, "an unknown key inside preferences")
    config_error("sb.conf", 'preferences = {\n  console_scrollback = "lots";\n};\n', "whole number", 2,
                 "console_scrollback = \"lots\"")
    config_error("dup.conf", 'servers = (\n  { name = "a"; url = "https://x"; },\n  { name = "a"; url = "https://y"; }\n);\n',
                 "a second server named 'a' (the first is at line 2)", 3, "two servers with one name")
    config_error("noname.conf", 'servers = (\n  { url = "https://x"; }\n);\n', "has no name", 2, "a server without a name")
    config_error("blank.conf", 'servers = (\n  { name = "";\n    url = "https://x"; }\n);\n', "cannot be empty", 2,
                 "a server with an empty name")
    path = write("good.conf", 'preferences = { console_escape = "^a"; console_scrollback = 10; };\n')
    rc, err = xentui("-c", path, "list", "vms")
    ok(rc == 2 and "which pool" in err and "warning" not in err, "good values are taken without a word", err)

    # ---- TERM=dumb ------------------------------------------------------------------
    rc, out = tui_under_pty("dumb", empty_cfg)
    ok(rc == 1 and "cannot move the cursor" in out and "dumb" in out,
       "TERM=dumb is refused as an unknown TERM is", "status %d: %r" % (rc, out[-500:]))
    rc, out = tui_under_pty("no-such-terminal-xyz", empty_cfg)
    ok(rc == 1 and "no-such-terminal-xyz" in out, "(an unknown TERM is refused)", "status %d: %r" % (rc, out[-500:]))

    # ---- libxml2's errors -----------------------------------------------------------
    srv = Server(("127.0.0.1", 0), BadEncoding)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d" % srv.server_address[1]
    rc, err = xentui("-c", empty_cfg, "list", "vms", "--password-env", "PW", url, extra={"PW": "x"})
    srv.shutdown()
    lines = err.strip("\n").split("\n")
    ok(rc == 1 and len(lines) == 1 and "malformed XML" in err and "encoding error :" not in err,
       "an XML encoding error is one line on stderr", "status %d: %r" % (rc, err))

    ok(not SAN, "no sanitizer report from xentui", "\n".join(SAN))
    shutil.rmtree(TMP, ignore_errors=True)
    return simtest.plan()


if __name__ == "__main__":
    sys.exit(main())
