"""A stand-in for a Gradio app with Gradio's own route shapes, under any
root path, for the preset: gradio scenario.

    python3 gradio_backend.py PORT

  GET  .../gradio_api/heartbeat/{session_hash}   (5.x) text/event-stream,
  GET  .../heartbeat/{session_hash}              (4.x) a heartbeat every 0.1 s
                                                  until the client goes
  POST .../queue/join?session_hash=...           {"event_id": ...}
  GET  .../queue/data?session_hash=...           text/event-stream of three
                                                  messages, then it closes
                                                  (as Gradio's does)
  anything else                                  the request headers as JSON
Prints "ready" once it listens."""

import asyncio
import json
import sys

from aiohttp import web


async def stream(request, n=None):
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                       "Cache-Control": "no-cache"})
    await resp.prepare(request)
    i = 0
    try:
        while n is None or i < n:
            if n is None:
                await resp.write(b'data: {"msg": "heartbeat"}\n\n')
            else:
                await resp.write(b'data: {"msg": "process_generating"}\n\n')
            i += 1
            await asyncio.sleep(0.1)
        await resp.write(b'data: {"msg": "close_stream"}\n\n')
        await resp.write_eof()
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return resp


async def route(request):
    path = request.path
    if "/heartbeat/" in path and request.method == "GET":
        return await stream(request)
    if path.endswith("/queue/join") and request.method == "POST":
        return web.json_response({"event_id": "ev-1"})
    if path.endswith("/queue/data") and request.method == "GET":
        return await stream(request, n=3)
    return web.json_response([[k, v] for k, v in request.headers.items()])


async def serve(port):
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", route)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    while True:
        await asyncio.sleep(3600)


if __name__ == "__main__":
    try:
        asyncio.run(serve(int(sys.argv[1])))
    except KeyboardInterrupt:
        pass
