"""A request that confirms a session waits until the session is committed
to the state file: the app never sees a request of a confirmed session
janitord has not stored.  A client without a cookie gets one at once (its
session is provisional, in memory only); when it comes back with it, that
request is held.  With sessions.confirm: first_request the first request
is held and the client gets no Set-Cookie before the commit.  The state
file is write-locked by the test (BEGIN IMMEDIATE) to stretch the commit:
confirming requests are held (also a POST whose body exceeds the
pipelining buffer, and a second request of the same unstored session), an
existing session is not, a client that leaves while held does no harm,
and everything goes on when the lock goes.  A hold longer than
limits.upstream_timeout is answered 503; a SIGTERM while a request is held
lets it finish.  The upstream checks in the state file, on every request,
whether the session it is told about is stored."""

import http.server
import os
import signal
import socket
import sqlite3
import threading
import time
import unittest

import jtest
import relay
import sessiontest

POLICY = """
listen: 127.0.0.1:{port}
upstream: 127.0.0.1:{upstream_port}
state_dir: {dir}
admin:
  listen: 127.0.0.1:{admin_port}
limits:
  upstream_timeout: {upstream_timeout}
log:
  level: debug
{extra}
"""


class App(http.server.BaseHTTPRequestHandler):
    """Records (path, session, stored in the state file, body length)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True      # head and body are two writes

    def log_message(self, *args):
        pass

    def handle_one(self):
        key = self.headers.get("X-Janitor-Session")
        n = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(n) if n else b""
        stored = None
        if key is not None:
            con = sqlite3.connect(self.server.db, timeout=5)
            try:
                stored = con.execute("SELECT COUNT(*) FROM sessions WHERE "
                                     "key = ?", (key,)).fetchone()[0] == 1
            finally:
                con.close()
        with self.server.lock:
            self.server.seen.append((self.path, key, stored, len(body)))
        out = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = handle_one
    do_POST = handle_one


def request(port, path, cookie=None, body=None, timeout=10.0):
    """Send a request on a fresh connection; return the socket."""
    s = relay.connect(port, timeout)
    method = "POST" if body is not None else "GET"
    req = "%s %s HTTP/1.1\r\nHost: test\r\n" % (method, path)
    if cookie is not None:
        req += "Cookie: janitor_sid=%s\r\n" % cookie
    if body is not None:
        req += "Content-Length: %d\r\n" % len(body)
    s.sendall(req.encode() + b"Connection: close\r\n\r\n")
    if body is not None:
        threading.Thread(target=s.sendall, args=(body,), daemon=True).start()
    return s


def answered_within(s, seconds):
    """Whether a response byte arrives within seconds (left unread)."""
    s.settimeout(seconds)
    try:
        return len(s.recv(1, socket.MSG_PEEK)) > 0
    except socket.timeout:
        return False
    finally:
        s.settimeout(10.0)


def set_cookie(headers):
    for v in headers.get("set-cookie", []):
        if v.startswith("janitor_sid="):
            return v.split(";", 1)[0].split("=", 1)[1]
    return None


class Durable(unittest.TestCase):

    def start(self, upstream_timeout="60s", extra=""):
        self.app = http.server.ThreadingHTTPServer(("127.0.0.1", 0), App)
        self.app.daemon_threads = True
        self.app.seen = []
        self.app.lock = threading.Lock()
        threading.Thread(target=self.app.serve_forever, daemon=True).start()
        self.addCleanup(self.app.server_close)
        self.addCleanup(self.app.shutdown)
        self.jd = jtest.Janitord(POLICY, upstream_port=self.app.server_port,
                                 upstream_timeout=upstream_timeout,
                                 extra=extra)
        self.app.db = os.path.join(self.jd.dir, "janitor.db")
        self.jd.start()
        self.addCleanup(self.jd.__exit__, None, None, None)

    def seen(self, path):
        with self.app.lock:
            return [r for r in self.app.seen if r[0] == path]

    def metric(self, name):
        return sessiontest.metric(self.jd, name)

    def lock_state(self):
        con = sqlite3.connect(self.app.db, isolation_level=None, timeout=5)
        con.execute("BEGIN IMMEDIATE")
        return con

    def stop_clean(self):
        relay.stop_clean(self, self.jd)

    def test_held_until_stored(self):
        self.start()
        old1 = "janitor_sid=" + self.jd.cookie("old1")
        st, h, body = relay.get(self.jd.port, "/warm",
                                headers={"Cookie": old1})
        self.assertEqual(st, 200)
        self.assertEqual(self.seen("/warm"), [("/warm", "old1", True, 0)])

        lock = self.lock_state()
        t0 = time.monotonic()
        # No cookie: one is issued at once, for a provisional session the
        # app sees the key of but which nothing is promised for yet.
        st, h, body = relay.get(self.jd.port, "/fresh")
        self.assertEqual(st, 200)
        value = sessiontest.cookie_value_of(h)
        key = value.split(".", 1)[0]
        self.assertEqual(self.seen("/fresh"), [("/fresh", key, False, 0)])
        fresh = request(self.jd.port, "/back", cookie=value)  # comes back
        mine = request(self.jd.port, "/mine", cookie=self.jd.cookie("mine1"))
        again = request(self.jd.port, "/again",
                        cookie=self.jd.cookie("mine1"))
        post = request(self.jd.port, "/post", cookie=self.jd.cookie("post1"),
                       body=b"p" * 200000)
        gone = request(self.jd.port, "/gone", cookie=self.jd.cookie("gone1"))
        # An existing session is not held, even while the commit is stuck.
        st, h, body = relay.get(self.jd.port, "/old",
                                headers={"Cookie": old1})
        self.assertEqual(st, 200)
        self.assertLess(time.monotonic() - t0, 2.0)
        self.assertEqual(len(self.seen("/old")), 1)
        # The confirming ones are held: nothing reached the app or client.
        self.assertFalse(answered_within(fresh, 0.8))
        for s in (mine, again, post):
            self.assertFalse(answered_within(s, 0.05))
        self.assertEqual(self.metric("janitor_requests_held"), 5)
        gone.close()                                      # leaves while held
        time.sleep(0.2)
        for p in ("/back", "/mine", "/again", "/post", "/gone"):
            self.assertEqual(self.seen(p), [], p)
        lock.rollback()
        lock.close()

        results = {}
        for name, s in (("back", fresh), ("mine", mine), ("again", again),
                        ("post", post)):
            try:
                results[name] = relay.Reader(s).response()
            finally:
                s.close()
        self.assertLess(time.monotonic() - t0, 8)
        for name, (st, h, body) in results.items():
            self.assertEqual(st, 200, name)
            self.assertEqual(body, b"ok\n", name)
        self.assertIsNone(set_cookie(results["back"][1]))
        self.assertIsNone(set_cookie(results["mine"][1]))
        self.assertEqual(self.seen("/back"), [("/back", key, True, 0)])
        self.assertEqual(self.seen("/mine"), [("/mine", "mine1", True, 0)])
        self.assertEqual(self.seen("/again"), [("/again", "mine1", True, 0)])
        self.assertEqual(self.seen("/post"), [("/post", "post1", True,
                                                200000)])
        # The client that left was never forwarded; its session is stored
        # (maybe by a later commit than the others').
        self.assertEqual(self.seen("/gone"), [])

        def keys():
            con = sqlite3.connect(self.app.db)
            try:
                return {r[0] for r in con.execute("SELECT key FROM sessions")}
            finally:
                con.close()
        jtest.wait_for(lambda: {"old1", "mine1", "post1", "gone1", key} <=
                       keys(), timeout=5, what="every session stored")
        jtest.wait_for(lambda: self.metric("janitor_requests_held") == 0,
                       timeout=5, what="nothing held")
        # /warm (old1's first request) was held too, until its commit.
        self.assertEqual(self.metric("janitor_requests_held_total"), 6)
        # Now stored: the next request of a once-new session is not held.
        lock = self.lock_state()
        try:
            st, h, body = relay.get(self.jd.port, "/next", headers={
                "Cookie": "janitor_sid=" + self.jd.cookie("mine1")})
            self.assertEqual(st, 200)
        finally:
            lock.rollback()
            lock.close()
        self.stop_clean()

    def test_first_request(self):
        """sessions.confirm: first_request: the first request of a client
        without a cookie is held until its session is stored, and its
        Set-Cookie comes only then."""
        self.start(extra="sessions:\n  confirm: first_request\n")
        lock = self.lock_state()
        fresh = request(self.jd.port, "/fresh")
        self.assertFalse(answered_within(fresh, 0.8))
        self.assertEqual(self.seen("/fresh"), [])
        lock.rollback()
        lock.close()
        try:
            st, h, body = relay.Reader(fresh).response()
        finally:
            fresh.close()
        self.assertEqual(st, 200)
        key = sessiontest.cookie_of(h)
        self.assertIsNotNone(key)
        self.assertEqual(self.seen("/fresh"), [("/fresh", key, True, 0)])
        self.assertEqual(self.metric("janitor_requests_held_total"), 1)
        self.stop_clean()

    def test_held_too_long(self):
        """A commit stuck past upstream_timeout: 503, the app saw nothing;
        later requests of that session go through."""
        self.start(upstream_timeout="1s")
        late1 = "janitor_sid=" + self.jd.cookie("late1")
        lock = self.lock_state()
        t0 = time.monotonic()
        try:
            st, h, body = relay.get(self.jd.port, "/late",
                                    headers={"Cookie": late1})
            took = time.monotonic() - t0
        finally:
            lock.rollback()
            lock.close()
        self.assertEqual(st, 503)
        self.assertGreater(took, 0.9)
        self.assertLess(took, 2.5)
        self.assertIsNone(set_cookie(h))
        self.assertEqual(self.seen("/late"), [])
        st, h, body = relay.get(self.jd.port, "/later",
                                headers={"Cookie": late1})
        self.assertEqual(st, 200)
        self.assertEqual(self.seen("/later"), [("/later", "late1", True, 0)])
        self.stop_clean()

    def test_stop_while_held(self):
        """SIGTERM while a new session's request is held: the request
        is answered once its commit comes, then janitord exits 0."""
        self.start()
        lock = self.lock_state()
        s = request(self.jd.port, "/bye", cookie=self.jd.cookie("bye1"))
        self.assertFalse(answered_within(s, 0.3))
        self.jd.signal(signal.SIGTERM)
        time.sleep(0.3)
        self.assertIsNone(self.jd.proc.poll())
        lock.rollback()
        lock.close()
        try:
            st, h, body = relay.Reader(s).response()
        finally:
            s.close()
        self.assertEqual((st, body), (200, b"ok\n"))
        self.assertEqual(self.seen("/bye"), [("/bye", "bye1", True, 0)])
        self.stop_clean()


if __name__ == "__main__":
    jtest.main()
