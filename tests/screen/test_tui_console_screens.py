"""Text screens that real consoles show besides a shell, read by xentui --demo
as text: a host's own console (its control domain's, opened with c on the
host's screen) showing xsconsole's status screen in the Linux console font
with box-drawing borders and a highlighted menu entry, and a Windows guest's
text screens drawn with the VGA ROM font: Windows Boot Manager's menu (its
chosen entry white with black text, moved with Down), its "Windows failed to
start" recovery screen, and a BIOS POST screen in bright text on blue. The
simulator draws each when the VM's other_config:sim_console names it (see
tests/sim/README.md). Every line of the 80x25 screen must read exactly, with
no U+FFFD. TAP output."""
import os
import re
import shutil
import ssl
import sys
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import LOGS, Pool, Tap, Timeout, Tui, pool_sims, stop_sims  # noqa: E402

ROWS = 25
# the host console's fonts: the sim's default, RHEL/CentOS's (XCP-ng's dom0 is
# CentOS-based), and a Terminus one as Debian's console-setup sets
HOST_FONTS = (None, "latarcyrheb-sun16", "Lat15-Terminus16")
# ANSI colour n (30+n, 40+n) is VGA colour ANSI_TO_VGA[n]: the two swap red and blue
ANSI_TO_VGA = (0, 4, 2, 6, 1, 5, 3, 7)
# VGA colours
BLACK, BLUE, RED, GREY, YELLOW, WHITE = 0, 1, 4, 7, 14, 15


def lines_of(s):
    return [line.rstrip() for line in s.split("\n")]


def console_lines(s):
    """The 25 lines of the guest's screen: those under xentui's status line."""
    lines = lines_of(s)
    top = next((i + 1 for i, line in enumerate(lines) if re.search(r": connected 720x400", line)), None)
    if top is None:
        return None
    return lines[top:top + ROWS]


def screen_of(rows):
    """25 lines from {row: text}; unlisted rows are blank."""
    return [rows.get(i, "").rstrip() for i in range(ROWS)]


def hostname_of(title):
    """The sim's host name for a console title (lower case, [a-z0-9-])."""
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch == "-") else "-" for ch in title.lower())


def xsconsole(hostname):
    left = ["Status Display", "Network and Management Interface", "Authentication", "Virtual Machines",
            "Disks and Storage Repositories", "Resource Pool Configuration", "Hardware and BIOS Information",
            "Keyboard and Timezone", "Remote Service Configuration", "Backup, Restore and Update",
            "Technical Support", "Reboot or Shutdown", "Local Command Shell", "Quit"]
    right = {2: "XCP-ng 8.3.0", 4: hostname, 6: "Management Network Parameters", 8: "  Device      eth0",
             9: "  IP address  10.0.0.2", 10: "  Netmask     255.255.255.0", 11: "  Gateway     10.0.0.1",
             14: "Press <Enter> to display the SSL key", 15: "fingerprints for this host"}
    rows = {0: " XCP-ng 8.3.0" + " " * 58 + "10:00:00",
            1: "┌" + "─" * 37 + "┐ ┌" + "─" * 38 + "┐",
            21: "└" + "─" * 37 + "┘ └" + "─" * 38 + "┘",
            22: " <Up/Down> Select  <Enter> OK" + " " * 12 + "<Enter> Fingerprints  <F5> Refresh"}
    for r in range(2, 21):
        a = "Customize System" if r == 2 else left[r - 4] if 4 <= r < 4 + len(left) else ""
        rows[r] = "│ " + a.ljust(36) + "│ │ " + right.get(r, "").ljust(37) + "│"
    return screen_of(rows)


def winboot(chosen):
    entries = ["Windows Server 2022", "Windows Server 2019"]
    rows = {0: " " * 30 + "Windows Boot Manager",
            2: " Choose an operating system to start, or press TAB to select a tool:",
            3: " (Use the arrow keys to highlight your choice, then press ENTER.)",
            14: " To specify an advanced option for this choice, press F8.",
            16: " Tools:",
            18: "    Windows Memory Diagnostic",
            24: " ENTER=Choose  TAB=Menu  ESC=Cancel"}
    for i, e in enumerate(entries):
        rows[5 + i] = "    " + e + (" " * (76 - 4 - len(e)) + ">" if i == chosen else "")
    return screen_of(rows)


