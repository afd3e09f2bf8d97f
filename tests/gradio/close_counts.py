"""By hand: how often Gradio and janitord each unload a tab that closes
0 ms, 50 ms, 1 s or 10 s after connecting (issue 14's figures).

    JANITORD=build/src/janitord /usr/bin/python3 tests/gradio/close_counts.py \
        MAJOR [TRIES [DELAY_MS,...]] [--kind js|py|both] [--batch N]

For each delay, TRIES tabs (the real @gradio/client, or gradio_client)
connect through janitord (preset: gradio, grace 1s) and exit DELAY ms
after connecting; BATCH of them run at once.  Prints, per delay: tries,
Gradio's unloads (app.py's record), janitord's session.unload webhooks,
tabs where only one of the two unloaded, and the largest time from a
client's end to janitord's unload.  Exits 1 if any tab was unloaded by
one and not the other.
"""

import argparse
import sys
import time

import gradiotest
from gradiotest import App, Client, Gradio

import jtest
from receiver import Receiver

POLICY = """
preset: gradio
listen: 127.0.0.1:{port}
upstream: 127.0.0.1:{upstream_port}
state_dir: {dir}
admin:
  listen: 127.0.0.1:{admin_port}
on_unload:
  grace: 1s
  webhook: http://127.0.0.1:{hook_port}/unload
log:
  level: info
"""
GRACE = 1.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("major")
    ap.add_argument("tries", nargs="?", type=int, default=50)
    ap.add_argument("delays", nargs="?", default="0,50,1000,10000")
    ap.add_argument("--kind", default="js", choices=["js", "py", "both"])
    ap.add_argument("--batch", type=int, default=10)
    a = ap.parse_args()
    g = Gradio(a.major)
    if g.why:
        gradiotest.skip_or_fail(g.why)
    kinds = ["js", "py"] if a.kind == "both" else [a.kind]
    app = App(g).wait_ready()
    hooks = Receiver(jtest.free_port()).start()
    jd = jtest.Janitord(POLICY, upstream_port=app.port, hook_port=hooks.port)
    jd.start()
    bad = 0
    names = {"js": "@gradio/client " + gradiotest.CLIENTS[a.major],
             "py": "gradio_client"}
    print("Gradio %s, clients %s, grace %.0f s, load %s" % (
        g.version, " + ".join(names[k] for k in kinds), GRACE,
        " ".join(open("/proc/loadavg").read().split()[:3])))
    print("%8s %6s %8s %9s %6s %13s %15s %12s" % (
        "delay", "tries", "gradio", "janitord", "both", "gradio only",
        "janitord only", "max latency"))
    try:
        for d in [int(x) for x in a.delays.split(",")]:
            rows = []
            for start in range(0, a.tries, a.batch):
                n = min(a.batch, a.tries - start)
                cs = [Client(g, kinds[(start + i) % len(kinds)], "tab",
                             app.url(jd.port), d) for i in range(n)]
                for c in cs:
                    s = c.session()
                    c.result(timeout=d / 1000.0 + 60)
                    rows.append((s, c.ended))
            settle = max(e for _, e in rows) + GRACE + 4
            while time.monotonic() < settle:
                time.sleep(0.2)
            got = dict((r["session"], r) for r in hooks.delivered()
                       if r["type"] == "session.unload")
            gu = set(r["session"] for r in app.records("unload"))
            ng = nj = both = go = jo = 0
            worst = 0.0
            for s, ended in rows:
                ig, ij = s in gu, s in got
                ng += ig
                nj += ij
                both += ig and ij
                go += ig and not ij
                jo += ij and not ig
                if ij:
                    worst = max(worst, got[s]["t"] - ended)
            bad += go + jo
            print("%6d ms %6d %8d %9d %6d %13d %15d %10.2f s" % (
                d, len(rows), ng, nj, both, go, jo, worst))
            sys.stdout.flush()
    finally:
        jd.__exit__(None, None, None)
        hooks.stop()
        app.stop()
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
