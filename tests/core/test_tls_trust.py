"""Trust that cannot be bypassed (issue 15) and messages that do not mislead
(issue 19), with `xentui list` against the simulator:

- a certificate a trusted CA signed for the very host is accepted when
  nothing is known of the host, but a known_hosts entry or a --fingerprint
  pin of another certificate wins over the CA: refused. The test makes its
  own CA with the openssl command, serves the simulator through a TLS
  front holding a certificate that CA signed, and trusts the CA with
  --cacert;
- a --fingerprint that does not match says so, naming both fingerprints,
  and says nothing of known_hosts;
- https:// to a plain HTTP server and http:// to a TLS one say which
  scheme the server speaks, within a few seconds. TAP."""
import hashlib
import os
import select
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "screen", "lib"))
from tuitest import XENTUI, Sim, Tap, no_sanitizer_report  # noqa: E402


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certs(d):
    """A CA, a server certificate it signed for 127.0.0.1, and a self-signed
    one for the same address (the "other" certificate a pin names)."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=xentui test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=127.0.0.1", cwd=d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf", cwd=d)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other.key", "-out", "other.pem",
            "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", cwd=d)


def fingerprint(pem_path):
    with open(pem_path) as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()


class TlsFront:
    """TLS on 127.0.0.1 with the given certificate, passing the bytes on to
    a plain HTTP server: the simulator as if it served that certificate."""

    def __init__(self, cert, key, port):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.target = port
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(32)
        self.url = "https://127.0.0.1:%d" % self.ls.getsockname()[1]
        self.stopping = False
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.stopping:
            try:
                conn, _ = self.ls.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        up = tls = None
        try:
            conn.settimeout(10)
            tls = self.ctx.wrap_socket(conn, server_side=True)
            tls.settimeout(None)
            up = socket.create_connection(("127.0.0.1", self.target))
            while True:
                if not tls.pending():
                    r, _, _ = select.select([tls, up], [], [], 60)
                    if not r:
                        return
                else:
                    r = [tls]
                if tls in r:
                    data = tls.recv(65536)
                    if not data:
                        return
                    up.sendall(data)
                if up in r:
                    data = up.recv(65536)
                    if not data:
                        return
                    tls.sendall(data)
        except (OSError, ssl.SSLError):
            return  # a client refusing the certificate ends here
        finally:
            for s in (tls, up, conn):
                try:
                    if s:
                        s.close()
                except OSError:
                    pass

    def stop(self):
        self.stopping = True
        self.ls.close()


class QuickPlain:
    """A plain HTTP server that answers what is not HTTP (a TLS hello) with a
    400 at once, and a request with a 404."""

    def __init__(self):
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(8)
        self.url = "http://127.0.0.1:%d" % self.ls.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                conn, _ = self.ls.accept()
            except OSError:
                return
            try:
                conn.settimeout(5)
                code = b"404 Not Found" if conn.recv(4096).startswith(b"GET ") else b"400 Bad Request"
                conn.sendall(b"HTTP/1.1 " + code + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            except OSError:
                pass
            conn.close()

    def stop(self):
        self.ls.close()


def xentui(home, *args, timeout=60):
    env = dict(os.environ, XENTUI_PW="xapi-sim", XDG_CONFIG_HOME=home)
    env.pop("XENTUI_CA_FILE", None)
    t0 = time.time()
    r = subprocess.run([XENTUI, *args, "--password-env", "XENTUI_PW"], capture_output=True, text=True,
                       timeout=timeout, env=env, stdin=subprocess.DEVNULL)
    return r, time.time() - t0


def host_names(listing):
    """The first column of `list hosts` (its CPU and memory change from run to run)."""
    return [line.split()[0] for line in listing.splitlines()[1:] if line.strip()]


def known_hosts(home, hostport, fp):
    os.makedirs(os.path.join(home, "xentui"), exist_ok=True)
    path = os.path.join(home, "xentui", "known_hosts")
    with open(path, "w") as f:
        f.write('hosts = ( { host = "%s"; sha256 = "%s"; } );\n' % (hostport, fp))
    os.chmod(path, 0o600)
    return path


def main():
    tap = Tap()
    if not shutil.which("openssl"):
        print("1..0 # SKIP the openssl command is not installed")
        return
    tmp = tempfile.mkdtemp(prefix="xentui-tls-")
    plain = Sim("tls-plain", "--plain")
    tls_sim = Sim("tls-tls")
    front = None
    try:
        make_certs(tmp)
        ca = os.path.join(tmp, "ca.pem")
        served = fingerprint(os.path.join(tmp, "server.pem"))
        other = fingerprint(os.path.join(tmp, "other.pem"))
        port = int(plain.url.rsplit(":", 1)[1].rstrip("/"))
        front = TlsFront(os.path.join(tmp, "server.pem"), os.path.join(tmp, "server.key"), port)
        hostport = front.url.split("://", 1)[1]
        names = None

        # ---- nothing known of the host: the CA's word is enough
        home = os.path.join(tmp, "fresh")
        r, _ = xentui(home, "list", "hosts", "--cacert", ca, front.url)
        tap.check(r.returncode == 0 and "xcp-ng" in r.stdout,
                  "a certificate the trusted CA signed for the host is accepted when nothing is known of it",
                  r.stdout + r.stderr)
        names = host_names(r.stdout)
        r, _ = xentui(home, "list", "hosts", front.url)
        tap.check(r.returncode == 1 and served in r.stderr and "not known" in r.stderr,
                  "without --cacert the same certificate is unknown (its fingerprint shown)", r.stderr)

        # ---- a known_hosts entry of another certificate wins over the CA
        home = os.path.join(tmp, "pinned-kh")
        path = known_hosts(home, hostport, other)
        r, _ = xentui(home, "list", "hosts", "--cacert", ca, front.url)
        tap.check(r.returncode == 1 and r.stdout == "", "known_hosts naming another certificate: refused though "
                  "the CA signed this one", r.stdout + r.stderr)
        tap.check("CHANGED" in r.stderr and other in r.stderr and served in r.stderr and path in r.stderr,
                  "it says the certificate changed, with both fingerprints and the known_hosts file", r.stderr)
        with open(path) as f:
            tap.check(other in f.read(), "known_hosts still holds the pinned fingerprint")

        # ---- the entry of this very certificate: accepted
        home = os.path.join(tmp, "known-same")
        known_hosts(home, hostport, served)
        r, _ = xentui(home, "list", "hosts", "--cacert", ca, front.url)
        tap.check(r.returncode == 0 and names and host_names(r.stdout) == names,
                  "known_hosts naming the served certificate: accepted", r.stdout + r.stderr)

        # ---- a --fingerprint pin wins over the CA, and says what it is
        home = os.path.join(tmp, "pin")
        r, _ = xentui(home, "list", "hosts", "--cacert", ca, "--fingerprint", other, front.url)
        tap.check(r.returncode == 1 and r.stdout == "", "--fingerprint of another certificate: refused though "
                  "the CA signed this one", r.stdout + r.stderr)
        tap.check("does not match the pinned fingerprint" in r.stderr and other in r.stderr and served in r.stderr,
                  "it says the pinned fingerprint does not match, naming both", r.stderr)
        tap.check("known_hosts" not in r.stderr and "remove" not in r.stderr,
                  "and says nothing of removing a known_hosts entry that is not there", r.stderr)
        r, _ = xentui(home, "list", "hosts", "--fingerprint", other, tls_sim.url)
        tap.check(r.returncode == 1 and "does not match the pinned fingerprint" in r.stderr
                  and tls_sim.fingerprint in r.stderr and other in r.stderr and "known_hosts" not in r.stderr,
                  "the same against the simulator's self-signed certificate", r.stderr)

        # ---- the wrong scheme, said quickly
        home = os.path.join(tmp, "scheme")
        wrong = plain.url.replace("http://", "https://")
        r, took = xentui(home, "list", "hosts", "--insecure", wrong)
        tap.check(r.returncode == 1 and took < 6, "https:// to a plain HTTP server fails within 6 s (%.1f s)" % took,
                  r.stderr)
        tap.check("speaks plain HTTP" in r.stderr and ("use " + plain.url) in r.stderr
                  and "Timeout" not in r.stderr, "saying the server speaks plain HTTP, use " + plain.url, r.stderr)
        # a plain server that answers the TLS hello with a 400 at once, as most do
        quick = QuickPlain()
        r, took = xentui(home, "list", "hosts", "--insecure", quick.url.replace("http://", "https://"))
        quick.stop()
        tap.check(r.returncode == 1 and "speaks plain HTTP" in r.stderr and ("use " + quick.url) in r.stderr,
                  "the same when the plain server answers the TLS hello with a 400 (%.1f s)" % took, r.stderr)
        wrong = tls_sim.url.replace("https://", "http://")
        r, took = xentui(home, "list", "hosts", wrong)
        tap.check(r.returncode == 1 and took < 6, "http:// to a TLS server fails within 6 s (%.1f s)" % took,
                  r.stderr)
        tap.check("speaks HTTPS" in r.stderr and ("use " + tls_sim.url) in r.stderr
                  and "Failure when receiving" not in r.stderr,
                  "saying the server speaks HTTPS, use " + tls_sim.url, r.stderr)
    finally:
        if front:
            front.stop()
        errs = [plain.stop(), tls_sim.stop()]
        shutil.rmtree(tmp, ignore_errors=True)
    for err in errs:
        tap.check(no_sanitizer_report(err), "no sanitizer report from the simulator", err[-3000:])
    tap.done()


if __name__ == "__main__":
    main()