def winrecovery():
    text = ["Windows failed to start. A recent hardware or software change might be the",
            "cause. To fix the problem:",
            "",
            "  1. Insert your Windows installation disc and restart your computer.",
            "  2. Choose your language settings, and then click \"Next.\"",
            "  3. Click \"Repair your computer.\"",
            "",
            "If you do not have this disc, contact your system administrator or computer",
            "manufacturer for assistance."]
    rows = {0: " " * 30 + "Windows Boot Manager",
            12: "     File:  \\Windows\\system32\\winload.efi",
            14: "     Status: 0xc000000e",
            16: "     Info: The application or operating system couldn't be loaded because a",
            17: "           required file is missing or contains errors.",
            24: " ENTER=Continue  ESC=UEFI Firmware Settings"}
    for i, t in enumerate(text):
        rows[2 + i] = (" " + t) if t else ""
    return screen_of(rows)


def bios():
    hw = [("CPU     :", "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz"), ("Memory  :", "4096 MB OK"),
          ("Disk 0  :", "QEMU HARDDISK  64 GB"), ("CD-ROM  :", "QEMU DVD-ROM"),
          ("Boot    :", "Windows Boot Manager (Disk 0)")]
    rows = {1: " ╔" + "═" * 75 + "╗",
            2: " ║ " + "SimBIOS Setup Utility - Copyright (C) 2026 xapi-sim Virtual Platform".ljust(74) + "║",
            3: " ║ " + "BIOS Version 1.16.3          Build Date 04/01/2024".ljust(74) + "║",
            4: " ╚" + "═" * 75 + "╝",
            20: "   Press F2 to enter SETUP, F12 for Network Boot, ESC for Boot Menu",
            22: "    Initializing USB ...",
            24: " F1 Help  F2 Setup  F12 Network  ESC Boot Menu"}
    for i, (k, v) in enumerate(hw):
        rows[6 + i] = "   " + k + " " + v
    return screen_of(rows)


def check_screen(tap, tui, expected, what, timeout=30):
    """Waits for the screen to read as expected; one TAP line for the whole
    screen, and on failure the lines that differ."""
    got = [None]

    def matches(s):
        got[0] = console_lines(s)
        return got[0] == expected
    try:
        tui.wait(matches, timeout)
        tap.check(True, f"{what}: all 25 lines read exactly")
    except Timeout:
        lines = got[0] or []
        diff = [f"row {i:2}: got {lines[i] if i < len(lines) else None!r}\n        want {expected[i]!r}"
                for i in range(ROWS) if i >= len(lines) or lines[i] != expected[i]]
        tap.check(False, f"{what}: all 25 lines read exactly", "\n".join(diff) + "\nthe screen was:\n" + tui.screen())
    s = tui.screen()
    tap.check("\ufffd" not in s, f"{what}: no U+FFFD on the screen", s)
    return s


def cells(tui):
    """The pane as [(text, [(fg, bg, reverse) per character])], colours as
    VGA colour numbers 0-15 (None: the terminal's default). capture-pane -e
    carries attributes over from line to line."""
    lines, fg, bg, rev = [("", [])], None, None, False
    for m in re.finditer(r"\x1b\[([0-9;]*)m|(\n)|(.)", tui.screen_attrs(), re.S):
        if m.group(2):
            lines.append(("", []))
            continue
        if m.group(3) is not None:
            plain, attrs = lines[-1]
            lines[-1] = (plain + m.group(3), attrs + [(fg, bg, rev)])
            continue
        ps = [int(p) if p else 0 for p in (m.group(1) or "0").split(";")]
        i = 0
        while i < len(ps):
            p = ps[i]
            if p == 0:
                fg, bg, rev = None, None, False
            elif p == 7 or p == 27:
                rev = p == 7
            elif p in (38, 48) and i + 2 < len(ps) and ps[i + 1] == 5:
                n = ps[i + 2]  # 0-15 in ANSI's order; others stay as they are
                c = ANSI_TO_VGA[n % 8] + (8 if n >= 8 else 0) if n < 16 else n
                fg, bg = (c, bg) if p == 38 else (fg, c)
                i += 2
            elif 30 <= p <= 37 or 90 <= p <= 97:
                fg = ANSI_TO_VGA[p % 10] + (8 if p >= 90 else 0)
            elif 40 <= p <= 47 or 100 <= p <= 107:
                bg = ANSI_TO_VGA[p % 10] + (8 if p >= 100 else 0)
            elif p == 39:
                fg = None
            elif p == 49:
                bg = None
            i += 1
    return lines


def attrs_at(tui, text):
    """(fg, bg, reverse) where text first starts on the pane, or None."""
    for plain, attrs in cells(tui):
        i = plain.find(text)
        if i >= 0:
            return attrs[i]
    return None


def reversed_row(tui, text):
    """Whether text starts in reverse video (NO_COLOR: xentui shows a light
    background as reverse)."""
    a = attrs_at(tui, text)
    return bool(a and a[2])


def colours_at(tui, text):
    """(foreground, background) where text starts on the pane, or None."""
    a = attrs_at(tui, text)
    return a[:2] if a else None


