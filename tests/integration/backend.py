"""The app behind janitord in the relay tests: an aiohttp server under
Debian's /usr/bin/python3.

    python3 backend.py PORT     (or unix:/path)

Routes:
  GET  /plain              "hello\\n"
  GET  /chunked            a chunked body in 5 pieces
  GET  /big?mb=N           N MiB of pattern() bytes, streamed (Content-Length)
  POST /upload             streams the body in; JSON {"size", "sha256"}
  GET  /slow?n=&delay=     n lines, one every delay seconds
  GET  /sleep?s=           answers after s seconds
  GET  /sse?n=&interval=   text/event-stream; each event carries time.time()
  GET  /ws                 WebSocket echo
  GET  /close-mid          promises 1000 bytes, sends 100, closes
  GET  /headers            the request headers as JSON
  GET  /status/CODE        an empty answer with that status
  GET  /stats              {"connections": connections seen, not counting /stats}
Prints "ready" on stdout once it listens."""

import asyncio
import hashlib
import json
import os
import sys
import time

from aiohttp import web

MIB = 1 << 20


def pattern(mb):
    """The bytes /big sends, one MiB at a time."""
    block = hashlib.sha256(b"janitor").digest() * (MIB // 32)
    for i in range(mb):
        yield bytes([i % 256]) + block[1:]


def pattern_sha256(mb):
    h = hashlib.sha256()
    for b in pattern(mb):
        h.update(b)
    return h.hexdigest()


PEERS = set()


@web.middleware
async def count_peers(request, handler):
    peer = request.transport.get_extra_info("peername") if request.transport else None
    sock = request.transport.get_extra_info("socket") if request.transport else None
    if request.path != "/stats":
        PEERS.add((repr(peer), id(sock)))
    return await handler(request)


async def plain(request):
    return web.Response(text="hello\n")


async def chunked(request):
    resp = web.StreamResponse()
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    for i in range(5):
        await resp.write(b"chunk %d\n" % i)
    await resp.write_eof()
    return resp


async def big(request):
    mb = int(request.query.get("mb", "64"))
    resp = web.StreamResponse()
    resp.content_length = mb * MIB
    await resp.prepare(request)
    for b in pattern(mb):
        await resp.write(b)
    await resp.write_eof()
    return resp


async def upload(request):
    h = hashlib.sha256()
    n = 0
    while True:
        data = await request.content.readany()
        if not data:
            break
        n += len(data)
        h.update(data)
    return web.json_response({"size": n, "sha256": h.hexdigest()})


async def slow(request):
    n = int(request.query.get("n", "5"))
    delay = float(request.query.get("delay", "0.2"))
    resp = web.StreamResponse()
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    for i in range(n):
        await resp.write(b"line %d\n" % i)
        await asyncio.sleep(delay)
    await resp.write_eof()
    return resp


async def sleep(request):
    await asyncio.sleep(float(request.query.get("s", "1")))
    return web.Response(text="slept\n")


async def sse(request):
    n = int(request.query.get("n", "5"))
    interval = float(request.query.get("interval", "0.1"))
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                       "Cache-Control": "no-cache"})
    await resp.prepare(request)
    for i in range(n):
        await resp.write(b"id: %d\ndata: %.6f\n\n" % (i, time.time()))
        await asyncio.sleep(interval)
    await resp.write_eof()
    return resp


async def ws(request):
    sock = web.WebSocketResponse()
    await sock.prepare(request)
    async for msg in sock:
        if msg.type == web.WSMsgType.TEXT:
            await sock.send_str(msg.data)
        elif msg.type == web.WSMsgType.BINARY:
            await sock.send_bytes(msg.data)
    return sock


async def close_mid(request):
    resp = web.StreamResponse()
    resp.content_length = 1000
    await resp.prepare(request)
    await resp.write(b"x" * 100)
    await asyncio.sleep(0.05)
    request.transport.close()
    return resp


async def headers(request):
    return web.json_response([[k, v] for k, v in request.headers.items()])


async def status(request):
    return web.Response(status=int(request.match_info["code"]))


async def stats(request):
    return web.json_response({"connections": len(PEERS)})


def make_app():
    app = web.Application(middlewares=[count_peers],
                          client_max_size=1 << 40)
    app.router.add_get("/plain", plain)
    app.router.add_get("/chunked", chunked)
    app.router.add_get("/big", big)
    app.router.add_post("/upload", upload)
    app.router.add_put("/upload", upload)
    app.router.add_get("/slow", slow)
    app.router.add_get("/sleep", sleep)
    app.router.add_get("/sse", sse)
    app.router.add_get("/ws", ws)
    app.router.add_get("/close-mid", close_mid)
    app.router.add_get("/headers", headers)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/stats", stats)
    return app


async def serve(where):
    runner = web.AppRunner(make_app(), access_log=None,
                           keepalive_timeout=75)
    await runner.setup()
    if where.startswith("unix:"):
        site = web.UnixSite(runner, where[5:])
    else:
        site = web.TCPSite(runner, "127.0.0.1", int(where), backlog=1024)
    await site.start()
    print("ready", flush=True)
    while True:
        await asyncio.sleep(3600)


if __name__ == "__main__":
    try:
        asyncio.run(serve(sys.argv[1]))
    except KeyboardInterrupt:
        pass
