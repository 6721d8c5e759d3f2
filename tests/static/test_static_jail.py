"""build/xentui-static in a chroot holding nothing but itself and a minimal
/etc (hosts, resolv.conf, passwd), run with `env -i`: no libraries, no
terminfo, no locale, no CA bundle. Checks --version, `list` over TLS pinned by
--fingerprint (by IP, and by a name only the jail's /etc/hosts knows), over
unix: to xapi-sim, and the TUI's first screen with TERM=linux and
TERM=xterm-256color (tmux runs outside the jail, the pane runs
`env -i TERM=... chroot JAIL /xentui ...`). What xentui shows is checked
against the sim's state read back over XML-RPC. Needs root (chroot); skips
with the reason when it is not root or build/xentui-static is absent. TAP."""
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# the optimised sim, unless XAPI_SIM says otherwise (the jail tests the client, not the sim)
if not os.environ.get("XAPI_SIM") and os.path.exists(os.path.join(ROOT, "build/xapi-sim")):
    os.environ["XAPI_SIM"] = os.path.join(ROOT, "build/xapi-sim")
sys.path.insert(0, os.path.join(ROOT, "tests", "screen", "lib"))
from tuitest import LOGS, Sim, Tap, Timeout, Tui  # noqa: E402

STATIC = os.environ.get("XENTUI_STATIC", os.path.join(ROOT, "build/xentui-static"))
CHROOT = shutil.which("chroot") or "/usr/sbin/chroot"
JAIL_NAME = "pool-master.jail.test"  # resolvable only through the jail's /etc/hosts


def skip(why):
    print(f"1..0 # SKIP {why}")
    sys.exit(0)


def version():
    with open(os.path.join(ROOT, "src/cli/main.c")) as f:
        m = re.search(r'#define XENTUI_VERSION "([^"]+)"', f.read())
    return m.group(1) if m else "?"


def make_jail():
    jail = tempfile.mkdtemp(prefix="xentui-jail-")
    os.makedirs(os.path.join(jail, "etc"))
    os.makedirs(os.path.join(jail, "run"))
    shutil.copy(STATIC, os.path.join(jail, "xentui"))
    os.chmod(os.path.join(jail, "xentui"), 0o755)
    files = {
        "hosts": f"127.0.0.1 localhost\n127.0.0.1 {JAIL_NAME}\n",
        "resolv.conf": "nameserver 127.0.0.1\n",
        "passwd": "root:x:0:0:root:/root:/bin/sh\n",
    }
    for name, text in files.items():
        with open(os.path.join(jail, "etc", name), "w") as f:
            f.write(text)
    return jail


def jail_cmd(jail, term, args):
    """The command line that runs /xentui in the jail with nothing but TERM
    and the password in its environment."""
    return ["env", "-i", f"TERM={term}", "XENTUI_PW=xapi-sim", CHROOT, jail, "/xentui", *args]


