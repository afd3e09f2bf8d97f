"""Keys aimed at someone else's files, from issue 12, replayed.

`Cookie: janitor_sid=uploads` against the default policy: a cookie janitord
did not issue (its MAC does not verify) counts as no cookie, so the client
gets a fresh key and "uploads" never becomes a session; the app sees only
the fresh key, in forward_header and in the Cookie header it gets.

Against sources a client controls (preset: gradio's ?session_hash=, a
cookie janitord does not issue) the key is the client's, but a remove:
target made before its session began is left alone, logged and counted:
`?session_hash=static` and `janitor_sid=uploads` expire and remove nothing
that existed before, while what the app made for the session since is
removed as ever."""

import os
import shutil
import tempfile
import time
import unittest

import jtest
import relay
from sessiontest import (cookie_of, cookie_value_of, forwarded, session,
                         wait_metric)
from test_session_gradio import GradioApp

POLICY = """
listen: 127.0.0.1:{port}
upstream: 127.0.0.1:{upstream_port}
state_dir: {dir}/state
admin:
  listen: 127.0.0.1:{admin_port}
on_expire:
  after_disconnect: 1s
  remove: ['{dir}/sessions/{{session}}']
log:
  level: info
{extra}
"""


class Keys(unittest.TestCase):

    def start(self, upstream_port, extra=""):
        self.jd = jtest.Janitord(POLICY, upstream_port=upstream_port,
                                 extra=extra)
        self.sessions = os.path.join(self.jd.dir, "sessions")
        # The app's own trees, there before any session.
        for name in ("uploads", "static"):
            os.makedirs(os.path.join(self.sessions, name, "sub"))
            with open(os.path.join(self.sessions, name, "sub", "keep"),
                      "w") as f:
                f.write(name)
        # Older than any session by more than the slack allowed for coarse
        # file-system clocks (FSUTIL_BIRTH_SLACK_MS).
        time.sleep(1.2)
        self.jd.start()
        self.addCleanup(self.jd.__exit__, None, None, None)

    def intact(self, name):
        return os.path.exists(os.path.join(self.sessions, name, "sub",
                                           "keep"))

    def test_forged_cookies_get_a_fresh_key(self):
        backend = relay.Backend().start()
        self.addCleanup(backend.stop)
        self.start(backend.port)
        state = os.path.join(self.jd.dir, "state")
        real = self.jd.cookie("mine", state_dir=state)
        # Signed right, but by another janitord (another secret).
        other = tempfile.mkdtemp(prefix="janitor-other-")
        self.addCleanup(shutil.rmtree, other, True)
        with open(os.path.join(other, "cookie.key"), "wb") as f:
            f.write(os.urandom(32))
        foreign = jtest.sign_cookie(other, "mine")
        tampered = real[:-1] + ("A" if real[-1] != "A" else "B")
        for value in ("uploads", "static", "mine", tampered, foreign,
                      "uploads.1764000000000.AAAAAAAAAAAAAAAAAAAAAA"):
            st, h, body = relay.get(self.jd.port, "/headers", {
                "Cookie": "theme=dark; janitor_sid=" + value})
            self.assertEqual(st, 200)
            key = cookie_of(h)
            self.assertIsNotNone(key, value)
            self.assertNotEqual(key, value.split(".")[0], value)
            # The app sees the fresh key, and no trace of the forged one.
            self.assertEqual(forwarded(body), [key], value)
            self.assertEqual(forwarded(body, "Cookie"), ["theme=dark"],
                             value)
        for name in ("uploads", "static", "mine"):
            self.assertIsNone(session(self.jd, name), name)
        # The real cookie is the session's, and the app sees only its key.
        st, h, body = relay.get(self.jd.port, "/headers", {
            "Cookie": "janitor_sid=" + real + "; theme=dark"})
        self.assertNotIn("set-cookie", h)
        self.assertEqual(forwarded(body), ["mine"])
        self.assertEqual(forwarded(body, "Cookie"),
                         ["theme=dark; janitor_sid=mine"])
        self.assertEqual(session(self.jd, "mine")["state"], "idle")
        # A cookie janitord issued goes back to it as it came.
        st, h, body = relay.get(self.jd.port, "/headers")
        value = cookie_value_of(h)
        st, h, body = relay.get(self.jd.port, "/headers", {
            "Cookie": "janitor_sid=" + value})
        self.assertNotIn("set-cookie", h)
        self.assertEqual(forwarded(body), [value.split(".")[0]])
        self.assertTrue(self.intact("uploads"))
        relay.stop_clean(self, self.jd)

    def test_client_cookie_names_an_old_directory(self):
        """cookie.issue: false: janitor_sid is the client's to choose."""
        backend = relay.Backend().start()
        self.addCleanup(backend.stop)
        self.start(backend.port, "sessions:\n  cookie:\n    issue: false\n")
        for i in range(2):
            st, h, body = relay.get(self.jd.port, "/headers", {
                "Cookie": "janitor_sid=uploads"})
            self.assertEqual(forwarded(body), ["uploads"])
        # A session of the client's own, whose directory the app makes.
        for i in range(2):
            relay.get(self.jd.port, "/plain", {"Cookie": "janitor_sid=fresh1"})
            os.makedirs(os.path.join(self.sessions, "fresh1", "sub"),
                        exist_ok=True)
        wait_metric(self.jd, 'janitor_expirations_total'
                    '{reason="after_disconnect"}', 2, timeout=10)
        wait_metric(self.jd, 'janitor_removals_total{result="older"}', 1)
        wait_metric(self.jd, 'janitor_removals_total{result="ok"}', 1)
        self.assertTrue(self.intact("uploads"))
        self.assertFalse(os.path.exists(os.path.join(self.sessions,
                                                     "fresh1")))
        self.jd.wait_log("remove %s: left alone" %
                         os.path.join(self.sessions, "uploads"))
        self.assertIn("before its session began", self.jd.log())
        relay.stop_clean(self, self.jd)

    def test_session_hash_static(self):
        app = GradioApp()
        self.addCleanup(app.stop)
        self.start(app.port, "preset: gradio\n")
        # Twice, so the session is confirmed and would expire for real.
        for i in range(2):
            st, h, body = relay.get(self.jd.port,
                                    "/favicon.ico?session_hash=static")
            self.assertEqual(st, 200)
        self.assertEqual(session(self.jd, "static")["state"], "idle")
        # And a real tab, whose directory the app makes after its join.
        relay.raw(self.jd.port, b"POST /gradio_api/queue/join?session_hash"
                  b"=tab1 HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n"
                  b"Connection: close\r\n\r\n{}")
        os.makedirs(os.path.join(self.sessions, "tab1", "files"))
        relay.get(self.jd.port, "/gradio_api/info?session_hash=tab1")
        wait_metric(self.jd, 'janitor_expirations_total'
                    '{reason="after_disconnect"}', 2, timeout=10)
        wait_metric(self.jd, 'janitor_removals_total{result="older"}', 1)
        wait_metric(self.jd, 'janitor_removals_total{result="ok"}', 1)
        self.assertTrue(self.intact("static"))
        self.assertTrue(self.intact("uploads"))
        self.assertFalse(os.path.exists(os.path.join(self.sessions, "tab1")))
        relay.stop_clean(self, self.jd)


if __name__ == "__main__":
    jtest.main()
