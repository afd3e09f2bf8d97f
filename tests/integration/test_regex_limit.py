"""A key regex that backtracks exponentially on a client's path: the request
is still served at once (the stopped match is no match, so the next key
source is tried), janitor_regex_limit_total counts each stopped match, and
the log says so once per pattern, with the pattern's place in the file.
All the matches for one request share 1 ms of CPU: 15 key patterns and 15
live patterns that would each run to the limit cost a request about 1 ms,
not 30."""

import os
import re
import time
import unittest
import urllib.error
import urllib.request

import jtest
import relay

EXTRA = """
sessions:
  cookie: {issue: false}
  key:
    - path: '^/(?:a|aa)*b/([a-z0-9]+)$'
    - header: X-Sid
"""


def limit_total(admin_port):
    for line in relay.metrics(admin_port).splitlines():
        if line.startswith("janitor_regex_limit_total "):
            return int(line.split()[1])
    return None


def session(admin_port, key):
    """The admin API's status for /sessions/KEY."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/sessions/%s" %
                                    (admin_port, key), timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


class RegexLimitTest(relay.RelayCase, unittest.TestCase):

    extra = EXTRA

    def test_stopped_match(self):
        # A path of the form the pattern wants: the key comes from it.
        st, h, body = relay.get(self.jd.port, "/aab/k1")
        self.assertEqual(limit_total(self.jd.admin_port), 0)
        self.assertEqual(session(self.jd.admin_port, "k1"), 200)

        # 40 a's and no b: (a|aa)* tries every split, 10^8 ways.
        path = "/" + "a" * 40 + "c/k2"
        for i in range(3):
            t0 = time.monotonic()
            st, h, body = relay.get(self.jd.port, path,
                                    headers={"X-Sid": "fromheader"})
            secs = time.monotonic() - t0
            self.assertEqual(st, 404)       # the backend has no such route
            self.assertLess(secs, 1.0)
            self.assertEqual(limit_total(self.jd.admin_port), i + 1)
        log = self.jd.log()
        self.assertEqual(log.count("counted as no match"), 1, log[-3000:])
        # Which limit stops (a|aa)* first depends on the build's speed:
        # under TSan 10,000 steps can take more than the 1 ms of CPU.
        self.assertRegex(log, re.escape("regex " + self.jd.conf +
                                        ":13:13 sessions.key[0].path: ") +
                         r"(match limit|CPU time limit \(1 ms per request\)) "
                         r"exceeded on a %d-byte subject" % len(path))
        # The next source gave the key.
        self.assertEqual(session(self.jd.admin_port, "fromheader"), 200)
        self.assertEqual(session(self.jd.admin_port, "k2"), 404)


# 15 key patterns and 15 live patterns that scan to the CPU limit on a
# long path that does not match, then a header that gives the key.
BUDGET_EXTRA = """
sessions:
  cookie: {issue: false}
  key:
""" + "".join("    - path: '([^/]{0,9000}[xy%d])'\n" % i for i in range(15)) + \
    """    - header: X-Sid
  live:
""" + "".join("    - path: '[^/]{0,9000}[xz%d]'\n" % i for i in range(15))


def loop_cpu_ms(pid):
    """CPU time of janitord's main thread (the event loop), in ms."""
    with open("/proc/%d/task/%d/schedstat" % (pid, pid)) as f:
        return int(f.read().split()[0]) / 1e6


class RequestBudgetTest(relay.RelayCase, unittest.TestCase):

    extra = BUDGET_EXTRA

    def test_one_budget_per_request(self):
        path = "/" + "a" * 8000     # the backend takes at most 8190
        st, h, body = relay.get(self.jd.port, path, headers={"X-Sid": "k0"})
        self.assertEqual(st, 404)
        self.assertEqual(limit_total(self.jd.admin_port), 30)
        n = 30
        cpu0 = loop_cpu_ms(self.jd.proc.pid)
        for i in range(n):
            st, h, body = relay.get(self.jd.port, path,
                                    headers={"X-Sid": "k1"})
            self.assertEqual(st, 404)
        cpu = loop_cpu_ms(self.jd.proc.pid) - cpu0
        print("%d requests, 30 patterns each: %.1f ms of loop CPU, %.2f ms "
              "a request (uptime: %s)" % (n, cpu, cpu / n, os.getloadavg()))
        # 30 patterns, each stopped at its own 1 ms, made 30 ms a request.
        self.assertLess(cpu / n, 5.0)
        # Every pattern of every request counted: the first stopped, the
        # other 29 not tried.
        self.assertEqual(limit_total(self.jd.admin_port), 30 * (n + 1))
        self.assertEqual(session(self.jd.admin_port, "k1"), 200)
        # The next request has a budget of its own: a short path that
        # key[0] matches gives the key.
        st, h, body = relay.get(self.jd.port, "/s2x")
        self.assertEqual(st, 404)
        self.assertEqual(session(self.jd.admin_port, "s2x"), 200)
        self.assertEqual(limit_total(self.jd.admin_port), 30 * (n + 1))
        log = self.jd.log()
        self.assertIn("sessions.key[0].path: CPU time limit (1 ms per "
                      "request) exceeded on a 8001-byte subject", log)
        self.assertIn("sessions.live[14].path: CPU time limit (1 ms per "
                      "request) exceeded on a 8001-byte subject", log)


if __name__ == "__main__":
    relay.main()
