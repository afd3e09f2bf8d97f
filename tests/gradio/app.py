"""A small real Gradio app for janitor's tests: what Gradio itself did
(unload, state deletion, events, every HTTP request with the session_hash
it carried and the X-Janitor-Session it arrived with) is appended as one
JSON line per fact to the record file.

    python3 app.py PORT RECORD FILES [ROOT] [TTL]

PORT      where uvicorn listens (127.0.0.1)
RECORD    the record file (JSON lines)
FILES     per-session files go to FILES/<session_hash>/
ROOT      mount point ('' or e.g. /myapp)
TTL       gr.State(time_to_live=TTL) in seconds (default 3600)

Prints "ready" once the server answers.

While the file $HEAD_DELAY_FILE holds a number, each heartbeat request
waits that many milliseconds before Gradio sees it: as when Gradio's
thread pool is busy and the heartbeat's response head comes late (the race
of a tab that closes at once).
"""

import asyncio
import json
import os
import shutil
import sys
import threading
import time
import urllib.request

import gradio as gr
import uvicorn
from fastapi import FastAPI

PORT = int(sys.argv[1])
RECORD = sys.argv[2]
FILES = sys.argv[3]
ROOT = sys.argv[4] if len(sys.argv) > 4 else ""
TTL = float(sys.argv[5]) if len(sys.argv) > 5 else 3600

_lock = threading.Lock()


def note(kind, **kw):
    """Append one fact to the record file."""
    kw["kind"] = kind
    kw["t"] = time.time()
    line = json.dumps(kw) + "\n"
    with _lock, open(RECORD, "a") as f:
        f.write(line)


def session_dir(h):
    """The directory of one session's files (h is Gradio's session_hash)."""
    d = os.path.join(FILES, h)
    os.makedirs(d, exist_ok=True)
    return d


def seen(request, fn):
    """Record an event with the session and the header it came with."""
    note("event", fn=fn, session=request.session_hash,
         header=request.headers.get("x-janitor-session"))


def echo(text, state, request: gr.Request):
    seen(request, "echo")
    with open(os.path.join(session_dir(request.session_hash), "echo.txt"),
              "a") as f:
        f.write(text + "\n")
    state = {"session": request.session_hash,
             "n": (state or {}).get("n", 0) + 1}
    return "echo: " + text, state


def count(n, request: gr.Request):
    seen(request, "count")
    for i in range(int(n)):
        yield str(i)
        time.sleep(0.05)


def upload(f, request: gr.Request):
    seen(request, "upload")
    dst = os.path.join(session_dir(request.session_hash), "upload.bin")
    shutil.copyfile(f, dst)
    return dst


def on_unload(request: gr.Request):
    note("unload", session=request.session_hash)


def on_delete(value):
    note("delete", session=(value or {}).get("session"))


with gr.Blocks() as demo:
    state = gr.State(None, time_to_live=TTL, delete_callback=on_delete)
    text = gr.Textbox()
    out = gr.Textbox()
    num = gr.Number()
    fin = gr.File()
    fout = gr.File()
    gr.Button("echo").click(echo, [text, state], [out, state],
                            api_name="echo")
    gr.Button("count").click(count, [num], [out], api_name="count")
    gr.Button("upload").click(upload, [fin], [fout], api_name="upload")
    # Stateless, for timing one predict (bench/gradio_overhead.py).
    gr.Button("upper").click(lambda t: t.upper(), [text], [out],
                             api_name="upper")
    demo.unload(on_unload)


def head_delay():
    """Seconds a heartbeat waits now (see above)."""
    try:
        with open(os.environ["HEAD_DELAY_FILE"]) as f:
            return float(f.read()) / 1000.0
    except (KeyError, OSError, ValueError):
        return 0.0


class Recorder:
    """ASGI middleware: one record per HTTP request with the session_hash it
    carries (path, query or JSON body) and its X-Janitor-Session."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict((k.decode("latin-1").lower(), v.decode("latin-1"))
                       for k, v in scope["headers"])
        body = []

        async def recv():
            m = await receive()
            if m["type"] == "http.request":
                body.append(m.get("body", b""))
            return m

        async def snd(m):
            if m["type"] == "http.response.start":
                sh = None
                try:
                    if headers.get("content-type", "").startswith(
                            "application/json"):
                        sh = json.loads(b"".join(body)).get("session_hash")
                except (ValueError, AttributeError):
                    pass
                note("request", method=scope["method"], path=scope["path"],
                     query=scope["query_string"].decode("latin-1"),
                     body_session=sh, status=m["status"],
                     header=headers.get("x-janitor-session"))
            await send(m)

        if "/heartbeat/" in scope["path"]:
            note("arrived", session=scope["path"].rsplit("/", 1)[1])
            if (d := head_delay()) > 0:
                await asyncio.sleep(d)
        return await self.app(scope, recv, snd)


app = FastAPI()
# Behind a proxy (X-Forwarded-Host), Gradio builds file URLs from
# root_path alone: a mounted app names its prefix there too.
app = gr.mount_gradio_app(app, demo.queue(), path=ROOT or "/",
                          root_path=ROOT or None)


def announce():
    """Say ready once the server answers."""
    url = "http://127.0.0.1:%d%s/config" % (PORT, ROOT)
    for _ in range(600):
        try:
            urllib.request.urlopen(url, timeout=1).read()
            print("ready", flush=True)
            return
        except OSError:
            time.sleep(0.05)
    print("not ready", flush=True)
    os._exit(1)


threading.Thread(target=announce, daemon=True).start()
uvicorn.run(Recorder(app), host="127.0.0.1", port=PORT, log_level="warning")
