"""The outbox flood of issue 12, replayed: with the webhook receiver down,
sessions expiring in a flood queued events without bound and the state
file grew for good.  Now at most webhooks.max_pending events wait; past it
an event is recorded dead at once (GET /webhooks/dead says it was
dropped), counted and logged as an error, never silently; and once the
receiver is back and the outbox drains, the state file gives its space
back (incremental vacuum, WAL truncated)."""

import os
import unittest

import jtest
import relay
from floodtest import flood
from receiver import Receiver
from sessiontest import admin, metric, wait_metric

POLICY = """
listen: 127.0.0.1:{port}
upstream: 127.0.0.1:{upstream_port}
state_dir: {dir}
admin:
  listen: 127.0.0.1:{admin_port}
sessions:
  capacity: 10
  confirm: first_request
on_expire:
  webhook: http://127.0.0.1:{rx}/hook
webhooks:
  max_pending: {max_pending}
  max_attempts: 1000
  backoff: {{initial: 50ms, max: 200ms}}
log:
  level: info
"""


class Outbox(unittest.TestCase):

    def start(self, max_pending):
        self.rx_port = jtest.free_port()
        self.rx = Receiver(self.rx_port)
        self.addCleanup(self.rx.stop)
        self.backend = relay.Backend().start()
        self.addCleanup(self.backend.stop)
        self.jd = jtest.Janitord(POLICY, upstream_port=self.backend.port,
                                 rx=self.rx_port, max_pending=max_pending)
        self.jd.start()
        self.addCleanup(self.jd.__exit__, None, None, None)

    def size(self):
        total = 0
        for name in ("janitor.db", "janitor.db-wal"):
            try:
                total += os.path.getsize(os.path.join(self.jd.dir, name))
            except FileNotFoundError:
                pass
        return total

    def test_max_pending(self):
        self.start(50)
        # Every request a new confirmed session, capacity 10: each one
        # past the tenth evicts one, whose expire event cannot be sent.
        counts = flood(self.jd.port, lambda i: "/plain", 3.0, conns=4)
        made = metric(self.jd, "janitor_sessions_created_total")
        self.assertGreater(made, 200, counts)
        events = made - 10
        wait_metric(self.jd, "janitor_webhook_dropped_total", events - 50)
        self.assertEqual(metric(self.jd, "janitor_webhook_queue_depth"), 50)
        self.assertEqual(metric(self.jd, "janitor_webhook_dropped_total"),
                         events - 50)
        st, dead = admin(self.jd, "GET", "/webhooks/dead?limit=10000")
        self.assertEqual(len(dead), events - 50)
        self.assertTrue(all(d["last_error"].startswith("dropped")
                            for d in dead))
        self.assertTrue(all(d["type"] == "session.expire" for d in dead))
        self.jd.wait_log("dropped: 50 events wait already")
        # Loud, but not a line per event: at most 5 a second and a
        # summary of the rest.
        self.jd.wait_log("webhook events dropped (outbox full): ")
        self.assertLess(self.jd.log().count("events wait already"),
                        events / 5)
        # The receiver comes back: the 50 are delivered, none of the rest.
        self.rx.start()
        wait_metric(self.jd, 'janitor_webhook_deliveries_total'
                    '{result="success"}', 50, timeout=20)
        self.assertEqual(len(self.rx.delivered()), 50)
        relay.stop_clean(self, self.jd)

    def test_space_given_back(self):
        self.start(100000)
        flood(self.jd.port, lambda i: "/plain", 3.0, conns=4)
        events = metric(self.jd, "janitor_sessions_created_total") - 10
        self.assertGreater(events, 200)
        wait_metric(self.jd, "janitor_webhook_queue_depth", events)
        full = self.size()
        self.rx.start()
        jtest.wait_for(lambda: metric(self.jd, "janitor_webhook_queue_depth")
                       == 0, timeout=60, what="the outbox drained")
        jtest.wait_for(lambda: self.size() < full / 2, timeout=10,
                       what="the state file shrank from %d" % full)
        print("state file with %d events waiting: %d bytes; drained: %d"
              % (events, full, self.size()))
        relay.stop_clean(self, self.jd)


if __name__ == "__main__":
    jtest.main()
