"""SIGHUP reload of the policy file: a valid file takes over (`reloaded
FILE` is logged, the new log level and format apply at once, a new listen
address and upstream are used); a broken file is logged with its
FILE:LINE:COLUMN and the process keeps running with the old policy."""

import json
import os
import signal
import socket
import time
import unittest

import jtest
import relay

POLICY = """
listen: 127.0.0.1:{listen}
upstream: 127.0.0.1:{upstream}
state_dir: {dir}/state
admin:
  listen: 127.0.0.1:{admin}
log:
  level: {level}
  format: {format}
"""


def refused(port):
    """Whether nothing accepts on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


class ReloadTest(unittest.TestCase):

    def setUp(self):
        self.a = relay.Backend().start()
        self.addCleanup(self.a.stop)
        self.b = relay.Backend().start()
        self.addCleanup(self.b.stop)
        self.jd = jtest.Janitord("# written below\n")
        self.admin = self.jd.admin_port
        self.write(self.jd.port, self.a.port, "info", "text")
        self.jd.start()
        self.addCleanup(self.jd.__exit__, None, None, None)
        self.jd.wait_log("started with " + self.jd.conf)

    def write(self, listen, upstream, level, fmt, extra=""):
        self.jd.write_policy(POLICY + extra, listen=listen, upstream=upstream,
                             admin=self.admin, level=level, format=fmt)

    def hup(self):
        """Send SIGHUP; return the log offset from before it."""
        mark = len(self.jd.log())
        self.jd.signal(signal.SIGHUP)
        return mark

    def since(self, mark):
        return self.jd.log()[mark:]

    def json_lines(self, text):
        out = []
        for line in text.splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def test_reload(self):
        conf = self.jd.conf
        st, h, body = relay.get(self.jd.port, "/plain")
        self.assertEqual((st, body), (200, b"hello\n"))

        # 1. A valid file: JSON logs at debug level, a new listen port and
        # the other backend.
        new_port = jtest.free_port()
        self.write(new_port, self.b.port, "debug", "json")
        mark = self.hup()
        jtest.wait_for(lambda: any(
            l["msg"] == "reloaded " + conf
            for l in self.json_lines(self.since(mark))),
            what="JSON 'reloaded' line")
        self.assertEqual(self.jd.proc.poll(), None)
        jtest.wait_port(new_port, proc=self.jd.proc)
        jtest.wait_for(lambda: refused(self.jd.port),
                       what="old listen port closed")
        self.a.stop()       # only the new upstream can answer now
        st, h, body = relay.get(new_port, "/plain")
        self.assertEqual((st, body), (200, b"hello\n"))
        # Debug messages now reach the log (the relay logs each connection
        # at debug level when it closes).
        jtest.wait_for(lambda: any(l["level"] == "debug" for l in
                                   self.json_lines(self.since(mark))),
                       what="a debug line")

        # 2. A broken file: the error with its position, old policy kept.
        with open(conf, "w") as f:
            f.write("listen: 127.0.0.1:%d\nlimits:\n  header_timeout: soon\n"
                    % jtest.free_port())
        mark = self.hup()
        want = ("reload failed, keeping the old policy: %s:3:19: "
                "limits.header_timeout: 'soon' is not a duration" % conf)
        line = jtest.wait_for(lambda: [
            l for l in self.json_lines(self.since(mark))
            if l["msg"].startswith(want)], what="reload error")[0]
        self.assertEqual(line["level"], "error")
        time.sleep(0.2)
        self.assertIsNone(self.jd.proc.poll())
        st, h, body = relay.get(new_port, "/plain")
        self.assertEqual((st, body), (200, b"hello\n"))
        self.assertNotIn("reloaded", self.since(mark))

        # A file that is not YAML gets libyaml's position.
        with open(conf, "w") as f:
            f.write("listen: [127.0.0.1:1\nupstream: x\n")
        mark = self.hup()
        jtest.wait_for(lambda: [
            l for l in self.json_lines(self.since(mark))
            if l["msg"].startswith("reload failed, keeping the old "
                                   "policy: %s:2:9: " % conf)],
            what="YAML error")
        self.assertIsNone(self.jd.proc.poll())

        # 3. Back to text at level warn: info lines such as 'reloaded' are
        # no longer written, errors are, as text.
        self.write(new_port, self.b.port, "warn", "text")
        mark = self.hup()
        # The SIGHUP line is still JSON (written before the reload).
        jtest.wait_for(lambda: any(
            l["msg"] == "SIGHUP: reloading"
            for l in self.json_lines(self.since(mark))), what="SIGHUP line")
        time.sleep(0.3)
        self.assertNotIn("reloaded", self.since(mark))
        with open(conf, "w") as f:
            f.write("log: {level: loud}\n")
        mark = self.hup()
        self.jd.wait_log(" error reload failed, keeping the old policy: "
                         "%s:1:14: log.level: 'loud' is not one of" % conf)
        text = self.since(mark)
        self.assertNotIn("SIGHUP: reloading", text)
        self.assertFalse(any(l.startswith("{") for l in text.splitlines()))
        st, h, body = relay.get(new_port, "/plain")
        self.assertEqual(st, 200)

        # It stops cleanly with the policy it kept.
        self.assertEqual(self.jd.stop(), 0)


if __name__ == "__main__":
    jtest.main()
