"""The message line and what it says (issues 18, 19 and 15), in xentui
against the simulator: a long message wraps to two lines at 80 columns so
its end (what to do) is seen, and L or :messages shows every message of
the session whole; an old error goes when another screen comes (the
history keeps it); a VM start whose answer the pool lost (--faults
http500:VM.start*1: the call ran) says it took effect once its task
succeeded, not "answered HTTP 500"; an ISO upload at a slow link says the
host is finishing, with the task's own progress, instead of "100 % 0:00
left", and a cancelled upload says so once; a certificate that changes
under a live connection gets one dialog, which one Enter closes, however
often the reconnection is refused. The pool is read back through XML-RPC.
TAP output."""
import os
import re
import sys
import tempfile
import time
import shutil

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import Pool, Sim, Tap, Timeout, Tui, cmd, filter_to, no_sanitizer_report, row_starting  # noqa: E402

MiB = 1024 * 1024


def flat(text):
    """The words on the screen, whatever the wrapping and frames."""
    return " ".join(re.sub(r"[│┌┐└┘─]", " ", text).split())


def unique_names(guests):
    """Names a filter finds alone (no other VM holds them in its name or tags)."""
    texts = [v["name_label"] + " " + " ".join(v["tags"]) for v in guests.values()]
    return {v["name_label"] for v in guests.values() if sum(v["name_label"] in t for t in texts) == 1}


def open_vm(tui, name):
    cmd(tui, "vms")
    tui.wait(r"^NAME.*POWER")
    filter_to(tui, name)
    tui.wait(lambda s: row_starting(s, name) and "1 of" in s.split("\n")[1])
    tui.keys("Enter")
    tui.wait(r"General")


# ---- 1, 2: a long message wraps; L and :messages; an old error goes with its screen --------

def messages(tap):
    tui = Tui("status", env={"NO_COLOR": "1"}, cols=80, rows=24)
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())
        guests = pool.guests()
        unique = unique_names(guests)
        vm_ref, vm = next((r, v) for r, v in sorted(guests.items(), key=lambda kv: kv[1]["name_label"])
                          if v["power_state"] == "Running" and v["name_label"] in unique and v["VIFs"])
        vif = pool.call("VIF.get_record", sorted(vm["VIFs"], key=lambda r: pool.call("VIF.get_device", r))[0])
        # an error, then another screen: the error goes from the message line
        cmd(tui, "console no-such-vm-xyz")
        tui.attempt(tap, r"no VM (or host )?is called no-such-vm-xyz", "an error on the message line")
        cmd(tui, "hosts")
        screen = tui.wait(r"^NAME.*STATE")
        tap.check("no-such-vm-xyz" not in screen, "another screen: the old error is gone from it", screen)

        open_vm(tui, vm["name_label"])
        tui.keys("3")
        tui.wait(r"^DEV")
        tui.keys("T")
        screen = tui.attempt(tap, lambda s: "start it to apply" in s,
                             "at 80 columns the end of a long message ('...start it to apply') is on screen")
        if screen:
            lines = screen.split("\n")
            i = next(i for i, l in enumerate(lines) if "start it to apply" in l)
            tap.check(lines[i - 1].startswith(" TX checksum offload off on interface %s" % vif["device"])
                      and i == len(lines) - 3,
                      "it takes the two lines above the key bar", "\n".join(lines[-5:]))
            tap.check(re.search(r"^DEV.*MAC", screen, re.M), "the screen's list is still drawn above it", screen)
        # the whole of it in the history
        tui.keys("L")
        screen = tui.attempt(tap, lambda s: "Messages" in s.split("\n")[1]
                             and "need it off. Shut the VM down and start it to apply" in flat(s),
                             "L shows the message history with the message whole")
        if screen:
            tap.check("TX checksum offload off on interface %s: firewall VMs" % vif["device"] in flat(screen),
                      "from its start", screen)
        tui.keys("Escape")
        tui.wait(r"^DEV")

        # the history holds both, oldest first
        tui.keys("L")
        screen = tui.attempt(tap, lambda s: re.search(r"is called no-such-vm-xyz", s) and "Messages" in s,
                             "the history still holds the old error (L)")
        if screen:
            tap.check(flat(screen).index("no-such-vm-xyz") < flat(screen).index("start it to apply"),
                      "oldest first", screen)
        tui.keys("Escape")
        tui.wait(r"^DEV")
        tui.keys("T")  # back to the default
        tui.wait(lambda s: "offload on on interface" in s)

        cmd(tui, "messages")
        tui.attempt(tap, lambda s: "Messages" in s.split("\n")[1] and "no-such-vm-xyz" in s,
                    ":messages shows the same history")
        tui.keys("?")
        tui.attempt(tap, lambda s: re.search(r"^\s+L\s+the messages of this session", s, re.M),
                    "? lists L among the keys that work everywhere")
        tui.keys("Escape")
        tui.quit_and_check(tap)
    except (Timeout, StopIteration) as e:
        tap.check(False, "the message scenario ran to its end", e)
    finally:
        tui.close()


