#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""fake-qmp.py SOCKET LOG MEM_PATH [SHARE [SIZE]] - a QMP server that says
what a QEMU would, and whatever it is told to: a greeting, {"return": {}}
to every command (query-status: running; query-migrate: completed), and
for the RAM checks of vmclockd's add-qemu
(qom-get) a machine whose memory-backend /objects/ram is a
memory-backend-file with mem-path MEM_PATH, share SHARE (true) and size
SIZE (65536).  It plays a real QEMU in tests that need none, and the
attacker who runs a QMP server that lies.  Every command is logged to LOG
as a JSON line.  Serves clients one at a time, for up to 60 s idle.
"""
import json
import socket
import sys


def answer(msg, mem_path, share, size):
    args = msg.get("arguments", {})
    if msg.get("execute") == "query-status":
        return {"status": "running", "running": True}
    if msg.get("execute") == "query-migrate":
        return {"status": "completed"}
    if msg.get("execute") != "qom-get":
        return {}
    obj, prop = args.get("path"), args.get("property")
    props = {
        ("/machine", "memory-backend"): "/objects/ram",
        ("/objects/ram", "type"): "memory-backend-file",
        ("/objects/ram", "mem-path"): mem_path,
        ("/objects/ram", "share"): share,
        ("/objects/ram", "size"): size,
    }
    return props.get((obj, prop))


def serve(c, log, mem_path, share, size):
    c.settimeout(60)
    c.sendall(b'{"QMP": {"version": {}, "capabilities": []}}\r\n')
    buf = b""
    while True:
        d = c.recv(4096)
        if not d:
            return
        buf += d
        while b"\n" in buf:
            line, _, buf = buf.partition(b"\n")
            if not line.strip():
                continue
            msg = json.loads(line)
            log.write(json.dumps(msg) + "\n")
            log.flush()
            ret = answer(msg, mem_path, share, size)
            r = ({"return": ret} if ret is not None else
                 {"error": {"class": "GenericError",
                            "desc": "Property not found"}})
            if "id" in msg:
                r["id"] = msg["id"]
            c.sendall(json.dumps(r).encode() + b"\r\n")


def main():
    path, log_path, mem_path = sys.argv[1:4]
    share = sys.argv[4] != "false" if len(sys.argv) > 4 else True
    size = int(sys.argv[5]) if len(sys.argv) > 5 else 65536
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(4)
    srv.settimeout(60)
    log = open(log_path, "a")
    print("listening", flush=True)
    try:
        while True:
            c, _ = srv.accept()
            try:
                serve(c, log, mem_path, share, size)
            except (socket.timeout, OSError, ValueError):
                pass
            c.close()
    except (socket.timeout, OSError):
        pass


main()
