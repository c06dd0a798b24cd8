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
as a JSON line, with "fd": true when a descriptor came with it
(SCM_RIGHTS).  Like QEMU, getfd keeps that descriptor under its fdname;
migrate to fd:NAME writes FAKE_STREAM into it, migrate-incoming from
fd:NAME reads it and logs what it read ({"read": "..."}).  Serves clients
one at a time, for up to 60 s idle.
"""
import array
import json
import os
import socket
import sys

FAKE_STREAM = b"QEVM fake migration stream\n"
fds = {}


def migrate(msg):
    uri = msg.get("arguments", {}).get("uri", "")
    if not uri.startswith("fd:") or uri[3:] not in fds:
        return None
    fd = fds.pop(uri[3:])
    try:
        if msg["execute"] == "migrate":
            os.write(fd, FAKE_STREAM)
            return None
        return os.read(fd, 4096).decode(errors="replace")
    finally:
        os.close(fd)


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


def receive(c, passed):
    """Bytes, and any descriptors that came with them into @passed."""
    d, anc, _, _ = c.recvmsg(4096, socket.CMSG_SPACE(16 * 4))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            a = array.array("i")
            a.frombytes(data[:len(data) - len(data) % a.itemsize])
            passed.extend(a)
    return d


def serve(c, log, mem_path, share, size):
    c.settimeout(60)
    c.sendall(b'{"QMP": {"version": {}, "capabilities": []}}\r\n')
    buf = b""
    passed = []
    while True:
        d = receive(c, passed)
        if not d:
            return
        buf += d
        while b"\n" in buf:
            line, _, buf = buf.partition(b"\n")
            if not line.strip():
                continue
            msg = json.loads(line)
            if passed:
                msg["fd"] = True
            if msg.get("execute") == "getfd" and passed:
                name = msg.get("arguments", {}).get("fdname", "")
                if name in fds:
                    os.close(fds[name])
                fds[name] = passed.pop()
            for fd in passed:
                os.close(fd)
            passed.clear()
            log.write(json.dumps(msg) + "\n")
            if msg.get("execute") in ("migrate", "migrate-incoming"):
                got = migrate(msg)
                if got is not None:
                    log.write(json.dumps({"read": got}) + "\n")
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
