"""Expect: 100-continue passes through: the app's 100 Continue reaches
the client before it sends the body, then the final answer follows."""

import hashlib
import json
import socket
import unittest

import relay


class ContinueTest(relay.RelayCase, unittest.TestCase):

    def exchange(self, head, body):
        s = relay.connect(self.jd.port)
        s.sendall(head)
        r = relay.Reader(s)
        s.settimeout(3)
        st, h = r.head()
        self.assertEqual(st, 100)
        s.sendall(body)
        st, h, resp = r.response()
        s.close()
        return st, json.loads(resp)

    def test_content_length(self):
        data = b"x" * 100000
        st, j = self.exchange(
            b"POST /upload HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
            b"Content-Length: %d\r\n\r\n" % len(data), data)
        self.assertEqual(st, 200)
        self.assertEqual(j["sha256"], hashlib.sha256(data).hexdigest())

    def test_chunked(self):
        st, j = self.exchange(
            b"POST /upload HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n",
            b"5\r\nhello\r\n0\r\n\r\n")
        self.assertEqual(st, 200)
        self.assertEqual(j["size"], 5)

    def test_no_100_without_expect(self):
        s = relay.connect(self.jd.port)
        s.sendall(b"POST /upload HTTP/1.1\r\nHost: t\r\n"
                  b"Content-Length: 5\r\n\r\n")
        s.settimeout(0.5)
        with self.assertRaises(socket.timeout):
            s.recv(1)
        s.settimeout(5)
        s.sendall(b"hello")
        st, h, body = relay.Reader(s).response()
        self.assertEqual(st, 200)
        s.close()


if __name__ == "__main__":
    relay.main()
