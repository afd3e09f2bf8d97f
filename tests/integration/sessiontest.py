"""Helpers for the session scenarios: the admin API as JSON and metrics,
and live channels (a WebSocket or an SSE stream) held on raw sockets."""

import base64
import json
import os
import socket
import time

import jtest
import relay


def admin(jd, method, path, token=None):
    """(status, parsed JSON or text) from the admin API."""
    s = socket.create_connection(("127.0.0.1", jd.admin_port), timeout=10)
    try:
        req = "%s %s HTTP/1.1\r\nHost: admin\r\n" % (method, path)
        if token is not None:
            req += "Authorization: Bearer %s\r\n" % token
        s.sendall(req.encode() + b"Connection: close\r\n\r\n")
        st, h, body = relay.Reader(s).response()
    finally:
        s.close()
    if h.get("content-type", [""])[0].startswith("application/json"):
        return st, json.loads(body)
    return st, body.decode()


def metric(jd, line_start):
    """The value of the first metrics line that starts with line_start."""
    st, text = admin(jd, "GET", "/metrics")
    for line in text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.split()[-1])
    raise KeyError(line_start)


def session(jd, key):
    st, body = admin(jd, "GET", "/sessions/" + key)
    return body if st == 200 else None


def state(jd, key):
    s = session(jd, key)
    return s["state"] if s else None


def cookie_value_of(headers):
    """The janitor_sid value a response sets (KEY.ISSUED.MAC), or None."""
    for v in headers.get("set-cookie", []):
        if v.startswith("janitor_sid="):
            return v.split(";", 1)[0].split("=", 1)[1]
    return None


def cookie_of(headers):
    """The session key of the janitor_sid cookie a response sets, or None."""
    v = cookie_value_of(headers)
    return v.split(".", 1)[0] if v is not None else None


def forwarded(body, name="X-Janitor-Session"):
    """Values of a header as the backend's /headers saw them."""
    return [v for k, v in json.loads(body) if k.lower() == name.lower()]


class Channel:
    """A live channel on a raw socket: a WebSocket (after 101) or an SSE
    stream (after its response head)."""

    def __init__(self, port, path, cookie=None, websocket=False,
                 headers=None):
        self.sock = relay.connect(port)
        req = "GET %s HTTP/1.1\r\nHost: test\r\n" % path
        if cookie is not None:
            req += "Cookie: janitor_sid=%s\r\n" % cookie
        if websocket:
            key = base64.b64encode(os.urandom(16)).decode()
            req += ("Upgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                    % key)
        for k, v in (headers or {}).items():
            req += "%s: %s\r\n" % (k, v)
        self.sock.sendall(req.encode() + b"\r\n")
        self.reader = relay.Reader(self.sock)
        self.status, self.headers = self.reader.head()

    def close(self):
        self.sock.close()


def wait_state(jd, key, want, timeout=5.0):
    return jtest.wait_for(lambda: state(jd, key) == want, timeout=timeout,
                          what="session %s %s" % (key, want))


def wait_metric(jd, name, value, timeout=5.0):
    return jtest.wait_for(lambda: metric(jd, name) >= value, timeout=timeout,
                          interval=0.01, what="%s >= %s" % (name, value))


def now():
    return time.monotonic()
