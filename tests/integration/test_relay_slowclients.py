"""500 slow clients at once (400 trickling a request head byte by byte,
100 that asked for a body and never read it) do not hold up a normal
request."""

import socket
import threading
import time
import unittest

import relay

N = 500


class SlowClientsTest(relay.RelayCase, unittest.TestCase):
    extra = "limits: {header_timeout: 30s}"

    def test_normal_request_not_blocked(self):
        socks = []
        for i in range(N):
            s = relay.connect(self.jd.port)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            if i % 5:
                s.sendall(b"GET /plain HTTP/1.1\r\nHost: t\r\nX-Slow: ")
            else:
                s.sendall(b"GET /big?mb=1 HTTP/1.1\r\nHost: t\r\n\r\n")
            socks.append(s)
        trickling = [s for i, s in enumerate(socks) if i % 5]
        stop = threading.Event()

        def trickle():
            while not stop.is_set():
                for s in trickling:
                    try:
                        s.send(b"a")
                    except OSError:
                        pass
                time.sleep(0.1)
        t = threading.Thread(target=trickle, daemon=True)
        t.start()
        time.sleep(1.0)
        # One session for the normal requests: a new session's first
        # request waits for its commit (an fsync), which measures the
        # disk, not the relay.
        st, h, body = relay.get(self.jd.port, "/plain")
        cookie = {"Cookie": h["set-cookie"][0].split(";", 1)[0]}
        worst = 0
        for i in range(20):
            t0 = time.monotonic()
            st, h, body = relay.get(self.jd.port, "/plain", headers=cookie)
            worst = max(worst, time.monotonic() - t0)
            self.assertEqual((st, body), (200, b"hello\n"))
        stop.set()
        t.join()
        print("worst latency beside %d slow clients: %.1f ms" %
              (N, worst * 1000))
        self.assertLess(worst, 1.0)
        # The slow ones are all still there, none was dropped (the
        # normal requests' connections may take a moment to go).
        relay.jtest.wait_for(
            lambda: "janitor_connections{kind=\"http\"} %d\n" % N in
            relay.metrics(self.jd.admin_port), timeout=5,
            what="%d open connections" % N)
        for s in socks:
            s.close()


if __name__ == "__main__":
    relay.main()
