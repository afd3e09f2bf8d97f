"""WebSocket echo for bench/proxy.sh, on asyncio streams.

    wsecho.py server PORT             answers the upgrade, then echoes every
                                      byte back (frames come back as sent)
    wsecho.py client PORT CONNS SECS  CONNS connections, each sending
                                      batches of 64 masked 64-byte frames and
                                      reading the echo; prints msgs/s and MB/s
"""

import asyncio
import base64
import hashlib
import os
import struct
import sys
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
BATCH = 64
PAYLOAD = 64


async def serve_one(reader, writer):
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()        # a port probe
        return
    key = b""
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"sec-websocket-key:"):
            key = line.split(b":", 1)[1].strip()
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept +
                 b"\r\n\r\n")
    try:
        while True:
            data = await reader.read(262144)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    writer.close()


async def server(port):
    srv = await asyncio.start_server(serve_one, "127.0.0.1", port,
                                     backlog=1024)
    async with srv:
        await srv.serve_forever()


def frame():
    mask = os.urandom(4)
    payload = bytes(PAYLOAD)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return struct.pack("!BB", 0x82, 0x80 | PAYLOAD) + mask + masked


async def client_one(port, deadline, counts):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16))
    writer.write(b"GET /ws HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                 b"Sec-WebSocket-Key: " + key + b"\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    assert b" 101 " in head.split(b"\r\n")[0], head
    batch = frame() * BATCH
    while time.monotonic() < deadline:
        writer.write(batch)
        await reader.readexactly(len(batch))
        counts[0] += BATCH
        counts[1] += len(batch)
    writer.close()


async def client(port, conns, secs):
    counts = [0, 0]
    t0 = time.monotonic()
    await asyncio.gather(*[client_one(port, t0 + secs, counts)
                           for i in range(conns)])
    dt = time.monotonic() - t0
    print("%9.0f msgs/s  %6.1f MB/s" % (counts[0] / dt, counts[1] / dt / 1e6))


if __name__ == "__main__":
    if sys.argv[1] == "server":
        asyncio.run(server(int(sys.argv[2])))
    else:
        asyncio.run(client(int(sys.argv[2]), int(sys.argv[3]),
                           float(sys.argv[4])))
