"""A request flood for the attack scenarios: many keep-alive connections
sending GETs as fast as janitord answers them, for a fixed time, from
asyncio on raw sockets.  What the scenarios assert is what the flood did
to sessions and files, never how fast it went."""

import asyncio
import time


async def _one(reader, writer, path, headers, counts):
    """One request on a connection; False when it must be closed."""
    writer.write(("GET %s HTTP/1.1\r\nHost: flood\r\n%s\r\n"
                  % (path, headers)).encode())
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    counts[status] = counts.get(status, 0) + 1
    length, keep = 0, True
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"connection" and b"close" in value.lower():
            keep = False
    if length:
        await reader.readexactly(length)
    return keep


async def _worker(port, paths, deadline, counts, headers, start):
    i = start
    writer = None
    while time.monotonic() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1",
                                                               port)
            keep = await _one(reader, writer, paths(i), headers, counts)
            i += 1000003
        except (ConnectionError, asyncio.IncompleteReadError, OSError,
                ValueError):
            counts["errors"] = counts.get("errors", 0) + 1
            keep = False
            await asyncio.sleep(0.01)
        if not keep and writer is not None:
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


async def _flood(port, paths, seconds, conns, headers):
    deadline = time.monotonic() + seconds
    counts = {}
    await asyncio.gather(*[_worker(port, paths, deadline, counts, headers, c)
                           for c in range(conns)])
    return counts


def flood(port, paths, seconds=10.0, conns=32, headers=""):
    """Send GET paths(i) for i = 0, 1, ... for seconds over conns
    connections; returns {status: count, "errors": n}."""
    return asyncio.run(_flood(port, paths, seconds, conns, headers))
