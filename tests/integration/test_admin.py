"""The admin API of the real binary: built-in routes, the session routes,
routing errors, the bearer token (also after a reload) and a unix socket."""

import http.client
import os
import signal
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import jtest  # noqa: E402

POLICY = """
upstream: 127.0.0.1:{upstream_port}
listen: 127.0.0.1:{port}
state_dir: {dir}
admin:
  listen: {admin}
{token}
"""


def request(port, method, path, token=None, unix=None):
    """One admin request; returns (status, headers, body text)."""
    if unix is not None:
        conn = http.client.HTTPConnection("localhost", timeout=5)
        conn.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.sock.settimeout(5)
        conn.sock.connect(unix)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    headers = {}
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    conn.request(method, path, headers=headers)
    r = conn.getresponse()
    body = r.read().decode()
    conn.close()
    return r.status, dict(r.getheaders()), body


def start(j):
    j.start(wait=False)
    jtest.wait_port(j.admin_port, proc=j.proc)
    return j


def policy(admin="127.0.0.1:{admin_port}", token=""):
    return POLICY.replace("{admin}", admin).replace("{token}", token)


class AdminOpen(unittest.TestCase):
    def setUp(self):
        self.j = start(jtest.Janitord(policy()))

    def tearDown(self):
        self.assertEqual(self.j.stop(), 0)
        self.j.__exit__(None, None, None)

    def test_builtins(self):
        st, h, body = request(self.j.admin_port, "GET", "/healthz")
        self.assertEqual((st, body), (200, "ok\n"))
        st, h, body = request(self.j.admin_port, "GET", "/metrics")
        self.assertEqual(st, 200)
        self.assertTrue(h["Content-Type"].startswith("text/plain; version=0.0.4"))
        for line in ('janitor_sessions{state="idle"} 0',
                     'janitor_sessions{state="live"} 0',
                     'janitor_sessions{state="unloaded"} 0',
                     "janitor_sessions_created_total 0",
                     "janitor_unloads_total 0",
                     'janitor_expirations_total{reason="admin"} 0'):
            self.assertIn(line + "\n", body)
        # One HELP and TYPE per family.
        self.assertEqual(body.count("# TYPE janitor_sessions gauge"), 1)
        self.assertEqual(body.count("# TYPE janitor_expirations_total "), 1)

    def test_session_routes_empty(self):
        port = self.j.admin_port
        st, _, body = request(port, "GET", "/sessions")
        self.assertEqual((st, body), (200, "[]\n"))
        self.assertEqual(request(port, "GET", "/sessions?state=live&limit=5")[0],
                         200)
        self.assertEqual(request(port, "GET", "/sessions?state=gone")[0], 400)
        self.assertEqual(request(port, "GET", "/sessions?limit=-1")[0], 400)
        self.assertEqual(request(port, "GET", "/sessions/abc")[0], 404)
        self.assertEqual(request(port, "GET", "/sessions/..%2fx")[0], 404)
        self.assertEqual(request(port, "DELETE", "/sessions/abc")[0], 404)

    def test_routing_errors(self):
        port = self.j.admin_port
        st, h, _ = request(port, "POST", "/healthz")
        self.assertEqual(st, 405)
        self.assertEqual(h["Allow"], "GET")
        self.assertEqual(request(port, "GET", "/nope")[0], 404)
        self.assertEqual(request(port, "PUT", "/sessions/x")[0], 405)
        # A malformed request line.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"HELLO\r\n\r\n")
            self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 400 "))


class AdminToken(unittest.TestCase):
    def test_token_and_reload(self):
        j = jtest.Janitord(policy(token="  token_file: {dir}/token"))
        with open(os.path.join(j.dir, "token"), "w") as f:
            f.write("first-token\n")
        start(j)
        try:
            port = j.admin_port
            for method, path in (("GET", "/healthz"), ("GET", "/metrics"),
                                 ("GET", "/sessions"),
                                 ("DELETE", "/sessions/x"),
                                 ("GET", "/nope")):
                st, h, _ = request(port, method, path)
                self.assertEqual(st, 401, path)
                self.assertIn("Bearer", h["WWW-Authenticate"])
                self.assertEqual(request(port, method, path, "wrong")[0], 401)
                self.assertEqual(request(port, method, path, "first-toke")[0],
                                 401)
            self.assertEqual(request(port, "GET", "/healthz", "first-token")[0],
                             200)
            self.assertEqual(request(port, "GET", "/sessions", "first-token")[0],
                             200)
            self.assertEqual(request(port, "GET", "/nope", "first-token")[0],
                             404)
            # A new token takes effect with the reload.
            with open(os.path.join(j.dir, "token"), "w") as f:
                f.write("second-token\n")
            j.signal(signal.SIGHUP)
            j.wait_log("reloaded")
            self.assertEqual(request(port, "GET", "/healthz", "first-token")[0],
                             401)
            self.assertEqual(request(port, "GET", "/healthz", "second-token")[0],
                             200)
            self.assertEqual(j.stop(), 0)
        finally:
            j.__exit__(None, None, None)


class AdminMove(unittest.TestCase):
    def test_reload_moves_listener(self):
        j = start(jtest.Janitord(policy()))
        try:
            old = j.admin_port
            new = jtest.free_port()
            j.write_policy(policy(admin="127.0.0.1:%d" % new))
            j.signal(signal.SIGHUP)
            j.wait_log("reloaded")
            jtest.wait_port(new, proc=j.proc)
            self.assertEqual(request(new, "GET", "/healthz")[0], 200)
            with self.assertRaises(OSError):
                request(old, "GET", "/healthz")
            self.assertEqual(j.stop(), 0)
        finally:
            j.__exit__(None, None, None)


class AdminUnix(unittest.TestCase):
    def test_unix_socket(self):
        j = jtest.Janitord(policy(admin="unix:{dir}/admin.sock"))
        path = os.path.join(j.dir, "admin.sock")
        j.start(wait=False)
        try:
            jtest.wait_for(lambda: os.path.exists(path), what="admin socket")
            time.sleep(0.05)
            st, _, body = request(None, "GET", "/healthz", unix=path)
            self.assertEqual((st, body), (200, "ok\n"))
            self.assertEqual(j.stop(), 0)
            self.assertFalse(os.path.exists(path))
        finally:
            j.__exit__(None, None, None)


if __name__ == "__main__":
    jtest.main()
