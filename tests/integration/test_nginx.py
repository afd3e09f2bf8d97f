"""Debian's real nginx in front of janitord, configured with exactly the
server block in docs/nginx.md (only ports, certificate paths and the server
name replaced): plain requests, SSE, WebSocket, the session cookie with
Secure when nginx says https, and the client address the app sees."""

import asyncio
import json
import os
import re
import shutil
import subprocess
import time
import unittest

import aiohttp
from aiohttp import web

import jtest

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

POLICY = """
listen: 127.0.0.1:{port}
upstream: 127.0.0.1:{upstream_port}
state_dir: {dir}/state
admin:
  listen: 127.0.0.1:{admin_port}
"""


def nginx_block():
    """The server block of docs/nginx.md, between its markers."""
    with open(os.path.join(jtest.SRC, "docs", "nginx.md")) as f:
        text = f.read()
    m = re.search(r"<!-- BEGIN nginx.conf -->\s*```nginx\n(.*?)```\s*"
                  r"<!-- END nginx.conf -->", text, re.S)
    if m is None:
        raise AssertionError("docs/nginx.md has no nginx.conf block")
    return m.group(1)


def make_app():
    """The app behind janitord: echoes what it was sent, streams, echoes
    WebSocket messages."""

    async def echo(request):
        return web.json_response({
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "peer": request.remote})

    async def sse(request):
        resp = web.StreamResponse(
            headers={"Content-Type": "text/event-stream",
                     "Cache-Control": "no-cache"})
        await resp.prepare(request)
        for i in range(5):
            await resp.write(b"data: %d %.6f\n\n" % (i, time.time()))
            await asyncio.sleep(0.2)
        return resp

    async def ws(request):
        sock = web.WebSocketResponse()
        await sock.prepare(request)
        async for msg in sock:
            if msg.type == aiohttp.WSMsgType.TEXT:
                await sock.send_str(msg.data)
        return sock

    app = web.Application()
    app.router.add_get("/echo", echo)
    app.router.add_get("/sse", sse)
    app.router.add_get("/ws", ws)
    return app