def open_console(tui, name):
    tui.keys(":")
    tui.keys_literal("console " + name)
    tui.keys("Enter")


def back(tui):
    tui.keys("C-]")
    tui.wait(r"Console menu")
    tui.keys("b")
    tui.wait(lambda s: "Console menu" not in s and not re.search(r": connected 720x400", s))


def open_host_console(tui, host, filter_text=None):
    """c on the host's screen (found by filter_text, else its name): its
    control domain's console."""
    tui.keys(":")
    tui.keys_literal("hosts")
    tui.keys("Enter")
    tui.wait(r"^NAME")
    tui.keys("/")
    tui.keys("C-u")
    tui.keys_literal(filter_text or host)
    tui.keys("Enter")
    tui.wait(lambda s: "1 of" in s.split("\n")[1])
    tui.keys("Enter")
    tui.wait(r"CPUs")
    tui.keys("c")


def member_host(tap):
    """A pool member's host console: two sims (A master, B joined), xentui
    connected to A, B's control domain asking for xsconsole in RHEL's font;
    B serves it with the records read on A."""
    a_addr, b_addr = "127.0.0.7", "127.0.0.8"
    sims, tui = [], None
    try:
        sim_a, sim_b = pool_sims(sims, "console-screens", ((a_addr, "--hosts", "1", "--vms", "0", "--seed", "41"),
                                                           (b_addr, "--hosts", "1", "--vms", "0", "--seed", "42")))
        xb = xmlrpc.client.ServerProxy(sim_b.url, context=ssl._create_unverified_context(), allow_none=True)
        sb = xb.session.login_with_password("root", "xapi-sim", "1.0", "test")["Value"]
        r = xb.pool.join(sb, a_addr, "root", "xapi-sim")
        if r.get("Status") != "Success":
            raise RuntimeError("pool.join: %s" % r.get("ErrorDescription"))
        pa = Pool(sim_a.url)
        host_b = next(ref for ref, h in pa.hosts().items() if h["address"] == b_addr)
        host = pa.call("host.get_hostname", host_b)
        dom0 = next(ref for ref, v in pa.call("VM.get_all_records").items()
                    if v["is_control_domain"] and v["resident_on"] == host_b)
        pa.call("VM.add_to_other_config", dom0, "sim_console", "xsconsole")
        pa.call("VM.add_to_other_config", dom0, "sim_console_font", "latarcyrheb-sun16")
        home = os.path.join(LOGS, f"screen-console-screens-member-{os.getpid()}")
        shutil.rmtree(home, ignore_errors=True)
        os.makedirs(os.path.join(home, "config", "xentui"))
        with open(os.path.join(home, "config", "xentui", "config"), "w") as f:
            f.write('servers = (\n'
                    '  { name = "lab"; url = "%s"; password_env = "XENTUI_PW"; fingerprint = "%s"; autoconnect = true; }\n'
                    ');\n' % (sim_a.url, sim_a.fingerprint))
        tui = Tui("console-screens-member", args=(), rows=34, env={"XENTUI_PW": "xapi-sim", "NO_COLOR": "1"},
                  fresh=False)
        tui.wait(r"live|connected", timeout=60)
        open_host_console(tui, host, b_addr)  # both sims name their host 0 alike
        check_screen(tap, tui, xsconsole(hostname_of(host)), f"member {host}'s xsconsole in latarcyrheb-sun16")
        back(tui)
    except (Timeout, RuntimeError, StopIteration) as e:
        tap.check(False, "the member scenario ran to its end", e)
    finally:
        try:
            if tui:
                tui.quit_and_check(tap)
        finally:
            if tui:
                tui.close()
            errs = stop_sims(tap, sims)
            tap.check(len(errs) == 2 and "serves the console of" in errs[1] and "using the default font" not in errs[1],
                      "B served its host console, in the font asked for", errs[-1][-2000:] if errs else "")


