"""A request on a live path is a live channel from the moment it reaches
the app, not from its response head (docs/sessions.md, "Live channels"):
a tab whose heartbeat is cut while the app is still preparing its head is
unloaded, as Gradio unloads it; an answer that is not a stream ends the
channel at once; a WebSocket upgrade counts from the request under
`websocket`; an SSE stream without a path rule only from its head."""

import asyncio
import logging
import socket
import threading
import time
import unittest

from aiohttp import web

import jtest
import relay
from sessiontest import Channel, session, state, wait_state

POLICY = """
listen: 127.0.0.1:{port}
upstream: 127.0.0.1:{upstream_port}
state_dir: {dir}
admin:
  listen: 127.0.0.1:{admin_port}
sessions:
  cookie: {{issue: false}}
  key:
    - path: '/heartbeat/([a-z0-9]+)$'
    - query: s
  live: {live}
on_unload:
  grace: 300ms
log:
  level: debug
"""

HEAD_DELAY = 1.0

# The app's writes to clients that left on purpose are not news.
logging.getLogger("aiohttp").setLevel(logging.CRITICAL)


class App:
    """Heartbeats whose head comes late, or never as a stream; records
    which requests the app started to serve."""

    def __init__(self):
        self.port = jtest.free_port()
        self.started = []
        self.ready = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()
        self.ready.wait(10)

    def _run(self):
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self.route)
        runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1",
                                            self.port).start())
        self.ready.set()
        loop.run_forever()

    async def route(self, request):
        self.started.append(request.path_qs)
        kind = request.path.split("/")[1]
        if kind == "slow":
            await asyncio.sleep(HEAD_DELAY)
        if kind == "fail":
            return web.Response(status=404, text="no such tab")
        if kind == "plain":
            # 200, not a stream, with a body that takes its time.
            resp = web.StreamResponse(headers={
                "Content-Type": "application/json"})
            await resp.prepare(request)
            await asyncio.sleep(HEAD_DELAY)
            await resp.write(b"{}")
            return resp
        if request.headers.get("Upgrade", "").lower() == "websocket":
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            async for _ in ws:
                pass
            return ws
        resp = web.StreamResponse(headers={
            "Content-Type": "text/event-stream"})
        await resp.prepare(request)
        try:
            while True:
                await resp.write(b"data: ALIVE\n\n")
                await asyncio.sleep(0.2)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return resp


def cut_after_forward(jd, app, path, headers=""):
    """Send a request and close once the app has started serving it (its
    head is still HEAD_DELAY away)."""
    s = socket.create_connection(("127.0.0.1", jd.port))
    s.sendall(("GET %s HTTP/1.1\r\nHost: t\r\n%s\r\n" %
               (path, headers)).encode())
    jtest.wait_for(lambda: path in app.started, what="the app to start")
    s.close()


class LiveFromForward(unittest.TestCase):

    def start(self, live):
        self.app = App()
        self.jd = jtest.Janitord(POLICY, upstream_port=self.app.port,
                                 live=live)
        self.jd.start()
        self.addCleanup(self.jd.__exit__, None, None, None)

    def test_cut_before_head_unloads(self):
        """The heartbeat reached the app, the client left before its head:
        unloaded after grace (before, janitord never saw a channel)."""
        self.start("[{path: '/heartbeat/'}]")
        t0 = time.monotonic()
        cut_after_forward(self.jd, self.app, "/slow/heartbeat/tab1")
        wait_state(self.jd, "tab1", "unloaded", timeout=HEAD_DELAY)
        self.assertLess(time.monotonic() - t0, HEAD_DELAY)
        self.assertIn("live channel opened (request forwarded)",
                      self.jd.log())

    def test_not_a_stream_ends_the_channel_at_once(self):
        """A 404 or a plain 200 on a live path: the channel ends at its
        head, not at the end of its body; it unloads only a session that
        had no other channel."""
        self.start("[{path: '/heartbeat/'}]")
        live = Channel(self.jd.port, "/ok/heartbeat/tab2")
        self.assertEqual(live.status, 200)
        wait_state(self.jd, "tab2", "live")
        st, h, body = relay.get(self.jd.port, "/fail/heartbeat/tab2")
        self.assertEqual(st, 404)
        self.assertEqual(session(self.jd, "tab2")["channels"], 1)
        time.sleep(0.6)             # twice the grace
        self.assertEqual(state(self.jd, "tab2"), "live")
        live.close()
        wait_state(self.jd, "tab2", "unloaded")

        # The last one: the usual grace, then unload, while the plain
        # body is still on its way.
        s = socket.create_connection(("127.0.0.1", self.jd.port))
        self.addCleanup(s.close)
        s.sendall(b"GET /plain/heartbeat/tab3 HTTP/1.1\r\nHost: t\r\n\r\n")
        r = relay.Reader(s)
        st, h = r.head()
        self.assertEqual(st, 200)
        self.assertEqual(session(self.jd, "tab3")["channels"], 0)
        wait_state(self.jd, "tab3", "unloaded", timeout=HEAD_DELAY / 2)

    def test_websocket_rule_counts_the_upgrade_request(self):
        self.start("[websocket]")
        cut_after_forward(self.jd, self.app, "/slow/x?s=tab4",
                          "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\n")
        wait_state(self.jd, "tab4", "unloaded", timeout=HEAD_DELAY)

    def test_sse_rule_waits_for_the_head(self):
        """Without a path rule, an SSE stream is known only by its head:
        cut before it, it never was a channel."""
        self.start("[sse]")
        cut_after_forward(self.jd, self.app, "/slow/x?s=tab5")
        self.jd.wait_log("client went away")
        time.sleep(0.6)
        self.assertEqual(state(self.jd, "tab5"), "idle")
        ch = Channel(self.jd.port, "/ok/x?s=tab5")
        wait_state(self.jd, "tab5", "live")
        ch.close()
        wait_state(self.jd, "tab5", "unloaded")


if __name__ == "__main__":
    jtest.main()
