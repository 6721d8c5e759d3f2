# run-all: alone (it times when a row changes during a rolling update)
""":updates during and after a rolling pool update in xentui --demo: once
the update has run on a host its row says what the updater says now (none
left), without pressing r; and while the master reboots the header and the
status line say so in words, never as a raw xapi error code such as
HOST_STILL_BOOTING. The pool is read back from the simulator. TAP output."""
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tuitest import Pool, Tap, Timeout, Tui, row_starting  # noqa: E402

# an xapi error code: upper-case words joined by underscores (HOST_STILL_BOOTING, SESSION_INVALID)
RAW_CODE = re.compile(r"\b[A-Z][A-Z0-9]+(?:_[A-Z0-9]+)+\b")


def updates(pool, host):
    return json.loads(pool.call("host.call_plugin", host, "updater.py", "check_update", {}))


def chrome(screen):
    """The header (first two lines) and the status/footer lines (last two)."""
    lines = screen.split("\n")
    return lines[:2] + lines[-2:]


def main():
    tap = Tap()
    tui = Tui("staleupd", env={"NO_COLOR": "1"}, cols=140, rows=36)
    try:
        tui.wait(r"live", timeout=40)
        pool = Pool(tui.demo())
        hosts = pool.hosts()
        names = {h: rec["name_label"] for h, rec in hosts.items()}
        counts = {h: len(updates(pool, h)) for h in hosts}
        tap.check(all(counts.values()), "sim: every host has updates to install", counts)
        # VMs on a host's local storage cannot be evacuated: shut down here, so that the
        # rolling update runs without asking (test_tui_updates.py answers that dialog)
        for r, v in pool.guests().items():
            if v["power_state"] in ("Running", "Paused") and pool.pinned(r):
                pool.call("VM.hard_shutdown" if v["power_state"] == "Paused" else "VM.clean_shutdown", r)

        tui.keys(":")
        tui.keys_literal("updates")
        tui.keys("Enter")
        tui.wait(r"HOST.*UPDATES")
        tui.attempt(tap, lambda s: all(f" {counts[h]} " in row_starting(s, n) for h, n in names.items()),
                    "every host's row shows its updates")

        tui.keys("U")
        tui.wait(r"Rolling pool update")
        tui.keys("y")

        # watch every frame until the job ends: the master's reboot is a few seconds
        raw, words, master_rows = [], False, None
        master = list(pool.call("pool.get_all_records").values())[0]["master"]
        deadline = time.time() + 240
        screen = ""
        while time.time() < deadline:
            screen = tui.screen()
            for line in chrome(screen):
                if RAW_CODE.search(line):
                    raw.append(line)
                if "starting up" in line:
                    words = True
            # the master is done (first) while the others still run: its row turns fresh
            # then (its check_update may still be on the way the instant the job says done)
            if re.search(re.escape(names[master]) + r"\s+done", screen) \
                    and "Rolling pool update done" not in screen \
                    and not (master_rows and " 0 " in master_rows and "up to date" in master_rows):
                master_rows = row_starting(screen, names[master])
            if "Rolling pool update done" in screen or "Rolling pool update stopped" in screen:
                break
            time.sleep(0.05)
        tap.check("Rolling pool update done" in screen, "the rolling update ends done", screen)
        tap.check(not raw, "no raw xapi error code in the header or status line while the master reboots",
                  "\n".join(sorted(set(raw))))
        tap.check(words, "the header said in words that the master is starting up")

        def finished():
            try:
                return all(not updates(pool, h) for h in hosts)
            except (RuntimeError, OSError):
                return False
        pool.wait(finished, timeout=30, what="check_update empty everywhere")
        tap.check(True, "sim: check_update is empty on every host")
        tap.check(master_rows is not None and " 0 " in master_rows and "up to date" in master_rows,
                  "the master's row said 0, up to date, once its turn ended, while the others still ran", master_rows)
        # no r pressed: the list follows the job by itself
        tui.attempt(tap, lambda s: all(" 0 " in row_starting(s, n) and "up to date" in row_starting(s, n)
                                       for n in names.values()),
                    "after the rolling update every row shows 0, up to date, without r", timeout=20)
        tui.quit_and_check(tap)
    except (Timeout, RuntimeError, OSError) as e:
        tap.check(False, "the scenario ran to its end", e)
        print("# " + tui.screen().replace("\n", "\n# "))
    finally:
        tui.close()
    tap.done()


if __name__ == "__main__":
    main()
