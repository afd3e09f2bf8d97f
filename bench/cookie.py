"""Print the session cookie value janitord would have issued for KEY,
signed with STATE_DIR/cookie.key (KEY.ISSUED.MAC, as src/sessionkey.c makes
it), so a benchmark can speak as a browser that holds it.

    python3 bench/cookie.py STATE_DIR KEY [KEY...]     one value a line"""

import base64
import hashlib
import hmac
import os
import sys
import time

state_dir, keys = sys.argv[1], sys.argv[2:]
path = os.path.join(state_dir, "cookie.key")
for _ in range(100):
    if os.path.exists(path):
        break
    time.sleep(0.05)
with open(path, "rb") as f:
    secret = f.read()
issued = int(time.time() * 1000)
for key in keys:
    msg = ("%s.%d" % (key, issued)).encode()
    mac = hmac.new(secret, msg, hashlib.sha256).digest()[:16]
    print("%s.%d.%s" % (key, issued,
                        base64.urlsafe_b64encode(mac).decode().rstrip("=")))
