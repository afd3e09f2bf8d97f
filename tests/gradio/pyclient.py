"""Gradio's own Python client (gradio_client, as shipped with each Gradio),
driven for janitor's tests; runs under Gradio's Python, not Debian's.

    python3 pyclient.py tab URL DELAY_MS
    python3 pyclient.py work URL FILE

The same modes and output as client.mjs.
"""

import hashlib
import json
import os
import sys
import tempfile
import time

from gradio_client import Client, handle_file


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    mode, url, arg = sys.argv[1:4]
    client = Client(url, verbose=False,
                    download_files=tempfile.mkdtemp(prefix="pyclient-"))
    if mode == "tab":
        out({"session": client.session_hash})
        ms = int(arg)
        if ms < 0:
            sys.stdin.read()
        else:
            time.sleep(ms / 1000.0)
        os._exit(0)
    if mode == "work":
        echo = client.predict("hello", api_name="/echo")
        job = client.submit(5, api_name="/count")
        job.result()
        count = list(job.outputs())
        path = client.predict(handle_file(arg), api_name="/upload")
        with open(path, "rb") as f:
            body = f.read()
        out({"session": client.session_hash, "echo": echo, "count": count,
             "file_sha256": hashlib.sha256(body).hexdigest(),
             "file_len": len(body)})
        os._exit(0)
    sys.exit("unknown mode " + mode)


main()
