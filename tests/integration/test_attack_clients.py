"""Per-client limits of issue 12, replayed: 300 idle connections from one
address get 256 through (limits.max_connections_per_client) and 503 for
the rest, while another address is served as ever; and a client making new
sessions beyond sessions.new_per_client (here behind a trusted proxy, so
the address is its X-Forwarded-For) is relayed untracked: no session, no
cookie, no forward_header, while other clients still get sessions.  A key
counts once: when it is issued, or when the client first uses a key of its
own choosing."""

import socket
import unittest

import jtest
import relay
from sessiontest import cookie_of, forwarded, metric

POLICY = """
listen: 127.0.0.1:{port}
upstream: 127.0.0.1:{upstream_port}
state_dir: {dir}
admin:
  listen: 127.0.0.1:{admin_port}
trusted_proxies: {trusted}
log:
  level: info
"""


def connect_from(source, port):
    s = socket.socket()
    s.bind((source, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    return s


def get_from(source, port, path="/plain"):
    s = connect_from(source, port)
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
                   % path).encode())
        return relay.Reader(s).response()
    finally:
        s.close()


class Clients(unittest.TestCase):

    def start(self, trusted):
        self.backend = relay.Backend().start()
        self.addCleanup(self.backend.stop)
        self.jd = jtest.Janitord(POLICY, upstream_port=self.backend.port,
                                 trusted=trusted)
        self.jd.start()
        self.addCleanup(self.jd.__exit__, None, None, None)

    def test_connections_per_client(self):
        self.start("['10.0.0.0/8']")
        socks = []
        self.addCleanup(lambda: [s.close() for s in socks])
        for i in range(300):
            socks.append(connect_from("127.0.0.2", self.jd.port))
        # The first 256 wait quietly for a request; the rest get 503 and
        # are closed.
        refused = []
        for s in socks[256:]:
            st, h, body = relay.Reader(s).response()
            refused.append(st)
        self.assertEqual(refused, [503] * 44)
        self.assertEqual(metric(self.jd, 'janitor_connections_refused_total'
                                '{reason="per_client"}'), 44)
        # Everyone else is served meanwhile, and so is this client on the
        # connections it has.
        st, h, body = get_from("127.0.0.3", self.jd.port)
        self.assertEqual(st, 200)
        socks[0].sendall(b"GET /plain HTTP/1.1\r\nHost: t\r\n\r\n")
        st, h, body = relay.Reader(socks[0]).response()
        self.assertEqual(st, 200)
        # Closing some makes room again.
        for s in socks[:10]:
            s.close()
        jtest.wait_for(lambda: get_from("127.0.0.2", self.jd.port)[0] == 200,
                       timeout=5, what="room again")
        relay.stop_clean(self, self.jd)

    def test_new_sessions_per_client(self):
        self.start("['127.0.0.1/32']")
        xff = {"X-Forwarded-For": "203.0.113.9"}
        had = dict(xff, Cookie="janitor_sid=" + self.jd.cookie("had1"))
        st, h, body = relay.get(self.jd.port, "/headers", had)
        self.assertEqual(forwarded(body), ["had1"])
        keys = set()
        untracked = 0
        for i in range(130):
            st, h, body = relay.get(self.jd.port, "/headers", xff)
            self.assertEqual(st, 200)
            key = cookie_of(h)
            if key is None:
                untracked += 1
                self.assertEqual(forwarded(body), [])
            else:
                keys.add(key)
                self.assertEqual(forwarded(body), [key])
        # had1's cookie was counted when it was issued, not here.
        self.assertEqual(len(keys), 120)
        self.assertEqual(untracked, 10)
        self.assertEqual(metric(self.jd, 'janitor_sessions_refused_total'
                                '{reason="per_client"}'), 10)
        # Another client is not held back by this one.
        st, h, body = relay.get(self.jd.port, "/headers",
                                {"X-Forwarded-For": "203.0.113.10"})
        self.assertIsNotNone(cookie_of(h))
        # The proxy itself, when it names no client, is not limited.
        for i in range(130):
            st, h, body = relay.get(self.jd.port, "/plain")
            self.assertIsNotNone(cookie_of(h))
        # The session the client has goes on as ever, and a cookie it was
        # issued earlier (counted then) still makes its session.
        st, h, body = relay.get(self.jd.port, "/headers", had)
        self.assertEqual(forwarded(body), ["had1"])
        st, h, body = relay.get(self.jd.port, "/headers", dict(
            xff, Cookie="janitor_sid=" + self.jd.cookie("new2")))
        self.assertEqual(forwarded(body), ["new2"])
        self.jd.wait_log("more than 120 new sessions a minute")
        relay.stop_clean(self, self.jd)


if __name__ == "__main__":
    jtest.main()
