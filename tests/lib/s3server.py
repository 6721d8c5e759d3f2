"""An S3 server for the tests: @20minutes/s3rver (it checks SigV4 signatures,
so a signing bug or a wrong secret is caught), installed in tests/servers/s3
by scripts/install-deps, run on 127.0.0.1 on a free port with a bucket made
at start, its objects in a temporary folder removed at stop.

    s3 = S3Server()            # raises S3Unavailable when node or the package is missing
    s3.endpoint                # "127.0.0.1:PORT" (s3+http://BUCKET/... with this endpoint)
    s3.stop()
"""
import os
import select
import shutil
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER_DIR = os.path.join(ROOT, "tests", "servers", "s3")
PACKAGE = os.path.join(SERVER_DIR, "node_modules", "@20minutes", "s3rver", "package.json")

# s3rver's built-in account
KEY_ID = "S3RVER"
SECRET = "S3RVER"


class S3Unavailable(Exception):
    """node or the npm package is not installed (run scripts/install-deps)."""


class S3Server:
    def __init__(self, bucket="testbucket", timeout=30):
        if not shutil.which("node"):
            raise S3Unavailable("node is not installed (scripts/install-deps)")
        if not os.path.exists(PACKAGE):
            raise S3Unavailable("@20minutes/s3rver is not installed in %s (scripts/install-deps)" % SERVER_DIR)
        self.bucket = bucket
        self.key_id = KEY_ID
        self.secret = SECRET
        self.dir = tempfile.mkdtemp(prefix="s3rver-")
        self.log = open(os.path.join(self.dir, "server.log"), "w+")
        os.mkdir(os.path.join(self.dir, "data"))
        self.proc = subprocess.Popen(
            ["node", "--openssl-legacy-provider", os.path.join(SERVER_DIR, "server.js"), os.path.join(self.dir, "data"), "0", bucket],
            cwd=SERVER_DIR, stdout=subprocess.PIPE, stderr=self.log)
        self.port = None
        out = b""
        deadline = time.time() + timeout
        while time.time() < deadline and self.port is None:
            r, _, _ = select.select([self.proc.stdout], [], [], max(0, deadline - time.time()))
            if not r:
                break
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                break
            out += chunk
            for line in out.decode(errors="replace").splitlines(True):
                if line.startswith("s3rver listening on ") and line.endswith("\n"):
                    self.port = int(line.split()[-1])
        if self.port is None:
            err = self.stderr()
            self.stop()
            raise RuntimeError("s3rver did not start: %r %s" % (out, err))
        self.endpoint = "127.0.0.1:%d" % self.port

    def url(self, prefix=""):
        """The repository URL of a prefix in the bucket."""
        return "s3+http://%s/%s" % (self.bucket, prefix)

    def stderr(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        """Stops the server (SIGTERM, then waits) and removes its folder."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
