#!/usr/bin/env python3
"""Make a cache-like tree for the sweep benchmark: ROOT/dNNNN/fNNNN, N
files in all, every other file (and every other directory) two hours old,
the rest new.  Usage: mktree.py ROOT FILES [FILES_PER_DIR]"""

import os
import sys
import time


def main():
    root = sys.argv[1]
    total = int(sys.argv[2])
    per = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    old = time.time() - 2 * 3600
    os.makedirs(root, exist_ok=True)
    ndirs = (total + per - 1) // per
    made = 0
    for d in range(ndirs):
        dpath = os.path.join(root, "d%05d" % d)
        os.mkdir(dpath)
        dfd = os.open(dpath, os.O_RDONLY | os.O_DIRECTORY)
        for f in range(min(per, total - made)):
            name = "f%05d" % f
            fd = os.open(name, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=dfd)
            os.write(fd, b"x" * 100)
            os.close(fd)
            if f % 2 == 0:
                os.utime(name, (old, old), dir_fd=dfd)
            made += 1
        os.close(dfd)
        if d % 2 == 0:
            os.utime(dpath, (old, old))


if __name__ == "__main__":
    main()
