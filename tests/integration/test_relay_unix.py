"""Unix sockets on both sides: janitord listens on one (replacing a stale
socket file) and relays to an app on another."""

import os
import socket
import tempfile
import unittest

import relay
import jtest

POLICY = """
listen: unix:{dir}/janitor.sock
upstream: unix:{dir}/app.sock
state_dir: {dir}
admin:
  listen: 127.0.0.1:{admin_port}
"""


class UnixTest(unittest.TestCase):

    def test_unix(self):
        jd = jtest.Janitord(POLICY)
        path = os.path.join(jd.dir, "janitor.sock")
        # A stale socket file from a previous run.
        stale = socket.socket(socket.AF_UNIX)
        stale.bind(path)
        stale.close()
        be = relay.Backend("unix:" + os.path.join(jd.dir, "app.sock"))
        with be:
            jd.start(wait=False)
            try:
                def try_connect():
                    s = socket.socket(socket.AF_UNIX)
                    try:
                        s.connect(path)
                        return s
                    except OSError:
                        s.close()
                        return None
                s = jtest.wait_for(try_connect, what="unix listener")
                s.sendall(b"GET /plain HTTP/1.1\r\nHost: t\r\n\r\n")
                r = relay.Reader(s)
                self.assertEqual(r.response()[2], b"hello\n")
                s.sendall(b"GET /headers HTTP/1.1\r\nHost: t\r\n\r\n")
                self.assertIn(b"X-Forwarded-For", r.response()[2])
                s.close()
                self.assertEqual(jd.stop(), 0)
                self.assertFalse(os.path.exists(path))
            finally:
                jd.kill()


if __name__ == "__main__":
    relay.main()
