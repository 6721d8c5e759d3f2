# run-all: alone (a QEMU guest boots: it needs the CPU to itself to stay within its waits)
"""A real Linux console through xentui --vnc: Debian's kernel under QEMU
(TCG, no disk, no network) with a busybox initramfs this test builds, first
in VGA text mode, then on a framebuffer console (vesafb, vga=0x318:
1024x768). In each, the guest shows its console in several fonts: the one it
starts with (the VGA ROM's in text mode, Linux's built-in VGA8x16 on the
framebuffer) and fonts it loads with kbd's setfont (copied into the
initramfs with the C library it needs; busybox's loadfont takes PSF1 only):
console-setup's Lat15-Terminus16, latarcyrheb-sun16 as RHEL/Rocky use, and
on the framebuffer Lat15-Terminus20x10, whose 10x20 cells xentui must find
by itself. For each font, every printable ASCII character is typed through
xentui (tmux keys, so xentui sends the key events: Shift where a US
keyboard needs it) and must read back on xentui's screen as typed; the
guest compares what it received with what the test meant and says SAME or
DIFFER. In text mode the test also reads QEMU's VGA memory over QMP and
checks xentui shows every line of it, and finally the guest loads a German
layout (console-data's de-latin1-nodeadkeys, busybox's loadkmap), xentui is
switched to de (Ctrl-] k), and everything is typed once more (AltGr for @,
{, [, ], }, \, ~, |). TAP output."""
import glob
import gzip
import os
import shutil
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tuitest import Tap, Timeout, Tui  # noqa: E402
from test_tui_qemu import QEMU, Qemu  # noqa: E402

BUSYBOX = "/bin/busybox"
SETFONT = "/usr/bin/setfont"
FONTDIR = "/usr/share/consolefonts"
BOOT_TIMEOUT = 90.0

# Every printable ASCII character, in two lines the guest reads one by one
# (a space inside the second: read would drop one at either end).
LINE1 = "".join(chr(c) for c in range(0x21, 0x50))
LINE2 = "".join(chr(c) for c in range(0x50, 0x7F)) + " ."

TEXT_FONTS = [("the VGA ROM font", None), ("Lat15-Terminus16", "Lat15-Terminus16"),
              ("latarcyrheb-sun16", "latarcyrheb-sun16")]
FB_FONTS = [("Linux's VGA8x16", None), ("Lat15-Terminus16", "Lat15-Terminus16"),
            ("Lat15-Terminus20x10", "Lat15-Terminus20x10")]

RUN_SH = r"""
n=0
for f in $FONTS; do
  n=$((n+1))
  [ "$f" = default ] || setfont /fonts/$f.psf
  clear
  echo "READY $n"
  echo "READY $n" >/dev/ttyS0
  IFS= read -r a
  IFS= read -r b
  if [ "$a" = "$(cat /expect1)" ] && [ "$b" = "$(cat /expect2)" ]; then
    echo "GOT $n SAME"
  else
    echo "GOT $n DIFFER"
    printf '%s\n%s\n' "$a" "$b" | hexdump -C
  fi
  IFS= read -r go
done
if [ -f /de.bmap ]; then
  loadkmap < /de.bmap
  clear
  echo "READY de"
  IFS= read -r a
  IFS= read -r b
  if [ "$a" = "$(cat /expect1)" ] && [ "$b" = "$(cat /expect2)" ]; then
    echo "GOT de SAME"
  else
    echo "GOT de DIFFER"
    printf '%s\n%s\n' "$a" "$b" | hexdump -C
  fi
  IFS= read -r go
fi
clear
echo ALLDONE
while :; do sleep 1000; done
"""

INIT = """#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev
dmesg -n 1
export FONTS="{fonts}"
exec setsid cttyhack sh /run.sh
"""


def kernel():
    k = sorted(glob.glob("/boot/vmlinuz-*"))
    return k[-1] if k else None


DE_KEYMAP = "/usr/share/keymaps/i386/qwertz/de-latin1-nodeadkeys.kmap.gz"


