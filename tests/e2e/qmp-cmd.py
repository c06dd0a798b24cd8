#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""qmp-cmd.py SOCKET COMMAND... - run QMP commands on a QEMU, in order.

The e2e harness's own QMP client, on a second monitor socket: it plays
"someone else driving QEMU" (stop, cont) while vmclockd's adapter keeps
its own connection and must notice.  Prints each reply; exit 1 on an error
reply.
"""
import json
import socket
import sys


def main():
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(sys.argv[1])
    f = s.makefile("rw")
    json.loads(f.readline())  # greeting
    rc = 0
    for cmd in ["qmp_capabilities"] + sys.argv[2:]:
        f.write(json.dumps({"execute": cmd}) + "\n")
        f.flush()
        while True:
            msg = json.loads(f.readline())
            if "event" not in msg:
                break
        if cmd != "qmp_capabilities":
            print(cmd, json.dumps(msg))
        rc |= "error" in msg
    return rc


sys.exit(main())
