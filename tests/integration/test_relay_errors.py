"""Each error a client can see, provoked with raw sockets: 400 for every
malformed case, 408, 413, 431, 503 and 504; each has a short plain-text
body, closes the connection, and leaves one log line."""

import select
import time
import unittest

import relay

BAD = [
    # Content-Length with Transfer-Encoding (request smuggling).
    b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    # Two different Content-Length values.
    b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
    b"Content-Length: 6\r\n\r\nhello!",
    # A bad chunk size.
    b"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"zz\r\nhello\r\n0\r\n\r\n",
    # A NUL in the head.
    b"GET /plain HTTP/1.1\r\nHost: t\r\nX-A: a\x00b\r\n\r\n",
    # A control byte in a header value.
    b"GET /plain HTTP/1.1\r\nHost: t\r\nX-A: a\x07b\r\n\r\n",
    # Transfer-Encoding other than chunked.
    b"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n",
    # Garbage.
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    # HTTP/1.1 without Host.
    b"GET /plain HTTP/1.1\r\n\r\n",
    # A space in a header name.
    b"GET /plain HTTP/1.1\r\nHost: t\r\nX A: b\r\n\r\n",
]

EXTRA = """limits:
  header_timeout: 400ms
  max_header_size: 2k
  max_body_size: 1k
  max_connections: 4
  upstream_timeout: 400ms"""


class ErrorsTest(relay.RelayCase, unittest.TestCase):
    extra = EXTRA

    def check(self, resp, status):
        st, h, body = resp
        self.assertEqual(st, status)
        self.assertEqual(h["content-type"], ["text/plain; charset=utf-8"])
        self.assertEqual(h["connection"], ["close"])
        self.assertTrue(0 < len(body) < 200)
        self.jd.wait_log(" %d " % status)

    def test_400(self):
        for req in BAD:
            with self.subTest(req=req[:60]):
                s = relay.connect(self.jd.port)
                s.sendall(req)
                r = relay.Reader(s)
                self.check(r.response(), 400)
                self.assertTrue(r.closed())
                s.close()
        self.assertEqual(self.jd.log().count("400 Bad Request"), len(BAD))

    def test_408(self):
        s = relay.connect(self.jd.port)
        s.sendall(b"GET /plain HTTP/1.1\r\nHost: t\r\n")
        t0 = time.monotonic()
        self.check(relay.Reader(s).response(), 408)
        self.assertLess(time.monotonic() - t0, 2.0)
        s.close()
        # Trickling one byte at a time does not reset the clock.
        s = relay.connect(self.jd.port)
        t0 = time.monotonic()
        for c in b"GET /plain HTTP/1.1\r\nHost: t\r\nX-Long: " + b"a" * 100:
            s.send(bytes([c]))
            if select.select([s], [], [], 0.05)[0]:
                break
        self.check(relay.Reader(s).response(), 408)
        self.assertLess(time.monotonic() - t0, 1.5)
        s.close()

    def test_413(self):
        self.check(relay.raw(self.jd.port,
                             b"POST /upload HTTP/1.1\r\nHost: t\r\n"
                             b"Content-Length: 2000\r\n\r\n" + b"x" * 2000),
                   413)
        # A chunked body over the limit is cut off too.
        s = relay.connect(self.jd.port)
        s.sendall(b"POST /upload HTTP/1.1\r\nHost: t\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        try:
            for i in range(4):
                s.sendall(b"200\r\n" + b"y" * 512 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.check(relay.Reader(s).response(), 413)
        s.close()
        # Under the limit is fine.
        st, h, body = relay.raw(self.jd.port,
                                b"POST /upload HTTP/1.1\r\nHost: t\r\n"
                                b"Content-Length: 1000\r\nConnection: close"
                                b"\r\n\r\n" + b"x" * 1000)
        self.assertEqual(st, 200)

    def test_431(self):
        self.check(relay.raw(self.jd.port,
                             b"GET /plain HTTP/1.1\r\nHost: t\r\nX-Big: " +
                             b"a" * 3000 + b"\r\n\r\n"), 431)
        # Many small headers count too.
        req = b"GET /plain HTTP/1.1\r\nHost: t\r\n" + \
            b"".join(b"X-H%d: 0123456789\r\n" % i for i in range(200)) + b"\r\n"
        self.check(relay.raw(self.jd.port, req), 431)

    def test_503(self):
        held = [relay.connect(self.jd.port) for i in range(4)]
        time.sleep(0.1)
        self.check(relay.raw(self.jd.port,
                             b"GET /plain HTTP/1.1\r\nHost: t\r\n\r\n"), 503)
        for s in held:
            s.close()
        relay.jtest.wait_for(
            lambda: relay.get(self.jd.port, "/plain")[0] == 200,
            what="a free slot")

    def test_504(self):
        t0 = time.monotonic()
        self.check(relay.raw(self.jd.port,
                             b"GET /sleep?s=3 HTTP/1.1\r\nHost: t\r\n\r\n"),
                   504)
        self.assertLess(time.monotonic() - t0, 2.0)
        # A slow stream that keeps sending is not cut off: 0.8 s in all,
        # twice upstream_timeout, in gaps a quarter of it (so that a loaded
        # machine does not stretch one gap past the limit).
        st, h, body = relay.get(self.jd.port, "/slow?n=8&delay=0.1")
        self.assertEqual((st, body.count(b"line")), (200, 8))


if __name__ == "__main__":
    relay.main()
