"""A file system whose one file is slow to read: a minimal FUSE server
spoken directly over /dev/fuse (no libfuse), for the tests that show a
policy on a hung or slow file system cannot stall janitord.

    python3 slowfs.py MOUNTPOINT SOURCE DELAY

mounts MOUNTPOINT (root only) with one regular file, MOUNTPOINT/policy.yaml,
holding SOURCE's bytes; every read of it answers after DELAY seconds (or at
once with EINTR when the kernel interrupts it, as when the reader is
killed).  It prints "ready" when mounted and serves until SIGTERM, then
unmounts.  mounted(mnt, source, delay) does the same from a test."""

import ctypes
import os
import signal
import struct
import subprocess
import sys
import threading
import time

# Opcodes and errors of the FUSE protocol (linux/fuse.h).
LOOKUP, FORGET, GETATTR, OPEN, READ = 1, 2, 3, 14, 15
STATFS, RELEASE, FLUSH, INIT, OPENDIR = 17, 18, 25, 26, 27
READDIR, RELEASEDIR, ACCESS, INTERRUPT = 28, 29, 34, 36
DESTROY, BATCH_FORGET = 38, 42
ENOENT, EINTR, ENOSYS = 2, 4, 38

IN_HEADER = struct.Struct("<IIQQIIII")          # fuse_in_header, 40 bytes
OUT_HEADER = struct.Struct("<IiQ")              # fuse_out_header, 16 bytes
ATTR = struct.Struct("<QQQQQQIIIIIIIIII")       # fuse_attr, 88 bytes
FILE_NODE = 2
NAME = b"policy.yaml"


def attr(node, size):
    if node == FILE_NODE:
        mode, nlink = 0o100644, 1
    else:
        mode, nlink, size = 0o040755, 2, 0
    now = int(time.time())
    return ATTR.pack(node, size, (size + 511) // 512, now, now, now,
                     0, 0, 0, mode, nlink, 0, 0, 0, 4096, 0)


class Server:

    def __init__(self, mnt, data, delay):
        self.mnt = mnt
        self.data = data
        self.delay = delay
        self.fd = os.open("/dev/fuse", os.O_RDWR)
        self.lock = threading.Lock()
        self.pending = {}       # unique -> Event set on interrupt
        libc = ctypes.CDLL(None, use_errno=True)
        opts = "fd=%d,rootmode=40000,user_id=0,group_id=0" % self.fd
        # MS_NOSUID | MS_NODEV
        if libc.mount(b"slowfs", mnt.encode(), b"fuse", 6,
                      opts.encode()) != 0:
            err = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(err, "mount fuse: " + os.strerror(err))

    def reply(self, unique, error=0, payload=b""):
        msg = OUT_HEADER.pack(OUT_HEADER.size + len(payload), -error,
                              unique) + payload
        with self.lock:
            try:
                os.write(self.fd, msg)
            except OSError:
                pass    # the request was aborted meanwhile

    def slow_read(self, unique, offset, size, interrupted):
        interrupted.wait(self.delay)
        with self.lock:
            self.pending.pop(unique, None)
        if interrupted.is_set():
            self.reply(unique, EINTR)
        else:
            self.reply(unique, 0, self.data[offset:offset + size])

    def serve(self):
        while True:
            try:
                buf = os.read(self.fd, 1 << 20)
            except OSError:
                return          # unmounted
            if len(buf) < IN_HEADER.size:
                return
            (length, op, unique, node, uid, gid, pid,
             _) = IN_HEADER.unpack_from(buf)
            arg = buf[IN_HEADER.size:length]
            if op == INIT:
                major, minor = struct.unpack_from("<II", arg)
                out = struct.pack("<IIIIHHIIHHI28x", 7, min(minor, 31),
                                  0, 0, 16, 12, 4096, 1, 0, 0, 0)
                self.reply(unique, 0, out)
            elif op == LOOKUP:
                name = arg.split(b"\0", 1)[0]
                if node == 1 and name == NAME:
                    self.reply(unique, 0, struct.pack("<QQQQII", FILE_NODE,
                               0, 0, 0, 0, 0) + attr(FILE_NODE,
                                                     len(self.data)))
                else:
                    self.reply(unique, ENOENT)
            elif op == GETATTR:
                self.reply(unique, 0, struct.pack("<QII", 0, 0, 0) +
                           attr(node, len(self.data)))
            elif op in (OPEN, OPENDIR):
                # FOPEN_DIRECT_IO: every read comes here, none from a cache.
                self.reply(unique, 0, struct.pack("<QII", 0, 1, 0))
            elif op == READ:
                offset, size = struct.unpack_from("<QQI", arg)[1:]
                if node != FILE_NODE:
                    self.reply(unique, 0, b"")
                    continue
                ev = threading.Event()
                with self.lock:
                    self.pending[unique] = ev
                threading.Thread(target=self.slow_read, daemon=True,
                                 args=(unique, offset, size, ev)).start()
            elif op == INTERRUPT:
                (target,) = struct.unpack_from("<Q", arg)
                with self.lock:
                    ev = self.pending.get(target)
                if ev is not None:
                    ev.set()
            elif op in (FORGET, BATCH_FORGET):
                pass
            elif op in (RELEASE, RELEASEDIR, FLUSH, ACCESS):
                self.reply(unique)
            elif op == READDIR:
                self.reply(unique, 0, b"")
            elif op == DESTROY:
                self.reply(unique)
                return
            else:
                self.reply(unique, ENOSYS)

    def unmount(self):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.umount2(self.mnt.encode(), 2)      # MNT_DETACH
        try:
            os.close(self.fd)
        except OSError:
            pass


def available():
    """Why a FUSE mount cannot be made here, or None when it can."""
    if os.geteuid() != 0:
        return "mounting FUSE needs root"
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse"
    return None


class mounted:
    """Context manager: a slowfs server process on mnt; the file's path."""

    def __init__(self, mnt, source, delay):
        self.args = [sys.executable, os.path.abspath(__file__), mnt, source,
                     str(delay)]
        self.mnt = mnt

    def __enter__(self):
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.proc.kill()
            raise RuntimeError("slowfs: " + line + self.proc.stderr.read())
        return os.path.join(self.mnt, NAME.decode())

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()
        # In case the server died without unmounting.
        libc = ctypes.CDLL(None, use_errno=True)
        libc.umount2(self.mnt.encode(), 2)


def main():
    mnt, source, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
    with open(source, "rb") as f:
        data = f.read()
    server = Server(mnt, data, delay)

    def stop(signum, frame):
        server.unmount()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    threading.Thread(target=server.serve, daemon=True).start()
    # The mount is usable once INIT is answered; a stat proves it.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.stat(os.path.join(mnt, NAME.decode()))
            break
        except OSError:
            time.sleep(0.01)
    print("ready", flush=True)
    signal.pause()


if __name__ == "__main__":
    main()
