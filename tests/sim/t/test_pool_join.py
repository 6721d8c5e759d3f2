#!/usr/bin/env python3
"""Pools across xapi-sim processes: pool.join, pool.eject,
pool.designate_new_master and --join-as-slave-of (WIRE.md section 10).

Each process serves its hosts on its own loopback address with one shared
port: A (master, 127.0.0.1), B (a fresh host, 127.0.0.2), C (joins at
start, 127.0.0.3), D (a host with running VMs, 127.0.0.4). TAP output."""
import os
import queue
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from simtest import call, value  # noqa: E402
from tcpwait import WatchedTransport, wait_sent_and_read  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SIM = os.environ.get("XAPI_SIM", os.path.join(ROOT, "build", "san", "xapi-sim"))
USER, PWD = "root", "xapi-sim"
CTX = ssl._create_unverified_context()  # the sims' certificates are self-signed
socket.setdefaulttimeout(60)  # no call may hang the test

procs = []
count = 0
failed = 0


def ok(cond, name, detail=""):
    global count, failed
    count += 1
    if cond:
        print("ok %d - %s" % (count, name))
    else:
        failed += 1
        print("not ok %d - %s" % (count, name))
        if detail:
            print("# " + str(detail).replace("\n", "\n# "))
    sys.stdout.flush()


def start(addr, port, *args):
    """Starts a sim on addr:port; returns (url, process, stderr file)."""
    err = tempfile.TemporaryFile(mode="w+")
    p = subprocess.Popen([SIM, "--bind", addr, "--port", str(port)] + list(args),
                         stdout=subprocess.PIPE, stderr=err, text=True)
    procs.append((p, err, addr))
    lines = queue.Queue()

    def reader():
        for line in p.stdout:
            lines.put(line)
        lines.put(None)
    threading.Thread(target=reader, daemon=True).start()
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.time()))
        except queue.Empty:
            break
        if line is None:
            break
        if line.startswith("xapi-sim listening on "):
            return line.split()[-1], p, err
    raise RuntimeError("xapi-sim on %s did not start" % addr)


def proxy(url):
    return xmlrpc.client.ServerProxy(url, context=CTX, allow_none=True)


def login(px):
    return call(px, "session.login_with_password", USER, PWD, "1.0", "test_pool_join")


def session(px):
    st, v = login(px)
    if st != "ok":
        raise RuntimeError("login: %s" % v)
    return v


def counts(px, s):
    return {c: len(value(px, c + ".get_all", s)) for c in ("host", "PIF", "PIF_metrics", "PBD", "SR", "VM", "host_cpu", "PCI", "console")}


