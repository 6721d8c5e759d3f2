#!/usr/bin/env python3
"""xapi-sim seen through a client we did not write: Python's standard
xmlrpc.client, over HTTPS (unverified context, the default TLS sim) and
over --plain HTTP. Checks records against the datamodel's field list
(tests/sim/api/api-fields.tsv) with xapi's wire types, event.from, tasks,
and the errors of WIRE.md sections 4-8. TAP output."""
import json
import os
import re
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from simtest import CTX, ROOT, ok, plan, start, stop_all  # noqa: E402

API = os.path.join(ROOT, "tests", "sim", "api")
USER, PWD = "root", "xapi-sim"

REF_RE = re.compile(r"^OpaqueRef:(NULL|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
INT_RE = re.compile(r"^-?[0-9]+$")
DATE_RE = re.compile(r"^[0-9]{8}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})?$")
TOKEN_RE = re.compile(r"^[0-9]{20},[0-9]{20}$")


def proxy(url):
    return xmlrpc.client.ServerProxy(url, context=CTX if url.startswith("https") else None)


def call(px, method, *args):
    """('ok', value) or ('err', [code, params...]); raw replies without a
    Status envelope come back as ('raw', value)."""
    f = px
    for part in method.split("."):
        f = getattr(f, part)
    r = f(*args)
    if not isinstance(r, dict) or "Status" not in r:
        return "raw", r
    if r["Status"] == "Success":
        return "ok", r["Value"]
    return "err", r["ErrorDescription"]


def value(px, method, *args):
    st, v = call(px, method, *args)
    if st != "ok":
        raise RuntimeError("%s: %s" % (method, v))
    return v


# ---- the datamodel, read from the TSV files -----------------------------------

def tsv(name):
    with open(os.path.join(API, name), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            yield line.rstrip("\n").split("\t")


FIELDS = {}  # class -> [(field, type)] in datamodel order
for row in tsv("api-fields.tsv"):
    FIELDS.setdefault(row[0], []).append((row[1], row[2]))
ENUMS = {row[0]: set(v.strip() for v in row[1].split(",")) for row in tsv("api-enums.tsv")}
GET_ALL_RECORDS = {}  # class -> flags of its get_all_records
for row in tsv("api-surface.tsv"):
    if row[1] == "get_all_records":
        GET_ALL_RECORDS[row[0]] = row[5]


def split_map(t):
    """'(a -> b) map' -> ('a', 'b'), with nested parentheses."""
    inner = t[1:t.rindex(")")]
    depth = 0
    for i in range(len(inner) - 1):
        if inner[i] == "(":
            depth += 1
        elif inner[i] == ")":
            depth -= 1
        elif depth == 0 and inner[i:i + 4] == " -> ":
            return inner[:i].strip(), inner[i + 4:].strip()
    raise ValueError(t)


def check_value(t, v, where, problems):
    """Appends to problems what is wrong with v as a value of datamodel type t,
    as xmlrpc.client decodes xapi's XML (WIRE.md 2.1)."""
    t = t.strip()
    if t.endswith(" map") and t.startswith("("):
        kt, vt = split_map(t)
        if not isinstance(v, dict):
            problems.append("%s: %s is %s, not a struct" % (where, t, type(v).__name__))
            return
        for k, x in v.items():
            # struct member names are strings: int keys are decimal, refs OpaqueRef:
            check_value(kt, k, where + "{key}", problems)
            check_value(vt, x, "%s[%s]" % (where, k), problems)
    elif t.endswith(" set"):
        if not isinstance(v, list):
            problems.append("%s: %s is %s, not an array" % (where, t, type(v).__name__))
            return
        for i, x in enumerate(v):
            check_value(t[:-4], x, "%s[%d]" % (where, i), problems)
    elif t.endswith(" option"):
        check_value(t[:-7], v, where, problems)
    elif t == "int":
        if not (isinstance(v, str) and INT_RE.match(v)):
            problems.append("%s: int sent as %r (%s), not bare digits" % (where, v, type(v).__name__))
    elif t == "float":
        if not isinstance(v, float):
            problems.append("%s: float sent as %r (%s), not <double>" % (where, v, type(v).__name__))
    elif t == "bool":
        if not isinstance(v, bool):
            problems.append("%s: bool sent as %r (%s), not <boolean>" % (where, v, type(v).__name__))
    elif t == "datetime":
        if not (isinstance(v, xmlrpc.client.DateTime) and DATE_RE.match(v.value)):
            problems.append("%s: datetime sent as %r" % (where, v))
    elif t.endswith(" ref"):
        if not (isinstance(v, str) and REF_RE.match(v)):
            problems.append("%s: ref %r" % (where, v))
    elif t.startswith("enum "):
        name = t[5:]
        if not isinstance(v, str):
            problems.append("%s: enum sent as %s" % (where, type(v).__name__))
        elif name in ENUMS and v not in ENUMS[name]:
            problems.append("%s: %r is not a value of enum %s" % (where, v, name))
    elif t in ("string", "uuid"):
        if not isinstance(v, str):
            problems.append("%s: string sent as %r (%s)" % (where, v, type(v).__name__))
    else:
        problems.append("%s: unknown datamodel type %s" % (where, t))


def check_record(cls, ref, rec, problems):
    names = [f for f, _ in FIELDS[cls]]
    if list(rec.keys()) != names:
        extra = sorted(set(rec) - set(names))
        missing = [n for n in names if n not in rec]
        problems.append("%s %s: fields differ from api-fields.tsv (missing %s, extra %s%s)"
                        % (cls, ref, missing, extra, ", order differs" if not extra and not missing else ""))
        return
    for f, t in FIELDS[cls]:
        check_value(t, rec[f], "%s.%s" % (cls, f), problems)


# ---- the checks ---------------------------------------------------------------

def read_everything(px, s, label, per_class):
    """get_all_records of every class the server lists; returns {class: records}."""
    st, methods = call(px, "system.listMethods")
    ok(st == "raw" and isinstance(methods, list) and all(isinstance(m, str) for m in methods),
       "%s: system.listMethods answers a bare array (no Status envelope, no session)" % label, st)
    listed = sorted(m[:-len(".get_all_records")] for m in methods if m.endswith(".get_all_records"))
    ok(listed == sorted(GET_ALL_RECORDS), "%s: system.listMethods offers get_all_records for exactly the "
       "datamodel's classes" % label, "differ: %s" % sorted(set(listed) ^ set(GET_ALL_RECORDS)))
    everything = {}
    all_problems = []
    for cls in listed:
        st, v = call(px, cls + ".get_all_records", s)
        removed = "removed:" in GET_ALL_RECORDS.get(cls, "")
        problems = []
        if st == "err":
            if not (removed and v == ["MESSAGE_REMOVED"]):
                problems.append("%s.get_all_records failed: %s" % (cls, v))
        elif removed:
            problems.append("%s.get_all_records is removed in the datamodel but answered" % cls)
        elif not isinstance(v, dict):
            problems.append("%s.get_all_records gave %s" % (cls, type(v).__name__))
        else:
            everything[cls] = v
            for ref, rec in v.items():
                if not REF_RE.match(ref) or ref == "OpaqueRef:NULL":
                    problems.append("%s: record key %r is not a ref" % (cls, ref))
                check_record(cls, ref, rec, problems)
        if per_class:
            what = "MESSAGE_REMOVED" if removed else "%d records with api-fields.tsv's fields and wire types" % len(
                everything.get(cls, {}))
            ok(not problems, "%s: %s.get_all_records: %s" % (label, cls, what), "\n".join(problems[:15]))
        all_problems += problems
    if not per_class:
        ok(not all_problems, "%s: get_all_records of %d classes: every record has exactly api-fields.tsv's "
           "fields with xapi's wire types" % (label, len(listed)), "\n".join(all_problems[:15]))
    ok(len(everything.get("VM", {})) > 0 and len(everything.get("host", {})) > 0,
       "%s: the pool has hosts and VMs" % label)
    return everything


def guests(everything, state):
    return sorted(r for r, v in everything["VM"].items()
                  if v["power_state"] == state and not v["is_a_template"] and not v["is_control_domain"]
                  and not v["is_a_snapshot"])


def check_basics(url, label, per_class):
    px = proxy(url)
    s = value(px, "session.login_with_password", USER, PWD, "2.21", "test_python_client")
    ok(REF_RE.match(s) is not None, "%s: session.login_with_password gives a session ref" % label, s)
    everything = read_everything(px, s, label, per_class)
    halted = guests(everything, "Halted")
    st, v = call(px, "VM.start", s, halted[0], False, False)
    ok(st == "ok" and v == "", "%s: VM.start returns void (an empty string)" % label, v)
    ok(value(px, "VM.get_power_state", s, halted[0]) == "Running", "%s: the VM reads back Running" % label)
    return px, s, everything


def check_events(px, s, everything):
    ev = lambda *a: call(px, "event.from", s, *a)
    st, b = ev(["*"], "", 5.0)
    ok(st == "ok" and set(b) == {"events", "valid_ref_counts", "token"},
       "event.from: a batch is {events, valid_ref_counts, token}", b if st != "ok" else sorted(b))
    if st != "ok":
        return
    evs = b["events"]
    ok(evs and all(e.get("operation") == "add" for e in evs), 'event.from with token "": every event is an add',
       set(e.get("operation") for e in evs))
    seen = {(e["class"], e["ref"]) for e in evs}
    missing = [(c, r) for c, recs in everything.items() for r in recs if (c.lower(), r) not in seen]
    ok(not missing, 'event.from with token "": every object read with get_all_records comes as an add', missing[:10])
    shape = [e for e in evs if list(e) != ["id", "timestamp", "class", "operation", "ref", "snapshot"]
             or not isinstance(e["id"], str) or e["timestamp"] != "0.0" or e["class"] != e["class"].lower()]
    ok(not shape, "event.from: events are {id (string), timestamp \"0.0\", class (lower case), operation, ref, "
       "snapshot}", shape[:3])
    lc = {c.lower(): c for c in FIELDS}
    problems = []
    for e in evs:
        if e["class"] in lc:
            check_record(lc[e["class"]], e["ref"], e["snapshot"], problems)
    ok(not problems, "event.from: snapshots have the record's fields and wire types", "\n".join(problems[:10]))
    counts = b["valid_ref_counts"]
    ok(isinstance(counts, dict) and counts and all(isinstance(n, int) and not isinstance(n, bool)
                                                   for n in counts.values()),
       "event.from: valid_ref_counts holds ints (<i4>)", counts)
    ok(counts.get("vm") == len(everything["VM"]) and counts.get("host") == len(everything["host"]),
       "event.from: valid_ref_counts agrees with get_all_records (vm %s, host %s)"
       % (counts.get("vm"), counts.get("host")))
    ok(TOKEN_RE.match(b["token"]) is not None, "event.from: the token is %020d,%020d", b["token"])

    # a VM.start shows up as a mod of that VM, Running
    token = b["token"]
    vm = guests(everything, "Halted")[1]
    value(px, "VM.start", s, vm, False, False)
    st, b = ev(["vm"], token, 5.0)
    mods = [e for e in b["events"] if e["ref"] == vm] if st == "ok" else []
    ok(mods and all(e["operation"] == "mod" for e in mods) and mods[-1]["snapshot"]["power_state"] == "Running",
       "event.from after VM.start: a mod of that VM with power_state Running",
       b if st != "ok" else [(e["operation"], e["snapshot"].get("power_state")) for e in mods])

    # nothing happens: an empty batch after about the timeout, not before
    for classes in (["vm"], ["session"]):
        st, b = ev(classes, "", 0.1)
        t0 = time.time()
        st, b = ev(classes, b["token"], 1.0)
        took = time.time() - t0
        ok(st == "ok" and b["events"] == [] and 0.9 <= took < 4.0 and TOKEN_RE.match(b["token"]),
           "event.from(%s) with nothing happening: empty batch after the 1 s timeout (%.2f s)" % (classes, took),
           b if st != "ok" else b["events"][:3])
    st, v = ev(["vm"], "not-a-token", 1.0)
    ok(st == "err" and v == ["EVENT_FROM_TOKEN_PARSE_FAILURE", "not-a-token"],
       "event.from with a bad token: EVENT_FROM_TOKEN_PARSE_FAILURE [token]", v)


def check_tasks(px, s, everything):
    halted = [r for r in guests(everything, "Halted") if value(px, "VM.get_power_state", s, r) == "Halted"]
    vm = halted[0]
    task = value(px, "Async.VM.start", s, vm, False, False)
    ok(REF_RE.match(task) is not None, "Async.VM.start returns a task ref at once", task)
    rec = value(px, "task.get_record", s, task)
    ok(rec["name_label"] == "Async.VM.start" and rec["status"] in ("pending", "success"),
       "the task is named Async.VM.start", (rec["name_label"], rec["status"]))
    progress = []
    deadline = time.time() + 20
    while time.time() < deadline:
        rec = value(px, "task.get_record", s, task)
        progress.append(rec["progress"])
        if rec["status"] != "pending":
            break
        time.sleep(0.05)
    ok(progress[0] == 0.0 and progress[-1] == 1.0 and progress == sorted(progress) and len(set(progress)) > 2,
       "task progress goes from 0 to 1 (%d distinct steps)" % len(set(progress)), progress)
    ok(rec["status"] == "success" and rec["result"] == "<value></value>" and rec["error_info"] == [],
       "a void task's result is <value></value>", (rec["status"], rec["result"], rec["error_info"]))
    ok(isinstance(rec["finished"], xmlrpc.client.DateTime) and rec["finished"].value >= rec["created"].value
       and rec["finished"].value != "19700101T00:00:00Z", "the finished task has a finished time",
       (rec["created"], rec["finished"]))
    ok(value(px, "VM.get_power_state", s, vm) == "Running", "the VM the task started reads back Running")
    value(px, "task.destroy", s, task)
    st, v = call(px, "task.get_status", s, task)
    ok(st == "err" and v == ["HANDLE_INVALID", "task", task], "a destroyed task is HANDLE_INVALID", v)

    vm = halted[1]
    task = value(px, "Async.VM.start", s, vm, False, False)
    st, v = call(px, "task.cancel", s, task)
    ok(st == "ok", "task.cancel of a pending task", v)
    deadline = time.time() + 20
    while time.time() < deadline and value(px, "task.get_status", s, task) in ("pending", "cancelling"):
        time.sleep(0.05)
    rec = value(px, "task.get_record", s, task)
    ok(rec["status"] == "cancelled" and rec["error_info"] == ["TASK_CANCELLED", task],
       "the cancelled task ends cancelled with error_info [TASK_CANCELLED, task]", (rec["status"], rec["error_info"]))
    ok(value(px, "VM.get_power_state", s, vm) == "Halted", "the cancelled start left the VM Halted")


def check_setters(px, s, everything):
    """Setters that are explicit messages in the datamodel (not implicit
    accessors) still write their field, and read back."""
    vm = guests(everything, "Halted")[-1]
    st, v = call(px, "VM.add_to_other_config", s, vm, "test_python_client", "1")
    ok(st == "ok" and value(px, "VM.get_other_config", s, vm).get("test_python_client") == "1",
       "VM.add_to_other_config (an explicit message) adds the key", v)
    st, v = call(px, "VM.add_to_other_config", s, vm, "test_python_client", "2")
    ok(v == ["MAP_DUPLICATE_KEY", "VM", "other_config", vm, "test_python_client"],
       "adding it again: MAP_DUPLICATE_KEY [VM, other_config, ref, key]", v)
    st, v = call(px, "VM.remove_from_other_config", s, vm, "test_python_client")
    ok(st == "ok" and "test_python_client" not in value(px, "VM.get_other_config", s, vm),
       "VM.remove_from_other_config removes it", v)
    st, v = call(px, "VM.set_actions_after_crash", s, vm, "Destroy")
    ok(st == "ok" and value(px, "VM.get_actions_after_crash", s, vm) == "destroy",
       "VM.set_actions_after_crash takes an enum in any case and stores it as spelled", v)
    sr = sorted(everything["SR"])[0]
    st, v = call(px, "SR.set_name_description", s, sr, "set by test_python_client")
    ok(st == "ok" and value(px, "SR.get_name_description", s, sr) == "set by test_python_client",
       "SR.set_name_description writes the field", v)
    vdi = sorted(everything["VDI"])[0]
    for sent, back in (("2025-01-02T03:04:05Z", "20250102T03:04:05Z"),
                       (xmlrpc.client.DateTime("20250102T03:04:06"), "20250102T03:04:06"),
                       ("2025-01-02T03:04:07.5+01:00", "20250102T03:04:07+01:00")):
        st, v = call(px, "VDI.set_snapshot_time", s, vdi, sent)
        got = value(px, "VDI.get_snapshot_time", s, vdi)
        ok(st == "ok" and isinstance(got, xmlrpc.client.DateTime) and got.value == back,
           "a datetime parameter sent as %s reads back as %s"
           % ("<dateTime.iso8601>%s" % sent.value if isinstance(sent, xmlrpc.client.DateTime) else "string " + sent,
              back), (v, got))
    st, v = call(px, "VDI.set_snapshot_time", s, vdi, "yesterday")
    ok(st == "err" and v[0] == "INTERNAL_ERROR", "a datetime parameter that does not parse: INTERNAL_ERROR", v)


def check_errors(url, px, s, everything):
    running = guests(everything, "Running")
    vm = running[0]
    st, v = call(px, "VM.start", s, vm, False, False)
    actual = value(px, "VM.get_power_state", s, vm).lower()
    ok(v == ["VM_BAD_POWER_STATE", vm, "halted", actual],
       "VM.start of a running VM: VM_BAD_POWER_STATE [vm, halted, %s]" % actual, v)
    bogus = "OpaqueRef:" + str(uuid.uuid4())
    st, v = call(px, "VM.get_record", s, bogus)
    ok(v == ["HANDLE_INVALID", "VM", bogus], "VM.get_record of an unknown ref: HANDLE_INVALID [VM, ref]", v)
    u = str(uuid.uuid4())
    st, v = call(px, "VM.get_by_uuid", s, u)
    ok(v == ["UUID_INVALID", "VM", u], "VM.get_by_uuid of an unknown uuid: UUID_INVALID [VM, uuid]", v)
    st, v = call(px, "VM.start", s, vm)
    ok(v == ["MESSAGE_PARAMETER_COUNT_MISMATCH", "VM.start", "3", "1"],
       "VM.start(session, vm): MESSAGE_PARAMETER_COUNT_MISMATCH [VM.start, 3, 1] (WIRE.md 4)", v)
    st, v = call(px, "VM.start")
    ok(v == ["MESSAGE_PARAMETER_COUNT_MISMATCH", "VM.start", "3", "-1"],
       "VM.start(): counts exclude the session, so received is -1", v)
    st, v = call(px, "Async.VM.start", s, vm)
    ok(v == ["MESSAGE_PARAMETER_COUNT_MISMATCH", "VM.start", "3", "1"],
       "Async.VM.start with too few params: the name has no Async. prefix", v)
    st, v = call(px, "session.login_with_password", USER)
    ok(v == ["MESSAGE_PARAMETER_COUNT_MISMATCH", "session.login_with_password", "2", "1"],
       "login with one param: expected counts only the non-defaulted params", v)
    st, v = call(px, "session.login_with_password", USER, PWD, "1.1", "test_python_client", "surplus")
    ok(st == "ok" and REF_RE.match(v), "surplus params after defaulted ones are ignored", v)
    if st == "ok":
        value(px, "session.logout", v)
    st, v = call(px, "VM.frobnicate")
    ok(v == ["MESSAGE_METHOD_UNKNOWN", "VM.frobnicate"], "an unknown method with no params: MESSAGE_METHOD_UNKNOWN", v)
    st, v = call(px, "Async.VM.frobnicate", s)
    ok(v == ["MESSAGE_METHOD_UNKNOWN", "VM.frobnicate"],
       "an unknown Async method with a good session: MESSAGE_METHOD_UNKNOWN without Async.", v)
    st, v = call(px, "VM.frobnicate", "OpaqueRef:nope")
    ok(v == ["SESSION_INVALID", "OpaqueRef:nope"], "an unknown method checks its first param as a session first", v)
    st, v = call(px, "VM.start", s, vm, "true", False)
    ok(st == "err" and v[0] == "INTERNAL_ERROR", "a string where a bool is expected: INTERNAL_ERROR", v)
    st, v = call(px, "Async.VM.get_name_label", s, vm)
    ok(st == "err" and v[0] == "Fault" and len(v) == 2 and "VM.get_name_label" in v[1],
       "Async of a field getter: [Fault, No async mode ...]", v)

    # invalid UTF-8: xapi's XML parser (xmlm) refuses the bytes outright, so
    # over XML-RPC it is a transport error (HTTP 500); over JSON-RPC the
    # string reaches the dispatcher, which answers INVALID_VALUE (WIRE.md 2.2)
    before = value(px, "VM.get_name_description", s, vm)
    u = urllib.parse.urlparse(url)
    tr = xmlrpc.client.SafeTransport(context=CTX) if u.scheme == "https" else xmlrpc.client.Transport()
    body = xmlrpc.client.dumps((s, vm, "PLACEHOLDER"), "VM.set_name_description").encode()
    body = body.replace(b"PLACEHOLDER", b"bad \xff\xfe bytes")
    try:
        r = tr.request(u.netloc, "/", body)
        ok(False, "invalid UTF-8 in an XML-RPC string: HTTP 500", r)
    except xmlrpc.client.ProtocolError as e:
        ok(e.errcode == 500, "invalid UTF-8 in an XML-RPC string: HTTP 500 (an XML parse error)", e)
    req = b'{"jsonrpc":"2.0","method":"VM.set_name_description","params":["%s","%s","bad \xff\xfe bytes"],"id":3}' % (
        s.encode(), vm.encode())
    hreq = urllib.request.Request(url + "/jsonrpc", data=req, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(hreq, context=CTX if u.scheme == "https" else None, timeout=30) as r:
        reply = json.loads(r.read().decode("utf-8", "surrogateescape"))
    err = reply.get("error") or {}
    ok(err.get("message") == "INVALID_VALUE" and (err.get("data") or [""])[0] == "Invalid UTF-8 string in parameter",
       "invalid UTF-8 in a JSON-RPC string: INVALID_VALUE [Invalid UTF-8 string in parameter, value]", reply)
    ok(value(px, "VM.get_name_description", s, vm) == before, "and nothing was written")

    st, v = call(px, "session.logout", s)
    ok(st == "ok" and v == "", "session.logout returns void")
    st, v = call(px, "VM.get_all", s)
    ok(v == ["SESSION_INVALID", s], "a call after logout: SESSION_INVALID [session]", v)
    st, v = call(px, "session.logout", s)
    ok(v == ["SESSION_INVALID", s], "logging out twice: SESSION_INVALID", v)


def bad_login(url, out):
    t0 = time.time()
    out["reply"] = call(proxy(url), "session.login_with_password", USER, "wrong password", "2.21", "t")
    out["took"] = time.time() - t0


def main():
    try:
        tls = start()
        plain = start("--plain")
        ok(tls.startswith("https://") and plain.startswith("http://"), "a TLS sim and a --plain sim start",
           (tls, plain))
        # the failed login takes 5 s: let it run while the rest goes on
        bad = {}
        th = threading.Thread(target=bad_login, args=(tls, bad))
        th.start()
        px, s, everything = check_basics(tls, "https", True)
        check_basics(plain, "plain http", False)
        check_events(px, s, everything)
        check_tasks(px, s, everything)
        check_setters(px, s, everything)
        check_errors(tls, px, s, everything)
        th.join(30)
        st, v = bad.get("reply", (None, None))
        ok(st == "err" and v == ["SESSION_AUTHENTICATION_FAILED", USER, "Authentication failure"]
           and bad["took"] >= 4.5,
           "a wrong password: SESSION_AUTHENTICATION_FAILED [user, reason] after about 5 s (%.1f s)"
           % bad.get("took", -1), v)
    except Exception:  # report, then still stop the sims
        import traceback
        ok(False, "the test ran to the end", traceback.format_exc())
    finally:
        stop_all()
    return plan()


if __name__ == "__main__":
    sys.exit(main())
