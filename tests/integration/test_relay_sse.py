"""Server-Sent Events go through one by one, each within 50 ms of the app
writing it, and the stream counts as an sse connection while it is open."""

import time
import unittest
import urllib.request

import relay


def gauge(admin_port, kind):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % admin_port,
                                timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith('janitor_connections{kind="%s"}' % kind):
                return int(line.split()[-1])
    return None


class SseTest(relay.RelayCase, unittest.TestCase):

    def test_events_one_by_one(self):
        n = 10
        s = relay.connect(self.jd.port)
        s.sendall(b"GET /sse?n=%d&interval=0.15 HTTP/1.1\r\nHost: t\r\n"
                  b"Accept: text/event-stream\r\n\r\n" % n)
        r = relay.Reader(s)
        st, h = r.head()
        self.assertEqual(st, 200)
        self.assertTrue(h["content-type"][0].startswith("text/event-stream"))
        chunked = "chunked" in h.get("transfer-encoding", [""])[0]
        delays = []
        seen = 0
        text = b""
        while seen < n:
            data = r.buf or s.recv(65536)
            r.buf = b""
            now = time.time()
            self.assertTrue(data)
            text += data
            # Each event is "id: N\ndata: T\n\n" (maybe inside chunks).
            while b"\n\n" in text:
                ev, text = text.split(b"\n\n", 1)
                for line in ev.split(b"\n"):
                    if line.startswith(b"data: "):
                        delays.append(now - float(line[6:]))
                        seen += 1
            if seen == 2:
                self.assertEqual(gauge(self.jd.admin_port, "sse"), 1)
        s.close()
        print("SSE delays (ms): %s" % " ".join("%.1f" % (d * 1000)
                                              for d in delays))
        self.assertTrue(chunked or "content-length" not in h)
        self.assertEqual(len(delays), n)
        for d in delays:
            self.assertLess(d, 0.050)
        relay.jtest.wait_for(lambda: gauge(self.jd.admin_port, "sse") == 0,
                             what="sse gauge back to 0")


if __name__ == "__main__":
    relay.main()
