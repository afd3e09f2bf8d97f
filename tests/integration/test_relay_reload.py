"""SIGHUP: new connections run under the new policy while an open one
keeps its own; a changed listen: address is re-opened; a changed
upstream: is used from then on; an invalid file changes nothing."""

import signal
import unittest

import relay


class ReloadTest(unittest.TestCase):

    def test_reload(self):
        with relay.Backend() as be, relay.Backend() as be2, \
                relay.janitord(be.port) as jd:
            old = relay.connect(jd.port)
            oldr = relay.Reader(old)
            old.sendall(b"GET /plain HTTP/1.1\r\nHost: t\r\n\r\n")
            self.assertEqual(oldr.response()[0], 200)

            newport = relay.jtest.free_port()
            jd.write_policy(relay.POLICY.replace("{port}", str(newport)),
                            extra="limits: {max_body_size: 10}")
            n = jd.log().count("reloaded")
            jd.signal(signal.SIGHUP)
            relay.jtest.wait_for(lambda: jd.log().count("reloaded") > n,
                                 what="reload")
            relay.jtest.wait_port(newport)
            with self.assertRaises(OSError):
                relay.connect(jd.port, timeout=1)
            # The new policy: bodies over 10 bytes are refused.
            st, h, body = relay.raw(newport,
                                    b"POST /upload HTTP/1.1\r\nHost: t\r\n"
                                    b"Content-Length: 11\r\n\r\nhello world")
            self.assertEqual(st, 413)
            # The old connection still runs under the old one.
            old.sendall(b"POST /upload HTTP/1.1\r\nHost: t\r\n"
                        b"Content-Length: 11\r\n\r\nhello world")
            self.assertEqual(oldr.response()[0], 200)
            old.close()

            # Another upstream.
            jd.write_policy(relay.POLICY.replace("{port}", str(newport))
                            .replace("{upstream_port}", str(be2.port)),
                            extra="")
            n = jd.log().count("reloaded")
            jd.signal(signal.SIGHUP)
            relay.jtest.wait_for(lambda: jd.log().count("reloaded") > n,
                                 what="reload")
            self.assertEqual(relay.get(newport, "/plain")[0], 200)
            self.assertEqual(relay.upstream_connections(be2.port), 1)

            # A broken file: logged, nothing changes.
            with open(jd.conf, "w") as f:
                f.write("listen: [\n")
            jd.signal(signal.SIGHUP)
            jd.wait_log("reload failed")
            self.assertEqual(relay.get(newport, "/plain")[0], 200)
            self.assertEqual(jd.stop(), 0)


if __name__ == "__main__":
    relay.main()
