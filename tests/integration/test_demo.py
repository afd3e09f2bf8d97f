"""The README's demo, played as a browser would: scripts/demo/app.py behind
janitord with scripts/demo/demo.yaml (only ports, paths and the expiry
delay changed).  A tab opens the heartbeat, does some work, closes; the app
must receive a validly signed session.unload and then session.expire, and
the tab's directory must go."""

import base64
import os
import re
import socket
import subprocess
import time
import unittest
import urllib.request

import jtest

DEMO = os.path.join(jtest.SRC, "scripts", "demo")


class DemoTest(unittest.TestCase):

    def setUp(self):
        self.root = None
        with open(os.path.join(DEMO, "demo.yaml")) as f:
            policy = f.read()
        app_port = jtest.free_port()
        jd = jtest.Janitord("", upstream_port=app_port)
        root = jd.dir + "/demo"
        for d in ("state", "sessions", "cache"):
            os.makedirs(os.path.join(root, d))
        with open(root + "/webhook.secret", "w") as f:
            f.write("whsec_" + base64.b64encode(os.urandom(32)).decode())
        policy = policy.replace("/tmp/janitor-demo", root)
        policy = policy.replace("127.0.0.1:8080", "127.0.0.1:%d" % jd.port)
        policy = policy.replace("127.0.0.1:7860", "127.0.0.1:%d" % app_port)
        policy = policy.replace("127.0.0.1:9090",
                                "127.0.0.1:%d" % jd.admin_port)
        policy = re.sub(r"after_disconnect: \S+", "after_disconnect: 2s",
                        policy)
        jd.write_policy(policy.replace("{", "{{").replace("}", "}}"))
        self.assertEqual(jtest.check(jd.conf)[0], 0)

        self.app_log = open(jd.dir + "/app.log", "w+")
        self.app = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(DEMO, "app.py"),
             "--port", str(app_port), "--root", root,
             "--secret-file", root + "/webhook.secret"],
            stdout=self.app_log, stderr=subprocess.STDOUT)
        self.addCleanup(self.app.wait)
        self.addCleanup(self.app.terminate)
        jtest.wait_port(app_port, proc=self.app)
        self.jd = jd.start()
        self.addCleanup(jd.kill)
        self.root = root

    def app_output(self):
        self.app_log.seek(0)
        return self.app_log.read()

    def test_tab_closed(self):
        jd = self.jd
        with urllib.request.urlopen("http://127.0.0.1:%d/" % jd.port) as r:
            self.assertIn(b"janitor demo", r.read())

        tab = "tab%d" % os.getpid()
        # The heartbeat stream, kept open as the page's EventSource does.
        hb = socket.create_connection(("127.0.0.1", jd.port))
        hb.sendall(b"GET /gradio_api/heartbeat/%s HTTP/1.1\r\n"
                   b"Host: demo\r\nAccept: text/event-stream\r\n\r\n"
                   % tab.encode())
        hb.settimeout(10)
        got = b""
        while b"heartbeat" not in got:
            chunk = hb.recv(4096)
            self.assertTrue(chunk, "heartbeat stream closed: %r" % got)
            got += chunk
        req = urllib.request.Request(
            "http://127.0.0.1:%d/gradio_api/queue/join?session_hash=%s"
            % (jd.port, tab), method="POST")
        with urllib.request.urlopen(req) as r:
            self.assertEqual(r.status, 200)
        sdir = os.path.join(self.root, "sessions", tab)
        self.assertTrue(os.path.isdir(sdir))

        closed = time.monotonic()
        hb.close()
        want = "webhook session.unload session=%s reason=disconnect " \
               "signature=valid" % tab
        jtest.wait_for(lambda: want in self.app_output(), timeout=15,
                       what="the signed unload webhook")
        unloaded = time.monotonic() - closed
        # grace is 3 s in demo.yaml: not before it.
        self.assertGreaterEqual(unloaded, 2.9)
        jtest.wait_for(lambda: not os.path.exists(sdir), timeout=10,
                       what="the tab's directory removed")
        want = "webhook session.expire session=%s reason=after_disconnect " \
               "signature=valid" % tab
        jtest.wait_for(lambda: want in self.app_output(), timeout=15,
                       what="the signed expire webhook")
        self.assertNotIn("INVALID", self.app_output())


if __name__ == "__main__":
    jtest.main()
