"""A Gradio app that lets janitord clean up after its tabs.

Each tab keeps a little state in this process (MEMORY) and writes files
under SESSIONS/<session_hash>/.  janitord (see janitor.yaml beside this
file) tells the app when a tab was closed (session.unload) and when its
session is gone for good (session.expire), on a route of the app's own
FastAPI app; the route checks the Standard Webhooks signature and frees
what the session held.

    JANITOR_WEBHOOK_SECRET=/etc/janitor/webhook.secret \
    APP_SESSIONS=/srv/gradio-app/sessions python3 app.py [PORT]

Runs on Gradio 4.44, 5.x and 6.x.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import sys
import time

import gradio as gr
import uvicorn
from fastapi import FastAPI, Request, Response

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 7860
SESSIONS = os.environ.get("APP_SESSIONS", "/srv/gradio-app/sessions")
with open(os.environ["JANITOR_WEBHOOK_SECRET"]) as f:
    # The same file as janitord's webhooks.secret_file: whsec_ + base64.
    SECRET = base64.b64decode(f.read().strip().removeprefix("whsec_"))

MEMORY = {}     # session_hash -> what the tab holds in this process


def verify(headers, body):
    """Standard Webhooks: v1 = HMAC-SHA256 of "id.timestamp.body"."""
    msg_id = headers.get("webhook-id", "")
    ts = headers.get("webhook-timestamp", "")
    if not ts.isdigit() or abs(time.time() - int(ts)) > 300:
        return False        # unsigned, or too old to be anything but a replay
    mac = hmac.new(SECRET, b"%s.%s.%s" % (msg_id.encode(), ts.encode(), body),
                   hashlib.sha256).digest()
    want = "v1," + base64.b64encode(mac).decode()
    return any(hmac.compare_digest(want, sig)
               for sig in headers.get("webhook-signature", "").split())


def say(message, request: gr.Request):
    """One event of a tab: remember the message, write it to a file."""
    h = request.session_hash
    MEMORY.setdefault(h, []).append(message)
    d = os.path.join(SESSIONS, h)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "transcript.txt"), "a") as f:
        f.write(message + "\n")
    return "%d message(s) in this tab" % len(MEMORY[h])


with gr.Blocks() as demo:
    message = gr.Textbox(label="message")
    answer = gr.Textbox(label="answer")
    gr.Button("say").click(say, [message], [answer], api_name="say")
    # A heartbeat (and so janitord's live channel) needs state or unload.
    demo.unload(lambda: None)

app = FastAPI()


@app.post("/janitor/events")
async def janitor_events(request: Request):
    body = await request.body()
    if not verify(request.headers, body):
        return Response(status_code=401)
    event = json.loads(body)
    session = event["data"]["session"]
    # janitord sends only keys matching this; a forged one never gets here.
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,128}", session):
        return Response(status_code=400)
    if event["type"] == "session.unload":
        # The tab was closed: free the memory now, keep the files a while.
        MEMORY.pop(session, None)
        print("janitor: tab %s closed, memory freed" % session, flush=True)
    elif event["type"] == "session.expire":
        # Gone for good (after_disconnect, time_to_live, capacity, admin).
        MEMORY.pop(session, None)
        shutil.rmtree(os.path.join(SESSIONS, session), ignore_errors=True)
        print("janitor: session %s expired (%s), files removed" %
              (session, event["data"]["reason"]), flush=True)
    # The webhook-id repeats on a retry: acting twice must be harmless.
    return Response(status_code=204)


app = gr.mount_gradio_app(app, demo, path="/")

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning")
