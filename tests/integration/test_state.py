"""The state file: made at start, a clear error (exit 1, no crash) when it is
corrupt or state_dir cannot be used.  The dead-letter route answers from
the state file.  (--check's report on state_dir is tested in test_check.)"""

import json
import os
import sqlite3
import subprocess
import unittest
import urllib.request

import jtest

POLICY = """\
upstream: 127.0.0.1:{upstream_port}
listen: 127.0.0.1:{port}
state_dir: {dir}/{state}
admin: {{listen: 127.0.0.1:{admin_port}}}
log: {{level: debug}}
"""


def run_briefly(j, timeout=10):
    """Start janitord expecting it to fail; return (status, log)."""
    j.start(wait=False)
    try:
        rc = j.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        j.kill()
        raise AssertionError("janitord did not exit:\n" + j.log())
    finally:
        j.logf.close()
    return rc, j.log()


class StateTest(unittest.TestCase):

    def test_created_and_dead_route(self):
        j = jtest.Janitord(POLICY, state="state/sub")
        j.start(wait=False)
        try:
            jtest.wait_port(j.admin_port, proc=j.proc)
            db = os.path.join(j.dir, "state", "sub", "janitor.db")
            self.assertTrue(os.path.exists(db))
            with urllib.request.urlopen("http://127.0.0.1:%d/webhooks/dead"
                                        % j.admin_port, timeout=5) as r:
                self.assertEqual(r.status, 200)
                self.assertEqual(json.loads(r.read()), [])
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics"
                                        % j.admin_port, timeout=5) as r:
                text = r.read().decode()
            self.assertIn('janitor_webhook_deliveries_total{result="dead"} 0',
                          text)
            self.assertIn("janitor_webhook_queue_depth 0", text)
            self.assertIn("janitor_webhook_oldest_pending_seconds 0", text)
            j.wait_log("started with")
            self.assertEqual(j.stop(), 0)
            # WAL mode, and the schema is there.
            con = sqlite3.connect(db)
            self.assertEqual(con.execute("PRAGMA journal_mode").fetchone()[0],
                             "wal")
            tables = {r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type='table'")}
            self.assertTrue({"sessions", "outbox", "removals"} <= tables)
            con.close()
        finally:
            j.kill()
            j.logf.close()

    def test_corrupt_file(self):
        j = jtest.Janitord(POLICY, state="state")
        os.makedirs(j.dir + "/state")
        db = j.dir + "/state/janitor.db"
        with open(db, "wb") as f:
            f.write(b"garbage, not SQLite " * 300)
        rc, log = run_briefly(j)
        self.assertEqual(rc, 1, log)
        self.assertIn(db, log)
        self.assertIn("not a database", log)

    def test_damaged_page(self):
        # A real database whose table pages are overwritten in the middle.
        j = jtest.Janitord(POLICY, state="state")
        os.makedirs(j.dir + "/state")
        db = j.dir + "/state/janitor.db"
        con = sqlite3.connect(db)
        con.execute("CREATE TABLE outbox (seq INTEGER PRIMARY KEY, x TEXT)")
        con.executemany("INSERT INTO outbox VALUES (?, ?)",
                        [(i, "x" * 500) for i in range(200)])
        con.commit()
        con.close()
        with open(db, "r+b") as f:
            f.seek(4096 * 3)
            f.write(b"\xff" * 4096 * 4)
        rc, log = run_briefly(j)
        self.assertEqual(rc, 1, log)
        self.assertIn(db, log)
        self.assertNotIn("Sanitizer", log)
        print(log.strip().splitlines()[-1])

    def test_state_dir_unusable(self):
        j = jtest.Janitord(POLICY, state="afile/state")
        with open(j.dir + "/afile", "w") as f:
            f.write("x")
        rc, log = run_briefly(j)
        self.assertEqual(rc, 1, log)
        self.assertIn("state_dir", log)
        self.assertIn(j.dir + "/afile/state", log)


    def test_read_only_state(self):
        """A state file on a read-only file system: a clear error, exit 1
        (skipped where the test cannot mount a tmpfs)."""
        j = jtest.Janitord(POLICY, state="ro")
        mnt = os.path.join(j.dir, "ro")
        os.makedirs(mnt)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs",
                           mnt], capture_output=True).returncode != 0:
            self.skipTest("cannot mount a tmpfs here")
        try:
            j.start(wait=False)
            jtest.wait_port(j.admin_port, proc=j.proc)
            j.wait_log("started with")      # signals are handled now
            self.assertEqual(j.stop(), 0)
            j.logf.close()
            self.assertEqual(subprocess.run(
                ["mount", "-o", "remount,ro", mnt]).returncode, 0)
            rc, log = run_briefly(j)
            self.assertEqual(rc, 1, log)
            last = log.strip().splitlines()[-1]
            self.assertIn(mnt, last)
            self.assertIn("read-only", last.lower())
        finally:
            j.kill()
            subprocess.run(["umount", "-l", mnt])


if __name__ == "__main__":
    jtest.main()
