"""Webhooks from real traffic through janitord: a browser tab's WebSocket
closes (unload, then expire after after_disconnect), a plain HTTP client
expires after its last request, and kill -9 at random moments while tabs
open and close under load loses no event: every session that was stored
expires exactly once, its unload (if it was live) first, and no session
is lost: a new session's first request is held until the session is
committed, so every session a client got an answer for (a Set-Cookie, a
101, a 200) is known after the restart and gets its events."""

import base64
import os
import random
import signal
import sqlite3
import sys
import threading
import time
import unittest
import urllib.request

import jtest
import relay
from receiver import Receiver
from sessiontest import Channel

SECRET = bytes(range(50, 82))
EXTRA = """
on_unload:
  grace: 0s
  webhook: http://127.0.0.1:{rx}/unload
on_expire:
  after_disconnect: {after}
  webhook: http://127.0.0.1:{rx}/expire
  remove: ['{dir}/sessions/{{session}}']
webhooks:
  secret_file: {dir}/secret
  timeout: 1s
  backoff: {{initial: 50ms, max: 300ms}}
  max_attempts: 1000
"""


def get(jd, key, path="/plain"):
    """GET with key's cookie (as janitord issued it), or with none; returns
    the key of the session the response belongs to and the cookie it set,
    if any."""
    headers = {"Cookie": "janitor_sid=" + jd.cookie(key)} if key else {}
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (jd.port, path),
                                 headers=headers)
    with urllib.request.urlopen(req, timeout=5) as r:
        r.read()
        for v in r.headers.get_all("Set-Cookie") or []:
            if v.startswith("janitor_sid="):
                value = v.split(";", 1)[0].split("=", 1)[1]
                return value.split(".", 1)[0], value
    return key, None


