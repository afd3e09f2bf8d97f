"""Shared plumbing for the black-box tests: free ports, a janitord started
from a policy text, and waiting for sockets.  Each test file is one scenario
built on unittest and runs under Debian's /usr/bin/python3."""

import base64
import hashlib
import hmac
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

JANITORD = os.environ.get("JANITORD", "build/src/janitord")
SRC = os.environ.get("JANITOR_SRC",
                     os.path.dirname(os.path.dirname(os.path.dirname(
                         os.path.abspath(__file__)))))
HERE = os.path.dirname(os.path.abspath(__file__))


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split()[:2])
            return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


def _test_ports():
    """Ports outside the kernel's ephemeral range (10000 and up)."""
    lo, hi = _ephemeral_range()
    ports = list(range(10000, lo)) + list(range(max(hi + 1, 10000), 65536))
    return ports if len(ports) >= 1000 else None


_TEST_PORTS = _test_ports()
_handed_out = set()


def free_port():
    """A TCP port on 127.0.0.1 that nobody uses right now, outside the
    kernel's ephemeral range where it can: a port the kernel picked (bind
    to port 0) can be taken as the local end of any outgoing connection of
    a test running alongside before the daemon binds it.  Where the range
    leaves fewer than 1,000 other ports, the kernel picks."""
    for _ in range(1000):
        if _TEST_PORTS is None:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        else:
            port = random.choice(_TEST_PORTS)
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
        if port in _handed_out:
            continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port")


def wait_port(port, host="127.0.0.1", timeout=10.0, proc=None):
    """Wait until something accepts on host:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited with %s" % proc.returncode)
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError("nothing listens on %s:%d" % (host, port))


def wait_for(pred, timeout=10.0, interval=0.02, what="condition"):
    """Poll pred() until it returns a true value; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TimeoutError("timed out waiting for " + what)
        time.sleep(interval)


class Janitord:
    """One janitord process with its own directory, policy file and log.

    The policy text may use {port}, {admin_port}, {upstream_port}, {dir};
    they are filled in before the file is written."""

    def __init__(self, policy, upstream_port=None, extra_env=None, **fmt):
        self.dir = tempfile.mkdtemp(prefix="janitord-test-")
        self.port = free_port()
        self.admin_port = free_port()
        self.upstream_port = upstream_port or free_port()
        self.conf = os.path.join(self.dir, "janitor.yaml")
        self.log_path = os.path.join(self.dir, "janitord.log")
        self.extra_env = extra_env or {}
        self.proc = None
        self.write_policy(policy, **fmt)

    def write_policy(self, policy, **fmt):
        text = policy.format(port=self.port, admin_port=self.admin_port,
                             upstream_port=self.upstream_port, dir=self.dir,
                             **fmt)
        with open(self.conf + ".tmp", "w") as f:
            f.write(text)
        os.rename(self.conf + ".tmp", self.conf)

    def start(self, wait=True):
        env = dict(os.environ)
        env.update(self.extra_env)
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([JANITORD, "-c", self.conf],
                                     stdout=self.logf, stderr=self.logf,
                                     env=env)
        if wait:
            wait_port(self.port, proc=self.proc)
        return self

    def log(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def cookie(self, key, issued_ms=None, state_dir=None):
        """A janitor_sid value for key as janitord would have issued it
        (state_dir: the policy's, {dir} unless told)."""
        return sign_cookie(state_dir or self.dir, key, issued_ms)

    def wait_log(self, text, timeout=10.0):
        return wait_for(lambda: text in self.log(), timeout=timeout,
                        what="log line %r" % text)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=None, timeout=20.0):
        """Stop the daemon (SIGTERM unless told) and return its exit status."""
        if sig is None:
            sig = signal.SIGTERM
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()
        if self.proc is not None:
            self.logf.close()
        if exc[0] is not None:
            sys.stderr.write("---- janitord log ----\n" + self.log())
        return False


def sign_cookie(state_dir, key, issued_ms=None):
    """The value of a session cookie janitord issued for key (what
    src/sessionkey.c makes: KEY.ISSUED.MAC, the MAC an HMAC-SHA-256 over
    "KEY.ISSUED" with state_dir/cookie.key, cut to 128 bits, base64url),
    so a test can speak as a browser that holds that cookie."""
    path = os.path.join(state_dir, "cookie.key")
    wait_for(lambda: os.path.exists(path), what=path)
    with open(path, "rb") as f:
        secret = f.read()
    if issued_ms is None:
        issued_ms = int(time.time() * 1000)
    msg = ("%s.%d" % (key, issued_ms)).encode()
    mac = hmac.new(secret, msg, hashlib.sha256).digest()[:16]
    return "%s.%d.%s" % (key, issued_ms,
                         base64.urlsafe_b64encode(mac).decode().rstrip("="))


def check(conf_path, *extra):
    """Run janitord --check on a file; return (exit status, stdout, stderr)."""
    p = subprocess.run([JANITORD, "-c", conf_path, "--check"] + list(extra),
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


# meson's exit status for a test program that did not really run.
EXIT_SKIP = 77


def main():
    """Run the file's tests.  A skip is never a pass: a file in which any
    test was skipped (and none failed) exits 77, which meson reports as
    SKIP, and every skip is named with its reason on stderr (scripts/
    test.sh collects these lines)."""
    prog = unittest.main(verbosity=2, exit=False)
    result = prog.result
    for test, why in result.skipped:
        sys.stderr.write("jtest: SKIP %s: %s\n" % (test.id(), why))
    if not result.wasSuccessful() or result.testsRun == 0:
        sys.exit(1)
    sys.exit(EXIT_SKIP if result.skipped else 0)
