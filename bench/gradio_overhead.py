"""What janitord adds to a real Gradio's latency: GET /gradio_api/info
(4.x: /info) and one predict (POST .../run/upper, Gradio runs the
function and answers), direct and through janitord (release build, preset
gradio), interleaved in the same run: each round sends each request once
direct and once through janitord, in random order, on keep-alive
connections.  Prints median and p99 of each, and their differences.

    flock /work/bench.lock /usr/bin/python3 bench/gradio_overhead.py \
        [MAJOR [ROUNDS]]            (default 5, 2000)

Gradio is found as tests/gradio does ($JANITOR_GRADIO, ../shared/gradio,
an importable gradio); janitord is build-release/src/janitord
(built here as bench/lib.sh's build_release does).
"""

import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "gradio"))
os.environ.setdefault("JANITORD",
                      os.path.join(SRC, "build-release", "src", "janitord"))

import gradiotest  # noqa: E402
import jtest  # noqa: E402

POLICY = """
preset: gradio
listen: 127.0.0.1:{port}
upstream: 127.0.0.1:{upstream_port}
state_dir: {dir}
admin:
  listen: 127.0.0.1:{admin_port}
log:
  level: warn
"""


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def build_release():
    """As bench/lib.sh's build_release: build-release/src/janitord."""
    b = os.path.join(SRC, "build-release")
    if not os.path.exists(os.path.join(b, "build.ninja")):
        subprocess.run(["meson", "setup", b, "--buildtype=release",
                        "-Dtests=false"], cwd=SRC, check=True,
                       stdout=subprocess.DEVNULL)
    subprocess.run(["ninja", "-C", b], check=True, stdout=subprocess.DEVNULL)


def main():
    build_release()
    major = sys.argv[1] if len(sys.argv) > 1 else "5"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    g = gradiotest.Gradio(major)
    if g.why:
        sys.exit(g.why)
    app = gradiotest.App(g).wait_ready()
    jd = jtest.Janitord(POLICY, upstream_port=app.port)
    jd.start()
    prefix = "" if major == "4" else "/gradio_api"
    body = json.dumps({"data": ["hello"]})
    reqs = {
        "info": ("GET", prefix + "/info", None),
        "predict": ("POST", prefix + "/run/upper", body),
    }
    conns = {"direct": http.client.HTTPConnection("127.0.0.1", app.port),
             "janitord": http.client.HTTPConnection("127.0.0.1", jd.port)}
    t = {(w, r): [] for w in conns for r in reqs}

    def one(w, r):
        method, path, b = reqs[r]
        h = {"Content-Type": "application/json"} if b else {}
        t0 = time.perf_counter()
        conns[w].request(method, path, body=b, headers=h)
        resp = conns[w].getresponse()
        data = resp.read()
        dt = time.perf_counter() - t0
        if resp.status != 200 or (r == "predict" and b"HELLO" not in data):
            raise RuntimeError("%s %s: %d %r" % (w, r, resp.status, data))
        return dt

    try:
        for i in range(100):            # warm up both paths
            for w in conns:
                for r in reqs:
                    one(w, r)
        for i in range(rounds):
            order = [(w, r) for w in conns for r in reqs]
            random.shuffle(order)
            for w, r in order:
                t[(w, r)].append(one(w, r))
    finally:
        jd.__exit__(None, None, None)
        app.stop()
    print("Gradio %s, %d rounds, interleaved, load %s" % (
        g.version, rounds, open("/proc/loadavg").read().split()[:3]))
    print("%-8s %10s %10s %10s %10s %10s %10s" % (
        "request", "direct", "janitord", "+median", "direct", "janitord",
        "+p99"))
    print("%-8s %10s %10s %10s %10s %10s %10s" % (
        "", "median ms", "median ms", "ms", "p99 ms", "p99 ms", "ms"))
    for r in reqs:
        d, j = t[("direct", r)], t[("janitord", r)]
        md, mj = statistics.median(d) * 1e3, statistics.median(j) * 1e3
        pd, pj = pct(d, 99) * 1e3, pct(j, 99) * 1e3
        print("%-8s %10.3f %10.3f %+10.3f %10.3f %10.3f %+10.3f" % (
            r, md, mj, mj - md, pd, pj, pj - pd))


if __name__ == "__main__":
    main()
