"""The upstream side: down gives 502 (and counts an upstream error), up
again gives 200; a pooled connection the app dropped is retried once for
an idempotent bodiless request, never for a POST; an app that resets
before answering gives 502."""

import socket
import threading
import time
import unittest

import relay


class FlakyApp:
    """A raw app: answers the first request on each connection with
    keep-alive, then closes the connection when the second arrives."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns += 1
            threading.Thread(target=self.one, args=(c,), daemon=True).start()

    def one(self, c):
        buf = b""
        n = 0
        with c:
            while True:
                data = c.recv(65536)
                if not data:
                    return
                buf += data
                while b"\r\n\r\n" in buf:
                    head, buf = buf.split(b"\r\n\r\n", 1)
                    if b"content-length: 4" in head.lower():
                        buf = buf[4:]
                    n += 1
                    if n == 2:
                        return        # dead before answering
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")


class UpstreamTest(unittest.TestCase):

    def test_down_then_up(self):
        port = relay.jtest.free_port()
        with relay.janitord(port) as jd:
            st, h, body = relay.get(jd.port, "/plain")
            self.assertEqual(st, 502)
            self.assertIn(b"upstream", body)
            self.assertIn("janitor_upstream_errors_total 1",
                          relay.metrics(jd.admin_port))
            with relay.Backend(port):
                st, h, body = relay.get(jd.port, "/plain")
                self.assertEqual((st, body), (200, b"hello\n"))
            # And down again: the pooled connection is gone, 502 again.
            time.sleep(0.2)
            st, h, body = relay.get(jd.port, "/plain")
            self.assertEqual(st, 502)
            self.assertEqual(jd.stop(), 0)

    def test_retry_once(self):
        app = FlakyApp()
        with relay.janitord(app.port) as jd:
            s = relay.connect(jd.port)
            r = relay.Reader(s)
            for i in range(4):
                s.sendall(b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n")
                st, h, body = r.response()
                self.assertEqual((st, body), (200, b"ok\n"))
            # Every second request met a dead pooled connection and was
            # sent again on a fresh one.
            self.assertEqual(app.conns, 4)
            # A POST is not repeated: 502.
            s.sendall(b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n"
                      b"\r\nbody")
            st, h, body = r.response()
            self.assertEqual(st, 502)
            s.close()
            self.assertEqual(jd.stop(), 0)

    def test_reset_before_answer(self):
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(8)

        def rst():
            while True:
                try:
                    c, _ = lsock.accept()
                except OSError:
                    return
                c.recv(1024)
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             b"\x01\x00\x00\x00\x00\x00\x00\x00")
                c.close()
        threading.Thread(target=rst, daemon=True).start()
        with relay.janitord(lsock.getsockname()[1]) as jd:
            st, h, body = relay.get(jd.port, "/plain")
            self.assertEqual(st, 502)
            self.assertEqual(jd.stop(), 0)
        lsock.close()


if __name__ == "__main__":
    relay.main()
