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

    def test_forwarding_family_untrusted(self):
        # Headers a proxy in front would set, and the '_' spellings of
        # those janitord sets (WSGI servers read them as the '-' ones),
        # never reach the app from an untrusted client.
        spoof = (b"Forwarded: for=6.6.6.6;proto=https\r\n"
                 b"X-Real-IP: 6.6.6.6\r\nX-Forwarded-Port: 443\r\n"
                 b"X-Forwarded-Ssl: on\r\nX_Forwarded_For: 6.6.6.6\r\n"
                 b"X_Forwarded_Proto: https\r\nx_forwarded_host: evil\r\n"
                 b"X_Janitor_Session: victim\r\nX_Real_IP: 6.6.6.6\r\n")
        with relay.Backend() as be, relay.janitord(
                be.port, "trusted_proxies: []") as jd:
            h = app_headers(jd.port, spoof)
            for name in ("forwarded", "x-real-ip", "x-forwarded-port",
                         "x-forwarded-ssl", "x_forwarded_for",
                         "x_forwarded_proto", "x_forwarded_host",
                         "x_janitor_session", "x_real_ip"):
                self.assertNotIn(name, h)
            self.assertEqual(h["x-forwarded-for"], ["127.0.0.1"])
            self.assertEqual(h["x-forwarded-proto"], ["http"])
            self.assertNotIn("victim", json.dumps(h))
            self.assertEqual(jd.stop(), 0)
        # From a trusted proxy the dash spellings stay, the '_' ones not.
        with relay.Backend() as be, relay.janitord(
                be.port, "trusted_proxies: [127.0.0.0/8]") as jd:
            h = app_headers(jd.port, spoof)
            self.assertEqual(h["x-real-ip"], ["6.6.6.6"])
            self.assertEqual(h["x-forwarded-port"], ["443"])
            for name in ("x_forwarded_for", "x_janitor_session"):
                self.assertNotIn(name, h)
            self.assertEqual(jd.stop(), 0)

    def test_forwarded_for_not_an_address(self):
        # A trusted proxy's X-Forwarded-For entry that is not an IP
        # address is an error in the log and is not the client address.
        with relay.Backend() as be, relay.janitord(
                be.port, "trusted_proxies: [127.0.0.0/8]") as jd:
            h = app_headers(jd.port, b"X-Forwarded-For: 203.0.113.9, "
                            b"unknown\r\n")
            self.assertEqual(h["x-forwarded-for"],
                             ["203.0.113.9, unknown, 127.0.0.1"])
            jd.wait_log('X-Forwarded-For entry "unknown" from a trusted '
                        'proxy is not an IP address; client taken to be '
                        '127.0.0.1')
            self.assertEqual(jd.stop(), 0)


if __name__ == "__main__":
    relay.main()
