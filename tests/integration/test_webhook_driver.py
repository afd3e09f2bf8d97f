"""Webhook delivery through the real store, policy and webhook modules, a
real event loop, a real SQLite file and a real receiver, driven by
whdriver (which generates unload/expire events as the session table does).

Covers: signed deliveries in per-session order; receiver failing then down
then up (same ids, order kept); max_attempts exhausted (dead, kept in the
state file); Retry-After; hostile receivers (hang, slow, 500, closing
mid-response) do not stall the loop.  Crashes, a full disk and more events
than memory holds are in test_webhook_crash.py."""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

import jtest
from receiver import Receiver

WHDRIVER = os.environ.get("WHDRIVER", os.path.join(
    os.environ.get("JANITOR_BUILD", "build"), "tests", "whdriver"))
SECRET = bytes(range(1, 33))


class Driver:
    """One whdriver process on a state directory."""

    def __init__(self, state, url, *args):
        self.state = state
        self.url = url
        self.args = list(args)
        self.proc = None
        self.out = None

    def start(self, *extra):
        self.out = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [WHDRIVER, "-d", self.state, "-u", self.url, "-s", SECRET.hex(),
             "-q"] + self.args + list(extra),
            stdout=self.out, stderr=subprocess.STDOUT)
        return self

    def wait(self, timeout=60):
        rc = self.proc.wait(timeout)
        out = self.output()
        self.out.close()
        return rc, out

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        out = self.output()
        self.out.close()
        return out

    def output(self):
        self.out.seek(0)
        return self.out.read().decode(errors="replace")


def expected(n):
    """Every (session, type) pair n sessions generate."""
    return {("s%d" % i, t) for i in range(n)
            for t in ("session.unload", "session.expire")}


class DriverTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="whdriver-test-")
        self.state = os.path.join(self.dir, "state")
        self.port = jtest.free_port()
        self.url = "http://127.0.0.1:%d/hook" % self.port
        self.rx = Receiver(self.port, secret=SECRET)

    def tearDown(self):
        self.rx.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def check_order_and_ids(self, n, recs=None):
        """All events delivered, one id per event, unload never after expire.
        Returns (delivered unique, duplicate deliveries, lost)."""
        recs = recs if recs is not None else self.rx.delivered()
        ids = {}
        for r in recs:
            self.assertTrue(r["sig_ok"], r)
            ids.setdefault((r["session"], r["type"]), set()).add(r["id"])
        want = expected(n)
        lost = want - set(ids)
        for k, v in ids.items():
            self.assertEqual(len(v), 1, "event %s has ids %s" % (k, v))
        # Per session: no unload delivery after an expire delivery.
        seen_expire = set()
        for r in recs:
            if r["type"] == "session.expire":
                seen_expire.add(r["session"])
            else:
                self.assertNotIn(r["session"], seen_expire,
                                 "unload of %s after its expire" % r["session"])
        return len(set(ids) & want), len(recs) - len(ids), len(lost)

    def test_signed_and_in_order(self):
        self.rx.start()
        d = Driver(self.state, self.url, "-n", "300", "-k", "20", "-x")
        rc, out = d.start().wait()
        self.assertEqual(rc, 0, out)
        self.assertIn("generated 600\npending 0", out)
        recs = self.rx.delivered()
        self.assertEqual(len(recs), 600)
        uniq, dups, lost = self.check_order_and_ids(300, recs)
        self.assertEqual((uniq, dups, lost), (600, 0, 0))
        self.assertEqual(self.rx.overlaps, 0)
        r = recs[0]
        self.assertEqual(r["ctype"], "application/json")
        self.assertEqual(r["path"], "/hook")
        self.assertTrue(r["id"].startswith("msg_"))
        self.assertLess(abs(int(r["ts"]) - time.time()), 60)
        doc = r["doc"]
        self.assertEqual(set(doc), {"type", "timestamp", "data"})
        self.assertEqual(set(doc["data"]), {"session", "reason", "created_at",
                                            "last_seen", "client_ip",
                                            "requests"})
        self.assertRegex(doc["timestamp"],
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        reasons = {(x["type"], x["doc"]["data"]["reason"]) for x in recs}
        self.assertEqual(reasons, {("session.unload", "disconnect"),
                                   ("session.expire", "after_disconnect")})
        # Delivered events are gone from the outbox.
        con = sqlite3.connect(os.path.join(self.state, "janitor.db"))
        self.assertEqual(con.execute("SELECT COUNT(*) FROM outbox")
                         .fetchone()[0], 0)
        con.close()

    def test_receiver_fails_then_down_then_up(self):
        self.rx.set_mode("fail")
        self.rx.start()
        d = Driver(self.state, self.url, "-n", "40", "-k", "4", "-i", "5",
                   "-b", "50", "-B", "300", "-m", "1000", "-x").start()
        time.sleep(1.0)
        failed_ids = {(r["session"], r["type"], r["id"])
                      for r in self.rx.all() if r["status"] == 500}
        self.assertTrue(failed_ids)
        self.rx.stop()          # down: connections refused
        time.sleep(1.0)
        self.assertIsNone(d.proc.poll())
        self.rx = Receiver(self.port, secret=SECRET, mode="ok").start()
        rc, out = d.wait(60)
        self.assertEqual(rc, 0, out)
        recs = self.rx.delivered()
        uniq, dups, lost = self.check_order_and_ids(40, recs)
        self.assertEqual((uniq, lost), (80, 0))
        delivered = {(r["session"], r["type"]): r["id"] for r in recs}
        for sess, typ, mid in failed_ids:
            self.assertEqual(delivered[(sess, typ)], mid,
                             "id changed across retries")
        self.assertEqual(self.rx.overlaps, 0)

    def test_dead_after_max_attempts(self):
        self.rx.set_mode("fail")
        self.rx.start()
        d = Driver(self.state, self.url, "-n", "5", "-k", "10", "-m", "3",
                   "-b", "20", "-B", "50", "-x")
        rc, out = d.start().wait()
        self.assertEqual(rc, 0, out)
        attempts = {}
        for r in self.rx.all():
            attempts.setdefault(r["id"], []).append((r["session"], r["type"]))
        self.assertEqual(len(attempts), 10)
        for mid, tries in attempts.items():
            self.assertEqual(len(tries), 3, mid)
        con = sqlite3.connect(os.path.join(self.state, "janitor.db"))
        rows = con.execute("SELECT msg_id, attempts, dead, last_error "
                           "FROM outbox").fetchall()
        con.close()
        self.assertEqual(len(rows), 10)
        for mid, att, dead, err in rows:
            self.assertIn(mid, attempts)
            self.assertEqual((att, dead, err), (3, 1, "HTTP 500"))
        # A restart does not resume dead events.
        before = len(self.rx.all())
        rc, out = Driver(self.state, self.url, "-n", "5", "-x").start().wait()
        self.assertEqual(rc, 0, out)
        self.assertIn("resumed at 10 with 0 pending", out)
        self.assertEqual(len(self.rx.all()), before)

    def test_retry_after_honoured(self):
        self.rx.set_mode("retry_after", retry_after=1)
        self.rx.start()
        d = Driver(self.state, self.url, "-n", "1", "-b", "10", "-B", "5000",
                   "-m", "100", "-x").start()
        jtest.wait_for(lambda: len(self.rx.all()) >= 2, timeout=10)
        self.rx.set_mode("ok")
        rc, out = d.wait(30)
        self.assertEqual(rc, 0, out)
        recs = [r for r in self.rx.all() if r["type"] == "session.unload"]
        gap = recs[1]["t"] - recs[0]["t"]
        self.assertGreaterEqual(gap, 0.95, "Retry-After: 1 not honoured")
        self.assertLess(gap, 3)

    def hostile(self, mode, **kw):
        """With a hostile receiver the loop keeps its pace (no tick waits
        for the receiver's 1 s timeout) and the receiver gets at most 16
        connections; afterwards everything is delivered."""
        self.rx.set_mode(mode, **kw)
        self.rx.start()
        # 120 events at 1 per 5 ms tick.
        d = Driver(self.state, self.url, "-n", "60", "-k", "1", "-i", "5",
                   "-t", "1000", "-b", "50", "-B", "200", "-m", "1000",
                   "-x").start()
        line = jtest.wait_for(
            lambda: [l for l in d.output().splitlines()
                     if l.startswith("generation done")], timeout=30)[0]
        ms, gap = int(line.split()[3]), int(line.split()[-2])
        sys.stderr.write("%s receiver: 120 events generated in %d ms "
                         "(600 ms if never held up), longest gap between "
                         "ticks %d ms, %d connections at most\n"
                         % (mode, ms, gap, self.rx.max_open_total))
        self.assertLess(gap, 500, "loop stalled by a %s receiver" % mode)
        self.assertLessEqual(self.rx.max_open_total, 16)
        self.rx.set_mode("ok")
        rc, out = d.wait(60)
        self.assertEqual(rc, 0, out)
        uniq, dups, lost = self.check_order_and_ids(60)
        self.assertEqual((uniq, lost), (120, 0))
        return ms

    def test_hostile_hang(self):
        self.hostile("hang")

    def test_hostile_slow(self):
        self.hostile("slow", delay=2.0)

    def test_hostile_500(self):
        self.hostile("fail")

    def test_hostile_close_mid_response(self):
        self.hostile("close")

    def test_name_from_hosts_file(self):
        """A receiver named by a name from /etc/hosts is resolved by the
        asynchronous resolver (no DNS query leaves the machine for it)."""
        self.rx.start()
        rc, out = Driver(self.state, "http://localhost:%d/hook" % self.port,
                         "-n", "5", "-x").start().wait()
        self.assertEqual(rc, 0, out)
        self.assertEqual(len(self.rx.delivered()), 10)

    def test_corrupt_state(self):
        os.makedirs(self.state)
        with open(os.path.join(self.state, "janitor.db"), "wb") as f:
            f.write(os.urandom(8192))
        rc, out = Driver(self.state, self.url, "-x").start().wait()
        self.assertEqual(rc, 1, out)
        self.assertIn("janitor.db", out)


if __name__ == "__main__":
    jtest.main()
