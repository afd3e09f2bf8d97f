"""Pipelined requests, sent in one write, are answered in order, bodies
(Content-Length and chunked) included."""

import hashlib
import json
import unittest

import relay


class PipeliningTest(relay.RelayCase, unittest.TestCase):

    def test_in_order(self):
        reqs = [
            b"GET /plain HTTP/1.1\r\nHost: t\r\n\r\n",
            b"GET /chunked HTTP/1.1\r\nHost: t\r\n\r\n",
            b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello",
            b"POST /upload HTTP/1.1\r\nHost: t\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\n\r\n",
            b"HEAD /plain HTTP/1.1\r\nHost: t\r\n\r\n",
            b"GET /status/404 HTTP/1.1\r\nHost: t\r\n\r\n",
            b"GET /headers HTTP/1.1\r\nHost: t\r\nX-Seq: 7\r\n\r\n",
        ] * 5
        s = relay.connect(self.jd.port)
        s.sendall(b"".join(reqs))
        r = relay.Reader(s)
        for i in range(5):
            st, h, body = r.response()
            self.assertEqual((st, body), (200, b"hello\n"))
            st, h, body = r.response()
            self.assertEqual(body, b"".join(b"chunk %d\n" % j
                                            for j in range(5)))
            st, h, body = r.response()
            self.assertEqual(json.loads(body)["sha256"],
                             hashlib.sha256(b"hello").hexdigest())
            st, h, body = r.response()
            self.assertEqual(json.loads(body)["sha256"],
                             hashlib.sha256(b"abcdefg").hexdigest())
            st, h, body = r.response(head_request=True)
            self.assertEqual((st, body), (200, b""))
            st, h, body = r.response()
            self.assertEqual(st, 404)
            st, h, body = r.response()
            self.assertIn(["X-Seq", "7"], json.loads(body))
        s.close()
        # All of it went over one upstream connection.
        self.assertEqual(relay.upstream_connections(self.backend.port), 1)


if __name__ == "__main__":
    relay.main()
