"""Live channels through the real binary: a WebSocket and an SSE stream
make a session live, two tabs with one cookie keep it live until both
close, unload follows the last close within 1 s with grace 0, and a
reconnect within grace cancels the unload."""

import time
import unittest

import relay
from sessiontest import (Channel, metric, session, state, wait_metric,
                         wait_state)

GRACE0 = """
on_unload:
  grace: 0s
"""

GRACE2 = """
on_unload:
  grace: 2s
"""


class Live(unittest.TestCase):

    def start(self, extra):
        self.backend = relay.Backend().start()
        self.addCleanup(self.backend.stop)
        self.jd = relay.janitord(self.backend.port, extra=extra)
        self.jd.start()
        self.addCleanup(self.jd.__exit__, None, None, None)

    def test_websocket_unload_within_1s(self):
        self.start(GRACE0)
        ws = Channel(self.jd.port, "/ws", cookie=self.jd.cookie("wstab"),
                     websocket=True)
        self.assertEqual(ws.status, 101)
        wait_state(self.jd, "wstab", "live")
        self.assertEqual(session(self.jd, "wstab")["channels"], 1)
        self.assertEqual(metric(self.jd, 'janitor_sessions{state="live"}'), 1)
        time.sleep(0.3)
        self.assertEqual(metric(self.jd, "janitor_unloads_total"), 0)
        t0 = time.monotonic()
        ws.close()
        wait_metric(self.jd, "janitor_unloads_total", 1, timeout=1.0)
        took = time.monotonic() - t0
        self.assertLess(took, 1.0)
        self.assertEqual(state(self.jd, "wstab"), "unloaded")
        # Exactly once.
        time.sleep(0.5)
        self.assertEqual(metric(self.jd, "janitor_unloads_total"), 1)

    def test_sse_is_live(self):
        self.start(GRACE0)
        sse = Channel(self.jd.port, "/sse?n=1000&interval=0.05",
                      cookie=self.jd.cookie("ssetab"))
        self.assertEqual(sse.status, 200)
        wait_state(self.jd, "ssetab", "live")
        sse.close()
        wait_state(self.jd, "ssetab", "unloaded", timeout=1.0)
        self.assertEqual(metric(self.jd, "janitor_unloads_total"), 1)

    def test_plain_requests_are_not_live(self):
        self.start(GRACE0)
        for path in ("/plain", "/slow?n=3&delay=0.1", "/chunked"):
            st, h, body = relay.get(self.jd.port, path,
                                    {"Cookie": "janitor_sid=" +
                                     self.jd.cookie("plain")})
            self.assertEqual(st, 200)
        time.sleep(0.3)
        self.assertEqual(state(self.jd, "plain"), "idle")
        self.assertEqual(metric(self.jd, "janitor_unloads_total"), 0)

    def test_two_tabs_one_cookie(self):
        self.start(GRACE0)
        a = Channel(self.jd.port, "/ws", cookie=self.jd.cookie("shared"),
                    websocket=True)
        b = Channel(self.jd.port, "/sse?n=1000&interval=0.05",
                    cookie=self.jd.cookie("shared"))
        jtest_wait = wait_state(self.jd, "shared", "live")
        self.assertTrue(jtest_wait)
        self.assertEqual(session(self.jd, "shared")["channels"], 2)
        a.close()
        time.sleep(0.6)
        self.assertEqual(state(self.jd, "shared"), "live")
        self.assertEqual(session(self.jd, "shared")["channels"], 1)
        self.assertEqual(metric(self.jd, "janitor_unloads_total"), 0)
        b.close()
        wait_state(self.jd, "shared", "unloaded", timeout=1.0)
        self.assertEqual(metric(self.jd, "janitor_unloads_total"), 1)

    def test_grace_reconnect(self):
        self.start(GRACE2)
        ws = Channel(self.jd.port, "/ws", cookie=self.jd.cookie("reload"),
                     websocket=True)
        wait_state(self.jd, "reload", "live")
        ws.close()                      # the tab reloads ...
        time.sleep(0.5)
        self.assertEqual(state(self.jd, "reload"), "idle")
        ws = Channel(self.jd.port, "/ws", cookie=self.jd.cookie("reload"),
                     websocket=True)
        wait_state(self.jd, "reload", "live")
        time.sleep(2.5)                 # past the first close's grace
        self.assertEqual(metric(self.jd, "janitor_unloads_total"), 0)
        self.assertEqual(state(self.jd, "reload"), "live")
        t0 = time.monotonic()
        ws.close()                      # ... and now it is closed
        wait_metric(self.jd, "janitor_unloads_total", 1, timeout=4.0)
        took = time.monotonic() - t0
        self.assertGreaterEqual(took, 1.9)
        self.assertLess(took, 3.0)


if __name__ == "__main__":
    relay.main()