def run(jail, *args, term="linux", timeout=60):
    return subprocess.run(jail_cmd(jail, term, args), capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def guests_of(sim):
    s, sid = sim.api("jail")
    vms = s.VM.get_all_records(sid)["Value"]
    hosts = s.host.get_all_records(sid)["Value"]
    guests = {v["uuid"]: v["name_label"] for v in vms.values()
              if not v["is_a_template"] and not v["is_control_domain"] and not v["is_a_snapshot"]}
    return guests, {h["uuid"]: h["name_label"] for h in hosts.values()}


def list_json(tap, jail, what, url, conn, want, name):
    r = run(jail, "list", what, url, "--json", *conn)
    try:
        got = {d["uuid"]: d["name"] for d in json.loads(r.stdout)}
    except (ValueError, KeyError, TypeError) as e:
        got = {"unparsed": str(e)}
    tap.check(r.returncode == 0 and got == want, name,
              f"exit {r.returncode}\nstderr: {r.stderr}\nwant {want}\ngot {got}")


def settled(path, needle, timeout=10.0, quiet=0.2):
    """The bytes tmux passed on, once they hold needle and have stopped
    growing for quiet seconds (the update that drew it is all there)."""
    deadline = time.time() + timeout
    data, size, since = b"", -1, time.time()
    while time.time() < deadline:
        with open(path, "rb") as f:
            data = f.read()
        if len(data) != size:
            size, since = len(data), time.time()
        elif needle in data and time.time() - since >= quiet:
            break
        time.sleep(0.02)
    return data


def first_screen(tap, jail, sim, term, pool_host):
    """The TUI in a tmux pane (outside the jail), connected by the pin:
    the status line says live, the host's name is drawn, and q y quits."""
    raw_path = os.path.join(LOGS, f"static-jail-{term}-{os.getpid()}.raw")
    cmd = jail_cmd(jail, term, [sim.url, "--fingerprint", sim.fingerprint, "--password-env", "XENTUI_PW"])
    # Tui types `env VARS PROGRAM ARGS` into the pane: PROGRAM is env -i here
    tui = Tui("static-jail-" + term, args=cmd[1:], xentui="env", cols=80, rows=25, raw_log=raw_path)
    try:
        text = tui.attempt(tap, lambda s: "live" in s.split("\n")[0] and pool_host in s,
                           f"{term}: the first screen is drawn, the pool live and its host '{pool_host}' shown",
                           timeout=30)
        tap.check(text is not None and "xentui" in (text or "").split("\n")[0],
                  f"{term}: the status line names xentui", text)
        tui.keys("q")
        dialog = tui.attempt(tap, r"Leave xentui\?", f"{term}: q asks before leaving, in a framed dialog")
        raw = settled(raw_path, b"Leave xentui?")
        tap.check(b"Error opening terminal" not in raw and b"unknown terminal" not in raw.lower(),
                  f"{term}: ncurses knew the terminal with no terminfo files", repr(raw[:300]))
        # with no LANG musl's locale is C.UTF-8; how the frame is drawn then comes from the
        # compiled-in terminfo entry (the jail has no terminfo files)
        if term == "linux":
            # the console takes no ACS in UTF-8 mode (its entry's U8): box drawing characters,
            # and no glyph its font lacks
            tap.check("\u2500".encode() in raw and "\u2502".encode() in raw,
                      "linux: the frame is drawn with box drawing characters (the entry's U8)", repr(raw[-300:]))
            tap.check("\u2026".encode() not in raw, "linux: no ellipsis (the console font lacks it)")
        else:
            # xterm's smacs (ESC ( 0), then the DEC graphics corner and line
            tap.check(b"\x1b(0" in raw and re.search(rb"\x1b\(0(\x1b\[[0-9;]*m)*lq", raw) is not None,
                      f"{term}: the frame is drawn with the terminal's ACS (ESC ( 0)", repr(raw[-300:]))
        if dialog:
            tui.keys("y")
        tui.attempt(tap, r"XENTUI-EXIT=0", f"{term}: xentui quits with status 0")
    except Timeout as e:
        tap.check(False, f"{term}: the run went to its end", e)
    finally:
        tui.close()


def main():
    if os.geteuid() != 0:
        skip("chroot needs root")
    if not os.path.exists(STATIC):
        skip("build/xentui-static is absent (make static builds it)")
    tap = Tap()
    os.makedirs(LOGS, exist_ok=True)

    # static: no program interpreter, no dynamic section
    r = subprocess.run(["readelf", "-ld", STATIC], capture_output=True, text=True)
    tap.check(r.returncode == 0 and "INTERP" not in r.stdout and "NEEDED" not in r.stdout,
              "the binary is static: no interpreter, no shared library", r.stdout[-800:])

    jail = make_jail()
    sims = []
    try:
        for term in ("linux", "xterm-256color"):
            r = run(jail, "--version", term=term)
            tap.check(r.returncode == 0 and r.stdout.strip() == f"xentui {version()}",
                      f"--version in the jail (TERM={term})", f"{r.returncode} {r.stdout!r} {r.stderr!r}")

        sim = Sim("static-jail", "--hosts", "2", "--vms", "5", "--seed", "7")
        sims.append(sim)
        guests, hosts = guests_of(sim)
        conn = ["--fingerprint", sim.fingerprint, "--password-env", "XENTUI_PW"]
        list_json(tap, jail, "vms", sim.url, conn, guests, "list vms over TLS by IP, pinned: the sim's guests")
        by_name = sim.url.replace("127.0.0.1", JAIL_NAME)
        list_json(tap, jail, "hosts", by_name, conn, hosts,
                  f"list hosts over TLS to {JAIL_NAME}, a name from the jail's /etc/hosts")
        r = run(jail, "list", "vms", sim.url, "--password-env", "XENTUI_PW")
        tap.check(r.returncode == 1 and sim.fingerprint in r.stderr,
                  "without a pin the sim's self-signed certificate is refused, naming its fingerprint", r.stderr)

        # the system's CAs, found at run time: dom0's bundle, then Debian's (the sim's
        # self-signed certificate, for 127.0.0.1, stands in for a public CA)
        pem = ssl.get_server_certificate(("127.0.0.1", int(sim.url.rstrip("/").rsplit(":", 1)[1])))
        for path, system in (("etc/pki/tls/certs/ca-bundle.crt", "dom0's"),
                             ("etc/ssl/certs/ca-certificates.crt", "Debian's")):
            bundle = os.path.join(jail, path)
            os.makedirs(os.path.dirname(bundle), exist_ok=True)
            with open(bundle, "w") as f:
                f.write(pem)
            r = run(jail, "list", "vms", sim.url, "--json", "--password-env", "XENTUI_PW")
            os.unlink(bundle)
            tap.check(r.returncode == 0 and len(json.loads(r.stdout or "[]")) == len(guests),
                      f"no pin: a certificate signed by a CA in {system} bundle (/{path}) is verified", r.stderr)

        sock_sim = Sim("static-jail-unix", "--bind", "unix:" + os.path.join(jail, "run/xapi"), "--hosts", "1",
                       "--vms", "3", "--seed", "5")
        sims.append(sock_sim)
        r = run(jail, "list", "hosts", "unix:/run/xapi", "--json", "--password-env", "XENTUI_PW")
        try:
            n = len(json.loads(r.stdout))
        except ValueError:
            n = -1
        tap.check(r.returncode == 0 and n == 1, "list hosts over unix:/run/xapi (the sim's socket in the jail)",
                  f"{r.returncode} {r.stdout[:300]} {r.stderr}")

        # what the static build leaves out says so, naming the library
        with open(os.path.join(jail, "xentui.conf"), "w") as f:
            f.write('remotes = ( { name = "nas"; url = "nfs://127.0.0.1/export/backups"; },\n'
                    '            { name = "share"; url = "smb://127.0.0.1/share/backups"; } );\n')
        for remote, lib in (("nas", "libnfs"), ("share", "libsmbclient")):
            r = run(jail, "backup", "test", remote, "-c", "/xentui.conf")
            tap.check(r.returncode != 0 and lib in r.stderr and "static build" in r.stderr,
                      f"{remote}: an error naming {lib}, left out of the static build",
                      f"{r.returncode} {r.stderr}")

        first_host = sorted(hosts.values())[0]
        for term in ("linux", "xterm-256color"):
            first_screen(tap, jail, sim, term, first_host)
    finally:
        for s in sims:
            s.stop()
        shutil.rmtree(jail, ignore_errors=True)
    tap.done()


if __name__ == "__main__":
    main()
