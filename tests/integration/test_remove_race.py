"""remove: through the daemon while a racing thread swaps a directory of
the session's tree for a symbolic link to an outside directory and back
(renameat2 RENAME_EXCHANGE), 1,000 sessions expiring in batches, every
removal raced: nothing outside is touched (every file there, same
content), and every session tree is gone at the end.  Also a session path
that is itself a link to the outside (the link goes, the target stays) and
a {session} component in the middle of a template that is a link to the
outside (nothing is followed, the target stays, the failure is counted)."""

import ctypes
import hashlib
import http.server
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest

import jtest
import relay
import sessiontest

POLICY = """
listen: 127.0.0.1:{port}
upstream: 127.0.0.1:{upstream_port}
state_dir: {dir}
admin:
  listen: 127.0.0.1:{admin_port}
on_expire:
  after_disconnect: 50ms
  remove: ['{root}/sessions/{{session}}', '{root}/data/{{session}}/cache']
log:
  level: info
"""

ROUNDS = int(os.environ.get("JANITOR_REMOVE_RACE_ROUNDS", "1000"))
BATCH = 100
# Files in the raced directory, so that removals take a while: fewer
# where there is no tmpfs, as making them on a disk is slow.
FILES_TMPFS, FILES_DISK = 100, 20

libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2


def exchange(a, b):
    """Swap two names atomically; False when one of them is gone."""
    return libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(),
                          RENAME_EXCHANGE) == 0


