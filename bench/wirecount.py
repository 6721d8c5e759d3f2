"""Bytes on the wire: a TCP relay on 127.0.0.1 in front of xapi-sim that adds
up the bodies of the HTTP replies passing through (Content-Length framed, as
xapi-sim sends every RPC reply; a reply without one counts to the close).
Used for an untimed run of each client, so its cost never enters a timing.

    with WireCounter(sim_url) as w:
        run the client against w.url
        w.body_bytes, w.rpc_bytes, w.replies
"""
import re
import socket
import threading
import urllib.parse

REQUEST_LINE = re.compile(rb"(?:^|\n)(GET|POST|PUT|HEAD|CONNECT|OPTIONS) \S+ HTTP/1")


class _Replies:
    """Follows one connection's server-to-client bytes, reply by reply."""

    def __init__(self):
        self.head = b""
        self.left = None  # body bytes still to come; None while reading a head; -1: to the close
        self.body = 0
        self.replies = 0
        self.sizes = []  # each reply's body length, in order
        self.methods = []  # each request's HTTP method, in order (the client's side)

    def requests(self, data):
        """Notes the request lines in a client-to-server chunk (a request's head comes in one piece)."""
        self.methods += [m.decode() for m in REQUEST_LINE.findall(data)]

    def feed(self, data):
        i = 0
        while i < len(data):
            if self.left is None:
                chunk = data[i:]
                self.head += chunk
                end = self.head.find(b"\r\n\r\n")
                if end < 0:
                    if len(self.head) > 65536:  # not HTTP: count the rest as body
                        self.body += len(self.head)
                        self.left = -1
                    i = len(data)
                    continue
                i += end + 4 - (len(self.head) - len(chunk))  # what of this chunk the head used
                self.left = -1
                for line in self.head[:end].split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        self.left = int(value.strip())
                self.replies += 1
                self.sizes.append(0)
                self.head = b""
                if self.left == 0:
                    self.left = None
            elif self.left < 0:
                self.body += len(data) - i
                self.sizes[-1:] = [self.sizes[-1] + len(data) - i] if self.sizes else [len(data) - i]
                i = len(data)
            else:
                k = min(self.left, len(data) - i)
                self.body += k
                self.sizes[-1] += k
                self.left -= k
                i += k
                if self.left == 0:
                    self.left = None


class WireCounter:
    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.target = (u.hostname, u.port or 80)
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.url = "%s://127.0.0.1:%d" % (u.scheme, self.lsock.getsockname()[1])
        self.lock = threading.Lock()
        self.conns = []  # (client socket, server socket, reply follower)
        self.threads = []
        self.closed = False

    @property
    def body_bytes(self):
        with self.lock:
            return sum(r.body for _, _, r in self.conns)

    @property
    def rpc_bytes(self):
        """The bodies of the replies to POSTs (XML-RPC and JSON-RPC), not GETs such as /rrd_updates."""
        with self.lock:
            return sum(n for _, _, r in self.conns for m, n in zip(r.methods, r.sizes) if m == "POST")

    @property
    def replies(self):
        with self.lock:
            return sum(r.replies for _, _, r in self.conns)

    def _pump(self, src, dst, follower, requests=None):
        try:
            while True:
                data = src.recv(1 << 20)
                if not data:
                    break
                if follower:
                    follower.feed(data)
                if requests:
                    requests.requests(data)
                dst.sendall(data)
        except OSError:
            pass
        for s in (dst, src):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            try:
                s = socket.create_connection(self.target)
            except OSError:
                c.close()
                continue
            for sock in (c, s):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            follower = _Replies()
            with self.lock:
                self.conns.append((c, s, follower))
            for args in ((c, s, None, follower), (s, c, follower)):
                t = threading.Thread(target=self._pump, args=args, daemon=True)
                t.start()
                self.threads.append(t)

    def __enter__(self):
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        return self

    def __exit__(self, *exc):
        try:
            self.lsock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.lsock.close()
        with self.lock:
            conns = list(self.conns)
        for c, s, _ in conns:
            for sock in (c, s):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        for t in self.threads:
            t.join(5)
        for c, s, _ in conns:
            c.close()
            s.close()
        return False