def get_back(jd, value, path="/plain"):
    """GET with a cookie value janitord set: the client coming back."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (jd.port, path),
                                 headers={"Cookie": "janitor_sid=" + value})
    with urllib.request.urlopen(req, timeout=5) as r:
        r.read()


class LiveWebhooks(unittest.TestCase):

    def setUp(self):
        self.rx_port = jtest.free_port()
        self.rx = Receiver(self.rx_port, secret=SECRET)
        self.backend = relay.Backend().start()
        self.jd = None

    def tearDown(self):
        if self.jd is not None:
            self.jd.kill()
            if self.jd.proc is not None:
                self.jd.logf.close()
        self.backend.stop()
        self.rx.stop()

    def daemon(self, after):
        jd = relay.janitord(self.backend.port, extra=EXTRA)
        jd.write_policy(relay.POLICY, extra=EXTRA.format(
            rx=self.rx_port, after=after, dir=jd.dir))
        with open(os.path.join(jd.dir, "secret"), "w") as f:
            f.write("whsec_" + base64.b64encode(SECRET).decode())
        self.jd = jd
        self.db = os.path.join(jd.dir, "janitor.db")
        return jd

    def table_counts(self):
        con = sqlite3.connect(self.db)
        try:
            return (con.execute("SELECT COUNT(*) FROM sessions")
                    .fetchone()[0],
                    con.execute("SELECT COUNT(*) FROM outbox WHERE dead = 0")
                    .fetchone()[0])
        finally:
            con.close()

    def test_tab_and_plain_client(self):
        self.rx.start()
        jd = self.daemon("1s").start()
        # The page load issued the cookie; then the app made the directory.
        cookie = jd.cookie("tabA1")
        os.makedirs(os.path.join(jd.dir, "sessions", "tabA1", "x"))
        ws = Channel(jd.port, "/ws", cookie=cookie, websocket=True)
        self.assertEqual(ws.status, 101)
        get(jd, "plainB1")
        get(jd, "plainB1")
        time.sleep(0.3)
        t0 = time.monotonic()
        ws.close()
        jtest.wait_for(lambda: len(self.rx.delivered()) >= 3, timeout=10,
                       what="3 deliveries")
        recs = self.rx.delivered()
        by = {(r["session"], r["type"]): r for r in recs}
        self.assertEqual(set(by), {("tabA1", "session.unload"),
                                   ("tabA1", "session.expire"),
                                   ("plainB1", "session.expire")})
        for r in recs:
            self.assertTrue(r["sig_ok"], r)
        u = by[("tabA1", "session.unload")]
        e = by[("tabA1", "session.expire")]
        self.assertLess(u["t"] - t0, 1.0)
        self.assertGreater(e["t"], u["t"])
        self.assertEqual(u["doc"]["data"]["reason"], "disconnect")
        self.assertEqual(e["doc"]["data"]["reason"], "after_disconnect")
        self.assertEqual(u["doc"]["data"]["client_ip"], "127.0.0.1")
        p = by[("plainB1", "session.expire")]["doc"]["data"]
        self.assertEqual((p["reason"], p["requests"]),
                         ("after_disconnect", 2))
        jtest.wait_for(lambda: not os.path.exists(
            os.path.join(jd.dir, "sessions", "tabA1")), timeout=5,
            what="tabA1 removed")

    def test_kill9_under_traffic(self):
        """10 rounds: tabs open and close and plain requests flow with
        fresh keys each round; janitord is kill -9'd at a random moment.
        Every third plain request has no cookie and is issued one, and the
        client comes back with it (which confirms the session).  At the
        end every confirmed session a client was answered for has expired
        exactly once, after its unload when it was live, and nothing is
        pending."""
        self.rx.set_mode("flaky", flaky=0.2)
        self.rx.start()
        jd = self.daemon("1s")
        rng = random.Random(int(os.environ.get("KILL_SEED",
                                               time.time() * 1000)))
        used = set()
        live_used = set()
        live_opens = {}     # key -> WebSocket channels a client got (101)

        def traffic(rnd, stop):
            i = 0
            while not stop.is_set():
                key = "r%dk%d" % (rnd, i % 40)
                i += 1
                try:
                    if i % 3 == 0:
                        ws = Channel(jd.port, "/ws", cookie=jd.cookie(key),
                                     websocket=True)
                        if ws.status == 101:
                            live_used.add(key)
                            live_opens[key] = live_opens.get(key, 0) + 1
                            used.add(key)
                        time.sleep(0.01)
                        ws.close()
                    elif i % 3 == 1:
                        new, value = get(jd, None)
                        get_back(jd, value)
                        used.add(new)
                    else:
                        get(jd, key)
                        used.add(key)
                except Exception:
                    time.sleep(0.01)   # killed: wait for the restart

        for rnd in range(11):
            jd.start()
            stop = threading.Event()
            th = threading.Thread(target=traffic, args=(rnd, stop),
                                  daemon=True)
            th.start()
            if rnd < 10:
                time.sleep(rng.uniform(0.1, 0.6))
                jd.proc.send_signal(signal.SIGKILL)
                jd.proc.wait(10)
                jd.logf.close()
            else:
                time.sleep(0.5)
            stop.set()
            th.join(10)
        # The last run goes on: everything expires and is delivered.
        jtest.wait_for(lambda: self.table_counts() == (0, 0), timeout=30,
                       what="no session and no pending event left")
        recs = self.rx.delivered()
        ids = {}
        order_ok = True
        expired = set()
        for r in recs:
            self.assertTrue(r["sig_ok"], r)
            # One session's life is its key and creation time: a key
            # whose session expired may come back as a new session.
            life = (r["session"], r["doc"]["data"]["created_at"])
            ids.setdefault((life, r["type"]), set()).add(r["id"])
            if r["type"] == "session.expire":
                expired.add(life)
            elif life in expired:
                order_ok = False
        # An expire is generated once per life.  An unload once per
        # occurrence: a session unloaded, live again and closed again (a
        # tab reopened with the same cookie) unloads again, so a life has
        # at most as many unloads as channels were opened on its key.
        multi = {k: v for k, v in ids.items() if len(v) > 1 and (
            k[1] == "session.expire" or
            len(v) > live_opens.get(k[0][0], 0))}
        unloaded = {s for (s, _), t in ids if t == "session.unload"}
        expired_keys = {s for s, _ in expired}
        last = {"r10k%d" % i for i in range(40)} & used
        sys.stderr.write(
            "kill -9 x10 under traffic: %d keys answered, %d of them never "
            "stored (lost), %d sessions stored and "
            "expired, %d unloads, %d deliveries (%d duplicates); events "
            "with more than one id: %d; unload after expire: %s\n"
            % (len(used), len(used - expired_keys), len(expired),
               len(unloaded), len(recs),
               len(recs) - len(ids), len(multi), not order_ok))
        self.assertEqual(multi, {})
        # Nothing lost: every session a client was answered for expired.
        self.assertEqual(used - expired_keys, set())
        self.assertTrue(order_ok)
        # Every session that was stored (it has an event) expired.
        self.assertEqual({life for life, _ in ids} - expired, set())
        # The last round was not killed: all of its sessions exist, so
        # all expired, and its tabs unloaded first.
        self.assertEqual(last - expired_keys, set())
        self.assertEqual((last & live_used) - unloaded, set())


if __name__ == "__main__":
    jtest.main()
