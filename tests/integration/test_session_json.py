"""sessions.key json source: a top-level string field of a JSON request
body (Gradio's queue/join) is the key, read before the request is
forwarded; everything else (not JSON, too large, chunked, Expect, no
field, another path) gives no key from it, and in every case the app gets
the body's bytes exactly as the client sent them."""

import json
import socket
import threading
import time
import unittest

import jtest
import relay
from sessiontest import session

POLICY = """
listen: 127.0.0.1:{port}
upstream: 127.0.0.1:{upstream_port}
state_dir: {dir}
admin:
  listen: 127.0.0.1:{admin_port}
limits:
  header_timeout: 1s
sessions:
  cookie: {{issue: false}}
  json_max: 1k
  key:
    - query: session_hash
    - {{json: session_hash, path: '/queue/join$'}}
log:
  level: debug
"""


class RawApp:
    """An app that records each request's head and raw body bytes (chunk
    framing included) and answers 200 with the X-Janitor-Session it got."""

    def __init__(self):
        self.port = jtest.free_port()
        self.reqs = []
        self.lock = threading.Lock()
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", self.port))
        self.srv.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    def _serve(self, c):
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                hdrs = {}
                for ln in lines[1:]:
                    k, v = ln.split(":", 1)
                    hdrs[k.strip().lower()] = v.strip()
                if "content-length" in hdrs:
                    n = int(hdrs["content-length"])
                    while len(buf) < n:
                        buf += c.recv(65536)
                    body, buf = buf[:n], buf[n:]
                elif hdrs.get("transfer-encoding") == "chunked":
                    while b"\r\n0\r\n\r\n" not in b"\r\n" + buf:
                        buf += c.recv(65536)
                    i = (b"\r\n" + buf).index(b"\r\n0\r\n\r\n") + 5
                    body, buf = buf[:i], buf[i:]
                else:
                    body = b""
                with self.lock:
                    self.reqs.append((lines[0], hdrs, body))
                out = json.dumps({"session": hdrs.get("x-janitor-session")})
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/"
                          b"json\r\nContent-Length: %d\r\n\r\n%s" %
                          (len(out), out.encode()))
        except OSError:
            pass
        finally:
            c.close()

    def last(self):
        with self.lock:
            return self.reqs[-1]

    def stop(self):
        self.srv.close()


def post(path, body, ctype="application/json", extra=""):
    return ("POST %s HTTP/1.1\r\nHost: t\r\nContent-Type: %s\r\n"
            "Content-Length: %d\r\n%s\r\n" % (path, ctype, len(body), extra)
            ).encode() + body


class JsonKey(unittest.TestCase):

    def setUp(self):
        self.app = RawApp()
        self.addCleanup(self.app.stop)
        self.jd = jtest.Janitord(POLICY, upstream_port=self.app.port)
        self.jd.start()
        self.addCleanup(self.jd.__exit__, None, None, None)

    def send(self, data):
        st, h, body = relay.raw(self.jd.port, data)
        return st, json.loads(body)["session"] if st == 200 else body

    def check(self, req, want_key, body):
        st, got = self.send(req)
        self.assertEqual(st, 200)
        self.assertEqual(got, want_key)
        self.assertEqual(self.app.last()[2], body)

    def test_queue_join_attributed(self):
        body = (b'{"data":[null,"hi"],"event_data":null,"fn_index":0,'
                b'"trigger_id":1,"session_hash":"r2zku0ah3ur"}')
        self.check(post("/gradio_api/queue/join", body), "r2zku0ah3ur",
                   body)
        self.assertEqual(session(self.jd, "r2zku0ah3ur")["requests"], 1)
        body = b'{"session_hash": "h2"}'
        self.check(post("/myapp/queue/join?fn=1", body,
                        "application/json; charset=utf-8"), "h2", body)

    def test_an_earlier_source_wins_without_reading(self):
        body = b'{"session_hash": "frombody"}'
        self.check(post("/queue/join?session_hash=fromquery", body),
                   "fromquery", body)

    def test_no_key_and_relayed_unchanged(self):
        field = b'{"session_hash": "h3"}'
        cases = [
            post("/queue/join", field, "text/plain"),
            post("/queue/join", field, "application/jsonl"),
            post("/queue/other", field),
            post("/queue/join", b'{"session_hash": 3}'),
            post("/queue/join", b'{"session_hash": "../x"}'),
            post("/queue/join", b'{"data": {"session_hash": "h3"}}'),
            post("/queue/join", b'["session_hash", "h3"]'),
            post("/queue/join", b'{"session_hash": "h3"'),
            post("/queue/join", b'{"session_hash": "h3"}\x00'),
            post("/queue/join", b'\xff\xfe{"session_hash": "h3"}'),
            # Larger than json_max (1k): relayed, not read.
            post("/queue/join", b'{"session_hash": "h3", "pad": "' +
                 b"x" * 2000 + b'"}'),
        ]
        for req in cases:
            with self.subTest(req=req[:80]):
                self.check(req, None, req.split(b"\r\n\r\n", 1)[1])
        self.assertIsNone(session(self.jd, "h3"))

    def test_chunked_is_not_read(self):
        chunks = b'16\r\n{"session_hash": "h4"}\r\n0\r\n\r\n'
        req = (b"POST /queue/join HTTP/1.1\r\nHost: t\r\nContent-Type: "
               b"application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
               chunks)
        self.check(req, None, chunks)

    def test_expect_is_not_read(self):
        body = b'{"session_hash": "h5"}'
        self.check(post("/queue/join", body,
                        extra="Expect: 100-continue\r\n"), None, body)

    def test_body_in_pieces_and_pipelined(self):
        body = b'{"session_hash": "h6", "data": [1, 2, 3]}'
        req = post("/queue/join", body)
        s = socket.create_connection(("127.0.0.1", self.jd.port))
        self.addCleanup(s.close)
        s.sendall(req[:-10])
        time.sleep(0.3)
        # The app has seen nothing: the request waits for its body.
        self.assertEqual(self.app.reqs, [])
        # The rest, and a second request pipelined behind it.
        s.sendall(req[-10:] + b"GET /after HTTP/1.1\r\nHost: t\r\n\r\n")
        r = relay.Reader(s)
        st, h, b1 = r.response()
        self.assertEqual((st, json.loads(b1)["session"]), (200, "h6"))
        st, h, b2 = r.response()
        self.assertEqual((st, json.loads(b2)["session"]), (200, None))
        self.assertEqual(self.app.reqs[0][2], body)
        self.assertEqual(self.app.reqs[1][0], "GET /after HTTP/1.1")

    def test_slow_body_408(self):
        req = post("/queue/join", b'{"session_hash": "h7"}')
        s = socket.create_connection(("127.0.0.1", self.jd.port))
        self.addCleanup(s.close)
        s.sendall(req[:-5])
        st, h, body = relay.Reader(s).response()
        self.assertEqual(st, 408)
        self.assertEqual(self.app.reqs, [])
        self.assertIsNone(session(self.jd, "h7"))
        # The daemon goes on serving.
        self.check(post("/queue/join", b'{"session_hash": "h8"}'), "h8",
                   b'{"session_hash": "h8"}')

    def test_client_gone_while_reading(self):
        req = post("/queue/join", b'{"session_hash": "h9"}')
        s = socket.create_connection(("127.0.0.1", self.jd.port))
        s.sendall(req[:-5])
        time.sleep(0.1)
        s.close()
        self.jd.wait_log("client went away")
        self.assertEqual(self.app.reqs, [])
        self.assertIsNone(session(self.jd, "h9"))


if __name__ == "__main__":
    jtest.main()
