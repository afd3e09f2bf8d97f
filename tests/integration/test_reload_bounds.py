"""SIGHUP with each pathological policy of issue 13 while wrk loads the
proxy: every reload fails with its FILE:LINE:COLUMN error, the daemon keeps
serving with the old policy (the forward header it adds is the old one),
wrk sees no errors, and the p99 latency stays under 50 ms.  Before the
reload moved to a thread, 100,000 nested '[' stopped the proxy for 25 s
and 20,000 nested groups killed it.

The p99 is compared with a baseline run of the same length, measured
first in the same test, and printed with it.  The assertion is the
absolute 50 ms of the issue, unless the machine is so loaded that the
baseline's own p99 is above 25 ms (seen at a load average of 16 on the
shared 2-core machine: 14 ms baseline, 26 ms with reloads); then it is
twice the baseline.  A reload that stalled the loop (the synchronous
load of a file whose reads take 5 s) fails either way."""

import os
import re
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import json

import jtest
import relay
import slowfs

POLICY = """
listen: 127.0.0.1:{port}
upstream: 127.0.0.1:{upstream_port}
state_dir: {dir}/state
admin:
  listen: 127.0.0.1:{admin_port}
sessions:
  cookie: {{issue: false}}
  forward_header: X-Policy-{gen}
  key:
    - path: '^/s/([a-z0-9]+)/'
    - header: X-Sid
{extra}
"""

# What the waiter says when a load does not finish in time.
LATE = ": reading and checking did not finish within 2000 ms"
P99_LIMIT_MS = 50.0
WRK_SECONDS = 8
PACE = 0.2      # seconds between SIGHUPs: five reloads a second


def families():
    """(name, policy text, expected error after 'FILE') of each family."""
    def key(r):
        return "sessions:\n  key:\n    - path: '%s'\n" % r

    def live(r):
        return "sessions:\n  live:\n    - path: '%s'\n" % r

    n = 50000
    return [
        ("s++id", key("s" + "+" * 32 + "id"),
         ":3:13: sessions.key[0].path: 's+++"),
        ("a255^3", key("((a{255}){255}){255}"),
         ":3:13: sessions.key[0].path: '((a{255}){255}){255}' is not a "
         "regular expression: regular expression is too large"),
        ("a32767^2", key("a{32767}{32767}"),
         ":3:13: sessions.key[0].path: 'a{32767}{32767}' is not a regular "
         "expression"),
        ("a100^4", live("(((a{100}){100}){100}){100}"),
         ":3:13: sessions.live[0].path: '(((a{100}){100}){100}){100}' is "
         "not a regular expression"),
        ("a|*200000", live("a|" * 200000),
         ":3:13: sessions.live[0].path: a value of 400000 bytes"),
        ("groups", live("(" * 20000 + "a" + ")" * 20000),
         ":3:13: sessions.live[0].path: a value of 40001 bytes"),
        ("groups2k", live("(" * 2000 + "a" + ")" * 2000),
         ":3:13: sessions.live[0].path: '(((("),
        ("brackets", "[" * 100000 + "\n",
         ":1:65: lists and mappings nest more than 64 deep"),
        ("anchors", "x: [" + ",".join("&a%d v" % i for i in range(n)) +
         "," + ",".join("*a%d" % (n - 1) for i in range(n)) + "]\n",
         ":1:695: more than 100 anchors"),
        ("values", "x: [" + ",".join("a" for i in range(400000)) + "]\n",
         ":1:199999: more than 100000 values"),
        ("65MiB", None, ": 68157440 bytes, larger than 1048576"),
        ("keepbomb", "cache:\n  - path: /tmp/c0\n    keep: &l [&g " +
         "a" * 4096 + ", *g" * 255 + "]\n" + "".join(
             "  - path: /tmp/c%d\n    keep: *l\n" % i for i in range(1, 256)),
         ":3:15: cache[3].keep[247]: the policy would take more than 4 MiB"),
        ("%TAG", "".join("%%TAG !%x! t:\n" % i for i in range(52000)) +
         "---\nupstream: 127.0.0.1:7860\n",
         ":9:1: more than 8 YAML directives"),
    ]