def build_initrd(tmp, fonts, german=False):
    """A gzip'd newc cpio: busybox, /init, /run.sh, the fonts, the expected
    lines; with german, the console's German layout (console-data's
    de-latin1-nodeadkeys as busybox's loadkmap takes it, from loadkeys -b)."""
    root = os.path.join(tmp, "root-" + "-".join(f or "default" for _, f in fonts))
    os.makedirs(os.path.join(root, "bin"))
    os.makedirs(os.path.join(root, "fonts"))
    shutil.copy(BUSYBOX, os.path.join(root, "bin", "busybox"))
    shutil.copy(SETFONT, os.path.join(root, "bin", "setfont"))
    # setfont's shared libraries, where the dynamic loader looks for them
    for line in subprocess.run(["ldd", SETFONT], capture_output=True, text=True, check=True).stdout.splitlines():
        parts = line.split()
        lib = parts[2] if len(parts) >= 3 and parts[1] == "=>" else None
        if parts and parts[0].startswith("/"):  # the dynamic loader itself
            lib = parts[0]
        if lib and os.path.exists(lib):
            dst = os.path.join(root, lib.lstrip("/"))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy(lib, dst)
    for _, f in fonts:
        if f:
            with gzip.open(os.path.join(FONTDIR, f + ".psf.gz")) as src, \
                    open(os.path.join(root, "fonts", f + ".psf"), "wb") as dst:
                dst.write(src.read())
    with open(os.path.join(root, "init"), "w") as f:
        f.write(INIT.format(fonts=" ".join(f or "default" for _, f in fonts)))
    os.chmod(os.path.join(root, "init"), stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    with open(os.path.join(root, "run.sh"), "w") as f:
        f.write(RUN_SH)
    if german:
        with open(os.path.join(root, "de.bmap"), "wb") as f:
            f.write(subprocess.run(["loadkeys", "-b", DE_KEYMAP], capture_output=True, check=True).stdout)
    for name, text in (("expect1", LINE1), ("expect2", LINE2)):
        with open(os.path.join(root, name), "w") as f:
            f.write(text + "\n")
    out = os.path.join(tmp, os.path.basename(root) + ".cpio.gz")
    files = subprocess.run(["find", "."], cwd=root, capture_output=True, check=True).stdout
    cpio = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root, input=files, capture_output=True,
                          check=True).stdout
    with gzip.open(out, "wb") as f:
        f.write(cpio)
    return out


def screen_rows(tui):
    """The guest's rows as xentui shows them (the pane's first row is xentui's status)."""
    return tui.lines()[1:]


def has_line(rows, text):
    return any(r.rstrip() == text for r in rows)


def type_and_check(tap, tui, qemu, what, n):
    """Types the two lines into the guest through xentui; checks the guest got
    them and xentui shows them (and, in text mode, VGA memory). False if the
    guest did not answer."""
    tui.keys_literal(LINE1)
    tui.keys("Enter")
    tui.keys_literal(LINE2)
    tui.keys("Enter")
    try:
        tui.wait(lambda s: any(r.startswith(f"GOT {n} ") for r in s.split("\n")[1:]), timeout=30)
    except Timeout as e:
        tap.check(False, f"{what}: the guest answers", e)
        return False
    got = screen_rows(tui)
    tap.check(has_line(got, f"GOT {n} SAME"),
              f"{what}: the guest received every printable ASCII character as typed", "\n".join(got))
    tap.check(has_line(got, LINE1) and has_line(got, LINE2),
              f"{what}: all 95 printable ASCII characters read back as typed on xentui's screen",
              f"wanted:\n{LINE1}\n{LINE2}\nthe screen was:\n" + "\n".join(got))
    if qemu:
        vga = [line.rstrip() for line in qemu.vga_text()]
        missing = [line for line in vga if line and not has_line(got, line)]
        tap.check(not missing, f"{what}: every line of VGA memory shows in xentui",
                  "missing:\n" + "\n".join(missing) + "\nxentui:\n" + "\n".join(got))
    tui.keys("Enter")
    return True


def guest_log(qemu, serial):
    """QEMU's stderr and the end of the guest's serial console, for a report."""
    parts = []
    try:
        qemu.err.seek(0)
        parts.append("QEMU stderr: " + (qemu.err.read().strip() or "(nothing)"))
    except (OSError, ValueError):
        pass
    try:
        with open(serial, errors="replace") as f:
            parts.append("serial console (end):\n" + "\n".join(f.read().splitlines()[-20:]))
    except OSError:
        parts.append("no serial console output")
    return "\n".join(parts)


def ready1(tui, qemu, serial):
    """Waits for 'READY 1' on xentui's screen. The guest also says it on its
    serial port: while QEMU runs and the guest has not said it there, the
    guest is slow (TCG on a busy machine), not xentui, so it gets BOOT_TIMEOUT
    once more. Raises Timeout."""
    def ready(s):
        return has_line(s.split("\n")[1:], "READY 1")
    try:
        tui.wait(ready, timeout=BOOT_TIMEOUT)
        return
    except Timeout:
        try:
            with open(serial, errors="replace") as f:
                said = "READY 1" in f.read()
        except OSError:
            said = False
        if said or qemu.proc.poll() is not None:
            raise
    print(f"# the guest has not reached READY 1 in {BOOT_TIMEOUT:.0f} s (serial console quiet): waiting as long again")
    tui.wait(ready, timeout=BOOT_TIMEOUT)


