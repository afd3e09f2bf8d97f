"""The session-table flood of issue 12, replayed: 10 s of requests that
each make a new session (no cookie against the default policy; a random
?session_hash= on any path against preset: gradio), while a real user
holds a confirmed idle session and another a live channel, each with its
directory.  Before, the flood evicted both (capacity, live or not), fired
their webhooks and deleted their directories.  Now a new session is
provisional: the cookie-less flood keeps nothing at all (a provisional
session of an issued key is its signed cookie alone), the session_hash
flood only ever drops its own provisional sessions, in memory; no
confirmed session and no live one is evicted, no directory is removed,
and the state file holds nothing of the flood."""

import os
import random
import sqlite3
import unittest

import jtest
import relay
from floodtest import flood
from sessiontest import Channel, metric, session, state, wait_state
from test_session_gradio import GradioApp

DEFAULT = """
listen: 127.0.0.1:{port}
upstream: 127.0.0.1:{upstream_port}
state_dir: {dir}
admin:
  listen: 127.0.0.1:{admin_port}
sessions:
  capacity: 5
on_unload:
  grace: 0s
  remove: ['{dir}/sessions/{{session}}/tmp']
on_expire:
  remove: ['{dir}/sessions/{{session}}']
log:
  level: info
"""

GRADIO = """
preset: gradio
""" + DEFAULT

SECONDS = 10.0


class Flood(unittest.TestCase):

    def start(self, policy, upstream_port):
        self.jd = jtest.Janitord(policy, upstream_port=upstream_port)
        self.jd.start()
        self.addCleanup(self.jd.__exit__, None, None, None)

    def victim_dirs(self, *keys):
        for k in keys:
            os.makedirs(os.path.join(self.jd.dir, "sessions", k, "tmp"))
            with open(os.path.join(self.jd.dir, "sessions", k, "tmp",
                                   "upload"), "w") as f:
                f.write(k)

    def stored_keys(self):
        con = sqlite3.connect(os.path.join(self.jd.dir, "janitor.db"))
        try:
            return {r[0] for r in con.execute("SELECT key FROM sessions")}
        finally:
            con.close()

    def check_survivors(self, idle, live, counts, kept_none=False):
        total = sum(v for k, v in counts.items() if k != "errors")
        self.assertGreater(counts.get(200, 0), 0, counts)
        # The flood evicted, unloaded and removed nothing ...
        self.assertEqual(metric(
            self.jd, 'janitor_expirations_total{reason="capacity"}'), 0)
        self.assertEqual(metric(self.jd, "janitor_unloads_total"), 0)
        self.assertEqual(metric(self.jd, 'janitor_removals_total'
                                '{result="ok"}'), 0)
        self.assertEqual(state(self.jd, idle), "idle")
        self.assertEqual(state(self.jd, live), "live")
        for k in (idle, live):
            self.assertTrue(os.path.exists(os.path.join(
                self.jd.dir, "sessions", k, "tmp", "upload")), k)
        # ... nothing of it reached the state file ...
        self.assertEqual(self.stored_keys(), {idle, live})
        self.assertEqual(metric(self.jd, "janitor_sessions_created_total"),
                         2)
        if kept_none:
            # ... and nothing of it was kept in memory either: each
            # visitor's provisional session was its cookie alone.
            self.assertGreater(metric(
                self.jd, "janitor_sessions_provisional_total"), 1000, counts)
            self.assertEqual(metric(
                self.jd, 'janitor_sessions{state="provisional"}'), 0)
        else:
            # ... though it overflowed the provisional table many times
            # over (capacity 5: 50 provisional sessions at most).
            self.assertGreater(metric(
                self.jd, 'janitor_sessions_provisional_dropped_total'
                '{reason="capacity"}'), 100, counts)
        return total

    def test_cookieless_flood(self):
        backend = relay.Backend().start()
        self.addCleanup(backend.stop)
        self.start(DEFAULT, backend.port)
        idle_cookie = self.jd.cookie("idleuser")
        live_cookie = self.jd.cookie("liveuser")
        self.victim_dirs("idleuser", "liveuser")
        st, h, body = relay.get(self.jd.port, "/plain",
                                {"Cookie": "janitor_sid=" + idle_cookie})
        self.assertEqual(st, 200)
        ws = Channel(self.jd.port, "/ws", cookie=live_cookie, websocket=True)
        self.addCleanup(ws.close)
        self.assertEqual(ws.status, 101)
        wait_state(self.jd, "liveuser", "live")

        counts = flood(self.jd.port, lambda i: "/plain", SECONDS)
        total = self.check_survivors("idleuser", "liveuser", counts,
                                     kept_none=True)
        # The WebSocket is still open: echo through it.
        ws.sock.sendall(bytes([0x81, 0x84, 1, 2, 3, 4]) +
                        bytes(b ^ m for b, m in zip(b"ping", b"\1\2\3\4")))
        self.assertEqual(ws.reader._take(6), b"\x81\x04ping")
        print("cookie-less flood: %d requests in %.0f s: %s"
              % (total, SECONDS, counts))
        ws.close()
        relay.stop_clean(self, self.jd)

    def test_session_hash_flood(self):
        app = GradioApp()
        self.addCleanup(app.stop)
        self.start(GRADIO, app.port)
        self.victim_dirs("idleuser", "liveuser")
        # A tab that came back (queue join, then its data): confirmed.
        for path in ("/gradio_api/queue/join?session_hash=idleuser",
                     "/gradio_api/info?session_hash=idleuser"):
            st, h, body = relay.get(self.jd.port, path)
            self.assertEqual(st, 200)
        hb = Channel(self.jd.port, "/gradio_api/heartbeat/liveuser")
        self.addCleanup(hb.close)
        self.assertEqual(hb.status, 200)
        wait_state(self.jd, "liveuser", "live")

        rnd = random.Random()
        paths = ["/", "/favicon.ico", "/gradio_api/info", "/config",
                 "/assets/index.js"]

        def path(i):
            return "%s?session_hash=%016x" % (paths[i % len(paths)],
                                             rnd.getrandbits(64))
        counts = flood(self.jd.port, path, SECONDS)
        total = self.check_survivors("idleuser", "liveuser", counts)
        self.assertIsNotNone(session(self.jd, "liveuser"))
        print("session_hash flood: %d requests in %.0f s: %s"
              % (total, SECONDS, counts))
        hb.close()
        relay.stop_clean(self, self.jd)


if __name__ == "__main__":
    jtest.main()
