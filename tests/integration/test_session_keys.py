"""Session keys through the real binary: a cookie is issued and stays
stable, hostile cookie values are never forwarded as keys, a spoofed
forward_header never reaches the app, and the admin session routes.  Keys
the tests choose are sent as janitord would have issued them
(jtest.sign_cookie)."""

import unittest

import relay
from sessiontest import (admin, cookie_of, cookie_value_of, forwarded,
                         metric, session)


class SessionKeys(unittest.TestCase):

    def setUp(self):
        self.backend = relay.Backend().start()
        self.addCleanup(self.backend.stop)
        self.jd = relay.janitord(self.backend.port)
        self.jd.start()
        self.addCleanup(self.jd.__exit__, None, None, None)

    def get(self, cookie=None, headers=None):
        h = dict(headers or {})
        if cookie is not None:
            h["Cookie"] = cookie
        st, hd, body = relay.get(self.jd.port, "/headers", h)
        self.assertEqual(st, 200)
        return hd, forwarded(body)

    def test_cookie_issued_and_stable(self):
        hd, fwd = self.get()
        key = cookie_of(hd)
        self.assertIsNotNone(key)
        self.assertRegex(key, r"^[A-Za-z0-9_-]{22}$")
        sc = hd["set-cookie"][0]
        self.assertIn("Path=/", sc)
        self.assertIn("HttpOnly", sc)
        self.assertIn("SameSite=Lax", sc)
        self.assertNotIn("Secure", sc)
        self.assertEqual(fwd, [key])
        value = cookie_value_of(hd)
        self.assertRegex(value, r"^%s\.\d{13}\.[A-Za-z0-9_-]{22}$" % key)
        for i in range(3):
            hd, fwd = self.get("janitor_sid=" + value)
            self.assertNotIn("set-cookie", hd)
            self.assertEqual(fwd, [key])
        # The first request was issued the cookie and made no session: a
        # provisional session of an issued key is the cookie alone.  Its
        # return confirmed it.
        s = session(self.jd, key)
        self.assertEqual(s["requests"], 3)
        self.assertEqual(s["state"], "idle")
        self.assertEqual(s["client_ip"], "127.0.0.1")
        self.assertEqual(metric(self.jd, "janitor_sessions_created_total"), 1)
        # Another cookie of the page's own is left alone.
        hd, fwd = self.get("theme=dark; janitor_sid=" + value)
        self.assertEqual(fwd, [key])

    def test_secure_from_trusted_proto(self):
        hd, fwd = self.get(headers={"X-Forwarded-Proto": "https"})
        self.assertIn("; Secure", hd["set-cookie"][0])

    def test_hostile_cookies_never_forwarded(self):
        for value in ["../x", "a" * 129, "%2e%2e", "", "a b", "x/../../etc",
                      "\"quoted\"", "k.y", "uploads", "b" * 128]:
            hd, fwd = self.get("janitor_sid=" + value)
            key = cookie_of(hd)
            self.assertIsNotNone(key, value)
            self.assertNotEqual(key, value)
            self.assertEqual(fwd, [key], value)
        st, sessions = admin(self.jd, "GET", "/sessions?limit=100")
        for s in sessions:
            self.assertRegex(s["key"], r"^[A-Za-z0-9_-]{22}$")
        # 128 characters is the longest acceptable key.
        long_key = "b" * 128
        hd, fwd = self.get("janitor_sid=" + self.jd.cookie(long_key))
        self.assertNotIn("set-cookie", hd)
        self.assertEqual(fwd, [long_key])

    def test_spoofed_forward_header_removed(self):
        hd, fwd = self.get("janitor_sid=" + self.jd.cookie("mine"),
                           {"X-Janitor-Session": "evil"})
        self.assertEqual(fwd, ["mine"])
        hd, fwd = self.get(None, {"x-janitor-session": "../evil"})
        self.assertEqual(fwd, [cookie_of(hd)])
        self.assertIsNone(session(self.jd, "evil"))

    def test_admin_session_routes(self):
        for k in ("one", "two", "three"):
            self.get("janitor_sid=" + self.jd.cookie(k))
        st, body = admin(self.jd, "GET", "/sessions")
        self.assertEqual(st, 200)
        self.assertEqual([s["key"] for s in body], ["three", "two", "one"])
        for s in body:
            for field in ("key", "state", "created_at", "last_seen",
                          "channels", "requests"):
                self.assertIn(field, s)
            self.assertRegex(s["created_at"],
                             r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        st, body = admin(self.jd, "GET", "/sessions?limit=2")
        self.assertEqual(len(body), 2)
        st, body = admin(self.jd, "GET", "/sessions?state=live")
        self.assertEqual(body, [])
        st, body = admin(self.jd, "GET", "/sessions?state=idle&limit=10")
        self.assertEqual(len(body), 3)
        st, body = admin(self.jd, "GET", "/sessions/two")
        self.assertEqual((st, body["key"], body["requests"]), (200, "two", 1))
        st, body = admin(self.jd, "DELETE", "/sessions/two")
        self.assertEqual(st, 202)
        self.assertEqual(admin(self.jd, "GET", "/sessions/two")[0], 404)
        self.assertEqual(admin(self.jd, "DELETE", "/sessions/two")[0], 404)
        self.assertEqual(
            metric(self.jd, 'janitor_expirations_total{reason="admin"}'), 1)
        self.assertEqual(metric(self.jd, 'janitor_sessions{state="idle"}'), 2)


if __name__ == "__main__":
    relay.main()
