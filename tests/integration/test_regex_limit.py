"""A key regex that backtracks exponentially on a client's path: the request
is still served at once (the stopped match is no match, so the next key
source is tried), janitor_regex_limit_total counts each stopped match, and
the log says so once per pattern, with the pattern's place in the file."""

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
        self.assertIn("regex " + self.jd.conf + ":13:13 sessions.key[0].path: "
                      "match limit exceeded on a %d-byte subject" % len(path),
                      log)
        # The next source gave the key.
        self.assertEqual(session(self.jd.admin_port, "fromheader"), 200)
        self.assertEqual(session(self.jd.admin_port, "k2"), 404)


if __name__ == "__main__":
    relay.main()