def run_mode(tap, tmp, mode, fonts, append, cols, rows, german=False):
    """Boots the guest, types in each font (then, with german, on the guest's
    German layout, xentui's set to de); reports by tap."""
    qemu = tui = None
    try:
        initrd = build_initrd(tmp, fonts, german)
        serial = os.path.join(tmp, "serial.log")
        for attempt in (1, 2):
            # the kernel's own messages (a panic) also go to the serial port, kept in serial.log;
            # the last console= is /dev/console, the screen xentui reads
            qemu = Qemu(tmp, memory="256", extra=(
                "-kernel", kernel(), "-initrd", initrd, "-no-reboot", "-serial", f"file:{serial}",
                "-append", "console=ttyS0 console=tty1 quiet loglevel=1 rdinit=/init " + append))
            tui = Tui("qemu-linux-" + mode.split()[0].lower(), args=("--vnc", f"127.0.0.1:{qemu.port}"), env={},
                      cols=cols, rows=rows)
            try:
                ready1(tui, qemu, serial)
                break
            except Timeout as e:
                # QEMU gone (the guest stopped: -no-reboot) is the guest's failure, not xentui's: boot
                # it once more, saying why; QEMU still running means xentui did not show the screen
                status = qemu.proc.poll()
                why = guest_log(qemu, serial)
                if attempt == 2 or status is None:
                    tap.check(False, f"{mode}, {fonts[0][0]}: the guest's 'READY 1' reads on xentui's screen",
                              f"{e}\nQEMU {'running' if status is None else 'exited with %s' % status}\n{why}")
                    return
                print(f"# {mode}: the guest stopped before READY 1 (QEMU exited with {status}); booting it again")
                print("# " + why.replace("\n", "\n# "))
                tui.close()
                qemu.close()
                tui = qemu = None
        for n, (name, _) in enumerate(fonts, 1):
            what = f"{mode}, {name}"
            try:
                if n > 1:
                    tui.wait(lambda s: has_line(s.split("\n")[1:], f"READY {n}"), timeout=30)
            except Timeout as e:
                tap.check(False, f"{what}: the guest's 'READY {n}' reads on xentui's screen", e)
                return
            tap.check(True, f"{what}: the guest's 'READY {n}' reads on xentui's screen")
            if n == 1:
                tui.attempt(tap, r"connected \d+x\d+, us keyboard",
                            f"{mode}: QEMU takes scancodes (its extended key events), the us layout by default")
            if not type_and_check(tap, tui, qemu if mode == "VGA text" else None, what, n):
                return
        if german:
            what = f"{mode}, the guest's German layout"
            try:
                tui.wait(lambda s: has_line(s.split("\n")[1:], "READY de"), timeout=30)
            except Timeout as e:
                tap.check(False, f"{what}: the guest loads it", e)
                return
            tui.keys("C-]")
            tui.keys("k")
            tui.attempt(tap, r"connected \d+x\d+, de keyboard", f"{what}: Ctrl-] k sets xentui's to de")
            if not type_and_check(tap, tui, qemu, what, "de"):
                return
        tui.wait(lambda s: has_line(s.split("\n")[1:], "ALLDONE"), timeout=30)
        tui.keys("C-]")
        tui.keys("b")
        tui.attempt(tap, r"XENTUI-EXIT=0", f"{mode}: Ctrl-] b quits --vnc with status 0")
        reports = tui.sanitizer_reports()
        tap.check(not reports, f"{mode}: no sanitizer report (and no leak) from xentui", reports)
    except (Timeout, RuntimeError, OSError, ValueError, subprocess.CalledProcessError) as e:
        tap.check(False, f"{mode}: the scenario ran to its end", e)
    finally:
        if tui:
            tui.close()
        if qemu:
            qemu.close()


def main():
    tap = Tap()
    tmp = tempfile.mkdtemp(prefix="xentui-qemu-linux-")
    try:
        ok = tap.check(shutil.which(QEMU) is not None, f"{QEMU} is installed (scripts/install-deps)")
        ok &= tap.check(kernel() is not None, "a Debian kernel is installed (linux-image-amd64, scripts/install-deps)")
        ok &= tap.check(os.path.exists(BUSYBOX) and os.path.exists(SETFONT) and shutil.which("cpio") is not None
                        and os.path.exists(DE_KEYMAP),
                        "busybox-static, kbd, console-data and cpio are installed (scripts/install-deps)")
        if not ok:
            return
        run_mode(tap, tmp, "VGA text", TEXT_FONTS, "", 100, 30, german=True)
        run_mode(tap, tmp, "framebuffer", FB_FONTS, "vga=0x318", 132, 52)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        tap.done()


if __name__ == "__main__":
    main()
