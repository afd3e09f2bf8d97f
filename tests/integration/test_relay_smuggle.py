"""A client may not hide a request inside a body by naming the framing
header in Connection: the app must receive the body as a body."""

import json
import unittest

import relay

SMUGGLED = (b"GET /headers HTTP/1.1\r\nHost: a\r\n"
            b"X-Janitor-Session: VictimKey\r\n\r\n")


class SmuggleTest(relay.RelayCase, unittest.TestCase):

    def upload(self, head, body):
        s = relay.connect(self.jd.port)
        try:
            s.sendall(head + body)
            st, _, out = relay.Reader(s).response()
        finally:
            s.close()
        self.assertEqual(st, 200)
        return json.loads(out)

    def test_connection_names_content_length(self):
        got = self.upload(b"POST /upload HTTP/1.1\r\nHost: t\r\n"
                          b"Connection: Content-Length\r\n"
                          b"Content-Length: %d\r\n\r\n" % len(SMUGGLED),
                          SMUGGLED)
        self.assertEqual(got["size"], len(SMUGGLED))

    def test_connection_names_transfer_encoding(self):
        chunk = b"%x\r\n%s\r\n0\r\n\r\n" % (len(SMUGGLED), SMUGGLED)
        got = self.upload(b"POST /upload HTTP/1.1\r\nHost: t\r\n"
                          b"Connection: keep-alive, Transfer-Encoding\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\n", chunk)
        self.assertEqual(got["size"], len(SMUGGLED))


if __name__ == "__main__":
    relay.main()
