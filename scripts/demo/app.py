#!/usr/bin/python3
"""A small app that behaves like a Gradio app, for the janitor demo.

Each browser tab makes its own session_hash, keeps an SSE heartbeat open on
/gradio_api/heartbeat/{session_hash} (Gradio 5's route), and "works" through
/gradio_api/queue/join?session_hash=..., which writes a per-session file and
a cache file.  /janitor/unload and /janitor/expire receive janitor's
webhooks, check their Standard Webhooks signature and print them."""

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import time

from aiohttp import web

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>janitor demo</title>
<style>body{font:16px system-ui;margin:2em;max-width:46em}
code{background:#eee;padding:0 .3em}#log{white-space:pre;background:#f6f6f6;
padding:1em;min-height:6em}</style></head><body>
<h1>janitor demo</h1>
<p>This tab is session <code id="sid"></code>. It holds a heartbeat stream
open, like a Gradio tab. Press the button to make the app write a file for
this session, then close the tab and watch the terminal: janitor sends
<code>session.unload</code>, removes the session's directory, and later
sends <code>session.expire</code>.</p>
<button id="work">Do some work</button>
<div id="log"></div>
<script>
const hash = Math.random().toString(36).slice(2, 13);
document.getElementById('sid').textContent = hash;
const log = m => document.getElementById('log').textContent += m + "\\n";
const es = new EventSource('/gradio_api/heartbeat/' + hash);
es.onopen = () => log('heartbeat open');
es.onerror = () => log('heartbeat error');
document.getElementById('work').onclick = async () => {
  const r = await fetch('/gradio_api/queue/join?session_hash=' + hash,
                        {method: 'POST'});
  log(await r.text());
};
</script></body></html>
"""


def verify(secret, headers, body):
    """Check a Standard Webhooks signature; None when no secret is set."""
    if secret is None:
        return None
    msg_id = headers.get("webhook-id", "")
    ts = headers.get("webhook-timestamp", "")
    signed = ("%s.%s." % (msg_id, ts)).encode() + body
    want = base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest())
    for sig in headers.get("webhook-signature", "").split():
        version, _, value = sig.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), want):
            return True
    return False


def make_app(root, secret):
    sessions = os.path.join(root, "sessions")
    cache = os.path.join(root, "cache")
    os.makedirs(sessions, exist_ok=True)
    os.makedirs(cache, exist_ok=True)

    async def page(request):
        return web.Response(text=PAGE, content_type="text/html")

    async def heartbeat(request):
        resp = web.StreamResponse(headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache"})
        await resp.prepare(request)
        try:
            while True:
                await resp.write(b'data: {"msg": "heartbeat"}\n\n')
                await asyncio.sleep(5)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return resp

    async def join(request):
        h = request.query.get("session_hash", "")
        if not h.isalnum():
            return web.Response(status=400, text="bad session_hash")
        d = os.path.join(sessions, h)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "result.txt"), "a") as f:
            f.write("work at %s\n" % time.ctime())
        c = os.path.join(cache, "%s-%d" % (h, time.time_ns()))
        os.makedirs(c, exist_ok=True)
        with open(os.path.join(c, "upload.bin"), "wb") as f:
            f.write(os.urandom(4096))
        print("app: wrote %s and %s" % (d, c), flush=True)
        return web.Response(text="wrote %s/result.txt" % d)

    async def hook(request):
        body = await request.read()
        ok = verify(secret, request.headers, body)
        ev = json.loads(body)
        print("app: webhook %s session=%s reason=%s signature=%s" % (
            ev.get("type"), ev["data"].get("session"),
            ev["data"].get("reason"),
            {None: "unsigned", True: "valid", False: "INVALID"}[ok]),
            flush=True)
        return web.Response(status=204 if ok is not False else 401)

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/gradio_api/heartbeat/{hash}", heartbeat)
    app.router.add_post("/gradio_api/queue/join", join)
    app.router.add_post("/janitor/unload", hook)
    app.router.add_post("/janitor/expire", hook)
    return app


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=7860)
    ap.add_argument("--root", default="/tmp/janitor-demo")
    ap.add_argument("--secret-file")
    a = ap.parse_args()
    secret = None
    if a.secret_file:
        with open(a.secret_file) as f:
            secret = base64.b64decode(f.read().strip()[len("whsec_"):])
    web.run_app(make_app(a.root, secret), host="127.0.0.1", port=a.port,
                print=None)


if __name__ == "__main__":
    main()
