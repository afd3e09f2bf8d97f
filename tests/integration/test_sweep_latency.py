"""The proxy stays responsive while the sweeper removes a large tree: the
slowest request relayed during the sweep takes less than 50 ms.

The issue asks for 200,000 files.  The default suite sweeps
JANITOR_SWEEP_LATENCY_FILES = 100,000 (hard links, 1,000 to an inode, so
making the tree is quick), up to three times: a shared test machine stalls
processes by itself now and then, and a daemon that blocks its loop while
sweeping fails every attempt.

Each attempt also measures the same number of requests without a sweep,
right after it.  Where that baseline stalls past 50 ms too (the machine
stalls by itself), the attempt is judged against it instead: the slowest
request during the sweep within twice the baseline's slowest, and the p99
within twice the baseline's p99 or 50 ms.  A daemon that blocks its loop
while sweeping stalls for seconds and fails either way; the test never
skips.  docs/sweeper.md has the 200,000-file figures."""

import gc
import http.client
import json
import os
import shutil
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import jtest  # noqa: E402
import relay  # noqa: E402

FILES = int(os.environ.get("JANITOR_SWEEP_LATENCY_FILES", "100000"))
ATTEMPTS = 3
PER_DIR = 1000
LIMIT = 0.050

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


def make_tree(root):
    """FILES old names in directories of PER_DIR hard links each."""
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


def pct(lat, p):
    return lat[min(len(lat) - 1, int(len(lat) * p))] * 1000


def within(lat, base):
    """Whether the latencies during a sweep pass: under LIMIT, or, where
    the machine stalls requests by itself (the baseline's slowest is over
    LIMIT), no worse than twice the baseline."""
    if lat[-1] < LIMIT:
        return True
    if base[-1] < LIMIT:
        return False
    return (lat[-1] <= 2 * base[-1] and
            pct(lat, .99) <= max(LIMIT * 1000, 2 * pct(base, .99)))


class SweepLatency(unittest.TestCase):
    def attempt(self, j, root):
        """Sweep a fresh tree while relaying; (during, without) latencies."""
        # Made beside the root and moved in whole: the daemon's own
        # periodic sweep must not find a half-made tree.
        stage = root + ".new"
        shutil.rmtree(stage, ignore_errors=True)
        os.mkdir(stage)
        make_tree(stage)
        shutil.rmtree(root, ignore_errors=True)
        os.rename(stage, root)
        conn = http.client.HTTPConnection("127.0.0.1", j.port, timeout=10)
        cookie = {}
        result = {}

        def one():
            t0 = time.perf_counter()
            conn.request("GET", "/plain", headers=cookie)
            r = conn.getresponse()
            body = r.read()
            # One session throughout: none is created (and logged to a
            # file on the swept disk) per request.
            sid = r.getheader("Set-Cookie")
            if sid:
                cookie["Cookie"] = sid.split(";")[0]
            self.assertEqual((r.status, body), (200, b"hello\n"))
            return time.perf_counter() - t0

        def sweep():
            c = http.client.HTTPConnection("127.0.0.1", j.admin_port,
                                           timeout=300)
            c.request("POST", "/sweep")
            r = c.getresponse()
            result["status"] = r.status
            result["body"] = r.read()

        one()
        gc.disable()
        try:
            th = threading.Thread(target=sweep)
            th.start()
            lat = []
            while th.is_alive():
                lat.append(one())
            th.join()
            # The same number of requests with no sweep running.
            base = [one() for _ in lat]
        finally:
            gc.enable()
            conn.close()
        self.assertEqual(result["status"], 200, result)
        # Requests came in throughout: the walkers gave way, and still
        # removed every file.
        summary = json.loads(result["body"])
        self.assertGreater(summary["entries"][0]["yielded_seconds"], 0,
                           summary)
        self.assertEqual(sum(len(fs) for _, _, fs in os.walk(root)), 0)
        self.assertGreater(len(lat), 10)
        lat.sort()
        base.sort()
        sys.stderr.write(
            "%d files swept; %d requests meanwhile: p50 %.2f ms, p99 %.2f "
            "ms, max %.2f ms; without a sweep: p99 %.2f ms, max %.2f ms\n"
            % (FILES, len(lat), pct(lat, .5), pct(lat, .99), lat[-1] * 1000,
               pct(base, .99), base[-1] * 1000))
        return lat, base

    def test_latency_during_sweep(self):
        with relay.Backend() as backend:
            j = jtest.Janitord(POLICY, upstream_port=backend.port)
            root = os.path.join(j.dir, "cache")
            os.mkdir(root)
            # One try takes about a minute: the sweep gives way to the
            # requests (about 28 s for 100,000 files), then as many again
            # without it.
            deadline = time.monotonic() + 150
            tries = []
            with j:
                for n in range(ATTEMPTS):
                    lat, base = self.attempt(j, root)
                    tries.append(
                        "during: p99 %.1f ms, max %.1f ms; without: p99 "
                        "%.1f ms, max %.1f ms" % (
                            pct(lat, .99), lat[-1] * 1000, pct(base, .99),
                            base[-1] * 1000))
                    if within(lat, base):
                        break
                    # A slow machine gets fewer tries, not a slow suite.
                    if time.monotonic() > deadline:
                        break
                self.assertTrue(within(lat, base),
                                "the sweep stalled requests in every try: "
                                + "; ".join(tries))
                self.assertEqual(j.stop(), 0)


if __name__ == "__main__":
    jtest.main()
