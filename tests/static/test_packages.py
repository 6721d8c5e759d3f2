"""The packages and the man page (make rpm, make deb, make man), read back as
their users' tools read them: the RPM's file list and requirements (nothing
XCP-ng's dom0 lacks: rpmlib features its rpm 4.11 has, no library), installed
with `rpm --root` into an empty tree and run there in a chroot; the .deb's
dependencies (dpkg-shlibdeps) and lintian; the man page covering every option
`xentui --help` lists. A part whose package is absent is skipped with the
reason. TAP."""
import glob
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "screen", "lib"))
from tuitest import Tap  # noqa: E402

# what rpm 4.11 (CentOS 7, XCP-ng 8.2/8.3's dom0) provides of rpmlib's features
DOM0_RPMLIB = {"CompressedFileNames", "PayloadFilesHavePrefix", "FileDigests", "PayloadIsXz", "PayloadIsLzma",
               "PartialHardlinkSets", "VersionedDependencies", "PayloadIsBzip2"}


def version():
    with open(os.path.join(ROOT, "src/cli/main.c")) as f:
        return re.search(r'#define XENTUI_VERSION "([^"]+)"', f.read()).group(1)


def sh(*args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=300, **kw)


def skip(tap, why):
    tap.n += 1
    print(f"ok {tap.n} - # SKIP {why}", flush=True)


def man_page(tap):
    src = os.path.join(ROOT, "doc/xentui.1")
    with open(src) as f:
        man = f.read().replace("\\-", "-")
    xentui = next((p for p in (os.environ.get("XENTUI_BIN"), os.path.join(ROOT, "build/xentui"),
                               os.path.join(ROOT, "build/xentui-static")) if p and os.path.exists(p)), None)
    if not xentui:
        skip(tap, "no xentui binary to ask for --help")
        return
    r = sh(xentui, "--help")
    opts = sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", r.stdout + r.stderr)))
    missing = [o for o in opts if o not in man]
    tap.check(opts and not missing, f"the man page covers every option --help lists ({len(opts)})", missing)
    for sub in ("list", "backup run", "backup due", "backup restore", "metrics serve", "vm export"):
        if not tap.check(sub in man, f"the man page has the subcommand '{sub}'"):
            break
    built = os.path.join(ROOT, "build/man/xentui.1.gz")
    if os.path.exists(built):
        with gzip.open(built, "rt") as f:
            tap.check(f.read() == open(src).read(), "make man's xentui.1.gz is doc/xentui.1")


def rpm_checks(tap):
    rpm = os.path.join(ROOT, f"build/xentui-{version()}-1.x86_64.rpm")
    if not os.path.exists(rpm):
        skip(tap, f"{os.path.basename(rpm)} is absent (make rpm)")
        return
    files = sh("rpm", "-qpl", rpm).stdout.split()
    want = ["/usr/bin/xentui", "/usr/share/man/man1/xentui.1.gz", "/usr/share/doc/xentui/xentui.conf.example",
            "/usr/share/xentui/themes/classic.conf"]
    if os.path.exists(os.path.join(ROOT, "contrib/xentui-tty1.service")):
        want.append("/usr/lib/systemd/system/xentui-tty1.service")
    tap.check(all(w in files for w in want), "rpm -qpl: the binary, the man page, the example, themes"
              + (", the tty1 unit" if len(want) > 4 else ""), "\n".join(files))
    reqs = sh("rpm", "-qpR", rpm).stdout.splitlines()
    feats = [re.match(r"rpmlib\(([A-Za-z0-9]+)\)", r) for r in reqs]
    tap.check(reqs and all(feats) and {m.group(1) for m in feats} <= DOM0_RPMLIB,
              "rpm -qpR: only rpmlib features dom0's rpm 4.11 has, no library, no other package", "\n".join(reqs))
    q = sh("rpm", "-qp", "--qf", "%{ARCH} %{PAYLOADCOMPRESSOR}", rpm).stdout.split()
    tap.check(q == ["x86_64", "gzip"], "x86_64, gzip payload (rpm 4.11 reads no zstd)", q)

    tree = tempfile.mkdtemp(prefix="xentui-rpmroot-")
    try:
        r = sh("rpm", "--root", tree, "--dbpath", "/var/lib/rpm", "-i", rpm)
        tap.check(r.returncode == 0 and os.path.exists(os.path.join(tree, "usr/bin/xentui")),
                  "rpm --root installs it into an empty tree", r.stderr)
        if os.geteuid() != 0:
            skip(tap, "chroot needs root")
        else:
            r = sh("env", "-i", "TERM=linux", shutil.which("chroot") or "/usr/sbin/chroot", tree,
                   "/usr/bin/xentui", "--version")
            tap.check(r.returncode == 0 and r.stdout.strip() == f"xentui {version()}",
                      "the installed xentui runs in a chroot of that tree", f"{r.returncode} {r.stdout} {r.stderr}")
        r = sh("rpm", "--root", tree, "--dbpath", "/var/lib/rpm", "-V", "xentui")
        tap.check(r.returncode == 0, "rpm -V: the installed files are as packaged", r.stdout + r.stderr)
    finally:
        shutil.rmtree(tree, ignore_errors=True)