class App(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True      # head and body are two writes

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")


def snapshot(root):
    """{relative path: sha256 of content, or 'dir'} of a tree."""
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs:
            out[os.path.relpath(os.path.join(d, n), root)] = "dir"
        for n in files:
            with open(os.path.join(d, n), "rb") as f:
                out[os.path.relpath(os.path.join(d, n), root)] = \
                    hashlib.sha256(f.read()).hexdigest()
    return out


def fill(d, n, tag):
    os.makedirs(d, exist_ok=True)
    for i in range(n):
        with open(os.path.join(d, "f%03d" % i), "w") as f:
            f.write("%s %d\n" % (tag, i))


class RemoveRace(unittest.TestCase):

    def setUp(self):
        if getattr(libc, "renameat2", None) is None:
            self.skipTest("no renameat2 in this libc")
        http.server.ThreadingHTTPServer.request_queue_size = 256
        self.app = http.server.ThreadingHTTPServer(("127.0.0.1", 0), App)
        self.app.daemon_threads = True
        threading.Thread(target=self.app.serve_forever, daemon=True).start()
        self.addCleanup(self.app.server_close)
        self.addCleanup(self.app.shutdown)
        # tmpfs when there is one: making 50,000 files is the slow part.
        base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        self.files = FILES_TMPFS if base else FILES_DISK
        self.root = tempfile.mkdtemp(prefix="janitor-rmrace-", dir=base)
        self.addCleanup(shutil.rmtree, self.root, True)
        self.jd = jtest.Janitord(POLICY, upstream_port=self.app.server_port,
                                 root=self.root)
        self.sessions = os.path.join(self.root, "sessions")
        self.data = os.path.join(self.root, "data")
        self.out = os.path.join(self.root, "outside")
        os.makedirs(self.sessions)
        os.makedirs(self.data)
        fill(self.out, 5, "out")
        fill(os.path.join(self.out, "inner"), 5, "inner")
        fill(os.path.join(self.out, "cache"), 5, "cache")
        self.before = snapshot(self.out)
        self.jd.start()
        self.addCleanup(self.jd.__exit__, None, None, None)

    def requests(self, cookies):
        """One request per cookie, all at once: a new session's first
        request waits for its commit, and these share one."""
        socks = []
        for cookie in cookies:
            s = relay.connect(self.jd.port)
            s.sendall(("GET / HTTP/1.1\r\nHost: t\r\nCookie: janitor_sid="
                       "%s\r\nConnection: close\r\n\r\n" % cookie).encode())
            socks.append(s)
        for s in socks:
            try:
                st, h, body = relay.Reader(s).response()
            finally:
                s.close()
            self.assertEqual(st, 200)

    def tree(self, key):
        """sessions/KEY/a/b/sub (many files) and a/b/alt -> outside."""
        b = os.path.join(self.sessions, key, "a", "b")
        fill(os.path.join(b, "sub", "deeper"), 3, key)
        fill(os.path.join(b, "sub"), self.files, key)
        os.symlink(self.out, os.path.join(b, "alt"))
        with open(os.path.join(self.sessions, key, "a", "top"), "w") as f:
            f.write(key)
        return os.path.join(b, "sub"), os.path.join(b, "alt")

    def test_swap_race(self):
        swaps = [0]
        errors = []
        t0 = time.monotonic()
        for first in range(0, ROUNDS, BATCH):
            keys = ["s%04d" % i for i in range(first, first + BATCH)]
            # The cookies were issued before the app made the trees: only
            # what a session made since it began is removed.
            cookies = [self.jd.cookie(k) for k in keys]
            pairs = [self.tree(k) for k in keys]
            stop = threading.Event()

            def racer(pairs=pairs, stop=stop):
                try:
                    live = list(pairs)
                    while live and not stop.is_set():
                        for p in list(live):
                            if exchange(*p):
                                swaps[0] += 1
                            else:
                                live.remove(p)  # removed: race no more
                        # Let the main thread have the GIL now and then.
                        time.sleep(0.0003)
                except Exception as e:  # noqa: BLE001
                    errors.append(e)

            self.requests(cookies)
            # The sessions expire after_disconnect (50 ms) from now.
            th = threading.Thread(target=racer)
            th.start()
            try:
                jtest.wait_for(lambda: not any(
                    os.path.lexists(os.path.join(self.sessions, k))
                    for k in keys), timeout=10,
                    what="the batch's trees removed")
            finally:
                stop.set()
                th.join()
        took = time.monotonic() - t0
        self.assertEqual(errors, [])
        self.assertEqual(snapshot(self.out), self.before)
        self.assertEqual(os.listdir(self.sessions), [])
        # Each removal met the racer many times over.
        self.assertGreater(swaps[0], ROUNDS * 2)
        m = relay.metrics(self.jd.admin_port)
        sys.stderr.write("%d removals raced by %d swaps in %.1f s\n"
                         % (ROUNDS, swaps[0], took))
        self.assertIn('janitor_removals_total{result="error"} 0', m)
        self.assertEqual(self.jd.stop(), 0)
        log = self.jd.log()
        self.assertNotIn("Sanitizer", log)
        self.assertNotIn("runtime error", log)

    def test_session_path_is_a_link(self):
        """sessions/L -> outside: the link goes, the target stays.
        data/L -> outside (so data/L/cache is outside/cache): nothing is
        followed, outside/cache stays, the removal fails and is counted."""
        # The sessions began (their cookies were issued) before the app
        # made these.
        lnk1, real1 = self.jd.cookie("lnk1"), self.jd.cookie("real1")
        os.symlink(self.out, os.path.join(self.sessions, "lnk1"))
        os.symlink(self.out, os.path.join(self.data, "lnk1"))
        os.makedirs(os.path.join(self.data, "real1", "cache", "x"))
        fill(os.path.join(self.data, "real1", "cache", "x"), 3, "real")
        relay.get(self.jd.port, "/",
                  headers={"Cookie": "janitor_sid=" + lnk1})
        relay.get(self.jd.port, "/",
                  headers={"Cookie": "janitor_sid=" + real1})
        jtest.wait_for(lambda: not os.path.lexists(
            os.path.join(self.sessions, "lnk1")) and not os.path.exists(
            os.path.join(self.data, "real1", "cache")), timeout=10,
            what="removals")
        jtest.wait_for(lambda: sessiontest.metric(
            self.jd, 'janitor_removals_total{result="error"}') >= 1,
            timeout=5, what="the refused removal counted")
        self.assertEqual(snapshot(self.out), self.before)
        # The link in the middle of the template is left alone.
        self.assertTrue(os.path.islink(os.path.join(self.data, "lnk1")))
        self.assertTrue(os.path.isdir(os.path.join(self.data, "real1")))
        self.jd.wait_log("Too many levels of symbolic links")
        self.assertEqual(self.jd.stop(), 0)


if __name__ == "__main__":
    jtest.main()
