"""The admin API attacks of issue 12, replayed.

GET /webhooks/dead and GET /sessions page: ?limit (default 100, at most
10,000) and ?after, the next page named in a Link header, every item once
across the pages.  A trickle (connections sending a header byte a second)
from one address holds at most 8 admin connections, each for at most the
10 s deadline of a whole request, so /healthz answers meanwhile."""

import http.client
import json
import re
import select
import socket
import time
import unittest

import jtest
import relay
from sessiontest import wait_metric

POLICY = """
listen: 127.0.0.1:{port}
upstream: 127.0.0.1:{upstream_port}
state_dir: {dir}
admin:
  listen: 127.0.0.1:{admin_port}
on_expire:
  webhook: http://127.0.0.1:{dead_port}/expire
webhooks:
  max_attempts: 1
  timeout: 1s
log:
  level: info
"""


def get(port, path, source="127.0.0.1"):
    """(status, headers, parsed JSON) of an admin GET from source."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10,
                                      source_address=(source, 0))
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read().decode()
    conn.close()
    ctype = r.getheader("Content-Type", "")
    return (r.status, dict(r.getheaders()),
            json.loads(body) if ctype.startswith("application/json")
            else body)


def next_link(headers):
    """The path of the Link header's rel="next", or None."""
    m = re.match(r'<([^>]+)>; rel="next"', headers.get("Link", ""))
    return m.group(1) if m else None


def pages(port, path):
    """Every page of a list, following Link; returns the list of pages."""
    out = []
    while path is not None:
        st, h, body = get(port, path)
        if st != 200:
            raise AssertionError("%s: %s %s" % (path, st, body))
        out.append(body)
        path = next_link(h)
    return out


class AdminAttacks(unittest.TestCase):

    def setUp(self):
        self.backend = relay.Backend().start()
        self.addCleanup(self.backend.stop)
        self.jd = jtest.Janitord(POLICY, upstream_port=self.backend.port,
                                 dead_port=jtest.free_port())
        self.jd.start()
        self.addCleanup(self.jd.__exit__, None, None, None)

    def sessions(self, keys):
        """Confirmed sessions, one request each with an issued cookie."""
        for k in keys:
            st, h, body = relay.get(self.jd.port, "/plain", {
                "Cookie": "janitor_sid=" + self.jd.cookie(k)})
            self.assertEqual(st, 200)

    def test_lists_page(self):
        keys = ["k%03d" % i for i in range(250)]
        self.sessions(keys)
        # /sessions: most recent first, 100 at a time, each key once.
        got = pages(self.jd.admin_port, "/sessions")
        self.assertEqual([len(p) for p in got], [100, 100, 50])
        listed = [s["key"] for p in got for s in p]
        self.assertEqual(listed, list(reversed(keys)))
        st, h, body = get(self.jd.admin_port, "/sessions?limit=10000")
        self.assertEqual(len(body), 250)
        self.assertIsNone(next_link(h))
        for bad in ("limit=10001", "limit=-1", "limit=x", "after=x",
                    "after=-5"):
            st, h, body = get(self.jd.admin_port, "/sessions?" + bad)
            self.assertEqual(st, 400, bad)
        # Touched between pages: it moves to the front, out of this walk,
        # and nothing is listed twice.
        st, h, first = get(self.jd.admin_port, "/sessions?limit=10")
        self.sessions(["k245"])
        rest = [s["key"] for p in pages(self.jd.admin_port,
                                        next_link(h)) for s in p]
        seen = [s["key"] for s in first] + rest
        self.assertEqual(len(seen), len(set(seen)))
        self.assertEqual(len(seen), 250)

        # /webhooks/dead: expire them all; each event dies at once.
        for k in keys:
            conn = http.client.HTTPConnection("127.0.0.1",
                                              self.jd.admin_port, timeout=10)
            conn.request("DELETE", "/sessions/" + k)
            self.assertEqual(conn.getresponse().status, 202)
            conn.close()
        wait_metric(self.jd, "janitor_webhook_dead", 250, timeout=30)
        got = pages(self.jd.admin_port, "/webhooks/dead")
        self.assertEqual([len(p) for p in got], [100, 100, 50])
        seqs = [d["seq"] for p in got for d in p]
        self.assertEqual(seqs, sorted(set(seqs)))
        self.assertEqual({d["session"] for p in got for d in p}, set(keys))
        st, h, body = get(self.jd.admin_port, "/webhooks/dead?limit=7&after=%d"
                          % seqs[99])
        self.assertEqual([d["seq"] for d in body], seqs[100:107])
        self.assertEqual(next_link(h), "/webhooks/dead?limit=7&after=%d"
                         % seqs[106])
        st, h, body = get(self.jd.admin_port, "/webhooks/dead?limit=0")
        self.assertEqual((st, body), (200, []))
        st, h, body = get(self.jd.admin_port, "/webhooks/dead?limit=10001")
        self.assertEqual(st, 400)
        relay.stop_clean(self, self.jd)

    def test_trickle(self):
        # 64 connections from one address, a header byte a second each.
        t0 = time.monotonic()
        socks = []
        for i in range(64):
            s = socket.socket()
            s.bind(("127.0.0.2", 0))
            s.connect(("127.0.0.1", self.jd.admin_port))
            s.sendall(b"G")
            socks.append(s)
        self.addCleanup(lambda: [s.close() for s in socks])
        # All but 8 are closed at once.
        time.sleep(0.5)
        held = []
        for s in socks:
            r, w, x = select.select([s], [], [], 0)
            if not r:
                held.append(s)
                continue
            try:
                self.assertEqual(s.recv(1), b"")
            except ConnectionResetError:
                pass
        self.assertEqual(len(held), 8)
        # /healthz answers all along, from anywhere else.
        answered = 0
        deadline = t0 + 7
        while time.monotonic() < deadline:
            st, h, body = get(self.jd.admin_port, "/healthz")
            self.assertEqual((st, body), (200, "ok\n"))
            answered += 1
            for s in held:
                try:
                    s.send(b"T")
                except OSError:
                    pass
            time.sleep(1)
        self.assertGreaterEqual(answered, 5)
        # The trickle does not extend the deadline: 408 at about 10 s.
        s = held[0]
        s.settimeout(10)
        reply = b""
        while True:
            try:
                part = s.recv(4096)
            except (ConnectionResetError, socket.timeout):
                break
            if not part:
                break
            reply += part
        took = time.monotonic() - t0
        self.assertTrue(reply.startswith(b"HTTP/1.1 408"), reply)
        self.assertLess(took, 14)
        relay.stop_clean(self, self.jd)


if __name__ == "__main__":
    jtest.main()
