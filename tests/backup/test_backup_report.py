#!/usr/bin/env python3
"""Run reports by e-mail (`report` in a job, the `smtp` group) against a real
SMTP server started here (Debian's aiosmtpd, tests/lib/smtpserver.py) with a
self-signed certificate the configuration trusts through ca_file: over
STARTTLS with a login, over smtps://, and (security = "none") to a relay
without TLS, with no login; a login in clear is refused. The message's envelope, headers
and body (job, mode, start and end, each VM with state, size, duration and
error) read back with Python's email parser; "failure" mails a failed run
and not a good one, "never" mails nothing; a report that cannot be sent
(server gone, certificate not trusted, wrong password) is said on stderr
and in the run log and does not fail the backup; mistakes in the settings
are named with file:line. TAP."""
import email
import email.utils
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
from deltatest import T0, XENTUI, Env, _retry, done, ok, sanitizer_clean  # noqa: E402
from smtpserver import SmtpServer, make_cert  # noqa: E402

FROM = "backups@example.test"
TO = ["ops@example.test", "boss@example.test"]


def write_config(env, smtp, jobs):
    """The configuration: the sim, the repository, smtp (a dict or None) and jobs."""
    def val(v):
        if isinstance(v, bool):
            return str(v).lower()
        return json.dumps(v)
    text = ('servers = ( { name = "sim"; url = "%s"; user = "root"; password_env = "XENTUI_PW"; insecure = true; } );\n'
            'remotes = ( { name = "repo"; url = "file://%s"; } );\n' % (env.url, env.repo))
    if smtp:
        text += "smtp = {\n%s};\n" % "".join("  %s = %s;\n" % (k, val(v)) for k, v in smtp.items())
    text += "backup_jobs = (\n%s\n);\n" % ",\n".join(
        "  { %s }" % " ".join("%s = %s;" % (k, val(v)) for k, v in j.items()) for j in jobs)
    with open(env.config, "w") as f:
        f.write(text)


def last_run(env):
    with open(os.path.join(env.dir, "state", "xentui", "runs.jsonl")) as f:
        return json.loads(f.read().splitlines()[-1])


def body_fields(body):
    """'Label: value' lines of the body, in order, as (indent, label, value)."""
    out = []
    for line in body.splitlines():
        if ": " in line:
            k, v = line.split(": ", 1)
            out.append((len(k) - len(k.lstrip()), k.strip(), v))
    return out


