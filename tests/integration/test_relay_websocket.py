"""A WebSocket through janitord: 10,000 echoed messages, a 1 MiB binary
one, and the connection counted as a websocket while it is open."""

import asyncio
import time
import unittest
import urllib.request

import websockets

import relay


def gauge(admin_port, kind):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % admin_port,
                                timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith('janitor_connections{kind="%s"}' % kind):
                return int(line.split()[-1])
    return None


class WebSocketTest(relay.RelayCase, unittest.TestCase):

    def test_echo(self):
        port, admin = self.jd.port, self.jd.admin_port

        async def run():
            uri = "ws://127.0.0.1:%d/ws" % port
            async with websockets.connect(uri, max_size=None) as ws:
                self.assertEqual(gauge(admin, "websocket"), 1)
                t0 = time.monotonic()
                # 10,000 messages, 100 in flight at a time.
                for base in range(0, 10000, 100):
                    for i in range(base, base + 100):
                        await ws.send("message %d" % i)
                    for i in range(base, base + 100):
                        self.assertEqual(await ws.recv(), "message %d" % i)
                print("10,000 echoes in %.2f s" % (time.monotonic() - t0))
                big = bytes(range(256)) * 4096
                await ws.send(big)
                self.assertEqual(await ws.recv(), big)
        asyncio.run(run())
        relay.jtest.wait_for(lambda: gauge(admin, "websocket") == 0,
                             what="websocket gauge back to 0")
        self.assertEqual(gauge(admin, "http"), 0)

    def test_not_upgraded(self):
        # An upgrade the app refuses stays plain HTTP on the same connection.
        s = relay.connect(self.jd.port)
        s.sendall(b"GET /plain HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\n"
                  b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                  b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
        r = relay.Reader(s)
        st, h, body = r.response()
        self.assertEqual((st, body), (200, b"hello\n"))
        s.sendall(b"GET /plain HTTP/1.1\r\nHost: t\r\n\r\n")
        self.assertEqual(r.response()[2], b"hello\n")
        s.close()


if __name__ == "__main__":
    relay.main()
