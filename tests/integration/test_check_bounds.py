"""`janitord --check` on each pathological policy family of issue 13: every
one gets a clear FILE:LINE:COLUMN error (FILE: for whole-file problems)
within 2 s and 64 MiB of peak RSS, measured on the child itself
(os.wait4).  Under RLIMIT_AS of 1 GiB, so that a regression fails here
instead of taking the machine's memory (before: glibc's regcomp grew to
24 GB on the first file).  Under a sanitizer (ASan, TSan, ...) neither the
address-space guard nor the RSS figure applies; the time and the message
still do."""

import os
import re
import resource
import subprocess
import tempfile
import time
import unittest

import jtest
import slowfs

TIME_LIMIT = 2.0                # seconds, CONFIG_TIME_MAX
# What the waiter says: it cannot tell a hung read from slow checking.
LATE = ": reading and checking did not finish within 2000 ms\n"
RSS_LIMIT_KIB = 64 * 1024
AS_GUARD = 1 << 30


def sanitized():
    """Whether janitord is built with a sanitizer: linked to its shared
    runtime (gcc) or carrying it (clang's static runtimes); their shadow
    memory needs terabytes of address space."""
    with open(jtest.JANITORD, "rb") as f:
        return re.search(rb"lib(a|t|m|hwa|l|ub)san\.so|"
                         rb"__(asan|tsan|msan|hwasan|lsan|ubsan)_",
                         f.read()) is not None


SANITIZED = sanitized()


def guard():
    if not SANITIZED:
        resource.setrlimit(resource.RLIMIT_AS, (AS_GUARD, AS_GUARD))


def run_measured(path, timeout=30):
    """Run janitord --check; return (status, stdout, stderr, seconds, KiB
    of peak RSS from wait4).  The RSS figure is an upper bound: a forked
    child starts its high-water mark at the RSS of this Python process
    (about 16 MiB), and exec keeps the larger of the two."""
    outdir = tempfile.mkdtemp(prefix="janitor-bounds-out-")
    outp = os.path.join(outdir, "out")
    errp = os.path.join(outdir, "err")
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            guard()
            fd = os.open(os.devnull, os.O_RDONLY)
            os.dup2(fd, 0)
            os.dup2(os.open(outp, os.O_WRONLY | os.O_CREAT |
                            os.O_TRUNC, 0o600), 1)
            os.dup2(os.open(errp, os.O_WRONLY | os.O_CREAT |
                            os.O_TRUNC, 0o600), 2)
            os.execv(jtest.JANITORD, [jtest.JANITORD, "-c", path,
                                      "--check"])
        finally:
            os._exit(127)
    deadline = t0 + timeout
    while True:
        got, status, ru = os.wait4(pid, os.WNOHANG)
        if got == pid:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.wait4(pid, 0)
            raise TimeoutError("janitord --check %s did not end" % path)
        time.sleep(0.005)
    secs = time.monotonic() - t0
    # At most 1 MiB each: a regression that prints 268 MB must not grow
    # this process, whose RSS the next child starts from.
    with open(outp) as f:
        out = f.read(1 << 20)
    with open(errp) as f:
        err = f.read(1 << 20)
    return os.waitstatus_to_exitcode(status), out, err, secs, ru.ru_maxrss


def keepbomb(n):
    """n cache entries whose keep is *l; &l lists 256 aliases of one
    4096-byte value (the reviewer's file for n = 256)."""
    return ("cache:\n  - path: /tmp/c0\n    keep: &l [&g " + "a" * 4096 +
            ", *g" * 255 + "]\n" + "".join(
                "  - path: /tmp/c%d\n    keep: *l\n" % i
                for i in range(1, n)))


class CheckBoundsTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="janitor-bounds-")

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def refused(self, path, want, limit=TIME_LIMIT):
        """--check fails with exactly one line starting path + want."""
        rc, out, err, secs, kib = run_measured(path)
        print("%s: %.3f s, %d KiB: %s" % (os.path.basename(path), secs, kib,
                                          err.strip()[:160]))
        self.assertEqual(rc, 1, out + err)
        self.assertEqual(out, "")
        self.assertTrue(err.startswith(path + want),
                        "want %r, got %r" % (path + want, err[:300]))
        self.assertEqual(err.count("\n"), 1, err[:300])
        self.assertLess(len(err), 1024)
        self.assertLess(secs, limit)
        if not SANITIZED:
            self.assertLess(kib, RSS_LIMIT_KIB)
        return err

    def key_regex(self, name, regex):
        return self.write(name, "sessions:\n  key:\n    - path: '%s'\n"
                          % regex)

    def live_regex(self, name, regex):
        return self.write(name, "sessions:\n  live:\n    - path: '%s'\n"
                          % regex)

    def test_s_plus_key(self):
        # The file fuzz_config found: regcomp grew to 24 GB.
        path = self.key_regex("splus.yaml", "s" + "+" * 32 + "id")
        self.refused(path, ":3:13: sessions.key[0].path: 's++++++")
        rc, out, err, _, _ = run_measured(path)
        self.assertIn("is not a regular expression: quantifier does not "
                      "follow a repeatable item at offset 3 (after 's++')",
                      err)

    def test_repeat_of_repeat(self):
        # regcomp: accepted after 20 s and 3.4 GB.
        path = self.key_regex("rr.yaml", "((a{255}){255}){255}")
        self.refused(path, ":3:13: sessions.key[0].path: "
                     "'((a{255}){255}){255}' is not a regular expression: "
                     "regular expression is too large at offset 20")

    def test_repeat_of_quantifier(self):
        path = self.key_regex("q.yaml", "a{32767}{32767}")
        self.refused(path, ":3:13: sessions.key[0].path: 'a{32767}{32767}' "
                     "is not a regular expression: quantifier does not "
                     "follow a repeatable item at offset 14")

    def test_four_repeats(self):
        path = self.live_regex("r4.yaml", "(((a{100}){100}){100}){100}")
        self.refused(path, ":3:13: sessions.live[0].path: "
                     "'(((a{100}){100}){100}){100}' is not a regular "
                     "expression: regular expression is too large at "
                     "offset 27")

    def test_alternatives(self):
        # 'a|' * 200000: over 6 GB in regcomp.  The value itself is too
        # long; 2,000 of them fit the value and not the compiled size.
        path = self.live_regex("alt.yaml", "a|" * 200000)
        self.refused(path, ":3:13: sessions.live[0].path: a value of "
                     "400000 bytes; at most 4096 are allowed")
        path = self.live_regex("alt2k.yaml", "a|" * 2000)
        self.refused(path, ":3:13: sessions.live[0].path: 'a|a|a|")
        rc, out, err, _, _ = run_measured(path)
        self.assertIn("compiles to", err)

    def test_nested_groups(self):
        # 20,000 nested groups overflowed regcomp's stack (SIGSEGV).
        path = self.live_regex("g.yaml", "(" * 20000 + "a" + ")" * 20000)
        self.refused(path, ":3:13: sessions.live[0].path: a value of "
                     "40001 bytes; at most 4096 are allowed")
        path = self.live_regex("g2k.yaml", "(" * 2000 + "a" + ")" * 2000)
        self.refused(path, ":3:13: sessions.live[0].path: '((((")
        rc, out, err, _, _ = run_measured(path)
        self.assertIn("parentheses are too deeply nested at offset 33", err)

    def test_nested_brackets(self):
        # 22-25 s in libyaml before.
        path = self.write("brackets.yaml", "[" * 100000 + "\n")
        self.refused(path, ":1:65: lists and mappings nest more than 64 "
                     "deep")

    def test_anchors(self):
        # 50,000 anchors and aliases: 10.6 s in libyaml's loader before.
        n = 50000
        path = self.write("anchors.yaml", "x: [" + ",".join(
            "&a%d v" % i for i in range(n)) + "," + ",".join(
            "*a%d" % (n - 1) for i in range(n)) + "]\n")
        self.refused(path, ":1:695: more than 100 anchors (&name) in the "
                     "file")

    def test_many_values(self):
        # 400,000 values: 69 MB of libyaml nodes before.
        path = self.write("values.yaml", "x: [" + ",".join(
            "a" for i in range(400000)) + "]\n")
        self.refused(path, ":1:199999: more than 100000 values in the file")

    def test_alias_amplification(self):
        # 256 cache entries whose keep is *l, where &l lists 256 aliases
        # of one 4 KiB value: 13 KB of file, 268 MB of --check output and
        # RSS before (and about 800 MiB in a daemon after SIGHUP).
        path = self.write("keepbomb.yaml", keepbomb(256))
        self.assertLess(os.path.getsize(path), 14000)
        self.refused(path, ":3:15: cache[3].keep[247]: the policy would "
                     "take more than 4 MiB (each use of an alias copies "
                     "what it names); stopped here")
        # Aliases themselves are fine: three uses of the list are 3 MiB.
        path = self.write("keep3.yaml", keepbomb(3))
        rc, out, err, secs, kib = run_measured(path)
        self.assertEqual(rc, 0, err)

    def test_tag_directives(self):
        # libyaml compares each %TAG with every earlier one before its
        # first event: 52,000 took 6.5 s of CPU where nothing looks at
        # the clock.  Refused by a scan before libyaml sees the file.
        path = self.write("tags.yaml", "".join(
            "%%TAG !%x! t:\n" % i for i in range(52000)) +
            "---\nupstream: 127.0.0.1:7860\n")
        self.refused(path, ":9:1: more than 8 YAML directives (%TAG, "
                     "%YAML); a policy needs none")
        path = self.write("yaml12.yaml", "%YAML 1.2\n---\n"
                          "upstream: 127.0.0.1:7860\n")
        rc, out, err, secs, kib = run_measured(path)
        self.assertEqual(rc, 0, err)

    def test_over_64_mib(self):
        # Sparse: 65 MiB long, nothing stored; refused by its size alone.
        path = os.path.join(self.tmp, "big.yaml")
        with open(path, "wb") as f:
            f.truncate(65 << 20)
        self.refused(path, ": 68157440 bytes, larger than 1048576")
        secret = os.path.join(self.tmp, "secret")
        with open(secret, "wb") as f:
            f.truncate(65 << 20)
        path = self.write("secret.yaml", "webhooks:\n  secret_file: %s\n"
                          % secret)
        self.refused(path, ":2:16: webhooks.secret_file: '%s' is 68157440 "
                     "bytes, larger than 4096" % secret)
        path = self.write("token.yaml", "admin:\n  token_file: %s\n" % secret)
        self.refused(path, ":2:15: admin.token_file: '%s' is 68157440 "
                     "bytes, larger than 4096" % secret)

    @unittest.skipIf(slowfs.available() is not None,
                     "slow-file test: %s" % slowfs.available())
    def test_slow_file(self):
        # Each read of a file on this FUSE mount answers after 5 s: the
        # load gives up at 2 s, whichever file is slow.
        mnt = os.path.join(self.tmp, "mnt")
        os.mkdir(mnt)
        src = self.write("src.yaml", "upstream: 127.0.0.1:7860\n")
        with slowfs.mounted(mnt, src, 5) as slow:
            self.refused(slow, LATE, limit=TIME_LIMIT + 0.5)
            path = self.write("slowsecret.yaml",
                              "webhooks:\n  secret_file: %s\n" % slow)
            self.refused(path, LATE, limit=TIME_LIMIT + 0.5)
            path = self.write("slowtoken.yaml",
                              "admin:\n  token_file: %s\n" % slow)
            self.refused(path, LATE, limit=TIME_LIMIT + 0.5)

    def test_good_file_still_passes(self):
        # The bounds leave real policies alone: the Gradio preset and a
        # key regex with a non-capturing group.
        path = self.write("ok.yaml", "preset: gradio\nsessions:\n  key:\n"
                          "    - path: '^/(?:app|api)/s/([a-z0-9]{8,})'\n")
        rc, out, err, secs, kib = run_measured(path)
        self.assertEqual(rc, 0, err)
        self.assertIn(": OK", out)
        self.assertLess(secs, TIME_LIMIT)


if __name__ == "__main__":
    jtest.main()
