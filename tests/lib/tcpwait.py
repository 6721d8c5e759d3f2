"""Waiting until a request is in a server's hands, instead of sleeping and
hoping: a long poll is under way once the server has read every byte sent
on its connection. Read from Linux's /proc/net/tcp (IPv4: the simulators
listen on 127.0.0.x): our side has nothing left to send, theirs nothing
left to read."""
import socket
import threading
import time
import xmlrpc.client


def _endpoint(addr):
    """("127.0.0.1", 443) as /proc/net/tcp writes it: "0100007F:01BB"."""
    return "%08X:%04X" % (int.from_bytes(socket.inet_aton(addr[0]), "little"), addr[1])


def _queues():
    """{(local, remote): (tx_queue, rx_queue)} of every IPv4 TCP socket."""
    rows = {}
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            tx, rx = (int(x, 16) for x in fields[4].split(":"))
            rows[(fields[1], fields[2])] = (tx, rx)
    return rows


def server_has_read(sock):
    """True once the peer of a connected socket has read all it was sent."""
    me, peer = _endpoint(sock.getsockname()), _endpoint(sock.getpeername())
    q = _queues()
    mine, theirs = q.get((me, peer)), q.get((peer, me))
    return mine is not None and theirs is not None and mine[0] == 0 and theirs[1] == 0


def wait_server_read(sock, timeout=10.0):
    """Polls server_has_read(sock) until it holds; False after timeout."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server_has_read(sock):
            return True
        time.sleep(0.01)
    return False


class WatchedTransport(xmlrpc.client.SafeTransport):
    """xmlrpc.client's HTTPS transport, telling when a request has gone out:
    .sent is set and .sock is its connection (see wait_sent_and_read)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.sent = threading.Event()
        self.sock = None

    def send_content(self, connection, request_body):
        super().send_content(connection, request_body)
        self.sock = connection.sock
        self.sent.set()


def wait_sent_and_read(transport, timeout=10.0):
    """True once the transport's request is sent and read by the server."""
    deadline = time.time() + timeout
    return transport.sent.wait(timeout) and wait_server_read(transport.sock, max(0.0, deadline - time.time()))
