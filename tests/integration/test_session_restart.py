"""Sessions across a restart: a session that was live when janitord stopped
counts as disconnected when it starts again, so grace applies: a tab that
reconnects in time is not unloaded, one that does not is unloaded once;
the stop itself unloads nothing."""

import signal
import time
import unittest

import relay
from sessiontest import Channel, metric, session, state, wait_state

EXTRA = """
limits:
  shutdown_timeout: 1s
on_unload:
  grace: 2s
"""


class Restart(unittest.TestCase):

    def setUp(self):
        self.backend = relay.Backend().start()
        self.addCleanup(self.backend.stop)
        self.jd = relay.janitord(self.backend.port, extra=EXTRA)
        self.jd.start()
        self.addCleanup(self.jd.__exit__, None, None, None)

    def test_live_at_stop(self):
        back = Channel(self.jd.port, "/ws",
                       cookie=self.jd.cookie("comesback"), websocket=True)
        gone = Channel(self.jd.port, "/ws", cookie=self.jd.cookie("staysaway"),
                       websocket=True)
        wait_state(self.jd, "comesback", "live")
        wait_state(self.jd, "staysaway", "live")
        self.assertEqual(self.jd.stop(signal.SIGTERM), 0)
        back.close()
        gone.close()
        # The stop unloaded nothing.
        self.assertNotIn("session.unload", self.jd.log())
        self.jd.start()
        t0 = time.monotonic()
        self.assertEqual(state(self.jd, "comesback"), "idle")
        self.assertEqual(session(self.jd, "staysaway")["requests"], 1)
        back = Channel(self.jd.port, "/ws",
                       cookie=self.jd.cookie("comesback"), websocket=True)
        wait_state(self.jd, "comesback", "live")
        wait_state(self.jd, "staysaway", "unloaded", timeout=5.0)
        took = time.monotonic() - t0
        self.assertGreater(took, 1.5)   # grace, counted from the start
        time.sleep(0.5)
        self.assertEqual(state(self.jd, "comesback"), "live")
        self.assertEqual(metric(self.jd, "janitor_unloads_total"), 1)
        back.close()


if __name__ == "__main__":
    relay.main()
