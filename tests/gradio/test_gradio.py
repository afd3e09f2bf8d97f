"""janitord (preset: gradio) in front of a real Gradio, driven by the real
clients: @gradio/client from npm and gradio_client from the same Gradio.

    test_gradio.py MAJOR        (4, 5 or 6)

Exits 77 (meson: SKIP) when that Gradio or its npm client is not found,
unless JANITOR_GRADIO_REQUIRED=1 (CI), where that is a failure.  What
Gradio itself did (unloads, events, every request with the session_hash it
carried and the X-Janitor-Session it arrived with) comes from app.py's
record file, so each check compares janitord with Gradio, not with a
model of it.
"""

import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

import gradiotest
from gradiotest import App, Client, Gradio, with_session

import jtest
from receiver import Receiver
from sessiontest import admin

MAJOR = sys.argv.pop(1) if len(sys.argv) > 1 else "5"
GRADIO = Gradio(MAJOR)

GRACE = 1.0

POLICY = """
preset: gradio
listen: 127.0.0.1:{port}
upstream: 127.0.0.1:{upstream_port}
state_dir: {dir}
admin:
  listen: 127.0.0.1:{admin_port}
on_unload:
  grace: 1s
  webhook: http://127.0.0.1:{hook_port}/unload
on_expire:
  after_disconnect: {after_disconnect}
  webhook: http://127.0.0.1:{hook_port}/expire
  remove:
    - '{files}/{{session}}'
log:
  level: debug
{extra}
"""


def big_file(size):
    """A file of random bytes, and its SHA-256."""
    fd, path = tempfile.mkstemp(prefix="gradio-upload-")
    data = os.urandom(size)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path, hashlib.sha256(data).hexdigest()


