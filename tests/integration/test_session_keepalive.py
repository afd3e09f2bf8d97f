"""TCP keepalive on live channels notices a client that vanished without a
word: a WebSocket client in its own network namespace, behind a veth pair,
loses its link; no FIN or RST ever arrives, and only the keepalive probes
(sessions.keepalive, with TCP_USER_TIMEOUT) can tell janitord that the
channel is dead, so the session unloads.

Needs root (network namespaces, veth); skipped otherwise."""

import os
import subprocess
import time
import unittest

import jtest
import relay
from sessiontest import metric, state, wait_state

POLICY = """
listen: [127.0.0.1:{port}, {host_ip}:{port}]
upstream: 127.0.0.1:{upstream_port}
state_dir: {dir}
admin:
  listen: 127.0.0.1:{admin_port}
sessions:
  keepalive: {{idle: 1s, interval: 1s, count: 2}}
on_unload:
  grace: 0s
log:
  level: debug
"""

CLIENT = r"""
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.sendall(b"GET /ws HTTP/1.1\r\nHost: t\r\nCookie: janitor_sid=" +
          sys.argv[3].encode() + b"\r\n"
          b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          b"Sec-WebSocket-Version: 13\r\n\r\n")
buf = b""
while b"\r\n\r\n" not in buf:
    buf += s.recv(4096)
print(buf.split(b"\r\n")[0].decode(), flush=True)
time.sleep(120)
"""


def sh(*args):
    try:
        return subprocess.run(list(args), capture_output=True, text=True)
    except FileNotFoundError as e:
        return subprocess.CompletedProcess(args, 127, "", str(e))


class VanishedClient(unittest.TestCase):

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root for a network namespace")
        n = os.getpid() % 250 + 1
        self.ns = "jka%d" % os.getpid()
        self.veth_host = "jkh%d" % os.getpid()
        self.veth_client = "jkc%d" % os.getpid()
        self.host_ip = "10.231.%d.1" % n
        self.client_ip = "10.231.%d.2" % n
        steps = [
            ["ip", "netns", "add", self.ns],
            ["ip", "link", "add", self.veth_host, "type", "veth", "peer",
             "name", self.veth_client],
            ["ip", "link", "set", self.veth_client, "netns", self.ns],
            ["ip", "addr", "add", self.host_ip + "/30", "dev", self.veth_host],
            ["ip", "link", "set", self.veth_host, "up"],
            ["ip", "netns", "exec", self.ns, "ip", "addr", "add",
             self.client_ip + "/30", "dev", self.veth_client],
            ["ip", "netns", "exec", self.ns, "ip", "link", "set",
             self.veth_client, "up"],
            ["ip", "netns", "exec", self.ns, "ip", "link", "set", "lo", "up"],
        ]
        self.addCleanup(self.cleanup_net)
        for step in steps:
            r = sh(*step)
            if r.returncode != 0:
                self.skipTest("cannot set up the namespace: %s: %s"
                              % (" ".join(step), r.stderr.strip()))
        self.backend = relay.Backend().start()
        self.addCleanup(self.backend.stop)
        self.jd = jtest.Janitord(POLICY, upstream_port=self.backend.port,
                                 host_ip=self.host_ip)
        self.jd.start()
        self.addCleanup(self.jd.__exit__, None, None, None)

    def cleanup_net(self):
        sh("ip", "netns", "del", self.ns)
        sh("ip", "link", "del", self.veth_host)

    def test_keepalive_notices_vanished_client(self):
        client = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, "/usr/bin/python3", "-c", CLIENT,
             self.host_ip, str(self.jd.port), self.jd.cookie("vanishing")],
            stdout=subprocess.PIPE)
        self.addCleanup(client.wait)
        self.addCleanup(client.kill)
        self.assertEqual(client.stdout.readline().strip(),
                         b"HTTP/1.1 101 Switching Protocols")
        wait_state(self.jd, "vanishing", "live")
        # Idle well past the keepalive time: probes are answered, it stays.
        time.sleep(2.5)
        self.assertEqual(state(self.jd, "vanishing"), "live")
        # The link goes: from now on nothing comes back, not even a RST.
        t0 = time.monotonic()
        r = sh("ip", "netns", "exec", self.ns, "ip", "link", "set",
               self.veth_client, "down")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_state(self.jd, "vanishing", "unloaded", timeout=15.0)
        took = time.monotonic() - t0
        # idle 1 s + 2 probes 1 s apart: about 3 s, never at once.
        self.assertGreater(took, 0.9)
        self.assertLess(took, 10.0)
        self.assertEqual(metric(self.jd, "janitor_unloads_total"), 1)
        client.stdout.close()


if __name__ == "__main__":
    jtest.main()
