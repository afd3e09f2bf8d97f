"""preset: gradio on Gradio's real route shapes: one session per tab by its
session_hash (heartbeat path, queue query), only the heartbeat stream is a
live channel, no cookie is issued, and closing one tab unloads only it."""

import json
import os
import subprocess
import time
import unittest

import jtest
import relay
from sessiontest import (Channel, admin, metric, session, state,
                         wait_metric, wait_state)

HERE = os.path.dirname(os.path.abspath(__file__))

POLICY = """
preset: gradio
listen: 127.0.0.1:{port}
upstream: 127.0.0.1:{upstream_port}
state_dir: {dir}
admin:
  listen: 127.0.0.1:{admin_port}
on_unload:
  grace: 0s
log:
  level: debug
"""


class GradioApp:
    def __init__(self):
        self.port = jtest.free_port()
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(HERE, "gradio_backend.py"),
             str(self.port)], stdout=subprocess.PIPE)
        if self.proc.stdout.readline().strip() != b"ready":
            raise RuntimeError("gradio backend did not start")

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


class Gradio(unittest.TestCase):

    def setUp(self):
        self.app = GradioApp()
        self.addCleanup(self.app.stop)
        self.jd = jtest.Janitord(POLICY, upstream_port=self.app.port)
        self.jd.start()
        self.addCleanup(self.jd.__exit__, None, None, None)

    def post(self, path):
        return relay.raw(self.jd.port, (
            "POST %s HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            "Content-Length: 2\r\nConnection: close\r\n\r\n{}" % path).encode())

    def test_page_gets_no_cookie_and_no_session(self):
        st, h, body = relay.get(self.jd.port, "/",
                                {"X-Janitor-Session": "spoof"})
        self.assertEqual(st, 200)
        self.assertNotIn("set-cookie", h)
        sent = dict((k.lower(), v) for k, v in json.loads(body))
        self.assertNotIn("x-janitor-session", sent)
        self.assertEqual(admin(self.jd, "GET", "/sessions")[1], [])

    def test_gradio5_tab(self):
        hb = Channel(self.jd.port, "/gradio_api/heartbeat/tab5hash")
        self.assertEqual(hb.status, 200)
        wait_state(self.jd, "tab5hash", "live")
        st, h, body = self.post("/gradio_api/queue/join?session_hash=tab5hash")
        self.assertEqual(st, 200)
        self.assertNotIn("set-cookie", h)
        # Gradio's queue stream ends by design: it is not a live channel.
        q = Channel(self.jd.port, "/gradio_api/queue/data?session_hash=tab5hash")
        self.assertEqual(q.status, 200)
        self.assertEqual(session(self.jd, "tab5hash")["channels"], 1)
        self.assertEqual(session(self.jd, "tab5hash")["requests"], 3)
        q.close()
        time.sleep(0.3)
        self.assertEqual(state(self.jd, "tab5hash"), "live")
        hb.close()
        wait_state(self.jd, "tab5hash", "unloaded", timeout=1.0)

    def test_gradio4_under_root_path_two_tabs(self):
        a = Channel(self.jd.port, "/myapp/heartbeat/tabA")
        b = Channel(self.jd.port, "/myapp/heartbeat/tabB")
        wait_state(self.jd, "tabA", "live")
        wait_state(self.jd, "tabB", "live")
        st, h, body = self.post("/myapp/queue/join?session_hash=tabA")
        self.assertEqual(st, 200)
        sent = dict((k.lower(), v) for k, v in json.loads(
            relay.get(self.jd.port, "/myapp/queue/data-x?session_hash=tabB")[2]))
        self.assertEqual(sent.get("x-janitor-session"), "tabB")
        a.close()               # one tab closes: only it unloads
        wait_state(self.jd, "tabA", "unloaded", timeout=1.0)
        self.assertEqual(state(self.jd, "tabB"), "live")
        self.assertEqual(metric(self.jd, "janitor_unloads_total"), 1)
        b.close()
        wait_metric(self.jd, "janitor_unloads_total", 2, timeout=1.0)

    def test_hostile_session_hash(self):
        for target in ("/gradio_api/heartbeat/..", "/heartbeat/%2e%2e",
                       "/heartbeat/a.b",
                       "/gradio_api/queue/data?session_hash=../x",
                       "/gradio_api/queue/data?session_hash=" + "a" * 129):
            ch = Channel(self.jd.port, target)
            self.assertEqual(ch.status, 200)
            self.assertNotIn("set-cookie", ch.headers)
            ch.close()
        self.assertEqual(admin(self.jd, "GET", "/sessions")[1], [])


if __name__ == "__main__":
    jtest.main()
