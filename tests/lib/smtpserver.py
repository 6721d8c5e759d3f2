"""A real SMTP server for tests: Debian's aiosmtpd (python3-aiosmtpd), run by
/usr/bin/python3 as its own process on 127.0.0.1, writing each message it
takes to a folder as JSON (envelope, TLS or not, the login, the data).
SmtpServer(folder, mode="starttls"|"smtps"|"plain", cert, key, user, password)."""
import glob
import json
import os
import subprocess

HELPER = r'''
import asyncio, json, os, ssl, sys, socket, itertools
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

folder, mode, cert, key, user, password = sys.argv[1:7]
count = itertools.count(1)

class Handler:
    async def handle_DATA(self, server, session, envelope):
        login = None
        ad = getattr(session, "auth_data", None)
        if isinstance(ad, LoginPassword):
            login = ad.login.decode()
        rec = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
               "tls": session.ssl is not None or server.transport.get_extra_info("sslcontext") is not None, "login": login,
               "data": envelope.original_content.decode("utf-8", "replace")}
        n = next(count)
        tmp = os.path.join(folder, ".%d.tmp" % n)
        with open(tmp, "w") as f:
            json.dump(rec, f)
        os.rename(tmp, os.path.join(folder, "%04d.json" % n))
        return "250 Message accepted for delivery"

def auth(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.login.decode() == user and data.password.decode() == password
    return AuthResult(success=ok, handled=False, auth_data=data)  # not handled: aiosmtpd answers 535

ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
# on smtps the whole connection is TLS: AUTH may be offered from the start
kw = dict(hostname="127.0.0.1", port=port, authenticator=auth, auth_require_tls=mode != "smtps")
if mode == "smtps":
    c = Controller(Handler(), ssl_context=ctx, **kw)
elif mode == "plain":  # a relay with no TLS at all (and so no AUTH: auth_require_tls)
    c = Controller(Handler(), **kw)
else:
    c = Controller(Handler(), tls_context=ctx, require_starttls=True, **kw)
c.start()
print("READY %d" % port, flush=True)
sys.stdin.read()
c.stop()
'''


def make_cert(folder):
    """A self-signed certificate for 127.0.0.1; (cert, key) paths."""
    cert, key = os.path.join(folder, "smtp.crt"), os.path.join(folder, "smtp.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return cert, key


class SmtpServer:
    def __init__(self, folder, mode, cert, key, user, password):
        self.folder = folder
        os.makedirs(folder, exist_ok=True)
        script = os.path.join(folder, "..", "smtp_helper.py")
        with open(script, "w") as f:
            f.write(HELPER)
        self.log = open(os.path.join(folder, "..", "smtp-%s.log" % mode), "w")
        self.p = subprocess.Popen(["/usr/bin/python3", script, folder, mode, cert, key, user, password],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.p.stdout.readline()
        if not line.startswith("READY "):
            self.close()
            raise RuntimeError("the SMTP server did not start")
        self.port = int(line.split()[1])

    def messages(self):
        out = []
        for p in sorted(glob.glob(os.path.join(self.folder, "*.json"))):
            with open(p) as f:
                out.append(json.load(f))
        return out

    def close(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.close()
                self.p.wait(10)
            except (subprocess.TimeoutExpired, OSError):
                self.p.kill()
                self.p.wait()
        self.log.close()
