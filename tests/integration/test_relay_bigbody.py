"""64 MiB down and 64 MiB up, streamed: the bytes arrive intact (sha256)
and janitord's resident memory stays under 32 MiB, also while the client
reads slowly (backpressure)."""

import hashlib
import json
import threading
import time
import unittest

import backend
import relay

MB = 64
LIMIT_KIB = 32 * 1024


class RssWatch:
    """Samples janitord's RSS every 20 ms in a thread."""

    def __init__(self, pid):
        self.pid = pid
        self.peak = 0
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while self.running:
            self.peak = max(self.peak, relay.rss_kib(self.pid))
            time.sleep(0.02)

    def stop(self):
        self.running = False
        self.thread.join()
        return self.peak


def sanitized(pid):
    """Whether janitord runs under ASan (its RSS means nothing then)."""
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


class BigBodyTest(relay.RelayCase, unittest.TestCase):

    def check_rss(self, peak):
        print("janitord peak RSS %d KiB" % peak)
        if not sanitized(self.jd.proc.pid):
            self.assertLess(peak, LIMIT_KIB)

    def test_download(self):
        want = backend.pattern_sha256(MB)
        watch = RssWatch(self.jd.proc.pid)
        s = relay.connect(self.jd.port, timeout=60)
        s.sendall(b"GET /big?mb=%d HTTP/1.1\r\nHost: t\r\n\r\n" % MB)
        r = relay.Reader(s)
        st, h = r.head()
        self.assertEqual(int(h["content-length"][0]), MB << 20)
        digest = hashlib.sha256()
        got = len(r.buf)
        digest.update(r.buf)
        slowed = False
        while got < MB << 20:
            data = s.recv(1 << 20)
            self.assertTrue(data)
            digest.update(data)
            got += len(data)
            if not slowed and got > 8 << 20:
                # Stop reading for a while: janitord must stop too.
                time.sleep(1.0)
                slowed = True
        s.close()
        self.check_rss(watch.stop())
        self.assertEqual(got, MB << 20)
        self.assertEqual(digest.hexdigest(), want)

    def test_upload(self):
        block = b"0123456789abcdef" * 65536
        digest = hashlib.sha256()
        watch = RssWatch(self.jd.proc.pid)
        s = relay.connect(self.jd.port, timeout=60)
        s.sendall(b"POST /upload HTTP/1.1\r\nHost: t\r\n"
                  b"Content-Length: %d\r\n\r\n" % (MB << 20))
        for i in range(MB):
            chunk = bytes([i]) + block[1:]
            digest.update(chunk)
            s.sendall(chunk)
        st, h, body = relay.Reader(s).response()
        s.close()
        self.check_rss(watch.stop())
        self.assertEqual(st, 200)
        j = json.loads(body)
        self.assertEqual(j["size"], MB << 20)
        self.assertEqual(j["sha256"], digest.hexdigest())

    def test_upload_chunked(self):
        digest = hashlib.sha256()
        s = relay.connect(self.jd.port, timeout=60)
        s.sendall(b"POST /upload HTTP/1.1\r\nHost: t\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        total = 0
        for i in range(16):
            chunk = bytes([i]) * (1 << 20)
            digest.update(chunk)
            total += len(chunk)
            s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        s.sendall(b"0\r\n\r\n")
        st, h, body = relay.Reader(s).response()
        s.close()
        j = json.loads(body)
        self.assertEqual((st, j["size"]), (200, total))
        self.assertEqual(j["sha256"], digest.hexdigest())


if __name__ == "__main__":
    relay.main()
