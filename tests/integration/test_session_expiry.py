"""Expiry through the real binary, on real time: after_disconnect after the
last request of a session that was never live and after the unload of one
that was, time_to_live even while live, and capacity (least recently
active first, never a live session: when all are live a new session is
not made and its requests go untracked)."""

import time
import unittest

import relay
from sessiontest import (Channel, cookie_value_of, forwarded, metric, session,
                         state, wait_metric, wait_state)

EXTRA = """
sessions:
  capacity: 3
on_unload:
  grace: 0s
on_expire:
  after_disconnect: 2s
  time_to_live: {ttl}
"""


class Expiry(unittest.TestCase):

    def start(self, ttl="0"):
        self.backend = relay.Backend().start()
        self.addCleanup(self.backend.stop)
        self.jd = relay.janitord(self.backend.port,
                                 extra=EXTRA.replace("{ttl}", ttl))
        self.jd.start()
        self.addCleanup(self.jd.__exit__, None, None, None)

    def get(self, key):
        st, h, body = relay.get(self.jd.port, "/plain",
                                {"Cookie": "janitor_sid=" +
                                 self.jd.cookie(key)})
        self.assertEqual(st, 200)

    def test_after_disconnect(self):
        self.start()
        self.get("plain")
        time.sleep(1.2)
        self.get("plain")                  # activity moves the expiry
        time.sleep(1.2)
        self.assertIsNotNone(session(self.jd, "plain"))
        wait_metric(self.jd,
                    'janitor_expirations_total{reason="after_disconnect"}', 1,
                    timeout=3.0)
        self.assertIsNone(session(self.jd, "plain"))
        # Live, closed, unloaded at once, expired two seconds later.
        ws = Channel(self.jd.port, "/ws", cookie=self.jd.cookie("tab"),
                     websocket=True)
        wait_state(self.jd, "tab", "live")
        time.sleep(2.3)                    # live: no expiry
        self.assertEqual(state(self.jd, "tab"), "live")
        ws.close()
        wait_state(self.jd, "tab", "unloaded", timeout=1.0)
        t0 = time.monotonic()
        wait_metric(self.jd,
                    'janitor_expirations_total{reason="after_disconnect"}', 2,
                    timeout=5.0)
        self.assertGreater(time.monotonic() - t0, 1.5)
        self.assertEqual(metric(self.jd, "janitor_unloads_total"), 1)

    def test_time_to_live_while_live(self):
        self.start(ttl="1s")
        ws = Channel(self.jd.port, "/ws", cookie=self.jd.cookie("ttl"),
                     websocket=True)
        wait_state(self.jd, "ttl", "live")
        wait_metric(self.jd, 'janitor_expirations_total{reason="time_to_live"}',
                    1, timeout=3.0)
        self.assertIsNone(session(self.jd, "ttl"))
        # Unload came first, exactly once.
        self.assertEqual(metric(self.jd, "janitor_unloads_total"), 1)
        ws.close()
        time.sleep(0.3)
        self.assertEqual(metric(self.jd, "janitor_unloads_total"), 1)

    def test_capacity(self):
        self.start()
        for k in ("a", "b", "c"):
            self.get(k)
        self.get("a")                      # a is the most recent now
        self.get("d")                      # b goes
        self.assertIsNone(session(self.jd, "b"))
        self.assertEqual(
            metric(self.jd, 'janitor_expirations_total{reason="capacity"}'), 1)
        for k in ("a", "c", "d"):
            self.assertIsNotNone(session(self.jd, k), k)

    def test_capacity_spares_live(self):
        self.start()
        tabs = []
        for k in ("a", "b", "c"):
            tabs.append(Channel(self.jd.port, "/ws",
                                cookie=self.jd.cookie(k), websocket=True))
            wait_state(self.jd, k, "live")
        # Every session is live: a new one is not made, nobody evicted.
        st, h, body = relay.get(self.jd.port, "/headers", {
            "Cookie": "janitor_sid=" + self.jd.cookie("d")})
        self.assertEqual(st, 200)
        self.assertEqual(forwarded(body), [])
        self.assertIsNone(session(self.jd, "d"))
        self.assertEqual(metric(self.jd, 'janitor_sessions_refused_total'
                                '{reason="capacity"}'), 1)
        # A newcomer gets a cookie; coming back, it goes untracked too.
        st, h, body = relay.get(self.jd.port, "/headers")
        value = cookie_value_of(h)
        self.assertEqual(forwarded(body), [value.split(".")[0]])
        st, h, body = relay.get(self.jd.port, "/headers", {
            "Cookie": "janitor_sid=" + value})
        self.assertEqual(forwarded(body), [])
        self.assertIsNone(session(self.jd, value.split(".")[0]))
        self.assertEqual(metric(self.jd, 'janitor_sessions_refused_total'
                                '{reason="capacity"}'), 2)
        for k in ("a", "b", "c"):
            self.assertEqual(state(self.jd, k), "live")
        self.assertEqual(
            metric(self.jd, 'janitor_expirations_total{reason="capacity"}'), 0)
        self.jd.wait_log("all 3 sessions are live (sessions.capacity)")
        # One tab closes: now there is room, at its expense.
        tabs[0].close()
        wait_state(self.jd, "a", "unloaded")
        st, h, body = relay.get(self.jd.port, "/headers", {
            "Cookie": "janitor_sid=" + self.jd.cookie("d")})
        self.assertEqual(forwarded(body), ["d"])
        self.assertIsNone(session(self.jd, "a"))
        for t in tabs[1:]:
            t.close()


if __name__ == "__main__":
    relay.main()
