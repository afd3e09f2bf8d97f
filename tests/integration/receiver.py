"""A real Standard Webhooks receiver for the tests (aiohttp, in a thread).

It verifies every signature with its own HMAC code (not janitord's),
records what arrived (id, type, session, order, signature validity), tracks
how many requests are open at once overall and per session, and can be told
to misbehave: fail (500), retry_after (503 with Retry-After), hang (never
answer), slow (answer after a delay), close (send half a response and close
the connection), flaky (fail a fraction of requests), or be stopped and
started again on the same port (down/up).

Standalone: python3 receiver.py PORT [SECRET_HEX] answers 204 to everything
and prints the request count on SIGTERM (used by bench/webhook.sh).
"""

import asyncio
import base64
import hashlib
import hmac
import json
import random
import signal
import sys
import threading
import time

from aiohttp import web


def sign(secret, msg_id, ts, body):
    """Standard Webhooks v1 signature, computed independently of janitord."""
    mac = hmac.new(secret, b"%s.%s.%s" % (msg_id.encode(), ts.encode(), body),
                   hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def verify(secret, headers, body, tolerance=300):
    """Whether the webhook-* headers carry a valid, fresh signature."""
    msg_id = headers.get("webhook-id")
    ts = headers.get("webhook-timestamp")
    sigs = headers.get("webhook-signature")
    if not msg_id or not ts or not sigs:
        return False
    try:
        if abs(time.time() - int(ts)) > tolerance:
            return False
    except ValueError:
        return False
    want = sign(secret, msg_id, ts, body)
    return any(hmac.compare_digest(s, want) for s in sigs.split(" "))


class Receiver:
    def __init__(self, port, secret=None, mode="ok", path="/hook"):
        self.port = port
        self.secret = secret
        self.mode = mode
        self.delay = 0.0
        self.retry_after = None
        self.flaky = 0.0
        self.records = []          # every request, in arrival order
        self.lock = threading.Lock()
        self.open_total = 0
        self.max_open_total = 0    # most connections busy at once
        self.open_conns = set()
        self.open_by_session = {}
        self.overlaps = 0          # two requests of one session at once
        self.loop = None
        self.runner = None
        self.thread = None
        self.ready = threading.Event()

    # -- control from the test thread -------------------------------------

    def start(self):
        self.ready.clear()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("receiver did not start")
        return self

    def stop(self):
        if self.loop is None:
            return
        fut = asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop)
        fut.result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop = None

    def set_mode(self, mode, delay=0.0, retry_after=None, flaky=0.0):
        self.mode = mode
        self.delay = delay
        self.retry_after = retry_after
        self.flaky = flaky

    def delivered(self):
        """Records of requests answered with 2xx."""
        with self.lock:
            return [r for r in self.records if 200 <= r["status"] < 300]

    def all(self):
        with self.lock:
            return list(self.records)

    # -- the server ---------------------------------------------------------

    def _run(self):
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._startup())
        self.ready.set()
        self.loop.run_forever()
        # Hanging handlers are cancelled, quietly.
        tasks = asyncio.all_tasks(self.loop)
        for t in tasks:
            t.cancel()
        self.loop.run_until_complete(
            asyncio.gather(*tasks, return_exceptions=True))
        self.loop.close()

    async def _startup(self):
        app = web.Application(client_max_size=1 << 20)
        app.router.add_route("POST", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, access_log=None,
                                    handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.port,
                           reuse_address=True, shutdown_timeout=0.1)
        await site.start()

    async def _shutdown(self):
        await self.runner.cleanup()

    async def _handle(self, request):
        body = await request.read()
        h = request.headers
        rec = {
            "id": h.get("webhook-id"),
            "ts": h.get("webhook-timestamp"),
            "sig": h.get("webhook-signature"),
            "sig_ok": (verify(self.secret, h, body)
                       if self.secret is not None else None),
            "ctype": h.get("Content-Type"),
            "path": request.path,
            "t": time.monotonic(),
            "status": 0,
        }
        try:
            doc = json.loads(body)
            rec["type"] = doc.get("type")
            rec["session"] = doc.get("data", {}).get("session")
            rec["doc"] = doc
        except ValueError:
            rec["type"] = rec["session"] = None
        sess = rec["session"]
        tr = request.transport
        with self.lock:
            self.records.append(rec)
            self.open_total += 1
            # Connections with a request in progress that janitord has not
            # given up on (a cancelled handler may linger after the close).
            self.open_conns.add(tr)
            live = [t for t in self.open_conns
                    if t is not None and not t.is_closing()]
            self.max_open_total = max(self.max_open_total, len(live))
            n = self.open_by_session.get(sess, 0) + 1
            self.open_by_session[sess] = n
            if n > 1:
                self.overlaps += 1
        try:
            return await self._answer(request, rec)
        finally:
            with self.lock:
                self.open_total -= 1
                self.open_conns.discard(tr)
                self.open_by_session[sess] -= 1

    async def _answer(self, request, rec):
        mode = self.mode
        if mode == "flaky":
            mode = "fail" if random.random() < self.flaky else "ok"
        if mode == "ok":
            rec["status"] = 200
            return web.Response(status=200, text="ok")
        if mode == "fail":
            rec["status"] = 500
            return web.Response(status=500, text="no")
        if mode == "retry_after":
            rec["status"] = 503
            return web.Response(status=503, text="later",
                                headers={"Retry-After": str(self.retry_after)})
        if mode == "slow":
            await asyncio.sleep(self.delay)
            rec["status"] = 200
            return web.Response(status=200, text="ok")
        if mode == "hang":
            await asyncio.sleep(3600)
        if mode == "close":
            rec["status"] = -1
            tr = request.transport
            tr.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
            tr.close()
            raise asyncio.CancelledError()
        raise RuntimeError("unknown mode " + mode)


def _standalone():
    port = int(sys.argv[1])
    count = [0]

    async def handle(request):
        await request.read()
        count[0] += 1
        return web.Response(status=204)

    async def main():
        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        print("listening", flush=True)
        await stop.wait()
        print("requests %d" % count[0], flush=True)
        await runner.cleanup()

    asyncio.run(main())


if __name__ == "__main__":
    _standalone()