def wait_for(pred, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = pred()
        if r:
            return r
        time.sleep(0.2)
    return pred()


def main():
    url_a, _, _ = start("127.0.0.1", 0, "--hosts", "3", "--vms", "8", "--seed", "11")
    port = int(url_a.rsplit(":", 1)[1].rstrip("/"))
    url_b, _, _ = start("127.0.0.2", port, "--hosts", "1", "--vms", "0", "--seed", "12")
    url_d, _, _ = start("127.0.0.4", port, "--hosts", "1", "--vms", "4", "--seed", "13")
    a, b, d = proxy(url_a), proxy(url_b), proxy(url_d)
    sa, sb, sd = session(a), session(b), session(d)

    # a fresh standalone host: only the tools ISO SR is shared
    srs = value(b, "SR.get_all_records", sb)
    ok(all(not r["shared"] or r["is_tools_sr"] for r in srs.values()) and any(r["is_tools_sr"] for r in srs.values()),
       "a --hosts 1 --vms 0 sim has no shared SR but the tools SR", srs)
    b_host_ref, b_host = list(value(b, "host.get_all_records", sb).items())[0]
    b_uuid, b_name = b_host["uuid"], b_host["name_label"]

    # errors, in plain codes
    st, e = call(b, "pool.join", sb, "127.0.0.1", USER, "wrong password")
    ok(st == "err" and e[0] == "SESSION_AUTHENTICATION_FAILED", "a wrong master password: SESSION_AUTHENTICATION_FAILED from the master", e)
    ok(login(b)[0] == "ok", "the refused joiner is still its own master")
    st, e = call(b, "pool.join", sb, "127.0.0.9", USER, PWD)
    ok(st == "err" and e == ["JOINING_HOST_CONNECTION_FAILED"], "an unreachable master: JOINING_HOST_CONNECTION_FAILED", e)

    d_vms = value(d, "VM.get_all_records", sd)
    running = [r for r in d_vms.values() if not r["is_control_domain"] and r["power_state"] in ("Running", "Paused", "Suspended")]
    st, e = call(d, "pool.join", sd, "127.0.0.1", USER, PWD)
    ok(running and st == "err" and e == ["JOINING_HOST_CANNOT_HAVE_RUNNING_OR_SUSPENDED_VMS"],
       "a joiner with running VMs: JOINING_HOST_CANNOT_HAVE_RUNNING_OR_SUSPENDED_VMS", (len(running), e))

    a_hosts = value(a, "host.get_all_records", sa)
    amd = [ref for ref, r in a_hosts.items() if r["cpu_info"]["vendor"] != b_host["cpu_info"]["vendor"]]
    pool_a = value(a, "pool.get_all", sa)[0]
    master_a = value(a, "pool.get_master", sa, pool_a)
    value(a, "pool.designate_new_master", sa, amd[0])
    st, e = call(b, "pool.join", sb, "127.0.0.1", USER, PWD)
    ok(st == "err" and e == ["HOSTS_NOT_HOMOGENEOUS", "CPUs differ"], "a master with another CPU vendor: HOSTS_NOT_HOMOGENEOUS [CPUs differ]", e)
    value(a, "pool.designate_new_master", sa, master_a)
    ok(value(a, "pool.get_master", sa, pool_a) == master_a, "an in-process designate_new_master moves the master back")

    # B joins A
    before = counts(a, sa)
    st, e = call(b, "pool.join", sb, "127.0.0.1", USER, PWD)
    ok(st == "ok", "pool.join on B succeeds", e)
    hosts = value(a, "host.get_all_records", sa)
    joined = [ref for ref, r in hosts.items() if r["uuid"] == b_uuid]
    ok(len(hosts) == before["host"] + 1 and len(joined) == 1, "A lists one more host, with B's uuid", (len(hosts), joined))
    jref = joined[0] if joined else None
    jrec = hosts.get(jref, {})
    ok(jrec.get("address") == "127.0.0.2" and jrec.get("name_label") == b_name,
       "the joined host has B's address and name", (jrec.get("address"), jrec.get("name_label")))
    pifs = [value(a, "PIF.get_record", sa, p) for p in jrec.get("PIFs", [])]
    mgmt = [p for p in pifs if p["management"]]
    ok(len(pifs) == 2 and all(p["host"] == jref for p in pifs) and mgmt and mgmt[0]["IP"] == "127.0.0.2",
       "its PIFs appear on A, the management one with B's address", pifs)
    dom0 = value(a, "VM.get_record", sa, jrec.get("control_domain", "OpaqueRef:NULL"))
    ok(dom0["is_control_domain"] and dom0["resident_on"] == jref and dom0["power_state"] == "Running",
       "its control domain appears on A, running on it", dom0.get("name_label"))
    shared = {ref for ref, r in value(a, "SR.get_all_records", sa).items() if r["shared"]}
    plugged = {value(a, "PBD.get_SR", sa, p) for p in jrec.get("PBDs", [])}
    ok(shared and shared <= plugged, "it has PBDs for every shared SR of the pool", (shared, plugged))
    st, e = login(b)
    ok(st == "err" and e == ["HOST_IS_SLAVE", "127.0.0.1"], "a login to B answers HOST_IS_SLAVE [A's address]", e)
    st, e = call(b, "VM.get_all", sb)
    ok(st == "err" and e[0] in ("SESSION_INVALID", "HOST_IS_SLAVE"), "B's sessions ended when it joined", e)

    # eject: refused for the master and for a host with running guests
    st, e = call(a, "pool.eject", sa, master_a)
    ok(st == "err" and e == ["INTERNAL_ERROR", "Xapi_pool.Cannot_eject_master"], "ejecting the master: INTERNAL_ERROR", e)
    vms = value(a, "VM.get_all_records", sa)
    busy = [r["resident_on"] for r in vms.values() if not r["is_control_domain"] and r["power_state"] == "Running" and r["resident_on"] != master_a]
    if busy:
        st, e = call(a, "pool.eject", sa, busy[0])
        ok(st == "err" and e == ["OPERATION_NOT_ALLOWED", "VM resident on host"], "ejecting a host with a running guest: OPERATION_NOT_ALLOWED", e)
    else:
        ok(False, "the seed gives a running guest on a member", vms)

    st, e = call(a, "pool.eject", sa, jref)
    ok(st == "ok", "pool.eject of B on A succeeds", e)
    after = counts(a, sa)
    ok(after == before, "A is back to its records before the join (hosts, PIFs, PBDs, SRs, VMs, CPUs, PCI, consoles)", (before, after))
    st, sb = login(b)
    ok(st == "ok", "B accepts logins again", sb)
    if st == "ok":
        bh = value(b, "host.get_all_records", sb)
        bpool = value(b, "pool.get_all_records", sb)
        master = list(bpool.values())[0]["master"] if bpool else None
        ok(len(bh) == 1 and master in bh and bh[master]["uuid"] == b_uuid and bh[master]["name_label"] == b_name,
           "B is its own master again, same uuid and name", bh)

    # C joins at start, B joins again
    url_c, _, _ = start("127.0.0.3", port, "--hosts", "1", "--vms", "0", "--seed", "14",
                        "--join-as-slave-of", "127.0.0.1:%d" % port)
    c = proxy(url_c)
    c_ref = wait_for(lambda: [ref for ref, r in value(a, "host.get_all_records", sa).items() if r["address"] == "127.0.0.3"], 20)
    ok(len(c_ref) == 1, "C (--join-as-slave-of) appears on A with its address", c_ref)
    st, e = login(c)
    ok(st == "err" and e == ["HOST_IS_SLAVE", "127.0.0.1"], "a login to C answers HOST_IS_SLAVE [A's address]", e)
    st, e = call(b, "pool.join", sb, "127.0.0.1", USER, PWD)
    ok(st == "ok", "B joins A again", e)

    # designate B as the new master
    b_on_a = [ref for ref, r in value(a, "host.get_all_records", sa).items() if r["uuid"] == b_uuid]
    a_vms = {r["uuid"] for r in value(a, "VM.get_all_records", sa).values()}
    a_hosts = {r["uuid"] for r in value(a, "host.get_all_records", sa).values()}
    s_wait = session(a)
    token = value(a, "event.from", s_wait, ["pool"], "", 0.0)["token"]
    waited = {}

    watched = WatchedTransport(context=CTX)

    def waiter():
        t = time.time()
        try:
            # a connection of its own: ServerProxy is not thread-safe
            px = xmlrpc.client.ServerProxy(url_a, transport=watched, allow_none=True)
            waited["answer"] = call(px, "event.from", s_wait, ["pool"], token, 30.0)
        except Exception as ex:  # a dropped connection would show here
            waited["answer"] = ("exception", str(ex))
        waited["seconds"] = time.time() - t
    th = threading.Thread(target=waiter, daemon=True)
    th.start()
    # the long poll is waiting on A once A has read it (and not answered)
    ok(wait_sent_and_read(watched) and th.is_alive(), "an event.from is waiting on A", waited)
    st, e = call(a, "pool.designate_new_master", sa, b_on_a[0])
    ok(st == "ok", "pool.designate_new_master of B on A succeeds", e)
    th.join(15)
    ans = waited.get("answer")
    ok(ans and ans[0] == "err" and ans[1] == ["HOST_IS_SLAVE", "127.0.0.2"],
       "an event.from waiting on A ends with HOST_IS_SLAVE [B's address]", waited)
    st, e = login(a)
    ok(st == "err" and e == ["HOST_IS_SLAVE", "127.0.0.2"], "a login to A answers HOST_IS_SLAVE [B's address]", e)
    st, e = call(a, "VM.get_all", sa)
    ok(st == "err" and e == ["HOST_IS_SLAVE", "127.0.0.2"], "an old session on A answers HOST_IS_SLAVE [B's address]", e)
    st, e = login(c)
    ok(st == "err" and e == ["HOST_IS_SLAVE", "127.0.0.2"], "C learnt the new master too", e)
    st, sb = login(b)
    ok(st == "ok", "B accepts logins as the master", sb)
    if st == "ok":
        pool = list(value(b, "pool.get_all_records", sb).values())[0]
        ok(value(b, "host.get_uuid", sb, pool["master"]) == b_uuid, "B's pool.master is B's host")
        b_vms = {r["uuid"] for r in value(b, "VM.get_all_records", sb).values()}
        ok(b_vms == a_vms and len(b_vms) > 10, "B has all of A's VMs, same uuids", (len(a_vms), len(b_vms)))
        ok({r["uuid"] for r in value(b, "host.get_all_records", sb).values()} == a_hosts, "B has all of A's hosts")
        st, e = call(b, "pool.eject", sb, pool["master"])
        ok(st == "err" and e[0] == "INTERNAL_ERROR", "the new master cannot be ejected either", e)

        # and back: B hands the master role to A's first host
        st, e = call(b, "pool.designate_new_master", sb, master_a)
        ok(st == "ok", "pool.designate_new_master of A's host on B succeeds", e)
        st, e = login(b)
        ok(st == "err" and e == ["HOST_IS_SLAVE", "127.0.0.1"], "then a login to B answers HOST_IS_SLAVE [A's address]", e)
        st, sa = login(a)
        ok(st == "ok" and value(a, "pool.get_master", sa, pool_a) == master_a, "and A is the master again", sa)
        if st == "ok":
            ok(len(value(a, "host.get_all", sa)) == len(a_hosts), "with every host of the pool")


def finish():
    for p, _, _ in procs:
        if p.poll() is None:
            p.terminate()
    for p, _, _ in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    for p, err, addr in procs:
        err.seek(0)
        text = err.read()
        bad = [line for line in text.splitlines() if "Sanitizer" in line or "runtime error" in line]
        ok(not bad, "no sanitizer report from the sim on %s" % addr, "\n".join(text.splitlines()[:40]))


if __name__ == "__main__":
    try:
        main()
    except Exception as ex:
        ok(False, "the scenario ran to the end", repr(ex))
    finally:
        finish()
    print("1..%d" % count)
    sys.exit(1 if failed else 0)