class RealGradio(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.app = App(GRADIO)
        cls.rootapp = App(GRADIO, root="/myapp")
        cls.app.wait_ready()
        cls.rootapp.wait_ready()
        cls.hooks = Receiver(jtest.free_port()).start()
        cls.upload, cls.upload_sha = big_file(2 * 1024 * 1024)
        cls.small, cls.small_sha = big_file(4096)

    @classmethod
    def tearDownClass(cls):
        cls.app.stop()
        cls.rootapp.stop()
        cls.hooks.stop()
        os.unlink(cls.upload)
        os.unlink(cls.small)

    def janitord(self, app=None, after_disconnect="60m", extra="", env=None):
        app = app or self.app
        jd = jtest.Janitord(POLICY, upstream_port=app.port,
                            hook_port=self.hooks.port, files=app.files,
                            after_disconnect=after_disconnect, extra=extra,
                            extra_env=env)
        jd.start()
        self.addCleanup(jd.__exit__, None, None, None)
        self.addCleanup(self._dump_on_failure, jd, app)
        return jd

    def _dump_on_failure(self, jd, app):
        if any(e for _, e in getattr(self._outcome, "errors", []) if e):
            sys.stderr.write("---- janitord log ----\n%s\n---- app log "
                             "----\n%s\n" % (jd.log()[-20000:], app.log()))

    def hooks_for(self, kind, session):
        return [r for r in self.hooks.delivered()
                if r["type"] == "session." + kind and r["session"] == session]

    def assert_attributed(self, app, session, jd):
        """Every request of the tab reached Gradio with X-Janitor-Session
        equal to its session_hash, queue/join (hash in the body) included,
        and every event handler saw it too."""
        reqs = [(r, with_session(r)) for r in app.records("request")]
        mine = [(r, how) for r, ws in reqs if ws and ws[0] == session
                for how in [ws[1]]]
        self.assertTrue(mine, "no request of %s recorded" % session)
        kinds = set(how for _, how in mine)
        self.assertIn("body", kinds, "no queue/join of %s recorded" % session)
        for r, how in mine:
            self.assertEqual(r["header"], session,
                             "%s %s (hash in %s)" % (r["method"], r["path"],
                                                     how))
        events = app.records("event", session)
        self.assertTrue(events)
        for e in events:
            self.assertEqual(e["header"], session, e["fn"])
        st, s = admin(jd, "GET", "/sessions/" + session)
        self.assertEqual(st, 200)
        # Every recorded request of the tab was counted by janitord.
        self.assertGreaterEqual(s["requests"], len(mine))

    def test_answers_direct_and_through_janitord(self):
        """Both clients get the same answers direct and through janitord,
        2 MB up and down byte-identical, and each tab's every request is
        attributed to its session_hash."""
        jd = self.janitord()
        for kind in ("js", "py"):
            direct = Client(GRADIO, kind, "work", self.app.url(),
                            self.upload).result()
            via = Client(GRADIO, kind, "work", self.app.url(jd.port),
                         self.upload).result()
            for r in (direct, via):
                self.assertEqual(r["file_sha256"], self.upload_sha)
                self.assertEqual(r["file_len"], 2 * 1024 * 1024)
            self.assertEqual(direct["echo"], "echo: hello")
            for k in ("echo", "count", "file_sha256"):
                self.assertEqual(direct[k], via[k], (kind, k))
            self.assert_attributed(self.app, via["session"], jd)
            # Direct requests bypass janitord: no header, no session.
            self.assertEqual(admin(jd, "GET", "/sessions/" +
                                   direct["session"])[0], 404)

    def close_round(self, jd, delays, per_delay, kinds=("js",)):
        """Tabs that close delay ms after connecting; returns, per tab,
        (delay, session, exit time, Gradio's unload, janitord's unload)."""
        tabs = []
        for d in delays:
            for i in range(per_delay):
                kind = kinds[i % len(kinds)]
                tabs.append((d, Client(GRADIO, kind, "tab",
                                       self.app.url(jd.port), d)))
        out = []
        for d, c in tabs:
            out.append([d, c.session(), c])
        deadline = time.monotonic() + max(delays) / 1000.0 + 30
        for row in out:
            row[2].result(timeout=max(1, deadline - time.monotonic()))
        # Gradio runs unload as soon as the heartbeat is cut; janitord
        # after grace.  Wait until both had their chance, generously.
        settle = max(r[2].ended for r in out) + GRACE + 4
        while time.monotonic() < settle:
            time.sleep(0.2)
        res = []
        for d, s, c in out:
            g = self.app.records("unload", s)
            j = self.hooks_for("unload", s)
            res.append((d, s, c.ended, g, j))
        return res

    def test_close_unloads_as_gradio_does(self):
        """A tab closed 0 ms, 50 ms, 1 s or 10 s after connecting: janitord
        unloads exactly the tabs Gradio unloaded, each within grace + 1 s
        of the client's end."""
        jd = self.janitord()
        res = self.close_round(jd, [0, 50, 1000, 10000], 3, ("js", "py"))
        for d, s, ended, g, j in res:
            what = "tab %s closed %d ms after connecting" % (s, d)
            self.assertLessEqual(len(g), 1, what)
            self.assertEqual(bool(g), bool(j),
                             "%s: Gradio unloaded %d time(s), janitord %d" %
                             (what, len(g), len(j)))
            self.assertLessEqual(len(j), 1, what)
            if j:
                self.assertLessEqual(j[0]["t"] - ended, GRACE + 1.0, what)
            if d >= 1000:
                # Long enough that Gradio certainly had the heartbeat.
                self.assertTrue(g, what + ": Gradio did not unload")

    def test_close_before_the_heartbeat_head(self):
        """The race itself, made to happen: Gradio's heartbeat head comes
        300 ms late (as from a busy thread pool).  A tab whose heartbeat
        is cut once Gradio has it, before its head: Gradio unloads it, and
        so must janitord, within grace + 1 s.  Then the real client closing
        0 and 50 ms after connecting, under the same delay."""
        jd = self.janitord()
        self.app.head_delay(300)
        self.addCleanup(self.app.head_delay, 0)
        prefix = "" if MAJOR == "4" else "/gradio_api"
        cut = {}
        for i in range(3):
            h = "cut%d%s" % (i, os.urandom(4).hex())
            s = socket.create_connection(("127.0.0.1", jd.port))
            s.sendall(("GET %s/heartbeat/%s HTTP/1.1\r\nHost: t\r\n"
                       "Accept: text/event-stream\r\n\r\n" %
                       (prefix, h)).encode())
            jtest.wait_for(lambda: self.app.records("arrived", h),
                           what="Gradio to get the heartbeat")
            s.close()
            cut[h] = time.monotonic()
        res = self.close_round(jd, [0, 50], 2)
        res += [(-1, h, t, self.app.records("unload", h),
                 self.hooks_for("unload", h)) for h, t in cut.items()]
        for d, s, ended, g, j in res:
            what = "tab %s closed %d ms after connecting" % (s, d)
            if d < 0:
                what = "tab %s cut before its head" % s
                self.assertTrue(g, what + ": Gradio did not unload")
            self.assertEqual(bool(g), bool(j),
                             "%s: Gradio unloaded %d time(s), janitord %d" %
                             (what, len(g), len(j)))
            if j:
                self.assertLessEqual(j[0]["t"] - ended, GRACE + 1.0, what)

    def test_expire_and_removal(self):
        """After the unload, after_disconnect expires the session and its
        directory of per-session files goes."""
        jd = self.janitord(after_disconnect="1s")
        r = Client(GRADIO, "js", "work", self.app.url(jd.port),
                   self.small).result()
        s = r["session"]
        d = os.path.join(self.app.files, s)
        self.assertTrue(os.path.isfile(os.path.join(d, "echo.txt")))
        exp = jtest.wait_for(lambda: self.hooks_for("expire", s),
                             timeout=GRACE + 10, what="the expire webhook")
        unl = self.hooks_for("unload", s)
        self.assertEqual(len(unl), 1)
        self.assertEqual(len(self.app.records("unload", s)), 1)
        self.assertGreaterEqual(exp[0]["t"] - unl[0]["t"], 0.9)
        self.assertEqual(exp[0]["doc"]["data"]["reason"], "after_disconnect")
        jtest.wait_for(lambda: not os.path.exists(d), timeout=5,
                       what="removal of " + d)

    def test_twenty_concurrent_tabs(self):
        """20 tabs at once: 20 sessions, each keyed by its own
        session_hash, every request attributed."""
        jd = self.janitord()
        cs = [Client(GRADIO, "js", "work", self.app.url(jd.port), self.small)
              for _ in range(20)]
        rs = [c.result() for c in cs]
        sessions = set(r["session"] for r in rs)
        self.assertEqual(len(sessions), 20)
        for r in rs:
            self.assertEqual(r["file_sha256"], self.small_sha)
            self.assert_attributed(self.app, r["session"], jd)
        st, listed = admin(jd, "GET", "/sessions")
        self.assertEqual(sessions, set(x["key"] for x in listed))

    def test_root_path(self):
        """An app mounted at /myapp: Gradio's config.root is janitord's
        address, and everything works under the prefix."""
        jd = self.janitord(app=self.rootapp)
        with urllib.request.urlopen("http://127.0.0.1:%d/myapp/config" %
                                    jd.port, timeout=10) as resp:
            cfg = json.loads(resp.read())
        self.assertEqual(cfg["root"].rstrip("/"),
                         "http://127.0.0.1:%d/myapp" % jd.port)
        r = Client(GRADIO, "js", "work", self.rootapp.url(jd.port),
                   self.small).result()
        self.assertEqual(r["file_sha256"], self.small_sha)
        self.assert_attributed(self.rootapp, r["session"], jd)

    def test_cache_swept(self):
        """The preset's cache entry is Gradio's upload cache
        ($GRADIO_TEMP_DIR); swept, Gradio's old uploads go and the app
        goes on working."""
        env = {"GRADIO_TEMP_DIR": self.app.cache}
        jd = self.janitord(env=env)
        # The preset's entry, as --check prints it.
        p = subprocess.run([jtest.JANITORD, "-c", jd.conf, "--check"],
                           capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, **env))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("cache            %s every 1h, age 1h by ctime" %
                      self.app.cache, p.stdout)
        Client(GRADIO, "js", "work", self.app.url(jd.port),
               self.small).result()
        self.assertTrue(os.listdir(self.app.cache))
        # The same entry, with a 1 s age so the test need not wait 1 h.
        jd2 = self.janitord(env=env, extra=(
            "cache:\n  - path: %s\n    age: 1s\n    age_by: [ctime]\n" %
            self.app.cache))
        time.sleep(1.2)
        st, body = admin(jd2, "POST", "/sweep")
        self.assertEqual(st, 200, body)
        self.assertEqual(os.listdir(self.app.cache), [])
        r = Client(GRADIO, "js", "work", self.app.url(jd2.port),
                   self.small).result()
        self.assertEqual(r["file_sha256"], self.small_sha)


