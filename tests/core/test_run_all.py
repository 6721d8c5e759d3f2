"""tests/run-all judges each test program's TAP output against its plan:
run on a small tree of made-up test programs (a copy of run-all in a temp
dir), it must count a missing or an extra test, a crash part way, a
missing plan, numbers out of order and "Bail out!" as failures, a
"# SKIP" as a skip (said on the line before the last), and end with
"N passed, N failed" and a non-zero status when anything failed. TAP output."""
import os
import shutil
import stat
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN_ALL = os.environ.get("RUN_ALL", os.path.join(ROOT, "tests", "run-all"))

n = 0
failed = 0


def check(cond, name, detail=""):
    global n, failed
    n += 1
    print(f"{'ok' if cond else 'not ok'} {n} - {name}", flush=True)
    if not cond:
        failed += 1
        for line in str(detail).splitlines()[:40]:
            print(f"# {line}", flush=True)


def program(tree, path, tap, status=0):
    """A test program at path in tree printing tap (lines) and exiting with status."""
    full = os.path.join(tree, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        if path.endswith(".py"):
            f.write("import sys\nprint(%r)\nsys.exit(%d)\n" % ("\n".join(tap), status))
        else:
            f.write("#!/bin/sh\ncat <<'END'\n%s\nEND\nexit %d\n" % ("\n".join(tap), status))
    os.chmod(full, os.stat(full).st_mode | stat.S_IXUSR)


def run_tree(programs, alone=None):
    """Runs a copy of run-all over a tree holding only programs {path: (tap, status)};
    returns (exit status, output)."""
    tree = tempfile.mkdtemp(prefix="run-all-")
    try:
        os.makedirs(os.path.join(tree, "tests"))
        shutil.copy(RUN_ALL, os.path.join(tree, "tests", "run-all"))
        for path, (tap, status) in programs.items():
            program(tree, path, tap, status)
        if alone:  # the marker in the program's first lines
            with open(os.path.join(tree, alone)) as f:
                body = f.read()
            with open(os.path.join(tree, alone), "w") as f:
                f.write("# run-all: alone\n" + body)
        r = subprocess.run(["sh", os.path.join(tree, "tests", "run-all")], capture_output=True, text=True,
                           timeout=60)
        return r.returncode, r.stdout + r.stderr
    finally:
        shutil.rmtree(tree)


GOOD = ["1..3", "ok 1 - a", "ok 2 - b", "ok 3 - c"]
CASES = [
    # (what, TAP lines, exit status, passed, failed, skipped)
    ("a program whose tests all pass", GOOD, 0, 3, 0, 0),
    ("the plan printed last", ["ok 1 - a", "ok 2 - b", "1..2"], 0, 2, 0, 0),
    ("a test missing from the plan", ["1..3", "ok 1 - a", "ok 2 - b"], 0, 2, 1, 0),
    ("a test more than the plan", ["1..2", "ok 1 - a", "ok 2 - b", "ok 3 - c"], 0, 3, 1, 0),
    ("a crash after two tests (no plan, status 134)", ["ok 1 - a", "ok 2 - b"], 134, 2, 1, 0),
    ("a crash after two tests (plan first, status 139)", ["1..4", "ok 1 - a", "ok 2 - b"], 139, 2, 1, 0),
    ("no plan at all, status 0", ["ok 1 - a"], 0, 1, 1, 0),
    ("nothing printed, status 0", [], 0, 0, 1, 0),
    ("a skip", ["1..3", "ok 1 - a", "ok 2 - b # SKIP no tmpfs here", "ok 3 - c"], 0, 2, 0, 1),
    ("a skip written in lower case", ["1..2", "ok 1 - a", "ok 2 - b # skip: not here"], 0, 1, 0, 1),
    ("a failure", ["1..2", "ok 1 - a", "not ok 2 - b"], 1, 1, 1, 0),
    ("a test number repeated", ["1..2", "ok 1 - a", "ok 1 - b"], 0, 2, 1, 0),
    ("the plan in the middle", ["ok 1 - a", "1..2", "ok 2 - b"], 0, 2, 1, 0),
    ("two plans", ["1..1", "ok 1 - a", "1..1"], 0, 1, 1, 0),
    ("Bail out!", ["1..2", "ok 1 - a", "Bail out! the database is gone"], 255, 1, 2, 0),
    ("a failure with status 0", ["1..1", "not ok 1 - a"], 0, 0, 1, 0),
    ("indented subtests are not counted", ["1..1", "    ok 1 - sub", "ok 1 - a"], 0, 1, 0, 0),
]


def main():
    for what, tap, status, p, f, s in CASES:
        rc, out = run_tree({"tests/core/test_x.py": (tap, status)})
        lines = out.strip().splitlines()
        last = lines[-1] if lines else ""
        want = f"{p} passed, {f} failed"
        skipped = any(line.startswith(f"{s} skipped") for line in lines[-2:-1]) if s else \
            not any(" skipped" in line for line in lines[-2:])
        check(last == want and skipped and (rc != 0) == (f > 0),
              f"{what}: \"{want}\"{f', {s} skipped' if s else ''}, status {'non-zero' if f else '0'}",
              f"last line {last!r}, status {rc}\n{out}")

    # several programs of every kind run-all knows, added up
    rc, out = run_tree({
        "build/san/unit/test_one": (GOOD, 0),
        "tests/sim/t/test_two.py": (["1..2", "ok 1 - a", "ok 2 - b # SKIP x"], 0),
        "tests/screen/test_three.py": (["1..3", "ok 1 - a"], 1),
        "tests/fuzz/check.sh": (["1..1", "ok 1 - fuzz"], 0),
    })
    lines = out.strip().splitlines()
    last = lines[-1] if lines else ""
    check(last == "6 passed, 1 failed" and lines[-2].startswith("1 skipped") and rc != 0, "four programs: their counts added up",
          f"last line {last!r}, status {rc}\n{out}")
    check("planned 3 tests, ran 1" in out and "screen/test_three.py" in out,
          "the short program is named, with what it planned and what it ran", out)
    # programs run side by side (TEST_JOBS); one that says "run-all: alone" runs by itself, after them
    tree_progs = {f"tests/core/test_p{i}.py": (["1..1", f"ok 1 - p{i}"], 0) for i in range(4)}
    tree_progs["tests/screen/test_alone.py"] = (["1..1", "ok 1 - alone"], 0)
    rc, out = run_tree(tree_progs, alone="tests/screen/test_alone.py")
    order = [line.split()[-1] for line in out.splitlines() if line.strip().startswith("[")]
    check(out.strip().splitlines()[-1] == "5 passed, 0 failed" and rc == 0 and order[-1:] == ["screen/test_alone.py"]
          and len(order) == 5, "five programs side by side, the one that asked to run alone last", out)
    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
