"""`meson install` into a DESTDIR puts the binary, the unit files, the man
pages and the default policy in place, and never overwrites an edited policy.
The installed units pass `systemd-analyze verify` where it is available."""

import os
import shutil
import subprocess
import tempfile
import unittest

import jtest

BUILD = os.environ.get("JANITOR_BUILD", os.path.join(jtest.SRC, "build"))


def meson_install(destdir):
    return subprocess.run(["meson", "install", "-C", BUILD, "--no-rebuild",
                           "--destdir", destdir],
                          capture_output=True, text=True, timeout=120)


def prefix():
    out = subprocess.run(["meson", "introspect", "--buildoptions", BUILD],
                         capture_output=True, text=True, check=True).stdout
    import json
    opts = {o["name"]: o["value"] for o in json.loads(out)}
    return opts["prefix"], opts["sysconfdir"]


class InstallTest(unittest.TestCase):

    def setUp(self):
        self.dest = tempfile.mkdtemp(prefix="janitor-destdir-")
        self.addCleanup(shutil.rmtree, self.dest, True)
        p = meson_install(self.dest)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.prefix, sysconf = prefix()
        if not os.path.isabs(sysconf):
            sysconf = os.path.join(self.prefix, sysconf)
        self.etc = self.dest + sysconf

    def path(self, *parts):
        return os.path.join(self.dest + self.prefix, *parts)

    def test_tree(self):
        exe = self.path("sbin", "janitord")
        self.assertTrue(os.access(exe, os.X_OK), exe)
        v = subprocess.run([exe, "--version"], capture_output=True, text=True)
        self.assertEqual(v.returncode, 0)
        self.assertTrue(v.stdout.startswith("janitord "), v.stdout)

        for unit in ("janitor.service", "janitor.socket",
                     "janitor-admin.socket"):
            self.assertTrue(os.path.isfile(
                self.path("lib", "systemd", "system", unit)), unit)

        conf = os.path.join(self.etc, "janitor", "janitor.yaml")
        with open(conf) as a, open(os.path.join(jtest.SRC, "conf",
                                                "janitor.yaml")) as b:
            self.assertEqual(a.read(), b.read())

        if shutil.which("scdoc"):
            for page in (("man8", "janitord.8"), ("man5", "janitor.yaml.5")):
                f = self.path("share", "man", *page)
                with open(f) as fh:
                    text = fh.read()
                self.assertIn(".TH", text, f)
                self.assertIn("NAME", text, f)

    def test_edited_policy_is_kept(self):
        conf = os.path.join(self.etc, "janitor", "janitor.yaml")
        with open(conf, "w") as f:
            f.write("upstream: 127.0.0.1:9999  # edited\n")
        p = meson_install(self.dest)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        with open(conf) as f:
            self.assertIn("edited", f.read())

    @unittest.skipUnless(shutil.which("systemd-analyze"),
                         "systemd-analyze not installed")
    def test_units_verify(self):
        # verify resolves ExecStart=; point it at the installed binary.
        units = tempfile.mkdtemp(prefix="janitor-units-")
        self.addCleanup(shutil.rmtree, units, True)
        exe = self.path("sbin", "janitord")
        names = []
        for unit in ("janitor.service", "janitor.socket",
                     "janitor-admin.socket"):
            with open(self.path("lib", "systemd", "system", unit)) as f:
                text = f.read().replace("/usr/sbin/janitord", exe)
            with open(os.path.join(units, unit), "w") as f:
                f.write(text)
            names.append(os.path.join(units, unit))
        p = subprocess.run(["systemd-analyze", "verify", "--man=no"] + names,
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, SYSTEMD_LOG_LEVEL="warning"))
        # Lines about units we do not ship (the host's) are not ours.
        ours = [l for l in (p.stdout + p.stderr).splitlines()
                if "janitor" in l]
        self.assertEqual(ours, [], "\n".join(ours))


if __name__ == "__main__":
    jtest.main()
