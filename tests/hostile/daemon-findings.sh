#!/bin/sh
# SPDX-License-Identifier: MIT
#
# daemon-findings.sh - open findings in vmclockd, one check each, failing
# until fixed (make check-findings; not part of make check).  When one is
# fixed its check moves to daemon-hostile.sh.
#
# 1. daemon/guest.c, guest_save_state(): the state file is written with
#    fopen(NAME.state.tmp, "w"), which follows a symlink planted at that
#    path: vmclockd (root) truncates and overwrites the symlink's target
#    outside the run directory, then rename() replaces the link.
#    Expected: the target untouched (open with O_NOFOLLOW|O_EXCL after
#    unlink, or O_TMPFILE + linkat).
# 2. daemon/main.c, make_dirs(): an existing run directory (or guests/) is
#    used whatever its owner and mode; in one that others can write, they
#    can plant such symlinks, or a NAME.state whose notify= line vmclockd
#    then runs on every update (load_state()).  Expected: refuse (or at
#    least warn about) a run directory or guests/ that is group/other
#    writable or not owned by vmclockd's user, as sshd's StrictModes does.
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
# 5. daemon/control.c, on_listen(): 16 clients that connect and send
#    nothing (or never end a line) hold every slot for as long as they like;
#    every other client gets "error too many clients", so one socket-group
#    member (or a client leaking connections) locks management out.
#    Expected: idle clients time out (or the longest idle one is dropped
#    for a new one).  Got: refused for as long as the 16 stay.
# Uses tests/daemon/lib.sh.  Ends with "N passed, N failed".
. "$(dirname "$0")/../daemon/lib.sh"

OUT=$(mktemp -d /tmp/vmclock-outside.XXXXXX)
trap 'cleanup; rm -rf "$OUT"' EXIT
echo precious >"$OUT/target"

check "daemon starts" start_daemon || { finish; exit 1; }
ln -s "$OUT/target" "$RUN/guests/vm5.state.tmp"
ctl add-guest vm5 >/dev/null 2>&1
check "1: a symlink at NAME.state.tmp does not redirect the state write" \
	[ "$(cat "$OUT/target")" = precious ]
stop_daemon TERM

head -c 8192 /dev/zero | tr '\0' A >"$OUT/victim"
cp "$OUT/victim" "$OUT/victim.orig"
check "daemon starts again" start_daemon || { finish; exit 1; }
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

python3 - "$RUN/control" >"$OUT/hold" 2>&1 <<'PY' &
import socket, sys, time
socks = []
for i in range(16):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    socks.append(s)
print("holding", flush=True)
time.sleep(40)
PY
HOLD=$!
wait_until grep -q holding "$OUT/hold"
# Let vmclockd accept them all (they are connected, maybe not accepted).
sleep 1
served() { [ "$(ctl ping 2>&1)" = ok ]; }
TIMEOUT=30 check "5: 16 idle clients do not lock the control socket for 30 s" \
	wait_until served
kill "$HOLD" 2>/dev/null
wait "$HOLD" 2>/dev/null
stop_daemon TERM

W=$(mktemp -d /tmp/vmclock-ww.XXXXXX)
chmod 1777 "$W"
"$VMCLOCKD_BIN" --config= --run-dir="$W" --socket-group= --interval-ms=200 \
	>"$OUT/log" 2>&1 &
P=$!
wait_until test -S "$W/control"
kill "$P" 2>/dev/null
wait "$P" 2>/dev/null
check "2: a world-writable run directory is refused or warned about" \
	grep -qiE 'writable|insecure|unsafe' "$OUT/log"
rm -rf "$W"
finish