def main():
    env = Env([], disk_mib=4)
    env.extra_env.update({"TZ": "UTC", "SMTP_PW": "s3cret"})
    cert, key = make_cert(env.dir)
    tls = SmtpServer(os.path.join(env.dir, "mail-tls"), "starttls", cert, key, "mailer", "s3cret")
    smtps = SmtpServer(os.path.join(env.dir, "mail-smtps"), "smtps", cert, key, "mailer", "s3cret")
    plain = SmtpServer(os.path.join(env.dir, "mail-plain"), "plain", cert, key, "mailer", "s3cret")
    smtp = {"url": "smtp://127.0.0.1:%d" % tls.port, "user": "mailer", "password_env": "SMTP_PW", "from": FROM,
            "to": TO, "ca_file": cert}
    jobs = [{"name": "nightly", "server": "sim", "mode": "delta", "remotes": ["repo"], "vms": [env.vm_name],
             "report": "always"},
            {"name": "quiet", "server": "sim", "mode": "delta", "remotes": ["repo"], "vms": [env.vm_name],
             "report": "failure"},
            {"name": "broken", "server": "sim", "mode": "full", "remotes": ["repo"], "vms": ["no-such-vm", env.vm_name],
             "report": "failure"},
            {"name": "silent", "server": "sim", "mode": "full", "remotes": ["repo"], "vms": ["no-such-vm"],
             "report": "never"}]
    try:
        # ---- STARTTLS with a login, report = "always" ---------------------------------
        write_config(env, smtp, jobs)
        env.change(1)
        r = env.run("nightly", T0)
        msgs = tls.messages()
        ok(r.returncode == 0 and sanitizer_clean(r) and len(msgs) == 1,
           "a run of a job with report = \"always\" exits 0 and one message arrives", r.stdout + r.stderr)
        m = msgs[0] if msgs else {"mail_from": None, "rcpt_tos": [], "tls": False, "login": None, "data": ""}
        ok(m["mail_from"] == FROM and sorted(m["rcpt_tos"]) == sorted(TO),
           "the envelope is from the configured sender to every recipient", m)
        ok(m["tls"] and m["login"] == "mailer", "it came over STARTTLS after logging in as the configured user",
           {k: m[k] for k in ("tls", "login")})
        msg = email.message_from_string(m["data"])
        date = email.utils.parsedate_to_datetime(msg["Date"]) if msg["Date"] else None
        ok(FROM in (msg["From"] or "") and all(t in (msg["To"] or "") for t in TO) and msg["Message-ID"]
           and date is not None and abs(date.timestamp() - time.time()) < 300,
           "headers: From, To, a Date of now, a Message-ID", dict(msg.items()))
        ok("nightly" in (msg["Subject"] or "") and "success" in msg["Subject"] and "1 of 1 VM ok" in msg["Subject"],
           "the subject names the job and its result", msg["Subject"])
        ok(msg.get_content_type() == "text/plain" and msg.get_content_charset() == "utf-8",
           "it is plain text in UTF-8", msg.get("Content-Type"))
        body = msg.get_payload(decode=True).decode("utf-8") if msg.get_payload() else ""
        f = body_fields(body)
        top = {k: v for i, k, v in f if i == 0}
        rec = last_run(env)
        ok(top.get("Job") == "nightly" and top.get("Mode") == "delta" and top.get("Result") == "success"
           and top.get("Start") == time.strftime("%Y-%m-%d %H:%M:%S +0000", time.gmtime(T0))
           and top.get("End", "").startswith(time.strftime("%Y-%m-%d", time.gmtime(T0))) and "Duration" in top,
           "the body gives the job, its mode, result, start, end and duration", body)
        summary_size = r.stdout.rsplit(", ", 1)[-1].split(" in ")[0] if r.stdout else "?"
        ok(top.get("Size") == summary_size, "the body's size is the run's, as its summary line says",
           (top.get("Size"), r.stdout))
        vm = [i for i, l in enumerate(body.splitlines()) if l.startswith("VM ")]
        vmf = {k: v for i, k, v in f if i == 2}
        ok(len(vm) == 1 and ("VM %s (%s)" % (env.vm_name, env.vm_uuid)) in body and vmf.get("State") == "ok"
           and vmf.get("Size") and vmf.get("Duration") and "Error" not in vmf,
           "the VM is listed with its uuid, state ok, size and duration", body)
        ok(rec.get("report") == "sent", "the run log says the report was sent", rec)

        # ---- report = "failure": a good run is not mailed; "never" mails nothing ------------
        r = env.run("quiet", T0 + 3600)
        ok(r.returncode == 0 and len(tls.messages()) == 1 and "report" not in last_run(env),
           "a good run of a job with report = \"failure\" sends nothing", r.stdout + r.stderr)
        r = env.run("silent", T0 + 3600)
        ok(r.returncode == 1 and len(tls.messages()) == 1, "a failed run of a job with report = \"never\" sends nothing",
           r.stdout + r.stderr)

        # ---- smtps://, a failed run with report = "failure" ----------------------------------
        write_config(env, dict(smtp, url="smtps://127.0.0.1:%d" % smtps.port), jobs)
        r = env.run("broken", T0 + 7200)
        msgs = smtps.messages()
        ok(r.returncode == 1 and sanitizer_clean(r) and len(msgs) == 1 and msgs[0]["tls"] and msgs[0]["login"] == "mailer",
           "a failed run is mailed over smtps:// (TLS from the start)", r.stdout + r.stderr)
        msg = email.message_from_string(msgs[0]["data"] if msgs else "")
        body = msg.get_payload(decode=True).decode("utf-8") if msg.get_payload() else ""
        ok("failure" in (msg["Subject"] or "") and "1 of 2 VMs ok" in msg["Subject"], "its subject says failure",
           msg["Subject"])
        blocks = body.split("\r\nVM ") if "\r\n" in body else body.split("\nVM ")
        bad = [b for b in blocks if b.startswith("no-such-vm")]
        good = [b for b in blocks if b.startswith(env.vm_name)]
        ok(len(bad) == 1 and "State: failed" in bad[0] and "Error: no VM named 'no-such-vm' on the pool" in bad[0]
           and len(good) == 1 and "State: ok" in good[0],
           "the body gives the failed VM with its error in a sentence, and the good one", body)

        # ---- security = "none": a relay without TLS, taken only without a login --------------
        plain_smtp = {"url": "smtp://127.0.0.1:%d" % plain.port, "security": "none", "from": FROM, "to": TO}
        write_config(env, plain_smtp, jobs)
        r = env.run("nightly", T0 + 8000)
        msgs = plain.messages()
        msg = email.message_from_string(msgs[0]["data"] if msgs else "")
        ok(r.returncode == 0 and sanitizer_clean(r) and len(msgs) == 1 and not msgs[0]["tls"]
           and msgs[0]["login"] is None and "nightly" in (msg["Subject"] or "") and last_run(env).get("report") == "sent",
           "security = \"none\": the report goes to a relay without TLS, with no login", r.stderr + json.dumps(msgs))
        write_config(env, dict(plain_smtp, url="smtp://127.0.0.1:%d" % tls.port), jobs)
        before = len(tls.messages())
        r = env.run("nightly", T0 + 8100)
        ok(r.returncode == 0 and len(tls.messages()) == before and last_run(env).get("report_error")
           and "could not be sent" in r.stderr,
           "a server that requires STARTTLS refuses it: said on stderr and in the run log, the backup good", r.stderr)
        write_config(env, dict(plain_smtp, security="starttls"), jobs)
        r = env.run("nightly", T0 + 8200)
        ok(r.returncode == 0 and len(plain.messages()) == 1 and last_run(env).get("report_error"),
           "without security = \"none\" nothing goes to a server that offers no STARTTLS", r.stderr)

        # ---- a report that cannot be sent does not fail the backup ------------------------
        for why, conf, word in [
                ("certificate not trusted", dict(smtp, ca_file=None), "certificate"),
                ("wrong password", dict(smtp, password_env="NO_SUCH_PW_VAR"), "password"),
                ("bad login", dict(smtp, user="nobody"), "could not be sent")]:
            conf = {k: v for k, v in conf.items() if v is not None}
            write_config(env, conf, jobs)
            before = len(tls.messages())
            r = env.run("nightly", T0 + 10000 + len(why))
            rec = last_run(env)
            ok(r.returncode == 0 and word in r.stderr and "report" in r.stderr and len(tls.messages()) == before
               and word in rec.get("report_error", ""),
               "%s: the backup succeeds, the report's failure is said on stderr and in the run log" % why,
               r.stderr + json.dumps(rec))
        port = tls.port
        tls.close()
        write_config(env, smtp, jobs)
        r = env.run("nightly", T0 + 20000)
        ok(r.returncode == 0 and "could not be sent" in r.stderr and str(port) in r.stderr
           and last_run(env).get("report_error"), "server gone: the backup succeeds and says so", r.stderr)

        # ---- configuration mistakes --------------------------------------------------------
        cases = [("smtp url", dict(smtp, url="http://127.0.0.1:25"), jobs, "url", "not an smtp:// or smtps:// URL"),
                 ("smtp key", dict(smtp, port=25), jobs, "port", "unknown smtp setting 'port'"),
                 ("report value", smtp, [dict(jobs[0], report="sometimes")], "report", "report must be"),
                 ("report without smtp", None, [jobs[0]], "report", "needs an smtp"),
                 ("bad address", dict(smtp, to=["nobody"]), jobs, "to", "'nobody' is not an e-mail address"),
                 ("a login in clear", dict(smtp, security="none"), jobs, "security", "takes no user or password"),
                 ("none on smtps", {"url": "smtps://127.0.0.1:465", "security": "none", "from": FROM, "to": TO}, jobs,
                  "security", "does not go with"),
                 ("security value", dict(smtp, security="maybe"), jobs, "security", "security must be")]
        for name, s, js, key_, word in cases:
            write_config(env, s, js)
            lines = open(env.config).read().splitlines()
            line = next((i + 1 for i, l in enumerate(lines) if l.strip().startswith("%s = " % key_)),
                        next(i + 1 for i, l in enumerate(lines) if (" %s = " % key_) in l))
            r = _retry(lambda: subprocess.run([XENTUI, "backup", "list", "-c", env.config], capture_output=True,
                                              text=True, env=env.env(), stdin=subprocess.DEVNULL, timeout=60))
            ok(r.returncode == 2 and ("%s:%d:" % (env.config, line)) in r.stderr and word in r.stderr,
               "config mistake (%s) is refused naming file:line" % name, r.stderr)
    finally:
        tls.close()
        smtps.close()
        plain.close()
        env.close()
    return done()


if __name__ == "__main__":
    sys.exit(main())
