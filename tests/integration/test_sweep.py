"""The cache sweeper of the real binary on real trees: ages made with
os.utime, keep globs, nested empty directories, symbolic links to the
outside, a tmpfs mounted inside, a file held under flock by another
process, on_start wipe, max_size order, a directory swapped for a symbolic
link while sweeps run, refused roots, SIGHUP and SIGTERM, POST /sweep."""

import ctypes
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import jtest  # noqa: E402

HOUR = 3600

POLICY = """
upstream: 127.0.0.1:{upstream_port}
listen: 127.0.0.1:{port}
state_dir: {dir}
admin:
  listen: 127.0.0.1:{admin_port}
log:
  level: {level}
cache:
{cache}
"""


def policy(cache, level="info"):
    return POLICY.replace("{cache}", cache).replace("{level}", level)


def admin(j, method, path, timeout=60):
    """One admin request: (status, parsed JSON or text)."""
    conn = http.client.HTTPConnection("127.0.0.1", j.admin_port,
                                      timeout=timeout)
    conn.request(method, path)
    r = conn.getresponse()
    body = r.read().decode()
    conn.close()
    try:
        return r.status, json.loads(body)
    except ValueError:
        return r.status, body


def metric(j, name):
    """The value of one metric line (name with labels), or None."""
    status, text = admin(j, "GET", "/metrics")
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


def mkfile(path, size=10, age=0):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(b"x" * size)
    if age:
        t = time.time() - age
        os.utime(path, (t, t))


def old(path, age=2 * HOUR):
    t = time.time() - age
    os.utime(path, (t, t), follow_symlinks=False)


def start(j):
    j.start(wait=False)
    jtest.wait_port(j.admin_port, proc=j.proc)
    return j


