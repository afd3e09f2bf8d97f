"""Plumbing for the tests against a real Gradio: finding a Gradio of a
given major version, running tests/gradio/app.py under it, and driving it
with the real clients (@gradio/client from npm, gradio_client from the same
Gradio).  The test programs run under Debian's /usr/bin/python3 like the
other integration tests; Gradio and its Python client run under the Python
that has Gradio's dependencies ($JANITOR_GRADIO_PYTHON, or the first
python3 with pydantic 2: on PATH, pyenv's, /usr/local/bin).

Where Gradio comes from, first found wins:
  1. $JANITOR_GRADIO: a directory holding one folder per version (4.44.1/ ...),
     each importable with PYTHONPATH set to it;
  2. <repo>/../shared/gradio, laid out the same way;
  3. an importable `gradio` (pip install gradio) of the wanted major.
The JavaScript client is tests/gradio/node_modules/gradio-client-<major>,
installed by scripts/deps.sh (versions pinned in tests/gradio/package.json).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

import jtest  # noqa: E402

SRC = jtest.SRC

# The npm client each Gradio major is paired with (tests/gradio/package.json).
CLIENTS = {"4": "1.5.2", "5": "1.19.1", "6": "2.5.0"}

# What the meson test prints and returns when it cannot run (meson: SKIP).
SKIP = 77


def _version_key(name):
    return tuple(int(p) if p.isdigit() else 0 for p in name.split("."))


def _python():
    """The Python to run Gradio with: $JANITOR_GRADIO_PYTHON, else the
    first python3 (PATH, then pyenv's, /usr/local) that has pydantic 2,
    which every Gradio from 4.x on needs (Debian 12's has pydantic 1)."""
    if os.environ.get("JANITOR_GRADIO_PYTHON"):
        return os.environ["JANITOR_GRADIO_PYTHON"]
    seen = []
    for p in (shutil.which("python3"),
              os.path.expanduser("~/.pyenv/shims/python3"),
              "/usr/local/bin/python3"):
        if not p or p in seen or not os.path.exists(p):
            continue
        seen.append(p)
        try:
            if subprocess.run([p, "-c", "import pydantic_core"],
                              capture_output=True, timeout=60).returncode == 0:
                return p
        except (OSError, subprocess.TimeoutExpired):
            pass
    return seen[0] if seen else "python3"


def _in_dir(root, major):
    """The newest version folder of major in root, or None."""
    try:
        names = [n for n in os.listdir(root)
                 if n.split(".")[0] == major and
                 os.path.isdir(os.path.join(root, n, "gradio"))]
    except OSError:
        return None
    if not names:
        return None
    return os.path.join(root, max(names, key=_version_key))


class Gradio:
    """One Gradio installation: where it is, its version, how to run it."""

    def __init__(self, major):
        self.major = major
        self.python = _python()
        self.pythonpath = None
        self.version = None
        self.why = None
        for root in (os.environ.get("JANITOR_GRADIO"),
                     os.path.join(os.path.dirname(SRC), "shared", "gradio")):
            if root and (d := _in_dir(root, major)) is not None:
                self.pythonpath = d
                self.version = os.path.basename(d)
                break
        if self.version is None:
            v = self._importable()
            if v is not None and v.split(".")[0] == major:
                self.version = v
        if self.version is None:
            self.why = ("no Gradio %s.x in $JANITOR_GRADIO, ../shared/gradio "
                        "or importable by %s" % (major, self.python))
            return
        self.client_pkg = "gradio-client-" + major
        if not os.path.isdir(os.path.join(HERE, "node_modules",
                                          self.client_pkg)):
            self.why = ("@gradio/client %s is not installed in "
                        "tests/gradio/node_modules (scripts/deps.sh)" %
                        CLIENTS[major])
        elif shutil.which("node") is None:
            self.why = "node is not installed"

    def _importable(self):
        try:
            p = subprocess.run([self.python, "-c",
                                "import gradio; print(gradio.__version__)"],
                               capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return p.stdout.strip() if p.returncode == 0 else None

    def env(self, extra=None):
        """The environment Gradio and its Python client run in."""
        env = dict(os.environ)
        if self.pythonpath is not None:
            env["PYTHONPATH"] = self.pythonpath
        env.update({
            "GRADIO_ANALYTICS_ENABLED": "False",
            "HF_HUB_OFFLINE": "1",
            # Gradio 6's queue analytics need pandas 2 (Debian 12 has 1.5).
            "GRADIO_ANALYTICS_CACHE_FREQUENCY": "1000000000",
            "PYTHONDONTWRITEBYTECODE": "1",
        })
        env.update(extra or {})
        return env


def skip_or_fail(why):
    """Exit as meson's SKIP, or fail when the suite must run (CI)."""
    if os.environ.get("JANITOR_GRADIO_REQUIRED") == "1":
        sys.stderr.write("FAIL: the Gradio tests must run here: %s\n" % why)
        sys.exit(1)
    sys.stderr.write("SKIP: %s\n" % why)
    sys.exit(SKIP)


def records(path):
    """The facts app.py recorded so far."""
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.endswith("\n")]
    except FileNotFoundError:
        return []


class App:
    """tests/gradio/app.py running under one Gradio."""

    def __init__(self, gradio, root="", ttl=3600):
        self.gradio = gradio
        self.dir = tempfile.mkdtemp(prefix="gradio-app-")
        self.port = jtest.free_port()
        self.root = root
        self.record = os.path.join(self.dir, "record.jsonl")
        self.files = os.path.join(self.dir, "files")
        self.cache = os.path.join(self.dir, "cache")
        os.makedirs(self.files)
        os.makedirs(self.cache)
        self.delay_file = os.path.join(self.dir, "head_delay_ms")
        self.logf = open(os.path.join(self.dir, "app.log"), "wb")
        self.proc = subprocess.Popen(
            [gradio.python, os.path.join(HERE, "app.py"), str(self.port),
             self.record, self.files, root, str(ttl)],
            stdout=subprocess.PIPE, stderr=self.logf,
            env=gradio.env({"GRADIO_TEMP_DIR": self.cache,
                            "HEAD_DELAY_FILE": self.delay_file}))

    def head_delay(self, ms):
        """Make each heartbeat wait ms before Gradio sees it (0: off)."""
        if ms:
            with open(self.delay_file, "w") as f:
                f.write(str(ms))
        elif os.path.exists(self.delay_file):
            os.unlink(self.delay_file)

    def wait_ready(self, timeout=120):
        """Wait for app.py's "ready" line."""
        box = []

        def read():
            # Gradio 5 prints a line of its own ("new /") first.
            for line in self.proc.stdout:
                if line.strip() == b"ready":
                    box.append(line)
                    return

        t = threading.Thread(target=read, daemon=True)
        t.start()
        t.join(timeout)
        if not box:
            raise RuntimeError("the Gradio app did not start:\n" + self.log())
        return self

    def url(self, port=None):
        return "http://127.0.0.1:%d%s/" % (port or self.port, self.root)

    def log(self):
        with open(os.path.join(self.dir, "app.log"), errors="replace") as f:
            return f.read()

    def records(self, kind=None, session=None):
        return [r for r in records(self.record)
                if (kind is None or r["kind"] == kind) and
                (session is None or r.get("session") == session)]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.logf.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Client:
    """One client process (a "tab"): the npm client or gradio_client."""

    def __init__(self, gradio, kind, mode, url, arg):
        self.kind = kind
        if kind == "js":
            argv = ["node", os.path.join(HERE, "client.mjs"),
                    gradio.client_pkg, mode, url, str(arg)]
            env = dict(os.environ)
        else:
            argv = [gradio.python, os.path.join(HERE, "pyclient.py"), mode,
                    url, str(arg)]
            env = gradio.env()
        self.started = time.monotonic()
        self.ended = None
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env)
        self.first = None
        self.out = b""
        self.err = b""
        self._t = threading.Thread(target=self._collect, daemon=True)
        self._t.start()

    def _collect(self):
        self.first = self.proc.stdout.readline()
        self.out = self.first + self.proc.stdout.read()
        self.err = self.proc.stderr.read()
        self.proc.wait()
        self.ended = time.monotonic()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            f.close()

    def session(self, timeout=60):
        """The session_hash the client printed first."""
        jtest.wait_for(lambda: self.first is not None, timeout=timeout,
                       what="the client's first line")
        if not self.first:
            raise RuntimeError("client failed: %s" % self.err.decode())
        return json.loads(self.first)["session"]

    def result(self, timeout=60):
        """The client's one JSON result line (waits for it to exit)."""
        self._t.join(timeout)
        if self.ended is None:
            self.proc.kill()
            raise TimeoutError("client did not finish")
        if self.proc.returncode != 0:
            raise RuntimeError("client exited %d: %s" %
                               (self.proc.returncode, self.err.decode()))
        return json.loads(self.out.splitlines()[-1])

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self._t.join(10)


def with_session(rec):
    """The session_hash a recorded request carried, and where, or None."""
    path = rec.get("path", "")
    if "/heartbeat/" in path:
        return path.rsplit("/", 1)[1], "path"
    for kv in rec.get("query", "").split("&"):
        if kv.startswith("session_hash="):
            return kv.split("=", 1)[1], "query"
    if rec.get("body_session"):
        return rec["body_session"], "body"
    return None
