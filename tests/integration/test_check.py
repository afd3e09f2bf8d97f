"""`janitord --check`, `--version` and `--help` through the real binary:
every good file passes and shows its summary lines, every bad file fails
with exactly the `FILE:LINE:COLUMN: message` its first line expects, and the
shipped policies (conf/*.yaml) pass."""

import glob
import os
import re
import subprocess
import tempfile
import unittest

import jtest

CONF = os.path.join(jtest.SRC, "tests", "config")


def run(*args, env=None):
    p = subprocess.run([jtest.JANITORD] + list(args), capture_output=True,
                       text=True, timeout=30, env=env)
    return p.returncode, p.stdout, p.stderr


def write(tmpdir, name, text):
    path = os.path.join(tmpdir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


class CheckTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="janitor-check-")

    def test_version(self):
        rc, out, err = run("--version")
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"^janitord \d+\.\d+\.\d+\n$")

    def test_help(self):
        rc, out, err = run("--help")
        self.assertEqual(rc, 0, err)
        self.assertIn("usage: janitord [-c FILE] [--check]", out)
        self.assertIn("--check", out)
        self.assertIn("SIGHUP", out)

    def test_bad_option(self):
        rc, out, err = run("--frobnicate")
        self.assertEqual(rc, 2)
        self.assertIn("usage:", err)
        rc, out, err = run("-c", "x.yaml", "extra-argument")
        self.assertEqual(rc, 2)

    def test_missing_file(self):
        path = os.path.join(self.tmp, "nope.yaml")
        rc, out, err = run("-c", path, "--check")
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        self.assertEqual(err, path + ": cannot open: No such file or "
                         "directory\n")

    def test_directory(self):
        rc, out, err = run("-c", self.tmp, "--check")
        self.assertEqual(rc, 1)
        self.assertIn("not a regular file", err)

    def test_fifo_refused(self):
        # A FIFO (as -c, or as a token file) is refused, not waited on.
        fifo = os.path.join(self.tmp, "fifo")
        os.mkfifo(fifo)
        rc, out, err = run("-c", fifo, "--check")
        self.assertEqual((rc, err), (1, fifo + ": not a regular file\n"))
        path = write(self.tmp, "a.yaml", "admin:\n  token_file: %s\n" % fifo)
        rc, out, err = run("-c", path, "--check")
        self.assertEqual(rc, 1)
        self.assertEqual(err, "%s:2:15: admin.token_file: '%s' is not a "
                         "regular file\n" % (path, fifo))

    def test_smallest_file(self):
        path = write(self.tmp, "min.yaml", "upstream: 127.0.0.1:7860\n")
        rc, out, err = run("-c", path, "--check")
        self.assertEqual(rc, 0, err)
        self.assertEqual(err, "")
        self.assertTrue(out.startswith(path + ": OK\n"), out)
        for line in ("listen           127.0.0.1:8080",
                     "upstream         127.0.0.1:7860",
                     "trusted proxies  127.0.0.1/32, ::1/128",
                     "state_dir        /var/lib/janitor",
                     "session key      cookie janitor_sid",
                     "cookie           janitor_sid, issued",
                     "live channels    websocket, sse",
                     "on_unload        grace 0s: webhook none",
                     "on_expire        1h after disconnect",
                     "cache            none",
                     "admin            127.0.0.1:9090, no token",
                     "log              info, text"):
            self.assertIn(line, out)
        # One screen.
        self.assertLess(len(out.splitlines()), 25)

    def test_state_dir_reported(self):
        ok = os.path.join(self.tmp, "state")
        os.mkdir(ok)
        path = write(self.tmp, "a.yaml", "state_dir: %s\n" % ok)
        rc, out, err = run("-c", path, "--check")
        self.assertEqual(rc, 0, err)
        self.assertIn("state_dir        %s (writable)" % ok, out)
        path = write(self.tmp, "b.yaml", "state_dir: %s/new/sub\n" % ok)
        rc, out, err = run("-c", path, "--check")
        self.assertIn("(missing, can be created)", out)
        blocker = write(self.tmp, "file", "")
        path = write(self.tmp, "c.yaml", "state_dir: %s\n" % blocker)
        rc, out, err = run("-c", path, "--check")
        self.assertEqual(rc, 0, err)
        self.assertIn("exists but is not a directory", out)

    def test_good_files(self):
        files = sorted(glob.glob(os.path.join(CONF, "good", "*.yaml")))
        self.assertGreaterEqual(len(files), 5)
        for path in files:
            with self.subTest(file=os.path.basename(path)):
                rc, out, err = run("-c", path, "--check")
                self.assertEqual(rc, 0, err)
                want = [l[len("# summary: "):].rstrip("\n")
                        for l in open(path) if l.startswith("# summary: ")]
                self.assertTrue(want, "no # summary: lines")
                for line in want:
                    self.assertIn(line, out)

    def test_bad_files(self):
        files = sorted(glob.glob(os.path.join(CONF, "bad", "*.yaml")))
        self.assertGreaterEqual(len(files), 30)
        for path in files:
            with self.subTest(file=os.path.basename(path)):
                with open(path, "rb") as f:
                    first = f.readline().decode().strip()
                m = re.match(r"# expect: (\d+):(\d+): (.*)$", first)
                self.assertIsNotNone(m, "first line: " + first)
                rc, out, err = run("-c", path, "--check")
                self.assertEqual(rc, 1, out + err)
                self.assertEqual(out, "")
                prefix = "%s:%s:%s: " % (path, m.group(1), m.group(2))
                self.assertTrue(err.startswith(prefix),
                                "want %r, got %r" % (prefix, err))
                self.assertIn(m.group(3).strip(), err)
                self.assertEqual(err.count("\n"), 1, err)

    def test_shipped_policies(self):
        for name in ("janitor.yaml", "gradio.yaml"):
            with self.subTest(file=name):
                path = os.path.join(jtest.SRC, "conf", name)
                rc, out, err = run("-c", path, "--check")
                self.assertEqual(rc, 0, err)
                self.assertIn(": OK", out)
        # The annotated default policy means exactly the defaults.
        empty = write(self.tmp, "empty.yaml", "")
        rc, a, err = run("-c", empty, "--check")
        self.assertEqual(rc, 0, err)
        rc, b, err = run("-c", os.path.join(jtest.SRC, "conf",
                                            "janitor.yaml"), "--check")
        self.assertEqual(a.split("\n", 1)[1], b.split("\n", 1)[1])

    def test_gradio_preset_env(self):
        cache = os.path.join(self.tmp, "gradio-cache")
        path = write(self.tmp, "g.yaml", "preset: gradio\n")
        env = dict(os.environ, GRADIO_TEMP_DIR=cache)
        rc, out, err = run("-c", path, "--check", env=env)
        self.assertEqual(rc, 0, err)
        self.assertIn("OK, preset gradio", out)
        self.assertIn("cache            %s every 1h, age 1h by ctime" % cache,
                      out)
        self.assertIn("never issued", out)
        env = dict(os.environ)
        env.pop("GRADIO_TEMP_DIR", None)
        rc, out, err = run("-c", path, "--check", env=env)
        self.assertIn("cache            /tmp/gradio every 1h", out)
        env = dict(os.environ, GRADIO_TEMP_DIR="relative/dir")
        rc, out, err = run("-c", path, "--check", env=env)
        self.assertEqual(rc, 1)
        self.assertTrue(err.startswith(path + ":1:9: preset: "
                                       "$GRADIO_TEMP_DIR: "), err)

    def test_trust_everyone_warns(self):
        # 0.0.0.0/0 or ::/0 in trusted_proxies lets any client pick its
        # address: --check says so, and still passes.
        for nets, shown in (("[0.0.0.0/0]", "0.0.0.0/0"),
                            ("[127.0.0.1/32, \"::/0\"]", "::/0")):
            path = write(self.tmp, "t.yaml", "trusted_proxies: %s\n" % nets)
            rc, out, err = run("-c", path, "--check")
            self.assertEqual(rc, 0, err)
            self.assertIn("WARNING          trusted_proxies holds %s: any "
                          "client can set X-Forwarded-For" % shown, out)
        path = write(self.tmp, "t.yaml",
                     "trusted_proxies: [10.0.0.0/8, \"::1/128\"]\n")
        rc, out, err = run("-c", path, "--check")
        self.assertEqual(rc, 0, err)
        self.assertNotIn("WARNING", out)

    def test_admin_token(self):
        tok = write(self.tmp, "token", "  s3cret-token\n\n")
        path = write(self.tmp, "a.yaml",
                     "admin:\n  listen: 0.0.0.0:9999\n"
                     "  token_file: %s\n" % tok)
        rc, out, err = run("-c", path, "--check")
        self.assertEqual(rc, 0, err)
        self.assertIn("admin            0.0.0.0:9999, bearer token required",
                      out)
        self.assertNotIn("s3cret", out)
        os.chmod(tok, 0)
        if os.geteuid() != 0:
            rc, out, err = run("-c", path, "--check")
            self.assertEqual(rc, 1)
            self.assertTrue(err.startswith(path + ":3:15: admin.token_file: "
                                           "cannot read"), err)
        empty = write(self.tmp, "empty-token", "\n")
        path = write(self.tmp, "b.yaml", "admin:\n  token_file: %s\n" % empty)
        rc, out, err = run("-c", path, "--check")
        self.assertEqual(rc, 1)
        self.assertEqual(err, "%s:2:15: admin.token_file: '%s' is empty\n"
                         % (path, empty))

    def test_webhook_secret(self):
        sec = write(self.tmp, "secret",
                    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n")
        path = write(self.tmp, "a.yaml", "webhooks:\n  secret_file: %s\n"
                     % sec)
        rc, out, err = run("-c", path, "--check")
        self.assertEqual(rc, 0, err)
        self.assertIn("webhooks         secret %s" % sec, out)
        bad = write(self.tmp, "bad-secret", "whsec_not*base64!\n")
        path = write(self.tmp, "b.yaml", "webhooks:\n  secret_file: %s\n"
                     % bad)
        rc, out, err = run("-c", path, "--check")
        self.assertEqual(rc, 1)
        self.assertIn(":2:16: webhooks.secret_file: ", err)
        self.assertIn("not base64", err)

    def test_default_file(self):
        # Without -c the default path is used (and named in the error).
        rc, out, err = run("--check")
        if os.path.exists("/etc/janitor/janitor.yaml"):
            return
        self.assertEqual(rc, 1)
        self.assertTrue(err.startswith("/etc/janitor/janitor.yaml: "), err)


if __name__ == "__main__":
    jtest.main()
