"""password_command on the command line (issue 15): it runs as a child
with a timeout, stdin /dev/null and no terminal of its own. One that
sleeps is killed after 30 s with its whole session and said so; one that
fails shows its stderr's first line, sanitised; one that reads stdin or
the terminal cannot hang or write there; the right one connects to the
simulated pool. Runs build/san/xentui `list vms`. TAP output."""
import fcntl
import os
import select
import shutil
import subprocess
import sys
import tempfile
import termios
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
import simtest  # noqa: E402
from simtest import ok  # noqa: E402

XENTUI = os.environ.get("XENTUI", os.path.join(simtest.ROOT, "build", "san", "xentui"))
TMP = tempfile.mkdtemp(prefix="xentui-password-command-")
SAN = []


def env_for():
    env = dict(os.environ)
    env["XDG_CONFIG_HOME"] = os.path.join(TMP, "xdg")
    env["HOME"] = TMP
    return env


def config(name, command, url="http://127.0.0.1:9", extra=""):
    """A configuration naming one server whose password comes from command."""
    path = os.path.join(TMP, name + ".conf")
    quoted = command.replace("\\", "\\\\").replace('"', '\\"')
    with open(path, "w") as f:
        f.write('servers = ( { name = "p"; url = "%s"; password_command = "%s"; %s } );\n' % (url, quoted, extra))
    os.chmod(path, 0o600)
    return path


def note_sanitizer(what, err):
    if "Sanitizer" in err or "runtime error" in err:
        SAN.append(what + ": " + err[:1000])


def xentui(cfg, timeout=60):
    """(status, stdout, stderr, seconds) of `xentui -c cfg list vms`."""
    start = time.monotonic()
    p = subprocess.run([XENTUI, "-c", cfg, "list", "vms"], stdin=subprocess.DEVNULL, capture_output=True,
                       env=env_for(), timeout=timeout)
    err = p.stderr.decode(errors="replace")
    note_sanitizer(cfg, err)
    return p.returncode, p.stdout.decode(errors="replace"), err, time.monotonic() - start


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def gone_within(pid, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def with_terminal(cfg):
    """xentui with a pseudo-terminal as its stdin and controlling terminal:
    (status, stderr, what reached the terminal)."""
    master, slave = os.openpty()

    def own_terminal():
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    p = subprocess.Popen([XENTUI, "-c", cfg, "list", "vms"], stdin=slave, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env_for(), start_new_session=True, preexec_fn=own_terminal)
    os.close(slave)
    seen = b""
    try:
        out, err = p.communicate(timeout=40)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    while select.select([master], [], [], 0)[0]:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    err = err.decode(errors="replace")
    note_sanitizer(cfg, err)
    return p.returncode, err, seen


def main():
    sim = None
    slow = None
    try:
        # the slow one first, in the background: the others run meanwhile
        pidfile = os.path.join(TMP, "sleep.pid")
        slow_cfg = config("slow", "sleep 60 & echo $! > %s; wait" % pidfile)
        slow_start = time.monotonic()
        slow = subprocess.Popen([XENTUI, "-c", slow_cfg, "list", "vms"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env_for())

        rc, _, err, took = xentui(config("loud", "printf 'vault: \\033[31mlocked\\nsecond line\\n' >&2; exit 1"))
        ok(rc == 1 and "password_command exited with 1: vault: ?[31mlocked" in err,
           "a failing command: its exit status and its stderr's first line, sanitised", err)
        ok("\x1b" not in err and "second line" not in err, "no escape character, and only the first line", repr(err))

        rc, _, err, took = xentui(config("exit3", "exit 3"))
        ok(rc == 1 and "exited with 3" in err and ": " not in err.split("exited with 3", 1)[1],
           "exiting 3 with nothing on stderr: 'exited with 3' and nothing more", err)
        rc, _, err, took = xentui(config("sig", "kill -TERM $$"))
        ok(rc == 1 and "killed by signal 15" in err, "killed: 'killed by signal 15'", err)

        rc, _, err, took = xentui(config("stdin", "cat"))
        ok(rc == 1 and "printed no password" in err and took < 10,
           "a command reading stdin reads /dev/null: 'printed no password' at once (%.1f s)" % took, err)

        rc, err, seen = with_terminal(config("tty", "echo leaked > /dev/tty; cat /dev/tty"))
        ok(rc == 1 and "/dev/tty" in err and "exited with" in err and b"leaked" not in seen,
           "a command opening the terminal cannot: it has none (said), nothing reaches the terminal",
           "%r / terminal got %r" % (err, seen))

        sim = simtest.Sim()
        good = config("good", "echo xapi-sim", sim.url, 'fingerprint = "%s";' % sim.fingerprint)
        rc, out, err, took = xentui(good)
        ok(rc == 0 and out.strip(), "the right password from the command connects and lists the VMs", err)
        bad = config("bad", "echo wrong", sim.url, 'fingerprint = "%s";' % sim.fingerprint)
        rc, out, err, took = xentui(bad)
        ok(rc == 1 and "refused the user name or password" in err, "a wrong one is refused by the pool", err)

        try:
            _, serr = slow.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            slow.kill()
            _, serr = slow.communicate()
        took = time.monotonic() - slow_start
        serr = serr.decode(errors="replace")
        note_sanitizer(slow_cfg, serr)
        ok(slow.returncode == 1 and "password_command took longer than 30 s and was killed" in serr,
           "a command sleeping 60 s: 'took longer than 30 s and was killed'", serr)
        ok(29 <= took < 40, "after 30 s, not 60 (%.1f s)" % took)
        try:
            with open(pidfile) as f:
                sleeper = int(f.read().strip())
        except (OSError, ValueError):
            sleeper = None
        ok(sleeper is not None and gone_within(sleeper, 5), "its child (the sleep) was killed with it",
           "pid %s" % sleeper)
        ok(not SAN, "no sanitizer report from xentui", "\n".join(SAN))
    finally:
        if slow and slow.poll() is None:
            slow.kill()
            slow.wait()
        if sim:
            err = sim.stop()
            ok("Sanitizer" not in err and "runtime error" not in err, "no sanitizer report from the simulator",
               err[-2000:])
        shutil.rmtree(TMP, ignore_errors=True)
    return simtest.plan()


if __name__ == "__main__":
    sys.exit(main())