# ---- 3: the pool ran the start but its answer was lost ---------------------------------------

def lost_answer(tap):
    tui = Tui("status-lost", env={"NO_COLOR": "1", "XENTUI_DEMO_ARGS": "--faults http500:VM.start*1"},
              cols=120, rows=30)
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())
        guests = pool.guests()
        unique = unique_names(guests)
        vm_ref, vm = next((r, v) for r, v in sorted(guests.items(), key=lambda kv: kv[1]["name_label"])
                          if v["power_state"] == "Halted" and v["name_label"] in unique)
        name = vm["name_label"]
        open_vm(tui, name)
        tui.keys("s")
        try:
            pool.wait(lambda: pool.vm(vm_ref)["power_state"] == "Running", timeout=30, what="the VM running")
            tap.check(True, "sim: the start ran (the VM runs) though its answer was an HTTP 500")
        except Timeout as e:
            tap.check(False, "sim: the start ran (the VM runs) though its answer was an HTTP 500", e)
        tui.attempt(tap, lambda s: ("Start VM '%s': took effect, though the pool's answer to the call was lost" % name)
                    in flat(s), "the message says the start took effect though its answer was lost")
        tui.keys("L")
        screen = tui.attempt(tap, lambda s: "Messages" in s.split("\n")[1] and "took effect" in s,
                             "the history has it")
        if screen:
            tap.check(not re.search(r"Start VM '%s': \S+ answered HTTP 500" % re.escape(name), flat(screen)),
                      "and no message that the start failed", screen)
        tui.keys("Escape")
        tui.quit_and_check(tap)
    except (Timeout, StopIteration) as e:
        tap.check(False, "the lost-answer scenario ran to its end", e)
    finally:
        tui.close()


# ---- 4: an upload the host is still writing; a cancelled one ---------------------------------

RATE = 1000000  # bytes/s the sim takes an upload in: the socket buffers hold seconds of it


def upload_line(screen, name):
    return next((l for l in screen.split("\n") if "'%s'" % name in l and ("Upload" in l)), "")


def uploads(tap):
    tmp = tempfile.mkdtemp(prefix="xentui-status-")
    tui = Tui("status-upload", env={"NO_COLOR": "1", "XENTUI_DEMO_ARGS": "--faults slow=%d" % RATE},
              cols=120, rows=30)
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())
        srs = pool.call("SR.get_all_records")
        sr, rec = next((r, v) for r, v in srs.items() if v["content_type"] == "iso" and v["name_label"] == "ISO library")
        cmd(tui, "storage")
        tui.wait(r"^NAME.*TYPE")
        filter_to(tui, rec["uuid"])
        tui.wait(lambda s: "1 of" in s and row_starting(s, rec["name_label"]))
        tui.keys("Enter")
        tui.wait(r"^\s*Disks:", timeout=10)

        path = os.path.join(tmp, "slow-link.iso")
        with open(path, "wb") as f:
            f.write(os.urandom(8 * MiB))
        tui.keys("u")
        tui.wait("Upload ISO")
        tui.keys("C-u")
        tui.keys_literal(path)
        tui.keys("Enter")
        # every upload line until it is done
        samples = []
        deadline = time.time() + 60
        done = False
        while time.time() < deadline and not done:
            screen = tui.screen()
            samples.append(upload_line(screen, "slow-link.iso"))
            done = "into '%s': done" % rec["name_label"] in screen
            time.sleep(0.1)
        tap.check(done, "the upload ends done", samples[-3:])
        finishing = [l for l in samples if "the host is finishing" in l]
        tap.check(finishing, "once every byte is sent, the line says the host is finishing",
                  "\n".join(sorted(set(samples))[-10:]))
        pcts = [int(m.group(1)) for l in finishing for m in [re.search(r"(\d+)%", l)] if m]
        tap.check(pcts and min(pcts) < 100, "with the host's own progress, below 100 %", finishing[:5])
        stale = [l for l in samples if "100%" in l and "Uploading" in l]
        tap.check(not stale, "the link's bar never stands at 100 % while the host still writes", stale[:3])
        vdis = [v for v in pool.call("VDI.get_all_records").values() if v["name_label"] == "slow-link.iso"]
        tap.check(len(vdis) == 1 and int(vdis[0]["virtual_size"]) == 8 * MiB and vdis[0]["SR"] == sr,
                  "sim: the VDI is there, 8 MiB", vdis)

        # cancelled midway: said once
        path = os.path.join(tmp, "cancel-me.iso")
        with open(path, "wb") as f:
            f.write(os.urandom(40 * MiB))
        tui.keys("u")
        tui.wait("Upload ISO")
        tui.keys("C-u")
        tui.keys_literal(path)
        tui.keys("Enter")
        tui.wait(lambda s: re.search(r"Uploading 'cancel-me.iso'.*\s([1-9]|[1-8][0-9])%", s), timeout=30)
        tui.keys("x")
        said = "cancelled; the partly written disk was removed"
        screen = tui.attempt(tap, lambda s: said in s, "x cancels the upload")
        try:
            tui.wait(lambda s: s.count(said) == 1, timeout=5)
            tap.check(True, "the screen says it once")
        except Timeout as e:
            tap.check(False, "the screen says it once", e)
        try:
            pool.wait(lambda: not [v for v in pool.call("VDI.get_all_records").values()
                                   if v["name_label"] == "cancel-me.iso"], timeout=20, what="the cancelled VDI gone")
            tap.check(True, "sim: no VDI is left after the cancel")
        except Timeout as e:
            tap.check(False, "sim: no VDI is left after the cancel", e)
        tui.keys("L")
        screen = tui.attempt(tap, lambda s: "Messages" in s.split("\n")[1] and said in s, "the history has the cancel")
        if screen:
            tap.check(screen.count(said) == 1, "once", screen)
        tui.keys("Escape")
        tui.quit_and_check(tap)
    except (Timeout, StopIteration) as e:
        tap.check(False, "the upload scenario ran to its end", e)
    finally:
        tui.close()
        shutil.rmtree(tmp, ignore_errors=True)


