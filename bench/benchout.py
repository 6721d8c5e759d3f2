"""What the benchmark scripts print alike: lines kept for the report file,
aligned tables, and a goal's verdict."""

report = []  # every line printed, for build/bench/*.txt


def out(line=""):
    print(line, flush=True)
    report.append(line)


def table(header, rows):
    """Prints rows (lists of strings) in aligned columns under header."""
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    fmt = "  ".join("%%-%ds" % w for w in widths)
    out(fmt % tuple(header))
    out(fmt % tuple("-" * w for w in widths))
    for r in rows:
        out(fmt % tuple(r))


def verdict(ok):
    return "met" if ok else "not met"
