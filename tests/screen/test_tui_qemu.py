"""xentui --vnc against a VNC server nobody here wrote: QEMU (Debian's
qemu-system-x86) with no disk and the standard VGA, whose SeaBIOS ends on
"No bootable device." in VGA text mode, drawn with the IBM VGA ROM font.
The expected text is read independently from QEMU's VGA text memory
(0xB8000, a character byte and an attribute byte per cell, code page 437)
over QMP; every non-blank line of it must show in xentui at the same row,
the same text. A missing qemu-system-x86_64 is a failure, not a skip: CI
installs it (scripts/install-deps). TAP output."""
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import Tap, Timeout, Tui  # noqa: E402

QEMU = "qemu-system-x86_64"
BOOT_TIMEOUT = 60.0  # TCG on a loaded 2-core machine is slow

# What VGA text mode shows for bytes 0x00-0x1F and 0x7F (code page 437's
# pictures; Python's cp437 codec gives control characters there).
LOW = ("\u0020\u263A\u263B\u2665\u2666\u2663\u2660\u2022\u25D8\u25CB\u25D9\u2642\u2640\u266A\u266B\u263C"
       "\u25BA\u25C4\u2195\u203C\u00B6\u00A7\u25AC\u21A8\u2191\u2193\u2192\u2190\u221F\u2194\u25B2\u25BC")


def cp437(b):
    if b < 0x20:
        return LOW[b]
    if b == 0x7F:
        return "\u2302"
    if b == 0xFF:  # a no-break space looks like, and reads as, a space
        return " "
    return bytes([b]).decode("cp437")


def port_free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class Qemu:
    """qemu-system-x86_64 with VNC on 127.0.0.1:5900+display and QMP on a
    unix socket; tries other display numbers if one is taken. extra: more
    arguments (a kernel to boot, its memory)."""

    def __init__(self, tmp, extra=(), memory="64"):
        self.proc = self.qmp = None
        self.tmp = tmp
        self.qmp_path = os.path.join(tmp, "qmp.sock")
        self.err = open(os.path.join(tmp, "qemu.stderr"), "w+")
        displays = random.sample(range(40, 100), 12)
        for n in displays:
            if not port_free(5900 + n):
                continue
            if os.path.exists(self.qmp_path):
                os.unlink(self.qmp_path)
            self.proc = subprocess.Popen(
                [QEMU, "-nodefaults", "-vga", "std", "-vnc", f"127.0.0.1:{n}", "-m", memory, "-machine", "accel=tcg",
                 "-qmp", f"unix:{self.qmp_path},server,nowait", "-display", "none", *extra],
                stdin=subprocess.DEVNULL, stdout=self.err, stderr=self.err)
            deadline = time.time() + 20
            while time.time() < deadline and self.proc.poll() is None and not os.path.exists(self.qmp_path):
                time.sleep(0.05)
            if self.proc.poll() is None and os.path.exists(self.qmp_path):
                self.port = 5900 + n
                self.connect()
                return
            self.kill()  # the port was taken after all, or qemu failed: try another
        self.err.seek(0)
        raise RuntimeError("qemu did not start: " + self.err.read())

    def connect(self):
        self.qmp = socket.socket(socket.AF_UNIX)
        self.qmp.settimeout(20)
        self.qmp.connect(self.qmp_path)
        self.buf = b""
        self.reply()  # the greeting
        self.call("qmp_capabilities")

    def reply(self):
        """The next message that is not an event."""
        while True:
            while b"\n" not in self.buf:
                d = self.qmp.recv(65536)
                if not d:
                    raise RuntimeError("qemu closed its QMP socket")
                self.buf += d
            line, self.buf = self.buf.split(b"\n", 1)
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def call(self, cmd, **args):
        self.qmp.sendall(json.dumps({"execute": cmd, "arguments": args}).encode() + b"\n")
        msg = self.reply()
        if "error" in msg:
            raise RuntimeError(f"QMP {cmd}: {msg['error']}")
        return msg.get("return")

    def vga_text(self):
        """The 80x25 text screen from VGA memory, as 25 strings."""
        path = os.path.join(self.tmp, "vga.bin")
        self.call("pmemsave", val=0xB8000, size=4000, filename=path)
        with open(path, "rb") as f:
            mem = f.read()
        return ["".join(cp437(mem[(r * 80 + c) * 2]) for c in range(80)) for r in range(25)]

    def kill(self):
        if self.qmp:
            self.qmp.close()
            self.qmp = None
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass

    def close(self):
        self.kill()
        self.err.close()


def main():
    tap = Tap()
    qemu = tui = None
    tmp = tempfile.mkdtemp(prefix="xentui-qemu-")
    try:
        if not tap.check(shutil.which(QEMU) is not None, f"{QEMU} is installed (scripts/install-deps)"):
            return
        qemu = Qemu(tmp)
        text = None
        deadline = time.time() + BOOT_TIMEOUT
        while time.time() < deadline:
            text = qemu.vga_text()
            if any("No bootable device" in line for line in text):
                break
            time.sleep(0.25)
        if not tap.check(text and any("No bootable device" in line for line in text),
                         "SeaBIOS reaches 'No bootable device' (read from VGA memory)", "\n".join(text or [])):
            return
        want = {r: line.rstrip() for r, line in enumerate(text) if line.strip()}
        tap.check(any(line.startswith("SeaBIOS") for line in want.values()),
                  "VGA memory holds SeaBIOS's banner", "\n".join(text))

        tui = Tui("qemu", args=("--vnc", f"127.0.0.1:{qemu.port}"), env={})
        tui.attempt(tap, rf"127\.0\.0\.1:{qemu.port}: connected 720x400", "the status line says connected 720x400",
                    timeout=30)
        first = min(want)

        def shown(screen):
            lines = screen.split("\n")
            at = [i for i, line in enumerate(lines) if line.rstrip() == want[first]]
            if not at:
                return False
            base = at[0] - first
            return all(0 <= base + r < len(lines) and lines[base + r].rstrip() == t for r, t in want.items())

        try:
            tui.wait(shown, timeout=30)
            tap.check(True, f"every non-blank line of VGA memory ({len(want)}) shows exactly, at its row")
        except Timeout as e:
            tap.check(False, "every non-blank line of VGA memory shows exactly, at its row",
                      "wanted (row: text):\n" + "\n".join(f"{r}: {t}" for r, t in want.items()) + "\n" + str(e))
        tui.keys("C-]")
        tui.keys("b")
        tui.attempt(tap, r"XENTUI-EXIT=0", "Ctrl-] b quits --vnc with status 0")
        reports = tui.sanitizer_reports()
        tap.check(not reports, "no sanitizer report (and no leak) from xentui", reports)
    except (Timeout, RuntimeError, OSError, ValueError) as e:
        tap.check(False, "the scenario ran to its end", e)
    finally:
        if tui:
            tui.close()
        if qemu:
            qemu.close()
        shutil.rmtree(tmp, ignore_errors=True)
        tap.done()


if __name__ == "__main__":
    main()
