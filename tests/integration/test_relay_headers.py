"""What the app sees: hop-by-hop headers removed, Host kept,
X-Forwarded-For appended and -Proto/-Host set, the incoming ones believed
only from trusted_proxies; and what the client sees of the response."""

import json
import unittest

import relay


def app_headers(port, extra):
    req = b"GET /headers HTTP/1.1\r\nHost: app.example\r\n" + extra + \
        b"Connection: close\r\n\r\n"
    st, h, body = relay.raw(port, req)
    got = {}
    for k, v in json.loads(body):
        got.setdefault(k.lower(), []).append(v)
    return got


HOP = (b"Connection: keep-alive, X-Hop\r\nX-Hop: secret\r\n"
       b"Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\n"
       b"TE: trailers\r\nTrailer: X-T\r\nUpgrade: h2c\r\nX-Kept: yes\r\n")
FWD = (b"X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\n"
       b"X-Forwarded-Host: public.example\r\n")


class HeadersTest(unittest.TestCase):

    def test_untrusted(self):
        with relay.Backend() as be, relay.janitord(
                be.port, "trusted_proxies: []") as jd:
            h = app_headers(jd.port, HOP + FWD)
            for name in ("connection", "x-hop", "keep-alive",
                         "proxy-connection", "te", "trailer", "upgrade"):
                self.assertNotIn(name, h)
            self.assertEqual(h["x-kept"], ["yes"])
            self.assertEqual(h["host"], ["app.example"])
            self.assertEqual(h["x-forwarded-for"], ["127.0.0.1"])
            self.assertEqual(h["x-forwarded-proto"], ["http"])
            self.assertEqual(h["x-forwarded-host"], ["app.example"])
            self.assertEqual(jd.stop(), 0)

    def test_trusted(self):
        with relay.Backend() as be, relay.janitord(
                be.port, "trusted_proxies: [127.0.0.0/8]") as jd:
            h = app_headers(jd.port, FWD)
            self.assertEqual(h["x-forwarded-for"], ["203.0.113.9, 127.0.0.1"])
            self.assertEqual(h["x-forwarded-proto"], ["https"])
            self.assertEqual(h["x-forwarded-host"], ["public.example"])
            self.assertEqual(h["host"], ["app.example"])
            # The response: no hop-by-hop headers from the app leak out.
            st, rh, body = relay.get(jd.port, "/plain")
            self.assertNotIn("keep-alive", rh)
            self.assertEqual(rh["connection"], ["close"])
            self.assertEqual(jd.stop(), 0)


if __name__ == "__main__":
    relay.main()
