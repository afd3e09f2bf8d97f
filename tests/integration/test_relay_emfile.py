"""Out of file descriptors: accept() fails with EMFILE, janitord pauses
accepting for a second instead of spinning, and serves again once
descriptors are free."""

import resource
import subprocess
import time
import unittest

import jtest
import relay


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0


class EmfileTest(unittest.TestCase):

    def test_pause_and_recover(self):
        with relay.Backend() as be:
            jd = relay.janitord(be.port)
            env = dict(relay.os.environ)
            jd.logf = open(jd.log_path, "ab")
            jd.proc = subprocess.Popen(
                [jtest.JANITORD, "-c", jd.conf], stdout=jd.logf,
                stderr=jd.logf, env=env,
                preexec_fn=lambda: resource.setrlimit(
                    resource.RLIMIT_NOFILE, (64, 64)))
            try:
                jtest.wait_port(jd.port, proc=jd.proc)
                held = [relay.connect(jd.port) for i in range(100)]
                jd.wait_log("pausing for a second")
                c0 = cpu_seconds(jd.proc.pid)
                time.sleep(2)
                spent = cpu_seconds(jd.proc.pid) - c0
                self.assertLess(spent, 0.5)
                for s in held:
                    s.close()
                st, h, body = jtest.wait_for(
                    lambda: relay.get(jd.port, "/plain"), timeout=10,
                    what="a served request")
                self.assertEqual((st, body), (200, b"hello\n"))
                self.assertEqual(jd.stop(), 0)
            finally:
                jd.kill()
                jd.logf.close()


if __name__ == "__main__":
    relay.main()