# ---- 5: the certificate changes under a live connection ---------------------------------------

def refusals(log):
    """The refused connections the log tells of."""
    try:
        with open(log) as f:
            return sum(1 for l in f if "failed: the certificate of" in l and "is not known yet" not in l)
    except OSError:
        return 0


def certificate(tap):
    first = Sim("status-cert", "--seed", "7")
    second = None
    tui = None
    tmp = tempfile.mkdtemp(prefix="xentui-status-cert-")
    log = os.path.join(tmp, "xentui.log")
    port = first.url.rsplit(":", 1)[1].rstrip("/")
    try:
        tui = Tui("status-cert", args=(first.url, "--password-env", "XENTUI_TEST_PW", "--log", log),
                  env={"XENTUI_TEST_PW": "xapi-sim", "NO_COLOR": "1"})
        tui.wait(r"Unknown certificate")
        tui.keys("y")
        tui.wait(r"live", timeout=30)
        # the host gets another certificate under the live connection: every call in flight is refused
        first.stop()
        first = None
        second = Sim("status-cert-2", "--seed", "7", "--port", port)
        tui.attempt(tap, r"Certificate changed", "a changed certificate is shown in a dialog", timeout=40)
        # the reconnection may be refused again and again: give it three refusals (or 12 s)
        deadline = time.time() + 12
        while time.time() < deadline and refusals(log) < 3:
            time.sleep(0.2)
        print("# refusals logged: %d" % refusals(log), flush=True)
        tui.keys("Enter")
        try:
            tui.wait(lambda s: "Certificate changed" not in s, timeout=3)
            tap.check(True, "one Enter closes it: one dialog, not one per refusal")
        except Timeout as e:
            tap.check(False, "one Enter closes it: one dialog, not one per refusal", e)
        tui.attempt(tap, r"not connected", "the status line says not connected")
        tui.keys("L")
        tui.attempt(tap, lambda s: "Messages" in s.split("\n")[1] and "the certificate of" in s,
                    "the history keeps the refusal")
        tui.keys("Escape")
        tui.keys("C-c")
        tui.attempt(tap, r"XENTUI-EXIT=0", "^C quits with status 0")
        reports = tui.sanitizer_reports()
        tap.check(not reports, "no sanitizer report (and no leak) from xentui", reports)
    except (Timeout, StopIteration) as e:
        tap.check(False, "the certificate scenario ran to its end", e)
    finally:
        if tui:
            tui.close()
        for sim in (first, second):
            if sim:
                err = sim.stop()
                tap.check(no_sanitizer_report(err), "no sanitizer report from the simulator", err[-3000:])
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    tap = Tap()
    only = sys.argv[1:]
    for name, fn in (("messages", messages), ("lost", lost_answer), ("upload", uploads), ("cert", certificate)):
        if not only or name in only:
            fn(tap)
    tap.done()


if __name__ == "__main__":
    main()