def deb_checks(tap):
    arch = sh("dpkg", "--print-architecture").stdout.strip()
    deb = os.path.join(ROOT, f"build/xentui_{version()}_{arch}.deb")
    if not os.path.exists(deb):
        skip(tap, f"{os.path.basename(deb)} is absent (make deb)")
        return
    depends = sh("dpkg-deb", "-f", deb, "Depends").stdout.strip()
    names = {d.split()[0] for d in depends.split(", ") if d}
    # what the binary links, as dpkg-shlibdeps names it: the same set, found again here
    tree = tempfile.mkdtemp(prefix="xentui-deb-")
    try:
        sh("dpkg-deb", "-x", deb, tree)
        binary = os.path.join(tree, "usr/bin/xentui")
        # the libraries it names itself (NEEDED), where the loader finds them
        needed = set(re.findall(r"\(NEEDED\).*\[(.+)\]", sh("readelf", "-d", binary).stdout))
        found = dict(re.findall(r"^\s*(\S+) => (/\S+)", sh("ldd", binary).stdout, re.M))
        libs = {found[n] for n in needed if n in found}
        owners = set()
        for lib in libs:
            r = sh("dpkg", "-S", os.path.realpath(lib))
            if r.returncode != 0:
                r = sh("dpkg", "-S", lib)
            if r.returncode == 0:
                owners.add(r.stdout.split(":")[0])
        tap.check(names and len(libs) == len(needed) and owners and owners <= names | {"libc6"},
                  "Depends names the package of every library the binary links", f"{depends}\nneeded: {needed}\nfrom: {owners}")
        tap.check(os.path.exists(os.path.join(tree, "usr/share/man/man1/xentui.1.gz")),
                  "the .deb holds the man page")
        # loaded with dlopen only for an smb:// remote (src/backup/smbclient_dl.c): not linked, so not in Depends
        rec = sh("dpkg-deb", "-f", deb, "Recommends").stdout.strip()
        tap.check(re.search(r"\blibsmbclient\b", rec) and "libsmbclient" not in depends,
                  "Recommends names libsmbclient, which only smb:// remotes load", f"Recommends: {rec}\nDepends: {depends}")
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    if shutil.which("lintian"):
        r = sh("lintian", "--fail-on", "error", deb)
        tap.check(r.returncode == 0 and not re.search(r"^E: ", r.stdout, re.M), "lintian reports no error",
                  r.stdout + r.stderr)
    else:
        skip(tap, "lintian is not installed (scripts/install-deps installs it)")


def main():
    tap = Tap()
    man_page(tap)
    rpm_checks(tap)
    deb_checks(tap)
    tap.done()


if __name__ == "__main__":
    main()