class Sweep(unittest.TestCase):
    def setUp(self):
        self.top = tempfile.mkdtemp(prefix="janitor-sweep-")
        self.root = os.path.join(self.top, "cache")
        self.out = os.path.join(self.top, "outside")
        os.mkdir(self.root)
        os.mkdir(self.out)
        self.j = None

    def tearDown(self):
        if self.j is not None:
            self.j.kill()
            self.j.__exit__(None, None, None)
        subprocess.run(["umount", "-R", os.path.join(self.root, "mnt")],
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(self.top, ignore_errors=True)

    def daemon(self, cache, level="info"):
        self.j = start(jtest.Janitord(policy(cache, level)))
        return self.j

    def entry(self, extra="", path=None):
        return "  - path: %s\n    every: 1h\n    age: 1h\n%s" % (
            path or self.root, extra)

    def p(self, rel):
        return os.path.join(self.root, rel)

    def test_tree(self):
        """Old files go, new and kept stay, emptied directories go, the
        root stays, links go as links and their targets stay."""
        mkfile(self.p("old"), 100, 2 * HOUR)
        mkfile(self.p("new"), 100)
        mkfile(self.p("x.lock"), 10, 2 * HOUR)
        mkfile(self.p("sub/keep.lock"), 10, 2 * HOUR)
        mkfile(self.p("a/b/c/deep"), 7, 3 * HOUR)
        mkfile(self.p("mixed/old"), 1, 3 * HOUR)
        mkfile(self.p("mixed/new"), 1)
        mkfile(self.p("kept/old"), 1, 3 * HOUR)
        os.mkdir(self.p("fresh"))
        os.mkdir(self.p("stale"))
        old(self.p("stale"))
        mkfile(os.path.join(self.out, "target"), 5, 5 * HOUR)
        mkfile(os.path.join(self.out, "deep/target"), 5, 5 * HOUR)
        mkfile(os.path.join(self.top, "outfile"), 5, 5 * HOUR)
        os.symlink(self.out, self.p("dirlink"))
        os.symlink(os.path.join(self.top, "outfile"), self.p("filelink"))
        old(self.p("dirlink"))
        old(self.p("filelink"))
        os.symlink(self.out, self.p("a/newlink"))
        j = self.daemon(self.entry("    keep: ['*.lock', kept]\n"))
        status, body = admin(j, "POST", "/sweep")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["errors"], 0)
        self.assertIsInstance(body["seconds"], float)
        # The first automatic sweep may have come first: count both.
        files = metric(j, 'janitor_sweep_files_removed_total{path="%s"}'
                       % self.root)
        self.assertEqual(files, 5)
        nbytes = metric(j, 'janitor_sweep_bytes_removed_total{path="%s"}'
                        % self.root)
        self.assertEqual(nbytes, 100 + 7 + 1 + len(self.out) +
                         len(self.top) + len("/outfile"))
        left = sorted(os.path.relpath(os.path.join(d, n), self.root)
                      for d, ds, fs in os.walk(self.root)
                      for n in ds + fs)
        self.assertEqual(left, ["a", "a/newlink", "fresh", "kept",
                                "kept/old", "mixed", "mixed/new", "new",
                                "sub", "sub/keep.lock", "x.lock"])
        self.assertFalse(os.path.exists(self.p("a/b")))
        self.assertTrue(os.path.isdir(self.root))
        self.assertTrue(os.path.exists(os.path.join(self.out, "target")))
        self.assertTrue(os.path.exists(os.path.join(self.out,
                                                    "deep/target")))
        self.assertTrue(os.path.exists(os.path.join(self.top, "outfile")))
        self.assertEqual(j.stop(), 0)

    def test_first_sweep_soon(self):
        """Without POST /sweep, the first sweep comes shortly after start."""
        mkfile(self.p("d/old"), 1, 2 * HOUR)
        j = self.daemon(self.entry())
        j.wait_log("sweep %s: removed 1 files" % self.root, timeout=10)
        self.assertFalse(os.path.exists(self.p("d")))
        self.assertEqual(j.stop(), 0)

    def test_mount_inside(self):
        """A tmpfs mounted inside the tree is not entered."""
        mnt = self.p("mnt")
        os.mkdir(mnt)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m",
                            "tmpfs", mnt], capture_output=True)
        if r.returncode != 0:
            self.skipTest("cannot mount here: %s" % r.stderr.decode().strip())
        mkfile(os.path.join(mnt, "inside"), 1, 2 * HOUR)
        old(mnt)
        mkfile(self.p("beside"), 1, 2 * HOUR)
        j = self.daemon(self.entry())
        status, body = admin(j, "POST", "/sweep")
        self.assertEqual(status, 200)
        self.assertTrue(os.path.exists(os.path.join(mnt, "inside")))
        self.assertFalse(os.path.exists(self.p("beside")))
        self.assertEqual(j.stop(), 0)

    def test_flock(self):
        """A file held under flock by another process is kept."""
        mkfile(self.p("held"), 1, 2 * HOUR)
        mkfile(self.p("free"), 1, 2 * HOUR)
        holder = subprocess.Popen(
            ["/usr/bin/python3", "-c",
             "import fcntl, sys\n"
             "f = open(sys.argv[1])\n"
             "fcntl.flock(f, fcntl.LOCK_EX)\n"
             "print('locked', flush=True)\n"
             "sys.stdin.read()\n", self.p("held")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            self.assertEqual(holder.stdout.readline().strip(), b"locked")
            j = self.daemon(self.entry())
            status, body = admin(j, "POST", "/sweep")
            self.assertEqual(status, 200)
            self.assertTrue(os.path.exists(self.p("held")))
            self.assertFalse(os.path.exists(self.p("free")))
            self.assertEqual(body["entries"][0]["locked"], 1)
        finally:
            holder.stdin.close()
            holder.wait()
        status, body = admin(j, "POST", "/sweep")
        self.assertEqual(body["files"], 1)
        self.assertFalse(os.path.exists(self.p("held")))
        self.assertEqual(j.stop(), 0)

    def test_on_start_wipe(self):
        """on_start: wipe empties the root at start, keep aside."""
        mkfile(self.p("new"), 1)
        mkfile(self.p("d/e/new"), 1)
        mkfile(self.p("d/keep.lock"), 1)
        j = self.daemon(self.entry("    on_start: wipe\n"
                                   "    keep: ['*.lock']\n"))
        j.wait_log("sweep %s (wipe): removed 2 files" % self.root)
        self.assertEqual(sorted(os.listdir(self.root)), ["d"])
        self.assertEqual(os.listdir(self.p("d")), ["keep.lock"])
        self.assertEqual(j.stop(), 0)

    def test_max_size(self):
        """max_size removes the oldest files first until the tree fits."""
        ages = {"a/f1": 50, "f2": 40, "b/f3": 30, "f4": 20, "f5": 10}
        for rel, minutes in ages.items():
            mkfile(self.p(rel), 1000, minutes * 60)
        j = self.daemon(self.entry("    max_size: 2500\n"))
        status, body = admin(j, "POST", "/sweep")
        self.assertEqual(status, 200)
        left = sorted(rel for rel in ages if os.path.exists(self.p(rel)))
        self.assertEqual(left, ["f4", "f5"])
        self.assertEqual(metric(j, 'janitor_sweep_tree_bytes{path="%s"}'
                                % self.root), 2000)
        self.assertEqual(j.stop(), 0)

    def test_refused_roots(self):
        """A root that is a symlink, missing or a file is refused; a missing
        one is not created."""
        real = os.path.join(self.top, "real")
        mkfile(os.path.join(real, "old"), 1, 2 * HOUR)
        link = os.path.join(self.top, "link")
        os.symlink(real, link)
        missing = os.path.join(self.top, "missing")
        afile = os.path.join(self.top, "afile")
        mkfile(afile, 1, 2 * HOUR)
        cache = "".join(self.entry(path=p) for p in
                        (link, missing, afile, link + "/sub"))
        j = self.daemon(cache)
        status, body = admin(j, "POST", "/sweep")
        self.assertEqual(status, 200)
        got = {e["path"]: e["status"] for e in body["entries"]}
        self.assertEqual(got, {link: "symlink", missing: "missing",
                               afile: "not a directory",
                               link + "/sub": "symlink"})
        self.assertTrue(os.path.exists(os.path.join(real, "old")))
        self.assertFalse(os.path.exists(missing))
        self.assertIn("sweep %s: a symbolic link" % link, j.log())
        status, body = admin(j, "POST", "/sweep?path=" + missing)
        self.assertEqual([e["status"] for e in body["entries"]],
                         ["missing"])
        status, body = admin(j, "POST", "/sweep?path=/not/an/entry")
        self.assertEqual(status, 404)
        self.assertEqual(j.stop(), 0)

    def test_reload(self):
        """A SIGHUP that changes the cache list takes effect."""
        other = os.path.join(self.top, "other")
        mkfile(os.path.join(other, "old"), 1, 2 * HOUR)
        j = self.daemon(self.entry())
        status, body = admin(j, "POST", "/sweep?path=" + other)
        self.assertEqual(status, 404)
        j.write_policy(policy(self.entry() + self.entry(
            "    keep: [old]\n", path=other)))
        j.signal(signal.SIGHUP)
        j.wait_log("reloaded")
        status, body = admin(j, "POST", "/sweep?path=" + other)
        self.assertEqual(status, 200)
        self.assertTrue(os.path.exists(os.path.join(other, "old")))
        j.write_policy(policy(self.entry(path=other)))
        j.signal(signal.SIGHUP)
        wait = time.monotonic() + 10
        while time.monotonic() < wait:
            status, body = admin(j, "POST", "/sweep?path=" + self.root)
            if status == 404:
                break
            time.sleep(0.05)
        self.assertEqual(status, 404)
        status, body = admin(j, "POST", "/sweep")
        self.assertEqual([e["path"] for e in body["entries"]], [other])
        self.assertFalse(os.path.exists(os.path.join(other, "old")))
        self.assertEqual(j.stop(), 0)

    def test_sigterm_interrupts(self):
        """SIGTERM stops a long sweep promptly; the daemon exits 0."""
        n = int(os.environ.get("JANITOR_SWEEP_TERM_FILES", "100000"))
        # Hard links of one old file: many names, quickly made.  Their
        # removal frees no blocks, so it is fast: two walkers took 62 ms
        # for 20,000, less than the test waits before its SIGTERM.
        # (ext4 allows 65,000 links to an inode: one file per 50,000.)
        for d in range(n // 1000):
            first = self.p("first%d" % (d // 50))
            if d % 50 == 0:
                mkfile(first, 1, 2 * HOUR)
            dp = self.p("d%03d" % d)
            os.mkdir(dp)
            for f in range(1000):
                os.link(first, os.path.join(dp, "f%04d" % f))
        j = self.daemon(self.entry(), level="debug")
        j.wait_log("sweep %s: queued" % self.root, timeout=10)
        answer = {}

        def post():
            answer["r"] = admin(j, "POST", "/sweep")

        th = threading.Thread(target=post)
        th.start()
        time.sleep(0.05)
        t0 = time.monotonic()
        self.assertEqual(j.stop(), 0)
        took = time.monotonic() - t0
        th.join()
        self.assertLess(took, 2.0)
        self.assertIn("sweep %s: interrupted" % self.root, j.log())
        # A POST /sweep waiting for it is answered, not dropped.
        self.assertEqual(answer["r"][0], 503)
        self.assertEqual(answer["r"][1]["error"], "stopping")
        left = sum(len(fs) for d, ds, fs in os.walk(self.root))
        self.assertGreater(left, 0)

    def test_swap_race(self):
        """A directory swapped for a symlink to the outside while sweeps
        run, 1,000 sweeps: nothing outside is touched."""
        rounds = int(os.environ.get("JANITOR_SWEEP_RACE_ROUNDS", "1000"))
        outside = []
        for i in range(20):
            rel = "o%02d" % i if i % 2 else "sub/o%02d" % i
            mkfile(os.path.join(self.out, rel), 1, 5 * HOUR)
            outside.append(os.path.join(self.out, rel))
        old(os.path.join(self.out, "sub"), 5 * HOUR)
        old(self.out, 5 * HOUR)
        victim = self.p("v")
        spare = self.p("spare")
        os.symlink(self.out, spare)     # new: the sweeper leaves it be
        libc = ctypes.CDLL(None, use_errno=True)
        exchange = getattr(libc, "renameat2", None)
        AT_FDCWD, RENAME_EXCHANGE = -100, 2

        def swap():
            """Exchange the directory and the link, atomically if we can."""
            if exchange is not None and exchange(
                    AT_FDCWD, victim.encode(), AT_FDCWD, spare.encode(),
                    RENAME_EXCHANGE) == 0:
                return
            tmp = victim + ".tmp"
            os.rename(victim, tmp)
            os.rename(spare, victim)
            os.rename(tmp, spare)

        def fill():
            """Old files for the sweeper to find in the real directory."""
            d = spare if os.path.islink(victim) else victim
            try:
                for k in range(3):
                    mkfile(os.path.join(d, "old%d" % k), 1, 2 * HOUR)
                mkfile(os.path.join(d, "deep/old"), 1, 2 * HOUR)
                old(os.path.join(d, "deep"))
            except (FileNotFoundError, FileExistsError):
                pass    # the sweeper was quicker

        os.mkdir(victim)
        mkfile(os.path.join(victim, "new"), 1)  # so it is never emptied
        fill()
        old(victim)
        j = self.daemon(self.entry())
        stop = threading.Event()
        errors = []
        swaps = [0]

        def racer():
            try:
                while not stop.is_set():
                    swap()
                    swaps[0] += 1
                    if swaps[0] % 50 == 0:
                        fill()
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        th = threading.Thread(target=racer)
        th.start()
        removed = 0
        try:
            for _ in range(rounds):
                status, body = admin(j, "POST", "/sweep")
                self.assertEqual(status, 200)
                removed += body["files"]
        finally:
            stop.set()
            th.join()
        self.assertEqual(errors, [])
        for p in outside:
            self.assertTrue(os.path.exists(p), p)
        self.assertTrue(os.path.isdir(os.path.join(self.out, "sub")))
        self.assertGreater(swaps[0], rounds)
        self.assertGreater(removed, 0)  # the sweeps did see old files
        self.assertEqual(j.stop(), 0)


if __name__ == "__main__":
    jtest.main()
