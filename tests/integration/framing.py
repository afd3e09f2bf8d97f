"""Request-smuggling corpus and the tools to judge it (issue 11).

- vectors(): the corpus.  Each vector is the bytes one client connection
  sends: the classic CL.TE, TE.CL and TE.TE families, every chunked-framing
  byte replaced by LF, CR, space, tab, NUL (or removed), obs-fold,
  duplicates, overflows, bare LF and CR in heads, trailers, versions,
  targets, and valid pipelines.  Every request target in a vector, the
  hidden ones included, starts with the vector's marker "/vNNN/", so
  whatever reaches a backend can be traced to the vector it came from.
- parse_stream(): a strict RFC 9112 reader written for this test (the
  second strict parser besides h11): heads with CRLF only and no obs-fold,
  Transfer-Encoding exactly "chunked", Content-Length digits only, chunked
  framing byte for byte.
- Recorder: a raw backend that records every byte per connection and
  answers each request h11 finds in them.
"""

import re
import socket
import threading

import h11

TCHAR = frozenset(b"!#$%&'*+-.^_`|~0123456789"
                  b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
HEX = frozenset(b"0123456789abcdefABCDEF")


def marker(i):
    return b"/v%03d/" % i


# -- the corpus -------------------------------------------------------------

def _req(p, method=b"GET", path=b"a", headers=(), body=b"", version=b"1.1",
         host=b"t"):
    head = b"%s %s%s HTTP/%s\r\n" % (method, p, path, version)
    if host is not None:
        head += b"Host: " + host + b"\r\n"
    for h in headers:
        head += h + b"\r\n"
    return head + b"\r\n" + body


def _smuggled(p):
    """The request an attacker hides, with headers only janitord may set."""
    return (b"GET " + p + b"smuggled HTTP/1.1\r\nHost: t\r\n"
            b"X-Janitor-Session: victim\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n")


def _chunk(data, ext=b""):
    return b"%x%s\r\n%s\r\n" % (len(data), ext, data)


def _issue_vector(p):
    """The vector of issue 11: janitord (http-parser) read "\\n4" as the
    CRLF after "xx" and size 10; nginx reads a bare LF and size 410, and
    its body ends inside the third chunk, before a hidden request."""
    hidden = b"\r\n0\r\n\r\n" + _smuggled(p)
    head = b"2\r\nxx\n410\r\n"
    first16 = b"0123456789abcdef"
    # nginx's 0x410 bytes: first16, CRLF, the third size line, its data
    # up to the hidden part.
    for size_len in range(1, 6):
        fill = 0x410 - len(first16) - 2 - (size_len + 2)
        third = b"f" * fill + hidden
        if len(b"%x" % len(third)) == size_len:
            break
    body = (head + first16 + b"\r\n" + b"%x\r\n" % len(third) + third +
            b"\r\n0\r\n\r\n")
    return _req(p, b"POST", b"upload",
                (b"Transfer-Encoding: chunked",), body)


def _te_variants():
    """Transfer-Encoding spellings a recipient might or might not take for
    chunked (TE.TE)."""
    return [
        b"Transfer-Encoding: chunked",
        b"Transfer-Encoding: CHUNKED",
        b"Transfer-Encoding: xchunked",
        b"Transfer-Encoding: chunked, identity",
        b"Transfer-Encoding: identity, chunked",
        b"Transfer-Encoding: gzip, chunked",
        b"Transfer-Encoding: chunked\r\nTransfer-Encoding: x",
        b"Transfer-Encoding: x\r\nTransfer-Encoding: chunked",
        b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
        b"Transfer-Encoding : chunked",
        b"Transfer-Encoding:\tchunked",
        b"Transfer-Encoding: \x0bchunked",
        b"Transfer-Encoding: chunked\x00",
        b"Transfer-Encoding:\r\n chunked",
        b"Transfer-Encoding\n: chunked",
        b" Transfer-Encoding: chunked",
        b"X: y\nTransfer-Encoding: chunked",
        b"Transfer-Encoding: \"chunked\"",
        b"Transfer-Encoding: chunk",
        b"Transfer_Encoding: chunked",
        b"Transfer-Encoding: chunked\r",
        b"Transfer-Encoding: chunked\t",
        b"Transfer-Encoding: chunked ",
    ]


def _cl_variants():
    """Content-Length spellings (for a 5-byte body)."""
    return [
        b"Content-Length: 5",
        b"Content-Length: 05",
        b"Content-Length: +5",
        b"Content-Length: -5",
        b"Content-Length: 0x5",
        b"Content-Length: 5 5",
        b"Content-Length: 5,5",
        b"Content-Length: 5, 5",
        b"Content-Length : 5",
        b"Content-Length:\t5",
        b"Content-Length: 5\t",
        b"Content-Length: 5\r\nContent-Length: 5",
        b"Content-Length: 5\r\nContent-Length: 6",
        b"Content-Length: 5\r\nContent-length: 0",
        b"Content-Length:\r\n 5",
        b"Content_Length: 5",
        b" Content-Length: 5",
        b"Content-Length: 18446744073709551621",
        b"Content-Length: 9223372036854775808",
        b"Content-Length: 99999999999999999999",
        b"Content-Length: 5\x00",
    ]


def vectors():
    """[(name, fn)] where fn(marker) gives the bytes to send."""
    v = []

    def add(name, fn):
        v.append((name, fn))

    add("issue-11", _issue_vector)
    base = b"5\r\nhello\r\n0\r\n\r\n"

    def chunked(p, body, extra=()):
        return _req(p, b"POST", b"c", (b"Transfer-Encoding: chunked",) +
                    tuple(extra), body) + _smuggled(p)

    # The issue's other two: any two bytes after the data.
    add("helloXX", lambda p: chunked(p, b"5\r\nhelloXX0\r\n\r\n"))
    add("hello-CR-CR", lambda p: chunked(p, b"5\r\nhello\r\r0\r\n\r\n"))

    # Each chunked framing byte replaced, removed or doubled.
    framing = [i for i, c in enumerate(base) if c in b"\r\n"]
    for i in framing:
        for name, rep in (("LF", b"\n"), ("CR", b"\r"), ("SP", b" "),
                          ("TAB", b"\t"), ("NUL", b"\x00"), ("none", b""),
                          ("twice", base[i:i + 1] * 2)):
            body = base[:i] + rep + base[i + 1:]
            add("framing-%d-%s" % (i, name),
                lambda p, body=body: chunked(p, body))

    # Around the chunk size.
    for name, size in (("sp-before", b" 5"), ("sp-after", b"5 "),
                       ("tab-after", b"5\t"), ("zero-led", b"05"),
                       ("plus", b"+5"), ("0x", b"0x5"), ("upper", b"A"),
                       ("zeros16", b"0" * 15 + b"5"),
                       ("zeros17", b"0" * 16 + b"5"),
                       ("zeros22", b"0" * 21 + b"5"),
                       ("wrap64", b"10000000000000005"),
                       ("max64", b"FFFFFFFFFFFFFFFF"),
                       ("over63", b"8000000000000005"),
                       ("neg", b"-5"), ("empty", b"")):
        data = b"0123456789" if name == "upper" else b"hello"
        add("size-" + name, lambda p, size=size, data=data:
            chunked(p, size + b"\r\n" + data + b"\r\n0\r\n\r\n"))

    # Chunk extensions.
    for name, ext in (("token", b";a=b"), ("bare", b";a"),
                      ("two", b";a=b;c=d"), ("quoted", b";a=\"b c\""),
                      ("quoted-pair", b";a=\"b\\\"c\""),
                      ("sp-semi", b" ;a=b"), ("semi-sp", b"; a=b"),
                      ("sp-eq", b";a =b"), ("eq-sp", b";a= b"),
                      ("empty", b";"), ("noname", b";=b"),
                      ("novalue", b";a="), ("open-quote", b";a=\"b"),
                      ("ctl", b";a=\x01"), ("lf-in-quote", b";a=\"x\ny\""),
                      ("8bit-token", b";a=\xff"),
                      ("long", b";a=" + b"x" * 5000)):
        add("ext-" + name, lambda p, ext=ext:
            chunked(p, b"5" + ext + b"\r\nhello\r\n0\r\n\r\n"))

    # Trailers.
    for name, tr in (("plain", b"X-T: 1\r\n"),
                     ("session", b"X-Janitor-Session: victim\r\n"),
                     ("session-us", b"X_Janitor_Session: victim\r\n"),
                     ("xff", b"X-Forwarded-For: 6.6.6.6\r\n"),
                     ("framing", b"Content-Length: 99\r\n"
                                 b"Transfer-Encoding: chunked\r\n"),
                     ("host", b"Host: evil\r\n"),
                     ("bare-lf", b"X-T: 1\n"),
                     ("fold", b"X-T: 1\r\n y\r\n"),
                     ("no-colon", b"X-T 1\r\n"),
                     ("sp-colon", b"X-T : 1\r\n"),
                     ("ctl", b"X-T: \x01\r\n")):
        add("trailer-" + name, lambda p, tr=tr:
            chunked(p, b"5\r\nhello\r\n0\r\n" + tr + b"\r\n"))
    add("trailer-end-lf", lambda p: chunked(p, b"5\r\nhello\r\n0\r\n\n"))

    # CL.TE and TE.CL: both framings in one head.
    add("cl-te", lambda p: _req(
        p, b"POST", b"c", (b"Content-Length: 6",
                           b"Transfer-Encoding: chunked"),
        b"0\r\n\r\n" + _smuggled(p)))
    add("te-cl", lambda p: _req(
        p, b"POST", b"c", (b"Transfer-Encoding: chunked",
                           b"Content-Length: 3"),
        b"8\r\nSMUGGLED\r\n0\r\n\r\n" + _smuggled(p)))
    # TE.TE: each spelling, alone and with a Content-Length.
    for i, te in enumerate(_te_variants()):
        add("te-%d" % i, lambda p, te=te: _req(
            p, b"POST", b"c", (te,), b"0\r\n\r\n" + _smuggled(p)))
        add("te-cl-%d" % i, lambda p, te=te: _req(
            p, b"POST", b"c", (b"Content-Length: 4", te),
            b"5c\r\n" + _smuggled(p) + b"\r\n0\r\n\r\n"))
    # Content-Length spellings.
    for i, cl in enumerate(_cl_variants()):
        add("cl-%d" % i, lambda p, cl=cl: _req(
            p, b"POST", b"c", (cl,), b"hello") + _smuggled(p))
    # HTTP/1.0 with chunked (a 1.0 recipient reads to the close).
    add("http10-te", lambda p: _req(
        p, b"POST", b"c", (b"Transfer-Encoding: chunked",),
        b"0\r\n\r\n" + _smuggled(p), version=b"1.0"))
    add("http10-cl", lambda p: _req(
        p, b"POST", b"c", (b"Content-Length: 5", b"Connection: keep-alive"),
        b"hello", version=b"1.0") + _smuggled(p))

    # obs-fold in heads.
    for name, h in (("plain", b"X-A: 1\r\n 2"),
                    ("tab", b"X-A: 1\r\n\t2"),
                    ("cl", b"Content-Length: 0\r\n 5"),
                    ("host", b"Host2: a\r\n b")):
        add("fold-" + name, lambda p, h=h: _req(
            p, b"POST", b"f", (h,), b"hello") + _smuggled(p))
    # Bare LF and CR in heads.
    add("lf-request-line", lambda p: b"GET " + p + b"a HTTP/1.1\nHost: t"
        b"\r\n\r\n" + _smuggled(p))
    add("lf-header", lambda p: b"GET " + p + b"a HTTP/1.1\r\nHost: t\n"
        b"\r\n" + _smuggled(p))
    add("lf-end", lambda p: b"GET " + p + b"a HTTP/1.1\r\nHost: t\r\n\n" +
        _smuggled(p))
    add("lf-all", lambda p: b"GET " + p + b"a HTTP/1.1\nHost: t\n\n" +
        _smuggled(p))
    add("lf-cl-hidden", lambda p: b"POST " + p + b"a HTTP/1.1\r\nHost: t"
        b"\r\nX: y\nContent-Length: 5\r\n\r\nhello" + _smuggled(p))
    add("cr-header", lambda p: b"GET " + p + b"a HTTP/1.1\r\nHost: t\rX: y"
        b"\r\n\r\n" + _smuggled(p))
    add("cr-end", lambda p: b"GET " + p + b"a HTTP/1.1\r\nHost: t\r\n\r\r\n" +
        _smuggled(p))
    add("nul-header", lambda p: b"GET " + p + b"a HTTP/1.1\r\nHost: t\r\n"
        b"X: a\x00b\r\n\r\n" + _smuggled(p))
    add("leading-crlf", lambda p: b"\r\n" + _req(p) + _smuggled(p))
    add("leading-lf", lambda p: b"\n" + _req(p) + _smuggled(p))

    # Versions.
    for ver in (b"1.0", b"1.1", b"2.0", b"0.9", b"1.2", b"3.0", b"1.10",
                b"1.1 ", b"11"):
        add("version-" + ver.decode().strip().replace(".", "_") +
            ("-sp" if ver.endswith(b" ") else ""),
            lambda p, ver=ver: _req(p, version=ver) + _smuggled(p))
    add("http09-line", lambda p: b"GET " + p + b"a\r\n\r\n" + _smuggled(p))

    # Targets and Host.
    add("absolute-same", lambda p: b"GET http://t" + p + b"a HTTP/1.1\r\n"
        b"Host: t\r\n\r\n" + _smuggled(p))
    add("absolute-other", lambda p: b"GET http://evil" + p + b"a HTTP/1.1"
        b"\r\nHost: t\r\n\r\n" + _smuggled(p))
    add("target-8bit", lambda p: _req(p, path=b"caf\xc3\xa9") + _smuggled(p))
    add("target-ctl", lambda p: _req(p, path=b"a\x01b") + _smuggled(p))
    add("target-del", lambda p: _req(p, path=b"a\x7fb") + _smuggled(p))
    add("target-space", lambda p: _req(p, path=b"a b") + _smuggled(p))
    add("host-empty", lambda p: _req(p, host=b"") + _smuggled(p))
    add("host-missing", lambda p: _req(p, host=None) + _smuggled(p))
    add("host-twice", lambda p: _req(p, headers=(b"Host: u",)) +
        _smuggled(p))
    add("host-slash", lambda p: _req(p, host=b"a/b") + _smuggled(p))

    # Methods.
    for m in (b"CONNECT", b"BREW", b"get", b"PRI"):
        add("method-" + m.decode(), lambda p, m=m: _req(p, m) + _smuggled(p))

    # Valid pipelines: janitord and every backend must count them alike.
    add("ok-get-get", lambda p: _req(p) + _req(p, path=b"b"))
    add("ok-post-get", lambda p: _req(p, b"POST", b"c",
                                      (b"Content-Length: 5",), b"hello") +
        _req(p, path=b"b"))
    add("ok-chunked-get", lambda p: _req(
        p, b"POST", b"c", (b"Transfer-Encoding: chunked",),
        _chunk(b"hello") + _chunk(b"world", b";x=y") + b"0\r\n\r\n") +
        _req(p, path=b"b"))
    add("ok-chunked-trailer", lambda p: _req(
        p, b"POST", b"c", (b"Transfer-Encoding: chunked",),
        _chunk(b"hello") + b"0\r\nX-T: 1\r\n\r\n") + _req(p, path=b"b"))
    add("ok-chunk-holds-request", lambda p: _req(
        p, b"POST", b"c", (b"Transfer-Encoding: chunked",),
        _chunk(_smuggled(p)) + b"0\r\n\r\n"))
    add("ok-cl-holds-request", lambda p: _req(
        p, b"POST", b"c", (b"Content-Length: %d" % len(_smuggled(p)),),
        _smuggled(p)))
    add("ok-head-get", lambda p: _req(p, b"HEAD") + _req(p, path=b"b"))
    add("ok-expect", lambda p: _req(
        p, b"POST", b"c", (b"Content-Length: 5", b"Expect: 100-continue"),
        b"hello"))
    add("ok-http10", lambda p: _req(p, version=b"1.0",
                                    headers=(b"Connection: keep-alive",)) +
        _req(p, path=b"b"))
    add("ok-close", lambda p: _req(p, headers=(b"Connection: close",)) +
        _req(p, path=b"b"))
    add("ok-three", lambda p: _req(p) + _req(p, path=b"b") +
        _req(p, path=b"c"))
    add("ok-big-chunk", lambda p: _req(
        p, b"POST", b"c", (b"Transfer-Encoding: chunked",),
        _chunk(b"\n" * 3000) + _chunk(b"\r\n0\r\n\r\n" * 10) +
        b"0\r\n\r\n"))
    # A second request whose body is bad, after a good one.
    add("second-bad", lambda p: _req(p) + chunked(p, b"5\r\nhelloXX0\r\n\r\n"))
    return v


# -- the strict reference parser ---------------------------------------------

class Refused(Exception):
    pass


def _head(data, pos, response):
    """Parse one head at data[pos:]: (start-line parts, headers, end) or
    None if incomplete; raises Refused."""
    end = data.find(b"\r\n\r\n", pos)
    # Skip the empty lines a server may ignore before a request line.
    while not response and data.startswith(b"\r\n", pos):
        pos += 2
        end = data.find(b"\r\n\r\n", pos)
    region = data[pos:end if end >= 0 else len(data)]
    for i, c in enumerate(region):
        if c == 0x0a and (i == 0 or region[i - 1] != 0x0d):
            raise Refused("bare LF")
        if c == 0x0d and i + 1 < len(region) and region[i + 1] != 0x0a:
            raise Refused("CR without LF")
    if end < 0:
        return None
    lines = region.split(b"\r\n")
    start = lines[0]
    if response:
        m = re.fullmatch(rb"HTTP/(1\.[01]) (\d{3}) ([\t\x20-\x7e\x80-\xff]*)",
                         start)
        if m is None:
            raise Refused("status line")
    else:
        m = re.fullmatch(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([\x21-\x7e]+) "
                         rb"HTTP/(1\.[01])", start)
        if m is None:
            raise Refused("request line")
    headers = []
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t"):
            raise Refused("obs-fold")
        name, sep, value = line.partition(b":")
        if not sep or not name or any(c not in TCHAR for c in name):
            raise Refused("field name")
        value = value.strip(b" \t")
        if any((c < 0x20 and c != 0x09) or c == 0x7f for c in value):
            raise Refused("field value")
        headers.append((name.lower(), value))
    return m.groups(), headers, end + 4


def _chunked(data, pos):
    """A chunked body at data[pos:]: (body, trailers, end) or None if
    incomplete; raises Refused."""
    ext = (rb"(?:;[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:=(?:[!#$%&'*+.^_`|~0-9A-Za-z-]+"
           rb"|\"(?:[\t\x20\x21\x23-\x5b\x5d-\x7e\x80-\xff]"
           rb"|\\[\t\x20-\x7e\x80-\xff])*\"))?)*")
    body = b""
    while True:
        eol = data.find(b"\r\n", pos)
        line = data[pos:eol if eol >= 0 else len(data)]
        if b"\n" in line:
            raise Refused("bare LF in a chunk line")
        if eol < 0:
            return None
        m = re.fullmatch(rb"([0-9A-Fa-f]{1,16})" + ext, line)
        if m is None:
            raise Refused("chunk line")
        size = int(m.group(1), 16)
        if size > (1 << 63) - 1:
            raise Refused("chunk size")
        pos = eol + 2
        if size == 0:
            break
        if len(data) < pos + size + 2:
            return None
        body += data[pos:pos + size]
        if data[pos + size:pos + size + 2] != b"\r\n":
            raise Refused("after chunk data")
        pos += size + 2
    trailers = []
    while True:
        eol = data.find(b"\r\n", pos)
        line = data[pos:eol if eol >= 0 else len(data)]
        if b"\n" in line:
            raise Refused("bare LF in the trailer section")
        if eol < 0:
            return None
        pos = eol + 2
        if line == b"":
            return body, trailers, pos
        if b"\r" in line:
            raise Refused("CR in the trailer section")
        if line[:1] in (b" ", b"\t"):
            raise Refused("trailer obs-fold")
        name, sep, value = line.partition(b":")
        if not sep or not name or any(c not in TCHAR for c in name):
            raise Refused("trailer name")
        value = value.strip(b" \t")
        if any((c < 0x20 and c != 0x09) or c == 0x7f for c in value):
            raise Refused("trailer value")
        trailers.append((name.lower(), value))


def parse_stream(data, response=False, head_request=False):
    """Messages in a byte stream: (messages, error, rest).  Each message is
    a dict: start (tuple), headers, body, trailers.  Stops at the first
    refusal (error says why) or at an incomplete message (rest holds its
    bytes)."""
    msgs = []
    pos = 0
    while pos < len(data):
        try:
            h = _head(data, pos, response)
            if h is None:
                return msgs, None, data[pos:]
            start, headers, end = h
            names = [n for n, _ in headers]
            te = [v for n, v in headers if n == b"transfer-encoding"]
            cl = [v for n, v in headers if n == b"content-length"]
            version = start[0] if response else start[2]
            if te and (len(te) > 1 or te[0].lower() != b"chunked" or cl or
                       version == b"1.0"):
                raise Refused("transfer-encoding")
            if cl and (len(set(cl)) > 1 or not cl[0].isdigit() or
                       int(cl[0]) > (1 << 63) - 1):
                raise Refused("content-length")
            if not response and version == b"1.1" and \
                    names.count(b"host") != 1:
                raise Refused("host")
            msg = {"start": start, "headers": headers, "body": b"",
                   "trailers": []}
            nobody = response and (head_request or
                                   start[1][:1] == b"1" or
                                   start[1] in (b"204", b"304"))
            if nobody:
                pos = end
            elif te:
                c = _chunked(data, end)
                if c is None:
                    return msgs, None, data[pos:]
                msg["body"], msg["trailers"], pos = c
            elif cl:
                n = int(cl[0])
                if len(data) < end + n:
                    return msgs, None, data[pos:]
                msg["body"] = data[end:end + n]
                pos = end + n
            elif response:
                msg["body"] = data[end:]
                pos = len(data)
            else:
                pos = end
            msgs.append(msg)
        except Refused as e:
            return msgs, str(e), data[pos:]
    return msgs, None, b""


def h11_requests(data):
    """The complete requests h11 finds in the bytes of one connection, as
    (method, target, body); and an error, or None when the bytes end
    cleanly or inside an unfinished request (one janitord cut off)."""
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    out = []
    cur = None
    while True:
        try:
            ev = conn.next_event()
        except (h11.RemoteProtocolError, h11.LocalProtocolError) as e:
            return out, "h11: %s" % e
        if ev is h11.NEED_DATA or ev is h11.PAUSED or \
                isinstance(ev, h11.ConnectionClosed):
            return out, None
        if isinstance(ev, h11.Request):
            cur = [ev.method, ev.target, b""]
        elif isinstance(ev, h11.Data):
            cur[2] += ev.data
        elif isinstance(ev, h11.EndOfMessage):
            out.append(tuple(cur))
            cur = None
            try:
                conn.send(h11.Response(status_code=400,
                                       headers=[("Content-Length", "0")]))
                conn.send(h11.EndOfMessage())
                conn.start_next_cycle()
            except h11.LocalProtocolError:
                # After Connection: close (or a CONNECT): nothing follows.
                return out, None


# -- the raw recording backend ------------------------------------------------

class Recorder:
    """A TCP server on 127.0.0.1 that keeps every byte each connection
    sends and answers each request h11 finds with a 200 ("ok")."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.conns = []			# [bytearray] in accept order
        self.errors = []
        self.threads = []
        self.stopping = False
        self.live = 0
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _accept(self):
        while True:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            buf = bytearray()
            with self.lock:
                self.conns.append(buf)
                self.live += 1
            t = threading.Thread(target=self._serve, args=(s, buf),
                                 daemon=True)
            self.threads.append(t)
            t.start()

    def _serve(self, s, buf):
        conn = h11.Connection(h11.SERVER)
        head = False
        try:
            while True:
                data = s.recv(65536)
                with self.lock:
                    buf += data
                conn.receive_data(data)
                while True:
                    ev = conn.next_event()
                    if ev is h11.NEED_DATA or ev is h11.PAUSED or \
                            isinstance(ev, h11.ConnectionClosed):
                        break
                    if isinstance(ev, h11.Request):
                        head = ev.method == b"HEAD"
                    if isinstance(ev, h11.EndOfMessage):
                        out = conn.send(h11.Response(
                            status_code=200,
                            headers=[("Content-Length", "3")]))
                        if not head:
                            out += conn.send(h11.Data(data=b"ok\n"))
                        s.sendall(out + conn.send(h11.EndOfMessage()))
                        if conn.our_state is h11.MUST_CLOSE:
                            raise EOFError
                        conn.start_next_cycle()
                if not data:
                    break
        except (h11.RemoteProtocolError, h11.LocalProtocolError) as e:
            with self.lock:
                self.errors.append(str(e))
        except (EOFError, OSError):
            pass
        finally:
            s.close()
            with self.lock:
                self.live -= 1

    def streams(self):
        with self.lock:
            return [bytes(b) for b in self.conns]

    def close(self):
        self.sock.close()
