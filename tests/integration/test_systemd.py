"""Plays systemd's side without systemd: a datagram socket as NOTIFY_SOCKET
receives READY/RELOADING/STOPPING/STATUS/WATCHDOG, and listening sockets
handed over as fds 3 and 4 with LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES are
used by name instead of the addresses in the policy."""

import http.server
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

import jtest

POLICY = """
listen: 127.0.0.1:{port}
upstream: 127.0.0.1:{upstream_port}
state_dir: {dir}
admin:
  listen: 127.0.0.1:{admin_port}
"""


class Hello(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = b"hello from the app\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def listener(port=0):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(64)
    return s


class Notify:
    """The NOTIFY_SOCKET end: collects the datagrams janitord sends."""

    def __init__(self):
        self.path = os.path.join(tempfile.mkdtemp(), "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.msgs = []

    def poll(self):
        try:
            while True:
                self.msgs.append(self.sock.recv(4096).decode())
        except (socket.timeout, BlockingIOError):
            pass
        return self.msgs

    def wait(self, text, timeout=10.0, after=0):
        return jtest.wait_for(
            lambda: [m for m in self.poll()[after:] if text in m],
            timeout=timeout, what="notify %r" % text)


class SystemdTest(unittest.TestCase):

    def setUp(self):
        self.app = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
        threading.Thread(target=self.app.serve_forever, daemon=True).start()
        self.addCleanup(self.app.shutdown)
        self.notify = Notify()

    def test_notify_protocol(self):
        with jtest.Janitord(POLICY, upstream_port=self.app.server_port,
                            extra_env={"NOTIFY_SOCKET": self.notify.path,
                                       "WATCHDOG_USEC": "200000"}) as jd:
            ready = self.notify.wait("READY=1")
            self.assertIn("STATUS=", ready[0])
            # Ready means listening: the proxy answers right away.
            with urllib.request.urlopen(
                    "http://127.0.0.1:%d/" % jd.port, timeout=5) as r:
                self.assertEqual(r.read(), b"hello from the app\n")

            n = len(self.notify.poll())
            jd.signal(signal.SIGHUP)
            rel = self.notify.wait("RELOADING=1", after=n)[0]
            usec = int(rel.split("MONOTONIC_USEC=")[1].split()[0])
            now = time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6
            self.assertLess(abs(now - usec), 10e6)
            idx = self.notify.msgs.index(rel)
            self.notify.wait("READY=1", after=idx + 1)

            # WATCHDOG_USEC=200 ms: pings at half of it.
            n = len(self.notify.poll())
            time.sleep(1.0)
            pings = [m for m in self.notify.poll()[n:] if "WATCHDOG=1" in m]
            self.assertGreaterEqual(len(pings), 5)

            self.assertEqual(jd.stop(), 0)
            self.notify.wait("STOPPING=1")

    def test_socket_activation(self):
        proxy = listener()
        admin = listener()
        jd = jtest.Janitord(POLICY, upstream_port=self.app.server_port)
        # The policy's own ports stay unused: the inherited sockets win.
        env = dict(os.environ, LISTEN_FDS="2", LISTEN_FDNAMES="proxy:admin",
                   NOTIFY_SOCKET=self.notify.path)

        def fds():
            # Through high numbers first: the originals may be 3 or 4.
            p, a = os.dup(proxy.fileno()), os.dup(admin.fileno())
            p, a = os.dup2(p, 100), os.dup2(a, 101)
            os.dup2(p, 3)
            os.dup2(a, 4)
            os.close(p)
            os.close(a)

        logf = open(jd.log_path, "ab")
        self.addCleanup(logf.close)
        proc = subprocess.Popen(
            ["/bin/sh", "-c", 'LISTEN_PID=$$; export LISTEN_PID; exec "$@"',
             "sh", jtest.JANITORD, "-c", jd.conf],
            env=env, stdout=logf, stderr=logf, preexec_fn=fds,
            pass_fds=(3, 4))
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        try:
            self.notify.wait("READY=1")
            pport = proxy.getsockname()[1]
            aport = admin.getsockname()[1]
            proxy.close()
            admin.close()
            with urllib.request.urlopen(
                    "http://127.0.0.1:%d/x" % pport, timeout=5) as r:
                self.assertEqual(r.read(), b"hello from the app\n")
            with urllib.request.urlopen(
                    "http://127.0.0.1:%d/healthz" % aport, timeout=5) as r:
                self.assertEqual(r.status, 200)
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", jd.port), timeout=1)
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(20), 0)
        except Exception:
            print(jd.log())
            raise


if __name__ == "__main__":
    jtest.main()
