"""Crash and resource scenarios of webhook delivery through whdriver (see
test_webhook_driver.py): kill -9 at random moments under load, the state
file's disk filling up, and more events than the in-memory cap."""

import os
import random
import subprocess
import sys
import time

import jtest
from test_webhook_driver import Driver, DriverTest


class CrashTest(DriverTest):

    def test_kill9_rounds(self):
        """kill -9 at random moments under load, 10 rounds, then finish."""
        n = 400
        self.rx.set_mode("flaky", flaky=0.2)
        self.rx.start()
        rng = random.Random(int(os.environ.get("KILL_SEED", time.time())))
        seen_resumes = []
        for rnd in range(10):
            d = Driver(self.state, self.url, "-n", str(n), "-k", "3", "-i",
                       "2", "-b", "20", "-B", "100", "-m", "1000").start()
            time.sleep(rng.uniform(0.05, 0.5))
            first = d.kill9().splitlines()[:1]
            seen_resumes.append(first[0] if first else "")
        d = Driver(self.state, self.url, "-n", str(n), "-k", "3", "-i", "2",
                   "-b", "20", "-B", "100", "-m", "1000", "-x").start()
        rc, out = d.wait(120)
        self.assertEqual(rc, 0, out)
        self.assertIn("generated %d\npending 0" % (2 * n), out)
        recs = self.rx.delivered()
        uniq, dups, lost = self.check_order_and_ids(n, recs)
        sys.stderr.write("kill -9 x10: %d events, %d delivered, %d "
                         "duplicate deliveries, %d lost; resumes: %s\n"
                         % (2 * n, uniq, dups, lost, seen_resumes))
        self.assertEqual(lost, 0)
        self.assertEqual(uniq, 2 * n)
        self.assertEqual(self.rx.overlaps, 0)

    def test_disk_full(self):
        """The state file's disk fills up while events are generated:
        commits fail and are retried, nothing is sent before it is
        stored; once there is room again everything is delivered, once
        per event id and in order (skipped where no tmpfs can be mounted)."""
        os.makedirs(self.state)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs",
                           self.state], capture_output=True).returncode != 0:
            self.skipTest("cannot mount a tmpfs here")
        try:
            filler = os.path.join(self.state, "filler")
            # The receiver fails meanwhile, so the outbox grows.
            self.rx.set_mode("fail")
            self.rx.start()
            d = Driver(self.state, self.url, "-n", "1500", "-k", "5", "-i",
                       "2", "-b", "50", "-B", "200", "-m", "100000", "-x")
            d.start()
            # Take (nearly) all the room that is left.
            time.sleep(0.2)
            fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                while os.write(fd, b"\0" * 4096) > 0:
                    pass
            except OSError:
                pass
            os.close(fd)
            try:
                jtest.wait_for(lambda: "retrying" in d.output(), timeout=20,
                               what="a failed commit")
            except TimeoutError:
                sys.stderr.write(d.output()[-2000:] + "\n" + repr(
                    os.listdir(self.state)) + repr([os.path.getsize(
                        os.path.join(self.state, x)) for x in
                        os.listdir(self.state)]))
                raise
            time.sleep(1.5)
            os.unlink(filler)
            self.rx.set_mode("ok")
            rc, out = d.wait(60)
            self.assertEqual(rc, 0, out)
            self.assertIn("pending 0", out)
            uniq, dups, lost = self.check_order_and_ids(1500)
            sys.stderr.write("disk full: %d failed commits retried; %d "
                             "events delivered, %d lost\n"
                             % (out.count("retrying"), uniq, lost))
            self.assertEqual((uniq, lost), (3000, 0))
        finally:
            subprocess.run(["umount", "-l", self.state])

    def test_queue_beyond_memory(self):
        """More events than the in-memory cap (here 40) while the receiver
        fails: the rest wait in the state file, also across a kill -9 and
        a restart, and are all delivered in order once it answers."""
        self.rx.set_mode("fail")
        self.rx.start()
        args = ["-n", "150", "-k", "10", "-M", "40", "-b", "20", "-B",
                "100", "-m", "100000"]
        d = Driver(self.state, self.url, *args).start()
        jtest.wait_for(lambda: "generation done" in d.output(), timeout=20,
                       what="all generated")
        time.sleep(0.3)
        out = d.kill9()
        self.assertIn("newer ones wait in the state file only", out)
        d = Driver(self.state, self.url, *(args + ["-x"])).start()
        jtest.wait_for(lambda: "resumed at 300 with 300 pending" in
                       d.output(), timeout=10, what="resume")
        time.sleep(0.5)
        # Never more than the cap of distinct events tried so far.
        tried = {r["id"] for r in self.rx.all()}
        self.rx.set_mode("ok")
        rc, out = d.wait(60)
        self.assertEqual(rc, 0, out)
        self.assertIn("260 wait in the state file only", out)
        uniq, dups, lost = self.check_order_and_ids(150)
        sys.stderr.write("queue beyond memory: %d events, %d tried before "
                         "the receiver answered, %d delivered, %d lost\n"
                         % (300, len(tried), uniq, lost))
        self.assertEqual((uniq, lost), (300, 0))


# Only this file's tests, not the inherited ones.
for _name in [n for n in dir(DriverTest) if n.startswith("test_")]:
    if _name not in CrashTest.__dict__:
        setattr(CrashTest, _name, None)
del DriverTest

if __name__ == "__main__":
    jtest.main()
