"""SIGTERM: janitord stops accepting, lets the request in flight finish,
closes idle keep-alive connections, and exits 0."""

import signal
import socket
import threading
import time
import unittest

import relay


class SigtermTest(unittest.TestCase):

    def test_in_flight_finishes(self):
        with relay.Backend() as be, relay.janitord(be.port) as jd:
            idle = relay.connect(jd.port)
            idle.sendall(b"GET /plain HTTP/1.1\r\nHost: t\r\n\r\n")
            ir = relay.Reader(idle)
            self.assertEqual(ir.response()[0], 200)

            result = {}

            def slow():
                result["resp"] = relay.get(jd.port, "/sleep?s=1")
            t = threading.Thread(target=slow)
            t.start()
            time.sleep(0.3)
            t0 = time.monotonic()
            jd.signal(signal.SIGTERM)
            # The idle keep-alive connection is closed at once.
            self.assertTrue(ir.closed(timeout=2))
            # No new connections.
            time.sleep(0.1)
            with self.assertRaises(OSError):
                relay.connect(jd.port, timeout=1)
            t.join()
            st, h, body = result["resp"]
            self.assertEqual((st, body), (200, b"slept\n"))
            self.assertEqual(h["connection"], ["close"])
            self.assertEqual(jd.proc.wait(10), 0)
            self.assertLess(time.monotonic() - t0, 3)

    def test_shutdown_timeout(self):
        with relay.Backend() as be, relay.janitord(
                be.port, "limits: {shutdown_timeout: 500ms}") as jd:
            s = relay.connect(jd.port)
            s.sendall(b"GET /sleep?s=5 HTTP/1.1\r\nHost: t\r\n\r\n")
            time.sleep(0.2)
            t0 = time.monotonic()
            jd.signal(signal.SIGTERM)
            self.assertEqual(jd.proc.wait(10), 0)
            self.assertLess(time.monotonic() - t0, 2)
            s.close()


if __name__ == "__main__":
    relay.main()
