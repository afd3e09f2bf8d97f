"""sessions.websocket_ping through the real binary: a client that answers
the pings keeps its WebSocket (and the echo through it works, also for a
1 MiB message with pings around it), a client that stops answering is
closed and its session unloads."""

import os
import socket
import struct
import time
import unittest

import relay
from sessiontest import Channel, metric, state, wait_state

EXTRA = """
sessions:
  websocket_ping: 300ms
on_unload:
  grace: 0s
"""


def send_frame(sock, op, payload):
    """A masked client frame."""
    key = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | op, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | op, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | op, 0x80 | 127, n)
    masked = bytes(b ^ key[i & 3] for i, b in enumerate(payload))
    sock.sendall(head + key + masked)


class Frames:
    """Reads server frames off a Channel (after its 101)."""

    def __init__(self, ch):
        self.r = ch.reader

    def next(self):
        h = self.r._take(2)
        op, n = h[0] & 0x0f, h[1] & 0x7f
        if n == 126:
            n = struct.unpack("!H", self.r._take(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.r._take(8))[0]
        if h[1] & 0x80:
            raise AssertionError("server frames must not be masked")
        return op, self.r._take(n)


class WsPing(unittest.TestCase):

    def setUp(self):
        self.backend = relay.Backend().start()
        self.addCleanup(self.backend.stop)
        self.jd = relay.janitord(self.backend.port, extra=EXTRA)
        self.jd.start()
        self.addCleanup(self.jd.__exit__, None, None, None)

    def open(self, key):
        ch = Channel(self.jd.port, "/ws", cookie=self.jd.cookie(key),
                     websocket=True)
        self.assertEqual(ch.status, 101)
        wait_state(self.jd, key, "live")
        return ch, Frames(ch)

    def test_answering_client_stays(self):
        ch, fr = self.open("answers")
        pings = 0
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            op, data = fr.next()
            self.assertEqual(op, 9)
            self.assertTrue(data.startswith(b"janitor-ping-"))
            send_frame(ch.sock, 0xA, data)
            pings += 1
        self.assertGreaterEqual(pings, 3)
        send_frame(ch.sock, 1, b"still here")
        while True:
            op, data = fr.next()
            if op == 9:
                send_frame(ch.sock, 0xA, data)
                continue
            self.assertEqual((op, data), (1, b"still here"))
            break
        self.assertEqual(state(self.jd, "answers"), "live")
        self.assertEqual(metric(self.jd, "janitor_unloads_total"), 0)
        ch.close()

    def test_big_message_between_pings(self):
        ch, fr = self.open("bigecho")
        msg = os.urandom(1 << 20)
        send_frame(ch.sock, 2, msg)
        got = b""
        pings = 0
        while len(got) < len(msg):
            op, data = fr.next()
            if op == 9:
                pings += 1
                send_frame(ch.sock, 0xA, data)
                continue
            self.assertEqual(op, 2)
            got += data
        self.assertEqual(got, msg)
        ch.close()

    def test_silent_client_is_closed(self):
        ch, fr = self.open("silent")
        t0 = time.monotonic()
        ch.sock.settimeout(5)
        closed = False
        try:
            while True:
                op, data = fr.next()       # pings, never answered
                self.assertEqual(op, 9)
        except (EOFError, ConnectionResetError):
            closed = True
        took = time.monotonic() - t0
        self.assertTrue(closed)
        self.assertGreater(took, 0.25)
        self.assertLess(took, 2.0)
        wait_state(self.jd, "silent", "unloaded", timeout=2.0)
        self.assertIn("websocket ping not answered", self.jd.log())
        ch.close()


if __name__ == "__main__":
    relay.main()
