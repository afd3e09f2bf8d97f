"""The proxy stays responsive while the sweeper removes a large tree: the
slowest request relayed during the sweep takes less than 50 ms.

The tree has JANITOR_SWEEP_LATENCY_FILES files (default 200,000, as the
issue asks; about 10 s here, also under ASan).  They are hard links, 1,000
to an inode, so that making the tree does not dominate the test."""

import http.client
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import jtest  # noqa: E402
import relay  # noqa: E402

FILES = int(os.environ.get("JANITOR_SWEEP_LATENCY_FILES", "200000"))
PER_DIR = 1000

POLICY = """
upstream: 127.0.0.1:{upstream_port}
listen: 127.0.0.1:{port}
state_dir: {dir}
admin:
  listen: 127.0.0.1:{admin_port}
cache:
  - path: {dir}/cache
    every: 1h
    age: 1h
"""


class SweepLatency(unittest.TestCase):
    def test_latency_during_sweep(self):
        with relay.Backend() as backend:
            j = jtest.Janitord(POLICY, upstream_port=backend.port)
            root = os.path.join(j.dir, "cache")
            os.mkdir(root)
            # Hard links of one old file per directory: quick to make.
            t = time.time() - 7200
            for d in range((FILES + PER_DIR - 1) // PER_DIR):
                dp = os.path.join(root, "d%04d" % d)
                os.mkdir(dp)
                src = os.path.join(dp, "f0000")
                with open(src, "wb") as f:
                    f.write(b"x" * 100)
                os.utime(src, (t, t))
                for i in range(1, PER_DIR):
                    os.link(src, os.path.join(dp, "f%04d" % i))
            with j:
                conn = http.client.HTTPConnection("127.0.0.1", j.port,
                                                  timeout=10)
                result = {}

                def sweep():
                    c = http.client.HTTPConnection("127.0.0.1",
                                                   j.admin_port, timeout=300)
                    c.request("POST", "/sweep")
                    r = c.getresponse()
                    result["status"] = r.status
                    result["body"] = r.read()

                # Warm the connection, then sweep and measure meanwhile.
                conn.request("GET", "/plain")
                conn.getresponse().read()
                th = threading.Thread(target=sweep)
                th.start()
                lat = []
                while th.is_alive():
                    t0 = time.perf_counter()
                    conn.request("GET", "/plain")
                    r = conn.getresponse()
                    body = r.read()
                    lat.append(time.perf_counter() - t0)
                    self.assertEqual((r.status, body), (200, b"hello\n"))
                th.join()
                conn.close()
                self.assertEqual(result["status"], 200, result)
                left = sum(len(fs) for _, _, fs in os.walk(root))
                self.assertEqual(left, 0)
                lat.sort()
                sys.stderr.write(
                    "%d files swept; %d requests meanwhile: p50 %.2f ms, "
                    "p99 %.2f ms, max %.2f ms\n" % (
                        FILES, len(lat), lat[len(lat) // 2] * 1000,
                        lat[int(len(lat) * 0.99)] * 1000, lat[-1] * 1000))
                self.assertGreater(len(lat), 10)
                self.assertLess(lat[-1], 0.050)
                self.assertEqual(j.stop(), 0)


if __name__ == "__main__":
    jtest.main()
