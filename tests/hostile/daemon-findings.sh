#!/bin/sh
# SPDX-License-Identifier: MIT
#
# daemon-findings.sh - open findings in vmclockd, one check each, failing
# until fixed (make check-findings; not part of make check).  When one is
# fixed its check moves to daemon-hostile.sh (1, 2 and 5 did: symlinked
# state temporaries, unsafe run directories, idle clients).
#
# 3. daemon/qemu-guest.c, open_qemu_guest() / daemon/qemu.c,
#    qemu_ram_map(): add-qemu's ram=PATH is opened O_RDWR (following
#    symlinks) and a page is written at gpa= in it, before QMP is even
#    reached, for any client of the control socket: a socket-group member
#    overwrites 4 KiB of any regular file vmclockd (root) can open.
#    Input: add-qemu guest=q1 qmp=/nonexistent ram=/some/file gpa=0.
#    Expected: refused (ram= only under a configured directory, O_NOFOLLOW,
#    or the socket documented as root-only).  Got: the file's first page
#    replaced by a VMClock page.
# 4. daemon/qemu-guest.c, qemu_guest_command(): migrate and incoming pass
#    uri= to QEMU as given, so uri=exec:CMD makes QEMU run CMD as its user
#    for any control client.  Expected: exec: refused (save/restore build
#    their own quoted exec:cat URI).  Got: forwarded (seen by a fake QMP).
# Uses tests/daemon/lib.sh.  Ends with "N passed, N failed".
. "$(dirname "$0")/../daemon/lib.sh"

OUT=$(mktemp -d /tmp/vmclock-outside.XXXXXX)
trap 'cleanup; rm -rf "$OUT"' EXIT

head -c 8192 /dev/zero | tr '\0' A >"$OUT/victim"
cp "$OUT/victim" "$OUT/victim.orig"
check "daemon starts" start_daemon || { finish; exit 1; }
reply() { printf '%s\n' "$1" | "$VMCLOCKD_PROBE" send "$RUN/control"; }
reply "add-qemu guest=q1 qmp=$OUT/none ram=$OUT/victim gpa=0" >/dev/null
check "3: add-qemu ram= does not write into an arbitrary file" \
	cmp -s "$OUT/victim" "$OUT/victim.orig"

# A fake QEMU: greeting, {"return": {}} to everything, commands logged.
python3 - "$OUT/qmp" "$OUT/qmp.log" <<'PY' &
import json, os, socket, sys
srv = socket.socket(socket.AF_UNIX)
srv.bind(sys.argv[1])
srv.listen(4)
srv.settimeout(30)
log = open(sys.argv[2], "w")
try:
    while True:
        c, _ = srv.accept()
        c.settimeout(30)
        c.sendall(b'{"QMP": {"version": {}, "capabilities": []}}\r\n')
        buf = b""
        while True:
            d = c.recv(4096)
            if not d:
                break
            buf += d
            while b"\n" in buf or buf.strip().endswith(b"}"):
                line, _, buf = buf.partition(b"\n")
                if not line.strip():
                    break
                msg = json.loads(line)
                log.write(json.dumps(msg) + "\n")
                log.flush()
                r = {"return": {}}
                if "id" in msg:
                    r["id"] = msg["id"]
                c.sendall(json.dumps(r).encode() + b"\r\n")
except (socket.timeout, OSError, ValueError):
    pass
PY
QPID=$!
wait_until test -S "$OUT/qmp"
head -c 65536 /dev/zero >"$OUT/ram"
reply "add-qemu guest=q2 qmp=$OUT/qmp ram=$OUT/ram gpa=0" >/dev/null
wait_until grep -q qmp_capabilities "$OUT/qmp.log"
reply "migrate guest=q2 uri=exec:touch" >/dev/null
check "4: migrate uri=exec: is not forwarded to QEMU" \
	sh -c "! grep -q 'exec:touch' '$OUT/qmp.log'"
kill "$QPID" 2>/dev/null

stop_daemon TERM

finish