class Example(unittest.TestCase):
    """examples/gradio as shipped: its janitor.yaml (ports and times
    adapted), its app receiving the webhooks and freeing the session."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="gradio-example-")
        self.secret = os.path.join(self.dir, "webhook.secret")
        with open(self.secret, "w") as f:
            f.write("whsec_" + base64.b64encode(os.urandom(32)).decode())
        self.sessions = os.path.join(self.dir, "sessions")
        self.port = jtest.free_port()
        self.lines = []
        self.proc = subprocess.Popen(
            [GRADIO.python, os.path.join(jtest.SRC, "examples", "gradio",
                                         "app.py"), str(self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env=GRADIO.env({"JANITOR_WEBHOOK_SECRET": self.secret,
                            "APP_SESSIONS": self.sessions,
                            "GRADIO_TEMP_DIR": os.path.join(self.dir,
                                                            "cache")}))
        self.addCleanup(self.stop)
        threading.Thread(target=self._read, daemon=True).start()
        jtest.wait_port(self.port, timeout=120, proc=self.proc)

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.decode(errors="replace").rstrip())

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_example(self):
        with open(os.path.join(jtest.SRC, "examples", "gradio",
                               "janitor.yaml")) as f:
            conf = f.read()
        for a, b in (("127.0.0.1:8080", "127.0.0.1:{port}"),
                     ("127.0.0.1:9090", "127.0.0.1:{admin_port}"),
                     ("7860", "{upstream_port}"),
                     ("/var/lib/janitor", "{dir}"),
                     ("/etc/janitor/webhook.secret", self.secret),
                     ("grace: 5s", "grace: 1s"),
                     ("after_disconnect: 60m", "after_disconnect: 1s")):
            self.assertIn(a, conf)
            conf = conf.replace(a, b)
        jd = jtest.Janitord(conf, upstream_port=self.port)
        jd.start()
        self.addCleanup(jd.__exit__, None, None, None)
        r = Client(GRADIO, "js", "say", "http://127.0.0.1:%d/" % jd.port,
                   "hello").result()
        s = r["session"]
        self.assertEqual(r["answer"], "1 message(s) in this tab")
        d = os.path.join(self.sessions, s)
        self.assertTrue(os.path.isfile(os.path.join(d, "transcript.txt")))
        jtest.wait_for(lambda: "janitor: session %s expired "
                       "(after_disconnect), files removed" % s in self.lines,
                       timeout=15, what="the example's expire")
        self.assertIn("janitor: tab %s closed, memory freed" % s, self.lines)
        self.assertFalse(os.path.exists(d))
        # A forged webhook is refused.
        body = json.dumps({"type": "session.expire",
                           "data": {"session": "victim"}}).encode()
        req = urllib.request.Request(
            "http://127.0.0.1:%d/janitor/events" % self.port, data=body,
            headers={"webhook-id": "msg_x",
                     "webhook-timestamp": str(int(time.time())),
                     "webhook-signature": "v1,AAAA"})
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        self.assertEqual(e.exception.code, 401)


if __name__ == "__main__":
    if GRADIO.why is not None:
        gradiotest.skip_or_fail(GRADIO.why)
    sys.stderr.write("Gradio %s (%s), @gradio/client %s\n" % (
        GRADIO.version, GRADIO.pythonpath or "importable",
        gradiotest.CLIENTS[MAJOR]))
    jtest.main()