def main():
    tap = Tap()
    name = ref = None
    tui = Tui("console-screens", rows=34, env={"NO_COLOR": "1"})
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())
        guests = pool.guests()
        texts = [v["name_label"] + " " + " ".join(v["tags"]) for v in guests.values()]
        running = sorted((v["name_label"], r) for r, v in guests.items()
                         if v["power_state"] == "Running" and sum(v["name_label"] in t for t in texts) == 1)
        if not running:
            raise RuntimeError("the demo pool needs a running VM with a unique name")
        name, ref = running[0]

        # ---- a host's own console: xsconsole on its control domain's console
        hosts = pool.hosts()
        href = sorted(hosts, key=lambda h: hosts[h]["hostname"])[0]
        host = hosts[href]["hostname"]
        vms = pool.call("VM.get_all_records")
        dom0 = next(r for r, v in vms.items() if v["is_control_domain"] and v["resident_on"] == href)
        pool.call("VM.add_to_other_config", dom0, "sim_console", "xsconsole")
        for font in HOST_FONTS:
            what = f"c on host {host}: its xsconsole in " + (font or "the default font (Lat15-VGA16)")
            if font:
                pool.call("VM.remove_from_other_config", dom0, "sim_console_font")
                pool.call("VM.add_to_other_config", dom0, "sim_console_font", font)
            open_host_console(tui, host)
            check_screen(tap, tui, xsconsole(hostname_of(host)), what)
            tap.check(reversed_row(tui, "Status Display") and not reversed_row(tui, "Authentication"),
                      f"{what}: the highlighted entry (and only it) shows in reverse video", tui.screen_attrs())
            back(tui)
        err = tui.sim_stderr()
        tap.check("using the default font" not in err, "the simulator drew with each font asked for", err)

        # ---- a Windows guest's boot manager, recovery screen and BIOS screen
        pool.call("VM.add_to_other_config", ref, "sim_console", "winboot")
        open_console(tui, name)
        check_screen(tap, tui, winboot(0), "Windows Boot Manager")
        tap.check(reversed_row(tui, "Windows Server 2022"), "the chosen entry (white background) shows in reverse",
                  tui.screen_attrs())
        tap.check(not reversed_row(tui, "Windows Server 2019"), "the other entry does not", tui.screen_attrs())
        tap.check(reversed_row(tui, "Windows Boot Manager") and reversed_row(tui, "ENTER=Choose"),
                  "the grey title and key bars show in reverse", tui.screen_attrs())
        tui.keys("Down")
        check_screen(tap, tui, winboot(1), "Down moves the choice to Windows Server 2019")
        tap.check(reversed_row(tui, "Windows Server 2019") and not reversed_row(tui, "Windows Server 2022"),
                  "the highlight follows the choice", tui.screen_attrs())
        back(tui)

        pool.call("VM.remove_from_other_config", ref, "sim_console")
        pool.call("VM.add_to_other_config", ref, "sim_console", "winrecovery")
        open_console(tui, name)
        check_screen(tap, tui, winrecovery(), "Windows Boot Manager's recovery screen")
        back(tui)

        pool.call("VM.remove_from_other_config", ref, "sim_console")
        pool.call("VM.add_to_other_config", ref, "sim_console", "bios")
        open_console(tui, name)
        check_screen(tap, tui, bios(), "BIOS POST screen (bright text on blue)")
        back(tui)

        tui.quit_and_check(tap)
    except (Timeout, RuntimeError, StopIteration) as e:
        tap.check(False, "the scenario ran to its end", e)
    finally:
        tui.close()

    # ---- a member's host console, served by the member
    member_host(tap)

    # ---- the same screens in colour: the guest's colours on the terminal
    if not name:
        tap.done()
        return
    tui = Tui("console-screens-colour", rows=34, env={})
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())
        pool.call("VM.add_to_other_config", ref, "sim_console", "winboot")
        open_console(tui, name)
        check_screen(tap, tui, winboot(0), "in colour: Windows Boot Manager")
        for text, want, what in (("Windows Server 2022", (BLACK, WHITE), "the chosen entry: black on white"),
                                 ("Windows Server 2019", (GREY, BLACK), "the other entry: grey on black"),
                                 ("Choose an", (WHITE, BLACK), "the question: white on black"),
                                 ("Windows Boot Manager", (BLACK, GREY), "the title bar: black on grey")):
            got = colours_at(tui, text)
            tap.check(got == want, f"in colour: {what}", f"got {got}, want {want}")
        back(tui)
        pool.call("VM.remove_from_other_config", ref, "sim_console")
        pool.call("VM.add_to_other_config", ref, "sim_console", "bios")
        open_console(tui, name)
        check_screen(tap, tui, bios(), "in colour: BIOS POST screen")
        for text, want, what in (("Press F2 to enter SETUP", (WHITE, BLUE), "Press F2: bright white on blue"),
                                 ("BIOS Version", (YELLOW, BLUE), "the version: yellow on blue"),
                                 ("Initializing USB", (WHITE, RED), "Initializing USB: bright white on red"),
                                 ("F1 Help", (BLACK, GREY), "the key bar: black on grey")):
            got = colours_at(tui, text)
            tap.check(got == want, f"in colour: {what}", f"got {got}, want {want}")
        back(tui)
        tui.quit_and_check(tap)
    except (Timeout, RuntimeError, StopIteration) as e:
        tap.check(False, "the colour scenario ran to its end", e)
    finally:
        tui.close()
    tap.done()


if __name__ == "__main__":
    main()
