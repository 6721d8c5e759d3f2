"""Repositories on S3: build/san/unit/test_repo (every repo.h call, a 20 MiB
multipart file, a wrong secret...) against a real S3 server that checks
SigV4 signatures (@20minutes/s3rver on 127.0.0.1). TAP lines pass through."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from simtest import ROOT, ok, plan  # noqa: E402
from s3server import S3Server, S3Unavailable  # noqa: E402

TEST = os.environ.get("REPO_TEST", os.path.join(ROOT, "build", "san", "unit", "test_repo"))


def main():
    if not ok(os.access(TEST, os.X_OK), "%s is built (make build/san/unit/test_repo)" % TEST):
        return plan()
    try:
        s3 = S3Server()
    except S3Unavailable as e:
        ok(False, "the S3 test server is available", e)
        return plan()
    try:
        env = dict(os.environ)
        env.update({
            "CMOCKA_MESSAGE_OUTPUT": "TAP",
            # the file:// tests already ran in unit/test_repo: only S3 here
            "REPO_TEST_ONLY_URLS": "1",
            "REPO_TEST_URLS": "%s %s" % (s3.url("xentui-backups"), s3.url("")),
            "REPO_TEST_ENDPOINT": s3.endpoint,
            "REPO_TEST_USER": s3.key_id,
            "REPO_TEST_PASSWORD_ENV": "REPO_TEST_PASSWORD",
            "REPO_TEST_PASSWORD": s3.secret,
        })
        try:
            p = subprocess.run([TEST], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=100)
            out, rc = p.stdout.decode(errors="replace"), p.returncode
        except subprocess.TimeoutExpired as e:
            out, rc = (e.stdout or b"").decode(errors="replace"), "timeout"
        failed = 0
        for line in out.splitlines():
            # cmocka numbers each group from 1: renumber into this script's count
            if line.startswith("ok ") or line.startswith("not ok "):
                good = line.startswith("ok ")
                name = line.split(" - ", 1)[1] if " - " in line else line
                failed += 0 if good else 1
                ok(good, name)
            elif line.startswith("1.."):
                continue
            else:
                print("# " + line)
        ok(rc == 0 or failed, "test_repo exited with status %s" % rc)
        log = s3.stderr()
        ok("internal error" not in log, "s3rver had no internal error", log[-2000:])
    finally:
        s3.stop()
    return plan()


if __name__ == "__main__":
    sys.exit(main())
