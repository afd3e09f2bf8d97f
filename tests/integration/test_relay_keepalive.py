"""Keep-alive on both sides: many requests on one client connection, and
many clients one after another, all served over one upstream connection
from janitord's pool; HTTP/1.0 and Connection: close are honoured."""

import unittest

import relay


class KeepAliveTest(relay.RelayCase, unittest.TestCase):

    def test_reuse_both_sides(self):
        s = relay.connect(self.jd.port)
        r = relay.Reader(s)
        paths = ["/plain", "/chunked", "/headers", "/status/204",
                 "/status/304", "/plain"] * 5
        for p in paths:
            s.sendall(b"GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % p.encode())
            st, h, body = r.response()
            self.assertEqual(st, int(p[8:]) if p.startswith("/status") else 200)
            self.assertNotIn("close", h.get("connection", [""])[0])
        s.sendall(b"HEAD /plain HTTP/1.1\r\nHost: t\r\n\r\n")
        st, h, body = r.response(head_request=True)
        self.assertEqual((st, h["content-length"]), (200, ["6"]))
        s.sendall(b"GET /plain HTTP/1.1\r\nHost: t\r\n\r\n")
        self.assertEqual(r.response()[2], b"hello\n")
        s.close()
        # Fresh clients, one after another, reuse the pooled connection.
        for i in range(20):
            st, h, body = relay.get(self.jd.port, "/plain")
            self.assertEqual((st, body), (200, b"hello\n"))
        self.assertEqual(relay.upstream_connections(self.backend.port), 1)

    def test_close_and_http10(self):
        s = relay.connect(self.jd.port)
        s.sendall(b"GET /plain HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        r = relay.Reader(s)
        st, h, body = r.response()
        self.assertEqual(h["connection"], ["close"])
        self.assertTrue(r.closed())
        s.close()

        s = relay.connect(self.jd.port)
        s.sendall(b"GET /plain HTTP/1.0\r\n\r\n")
        r = relay.Reader(s)
        st, h, body = r.response()
        self.assertEqual((st, body), (200, b"hello\n"))
        self.assertTrue(r.closed())
        s.close()

        # HTTP/1.0 with keep-alive asked for gets it, and says so.
        s = relay.connect(self.jd.port)
        r = relay.Reader(s)
        for i in range(3):
            s.sendall(b"GET /plain HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            st, h, body = r.response()
            self.assertEqual(body, b"hello\n")
            self.assertEqual(h["connection"], ["keep-alive"])
        s.close()

    def test_keepalive_timeout(self):
        self.jd.stop()
        self.jd.write_policy(relay.POLICY,
                             extra="limits: {keepalive_timeout: 300ms}")
        self.jd.start()
        s = relay.connect(self.jd.port)
        s.sendall(b"GET /plain HTTP/1.1\r\nHost: t\r\n\r\n")
        r = relay.Reader(s)
        self.assertEqual(r.response()[0], 200)
        self.assertTrue(r.closed(timeout=3))
        s.close()


if __name__ == "__main__":
    relay.main()
