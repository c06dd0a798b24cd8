#!/bin/sh
# SPDX-License-Identifier: MIT
#
# daemon-hostile.sh - vmclockd against hostile clients and a hostile run
# directory.  Each case must get a clear error (or nothing), must not write
# outside the run directory, and the daemon must keep serving:
#   - guest names that would escape guests/ ("..", "a/b", ".x", 300 bytes,
#     control characters);
#   - a guest page, and a state file's temporary, planted as symlinks to
#     a file outside the run directory; a run directory others can write;
#   - a client without permission on the socket (nobody);
#   - 14 idle clients and one that never ends its line, held open; then
#     20 idle clients, more than the 16 slots;
#   - a client that floods requests and closes without reading a reply
#     (SIGPIPE);
#   - a 1 MiB request (with and without its newline) and NUL bytes.
# Open findings (failing): tests/hostile/daemon-findings.sh.
# Uses tests/daemon/lib.sh.  Ends with "N passed, N failed".
. "$(dirname "$0")/../daemon/lib.sh"

OUT=$(mktemp -d /tmp/vmclock-outside.XXXXXX)
trap 'cleanup; rm -rf "$OUT"' EXIT
echo precious >"$OUT/target"
cp "$OUT/target" "$OUT/target2"

alive() { kill -0 "$DPID" 2>/dev/null && [ "$(ctl ping 2>&1)" = ok ]; }
reply() { printf '%b' "$1" | "$VMCLOCKD_PROBE" send "$RUN/control"; }
untouched() { [ "$(cat "$1")" = precious ]; }

check "daemon starts" start_daemon || { finish; exit 1; }

# Names that would leave guests/.
long=$(printf '%0300d' 0)
for name in .. . ../x a/b .x "$long" 'a%2f..' 'a\x01b'; do
	r=$(reply "add-guest guest=$name\n")
	case $r in
	error*) ok "name \"$(printf '%.20s' "$name")\" refused" ;;
	*) fail "name \"$name\" accepted: $r" ;;
	esac
done
check "nothing created beside guests/" sh -c "[ \$(ls -A '$RUN' | grep -cv '^\(host\|control\|guests\|host.state\)\$') -eq 0 ]"
check "still serving after bad names" alive

# A page planted as a symlink to a file outside the run directory.
ln -s "$OUT/target" "$RUN/guests/evil"
r=$(reply 'add-guest guest=evil\n')
check "symlinked page refused" sh -c "echo '$r' | grep -q '^error'"
check "symlink target untouched" untouched "$OUT/target"
rm -f "$RUN/guests/evil"

# The state file's temporary planted as a symlink (finding 1, fixed).
ln -s "$OUT/target2" "$RUN/guests/vm5.state.tmp"
reply 'add-guest guest=vm5\n' >/dev/null
check "symlinked NAME.state.tmp: outside file untouched" untouched "$OUT/target2"
rm -f "$RUN/guests/vm5.state.tmp"
check "still serving after symlinks" alive

# A client without permission on the socket.
chmod 755 "$RUN"
if [ "$(id -u)" -eq 0 ]; then
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$VMCLOCKCTL_BIN" --run-dir "$RUN" ping 2>&1)
	rc=$?
	check "nobody: vmclockctl fails (exit $rc)" [ $rc -ne 0 ]
	check "nobody: the message says permission" sh -c \
		"echo '$out' | grep -qi 'permission'"
	check "still serving after a refused client" alive
fi

# Idle clients and a line that never ends, held open while others talk
# (15 of the 16 client slots).
python3 - "$RUN/control" >"$RUN.hold" 2>&1 <<'PY' &
import socket, sys, time
socks = []
for i in range(15):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    socks.append(s)
socks[-1].sendall(b"status guest=" + b"x" * 500)
print("holding", flush=True)
time.sleep(8)
PY
HOLD=$!
wait_until grep -q holding "$RUN.hold"
check "served while 15 clients hold connections" alive
kill "$HOLD" 2>/dev/null
wait "$HOLD" 2>/dev/null

# Every slot held by an idle client (finding 5, fixed: the longest idle
# one is dropped for a newcomer).
python3 - "$RUN/control" >"$RUN.hold" 2>&1 <<'PY' &
import socket, sys, time
socks = []
for i in range(20):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    socks.append(s)
print("holding", flush=True)
time.sleep(30)
PY
HOLD=$!
wait_until grep -q holding "$RUN.hold"
check "served while 20 idle clients hold every slot" wait_until alive
kill "$HOLD" 2>/dev/null
wait "$HOLD" 2>/dev/null

# Requests, then gone before the replies (SIGPIPE / EPIPE for the daemon).
python3 - "$RUN/control" <<'PY'
import socket, sys
for i in range(50):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    try:
        s.sendall(b"status\n" * 2000)
    except OSError:
        pass
    s.close()
PY
check "alive after 50 clients left without reading" alive

r=$( (head -c 1048576 /dev/zero | tr '\0' x; printf '\nping\n') |
	"$VMCLOCKD_PROBE" send "$RUN/control")
check "1 MiB request: one error, then served" \
	[ "$r" = "$(printf 'error request longer than 1023 bytes\nok')" ]
head -c 1048576 /dev/zero | tr '\0' x | "$VMCLOCKD_PROBE" send "$RUN/control" >/dev/null
check "1 MiB without a newline, then gone: still serving" alive
r=$(head -c 4096 /dev/zero | "$VMCLOCKD_PROBE" send "$RUN/control" | head -n 1)
check "NUL bytes: an error or nothing" sh -c "[ -z '$r' ] || echo '$r' | grep -q '^error'"
check "still serving at the end" alive

# A run directory others can write (finding 2, fixed): refused at start.
W=$(mktemp -d /tmp/vmclock-ww.XXXXXX)
chmod 1777 "$W"
out=$(timeout 20 "$VMCLOCKD_BIN" --config= --run-dir="$W" --socket-group= 2>&1)
rc=$?
rm -rf "$W"
check "group/other-writable run directory refused (exit $rc)" \
	sh -c "[ $rc -eq 1 ] && echo '$out' | grep -q 'writable: refusing'"
finish