def wrk_p99(port, seconds, out):
    """Run wrk against port; store p99 (ms), requests and errors in out."""
    p = subprocess.run(["wrk", "-t1", "-c4", "-d%ds" % seconds, "--latency",
                        "http://127.0.0.1:%d/plain" % port],
                       capture_output=True, text=True,
                       timeout=seconds + 60)
    text = p.stdout
    out["text"] = text
    m = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    out["p99"] = float(m.group(1)) * scale[m.group(2)] if m else None
    m = re.search(r"(\d+) requests in", text)
    out["requests"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: (.*)$", text, re.M)
    out["socket_errors"] = m.group(1) if m else ""
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    out["non2xx"] = int(m.group(1)) if m else 0


class ReloadBoundsTest(unittest.TestCase):

    def setUp(self):
        self.backend = relay.Backend().start()
        self.addCleanup(self.backend.stop)
        self.jd = jtest.Janitord(POLICY, upstream_port=self.backend.port,
                                 gen=1, extra="")
        self.jd.start()
        self.addCleanup(self.jd.__exit__, None, None, None)
        self.jd.wait_log("started with " + self.jd.conf)
        with open(self.jd.conf) as f:
            self.good = f.read()

    def tearDown(self):
        relay.stop_clean(self, self.jd)

    def put(self, text=None, sparse=None, link=None):
        """Replace the policy file atomically."""
        tmp = self.jd.conf + ".new"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        if link is not None:
            os.symlink(link, tmp)
        elif sparse is not None:
            with open(tmp, "wb") as f:
                f.truncate(sparse)
        else:
            with open(tmp, "w") as f:
                f.write(text)
        os.rename(tmp, self.jd.conf)

    def hup_and_fail(self, want, timeout=10.0):
        """SIGHUP; wait for the failure line; return it and the seconds."""
        mark = len(self.jd.log())
        t0 = time.monotonic()
        self.jd.signal(signal.SIGHUP)
        prefix = ("reload failed, keeping the old policy: " + self.jd.conf +
                  want)
        jtest.wait_for(lambda: prefix in self.jd.log()[mark:],
                       timeout=timeout, what=prefix[:120])
        secs = time.monotonic() - t0
        self.assertIsNone(self.jd.proc.poll())
        return secs

    def policy_header(self):
        """The forward header janitord adds now: which policy is in force."""
        st, h, body = relay.get(self.jd.port, "/headers",
                                headers={"X-Sid": "k1"})
        self.assertEqual(st, 200)
        names = [k for k, v in json.loads(body) if v == "k1" and
                 k.lower().startswith("x-policy-")]
        self.assertEqual(len(names), 1, body)
        return names[0].lower()

    def under_load(self, work):
        """Baseline wrk run, then a wrk run while work() runs; return both
        results after checking that nothing failed."""
        base = {}
        wrk_p99(self.jd.port, WRK_SECONDS, base)
        loaded = {}
        t = threading.Thread(target=wrk_p99,
                             args=(self.jd.port, WRK_SECONDS, loaded))
        t.start()
        time.sleep(0.5)
        try:
            work()
        finally:
            t.join()
        print("baseline: %s requests, p99 %.2f ms; with reloads: %s "
              "requests, p99 %.2f ms (uptime: %s)" % (
                  base["requests"], base["p99"] or -1, loaded["requests"],
                  loaded["p99"] or -1, os.getloadavg()))
        for r in (base, loaded):
            self.assertIsNotNone(r["p99"], r["text"])
            self.assertEqual(r["socket_errors"], "", r["text"])
            self.assertEqual(r["non2xx"], 0, r["text"])
            self.assertGreater(r["requests"], 1000, r["text"])
        limit = max(P99_LIMIT_MS, 2 * base["p99"])
        if limit > P99_LIMIT_MS:
            print("baseline p99 %.2f ms: the machine is too busy for the "
                  "absolute %.0f ms; limit %.2f ms" % (base["p99"],
                                                      P99_LIMIT_MS, limit))
        self.assertLess(loaded["p99"], limit, loaded["text"])
        return base, loaded

    def test_reload_families(self):
        self.assertEqual(self.policy_header(), "x-policy-1")
        fams = families()
        rounds = []

        def work():
            # Every family at least once, then again until wrk is done,
            # one SIGHUP every PACE seconds.
            deadline = time.monotonic() + WRK_SECONDS - 1.5
            first = True
            while first or time.monotonic() < deadline:
                for name, text, want in fams:
                    t0 = time.monotonic()
                    if text is None:
                        self.put(sparse=65 << 20)
                    else:
                        self.put(text)
                    secs = self.hup_and_fail(want)
                    self.assertLess(secs, 2.0, name)
                    rounds.append(name)
                    time.sleep(max(0, PACE - (time.monotonic() - t0)))
                first = False

        self.under_load(work)
        print("%d failed reloads during the loaded run" % len(rounds))
        self.assertGreaterEqual(len(rounds), len(fams))
        # The old policy served throughout; a good file still takes over.
        self.assertEqual(self.policy_header(), "x-policy-1")
        self.put(self.good.replace("X-Policy-1", "X-Policy-2"))
        mark = len(self.jd.log())
        self.jd.signal(signal.SIGHUP)
        jtest.wait_for(lambda: "reloaded " + self.jd.conf in
                       self.jd.log()[mark:], what="reloaded")
        self.assertEqual(self.policy_header(), "x-policy-2")

    @unittest.skipIf(slowfs.available() is not None,
                     "slow-file reload: %s" % slowfs.available())
    def test_reload_slow_file(self):
        tmp = tempfile.mkdtemp(prefix="janitor-slowfs-")
        mnt = os.path.join(tmp, "mnt")
        os.mkdir(mnt)
        # A valid policy, but every read of it takes 5 s.
        src = os.path.join(tmp, "src.yaml")
        with open(src, "w") as f:
            f.write(self.good.replace("X-Policy-1", "X-Policy-9"))
        with slowfs.mounted(mnt, src, 5) as slow:
            late = LATE

            def work():
                # The policy file itself on the slow file system.
                self.put(link=slow)
                secs = self.hup_and_fail(late)
                self.assertLess(secs, 3.0)
                # Three SIGHUPs during one load: one more load follows.
                mark = len(self.jd.log())
                for i in range(3):
                    self.jd.signal(signal.SIGHUP)
                    time.sleep(0.1)
                jtest.wait_for(lambda: self.jd.log()[mark:].count(
                    "reload failed, keeping the old policy: ") >= 2,
                    timeout=10, what="two failed loads")
                text = self.jd.log()[mark:]
                self.assertEqual(text.count("one more follows it"), 2)
                self.assertEqual(text.count("loading %s again" %
                                            self.jd.conf), 1)
                # A secret file on it: the same bound.
                self.put(self.good + "webhooks:\n  secret_file: %s\n" % slow)
                secs = self.hup_and_fail(late)
                self.assertLess(secs, 3.0)

            self.under_load(work)
            self.assertEqual(self.policy_header(), "x-policy-1")
            self.put(self.good.replace("X-Policy-1", "X-Policy-3"))
            # The loads given up on end with their reads (5 s each).
            time.sleep(5)
            mark = len(self.jd.log())
            self.jd.signal(signal.SIGHUP)
            jtest.wait_for(lambda: "reloaded " + self.jd.conf in
                           self.jd.log()[mark:], what="reloaded")
            self.assertEqual(self.policy_header(), "x-policy-3")

    @unittest.skipIf(slowfs.available() is not None,
                     "slow-file reload: %s" % slowfs.available())
    def test_reload_stuck(self):
        # Every read of the policy takes 60 s: each load is given up on
        # at 2 s and its thread goes on waiting.  With 4 of them still
        # running, the next load is refused at once, saying so (not that
        # the file system is to blame: a thread may as well be checking).
        tmp = tempfile.mkdtemp(prefix="janitor-slowfs-")
        mnt = os.path.join(tmp, "mnt")
        os.mkdir(mnt)
        src = os.path.join(tmp, "src.yaml")
        with open(src, "w") as f:
            f.write(self.good.replace("X-Policy-1", "X-Policy-9"))
        with slowfs.mounted(mnt, src, 60) as slow:
            self.put(link=slow)
            for i in range(4):
                secs = self.hup_and_fail(LATE)
                self.assertLess(secs, 3.0)
            secs = self.hup_and_fail(": 4 earlier loads are still running; "
                                     "not starting another")
            self.assertLess(secs, 1.0)
            self.assertEqual(self.policy_header(), "x-policy-1")
        # Unmounted: the stuck reads fail, their threads end, and loads
        # start again.
        self.put(self.good.replace("X-Policy-1", "X-Policy-4"))
        deadline = time.monotonic() + 20
        while self.policy_header() != "x-policy-4":
            self.assertLess(time.monotonic(), deadline, self.jd.log()[-2000:])
            mark = len(self.jd.log())
            self.jd.signal(signal.SIGHUP)
            jtest.wait_for(lambda: re.search(
                "reloaded |reload failed", self.jd.log()[mark:]),
                what="the reload's outcome")


if __name__ == "__main__":
    jtest.main()