class NginxTest(unittest.IsolatedAsyncioTestCase):

    async def asyncSetUp(self):
        self.runner = web.AppRunner(make_app())
        await self.runner.setup()
        self.app_port = jtest.free_port()
        await web.TCPSite(self.runner, "127.0.0.1", self.app_port).start()

        self.jd = jtest.Janitord(POLICY, upstream_port=self.app_port)
        self.jd.start()
        self.addCleanup(self.jd.kill)

        d = self.jd.dir
        self.https_port = jtest.free_port()
        self.http_port = jtest.free_port()
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-subj", "/CN=demo.example.org", "-days", "1",
             "-keyout", d + "/key.pem", "-out", d + "/cert.pem"],
            check=True, capture_output=True)
        block = nginx_block()
        block = block.replace("127.0.0.1:8080", "127.0.0.1:%d" % self.jd.port)
        block = block.replace("listen 443 ssl",
                              "listen 127.0.0.1:%d ssl" % self.https_port)
        block = block.replace("listen 80",
                              "listen 127.0.0.1:%d" % self.http_port)
        block = block.replace("/etc/ssl/certs/demo.example.org.pem",
                              d + "/cert.pem")
        block = block.replace("/etc/ssl/private/demo.example.org.key",
                              d + "/key.pem")
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(d, "nginx", name), exist_ok=True)
        conf = d + "/nginx.conf"
        with open(conf, "w") as f:
            f.write("""
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log info;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {d}/nginx/client_body;
    proxy_temp_path {d}/nginx/proxy;
    fastcgi_temp_path {d}/nginx/fastcgi;
    uwsgi_temp_path {d}/nginx/uwsgi;
    scgi_temp_path {d}/nginx/scgi;
{block}
}}
""".format(d=d, block=block))
        self.nginx = subprocess.Popen([NGINX, "-c", conf, "-p", d],
                                      stderr=subprocess.PIPE)
        self.addCleanup(self.stop_nginx)
        jtest.wait_port(self.https_port, proc=self.nginx)
        # Connect from 127.0.0.2 so that the client's address differs from
        # nginx's own, which is what janitord sees as its peer.
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=False,
                                           local_addr=("127.0.0.2", 0)))
        self.url = "https://127.0.0.1:%d" % self.https_port

    def stop_nginx(self):
        self.nginx.terminate()
        self.nginx.wait(10)

    async def asyncTearDown(self):
        await self.http.close()
        await self.runner.cleanup()

    async def test_plain_cookie_and_client_address(self):
        async with self.http.get(self.url + "/echo") as r:
            self.assertEqual(r.status, 200)
            seen = await r.json()
            cookie = r.headers.getall("Set-Cookie", [])
        h = seen["headers"]
        # nginx set X-Forwarded-For to the client; janitord appended nginx.
        self.assertEqual(h["x-forwarded-for"].split(",")[0].strip(),
                         "127.0.0.2")
        self.assertEqual(h["x-forwarded-proto"], "https")
        # Host is nginx's $host (the request's host without the port), kept
        # as it is by janitord.
        self.assertEqual(h["host"], "127.0.0.1")
        self.assertEqual(h["x-forwarded-host"], "127.0.0.1")
        # Over https the session cookie carries Secure.
        sid = [c for c in cookie if c.startswith("janitor_sid=")]
        self.assertEqual(len(sid), 1, cookie)
        self.assertIn("Secure", sid[0])
        self.assertIn("HttpOnly", sid[0])
        value = sid[0].split("=", 1)[1].split(";")[0]
        key = value.split(".")[0]
        self.assertEqual(h["x-janitor-session"], key)
        # The browser comes back with it: now there is a session.
        async with self.http.get(self.url + "/echo", headers={
                "Cookie": "janitor_sid=" + value}) as r:
            self.assertEqual(r.status, 200)
        # The session records the client's address, not nginx's.
        async with aiohttp.ClientSession() as admin:
            async with admin.get("http://127.0.0.1:%d/sessions/%s"
                                 % (self.jd.admin_port, key)) as r:
                self.assertEqual(r.status, 200)
                s = json.loads(await r.text())
        self.assertEqual(s.get("client_ip"), "127.0.0.2")

        # Straight to janitord over plain HTTP: no Secure.
        async with aiohttp.ClientSession() as direct:
            async with direct.get("http://127.0.0.1:%d/echo"
                                  % self.jd.port) as r:
                sid = [c for c in r.headers.getall("Set-Cookie", [])
                       if c.startswith("janitor_sid=")]
        self.assertEqual(len(sid), 1)
        self.assertNotIn("Secure", sid[0])

    async def test_sse_events_arrive_one_by_one(self):
        delays = []
        async with self.http.get(self.url + "/sse") as r:
            self.assertEqual(r.headers["Content-Type"], "text/event-stream")
            async for line in r.content:
                if line.startswith(b"data: "):
                    sent = float(line.split()[2])
                    delays.append(time.time() - sent)
        self.assertEqual(len(delays), 5)
        # nginx's proxy_buffering off and janitord both forward at once:
        # typically ~1 ms.  Held back, an event would wait for the next one
        # (0.2 s later) or for the end; one slow outlier on a busy machine
        # is not that.
        delays.sort()
        self.assertLess(delays[2], 0.05, delays)
        self.assertLess(delays[-1], 0.19, delays)

    async def test_websocket_echo(self):
        async with self.http.ws_connect(self.url + "/ws") as ws:
            for i in range(100):
                await ws.send_str("m%d" % i)
                msg = await ws.receive(timeout=5)
                self.assertEqual(msg.data, "m%d" % i)


if __name__ == "__main__":
    jtest.main()
