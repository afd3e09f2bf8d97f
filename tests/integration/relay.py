"""Plumbing for the relay scenarios: the aiohttp backend in a subprocess,
a janitord in front of it, and raw-socket HTTP helpers (so the tests see
exactly the bytes janitord sends)."""

import json
import os
import socket
import subprocess
import sys
import time

import jtest

HERE = os.path.dirname(os.path.abspath(__file__))

POLICY = """
listen: 127.0.0.1:{port}
upstream: 127.0.0.1:{upstream_port}
state_dir: {dir}
admin:
  listen: 127.0.0.1:{admin_port}
log:
  level: debug
{extra}
"""


class Backend:
    """backend.py on a free port (or a unix socket path)."""

    def __init__(self, port=None):
        self.chosen = port is None
        self.port = port or jtest.free_port()
        self.proc = None

    def start(self):
        # A port found free can be taken by another test before the
        # backend binds it; then take another (only if we chose it).
        for attempt in range(3 if self.chosen else 1):
            self.proc = subprocess.Popen(
                ["/usr/bin/python3", os.path.join(HERE, "backend.py"),
                 str(self.port)], stdout=subprocess.PIPE)
            line = self.proc.stdout.readline()
            if line.strip() == b"ready":
                return self
            self.stop()
            self.port = jtest.free_port()
        raise RuntimeError("backend did not start")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None:
            self.proc.stdout.close()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def janitord(backend_port, extra=""):
    """A Janitord (not started) relaying to the backend."""
    return jtest.Janitord(POLICY, upstream_port=backend_port, extra=extra)


def connect(port, timeout=10.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class Reader:
    """Reads HTTP/1.1 responses from a socket, one at a time."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def head(self):
        """Status and headers (lower-case names) of the next response."""
        status = self._line()
        parts = status.split(b" ", 2)
        headers = {}
        while True:
            line = self._line()
            if not line:
                break
            k, v = line.split(b":", 1)
            headers.setdefault(k.strip().lower().decode(), []).append(
                v.strip().decode())
        return int(parts[1]), headers

    def body(self, headers, head_request=False, status=200):
        if head_request or status in (204, 304):
            return b""
        if "content-length" in headers:
            return self._take(int(headers["content-length"][0]))
        if "chunked" in headers.get("transfer-encoding", [""])[0]:
            out = b""
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line():
                        pass
                    return out
                out += self._take(size)
                self._take(2)
        # Until the connection closes.
        try:
            while True:
                self._fill()
        except (EOFError, ConnectionResetError):
            pass
        data, self.buf = self.buf, b""
        return data

    def response(self, head_request=False):
        """(status, headers, body), skipping 1xx interim responses."""
        while True:
            status, headers = self.head()
            if 100 <= status < 200 and status != 101:
                continue
            return status, headers, self.body(headers, head_request, status)

    def closed(self, timeout=5.0):
        """Whether the peer closes without sending more."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1)
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
        return data == b""


def get(port, path, headers=None, timeout=10.0):
    """One GET on a fresh connection: (status, headers, body)."""
    s = connect(port, timeout)
    try:
        req = "GET %s HTTP/1.1\r\nHost: test\r\n" % path
        for k, v in (headers or {}).items():
            req += "%s: %s\r\n" % (k, v)
        s.sendall(req.encode() + b"Connection: close\r\n\r\n")
        return Reader(s).response()
    finally:
        s.close()


def raw(port, data, timeout=10.0):
    """Send raw bytes; return the first response's (status, headers, body)."""
    s = connect(port, timeout)
    try:
        s.sendall(data)
        return Reader(s).response()
    finally:
        s.close()


def upstream_connections(backend_port):
    """How many connections the backend has seen (asked directly)."""
    s = connect(backend_port)
    try:
        s.sendall(b"GET /stats HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
        st, h, body = Reader(s).response()
        return json.loads(body)["connections"]
    finally:
        s.close()


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    jtest.main()


class RelayCase:
    """Mixin for unittest.TestCase: a backend and a janitord per test; at
    the end janitord must stop on SIGTERM with status 0 (under ASan that
    also means no leak and no memory error)."""

    extra = ""

    def setUp(self):
        self.backend = Backend().start()
        self.addCleanup(self.backend.stop)
        self.jd = janitord(self.backend.port, self.extra)
        self.jd.start()
        self.addCleanup(self.jd.__exit__, None, None, None)

    def tearDown(self):
        stop_clean(self, self.jd)


def stop_clean(case, jd):
    """SIGTERM janitord; it must exit 0 with no sanitizer report."""
    rc = jd.stop()
    log = jd.log()
    if rc != 0 or "Sanitizer" in log or "runtime error" in log:
        sys.stderr.write(log[-20000:])
    case.assertEqual(rc, 0)
    case.assertNotIn("Sanitizer", log)
    case.assertNotIn("runtime error", log)


def metrics(admin_port):
    """The admin /metrics text."""
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % admin_port,
                                timeout=5) as r:
        return r.read().decode()
