"""Webhooks end to end through the real janitord: sessions restored from the
state file (as after a restart) unload and expire, signed deliveries reach a
real receiver (which verifies signatures with its own HMAC code) in
per-session order, remove: directories go, admin DELETE expires, dead events
are listed, kill -9 at random moments loses nothing, and a hostile receiver
does not slow the proxy down."""

import http.server
import json
import os
import random
import signal
import socketserver
import sqlite3
import statistics
import sys
import threading
import time
import unittest
import urllib.request

import jtest
from receiver import Receiver

SECRET = bytes(range(7, 39))
POLICY = """\
upstream: 127.0.0.1:{upstream_port}
listen: 127.0.0.1:{port}
state_dir: {dir}/state
admin: {{listen: 127.0.0.1:{admin_port}}}
on_unload:
  grace: 0s
  webhook: http://127.0.0.1:{rx}/unload
on_expire:
  after_disconnect: {after}
  webhook: http://127.0.0.1:{rx}/expire
  remove: ['{dir}/sessions/{{session}}']
webhooks:
  secret_file: {dir}/secret
  timeout: {timeout}
  max_attempts: {attempts}
  backoff: {{initial: 50ms, max: 300ms}}
log: {{level: info}}
"""


class Upstream(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass        # janitord killed mid-request: expected here


class Hello(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        # One write: head and body in one segment.
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")

    def log_message(self, *a):
        pass


def admin(j, method, path):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (j.admin_port,
                                                            path),
                                 method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def metric(j, line_start):
    _, text = admin(j, "GET", "/metrics")
    for line in text.decode().splitlines():
        if line.startswith(line_start + " "):
            return float(line.split()[-1])
    return None


class WebhooksTest(unittest.TestCase):

    def setUp(self):
        self.rx_port = jtest.free_port()
        self.rx = Receiver(self.rx_port, secret=SECRET)
        self.up = Upstream(("127.0.0.1", 0), Hello)
        threading.Thread(target=self.up.serve_forever, daemon=True).start()
        self.j = None

    def tearDown(self):
        if self.j is not None:
            self.j.kill()
            if self.j.proc is not None:
                self.j.logf.close()
        self.rx.stop()
        self.up.shutdown()
        self.up.server_close()

    def daemon(self, after="1s", timeout="1s", attempts=1000):
        j = jtest.Janitord(POLICY, upstream_port=self.up.server_address[1],
                           rx=self.rx_port, after=after, timeout=timeout,
                           attempts=attempts)
        with open(os.path.join(j.dir, "secret"), "w") as f:
            import base64
            f.write("whsec_" + base64.b64encode(SECRET).decode() + "\n")
        self.j = j
        self.db = os.path.join(j.dir, "state", "janitor.db")
        # A first start makes the state file with its schema.
        j.start()
        j.wait_log("started with")      # signals are handled from here
        self.assertEqual(j.stop(), 0)
        j.logf.close()
        return j

    def seed(self, sessions):
        """Put sessions into the state file as a previous run left them."""
        now = int(time.time() * 1000)
        con = sqlite3.connect(self.db)
        con.executemany(
            "INSERT INTO sessions (key, created_at, last_seen, client_ip, "
            "requests, live, ever_live, unloaded) VALUES (?,?,?,?,?,?,?,?)",
            [(k, now - 60000, now - 500, "198.51.100.%d" % (i % 250),
              i + 1, live, ever, unl)
             for i, (k, live, ever, unl) in enumerate(sessions)])
        con.commit()
        con.close()

    def outbox(self):
        con = sqlite3.connect(self.db)
        try:
            return con.execute("SELECT COUNT(*) FROM outbox WHERE dead = 0"
                               ).fetchone()[0]
        finally:
            con.close()

    def sessions(self):
        con = sqlite3.connect(self.db)
        try:
            return con.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]
        finally:
            con.close()

    def check_order(self, recs):
        ids = {}
        seen_expire = set()
        for r in recs:
            self.assertTrue(r["sig_ok"], r)
            ids.setdefault((r["session"], r["type"]), set()).add(r["id"])
            if r["type"] == "session.expire":
                seen_expire.add(r["session"])
            else:
                self.assertNotIn(r["session"], seen_expire)
        for k, v in ids.items():
            self.assertEqual(len(v), 1, "%s has ids %s" % (k, v))
        return ids

    def test_unload_expire_signed_and_removed(self):
        self.rx.start()
        j = self.daemon(after="1s")
        self.seed([("live1", 1, 1, 0), ("idle1", 0, 0, 0),
                   ("gone1", 0, 1, 1)])
        for k in ("live1", "idle1", "gone1", "other"):
            os.makedirs(os.path.join(j.dir, "sessions", k, "a", "b"))
            with open(os.path.join(j.dir, "sessions", k, "a", "f"), "w") as f:
                f.write("x")
        # A symbolic link inside a session's directory to a directory
        # outside: the link goes, the target stays.
        outside = os.path.join(j.dir, "outside")
        os.makedirs(outside)
        with open(os.path.join(outside, "keep"), "w") as f:
            f.write("keep")
        os.symlink(outside, os.path.join(j.dir, "sessions", "live1", "a",
                                         "link"))
        j.start()
        jtest.wait_for(lambda: len(self.rx.delivered()) >= 4, timeout=15,
                       what="4 deliveries")
        jtest.wait_for(lambda: not os.path.exists(
            os.path.join(j.dir, "sessions", "live1")), timeout=5,
            what="removal of live1")
        recs = self.rx.delivered()
        ids = self.check_order(recs)
        self.assertEqual(set(ids), {("live1", "session.unload"),
                                    ("live1", "session.expire"),
                                    ("idle1", "session.expire"),
                                    ("gone1", "session.expire")})
        by = {(r["session"], r["type"]): r for r in recs}
        u = by[("live1", "session.unload")]
        self.assertEqual(u["path"], "/unload")
        self.assertEqual(u["doc"]["data"]["reason"], "disconnect")
        self.assertEqual(u["doc"]["data"]["requests"], 1)
        self.assertEqual(u["doc"]["data"]["client_ip"], "198.51.100.0")
        e = by[("live1", "session.expire")]
        self.assertEqual(e["path"], "/expire")
        self.assertEqual(e["doc"]["data"]["reason"], "after_disconnect")
        self.assertGreater(e["t"] - u["t"], 0.8)     # after_disconnect 1s
        for k in ("live1", "idle1", "gone1"):
            self.assertFalse(os.path.exists(os.path.join(j.dir, "sessions",
                                                         k)))
        self.assertTrue(os.path.exists(os.path.join(j.dir, "sessions",
                                                    "other", "a", "f")))
        with open(os.path.join(outside, "keep")) as f:
            self.assertEqual(f.read(), "keep")
        self.assertEqual(metric(j, 'janitor_removals_total{result="ok"}'), 3)
        jtest.wait_for(lambda: self.outbox() == 0, what="empty outbox")
        self.assertEqual(metric(
            j, 'janitor_webhook_deliveries_total{result="success"}'), 4)
        self.assertEqual(metric(j, "janitor_webhook_queue_depth"), 0)
        self.assertEqual(j.stop(), 0)
        con = sqlite3.connect(self.db)
        self.assertEqual(con.execute("SELECT COUNT(*) FROM sessions")
                         .fetchone()[0], 0)
        con.close()

    def test_admin_delete_then_dead_list(self):
        self.rx.set_mode("fail")
        self.rx.start()
        j = self.daemon(after="1h", attempts=3)
        self.seed([("adm1", 0, 0, 0)])
        j.start()
        code, _ = admin(j, "DELETE", "/sessions/adm1")
        self.assertEqual(code, 202)
        jtest.wait_for(lambda: metric(
            j, 'janitor_webhook_deliveries_total{result="dead"}') == 1,
            timeout=15, what="dead event")
        code, body = admin(j, "GET", "/webhooks/dead")
        self.assertEqual(code, 200)
        dead = json.loads(body)
        self.assertEqual(len(dead), 1)
        d = dead[0]
        self.assertEqual((d["session"], d["type"], d["attempts"],
                          d["last_error"]),
                         ("adm1", "session.expire", 3, "HTTP 500"))
        self.assertEqual(d["payload"]["data"]["reason"], "admin")
        tries = [r for r in self.rx.all() if r["session"] == "adm1"]
        self.assertEqual(len(tries), 3)
        self.assertEqual({r["id"] for r in tries}, {d["id"]})
        self.assertEqual(metric(j, "janitor_webhook_dead"), 1)
        # Kept across a restart, and not retried.
        self.assertEqual(j.stop(), 0)
        j.logf.close()
        j.start()
        code, body = admin(j, "GET", "/webhooks/dead")
        self.assertEqual(len(json.loads(body)), 1)
        time.sleep(0.5)
        self.assertEqual(len([r for r in self.rx.all()
                              if r["session"] == "adm1"]), 3)

    def test_reload_new_secret(self):
        """SIGHUP with a new secret: pending events are signed with it on
        their next attempt (same id)."""
        import base64
        new = bytes(range(100, 132))
        self.rx.set_mode("fail")
        self.rx.start()
        j = self.daemon(after="1h")
        self.seed([("rel1", 1, 1, 0)])
        j.start()
        jtest.wait_for(lambda: len(self.rx.all()) >= 1, what="an attempt")
        first = self.rx.all()[0]
        self.assertTrue(first["sig_ok"])
        with open(os.path.join(j.dir, "secret"), "w") as f:
            f.write("whsec_" + base64.b64encode(new).decode() + "\n")
        j.signal(signal.SIGHUP)
        j.wait_log("reloaded")
        self.rx.secret = new
        self.rx.set_mode("ok")
        jtest.wait_for(lambda: self.rx.delivered(), what="delivery")
        d = self.rx.delivered()[0]
        self.assertEqual(d["id"], first["id"])
        self.assertTrue(d["sig_ok"], "not signed with the new secret")

    def test_receiver_fails_then_down_then_up(self):
        self.rx.set_mode("fail")
        self.rx.start()
        j = self.daemon(after="200ms")
        self.seed([("s%d" % i, 1, 1, 0) for i in range(30)])
        j.start()
        time.sleep(1.0)
        failed = {(r["session"], r["type"], r["id"]) for r in self.rx.all()}
        self.assertTrue(failed)
        self.rx.stop()
        time.sleep(1.0)
        self.rx = Receiver(self.rx_port, secret=SECRET).start()
        jtest.wait_for(lambda: len({(r["session"], r["type"])
                                    for r in self.rx.delivered()}) >= 60,
                       timeout=30, what="60 events")
        ids = self.check_order(self.rx.delivered())
        for sess, typ, mid in failed:
            self.assertEqual(ids[(sess, typ)], {mid})

    def test_kill9_rounds(self):
        """kill -9 at random moments with events pending and sessions
        waiting to expire, under proxy load; 10 rounds; nothing lost."""
        n = 80
        self.rx.set_mode("flaky", flaky=0.3)
        self.rx.start()
        j = self.daemon(after="400ms")
        self.seed([("k%d" % i, 1, 1, 0) for i in range(n)])
        stop = threading.Event()
        served = [0]

        def load():
            while not stop.is_set():
                try:
                    with urllib.request.urlopen(
                            "http://127.0.0.1:%d/" % j.port, timeout=2) as r:
                        r.read()
                        served[0] += 1
                except Exception:
                    # janitord was just killed: try again.
                    time.sleep(0.01)

        loader = threading.Thread(target=load, daemon=True)
        loader.start()
        rng = random.Random(int(os.environ.get("KILL_SEED",
                                               time.time() * 1000)))
        try:
            for rnd in range(10):
                j.start()
                time.sleep(rng.uniform(0.05, 0.7))
                j.proc.send_signal(signal.SIGKILL)
                j.proc.wait(10)
                j.logf.close()
            j.start()
            want = {("k%d" % i, t) for i in range(n)
                    for t in ("session.unload", "session.expire")}
            jtest.wait_for(lambda: want <= {(r["session"], r["type"])
                                            for r in self.rx.delivered()},
                           timeout=60, what="every event")
            stop.set()
            loader.join(5)
            # The load's cookie-less requests made sessions too; they
            # expire 400 ms after their request and are delivered.
            try:
                jtest.wait_for(lambda: self.outbox() == 0 and
                               self.sessions() == 0, timeout=30,
                               what="empty outbox and session table")
            except TimeoutError:
                con = sqlite3.connect(self.db)
                sys.stderr.write("outbox: %r\nsessions: %r\n" % (
                    con.execute("SELECT seq, msg_id, session, type, "
                                "attempts, next_at, dead FROM outbox"
                                ).fetchall(),
                    con.execute("SELECT * FROM sessions").fetchall()))
                con.close()
                sys.stderr.write(j.log()[-3000:])
                raise
        finally:
            stop.set()
            loader.join(5)
        recs = self.rx.delivered()
        ids = self.check_order(recs)
        lost = want - set(ids)
        sys.stderr.write("janitord kill -9 x10: %d seeded events, %d "
                         "delivered, %d lost; %d events in all (with the "
                         "load's sessions), %d duplicate deliveries; %d "
                         "proxied requests meanwhile\n"
                         % (len(want), len(set(ids) & want), len(lost),
                            len(ids), len(recs) - len(ids), served[0]))
        self.assertEqual(lost, set())
        # Every event has one id (exactly-once generation), and the load's
        # sessions all expired: the session table is empty.
        self.assertTrue(want <= set(ids))

    def proxy_latency(self, j, count=150):
        # One session's requests: a new session's first request waits for
        # its commit, which would measure the disk, not the loop.
        url = "http://127.0.0.1:%d/" % j.port
        with urllib.request.urlopen(url, timeout=5) as r:
            cookie = r.headers["Set-Cookie"].split(";", 1)[0]
        lat = []
        for _ in range(count):
            t = time.monotonic()
            req = urllib.request.Request(url, headers={"Cookie": cookie})
            with urllib.request.urlopen(req, timeout=5) as r:
                self.assertEqual(r.read(), b"hi")
            lat.append(time.monotonic() - t)
        lat.sort()
        return statistics.median(lat), lat[int(len(lat) * 0.99) - 1]

    def test_hostile_receiver_does_not_slow_proxy(self):
        self.rx.start()
        j = self.daemon(after="100ms", timeout="2s")
        j.start()
        base_med, base_p99 = self.proxy_latency(j)
        self.assertEqual(j.stop(), 0)
        j.logf.close()
        for mode, kw in (("hang", {}), ("slow", {"delay": 1.5}),
                         ("close", {}), ("fail", {})):
            self.rx.set_mode(mode, **kw)
            self.seed([("%s%d" % (mode, i), 1, 1, 0) for i in range(200)])
            j.start()
            jtest.wait_for(lambda: len(self.rx.all()) > 0, timeout=10,
                           what="first attempt")
            med, p99 = self.proxy_latency(j)
            sys.stderr.write("%s receiver: proxy median %.2f ms, p99 %.2f ms"
                             " (without: %.2f / %.2f ms), %d connections at "
                             "most\n" % (mode, med * 1000, p99 * 1000,
                                         base_med * 1000, base_p99 * 1000,
                                         self.rx.max_open_total))
            # A stalled loop would show the receiver's timeout (2 s).
            self.assertLess(med, base_med + 0.05)
            self.assertLess(p99, 0.5)
            self.assertLessEqual(self.rx.max_open_total, 16)
            self.assertEqual(j.stop(), 0)
            j.logf.close()
            con = sqlite3.connect(self.db)
            con.execute("DELETE FROM outbox")
            con.execute("DELETE FROM sessions")
            con.commit()
            con.close()


if __name__ == "__main__":
    jtest.main()
